//! The figures on the home page.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub identities_total: i64,
    /// (status, count)
    pub identities_by_status: Vec<(String, i64)>,
    /// (kind, count) of identities that are not retired.
    pub identities_by_kind: Vec<(String, i64)>,
    pub services_active: i64,
    pub roles_active: i64,
    pub audit_events: i64,
}
