//! The `coffre` binary: parse the command line, start logging, run.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = coffre::cli::Cli::parse();
    let default_level = match cli.command {
        coffre::cli::Command::Serve(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("COFFRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match coffre::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("coffre: error: {}", failure.message);
            ExitCode::from(failure.exit_code())
        }
    }
}
