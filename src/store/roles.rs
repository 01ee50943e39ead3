use super::{Sql, below_pattern, contains_pattern, count, db_error, split_page, ts, unique_or, vocab};
use crate::domain::Timestamp;
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::{CatalogSort, Role, RoleDefinition, RoleFilter, RoleStatus, RoleSummary, RoleVersion, Sensitivity, VersionHolders};
use crate::domain::source::ManagedBy;
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
    source_kind: Option<String>,
    source_name: Option<String>,
    source_ref: Option<String>,
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
            managed_by: ManagedBy::from_columns(self.source_kind.as_deref(), self.source_name, self.source_ref),
        })
    }
}

/// The source columns of a role (`roles` as `r`), for `RoleRow`.
const SOURCE_COLUMNS: &str = "(select src.kind from sources src where src.id = r.source_id) as source_kind, \
    (select src.name from sources src where src.id = r.source_id) as source_name, r.source_ref";

const SELECT: &str = "select r.id, r.slug, r.display_name, r.description, r.sensitivity, r.status, r.current_version, r.created_at, r.updated_at, \
    (select src.kind from sources src where src.id = r.source_id) as source_kind, \
    (select src.name from sources src where src.id = r.source_id) as source_name, r.source_ref from roles r";

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
    .map_err(unique_or("insert role", || AppError::conflict(Some("slug"), format!("A role with slug \"{}\" already exists.", role.slug))))?;
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
    .map_err(unique_or("insert role version", || AppError::conflict(None, format!("Version {version} of this role already exists."))))?;
    for permission in &definition.permissions {
        sqlx::query("insert into role_version_permissions (role_id, version, action, resource, action_class) values ($1, $2, $3, $4, $5)")
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
    sqlx::query_as::<_, RoleRow>(&format!("{SELECT} where r.slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await
        .map_err(db_error("role by slug"))?
        .map(RoleRow::into_role)
        .transpose()
}

/// The roles of `slugs` that exist, in one statement.
pub async fn by_slugs(conn: &mut AnyConnection, slugs: &[String]) -> Result<Vec<Role>, AppError> {
    if slugs.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!("{SELECT} where r.slug in "));
    sql.bind_rows(slugs);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with::<_, RoleRow, _>(&text, args).fetch_all(conn).await.map_err(db_error("roles by slug"))?.into_iter().map(RoleRow::into_role).collect()
}

pub async fn by_id(conn: &mut AnyConnection, id: &str) -> Result<Option<Role>, AppError> {
    sqlx::query_as::<_, RoleRow>(&format!("{SELECT} where r.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
        .map_err(db_error("role by id"))?
        .map(RoleRow::into_role)
        .transpose()
}

#[derive(sqlx::FromRow)]
struct VersionRow {
    role_id: String,
    version: i64,
    definition: String,
    content_hash: String,
    author: String,
    change_request_id: Option<String>,
    created_at: String,
}

impl VersionRow {
    fn into_version(self) -> Result<RoleVersion, AppError> {
        Ok(RoleVersion {
            role_id: self.role_id,
            version: self.version,
            definition: serde_json::from_str(&self.definition).map_err(|e| AppError::internal("stored role definition", e))?,
            content_hash: self.content_hash,
            author: self.author,
            change_request_id: self.change_request_id,
            created_at: ts(&self.created_at)?,
        })
    }
}

const VERSION_SELECT: &str = "select role_id, version, definition, content_hash, author, change_request_id, created_at from role_versions";

/// Every version of a role, newest first.
pub async fn versions(conn: &mut AnyConnection, role_id: &str) -> Result<Vec<RoleVersion>, AppError> {
    sqlx::query_as::<_, VersionRow>(&format!("{VERSION_SELECT} where role_id = $1 order by version desc"))
        .bind(role_id)
        .fetch_all(conn)
        .await
        .map_err(db_error("role versions"))?
        .into_iter()
        .map(VersionRow::into_version)
        .collect()
}

pub async fn version(conn: &mut AnyConnection, role_id: &str, version: i64) -> Result<Option<RoleVersion>, AppError> {
    sqlx::query_as::<_, VersionRow>(&format!("{VERSION_SELECT} where role_id = $1 and version = $2"))
        .bind(role_id)
        .bind(version)
        .fetch_optional(conn)
        .await
        .map_err(db_error("role version"))?
        .map(VersionRow::into_version)
        .transpose()
}

/// Points the role at a newly applied version.
pub async fn set_current_version(conn: &mut AnyConnection, role_id: &str, version: i64, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update roles set current_version = $2, updated_at = $3 where id = $1")
        .bind(role_id)
        .bind(version)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("set role current version"))?;
    Ok(())
}

pub async fn set_status(conn: &mut AnyConnection, role_id: &str, status: RoleStatus, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update roles set status = $2, updated_at = $3 where id = $1")
        .bind(role_id)
        .bind(status.as_str())
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("set role status"))?;
    Ok(())
}

/// Active (unrevoked, unexpired) holders of a role per pinned version, newest version first.
pub async fn holders_by_version(conn: &mut AnyConnection, role_id: &str, now: Timestamp) -> Result<Vec<VersionHolders>, AppError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select role_version, count(*) from assignments where role_id = $1 and revoked_at is null \
         and (expires_at is null or expires_at > $2) group by role_version order by role_version desc",
    )
    .bind(role_id)
    .bind(now.to_rfc3339())
    .fetch_all(conn)
    .await
    .map_err(db_error("holders by version"))?;
    Ok(rows.into_iter().map(|(version, holders)| VersionHolders { version, holders }).collect())
}

/// Live holders per version from the counters triggers keep (migration 0013): grants neither
/// revoked nor recorded as expired, as the catalog's holder counts. A role's page reads these
/// instead of grouping every grant of the role per view; figures that must judge expiry to the
/// second (blast radius, holder moves) use `holders_by_version`.
pub async fn live_holders_by_version(conn: &mut AnyConnection, role_id: &str) -> Result<Vec<VersionHolders>, AppError> {
    let rows: Vec<(i64, i64)> = sqlx::query_as("select version, n from role_version_counts where role_id = $1 and n > 0 order by version desc")
        .bind(role_id)
        .fetch_all(conn)
        .await
        .map_err(db_error("live holders by version"))?;
    Ok(rows.into_iter().map(|(version, holders)| VersionHolders { version, holders }).collect())
}

#[derive(sqlx::FromRow)]
struct CatalogRow {
    id: String,
    slug: String,
    display_name: String,
    description: String,
    sensitivity: String,
    status: String,
    current_version: i64,
    created_at: String,
    updated_at: String,
    scope: String,
    holders: i64,
    outdated_holders: i64,
    source_kind: Option<String>,
    source_name: Option<String>,
    source_ref: Option<String>,
}

fn push_catalog_filter(sql: &mut Sql, filter: &RoleFilter) {
    sql.push(" where 1 = 1");
    if let Some(text) = &filter.text {
        let pattern = contains_pattern(text);
        sql.push(" and (lower(r.slug) like ").bind(pattern.clone()).push(" escape '\\'");
        sql.push(" or lower(r.display_name) like ").bind(pattern).push(" escape '\\')");
    }
    if let Some(prefix) = &filter.scope_prefix {
        sql.push(" and (sc.path = ").bind(prefix.to_string()).push(" or sc.path like ").bind(below_pattern(prefix.as_str()));
        sql.push(" escape '\\')");
    }
    if let Some(sensitivity) = filter.sensitivity {
        sql.push(" and r.sensitivity = ").bind(sensitivity.as_str());
    }
    if let Some(status) = filter.status {
        sql.push(" and r.status = ").bind(status.as_str());
    }
    if filter.action.is_some() || filter.resource.is_some() {
        sql.push(" and exists (select 1 from role_version_permissions p where p.role_id = r.id and p.version = r.current_version");
        if let Some(action) = &filter.action {
            sql.push(" and p.action = ").bind(action.clone());
        }
        if let Some(resource) = &filter.resource {
            sql.push(" and lower(p.resource) like ").bind(contains_pattern(resource)).push(" escape '\\'");
        }
        sql.push(")");
    }
}

const CATALOG_FROM: &str = " from roles r join role_versions v on v.role_id = r.id and v.version = r.current_version \
    join scopes sc on sc.id = v.scope_id";

/// The role catalog: each role with its current scope and active holder count. The cursor
/// carries the sort key and the id (`key~id`), so every sort order pages by keyset.
pub async fn catalog(
    conn: &mut AnyConnection,
    filter: &RoleFilter,
    sort: CatalogSort,
    page: &PageRequest,
    now: Timestamp,
) -> Result<Page<RoleSummary>, AppError> {
    let size = page.size();
    let mut query = Sql::new(
        "select * from (select r.id, r.slug, r.display_name, r.description, r.sensitivity, r.status, \
        r.current_version, r.created_at, r.updated_at, sc.path as scope, ",
    );
    query.push(SOURCE_COLUMNS).push(
        ", (select count(*) from assignments a where a.role_id = r.id and a.revoked_at is null \
        and (a.expires_at is null or a.expires_at > ",
    );
    query.bind(now.to_rfc3339()).push(")) as holders, ");
    query
        .push(
            "(select count(*) from assignments a where a.role_id = r.id and a.revoked_at is null and a.role_version < r.current_version \
        and (a.expires_at is null or a.expires_at > ",
        )
        .bind(now.to_rfc3339())
        .push(")) as outdated_holders")
        .push(CATALOG_FROM);
    push_catalog_filter(&mut query, filter);
    query.push(") c");
    let (key, descending) = match sort {
        CatalogSort::Slug => ("c.slug", false),
        CatalogSort::Holders => ("c.holders", true),
        CatalogSort::Changed => ("c.updated_at", true),
    };
    if let Some((value, id)) = page.after.as_deref().and_then(|a| a.rsplit_once('~')) {
        query.push(&format!(" where ({key}, c.id) {} (", if descending { "<" } else { ">" }));
        match sort {
            CatalogSort::Holders => query.bind(value.parse::<i64>().unwrap_or(0)),
            _ => query.bind(value.to_owned()),
        };
        query.push(", ").bind(id.to_owned()).push(")");
    }
    let direction = if descending { "desc" } else { "asc" };
    query.push(&format!(" order by {key} {direction}, c.id {direction} limit ")).bind(i64::from(size) + 1);
    let (text, args) = query.into_parts(conn);
    let rows = sqlx::query_as_with::<_, CatalogRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("role catalog"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| {
        let key = match sort {
            CatalogSort::Slug => r.slug.clone(),
            CatalogSort::Holders => r.holders.to_string(),
            CatalogSort::Changed => r.updated_at.clone(),
        };
        format!("{key}~{}", r.id)
    });

    let mut count_sql = Sql::new("select count(*)");
    count_sql.push(CATALOG_FROM);
    push_catalog_filter(&mut count_sql, filter);
    let total = count(conn, count_sql, "count roles").await?;
    let items = rows
        .into_iter()
        .map(|r| {
            Ok(RoleSummary {
                last_change: ts(&r.updated_at)?,
                scope: r.scope,
                holders: r.holders,
                outdated_holders: r.outdated_holders,
                role: RoleRow {
                    id: r.id,
                    slug: r.slug,
                    display_name: r.display_name,
                    description: r.description,
                    sensitivity: r.sensitivity,
                    status: r.status,
                    current_version: r.current_version,
                    created_at: r.created_at,
                    updated_at: r.updated_at,
                    source_kind: r.source_kind,
                    source_name: r.source_name,
                    source_ref: r.source_ref,
                }
                .into_role()?,
            })
        })
        .collect::<Result<_, AppError>>()?;
    Ok(Page { items, next_cursor, total })
}

/// The first holders of a role (active grants), by identity name, for the role page.
pub async fn some_holders(conn: &mut AnyConnection, role_id: &str, now: Timestamp, limit: i64) -> Result<Vec<(String, String, i64)>, AppError> {
    // The first holders in identity order (a walk of the role's holder index that stops after
    // `limit`), shown by name. Ordering every holder by name first sorted ten thousand rows for
    // the hot role on each view of its page; the full list is the holders page.
    sqlx::query_as(
        "select f.id, i.name, f.role_version from (select a.identity_id as id, a.role_version from assignments a \
         where a.role_id = $1 and a.revoked_at is null and (a.expires_at is null or a.expires_at > $2) \
         order by a.identity_id limit $3) f join identities i on i.id = f.id order by i.name, f.id",
    )
    .bind(role_id)
    .bind(now.to_rfc3339())
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error("some holders"))
}

/// Active roles whose slug contains `text` (any case), those starting with it first, at most
/// `limit`: (slug, current version, scope path). One statement over the roles alone, for a picker
/// that must answer while someone types, whatever the size of the catalog.
pub async fn matching(conn: &mut AnyConnection, text: &str, limit: i64) -> Result<Vec<(String, i64, String)>, AppError> {
    let text = text.trim().to_lowercase();
    let mut sql = Sql::new(
        "select r.slug, r.current_version, sc.path from roles r \
         join role_versions v on v.role_id = r.id and v.version = r.current_version join scopes sc on sc.id = v.scope_id \
         where r.status = 'active' and lower(r.slug) like ",
    );
    sql.bind(contains_pattern(&text)).push(" escape '\\' order by case when lower(r.slug) like ");
    sql.bind(format!("{}%", super::escape_like(&text))).push(" escape '\\' then 0 else 1 end, r.slug limit ").bind(limit);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with::<_, (String, i64, String), _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("matching roles"))
}

/// The slugs of the roles `ids` names, those that exist: (id, slug).
pub async fn slugs(conn: &mut AnyConnection, ids: &[String]) -> Result<Vec<(String, String)>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("select id, slug from roles where id in ");
    sql.bind_list(ids);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with::<_, (String, String), _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("role slugs"))
}

/// Every role with its current version, by slug: the whole catalog as code sees it.
pub async fn all_with_current(conn: &mut AnyConnection) -> Result<Vec<(Role, RoleVersion)>, AppError> {
    let roles = sqlx::query_as::<_, RoleRow>(&format!("{SELECT} order by r.slug"))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_error("all roles"))?
        .into_iter()
        .map(RoleRow::into_role)
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(roles.len());
    for role in roles {
        let current = version(conn, &role.id, role.current_version).await?.ok_or_else(|| AppError::internal("role without current version", &role.id))?;
        out.push((role, current));
    }
    Ok(out)
}

/// The roles with the most live holders: (role id, slug, holders), most first.
pub async fn top_by_holders(conn: &mut AnyConnection, limit: i64) -> Result<Vec<(String, String, i64)>, AppError> {
    // From the counter the triggers keep (migration 0012): a grouping of every grant took
    // seconds at five million.
    sqlx::query_as("select id, slug, holders_count from roles where holders_count > 0 order by holders_count desc, slug limit $1")
        .bind(limit)
        .fetch_all(conn)
        .await
        .map_err(db_error("top roles by holders"))
}
