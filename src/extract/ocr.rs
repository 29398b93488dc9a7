//! OCR with `tesseract -l fra`, for images and for PDFs without a text
//! layer (their pages rendered by poppler's `pdftoppm`), when switched on by
//! configuration (`--ocr`). Each program runs in a limited process; pages
//! are rendered into a temporary folder removed afterwards.

use super::process::run_limited;

/// Seconds one image may take to read.
const IMAGE_TIME_SECS: u32 = 120;
/// Seconds rendering a PDF's pages may take.
const RENDER_TIME_SECS: u32 = 120;
/// Pages of a scanned PDF read at most: the first pages of a long scan
/// carry what people search for, and each page costs seconds.
const PAGES_MAX: u32 = 30;
/// Resolution pages are rendered at: what tesseract reads best.
const RENDER_DPI: &str = "300";
/// The most text kept from one image.
const OUTPUT_MAX: u64 = 16 * 1024 * 1024;

/// The text of an image.
pub fn image_text(bytes: &[u8]) -> Result<String, String> {
    let text = run_limited(
        "tesseract",
        &["stdin", "stdout", "-l", "fra"],
        bytes,
        IMAGE_TIME_SECS,
        OUTPUT_MAX,
        None,
    )?;
    Ok(String::from_utf8_lossy(&text).into_owned())
}

/// The text of a scanned PDF: its first pages rendered, then read.
pub fn pdf_text(bytes: &[u8]) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary folder for OCR: {e}"))?;
    let last = PAGES_MAX.to_string();
    run_limited(
        "pdftoppm",
        &["-r", RENDER_DPI, "-gray", "-png", "-l", &last, "-", "page"],
        bytes,
        RENDER_TIME_SECS,
        0,
        Some(dir.path()),
    )?;
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .map_err(|e| format!("listing rendered pages: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    pages.sort();
    let mut out = String::new();
    for page in pages {
        let image = std::fs::read(&page).map_err(|e| format!("reading a rendered page: {e}"))?;
        out.push_str(&image_text(&image)?);
        out.push('\n');
    }
    Ok(out)
}
