//! Pipeline tokens: credentials for automation on `/api/v1`. The secret is shown once at
//! creation and stored only as a SHA-256 hash; tokens are high-entropy, so a fast hash is enough
//! (unlike passwords) and makes every API call cheap to authenticate.

use super::Timestamp;
use super::name;
use super::scope::ScopePath;
use crate::error::{AppError, Problems};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

vocabulary!(
    /// What a pipeline token may do.
    TokenScope, "Token scope" {
        Read = "read", "Read";
        Provision = "provision", "Provision";
        Decommission = "decommission", "Decommission";
        ReportUsage = "report-usage", "Report usage";
        Audit = "audit", "Read and verify the audit log";
        Import = "import", "Import from sources";
    }
);

/// Every token secret starts with this, so secret scanners and people recognise it.
pub const SECRET_PREFIX: &str = "nhidb_";
pub const MAX_LIFETIME_DAYS: i64 = 366;

/// `sha256(secret)` as hex: what the database keeps.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The part of a secret safe to display: prefix and the first characters.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(SECRET_PREFIX.len() + 6).collect()
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineToken {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<TokenScope>,
    pub owner_id: String,
    pub owner_name: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
    /// The scopes (and what lies below them) the token may change; empty: the whole ledger.
    #[serde(default)]
    pub limits: Vec<ScopePath>,
}

impl PipelineToken {
    pub fn is_usable(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TokenInput {
    pub name: String,
    pub scopes: Vec<String>,
    pub owner_id: String,
    /// Days until the token expires.
    pub expires_in_days: String,
    /// Scope paths the token may change, separated by commas or line breaks (`prod/payments`);
    /// empty for the whole ledger.
    #[serde(default)]
    pub limits: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TokenDraft {
    pub name: String,
    pub scopes: Vec<TokenScope>,
    pub owner_id: String,
    pub lifetime_days: i64,
    pub limits: Vec<ScopePath>,
}

pub fn parse_scopes(items: &[String]) -> Result<Vec<TokenScope>, String> {
    let mut scopes = Vec::new();
    for item in items.iter().flat_map(|i| i.split(',')).map(str::trim).filter(|i| !i.is_empty()) {
        let scope = TokenScope::parse(item)?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    if scopes.is_empty() {
        return Err("Choose at least one scope.".to_owned());
    }
    scopes.sort();
    Ok(scopes)
}

pub fn scopes_to_text(scopes: &[TokenScope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

/// Scope limits as typed: paths separated by commas, spaces or line breaks; duplicates and paths
/// already covered by another limit are dropped.
pub fn parse_limits(text: &str) -> Result<Vec<ScopePath>, String> {
    let mut limits: Vec<ScopePath> = Vec::new();
    for item in text.split([',', '\n', ' ', '\t', '\r']).map(str::trim).filter(|i| !i.is_empty()) {
        limits.push(ScopePath::parse(item).map_err(|e| format!("Limit \"{item}\": {e}"))?);
    }
    if limits.len() > 50 {
        return Err("A token takes at most 50 scope limits.".to_owned());
    }
    let all = limits.clone();
    limits.retain(|l| !all.iter().any(|other| other != l && other.covers(l)));
    limits.sort();
    limits.dedup();
    Ok(limits)
}

pub fn limits_to_text(limits: &[ScopePath]) -> String {
    limits.iter().map(ScopePath::as_str).collect::<Vec<_>>().join(",")
}

impl TokenInput {
    pub fn parse(&self) -> Result<TokenDraft, AppError> {
        let mut problems = Problems::new();
        let name = problems.check("name", name::text(&self.name, "Name", 120, true));
        let scopes = problems.check("scopes", parse_scopes(&self.scopes));
        let owner_id = problems.check("owner_id", super::identity::required(&self.owner_id, "Owner"));
        let days = problems.check(
            "expires_in_days",
            self.expires_in_days
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|d| (1..=MAX_LIFETIME_DAYS).contains(d))
                .ok_or_else(|| format!("The lifetime must be a whole number of days from 1 to {MAX_LIFETIME_DAYS}.")),
        );
        let limits = problems.check("limits", parse_limits(&self.limits));
        problems.into_result()?;
        match (name, scopes, owner_id, days, limits) {
            (Some(name), Some(scopes), Some(owner_id), Some(lifetime_days), Some(limits)) => Ok(TokenDraft { name, scopes, owner_id, lifetime_days, limits }),
            _ => Err(AppError::invalid("request", "The token form is incomplete.")),
        }
    }
}

/// What creating a token returns: the token and, this once, its secret.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedToken {
    pub token: PipelineToken,
    pub secret: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_use_their_documented_spelling() {
        assert_eq!(parse_scopes(&["read,report-usage".into()]).unwrap(), [TokenScope::Read, TokenScope::ReportUsage]);
        assert_eq!(serde_json::to_string(&TokenScope::ReportUsage).unwrap(), "\"report-usage\"");
    }

    #[test]
    fn a_token_needs_a_scope_and_a_bounded_lifetime() {
        let input = TokenInput { name: "ci".into(), scopes: vec![], owner_id: "o".into(), expires_in_days: "0".into(), limits: String::new() };
        let e = input.parse().unwrap_err();
        assert!(e.field_message("scopes").is_some());
        assert!(e.field_message("expires_in_days").is_some());
    }

    #[test]
    fn limits_are_scope_paths_and_covered_ones_are_dropped() {
        let limits = parse_limits("prod/payments, prod/payments/ledger-db\nstaging/payments").unwrap();
        assert_eq!(limits_to_text(&limits), "prod/payments,staging/payments");
        assert!(parse_limits("prod/Payments").unwrap_err().contains("Limit \"prod/Payments\""));
        assert_eq!(parse_limits("  ").unwrap(), vec![]);
    }

    #[test]
    fn the_stored_hash_is_not_the_secret() {
        let secret = "nhidb_abcdefghijklmnopqrstuvwxyz0123456789";
        assert_ne!(secret_hash(secret), secret);
        assert_eq!(secret_hash(secret).len(), 64);
        assert_eq!(display_prefix(secret), "nhidb_abcdef");
    }
}
