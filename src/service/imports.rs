//! Importing a source: read its export, reconcile it with the source's rows in the ledger, and
//! write the difference in one transaction, audited with the importing actor. The same input
//! twice changes nothing but the import's own record; `plan_only` reports without writing.

use super::findings::{Touches, settle};
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::AuditEntry;
use crate::domain::drift::DriftKind;
use crate::domain::scope::ScopeKind;
use crate::domain::source::{ImportRecord, ImportSummary, SourceKind, parse_source_name};
use crate::error::AppError;
use crate::sources::observation::{Input, Observation};
use crate::sources::{aws, gcp, kubernetes, reconcile};
use crate::store::drift::NewDrift;
use crate::store::sources::{NewGrant, NewVersion};
use crate::store::{self, Store, assignments, audit, credentials, identities, scopes, sources};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Audit events are appended in runs of this many as an import goes, so a large first import
/// does not hold hundreds of thousands of them in memory.
const AUDIT_BATCH: usize = 5_000;

/// Appends the pending events once there are at least `at_least` of them.
async fn flush(conn: &mut sqlx::AnyConnection, actor: &Actor, events: &mut Vec<AuditEntry>, at_least: usize) -> Result<(), AppError> {
    if !events.is_empty() && events.len() >= at_least {
        audit::append_all(conn, actor, std::mem::take(events)).await?;
    }
    Ok(())
}

tokio::task_local! {
    /// Where an import reports its steps as it goes (the CLI's progress line); unset elsewhere.
    static PROGRESS: std::sync::Arc<dyn Fn(&str) + Send + Sync>;
}

/// Runs `import` (one of this module's imports) reporting each step to `report`.
pub async fn with_progress<T>(report: std::sync::Arc<dyn Fn(&str) + Send + Sync>, import: impl Future<Output = T>) -> T {
    PROGRESS.scope(report, import).await
}

fn step(text: &str) {
    // Logged too, with its time and memory: where a slow import spends them
    // (`NHIDB_LOG=nhidb::import=debug`).
    if tracing::enabled!(target: "nhidb::import", tracing::Level::DEBUG) {
        let resident = std::fs::read_to_string("/proc/self/statm").ok().and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok());
        let megabytes = resident.map(|pages| pages * 4096 / 1_000_000).unwrap_or(0);
        tracing::debug!(target: "nhidb::import", "{text} ({megabytes} MB resident)");
    }
    let _ = PROGRESS.try_with(|report| report(text));
}

/// Returns the memory the parser freed to the system. The parser runs on a blocking thread,
/// whose allocator arena keeps what it freed (the input's text and its object tree, a few
/// hundred MB for a large cluster) unless asked: the import's writes then start from the
/// observation's size, not the parser's peak. The `nhidb` binary allocates through mimalloc,
/// which returns freed pages by itself after a few milliseconds (the first import of the
/// benchmark's cluster peaked at 391 MB with it, 433 MB with glibc and this trim); the trim still
/// serves the library under glibc's allocator (tests) and SQLite's own allocations.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas to the system; it
    // touches no memory in use.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The reason recorded on what an import ends.
pub const GONE: &str = "gone from source";

/// One input file, owned (the API and the CLI read it before the import starts).
pub struct InputFile {
    pub name: String,
    pub text: String,
}

/// How to read a Kubernetes export (see `sources::kubernetes::Options`).
#[derive(Debug, Clone, Default)]
pub struct KubernetesOptions {
    pub default_namespace: Option<String>,
    pub exclude: Vec<String>,
}

/// What to import into.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: SourceKind,
    pub name: String,
    /// The source's owner (id or name): needed the first time, and must match afterwards if
    /// given.
    pub owner: Option<String>,
    pub plan_only: bool,
}

fn megabytes(inputs: &[InputFile]) -> String {
    let bytes: usize = inputs.iter().map(|i| i.text.len()).sum();
    format!("{} file(s), {:.1} MB", inputs.len(), bytes as f64 / 1e6)
}

fn input_hash(inputs: &[InputFile]) -> String {
    let mut hash = Sha256::new();
    for input in inputs {
        hash.update((input.text.len() as u64).to_be_bytes());
        hash.update(input.text.as_bytes());
    }
    format!("sha256:{}", hex::encode(hash.finalize()))
}

/// Imports a Kubernetes export into the cluster source `target.name`.
pub async fn import_kubernetes(
    store: &Store,
    actor: &Actor,
    target: &Target,
    options: &KubernetesOptions,
    inputs: Vec<InputFile>,
) -> Result<ImportRecord, AppError> {
    require(actor, Capability::Import)?;
    let cluster = parse_source_name(&target.name).map_err(|e| AppError::invalid("name", e))?;
    let options = options.clone();
    step(&format!("parsing {}", megabytes(&inputs)));
    // Parsing a large cluster takes seconds of CPU: off the async workers, before the write turn.
    let parsed = tokio::task::spawn_blocking(move || {
        let hash = input_hash(&inputs);
        let borrowed: Vec<Input> = inputs.iter().map(|i| Input { name: &i.name, text: &i.text }).collect();
        let namespace = options.default_namespace.as_deref().unwrap_or("default");
        let observation = kubernetes::parse(&borrowed, &kubernetes::Options { cluster: &cluster, default_namespace: namespace, exclude: &options.exclude });
        observation.map(|o| (o, hash))
    })
    .await
    .map_err(|e| AppError::internal("parse kubernetes input", e))?;
    let (observation, hash) = parsed.map_err(|e| AppError::invalid("input", e))?;
    release_freed_memory();
    import(store, actor, target, observation, hash).await
}

/// Imports `aws iam get-account-authorization-details` output (one document or its pages)
/// into the account source; `target.name` is the account id, or empty to take it from the ARNs.
pub async fn import_aws(store: &Store, actor: &Actor, target: &Target, inputs: Vec<InputFile>) -> Result<ImportRecord, AppError> {
    require(actor, Capability::Import)?;
    let given = (!target.name.trim().is_empty()).then(|| target.name.trim().to_owned());
    if let Some(account) = &given
        && !(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AppError::invalid("name", format!("\"{account}\" is not an AWS account id (12 digits).")));
    }
    step(&format!("parsing {}", megabytes(&inputs)));
    let parsed = tokio::task::spawn_blocking(move || {
        let hash = input_hash(&inputs);
        let borrowed: Vec<Input> = inputs.iter().map(|i| Input { name: &i.name, text: &i.text }).collect();
        aws::parse(&borrowed, &aws::Options { account: given.as_deref() }).map(|o| (o, hash))
    })
    .await
    .map_err(|e| AppError::internal("parse aws input", e))?;
    let (observation, hash) = parsed.map_err(|e| AppError::invalid("input", e))?;
    release_freed_memory();
    let account = observation.scopes.first().and_then(|s| s.strip_prefix("aws/")).unwrap_or_default().to_owned();
    import(store, actor, &Target { name: account, ..target.clone() }, observation, hash).await
}

/// Imports a GCP project's IAM policy (`gcloud projects get-iam-policy --format=json`), with
/// its custom roles' definitions when given, into the project source `target.name`.
pub async fn import_gcp(store: &Store, actor: &Actor, target: &Target, policy: InputFile, roles: Option<InputFile>) -> Result<ImportRecord, AppError> {
    require(actor, Capability::Import)?;
    let project = parse_source_name(&target.name).map_err(|e| AppError::invalid("name", e))?;
    step("parsing the policy");
    let parsed = tokio::task::spawn_blocking(move || {
        let files: Vec<InputFile> = std::iter::once(policy).chain(roles).collect();
        let hash = input_hash(&files);
        let policy = Input { name: &files[0].name, text: &files[0].text };
        let roles = files.get(1).map(|r| Input { name: &r.name, text: &r.text });
        gcp::parse(&policy, roles.as_ref(), &gcp::Options { project: &project }).map(|o| (o, hash))
    })
    .await
    .map_err(|e| AppError::internal("parse gcp input", e))?;
    let (observation, hash) = parsed.map_err(|e| AppError::invalid("input", e))?;
    release_freed_memory();
    import(store, actor, target, observation, hash).await
}

/// Reconciles an observation with the ledger (see the module comment).
pub async fn import(store: &Store, actor: &Actor, target: &Target, mut observation: Observation, input_hash: String) -> Result<ImportRecord, AppError> {
    require(actor, Capability::Import)?;
    let _timed = crate::metrics::METRICS.import_seconds.with_label_values(&[target.kind.as_str()]).start_timer();
    let name = parse_source_name(&target.name).map_err(|e| AppError::invalid("name", e))?;
    let started = std::time::Instant::now();
    let now = Timestamp::now();
    step(&format!("reconciling {} principals, {} roles, {} grants", observation.principals.len(), observation.roles.len(), observation.grants.len()));
    let mut tx = store.begin().await?;
    let conn = tx.conn();

    let existing = sources::by_kind_name(conn, target.kind, &name).await?;
    let owner = match (&existing, &target.owner) {
        (_, Some(key)) => Some(super::provisioning::owner(conn, key).await?),
        (Some(_), None) => None,
        (None, None) => {
            return Err(AppError::invalid(
                "owner",
                format!("{} source \"{name}\" is new: name its owner (a team or person) for the first import.", target.kind.label()),
            ));
        }
    };
    if let (Some(source), Some(owner)) = (&existing, &owner)
        && source.owner_id != owner.id
    {
        return Err(AppError::invalid("owner", format!("Source \"{name}\" is owned by {}, not {}.", source.owner_name, owner.name)));
    }
    let (source_id, owner_id, is_new) = match (&existing, &owner) {
        (Some(source), _) => (source.id.clone(), source.owner_id.clone(), false),
        (None, Some(owner)) => (store::new_id(), owner.id.clone(), true),
        (None, None) => unreachable!("an unknown source without an owner was refused above"),
    };

    step("reading the source's rows");
    let ledger = if is_new { reconcile::Ledger::default() } else { sources::ledger(conn, &source_id).await? };
    let candidates: Vec<String> = observation
        .roles
        .iter()
        .filter(|r| !ledger.roles.contains_key(&r.source_ref))
        .flat_map(|r| reconcile::slug_candidates(target.kind, &name, r))
        .collect();
    let taken: HashSet<String> = sources::slugs_taken(conn, &candidates).await?.into_iter().collect();
    let mut summary = ImportSummary {
        principals: observation.principals.len(),
        roles: observation.roles.len(),
        grants: observation.grants.len(),
        skipped: std::mem::take(&mut observation.skipped),
        excluded: observation.excluded,
        dangling: observation.dangling().count(),
        notes: std::mem::take(&mut observation.notes),
        ..ImportSummary::default()
    };
    step("planning");
    let plan = reconcile::plan(target.kind, &name, observation, &ledger, &taken).map_err(|e| AppError::invalid("input", e))?;
    summary.labels_dropped = plan.labels_dropped;
    summary.identities_added = plan.new_identities.len();
    summary.identities_relabelled = plan.relabelled.len();
    summary.identities_seen = plan.seen.len();
    summary.identities_retired = plan.retired.len();
    summary.roles_added = plan.new_roles.len();
    summary.versions_added = plan.new_versions.len() + plan.repoints.len();
    summary.roles_retired = plan.retired_roles.len();
    summary.grants_added = plan.new_grants.len();
    summary.grants_ended = plan.ended_grants.len();
    summary.dangling_opened = plan.dangling_opened.len();
    summary.dangling_resolved = plan.dangling_resolved.len();
    let record = |summary: ImportSummary, started: std::time::Instant| ImportRecord {
        id: store::new_id(),
        source_id: source_id.clone(),
        source_name: name.clone(),
        actor: actor.name.clone(),
        started_at: now,
        duration_ms: started.elapsed().as_millis() as i64,
        input_hash: input_hash.clone(),
        summary,
    };
    if target.plan_only {
        return Ok(record(summary, started));
    }

    let mut events = Vec::new();
    if is_new {
        sources::insert(conn, &source_id, target.kind, &name, &owner_id, now).await?;
        events.push(AuditEntry::new("source.create", "source", &source_id, json!({ "kind": target.kind.as_str(), "name": name, "owner_id": owner_id })));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    let import_id = store::new_id();
    let context = |entry: AuditEntry| entry.in_context(&source_id);

    let mut scope_ids: HashMap<String, String> = HashMap::new();
    for path in &plan.scopes {
        let scope = scopes::ensure(conn, path, ScopeKind::Namespace, now).await?;
        scope_ids.insert(path.to_string(), scope.id);
    }
    let scope_id = |path: &str| scope_ids.get(path).cloned().ok_or_else(|| AppError::internal("import scope", path));

    step(&format!("writing {} new identities", plan.new_identities.len()));
    let new_identities: Vec<(String, &reconcile::PlannedIdentity)> = plan.new_identities.iter().map(|p| (store::new_id(), p)).collect();
    sources::insert_identities(conn, &source_id, &owner_id, &new_identities, now).await?;
    for (id, p) in &new_identities {
        events.push(context(AuditEntry::new(
            "identity.import",
            "identity",
            id,
            json!({ "name": p.name.as_str(), "source_ref": p.source_ref, "kind": p.kind.as_str() }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    sources::relabel(conn, &plan.relabelled, now).await?;
    for (id, labels, detail) in &plan.relabelled {
        events.push(context(AuditEntry::new(
            "identity.update",
            "identity",
            id,
            json!({ "changes": { "labels": labels.to_text(), "source_detail": detail }, "by": "import" }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    identities::record_seen(conn, &plan.seen).await?;
    let mut grants_changed: Vec<String> = Vec::new();

    // Grants no longer seen end before identities and roles retire.
    let ended: Vec<String> = plan.ended_grants.iter().map(|(id, _)| id.clone()).collect();
    grants_changed.extend(sources::end_grants(conn, &ended, &actor.name, GONE, now).await?);
    for (id, source_ref) in &plan.ended_grants {
        events.push(context(AuditEntry::new("assignment.revoke", "assignment", id, json!({ "reason": GONE, "source_ref": source_ref }))));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    let retired_ids: Vec<String> = plan.retired.iter().map(|(id, _)| id.clone()).collect();
    for id in &retired_ids {
        // Grants and credentials given in nhidb to an identity that is gone end with it.
        credentials::revoke_all_of_identity(conn, id, now, GONE).await?;
        assignments::revoke_all_of_identity(conn, id, &actor.name, now, GONE).await?;
    }
    sources::retire_identities(conn, &retired_ids, now).await?;
    for (id, name) in &plan.retired {
        events.push(context(AuditEntry::new("identity.retire", "identity", id, json!({ "name": name, "reason": GONE }))));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }

    step(&format!("writing {} new roles, {} new versions", plan.new_roles.len(), plan.new_versions.len()));
    let new_roles: Vec<(String, &reconcile::PlannedRole)> = plan.new_roles.iter().map(|r| (store::new_id(), r)).collect();
    sources::insert_roles(conn, &source_id, &new_roles, now).await?;
    // A new role's versions: the source's older ones (1..n), then the current one.
    let mut versions = Vec::new();
    let mut current_of_new: HashMap<&str, i64> = HashMap::new();
    for (id, r) in &new_roles {
        for (i, (source_version, definition)) in r.history.iter().enumerate() {
            versions.push((id.as_str(), i as i64 + 1, definition, Some(source_version.as_str())));
        }
        let current = r.history.len() as i64 + 1;
        current_of_new.insert(id.as_str(), current);
        versions.push((id.as_str(), current, &r.definition, r.source_version.as_deref()));
        events.push(context(AuditEntry::new(
            "role.import",
            "role",
            id,
            json!({ "slug": r.slug.as_str(), "source_ref": r.source_ref, "version": current, "source_version": r.source_version, "content_hash": r.definition.content_hash() }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    for v in &plan.new_versions {
        versions.push((v.role_id.as_str(), v.version, &v.definition, v.source_version.as_deref()));
        let diff = crate::domain::role::diff(Some(&v.before), &v.definition);
        events.push(context(AuditEntry::new(
            "role.version_observed",
            "role",
            &v.role_id,
            json!({
                "slug": v.slug,
                "from": v.from_version,
                "version": v.version,
                "current": v.current,
                "source_version": v.source_version,
                "content_hash": v.definition.content_hash(),
                "rules_added": diff.rules_added.iter().map(|r| r.summary()).collect::<Vec<_>>(),
                "rules_removed": diff.rules_removed.iter().map(|r| r.summary()).collect::<Vec<_>>(),
            }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    let version_scopes = versions.iter().map(|(_, _, d, _)| scope_id(d.scope.as_str())).collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<NewVersion> = versions
        .iter()
        .zip(&version_scopes)
        .map(|((role_id, version, definition, source_version), scope_id)| NewVersion {
            role_id,
            version: *version,
            scope_id,
            definition,
            source_version: *source_version,
        })
        .collect();
    sources::insert_versions(conn, &rows, &actor.name, now).await?;
    for (role_id, current) in &current_of_new {
        if *current > 1 {
            sources::set_current_versions(conn, &[((*role_id).to_owned(), *current)], now).await?;
        }
    }
    for r in &plan.repoints {
        events.push(context(AuditEntry::new(
            "role.version_observed",
            "role",
            &r.role_id,
            json!({ "slug": r.slug, "from": r.from_version, "version": r.to_version, "current": true }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    let moves: Vec<(String, i64)> = plan
        .new_versions
        .iter()
        .filter(|v| v.current)
        .map(|v| (v.role_id.clone(), v.version))
        .chain(plan.repoints.iter().map(|r| (r.role_id.clone(), r.to_version)))
        .collect();
    sources::set_current_versions(conn, &moves, now).await?;
    let sensitivities: Vec<_> = plan.new_versions.iter().filter_map(|v| v.sensitivity.map(|s| (v.role_id.clone(), s))).collect();
    sources::set_sensitivity(conn, &sensitivities, now).await?;
    let mut moved_holders = Vec::new();
    for (role_id, version) in &moves {
        // The source already gives its holders the new rules: the ledger records that (the
        // version's audit event carries the rule diff; no change request reviewed it).
        moved_holders.extend(sources::move_grants(conn, &source_id, role_id, *version).await?);
    }
    summary.grants_moved = moved_holders.len();
    let retired_roles: Vec<String> = plan.retired_roles.iter().map(|(id, _)| id.clone()).collect();
    for id in &retired_roles {
        grants_changed.extend(crate::store::findings::holders_of_role(conn, id, now).await?);
        assignments::revoke_all_of_role(conn, id, now, GONE).await?;
    }
    sources::retire_roles(conn, &retired_roles, now).await?;
    for (id, slug) in &plan.retired_roles {
        events.push(context(AuditEntry::new("role.retire", "role", id, json!({ "slug": slug, "reason": GONE }))));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }

    step(&format!("writing {} new grants", plan.new_grants.len()));
    // New grants, their ends resolved to ledger rows.
    let identity_of: HashMap<&str, &str> = ledger
        .identities
        .iter()
        .map(|(r, i)| (r.as_str(), i.id.as_str()))
        .chain(new_identities.iter().map(|(id, p)| (p.source_ref.as_str(), id.as_str())))
        .collect();
    let mut role_of: HashMap<&str, (&str, i64)> = ledger.roles.iter().map(|(r, l)| (r.as_str(), (l.id.as_str(), l.current_version))).collect();
    for (id, r) in &new_roles {
        role_of.insert(r.source_ref.as_str(), (id.as_str(), current_of_new[id.as_str()]));
    }
    let versioned: HashMap<&str, i64> = moves.iter().map(|(role_id, version)| (role_id.as_str(), *version)).collect();
    let mut new_grants = Vec::with_capacity(plan.new_grants.len());
    for g in &plan.new_grants {
        let identity_id = *identity_of.get(g.principal_ref.as_str()).ok_or_else(|| AppError::internal("import grant principal", &g.principal_ref))?;
        let (role_id, version) = role_of.get(g.role_ref.as_str()).copied().ok_or_else(|| AppError::internal("import grant role", &g.role_ref))?;
        let version = versioned.get(role_id).copied().unwrap_or(version);
        let scope_id = scope_ids.get(g.scope.as_str()).ok_or_else(|| AppError::internal("import scope", g.scope.as_str()))?;
        new_grants.push(NewGrant {
            id: String::new(),
            identity_id,
            role_id,
            role_version: version,
            scope_id,
            source_ref: &g.source_ref,
            condition: g.condition.as_deref(),
        });
    }
    // Written in identity order, ids given in that order: the grant indexes by identity then
    // fill page after page, and settling findings below reads each identity's grants from
    // pages just written, not from all over a large cluster's.
    new_grants.sort_by(|a, b| a.identity_id.cmp(&b.identity_id));
    for grant in &mut new_grants {
        grant.id = store::new_id();
    }
    sources::insert_grants(conn, &source_id, &actor.name, &new_grants, now).await?;
    step("auditing new grants");
    let new_identity_ids: HashSet<&str> = new_identities.iter().map(|(id, _)| id.as_str()).collect();
    for g in &new_grants {
        events.push(context(AuditEntry::new(
            "assignment.import",
            "assignment",
            &g.id,
            json!({ "identity_id": g.identity_id, "role_id": g.role_id, "version": g.role_version, "source_ref": g.source_ref }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
        if !new_identity_ids.contains(g.identity_id) {
            grants_changed.push(g.identity_id.to_owned());
        }
    }

    step("recording dangling bindings and drift");
    let opened: Vec<&crate::sources::observation::ObservedGrant> = plan.dangling_opened.iter().collect();
    sources::open_dangling(conn, &source_id, &opened, now).await?;
    sources::resolve_dangling(conn, &source_id, &plan.dangling_resolved, now).await?;

    // Drift: what the source changed or granted that nobody in nhidb reviewed. Closed first:
    // what ended in this import frees its subject.
    let mut closed = store::drift::close_gone(conn, &source_id, DriftKind::DanglingBinding, &plan.dangling_resolved, now).await?;
    closed.extend(store::drift::close_ended(conn, &source_id, now).await?);
    for (id, kind, subject) in &closed {
        events.push(context(AuditEntry::new("drift.close", "source", &source_id, json!({ "drift_id": id, "kind": kind, "subject": subject, "reason": GONE }))));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }
    step("finding drift");
    let observed = drift_observed(conn, &source_id, is_new, &plan, &new_roles, &current_of_new).await?;
    // Only what was not open already is opened (and counted, and audited).
    let opened = store::drift::open(conn, &source_id, &observed, now).await?;
    summary.drift_opened = opened.len();
    for d in observed.iter().filter(|d| opened.contains(&(d.kind.as_str().to_owned(), d.subject_id.clone()))) {
        events.push(context(AuditEntry::new(
            "drift.open",
            "source",
            &source_id,
            json!({ "kind": d.kind.as_str(), "subject_id": d.subject_id, "subject": d.subject, "detail": d.detail }),
        )));
        flush(conn, actor, &mut events, AUDIT_BATCH).await?;
    }

    step("settling hygiene findings");
    let phases_before = super::findings::phase_times_us();
    // Findings, in the same transaction as the changes behind them.
    let created: Vec<String> = new_identities.iter().map(|(id, _)| id.clone()).collect();
    settle(conn, &created, Touches::Created, now).await?;
    // `Created` assumes an identity seen just now; one the source last saw long ago may be
    // dormant already, and one seen again may no longer be.
    let seen: Vec<String> =
        new_identities.iter().filter(|(_, p)| p.last_seen_at.is_some()).map(|(id, _)| id.clone()).chain(plan.seen.iter().map(|(id, _)| id.clone())).collect();
    step("settling hygiene findings: last seen");
    settle(conn, &seen, Touches::Usage, now).await?;
    settle(conn, &retired_ids, Touches::Retired, now).await?;
    let retired_set: HashSet<&str> = retired_ids.iter().map(String::as_str).collect();
    grants_changed.retain(|id| !retired_set.contains(id.as_str()) && !new_identity_ids.contains(id.as_str()));
    step("settling hygiene findings: grants");
    settle(conn, &grants_changed, Touches::Grants, now).await?;
    moved_holders.retain(|id| !retired_set.contains(id.as_str()) && !new_identity_ids.contains(id.as_str()));
    settle(conn, &moved_holders, Touches::Versions, now).await?;

    let phases = super::findings::phase_times_us();
    let [sql, separation, writes]: [u64; 3] = std::array::from_fn(|i| phases[i].saturating_sub(phases_before[i]) / 1000);
    tracing::debug!(target: "nhidb::import", "settled findings: SQL {sql} ms, separation of duties {separation} ms, writes {writes} ms");
    summary.applied = summary.changes() > 0;
    let mut record = record(summary, started);
    record.id = import_id;
    events.push(context(AuditEntry::new(
        "source.import",
        "source",
        &source_id,
        json!({ "import_id": record.id, "input_hash": record.input_hash, "changes": record.summary.changes(), "summary": record.summary }),
    )));
    flush(conn, actor, &mut events, 0).await?;
    sources::record_import(conn, &record).await?;
    step("committing");
    tx.commit().await?;
    super::findings::settle_escalation_soon(store);
    Ok(record)
}

/// The drift an import observed: on a source imported before, every role version it added or
/// made current (and every role it created) outside review; on every import, each new grant
/// of a privileged role (and each grant of a role that became privileged) without a finding
/// yet, and each new dangling grant.
#[allow(clippy::too_many_arguments)]
async fn drift_observed(
    conn: &mut sqlx::AnyConnection,
    source_id: &str,
    is_new: bool,
    plan: &reconcile::Plan,
    new_roles: &[(String, &reconcile::PlannedRole)],
    current_of_new: &HashMap<&str, i64>,
) -> Result<Vec<NewDrift>, AppError> {
    let mut drift = Vec::new();
    // The first import is the baseline: what a source holds when nhidb first sees it is
    // recorded as it is; its privileged grants and dangling bindings are still findings.
    if !is_new {
        for v in &plan.new_versions {
            let d = crate::domain::role::diff(Some(&v.before), &v.definition);
            let mut detail = format!("{} rule(s) added, {} removed", d.rules_added.len(), d.rules_removed.len());
            if !d.added.is_empty() || !d.removed.is_empty() {
                detail.push_str(&format!("; permissions +{} -{}", d.added.len(), d.removed.len()));
            }
            detail.push_str(if v.current {
                "; the source gives it to the role's holders now"
            } else {
                "; not the source's default version: nobody holds it yet"
            });
            drift.push(NewDrift {
                kind: DriftKind::ChangedOutsideReview,
                subject_id: format!("{}/{}", v.role_id, v.version),
                subject: format!("{} v{}", v.slug, v.version),
                detail,
                role_id: Some(v.role_id.clone()),
                role_version: Some(v.version),
                base_version: Some(v.from_version),
                identity_id: None,
            });
        }
        for r in &plan.repoints {
            drift.push(NewDrift {
                kind: DriftKind::ChangedOutsideReview,
                subject_id: format!("{}/{}", r.role_id, r.to_version),
                subject: format!("{} v{}", r.slug, r.to_version),
                detail: format!("The source made v{} its current version (was v{}): its holders have its rules now", r.to_version, r.from_version),
                role_id: Some(r.role_id.clone()),
                role_version: Some(r.to_version),
                base_version: Some(r.from_version),
                identity_id: None,
            });
        }
        for (id, r) in new_roles {
            let version = current_of_new[id.as_str()];
            drift.push(NewDrift {
                kind: DriftKind::ChangedOutsideReview,
                subject_id: format!("{id}/{version}"),
                subject: format!("{} v{version}", r.slug.as_str()),
                detail: format!("New role created in the source, {} rule(s)", r.definition.rules.len()),
                role_id: Some(id.clone()),
                role_version: Some(version),
                base_version: None,
                identity_id: None,
            });
        }
    }
    // Every live privileged grant and open dangling binding of the source without a finding
    // yet: new ones, those of roles that became privileged, and those of sources imported
    // before drift was kept. Access acknowledged once stays so while the grant lives.
    let privileged = store::drift::privileged_without_drift(conn, source_id).await?;
    for g in privileged {
        let condition = g.condition.as_deref().map(|c| format!(" when {c}")).unwrap_or_default();
        drift.push(NewDrift {
            kind: DriftKind::UnreviewedAccess,
            subject: format!("{} holds {} v{} on {}", g.identity_name, g.role_slug, g.role_version, g.scope),
            detail: format!("Granted in the source{condition}; nobody in nhidb approved it"),
            subject_id: g.assignment_id,
            role_id: Some(g.role_id),
            role_version: Some(g.role_version),
            base_version: None,
            identity_id: Some(g.identity_id),
        });
    }
    for g in store::drift::dangling_without_drift(conn, source_id).await? {
        let missing = match g.missing.as_str() {
            "role" => "its role is missing",
            "principal" => "its principal is missing",
            _ => "its role and principal are missing",
        };
        drift.push(NewDrift {
            kind: DriftKind::DanglingBinding,
            subject: format!("{} → {}", g.principal_ref, g.role_ref),
            detail: format!("{} on {}: {missing} from the source", g.source_ref, g.scope),
            subject_id: g.source_ref,
            role_id: None,
            role_version: None,
            base_version: None,
            identity_id: None,
        });
    }
    Ok(drift)
}
