//! The versioned REST API for pipelines, `/api/v1`, authenticated with pipeline tokens
//! (`Authorization: Bearer nhidb_…`). Handlers are thin adapters over the service layer.
//!
//! Routes are declared through `Routes`, which records each route's required capability as it
//! mounts it: a route cannot be added without saying who may call it, and the list it produces is
//! what the access test walks.

mod access;
mod error;
mod extract;
mod ledger;
mod roles;

pub use error::ApiError;

use crate::domain::actor::{Actor, Capability};
use crate::service::auth;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};

/// The authenticated pipeline behind an API request.
#[derive(Debug, Clone)]
pub struct ApiActor(pub Actor);

pub const PREFIX: &str = "/api/v1";

/// One API route and what it needs. `needs: None` means any valid token.
#[derive(Debug, Clone)]
pub struct ApiRoute {
    pub method: Method,
    /// The full path, `/api/v1/…`.
    pub path: String,
    pub needs: Option<Capability>,
}

struct Routes {
    router: Router<AppState>,
    list: Vec<ApiRoute>,
}

impl Routes {
    fn new() -> Self {
        Routes { router: Router::new(), list: Vec::new() }
    }

    fn add<H, T>(mut self, method: Method, path: &'static str, needs: Option<Capability>, handler: H) -> Self
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
        let check = from_fn(move |request: Request, next: Next| require(needs, request, next));
        self.router = self.router.route(path, on(filter, handler).route_layer(check));
        self.list.push(ApiRoute { method, path: format!("{PREFIX}{path}"), needs });
        self
    }
}

async fn require(needs: Option<Capability>, request: Request, next: Next) -> Response {
    let Some(ApiActor(actor)) = request.extensions().get::<ApiActor>().cloned() else {
        return ApiError::from(crate::error::AppError::Unauthenticated).into_response();
    };
    match needs {
        Some(capability) if !actor.can(capability) => ApiError::from(crate::error::AppError::forbidden(capability.description())).into_response(),
        _ => next.run(request).await,
    }
}

/// Resolves the bearer token; every API route needs one.
async fn authenticate(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let bearer =
        request.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).map(str::trim).map(str::to_owned);
    let Some(bearer) = bearer else {
        return ApiError::from(crate::error::AppError::Unauthenticated).into_response();
    };
    match auth::resolve_token(&state.store, &bearer).await {
        Ok(actor) => {
            request.extensions_mut().insert(ApiActor(actor));
            next.run(request).await
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn routes() -> Routes {
    use Capability::{Propose, ReadLedger};
    Routes::new()
        .add(Method::GET, "/whoami", None, ledger::whoami)
        .add(Method::GET, "/identities", Some(ReadLedger), ledger::list_identities)
        .add(Method::GET, "/identities/{id}", Some(ReadLedger), ledger::get_identity)
        .add(Method::GET, "/services", Some(ReadLedger), ledger::list_services)
        .add(Method::GET, "/services/{id}", Some(ReadLedger), ledger::get_service)
        .add(Method::GET, "/roles", Some(ReadLedger), roles::catalog)
        .add(Method::GET, "/roles/export", Some(ReadLedger), roles::export)
        .add(Method::GET, "/roles/{id}", Some(ReadLedger), roles::detail)
        .add(Method::POST, "/roles/plan", Some(ReadLedger), roles::plan)
        .add(Method::POST, "/roles/apply", Some(Propose), roles::apply)
        .add(Method::GET, "/change-requests", Some(ReadLedger), roles::list_changes)
        .add(Method::GET, "/change-requests/{id}", Some(ReadLedger), roles::get_change)
        .add(Method::POST, "/change-requests/access", Some(Propose), access::propose)
        .add(Method::GET, "/roles/{id}/holders", Some(ReadLedger), access::holders)
        .add(Method::GET, "/roles/{id}/holders-at", Some(ReadLedger), access::holders_at)
        .add(Method::GET, "/identities/{id}/permissions", Some(ReadLedger), access::permissions)
        .add(Method::GET, "/who-can", Some(ReadLedger), access::who_can)
        .add(Method::GET, "/sod/violations", Some(ReadLedger), access::violations)
}

/// Every API route with its requirement, for documentation and the access test.
/// Mounted under `PREFIX`.
pub fn route_list() -> Vec<ApiRoute> {
    routes().list
}

pub fn router(state: AppState) -> Router<AppState> {
    routes()
        .router
        .fallback(|| async { ApiError::from(crate::error::AppError::not_found("API route", "this path")) })
        .layer(from_fn_with_state(state, authenticate))
}
