//! Text extraction: plain text out of archived content, one module per
//! format, for the full-text index.
//!
//! Extraction never decides whether a deposit is accepted: a record whose
//! text cannot be read is archived all the same and its failure recorded.
//! Every extractor reads at most [`TEXT_INPUT_MAX`] bytes, so no file can
//! exhaust memory. Formats without an extractor yet yield "no text".

mod html;
mod text;

use std::io::Read;

/// The most bytes of a document read for its text. Larger documents are
/// indexed on their beginning; the cap keeps memory bounded whatever comes.
pub const TEXT_INPUT_MAX: u64 = 32 * 1024 * 1024;

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
type ExtractFn = fn(&[u8]) -> Result<String, String>;

/// Extracts the text of content of `media_type` read from `source`.
pub fn extract(media_type: &str, source: &mut dyn Read) -> Extraction {
    let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let extractor: Option<(&'static str, ExtractFn)> = match essence.as_str() {
        "text/plain" | "text/csv" | "text/xml" | "application/xml" | "application/json" => Some(("text", text::decode)),
        "text/html" | "application/xhtml+xml" => Some(("html", html::text_of)),
        _ => None,
    };
    let Some((name, run)) = extractor else {
        return Extraction {
            text: String::new(),
            extractor: "none",
            error: Some(format!("no text extractor for {essence}")),
        };
    };
    let mut bytes = Vec::new();
    if let Err(e) = source.take(TEXT_INPUT_MAX).read_to_end(&mut bytes) {
        return Extraction::failed(name, format!("reading the content: {e}"));
    }
    match run(&bytes) {
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
        let e = extract("text/plain; charset=utf-8", &mut "Délibération".as_bytes());
        assert_eq!((e.text.as_str(), e.extractor, e.error), ("Délibération", "text", None));
        let e = extract("text/html", &mut "<p>l'école</p>".as_bytes());
        assert_eq!(e.text.trim(), "l'école");
        let e = extract("image/png", &mut &b"\x89PNG"[..]);
        assert_eq!(e.extractor, "none");
        assert!(e.error.is_some());
    }
}
