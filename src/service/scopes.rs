//! Scopes: where roles apply. Created on first use by role definitions, grants and provisioning.

use super::require;
use crate::domain::actor::{Actor, Capability};
use crate::domain::page::{Page, PageRequest};
use crate::domain::scope::{Scope, ScopePath};
use crate::error::AppError;
use crate::store::{Store, scopes};

/// Scopes, optionally only those at or below a path.
pub async fn list(store: &Store, actor: &Actor, under: Option<&str>, page: &PageRequest) -> Result<Page<Scope>, AppError> {
    require(actor, Capability::ReadLedger)?;
    let under = under.map(str::trim).filter(|u| !u.is_empty()).map(ScopePath::parse).transpose().map_err(|e| AppError::invalid("under", e))?;
    scopes::list(&mut *store.read().await?, under.as_ref(), page).await
}
