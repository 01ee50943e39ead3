//! The one error type of nhidb. Every variant has a stable code (documented in the README and used
//! by pipelines to branch on), an HTTP status and a message that is safe to show to anyone.
//! Internal failures carry only a request id; their cause is logged on the server.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A problem with one input field, shown next to that field in forms.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    #[error("{}", summarize(errors))]
    Validation { errors: Vec<FieldError> },
    #[error("{message}")]
    SecretMaterial { field: String, message: String },
    #[error("{entity} {id} was not found.")]
    NotFound { entity: String, id: String },
    #[error("{message}")]
    Conflict { field: Option<String>, message: String },
    #[error("{message}")]
    InvalidState { message: String },
    #[error("Sign in to continue.")]
    Unauthenticated,
    #[error("You are not allowed to {action}.")]
    Forbidden { action: String },
    /// A decision refused for who is deciding (their own request, already decided, not an approver).
    #[error("{refusal}")]
    Refused { refusal: crate::domain::change::DecisionRefusal },
    /// Deliberately the same message whether or not the account exists.
    #[error("E-mail or password is not correct.")]
    BadCredentials,
    #[error("Too many sign-in attempts. Try again in {retry_after_seconds} seconds.")]
    Throttled { retry_after_seconds: i64 },
    #[error("This request did not come from the nhidb console (origin or CSRF token missing or wrong). Reload the page and try again.")]
    CrossSite,
    #[error("Something went wrong on our side. Quote request id {request_id} when reporting it.")]
    Internal { request_id: String },
    #[error("The server could not be reached or answered unexpectedly: {message}")]
    Transport { message: String },
    #[error("The request body is larger than {limit_bytes} bytes; split it into smaller requests.")]
    TooLarge { limit_bytes: u64 },
    /// Too much expensive work (password hashing, hygiene computations, exports) at once.
    #[error("The server is busy with other requests like this one. Try again in {retry_after_seconds} seconds.")]
    Busy { retry_after_seconds: i64 },
    /// The database does not answer (down, restarting, unreachable, or every connection busy
    /// for longer than a request should wait). Nothing was changed unless it committed before.
    #[error("The database is not answering right now. Try again in {retry_after_seconds} seconds.")]
    Unavailable { retry_after_seconds: i64 },
    /// The database's disk is full: nothing was written; reads go on.
    #[error("The database has no space left to write; nothing was changed. Try again in {retry_after_seconds} seconds, once space is freed.")]
    StorageFull { retry_after_seconds: i64 },
}

fn summarize(errors: &[FieldError]) -> String {
    match errors {
        [] => "The input is not valid.".to_owned(),
        [one] => one.message.clone(),
        [first, rest @ ..] => format!("{} (and {} more problems)", first.message, rest.len()),
    }
}

impl AppError {
    /// Stable, documented code. Never renumber: pipelines match on these.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation { .. } => "NHI-VAL-001",
            AppError::SecretMaterial { .. } => "NHI-CRED-001",
            AppError::NotFound { .. } => "NHI-NF-001",
            AppError::Conflict { .. } => "NHI-CONFLICT-001",
            AppError::InvalidState { .. } => "NHI-STATE-001",
            AppError::Unauthenticated => "NHI-AUTH-001",
            AppError::Forbidden { .. } => "NHI-AUTH-002",
            AppError::BadCredentials => "NHI-AUTH-003",
            AppError::Throttled { .. } => "NHI-AUTH-004",
            AppError::CrossSite => "NHI-AUTH-005",
            AppError::Internal { .. } => "NHI-INT-001",
            AppError::Transport { .. } => "NHI-NET-001",
            AppError::TooLarge { .. } => "NHI-VAL-002",
            AppError::Refused { .. } => "NHI-AUTH-006",
            AppError::Busy { .. } => "NHI-BUSY-001",
            AppError::Unavailable { .. } => "NHI-DB-001",
            AppError::StorageFull { .. } => "NHI-DB-002",
        }
    }

    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Validation { .. } | AppError::SecretMaterial { .. } => 422,
            AppError::NotFound { .. } => 404,
            AppError::Conflict { .. } | AppError::InvalidState { .. } => 409,
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden { .. } | AppError::Refused { .. } | AppError::CrossSite => 403,
            AppError::Throttled { .. } => 429,
            AppError::Internal { .. } => 500,
            AppError::Transport { .. } => 502,
            AppError::TooLarge { .. } => 413,
            AppError::Busy { .. } | AppError::Unavailable { .. } | AppError::StorageFull { .. } => 503,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation { errors: vec![FieldError { field: field.into(), message: message.into() }] }
    }

    /// The refusal of one field's input, secret material included.
    pub fn field(field: impl Into<String>, problem: impl Into<Problem>) -> Self {
        match problem.into() {
            Problem::Invalid(message) => AppError::invalid(field, message),
            Problem::Secret(message) => AppError::SecretMaterial { field: field.into(), message },
        }
    }

    pub fn not_found(entity: impl Into<String>, id: impl fmt::Display) -> Self {
        AppError::NotFound { entity: entity.into(), id: id.to_string() }
    }

    pub fn conflict(field: Option<&str>, message: impl Into<String>) -> Self {
        AppError::Conflict { field: field.map(str::to_owned), message: message.into() }
    }

    pub fn invalid_state(message: impl Into<String>) -> Self {
        AppError::InvalidState { message: message.into() }
    }

    /// Seconds the client should wait before retrying, for answers that carry `Retry-After`.
    pub fn retry_after(&self) -> Option<i64> {
        match self {
            AppError::Throttled { retry_after_seconds }
            | AppError::Busy { retry_after_seconds }
            | AppError::Unavailable { retry_after_seconds }
            | AppError::StorageFull { retry_after_seconds } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    pub fn forbidden(action: impl Into<String>) -> Self {
        AppError::Forbidden { action: action.into() }
    }

    /// The message a form shows next to `field`, if this error is about that field.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Validation { errors } => errors.iter().find(|e| e.field == field).map(|e| e.message.clone()),
            AppError::SecretMaterial { field: f, message } if f == field => Some(message.clone()),
            AppError::Conflict { field: Some(f), message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// Logs an unexpected failure with its cause and returns the safe error the caller may show.
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, cause: impl fmt::Display) -> Self {
        let request_id = ulid::Ulid::new().to_string();
        tracing::error!(%request_id, context, error = %cause, "internal error");
        AppError::Internal { request_id }
    }
}

/// Why one field's input is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Malformed or out of bounds; the message says how to fix it.
    Invalid(String),
    /// Looks like secret material: refused with its own code (`NHI-CRED-001`), never stored.
    Secret(String),
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Problem::Invalid(message)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Problem::Invalid(message.to_owned())
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Invalid(message) | Problem::Secret(message) => f.write_str(message),
        }
    }
}

/// Collects field errors while parsing a form so that every problem is reported at once. Secret
/// material outranks everything else: the answer is then `SecretMaterial` for its field.
#[derive(Debug, Default)]
pub struct Problems {
    errors: Vec<FieldError>,
    secret: Option<FieldError>,
}

impl Problems {
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the parsed value, or records the problem against `field` and returns `None`.
    pub fn check<T, E: Into<Problem>>(&mut self, field: &str, parsed: Result<T, E>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(problem) => {
                self.add(field, problem);
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, problem: impl Into<Problem>) {
        match problem.into() {
            Problem::Invalid(message) => self.errors.push(FieldError { field: field.to_owned(), message }),
            Problem::Secret(message) => {
                self.secret.get_or_insert(FieldError { field: field.to_owned(), message });
            }
        }
    }

    pub fn into_result(self) -> Result<(), AppError> {
        match self.secret {
            Some(FieldError { field, message }) => Err(AppError::SecretMaterial { field, message }),
            None if self.errors.is_empty() => Ok(()),
            None => Err(AppError::Validation { errors: self.errors }),
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            // Malformed arguments are the caller's mistake and worth telling them about.
            E::Args(message) | E::MissingArg(message) => AppError::invalid("request", message),
            other => AppError::Transport { message: other.to_string() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_distinct_code() {
        let all = [
            AppError::invalid("f", "m"),
            AppError::SecretMaterial { field: "f".into(), message: "m".into() },
            AppError::not_found("Identity", "x"),
            AppError::conflict(None, "m"),
            AppError::invalid_state("m"),
            AppError::Unauthenticated,
            AppError::forbidden("x"),
            AppError::BadCredentials,
            AppError::Throttled { retry_after_seconds: 1 },
            AppError::CrossSite,
            AppError::Internal { request_id: "r".into() },
            AppError::Transport { message: "m".into() },
            AppError::TooLarge { limit_bytes: 1 },
            AppError::Refused { refusal: crate::domain::change::DecisionRefusal::OwnRequest },
            AppError::Busy { retry_after_seconds: 1 },
            AppError::Unavailable { retry_after_seconds: 1 },
            AppError::StorageFull { retry_after_seconds: 1 },
        ];
        let mut codes: Vec<_> = all.iter().map(AppError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
    }

    #[test]
    fn internal_errors_show_only_the_request_id() {
        let e = AppError::Internal { request_id: "01ABC".into() };
        assert_eq!(e.to_string(), "Something went wrong on our side. Quote request id 01ABC when reporting it.");
    }

    #[test]
    fn secret_material_outranks_other_problems() {
        let mut problems = Problems::new();
        problems.add("name", "Name is required.");
        problems.add("description", Problem::Secret("This looks like a JSON Web Token.".into()));
        let e = problems.into_result().unwrap_err();
        assert_eq!(e.code(), "NHI-CRED-001");
        assert_eq!(e.field_message("description").as_deref(), Some("This looks like a JSON Web Token."));
    }

    #[test]
    fn field_message_finds_the_error_for_that_field() {
        let e = AppError::Validation {
            errors: vec![FieldError { field: "name".into(), message: "bad name".into() }, FieldError { field: "kind".into(), message: "bad kind".into() }],
        };
        assert_eq!(e.field_message("kind").as_deref(), Some("bad kind"));
        assert_eq!(e.field_message("owner"), None);
        assert_eq!(e.to_string(), "bad name (and 1 more problems)");
    }
}
