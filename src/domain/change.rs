//! Change requests: every change to what a role means (and, later, every grant) is proposed,
//! reviewed under the approval policy, and applied in the same transaction as its last approval.

use super::Timestamp;
use super::actor::ConsoleRole;
use super::role::{RoleDefinition, RoleDiff, Sensitivity};
use serde::{Deserialize, Serialize};

vocabulary!(
    ChangeKind, "Change kind" {
        RoleCreate = "role_create", "New role";
        RoleVersion = "role_version", "New role version";
        RoleRetire = "role_retire", "Retire role";
        Grant = "grant", "Grant";
        Revoke = "revoke", "Revoke";
        Access = "access", "Access changes";
        MoveHolders = "move_holders", "Move holders";
        TemplateCreate = "template_create", "New service template";
        TemplateVersion = "template_version", "New template version";
        Acknowledge = "acknowledge", "Acknowledge drift";
    }
);

/// One role to grant: the version is pinned when the grant is applied (the role's current one).
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantItem {
    pub identity_id: String,
    pub identity_name: String,
    pub role_id: String,
    pub role_slug: String,
    pub scope: super::scope::ScopePath,
    pub expires_at: Option<Timestamp>,
}

/// One assignment to end.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeItem {
    pub assignment_id: String,
    pub identity_id: String,
    pub identity_name: String,
    pub role_slug: String,
}

vocabulary!(
    /// pending → applied (approved and applied together) | rejected | cancelled | expired.
    ChangeState, "Change state" {
        Pending = "pending", "Pending";
        Approved = "approved", "Approved";
        Applied = "applied", "Applied";
        Rejected = "rejected", "Rejected";
        Cancelled = "cancelled", "Cancelled";
        Expired = "expired", "Expired";
    }
);

impl ChangeState {
    pub fn is_open(self) -> bool {
        self == ChangeState::Pending
    }
}

vocabulary!(
    Verdict, "Decision" {
        Approve = "approve", "Approved";
        Reject = "reject", "Rejected";
    }
);

/// What a change request asks for. Stored as JSON; the kind column mirrors the variant.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangePayload {
    RoleCreate {
        slug: String,
        display_name: String,
        sensitivity: Sensitivity,
        definition: RoleDefinition,
    },
    RoleVersion {
        role_id: String,
        /// The version the proposal was written against; applying refuses if the role moved on.
        base_version: i64,
        definition: RoleDefinition,
        /// Move every holder to the new version when it is applied (otherwise they stay pinned).
        move_holders: bool,
    },
    RoleRetire {
        role_id: String,
    },
    /// Grants and revocations filed together (one from an identity page, many from the matrix).
    Access {
        grants: Vec<GrantItem>,
        revokes: Vec<RevokeItem>,
    },
    /// Moves the holders still on older versions of a role to its current version.
    MoveHolders {
        role_id: String,
        role_slug: String,
        /// Only holders on this version; all older versions when absent.
        from_version: Option<i64>,
        to_version: i64,
    },
    /// A new service template (no `template_id`) or a new version of one.
    Template {
        template_id: Option<String>,
        slug: String,
        display_name: String,
        /// The version the proposal was written against; applying refuses if it moved on.
        base_version: Option<i64>,
        definition: super::template::TemplateDefinition,
    },
    /// Accepts what an import observed that nobody reviewed (a drift finding): applying it
    /// closes the finding and records who accepted it.
    Acknowledge {
        drift_id: String,
        drift_kind: super::drift::DriftKind,
        source_id: String,
        source_name: String,
    },
}

impl ChangePayload {
    pub fn kind(&self) -> ChangeKind {
        match self {
            ChangePayload::RoleCreate { .. } => ChangeKind::RoleCreate,
            ChangePayload::RoleVersion { .. } => ChangeKind::RoleVersion,
            ChangePayload::RoleRetire { .. } => ChangeKind::RoleRetire,
            ChangePayload::Access { grants, revokes } => match (grants.len(), revokes.len()) {
                (1, 0) => ChangeKind::Grant,
                (0, 1) => ChangeKind::Revoke,
                _ => ChangeKind::Access,
            },
            ChangePayload::MoveHolders { .. } => ChangeKind::MoveHolders,
            ChangePayload::Template { template_id: None, .. } => ChangeKind::TemplateCreate,
            ChangePayload::Template { template_id: Some(_), .. } => ChangeKind::TemplateVersion,
            ChangePayload::Acknowledge { .. } => ChangeKind::Acknowledge,
        }
    }

    /// The identities a request changes directly (grants and revocations).
    pub fn identities(&self) -> Vec<String> {
        match self {
            ChangePayload::Access { grants, revokes } => {
                let mut ids: Vec<String> = grants.iter().map(|g| g.identity_id.clone()).chain(revokes.iter().map(|r| r.identity_id.clone())).collect();
                ids.sort();
                ids.dedup();
                ids
            }
            _ => vec![],
        }
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub approver_id: String,
    pub approver_name: String,
    pub verdict: Verdict,
    pub comment: String,
    pub at: Timestamp,
}

/// A named set of approvers. When a policy lists groups, every listed group must contribute an
/// approval ("one from security AND one from the owning team").
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApproverGroup {
    pub name: String,
    pub members: Vec<String>,
    /// Which changes need this group: privileged ones only, or all.
    pub privileged_only: bool,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPolicy {
    pub standard_approvals: i64,
    pub privileged_approvals: i64,
    /// Pending requests expire after this many hours.
    pub expiry_hours: i64,
    /// Revocations wait for approval too (off: they take effect at once, audited).
    #[serde(default)]
    pub revocations_need_approval: bool,
    #[serde(default)]
    pub groups: Vec<ApproverGroup>,
    /// Changes that would open an escalation path to a privileged target cannot be approved
    /// (off: they need the privileged number of approvals).
    #[serde(default)]
    pub block_escalation: bool,
}

impl Default for ApprovalPolicy {
    fn default() -> Self {
        ApprovalPolicy {
            standard_approvals: 1,
            privileged_approvals: 2,
            expiry_hours: 7 * 24,
            revocations_need_approval: false,
            groups: vec![],
            block_escalation: false,
        }
    }
}

/// Where a request stands against the policy.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyStatus {
    pub needed: i64,
    pub given: i64,
    /// Groups that still owe an approval.
    pub missing_groups: Vec<String>,
    pub rejected: bool,
}

impl PolicyStatus {
    pub fn satisfied(&self) -> bool {
        !self.rejected && self.given >= self.needed && self.missing_groups.is_empty()
    }

    /// "2 of 2 needed, 1 given" and what else is missing.
    pub fn summary(&self) -> String {
        let mut text = format!("{} of {} needed, {} given", self.needed, self.needed, self.given);
        if !self.missing_groups.is_empty() {
            text.push_str(&format!("; still needs one from {}", self.missing_groups.join(" and ")));
        }
        text
    }
}

impl ApprovalPolicy {
    pub fn approvals_needed(&self, sensitivity: Sensitivity) -> i64 {
        match sensitivity {
            Sensitivity::Standard => self.standard_approvals,
            // Privileged changes always need two different people, whatever is configured.
            Sensitivity::Privileged => self.privileged_approvals.max(2),
        }
    }

    /// Counts approvals by distinct approvers other than the requester; any rejection rejects.
    pub fn evaluate(&self, sensitivity: Sensitivity, requester_id: &str, decisions: &[Decision]) -> PolicyStatus {
        let mut approvers: Vec<&str> =
            decisions.iter().filter(|d| d.verdict == Verdict::Approve && d.approver_id != requester_id).map(|d| d.approver_id.as_str()).collect();
        approvers.sort();
        approvers.dedup();
        let missing_groups = self
            .groups
            .iter()
            .filter(|g| !g.privileged_only || sensitivity == Sensitivity::Privileged)
            .filter(|g| !approvers.iter().any(|a| g.members.iter().any(|m| m == a)))
            .map(|g| g.name.clone())
            .collect();
        PolicyStatus {
            needed: self.approvals_needed(sensitivity),
            given: approvers.len() as i64,
            missing_groups,
            rejected: decisions.iter().any(|d| d.verdict == Verdict::Reject),
        }
    }

    pub fn check(&self) -> Result<(), String> {
        if !(1..=5).contains(&self.standard_approvals) || !(2..=5).contains(&self.privileged_approvals) {
            return Err("Standard changes need 1 to 5 approvals; privileged ones 2 to 5.".to_owned());
        }
        if !(1..=24 * 90).contains(&self.expiry_hours) {
            return Err("Pending requests expire after 1 hour to 90 days.".to_owned());
        }
        Ok(())
    }
}

/// Why someone may not decide a request: a value, rendered once where it is shown, so a
/// refusal is never wrapped into another sentence.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum DecisionRefusal {
    /// The request is no longer pending.
    Closed {
        state: ChangeState,
    },
    OwnRequest,
    NotApprover,
    AlreadyDecided,
}

impl DecisionRefusal {
    /// Whether the refusal is about the request's state rather than about who asks.
    pub fn is_closed(&self) -> bool {
        matches!(self, DecisionRefusal::Closed { .. })
    }
}

impl std::fmt::Display for DecisionRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecisionRefusal::Closed { state } => write!(f, "This request is {} and can no longer be decided.", state.label().to_lowercase()),
            DecisionRefusal::OwnRequest => f.write_str("You cannot decide your own request; another approver must."),
            DecisionRefusal::NotApprover => f.write_str("Deciding requests needs the approver console role."),
            DecisionRefusal::AlreadyDecided => f.write_str("You have already decided this request; an approval counts once per approver."),
        }
    }
}

/// Why `approver` may not decide this request, if they may not.
pub fn decision_refusal(
    approver_id: &str,
    approver_roles: &[ConsoleRole],
    requester_id: &str,
    state: ChangeState,
    decisions: &[Decision],
) -> Option<DecisionRefusal> {
    if state != ChangeState::Pending {
        return Some(DecisionRefusal::Closed { state });
    }
    if approver_id == requester_id {
        return Some(DecisionRefusal::OwnRequest);
    }
    if !approver_roles.contains(&ConsoleRole::Approver) {
        return Some(DecisionRefusal::NotApprover);
    }
    if decisions.iter().any(|d| d.approver_id == approver_id) {
        return Some(DecisionRefusal::AlreadyDecided);
    }
    None
}

/// A change request with everything a reviewer needs.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub id: String,
    pub kind: ChangeKind,
    pub payload: ChangePayload,
    /// The role it concerns (`data-reader`), for lists.
    pub subject: String,
    pub subject_id: Option<String>,
    pub sensitivity: Sensitivity,
    pub requester_id: String,
    pub requester_name: String,
    pub reason: String,
    pub state: ChangeState,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub applied_at: Option<Timestamp>,
    pub decisions: Vec<Decision>,
}

impl ChangeRequest {
    /// The request as it stands at `now`: a pending request whose time ran out is expired, even
    /// before the scheduler records it (reads never write).
    pub fn as_seen_at(mut self, now: Timestamp) -> Self {
        if self.state == ChangeState::Pending && self.expires_at <= now {
            self.state = ChangeState::Expired;
        }
        self
    }
}

/// A request as the review page shows it.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeReview {
    pub request: ChangeRequest,
    pub diff: Option<RoleDiff>,
    /// The definition before the change, when there is one.
    pub base_version: Option<i64>,
    pub status: PolicyStatus,
    /// Who gains and loses which permissions, and the separation-of-duty findings.
    pub blast: Option<super::blast::BlastRadius>,
    /// Holders per pinned version of the role today, and how many would move.
    pub holders_pinned: i64,
    pub holders_moving: i64,
    /// Why the viewer may not decide it (shown instead of the buttons), if they may not.
    pub cannot_decide: Option<DecisionRefusal>,
    pub can_cancel: bool,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeQuery {
    /// `review` (waiting for me), `mine` (I asked), or empty for all.
    pub view: Option<String>,
    pub state: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(who: &str, verdict: Verdict) -> Decision {
        Decision { approver_id: who.into(), approver_name: who.into(), verdict, comment: String::new(), at: Timestamp::from_micros(0) }
    }

    #[test]
    fn a_standard_change_needs_one_approval_by_default() {
        let policy = ApprovalPolicy::default();
        assert!(!policy.evaluate(Sensitivity::Standard, "req", &[]).satisfied());
        assert!(policy.evaluate(Sensitivity::Standard, "req", &[decision("a1", Verdict::Approve)]).satisfied());
    }

    #[test]
    fn a_privileged_change_needs_two_different_approvers() {
        let policy = ApprovalPolicy::default();
        let same_twice = [decision("a1", Verdict::Approve), decision("a1", Verdict::Approve)];
        let status = policy.evaluate(Sensitivity::Privileged, "req", &same_twice);
        assert_eq!((status.needed, status.given), (2, 1));
        assert!(!status.satisfied());
        let two = [decision("a1", Verdict::Approve), decision("a2", Verdict::Approve)];
        assert!(policy.evaluate(Sensitivity::Privileged, "req", &two).satisfied());
        assert_eq!(policy.evaluate(Sensitivity::Privileged, "req", &two).summary(), "2 of 2 needed, 2 given");
    }

    #[test]
    fn even_a_policy_asking_for_one_privileged_approval_gets_two() {
        let policy = ApprovalPolicy { privileged_approvals: 1, ..Default::default() };
        assert_eq!(policy.approvals_needed(Sensitivity::Privileged), 2);
    }

    #[test]
    fn the_requesters_own_approval_never_counts() {
        let status = ApprovalPolicy::default().evaluate(Sensitivity::Standard, "req", &[decision("req", Verdict::Approve)]);
        assert_eq!(status.given, 0);
    }

    #[test]
    fn one_rejection_rejects() {
        let decisions = [decision("a1", Verdict::Approve), decision("a2", Verdict::Reject)];
        let status = ApprovalPolicy::default().evaluate(Sensitivity::Standard, "req", &decisions);
        assert!(status.rejected && !status.satisfied());
    }

    #[test]
    fn groups_must_each_contribute_an_approval() {
        let policy = ApprovalPolicy {
            groups: vec![
                ApproverGroup { name: "security".into(), members: vec!["s1".into()], privileged_only: false },
                ApproverGroup { name: "payments".into(), members: vec!["p1".into()], privileged_only: true },
            ],
            ..Default::default()
        };
        let by_security = [decision("s1", Verdict::Approve)];
        assert!(policy.evaluate(Sensitivity::Standard, "req", &by_security).satisfied(), "payments only for privileged");
        let privileged = policy.evaluate(Sensitivity::Privileged, "req", &[decision("s1", Verdict::Approve), decision("x", Verdict::Approve)]);
        assert_eq!(privileged.missing_groups, ["payments"]);
        assert!(!privileged.satisfied());
        assert!(privileged.summary().contains("one from payments"));
    }

    #[test]
    fn only_other_approvers_may_decide_and_only_once() {
        let approver = [ConsoleRole::Approver];
        assert_eq!(decision_refusal("req", &approver, "req", ChangeState::Pending, &[]), Some(DecisionRefusal::OwnRequest));
        assert_eq!(decision_refusal("a1", &[ConsoleRole::Admin], "req", ChangeState::Pending, &[]), Some(DecisionRefusal::NotApprover));
        assert_eq!(decision_refusal("a1", &approver, "req", ChangeState::Pending, &[decision("a1", Verdict::Approve)]), Some(DecisionRefusal::AlreadyDecided));
        assert_eq!(decision_refusal("a1", &approver, "req", ChangeState::Applied, &[]), Some(DecisionRefusal::Closed { state: ChangeState::Applied }));
        assert_eq!(decision_refusal("a1", &approver, "req", ChangeState::Pending, &[]), None);
    }

    #[test]
    fn a_refusal_reads_as_one_sentence() {
        let e = crate::error::AppError::Refused { refusal: DecisionRefusal::OwnRequest };
        assert_eq!(e.to_string(), "You cannot decide your own request; another approver must.");
        assert_eq!(DecisionRefusal::Closed { state: ChangeState::Expired }.to_string(), "This request is expired and can no longer be decided.");
    }
}
