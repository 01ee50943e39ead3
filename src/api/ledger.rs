//! Read access to the ledger for pipelines.

use super::extract::ApiQuery;
use super::{ApiActor, ApiError};
use crate::domain::audit::{AuditEvent, ChainStatus};
use crate::domain::credential::Credential;
use crate::domain::hygiene::{Finding, FindingQuery, HygieneSummary};
use crate::domain::identity::{Identity, IdentityDetail, IdentityQuery};
use crate::domain::page::{Page, PageRequest};
use crate::domain::scope::Scope;
use crate::domain::service::{Service, ServiceDetail, ServiceQuery};
use crate::service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};

/// The caller as the API sees it.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct WhoAmI {
    pub kind: crate::domain::actor::ActorKind,
    pub id: String,
    pub name: String,
    pub scopes: Vec<crate::domain::token::TokenScope>,
    /// The scopes the token may change; empty: the whole ledger.
    pub limits: Vec<crate::domain::scope::ScopePath>,
}

pub async fn whoami(Extension(ApiActor(actor)): Extension<ApiActor>) -> Json<WhoAmI> {
    Json(WhoAmI { kind: actor.kind, id: actor.id, name: actor.name, scopes: actor.scopes, limits: actor.limits })
}

pub async fn list_identities(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<IdentityQuery>,
) -> Result<Json<Page<Identity>>, ApiError> {
    let (filter, page) = query.to_filter()?;
    Ok(Json(service::identities::list(&state.store, &actor, &filter, &page).await?))
}

pub async fn get_identity(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<IdentityDetail>, ApiError> {
    Ok(Json(service::identities::detail(&state.store, &actor, &id).await?))
}

pub async fn list_services(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<ServiceQuery>,
) -> Result<Json<Page<Service>>, ApiError> {
    let (filter, page) = query.to_filter()?;
    Ok(Json(service::services::list(&state.store, &actor, &filter, &page).await?))
}

pub async fn get_service(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<ServiceDetail>, ApiError> {
    Ok(Json(service::services::detail(&state.store, &actor, &id).await?))
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeQuery {
    /// Only this scope and those below it.
    pub under: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

pub async fn list_scopes(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<ScopeQuery>,
) -> Result<Json<Page<Scope>>, ApiError> {
    let page = PageRequest { after: query.after, limit: query.limit };
    Ok(Json(service::scopes::list(&state.store, &actor, query.under.as_deref(), &page).await?))
}

pub async fn list_credentials(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Credential>>, ApiError> {
    Ok(Json(service::credentials::of_identity(&state.store, &actor, &id).await?))
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Sequence number of the last event already seen.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

pub async fn audit_events(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    Ok(Json(service::audit::events(&state.store, &actor, query.after.as_deref(), query.limit).await?))
}

pub async fn audit_verify(State(state): State<AppState>, Extension(ApiActor(actor)): Extension<ApiActor>) -> Result<Json<ChainStatus>, ApiError> {
    let report = service::audit::verify(&state.store, &actor).await?;
    Ok(Json(ChainStatus::from(report)))
}

pub async fn hygiene_summary(State(state): State<AppState>, Extension(ApiActor(actor)): Extension<ApiActor>) -> Result<Json<HygieneSummary>, ApiError> {
    Ok(Json(service::hygiene::summary(&state.store, &actor, &state.config.hygiene).await?))
}

pub async fn hygiene_report(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(kind): Path<String>,
    ApiQuery(query): ApiQuery<FindingQuery>,
) -> Result<Json<Page<Finding>>, ApiError> {
    Ok(Json(service::hygiene::report(&state.store, &actor, &kind, &query, &state.config.hygiene).await?))
}
