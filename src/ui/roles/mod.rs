//! Role catalog and role pages, and the server functions that propose role changes.

pub mod catalog;
pub mod detail;
pub mod diff;
pub mod propose;

use crate::domain::change::ChangeRequest;
use crate::domain::page::Page;
use crate::domain::role::{RoleDetail, RoleDiff, RoleQuery, RoleSummary};
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/rpc", endpoint = "roles/catalog", input = leptos::server_fn::codec::Json)]
pub async fn load_catalog(query: RoleQuery) -> Result<Page<RoleSummary>, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let (filter, sort, page) = query.to_filter()?;
        crate::service::roles::catalog(&store, &actor, &filter, sort, &page).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "roles/detail")]
pub async fn load_role(id: String) -> Result<RoleDetail, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::roles::detail(&store, &actor, &id).await }).await
}

#[server(prefix = "/rpc", endpoint = "roles/diff")]
pub async fn load_diff(role_id: String, from: i64, to: i64) -> Result<RoleDiff, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::roles::version_diff(&store, &actor, &role_id, from, to).await }).await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/rpc", endpoint = "roles/propose-create")]
pub async fn propose_role(
    _csrf: String,
    slug: String,
    display_name: String,
    sensitivity: String,
    scope: String,
    description: String,
    permissions: String,
    justification: String,
    reason: String,
) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::role::{DefinitionInput, NewRoleInput};
        let input = NewRoleInput { slug, display_name, sensitivity, definition: DefinitionInput { scope, description, permissions, justification }, reason };
        let request = crate::service::changes::propose_role(&store, &actor, &input).await?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request)
    })
    .await
}

#[allow(clippy::too_many_arguments)]
#[server(prefix = "/rpc", endpoint = "roles/propose-version")]
pub async fn propose_version(
    _csrf: String,
    role_id: String,
    scope: String,
    description: String,
    permissions: String,
    justification: String,
    move_holders: Option<String>,
    reason: String,
) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::role::{DefinitionInput, RoleVersionInput};
        let input =
            RoleVersionInput { definition: DefinitionInput { scope, description, permissions, justification }, move_holders: move_holders.is_some(), reason };
        let request = crate::service::changes::propose_version(&store, &actor, &role_id, &input).await?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request)
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "roles/propose-retire")]
pub async fn propose_retire(_csrf: String, role_id: String, reason: String) -> Result<ChangeRequest, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let request = crate::service::changes::propose_retirement(&store, &actor, &role_id, &reason).await?;
        leptos_axum::redirect(&format!("/approvals/{}", request.id));
        Ok(request)
    })
    .await
}
