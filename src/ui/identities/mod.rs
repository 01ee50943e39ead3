//! Identity pages and the server functions behind them.

pub mod detail;
pub mod form;
pub mod list;

use crate::domain::credential::Credential;
use crate::domain::identity::{Identity, IdentityDetail, IdentityQuery};
use crate::domain::page::{Choice, Page};
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Owners and services to choose from in filters and forms.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LedgerChoices {
    pub owners: Vec<Choice>,
    pub services: Vec<Choice>,
}

#[server(prefix = "/rpc", endpoint = "ledger/choices")]
pub async fn load_choices() -> Result<LedgerChoices, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let (owners, services) = crate::service::services::choices(&store, &actor).await?;
        Ok(LedgerChoices { owners, services })
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "identities/list", input = leptos::server_fn::codec::Json)]
pub async fn list_identities(query: IdentityQuery) -> Result<Page<Identity>, AppError> {
    crate::ui::session::run(|store, actor| async move {
        let (filter, page) = query.to_filter()?;
        crate::service::identities::list(&store, &actor, &filter, &page).await
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "identities/detail")]
pub async fn load_identity(id: String) -> Result<IdentityDetail, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::identities::detail(&store, &actor, &id).await }).await
}

#[server(prefix = "/rpc", endpoint = "identities/create")]
pub async fn create_identity(
    _csrf: String,
    name: String,
    kind: String,
    owner_id: String,
    service_id: Option<String>,
    description: String,
    labels: String,
) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::identity::IdentityInput;
        let input = IdentityInput { name, kind, owner_id, service_id, description, labels };
        let identity = crate::service::identities::create(&store, &actor, &input).await?;
        leptos_axum::redirect(&format!("/identities/{}", identity.id));
        Ok(identity.id)
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "identities/update")]
pub async fn update_identity(
    _csrf: String,
    id: String,
    name: String,
    kind: String,
    owner_id: String,
    service_id: Option<String>,
    description: String,
    labels: String,
) -> Result<String, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::identity::IdentityInput;
        let input = IdentityInput { name, kind, owner_id, service_id, description, labels };
        let identity = crate::service::identities::update(&store, &actor, &id, &input).await?;
        leptos_axum::redirect(&format!("/identities/{}", identity.id));
        Ok(identity.id)
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "identities/status")]
pub async fn change_identity_status(_csrf: String, id: String, status: String, reason: String) -> Result<Identity, AppError> {
    crate::ui::session::run(|store, actor| async move { crate::service::identities::change_status(&store, &actor, &id, &status, &reason).await }).await
}

#[server(prefix = "/rpc", endpoint = "credentials/register")]
pub async fn register_credential(
    _csrf: String,
    identity_id: String,
    kind: String,
    fingerprint: String,
    description: String,
    expires_at: Option<String>,
    assignment_id: Option<String>,
) -> Result<Credential, AppError> {
    crate::ui::session::run(|store, actor| async move {
        use crate::domain::credential::CredentialInput;
        let input = CredentialInput { kind, fingerprint, description, expires_at, assignment_id };
        crate::service::credentials::register(&store, &actor, &identity_id, &input).await
    })
    .await
}
