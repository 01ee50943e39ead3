//! What the hygiene reports should hold, derived from the ledger as SQL: one query shape per
//! finding kind (separation of duties is evaluated by the service layer), for a batch of
//! identities. Stored findings (`findings`) are kept equal to it.

use super::findings::Row;
use super::{Sql, db_error};
use crate::domain::Timestamp;
use crate::domain::hygiene::{FindingKind, HygienePolicy};
use crate::error::AppError;
use sqlx::AnyConnection;

/// The times a report compares against.
pub struct Window {
    pub now: String,
    pub dormant_before: String,
    pub expiring_before: String,
    pub rotated_before: String,
}

impl Window {
    pub fn new(policy: &HygienePolicy, now: Timestamp) -> Self {
        Window {
            now: now.to_rfc3339(),
            dormant_before: now.plus_days(-policy.dormant_days).to_rfc3339(),
            expiring_before: now.plus_days(policy.expiring_days).to_rfc3339(),
            rotated_before: now.plus_days(-policy.rotation_days).to_rfc3339(),
        }
    }
}

/// Every query starts from the batch's identities (`batch`, a `values` list bound once for all
/// kinds), then reads each by primary key: `cross join` keeps SQLite from starting at a
/// selective-looking index instead (every decommissioned service, every expired credential of
/// the ledger) when only a few identities are settled. PostgreSQL plans it as the inner join it
/// is. Binding the ids once keeps the statement short: SQLite re-prepares it whenever a bound
/// time could change its plan, and parsing ten copies of a long id list cost more than the work.
const FROM: &str = " from batch b cross join identities i";
const LIVE_GRANT: &str = "a.revoked_at is null and (a.expires_at is null or a.expires_at > ";

/// Appends `select kind, identity_id, subject_id, subject, detail, since from … where …` for one
/// kind (not separation of duties), over the identities of `batch`.
fn push_query(sql: &mut Sql, kind: FindingKind, window: &Window) {
    let cols = |subject_id: &str, subject: &str, detail: &str, since: &str| {
        format!(
            "select '{}' as kind, i.id as identity_id, {subject_id} as subject_id, {subject} as subject, {detail} as detail, {since} as since",
            kind.as_str()
        )
    };
    let credential = " cross join credentials c where i.id = b.id and c.identity_id = i.id and";
    let grant = " cross join assignments a cross join roles r cross join scopes sc where i.id = b.id and a.identity_id = i.id and r.id = a.role_id and sc.id = a.scope_id and";
    let grant_subject = "r.slug || ' v' || cast(a.role_version as text) || ' on ' || sc.path";
    match kind {
        FindingKind::OrphanOwner => {
            sql.push(&format!(
                "{}{FROM} cross join owners o where i.id = b.id and o.id = i.owner_id and i.status <> 'retired' and o.status = 'disabled'",
                cols("''", "''", "o.name", "null")
            ));
        }
        FindingKind::OrphanService => {
            sql.push(&format!(
                "{}{FROM} cross join services s where i.id = b.id and s.id = i.service_id and i.status <> 'retired' and s.status = 'decommissioned'",
                cols("''", "''", "s.name", "s.decommissioned_at")
            ));
        }
        FindingKind::Unassigned => {
            sql.push(&format!(
                "{}{FROM} where i.id = b.id and i.status = 'active' and not exists (select 1 from assignments a where a.identity_id = i.id and {LIVE_GRANT}",
                cols("''", "''", "''", "i.created_at")
            ));
            sql.bind(window.now.clone()).push("))");
        }
        FindingKind::Dormant => {
            sql.push(&format!(
                "{}{FROM} where i.id = b.id and i.status = 'active' and coalesce(i.last_seen_at, i.created_at) < ",
                cols("''", "''", "coalesce(i.last_seen_at, '')", "coalesce(i.last_seen_at, i.created_at)")
            ));
            sql.bind(window.dormant_before.clone());
        }
        FindingKind::CredentialExpired => {
            sql.push(&format!(
                "{}{FROM}{credential} c.revoked_at is null and c.expires_at is not null and c.expires_at <= ",
                cols("c.id", "c.fingerprint", "c.kind", "c.expires_at")
            ));
            sql.bind(window.now.clone());
        }
        FindingKind::CredentialExpiring => {
            sql.push(&format!("{}{FROM}{credential} c.revoked_at is null and c.expires_at > ", cols("c.id", "c.fingerprint", "c.kind", "c.expires_at")));
            sql.bind(window.now.clone()).push(" and c.expires_at <= ").bind(window.expiring_before.clone());
        }
        FindingKind::CredentialUnrotated => {
            sql.push(&format!(
                "{}{FROM}{credential} c.revoked_at is null and coalesce(c.rotated_at, c.created_at) < ",
                cols("c.id", "c.fingerprint", "c.kind", "coalesce(c.rotated_at, c.created_at)")
            ));
            sql.bind(window.rotated_before.clone());
        }
        FindingKind::CredentialUnused => {
            sql.push(&format!("{}{FROM}{credential} c.revoked_at is null and c.last_used_at is null", cols("c.id", "c.fingerprint", "c.kind", "c.created_at")));
        }
        FindingKind::PrivilegedHolder | FindingKind::OutdatedVersion => {
            let detail = if kind == FindingKind::OutdatedVersion { "cast(r.current_version as text)" } else { "''" };
            sql.push(&format!("{}{FROM}{grant} {LIVE_GRANT}", cols("a.id", grant_subject, detail, "a.granted_at")));
            sql.bind(window.now.clone()).push(")");
            sql.push(if kind == FindingKind::OutdatedVersion { " and a.role_version < r.current_version" } else { " and r.sensitivity = 'privileged'" });
        }
        // Evaluated by the service layer over the identities' holdings.
        FindingKind::SodViolation => {
            sql.push(&format!("{}{FROM} where i.id = b.id and 1 = 0", cols("''", "''", "''", "null")));
        }
    }
}

/// The findings of `kinds` (separation of duties excepted) that the ledger implies now for the
/// identities `ids`, in one statement.
pub async fn derive(conn: &mut AnyConnection, kinds: &[FindingKind], ids: &[String], window: &Window) -> Result<Vec<Row>, AppError> {
    let kinds: Vec<_> = kinds.iter().filter(|k| **k != FindingKind::SodViolation).collect();
    if ids.is_empty() || kinds.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("with batch (id) as (values ");
    for (i, id) in ids.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" }).bind(id.clone()).push(")");
    }
    sql.push(") ");
    for (i, kind) in kinds.into_iter().enumerate() {
        if i > 0 {
            sql.push(" union all ");
        }
        push_query(&mut sql, *kind, window);
    }
    let (text, args) = sql.into_parts();
    sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("derive hygiene findings"))
}
