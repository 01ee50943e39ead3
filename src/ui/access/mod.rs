//! Access: grants and revocations from an identity's page, a role's holders, "who can…", the
//! separation-of-duty rules, and the assignment matrix — with the server functions behind them.

pub mod discover;
pub mod escalation;
pub mod holders;
pub mod identity;
pub mod matrix;
pub mod paths;
pub mod picker;
pub mod sod;

use crate::domain::change::ChangeRequest;
use crate::domain::discovery::{Capable, EffectiveAccess, Holder, HoldersPage, WhoCanQuery};
use crate::domain::matrix::{MatrixDraft, MatrixView};
use crate::domain::page::{Choice, Page};
use crate::domain::sod::{SodException, SodRule};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[server(prefix = "/rpc", endpoint = "access/effective")]
pub async fn load_effective(identity_id: String) -> Result<EffectiveAccess, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::access::effective(&store, &actor, &identity_id).await }).await
}

#[server(prefix = "/rpc", endpoint = "access/role-choices")]
pub async fn load_role_choices(text: String) -> Result<Vec<Choice>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::roles::choices(&store, &actor, &text).await }).await
}

#[server(prefix = "/rpc", endpoint = "access/grant")]
pub async fn grant_role(
    _csrf: String,
    identity_id: String,
    role: String,
    scope: String,
    expires_at: String,
    reason: String,
) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::service::access::{AccessInput, GrantInput};
        let input = AccessInput { grants: vec![GrantInput { identity_id, role, scope, expires_at }], revokes: vec![], reason };
        let request = crate::service::access::propose(&store, &actor, &input).await?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request)
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "access/revoke")]
pub async fn revoke_assignment(_csrf: String, assignment_id: String, reason: String) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let input = crate::service::access::AccessInput { grants: vec![], revokes: vec![assignment_id], reason };
        crate::service::access::propose(&store, &actor, &input).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "access/holders")]
pub async fn load_holders(role: String, version: Option<i64>, after: Option<String>) -> Result<HoldersPage, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let page = crate::domain::page::PageRequest { after: after.filter(|a| !a.is_empty()), limit: Some(100) };
        crate::service::access::holders(&store, &actor, &role, version, None, &page).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "access/move-holders")]
pub async fn move_holders(_csrf: String, role_id: String, from_version: Option<i64>, reason: String) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let request = crate::service::access::propose_move_holders(&store, &actor, &role_id, from_version, &reason).await?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request)
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "access/who-can", input = leptos::server_fn::codec::Json)]
pub async fn load_who_can(query: WhoCanQuery) -> Result<Page<Capable>, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::access::who_can(&store, &actor, &query).await }).await
}

#[server(prefix = "/rpc", endpoint = "access/holders-at")]
pub async fn load_holders_at(role: String, at: String, after: Option<String>) -> Result<Page<Holder>, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let page = crate::domain::page::PageRequest { after: after.filter(|a| !a.is_empty()), limit: Some(100) };
        crate::service::access::holders_at(&store, &actor, &role, &at, &page).await
    })
    .await
}

/// Violations the separation-of-duty page lists before pointing to the Hygiene report.
pub const SOD_PAGE_ROWS: u32 = 100;

/// The separation-of-duty page's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SodOverview {
    /// Rules with their roles' slugs for display.
    pub rules: Vec<(SodRule, Option<(String, String)>)>,
    pub exceptions: Vec<SodException>,
    /// The first page of the stored SoD findings (kept current by every change), with the
    /// total: the whole list is the Hygiene report and its CSV.
    pub violations: Page<crate::domain::hygiene::Finding>,
    pub as_of: crate::domain::Timestamp,
}

#[server(prefix = "/rpc", endpoint = "sod/overview")]
pub async fn load_sod() -> Result<SodOverview, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::sod::SodRuleKind;
        let rules = crate::service::access::sod_rules(&store, &actor).await?;
        let ids: Vec<String> = rules
            .iter()
            .filter_map(|r| match &r.kind {
                SodRuleKind::RolePair { role_a, role_b } => Some([role_a.clone(), role_b.clone()]),
                SodRuleKind::ReadWrite => None,
            })
            .flatten()
            .collect();
        let slugs: std::collections::HashMap<String, String> = crate::service::roles::slugs(&store, &actor, &ids).await?.into_iter().collect();
        let slug = |id: &String| slugs.get(id).cloned().unwrap_or_default();
        let named = rules
            .into_iter()
            .map(|rule| {
                let pair = match &rule.kind {
                    SodRuleKind::RolePair { role_a, role_b } => Some((slug(role_a), slug(role_b))),
                    SodRuleKind::ReadWrite => None,
                };
                (rule, pair)
            })
            .collect();
        Ok(SodOverview {
            rules: named,
            exceptions: crate::service::access::exceptions(&store, &actor).await?,
            violations: {
                let first = crate::domain::hygiene::FindingQuery { after: None, limit: Some(SOD_PAGE_ROWS) };
                crate::service::hygiene::report(&store, &actor, "sod_violation", &first, &Default::default()).await?
            },
            as_of: crate::domain::Timestamp::now(),
        })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "sod/add-pair")]
pub async fn add_role_pair(_csrf: String, role_a: String, role_b: String, description: String) -> Result<SodRule, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::access::add_role_pair(&store, &actor, &role_a, &role_b, &description).await }).await
}

#[server(prefix = "/rpc", endpoint = "sod/toggle")]
pub async fn toggle_rule(_csrf: String, rule_id: String, enabled: String) -> Result<(), AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::access::set_rule_enabled(&store, &actor, &rule_id, enabled == "true").await }).await
}

#[server(prefix = "/rpc", endpoint = "sod/add-exception")]
pub async fn add_exception(
    _csrf: String,
    rule_id: String,
    identity_id: String,
    resource: String,
    justification: String,
    expires_at: String,
) -> Result<SodException, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let input = crate::service::access::ExceptionInput { rule_id, identity_id, resource, justification, expires_at };
        crate::service::access::add_exception(&store, &actor, &input).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "matrix/load")]
pub async fn load_matrix(scope: Option<String>, service: Option<String>) -> Result<MatrixView, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::matrix::matrix(&store, &actor, scope.as_deref(), service.as_deref()).await }).await
}

#[server(prefix = "/rpc", endpoint = "matrix/submit", input = leptos::server_fn::codec::Json)]
pub async fn submit_matrix(_csrf: String, draft: MatrixDraft) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::matrix::submit(&store, &actor, &draft).await }).await
}
