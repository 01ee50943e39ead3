//! Read access to the ledger for pipelines.

use super::extract::ApiQuery;
use super::{ApiActor, ApiError};
use crate::domain::identity::{Identity, IdentityDetail, IdentityQuery};
use crate::domain::page::Page;
use crate::domain::service::{Service, ServiceDetail, ServiceQuery};
use crate::service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{Value, json};

pub async fn whoami(Extension(ApiActor(actor)): Extension<ApiActor>) -> Json<Value> {
    Json(json!({ "kind": actor.kind, "id": actor.id, "name": actor.name, "scopes": actor.scopes }))
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
