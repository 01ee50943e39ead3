//! `nhidb operator …` and `nhidb token …`.

use super::cli_actor;
use crate::domain::operator::OperatorInput;
use crate::domain::token::TokenInput;
use crate::service;
use crate::store::Store;
use clap::Subcommand;
use std::io::Read;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Add an operator; prints a generated password unless --password-stdin is given.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        /// Console roles, comma-separated: viewer, requester, approver, auditor, admin.
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Read the initial password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable an operator; their sessions end at once.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled operator.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Set a new generated password (printed once) and end the operator's sessions.
    ResetPassword {
        #[arg(long)]
        email: String,
    },
    /// List operators.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a pipeline token; prints its secret once.
    Create {
        #[arg(long)]
        name: String,
        /// Scopes, comma-separated: read, provision, decommission, report-usage, audit.
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
        /// The accountable owner (team or person) by name.
        #[arg(long)]
        owner: String,
        /// Days until the token expires (1 to 366).
        #[arg(long, default_value_t = 90)]
        days: i64,
        /// Limit what the token may change to this scope and below (repeatable: --limit prod/payments
        /// --limit staging/payments). Without it the token may change anything its scopes allow.
        #[arg(long = "limit", value_name = "SCOPE")]
        limits: Vec<String>,
    },
    /// Revoke a token by id; the next call with it is refused.
    Revoke { id: String },
    /// List tokens (never their secrets).
    List,
}

fn failed(e: crate::error::AppError) -> String {
    match &e {
        crate::error::AppError::Validation { errors } => errors.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; "),
        _ => e.to_string(),
    }
}

pub async fn operator(store: &Store, command: &OperatorCommand) -> Result<ExitCode, String> {
    let actor = cli_actor();
    match command {
        OperatorCommand::Add { name, email, roles, password_stdin } => {
            let password = if *password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).map_err(|e| e.to_string())?;
                Some(text.trim_end_matches(['\n', '\r']).to_owned())
            } else {
                None
            };
            let input = OperatorInput { name: name.clone(), email: email.clone(), roles: roles.clone() };
            let (operator, generated) = service::operators::create(store, &actor, &input, password.as_deref()).await.map_err(failed)?;
            println!("operator {} added ({})", operator.email, operator.id);
            if let Some(password) = generated {
                println!("password (shown once): {password}");
            }
        }
        OperatorCommand::Disable { email } | OperatorCommand::Enable { email } => {
            let status = if matches!(command, OperatorCommand::Disable { .. }) { "disabled" } else { "active" };
            let operator = service::operators::by_email(store, &actor, email).await.map_err(failed)?;
            service::operators::set_status(store, &actor, &operator.id, status).await.map_err(failed)?;
            println!("operator {} is now {status}", operator.email);
        }
        OperatorCommand::ResetPassword { email } => {
            let operator = service::operators::by_email(store, &actor, email).await.map_err(failed)?;
            let password = service::operators::reset_password(store, &actor, &operator.id).await.map_err(failed)?;
            println!("new password for {} (shown once): {password}", operator.email);
        }
        OperatorCommand::List => {
            for o in service::operators::list(store, &actor).await.map_err(failed)? {
                let roles = o.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",");
                println!("{:<28} {:<9} {:<32} {}", o.email, o.status.as_str(), roles, o.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(store: &Store, command: &TokenCommand) -> Result<ExitCode, String> {
    let actor = cli_actor();
    match command {
        TokenCommand::Create { name, scopes, owner, days, limits } => {
            let (owners, _) = service::services::choices(store, &actor).await.map_err(failed)?;
            let owner_id = owners
                .iter()
                .find(|o| o.label == *owner || o.id == *owner)
                .map(|o| o.id.clone())
                .ok_or_else(|| format!("No active owner named \"{owner}\"."))?;
            let input = TokenInput { name: name.clone(), scopes: scopes.clone(), owner_id, expires_in_days: days.to_string(), limits: limits.join(",") };
            let issued = service::tokens::create(store, &actor, &input).await.map_err(failed)?;
            eprintln!("token {} ({}) expires {}; the secret below is shown once:", issued.token.name, issued.token.id, issued.token.expires_at.date());
            println!("{}", issued.secret);
        }
        TokenCommand::Revoke { id } => {
            let token = service::tokens::revoke(store, &actor, id).await.map_err(failed)?;
            println!("token {} revoked", token.name);
        }
        TokenCommand::List => {
            for t in service::tokens::list(store, &actor).await.map_err(failed)? {
                let state = if t.revoked_at.is_some() { "revoked" } else { "active" };
                let scopes = t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",");
                let limits = if t.limits.is_empty() { String::new() } else { format!("  limited to {}", crate::domain::token::limits_to_text(&t.limits)) };
                println!("{}  {:<14} {:<8} {:<40} expires {}  {}{limits}", t.id, format!("{}…", t.prefix), state, scopes, t.expires_at.date(), t.name);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
