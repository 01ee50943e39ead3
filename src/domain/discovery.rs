//! What the discoverability questions answer, and the access changes people and pipelines ask
//! for: shared by the service layer, the console and the API.

use super::change::ChangeRequest;
use super::role::VersionHolders;
use super::sod::{Finding, Holding};
use serde::{Deserialize, Serialize};

/// One holder of a role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub assignment_id: String,
    pub identity_id: String,
    pub identity_name: String,
    pub version: i64,
    pub scope: String,
    pub granted_at: String,
    pub expires_at: Option<String>,
}

/// One identity that may do something on a scope, with the grant that allows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capable {
    pub identity_id: String,
    pub identity_name: String,
    pub role_slug: String,
    pub version: i64,
    pub scope: String,
    pub action: String,
    pub resource: String,
}

/// A grant as asked for in a form or by a pipeline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub identity_id: String,
    /// Role id or slug.
    pub role: String,
    /// Where it applies; the role's own scope when empty.
    #[serde(default)]
    pub scope: String,
    /// `YYYY-MM-DD` or RFC 3339; no expiry when empty.
    #[serde(default)]
    pub expires_at: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessInput {
    #[serde(default)]
    pub grants: Vec<GrantInput>,
    /// Assignment ids to end.
    #[serde(default)]
    pub revokes: Vec<String>,
    pub reason: String,
}

/// Holders of a role with counts per pinned version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HoldersPage {
    pub holders: Vec<Holder>,
    pub next_cursor: Option<String>,
    pub counts: Vec<VersionHolders>,
    pub total: i64,
}

/// An identity's effective permissions: every active, unexpired assignment expanded with the
/// permissions of its pinned version (so each permission shows the grant that gives it), and
/// the separation-of-duty findings it currently has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EffectiveAccess {
    pub holdings: Vec<Holding>,
    pub findings: Vec<Finding>,
    pub pending: Vec<ChangeRequest>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoCanQuery {
    /// A specific action (`write`), or
    pub action: Option<String>,
    /// any action of a class (`read`, `write`, `admin`).
    pub class: Option<String>,
    pub resource: Option<String>,
    pub scope: String,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

/// Current violations: identities holding several roles, walked in id order a page at a time.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Violations {
    pub findings: Vec<(String, String, Finding)>,
    /// Where the next page starts, when the walk did not reach the end.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExceptionInput {
    pub rule_id: String,
    pub identity_id: String,
    #[serde(default)]
    pub resource: String,
    pub justification: String,
    /// `YYYY-MM-DD` or RFC 3339; at most a year ahead.
    pub expires_at: String,
}
