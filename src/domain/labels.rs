//! Labels are free key=value tags on identities (`team=payments`, `env=prod`), in the spirit of
//! Kubernetes labels: small, machine-friendly, filterable.

use crate::error::Problem;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const MAX_LABELS: usize = 32;

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Labels(BTreeMap<String, String>);

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > 63 {
        return Err(format!("Label key \"{key}\" must be 1 to 63 characters long."));
    }
    if !key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_./".contains(c)) {
        return Err(format!("Label key \"{key}\" may contain only lower-case letters, digits, '-', '_', '.' and '/'."));
    }
    Ok(())
}

fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value.len() > 63 {
        return Err(format!("The value of label \"{key}\" must be at most 63 characters long."));
    }
    if !value.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("The value of label \"{key}\" may contain only letters, digits, '-', '_' and '.'."));
    }
    Ok(())
}

/// Parses one `key=value` pair, as used in filters.
pub fn parse_pair(input: &str) -> Result<(String, String), String> {
    let (key, value) = input.split_once('=').ok_or_else(|| format!("Label \"{}\" must be written as key=value.", input.trim()))?;
    let (key, value) = (key.trim(), value.trim());
    check_key(key)?;
    check_value(key, value)?;
    Ok((key.to_owned(), value.to_owned()))
}

impl Labels {
    /// Parses `key=value` pairs separated by commas or new lines, as typed in a form. A token
    /// fits the value syntax, so labels are checked for secret material like free text.
    pub fn parse(input: &str) -> Result<Self, Problem> {
        if let Some(secret) = super::secret::detect(input) {
            return Err(Problem::Secret(super::secret::refusal(secret)));
        }
        let mut map = BTreeMap::new();
        for pair in input.split([',', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = parse_pair(pair)?;
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("Label \"{key}\" is given twice.").into());
            }
        }
        if map.len() > MAX_LABELS {
            return Err(format!("An identity may carry at most {MAX_LABELS} labels.").into());
        }
        Ok(Labels(map))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn insert(&mut self, key: &str, value: &str) {
        self.0.insert(key.to_owned(), value.to_owned());
    }

    /// The form text that parses back to these labels.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", ")
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".to_owned())
    }

    pub fn from_json(json: &str) -> Self {
        Labels(serde_json::from_str(json).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_separated_by_commas_or_lines_are_parsed() {
        let labels = Labels::parse("team=payments, env=prod\ntier=1").unwrap();
        assert_eq!(labels.to_text(), "env=prod, team=payments, tier=1");
    }

    #[test]
    fn text_form_round_trips() {
        let labels = Labels::parse("a=1,b=two").unwrap();
        assert_eq!(Labels::parse(&labels.to_text()).unwrap(), labels);
        assert_eq!(Labels::from_json(&labels.to_json()), labels);
    }

    #[test]
    fn a_pair_without_equals_sign_is_explained() {
        assert!(Labels::parse("team").unwrap_err().to_string().contains("key=value"));
    }

    #[test]
    fn a_duplicate_key_is_refused() {
        assert!(Labels::parse("a=1,a=2").unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn a_value_with_spaces_is_refused() {
        assert!(Labels::parse("team=pay ments").is_err());
    }

    #[test]
    fn a_token_as_a_label_value_is_refused_as_secret_material() {
        let token = format!("ci=ghp_{}", "A1b2C3d4E5".repeat(4));
        assert!(matches!(Labels::parse(&token), Err(Problem::Secret(_))));
        assert!(matches!(Labels::parse("key=AKIAIOSFODNN7EXAMPLE"), Err(Problem::Secret(_))));
    }
}
