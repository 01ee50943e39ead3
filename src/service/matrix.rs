//! The assignment matrix of a scope or a service, and filing its draft as one change request.

use super::access::{AccessInput, GrantInput};
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::change::{ChangePayload, ChangeRequest};
use crate::domain::identity::{IdentityFilter, IdentityStatus};
use crate::domain::matrix::{Cell, MAX_COLUMNS, MAX_ROWS, MatrixColumn, MatrixDraft, MatrixRow, MatrixView};
use crate::domain::page::PageRequest;
use crate::domain::role::RoleStatus;
use crate::domain::scope::ScopePath;
use crate::domain::sod::{Holding, conflicts, introduced};
use crate::error::AppError;
use crate::store::{Store, access, changes, identities, roles, services, sod};

pub async fn matrix(store: &Store, actor: &Actor, scope: Option<&str>, service: Option<&str>) -> Result<MatrixView, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let mut conn = store.read().await?;
    let (title, grant_scope, mut rows): (String, Option<ScopePath>, Vec<(String, String)>) = match (scope, service) {
        (_, Some(service_id)) if !service_id.trim().is_empty() => {
            let service = services::by_id(&mut conn, service_id).await?.ok_or_else(|| AppError::not_found("Service", service_id))?;
            let filter = IdentityFilter { service_id: Some(service.id.clone()), status: Some(IdentityStatus::Active), ..Default::default() };
            let page = identities::list(&mut conn, &filter, &PageRequest { after: None, limit: Some(MAX_ROWS as u32) }).await?;
            let rows = page.items.into_iter().map(|i| (i.id, i.name)).collect();
            (format!("service {}", service.name), None, rows)
        }
        (Some(scope), _) if !scope.trim().is_empty() => {
            let path = ScopePath::parse(scope).map_err(|e| AppError::invalid("scope", e))?;
            let rows = access::identities_on_scope(&mut conn, &path, MAX_ROWS as i64 + 1, now).await?;
            (format!("scope {path}"), Some(path), rows)
        }
        _ => return Err(AppError::invalid("scope", "Pick a service or type a scope (prod/payments).")),
    };
    let mut truncated = rows.len() > MAX_ROWS;
    rows.truncate(MAX_ROWS);

    // Columns: active roles that apply where the matrix grants.
    let mut columns: Vec<(MatrixColumn, crate::domain::role::RoleDefinition)> = roles::all_with_current(&mut conn)
        .await?
        .into_iter()
        .filter(|(role, v)| role.status == RoleStatus::Active && grant_scope.as_ref().is_none_or(|s| v.definition.scope.covers(s)))
        .map(|(role, v)| (MatrixColumn { role_id: role.id, slug: role.slug, version: role.current_version, sensitivity: role.sensitivity }, v.definition))
        .collect();
    truncated |= columns.len() > MAX_COLUMNS;
    columns.truncate(MAX_COLUMNS);

    let rules = sod::rules(&mut conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for (identity_id, identity_name) in rows {
        let holdings = access::holdings(&mut conn, &identity_id, now).await?;
        let exceptions = sod::exceptions_of(&mut conn, &identity_id).await?;
        let pending = changes::pending_for_identity(&mut conn, &identity_id).await?;
        let present = conflicts(&identity_id, &holdings, &rules, &exceptions, now);
        let cells = columns
            .iter()
            .map(|(column, definition)| {
                if let Some(h) = holdings.iter().find(|h| h.role_id == column.role_id && grant_scope.as_ref().is_none_or(|s| &h.scope == s)) {
                    return Cell::Held { assignment_id: h.assignment_id.clone().unwrap_or_default(), version: h.version, expires_at: h.expires_at };
                }
                let waiting = pending.iter().any(|r| match &r.payload {
                    ChangePayload::Access { grants, .. } => grants.iter().any(|g| g.identity_id == identity_id && g.role_id == column.role_id),
                    _ => false,
                });
                if waiting {
                    return Cell::Pending;
                }
                let mut after = holdings.clone();
                after.push(Holding {
                    assignment_id: None,
                    role_id: column.role_id.clone(),
                    role_slug: column.slug.clone(),
                    version: column.version,
                    scope: grant_scope.clone().unwrap_or_else(|| definition.scope.clone()),
                    permissions: definition.permissions.clone(),
                    expires_at: None,
                });
                match introduced(&present, conflicts(&identity_id, &after, &rules, &exceptions, now)).into_iter().find(|f| f.blocks()) {
                    Some(finding) => Cell::Conflict { message: finding.message },
                    None => Cell::Empty,
                }
            })
            .collect();
        out.push(MatrixRow { identity_id, identity_name, cells });
    }
    Ok(MatrixView { title, grant_scope: grant_scope.map(|s| s.to_string()), columns: columns.into_iter().map(|(c, _)| c).collect(), rows: out, truncated })
}

/// Files the toggled cells as one change request: new grants and revocations together.
pub async fn submit(store: &Store, actor: &Actor, draft: &MatrixDraft) -> Result<ChangeRequest, AppError> {
    require(actor, Capability::Propose)?;
    if draft.changes.is_empty() {
        return Err(AppError::invalid("draft", "Toggle at least one cell first."));
    }
    let scope = draft.grant_scope.clone().unwrap_or_default();
    let input = AccessInput {
        grants: draft
            .changes
            .iter()
            .filter(|c| c.assignment_id.is_none())
            .map(|c| GrantInput { identity_id: c.identity_id.clone(), role: c.role_id.clone(), scope: scope.clone(), expires_at: String::new() })
            .collect(),
        revokes: draft.changes.iter().filter_map(|c| c.assignment_id.clone()).collect(),
        reason: draft.reason.clone(),
    };
    super::access::propose(store, actor, &input).await
}
