//! Extractors that turn malformed requests into the API's one error shape instead of axum's
//! plain-text rejections: bad JSON, unknown fields and wrong types are 422 with the problem named.

use super::ApiError;
use crate::error::AppError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(AppError::TooLarge { limit_bytes: super::BODY_LIMIT as u64 }.into())
            }
            Err(rejection) => Err(AppError::invalid("body", rejection.body_text()).into()),
        }
    }
}

pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(AppError::invalid("query", rejection.body_text()).into()),
        }
    }
}

/// A JSON body that may be left out entirely (every field optional): no body means defaults.
pub struct ApiOptionalJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiOptionalJson<T>
where
    T: DeserializeOwned + Default,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let body = match axum::body::Bytes::from_request(request, state).await {
            Ok(body) => body,
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::TooLarge { limit_bytes: super::BODY_LIMIT as u64 }.into());
            }
            Err(rejection) => return Err(AppError::invalid("body", rejection.body_text()).into()),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(ApiOptionalJson(T::default()));
        }
        serde_json::from_slice(&body)
            .map(ApiOptionalJson)
            .map_err(|e| AppError::invalid("body", format!("The body is not valid JSON for this request: {e}")).into())
    }
}
