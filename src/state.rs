//! What every request handler can reach: the store and the Leptos options. Handed to server
//! functions through context by `leptos_routes_with_context`; there is no global pool.

use crate::store::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
