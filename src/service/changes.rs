//! Change requests: proposing role changes, reviewing them under the approval policy, and
//! applying them in the same transaction as the approval that completes them.

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, ActorKind, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::change::{
    ApprovalPolicy, ChangePayload, ChangeQuery, ChangeRequest, ChangeReview, ChangeState, Decision, DecisionRefusal, Verdict, decision_refusal,
};
use crate::domain::name::{self, RoleSlug};
use crate::domain::page::{Page, PageRequest, present};
use crate::domain::role::{NewRoleInput, Role, RoleStatus, RoleVersionInput, Sensitivity, diff};
use crate::domain::scope::ScopeKind;
use crate::error::{AppError, Problem, Problems};
use crate::store::changes::{ChangeView, NewRequest};
use crate::store::{self, Store, WriteTx, assignments, audit, changes, roles, scopes};
use serde_json::json;
use sqlx::AnyConnection;

pub(crate) fn reason(input: &str) -> Result<String, Problem> {
    let reason = name::text(input, "Reason", 2000, true)?;
    if reason.chars().count() < 5 {
        return Err("Say why in a few words, for the reviewers and the audit log.".into());
    }
    Ok(reason)
}

/// Files a change request in its own transaction.
pub(crate) async fn file(
    store: &Store,
    actor: &Actor,
    payload: ChangePayload,
    subject: &str,
    subject_id: Option<&str>,
    sensitivity: Sensitivity,
    reason: &str,
) -> Result<ChangeRequest, AppError> {
    let mut tx = store.begin().await?;
    let request = file_in(tx.conn(), actor, payload, subject, subject_id, sensitivity, reason, Timestamp::now()).await?;
    tx.commit().await?;
    Ok(request)
}

/// Files a change request inside the caller's transaction, so a use case that files and applies
/// at once (an immediate revocation) leaves both or neither.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn file_in(
    conn: &mut AnyConnection,
    actor: &Actor,
    payload: ChangePayload,
    subject: &str,
    subject_id: Option<&str>,
    sensitivity: Sensitivity,
    reason: &str,
    now: Timestamp,
) -> Result<ChangeRequest, AppError> {
    let policy = changes::policy(conn).await?;
    let id = store::new_id();
    changes::insert(
        conn,
        &NewRequest {
            id: &id,
            payload: &payload,
            subject,
            subject_id,
            sensitivity,
            requester_kind: actor.kind.as_str(),
            requester_id: &actor.id,
            requester_name: &actor.name,
            reason,
            expires_at: now.plus_seconds(policy.expiry_hours * 3600),
        },
        now,
    )
    .await?;
    let mut entry = AuditEntry::new(
        "change.propose",
        "change_request",
        &id,
        json!({ "kind": payload.kind().as_str(), "subject": subject, "sensitivity": sensitivity.as_str(), "reason": reason }),
    );
    if let Some(subject_id) = subject_id {
        entry = entry.in_context(subject_id);
    }
    audit::append(conn, actor, entry).await?;
    changes::by_id(conn, &id).await?.ok_or_else(|| AppError::not_found("Change request", &id))
}

async fn role(conn: &mut AnyConnection, id: &str) -> Result<Role, AppError> {
    roles::by_id(conn, id).await?.ok_or_else(|| AppError::not_found("Role", id))
}

/// Refuses changes to a role whose scope lies outside a limited token's limits.
pub(crate) async fn require_role_within(conn: &mut AnyConnection, actor: &Actor, role_id: &str) -> Result<(), AppError> {
    if !actor.is_limited() {
        return Ok(());
    }
    let role = role(conn, role_id).await?;
    let current = roles::version(conn, &role.id, role.current_version).await?.ok_or_else(|| AppError::internal("role without current version", &role.id))?;
    super::require_within(actor, &current.definition.scope)
}

async fn pending_about(conn: &mut AnyConnection, subject_id: &str) -> Result<Vec<ChangeRequest>, AppError> {
    Ok(changes::about(conn, subject_id, 50).await?.into_iter().filter(|r| r.state.is_open()).collect())
}

pub async fn propose_role(store: &Store, actor: &Actor, input: &NewRoleInput) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    let mut problems = Problems::new();
    let slug = problems.check("slug", RoleSlug::parse(&input.slug));
    let display_name = problems.check("display_name", name::text(&input.display_name, "Display name", 120, true));
    let sensitivity = problems.check("sensitivity", Sensitivity::parse(&input.sensitivity));
    let definition = input.definition.parse(&mut problems);
    let reason = problems.check("reason", reason(&input.reason));
    problems.into_result()?;
    let (Some(slug), Some(display_name), Some(sensitivity), Some(definition), Some(reason)) = (slug, display_name, sensitivity, definition, reason) else {
        return Err(AppError::invalid("request", "The role form is incomplete."));
    };
    super::require_within(actor, &definition.scope)?;
    {
        let mut conn = store.read().await?;
        if roles::by_slug(&mut conn, slug.as_str()).await?.is_some() {
            return Err(AppError::conflict(Some("slug"), format!("A role with slug \"{slug}\" already exists (slugs are never reused).")));
        }
    }
    let payload = ChangePayload::RoleCreate { slug: slug.to_string(), display_name, sensitivity, definition };
    file(store, actor, payload, slug.as_str(), None, sensitivity, &reason).await
}

pub async fn propose_version(store: &Store, actor: &Actor, role_id: &str, input: &RoleVersionInput) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    let mut problems = Problems::new();
    let definition = input.definition.parse(&mut problems);
    let reason = problems.check("reason", reason(&input.reason));
    problems.into_result()?;
    let (Some(definition), Some(reason)) = (definition, reason) else {
        return Err(AppError::invalid("request", "The role version form is incomplete."));
    };
    super::require_within(actor, &definition.scope)?;
    let role = {
        let mut conn = store.read().await?;
        let role = role(&mut conn, role_id).await?;
        if role.status == RoleStatus::Retired {
            return Err(AppError::invalid_state(format!("Role {} is retired; it gets no new versions.", role.slug)));
        }
        refuse_managed(&role)?;
        require_role_within(&mut conn, actor, &role.id).await?;
        let current = roles::version(&mut conn, &role.id, role.current_version).await?;
        if current.is_some_and(|c| diff(Some(&c.definition), &definition).is_empty()) {
            return Err(AppError::invalid("permissions", "This is the current definition; change something to propose a new version."));
        }
        role
    };
    let payload = ChangePayload::RoleVersion { role_id: role.id.clone(), base_version: role.current_version, definition, move_holders: input.move_holders };
    let sensitivity = if super::escalation::opens_paths(store, &payload).await? { Sensitivity::Privileged } else { role.sensitivity };
    file(store, actor, payload, &role.slug, Some(&role.id), sensitivity, &reason).await
}

/// An imported role changes where it lives: a version or retirement filed here would be undone
/// by the next import.
fn refuse_managed(role: &Role) -> Result<(), AppError> {
    match &role.managed_by {
        Some(source) => Err(AppError::invalid_state(format!(
            "Role {} is managed by its source ({}, {}): change it there, and the next import records the change for review.",
            role.slug,
            source.describe(),
            source.source_ref
        ))),
        None => Ok(()),
    }
}

pub async fn propose_retirement(store: &Store, actor: &Actor, role_id: &str, reason_text: &str) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    let reason = reason(reason_text).map_err(|e| AppError::field("reason", e))?;
    let role = {
        let mut conn = store.read().await?;
        let role = role(&mut conn, role_id).await?;
        if role.status == RoleStatus::Retired {
            return Err(AppError::invalid_state(format!("Role {} is already retired.", role.slug)));
        }
        refuse_managed(&role)?;
        require_role_within(&mut conn, actor, &role.id).await?;
        if pending_about(&mut conn, &role.id).await?.iter().any(|r| matches!(r.payload, ChangePayload::RoleRetire { .. })) {
            return Err(AppError::conflict(None, format!("Retiring {} is already proposed.", role.slug)));
        }
        role
    };
    let payload = ChangePayload::RoleRetire { role_id: role.id.clone() };
    file(store, actor, payload, &role.slug, Some(&role.id), role.sensitivity, &reason).await
}

fn view_of<'a>(query: &'a ChangeQuery, actor: &'a Actor) -> Result<ChangeView<'a>, AppError> {
    match present(&query.view) {
        None | Some("all") => Ok(ChangeView::All),
        Some("mine") => Ok(ChangeView::RequestedBy(&actor.id)),
        Some("review") => Ok(ChangeView::ToReview(&actor.id)),
        Some(other) => Err(AppError::invalid("view", format!("\"{other}\" is not a view; use review, mine or all."))),
    }
}

pub async fn list(store: &Store, actor: &Actor, query: &ChangeQuery) -> Result<Page<ChangeRequest>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let state = present(&query.state).map(ChangeState::parse).transpose().map_err(|e| AppError::invalid("state", e))?;
    let page = PageRequest { after: present(&query.after).map(str::to_owned), limit: query.limit };
    changes::list(&mut *store.read().await?, view_of(query, actor)?, state, &page, Timestamp::now()).await
}

pub async fn review(store: &Store, actor: &Actor, id: &str) -> Result<ChangeReview, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let mut conn = store.read().await?;
    let request = changes::by_id(&mut conn, id).await?.ok_or_else(|| AppError::not_found("Change request", id))?.as_seen_at(now);
    let policy = changes::policy(&mut conn).await?;
    let (diff, base_version, holders_pinned, holders_moving) = match &request.payload {
        ChangePayload::RoleCreate { definition, .. } => (Some(diff(None, definition)), None, 0, 0),
        ChangePayload::RoleVersion { role_id, base_version, definition, move_holders } => {
            let base = roles::version(&mut conn, role_id, *base_version).await?;
            let holders = roles::holders_by_version(&mut conn, role_id, now).await?;
            let total: i64 = holders.iter().map(|h| h.holders).sum();
            let moving = if *move_holders { total } else { 0 };
            (Some(diff(base.as_ref().map(|b| &b.definition), definition)), Some(*base_version), total - moving, moving)
        }
        ChangePayload::RoleRetire { role_id } => {
            let holders: i64 = roles::holders_by_version(&mut conn, role_id, now).await?.iter().map(|h| h.holders).sum();
            (None, None, holders, 0)
        }
        ChangePayload::Access { .. } | ChangePayload::Template { .. } => (None, None, 0, 0),
        ChangePayload::Acknowledge { drift_id, .. } => match crate::store::drift::by_id(&mut conn, drift_id).await? {
            Some(finding) => (super::drift::diff_of(&mut conn, &finding).await?, None, 0, 0),
            None => (None, None, 0, 0),
        },
        ChangePayload::MoveHolders { role_id, from_version, to_version, .. } => {
            let moving: i64 = roles::holders_by_version(&mut conn, role_id, now)
                .await?
                .iter()
                .filter(|h| h.version < *to_version && from_version.is_none_or(|f| f == h.version))
                .map(|h| h.holders)
                .sum();
            (None, None, 0, moving)
        }
    };
    // The blast radius is what the reviewer decides on; for closed requests it would describe a
    // present that no longer applies, so it is shown while pending only.
    let blast = if request.state.is_open() {
        let mut blast = super::access::blast_radius(&mut conn, &request, now).await?;
        blast.escalation = super::escalation::delta_of(store, &request.payload).await?;
        Some(blast)
    } else {
        None
    };
    let status = policy.evaluate(request.sensitivity, &request.requester_id, &request.decisions);
    let cannot_decide = if actor.can(Capability::Decide) || actor.kind == ActorKind::Operator {
        decision_refusal(&actor.id, &actor.roles, &request.requester_id, request.state, &request.decisions)
    } else {
        Some(DecisionRefusal::NotApprover)
    };
    let can_cancel = request.state.is_open() && request.requester_id == actor.id;
    Ok(ChangeReview { request, diff, base_version, status, blast, holders_pinned, holders_moving, cannot_decide, can_cancel })
}

/// Records an approver's decision; when it completes the policy the change is applied in the
/// same transaction, when it rejects the request is closed. Concurrent deciders of one request
/// are serialised by the request's row lock, so a change is never applied twice.
pub async fn decide(store: &Store, actor: &Actor, id: &str, verdict: &str, comment: &str) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Decide)?;
    let verdict = Verdict::parse(verdict).map_err(|e| AppError::invalid("verdict", e))?;
    let comment = name::text(comment, "Comment", 2000, verdict == Verdict::Reject).map_err(|e| AppError::field("comment", e))?;
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    if !changes::lock(tx.conn(), id, now).await? {
        return Err(AppError::not_found("Change request", id));
    }
    let request = changes::by_id(tx.conn(), id).await?.ok_or_else(|| AppError::not_found("Change request", id))?;
    if request.state == ChangeState::Pending && request.expires_at <= now {
        expire(&mut tx, &request, now).await?;
        tx.commit().await?;
        return Err(AppError::invalid_state("This request expired before it was decided; propose it again."));
    }
    if let Some(refusal) = decision_refusal(&actor.id, &actor.roles, &request.requester_id, request.state, &request.decisions) {
        return Err(if refusal.is_closed() { AppError::invalid_state(refusal.to_string()) } else { AppError::Refused { refusal } });
    }
    let decision = Decision { approver_id: actor.id.clone(), approver_name: actor.name.clone(), verdict, comment: comment.clone(), at: now };
    changes::insert_decision(tx.conn(), id, &decision).await?;
    let context = request.subject_id.clone().unwrap_or_else(|| request.id.clone());
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new(&format!("change.{}", verdict.as_str()), "change_request", id, json!({ "subject": request.subject, "comment": comment }))
            .in_context(&context),
    )
    .await?;
    let policy = changes::policy(tx.conn()).await?;
    if verdict == Verdict::Approve && policy.block_escalation {
        refuse_escalation(store, &request).await?;
    }
    let mut decisions = request.decisions.clone();
    decisions.push(decision);
    let status = policy.evaluate(request.sensitivity, &request.requester_id, &decisions);
    if status.rejected {
        finish(&mut tx, &request, ChangeState::Rejected, now, json!({})).await?;
    } else if status.satisfied() {
        let outcome = apply(tx.conn(), actor, &request, now).await?;
        finish(&mut tx, &request, ChangeState::Applied, now, outcome).await?;
    }
    let updated = changes::by_id(tx.conn(), id).await?.ok_or_else(|| AppError::not_found("Change request", id))?;
    tx.commit().await?;
    if updated.state == ChangeState::Applied {
        super::findings::settle_escalation_soon(store);
    }
    Ok(updated)
}

/// Refuses to approve a request that would open an escalation path (the policy blocks them
/// outright; otherwise such a request is privileged: see `access::propose`). The graph is
/// read through the store, from committed rows, not through the deciding transaction.
async fn refuse_escalation(store: &Store, request: &ChangeRequest) -> Result<(), AppError> {
    let Some(delta) = super::escalation::delta_of(store, &request.payload).await? else { return Ok(()) };
    match delta.opened.first() {
        Some(path) if delta.opened_count > 0 => Err(AppError::invalid_state(format!(
            "Escalation: this change would let {} reach {} in {} hop{} ({} path{} in all), and the approval policy blocks changes that open escalation paths. Reject it, or change the policy (Settings → Approval policy).",
            path.from.label,
            path.target.label,
            path.hops,
            if path.hops == 1 { "" } else { "s" },
            delta.opened_count,
            if delta.opened_count == 1 { "" } else { "s" },
        ))),
        _ => Ok(()),
    }
}

async fn finish(tx: &mut WriteTx, request: &ChangeRequest, state: ChangeState, at: Timestamp, outcome: serde_json::Value) -> Result<(), AppError> {
    if !changes::finish(tx.conn(), &request.id, state, at).await? {
        return Err(AppError::conflict(None, "Someone else decided this request at the same moment; reload it."));
    }
    let context = request.subject_id.clone().unwrap_or_else(|| request.id.clone());
    audit::append(
        tx.conn(),
        &Actor::system("approval policy"),
        AuditEntry::new(&format!("change.{}", state.as_str()), "change_request", &request.id, json!({ "subject": request.subject, "outcome": outcome }))
            .in_context(&context),
    )
    .await?;
    Ok(())
}

async fn expire(tx: &mut WriteTx, request: &ChangeRequest, at: Timestamp) -> Result<(), AppError> {
    finish(tx, request, ChangeState::Expired, at, json!({ "expired_at": request.expires_at.to_rfc3339() })).await
}

/// Carries out an approved change. Runs inside the approving transaction.
async fn apply(conn: &mut AnyConnection, actor: &Actor, request: &ChangeRequest, now: Timestamp) -> Result<serde_json::Value, AppError> {
    match &request.payload {
        ChangePayload::RoleCreate { slug, display_name, sensitivity, definition } => {
            let scope = scopes::ensure(conn, &definition.scope, ScopeKind::Namespace, now).await?;
            let role = Role {
                id: store::new_id(),
                slug: slug.clone(),
                display_name: display_name.clone(),
                description: definition.description.clone(),
                sensitivity: *sensitivity,
                status: RoleStatus::Active,
                current_version: 1,
                created_at: now,
                updated_at: now,
                managed_by: None,
            };
            roles::insert(conn, &role).await?;
            roles::insert_version(conn, &role.id, 1, &scope.id, definition, &request.requester_name, Some(&request.id), now).await?;
            audit::append(conn, actor, AuditEntry::new("role.create", "role", &role.id, json!({ "slug": slug, "version": 1, "change_request": request.id })))
                .await?;
            Ok(json!({ "role_id": role.id, "version": 1 }))
        }
        ChangePayload::RoleVersion { role_id, base_version, definition, move_holders } => {
            let role = role(conn, role_id).await?;
            if role.current_version != *base_version || role.status == RoleStatus::Retired {
                return Err(AppError::invalid_state(format!(
                    "Role {} changed since this was proposed (now v{}); reject it and propose again.",
                    role.slug, role.current_version
                )));
            }
            if *move_holders {
                // Holders who would move must not end up in a separation-of-duty conflict.
                super::access::check_separation(conn, request, now).await?;
            }
            let version = role.current_version + 1;
            let scope = scopes::ensure(conn, &definition.scope, ScopeKind::Namespace, now).await?;
            roles::insert_version(conn, role_id, version, &scope.id, definition, &request.requester_name, Some(&request.id), now).await?;
            roles::set_current_version(conn, role_id, version, now).await?;
            let moved = if *move_holders { assignments::move_holders(conn, role_id, version, &request.id, now).await? } else { 0 };
            // Holders left on older versions are now outdated; moved ones may conflict anew.
            super::findings::settle_holders_of_role(conn, role_id, super::findings::Touches::Versions, now).await?;
            audit::append(
                conn,
                actor,
                AuditEntry::new(
                    "role.version",
                    "role",
                    role_id,
                    json!({
                        "slug": role.slug, "version": version, "holders_moved": moved, "change_request": request.id,
                    }),
                ),
            )
            .await?;
            Ok(json!({ "role_id": role_id, "version": version, "holders_moved": moved }))
        }
        ChangePayload::RoleRetire { role_id } => {
            let role = role(conn, role_id).await?;
            roles::set_status(conn, role_id, RoleStatus::Retired, now).await?;
            let revoked = assignments::revoke_all_of_role(conn, role_id, now, "role retired").await?;
            super::findings::settle_holders_of_role(conn, role_id, super::findings::Touches::Grants, now).await?;
            audit::append(
                conn,
                actor,
                AuditEntry::new("role.retire", "role", role_id, json!({ "slug": role.slug, "assignments_revoked": revoked, "change_request": request.id })),
            )
            .await?;
            Ok(json!({ "role_id": role_id, "assignments_revoked": revoked }))
        }
        ChangePayload::Access { .. } | ChangePayload::MoveHolders { .. } => super::access::apply(conn, actor, request, now).await,
        ChangePayload::Template { .. } => super::templates::apply(conn, actor, request, now).await,
        ChangePayload::Acknowledge { drift_id, .. } => super::drift::apply(conn, actor, request, drift_id, now).await,
    }
}

/// The requester withdraws a pending request.
pub async fn cancel(store: &Store, actor: &Actor, id: &str) -> Result<ChangeRequest, AppError> {
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    if !changes::lock(tx.conn(), id, now).await? {
        return Err(AppError::not_found("Change request", id));
    }
    let request = changes::by_id(tx.conn(), id).await?.ok_or_else(|| AppError::not_found("Change request", id))?;
    if request.requester_id != actor.id {
        return Err(AppError::forbidden("cancel someone else's request"));
    }
    if !request.state.is_open() {
        return Err(AppError::invalid_state(format!("This request is already {}.", request.state.label().to_lowercase())));
    }
    finish(&mut tx, &request, ChangeState::Cancelled, now, json!({ "by": actor.name })).await?;
    let updated = changes::by_id(tx.conn(), id).await?.ok_or_else(|| AppError::not_found("Change request", id))?;
    tx.commit().await?;
    Ok(updated)
}

/// Closes pending requests whose time ran out, each with its audit event. Cheap when there are
/// none; the server's scheduler runs it every minute (and a decision expires its own request).
pub async fn expire_due(store: &Store) -> Result<usize, AppError> {
    let now = Timestamp::now();
    let due = changes::due_for_expiry(&mut *store.read().await?, now, 500).await?;
    for id in &due {
        let mut tx = store.begin().await?;
        changes::lock(tx.conn(), id, now).await?;
        if let Some(request) = changes::by_id(tx.conn(), id).await?.filter(|r| r.state.is_open()) {
            expire(&mut tx, &request, now).await?;
        }
        tx.commit().await?;
    }
    Ok(due.len())
}

pub async fn policy(store: &Store, actor: &Actor) -> Result<ApprovalPolicy, AppError> {
    require(actor, Capability::ReadLedger)?;
    changes::policy(&mut *store.read().await?).await
}

pub async fn set_policy(store: &Store, actor: &Actor, policy: &ApprovalPolicy) -> Result<ApprovalPolicy, AppError> {
    require(actor, Capability::Administer)?;
    policy.check().map_err(|e| AppError::invalid("policy", e))?;
    let now = Timestamp::now();
    let mut tx = store.begin().await?;
    let before = changes::policy(tx.conn()).await?;
    changes::set_policy(tx.conn(), policy, &actor.name, now).await?;
    audit::append(tx.conn(), actor, AuditEntry::new("policy.update", "approval_policy", "approval", json!({ "before": before, "after": policy }))).await?;
    tx.commit().await?;
    Ok(policy.clone())
}

/// Approver groups as the policy form shows them: `name: e-mail, e-mail` per line.
pub async fn groups_as_text(store: &Store, actor: &Actor, groups: &[crate::domain::change::ApproverGroup]) -> Result<String, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let mut lines = Vec::new();
    for group in groups {
        let mut emails = Vec::new();
        for id in &group.members {
            let email = crate::store::operators::by_id(&mut conn, id).await?.map(|o| o.email).unwrap_or_else(|| format!("(removed operator {id})"));
            emails.push(email);
        }
        let suffix = if group.privileged_only { " (privileged only)" } else { "" };
        lines.push(format!("{}: {}{suffix}", group.name, emails.join(", ")));
    }
    Ok(lines.join("\n"))
}

/// Parses the policy form's groups; members are named by e-mail and must be approvers.
pub async fn groups_from_text(store: &Store, actor: &Actor, text: &str) -> Result<Vec<crate::domain::change::ApproverGroup>, AppError> {
    require(actor, Capability::Administer)?;
    let invalid = |message: String| AppError::invalid("groups", message);
    let mut conn = store.read().await?;
    let mut groups = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, rest) = line.split_once(':').ok_or_else(|| invalid(format!("\"{line}\" must read `name: e-mail, e-mail`.")))?;
        let name = name.trim();
        if name.is_empty() || name.len() > 60 {
            return Err(invalid(format!("Group name \"{name}\" must be 1 to 60 characters.")));
        }
        let (rest, privileged_only) = match rest.trim().strip_suffix("(privileged only)") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let mut members = Vec::new();
        for email in rest.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let operator = crate::store::operators::by_email(&mut conn, &email.to_lowercase())
                .await?
                .ok_or_else(|| invalid(format!("No operator has e-mail {email}.")))?;
            if !operator.roles.contains(&crate::domain::actor::ConsoleRole::Approver) {
                return Err(invalid(format!("{email} is not an approver, so could never satisfy group {name}.")));
            }
            members.push(operator.id);
        }
        if members.is_empty() {
            return Err(invalid(format!("Group {name} has no members.")));
        }
        groups.push(crate::domain::change::ApproverGroup { name: name.to_owned(), members, privileged_only });
    }
    Ok(groups)
}
