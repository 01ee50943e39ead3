//! The escalation graph over a ledger, and its queries.
//!
//! Nodes are identities, privileged roles (targets), each source's full control (a target)
//! and groups of accounts ("every service account of namespace `ns` in cluster `prod`"). A
//! group keeps the graph linear: a thousand identities that may create pods in a namespace of
//! a thousand service accounts make two thousand edges through the group, not a million.
//!
//! Path lengths count *hops* (escalation steps): holding a role and belonging to a group cost
//! nothing, so the queries walk with a 0-1 breadth-first search.

use super::{EdgeRule, EscalationPath, Hop, NodeKind, NodeRef, Reacher, Reason};
use crate::domain::scope::ScopePath;
use crate::domain::source::{SourceKind, SourceRule};
use std::collections::{HashMap, HashSet, VecDeque};

/// The source an identity or role was imported from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceOf {
    pub id: String,
    pub kind: SourceKind,
    /// The cluster, account or project.
    pub name: String,
}

/// An identity as the graph needs it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub id: String,
    pub name: String,
    pub source: Option<SourceOf>,
    /// The object's key in its source: `ServiceAccount/ns/name`, `User/name`, an ARN,
    /// `serviceAccount:email`.
    pub source_ref: Option<String>,
    /// An AWS role's trust policy (the JSON document), as imported.
    pub trust_policy: Option<String>,
}

/// A role version held by at least one grant.
#[derive(Debug, Clone)]
pub struct Version {
    pub role_id: String,
    pub slug: String,
    pub version: i64,
    /// Marked privileged in the catalog.
    pub privileged: bool,
    pub source: Option<SourceOf>,
    /// `ClusterRole/name`, `Role/ns/name`, a policy ARN, `roles/owner`.
    pub source_ref: Option<String>,
    pub rules: Vec<SourceRule>,
}

/// A live grant: an identity holds a role version on a scope.
#[derive(Debug, Clone)]
pub struct Grant {
    pub assignment_id: String,
    pub identity_id: String,
    pub role_id: String,
    pub version: i64,
    pub scope: ScopePath,
    /// The grant's key in its source (an AWS grant through a group names the group).
    pub source_ref: Option<String>,
}

/// What the graph is built from: the identities, the grants in force and their versions.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub principals: Vec<Principal>,
    pub versions: Vec<Version>,
    pub grants: Vec<Grant>,
}

impl Ledger {
    /// The ledger as it would be with the grants `ended` ended and `added` made (with the
    /// identities among `principals` it does not hold yet).
    pub fn changed(&self, ended: &[String], added: Vec<Grant>, principals: Vec<Principal>) -> Ledger {
        let mut ledger = self.clone();
        ledger.grants.retain(|g| !ended.contains(&g.assignment_id));
        ledger.grants.extend(added);
        for p in principals {
            if !ledger.principals.iter().any(|q| q.id == p.id) {
                ledger.principals.push(p);
            }
        }
        ledger
    }
}

impl Ledger {
    /// The ledger with a new version of a role it holds versions of (`rules` its source
    /// rules), made current: holders on other versions move to it only when `move_holders`.
    /// `None` when the role is not on the graph (a native role that is not privileged).
    pub fn with_version(&self, role_id: &str, version: i64, privileged: bool, rules: Vec<SourceRule>, move_holders: bool) -> Option<Ledger> {
        let like = self.versions.iter().find(|v| v.role_id == role_id)?.clone();
        let mut ledger = self.clone();
        ledger.versions.push(Version { version, privileged, rules, ..like });
        if move_holders {
            ledger.grants.iter_mut().filter(|g| g.role_id == role_id).for_each(|g| g.version = version);
        }
        Some(ledger)
    }

    /// The ledger with the holders of a role on `from` (every other version when `None`)
    /// moved to `to`; `None` when the graph does not hold version `to`.
    pub fn with_holders_moved(&self, role_id: &str, from: Option<i64>, to: i64) -> Option<Ledger> {
        self.versions.iter().find(|v| v.role_id == role_id && v.version == to)?;
        let mut ledger = self.clone();
        ledger.grants.iter_mut().filter(|g| g.role_id == role_id && from.is_none_or(|f| g.version == f)).for_each(|g| g.version = to);
        Some(ledger)
    }

    /// The ledger without a role (retired: its grants end with it).
    pub fn without_role(&self, role_id: &str) -> Ledger {
        let mut ledger = self.clone();
        ledger.versions.retain(|v| v.role_id != role_id);
        ledger.grants.retain(|g| g.role_id != role_id);
        ledger
    }

    /// The ledger with the rules of one version of a role replaced (`None` when the graph
    /// does not hold that version): what it was before its source changed it.
    pub fn with_rules(&self, role_id: &str, version: i64, rules: Vec<SourceRule>) -> Option<Ledger> {
        let at = self.versions.iter().position(|v| v.role_id == role_id && v.version == version)?;
        let mut ledger = self.clone();
        ledger.versions[at].rules = rules;
        Some(ledger)
    }

    /// Who holds a role.
    pub fn holders(&self, role_id: &str) -> Vec<String> {
        let mut ids: Vec<String> = self.grants.iter().filter(|g| g.role_id == role_id).map(|g| g.identity_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }
}

#[derive(Debug, Clone)]
struct Node {
    kind: NodeKind,
    id: String,
    label: String,
}

#[derive(Debug, Clone)]
struct Edge {
    to: u32,
    rule: EdgeRule,
    reasons: Reasons,
}

/// The reasons of an edge. Most edges have one, kept inline: a million edges, each with a heap
/// allocation holding one number, cost tens of megabytes.
#[derive(Debug, Clone)]
enum Reasons {
    One(u32),
    Many(Vec<u32>),
}

impl Reasons {
    fn of(reasons: Vec<u32>) -> Self {
        match reasons[..] {
            [one] => Reasons::One(one),
            _ => Reasons::Many(reasons),
        }
    }

    fn as_slice(&self) -> &[u32] {
        match self {
            Reasons::One(r) => std::slice::from_ref(r),
            Reasons::Many(rs) => rs,
        }
    }

    fn add(&mut self, r: u32) {
        if self.as_slice().contains(&r) {
            return;
        }
        match self {
            Reasons::One(first) => *self = Reasons::Many(vec![*first, r]),
            Reasons::Many(rs) if rs.is_empty() => *self = Reasons::One(r),
            Reasons::Many(rs) => rs.push(r),
        }
    }
}

/// A grant as the rule modules read it: the principal's index, the version's, the grant's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    pub grant: usize,
    pub version: usize,
}

/// What a build reads: a ledger, and for a patch the grants and identities a change adds
/// (numbered after the ledger's own), so that the ledger is read in place, never copied.
#[derive(Clone, Copy)]
pub(super) struct Input<'a> {
    pub ledger: &'a Ledger,
    added: &'a [Grant],
    added_principals: &'a [Principal],
}

impl<'a> Input<'a> {
    pub fn principal(self, p: usize) -> &'a Principal {
        self.ledger.principals.get(p).unwrap_or_else(|| &self.added_principals[p - self.ledger.principals.len()])
    }

    pub fn principals(self) -> impl Iterator<Item = (usize, &'a Principal)> {
        self.ledger.principals.iter().chain(self.added_principals).enumerate()
    }

    pub fn principal_count(self) -> usize {
        self.ledger.principals.len() + self.added_principals.len()
    }

    pub fn grant(self, g: usize) -> &'a Grant {
        self.ledger.grants.get(g).unwrap_or_else(|| &self.added[g - self.ledger.grants.len()])
    }
}

/// Builds the graph: the rule modules add edges through it. A patch (see `Patched`) builds
/// only the edges of the identities a change touches, numbering nodes after its base graph's.
pub(super) struct Builder<'a> {
    pub input: Input<'a>,
    pub ledger: &'a Ledger,
    /// The graph a patch extends: its nodes and reasons keep their numbers.
    base: Option<&'a Graph>,
    /// The number of the first node this builder creates (the base graph's node count).
    first: u32,
    nodes: Vec<Node>,
    /// Out-edges by node number (the base graph's nodes included, empty unless rebuilt).
    out: Vec<Vec<Edge>>,
    index: HashMap<(NodeKind, String), u32>,
    reasons: Vec<Reason>,
    reason_index: HashMap<(usize, Vec<String>), u32>,
    /// The edges of nodes with many (an AWS role allowed `iam:PassRole` on `*` leads to every
    /// role of its account), by (from, to, rule): finding one by scanning would be quadratic.
    many: HashMap<(u32, u32, EdgeRule), u32>,
    /// Each principal's grants, by principal index.
    pub held: Vec<Vec<Held>>,
    /// The principals whose edges are built: all, or those a patch rebuilds.
    sources: Vec<usize>,
    /// For a patch, the sources (clusters, accounts, projects) its principals and their roles
    /// belong to: the rule modules index no other.
    relevant: Option<HashSet<&'a str>>,
    /// For a patch, the namespaces of each cluster its principals' grants name (None: all,
    /// for a cluster-wide grant): only their service accounts are indexed.
    namespaces: HashMap<&'a str, Option<HashSet<&'a str>>>,
}

/// Out-degree from which a node's edges are found through `Builder::many`.
const MANY: usize = 16;

impl<'a> Builder<'a> {
    fn new(input: Input<'a>, base: Option<&'a Graph>) -> Self {
        let ledger = input.ledger;
        let first = base.map_or(0, |g| g.nodes.len() as u32);
        let mut builder = Builder {
            input,
            ledger,
            base,
            first,
            nodes: Vec::new(),
            out: vec![Vec::new(); first as usize],
            index: HashMap::new(),
            reasons: Vec::new(),
            reason_index: HashMap::new(),
            many: HashMap::new(),
            held: vec![Vec::new(); input.principal_count()],
            sources: (0..input.principal_count()).collect(),
            relevant: None,
            namespaces: HashMap::new(),
        };
        // A full build numbers the principals 0..; a patch numbers the ones it adds after
        // its base's nodes (the base was built from the same ledger: its principals keep p).
        let skip = if base.is_some() { ledger.principals.len() } else { 0 };
        for (_, p) in input.principals().skip(skip) {
            builder.node(NodeKind::Identity, &p.id, || p.name.clone());
        }
        builder
    }

    /// Fills in the grants the principals `wanted` (by id) hold.
    fn hold(&mut self, wanted: &HashMap<&str, usize>) {
        let input = self.input;
        let version_at: HashMap<(&str, i64), usize> = input.ledger.versions.iter().enumerate().map(|(i, v)| ((v.role_id.as_str(), v.version), i)).collect();
        for (g, grant) in input.ledger.grants.iter().chain(input.added).enumerate() {
            if let Some(&p) = wanted.get(grant.identity_id.as_str())
                && let Some(&v) = version_at.get(&(grant.role_id.as_str(), grant.version))
            {
                self.held[p].push(Held { grant: g, version: v });
            }
        }
    }

    /// The principals the rule modules index: all, or for a patch those of its sources.
    pub fn indexed(&self) -> Vec<(usize, &'a Principal)> {
        let input = self.input;
        match (self.base, &self.relevant) {
            (Some(base), Some(relevant)) => {
                let mut sources: Vec<&str> = relevant.iter().copied().collect();
                sources.sort_unstable();
                let mut principals = Vec::new();
                for source in sources {
                    let wanted = self.namespaces.get(source);
                    let places = base.by_source.get(source).into_iter().flatten();
                    for (_, held) in places.filter(|(ns, _)| ns.as_deref().is_none_or(|ns| wanted.is_none_or(|w| w.as_ref().is_none_or(|w| w.contains(ns))))) {
                        principals.extend(held.iter().map(|&p| (p, input.principal(p))));
                    }
                }
                principals.sort_unstable_by_key(|(p, _)| *p);
                principals
            }
            _ => input.principals().collect(),
        }
    }

    /// Whether the rule modules should index a source's roles (a cluster's, an account's);
    /// `indexed()` already keeps to these sources' principals.
    pub fn wants(&self, source_id: &str) -> bool {
        self.relevant.as_ref().is_none_or(|r| r.contains(source_id))
    }

    /// The principals whose edges are built.
    pub fn sources(&self) -> Vec<usize> {
        self.sources.clone()
    }

    fn node(&mut self, kind: NodeKind, id: &str, label: impl FnOnce() -> String) -> u32 {
        let key = (kind, id.to_owned());
        if let Some(&n) = self.base.and_then(|g| g.index.get(&key)).or_else(|| self.index.get(&key)) {
            return n;
        }
        let n = self.first + self.nodes.len() as u32;
        self.nodes.push(Node { kind, id: id.to_owned(), label: label() });
        self.out.push(Vec::new());
        self.index.insert(key, n);
        n
    }

    /// The node of principal `p`.
    pub fn identity(&self, p: usize) -> u32 {
        match self.base {
            Some(_) if p >= self.ledger.principals.len() => self.first + (p - self.ledger.principals.len()) as u32,
            _ => p as u32,
        }
    }

    /// The node of a privileged role (a target).
    pub fn role(&mut self, v: usize) -> u32 {
        let version = &self.ledger.versions[v];
        let slug = version.slug.clone();
        self.node(NodeKind::Role, &version.role_id.clone(), || slug)
    }

    /// The full control of a source (a target).
    pub fn control(&mut self, source: &SourceOf) -> u32 {
        let label = match source.kind {
            SourceKind::Kubernetes => format!("full control of cluster {}", source.name),
            SourceKind::Aws => format!("full control of AWS account {}", source.name),
            SourceKind::Gcp => format!("full control of GCP project {}", source.name),
        };
        self.node(NodeKind::Control, &source.id, || label)
    }

    /// A group of accounts, created with its members on first use.
    pub fn group(&mut self, key: &str, label: impl FnOnce() -> String, members: impl FnOnce() -> Vec<u32>) -> u32 {
        let existing = (NodeKind::Group, key.to_owned());
        if let Some(&n) = self.base.and_then(|g| g.index.get(&existing)).or_else(|| self.index.get(&existing)) {
            return n;
        }
        let n = self.node(NodeKind::Group, key, label);
        for member in members() {
            self.edge(n, member, EdgeRule::Member, Vec::new());
        }
        n
    }

    /// The reason for an edge: grant `held` and the rules of its version that allow it.
    pub fn reason(&mut self, held: Held, rules: &[&SourceRule]) -> u32 {
        let summaries: Vec<String> = rules.iter().map(|r| r.summary()).collect();
        let key = (held.grant, summaries);
        if let Some(&r) = self.reason_index.get(&key) {
            return r;
        }
        let grant = self.input.grant(held.grant);
        let version = &self.ledger.versions[held.version];
        let r = (self.base.map_or(0, |g| g.reasons.len()) + self.reasons.len()) as u32;
        self.reasons.push(Reason {
            assignment_id: grant.assignment_id.clone(),
            role_id: version.role_id.clone(),
            role_slug: version.slug.clone(),
            version: version.version,
            rules: key.1.clone(),
        });
        self.reason_index.insert(key, r);
        r
    }

    pub fn edge(&mut self, from: u32, to: u32, rule: EdgeRule, reasons: Vec<u32>) {
        if from == to {
            return;
        }
        let edges = &mut self.out[from as usize];
        // One edge per (target, rule); further grants that allow the same step add reasons.
        let found = if edges.len() < MANY {
            edges.iter().position(|e| e.to == to && e.rule == rule)
        } else {
            if edges.len() == MANY && !self.many.contains_key(&(from, edges[0].to, edges[0].rule)) {
                self.many.extend(edges.iter().enumerate().map(|(i, e)| ((from, e.to, e.rule), i as u32)));
            }
            self.many.get(&(from, to, rule)).map(|&i| i as usize)
        };
        if let Some(i) = found {
            let e = &mut edges[i];
            for r in reasons {
                e.reasons.add(r);
            }
            return;
        }
        if edges.len() >= MANY {
            self.many.insert((from, to, rule), edges.len() as u32);
        }
        edges.push(Edge { to, rule, reasons: Reasons::of(reasons) });
    }

    fn finish(self) -> Graph {
        let mut back = vec![Vec::new(); self.nodes.len()];
        for (from, edges) in self.out.iter().enumerate() {
            for (i, e) in edges.iter().enumerate() {
                back[e.to as usize].push((from as u32, i as u32));
            }
        }
        let control_of = self
            .ledger
            .versions
            .iter()
            .filter_map(|v| Some((v.role_id.clone(), self.index.get(&(NodeKind::Control, v.source.as_ref()?.id.clone())).copied()?)))
            .collect();
        let mut by_source: HashMap<String, HashMap<Option<String>, Vec<usize>>> = HashMap::new();
        for (p, principal) in self.input.principals() {
            if let Some(source) = &principal.source {
                let ns = principal.source_ref.as_deref().and_then(|r| r.strip_prefix("ServiceAccount/")?.split_once('/')).map(|(ns, _)| ns.to_owned());
                by_source.entry(source.id.clone()).or_default().entry(ns).or_default().push(p);
            }
        }
        Graph { nodes: self.nodes, out: self.out, back, index: self.index, reasons: self.reasons, control_of, held: self.held, by_source }
    }

    /// Every edge the rules make for `sources()`: holding privileged roles, then each source's.
    fn edges(&mut self) {
        let (input, ledger) = (self.input, self.ledger);
        // Holding a privileged role reaches it, and holding an all-powerful one on the
        // source's whole scope (a ClusterRoleBinding, an AWS attachment) reaches full control.
        for p in self.sources() {
            let from = self.identity(p);
            for held in self.held[p].clone() {
                let version = &ledger.versions[held.version];
                if !is_target(version) {
                    continue;
                }
                let reason = self.reason(held, &[]);
                let role = self.role(held.version);
                self.edge(from, role, EdgeRule::Holds, vec![reason]);
                let whole = input.grant(held.grant).scope.depth() <= 2;
                if let (true, true, Some(source)) = (all_powerful(version), whole, version.source.clone()) {
                    let control = self.control(&source);
                    self.edge(from, control, EdgeRule::Holds, vec![reason]);
                }
            }
        }
        super::kubernetes::edges(self);
        super::aws::edges(self);
        super::gcp::edges(self);
    }
}

/// Whether a role version is a privileged target: marked privileged, or all-powerful in its
/// source (`cluster-admin`, AWS `AdministratorAccess` or any `*` on `*`, GCP owner or editor).
pub fn is_target(v: &Version) -> bool {
    v.privileged || all_powerful(v)
}

/// Whether holding the version on its source's whole scope is full control of the source.
pub fn all_powerful(v: &Version) -> bool {
    let named =
        matches!(v.source_ref.as_deref(), Some("ClusterRole/cluster-admin" | "arn:aws:iam::aws:policy/AdministratorAccess" | "roles/owner" | "roles/editor"));
    let everything = v.rules.iter().any(|r| {
        r.effect == crate::domain::source::Effect::Allow
            && r.condition.is_none()
            && r.actions.iter().any(|a| a == "*")
            && (r.resources.is_empty() || r.resources.iter().any(|x| x == "*"))
            && (r.api_groups.is_empty() || r.api_groups.iter().any(|g| g == "*"))
    });
    named || everything
}

/// The escalation graph of a ledger.
#[derive(Debug, Clone)]
pub struct Graph {
    nodes: Vec<Node>,
    out: Vec<Vec<Edge>>,
    back: Vec<Vec<(u32, u32)>>,
    index: HashMap<(NodeKind, String), u32>,
    reasons: Vec<Reason>,
    /// The full-control node of each imported role's source.
    control_of: HashMap<String, u32>,
    /// What a patch reads instead of the whole ledger: each principal's grants, and the
    /// principals of each source.
    held: Vec<Vec<Held>>,
    /// Principals by source id and Kubernetes namespace (None: not a service account).
    by_source: HashMap<String, HashMap<Option<String>, Vec<usize>>>,
}

const UNREACHED: u32 = u32::MAX;

/// A graph as the queries read it: whole, or a base graph with a change patched in.
trait View {
    fn len(&self) -> usize;
    fn node(&self, n: u32) -> &Node;
    fn find(&self, key: &(NodeKind, String)) -> Option<u32>;
    fn out(&self, n: u32) -> &[Edge];
    /// Calls `f(from, i)` for every edge `out(from)[i]` that leads to `n`.
    fn back(&self, n: u32, f: impl FnMut(u32, u32));
    fn reason(&self, r: u32) -> &Reason;

    fn node_ref(&self, n: u32) -> NodeRef {
        let node = self.node(n);
        NodeRef { kind: node.kind, id: node.id.clone(), label: node.label.clone() }
    }

    fn is_target(&self, n: u32) -> bool {
        matches!(self.node(n).kind, NodeKind::Role | NodeKind::Control)
    }

    fn hop(&self, from: u32, i: u32) -> Hop {
        let e = &self.out(from)[i as usize];
        Hop {
            from: self.node_ref(from),
            to: self.node_ref(e.to),
            rule: e.rule,
            reasons: e.reasons.as_slice().iter().map(|&r| self.reason(r).clone()).collect(),
        }
    }

    /// Fewest hops from `start` to every node, with the edge each was reached by.
    fn walk(&self, start: u32) -> (Vec<u32>, Vec<(u32, u32)>) {
        let n = self.len();
        let mut dist = vec![UNREACHED; n];
        let mut parent: Vec<(u32, u32)> = vec![(UNREACHED, 0); n];
        let mut queue = VecDeque::from([start]);
        dist[start as usize] = 0;
        while let Some(at) = queue.pop_front() {
            for (i, e) in self.out(at).iter().enumerate() {
                let cost = u32::from(e.rule.is_hop());
                let d = dist[at as usize] + cost;
                if d < dist[e.to as usize] {
                    dist[e.to as usize] = d;
                    parent[e.to as usize] = (at, i as u32);
                    if cost == 0 {
                        queue.push_front(e.to);
                    } else {
                        queue.push_back(e.to);
                    }
                }
            }
        }
        (dist, parent)
    }

    fn path(&self, start: u32, target: u32, dist: &[u32], parent: &[(u32, u32)]) -> EscalationPath {
        let mut steps = Vec::new();
        let mut at = target;
        while at != start {
            let (from, i) = parent[at as usize];
            steps.push(self.hop(from, i));
            at = from;
        }
        steps.reverse();
        EscalationPath { from: self.node_ref(start), target: self.node_ref(target), hops: dist[target as usize], steps }
    }

    /// The targets `identity_id` reaches (holding them or not), by node id, with their hops.
    fn targets_of(&self, identity_id: &str) -> HashMap<(NodeKind, String), u32> {
        let Some(start) = self.find(&(NodeKind::Identity, identity_id.to_owned())) else {
            return HashMap::new();
        };
        let (dist, _) = self.walk(start);
        (0..self.len() as u32)
            .filter(|&t| self.is_target(t) && dist[t as usize] != UNREACHED)
            .map(|t| ((self.node(t).kind, self.node(t).id.clone()), dist[t as usize]))
            .collect()
    }

    /// Fewest hops of every identity to one target, by identity id.
    fn identities_reaching(&self, target: &(NodeKind, String)) -> HashMap<&str, u32> {
        let Some(t) = self.find(target) else {
            return HashMap::new();
        };
        let (dist, _) = self.distances_to(&[t]);
        (0..self.len())
            .filter(|&i| dist[i] != UNREACHED && self.node(i as u32).kind == NodeKind::Identity)
            .map(|i| (self.node(i as u32).id.as_str(), dist[i]))
            .collect()
    }

    /// Fewest hops from every node to any of `seeds`, walking edges backwards, with the edge
    /// each node leaves by on its way (an index into its `out`).
    fn distances_to(&self, seeds: &[u32]) -> (Vec<u32>, Vec<u32>) {
        let mut dist = vec![UNREACHED; self.len()];
        let mut next: Vec<u32> = vec![UNREACHED; self.len()];
        let mut queue = VecDeque::new();
        for &s in seeds {
            dist[s as usize] = 0;
            queue.push_back(s);
        }
        while let Some(at) = queue.pop_front() {
            self.back(at, |from, i| {
                let cost = u32::from(self.out(from)[i as usize].rule.is_hop());
                let d = dist[at as usize] + cost;
                if d < dist[from as usize] {
                    dist[from as usize] = d;
                    next[from as usize] = i;
                    if cost == 0 {
                        queue.push_front(from);
                    } else {
                        queue.push_back(from);
                    }
                }
            });
        }
        (dist, next)
    }

    /// The paths of `identities` to `target`, each the shortest, from one backward walk.
    fn paths_to(&self, target: &(NodeKind, String), identities: &[&str]) -> Vec<EscalationPath> {
        let Some(t) = self.find(target) else { return Vec::new() };
        let (dist, next) = self.distances_to(&[t]);
        identities
            .iter()
            .filter_map(|id| {
                let start = self.find(&(NodeKind::Identity, (*id).to_owned()))?;
                if dist[start as usize] == UNREACHED {
                    return None;
                }
                let mut steps = Vec::new();
                let mut at = start;
                while at != t {
                    let i = next[at as usize];
                    steps.push(self.hop(at, i));
                    at = self.out(at)[i as usize].to;
                }
                Some(EscalationPath { from: self.node_ref(start), target: self.node_ref(t), hops: dist[start as usize], steps })
            })
            .collect()
    }
}

impl View for Graph {
    fn len(&self) -> usize {
        self.nodes.len()
    }

    fn node(&self, n: u32) -> &Node {
        &self.nodes[n as usize]
    }

    fn find(&self, key: &(NodeKind, String)) -> Option<u32> {
        self.index.get(key).copied()
    }

    fn out(&self, n: u32) -> &[Edge] {
        &self.out[n as usize]
    }

    fn back(&self, n: u32, mut f: impl FnMut(u32, u32)) {
        for &(from, i) in &self.back[n as usize] {
            f(from, i);
        }
    }

    fn reason(&self, r: u32) -> &Reason {
        &self.reasons[r as usize]
    }
}

impl Graph {
    pub fn build(ledger: &Ledger) -> Graph {
        let input = Input { ledger, added: &[], added_principals: &[] };
        let mut b = Builder::new(input, None);
        b.hold(&input.principals().map(|(i, p)| (p.id.as_str(), i)).collect());
        b.edges();
        b.finish()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.out.iter().map(Vec::len).sum()
    }

    /// Every privileged target `identity_id` can reach through at least one hop, by the
    /// shortest path (fewest hops), nearest first. Targets it holds outright are not paths.
    pub fn reach(&self, identity_id: &str) -> Vec<EscalationPath> {
        let Some(&start) = self.index.get(&(NodeKind::Identity, identity_id.to_owned())) else {
            return Vec::new();
        };
        let (dist, parent) = self.walk(start);
        // Full control of a source implies each of its roles: a role reached no sooner than
        // its source's full control is not listed beside it.
        let implied = |t: u32| {
            self.nodes[t as usize].kind == NodeKind::Role
                && self.control_of.get(&self.nodes[t as usize].id).is_some_and(|&c| dist[c as usize] <= dist[t as usize])
        };
        let mut paths: Vec<EscalationPath> = (0..self.nodes.len() as u32)
            .filter(|&t| self.is_target(t) && dist[t as usize] != UNREACHED && dist[t as usize] > 0 && !implied(t))
            .map(|t| self.path(start, t, &dist, &parent))
            .collect();
        paths.sort_by(|a, b| a.hops.cmp(&b.hops).then_with(|| a.target.label.cmp(&b.target.label)));
        paths
    }

    /// The identities that can reach a target — a privileged role (or its source's full
    /// control, which grants any role) or a source's full control — with their fewest hops;
    /// holders come with 0 hops. `target_id` is a role id or a source id.
    pub fn reachers(&self, target_id: &str) -> Vec<Reacher> {
        let mut seeds = Vec::new();
        if let Some(&role) = self.index.get(&(NodeKind::Role, target_id.to_owned())) {
            seeds.push(role);
            seeds.extend(self.control_of.get(target_id).copied());
        }
        seeds.extend(self.index.get(&(NodeKind::Control, target_id.to_owned())).copied());
        let (dist, _) = self.distances_to(&seeds);
        let mut reachers: Vec<Reacher> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::Identity && dist[i] != UNREACHED)
            .map(|i| Reacher { identity: self.node_ref(i as u32), hops: dist[i] })
            .collect();
        reachers.sort_by(|a, b| a.hops.cmp(&b.hops).then_with(|| a.identity.label.cmp(&b.identity.label)));
        reachers
    }

    /// Every (identity, target, hops) with at least one hop, ledger-wide — exactly the targets
    /// `reach` lists for each identity: one backward walk per target, so the cost grows with
    /// the targets, not the identities.
    pub fn paths(&self) -> Vec<(NodeRef, NodeRef, u32)> {
        // Distances to each source's full control, to leave out the roles it implies.
        let mut to_control: HashMap<u32, Vec<u32>> = HashMap::new();
        for &c in self.control_of.values() {
            to_control.entry(c).or_insert_with(|| self.distances_to(&[c]).0);
        }
        let mut all = Vec::new();
        for t in (0..self.nodes.len() as u32).filter(|&t| self.is_target(t)) {
            let node = &self.nodes[t as usize];
            let control = (node.kind == NodeKind::Role).then(|| self.control_of.get(&node.id)).flatten().and_then(|c| to_control.get(c));
            let (dist, _) = self.distances_to(&[t]);
            for (i, &d) in dist.iter().enumerate() {
                let implied = control.is_some_and(|c| c[i] <= d);
                if d != UNREACHED && d > 0 && !implied && self.nodes[i].kind == NodeKind::Identity {
                    all.push((self.node_ref(i as u32), self.node_ref(t), d));
                }
            }
        }
        all
    }

    /// The targets of the graph (privileged roles held or reachable, and full controls).
    pub fn targets(&self) -> Vec<NodeRef> {
        (0..self.nodes.len() as u32).filter(|&t| self.is_target(t)).map(|t| self.node_ref(t)).collect()
    }
}

/// A graph with a change to some identities' grants patched in: their out-edges rebuilt, the
/// nodes and reasons they lead to added, everything else read from the base graph. Building
/// it costs what those identities' edges cost, not the whole ledger's (the blast radius of a
/// grant is computed on every review).
struct Patched<'g> {
    base: &'g Graph,
    /// Nodes the change adds, numbered from `base.len()`.
    nodes: Vec<Node>,
    index: HashMap<(NodeKind, String), u32>,
    /// Base nodes whose out-edges `out` replaces.
    replaced: Vec<bool>,
    /// The out-edges of replaced and added nodes.
    out: HashMap<u32, Vec<Edge>>,
    back: HashMap<u32, Vec<(u32, u32)>>,
    /// Reasons the change adds, numbered from `base.reasons.len()`.
    reasons: Vec<Reason>,
}

impl<'g> Patched<'g> {
    /// `base` (the graph of `ledger`) with the grants `ended` ended and `added` made (and the
    /// identities among `principals` the ledger does not hold yet). `None` when the change
    /// moves edges of identities it does not touch: a grant through an AWS group changes what
    /// joining the group gives every user of the account; only a full build is right then.
    fn of(base: &'g Graph, ledger: &Ledger, ended: &[String], added: &[Grant], principals: &[Principal]) -> Option<Patched<'g>> {
        let ended_grants: Vec<&Grant> = ledger.grants.iter().filter(|g| ended.contains(&g.assignment_id)).collect();
        if ended_grants.iter().copied().chain(added).any(|g| g.source_ref.as_deref().is_some_and(|r| r.contains("#group/"))) {
            return None;
        }
        let mut new_principals: Vec<Principal> = Vec::new();
        for p in principals {
            if !ledger.principals.iter().any(|q| q.id == p.id) && !new_principals.iter().any(|q| q.id == p.id) {
                new_principals.push(p.clone());
            }
        }
        let input = Input { ledger, added, added_principals: &new_principals };
        let mut b = Builder::new(input, Some(base));
        let mut touched: HashMap<&str, usize> = HashMap::new();
        for id in ended_grants.iter().map(|g| g.identity_id.as_str()).chain(added.iter().map(|g| g.identity_id.as_str())) {
            if !touched.contains_key(id)
                && let Some((p, _)) = input.principals().find(|(_, q)| q.id == id)
            {
                touched.insert(id, p);
            }
        }
        // Their grants: the base's (it was built from this ledger) but those ended, and those
        // added (numbered after the ledger's).
        let kept = |p: usize| -> Vec<Held> {
            base.held.get(p).into_iter().flatten().filter(|h| !ended.contains(&ledger.grants[h.grant].assignment_id)).copied().collect()
        };
        for (&id, &p) in &touched {
            let mut held = kept(p);
            for (j, grant) in added.iter().enumerate().filter(|(_, g)| g.identity_id == id) {
                if let Some(v) = ledger.versions.iter().position(|v| v.role_id == grant.role_id && v.version == grant.version) {
                    held.push(Held { grant: ledger.grants.len() + j, version: v });
                }
            }
            b.held[p] = held;
        }
        let mut relevant: HashSet<&str> = HashSet::new();
        let mut namespaces: HashMap<&str, Option<HashSet<&str>>> = HashMap::new();
        for &p in touched.values() {
            if let Some(source) = &input.principal(p).source {
                relevant.insert(&source.id);
                if source.kind == SourceKind::Kubernetes {
                    namespaces.entry(&source.id).or_insert_with(|| Some(HashSet::new()));
                }
            }
            for h in &b.held[p] {
                let Some(source) = &ledger.versions[h.version].source else { continue };
                relevant.insert(&source.id);
                if source.kind == SourceKind::Kubernetes {
                    let entry = namespaces.entry(&source.id).or_insert_with(|| Some(HashSet::new()));
                    match (entry.as_mut(), input.grant(h.grant).scope.as_str().split('/').nth(2)) {
                        (Some(wanted), Some(ns)) => {
                            wanted.insert(ns);
                        }
                        _ => *entry = None,
                    }
                }
            }
        }
        // What joining an AWS group gives comes from its members' grants: the other principals
        // of the accounts involved need theirs too.
        for source in &relevant {
            let Some(places) = base.by_source.get(*source) else { continue };
            let members: Vec<usize> = places.values().flatten().copied().collect();
            if members.first().is_none_or(|&m| input.principal(m).source.as_ref().is_none_or(|s| s.kind != SourceKind::Aws)) {
                continue;
            }
            for m in members.into_iter().filter(|&m| !touched.values().any(|&t| t == m)) {
                b.held[m] = kept(m);
            }
        }
        let mut touched: Vec<usize> = touched.into_values().collect();
        touched.sort_unstable();
        b.sources = touched.clone();
        b.relevant = Some(relevant);
        b.namespaces = namespaces;
        b.edges();

        let first = b.first;
        let mut replaced = vec![false; first as usize];
        let mut out: HashMap<u32, Vec<Edge>> = HashMap::new();
        for &p in &touched {
            let n = b.identity(p);
            if n < first {
                replaced[n as usize] = true;
            }
            out.insert(n, std::mem::take(&mut b.out[n as usize]));
        }
        for n in first..first + b.nodes.len() as u32 {
            out.entry(n).or_insert_with(|| std::mem::take(&mut b.out[n as usize]));
        }
        // In node order, so that equally short paths are chosen the same way every time.
        let mut from_nodes: Vec<u32> = out.keys().copied().collect();
        from_nodes.sort_unstable();
        let mut back: HashMap<u32, Vec<(u32, u32)>> = HashMap::new();
        for from in from_nodes {
            for (i, e) in out[&from].iter().enumerate() {
                back.entry(e.to).or_default().push((from, i as u32));
            }
        }
        Some(Patched { base, nodes: b.nodes, index: b.index, replaced, out, back, reasons: b.reasons })
    }
}

impl View for Patched<'_> {
    fn len(&self) -> usize {
        self.base.nodes.len() + self.nodes.len()
    }

    fn node(&self, n: u32) -> &Node {
        self.base.nodes.get(n as usize).unwrap_or_else(|| &self.nodes[n as usize - self.base.nodes.len()])
    }

    fn find(&self, key: &(NodeKind, String)) -> Option<u32> {
        self.base.index.get(key).or_else(|| self.index.get(key)).copied()
    }

    fn out(&self, n: u32) -> &[Edge] {
        match self.replaced.get(n as usize) {
            Some(false) => &self.base.out[n as usize],
            _ => self.out.get(&n).map_or(&[], Vec::as_slice),
        }
    }

    fn back(&self, n: u32, mut f: impl FnMut(u32, u32)) {
        for &(from, i) in self.base.back.get(n as usize).into_iter().flatten() {
            if !self.replaced[from as usize] {
                f(from, i);
            }
        }
        for &(from, i) in self.back.get(&n).into_iter().flatten() {
            f(from, i);
        }
    }

    fn reason(&self, r: u32) -> &Reason {
        self.base.reasons.get(r as usize).unwrap_or_else(|| &self.reasons[r as usize - self.base.reasons.len()])
    }
}

/// The escalation paths a change to some identities' grants opens and closes: `base` is the
/// graph of `ledger`, the change ends the grants `ended` and makes `added` (for `principals`
/// not on the ledger yet, those among them). Only the changed identities' edges are rebuilt.
pub fn grant_delta(base: &Graph, ledger: &Ledger, ended: &[String], added: Vec<Grant>, principals: Vec<Principal>) -> super::EscalationDelta {
    let mut changed: Vec<String> = ledger.grants.iter().filter(|g| ended.contains(&g.assignment_id)).map(|g| g.identity_id.clone()).collect();
    changed.extend(added.iter().map(|g| g.identity_id.clone()));
    changed.sort();
    changed.dedup();
    let patched = Patched::of(base, ledger, ended, &added, &principals);
    match patched {
        Some(after) => delta_between(base, &after, &changed),
        None => delta_between(base, &Graph::build(&ledger.changed(ended, added, principals)), &changed),
    }
}

/// The escalation paths a change opens and closes: `before` and `after` are the graphs of the
/// ledger without and with it, `changed` the identities whose grants it changes.
pub fn delta(before: &Graph, after: &Graph, changed: &[String]) -> super::EscalationDelta {
    delta_between(before, after, changed)
}

/// Only targets the changed identities reach differently can change for anyone (an identity
/// reaches a target through them or not at all), so each such target is walked backwards in
/// both graphs.
fn delta_between(before: &impl View, after: &impl View, changed: &[String]) -> super::EscalationDelta {
    let mut targets: Vec<(NodeKind, String)> = Vec::new();
    for identity in changed {
        let (was, is) = (before.targets_of(identity), after.targets_of(identity));
        for t in was.keys().filter(|t| !is.contains_key(*t)).chain(is.keys().filter(|t| !was.contains_key(*t))) {
            if !targets.contains(t) {
                targets.push(t.clone());
            }
        }
    }
    // Every (identity, target, hops) opened or closed.
    let mut opened: Vec<Pair> = Vec::new();
    let mut closed: Vec<Pair> = Vec::new();
    for target in &targets {
        let (was, is) = (before.identities_reaching(target), after.identities_reaching(target));
        opened.extend(is.iter().filter(|(id, hops)| **hops > 0 && !was.contains_key(*id)).map(|(id, hops)| (id.to_string(), target.clone(), *hops)));
        closed.extend(was.iter().filter(|(id, hops)| **hops > 0 && !is.contains_key(*id)).map(|(id, hops)| (id.to_string(), target.clone(), *hops)));
    }
    spell(before, after, opened, closed, changed)
}

/// (identity id, target, hops)
type Pair = (String, (NodeKind, String), u32);

/// The paths a change opens and closes, comparing every path of both graphs: for a change to
/// a role's definition, which can open paths for identities that do not hold it (those that
/// may bind it, say). Costs a backward walk per target in each graph.
pub fn delta_all(before: &Graph, after: &Graph, changed: &[String]) -> super::EscalationDelta {
    let all = |g: &Graph| -> HashMap<(String, (NodeKind, String)), u32> {
        g.paths().into_iter().map(|(from, to, hops)| ((from.id, (to.kind, to.id)), hops)).collect()
    };
    let (was, is) = (all(before), all(after));
    let opened = is.iter().filter(|(k, _)| !was.contains_key(*k)).map(|((id, t), hops)| (id.clone(), t.clone(), *hops)).collect();
    let closed = was.iter().filter(|(k, _)| !is.contains_key(*k)).map(|((id, t), hops)| (id.clone(), t.clone(), *hops)).collect();
    spell(before, after, opened, closed, changed)
}

/// Counts the pairs opened and closed, and spells out the first few of each: the changed
/// identities' own first, then the nearest. Each target named is walked once, backwards.
fn spell(before: &impl View, after: &impl View, mut opened: Vec<Pair>, mut closed: Vec<Pair>, changed: &[String]) -> super::EscalationDelta {
    fn sort(pairs: &mut [Pair], graph: &impl View, changed: &[String]) {
        let label = |t: &(NodeKind, String)| graph.find(t).map(|n| graph.node(n).label.clone()).unwrap_or_default();
        pairs.sort_by_cached_key(|(id, target, hops)| (!changed.contains(id), *hops, label(target), id.clone()));
    }
    fn named(pairs: &[Pair], graph: &impl View) -> Vec<EscalationPath> {
        let pairs = &pairs[..pairs.len().min(super::NAMED_PATHS)];
        let mut targets: Vec<&(NodeKind, String)> = Vec::new();
        for (_, t, _) in pairs {
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        let mut found: HashMap<(String, &(NodeKind, String)), EscalationPath> = HashMap::new();
        for target in targets {
            let ids: Vec<&str> = pairs.iter().filter(|(_, t, _)| t == target).map(|(id, _, _)| id.as_str()).collect();
            for path in graph.paths_to(target, &ids) {
                found.insert((path.from.id.clone(), target), path);
            }
        }
        pairs.iter().filter_map(|(id, target, _)| found.remove(&(id.clone(), target))).collect()
    }
    sort(&mut opened, after, changed);
    sort(&mut closed, before, changed);
    let mut delta = super::EscalationDelta { opened_count: opened.len() as i64, closed_count: closed.len() as i64, ..Default::default() };
    delta.opened = named(&opened, after);
    delta.closed = named(&closed, before);
    delta
}

/// Compares a patched graph with a full build of the changed ledger: every identity reaches
/// the same targets in as many hops, every target is reached by the same identities, and the
/// delta counts and names the same paths. `Ok(false)` when the change cannot be patched.
#[cfg(test)]
pub(super) fn check_patch(ledger: &Ledger, ended: &[String], added: Vec<Grant>, principals: Vec<Principal>) -> Result<bool, String> {
    let base = Graph::build(ledger);
    let full = Graph::build(&ledger.changed(ended, added.clone(), principals.clone()));
    let Some(patched) = Patched::of(&base, ledger, ended, &added, &principals) else { return Ok(false) };
    let mut targets: HashSet<(NodeKind, String)> = HashSet::new();
    for n in 0..full.len() as u32 {
        let node = full.node(n);
        if node.kind == NodeKind::Identity {
            let (want, got) = (full.targets_of(&node.id), patched.targets_of(&node.id));
            if want != got {
                return Err(format!("{} reaches {want:?} in a full build, {got:?} patched", node.id));
            }
            targets.extend(want.into_keys());
        }
    }
    for target in &targets {
        let (want, got) = (full.identities_reaching(target), patched.identities_reaching(target));
        if want != got {
            return Err(format!("{target:?} is reached by {want:?} in a full build, {got:?} patched"));
        }
    }
    let mut changed: Vec<String> = ledger.grants.iter().filter(|g| ended.contains(&g.assignment_id)).map(|g| g.identity_id.clone()).collect();
    changed.extend(added.iter().map(|g| g.identity_id.clone()));
    let summary = |d: &super::EscalationDelta| {
        let names = |paths: &[EscalationPath]| -> Vec<(String, String, u32, usize)> {
            paths.iter().map(|p| (p.from.id.clone(), p.target.id.clone(), p.hops, p.steps.iter().filter(|s| s.rule.is_hop()).count())).collect()
        };
        (d.opened_count, d.closed_count, names(&d.opened), names(&d.closed))
    };
    let (want, got) = (summary(&delta(&base, &full, &changed)), summary(&grant_delta(&base, ledger, ended, added, principals)));
    if want != got {
        return Err(format!("delta {want:?} in a full build, {got:?} patched"));
    }
    Ok(true)
}
