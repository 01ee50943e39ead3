//! Operators: the people who use the console. Their console roles combine; what each role may
//! do is in `actor::Capability`.

use super::Timestamp;
use super::actor::ConsoleRole;
use super::name;
use crate::error::{AppError, Problems};
use serde::{Deserialize, Serialize};

vocabulary!(
    OperatorStatus, "Operator status" {
        Active = "active", "Active";
        Disabled = "disabled", "Disabled";
    }
);

pub const MIN_PASSWORD_LENGTH: usize = 12;
pub const MAX_PASSWORD_LENGTH: usize = 256;

/// A lower-cased, plausibly deliverable e-mail address (one `@`, a dot in the domain).
pub fn parse_email(input: &str) -> Result<String, String> {
    let email = input.trim().to_lowercase();
    if email.is_empty() {
        return Err("E-mail is required.".to_owned());
    }
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        });
    if valid { Ok(email) } else { Err(format!("\"{}\" is not an e-mail address.", input.trim())) }
}

/// The password rules (length-based, as NIST SP 800-63B recommends, plus the obvious).
pub fn check_password(password: &str, email: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(format!("The password must be at least {MIN_PASSWORD_LENGTH} characters long."));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(format!("The password must be at most {MAX_PASSWORD_LENGTH} characters long."));
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err("The password must not repeat one character.".to_owned());
    }
    if !email.is_empty() && password.to_lowercase().contains(&email.to_lowercase()) {
        return Err("The password must not contain the e-mail address.".to_owned());
    }
    Ok(())
}

/// Parses a list of console roles (`admin, approver`), refusing unknown ones.
pub fn parse_roles(items: &[String]) -> Result<Vec<ConsoleRole>, String> {
    let mut roles = Vec::new();
    for item in items.iter().flat_map(|i| i.split(',')).map(str::trim).filter(|i| !i.is_empty()) {
        let role = ConsoleRole::parse(item)?;
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    roles.sort();
    Ok(roles)
}

pub fn roles_to_text(roles: &[ConsoleRole]) -> String {
    roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operator {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<ConsoleRole>,
    pub status: OperatorStatus,
    pub created_at: Timestamp,
    pub last_sign_in_at: Option<Timestamp>,
}

/// An operator as entered by an admin (or the bootstrap page).
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorInput {
    pub name: String,
    pub email: String,
    pub roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OperatorDraft {
    pub name: String,
    pub email: String,
    pub roles: Vec<ConsoleRole>,
}

impl OperatorInput {
    pub fn parse(&self) -> Result<OperatorDraft, AppError> {
        let mut problems = Problems::new();
        let name = problems.check("name", name::text(&self.name, "Name", 120, true));
        let email = problems.check("email", parse_email(&self.email));
        let roles = problems.check("roles", parse_roles(&self.roles));
        problems.into_result()?;
        match (name, email, roles) {
            (Some(name), Some(email), Some(roles)) => Ok(OperatorDraft { name, email, roles }),
            _ => Err(AppError::invalid("request", "The operator form is incomplete.")),
        }
    }
}

/// A signed-in console session as the browser sees it (never the session secret itself).
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionView {
    pub operator_id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<ConsoleRole>,
    /// Sent back with every state-changing request as proof it comes from the console.
    pub csrf_token: String,
}

impl SessionView {
    pub fn can(&self, capability: super::actor::Capability) -> bool {
        self.roles.iter().any(|r| capability.granted_by(*r))
    }
}

/// One of an operator's sessions, for "my sessions".
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// A short, non-secret handle (the first characters of the stored hash).
    pub handle: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub client_addr: Option<String>,
    pub user_agent: Option<String>,
    pub current: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_mail_addresses_are_lower_cased() {
        assert_eq!(parse_email(" Alice@Example.COM ").unwrap(), "alice@example.com");
    }

    #[test]
    fn an_address_without_a_domain_is_refused() {
        assert!(parse_email("alice@localhost").is_err());
        assert!(parse_email("alice").is_err());
        assert!(parse_email("a@b@c.com").is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(check_password("short", "a@b.co").unwrap_err().contains("at least 12"));
        assert!(check_password("correct horse battery", "a@b.co").is_ok());
    }

    #[test]
    fn a_password_made_of_one_character_or_the_email_is_refused() {
        assert!(check_password("aaaaaaaaaaaaaaaa", "a@b.co").is_err());
        assert!(check_password("xx-alice@example.com", "alice@example.com").is_err());
    }

    #[test]
    fn roles_parse_from_lists_and_commas_without_duplicates() {
        let roles = parse_roles(&["admin, viewer".into(), "admin".into()]).unwrap();
        assert_eq!(roles, [ConsoleRole::Viewer, ConsoleRole::Admin]);
        assert!(parse_roles(&["root".into()]).is_err());
    }
}
