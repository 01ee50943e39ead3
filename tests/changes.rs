//! Roles as reviewed code: proposals, the approval policy, applying exactly once, pinned holders.

mod support;

use nhidb::domain::actor::{Actor, ConsoleRole};
use nhidb::domain::change::{ApprovalPolicy, ChangeState, DecisionRefusal};
use nhidb::domain::role::{DefinitionInput, NewRoleInput, RoleStatus, RoleVersionInput};
use nhidb::error::AppError;
use nhidb::service::{changes, roles, seed};
use support::TestDb;

store_tests!(
    a_new_version_leaves_holders_pinned_until_moved,
    two_concurrent_approvals_apply_once,
    a_privileged_change_needs_two_distinct_approvers,
    requesters_never_decide_their_own_requests,
    a_rejection_closes_the_request_and_changes_nothing,
    moving_holders_is_an_explicit_reviewed_option,
    retiring_a_role_ends_its_assignments_and_its_id_is_never_reused,
    stale_proposals_are_refused_and_pending_requests_expire,
    the_catalog_filters_sorts_and_pages,
);

fn requester() -> Actor {
    Actor::operator("op-requester", "Rui Requester", vec![ConsoleRole::Requester])
}

fn approver(n: u8) -> Actor {
    Actor::operator(&format!("op-approver-{n}"), &format!("Approver {n}"), vec![ConsoleRole::Approver])
}

async fn role_id(db: &TestDb, slug: &str) -> String {
    roles::detail(&db.store, &support::admin(), slug).await.unwrap().role.id
}

fn log_writer_v2() -> RoleVersionInput {
    RoleVersionInput {
        definition: DefinitionInput {
            scope: "prod".into(),
            description: "Log writer for machine identities.".into(),
            permissions: "write on logs:*\nupload on metrics:logs".into(),
            justification: String::new(),
        },
        move_holders: false,
        reason: "Log shippers also upload log metrics".into(),
    }
}

async fn a_new_version_leaves_holders_pinned_until_moved(db: TestDb) {
    seed::demo(&db.store, 60, &|_| {}).await.unwrap();
    let id = role_id(&db, "log-writer").await;
    let before = roles::detail(&db.store, &support::admin(), &id).await.unwrap();
    assert_eq!(before.role.current_version, 1);
    let holders_v1: i64 = before.holders.iter().filter(|h| h.version == 1).map(|h| h.holders).sum();
    assert!(holders_v1 > 0, "the seed gives log-writer holders");

    let request = changes::propose_version(&db.store, &requester(), &id, &log_writer_v2()).await.unwrap();
    assert_eq!(request.state, ChangeState::Pending);
    let review = changes::review(&db.store, &approver(1), &request.id).await.unwrap();
    let diff = review.diff.unwrap();
    assert_eq!(diff.added.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["upload on metrics:logs"]);
    assert_eq!(review.status.summary(), "1 of 1 needed, 0 given");
    assert_eq!(review.holders_moving, 0);

    let applied = changes::decide(&db.store, &approver(1), &request.id, "approve", "looks right").await.unwrap();
    assert_eq!(applied.state, ChangeState::Applied);
    let after = roles::detail(&db.store, &support::admin(), &id).await.unwrap();
    assert_eq!(after.role.current_version, 2);
    assert_eq!(after.versions[0].change_request_id.as_deref(), Some(request.id.as_str()));
    assert_eq!(after.holders, vec![nhidb::domain::role::VersionHolders { version: 1, holders: holders_v1 }], "nobody was upgraded");
    assert!(after.holders_summary().contains("still on v1"));
    let report = nhidb::service::audit::verify(&db.store, &support::admin()).await.unwrap();
    assert!(report.broken.is_none());
}

async fn two_concurrent_approvals_apply_once(db: TestDb) {
    seed::demo(&db.store, 20, &|_| {}).await.unwrap();
    let id = role_id(&db, "log-writer").await;
    for round in 0..3 {
        let mut input = log_writer_v2();
        input.definition.permissions = format!("write on logs:*\nupload on metrics:round{round}");
        let request = changes::propose_version(&db.store, &requester(), &id, &input).await.unwrap();
        let (a, b) = (db.store.clone(), db.store.clone());
        let (ra, rb) = (request.id.clone(), request.id.clone());
        let first = tokio::spawn(async move { changes::decide(&a, &approver(1), &ra, "approve", "").await });
        let second = tokio::spawn(async move { changes::decide(&b, &approver(2), &rb, "approve", "").await });
        let outcomes = [first.await.unwrap(), second.await.unwrap()];
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "exactly one approval lands: {outcomes:?}");
        let detail = roles::detail(&db.store, &support::admin(), &id).await.unwrap();
        assert_eq!(detail.role.current_version, 2 + round, "one new version per request");
        assert_eq!(detail.versions.len() as i64, 2 + round);
    }
}

async fn a_privileged_change_needs_two_distinct_approvers(db: TestDb) {
    seed::demo(&db.store, 10, &|_| {}).await.unwrap();
    let id = role_id(&db, "secrets-reader").await;
    let input = RoleVersionInput {
        definition: DefinitionInput {
            scope: "prod".into(),
            description: "Reads secrets".into(),
            permissions: "read on secret:payments".into(),
            justification: String::new(),
        },
        move_holders: false,
        reason: "Narrow secrets access to payments".into(),
    };
    let request = changes::propose_version(&db.store, &requester(), &id, &input).await.unwrap();
    let after_one = changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap();
    assert_eq!(after_one.state, ChangeState::Pending, "one approval is not enough for a privileged role");
    let again = changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap_err();
    assert!(again.to_string().contains("already decided"), "{again}");
    let review = changes::review(&db.store, &approver(2), &request.id).await.unwrap();
    assert_eq!(review.status.summary(), "2 of 2 needed, 1 given");
    let done = changes::decide(&db.store, &approver(2), &request.id, "approve", "").await.unwrap();
    assert_eq!(done.state, ChangeState::Applied);
    assert_eq!(done.decisions.len(), 2);
}

async fn requesters_never_decide_their_own_requests(db: TestDb) {
    seed::demo(&db.store, 10, &|_| {}).await.unwrap();
    let id = role_id(&db, "log-writer").await;
    let both = Actor::operator("op-both", "Both Roles", vec![ConsoleRole::Requester, ConsoleRole::Approver]);
    let request = changes::propose_version(&db.store, &both, &id, &log_writer_v2()).await.unwrap();
    let own = changes::decide(&db.store, &both, &request.id, "approve", "").await.unwrap_err();
    assert_eq!(own, AppError::Refused { refusal: DecisionRefusal::OwnRequest });
    assert_eq!(own.code(), "NHI-AUTH-006");
    assert_eq!(own.to_string(), "You cannot decide your own request; another approver must.", "one sentence, not one wrapped in another");
    let review = changes::review(&db.store, &both, &request.id).await.unwrap();
    assert_eq!(review.cannot_decide, Some(DecisionRefusal::OwnRequest));
    let not_approver = changes::decide(&db.store, &support::admin(), &request.id, "approve", "").await.unwrap_err();
    assert_eq!(not_approver.code(), "NHI-AUTH-002", "admins are not approvers");
    assert_eq!(roles::detail(&db.store, &support::admin(), &id).await.unwrap().role.current_version, 1);
}

async fn a_rejection_closes_the_request_and_changes_nothing(db: TestDb) {
    seed::demo(&db.store, 10, &|_| {}).await.unwrap();
    let id = role_id(&db, "log-writer").await;
    let request = changes::propose_version(&db.store, &requester(), &id, &log_writer_v2()).await.unwrap();
    let no_comment = changes::decide(&db.store, &approver(1), &request.id, "reject", " ").await.unwrap_err();
    assert!(no_comment.field_message("comment").is_some(), "a rejection says why");
    let rejected = changes::decide(&db.store, &approver(1), &request.id, "reject", "metrics belong to metrics-uploader").await.unwrap();
    assert_eq!(rejected.state, ChangeState::Rejected);
    assert_eq!(roles::detail(&db.store, &support::admin(), &id).await.unwrap().role.current_version, 1);
    let late = changes::decide(&db.store, &approver(2), &request.id, "approve", "").await.unwrap_err();
    assert_eq!(late.code(), "NHI-STATE-001");
    let cancel = changes::cancel(&db.store, &requester(), &request.id).await.unwrap_err();
    assert_eq!(cancel.code(), "NHI-STATE-001");
}

async fn moving_holders_is_an_explicit_reviewed_option(db: TestDb) {
    seed::demo(&db.store, 60, &|_| {}).await.unwrap();
    let id = role_id(&db, "log-writer").await;
    let holders: i64 = roles::detail(&db.store, &support::admin(), &id).await.unwrap().holders.iter().map(|h| h.holders).sum();
    let mut input = log_writer_v2();
    input.move_holders = true;
    let request = changes::propose_version(&db.store, &requester(), &id, &input).await.unwrap();
    let review = changes::review(&db.store, &approver(1), &request.id).await.unwrap();
    assert_eq!(review.holders_moving, holders, "the reviewer sees who moves");
    changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap();
    let after = roles::detail(&db.store, &support::admin(), &id).await.unwrap();
    assert_eq!(after.holders, vec![nhidb::domain::role::VersionHolders { version: 2, holders }]);
}

async fn retiring_a_role_ends_its_assignments_and_its_id_is_never_reused(db: TestDb) {
    seed::demo(&db.store, 30, &|_| {}).await.unwrap();
    let new_role = NewRoleInput {
        slug: "report-reader".into(),
        display_name: "Report reader".into(),
        sensitivity: "standard".into(),
        definition: DefinitionInput {
            scope: "prod/reports".into(),
            description: "Reads reports".into(),
            permissions: "read on bucket:reports".into(),
            justification: String::new(),
        },
        reason: "Reporting jobs need read access".into(),
    };
    let created = changes::propose_role(&db.store, &requester(), &new_role).await.unwrap();
    changes::decide(&db.store, &approver(1), &created.id, "approve", "").await.unwrap();
    let first = roles::detail(&db.store, &support::admin(), "report-reader").await.unwrap();
    assert_eq!(first.role.current_version, 1);

    let retire = changes::propose_retirement(&db.store, &requester(), &first.role.id, "Reports moved to the warehouse").await.unwrap();
    changes::decide(&db.store, &approver(1), &retire.id, "approve", "").await.unwrap();
    let retired = roles::detail(&db.store, &support::admin(), &first.role.id).await.unwrap();
    assert_eq!(retired.role.status, RoleStatus::Retired, "the retired role keeps its id and history");

    let reuse = changes::propose_role(&db.store, &requester(), &new_role).await.unwrap_err();
    assert_eq!(reuse.code(), "NHI-CONFLICT-001", "a slug is never reused, so neither is the role");
    let renamed = NewRoleInput { slug: "report-reader-v2".into(), ..new_role };
    let second = changes::propose_role(&db.store, &requester(), &renamed).await.unwrap();
    changes::decide(&db.store, &approver(1), &second.id, "approve", "").await.unwrap();
    let other = roles::detail(&db.store, &support::admin(), "report-reader-v2").await.unwrap();
    assert_ne!(other.role.id, first.role.id);
}

async fn stale_proposals_are_refused_and_pending_requests_expire(db: TestDb) {
    seed::demo(&db.store, 10, &|_| {}).await.unwrap();
    let id = role_id(&db, "log-writer").await;
    let first = changes::propose_version(&db.store, &requester(), &id, &log_writer_v2()).await.unwrap();
    let mut other = log_writer_v2();
    other.definition.permissions = "write on logs:*\npublish on queue:logs".into();
    let second = changes::propose_version(&db.store, &requester(), &id, &other).await.unwrap();
    changes::decide(&db.store, &approver(1), &first.id, "approve", "").await.unwrap();
    let stale = changes::decide(&db.store, &approver(1), &second.id, "approve", "").await.unwrap_err();
    assert!(stale.to_string().contains("changed since this was proposed"), "{stale}");

    let short = ApprovalPolicy { expiry_hours: 1, ..Default::default() };
    changes::set_policy(&db.store, &support::admin(), &short).await.unwrap();
    // Age the pending request past its expiry as time would.
    support::sql(&db, &format!("update change_requests set expires_at = '2000-01-01T00:00:00.000000Z' where id = '{}'", second.id)).await;
    assert_eq!(changes::expire_due(&db.store).await.unwrap(), 1);
    let review = changes::review(&db.store, &approver(2), &second.id).await.unwrap();
    assert_eq!(review.request.state, ChangeState::Expired);
}

async fn the_catalog_filters_sorts_and_pages(db: TestDb) {
    use nhidb::domain::role::RoleQuery;
    seed::demo(&db.store, 150, &|_| {}).await.unwrap();
    let admin = support::admin();
    let query = |q: RoleQuery| {
        let store = db.store.clone();
        let admin = admin.clone();
        async move {
            let (filter, sort, page) = q.to_filter().unwrap();
            roles::catalog(&store, &admin, &filter, sort, &page).await.unwrap()
        }
    };
    let all = query(RoleQuery::default()).await;
    assert_eq!(all.total, 12);
    let slugs: Vec<_> = all.items.iter().map(|r| r.role.slug.clone()).collect();
    let mut sorted = slugs.clone();
    sorted.sort();
    assert_eq!(slugs, sorted, "sorted by slug by default");

    let privileged = query(RoleQuery { sensitivity: Some("privileged".into()), ..Default::default() }).await;
    let names: Vec<_> = privileged.items.iter().map(|r| r.role.slug.as_str()).collect();
    assert_eq!(names, ["data-writer", "payments-admin", "secrets-reader"]);

    let payments = query(RoleQuery { scope: Some("prod/payments".into()), ..Default::default() }).await;
    assert_eq!(payments.items.iter().map(|r| r.role.slug.as_str()).collect::<Vec<_>>(), ["payments-admin"]);
    let below_prod = query(RoleQuery { scope: Some("prod".into()), ..Default::default() }).await;
    assert_eq!(below_prod.total, 12, "a scope filter includes the scopes below it");

    let uploads = query(RoleQuery { action: Some("upload".into()), ..Default::default() }).await;
    assert_eq!(uploads.items.iter().map(|r| r.role.slug.as_str()).collect::<Vec<_>>(), ["metrics-uploader"]);
    assert!(uploads.items[0].outdated_holders > 0, "the seed leaves some metrics-uploader holders on v2");
    let ledger = query(RoleQuery { resource: Some("DB:LEDGER".into()), ..Default::default() }).await;
    assert_eq!(ledger.items.iter().map(|r| r.role.slug.as_str()).collect::<Vec<_>>(), ["payments-admin"]);

    // Paging by holders, five at a time, visits every role once, most held first.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = query(RoleQuery { sort: Some("holders".into()), after: after.clone(), limit: Some(5), ..Default::default() }).await;
        seen.extend(page.items.iter().map(|r| (r.holders, r.role.slug.clone())));
        match page.next_cursor {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert!(seen.windows(2).all(|w| w[0].0 >= w[1].0), "{seen:?}");
    let bad = RoleQuery { sort: Some("size".into()), ..Default::default() }.to_filter().unwrap_err();
    assert!(bad.field_message("sort").is_some());
}
