//! Who is acting. Every service-layer call receives an `Actor` and checks a `Capability` before
//! touching data; the console and the API only decide how the actor is recognised.

use serde::{Deserialize, Serialize};

vocabulary!(
    /// Console roles combine: an operator may be both requester and auditor.
    ConsoleRole, "Console role" {
        Viewer = "viewer", "Viewer";
        Requester = "requester", "Requester";
        Approver = "approver", "Approver";
        Auditor = "auditor", "Auditor";
        Admin = "admin", "Admin";
    }
);

/// What an action needs. Kept coarse on purpose: one line per use case in the service layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// See identities, services, roles, assignments.
    ReadLedger,
    /// Create and edit identities, services and credential metadata.
    EditLedger,
    /// Read and verify the audit log, export evidence.
    Audit,
    /// Operators, tokens, policies, templates.
    Administer,
}

impl Capability {
    /// How a refusal reads: "You are not allowed to {description}."
    pub fn description(&self) -> &'static str {
        match self {
            Capability::ReadLedger => "read the ledger",
            Capability::EditLedger => "change the ledger (requires the requester or admin console role)",
            Capability::Audit => "read or verify the audit log (requires the auditor or admin console role)",
            Capability::Administer => "administer nhidb (requires the admin console role)",
        }
    }

    fn granted_by(&self, role: ConsoleRole) -> bool {
        use ConsoleRole::*;
        match self {
            Capability::ReadLedger => true,
            Capability::EditLedger => matches!(role, Requester | Admin),
            Capability::Audit => matches!(role, Auditor | Admin),
            Capability::Administer => role == Admin,
        }
    }
}

vocabulary!(
    ActorKind, "Actor kind" {
        Operator = "operator", "Operator";
        Token = "token", "Pipeline token";
        System = "system", "System";
    }
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
    pub name: String,
    pub roles: Vec<ConsoleRole>,
}

impl Actor {
    /// nhidb itself: migrations, seeding, the scheduler. Allowed everything, always audited.
    pub fn system(name: &str) -> Self {
        Actor { kind: ActorKind::System, id: "system".to_owned(), name: name.to_owned(), roles: vec![] }
    }

    pub fn can(&self, capability: Capability) -> bool {
        self.kind == ActorKind::System || self.roles.iter().any(|r| capability.granted_by(*r))
    }

    pub fn has_role(&self, role: ConsoleRole) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(roles: &[ConsoleRole]) -> Actor {
        Actor { kind: ActorKind::Operator, id: "op".into(), name: "op".into(), roles: roles.to_vec() }
    }

    #[test]
    fn a_viewer_reads_but_does_not_edit() {
        let viewer = operator(&[ConsoleRole::Viewer]);
        assert!(viewer.can(Capability::ReadLedger));
        assert!(!viewer.can(Capability::EditLedger));
        assert!(!viewer.can(Capability::Audit));
    }

    #[test]
    fn roles_combine() {
        let both = operator(&[ConsoleRole::Requester, ConsoleRole::Auditor]);
        assert!(both.can(Capability::EditLedger) && both.can(Capability::Audit));
        assert!(!both.can(Capability::Administer));
    }

    #[test]
    fn an_operator_without_roles_can_do_nothing() {
        let none = operator(&[]);
        assert!(!none.can(Capability::ReadLedger));
    }

    #[test]
    fn the_system_actor_may_do_everything() {
        assert!(Actor::system("seed").can(Capability::Administer));
    }
}
