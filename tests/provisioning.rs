//! Pipeline automation: templates as reviewed change requests, provisioning and decommissioning
//! in one transaction each, safe retries, and usage reports.

mod support;

use nhidb::domain::actor::{Actor, ConsoleRole};
use nhidb::domain::change::ChangeState;
use nhidb::domain::credential::CredentialInput;
use nhidb::domain::template::{DecommissionInput, ProvisionInput, TemplateDefinition, TemplateInput};
use nhidb::error::AppError;
use nhidb::service::usage::{UsageEntry, UsageReport};
use nhidb::service::{audit, changes, credentials, identities, provisioning, seed, templates, usage};
use support::TestDb;

store_tests!(
    a_template_is_a_reviewed_change_and_provisioning_pins_current_versions,
    retries_of_one_request_create_one_service,
    a_reused_key_or_name_with_other_parameters_is_a_conflict,
    decommission_leaves_nothing_active_and_its_receipt_matches_the_chain,
    a_failure_half_way_through_provisioning_leaves_nothing_behind,
    usage_reports_move_last_use_forward_and_name_what_is_unknown,
);

fn requester() -> Actor {
    Actor::operator("op-requester", "Rui Requester", vec![ConsoleRole::Requester])
}

fn approver() -> Actor {
    Actor::operator("op-approver", "Ada Approver", vec![ConsoleRole::Approver])
}

fn pipeline() -> Actor {
    Actor::operator("op-pipeline", "Deploy pipeline", vec![ConsoleRole::Requester])
}

fn request(name: &str) -> ProvisionInput {
    ProvisionInput { template: "web-api".into(), name: name.into(), env: "prod".into(), owner: "payments-team".into(), ..Default::default() }
}

async fn seeded(db: &TestDb) {
    seed::demo(&db.store, 0, &|_| {}).await.unwrap();
}

fn definition(json: serde_json::Value) -> TemplateDefinition {
    serde_json::from_value(json).unwrap()
}

async fn a_template_is_a_reviewed_change_and_provisioning_pins_current_versions(db: TestDb) {
    seeded(&db).await;
    let input = TemplateInput {
        slug: "batch-job".into(),
        display_name: "Batch job".into(),
        definition: definition(serde_json::json!({
            "identities": [{ "name": "job-{service}", "kind": "workload", "grants": [
                { "role": "data-reader", "scope": "{env}/{service}" }, { "role": "bucket-reader", "scope": "{env}" } ] }]
        })),
        reason: "Batch jobs get the same two roles everywhere".into(),
    };
    let proposed = templates::propose(&db.store, &requester(), &input).await.unwrap();
    assert_eq!(proposed.state, ChangeState::Pending);
    // Nothing exists until it is approved, and the requester cannot approve it.
    assert!(matches!(templates::detail(&db.store, &requester(), "batch-job").await, Err(AppError::NotFound { .. })));
    assert!(changes::decide(&db.store, &requester(), &proposed.id, "approve", "").await.is_err());
    let applied = changes::decide(&db.store, &approver(), &proposed.id, "approve", "fine").await.unwrap();
    assert_eq!(applied.state, ChangeState::Applied);

    let bad = TemplateInput {
        slug: "broken".into(),
        definition: definition(serde_json::json!({
        "identities": [{ "name": "x-{service}", "kind": "workload", "grants": [{ "role": "no-such-role", "scope": "{env}" }] }] })),
        ..input.clone()
    };
    let Err(AppError::Validation { errors }) = templates::propose(&db.store, &requester(), &bad).await else { panic!("unknown role accepted") };
    assert!(errors.iter().any(|e| e.message.contains("no-such-role")), "{errors:?}");

    let input = ProvisionInput { template: "batch-job".into(), ..request("nightly-report") };
    let done = provisioning::provision(&db.store, &pipeline(), &input, None).await.unwrap();
    assert!(!done.replayed);
    assert_eq!(done.template_version, 1);
    assert_eq!(done.identities.len(), 1);
    let job = &done.identities[0];
    assert_eq!(job.name, "job-nightly-report");
    let held = identities::detail(&db.store, &support::admin(), &job.id).await.unwrap();
    assert_eq!(held.identity.service_id.as_deref(), Some(done.service_id.as_str()));
    assert_eq!(held.assignments.len(), 2);
    for assignment in &held.assignments {
        assert_eq!(assignment.role_version, assignment.role_current_version, "pinned to the version current at provisioning");
        // The approval behind a provisioned grant is the template's.
        assert_eq!(assignment.change_request_id.as_deref(), Some(proposed.id.as_str()));
    }
    assert!(held.assignments.iter().any(|a| a.role_slug == "data-reader" && a.scope == "prod/nightly-report"));

    // A second version is its own review; services provisioned before keep their version.
    let v2 = TemplateInput {
        definition: definition(serde_json::json!({
            "identities": [{ "name": "job-{service}", "kind": "workload", "grants": [{ "role": "data-reader", "scope": "{env}/{service}" }] }] })),
        reason: "Batch jobs no longer read buckets".into(),
        ..input_for("batch-job")
    };
    let proposed = templates::propose(&db.store, &requester(), &v2).await.unwrap();
    changes::decide(&db.store, &approver(), &proposed.id, "approve", "").await.unwrap();
    let detail = templates::detail(&db.store, &requester(), "batch-job").await.unwrap();
    assert_eq!(detail.template.current_version, 2);
    assert_eq!(detail.versions.len(), 2);
    let second = provisioning::provision(&db.store, &pipeline(), &ProvisionInput { name: "weekly-report".into(), ..input }, None).await.unwrap();
    assert_eq!(second.template_version, 2);
    assert_eq!(second.identities[0].grants.len(), 1);
}

fn input_for(slug: &str) -> TemplateInput {
    TemplateInput { slug: slug.into(), display_name: String::new(), definition: definition(serde_json::json!({ "identities": [] })), reason: String::new() }
}

async fn retries_of_one_request_create_one_service(db: TestDb) {
    seeded(&db).await;
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let store = db.store.clone();
        tasks.push(tokio::spawn(async move { provisioning::provision(&store, &pipeline(), &request("orders-v2"), Some("build-4711")).await }));
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap().expect("every retry succeeds"));
    }
    assert_eq!(results.iter().filter(|r| !r.replayed).count(), 1, "exactly one run created the service");
    let first = results.iter().find(|r| !r.replayed).unwrap();
    for r in &results {
        assert_eq!(r.service_id, first.service_id);
        assert_eq!(r.identities, first.identities);
    }
    assert_eq!(support::count(&db, "select count(*) from services where name = 'orders-v2'").await, 1);
    assert_eq!(support::count(&db, &format!("select count(*) from identities where service_id = '{}'", first.service_id)).await, 3);
    assert_eq!(
        support::count(
            &db,
            &format!("select count(*) from assignments where identity_id in (select id from identities where service_id = '{}')", first.service_id)
        )
        .await,
        5
    );
    // Without a key, the same name and parameters are the same request.
    let again = provisioning::provision(&db.store, &pipeline(), &request("orders-v2"), None).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.service_id, first.service_id);
}

async fn a_reused_key_or_name_with_other_parameters_is_a_conflict(db: TestDb) {
    seeded(&db).await;
    provisioning::provision(&db.store, &pipeline(), &request("search-v2"), Some("key-1")).await.unwrap();
    let other = ProvisionInput { env: "staging".into(), ..request("search-v3") };
    let Err(AppError::Conflict { message, .. }) = provisioning::provision(&db.store, &pipeline(), &other, Some("key-1")).await else {
        panic!("a reused key was accepted")
    };
    assert!(message.contains("key-1"), "{message}");
    let same_name = ProvisionInput { env: "staging".into(), ..request("search-v2") };
    let Err(AppError::Conflict { message, .. }) = provisioning::provision(&db.store, &pipeline(), &same_name, Some("key-2")).await else {
        panic!("a second service with one name")
    };
    assert!(message.contains("search-v2"), "{message}");
    // A service made by hand keeps its name as well.
    let Err(AppError::Conflict { .. }) = provisioning::provision(&db.store, &pipeline(), &request("payments-api"), None).await else {
        panic!("provisioned over an existing service")
    };
    assert_eq!(support::count(&db, "select count(*) from services where name in ('search-v3', 'payments-api')").await, 1);
    let Err(AppError::Validation { errors }) =
        provisioning::provision(&db.store, &pipeline(), &ProvisionInput { template: "nope".into(), ..request("x1") }, None).await
    else {
        panic!("unknown template accepted")
    };
    assert_eq!(errors[0].field, "template");
    let viewer = Actor::operator("op-viewer", "Viewer", vec![ConsoleRole::Viewer]);
    assert!(matches!(provisioning::provision(&db.store, &viewer, &request("x2"), None).await, Err(AppError::Forbidden { .. })));
}

async fn decommission_leaves_nothing_active_and_its_receipt_matches_the_chain(db: TestDb) {
    seeded(&db).await;
    let done = provisioning::provision(&db.store, &pipeline(), &request("legacy-api"), None).await.unwrap();
    let svc = &done.identities[0];
    let credential = credentials::register(
        &db.store,
        &support::admin(),
        &svc.id,
        &CredentialInput {
            kind: "api_key".into(),
            fingerprint: "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8".into(),
            assignment_id: Some(svc.grants[0].assignment_id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();

    let mut tasks = Vec::new();
    for _ in 0..3 {
        let (store, id) = (db.store.clone(), done.service_id.clone());
        tasks.push(tokio::spawn(async move {
            provisioning::decommission(
                &store,
                &Actor::operator("op-pipeline", "Deploy pipeline", vec![ConsoleRole::Requester]),
                &id,
                &DecommissionInput { reason: "replaced by legacy-api-v2".into() },
            )
            .await
        }));
    }
    let mut receipts = Vec::new();
    for task in tasks {
        receipts.push(task.await.unwrap().expect("every retry succeeds"));
    }
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    let receipt = receipts.into_iter().find(|r| !r.replayed).unwrap();
    assert_eq!(receipt.identities_retired.len(), 3);
    assert_eq!(receipt.assignments_revoked.len(), 5);
    assert_eq!(receipt.credentials_revoked.len(), 1);
    assert_eq!(receipt.credentials_revoked[0].id, credential.id);

    // Nothing of the service stays active, table by table.
    let of_service = format!("(select id from identities where service_id = '{}')", done.service_id);
    assert_eq!(support::count(&db, &format!("select count(*) from services where id = '{}' and status <> 'decommissioned'", done.service_id)).await, 0);
    assert_eq!(support::count(&db, &format!("select count(*) from identities where id in {of_service} and status <> 'retired'")).await, 0);
    assert_eq!(support::count(&db, &format!("select count(*) from credentials where identity_id in {of_service} and revoked_at is null")).await, 0);
    assert_eq!(support::count(&db, &format!("select count(*) from assignments where identity_id in {of_service} and revoked_at is null")).await, 0);

    // The receipt's hash is the chain's own at that sequence, and the chain verifies.
    let report = audit::verify(&db.store, &support::admin()).await.unwrap();
    assert!(report.broken.is_none(), "{}", report.summary());
    let events = audit::events(&db.store, &support::admin(), Some(&(receipt.audit_to_seq - 1).to_string()), Some(1)).await.unwrap();
    assert_eq!(events.items[0].seq, receipt.audit_to_seq);
    assert_eq!(events.items[0].hash, receipt.chain_hash);
    assert_eq!(events.items[0].action, "service.decommission");
    assert_eq!(receipt.audit_to_seq - receipt.audit_from_seq, 3, "one event per identity, then the service's");

    let again = provisioning::decommission(&db.store, &pipeline(), &done.service_id, &DecommissionInput::default()).await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.chain_hash, receipt.chain_hash);
}

/// Makes the database refuse grants of `role` mid-transaction, as a failing store call would.
async fn inject_fault(db: &TestDb, role_slug: &str) {
    let role_id = format!("(select id from roles where slug = '{role_slug}')");
    if db.url.starts_with("sqlite") {
        support::sql(
            db,
            &format!("create trigger inject_fault before insert on assignments when new.role_id = {role_id} begin select raise(abort, 'injected fault'); end"),
        )
        .await;
    } else {
        // PostgreSQL trigger conditions cannot hold subqueries; the function checks the role.
        support::sql(
            db,
            &format!(
                "create function inject_fault() returns trigger language plpgsql as $$ begin \
                 if new.role_id = {role_id} then raise exception 'injected fault'; end if; return new; end $$"
            ),
        )
        .await;
        support::sql(db, "create trigger inject_fault before insert on assignments for each row execute function inject_fault()").await;
    }
}

async fn a_failure_half_way_through_provisioning_leaves_nothing_behind(db: TestDb) {
    seeded(&db).await;
    // deployment-trigger is granted to the second of web-api's three identities.
    inject_fault(&db, "deployment-trigger").await;
    let tables = ["services", "identities", "identity_labels", "scopes", "assignments", "audit_events", "provisions"];
    let mut before = Vec::new();
    for table in tables {
        before.push(support::count(&db, &format!("select count(*) from {table}")).await);
    }
    let Err(AppError::Internal { .. }) = provisioning::provision(&db.store, &pipeline(), &request("half-done"), Some("k")).await else {
        panic!("the injected fault did not fail provisioning")
    };
    for (table, count) in tables.iter().zip(before) {
        assert_eq!(support::count(&db, &format!("select count(*) from {table}")).await, count, "{table} kept rows of a failed run");
    }
    assert!(audit::verify(&db.store, &support::admin()).await.unwrap().broken.is_none());
    support::sql(&db, if db.url.starts_with("sqlite") { "drop trigger inject_fault" } else { "drop trigger inject_fault on assignments" }).await;
    let done = provisioning::provision(&db.store, &pipeline(), &request("half-done"), Some("k")).await.unwrap();
    assert!(!done.replayed, "the failed run recorded nothing to replay");
}

async fn usage_reports_move_last_use_forward_and_name_what_is_unknown(db: TestDb) {
    seeded(&db).await;
    let done = provisioning::provision(&db.store, &pipeline(), &request("usage-api"), None).await.unwrap();
    let svc = &done.identities[0];
    let fingerprint = "ab".repeat(32);
    credentials::register(
        &db.store,
        &support::admin(),
        &svc.id,
        &CredentialInput {
            kind: "api_key".into(),
            fingerprint: fingerprint.clone(),
            assignment_id: Some(svc.grants[0].assignment_id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let reporter = Actor::token("tok-usage", "usage agent", vec![nhidb::domain::token::TokenScope::ReportUsage]);
    let mut entries: Vec<UsageEntry> =
        (0..10_000).map(|i| UsageEntry { fingerprint: Some(format!("{i:064x}")), identity_id: None, last_used_at: "2026-11-01T00:00:00Z".into() }).collect();
    entries.push(UsageEntry { fingerprint: Some(fingerprint.to_uppercase()), identity_id: None, last_used_at: "2026-11-20T10:00:00Z".into() });
    entries.push(UsageEntry { fingerprint: None, identity_id: Some(done.identities[1].id.clone()), last_used_at: "2026-11-21T10:00:00Z".into() });
    entries.push(UsageEntry { fingerprint: None, identity_id: Some("no-such-identity".into()), last_used_at: "2026-11-21T10:00:00Z".into() });
    let outcome = usage::report(&db.store, &reporter, &UsageReport { entries }).await.unwrap();
    assert_eq!(outcome.received, 10_003);
    assert_eq!(outcome.credentials_updated, 1);
    assert_eq!(outcome.unknown_fingerprints.len(), 10_000);
    assert_eq!(outcome.unknown_identities, vec!["no-such-identity".to_owned()]);
    assert_eq!(outcome.identities_updated, 2, "the credential's identity and the one named");

    let seen = identities::get(&db.store, &support::admin(), &svc.id).await.unwrap();
    assert_eq!(seen.last_seen_at.unwrap().to_rfc3339(), "2026-11-20T10:00:00.000000Z");
    // An older report arriving late does not move anything back.
    let late =
        UsageReport { entries: vec![UsageEntry { fingerprint: Some(fingerprint.clone()), identity_id: None, last_used_at: "2026-11-02T00:00:00Z".into() }] };
    usage::report(&db.store, &reporter, &late).await.unwrap();
    let held = credentials::of_identity(&db.store, &support::admin(), &svc.id).await.unwrap();
    assert_eq!(held[0].last_used_at.unwrap().to_rfc3339(), "2026-11-20T10:00:00.000000Z");
    // Reporting needs its scope.
    assert!(matches!(usage::report(&db.store, &pipeline(), &late).await, Err(AppError::Forbidden { .. })));
}
