//! Signed checkpoints of the audit chain, in the spirit of CloudTrail digest files. The hash
//! chain proves the log was not altered *within itself*; someone who can write to the database
//! can still cut off its newest events and rewrite the recorded head, or replace the tail with a
//! chain of their own. A checkpoint is a signature, by a key kept outside the database, over
//! (sequence, hash, time), itself kept outside the database: whatever the database says later,
//! the event at that sequence must still be there with that hash.
//!
//! Pure: signing and checking take keys and values; reading and writing files is the service's.

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The checkpoint file's name inside the checkpoint directory and inside export bundles.
pub const FILE_NAME: &str = "checkpoints.jsonl";
const MESSAGE_PREFIX: &str = "nhidb audit checkpoint v1";

/// One signed statement: "the audit event at `seq` had hash `hash` at time `at`".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// RFC 3339, when it was signed.
    pub at: String,
    /// Which key signed it: see `key_id`.
    pub key_id: String,
    /// Ed25519 over `message(seq, hash, at)`, hex.
    pub signature: String,
}

/// What exactly is signed: fixed fields in a fixed order, so no encoding choice can change it.
pub fn message(seq: i64, hash: &str, at: &str) -> String {
    format!("{MESSAGE_PREFIX}\n{seq}\n{hash}\n{at}\n")
}

/// A short, stable name for a public key: the first 16 hex digits of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_owned()
}

pub fn sign(key: &SigningKey, seq: i64, hash: &str, at: &str) -> Checkpoint {
    let signature = key.sign(message(seq, hash, at).as_bytes());
    Checkpoint { seq, hash: hash.to_owned(), at: at.to_owned(), key_id: key_id(&key.verifying_key()), signature: hex::encode(signature.to_bytes()) }
}

/// The file beside `manifest.json` in an export bundle: the signing key's signature over the
/// manifest's bytes. The manifest names every file's hash, so the signature covers the bundle.
pub const MANIFEST_SIGNATURE: &str = "manifest.json.sig";
const MANIFEST_PREFIX: &str = "nhidb export manifest v1\n";

/// The signature over a manifest's bytes, hex.
pub fn sign_manifest(key: &SigningKey, manifest: &[u8]) -> String {
    hex::encode(key.sign(&[MANIFEST_PREFIX.as_bytes(), manifest].concat()).to_bytes())
}

/// Whether `signature` (hex) is `key`'s over these manifest bytes.
pub fn manifest_verifies(key: &VerifyingKey, manifest: &[u8], signature: &str) -> bool {
    let Some(bytes) = hex::decode(signature.trim()).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else { return false };
    key.verify(&[MANIFEST_PREFIX.as_bytes(), manifest].concat(), &Signature::from_bytes(&bytes)).is_ok()
}

/// A signing key from its 32-byte seed, written as 64 hex digits.
pub fn signing_key_from_hex(text: &str) -> Result<SigningKey, String> {
    let bytes: [u8; 32] =
        hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or("A checkpoint signing key is 64 hex digits (a 32-byte Ed25519 seed).")?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// A public key written as 64 hex digits.
pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey, String> {
    let bytes: [u8; 32] =
        hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or("A checkpoint public key is 64 hex digits (a 32-byte Ed25519 public key).")?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "This is not a valid Ed25519 public key.".to_owned())
}

impl Checkpoint {
    /// Whether `key` made this signature over these very fields.
    pub fn verifies_with(&self, key: &VerifyingKey) -> bool {
        let Some(bytes) = hex::decode(&self.signature).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else { return false };
        key.verify(message(self.seq, &self.hash, &self.at).as_bytes(), &Signature::from_bytes(&bytes)).is_ok()
    }
}

/// What a checkpoint file says against an audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointBreak {
    /// A line is not a checkpoint.
    Malformed { line: usize, problem: String },
    /// A checkpoint's signature does not verify with the trusted key: forged or altered.
    Forged { line: usize, seq: i64 },
    /// The log ends before a checkpoint's sequence: events were cut off the end.
    Truncated { last_seq: i64, checkpoint_seq: i64, signed_at: String },
    /// The event at a checkpoint's sequence has another hash: the log was rewritten at or before
    /// it, after `since` (the last checkpoint that still holds, if any).
    Rewritten { seq: i64, signed_at: String, since: Option<i64> },
}

impl CheckpointBreak {
    /// The first sequence number the break concerns.
    pub fn seq(&self) -> Option<i64> {
        match self {
            CheckpointBreak::Malformed { .. } => None,
            CheckpointBreak::Forged { seq, .. } | CheckpointBreak::Rewritten { seq, .. } => Some(*seq),
            CheckpointBreak::Truncated { last_seq, .. } => Some(last_seq + 1),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            CheckpointBreak::Malformed { line, problem } => format!("checkpoint line {line} is not a checkpoint: {problem}"),
            CheckpointBreak::Forged { line, seq } => {
                format!("checkpoint line {line} (sequence {seq}) is not signed by the trusted key: forged or altered")
            }
            CheckpointBreak::Truncated { last_seq, checkpoint_seq, signed_at } => format!(
                "truncated at sequence {}: the log ends at sequence {last_seq}, but a checkpoint signed at {signed_at} vouches for sequence {checkpoint_seq}",
                last_seq + 1
            ),
            CheckpointBreak::Rewritten { seq, signed_at, since } => {
                let after = since.map(|s| format!(" after sequence {s} (the last checkpoint that still holds)")).unwrap_or_default();
                format!("sequence {seq} does not have the hash a checkpoint signed at {signed_at} vouches for: the log was rewritten{after}")
            }
        }
    }
}

/// Parses a checkpoint file (one JSON object per line) and checks every signature with `key`.
/// Returns the checkpoints in sequence order.
pub fn read_file(text: &str, key: &VerifyingKey) -> Result<Vec<Checkpoint>, CheckpointBreak> {
    let mut checkpoints = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let line_no = n + 1;
        let checkpoint: Checkpoint = serde_json::from_str(line).map_err(|e| CheckpointBreak::Malformed { line: line_no, problem: e.to_string() })?;
        if !checkpoint.verifies_with(key) {
            return Err(CheckpointBreak::Forged { line: line_no, seq: checkpoint.seq });
        }
        checkpoints.push(checkpoint);
    }
    checkpoints.sort_by(|a, b| a.seq.cmp(&b.seq).then_with(|| a.at.cmp(&b.at)));
    Ok(checkpoints)
}

/// The checkpoints that bear on an export of the log up to `head_seq` made at `exported_at`:
/// all but those signed after the export that lie beyond its head (the scheduler kept signing
/// while the export ran). One signed before the export beyond its head means the log was cut.
pub fn bearing_on_export(mut checkpoints: Vec<Checkpoint>, head_seq: i64, exported_at: &str) -> Vec<Checkpoint> {
    let exported_at = exported_at.parse::<super::Timestamp>().ok();
    checkpoints.retain(|c| c.seq <= head_seq || c.at.parse::<super::Timestamp>().ok().zip(exported_at).is_none_or(|(at, exported)| at <= exported));
    checkpoints
}

/// Holds the log to its checkpoints while the chain is walked in sequence order: `see` each
/// event, then `finish` with the last sequence the log has.
#[derive(Debug, Clone)]
pub struct Witness {
    checkpoints: Vec<Checkpoint>,
    next: usize,
    held: Option<i64>,
}

impl Witness {
    /// `checkpoints` in sequence order (as `read_file` returns them).
    pub fn new(checkpoints: Vec<Checkpoint>) -> Self {
        Witness { checkpoints, next: 0, held: None }
    }

    pub fn see(&mut self, seq: i64, hash: &str) -> Result<(), CheckpointBreak> {
        while let Some(checkpoint) = self.checkpoints.get(self.next).filter(|c| c.seq <= seq) {
            if checkpoint.seq == seq && checkpoint.hash != hash {
                return Err(CheckpointBreak::Rewritten { seq, signed_at: checkpoint.at.clone(), since: self.held });
            }
            if checkpoint.seq < seq {
                // The walk skipped this sequence: it is not in the log any more.
                return Err(CheckpointBreak::Truncated { last_seq: checkpoint.seq - 1, checkpoint_seq: checkpoint.seq, signed_at: checkpoint.at.clone() });
            }
            self.held = Some(seq);
            self.next += 1;
        }
        Ok(())
    }

    /// Checkpoints beyond the log's end mean events were cut off. Returns how many held.
    pub fn finish(&self, last_seq: i64) -> Result<usize, CheckpointBreak> {
        match self.checkpoints.get(self.next) {
            Some(checkpoint) => Err(CheckpointBreak::Truncated { last_seq, checkpoint_seq: checkpoint.seq, signed_at: checkpoint.at.clone() }),
            None => Ok(self.next),
        }
    }

    /// The highest sequence a checkpoint vouched for and the log still matches.
    pub fn held(&self) -> Option<i64> {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn log(n: i64) -> Vec<(i64, String)> {
        (1..=n).map(|s| (s, format!("{s:064x}"))).collect()
    }

    fn walk(events: &[(i64, String)], checkpoints: Vec<Checkpoint>) -> Result<usize, CheckpointBreak> {
        let mut witness = Witness::new(checkpoints);
        for (seq, hash) in events {
            witness.see(*seq, hash)?;
        }
        witness.finish(events.last().map_or(0, |e| e.0))
    }

    #[test]
    fn a_checkpoint_verifies_with_its_key_only() {
        let checkpoint = sign(&key(), 5, &"a".repeat(64), "2026-11-30T00:00:00Z");
        assert!(checkpoint.verifies_with(&key().verifying_key()));
        assert!(!checkpoint.verifies_with(&SigningKey::from_bytes(&[8u8; 32]).verifying_key()));
        let mut moved = checkpoint.clone();
        moved.seq = 4;
        assert!(!moved.verifies_with(&key().verifying_key()), "the signature covers the sequence");
        assert_eq!(checkpoint.key_id, key_id(&key().verifying_key()));
    }

    #[test]
    fn an_intact_log_holds_every_checkpoint() {
        let events = log(10);
        let checkpoints = vec![sign(&key(), 4, &events[3].1, "t1"), sign(&key(), 10, &events[9].1, "t2")];
        assert_eq!(walk(&events, checkpoints), Ok(2));
    }

    #[test]
    fn cutting_events_off_after_a_checkpoint_is_named_at_the_first_missing_sequence() {
        let events = log(10);
        let checkpoints = vec![sign(&key(), 4, &events[3].1, "t1"), sign(&key(), 9, &events[8].1, "t2")];
        let broken = walk(&events[..6], checkpoints).unwrap_err();
        assert_eq!(broken, CheckpointBreak::Truncated { last_seq: 6, checkpoint_seq: 9, signed_at: "t2".into() });
        assert_eq!(broken.seq(), Some(7));
        assert!(broken.describe().starts_with("truncated at sequence 7"), "{}", broken.describe());
    }

    #[test]
    fn a_rewritten_tail_is_found_at_the_checkpoint_it_contradicts() {
        let events = log(10);
        let checkpoints = vec![sign(&key(), 4, &events[3].1, "t1"), sign(&key(), 8, &events[7].1, "t2")];
        let mut rewritten = events.clone();
        for e in rewritten.iter_mut().skip(5) {
            e.1 = "f".repeat(64);
        }
        let broken = walk(&rewritten, checkpoints).unwrap_err();
        assert_eq!(broken, CheckpointBreak::Rewritten { seq: 8, signed_at: "t2".into(), since: Some(4) });
    }

    #[test]
    fn a_gap_at_a_checkpoint_is_truncation_there() {
        let events = log(10);
        let checkpoints = vec![sign(&key(), 5, &events[4].1, "t1")];
        let holed: Vec<_> = events.iter().filter(|e| e.0 != 5).cloned().collect();
        assert_eq!(walk(&holed, checkpoints).unwrap_err().seq(), Some(5));
    }

    #[test]
    fn checkpoints_signed_after_an_export_beyond_its_head_do_not_count_against_it() {
        let before = sign(&key(), 9, &"a".repeat(64), "2026-11-30T10:00:00.000000Z");
        let after = sign(&key(), 12, &"b".repeat(64), "2026-11-30T10:05:00.000000Z");
        let kept = bearing_on_export(vec![before.clone(), after], 10, "2026-11-30T10:01:00.000000Z");
        assert_eq!(kept, vec![before.clone()]);
        let cut = bearing_on_export(vec![before.clone()], 8, "2026-11-30T10:01:00.000000Z");
        assert_eq!(cut, vec![before], "signed before the export, beyond its head: the log was cut");
    }

    #[test]
    fn a_file_with_a_forged_line_is_refused() {
        let good = sign(&key(), 3, &"a".repeat(64), "t1");
        let forged = sign(&SigningKey::from_bytes(&[9u8; 32]), 7, &"b".repeat(64), "t2");
        let text = format!("{}\n{}\n", serde_json::to_string(&good).unwrap(), serde_json::to_string(&forged).unwrap());
        assert_eq!(read_file(&text, &key().verifying_key()).unwrap_err(), CheckpointBreak::Forged { line: 2, seq: 7 });
        assert!(matches!(read_file("not json\n", &key().verifying_key()), Err(CheckpointBreak::Malformed { line: 1, .. })));
    }

    #[test]
    fn a_manifest_signature_covers_every_byte() {
        let manifest = br#"{"files":[{"name":"audit.ndjson","sha256":"ab"}]}"#;
        let signature = sign_manifest(&key(), manifest);
        assert!(manifest_verifies(&key().verifying_key(), manifest, &signature));
        assert!(!manifest_verifies(&key().verifying_key(), br#"{"files":[]}"#, &signature));
        assert!(!manifest_verifies(&SigningKey::from_bytes(&[8u8; 32]).verifying_key(), manifest, &signature));
    }

    #[test]
    fn keys_round_trip_through_hex() {
        let seed = hex::encode([7u8; 32]);
        let signing = signing_key_from_hex(&seed).unwrap();
        let public = hex::encode(signing.verifying_key().as_bytes());
        assert_eq!(verifying_key_from_hex(&public).unwrap(), key().verifying_key());
        assert!(signing_key_from_hex("abc").is_err());
    }
}
