//! Drift findings: opened by imports, closed by imports (gone from source) or by an approved
//! acknowledgement. Writes are batched like the import's own.

use super::{Sql, db_error, ts, ts_opt, vocab};
use crate::domain::Timestamp;
use crate::domain::drift::{Drift, DriftCounts, DriftKind, DriftState};
use crate::error::AppError;
use sqlx::AnyConnection;

const CHUNK: usize = 300;

/// A finding to open.
#[derive(Debug, Clone)]
pub struct NewDrift {
    pub kind: DriftKind,
    pub subject_id: String,
    pub subject: String,
    pub detail: String,
    pub role_id: Option<String>,
    pub role_version: Option<i64>,
    pub base_version: Option<i64>,
    pub identity_id: Option<String>,
}

/// Opens `rows` for the source, skipping any already open for the same subject; returns the
/// (kind, subject id) of those opened.
pub async fn open(conn: &mut AnyConnection, source_id: &str, rows: &[NewDrift], at: Timestamp) -> Result<Vec<(String, String)>, AppError> {
    let at = at.to_rfc3339();
    let mut opened = Vec::new();
    for chunk in rows.chunks(CHUNK) {
        let mut sql = Sql::new(
            "insert into source_drift (id, source_id, kind, subject_id, subject, detail, role_id, role_version, base_version, identity_id, opened_at) values ",
        );
        for (i, d) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.bind(super::new_id()).push(", ").bind(source_id.to_owned()).push(", ").bind(d.kind.as_str().to_owned());
            sql.push(", ").bind(d.subject_id.clone()).push(", ").bind(d.subject.clone()).push(", ").bind(d.detail.clone());
            sql.push(", ").bind(d.role_id.clone()).push(", ").bind(d.role_version).push(", ").bind(d.base_version);
            sql.push(", ").bind(d.identity_id.clone()).push(", ").bind(at.clone()).push(")");
        }
        sql.push(" on conflict do nothing returning kind, subject_id");
        let (text, args) = sql.into_parts(conn);
        let rows: Vec<(String, String)> = sqlx::query_as_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("open drift"))?;
        opened.extend(rows);
    }
    Ok(opened)
}

/// Closes the source's open findings of `kind` about `subjects`: the source no longer has them.
/// Returns the (id, kind, subject) of those closed.
pub async fn close_gone(
    conn: &mut AnyConnection,
    source_id: &str,
    kind: DriftKind,
    subjects: &[String],
    at: Timestamp,
) -> Result<Vec<(String, String, String)>, AppError> {
    let mut closed = Vec::new();
    for chunk in subjects.chunks(CHUNK * 3) {
        let mut sql = Sql::new("update source_drift set close_reason = 'gone', closed_at = ");
        sql.bind(at.to_rfc3339()).push(" where closed_at is null and source_id = ").bind(source_id.to_owned());
        sql.push(" and kind = ").bind(kind.as_str().to_owned()).push(" and subject_id in ").bind_rows(chunk);
        sql.push(" returning id, kind, subject");
        let (text, args) = sql.into_parts(conn);
        let rows: Vec<(String, String, String)> = sqlx::query_as_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("close drift"))?;
        closed.extend(rows);
    }
    Ok(closed)
}

/// Closes the source's open findings about grants that have ended, and about roles that
/// were retired. Returns the (id, kind, subject) of those closed.
pub async fn close_ended(conn: &mut AnyConnection, source_id: &str, at: Timestamp) -> Result<Vec<(String, String, String)>, AppError> {
    sqlx::query_as(
        "update source_drift set close_reason = 'gone', closed_at = $2 where closed_at is null and source_id = $1 and (\
         (kind = 'unreviewed_access' and exists (select 1 from assignments a where a.id = source_drift.subject_id and a.revoked_at is not null)) \
         or (kind = 'changed_outside_review' and exists (select 1 from roles r where r.id = source_drift.role_id and r.status = 'retired'))) \
         returning id, kind, subject",
    )
    .bind(source_id)
    .bind(at.to_rfc3339())
    .fetch_all(conn)
    .await
    .map_err(db_error("close ended drift"))
}

/// Records an approved acknowledgement; false if the finding was no longer open.
pub async fn acknowledge(conn: &mut AnyConnection, id: &str, change_id: &str, by: &str, at: Timestamp) -> Result<bool, AppError> {
    let done = sqlx::query(
        "update source_drift set close_reason = 'acknowledged', closed_at = $2, change_id = $3, acknowledged_by = $4 where id = $1 and closed_at is null",
    )
    .bind(id)
    .bind(at.to_rfc3339())
    .bind(change_id)
    .bind(by)
    .execute(conn)
    .await
    .map_err(db_error("acknowledge drift"))?;
    Ok(done.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct DriftRow {
    id: String,
    source_id: String,
    source_name: String,
    kind: String,
    subject_id: String,
    subject: String,
    detail: String,
    role_id: Option<String>,
    role_version: Option<i64>,
    base_version: Option<i64>,
    identity_id: Option<String>,
    opened_at: String,
    closed_at: Option<String>,
    close_reason: Option<String>,
    change_id: Option<String>,
    acknowledged_by: Option<String>,
}

impl DriftRow {
    fn into_drift(self) -> Result<Drift, AppError> {
        let state = match self.close_reason.as_deref() {
            None => DriftState::Open,
            Some(reason) => vocab(reason, DriftState::parse)?,
        };
        Ok(Drift {
            id: self.id,
            source_id: self.source_id,
            source_name: self.source_name,
            kind: vocab(&self.kind, DriftKind::parse)?,
            subject_id: self.subject_id,
            subject: self.subject,
            detail: self.detail,
            role_id: self.role_id,
            role_version: self.role_version,
            base_version: self.base_version,
            identity_id: self.identity_id,
            opened_at: ts(&self.opened_at)?,
            state,
            closed_at: ts_opt(self.closed_at.as_deref())?,
            change_id: self.change_id,
            acknowledged_by: self.acknowledged_by,
        })
    }
}

const SELECT: &str = "select d.id, d.source_id, s.name as source_name, d.kind, d.subject_id, d.subject, d.detail, d.role_id, d.role_version, \
    d.base_version, d.identity_id, d.opened_at, d.closed_at, d.close_reason, d.change_id, d.acknowledged_by \
    from source_drift d join sources s on s.id = d.source_id";

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Drift>, AppError> {
    sqlx::query_as::<_, DriftRow>(&format!("{SELECT} where d.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("drift by id"))?
        .map(DriftRow::into_drift)
        .transpose()
}

/// A page of a source's findings (every source's: None) in `state` (None: all), optionally
/// of one kind, by id.
pub async fn of_source(
    conn: &mut AnyConnection,
    source_id: Option<&str>,
    state: Option<DriftState>,
    kind: Option<DriftKind>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<Drift>, AppError> {
    let mut sql = Sql::new(SELECT);
    sql.push(" where 1 = 1");
    if let Some(source_id) = source_id {
        sql.push(" and d.source_id = ").bind(source_id.to_owned());
    }
    match state {
        Some(DriftState::Open) => {
            sql.push(" and d.closed_at is null");
        }
        Some(other) => {
            sql.push(" and d.close_reason = ").bind(other.as_str().to_owned());
        }
        None => {}
    }
    if let Some(kind) = kind {
        sql.push(" and d.kind = ").bind(kind.as_str().to_owned());
    }
    if let Some(after) = after {
        sql.push(" and d.id > ").bind(after.to_owned());
    }
    sql.push(" order by d.id limit ").bind(limit);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with::<_, DriftRow, _>(&text, args)
        .fetch_all(conn)
        .await
        .map_err(db_error("drift of source"))?
        .into_iter()
        .map(DriftRow::into_drift)
        .collect()
}

/// Open findings per kind: of one source, or of all.
pub async fn counts(conn: &mut AnyConnection, source_id: Option<&str>) -> Result<DriftCounts, AppError> {
    let mut sql = Sql::new("select kind, count(*) from source_drift where closed_at is null");
    if let Some(source_id) = source_id {
        sql.push(" and source_id = ").bind(source_id.to_owned());
    }
    sql.push(" group by kind");
    let (text, args) = sql.into_parts(conn);
    let rows: Vec<(String, i64)> = sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("drift counts"))?;
    let mut counts = DriftCounts::default();
    for (kind, count) in rows {
        counts.add(vocab(&kind, DriftKind::parse)?, count);
    }
    Ok(counts)
}

/// A grant of a privileged role, as an unreviewed-access finding describes it.
#[derive(sqlx::FromRow)]
pub struct PrivilegedGrant {
    pub assignment_id: String,
    pub identity_id: String,
    pub identity_name: String,
    pub role_id: String,
    pub role_slug: String,
    pub role_version: i64,
    pub scope: String,
    pub condition: Option<String>,
}

/// The source's live grants of privileged roles that have no finding, open or closed: access
/// acknowledged once stays acknowledged for as long as the grant lives.
pub async fn privileged_without_drift(conn: &mut AnyConnection, source_id: &str) -> Result<Vec<PrivilegedGrant>, AppError> {
    sqlx::query_as(
        "select a.id as assignment_id, a.identity_id, i.name as identity_name, a.role_id, r.slug as role_slug, a.role_version, \
         sc.path as scope, a.source_condition as condition \
         from assignments a join roles r on r.id = a.role_id join identities i on i.id = a.identity_id join scopes sc on sc.id = a.scope_id \
         where a.source_id = $1 and a.revoked_at is null and r.sensitivity = 'privileged' \
         and not exists (select 1 from source_drift d where d.source_id = $1 and d.kind = 'unreviewed_access' and d.subject_id = a.id) \
         order by a.id",
    )
    .bind(source_id)
    .fetch_all(conn)
    .await
    .map_err(db_error("privileged grants without drift"))
}

/// An open dangling grant of the source.
#[derive(sqlx::FromRow)]
pub struct DanglingGrant {
    pub source_ref: String,
    pub principal_ref: String,
    pub role_ref: String,
    pub scope: String,
    pub missing: String,
}

/// The source's open dangling grants without a finding since they were first seen (one
/// acknowledged stays so while the grant dangles; one resolved and dangling again is new).
pub async fn dangling_without_drift(conn: &mut AnyConnection, source_id: &str) -> Result<Vec<DanglingGrant>, AppError> {
    sqlx::query_as(
        "select g.source_ref, g.principal_ref, g.role_ref, g.scope, g.missing from source_dangling g \
         where g.source_id = $1 and g.resolved_at is null \
         and not exists (select 1 from source_drift d where d.source_id = $1 and d.kind = 'dangling_binding' \
         and d.subject_id = g.source_ref and d.opened_at >= g.first_seen_at) \
         order by g.source_ref",
    )
    .bind(source_id)
    .fetch_all(conn)
    .await
    .map_err(db_error("dangling grants without drift"))
}

/// How many of a source's findings (every source's: None) are in `state` (None: all),
/// optionally of one kind.
pub async fn count(conn: &mut AnyConnection, source_id: Option<&str>, state: Option<DriftState>, kind: Option<DriftKind>) -> Result<i64, AppError> {
    let mut sql = Sql::new("select count(*) from source_drift where 1 = 1");
    if let Some(source_id) = source_id {
        sql.push(" and source_id = ").bind(source_id.to_owned());
    }
    match state {
        Some(DriftState::Open) => {
            sql.push(" and closed_at is null");
        }
        Some(other) => {
            sql.push(" and close_reason = ").bind(other.as_str().to_owned());
        }
        None => {}
    }
    if let Some(kind) = kind {
        sql.push(" and kind = ").bind(kind.as_str().to_owned());
    }
    let (text, args) = sql.into_parts(conn);
    sqlx::query_scalar_with(&text, args).fetch_one(conn).await.map_err(db_error("count drift"))
}
