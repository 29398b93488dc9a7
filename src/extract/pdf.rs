//! PDF: poppler's `pdftotext`, run as a separate process under a time limit
//! (`timeout`) and an address-space limit (`prlimit`), its output capped, so
//! that no PDF can hang, crash or exhaust the server. Without `pdftotext`
//! the record is archived with its failure recorded ("no text").

use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// Seconds a PDF may take; a long scanned report takes a few.
const TIME_LIMIT_SECS: u32 = 60;
/// Address space the extractor may use.
const MEMORY_LIMIT_BYTES: u64 = 1024 * 1024 * 1024;
/// The most text kept from one PDF.
const OUTPUT_MAX: u64 = 64 * 1024 * 1024;

/// The text of a PDF document.
pub fn text_of(bytes: &[u8]) -> Result<String, String> {
    let mut child = Command::new("timeout")
        .args(["--kill-after=5", &TIME_LIMIT_SECS.to_string(), "prlimit"])
        .arg(format!("--as={MEMORY_LIMIT_BYTES}"))
        .args(["pdftotext", "-q", "-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run pdftotext (poppler-utils) under timeout and prlimit: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no pipe to pdftotext")?;
    let input = bytes.to_vec();
    // Feed the document from another thread while reading the text, so
    // that neither pipe fills up and blocks the other.
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut text = Vec::new();
    let read = child
        .stdout
        .take()
        .ok_or("no pipe from pdftotext")?
        .take(OUTPUT_MAX)
        .read_to_end(&mut text);
    let status = child.wait().map_err(|e| format!("waiting for pdftotext: {e}"))?;
    let _ = feeder.join();
    read.map_err(|e| format!("reading pdftotext's output: {e}"))?;
    match status.code() {
        Some(0) => Ok(String::from_utf8_lossy(&text).into_owned()),
        Some(124) | Some(137) => Err(format!("pdftotext took longer than {TIME_LIMIT_SECS} s")),
        Some(127) => Err("pdftotext (poppler-utils) is not installed".into()),
        Some(code) => Err(format!("pdftotext could not read the PDF (exit code {code})")),
        None => Err("pdftotext was killed (out of memory?)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::text_of;

    #[test]
    fn a_corrupt_pdf_is_an_error_not_a_crash() {
        let err = text_of(b"%PDF-1.4\n garbage without trailer").unwrap_err();
        assert!(err.contains("pdftotext"), "{err}");
    }
}
