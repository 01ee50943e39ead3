use super::{Identities, Sql, db_error, ts, ts_opt};
use crate::domain::Timestamp;
use crate::domain::sod::{SodException, SodRule, SodRuleKind};
use crate::error::AppError;
use sqlx::AnyConnection;

pub async fn rules(conn: &mut AnyConnection) -> Result<Vec<SodRule>, AppError> {
    let rows: Vec<(String, String, Option<String>, Option<String>, String, i64)> =
        sqlx::query_as("select id, kind, role_a, role_b, description, enabled from sod_rules order by created_at, id")
            .fetch_all(conn)
            .await
            .map_err(db_error("sod rules"))?;
    rows.into_iter()
        .map(|(id, kind, role_a, role_b, description, enabled)| {
            let kind = match (kind.as_str(), role_a, role_b) {
                ("read_write", _, _) => SodRuleKind::ReadWrite,
                ("role_pair", Some(role_a), Some(role_b)) => SodRuleKind::RolePair { role_a, role_b },
                _ => return Err(AppError::internal("stored sod rule", &id)),
            };
            Ok(SodRule { id, kind, description, enabled: enabled != 0 })
        })
        .collect()
}

pub async fn insert_pair(conn: &mut AnyConnection, id: &str, role_a: &str, role_b: &str, description: &str, by: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "insert into sod_rules (id, kind, role_a, role_b, description, enabled, created_by, created_at) values ($1, 'role_pair', $2, $3, $4, 1, $5, $6)",
    )
    .bind(id)
    .bind(role_a)
    .bind(role_b)
    .bind(description)
    .bind(by)
    .bind(at.to_rfc3339())
    .execute(conn)
    .await
    .map_err(db_error("insert sod rule"))?;
    Ok(())
}

pub async fn set_enabled(conn: &mut AnyConnection, id: &str, enabled: bool) -> Result<bool, AppError> {
    let done = sqlx::query("update sod_rules set enabled = $2 where id = $1")
        .bind(id)
        .bind(i64::from(enabled))
        .execute(conn)
        .await
        .map_err(db_error("toggle sod rule"))?;
    Ok(done.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct ExceptionRow {
    id: String,
    rule_id: String,
    identity_id: String,
    resource: Option<String>,
    justification: String,
    approved_by: String,
    created_at: String,
    expires_at: String,
    revoked_at: Option<String>,
}

impl ExceptionRow {
    fn into_exception(self) -> Result<SodException, AppError> {
        Ok(SodException {
            id: self.id,
            rule_id: self.rule_id,
            identity_id: self.identity_id,
            resource: self.resource,
            justification: self.justification,
            approved_by: self.approved_by,
            created_at: ts(&self.created_at)?,
            expires_at: ts(&self.expires_at)?,
            revoked_at: ts_opt(self.revoked_at.as_deref())?,
        })
    }
}

const EXCEPTION_SELECT: &str = "select id, rule_id, identity_id, resource, justification, approved_by, created_at, expires_at, revoked_at from sod_exceptions";

pub async fn exceptions_of(conn: &mut AnyConnection, identity_id: &str) -> Result<Vec<SodException>, AppError> {
    sqlx::query_as::<_, ExceptionRow>(&format!("{EXCEPTION_SELECT} where identity_id = $1 order by created_at desc"))
        .bind(identity_id)
        .fetch_all(conn)
        .await
        .map_err(db_error("sod exceptions of identity"))?
        .into_iter()
        .map(ExceptionRow::into_exception)
        .collect()
}

/// The exceptions of the identities `of`, newest first, in one statement.
pub async fn exceptions_of_many(conn: &mut AnyConnection, of: Identities<'_>) -> Result<Vec<SodException>, AppError> {
    if of.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!("{EXCEPTION_SELECT} where "));
    sql.identities("identity_id", of).push(" order by created_at desc");
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with::<_, ExceptionRow, _>(&text, args)
        .fetch_all(conn)
        .await
        .map_err(db_error("sod exceptions of identities"))?
        .into_iter()
        .map(ExceptionRow::into_exception)
        .collect()
}

/// Exceptions newest first (administered by people: hundreds at most).
pub async fn exceptions(conn: &mut AnyConnection) -> Result<Vec<SodException>, AppError> {
    sqlx::query_as::<_, ExceptionRow>(&format!("{EXCEPTION_SELECT} order by created_at desc limit 1000"))
        .fetch_all(conn)
        .await
        .map_err(db_error("sod exceptions"))?
        .into_iter()
        .map(ExceptionRow::into_exception)
        .collect()
}

pub async fn insert_exception(conn: &mut AnyConnection, e: &SodException) -> Result<(), AppError> {
    sqlx::query(
        "insert into sod_exceptions (id, rule_id, identity_id, resource, justification, approved_by, created_at, expires_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&e.id)
    .bind(&e.rule_id)
    .bind(&e.identity_id)
    .bind(&e.resource)
    .bind(&e.justification)
    .bind(&e.approved_by)
    .bind(e.created_at.to_rfc3339())
    .bind(e.expires_at.to_rfc3339())
    .execute(conn)
    .await
    .map_err(db_error("insert sod exception"))?;
    Ok(())
}

/// Identities with at least two active assignments, after `after` in id order: the only ones
/// that can be in conflict, walked a page at a time by the violations report.
pub async fn multi_holders(conn: &mut AnyConnection, after: &str, limit: i64, now: Timestamp) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar(
        "select identity_id from assignments where revoked_at is null and (expires_at is null or expires_at > $1) \
         and identity_id > $2 group by identity_id having count(distinct role_id) > 1 order by identity_id limit $3",
    )
    .bind(now.to_rfc3339())
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error("identities holding several roles"))
}
