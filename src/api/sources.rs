//! Sources for pipelines: push an export to be imported (a nightly job in a cluster or an
//! account), and read what sources there are and their last imports.

use super::extract::{ApiJson, ApiQuery};
use super::{ApiActor, ApiError};
use crate::domain::change::ChangeRequest;
use crate::domain::drift::{AcknowledgeInput, Drift, DriftDetail, DriftQuery};
use crate::domain::page::Page;
use crate::domain::source::{ImportRecord, Source, SourceKind};
use crate::error::AppError;
use crate::service::imports::{self, InputFile, KubernetesOptions, Target};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde::Deserialize;
use std::io::Read;

/// The largest export an import accepts, after decompression: a cluster of 100,000 service
/// accounts and 200,000 bindings prints about 150 MB of JSON.
pub const IMPORT_LIMIT: usize = 256 * 1024 * 1024;

#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// The source's owner (team or person, by id or name): required for a source's first import.
    #[serde(default)]
    pub owner: Option<String>,
    /// `true`: report what would change, and change nothing.
    #[serde(default)]
    pub plan: bool,
    /// Kubernetes: the namespace of namespaced objects that name none (default `default`).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Kubernetes: User and Group subjects to leave out, comma-separated patterns (`system:*`).
    #[serde(default)]
    pub exclude: Option<String>,
}

/// Reads the body (gzip accepted, as `Content-Encoding: gzip`), refusing more than the limit.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<String, AppError> {
    let too_large = || AppError::TooLarge { limit_bytes: IMPORT_LIMIT as u64 };
    let bytes = axum::body::to_bytes(body, IMPORT_LIMIT).await.map_err(|_| too_large())?;
    let gzip = headers.get("content-encoding").and_then(|v| v.to_str().ok()).is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    let bytes = if gzip {
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&bytes[..]).take(IMPORT_LIMIT as u64 + 1).read_to_end(&mut out).map(|_| out)
        })
        .await
        .map_err(|e| AppError::internal("decompress import", e))?
        .map_err(|e| AppError::invalid("body", format!("The body says gzip but does not decompress: {e}.")))?
    } else {
        bytes.to_vec()
    };
    if bytes.len() > IMPORT_LIMIT {
        return Err(too_large());
    }
    String::from_utf8(bytes).map_err(|_| AppError::invalid("body", "The export must be UTF-8 text (YAML or JSON)."))
}

pub async fn import(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path((kind, name)): Path<(String, String)>,
    ApiQuery(query): ApiQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ImportRecord>, ApiError> {
    crate::service::require(&actor, crate::domain::actor::Capability::Import)?;
    let kind = SourceKind::parse(&kind).map_err(|e| AppError::invalid("kind", e))?;
    let text = read_body(&headers, body).await?;
    let input = InputFile { name: "request body".to_owned(), text };
    let target = Target { kind, name: name.clone(), owner: query.owner.clone(), plan_only: query.plan };
    let record = match kind {
        SourceKind::Kubernetes => {
            let exclude = query.exclude.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()).map(str::to_owned).collect();
            let options = KubernetesOptions { default_namespace: query.namespace.clone(), exclude };
            imports::import_kubernetes(&state.store, &actor, &target, &options, vec![input]).await?
        }
        SourceKind::Aws => imports::import_aws(&state.store, &actor, &target, vec![input]).await?,
        SourceKind::Gcp => {
            let (policy, roles) = gcp_envelope(input)?;
            imports::import_gcp(&state.store, &actor, &target, policy, roles).await?
        }
    };
    Ok(Json(record))
}

/// A GCP body is the policy itself, or `{"policy": …, "roles": […]}` to send the project's custom
/// role definitions with it (a policy never has a `policy` key).
fn gcp_envelope(input: InputFile) -> Result<(InputFile, Option<InputFile>), AppError> {
    let looks_enveloped = input.text.trim_start().starts_with('{') && input.text.contains("\"policy\"");
    if !looks_enveloped {
        return Ok((input, None));
    }
    let Ok(serde_json::Value::Object(mut body)) = serde_json::from_str::<serde_json::Value>(&input.text) else {
        return Ok((input, None));
    };
    let Some(policy) = body.remove("policy") else {
        return Ok((InputFile { text: serde_json::Value::Object(body).to_string(), ..input }, None));
    };
    if !policy.is_object() {
        return Err(AppError::invalid("policy", "\"policy\" must be the project's IAM policy, as `gcloud projects get-iam-policy --format=json` prints it."));
    }
    let roles = match body.remove("roles") {
        None | Some(serde_json::Value::Null) => None,
        Some(roles @ serde_json::Value::Array(_)) => Some(InputFile { name: "request body, roles".to_owned(), text: roles.to_string() }),
        Some(_) => return Err(AppError::invalid("roles", "\"roles\" must be a list of role definitions (`gcloud iam roles describe --format=json` of each).")),
    };
    Ok((InputFile { name: "request body, policy".to_owned(), text: policy.to_string() }, roles))
}

pub async fn list(State(state): State<AppState>, Extension(ApiActor(actor)): Extension<ApiActor>) -> Result<Json<Vec<Source>>, ApiError> {
    Ok(Json(crate::service::sources::list(&state.store, &actor).await?))
}

pub async fn drift(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    ApiQuery(query): ApiQuery<DriftQuery>,
) -> Result<Json<Page<Drift>>, ApiError> {
    Ok(Json(crate::service::drift::list(&state.store, &actor, &query).await?))
}

pub async fn drift_detail(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
) -> Result<Json<DriftDetail>, ApiError> {
    Ok(Json(crate::service::drift::detail(&state.store, &actor, &id).await?))
}

pub async fn acknowledge(
    State(state): State<AppState>,
    Extension(ApiActor(actor)): Extension<ApiActor>,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AcknowledgeInput>,
) -> Result<(StatusCode, Json<ChangeRequest>), ApiError> {
    Ok((StatusCode::CREATED, Json(crate::service::drift::acknowledge(&state.store, &actor, &id, &input).await?)))
}
