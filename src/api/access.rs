//! Discoverability and access changes for pipelines.

use super::extract::{ApiJson, ApiQuery};
use super::{ApiActor, ApiError};
use crate::domain::change::ChangeRequest;
use crate::domain::discovery::{AccessInput, Capable, EffectiveAccess, Holder, HoldersPage, Violations, WhoCanQuery};
use crate::domain::page::{Page, PageRequest};
use crate::domain::scope::ScopePath;
use crate::service::access;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoldersQuery {
    pub version: Option<i64>,
    pub scope: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

pub async fn holders(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(role): Path<String>,
    ApiQuery(q): ApiQuery<HoldersQuery>,
) -> Result<Json<HoldersPage>, ApiError> {
    let scope = q.scope.as_deref().filter(|s| !s.is_empty()).map(ScopePath::parse).transpose().map_err(|e| crate::error::AppError::invalid("scope", e))?;
    let page = PageRequest { after: q.after, limit: Some(q.limit.unwrap_or(1000)) };
    Ok(Json(access::holders(&state.store, &actor, &role, q.version, scope.as_ref(), &page).await?))
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtQuery {
    pub at: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

pub async fn holders_at(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(role): Path<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<Page<Holder>>, ApiError> {
    let page = PageRequest { after: q.after, limit: q.limit };
    Ok(Json(access::holders_at(&state.store, &actor, &role, &q.at, &page).await?))
}

pub async fn permissions(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<EffectiveAccess>, ApiError> {
    Ok(Json(access::effective(&state.store, &actor, &id).await?))
}

pub async fn who_can(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(q): ApiQuery<WhoCanQuery>,
) -> Result<Json<Page<Capable>>, ApiError> {
    Ok(Json(access::who_can(&state.store, &actor, &q).await?))
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViolationsQuery {
    pub after: Option<String>,
    pub limit: Option<i64>,
}

pub async fn violations(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(q): ApiQuery<ViolationsQuery>,
) -> Result<Json<Violations>, ApiError> {
    Ok(Json(access::violations(&state.store, &actor, q.after.as_deref(), q.limit.unwrap_or(500).clamp(1, 5000)).await?))
}

/// Grants and revocations filed by a pipeline; grants wait for approvers like any other.
pub async fn propose(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiJson(input): ApiJson<AccessInput>,
) -> Result<Json<ChangeRequest>, ApiError> {
    Ok(Json(access::propose(&state.store, &actor, &input).await?))
}

pub async fn escalation(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<Page<crate::domain::escalation::EscalationPath>>, ApiError> {
    Ok(Json(crate::service::escalation::reach(&state.store, &actor, &id).await?))
}

pub async fn escalation_paths(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(q): ApiQuery<crate::domain::escalation::PathQuery>,
) -> Result<Json<Page<crate::domain::escalation::PathRow>>, ApiError> {
    Ok(Json(crate::service::escalation::paths(&state.store, &actor, &q).await?))
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReachersQuery {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

pub async fn role_reachers(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(role): Path<String>,
    ApiQuery(q): ApiQuery<ReachersQuery>,
) -> Result<Json<Page<crate::domain::escalation::Reacher>>, ApiError> {
    let page = PageRequest { after: q.after, limit: q.limit };
    Ok(Json(crate::service::escalation::role_reachers(&state.store, &actor, &role, &page).await?))
}

pub async fn source_reachers(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path((kind, name)): Path<(String, String)>,
    ApiQuery(q): ApiQuery<ReachersQuery>,
) -> Result<Json<Page<crate::domain::escalation::Reacher>>, ApiError> {
    let page = PageRequest { after: q.after, limit: q.limit };
    Ok(Json(crate::service::escalation::source_reachers(&state.store, &actor, &kind, &name, &page).await?))
}
