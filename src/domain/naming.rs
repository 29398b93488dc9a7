//! The naming engine: a record's reference and its canonical file name.
//!
//! For now every node uses the default reference template
//! `{node}-{year}-{seq:06}` with one counter per node and year; the
//! classification plan will bring per-node templates. Canonical file names
//! are `<reference>.<extension>`, where the extension comes from the original
//! name when it is safe, else from the media type. This module never touches
//! a file: names are data, and original names are never used as paths.

use super::record::{NodeCode, Reference};

/// The reference for the `number`th record of `node` in `year`.
pub fn reference(node: &NodeCode, year: i32, number: u64) -> Reference {
    Reference::from_naming(format!("{node}-{year:04}-{number:06}"))
}

/// The longest extension kept from an original file name.
const EXTENSION_MAX: usize = 10;

/// A safe extension taken from an original file name: ASCII letters and
/// digits only, lower-cased, at most [`EXTENSION_MAX`] characters.
pub fn extension_of(filename: &str) -> Option<String> {
    let base = filename.rsplit(['/', '\\']).next().unwrap_or(filename);
    let (stem, ext) = base.rsplit_once('.')?;
    let ok = !stem.is_empty()
        && !ext.is_empty()
        && ext.len() <= EXTENSION_MAX
        && ext.chars().all(|c| c.is_ascii_alphanumeric());
    ok.then(|| ext.to_ascii_lowercase())
}

/// The usual extension of a media type, for content whose original name
/// gives none.
pub fn extension_for_media_type(media_type: &str) -> &'static str {
    let essence = media_type.split(';').next().unwrap_or("").trim();
    match essence {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/html" => "html",
        "text/xml" | "application/xml" => "xml",
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "image/tiff" => "tif",
        "application/zip" => "zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => "xlsx",
        "application/vnd.oasis.opendocument.text" => "odt",
        "application/vnd.oasis.opendocument.spreadsheet" => "ods",
        "message/rfc822" => "eml",
        _ => "bin",
    }
}

/// The canonical file name of a record's content.
pub fn canonical_filename(reference: &Reference, original: Option<&str>, media_type: &str) -> String {
    let ext = original
        .and_then(extension_of)
        .unwrap_or_else(|| extension_for_media_type(media_type).to_owned());
    format!("{reference}.{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn references_follow_the_default_template() {
        let node = NodeCode::parse("FIN-FAC").unwrap();
        assert_eq!(reference(&node, 2025, 42).as_str(), "FIN-FAC-2025-000042");
        assert_eq!(reference(&node, 2025, 1_234_567).as_str(), "FIN-FAC-2025-1234567");
    }

    #[test]
    fn canonical_names_take_a_safe_extension() {
        let r = Reference::from_naming("ADM-DEL-2024-000001".into());
        assert_eq!(
            canonical_filename(&r, Some("Délib.PDF"), "application/pdf"),
            "ADM-DEL-2024-000001.pdf"
        );
        assert_eq!(
            canonical_filename(&r, Some("../../etc/passwd"), "text/plain"),
            "ADM-DEL-2024-000001.txt"
        );
        assert_eq!(
            canonical_filename(&r, Some("a.p/df"), "application/pdf"),
            "ADM-DEL-2024-000001.pdf"
        );
        assert_eq!(
            canonical_filename(&r, Some(".bashrc"), "x/y"),
            "ADM-DEL-2024-000001.bin"
        );
        assert_eq!(
            canonical_filename(&r, None, "text/plain; charset=utf-8"),
            "ADM-DEL-2024-000001.txt"
        );
    }

    proptest! {
        #[test]
        fn canonical_names_are_always_plain(original in any::<String>()) {
            let r = Reference::from_naming("X-2025-000001".into());
            let name = canonical_filename(&r, Some(&original), "application/octet-stream");
            prop_assert!(name.len() <= 64);
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'));
            prop_assert!(!name.contains(".."));
        }
    }
}
