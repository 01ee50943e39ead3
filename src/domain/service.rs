//! Services: the applications that own machine identities.

use super::Timestamp;
use super::audit::AuditEvent;
use super::identity::{Identity, required};
use super::name::{self, ServiceName};
use super::page::{Page, PageRequest, present};
use crate::error::{AppError, Problems};
use serde::{Deserialize, Serialize};

vocabulary!(
    ServiceStatus, "Service status" {
        Active = "active", "Active";
        Decommissioned = "decommissioned", "Decommissioned";
    }
);

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub owner_id: String,
    pub owner_name: String,
    pub status: ServiceStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Identities of this service that are not retired.
    pub identity_count: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDraft {
    pub name: ServiceName,
    pub display_name: String,
    pub description: String,
    pub owner_id: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    pub owner_id: String,
    #[serde(default)]
    pub description: String,
}

impl ServiceInput {
    pub fn parse(&self) -> Result<ServiceDraft, AppError> {
        let mut problems = Problems::new();
        let name = problems.check("name", ServiceName::parse(&self.name));
        let display_name = problems.check("display_name", name::text(&self.display_name, "Display name", 120, false));
        let owner_id = problems.check("owner_id", required(&self.owner_id, "Owner"));
        let description = problems.check("description", name::text(&self.description, "Description", 2000, false));
        problems.into_result()?;
        match (name, display_name, owner_id, description) {
            (Some(name), Some(display_name), Some(owner_id), Some(description)) => {
                // A service without a display name shows its machine name.
                let display_name = if display_name.is_empty() { name.to_string() } else { display_name };
                Ok(ServiceDraft { name, display_name, description, owner_id })
            }
            _ => Err(AppError::invalid("request", "The service form is incomplete.")),
        }
    }
}

/// Everything the service page shows.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub service: Service,
    pub identities: Page<Identity>,
    pub history: Vec<AuditEvent>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ServiceFilter {
    pub status: Option<ServiceStatus>,
    pub owner_id: Option<String>,
    pub text: Option<String>,
}

/// The services list as addressed by a URL or API query string.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceQuery {
    pub status: Option<String>,
    pub owner: Option<String>,
    pub q: Option<String>,
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl ServiceQuery {
    pub fn to_filter(&self) -> Result<(ServiceFilter, PageRequest), AppError> {
        let mut problems = Problems::new();
        let status = present(&self.status).and_then(|s| problems.check("status", ServiceStatus::parse(s)));
        problems.into_result()?;
        let filter = ServiceFilter { status, owner_id: present(&self.owner).map(str::to_owned), text: present(&self.q).map(str::to_owned) };
        Ok((filter, PageRequest { after: present(&self.after).map(str::to_owned), limit: self.limit }))
    }
}
