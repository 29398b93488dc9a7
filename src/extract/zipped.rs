//! Reading members of zip-based documents (DOCX, ODT) within caps, so that a
//! zip bomb costs a bounded amount of memory and time: at most
//! [`ENTRIES_MAX`] entries, [`MEMBER_MAX`] bytes read from one member, and
//! a compression ratio of at most [`RATIO_MAX`] as the archive declares it.

use std::io::{Cursor, Read};

/// The most entries a document's zip may have.
pub const ENTRIES_MAX: usize = 10_000;
/// The most bytes read from one member, whatever its header says.
pub const MEMBER_MAX: u64 = 64 * 1024 * 1024;
/// The highest declared compression ratio accepted; text compresses 5 to
/// 20 times, a bomb thousands of times.
pub const RATIO_MAX: u64 = 200;

/// The most bytes all members of a document may declare together.
pub const TOTAL_MAX: u64 = 256 * 1024 * 1024;

/// Checks a whole zip against the caps before a library reads it: entry
/// count, each member's declared ratio, the declared total.
pub fn check_archive(bytes: &[u8]) -> Result<(), String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a readable zip: {e}"))?;
    if archive.len() > ENTRIES_MAX {
        return Err(format!(
            "{} entries, more than the {ENTRIES_MAX} accepted",
            archive.len()
        ));
    }
    let mut total = 0u64;
    for i in 0..archive.len() {
        let member = archive.by_index_raw(i).map_err(|e| format!("entry {i}: {e}"))?;
        let (packed, declared) = (member.compressed_size().max(1), member.size());
        if declared / packed > RATIO_MAX {
            return Err(format!(
                "{} expands {}-fold, more than the {RATIO_MAX} accepted (a zip bomb?)",
                member
                    .name()
                    .map(|n| n.into_owned())
                    .unwrap_or_else(|_| format!("entry {i}")),
                declared / packed
            ));
        }
        total = total.saturating_add(declared);
    }
    if total > TOTAL_MAX {
        return Err(format!(
            "the members add up to {total} bytes, more than the {TOTAL_MAX} accepted"
        ));
    }
    Ok(())
}

/// Reads member `name` of the zip in `bytes` as UTF-8 text.
pub fn member_text(bytes: &[u8], name: &str) -> Result<String, String> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a readable zip: {e}"))?;
    if archive.len() > ENTRIES_MAX {
        return Err(format!(
            "{} entries, more than the {ENTRIES_MAX} accepted",
            archive.len()
        ));
    }
    let member = archive
        .by_name(name)
        .map_err(|e| format!("no {name} in the document: {e}"))?;
    let (packed, declared) = (member.compressed_size().max(1), member.size());
    if declared / packed > RATIO_MAX {
        return Err(format!(
            "{name} expands {}-fold, more than the {RATIO_MAX} accepted (a zip bomb?)",
            declared / packed
        ));
    }
    let mut out = Vec::new();
    member
        .take(MEMBER_MAX + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("reading {name}: {e}"))?;
    if out.len() as u64 > MEMBER_MAX {
        return Err(format!("{name} is larger than {MEMBER_MAX} bytes"));
    }
    String::from_utf8(out).map_err(|_| format!("{name} is not UTF-8"))
}

/// The office format of a zip, by its members: what the first bytes alone
/// (which media type sniffing sees) do not always tell.
pub fn office_media_type(bytes: &[u8]) -> Option<&'static str> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    if archive.len() > ENTRIES_MAX {
        return None;
    }
    let has = |name: &str| archive.index_for_name(name).is_some();
    if has("word/document.xml") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if has("xl/workbook.xml") {
        Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    } else if has("content.xml") && has("mimetype") {
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        let mut declared = String::new();
        archive
            .by_name("mimetype")
            .ok()?
            .take(200)
            .read_to_string(&mut declared)
            .ok()?;
        match declared.trim() {
            "application/vnd.oasis.opendocument.text" => Some("application/vnd.oasis.opendocument.text"),
            "application/vnd.oasis.opendocument.spreadsheet" => Some("application/vnd.oasis.opendocument.spreadsheet"),
            _ => None,
        }
    } else {
        None
    }
}
