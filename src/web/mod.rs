//! HTTP concerns around the console and the API: who is calling (session cookie), whether they
//! may call this endpoint, proof that a state change comes from the console, and the security
//! headers on every response. The service layer re-checks every permission; this layer adds
//! deny-by-default for endpoints and the browser-facing protections.

pub mod assets;
pub mod cookie;
pub mod downloads;
pub mod guard;
pub mod headers;

use crate::service::auth::{Client, Session};

/// Attached to every request by `guard::authenticate`.
#[derive(Debug, Clone)]
pub struct RequestAuth {
    pub session: Option<Session>,
    pub client: Client,
}
