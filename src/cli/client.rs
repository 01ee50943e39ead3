//! Client mode: `nhidb --server URL service provision|decommission|get`, `nhidb --server URL usage
//! report FILE`. For CI jobs: talks to `/api/v1` with a pipeline token read from an environment
//! variable (never from the command line, where it would land in logs and shell history),
//! retries what is safe to retry, prints JSON or a table, and exits non-zero on failure.

use crate::domain::service::Service;
use crate::domain::template::{DecommissionReceipt, ProvisionInput, Provisioned};
use crate::service::usage::{UsageEntry, UsageOutcome, UsageReport};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit codes: documented in the README so CI scripts can branch on them.
pub const EXIT_REFUSED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_UNREACHABLE: u8 = 3;

/// Usage reports are sent in batches of this many entries.
const USAGE_BATCH: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// nhidb server for client commands (service, usage), e.g. https://nhidb.example.com.
    #[arg(long, env = "NHIDB_SERVER", global = true)]
    pub server: Option<String>,
    /// Name of the environment variable holding the pipeline token.
    #[arg(long, default_value = "NHIDB_TOKEN", global = true)]
    pub token_env: String,
    /// How client commands print their result.
    #[arg(long, value_enum, default_value = "table", global = true)]
    pub output: Output,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Create a service from a template: its identities and pinned grants, in one transaction.
    Provision {
        #[arg(long)]
        template: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        env: String,
        /// Owner id or exact owner name.
        #[arg(long)]
        owner: String,
        #[arg(long, default_value = "")]
        display_name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Makes retries of this run (by you or by CI) return the first result; the build id is
        /// a good key. Without one, the same name and parameters count as the same request.
        #[arg(long, env = "NHIDB_IDEMPOTENCY_KEY")]
        idempotency_key: Option<String>,
    },
    /// Retire the service's identities, credentials and grants; prints the receipt.
    Decommission {
        /// Service id or name.
        service: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Show a service.
    Get {
        /// Service id or name.
        service: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Report last-used times from FILE: JSON (`{"entries": [...]}` or a bare array) or CSV
    /// with a header naming `fingerprint` or `identity_id`, and `last_used_at`.
    Report { file: PathBuf },
}

/// A failure, with the exit code it maps to.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure { code: EXIT_USAGE, message: message.into() }
    }
}

struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    fn new(args: &ClientArgs) -> Result<Self, Failure> {
        let server = args.server.as_deref().ok_or_else(|| Failure::usage("Client commands need --server URL (or NHIDB_SERVER)."))?;
        let base = server.trim_end_matches('/');
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::usage(format!("--server must be an http:// or https:// URL, not \"{server}\".")));
        }
        let token = std::env::var(&args.token_env)
            .ok()
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Failure::usage(format!("Set the pipeline token in ${} (or name another variable with --token-env).", args.token_env)))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .user_agent(concat!("nhidb-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Failure { code: EXIT_UNREACHABLE, message: e.to_string() })?;
        Ok(Client { base: format!("{base}{}", crate::api::PREFIX), token: token.trim().to_owned(), http })
    }

    /// Sends a request, retrying transport failures and 502/503/504 (the server never saw the
    /// request, or it was cut off; every call here is idempotent) with a short backoff.
    async fn send<T: DeserializeOwned>(&self, method: reqwest::Method, path: &str, body: Option<&impl Serialize>, key: Option<&str>) -> Result<T, Failure> {
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
            if let Some(body) = body {
                request = request.json(body);
            }
            if let Some(key) = key {
                request = request.header("Idempotency-Key", key);
            }
            let outcome = request.send().await;
            let retryable = match &outcome {
                Err(e) => e.is_connect() || e.is_timeout(),
                Ok(response) => matches!(response.status().as_u16(), 502..=504),
            };
            if retryable && attempt < 3 {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500 * (1 << attempt))).await;
                continue;
            }
            let response = outcome.map_err(|e| Failure { code: EXIT_UNREACHABLE, message: format!("Cannot reach {}: {e}", self.base) })?;
            let status = response.status();
            let text = response.text().await.map_err(|e| Failure { code: EXIT_UNREACHABLE, message: e.to_string() })?;
            if status.is_success() {
                return serde_json::from_str(&text).map_err(|e| Failure { code: EXIT_UNREACHABLE, message: format!("Unexpected answer from the server: {e}") });
            }
            return Err(Failure { code: EXIT_REFUSED, message: describe_error(status.as_u16(), &text) });
        }
    }

    /// A service by id, or by exact name.
    async fn service(&self, key: &str) -> Result<Service, Failure> {
        let path = format!("/services/{}", encode(key));
        match self.send::<serde_json::Value>(reqwest::Method::GET, &path, None::<&()>, None).await {
            Ok(detail) => serde_json::from_value(detail["service"].clone()).map_err(|e| Failure { code: EXIT_UNREACHABLE, message: e.to_string() }),
            Err(not_found) if not_found.message.contains("NHI-NF-001") => {
                let page: crate::domain::page::Page<Service> =
                    self.send(reqwest::Method::GET, &format!("/services?q={}&limit=200", encode(key)), None::<&()>, None).await?;
                page.items.into_iter().find(|s| s.name == key).ok_or(not_found)
            }
            Err(other) => Err(other),
        }
    }
}

/// Percent-encodes a path or query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// "422 NHI-VAL-001: Service name … (request 01J…)" with each field problem on its own line.
fn describe_error(status: u16, body: &str) -> String {
    let Ok(error) = serde_json::from_str::<serde_json::Value>(body) else {
        return format!("HTTP {status}: {}", body.chars().take(300).collect::<String>());
    };
    let mut text = format!(
        "HTTP {status} {}: {} (request {})",
        error["code"].as_str().unwrap_or("?"),
        error["message"].as_str().unwrap_or(""),
        error["request_id"].as_str().unwrap_or("?")
    );
    for field in error["fields"].as_array().into_iter().flatten() {
        text.push_str(&format!("\n  {}: {}", field["field"].as_str().unwrap_or(""), field["message"].as_str().unwrap_or("")));
    }
    text
}

fn print_json(value: &impl Serialize) -> Result<(), Failure> {
    println!("{}", serde_json::to_string_pretty(value).map_err(|e| Failure::usage(e.to_string()))?);
    Ok(())
}

fn finish(result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

pub async fn service(args: &ClientArgs, command: &ServiceCommand) -> ExitCode {
    finish(run_service(args, command).await)
}

async fn run_service(args: &ClientArgs, command: &ServiceCommand) -> Result<(), Failure> {
    let client = Client::new(args)?;
    match command {
        ServiceCommand::Provision { template, name, env, owner, display_name, description, idempotency_key } => {
            let input = ProvisionInput {
                template: template.clone(),
                name: name.clone(),
                env: env.clone(),
                owner: owner.clone(),
                display_name: display_name.clone(),
                description: description.clone(),
            };
            let done: Provisioned = client.send(reqwest::Method::POST, "/services", Some(&input), idempotency_key.as_deref()).await?;
            match args.output {
                Output::Json => print_json(&done)?,
                Output::Table => {
                    let how = if done.replayed { "already provisioned (same request)" } else { "provisioned" };
                    println!("{} {how}: {} ({}) from template {} v{}", done.service, done.service_id, done.env, done.template, done.template_version);
                    println!("{:<28} {:<16} {:<26} {:>7}  SCOPE", "IDENTITY", "KIND", "ROLE", "VERSION");
                    for identity in &done.identities {
                        for grant in &identity.grants {
                            println!(
                                "{:<28} {:<16} {:<26} {:>7}  {}",
                                identity.name,
                                identity.kind.as_str(),
                                grant.role,
                                format!("v{}", grant.role_version),
                                grant.scope
                            );
                        }
                    }
                    println!("audit events {}..={}", done.audit_from_seq, done.audit_to_seq);
                }
            }
        }
        ServiceCommand::Decommission { service, reason } => {
            let found = client.service(service).await?;
            let body = serde_json::json!({ "reason": reason });
            let receipt: DecommissionReceipt =
                client.send(reqwest::Method::POST, &format!("/services/{}/decommission", encode(&found.id)), Some(&body), None).await?;
            match args.output {
                Output::Json => print_json(&receipt)?,
                Output::Table => {
                    let how = if receipt.replayed { "was already decommissioned" } else { "decommissioned" };
                    println!("{} {how} at {}", receipt.service, receipt.decommissioned_at);
                    println!("identities retired    {}", receipt.identities_retired.len());
                    println!("credentials revoked   {}", receipt.credentials_revoked.len());
                    println!("assignments revoked   {}", receipt.assignments_revoked.len());
                    println!("audit events          {}..={}", receipt.audit_from_seq, receipt.audit_to_seq);
                    println!("chain hash            {}", receipt.chain_hash);
                }
            }
        }
        ServiceCommand::Get { service } => {
            let found = client.service(service).await?;
            match args.output {
                Output::Json => print_json(&found)?,
                Output::Table => {
                    println!("{:<14}{}", "id", found.id);
                    println!("{:<14}{}", "name", found.name);
                    println!("{:<14}{}", "status", found.status.as_str());
                    println!("{:<14}{}", "owner", found.owner_name);
                    println!("{:<14}{}", "identities", found.identity_count);
                }
            }
        }
    }
    Ok(())
}

pub async fn usage(args: &ClientArgs, command: &UsageCommand) -> ExitCode {
    finish(run_usage(args, command).await)
}

/// Reads a usage file: JSON object or array, or CSV with a header.
fn read_usage(path: &Path) -> Result<Vec<UsageEntry>, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("Cannot read {}: {e}", path.display())))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        let report: UsageReport = serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{} is not a usage report: {e}", path.display())))?;
        return Ok(report.entries);
    }
    if trimmed.starts_with('[') {
        return serde_json::from_str(&text).map_err(|e| Failure::usage(format!("{} is not a list of usage entries: {e}", path.display())));
    }
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines.next().unwrap_or_default().split(',').map(|h| h.trim().to_lowercase()).collect();
    let column = |name: &str| header.iter().position(|h| h == name);
    let at = column("last_used_at").ok_or_else(|| Failure::usage(format!("{}: the CSV header must name last_used_at.", path.display())))?;
    let (fingerprint, identity) = (column("fingerprint"), column("identity_id"));
    if fingerprint.is_none() && identity.is_none() {
        return Err(Failure::usage(format!("{}: the CSV header must name fingerprint or identity_id.", path.display())));
    }
    let cell = |cells: &[&str], i: Option<usize>| i.and_then(|i| cells.get(i)).map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    Ok(lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            UsageEntry { fingerprint: cell(&cells, fingerprint), identity_id: cell(&cells, identity), last_used_at: cell(&cells, Some(at)).unwrap_or_default() }
        })
        .collect())
}

async fn run_usage(args: &ClientArgs, command: &UsageCommand) -> Result<(), Failure> {
    let UsageCommand::Report { file } = command;
    let entries = read_usage(file)?;
    if entries.is_empty() {
        return Err(Failure::usage(format!("{} holds no usage entries.", file.display())));
    }
    let client = Client::new(args)?;
    let mut total = UsageOutcome::default();
    for batch in entries.chunks(USAGE_BATCH) {
        let outcome: UsageOutcome = client.send(reqwest::Method::POST, "/usage", Some(&UsageReport { entries: batch.to_vec() }), None).await?;
        total.received += outcome.received;
        total.credentials_updated += outcome.credentials_updated;
        total.identities_updated += outcome.identities_updated;
        total.unknown_fingerprints.extend(outcome.unknown_fingerprints);
        total.unknown_identities.extend(outcome.unknown_identities);
    }
    match args.output {
        Output::Json => print_json(&total)?,
        Output::Table => {
            println!("entries received      {}", total.received);
            println!("credentials updated   {}", total.credentials_updated);
            println!("identities updated    {}", total.identities_updated);
            println!("unknown fingerprints  {}", total.unknown_fingerprints.len());
            for fingerprint in total.unknown_fingerprints.iter().take(20) {
                println!("  {fingerprint}");
            }
            println!("unknown identities    {}", total.unknown_identities.len());
            for id in total.unknown_identities.iter().take(20) {
                println!("  {id}");
            }
        }
    }
    Ok(())
}

/// What `nhidb --server URL import …` sends: the export, gzip-compressed, to
/// `POST /sources/{kind}/{name}/imports`.
pub struct ImportPush {
    pub kind: crate::domain::source::SourceKind,
    pub name: String,
    pub query: Vec<(&'static str, String)>,
    pub body: String,
}

pub async fn push_import(args: &ClientArgs, push: ImportPush) -> ExitCode {
    finish(run_push_import(args, push).await)
}

async fn run_push_import(args: &ClientArgs, push: ImportPush) -> Result<(), Failure> {
    use std::io::Write;
    let client = Client::new(args)?;
    // Cleared however the push ends, so an error is not printed after a stale progress line.
    struct Line(Option<indicatif::ProgressBar>);
    impl Drop for Line {
        fn drop(&mut self) {
            if let Some(bar) = &self.0 {
                bar.finish_and_clear();
            }
        }
    }
    let bar = Line(super::import::progress());
    let step = |text: String| {
        if let Some(bar) = &bar.0 {
            bar.set_message(text);
        }
    };
    step(format!("compressing {:.1} MB", push.body.len() as f64 / 1e6));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(push.body.as_bytes()).and_then(|_| encoder.flush()).map_err(|e| Failure::usage(e.to_string()))?;
    let body = encoder.finish().map_err(|e| Failure::usage(e.to_string()))?;
    let query: String = push.query.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
    let url = format!("{}/sources/{}/{}/imports?{query}", client.base, push.kind.as_str(), encode(&push.name));
    step(format!("sending {:.1} MB to {}; the server imports it in one transaction", body.len() as f64 / 1e6, client.base));
    // Not retried: an import is applied once; repeating an identical import changes nothing
    // anyway, so a failed run is simply run again.
    let response = client
        .http
        .post(url)
        .bearer_auth(&client.token)
        .header("content-encoding", "gzip")
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .map_err(|e| Failure { code: EXIT_UNREACHABLE, message: format!("Cannot reach {}: {e}", client.base) })?;
    let status = response.status();
    let text = response.text().await.map_err(|e| Failure { code: EXIT_UNREACHABLE, message: e.to_string() })?;
    drop(bar);
    if !status.is_success() {
        return Err(Failure { code: EXIT_REFUSED, message: describe_error(status.as_u16(), &text) });
    }
    let record: crate::domain::source::ImportRecord =
        serde_json::from_str(&text).map_err(|e| Failure { code: EXIT_UNREACHABLE, message: format!("Unexpected answer from the server: {e}") })?;
    match args.output {
        Output::Json => print_json(&record)?,
        Output::Table => {
            println!("{} source {} imported ({} ms on the server)", push.kind.label(), record.source_name, record.duration_ms);
            for line in record.summary.lines() {
                println!("  {line}");
            }
        }
    }
    Ok(())
}
