//! Kubernetes RBAC as `kubectl get serviceaccounts,roles,rolebindings,clusterroles,
//! clusterrolebindings -A -o yaml|json` prints it (a `v1` `List`), as typed lists from the API,
//! and as plain manifests (multi-document YAML from Helm or kustomize).
//!
//! Reference: the RBAC API types (k8s.io/api `rbac/v1/types.go`) and the RBAC concepts page;
//! `tests/fixtures/import/FORMATS.md` lists the pitfalls this follows. Objects are keyed by kind,
//! namespace and name: `uid` changes when an object is recreated and `resourceVersion` on every
//! write, so neither is reconciled on.

use super::observation::{Input, Missing, Observation, ObservedGrant, ObservedPrincipal, ObservedRole, PrincipalKind, Rule, glob_match};
use crate::domain::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub struct Options<'a> {
    /// The cluster's name in nhidb: scopes are `k8s/CLUSTER` and `k8s/CLUSTER/NAMESPACE`.
    pub cluster: &'a str,
    /// The namespace of namespaced objects whose manifest has none (what `kubectl apply -n`
    /// or `helm install -n` would supply).
    pub default_namespace: &'a str,
    /// User and Group subjects whose name matches one of these (`*` as wildcard) are left out.
    pub exclude: &'a [String],
}

/// Only the fields nhidb reads; everything else in an object is skipped while parsing, so a
/// large List is never held as a generic tree.
#[derive(Deserialize)]
struct RawObject {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    items: Option<Vec<RawObject>>,
    #[serde(default)]
    rules: Option<Value>,
    #[serde(default, rename = "aggregationRule")]
    aggregation_rule: Option<Value>,
    #[serde(default, rename = "roleRef")]
    role_ref: Option<Value>,
    #[serde(default)]
    subjects: Option<Value>,
}

#[derive(Deserialize, Default)]
struct Metadata {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    uid: Option<String>,
    #[serde(default, rename = "creationTimestamp")]
    creation_timestamp: Option<Value>,
    /// Values are read as text whatever YAML made of them (`true`, `yes`, `1`).
    #[serde(default)]
    labels: Option<BTreeMap<String, Value>>,
    #[serde(default)]
    annotations: Option<BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
struct PolicyRule {
    #[serde(default)]
    verbs: Option<Vec<String>>,
    #[serde(default, rename = "apiGroups")]
    api_groups: Option<Vec<String>>,
    #[serde(default)]
    resources: Option<Vec<String>>,
    #[serde(default, rename = "resourceNames")]
    resource_names: Option<Vec<String>>,
    #[serde(default, rename = "nonResourceURLs")]
    non_resource_urls: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct RoleRef {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct Subject {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
struct AggregationRule {
    #[serde(default, rename = "clusterRoleSelectors")]
    cluster_role_selectors: Option<Vec<LabelSelector>>,
}

#[derive(Deserialize)]
struct LabelSelector {
    #[serde(default, rename = "matchLabels")]
    match_labels: Option<BTreeMap<String, Value>>,
    #[serde(default, rename = "matchExpressions")]
    match_expressions: Option<Vec<SelectorRequirement>>,
}

#[derive(Deserialize)]
struct SelectorRequirement {
    key: String,
    operator: String,
    #[serde(default)]
    values: Option<Vec<Value>>,
}

/// The annotations that link a ServiceAccount to a cloud identity (EKS IRSA, GKE Workload
/// Identity); kept as labels so the link is visible and searchable.
const LINK_ANNOTATIONS: &[(&str, &str)] = &[("eks.amazonaws.com/role-arn", "aws-role-arn"), ("iam.gke.io/gcp-service-account", "gcp-service-account")];

/// Where an object came from, for error messages: file, document and item.
#[derive(Clone)]
struct Place {
    file: String,
    document: usize,
    item: Option<usize>,
}

impl Place {
    fn describe(&self, what: &str) -> String {
        match self.item {
            Some(item) => format!("{}, document {}, item {} ({what})", self.file, self.document, item + 1),
            None => format!("{}, document {} ({what})", self.file, self.document),
        }
    }
}

struct Object {
    kind: String,
    metadata: Metadata,
    raw: RawObject,
    place: Place,
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn labels_of(map: &Option<BTreeMap<String, Value>>) -> BTreeMap<String, String> {
    map.iter().flatten().map(|(k, v)| (k.clone(), text_of(v))).collect()
}

/// Reads every document of every input; a failure names the file and the document.
fn read_objects(inputs: &[Input]) -> Result<Vec<Object>, String> {
    let mut objects = Vec::new();
    for input in inputs {
        let trimmed = input.text.trim_start_matches('\u{feff}').trim_start();
        let yaml = || -> Result<Vec<Option<RawObject>>, String> {
            let mut documents = Vec::new();
            for (index, document) in serde_yaml::Deserializer::from_str(input.text).enumerate() {
                let parsed = Option::<RawObject>::deserialize(document)
                    .map_err(|e| format!("{}, document {}: not valid Kubernetes YAML: {e}", input.name, index + 1))?;
                documents.push(parsed);
            }
            Ok(documents)
        };
        let documents = if trimmed.starts_with('{') || trimmed.starts_with('[') {
            // JSON is read as JSON (faster, exact errors); JSON documents joined with `---`
            // (several files sent as one request) are a YAML stream, which reads JSON too.
            match serde_json::from_str::<RawObject>(trimmed) {
                Ok(document) => vec![Some(document)],
                Err(e) => yaml().map_err(|_| format!("{}: not valid Kubernetes JSON: {e}", input.name))?,
            }
        } else {
            yaml()?
        };
        for (index, document) in documents.into_iter().enumerate() {
            let Some(document) = document else { continue };
            let place = Place { file: input.name.to_owned(), document: index + 1, item: None };
            flatten(document, place, None, &mut objects)?;
        }
    }
    Ok(objects)
}

/// A `List` (or a typed `RoleList` whose items carry no kind) becomes its items.
fn flatten(raw: RawObject, place: Place, item_kind: Option<&str>, out: &mut Vec<Object>) -> Result<(), String> {
    let kind = raw.kind.clone().or_else(|| item_kind.map(str::to_owned)).ok_or_else(|| format!("{}: `kind` is missing.", place.describe("object")))?;
    if kind.ends_with("List") && place.item.is_none() {
        let inner = kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_owned);
        for (index, item) in raw.items.unwrap_or_default().into_iter().enumerate() {
            let place = Place { item: Some(index), ..place.clone() };
            flatten(item, place, inner.as_deref(), out)?;
        }
        return Ok(());
    }
    let mut raw = raw;
    let metadata = raw.metadata.take().unwrap_or_default();
    out.push(Object { kind, metadata, raw, place });
    Ok(())
}

const RBAC_KINDS: &[&str] = &["ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

fn is_namespaced(kind: &str) -> bool {
    matches!(kind, "ServiceAccount" | "Role" | "RoleBinding")
}

fn field<T: for<'de> Deserialize<'de>>(value: Value, object: &str, place: &Place, name: &str) -> Result<T, String> {
    serde_json::from_value(value).map_err(|e| format!("{}: `{name}` is not valid: {e}", place.describe(object)))
}

fn rules_of(value: Option<Value>, object: &str, place: &Place) -> Result<Vec<Rule>, String> {
    let rules: Vec<PolicyRule> = match value {
        None | Some(Value::Null) => vec![],
        Some(value) => field(value, object, place, "rules")?,
    };
    let mut out = Vec::with_capacity(rules.len());
    for (index, rule) in rules.into_iter().enumerate() {
        let verbs = rule.verbs.unwrap_or_default();
        if verbs.is_empty() {
            return Err(format!("{}: `rules[{index}].verbs` is required.", place.describe(object)));
        }
        let resources = rule.resources.unwrap_or_default();
        let urls = rule.non_resource_urls.unwrap_or_default();
        if !resources.is_empty() && !urls.is_empty() {
            return Err(format!("{}: `rules[{index}]` names both resources and nonResourceURLs; a rule holds one or the other.", place.describe(object)));
        }
        out.push(Rule {
            actions: verbs,
            api_groups: rule.api_groups.unwrap_or_default(),
            resources,
            resource_names: rule.resource_names.unwrap_or_default(),
            non_resource_urls: urls,
            ..Rule::allow()
        });
    }
    Ok(out)
}

fn selector_matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let labels_ok = selector.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(&text_of(v)));
    let expressions_ok = selector.match_expressions.iter().flatten().all(|req| {
        let values: Vec<String> = req.values.iter().flatten().map(text_of).collect();
        match req.operator.as_str() {
            "In" => labels.get(&req.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&req.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&req.key),
            "DoesNotExist" => !labels.contains_key(&req.key),
            _ => false,
        }
    });
    // An empty selector selects nothing in an aggregation rule (the controller skips it).
    let empty = selector.match_labels.as_ref().is_none_or(|m| m.is_empty()) && selector.match_expressions.as_ref().is_none_or(|e| e.is_empty());
    !empty && labels_ok && expressions_ok
}

struct ClusterRoleDraft {
    name: String,
    labels: BTreeMap<String, String>,
    rules: Vec<Rule>,
    selectors: Option<Vec<LabelSelector>>,
}

/// The rules of an aggregated ClusterRole whose manifest leaves them empty: the union of the
/// rules of every ClusterRole one of its selectors picks, following chains of aggregation.
fn aggregate(drafts: &[ClusterRoleDraft], index: usize, resolving: &mut BTreeSet<usize>, done: &mut HashMap<usize, Vec<Rule>>) -> Vec<Rule> {
    if let Some(rules) = done.get(&index) {
        return rules.clone();
    }
    let draft = &drafts[index];
    let Some(selectors) = draft.selectors.as_ref().filter(|_| draft.rules.is_empty()) else {
        return draft.rules.clone();
    };
    if !resolving.insert(index) {
        return vec![];
    }
    let mut rules = Vec::new();
    for (other, candidate) in drafts.iter().enumerate() {
        if other != index && selectors.iter().any(|s| selector_matches(s, &candidate.labels)) {
            for rule in aggregate(drafts, other, resolving, done) {
                if !rules.contains(&rule) {
                    rules.push(rule);
                }
            }
        }
    }
    resolving.remove(&index);
    done.insert(index, rules.clone());
    rules
}

pub fn service_account_ref(namespace: &str, name: &str) -> String {
    format!("ServiceAccount/{namespace}/{name}")
}

/// Reads the inputs into an observation of cluster `options.cluster`. All or nothing: the first
/// malformed document or invalid object is an error naming the file, document, item and field.
pub fn parse(inputs: &[Input], options: &Options) -> Result<Observation, String> {
    let objects = read_objects(inputs)?;
    let cluster_scope = format!("k8s/{}", options.cluster);
    let scope_of = |namespace: &str| format!("{cluster_scope}/{namespace}");
    let mut observation = Observation::default();
    let mut scopes = BTreeSet::from([cluster_scope.clone()]);
    let mut principals: BTreeMap<String, ObservedPrincipal> = BTreeMap::new();
    let mut roles: BTreeMap<String, ObservedRole> = BTreeMap::new();
    let mut cluster_roles: Vec<ClusterRoleDraft> = Vec::new();
    let mut cluster_role_meta: Vec<(Option<String>, String)> = Vec::new();
    let mut bindings = Vec::new();
    let mut defaulted_namespace = 0usize;

    for object in objects {
        if !RBAC_KINDS.contains(&object.kind.as_str()) {
            *observation.skipped.entry(object.kind).or_default() += 1;
            continue;
        }
        let Some(name) = object.metadata.name.clone().filter(|n| !n.trim().is_empty()) else {
            return Err(format!("{}: `metadata.name` is required.", object.place.describe(&object.kind)));
        };
        let namespace = if is_namespaced(&object.kind) {
            match object.metadata.namespace.clone().filter(|n| !n.is_empty()) {
                Some(ns) => Some(ns),
                None => {
                    defaulted_namespace += 1;
                    Some(options.default_namespace.to_owned())
                }
            }
        } else {
            None
        };
        let described = match &namespace {
            Some(ns) => format!("{} {ns}/{name}", object.kind),
            None => format!("{} {name}", object.kind),
        };
        let created_at = match &object.metadata.creation_timestamp {
            None | Some(Value::Null) => None,
            Some(value) => {
                Some(text_of(value).parse::<Timestamp>().map_err(|e| format!("{}: `metadata.creationTimestamp`: {e}", object.place.describe(&described)))?)
            }
        };
        if let Some(ns) = &namespace {
            scopes.insert(scope_of(ns));
        }
        let labels = labels_of(&object.metadata.labels);
        match object.kind.as_str() {
            "ServiceAccount" => {
                let ns = namespace.unwrap_or_default();
                let mut labels = labels;
                for (annotation, label) in LINK_ANNOTATIONS {
                    if let Some(value) = object.metadata.annotations.as_ref().and_then(|a| a.get(*annotation)) {
                        labels.insert((*label).to_owned(), text_of(value));
                    }
                }
                let source_ref = service_account_ref(&ns, &name);
                principals.insert(
                    source_ref.clone(),
                    ObservedPrincipal {
                        source_ref,
                        kind: PrincipalKind::ServiceAccount,
                        name,
                        scope: scope_of(&ns),
                        declared: true,
                        labels,
                        detail: BTreeMap::new(),
                        created_at,
                        last_seen_at: None,
                        uid: object.metadata.uid.clone(),
                    },
                );
            }
            "Role" => {
                let ns = namespace.unwrap_or_default();
                let rules = rules_of(object.raw.rules, &described, &object.place)?;
                let source_ref = format!("Role/{ns}/{name}");
                roles.insert(
                    source_ref.clone(),
                    ObservedRole {
                        source_ref,
                        name,
                        scope: scope_of(&ns),
                        description: String::new(),
                        rules,
                        source_version: None,
                        definition_known: true,
                        history: vec![],
                        labels,
                        uid: object.metadata.uid.clone(),
                    },
                );
            }
            "ClusterRole" => {
                let rules = rules_of(object.raw.rules, &described, &object.place)?;
                let selectors = match object.raw.aggregation_rule {
                    None | Some(Value::Null) => None,
                    Some(value) => {
                        let rule: AggregationRule = field(value, &described, &object.place, "aggregationRule")?;
                        Some(rule.cluster_role_selectors.unwrap_or_default())
                    }
                };
                cluster_roles.push(ClusterRoleDraft { name, labels, rules, selectors });
                cluster_role_meta.push((object.metadata.uid.clone(), described));
            }
            _ => bindings.push((object.kind.clone(), namespace, name, described, object.raw.role_ref, object.raw.subjects, object.place)),
        }
    }

    let mut done = HashMap::new();
    for index in 0..cluster_roles.len() {
        let rules = aggregate(&cluster_roles, index, &mut BTreeSet::new(), &mut done);
        let draft = &cluster_roles[index];
        let source_ref = format!("ClusterRole/{}", draft.name);
        let description =
            if draft.selectors.is_some() && draft.rules.is_empty() { "Aggregated from the ClusterRoles its selectors pick.".to_owned() } else { String::new() };
        roles.insert(
            source_ref.clone(),
            ObservedRole {
                source_ref,
                name: draft.name.clone(),
                scope: cluster_scope.clone(),
                description,
                rules,
                source_version: None,
                definition_known: true,
                history: vec![],
                labels: draft.labels.clone(),
                uid: cluster_role_meta[index].0.clone(),
            },
        );
    }

    let excluded = |name: &str| options.exclude.iter().any(|p| glob_match(p, name));
    for (kind, namespace, name, described, role_ref, subjects, place) in bindings {
        let role_ref: RoleRef = match role_ref {
            None | Some(Value::Null) => return Err(format!("{}: `roleRef` is required.", place.describe(&described))),
            Some(value) => field(value, &described, &place, "roleRef")?,
        };
        let role_name = role_ref.name.filter(|n| !n.is_empty()).ok_or_else(|| format!("{}: `roleRef.name` is required.", place.describe(&described)))?;
        let role_source_ref = match (role_ref.kind.as_deref(), &namespace) {
            (Some("ClusterRole"), _) => format!("ClusterRole/{role_name}"),
            (Some("Role"), Some(ns)) => format!("Role/{ns}/{role_name}"),
            (Some("Role"), None) => return Err(format!("{}: `roleRef.kind` must be ClusterRole in a ClusterRoleBinding.", place.describe(&described))),
            (other, _) => return Err(format!("{}: `roleRef.kind` must be Role or ClusterRole, not {:?}.", place.describe(&described), other.unwrap_or(""))),
        };
        let subjects: Vec<Subject> = match subjects {
            None | Some(Value::Null) => vec![],
            Some(value) => field(value, &described, &place, "subjects")?,
        };
        let scope = match &namespace {
            Some(ns) => scope_of(ns),
            None => cluster_scope.clone(),
        };
        let binding_ref = match &namespace {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        };
        for (index, subject) in subjects.into_iter().enumerate() {
            let subject_name =
                subject.name.filter(|n| !n.is_empty()).ok_or_else(|| format!("{}: `subjects[{index}].name` is required.", place.describe(&described)))?;
            let principal_ref = match subject.kind.as_deref() {
                Some("ServiceAccount") => {
                    let ns = match (subject.namespace.filter(|n| !n.is_empty()), &namespace) {
                        (Some(ns), _) => ns,
                        (None, Some(binding_ns)) => binding_ns.clone(),
                        (None, None) => {
                            return Err(format!(
                                "{}: `subjects[{index}].namespace` is required for a ServiceAccount in a ClusterRoleBinding (without it the subject matches nobody).",
                                place.describe(&described)
                            ));
                        }
                    };
                    service_account_ref(&ns, &subject_name)
                }
                Some(kind @ ("User" | "Group")) => {
                    // A service account authenticates as this user name: the same identity, which
                    // `--exclude` (meant for people and groups) does not leave out.
                    if let Some(rest) = subject_name.strip_prefix("system:serviceaccount:").filter(|_| kind == "User")
                        && let Some((ns, sa)) = rest.split_once(':')
                    {
                        service_account_ref(ns, sa)
                    } else if excluded(&subject_name) {
                        observation.excluded += 1;
                        continue;
                    } else {
                        let principal_ref = format!("{kind}/{subject_name}");
                        principals.entry(principal_ref.clone()).or_insert_with(|| ObservedPrincipal {
                            source_ref: principal_ref.clone(),
                            kind: if kind == "User" { PrincipalKind::User } else { PrincipalKind::Group },
                            name: subject_name.clone(),
                            scope: cluster_scope.clone(),
                            declared: false,
                            labels: BTreeMap::new(),
                            detail: BTreeMap::new(),
                            created_at: None,
                            last_seen_at: None,
                            uid: None,
                        });
                        principal_ref
                    }
                }
                other => {
                    return Err(format!(
                        "{}: `subjects[{index}].kind` must be ServiceAccount, User or Group, not {:?}.",
                        place.describe(&described),
                        other.unwrap_or("")
                    ));
                }
            };
            observation.grants.push(ObservedGrant {
                source_ref: format!("{binding_ref}#{principal_ref}"),
                principal_ref,
                role_ref: role_source_ref.clone(),
                scope: scope.clone(),
                condition: None,
                missing: None,
            });
        }
    }

    for grant in &mut observation.grants {
        let role_missing = !roles.contains_key(&grant.role_ref);
        let principal_missing = !principals.contains_key(&grant.principal_ref);
        grant.missing = match (role_missing, principal_missing) {
            (false, false) => None,
            (true, false) => Some(Missing::Role),
            (false, true) => Some(Missing::Principal),
            (true, true) => Some(Missing::Both),
        };
    }
    // A grant named twice (the same subject listed twice in one binding) is one grant.
    let mut seen = BTreeSet::new();
    observation.grants.retain(|g| seen.insert(g.source_ref.clone()));

    if principals.is_empty() && roles.is_empty() && observation.grants.is_empty() {
        let skipped = observation.skipped.iter().map(|(kind, n)| format!("{n} {kind}")).collect::<Vec<_>>().join(", ");
        let names = inputs.iter().map(|i| i.name).collect::<Vec<_>>().join(", ");
        return Err(if skipped.is_empty() {
            format!("{names}: nothing to import: no ServiceAccounts, Roles, ClusterRoles or bindings were found.")
        } else {
            format!("{names}: nothing to import: the input holds only kinds nhidb does not import ({skipped}).")
        });
    }
    if defaulted_namespace > 0 {
        observation.notes.push(format!("{defaulted_namespace} namespaced object(s) had no namespace and were placed in \"{}\".", options.default_namespace));
    }
    observation.scopes = scopes.into_iter().collect();
    observation.principals = principals.into_values().collect();
    observation.roles = roles.into_values().collect();
    Ok(observation)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST_YAML: &str = include_str!("../../tests/fixtures/import/kubernetes/list.yaml");
    const LIST_JSON: &str = include_str!("../../tests/fixtures/import/kubernetes/list.json");
    const MANIFESTS: &str = include_str!("../../tests/fixtures/import/kubernetes/manifests.yaml");

    fn parse_one(name: &str, text: &str, exclude: &[String]) -> Result<Observation, String> {
        parse(&[Input { name, text }], &Options { cluster: "prod-eu", default_namespace: "default", exclude })
    }

    fn role<'a>(o: &'a Observation, source_ref: &str) -> &'a ObservedRole {
        o.roles.iter().find(|r| r.source_ref == source_ref).unwrap_or_else(|| panic!("no role {source_ref}"))
    }

    fn grant<'a>(o: &'a Observation, source_ref: &str) -> &'a ObservedGrant {
        o.grants
            .iter()
            .find(|g| g.source_ref == source_ref)
            .unwrap_or_else(|| panic!("no grant {source_ref}: {:#?}", o.grants.iter().map(|g| &g.source_ref).collect::<Vec<_>>()))
    }

    #[test]
    fn a_kubectl_list_yields_every_account_role_and_binding() {
        let o = parse_one("list.yaml", LIST_YAML, &[]).unwrap();
        let declared: Vec<&str> = o.principals.iter().filter(|p| p.declared).map(|p| p.source_ref.as_str()).collect();
        assert_eq!(
            declared,
            [
                "ServiceAccount/kube-system/default",
                "ServiceAccount/monitoring/prometheus",
                "ServiceAccount/payments/batch-runner",
                "ServiceAccount/payments/default",
                "ServiceAccount/payments/payments-api",
                "ServiceAccount/web/frontend"
            ]
        );
        assert_eq!(o.roles.len(), 10, "3 Roles and 7 ClusterRoles");
        assert_eq!(o.skipped.get("ConfigMap"), Some(&1));
        assert_eq!(o.scopes, ["k8s/prod-eu", "k8s/prod-eu/kube-system", "k8s/prod-eu/monitoring", "k8s/prod-eu/payments", "k8s/prod-eu/web"]);
        let api = o.principals.iter().find(|p| p.name == "payments-api").unwrap();
        assert_eq!(api.labels.get("aws-role-arn").map(String::as_str), Some("arn:aws:iam::123456789012:role/payments-api-irsa"));
        assert_eq!(api.uid.as_deref(), Some("6b0d549b-6f03-475a-9600-a35a099950d8"));
        assert_eq!(api.created_at.map(|t| t.to_rfc3339()).as_deref(), Some("2024-01-20T09:15:47.000000Z"));
    }

    #[test]
    fn json_and_yaml_of_the_same_list_read_the_same() {
        assert_eq!(parse_one("list.json", LIST_JSON, &[]).unwrap(), parse_one("list.yaml", LIST_YAML, &[]).unwrap());
    }

    #[test]
    fn rules_keep_subresources_resource_names_and_non_resource_urls() {
        let o = parse_one("list.yaml", LIST_YAML, &[]).unwrap();
        let debugger = role(&o, "Role/payments/pod-debugger");
        assert_eq!(debugger.scope, "k8s/prod-eu/payments");
        assert_eq!(debugger.rules[1].resources, ["pods/exec", "pods/attach"]);
        assert_eq!(debugger.rules[1].actions, ["create"]);
        assert_eq!(debugger.rules[0].api_groups, [""]);
        let named = role(&o, "Role/payments/secret-reader-named");
        assert_eq!(named.rules[0].resource_names, ["payments-db-credentials", "stripe-api-key"]);
        let metrics = role(&o, "ClusterRole/monitoring-metrics");
        assert_eq!(metrics.rules[0].non_resource_urls, ["/metrics", "/healthz", "/healthz/*"]);
        assert!(metrics.rules[0].resources.is_empty());
    }

    #[test]
    fn an_aggregated_cluster_role_gets_the_union_of_the_roles_its_selectors_pick() {
        let o = parse_one("list.yaml", LIST_YAML, &[]).unwrap();
        let monitoring = role(&o, "ClusterRole/monitoring");
        let endpoints = role(&o, "ClusterRole/monitoring-endpoints");
        let metrics = role(&o, "ClusterRole/monitoring-metrics");
        let expected: Vec<Rule> = endpoints.rules.iter().chain(&metrics.rules).cloned().collect();
        assert_eq!(monitoring.rules, expected);
        let from_manifests = parse_one("manifests.yaml", MANIFESTS, &[]).unwrap();
        assert_eq!(role(&from_manifests, "ClusterRole/monitoring").rules.len(), 3, "rules: [] is filled in the same way");
    }

    #[test]
    fn aggregation_follows_chains_and_survives_cycles() {
        let text = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: top}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: top}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: middle, labels: {agg: top}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: middle}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: leaf, labels: {agg: middle}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: loop-a, labels: {agg: b}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: a}}]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: loop-b, labels: {agg: a}}
aggregationRule: {clusterRoleSelectors: [{matchLabels: {agg: b}}]}
"#;
        let o = parse_one("chain.yaml", text, &[]).unwrap();
        assert_eq!(role(&o, "ClusterRole/top").rules, role(&o, "ClusterRole/leaf").rules);
        assert!(role(&o, "ClusterRole/loop-a").rules.is_empty());
    }

    #[test]
    fn bindings_resolve_subjects_scopes_and_role_kinds() {
        let o = parse_one("list.yaml", LIST_YAML, &[]).unwrap();
        let defaulted = grant(&o, "RoleBinding/payments/batch-secrets#ServiceAccount/payments/batch-runner");
        assert_eq!(defaulted.role_ref, "Role/payments/secret-reader-named");
        assert_eq!(defaulted.missing, None);
        let cross = grant(&o, "RoleBinding/payments/prometheus-pod-reader#ServiceAccount/monitoring/prometheus");
        assert_eq!(cross.role_ref, "ClusterRole/pod-reader");
        assert_eq!(cross.scope, "k8s/prod-eu/payments", "a ClusterRole bound by a RoleBinding applies in the binding's namespace");
        let cluster = grant(&o, "ClusterRoleBinding/system:kube-scheduler#User/system:kube-scheduler");
        assert_eq!(cluster.scope, "k8s/prod-eu");
        let users: Vec<&str> = o.principals.iter().filter(|p| !p.declared).map(|p| p.source_ref.as_str()).collect();
        assert_eq!(
            users,
            ["Group/auditors", "Group/frontend-devs", "Group/system:masters", "Group/system:nodes", "User/alice@example.com", "User/system:kube-scheduler"]
        );
    }

    #[test]
    fn bindings_to_missing_roles_or_accounts_are_kept_and_flagged() {
        let o = parse_one("list.yaml", LIST_YAML, &[]).unwrap();
        assert_eq!(grant(&o, "RoleBinding/payments/legacy-auditor#Group/auditors").missing, Some(Missing::Role));
        assert_eq!(grant(&o, "RoleBinding/web/deployer-ci#ServiceAccount/web/ci-deployer").missing, Some(Missing::Principal));
        assert_eq!(o.dangling().count(), 2);
    }

    #[test]
    fn excluded_patterns_leave_users_and_groups_out() {
        let o = parse_one("list.yaml", LIST_YAML, &["system:*".to_owned()]).unwrap();
        assert!(o.principals.iter().all(|p| !p.name.starts_with("system:")));
        assert_eq!(o.excluded, 3);
        assert!(o.grants.iter().all(|g| !g.principal_ref.contains("system:")));
    }

    #[test]
    fn helm_manifests_with_comments_null_documents_and_no_namespace_are_read() {
        let o = parse_one("manifests.yaml", MANIFESTS, &[]).unwrap();
        let batch = o.principals.iter().find(|p| p.name == "batch-runner").unwrap();
        assert_eq!(batch.source_ref, "ServiceAccount/default/batch-runner");
        assert!(o.notes.iter().any(|n| n.contains("no namespace")), "{:?}", o.notes);
    }

    #[test]
    fn a_user_named_after_a_service_account_is_that_account() {
        let text = r#"{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "system:serviceaccount:ci:deployer"}]}"#;
        let o = parse_one("b.json", text, &["system:*".to_owned()]).unwrap();
        assert_eq!(o.grants[0].principal_ref, "ServiceAccount/ci/deployer", "--exclude leaves people and groups out, not accounts");
        assert_eq!(o.grants[0].missing, Some(Missing::Both));
    }

    #[test]
    fn bad_input_is_refused_with_the_file_document_and_field() {
        let bad_yaml = include_str!("../../tests/fixtures/import/kubernetes/bad-yaml.yaml");
        let e = parse_one("bad-yaml.yaml", bad_yaml, &[]).unwrap_err();
        assert!(e.starts_with("bad-yaml.yaml, document 1: not valid Kubernetes YAML"), "{e}");
        let no_role_ref = include_str!("../../tests/fixtures/import/kubernetes/no-roleref.yaml");
        let e = parse_one("no-roleref.yaml", no_role_ref, &[]).unwrap_err();
        assert!(e.contains("no-roleref.yaml, document 1") && e.contains("`roleRef` is required"), "{e}");
        let wrong = include_str!("../../tests/fixtures/import/kubernetes/wrong-kinds.yaml");
        let e = parse_one("wrong-kinds.yaml", wrong, &[]).unwrap_err();
        assert!(e.contains("nothing to import") && e.contains("2 Deployment"), "{e}");
        let e = parse_one(
            "t.json",
            "{\"kind\": \"List\", \"items\": [{\"kind\": \"Role\", \"metadata\": {\"name\": \"r\"}, \"rules\": [{\"resources\": [\"pods\"]}]}]}",
            &[],
        )
        .unwrap_err();
        assert!(e.contains("item 1 (Role default/r)") && e.contains("`rules[0].verbs` is required"), "{e}");
        let e = parse_one(
            "t.json",
            "{\"kind\": \"List\", \"items\": [{\"kind\": \"Role\", \"metadata\": {\"name\": \"r\"}, \"rules\": [{\"verbs\": \"get\"}]}]}",
            &[],
        )
        .unwrap_err();
        assert!(e.contains("`rules` is not valid"), "{e}");
        let e = parse_one("t.json", "{\"kind\": \"List\", \"items\": [{\"metadata\": {\"name\": \"r\"}}]}", &[]).unwrap_err();
        assert!(e.contains("`kind` is missing"), "{e}");
    }

    #[test]
    fn json_documents_joined_as_a_stream_are_read() {
        let joined = format!("{LIST_JSON}\n---\n{}", include_str!("../../tests/fixtures/import/kubernetes/manifests.yaml"));
        let o = parse_one("joined", &joined, &[]).unwrap();
        assert!(o.principals.iter().any(|p| p.source_ref == "ServiceAccount/default/batch-runner"));
        assert!(o.principals.iter().any(|p| p.source_ref == "ServiceAccount/kube-system/default"));
        let e = parse_one("t.json", "{\"kind\": \"List\", \"items\": [", &[]).unwrap_err();
        assert!(e.starts_with("t.json: not valid Kubernetes JSON"), "{e}");
    }

    #[test]
    fn a_typed_list_from_the_api_gives_its_items_their_kind() {
        let text = r#"{"apiVersion": "v1", "kind": "ServiceAccountList", "items": [{"metadata": {"name": "a", "namespace": "n"}}]}"#;
        let o = parse_one("sa.json", text, &[]).unwrap();
        assert_eq!(o.principals[0].source_ref, "ServiceAccount/n/a");
    }
}
