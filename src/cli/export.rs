//! `nhidb export --out DIR|FILE.zip` and `nhidb export verify BUNDLE`.

use super::cli_actor;
use crate::service::export::{self, ExportScope};
use crate::store::Store;
use clap::{Args, Subcommand};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: Option<ExportCommand>,
    /// Where to write: a new directory, or a file ending in .zip.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bars.
    #[arg(long, short)]
    pub quiet: bool,
    /// Only these tables (comma-separated file stems, e.g. assignments,audit).
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// At most this many rows per table (for sampling and benchmarks).
    #[arg(long)]
    pub max_rows: Option<u64>,
    /// Print rows per second and the process's peak memory at the end.
    #[arg(long)]
    pub stats: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Check a bundle offline: file hashes and row counts against manifest.json, the audit chain,
    /// and the signed checkpoints. Exits 0 when everything holds, 1 naming each problem.
    Verify {
        bundle: PathBuf,
        /// The public key the bundle's checkpoints must be signed with (64 hex digits, or a file
        /// holding them). Without it, the key named in manifest.json is used and its id printed
        /// for you to compare with the one you were given.
        #[arg(long, value_name = "KEY|FILE")]
        public_key: Option<String>,
    },
}

/// Peak resident memory of this process, from /proc (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub async fn export(store: Option<&Store>, cli: &super::Cli, args: &ExportArgs) -> Result<ExitCode, String> {
    if let Some(ExportCommand::Verify { bundle, public_key }) = &args.command {
        let key = match public_key {
            Some(given) => super::checkpoint_public_key(&cli.checkpoints, Some(given))?,
            None => None,
        };
        let report = export::verify(bundle, key.as_ref())?;
        for problem in &report.problems {
            println!("FAILED {problem}");
        }
        if report.ok() {
            let checkpoints = match &report.checkpoint_key {
                Some(key_id) => format!(", {} signed checkpoints hold (key {key_id})", report.checkpoints_held),
                None => ", no signed checkpoints".to_owned(),
            };
            println!("ok ({} files, {} audit events verified{checkpoints})", report.files_checked, report.audit_events_verified);
            return Ok(ExitCode::SUCCESS);
        }
        return Ok(ExitCode::FAILURE);
    }
    let Some(store) = store else { return Err("export needs the database".into()) };
    let policy = &cli.hygiene.policy();
    let checkpoints = cli.checkpoints.open()?;
    let out = args.out.as_deref().ok_or("Say where the bundle goes: --out DIR or --out FILE.zip")?;
    let zipped = out.extension().is_some_and(|e| e == "zip");
    if zipped && out.exists() {
        return Err(format!("{} exists already; choose a new file.", out.display()));
    }
    let dir = if zipped { staging_dir(out)? } else { out.to_owned() };
    let bars = Bars::new(!args.quiet && std::io::stderr().is_terminal());
    let started = std::time::Instant::now();
    let scope = ExportScope { tables: args.tables.clone(), max_rows: args.max_rows };
    let result = export::export(store, &cli_actor(), &dir, policy, &scope, Some(&checkpoints), &|table, rows| bars.show(table, rows)).await;
    bars.finish();
    let manifest = match result {
        Ok(manifest) => manifest,
        Err(e) => {
            if zipped {
                let _ = std::fs::remove_dir_all(&dir);
            }
            return Err(e.to_string());
        }
    };
    if zipped {
        export::zip_dir(&dir, out).map_err(|e| e.to_string())?;
        std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let rows: u64 = manifest.files.iter().filter(|f| !f.name.ends_with(".ndjson") && !f.name.ends_with(".json")).map(|f| f.rows).sum();
    println!(
        "exported {} files ({rows} rows) to {} in {elapsed:.2} s; audit head {} {}",
        manifest.files.len(),
        out.display(),
        manifest.audit_head.seq,
        manifest.audit_head.hash
    );
    if args.stats {
        println!("stats: {:.0} rows/s, peak RSS {} MB", rows as f64 / elapsed.max(1e-9), peak_rss_kib().map(|k| k / 1024).unwrap_or(0));
    }
    Ok(ExitCode::SUCCESS)
}

/// A fresh directory next to the zip, removed after packing.
fn staging_dir(zip: &Path) -> Result<PathBuf, String> {
    let parent = zip.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir = parent.join(format!(".{}.partial-{}", zip.file_name().and_then(|n| n.to_str()).unwrap_or("export"), ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("Cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// One progress bar per table on a terminal; nothing otherwise.
struct Bars {
    multi: Option<indicatif::MultiProgress>,
    bars: Mutex<HashMap<String, indicatif::ProgressBar>>,
}

impl Bars {
    fn new(visible: bool) -> Self {
        Bars { multi: visible.then(indicatif::MultiProgress::new), bars: Mutex::new(HashMap::new()) }
    }

    fn show(&self, table: &str, rows: u64) {
        let Some(multi) = &self.multi else { return };
        let Ok(mut bars) = self.bars.lock() else { return };
        let bar = bars.entry(table.to_owned()).or_insert_with(|| {
            let bar = multi.add(indicatif::ProgressBar::new_spinner());
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {prefix:<16} {pos:>10} rows ({per_sec})")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.set_prefix(table.to_owned());
            bar
        });
        bar.set_position(rows);
    }

    fn finish(&self) {
        if let Ok(bars) = self.bars.lock() {
            for bar in bars.values() {
                bar.finish();
            }
        }
    }
}
