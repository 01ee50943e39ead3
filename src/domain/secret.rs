//! Secret material recognised by its shape, so that a hurried paste into any field — a
//! fingerprint, a description, a reason, a label — never turns the ledger (and its audit log and
//! exports, which cannot be edited) into a store of secrets.

/// The characters a token's body is made of.
#[derive(Clone, Copy)]
enum Body {
    /// Upper-case letters and digits (AWS key ids).
    Upper,
    /// Letters, digits and `_-./+=` (base64, base64url, base32 and friends).
    Token,
}

impl Body {
    fn admits(self, c: char) -> bool {
        match self {
            Body::Upper => c.is_ascii_uppercase() || c.is_ascii_digit(),
            Body::Token => c.is_ascii_alphanumeric() || "_-./+=".contains(c),
        }
    }
}

/// Prefixes of well-known token formats, with the shortest body that follows them and what they
/// are. A token must start a word; `disk-usage` does not hold an `sk-` key.
const TOKEN_PREFIXES: &[(&str, usize, &str)] = &[
    ("AIza", 30, "a Google API key"),
    ("ya29.", 20, "a Google OAuth token"),
    ("ghp_", 30, "a GitHub personal access token"),
    ("gho_", 30, "a GitHub OAuth token"),
    ("ghu_", 30, "a GitHub app token"),
    ("ghs_", 30, "a GitHub app token"),
    ("ghr_", 30, "a GitHub refresh token"),
    ("github_pat_", 20, "a GitHub personal access token"),
    ("glpat-", 20, "a GitLab access token"),
    ("glptt-", 20, "a GitLab trigger token"),
    ("xoxb-", 10, "a Slack bot token"),
    ("xoxp-", 10, "a Slack user token"),
    ("xoxa-", 10, "a Slack token"),
    ("xoxr-", 10, "a Slack refresh token"),
    ("xoxs-", 10, "a Slack token"),
    ("xapp-", 10, "a Slack app token"),
    ("sk_live_", 16, "a Stripe secret key"),
    ("rk_live_", 16, "a Stripe restricted key"),
    ("sk_test_", 16, "a Stripe secret key"),
    ("sk-", 20, "an API secret key"),
    ("npm_", 30, "an npm access token"),
    ("pypi-", 30, "a PyPI API token"),
    ("dop_v1_", 30, "a DigitalOcean token"),
    ("hvs.", 20, "a HashiCorp Vault token"),
    ("AccountKey=", 20, "an Azure storage account key"),
    ("SharedAccessKey=", 20, "an Azure shared access key"),
    (crate::domain::token::SECRET_PREFIX, 20, "an nhidb pipeline token"),
];

/// AWS access key ids: `AKIA`/`ASIA` and exactly sixteen upper-case letters or digits.
const AWS_PREFIXES: &[&str] = &["AKIA", "ASIA"];

/// Lines that open private key material in formats other than PEM.
const KEY_HEADERS: &[&str] = &["PRIVATE KEY", "PuTTY-User-Key-File-", "-----BEGIN"];

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `header.payload.signature`, each base64url, header and payload being JSON objects.
fn is_jwt(word: &str) -> bool {
    let parts: Vec<&str> = word.split('.').collect();
    let b64url = |p: &str| p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    parts.len() == 3 && parts[0].starts_with("eyJ") && parts[1].starts_with("ey") && parts[..2].iter().all(|p| p.len() >= 10) && parts.iter().all(|p| b64url(p))
}

/// How many `body` characters follow `prefix` where it starts a word in `text` (the longest run).
fn token_body(text: &str, prefix: &str, body: Body) -> usize {
    text.match_indices(prefix)
        .filter(|(at, _)| text[..*at].chars().next_back().is_none_or(|c| !is_word_char(c)))
        .map(|(at, _)| text[at + prefix.len()..].chars().take_while(|&c| body.admits(c)).count())
        .max()
        .unwrap_or(0)
}

/// What secret `text` appears to hold, if any: "a PEM-encoded key", "a JSON Web Token", …
pub fn detect(text: &str) -> Option<&'static str> {
    if text.contains("-----BEGIN") {
        return Some("a PEM-encoded key or certificate");
    }
    if KEY_HEADERS.iter().any(|h| text.contains(h)) {
        return Some("a private key");
    }
    if text.split(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).any(is_jwt) {
        return Some("a JSON Web Token");
    }
    if AWS_PREFIXES.iter().any(|prefix| token_body(text, prefix, Body::Upper) == 16) {
        return Some("an AWS access key");
    }
    TOKEN_PREFIXES.iter().find(|(prefix, min, _)| token_body(text, prefix, Body::Token) >= *min).map(|(_, _, what)| *what)
}

/// `detect` for names (identities, services, roles): lower-case words joined by `-`, `_` and `.`
/// fit many token bodies, so only distinctive prefixes count here — an identity may well be
/// called `sk-payments-processor-eu-west`, but not `nhidb_…` followed by a token.
pub fn detect_in_name(name: &str) -> Option<&'static str> {
    TOKEN_PREFIXES
        .iter()
        .filter(|(prefix, ..)| *prefix != "sk-")
        .find(|(prefix, min, _)| token_body(name, prefix, Body::Token) >= *min)
        .map(|(_, _, what)| *what)
}

/// The sentence a refusal gives: what it looks like, and what to do instead.
pub fn refusal(what: &str) -> String {
    format!(
        "This looks like {what}. nhidb never stores secrets: remove it (and rotate the secret if it was exposed). \
         For a credential, record its fingerprint instead."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_blocks_and_private_key_headers_are_secrets() {
        assert!(detect("see -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=").is_some());
        assert!(detect("-----BEGIN CERTIFICATE-----").is_some());
        assert_eq!(detect("RSA PRIVATE KEY follows"), Some("a private key"));
        assert_eq!(detect("PuTTY-User-Key-File-3: ssh-ed25519"), Some("a private key"));
    }

    #[test]
    fn well_known_tokens_are_found_inside_sentences() {
        let github = format!("rotated ghp_{} yesterday", "a".repeat(36));
        assert_eq!(detect(&github), Some("a GitHub personal access token"));
        assert_eq!(detect("key=AKIAIOSFODNN7EXAMPLE, region eu"), Some("an AWS access key"));
        assert_eq!(detect("use xoxb-123456789012-abcdefABCDEF"), Some("a Slack bot token"));
        assert_eq!(detect(&format!("({}abcdefghijklmnopqrstuvwxyz234567)", crate::domain::token::SECRET_PREFIX)), Some("an nhidb pipeline token"));
        assert_eq!(detect("glpat-abcdefghij0123456789"), Some("a GitLab access token"));
        assert_eq!(detect("sk-proj-abcdefghijklmnopqrstuvwx"), Some("an API secret key"));
        assert_eq!(
            detect(&format!("https://example.com/hook/{}abcdefghijklmnopqrstuvwxyz", crate::domain::token::SECRET_PREFIX)),
            Some("an nhidb pipeline token")
        );
    }

    #[test]
    fn a_json_web_token_is_a_secret() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";
        assert_eq!(detect(&format!("Bearer {jwt}")), Some("a JSON Web Token"));
    }

    #[test]
    fn a_token_used_as_a_name_is_found_but_ordinary_names_are_not() {
        let token = format!("{}abcdefghijklmnopqrstuvwxyz234567", crate::domain::token::SECRET_PREFIX);
        assert_eq!(detect_in_name(&token), Some("an nhidb pipeline token"));
        for name in ["sk-payments-processor-eu-west", "svc-payments-api", "ci.deploy_bot", "hvs-collector"] {
            assert_eq!(detect_in_name(name), None, "{name}");
        }
    }

    #[test]
    fn ordinary_text_is_not_a_secret() {
        for text in [
            "Deploys the payments API; owned by the payments team.",
            "disk-usage alerts for sk-team",
            "ticket AKIA-123 about access keys",
            "ASIA/Tokyo_timezone_configuration",
            "rotated on 2026-11-30 after review (INC-4711)",
            "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
            "01JD3Q7X8Z9YV6W5T4S3R2P1N0 is the identity id",
            "https://wiki.example.com/runbooks/nhidb_tokens",
            "see my_ghp_notes_about_rotation_policy_for_all_teams",
            "eyJ is how base64 JSON starts",
        ] {
            assert_eq!(detect(text), None, "{text}");
        }
    }
}
