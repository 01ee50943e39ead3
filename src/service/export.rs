//! Compliance exports: every table an auditor asks for as CSV (RFC 4180, formula-safe) and JSON
//! (NDJSON for the large tables), the hygiene snapshot, and `manifest.json` with each file's
//! SHA-256 and row count and the audit chain head — streamed from one read transaction, so
//! memory stays flat. `verify` checks a bundle offline: no server, no database.

use super::checkpoints::{Checkpoints, Recorded};
use super::require;
use crate::domain::Timestamp;
use crate::domain::actor::{Actor, Capability};
use crate::domain::audit::{AuditEntry, AuditEvent, ChainVerifier};
use crate::domain::bundle::{BundleReport, ChainHead, FORMAT, Manifest, ManifestFile};
use crate::domain::checkpoint::{self, CheckpointBreak, Witness};
use crate::domain::csv;
use crate::domain::hygiene::{CSV_HEADER, FindingKind, HygienePolicy};
use crate::error::AppError;
use crate::store::export::{Kind, Snapshot, TABLES, Table};
use crate::store::{Store, audit};
use ed25519_dalek::VerifyingKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// A file being written: hashes and counts what passes through.
struct Hashed {
    out: BufWriter<File>,
    hash: Sha256,
    bytes: u64,
}

impl Write for Hashed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

impl Hashed {
    fn create(path: &Path) -> Result<Self, AppError> {
        let file = File::create(path).map_err(|e| AppError::internal("create export file", e))?;
        Ok(Hashed { out: BufWriter::with_capacity(256 * 1024, file), hash: Sha256::new(), bytes: 0 })
    }

    fn finish(mut self, name: &str, rows: u64) -> Result<ManifestFile, AppError> {
        self.out.flush().map_err(|e| AppError::internal("write export file", e))?;
        Ok(ManifestFile { name: name.to_owned(), sha256: hex::encode(self.hash.finalize()), rows, bytes: self.bytes })
    }
}

fn io(e: std::io::Error) -> AppError {
    AppError::internal("write export", e)
}

/// What to export, and how far (the benchmark exports one table, capped).
#[derive(Debug, Clone, Default)]
pub struct ExportScope {
    /// Only these tables (by file stem); all when empty.
    pub tables: Vec<String>,
    pub max_rows: Option<u64>,
}

/// Writes the bundle into `dir` (created if missing, must be empty); `progress(table, rows)` is
/// called as rows are written. Returns the manifest, also written as `manifest.json`.
pub async fn export(
    store: &Store,
    actor: &Actor,
    dir: &Path,
    policy: &HygienePolicy,
    scope: &ExportScope,
    checkpoints: Option<&Checkpoints>,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Manifest, AppError> {
    let _timed = crate::metrics::METRICS.export_seconds.start_timer();
    require(actor, Capability::Audit)?;
    let _turn = super::limits::EXPORTS.turn().await?;
    std::fs::create_dir_all(dir).map_err(|e| AppError::invalid("out", format!("Cannot create {}: {e}", dir.display())))?;
    if std::fs::read_dir(dir).map_err(io)?.next().is_some() {
        return Err(AppError::invalid("out", format!("{} is not empty; export into a new directory.", dir.display())));
    }
    let exported_at = Timestamp::now();
    let wanted = |name: &str| scope.tables.is_empty() || scope.tables.iter().any(|t| t == name);
    let mut files = Vec::new();
    // One read transaction: every table as of the same moment, and the chain head with them.
    let mut snapshot = Snapshot::begin(store).await?;
    let (head_seq, head_hash) = snapshot.audit_head().await?;
    let approvers = snapshot.approvers().await?;
    let decisions = snapshot.decisions().await?;
    for table in TABLES.iter().filter(|t| wanted(t.name)) {
        let extra: Option<(&str, &HashMap<String, String>, &str)> = match table.name {
            "assignments" => Some(("approvers", &approvers, "change_request_id")),
            "change_requests" => Some(("decisions", &decisions, "id")),
            _ => None,
        };
        let (csv_file, json_file) = write_table(&mut snapshot, dir, table, extra, scope.max_rows, head_seq, progress).await?;
        files.push(csv_file);
        files.push(json_file);
    }
    drop(snapshot);
    if wanted("hygiene") {
        files.extend(write_hygiene(store, actor, dir, policy, progress).await?);
    }
    if let Some(checkpoints) = checkpoints {
        files.push(write_checkpoints(checkpoints, dir, head_seq, &head_hash)?);
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        nhidb_version: env!("CARGO_PKG_VERSION").to_owned(),
        exported_at: exported_at.to_rfc3339(),
        audit_head: ChainHead { seq: head_seq, hash: head_hash },
        checkpoint_key: checkpoints.map(Checkpoints::public_key_hex),
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| AppError::internal("encode manifest", e))? + "\n";
    std::fs::write(dir.join("manifest.json"), &text).map_err(io)?;
    if let Some(checkpoints) = checkpoints {
        std::fs::write(dir.join(checkpoint::MANIFEST_SIGNATURE), checkpoints.sign_manifest(text.as_bytes()) + "\n").map_err(io)?;
    }
    // Recorded after the fact: the export itself is evidence someone looked.
    let mut tx = store.begin().await?;
    audit::append(
        tx.conn(),
        actor,
        AuditEntry::new("evidence.export", "export", &exported_at.to_rfc3339(), json!({ "files": manifest.files.len(), "audit_head": head_seq })),
    )
    .await?;
    tx.commit().await?;
    Ok(manifest)
}

/// One table as `NAME.csv` and `NAME.ndjson`, written in one pass.
async fn write_table(
    snapshot: &mut Snapshot,
    dir: &Path,
    table: &Table,
    extra: Option<(&str, &HashMap<String, String>, &str)>,
    max_rows: Option<u64>,
    head_seq: i64,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<(ManifestFile, ManifestFile), AppError> {
    let csv_name = format!("{}.csv", table.name);
    let json_name = format!("{}.ndjson", table.name);
    let header: Vec<&str> = table.columns.iter().map(|(c, _)| *c).collect();
    let mut csv_out = csv::Writer::to(Hashed::create(&dir.join(&csv_name))?, &header);
    let mut json_out = Hashed::create(&dir.join(&json_name))?;
    // A column filled from a lookup (approvers of the approving request, a request's decisions).
    let fill = extra.map(|(column, map, key)| {
        let at = table.columns.iter().position(|(c, _)| *c == column).unwrap_or(0);
        let key_at = table.columns.iter().position(|(c, _)| *c == key).unwrap_or(0);
        (at, key_at, map)
    });
    let seq_at = (table.name == "audit").then_some(0);
    // `"name":` of each column, escaped once.
    let keys: Vec<Vec<u8>> = table.columns.iter().map(|(name, _)| format!("{}:", Value::String((*name).to_owned())).into_bytes()).collect();
    let mut line: Vec<u8> = Vec::with_capacity(2048);
    snapshot
        .rows(table.sql, max_rows, |values| {
            if values.len() != table.columns.len() {
                return Err(AppError::internal("export row", format!("{}: {} columns, expected {}", table.name, values.len(), table.columns.len())));
            }
            // Events appended after the head was read belong to the next export.
            if let Some(at) = seq_at
                && values[at].and_then(|s| s.parse::<i64>().ok()).is_some_and(|seq| seq > head_seq)
            {
                return Ok(());
            }
            let filled: Option<(usize, Option<&str>)> =
                fill.map(|(at, key_at, map)| (at, values[key_at].and_then(|k| map.get(k)).map(String::as_str).filter(|v| !v.is_empty())));
            let cell = |i: usize| -> Option<&str> {
                match filled {
                    Some((at, value)) if at == i => value,
                    _ => values[i],
                }
            };
            csv_out.row_from((0..values.len()).map(|i| cell(i).unwrap_or("")));
            line.clear();
            line.push(b'{');
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(&keys[i]);
                match (cell(i), kind) {
                    (None, _) => line.extend_from_slice(b"null"),
                    (Some(v), Kind::Int) if !v.is_empty() && v.trim_start_matches('-').bytes().all(|b| b.is_ascii_digit()) => {
                        line.extend_from_slice(v.as_bytes())
                    }
                    (Some(v), _) => serde_json::to_writer(&mut line, v).map_err(|e| AppError::internal("encode export row", e))?,
                }
            }
            line.extend_from_slice(b"}\n");
            json_out.write_all(&line).map_err(io)?;
            let written = csv_out.rows();
            if written % 10_000 == 0 {
                progress(table.name, written);
            }
            Ok(())
        })
        .await?;
    let written = csv_out.rows();
    progress(table.name, written);
    let csv_file = csv_out.finish().map_err(io)?.finish(&csv_name, written)?;
    let json_file = json_out.finish(&json_name, written)?;
    Ok((csv_file, json_file))
}

/// Signs the exported head and copies every checkpoint so far into the bundle, so the bundle
/// carries the evidence that its log was not cut short or rewritten. When the log contradicts
/// an earlier checkpoint no new one is signed; the copied ones then show the contradiction.
fn write_checkpoints(checkpoints: &Checkpoints, dir: &Path, head_seq: i64, head_hash: &str) -> Result<ManifestFile, AppError> {
    if head_seq > 0
        && let Recorded::Behind { latest } = checkpoints.record(head_seq, head_hash)?
    {
        // Signed meanwhile by the scheduler (the bundle's verification passes over checkpoints
        // made after the export), or the log was cut: then the copies below show it.
        tracing::warn!(head = head_seq, checkpoint = latest.seq, "export: the exported head is not after the latest checkpoint; not signed again");
    }
    let text = checkpoints.text()?;
    let mut out = Hashed::create(&dir.join(checkpoint::FILE_NAME))?;
    out.write_all(text.as_bytes()).map_err(io)?;
    out.finish(checkpoint::FILE_NAME, text.lines().filter(|l| !l.trim().is_empty()).count() as u64)
}

/// The hygiene snapshot: every open finding of every report, as CSV and JSON.
async fn write_hygiene(
    store: &Store,
    actor: &Actor,
    dir: &Path,
    policy: &HygienePolicy,
    progress: &(dyn Fn(&str, u64) + Sync),
) -> Result<Vec<ManifestFile>, AppError> {
    // Both files are written as the findings stream by: a million findings never sit in memory.
    let mut csv_out = csv::Writer::to(Hashed::create(&dir.join("hygiene.csv"))?, &CSV_HEADER);
    let mut json_out = Hashed::create(&dir.join("hygiene.json"))?;
    let head = serde_json::to_string(&json!({ "policy": policy })).map_err(|e| AppError::internal("encode hygiene", e))?;
    json_out.write_all(format!("{},\"findings\":[", head.strip_suffix('}').unwrap_or(&head)).as_bytes()).map_err(io)?;
    let mut first = true;
    let mut failed: Option<std::io::Error> = None;
    for kind in FindingKind::ALL {
        super::hygiene::all(store, actor, kind.as_str(), |f| {
            csv_out.row(&f.csv_row().each_ref().map(String::as_str));
            let separator: &[u8] = if first { b"\n" } else { b",\n" };
            first = false;
            let written = json_out.write_all(separator).and_then(|()| serde_json::to_writer(&mut json_out, f).map_err(std::io::Error::other));
            if let (Err(e), None) = (written, &failed) {
                failed = Some(e);
            }
        })
        .await?;
    }
    if let Some(e) = failed {
        return Err(io(e));
    }
    json_out.write_all(b"\n]}\n").map_err(io)?;
    progress("hygiene", csv_out.rows());
    let rows = csv_out.rows();
    let csv_file = csv_out.finish().map_err(io)?.finish("hygiene.csv", rows)?;
    Ok(vec![csv_file, json_out.finish("hygiene.json", rows)?])
}

/// Packs a bundle directory into a zip file (manifest first).
pub fn zip_dir(dir: &Path, zip_path: &Path) -> Result<(), AppError> {
    let file = File::create(zip_path).map_err(|e| AppError::invalid("out", format!("Cannot create {}: {e}", zip_path.display())))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true);
    let mut names: Vec<String> = std::fs::read_dir(dir).map_err(io)?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort_by_key(|n| (n != "manifest.json", n.clone()));
    for name in names {
        zip.start_file(name.as_str(), options).map_err(|e| AppError::internal("zip", e))?;
        let mut source = File::open(dir.join(&name)).map_err(io)?;
        std::io::copy(&mut source, &mut zip).map_err(io)?;
    }
    zip.finish().map_err(|e| AppError::internal("zip", e))?;
    Ok(())
}

/// A bundle as it is read back: a directory or a zip file.
enum Bundle {
    Dir(PathBuf),
    Zip(zip::ZipArchive<File>),
}

impl Bundle {
    fn open(path: &Path) -> Result<Self, String> {
        if path.is_dir() {
            return Ok(Bundle::Dir(path.to_owned()));
        }
        let file = File::open(path).map_err(|e| format!("Cannot open {}: {e}", path.display()))?;
        zip::ZipArchive::new(file).map(Bundle::Zip).map_err(|e| format!("{} is neither a bundle directory nor a zip file: {e}", path.display()))
    }

    fn names(&mut self) -> Vec<String> {
        match self {
            Bundle::Dir(dir) => {
                std::fs::read_dir(dir).map(|r| r.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default()
            }
            Bundle::Zip(zip) => zip.file_names().filter_map(Result::ok).map(|n| n.into_owned()).collect(),
        }
    }

    /// Streams a file through `read`.
    fn read(&mut self, name: &str, read: &mut dyn FnMut(&mut dyn Read) -> std::io::Result<()>) -> Result<(), String> {
        match self {
            Bundle::Dir(dir) => {
                let mut file = File::open(dir.join(name)).map_err(|e| format!("{name}: cannot read it: {e}"))?;
                read(&mut file).map_err(|e| format!("{name}: {e}"))
            }
            Bundle::Zip(zip) => {
                let mut file = zip.by_name(name).map_err(|e| format!("{name}: not in the bundle: {e}"))?;
                read(&mut file).map_err(|e| format!("{name}: {e}"))
            }
        }
    }
}

/// Records in a file as the manifest counts them.
fn count_records(name: &str, text: &[u8]) -> Result<u64, String> {
    if name.ends_with(".ndjson") || name.ends_with(".jsonl") {
        return Ok(text.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as u64);
    }
    let text = std::str::from_utf8(text).map_err(|_| "not UTF-8".to_owned())?;
    if name.ends_with(".csv") {
        return Ok(csv::parse(text)?.len().saturating_sub(1) as u64);
    }
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    Ok(value["findings"].as_array().map(|a| a.len() as u64).unwrap_or(0))
}

/// Checks a bundle offline: every file against the manifest (hash, rows), nothing extra or
/// missing, the audit chain re-verified from `audit.ndjson` up to the recorded head, and held to
/// the bundle's signed checkpoints, checked with `public_key` (else the key the manifest names).
pub fn verify(path: &Path, public_key: Option<&VerifyingKey>) -> Result<BundleReport, String> {
    let mut bundle = Bundle::open(path)?;
    let mut manifest_text = Vec::new();
    bundle.read("manifest.json", &mut |r| r.read_to_end(&mut manifest_text).map(|_| ()))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_text).map_err(|e| format!("manifest.json is not a valid manifest: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!("manifest.json describes format {}, not {FORMAT}", manifest.format));
    }
    let mut report = BundleReport::default();
    report.problems.extend(check_signature(&mut bundle, &manifest, &manifest_text, public_key));
    let mut witness = match bundle_checkpoints(&mut bundle, &manifest, public_key) {
        Ok(Some((witness, key_id))) => {
            report.checkpoint_key = Some(key_id);
            Some(witness)
        }
        Ok(None) => None,
        Err(problem) => {
            report.problems.push(problem);
            None
        }
    };
    for file in &manifest.files {
        report.files_checked += 1;
        let mut hash = Sha256::new();
        let mut content = Vec::new();
        // Counting records needs the content; hygiene and CSV files are read whole, NDJSON
        // files line by line would do, but the audit file is replayed below anyway.
        let read = bundle.read(&file.name, &mut |r| {
            r.read_to_end(&mut content)?;
            hash.update(&content);
            Ok(())
        });
        if let Err(problem) = read {
            report.problems.push(problem);
            continue;
        }
        let digest = hex::encode(hash.finalize());
        if digest != file.sha256 {
            report.problems.push(format!("{}: SHA-256 is {digest}, the manifest says {} — the file was changed", file.name, file.sha256));
        }
        match count_records(&file.name, &content) {
            Ok(rows) if rows != file.rows => report.problems.push(format!("{}: {rows} records, the manifest says {}", file.name, file.rows)),
            Ok(_) => {}
            Err(e) => report.problems.push(format!("{}: unreadable: {e}", file.name)),
        }
        if file.name == "audit.ndjson" {
            match verify_chain(&content, &manifest.audit_head, witness.as_mut()) {
                Ok(verified) => report.audit_events_verified = verified,
                Err(problem) => report.problems.push(problem),
            }
            if let Some(w) = witness.take() {
                match w.finish(manifest.audit_head.seq) {
                    Ok(held) => report.checkpoints_held = held,
                    Err(broken) => report.problems.push(checkpoint_problem(&broken)),
                }
            }
        }
    }
    let listed: Vec<&str> = manifest.files.iter().map(|f| f.name.as_str()).collect();
    for name in bundle.names() {
        if name != "manifest.json" && name != checkpoint::MANIFEST_SIGNATURE && !listed.contains(&name.as_str()) {
            report.problems.push(format!("{name}: in the bundle but not in the manifest"));
        }
    }
    Ok(report)
}

fn checkpoint_problem(broken: &CheckpointBreak) -> String {
    match broken.seq() {
        Some(seq) => format!("audit checkpoints: sequence {seq}: {}", broken.describe()),
        None => format!("audit checkpoints: {}", broken.describe()),
    }
}

/// The key a bundle is checked with: the one given, else the one its manifest names.
fn bundle_key(manifest: &Manifest, public_key: Option<&VerifyingKey>) -> Result<Option<VerifyingKey>, String> {
    match (public_key, &manifest.checkpoint_key) {
        (Some(key), _) => Ok(Some(*key)),
        (None, Some(hex)) => checkpoint::verifying_key_from_hex(hex).map(Some).map_err(|e| format!("manifest.json: checkpoint_key: {e}")),
        (None, None) => Ok(None),
    }
}

/// The manifest's signature: required when the bundle names a key or one is given, since
/// without it files (checkpoints included) could be dropped and the manifest rewritten to match.
fn check_signature(bundle: &mut Bundle, manifest: &Manifest, manifest_text: &[u8], public_key: Option<&VerifyingKey>) -> Vec<String> {
    let key = match bundle_key(manifest, public_key) {
        Ok(Some(key)) => key,
        Ok(None) => return vec![],
        Err(problem) => return vec![problem],
    };
    let mut problems = Vec::new();
    let mut signature = String::new();
    if bundle.read(checkpoint::MANIFEST_SIGNATURE, &mut |r| r.read_to_string(&mut signature).map(|_| ())).is_err() {
        problems.push(format!("{}: missing: the bundle is not signed", checkpoint::MANIFEST_SIGNATURE));
    } else if !checkpoint::manifest_verifies(&key, manifest_text, &signature) {
        problems.push(format!(
            "manifest.json: its signature does not verify with key {}: the manifest was changed or signed by another key",
            checkpoint::key_id(&key)
        ));
    }
    if public_key.is_some() && !manifest.files.iter().any(|f| f.name == checkpoint::FILE_NAME) {
        problems.push(format!("{}: missing: the bundle carries no signed checkpoints", checkpoint::FILE_NAME));
    }
    problems
}

/// The bundle's checkpoints, signatures checked, ready to hold the chain to; `None` when the
/// bundle has none. Checkpoints signed after the export that lie beyond its head say nothing
/// about it and are passed over. Returns the key's id alongside.
fn bundle_checkpoints(bundle: &mut Bundle, manifest: &Manifest, public_key: Option<&VerifyingKey>) -> Result<Option<(Witness, String)>, String> {
    if !manifest.files.iter().any(|f| f.name == checkpoint::FILE_NAME) {
        return Ok(None);
    }
    let key = bundle_key(manifest, public_key)?.ok_or("checkpoints.jsonl: no public key to check it with (pass --public-key)")?;
    let mut text = String::new();
    bundle.read(checkpoint::FILE_NAME, &mut |r| r.read_to_string(&mut text).map(|_| ()))?;
    let checkpoints = checkpoint::read_file(&text, &key).map_err(|broken| checkpoint_problem(&broken))?;
    let checkpoints = checkpoint::bearing_on_export(checkpoints, manifest.audit_head.seq, &manifest.exported_at);
    Ok(Some((Witness::new(checkpoints), checkpoint::key_id(&key))))
}

/// Replays the chain from the exported events; a problem names the sequence number.
fn verify_chain(ndjson: &[u8], head: &ChainHead, mut witness: Option<&mut Witness>) -> Result<i64, String> {
    let mut verifier = ChainVerifier::default();
    for (i, line) in ndjson.split(|b| *b == b'\n').filter(|l| !l.is_empty()).enumerate() {
        let row: Value = serde_json::from_slice(line).map_err(|e| format!("audit.ndjson line {}: not JSON: {e}", i + 1))?;
        let text = |k: &str| row[k].as_str().unwrap_or_default().to_owned();
        let event = AuditEvent {
            seq: row["seq"].as_i64().unwrap_or_default(),
            at: text("at").parse().map_err(|e| format!("audit.ndjson line {}: {e}", i + 1))?,
            actor_kind: text("actor_kind"),
            actor_id: text("actor_id"),
            actor_name: text("actor_name"),
            action: text("action"),
            subject_type: text("subject_type"),
            subject_id: text("subject_id"),
            context_id: row["context_id"].as_str().map(str::to_owned),
            detail: text("detail"),
            prev_hash: text("prev_hash"),
            hash: text("hash"),
        };
        if let Some(w) = witness.as_deref_mut()
            && let Err(broken) = w.see(event.seq, &event.hash)
        {
            return Err(checkpoint_problem(&broken));
        }
        if let Err(broken) = verifier.push(&event) {
            return Err(format!("audit chain: sequence {}: {}", broken.seq(), broken.describe()));
        }
    }
    verifier.finish(head.seq, &head.hash).map_err(|broken| format!("audit chain: sequence {}: {}", broken.seq(), broken.describe()))?;
    Ok(verifier.count())
}
