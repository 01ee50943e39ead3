//! Escalation paths (see `domain::escalation`): what an identity can reach beyond what it
//! holds, and who can reach a privileged role or a source's full control. The graph is built
//! once per ledger state and kept (see `store::escalation`).

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::change::ChangePayload;
use crate::domain::escalation::graph::{Grant, Graph, Principal, grant_delta};
use crate::domain::escalation::{EscalationDelta, EscalationPath, PathQuery, PathRow, Reacher};
use crate::domain::page::{Page, PageRequest};
use crate::domain::source::SourceKind;
use crate::error::AppError;
use crate::store::Store;
use crate::store::{identities, roles, sources};

/// Paths shown at most for one identity (nearest first); `total` says how many there are.
pub const MAX_PATHS: usize = 500;

/// Every privileged target `identity_id` can reach through at least one escalation step, by
/// its shortest path, nearest first.
pub async fn reach(store: &Store, actor: &Actor, identity_id: &str) -> Result<Page<EscalationPath>, AppError> {
    require(actor, Capability::ReadLedger)?;
    identities::by_id(&mut *store.read().await?, identity_id).await?.ok_or_else(|| AppError::not_found("Identity", identity_id))?;
    let built = store.escalation_graph().graph(store, Timestamp::now()).await?;
    let mut paths = built.graph.reach(identity_id);
    let total = paths.len() as i64;
    paths.truncate(MAX_PATHS);
    Ok(Page { items: paths, next_cursor: None, total })
}

/// Who can reach a role (id or slug) — holding it, or by escalation — with their fewest hops
/// (holders 0), a page at a time by hops and id. Full control of the role's source reaches
/// the role too: whoever controls a cluster can bind any of its roles.
pub async fn role_reachers(store: &Store, actor: &Actor, role: &str, page: &PageRequest) -> Result<Page<Reacher>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let role = super::access::resolve_role(&mut *store.read().await?, role).await?.ok_or_else(|| AppError::not_found("Role", role))?;
    reachers(store, &role.id, page).await
}

/// Who can reach full control of a source (`kubernetes`, `aws` or `gcp`, and its name).
pub async fn source_reachers(store: &Store, actor: &Actor, kind: &str, name: &str, page: &PageRequest) -> Result<Page<Reacher>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let kind = SourceKind::parse(kind).map_err(|e| AppError::invalid("kind", e))?;
    let source = sources::by_kind_name(&mut *store.read().await?, kind, name).await?.ok_or_else(|| AppError::not_found("Source", name))?;
    reachers(store, &source.id, page).await
}

async fn reachers(store: &Store, target_id: &str, page: &PageRequest) -> Result<Page<Reacher>, AppError> {
    let after = match page.after.as_deref().filter(|a| !a.is_empty()) {
        Some(cursor) => {
            let bad = || AppError::invalid("after", "Cursor is not one this list handed out; start again without it.");
            let (hops, id) = cursor.split_once(':').ok_or_else(bad)?;
            Some((hops.parse::<u32>().map_err(|_| bad())?, id.to_owned()))
        }
        None => None,
    };
    let built = store.escalation_graph().graph(store, Timestamp::now()).await?;
    let mut all = built.graph.reachers(target_id);
    all.sort_by(|a, b| (a.hops, &a.identity.id).cmp(&(b.hops, &b.identity.id)));
    let total = all.len() as i64;
    let start = after.map_or(0, |(hops, id)| all.partition_point(|r| (r.hops, r.identity.id.as_str()) <= (hops, id.as_str())));
    let size = page.size() as usize;
    let items: Vec<Reacher> = all.into_iter().skip(start).take(size).collect();
    let next_cursor = (start + items.len() < total as usize).then(|| items.last().map(|r| format!("{}:{}", r.hops, r.identity.id))).flatten();
    Ok(Page { items, next_cursor, total })
}

/// The ledger-wide list of escalation paths (the stored findings, kept current after every
/// change that moves the graph), filtered, a page at a time by identity and target.
pub async fn paths(store: &Store, actor: &Actor, query: &PathQuery) -> Result<Page<PathRow>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let given = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
    let (source, within, target) = (given(&query.source), given(&query.within), given(&query.target));
    if let Some(w) = &within
        && (w.len() > 253 || !w.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(AppError::invalid("within", "A namespace, account id or project: letters, digits, '-', '.' and '_' only."));
    }
    for (field, value) in [("source", &source), ("target", &target)] {
        if value.as_ref().is_some_and(|v| v.chars().count() > 200) {
            return Err(AppError::invalid(field, "At most 200 characters."));
        }
    }
    if query.max_hops == Some(0) {
        return Err(AppError::invalid("max_hops", "A path has at least one hop."));
    }
    let after = match given(&query.after) {
        Some(cursor) => {
            let (identity, target) =
                cursor.split_once(' ').ok_or_else(|| AppError::invalid("after", "Cursor is not one this list handed out; start again without it."))?;
            Some((identity.to_owned(), target.to_owned()))
        }
        None => None,
    };
    let filter =
        crate::store::escalation::PathFilter { source: source.as_deref(), within: within.as_deref(), target: target.as_deref(), max_hops: query.max_hops };
    let page = PageRequest { after: None, limit: query.limit };
    crate::store::escalation::paths_page(&mut *store.read().await?, &filter, after, page.size()).await
}

/// How many identities of a kind of source (`aws`) can escalate (have a stored path): what a
/// single-source analyser such as Cloudsplaining flags, for comparison (`make bench`).
pub async fn flagged_principals(store: &Store, kind: &str) -> Result<i64, AppError> {
    crate::store::escalation::flagged_principals(&mut *store.read().await?, kind).await
}

/// The escalation paths a change request would open and close; `None` for kinds of change that
/// cannot move a path (see below).
pub async fn delta_of(store: &Store, payload: &ChangePayload) -> Result<Option<EscalationDelta>, AppError> {
    let (grants, revokes) = match payload {
        ChangePayload::Access { grants, revokes } => (grants, revokes),
        ChangePayload::RoleVersion { role_id, .. } | ChangePayload::MoveHolders { role_id, .. } | ChangePayload::RoleRetire { role_id } => {
            return role_delta(store, role_id, payload).await.map(Some);
        }
        ChangePayload::Acknowledge { drift_id, .. } => return acknowledged_delta(store, drift_id).await,
        // A new role is held by no one and named by no binding yet; a template's roles are
        // granted to identities not provisioned yet, native ones, which no rule leads to.
        ChangePayload::RoleCreate { .. } | ChangePayload::Template { .. } => return Ok(None),
    };
    let mut added = Vec::new();
    let mut principals = Vec::new();
    let mut imported = false;
    {
        let mut conn = store.read().await?;
        for g in grants {
            let Some(role) = roles::by_id(&mut conn, &g.role_id).await? else { continue };
            imported |= role.managed_by.is_some() || identities::by_id(&mut conn, &g.identity_id).await?.is_some_and(|i| i.managed_by.is_some());
            added.push(Grant {
                assignment_id: PROPOSED.to_owned(),
                identity_id: g.identity_id.clone(),
                role_id: role.id,
                version: role.current_version,
                scope: g.scope.clone(),
                source_ref: None,
            });
            principals.push(Principal { id: g.identity_id.clone(), name: g.identity_name.clone(), source: None, source_ref: None, trust_policy: None });
        }
        for r in revokes {
            imported |= identities::by_id(&mut conn, &r.identity_id).await?.is_some_and(|i| i.managed_by.is_some())
                || roles::by_slug(&mut conn, &r.role_slug).await?.is_some_and(|role| role.managed_by.is_some());
        }
    }
    // Native roles granted to native identities are on no path (no rule leads to a native
    // identity, and native roles carry no source rules): nothing to build a graph for.
    if !imported {
        return Ok(Some(EscalationDelta::default()));
    }
    let built = store.escalation_graph().graph(store, Timestamp::now()).await?;
    let ended: Vec<String> = revokes.iter().map(|r| r.assignment_id.clone()).collect();
    let delta = tokio::task::spawn_blocking(move || grant_delta(&built.graph, &built.ledger, &ended, added, principals))
        .await
        .map_err(|e| AppError::internal("escalation delta", e))?;
    Ok(Some(delta))
}

/// The paths a change to a role's definition or holders opens and closes: a new version (its
/// holders moved to it or not), holders moved between versions, the role retired. Every path
/// of the ledger is compared, since a new definition can open paths for identities that do
/// not hold the role (those that may bind it). Empty for roles no path can involve.
async fn role_delta(store: &Store, role_id: &str, payload: &ChangePayload) -> Result<EscalationDelta, AppError> {
    let Some(role) = roles::by_id(&mut *store.read().await?, role_id).await? else { return Ok(EscalationDelta::default()) };
    let built = store.escalation_graph().graph(store, Timestamp::now()).await?;
    let changed = built.ledger.holders(role_id);
    let after = match payload {
        ChangePayload::RoleVersion { definition, move_holders, .. } => built.ledger.with_version(
            role_id,
            role.current_version + 1,
            role.sensitivity == crate::domain::role::Sensitivity::Privileged,
            definition.rules.clone(),
            *move_holders,
        ),
        ChangePayload::MoveHolders { from_version, to_version, .. } => built.ledger.with_holders_moved(role_id, *from_version, *to_version),
        _ => Some(built.ledger.without_role(role_id)),
    };
    let Some(after) = after else { return Ok(EscalationDelta::default()) };
    tokio::task::spawn_blocking(move || crate::domain::escalation::graph::delta_all(&built.graph, &Graph::build(&after), &changed))
        .await
        .map_err(|e| AppError::internal("escalation delta", e))
}

/// What accepting an observed source change accepts: the paths the change opened and closed
/// when the import applied it (the import recorded it in force; acknowledging changes nothing
/// more, so this compares the ledger with and without it). A role whose rules changed is
/// compared with its rules before; unreviewed access with the ledger without that grant.
async fn acknowledged_delta(store: &Store, drift_id: &str) -> Result<Option<EscalationDelta>, AppError> {
    use crate::domain::drift::DriftKind;
    let (drift, before_rules) = {
        let mut conn = store.read().await?;
        let Some(drift) = crate::store::drift::by_id(&mut conn, drift_id).await? else { return Ok(None) };
        let before_rules = match (&drift.role_id, drift.base_version, drift.kind) {
            (Some(role_id), Some(base), DriftKind::ChangedOutsideReview) => roles::version(&mut conn, role_id, base).await?.map(|v| v.definition.rules),
            _ => None,
        };
        (drift, before_rules)
    };
    let built = store.escalation_graph().graph(store, Timestamp::now()).await?;
    let (before, changed) = match (drift.kind, &drift.role_id, drift.role_version, before_rules) {
        (DriftKind::ChangedOutsideReview, Some(role_id), Some(version), Some(rules)) => {
            (built.ledger.with_rules(role_id, version, rules), built.ledger.holders(role_id))
        }
        (DriftKind::UnreviewedAccess, _, _, _) => {
            (Some(built.ledger.changed(std::slice::from_ref(&drift.subject_id), Vec::new(), Vec::new())), drift.identity_id.clone().into_iter().collect())
        }
        _ => (None, Vec::new()),
    };
    let Some(before) = before else { return Ok(Some(EscalationDelta::default())) };
    let delta = tokio::task::spawn_blocking(move || crate::domain::escalation::graph::delta_all(&Graph::build(&before), &built.graph, &changed))
        .await
        .map_err(|e| AppError::internal("escalation delta", e))?;
    Ok(Some(delta))
}

/// Whether a change would open an escalation path to a privileged target: such a change needs
/// the privileged number of approvals. Read from committed rows, outside any write transaction.
pub async fn opens_paths(store: &Store, payload: &ChangePayload) -> Result<bool, AppError> {
    Ok(delta_of(store, payload).await?.is_some_and(|d| d.opened_count > 0))
}

/// The assignment id of a grant a request proposes, in the reasons of the paths it opens.
pub const PROPOSED: &str = "proposed";
