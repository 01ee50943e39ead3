//! Who is acting. Every service-layer call receives an `Actor` and checks a `Capability` before
//! touching data; the console and the API only decide how the actor is recognised.

use super::scope::ScopePath;
use super::token::TokenScope;
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
    /// Create services from templates (pipelines).
    Provision,
    /// Retire services and everything they own (pipelines).
    Decommission,
    /// Report credential and identity usage (pipelines).
    ReportUsage,
    /// File change requests (role definitions, grants).
    Propose,
    /// Approve or reject other people's change requests.
    Decide,
    /// Import identities and roles from their sources (Kubernetes, AWS, GCP).
    Import,
}

impl Capability {
    /// How a refusal reads: "You are not allowed to {description}."
    pub fn description(&self) -> &'static str {
        match self {
            Capability::ReadLedger => "read the ledger",
            Capability::EditLedger => "change the ledger (requires the requester or admin console role)",
            Capability::Audit => "read or verify the audit log (requires the auditor or admin console role, or the audit token scope)",
            Capability::Administer => "administer nhidb (requires the admin console role)",
            Capability::Provision => "provision services (requires the provision token scope)",
            Capability::Decommission => "decommission services (requires the decommission token scope)",
            Capability::ReportUsage => "report usage (requires the report-usage token scope)",
            Capability::Propose => "propose changes (requires the requester or admin console role)",
            Capability::Decide => "decide change requests (requires the approver console role)",
            Capability::Import => "import from sources (requires the admin console role or the import token scope)",
        }
    }

    /// The console roles that give this, as a page refused to an operator names them.
    pub fn console_roles(&self) -> &'static str {
        match self {
            Capability::ReadLedger => "any console role",
            Capability::EditLedger | Capability::Provision | Capability::Decommission | Capability::Propose => "the requester or admin console role",
            Capability::Audit => "the auditor or admin console role",
            Capability::Administer | Capability::Import => "the admin console role",
            Capability::Decide => "the approver console role",
            Capability::ReportUsage => "a pipeline token with the report-usage scope",
        }
    }

    /// Whether an operator holding `role` has this capability.
    pub fn granted_by(&self, role: ConsoleRole) -> bool {
        use ConsoleRole::*;
        match self {
            Capability::ReadLedger => true,
            Capability::EditLedger | Capability::Provision | Capability::Decommission => matches!(role, Requester | Admin),
            Capability::Audit => matches!(role, Auditor | Admin),
            Capability::Administer | Capability::Import => role == Admin,
            Capability::ReportUsage => false,
            Capability::Propose => matches!(role, Requester | Admin),
            Capability::Decide => role == Approver,
        }
    }

    /// Whether a pipeline token holding `scope` has this capability. Tokens never administer
    /// nhidb and never edit the ledger outside the pipeline use cases.
    pub fn granted_by_scope(&self, scope: TokenScope) -> bool {
        matches!(
            (self, scope),
            (Capability::ReadLedger, TokenScope::Read)
                | (Capability::Provision, TokenScope::Provision)
                | (Capability::Decommission, TokenScope::Decommission)
                | (Capability::ReportUsage, TokenScope::ReportUsage)
                | (Capability::Audit, TokenScope::Audit)
                | (Capability::Import, TokenScope::Import)
                // Pipelines may file role changes (roles as code); people decide them.
                | (Capability::Propose, TokenScope::Provision)
        )
    }
}

vocabulary!(
    ActorKind, "Actor kind" {
        Operator = "operator", "Operator";
        Token = "token", "Pipeline token";
        System = "system", "System";
    }
);

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
    pub name: String,
    /// Console roles (operators).
    pub roles: Vec<ConsoleRole>,
    /// Token scopes (pipeline tokens).
    #[serde(default)]
    pub scopes: Vec<TokenScope>,
    /// Where a limited pipeline token may change anything; empty: anywhere its scopes allow.
    #[serde(default)]
    pub limits: Vec<ScopePath>,
}

impl Actor {
    /// nhidb itself: migrations, seeding, the scheduler. Allowed everything, always audited.
    pub fn system(name: &str) -> Self {
        Actor { kind: ActorKind::System, id: "system".to_owned(), name: name.to_owned(), roles: vec![], scopes: vec![], limits: vec![] }
    }

    pub fn operator(id: &str, name: &str, roles: Vec<ConsoleRole>) -> Self {
        Actor { kind: ActorKind::Operator, id: id.to_owned(), name: name.to_owned(), roles, scopes: vec![], limits: vec![] }
    }

    pub fn token(id: &str, name: &str, scopes: Vec<TokenScope>) -> Self {
        Actor { kind: ActorKind::Token, id: id.to_owned(), name: name.to_owned(), roles: vec![], scopes, limits: vec![] }
    }

    /// The same actor, allowed to change only what lies within `limits`.
    pub fn limited_to(mut self, limits: Vec<ScopePath>) -> Self {
        self.limits = limits;
        self
    }

    /// Whether this actor may change anything on `scope`: always, unless limited to other scopes.
    pub fn may_change(&self, scope: &ScopePath) -> bool {
        self.limits.is_empty() || self.limits.iter().any(|limit| limit.covers(scope))
    }

    /// Whether this actor is limited to parts of the ledger (such actors cannot change what
    /// spans all of it, like templates).
    pub fn is_limited(&self) -> bool {
        !self.limits.is_empty()
    }

    pub fn can(&self, capability: Capability) -> bool {
        match self.kind {
            ActorKind::System => true,
            ActorKind::Operator => self.roles.iter().any(|r| capability.granted_by(*r)),
            ActorKind::Token => self.scopes.iter().any(|s| capability.granted_by_scope(*s)),
        }
    }

    pub fn has_role(&self, role: ConsoleRole) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operator(roles: &[ConsoleRole]) -> Actor {
        Actor::operator("op", "op", roles.to_vec())
    }

    #[test]
    fn a_token_can_only_what_its_scopes_say() {
        let token = Actor::token("t", "ci", vec![TokenScope::Read, TokenScope::Provision]);
        assert!(token.can(Capability::ReadLedger) && token.can(Capability::Provision));
        assert!(!token.can(Capability::Decommission));
        assert!(!token.can(Capability::EditLedger) && !token.can(Capability::Administer));
    }

    #[test]
    fn a_limited_token_changes_only_within_its_limits() {
        let scope = |p: &str| ScopePath::parse(p).unwrap();
        let token = Actor::token("t", "ci", vec![TokenScope::Provision]).limited_to(vec![scope("prod/payments")]);
        assert!(token.may_change(&scope("prod/payments")) && token.may_change(&scope("prod/payments/ledger-db")));
        assert!(!token.may_change(&scope("prod/payments-v2")), "a sibling that shares the prefix is outside");
        assert!(!token.may_change(&scope("prod")));
        assert!(Actor::token("t", "ci", vec![]).may_change(&scope("prod")), "unlimited tokens change anywhere");
    }

    #[test]
    fn console_roles_do_not_report_usage() {
        assert!(!operator(&[ConsoleRole::Admin]).can(Capability::ReportUsage));
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
