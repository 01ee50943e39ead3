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
use std::collections::{HashMap, VecDeque};

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
    reasons: Vec<u32>,
}

/// A grant as the rule modules read it: the principal's index, the version's, the grant's.
#[derive(Debug, Clone, Copy)]
pub(super) struct Held {
    pub grant: usize,
    pub version: usize,
}

/// Builds the graph: the rule modules add edges through it.
pub(super) struct Builder<'a> {
    pub ledger: &'a Ledger,
    nodes: Vec<Node>,
    out: Vec<Vec<Edge>>,
    index: HashMap<(NodeKind, String), u32>,
    reasons: Vec<Reason>,
    reason_index: HashMap<(usize, Vec<String>), u32>,
    /// The edges of nodes with many (an AWS role allowed `iam:PassRole` on `*` leads to every
    /// role of its account), by (from, to, rule): finding one by scanning would be quadratic.
    many: HashMap<(u32, u32, EdgeRule), u32>,
    /// Each principal's grants, by principal index.
    pub held: Vec<Vec<Held>>,
}

/// Out-degree from which a node's edges are found through `Builder::many`.
const MANY: usize = 16;

impl<'a> Builder<'a> {
    fn new(ledger: &'a Ledger) -> Self {
        let principal_at: HashMap<&str, usize> = ledger.principals.iter().enumerate().map(|(i, p)| (p.id.as_str(), i)).collect();
        let version_at: HashMap<(&str, i64), usize> = ledger.versions.iter().enumerate().map(|(i, v)| ((v.role_id.as_str(), v.version), i)).collect();
        let mut held = vec![Vec::new(); ledger.principals.len()];
        for (g, grant) in ledger.grants.iter().enumerate() {
            if let (Some(&p), Some(&v)) = (principal_at.get(grant.identity_id.as_str()), version_at.get(&(grant.role_id.as_str(), grant.version))) {
                held[p].push(Held { grant: g, version: v });
            }
        }
        let mut builder = Builder {
            ledger,
            nodes: Vec::new(),
            out: Vec::new(),
            index: HashMap::new(),
            reasons: Vec::new(),
            reason_index: HashMap::new(),
            many: HashMap::new(),
            held,
        };
        for p in &ledger.principals {
            builder.node(NodeKind::Identity, &p.id, || p.name.clone());
        }
        builder
    }

    fn node(&mut self, kind: NodeKind, id: &str, label: impl FnOnce() -> String) -> u32 {
        if let Some(&n) = self.index.get(&(kind, id.to_owned())) {
            return n;
        }
        let n = self.nodes.len() as u32;
        self.nodes.push(Node { kind, id: id.to_owned(), label: label() });
        self.out.push(Vec::new());
        self.index.insert((kind, id.to_owned()), n);
        n
    }

    /// The node of principal `p`.
    pub fn identity(&self, p: usize) -> u32 {
        p as u32
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
        if let Some(&n) = self.index.get(&(NodeKind::Group, key.to_owned())) {
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
        let grant = &self.ledger.grants[held.grant];
        let version = &self.ledger.versions[held.version];
        let r = self.reasons.len() as u32;
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
                if !e.reasons.contains(&r) {
                    e.reasons.push(r);
                }
            }
            return;
        }
        if edges.len() >= MANY {
            self.many.insert((from, to, rule), edges.len() as u32);
        }
        edges.push(Edge { to, rule, reasons });
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
        Graph { nodes: self.nodes, out: self.out, back, index: self.index, reasons: self.reasons, control_of }
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
}

const UNREACHED: u32 = u32::MAX;

impl Graph {
    pub fn build(ledger: &Ledger) -> Graph {
        let mut b = Builder::new(ledger);
        // Holding a privileged role reaches it, and holding an all-powerful one on the
        // source's whole scope (a ClusterRoleBinding, an AWS attachment) reaches full control.
        for p in 0..ledger.principals.len() {
            for held in b.held[p].clone() {
                let version = &ledger.versions[held.version];
                if !is_target(version) {
                    continue;
                }
                let reason = b.reason(held, &[]);
                let role = b.role(held.version);
                b.edge(p as u32, role, EdgeRule::Holds, vec![reason]);
                let whole = ledger.grants[held.grant].scope.depth() <= 2;
                if let (true, true, Some(source)) = (all_powerful(version), whole, version.source.clone()) {
                    let control = b.control(&source);
                    b.edge(p as u32, control, EdgeRule::Holds, vec![reason]);
                }
            }
        }
        super::kubernetes::edges(&mut b);
        super::aws::edges(&mut b);
        super::gcp::edges(&mut b);
        b.finish()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    pub fn edge_count(&self) -> usize {
        self.out.iter().map(Vec::len).sum()
    }

    fn node_ref(&self, n: u32) -> NodeRef {
        let node = &self.nodes[n as usize];
        NodeRef { kind: node.kind, id: node.id.clone(), label: node.label.clone() }
    }

    fn is_target(&self, n: u32) -> bool {
        matches!(self.nodes[n as usize].kind, NodeKind::Role | NodeKind::Control)
    }

    /// Fewest hops from `start` to every node, with the edge each was reached by.
    fn walk(&self, start: u32) -> (Vec<u32>, Vec<(u32, u32)>) {
        let n = self.nodes.len();
        let mut dist = vec![UNREACHED; n];
        let mut parent: Vec<(u32, u32)> = vec![(UNREACHED, 0); n];
        let mut queue = VecDeque::from([start]);
        dist[start as usize] = 0;
        while let Some(at) = queue.pop_front() {
            for (i, e) in self.out[at as usize].iter().enumerate() {
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
            let e = &self.out[from as usize][i as usize];
            steps.push(Hop {
                from: self.node_ref(from),
                to: self.node_ref(at),
                rule: e.rule,
                reasons: e.reasons.iter().map(|&r| self.reasons[r as usize].clone()).collect(),
            });
            at = from;
        }
        steps.reverse();
        EscalationPath { from: self.node_ref(start), target: self.node_ref(target), hops: dist[target as usize], steps }
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

    /// The targets `identity_id` reaches (holding them or not), by node id, with their hops.
    fn targets_of(&self, identity_id: &str) -> HashMap<(NodeKind, String), u32> {
        let Some(&start) = self.index.get(&(NodeKind::Identity, identity_id.to_owned())) else {
            return HashMap::new();
        };
        let (dist, _) = self.walk(start);
        (0..self.nodes.len() as u32)
            .filter(|&t| self.is_target(t) && dist[t as usize] != UNREACHED)
            .map(|t| ((self.nodes[t as usize].kind, self.nodes[t as usize].id.clone()), dist[t as usize]))
            .collect()
    }

    /// Fewest hops of every identity to one target, by identity id.
    fn identities_reaching(&self, target: &(NodeKind, String)) -> HashMap<String, u32> {
        let Some(&t) = self.index.get(target) else {
            return HashMap::new();
        };
        let dist = self.distances_to(&[t]);
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::Identity && dist[i] != UNREACHED)
            .map(|i| (self.nodes[i].id.clone(), dist[i]))
            .collect()
    }

    /// The path `identity_id` takes to `target`, if it reaches it.
    fn path_to(&self, identity_id: &str, target: &(NodeKind, String)) -> Option<EscalationPath> {
        let start = *self.index.get(&(NodeKind::Identity, identity_id.to_owned()))?;
        let t = *self.index.get(target)?;
        let (dist, parent) = self.walk(start);
        (dist[t as usize] != UNREACHED).then(|| self.path(start, t, &dist, &parent))
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
        let dist = self.distances_to(&seeds);
        let mut reachers: Vec<Reacher> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].kind == NodeKind::Identity && dist[i] != UNREACHED)
            .map(|i| Reacher { identity: self.node_ref(i as u32), hops: dist[i] })
            .collect();
        reachers.sort_by(|a, b| a.hops.cmp(&b.hops).then_with(|| a.identity.label.cmp(&b.identity.label)));
        reachers
    }

    /// Fewest hops from every node to any of `seeds`, walking edges backwards.
    fn distances_to(&self, seeds: &[u32]) -> Vec<u32> {
        let mut dist = vec![UNREACHED; self.nodes.len()];
        let mut queue = VecDeque::new();
        for &s in seeds {
            dist[s as usize] = 0;
            queue.push_back(s);
        }
        while let Some(at) = queue.pop_front() {
            for &(from, i) in &self.back[at as usize] {
                let e = &self.out[from as usize][i as usize];
                let cost = u32::from(e.rule.is_hop());
                let d = dist[at as usize] + cost;
                if d < dist[from as usize] {
                    dist[from as usize] = d;
                    if cost == 0 {
                        queue.push_front(from);
                    } else {
                        queue.push_back(from);
                    }
                }
            }
        }
        dist
    }

    /// Every (identity, target, hops) with at least one hop, ledger-wide — exactly the targets
    /// `reach` lists for each identity: one backward walk per target, so the cost grows with
    /// the targets, not the identities.
    pub fn paths(&self) -> Vec<(NodeRef, NodeRef, u32)> {
        // Distances to each source's full control, to leave out the roles it implies.
        let mut to_control: HashMap<u32, Vec<u32>> = HashMap::new();
        for &c in self.control_of.values() {
            to_control.entry(c).or_insert_with(|| self.distances_to(&[c]));
        }
        let mut all = Vec::new();
        for t in (0..self.nodes.len() as u32).filter(|&t| self.is_target(t)) {
            let node = &self.nodes[t as usize];
            let control = (node.kind == NodeKind::Role).then(|| self.control_of.get(&node.id)).flatten().and_then(|c| to_control.get(c));
            let dist = self.distances_to(&[t]);
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

/// The escalation paths a change opens and closes: `before` and `after` are the graphs of the
/// ledger without and with it, `changed` the identities whose grants it changes. Only targets
/// those identities reach differently can change for anyone (an identity reaches a target
/// through them or not at all), so each such target is walked backwards in both graphs.
pub fn delta(before: &Graph, after: &Graph, changed: &[String]) -> super::EscalationDelta {
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
        opened.extend(is.iter().filter(|(id, hops)| **hops > 0 && !was.contains_key(*id)).map(|(id, hops)| (id.clone(), target.clone(), *hops)));
        closed.extend(was.iter().filter(|(id, hops)| **hops > 0 && !is.contains_key(*id)).map(|(id, hops)| (id.clone(), target.clone(), *hops)));
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
/// identities' own first, then the nearest.
fn spell(before: &Graph, after: &Graph, mut opened: Vec<Pair>, mut closed: Vec<Pair>, changed: &[String]) -> super::EscalationDelta {
    fn sort(pairs: &mut [Pair], graph: &Graph, changed: &[String]) {
        let label = |t: &(NodeKind, String)| graph.index.get(t).map(|&n| graph.nodes[n as usize].label.clone()).unwrap_or_default();
        pairs.sort_by_cached_key(|(id, target, hops)| (!changed.contains(id), *hops, label(target), id.clone()));
    }
    sort(&mut opened, after, changed);
    sort(&mut closed, before, changed);
    let mut delta = super::EscalationDelta { opened_count: opened.len() as i64, closed_count: closed.len() as i64, ..Default::default() };
    delta.opened = opened.iter().take(super::NAMED_PATHS).filter_map(|(id, target, _)| after.path_to(id, target)).collect();
    delta.closed = closed.iter().take(super::NAMED_PATHS).filter_map(|(id, target, _)| before.path_to(id, target)).collect();
    delta
}
