//! Running an external extractor (pdftotext, pdftoppm, tesseract) as a
//! separate process under a time limit (`timeout`) and an address-space
//! limit (`prlimit`), with its output capped: a hostile file can cost that
//! process, never the server.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// Address space an external extractor may use.
const MEMORY_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;

/// How a program ended: its exit code and what it wrote on its standard
/// error (at most 64 KiB).
#[derive(Debug)]
pub struct Ended {
    /// The exit code.
    pub code: i32,
    /// Its standard error, lossily as text.
    pub errors: String,
}

/// Runs `program args...` as [`run_limited`] does, with no input, and
/// says how it ended whatever its exit code (a verifier says "invalid"
/// with one); an error only when it could not run or was stopped.
pub fn run_limited_ending(program: &str, args: &[&str], seconds: u32) -> Result<Ended, String> {
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", &seconds.to_string(), "prlimit"])
        .arg(format!("--as={MEMORY_LIMIT_BYTES}"))
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program} under timeout and prlimit: {e}"))?;
    let mut errors = Vec::new();
    let read = child
        .stderr
        .take()
        .ok_or_else(|| format!("no pipe from {program}"))?
        .take(64 * 1024)
        .read_to_end(&mut errors);
    let status = child.wait().map_err(|e| format!("waiting for {program}: {e}"))?;
    read.map_err(|e| format!("reading {program}'s errors: {e}"))?;
    match status.code() {
        Some(124) | Some(137) => Err(format!("{program} took longer than {seconds} s")),
        Some(127) => Err(format!("{program} is not installed")),
        Some(code) => Ok(Ended {
            code,
            errors: String::from_utf8_lossy(&errors).into_owned(),
        }),
        None => Err(format!("{program} was killed (out of memory?)")),
    }
}

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

/// A program the extractors run, missing from this machine, and what its
/// absence costs, in French (for the operator's log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingTool {
    /// The program (`pdftotext`).
    pub program: &'static str,
    /// The Debian package that provides it.
    pub package: &'static str,
    /// What deposits lose without it.
    pub cost: &'static str,
}

/// The programs extraction needs, with `options`, that `PATH` lacks.
pub fn missing_tools(options: super::ExtractOptions) -> Vec<MissingTool> {
    let mut needed = vec![
        MissingTool {
            program: "timeout",
            package: "coreutils",
            cost: "aucun extracteur externe ne peut tourner : ni texte des PDF, ni OCR",
        },
        MissingTool {
            program: "prlimit",
            package: "util-linux",
            cost: "aucun extracteur externe ne peut tourner : ni texte des PDF, ni OCR",
        },
        MissingTool {
            program: "pdftotext",
            package: "poppler-utils",
            cost: "le texte des PDF n'est pas extrait : ils ne sont ni trouvés par leurs mots, ni classés d'après leur contenu",
        },
    ];
    needed.push(MissingTool {
        program: "xmlsec1",
        package: "xmlsec1",
        cost: "les signatures des bordereaux PES ne sont pas vérifiées (elles sont notées « non vérifiée »)",
    });
    if options.ocr {
        needed.push(MissingTool {
            program: "ocrmypdf",
            package: "ocrmypdf",
            cost: "les scans ne reçoivent pas de version recherchable (PDF/A avec le texte reconnu)",
        });
        needed.push(MissingTool {
            program: "pdftoppm",
            package: "poppler-utils",
            cost: "les PDF scannés ne sont pas lus par OCR",
        });
        needed.push(MissingTool {
            program: "tesseract",
            package: "tesseract-ocr tesseract-ocr-fra",
            cost: "les images et les PDF scannés ne sont pas lus par OCR",
        });
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    needed
        .into_iter()
        .filter(|tool| !std::env::split_paths(&path).any(|dir| dir.join(tool.program).is_file()))
        .collect()
}
