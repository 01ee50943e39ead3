//! Assignments: an identity holds a role at a *pinned* version, on a scope. A new role version
//! never moves holders by itself.

use super::Timestamp;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assignment {
    pub id: String,
    pub identity_id: String,
    pub identity_name: String,
    pub role_id: String,
    pub role_slug: String,
    pub role_version: i64,
    /// The role's current version, to show holders that are behind.
    pub role_current_version: i64,
    pub scope: String,
    pub granted_by: String,
    pub change_request_id: Option<String>,
    pub granted_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Assignment {
    /// Active means not revoked and not expired at `now`; only active assignments grant anything.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }

    pub fn is_outdated(&self) -> bool {
        self.role_version < self.role_current_version
    }
}
