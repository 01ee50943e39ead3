//! The assignment matrix: identities × roles for one scope or service, each cell saying whether
//! the identity holds the role (and at which version), has a grant pending, would conflict, or
//! has nothing.

use super::Timestamp;
use super::role::Sensitivity;
use serde::{Deserialize, Serialize};

pub const MAX_ROWS: usize = 200;
pub const MAX_COLUMNS: usize = 60;

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixColumn {
    pub role_id: String,
    pub slug: String,
    pub version: i64,
    pub sensitivity: Sensitivity,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Cell {
    Held {
        assignment_id: String,
        version: i64,
        expires_at: Option<Timestamp>,
    },
    Pending,
    /// Granting it would break separation of duties (the message says how).
    Conflict {
        message: String,
    },
    Empty,
}

impl Cell {
    pub fn name(&self) -> &'static str {
        match self {
            Cell::Held { .. } => "held",
            Cell::Pending => "pending",
            Cell::Conflict { .. } => "conflict",
            Cell::Empty => "empty",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixRow {
    pub identity_id: String,
    pub identity_name: String,
    pub cells: Vec<Cell>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatrixView {
    /// What the matrix shows ("service payments-api", "scope prod/payments").
    pub title: String,
    /// Grants made from this matrix apply on this scope (the role's own scope when absent).
    pub grant_scope: Option<String>,
    pub columns: Vec<MatrixColumn>,
    pub rows: Vec<MatrixRow>,
    /// More identities or roles exist than the matrix shows.
    pub truncated: bool,
}

/// One toggled cell.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftChange {
    pub identity_id: String,
    pub role_id: String,
    /// Set when the toggle ends an existing assignment.
    pub assignment_id: Option<String>,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixDraft {
    pub grant_scope: Option<String>,
    pub changes: Vec<DraftChange>,
    pub reason: String,
}
