//! Middleware that decides who is calling and whether they may.

use super::{RequestAuth, cookie};
use crate::domain::access::constant_time_eq;
use crate::domain::actor::Capability;
use crate::error::AppError;
use crate::service::auth::{self, Client};
use crate::state::AppState;
use crate::ui::rpc::{self, Access};
use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use std::net::SocketAddr;

/// Requests for these never need to know the caller.
fn is_static(path: &str) -> bool {
    path.starts_with(super::assets::PREFIX) || path.starts_with("/pkg/") || path == "/favicon.svg" || path == "/healthz"
}

/// Pages anyone may open.
const PUBLIC_PAGES: &[&str] = &["/sign-in", "/bootstrap"];

/// The JSON error body server functions use, with the error's status.
pub fn error_response(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_string(&error).unwrap_or_default();
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(retry_after_seconds) = error.retry_after() {
        if let Ok(value) = HeaderValue::from_str(&retry_after_seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// The client address a trusted proxy saw: the rightmost `X-Forwarded-For` entry, which that
/// proxy appended. Entries to its left came from the client and can say anything. Several header
/// lines count as one list, in order.
pub fn forwarded_client(headers: &HeaderMap) -> Option<String> {
    let last_line = headers.get_all("x-forwarded-for").iter().last()?;
    let entry = last_line.to_str().ok()?.rsplit(',').next()?.trim();
    let ip = entry.parse::<std::net::IpAddr>().ok().or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))?;
    Some(ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(lines: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
        }
        headers
    }

    #[test]
    fn the_client_is_the_entry_the_proxy_added_not_what_the_client_wrote() {
        assert_eq!(forwarded_client(&headers(&["203.0.113.7"])).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded_client(&headers(&["10.9.9.9, 1.1.1.1, 203.0.113.7"])).as_deref(), Some("203.0.113.7"));
        assert_eq!(forwarded_client(&headers(&["10.9.9.9", "203.0.113.7"])).as_deref(), Some("203.0.113.7"), "the last header line is the proxy's");
        assert_eq!(forwarded_client(&headers(&["[2001:db8::1]:443"])).as_deref(), Some("2001:db8::1"));
        assert_eq!(forwarded_client(&headers(&["203.0.113.7:51234"])).as_deref(), Some("203.0.113.7"));
    }

    #[test]
    fn a_missing_or_garbled_entry_is_no_address() {
        assert_eq!(forwarded_client(&HeaderMap::new()), None);
        assert_eq!(forwarded_client(&headers(&["203.0.113.7, not-an-address"])), None);
        assert_eq!(forwarded_client(&headers(&["203.0.113.7,"])), None);
    }
}

fn client_of(request: &Request, trust_proxy: bool) -> Client {
    let forwarded = trust_proxy.then(|| forwarded_client(request.headers())).flatten();
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    let user_agent = request.headers().get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(200).collect());
    Client { addr: forwarded.or(peer), user_agent }
}

/// Resolves the session cookie into the caller and attaches it to the request.
pub async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    if is_static(request.uri().path()) {
        return next.run(request).await;
    }
    let client = client_of(&request, state.config.trust_proxy);
    let session = match cookie::read(request.headers()) {
        Some(value) => match auth::resolve_session(&state.store, &state.config.access, &value).await {
            Ok(session) => session,
            Err(e) => return error_response(e),
        },
        None => None,
    };
    request.extensions_mut().insert(RequestAuth { session, client });
    next.run(request).await
}

/// Console pages need a signed-in operator; everyone else is sent to sign in and brought back.
pub async fn require_sign_in(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let is_page = matches!(*request.method(), Method::GET | Method::HEAD) && !is_static(path) && !path.starts_with("/rpc/") && !path.starts_with("/api/");
    if !is_page {
        return next.run(request).await;
    }
    let signed_in = request.extensions().get::<RequestAuth>().is_some_and(|a| a.session.is_some());
    if signed_in && path == "/sign-in" {
        return Redirect::to("/").into_response();
    }
    if !signed_in && !PUBLIC_PAGES.contains(&path) {
        let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
        let next_param: String = url_encode(target);
        return Redirect::to(&format!("/sign-in?next={next_param}")).into_response();
    }
    next.run(request).await
}

fn url_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The origin the console is served from, as browsers send it in `Origin`.
fn expected_origin(headers: &HeaderMap, state: &AppState) -> Option<String> {
    if let Some(public) = &state.config.public_url {
        return Some(public.trim_end_matches('/').to_owned());
    }
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let scheme = state.config.trust_proxy.then(|| headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok())).flatten().unwrap_or("http");
    Some(format!("{scheme}://{host}"))
}

/// A state-changing request must come from the console's own pages: its `Origin` (or, lacking
/// that, `Sec-Fetch-Site`) says so. Cross-site forms and scripts fail here.
pub fn same_origin(headers: &HeaderMap, state: &AppState) -> bool {
    let expected = expected_origin(headers, state);
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        return expected.as_deref() == Some(origin);
    }
    headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("same-origin")
}

/// The CSRF token sent with a request: the `x-csrf-token` header or the `_csrf` form field.
fn sent_csrf_token(headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(value) = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()) {
        return Some(value.to_owned());
    }
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if content_type.starts_with("application/json") {
        // JSON-encoded server functions carry the token as their `_csrf` argument.
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        return value.get("_csrf").and_then(|v| v.as_str()).map(str::to_owned);
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return None;
    }
    // Tokens are lower-case base32, which form encoding leaves as is.
    std::str::from_utf8(body).ok()?.split('&').find_map(|pair| pair.strip_prefix("_csrf=")).map(str::to_owned)
}

/// Whether a request carries the session's CSRF token (header or `_csrf` field).
pub fn csrf_matches(headers: &HeaderMap, body: &[u8], session: &crate::service::auth::Session) -> bool {
    sent_csrf_token(headers, body).is_some_and(|t| constant_time_eq(&t, &session.view.csrf_token))
}

/// Largest server-function request body accepted.
const RPC_BODY_LIMIT: usize = 1 << 20;

/// Deny-by-default gate for server functions: the endpoint must be in `ui::rpc::RPCS`, the caller
/// must be allowed, and state changes must prove they come from the console. Error responses of
/// server functions also get their proper HTTP status here.
pub async fn guard_rpc(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let Some(entry) = rpc::lookup(&path) else {
        return error_response(AppError::not_found("Endpoint", &path));
    };
    let auth = request.extensions().get::<RequestAuth>().cloned();
    let session = auth.as_ref().and_then(|a| a.session.clone());
    let allowed = match entry.access {
        Access::Public => Ok(()),
        Access::SignedIn => session.as_ref().map(|_| ()).ok_or(AppError::Unauthenticated),
        Access::Needs(capability) => match &session {
            None => Err(AppError::Unauthenticated),
            Some(s) if s.actor.can(capability) => Ok(()),
            Some(_) => Err(AppError::forbidden(Capability::description(&capability))),
        },
    };
    if let Err(e) = allowed {
        return error_response(e);
    }

    let request = if entry.changes_state {
        if !same_origin(request.headers(), &state) {
            return error_response(AppError::CrossSite);
        }
        let (parts, body) = request.into_parts();
        let Ok(bytes) = to_bytes(body, RPC_BODY_LIMIT).await else {
            return error_response(AppError::invalid("request", "The request body is too large."));
        };
        // Public calls (signing in, first run) have no session to forge; the origin check covers them.
        if let (Some(session), false) = (&session, entry.access == Access::Public)
            && !csrf_matches(&parts.headers, &bytes, session)
        {
            return error_response(AppError::CrossSite);
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        request
    };

    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    // Server functions answer every error with 500; give known errors their own status.
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, RPC_BODY_LIMIT).await.unwrap_or_default();
    match serde_json::from_slice::<AppError>(&bytes) {
        Ok(error) => {
            let mut response = error_response(error);
            for (name, value) in &parts.headers {
                if !response.headers().contains_key(name) {
                    response.headers_mut().insert(name.clone(), value.clone());
                }
            }
            response
        }
        Err(_) => Response::from_parts(parts, Body::from(bytes)),
    }
}
