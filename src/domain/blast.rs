//! Blast radius: what a pending change would do to whom — identities gaining and losing which
//! permissions on which scopes, with counts, the first names, and the separation-of-duty
//! findings it would introduce.

use super::role::Permission;
use super::sod::Finding;
use serde::{Deserialize, Serialize};

/// How many identities each side of a blast radius names; the counts cover everyone.
pub const NAMED: usize = 50;

/// One identity's change through one role.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delta {
    pub identity_id: String,
    pub identity_name: String,
    pub role_slug: String,
    pub scope: String,
    pub permissions: Vec<Permission>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlastRadius {
    /// Up to `NAMED` entries.
    pub gaining: Vec<Delta>,
    pub losing: Vec<Delta>,
    /// Identities gaining or losing anything, in all.
    pub gaining_count: i64,
    pub losing_count: i64,
    /// Conflicts the change would introduce; those not covered by an exception block approval.
    pub findings: Vec<Finding>,
    /// Escalation paths the change would open and close (grants and revocations; `None` where
    /// the analysis does not apply).
    #[serde(default)]
    pub escalation: Option<super::escalation::EscalationDelta>,
}

impl BlastRadius {
    pub fn gain(&mut self, delta: Delta) {
        if delta.permissions.is_empty() {
            return;
        }
        self.gaining_count += 1;
        if self.gaining.len() < NAMED {
            self.gaining.push(delta);
        }
    }

    pub fn lose(&mut self, delta: Delta) {
        if delta.permissions.is_empty() {
            return;
        }
        self.losing_count += 1;
        if self.losing.len() < NAMED {
            self.losing.push(delta);
        }
    }

    pub fn blocking(&self) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.blocks()).collect()
    }

    /// "3 identities gain access, 1 loses access, 1 conflict".
    pub fn summary(&self) -> String {
        let plural = |n: i64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut parts = vec![
            plural(self.gaining_count, "identity gains access", "identities gain access"),
            plural(self.losing_count, "identity loses access", "identities lose access"),
        ];
        let blocking = self.blocking().len() as i64;
        if blocking > 0 {
            parts.push(plural(blocking, "separation-of-duty conflict", "separation-of-duty conflicts"));
        }
        if let Some(e) = self.escalation.as_ref().filter(|e| e.opened_count > 0) {
            parts.push(plural(e.opened_count, "escalation path opened", "escalation paths opened"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(n: usize, perms: usize) -> Delta {
        Delta {
            identity_id: format!("i{n}"),
            identity_name: format!("svc-{n}"),
            role_slug: "r".into(),
            scope: "prod".into(),
            permissions: (0..perms).map(|p| Permission::parse("read", &format!("db:{p}")).unwrap()).collect(),
        }
    }

    #[test]
    fn counts_cover_everyone_while_names_stop_at_the_first_page() {
        let mut blast = BlastRadius::default();
        for n in 0..(NAMED + 10) {
            blast.gain(delta(n, 1));
        }
        assert_eq!(blast.gaining_count, (NAMED + 10) as i64);
        assert_eq!(blast.gaining.len(), NAMED);
    }

    #[test]
    fn a_change_that_moves_no_permission_is_not_counted() {
        let mut blast = BlastRadius::default();
        blast.lose(delta(1, 0));
        assert_eq!(blast.losing_count, 0);
        assert_eq!(blast.summary(), "0 identities gain access, 0 identities lose access");
    }
}
