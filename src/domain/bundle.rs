//! The compliance export bundle's manifest: what an auditor checks without trusting the server.
//! Each file's SHA-256 and row count, the export time, the audit chain head at that moment and,
//! with `checkpoints.jsonl`, the key its checkpoints are signed with.

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "nhidb-export/1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub name: String,
    pub sha256: String,
    /// Records (CSV: without the header line; NDJSON: lines; JSON: array items).
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub nhidb_version: String,
    pub exported_at: String,
    pub audit_head: ChainHead,
    /// The public key (hex) that signed `checkpoints.jsonl`, when the bundle has checkpoints.
    /// Auditors compare it with the key they were given, or pin theirs with `--public-key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_key: Option<String>,
    pub files: Vec<ManifestFile>,
}

/// The outcome of `nhidb export verify`: every problem found, each naming its file or sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleReport {
    pub files_checked: usize,
    pub audit_events_verified: i64,
    /// Signed checkpoints the exported log still matches, and the id of the key that signed them.
    #[serde(default)]
    pub checkpoints_held: usize,
    #[serde(default)]
    pub checkpoint_key: Option<String>,
    pub problems: Vec<String>,
}

impl BundleReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}
