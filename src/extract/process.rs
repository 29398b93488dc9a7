//! Running an external extractor (pdftotext, pdftoppm, tesseract) as a
//! separate process under a time limit (`timeout`) and an address-space
//! limit (`prlimit`), with its output capped: a hostile file can cost that
//! process, never the server.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Address space an external extractor may use.
const MEMORY_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;

/// Runs `program args...` with `input` on its standard input, for at most
/// `seconds`; returns at most `output_max` bytes of its standard output.
pub fn run_limited(
    program: &str,
    args: &[&str],
    input: &[u8],
    seconds: u32,
    output_max: u64,
    cwd: Option<&Path>,
) -> Result<Vec<u8>, String> {
    let mut command = Command::new("timeout");
    command
        .args(["--kill-after=5", &seconds.to_string(), "prlimit"])
        .arg(format!("--as={MEMORY_LIMIT_BYTES}"))
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot run {program} under timeout and prlimit: {e}"))?;
    let mut stdin = child.stdin.take().ok_or_else(|| format!("no pipe to {program}"))?;
    let input = input.to_vec();
    // Feed the input from another thread while reading the output, so that
    // neither pipe fills up and blocks the other.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut output = Vec::new();
    let read = child
        .stdout
        .take()
        .ok_or_else(|| format!("no pipe from {program}"))?
        .take(output_max)
        .read_to_end(&mut output);
    let status = child.wait().map_err(|e| format!("waiting for {program}: {e}"))?;
    let _ = feeder.join();
    read.map_err(|e| format!("reading {program}'s output: {e}"))?;
    match status.code() {
        Some(0) => Ok(output),
        Some(124) | Some(137) => Err(format!("{program} took longer than {seconds} s")),
        Some(127) => Err(format!("{program} is not installed")),
        Some(code) => Err(format!("{program} could not read the content (exit code {code})")),
        None => Err(format!("{program} was killed (out of memory?)")),
    }
}
