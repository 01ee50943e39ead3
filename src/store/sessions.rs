use super::{db_error, ts, ts_opt, vocab};
use crate::domain::Timestamp;
use crate::domain::operator::{Operator, OperatorStatus, parse_roles};
use crate::error::AppError;
use sqlx::AnyConnection;

pub struct NewSession<'a> {
    pub id_hash: &'a str,
    pub operator_id: &'a str,
    pub csrf_token: &'a str,
    pub expires_at: Timestamp,
    pub client_addr: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

pub async fn insert(conn: &mut AnyConnection, new: &NewSession<'_>, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "insert into sessions (id_hash, operator_id, csrf_token, created_at, last_seen_at, expires_at, client_addr, user_agent) \
         values ($1, $2, $3, $4, $4, $5, $6, $7)",
    )
    .bind(new.id_hash)
    .bind(new.operator_id)
    .bind(new.csrf_token)
    .bind(at.to_rfc3339())
    .bind(new.expires_at.to_rfc3339())
    .bind(new.client_addr)
    .bind(new.user_agent)
    .execute(conn)
    .await
    .map_err(db_error("insert session"))?;
    Ok(())
}

/// A live session row joined with its operator.
pub struct SessionRecord {
    pub id_hash: String,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub operator: Operator,
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_hash: String,
    csrf_token: String,
    created_at: String,
    last_seen_at: String,
    expires_at: String,
    ended_at: Option<String>,
    client_addr: Option<String>,
    user_agent: Option<String>,
    operator_id: String,
    name: String,
    email: String,
    roles: String,
    status: String,
    operator_created_at: String,
    last_sign_in_at: Option<String>,
}

impl SessionRow {
    fn into_record(self) -> Result<SessionRecord, AppError> {
        Ok(SessionRecord {
            id_hash: self.id_hash,
            csrf_token: self.csrf_token,
            created_at: ts(&self.created_at)?,
            last_seen_at: ts(&self.last_seen_at)?,
            expires_at: ts(&self.expires_at)?,
            ended_at: ts_opt(self.ended_at.as_deref())?,
            client_addr: self.client_addr,
            user_agent: self.user_agent,
            operator: Operator {
                id: self.operator_id,
                name: self.name,
                email: self.email,
                roles: parse_roles(&[self.roles]).map_err(|e| AppError::internal("stored roles", e))?,
                status: vocab(&self.status, OperatorStatus::parse)?,
                created_at: ts(&self.operator_created_at)?,
                last_sign_in_at: ts_opt(self.last_sign_in_at.as_deref())?,
            },
        })
    }
}

const SELECT: &str = "select s.id_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.ended_at, \
    s.client_addr, s.user_agent, o.id as operator_id, o.name, o.email, o.roles, o.status, \
    o.created_at as operator_created_at, o.last_sign_in_at \
    from sessions s join operators o on o.id = s.operator_id";

pub async fn by_hash(conn: &mut AnyConnection, id_hash: &str) -> Result<Option<SessionRecord>, AppError> {
    sqlx::query_as::<_, SessionRow>(&format!("{SELECT} where s.id_hash = $1"))
        .bind(id_hash)
        .fetch_optional(conn)
        .await
        .map_err(db_error("session by hash"))?
        .map(SessionRow::into_record)
        .transpose()
}

/// The operator's sessions that have not ended, newest first.
pub async fn open_of_operator(conn: &mut AnyConnection, operator_id: &str, now: Timestamp) -> Result<Vec<SessionRecord>, AppError> {
    sqlx::query_as::<_, SessionRow>(&format!(
        "{SELECT} where s.operator_id = $1 and s.ended_at is null and s.expires_at > $2 order by s.created_at desc limit 100"
    ))
    .bind(operator_id)
    .bind(now.to_rfc3339())
    .fetch_all(conn)
    .await
    .map_err(db_error("sessions of operator"))?
    .into_iter()
    .map(SessionRow::into_record)
    .collect()
}

pub async fn touch(conn: &mut AnyConnection, id_hash: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update sessions set last_seen_at = $2 where id_hash = $1")
        .bind(id_hash)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("touch session"))?;
    Ok(())
}

pub async fn end(conn: &mut AnyConnection, id_hash: &str, at: Timestamp, reason: &str) -> Result<(), AppError> {
    sqlx::query("update sessions set ended_at = $2, end_reason = $3 where id_hash = $1 and ended_at is null")
        .bind(id_hash)
        .bind(at.to_rfc3339())
        .bind(reason)
        .execute(conn)
        .await
        .map_err(db_error("end session"))?;
    Ok(())
}

/// Ends every open session of the operator; returns how many.
pub async fn end_all_of_operator(conn: &mut AnyConnection, operator_id: &str, at: Timestamp, reason: &str) -> Result<u64, AppError> {
    end_all_of_operator_except(conn, operator_id, None, at, reason).await
}

/// Ends every open session of the operator but `keep` (the one asking); returns how many.
pub async fn end_all_of_operator_except(conn: &mut AnyConnection, operator_id: &str, keep: Option<&str>, at: Timestamp, reason: &str) -> Result<u64, AppError> {
    let done = sqlx::query("update sessions set ended_at = $2, end_reason = $3 where operator_id = $1 and ended_at is null and id_hash <> $4")
        .bind(operator_id)
        .bind(at.to_rfc3339())
        .bind(reason)
        .bind(keep.unwrap_or(""))
        .execute(conn)
        .await
        .map_err(db_error("end sessions of operator"))?;
    Ok(done.rows_affected())
}
