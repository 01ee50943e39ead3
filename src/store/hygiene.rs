//! The hygiene reports as SQL: one query shape per finding kind, paged by (identity, subject)
//! and counted with the same conditions.

use super::{Sql, count, db_error, split_page, ts_opt};
use crate::domain::Timestamp;
use crate::domain::hygiene::{Finding, FindingKind, HygienePolicy};
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct FindingRow {
    identity_id: String,
    identity_name: String,
    service_name: Option<String>,
    owner_name: String,
    subject_id: String,
    subject: String,
    detail: String,
    since: Option<String>,
}

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

const IDENTITY: &str = "i.id as identity_id, i.name as identity_name, s.name as service_name, o.name as owner_name";
const FROM: &str = " from identities i join owners o on o.id = i.owner_id left join services s on s.id = i.service_id";
const LIVE_GRANT: &str = "a.revoked_at is null and (a.expires_at is null or a.expires_at > ";

/// `select … from … where …` for one kind, without order or limit; `subject_key` is the
/// expression paged on after the identity.
fn query(kind: FindingKind, window: &Window, select: bool) -> (Sql, &'static str) {
    let cols = |subject_id: &str, subject: &str, detail: &str, since: &str| {
        if select {
            format!("select {IDENTITY}, {subject_id} as subject_id, {subject} as subject, {detail} as detail, {since} as since")
        } else {
            "select count(*)".to_owned()
        }
    };
    let credential = " join credentials c on c.identity_id = i.id";
    let grant = " join assignments a on a.identity_id = i.id join roles r on r.id = a.role_id join scopes sc on sc.id = a.scope_id";
    let grant_subject = "r.slug || ' v' || cast(a.role_version as text) || ' on ' || sc.path";
    let mut sql;
    let key;
    match kind {
        FindingKind::OrphanOwner => {
            sql = Sql::new(&format!("{}{FROM} where i.status <> 'retired' and o.status = 'disabled'", cols("''", "''", "o.name", "null")));
            key = "''";
        }
        FindingKind::OrphanService => {
            sql = Sql::new(&format!("{}{FROM} where i.status <> 'retired' and s.status = 'decommissioned'", cols("''", "''", "s.name", "s.decommissioned_at")));
            key = "''";
        }
        FindingKind::Unassigned => {
            sql = Sql::new(&format!(
                "{}{FROM} where i.status = 'active' and not exists (select 1 from assignments a where a.identity_id = i.id and {LIVE_GRANT}",
                cols("''", "''", "''", "i.created_at")
            ));
            sql.bind(window.now.clone()).push("))");
            key = "''";
        }
        FindingKind::Dormant => {
            sql = Sql::new(&format!(
                "{}{FROM} where i.status = 'active' and coalesce(i.last_seen_at, i.created_at) < ",
                cols("''", "''", "coalesce(i.last_seen_at, '')", "coalesce(i.last_seen_at, i.created_at)")
            ));
            sql.bind(window.dormant_before.clone());
            key = "''";
        }
        FindingKind::CredentialExpired => {
            sql = Sql::new(&format!(
                "{}{FROM}{credential} where c.revoked_at is null and c.expires_at is not null and c.expires_at <= ",
                cols("c.id", "c.fingerprint", "c.kind", "c.expires_at")
            ));
            sql.bind(window.now.clone());
            key = "c.id";
        }
        FindingKind::CredentialExpiring => {
            sql = Sql::new(&format!(
                "{}{FROM}{credential} where c.revoked_at is null and c.expires_at > ",
                cols("c.id", "c.fingerprint", "c.kind", "c.expires_at")
            ));
            sql.bind(window.now.clone()).push(" and c.expires_at <= ").bind(window.expiring_before.clone());
            key = "c.id";
        }
        FindingKind::CredentialUnrotated => {
            sql = Sql::new(&format!(
                "{}{FROM}{credential} where c.revoked_at is null and coalesce(c.rotated_at, c.created_at) < ",
                cols("c.id", "c.fingerprint", "c.kind", "coalesce(c.rotated_at, c.created_at)")
            ));
            sql.bind(window.rotated_before.clone());
            key = "c.id";
        }
        FindingKind::CredentialUnused => {
            sql = Sql::new(&format!(
                "{}{FROM}{credential} where c.revoked_at is null and c.last_used_at is null",
                cols("c.id", "c.fingerprint", "c.kind", "c.created_at")
            ));
            key = "c.id";
        }
        // Separation-of-duty findings come from the rule evaluation in the service layer; asked
        // here, the query matches nothing.
        FindingKind::SodViolation => {
            sql = Sql::new(&format!("{}{FROM} where 1 = 0", cols("''", "''", "''", "null")));
            key = "''";
        }
        FindingKind::PrivilegedHolder | FindingKind::OutdatedVersion => {
            let detail = if kind == FindingKind::OutdatedVersion { "cast(r.current_version as text)" } else { "''" };
            sql = Sql::new(&format!("{}{FROM}{grant} where {LIVE_GRANT}", cols("a.id", grant_subject, detail, "a.granted_at")));
            sql.bind(window.now.clone()).push(")");
            sql.push(if kind == FindingKind::OutdatedVersion { " and a.role_version < r.current_version" } else { " and r.sensitivity = 'privileged'" });
            key = "a.id";
        }
    }
    (sql, key)
}

fn detail(kind: FindingKind, row: &FindingRow) -> String {
    match kind {
        FindingKind::OrphanOwner => format!("owner {} is disabled", row.detail),
        FindingKind::OrphanService => format!("service {} is decommissioned", row.detail),
        FindingKind::Unassigned => "holds no active role".to_owned(),
        FindingKind::Dormant if row.detail.is_empty() => "never seen".to_owned(),
        FindingKind::Dormant => format!("last seen {}", &row.detail[..10.min(row.detail.len())]),
        FindingKind::CredentialExpired => format!("{} expired", row.detail),
        FindingKind::CredentialExpiring => format!("{} expiring", row.detail),
        FindingKind::CredentialUnrotated => format!("{} not rotated", row.detail),
        FindingKind::CredentialUnused => format!("{} never used", row.detail),
        FindingKind::OutdatedVersion => format!("current version is v{}", row.detail),
        FindingKind::PrivilegedHolder => "privileged role".to_owned(),
        FindingKind::SodViolation => String::new(),
    }
}

/// One page of findings of `kind`, in (identity, subject) order.
pub async fn findings(
    conn: &mut AnyConnection,
    kind: FindingKind,
    window: &Window,
    after: Option<&(String, String)>,
    page: &PageRequest,
) -> Result<Page<Finding>, AppError> {
    let size = page.size();
    let (mut sql, key) = query(kind, window, true);
    // Identity-level findings page by identity alone (PostgreSQL refuses a constant in ORDER BY).
    let per_identity = key == "''";
    match after {
        Some((identity, _)) if per_identity => {
            sql.push(" and i.id > ").bind(identity.clone());
        }
        Some((identity, subject)) => {
            sql.push(&format!(" and (i.id, {key}) > (")).bind(identity.clone()).push(", ").bind(subject.clone()).push(")");
        }
        None => {}
    }
    let order = if per_identity { " order by i.id limit ".to_owned() } else { format!(" order by i.id, {key} limit ") };
    sql.push(&order).bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts();
    let rows = sqlx::query_as_with::<_, FindingRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("hygiene findings"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| format!("{} {}", r.identity_id, r.subject_id));
    let (count_sql, _) = query(kind, window, false);
    let total = count(conn, count_sql, "count hygiene findings").await?;
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(Finding {
                kind,
                detail: detail(kind, &row),
                since: ts_opt(row.since.as_deref())?,
                subject_id: Some(row.subject_id).filter(|s| !s.is_empty()),
                identity_id: row.identity_id,
                identity_name: row.identity_name,
                service_name: row.service_name,
                owner_name: row.owner_name,
                subject: row.subject,
                action: kind.action(),
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Page { items, next_cursor, total })
}

/// How many findings of `kind` there are now.
pub async fn count_of(conn: &mut AnyConnection, kind: FindingKind, window: &Window) -> Result<i64, AppError> {
    let (sql, _) = query(kind, window, false);
    count(conn, sql, "count hygiene findings").await
}

/// Records today's counts, for the dashboard's trend (one row per day and kind, last write wins).
pub async fn record_counts(conn: &mut AnyConnection, day: &str, counts: &[(FindingKind, i64)], at: Timestamp) -> Result<(), AppError> {
    for (kind, n) in counts {
        sqlx::query(
            "insert into hygiene_history (day, kind, findings, recorded_at) values ($1, $2, $3, $4) \
             on conflict (day, kind) do update set findings = excluded.findings, recorded_at = excluded.recorded_at",
        )
        .bind(day)
        .bind(kind.as_str())
        .bind(*n)
        .bind(at.to_rfc3339())
        .execute(&mut *conn)
        .await
        .map_err(db_error("record hygiene counts"))?;
    }
    Ok(())
}

/// (day, total open findings) from `since_day` on, oldest first.
pub async fn history(conn: &mut AnyConnection, since_day: &str) -> Result<Vec<(String, i64)>, AppError> {
    sqlx::query_as("select day, cast(sum(findings) as bigint) from hygiene_history where day >= $1 and kind <> 'privileged_holder' group by day order by day")
        .bind(since_day)
        .fetch_all(conn)
        .await
        .map_err(db_error("hygiene history"))
}
