//! Server-side context of a server function: the store, who is calling, and the response.

use crate::domain::actor::Actor;
use crate::error::AppError;
use crate::service::auth::{Client, Session};
use crate::state::AppState;
use crate::store::Store;
use crate::web::{RequestAuth, cookie};
use http::request::Parts;
use http::{HeaderValue, StatusCode, header};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::future::Future;

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| AppError::internal("server function context", "AppState was not provided"))
}

fn request_auth() -> Option<RequestAuth> {
    use_context::<Parts>()?.extensions.get::<RequestAuth>().cloned()
}

/// The signed-in operator's session, or `Unauthenticated`.
pub fn session() -> Result<Session, AppError> {
    request_auth().and_then(|a| a.session).ok_or(AppError::Unauthenticated)
}

pub fn client() -> Client {
    request_auth().map(|a| a.client).unwrap_or_default()
}

/// While a page renders on the server, a failed load gives the page its status (a missing
/// identity's page is a 404). Server-function calls get theirs from `web::guard`.
fn give_page_status<T>(result: &Result<T, AppError>) {
    let Err(e) = result else { return };
    let is_page = use_context::<Parts>().is_some_and(|p| !p.uri.path().starts_with("/rpc/"));
    if let (true, Some(response)) = (is_page, use_context::<ResponseOptions>()) {
        response.set_status(StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    }
}

/// Runs a server function's body for the signed-in operator.
pub async fn run<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Store, Actor) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    run_session(|store, session| body(store, session.actor)).await
}

/// Runs a server function's body that needs the whole session (the operator's own account).
pub async fn run_session<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Store, Session) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let result = match (state(), session()) {
        (Ok(state), Ok(session)) => body(state.store, session).await,
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    give_page_status(&result);
    result
}

/// Runs a server function's body open to anyone (sign-in, first run).
pub async fn run_public<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(AppState, Client) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let result = match state() {
        Ok(state) => body(state, client()).await,
        Err(e) => Err(e),
    };
    give_page_status(&result);
    result
}

fn set_cookie_header(value: String) {
    if let (Some(response), Ok(value)) = (use_context::<ResponseOptions>(), HeaderValue::from_str(&value)) {
        response.append_header(header::SET_COOKIE, value);
    }
}

pub fn set_session_cookie(value: &str, max_age_seconds: i64) {
    set_cookie_header(cookie::set(value, max_age_seconds));
}

pub fn clear_session_cookie() {
    set_cookie_header(cookie::clear());
}
