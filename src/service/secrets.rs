//! Random secrets and password hashing. Secrets come from the operating system's CSPRNG;
//! passwords are hashed with argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane),
//! off the async runtime because hashing is deliberately slow.

use crate::error::AppError;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sha2::{Digest, Sha256};

fn argon2() -> Argon2<'static> {
    // OWASP Password Storage Cheat Sheet: argon2id, m=19456 KiB, t=2, p=1.
    let params = Params::new(19_456, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// `bytes` random bytes from the OS, URL-safe base32 (lower-case, no padding): 32 bytes give 256
/// bits, far beyond guessing.
pub fn random_token(bytes: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut raw = vec![0u8; bytes];
    OsRng.fill_bytes(&mut raw);
    let mut out = String::with_capacity(bytes * 8 / 5 + 1);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in raw {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// A password for an operator to type once and change: five groups of four unambiguous
/// characters (about 100 bits).
pub fn generated_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut raw = [0u8; 20];
    OsRng.fill_bytes(&mut raw);
    raw.chunks(4).map(|group| group.iter().map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char).collect::<String>()).collect::<Vec<_>>().join("-")
}

/// `bytes` random bytes from the OS, as hex.
pub fn random_hex(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    OsRng.fill_bytes(&mut raw);
    hex::encode(raw)
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

pub async fn hash_password(password: String) -> Result<String, AppError> {
    let _turn = super::limits::HASHING.turn().await?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2().hash_password(password.as_bytes(), &salt).map(|h| h.to_string())
    })
    .await
    .map_err(|e| AppError::internal("hash password task", e))?
    .map_err(|e| AppError::internal("hash password", e))
}

/// Checks `password` against a stored PHC hash. With no stored hash it still spends the time of
/// a real check, so response times do not tell which accounts exist.
pub async fn verify_password(password: String, stored: Option<String>) -> Result<bool, AppError> {
    let _turn = super::limits::HASHING.turn().await?;
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else { return false };
        argon2().verify_password(password.as_bytes(), &parsed).is_ok() && stored != DUMMY_HASH
    })
    .await
    .map_err(|e| AppError::internal("verify password task", e))
}

/// The argon2id hash of a random, forgotten password, with the production parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$6nNnbGBVWr7YmGyRNzVqUpE1Cwlw/1e1VZBq3JSnmtw";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_tokens_are_long_and_differ() {
        let a = random_token(32);
        assert_eq!(a.len(), 52);
        assert_ne!(a, random_token(32));
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    }

    #[test]
    fn generated_passwords_meet_the_password_rules() {
        let p = generated_password();
        assert_eq!(p.len(), 24);
        assert!(crate::domain::operator::check_password(&p, "a@b.co").is_ok());
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_hash_only() {
        let hash = hash_password("correct horse battery".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("correct horse battery".into(), Some(hash.clone())).await.unwrap());
        assert!(!verify_password("wrong horse battery".into(), Some(hash)).await.unwrap());
        assert!(!verify_password("anything".into(), None).await.unwrap());
    }
}
