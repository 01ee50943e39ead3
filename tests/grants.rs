//! Grants and revocations, separation of duties, expiry, point-in-time holders, credentials
//! tied to assignments, and the discoverability queries.

mod support;

use nhidb::domain::Timestamp;
use nhidb::domain::actor::{Actor, ConsoleRole};
use nhidb::domain::change::{ApprovalPolicy, ChangeState};
use nhidb::domain::credential::{CredentialInput, CredentialState};
use nhidb::domain::page::PageRequest;
use nhidb::domain::role::{DefinitionInput, RoleVersionInput};
use nhidb::service::access::{self, AccessInput, ExceptionInput, GrantInput, WhoCanQuery};
use nhidb::service::{changes, credentials, identities, roles, seed};
use support::TestDb;

store_tests!(
    a_grant_is_a_request_pinned_to_the_current_version_when_approved,
    a_read_write_conflict_blocks_approval_until_an_exception_covers_it,
    a_role_change_that_would_put_holders_in_conflict_is_blocked,
    expired_grants_count_nowhere_and_their_end_is_audited,
    point_in_time_holders_see_before_and_after_a_revocation,
    revoking_an_assignment_revokes_its_credentials_at_once,
    holders_still_on_old_versions_move_by_a_reviewed_request,
    who_can_and_holders_answer_from_the_ledger,
    holder_snapshots_follow_every_writer_and_agree_with_sql_paging,
);

fn requester() -> Actor {
    Actor::operator("op-requester", "Rui Requester", vec![ConsoleRole::Requester])
}

fn approver(n: u8) -> Actor {
    Actor::operator(&format!("op-approver-{n}"), &format!("Approver {n}"), vec![ConsoleRole::Approver])
}

/// An active seeded identity holding `role` and not `absent`.
async fn holder_of(db: &TestDb, role: &str, absent: Option<&str>) -> String {
    let page = access::holders(&db.store, &support::admin(), role, None, None, &PageRequest { after: None, limit: Some(500) }).await.unwrap();
    for h in page.holders {
        let identity = identities::get(&db.store, &support::admin(), &h.identity_id).await.unwrap();
        if identity.status != nhidb::domain::identity::IdentityStatus::Active {
            continue;
        }
        let held = access::effective_permissions(&db.store, &support::admin(), &h.identity_id).await.unwrap();
        if absent.is_none_or(|a| !held.iter().any(|x| x.role_slug == a)) {
            return h.identity_id;
        }
    }
    panic!("no active holder of {role} without {absent:?}");
}

fn grant(identity_id: &str, role: &str, expires: &str, reason: &str) -> AccessInput {
    AccessInput {
        grants: vec![GrantInput { identity_id: identity_id.into(), role: role.into(), scope: String::new(), expires_at: expires.into() }],
        revokes: vec![],
        reason: reason.into(),
    }
}

async fn a_grant_is_a_request_pinned_to_the_current_version_when_approved(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let identity = holder_of(&db, "log-writer", Some("api-invoker")).await;
    let request = access::propose(&db.store, &requester(), &grant(&identity, "api-invoker", "", "Needs to call the orders API")).await.unwrap();
    assert_eq!(request.state, ChangeState::Pending);
    let review = changes::review(&db.store, &approver(1), &request.id).await.unwrap();
    let blast = review.blast.unwrap();
    assert_eq!(blast.gaining_count, 1);
    assert_eq!(blast.gaining[0].identity_id, identity);
    assert_eq!(blast.gaining[0].permissions.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["invoke on api:*"]);
    let pending = access::effective(&db.store, &support::admin(), &identity).await.unwrap();
    assert_eq!(pending.pending.len(), 1, "the identity shows the pending grant");
    assert!(!pending.holdings.iter().any(|h| h.role_slug == "api-invoker"), "nothing granted before approval");

    changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap();
    let after = access::effective(&db.store, &support::admin(), &identity).await.unwrap();
    let granted = after.holdings.iter().find(|h| h.role_slug == "api-invoker").expect("granted");
    let current = roles::detail(&db.store, &support::admin(), "api-invoker").await.unwrap().role.current_version;
    assert_eq!(granted.version, current, "pinned to the current version");
    let again = access::propose(&db.store, &requester(), &grant(&identity, "api-invoker", "", "twice")).await.unwrap_err();
    assert!(again.to_string().contains("already holds"), "{again}");
}

async fn a_read_write_conflict_blocks_approval_until_an_exception_covers_it(db: TestDb) {
    seed::demo(&db.store, 60, &|_| {}).await.unwrap();
    // data-reader reads db:*; data-writer writes db:* (privileged: two approvers).
    let identity = holder_of(&db, "data-reader", Some("data-writer")).await;
    let request = access::propose(&db.store, &requester(), &grant(&identity, "data-writer", "", "Nightly repair job")).await.unwrap();
    let review = changes::review(&db.store, &approver(1), &request.id).await.unwrap();
    let blast = review.blast.unwrap();
    assert_eq!(blast.blocking().len(), 1, "the finding is shown on the request: {blast:?}");
    assert_eq!(blast.findings[0].resource.as_deref(), Some("db:*"));

    changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap();
    let blocked = changes::decide(&db.store, &approver(2), &request.id, "approve", "").await.unwrap_err();
    assert!(blocked.to_string().contains("Separation of duties"), "{blocked}");
    assert_eq!(changes::review(&db.store, &approver(2), &request.id).await.unwrap().request.state, ChangeState::Pending);

    // An exception that has already expired covers nothing.
    let rule = "read-write-split".to_owned();
    let exception = access::add_exception(
        &db.store,
        &support::admin(),
        &ExceptionInput {
            rule_id: rule.clone(),
            identity_id: identity.clone(),
            resource: "db:*".into(),
            justification: "Repair job reads and fixes rows".into(),
            expires_at: Timestamp::now().plus_days(2).date(),
        },
    )
    .await
    .unwrap();
    support::sql(&db, &format!("update sod_exceptions set expires_at = '2000-01-01T00:00:00.000000Z' where id = '{}'", exception.id)).await;
    assert!(changes::decide(&db.store, &approver(2), &request.id, "approve", "").await.is_err(), "an expired exception does not help");

    access::add_exception(
        &db.store,
        &support::admin(),
        &ExceptionInput {
            rule_id: rule,
            identity_id: identity.clone(),
            resource: "db:*".into(),
            justification: "Repair job reads and fixes rows".into(),
            expires_at: Timestamp::now().plus_days(2).date(),
        },
    )
    .await
    .unwrap();
    let applied = changes::decide(&db.store, &approver(2), &request.id, "approve", "covered by exception").await.unwrap();
    assert_eq!(applied.state, ChangeState::Applied);
    let effective = access::effective(&db.store, &support::admin(), &identity).await.unwrap();
    assert!(effective.findings.iter().all(|f| f.excepted_by.is_some()), "the conflict is reported as excepted");
    let violations = access::violations(&db.store, &support::admin(), None, 1000).await.unwrap();
    assert!(violations.findings.iter().any(|(id, _, f)| id == &identity && f.excepted_by.is_some()));
}

async fn a_role_change_that_would_put_holders_in_conflict_is_blocked(db: TestDb) {
    seed::demo(&db.store, 120, &|_| {}).await.unwrap();
    // A holder of both bucket-reader and log-writer (machine users hold both).
    let identity = holder_of(&db, "bucket-reader", None).await;
    let mut holds_log_writer =
        access::effective_permissions(&db.store, &support::admin(), &identity).await.unwrap().iter().any(|h| h.role_slug == "log-writer");
    let mut identity = identity;
    if !holds_log_writer {
        let page = access::holders(&db.store, &support::admin(), "bucket-reader", None, None, &PageRequest { after: None, limit: Some(500) }).await.unwrap();
        for h in page.holders {
            if access::effective_permissions(&db.store, &support::admin(), &h.identity_id).await.unwrap().iter().any(|x| x.role_slug == "log-writer") {
                identity = h.identity_id;
                holds_log_writer = true;
                break;
            }
        }
    }
    assert!(holds_log_writer, "the seed has an identity with bucket-reader and log-writer");
    let role_id = roles::detail(&db.store, &support::admin(), "bucket-reader").await.unwrap().role.id;
    let input = RoleVersionInput {
        definition: DefinitionInput {
            scope: "prod".into(),
            description: "Bucket reader".into(),
            permissions: "read on bucket:*\nlist on bucket:*\nread on logs:*".into(),
            justification: String::new(),
        },
        move_holders: true,
        reason: "Readers also need the logs".into(),
    };
    let request = changes::propose_version(&db.store, &requester(), &role_id, &input).await.unwrap();
    let review = changes::review(&db.store, &approver(1), &request.id).await.unwrap();
    assert!(review.blast.unwrap().findings.iter().any(|f| f.identity_id == identity), "the reviewer sees who would conflict");
    let blocked = changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap_err();
    assert!(blocked.to_string().contains("Separation of duties"), "{blocked}");
    assert_eq!(roles::detail(&db.store, &support::admin(), &role_id).await.unwrap().role.current_version, 1, "nothing applied");

    // The same change without moving holders conflicts with nobody: nobody is on it yet.
    let mut pinned = input.clone();
    pinned.move_holders = false;
    changes::cancel(&db.store, &requester(), &request.id).await.unwrap();
    let request = changes::propose_version(&db.store, &requester(), &role_id, &pinned).await.unwrap();
    assert_eq!(changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap().state, ChangeState::Applied);
}

async fn expired_grants_count_nowhere_and_their_end_is_audited(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let identity = holder_of(&db, "log-writer", Some("api-invoker")).await;
    let tomorrow = Timestamp::now().plus_days(1).date();
    let request = access::propose(&db.store, &requester(), &grant(&identity, "api-invoker", &tomorrow, "One-day migration")).await.unwrap();
    changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap();
    let holders = |db: &TestDb| {
        let store = db.store.clone();
        async move { access::holders(&store, &support::admin(), "api-invoker", None, None, &PageRequest { after: None, limit: Some(10_000) }).await.unwrap() }
    };
    assert!(holders(&db).await.holders.iter().any(|h| h.identity_id == identity));

    support::sql(
        &db,
        &format!("update assignments set expires_at = '2000-01-01T00:00:00.000000Z' where identity_id = '{identity}' and change_request_id = '{}'", request.id),
    )
    .await;
    let page = holders(&db).await;
    assert!(!page.holders.iter().any(|h| h.identity_id == identity), "gone from holders");
    assert_eq!(page.total, page.counts.iter().map(|c| c.holders).sum::<i64>());
    assert!(
        !access::effective_permissions(&db.store, &support::admin(), &identity).await.unwrap().iter().any(|h| h.role_slug == "api-invoker"),
        "gone from effective permissions"
    );
    let who =
        access::who_can(&db.store, &support::admin(), &WhoCanQuery { action: Some("invoke".into()), scope: "prod/payments".into(), ..Default::default() })
            .await
            .unwrap();
    assert!(!who.items.iter().any(|c| c.identity_id == identity), "gone from who-can");

    assert_eq!(access::record_expired_grants(&db.store).await.unwrap(), 1);
    assert_eq!(access::record_expired_grants(&db.store).await.unwrap(), 0, "recorded once");
    let history = identities::detail(&db.store, &support::admin(), &identity).await.unwrap().history;
    assert!(history.iter().any(|e| e.action == "assignment.expire"));
}

async fn point_in_time_holders_see_before_and_after_a_revocation(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let identity = holder_of(&db, "log-writer", None).await;
    let assignment = identities::detail(&db.store, &support::admin(), &identity)
        .await
        .unwrap()
        .assignments
        .into_iter()
        .find(|a| a.role_slug == "log-writer" && a.revoked_at.is_none())
        .unwrap();
    let before = Timestamp::now();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let revoked = access::propose(
        &db.store,
        &requester(),
        &AccessInput { grants: vec![], revokes: vec![assignment.id.clone()], reason: "Service no longer ships logs".into() },
    )
    .await
    .unwrap();
    assert_eq!(revoked.state, ChangeState::Applied, "revocations take effect at once by default");
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let after = Timestamp::now();
    let page = PageRequest { after: None, limit: Some(200) };
    let then = access::holders_at(&db.store, &support::admin(), "log-writer", &before.to_rfc3339(), &page).await.unwrap();
    let now = access::holders_at(&db.store, &support::admin(), "log-writer", &after.to_rfc3339(), &page).await.unwrap();
    assert!(then.items.iter().any(|h| h.identity_id == identity));
    assert!(!now.items.iter().any(|h| h.identity_id == identity));
    assert_eq!(then.total, now.total + 1);

    changes::set_policy(&db.store, &support::admin(), &ApprovalPolicy { revocations_need_approval: true, ..Default::default() }).await.unwrap();
    let other = holder_of(&db, "log-writer", None).await;
    let other_assignment = identities::detail(&db.store, &support::admin(), &other)
        .await
        .unwrap()
        .assignments
        .into_iter()
        .find(|a| a.role_slug == "log-writer" && a.revoked_at.is_none())
        .unwrap();
    let waiting =
        access::propose(&db.store, &requester(), &AccessInput { grants: vec![], revokes: vec![other_assignment.id], reason: "Needs review now".into() })
            .await
            .unwrap();
    assert_eq!(waiting.state, ChangeState::Pending, "the policy can require approval for revocations");
}

async fn revoking_an_assignment_revokes_its_credentials_at_once(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let identity = holder_of(&db, "log-writer", None).await;
    let detail = identities::detail(&db.store, &support::admin(), &identity).await.unwrap();
    let assignment = detail.assignments.iter().find(|a| a.role_slug == "log-writer" && a.revoked_at.is_none()).unwrap().clone();
    let credential = credentials::register(
        &db.store,
        &support::admin(),
        &identity,
        &CredentialInput {
            kind: "api_key".into(),
            fingerprint: format!("SHA256:{}", "B".repeat(43)),
            assignment_id: Some(assignment.id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(credential.state(Timestamp::now()), CredentialState::Active);
    access::propose(&db.store, &requester(), &AccessInput { grants: vec![], revokes: vec![assignment.id.clone()], reason: "Role no longer needed".into() })
        .await
        .unwrap();
    let after = identities::detail(&db.store, &support::admin(), &identity).await.unwrap();
    let credential = after.credentials.iter().find(|c| c.id == credential.id).unwrap();
    assert_eq!(credential.state(Timestamp::now()), CredentialState::Revoked);
    assert!(after.history.iter().any(|e| e.action == "assignment.revoke" && e.detail.contains(&credential.id)), "the audit says which credential went");
}

async fn holders_still_on_old_versions_move_by_a_reviewed_request(db: TestDb) {
    seed::demo(&db.store, 80, &|_| {}).await.unwrap();
    let detail = roles::detail(&db.store, &support::admin(), "metrics-uploader").await.unwrap();
    let on_v2: i64 = detail.holders.iter().filter(|h| h.version == 2).map(|h| h.holders).sum();
    assert!(on_v2 > 0, "the seed leaves holders on v2");
    let request = access::propose_move_holders(&db.store, &requester(), &detail.role.id, Some(2), "Upgrade the holders still on v2").await.unwrap();
    let review = changes::review(&db.store, &approver(1), &request.id).await.unwrap();
    assert_eq!(review.holders_moving, on_v2);
    changes::decide(&db.store, &approver(1), &request.id, "approve", "").await.unwrap();
    let after = roles::detail(&db.store, &support::admin(), "metrics-uploader").await.unwrap();
    assert!(after.holders.iter().all(|h| h.version == 3), "{:?}", after.holders);
}

async fn who_can_and_holders_answer_from_the_ledger(db: TestDb) {
    seed::demo(&db.store, 60, &|_| {}).await.unwrap();
    // log-writer writes logs:* on prod, which covers prod/payments/payments-db.
    let who = access::who_can(
        &db.store,
        &support::admin(),
        &WhoCanQuery { class: Some("write".into()), resource: Some("logs:app".into()), scope: "prod/payments/payments-db".into(), ..Default::default() },
    )
    .await
    .unwrap();
    assert!(who.total > 0);
    assert!(who.items.iter().all(|c| c.resource == "logs:*" || c.resource == "logs:app"));
    let writers = access::holders(&db.store, &support::admin(), "log-writer", None, None, &PageRequest { after: None, limit: Some(10_000) }).await.unwrap();
    assert!(who.total >= writers.total, "every log-writer holder can write logs there");
    // Paging who-can visits each identity once and agrees with the total.
    let mut able = Vec::new();
    let mut after = None;
    loop {
        let query = WhoCanQuery {
            class: Some("write".into()),
            resource: Some("logs:app".into()),
            scope: "prod/payments/payments-db".into(),
            after: after.clone(),
            limit: Some(3),
            ..Default::default()
        };
        let page = access::who_can(&db.store, &support::admin(), &query).await.unwrap();
        assert_eq!(page.total, who.total);
        able.extend(page.items.into_iter().map(|c| c.identity_id));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut distinct = able.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(able, distinct);
    assert_eq!(able.len() as i64, who.total);
    let nowhere =
        access::who_can(&db.store, &support::admin(), &WhoCanQuery { class: Some("write".into()), scope: "lab/nothing-here".into(), ..Default::default() })
            .await
            .unwrap();
    assert_eq!((nowhere.total, nowhere.items.len()), (0, 0));
    let bad = access::who_can(&db.store, &support::admin(), &WhoCanQuery { action: Some("fly".into()), scope: "Prod//x".into(), ..Default::default() })
        .await
        .unwrap_err();
    assert!(bad.field_message("scope").is_some() && bad.field_message("action").is_some());

    // Paging the holders visits everyone once, in identity order.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page =
            access::holders(&db.store, &support::admin(), "log-writer", None, None, &PageRequest { after: after.clone(), limit: Some(7) }).await.unwrap();
        seen.extend(page.holders.iter().map(|h| h.identity_id.clone()));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen, sorted);
    assert_eq!(seen.len() as i64, writers.total);
}

/// The holder list is served from an in-memory snapshot checked against a stamp the database
/// moves on every change, so a second process's grants, revocations and renames show at once;
/// and a role too big for the cache pages in SQL with the same result.
async fn holder_snapshots_follow_every_writer_and_agree_with_sql_paging(db: TestDb) {
    seed::demo(&db.store, 40, &|_| {}).await.unwrap();
    let other = nhidb::store::Store::connect(&db.url, 2).await.unwrap();
    let all = PageRequest { after: None, limit: Some(10_000) };
    let list = |store: nhidb::store::Store| {
        let all = all.clone();
        async move { access::holders(&store, &support::admin(), "log-writer", None, None, &all).await.unwrap() }
    };
    let before = list(db.store.clone()).await;
    assert!(db.store.holder_cache().held() > 0, "the first read keeps a snapshot");

    // Another process revokes one holder's grant: gone on the next read here.
    let leaving = before.holders.iter().next().unwrap().clone();
    access::propose(&other, &requester(), &AccessInput { grants: vec![], revokes: vec![leaving.assignment_id.clone()], reason: "Moved off logging".into() })
        .await
        .unwrap();
    let after = list(db.store.clone()).await;
    assert!(!after.holders.iter().any(|h| h.assignment_id == leaving.assignment_id), "revocation by another process is seen");
    assert_eq!(after.total, before.total - 1);

    // A rename written straight to the database (no service code involved) shows too.
    let renamed = after.holders.iter().next().unwrap().identity_id.clone();
    support::sql(&db, &format!("update identities set name = 'renamed-by-sql' where id = '{renamed}'")).await;
    let page = list(db.store.clone()).await;
    assert_eq!(page.holders.iter().find(|h| h.identity_id == renamed).unwrap().identity_name, "renamed-by-sql");

    // A grant approved in the other process appears.
    let newcomer = holder_of(&db, "api-invoker", Some("log-writer")).await;
    let request = access::propose(&other, &requester(), &grant(&newcomer, "log-writer", "", "Ships logs now")).await.unwrap();
    changes::decide(&other, &approver(1), &request.id, "approve", "").await.unwrap();
    let page = list(db.store.clone()).await;
    assert!(page.holders.iter().any(|h| h.identity_id == newcomer), "grant by another process is seen");

    // A store whose budget is smaller than the role pages in SQL: same holders, same order,
    // same counts, page by page.
    let small = db.store.clone().with_holder_budget(1);
    for size in [3u32, 10_000] {
        let (mut cached, mut paged) = (Vec::new(), Vec::new());
        for (store, out) in [(&db.store, &mut cached), (&small, &mut paged)] {
            let mut after = None;
            loop {
                let page = access::holders(store, &support::admin(), "log-writer", None, None, &PageRequest { after: after.clone(), limit: Some(size) })
                    .await
                    .unwrap();
                out.push((page.holders.to_vec(), page.next_cursor.clone(), page.counts.clone()));
                match page.next_cursor {
                    Some(c) => after = Some(c),
                    None => break,
                }
            }
        }
        assert_eq!(cached, paged, "pages of {size}");
    }
    assert_eq!(small.holder_cache().held(), 0, "a role over the budget is not kept");
}
