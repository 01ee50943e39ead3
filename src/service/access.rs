//! Grants and revocations, separation of duties, blast radius, and the "who can / who holds"
//! questions. Grants are change requests (applied when approved); revocations take effect at
//! once unless the approval policy says otherwise.

use super::changes::{file, file_in};
use super::findings::Touches;
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::blast::{BlastRadius, Delta};
use crate::domain::change::{ChangePayload, ChangeRequest, ChangeState, GrantItem, RevokeItem};
pub use crate::domain::discovery::{
    AccessInput, Capable, EffectiveAccess, ExceptionInput, GrantInput, Holder, HolderFilter, HolderView, HoldersPage, Violations, WhoCanQuery,
};
use crate::domain::identity::IdentityStatus;
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::{ActionClass, Permission, RoleStatus, Sensitivity, VersionHolders, diff};
use crate::domain::scope::{ScopeKind, ScopePath};
use crate::domain::sod::{Finding, Holding, SodException, SodRule, SodRuleKind, conflicts, introduced};
use crate::error::{AppError, Problems};
use crate::store::access;
use crate::store::{self, Identities, Store, assignments, audit, changes, credentials, identities, roles, scopes, sod};
use serde_json::json;
use sqlx::AnyConnection;

async fn sod_context(conn: &mut AnyConnection, identity_id: &str) -> Result<(Vec<SodRule>, Vec<SodException>), AppError> {
    Ok((sod::rules(conn).await?, sod::exceptions_of(conn, identity_id).await?))
}

/// The conflicts `after` introduces over `before` for one identity, under `rules`.
async fn new_findings(
    conn: &mut AnyConnection,
    identity_id: &str,
    before: &[Holding],
    after: &[Holding],
    rules: &[SodRule],
    now: Timestamp,
) -> Result<Vec<Finding>, AppError> {
    let exceptions = sod::exceptions_of(conn, identity_id).await?;
    let was = conflicts(identity_id, before, rules, &exceptions, now);
    Ok(introduced(&was, conflicts(identity_id, after, rules, &exceptions, now)))
}

pub(crate) async fn resolve_role(conn: &mut AnyConnection, id_or_slug: &str) -> Result<Option<crate::domain::role::Role>, AppError> {
    match roles::by_id(conn, id_or_slug).await? {
        Some(role) => Ok(Some(role)),
        None => roles::by_slug(conn, id_or_slug).await,
    }
}

/// Parses and checks grants and revocations against the ledger; every problem is reported.
async fn prepare(
    conn: &mut AnyConnection,
    actor: &Actor,
    input: &AccessInput,
    now: Timestamp,
) -> Result<(Vec<GrantItem>, Vec<RevokeItem>, Sensitivity), AppError> {
    let mut problems = Problems::new();
    let mut grants = Vec::new();
    let mut sensitivity = Sensitivity::Standard;
    for (n, g) in input.grants.iter().enumerate() {
        let field = if input.grants.len() == 1 { "grant".to_owned() } else { format!("grant {}", n + 1) };
        let Some(identity) = identities::by_id(conn, &g.identity_id).await? else {
            problems.add(&field, "Choose an identity that exists.");
            continue;
        };
        if identity.status != IdentityStatus::Active {
            problems.add(&field, format!("{} is {}; only active identities receive grants.", identity.name, identity.status.label().to_lowercase()));
            continue;
        }
        let Some(role) = resolve_role(conn, g.role.trim()).await? else {
            problems.add("role", format!("No role \"{}\".", g.role.trim()));
            continue;
        };
        if role.status == RoleStatus::Retired {
            problems.add("role", format!("Role {} is retired and cannot be granted.", role.slug));
            continue;
        }
        let Some(current) = roles::version(conn, &role.id, role.current_version).await? else {
            return Err(AppError::internal("role without current version", &role.id));
        };
        let scope = if g.scope.trim().is_empty() { Ok(current.definition.scope.clone()) } else { ScopePath::parse(&g.scope) };
        let Some(scope) = problems.check("scope", scope) else { continue };
        super::require_within(actor, &scope)?;
        if !current.definition.scope.covers(&scope) {
            problems.add("scope", format!("{} applies within {}; {} is outside it.", role.slug, current.definition.scope, scope));
            continue;
        }
        let expires_at = match g.expires_at.trim() {
            "" => None,
            text => match Timestamp::parse_user_input(text) {
                Ok(t) if t > now => Some(t),
                Ok(_) => {
                    problems.add("expires_at", "The expiry must be in the future.");
                    continue;
                }
                Err(e) => {
                    problems.add("expires_at", e);
                    continue;
                }
            },
        };
        if let Some(existing) = scopes::by_path(conn, &scope).await?
            && assignments::holds(conn, &identity.id, &role.id, &existing.id, now).await?
        {
            problems.add(&field, format!("{} already holds {} on {}.", identity.name, role.slug, scope));
            continue;
        }
        if role.sensitivity == Sensitivity::Privileged {
            sensitivity = Sensitivity::Privileged;
        }
        grants.push(GrantItem { identity_id: identity.id, identity_name: identity.name, role_id: role.id, role_slug: role.slug, scope, expires_at });
    }
    let mut revokes = Vec::new();
    for id in &input.revokes {
        match assignments::by_id(conn, id).await? {
            Some(a) if a.is_active(now) => {
                super::require_within_path(actor, &a.scope)?;
                if let Some(role) = roles::by_id(conn, &a.role_id).await?
                    && role.sensitivity == Sensitivity::Privileged
                {
                    sensitivity = Sensitivity::Privileged;
                }
                revokes.push(RevokeItem { assignment_id: a.id, identity_id: a.identity_id, identity_name: a.identity_name, role_slug: a.role_slug })
            }
            Some(_) => problems.add("revoke", "That assignment already ended."),
            None => problems.add("revoke", "Choose an assignment that exists."),
        }
    }
    if grants.is_empty() && revokes.is_empty() {
        problems.add("grant", "Nothing to change: add a grant or a revocation.");
    }
    problems.into_result()?;
    Ok((grants, revokes, sensitivity))
}

/// Files grants and revocations as one change request, in one transaction. Revocations alone
/// take effect at once (audited) unless the policy wants them approved or one of them ends a
/// privileged role's assignment, which is always reviewed.
pub async fn propose(store: &Store, actor: &Actor, input: &AccessInput) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    let reason = crate::domain::name::text(&input.reason, "Reason", 2000, true).map_err(|e| AppError::field("reason", e))?;
    let now = Timestamp::now();
    // Grants that open an escalation path to a privileged target need the privileged number of
    // approvals. The graph is read outside the write transaction (it is built from committed
    // rows only), from the same checks the transaction repeats.
    let opens_paths = if input.grants.is_empty() {
        false
    } else {
        let (grants, revokes, _) = prepare(&mut *store.read().await?, actor, input, now).await?;
        let preview = ChangePayload::Access { grants, revokes };
        super::escalation::delta_of(store, &preview).await?.is_some_and(|d| d.opened_count > 0)
    };
    let mut tx = store.begin().await?;
    let (grants, revokes, mut sensitivity) = prepare(tx.conn(), actor, input, now).await?;
    if opens_paths {
        sensitivity = Sensitivity::Privileged;
    }
    let immediate = grants.is_empty() && sensitivity == Sensitivity::Standard && !changes::policy(tx.conn()).await?.revocations_need_approval;
    let subject = match (grants.as_slice(), revokes.as_slice()) {
        ([g], []) => format!("{} → {}", g.identity_name, g.role_slug),
        ([], [r]) => format!("{} ✕ {}", r.identity_name, r.role_slug),
        _ => format!("{} grant(s), {} revocation(s)", grants.len(), revokes.len()),
    };
    let payload = ChangePayload::Access { grants, revokes };
    let request = file_in(tx.conn(), actor, payload, &subject, None, sensitivity, &reason, now).await?;
    if !immediate {
        tx.commit().await?;
        return Ok(request);
    }
    let outcome = apply(tx.conn(), actor, &request, now).await?;
    if !changes::finish(tx.conn(), &request.id, ChangeState::Applied, now).await? {
        return Err(AppError::conflict(None, "The revocation was changed meanwhile; reload."));
    }
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new("change.applied", "change_request", &request.id, json!({ "subject": subject, "outcome": outcome, "immediate": true })),
    )
    .await?;
    let applied = changes::by_id(tx.conn(), &request.id).await?.ok_or_else(|| AppError::not_found("Change request", &request.id))?;
    tx.commit().await?;
    // Applied without review, like an approval: the paths the ended grants opened close.
    super::findings::settle_escalation_soon(store);
    Ok(applied)
}

/// Files "move the holders still on older versions of a role to its current version".
pub async fn propose_move_holders(store: &Store, actor: &Actor, role_id: &str, from_version: Option<i64>, reason: &str) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    let reason = crate::domain::name::text(reason, "Reason", 2000, true).map_err(|e| AppError::field("reason", e))?;
    let mut conn = store.read().await?;
    let role = resolve_role(&mut conn, role_id).await?.ok_or_else(|| AppError::not_found("Role", role_id))?;
    super::changes::require_role_within(&mut conn, actor, &role.id).await?;
    let outdated: i64 = roles::holders_by_version(&mut conn, &role.id, Timestamp::now())
        .await?
        .iter()
        .filter(|h| h.version < role.current_version && from_version.is_none_or(|v| v == h.version))
        .map(|h| h.holders)
        .sum();
    if outdated == 0 {
        return Err(AppError::invalid_state(format!("No holder of {} is on an older version to move.", role.slug)));
    }
    drop(conn);
    let payload = ChangePayload::MoveHolders { role_id: role.id.clone(), role_slug: role.slug.clone(), from_version, to_version: role.current_version };
    let subject = role.slug.clone();
    let sensitivity = if super::escalation::opens_paths(store, &payload).await? { Sensitivity::Privileged } else { role.sensitivity };
    file(store, actor, payload, &subject, Some(&role.id), sensitivity, &reason).await
}

/// A holding as a proposed grant would create it (pinned to the role's current version).
async fn proposed_holding(conn: &mut AnyConnection, grant: &GrantItem) -> Result<Holding, AppError> {
    let role = roles::by_id(conn, &grant.role_id).await?.ok_or_else(|| AppError::not_found("Role", &grant.role_id))?;
    Ok(Holding {
        assignment_id: None,
        role_id: role.id.clone(),
        role_slug: role.slug.clone(),
        version: role.current_version,
        scope: grant.scope.clone(),
        permissions: access::version_permissions(conn, &role.id, role.current_version).await?,
        expires_at: grant.expires_at,
    })
}

/// What the request would do: who gains and loses which permissions, and the conflicts it
/// would introduce.
pub async fn blast_radius(conn: &mut AnyConnection, request: &ChangeRequest, now: Timestamp) -> Result<BlastRadius, AppError> {
    let rules = sod::rules(conn).await?;
    Ok(blast_radius_under(conn, request, &rules, now).await?.0)
}

/// The holdings each identity of an access change would have after it, in identity order;
/// its grants' holdings have no assignment id yet.
type Proposed = Vec<(String, Vec<Holding>)>;

/// `blast_radius` under the separation-of-duty rules `rules` (read once for every identity),
/// with the holdings an access change proposes (empty for other changes).
async fn blast_radius_under(conn: &mut AnyConnection, request: &ChangeRequest, rules: &[SodRule], now: Timestamp) -> Result<(BlastRadius, Proposed), AppError> {
    let mut blast = BlastRadius::default();
    let mut proposed = Proposed::new();
    match &request.payload {
        ChangePayload::Access { grants, revokes } => {
            for identity_id in request.payload.identities() {
                let before = access::holdings(conn, &identity_id, now).await?;
                let mut after: Vec<Holding> =
                    before.iter().filter(|h| !revokes.iter().any(|r| h.assignment_id.as_deref() == Some(r.assignment_id.as_str()))).cloned().collect();
                for grant in grants.iter().filter(|g| g.identity_id == identity_id) {
                    let holding = proposed_holding(conn, grant).await?;
                    blast.gain(Delta {
                        identity_id: identity_id.clone(),
                        identity_name: grant.identity_name.clone(),
                        role_slug: holding.role_slug.clone(),
                        scope: holding.scope.to_string(),
                        permissions: holding.permissions.clone(),
                    });
                    after.push(holding);
                }
                for revoke in revokes.iter().filter(|r| r.identity_id == identity_id) {
                    if let Some(h) = before.iter().find(|h| h.assignment_id.as_deref() == Some(revoke.assignment_id.as_str())) {
                        blast.lose(Delta {
                            identity_id: identity_id.clone(),
                            identity_name: revoke.identity_name.clone(),
                            role_slug: h.role_slug.clone(),
                            scope: h.scope.to_string(),
                            permissions: h.permissions.clone(),
                        });
                    }
                }
                blast.findings.extend(new_findings(conn, &identity_id, &before, &after, rules, now).await?);
                proposed.push((identity_id, after));
            }
        }
        ChangePayload::RoleVersion { role_id, base_version, definition, move_holders: true } => {
            let base = access::version_permissions(conn, role_id, *base_version).await?;
            let d = diff(Some(&crate::domain::role::RoleDefinition::new(definition.scope.clone(), String::new(), base, None)), definition);
            moving_holders(conn, &mut blast, role_id, None, &d.added, &d.removed, definition.permissions.clone(), rules, now).await?;
        }
        ChangePayload::MoveHolders { role_id, from_version, to_version, .. } => {
            let target = access::version_permissions(conn, role_id, *to_version).await?;
            moving_holders(conn, &mut blast, role_id, *from_version, &target, &[], target.clone(), rules, now).await?;
        }
        ChangePayload::RoleRetire { role_id } => {
            let (holders, _) = access::holders(conn, role_id, HolderFilter::default(), &PageRequest { after: None, limit: Some(50) }, 50, now).await?;
            let total: i64 = roles::holders_by_version(conn, role_id, now).await?.iter().map(|h| h.holders).sum();
            for h in holders {
                let permissions = access::version_permissions(conn, role_id, h.version).await?;
                blast.lose(Delta {
                    identity_id: h.identity_id,
                    identity_name: h.identity_name,
                    role_slug: request.subject.clone(),
                    scope: h.scope,
                    permissions,
                });
            }
            blast.losing_count = total;
        }
        ChangePayload::Acknowledge { drift_id, .. } => {
            let Some(finding) = crate::store::drift::by_id(conn, drift_id).await? else { return Ok((blast, proposed)) };
            match (finding.kind, &finding.role_id, finding.role_version) {
                // The source already moved the role's holders: accepting the change accepts
                // what they gained and lost, and any conflict it brought.
                (crate::domain::drift::DriftKind::ChangedOutsideReview, Some(role_id), Some(version)) => {
                    let observed = access::version_permissions(conn, role_id, version).await?;
                    let base = match finding.base_version {
                        Some(base) => access::version_permissions(conn, role_id, base).await?,
                        None => Vec::new(),
                    };
                    let gained: Vec<Permission> = observed.iter().filter(|p| !base.contains(p)).cloned().collect();
                    let lost: Vec<Permission> = base.iter().filter(|p| !observed.contains(p)).cloned().collect();
                    moving_holders(conn, &mut blast, role_id, Some(version), &gained, &lost, observed, rules, now).await?;
                }
                // Accepting a grant accepts what it allows its holder.
                (crate::domain::drift::DriftKind::UnreviewedAccess, Some(role_id), Some(_)) => {
                    let holding = access::holdings(conn, finding.identity_id.as_deref().unwrap_or_default(), now)
                        .await?
                        .into_iter()
                        .find(|h| h.assignment_id.as_deref() == Some(finding.subject_id.as_str()));
                    if let Some(h) = holding {
                        let name = identities::by_id(conn, finding.identity_id.as_deref().unwrap_or_default()).await?.map(|i| i.name).unwrap_or_default();
                        blast.gain(Delta {
                            identity_id: finding.identity_id.clone().unwrap_or_default(),
                            identity_name: name,
                            role_slug: h.role_slug.clone(),
                            scope: h.scope.to_string(),
                            // The version the grant is on now (an import moves it with its role).
                            permissions: access::version_permissions(conn, role_id, h.version).await?,
                        });
                    }
                }
                _ => {}
            }
        }
        ChangePayload::RoleCreate { .. } | ChangePayload::RoleVersion { .. } | ChangePayload::Template { .. } => {}
    }
    Ok((blast, proposed))
}

/// Blast radius of moving a role's holders to new permissions: the first named, all counted,
/// and the separation-of-duty check run for every holder who could end up in conflict.
#[allow(clippy::too_many_arguments)]
async fn moving_holders(
    conn: &mut AnyConnection,
    blast: &mut BlastRadius,
    role_id: &str,
    from_version: Option<i64>,
    gained: &[Permission],
    lost: &[Permission],
    new_permissions: Vec<Permission>,
    rules: &[SodRule],
    now: Timestamp,
) -> Result<(), AppError> {
    let role = roles::by_id(conn, role_id).await?.ok_or_else(|| AppError::not_found("Role", role_id))?;
    let counts: Vec<VersionHolders> = roles::holders_by_version(conn, role_id, now).await?;
    let moving = |v: i64| from_version.map_or(v <= role.current_version, |f| f == v);
    let (named, _) = access::holders(conn, role_id, HolderFilter::default(), &PageRequest { after: None, limit: Some(200) }, 200, now).await?;
    for h in named.into_iter().filter(|h| moving(h.version)) {
        blast.gain(Delta {
            identity_id: h.identity_id.clone(),
            identity_name: h.identity_name.clone(),
            role_slug: role.slug.clone(),
            scope: h.scope.clone(),
            permissions: gained.to_vec(),
        });
        blast.lose(Delta {
            identity_id: h.identity_id,
            identity_name: h.identity_name,
            role_slug: role.slug.clone(),
            scope: h.scope,
            permissions: lost.to_vec(),
        });
    }
    let total: i64 = counts.iter().filter(|c| moving(c.version)).map(|c| c.holders).sum();
    if !gained.is_empty() {
        blast.gaining_count = total;
    }
    if !lost.is_empty() {
        blast.losing_count = total;
    }
    // Only identities holding another role on a resource the change touches (or a role paired
    // with this one) can end up in conflict; checking them alone keeps approval fast at scale.
    let paired: Vec<String> = rules
        .iter()
        .filter_map(|r| match &r.kind {
            SodRuleKind::RolePair { role_a, role_b } if role_a == role_id => Some(role_b.clone()),
            SodRuleKind::RolePair { role_a, role_b } if role_b == role_id => Some(role_a.clone()),
            _ => None,
        })
        .collect();
    let resources: Vec<String> = new_permissions.iter().map(|p| p.resource.clone()).collect();
    for identity_id in access::conflict_candidates(conn, role_id, &resources, &paired, now).await? {
        let before = access::holdings(conn, &identity_id, now).await?;
        let after: Vec<Holding> = before
            .iter()
            .cloned()
            .map(|mut h| {
                if h.role_id == role_id && moving(h.version) {
                    h.version = role.current_version.max(h.version);
                    h.permissions = new_permissions.clone();
                }
                h
            })
            .collect();
        blast.findings.extend(new_findings(conn, &identity_id, &before, &after, rules, now).await?);
    }
    Ok(())
}

/// Refuses to apply a change that would leave anyone in an unexcepted conflict. Returns the
/// separation-of-duty rules it checked with: the applying transaction settles findings under
/// the same rules without reading them again (a round trip per approval).
pub async fn check_separation(conn: &mut AnyConnection, request: &ChangeRequest, now: Timestamp) -> Result<Vec<SodRule>, AppError> {
    Ok(separation_checked(conn, request, now).await?.0)
}

/// `check_separation`, with the holdings the change proposes (see `blast_radius_under`).
async fn separation_checked(conn: &mut AnyConnection, request: &ChangeRequest, now: Timestamp) -> Result<(Vec<SodRule>, Proposed), AppError> {
    let rules = sod::rules(conn).await?;
    let (blast, proposed) = blast_radius_under(conn, request, &rules, now).await?;
    let blocking = blast.blocking();
    if let Some(first) = blocking.first() {
        return Err(AppError::invalid_state(format!(
            "Separation of duties: {} {}Add an exception for it (Settings → Separation of duties) or reject the request.",
            first.message,
            if blocking.len() > 1 { format!("(and {} more conflicts) ", blocking.len() - 1) } else { String::new() },
        )));
    }
    Ok((rules, proposed))
}

/// Ends an assignment and revokes the credentials exercising it, with the audit events; returns
/// the identity, whose findings the caller settles (once for all it changed).
pub async fn end_assignment(conn: &mut AnyConnection, actor: &Actor, assignment_id: &str, reason: &str, at: Timestamp) -> Result<String, AppError> {
    let Some(assignment) = assignments::by_id(conn, assignment_id).await? else {
        return Err(AppError::not_found("Assignment", assignment_id));
    };
    if !assignments::revoke(conn, assignment_id, &actor.name, at, reason).await? {
        return Ok(assignment.identity_id);
    }
    let revoked = credentials::revoke_for_assignment(conn, assignment_id, at, &format!("assignment ended: {reason}")).await?;
    audit::append(
        conn,
        actor,
        AuditEntry::new(
            "assignment.revoke",
            "assignment",
            assignment_id,
            json!({
                "identity": assignment.identity_name, "role": assignment.role_slug, "version": assignment.role_version,
                "reason": reason, "credentials_revoked": revoked,
            }),
        )
        .in_context(&assignment.identity_id),
    )
    .await?;
    Ok(assignment.identity_id)
}

/// Gives the holding `grant` proposed its assignment id `id`; false when it has none left.
fn assign_proposed(proposed: &mut Proposed, grant: &GrantItem, role_id: &str, id: &str) -> bool {
    let holding = proposed
        .iter_mut()
        .filter(|(identity_id, _)| *identity_id == grant.identity_id)
        .flat_map(|(_, holdings)| holdings.iter_mut())
        .find(|h| h.assignment_id.is_none() && h.role_id == role_id && h.scope == grant.scope && h.expires_at == grant.expires_at);
    match holding {
        Some(h) => {
            h.assignment_id = Some(id.to_owned());
            true
        }
        None => false,
    }
}

/// Carries out an approved access change inside the approving transaction.
pub async fn apply(conn: &mut AnyConnection, actor: &Actor, request: &ChangeRequest, now: Timestamp) -> Result<serde_json::Value, AppError> {
    match &request.payload {
        ChangePayload::Access { grants, revokes } => {
            let (rules, mut proposed) = separation_checked(conn, request, now).await?;
            // Whether the proposed holdings are what the identities hold once the grants are
            // in: then settling need not read them back (a round trip per approval).
            let mut as_proposed = revokes.is_empty();
            let mut granted = Vec::new();
            for grant in grants {
                let role = roles::by_id(conn, &grant.role_id).await?.ok_or_else(|| AppError::not_found("Role", &grant.role_id))?;
                if role.status == RoleStatus::Retired {
                    return Err(AppError::invalid_state(format!("Role {} was retired meanwhile; reject this request.", role.slug)));
                }
                let identity = identities::by_id(conn, &grant.identity_id).await?.ok_or_else(|| AppError::not_found("Identity", &grant.identity_id))?;
                if identity.status != IdentityStatus::Active {
                    return Err(AppError::invalid_state(format!("{} is no longer active; reject this request.", identity.name)));
                }
                let scope = scopes::ensure(conn, &grant.scope, ScopeKind::Namespace, now).await?;
                if assignments::holds(conn, &grant.identity_id, &role.id, &scope.id, now).await? {
                    as_proposed = false;
                    continue;
                }
                let id = store::new_id();
                as_proposed &= grant.expires_at.is_none_or(|t| t > now) && assign_proposed(&mut proposed, grant, &role.id, &id);
                assignments::insert(
                    conn,
                    &assignments::NewAssignment {
                        id: &id,
                        identity_id: &grant.identity_id,
                        role_id: &role.id,
                        role_version: role.current_version,
                        scope_id: &scope.id,
                        granted_by: &request.requester_name,
                        change_request_id: Some(&request.id),
                        expires_at: grant.expires_at,
                    },
                    now,
                )
                .await?;
                audit::append(
                    conn,
                    actor,
                    AuditEntry::new(
                        "assignment.grant",
                        "assignment",
                        &id,
                        json!({
                            "identity": grant.identity_name, "role": role.slug, "version": role.current_version,
                            "scope": grant.scope.to_string(), "expires_at": grant.expires_at.map(|t| t.to_rfc3339()),
                            "change_request": request.id,
                        }),
                    )
                    .in_context(&grant.identity_id),
                )
                .await?;
                granted.push(json!({ "assignment_id": id, "identity": grant.identity_name, "role": role.slug, "version": role.current_version }));
            }
            let mut revoked = 0;
            let mut touched: Vec<String> = grants.iter().map(|g| g.identity_id.clone()).collect();
            let touches = if revokes.is_empty() { Touches::Granted } else { Touches::Grants };
            for revoke in revokes {
                touched.push(end_assignment(conn, actor, &revoke.assignment_id, &format!("change request {}", request.id), now).await?);
                revoked += 1;
            }
            for (_, holdings) in &mut proposed {
                // In the order `access::holdings` reads them: which of two grants of a role is
                // met first decides the scopes a conflict's message names.
                holdings.sort_by(|a, b| a.assignment_id.cmp(&b.assignment_id));
            }
            let known = super::findings::Known { rules: &rules, holdings: as_proposed.then_some(proposed.as_slice()) };
            super::findings::settle_under(conn, &touched, touches, Some(&known), now).await?;
            Ok(json!({ "granted": granted, "revoked": revoked }))
        }
        ChangePayload::MoveHolders { role_id, from_version, to_version, role_slug } => {
            check_separation(conn, request, now).await?;
            let moved = assignments::move_holders_from(conn, role_id, *from_version, *to_version, &request.id, now).await?;
            super::findings::settle_holders_of_role(conn, role_id, Touches::Versions, now).await?;
            audit::append(
                conn,
                actor,
                AuditEntry::new(
                    "role.move_holders",
                    "role",
                    role_id,
                    json!({ "slug": role_slug, "to_version": to_version, "moved": moved, "change_request": request.id }),
                ),
            )
            .await?;
            Ok(json!({ "moved": moved, "to_version": to_version }))
        }
        _ => Err(AppError::internal("apply access", "not an access change")),
    }
}

/// Largest page of holders one call returns.
pub const MAX_HOLDERS_PAGE: u32 = 10_000;

pub async fn holders(
    store: &Store,
    actor: &Actor,
    role: &str,
    version: Option<i64>,
    scope: Option<&ScopePath>,
    page: &PageRequest,
) -> Result<HoldersPage, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let mut conn = store.read().await?;
    let role = resolve_role(&mut conn, role).await?.ok_or_else(|| AppError::not_found("Role", role))?;
    let filter = HolderFilter { version, scope: scope.map(ScopePath::as_str) };
    let size = page.limit.unwrap_or(MAX_HOLDERS_PAGE).clamp(1, MAX_HOLDERS_PAGE);
    let (holders, next_cursor, counts) = match store.holder_cache().snapshot(&mut conn, &role.id).await? {
        Some(snapshot) => {
            let now = now.to_rfc3339();
            let (holders, next) = snapshot.page(filter, page.after.as_deref(), size as usize, &now);
            (holders, next, snapshot.counts(&now))
        }
        None => {
            let (holders, next) = access::holders(&mut conn, &role.id, filter, page, size, now).await?;
            (HolderView::from(holders), next, roles::holders_by_version(&mut conn, &role.id, now).await?)
        }
    };
    let total = counts.iter().map(|c| c.holders).sum();
    Ok(HoldersPage { holders, next_cursor, counts, total })
}

pub async fn effective(store: &Store, actor: &Actor, identity_id: &str) -> Result<EffectiveAccess, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let mut conn = store.read().await?;
    identities::by_id(&mut conn, identity_id).await?.ok_or_else(|| AppError::not_found("Identity", identity_id))?;
    let holdings = access::holdings(&mut conn, identity_id, now).await?;
    let (rules, exceptions) = sod_context(&mut conn, identity_id).await?;
    let findings = conflicts(identity_id, &holdings, &rules, &exceptions, now);
    let pending = changes::pending_for_identity(&mut conn, identity_id).await?;
    let qualified = qualifications(&mut conn, identity_id, &holdings).await?;
    Ok(EffectiveAccess { holdings, findings, pending, qualified })
}

/// What the sources of imported grants say beyond the permissions nhidb derives: Deny
/// statements among the principal's policies (from the same source) and conditions (see
/// `domain::source::qualify`). Only grants with something to say are returned.
async fn qualifications(conn: &mut AnyConnection, identity_id: &str, holdings: &[Holding]) -> Result<Vec<crate::domain::source::Qualification>, AppError> {
    use crate::domain::source::{Effect, SourceRule, qualify};
    let mut imported = Vec::new();
    for holding in holdings {
        let Some(source) = roles::by_id(conn, &holding.role_id).await?.and_then(|r| r.managed_by) else { continue };
        let Some(version) = roles::version(conn, &holding.role_id, holding.version).await? else { continue };
        imported.push((holding, (source.kind, source.source), version.definition.rules));
    }
    if imported.is_empty() {
        return Ok(Vec::new());
    }
    let conditions: std::collections::HashMap<String, String> = access::grant_conditions(conn, identity_id).await?.into_iter().collect();
    let mut out = Vec::new();
    for (holding, source, rules) in &imported {
        let Some(assignment_id) = &holding.assignment_id else { continue };
        // An explicit Deny in any of the principal's policies applies to all of them.
        let denies: Vec<SourceRule> =
            imported.iter().filter(|(_, s, _)| s == source).flat_map(|(_, _, r)| r.iter().filter(|r| r.effect == Effect::Deny).cloned()).collect();
        let mut q = qualify(source.0, rules, &holding.permissions, &denies, conditions.get(assignment_id).map(String::as_str));
        if !q.is_empty() {
            q.assignment_id = assignment_id.clone();
            out.push(q);
        }
    }
    Ok(out)
}

/// The permissions alone (the benchmark's "effective permissions of one identity").
pub async fn effective_permissions(store: &Store, actor: &Actor, identity_id: &str) -> Result<Vec<Holding>, AppError> {
    require(actor, Capability::ReadLedger)?;
    access::holdings(&mut *store.read().await?, identity_id, Timestamp::now()).await
}

pub async fn who_can(store: &Store, actor: &Actor, query: &WhoCanQuery) -> Result<Page<Capable>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut problems = Problems::new();
    let scope = problems.check("scope", ScopePath::parse(&query.scope));
    let action = crate::domain::page::present(&query.action);
    if let Some(a) = action
        && crate::domain::role::classify(a).is_none()
    {
        problems.add("action", format!("\"{a}\" is not a known action."));
    }
    let class = crate::domain::page::present(&query.class);
    if let Some(c) = class {
        problems.check("class", ActionClass::parse(c));
    }
    if action.is_none() && class.is_none() {
        problems.add("action", "Name an action (write) or a class of actions (read, write, admin).");
    }
    problems.into_result()?;
    let page = PageRequest { after: crate::domain::page::present(&query.after).map(str::to_owned), limit: query.limit };
    let resource = crate::domain::page::present(&query.resource);
    let scope = scope.ok_or_else(|| AppError::invalid("scope", "A scope is required."))?;
    access::who_can(&mut *store.read().await?, action, class, resource, &scope, &page, Timestamp::now()).await
}

pub async fn holders_at(store: &Store, actor: &Actor, role: &str, at: &str, page: &PageRequest) -> Result<Page<Holder>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let at = Timestamp::parse_user_input(at).or_else(|_| at.parse()).map_err(|e: String| AppError::invalid("at", e))?;
    let mut conn = store.read().await?;
    let role = resolve_role(&mut conn, role).await?.ok_or_else(|| AppError::not_found("Role", role))?;
    access::holders_at(&mut conn, &role.id, at, page).await
}

pub async fn violations(store: &Store, actor: &Actor, after: Option<&str>, limit: i64) -> Result<Violations, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let mut conn = store.read().await?;
    let rules = sod::rules(&mut conn).await?;
    let mut out = Violations::default();
    if !rules.iter().any(|r| r.enabled) {
        return Ok(out);
    }
    let ids = sod::multi_holders(&mut conn, after.unwrap_or(""), limit, now).await?;
    for (id, holdings) in access::holdings_of_many(&mut conn, Identities::Listed(&ids), now).await? {
        // Exceptions only decide whether a finding blocks; most identities have no finding.
        if conflicts(&id, &holdings, &rules, &[], now).is_empty() {
            continue;
        }
        let exceptions = sod::exceptions_of(&mut conn, &id).await?;
        let name = identities::by_id(&mut conn, &id).await?.map(|i| i.name).unwrap_or_default();
        for finding in conflicts(&id, &holdings, &rules, &exceptions, now) {
            out.findings.push((id.clone(), name.clone(), finding));
        }
    }
    if ids.len() as i64 == limit {
        out.next_cursor = ids.last().cloned();
    }
    Ok(out)
}

pub async fn sod_rules(store: &Store, actor: &Actor) -> Result<Vec<SodRule>, AppError> {
    require(actor, Capability::ReadLedger)?;
    sod::rules(&mut *store.read().await?).await
}

pub async fn add_role_pair(store: &Store, actor: &Actor, role_a: &str, role_b: &str, description: &str) -> Result<SodRule, AppError> {
    require(actor, Capability::Administer)?;
    let description = crate::domain::name::text(description, "Description", 500, true).map_err(|e| AppError::field("description", e))?;
    let mut tx = store.begin().await?;
    let a = resolve_role(tx.conn(), role_a).await?.ok_or_else(|| AppError::invalid("role_a", format!("No role \"{role_a}\".")))?;
    let b = resolve_role(tx.conn(), role_b).await?.ok_or_else(|| AppError::invalid("role_b", format!("No role \"{role_b}\".")))?;
    if a.id == b.id {
        return Err(AppError::invalid("role_b", "A role cannot conflict with itself."));
    }
    let id = store::new_id();
    let now = Timestamp::now();
    sod::insert_pair(tx.conn(), &id, &a.id, &b.id, &description, &actor.name, now).await?;
    let rule =
        SodRule { id: id.clone(), kind: SodRuleKind::RolePair { role_a: a.id.clone(), role_b: b.id.clone() }, description: description.clone(), enabled: true };
    super::findings::settle_rule(tx.conn(), &rule, now).await?;
    audit::append(tx.conn(), actor, AuditEntry::new("sod.rule_add", "sod_rule", &id, json!({ "roles": [a.slug, b.slug], "description": description }))).await?;
    tx.commit().await?;
    Ok(SodRule { id, kind: SodRuleKind::RolePair { role_a: a.id, role_b: b.id }, description, enabled: true })
}

pub async fn set_rule_enabled(store: &Store, actor: &Actor, rule_id: &str, enabled: bool) -> Result<(), AppError> {
    require(actor, Capability::Administer)?;
    let mut tx = store.begin().await?;
    if !sod::set_enabled(tx.conn(), rule_id, enabled).await? {
        return Err(AppError::not_found("Rule", rule_id));
    }
    audit::append(tx.conn(), actor, AuditEntry::new(if enabled { "sod.rule_enable" } else { "sod.rule_disable" }, "sod_rule", rule_id, json!({}))).await?;
    if let Some(rule) = sod::rules(tx.conn()).await?.into_iter().find(|r| r.id == rule_id) {
        super::findings::settle_rule(tx.conn(), &rule, Timestamp::now()).await?;
    }
    tx.commit().await
}

/// An admin's exception to a rule for one identity; it expires.
pub async fn add_exception(store: &Store, actor: &Actor, input: &ExceptionInput) -> Result<SodException, AppError> {
    require(actor, Capability::Administer)?;
    let now = Timestamp::now();
    let mut problems = Problems::new();
    let justification = problems.check("justification", crate::domain::name::text(&input.justification, "Justification", 1000, true));
    let expires_at = problems.check("expires_at", Timestamp::parse_user_input(&input.expires_at));
    if expires_at.is_some_and(|e| e <= now || e > now.plus_days(366)) {
        problems.add("expires_at", "An exception expires within a year from now.");
    }
    problems.into_result()?;
    let (Some(justification), Some(expires_at)) = (justification, expires_at) else {
        return Err(AppError::invalid("request", "The exception form is incomplete."));
    };
    let mut tx = store.begin().await?;
    let rules = sod::rules(tx.conn()).await?;
    let rule = rules.iter().find(|r| r.id == input.rule_id).ok_or_else(|| AppError::invalid("rule_id", "Choose a rule from the list."))?;
    let identity =
        identities::by_id(tx.conn(), &input.identity_id).await?.ok_or_else(|| AppError::invalid("identity_id", "Choose an identity that exists."))?;
    let resource = crate::domain::page::present(&Some(input.resource.clone())).map(str::to_owned);
    if rule.kind == SodRuleKind::ReadWrite && resource.is_none() {
        return Err(AppError::invalid("resource", "Name the resource the read/write exception covers (db:ledger)."));
    }
    let exception = SodException {
        id: store::new_id(),
        rule_id: rule.id.clone(),
        identity_id: identity.id.clone(),
        resource,
        justification,
        approved_by: actor.name.clone(),
        created_at: now,
        expires_at,
        revoked_at: None,
    };
    sod::insert_exception(tx.conn(), &exception).await?;
    super::findings::settle(tx.conn(), std::slice::from_ref(&identity.id), Touches::Separation, now).await?;
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new(
            "sod.exception_add",
            "sod_exception",
            &exception.id,
            json!({
                "rule": rule.id, "identity": identity.name, "resource": exception.resource,
                "justification": exception.justification, "expires_at": exception.expires_at.to_rfc3339(),
            }),
        )
        .in_context(&identity.id),
    )
    .await?;
    tx.commit().await?;
    Ok(exception)
}

pub async fn exceptions(store: &Store, actor: &Actor) -> Result<Vec<SodException>, AppError> {
    require(actor, Capability::ReadLedger)?;
    sod::exceptions(&mut *store.read().await?).await
}

/// Records grants whose expiry passed (once each, audited) and revokes the credentials that
/// exercised them. Expired grants already count nowhere; this makes the end visible.
pub async fn record_expired_grants(store: &Store) -> Result<usize, AppError> {
    let now = Timestamp::now();
    let due = access::newly_expired(&mut *store.read().await?, now, 500).await?;
    let system = Actor::system("grant expiry");
    for (id, identity_id, role_slug) in &due {
        let mut tx = store.begin().await?;
        access::record_expiry(tx.conn(), id, now).await?;
        let revoked = credentials::revoke_for_assignment(tx.conn(), id, now, "assignment expired").await?;
        super::findings::settle(tx.conn(), std::slice::from_ref(identity_id), Touches::Grants, now).await?;
        audit::append(
            tx.conn(),
            &system,
            AuditEntry::new("assignment.expire", "assignment", id, json!({ "role": role_slug, "credentials_revoked": revoked })).in_context(identity_id),
        )
        .await?;
        tx.commit().await?;
    }
    // Recording moves the graph's stamp: settle now rather than leave the paths of the grants
    // that ran out to the next change or tick.
    if !due.is_empty() {
        super::findings::settle_escalation_soon(store);
    }
    Ok(due.len())
}
