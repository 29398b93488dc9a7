//! PDF: poppler's `pdftotext`, in a limited process (see [`super::process`]).
//! A PDF without a text layer (a scan) is read by OCR when it is switched on.
//! Without `pdftotext` the record is archived with its failure recorded.

use super::process::run_limited;

/// Seconds a PDF may take; a long report takes a few.
const TIME_LIMIT_SECS: u32 = 60;
/// The most text kept from one PDF.
const OUTPUT_MAX: u64 = 64 * 1024 * 1024;

/// The text layer of a PDF document.
pub fn text_of(bytes: &[u8]) -> Result<String, String> {
    let text = run_limited(
        "pdftotext",
        &["-q", "-enc", "UTF-8", "-", "-"],
        bytes,
        TIME_LIMIT_SECS,
        OUTPUT_MAX,
        None,
    )?;
    Ok(String::from_utf8_lossy(&text).into_owned())
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
