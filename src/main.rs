use clap::Parser;
use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    nhidb::cli::init_tracing();
    nhidb::cli::run(nhidb::cli::Cli::parse()).await
}
