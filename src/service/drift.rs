//! Drift findings: reading them, and acknowledging one through a change request. The request
//! carries the finding's diff and blast radius to its reviewers like any other; applying it
//! closes the finding in the approving transaction and records who accepted it.

use super::changes::{file_in, reason};
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::change::{ChangePayload, ChangeRequest};
use crate::domain::drift::{AcknowledgeInput, Drift, DriftCounts, DriftDetail, DriftKind, DriftQuery, DriftState};
use crate::domain::page::{Page, PageRequest, present};
use crate::domain::role::{RoleDiff, Sensitivity, diff};
use crate::error::AppError;
use crate::store::{Store, audit, changes, drift, roles, sources};
use serde_json::json;
use sqlx::AnyConnection;

async fn finding(conn: &mut AnyConnection, id: &str) -> Result<Drift, AppError> {
    drift::by_id(conn, id).await?.ok_or_else(|| AppError::not_found("Drift finding", id))
}

/// The rule diff of a changed role: from the version before to the one observed (from
/// nothing for a role the source created).
pub(crate) async fn diff_of(conn: &mut AnyConnection, finding: &Drift) -> Result<Option<RoleDiff>, AppError> {
    let (DriftKind::ChangedOutsideReview, Some(role_id), Some(version)) = (finding.kind, &finding.role_id, finding.role_version) else {
        return Ok(None);
    };
    let Some(observed) = roles::version(conn, role_id, version).await? else {
        return Ok(None);
    };
    let base = match finding.base_version {
        Some(base) => roles::version(conn, role_id, base).await?.map(|v| v.definition),
        None => None,
    };
    Ok(Some(diff(base.as_ref(), &observed.definition)))
}

async fn pending_change(conn: &mut AnyConnection, drift_id: &str) -> Result<Option<String>, AppError> {
    Ok(changes::about(conn, drift_id, 20).await?.into_iter().find(|r| r.state.is_open()).map(|r| r.id))
}

pub async fn detail(store: &Store, actor: &Actor, id: &str) -> Result<DriftDetail, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let drift = finding(&mut conn, id).await?;
    let diff = diff_of(&mut conn, &drift).await?;
    let role_slug = match &drift.role_id {
        Some(role_id) => roles::by_id(&mut conn, role_id).await?.map(|r| r.slug),
        None => None,
    };
    let pending_change = pending_change(&mut conn, &drift.id).await?;
    let can_acknowledge = actor.can(Capability::Propose) && drift.state == DriftState::Open && pending_change.is_none();
    Ok(DriftDetail { drift, diff, role_slug, pending_change, can_acknowledge })
}

/// A page of findings (open ones unless the query says otherwise; one source's when it names
/// one), with their count.
pub async fn list(store: &Store, actor: &Actor, query: &DriftQuery) -> Result<Page<Drift>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let state = match present(&query.state) {
        None => Some(DriftState::Open),
        Some("all") => None,
        Some(other) => Some(DriftState::parse(other).map_err(|e| AppError::invalid("state", e))?),
    };
    let kind = present(&query.kind).map(DriftKind::parse).transpose().map_err(|e| AppError::invalid("kind", e))?;
    let size = PageRequest { after: None, limit: query.limit }.size() as i64;
    let mut conn = store.read().await?;
    let source_id = present(&query.source);
    if let Some(source_id) = source_id {
        sources::by_id(&mut conn, source_id).await?.ok_or_else(|| AppError::not_found("Source", source_id))?;
    }
    let mut items = drift::of_source(&mut conn, source_id, state, kind, present(&query.after), size + 1).await?;
    let next_cursor = if items.len() as i64 > size {
        items.truncate(size as usize);
        items.last().map(|d| d.id.clone())
    } else {
        None
    };
    // Open findings are counted from the index of open rows; history is counted in full.
    let total = match (state, kind) {
        (Some(DriftState::Open), None) => drift::counts(&mut conn, source_id).await?.total(),
        (Some(DriftState::Open), Some(kind)) => drift::counts(&mut conn, source_id).await?.of(kind),
        _ => drift::count(&mut conn, source_id, state, kind).await?,
    };
    Ok(Page { items, next_cursor, total })
}

/// Open drift per kind across every source (the Hygiene page and the dashboard).
pub async fn counts(store: &Store, actor: &Actor) -> Result<DriftCounts, AppError> {
    require(actor, Capability::ReadLedger)?;
    drift::counts(&mut *store.read().await?, None).await
}

/// Files the change request that acknowledges a finding.
pub async fn acknowledge(store: &Store, actor: &Actor, id: &str, input: &AcknowledgeInput) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    let reason = reason(&input.reason).map_err(|e| AppError::field("reason", e))?;
    // Accepting a change that opened an escalation path needs what opening one needs.
    let opened_paths = match drift::by_id(&mut *store.read().await?, id).await? {
        Some(d) => {
            let payload =
                ChangePayload::Acknowledge { drift_id: d.id.clone(), drift_kind: d.kind, source_id: d.source_id.clone(), source_name: d.source_name.clone() };
            super::escalation::opens_paths(store, &payload).await?
        }
        None => false,
    };
    // Checked and filed in one write transaction: writers take turns, so two people filing at
    // the same moment cannot both pass the "already requested" check.
    let mut tx = store.begin().await?;
    let conn = tx.conn();
    let finding = finding(conn, id).await?;
    if finding.state != DriftState::Open {
        return Err(AppError::invalid_state(format!("This finding is {} already.", finding.state.label().to_lowercase())));
    }
    if let Some(change) = pending_change(conn, &finding.id).await? {
        return Err(AppError::conflict(None, format!("Acknowledging this finding is already requested (change request {change}).")));
    }
    // A token limited to scopes accepts only what concerns them.
    match &finding.role_id {
        Some(role_id) => super::changes::require_role_within(conn, actor, role_id).await?,
        None if actor.is_limited() => return Err(AppError::forbidden("acknowledge a finding outside the token's scope limits")),
        None => {}
    }
    // Accepting access to, or a change of, a privileged role needs what granting it needs.
    let sensitivity = match &finding.role_id {
        Some(role_id) => roles::by_id(conn, role_id).await?.map(|r| r.sensitivity).unwrap_or(Sensitivity::Standard),
        None => Sensitivity::Standard,
    };
    let sensitivity = if opened_paths { Sensitivity::Privileged } else { sensitivity };
    let payload = ChangePayload::Acknowledge {
        drift_id: finding.id.clone(),
        drift_kind: finding.kind,
        source_id: finding.source_id.clone(),
        source_name: finding.source_name.clone(),
    };
    let request = file_in(conn, actor, payload, &finding.subject, Some(&finding.id), sensitivity, &reason, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(request)
}

/// Applies an approved acknowledgement, inside the approving transaction.
pub(crate) async fn apply(
    conn: &mut AnyConnection,
    actor: &Actor,
    request: &ChangeRequest,
    drift_id: &str,
    now: Timestamp,
) -> Result<serde_json::Value, AppError> {
    let finding = finding(conn, drift_id).await?;
    if !drift::acknowledge(conn, drift_id, &request.id, &actor.name, now).await? {
        // Closed by an import since the request was filed: the approval is recorded, and there
        // is nothing left to accept.
        return Ok(json!({ "drift_id": finding.id, "already": finding.state.as_str() }));
    }
    audit::append(
        conn,
        actor,
        AuditEntry::new(
            "drift.acknowledge",
            "source",
            &finding.source_id,
            json!({
                "drift_id": finding.id, "kind": finding.kind.as_str(), "subject": finding.subject,
                "requested_by": request.requester_name, "change_request": request.id,
            }),
        )
        .in_context(&finding.source_id),
    )
    .await?;
    Ok(json!({ "drift_id": finding.id, "acknowledged_by": actor.name }))
}
