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

/// Seconds making a searchable PDF/A of a scan may take (OCR of every
/// page, then the PDF/A conversion).
const PDFA_TIME_SECS: u32 = 900;

/// What makes the searchable PDF/A of a scan, as its rendition says.
pub const PDFA_MADE_BY: &str = "ocrmypdf -l fra --output-type pdfa";

/// Media types a searchable PDF/A is made of: scanned PDFs and images.
pub fn renders_as_pdfa(media_type: &str) -> bool {
    matches!(
        media_type.split(';').next().unwrap_or("").trim(),
        "application/pdf" | "image/png" | "image/jpeg" | "image/tiff"
    )
}

/// Makes `output`, a searchable PDF/A of the scan `input` (a PDF without a
/// text layer, or an image read at 300 dpi when it says no resolution):
/// its pages as they are, with the text OCR read under them, by Debian's
/// `ocrmypdf` in a limited process. A PDF that has text already is
/// refused (`ocrmypdf` says so): it is no scan.
pub fn searchable_pdfa(input: &std::path::Path, image: bool, output: &std::path::Path) -> Result<(), String> {
    let (Some(input), Some(output)) = (input.to_str(), output.to_str()) else {
        return Err("a temporary path is not UTF-8".into());
    };
    let mut args = vec!["-l", "fra", "--output-type", "pdfa", "--optimize", "0", "-q"];
    if image {
        args.extend(["--image-dpi", RENDER_DPI]);
    }
    args.extend([input, output]);
    run_limited("ocrmypdf", &args, &[], PDFA_TIME_SECS, 0, None).map(|_| ())
}
