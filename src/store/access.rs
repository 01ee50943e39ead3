//! Who holds what: the discoverability queries. Each is shaped to use one index range (see
//! migration 0004) so it stays fast at millions of assignments.

use super::{Identities, Sql, below_pattern, db_error, split_page, ts_opt};
use crate::domain::Timestamp;
use crate::domain::discovery::{Capable, Holder, HolderFilter, parse_holder_cursor};
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::Permission;
use crate::domain::scope::ScopePath;
use crate::domain::sod::Holding;
use crate::error::AppError;
use sqlx::AnyConnection;

/// Active means not revoked and not expired at `$n`; written once so every query agrees.
fn active(sql: &mut Sql, alias: &str, now: Timestamp) {
    sql.push(&format!(" and {alias}.revoked_at is null and ({alias}.expires_at is null or {alias}.expires_at > ")).bind(now.to_rfc3339()).push(")");
}

/// The identity's active assignments, each with the permissions of its pinned version.
pub async fn holdings(conn: &mut AnyConnection, identity_id: &str, now: Timestamp) -> Result<Vec<Holding>, AppError> {
    Ok(holdings_of_many(conn, Identities::Listed(&[identity_id.to_owned()]), now).await?.pop().map(|(_, h)| h).unwrap_or_default())
}

/// `holdings` of several identities in one query (identities holding nothing are left out),
/// in identity order: walking the whole ledger for separation-of-duty findings reads a batch
/// at a time instead of one identity at a time.
pub async fn holdings_of_many(conn: &mut AnyConnection, of: Identities<'_>, now: Timestamp) -> Result<Vec<(String, Vec<Holding>)>, AppError> {
    read_holdings(conn, of, now, true).await
}

/// The active grants of the identities `of`, as holdings without their permissions (see
/// `permissions_of_versions`), in identity order; identities holding nothing are left out.
/// Joining each grant to its permissions triples the rows and made reading the whole ledger's
/// holdings five times slower, while a million identities hold a few thousand role versions.
pub async fn grants_of_many(conn: &mut AnyConnection, of: Identities<'_>, now: Timestamp) -> Result<Vec<(String, Vec<Holding>)>, AppError> {
    read_holdings(conn, of, now, false).await
}

async fn read_holdings(conn: &mut AnyConnection, of: Identities<'_>, now: Timestamp, permissions: bool) -> Result<Vec<(String, Vec<Holding>)>, AppError> {
    if of.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(if permissions {
        "select a.identity_id, a.id, a.role_id, r.slug, a.role_version, sc.path, a.expires_at, p.action, p.resource \
         from assignments a join roles r on r.id = a.role_id join scopes sc on sc.id = a.scope_id \
         left join role_version_permissions p on p.role_id = a.role_id and p.version = a.role_version where "
    } else {
        "select a.identity_id, a.id, a.role_id, r.slug, a.role_version, sc.path, a.expires_at, cast(null as text), cast(null as text) \
         from assignments a join roles r on r.id = a.role_id join scopes sc on sc.id = a.scope_id where "
    });
    sql.identities("a.identity_id", of);
    active(&mut sql, "a", now);
    sql.push(if permissions { " order by a.identity_id, a.id, p.action, p.resource" } else { " order by a.identity_id, a.id" });
    let (text, args) = sql.into_parts(conn);
    type Row = (String, String, String, String, i64, String, Option<String>, Option<String>, Option<String>);
    let rows: Vec<Row> = sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("holdings"))?;
    let mut out: Vec<(String, Vec<Holding>)> = Vec::new();
    for (identity_id, id, role_id, slug, version, scope, expires_at, action, resource) in rows {
        if out.last().is_none_or(|(of, _)| *of != identity_id) {
            out.push((identity_id, Vec::new()));
        }
        let Some((_, holdings)) = out.last_mut() else { continue };
        if holdings.last().is_none_or(|h| h.assignment_id.as_deref() != Some(id.as_str())) {
            holdings.push(Holding {
                assignment_id: Some(id),
                role_id,
                role_slug: slug,
                version,
                scope: ScopePath::parse(&scope).map_err(|e| AppError::internal("stored scope", e))?,
                permissions: Vec::new(),
                expires_at: ts_opt(expires_at.as_deref())?,
            });
        }
        if let (Some(action), Some(resource), Some(last)) = (action, resource, holdings.last_mut()) {
            last.permissions.push(Permission { action, resource });
        }
    }
    Ok(out)
}

/// The permissions of each of `versions` (role id, version), in one statement.
pub async fn permissions_of_versions(conn: &mut AnyConnection, versions: &[(String, i64)]) -> Result<Vec<((String, i64), Permission)>, AppError> {
    let mut out = Vec::new();
    for chunk in versions.chunks(400) {
        let mut sql = Sql::new("select role_id, version, action, resource from role_version_permissions where ");
        for (i, (role_id, version)) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(role_id = " } else { " or (role_id = " }).bind(role_id.clone()).push(" and version = ").bind(*version).push(")");
        }
        let (text, args) = sql.into_parts(conn);
        let rows: Vec<(String, i64, String, String)> = sqlx::query_as_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("version permissions"))?;
        out.extend(rows.into_iter().map(|(role_id, version, action, resource)| ((role_id, version), Permission { action, resource })));
    }
    Ok(out)
}

/// Permissions of role versions read before, for the store's life. A version never changes
/// once written, so there is nothing to invalidate, on this node or any other; provisioning
/// settles its new identities' separation of duties from it without reading their grants back.
#[derive(Default)]
pub struct VersionCache(std::sync::Mutex<std::collections::HashMap<(String, i64), Vec<Permission>>>);

/// Versions kept at most (a ledger's templates use a few dozen); past it the cache starts again.
const VERSIONS_KEPT: usize = 10_000;

impl VersionCache {
    /// The permissions of each of `versions`, sorted, reading only those not read before.
    pub async fn permissions(&self, conn: &mut AnyConnection, versions: &[(String, i64)]) -> Result<Vec<Vec<Permission>>, AppError> {
        let missing: Vec<(String, i64)> = {
            let known = self.0.lock().map_err(|_| AppError::internal("version cache", "poisoned"))?;
            let mut missing: Vec<_> = versions.iter().filter(|key| !known.contains_key(*key)).cloned().collect();
            missing.sort();
            missing.dedup();
            missing
        };
        let mut read: std::collections::HashMap<(String, i64), Vec<Permission>> = missing.iter().map(|key| (key.clone(), Vec::new())).collect();
        if !missing.is_empty() {
            for (key, permission) in permissions_of_versions(conn, &missing).await? {
                read.entry(key).or_default().push(permission);
            }
        }
        let mut known = self.0.lock().map_err(|_| AppError::internal("version cache", "poisoned"))?;
        if known.len() + read.len() > VERSIONS_KEPT {
            known.clear();
        }
        for (key, mut permissions) in read {
            permissions.sort();
            known.insert(key, permissions);
        }
        Ok(versions.iter().map(|key| known.get(key).cloned().unwrap_or_default()).collect())
    }
}

pub async fn version_permissions(conn: &mut AnyConnection, role_id: &str, version: i64) -> Result<Vec<Permission>, AppError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select action, resource from role_version_permissions where role_id = $1 and version = $2 order by action, resource")
            .bind(role_id)
            .bind(version)
            .fetch_all(conn)
            .await
            .map_err(db_error("version permissions"))?;
    Ok(rows.into_iter().map(|(action, resource)| Permission { action, resource }).collect())
}

#[derive(sqlx::FromRow)]
struct HolderRow {
    id: String,
    identity_id: String,
    name: String,
    role_version: i64,
    path: String,
    granted_at: String,
    expires_at: Option<String>,
}

impl From<HolderRow> for Holder {
    fn from(r: HolderRow) -> Self {
        Holder {
            assignment_id: r.id,
            identity_id: r.identity_id,
            identity_name: r.name,
            version: r.role_version,
            scope: r.path,
            granted_at: r.granted_at,
            expires_at: r.expires_at,
        }
    }
}

const HOLDER_SELECT: &str = "select a.id, a.identity_id, i.name, a.role_version, sc.path, a.granted_at, a.expires_at \
    from assignments a join identities i on i.id = a.identity_id join scopes sc on sc.id = a.scope_id where a.role_id = ";

/// Every unrevoked grant of a role (expired ones too: expiry is applied when reading), the
/// content of a holder snapshot.
pub async fn load_holders(conn: &mut AnyConnection, role_id: &str) -> Result<Vec<Holder>, AppError> {
    let rows = sqlx::query_as::<_, HolderRow>(&format!("{HOLDER_SELECT}$1 and a.revoked_at is null order by a.identity_id, a.id"))
        .bind(role_id)
        .fetch_all(conn)
        .await
        .map_err(db_error("load holders"))?;
    Ok(rows.into_iter().map(Holder::from).collect())
}

/// Resumes after a holder cursor (identity id, then assignment id).
fn after_holder(sql: &mut Sql, cursor: &str) {
    match parse_holder_cursor(cursor) {
        (identity, Some(assignment)) => {
            sql.push(" and (a.identity_id > ").bind(identity.to_owned());
            sql.push(" or (a.identity_id = ").bind(identity.to_owned()).push(" and a.id > ").bind(assignment.to_owned()).push("))");
        }
        (identity, None) => {
            sql.push(" and a.identity_id > ").bind(identity.to_owned());
        }
    }
}

/// Active holders of a role in identity order, a page at a time, straight from SQL: for roles
/// too big for the holder cache. Optionally only those pinned to `version` and granted on
/// `scope` or below it.
pub async fn holders(
    conn: &mut AnyConnection,
    role_id: &str,
    filter: HolderFilter<'_>,
    page: &PageRequest,
    size: u32,
    now: Timestamp,
) -> Result<(Vec<Holder>, Option<String>), AppError> {
    let mut sql = Sql::new(HOLDER_SELECT);
    sql.bind(role_id.to_owned());
    active(&mut sql, "a", now);
    if let Some(version) = filter.version {
        sql.push(" and a.role_version = ").bind(version);
    }
    if let Some(scope) = filter.scope {
        sql.push(" and (sc.path = ").bind(scope.to_owned()).push(" or sc.path like ").bind(below_pattern(scope)).push(" escape '\\')");
    }
    if let Some(after) = &page.after {
        after_holder(&mut sql, after);
    }
    sql.push(" order by a.identity_id, a.id limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, HolderRow, _>(&text, args).fetch_all(conn).await.map_err(db_error("holders"))?;
    let (rows, next) = split_page(rows, size, |r| format!("{} {}", r.identity_id, r.id));
    Ok((rows.into_iter().map(Holder::from).collect(), next))
}

/// Who held the role at `at`: granted before it, and neither revoked nor expired by then.
pub async fn holders_at(conn: &mut AnyConnection, role_id: &str, at: Timestamp, page: &PageRequest) -> Result<Page<Holder>, AppError> {
    let size = page.size();
    let at_text = at.to_rfc3339();
    let condition = |sql: &mut Sql| {
        sql.push(" and a.granted_at <= ").bind(at_text.clone());
        sql.push(" and (a.revoked_at is null or a.revoked_at > ").bind(at_text.clone()).push(")");
        sql.push(" and (a.expires_at is null or a.expires_at > ").bind(at_text.clone()).push(")");
    };
    let mut sql = Sql::new(HOLDER_SELECT);
    sql.bind(role_id.to_owned());
    condition(&mut sql);
    if let Some(after) = &page.after {
        after_holder(&mut sql, after);
    }
    sql.push(" order by a.identity_id, a.id limit ").bind(i64::from(size) + 1);
    let (text, args) = sql.into_parts(conn);
    let rows = sqlx::query_as_with::<_, HolderRow, _>(&text, args).fetch_all(&mut *conn).await.map_err(db_error("holders at"))?;
    let (rows, next_cursor) = split_page(rows, size, |r| format!("{} {}", r.identity_id, r.id));
    let mut count = Sql::new("select count(*) from assignments a where a.role_id = ");
    count.bind(role_id.to_owned());
    condition(&mut count);
    let total = super::count(conn, count, "count holders at").await?;
    Ok(Page { items: rows.into_iter().map(Holder::from).collect(), next_cursor, total })
}

/// Identities whose active grants allow `action` (or any action of `class`) on `resource`
/// (when given) anywhere in `scope`: grants on the scope itself or on any scope above it.
#[allow(clippy::too_many_arguments)]
pub async fn who_can(
    conn: &mut AnyConnection,
    action: Option<&str>,
    class: Option<&str>,
    resource: Option<&str>,
    scope: &ScopePath,
    page: &PageRequest,
    now: Timestamp,
) -> Result<Page<Capable>, AppError> {
    let size = page.size();
    let mut ancestors = vec![scope.to_string()];
    let mut current = scope.parent();
    while let Some(parent) = current {
        current = parent.parent();
        ancestors.push(parent.to_string());
    }
    // The scope ids first: with them as literals the planner reads the covering index
    // `assignments_scope_grants` per scope instead of guessing how many grants a path matches.
    let mut ids_of = Sql::new("select id from scopes where path in ");
    ids_of.bind_list(&ancestors);
    let (text, args) = ids_of.into_parts(conn);
    let scope_ids: Vec<String> = sqlx::query_scalar_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("who can scopes"))?;
    if scope_ids.is_empty() {
        return Ok(Page { items: vec![], next_cursor: None, total: 0 });
    }
    let from = |sql: &mut Sql| {
        sql.push(
            " from assignments a join role_version_permissions p on p.role_id = a.role_id and p.version = a.role_version \
                  where a.scope_id in ",
        );
        sql.bind_list(&scope_ids);
        active(sql, "a", now);
        if let Some(action) = action {
            sql.push(" and p.action = ").bind(action.to_owned());
        }
        if let Some(class) = class {
            sql.push(" and p.action_class = ").bind(class.to_owned());
        }
        if let Some(resource) = resource {
            // `db:*` in a role covers `db:ledger`: match the exact resource or its type's wildcard.
            let wildcard = resource.split_once(':').map(|(ty, _)| format!("{ty}:*")).unwrap_or_default();
            sql.push(" and p.resource in (").bind(resource.to_owned()).push(", ").bind(wildcard).push(")");
        }
    };
    // The distinct identities, counted and paged in one pass over the scopes' grants (read from
    // the covering index); then one allowing grant for each identity on the page. The set is
    // materialised on purpose: given `order by ... limit`, PostgreSQL otherwise walks every
    // grant in identity order hoping to meet the scope's early, which at a million
    // identities is ten times slower.
    let mut ids_sql = Sql::new("with g as materialized (select distinct a.identity_id as id");
    from(&mut ids_sql);
    ids_sql.push("), p as (select id from g");
    if let Some(after) = &page.after {
        ids_sql.push(" where id > ").bind(after.clone());
    }
    ids_sql.push(" order by id limit ").bind(i64::from(size) + 1);
    ids_sql.push(") select t.total, p.id from (select count(*) as total from g) t left join p on true order by p.id");
    let (text, args) = ids_sql.into_parts(conn);
    let rows: Vec<(i64, Option<String>)> = sqlx::query_as_with(&text, args).fetch_all(&mut *conn).await.map_err(db_error("who can"))?;
    let total = rows.first().map(|r| r.0).unwrap_or_default();
    let (ids, next_cursor) = split_page(rows.into_iter().filter_map(|r| r.1).collect::<Vec<_>>(), size, Clone::clone);
    let mut items: Vec<Capable> = Vec::new();
    if !ids.is_empty() {
        let mut detail = Sql::new("select a.identity_id, i.name, r.slug, a.role_version, sc.path, p.action, p.resource");
        from(&mut detail);
        detail.push(" and a.identity_id in (");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                detail.push(", ");
            }
            detail.bind(id.clone());
        }
        detail.push(")");
        let (text, args) = detail.into_parts(conn);
        let text = text.replace(
            " from assignments a join role_version_permissions p",
            " from assignments a join identities i on i.id = a.identity_id join roles r on r.id = a.role_id \
             join scopes sc on sc.id = a.scope_id join role_version_permissions p",
        );
        type Row = (String, String, String, i64, String, String, String);
        let rows: Vec<Row> =
            sqlx::query_as_with(&format!("{text} order by a.identity_id, r.slug"), args).fetch_all(&mut *conn).await.map_err(db_error("who can details"))?;
        for (identity_id, identity_name, role_slug, version, scope, action, resource) in rows {
            if items.last().is_none_or(|c| c.identity_id != identity_id) {
                items.push(Capable { identity_id, identity_name, role_slug, version, scope, action, resource });
            }
        }
    }
    Ok(Page { items, next_cursor, total })
}

/// Holders of `role_id` (active, on a version below `below_version` when given) who also hold
/// another role whose pinned version touches one of `resources`, or one of `other_roles`: the
/// only identities a change of this role can bring into a separation-of-duty conflict.
pub async fn conflict_candidates(
    conn: &mut AnyConnection,
    role_id: &str,
    resources: &[String],
    other_roles: &[String],
    now: Timestamp,
) -> Result<Vec<String>, AppError> {
    if resources.is_empty() && other_roles.is_empty() {
        return Ok(vec![]);
    }
    let mut sql = Sql::new(
        "select distinct a.identity_id from assignments a join assignments b on b.identity_id = a.identity_id and b.role_id <> a.role_id where a.role_id = ",
    );
    sql.bind(role_id.to_owned());
    active(&mut sql, "a", now);
    active(&mut sql, "b", now);
    sql.push(" and (1 = 0");
    if !resources.is_empty() {
        sql.push(" or exists (select 1 from role_version_permissions p where p.role_id = b.role_id and p.version = b.role_version and p.resource in (");
        for (i, r) in resources.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(r.clone());
        }
        sql.push("))");
    }
    if !other_roles.is_empty() {
        sql.push(" or b.role_id in (");
        for (i, r) in other_roles.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind(r.clone());
        }
        sql.push(")");
    }
    sql.push(") order by a.identity_id limit 100000");
    let (text, args) = sql.into_parts(conn);
    sqlx::query_scalar_with(&text, args).fetch_all(conn).await.map_err(db_error("conflict candidates"))
}

/// Assignments whose expiry passed and that were not yet recorded as expired.
pub async fn newly_expired(conn: &mut AnyConnection, now: Timestamp, limit: i64) -> Result<Vec<(String, String, String)>, AppError> {
    sqlx::query_as(
        "select a.id, a.identity_id, r.slug from assignments a join roles r on r.id = a.role_id \
         where a.revoked_at is null and a.expires_at is not null and a.expires_at <= $1 and a.expiry_recorded_at is null \
         order by a.expires_at limit $2",
    )
    .bind(now.to_rfc3339())
    .bind(limit)
    .fetch_all(conn)
    .await
    .map_err(db_error("newly expired assignments"))
}

pub async fn record_expiry(conn: &mut AnyConnection, assignment_id: &str, at: Timestamp) -> Result<(), AppError> {
    sqlx::query("update assignments set expiry_recorded_at = $2 where id = $1")
        .bind(assignment_id)
        .bind(at.to_rfc3339())
        .execute(conn)
        .await
        .map_err(db_error("record assignment expiry"))?;
    Ok(())
}

/// Identities with an active grant on `scope` or below it, in id order: the rows of a scope's matrix.
pub async fn identities_on_scope(conn: &mut AnyConnection, scope: &ScopePath, limit: i64, now: Timestamp) -> Result<Vec<(String, String)>, AppError> {
    let mut sql = Sql::new(
        "select distinct a.identity_id, i.name from assignments a join scopes sc on sc.id = a.scope_id \
        join identities i on i.id = a.identity_id where i.status = 'active' and (sc.path = ",
    );
    sql.bind(scope.to_string()).push(" or sc.path like ").bind(below_pattern(scope.as_str())).push(" escape '\\')");
    active(&mut sql, "a", now);
    sql.push(" order by i.name, a.identity_id limit ").bind(limit);
    let (text, args) = sql.into_parts(conn);
    sqlx::query_as_with(&text, args).fetch_all(conn).await.map_err(db_error("identities on scope"))
}

/// The conditions of an identity's live conditional grants (imported from a source that has
/// them, as a GCP binding's condition), by assignment id.
pub async fn grant_conditions(conn: &mut AnyConnection, identity_id: &str) -> Result<Vec<(String, String)>, AppError> {
    sqlx::query_as("select id, source_condition from assignments where identity_id = $1 and revoked_at is null and source_condition is not null")
        .bind(identity_id)
        .fetch_all(conn)
        .await
        .map_err(super::db_error("grant conditions"))
}
