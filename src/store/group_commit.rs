//! Group commit for blobs on a file system: deposits that arrive together
//! share their flushes, as the journal's events already do.
//!
//! Installing a staged blob takes three steps: its bytes made durable, the
//! file renamed to its name, the rename made durable. Alone, that costs two
//! device flushes (the file's, then its folder's). Here the first install to
//! arrive leads: it takes every install waiting, and
//! - one alone: `fsync` of the file, rename, `fsync` of the folder (two
//!   flushes, and nothing else of the file system is written out);
//! - several: one `syncfs` of the store's file system (every staged file's
//!   bytes at once), every rename, one `syncfs` more (every new name and
//!   folder at once): two flushes for the whole batch.
//!
//! It then wakes each install of the batch with its own outcome; those that
//! came meanwhile form the next batch, led by one of them. No install
//! returns before the flush that covers its rename. A blob found already
//! under its name waits for the batch in flight (it may be the one that
//! renamed it, not yet flushed) before it is taken as stored.
//!
//! A small blob is not a file of its own but an entry of a pack
//! (`blob_packs`): a batch appends every small blob to the pack, and the
//! pack's flush comes before their index entries are written, the index's
//! flush before they are answered. A batch of small blobs alone flushes the
//! pack and the index (two `fdatasync`, nothing else of the file system);
//! with files beside them, the two `syncfs` cover the pack and the index.

use super::blob_packs::{Packs, Place};
use crate::domain::hash::Sha256;
use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};

/// A blob to make durable under its digest.
pub(super) enum Item {
    /// A staged file, to be renamed to its name.
    File(Install),
    /// A small blob held in memory, to be appended to a pack.
    Packed {
        /// Its digest.
        sha256: Sha256,
        /// Its bytes.
        bytes: Vec<u8>,
    },
}

/// A staged file to install under its name.
pub(super) struct Install {
    /// The staged file, written whole.
    pub file: File,
    /// Where it was staged.
    pub staged: PathBuf,
    /// Its name in the store.
    pub target: PathBuf,
    /// Its digest.
    pub sha256: Sha256,
}

/// A small blob of a batch.
struct Packed {
    sha256: Sha256,
    bytes: Vec<u8>,
}

/// Outcomes of a batch, by ticket.
type Outcomes = Vec<(u64, Result<(), Failure>)>;

/// What the installer did, in order (for tests that check that nothing is
/// acknowledged before its flush).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A blob was renamed to its name, or its pack entry indexed (not
    /// durable yet).
    Placed(Sha256),
    /// A device flush returned: what was renamed before it is durable.
    Flushed,
}

/// A place in the queue of installs.
#[must_use = "an install is durable only once waited on"]
pub(super) struct Ticket(u64);

/// A probe told of each step.
pub type Probe = Arc<dyn Fn(Step) + Send + Sync>;

/// An outcome waiters can each rebuild (an `io::Error` is not `Clone`).
#[derive(Debug, Clone)]
struct Failure {
    os: Option<i32>,
    kind: io::ErrorKind,
    message: String,
}

impl Failure {
    fn of(e: &io::Error) -> Self {
        Failure {
            os: e.raw_os_error(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    fn error(&self) -> io::Error {
        match self.os {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, self.message.clone()),
        }
    }
}

#[derive(Default)]
struct State {
    /// Installs waiting for a leader (none: a wait for the batch in flight).
    waiting: Vec<(u64, Option<Item>)>,
    next_ticket: u64,
    leading: bool,
    outcomes: HashMap<u64, Result<(), Failure>>,
    /// Tickets dropped unwaited, in a batch under way: their outcomes are
    /// not kept.
    abandoned: HashSet<u64>,
}

/// Shares flushes among concurrent installs into one store.
pub(super) struct GroupCommit {
    /// A folder of the store's file system (what `syncfs` flushes).
    root: PathBuf,
    /// Where small blobs go.
    packs: Arc<Packs>,
    state: Mutex<State>,
    woken: Condvar,
    flushes: AtomicU64,
    probe: Option<Probe>,
    /// The folders grown since the last flush (a blob renamed into a new
    /// folder is durable only once its folder's entry is) and those known.
    folders: Mutex<Folders>,
}

/// The store's folders as the installs know them, under one lock.
#[derive(Default)]
struct Folders {
    /// Grown since the last flush.
    grown: HashSet<PathBuf>,
    /// Seen or made (a blob's folder is never removed by the store): a
    /// deposit into one of them looks nothing up on the disk.
    known: HashSet<PathBuf>,
}

impl GroupCommit {
    pub(super) fn new(root: &Path, packs: Arc<Packs>, probe: Option<Probe>) -> Self {
        GroupCommit {
            root: root.to_owned(),
            packs,
            state: Mutex::new(State::default()),
            woken: Condvar::new(),
            flushes: AtomicU64::new(0),
            probe,
            folders: Mutex::new(Folders::default()),
        }
    }

    /// Makes the folder `target` goes in (and its parents) if missing, in
    /// the depositor's thread rather than the batch's; their entries are
    /// flushed by the next batch, before anything in them counts as
    /// stored. Checked and made under one lock, so that a blob renamed
    /// into a folder another deposit made waits for that folder's flush.
    /// Says whether it made the folder (then nothing is in it yet).
    pub(super) fn make_folder(&self, target: &Path) -> io::Result<bool> {
        let Some(folder) = target.parent() else {
            return Ok(false);
        };
        let mut folders = self.folders.lock().unwrap_or_else(|p| p.into_inner());
        if folders.known.contains(folder) {
            return Ok(false);
        }
        let made = make_dir_all(folder, &mut folders.grown)?;
        folders.known.insert(folder.to_owned());
        Ok(made)
    }

    /// Forgets that `folder` is there (it was not, when a blob was renamed
    /// into it): the next install into it looks again.
    fn forget_folder(&self, folder: &Path) {
        self.folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .known
            .remove(folder);
    }

    /// The folders grown since the last flush, now to be flushed.
    fn take_grown(&self) -> Vec<PathBuf> {
        self.folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .grown
            .drain()
            .collect()
    }

    /// Flushes each folder grown (one at a time: a batch alone).
    fn flush_grown(&self) -> io::Result<()> {
        let grown = self.take_grown();
        for (i, parent) in grown.iter().enumerate() {
            if let Err(e) = super::blob_fs::sync_dir(parent) {
                // Still to flush by the next batch.
                let mut again = self.folders.lock().unwrap_or_else(|p| p.into_inner());
                again.grown.extend(grown[i..].iter().cloned());
                return Err(e);
            }
            self.flushed();
        }
        Ok(())
    }

    /// Device flushes made so far.
    pub(super) fn flushes(&self) -> u64 {
        self.flushes.load(Ordering::Relaxed)
    }

    /// Queues `install` (none: a wait for every install already renamed)
    /// for the next batch; [`GroupCommit::wait`] on the ticket returns once
    /// it is durable. Several queued before waiting go in one batch.
    pub(super) fn queue(&self, install: Option<Item>) -> Ticket {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let ticket = state.next_ticket;
        state.next_ticket += 1;
        state.waiting.push((ticket, install));
        Ticket(ticket)
    }

    /// Returns once the install of `ticket` is durable (leading a batch if
    /// none is under way).
    pub(super) fn wait(&self, ticket: Ticket) -> io::Result<()> {
        let ticket = ticket.0;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome.map_err(|f| f.error());
            }
            if state.leading {
                state = self.woken.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            state.leading = true;
            let batch = std::mem::take(&mut state.waiting);
            drop(state);
            let outcomes = self.run(batch);
            state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            for (done, outcome) in outcomes {
                if !state.abandoned.remove(&done) {
                    state.outcomes.insert(done, outcome);
                }
            }
            state.leading = false;
            self.woken.notify_all();
        }
    }

    /// Forgets a ticket that will not be waited on (a deposit refused
    /// after its blobs were queued): out of the queue if it is still
    /// there, else its outcome is not kept.
    pub(super) fn abandon(&self, ticket: Ticket) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let before = state.waiting.len();
        state.waiting.retain(|(t, _)| *t != ticket.0);
        if state.waiting.len() == before && state.outcomes.remove(&ticket.0).is_none() {
            state.abandoned.insert(ticket.0);
        }
    }

    fn tell(&self, step: Step) {
        if let Some(probe) = &self.probe {
            probe(step);
        }
    }

    fn flushed(&self) {
        self.flushes.fetch_add(1, Ordering::Relaxed);
        self.tell(Step::Flushed);
    }

    /// Installs a batch; every ticket gets its outcome.
    fn run(&self, batch: Vec<(u64, Option<Item>)>) -> Outcomes {
        let mut outcomes = Vec::new();
        let mut installs = Vec::new();
        let mut packed = Vec::new();
        for (ticket, install) in batch {
            match install {
                Some(Item::File(install)) => installs.push((ticket, install)),
                Some(Item::Packed { sha256, bytes }) => packed.push((ticket, Packed { sha256, bytes })),
                // A wait for the batch before this one: done.
                None => outcomes.push((ticket, Ok(()))),
            }
        }
        if installs.is_empty() {
            outcomes.extend(self.packed_alone(packed));
        } else if installs.len() + packed.len() > 1 {
            outcomes.extend(self.together(installs, packed));
        } else {
            outcomes.extend(self.each_alone(installs));
        }
        outcomes
    }

    /// Appends a batch's small blobs to the pack (each content once).
    fn append(&self, packed: &[(u64, Packed)]) -> io::Result<Vec<(Sha256, Place)>> {
        let mut seen = HashSet::new();
        let items: Vec<(Sha256, &[u8])> = packed
            .iter()
            .filter(|(_, p)| seen.insert(p.sha256))
            .map(|(_, p)| (p.sha256, p.bytes.as_slice()))
            .collect();
        let places = self.packs.append(&items)?;
        Ok(items.into_iter().map(|(sha256, _)| sha256).zip(places).collect())
    }

    /// Indexes small blobs whose bytes are durable, then flushes the index.
    fn index(&self, placed: &[(Sha256, Place)]) -> io::Result<()> {
        self.record(placed)?;
        self.flush_index(placed)
    }

    /// Writes the index entries of small blobs whose bytes are durable.
    fn record(&self, placed: &[(Sha256, Place)]) -> io::Result<()> {
        self.packs.record(placed)?;
        for (sha256, _) in placed {
            self.tell(Step::Placed(*sha256));
        }
        Ok(())
    }

    /// Flushes the index; the blobs it names are forgotten if it fails.
    fn flush_index(&self, placed: &[(Sha256, Place)]) -> io::Result<()> {
        if let Err(e) = self.packs.flush_index() {
            self.packs.forget(placed);
            return Err(e);
        }
        self.flushed();
        Ok(())
    }

    /// Small blobs alone: appended, the pack flushed, indexed, the index
    /// flushed.
    fn packed_alone(&self, packed: Vec<(u64, Packed)>) -> Outcomes {
        if packed.is_empty() {
            return Vec::new();
        }
        let outcome = self.append(&packed).and_then(|placed| {
            self.flush_packs()?;
            self.index(&placed)
        });
        let outcome = outcome.map_err(|e| Failure::of(&e));
        packed
            .into_iter()
            .map(|(ticket, _)| (ticket, outcome.clone()))
            .collect()
    }

    fn flush_packs(&self) -> io::Result<()> {
        for _ in 0..self.packs.flush_packs()? {
            self.flushed();
        }
        Ok(())
    }

    /// One install: its file's flush, the rename, its folder's flush (and
    /// that of each folder grown by a new folder).
    fn alone(&self, install: &Install) -> io::Result<()> {
        self.flush_bytes(install)?;
        let folder = self.rename(install)?;
        self.flush_names(&folder)
    }

    /// Flushes a staged file's bytes.
    fn flush_bytes(&self, install: &Install) -> io::Result<()> {
        install.file.sync_all()?;
        self.flushed();
        Ok(())
    }

    /// Flushes the entries of `folder` and of every folder grown.
    fn flush_names(&self, folder: &Path) -> io::Result<()> {
        self.flush_grown()?;
        super::blob_fs::sync_dir(folder)?;
        self.flushed();
        Ok(())
    }

    /// Several installs: one flush of the file system for all their bytes
    /// (the pack's among them), every rename and index entry, one flush
    /// for all the names. Where the file system cannot be flushed whole,
    /// each goes alone.
    fn together(&self, installs: Vec<(u64, Install)>, packed: Vec<(u64, Packed)>) -> Outcomes {
        let mut outcomes = Vec::new();
        let placed = match self.append(&packed) {
            Ok(placed) => placed,
            Err(e) => {
                let failure = Failure::of(&e);
                outcomes.extend(packed.iter().map(|(t, _)| (*t, Err(failure.clone()))));
                Vec::new()
            }
        };
        let packed: Vec<u64> = if placed.is_empty() {
            Vec::new()
        } else {
            packed.iter().map(|(t, _)| *t).collect()
        };
        let answer = |outcome: io::Result<()>, outcomes: &mut Outcomes| {
            let outcome = outcome.map_err(|e| Failure::of(&e));
            outcomes.extend(packed.iter().map(|t| (*t, outcome.clone())));
        };
        if let Err(e) = sync_file_system(&self.root) {
            tracing::warn!(error = %e, "the blob store's file system could not be flushed whole; each blob is flushed alone");
            if !placed.is_empty() {
                answer(self.flush_packs().and_then(|()| self.index(&placed)), &mut outcomes);
            }
            outcomes.extend(self.each_alone(installs));
            return outcomes;
        }
        self.packs.flushed_with_file_system();
        self.flushed();
        let mut renamed = Vec::with_capacity(installs.len());
        for (ticket, install) in installs {
            match self.rename(&install) {
                Ok(folder) => renamed.push((ticket, install, folder)),
                Err(e) => outcomes.push((ticket, Err(Failure::of(&e)))),
            }
        }
        let recorded = self.record(&placed);
        let grown = self.take_grown();
        match sync_file_system(&self.root) {
            Ok(()) => {
                self.flushed();
                outcomes.extend(renamed.into_iter().map(|(t, _, _)| (t, Ok(()))));
                answer(recorded, &mut outcomes);
            }
            Err(e) => {
                tracing::warn!(error = %e, "the blob store's file system could not be flushed whole; each blob's folder is flushed alone");
                self.folders
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .grown
                    .extend(grown);
                for (ticket, install, folder) in renamed {
                    let outcome = self.flush_bytes(&install).and_then(|()| self.flush_names(&folder));
                    outcomes.push((ticket, outcome.map_err(|e| Failure::of(&e))));
                }
                answer(recorded.and_then(|()| self.flush_index(&placed)), &mut outcomes);
            }
        }
        outcomes
    }

    fn each_alone(&self, installs: Vec<(u64, Install)>) -> Outcomes {
        installs
            .into_iter()
            .map(|(ticket, install)| (ticket, self.alone(&install).map_err(|e| Failure::of(&e))))
            .collect()
    }

    /// Renames the staged file (read-only from its start) to its name;
    /// returns its folder (made when the install was, or made again here
    /// if something removed it since).
    fn rename(&self, install: &Install) -> io::Result<PathBuf> {
        let folder = install
            .target
            .parent()
            .ok_or_else(|| io::Error::other("a blob's path has no folder"))?
            .to_owned();
        match fs::rename(&install.staged, &install.target) {
            Err(e) if e.kind() == io::ErrorKind::NotFound && install.staged.exists() => {
                self.forget_folder(&folder);
                self.make_folder(&install.target)?;
                fs::rename(&install.staged, &install.target)?;
            }
            other => other?,
        }
        self.tell(Step::Placed(install.sha256));
        Ok(folder)
    }
}

/// Makes `dir` and any parent missing, trying `mkdir` first (a folder
/// that is there already costs one call, as a look-up would); each folder
/// whose entries grew is noted in `grown`. Says whether `dir` was made.
fn make_dir_all(dir: &Path, grown: &mut HashSet<PathBuf>) -> io::Result<bool> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = dir.parent().ok_or(e)?;
            make_dir_all(parent, grown)?;
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(false),
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent() {
        grown.insert(parent.to_owned());
    }
    Ok(true)
}

/// Flushes the whole file system that holds `dir` (`syncfs(2)`): every
/// file's bytes and every folder's entries written so far.
pub(crate) fn sync_file_system(dir: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let folder = File::open(dir)?;
    // SAFETY: `syncfs` takes an open descriptor, which `folder` keeps open
    // for the call, and touches no memory of ours.
    let status = unsafe { libc::syncfs(folder.as_raw_fd()) };
    if status == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
