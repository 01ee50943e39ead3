//! The interactive API page: Swagger UI, served from files compiled into the binary (the
//! `vendored` feature of utoipa-swagger-ui; nothing is fetched at build or run time), pointed at
//! the generated OpenAPI document.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use std::sync::{Arc, OnceLock};
use utoipa_swagger_ui::Config;

/// Swagger UI styles its widgets inline and shows its logo as a data URL; it needs nothing
/// from other origins (the online validator is switched off).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

fn config() -> Arc<Config<'static>> {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            Arc::new(
                Config::new([format!("{}/openapi.json", super::PREFIX)])
                    .validator_url("none")
                    .try_it_out_enabled(true)
                    .persist_authorization(false)
                    .display_operation_id(true),
            )
        })
        .clone()
}

pub async fn index() -> Redirect {
    Redirect::permanent(&format!("{}/docs/", super::PREFIX))
}

pub async fn file(tail: Option<Path<String>>) -> Response {
    let tail = tail.map(|Path(t)| t).unwrap_or_default();
    match utoipa_swagger_ui::serve(&tail, config()) {
        Ok(Some(file)) => {
            let mut response = file.bytes.into_owned().into_response();
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&file.content_type) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            if file.gzpipped {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
            response
        }
        Ok(None) => (StatusCode::NOT_FOUND, "Not found").into_response(),
        Err(error) => {
            tracing::error!(%error, "swagger ui");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
