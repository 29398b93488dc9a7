//! The whole archive on every copy folder: besides the blobs (written
//! before a deposit is acknowledged, `store::blob_copies`), the journal's
//! segments, the keys folder and the marker follow on each copy
//! (`store::mirror`), so that one copy alone rebuilds the archive (`coffre
//! restore --from`).
//!
//! The journal follows within moments rather than before each
//! acknowledgement: the server's mirror thread brings each copy up as soon
//! as the journal has grown (and every minute), and the archive brings
//! them up once more when it closes. What a copy lacks is in the journal
//! on the first disk meanwhile; the lag (events not yet on a copy) and any
//! copy that cannot be written are shown in `/stats` and `/metrics`. A
//! read-only archive (its journal damaged) copies nothing, so that a good
//! copy is never made like a damaged original.

use super::{Archive, ArchiveError};
use crate::store::mirror::ArchiveCopy;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a copy of the whole archive is kept: a folder (another disk, a
/// network mount) or an S3-compatible bucket (`s3://bucket/prefix`,
/// reached with the `AWS_*` settings of the environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyPlace {
    /// A folder.
    Folder(PathBuf),
    /// A bucket's address, `s3://bucket/prefix`.
    Bucket(String),
}

/// How a bucket's address begins.
pub const BUCKET_SCHEME: &str = "s3://";

impl CopyPlace {
    /// The place an operator wrote: an `s3://` address or a folder.
    pub fn parse(text: &str) -> Self {
        if text.starts_with(BUCKET_SCHEME) {
            CopyPlace::Bucket(text.trim_end_matches('/').to_owned())
        } else {
            CopyPlace::Folder(PathBuf::from(text))
        }
    }
}

impl std::str::FromStr for CopyPlace {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(CopyPlace::parse(text))
    }
}

impl std::fmt::Display for CopyPlace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CopyPlace::Folder(path) => write!(f, "{}", path.display()),
            CopyPlace::Bucket(address) => f.write_str(address),
        }
    }
}

/// How often a copy is brought up even if the journal has not grown (a
/// password changed, a copy folder emptied by hand).
const AT_LEAST_EVERY: Duration = Duration::from_secs(60);

/// How one copy folder stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyStatus {
    /// The copy folder.
    pub store: String,
    /// The last journal event the copy holds for sure.
    pub journal_through_seq: u64,
    /// Events of the journal the copy may lack yet.
    pub lag_events: u64,
    /// When it was last brought up.
    pub last_copied_at: Option<DateTime<Utc>>,
    /// Why it could not be brought up, when it could not.
    pub error: Option<String>,
    /// Whether it was checked to hold every content in use since the
    /// server started (a copy folder added to an archive that holds
    /// records already is given them in the background).
    pub contents_complete: bool,
    /// Contents committed while it could not take them (a node whose
    /// plan asks for fewer copies than there are stores), written as soon
    /// as it can.
    pub contents_owed: u64,
}

struct Follower {
    copy: Arc<dyn ArchiveCopy>,
    through_seq: u64,
    last_copied_at: Option<DateTime<Utc>>,
    last_try: Option<Instant>,
    error: Option<String>,
    contents_complete: bool,
}

/// The copy folders the archive's own files follow; and one pass at a
/// time over the contents the copy stores lack (the server's at start, a
/// repair), so that a content given is journaled once.
pub(super) struct Mirrors(Mutex<Vec<Follower>>, pub(super) Mutex<()>);

impl Mirrors {
    pub(super) fn new(copies: &[Arc<dyn ArchiveCopy>]) -> Self {
        Mirrors(
            Mutex::new(
                copies
                    .iter()
                    .map(|copy| Follower {
                        copy: Arc::clone(copy),
                        through_seq: 0,
                        last_copied_at: None,
                        last_try: None,
                        error: None,
                        contents_complete: false,
                    })
                    .collect(),
            ),
            Mutex::new(()),
        )
    }
}

impl Archive {
    /// Brings every copy folder up to the journal, the keys and the
    /// marker: those behind the journal's head, or all of them when
    /// `always`. Says whether every copy is up to date.
    pub fn copy_archive_files(&self, always: bool) -> bool {
        if self.read_only.is_some() {
            return false;
        }
        let (head, _) = self.journal.head();
        let mut followers = self.mirrors.0.lock().unwrap_or_else(|p| p.into_inner());
        let mut all = true;
        for follower in followers.iter_mut() {
            let due = always
                || follower.through_seq < head
                || follower.error.is_some()
                || follower.last_try.is_none_or(|at| at.elapsed() >= AT_LEAST_EVERY);
            if !due {
                continue;
            }
            follower.last_try = Some(Instant::now());
            match follower.copy.mirror(self.data_dir.path()) {
                Ok(done) => {
                    if follower.error.take().is_some() {
                        tracing::info!(copy = %follower.copy.name(), "the copy is written again");
                    }
                    if done.journal_bytes > 0 || done.files_written > 0 {
                        tracing::debug!(copy = %follower.copy.name(), bytes = done.journal_bytes, "journal copied");
                    }
                    follower.through_seq = head;
                    follower.last_copied_at = Some(self.clock.now());
                }
                Err(e) => {
                    let reason = format!("le journal n'a pu être copié dans {} : {e}", follower.copy.name());
                    if follower.error.as_deref() != Some(reason.as_str()) {
                        tracing::error!(copy = %follower.copy.name(), error = %e, "the archive's files could not be copied");
                    }
                    follower.error = Some(reason);
                    all = false;
                }
            }
        }
        all
    }

    /// The places each content is kept in: the data directory and each
    /// copy folder or bucket.
    pub fn copies_kept(&self) -> u64 {
        1 + self.mirrors.0.lock().unwrap_or_else(|p| p.into_inner()).len() as u64
    }

    /// How each copy folder stands (none: the archive keeps one copy).
    pub fn copy_status(&self) -> Vec<CopyStatus> {
        let (head, _) = self.journal.head();
        let owed = self.blobs.owed_copies();
        let followers = self.mirrors.0.lock().unwrap_or_else(|p| p.into_inner());
        followers
            .iter()
            .map(|f| CopyStatus {
                contents_owed: owed.get(&f.copy.name()).copied().unwrap_or(0),
                store: f.copy.name(),
                journal_through_seq: f.through_seq,
                lag_events: head.saturating_sub(f.through_seq),
                last_copied_at: f.last_copied_at,
                error: f.error.clone(),
                contents_complete: f.contents_complete,
            })
            .collect()
    }
}

impl Archive {
    /// Gives every copy folder the contents the archive holds that it lacks (a copy folder
    /// added to an archive that holds records already, a file removed from
    /// one), each checked as it is written and journaled (`copy.repaired`,
    /// missing); then every copy counts as complete. Returns how many
    /// contents were written. Contents that cannot be read are left to
    /// the repair pass and the fixity job.
    pub fn complete_copies(&self) -> Result<u64, ArchiveError> {
        if self.read_only.is_some() || self.blobs.copy_names().is_empty() {
            return Ok(0);
        }
        let _one_pass = self.mirrors.1.lock().unwrap_or_else(|p| p.into_inner());
        let mut written = 0u64;
        let mut stored = self.blobs.list()?;
        stored.sort_unstable();
        for blob in &stored {
            // Erased since the listing: nothing to give.
            if !self.blobs.contains(blob)? {
                continue;
            }
            match self.complete_copies_of(blob, &super::Actor::system()) {
                Ok(copies) => written += copies.len() as u64,
                Err(e) => tracing::error!(%blob, error = %e, "a content could not be given to a copy folder"),
            }
        }
        if written > 0 {
            tracing::info!(written, "the copy folders were given the contents they lacked");
        }
        let mut followers = self.mirrors.0.lock().unwrap_or_else(|p| p.into_inner());
        for follower in followers.iter_mut() {
            follower.contents_complete = true;
        }
        Ok(written)
    }
}

impl Archive {
    /// Writes the contents owed to copy folders that can take them now;
    /// says how many.
    pub fn pay_owed_copies(&self) -> u64 {
        self.blobs.pay_owed_copies()
    }
}

impl Drop for Archive {
    fn drop(&mut self) {
        // What this process journaled reaches every copy before it ends.
        if !self.options.copies.is_empty() {
            self.copy_archive_files(true);
        }
    }
}
