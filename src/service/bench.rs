//! Generating the benchmark ledger (a million identities, five million assignments) through the
//! store's set-wise generators, audited per chunk like any other write.

use crate::domain::actor::Actor;
use crate::domain::audit::AuditEntry;
use crate::error::AppError;
use crate::store::bench::{self, Spec};
use crate::store::{Store, audit};
use serde_json::json;

/// Identities per transaction: big enough to be fast, small enough to show progress.
const CHUNK: i64 = 50_000;

pub async fn is_generated(store: &Store, spec: Spec) -> Result<bool, AppError> {
    bench::is_generated(&mut *store.read().await?, spec).await
}

pub async fn generate(store: &Store, spec: Spec, progress: &(dyn Fn(u64) + Sync)) -> Result<(), AppError> {
    let actor = Actor::system("bench");
    let backend = store.backend();
    let mut tx = store.begin().await?;
    bench::generate_catalog(tx.conn(), backend, spec).await?;
    audit::append(tx.conn(), &actor, AuditEntry::new("bench.generate", "ledger", "bench", json!({ "roles": spec.roles, "groups": spec.groups }))).await?;
    tx.commit().await?;
    let mut from = 0;
    while from < spec.identities {
        let to = (from + CHUNK).min(spec.identities);
        let mut tx = store.begin().await?;
        bench::generate_identities(tx.conn(), backend, spec, from, to).await?;
        audit::append(tx.conn(), &actor, AuditEntry::new("bench.generate", "ledger", "bench", json!({ "identities": [from, to] }))).await?;
        tx.commit().await?;
        from = to;
        progress(from as u64);
    }
    bench::analyze(&mut *store.read().await?, backend).await
}
