//! Server-side context of a server function: the store and who is acting.

use crate::domain::actor::{Actor, ActorKind, ConsoleRole};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::Store;
use leptos::prelude::use_context;

pub fn store() -> Result<Store, AppError> {
    use_context::<AppState>()
        .map(|state| state.store)
        .ok_or_else(|| AppError::internal("server function context", "AppState was not provided"))
}

/// The operator behind the current request.
///
/// Until console sign-in lands (issue 3), the console acts as one local operator holding every
/// console role; the service layer already checks capabilities against it.
pub async fn actor() -> Result<Actor, AppError> {
    Ok(Actor {
        kind: ActorKind::Operator,
        id: "local-console".to_owned(),
        name: "local console".to_owned(),
        roles: ConsoleRole::ALL.to_vec(),
    })
}

/// Store and actor, the pair nearly every server function starts with.
async fn context() -> Result<(Store, Actor), AppError> {
    Ok((store()?, actor().await?))
}

/// Runs a server function's body with the store and actor, and gives a failure its HTTP status
/// (422, 404, 403 …) instead of the blanket 500 server functions answer by default. During
/// server rendering the status applies to the page, so a missing identity's page is a 404.
pub async fn run<T, F, Fut>(body: F) -> Result<T, AppError>
where
    F: FnOnce(Store, Actor) -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let result = match context().await {
        Ok((store, actor)) => body(store, actor).await,
        Err(e) => Err(e),
    };
    if let Err(e) = &result {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(
                http::StatusCode::from_u16(e.http_status()).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            );
        }
    }
    result
}
