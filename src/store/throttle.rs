use super::{db_error, ts, ts_opt};
use crate::domain::Timestamp;
use crate::error::AppError;
use sqlx::AnyConnection;

/// Failures counted for a key: (failures in the current window, window start, locked until).
pub async fn get(conn: &mut AnyConnection, key: &str) -> Result<Option<(i64, Timestamp, Option<Timestamp>)>, AppError> {
    let row: Option<(i64, String, Option<String>)> = sqlx::query_as("select failures, window_started_at, locked_until from signin_throttle where key = $1")
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(db_error("throttle state"))?;
    row.map(|(failures, start, locked)| Ok((failures, ts(&start)?, ts_opt(locked.as_deref())?))).transpose()
}

pub async fn put(conn: &mut AnyConnection, key: &str, failures: i64, window_started_at: Timestamp, locked_until: Option<Timestamp>) -> Result<(), AppError> {
    sqlx::query(
        "insert into signin_throttle (key, failures, window_started_at, locked_until) values ($1, $2, $3, $4) \
         on conflict (key) do update set failures = excluded.failures, window_started_at = excluded.window_started_at, \
         locked_until = excluded.locked_until",
    )
    .bind(key)
    .bind(failures)
    .bind(window_started_at.to_rfc3339())
    .bind(locked_until.map(|t| t.to_rfc3339()))
    .execute(conn)
    .await
    .map_err(db_error("record throttle state"))?;
    Ok(())
}

pub async fn clear(conn: &mut AnyConnection, key: &str) -> Result<(), AppError> {
    sqlx::query("delete from signin_throttle where key = $1").bind(key).execute(conn).await.map_err(db_error("clear throttle state"))?;
    Ok(())
}
