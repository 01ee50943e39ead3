//! Service pages and the server functions behind them.

pub mod detail;
pub mod form;
pub mod list;
pub mod provision;

use crate::domain::page::Page;
use crate::domain::service::{Service, ServiceDetail, ServiceQuery};
use crate::domain::template::{PlannedIdentity, ProvisionInput};
use crate::error::AppError;
use leptos::prelude::*;

#[server(prefix = "/rpc", endpoint = "services/list", input = leptos::server_fn::codec::Json)]
pub async fn list_services(query: ServiceQuery) -> Result<Page<Service>, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let (filter, page) = query.to_filter()?;
        crate::service::services::list(&store, &actor, &filter, &page).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "services/detail")]
pub async fn load_service(id: String) -> Result<ServiceDetail, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::services::detail(&store, &actor, &id).await }).await
}

#[server(prefix = "/rpc", endpoint = "services/create")]
pub async fn create_service(_csrf: String, name: String, display_name: String, owner_id: String, description: String) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::service::ServiceInput;
        let input = ServiceInput { name, display_name, owner_id, description };
        let service = crate::service::services::create(&store, &actor, &input).await?;
        leptos_axum::redirect(&format!("/services/{}", service.id));
        Ok(service.id)
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "services/update")]
pub async fn update_service(_csrf: String, id: String, name: String, display_name: String, owner_id: String, description: String) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::service::ServiceInput;
        let input = ServiceInput { name, display_name, owner_id, description };
        let service = crate::service::services::update(&store, &actor, &id, &input).await?;
        leptos_axum::redirect(&format!("/services/{}", service.id));
        Ok(service.id)
    })
    .await
}

/// What provisioning would create; reads only.
#[server(prefix = "/rpc", endpoint = "services/preview")]
pub async fn preview_provision(template: String, name: String, env: String, owner: String) -> Result<ProvisionPreview, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let input = ProvisionInput { template, name, env, owner, ..Default::default() };
        let identities = crate::service::provisioning::preview(&store, &actor, &input).await?;
        Ok(ProvisionPreview { input, identities })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "services/provision")]
pub async fn provision_service(_csrf: String, template: String, name: String, env: String, owner: String) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let input = ProvisionInput { template, name, env, owner, ..Default::default() };
        let done = crate::service::provisioning::provision(&store, &actor, &input, None).await?;
        leptos_axum::redirect(&format!("/services/{}", done.service_id));
        Ok(done.service_id)
    })
    .await
}

/// Decommissioning is final, so the operator types the service's name to confirm it.
#[server(prefix = "/rpc", endpoint = "services/decommission")]
pub async fn decommission_service(_csrf: String, id: String, confirm: String, reason: String) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let service = crate::service::services::detail(&store, &actor, &id).await?.service;
        if confirm.trim() != service.name {
            return Err(AppError::invalid("confirm", format!("Type {} to confirm.", service.name)));
        }
        let input = crate::domain::template::DecommissionInput { reason };
        crate::service::provisioning::decommission(&store, &actor, &id, &input).await?;
        Ok(id)
    })
    .await
}

/// A provisioning request and what it would create.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProvisionPreview {
    pub input: ProvisionInput,
    pub identities: Vec<PlannedIdentity>,
}
