//! Evidence and hygiene: each hygiene report finds its seeded positives and none of the seeded
//! negatives; compliance exports verify offline, and name what was tampered with.

mod support;

use nhidb::domain::Timestamp;
use nhidb::domain::credential::CredentialInput;
use nhidb::domain::hygiene::{FindingKind, FindingQuery, HygienePolicy};
use nhidb::service::export::{self, ExportScope};
use nhidb::service::{credentials, hygiene, identities, seed};
use std::collections::{BTreeMap, BTreeSet};
use support::TestDb;

store_tests!(
    each_hygiene_report_finds_its_positives_and_nothing_else,
    an_export_verifies_and_names_what_was_tampered_with,
    an_export_streams_every_row_as_of_one_moment,
);

/// A live grant of `slug` at `version` on `prod`, written directly (any version, without a
/// review); the findings are rebuilt once the ledger is set up, as after an upgrade.
async fn grant(db: &TestDb, identity_id: &str, slug: &str, version: i64) -> String {
    use nhidb::store::{assignments, roles, scopes};
    let mut tx = db.store.begin().await.unwrap();
    let role = roles::by_slug(tx.conn(), slug).await.unwrap().unwrap();
    let scope =
        scopes::ensure(tx.conn(), &nhidb::domain::scope::ScopePath::parse("prod").unwrap(), nhidb::domain::scope::ScopeKind::Namespace, Timestamp::now())
            .await
            .unwrap();
    let id = nhidb::store::new_id();
    let new = assignments::NewAssignment {
        id: &id,
        identity_id,
        role_id: &role.id,
        role_version: version,
        scope_id: &scope.id,
        granted_by: "test",
        change_request_id: None,
        expires_at: None,
    };
    assignments::insert(tx.conn(), &new, Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn identity(db: &TestDb, name: &str, owner: &str, service: Option<&str>) -> String {
    let input = support::identity_input(name, "service_account", owner, service);
    identities::create(&db.store, &support::admin(), &input).await.unwrap().id
}

async fn credential(db: &TestDb, identity_id: &str, assignment_id: &str, n: u8) -> String {
    let input =
        CredentialInput { kind: "api_key".into(), fingerprint: format!("{n:02x}").repeat(32), assignment_id: Some(assignment_id.into()), ..Default::default() };
    credentials::register(&db.store, &support::admin(), identity_id, &input).await.unwrap().id
}

fn ago(days: i64) -> String {
    Timestamp::now().plus_days(-days).to_rfc3339()
}

async fn each_hygiene_report_finds_its_positives_and_nothing_else(db: TestDb) {
    seed::demo(&db.store, 0, &|_| {}).await.unwrap();
    let owner = support::owner(&db.store, "hygiene-team").await;
    let service = nhidb::service::services::create(
        &db.store,
        &support::admin(),
        &nhidb::domain::service::ServiceInput { name: "hygiene-svc".into(), owner_id: owner.clone(), ..Default::default() },
    )
    .await
    .unwrap()
    .id;
    let dead = nhidb::service::services::create(
        &db.store,
        &support::admin(),
        &nhidb::domain::service::ServiceInput { name: "dead-svc".into(), owner_id: owner.clone(), ..Default::default() },
    )
    .await
    .unwrap()
    .id;

    let mut ids = BTreeMap::new();
    for name in ["clean", "orphaned", "in-dead-service", "idle", "dormant", "never-seen", "creds", "privileged", "outdated", "conflicted"] {
        let svc = if name == "in-dead-service" { &dead } else { &service };
        ids.insert(name, identity(&db, name, &owner, Some(svc)).await);
    }
    let mut grants = BTreeMap::new();
    for name in ["clean", "orphaned", "in-dead-service", "dormant", "never-seen", "creds"] {
        grants.insert(name, grant(&db, &ids[name], "log-writer", 1).await);
    }
    grant(&db, &ids["privileged"], "secrets-reader", 1).await;
    grant(&db, &ids["outdated"], "data-reader", 1).await;
    grant(&db, &ids["conflicted"], "data-reader", 2).await;
    grant(&db, &ids["conflicted"], "data-writer", 1).await;

    // The clean identity's credential: used, rotated, far from expiry.
    let clean_credential = credential(&db, &ids["clean"], &grants["clean"], 1).await;
    let creds = &ids["creds"];
    let expired = credential(&db, creds, &grants["creds"], 2).await;
    let expired_revoked = credential(&db, creds, &grants["creds"], 3).await;
    let expiring = credential(&db, creds, &grants["creds"], 4).await;
    let unrotated = credential(&db, creds, &grants["creds"], 5).await;
    let rotated = credential(&db, creds, &grants["creds"], 6).await;
    let unused = credential(&db, creds, &grants["creds"], 7).await;

    let now = Timestamp::now().to_rfc3339();
    let disabled: String = {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&db.url).await.unwrap();
        sqlx::query_scalar("select id from owners where status = 'disabled' limit 1").fetch_one(&mut conn).await.unwrap()
    };
    for statement in [
        format!("update identities set last_seen_at = '{now}'"),
        format!("update identities set owner_id = '{disabled}' where id = '{}'", ids["orphaned"]),
        format!("update services set status = 'decommissioned', decommissioned_at = '{now}' where id = '{dead}'"),
        format!("update identities set last_seen_at = '{}' where id = '{}'", ago(200), ids["dormant"]),
        format!("update identities set last_seen_at = null, created_at = '{}' where id = '{}'", ago(200), ids["never-seen"]),
        format!("update credentials set last_used_at = '{now}', expires_at = '{}' where id <> '{unused}'", Timestamp::now().plus_days(100).to_rfc3339()),
        format!("update credentials set expires_at = '{}' where id in ('{expired}', '{expired_revoked}')", ago(5)),
        format!("update credentials set revoked_at = '{now}' where id = '{expired_revoked}'"),
        format!("update credentials set expires_at = '{}' where id = '{expiring}'", Timestamp::now().plus_days(10).to_rfc3339()),
        format!("update credentials set created_at = '{}' where id in ('{unrotated}', '{rotated}')", ago(200)),
        format!("update credentials set rotated_at = '{}' where id = '{rotated}'", ago(10)),
    ] {
        support::sql(&db, &statement).await;
    }
    let policy = HygienePolicy::default();
    nhidb::service::findings::rebuild(&db.store, &policy, &|_, _| {}).await.unwrap();

    let names = |list: &[&str]| list.iter().map(|n| ids[n].clone()).collect::<BTreeSet<_>>();
    let subjects = |list: &[&String]| list.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>();
    let expected: Vec<(FindingKind, BTreeSet<String>, Option<BTreeSet<String>>)> = vec![
        (FindingKind::OrphanOwner, names(&["orphaned"]), None),
        (FindingKind::OrphanService, names(&["in-dead-service"]), None),
        (FindingKind::Unassigned, names(&["idle"]), None),
        (FindingKind::Dormant, names(&["dormant", "never-seen"]), None),
        (FindingKind::CredentialExpired, names(&["creds"]), Some(subjects(&[&expired]))),
        (FindingKind::CredentialExpiring, names(&["creds"]), Some(subjects(&[&expiring]))),
        (FindingKind::CredentialUnrotated, names(&["creds"]), Some(subjects(&[&unrotated]))),
        (FindingKind::CredentialUnused, names(&["creds"]), Some(subjects(&[&unused]))),
        (FindingKind::SodViolation, names(&["conflicted"]), None),
        (FindingKind::PrivilegedHolder, names(&["privileged", "conflicted"]), None),
        (FindingKind::OutdatedVersion, names(&["outdated"]), None),
    ];
    for (kind, identities_expected, subjects_expected) in expected {
        let page = hygiene::report(&db.store, &support::admin(), kind.as_str(), &FindingQuery { after: None, limit: Some(200) }, &policy).await.unwrap();
        let found: BTreeSet<String> = page.items.iter().map(|f| f.identity_id.clone()).collect();
        assert_eq!(found, identities_expected, "{kind}: identities");
        if let Some(subjects_expected) = subjects_expected {
            let found: BTreeSet<String> = page.items.iter().filter_map(|f| f.subject_id.clone()).collect();
            assert_eq!(found, subjects_expected, "{kind}: credentials");
        }
        assert_eq!(page.total, page.items.len() as i64, "{kind}: total");
        assert!(
            !page.items.iter().any(|f| f.identity_id == ids["clean"] || f.subject_id.as_deref() == Some(clean_credential.as_str())),
            "{kind} flagged the clean identity"
        );
    }
    let summary = hygiene::summary(&db.store, &support::admin(), &policy).await.unwrap();
    let dormant = summary.counts.iter().find(|c| c.kind == FindingKind::Dormant).unwrap();
    assert_eq!(dormant.count, 2);

    // The trend reads the findings' history: all opened today.
    hygiene::record(&db.store, &policy).await.unwrap();
    let trend = hygiene::trend(&db.store, &support::admin(), 30).await.unwrap();
    assert_eq!(trend.len(), 1);
    assert_eq!(trend[0].1, 11, "open findings today (privileged holders are not counted): {trend:?}");

    // Another dormancy window changes the answer: the window is the policy's, not hard-wired.
    // The scheduler notices the windows changed and rebuilds.
    let lenient = HygienePolicy { dormant_days: 300, ..policy };
    hygiene::record(&db.store, &lenient).await.unwrap();
    let page = hygiene::report(&db.store, &support::admin(), "dormant", &FindingQuery::default(), &lenient).await.unwrap();
    assert!(page.items.is_empty());
    assert_eq!(hygiene::summary(&db.store, &support::admin(), &lenient).await.unwrap().policy, lenient);
    let trend = hygiene::trend(&db.store, &support::admin(), 30).await.unwrap();
    assert_eq!(trend[0].1, 9, "the two dormant findings closed today: {trend:?}");
}

async fn an_export_verifies_and_names_what_was_tampered_with(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    // A value a spreadsheet would run as a formula.
    let owner = support::owner(&db.store, "export-team").await;
    let mut input = support::identity_input("formula-bait", "service_account", &owner, None);
    input.description = "=HYPERLINK(\"http://evil.example\")".into();
    let bait = identities::create(&db.store, &support::admin(), &input).await.unwrap();
    // A reviewed grant: its assignment names the approver, its request every decision.
    use nhidb::domain::actor::{Actor, ConsoleRole};
    use nhidb::service::access::{self, AccessInput, GrantInput};
    let requester = Actor::operator("op-requester", "Rui Requester", vec![ConsoleRole::Requester]);
    let approver = Actor::operator("op-approver-1", "Approver One", vec![ConsoleRole::Approver]);
    let grant = GrantInput { identity_id: bait.id.clone(), role: "api-invoker".into(), scope: String::new(), expires_at: String::new() };
    let input = AccessInput { grants: vec![grant], revokes: vec![], reason: "Calls the orders API".into() };
    let request = access::propose(&db.store, &requester, &input).await.unwrap();
    nhidb::service::changes::decide(&db.store, &approver, &request.id, "approve", "ok, read the blast radius").await.unwrap();

    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("bundle");
    let auditor = nhidb::domain::actor::Actor::operator("op-auditor", "Audrey Auditor", vec![nhidb::domain::actor::ConsoleRole::Auditor]);
    let manifest = export::export(&db.store, &auditor, &dir, &HygienePolicy::default(), &ExportScope::default(), None, &|_, _| {}).await.unwrap();
    let names: BTreeSet<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    for expected in [
        "identities.csv",
        "identities.ndjson",
        "credentials.csv",
        "roles.csv",
        "assignments.ndjson",
        "change_requests.csv",
        "sod_rules.csv",
        "hygiene.json",
        "audit.ndjson",
    ] {
        assert!(names.contains(expected), "{expected} missing from {names:?}");
    }
    let report = export::verify(&dir, None).unwrap();
    assert!(report.ok(), "{:?}", report.problems);
    assert!(report.audit_events_verified > 0);

    // The CSV is RFC 4180 and neutralises the formula; every other value reads back exactly.
    let text = std::fs::read_to_string(dir.join("identities.csv")).unwrap();
    let rows = nhidb::domain::csv::parse(&text).unwrap();
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let bait = rows.iter().find(|r| r[column("name")] == "formula-bait").unwrap();
    assert_eq!(bait[column("description")], "'=HYPERLINK(\"http://evil.example\")");
    let ndjson = std::fs::read_to_string(dir.join("identities.ndjson")).unwrap();
    for (row, line) in rows[1..].iter().zip(ndjson.lines()) {
        let json: serde_json::Value = serde_json::from_str(line).unwrap();
        for (i, name) in rows[0].iter().enumerate() {
            let value = json[name].as_str().unwrap_or("");
            if !value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                assert_eq!(row[i], value, "{name} of {}", json["name"]);
            }
        }
    }

    // Approvers and decisions are filled in from the request's decisions.
    let text = std::fs::read_to_string(dir.join("assignments.csv")).unwrap();
    let rows = nhidb::domain::csv::parse(&text).unwrap();
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let granted = rows.iter().find(|r| r[column("change_request_id")] == request.id).expect("the approved grant is exported");
    assert_eq!(granted[column("approvers")], "Approver One");
    assert!(rows[1..].iter().filter(|r| r[column("change_request_id")].is_empty()).all(|r| r[column("approvers")].is_empty()));
    let text = std::fs::read_to_string(dir.join("change_requests.csv")).unwrap();
    let rows = nhidb::domain::csv::parse(&text).unwrap();
    let column = |name: &str| rows[0].iter().position(|c| c == name).unwrap();
    let decided = rows.iter().find(|r| r[column("id")] == request.id).expect("the request is exported");
    let decisions = &decided[column("decisions")];
    assert!(decisions.starts_with("approve by Approver One at ") && decisions.ends_with(": ok, read the blast radius"), "{decisions}");

    // A zip bundle verifies the same way.
    let zip = work.path().join("bundle.zip");
    export::zip_dir(&dir, &zip).unwrap();
    assert!(export::verify(&zip, None).unwrap().ok());

    // One byte changed in one CSV: verify names the file.
    let path = dir.join("roles.csv");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 3;
    bytes[last] = if bytes[last] == b'x' { b'y' } else { b'x' };
    std::fs::write(&path, &bytes).unwrap();
    let report = export::verify(&dir, None).unwrap();
    assert!(!report.ok());
    assert!(report.problems.iter().any(|p| p.starts_with("roles.csv:")), "{:?}", report.problems);

    // One audit line dropped: verify names the sequence number.
    let audit_path = dir.join("audit.ndjson");
    let audit = std::fs::read_to_string(&audit_path).unwrap();
    let lines: Vec<&str> = audit.lines().collect();
    let dropped: serde_json::Value = serde_json::from_str(lines[4]).unwrap();
    let kept: Vec<&str> = lines.iter().enumerate().filter(|(i, _)| *i != 4).map(|(_, l)| *l).collect();
    std::fs::write(&audit_path, kept.join("\n") + "\n").unwrap();
    let report = export::verify(&dir, None).unwrap();
    let seq = dropped["seq"].as_i64().unwrap();
    assert!(report.problems.iter().any(|p| p.contains(&format!("sequence {seq}"))), "{:?}", report.problems);

    // Only auditors export.
    let viewer = nhidb::domain::actor::Actor::operator("op-viewer", "Viewer", vec![nhidb::domain::actor::ConsoleRole::Viewer]);
    let denied = export::export(&db.store, &viewer, &work.path().join("denied"), &HygienePolicy::default(), &ExportScope::default(), None, &|_, _| {}).await;
    assert!(matches!(denied, Err(nhidb::error::AppError::Forbidden { .. })));
}

/// Thousands of rows cross the SQLite reader's batches (1,024 rows each) intact and in id order,
/// and a write committed while a snapshot is open is not in it, but is in the next one.
async fn an_export_streams_every_row_as_of_one_moment(db: TestDb) {
    use nhidb::store::bench::{CONFLICT_EVERY, Spec};
    use nhidb::store::export::{Snapshot, TABLES};
    let spec = Spec { identities: 700, roles: 50, assignments_per_identity: 5, hot_holders: 10, groups: 10 };
    nhidb::service::bench::generate(&db.store, spec, &|_| {}).await.unwrap();
    // Five grants each, and two conflicting ones for every CONFLICT_EVERYth identity.
    let generated = (spec.identities * spec.assignments_per_identity + 2 * ((spec.identities + CONFLICT_EVERY - 1) / CONFLICT_EVERY)) as u64;
    assert_eq!(generated, 3850);
    let assignments = TABLES.iter().find(|t| t.name == "assignments").unwrap();

    let mut snapshot = Snapshot::begin(&db.store).await.unwrap();
    let head = snapshot.audit_head().await.unwrap();
    // Committed after the snapshot's first read: a later moment.
    let mut tx = db.store.begin().await.unwrap();
    sqlx::query(
        "insert into assignments (id, identity_id, role_id, role_version, scope_id, granted_by, granted_at) \
         select 'ZZ-LATE', identity_id, role_id, role_version, scope_id, granted_by, granted_at from assignments where id = (select min(id) from assignments)",
    )
    .execute(tx.conn())
    .await
    .unwrap();
    nhidb::store::audit::append(
        tx.conn(),
        &support::admin(),
        nhidb::domain::audit::AuditEntry::new("test.late", "assignment", "ZZ-LATE", serde_json::json!({})),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let mut ids = Vec::new();
    let n = snapshot
        .rows(assignments.sql, None, |values| {
            assert_eq!(values.len(), assignments.columns.len());
            ids.push(values[0].unwrap().to_owned());
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(n, generated);
    assert_eq!(snapshot.audit_head().await.unwrap(), head, "the head moved inside the snapshot");
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "rows out of id order or repeated");
    assert!(!ids.iter().any(|id| id == "ZZ-LATE"));
    // A limit caps the rows, mid-batch.
    let capped = snapshot.rows(assignments.sql, Some(1500), |_| Ok(())).await.unwrap();
    assert_eq!(capped, 1500);
    drop(snapshot);

    // The next export sees the late row; every cell matches the database.
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("bundle");
    let scope = ExportScope { tables: vec!["assignments".into(), "audit".into()], max_rows: None };
    let manifest = export::export(&db.store, &support::admin(), &dir, &HygienePolicy::default(), &scope, None, &|_, _| {}).await.unwrap();
    let rows = |name: &str| manifest.files.iter().find(|f| f.name == name).unwrap().rows;
    assert_eq!((rows("assignments.csv"), rows("assignments.ndjson")), (generated + 1, generated + 1));
    assert!(export::verify(&dir, None).unwrap().ok());
    let text = std::fs::read_to_string(dir.join("assignments.csv")).unwrap();
    let csv = nhidb::domain::csv::parse(&text).unwrap();
    let mut conn = db.store.read().await.unwrap();
    let expected: Vec<(String, String, String, String)> =
        sqlx::query_as("select a.id, a.identity_id, sc.path, a.granted_at from assignments a join scopes sc on sc.id = a.scope_id order by a.id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let got: Vec<(String, String, String, String)> = csv[1..].iter().map(|r| (r[0].clone(), r[1].clone(), r[4].clone(), r[8].clone())).collect();
    assert_eq!(got, expected);
}

/// An in-memory SQLite database cannot be opened a second time: its export reads through the pool.
#[tokio::test]
async fn an_in_memory_database_exports_too() {
    let store = nhidb::store::Store::connect("sqlite::memory:", 1).await.unwrap();
    store.migrate().await.unwrap();
    seed::demo(&store, 10, &|_| {}).await.unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("bundle");
    let manifest = export::export(&store, &support::admin(), &dir, &HygienePolicy::default(), &ExportScope::default(), None, &|_, _| {}).await.unwrap();
    assert!(manifest.files.iter().any(|f| f.name == "identities.csv" && f.rows == 10), "{:?}", manifest.files);
    assert!(export::verify(&dir, None).unwrap().ok());
}
