//! Scopes say where a role applies: hierarchical paths such as `prod/payments/ledger-db`.
//! A grant on a scope covers every scope below it.

use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary!(
    ScopeKind, "Scope kind" {
        Namespace = "namespace", "Namespace";
        ResourceGroup = "resource_group", "Resource group";
        DataSet = "data_set", "Data set";
    }
);

pub const MAX_DEPTH: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ScopePath(String);

impl ScopePath {
    pub fn parse(input: &str) -> Result<Self, String> {
        let value = input.trim().trim_matches('/');
        if value.is_empty() {
            return Err("Scope path is required, e.g. prod/payments.".to_owned());
        }
        let segments: Vec<&str> = value.split('/').collect();
        if segments.len() > MAX_DEPTH {
            return Err(format!("A scope path has at most {MAX_DEPTH} levels."));
        }
        for segment in &segments {
            let ok = !segment.is_empty()
                && segment.len() <= 63
                && segment.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && segment.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
            if !ok {
                return Err(format!(
                    "Scope segment \"{segment}\" must be 1 to 63 lower-case letters, digits, '-', '_' or '.', starting with a letter or digit."
                ));
            }
        }
        Ok(ScopePath(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn parent(&self) -> Option<ScopePath> {
        self.0.rsplit_once('/').map(|(parent, _)| ScopePath(parent.to_owned()))
    }

    /// True when `other` is this scope or lies below it.
    pub fn covers(&self, other: &ScopePath) -> bool {
        other.0 == self.0 || other.0.starts_with(&format!("{}/", self.0))
    }

    pub fn depth(&self) -> usize {
        self.0.split('/').count()
    }
}

#[cfg(feature = "ssr")]
impl schemars::JsonSchema for ScopePath {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ScopePath".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "description": "A scope path such as prod/payments/ledger-db" })
    }
}

impl TryFrom<String> for ScopePath {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<ScopePath> for String {
    fn from(value: ScopePath) -> String {
        value.0
    }
}

impl fmt::Display for ScopePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub id: String,
    pub path: ScopePath,
    pub kind: ScopeKind,
    pub description: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> ScopePath {
        ScopePath::parse(s).unwrap()
    }

    #[test]
    fn leading_and_trailing_slashes_are_ignored() {
        assert_eq!(p("/prod/payments/").as_str(), "prod/payments");
    }

    #[test]
    fn a_scope_covers_itself_and_its_descendants_only() {
        assert!(p("prod").covers(&p("prod")));
        assert!(p("prod").covers(&p("prod/payments/ledger-db")));
        assert!(!p("prod").covers(&p("production")));
        assert!(!p("prod/payments").covers(&p("prod")));
    }

    #[test]
    fn the_parent_drops_the_last_segment() {
        assert_eq!(p("prod/payments/db").parent(), Some(p("prod/payments")));
        assert_eq!(p("prod").parent(), None);
    }

    #[test]
    fn an_empty_segment_is_refused() {
        assert!(ScopePath::parse("prod//payments").unwrap_err().contains("Scope segment"));
    }

    #[test]
    fn too_deep_a_path_is_refused() {
        assert!(ScopePath::parse("a/b/c/d/e/f/g/h/i").unwrap_err().contains("at most 8"));
    }
}
