use super::{db_error, ts, ts_opt};
use crate::domain::Timestamp;
use crate::domain::assignment::Assignment;
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    id: String,
    identity_id: String,
    identity_name: String,
    role_id: String,
    role_slug: String,
    role_version: i64,
    role_current_version: i64,
    scope: String,
    granted_by: String,
    change_request_id: Option<String>,
    granted_at: String,
    expires_at: Option<String>,
    revoked_at: Option<String>,
}

impl AssignmentRow {
    fn into_assignment(self) -> Result<Assignment, AppError> {
        Ok(Assignment {
            id: self.id,
            identity_id: self.identity_id,
            identity_name: self.identity_name,
            role_id: self.role_id,
            role_slug: self.role_slug,
            role_version: self.role_version,
            role_current_version: self.role_current_version,
            scope: self.scope,
            granted_by: self.granted_by,
            change_request_id: self.change_request_id,
            granted_at: ts(&self.granted_at)?,
            expires_at: ts_opt(self.expires_at.as_deref())?,
            revoked_at: ts_opt(self.revoked_at.as_deref())?,
        })
    }
}

const SELECT: &str = "select a.id, a.identity_id, i.name as identity_name, a.role_id, r.slug as role_slug, \
    a.role_version, r.current_version as role_current_version, sc.path as scope, a.granted_by, a.change_request_id, \
    a.granted_at, a.expires_at, a.revoked_at \
    from assignments a join identities i on i.id = a.identity_id join roles r on r.id = a.role_id \
    join scopes sc on sc.id = a.scope_id";

pub struct NewAssignment<'a> {
    pub id: &'a str,
    pub identity_id: &'a str,
    pub role_id: &'a str,
    pub role_version: i64,
    pub scope_id: &'a str,
    pub granted_by: &'a str,
    pub change_request_id: Option<&'a str>,
    pub expires_at: Option<Timestamp>,
}

pub async fn insert(conn: &mut AnyConnection, new: &NewAssignment<'_>, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "insert into assignments (id, identity_id, role_id, role_version, scope_id, granted_by, change_request_id, \
         granted_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(new.id)
    .bind(new.identity_id)
    .bind(new.role_id)
    .bind(new.role_version)
    .bind(new.scope_id)
    .bind(new.granted_by)
    .bind(new.change_request_id)
    .bind(at.to_rfc3339())
    .bind(new.expires_at.map(|t| t.to_rfc3339()))
    .execute(conn)
    .await
    .map_err(db_error("insert assignment"))?;
    Ok(())
}

/// Several grants in one statement (a provisioned service's).
pub async fn insert_many(conn: &mut AnyConnection, new: &[NewAssignment<'_>], at: Timestamp) -> Result<(), AppError> {
    if new.is_empty() {
        return Ok(());
    }
    let mut sql = super::Sql::new(
        "insert into assignments (id, identity_id, role_id, role_version, scope_id, granted_by, change_request_id, granted_at, expires_at) values ",
    );
    for (i, a) in new.iter().enumerate() {
        sql.push(if i == 0 { "(" } else { ", (" });
        sql.bind(a.id.to_owned()).push(", ").bind(a.identity_id.to_owned()).push(", ").bind(a.role_id.to_owned()).push(", ").bind(a.role_version);
        sql.push(", ").bind(a.scope_id.to_owned()).push(", ").bind(a.granted_by.to_owned()).push(", ").bind(a.change_request_id.map(str::to_owned));
        sql.push(", ").bind(at.to_rfc3339()).push(", ").bind(a.expires_at.map(|t| t.to_rfc3339())).push(")");
    }
    let (text, args) = sql.into_parts(conn);
    sqlx::query_with(&text, args).execute(conn).await.map_err(db_error("insert assignments"))?;
    Ok(())
}

/// Every assignment the identity has or had, newest first.
pub async fn of_identity(conn: &mut AnyConnection, identity_id: &str) -> Result<Vec<Assignment>, AppError> {
    sqlx::query_as::<_, AssignmentRow>(&format!("{SELECT} where a.identity_id = $1 order by a.granted_at desc, a.id"))
        .bind(identity_id)
        .fetch_all(conn)
        .await
        .map_err(db_error("assignments of identity"))?
        .into_iter()
        .map(AssignmentRow::into_assignment)
        .collect()
}

/// Ends every assignment of the identity that is not revoked yet; returns how many.
pub async fn revoke_all_of_identity(conn: &mut AnyConnection, identity_id: &str, by: &str, at: Timestamp, reason: &str) -> Result<u64, AppError> {
    let done = sqlx::query(
        "update assignments set revoked_at = $2, revoked_by = $3, revoke_reason = $4 \
         where identity_id = $1 and revoked_at is null",
    )
    .bind(identity_id)
    .bind(at.to_rfc3339())
    .bind(by)
    .bind(reason)
    .execute(conn)
    .await
    .map_err(db_error("revoke assignments of identity"))?;
    Ok(done.rows_affected())
}

/// Moves every active holder of the role on an older version to `to_version`: each old
/// assignment ends ("moved to vN") and a new one starts, so the history keeps who held what
/// when. Credentials follow their assignment. Returns how many moved.
pub async fn move_holders(conn: &mut AnyConnection, role_id: &str, to_version: i64, change_request_id: &str, at: Timestamp) -> Result<u64, AppError> {
    move_holders_from(conn, role_id, None, to_version, change_request_id, at).await
}

/// As `move_holders`, limited to holders on `from_version` when given.
pub async fn move_holders_from(
    conn: &mut AnyConnection,
    role_id: &str,
    from_version: Option<i64>,
    to_version: i64,
    change_request_id: &str,
    at: Timestamp,
) -> Result<u64, AppError> {
    let old: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "select id, identity_id, scope_id, expires_at from assignments where role_id = $1 and role_version < $2 \
         and ($3 < 0 or role_version = $3) and revoked_at is null",
    )
    .bind(role_id)
    .bind(to_version)
    .bind(from_version.unwrap_or(-1))
    .fetch_all(&mut *conn)
    .await
    .map_err(db_error("holders to move"))?;
    let reason = format!("moved to v{to_version}");
    for (id, identity_id, scope_id, expires_at) in &old {
        sqlx::query("update assignments set revoked_at = $2, revoked_by = 'change request', revoke_reason = $3 where id = $1")
            .bind(id)
            .bind(at.to_rfc3339())
            .bind(&reason)
            .execute(&mut *conn)
            .await
            .map_err(db_error("end moved assignment"))?;
        let new_id = super::new_id();
        let expires_at = super::ts_opt(expires_at.as_deref())?;
        insert(
            conn,
            &NewAssignment {
                id: &new_id,
                identity_id,
                role_id,
                role_version: to_version,
                scope_id,
                granted_by: "change request",
                change_request_id: Some(change_request_id),
                expires_at,
            },
            at,
        )
        .await?;
        sqlx::query("update credentials set assignment_id = $2 where assignment_id = $1")
            .bind(id)
            .bind(&new_id)
            .execute(&mut *conn)
            .await
            .map_err(db_error("move credentials to new assignment"))?;
    }
    Ok(old.len() as u64)
}

/// Ends every active assignment of the role; returns how many.
pub async fn revoke_all_of_role(conn: &mut AnyConnection, role_id: &str, at: Timestamp, reason: &str) -> Result<u64, AppError> {
    let done =
        sqlx::query("update assignments set revoked_at = $2, revoked_by = 'change request', revoke_reason = $3 where role_id = $1 and revoked_at is null")
            .bind(role_id)
            .bind(at.to_rfc3339())
            .bind(reason)
            .execute(conn)
            .await
            .map_err(db_error("revoke assignments of role"))?;
    Ok(done.rows_affected())
}

/// One assignment with what it refers to.
pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Assignment>, AppError> {
    sqlx::query_as::<_, AssignmentRow>(&format!("{SELECT} where a.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("assignment by id"))?
        .map(AssignmentRow::into_assignment)
        .transpose()
}

pub async fn revoke(conn: &mut AnyConnection, id: &str, by: &str, at: Timestamp, reason: &str) -> Result<bool, AppError> {
    let done = sqlx::query("update assignments set revoked_at = $2, revoked_by = $3, revoke_reason = $4 where id = $1 and revoked_at is null")
        .bind(id)
        .bind(at.to_rfc3339())
        .bind(by)
        .bind(reason)
        .execute(conn)
        .await
        .map_err(db_error("revoke assignment"))?;
    Ok(done.rows_affected() == 1)
}

/// Whether the identity already holds the role on exactly this scope (active).
pub async fn holds(conn: &mut AnyConnection, identity_id: &str, role_id: &str, scope_id: &str, now: Timestamp) -> Result<bool, AppError> {
    let n: i64 = sqlx::query_scalar(
        "select count(*) from assignments where identity_id = $1 and role_id = $2 and scope_id = $3 and revoked_at is null \
         and (expires_at is null or expires_at > $4)",
    )
    .bind(identity_id)
    .bind(role_id)
    .bind(scope_id)
    .bind(now.to_rfc3339())
    .fetch_one(conn)
    .await
    .map_err(db_error("holds role"))?;
    Ok(n > 0)
}

/// The scopes of the live (unrevoked) assignments of a service's identities.
pub async fn scopes_of_service(conn: &mut AnyConnection, service_id: &str) -> Result<Vec<String>, AppError> {
    sqlx::query_scalar(
        "select distinct sc.path from assignments a join scopes sc on sc.id = a.scope_id \
         where a.revoked_at is null and a.identity_id in (select id from identities where service_id = $1) order by sc.path",
    )
    .bind(service_id)
    .fetch_all(conn)
    .await
    .map_err(db_error("scopes of service assignments"))
}

/// Ends every live assignment of the service's identities; returns what it ended.
pub async fn revoke_all_of_service(
    conn: &mut AnyConnection,
    service_id: &str,
    by: &str,
    at: Timestamp,
    reason: &str,
) -> Result<Vec<crate::domain::template::RevokedAssignment>, AppError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "update assignments set revoked_at = $2, revoked_by = $3, revoke_reason = $4 \
         where revoked_at is null and identity_id in (select id from identities where service_id = $1) \
         returning id, identity_id, role_id, role_version",
    )
    .bind(service_id)
    .bind(at.to_rfc3339())
    .bind(by)
    .bind(reason)
    .fetch_all(conn)
    .await
    .map_err(db_error("revoke assignments of service"))?;
    let mut ended: Vec<_> = rows
        .into_iter()
        .map(|(id, identity_id, role_id, role_version)| crate::domain::template::RevokedAssignment { id, identity_id, role_id, role_version })
        .collect();
    ended.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(ended)
}
