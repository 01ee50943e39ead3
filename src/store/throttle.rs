use super::{db_error, ts, ts_opt};
use crate::domain::Timestamp;
use crate::domain::access::ThrottleState;
use crate::error::AppError;
use sqlx::AnyConnection;

/// The failures counted for `key`, locking its row for the rest of the transaction (created
/// empty if missing): the no-op update takes PostgreSQL's row lock, so concurrent attempts on the
/// same key queue here instead of all reading the same count (SQLite's writer lock does the same).
/// Callers lock keys in one fixed order, so two attempts never wait on each other in a circle.
pub async fn lock(conn: &mut AnyConnection, key: &str, now: Timestamp) -> Result<ThrottleState, AppError> {
    let (failures, start, locked): (i64, String, Option<String>) = sqlx::query_as(
        "insert into signin_throttle (key, failures, window_started_at, locked_until) values ($1, 0, $2, null) \
         on conflict (key) do update set failures = signin_throttle.failures \
         returning failures, window_started_at, locked_until",
    )
    .bind(key)
    .bind(now.to_rfc3339())
    .fetch_one(conn)
    .await
    .map_err(db_error("lock throttle state"))?;
    Ok(ThrottleState { failures, window_started_at: ts(&start)?, locked_until: ts_opt(locked.as_deref())? })
}

pub async fn put(conn: &mut AnyConnection, key: &str, state: &ThrottleState) -> Result<(), AppError> {
    sqlx::query("update signin_throttle set failures = $2, window_started_at = $3, locked_until = $4 where key = $1")
        .bind(key)
        .bind(state.failures)
        .bind(state.window_started_at.to_rfc3339())
        .bind(state.locked_until.map(|t| t.to_rfc3339()))
        .execute(conn)
        .await
        .map_err(db_error("record throttle state"))?;
    Ok(())
}

pub async fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), AppError> {
    sqlx::query("delete from signin_throttle where key = $1").bind(key).execute(conn).await.map_err(db_error("clear throttle state"))?;
    Ok(())
}

/// Forgets keys whose window started before `before` and that are not locked any more.
pub async fn purge(conn: &mut AnyConnection, before: Timestamp, now: Timestamp) -> Result<u64, AppError> {
    let done = sqlx::query("delete from signin_throttle where window_started_at < $1 and (locked_until is null or locked_until < $2)")
        .bind(before.to_rfc3339())
        .bind(now.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("purge throttle state"))?;
    Ok(done.rows_affected())
}
