use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::hygiene::HygienePolicy;
use crate::domain::overview::{Overview, per_week};
use crate::error::AppError;
use crate::store::{Store, credentials, identities, roles};

/// The dashboard's figures. Open findings come from the stored findings' counters, current as
/// of the last change.
pub async fn get(store: &Store, actor: &Actor, policy: &HygienePolicy) -> Result<Overview, AppError> {
    require(actor, Capability::ReadLedger)?;
    let now = Timestamp::now();
    let findings_trend = super::hygiene::trend(store, actor, 30).await?;
    let open_findings = super::hygiene::summary(store, actor, policy).await?.counts.iter().filter(|c| c.kind.is_problem()).map(|c| c.count).sum();
    let mut conn = store.read().await?;
    let expiring = credentials::expiring_between(&mut conn, now, now.plus_days(56)).await?;
    let counts = identities::counts(&mut conn).await?;
    let totals = crate::store::overview::totals(&mut conn).await?;
    Ok(Overview {
        identities_total: counts.iter().map(|(_, _, n)| n).sum(),
        identities_by_status: summed(counts.iter().map(|(status, _, n)| (status, *n))),
        identities_by_kind: summed(counts.iter().filter(|(status, _, _)| status != "retired").map(|(_, kind, n)| (kind, *n))),
        services_active: totals.services_active,
        roles_active: totals.roles_active,
        audit_events: totals.audit_events,
        pending_approvals: totals.pending_approvals,
        open_findings,
        top_roles: roles::top_by_holders(&mut conn, 8).await?,
        findings_trend,
        expiries_ahead: per_week(now, 8, &expiring),
    })
}

/// Counts added up per key, in key order.
fn summed<'a>(pairs: impl Iterator<Item = (&'a String, i64)>) -> Vec<(String, i64)> {
    let mut sums = std::collections::BTreeMap::<&str, i64>::new();
    for (key, n) in pairs {
        *sums.entry(key).or_default() += n;
    }
    sums.into_iter().filter(|(_, n)| *n > 0).map(|(k, n)| (k.to_owned(), n)).collect()
}
