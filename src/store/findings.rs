//! Stored hygiene findings: open ones (one per kind, identity and subject) and closed ones (their
//! history), the per-kind counters behind the summary, and the clock that says as of when the
//! time-based ones hold. What *should* be found is derived in `hygiene`; the service layer
//! compares the two and writes the difference here.

use super::{Identities, Sql, count, db_error, is_postgres, new_id, split_page, ts_opt};
use crate::domain::Timestamp;
use crate::domain::hygiene::{Finding, FindingKind, HygienePolicy};
use crate::domain::page::{Page, PageRequest};
use crate::error::AppError;
use sqlx::AnyConnection;

/// One finding as stored (and as derived): what it is about, without the names around it, which
/// are read when the finding is shown (an owner renamed does not make a finding stale).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, sqlx::FromRow)]
pub struct Row {
    pub kind: String,
    pub identity_id: String,
    pub subject_id: String,
    pub subject: String,
    pub detail: String,
    pub since: Option<String>,
}

impl Row {
    /// What makes two findings the same one: a finding whose subject, detail or start changed
    /// is closed and a new one opened.
    pub fn key(&self) -> (&str, &str, &str) {
        (&self.kind, &self.identity_id, &self.subject_id)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Stored {
    pub id: String,
    #[sqlx(flatten)]
    pub row: Row,
}

pub(super) const ROW: &str = "kind, identity_id, subject_id, subject, detail, since";

/// Live holders of a role, and those whose grant of it ended at `ended_at` (this transaction's).
pub async fn holders_of_role(conn: &mut AnyConnection, role_id: &str, ended_at: Timestamp) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar("select distinct identity_id from assignments where role_id = $1 and (revoked_at is null or revoked_at = $2)")
        .bind(role_id)
        .bind(ended_at.to_rfc3339())
        .fetch_all(conn)
        .await
        .map_err(db_error("holders of role"))
}

/// Identities holding both roles now.
pub async fn holders_of_both(conn: &mut AnyConnection, role_a: &str, role_b: &str) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar(
        "select identity_id from assignments where role_id = $1 and revoked_at is null \
         intersect select identity_id from assignments where role_id = $2 and revoked_at is null",
    )
    .bind(role_a)
    .bind(role_b)
    .fetch_all(conn)
    .await
    .map_err(db_error("holders of both roles"))
}

/// Identities with an open separation-of-duty finding under `rule_id`.
pub async fn conflicted(conn: &mut AnyConnection, rule_id: &str) -> Result<Vec<String>, AppError> {
    let mut sql = Sql::new("select distinct identity_id from findings where kind = 'sod_violation' and closed_at is null and subject_id like ");
    sql.bind(format!("{}/%", super::escape_like(rule_id))).push(" escape '\\'");
    let (text, args) = sql.into_parts(conn);
    sqlx::query_scalar_with(&text, args).fetch_all(conn).await.map_err(db_error("identities in conflict"))
}

/// The open findings of these identities, every kind.
pub async fn open_of(conn: &mut AnyConnection, of: Identities<'_>) -> Result<Vec<Stored>, AppError> {
    if of.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!("select id, {ROW} from findings where closed_at is null and "));
    sql.identities("identity_id", of);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("open findings"))
}

/// Every open finding of `kind` (escalation paths: settled ledger-wide, not per identity).
pub async fn open_of_kind(conn: &mut AnyConnection, kind: FindingKind) -> Result<Vec<Stored>, AppError> {
    sqlx::query_as(&format!("select id, {ROW} from findings where closed_at is null and kind = $1"))
        .bind(kind.as_str())
        .fetch_all(conn)
        .await
        .map_err(db_error("open findings of a kind"))
}

/// Closes findings by id.
pub async fn close(conn: &mut AnyConnection, ids: &[String], at: Timestamp) -> Result<(), AppError> {
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("update findings set closed_at = ");
        sql.bind(at.to_rfc3339()).push(" where closed_at is null and id in ").bind_list(chunk);
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("close findings"))?;
    }
    Ok(())
}

/// Opens findings.
pub async fn open(conn: &mut AnyConnection, rows: &[&Row], at: Timestamp) -> Result<(), AppError> {
    let at = at.to_rfc3339();
    for chunk in rows.chunks(200) {
        let mut sql = Sql::new(&format!("insert into findings (id, {ROW}, opened_at) values "));
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(new_id()).push(", ").bind(row.kind.clone()).push(", ").bind(row.identity_id.clone()).push(", ");
            sql.bind(row.subject_id.clone()).push(", ").bind(row.subject.clone()).push(", ").bind(row.detail.clone()).push(", ");
            sql.bind(row.since.clone()).push(", ").bind(at.clone()).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        sqlx::query_with(&text, args).execute(&mut *conn).await.map_err(db_error("open findings"))?;
    }
    Ok(())
}

/// Adds to the counters: findings of each kind opened and closed on `day` (one appended row per
/// kind that changed; writers never wait on one another's counter row).
pub async fn add_to_counts(conn: &mut AnyConnection, day: &str, moves: &[(String, i64, i64)]) -> Result<(), AppError> {
    let moves: Vec<_> = moves.iter().filter(|(_, opened, closed)| *opened != 0 || *closed != 0).collect();
    if moves.is_empty() {
        return Ok(());
    }
    let mut sql = Sql::new("insert into finding_counts (kind, day, opened, closed) values ");
    for (i, (kind, opened, closed)) in moves.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" }).bind(kind.clone()).push(", ").bind(day.to_owned());
        sql.push(", ").bind(*opened).push(", ").bind(*closed).push(")");
    }
    let (text, args) = sql.into_parts(conn);
    sqlx::query_with(&text, args).execute(conn).await.map_err(db_error("count findings"))?;
    Ok(())
}

/// Open findings per kind, from the counters.
pub async fn counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, AppError> {
    sqlx::query_as("select kind, cast(sum(opened) - sum(closed) as bigint) from finding_counts group by kind")
        .fetch_all(conn)
        .await
        .map_err(db_error("finding counts"))
}

/// Open findings per kind, counted row by row (what the counters must equal).
pub async fn counted(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>, AppError> {
    sqlx::query_as("select kind, count(*) from findings where closed_at is null group by kind").fetch_all(conn).await.map_err(db_error("count open findings"))
}

/// Findings opened and closed per day (of problem kinds: privileged holders are not problems),
/// from the counters: the trend's history.
pub async fn movements(conn: &mut AnyConnection) -> Result<Vec<(String, i64, i64)>, AppError> {
    sqlx::query_as(
        "select day, cast(sum(opened) as bigint), cast(sum(closed) as bigint) from finding_counts \
         where kind <> 'privileged_holder' group by day order by day",
    )
    .fetch_all(conn)
    .await
    .map_err(db_error("finding movements"))
}

const FOLD: &str = "select kind, day, cast(sum(opened) as bigint), cast(sum(closed) as bigint)";

/// Folds the counters' rows into one per kind and day. On PostgreSQL a delete sees only the
/// rows committed before it began, so rows appended meanwhile survive it and are folded later.
pub async fn fold_counts(conn: &mut AnyConnection) -> Result<(), AppError> {
    let rows: Vec<(String, String, i64, i64)> = if is_postgres(conn) {
        sqlx::query_as(&format!("with gone as (delete from finding_counts returning *) {FOLD} from gone group by kind, day"))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_error("fold finding counts"))?
    } else {
        let rows =
            sqlx::query_as(&format!("{FOLD} from finding_counts group by kind, day")).fetch_all(&mut *conn).await.map_err(db_error("fold finding counts"))?;
        sqlx::query("delete from finding_counts").execute(&mut *conn).await.map_err(db_error("fold finding counts"))?;
        rows
    };
    insert_counts(conn, rows).await
}

async fn insert_counts(conn: &mut AnyConnection, rows: Vec<(String, String, i64, i64)>) -> Result<(), AppError> {
    let mut by_day: std::collections::BTreeMap<String, Vec<(String, i64, i64)>> = Default::default();
    for (kind, day, opened, closed) in rows {
        by_day.entry(day).or_default().push((kind, opened, closed));
    }
    for (day, moves) in by_day {
        add_to_counts(conn, &day, &moves).await?;
    }
    Ok(())
}

/// Sets the counters to what the findings' rows say (after a rebuild, or to repair them):
/// per kind and day, how many were opened and closed. PostgreSQL: no writer may append a row
/// between the count and the reset.
pub async fn recount(conn: &mut AnyConnection) -> Result<(), AppError> {
    if is_postgres(conn) {
        sqlx::query("lock table finding_counts in exclusive mode").execute(&mut *conn).await.map_err(db_error("recount findings"))?;
    }
    sqlx::query("delete from finding_counts").execute(&mut *conn).await.map_err(db_error("recount findings"))?;
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "select kind, day, cast(sum(opened) as bigint), cast(sum(closed) as bigint) from ( \
           select kind, substr(opened_at, 1, 10) as day, 1 as opened, 0 as closed from findings \
           union all select kind, substr(closed_at, 1, 10), 0, 1 from findings where closed_at is not null) m group by kind, day",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error("recount findings"))?;
    insert_counts(conn, rows).await
}

/// The windows the stored findings were computed with and when the scheduler last moved the
/// time-based ones forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub refreshed_at: Timestamp,
    pub policy: HygienePolicy,
}

pub async fn clock(conn: &mut AnyConnection) -> Result<Option<Clock>, AppError> {
    let row: Option<(String, i64, i64, i64)> =
        sqlx::query_as("select refreshed_at, dormant_days, expiring_days, rotation_days from hygiene_clock where id = 1")
            .fetch_optional(conn)
            .await
            .map_err(db_error("hygiene clock"))?;
    row.map(|(at, dormant_days, expiring_days, rotation_days)| {
        Ok(Clock { refreshed_at: super::ts(&at)?, policy: HygienePolicy { dormant_days, expiring_days, rotation_days } })
    })
    .transpose()
}

pub async fn set_clock(conn: &mut AnyConnection, clock: &Clock) -> Result<(), AppError> {
    sqlx::query(
        "insert into hygiene_clock (id, refreshed_at, dormant_days, expiring_days, rotation_days) values (1, $1, $2, $3, $4) \
         on conflict (id) do update set refreshed_at = excluded.refreshed_at, dormant_days = excluded.dormant_days, \
         expiring_days = excluded.expiring_days, rotation_days = excluded.rotation_days",
    )
    .bind(clock.refreshed_at.to_rfc3339())
    .bind(clock.policy.dormant_days)
    .bind(clock.policy.expiring_days)
    .bind(clock.policy.rotation_days)
    .execute(conn)
    .await
    .map_err(db_error("set hygiene clock"))?;
    Ok(())
}

/// Identities, in id order after `after`, up to `limit` (a rebuild's batches).
pub async fn identity_batch(conn: &mut AnyConnection, after: &str, limit: i64) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar("select id from identities where id > $1 order by id limit $2")
        .bind(after)
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("identity batch"))
}

/// Identities for which some time-based condition started or ended in `(from, to]`: active ones
/// whose dormancy began, credentials that expired, entered the warning window or passed the
/// rotation limit, grants and exceptions that expired. Read from indexed columns, not by
/// looking at every identity.
pub async fn crossed(conn: &mut AnyConnection, policy: &HygienePolicy, from: Timestamp, to: Timestamp) -> Result<Vec<String>, AppError> {
    let range = |days: i64| (from.plus_days(days).to_rfc3339(), to.plus_days(days).to_rfc3339());
    let (seen_from, seen_to) = range(-policy.dormant_days);
    let (expired_from, expired_to) = range(0);
    let (warn_from, warn_to) = range(policy.expiring_days);
    let (rotated_from, rotated_to) = range(-policy.rotation_days);
    let mut sql = Sql::new("select id from identities where status = 'active' and coalesce(last_seen_at, created_at) >= ");
    sql.bind(seen_from).push(" and coalesce(last_seen_at, created_at) < ").bind(seen_to);
    sql.push(" union select identity_id from credentials where revoked_at is null and expires_at > ").bind(expired_from.clone());
    sql.push(" and expires_at <= ").bind(expired_to.clone());
    sql.push(" union select identity_id from credentials where revoked_at is null and expires_at > ").bind(warn_from);
    sql.push(" and expires_at <= ").bind(warn_to);
    sql.push(" union select identity_id from credentials where revoked_at is null and coalesce(rotated_at, created_at) >= ").bind(rotated_from);
    sql.push(" and coalesce(rotated_at, created_at) < ").bind(rotated_to);
    sql.push(" union select identity_id from assignments where revoked_at is null and expires_at is not null and expires_at > ").bind(expired_from.clone());
    sql.push(" and expires_at <= ").bind(expired_to.clone());
    sql.push(" union select identity_id from sod_exceptions where expires_at > ").bind(expired_from).push(" and expires_at <= ").bind(expired_to);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_scalar_with(&text, args).fetch_all(conn).await.map_err(db_error("hygiene crossings"))
}

#[derive(sqlx::FromRow)]
struct PageRow {
    identity_id: String,
    identity_name: String,
    service_name: Option<String>,
    owner_name: String,
    subject_id: String,
    subject: String,
    detail: String,
    since: Option<String>,
}

/// Every open finding of `kind` as CSV cells in `CSV_HEADER` order (the sentence and the action
/// added by the caller from `detail`), in report order, for a snapshot reader: no paging, no
/// timestamps parsed and printed again.
pub fn csv_query(kind: FindingKind) -> String {
    csv_page(kind, None, None).0
}

/// The CSV columns of the open findings of `kind` after `after` (identity, subject), at most
/// `size` rows, with the parameters the statement binds.
pub fn csv_page(kind: FindingKind, after: Option<&(String, String)>, size: Option<u32>) -> (String, Vec<String>) {
    let (keyset, params) = match after {
        Some((identity, subject)) => (" and (f.identity_id, f.subject_id) > ($1, $2)", vec![identity.clone(), subject.clone()]),
        None => ("", Vec::new()),
    };
    let limit = size.map(|n| format!(" limit {n}")).unwrap_or_default();
    // Joined in one query, the kind written into it: the partial index gives the rows in
    // order, so nothing is sorted. (A page chosen in a subquery and joined outside was
    // materialised and sorted again: a walk of the 250,000 SoD findings of the benchmark took
    // 0.63–0.97 s in SQLite alone that way, 0.52 s joined.)
    let sql = format!(
        "select f.kind, f.identity_id, i.name, s.name, o.name, f.subject_id, f.subject, f.detail, f.since \
         from findings f join identities i on i.id = f.identity_id join owners o on o.id = i.owner_id \
         left join services s on s.id = i.service_id \
         where f.closed_at is null and f.kind = '{}'{keyset} order by f.identity_id, f.subject_id{limit}",
        kind.as_str()
    );
    (sql, params)
}

/// The sentence a report shows for a finding's raw detail.
pub fn sentence(kind: FindingKind, detail: &str) -> String {
    match kind {
        FindingKind::OrphanOwner => format!("owner {detail} is disabled"),
        FindingKind::OrphanService => format!("service {detail} is decommissioned"),
        FindingKind::Unassigned => "holds no active role".to_owned(),
        FindingKind::Dormant if detail.is_empty() => "never seen".to_owned(),
        FindingKind::Dormant => format!("last seen {}", &detail[..10.min(detail.len())]),
        FindingKind::CredentialExpired => format!("{detail} expired"),
        FindingKind::CredentialExpiring => format!("{detail} expiring"),
        FindingKind::CredentialUnrotated => format!("{detail} not rotated"),
        FindingKind::CredentialUnused => format!("{detail} never used"),
        FindingKind::OutdatedVersion => format!("current version is v{detail}"),
        FindingKind::PrivilegedHolder => "privileged role".to_owned(),
        FindingKind::SodViolation => detail.to_owned(),
        FindingKind::EscalationPath if detail == "1" => "can reach it in 1 hop".to_owned(),
        FindingKind::EscalationPath => format!("can reach it in {detail} hops"),
    }
}

/// One page of the open findings of `kind`, in (identity, subject) order, read through the
/// partial index on open findings; `total` comes from the counters.
pub async fn page(conn: &mut AnyConnection, kind: FindingKind, after: Option<&(String, String)>, page: &PageRequest) -> Result<Page<Finding>, AppError> {
    let mut found = page_rows(conn, kind, after, page.size()).await?;
    found.total = count_of(conn, kind).await?;
    Ok(found)
}

/// `page` of any size, without the total (for walking every page).
pub async fn page_rows(conn: &mut AnyConnection, kind: FindingKind, after: Option<&(String, String)>, size: u32) -> Result<Page<Finding>, AppError> {
    // The page is chosen from the partial index alone, then joined to names for its rows only:
    // with the join inside, SQLite 3.46 sorted every open finding of a kind its statistics had
    // not sampled (250,000 SoD findings: 200 ms for a first page instead of 0.1 ms).
    let mut sql = Sql::new(
        "select f.identity_id, i.name as identity_name, s.name as service_name, o.name as owner_name, \
         f.subject_id, f.subject, f.detail, f.since from (select identity_id, subject_id, subject, detail, since from findings \
         where closed_at is null and kind = ",
    );
    sql.bind(kind.as_str());
    // A row-value comparison, which both backends turn into a range on the index (an `or` of
    // two conditions would be scanned from the start of the kind on every page).
    if let Some((identity, subject)) = after {
        sql.push(" and (identity_id, subject_id) > (").bind(identity.clone()).push(", ").bind(subject.clone()).push(")");
    }
    sql.push(" order by identity_id, subject_id limit ").bind(i64::from(size) + 1);
    sql.push(
        ") f join identities i on i.id = f.identity_id join owners o on o.id = i.owner_id left join services s on s.id = i.service_id \
         order by f.identity_id, f.subject_id",
    );
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, PageRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("hygiene findings"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| format!("{} {}", r.identity_id, r.subject_id));
    let items = rows
        .into_iter()
        .map(|row| {
            Ok(Finding {
                kind,
                detail: sentence(kind, &row.detail),
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
    Ok(Page { items, next_cursor, total: 0 })
}

/// How many findings of `kind` are open, from the counters.
pub async fn count_of(conn: &mut AnyConnection, kind: FindingKind) -> Result<i64, AppError> {
    let mut sql = Sql::new("select coalesce(cast(sum(opened) - sum(closed) as bigint), 0) from finding_counts where kind = ");
    sql.bind(kind.as_str());
    count(conn, sql, "count findings").await
}
