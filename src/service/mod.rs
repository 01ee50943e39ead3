//! Use cases. Each public function is one thing a person or pipeline does: it checks the
//! actor's capability, parses input with the domain types, and — for changes — writes the rows
//! and their audit event in one transaction. The browser, the REST API and the CLI call only these.

pub mod access;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod bootstrap;
pub mod changes;
pub mod credentials;
pub mod export;
pub mod hygiene;
pub mod identities;
pub mod matrix;
pub mod operators;
pub mod overview;
pub mod provisioning;
pub mod roles;
pub mod roles_code;
pub mod scopes;
pub mod secrets;
pub mod seed;
pub mod services;
pub mod templates;
pub mod tokens;
pub mod usage;

use crate::domain::actor::{Actor, Capability};
use crate::error::AppError;

pub fn require(actor: &Actor, capability: Capability) -> Result<(), AppError> {
    if actor.can(capability) { Ok(()) } else { Err(AppError::forbidden(capability.description())) }
}
