use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::{AuditEntry, changed_fields};
use crate::domain::identity::IdentityFilter;
use crate::domain::owner::OwnerStatus;
use crate::domain::page::{Choice, Page, PageRequest};
use crate::domain::service::{Service, ServiceDetail, ServiceDraft, ServiceFilter, ServiceInput, ServiceStatus};
use crate::error::AppError;
use crate::store::{Store, audit, identities, owners, services};
use serde_json::json;
use sqlx::AnyConnection;

/// Pickers list at most this many entries; beyond that people search instead.
const PICKER_LIMIT: i64 = 1000;

pub async fn list(store: &Store, actor: &Actor, filter: &ServiceFilter, page: &PageRequest) -> Result<Page<Service>, AppError> {
    require(actor, Capability::ReadLedger)?;
    services::list(&mut *store.read().await?, filter, page).await
}

pub async fn detail(store: &Store, actor: &Actor, id: &str) -> Result<ServiceDetail, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let service = fetch(&mut conn, id).await?;
    let filter = IdentityFilter { service_id: Some(id.to_owned()), ..Default::default() };
    Ok(ServiceDetail {
        identities: identities::list(&mut conn, &filter, &PageRequest::default()).await?,
        history: audit::about(&mut conn, id, 50).await?,
        service,
    })
}

async fn fetch(conn: &mut AnyConnection, id: &str) -> Result<Service, AppError> {
    services::by_id(conn, id).await?.ok_or_else(|| AppError::not_found("Service", id))
}

async fn check_owner(conn: &mut AnyConnection, draft: &ServiceDraft) -> Result<(), AppError> {
    match owners::by_id(conn, &draft.owner_id).await? {
        None => Err(AppError::invalid("owner_id", "Choose an owner from the list; this one does not exist.")),
        Some(owner) if owner.status == OwnerStatus::Disabled => {
            Err(AppError::invalid("owner_id", format!("{} is disabled and cannot own services.", owner.name)))
        }
        Some(_) => Ok(()),
    }
}

fn summary(draft: &ServiceDraft) -> serde_json::Value {
    json!({
        "name": draft.name.as_str(),
        "display_name": draft.display_name,
        "owner_id": draft.owner_id,
        "description": draft.description,
    })
}

pub async fn create(store: &Store, actor: &Actor, input: &ServiceInput) -> Result<Service, AppError> {
    require(actor, Capability::EditLedger)?;
    let draft = input.parse()?;
    let mut tx = store.begin().await?;
    check_owner(tx.conn(), &draft).await?;
    let id = services::insert(tx.conn(), &draft, None, Timestamp::now()).await?;
    audit::append(tx.conn(), actor, AuditEntry::new("service.create", "service", &id, json!({ "after": summary(&draft) }))).await?;
    let service = fetch(tx.conn(), &id).await?;
    tx.commit().await?;
    Ok(service)
}

pub async fn update(store: &Store, actor: &Actor, id: &str, input: &ServiceInput) -> Result<Service, AppError> {
    require(actor, Capability::EditLedger)?;
    let draft = input.parse()?;
    let mut tx = store.begin().await?;
    let before = fetch(tx.conn(), id).await?;
    if before.status == ServiceStatus::Decommissioned {
        return Err(AppError::invalid_state("A decommissioned service is kept for history and cannot be edited."));
    }
    check_owner(tx.conn(), &draft).await?;
    let before_summary = json!({
        "name": before.name,
        "display_name": before.display_name,
        "owner_id": before.owner_id,
        "description": before.description,
    });
    let changes = changed_fields(&before_summary, &summary(&draft));
    if changes.as_object().is_some_and(|c| c.is_empty()) {
        return Ok(before);
    }
    services::update(tx.conn(), id, &draft, Timestamp::now()).await?;
    audit::append(tx.conn(), actor, AuditEntry::new("service.update", "service", id, json!({ "changes": changes }))).await?;
    let service = fetch(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(service)
}

/// Owners and active services to pick from in forms and filters.
pub async fn choices(store: &Store, actor: &Actor) -> Result<(Vec<Choice>, Vec<Choice>), AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let owners = owners::all(&mut conn, PICKER_LIMIT)
        .await?
        .into_iter()
        .filter(|o| o.status == OwnerStatus::Active)
        .map(|o| Choice { id: o.id, label: o.name })
        .collect();
    let services = services::options(&mut conn, PICKER_LIMIT).await?.into_iter().map(|(id, label)| Choice { id, label }).collect();
    Ok((owners, services))
}
