//! The one error shape of the API: `{"code", "message", "request_id", "fields"?}` with the
//! error's HTTP status. Internal errors keep the request id they were logged under.

use crate::error::{AppError, FieldError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Serialize)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    #[serde(skip)]
    status: u16,
    #[serde(skip)]
    retry_after: Option<i64>,
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let request_id = match &error {
            AppError::Internal { request_id } => request_id.clone(),
            _ => ulid::Ulid::new().to_string(),
        };
        let fields = match &error {
            AppError::Validation { errors } => errors.clone(),
            AppError::SecretMaterial { field, message } => vec![FieldError { field: field.clone(), message: message.clone() }],
            _ => vec![],
        };
        let retry_after = error.retry_after();
        ApiError { code: error.code(), message: error.to_string(), request_id, fields, status: error.http_status(), retry_after }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let request_id = HeaderValue::from_str(&self.request_id).ok();
        let retry_after = self.retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok());
        let mut response = (status, Json(self)).into_response();
        if let Some(id) = request_id {
            response.headers_mut().insert("x-request-id", id);
        }
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}
