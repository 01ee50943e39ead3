use super::{db_error, ts, unique_or, vocab};
use crate::domain::role::{Role, RoleDefinition, RoleStatus, Sensitivity};
use crate::domain::Timestamp;
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct RoleRow {
    id: String,
    slug: String,
    display_name: String,
    description: String,
    sensitivity: String,
    status: String,
    current_version: i64,
    created_at: String,
    updated_at: String,
}

impl RoleRow {
    fn into_role(self) -> Result<Role, AppError> {
        Ok(Role {
            id: self.id,
            slug: self.slug,
            display_name: self.display_name,
            description: self.description,
            sensitivity: vocab(&self.sensitivity, Sensitivity::parse)?,
            status: vocab(&self.status, RoleStatus::parse)?,
            current_version: self.current_version,
            created_at: ts(&self.created_at)?,
            updated_at: ts(&self.updated_at)?,
        })
    }
}

const SELECT: &str = "select id, slug, display_name, description, sensitivity, status, current_version, created_at, updated_at from roles";

/// Inserts a role whose first version is written right after with `insert_version`.
pub async fn insert(conn: &mut AnyConnection, role: &Role) -> Result<(), AppError> {
    sqlx::query(
        "insert into roles (id, slug, display_name, description, sensitivity, status, current_version, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&role.id)
    .bind(&role.slug)
    .bind(&role.display_name)
    .bind(&role.description)
    .bind(role.sensitivity.as_str())
    .bind(role.status.as_str())
    .bind(role.current_version)
    .bind(role.created_at.to_rfc3339())
    .bind(role.updated_at.to_rfc3339())
    .execute(conn)
    .await
    .map_err(unique_or("insert role", || {
        AppError::conflict(Some("slug"), format!("A role with slug \"{}\" already exists.", role.slug))
    }))?;
    Ok(())
}

/// Appends an immutable version with its permission rows.
#[allow(clippy::too_many_arguments)]
pub async fn insert_version(
    conn: &mut AnyConnection,
    role_id: &str,
    version: i64,
    scope_id: &str,
    definition: &RoleDefinition,
    author: &str,
    change_request_id: Option<&str>,
    at: Timestamp,
) -> Result<(), AppError> {
    let json = serde_json::to_string(definition).map_err(|e| AppError::internal("encode role definition", e))?;
    sqlx::query(
        "insert into role_versions (role_id, version, scope_id, description, definition, justification, content_hash, \
         author, change_request_id, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(role_id)
    .bind(version)
    .bind(scope_id)
    .bind(&definition.description)
    .bind(json)
    .bind(&definition.justification)
    .bind(definition.content_hash())
    .bind(author)
    .bind(change_request_id)
    .bind(at.to_rfc3339())
    .execute(&mut *conn)
    .await
    .map_err(unique_or("insert role version", || {
        AppError::conflict(None, format!("Version {version} of this role already exists."))
    }))?;
    for permission in &definition.permissions {
        sqlx::query(
            "insert into role_version_permissions (role_id, version, action, resource, action_class) values ($1, $2, $3, $4, $5)",
        )
        .bind(role_id)
        .bind(version)
        .bind(&permission.action)
        .bind(&permission.resource)
        .bind(permission.class().as_str())
        .execute(&mut *conn)
        .await
        .map_err(db_error("insert role permission"))?;
    }
    Ok(())
}

pub async fn by_slug(conn: &mut AnyConnection, slug: &str) -> Result<Option<Role>, AppError> {
    sqlx::query_as::<_, RoleRow>(&format!("{SELECT} where slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await
        .map_err(db_error("role by slug"))?
        .map(RoleRow::into_role)
        .transpose()
}

pub async fn count_active(conn: &mut AnyConnection) -> Result<i64, AppError> {
    sqlx::query_scalar("select count(*) from roles where status = 'active'")
        .fetch_one(conn)
        .await
        .map_err(db_error("count roles"))
}
