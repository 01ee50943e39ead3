//! What the hygiene reports should hold, derived from the ledger as SQL: one query shape per
//! finding kind (separation of duties is evaluated by the service layer), for a batch of
//! identities. Stored findings (`findings`) are kept equal to it.

use super::findings::{ROW, Row, Stored};
use super::{Identities, Sql, db_error};
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

const LIVE_GRANT: &str = "a.revoked_at is null and (a.expires_at is null or a.expires_at > ";

/// Appends `select kind, identity_id, subject_id, subject, detail, since from … where …` for one
/// kind (not separation of duties), for the identities `of`. Each reads one table by the
/// identities, with the rows it refers to (owner, service, role, scope) as scalar subqueries on their
/// primary keys: plans that no version of SQLite's planner can turn into a scan of the ledger
/// (joins over an id list became scans of every identity or every privileged grant in SQLite
/// 3.40–3.51, depending on the version).
fn push_query(sql: &mut Sql, kind: FindingKind, window: &Window, of: Identities<'_>) {
    let cols = |identity_id: &str, subject_id: &str, subject: &str, detail: &str, since: &str| {
        format!(
            "select '{}' as kind, {identity_id} as identity_id, {subject_id} as subject_id, {subject} as subject, {detail} as detail, {since} as since",
            kind.as_str()
        )
    };
    let identity = |sql: &mut Sql, select: String| {
        sql.push(&format!("{select} from identities i where ")).identities("i.id", of);
    };
    let credential = |sql: &mut Sql, since: &str| {
        sql.push(&format!("{} from credentials c where ", cols("c.identity_id", "c.id", "c.fingerprint", "c.kind", since))).identities("c.identity_id", of);
        sql.push(" and c.revoked_at is null");
    };
    let role = |column: &str| format!("(select r.{column} from roles r where r.id = a.role_id)");
    match kind {
        FindingKind::OrphanOwner => {
            let owner = |column: &str| format!("(select o.{column} from owners o where o.id = i.owner_id)");
            identity(sql, cols("i.id", "''", "''", &owner("name"), "null"));
            sql.push(&format!(" and i.status <> 'retired' and {} = 'disabled'", owner("status")));
        }
        FindingKind::OrphanService => {
            let service = |column: &str| format!("(select s.{column} from services s where s.id = i.service_id)");
            identity(sql, cols("i.id", "''", "''", &service("name"), &service("decommissioned_at")));
            sql.push(&format!(" and i.status <> 'retired' and {} = 'decommissioned'", service("status")));
        }
        FindingKind::Unassigned => {
            identity(sql, cols("i.id", "''", "''", "''", "i.created_at"));
            sql.push(&format!(" and i.status = 'active' and not exists (select 1 from assignments a where a.identity_id = i.id and {LIVE_GRANT}"));
            sql.bind(window.now.clone()).push("))");
        }
        FindingKind::Dormant => {
            identity(sql, cols("i.id", "''", "''", "coalesce(i.last_seen_at, '')", "coalesce(i.last_seen_at, i.created_at)"));
            sql.push(" and i.status = 'active' and coalesce(i.last_seen_at, i.created_at) < ").bind(window.dormant_before.clone());
        }
        FindingKind::CredentialExpired => {
            credential(sql, "c.expires_at");
            sql.push(" and c.expires_at is not null and c.expires_at <= ").bind(window.now.clone());
        }
        FindingKind::CredentialExpiring => {
            credential(sql, "c.expires_at");
            sql.push(" and c.expires_at > ").bind(window.now.clone()).push(" and c.expires_at <= ").bind(window.expiring_before.clone());
        }
        FindingKind::CredentialUnrotated => {
            credential(sql, "coalesce(c.rotated_at, c.created_at)");
            sql.push(" and coalesce(c.rotated_at, c.created_at) < ").bind(window.rotated_before.clone());
        }
        FindingKind::CredentialUnused => {
            credential(sql, "c.created_at");
            sql.push(" and c.last_used_at is null");
        }
        FindingKind::PrivilegedHolder | FindingKind::OutdatedVersion => {
            let subject =
                format!("{} || ' v' || cast(a.role_version as text) || ' on ' || (select sc.path from scopes sc where sc.id = a.scope_id)", role("slug"));
            let detail = if kind == FindingKind::OutdatedVersion { format!("cast({} as text)", role("current_version")) } else { "''".to_owned() };
            sql.push(&format!("{} from assignments a where ", cols("a.identity_id", "a.id", &subject, &detail, "a.granted_at")))
                .identities("a.identity_id", of);
            sql.push(&format!(" and {LIVE_GRANT}")).bind(window.now.clone()).push(")");
            if kind == FindingKind::OutdatedVersion {
                sql.push(&format!(" and a.role_version < {}", role("current_version")));
            } else {
                sql.push(&format!(" and {} = 'privileged'", role("sensitivity")));
            }
        }
        // Evaluated by the service layer over the identities' holdings, and over the
        // escalation graph.
        FindingKind::SodViolation | FindingKind::EscalationPath => {
            identity(sql, cols("i.id", "''", "''", "''", "null"));
            sql.push(" and 1 = 0");
        }
    }
}

/// The findings of `kinds` (separation of duties excepted) that the ledger implies now for the
/// identities `of`, in one statement.
pub async fn derive(conn: &mut AnyConnection, kinds: &[FindingKind], of: Identities<'_>, window: &Window) -> Result<Vec<Row>, AppError> {
    let kinds: Vec<_> = kinds.iter().filter(|k| **k != FindingKind::SodViolation).collect();
    if of.is_empty() || kinds.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::default();
    for (i, kind) in kinds.into_iter().enumerate() {
        if i > 0 {
            sql.push(" union all ");
        }
        push_query(&mut sql, *kind, window, of);
    }
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("derive hygiene findings"))
}

/// `derive`, and the open findings of `kinds` stored for the identities `of`, in one statement:
/// a change settles in as few round trips as it can (each costs more than these few rows).
pub async fn derive_with_stored(
    conn: &mut AnyConnection,
    kinds: &[FindingKind],
    of: Identities<'_>,
    window: &Window,
) -> Result<(Vec<Row>, Vec<Stored>), AppError> {
    if of.is_empty() || kinds.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut sql = Sql::new(&format!("select id, {ROW} from findings where closed_at is null and "));
    // The kinds are written out, not bound: a bound list would be re-planned at every execution
    // (see `Sql::identities`), and they are the fixed names of an enum.
    let kinds_in = kinds.iter().map(|k| format!("'{}'", k.as_str())).collect::<Vec<_>>().join(", ");
    sql.identities("identity_id", of).push(&format!(" and kind in ({kinds_in})"));
    for kind in kinds.iter().filter(|k| **k != FindingKind::SodViolation) {
        // A derived row has no id: that tells it from a stored one.
        sql.push(" union all select cast(null as text) as id, d.* from (");
        push_query(&mut sql, *kind, window, of);
        sql.push(") d");
    }
    let (text, args) = sql.into_parts(conn);
    let rows: Vec<(Option<String>, String, String, String, String, String, Option<String>)> =
        sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("derive and stored hygiene findings"))?;
    let (mut derived, mut stored) = (Vec::new(), Vec::new());
    for (id, kind, identity_id, subject_id, subject, detail, since) in rows {
        let row = Row { kind, identity_id, subject_id, subject, detail, since };
        match id {
            Some(id) => stored.push(Stored { id, row }),
            None => derived.push(row),
        }
    }
    Ok((derived, stored))
}
