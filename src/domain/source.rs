//! Sources: the systems identities and roles are imported from, and the rules of imported roles.
//!
//! An imported role version keeps the source's rules exactly (`SourceRule`) and is hashed and
//! diffed over them. Its permissions in nhidb's own vocabulary (`read on k8s:pods`) are derived
//! from the rules so that "who can…", separation of duties and hygiene work across sources;
//! derivation only ever widens (a rule limited to resource names or by a condition is counted
//! as the whole resource), so a question answered from permissions never misses a holder.

use super::role::{ActionClass, Permission};
use serde::{Deserialize, Serialize};

vocabulary!(
    SourceKind, "Source kind" {
        Kubernetes = "kubernetes", "Kubernetes";
        Aws = "aws", "AWS";
        Gcp = "gcp", "GCP";
    }
);

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Allow,
    Deny,
}

/// One rule or statement, as faithful to its source as one shape allows: Kubernetes rules use
/// `actions` (verbs), `api_groups`, `resources`, `resource_names` and `non_resource_urls`; AWS
/// statements use `effect`, `actions` / `not_actions`, `resources` / `not_resources` and
/// `condition`; GCP roles list permissions in `actions`. Nothing is dropped or widened.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SourceRule {
    pub effect: Effect,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_actions: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_resources: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_names: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_resource_urls: Vec<String>,
    /// The condition exactly as written (canonical JSON for AWS, the CEL expression for GCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl SourceRule {
    pub fn allow() -> SourceRule {
        SourceRule {
            effect: Effect::Allow,
            actions: vec![],
            not_actions: vec![],
            api_groups: vec![],
            resources: vec![],
            not_resources: vec![],
            resource_names: vec![],
            non_resource_urls: vec![],
            condition: None,
        }
    }

    /// One line per rule, as a diff or a role page shows it.
    pub fn summary(&self) -> String {
        let list = |items: &[String]| items.iter().map(|i| if i.is_empty() { "\"\"".to_owned() } else { i.clone() }).collect::<Vec<_>>().join(", ");
        let mut parts = vec![match self.effect {
            Effect::Allow => "allow".to_owned(),
            Effect::Deny => "deny".to_owned(),
        }];
        if !self.actions.is_empty() {
            parts.push(list(&self.actions));
        }
        if !self.not_actions.is_empty() {
            parts.push(format!("all but {}", list(&self.not_actions)));
        }
        if !self.resources.is_empty() {
            let on = if self.api_groups.is_empty() { list(&self.resources) } else { format!("{} (groups {})", list(&self.resources), list(&self.api_groups)) };
            parts.push(format!("on {on}"));
        }
        if !self.not_resources.is_empty() {
            parts.push(format!("on all but {}", list(&self.not_resources)));
        }
        if !self.resource_names.is_empty() {
            parts.push(format!("named {}", list(&self.resource_names)));
        }
        if !self.non_resource_urls.is_empty() {
            parts.push(format!("on URLs {}", list(&self.non_resource_urls)));
        }
        if let Some(condition) = &self.condition {
            parts.push(format!("when {condition}"));
        }
        parts.join(" ")
    }
}

/// nhidb's action for a Kubernetes verb. Verbs that hand out access (`bind`, `escalate`,
/// `impersonate`, `approve`) are grants; a verb nhidb does not know is treated as admin, so it
/// is never under-counted.
fn kubernetes_action(verb: &str) -> &'static str {
    match verb {
        "get" => "read",
        "list" => "list",
        "watch" => "subscribe",
        "create" => "create",
        "update" | "patch" => "update",
        "delete" | "deletecollection" => "delete",
        "bind" | "escalate" | "impersonate" | "approve" | "sign" => "grant",
        _ => "admin",
    }
}

/// nhidb's action for an AWS action (`s3:GetObject`) or a GCP permission
/// (`storage.objects.get`), from its verb.
fn cloud_action(verb: &str) -> &'static str {
    // `Get*` reads like `GetObject`; only a bare `*` is every verb.
    let lower = verb.trim_end_matches('*').to_ascii_lowercase();
    const GRANTS: &[&str] = &["passrole", "setiampolicy", "actas", "getaccesstoken", "signjwt", "signblob", "implicitdelegation", "assumerole"];
    if lower.is_empty() {
        "admin"
    } else if GRANTS.iter().any(|g| lower.starts_with(g)) || (lower.contains("policy") && !lower.starts_with("get") && !lower.starts_with("list")) {
        "grant"
    } else if ["get", "list", "describe", "head", "view", "search", "lookup", "query", "scan", "select", "read", "batchget"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        if lower.starts_with("list") { "list" } else { "read" }
    } else if ["delete", "remove", "detach", "terminate"].iter().any(|p| lower.starts_with(p)) {
        "delete"
    } else if ["create", "put", "run", "start", "add", "attach", "upload"].iter().any(|p| lower.starts_with(p)) {
        "create"
    } else {
        "update"
    }
}

/// What a predefined GCP role (`roles/container.developer`) amounts to, from its name: the
/// basic roles span the project, others their service, classed by the role's last word.
fn gcp_predefined(role: &str) -> (&'static str, String) {
    match role {
        "owner" => ("admin", "gcp:*".to_owned()),
        "editor" => ("update", "gcp:*".to_owned()),
        "viewer" | "browser" => ("read", "gcp:*".to_owned()),
        _ => {
            let (service, name) = role.split_once('.').unwrap_or((role, role));
            let name = name.to_ascii_lowercase();
            let action = if name.contains("admin") || name.contains("owner") {
                "admin"
            } else if ["tokencreator", "serviceaccountuser", "workloadidentityuser", "securityadmin"].iter().any(|g| name.contains(g)) {
                "grant"
            } else if ["viewer", "reader", "browser", "accessor", "lister"].iter().any(|r| name.contains(r)) {
                "read"
            } else {
                "update"
            };
            (action, format!("gcp:{}", service.to_ascii_lowercase()))
        }
    }
}

fn push(out: &mut Vec<Permission>, action: &str, resource: String) {
    if let Ok(permission) = Permission::parse(action, &resource) {
        out.push(permission);
    }
}

/// The permissions a role's rules amount to, in nhidb's vocabulary (see the module comment).
/// Deny statements remove nothing here: which grants they cancel depends on resources and
/// conditions, so they are kept as rules and shown, never silently subtracted.
pub fn permissions_of(kind: SourceKind, rules: &[SourceRule]) -> Vec<Permission> {
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| r.effect == Effect::Allow) {
        match kind {
            SourceKind::Kubernetes => {
                let groups: Vec<&str> = if rule.api_groups.is_empty() { vec![""] } else { rule.api_groups.iter().map(String::as_str).collect() };
                for verb in &rule.actions {
                    let action = if verb == "*" { "admin" } else { kubernetes_action(verb) };
                    for group in &groups {
                        for resource in &rule.resources {
                            let name = if group.is_empty() { resource.clone() } else { format!("{group}/{resource}") };
                            push(&mut out, action, format!("k8s:{name}"));
                        }
                    }
                    for url in &rule.non_resource_urls {
                        push(&mut out, action, format!("k8s-url:{url}"));
                    }
                }
            }
            SourceKind::Aws | SourceKind::Gcp => {
                let (prefix, split) = if kind == SourceKind::Aws { ("aws", ':') } else { ("gcp", '.') };
                for action in &rule.actions {
                    if kind == SourceKind::Gcp
                        && let Some(role) = action.strip_prefix("roles/")
                    {
                        let (action, resource) = gcp_predefined(role);
                        push(&mut out, action, resource);
                        continue;
                    }
                    if action == "*" {
                        push(&mut out, "admin", format!("{prefix}:*"));
                        continue;
                    }
                    let (service, verb) = match kind {
                        SourceKind::Aws => action.split_once(split).unwrap_or((action, "*")),
                        _ => action.split_once(split).map(|(s, _)| (s, action.rsplit(split).next().unwrap_or("*"))).unwrap_or((action, "*")),
                    };
                    push(&mut out, cloud_action(verb), format!("{prefix}:{}", service.to_ascii_lowercase()));
                }
                if !rule.not_actions.is_empty() {
                    // "Everything but …" is everything, for counting who may.
                    push(&mut out, "admin", format!("{prefix}:*"));
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a derived permission set is privileged: it may hand out access, or do anything to
/// every resource of a kind (`admin on k8s:*/*`, `admin on aws:*`).
pub fn is_privileged(permissions: &[Permission]) -> bool {
    permissions.iter().any(|p| {
        p.action == "grant"
            || (p.class() == ActionClass::Admin && p.resource.split_once(':').is_some_and(|(_, name)| name.split('/').any(|segment| segment == "*")))
    })
}

/// How a source's own statements qualify the permissions nhidb derives for one grant: an
/// explicit Deny among the principal's policies takes a permission away or narrows it, and a
/// condition (the grant's, or that of every statement allowing it) makes it conditional. The
/// derived permissions only widen (see `permissions_of`); this is what "what can it do" shows
/// beside them.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Qualification {
    pub assignment_id: String,
    /// Taken away entirely by an unconditional Deny of every resource.
    pub denied: Vec<Permission>,
    /// Narrowed by a Deny (on some resources, some actions, or under a condition).
    pub limited: Vec<Permission>,
    /// Allowed only under a condition.
    pub conditional: Vec<Permission>,
    /// The conditions, verbatim.
    pub conditions: Vec<String>,
    /// The Deny statements that take away or narrow something, as rules read.
    pub denials: Vec<String>,
}

impl Qualification {
    pub fn is_empty(&self) -> bool {
        self.denied.is_empty() && self.limited.is_empty() && self.conditional.is_empty()
    }
}

/// Whether a Deny's derived permission concerns `allowed`: the same resource, or every
/// resource of the source.
fn touches(denied: &Permission, allowed: &Permission) -> bool {
    let everything = denied.resource.strip_suffix(":*").is_some_and(|prefix| allowed.resource.split(':').next() == Some(prefix));
    denied.resource == allowed.resource || everything
}

/// `*` and `?` wildcards, as IAM matches actions and ARNs (case-insensitively).
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.to_ascii_lowercase().chars().collect(), text.to_ascii_lowercase().chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The source actions behind permission `p` in `rules`' Allow statements; None when a
/// NotAction statement ("everything but …") yields it, which no list of actions spells out.
fn actions_behind(kind: SourceKind, rules: &[SourceRule], p: &Permission) -> Option<Vec<String>> {
    let mut actions = Vec::new();
    for rule in rules.iter().filter(|r| r.effect == Effect::Allow) {
        for action in &rule.actions {
            let single = SourceRule { actions: vec![action.clone()], not_actions: vec![], ..rule.clone() };
            if permissions_of(kind, std::slice::from_ref(&single)).contains(p) {
                actions.push(action.clone());
            }
        }
        if !rule.not_actions.is_empty() {
            let rest = SourceRule { actions: vec![], ..rule.clone() };
            if permissions_of(kind, std::slice::from_ref(&rest)).contains(p) {
                return None;
            }
        }
    }
    Some(actions)
}

/// Qualifies `permissions`, derived from `rules` (the grant's role), by `denies` (every Deny
/// statement of the principal's roles from the same source) and `grant_condition`. A
/// permission is denied when every source action behind it is matched by a Deny without a
/// condition on every resource (`Deny s3:* on *` takes away `s3:GetObject`); any other Deny
/// of the same resource narrows it (`Deny s3:PutObject` leaves `s3:CreateBucket`).
pub fn qualify(kind: SourceKind, rules: &[SourceRule], permissions: &[Permission], denies: &[SourceRule], grant_condition: Option<&str>) -> Qualification {
    let mut q = Qualification::default();
    match grant_condition {
        Some(condition) => {
            q.conditional = permissions.to_vec();
            q.conditions.push(condition.to_owned());
        }
        None => {
            let unconditional: Vec<SourceRule> = rules.iter().filter(|r| r.effect == Effect::Allow && r.condition.is_none()).cloned().collect();
            let always = permissions_of(kind, &unconditional);
            q.conditional = permissions.iter().filter(|p| !always.contains(p)).cloned().collect();
            if !q.conditional.is_empty() {
                q.conditions = rules.iter().filter(|r| r.effect == Effect::Allow).filter_map(|r| r.condition.clone()).collect();
                q.conditions.dedup();
            }
        }
    }
    let denies: Vec<&SourceRule> = denies.iter().filter(|r| r.effect == Effect::Deny).collect();
    // Patterns of the Deny statements that take actions away wherever they apply.
    let whole: Vec<&str> = denies
        .iter()
        .filter(|d| d.condition.is_none() && d.not_actions.is_empty() && d.not_resources.is_empty() && d.resource_names.is_empty())
        .filter(|d| !d.resources.is_empty() && d.resources.iter().all(|r| r == "*"))
        .flat_map(|d| d.actions.iter().map(String::as_str))
        .collect();
    // What each Deny concerns, derived once.
    let concerns: Vec<Vec<Permission>> = denies.iter().map(|d| permissions_of(kind, &[SourceRule { effect: Effect::Allow, ..(*d).clone() }])).collect();
    let mut applied = vec![false; denies.len()];
    for p in permissions {
        let behind = actions_behind(kind, rules, p);
        let mut touched = false;
        for (i, derived) in concerns.iter().enumerate() {
            // A Deny concerns a permission when it names its resource and one of the actions
            // behind it (either may be a pattern); NotAction and unknown actions concern all.
            let actions_meet = denies[i].actions.is_empty()
                || behind.as_ref().is_none_or(|actions| actions.iter().any(|a| denies[i].actions.iter().any(|d| wildcard(d, a) || wildcard(a, d))));
            if actions_meet && derived.iter().any(|d| touches(d, p)) {
                applied[i] = true;
                touched = true;
            }
        }
        let denied =
            !whole.is_empty() && behind.as_ref().is_some_and(|actions| !actions.is_empty() && actions.iter().all(|a| whole.iter().any(|w| wildcard(w, a))));
        if denied {
            q.denied.push(p.clone());
        } else if touched {
            q.limited.push(p.clone());
        }
    }
    q.denials = denies.iter().zip(&applied).filter(|(_, a)| **a).map(|(d, _)| d.summary()).collect();
    q.conditional.retain(|p| !q.denied.contains(p));
    q
}

/// Which source an imported identity or role belongs to: the console shows it, and nhidb
/// refuses edits that the next import would overwrite.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedBy {
    pub kind: SourceKind,
    /// The source's name (cluster, account, project).
    pub source: String,
    /// The object's key in the source (`ServiceAccount/payments/payments-api`, an ARN).
    pub source_ref: String,
}

impl ManagedBy {
    pub fn from_columns(kind: Option<&str>, source: Option<String>, source_ref: Option<String>) -> Option<ManagedBy> {
        Some(ManagedBy { kind: SourceKind::parse(kind?).ok()?, source: source?, source_ref: source_ref? })
    }

    /// "Kubernetes prod-eu", as a sentence names the source.
    pub fn describe(&self) -> String {
        format!("{} {}", self.kind.label(), self.source)
    }
}

/// A system nhidb imports from: a Kubernetes cluster, an AWS account, a GCP project.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    pub name: String,
    pub owner_id: String,
    pub owner_name: String,
    pub created_at: super::Timestamp,
    pub last_import: Option<ImportRecord>,
    /// Grants seen in the source whose role or principal it lacks, still open.
    pub open_dangling: i64,
    /// Open drift findings per kind.
    pub drift: super::drift::DriftCounts,
}

/// One import of a source, as recorded.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: String,
    pub source_id: String,
    /// The source's name (the cluster, account or project).
    pub source_name: String,
    pub actor: String,
    pub started_at: super::Timestamp,
    pub duration_ms: i64,
    pub input_hash: String,
    pub summary: ImportSummary,
}

/// What an import saw and what it changed (or, for `--plan`, would change).
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub principals: usize,
    pub roles: usize,
    pub grants: usize,
    /// Objects of kinds the importer does not handle, by kind.
    pub skipped: std::collections::BTreeMap<String, usize>,
    pub excluded: usize,
    pub dangling: usize,
    pub labels_dropped: usize,
    pub notes: Vec<String>,
    pub identities_added: usize,
    pub identities_relabelled: usize,
    pub identities_seen: usize,
    pub identities_retired: usize,
    pub roles_added: usize,
    pub versions_added: usize,
    pub roles_retired: usize,
    pub grants_added: usize,
    pub grants_moved: usize,
    pub grants_ended: usize,
    pub dangling_opened: usize,
    pub dangling_resolved: usize,
    /// Drift findings this import opened (changes, privileged grants and dangling grants nobody
    /// in nhidb reviewed). Imports recorded before drift was tracked have none.
    #[serde(default)]
    pub drift_opened: usize,
    /// Whether the ledger was changed (false for a plan, and for an unchanged re-import).
    pub applied: bool,
}

impl ImportSummary {
    pub fn changes(&self) -> usize {
        self.identities_added
            + self.identities_relabelled
            + self.identities_seen
            + self.identities_retired
            + self.roles_added
            + self.versions_added
            + self.roles_retired
            + self.grants_added
            + self.grants_moved
            + self.grants_ended
            + self.dangling_opened
            + self.dangling_resolved
    }

    /// The lines a terminal or the console prints for it.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!("read: {} principals, {} roles, {} grants ({} dangling)", self.principals, self.roles, self.grants, self.dangling)];
        if !self.skipped.is_empty() {
            let skipped: Vec<String> = self.skipped.iter().map(|(kind, n)| format!("{n} {kind}")).collect();
            lines.push(format!("skipped (kinds not imported): {}", skipped.join(", ")));
        }
        if self.excluded > 0 {
            lines.push(format!("excluded by pattern: {} subjects", self.excluded));
        }
        if self.labels_dropped > 0 {
            lines.push(format!("labels left out (not valid nhidb labels): {}", self.labels_dropped));
        }
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        let verb = if self.applied { "changed" } else { "would change" };
        if self.changes() == 0 {
            lines.push("no changes: the ledger already matches the source".to_owned());
        } else {
            lines.push(format!(
                "{verb}: identities +{} ~{} seen {} retired {}; roles +{} versions +{} retired {}; grants +{} moved {} ended {}; dangling +{} resolved {}",
                self.identities_added,
                self.identities_relabelled,
                self.identities_seen,
                self.identities_retired,
                self.roles_added,
                self.versions_added,
                self.roles_retired,
                self.grants_added,
                self.grants_moved,
                self.grants_ended,
                self.dangling_opened,
                self.dangling_resolved
            ));
        }
        if self.drift_opened > 0 {
            lines.push(format!("drift opened for review: {} (see the source's page)", self.drift_opened));
        }
        lines
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// A grant a source holds whose role or principal it lacks.
pub struct Dangling {
    pub source_ref: String,
    pub principal_ref: String,
    pub role_ref: String,
    pub scope: String,
    pub missing: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
/// One source's page: its imports (newest first) and its open dangling grants.
pub struct SourceDetail {
    pub source: Source,
    pub imports: Vec<ImportRecord>,
    pub dangling: Vec<Dangling>,
    /// The first open drift findings (`source.drift` counts them all).
    pub drift: Vec<super::drift::Drift>,
}

/// A source's name, as given on the command line or in the API path: a cluster name, an AWS
/// account id, a GCP project id. It becomes a scope segment (`k8s/prod-eu`).
pub fn parse_source_name(input: &str) -> Result<String, String> {
    let name = input.trim();
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if ok {
        Ok(name.to_owned())
    } else {
        Err(format!("Source name \"{name}\" must be 1 to 63 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(effect: Effect, actions: &[&str], resources: &[&str], condition: Option<&str>) -> SourceRule {
        SourceRule {
            effect,
            actions: actions.iter().map(|a| a.to_string()).collect(),
            resources: resources.iter().map(|r| r.to_string()).collect(),
            condition: condition.map(str::to_owned),
            ..SourceRule::allow()
        }
    }

    #[test]
    fn an_explicit_deny_takes_away_or_narrows_and_conditions_are_conditional() {
        let allow = [
            aws(Effect::Allow, &["s3:GetObject", "s3:PutObject"], &["*"], None),
            aws(Effect::Allow, &["ec2:RunInstances"], &["*"], Some("{\"Bool\":{\"aws:MultiFactorAuthPresent\":\"true\"}}")),
        ];
        let permissions = permissions_of(SourceKind::Aws, &allow);
        let denies = [aws(Effect::Deny, &["s3:PutObject"], &["*"], None), aws(Effect::Deny, &["s3:GetObject"], &["arn:aws:s3:::secrets/*"], None)];
        let q = qualify(SourceKind::Aws, &allow, &permissions, &denies, None);
        let names = |ps: &[Permission]| ps.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert_eq!(names(&q.denied), ["create on aws:s3"], "{q:?}");
        assert_eq!(names(&q.limited), ["read on aws:s3"], "a Deny of some buckets narrows, never removes: {q:?}");
        assert_eq!(names(&q.conditional), ["create on aws:ec2"], "{q:?}");
        // A Deny of one action leaves the others behind the same permission.
        let wider = [aws(Effect::Allow, &["s3:PutObject", "s3:CreateBucket"], &["*"], None)];
        let narrowed = qualify(SourceKind::Aws, &wider, &permissions_of(SourceKind::Aws, &wider), &denies[..1], None);
        assert_eq!((names(&narrowed.denied), names(&narrowed.limited)), (vec![], vec!["create on aws:s3".to_owned()]));
        // A Deny of other actions of the same service says nothing about these.
        let other = [aws(Effect::Deny, &["s3:DeleteBucket"], &["*"], None)];
        assert!(qualify(SourceKind::Aws, &allow[..1], &permissions_of(SourceKind::Aws, &allow[..1]), &other, None).is_empty());
        // `s3:*` denied takes every s3 action away.
        let all = [aws(Effect::Deny, &["S3:*"], &["*"], None)];
        assert_eq!(names(&qualify(SourceKind::Aws, &allow, &permissions, &all, None).denied), ["create on aws:s3", "read on aws:s3"]);
        assert_eq!(q.denials.len(), 2);
        // A conditional grant makes everything it allows conditional.
        let granted = qualify(SourceKind::Gcp, &[], &permissions, &[], Some("request.time < timestamp('2027-01-01T00:00:00Z')"));
        assert_eq!(granted.conditional.len(), permissions.len());
        assert!(!granted.is_empty());
        // Nothing to say about a plain allow.
        assert!(qualify(SourceKind::Aws, &allow[..1], &permissions_of(SourceKind::Aws, &allow[..1]), &[], None).is_empty());
    }

    fn k8s(verbs: &[&str], groups: &[&str], resources: &[&str]) -> SourceRule {
        SourceRule {
            actions: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..SourceRule::allow()
        }
    }

    fn shown(permissions: &[Permission]) -> Vec<String> {
        permissions.iter().map(Permission::to_string).collect()
    }

    #[test]
    fn kubernetes_verbs_and_resources_become_nhidb_permissions() {
        let rules = [k8s(&["get", "list", "watch"], &[""], &["pods"]), k8s(&["create"], &[""], &["pods/exec"]), k8s(&["patch"], &["apps"], &["deployments"])];
        let pairs: Vec<(String, String)> = permissions_of(SourceKind::Kubernetes, &rules).into_iter().map(|p| (p.action, p.resource)).collect();
        let expected = [("create", "k8s:pods/exec"), ("list", "k8s:pods"), ("read", "k8s:pods"), ("subscribe", "k8s:pods"), ("update", "k8s:apps/deployments")];
        assert_eq!(pairs, expected.map(|(a, r)| (a.to_owned(), r.to_owned())));
    }

    #[test]
    fn wildcards_and_verbs_that_hand_out_access_are_admin_and_grant() {
        let rules = [k8s(&["*"], &["*"], &["*"]), k8s(&["bind"], &["rbac.authorization.k8s.io"], &["clusterroles"])];
        let permissions = permissions_of(SourceKind::Kubernetes, &rules);
        assert_eq!(shown(&permissions), ["admin on k8s:*/*", "grant on k8s:rbac.authorization.k8s.io/clusterroles"]);
        assert!(is_privileged(&permissions));
        assert!(is_privileged(&permissions_of(SourceKind::Kubernetes, &[k8s(&["*"], &["*"], &["*"])])), "full access in a namespace");
        assert!(!is_privileged(&permissions_of(SourceKind::Kubernetes, &[k8s(&["get", "list"], &["*"], &["*"])])), "reading everything is not");
    }

    #[test]
    fn non_resource_urls_are_their_own_resources() {
        let rule = SourceRule { actions: vec!["get".into()], non_resource_urls: vec!["/healthz/*".into()], ..SourceRule::allow() };
        assert_eq!(shown(&permissions_of(SourceKind::Kubernetes, &[rule])), ["read on k8s-url:/healthz/*"]);
    }

    #[test]
    fn cloud_actions_are_classified_by_their_verb() {
        let rule =
            SourceRule { actions: vec!["s3:GetObject".into(), "s3:PutObject".into(), "iam:PassRole".into(), "ec2:Describe*".into()], ..SourceRule::allow() };
        assert_eq!(shown(&permissions_of(SourceKind::Aws, &[rule])), ["create on aws:s3", "grant on aws:iam", "read on aws:ec2", "read on aws:s3"]);
        let rule = SourceRule { actions: vec!["storage.objects.get".into(), "iam.serviceAccounts.actAs".into()], ..SourceRule::allow() };
        assert_eq!(shown(&permissions_of(SourceKind::Gcp, &[rule])), ["grant on gcp:iam", "read on gcp:storage"]);
        let predefined = SourceRule {
            actions: vec!["roles/owner".into(), "roles/iam.serviceAccountUser".into(), "roles/storage.objectViewer".into()],
            ..SourceRule::allow()
        };
        assert_eq!(shown(&permissions_of(SourceKind::Gcp, &[predefined])), ["admin on gcp:*", "grant on gcp:iam", "read on gcp:storage"]);
    }

    #[test]
    fn deny_statements_are_kept_as_rules_but_grant_nothing() {
        let deny = SourceRule { effect: Effect::Deny, actions: vec!["s3:*".into()], ..SourceRule::allow() };
        assert!(permissions_of(SourceKind::Aws, &[deny]).is_empty());
        let not_action = SourceRule { not_actions: vec!["iam:*".into()], ..SourceRule::allow() };
        assert_eq!(shown(&permissions_of(SourceKind::Aws, &[not_action])), ["admin on aws:*"]);
    }

    #[test]
    fn a_rule_reads_as_one_line() {
        let rule = SourceRule { resource_names: vec!["db-credentials".into()], ..k8s(&["get"], &[""], &["secrets"]) };
        assert_eq!(rule.summary(), "allow get on secrets (groups \"\") named db-credentials");
    }
}
