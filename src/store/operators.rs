use super::{db_error, ts, ts_opt, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::operator::{Operator, OperatorDraft, OperatorStatus, parse_roles, roles_to_text};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct OperatorRow {
    id: String,
    name: String,
    email: String,
    roles: String,
    status: String,
    created_at: String,
    last_sign_in_at: Option<String>,
}

impl OperatorRow {
    fn into_operator(self) -> Result<Operator, AppError> {
        Ok(Operator {
            id: self.id,
            name: self.name,
            email: self.email,
            roles: parse_roles(&[self.roles]).map_err(|e| AppError::internal("stored roles", e))?,
            status: vocab(&self.status, OperatorStatus::parse)?,
            created_at: ts(&self.created_at)?,
            last_sign_in_at: ts_opt(self.last_sign_in_at.as_deref())?,
        })
    }
}

const SELECT: &str = "select id, name, email, roles, status, created_at, last_sign_in_at from operators";

pub async fn insert(conn: &mut AnyConnection, id: &str, draft: &OperatorDraft, password_hash: Option<&str>, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "insert into operators (id, name, email, password_hash, roles, status, created_at, updated_at, password_changed_at) \
         values ($1, $2, $3, $4, $5, 'active', $6, $6, $7)",
    )
    .bind(id)
    .bind(&draft.name)
    .bind(&draft.email)
    .bind(password_hash)
    .bind(roles_to_text(&draft.roles))
    .bind(at.to_rfc3339())
    .bind(password_hash.map(|_| at.to_rfc3339()))
    .execute(conn)
    .await
    .map_err(unique_or("insert operator", || AppError::conflict(Some("email"), format!("An operator with e-mail {} already exists.", draft.email))))?;
    Ok(())
}

pub async fn update(conn: &mut AnyConnection, id: &str, draft: &OperatorDraft, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update operators set name = $2, email = $3, roles = $4, updated_at = $5 where id = $1")
        .bind(id)
        .bind(&draft.name)
        .bind(&draft.email)
        .bind(roles_to_text(&draft.roles))
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(unique_or("update operator", || AppError::conflict(Some("email"), format!("An operator with e-mail {} already exists.", draft.email))))?;
    Ok(())
}

pub async fn set_status(conn: &mut AnyConnection, id: &str, status: OperatorStatus, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update operators set status = $2, updated_at = $3 where id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("set operator status"))?;
    Ok(())
}

pub async fn set_password_hash(conn: &mut AnyConnection, id: &str, hash: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update operators set password_hash = $2, password_changed_at = $3, updated_at = $3 where id = $1")
        .bind(id)
        .bind(hash)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("set operator password"))?;
    Ok(())
}

pub async fn record_sign_in(conn: &mut AnyConnection, id: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update operators set last_sign_in_at = $2 where id = $1")
        .bind(id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("record sign-in"))?;
    Ok(())
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Operator>, AppError> {
    sqlx::query_as::<_, OperatorRow>(&format!("{SELECT} where id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("operator by id"))?
        .map(OperatorRow::into_operator)
        .transpose()
}

pub async fn by_email(conn: &mut AnyConnection, email: &str) -> Result<Option<Operator>, AppError> {
    sqlx::query_as::<_, OperatorRow>(&format!("{SELECT} where email = $1"))
        .bind(email)
        .fetch_optional(conn)
        .await
        .map_err(db_error("operator by email"))?
        .map(OperatorRow::into_operator)
        .transpose()
}

/// The stored password hash, for verification only.
pub async fn password_hash(conn: &mut AnyConnection, id: &str) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("select password_hash from operators where id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("operator password hash"))
        .map(Option::flatten)
}

/// All operators by name. Console users number in the hundreds, not millions.
pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Operator>, AppError> {
    sqlx::query_as::<_, OperatorRow>(&format!("{SELECT} order by name, id limit 2000"))
        .fetch_all(conn)
        .await
        .map_err(db_error("list operators"))?
        .into_iter()
        .map(OperatorRow::into_operator)
        .collect()
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64, AppError> {
    sqlx::query_scalar("select count(*) from operators").fetch_one(conn).await.map_err(db_error("count operators"))
}
