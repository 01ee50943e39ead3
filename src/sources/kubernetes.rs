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
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

/// One object as read: only the fields nhidb reads, each converted to its type as soon as it is
/// read. Everything else (a `last-applied-configuration` annotation repeats the whole object) is
/// skipped unread, so a large cluster is never held as a generic tree.
#[derive(Deserialize, Default)]
struct RawObject {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    metadata: Option<Metadata>,
    #[serde(default)]
    rules: Option<Lenient<Vec<PolicyRule>>>,
    #[serde(default, rename = "aggregationRule")]
    aggregation_rule: Option<Lenient<AggregationRule>>,
    #[serde(default, rename = "roleRef")]
    role_ref: Option<Lenient<RoleRef>>,
    #[serde(default)]
    subjects: Option<Lenient<Vec<Subject>>>,
}

/// A field read as a value and given its type on the spot: a malformed field becomes an error
/// naming the object and the field (`rules[0].verbs`), reported once the object's name is known,
/// instead of a parser position; its value tree lives only while it is converted.
struct Lenient<T>(Result<T, String>);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(Lenient(serde_json::from_value(value).map_err(|e| e.to_string())))
    }
}

/// A scalar read as text whatever YAML made of it (`true`, `yes`, `1`).
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Text(match Value::deserialize(deserializer)? {
            Value::String(s) => s,
            other => text_of(&other),
        }))
    }
}

/// The annotations nhidb keeps (`LINK_ANNOTATIONS`), as (label, value); the others are skipped.
#[derive(Default)]
struct Links(Vec<(&'static str, String)>);

impl<'de> Deserialize<'de> for Links {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LinksVisitor;
        impl<'de> Visitor<'de> for LinksVisitor {
            type Value = Links;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of annotations")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Links, A::Error> {
                let mut links = Links::default();
                while let Some(key) = map.next_key::<String>()? {
                    match LINK_ANNOTATIONS.iter().find(|(annotation, _)| *annotation == key) {
                        Some((_, label)) => links.0.push((label, map.next_value::<Text>()?.0)),
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(links)
            }
        }
        deserializer.deserialize_map(LinksVisitor)
    }
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
    creation_timestamp: Option<Text>,
    #[serde(default)]
    labels: Option<BTreeMap<String, Text>>,
    #[serde(default)]
    annotations: Option<Links>,
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

fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Why a document's reading stopped early: the parser's own error, or an object that was read
/// but is not valid (its message names the file, document, item and field).
const STOPPED: &str = "nhidb: an object was refused";

/// Reads one document (an object, or a List of them) into the collector. A List's items are
/// handed over one at a time as they are read when its kind is known before its items (`kind`
/// first, or `known_kind` from a first pass over a JSON file); otherwise (kubectl's YAML prints
/// `items` before `kind`) they wait, typed, until the document ends.
struct DocumentSeed<'c, 'o> {
    collector: &'c mut Collector<'o>,
    place: Place,
    known_kind: Option<String>,
}

fn is_list(kind: &str) -> bool {
    kind.ends_with("List")
}

/// The kind of a List's items that carry none (a typed `RoleList` from the API).
fn item_kind(list_kind: &str) -> Option<&str> {
    list_kind.strip_suffix("List").filter(|k| !k.is_empty())
}

impl<'de> DeserializeSeed<'de> for DocumentSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for DocumentSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a Kubernetes object or List")
    }
    /// An empty document (a Helm template that rendered nothing).
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let DocumentSeed { collector, place, known_kind } = self;
        let mut object = RawObject::default();
        let mut pending = Vec::new();
        let mut seen: Vec<&'static str> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            // A key given twice is refused, as it is in an item (and by the API server).
            if let Some(known) = ["kind", "metadata", "rules", "aggregationRule", "roleRef", "subjects", "items"].into_iter().find(|k| *k == key) {
                if seen.contains(&known) {
                    return Err(de::Error::duplicate_field(known));
                }
                seen.push(known);
            }
            match key.as_str() {
                "kind" => object.kind = map.next_value()?,
                "metadata" => object.metadata = map.next_value()?,
                "rules" => object.rules = map.next_value()?,
                "aggregationRule" => object.aggregation_rule = map.next_value()?,
                "roleRef" => object.role_ref = map.next_value()?,
                "subjects" => object.subjects = map.next_value()?,
                "items" => {
                    let list_kind = object.kind.clone().or_else(|| known_kind.clone());
                    map.next_value_seed(ItemsSeed { collector: &mut *collector, place: &place, list_kind, pending: &mut pending })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let Some(kind) = object.kind.clone() else {
            return Err(collector.refuse(format!("{}: `kind` is missing.", place.describe("object"))));
        };
        if is_list(&kind) {
            for (index, item) in pending {
                collector.accept_item(item, &kind, Place { item: Some(index), ..place.clone() })?;
            }
            return Ok(());
        }
        collector.accept(object, kind, place).map_err(|e| collector.refuse(e))
    }
}

struct ItemsSeed<'c, 'o, 'p> {
    collector: &'c mut Collector<'o>,
    place: &'p Place,
    list_kind: Option<String>,
    pending: &'p mut Vec<(usize, RawObject)>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a sequence of Kubernetes objects")
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(item) = seq.next_element::<RawObject>()? {
            match &self.list_kind {
                Some(kind) if is_list(kind) => self.collector.accept_item(item, kind, Place { item: Some(index), ..self.place.clone() })?,
                // Not a List: its `items` are its own business, not objects to import.
                Some(_) => {}
                None => self.pending.push((index, item)),
            }
            index += 1;
        }
        Ok(())
    }
}

/// The top-level kind of a JSON document, read without keeping anything else.
#[derive(Deserialize)]
struct Head {
    #[serde(default)]
    kind: Option<Value>,
}

/// Reads one input: JSON as JSON (faster, exact errors), anything else, and JSON documents
/// joined with `---` (several files sent as one request), as a YAML stream, which reads JSON too.
fn read_input(input: &Input, collector: &mut Collector) -> Result<(), String> {
    let trimmed = input.text.trim_start_matches('\u{feff}').trim_start();
    let place = |document: usize| Place { file: input.name.to_owned(), document, item: None };
    let mut json_error = None;
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // A first pass reads only the top-level kind, so that a List's items can be taken one
        // at a time even when `items` comes first, as kubectl prints it.
        match serde_json::from_str::<Head>(trimmed) {
            Ok(head) => {
                let known_kind = head.kind.and_then(|k| k.as_str().map(str::to_owned));
                let mut deserializer = serde_json::Deserializer::from_str(trimmed);
                let read = DocumentSeed { collector: &mut *collector, place: place(1), known_kind }.deserialize(&mut deserializer);
                return read
                    .and_then(|()| deserializer.end())
                    .map_err(|e| collector.error.take().unwrap_or_else(|| format!("{}: not valid Kubernetes JSON: {e}", input.name)));
            }
            Err(e) => json_error = Some(e),
        }
    }
    if json_error.is_none()
        && let Some(list) = KubectlYamlList::split(input.text)
    {
        return list.read(input.name, collector);
    }
    for (index, document) in serde_yaml::Deserializer::from_str(input.text).enumerate() {
        DocumentSeed { collector: &mut *collector, place: place(index + 1), known_kind: None }.deserialize(document).map_err(|e| {
            collector.error.take().unwrap_or_else(|| match &json_error {
                Some(json_error) => format!("{}: not valid Kubernetes JSON: {json_error}", input.name),
                None => format!("{}, document {}: not valid Kubernetes YAML: {e}", input.name, index + 1),
            })
        })?;
    }
    Ok(())
}

/// A List as `kubectl get … -o yaml` prints it, split into its items before parsing: one
/// document, `items:` at the top level, each item a block that begins with `- ` at the start of
/// a line. serde_yaml holds a whole document's parse events while it reads it — about 15 times
/// the text, 1.1 GB for an 80 MB List — and an item's are small. The split reads what a YAML
/// parser would in this layout: a line at column 0 ends the item before it, as it ends the block
/// it is in (continuation lines of scalars are indented), and a document with anchors is not
/// split. Other layouts are read whole.
struct KubectlYamlList<'t> {
    /// The List's kind (`List`, or a typed `RoleList` whose items carry none).
    kind: String,
    /// Each item's text and the line it begins on (1-based), for error messages.
    items: Vec<(&'t str, usize)>,
}

impl<'t> KubectlYamlList<'t> {
    fn split(text: &'t str) -> Option<Self> {
        let is_marker = |l: &str| l.starts_with("---") || l.starts_with("...");
        let is_entry = |l: &str| l.starts_with("- ") || l.trim_end() == "-";
        let is_blank = |l: &str| l.trim().is_empty() || l.starts_with('#');
        // An anchor could be aliased from another item, which alone would not know it (kubectl
        // writes none; a quoted `: &` only costs the split).
        if [": &", "- &", "[&", ", &"].iter().any(|anchor| text.contains(anchor)) {
            return None;
        }
        // (offset, line), without collecting them: a large List has millions of lines.
        let mut lines = text.split_inclusive('\n').scan(0, |at, line| {
            *at += line.len();
            Some((*at - line.len(), line))
        });
        let mut number = 0;
        let items_line_end = loop {
            let (offset, line) = lines.next()?;
            number += 1;
            // Several documents (or markers) are manifests, each small: read as they are.
            if is_marker(line) {
                return None;
            }
            if line.trim_end() == "items:" {
                break offset + line.len();
            }
        };
        let (mut items, mut item, mut end) = (Vec::new(), None, text.len());
        for (offset, line) in lines {
            number += 1;
            if is_entry(line) {
                if let Some((begin, first)) = item.replace((offset, number)) {
                    items.push((&text[begin..offset], first));
                }
            } else if item.is_none() && !is_blank(line) {
                // The first entry is not at column 0 (another layout): read whole.
                return None;
            } else if item.is_some() && !line.starts_with(' ') && !is_blank(line) {
                end = offset;
                break;
            }
        }
        let (begin, first) = item?;
        items.push((&text[begin..end], first));
        if text[end..].lines().any(is_marker) {
            return None;
        }
        // The document without its items (`items:` left empty) says whether it is a List.
        let rest = format!("{}{}", &text[..items_line_end], &text[end..]);
        match serde_yaml::from_str::<Head>(&rest) {
            Ok(Head { kind: Some(Value::String(kind)) }) if is_list(&kind) => Some(KubectlYamlList { kind, items }),
            // Not a List, or no kind: read whole, which says what is wrong.
            _ => None,
        }
    }

    /// Hands the items to the collector one by one, each parsed on its own. serde_yaml reads
    /// YAML about five times slower than serde_json reads the same List as JSON, so the items
    /// are parsed on every core, a chunk at a time (only a chunk's objects are held), and
    /// handed over in their order: the first bad item is the one reported, as when read alone.
    fn read(self, name: &str, collector: &mut Collector) -> Result<(), String> {
        const CHUNK: usize = 1024;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let parse = |index: usize, &(item, line): &(&str, usize)| -> Result<RawObject, String> {
            // The entry's `-` becomes indentation: the item is a document of its own.
            let mut text = String::with_capacity(item.len());
            text.push(' ');
            text.push_str(&item[1..]);
            serde_yaml::from_str(&text)
                .map_err(|e| format!("{name}, document 1, item {}: not valid Kubernetes YAML: {}", index + 1, shift_lines(&e.to_string(), line - 1)))
        };
        for (chunk_index, chunk) in self.items.chunks(CHUNK).enumerate() {
            let first = chunk_index * CHUNK;
            let share = chunk.len().div_ceil(threads);
            let parsed: Vec<Result<RawObject, String>> = if threads == 1 || chunk.len() < 2 * threads {
                chunk.iter().enumerate().map(|(i, item)| parse(first + i, item)).collect()
            } else {
                std::thread::scope(|scope| {
                    let parts: Vec<_> = chunk
                        .chunks(share)
                        .enumerate()
                        .map(|(part, items)| {
                            let parse = &parse;
                            scope.spawn(move || items.iter().enumerate().map(|(i, item)| parse(first + part * share + i, item)).collect::<Vec<_>>())
                        })
                        .collect();
                    parts.into_iter().flat_map(|part| part.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
                })
            };
            for (i, raw) in parsed.into_iter().enumerate() {
                let place = Place { file: name.to_owned(), document: 1, item: Some(first + i) };
                collector.accept_item::<serde_yaml::Error>(raw?, &self.kind, place).map_err(|e| collector.error.take().unwrap_or_else(|| e.to_string()))?;
            }
        }
        Ok(())
    }
}

/// A parser's message about an item with its positions (`at line N`) counted in the file: the
/// item begins after `offset` lines.
fn shift_lines(message: &str, offset: usize) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("at line ") {
        let (head, tail) = rest.split_at(at + "at line ".len());
        out.push_str(head);
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if let Ok(n) = tail[..digits].parse::<usize>() {
            out.push_str(&(n + offset).to_string());
        }
        rest = &tail[digits..];
    }
    out.push_str(rest);
    out
}

const RBAC_KINDS: &[&str] = &["ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

fn is_namespaced(kind: &str) -> bool {
    matches!(kind, "ServiceAccount" | "Role" | "RoleBinding")
}

/// A field's value, or the error that names it.
fn field<T>(value: Option<Lenient<T>>, object: &str, place: &Place, name: &str) -> Result<Option<T>, String> {
    value.map(|Lenient(v)| v.map_err(|e| format!("{}: `{name}` is not valid: {e}", place.describe(object)))).transpose()
}

fn rules_of(value: Option<Lenient<Vec<PolicyRule>>>, object: &str, place: &Place) -> Result<Vec<Rule>, String> {
    let rules = field(value, object, place, "rules")?.unwrap_or_default();
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
    uid: Option<String>,
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

/// Builds the observation object by object as the reader hands them over, keeping only what
/// the observation needs (names and rules are moved, not copied).
struct Collector<'o> {
    options: &'o Options<'o>,
    cluster_scope: String,
    observation: Observation,
    scopes: BTreeSet<String>,
    principals: BTreeMap<String, ObservedPrincipal>,
    roles: BTreeMap<String, ObservedRole>,
    cluster_roles: Vec<ClusterRoleDraft>,
    defaulted_namespace: usize,
    /// Why reading stopped, when an object was refused (see `STOPPED`).
    error: Option<String>,
}

impl<'o> Collector<'o> {
    fn new(options: &'o Options<'o>) -> Self {
        let cluster_scope = format!("k8s/{}", options.cluster);
        Collector {
            options,
            scopes: BTreeSet::from([cluster_scope.clone()]),
            cluster_scope,
            observation: Observation::default(),
            principals: BTreeMap::new(),
            roles: BTreeMap::new(),
            cluster_roles: Vec::new(),
            defaulted_namespace: 0,
            error: None,
        }
    }

    fn scope_of(&self, namespace: &str) -> String {
        format!("{}/{namespace}", self.cluster_scope)
    }

    /// Keeps `message` as the reason reading stopped and returns the parser error that stops it.
    fn refuse<E: de::Error>(&mut self, message: String) -> E {
        self.error = Some(message);
        E::custom(STOPPED)
    }

    /// An item of a List of kind `list_kind`.
    fn accept_item<E: de::Error>(&mut self, mut item: RawObject, list_kind: &str, place: Place) -> Result<(), E> {
        let Some(kind) = item.kind.take().or_else(|| item_kind(list_kind).map(str::to_owned)) else {
            return Err(self.refuse(format!("{}: `kind` is missing.", place.describe("object"))));
        };
        self.accept(item, kind, place).map_err(|e| self.refuse(e))
    }

    fn accept(&mut self, mut raw: RawObject, kind: String, place: Place) -> Result<(), String> {
        if !RBAC_KINDS.contains(&kind.as_str()) {
            *self.observation.skipped.entry(kind).or_default() += 1;
            return Ok(());
        }
        let metadata = raw.metadata.take().unwrap_or_default();
        let Some(name) = metadata.name.filter(|n| !n.trim().is_empty()) else {
            return Err(format!("{}: `metadata.name` is required.", place.describe(&kind)));
        };
        let namespace = if is_namespaced(&kind) {
            match metadata.namespace.filter(|n| !n.is_empty()) {
                Some(ns) => Some(ns),
                None => {
                    self.defaulted_namespace += 1;
                    Some(self.options.default_namespace.to_owned())
                }
            }
        } else {
            None
        };
        let described = match &namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };
        let created_at = match metadata.creation_timestamp {
            None => None,
            Some(Text(text)) => Some(text.parse::<Timestamp>().map_err(|e| format!("{}: `metadata.creationTimestamp`: {e}", place.describe(&described)))?),
        };
        let scope = match &namespace {
            Some(ns) => {
                let scope = self.scope_of(ns);
                if !self.scopes.contains(&scope) {
                    self.scopes.insert(scope.clone());
                }
                scope
            }
            None => self.cluster_scope.clone(),
        };
        let labels: BTreeMap<String, String> = metadata.labels.into_iter().flatten().map(|(k, Text(v))| (k, v)).collect();
        let uid = metadata.uid;
        match kind.as_str() {
            "ServiceAccount" => {
                let mut labels = labels;
                labels.extend(metadata.annotations.unwrap_or_default().0.into_iter().map(|(label, value)| (label.to_owned(), value)));
                let source_ref = service_account_ref(namespace.as_deref().unwrap_or_default(), &name);
                let principal = ObservedPrincipal {
                    source_ref: source_ref.clone(),
                    kind: PrincipalKind::ServiceAccount,
                    name,
                    scope,
                    declared: true,
                    labels,
                    detail: BTreeMap::new(),
                    created_at,
                    last_seen_at: None,
                    uid,
                };
                self.principals.insert(source_ref, principal);
            }
            "Role" => {
                let rules = rules_of(raw.rules, &described, &place)?;
                let source_ref = format!("Role/{}/{name}", namespace.as_deref().unwrap_or_default());
                let role = ObservedRole {
                    source_ref: source_ref.clone(),
                    name,
                    scope,
                    description: String::new(),
                    rules,
                    source_version: None,
                    definition_known: true,
                    history: vec![],
                    labels,
                    uid,
                };
                self.roles.insert(source_ref, role);
            }
            "ClusterRole" => {
                let rules = rules_of(raw.rules, &described, &place)?;
                let selectors = field(raw.aggregation_rule, &described, &place, "aggregationRule")?.map(|rule| rule.cluster_role_selectors.unwrap_or_default());
                self.cluster_roles.push(ClusterRoleDraft { name, labels, rules, selectors, uid });
            }
            _ => self.bind(&kind, namespace, &name, raw, &described, &place, scope)?,
        }
        Ok(())
    }

    /// A RoleBinding or ClusterRoleBinding: a grant per subject, in the binding's scope.
    #[allow(clippy::too_many_arguments)]
    fn bind(&mut self, kind: &str, namespace: Option<String>, name: &str, raw: RawObject, described: &str, place: &Place, scope: String) -> Result<(), String> {
        let Some(role_ref) = field(raw.role_ref, described, place, "roleRef")? else {
            return Err(format!("{}: `roleRef` is required.", place.describe(described)));
        };
        let role_name = role_ref.name.filter(|n| !n.is_empty()).ok_or_else(|| format!("{}: `roleRef.name` is required.", place.describe(described)))?;
        let role_source_ref = match (role_ref.kind.as_deref(), &namespace) {
            (Some("ClusterRole"), _) => format!("ClusterRole/{role_name}"),
            (Some("Role"), Some(ns)) => format!("Role/{ns}/{role_name}"),
            (Some("Role"), None) => return Err(format!("{}: `roleRef.kind` must be ClusterRole in a ClusterRoleBinding.", place.describe(described))),
            (other, _) => return Err(format!("{}: `roleRef.kind` must be Role or ClusterRole, not {:?}.", place.describe(described), other.unwrap_or(""))),
        };
        let subjects = field(raw.subjects, described, place, "subjects")?.unwrap_or_default();
        let binding_ref = match &namespace {
            Some(ns) => format!("{kind}/{ns}/{name}"),
            None => format!("{kind}/{name}"),
        };
        let excluded = |name: &str| self.options.exclude.iter().any(|p| glob_match(p, name));
        for (index, subject) in subjects.into_iter().enumerate() {
            let subject_name =
                subject.name.filter(|n| !n.is_empty()).ok_or_else(|| format!("{}: `subjects[{index}].name` is required.", place.describe(described)))?;
            let principal_ref = match subject.kind.as_deref() {
                Some("ServiceAccount") => {
                    let ns = match (subject.namespace.filter(|n| !n.is_empty()), &namespace) {
                        (Some(ns), _) => ns,
                        (None, Some(binding_ns)) => binding_ns.clone(),
                        (None, None) => {
                            return Err(format!(
                                "{}: `subjects[{index}].namespace` is required for a ServiceAccount in a ClusterRoleBinding (without it the subject matches nobody).",
                                place.describe(described)
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
                        self.observation.excluded += 1;
                        continue;
                    } else {
                        let principal_ref = format!("{kind}/{subject_name}");
                        if !self.principals.contains_key(&principal_ref) {
                            let principal = ObservedPrincipal {
                                source_ref: principal_ref.clone(),
                                kind: if kind == "User" { PrincipalKind::User } else { PrincipalKind::Group },
                                name: subject_name,
                                scope: self.cluster_scope.clone(),
                                declared: false,
                                labels: BTreeMap::new(),
                                detail: BTreeMap::new(),
                                created_at: None,
                                last_seen_at: None,
                                uid: None,
                            };
                            self.principals.insert(principal_ref.clone(), principal);
                        }
                        principal_ref
                    }
                }
                other => {
                    return Err(format!(
                        "{}: `subjects[{index}].kind` must be ServiceAccount, User or Group, not {:?}.",
                        place.describe(described),
                        other.unwrap_or("")
                    ));
                }
            };
            self.observation.grants.push(ObservedGrant {
                source_ref: format!("{binding_ref}#{principal_ref}"),
                principal_ref,
                role_ref: role_source_ref.clone(),
                scope: scope.clone(),
                condition: None,
                missing: None,
            });
        }
        Ok(())
    }

    fn finish(self, inputs: &[Input]) -> Result<Observation, String> {
        let Collector { options, cluster_scope, mut observation, scopes, mut principals, mut roles, cluster_roles, defaulted_namespace, .. } = self;
        let mut done = HashMap::new();
        let rules: Vec<Vec<Rule>> = (0..cluster_roles.len()).map(|index| aggregate(&cluster_roles, index, &mut BTreeSet::new(), &mut done)).collect();
        for (draft, rules) in cluster_roles.into_iter().zip(rules) {
            let source_ref = format!("ClusterRole/{}", draft.name);
            let description = if draft.selectors.is_some() && draft.rules.is_empty() {
                "Aggregated from the ClusterRoles its selectors pick.".to_owned()
            } else {
                String::new()
            };
            let role = ObservedRole {
                source_ref: source_ref.clone(),
                name: draft.name,
                scope: cluster_scope.clone(),
                description,
                rules,
                source_version: None,
                definition_known: true,
                history: vec![],
                labels: draft.labels,
                uid: draft.uid,
            };
            roles.insert(source_ref, role);
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
        // A grant named twice (the same subject listed twice in one binding) is one grant: the
        // first is kept.
        let grants = &observation.grants;
        let mut order: Vec<usize> = (0..grants.len()).collect();
        order.sort_unstable_by(|a, b| grants[*a].source_ref.cmp(&grants[*b].source_ref).then(a.cmp(b)));
        let mut keep = vec![true; grants.len()];
        for pair in order.windows(2) {
            if grants[pair[0]].source_ref == grants[pair[1]].source_ref {
                keep[pair[1]] = false;
            }
        }
        let mut index = 0;
        observation.grants.retain(|_| {
            index += 1;
            keep[index - 1]
        });

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
            observation
                .notes
                .push(format!("{defaulted_namespace} namespaced object(s) had no namespace and were placed in \"{}\".", options.default_namespace));
        }
        observation.scopes = scopes.into_iter().collect();
        observation.principals = std::mem::take(&mut principals).into_values().collect();
        observation.roles = std::mem::take(&mut roles).into_values().collect();
        Ok(observation)
    }
}

/// Reads the inputs into an observation of cluster `options.cluster`. All or nothing: the first
/// malformed document or invalid object is an error naming the file, document, item and field.
pub fn parse(inputs: &[Input], options: &Options) -> Result<Observation, String> {
    let mut collector = Collector::new(options);
    for input in inputs {
        read_input(input, &mut collector)?;
    }
    collector.finish(inputs)
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
    fn a_list_reads_the_same_whether_kind_comes_before_or_after_its_items() {
        let items = r#"[{"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}},
            {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "n"}, "roleRef": {"kind": "ClusterRole", "name": "view"},
             "subjects": [{"kind": "ServiceAccount", "name": "a"}]}]"#;
        let first = format!(r#"{{"kind": "List", "items": {items}}}"#);
        let last = format!(r#"{{"apiVersion": "v1", "items": {items}, "kind": "List", "metadata": {{}}}}"#);
        let yaml_last = format!("apiVersion: v1\nitems: {}\nkind: List\n", items.replace('\n', " "));
        let a = parse_one("first.json", &first, &[]).unwrap();
        assert_eq!(a.grants.len(), 1);
        assert_eq!(a, parse_one("last.json", &last, &[]).unwrap());
        assert_eq!(a, parse_one("last.yaml", &yaml_last, &[]).unwrap());
    }

    #[test]
    fn items_of_an_object_that_is_not_a_list_are_not_imported() {
        let text = r#"{"items": [{"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}}], "kind": "Widget", "metadata": {"name": "w"}}"#;
        let e = parse_one("w.json", text, &[]).unwrap_err();
        assert!(e.contains("nothing to import") && e.contains("1 Widget"), "{e}");
        let yaml = "items:\n- kind: ServiceAccount\n  metadata: {name: a, namespace: n}\nkind: Widget\nmetadata: {name: w}\n";
        let e = parse_one("w.yaml", yaml, &[]).unwrap_err();
        assert!(e.contains("1 Widget"), "{e}");
    }

    #[test]
    fn only_the_annotations_that_link_to_a_cloud_identity_are_kept() {
        let text = r#"{"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\"}",
            "iam.gke.io/gcp-service-account": "a@p.iam.gserviceaccount.com", "eks.amazonaws.com/role-arn": null}}}"#;
        let o = parse_one("a.json", text, &[]).unwrap();
        let labels: Vec<(&str, &str)> = o.principals[0].labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(labels, [("aws-role-arn", ""), ("gcp-service-account", "a@p.iam.gserviceaccount.com")]);
    }

    #[test]
    fn an_invalid_item_read_on_the_fly_is_named_and_nothing_is_kept() {
        let text = r#"{"kind": "List", "items": [{"kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "n"}},
            {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "n"}, "roleRef": {"kind": "Role", "name": "r"}, "subjects": "all"}]}"#;
        let e = parse_one("l.json", text, &[]).unwrap_err();
        assert_eq!(e.split(": `").next(), Some("l.json, document 1, item 2 (RoleBinding n/b)"), "{e}");
        assert!(e.contains("`subjects` is not valid"), "{e}");
        let e = parse_one("l.json", &text.replace("\"subjects\": \"all\"}]}", "\"subjects\": []}]]}"), &[]).unwrap_err();
        assert!(e.starts_with("l.json: not valid Kubernetes JSON"), "{e}");
    }

    #[test]
    fn a_kubectl_yaml_list_is_read_item_by_item_like_the_whole_document() {
        assert!(KubectlYamlList::split(LIST_YAML).is_some(), "kubectl's layout is split");
        // Comments, blank lines, an entry whose body starts on the next line, CRLF line ends,
        // a typed List whose items carry no kind, and `kind` after the items.
        let text = "apiVersion: v1\r\nitems:\r\n# the first\r\n- metadata:\r\n    name: a\r\n    namespace: n\r\n\r\n-\r\n  metadata:\r\n    name: b\r\n    namespace: n\r\n    annotations:\r\n      note: |\r\n        - not an item\r\n        items:\r\nkind: ServiceAccountList\r\nmetadata: {}\r\n";
        let split = KubectlYamlList::split(text).expect("split");
        assert_eq!((split.kind.as_str(), split.items.len()), ("ServiceAccountList", 2));
        let o = parse_one("sa.yaml", text, &[]).unwrap();
        let refs: Vec<&str> = o.principals.iter().map(|p| p.source_ref.as_str()).collect();
        assert_eq!(refs, ["ServiceAccount/n/a", "ServiceAccount/n/b"]);
        // Anchors could tie items together: such a document is read whole, and still reads.
        let anchored = "items:\n- kind: ServiceAccount\n  metadata: &m {name: a, namespace: n}\n- kind: Role\n  metadata: *m\n  rules: []\nkind: List\n";
        assert!(KubectlYamlList::split(anchored).is_none());
        assert_eq!(parse_one("a.yaml", anchored, &[]).unwrap().roles.len(), 1);
        // Several documents are read as they are.
        assert!(KubectlYamlList::split(MANIFESTS).is_none());
    }

    #[test]
    fn a_bad_item_of_a_kubectl_yaml_list_is_named_with_its_line_in_the_file() {
        let text = "apiVersion: v1\nitems:\n- kind: ServiceAccount\n  metadata: {name: a, namespace: n}\n- kind: Role\n  metadata: {name: r, namespace: n}\n  rules: [{verbs: [get]}\n- kind: Role\n  metadata: {name: q, namespace: n}\nkind: List\n";
        let e = parse_one("l.yaml", text, &[]).unwrap_err();
        assert!(e.starts_with("l.yaml, document 1, item 2: not valid Kubernetes YAML: "), "{e}");
        // The item (lines 5 to 7) ends inside an open `[`: the file's line 7 or 8, not the item's 3 or 4.
        let lines: Vec<usize> = e.split(" at line ").skip(1).filter_map(|r| r.split(' ').next()?.parse().ok()).collect();
        assert!(!lines.is_empty() && lines.iter().all(|l| (5..=8).contains(l)), "every position is the file's: {e}");
        let text = text.replace("rules: [{verbs: [get]}", "rules: [{verbs: []}]");
        let e = parse_one("l.yaml", &text, &[]).unwrap_err();
        assert!(e.contains("item 2 (Role n/r)") && e.contains("`rules[0].verbs` is required"), "{e}");
    }

    #[test]
    fn a_long_kubectl_yaml_list_reads_every_item_and_reports_its_first_bad_one() {
        // Items are parsed a chunk at a time on every core (on a machine with more than one):
        // more items than two chunks hold.
        let item = |n: usize| format!("- kind: ServiceAccount\n  metadata:\n    name: sa-{n:04}\n    namespace: n\n");
        let list = |items: &[String]| format!("apiVersion: v1\nitems:\n{}kind: List\nmetadata: {{}}\n", items.concat());
        let mut items: Vec<String> = (0..2500).map(item).collect();
        let o = parse_one("l.yaml", &list(&items), &[]).unwrap();
        let names: Vec<String> = o.principals.iter().map(|p| p.source_ref.clone()).collect();
        assert_eq!(names, (0..2500).map(|n| format!("ServiceAccount/n/sa-{n:04}")).collect::<Vec<_>>());
        // Two bad items in one chunk, parsed by different threads: the first is reported, at
        // its line in the file (two header lines, four lines per item).
        items[1800] = "- kind: ServiceAccount\n  metadata: [\n".to_owned();
        items[1100] = "- kind: ServiceAccount\n  metadata: {name: x\n".to_owned();
        let e = parse_one("l.yaml", &list(&items), &[]).unwrap_err();
        assert!(e.starts_with("l.yaml, document 1, item 1101: not valid Kubernetes YAML: "), "{e}");
        let line = 2 + 1100 * 4 + 1;
        let lines: Vec<usize> = e.split(" at line ").skip(1).filter_map(|r| r.split(' ').next()?.parse().ok()).collect();
        assert!(!lines.is_empty() && lines.iter().all(|l| (line..=line + 3).contains(l)), "{line}: {e}");
    }

    #[test]
    fn a_key_given_twice_is_refused() {
        let e = parse_one("d.json", r#"{"kind": "List", "items": [], "kind": "ServiceAccount", "metadata": {"name": "a"}}"#, &[]).unwrap_err();
        assert!(e.contains("duplicate field `kind`"), "{e}");
        let e = parse_one("d.yaml", "kind: ServiceAccount\nmetadata: {name: a}\nmetadata: {name: b}\n", &[]).unwrap_err();
        assert!(e.contains("duplicate") && e.contains("metadata"), "{e}");
    }

    #[test]
    fn a_typed_list_from_the_api_gives_its_items_their_kind() {
        let text = r#"{"apiVersion": "v1", "kind": "ServiceAccountList", "items": [{"metadata": {"name": "a", "namespace": "n"}}]}"#;
        let o = parse_one("sa.json", text, &[]).unwrap();
        assert_eq!(o.principals[0].source_ref, "ServiceAccount/n/a");
    }
}
