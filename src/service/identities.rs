use super::findings::Touches;
use super::require;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::{AuditEntry, changed_fields};
use crate::domain::identity::{Identity, IdentityDetail, IdentityDraft, IdentityFilter, IdentityInput, IdentityStatus};
use crate::domain::owner::OwnerStatus;
use crate::domain::page::{Page, PageRequest};
use crate::domain::service::ServiceStatus;
use crate::domain::{Timestamp, name};
use crate::error::AppError;
use crate::store::{self, Store, assignments, audit, credentials, identities, owners, services};
use serde_json::json;
use sqlx::AnyConnection;

/// How many history events the identity page shows.
const HISTORY: i64 = 50;

pub async fn list(store: &Store, actor: &Actor, filter: &IdentityFilter, page: &PageRequest) -> Result<Page<Identity>, AppError> {
    require(actor, Capability::ReadLedger)?;
    identities::list(&mut *store.read().await?, filter, page).await
}

pub async fn get(store: &Store, actor: &Actor, id: &str) -> Result<Identity, AppError> {
    require(actor, Capability::ReadLedger)?;
    fetch(&mut *store.read().await?, id).await
}

pub async fn detail(store: &Store, actor: &Actor, id: &str) -> Result<IdentityDetail, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let identity = fetch(&mut conn, id).await?;
    Ok(IdentityDetail {
        credentials: credentials::of_identity(&mut conn, id).await?,
        assignments: assignments::of_identity(&mut conn, id).await?,
        history: audit::about(&mut conn, id, HISTORY).await?,
        identity,
        as_of: Timestamp::now(),
    })
}

async fn fetch(conn: &mut AnyConnection, id: &str) -> Result<Identity, AppError> {
    identities::by_id(conn, id).await?.ok_or_else(|| AppError::not_found("Identity", id))
}

/// The owner and service an identity points to must exist and be in use.
async fn check_references(conn: &mut AnyConnection, draft: &IdentityDraft) -> Result<(), AppError> {
    match owners::by_id(conn, &draft.owner_id).await? {
        None => return Err(AppError::invalid("owner_id", "Choose an owner from the list; this one does not exist.")),
        Some(owner) if owner.status == OwnerStatus::Disabled => {
            return Err(AppError::invalid("owner_id", format!("{} is disabled and cannot own identities.", owner.name)));
        }
        Some(_) => {}
    }
    if let Some(service_id) = &draft.service_id {
        match services::by_id(conn, service_id).await? {
            None => return Err(AppError::invalid("service_id", "Choose a service from the list; this one does not exist.")),
            Some(service) if service.status == ServiceStatus::Decommissioned => {
                return Err(AppError::invalid("service_id", format!("Service {} is decommissioned; it cannot take new identities.", service.name)));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn summary(draft: &IdentityDraft) -> serde_json::Value {
    json!({
        "name": draft.name.as_str(),
        "kind": draft.kind.as_str(),
        "owner_id": draft.owner_id,
        "service_id": draft.service_id,
        "description": draft.description,
        "labels": draft.labels.to_text(),
    })
}

fn summary_of(identity: &Identity) -> serde_json::Value {
    json!({
        "name": identity.name,
        "kind": identity.kind.as_str(),
        "owner_id": identity.owner_id,
        "service_id": identity.service_id,
        "description": identity.description,
        "labels": identity.labels.to_text(),
    })
}

pub async fn create(store: &Store, actor: &Actor, input: &IdentityInput) -> Result<Identity, AppError> {
    require(actor, Capability::EditLedger)?;
    let draft = input.parse()?;
    let id = store::new_id();
    let mut tx = store.begin().await?;
    check_references(tx.conn(), &draft).await?;
    let now = Timestamp::now();
    identities::insert(tx.conn(), &id, &draft, now).await?;
    super::findings::settle(tx.conn(), std::slice::from_ref(&id), Touches::Created, now).await?;
    let mut entry = AuditEntry::new("identity.create", "identity", &id, json!({ "after": summary(&draft) }));
    if let Some(service_id) = &draft.service_id {
        entry = entry.in_context(service_id);
    }
    audit::append(tx.conn(), actor, entry).await?;
    let identity = fetch(tx.conn(), &id).await?;
    tx.commit().await?;
    Ok(identity)
}

pub async fn update(store: &Store, actor: &Actor, id: &str, input: &IdentityInput) -> Result<Identity, AppError> {
    require(actor, Capability::EditLedger)?;
    let draft = input.parse()?;
    let mut tx = store.begin().await?;
    let before = fetch(tx.conn(), id).await?;
    if before.status == IdentityStatus::Retired {
        return Err(AppError::invalid_state("A retired identity is kept for history and cannot be edited."));
    }
    if let Some(source) = &before.managed_by {
        return Err(AppError::invalid_state(format!(
            "{} is managed by its source ({}, {}): its name, labels and description come from there and the next import would overwrite an edit.",
            before.name,
            source.describe(),
            source.source_ref
        )));
    }
    check_references(tx.conn(), &draft).await?;
    let changes = changed_fields(&summary_of(&before), &summary(&draft));
    if changes.as_object().is_some_and(|c| c.is_empty()) {
        return Ok(before);
    }
    let now = Timestamp::now();
    identities::update(tx.conn(), id, &draft, now).await?;
    // A new owner or service can orphan the identity, or stop doing so.
    super::findings::settle(tx.conn(), &[id.to_owned()], Touches::Everything, now).await?;
    let mut entry = AuditEntry::new("identity.update", "identity", id, json!({ "changes": changes }));
    if let Some(service_id) = draft.service_id.as_ref().or(before.service_id.as_ref()) {
        entry = entry.in_context(service_id);
    }
    audit::append(tx.conn(), actor, entry).await?;
    let identity = fetch(tx.conn(), id).await?;
    tx.commit().await?;
    Ok(identity)
}

/// Suspends, reactivates or retires an identity. Retiring also revokes its credentials and ends
/// its assignments in the same transaction: a retired identity must hold nothing.
pub async fn change_status(store: &Store, actor: &Actor, id: &str, status: &str, reason: &str) -> Result<Identity, AppError> {
    require(actor, Capability::EditLedger)?;
    let status = IdentityStatus::parse(status).map_err(|e| AppError::invalid("status", e))?;
    let reason = name::text(reason, "Reason", 500, status != IdentityStatus::Active).map_err(|e| AppError::field("reason", e))?;
    let mut tx = store.begin().await?;
    let before = fetch(tx.conn(), id).await?;
    before.status.check_transition(status).map_err(AppError::invalid_state)?;
    let now = Timestamp::now();
    identities::set_status(tx.conn(), id, status, now).await?;
    let (mut revoked_credentials, mut ended_assignments) = (0, 0);
    if status == IdentityStatus::Retired {
        revoked_credentials = credentials::revoke_all_of_identity(tx.conn(), id, now, "identity retired").await?;
        ended_assignments = assignments::revoke_all_of_identity(tx.conn(), id, &actor.name, now, "identity retired").await?;
    }
    let touches = if status == IdentityStatus::Retired { Touches::Retired } else { Touches::Everything };
    super::findings::settle(tx.conn(), &[id.to_owned()], touches, now).await?;
    let mut entry = AuditEntry::new(
        &format!(
            "identity.{}",
            match status {
                IdentityStatus::Active => "reactivate",
                IdentityStatus::Suspended => "suspend",
                IdentityStatus::Retired => "retire",
            }
        ),
        "identity",
        id,
        json!({
            "changes": { "status": { "from": before.status.as_str(), "to": status.as_str() } },
            "reason": reason,
            "credentials_revoked": revoked_credentials,
            "assignments_revoked": ended_assignments,
        }),
    );
    if let Some(service_id) = &before.service_id {
        entry = entry.in_context(service_id);
    }
    audit::append(tx.conn(), actor, entry).await?;
    let identity = fetch(tx.conn(), id).await?;
    tx.commit().await?;
    // An identity leaving service takes its escalation paths with it: an imported one, or a
    // native one holding an imported role (settling is one stamp read when nothing moved).
    super::findings::settle_escalation_soon(store);
    Ok(identity)
}
