//! The `coffre` binary: parse the command line, start logging, run.

use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: the catalog's engine (sled)
/// copies and frees its tree's nodes on every write, and under glibc's
/// allocator that churn alone took a third of a rebuild's time at a
/// million records (BENCHMARKS.md, "At a million records").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli: coffre::cli::Cli = match coffre::cli::usage::parse() {
        Ok(cli) => cli,
        Err(failure) => return failed(&failure),
    };
    let serving = matches!(cli.command, coffre::cli::Command::Serve(_));
    if !serving {
        end_quietly_on_closed_pipe();
    }
    let default_level = if serving { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("COFFRE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Colours for a person at a terminal, not in a log file.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match coffre::cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failed(&failure),
    }
}

/// Says what failed on one line, and exits with its code from the table.
fn failed(failure: &coffre::cli::Failure) -> ExitCode {
    eprintln!("coffre : erreur : {}", failure.message);
    ExitCode::from(failure.exit_code())
}

/// A command whose output goes to a pipe that closes early (`coffre audit
/// log | head`) ends quietly, as Unix tools do, instead of panicking on
/// the closed pipe. Not for `serve`: a client that goes away must not stop
/// the server.
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called at start, before any thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
