//! Separation of duties: what one identity must not hold at once. Read and write on the same
//! resource in overlapping scopes through different roles, and named pairs of conflicting roles,
//! unless an unexpired exception (with justification and approver) covers it.

use super::Timestamp;
use super::role::{ActionClass, Permission};
use super::scope::ScopePath;
use serde::{Deserialize, Serialize};

/// One active (or proposed) assignment, expanded with the permissions of its pinned version.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    /// `None` for a grant that is only proposed.
    pub assignment_id: Option<String>,
    pub role_id: String,
    pub role_slug: String,
    pub version: i64,
    pub scope: ScopePath,
    pub permissions: Vec<Permission>,
    pub expires_at: Option<Timestamp>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SodRuleKind {
    ReadWrite,
    RolePair { role_a: String, role_b: String },
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SodRule {
    pub id: String,
    pub kind: SodRuleKind,
    pub description: String,
    pub enabled: bool,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SodException {
    pub id: String,
    pub rule_id: String,
    pub identity_id: String,
    /// For the read/write rule, the resource it covers.
    pub resource: Option<String>,
    pub justification: String,
    pub approved_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl SodException {
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A conflict found for one identity.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub identity_id: String,
    pub resource: Option<String>,
    /// The two roles that conflict (slugs).
    pub roles: (String, String),
    pub message: String,
    /// An active exception covers it: reported, but it does not block.
    pub excepted_by: Option<String>,
}

impl Finding {
    pub fn blocks(&self) -> bool {
        self.excepted_by.is_none()
    }
}

fn overlap(a: &ScopePath, b: &ScopePath) -> bool {
    a.covers(b) || b.covers(a)
}

fn write_like(p: &Permission) -> bool {
    p.class() != ActionClass::Read
}

/// Every conflict among `holdings` of one identity under the enabled `rules`, each marked with
/// the active exception that covers it, if any.
pub fn conflicts(identity_id: &str, holdings: &[Holding], rules: &[SodRule], exceptions: &[SodException], now: Timestamp) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    for rule in rules.iter().filter(|r| r.enabled) {
        match &rule.kind {
            SodRuleKind::ReadWrite => {
                for reader in holdings {
                    for writer in holdings.iter().filter(|w| w.role_id != reader.role_id && overlap(&reader.scope, &w.scope)) {
                        for read in reader.permissions.iter().filter(|p| p.class() == ActionClass::Read) {
                            if writer.permissions.iter().any(|w| write_like(w) && w.resource == read.resource) {
                                let duplicate = findings.iter().any(|f| {
                                    f.rule_id == rule.id
                                        && f.resource.as_deref() == Some(read.resource.as_str())
                                        && f.roles == (reader.role_slug.clone(), writer.role_slug.clone())
                                });
                                if !duplicate {
                                    findings.push(Finding {
                                        rule_id: rule.id.clone(),
                                        identity_id: identity_id.to_owned(),
                                        resource: Some(read.resource.clone()),
                                        roles: (reader.role_slug.clone(), writer.role_slug.clone()),
                                        message: format!(
                                            "Reads {} through {} and writes it through {} (scopes {} and {}).",
                                            read.resource, reader.role_slug, writer.role_slug, reader.scope, writer.scope
                                        ),
                                        excepted_by: None,
                                    });
                                }
                            }
                        }
                    }
                }
            }
            SodRuleKind::RolePair { role_a, role_b } => {
                let a = holdings.iter().find(|h| &h.role_id == role_a);
                let b = holdings.iter().find(|h| &h.role_id == role_b);
                if let (Some(a), Some(b)) = (a, b) {
                    findings.push(Finding {
                        rule_id: rule.id.clone(),
                        identity_id: identity_id.to_owned(),
                        resource: None,
                        roles: (a.role_slug.clone(), b.role_slug.clone()),
                        message: format!("Holds both {} and {}: {}", a.role_slug, b.role_slug, rule.description),
                        excepted_by: None,
                    });
                }
            }
        }
    }
    for finding in &mut findings {
        finding.excepted_by = exceptions
            .iter()
            .filter(|e| e.is_active(now) && e.rule_id == finding.rule_id && e.identity_id == identity_id)
            .find(|e| e.resource.is_none() || e.resource == finding.resource)
            .map(|e| e.id.clone());
    }
    findings
}

/// Findings that appear with `after` but not with `before`: what a change would introduce.
pub fn introduced(before: &[Finding], after: Vec<Finding>) -> Vec<Finding> {
    after.into_iter().filter(|f| !before.iter().any(|b| b.rule_id == f.rule_id && b.resource == f.resource && b.roles == f.roles)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(role: &str, scope: &str, perms: &[(&str, &str)]) -> Holding {
        Holding {
            assignment_id: None,
            role_id: format!("id-{role}"),
            role_slug: role.into(),
            version: 1,
            scope: ScopePath::parse(scope).unwrap(),
            permissions: perms.iter().map(|(a, r)| Permission::parse(a, r).unwrap()).collect(),
            expires_at: None,
        }
    }

    fn rules() -> Vec<SodRule> {
        vec![
            SodRule { id: "rw".into(), kind: SodRuleKind::ReadWrite, description: String::new(), enabled: true },
            SodRule {
                id: "pair".into(),
                kind: SodRuleKind::RolePair { role_a: "id-payer".into(), role_b: "id-approver".into() },
                description: "pay and approve".into(),
                enabled: true,
            },
        ]
    }

    fn t(days: i64) -> Timestamp {
        Timestamp::from_micros(1_800_000_000_000_000).plus_days(days)
    }

    #[test]
    fn reading_and_writing_one_resource_through_two_roles_conflicts() {
        let holdings = [holding("reader", "prod", &[("read", "db:ledger")]), holding("writer", "prod/payments", &[("write", "db:ledger")])];
        let found = conflicts("i", &holdings, &rules(), &[], t(0));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].resource.as_deref(), Some("db:ledger"));
        assert!(found[0].blocks());
    }

    #[test]
    fn disjoint_scopes_or_resources_do_not_conflict() {
        let apart = [holding("reader", "prod/a", &[("read", "db:ledger")]), holding("writer", "prod/b", &[("write", "db:ledger")])];
        assert!(conflicts("i", &apart, &rules(), &[], t(0)).is_empty());
        let other = [holding("reader", "prod", &[("read", "db:a")]), holding("writer", "prod", &[("write", "db:b")])];
        assert!(conflicts("i", &other, &rules(), &[], t(0)).is_empty());
    }

    #[test]
    fn one_role_combining_read_and_write_is_the_role_definitions_business() {
        let single = [holding("both", "prod", &[("read", "db:x"), ("write", "db:x")])];
        assert!(conflicts("i", &single, &rules(), &[], t(0)).is_empty());
    }

    #[test]
    fn named_role_pairs_conflict() {
        let holdings = [holding("payer", "prod", &[("invoke", "api:pay")]), holding("approver", "prod", &[("invoke", "api:approve")])];
        let found = conflicts("i", &holdings, &rules(), &[], t(0));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].rule_id, "pair");
    }

    #[test]
    fn an_exception_covers_a_conflict_until_it_expires() {
        let holdings = [holding("reader", "prod", &[("read", "db:ledger")]), holding("writer", "prod", &[("write", "db:ledger")])];
        let exception = SodException {
            id: "x1".into(),
            rule_id: "rw".into(),
            identity_id: "i".into(),
            resource: Some("db:ledger".into()),
            justification: "reconciliation".into(),
            approved_by: "sec".into(),
            created_at: t(0),
            expires_at: t(7),
            revoked_at: None,
        };
        let found = conflicts("i", &holdings, &rules(), std::slice::from_ref(&exception), t(1));
        assert_eq!(found[0].excepted_by.as_deref(), Some("x1"));
        assert!(!found[0].blocks());
        assert!(conflicts("i", &holdings, &rules(), &[exception], t(8))[0].blocks(), "expired exceptions cover nothing");
    }

    #[test]
    fn disabled_rules_find_nothing() {
        let mut rules = rules();
        rules.iter_mut().for_each(|r| r.enabled = false);
        let holdings = [holding("reader", "prod", &[("read", "db:ledger")]), holding("writer", "prod", &[("write", "db:ledger")])];
        assert!(conflicts("i", &holdings, &rules, &[], t(0)).is_empty());
    }
}
