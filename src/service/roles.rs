//! The role catalog and role pages (reads). Changes to roles go through `changes`.

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::{CatalogSort, RoleDetail, RoleDiff, RoleFilter, RoleSummary, diff};
use crate::error::AppError;
use crate::store::{Store, changes, roles};

pub async fn catalog(store: &Store, actor: &Actor, filter: &RoleFilter, sort: CatalogSort, page: &PageRequest) -> Result<Page<RoleSummary>, AppError> {
    require(actor, Capability::ReadLedger)?;
    roles::catalog(&mut *store.read().await?, filter, sort, page, Timestamp::now()).await
}

/// A role by id or slug.
pub async fn detail(store: &Store, actor: &Actor, id_or_slug: &str) -> Result<RoleDetail, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let role = match roles::by_id(&mut conn, id_or_slug).await? {
        Some(role) => role,
        None => roles::by_slug(&mut conn, id_or_slug).await?.ok_or_else(|| AppError::not_found("Role", id_or_slug))?,
    };
    let now = Timestamp::now();
    Ok(RoleDetail {
        versions: roles::versions(&mut conn, &role.id).await?,
        holders: roles::live_holders_by_version(&mut conn, &role.id).await?,
        some_holders: roles::some_holders(&mut conn, &role.id, now, 25).await?,
        requests: changes::about(&mut conn, &role.id, 20).await?,
        role,
    })
}

/// The difference between two versions of a role.
pub async fn version_diff(store: &Store, actor: &Actor, role_id: &str, from: i64, to: i64) -> Result<RoleDiff, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let missing = |v: i64| AppError::invalid("version", format!("The role has no version {v}."));
    let a = roles::version(&mut conn, role_id, from).await?.ok_or_else(|| missing(from))?;
    let b = roles::version(&mut conn, role_id, to).await?.ok_or_else(|| missing(to))?;
    Ok(diff(Some(&a.definition), &b.definition))
}

/// Active roles to pick from, for a picker filtered as someone types: the slug (what the forms
/// take) and how it reads. At most `PICKER_SIZE`: a catalog of ten thousand roles is searched,
/// never sent to the browser whole.
pub async fn choices(store: &Store, actor: &Actor, text: &str) -> Result<Vec<crate::domain::page::Choice>, AppError> {
    require(actor, Capability::ReadLedger)?;
    // No slug is this long: a longer text is a mistake (or a probe), not a search to run.
    if text.chars().count() > 200 {
        return Err(AppError::invalid("text", "Search for a role with at most 200 characters of its name."));
    }
    Ok(roles::matching(&mut *store.read().await?, text, PICKER_SIZE)
        .await?
        .into_iter()
        .map(|(slug, version, scope)| crate::domain::page::Choice { label: format!("{slug} (v{version}, {scope})"), id: slug })
        .collect())
}

/// The slugs of roles by id: (id, slug), for pages that name the roles a rule pairs.
pub async fn slugs(store: &Store, actor: &Actor, ids: &[String]) -> Result<Vec<(String, String)>, AppError> {
    require(actor, Capability::ReadLedger)?;
    roles::slugs(&mut *store.read().await?, ids).await
}

/// How many roles a picker offers at once.
pub const PICKER_SIZE: i64 = 20;
