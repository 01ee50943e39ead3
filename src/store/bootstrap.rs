use super::{db_error, ts};
use crate::domain::Timestamp;
use crate::error::AppError;
use sqlx::AnyConnection;

/// Replaces any earlier bootstrap token: only the newest printed URL works.
pub async fn replace(conn: &mut AnyConnection, token_hash: &str, at: Timestamp, expires_at: Timestamp) -> Result<(), AppError> {
    sqlx::query("delete from bootstrap_tokens where used_at is null").execute(&mut *conn).await.map_err(db_error("clear bootstrap tokens"))?;
    sqlx::query("insert into bootstrap_tokens (token_hash, created_at, expires_at) values ($1, $2, $3)")
        .bind(token_hash)
        .bind(at.to_rfc3339())
        .bind(expires_at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("insert bootstrap token"))?;
    Ok(())
}

/// The expiry of an unused bootstrap token with this hash.
pub async fn unused_expiry(conn: &mut AnyConnection, token_hash: &str) -> Result<Option<Timestamp>, AppError> {
    let expiry: Option<String> = sqlx::query_scalar("select expires_at from bootstrap_tokens where token_hash = $1 and used_at is null")
        .bind(token_hash)
        .fetch_optional(conn)
        .await
        .map_err(db_error("bootstrap token"))?;
    expiry.as_deref().map(ts).transpose()
}

pub async fn mark_used(conn: &mut AnyConnection, token_hash: &str, at: Timestamp) -> Result<bool, AppError> {
    let done = sqlx::query("update bootstrap_tokens set used_at = $2 where token_hash = $1 and used_at is null")
        .bind(token_hash)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("use bootstrap token"))?;
    Ok(done.rows_affected() == 1)
}
