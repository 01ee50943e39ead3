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
pub async fn context() -> Result<(Store, Actor), AppError> {
    Ok((store()?, actor().await?))
}
