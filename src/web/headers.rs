//! Security headers on every response. HTML pages carry their own Content-Security-Policy with
//! the per-response script nonce (set while rendering, see `ui::shell`); everything else gets a
//! policy that allows nothing.

use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy for console pages: scripts only from here or carrying this response's nonce, wasm
/// allowed to compile, no plugins, no framing, no `<base>` tricks, forms only to ourselves.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         frame-ancestors 'none'; form-action 'self'"
    )
}

const NON_PAGE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let over_tls = state.config.public_url.as_deref().is_some_and(|u| u.starts_with("https://"))
        || (state.config.trust_proxy && request.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https"));
    let path = request.uri().path();
    let is_static = path.starts_with(super::assets::PREFIX) || path.starts_with("/pkg/") || path == "/favicon.svg";
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(NON_PAGE_CSP));
    }
    // Pages and answers carry ledger data: keep them out of shared caches and the back/forward
    // history of other users of the machine. The bundle may be cached: for a year under its
    // versioned address (set where it is served), revalidated under the plain one.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(if is_static { "no-cache" } else { "no-store" }));
    }
    if over_tls {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000; includeSubDomains"));
    }
    response
}
