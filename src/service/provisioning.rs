//! Pipelines bring services to life from a template and retire them again, each in one
//! transaction. Both are safe to retry: a repeated request gets the stored answer of the first.

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::identity::IdentityDraft;
use crate::domain::labels::Labels;
use crate::domain::name::{self, IdentityName};
use crate::domain::owner::{Owner, OwnerStatus};
use crate::domain::role::{Role, RoleStatus};
use crate::domain::scope::ScopePath;
use crate::domain::service::ServiceDraft;
use crate::domain::template::{
    DecommissionInput, DecommissionReceipt, Placement, PlannedIdentity, ProvisionInput, ProvisionRequest, Provisioned, ProvisionedGrant, ProvisionedIdentity,
    RetiredIdentity, Template,
};
use crate::error::AppError;
use crate::store::{self, Store, assignments, audit, credentials, identities, owners, roles, scopes, services, templates};
use serde_json::json;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// What provisioning would create, for the console's preview. Reads only.
pub async fn preview(store: &Store, actor: &Actor, input: &ProvisionInput) -> Result<Vec<PlannedIdentity>, AppError> {
    require(actor, Capability::Provision)?;
    let request = input.parse()?;
    let mut conn = store.read().await?;
    let template = template(&mut conn, &request.template).await?;
    owner(&mut conn, &request.owner).await?;
    active_roles(&mut conn, &template).await?;
    let plan = template.definition.plan(&request.placement)?;
    within_limits(actor, &request.placement, &plan)?;
    Ok(plan)
}

/// A token limited to some scopes provisions only a service whose place (`{env}/{service}`, where
/// decommissioning looks too) and every grant lie inside them.
fn within_limits(actor: &Actor, placement: &Placement, plan: &[PlannedIdentity]) -> Result<(), AppError> {
    super::require_within_path(actor, &format!("{}/{}", placement.env.as_str(), placement.service))?;
    for grant in plan.iter().flat_map(|p| &p.grants) {
        super::require_within_path(actor, &grant.scope)?;
    }
    Ok(())
}

/// An `Idempotency-Key` as pipelines send it: a UUID, a build id, a hash.
fn check_key(key: &str) -> Result<&str, AppError> {
    let key = key.trim();
    if key.is_empty() || key.len() > 200 || !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(AppError::invalid("Idempotency-Key", "The Idempotency-Key header must be 1 to 200 visible ASCII characters."));
    }
    Ok(key)
}

/// Creates the service, its scopes, identities and pinned grants from the template, in one
/// transaction, and returns what it created.
pub async fn provision(store: &Store, actor: &Actor, input: &ProvisionInput, idempotency_key: Option<&str>) -> Result<Provisioned, AppError> {
    require(actor, Capability::Provision)?;
    let request = input.parse()?;
    let key = idempotency_key.map(check_key).transpose()?;
    let hash = request.fingerprint();
    // The earlier answer is looked up inside the writing transaction: writers take turns on
    // both backends (`Store::begin`), so no identical request can commit between the look and
    // the insert, and a conflict is final.
    provision_once(store, actor, &request, key, &hash).await
}

/// The stored answer to an earlier identical request, or a conflict if the key or the service
/// name was used for a different one.
async fn replay(conn: &mut AnyConnection, key: Option<&str>, request: &ProvisionRequest, hash: &str) -> Result<Option<Provisioned>, AppError> {
    let name = request.placement.service.as_str();
    // The key decides first; without a key (or an unknown one) the service name does.
    let by_key = match key {
        Some(key) => templates::provision_by_key(conn, key)
            .await?
            .map(|r| (r, format!("Idempotency-Key {key} was already used for a different request; use a new key for new parameters."))),
        None => None,
    };
    let found = match by_key {
        Some(found) => Some(found),
        None => templates::provision_by_service(conn, name)
            .await?
            .map(|r| (r, format!("Service {name} was already provisioned with different parameters; decommission it or choose another name."))),
    };
    match found {
        None => Ok(None),
        Some((record, _)) if record.request_hash == hash => {
            let mut previous: Provisioned = serde_json::from_str(&record.response).map_err(|e| AppError::internal("stored provision", e))?;
            previous.replayed = true;
            Ok(Some(previous))
        }
        Some((_, clash)) => Err(AppError::conflict(None, clash)),
    }
}

async fn template(conn: &mut AnyConnection, key: &str) -> Result<Template, AppError> {
    templates::to_apply(conn, key).await?.ok_or_else(|| AppError::invalid("template", format!("No template is called \"{key}\".")))
}

/// Pipelines know owners by name more often than by id; both are accepted.
pub(super) async fn owner(conn: &mut AnyConnection, key: &str) -> Result<Owner, AppError> {
    match owners::by_id_or_name(conn, key).await? {
        None => Err(AppError::invalid("owner", format!("No owner has id or name \"{key}\"."))),
        Some(owner) if owner.status == OwnerStatus::Disabled => Err(AppError::invalid("owner", format!("{} is disabled and cannot own services.", owner.name))),
        Some(owner) => Ok(owner),
    }
}

/// The template's roles by slug; a role retired since the template was approved stops it.
async fn active_roles(conn: &mut AnyConnection, template: &Template) -> Result<BTreeMap<String, Role>, AppError> {
    let slugs: Vec<String> = template.definition.roles().into_iter().collect();
    let found: BTreeMap<String, Role> =
        roles::by_slugs(conn, &slugs).await?.into_iter().filter(|r| r.status == RoleStatus::Active).map(|r| (r.slug.clone(), r)).collect();
    for slug in slugs {
        if !found.contains_key(&slug) {
            return Err(AppError::invalid_state(format!(
                "Template {} grants role {slug}, which is retired or gone; propose a new template version first.",
                template.slug
            )));
        }
    }
    Ok(found)
}

async fn provision_once(store: &Store, actor: &Actor, request: &ProvisionRequest, key: Option<&str>, hash: &str) -> Result<Provisioned, AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let conn = tx.conn();
    if let Some(previous) = replay(conn, key, request, hash).await? {
        // Nothing was written: ending the transaction hands the writers' turn on at once.
        tx.commit().await?;
        return Ok(previous);
    }
    let template = template(conn, &request.template).await?;
    let owner = owner(conn, &request.owner).await?;
    let roles = active_roles(conn, &template).await?;
    let plan = template.definition.plan(&request.placement)?;
    within_limits(actor, &request.placement, &plan)?;
    let service_name = request.placement.service.clone();
    let env = request.placement.env.as_str();
    let draft = ServiceDraft {
        display_name: if request.display_name.is_empty() { service_name.to_string() } else { request.display_name.clone() },
        name: service_name,
        description: request.description.clone(),
        owner_id: owner.id.clone(),
    };
    let provenance = services::Provenance { template_id: &template.id, template_version: template.current_version, env };
    let service_id = services::insert(conn, &draft, Some(&provenance), now).await?;
    // The run's audit events are chained together at the end, in the same transaction.
    let mut events = vec![AuditEntry::new(
        "service.create",
        "service",
        &service_id,
        json!({ "after": { "name": draft.name.as_str(), "display_name": draft.display_name, "owner_id": owner.id, "env": env,
                "template": template.slug, "template_version": template.current_version } }),
    )];

    let mut paths = BTreeMap::new();
    for grant in plan.iter().flat_map(|p| &p.grants) {
        if !paths.contains_key(&grant.scope) {
            paths.insert(grant.scope.clone(), ScopePath::parse(&grant.scope).map_err(|e| AppError::internal("planned scope", e))?);
        }
    }
    let scope_ids = scopes::ensure_namespaces(conn, &paths.values().cloned().collect::<Vec<_>>(), now).await?;

    let mut labels = Labels::default();
    labels.insert("env", env);
    labels.insert("template", &template.slug);
    // The service's identities and grants are written in one statement each, after the loop.
    let mut created = Vec::with_capacity(plan.len());
    let mut drafts = Vec::with_capacity(plan.len());
    for planned in &plan {
        let identity_id = store::new_id();
        drafts.push((
            identity_id.clone(),
            IdentityDraft {
                name: IdentityName::parse(&planned.name).map_err(|e| AppError::internal("planned identity", e))?,
                kind: planned.kind,
                owner_id: owner.id.clone(),
                service_id: Some(service_id.clone()),
                description: planned.description.clone(),
                labels: labels.clone(),
            },
        ));
        events.push(
            AuditEntry::new(
                "identity.create",
                "identity",
                &identity_id,
                json!({ "after": { "name": planned.name, "kind": planned.kind.as_str(), "owner_id": owner.id, "service_id": service_id,
                    "template": template.slug } }),
            )
            .in_context(&service_id),
        );
        let mut grants = Vec::with_capacity(planned.grants.len());
        for grant in &planned.grants {
            let role = &roles[&grant.role];
            let assignment_id = store::new_id();
            events.push(
                AuditEntry::new(
                    "assignment.grant",
                    "assignment",
                    &assignment_id,
                    json!({ "identity": planned.name, "role": role.slug, "version": role.current_version, "scope": grant.scope,
                        "template": template.slug, "template_version": template.current_version }),
                )
                .in_context(&identity_id),
            );
            grants.push(ProvisionedGrant {
                assignment_id,
                role_id: role.id.clone(),
                role: role.slug.clone(),
                role_version: role.current_version,
                scope: grant.scope.clone(),
            });
        }
        created.push(ProvisionedIdentity { id: identity_id, name: planned.name.clone(), kind: planned.kind, grants });
    }
    identities::insert_many(conn, &drafts, now).await?;
    let new_grants: Vec<assignments::NewAssignment<'_>> = created
        .iter()
        .flat_map(|identity| {
            identity.grants.iter().map(|grant| assignments::NewAssignment {
                id: &grant.assignment_id,
                identity_id: &identity.id,
                role_id: &grant.role_id,
                role_version: grant.role_version,
                scope_id: &scope_ids[&grant.scope],
                granted_by: &actor.name,
                // The approval behind a provisioned grant is the template's.
                change_request_id: template.approved_by.as_deref(),
                expires_at: None,
            })
        })
        .collect();
    assignments::insert_many(conn, &new_grants, now).await?;
    // Settled from what was just written, without reading it back.
    let settled: Vec<(String, Vec<super::findings::CreatedGrant<'_>>)> = created
        .iter()
        .map(|identity| {
            let grants = identity
                .grants
                .iter()
                .map(|grant| super::findings::CreatedGrant { assignment_id: &grant.assignment_id, role: &roles[&grant.role], scope: &paths[&grant.scope] })
                .collect();
            (identity.id.clone(), grants)
        })
        .collect();
    super::findings::settle_created(conn, store.version_cache(), &settled, now).await?;
    events.push(AuditEntry::new(
        "service.provision",
        "service",
        &service_id,
        json!({ "template": template.slug, "template_version": template.current_version, "env": env,
            "identities": created.len(), "grants": created.iter().map(|i| i.grants.len()).sum::<usize>(), "idempotency_key": key }),
    ));
    let written = audit::append_all(conn, actor, events).await?;
    let (first, last) = match (written.first(), written.last()) {
        (Some(first), Some(last)) => (first.seq, last.seq),
        _ => return Err(AppError::internal("provision", "no audit events written")),
    };
    let result = Provisioned {
        service_id: service_id.clone(),
        service: draft.name.to_string(),
        env: env.to_owned(),
        template: template.slug.clone(),
        template_version: template.current_version,
        identities: created,
        scopes: scope_ids.into_keys().collect(),
        audit_from_seq: first,
        audit_to_seq: last,
        provisioned_at: now,
        replayed: false,
    };
    let response = serde_json::to_string(&result).map_err(|e| AppError::internal("encode provision", e))?;
    templates::record_provision(
        conn,
        &templates::NewProvision { service_name: draft.name.as_str(), idempotency_key: key, request_hash: hash, service_id: &service_id, response: &response },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(result)
}

async fn stored_receipt(conn: &mut AnyConnection, service_id: &str) -> Result<Option<DecommissionReceipt>, AppError> {
    let Some(text) = templates::receipt(conn, service_id).await? else { return Ok(None) };
    let mut receipt: DecommissionReceipt = serde_json::from_str(&text).map_err(|e| AppError::internal("stored receipt", e))?;
    receipt.replayed = true;
    Ok(Some(receipt))
}

/// Retires every identity of the service, revokes their credentials and assignments, marks the
/// service decommissioned, all in one transaction, and returns the receipt.
pub async fn decommission(store: &Store, actor: &Actor, service_id: &str, input: &DecommissionInput) -> Result<DecommissionReceipt, AppError> {
    require(actor, Capability::Decommission)?;
    let reason = name::text(&input.reason, "Reason", 500, false).map_err(|e| AppError::field("reason", e))?;
    let reason = if reason.is_empty() { "service decommissioned".to_owned() } else { reason };
    if let Some(receipt) = stored_receipt(&mut *store.read().await?, service_id).await? {
        return Ok(receipt);
    }
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let conn = tx.conn();
    let service = services::by_id(conn, service_id).await?.ok_or_else(|| AppError::not_found("Service", service_id))?;
    if actor.is_limited() {
        // A limited token decommissions only services whose place it knows to be inside its
        // limits: provisioned ones ({env}/{service}) with every live grant inside them too.
        let env = services::env(conn, service_id).await?.ok_or_else(|| {
            AppError::forbidden(format!("decommission {}: it was not provisioned into an environment, so it lies outside this token's limits", service.name))
        })?;
        super::require_within_path(actor, &format!("{env}/{}", service.name))?;
        for scope in assignments::scopes_of_service(conn, service_id).await? {
            super::require_within_path(actor, &scope)?;
        }
    }
    if !services::claim_decommission(conn, service_id, now).await? {
        drop(tx);
        return match stored_receipt(&mut *store.read().await?, service_id).await? {
            Some(receipt) => Ok(receipt),
            None => Err(AppError::invalid_state(format!("Service {} is already decommissioned.", service.name))),
        };
    }
    let ended = assignments::revoke_all_of_service(conn, service_id, &actor.name, now, &reason).await?;
    let revoked = credentials::revoke_all_of_service(conn, service_id, now, &reason).await?;
    let retired = identities::retire_all_of_service(conn, service_id, now).await?;
    // Every identity of the service is retired now, its grants and credentials ended.
    let of_service = identities::ids_of_service(conn, service_id).await?;
    super::findings::settle(conn, &of_service, super::findings::Touches::Retired, now).await?;
    let mut events = Vec::with_capacity(retired.len() + 1);
    for (id, name) in &retired {
        events.push(
            AuditEntry::new(
                "identity.retire",
                "identity",
                id,
                json!({
                    "changes": { "status": { "to": "retired" } },
                    "reason": reason,
                    "name": name,
                    "credentials_revoked": revoked.iter().filter(|c| &c.identity_id == id).count(),
                    "assignments_revoked": ended.iter().filter(|a| &a.identity_id == id).count(),
                }),
            )
            .in_context(service_id),
        );
    }
    events.push(AuditEntry::new(
        "service.decommission",
        "service",
        service_id,
        json!({ "reason": reason, "identities_retired": retired.len(), "credentials_revoked": revoked.len(), "assignments_revoked": ended.len() }),
    ));
    let written = audit::append_all(conn, actor, events).await?;
    let (Some(first), Some(last)) = (written.first(), written.last()) else {
        return Err(AppError::internal("decommission", "no audit events written"));
    };
    let receipt = DecommissionReceipt {
        service_id: service_id.to_owned(),
        service: service.name,
        decommissioned_at: now,
        reason,
        identities_retired: retired.into_iter().map(|(id, name)| RetiredIdentity { id, name }).collect(),
        credentials_revoked: revoked,
        assignments_revoked: ended,
        audit_from_seq: first.seq,
        audit_to_seq: last.seq,
        chain_hash: last.hash.clone(),
        replayed: false,
    };
    let text = serde_json::to_string(&receipt).map_err(|e| AppError::internal("encode receipt", e))?;
    templates::record_receipt(conn, service_id, &text, now).await?;
    tx.commit().await?;
    // Its identities may have held imported roles: their escalation paths close with them.
    super::findings::settle_escalation_soon(store);
    Ok(receipt)
}
