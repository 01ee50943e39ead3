use super::{Sql, contains_pattern, count, db_error, new_id, split_page, ts, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::page::{Page, PageRequest};
use crate::domain::service::{Service, ServiceDraft, ServiceFilter, ServiceStatus};
use crate::error::AppError;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: String,
    name: String,
    display_name: String,
    description: String,
    owner_id: String,
    owner_name: String,
    status: String,
    created_at: String,
    updated_at: String,
    identity_count: i64,
}

impl ServiceRow {
    fn into_service(self) -> Result<Service, AppError> {
        Ok(Service {
            id: self.id,
            name: self.name,
            display_name: self.display_name,
            description: self.description,
            owner_id: self.owner_id,
            owner_name: self.owner_name,
            status: vocab(&self.status, ServiceStatus::parse)?,
            created_at: ts(&self.created_at)?,
            updated_at: ts(&self.updated_at)?,
            identity_count: self.identity_count,
        })
    }
}

const SELECT: &str = "select s.id, s.name, s.display_name, s.description, s.owner_id, o.name as owner_name, \
    s.status, s.created_at, s.updated_at, \
    s.identity_count \
    from services s join owners o on o.id = s.owner_id";

fn name_taken(name: &str) -> AppError {
    AppError::conflict(Some("name"), format!("A service named \"{name}\" already exists."))
}

/// Where a provisioned service came from: its template (and version) and environment.
pub struct Provenance<'a> {
    pub template_id: &'a str,
    pub template_version: i64,
    pub env: &'a str,
}

/// A new service; one provisioned from a template is written with its provenance in the same
/// statement.
pub async fn insert(conn: &mut AnyConnection, draft: &ServiceDraft, from: Option<&Provenance<'_>>, at: Timestamp) -> Result<String, AppError> {
    let id = new_id();
    sqlx::query(
        "insert into services (id, name, display_name, description, owner_id, status, created_at, updated_at, template_id, template_version, env) \
         values ($1, $2, $3, $4, $5, 'active', $6, $6, $7, $8, $9)",
    )
    .bind(&id)
    .bind(draft.name.as_str())
    .bind(&draft.display_name)
    .bind(&draft.description)
    .bind(&draft.owner_id)
    .bind(at.to_rfc3339())
    .bind(from.map(|f| f.template_id))
    .bind(from.map(|f| f.template_version))
    .bind(from.map(|f| f.env))
    .execute(conn)
    .await
    .map_err(unique_or("insert service", || name_taken(draft.name.as_str())))?;
    Ok(id)
}

pub async fn update(conn: &mut AnyConnection, id: &str, draft: &ServiceDraft, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update services set name = $2, display_name = $3, description = $4, owner_id = $5, updated_at = $6 where id = $1")
        .bind(id)
        .bind(draft.name.as_str())
        .bind(&draft.display_name)
        .bind(&draft.description)
        .bind(&draft.owner_id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(unique_or("update service", || name_taken(draft.name.as_str())))?;
    Ok(())
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Service>, AppError> {
    sqlx::query_as::<_, ServiceRow>(&format!("{SELECT} where s.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("service by id"))?
        .map(ServiceRow::into_service)
        .transpose()
}

fn push_filter(sql: &mut Sql, filter: &ServiceFilter) {
    sql.push(" where 1 = 1");
    if let Some(status) = filter.status {
        sql.push(" and s.status = ").bind(status.as_str());
    }
    if let Some(owner) = &filter.owner_id {
        sql.push(" and s.owner_id = ").bind(owner.clone());
    }
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        sql.push(" and (lower(s.name) like ").bind(pattern.clone()).push(" escape '\\'");
        sql.push(" or lower(s.display_name) like ").bind(pattern).push(" escape '\\')");
    }
}

/// Services matching `filter`, by name, a page at a time.
pub async fn list(conn: &mut AnyConnection, filter: &ServiceFilter, page: &PageRequest) -> Result<Page<Service>, AppError> {
    let size = page.size();
    let mut sql = Sql::new(SELECT);
    push_filter(&mut sql, filter);
    if let Some(after) = &page.after {
        sql.push(" and (s.name, s.id) > (select name, id from services where id = ").bind(after.clone()).push(")");
    }
    sql.push(" order by s.name, s.id limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, ServiceRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("list services"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| r.id.clone());

    let mut count_sql = Sql::new("select count(*) from services s");
    push_filter(&mut count_sql, filter);
    let total = count(conn, count_sql, "count services").await?;
    let items = rows.into_iter().map(ServiceRow::into_service).collect::<Result<_, _>>()?;
    Ok(Page { items, next_cursor, total })
}

/// (id, name) of active services, for pickers.
pub async fn options(conn: &mut AnyConnection, limit: i64) -> Result<Vec<(String, String)>, AppError> {
    sqlx::query_as("select id, name from services where status = 'active' order by name limit $1")
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("service options"))
}

pub async fn set_status(conn: &mut AnyConnection, id: &str, status: ServiceStatus, at: Timestamp) -> Result<(), AppError> {
    sqlx::query(
        "update services set status = $2, updated_at = $3, \
         decommissioned_at = case when $2 = 'decommissioned' then $3 else decommissioned_at end where id = $1",
    )
    .bind(id)
    .bind(status.as_str())
    .bind(at.to_rfc3339())
    .execute(conn)
    .await
    .map_err(db_error("set service status"))?;
    Ok(())
}

/// The environment a service was provisioned into (`prod`), if it came from a template.
pub async fn env(conn: &mut AnyConnection, id: &str) -> Result<Option<String>, AppError> {
    let env: Option<Option<String>> =
        sqlx::query_scalar("select env from services where id = $1").bind(id).fetch_optional(conn).await.map_err(db_error("service env"))?;
    Ok(env.flatten().filter(|e| !e.is_empty()))
}

/// Marks an active service decommissioned. False when it was not active: a concurrent
/// decommission got there first (PostgreSQL makes this one wait for it) or it was done before.
pub async fn claim_decommission(conn: &mut AnyConnection, id: &str, at: Timestamp) -> Result<bool, AppError> {
    let done = sqlx::query("update services set status = 'decommissioned', updated_at = $2, decommissioned_at = $2 where id = $1 and status = 'active'")
        .bind(id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("decommission service"))?;
    Ok(done.rows_affected() == 1)
}
