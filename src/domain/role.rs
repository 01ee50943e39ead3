//! Roles and their immutable versions. A role's id never changes and is never reused; what the
//! role *means* lives in numbered versions, each hashed over its canonical definition so that an
//! assignment pinned to `v3` always means exactly what was reviewed as `v3`.

use super::scope::ScopePath;
use super::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

vocabulary!(
    Sensitivity, "Sensitivity" {
        Standard = "standard", "Standard";
        Privileged = "privileged", "Privileged";
    }
);

vocabulary!(
    RoleStatus, "Role status" {
        Active = "active", "Active";
        Retired = "retired", "Retired";
    }
);

vocabulary!(
    /// How an action is classified for separation-of-duty checks.
    ActionClass, "Action class" {
        Read = "read", "Read";
        Write = "write", "Write";
        Admin = "admin", "Admin";
    }
);

/// The actions nhidb understands, with their class. A closed list keeps separation-of-duty
/// checks meaningful: an unknown verb could not be classified.
pub const ACTIONS: &[(&str, ActionClass)] = &[
    ("read", ActionClass::Read),
    ("list", ActionClass::Read),
    ("query", ActionClass::Read),
    ("subscribe", ActionClass::Read),
    ("write", ActionClass::Write),
    ("create", ActionClass::Write),
    ("update", ActionClass::Write),
    ("delete", ActionClass::Write),
    ("upload", ActionClass::Write),
    ("publish", ActionClass::Write),
    ("invoke", ActionClass::Write),
    ("deploy", ActionClass::Write),
    ("trigger", ActionClass::Write),
    ("admin", ActionClass::Admin),
    ("grant", ActionClass::Admin),
    ("configure", ActionClass::Admin),
];

pub fn classify(action: &str) -> Option<ActionClass> {
    ACTIONS.iter().find(|(a, _)| *a == action).map(|(_, class)| *class)
}

/// `action` on `resource`, e.g. `read` on `api:orders`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Permission {
    pub action: String,
    pub resource: String,
}

impl Permission {
    pub fn parse(action: &str, resource: &str) -> Result<Self, String> {
        let action = action.trim().to_ascii_lowercase();
        if classify(&action).is_none() {
            return Err(format!(
                "\"{action}\" is not a known action; expected one of: {}.",
                ACTIONS.iter().map(|(a, _)| *a).collect::<Vec<_>>().join(", ")
            ));
        }
        let resource = resource.trim();
        let valid_resource = resource.split_once(':').is_some_and(|(ty, name)| {
            !ty.is_empty() && !name.is_empty()
                && ty.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_./*".contains(c))
        });
        if !valid_resource || resource.len() > 128 {
            return Err(format!(
                "Resource \"{resource}\" must be written type:name, e.g. api:orders or db:ledger (at most 128 characters)."
            ));
        }
        Ok(Permission { action, resource: resource.to_owned() })
    }

    /// Parses `action on resource` or `action:resource-type:name` as typed in a text area, one per line.
    pub fn parse_line(line: &str) -> Result<Self, String> {
        let line = line.trim();
        if let Some((action, resource)) = line.split_once(" on ") {
            return Self::parse(action, resource);
        }
        Err(format!("\"{line}\" must be written as `action on type:name`, e.g. `read on api:orders`."))
    }

    pub fn class(&self) -> ActionClass {
        classify(&self.action).unwrap_or(ActionClass::Admin)
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Role {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    pub description: String,
    pub sensitivity: Sensitivity,
    pub status: RoleStatus,
    pub current_version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The content of a role version that is reviewed and hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleDefinition {
    pub scope: ScopePath,
    pub description: String,
    /// Sorted and free of duplicates, so that equal definitions hash equally.
    pub permissions: Vec<Permission>,
    pub justification: Option<String>,
}

impl RoleDefinition {
    pub fn new(scope: ScopePath, description: String, mut permissions: Vec<Permission>, justification: Option<String>) -> Self {
        permissions.sort();
        permissions.dedup();
        RoleDefinition { scope, description, permissions, justification }
    }

    /// `sha256:` over the canonical JSON of the definition.
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_string(self).unwrap_or_default();
        format!("sha256:{}", hex::encode(Sha256::digest(canonical.as_bytes())))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoleVersion {
    pub role_id: String,
    pub version: i64,
    pub definition: RoleDefinition,
    pub content_hash: String,
    pub author: String,
    pub change_request_id: Option<String>,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perm(a: &str, r: &str) -> Permission {
        Permission::parse(a, r).unwrap()
    }

    #[test]
    fn an_unknown_action_is_refused_with_the_known_list() {
        assert!(Permission::parse("frobnicate", "api:orders").unwrap_err().contains("read, list"));
    }

    #[test]
    fn a_resource_needs_a_type_and_a_name() {
        assert!(Permission::parse("read", "orders").is_err());
        assert!(Permission::parse("read", "api:").is_err());
        assert_eq!(perm("READ", " api:orders ").to_string(), "read on api:orders");
    }

    #[test]
    fn a_permission_line_reads_action_on_resource() {
        assert_eq!(Permission::parse_line("write on db:ledger").unwrap(), perm("write", "db:ledger"));
        assert!(Permission::parse_line("write db:ledger").is_err());
    }

    #[test]
    fn actions_are_classified_for_separation_of_duties() {
        assert_eq!(perm("list", "api:x").class(), ActionClass::Read);
        assert_eq!(perm("deploy", "svc:x").class(), ActionClass::Write);
        assert_eq!(perm("grant", "role:x").class(), ActionClass::Admin);
    }

    #[test]
    fn equal_definitions_hash_equally_whatever_the_permission_order() {
        let scope = ScopePath::parse("prod").unwrap();
        let a = RoleDefinition::new(scope.clone(), "d".into(), vec![perm("read", "api:a"), perm("read", "api:b")], None);
        let b = RoleDefinition::new(scope, "d".into(), vec![perm("read", "api:b"), perm("read", "api:a"), perm("read", "api:a")], None);
        assert_eq!(a.content_hash(), b.content_hash());
        assert!(a.content_hash().starts_with("sha256:"));
    }

    #[test]
    fn any_change_to_a_definition_changes_its_hash() {
        let scope = ScopePath::parse("prod").unwrap();
        let a = RoleDefinition::new(scope.clone(), "d".into(), vec![perm("read", "api:a")], None);
        let b = RoleDefinition::new(scope, "d".into(), vec![perm("write", "api:a")], None);
        assert_ne!(a.content_hash(), b.content_hash());
    }
}
