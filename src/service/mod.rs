//! Use cases. Each public function is one thing a person or pipeline does: it checks the
//! actor's capability, parses input with the domain types, and — for changes — writes the rows
//! and their audit event in one transaction. The browser, the REST API and the CLI call only these.

pub mod access;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod bootstrap;
pub mod changes;
pub mod checkpoints;
pub mod credentials;
pub mod drift;
pub mod escalation;
pub mod export;
pub mod findings;
pub mod hygiene;
pub mod identities;
pub mod imports;
pub mod jobs;
pub mod limits;
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
pub mod sources;
pub mod templates;
pub mod tokens;
pub mod usage;

use crate::domain::actor::{Actor, Capability};
use crate::domain::scope::ScopePath;
use crate::error::AppError;

pub fn require(actor: &Actor, capability: Capability) -> Result<(), AppError> {
    if actor.can(capability) { Ok(()) } else { Err(AppError::forbidden(capability.description())) }
}

fn limits_text(actor: &Actor) -> String {
    crate::domain::token::limits_to_text(&actor.limits).replace(',', ", ")
}

/// Refuses a change on `scope` by a pipeline token limited to other scopes.
pub fn require_within(actor: &Actor, scope: &ScopePath) -> Result<(), AppError> {
    if actor.may_change(scope) {
        return Ok(());
    }
    Err(AppError::forbidden(format!("change anything on {scope}: this token may change only {}", limits_text(actor))))
}

/// `require_within` for a scope as stored (assignments name theirs as text).
pub fn require_within_path(actor: &Actor, path: &str) -> Result<(), AppError> {
    if !actor.is_limited() {
        return Ok(());
    }
    let scope = ScopePath::parse(path).map_err(|e| AppError::internal("stored scope", e))?;
    require_within(actor, &scope)
}

/// Refuses what spans the whole ledger (templates, say) to a token limited to some scopes.
pub fn require_unlimited(actor: &Actor, what: &str) -> Result<(), AppError> {
    if actor.is_limited() {
        return Err(AppError::forbidden(format!("{what}: this token may change only {}", limits_text(actor))));
    }
    Ok(())
}
