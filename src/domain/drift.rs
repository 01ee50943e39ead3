//! Drift: what an import observed that nobody in nhidb reviewed. A source changes outside any
//! review (`kubectl edit clusterrole`, a policy version made default in the AWS console), grants
//! privileged roles nhidb never approved, and binds roles or principals it does not have. Each
//! such observation is a finding until a change request acknowledges it (approved like any
//! other: who accepted it is recorded) or the source no longer has it.

use super::Timestamp;
use super::role::RoleDiff;
use serde::{Deserialize, Serialize};

vocabulary!(
    DriftKind, "Drift kind" {
        ChangedOutsideReview = "changed_outside_review", "Changed outside review";
        UnreviewedAccess = "unreviewed_access", "Unreviewed access";
        DanglingBinding = "dangling_binding", "Dangling binding";
    }
);

impl DriftKind {
    /// What the finding means, for the report's heading and the README.
    pub fn explanation(self) -> &'static str {
        match self {
            DriftKind::ChangedOutsideReview => {
                "A role's rules changed in its source after nhidb first imported it, and nobody in nhidb reviewed the change: its holders already have the new rules."
            }
            DriftKind::UnreviewedAccess => "A grant of a privileged role observed in a source: nobody in nhidb approved it.",
            DriftKind::DanglingBinding => {
                "A grant in the source names a role or principal the source does not have: it grants nothing now, and grants at once if that name appears."
            }
        }
    }
}

vocabulary!(
    /// open → acknowledged (a change request accepted it) | gone (the source no longer has it).
    DriftState, "Drift state" {
        Open = "open", "Open";
        Acknowledged = "acknowledged", "Acknowledged";
        Gone = "gone", "Gone from source";
    }
);

/// One drift finding.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub id: String,
    pub source_id: String,
    pub source_name: String,
    pub kind: DriftKind,
    /// `role_id/version`, an assignment id, or a dangling grant's source ref.
    pub subject_id: String,
    /// How it reads: `edit v3`, `ci-deployer holds cluster-admin on k8s/prod-eu`.
    pub subject: String,
    pub detail: String,
    pub role_id: Option<String>,
    pub role_version: Option<i64>,
    /// For a changed role: the version before the change.
    pub base_version: Option<i64>,
    pub identity_id: Option<String>,
    pub opened_at: Timestamp,
    pub state: DriftState,
    pub closed_at: Option<Timestamp>,
    /// The change request that acknowledged it.
    pub change_id: Option<String>,
    /// The approver whose decision applied the acknowledgement.
    pub acknowledged_by: Option<String>,
}

/// Open drift per kind.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftCounts {
    pub changed_outside_review: i64,
    pub unreviewed_access: i64,
    pub dangling_binding: i64,
}

impl DriftCounts {
    pub fn add(&mut self, kind: DriftKind, count: i64) {
        match kind {
            DriftKind::ChangedOutsideReview => self.changed_outside_review += count,
            DriftKind::UnreviewedAccess => self.unreviewed_access += count,
            DriftKind::DanglingBinding => self.dangling_binding += count,
        }
    }

    pub fn of(&self, kind: DriftKind) -> i64 {
        match kind {
            DriftKind::ChangedOutsideReview => self.changed_outside_review,
            DriftKind::UnreviewedAccess => self.unreviewed_access,
            DriftKind::DanglingBinding => self.dangling_binding,
        }
    }

    pub fn total(&self) -> i64 {
        self.changed_outside_review + self.unreviewed_access + self.dangling_binding
    }
}

/// One finding's page: the finding, the rule diff of a changed role, and where its
/// acknowledgement stands.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftDetail {
    pub drift: Drift,
    /// For a changed role: from the version before to the one observed.
    pub diff: Option<RoleDiff>,
    pub role_slug: Option<String>,
    /// The open change request acknowledging it, if one was filed.
    pub pending_change: Option<String>,
    /// Whether the viewer may file an acknowledgement now.
    pub can_acknowledge: bool,
}

/// A drift list as addressed by a URL or API query string.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriftQuery {
    /// One source's findings (its id); every source's when absent.
    pub source: Option<String>,
    /// `open` (the default), `acknowledged`, `gone` or `all`.
    pub state: Option<String>,
    pub kind: Option<String>,
    /// The cursor of the previous page (the last row's id).
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// An acknowledgement as filed from the console or the API.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgeInput {
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_explained_and_counted() {
        let mut counts = DriftCounts::default();
        for (i, kind) in DriftKind::ALL.iter().enumerate() {
            assert!(!kind.explanation().is_empty());
            counts.add(*kind, i as i64 + 1);
            assert_eq!(counts.of(*kind), i as i64 + 1);
        }
        assert_eq!(counts.total(), 6);
    }
}
