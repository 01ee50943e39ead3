//! Credential metadata. nhidb records *that* a key exists and how it is kept, never the key:
//! the only identifying value is a fingerprint, and input that looks like secret material is
//! refused outright so that a hurried paste cannot turn the ledger into a secret store.

use super::Timestamp;
use super::name;
use crate::error::{AppError, Problems};
use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary!(
    /// What sort of secret the credential is.
    CredentialKind, "Credential kind" {
        ApiKey = "api_key", "API key";
        AccessToken = "access_token", "Access token";
        ClientSecret = "client_secret", "OAuth client secret";
        X509Certificate = "x509_certificate", "X.509 certificate";
        SshKey = "ssh_key", "SSH key";
        SigningKey = "signing_key", "Signing key";
        Password = "password", "Password";
    }
);

/// Why a value is refused as a fingerprint: either it is malformed, or it looks like a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FingerprintError {
    Malformed(String),
    SecretMaterial(String),
}

/// A key's fingerprint, in one of the formats tools print: `SHA256:` and 43 base64 characters
/// (`ssh-keygen -lf`), or a SHA-1 (40) or SHA-256 (64) hex digest, with or without colons between
/// the pairs (`openssl x509 -noout -fingerprint`). Hex is stored lower-case, without colons only
/// if it came without.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Fingerprint(String);

fn secret_message(what: &str) -> String {
    format!(
        "This looks like {what}. nhidb stores fingerprints only, never secrets: enter the key's \
         fingerprint (for example `ssh-keygen -lf key.pub` or `openssl x509 -noout -fingerprint -sha256`) \
         and rotate the secret if it was exposed."
    )
}

/// Shannon entropy in bits per character; random tokens score above 4, words and ids below.
fn entropy(value: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in value.bytes() {
        counts[b as usize] += 1;
    }
    let len = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// 40 or 64 hex digits, bare or as colon-separated pairs.
fn is_hex_digest(value: &str) -> bool {
    let digits: String = value.chars().filter(|&c| c != ':').collect();
    let well_grouped = !value.contains(':') || value.split(':').all(|g| g.len() == 2);
    well_grouped && matches!(digits.len(), 40 | 64) && digits.chars().all(|c| c.is_ascii_hexdigit())
}

const FORMATS: &str = "Use SHA256: followed by 43 base64 characters (as `ssh-keygen -lf` prints it, e.g. \
    SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8), or a SHA-1 or SHA-256 hex digest of 40 or 64 digits, \
    with or without colons (as `openssl x509 -noout -fingerprint -sha256` prints it).";

impl Fingerprint {
    pub fn parse(input: &str) -> Result<Self, FingerprintError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(FingerprintError::Malformed("Fingerprint is required.".to_owned()));
        }
        if let Some(what) = super::secret::detect(value) {
            return Err(FingerprintError::SecretMaterial(secret_message(what)));
        }
        if value.starts_with("ssh-") || value.starts_with("ecdsa-sha2-") {
            return Err(FingerprintError::SecretMaterial(secret_message("an SSH key")));
        }
        if value.chars().any(char::is_whitespace) {
            return Err(FingerprintError::Malformed(format!("A fingerprint contains no spaces or line breaks. {FORMATS}")));
        }
        if let Some((algorithm, digest)) = value.split_once(':')
            && algorithm.eq_ignore_ascii_case("sha256")
        {
            // ssh-keygen prints no padding; a pasted `=` is tolerated and dropped.
            let digest = digest.strip_suffix('=').unwrap_or(digest);
            if digest.len() == 43 && digest.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/') {
                return Ok(Fingerprint(format!("SHA256:{digest}")));
            }
            return Err(FingerprintError::Malformed(format!("After SHA256: come exactly 43 base64 characters. {FORMATS}")));
        }
        if is_hex_digest(value) {
            return Ok(Fingerprint(value.to_ascii_lowercase()));
        }
        if value.len() >= 20 && entropy(value) > 3.5 && !value.contains(':') {
            return Err(FingerprintError::SecretMaterial(secret_message("a secret token")));
        }
        Err(FingerprintError::Malformed(format!("This is not a recognised fingerprint. {FORMATS}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Stored fingerprints are trusted: they were parsed on the way in.
    pub fn from_stored(value: String) -> Self {
        Fingerprint(value)
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Credential metadata as submitted.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialInput {
    pub kind: String,
    pub fingerprint: String,
    #[serde(default)]
    pub description: String,
    /// `YYYY-MM-DD` or RFC 3339; empty for no expiry.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The identity's assignment this credential exercises.
    #[serde(default)]
    pub assignment_id: Option<String>,
}

/// A parsed, valid credential registration.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialDraft {
    pub kind: CredentialKind,
    pub fingerprint: Fingerprint,
    pub description: String,
    pub expires_at: Option<Timestamp>,
    pub assignment_id: Option<String>,
}

impl CredentialInput {
    pub fn parse(&self) -> Result<CredentialDraft, AppError> {
        // Secret material is reported before anything else, with its own code, so clients can
        // tell "you pasted a secret" from an ordinary typo.
        let fingerprint = match Fingerprint::parse(&self.fingerprint) {
            Err(FingerprintError::SecretMaterial(message)) => {
                return Err(AppError::SecretMaterial { field: "fingerprint".to_owned(), message });
            }
            Err(FingerprintError::Malformed(message)) => Err(message),
            Ok(fp) => Ok(fp),
        };
        let mut problems = Problems::new();
        let kind = problems.check("kind", CredentialKind::parse(&self.kind));
        let fingerprint = problems.check("fingerprint", fingerprint);
        let description = problems.check("description", name::text(&self.description, "Description", 500, false));
        let expires_at = match self.expires_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(text) => problems.check("expires_at", Timestamp::parse_user_input(text).map(Some)),
        };
        problems.into_result()?;
        match (kind, fingerprint, description, expires_at) {
            (Some(kind), Some(fingerprint), Some(description), Some(expires_at)) => Ok(CredentialDraft {
                kind,
                fingerprint,
                description,
                expires_at,
                assignment_id: self.assignment_id.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            }),
            _ => Err(AppError::invalid("request", "The credential form is incomplete.")),
        }
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialState {
    Active,
    ExpiringSoon,
    Expired,
    Revoked,
}

impl CredentialState {
    pub fn label(&self) -> &'static str {
        match self {
            CredentialState::Active => "Active",
            CredentialState::ExpiringSoon => "Expiring soon",
            CredentialState::Expired => "Expired",
            CredentialState::Revoked => "Revoked",
        }
    }
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    pub id: String,
    pub identity_id: String,
    pub assignment_id: Option<String>,
    /// The role the credential's assignment grants, for display (`data-reader v3`).
    pub role_label: Option<String>,
    pub kind: CredentialKind,
    pub fingerprint: Fingerprint,
    pub description: String,
    pub created_at: Timestamp,
    pub rotated_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Credential {
    /// Expiring soon means within 30 days of `now`.
    pub fn state(&self, now: Timestamp) -> CredentialState {
        match (self.revoked_at, self.expires_at) {
            (Some(_), _) => CredentialState::Revoked,
            (None, Some(exp)) if exp <= now => CredentialState::Expired,
            (None, Some(exp)) if exp <= now.plus_days(30) => CredentialState::ExpiringSoon,
            _ => CredentialState::Active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(input: &str) -> bool {
        matches!(Fingerprint::parse(input), Err(FingerprintError::SecretMaterial(_)))
    }

    #[test]
    fn an_openssl_colon_separated_digest_is_a_fingerprint() {
        let fp = Fingerprint::parse("3F:9A:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11").unwrap();
        assert_eq!(fp.as_str(), "3f:9a:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11");
    }

    #[test]
    fn an_openssh_sha256_fingerprint_is_accepted_and_normalised() {
        let fp = Fingerprint::parse("sha256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8").unwrap();
        assert_eq!(fp.as_str(), "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8");
    }

    #[test]
    fn a_plain_sha256_hex_digest_is_accepted() {
        assert!(Fingerprint::parse(&"ab".repeat(32)).is_ok());
    }

    #[test]
    fn a_pem_private_key_is_refused_as_secret_material() {
        assert!(secret("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"));
        assert!(secret("-----BEGIN RSA PRIVATE KEY-----"));
    }

    #[test]
    fn a_public_key_body_is_refused_too() {
        assert!(secret("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"));
    }

    #[test]
    fn well_known_token_formats_are_named() {
        match Fingerprint::parse("ghp_16C7e42F292c6912E7710c838347Ae178B4a") {
            Err(FingerprintError::SecretMaterial(m)) => assert!(m.contains("GitHub")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_long_random_token_is_refused_as_secret_material() {
        assert!(secret("Zx8kQ2vLp0sW7nB4rT1yU6eH9mJ3cA5d"));
    }

    #[test]
    fn a_short_word_is_malformed_not_secret() {
        assert!(matches!(Fingerprint::parse("my-key"), Err(FingerprintError::Malformed(_))));
    }

    #[test]
    fn only_the_documented_formats_are_fingerprints() {
        let malformed = |input: &str| matches!(Fingerprint::parse(input), Err(FingerprintError::Malformed(_)));
        assert!(Fingerprint::parse(&"ab".repeat(20)).is_ok(), "SHA-1 hex");
        assert!(Fingerprint::parse(&["ab"; 32].join(":")).is_ok(), "SHA-256 hex with colons");
        assert_eq!(
            Fingerprint::parse("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8=").unwrap().as_str(),
            "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
        );
        assert!(malformed(&"ab".repeat(16)), "an MD5-sized digest");
        assert!(malformed("MD5:3f:9a:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd"));
        assert!(malformed("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY"), "42 characters");
        assert!(malformed("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8x"), "44 characters");
        assert!(malformed("SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5S-8"), "base64url is not what ssh-keygen prints");
        assert!(malformed(&format!("SHA512:{}", "A".repeat(86))));
        assert!(malformed(&"ab".repeat(33)), "66 hex digits");
    }

    #[test]
    fn hex_groups_must_be_pairs() {
        assert!(Fingerprint::parse("3f9:a00:1122334455667788990011223344556677").is_err());
    }

    #[test]
    fn a_pasted_secret_gets_its_own_error_code() {
        let input = CredentialInput { kind: "ssh_key".into(), fingerprint: "-----BEGIN PRIVATE KEY-----".into(), ..Default::default() };
        let e = input.parse().unwrap_err();
        assert_eq!(e.code(), "NHI-CRED-001");
        assert!(e.field_message("fingerprint").unwrap().contains("fingerprints only"));
    }

    #[test]
    fn a_bad_expiry_is_reported_on_its_field() {
        let input = CredentialInput { kind: "api_key".into(), fingerprint: "ab".repeat(20), expires_at: Some("tomorrow".into()), ..Default::default() };
        assert!(input.parse().unwrap_err().field_message("expires_at").is_some());
    }

    #[test]
    fn state_follows_revocation_then_expiry() {
        let now = Timestamp::from_micros(1_000_000_000_000_000);
        let mut c = Credential {
            id: "c".into(),
            identity_id: "i".into(),
            assignment_id: None,
            role_label: None,
            kind: CredentialKind::ApiKey,
            fingerprint: Fingerprint::from_stored("x".into()),
            description: String::new(),
            created_at: now,
            rotated_at: None,
            expires_at: Some(now.plus_days(10)),
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(c.state(now), CredentialState::ExpiringSoon);
        c.expires_at = Some(now.plus_days(-1));
        assert_eq!(c.state(now), CredentialState::Expired);
        c.revoked_at = Some(now);
        assert_eq!(c.state(now), CredentialState::Revoked);
    }
}
