//! Escalation paths over an imported cluster, on both backends: what an identity can reach,
//! who can reach cluster-admin, and a grant that opens a path being made privileged, shown in
//! its blast radius, blocked when the policy says so, and visible once applied.

mod support;

use nhidb::domain::actor::{Actor, ConsoleRole};
use nhidb::domain::change::ChangeState;
use nhidb::domain::discovery::{AccessInput, GrantInput};
use nhidb::domain::escalation::EdgeRule;
use nhidb::domain::escalation::PathQuery;
use nhidb::domain::page::PageRequest;
use nhidb::domain::role::Sensitivity;
use nhidb::domain::source::SourceKind;
use nhidb::service::{access, changes, escalation, findings, identities, imports};
use support::{TestDb, admin, operator, owner, text};

store_tests!(a_grant_that_opens_a_path_is_privileged_shown_and_can_be_blocked, reachers_are_paged_by_hops, the_ledger_wide_list_is_kept_current);

const CLUSTER: &str = include_str!("fixtures/import/kubernetes/escalation.yaml");

async fn import(db: &TestDb) {
    owner(&db.store, "platform-team").await;
    let target = imports::Target { kind: SourceKind::Kubernetes, name: "esc".into(), owner: Some("platform-team".into()), plan_only: false };
    let input = vec![imports::InputFile { name: "escalation.yaml".into(), text: CLUSTER.into() }];
    imports::import_kubernetes(&db.store, &admin(), &target, &imports::KubernetesOptions::default(), input).await.unwrap();
}

async fn identity(db: &TestDb, name: &str) -> String {
    text(db, &format!("select id from identities where name = '{name}'")).await
}

async fn a_grant_that_opens_a_path_is_privileged_shown_and_can_be_blocked(db: TestDb) {
    import(&db).await;
    let viewer = operator(&[ConsoleRole::Viewer]);
    let (builder, manager) = (identity(&db, "ci.builder").await, identity(&db, "platform.rbac-manager").await);

    // rbac-manager may bind cluster-admin: one hop. builder reaches nothing yet.
    let reach = escalation::reach(&db.store, &viewer, &manager).await.unwrap();
    let targets: Vec<(&str, u32)> = reach.items.iter().map(|p| (p.target.label.as_str(), p.hops)).collect();
    assert_eq!(targets, vec![("k8s-esc-cluster-admin", 1)]);
    assert_eq!(reach.items[0].steps[0].rule, EdgeRule::K8sBind);
    assert!(escalation::reach(&db.store, &viewer, &builder).await.unwrap().items.is_empty());
    assert!(escalation::reach(&db.store, &viewer, "no-such-identity").await.is_err());

    // A plain role (create pods in platform) for builder opens builder → rbac-manager → cluster-admin.
    let requester = Actor::operator("op-rui", "Rui Requester", vec![ConsoleRole::Requester]);
    let input = AccessInput {
        grants: vec![GrantInput { identity_id: builder.clone(), role: "k8s-esc-platform-pod-runner".into(), scope: String::new(), expires_at: String::new() }],
        revokes: vec![],
        reason: "integration pods".into(),
    };
    let request = access::propose(&db.store, &requester, &input).await.unwrap();
    assert_eq!(request.sensitivity, Sensitivity::Privileged, "opening a path makes the request privileged");
    let review = changes::review(&db.store, &viewer, &request.id).await.unwrap();
    let delta = review.blast.unwrap().escalation.unwrap();
    // Two targets: the binder role rbac-manager holds (one hop), and cluster-admin (two).
    assert_eq!((delta.opened_count, delta.closed_count), (2, 0));
    let targets: Vec<(&str, u32)> = delta.opened.iter().map(|p| (p.target.label.as_str(), p.hops)).collect();
    assert_eq!(targets, vec![("k8s-esc-platform-cluster-admin-binder", 1), ("k8s-esc-cluster-admin", 2)]);
    let path = &delta.opened[1];
    assert_eq!((path.from.label.as_str(), path.target.label.as_str(), path.hops), ("ci.builder", "k8s-esc-cluster-admin", 2));
    let rules: Vec<EdgeRule> = path.steps.iter().map(|s| s.rule).collect();
    assert_eq!(rules, vec![EdgeRule::K8sWorkloads, EdgeRule::Member, EdgeRule::K8sBind]);
    assert_eq!(path.steps[0].reasons[0].assignment_id, escalation::PROPOSED);

    // The policy can block it outright; the refusal names the path.
    let mut policy = changes::policy(&db.store, &admin()).await.unwrap();
    policy.block_escalation = true;
    changes::set_policy(&db.store, &admin(), &policy).await.unwrap();
    let ana = Actor::operator("op-ana", "Ana Approver", vec![ConsoleRole::Approver]);
    let refused = changes::decide(&db.store, &ana, &request.id, "approve", "ok").await.unwrap_err().to_string();
    assert!(refused.contains("let ci.builder reach k8s-esc-platform-cluster-admin-binder in 1 hop (2 paths in all)"), "{refused}");
    policy.block_escalation = false;
    changes::set_policy(&db.store, &admin(), &policy).await.unwrap();

    // Otherwise it needs two approvers.
    let first = changes::decide(&db.store, &ana, &request.id, "approve", "ok").await.unwrap();
    assert_eq!(first.state, ChangeState::Pending, "one approval is not enough");
    let ben = Actor::operator("op-ben", "Ben Approver", vec![ConsoleRole::Approver]);
    let applied = changes::decide(&db.store, &ben, &request.id, "approve", "ok").await.unwrap();
    assert_eq!(applied.state, ChangeState::Applied);

    // The graph follows the ledger: builder now reaches cluster-admin in two hops.
    let reach = escalation::reach(&db.store, &viewer, &builder).await.unwrap();
    assert_eq!(
        reach.items.iter().map(|p| (p.target.label.as_str(), p.hops)).collect::<Vec<_>>(),
        vec![("k8s-esc-platform-cluster-admin-binder", 1), ("k8s-esc-cluster-admin", 2)]
    );
    assert_ne!(reach.items[0].steps[0].reasons[0].assignment_id, escalation::PROPOSED);

    // Revoking it would close the path again.
    let assignment = text(&db, &format!("select id from assignments where identity_id = '{builder}' and revoked_at is null")).await;
    let revoke = AccessInput { grants: vec![], revokes: vec![assignment], reason: "done".into() };
    let delta = escalation::delta_of(
        &db.store,
        &nhidb::domain::change::ChangePayload::Access {
            grants: vec![],
            revokes: vec![nhidb::domain::change::RevokeItem {
                assignment_id: revoke.revokes[0].clone(),
                identity_id: builder.clone(),
                identity_name: "ci.builder".into(),
                role_slug: "k8s-esc-platform-pod-runner".into(),
            }],
        },
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((delta.opened_count, delta.closed_count), (0, 2));
}

async fn reachers_are_paged_by_hops(db: TestDb) {
    import(&db).await;
    let viewer = operator(&[ConsoleRole::Viewer]);
    let page = |after: Option<String>| PageRequest { after, limit: Some(1) };
    let first = escalation::role_reachers(&db.store, &viewer, "k8s-esc-cluster-admin", &page(None)).await.unwrap();
    assert_eq!(first.total, 1);
    assert_eq!((first.items[0].identity.label.as_str(), first.items[0].hops), ("platform.rbac-manager", 1));
    assert_eq!(first.next_cursor, None);
    let control = escalation::source_reachers(&db.store, &viewer, "kubernetes", "esc", &page(None)).await.unwrap();
    assert_eq!(control.total, 0, "nobody controls the cluster: cluster-admin is bound to no one");
    assert!(escalation::role_reachers(&db.store, &viewer, "k8s-esc-cluster-admin", &page(Some("garbage".into()))).await.is_err());
    assert!(escalation::source_reachers(&db.store, &viewer, "nomad", "esc", &page(None)).await.is_err());
}

/// The paths the list holds for `query`, as (identity, namespace, target, hops).
async fn listed(db: &TestDb, query: PathQuery) -> Vec<(String, String, String, u32)> {
    findings::escalation_settled(&db.store).await;
    let page = escalation::paths(&db.store, &operator(&[ConsoleRole::Viewer]), &query).await.unwrap();
    assert_eq!(page.total as usize, page.items.len(), "one page holds them all here");
    page.items.into_iter().map(|p| (p.identity_name, p.within.unwrap_or_default(), p.target_label, p.hops)).collect()
}

async fn the_ledger_wide_list_is_kept_current(db: TestDb) {
    findings::rebuild(&db.store, &Default::default(), &|_, _| {}).await.unwrap();
    // The import settles the list: rbac-manager may bind cluster-admin.
    import(&db).await;
    let manager_path = ("platform.rbac-manager".to_owned(), "platform".to_owned(), "k8s-esc-cluster-admin".to_owned(), 1);
    assert_eq!(listed(&db, PathQuery::default()).await, vec![manager_path.clone()]);

    // An approved grant that opens two paths adds them, without waiting for the scheduler.
    let builder = identity(&db, "ci.builder").await;
    let requester = Actor::operator("op-rui", "Rui Requester", vec![ConsoleRole::Requester]);
    let input = AccessInput {
        grants: vec![GrantInput { identity_id: builder.clone(), role: "k8s-esc-platform-pod-runner".into(), scope: String::new(), expires_at: String::new() }],
        revokes: vec![],
        reason: "integration pods".into(),
    };
    let request = access::propose(&db.store, &requester, &input).await.unwrap();
    for approver in ["op-ana", "op-ben"] {
        changes::decide(&db.store, &Actor::operator(approver, approver, vec![ConsoleRole::Approver]), &request.id, "approve", "ok").await.unwrap();
    }
    let all = listed(&db, PathQuery::default()).await;
    assert_eq!(all.len(), 3, "{all:?}");
    let q = |f: fn(&mut PathQuery)| {
        let mut query = PathQuery::default();
        f(&mut query);
        query
    };
    let names = |rows: Vec<(String, String, String, u32)>| rows.into_iter().map(|r| (r.0, r.2, r.3)).collect::<Vec<_>>();
    let mut ci = names(listed(&db, q(|q| q.within = Some("ci".into()))).await);
    ci.sort();
    let expected: Vec<(String, String, u32)> =
        vec![("ci.builder".into(), "k8s-esc-cluster-admin".into(), 2), ("ci.builder".into(), "k8s-esc-platform-cluster-admin-binder".into(), 1)];
    assert_eq!(ci, expected);
    assert_eq!(listed(&db, q(|q| q.max_hops = Some(1))).await.len(), 2);
    assert_eq!(listed(&db, q(|q| q.target = Some("BINDER".into()))).await.len(), 1, "target matches part of its name, any case");
    assert_eq!(listed(&db, q(|q| q.source = Some("esc".into()))).await.len(), 3);
    assert!(listed(&db, q(|q| q.source = Some("elsewhere".into()))).await.is_empty());
    assert!(listed(&db, q(|q| q.within = Some("c".into()))).await.is_empty(), "a namespace is matched whole");
    // Paged one at a time, the pages hold each path once.
    let viewer = operator(&[ConsoleRole::Viewer]);
    let (mut seen, mut after) = (Vec::new(), None);
    loop {
        let page = escalation::paths(&db.store, &viewer, &PathQuery { after: after.clone(), limit: Some(1), ..Default::default() }).await.unwrap();
        assert_eq!(page.total, 3);
        seen.extend(page.items.into_iter().map(|p| (p.identity_id, p.target_id)));
        match page.next_cursor {
            Some(c) => after = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(seen.iter().collect::<std::collections::BTreeSet<_>>().len(), 3);
    // Bad filters are refused with the field they concern.
    for bad in [q(|q| q.within = Some("ci%".into())), q(|q| q.max_hops = Some(0)), q(|q| q.after = Some("nonsense".into()))] {
        let error = escalation::paths(&db.store, &viewer, &bad).await.unwrap_err();
        assert_eq!(error.code(), "NHI-VAL-001", "{bad:?}: {error}");
    }
    // The stored list is what a recompute finds, and counted like every other finding.
    assert!(findings::check(&db.store, &|_, _| {}).await.unwrap().is_empty());

    // Retiring the builder takes its paths with it.
    identities::change_status(&db.store, &admin(), &builder, "retired", "pipeline gone").await.unwrap();
    assert_eq!(listed(&db, PathQuery::default()).await, vec![manager_path]);
    assert!(findings::check(&db.store, &|_, _| {}).await.unwrap().is_empty());
}
