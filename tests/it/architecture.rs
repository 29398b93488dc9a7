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
            for krate in ["actix_web", "actix_multipart", "fjall", "tantivy", "tokio"] {
                assert!(!names(&text, krate), "{rel} names {krate}: the domain is pure");
            }
        }
        if !rel.starts_with("store/") {
            for krate in ["fjall", "tantivy"] {
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
            "store/blob_packs.rs",    // its tests remove the packs' index, to see it made again
            "archive/mod.rs",         // `rebuild` deletes the catalog folder (a view)
            "cli/records.rs",         // `get -o` removes its own partial output
            "cli/package.rs",         // `export -o` removes its own partial output
            "store/index_tantivy.rs", // an index of an older format (a view), before its rebuild
            "store/catalog_fjall.rs", // a catalog of an older format (a view), before its rebuild
            "archive/data_dir.rs", // a stopping server withdraws its own announcement; a start, scratch work left by a dead process
        ];
        if text.contains("remove_file") || text.contains("remove_dir") {
            assert!(may_remove.contains(&rel.as_str()), "{rel} removes files");
        }
        // Blobs are erased by an executed disposal, and nothing else (the
        // ports' contract suite, compiled for tests only, checks `erase`).
        if text.contains(".erase(") || text.contains(".erase_all(") {
            assert!(
                // The test adapter that fails writes hands the rest on; the
                // store with copies erases a disposal's blob on every copy.
                [
                    "archive/disposition.rs",
                    "store/contract.rs",
                    "store/faulty.rs",
                    "store/blob_copies.rs",
                    // The port's many-at-once default erases one by one.
                    "store/mod.rs",
                    // A replica erases what its primary's disposal erased.
                    "archive/follow.rs",
                    // Tests (compiled for tests only) of the walk over the
                    // blobs in use lose a blob from an in-memory store.
                    "archive/in_use_tests.rs",
                    // Its tests (compiled for tests only) erase packed
                    // blobs and files, to see their bytes gone.
                    "store/blob_fs.rs",
                ]
                .contains(&rel.as_str()),
                "{rel} erases blobs"
            );
        }
        // The journal's recovery cuts a torn tail; the Merkle tree (a view)
        // cuts what goes past the journal; a journal's copy cuts what its
        // original's recovery cut; the packs' index drops an entry a crash
        // cut short (never acknowledged).
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
        // One composition point chooses the adapters.
        if !rel.starts_with("store/") && rel != "archive/stores.rs" {
            for adapter in [
                "store::blob_fs",
                "store::bucket",
                "store::catalog_fjall",
                "store::index_tantivy",
                "store::memory",
                "store::merkle_files",
                "FileJournal",
                "HttpTimeStamper",
            ] {
                assert!(
                    !text.contains(adapter),
                    "{rel} names the adapter {adapter}: adapters are chosen in archive/stores.rs"
                );
            }
        }
        if text.contains(".set_len(") {
            assert!(
                [
                    "store/journal.rs",
                    "store/merkle_files.rs",
                    "store/mirror.rs",
                    "store/blob_packs.rs"
                ]
                .contains(&rel.as_str()),
                "{rel} truncates files"
            );
        }
    }
}

/// The top-level module a source file belongs to (`http` for
/// `http/records.rs`, `wire` for `wire.rs` or `wire/records.rs`).
fn module_of(rel: &str) -> &str {
    let first = rel.split('/').next().unwrap_or(rel);
    first.strip_suffix(".rs").unwrap_or(first)
}

/// The modules each module may name with `crate::`, as ARCHITECTURE.md's
/// dependency arrow draws them (a module may always name itself).
fn may_import(module: &str) -> &'static [&'static str] {
    match module {
        "domain" | "errors" => &[],
        "store" | "extract" | "policies" | "package" | "french" => &["domain"],
        // The fuzzers' way in to every parser of outside input.
        "fuzzing" => &["domain", "extract", "policies", "package"],
        "archive" => &["domain", "store", "extract", "policies", "package", "errors", "french"],
        "config" => &["domain", "extract", "archive", "capture", "notify"],
        // An adapter over the archive service, like `http` and `cli`.
        "capture" => &["domain", "archive", "errors"],
        // Mail to people: an adapter over the archive service, whose words
        // are the papers'.
        "notify" => &["domain", "archive", "errors", "documents"],
        "jobs" => &["domain", "archive", "config"],
        "wire" => &["domain", "archive", "jobs", "french"],
        "documents" => &["domain", "archive", "french"],
        "http" => &[
            "domain",
            "archive",
            "capture",
            "notify",
            "config",
            "jobs",
            "wire",
            "documents",
            "policies",
            "errors",
            "french",
        ],
        "cli" => &[
            "domain",
            "archive",
            "capture",
            "notify",
            "config",
            "jobs",
            "wire",
            "documents",
            "policies",
            "package",
            "errors",
            "http",
            "french",
        ],
        "lib" | "main" => &["*"],
        _ => &[],
    }
}

/// The `crate::` paths of `text` that `module` may not take, as
/// `crate::<module>`.
fn forbidden_imports(module: &str, text: &str) -> Vec<String> {
    let allowed = may_import(module);
    if allowed.contains(&"*") {
        return Vec::new();
    }
    let mut named = Vec::new();
    for (at, _) in text.match_indices("crate::") {
        if text[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
        {
            continue;
        }
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            named.extend(
                group
                    .split(',')
                    .map(|item| item.trim().split("::").next().unwrap_or("").to_owned()),
            );
        } else {
            named.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>(),
            );
        }
    }
    named
        .into_iter()
        .filter(|m| !m.is_empty() && m != module && !allowed.contains(&m.as_str()))
        .map(|m| format!("crate::{m}"))
        .collect()
}

#[test]
fn modules_import_only_along_the_dependency_arrow() {
    // The check itself, on what it must refuse: the HTTP layer taking a
    // store type (as `http/records.rs` once took `StagedBlob`), the
    // domain reaching up, and a grouped import hiding one.
    assert_eq!(
        forbidden_imports("http", "use crate::store::StagedBlob;"),
        ["crate::store"]
    );
    assert_eq!(
        forbidden_imports("cli", "use crate::{archive::Actor, store::journal::read_events};"),
        ["crate::store"]
    );
    assert_eq!(
        forbidden_imports("domain", "x: crate::archive::Archive"),
        ["crate::archive"]
    );
    assert_eq!(
        forbidden_imports("archive", "use crate::config::FixitySchedule;"),
        ["crate::config"]
    );
    assert!(forbidden_imports("http", "use crate::archive::Archive; use crate::wire::RecordDto;").is_empty());

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for file in sources(&root) {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).unwrap();
        for import in forbidden_imports(module_of(&rel), &text) {
            problems.push(format!("{rel} names {import}"));
        }
    }
    problems.sort();
    problems.dedup();
    assert!(
        problems.is_empty(),
        "imports against the arrow:\n{}",
        problems.join("\n")
    );
}

/// HTTP statuses that say something went wrong.
const ERROR_STATUSES: &[&str] = &[
    "BAD_REQUEST",
    "UNAUTHORIZED",
    "FORBIDDEN",
    "NOT_FOUND",
    "CONFLICT",
    "GONE",
    "PAYLOAD_TOO_LARGE",
    "UNPROCESSABLE_ENTITY",
    "REQUEST_TIMEOUT",
    "RANGE_NOT_SATISFIABLE",
    "INTERNAL_SERVER_ERROR",
    "SERVICE_UNAVAILABLE",
    "INSUFFICIENT_STORAGE",
    "METHOD_NOT_ALLOWED",
    "TOO_MANY_REQUESTS",
];

/// Where `text` writes an error status or an exit number by hand.
fn hand_written_codes(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for status in ERROR_STATUSES {
        if text.contains(&format!("StatusCode::{status}")) {
            found.push(format!("StatusCode::{status}"));
        }
        let builder: String = status
            .split('_')
            .map(|w| w[..1].to_owned() + &w[1..].to_ascii_lowercase())
            .collect();
        if text.contains(&format!("HttpResponse::{builder}(")) {
            found.push(format!("HttpResponse::{builder}()"));
        }
    }
    for (at, _) in text.match_indices("Failure::new(") {
        if text[at + "Failure::new(".len()..]
            .trim_start()
            .starts_with(|c: char| c.is_ascii_digit())
        {
            found.push("Failure::new(<number>".into());
        }
    }
    for exit in ["ExitCode::from(", "process::exit("] {
        for (at, _) in text.match_indices(exit) {
            if text[at + exit.len()..]
                .trim_start()
                .starts_with(|c: char| c.is_ascii_digit())
            {
                found.push(format!("{exit}<number>"));
            }
        }
    }
    found
}

#[test]
fn statuses_and_exit_codes_come_from_the_one_error_table() {
    assert_eq!(
        hand_written_codes("ApiError::new(StatusCode::CONFLICT, \"x\", m)"),
        ["StatusCode::CONFLICT"]
    );
    assert_eq!(
        hand_written_codes("Err(Failure::new(\n 4, m))"),
        ["Failure::new(<number>"]
    );
    assert_eq!(
        hand_written_codes("HttpResponse::Gone().json(x)"),
        ["HttpResponse::Gone()"]
    );
    assert!(hand_written_codes("Failure::new(Code::DisposalState, m); HttpResponse::Ok()").is_empty());

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let table = ["errors.rs", "http/error.rs"];
    for file in sources(&root) {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if table.contains(&rel.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let found = hand_written_codes(&text);
        assert!(
            found.is_empty(),
            "{rel} writes {found:?}: add a row to src/errors.rs instead"
        );
    }
}

#[test]
fn ports_and_the_projection_have_typed_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let string_error = regex::Regex::new(r"Result<[^;{]*,\s*String>").unwrap();
    assert!(string_error.is_match("fn on_durable(&self, e: &Event) -> Result<(), String>;"));
    for file in sources(&root) {
        let rel = file.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
        if rel.starts_with("store/") || rel == "archive/projection.rs" {
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(
                !string_error.is_match(&text),
                "{rel} returns Result<_, String>: give the error a type"
            );
        }
    }
}
