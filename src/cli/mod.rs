//! The `nhidb` command line: thin over the service layer, like the console and the API. It acts
//! as the local system (whoever can run it can read the database anyway), and every change it
//! makes is audited as `system/cli`.

mod access;
mod bench;
mod bench_cloudsplaining;
mod bench_escalation;
mod bench_imports;
mod bench_pages;
mod client;
mod export;
mod import;
mod roles;

use crate::domain::access::{AccessPolicy, ThrottlePolicy};
use crate::domain::actor::Actor;
use crate::server::{self, ServerConfig};
use crate::service;
use crate::state::{AppState, WebConfig};
use crate::store::Store;
use clap::{Args, Parser, Subcommand};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Parser)]
#[command(name = "nhidb", version, about = "nhidb — the Non-Human Identities Database")]
pub struct Cli {
    /// Database URL: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(long, env = "NHIDB_DATABASE_URL", default_value = "sqlite://nhidb.sqlite", global = true)]
    pub database_url: String,

    /// Largest number of pooled database connections.
    #[arg(long, env = "NHIDB_DB_MAX_CONNECTIONS", default_value_t = 10, global = true)]
    pub db_max_connections: u32,

    #[command(flatten)]
    pub client: client::ClientArgs,

    #[command(flatten)]
    pub hygiene: HygieneArgs,

    #[command(flatten)]
    pub checkpoints: CheckpointArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Migrate the database, then serve the console and the API.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with realistic demo data and demo operators.
    SeedDemo(SeedArgs),
    /// Work with the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Stored hygiene findings: rebuild them from scratch, or check them against a recompute.
    #[command(subcommand)]
    Hygiene(HygieneCommand),
    /// Manage console operators (for scripted setups).
    #[command(subcommand)]
    Operator(access::OperatorCommand),
    /// Manage pipeline tokens.
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// The role catalog as code: export, plan, apply (apply files change requests).
    #[command(subcommand)]
    Roles(roles::RolesCommand),
    /// Generate the benchmark ledger (1M identities, 5M assignments) and measure the
    /// discoverability functions; see `make bench`.
    Bench(bench::BenchArgs),
    /// The escalation figures of `make bench`, on a database holding the generated imports.
    #[command(hide = true)]
    BenchEscalation(bench_escalation::EscalationBenchArgs),
    /// Write a compliance export bundle (CSV + JSON + manifest.json), or verify one offline.
    Export(export::ExportArgs),
    /// Import identities, roles and grants from where they live (Kubernetes RBAC, AWS IAM, GCP
    /// IAM), reconciling with what earlier imports recorded.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Client mode (needs --server): provision, decommission or show a service through the API.
    #[command(subcommand)]
    Service(client::ServiceCommand),
    /// Client mode (needs --server): report credential and identity usage through the API.
    #[command(subcommand)]
    Usage(client::UsageCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "NHIDB_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory holding the built browser bundle (pkg/).
    #[arg(long, env = "NHIDB_SITE_ROOT", default_value = "target/site")]
    pub site_root: String,
    /// The URL people use to reach nhidb, when behind a proxy (https://nhidb.example.com).
    #[arg(long, env = "NHIDB_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Trust X-Forwarded-For and X-Forwarded-Proto from a reverse proxy: the client address is
    /// the rightmost X-Forwarded-For entry, the one that proxy added.
    #[arg(long, env = "NHIDB_TRUST_PROXY")]
    pub trust_proxy: bool,
    /// Sign a session out after this many minutes without use.
    #[arg(long, env = "NHIDB_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: i64,
    /// Sign a session out this many hours after sign-in.
    #[arg(long, env = "NHIDB_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: i64,
    /// Failed sign-ins per account from one client address (within 15 minutes) before that
    /// address is locked out of that account.
    #[arg(long, env = "NHIDB_SIGNIN_MAX_FAILURES", default_value_t = 5)]
    pub signin_max_failures: i64,
    /// Failed sign-ins per account from all addresses together (within 15 minutes) before the
    /// account is locked for everyone: a ceiling against guessing spread over many addresses.
    #[arg(long, env = "NHIDB_SIGNIN_ACCOUNT_MAX_FAILURES", default_value_t = 100)]
    pub signin_account_max_failures: i64,
    /// How often the audit chain's head is signed into the checkpoint directory (0: only at
    /// exports and `nhidb audit checkpoint`).
    #[arg(long, env = "NHIDB_CHECKPOINT_INTERVAL_MINUTES", default_value_t = 10)]
    pub checkpoint_interval_minutes: u64,
    /// How often the scheduler wakes to close expired requests and grants and run what is due,
    /// in seconds. With several servers on one database each job runs once per period across
    /// all of them.
    #[arg(long, env = "NHIDB_HOUSEKEEPING_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub housekeeping_seconds: u64,
    /// Serve `GET /metrics` (Prometheus text format) on this address, apart from the console
    /// (off when unset). Keep it where only the monitoring system reaches it.
    #[arg(long, env = "NHIDB_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// How long a lock (of an address on an account, an account, or an address) lasts.
    #[arg(long, env = "NHIDB_SIGNIN_LOCK_SECONDS", default_value_t = 900)]
    pub signin_lock_seconds: i64,
}

impl ServeArgs {
    pub fn web_config(&self) -> WebConfig {
        let defaults = AccessPolicy::default();
        WebConfig {
            access: AccessPolicy {
                session_idle_seconds: self.session_idle_minutes.max(1) * 60,
                session_absolute_seconds: self.session_max_hours.max(1) * 3600,
                client_throttle: ThrottlePolicy {
                    max_failures: self.signin_max_failures.max(1),
                    lock_seconds: self.signin_lock_seconds.max(1),
                    ..defaults.client_throttle
                },
                account_throttle: ThrottlePolicy {
                    max_failures: self.signin_account_max_failures.max(self.signin_max_failures).max(1),
                    lock_seconds: self.signin_lock_seconds.max(1),
                    ..defaults.account_throttle
                },
                address_throttle: ThrottlePolicy { lock_seconds: self.signin_lock_seconds.max(1), ..defaults.address_throttle },
                ..defaults
            },
            public_url: self.public_url.clone(),
            trust_proxy: self.trust_proxy,
            hygiene: Default::default(),
            checkpoints: None,
        }
    }
}

/// The windows of the hygiene reports (server, exports).
#[derive(Debug, Args)]
pub struct HygieneArgs {
    /// An active identity not seen for this many days is dormant.
    #[arg(long, env = "NHIDB_HYGIENE_DORMANT_DAYS", default_value_t = 90, global = true)]
    pub dormant_days: i64,
    /// Report credentials expiring within this many days.
    #[arg(long, env = "NHIDB_HYGIENE_EXPIRING_DAYS", default_value_t = 30, global = true)]
    pub expiring_days: i64,
    /// Report credentials not rotated within this many days.
    #[arg(long, env = "NHIDB_HYGIENE_ROTATION_DAYS", default_value_t = 180, global = true)]
    pub rotation_days: i64,
    /// How often the server moves time-based findings forward (credentials expiring, identities
    /// going dormant, grants running out) and folds the counters (0: never). Other findings open
    /// and close with the change that causes them.
    #[arg(long, env = "NHIDB_HYGIENE_INTERVAL_MINUTES", default_value_t = 5, global = true)]
    pub hygiene_interval_minutes: u64,
}

impl HygieneArgs {
    pub fn policy(&self) -> crate::domain::hygiene::HygienePolicy {
        crate::domain::hygiene::HygienePolicy {
            dormant_days: self.dormant_days.max(1),
            expiring_days: self.expiring_days.max(1),
            rotation_days: self.rotation_days.max(1),
        }
    }
}

/// Where audit checkpoints are signed and kept (server, exports, `audit verify`).
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// The file of the key that signs audit checkpoints, generated (readable by this user only) on
    /// first run. NHIDB_CHECKPOINT_KEY, the key itself as 64 hex digits, takes precedence.
    #[arg(long, env = "NHIDB_CHECKPOINT_KEY_FILE", default_value = "nhidb-checkpoint.key", global = true)]
    pub checkpoint_key: PathBuf,
    /// The directory signed checkpoints are appended to (checkpoints.jsonl). Keep it off the
    /// database's storage: another disk, another machine, object storage.
    #[arg(long, env = "NHIDB_CHECKPOINT_DIR", default_value = "nhidb-checkpoints", global = true)]
    pub checkpoint_dir: PathBuf,
}

impl CheckpointArgs {
    pub fn config(&self) -> service::checkpoints::CheckpointConfig {
        service::checkpoints::CheckpointConfig {
            key_file: self.checkpoint_key.clone(),
            key_hex: std::env::var("NHIDB_CHECKPOINT_KEY").ok().filter(|k| !k.trim().is_empty()),
            dir: self.checkpoint_dir.clone(),
        }
    }

    /// The checkpoint key and directory, the key generated on first use (and said so).
    pub fn open(&self) -> Result<service::checkpoints::Checkpoints, String> {
        let (checkpoints, generated) = self.config().open()?;
        if let Some(message) = generated {
            eprintln!("{message}");
        }
        Ok(checkpoints)
    }
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// How many identities to create.
    #[arg(long, env = "NHIDB_SEED_IDENTITIES", default_value_t = service::seed::DEFAULT_IDENTITIES)]
    pub identities: usize,
    /// Do nothing (successfully) when the database already holds identities.
    #[arg(long, env = "NHIDB_SEED_IF_EMPTY")]
    pub if_empty: bool,
    /// No progress bar.
    #[arg(long, short, env = "NHIDB_QUIET")]
    pub quiet: bool,
    /// Also import a demo Kubernetes cluster (twice, with changes in between), so the Sources
    /// pages and imported identities and roles have something to show.
    #[arg(long)]
    pub sources: bool,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and hold it to the signed checkpoints; prints `ok (N events, head
    /// HASH…)` or the first sequence that fails.
    Verify {
        /// The directory of signed checkpoints (checkpoints.jsonl) to hold the log to. Default:
        /// the configured checkpoint directory, when it holds any.
        #[arg(long, value_name = "DIR")]
        checkpoints: Option<PathBuf>,
        /// The public key the checkpoints must be signed with: 64 hex digits, or a file holding
        /// them. Default: the configured signing key's.
        #[arg(long, value_name = "KEY|FILE")]
        public_key: Option<String>,
    },
    /// Sign a checkpoint of the chain's head now (the server signs one every few minutes and at
    /// each export).
    Checkpoint,
}

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("NHIDB_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init();
}

async fn open(cli: &Cli) -> Result<Store, String> {
    let store = Store::connect(&cli.database_url, cli.db_max_connections).await?;
    store.migrate().await?;
    Ok(store)
}

fn cli_actor() -> Actor {
    Actor::system("cli")
}

pub async fn run(cli: Cli) -> ExitCode {
    match execute(&cli).await {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

async fn execute(cli: &Cli) -> Result<ExitCode, String> {
    match &cli.command {
        Command::Migrate => {
            open(cli).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => serve(cli, args).await,
        Command::SeedDemo(args) => seed(cli, args).await,
        Command::Audit(AuditCommand::Verify { checkpoints, public_key }) => {
            audit_verify(&open(cli).await?, &cli.checkpoints, checkpoints.as_deref(), public_key.as_deref()).await
        }
        Command::Audit(AuditCommand::Checkpoint) => {
            let store = open(cli).await?;
            let checkpoints = cli.checkpoints.open()?;
            match service::checkpoints::record_head(&store, &checkpoints).await.map_err(|e| e.to_string())? {
                Some(c) => println!("checkpoint signed: sequence {} hash {} (key {}) in {}", c.seq, c.hash, c.key_id, checkpoints.file().display()),
                None => println!("nothing new to sign since the last checkpoint"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Hygiene(command) => hygiene(&open(cli).await?, &cli.hygiene, command).await,
        Command::Operator(command) => access::operator(&open(cli).await?, command).await,
        Command::Token(command) => access::token(&open(cli).await?, command).await,
        Command::Roles(command) => roles::roles(&open(cli).await?, command).await,
        Command::Bench(args) => bench::bench(&open(cli).await?, &cli.database_url, args).await,
        Command::BenchEscalation(args) => bench_escalation::run(&open(cli).await?, args).await,
        Command::Export(args) if args.command.is_some() => export::export(None, cli, args).await,
        Command::Export(args) => export::export(Some(&open(cli).await?), cli, args).await,
        Command::Import(command) if cli.client.server.is_some() => import::push(&cli.client, command).await,
        Command::Import(command) => import::import(&open(cli).await?, command).await,
        Command::Service(command) => Ok(client::service(&cli.client, command).await),
        Command::Usage(command) => Ok(client::usage(&cli.client, command).await),
    }
}

/// The public key checkpoints are checked with: given (hex or a file), else the configured key's.
fn checkpoint_public_key(args: &CheckpointArgs, given: Option<&str>) -> Result<Option<ed25519_dalek::VerifyingKey>, String> {
    let Some(given) = given else { return args.config().public_key() };
    let text = if std::path::Path::new(given).is_file() { std::fs::read_to_string(given).map_err(|e| format!("{given}: {e}"))? } else { given.to_owned() };
    crate::domain::checkpoint::verifying_key_from_hex(&text).map(Some).map_err(|e| format!("--public-key: {e}"))
}

async fn audit_verify(store: &Store, args: &CheckpointArgs, dir: Option<&std::path::Path>, public_key: Option<&str>) -> Result<ExitCode, String> {
    use crate::domain::checkpoint;
    let file = dir.unwrap_or(&args.checkpoint_dir).join(checkpoint::FILE_NAME);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && dir.is_none() => None,
        Err(e) => return Err(format!("Cannot read {}: {e}", file.display())),
    };
    let Some(text) = text else {
        let report = service::audit::verify(store, &cli_actor()).await.map_err(|e| e.to_string())?;
        println!("{}", report.summary());
        eprintln!("no signed checkpoints in {}: only the chain itself was checked", args.checkpoint_dir.display());
        return Ok(if report.broken.is_none() { ExitCode::SUCCESS } else { ExitCode::FAILURE });
    };
    let key = checkpoint_public_key(args, public_key)?
        .ok_or("Checking checkpoints needs the public key they were signed with: pass --public-key (64 hex digits or a file).")?;
    let checkpoints = match checkpoint::read_file(&text, &key) {
        Ok(checkpoints) => checkpoints,
        Err(broken) => {
            println!("FAILED checkpoints: {}", broken.describe());
            return Ok(ExitCode::FAILURE);
        }
    };
    let (report, outcome) = service::audit::verify_against(store, &cli_actor(), checkpoints).await.map_err(|e| e.to_string())?;
    if report.broken.is_some() {
        println!("{}", report.summary());
        return Ok(ExitCode::FAILURE);
    }
    match outcome {
        Ok((held, latest)) => {
            let latest = latest.map(|s| format!(", the latest at sequence {s}")).unwrap_or_default();
            println!("ok ({} events, head {}; {held} signed checkpoints hold{latest}; key {})", report.verified, report.head_hash, checkpoint::key_id(&key));
            Ok(ExitCode::SUCCESS)
        }
        Err(broken) => {
            match broken.seq() {
                Some(seq) => println!("FAILED at sequence {seq}: {}", broken.describe()),
                None => println!("FAILED checkpoints: {}", broken.describe()),
            }
            Ok(ExitCode::FAILURE)
        }
    }
}

async fn serve(cli: &Cli, args: &ServeArgs) -> Result<ExitCode, String> {
    let store = open(cli).await?;
    let config = ServerConfig { addr: args.addr, site_root: args.site_root.clone() };
    let mut web = args.web_config();
    web.hygiene = cli.hygiene.policy();
    let listener = tokio::net::TcpListener::bind(config.addr).await.map_err(|e| format!("Cannot listen on {}: {e}", config.addr))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    if let Some(token) = service::bootstrap::prepare(&store, &web.access).await.map_err(|e| e.to_string())? {
        let base = web.public_url.clone().unwrap_or_else(|| format!("http://{local}"));
        println!(
            "First run: no operator exists yet. Open {}/bootstrap?token={token} within {} minutes to create the first administrator.",
            base.trim_end_matches('/'),
            web.access.bootstrap_seconds / 60
        );
    }
    let checkpoints = Arc::new(cli.checkpoints.open()?);
    println!("Audit checkpoints: signed with key {} into {}", checkpoints.key_id(), checkpoints.file().display());
    web.checkpoints = Some(checkpoints.clone());
    tracing::info!(database = store.backend().name(), "nhidb listening on http://{local}");
    let minutes = |m: u64| (m > 0).then(|| std::time::Duration::from_secs(m * 60));
    server::spawn_housekeeping(
        store.clone(),
        server::Housekeeping {
            hygiene: web.hygiene,
            hygiene_every: minutes(cli.hygiene.hygiene_interval_minutes),
            checkpoints: minutes(args.checkpoint_interval_minutes).map(|every| (checkpoints, every)),
            tick: std::time::Duration::from_secs(args.housekeeping_seconds),
            runner: format!("{}:{} pid {}", hostname(), local.port(), std::process::id()),
        },
    );
    if let Some(addr) = args.metrics_addr {
        let metrics = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("Cannot listen for metrics on {addr}: {e}"))?;
        let at = metrics.local_addr().map_err(|e| e.to_string())?;
        tracing::info!("metrics on http://{at}/metrics");
        let router = server::metrics_router(store.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router).await {
                tracing::error!(error = %e, "the metrics listener stopped");
            }
        });
    }
    let state = AppState { store, config: Arc::new(web), leptos_options: server::leptos_options(&config) };
    server::serve(state, listener).await.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Subcommand)]
pub enum HygieneCommand {
    /// Recompute every finding of every identity with the configured windows (after an upgrade,
    /// or after changing the windows), in batches; the server may keep running.
    Rebuild,
    /// Move time-based findings to now, then compare every stored finding and counter with a
    /// recompute and print each difference (exit 1 when there is any).
    Check,
    /// Write one report as CSV (the console's download), streamed: dormant, sod_violation, …
    Csv {
        /// The report: orphan_owner, orphan_service, unassigned, dormant, credential_expired,
        /// credential_expiring, credential_unrotated, credential_unused, sod_violation,
        /// privileged_holder, outdated_version.
        kind: String,
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print rows, time and peak memory to standard error when done.
        #[arg(long)]
        stats: bool,
    },
}

fn progress_bar(len: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(
        indicatif::ProgressStyle::with_template(&format!("{{spinner}} {what} {{bar:40}} {{pos}}/{{len}} identities ({{per_sec}}, {{eta}} left)"))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

async fn hygiene(store: &Store, args: &HygieneArgs, command: &HygieneCommand) -> Result<ExitCode, String> {
    let failed = |e: crate::error::AppError| e.to_string();
    if let HygieneCommand::Csv { kind, out, stats } = command {
        return hygiene_csv(store, kind, out.as_deref(), *stats).await;
    }
    let bar = progress_bar(0, if matches!(command, HygieneCommand::Rebuild) { "rebuilding" } else { "checking" });
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let started = std::time::Instant::now();
    match command {
        HygieneCommand::Rebuild => {
            let rebuilt = service::findings::rebuild(store, &args.policy(), &progress).await.map_err(failed)?;
            bar.finish_and_clear();
            let summary = service::hygiene::summary(store, &cli_actor(), &args.policy()).await.map_err(failed)?;
            println!("rebuilt the findings of {} identities in {:.1} s", rebuilt.identities, started.elapsed().as_secs_f64());
            for count in summary.counts {
                println!("  {:<22} {}", count.kind.as_str(), count.count);
            }
            Ok(ExitCode::SUCCESS)
        }
        HygieneCommand::Csv { .. } => Ok(ExitCode::SUCCESS),
        HygieneCommand::Check => {
            let differences = service::findings::check(store, &progress).await.map_err(failed)?;
            bar.finish_and_clear();
            for difference in differences.iter().take(1000) {
                println!("{difference}");
            }
            if differences.len() > 1000 {
                println!("… and {} more differences", differences.len() - 1000);
            }
            if differences.is_empty() {
                println!("ok: stored findings equal a recompute ({:.1} s)", started.elapsed().as_secs_f64());
                Ok(ExitCode::SUCCESS)
            } else {
                println!("{} differences: run `nhidb hygiene rebuild` to repair, and report this as a bug", differences.len());
                Ok(ExitCode::from(1))
            }
        }
    }
}

async fn hygiene_csv(store: &Store, kind: &str, out: Option<&std::path::Path>, stats: bool) -> Result<ExitCode, String> {
    use std::io::Write;
    // A report that does not exist leaves no empty file behind.
    crate::domain::hygiene::FindingKind::parse(kind).map_err(|e| format!("{e} (kind)"))?;
    let started = std::time::Instant::now();
    let sink: Box<dyn Write> = match out {
        Some(path) => Box::new(std::fs::File::create(path).map_err(|e| format!("Cannot create {}: {e}", path.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut csv = crate::domain::csv::Writer::to(std::io::BufWriter::with_capacity(1 << 16, sink), &crate::domain::hygiene::CSV_HEADER);
    service::hygiene::csv_rows(store, &cli_actor(), kind, |cells| csv.row_from(cells.iter().copied())).await.map_err(|e| e.to_string())?;
    let rows = csv.rows();
    csv.finish().map_err(|e| format!("Cannot write the CSV: {e}"))?.flush().map_err(|e| format!("Cannot write the CSV: {e}"))?;
    if stats {
        let seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "stats: {rows} rows in {seconds:.2} s = {:.0} rows/s, peak memory {} MB",
            rows as f64 / seconds.max(1e-9),
            export::peak_rss_kib().map(|k| (k / 1024).to_string()).unwrap_or_else(|| "?".into())
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn seed(cli: &Cli, args: &SeedArgs) -> Result<ExitCode, String> {
    let store = open(cli).await?;
    let failed = |e: crate::error::AppError| e.to_string();
    let has_operators = service::seed::has_operators(&store).await.map_err(failed)?;
    if args.if_empty && has_operators {
        // Someone's install: its operators exist, and public demo accounts must never join them.
        println!("operators exist already; demo seed skipped (no demo data, no demo operators)");
        return Ok(ExitCode::SUCCESS);
    }
    if !service::seed::is_empty(&store).await.map_err(failed)? {
        if args.if_empty {
            println!("database already holds data; demo seed skipped");
            return Ok(ExitCode::SUCCESS);
        }
        return Err("The database already holds identities; demo data goes into an empty database only.".into());
    }
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        indicatif::ProgressBar::hidden()
    } else {
        let bar = indicatif::ProgressBar::new(args.identities as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} seeding {bar:40} {pos}/{len} identities ({per_sec}, {eta} left)")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    };
    let started = std::time::Instant::now();
    service::seed::demo(&store, args.identities, &|n| bar.set_position(n)).await.map_err(failed)?;
    bar.finish_and_clear();
    println!("seeded {} identities in {:.1}s", args.identities, started.elapsed().as_secs_f64());
    if args.sources {
        let imports = service::seed::demo_sources(&store).await.map_err(failed)?;
        println!("imported the demo Kubernetes cluster {} ({} imports)", service::seed::DEMO_CLUSTER, imports);
    }
    if has_operators {
        println!("operators exist already: no demo operators created");
        return Ok(ExitCode::SUCCESS);
    }
    let operators = service::seed::demo_operators(&store).await.map_err(failed)?;
    println!("demo operators (for demos only; change or disable them anywhere real):");
    for (email, role, password) in operators {
        println!("  {email:<24} {role:<10} password: {password}");
    }
    let requests = service::seed::demo_requests(&store).await.map_err(failed)?;
    println!("demo change requests: {requests} (pending, applied, rejected, cancelled, expired)");
    Ok(ExitCode::SUCCESS)
}

/// This machine's name, for the scheduler's records (`job_runs.runner`).
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".into())
}
