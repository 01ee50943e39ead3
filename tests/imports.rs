//! Importing sources into the ledger, on both backends: the exact ledger each fixture gives,
//! idempotent re-import, reconciliation of a changed source, all-or-nothing on bad input.

mod support;

use nhidb::domain::actor::{Actor, ConsoleRole};
use nhidb::domain::source::SourceKind;
use nhidb::domain::token::TokenScope;
use nhidb::service::imports::{self, InputFile, KubernetesOptions, Target};
use support::{TestDb, admin, operator, owner};

store_tests!(
    a_kubernetes_list_gives_the_expected_ledger,
    importing_the_same_input_again_changes_nothing,
    a_changed_cluster_is_reconciled,
    bad_input_imports_nothing,
    a_plan_changes_nothing,
    helm_manifests_import,
    only_admins_and_import_tokens_may_import,
    an_aws_account_gives_the_expected_ledger,
    a_changed_aws_account_is_reconciled,
    a_gcp_project_is_imported_and_reconciled,
    pipelines_push_exports_over_the_api,
    imported_objects_are_managed_by_their_source,
    drift_is_found_and_acknowledged_through_review,
    drift_closes_when_the_source_no_longer_has_it,
    effective_access_honours_deny_and_conditions,
    an_import_reports_its_steps,
    a_large_import_settles_every_new_identity,
);

const LIST: &str = include_str!("fixtures/import/kubernetes/list.yaml");
const LIST_JSON: &str = include_str!("fixtures/import/kubernetes/list.json");
const CHANGED: &str = include_str!("fixtures/import/kubernetes/changed.yaml");

fn file(name: &str, text: &str) -> Vec<InputFile> {
    vec![InputFile { name: name.to_owned(), text: text.to_owned() }]
}

fn target(owner: Option<&str>) -> Target {
    Target { kind: SourceKind::Kubernetes, name: "prod-eu".into(), owner: owner.map(str::to_owned), plan_only: false }
}

async fn import(
    db: &TestDb,
    actor: &Actor,
    owner: Option<&str>,
    name: &str,
    text: &str,
) -> Result<nhidb::domain::source::ImportRecord, nhidb::error::AppError> {
    imports::import_kubernetes(&db.store, actor, &target(owner), &KubernetesOptions::default(), file(name, text)).await
}

async fn rows<T>(db: &TestDb, sql: &str) -> Vec<T>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut conn = db.store.read().await.unwrap();
    sqlx::query_as::<_, T>(sql).fetch_all(&mut *conn).await.unwrap()
}

async fn audit_count(db: &TestDb) -> i64 {
    let mut conn = db.store.read().await.unwrap();
    sqlx::query_scalar("select count(*) from audit_events").fetch_one(&mut *conn).await.unwrap()
}

/// Every live grant of the source as `identity -> role@version in scope`, sorted.
async fn grants(db: &TestDb) -> Vec<String> {
    let found: Vec<(String, String, i64, String)> = rows(
        db,
        "select i.name, r.slug, a.role_version, sc.path from assignments a join identities i on i.id = a.identity_id \
         join roles r on r.id = a.role_id join scopes sc on sc.id = a.scope_id where a.source_id is not null and a.revoked_at is null",
    )
    .await;
    let mut out: Vec<String> = found.into_iter().map(|(i, r, v, s)| format!("{i} -> {r}@{v} in {s}")).collect();
    out.sort();
    out
}

async fn a_kubernetes_list_gives_the_expected_ledger(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    let record = import(&db, &admin(), Some(&team), "list.yaml", LIST).await.unwrap();
    assert!(record.summary.applied);
    assert_eq!(record.summary.skipped.get("ConfigMap"), Some(&1));
    assert_eq!(record.summary.dangling, 2);

    let identities: Vec<(String, String, String, String, String)> =
        rows(&db, "select name, kind, status, source_ref, owner_id from identities where source_id is not null order by name").await;
    let names: Vec<(&str, &str, &str)> = identities.iter().map(|(n, k, _, r, _)| (n.as_str(), k.as_str(), r.as_str())).collect();
    assert_eq!(
        names,
        [
            ("group.auditors", "machine_user", "Group/auditors"),
            ("group.frontend-devs", "machine_user", "Group/frontend-devs"),
            ("group.system-masters", "machine_user", "Group/system:masters"),
            ("group.system-nodes", "machine_user", "Group/system:nodes"),
            ("kube-system.default", "service_account", "ServiceAccount/kube-system/default"),
            ("monitoring.prometheus", "service_account", "ServiceAccount/monitoring/prometheus"),
            ("payments.batch-runner", "service_account", "ServiceAccount/payments/batch-runner"),
            ("payments.default", "service_account", "ServiceAccount/payments/default"),
            ("payments.payments-api", "service_account", "ServiceAccount/payments/payments-api"),
            ("user.alice-example.com", "machine_user", "User/alice@example.com"),
            ("user.system-kube-scheduler", "machine_user", "User/system:kube-scheduler"),
            ("web.frontend", "service_account", "ServiceAccount/web/frontend"),
        ]
    );
    assert!(identities.iter().all(|(_, _, status, _, o)| status == "active" && *o == team));
    let labels: Vec<(String, String)> = rows(
        &db,
        "select l.key, l.value from identity_labels l join identities i on i.id = l.identity_id where i.name = 'payments.payments-api' order by l.key",
    )
    .await;
    // The IRSA link is not a valid label value: the description names it.
    assert!(labels.iter().all(|(k, _)| k != "aws-role-arn"), "{labels:?}");
    let description: Vec<(String,)> = rows(&db, "select description from identities where name = 'payments.payments-api'").await;
    assert_eq!(
        description[0].0,
        "Kubernetes service account payments/payments-api in prod-eu; acts as AWS role arn:aws:iam::123456789012:role/payments-api-irsa"
    );
    assert!(labels.contains(&("app.kubernetes.io/part-of".into(), "payments".into())), "{labels:?}");

    let roles: Vec<(String, String, i64, String)> =
        rows(&db, "select slug, sensitivity, current_version, source_ref from roles where source_id is not null order by slug").await;
    let slugs: Vec<&str> = roles.iter().map(|(s, ..)| s.as_str()).collect();
    assert_eq!(
        slugs,
        [
            "k8s-prod-eu-cluster-admin",
            "k8s-prod-eu-monitoring",
            "k8s-prod-eu-monitoring-endpoints",
            "k8s-prod-eu-monitoring-metrics",
            "k8s-prod-eu-payments-pod-debugger",
            "k8s-prod-eu-payments-secret-reader-named",
            "k8s-prod-eu-pod-reader",
            "k8s-prod-eu-secrets-admin",
            "k8s-prod-eu-system-kube-scheduler",
            "k8s-prod-eu-web-deployer",
        ]
    );
    assert!(roles.iter().all(|(_, _, v, _)| *v == 1));
    assert_eq!(roles.iter().find(|r| r.0 == "k8s-prod-eu-cluster-admin").unwrap().1, "privileged");
    let definition: Vec<(String,)> =
        rows(&db, "select v.definition from role_versions v join roles r on r.id = v.role_id where r.slug = 'k8s-prod-eu-payments-pod-debugger'").await;
    let definition: nhidb::domain::role::RoleDefinition = serde_json::from_str(&definition[0].0).unwrap();
    assert_eq!(definition.scope.as_str(), "k8s/prod-eu/payments");
    assert!(definition.rules.iter().any(|r| r.resources == ["pods/exec", "pods/attach"] && r.actions == ["create"]));
    assert!(definition.permissions.iter().any(|p| p.to_string() == "create on k8s:pods/exec"));

    assert_eq!(
        grants(&db).await,
        [
            "group.frontend-devs -> k8s-prod-eu-pod-reader@1 in k8s/prod-eu/web",
            "group.system-masters -> k8s-prod-eu-cluster-admin@1 in k8s/prod-eu",
            "group.system-nodes -> k8s-prod-eu-pod-reader@1 in k8s/prod-eu",
            "monitoring.prometheus -> k8s-prod-eu-monitoring@1 in k8s/prod-eu",
            "monitoring.prometheus -> k8s-prod-eu-pod-reader@1 in k8s/prod-eu/payments",
            "payments.batch-runner -> k8s-prod-eu-payments-secret-reader-named@1 in k8s/prod-eu/payments",
            "payments.payments-api -> k8s-prod-eu-payments-pod-debugger@1 in k8s/prod-eu/payments",
            "user.alice-example.com -> k8s-prod-eu-payments-pod-debugger@1 in k8s/prod-eu/payments",
            "user.system-kube-scheduler -> k8s-prod-eu-system-kube-scheduler@1 in k8s/prod-eu",
            "web.frontend -> k8s-prod-eu-pod-reader@1 in k8s/prod-eu/web",
        ]
    );
    let dangling: Vec<(String, String)> = rows(&db, "select source_ref, missing from source_dangling where resolved_at is null order by source_ref").await;
    assert_eq!(
        dangling,
        [
            ("RoleBinding/payments/legacy-auditor#Group/auditors".to_owned(), "role".to_owned()),
            ("RoleBinding/web/deployer-ci#ServiceAccount/web/ci-deployer".to_owned(), "principal".to_owned()),
        ]
    );
    let report = nhidb::service::audit::verify(&db.store, &admin()).await.unwrap();
    assert_eq!(report.broken, None);
    let imported_events: Vec<(String,)> = rows(&db, "select action from audit_events where action like '%import%'").await;
    assert_eq!(imported_events.len(), 12 + 10 + 10 + 1, "one event per identity, role and grant, and the import's own");
}

async fn importing_the_same_input_again_changes_nothing(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    import(&db, &admin(), Some(&team), "list.yaml", LIST).await.unwrap();
    let before = (audit_count(&db).await, grants(&db).await);
    let again = import(&db, &admin(), None, "list.json", LIST_JSON).await.unwrap();
    assert_eq!(again.summary.changes(), 0, "{:?}", again.summary.lines());
    assert!(!again.summary.applied);
    assert_eq!(audit_count(&db).await, before.0 + 1, "only the import's own record");
    assert_eq!(grants(&db).await, before.1);
    let imports: Vec<(String,)> = rows(&db, "select id from source_imports").await;
    assert_eq!(imports.len(), 2);
}

async fn a_changed_cluster_is_reconciled(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    // Findings are built (as after an upgrade), so the import must keep them current.
    nhidb::service::findings::rebuild(&db.store, &Default::default(), &|_, _| {}).await.unwrap();
    import(&db, &admin(), Some(&team), "list.yaml", LIST).await.unwrap();
    let changed = import(&db, &admin(), None, "changed.yaml", CHANGED).await.unwrap();
    let s = &changed.summary;
    assert_eq!((s.versions_added, s.identities_retired, s.grants_added), (1, 2, 1), "{:?}", s.lines());
    // pod-reader gained pods/log: a new version, holders moved, the diff names the rule.
    let versions: Vec<(i64, String)> = rows(
        &db,
        "select v.version, v.definition from role_versions v join roles r on r.id = v.role_id where r.slug = 'k8s-prod-eu-pod-reader' order by v.version",
    )
    .await;
    assert_eq!(versions.len(), 2);
    let before: nhidb::domain::role::RoleDefinition = serde_json::from_str(&versions[0].1).unwrap();
    let after: nhidb::domain::role::RoleDefinition = serde_json::from_str(&versions[1].1).unwrap();
    let diff = nhidb::domain::role::diff(Some(&before), &after);
    assert!(diff.rules_added.iter().any(|r| r.resources.contains(&"pods/log".to_owned())), "{diff:?}");
    assert!(diff.added.iter().any(|p| p.to_string() == "read on k8s:pods/log"));
    let current = grants(&db).await;
    assert!(current.contains(&"web.frontend -> k8s-prod-eu-pod-reader@2 in k8s/prod-eu/web".to_owned()), "{current:?}");
    assert!(current.contains(&"web.frontend -> k8s-prod-eu-secrets-admin@1 in k8s/prod-eu".to_owned()), "{current:?}");
    assert!(!current.iter().any(|g| g.starts_with("payments.payments-api -> k8s-prod-eu-payments-pod-debugger")), "the removed binding ended");
    // batch-runner is gone: retired with the reason, its grant ended, its binding now dangling.
    let retired: Vec<(String, String)> =
        rows(&db, "select name, status from identities where source_id is not null and status = 'retired' order by name").await;
    assert_eq!(retired, [("payments.batch-runner".into(), "retired".into()), ("user.alice-example.com".into(), "retired".into())]);
    let reasons: Vec<(String,)> = rows(&db, "select distinct revoke_reason from assignments where revoked_at is not null").await;
    assert_eq!(reasons, [("gone from source".to_owned(),)]);
    let dangling: Vec<(String,)> = rows(&db, "select source_ref from source_dangling where resolved_at is null order by source_ref").await;
    assert_eq!(dangling.len(), 3);
    let report = nhidb::service::audit::verify(&db.store, &admin()).await.unwrap();
    assert_eq!(report.broken, None);
    // And the stored findings match a recompute.
    let check = nhidb::service::findings::check(&db.store, &|_, _| {}).await.unwrap();
    assert!(check.is_empty(), "{check:?}");
}

async fn bad_input_imports_nothing(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    let before = audit_count(&db).await;
    for (name, text) in [
        ("bad-yaml.yaml", include_str!("fixtures/import/kubernetes/bad-yaml.yaml")),
        ("no-roleref.yaml", include_str!("fixtures/import/kubernetes/no-roleref.yaml")),
        ("wrong-kinds.yaml", include_str!("fixtures/import/kubernetes/wrong-kinds.yaml")),
        ("empty.yaml", ""),
    ] {
        let e = import(&db, &admin(), Some(&team), name, text).await.unwrap_err();
        assert_eq!(e.code(), "NHI-VAL-001", "{name}: {e}");
        assert!(e.to_string().contains(name), "{name}: {e}");
    }
    // Two files, the second bad: the first is not imported either.
    let inputs = vec![
        InputFile { name: "list.yaml".into(), text: LIST.into() },
        InputFile { name: "no-roleref.yaml".into(), text: include_str!("fixtures/import/kubernetes/no-roleref.yaml").into() },
    ];
    assert!(imports::import_kubernetes(&db.store, &admin(), &target(Some(&team)), &KubernetesOptions::default(), inputs).await.is_err());
    let e = import(&db, &admin(), None, "list.yaml", LIST).await.unwrap_err();
    assert!(e.to_string().contains("owner"), "a new source needs an owner: {e}");
    let e = imports::import_kubernetes(
        &db.store,
        &admin(),
        &Target { name: "Prod EU".into(), ..target(Some(&team)) },
        &KubernetesOptions::default(),
        file("list.yaml", LIST),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("Source name"), "{e}");
    assert_eq!(audit_count(&db).await, before);
    let sources: Vec<(String,)> = rows(&db, "select id from sources").await;
    assert!(sources.is_empty());
}

async fn a_plan_changes_nothing(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    let before = audit_count(&db).await;
    let plan = imports::import_kubernetes(
        &db.store,
        &admin(),
        &Target { plan_only: true, ..target(Some(&team)) },
        &KubernetesOptions::default(),
        file("list.yaml", LIST),
    )
    .await
    .unwrap();
    assert_eq!(plan.summary.identities_added, 12);
    assert!(!plan.summary.applied);
    assert_eq!(audit_count(&db).await, before);
    let identities: Vec<(String,)> = rows(&db, "select id from identities where source_id is not null").await;
    assert!(identities.is_empty());
}

async fn helm_manifests_import(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    let options = KubernetesOptions { default_namespace: Some("payments".into()), exclude: vec!["system:*".into()] };
    let record = imports::import_kubernetes(
        &db.store,
        &admin(),
        &target(Some(&team)),
        &options,
        file("manifests.yaml", include_str!("fixtures/import/kubernetes/manifests.yaml")),
    )
    .await
    .unwrap();
    assert!(record.summary.notes.iter().any(|n| n.contains("\"payments\"")), "{:?}", record.summary.notes);
    let names: Vec<(String,)> = rows(&db, "select name from identities where source_id is not null and kind = 'service_account' order by name").await;
    assert!(names.contains(&("payments.batch-runner".to_owned(),)), "{names:?}");
}

async fn only_admins_and_import_tokens_may_import(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    for role in [ConsoleRole::Viewer, ConsoleRole::Requester, ConsoleRole::Approver, ConsoleRole::Auditor] {
        let e = import(&db, &operator(&[role]), Some(&team), "list.yaml", LIST).await.unwrap_err();
        assert_eq!(e.code(), "NHI-AUTH-002", "{role:?}: {e}");
    }
    let e = import(&db, &Actor::token("t", "ci", vec![TokenScope::Read, TokenScope::Provision]), Some(&team), "list.yaml", LIST).await.unwrap_err();
    assert_eq!(e.code(), "NHI-AUTH-002");
    import(&db, &Actor::token("t", "nightly", vec![TokenScope::Import]), Some(&team), "list.yaml", LIST).await.unwrap();
}

fn aws_target(owner: Option<&str>) -> Target {
    Target { kind: SourceKind::Aws, name: String::new(), owner: owner.map(str::to_owned), plan_only: false }
}

const GAAD: &str = include_str!("fixtures/import/aws/gaad.json");

async fn an_aws_account_gives_the_expected_ledger(db: TestDb) {
    let team = owner(&db.store, "cloud").await;
    let record = imports::import_aws(&db.store, &admin(), &aws_target(Some(&team)), file("gaad.json", GAAD)).await.unwrap();
    assert_eq!(record.source_name, "123456789012");
    assert_eq!(record.summary.dangling, 2, "{:?}", record.summary.lines());
    let identities: Vec<(String, String, Option<String>)> =
        rows(&db, "select name, kind, last_seen_at from identities where source_id is not null order by name").await;
    let names: Vec<(&str, &str)> = identities.iter().map(|(n, k, _)| (n.as_str(), k.as_str())).collect();
    assert_eq!(
        names,
        [
            ("break-glass-admin", "workload"),
            ("ec2-app-server", "workload"),
            ("payments-api-irsa", "workload"),
            ("user.alice", "machine_user"),
            ("user.bob", "machine_user")
        ]
    );
    assert_eq!(identities[1].2.as_deref(), Some("2024-05-02T11:47:13.000000Z"));
    let detail: Vec<(Option<String>,)> = rows(&db, "select source_detail from identities where name = 'payments-api-irsa'").await;
    assert!(detail[0].0.as_deref().is_some_and(|d| d.contains("system:serviceaccount:payments:payments-api")), "the trust policy is kept: {detail:?}");
    let versions: Vec<(i64, Option<String>, i64)> = rows(
        &db,
        "select v.version, v.source_version, r.current_version from role_versions v join roles r on r.id = v.role_id \
         where r.slug = 'aws-123456789012-payments-s3-access' order by v.version",
    )
    .await;
    assert_eq!(versions, [(1, Some("v1".into()), 3), (2, Some("v3".into()), 3), (3, Some("v2".into()), 3)], "the default (v2) is current");
    let current = grants(&db).await;
    assert!(current.contains(&"user.bob -> aws-123456789012-developers-developers-ec2-describe@1 in aws/123456789012".to_owned()), "{current:?}");
    assert!(current.contains(&"user.bob -> aws-123456789012-payments-s3-access@3 in aws/123456789012".to_owned()), "{current:?}");
    assert!(current.contains(&"ec2-app-server -> aws-123456789012-payments-s3-access@3 in aws/123456789012".to_owned()), "{current:?}");
    let again =
        imports::import_aws(&db.store, &admin(), &aws_target(None), file("gaad-urlencoded.json", include_str!("fixtures/import/aws/gaad-urlencoded.json")))
            .await
            .unwrap();
    assert_eq!(again.summary.changes(), 0, "the URL-encoded form of the same account: {:?}", again.summary.lines());
}

async fn a_changed_aws_account_is_reconciled(db: TestDb) {
    let team = owner(&db.store, "cloud").await;
    nhidb::service::findings::rebuild(&db.store, &Default::default(), &|_, _| {}).await.unwrap();
    imports::import_aws(&db.store, &admin(), &aws_target(Some(&team)), file("gaad.json", GAAD)).await.unwrap();
    let changed = imports::import_aws(&db.store, &admin(), &aws_target(None), file("gaad-changed.json", include_str!("fixtures/import/aws/gaad-changed.json")))
        .await
        .unwrap();
    let s = &changed.summary;
    assert_eq!((s.versions_added, s.identities_retired, s.roles_retired), (1, 1, 1), "{:?}", s.lines());
    let current = grants(&db).await;
    assert!(current.contains(&"ec2-app-server -> aws-123456789012-payments-s3-access@4 in aws/123456789012".to_owned()), "v4 is the new default: {current:?}");
    // bob's own attachment ended; the same policy still reaches him through his group.
    let bob: Vec<(String, Option<String>)> = rows(&db, "select source_ref, revoke_reason from assignments where source_ref like 'arn:aws:iam::123456789012:user/contractors/bob#%payments-s3-access' order by source_ref").await;
    assert_eq!(
        bob,
        [
            ("arn:aws:iam::123456789012:user/contractors/bob#attached/arn:aws:iam::123456789012:policy/payments-s3-access".to_owned(), Some("gone from source".to_owned())),
            ("arn:aws:iam::123456789012:user/contractors/bob#group/arn:aws:iam::123456789012:group/developers#arn:aws:iam::123456789012:policy/payments-s3-access".to_owned(), None),
        ]
    );
    let retired: Vec<(String,)> = rows(&db, "select slug from roles where status = 'retired'").await;
    assert_eq!(retired, [("aws-123456789012-administratoraccess".to_owned(),)]);
    let check = nhidb::service::findings::check(&db.store, &|_, _| {}).await.unwrap();
    assert!(check.is_empty(), "{check:?}");
    // The account as it was: the retired policy comes back as a new role (slugs are never
    // reused), and the retired role as a new identity.
    let back = imports::import_aws(&db.store, &admin(), &aws_target(None), file("gaad.json", GAAD)).await.unwrap();
    assert_eq!((back.summary.roles_added, back.summary.identities_added), (1, 1), "{:?}", back.summary.lines());
    let admins: Vec<(String, String)> =
        rows(&db, "select slug, status from roles where source_ref = 'arn:aws:iam::aws:policy/AdministratorAccess' order by status").await;
    assert_eq!(admins.len(), 2);
    assert!(admins[0].0.starts_with("aws-123456789012-administratoraccess-") && admins[0].1 == "active", "{admins:?}");
    let report = nhidb::service::audit::verify(&db.store, &admin()).await.unwrap();
    assert_eq!(report.broken, None);
}

async fn a_gcp_project_is_imported_and_reconciled(db: TestDb) {
    let team = owner(&db.store, "cloud").await;
    nhidb::service::findings::rebuild(&db.store, &Default::default(), &|_, _| {}).await.unwrap();
    let target = |owner: Option<&str>| Target { kind: SourceKind::Gcp, name: "acme-prod".into(), owner: owner.map(str::to_owned), plan_only: false };
    let policy = |name: &str, text: &str| InputFile { name: name.into(), text: text.into() };
    let roles = || Some(policy("roles.json", include_str!("fixtures/import/gcp/roles.json")));
    let first =
        imports::import_gcp(&db.store, &admin(), &target(Some(&team)), policy("policy-v3.json", include_str!("fixtures/import/gcp/policy-v3.json")), roles())
            .await
            .unwrap();
    assert_eq!(first.summary.dangling, 1, "{:?}", first.summary.lines());
    let names: Vec<(String,)> = rows(&db, "select name from identities where source_id is not null order by name").await;
    assert!(names.contains(&("payments-api-acme-prod.iam.gserviceaccount.com".to_owned(),)), "{names:?}");
    let conditional: Vec<(String, Option<String>)> =
        rows(&db, "select r.slug, a.source_condition from assignments a join roles r on r.id = a.role_id where a.source_condition is not null order by r.slug")
            .await;
    assert!(
        conditional.iter().any(|(slug, c)| slug == "gcp-acme-prod-storage-objectviewer" && c.as_deref().is_some_and(|c| c.starts_with("exports-bucket-only"))),
        "{conditional:?}"
    );
    let deployer: Vec<(String,)> = rows(&db, "select p.action || ' on ' || p.resource from role_version_permissions p join roles r on r.id = p.role_id where r.slug = 'gcp-acme-prod-paymentsdeployer' order by 1").await;
    assert!(deployer.contains(&("grant on gcp:iam".to_owned(),)), "{deployer:?}");

    let changed = imports::import_gcp(
        &db.store,
        &admin(),
        &target(None),
        policy("policy-changed.json", include_str!("fixtures/import/gcp/policy-changed.json")),
        roles(),
    )
    .await
    .unwrap();
    let s = &changed.summary;
    assert_eq!((s.grants_added, s.roles_added, s.roles_retired, s.dangling_resolved), (1, 1, 1, 1), "{:?}", s.lines());
    let current = grants(&db).await;
    assert!(
        current.iter().any(|g| g.starts_with("frontend-acme-prod.iam.gserviceaccount.com -> gcp-acme-prod-iam-serviceaccounttokencreator@1")),
        "{current:?}"
    );
    let check = nhidb::service::findings::check(&db.store, &|_, _| {}).await.unwrap();
    assert!(check.is_empty(), "{check:?}");
    // A push without the custom roles' definitions keeps what an import with them recorded.
    let without =
        imports::import_gcp(&db.store, &admin(), &target(None), policy("policy-changed.json", include_str!("fixtures/import/gcp/policy-changed.json")), None)
            .await
            .unwrap();
    assert_eq!(without.summary.changes(), 0, "{:?}", without.summary.lines());
    let e = imports::import_gcp(&db.store, &admin(), &target(None), policy("policy-bad.json", include_str!("fixtures/import/gcp/policy-bad.json")), None)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("policy-bad.json"), "{e}");
}

async fn pipelines_push_exports_over_the_api(db: TestDb) {
    use std::io::Write;
    let team = owner(&db.store, "platform").await;
    let app = support::spawn_app(&db).await;
    let token = app.token(&["import"]).await;
    let url = |query: &str| app.url(&format!("/api/v1/sources/kubernetes/prod-eu/imports?{query}"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(LIST_JSON.as_bytes()).unwrap();
    let body = gz.finish().unwrap();
    let response =
        app.client.post(url(&format!("owner={team}&exclude=system:*"))).bearer_auth(&token).header("content-encoding", "gzip").body(body).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let record: serde_json::Value = response.json().await.unwrap();
    assert_eq!(record["summary"]["excluded"], 3);
    assert_eq!(record["source_name"], "prod-eu");
    let again = app.client.post(url("plan=true")).bearer_auth(&token).body(LIST).send().await.unwrap();
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["summary"]["identities_added"], 3, "without the exclusion the system users and groups would be added: {again}");
    let bad = app.client.post(url("")).bearer_auth(&token).body("kind: List\nitems: [").send().await.unwrap();
    assert_eq!(bad.status(), 422);
    let text = bad.text().await.unwrap();
    assert!(text.contains("request body"), "{text}");
    let not_gzip = app.client.post(url("")).bearer_auth(&token).header("content-encoding", "gzip").body("plain").send().await.unwrap();
    assert_eq!(not_gzip.status(), 422);
    let reader = app.token(&["read"]).await;
    let refused = app.client.post(url("")).bearer_auth(&reader).body(LIST).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let list = app.client.get(app.url("/api/v1/sources")).bearer_auth(&reader).send().await.unwrap();
    let list: serde_json::Value = list.json().await.unwrap();
    assert_eq!(list[0]["name"], "prod-eu");
    assert_eq!(list[0]["open_dangling"], 2);
    assert_eq!(list[0]["drift"]["dangling_binding"], 2, "each dangling binding is a drift finding too");
    let drift = app.client.get(app.url(&format!("/api/v1/drift?kind=dangling_binding&source={}", list[0]["id"].as_str().unwrap()))).bearer_auth(&reader);
    let drift: serde_json::Value = drift.send().await.unwrap().json().await.unwrap();
    assert_eq!((drift["total"].as_i64(), drift["items"].as_array().map(Vec::len)), (Some(2), Some(2)), "{drift}");
    let unknown = app.client.get(app.url("/api/v1/drift?state=closed")).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(unknown.status(), 422);

    // A GCP policy with its custom roles in one body: the custom role's permissions arrive.
    let gcp = |query: &str| app.url(&format!("/api/v1/sources/gcp/acme-prod/imports?{query}"));
    let roles: serde_json::Value = serde_json::from_str(include_str!("fixtures/import/gcp/roles.json")).unwrap();
    let policy: serde_json::Value = serde_json::from_str(include_str!("fixtures/import/gcp/policy-v3.json")).unwrap();
    let envelope = serde_json::json!({ "policy": policy, "roles": roles }).to_string();
    let pushed = app.client.post(gcp(&format!("owner={team}"))).bearer_auth(&token).body(envelope).send().await.unwrap();
    assert_eq!(pushed.status(), 200);
    let deployer: Vec<(String,)> = rows(
        &db,
        "select p.action || ' on ' || p.resource from role_version_permissions p join roles r on r.id = p.role_id \
         where r.source_ref = 'projects/acme-prod/roles/paymentsDeployer' order by 1",
    )
    .await;
    assert!(!deployer.is_empty(), "without its definition a custom role has no permissions: {deployer:?}");
    let bad_roles = serde_json::json!({ "policy": policy, "roles": "paymentsDeployer" }).to_string();
    let refused = app.client.post(gcp("")).bearer_auth(&token).body(bad_roles).send().await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("list of role definitions"));
}

async fn imported_objects_are_managed_by_their_source(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    import(&db, &admin(), Some(&team), "list.yaml", LIST).await.unwrap();
    let ids: Vec<(String,)> = rows(&db, "select id from identities where name = 'payments.payments-api'").await;
    let identity = nhidb::service::identities::get(&db.store, &admin(), &ids[0].0).await.unwrap();
    let managed = identity.managed_by.clone().expect("managed by its source");
    assert_eq!((managed.describe().as_str(), managed.source_ref.as_str()), ("Kubernetes prod-eu", "ServiceAccount/payments/payments-api"));
    let input = support::identity_input("payments.renamed", "service_account", &team, None);
    let e = nhidb::service::identities::update(&db.store, &admin(), &identity.id, &input).await.unwrap_err();
    assert_eq!(e.code(), "NHI-STATE-001");
    assert!(e.to_string().contains("managed by its source (Kubernetes prod-eu"), "{e}");
    let role = nhidb::service::roles::detail(&db.store, &admin(), "k8s-prod-eu-pod-reader").await.unwrap();
    assert!(role.role.managed_by.is_some());
    let version = nhidb::domain::role::RoleVersionInput {
        definition: nhidb::domain::role::DefinitionInput {
            scope: "k8s/prod-eu".into(),
            description: String::new(),
            permissions: "read on k8s:pods".into(),
            justification: String::new(),
        },
        move_holders: false,
        reason: "widen it here".into(),
    };
    let e = nhidb::service::changes::propose_version(&db.store, &operator(&[ConsoleRole::Requester]), &role.role.id, &version).await.unwrap_err();
    assert!(e.to_string().contains("managed by its source"), "{e}");
    let e =
        nhidb::service::changes::propose_retirement(&db.store, &operator(&[ConsoleRole::Requester]), &role.role.id, "not needed any more").await.unwrap_err();
    assert!(e.to_string().contains("managed by its source"), "{e}");
    // Roles as code leave imported roles out: a file cannot propose what the source would undo.
    let exported = nhidb::service::roles_code::export(&db.store, &admin()).await.unwrap();
    assert!(exported.roles.iter().all(|r| !r.slug.starts_with("k8s-")), "{:?}", exported.roles.iter().map(|r| &r.slug).collect::<Vec<_>>());
}

async fn open_drift(db: &TestDb, kind: &str) -> Vec<(String, String)> {
    rows(db, &format!("select id, subject from source_drift where closed_at is null and kind = '{kind}' order by subject")).await
}

async fn drift_is_found_and_acknowledged_through_review(db: TestDb) {
    use nhidb::domain::change::ChangeState;
    use nhidb::domain::drift::{AcknowledgeInput, DriftState};
    use nhidb::service::{changes, drift};
    let team = owner(&db.store, "platform").await;
    let first = import(&db, &admin(), Some(&team), "list.yaml", LIST).await.unwrap();
    // The first import is the baseline: no role changed outside review yet, but every
    // privileged grant and every dangling binding is a finding.
    assert!(open_drift(&db, "changed_outside_review").await.is_empty());
    let privileged: Vec<(i64,)> = rows(
        &db,
        "select count(*) from assignments a join roles r on r.id = a.role_id where a.source_id is not null and a.revoked_at is null and r.sensitivity = 'privileged'",
    )
    .await;
    let access = open_drift(&db, "unreviewed_access").await;
    assert!(privileged[0].0 > 0, "the fixture binds privileged roles");
    assert_eq!(access.len() as i64, privileged[0].0, "{access:?}");
    let dangling: Vec<(String,)> = rows(&db, "select source_ref from source_dangling where resolved_at is null").await;
    assert_eq!(open_drift(&db, "dangling_binding").await.len(), dangling.len());
    assert_eq!(first.summary.drift_opened, access.len() + dangling.len());

    // The same input again opens nothing.
    let again = import(&db, &admin(), None, "list.json", LIST_JSON).await.unwrap();
    assert_eq!(again.summary.drift_opened, 0);
    assert_eq!(open_drift(&db, "unreviewed_access").await, access);

    // pod-reader gained pods/log in the cluster: changed outside review, with its diff.
    import(&db, &admin(), None, "changed.yaml", CHANGED).await.unwrap();
    let changed = open_drift(&db, "changed_outside_review").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0].1, "k8s-prod-eu-pod-reader v2");
    let id = changed[0].0.clone();
    let detail = drift::detail(&db.store, &admin(), &id).await.unwrap();
    assert_eq!((detail.drift.base_version, detail.drift.role_version), (Some(1), Some(2)));
    let diff = detail.diff.expect("a changed role has a diff");
    assert!(diff.rules_added.iter().any(|r| r.resources.contains(&"pods/log".to_owned())), "{diff:?}");
    assert!(detail.can_acknowledge);
    assert!(!drift::detail(&db.store, &operator(&[ConsoleRole::Viewer]), &id).await.unwrap().can_acknowledge, "viewers cannot file requests");

    // Acknowledged through a change request: the requester may not approve it, an approver does.
    let requester = Actor::operator("op-rui", "Rui Requester", vec![ConsoleRole::Requester, ConsoleRole::Approver]);
    let approver = Actor::operator("op-ana", "Ana Approver", vec![ConsoleRole::Approver]);
    let short = drift::acknowledge(&db.store, &requester, &id, &AcknowledgeInput { reason: "ok".into() }).await.unwrap_err();
    assert!(short.to_string().contains("few words"), "{short}");
    let reason = AcknowledgeInput { reason: "Log access is needed by the on-call runbook.".into() };
    // Two filings at the same moment: one request, one refusal.
    let (a, b) = tokio::join!(drift::acknowledge(&db.store, &requester, &id, &reason), drift::acknowledge(&db.store, &requester, &id, &reason));
    let (request, twice) = match (a, b) {
        (Ok(request), Err(e)) | (Err(e), Ok(request)) => (request, e),
        other => panic!("exactly one filing must succeed: {other:?}"),
    };
    assert!(twice.to_string().contains("already requested"), "{twice}");
    let review = changes::review(&db.store, &approver, &request.id).await.unwrap();
    assert!(review.diff.as_ref().is_some_and(|d| d.rules_added.iter().any(|r| r.resources.contains(&"pods/log".to_owned()))));
    assert!(review.blast.is_some_and(|b| b.gaining_count > 0), "the holders who gained the rule are its blast radius");
    assert!(changes::decide(&db.store, &requester, &request.id, "approve", "").await.is_err(), "never one's own request");
    assert_eq!(drift::detail(&db.store, &admin(), &id).await.unwrap().drift.state, DriftState::Open, "open until approved");
    let applied = changes::decide(&db.store, &approver, &request.id, "approve", "agreed").await.unwrap();
    assert_eq!(applied.state, ChangeState::Applied);
    let done = drift::detail(&db.store, &admin(), &id).await.unwrap();
    assert_eq!(done.drift.state, DriftState::Acknowledged);
    assert_eq!((done.drift.acknowledged_by.as_deref(), done.drift.change_id.as_deref()), (Some("Ana Approver"), Some(request.id.as_str())));
    assert!(!done.can_acknowledge);
    let closed = drift::acknowledge(&db.store, &requester, &id, &reason).await.unwrap_err();
    assert!(closed.to_string().contains("acknowledged already"), "{closed}");
    let events: Vec<(String,)> = rows(&db, "select action from audit_events where action = 'drift.acknowledge'").await;
    assert_eq!(events.len(), 1);

    // Importing the same cluster again opens nothing anew, and keeps the acknowledgement.
    let unchanged = import(&db, &admin(), None, "changed.yaml", CHANGED).await.unwrap();
    assert_eq!(unchanged.summary.drift_opened, 0);
    assert!(open_drift(&db, "changed_outside_review").await.is_empty());
    let listed =
        drift::list(&db.store, &admin(), &nhidb::domain::drift::DriftQuery { state: Some("acknowledged".into()), ..Default::default() }).await.unwrap();
    assert_eq!((listed.total, listed.items[0].id.as_str()), (1, id.as_str()));
    let summary = nhidb::service::hygiene::summary(&db.store, &admin(), &Default::default()).await.unwrap();
    assert_eq!(summary.drift.changed_outside_review, 0);
    assert_eq!(summary.drift.unreviewed_access, open_drift(&db, "unreviewed_access").await.len() as i64);
    let report = nhidb::service::audit::verify(&db.store, &admin()).await.unwrap();
    assert_eq!(report.broken, None);
}

async fn drift_closes_when_the_source_no_longer_has_it(db: TestDb) {
    use nhidb::domain::drift::AcknowledgeInput;
    let team = owner(&db.store, "platform").await;
    // The changed cluster first, then the original with cluster-admin bound to another group:
    // the masters' privileged grant ends, a dangling binding resolves (batch-runner is back),
    // and the new group's grant is a new finding.
    import(&db, &admin(), Some(&team), "changed.yaml", CHANGED).await.unwrap();
    let masters = open_drift(&db, "unreviewed_access").await;
    assert!(masters.iter().any(|(_, s)| s.contains("system-masters") && s.contains("cluster-admin")), "{masters:?}");
    let rebound = LIST.replace("    name: system:masters", "    name: platform-oncall");
    import(&db, &admin(), None, "list.yaml", &rebound).await.unwrap();
    let gone: Vec<(String, String)> = rows(&db, "select kind, subject from source_drift where close_reason = 'gone' order by kind, subject").await;
    assert!(gone.iter().any(|(k, s)| k == "unreviewed_access" && s.contains("system-masters")), "{gone:?}");
    assert!(gone.iter().any(|(k, s)| k == "dangling_binding" && s.contains("batch-runner")), "{gone:?}");
    assert!(open_drift(&db, "unreviewed_access").await.iter().any(|(_, s)| s.contains("platform-oncall")));
    // No open finding is about a grant that ended, or a binding the source resolved.
    let stale: Vec<(String,)> =
        rows(&db, "select d.subject from source_drift d join assignments a on a.id = d.subject_id where d.closed_at is null and a.revoked_at is not null")
            .await;
    assert!(stale.is_empty(), "{stale:?}");
    let open_dangling: Vec<(String,)> = rows(&db, "select source_ref from source_dangling where resolved_at is null order by source_ref").await;
    let drift_dangling: Vec<(String,)> =
        rows(&db, "select subject_id from source_drift where kind = 'dangling_binding' and closed_at is null order by subject_id").await;
    assert_eq!(drift_dangling, open_dangling);
    // Each closing is audited.
    let closings: Vec<(String,)> = rows(&db, "select action from audit_events where action = 'drift.close'").await;
    assert_eq!(closings.len(), gone.len());
    // A finding closed as gone cannot be acknowledged.
    let closed: Vec<(String,)> = rows(&db, "select id from source_drift where close_reason = 'gone'").await;
    let e =
        nhidb::service::drift::acknowledge(&db.store, &admin(), &closed[0].0, &AcknowledgeInput { reason: "too late to accept it".into() }).await.unwrap_err();
    assert!(e.to_string().contains("gone from source already"), "{e}");

    // A source imported before drift was kept gets its findings at its next import, even an
    // unchanged one, once.
    support::sql(&db, "delete from source_drift").await;
    let backfill = import(&db, &admin(), None, "list.yaml", &rebound).await.unwrap();
    let privileged = support::count(
        &db,
        "select count(*) from assignments a join roles r on r.id = a.role_id where a.source_id is not null and a.revoked_at is null and r.sensitivity = 'privileged'",
    )
    .await;
    let dangling = support::count(&db, "select count(*) from source_dangling where resolved_at is null").await;
    assert_eq!(backfill.summary.drift_opened as i64, privileged + dangling, "{:?}", backfill.summary.lines());
    assert_eq!(import(&db, &admin(), None, "list.yaml", &rebound).await.unwrap().summary.drift_opened, 0);
}

async fn effective_access_honours_deny_and_conditions(db: TestDb) {
    let team = owner(&db.store, "cloud").await;
    imports::import_aws(&db.store, &admin(), &aws_target(Some(&team)), file("gaad.json", GAAD)).await.unwrap();
    // bob's inline policy denies everything but IAM outside the EU (NotAction, with a
    // condition): every AWS permission he holds is narrowed by it, none taken away.
    let bob: Vec<(String,)> = rows(&db, "select id from identities where name = 'user.bob'").await;
    let access = nhidb::service::access::effective(&db.store, &admin(), &bob[0].0).await.unwrap();
    assert!(!access.qualified.is_empty(), "{access:?}");
    let s3 = access.holdings.iter().find(|h| h.role_slug.ends_with("payments-s3-access")).expect("bob holds payments-s3-access");
    let q = access.qualified.iter().find(|q| Some(&q.assignment_id) == s3.assignment_id.as_ref()).expect("his s3 grant is qualified");
    assert!(q.denied.is_empty(), "a conditional Deny takes nothing away: {q:?}");
    assert_eq!(q.limited.len(), s3.permissions.len(), "{q:?}");
    assert!(q.denials.iter().any(|d| d.starts_with("deny")), "{q:?}");

    // A GCP binding with a condition: everything it allows is conditional, the condition shown.
    let gcp = Target { kind: SourceKind::Gcp, name: "acme-prod".into(), owner: Some(team.clone()), plan_only: false };
    let policy = InputFile { name: "policy-changed.json".into(), text: include_str!("fixtures/import/gcp/policy-changed.json").into() };
    imports::import_gcp(&db.store, &admin(), &gcp, policy, None).await.unwrap();
    let conditional: Vec<(String, String)> =
        rows(&db, "select identity_id, id from assignments where source_condition like '%acme-payments-exports%' and revoked_at is null").await;
    assert!(!conditional.is_empty());
    let access = nhidb::service::access::effective(&db.store, &admin(), &conditional[0].0).await.unwrap();
    let q = access.qualified.iter().find(|q| q.assignment_id == conditional[0].1).expect("the conditional grant is qualified");
    let held = access.holdings.iter().find(|h| h.assignment_id.as_deref() == Some(conditional[0].1.as_str())).unwrap();
    assert_eq!(q.conditional, held.permissions);
    assert!(q.conditions[0].contains("acme-payments-exports"), "{q:?}");
}

async fn an_import_reports_its_steps(db: TestDb) {
    let team = owner(&db.store, "platform").await;
    let steps = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = steps.clone();
    let report = std::sync::Arc::new(move |step: &str| seen.lock().unwrap().push(step.to_owned()));
    imports::with_progress(report, import(&db, &admin(), Some(&team), "list.yaml", LIST)).await.unwrap();
    let steps = steps.lock().unwrap().clone();
    let first = |prefix: &str| steps.iter().position(|s| s.starts_with(prefix)).unwrap_or_else(|| panic!("no step {prefix}: {steps:?}"));
    assert!(
        first("parsing 1 file(s)") < first("reconciling") && first("reconciling") < first("writing") && first("writing") < first("committing"),
        "{steps:?}"
    );
}

/// More new identities than one settling batch holds are settled as id ranges (`Identities::
/// Between`): each of them gets its findings, and only its own.
async fn a_large_import_settles_every_new_identity(db: TestDb) {
    use serde_json::json;
    let team = owner(&db.store, "platform").await;
    nhidb::service::findings::rebuild(&db.store, &Default::default(), &|_, _| {}).await.unwrap();
    let rule = |verbs: &[&str]| json!([{ "apiGroups": [""], "resources": ["pods"], "verbs": verbs }]);
    let mut items = vec![
        json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": { "name": "cluster-admin", "uid": "r-admin" },
                "rules": [{ "apiGroups": ["*"], "resources": ["*"], "verbs": ["*"] }] }),
        json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": { "name": "pod-reader", "namespace": "apps", "uid": "r-read" },
                "rules": rule(&["get", "list"]) }),
        json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": { "name": "pod-writer", "namespace": "apps", "uid": "r-write" },
                "rules": rule(&["create", "delete"]) }),
    ];
    let subject = |n: usize| json!([{ "kind": "ServiceAccount", "name": format!("sa-{n:04}"), "namespace": "apps" }]);
    let binding = |kind: &str, name: String, role_kind: &str, role: &str, n: usize| {
        let mut metadata = json!({ "name": name, "uid": format!("b-{name}") });
        if kind == "RoleBinding" {
            metadata["namespace"] = json!("apps");
        }
        json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
                "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role }, "subjects": subject(n) })
    };
    // Of 1,300 accounts: every third holds nothing; of the others, every fifth is a cluster
    // admin and every seventh both reads and writes pods through two roles (`admin on k8s:*/*`
    // is neither a read nor the same resource: no conflict).
    let (mut unassigned, mut privileged, mut conflicted) = (0, 0, 0);
    for n in 0..1300 {
        items.push(json!({ "apiVersion": "v1", "kind": "ServiceAccount", "metadata": { "name": format!("sa-{n:04}"), "namespace": "apps", "uid": format!("sa-{n}") } }));
        if n % 3 == 0 {
            unassigned += 1;
            continue;
        }
        items.push(binding("RoleBinding", format!("read-{n}"), "Role", "pod-reader", n));
        if n % 5 == 0 {
            privileged += 1;
            items.push(binding("ClusterRoleBinding", format!("admin-{n}"), "ClusterRole", "cluster-admin", n));
        }
        if n % 7 == 0 {
            conflicted += 1;
            items.push(binding("RoleBinding", format!("write-{n}"), "Role", "pod-writer", n));
        }
    }
    let list = json!({ "apiVersion": "v1", "kind": "List", "items": items }).to_string();
    let imported = import(&db, &admin(), Some(&team), "large.json", &list).await.unwrap();
    assert_eq!(imported.summary.identities_added, 1300);
    let open: Vec<(String, i64)> =
        rows(&db, "select kind, count(distinct identity_id) from findings where closed_at is null group by kind order by kind").await;
    let count = |kind: &str| open.iter().find(|(k, _)| k == kind).map(|(_, n)| *n).unwrap_or(0);
    assert_eq!(count("unassigned"), unassigned, "{open:?}");
    assert_eq!(count("privileged_holder"), privileged, "{open:?}");
    assert_eq!(count("sod_violation"), conflicted, "{open:?}");
    let check = nhidb::service::findings::check(&db.store, &|_, _| {}).await.unwrap();
    assert!(check.is_empty(), "{check:?}");

    // An identity whose id falls among theirs, written behind settling's back (it holds
    // nothing, yet no finding says so): settling the imported identities again, by range, leaves
    // it alone — only a recompute finds it.
    let ids: Vec<String> =
        rows::<(String,)>(&db, "select id from identities where source_id is not null order by id").await.into_iter().map(|(id,)| id).collect();
    let between = format!("{}0", ids[600]);
    assert!(ids[600] < between && between < ids[601]);
    let mut tx = db.store.begin().await.unwrap();
    sqlx::query(
        "insert into identities (id, name, kind, owner_id, status, created_at, updated_at) \
         select $1, 'behind-the-back', kind, owner_id, status, created_at, updated_at from identities where id = $2",
    )
    .bind(&between)
    .bind(&ids[0])
    .execute(tx.conn())
    .await
    .unwrap();
    nhidb::service::findings::settle(tx.conn(), &ids, nhidb::service::findings::Touches::Everything, nhidb::domain::Timestamp::now()).await.unwrap();
    tx.commit().await.unwrap();
    let check = nhidb::service::findings::check(&db.store, &|_, _| {}).await.unwrap();
    let missing_for_it =
        |d: &nhidb::service::findings::Difference| matches!(d, nhidb::service::findings::Difference::Missing(row) if row.identity_id == between);
    assert!(!check.is_empty() && check.iter().all(missing_for_it), "{check:?}");
}
