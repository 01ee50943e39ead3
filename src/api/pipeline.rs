//! What pipelines do: provision and decommission services from templates, report usage, and
//! propose template changes.

use super::extract::{ApiJson, ApiOptionalJson};
use super::{ApiActor, ApiError};
use crate::domain::change::ChangeRequest;
use crate::domain::template::{DecommissionInput, DecommissionReceipt, ProvisionInput, Provisioned, Template, TemplateDetail, TemplateInput};
use crate::service::usage::{UsageOutcome, UsageReport};
use crate::service::{provisioning, templates, usage};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};

/// `201 Created` for a new service, `200 OK` for the stored answer to a retry.
pub async fn provision(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<ProvisionInput>,
) -> Result<(StatusCode, Json<Provisioned>), ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(value) => Some(value.to_str().map_err(|_| crate::error::AppError::invalid("Idempotency-Key", "The Idempotency-Key header must be ASCII."))?),
        None => None,
    };
    let result = provisioning::provision(&state.store, &actor, &input, key).await?;
    let status = if result.replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, Json(result)))
}

pub async fn decommission(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
    ApiOptionalJson(input): ApiOptionalJson<DecommissionInput>,
) -> Result<Json<DecommissionReceipt>, ApiError> {
    Ok(Json(provisioning::decommission(&state.store, &actor, &id, &input).await?))
}

pub async fn list_templates(State(state): State<AppState>, Extension(ApiActor(actor)): Extension<ApiActor>) -> Result<Json<Vec<Template>>, ApiError> {
    Ok(Json(templates::list(&state.store, &actor).await?))
}

pub async fn get_template(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(key): Path<String>,
) -> Result<Json<TemplateDetail>, ApiError> {
    Ok(Json(templates::detail(&state.store, &actor, &key).await?))
}

pub async fn propose_template(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiJson(input): ApiJson<TemplateInput>,
) -> Result<(StatusCode, Json<ChangeRequest>), ApiError> {
    Ok((StatusCode::CREATED, Json(templates::propose(&state.store, &actor, &input).await?)))
}

pub async fn report_usage(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiJson(report): ApiJson<UsageReport>,
) -> Result<Json<UsageOutcome>, ApiError> {
    Ok(Json(usage::report(&state.store, &actor, &report).await?))
}
