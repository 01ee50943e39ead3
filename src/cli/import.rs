//! `nhidb import kubernetes|aws|gcp`: reads a source's export from files, directories or standard
//! input and imports it (or, with `--plan`, prints what would change).

use super::cli_actor;
use crate::domain::source::{ImportRecord, SourceKind};
use crate::service::imports::{self, InputFile, KubernetesOptions, Target};
use crate::store::Store;
use clap::{Args, Subcommand};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Kubernetes RBAC: the output of `kubectl get serviceaccounts,roles,rolebindings,clusterroles,
    /// clusterrolebindings -A -o yaml` (or `-o json`), or manifests (Helm, kustomize).
    Kubernetes(KubernetesArgs),
    /// AWS IAM: the output of `aws iam get-account-authorization-details` (one document, or
    /// every page of a paginated run).
    Aws(AwsArgs),
    /// GCP IAM: a project's policy, as `gcloud projects get-iam-policy PROJECT --format=json`
    /// prints it.
    Gcp(GcpArgs),
}

#[derive(Debug, Args)]
pub struct GcpArgs {
    /// The project id: its scope is gcp/PROJECT.
    #[arg(long)]
    pub project: String,
    /// Custom role definitions with their permissions: the outputs of `gcloud iam roles describe
    /// ROLE --project PROJECT --format=json`, one after another or as a list (`gcloud iam roles
    /// list` leaves the permissions out).
    #[arg(long)]
    pub roles: Option<PathBuf>,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The policy file, or `-` for standard input.
    pub policy: PathBuf,
}

#[derive(Debug, Args)]
pub struct AwsArgs {
    /// The account id (12 digits); by default taken from the ARNs, which must agree.
    #[arg(long, default_value = "")]
    pub account: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Files (pages are read in the order given), directories, or `-` for standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// The source's owner (a team or person, by name or id); required for the first import.
    #[arg(long)]
    pub owner: Option<String>,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub plan: bool,
}

#[derive(Debug, Args)]
pub struct KubernetesArgs {
    /// The cluster's name in nhidb: its scopes are k8s/NAME and k8s/NAME/NAMESPACE.
    #[arg(long)]
    pub cluster: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// The namespace of namespaced objects whose manifest names none.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Leave out User and Group subjects whose name matches (`*` is a wildcard, e.g.
    /// `system:*`); may be repeated.
    #[arg(long)]
    pub exclude: Vec<String>,
    /// Files, directories (their .yaml, .yml and .json files, in name order) or `-` for
    /// standard input.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

const EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> =
            std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        for entry in entries {
            if entry.is_dir() {
                collect(&entry, out)?;
            } else if entry.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str())) {
                out.push(entry);
            }
        }
        Ok(())
    } else if path.exists() {
        out.push(path.to_owned());
        Ok(())
    } else {
        Err(format!("{}: no such file or directory", path.display()))
    }
}

/// Reads every input named on the command line; a file that is not UTF-8 is refused by name.
pub fn read_inputs(paths: &[PathBuf]) -> Result<Vec<InputFile>, String> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map_err(|e| format!("standard input: {e}"))?;
            inputs.push(InputFile { name: "standard input".to_owned(), text });
            continue;
        }
        let mut files = Vec::new();
        collect(path, &mut files)?;
        if files.is_empty() {
            return Err(format!("{}: holds no .yaml, .yml or .json files", path.display()));
        }
        for file in files {
            let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| format!("{}: is not UTF-8 text", file.display()))?;
            inputs.push(InputFile { name: file.display().to_string(), text });
        }
    }
    Ok(inputs)
}

fn print(kind: SourceKind, name: &str, record: &ImportRecord, plan: bool) {
    let what = if plan { "plan for" } else { "imported" };
    let memory = super::export::peak_rss_kib().map(|k| format!(", peak memory {} MB", k / 1024)).unwrap_or_default();
    println!("{what} {} source {name} ({} ms{memory}, input {})", kind.label(), record.duration_ms, record.input_hash);
    for line in record.summary.lines() {
        println!("  {line}");
    }
}

/// Client mode: sends the export to the server named by --server instead of writing the local
/// database. One export per request: files given together are joined (YAML documents, or the
/// single JSON document AWS and GCP export).
pub async fn push(client: &super::client::ClientArgs, command: &ImportCommand) -> Result<ExitCode, String> {
    use super::client::ImportPush;
    let join = |inputs: Vec<InputFile>, kind: &str| -> Result<String, String> {
        match inputs.len() {
            1 => Ok(inputs.into_iter().next().map(|i| i.text).unwrap_or_default()),
            _ if kind == "kubernetes" => Ok(inputs.into_iter().map(|i| i.text).collect::<Vec<_>>().join("\n---\n")),
            n => {
                Err(format!("client mode sends one {kind} document per run; {n} files were given (merge the pages with the AWS CLI, which does it by default)"))
            }
        }
    };
    let mut query = Vec::new();
    let push = match command {
        ImportCommand::Kubernetes(args) => {
            query.push(("namespace", args.namespace.clone()));
            if !args.exclude.is_empty() {
                query.push(("exclude", args.exclude.join(",")));
            }
            ImportPush { kind: SourceKind::Kubernetes, name: args.cluster.clone(), query: vec![], body: join(read_inputs(&args.paths)?, "kubernetes")? }
        }
        ImportCommand::Aws(args) => {
            let inputs = read_inputs(&args.paths)?;
            let body = join(inputs, "aws")?;
            let account = if args.account.is_empty() { account_in(&body).ok_or("name the account with --account")? } else { args.account.clone() };
            ImportPush { kind: SourceKind::Aws, name: account, query: vec![], body }
        }
        ImportCommand::Gcp(args) => {
            let policy = join(read_inputs(std::slice::from_ref(&args.policy))?, "gcp")?;
            let body = match &args.roles {
                None => policy,
                // With custom roles, the body is `{"policy": …, "roles": […]}`.
                Some(path) => {
                    let roles = join(read_inputs(std::slice::from_ref(path))?, "gcp")?;
                    envelope(&policy, &roles).map_err(|e| format!("{}: {e}", path.display()))?
                }
            };
            ImportPush { kind: SourceKind::Gcp, name: args.project.clone(), query: vec![], body }
        }
    };
    let source = match command {
        ImportCommand::Kubernetes(a) => &a.source,
        ImportCommand::Aws(a) => &a.source,
        ImportCommand::Gcp(a) => &a.source,
    };
    if let Some(owner) = &source.owner {
        query.push(("owner", owner.clone()));
    }
    if source.plan {
        query.push(("plan", "true".to_owned()));
    }
    Ok(super::client::push_import(client, ImportPush { query, ..push }).await)
}

/// A GCP policy with its custom roles, as one request body: the roles file holds `gcloud iam
/// roles describe` outputs one after another, or a list of them.
fn envelope(policy: &str, roles: &str) -> Result<String, String> {
    let policy: serde_json::Value = serde_json::from_str(policy).map_err(|e| format!("the policy is not JSON: {e}"))?;
    let mut list = Vec::new();
    for value in serde_json::Deserializer::from_str(roles).into_iter::<serde_json::Value>() {
        match value.map_err(|e| format!("not JSON: {e}"))? {
            serde_json::Value::Array(items) => list.extend(items),
            one => list.push(one),
        }
    }
    Ok(serde_json::json!({ "policy": policy, "roles": list }).to_string())
}

/// The account id of the first account-owned IAM ARN in an export (`arn:aws:iam::123456789012:…`;
/// AWS-managed policies say `aws` there).
fn account_in(text: &str) -> Option<String> {
    text.match_indices("arn:aws:iam::").find_map(|(at, found)| {
        let account: String = text[at + found.len()..].chars().take_while(|c| c.is_ascii_digit()).collect();
        (account.len() == 12).then_some(account)
    })
}

/// A progress line on standard error while an import runs, when that is a terminal: the step
/// it is at and how long it has taken.
pub(super) fn progress() -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner()
        .with_style(indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}").unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

pub async fn import(store: &Store, command: &ImportCommand) -> Result<ExitCode, String> {
    let bar = progress();
    let (kind, name, record, plan) = match &bar {
        Some(bar) => {
            let shown = bar.clone();
            let result = imports::with_progress(std::sync::Arc::new(move |step: &str| shown.set_message(step.to_owned())), run(store, command)).await;
            bar.finish_and_clear();
            result?
        }
        None => run(store, command).await?,
    };
    print(kind, &name, &record, plan);
    Ok(ExitCode::SUCCESS)
}

/// Runs the import; returns what to print about it.
async fn run(store: &Store, command: &ImportCommand) -> Result<(SourceKind, String, ImportRecord, bool), String> {
    match command {
        ImportCommand::Kubernetes(args) => {
            let inputs = read_inputs(&args.paths)?;
            let target = Target { kind: SourceKind::Kubernetes, name: args.cluster.clone(), owner: args.source.owner.clone(), plan_only: args.source.plan };
            let options = KubernetesOptions { default_namespace: Some(args.namespace.clone()), exclude: args.exclude.clone() };
            let record = imports::import_kubernetes(store, &cli_actor(), &target, &options, inputs).await.map_err(|e| e.to_string())?;
            Ok((SourceKind::Kubernetes, args.cluster.clone(), record, args.source.plan))
        }
        ImportCommand::Aws(args) => {
            let inputs = read_inputs(&args.paths)?;
            let target = Target { kind: SourceKind::Aws, name: args.account.clone(), owner: args.source.owner.clone(), plan_only: args.source.plan };
            let record = imports::import_aws(store, &cli_actor(), &target, inputs).await.map_err(|e| e.to_string())?;
            Ok((SourceKind::Aws, record.source_name.clone(), record, args.source.plan))
        }
        ImportCommand::Gcp(args) => {
            let policy = read_inputs(std::slice::from_ref(&args.policy))?.into_iter().next().ok_or("no policy file")?;
            let roles = args.roles.as_ref().map(|r| read_inputs(std::slice::from_ref(r))).transpose()?.and_then(|r| r.into_iter().next());
            let target = Target { kind: SourceKind::Gcp, name: args.project.clone(), owner: args.source.owner.clone(), plan_only: args.source.plan };
            let record = imports::import_gcp(store, &cli_actor(), &target, policy, roles).await.map_err(|e| e.to_string())?;
            Ok((SourceKind::Gcp, args.project.clone(), record, args.source.plan))
        }
    }
}
