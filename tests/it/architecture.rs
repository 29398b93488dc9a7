//! The architecture's invariants, checked on the sources.

use std::path::{Path, PathBuf};

fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// Whether `text` uses the crate `krate` (a path starting with its name).
fn names(text: &str, krate: &str) -> bool {
    let pattern = format!("{krate}::");
    text.match_indices(&pattern).any(|(at, _)| {
        !text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

#[test]
fn layers_name_only_what_they_may() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for file in sources(&root) {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        if rel.starts_with("domain/") {
            for krate in ["actix_web", "actix_multipart", "sled", "tantivy", "tokio"] {
                assert!(!names(&text, krate), "{rel} names {krate}: the domain is pure");
            }
        }
        if !rel.starts_with("store/") {
            for krate in ["sled", "tantivy"] {
                assert!(!names(&text, krate), "{rel} names {krate}: only store/ may");
            }
        }
        if !rel.starts_with("http/") {
            for krate in ["actix_web", "actix_multipart"] {
                assert!(!names(&text, krate), "{rel} names {krate}: only http/ may");
            }
        }
        // Nothing but an executed disposal deletes a blob, and nothing
        // rewrites a journal segment: file removal and truncation happen
        // only in the places listed, each for a stated reason.
        let may_remove = [
            "store/blob_fs.rs",       // staged uploads never acknowledged
            "archive/mod.rs",         // `rebuild` deletes the catalog folder (a view)
            "cli/records.rs",         // `get -o` removes its own partial output
            "cli/package.rs",         // `export -o` removes its own partial output
            "store/index_tantivy.rs", // an index of an older format (a view), before its rebuild
        ];
        if text.contains("remove_file") || text.contains("remove_dir") {
            assert!(may_remove.contains(&rel.as_str()), "{rel} removes files");
        }
        // Blobs are erased by an executed disposal, and nothing else.
        if text.contains(".erase(") {
            assert_eq!(rel, "archive/disposals.rs", "{rel} erases blobs");
        }
        // The journal's recovery cuts a torn tail; the Merkle tree (a view)
        // cuts what goes past the journal.
        // Nothing is ever extracted from a package: its entries are read
        // from the zip, never written out as files.
        if rel.starts_with("package/") || rel == "archive/imports.rs" {
            for writing in ["File::create", "fs::write", "create_dir", "OpenOptions", "extract("] {
                assert!(
                    !text.contains(writing),
                    "{rel} writes files ({writing}): packages are read in place"
                );
            }
        }
        if text.contains(".set_len(") {
            assert!(
                ["store/journal.rs", "store/merkle_files.rs"].contains(&rel.as_str()),
                "{rel} truncates files"
            );
        }
    }
}
