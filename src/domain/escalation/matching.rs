//! How source rules are matched against the actions and resources the edge rules look for.

use crate::domain::source::{Effect, SourceRule};

pub use crate::domain::source::wildcard;

/// Whether an AWS statement (or a GCP role's permission list) allows or denies `action` on
/// `resource`, ignoring its effect and condition. An empty resource list means any resource
/// (GCP roles name none).
pub fn statement_covers(rule: &SourceRule, action: &str, resource: &str) -> bool {
    let action_meets =
        if rule.not_actions.is_empty() { rule.actions.iter().any(|a| wildcard(a, action)) } else { !rule.not_actions.iter().any(|a| wildcard(a, action)) };
    let resource_meets = if !rule.not_resources.is_empty() {
        !rule.not_resources.iter().any(|r| wildcard(r, resource))
    } else {
        rule.resources.is_empty() || rule.resources.iter().any(|r| wildcard(r, resource))
    };
    action_meets && resource_meets
}

/// Whether a Deny statement takes `action` on `resource` away for certain: it has no condition
/// (a conditional Deny may not apply, so the edge is kept and the path still shown).
pub fn denied(denies: &[&SourceRule], action: &str, resource: &str) -> bool {
    denies.iter().any(|d| d.effect == Effect::Deny && d.condition.is_none() && statement_covers(d, action, resource))
}

/// Whether a Kubernetes rule allows one of `verbs` on `resource` of `group` (`*` anywhere
/// matches everything; a rule without API groups is read as the core group, as imported).
pub fn k8s_allows(rule: &SourceRule, verbs: &[&str], group: &str, resource: &str) -> bool {
    if rule.effect != Effect::Allow {
        return false;
    }
    let verb = rule.actions.iter().any(|v| v == "*" || verbs.contains(&v.as_str()));
    let grouped = if rule.api_groups.is_empty() { group.is_empty() } else { rule.api_groups.iter().any(|g| g == "*" || g == group) };
    let named = rule
        .resources
        .iter()
        .any(|r| r == "*" || r == resource || (resource.contains('/') && r == &format!("{}/*", resource.split('/').next().unwrap_or_default())));
    verb && grouped && named
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(verbs: &[&str], groups: &[&str], resources: &[&str]) -> SourceRule {
        SourceRule {
            actions: verbs.iter().map(|s| s.to_string()).collect(),
            api_groups: groups.iter().map(|s| s.to_string()).collect(),
            resources: resources.iter().map(|s| s.to_string()).collect(),
            ..SourceRule::allow()
        }
    }

    #[test]
    fn wildcards_match_arns_and_actions_case_insensitively() {
        assert!(wildcard("iam:Pass*", "iam:PassRole"));
        assert!(wildcard("arn:aws:iam::1:role/app/*", "arn:aws:iam::1:role/app/worker"));
        assert!(!wildcard("arn:aws:iam::1:role/app/*", "arn:aws:iam::1:role/admin"));
        assert!(wildcard("*", "anything"));
    }

    #[test]
    fn a_kubernetes_rule_matches_by_verb_group_and_resource_with_wildcards() {
        assert!(k8s_allows(&rule(&["create"], &[""], &["pods"]), &["create"], "", "pods"));
        assert!(!k8s_allows(&rule(&["create"], &["apps"], &["pods"]), &["create"], "", "pods"));
        assert!(k8s_allows(&rule(&["*"], &["*"], &["*"]), &["bind"], "rbac.authorization.k8s.io", "clusterroles"));
        assert!(k8s_allows(&rule(&["create"], &[""], &["pods/*"]), &["create"], "", "pods/exec"));
        assert!(!k8s_allows(&rule(&["get"], &[""], &["pods"]), &["create"], "", "pods"));
        assert!(k8s_allows(&rule(&["create"], &[], &["pods"]), &["create"], "", "pods"));
    }

    #[test]
    fn a_statement_with_not_action_covers_everything_else() {
        let s = SourceRule { not_actions: vec!["iam:*".into()], resources: vec!["*".into()], ..SourceRule::allow() };
        assert!(statement_covers(&s, "lambda:CreateFunction", "*"));
        assert!(!statement_covers(&s, "iam:PassRole", "arn:aws:iam::1:role/x"));
    }
}
