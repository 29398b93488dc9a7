//! Running the `coffre` binary from a benchmark.

use std::process::{Command, Stdio};

/// The `coffre` binary cargo built for the benchmarks.
pub fn coffre() -> &'static str {
    env!("CARGO_BIN_EXE_coffre")
}

/// Runs a command to its end; panics unless it succeeds; its stdout.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.stderr(Stdio::inherit()).output().expect("run command");
    assert!(out.status.success(), "{cmd:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
