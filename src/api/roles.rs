//! Roles and change requests for pipelines: the catalog, roles as code (export, plan, apply),
//! and the change requests they file.

use super::extract::{ApiJson, ApiQuery};
use super::{ApiActor, ApiError};
use crate::domain::change::{ChangeQuery, ChangeRequest, ChangeReview};
use crate::domain::page::Page;
use crate::domain::role::{RoleDetail, RoleQuery, RoleSummary};
use crate::domain::roles_code::{Plan, RolesDocument};
use crate::service;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

pub async fn catalog(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<RoleQuery>,
) -> Result<Json<Page<RoleSummary>>, ApiError> {
    let (filter, sort, page) = query.to_filter()?;
    Ok(Json(service::roles::catalog(&state.store, &actor, &filter, sort, &page).await?))
}

pub async fn detail(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<RoleDetail>, ApiError> {
    Ok(Json(service::roles::detail(&state.store, &actor, &id).await?))
}

pub async fn export(State(state): State<AppState>, Extension(ApiActor(actor)): Extension<ApiActor>) -> Result<Json<RolesDocument>, ApiError> {
    Ok(Json(service::roles_code::export(&state.store, &actor).await?))
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    pub document: RolesDocument,
    #[serde(default)]
    pub prune: bool,
    #[serde(default)]
    pub reason: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Serialize)]
pub struct PlanResponse {
    pub plan: Plan,
    pub changes: usize,
    pub valid: bool,
    /// The same plan as `nhidb roles plan` prints it.
    pub rendered: String,
}

pub async fn plan(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiJson(request): ApiJson<PlanRequest>,
) -> Result<Json<PlanResponse>, ApiError> {
    let plan = service::roles_code::make_plan(&state.store, &actor, &request.document, request.prune).await?;
    Ok(Json(PlanResponse { changes: plan.changes(), valid: plan.is_valid(), rendered: plan.render(), plan }))
}

/// Files the plan's change requests; approvers still decide each one.
pub async fn apply(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiJson(request): ApiJson<PlanRequest>,
) -> Result<Json<Vec<ChangeRequest>>, ApiError> {
    Ok(Json(service::roles_code::apply(&state.store, &actor, &request.document, request.prune, &request.reason).await?))
}

pub async fn list_changes(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<ChangeQuery>,
) -> Result<Json<Page<ChangeRequest>>, ApiError> {
    Ok(Json(service::changes::list(&state.store, &actor, &query).await?))
}

pub async fn get_change(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<ChangeReview>, ApiError> {
    Ok(Json(service::changes::review(&state.store, &actor, &id).await?))
}
