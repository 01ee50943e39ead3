//! Reconciliation: what must change in the ledger so that a source's objects there match what
//! an import observed. Pure: the service reads the source's rows (`Ledger`), asks for a `Plan`,
//! and writes it in one transaction. Importing the same input twice yields an empty plan.

use super::observation::{Observation, ObservedGrant, ObservedPrincipal, ObservedRole, PrincipalKind};
use crate::domain::Timestamp;
use crate::domain::identity::IdentityKind;
use crate::domain::labels::{Labels, parse_pair};
use crate::domain::name::{IdentityName, RoleSlug};
use crate::domain::role::{RoleDefinition, Sensitivity};
use crate::domain::scope::ScopePath;
use crate::domain::source::{SourceKind, is_privileged};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// The source's live rows in the ledger, keyed by the source's own reference.
#[derive(Debug, Default)]
pub struct Ledger {
    pub identities: HashMap<String, LedgerIdentity>,
    pub roles: HashMap<String, LedgerRole>,
    pub grants: HashMap<String, LedgerGrant>,
    /// Source refs of the dangling grants still open.
    pub dangling: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct LedgerIdentity {
    pub id: String,
    pub name: String,
    pub labels: Labels,
    pub detail: BTreeMap<String, String>,
    pub last_seen_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct LedgerRole {
    pub id: String,
    pub slug: String,
    pub current_version: i64,
    pub sensitivity: Sensitivity,
    /// The highest version number the role has (new versions follow it).
    pub max_version: i64,
    pub definition: RoleDefinition,
    /// The role's versions by the source's own version id, where the source has them.
    pub source_versions: HashMap<String, i64>,
}

#[derive(Debug, Clone)]
pub struct LedgerGrant {
    pub id: String,
    pub identity_id: String,
    pub role_id: String,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub struct PlannedIdentity {
    pub source_ref: String,
    pub name: IdentityName,
    pub kind: IdentityKind,
    pub description: String,
    pub labels: Labels,
    pub detail: BTreeMap<String, String>,
    pub last_seen_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct PlannedRole {
    pub source_ref: String,
    pub slug: RoleSlug,
    pub display_name: String,
    pub sensitivity: Sensitivity,
    /// Versions the source keeps besides the current one (AWS policy versions that are not the
    /// default), oldest first: versions 1..n, before the current one.
    pub history: Vec<(String, RoleDefinition)>,
    pub definition: RoleDefinition,
    pub source_version: Option<String>,
}

/// A version to add to an existing role: a changed definition, or a version id the source
/// lists that the ledger does not have yet.
#[derive(Debug, Clone)]
pub struct PlannedVersion {
    pub role_id: String,
    pub slug: String,
    pub version: i64,
    /// The role's current version before this import.
    pub from_version: i64,
    pub definition: RoleDefinition,
    pub before: RoleDefinition,
    pub source_version: Option<String>,
    /// Whether it becomes the role's current version.
    pub current: bool,
    /// The role's sensitivity when this version becomes current and changes it.
    pub sensitivity: Option<Sensitivity>,
}

/// An existing role whose current version moves to another one it already has (the source
/// made an older policy version the default again).
#[derive(Debug, Clone)]
pub struct Repoint {
    pub role_id: String,
    pub slug: String,
    pub from_version: i64,
    pub to_version: i64,
}

/// A grant to write: its principal and role are named by source ref, and resolved to ledger
/// ids once new identities and roles have theirs.
#[derive(Debug, Clone)]
pub struct PlannedGrant {
    pub source_ref: String,
    pub principal_ref: String,
    pub role_ref: String,
    pub scope: ScopePath,
    pub condition: Option<String>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub scopes: Vec<ScopePath>,
    pub new_identities: Vec<PlannedIdentity>,
    /// (identity id, new labels, new detail).
    pub relabelled: Vec<(String, Labels, BTreeMap<String, String>)>,
    /// (identity id, last seen in the source), when later than what the ledger has.
    pub seen: Vec<(String, Timestamp)>,
    /// (identity id, name) of identities gone from the source.
    pub retired: Vec<(String, String)>,
    pub new_roles: Vec<PlannedRole>,
    pub new_versions: Vec<PlannedVersion>,
    pub repoints: Vec<Repoint>,
    /// (role id, slug) of roles gone from the source.
    pub retired_roles: Vec<(String, String)>,
    pub new_grants: Vec<PlannedGrant>,
    /// (assignment id, source ref) of grants no longer seen, or seen with another role,
    /// principal or scope.
    pub ended_grants: Vec<(String, String)>,
    pub dangling_opened: Vec<ObservedGrant>,
    pub dangling_resolved: Vec<String>,
    /// Labels the source had that nhidb's label rules refuse, left out (counted).
    pub labels_dropped: usize,
}

impl Plan {
    /// Whether applying the plan would change the ledger.
    pub fn is_empty(&self) -> bool {
        self.new_identities.is_empty()
            && self.relabelled.is_empty()
            && self.seen.is_empty()
            && self.retired.is_empty()
            && self.new_roles.is_empty()
            && self.new_versions.is_empty()
            && self.repoints.is_empty()
            && self.retired_roles.is_empty()
            && self.new_grants.is_empty()
            && self.ended_grants.is_empty()
            && self.dangling_opened.is_empty()
            && self.dangling_resolved.is_empty()
    }
}

fn short_hash(text: &str) -> String {
    hex::encode(&Sha256::digest(text.as_bytes())[..3])
}

/// Folds a source's name into nhidb's name rules: lower case, `allowed` separators, starting
/// with a letter, at most 63 characters. The source's own name stays on the row (description,
/// source ref); a name that had to be shortened, or that two objects would share, ends with a
/// hash of the source ref so it stays unique and stable across imports.
fn fold_name(raw: &str, allowed: &[char], source_ref: &str, force_hash: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars().flat_map(char::to_lowercase) {
        let c = if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || allowed.contains(&c) { c } else { '-' };
        let is_sep = |c: char| c == '-' || allowed.contains(&c);
        if is_sep(c) && out.ends_with(is_sep) {
            continue;
        }
        out.push(c);
    }
    let trimmed = out.trim_matches(|c: char| c == '-' || allowed.contains(&c));
    let mut name = if trimmed.starts_with(|c: char| c.is_ascii_lowercase()) { trimmed.to_owned() } else { format!("x-{trimmed}") };
    let name_len = name.trim_end_matches('-').len();
    if force_hash || name_len > 63 || name_len < 2 {
        let keep = name.len().min(63 - 7);
        name.truncate(keep);
        let base = name.trim_end_matches(|c: char| c == '-' || allowed.contains(&c));
        name = format!("{base}-{}", short_hash(source_ref));
    }
    name
}

fn principal_name(p: &ObservedPrincipal) -> String {
    match p.kind {
        PrincipalKind::ServiceAccount => p.source_ref.strip_prefix("ServiceAccount/").unwrap_or(&p.name).replacen('/', ".", 1),
        PrincipalKind::User => format!("user.{}", p.name),
        PrincipalKind::Group => format!("group.{}", p.name),
        PrincipalKind::Role => p.name.clone(),
    }
}

fn identity_name(p: &ObservedPrincipal, used: &mut HashSet<String>) -> IdentityName {
    let raw = principal_name(p);
    let mut name = fold_name(&raw, &['.', '_'], &p.source_ref, false);
    if used.contains(&name) {
        name = fold_name(&raw, &['.', '_'], &p.source_ref, true);
    }
    let parsed = IdentityName::parse(&name).unwrap_or_else(|_| IdentityName::parse(&format!("x-{}", short_hash(&p.source_ref))).expect("a hash name is valid"));
    used.insert(parsed.as_str().to_owned());
    parsed
}

/// The slugs an imported role may take, in order of preference: `k8s-prod-eu-payments-pod-debugger`,
/// then the same ending with a hash of the source ref (stable across imports).
pub fn slug_candidates(kind: SourceKind, source: &str, role: &ObservedRole) -> [String; 2] {
    let prefix = match kind {
        SourceKind::Kubernetes => "k8s",
        SourceKind::Aws => "aws",
        SourceKind::Gcp => "gcp",
    };
    // A namespaced Kubernetes role's ref carries its namespace: `Role/payments/pod-debugger`.
    let path = role.source_ref.split_once('/').map(|(_, rest)| rest).filter(|_| kind == SourceKind::Kubernetes).unwrap_or(&role.name);
    let raw = format!("{prefix}-{source}-{path}");
    [fold_name(&raw, &[], &role.source_ref, false), fold_name(&raw, &[], &role.source_ref, true)]
}

/// The first candidate slug that is free: not `taken` by a stored role (of any source, retired
/// or not — slugs are never reused) and not `used` earlier in this plan; a counter after the
/// hash if both are.
fn role_slug(kind: SourceKind, source: &str, role: &ObservedRole, taken: &HashSet<String>, used: &mut HashSet<String>) -> RoleSlug {
    let [plain, hashed] = slug_candidates(kind, source, role);
    let free = |s: &String, used: &HashSet<String>| !taken.contains(s) && !used.contains(s) && RoleSlug::parse(s).is_ok();
    let slug =
        [plain, hashed.clone()].into_iter().chain((2..).map(|n| format!("{}-{n}", &hashed[..hashed.len().min(58)]))).find(|s| free(s, used)).unwrap_or(hashed);
    used.insert(slug.clone());
    RoleSlug::parse(&slug).unwrap_or_else(|_| RoleSlug::parse(&format!("x-{}", short_hash(&role.source_ref))).expect("a hash slug is valid"))
}

fn identity_kind(kind: PrincipalKind) -> IdentityKind {
    match kind {
        PrincipalKind::ServiceAccount => IdentityKind::ServiceAccount,
        PrincipalKind::User | PrincipalKind::Group => IdentityKind::MachineUser,
        PrincipalKind::Role => IdentityKind::Workload,
    }
}

fn subject_word(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::ServiceAccount => "service account",
        PrincipalKind::User => "user",
        PrincipalKind::Group => "group",
        PrincipalKind::Role => "role",
    }
}

/// Labels that link a principal to an identity elsewhere (an AWS role ARN, a GCP service
/// account): their values do not fit label rules, so the identity's description names them.
const LINKS: &[(&str, &str)] = &[("aws-role-arn", "acts as AWS role"), ("gcp-service-account", "acts as GCP service account")];

fn links_of(p: &ObservedPrincipal) -> String {
    LINKS.iter().filter_map(|(key, words)| p.labels.get(*key).map(|v| format!("; {words} {v}"))).collect()
}

/// The principal's labels that fit nhidb's label rules, and how many did not.
fn labels_of(p: &ObservedPrincipal) -> (Labels, usize) {
    let mut labels = Labels::default();
    let mut dropped = 0;
    if p.kind == PrincipalKind::Group {
        labels.insert("subject-kind", "group");
    }
    for (key, value) in p.labels.iter().filter(|(k, _)| !LINKS.iter().any(|(l, _)| l == k)) {
        match parse_pair(&format!("{key}={value}")) {
            Ok((k, v)) if labels.iter().count() < crate::domain::labels::MAX_LABELS => labels.insert(&k, &v),
            _ => dropped += 1,
        }
    }
    (labels, dropped)
}

fn scope(path: &str) -> Result<ScopePath, String> {
    ScopePath::parse(path).map_err(|e| format!("Scope \"{path}\" cannot be used: {e}"))
}

/// Plans the changes that bring the source's rows in `ledger` in line with `observation`.
/// `taken_slugs` are the candidate slugs (see `slug_candidates`) that stored roles hold. The
/// observation is consumed: what the plan keeps of it is moved, not copied (a large cluster's
/// observation is hundreds of megabytes).
pub fn plan(kind: SourceKind, source: &str, observation: Observation, ledger: &Ledger, taken_slugs: &HashSet<String>) -> Result<Plan, String> {
    let mut plan = Plan { scopes: observation.scopes.iter().map(|s| scope(s)).collect::<Result<_, _>>()?, ..Plan::default() };
    let Observation { principals, roles, grants, .. } = observation;

    // What the source no longer has, found while the observation is whole.
    let observed: HashSet<&str> = principals.iter().map(|p| p.source_ref.as_str()).collect();
    let mut retired: Vec<(String, String)> =
        ledger.identities.iter().filter(|(r, _)| !observed.contains(r.as_str())).map(|(_, i)| (i.id.clone(), i.name.clone())).collect();
    retired.sort();
    plan.retired = retired;
    let observed: HashSet<&str> = roles.iter().map(|r| r.source_ref.as_str()).collect();
    let mut retired_roles: Vec<(String, String)> =
        ledger.roles.iter().filter(|(r, _)| !observed.contains(r.as_str())).map(|(_, r)| (r.id.clone(), r.slug.clone())).collect();
    retired_roles.sort();
    plan.retired_roles = retired_roles;
    let observed: HashSet<&str> = grants.iter().filter(|g| g.missing.is_none()).map(|g| g.source_ref.as_str()).collect();
    let mut ended: Vec<(String, String)> =
        ledger.grants.iter().filter(|(r, _)| !observed.contains(r.as_str())).map(|(r, g)| (g.id.clone(), r.clone())).collect();
    ended.sort();
    let dangling_now: HashSet<&str> = grants.iter().filter(|g| g.missing.is_some()).map(|g| g.source_ref.as_str()).collect();
    plan.dangling_resolved = ledger.dangling.iter().filter(|r| !dangling_now.contains(r.as_str())).cloned().collect();

    let mut used_names: HashSet<String> = ledger.identities.values().map(|i| i.name.clone()).collect();
    for p in principals {
        let (labels, dropped) = labels_of(&p);
        plan.labels_dropped += dropped;
        match ledger.identities.get(&p.source_ref) {
            Some(existing) => {
                if existing.labels != labels || existing.detail != p.detail {
                    plan.relabelled.push((existing.id.clone(), labels, p.detail));
                }
                if let Some(seen) = p.last_seen_at.filter(|s| existing.last_seen_at.is_none_or(|l| *s > l)) {
                    plan.seen.push((existing.id.clone(), seen));
                }
            }
            None => {
                let place = p.scope.split('/').skip(2).collect::<Vec<_>>().join("/");
                let described = if place.is_empty() || p.kind != PrincipalKind::ServiceAccount { p.name.clone() } else { format!("{place}/{}", p.name) };
                let name = identity_name(&p, &mut used_names);
                plan.new_identities.push(PlannedIdentity {
                    name,
                    kind: identity_kind(p.kind),
                    description: format!("{} {} {described} in {source}{}", kind.label(), subject_word(p.kind), links_of(&p)),
                    labels,
                    last_seen_at: p.last_seen_at,
                    detail: p.detail,
                    source_ref: p.source_ref,
                });
            }
        }
    }

    let mut used_slugs = HashSet::new();
    for mut role in roles {
        let role_scope = scope(&role.scope)?;
        let define = |rules: Vec<super::observation::Rule>| RoleDefinition::imported(role_scope.clone(), role.description.clone(), kind, rules);
        let definition = define(std::mem::take(&mut role.rules));
        let Some(existing) = ledger.roles.get(&role.source_ref) else {
            // (A role whose rules the export leaves out is created without any; see below.)
            let sensitivity = if is_privileged(&definition.permissions) { Sensitivity::Privileged } else { Sensitivity::Standard };
            let history = std::mem::take(&mut role.history).into_iter().map(|h| (h.source_version, define(h.rules))).collect();
            plan.new_roles.push(PlannedRole {
                slug: role_slug(kind, source, &role, taken_slugs, &mut used_slugs),
                display_name: role.source_ref.replace('/', " "),
                sensitivity,
                history,
                definition,
                source_version: role.source_version,
                source_ref: role.source_ref,
            });
            continue;
        };
        if !role.definition_known {
            continue;
        }
        let mut next = existing.max_version;
        let mut version = |definition: RoleDefinition, source_version: Option<String>, current: bool| {
            next += 1;
            let privileged = if is_privileged(&definition.permissions) { Sensitivity::Privileged } else { Sensitivity::Standard };
            PlannedVersion {
                sensitivity: (current && privileged != existing.sensitivity).then_some(privileged),
                role_id: existing.id.clone(),
                slug: existing.slug.clone(),
                version: next,
                from_version: existing.current_version,
                before: existing.definition.clone(),
                definition,
                source_version,
                current,
            }
        };
        for h in std::mem::take(&mut role.history).into_iter().filter(|h| !existing.source_versions.contains_key(&h.source_version)) {
            let planned = version(define(h.rules), Some(h.source_version), false);
            plan.new_versions.push(planned);
        }
        match role.source_version.as_ref().map(|v| (v, existing.source_versions.get(v))) {
            Some((_, Some(&known))) if known == existing.current_version => {}
            Some((_, Some(&known))) => plan.repoints.push(Repoint {
                role_id: existing.id.clone(),
                slug: existing.slug.clone(),
                from_version: existing.current_version,
                to_version: known,
            }),
            Some((id, None)) => {
                let planned = version(definition, Some(id.clone()), true);
                plan.new_versions.push(planned);
            }
            None if existing.definition == definition => {}
            None => {
                let planned = version(definition, None, true);
                plan.new_versions.push(planned);
            }
        }
    }

    for grant in grants {
        if grant.missing.is_some() {
            if !ledger.dangling.contains(&grant.source_ref) {
                plan.dangling_opened.push(grant);
            }
            continue;
        }
        let existing = ledger.grants.get(&grant.source_ref);
        let same = existing.is_some_and(|existing| {
            let identity = ledger.identities.get(&grant.principal_ref).map(|i| i.id.as_str());
            let role = ledger.roles.get(&grant.role_ref).map(|r| r.id.as_str());
            identity == Some(existing.identity_id.as_str()) && role == Some(existing.role_id.as_str()) && existing.scope == grant.scope
        });
        if same {
            continue;
        }
        if let Some(existing) = existing {
            plan.ended_grants.push((existing.id.clone(), grant.source_ref.clone()));
        }
        plan.new_grants.push(PlannedGrant {
            scope: scope(&grant.scope)?,
            source_ref: grant.source_ref,
            principal_ref: grant.principal_ref,
            role_ref: grant.role_ref,
            condition: grant.condition,
        });
    }
    plan.ended_grants.extend(ended);
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::kubernetes::{Options, parse};
    use crate::sources::observation::Input;

    fn observe(text: &str) -> Observation {
        parse(&[Input { name: "t.yaml", text }], &Options { cluster: "prod-eu", default_namespace: "default", exclude: &[] }).unwrap()
    }

    #[test]
    fn names_fold_into_nhidb_rules_and_stay_unique() {
        assert_eq!(fold_name("payments.payments-api", &['.', '_'], "r", false), "payments.payments-api");
        assert_eq!(fold_name("user.system:kube-scheduler", &['.', '_'], "r", false), "user.system-kube-scheduler");
        assert_eq!(fold_name("group.Alice@Example.com", &['.', '_'], "r", false), "group.alice-example.com");
        assert_eq!(
            fold_name("k8s-prod-eu-system:controller:attachdetach-controller", &[], "r", false),
            "k8s-prod-eu-system-controller-attachdetach-controller"
        );
        let long = "k8s-prod-eu-".to_owned() + &"very-long-name-".repeat(10);
        let folded = fold_name(&long, &[], "ClusterRole/x", false);
        assert!(folded.len() <= 63 && RoleSlug::parse(&folded).is_ok(), "{folded}");
        assert_eq!(fold_name("1password", &[], "r", false), "x-1password");
        let mut used = HashSet::new();
        let p = |r: &str, n: &str| ObservedPrincipal {
            source_ref: r.into(),
            kind: PrincipalKind::User,
            name: n.into(),
            scope: "k8s/c".into(),
            declared: false,
            labels: Default::default(),
            detail: Default::default(),
            created_at: None,
            last_seen_at: None,
            uid: None,
        };
        let a = identity_name(&p("User/Bob", "Bob"), &mut used);
        let b = identity_name(&p("User/bob", "bob"), &mut used);
        assert_eq!(a.as_str(), "user.bob");
        assert_ne!(a, b);
    }

    #[test]
    fn a_first_import_creates_everything_and_a_second_nothing() {
        let o = observe(include_str!("../../tests/fixtures/import/kubernetes/list.yaml"));
        let first = plan(SourceKind::Kubernetes, "prod-eu", o.clone(), &Ledger::default(), &HashSet::new()).unwrap();
        assert_eq!(first.new_identities.len(), 12);
        assert_eq!(first.new_roles.len(), 10);
        assert_eq!(first.dangling_opened.len(), 2);
        assert_eq!(first.new_grants.len(), o.grants.len() - 2);
        let names: Vec<&str> = first.new_identities.iter().map(|i| i.name.as_str()).collect();
        assert!(
            names.contains(&"payments.payments-api") && names.contains(&"user.system-kube-scheduler") && names.contains(&"group.system-masters"),
            "{names:?}"
        );
        let admin = first.new_roles.iter().find(|r| r.source_ref == "ClusterRole/cluster-admin").unwrap();
        assert_eq!((admin.slug.as_str(), admin.sensitivity), ("k8s-prod-eu-cluster-admin", Sensitivity::Privileged));

        let mut ledger = Ledger::default();
        for (i, p) in first.new_identities.iter().enumerate() {
            let identity =
                LedgerIdentity { id: format!("i{i}"), name: p.name.as_str().into(), labels: p.labels.clone(), detail: p.detail.clone(), last_seen_at: None };
            ledger.identities.insert(p.source_ref.clone(), identity);
        }
        for (i, r) in first.new_roles.iter().enumerate() {
            let role = LedgerRole {
                id: format!("r{i}"),
                slug: r.slug.as_str().into(),
                current_version: 1,
                sensitivity: r.sensitivity,
                max_version: 1,
                definition: r.definition.clone(),
                source_versions: HashMap::new(),
            };
            ledger.roles.insert(r.source_ref.clone(), role);
        }
        for (i, g) in first.new_grants.iter().enumerate() {
            let grant = LedgerGrant {
                id: format!("g{i}"),
                identity_id: ledger.identities[&g.principal_ref].id.clone(),
                role_id: ledger.roles[&g.role_ref].id.clone(),
                scope: g.scope.to_string(),
            };
            ledger.grants.insert(g.source_ref.clone(), grant);
        }
        ledger.dangling = first.dangling_opened.iter().map(|g| g.source_ref.clone()).collect();
        let again = plan(SourceKind::Kubernetes, "prod-eu", o.clone(), &ledger, &HashSet::new()).unwrap();
        assert!(again.is_empty(), "{again:#?}");

        let changed = observe(include_str!("../../tests/fixtures/import/kubernetes/changed.yaml"));
        let next = plan(SourceKind::Kubernetes, "prod-eu", changed, &ledger, &HashSet::new()).unwrap();
        assert_eq!(next.new_versions.len(), 1);
        assert_eq!(next.new_versions[0].slug, "k8s-prod-eu-pod-reader");
        let diff = crate::domain::role::diff(Some(&next.new_versions[0].before), &next.new_versions[0].definition);
        assert_eq!(diff.rules_added.len(), 1);
        assert_eq!(diff.rules_removed.len(), 1);
        // alice was named only by the removed binding, so she is gone from the source too.
        let mut retired: Vec<&str> = next.retired.iter().map(|(_, n)| n.as_str()).collect();
        retired.sort();
        assert_eq!(retired, ["payments.batch-runner", "user.alice-example.com"]);
        let ended: Vec<&str> = next.ended_grants.iter().map(|(_, r)| r.as_str()).collect();
        assert!(ended.contains(&"RoleBinding/payments/payments-api-debug#ServiceAccount/payments/payments-api"), "{ended:?}");
        assert!(next.new_grants.iter().any(|g| g.source_ref == "ClusterRoleBinding/frontend-secrets-admin#ServiceAccount/web/frontend"));
        assert_eq!(next.dangling_opened.len(), 1, "batch-secrets now points at a missing account");
    }

    #[test]
    fn a_slug_taken_outside_the_source_gets_a_stable_suffix() {
        let o = observe(include_str!("../../tests/fixtures/import/kubernetes/list.yaml"));
        let taken = HashSet::from(["k8s-prod-eu-cluster-admin".to_owned()]);
        let first = plan(SourceKind::Kubernetes, "prod-eu", o.clone(), &Ledger::default(), &taken).unwrap();
        let again = plan(SourceKind::Kubernetes, "prod-eu", o.clone(), &Ledger::default(), &taken).unwrap();
        let slug = |p: &Plan| p.new_roles.iter().find(|r| r.source_ref == "ClusterRole/cluster-admin").unwrap().slug.clone();
        assert!(slug(&first).as_str().starts_with("k8s-prod-eu-cluster-admin-"));
        assert_eq!(slug(&first), slug(&again));
        // Two objects that fold to one slug in the same import get different ones.
        let twins = observe(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: pod-reader, namespace: payments}\nrules: []\n---\n\
             apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: payments-pod-reader}\nrules: []\n",
        );
        let planned = plan(SourceKind::Kubernetes, "prod-eu", twins, &Ledger::default(), &HashSet::new()).unwrap();
        assert_ne!(planned.new_roles[0].slug, planned.new_roles[1].slug);
    }
}
