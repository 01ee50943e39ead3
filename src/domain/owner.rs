//! Owners are the people and teams accountable for identities and services. Every identity has
//! one, so that nothing in the ledger is nobody's business.

use serde::{Deserialize, Serialize};

vocabulary!(
    OwnerKind, "Owner kind" {
        Person = "person", "Person";
        Team = "team", "Team";
    }
);

vocabulary!(
    OwnerStatus, "Owner status" {
        Active = "active", "Active";
        Disabled = "disabled", "Disabled";
    }
);

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub id: String,
    pub kind: OwnerKind,
    pub name: String,
    pub email: Option<String>,
    pub status: OwnerStatus,
}
