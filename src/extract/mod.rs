//! Text extraction: plain text out of archived content, one module per
//! format, for the full-text index.
//!
//! Extraction never decides whether a deposit is accepted: a record whose
//! text cannot be read is archived all the same and its failure recorded.
//! Every extractor reads at most [`TEXT_INPUT_MAX`] bytes, so no file can
//! exhaust memory. Formats without an extractor yet yield "no text".

pub mod cdar;
mod eml;
mod html;
pub mod invoice;
pub mod ocr;
mod office;
pub mod pdf;
pub mod pdfsig;
pub mod pes;
mod process;
pub mod xmlsig;
pub use process::{MissingTool, missing_tools};
mod sheet;
mod text;
mod zipped;

use std::io::Read;

/// The most bytes of a document read for its text. Larger documents are
/// indexed on their beginning; the cap keeps memory bounded whatever comes.
pub const TEXT_INPUT_MAX: u64 = 32 * 1024 * 1024;

/// The version of the extractors as a whole. Raise it when an extractor
/// learns a format or reads one better: `coffre reindex` then extracts again
/// every record whose text came from an older version.
pub const EXTRACTORS_VERSION: u32 = 2;

/// How extraction is done, from the configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Read images and scanned PDFs with tesseract.
    pub ocr: bool,
}

/// Where an extractor runs: its options and its nesting depth (inside an
/// e-mail).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context {
    options: ExtractOptions,
    depth: u32,
}

impl Context {
    /// The context of a document nested in this one.
    fn nested(self) -> Context {
        Context {
            depth: self.depth + 1,
            ..self
        }
    }
}

/// What extraction produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    /// The text, possibly empty.
    pub text: String,
    /// Which extractor ran (`text`, `html`), or `none`.
    pub extractor: &'static str,
    /// Why no text could be had, if so.
    pub error: Option<String>,
}

impl Extraction {
    fn failed(extractor: &'static str, error: impl Into<String>) -> Self {
        Extraction {
            text: String::new(),
            extractor,
            error: Some(error.into()),
        }
    }
}

/// An extractor: the bytes of a document in, its text out.
type ExtractFn = fn(&[u8], &Context) -> Result<String, String>;

/// The extractor for a media type, and its name.
fn extractor_for(essence: &str) -> Option<(&'static str, ExtractFn)> {
    Some(match essence {
        "text/plain" | "text/csv" | "text/xml" | "application/xml" | "application/json" => {
            ("text", |b, _| text::decode(b))
        }
        "text/html" | "application/xhtml+xml" => ("html", |b, _| html::text_of(b)),
        "application/pdf" => ("pdf", pdf_or_scan),
        "image/png" | "image/jpeg" | "image/tiff" => ("ocr", image),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => ("docx", |b, _| office::docx(b)),
        "application/vnd.oasis.opendocument.text" => ("odt", |b, _| office::odt(b)),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => ("xlsx", |b, _| sheet::xlsx(b)),
        "application/vnd.oasis.opendocument.spreadsheet" => ("ods", |b, _| sheet::ods(b)),
        "message/rfc822" => ("eml", eml::text_of),
        _ => return None,
    })
}

/// Every extractor's name.
const EXTRACTOR_NAMES: [&str; 10] = [
    "text", "html", "pdf", "ocr", "docx", "odt", "xlsx", "ods", "eml", "none",
];

/// An extractor's name as the index kept it (`none` for a name no
/// extractor has).
pub fn extractor_name(kept: &str) -> &'static str {
    EXTRACTOR_NAMES.into_iter().find(|n| *n == kept).unwrap_or("none")
}

/// A PDF's text layer, or, for a scan, its pages read by OCR.
fn pdf_or_scan(bytes: &[u8], context: &Context) -> Result<String, String> {
    let text = pdf::text_of(bytes)?;
    if !text.trim().is_empty() {
        return Ok(text);
    }
    if context.options.ocr {
        ocr::pdf_text(bytes)
    } else {
        Err("the PDF has no text layer (a scan?) and OCR is switched off".into())
    }
}

/// An image, read by OCR when it is switched on.
fn image(bytes: &[u8], context: &Context) -> Result<String, String> {
    if context.options.ocr {
        ocr::image_text(bytes)
    } else {
        Err("an image has no text unless OCR is switched on".into())
    }
}

/// Extracts the text of content of `media_type` read from `source`.
pub fn extract(media_type: &str, source: &mut dyn Read, options: ExtractOptions) -> Extraction {
    let mut bytes = Vec::new();
    if let Err(e) = source.take(TEXT_INPUT_MAX).read_to_end(&mut bytes) {
        return Extraction::failed("none", format!("reading the content: {e}"));
    }
    extract_bytes(media_type, &bytes, &Context { options, depth: 0 })
}

/// Extracts the text of `bytes` of `media_type`.
fn extract_bytes(media_type: &str, bytes: &[u8], context: &Context) -> Extraction {
    let mut essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if essence == "application/zip"
        && let Some(office) = zipped::office_media_type(bytes)
    {
        essence = office.to_owned();
    }
    let Some((name, run)) = extractor_for(&essence) else {
        return Extraction::failed("none", format!("no text extractor for {essence}"));
    };
    match run(bytes, context) {
        Ok(text) => Extraction {
            text,
            extractor: name,
            error: None,
        },
        Err(e) => Extraction::failed(name, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispatches_by_media_type() {
        let off = ExtractOptions::default();
        let e = extract("text/plain; charset=utf-8", &mut "Délibération".as_bytes(), off);
        assert_eq!((e.text.as_str(), e.extractor, e.error), ("Délibération", "text", None));
        let e = extract("text/html", &mut "<p>l'école</p>".as_bytes(), off);
        assert_eq!(e.text.trim(), "l'école");
        let e = extract("image/png", &mut &b"\x89PNG"[..], off);
        assert_eq!(e.extractor, "ocr");
        assert_eq!(extractor_name(e.extractor), "ocr");
        assert!(e.error.is_some());
    }
}
