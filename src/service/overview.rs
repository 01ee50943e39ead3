use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::hygiene::HygienePolicy;
use crate::domain::overview::{Overview, per_week};
use crate::error::AppError;
use crate::store::{Store, audit, changes, credentials, identities, roles};

/// The dashboard's figures. Open findings come from the stored findings' counters, current as
/// of the last change.
pub async fn get(store: &Store, actor: &Actor, policy: &HygienePolicy) -> Result<Overview, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let findings_trend = super::hygiene::trend(store, actor, 30).await?;
    let open_findings = super::hygiene::summary(store, actor, policy).await?.counts.iter().filter(|c| c.kind.is_problem()).map(|c| c.count).sum();
    let mut conn = store.read().await?;
    let expiring = credentials::expiring_between(&mut conn, now, now.plus_days(56)).await?;
    Ok(Overview {
        identities_total: identities::count_all(&mut conn).await?,
        identities_by_status: identities::count_by_status(&mut conn).await?,
        identities_by_kind: identities::count_by_kind(&mut conn).await?,
        services_active: crate::store::services::count_active(&mut conn).await?,
        roles_active: roles::count_active(&mut conn).await?,
        audit_events: audit::head(&mut conn).await?.0,
        pending_approvals: changes::count_pending(&mut conn).await?,
        open_findings,
        top_roles: roles::top_by_holders(&mut conn, 8).await?,
        findings_trend,
        expiries_ahead: per_week(now, 8, &expiring),
    })
}
