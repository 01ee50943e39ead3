//! Hygiene: the identities and credentials that should not be left as they are — orphans,
//! dormant identities, credentials expired, expiring, unrotated or never used, separation-of-duty
//! violations, privileged holders and holders pinned to outdated role versions. Each finding
//! names the identity and what to do about it.

use super::Timestamp;
use super::page::present;
use serde::{Deserialize, Serialize};

vocabulary!(
    FindingKind, "Finding kind" {
        OrphanOwner = "orphan_owner", "Owner disabled";
        OrphanService = "orphan_service", "Service decommissioned";
        Unassigned = "unassigned", "No active assignment";
        Dormant = "dormant", "Dormant";
        CredentialExpired = "credential_expired", "Expired, not revoked";
        CredentialExpiring = "credential_expiring", "Expiring soon";
        CredentialUnrotated = "credential_unrotated", "Not rotated";
        CredentialUnused = "credential_unused", "Never used";
        SodViolation = "sod_violation", "SoD violation";
        PrivilegedHolder = "privileged_holder", "Privileged holder";
        OutdatedVersion = "outdated_version", "Outdated role version";
        EscalationPath = "escalation_path", "Escalation path";
    }
);

/// What to do about a finding; the console links each row to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum FindingAction {
    /// Retire the identity (on its page; audited, revokes everything it holds).
    RetireIdentity,
    /// Revoke the credential (or its assignment, which revokes it).
    RevokeCredential,
    /// Rotate the credential.
    RotateCredential,
    /// File a revoke request for the assignment.
    RevokeAssignment,
    /// Propose moving the holder to the current version.
    MoveToCurrent,
    /// Review: nothing is necessarily wrong.
    Review,
}

impl FindingKind {
    /// One sentence for the report's heading.
    pub fn explanation(self) -> &'static str {
        match self {
            FindingKind::OrphanOwner => "Identities still in service whose owner is disabled: nobody answers for them.",
            FindingKind::OrphanService => "Identities still in service whose service was decommissioned.",
            FindingKind::Unassigned => "Active identities holding no active role: they can do nothing, or do it outside the ledger.",
            FindingKind::Dormant => "Active identities not seen within the dormancy window.",
            FindingKind::CredentialExpired => "Credentials past their expiry that were never revoked.",
            FindingKind::CredentialExpiring => "Credentials expiring within the warning window.",
            FindingKind::CredentialUnrotated => "Credentials not rotated within the rotation policy.",
            FindingKind::CredentialUnused => "Live credentials with no recorded use.",
            FindingKind::SodViolation => "Identities that can both read and write a resource, or hold conflicting roles, without an exception.",
            FindingKind::PrivilegedHolder => "Identities holding a privileged role.",
            FindingKind::OutdatedVersion => "Holders pinned to an older version of their role.",
            FindingKind::EscalationPath => {
                "Identities that can reach a privileged role or a source's full control through permissions that grant others (see Escalation paths)."
            }
        }
    }

    pub fn action(self) -> FindingAction {
        match self {
            FindingKind::OrphanOwner | FindingKind::OrphanService | FindingKind::Unassigned | FindingKind::Dormant => FindingAction::RetireIdentity,
            FindingKind::CredentialExpired | FindingKind::CredentialUnused => FindingAction::RevokeCredential,
            FindingKind::CredentialExpiring | FindingKind::CredentialUnrotated => FindingAction::RotateCredential,
            FindingKind::SodViolation => FindingAction::RevokeAssignment,
            FindingKind::PrivilegedHolder | FindingKind::EscalationPath => FindingAction::Review,
            FindingKind::OutdatedVersion => FindingAction::MoveToCurrent,
        }
    }

    /// Findings that need someone to act (privileged holders are shown, not counted as open).
    pub fn is_problem(self) -> bool {
        self != FindingKind::PrivilegedHolder
    }

    /// Whether the finding is derived per identity from its own rows (in the transaction of
    /// the change). Escalation paths are not: one grant can open paths for identities it does
    /// not name, so they are derived from the whole escalation graph (`findings::settle_escalation`).
    pub fn is_per_identity(self) -> bool {
        self != FindingKind::EscalationPath
    }
}

/// The windows the reports use. Configurable per server (`NHIDB_HYGIENE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct HygienePolicy {
    /// An active identity not seen for this many days is dormant.
    pub dormant_days: i64,
    /// Credentials expiring within this many days are reported.
    pub expiring_days: i64,
    /// Credentials not rotated (or created) within this many days are reported.
    pub rotation_days: i64,
}

impl Default for HygienePolicy {
    fn default() -> Self {
        HygienePolicy { dormant_days: 90, expiring_days: 30, rotation_days: 180 }
    }
}

/// One finding: an identity, and what about it (a credential, an assignment) when not the
/// identity itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct Finding {
    pub kind: FindingKind,
    pub identity_id: String,
    pub identity_name: String,
    pub service_name: Option<String>,
    pub owner_name: String,
    /// The credential or assignment the finding is about, if any.
    pub subject_id: Option<String>,
    /// How that subject reads: a fingerprint, `data-reader v2 on prod/payments`.
    pub subject: String,
    pub detail: String,
    /// When the condition started (expiry, last seen, grant), where known.
    pub since: Option<Timestamp>,
    pub action: FindingAction,
}

impl FindingAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingAction::RetireIdentity => "retire_identity",
            FindingAction::RevokeCredential => "revoke_credential",
            FindingAction::RotateCredential => "rotate_credential",
            FindingAction::RevokeAssignment => "revoke_assignment",
            FindingAction::MoveToCurrent => "move_to_current",
            FindingAction::Review => "review",
        }
    }
}

/// The columns of a findings CSV (downloads and export bundles alike).
pub const CSV_HEADER: [&str; 10] = ["kind", "identity_id", "identity", "service", "owner", "subject_id", "subject", "detail", "since", "action"];

impl Finding {
    /// The finding as a CSV row, in `CSV_HEADER` order.
    pub fn csv_row(&self) -> [String; 10] {
        [
            self.kind.as_str().to_owned(),
            self.identity_id.clone(),
            self.identity_name.clone(),
            self.service_name.clone().unwrap_or_default(),
            self.owner_name.clone(),
            self.subject_id.clone().unwrap_or_default(),
            self.subject.clone(),
            self.detail.clone(),
            self.since.map(|t| t.to_rfc3339()).unwrap_or_default(),
            self.action.as_str().to_owned(),
        ]
    }
}

/// Open findings per kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct HygieneSummary {
    pub counts: Vec<KindCount>,
    pub policy: HygienePolicy,
    pub as_of: Timestamp,
    /// Open drift from sources per kind (changed outside review, unreviewed access, dangling
    /// bindings): kept by imports and acknowledgements, listed on each source's page.
    #[serde(default)]
    pub drift: super::drift::DriftCounts,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
pub struct KindCount {
    pub kind: FindingKind,
    pub label: String,
    pub count: i64,
}

/// A report page as addressed by a URL or API query string.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FindingQuery {
    /// The cursor of the previous page.
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl FindingQuery {
    /// The cursor: "identity_id subject_id" of the last row seen.
    pub fn cursor(&self) -> Option<(String, String)> {
        let after = present(&self.after)?;
        let (identity, subject) = after.split_once(' ').unwrap_or((after, ""));
        Some((identity.to_owned(), subject.trim().to_owned()))
    }
}

/// The cursor of a finding row.
pub fn cursor_of(finding: &Finding) -> String {
    format!("{} {}", finding.identity_id, finding.subject_id.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_says_what_to_do() {
        for kind in FindingKind::ALL {
            assert!(!kind.explanation().is_empty());
            let _ = kind.action();
        }
        assert_eq!(FindingKind::Dormant.action(), FindingAction::RetireIdentity);
        assert_eq!(FindingKind::CredentialExpired.action(), FindingAction::RevokeCredential);
    }

    #[test]
    fn actions_spell_as_they_serialise() {
        for action in [FindingAction::RetireIdentity, FindingAction::MoveToCurrent, FindingAction::Review] {
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
    }

    #[test]
    fn a_cursor_is_the_identity_and_subject_of_the_last_row() {
        let q = FindingQuery { after: Some("01ABC 01DEF".into()), limit: None };
        assert_eq!(q.cursor(), Some(("01ABC".into(), "01DEF".into())));
        let q = FindingQuery { after: Some("01ABC".into()), limit: None };
        assert_eq!(q.cursor(), Some(("01ABC".into(), String::new())));
        assert_eq!(FindingQuery { after: Some("  ".into()), limit: None }.cursor(), None);
    }
}
