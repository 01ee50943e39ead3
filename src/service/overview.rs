use super::require;
use crate::domain::actor::{Actor, Capability};
use crate::domain::overview::Overview;
use crate::error::AppError;
use crate::store::{Store, audit, identities, roles};

pub async fn get(store: &Store, actor: &Actor) -> Result<Overview, AppError> {
    require(actor, Capability::ReadLedger)?;
    let mut conn = store.read().await?;
    Ok(Overview {
        identities_total: identities::count_all(&mut conn).await?,
        identities_by_status: identities::count_by_status(&mut conn).await?,
        identities_by_kind: identities::count_by_kind(&mut conn).await?,
        services_active: crate::store::services::count_active(&mut conn).await?,
        roles_active: roles::count_active(&mut conn).await?,
        audit_events: audit::head(&mut conn).await?.0,
    })
}
