//! What every request handler can reach: the store, the access policy and the Leptos options.
//! Handed to server functions through context by `leptos_routes_with_context`; there is no
//! global pool.

use crate::domain::access::AccessPolicy;
use crate::store::Store;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Debug, Clone, Default)]
pub struct WebConfig {
    pub access: AccessPolicy,
    /// The URL people use to reach nhidb (`https://nhidb.example.com`), when it differs from the
    /// listen address: used for the origin check, the first-run link, and HSTS when it is https.
    pub public_url: Option<String>,
    /// Trust `X-Forwarded-For` / `X-Forwarded-Proto` from a reverse proxy in front of nhidb.
    pub trust_proxy: bool,
    /// The windows of the hygiene reports.
    pub hygiene: crate::domain::hygiene::HygienePolicy,
    /// Where exports sign and keep audit checkpoints (none: exports carry no checkpoint).
    pub checkpoints: Option<Arc<crate::service::checkpoints::Checkpoints>>,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<WebConfig>,
    pub leptos_options: LeptosOptions,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
