//! Identities: the non-human principals the ledger exists to track.

use super::Timestamp;
use super::assignment::Assignment;
use super::audit::AuditEvent;
use super::credential::Credential;
use super::labels::Labels;
use super::name::{self, IdentityName};
use super::page::{PageRequest, present};
use crate::error::{AppError, Problems};
use serde::{Deserialize, Serialize};

vocabulary!(
    /// What sort of principal an identity is.
    IdentityKind, "Identity kind" {
        ServiceAccount = "service_account", "Service account";
        MachineUser = "machine_user", "Machine user";
        ApiClient = "api_client", "API client";
        CiBot = "ci_bot", "CI bot";
        IotDevice = "iot_device", "IoT device";
        Workload = "workload", "Workload";
    }
);

vocabulary!(
    /// Lifecycle of an identity: active ⇄ suspended → retired. Retired is terminal and kept.
    IdentityStatus, "Identity status" {
        Active = "active", "Active";
        Suspended = "suspended", "Suspended";
        Retired = "retired", "Retired";
    }
);

impl IdentityStatus {
    /// Whether the lifecycle allows moving from `self` to `next`, and why not.
    pub fn check_transition(self, next: IdentityStatus) -> Result<(), String> {
        use IdentityStatus::*;
        match (self, next) {
            (a, b) if a == b => Err(format!("The identity is already {}.", a.label().to_lowercase())),
            (Retired, _) => Err("A retired identity stays retired; create a new identity instead.".to_owned()),
            _ => Ok(()),
        }
    }

    /// The verb a button shows for moving to this status.
    pub fn verb(self) -> &'static str {
        match self {
            IdentityStatus::Active => "Reactivate",
            IdentityStatus::Suspended => "Suspend",
            IdentityStatus::Retired => "Retire",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub kind: IdentityKind,
    pub status: IdentityStatus,
    pub owner_id: String,
    pub owner_name: String,
    pub service_id: Option<String>,
    pub service_name: Option<String>,
    pub description: String,
    pub labels: Labels,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_seen_at: Option<Timestamp>,
    /// Set for an identity imported from a source, which owns its attributes.
    #[serde(default)]
    pub managed_by: Option<super::source::ManagedBy>,
}

/// A parsed, valid set of attributes for creating or editing an identity.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityDraft {
    pub name: IdentityName,
    pub kind: IdentityKind,
    pub owner_id: String,
    pub service_id: Option<String>,
    pub description: String,
    pub labels: Labels,
}

/// The identity form as submitted (browser, API or CLI): text fields, parsed in one go so that
/// every problem is reported at once, next to its field.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityInput {
    pub name: String,
    pub kind: String,
    pub owner_id: String,
    #[serde(default)]
    pub service_id: Option<String>,
    #[serde(default)]
    pub description: String,
    /// `key=value` pairs separated by commas or new lines.
    #[serde(default)]
    pub labels: String,
}

impl IdentityInput {
    pub fn parse(&self) -> Result<IdentityDraft, AppError> {
        let mut problems = Problems::new();
        let name = problems.check("name", IdentityName::parse(&self.name));
        let kind = problems.check("kind", IdentityKind::parse(&self.kind));
        let owner_id = problems.check("owner_id", required(&self.owner_id, "Owner"));
        let description = problems.check("description", name::text(&self.description, "Description", 2000, false));
        let labels = problems.check("labels", Labels::parse(&self.labels));
        problems.into_result()?;
        match (name, kind, owner_id, description, labels) {
            (Some(name), Some(kind), Some(owner_id), Some(description), Some(labels)) => Ok(IdentityDraft {
                name,
                kind,
                owner_id,
                service_id: self.service_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
                description,
                labels,
            }),
            _ => Err(AppError::invalid("request", "The identity form is incomplete.")),
        }
    }
}

/// A choice that must be made (an id picked from a list).
pub fn required(value: &str, what: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() { Err(format!("{what} is required.")) } else { Ok(value.to_owned()) }
}

/// Everything the identity page shows.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityDetail {
    pub identity: Identity,
    pub credentials: Vec<Credential>,
    pub assignments: Vec<Assignment>,
    pub history: Vec<AuditEvent>,
    /// When the page was assembled, so credential states read the same on server and browser.
    pub as_of: Timestamp,
}

/// Filters of the identities list; every field is optional and they combine with AND.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentityFilter {
    pub kind: Option<IdentityKind>,
    pub status: Option<IdentityStatus>,
    pub owner_id: Option<String>,
    pub service_id: Option<String>,
    /// `key=value`
    pub label: Option<(String, String)>,
    /// Case-insensitive substring of the name or description.
    pub text: Option<String>,
}

/// The identities list as addressed by a URL or API query string: every value is text as
/// typed, parsed by `to_filter` so a bad value is reported instead of silently ignored.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityQuery {
    pub kind: Option<String>,
    pub status: Option<String>,
    pub owner: Option<String>,
    pub service: Option<String>,
    /// `key=value`
    pub label: Option<String>,
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl IdentityQuery {
    pub fn to_filter(&self) -> Result<(IdentityFilter, PageRequest), AppError> {
        let mut problems = Problems::new();
        let kind = present(&self.kind).and_then(|k| problems.check("kind", IdentityKind::parse(k)));
        let status = present(&self.status).and_then(|s| problems.check("status", IdentityStatus::parse(s)));
        let label = present(&self.label).and_then(|l| problems.check("label", super::labels::parse_pair(l)));
        let text = present(&self.q).map(str::to_owned);
        if text.as_ref().is_some_and(|t| t.chars().count() > 200) {
            problems.add("q", "Search text must be at most 200 characters long.");
        }
        problems.into_result()?;
        let filter = IdentityFilter {
            kind,
            status,
            owner_id: present(&self.owner).map(str::to_owned),
            service_id: present(&self.service).map(str::to_owned),
            label,
            text,
        };
        Ok((filter, PageRequest { after: present(&self.after).map(str::to_owned), limit: self.limit }))
    }

    /// Whether any filter is set (the cursor does not count).
    pub fn is_filtered(&self) -> bool {
        [&self.kind, &self.status, &self.owner, &self.service, &self.label, &self.q].iter().any(|v| present(v).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_from_their_stored_text() {
        for kind in IdentityKind::ALL {
            assert_eq!(IdentityKind::parse(kind.as_str()).unwrap(), *kind);
        }
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let e = IdentityKind::parse("robot").unwrap_err();
        assert!(e.contains("service_account") && e.contains("iot_device"), "{e}");
    }

    #[test]
    fn a_suspended_identity_can_be_reactivated_or_retired() {
        assert!(IdentityStatus::Suspended.check_transition(IdentityStatus::Active).is_ok());
        assert!(IdentityStatus::Suspended.check_transition(IdentityStatus::Retired).is_ok());
    }

    #[test]
    fn a_retired_identity_never_comes_back() {
        assert!(IdentityStatus::Retired.check_transition(IdentityStatus::Active).is_err());
        assert!(IdentityStatus::Retired.check_transition(IdentityStatus::Suspended).is_err());
    }

    #[test]
    fn every_bad_field_of_a_form_is_reported_at_once() {
        let input = IdentityInput { name: "Bad Name".into(), kind: "robot".into(), ..Default::default() };
        match input.parse() {
            Err(AppError::Validation { errors }) => {
                let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["name", "kind", "owner_id"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_empty_service_means_no_service() {
        let input = IdentityInput { name: "svc-a".into(), kind: "ci_bot".into(), owner_id: "o1".into(), service_id: Some(" ".into()), ..Default::default() };
        assert_eq!(input.parse().unwrap().service_id, None);
    }

    #[test]
    fn a_query_with_an_unknown_kind_is_an_error_not_an_empty_list() {
        let query = IdentityQuery { kind: Some("robot".into()), ..Default::default() };
        assert_eq!(query.to_filter().unwrap_err().field_message("kind").is_some(), true);
    }

    #[test]
    fn blank_query_values_mean_no_filter() {
        let query = IdentityQuery { kind: Some("".into()), q: Some("  ".into()), ..Default::default() };
        let (filter, _) = query.to_filter().unwrap();
        assert_eq!(filter, IdentityFilter::default());
        assert!(!query.is_filtered());
    }

    #[test]
    fn moving_to_the_same_status_is_refused() {
        assert!(IdentityStatus::Active.check_transition(IdentityStatus::Active).unwrap_err().contains("already active"));
    }
}
