//! Generating the benchmark ledger (a million identities, five million assignments) through the
//! store's set-wise generators, audited per chunk like any other write.

use crate::domain::Timestamp;
use crate::domain::actor::Actor;
use crate::domain::audit::AuditEntry;
use crate::domain::template::TemplateDefinition;
use crate::error::AppError;
use crate::store::bench::{self, Spec};
use crate::store::{Store, audit, templates};
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
    generate_conflicts(store, spec).await
}

/// The separation-of-duty conflicts of the ledger (see `bench::CONFLICT_EVERY`), then fresh
/// planner statistics; also completes a ledger generated before conflicts were part of it.
pub async fn generate_conflicts(store: &Store, spec: Spec) -> Result<(), AppError> {
    let actor = Actor::system("bench");
    let backend = store.backend();
    let mut tx = store.begin().await?;
    bench::generate_conflict_roles(tx.conn()).await?;
    tx.commit().await?;
    let mut from = 0;
    while from < spec.identities {
        let to = (from + CHUNK).min(spec.identities);
        let mut tx = store.begin().await?;
        bench::generate_conflicts(tx.conn(), backend, spec, from, to).await?;
        audit::append(tx.conn(), &actor, AuditEntry::new("bench.generate", "ledger", "bench", json!({ "conflicts": [from, to] }))).await?;
        tx.commit().await?;
        from = to;
    }
    bench::analyze(&mut *store.read().await?, backend).await
}

pub async fn has_conflicts(store: &Store) -> Result<bool, AppError> {
    bench::has_conflicts(&mut *store.read().await?).await
}

/// The template provisioning is measured with: 3 identities and 5 grants, like `web-api`, on
/// benchmark roles. Installed once, as a built-in template (the benchmark reviews nothing).
pub const PROVISION_TEMPLATE: &str = "bench-web-api";

pub async fn ensure_provision_template(store: &Store) -> Result<(), AppError> {
    let mut tx = store.begin().await?;
    if templates::by_key(tx.conn(), PROVISION_TEMPLATE).await?.is_some() {
        return Ok(());
    }
    let definition: TemplateDefinition = serde_json::from_value(json!({
        "description": "Benchmark: 3 identities, 5 grants",
        "identities": [
            { "name": "svc-{service}", "kind": "service_account", "grants": [
                { "role": "bench-role-00001", "scope": "{env}/{service}" }, { "role": "bench-role-00002", "scope": "{env}/{service}" } ] },
            { "name": "deploy-{service}", "kind": "ci_bot", "grants": [ { "role": "bench-role-00003", "scope": "{env}/{service}" } ] },
            { "name": "wl-{service}", "kind": "workload", "grants": [
                { "role": "bench-role-00004", "scope": "{env}/{service}" }, { "role": "bench-role-00005", "scope": "{env}" } ] }
        ]
    }))
    .map_err(|e| AppError::internal("bench template", e))?;
    let id = crate::store::new_id();
    let now = Timestamp::now();
    templates::insert(tx.conn(), &id, PROVISION_TEMPLATE, "Benchmark web API", now).await?;
    templates::insert_version(
        tx.conn(),
        &templates::NewVersion { template_id: &id, version: 1, definition: &definition, author: "bench", change_request_id: None },
        now,
    )
    .await?;
    audit::append(tx.conn(), &Actor::system("bench"), AuditEntry::new("template.create", "template", &id, json!({ "slug": PROVISION_TEMPLATE, "version": 1 })))
        .await?;
    tx.commit().await
}
