//! The data directory: where each store lives, the marker that says an
//! archive was created there, and the lock that keeps two processes from
//! writing it at once.
//!
//! ```text
//! coffre.json   marker: layout format (see `DATA_FORMAT`), creation time
//! LOCK          held (flock) by the process that has the archive open
//! blobs/        content-addressed blob store
//! journal/      the event log (the truth)
//! catalog/      fjall catalog (a view; deletable)
//! index/        tantivy full-text index (a view; deletable)
//! merkle/       the journal's Merkle tree, level by level (a view; deletable)
//! keys/         the seal key's secret (mode 0600; back it up with the archive),
//!               people's password hashes, the running server's operator token
//! server.json   where the running server listens (the command line goes
//!               through it); removed when it stops
//! ```

use super::ArchiveError;
use chrono::{DateTime, Utc};
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The data directory's layout, as the marker states it: 1, every
/// content a file of its own under `blobs/sha256/`; 2, contents of at most
/// 64 KiB appended to packs (`blobs/packs/`), which a version of coffre
/// that knows only 1 would not find. This version reads both and writes 2.
pub const DATA_FORMAT: u32 = 2;

const MARKER: &str = "coffre.json";

/// How long taking the lock waits for a moment's holder (a child process
/// still starting; see `lock`) before saying the directory is in use.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

/// Where a running server says where it listens.
const ANNOUNCEMENT: &str = "server.json";

/// The folder of scratch work that does not fit in memory (a full check's
/// catalog): nothing in it outlives the process that made it.
const SCRATCH: &str = ".scratch";

/// The token a running server gives whoever can read the data directory's
/// keys (its owner), so that the command line goes through the server.
const OPERATOR_TOKEN: &str = "operator.token";

/// What a running server says of itself to the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Its base URL, `http://127.0.0.1:8080`.
    pub url: String,
    /// The operator token, when this process may read it.
    pub operator_token: Option<String>,
}

/// A data directory, and this process's lock on it once taken.
#[derive(Debug, Clone)]
pub struct DataDir {
    path: PathBuf,
    lock: Arc<Mutex<Option<File>>>,
}

impl DataDir {
    /// A data directory at `path` (nothing is touched yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        DataDir {
            path: path.into(),
            lock: Arc::new(Mutex::new(None)),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether an archive was created here.
    pub fn is_initialised(&self) -> bool {
        self.path.join(MARKER).is_file()
    }

    /// Where blobs live.
    pub fn blobs_path(&self) -> PathBuf {
        self.path.join("blobs")
    }

    /// Where the journal lives.
    pub fn journal_path(&self) -> PathBuf {
        self.path.join("journal")
    }

    /// Where the catalog lives.
    pub fn catalog_path(&self) -> PathBuf {
        self.path.join("catalog")
    }

    /// Where the full-text index lives.
    pub fn index_path(&self) -> PathBuf {
        self.path.join("index")
    }

    /// Where the journal's Merkle tree lives (a view).
    pub fn merkle_path(&self) -> PathBuf {
        self.path.join("merkle")
    }

    /// Where the seal key lives (owner-readable only).
    pub fn keys_path(&self) -> PathBuf {
        self.path.join("keys")
    }

    /// Where password hashes live (owner-readable only, beside the seal
    /// key; not a view of the journal).
    pub fn credentials_path(&self) -> PathBuf {
        self.keys_path().join("credentials.json")
    }

    /// Creates the folder.
    pub(super) fn create(&self) -> Result<(), ArchiveError> {
        use std::os::unix::fs::PermissionsExt;
        let new = !self.path.exists();
        fs::create_dir_all(&self.path)?;
        if new {
            // Closed to others from the start, whatever the umask.
            fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700))?;
        }
        self.keep_private()
    }

    /// Keeps the directory closed to other local accounts: it holds every
    /// archived document (pay slips, personnel files) whatever the umask.
    /// A directory others could enter (an older archive, a copy) is closed
    /// again (0700), and the operator told; one the owner opened to their
    /// group only (0750) stays so.
    fn keep_private(&self) -> Result<(), ArchiveError> {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&self.path)?.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            match fs::set_permissions(&self.path, fs::Permissions::from_mode(0o700)) {
                Ok(()) => tracing::warn!(
                    path = %self.path.display(),
                    was = format!("{mode:o}"),
                    "the data directory was open to every local account; closed to them (700)"
                ),
                Err(e) => tracing::warn!(
                    path = %self.path.display(),
                    was = format!("{mode:o}"),
                    error = %e,
                    "the data directory is open to every local account and could not be closed; run chmod 700 on it"
                ),
            }
        }
        Ok(())
    }

    /// Takes the directory's lock for this process (once; later calls are
    /// no-ops). Fails with `Busy` if another process holds it.
    pub fn lock(&self) -> Result<(), ArchiveError> {
        let mut held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if held.is_some() {
            return Ok(());
        }
        if !self.path.is_dir() {
            return Err(ArchiveError::NotInitialised(self.path.clone()));
        }
        self.keep_private()?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.join("LOCK"))?;
        // An archive of this process just closed may hold it a moment longer
        // (see `store::open_when_released`); another process holds it for
        // as long as it runs, and is named once the wait is spent.
        let locked =
            crate::store::open_when_released(|| file.try_lock(), |e| matches!(e, TryLockError::WouldBlock), LOCK_WAIT);
        match locked {
            Ok(()) => {
                *held = Some(file);
                // Whoever made them died before removing them: this
                // process alone holds the directory now.
                let scratch = self.path.join(SCRATCH);
                if scratch.exists()
                    && let Err(e) = fs::remove_dir_all(&scratch)
                {
                    tracing::warn!(path = %scratch.display(), error = %e, "scratch folders left by a stopped process could not be removed");
                }
                Ok(())
            }
            Err(TryLockError::WouldBlock) => Err(ArchiveError::Busy(self.path.clone())),
            Err(TryLockError::Error(e)) => Err(e.into()),
        }
    }

    /// A new scratch folder for work on files (a check's catalog, a PDF
    /// handed to a tool), named after `prefix`: removed when dropped, and
    /// with any other left over when the directory is next locked.
    pub fn scratch_folder(&self, prefix: &str) -> std::io::Result<tempfile::TempDir> {
        tempfile::Builder::new().prefix(prefix).tempdir_in(self.scratch()?)
    }

    /// The folder of scratch work, made if need be: files a request
    /// writes there (an upload to check) go with the process at the
    /// latest.
    pub fn scratch(&self) -> std::io::Result<PathBuf> {
        let scratch = self.path.join(SCRATCH);
        fs::create_dir_all(&scratch)?;
        Ok(scratch)
    }

    /// Says where the server holding this directory listens, and leaves it
    /// an operator token readable by the directory's owner only. Written
    /// whole (a new file renamed over), so a reader sees all or nothing.
    pub fn announce(&self, url: &str, operator_token: &str) -> Result<(), ArchiveError> {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let keys = self.keys_path();
        fs::create_dir_all(&keys)?;
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o700))?;
        let staged = keys.join(format!("{OPERATOR_TOKEN}.new"));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&staged)?;
        file.write_all(operator_token.as_bytes())?;
        file.sync_all()?;
        fs::rename(&staged, keys.join(OPERATOR_TOKEN))?;
        let body = serde_json::json!({"url": url, "pid": std::process::id()});
        let temp = self.path.join(format!("{ANNOUNCEMENT}.tmp"));
        fs::write(&temp, body.to_string())?;
        fs::rename(&temp, self.path.join(ANNOUNCEMENT))?;
        Ok(())
    }

    /// Takes the announcement back (the server stops).
    pub fn withdraw(&self) {
        for path in [self.path.join(ANNOUNCEMENT), self.keys_path().join(OPERATOR_TOKEN)] {
            if let Err(e) = fs::remove_file(&path)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(path = %path.display(), error = %e, "could not remove the server's announcement");
            }
        }
    }

    /// What the server holding this directory announced, if a server holds
    /// it (a stale announcement, left by a server killed, is ignored: the
    /// directory's lock says whether a process holds it).
    pub fn announced(&self) -> Option<Announcement> {
        let text = fs::read_to_string(self.path.join(ANNOUNCEMENT)).ok()?;
        let url = serde_json::from_str::<serde_json::Value>(&text).ok()?["url"]
            .as_str()?
            .to_owned();
        if !self.held_elsewhere() {
            return None;
        }
        let operator_token = fs::read_to_string(self.keys_path().join(OPERATOR_TOKEN))
            .ok()
            .map(|t| t.trim().to_owned());
        Some(Announcement { url, operator_token })
    }

    /// Whether another process holds the directory's lock now (without
    /// keeping it if not).
    fn held_elsewhere(&self) -> bool {
        if self.lock.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
            return false;
        }
        let Ok(file) = OpenOptions::new().write(true).open(self.path.join("LOCK")) else {
            return false;
        };
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                false
            }
            Err(TryLockError::WouldBlock) => true,
            Err(TryLockError::Error(_)) => false,
        }
    }

    /// Writes the marker, durably: the archive exists from then on.
    pub(super) fn mark_initialised(&self, at: DateTime<Utc>) -> Result<(), ArchiveError> {
        let body = serde_json::json!({"format": DATA_FORMAT, "created": at.to_rfc3339()});
        self.write_marker(&body)
    }

    /// The marker's fields: its layout's format and the rest as written.
    fn marker(&self) -> Result<(u32, serde_json::Map<String, serde_json::Value>), ArchiveError> {
        let path = self.path.join(MARKER);
        let unreadable = |why: String| ArchiveError::MarkerUnreadable {
            path: path.clone(),
            reason: why,
        };
        let bytes = fs::read(&path).map_err(|e| unreadable(e.to_string()))?;
        let fields: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(&bytes).map_err(|e| unreadable(format!("JSON illisible : {e}")))?;
        let format = fields
            .get("format")
            .and_then(serde_json::Value::as_u64)
            .and_then(|f| u32::try_from(f).ok())
            .ok_or_else(|| unreadable("le champ « format » manque ou n'est pas un entier".into()))?;
        Ok((format, fields))
    }

    /// Checks that this version of coffre knows the layout the marker
    /// states, before anything is read or written: a newer one is refused,
    /// whole, rather than half read (contents it would not find). With
    /// `writing`, an older layout is marked as this version's first, since
    /// it writes this version's layout from then on (and a version knowing
    /// only the older one then refuses it instead of missing contents).
    pub fn check_format(&self, writing: bool) -> Result<(), ArchiveError> {
        let (format, mut fields) = self.marker()?;
        if format > DATA_FORMAT {
            return Err(ArchiveError::FormatTooNew {
                path: self.path.clone(),
                found: format,
                known: DATA_FORMAT,
            });
        }
        if format < DATA_FORMAT && writing {
            fields.insert("format".into(), DATA_FORMAT.into());
            self.write_marker(&serde_json::Value::Object(fields))?;
            tracing::info!(
                from = format,
                to = DATA_FORMAT,
                "data directory marked with this version's layout"
            );
        }
        Ok(())
    }

    /// Replaces the marker, durably.
    fn write_marker(&self, body: &serde_json::Value) -> Result<(), ArchiveError> {
        let temp = self.path.join(format!("{MARKER}.tmp"));
        let mut file = File::create(&temp)?;
        file.write_all(body.to_string().as_bytes())?;
        file.sync_all()?;
        fs::rename(&temp, self.path.join(MARKER))?;
        File::open(&self.path)?.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn marked(format: u64) -> (tempfile::TempDir, DataDir) {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let dir = DataDir::new(tmp.path());
        let body = serde_json::json!({"format": format, "created": "2019-03-15T10:00:00+00:00"});
        fs::write(tmp.path().join(MARKER), body.to_string()).expect("the marker");
        (tmp, dir)
    }

    #[test]
    fn a_newer_layout_is_refused_and_left_as_it_is() {
        let (tmp, dir) = marked(u64::from(DATA_FORMAT) + 1);
        for writing in [false, true] {
            match dir.check_format(writing) {
                Err(ArchiveError::FormatTooNew { found, known, .. }) => {
                    assert_eq!((found, known), (DATA_FORMAT + 1, DATA_FORMAT));
                }
                other => panic!("a newer layout must be refused, got {other:?}"),
            }
        }
        let message = dir.check_format(false).expect_err("refused").to_string();
        assert!(message.contains("plus récent"), "{message}");
        let kept: serde_json::Value =
            serde_json::from_slice(&fs::read(tmp.path().join(MARKER)).expect("marker")).expect("the marker still JSON");
        assert_eq!(kept["format"], u64::from(DATA_FORMAT) + 1);
    }

    #[test]
    fn an_older_layout_is_marked_as_this_versions_only_when_written() {
        let (tmp, dir) = marked(1);
        dir.check_format(false).expect("read as it is");
        let read = |tmp: &tempfile::TempDir| -> serde_json::Value {
            serde_json::from_slice(&fs::read(tmp.path().join(MARKER)).expect("marker")).expect("JSON")
        };
        assert_eq!(read(&tmp)["format"], 1);
        dir.check_format(true).expect("opened to write");
        let marker = read(&tmp);
        assert_eq!(marker["format"], u64::from(DATA_FORMAT));
        assert_eq!(
            marker["created"], "2019-03-15T10:00:00+00:00",
            "the rest of the marker kept"
        );
        dir.check_format(true).expect("this version's own layout");
    }

    #[test]
    fn a_marker_without_a_format_is_refused_with_why() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let dir = DataDir::new(tmp.path());
        fs::write(tmp.path().join(MARKER), b"{\"created\": 1}").expect("marker");
        let refused = dir.check_format(false).expect_err("no format");
        assert!(matches!(refused, ArchiveError::MarkerUnreadable { .. }), "{refused:?}");
        fs::write(tmp.path().join(MARKER), b"\x00\x00").expect("marker");
        assert!(
            dir.check_format(true)
                .expect_err("not JSON")
                .to_string()
                .contains("coffre.json")
        );
    }

    #[test]
    fn a_lock_released_a_moment_later_is_taken() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let first = DataDir::new(tmp.path());
        first.lock().expect("the first lock");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(first);
        });
        let second = DataDir::new(tmp.path()).lock();
        releaser.join().expect("the releasing thread");
        assert!(second.is_ok(), "{:?}", second.err());
    }

    #[test]
    fn a_lock_held_on_is_reported_busy_after_the_wait() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let first = DataDir::new(tmp.path());
        first.lock().expect("the first lock");
        let started = Instant::now();
        let second = DataDir::new(tmp.path()).lock();
        assert!(matches!(second, Err(ArchiveError::Busy(_))), "{second:?}");
        assert!(started.elapsed() >= LOCK_WAIT);
        // The holder keeps it: taking it again in the same handle is a no-op.
        first.lock().expect("held already");
    }

    #[test]
    fn the_data_directory_is_closed_to_other_accounts_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        // Created under umask 022, as a service would create it.
        let fresh = DataDir::new(tmp.path().join("neuf"));
        fresh.create().expect("created");
        assert_eq!(mode(fresh.path()), 0o700);
        // An older archive left open to all is closed when opened.
        let old = tmp.path().join("ancien");
        fs::create_dir(&old).expect("a folder");
        fs::set_permissions(&old, fs::Permissions::from_mode(0o755)).expect("chmod");
        DataDir::new(&old).lock().expect("locked");
        assert_eq!(mode(&old), 0o700);
        // One the owner opened to their group only stays so.
        let shared = tmp.path().join("groupe");
        fs::create_dir(&shared).expect("a folder");
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o750)).expect("chmod");
        DataDir::new(&shared).lock().expect("locked");
        assert_eq!(mode(&shared), 0o750);
    }
}
