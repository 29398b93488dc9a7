//! Capture channels: where documents come from besides the API. Each
//! channel is configured in the capture file (`serve --capture FILE`), acts
//! in the name of one account, fills the defaults it is given (node,
//! service, type), and is journaled with every deposit it makes
//! (`record.ingested`'s `channel`). An adapter over the archive service,
//! like the HTTP API: it decides nothing the archive does not.
//!
//! For now one kind: watched folders (`folders.rs`).

pub mod folders;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The capture file (`--capture FILE`), as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureFile {
    #[serde(default)]
    folders: Vec<FolderFile>,
}

/// A `[[folders]]` table.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderFile {
    name: String,
    path: PathBuf,
    depositor: String,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(rename = "type", default)]
    document_type: Option<String>,
    #[serde(default = "default_settle")]
    settle: String,
    #[serde(default = "default_poll")]
    poll: String,
    #[serde(default = "default_workers")]
    workers: usize,
    #[serde(default)]
    unpack_zip: bool,
    #[serde(default)]
    subfolders: std::collections::BTreeMap<String, String>,
}

fn default_settle() -> String {
    "2s".into()
}
fn default_poll() -> String {
    "2s".into()
}
/// Deposits wait on the disk more than on the processor: several at once
/// share its flushes.
fn default_workers() -> usize {
    8
}

/// A watched folder, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderChannel {
    /// The channel's name, journaled with each deposit (`dossier:<name>`).
    pub name: String,
    /// The folder watched; `done/` and `failed/` are made inside it.
    pub path: PathBuf,
    /// The account deposits are made in the name of.
    pub depositor: String,
    /// The node of what has none from a sub-folder (none: the plan's
    /// classification rules choose).
    pub node: Option<String>,
    /// The producing service given to each deposit.
    pub service: Option<String>,
    /// The document type given to each deposit.
    pub document_type: Option<String>,
    /// How long a file's size and time must stay the same before it is
    /// taken.
    pub settle: Duration,
    /// How often the folder is looked at.
    pub poll: Duration,
    /// How many files are deposited at once (1 to 64).
    pub workers: usize,
    /// A `.zip` dropped here is a batch (e-invoices exported from Chorus
    /// Pro): each file in it is deposited, not the zip itself.
    pub unpack_zip: bool,
    /// Sub-folder name → node: a file dropped in `factures/` goes to the
    /// node it names.
    pub subfolders: std::collections::BTreeMap<String, String>,
}

impl FolderChannel {
    /// The channel as the journal names it.
    pub fn journal_name(&self) -> String {
        format!("dossier:{}", self.name)
    }
}

/// A problem with the capture file, said with the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("capture: {0}")]
pub struct CaptureFileError(pub String);

/// Reads and checks the capture file at `path`; relative folder paths are
/// read from the file's folder.
pub fn read_capture_file(path: &Path) -> Result<Vec<FolderChannel>, CaptureFileError> {
    let problem = |p: String| CaptureFileError(format!("{}: {p}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    let file: CaptureFile = toml_edit::de::from_str(&text).map_err(|e| problem(e.to_string()))?;
    let beside = path.parent().unwrap_or(Path::new("."));
    let mut channels: Vec<FolderChannel> = Vec::new();
    for (i, f) in file.folders.into_iter().enumerate() {
        let at = |key: &str, p: String| problem(format!("folders[{i}].{key}: {p}"));
        let name = f.name.trim().to_owned();
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(at(
                "name",
                format!("{:?}: a name of letters without accents, digits, '-' or '_'", f.name),
            ));
        }
        if channels.iter().any(|c| c.name == name) {
            return Err(at("name", format!("{name:?} names two folders")));
        }
        let duration = |key: &str, text: &str| {
            crate::domain::clock::parse_duration(text)
                .ok()
                .filter(|d| *d <= Duration::from_secs(3600))
                .ok_or_else(|| at(key, format!("{text:?}: a duration such as 2s, 500ms or 1m")))
        };
        let folder = beside.join(&f.path);
        if channels.iter().any(|c| c.path == folder) {
            return Err(at("path", format!("{} is watched twice", folder.display())));
        }
        for sub in f.subfolders.keys() {
            if sub.is_empty() || sub.contains(['/', '\\']) || sub.starts_with('.') || RESERVED.contains(&sub.as_str()) {
                return Err(at("subfolders", format!("{sub:?} is not a sub-folder name it may use")));
            }
        }
        if !(1..=64).contains(&f.workers) {
            return Err(at("workers", format!("{}: from 1 to 64 files at once", f.workers)));
        }
        channels.push(FolderChannel {
            name,
            path: folder,
            depositor: f.depositor,
            node: f.node.filter(|n| !n.trim().is_empty()),
            service: f.service,
            document_type: f.document_type,
            settle: duration("settle", &f.settle)?,
            poll: duration("poll", &f.poll)?,
            workers: f.workers,
            unpack_zip: f.unpack_zip,
            subfolders: f.subfolders,
        });
    }
    Ok(channels)
}

/// Names inside a watched folder that coffre keeps for itself.
pub const RESERVED: &[&str] = &["done", "failed"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_capture_file_reads_and_mistakes_are_named() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/capture.example.toml");
        let channels = read_capture_file(&file).expect("reads");
        assert_eq!(channels[0].name, "scanner-accueil");
        assert_eq!(channels[0].settle, Duration::from_secs(2));
        assert_eq!(channels[0].workers, 8);
        assert_eq!(
            channels[0].subfolders.get("factures").map(String::as_str),
            Some("FIN-FAC")
        );
        assert!(channels[0].path.is_absolute() || channels[0].path.starts_with(file.parent().unwrap()));

        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "[[folders]]\nname = \"à\"\npath = \"x\"\ndepositor = \"scan\"\n",
                "folders[0].name",
            ),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\nsettle = \"deux\"\n",
                "folders[0].settle",
            ),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\n[folders.subfolders]\ndone = \"FIN-FAC\"\n",
                "folders[0].subfolders",
            ),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\n[[folders]]\nname = \"a\"\npath = \"y\"\ndepositor = \"scan\"\n",
                "folders[1].name",
            ),
            ("[[folders]]\nname = \"a\"\npath = \"x\"\n", "depositor"),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\nworkers = 0\n",
                "folders[0].workers",
            ),
        ];
        for (text, said) in cases {
            let path = dir.path().join("capture.toml");
            std::fs::write(&path, text).unwrap();
            let e = read_capture_file(&path).expect_err(text);
            assert!(e.to_string().contains(said), "{text}: {e}");
        }
        assert_eq!(
            crate::domain::clock::parse_duration("500ms"),
            Ok(Duration::from_millis(500))
        );
    }
}
