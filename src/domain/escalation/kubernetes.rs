//! Kubernetes edge rules, read from each grant's role rules (verbs, API groups, resources,
//! resource names) and the grant's scope: a RoleBinding's namespace (`k8s/<cluster>/<ns>`) or
//! the whole cluster (`k8s/<cluster>`, a ClusterRoleBinding).
//!
//! - Pods and workloads: `create`, `update` or `patch` on pods, deployments, replicasets,
//!   statefulsets, daemonsets, jobs, cronjobs or replicationcontrollers → every service account
//!   of the namespace (a pod names the account it runs as; a workload's template does too).
//! - `pods/exec`, `pods/attach`, `pods/ephemeralcontainers` → the namespace's service accounts
//!   (which pod runs as which account is not imported, so all of them).
//! - `get`, `list` or `watch` on secrets → the service accounts whose token secrets live there.
//!   Secrets are not imported: with resource names, the accounts whose legacy token secret
//!   (`<account>-token-…`) is named; without, every account of the namespace.
//! - `create` on `serviceaccounts/token` → the named accounts, or all of the namespace.
//! - `impersonate` on serviceaccounts → those accounts; on users or groups (cluster-wide only)
//!   → the named subjects, and full control when unnamed or naming `system:masters`.
//! - `bind` on roles or clusterroles, with `create` on the binding kind → the named privileged
//!   roles (resourceNames honoured); unnamed, full control cluster-wide, or every account of
//!   the namespace (a namespace admin runs pods as any of them).
//! - `escalate` on roles or clusterroles → full control cluster-wide, the namespace's accounts
//!   in a namespace.
//! - Cluster-wide only: admission webhook configurations, `nodes/proxy`, `approve` on
//!   certificate signers → full control.
//!
//! Wildcards (`*` verbs, groups or resources) match all of these. Deny does not exist in RBAC.

use super::EdgeRule;
use super::graph::{Builder, Held, SourceOf};
use super::matching::k8s_allows;
use crate::domain::source::{Effect, SourceKind, SourceRule};
use std::collections::HashMap;

const RBAC: &str = "rbac.authorization.k8s.io";

/// Resources whose pods run as an account their spec names, with their API groups.
const WORKLOADS: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("apps", "daemonsets"),
    ("extensions", "deployments"),
    ("extensions", "replicasets"),
    ("extensions", "daemonsets"),
    ("batch", "jobs"),
    ("batch", "cronjobs"),
];
const CHANGE: &[&str] = &["create", "update", "patch"];
const ANY: &[&str] = &["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "connect"];

/// The service accounts and other subjects of one cluster.
#[derive(Default)]
struct Cluster {
    accounts: HashMap<String, Vec<(String, usize)>>,
    users: HashMap<String, usize>,
    groups: HashMap<String, usize>,
    /// Role versions by source ref (`ClusterRole/x`, `Role/ns/x`).
    roles: HashMap<String, usize>,
}

impl Cluster {
    fn account(&self, ns: &str, name: &str) -> Option<usize> {
        self.accounts.get(ns)?.iter().find(|(n, _)| n == name).map(|(_, p)| *p)
    }

    /// Accounts named `name` in `ns`, or in any namespace when `ns` is None.
    fn accounts_named(&self, ns: Option<&str>, name: &str) -> Vec<usize> {
        match ns {
            Some(ns) => self.account(ns, name).into_iter().collect(),
            None => self.accounts.values().flatten().filter(|(n, _)| n == name).map(|(_, p)| *p).collect(),
        }
    }

    fn accounts_where(&self, ns: Option<&str>, keep: impl Fn(&str) -> bool) -> Vec<usize> {
        let all: Vec<&(String, usize)> = match ns {
            Some(ns) => self.accounts.get(ns).into_iter().flatten().collect(),
            None => self.accounts.values().flatten().collect(),
        };
        all.into_iter().filter(|(n, _)| keep(n)).map(|(_, p)| *p).collect()
    }
}

pub(super) fn edges(b: &mut Builder) {
    let (input, ledger) = (b.input, b.ledger);
    let mut clusters: HashMap<&str, Cluster> = HashMap::new();
    for (p, principal) in b.indexed() {
        let (Some(source), Some(key)) = (&principal.source, &principal.source_ref) else { continue };
        if source.kind != SourceKind::Kubernetes {
            continue;
        }
        let cluster = clusters.entry(source.id.as_str()).or_default();
        if let Some(rest) = key.strip_prefix("ServiceAccount/") {
            if let Some((ns, name)) = rest.split_once('/') {
                cluster.accounts.entry(ns.to_owned()).or_default().push((name.to_owned(), p));
            }
        } else if let Some(name) = key.strip_prefix("User/") {
            cluster.users.insert(name.to_owned(), p);
        } else if let Some(name) = key.strip_prefix("Group/") {
            cluster.groups.insert(name.to_owned(), p);
        }
    }
    for (v, version) in ledger.versions.iter().enumerate() {
        if let (Some(source), Some(key)) = (&version.source, &version.source_ref)
            && source.kind == SourceKind::Kubernetes
            && b.wants(&source.id)
        {
            clusters.entry(source.id.as_str()).or_default().roles.insert(key.clone(), v);
        }
    }
    for p in b.sources() {
        let held: Vec<(Held, &SourceOf, Option<&str>)> = b.held[p]
            .iter()
            .filter_map(|h| {
                let source = ledger.versions[h.version].source.as_ref().filter(|s| s.kind == SourceKind::Kubernetes)?;
                let scope = &input.grant(h.grant).scope;
                Some((*h, source, scope.as_str().split('/').nth(2)))
            })
            .collect();
        if held.is_empty() {
            continue;
        }
        // Which namespaces (None: cluster-wide) the identity may create bindings in.
        let binds_in = |ns: Option<&str>, cluster_wide_kind: bool| {
            held.iter().any(|(h, _, at)| {
                let covers = at.is_none() || *at == ns;
                covers
                    && ledger.versions[h.version].rules.iter().any(|r| {
                        k8s_allows(r, &["create"], RBAC, "rolebindings")
                            || (cluster_wide_kind && at.is_none() && k8s_allows(r, &["create"], RBAC, "clusterrolebindings"))
                    })
            })
        };
        for &(h, source, ns) in &held {
            let Some(cluster) = clusters.get(source.id.as_str()) else { continue };
            for rule in ledger.versions[h.version].rules.iter().filter(|r| r.effect == Effect::Allow) {
                edges_of_rule(b, p, h, source, cluster, ns, rule, &binds_in);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn edges_of_rule(
    b: &mut Builder,
    p: usize,
    h: Held,
    source: &SourceOf,
    cluster: &Cluster,
    ns: Option<&str>,
    rule: &SourceRule,
    binds_in: &dyn Fn(Option<&str>, bool) -> bool,
) {
    let from = b.identity(p);
    let names = &rule.resource_names;
    let to_accounts = |b: &mut Builder, accounts: Vec<usize>, what: EdgeRule| {
        let reason = b.reason(h, &[rule]);
        for a in accounts {
            let to = b.identity(a);
            b.edge(from, to, what, vec![reason]);
        }
    };
    let to_namespace = |b: &mut Builder, what: EdgeRule| {
        let reason = b.reason(h, &[rule]);
        let group = namespace_group(b, source, cluster, ns);
        b.edge(from, group, what, vec![reason]);
    };
    let to_control = |b: &mut Builder, what: EdgeRule| {
        let reason = b.reason(h, &[rule]);
        let control = b.control(source);
        b.edge(from, control, what, vec![reason]);
    };

    if WORKLOADS.iter().any(|(group, resource)| k8s_allows(rule, CHANGE, group, resource)) {
        to_namespace(b, EdgeRule::K8sWorkloads);
    }
    if ["pods/exec", "pods/attach", "pods/ephemeralcontainers"].iter().any(|r| k8s_allows(rule, &["create", "get", "update", "patch"], "", r)) {
        to_namespace(b, EdgeRule::K8sExec);
    }
    if k8s_allows(rule, &["get", "list", "watch"], "", "secrets") {
        if names.is_empty() {
            to_namespace(b, EdgeRule::K8sSecrets);
        } else {
            let accounts = cluster.accounts_where(ns, |account| names.iter().any(|secret| secret.starts_with(&format!("{account}-token"))));
            to_accounts(b, accounts, EdgeRule::K8sSecrets);
        }
    }
    if k8s_allows(rule, &["create"], "", "serviceaccounts/token") {
        if names.is_empty() {
            to_namespace(b, EdgeRule::K8sToken);
        } else {
            let accounts = names.iter().flat_map(|n| cluster.accounts_named(ns, n)).collect();
            to_accounts(b, accounts, EdgeRule::K8sToken);
        }
    }
    if k8s_allows(rule, &["impersonate"], "", "serviceaccounts") {
        if names.is_empty() {
            to_namespace(b, EdgeRule::K8sImpersonate);
        } else {
            let accounts = names.iter().flat_map(|n| cluster.accounts_named(ns, n)).collect();
            to_accounts(b, accounts, EdgeRule::K8sImpersonate);
        }
    }
    // Users and groups are cluster-scoped: a namespace's binding cannot grant them.
    if ns.is_none() {
        for (resource, subjects) in [("users", &cluster.users), ("groups", &cluster.groups)] {
            if !k8s_allows(rule, &["impersonate"], "", resource) {
                continue;
            }
            if names.is_empty() || (resource == "groups" && names.iter().any(|n| n == "system:masters")) {
                to_control(b, EdgeRule::K8sImpersonate);
                continue;
            }
            let mut accounts: Vec<usize> = names.iter().filter_map(|n| subjects.get(n).copied()).collect();
            if resource == "users" {
                accounts.extend(names.iter().filter_map(|n| {
                    let (ns, name) = n.strip_prefix("system:serviceaccount:")?.split_once(':')?;
                    cluster.account(ns, name)
                }));
            }
            to_accounts(b, accounts, EdgeRule::K8sImpersonate);
        }
    }
    for kind in ["clusterroles", "roles"] {
        if !k8s_allows(rule, &["bind"], RBAC, kind) || !binds_in(ns, kind == "clusterroles") {
            continue;
        }
        if names.is_empty() {
            if ns.is_none() {
                to_control(b, EdgeRule::K8sBind);
            } else {
                to_namespace(b, EdgeRule::K8sBind);
            }
            continue;
        }
        let reason = b.reason(h, &[rule]);
        for name in names {
            let key = match (kind, ns) {
                ("clusterroles", _) => format!("ClusterRole/{name}"),
                (_, Some(ns)) => format!("Role/{ns}/{name}"),
                _ => continue,
            };
            if let Some(&v) = cluster.roles.get(&key)
                && super::graph::is_target(&b.ledger.versions[v])
            {
                let role = b.role(v);
                b.edge(from, role, EdgeRule::K8sBind, vec![reason]);
            }
        }
    }
    if ["clusterroles", "roles"].iter().any(|kind| k8s_allows(rule, &["escalate"], RBAC, kind)) {
        if ns.is_none() {
            to_control(b, EdgeRule::K8sEscalate);
        } else {
            to_namespace(b, EdgeRule::K8sEscalate);
        }
    }
    if ns.is_none() {
        let webhooks =
            ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"].iter().any(|r| k8s_allows(rule, CHANGE, "admissionregistration.k8s.io", r));
        let proxy = k8s_allows(rule, ANY, "", "nodes/proxy");
        let approve = k8s_allows(rule, &["approve"], "certificates.k8s.io", "signers");
        if webhooks || proxy || approve {
            to_control(b, EdgeRule::K8sClusterControl);
        }
    }
}

/// The group of a namespace's service accounts (every namespace's when `ns` is None).
fn namespace_group(b: &mut Builder, source: &SourceOf, cluster: &Cluster, ns: Option<&str>) -> u32 {
    match ns {
        Some(ns) => {
            let members: Vec<usize> = cluster.accounts.get(ns).into_iter().flatten().map(|(_, p)| *p).collect();
            b.group(
                &format!("{}/{ns}", source.id),
                || format!("every service account of namespace {ns} in cluster {}", source.name),
                || members.into_iter().map(|p| p as u32).collect(),
            )
        }
        None => {
            let namespaces: Vec<String> = cluster.accounts.keys().cloned().collect();
            let members: Vec<u32> = namespaces.iter().map(|ns| namespace_group(b, source, cluster, Some(ns))).collect();
            b.group(&source.id, || format!("every service account of cluster {}", source.name), || members)
        }
    }
}
