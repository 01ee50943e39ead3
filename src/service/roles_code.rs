//! Roles as code: export the catalog, plan an edited document against it, and apply the plan
//! by filing change requests (never by changing roles directly).

use super::changes::file;
use super::require;
use crate::domain::actor::{Actor, Capability};
use crate::domain::change::{ChangePayload, ChangeRequest};
use crate::domain::roles_code::{CatalogRole, Plan, PlanItem, RoleEntry, RolesDocument, plan};
use crate::error::AppError;
use crate::store::{Store, changes, roles};

/// The roles nhidb defines. Imported roles are left out: their definitions live in their source,
/// and a file could only propose changes the source would undo.
async fn own_roles(store: &Store) -> Result<Vec<(crate::domain::role::Role, crate::domain::role::RoleVersion)>, AppError> {
    let all = roles::all_with_current(&mut *store.read().await?).await?;
    Ok(all.into_iter().filter(|(role, _)| role.managed_by.is_none()).collect())
}

async fn catalog(store: &Store) -> Result<Vec<CatalogRole>, AppError> {
    Ok(own_roles(store)
        .await?
        .into_iter()
        .map(|(role, version)| CatalogRole {
            id: role.id,
            slug: role.slug,
            sensitivity: role.sensitivity,
            status: role.status,
            current_version: role.current_version,
            definition: version.definition,
        })
        .collect())
}

pub async fn export(store: &Store, actor: &Actor) -> Result<RolesDocument, AppError> {
    require(actor, Capability::ReadLedger)?;
    let all = own_roles(store).await?;
    Ok(RolesDocument {
        roles: all
            .iter()
            .map(|(role, v)| RoleEntry::from_definition(&role.slug, &role.display_name, role.sensitivity, role.status, v.version, &v.definition))
            .collect(),
    })
}

pub async fn make_plan(store: &Store, actor: &Actor, document: &RolesDocument, prune: bool) -> Result<Plan, AppError> {
    require(actor, Capability::ReadLedger)?;
    Ok(plan(&catalog(store).await?, document, prune))
}

/// Files one change request per planned change, skipping those already pending with the same
/// content. Refuses the whole document if any entry is invalid.
pub async fn apply(store: &Store, actor: &Actor, document: &RolesDocument, prune: bool, reason: &str) -> Result<Vec<ChangeRequest>, AppError> {
    require(actor, Capability::Propose)?;
    let plan = make_plan(store, actor, document, prune).await?;
    if !plan.is_valid() {
        return Err(AppError::invalid("document", format!("The file has errors; nothing was filed.\n{}", plan.render())));
    }
    let reason = if reason.trim().is_empty() { "Roles as code: apply" } else { reason.trim() };
    let pending: Vec<ChangePayload> = {
        let mut conn = store.read().await?;
        let page = changes::list(
            &mut conn,
            changes::ChangeView::All,
            Some(crate::domain::change::ChangeState::Pending),
            &crate::domain::page::PageRequest { after: None, limit: Some(200) },
            crate::domain::Timestamp::now(),
        )
        .await?;
        page.items.into_iter().map(|r| r.payload).collect()
    };
    // A token limited to some scopes files nothing unless every change lies inside them.
    for item in &plan.items {
        match item {
            PlanItem::Create { definition, .. } => super::require_within(actor, &definition.scope)?,
            PlanItem::NewVersion { role_id, definition, .. } => {
                super::require_within(actor, &definition.scope)?;
                super::changes::require_role_within(&mut *store.read().await?, actor, role_id).await?;
            }
            PlanItem::Retire { role_id, .. } => super::changes::require_role_within(&mut *store.read().await?, actor, role_id).await?,
            PlanItem::Unmanaged { .. } | PlanItem::Invalid { .. } | PlanItem::Ignored { .. } => {}
        }
    }
    let mut filed = Vec::new();
    for item in plan.items {
        let (payload, subject, subject_id, sensitivity) = match item {
            PlanItem::Create { slug, display_name, sensitivity, definition, .. } => {
                (ChangePayload::RoleCreate { slug: slug.clone(), display_name, sensitivity, definition }, slug, None, sensitivity)
            }
            PlanItem::NewVersion { role_id, slug, from_version, definition, .. } => {
                let sensitivity = sensitivity_of(store, &role_id).await?;
                (
                    ChangePayload::RoleVersion { role_id: role_id.clone(), base_version: from_version, definition, move_holders: false },
                    slug,
                    Some(role_id),
                    sensitivity,
                )
            }
            PlanItem::Retire { role_id, slug } => {
                let sensitivity = sensitivity_of(store, &role_id).await?;
                (ChangePayload::RoleRetire { role_id: role_id.clone() }, slug, Some(role_id), sensitivity)
            }
            PlanItem::Unmanaged { .. } | PlanItem::Invalid { .. } | PlanItem::Ignored { .. } => continue,
        };
        if pending.contains(&payload) {
            continue;
        }
        filed.push(file(store, actor, payload, &subject, subject_id.as_deref(), sensitivity, reason).await?);
    }
    Ok(filed)
}

/// The role's sensitivity; a role that vanished between plan and apply gets the stricter review.
async fn sensitivity_of(store: &Store, role_id: &str) -> Result<crate::domain::role::Sensitivity, AppError> {
    Ok(roles::by_id(&mut *store.read().await?, role_id).await?.map(|r| r.sensitivity).unwrap_or(crate::domain::role::Sensitivity::Privileged))
}
