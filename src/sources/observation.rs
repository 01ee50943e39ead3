//! What an importer saw in a source, in one shape for every kind of source: the principals, the
//! roles with their rules kept as the source wrote them, and the grants between them. Objects are
//! keyed by the source's own reference (`ServiceAccount/payments/payments-api`, an ARN, a member
//! string), which is what re-imports reconcile on; names in nhidb are derived from them later.

use crate::domain::Timestamp;
pub use crate::domain::source::{Effect, SourceRule as Rule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Who a principal is in its source. Machines hide behind every kind: `system:kube-scheduler` is
/// a Kubernetes User, `system:nodes` a Group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    ServiceAccount,
    User,
    Group,
    Role,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedPrincipal {
    /// The source's own key, stable across re-imports.
    pub source_ref: String,
    pub kind: PrincipalKind,
    /// The name as the source shows it (`payments-api`, `system:kube-scheduler`).
    pub name: String,
    /// Where it lives, as a scope path (`k8s/prod-eu/payments`).
    pub scope: String,
    /// Declared in the input (a ServiceAccount object), or only named by a grant (a User).
    pub declared: bool,
    pub labels: BTreeMap<String, String>,
    /// Facts kept for analysis that are not labels: an AWS role's trust policy, its permissions
    /// boundary and instance profiles.
    pub detail: BTreeMap<String, String>,
    pub created_at: Option<Timestamp>,
    pub last_seen_at: Option<Timestamp>,
    /// The source's object id when it has one (Kubernetes uid, AWS unique id); it changes when
    /// the object is deleted and created again, so it is kept but not reconciled on.
    pub uid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedRole {
    pub source_ref: String,
    /// The name as the source shows it (`pod-reader`, `payments-s3-access`).
    pub name: String,
    /// Where the role is defined (`k8s/prod-eu` for a ClusterRole).
    pub scope: String,
    pub description: String,
    /// The current definition. Sources that keep versions (AWS managed policies) list older ones
    /// in `history`, oldest first.
    pub rules: Vec<Rule>,
    /// The source's id of the current version (an AWS policy's default `v2`), if it has ids.
    pub source_version: Option<String>,
    /// False when the export names the role but not its rules (a GCP custom role imported
    /// without `--roles`): its stored version is then kept, not replaced by an empty one.
    pub definition_known: bool,
    pub history: Vec<ObservedVersion>,
    pub labels: BTreeMap<String, String>,
    pub uid: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedVersion {
    /// The source's version id (`v2`).
    pub source_version: String,
    pub rules: Vec<Rule>,
}

/// A grant seen in the source. Either end may be missing from the input: the API server does
/// not check references, so such a grant is kept and reported, never dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedGrant {
    /// The granting object and the subject (`RoleBinding/payments/batch-secrets#ServiceAccount/payments/batch-runner`).
    pub source_ref: String,
    pub principal_ref: String,
    pub role_ref: String,
    /// Where the grant applies (a RoleBinding limits a ClusterRole to its namespace).
    pub scope: String,
    pub condition: Option<String>,
    pub missing: Option<Missing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Missing {
    Role,
    Principal,
    Both,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    pub scopes: Vec<String>,
    pub principals: Vec<ObservedPrincipal>,
    pub roles: Vec<ObservedRole>,
    pub grants: Vec<ObservedGrant>,
    /// Objects of kinds the importer does not handle, counted by kind.
    pub skipped: BTreeMap<String, usize>,
    /// Principals left out on purpose (`--exclude`), counted.
    pub excluded: usize,
    /// Notes for the operator that are not errors (a `_withcond_` role, an empty selector).
    pub notes: Vec<String>,
}

impl Observation {
    pub fn dangling(&self) -> impl Iterator<Item = &ObservedGrant> {
        self.grants.iter().filter(|g| g.missing.is_some())
    }
}

/// One input file, named for error messages.
pub struct Input<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Matches `text` against a pattern where `*` stands for any run of characters (`system:*`).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn a_star_matches_any_run_of_characters() {
        assert!(glob_match("system:*", "system:kube-scheduler"));
        assert!(glob_match("*:nodes", "system:nodes"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxcyyb"));
        assert!(glob_match("exact", "exact"));
        assert!(!glob_match("exact", "exactly"));
        assert!(!glob_match("ab*ba", "aba"));
    }
}
