use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    nhidb::cli::init_tracing();
    nhidb::cli::run(nhidb::cli::Cli::parse()).await
}
