//! One positive fixture and one near miss per edge rule, and a multi-hop path.

use super::graph::{Grant, Graph, Ledger, Principal, SourceOf, Version};
use super::{EdgeRule, NodeKind};
use crate::domain::scope::ScopePath;
use crate::domain::source::{Effect, SourceKind, SourceRule};

fn source(kind: SourceKind) -> SourceOf {
    match kind {
        SourceKind::Kubernetes => SourceOf { id: "src-k8s".into(), kind, name: "prod".into() },
        SourceKind::Aws => SourceOf { id: "src-aws".into(), kind, name: "111111111111".into() },
        SourceKind::Gcp => SourceOf { id: "src-gcp".into(), kind, name: "acme".into() },
    }
}

fn k8s(verbs: &[&str], groups: &[&str], resources: &[&str], names: &[&str]) -> SourceRule {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    SourceRule { actions: list(verbs), api_groups: list(groups), resources: list(resources), resource_names: list(names), ..SourceRule::allow() }
}

fn aws(effect: Effect, actions: &[&str], resources: &[&str]) -> SourceRule {
    let list = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
    SourceRule { effect, actions: list(actions), resources: list(resources), ..SourceRule::allow() }
}

fn gcp(actions: &[&str]) -> SourceRule {
    SourceRule { actions: actions.iter().map(|s| s.to_string()).collect(), ..SourceRule::allow() }
}

/// A ledger under construction: identities, roles and grants by short names.
#[derive(Default)]
struct Fixture {
    ledger: Ledger,
}

impl Fixture {
    fn principal(&mut self, kind: SourceKind, id: &str, source_ref: &str, trust: Option<&str>) -> &mut Self {
        self.ledger.principals.push(Principal {
            id: id.into(),
            name: id.into(),
            source: Some(source(kind)),
            source_ref: Some(source_ref.into()),
            trust_policy: trust.map(str::to_owned),
        });
        self
    }

    fn account(&mut self, id: &str, ns: &str) -> &mut Self {
        self.principal(SourceKind::Kubernetes, id, &format!("ServiceAccount/{ns}/{id}"), None)
    }

    fn role(&mut self, kind: SourceKind, id: &str, source_ref: &str, privileged: bool, rules: Vec<SourceRule>) -> &mut Self {
        self.ledger.versions.push(Version {
            role_id: id.into(),
            slug: id.into(),
            version: 1,
            privileged,
            source: Some(source(kind)),
            source_ref: Some(source_ref.into()),
            rules,
        });
        self
    }

    fn grant(&mut self, identity: &str, role: &str, scope: &str) -> &mut Self {
        self.grant_as(identity, role, scope, None)
    }

    fn grant_as(&mut self, identity: &str, role: &str, scope: &str, source_ref: Option<&str>) -> &mut Self {
        let n = self.ledger.grants.len();
        self.ledger.grants.push(Grant {
            assignment_id: format!("as-{n}-{identity}-{role}"),
            identity_id: identity.into(),
            role_id: role.into(),
            version: 1,
            scope: ScopePath::parse(scope).unwrap(),
            source_ref: source_ref.map(str::to_owned),
        });
        self
    }

    fn graph(&self) -> Graph {
        Graph::build(&self.ledger)
    }
}

/// A Kubernetes ledger where `b` in `ns1` holds a privileged role (one that may bind roles).
fn cluster() -> Fixture {
    let mut f = Fixture::default();
    f.account("a", "ns1").account("b", "ns1").account("c", "ns2");
    f.role(SourceKind::Kubernetes, "cluster-admin", "ClusterRole/cluster-admin", true, vec![k8s(&["*"], &["*"], &["*"], &[])]);
    f.role(SourceKind::Kubernetes, "view", "ClusterRole/view", false, vec![k8s(&["get"], &[""], &["pods"], &[])]);
    f.role(SourceKind::Kubernetes, "ops", "ClusterRole/ops", true, vec![k8s(&["bind"], &["rbac.authorization.k8s.io"], &["roles"], &[])]);
    f.grant("b", "ops", "k8s/prod/ns1");
    f
}

/// The targets `identity` reaches, as (target id, hops, rules on the way).
fn reached(g: &Graph, identity: &str) -> Vec<(String, u32, Vec<EdgeRule>)> {
    g.reach(identity).into_iter().map(|p| (p.target.id, p.hops, p.steps.iter().map(|s| s.rule).collect())).collect()
}

fn reaches(g: &Graph, identity: &str, target: &str) -> Option<u32> {
    g.reach(identity).into_iter().find(|p| p.target.id == target).map(|p| p.hops)
}

#[test]
fn creating_pods_in_a_namespace_runs_as_its_service_accounts() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "deployer", "Role/ns1/deployer", false, vec![k8s(&["create"], &[""], &["pods"], &[])]);
    f.grant("a", "deployer", "k8s/prod/ns1");
    assert_eq!(reached(&f.graph(), "a"), vec![("ops".into(), 1, vec![EdgeRule::K8sWorkloads, EdgeRule::Member, EdgeRule::Holds])]);
}

#[test]
fn creating_pods_where_no_account_holds_anything_privileged_opens_no_path() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "deployer", "Role/ns2/deployer", false, vec![k8s(&["create"], &[""], &["pods"], &[])]);
    f.grant("a", "deployer", "k8s/prod/ns2");
    assert!(f.graph().reach("a").is_empty());
}

#[test]
fn patching_a_deployment_even_by_name_runs_as_the_namespace_accounts() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "patcher", "Role/ns1/patcher", false, vec![k8s(&["patch"], &["apps"], &["deployments"], &["web"])]);
    f.grant("a", "patcher", "k8s/prod/ns1");
    assert_eq!(reaches(&f.graph(), "a", "ops"), Some(1));
    // Patching a deployment in the wrong API group matches nothing.
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "patcher", "Role/ns1/patcher", false, vec![k8s(&["patch"], &[""], &["deployments"], &[])]);
    f.grant("a", "patcher", "k8s/prod/ns1");
    assert!(f.graph().reach("a").is_empty());
}

#[test]
fn exec_into_pods_reaches_the_namespace_accounts_but_reading_pods_does_not() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "debug", "Role/ns1/debug", false, vec![k8s(&["create"], &[""], &["pods/exec"], &[])]);
    f.grant("a", "debug", "k8s/prod/ns1");
    assert_eq!(reached(&f.graph(), "a")[0].2[0], EdgeRule::K8sExec);
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "debug", "Role/ns1/debug", false, vec![k8s(&["get", "list"], &[""], &["pods", "pods/log"], &[])]);
    f.grant("a", "debug", "k8s/prod/ns1");
    assert!(f.graph().reach("a").is_empty());
}

#[test]
fn reading_a_token_secret_by_name_reaches_its_account_only() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "secret", "Role/ns1/secret", false, vec![k8s(&["get"], &[""], &["secrets"], &["b-token-x7k2p"])]);
    f.grant("a", "secret", "k8s/prod/ns1");
    assert_eq!(reached(&f.graph(), "a"), vec![("ops".into(), 1, vec![EdgeRule::K8sSecrets, EdgeRule::Holds])]);
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "secret", "Role/ns1/secret", false, vec![k8s(&["get"], &[""], &["secrets"], &["tls-cert"])]);
    f.grant("a", "secret", "k8s/prod/ns1");
    assert!(f.graph().reach("a").is_empty());
}

#[test]
fn requesting_tokens_honours_resource_names() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "tok", "Role/ns1/tok", false, vec![k8s(&["create"], &[""], &["serviceaccounts/token"], &["b"])]);
    f.grant("a", "tok", "k8s/prod/ns1");
    assert_eq!(reaches(&f.graph(), "a", "ops"), Some(1));
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "tok", "Role/ns1/tok", false, vec![k8s(&["create"], &[""], &["serviceaccounts/token"], &["a"])]);
    f.grant("a", "tok", "k8s/prod/ns1");
    assert!(f.graph().reach("a").is_empty());
}

#[test]
fn impersonating_system_masters_is_full_control_but_not_from_a_namespace() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "imp", "ClusterRole/imp", false, vec![k8s(&["impersonate"], &[""], &["groups"], &["system:masters"])]);
    f.grant("a", "imp", "k8s/prod");
    assert_eq!(reached(&f.graph(), "a"), vec![("src-k8s".into(), 1, vec![EdgeRule::K8sImpersonate])]);
    // Users and groups are cluster-scoped: a RoleBinding cannot grant impersonating them.
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "imp", "ClusterRole/imp", false, vec![k8s(&["impersonate"], &[""], &["groups", "users"], &[])]);
    f.grant("a", "imp", "k8s/prod/ns2");
    assert!(f.graph().reach("a").is_empty());
}

#[test]
fn impersonating_a_named_service_account_reaches_it() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "imp", "Role/ns1/imp", false, vec![k8s(&["impersonate"], &[""], &["serviceaccounts"], &["b"])]);
    f.grant("a", "imp", "k8s/prod/ns1");
    assert_eq!(reached(&f.graph(), "a")[0].2[0], EdgeRule::K8sImpersonate);
}

#[test]
fn binding_cluster_admin_needs_its_name_and_create_on_bindings() {
    let bind = |names: &[&str], create: bool| {
        let mut f = cluster();
        let mut rules = vec![k8s(&["bind"], &["rbac.authorization.k8s.io"], &["clusterroles"], names)];
        if create {
            rules.push(k8s(&["create"], &["rbac.authorization.k8s.io"], &["rolebindings"], &[]));
        }
        f.role(SourceKind::Kubernetes, "binder", "Role/ns2/binder", false, rules);
        f.grant("c", "binder", "k8s/prod/ns2");
        f.graph().reach("c").into_iter().map(|p| p.target.id).collect::<Vec<_>>()
    };
    assert_eq!(bind(&["cluster-admin"], true), vec!["cluster-admin".to_owned()]);
    // resourceNames that exclude cluster-admin, or no right to create the binding: no path.
    assert!(bind(&["view"], true).is_empty());
    assert!(bind(&["cluster-admin"], false).is_empty());
}

#[test]
fn escalate_is_full_control_cluster_wide_and_the_namespace_accounts_in_a_namespace() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "esc", "ClusterRole/esc", false, vec![k8s(&["escalate"], &["rbac.authorization.k8s.io"], &["clusterroles"], &[])]);
    f.grant("c", "esc", "k8s/prod");
    assert_eq!(reaches(&f.graph(), "c", "src-k8s"), Some(1));
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "esc", "ClusterRole/esc", false, vec![k8s(&["escalate"], &["rbac.authorization.k8s.io"], &["roles"], &[])]);
    f.grant("c", "esc", "k8s/prod/ns2");
    assert!(f.graph().reach("c").is_empty());
}

#[test]
fn webhooks_node_proxy_and_signers_are_full_control_only_cluster_wide() {
    for rule in [
        k8s(&["create"], &["admissionregistration.k8s.io"], &["mutatingwebhookconfigurations"], &[]),
        k8s(&["get"], &[""], &["nodes/proxy"], &[]),
        k8s(&["approve"], &["certificates.k8s.io"], &["signers"], &[]),
    ] {
        let mut f = cluster();
        f.role(SourceKind::Kubernetes, "ctl", "ClusterRole/ctl", false, vec![rule.clone()]);
        f.grant("c", "ctl", "k8s/prod");
        assert_eq!(reached(&f.graph(), "c"), vec![("src-k8s".into(), 1, vec![EdgeRule::K8sClusterControl])], "{}", rule.summary());
        let mut f = cluster();
        f.role(SourceKind::Kubernetes, "ctl", "ClusterRole/ctl", false, vec![rule.clone()]);
        f.grant("c", "ctl", "k8s/prod/ns2");
        assert!(f.graph().reach("c").is_empty(), "{}", rule.summary());
    }
}

#[test]
fn wildcards_expand_to_every_rule() {
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "ns-admin", "Role/ns1/ns-admin", false, vec![k8s(&["*"], &["*"], &["*"], &[])]);
    f.grant("a", "ns-admin", "k8s/prod/ns1");
    let rules: Vec<EdgeRule> = f.graph().reach("a")[0].steps.iter().map(|s| s.rule).collect();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[2], EdgeRule::Holds);
}

#[test]
fn a_multi_hop_path_is_found_with_its_hops_and_reasons() {
    // A creates pods in ns1 → runs as B; B may bind cluster-admin in ns2 → cluster-admin.
    let mut f = Fixture::default();
    f.account("a", "ns1").account("b", "ns1").account("c", "ns2");
    f.role(SourceKind::Kubernetes, "cluster-admin", "ClusterRole/cluster-admin", false, vec![k8s(&["*"], &["*"], &["*"], &[])]);
    f.role(SourceKind::Kubernetes, "deployer", "Role/ns1/deployer", false, vec![k8s(&["create"], &[""], &["pods"], &[])]);
    f.role(
        SourceKind::Kubernetes,
        "binder",
        "Role/ns2/binder",
        false,
        vec![
            k8s(&["bind"], &["rbac.authorization.k8s.io"], &["clusterroles"], &["cluster-admin"]),
            k8s(&["create"], &["rbac.authorization.k8s.io"], &["rolebindings"], &[]),
        ],
    );
    f.grant("a", "deployer", "k8s/prod/ns1").grant("b", "binder", "k8s/prod/ns2");
    let g = f.graph();
    let paths = g.reach("a");
    assert_eq!(paths.len(), 1);
    let path = &paths[0];
    assert_eq!((path.target.kind, path.target.label.as_str(), path.hops), (NodeKind::Role, "cluster-admin", 2));
    let steps: Vec<(&str, &str, EdgeRule)> = path.steps.iter().map(|s| (s.from.label.as_str(), s.to.label.as_str(), s.rule)).collect();
    assert_eq!(
        steps,
        vec![
            ("a", "every service account of namespace ns1 in cluster prod", EdgeRule::K8sWorkloads),
            ("every service account of namespace ns1 in cluster prod", "b", EdgeRule::Member),
            ("b", "cluster-admin", EdgeRule::K8sBind),
        ]
    );
    assert_eq!(path.steps[0].reasons[0].role_slug, "deployer");
    assert_eq!(path.steps[0].reasons[0].rules, vec!["allow create on pods (groups \"\")".to_owned()]);
    assert_eq!(path.steps[2].reasons[0].role_slug, "binder");
    assert!(path.steps[2].reasons[0].rules[0].contains("named cluster-admin"));
    // Who can reach cluster-admin: b in one hop, a in two; c (in ns2, creating nothing) not.
    let reachers: Vec<(String, u32)> = g.reachers("cluster-admin").into_iter().map(|r| (r.identity.id, r.hops)).collect();
    assert_eq!(reachers, vec![("b".into(), 1), ("a".into(), 2)]);
}

// AWS

const ACCOUNT: &str = "111111111111";

fn trusts(principal: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{principal},"Action":"sts:AssumeRole"}}]}}"#)
}

/// An AWS account with an administrator role `admin` trusted by Lambda and EC2, a plain role
/// `worker` trusted by Lambda, a user `dev` and an administrator user `root-user`.
fn account() -> Fixture {
    let mut f = Fixture::default();
    let arn = |kind: &str, name: &str| format!("arn:aws:iam::{ACCOUNT}:{kind}/{name}");
    f.principal(SourceKind::Aws, "admin", &arn("role", "admin"), Some(&trusts(r#"{"Service":["lambda.amazonaws.com","ec2.amazonaws.com"]}"#)));
    f.principal(SourceKind::Aws, "worker", &arn("role", "worker"), Some(&trusts(r#"{"Service":"lambda.amazonaws.com"}"#)));
    f.principal(SourceKind::Aws, "dev", &arn("user", "dev"), None);
    f.principal(SourceKind::Aws, "root-user", &arn("user", "root-user"), None);
    f.role(SourceKind::Aws, "administrator", "arn:aws:iam::aws:policy/AdministratorAccess", true, vec![aws(Effect::Allow, &["*"], &["*"])]);
    f.grant("admin", "administrator", "aws/111111111111").grant("root-user", "administrator", "aws/111111111111");
    f
}

fn dev_may(f: &mut Fixture, rules: Vec<SourceRule>) -> Graph {
    f.role(SourceKind::Aws, "dev-policy", &format!("arn:aws:iam::{ACCOUNT}:policy/dev"), false, rules);
    f.grant("dev", "dev-policy", "aws/111111111111");
    f.graph()
}

#[test]
fn passing_an_admin_role_to_a_new_function_reaches_it() {
    let mut f = account();
    let g = dev_may(
        &mut f,
        vec![
            aws(Effect::Allow, &["iam:PassRole"], &["arn:aws:iam::111111111111:role/admin"]),
            aws(Effect::Allow, &["lambda:CreateFunction", "lambda:InvokeFunction"], &["*"]),
        ],
    );
    let paths = g.reach("dev");
    assert_eq!(paths[0].steps[0].rule, EdgeRule::AwsPassRole);
    assert_eq!(paths[0].steps[0].to.id, "admin");
    assert_eq!(paths[0].steps[0].reasons[0].rules.len(), 1);
    // AdministratorAccess attached to the role is full control of the account, which implies
    // the policy itself: only the full control is listed.
    let targets: Vec<&str> = paths.iter().map(|p| p.target.id.as_str()).collect();
    assert_eq!(targets, vec!["src-aws"]);
}

#[test]
fn pass_role_limited_to_a_plain_role_or_without_compute_opens_no_path() {
    let mut f = account();
    let g = dev_may(
        &mut f,
        vec![
            aws(Effect::Allow, &["iam:PassRole"], &["arn:aws:iam::111111111111:role/worker"]),
            aws(Effect::Allow, &["lambda:CreateFunction", "lambda:InvokeFunction"], &["*"]),
        ],
    );
    assert!(g.reach("dev").is_empty());
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:PassRole"], &["*"])]);
    assert!(g.reach("dev").is_empty());
    // Lambda cannot run as a role whose trust admits only other services.
    let mut f = account();
    f.ledger.principals[0].trust_policy = Some(trusts(r#"{"Service":"ec2.amazonaws.com"}"#));
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"], &["*"])]);
    assert!(g.reach("dev").is_empty());
}

#[test]
fn an_explicit_deny_removes_the_edge() {
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:PassRole", "ec2:RunInstances"], &["*"]), aws(Effect::Deny, &["iam:Pass*"], &["*"])]);
    assert!(g.reach("dev").is_empty());
}

#[test]
fn assuming_a_role_needs_a_trust_that_admits_the_principal() {
    let mut f = account();
    f.ledger.principals[0].trust_policy = Some(trusts(r#"{"AWS":"arn:aws:iam::111111111111:root"}"#));
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["sts:AssumeRole"], &["*"])]);
    assert_eq!(reached(&g, "dev")[0].2[0], EdgeRule::AwsAssumeRole);
    // A trust policy that names another account.
    let mut f = account();
    f.ledger.principals[0].trust_policy = Some(trusts(r#"{"AWS":"arn:aws:iam::222222222222:root"}"#));
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["sts:AssumeRole"], &["*"])]);
    assert!(g.reach("dev").is_empty());
    // A trust naming the user itself admits it without a permission of its own.
    let mut f = account();
    f.ledger.principals[0].trust_policy = Some(trusts(r#"{"AWS":["arn:aws:iam::111111111111:user/dev"]}"#));
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["s3:GetObject"], &["*"])]);
    assert_eq!(reaches(&g, "dev", "src-aws"), Some(1));
}

#[test]
fn writing_its_own_policies_is_full_control_of_the_account() {
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:CreatePolicyVersion"], &["arn:aws:iam::111111111111:policy/dev"])]);
    assert_eq!(reached(&g, "dev"), vec![("src-aws".into(), 1, vec![EdgeRule::AwsPolicyWrite])]);
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:CreatePolicyVersion"], &["arn:aws:iam::111111111111:policy/other"])]);
    assert!(g.reach("dev").is_empty());
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:AttachUserPolicy"], &["arn:aws:iam::111111111111:user/dev"])]);
    assert_eq!(reaches(&g, "dev", "src-aws"), Some(1));
}

#[test]
fn creating_access_keys_reaches_those_users() {
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:CreateAccessKey"], &["arn:aws:iam::111111111111:user/root-*"])]);
    assert_eq!(reached(&g, "dev")[0].2[0], EdgeRule::AwsUserCredentials);
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:CreateAccessKey"], &["arn:aws:iam::111111111111:user/dev"])]);
    assert!(g.reach("dev").is_empty());
}

#[test]
fn rewriting_a_trust_policy_or_function_code_reaches_the_role() {
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:UpdateAssumeRolePolicy"], &["arn:aws:iam::111111111111:role/admin"])]);
    assert_eq!(reached(&g, "dev")[0].2[0], EdgeRule::AwsTrustWrite);
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["lambda:UpdateFunctionCode"], &["*"])]);
    assert_eq!(reached(&g, "dev")[0].2[0], EdgeRule::AwsFunctionCode);
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["lambda:GetFunction"], &["*"])]);
    assert!(g.reach("dev").is_empty());
}

#[test]
fn joining_a_group_reaches_its_privileged_policies() {
    let mut f = account();
    f.role(SourceKind::Aws, "ops-policy", "arn:aws:iam::111111111111:policy/ops", true, vec![aws(Effect::Allow, &["iam:*"], &["*"])]);
    f.grant_as("root-user", "ops-policy", "aws/111111111111", Some("arn:aws:iam::111111111111:user/root-user#group/arn:aws:iam::111111111111:group/ops#x"));
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:AddUserToGroup"], &["arn:aws:iam::111111111111:group/ops"])]);
    assert_eq!(reached(&g, "dev"), vec![("ops-policy".into(), 1, vec![EdgeRule::AwsGroupJoin])]);
    let mut f = account();
    let g = dev_may(&mut f, vec![aws(Effect::Allow, &["iam:AddUserToGroup"], &["arn:aws:iam::111111111111:group/readers"])]);
    assert!(g.reach("dev").is_empty());
}

// GCP

fn project() -> Fixture {
    let mut f = Fixture::default();
    f.principal(SourceKind::Gcp, "ci", "serviceAccount:ci@acme.iam.gserviceaccount.com", None);
    f.principal(SourceKind::Gcp, "deployer", "serviceAccount:deployer@acme.iam.gserviceaccount.com", None);
    f.role(SourceKind::Gcp, "owner", "roles/owner", false, vec![gcp(&["roles/owner"])]);
    f.grant("deployer", "owner", "gcp/acme");
    f
}

#[test]
fn a_token_creator_acts_as_the_project_accounts() {
    let mut f = project();
    f.role(SourceKind::Gcp, "tc", "roles/iam.serviceAccountTokenCreator", false, vec![gcp(&["roles/iam.serviceAccountTokenCreator"])]);
    f.grant("ci", "tc", "gcp/acme");
    // The owner role is implied by full control of the project, reached as soon: not listed.
    let targets: Vec<(String, u32)> = f.graph().reach("ci").into_iter().map(|p| (p.target.id, p.hops)).collect();
    assert_eq!(targets, vec![("src-gcp".into(), 1)]);
    let mut f = project();
    f.role(SourceKind::Gcp, "viewer", "roles/viewer", false, vec![gcp(&["roles/viewer"])]);
    f.grant("ci", "viewer", "gcp/acme");
    assert!(f.graph().reach("ci").is_empty());
}

#[test]
fn a_custom_role_with_act_as_or_set_iam_policy_escalates() {
    let mut f = project();
    f.role(SourceKind::Gcp, "custom", "projects/acme/roles/custom", false, vec![gcp(&["iam.serviceAccounts.actAs", "run.services.create"])]);
    f.grant("ci", "custom", "gcp/acme");
    assert_eq!(reached(&f.graph(), "ci")[0].2[0], EdgeRule::GcpActAs);
    let mut f = project();
    f.role(SourceKind::Gcp, "custom", "projects/acme/roles/custom", false, vec![gcp(&["resourcemanager.projects.setIamPolicy"])]);
    f.grant("ci", "custom", "gcp/acme");
    assert_eq!(reached(&f.graph(), "ci"), vec![("src-gcp".into(), 1, vec![EdgeRule::GcpSetPolicy])]);
}

#[test]
fn a_grant_opens_paths_for_its_holder_and_for_whoever_can_act_as_it() {
    // c (ns2) may create pods in ns1 already: it reaches a and b there. Granting a the
    // cluster-wide binder opens a path for a (one hop) and for c (two hops, through a).
    let mut f = cluster();
    f.role(SourceKind::Kubernetes, "remote-deployer", "ClusterRole/remote-deployer", false, vec![k8s(&["create"], &["apps"], &["deployments"], &[])]);
    f.role(
        SourceKind::Kubernetes,
        "binder",
        "ClusterRole/binder",
        false,
        vec![
            k8s(&["bind"], &["rbac.authorization.k8s.io"], &["clusterroles"], &["cluster-admin"]),
            k8s(&["create"], &["rbac.authorization.k8s.io"], &["rolebindings"], &[]),
        ],
    );
    f.grant("c", "remote-deployer", "k8s/prod/ns1");
    let before = f.graph();
    let grant = Grant {
        assignment_id: "proposed".into(),
        identity_id: "a".into(),
        role_id: "binder".into(),
        version: 1,
        scope: ScopePath::parse("k8s/prod/ns1").unwrap(),
        source_ref: None,
    };
    let after = Graph::build(&f.ledger.changed(&[], vec![grant], vec![]));
    let delta = super::graph::delta(&before, &after, &["a".to_owned()]);
    let opened: Vec<(&str, &str, u32)> = delta.opened.iter().map(|p| (p.from.id.as_str(), p.target.id.as_str(), p.hops)).collect();
    // b reaches it too (a is one of ns1's accounts, and b holds a binder of roles in ns1 only
    // without create on bindings: nothing), so only a and c.
    assert_eq!(opened, vec![("a", "cluster-admin", 1), ("c", "cluster-admin", 2)]);
    assert_eq!((delta.opened_count, delta.closed_count), (2, 0));
    assert_eq!(delta.opened[0].steps[0].reasons[0].assignment_id, "proposed");
    // Revoking it closes the same paths.
    let revoked = super::graph::delta(&after, &before, &["a".to_owned()]);
    assert_eq!((revoked.opened_count, revoked.closed_count), (0, 2));
}

#[test]
fn a_grant_that_reaches_nothing_new_opens_nothing() {
    let mut f = cluster();
    f.role(
        SourceKind::Kubernetes,
        "reader",
        "ClusterRole/reader",
        false,
        vec![k8s(&["get", "list", "watch"], &["", "apps"], &["pods", "configmaps", "deployments"], &[])],
    );
    let before = f.graph();
    let grant = Grant {
        assignment_id: "proposed".into(),
        identity_id: "c".into(),
        role_id: "reader".into(),
        version: 1,
        scope: ScopePath::parse("k8s/prod").unwrap(),
        source_ref: None,
    };
    let after = Graph::build(&f.ledger.changed(&[], vec![grant], vec![]));
    assert!(super::graph::delta(&before, &after, &["c".to_owned()]).is_empty());
}

#[test]
fn the_ledger_wide_list_is_what_each_identity_reaches() {
    // The multi-hop cluster, plus one account that holds cluster-admin cluster-wide (full
    // control, which implies every role of the cluster, so cluster-admin is not listed beside it).
    let mut f = Fixture::default();
    f.account("a", "ns1").account("b", "ns1").account("c", "ns2").account("d", "ns3");
    f.role(SourceKind::Kubernetes, "cluster-admin", "ClusterRole/cluster-admin", false, vec![k8s(&["*"], &["*"], &["*"], &[])]);
    f.role(SourceKind::Kubernetes, "deployer", "Role/ns1/deployer", false, vec![k8s(&["create"], &[""], &["pods"], &[])]);
    f.role(SourceKind::Kubernetes, "ns3-deployer", "Role/ns3/deployer", false, vec![k8s(&["create"], &[""], &["pods"], &[])]);
    f.role(
        SourceKind::Kubernetes,
        "binder",
        "Role/ns2/binder",
        false,
        vec![
            k8s(&["bind"], &["rbac.authorization.k8s.io"], &["clusterroles"], &["cluster-admin"]),
            k8s(&["create"], &["rbac.authorization.k8s.io"], &["rolebindings"], &[]),
        ],
    );
    f.grant("a", "deployer", "k8s/prod/ns1").grant("b", "binder", "k8s/prod/ns2");
    f.account("admin", "ns3").grant("admin", "cluster-admin", "k8s/prod").grant("c", "ns3-deployer", "k8s/prod/ns3");
    let g = f.graph();
    let mut listed: Vec<(String, String, u32)> = g.paths().into_iter().map(|(from, to, hops)| (from.id, to.id, hops)).collect();
    listed.sort();
    let mut reached: Vec<(String, String, u32)> =
        ["a", "b", "c", "d", "admin"].iter().flat_map(|id| g.reach(id).into_iter().map(|p| (p.from.id, p.target.id, p.hops))).collect();
    reached.sort();
    assert_eq!(listed, reached);
    // c runs as admin through ns3's pods: full control, and not cluster-admin beside it.
    assert!(listed.iter().any(|(from, to, hops)| from == "c" && to != "cluster-admin" && *hops == 1), "{listed:?}");
    assert!(!listed.iter().any(|(from, to, _)| from == "c" && to == "cluster-admin"), "{listed:?}");
}

/// One ledger with every source: the cluster, the account (with a group grant) and the project.
fn every_source() -> Fixture {
    let mut f = cluster();
    f.account("d", "ns2").account("e", "ns3");
    let rbac = "rbac.authorization.k8s.io";
    f.role(SourceKind::Kubernetes, "deployer", "Role/ns1/deployer", false, vec![k8s(&["create"], &[""], &["pods"], &[])]);
    f.role(
        SourceKind::Kubernetes,
        "binder",
        "ClusterRole/binder",
        false,
        vec![k8s(&["bind"], &[rbac], &["clusterroles"], &["cluster-admin"]), k8s(&["create"], &[rbac], &["rolebindings"], &[])],
    );
    f.role(SourceKind::Kubernetes, "tokens", "ClusterRole/tokens", false, vec![k8s(&["create"], &[""], &["serviceaccounts/token"], &["b"])]);
    f.role(SourceKind::Kubernetes, "escalator", "ClusterRole/escalator", false, vec![k8s(&["escalate"], &[rbac], &["roles"], &[])]);
    f.grant("c", "deployer", "k8s/prod/ns1").grant("d", "view", "k8s/prod/ns2");
    let a = account();
    f.ledger.principals.extend(a.ledger.principals);
    f.ledger.versions.extend(a.ledger.versions);
    f.ledger.grants.extend(a.ledger.grants);
    f.role(SourceKind::Aws, "ops-policy", "arn:aws:iam::111111111111:policy/ops", true, vec![aws(Effect::Allow, &["iam:*"], &["*"])]);
    f.grant_as("root-user", "ops-policy", "aws/111111111111", Some("arn:aws:iam::111111111111:user/root-user#group/arn:aws:iam::111111111111:group/ops#x"));
    f.role(
        SourceKind::Aws,
        "passer",
        "arn:aws:iam::111111111111:policy/passer",
        false,
        vec![aws(Effect::Allow, &["iam:PassRole"], &["*"]), aws(Effect::Allow, &["lambda:CreateFunction", "lambda:InvokeFunction"], &["*"])],
    );
    f.role(SourceKind::Aws, "joiner", "arn:aws:iam::111111111111:policy/joiner", false, vec![aws(Effect::Allow, &["iam:AddUserToGroup"], &["*"])]);
    f.role(SourceKind::Aws, "keys", "arn:aws:iam::111111111111:policy/keys", false, vec![aws(Effect::Allow, &["iam:CreateAccessKey"], &["*"])]);
    f.grant("worker", "keys", "aws/111111111111");
    let p = project();
    f.ledger.principals.extend(p.ledger.principals);
    f.ledger.versions.extend(p.ledger.versions);
    f.ledger.grants.extend(p.ledger.grants);
    f.role(SourceKind::Gcp, "tc", "roles/iam.serviceAccountTokenCreator", false, vec![gcp(&["roles/iam.serviceAccountTokenCreator"])]);
    f
}

#[test]
fn a_patched_graph_answers_as_a_full_build_of_the_changed_ledger() {
    use rand::{Rng, SeedableRng, seq::SliceRandom};
    let f = every_source();
    let seed: u64 = std::env::var("NHIDB_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let newcomer = Principal { id: "native".into(), name: "native".into(), source: None, source_ref: None, trust_policy: None };
    let mut holders: Vec<String> = f.ledger.principals.iter().map(|p| p.id.clone()).collect();
    holders.push(newcomer.id.clone());
    let (mut patched, mut full) = (0, 0);
    for round in 0..400 {
        let ending = rng.gen_range(0..=2);
        let ended: Vec<String> = f.ledger.grants.choose_multiple(&mut rng, ending).map(|g| g.assignment_id.clone()).collect();
        let added: Vec<Grant> = (0..rng.gen_range(0..=2))
            .map(|i| {
                let version = f.ledger.versions.choose(&mut rng).unwrap();
                let scope = match version.source.as_ref().unwrap().kind {
                    SourceKind::Kubernetes => *["k8s/prod", "k8s/prod/ns1", "k8s/prod/ns2", "k8s/prod/ns3"].choose(&mut rng).unwrap(),
                    SourceKind::Aws => "aws/111111111111",
                    SourceKind::Gcp => "gcp/acme",
                };
                Grant {
                    assignment_id: format!("proposed-{i}"),
                    identity_id: holders.choose(&mut rng).unwrap().clone(),
                    role_id: version.role_id.clone(),
                    version: version.version,
                    scope: ScopePath::parse(scope).unwrap(),
                    source_ref: None,
                }
            })
            .collect();
        let principals = if added.iter().any(|g| g.identity_id == newcomer.id) { vec![newcomer.clone()] } else { Vec::new() };
        match super::graph::check_patch(&f.ledger, &ended, added.clone(), principals) {
            Ok(true) => patched += 1,
            Ok(false) => full += 1,
            Err(e) => panic!("seed {seed}, round {round}: ended {ended:?}, added {added:?}: {e}"),
        }
    }
    // Most changes are patched; ending the grant through an AWS group needs a full build.
    assert!(patched > 300 && full > 0, "{patched} patched, {full} full builds");
}
