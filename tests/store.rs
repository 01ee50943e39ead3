//! The store test suite: every test runs against SQLite and, when configured, PostgreSQL.

mod support;

use nhidb::domain::actor::ConsoleRole;
use nhidb::domain::credential::CredentialInput;
use nhidb::domain::identity::{IdentityFilter, IdentityKind, IdentityStatus};
use nhidb::domain::page::PageRequest;
use nhidb::domain::service::ServiceInput;
use nhidb::error::AppError;
use nhidb::service::{audit, credentials, identities, seed, services};
use sqlx::Connection;
use support::{TestDb, admin, identity_input, operator, owner};

store_tests!(
    migrations_can_run_again,
    an_identity_round_trips,
    a_duplicate_name_in_one_service_is_a_conflict,
    the_same_name_may_live_in_two_services,
    lists_filter_and_page_without_gaps_or_repeats,
    role_versions_cannot_be_rewritten_or_deleted,
    concurrent_writers_do_not_fork_the_audit_chain,
    abandoned_writes_roll_back_and_the_next_writer_proceeds,
    a_tampered_audit_row_is_named_by_its_sequence,
    retiring_revokes_credentials_and_assignments,
    a_viewer_cannot_change_the_ledger,
    pasted_secrets_are_refused_and_nothing_is_written,
    demo_seed_fills_an_empty_ledger_once,
    the_dashboard_counters_follow_every_kind_of_write,
    the_role_picker_searches_the_catalog,
    the_audit_page_checks_new_events_against_the_last_whole_walk,
    namespaces_are_made_once_with_their_missing_ancestors,
    an_owner_is_found_by_id_before_name,
    writes_go_on_after_the_database_dropped_every_connection,
);

async fn migrations_can_run_again(db: TestDb) {
    db.store.migrate().await.expect("second migration run is a no-op");
}

async fn an_identity_round_trips(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let mut input = identity_input("svc-orders", "service_account", &owner, None);
    input.labels = "team=orders, env=prod".into();
    input.description = "Reads orders ünïcode ✓".into();
    let created = identities::create(&db.store, &admin(), &input).await.unwrap();
    let fetched = identities::get(&db.store, &admin(), &created.id).await.unwrap();
    assert_eq!(created, fetched);
    assert_eq!(fetched.kind, IdentityKind::ServiceAccount);
    assert_eq!(fetched.status, IdentityStatus::Active);
    assert_eq!(fetched.labels.to_text(), "env=prod, team=orders");
    assert_eq!(fetched.description, "Reads orders ünïcode ✓");
    assert_eq!(fetched.owner_name, "team-a");
}

async fn a_duplicate_name_in_one_service_is_a_conflict(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let service =
        services::create(&db.store, &admin(), &ServiceInput { name: "orders-api".into(), owner_id: owner.clone(), ..Default::default() }).await.unwrap();
    let input = identity_input("svc-orders", "service_account", &owner, Some(&service.id));
    identities::create(&db.store, &admin(), &input).await.unwrap();
    let err = identities::create(&db.store, &admin(), &input).await.unwrap_err();
    assert_eq!(err.code(), "NHI-CONFLICT-001", "{err:?}");
    assert_eq!(err.http_status(), 409);
    assert!(err.field_message("name").unwrap().contains("already exists in this service"));
}

async fn the_same_name_may_live_in_two_services(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    for name in ["orders-api", "billing-api"] {
        let service = services::create(&db.store, &admin(), &ServiceInput { name: name.into(), owner_id: owner.clone(), ..Default::default() }).await.unwrap();
        identities::create(&db.store, &admin(), &identity_input("deploy-bot", "ci_bot", &owner, Some(&service.id))).await.unwrap();
    }
}

async fn lists_filter_and_page_without_gaps_or_repeats(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    for i in 0..7 {
        let kind = if i % 2 == 0 { "ci_bot" } else { "workload" };
        let mut input = identity_input(&format!("id-{i}"), kind, &owner, None);
        input.labels = format!("shard={}", i % 3);
        identities::create(&db.store, &admin(), &input).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = identities::list(&db.store, &admin(), &IdentityFilter::default(), &PageRequest { after: after.clone(), limit: Some(3) }).await.unwrap();
        assert_eq!(page.total, 7);
        seen.extend(page.items.iter().map(|i| i.name.clone()));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("id-{i}")).collect::<Vec<_>>());

    let bots = IdentityFilter { kind: Some(IdentityKind::CiBot), ..Default::default() };
    let page = identities::list(&db.store, &admin(), &bots, &PageRequest::default()).await.unwrap();
    assert_eq!(page.total, 4);
    assert!(page.items.iter().all(|i| i.kind == IdentityKind::CiBot));

    let labelled = IdentityFilter { label: Some(("shard".into(), "1".into())), ..Default::default() };
    let names: Vec<_> = identities::list(&db.store, &admin(), &labelled, &PageRequest::default()).await.unwrap().items.into_iter().map(|i| i.name).collect();
    assert_eq!(names, ["id-1", "id-4"]);

    let text = IdentityFilter { text: Some("ID-5".into()), ..Default::default() };
    assert_eq!(identities::list(&db.store, &admin(), &text, &PageRequest::default()).await.unwrap().total, 1);

    // LIKE wildcards typed by a user are matched literally.
    let wildcard = IdentityFilter { text: Some("%".into()), ..Default::default() };
    assert_eq!(identities::list(&db.store, &admin(), &wildcard, &PageRequest::default()).await.unwrap().total, 0);
}

async fn role_versions_cannot_be_rewritten_or_deleted(db: TestDb) {
    seed::demo(&db.store, 5, &|_| {}).await.unwrap();
    sqlx::any::install_default_drivers();
    let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
    let update = sqlx::query("update role_versions set description = 'changed'").execute(&mut conn).await;
    assert!(update.unwrap_err().to_string().contains("immutable"));
    let delete = sqlx::query("delete from role_versions").execute(&mut conn).await;
    assert!(delete.unwrap_err().to_string().contains("immutable"));
    let permissions = sqlx::query("update role_version_permissions set action = 'admin'").execute(&mut conn).await;
    assert!(permissions.unwrap_err().to_string().contains("immutable"));
    let audit_delete = sqlx::query("delete from audit_events").execute(&mut conn).await;
    assert!(audit_delete.unwrap_err().to_string().contains("append-only"));
}

async fn concurrent_writers_do_not_fork_the_audit_chain(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = db.store.clone();
        let owner = owner.clone();
        tasks
            .push(tokio::spawn(async move { identities::create(&store, &admin(), &identity_input(&format!("parallel-{i}"), "workload", &owner, None)).await }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let report = audit::verify(&db.store, &admin()).await.unwrap();
    assert_eq!(report.broken, None, "{}", report.summary());
    assert_eq!(report.verified, 24);
}

async fn owner_rows(db: &TestDb, name: &str) -> i64 {
    let mut conn = db.store.read().await.unwrap();
    sqlx::query_scalar("select count(*) from owners where name = $1").bind(name).fetch_one(&mut *conn).await.unwrap()
}

async fn insert_owner(tx: &mut nhidb::store::WriteTx, name: &str) {
    sqlx::query("insert into owners (id, kind, name, created_at) values ($1, 'team', $2, '2026-01-01T00:00:00Z')")
        .bind(nhidb::store::new_id())
        .bind(name)
        .execute(tx.conn())
        .await
        .unwrap();
}

/// On a SQLite file every write goes through one kept connection: a transaction dropped on an
/// error, or with the request that was running it, must leave nothing and hand the connection on
/// clean.
async fn abandoned_writes_roll_back_and_the_next_writer_proceeds(db: TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    insert_owner(&mut tx, "dropped").await;
    drop(tx);

    let store = db.store.clone();
    let cancelled = tokio::spawn(async move {
        let mut tx = store.begin().await.unwrap();
        insert_owner(&mut tx, "cancelled").await;
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        tx.commit().await.unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    cancelled.abort();
    assert!(cancelled.await.unwrap_err().is_cancelled());

    let mut tx = tokio::time::timeout(std::time::Duration::from_secs(5), db.store.begin()).await.expect("the next writer gets its turn").unwrap();
    insert_owner(&mut tx, "kept").await;
    tx.commit().await.unwrap();
    assert_eq!(owner_rows(&db, "dropped").await, 0);
    assert_eq!(owner_rows(&db, "cancelled").await, 0);
    assert_eq!(owner_rows(&db, "kept").await, 1);

    // A write from another connection (another process, say) is seen by the next transaction.
    let mut conn = db.store.read().await.unwrap();
    sqlx::query("insert into owners (id, kind, name, created_at) values ('outside', 'team', 'outside', '2026-01-01T00:00:00Z')")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let mut tx = db.store.begin().await.unwrap();
    let seen: i64 = sqlx::query_scalar("select count(*) from owners where name = 'outside'").fetch_one(tx.conn()).await.unwrap();
    assert_eq!(seen, 1);
}

async fn a_tampered_audit_row_is_named_by_its_sequence(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    for i in 0..5 {
        identities::create(&db.store, &admin(), &identity_input(&format!("t-{i}"), "workload", &owner, None)).await.unwrap();
    }
    assert!(audit::verify(&db.store, &admin()).await.unwrap().broken.is_none());
    support::tamper_audit(&db, "update audit_events set actor_name = 'someone else' where seq = 3").await;
    let report = audit::verify(&db.store, &admin()).await.unwrap();
    let broken = report.broken.clone().expect("tampering must be detected");
    assert_eq!(broken.seq(), 3, "{}", report.summary());
    assert_eq!(report.verified, 2);
}

async fn retiring_revokes_credentials_and_assignments(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    // Find an active identity holding a credential that is not revoked.
    let page = identities::list(
        &db.store,
        &admin(),
        &IdentityFilter { status: Some(IdentityStatus::Active), ..Default::default() },
        &PageRequest { after: None, limit: Some(200) },
    )
    .await
    .unwrap();
    let mut target = None;
    for identity in &page.items {
        let detail = identities::detail(&db.store, &admin(), &identity.id).await.unwrap();
        if detail.credentials.iter().any(|c| c.revoked_at.is_none()) && !detail.assignments.is_empty() {
            target = Some(identity.id.clone());
            break;
        }
    }
    let id = target.expect("seed has an active identity with credentials");
    let retired = identities::change_status(&db.store, &admin(), &id, "retired", "service shut down").await.unwrap();
    assert_eq!(retired.status, IdentityStatus::Retired);
    let detail = identities::detail(&db.store, &admin(), &id).await.unwrap();
    assert!(detail.credentials.iter().all(|c| c.revoked_at.is_some()));
    assert!(detail.assignments.iter().all(|a| a.revoked_at.is_some()));
    let event = &detail.history[0];
    assert_eq!(event.action, "identity.retire");
    assert!(event.detail.contains("service shut down"));

    let again = identities::change_status(&db.store, &admin(), &id, "active", "").await.unwrap_err();
    assert_eq!(again.code(), "NHI-STATE-001");
    let reasonless = identities::change_status(&db.store, &admin(), &page.items[1].id, "suspended", " ").await.unwrap_err();
    assert!(reasonless.field_message("reason").is_some());
}

async fn a_viewer_cannot_change_the_ledger(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let viewer = operator(&[ConsoleRole::Viewer]);
    let err = identities::create(&db.store, &viewer, &identity_input("svc-x", "workload", &owner, None)).await.unwrap_err();
    assert_eq!(err, AppError::forbidden("change the ledger (requires the requester or admin console role)"));
    assert_eq!(err.http_status(), 403);
    assert_eq!(identities::list(&db.store, &viewer, &IdentityFilter::default(), &PageRequest::default()).await.unwrap().total, 0);
    assert_eq!(audit::verify(&db.store, &viewer).await.unwrap_err().code(), "NHI-AUTH-002");
}

async fn pasted_secrets_are_refused_and_nothing_is_written(db: TestDb) {
    seed::demo(&db.store, 10, &|_| {}).await.unwrap();
    let active = IdentityFilter { status: Some(IdentityStatus::Active), ..Default::default() };
    let candidates = identities::list(&db.store, &admin(), &active, &PageRequest::default()).await.unwrap().items;
    let mut picked = None;
    for candidate in candidates {
        let detail = identities::detail(&db.store, &admin(), &candidate.id).await.unwrap();
        if detail.assignments.iter().any(|a| a.revoked_at.is_none()) {
            picked = Some(detail);
            break;
        }
    }
    let detail = picked.expect("a seeded identity with a role");
    let identity = detail.identity.clone();
    let assignment_id = detail.assignments.iter().find(|a| a.revoked_at.is_none()).unwrap().id.clone();
    let credentials_before = detail.credentials.len();
    let history_before = detail.history.len();
    let input = CredentialInput {
        kind: "ssh_key".into(),
        fingerprint: "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----".into(),
        ..Default::default()
    };
    let err = credentials::register(&db.store, &admin(), &identity.id, &input).await.unwrap_err();
    assert_eq!(err.code(), "NHI-CRED-001");
    let detail = identities::detail(&db.store, &admin(), &identity.id).await.unwrap();
    assert_eq!(detail.credentials.len(), credentials_before);
    assert_eq!(detail.history.len(), history_before, "a refused registration writes no audit event");

    let unlinked = CredentialInput { kind: "api_key".into(), fingerprint: format!("SHA256:{}", "A".repeat(43)), ..Default::default() };
    let err = credentials::register(&db.store, &admin(), &identity.id, &unlinked).await.unwrap_err();
    assert!(err.field_message("assignment_id").is_some(), "a credential without a role assignment is refused");
    let ok = CredentialInput { assignment_id: Some(assignment_id), ..unlinked };
    credentials::register(&db.store, &admin(), &identity.id, &ok).await.unwrap();
    let dup = credentials::register(&db.store, &admin(), &identity.id, &ok).await.unwrap_err();
    assert_eq!(dup.code(), "NHI-CONFLICT-001");
}

async fn demo_seed_fills_an_empty_ledger_once(db: TestDb) {
    seed::demo(&db.store, 120, &|_| {}).await.unwrap();
    let all = identities::list(&db.store, &admin(), &IdentityFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(all.total, 120);
    let kinds: std::collections::BTreeSet<_> =
        identities::list(&db.store, &admin(), &IdentityFilter::default(), &PageRequest { after: None, limit: Some(200) })
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|i| i.kind)
            .collect();
    assert_eq!(kinds.len(), IdentityKind::ALL.len(), "every kind is represented");
    assert!(seed::demo(&db.store, 10, &|_| {}).await.is_err(), "a second seed is refused");
    assert!(audit::verify(&db.store, &admin()).await.unwrap().broken.is_none());
}

/// Counters that disagree with a count of the rows they stand for (0 when all agree).
async fn counter_drift(db: &TestDb) -> (i64, i64) {
    let identities = support::count(
        db,
        "select (select count(*) from identity_counts c \
           where c.n <> (select count(*) from identities i where i.status = c.status and i.kind = c.kind)) \
         + (select count(*) from (select status, kind from identities group by status, kind) t \
           where not exists (select 1 from identity_counts c where c.status = t.status and c.kind = t.kind))",
    )
    .await;
    let services = support::count(
        db,
        "select count(*) from services s where s.identity_count <> \
         (select count(*) from identities i where i.service_id = s.id and i.status <> 'retired')",
    )
    .await;
    let holders = support::count(
        db,
        "select count(*) from roles r where r.holders_count <> \
         (select count(*) from assignments a where a.role_id = r.id and a.revoked_at is null and a.expiry_recorded_at is null)",
    )
    .await;
    let versions = support::count(
        db,
        "select (select count(*) from role_version_counts c where c.n <> (select count(*) from assignments a \
           where a.role_id = c.role_id and a.role_version = c.version and a.revoked_at is null and a.expiry_recorded_at is null)) \
         + (select count(*) from (select role_id, role_version from assignments where revoked_at is null and expiry_recorded_at is null \
           group by role_id, role_version) t \
           where not exists (select 1 from role_version_counts c where c.role_id = t.role_id and c.version = t.role_version))",
    )
    .await;
    (identities + services, holders + versions)
}

/// The dashboard reads identities per status and kind and holders per role from counters kept
/// by triggers (a count of the ledger took seconds at a million identities): they must follow
/// inserts, status and kind changes, retirements, revocations, recorded expiries and bulk
/// statements that move many rows at once, on both backends.
async fn the_dashboard_counters_follow_every_kind_of_write(db: TestDb) {
    seed::demo(&db.store, 60, &|_| {}).await.unwrap();
    assert_eq!(counter_drift(&db).await, (0, 0), "after the seed");
    let page = identities::list(&db.store, &admin(), &IdentityFilter::default(), &PageRequest { after: None, limit: Some(10) }).await.unwrap();
    identities::change_status(&db.store, &admin(), &page.items[0].id, "retired", "gone").await.unwrap();
    identities::change_status(&db.store, &admin(), &page.items[1].id, "suspended", "paused").await.unwrap();
    assert_eq!(counter_drift(&db).await, (0, 0), "after a retirement and a suspension");
    // Bulk statements, as an operator's script or a migration would write them.
    support::sql(&db, "update identities set kind = 'workload' where kind = 'ci_bot'").await;
    support::sql(&db, "update assignments set expiry_recorded_at = '2026-01-01T00:00:00Z' where id in (select id from assignments where revoked_at is null order by id limit 5)").await;
    support::sql(&db, "update assignments set revoked_at = '2026-01-01T00:00:00Z', revoked_by = 'script' where id in (select id from assignments where revoked_at is null order by id desc limit 7)").await;
    support::sql(&db, "update identities set last_seen_at = '2026-01-02T00:00:00Z'").await;
    // Holders moved back to a role's first version, as a script undoing a move would.
    support::sql(
        &db,
        "update assignments set role_version = 1 where id in (select id from assignments where role_version > 1 and revoked_at is null order by id limit 3)",
    )
    .await;
    support::sql(&db, "update assignments set expires_at = '2030-01-01T00:00:00Z' where id in (select id from assignments order by id limit 4)").await;
    support::sql(&db, "update identities set service_id = null where id in (select id from identities where service_id is not null order by id limit 3)").await;
    support::sql(&db, "update identities set status = 'retired' where id in (select id from identities where status = 'active' order by id desc limit 4)")
        .await;
    assert_eq!(counter_drift(&db).await, (0, 0), "after bulk updates");
    let overview = nhidb::service::overview::get(&db.store, &admin(), &Default::default()).await.unwrap();
    assert_eq!(overview.identities_total, support::count(&db, "select count(*) from identities").await);
    assert_eq!(overview.identities_by_status.iter().map(|(_, n)| n).sum::<i64>(), overview.identities_total);
    for (status, n) in &overview.identities_by_status {
        assert_eq!(*n, support::count(&db, &format!("select count(*) from identities where status = '{status}'")).await, "{status}");
    }
    for (kind, n) in &overview.identities_by_kind {
        assert_eq!(*n, support::count(&db, &format!("select count(*) from identities where status <> 'retired' and kind = '{kind}'")).await, "{kind}");
    }
    assert_eq!(
        overview.identities_by_kind.iter().map(|(_, n)| n).sum::<i64>(),
        support::count(&db, "select count(*) from identities where status <> 'retired'").await
    );
    assert_eq!(overview.services_active, support::count(&db, "select count(*) from services where status = 'active'").await);
    assert_eq!(overview.roles_active, support::count(&db, "select count(*) from roles where status = 'active'").await);
    assert_eq!(overview.pending_approvals, support::count(&db, "select count(*) from change_requests where state = 'pending'").await);
    assert_eq!(overview.audit_events, support::count(&db, "select max(seq) from audit_events").await);
    let (top_id, _, top_n) = overview.top_roles.first().cloned().expect("the seed grants roles");
    let live =
        support::count(&db, &format!("select count(*) from assignments where role_id = '{top_id}' and revoked_at is null and expiry_recorded_at is null"))
            .await;
    assert_eq!(top_n, live);
    let all = identities::list(&db.store, &admin(), &IdentityFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(all.total, overview.identities_total);
    let suspended =
        identities::list(&db.store, &admin(), &IdentityFilter { status: Some(IdentityStatus::Suspended), ..Default::default() }, &PageRequest::default())
            .await
            .unwrap();
    assert_eq!(suspended.total, support::count(&db, "select count(*) from identities where status = 'suspended'").await);
}

/// The role fields search the catalog as someone types: part of a slug in any case, those that
/// start with it first, active roles only, at most a picker's worth; `%` and `_` are letters.
async fn the_role_picker_searches_the_catalog(db: TestDb) {
    seed::demo(&db.store, 20, &|_| {}).await.unwrap();
    let choices = |text: &'static str| {
        let store = db.store.clone();
        async move { nhidb::service::roles::choices(&store, &admin(), text).await.unwrap() }
    };
    let found = choices("READER").await;
    assert!(!found.is_empty() && found.iter().all(|c| c.id.contains("reader")), "{found:?}");
    let found = choices("data-").await;
    assert_eq!(found.first().map(|c| c.id.as_str()), Some("data-reader"), "prefix matches first: {found:?}");
    assert!(found[0].label.starts_with("data-reader (v"), "{found:?}");
    assert!(choices("%").await.is_empty(), "a % is a letter, not a wildcard");
    assert!(choices("no-such-role-at-all").await.is_empty());
    let long = nhidb::service::roles::choices(&db.store, &admin(), &"r".repeat(201)).await.unwrap_err();
    assert!(long.field_message("text").is_some(), "{long:?}");
    let all = choices("").await;
    assert!(!all.is_empty() && all.len() as i64 <= nhidb::service::roles::PICKER_SIZE);
    let viewer = nhidb::service::roles::choices(&db.store, &operator(&[]), "").await.unwrap_err();
    assert_eq!(viewer.code(), AppError::forbidden("x").code());
}

/// The audit page verifies what was written since the last whole walk, linked to where it
/// ended, and falls back to a whole walk when that does not verify: an altered new event, or
/// the anchor's own row rewritten, is reported as a whole walk reports it.
async fn the_audit_page_checks_new_events_against_the_last_whole_walk(db: TestDb) {
    let owner = owner(&db.store, "team-a").await;
    let create = |name: String| {
        let (store, owner) = (db.store.clone(), owner.clone());
        async move { identities::create(&store, &admin(), &identity_input(&name, "workload", &owner, None)).await.unwrap() }
    };
    for i in 0..4 {
        create(format!("a-{i}")).await;
    }
    let (first, walked) = audit::verify_recent(&db.store, &admin()).await.unwrap();
    assert!(first.broken.is_none() && walked.is_none(), "the first view walks the whole chain");
    for i in 0..3 {
        create(format!("b-{i}")).await;
    }
    let (second, walked) = audit::verify_recent(&db.store, &admin()).await.unwrap();
    assert!(second.broken.is_none() && walked.is_some(), "later views resume from the last walk");
    assert_eq!(second.verified, first.verified + 3);
    assert_eq!(second.head_hash, audit::verify(&db.store, &admin()).await.unwrap().head_hash);
    // The server's periodic walk has nothing to do while the last whole walk is recent.
    assert!(audit::refresh_whole_walk(&db.store).await.unwrap().is_none());
    // A whole walk that started before a break was recorded does not put its anchor back, and a
    // resumed check does not move an anchor that changed under it.
    let kept = db.store.chain_anchor().expect("an anchor after a verified walk");
    let clears_at_start = db.store.chain_clears();
    db.store.clear_chain_anchor();
    db.store.keep_walked_anchor(clears_at_start, kept.clone());
    assert_eq!(db.store.chain_anchor(), None, "a stale walk hid a recorded break");
    db.store.keep_walked_anchor(db.store.chain_clears(), kept.clone());
    let other = nhidb::domain::audit::ChainAnchor { seq: kept.seq - 1, ..kept.clone() };
    db.store.advance_chain_anchor(&other, nhidb::domain::audit::ChainAnchor { seq: kept.seq + 100, ..kept.clone() });
    assert_eq!(db.store.chain_anchor(), Some(kept));

    // A new event altered after it was written.
    create("c-0".to_owned()).await;
    let altered = second.verified + 1;
    support::tamper_audit(&db, &format!("update audit_events set actor_name = 'someone else' where seq = {altered}")).await;
    let (third, walked) = audit::verify_recent(&db.store, &admin()).await.unwrap();
    assert_eq!(third.broken.as_ref().map(|b| b.seq()), Some(altered), "{}", third.summary());
    assert!(walked.is_none(), "a break is reported by a whole walk");
    // Broken: no anchor is kept, every view walks it all and keeps reporting it.
    let (again, _) = audit::verify_recent(&db.store, &admin()).await.unwrap();
    assert_eq!(again.broken.as_ref().map(|b| b.seq()), Some(altered));
    let periodic = audit::refresh_whole_walk(&db.store).await.unwrap().expect("a broken chain is walked again at every period");
    assert_eq!(periodic.broken.as_ref().map(|b| b.seq()), Some(altered));
}

/// Provisioning makes the scopes of a service's grants in one pass: an existing ancestor is
/// found, a missing one made (and linked as parent), a shared one read once.
async fn namespaces_are_made_once_with_their_missing_ancestors(db: TestDb) {
    use nhidb::domain::scope::ScopePath;
    use nhidb::store::scopes;
    let path = |p: &str| ScopePath::parse(p).unwrap();
    let now = nhidb::domain::Timestamp::now();
    let mut tx = db.store.begin().await.unwrap();
    let prod = scopes::ensure(tx.conn(), &path("prod"), nhidb::domain::scope::ScopeKind::Namespace, now).await.unwrap();
    let wanted = [path("prod/orders/db"), path("prod/orders"), path("prod"), path("prod/orders/cache"), path("stage/orders")];
    let ids = scopes::ensure_namespaces(tx.conn(), &wanted, now).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(ids.keys().cloned().collect::<Vec<_>>(), ["prod", "prod/orders", "prod/orders/cache", "prod/orders/db", "stage/orders"], "only the asked paths");
    assert_eq!(ids["prod"], prod.id, "an existing scope is found, not made again");
    for child in ["prod/orders", "prod/orders/db", "prod/orders/cache", "stage/orders"] {
        let linked = support::count(&db, &format!("select count(*) from scopes c join scopes p on p.id = c.parent_id where c.path = '{child}'")).await;
        assert_eq!(linked, 1, "{child} is linked to its parent");
    }
    assert_eq!(support::count(&db, "select count(*) from scopes where path = 'stage'").await, 1, "a missing ancestor is made");
    assert_eq!(support::count(&db, "select count(*) from scopes").await, 6);
    let again = {
        let mut tx = db.store.begin().await.unwrap();
        let again = scopes::ensure_namespaces(tx.conn(), &wanted, now).await.unwrap();
        tx.commit().await.unwrap();
        again
    };
    assert_eq!(again, ids, "a second run finds them all");
}

/// Pipelines name owners by id or by name; an id wins over another owner's name that happens to
/// be the same text.
async fn an_owner_is_found_by_id_before_name(db: TestDb) {
    use nhidb::store::owners;
    let first = owner(&db.store, "payments-team").await;
    let shadow = owner(&db.store, &first).await;
    let mut conn = db.store.read().await.unwrap();
    assert_eq!(owners::by_id_or_name(&mut conn, &first).await.unwrap().map(|o| o.id), Some(first.clone()), "the id, not the owner named like it");
    assert_eq!(owners::by_id_or_name(&mut conn, "payments-team").await.unwrap().map(|o| o.id), Some(first.clone()));
    assert_eq!(owners::by_id_or_name(&mut conn, &shadow).await.unwrap().map(|o| o.id), Some(shadow.clone()));
    assert_eq!(owners::by_id_or_name(&mut conn, "nobody").await.unwrap(), None);
}

/// PostgreSQL restarted, or an operator ended every session: the writers' kept connection is
/// gone, and the next write opens another instead of failing.
async fn writes_go_on_after_the_database_dropped_every_connection(db: TestDb) {
    if db.store.backend() != nhidb::store::Backend::Postgres {
        return;
    }
    let mut tx = db.store.begin().await.unwrap();
    insert_owner(&mut tx, "before").await;
    tx.commit().await.unwrap();
    let mut conn = db.store.read().await.unwrap();
    let ended: Vec<bool> = sqlx::query_scalar(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    // Every other session of the test database, the writers' kept connection with them.
    assert!(ended.iter().any(|&e| e), "no session of the test database was ended");
    let mut tx = tokio::time::timeout(std::time::Duration::from_secs(10), db.store.begin()).await.expect("the next writer gets its turn").unwrap();
    insert_owner(&mut tx, "after").await;
    tx.commit().await.unwrap();
    assert_eq!(owner_rows(&db, "after").await, 1);
}

/// The bundled SQLite is compiled with page caches private to each connection, empty until used
/// (`LIBSQLITE3_FLAGS` in `.cargo/config.toml`). With SQLite's process-wide LRU instead, a
/// connection could be left with no cache at all once others held the budget: after a hygiene
/// rebuild, a console download re-read every b-tree page for every row, three times slower.
#[tokio::test]
async fn sqlite_page_caches_are_private_to_each_connection() {
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:").await.unwrap();
    let options: Vec<String> = sqlx::query_scalar("pragma compile_options").fetch_all(&mut conn).await.unwrap();
    assert!(!options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"), "built with a shared page cache: {options:?}");
    assert!(options.iter().any(|o| o == "DEFAULT_PCACHE_INITSZ=0"), "page caches start with a block: {options:?}");
}
