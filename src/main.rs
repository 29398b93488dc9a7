//! The `coffre` binary: parse the command line, start logging, run.

use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: chosen when the catalog's
/// engine (sled, before fjall) copied and freed its tree's nodes on every
/// write, a churn that took a third of a rebuild's time at a million
/// records under glibc's allocator (BENCHMARKS.md, "At a million
/// records"); records decoded and encoded as JSON and the index's
/// segments still allocate and free at that pace.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli: coffre::cli::Cli = match coffre::cli::usage::parse() {
        Ok(cli) => cli,
        Err(failure) => return failed(&failure),
    };
    let serving = matches!(cli.command, coffre::cli::Command::Serve(_));
    if serving {
        give_back_freed_memory_soon();
    } else {
        end_quietly_on_closed_pipe();
    }
    if serving || matches!(cli.command, coffre::cli::Command::Ingest(_)) {
        without_huge_pages();
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

/// mimalloc's `purge_delay`: the 16th of mimalloc 3's options
/// (`mi_option_e`), which the Rust bindings do not name; a test below
/// checks its default.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// The server hands memory freed in whole pages back to the system a
/// tenth of a second after, where mimalloc waits a second by default:
/// what a burst of deposits or searches allocated for a moment does not
/// stay resident. Not at once (0, as before): under a stream of deposits
/// the same pages were then given back and taken again many times a
/// second, each time clearing them and interrupting the other core to
/// flush its address cache, a tenth of the machine's time; deposits of
/// French texts at 3,000 a second were found 1 s later at p99 with 100 ms
/// (3 runs each in turns: 3.1, 2.8, 3.1 s against 4.4, 4.1, 3.7 s at
/// once). The commands (a rebuild, a check) keep the default: they are
/// short, and their speed is what counts. `MIMALLOC_PURGE_DELAY` still
/// decides when it is set.
fn give_back_freed_memory_soon() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: called at start, before any other thread exists (the
        // option is not set thread-safely); 100 is a valid delay (ms).
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, SERVER_PURGE_DELAY_MS) }
    }
}

/// How long the server's freed pages wait before they go back (ms).
const SERVER_PURGE_DELAY_MS: std::ffi::c_long = 100;

/// No transparent huge pages for the server nor for `coffre ingest`: a
/// 2 MiB page touched in part is resident whole, and the system zeroes it
/// whole first (at a million records the server held 0.7 GB of them; an
/// ingest of 10,000 small files on the data directory peaked at 224 MB
/// with them and 143 MB without). The other commands keep them.
fn without_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_THP_DISABLE takes plain integers and
    // changes only this process's memory policy.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
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

#[cfg(test)]
mod tests {
    /// The option set for the server is mimalloc's purge delay: its
    /// default there is 1,000 ms, and it takes the value given.
    #[test]
    fn the_purge_delay_is_the_option_the_server_sets() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reading and setting an option; this test is the only
        // code of this binary's tests that touches mimalloc's options.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(super::PURGE_DELAY), 1000);
            libmimalloc_sys::mi_option_set(super::PURGE_DELAY, super::SERVER_PURGE_DELAY_MS);
            assert_eq!(libmimalloc_sys::mi_option_get(super::PURGE_DELAY), 100);
        }
    }
}
