//! Escalation paths (see `domain::escalation`): what an identity can reach beyond what it
//! holds, and who can reach a privileged role or a source's full control. The graph is built
//! once per ledger state and kept (see `store::escalation`).

use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::change::ChangePayload;
use crate::domain::escalation::graph::{Grant, Graph, Principal, delta};
use crate::domain::escalation::{EscalationDelta, EscalationPath, Reacher};
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

/// The escalation paths a change request would open and close; `None` for kinds of change the
/// analysis does not cover yet (role versions, templates, acknowledgements of source changes).
pub async fn delta_of(store: &Store, payload: &ChangePayload) -> Result<Option<EscalationDelta>, AppError> {
    let ChangePayload::Access { grants, revokes } = payload else { return Ok(None) };
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
    let changed: Vec<String> = payload.identities();
    let delta = tokio::task::spawn_blocking(move || {
        let after = Graph::build(&built.ledger.changed(&ended, added, principals));
        delta(&built.graph, &after, &changed)
    })
    .await
    .map_err(|e| AppError::internal("escalation delta", e))?;
    Ok(Some(delta))
}

/// The assignment id of a grant a request proposes, in the reasons of the paths it opens.
pub const PROPOSED: &str = "proposed";
