//! Service pages and the server functions behind them.

pub mod detail;
pub mod form;
pub mod list;

use crate::domain::page::Page;
use crate::domain::service::{Service, ServiceDetail, ServiceQuery};
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
