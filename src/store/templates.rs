use super::{db_error, ts, unique_or};
use crate::domain::Timestamp;
use crate::domain::template::{Template, TemplateDefinition, TemplateVersion};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct TemplateRow {
    id: String,
    slug: String,
    display_name: String,
    current_version: i64,
    definition: String,
    created_at: String,
    updated_at: String,
    services: i64,
    change_request_id: Option<String>,
}

fn definition(text: &str) -> Result<TemplateDefinition, AppError> {
    serde_json::from_str(text).map_err(|e| AppError::internal("stored template definition", e))
}

impl TemplateRow {
    fn into_template(self) -> Result<Template, AppError> {
        Ok(Template {
            definition: definition(&self.definition)?,
            id: self.id,
            slug: self.slug,
            display_name: self.display_name,
            current_version: self.current_version,
            created_at: ts(&self.created_at)?,
            updated_at: ts(&self.updated_at)?,
            services: self.services,
            approved_by: self.change_request_id,
        })
    }
}

/// The template columns, with `services` as the expression given: `SELECT` counts the services
/// made from the template; `SELECT_UNCOUNTED` does not, because that count grows with every
/// service a pipeline provisions, and provisioning itself does not need it.
macro_rules! select_with_services {
    ($services:literal) => {
        concat!(
            "select t.id, t.slug, t.display_name, t.current_version, v.definition, t.created_at, t.updated_at, ",
            $services,
            " as services, v.change_request_id \
             from templates t join template_versions v on v.template_id = t.id and v.version = t.current_version"
        )
    };
}

const SELECT: &str = select_with_services!("(select count(*) from services s where s.template_id = t.id)");
const SELECT_UNCOUNTED: &str = select_with_services!("cast(0 as bigint)");

pub async fn all(conn: &mut AnyConnection) -> Result<Vec<Template>, AppError> {
    sqlx::query_as::<_, TemplateRow>(&format!("{SELECT} order by t.slug"))
        .fetch_all(conn)
        .await
        .map_err(db_error("list templates"))?
        .into_iter()
        .map(TemplateRow::into_template)
        .collect()
}

/// A template by id or by slug (pipelines name templates by slug).
pub async fn by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<Template>, AppError> {
    by_key_from(conn, SELECT, key).await
}

/// A template by id or slug, to apply it: its `services` are not counted (always 0).
pub async fn to_apply(conn: &mut AnyConnection, key: &str) -> Result<Option<Template>, AppError> {
    by_key_from(conn, SELECT_UNCOUNTED, key).await
}

async fn by_key_from(conn: &mut AnyConnection, select: &str, key: &str) -> Result<Option<Template>, AppError> {
    sqlx::query_as::<_, TemplateRow>(&format!("{select} where t.id = $1 or t.slug = $1"))
        .bind(key)
        .fetch_optional(conn)
        .await
        .map_err(db_error("template by key"))?
        .map(TemplateRow::into_template)
        .transpose()
}

pub async fn versions(conn: &mut AnyConnection, template_id: &str) -> Result<Vec<TemplateVersion>, AppError> {
    let rows: Vec<(i64, String, String, Option<String>, String)> =
        sqlx::query_as("select version, definition, author, change_request_id, created_at from template_versions where template_id = $1 order by version desc")
            .bind(template_id)
            .fetch_all(conn)
            .await
            .map_err(db_error("template versions"))?;
    rows.into_iter()
        .map(|(version, text, author, change_request_id, created_at)| {
            Ok(TemplateVersion { version, definition: definition(&text)?, author, change_request_id, created_at: ts(&created_at)? })
        })
        .collect()
}

pub struct NewVersion<'a> {
    pub template_id: &'a str,
    pub version: i64,
    pub definition: &'a TemplateDefinition,
    pub author: &'a str,
    pub change_request_id: Option<&'a str>,
}

pub async fn insert(conn: &mut AnyConnection, id: &str, slug: &str, display_name: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("insert into templates (id, slug, display_name, current_version, created_at, updated_at) values ($1, $2, $3, 1, $4, $4)")
        .bind(id)
        .bind(slug)
        .bind(display_name)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(unique_or("insert template", || AppError::conflict(Some("slug"), format!("A template with slug \"{slug}\" already exists."))))?;
    Ok(())
}

/// Appends a version and makes it current.
pub async fn insert_version(conn: &mut AnyConnection, new: &NewVersion<'_>, at: Timestamp) -> Result<(), AppError> {
    let text = serde_json::to_string(new.definition).map_err(|e| AppError::internal("encode template definition", e))?;
    sqlx::query("insert into template_versions (template_id, version, definition, author, change_request_id, created_at) values ($1, $2, $3, $4, $5, $6)")
        .bind(new.template_id)
        .bind(new.version)
        .bind(text)
        .bind(new.author)
        .bind(new.change_request_id)
        .bind(at.to_rfc3339())
        .execute(&mut *conn)
        .await
        .map_err(db_error("insert template version"))?;
    sqlx::query("update templates set current_version = $2, updated_at = $3 where id = $1")
        .bind(new.template_id)
        .bind(new.version)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("set template version"))?;
    Ok(())
}

/// The stored answer to an earlier provisioning request: (request hash, response JSON).
pub struct ProvisionRecord {
    pub request_hash: String,
    pub response: String,
}

pub async fn provision_by_key(conn: &mut AnyConnection, key: &str) -> Result<Option<ProvisionRecord>, AppError> {
    provision_where(conn, "idempotency_key", key).await
}

pub async fn provision_by_service(conn: &mut AnyConnection, service_name: &str) -> Result<Option<ProvisionRecord>, AppError> {
    provision_where(conn, "service_name", service_name).await
}

async fn provision_where(conn: &mut AnyConnection, column: &'static str, value: &str) -> Result<Option<ProvisionRecord>, AppError> {
    let row: Option<(String, String)> = sqlx::query_as(&format!("select request_hash, response from provisions where {column} = $1"))
        .bind(value)
        .fetch_optional(conn)
        .await
        .map_err(db_error("provision record"))?;
    Ok(row.map(|(request_hash, response)| ProvisionRecord { request_hash, response }))
}

pub struct NewProvision<'a> {
    pub service_name: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub request_hash: &'a str,
    pub service_id: &'a str,
    pub response: &'a str,
}

/// Records a provisioning run. A concurrent identical run loses here (or on the service name)
/// and reads this record after retrying.
pub async fn record_provision(conn: &mut AnyConnection, new: &NewProvision<'_>, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("insert into provisions (service_name, idempotency_key, request_hash, service_id, response, created_at) values ($1, $2, $3, $4, $5, $6)")
        .bind(new.service_name)
        .bind(new.idempotency_key)
        .bind(new.request_hash)
        .bind(new.service_id)
        .bind(new.response)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(unique_or("record provision", || AppError::conflict(None, "This service was provisioned by a concurrent request.")))?;
    Ok(())
}

pub async fn receipt(conn: &mut AnyConnection, service_id: &str) -> Result<Option<String>, AppError> {
    sqlx::query_scalar("select receipt from decommissions where service_id = $1")
        .bind(service_id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("decommission receipt"))
}

pub async fn record_receipt(conn: &mut AnyConnection, service_id: &str, receipt: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("insert into decommissions (service_id, receipt, created_at) values ($1, $2, $3)")
        .bind(service_id)
        .bind(receipt)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("record decommission"))?;
    Ok(())
}
