//! Reading sources: the list with each one's last import, and one source's page (its imports
//! and the grants it holds whose role or principal it lacks, and its open drift).

use super::require;
use crate::domain::actor::{Actor, Capability};
use crate::domain::source::{Dangling, Source, SourceDetail};
use crate::error::AppError;
use crate::store::{Store, sources};

/// How many imports and dangling grants a source's page shows.
const PAGE: i64 = 50;

pub async fn list(store: &Store, actor: &Actor) -> Result<Vec<Source>, AppError> {
    require(actor, Capability::ReadLedger)?;
    sources::all(&mut *store.read().await?).await
}

pub async fn detail(store: &Store, actor: &Actor, id: &str) -> Result<SourceDetail, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    let source = sources::by_id(&mut conn, id).await?.ok_or_else(|| AppError::not_found("Source", id))?;
    let imports = sources::imports(&mut conn, id, PAGE).await?;
    let dangling = sources::dangling(&mut conn, id, PAGE)
        .await?
        .into_iter()
        .map(|(source_ref, principal_ref, role_ref, scope, missing)| Dangling { source_ref, principal_ref, role_ref, scope, missing })
        .collect();
    let drift = crate::store::drift::of_source(&mut conn, Some(id), Some(crate::domain::drift::DriftState::Open), None, None, PAGE).await?;
    Ok(SourceDetail { source, imports, dangling, drift })
}
