//! Parse-don't-validate names. A value of these types is known to be well formed; constructors
//! explain in a sentence what is wrong with bad input.

use crate::error::Problem;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Rules shared by every machine-facing name: lower-case ASCII, starts with a letter, no
/// separator at the end or doubled, bounded length. `extra` lists separators allowed besides `-`.
fn check_name(input: &str, what: &str, max: usize, extra: &[char]) -> Result<String, String> {
    let value = input.trim();
    if value.is_empty() {
        return Err(format!("{what} is required."));
    }
    if value.len() < 2 || value.len() > max {
        return Err(format!("{what} must be 2 to {max} characters long."));
    }
    let is_sep = |c: char| c == '-' || extra.contains(&c);
    if let Some(bad) = value.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || is_sep(c))) {
        let allowed = if extra.is_empty() {
            "dashes".to_owned()
        } else {
            format!("dashes and {}", extra.iter().map(|c| format!("'{c}'")).collect::<Vec<_>>().join(", "))
        };
        return Err(format!("{what} may contain only lower-case letters, digits and {allowed}; found '{bad}'."));
    }
    if !value.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("{what} must start with a lower-case letter."));
    }
    if value.ends_with(is_sep) {
        return Err(format!("{what} must not end with a separator."));
    }
    if value.chars().zip(value.chars().skip(1)).any(|(a, b)| is_sep(a) && is_sep(b)) {
        return Err(format!("{what} must not contain two separators in a row."));
    }
    if let Some(secret) = super::secret::detect_in_name(value) {
        return Err(super::secret::refusal(secret));
    }
    Ok(value.to_owned())
}

macro_rules! name_type {
    ($(#[$doc:meta])* $ty:ident, $what:literal, $max:literal, $extra:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $ty(String);

        impl $ty {
            pub fn parse(input: &str) -> Result<Self, String> {
                check_name(input, $what, $max, $extra).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$ty> for String {
            fn from(value: $ty) -> String {
                value.0
            }
        }

        #[cfg(feature = "ssr")]
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "minLength": 2, "maxLength": $max, "description": $what })
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(
    /// Name of an identity, unique within its service (`svc-payments-api`, `ci.deploy_bot`).
    IdentityName, "Identity name", 63, &['.', '_']
);
name_type!(
    /// Name of a service (`payments-api`), unique across the ledger.
    ServiceName, "Service name", 63, &[]
);
name_type!(
    /// The human-readable, unique handle of a role (`data-reader`); the role id stays immutable.
    RoleSlug, "Role slug", 63, &[]
);

/// Free text such as a description, a reason or a comment: trimmed, non-empty when required,
/// bounded, and never secret material (free text ends up in the audit log and in exports, where
/// nothing can be deleted).
pub fn text(input: &str, what: &str, max: usize, required: bool) -> Result<String, Problem> {
    let value = input.trim();
    if required && value.is_empty() {
        return Err(format!("{what} is required.").into());
    }
    if value.chars().count() > max {
        return Err(format!("{what} must be at most {max} characters long.").into());
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(format!("{what} must not contain control characters.").into());
    }
    if let Some(secret) = super::secret::detect(value) {
        return Err(Problem::Secret(super::secret::refusal(secret)));
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_identity_name_is_accepted() {
        assert_eq!(IdentityName::parse(" svc-payments.api_2 ").unwrap().as_str(), "svc-payments.api_2");
    }

    #[test]
    fn an_empty_name_is_required() {
        assert_eq!(IdentityName::parse("  ").unwrap_err(), "Identity name is required.");
    }

    #[test]
    fn upper_case_is_refused_with_the_offending_character() {
        let e = ServiceName::parse("Payments").unwrap_err();
        assert!(e.contains("found 'P'"), "{e}");
    }

    #[test]
    fn a_name_must_start_with_a_letter() {
        assert!(RoleSlug::parse("1reader").unwrap_err().contains("start with a lower-case letter"));
    }

    #[test]
    fn separators_may_not_double_or_trail() {
        assert!(RoleSlug::parse("data--reader").is_err());
        assert!(RoleSlug::parse("data-reader-").is_err());
    }

    #[test]
    fn service_names_do_not_allow_dots() {
        assert!(ServiceName::parse("pay.api").unwrap_err().contains("found '.'"));
    }

    #[test]
    fn a_name_longer_than_the_limit_is_refused() {
        assert!(IdentityName::parse(&"a".repeat(64)).is_err());
        assert!(IdentityName::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn free_text_rejects_control_characters() {
        assert!(text("bad\u{7}bell", "Description", 100, false).is_err());
        assert_eq!(text("  fine  ", "Description", 100, true).unwrap(), "fine");
    }

    #[test]
    fn free_text_refuses_secret_material() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        match text(&format!("token was {jwt}"), "Reason", 2000, true) {
            Err(Problem::Secret(message)) => assert!(message.contains("JSON Web Token"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
