use super::{db_error, ts, ts_opt};
use crate::domain::Timestamp;
use crate::domain::token::{PipelineToken, limits_to_text, parse_limits, parse_scopes, scopes_to_text};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    prefix: String,
    scopes: String,
    owner_id: String,
    owner_name: String,
    created_by: String,
    created_at: String,
    expires_at: String,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
    limits: String,
}

impl TokenRow {
    fn into_token(self) -> Result<PipelineToken, AppError> {
        Ok(PipelineToken {
            id: self.id,
            name: self.name,
            prefix: self.prefix,
            scopes: parse_scopes(&[self.scopes]).map_err(|e| AppError::internal("stored scopes", e))?,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            created_by: self.created_by,
            created_at: ts(&self.created_at)?,
            expires_at: ts(&self.expires_at)?,
            last_used_at: ts_opt(self.last_used_at.as_deref())?,
            revoked_at: ts_opt(self.revoked_at.as_deref())?,
            limits: parse_limits(&self.limits).map_err(|e| AppError::internal("stored token limits", e))?,
        })
    }
}

const SELECT: &str = "select t.id, t.name, t.prefix, t.scopes, t.owner_id, o.name as owner_name, t.created_by, \
    t.created_at, t.expires_at, t.last_used_at, t.revoked_at, t.limits from pipeline_tokens t join owners o on o.id = t.owner_id";

pub async fn insert(conn: &mut AnyConnection, token: &PipelineToken, secret_hash: &str) -> Result<(), AppError> {
    sqlx::query(
        "insert into pipeline_tokens (id, name, secret_hash, prefix, scopes, owner_id, created_by, created_at, expires_at, limits) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&token.id)
    .bind(&token.name)
    .bind(secret_hash)
    .bind(&token.prefix)
    .bind(scopes_to_text(&token.scopes))
    .bind(&token.owner_id)
    .bind(&token.created_by)
    .bind(token.created_at.to_rfc3339())
    .bind(token.expires_at.to_rfc3339())
    .bind(limits_to_text(&token.limits))
    .execute(conn)
    .await
    .map_err(db_error("insert token"))?;
    Ok(())
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<PipelineToken>, AppError> {
    sqlx::query_as::<_, TokenRow>(&format!("{SELECT} where t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("token by id"))?
        .map(TokenRow::into_token)
        .transpose()
}

pub async fn by_secret_hash(conn: &mut AnyConnection, secret_hash: &str) -> Result<Option<PipelineToken>, AppError> {
    sqlx::query_as::<_, TokenRow>(&format!("{SELECT} where t.secret_hash = $1"))
        .bind(secret_hash)
        .fetch_optional(conn)
        .await
        .map_err(db_error("token by secret"))?
        .map(TokenRow::into_token)
        .transpose()
}

/// Newest first; tokens are administered by people, so hundreds at most.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<PipelineToken>, AppError> {
    sqlx::query_as::<_, TokenRow>(&format!("{SELECT} order by t.created_at desc, t.id limit 2000"))
        .fetch_all(conn)
        .await
        .map_err(db_error("list tokens"))?
        .into_iter()
        .map(TokenRow::into_token)
        .collect()
}

pub async fn revoke(conn: &mut AnyConnection, id: &str, by: &str, at: Timestamp) -> Result<bool, AppError> {
    let done = sqlx::query("update pipeline_tokens set revoked_at = $2, revoked_by = $3 where id = $1 and revoked_at is null")
        .bind(id)
        .bind(at.to_rfc3339())
        .bind(by)
        .execute(conn)
        .await
        .map_err(db_error("revoke token"))?;
    Ok(done.rows_affected() == 1)
}

pub async fn touch(conn: &mut AnyConnection, id: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update pipeline_tokens set last_used_at = $2 where id = $1")
        .bind(id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("touch token"))?;
    Ok(())
}
