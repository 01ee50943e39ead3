//! Where signed audit checkpoints are made and kept: the signing key comes from the environment
//! (`NHIDB_CHECKPOINT_KEY`, 64 hex digits) or a key file, never from the database; checkpoints are
//! appended to `checkpoints.jsonl` in a directory of their own. Both belong on other storage than
//! the database (another disk, another machine, object storage): whoever can rewrite the database
//! must not be able to rewrite these too. See `domain::checkpoint`.

use crate::domain::Timestamp;
use crate::domain::checkpoint::{self, Checkpoint, FILE_NAME};
use crate::error::AppError;
use crate::store::{Store, audit};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where the key and the checkpoints live, as configured.
#[derive(Debug, Clone)]
pub struct CheckpointConfig {
    /// The signing key's file (created on first run when `key_hex` is not given).
    pub key_file: PathBuf,
    /// The signing key itself (its 32-byte seed as hex), from the environment.
    pub key_hex: Option<String>,
    /// The directory holding `checkpoints.jsonl`.
    pub dir: PathBuf,
}

/// The signing key and the checkpoint file: signs the chain head and appends the checkpoint.
pub struct Checkpoints {
    key: SigningKey,
    dir: PathBuf,
    /// Appends from the scheduler and from exports in this process take turns.
    appending: Mutex<()>,
}

impl std::fmt::Debug for Checkpoints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkpoints").field("key_id", &self.key_id()).field("dir", &self.dir).finish()
    }
}

fn io(context: &'static str) -> impl FnOnce(std::io::Error) -> AppError {
    move |e| AppError::internal(context, e)
}

/// The public key file written next to a generated key file.
pub fn public_key_file(key_file: &Path) -> PathBuf {
    let mut name = key_file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".pub");
    key_file.with_file_name(name)
}

impl CheckpointConfig {
    /// The signing key: from the environment, else the key file; `None` when neither exists.
    fn existing_key(&self) -> Result<Option<SigningKey>, String> {
        if let Some(hex) = self.key_hex.as_deref().filter(|h| !h.trim().is_empty()) {
            return checkpoint::signing_key_from_hex(hex).map(Some).map_err(|e| format!("NHIDB_CHECKPOINT_KEY: {e}"));
        }
        match std::fs::read_to_string(&self.key_file) {
            Ok(text) => checkpoint::signing_key_from_hex(&text).map(Some).map_err(|e| format!("{}: {e}", self.key_file.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("Cannot read the checkpoint key {}: {e}", self.key_file.display())),
        }
    }

    /// The public key checkpoints are verified with, when a signing key is configured.
    pub fn public_key(&self) -> Result<Option<VerifyingKey>, String> {
        Ok(self.existing_key()?.map(|k| k.verifying_key()))
    }

    /// The configured key and directory, generating the key file (readable by this user only)
    /// on first use. The message, when there is one, says what was generated and what to do.
    pub fn open(&self) -> Result<(Checkpoints, Option<String>), String> {
        let file = self.dir.join(FILE_NAME);
        let (key, message) = match self.existing_key()? {
            Some(key) => (key, None),
            None if std::fs::metadata(&file).is_ok_and(|m| m.len() > 0) => {
                // A new key would sign checkpoints nobody could tell from forgeries, and the old
                // ones could no longer be extended: the key must be found, not replaced.
                return Err(format!(
                    "{} holds checkpoints, but no signing key was found (NHIDB_CHECKPOINT_KEY, or {}): \
                     point nhidb at the key that signed them.",
                    file.display(),
                    self.key_file.display()
                ));
            }
            None => {
                let key = generate_key_file(&self.key_file)?;
                let public = hex::encode(key.verifying_key().as_bytes());
                let message = format!(
                    "Generated the audit checkpoint signing key {} (public key {public}, also in {}). \
                     Move it off this machine's disks and pass it as NHIDB_CHECKPOINT_KEY, and keep the public key \
                     where auditors can find it: see README, \"Signed checkpoints\".",
                    self.key_file.display(),
                    public_key_file(&self.key_file).display()
                );
                (key, Some(message))
            }
        };
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("Cannot create the checkpoint directory {}: {e}", self.dir.display()))?;
        latest_in(&file, &key.verifying_key()).map_err(|e| format!("{}: {e}; point nhidb at the key that signed them.", file.display()))?;
        Ok((Checkpoints { key, dir: self.dir.clone(), appending: Mutex::new(()) }, message))
    }
}

fn generate_key_file(path: &Path) -> Result<SigningKey, String> {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    use std::os::unix::fs::OpenOptionsExt;
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("Cannot create {}: {e}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("Cannot create the checkpoint key {}: {e}", path.display()))?;
    file.write_all(format!("{}\n", hex::encode(seed)).as_bytes()).and_then(|()| file.sync_all()).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::write(public_key_file(path), format!("{}\n", hex::encode(key.verifying_key().as_bytes())))
        .map_err(|e| format!("{}: {e}", public_key_file(path).display()))?;
    Ok(key)
}

impl Checkpoints {
    pub fn key_id(&self) -> String {
        checkpoint::key_id(&self.key.verifying_key())
    }

    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join(FILE_NAME)
    }

    /// The checkpoint file as it stands (empty when none was made yet).
    pub fn text(&self) -> Result<String, AppError> {
        match std::fs::read_to_string(self.file()) {
            Ok(text) => Ok(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(AppError::internal("read checkpoints", e)),
        }
    }

    /// The last checkpoint appended (the file only grows, in sequence order), checked against
    /// this key. Reads the file's tail only: the file gains a line every few minutes, for years.
    /// A last line cut short by a crash mid-append is passed over.
    pub fn latest(&self) -> Result<Option<Checkpoint>, AppError> {
        latest_in(&self.file(), &self.key.verifying_key()).map_err(|e| AppError::internal("checkpoint file", e))
    }

    /// Signs (seq, hash) now and appends it to the file, synced to disk — unless the latest
    /// checkpoint already covers it, or the head is behind (or contradicts) the latest
    /// checkpoint: then the log was cut or rewritten (or a newer head was signed meanwhile), and
    /// a fresh signature must not paper over it.
    pub fn record(&self, seq: i64, hash: &str) -> Result<Recorded, AppError> {
        let _turn = self.appending.lock().map_err(|_| AppError::internal("checkpoints", "lock poisoned"))?;
        if let Some(latest) = self.latest()? {
            if latest.seq == seq && latest.hash == hash {
                return Ok(Recorded::AlreadyCovered);
            }
            if latest.seq >= seq {
                return Ok(Recorded::Behind { latest });
            }
        }
        let made = checkpoint::sign(&self.key, seq, hash, &Timestamp::now().to_rfc3339());
        let line = serde_json::to_string(&made).map_err(|e| AppError::internal("encode checkpoint", e))? + "\n";
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(self.file()).map_err(io("open checkpoint file"))?;
        file.write_all(line.as_bytes()).map_err(io("append checkpoint"))?;
        file.sync_all().map_err(io("sync checkpoint file"))?;
        Ok(Recorded::Signed(made))
    }

    /// The signature over an export's manifest, hex.
    pub fn sign_manifest(&self, manifest: &[u8]) -> String {
        checkpoint::sign_manifest(&self.key, manifest)
    }
}

/// What `Checkpoints::record` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    Signed(Checkpoint),
    /// The latest checkpoint is of this very head.
    AlreadyCovered,
    /// The head is at or behind the latest checkpoint's sequence, with another hash there or
    /// none: nothing was signed.
    Behind {
        latest: Checkpoint,
    },
}

/// The last well-formed line of a checkpoint file, checked against `key`.
fn latest_in(file: &Path, key: &VerifyingKey) -> Result<Option<Checkpoint>, String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match std::fs::File::open(file) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    file.seek(SeekFrom::Start(length.saturating_sub(4096))).map_err(|e| e.to_string())?;
    let mut tail = String::new();
    file.read_to_string(&mut tail).map_err(|e| e.to_string())?;
    let Some(checkpoint) = tail.lines().rev().filter_map(|l| serde_json::from_str::<Checkpoint>(l).ok()).next() else { return Ok(None) };
    if !checkpoint.verifies_with(key) {
        return Err(format!(
            "the latest checkpoint (sequence {}) is signed by key {}, not by the configured key {}",
            checkpoint.seq,
            checkpoint.key_id,
            checkpoint::key_id(key)
        ));
    }
    Ok(Some(checkpoint))
}

/// Signs the chain's head if it moved since the last checkpoint (the scheduler's run). A head
/// that looks behind because another process signed a newer one between our read and our
/// signature is read once more; one that stays behind is refused.
pub async fn record_head(store: &Store, checkpoints: &Checkpoints) -> Result<Option<Checkpoint>, AppError> {
    let (seq, hash) = audit::head(&mut *store.read().await?).await?;
    if seq == 0 {
        return Ok(None);
    }
    let latest = match checkpoints.record(seq, &hash)? {
        Recorded::Signed(made) => return Ok(Some(made)),
        Recorded::AlreadyCovered => return Ok(None),
        Recorded::Behind { latest } => latest,
    };
    let (again, hash) = audit::head(&mut *store.read().await?).await?;
    if again <= seq {
        return Err(behind(seq, &latest));
    }
    match checkpoints.record(again, &hash)? {
        Recorded::Signed(made) => Ok(Some(made)),
        Recorded::AlreadyCovered => Ok(None),
        Recorded::Behind { latest } => Err(behind(again, &latest)),
    }
}

/// The refusal to sign a head behind (or contradicting) the latest checkpoint.
pub fn behind(seq: i64, latest: &Checkpoint) -> AppError {
    tracing::error!(head = seq, checkpoint = latest.seq, "the audit log is behind or contradicts its latest signed checkpoint; run `nhidb audit verify`");
    AppError::invalid_state(format!(
        "The audit log (head {seq}) is behind or contradicts its latest signed checkpoint (sequence {}, signed at {}); run `nhidb audit verify`.",
        latest.seq, latest.at
    ))
}
