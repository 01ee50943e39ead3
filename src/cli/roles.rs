//! `nhidb roles export | plan | apply`: the role catalog as a reviewed file.

use super::cli_actor;
use crate::domain::roles_code::RolesDocument;
use crate::service;
use crate::store::Store;
use clap::Subcommand;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum RolesCommand {
    /// Write the catalog (current versions) as YAML or JSON.
    Export {
        #[arg(long, default_value = "yaml", value_parser = ["yaml", "json"])]
        format: String,
        /// File to write; standard output when absent.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print what applying FILE would change, like `terraform plan`.
    Plan {
        file: PathBuf,
        /// Also retire active roles the file does not mention.
        #[arg(long)]
        prune: bool,
    },
    /// File change requests for FILE's changes. Nothing changes until approvers approve them.
    Apply {
        file: PathBuf,
        #[arg(long)]
        prune: bool,
        /// Why, for the reviewers and the audit log.
        #[arg(long, default_value = "")]
        reason: String,
    },
}

fn read_document(path: &Path) -> Result<RolesDocument, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("Cannot read {}: {e}", path.display()))?;
    let is_json = path.extension().is_some_and(|e| e == "json");
    if is_json {
        serde_json::from_str(&text).map_err(|e| format!("{} is not a valid roles file: {e}", path.display()))
    } else {
        serde_yaml::from_str(&text).map_err(|e| format!("{} is not a valid roles file: {e}", path.display()))
    }
}

pub async fn roles(store: &Store, command: &RolesCommand) -> Result<ExitCode, String> {
    let actor = cli_actor();
    match command {
        RolesCommand::Export { format, out } => {
            let document = service::roles_code::export(store, &actor).await.map_err(|e| e.to_string())?;
            let text = if format == "json" {
                serde_json::to_string_pretty(&document).map_err(|e| e.to_string())? + "\n"
            } else {
                serde_yaml::to_string(&document).map_err(|e| e.to_string())?
            };
            match out {
                Some(path) => std::fs::write(path, text).map_err(|e| format!("Cannot write {}: {e}", path.display()))?,
                None => print!("{text}"),
            }
        }
        RolesCommand::Plan { file, prune } => {
            let document = read_document(file)?;
            let plan = service::roles_code::make_plan(store, &actor, &document, *prune).await.map_err(|e| e.to_string())?;
            print!("{}", plan.render());
            if !plan.is_valid() {
                return Ok(ExitCode::FAILURE);
            }
        }
        RolesCommand::Apply { file, prune, reason } => {
            let document = read_document(file)?;
            let filed = service::roles_code::apply(store, &actor, &document, *prune, reason).await.map_err(|e| e.to_string())?;
            if filed.is_empty() {
                println!("Nothing to file: the catalog matches the file (or the changes are already pending).");
            }
            for request in &filed {
                println!("filed {} {} ({}) — pending approval", request.id, request.kind.as_str(), request.subject);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
