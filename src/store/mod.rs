//! Storage ports (the traits below, each with its written contract) and
//! their adapters: files for blobs and the journal, fjall for the catalog,
//! and in-memory versions of each for tests and for rebuilding views.
//!
//! Invariant: only this module names fjall (and, later, tantivy). Nothing
//! here decides what an event means: that is `archive::projection`'s work.

pub mod blob_copies;
pub mod blob_fs;
mod blob_packs;
pub mod bucket;
pub mod catalog_fjall;
#[cfg(test)]
mod contract;
pub mod credentials;
pub mod directory;
pub mod directory_ldap;
#[cfg(test)]
pub mod faulty;
mod fjall_tree;
mod group_commit;
mod index_french;
mod index_gather;
mod index_reuse;
pub mod index_tantivy;
pub mod journal;
pub mod mail;
pub mod mail_imap;
pub mod memory;
pub mod merkle_files;
pub mod mirror;
pub mod seda_schema;
pub mod tls;
pub mod tsa;

use crate::domain::event::{Event, EventDraft, EventError};
use crate::domain::hash::Sha256;
use crate::domain::record::{DueMark, NodeCode, Record, RecordId, Reference};
use crate::domain::role::Role;
use crate::domain::search::{IndexDocument, SearchQuery, SearchResults, TextStatus};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Read, Seek};

/// How long opening a store waits for a file lock that a closing store of
/// this process still holds.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// Runs `open`, again while `held` says its error is a file lock still
/// held, for up to `budget` (pausing 5 ms, doubling up to 200 ms). A lock
/// (`flock`) belongs to the open file, not to the descriptor: when another
/// thread starts a process (an extractor) at the moment a store is closed,
/// the child holds a copy of the descriptor until it runs its program, and
/// the lock outlives the close by that moment; fjall also lets its lock go
/// when its background workers have stopped. A store closed and reopened in one
/// process (a rebuild, a test) waits that moment out; a second process is
/// still refused once the budget is spent.
pub fn open_when_released<T, E>(
    mut open: impl FnMut() -> Result<T, E>,
    held: impl Fn(&E) -> bool,
    budget: std::time::Duration,
) -> Result<T, E> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        match open() {
            Err(e) if held(&e) && started.elapsed() < budget => {
                tracing::debug!("a file lock is still held by a closing store; waiting");
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(200));
            }
            other => return other,
        }
    }
}

/// Errors of a blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The content is larger than the limit the caller set.
    #[error("content larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Reading the source failed (an upload aborted, a file unreadable).
    #[error("reading the content failed: {0}")]
    Source(#[source] io::Error),
    /// No blob has this digest.
    #[error("blob {0} not found")]
    NotFound(Sha256),
    /// The store's own files failed.
    #[error("blob store I/O: {0}")]
    Io(#[from] io::Error),
    /// Fewer stores than required could take a blob (a copy store
    /// unreachable, or too few configured); says which and why, in French.
    #[error("{0}")]
    CopiesUnavailable(String),
}

/// Content read from a blob store: seekable, so ranges can be served.
pub trait BlobRead: Read + Seek + Send {}
impl<T: Read + Seek + Send> BlobRead for T {}

/// A blob written and hashed but not yet visible under its name.
///
/// Contract: dropping it without `commit` removes every trace of it.
pub trait StagedBlob: Send {
    /// The digest of the content.
    fn sha256(&self) -> Sha256;
    /// The size in bytes.
    fn size(&self) -> u64;
    /// The first bytes (up to 8 KiB), for sniffing the media type.
    fn head(&self) -> &[u8];
    /// Reads the staged content from its start (to classify a deposit
    /// before it is committed).
    fn reader(&self) -> Result<Box<dyn Read + Send + '_>, BlobError>;
    /// Makes the blob durable under its digest. If a blob with that digest
    /// already exists the staged copy is discarded (deduplication).
    /// On return the blob and its directory entry are on stable storage.
    fn commit(self: Box<Self>) -> Result<Sha256, BlobError>;
    /// Makes the blob durable under its digest, replacing whatever is
    /// stored there: the one write that overwrites a blob, to repair a
    /// damaged one with bytes that were hashed as they came. Atomic: a
    /// reader sees the old bytes or the new, never a mix.
    fn replace(self: Box<Self>) -> Result<Sha256, BlobError>;
    /// As `commit`, returning once `stores` stores (the first and its
    /// copies) hold the blob durably; a copy store that cannot take it
    /// now is owed it ([`BlobStore::pay_owed_copies`]). Fails with
    /// `CopiesUnavailable` when fewer could take it. A store that keeps
    /// no copies commits.
    fn commit_on(self: Box<Self>, _stores: usize) -> Result<Sha256, BlobError> {
        self.commit()
    }
    /// Starts `commit_on(stores)` without waiting for it to be durable, so
    /// that the blobs of one deposit (its content, its metadata document)
    /// share one batch of flushes: start each, then wait on each. Refuses
    /// at once what `commit_on` would refuse before writing (more stores
    /// asked for than kept). A store that cannot start a commit ahead
    /// commits when waited on ([`CommitWhenWaited`]).
    fn commit_later(self: Box<Self>, stores: usize) -> Result<Box<dyn PendingCommit>, BlobError>;
}

/// A commit started by [`StagedBlob::commit_later`].
pub trait PendingCommit: Send {
    /// Returns once the blob is durable on the stores asked for, as
    /// `commit_on` would.
    fn wait(self: Box<Self>) -> Result<Sha256, BlobError>;
}

/// A commit that is made when waited on.
pub struct CommitWhenWaited(pub Box<dyn StagedBlob>, pub usize);

impl PendingCommit for CommitWhenWaited {
    fn wait(self: Box<Self>) -> Result<Sha256, BlobError> {
        let CommitWhenWaited(staged, stores) = *self;
        staged.commit_on(stores)
    }
}

/// The result of re-hashing a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fixity {
    /// The bytes hash to the blob's name.
    Intact {
        /// Bytes read.
        size: u64,
    },
    /// The bytes hash to something else.
    Corrupt {
        /// What they hash to.
        actual: Sha256,
        /// Bytes read.
        size: u64,
    },
    /// No such blob.
    Missing,
}

impl Fixity {
    /// What `size` bytes hashing to `actual` say of the blob `sha256`.
    pub fn compared(sha256: &Sha256, actual: Sha256, size: u64) -> Fixity {
        if actual == *sha256 {
            Fixity::Intact { size }
        } else {
            Fixity::Corrupt { actual, size }
        }
    }

    /// What `bytes`, read whole, say of the blob `sha256`.
    pub fn of_bytes(sha256: &Sha256, bytes: &[u8]) -> Fixity {
        Fixity::compared(sha256, Sha256::of(bytes), bytes.len() as u64)
    }
}

/// Immutable content keyed by its SHA-256.
///
/// Contract:
/// * a blob, once committed, is never modified (but by a repair:
///   `StagedBlob::replace` puts bytes that hash to its name over a
///   damaged one); the same bytes are stored once whatever the number of
///   commits;
/// * readers never observe a partial write: a blob is visible only after
///   its content is complete and synced;
/// * content is streamed: no operation holds a whole blob in memory;
/// * there is no delete here: only an executed disposal will remove a blob.
pub trait BlobStore: Send + Sync {
    /// Streams `source` into a staging area while hashing it. Fails with
    /// `TooLarge` (leaving nothing behind) once more than `limit` bytes come.
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError>;
    /// Opens a blob for reading; returns its size with it.
    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError>;
    /// Whether a blob exists.
    fn contains(&self, sha256: &Sha256) -> Result<bool, BlobError>;
    /// Re-hashes a blob, calling `progress` with byte counts as it goes.
    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError>;
    /// Every blob's digest, in no particular order.
    fn list(&self) -> Result<Vec<Sha256>, BlobError>;
    /// Erases a blob (only an executed disposal does); `false` if it was
    /// not there. On return its removal is on stable storage.
    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError>;
    /// Erases many blobs (a disposal's); how many were there. On return
    /// every removal is on stable storage: a store on a file system flushes
    /// once for them all rather than once each.
    fn erase_all(&self, blobs: &[Sha256]) -> Result<u64, BlobError> {
        let mut erased = 0;
        for sha256 in blobs {
            erased += u64::from(self.erase(sha256)?);
        }
        Ok(erased)
    }
    /// Puts back a damaged or missing blob from a copy whose bytes still
    /// hash to its name; says which copy (none: no good copy, or a store
    /// that keeps none).
    fn repair_from_copy(&self, _sha256: &Sha256) -> Result<Option<String>, BlobError> {
        Ok(None)
    }
    /// Re-hashes a blob's copies (the first store's bytes being good),
    /// putting back each copy found corrupt or missing from the first
    /// store; says which copies were put back and what was wrong.
    fn check_copies(
        &self,
        _sha256: &Sha256,
        _progress: &mut dyn FnMut(u64),
    ) -> Result<Vec<(String, Fixity)>, BlobError> {
        Ok(Vec::new())
    }
    /// The names of the stores holding copies (none: a store that keeps
    /// no copies).
    fn copy_names(&self) -> Vec<String> {
        Vec::new()
    }
    /// Writes a blob to each copy store that lacks it (a store added to
    /// an archive that holds records already, or a file removed from a
    /// copy), checking each copy as it is written; says which copies now
    /// hold it. Copies present are not re-hashed: that is fixity's work.
    fn complete_copies(&self, _sha256: &Sha256) -> Result<Vec<String>, BlobError> {
        Ok(Vec::new())
    }
    /// Blobs owed to each copy store (committed while it could not take
    /// them), by store name; empty when nothing is owed.
    fn owed_copies(&self) -> std::collections::BTreeMap<String, u64> {
        std::collections::BTreeMap::new()
    }
    /// Writes the copies owed to the stores that can take them now; says
    /// how many it wrote.
    fn pay_owed_copies(&self) -> u64 {
        0
    }
    /// Device flushes its commits made so far, on every local store (none
    /// counted: a store that does not flush, or counts elsewhere).
    fn flushes(&self) -> u64 {
        0
    }
}

/// Errors of the journal.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// An event is damaged or out of chain; the journal will not skip it.
    #[error("journal endommagé à l'événement n° {seq} : {reason}")]
    Corrupt {
        /// The event's seq, or the one expected there.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// A previous write or sync failed; the journal refuses further appends
    /// until the process restarts and recovers it.
    #[error("{0}")]
    Failed(String),
    /// The event was made durable but a view could not apply it; it will be
    /// applied again at the next start.
    #[error("event {seq} is durable but a view failed to apply it: {reason}")]
    ViewFailed {
        /// The durable event's seq.
        seq: u64,
        /// What the view said.
        reason: ViewError,
    },
    /// An event could not be encoded.
    #[error("event encoding: {0}")]
    Event(#[from] EventError),
    /// File I/O.
    #[error("journal I/O: {0}")]
    Io(#[from] io::Error),
}

/// Why a view (the catalog, the Merkle tree) could not apply a durable
/// event.
#[derive(Debug, thiserror::Error)]
pub enum ViewError {
    /// The catalog failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A blob the event names could not be read.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The view's own files failed.
    #[error("view I/O: {0}")]
    Io(#[from] io::Error),
    /// The event's body could not be decoded.
    #[error(transparent)]
    Event(#[from] EventError),
    /// The event names something the view does not hold: the journal and
    /// the view disagree.
    #[error("the event names {what} {id}, which the view does not hold")]
    Unknown {
        /// What kind of thing (`record`, `hold`, `disposal`, `transfer`).
        what: &'static str,
        /// Its id or reference.
        id: String,
    },
    /// An event handed to a part of the view that does not handle its kind.
    #[error("a {kind} event reached a part of the view that does not handle it")]
    Unexpected {
        /// The event's kind.
        kind: String,
    },
    /// A stored document (descriptive metadata, a plan version) does not
    /// decode.
    #[error("{what} {sha256}: {reason}")]
    Document {
        /// Which document.
        what: &'static str,
        /// Its digest.
        sha256: Sha256,
        /// What is wrong with it.
        reason: String,
    },
}

/// Told of each event once it is durable, in seq order, before its
/// appender is answered. Views (the catalog) follow the journal this way.
pub trait JournalObserver: Send + Sync {
    /// Applies one durable event.
    fn on_durable(&self, event: &Event) -> Result<(), ViewError>;

    /// Applies durable events in seq order, as [`Self::on_durable`] one by
    /// one would; an observer may apply a run of them together (one
    /// catalog batch for the deposits a group commit made durable). On
    /// failure, says how many were applied before it, and why.
    fn on_durable_all(&self, events: &[Event]) -> Result<(), Unapplied> {
        for (applied, event) in events.iter().enumerate() {
            self.on_durable(event).map_err(|reason| Unapplied {
                applied,
                seq: event.seq,
                reason,
            })?;
        }
        Ok(())
    }

    /// As [`Self::on_durable_all`], given each event's Merkle leaf (the
    /// hash of its journal line, which the journal's writer had in hand):
    /// an observer that keeps the tree need not encode the events again.
    fn on_durable_with_leaves(&self, events: &[Event], leaves: &[Sha256]) -> Result<(), Unapplied> {
        let _ = leaves;
        self.on_durable_all(events)
    }
}

/// Where [`JournalObserver::on_durable_all`] stopped: the events before
/// `applied` are applied, the rest are not; `seq` names the event (or the
/// last event of the run) that failed.
#[derive(Debug)]
pub struct Unapplied {
    /// Events applied before the failure.
    pub applied: usize,
    /// The seq the failure names.
    pub seq: u64,
    /// Why.
    pub reason: ViewError,
}

/// The append-only, hash-chained event log: the archive's source of truth.
///
/// Contract:
/// * `append` returns only once the event is on stable storage (and its
///   observer has seen it); concurrent appends may share one sync;
/// * seqs start at 1 and have no gaps; each event's `prev_hash` is the
///   previous event's `hash`;
/// * nothing is ever rewritten; reading verifies every hash and link and
///   stops with `Corrupt` at the first damage, never skipping it.
pub trait Journal: Send + Sync {
    /// Appends one event and waits until it is durable.
    fn append(&self, draft: EventDraft) -> Result<Event, JournalError>;
    /// Appends events in order, as `append` one by one would, and waits
    /// until all are durable; they may share one commit. Each gets its own
    /// outcome.
    fn append_all(&self, drafts: Vec<EventDraft>) -> Vec<Result<Event, JournalError>> {
        drafts.into_iter().map(|draft| self.append(draft)).collect()
    }
    /// The seq and hash of the last durable event (0 and zero when empty).
    fn head(&self) -> (u64, Sha256);
    /// Durable events from `seq` (inclusive) to the head at call time.
    fn read_from(&self, seq: u64)
    -> Result<Box<dyn Iterator<Item = Result<Event, JournalError>> + Send>, JournalError>;
    /// Device flushes its commits made so far (one per batch of events).
    fn flushes(&self) -> u64 {
        0
    }
    /// Appends an event another journal made (a follower adopting its
    /// primary's journal), unchanged, once its seq follows the head, its
    /// `prev_hash` is the head's hash and its own hash checks; waits until
    /// it is durable and its observer has seen it.
    fn adopt(&self, event: Event) -> Result<(), JournalError> {
        Err(JournalError::Failed(format!(
            "ce journal ne suit aucun autre journal (événement n° {})",
            event.seq
        )))
    }
}

/// The journal's Merkle tree (RFC 9162), kept as the hashes of its perfect
/// subtrees so that a root or a proof costs O(log n) reads. A view of the
/// journal: deletable, rebuilt from it.
///
/// Contract:
/// * `append(index, leaf)` is accepted only for `index == size()`; it
///   stores the leaf and every perfect subtree the leaf completes;
/// * a stored hash never changes; `perfect` is asked only inside the tree;
/// * `sync` makes everything appended durable; after a crash the store
///   opens cut back to a consistent prefix (the caller replays the rest).
pub trait MerkleTree: Send + Sync {
    /// Leaves stored.
    fn size(&self) -> u64;
    /// Adds leaf `index`.
    fn append(&self, index: u64, leaf: Sha256) -> io::Result<()>;
    /// Forgets the leaves from `size` on (after the journal's tail was cut).
    fn truncate(&self, size: u64) -> io::Result<()>;
    /// The hash of the perfect subtree of 2^`level` leaves starting at leaf
    /// `index` × 2^`level`.
    fn perfect(&self, level: u32, index: u64) -> io::Result<Sha256>;
    /// Makes every appended hash durable.
    fn sync(&self) -> io::Result<()>;
}

/// Errors of the catalog.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The storage engine failed.
    #[error("catalog storage: {0}")]
    Storage(String),
    /// The storage engine found its own files damaged.
    #[error("catalogue endommagé : {0}")]
    Damaged(String),
    /// A stored value could not be decoded.
    #[error("catalog value under {key}: {reason}")]
    Decode {
        /// The key.
        key: String,
        /// What went wrong.
        reason: String,
    },
}

/// An API token as the catalog holds it: never the token, only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenEntry {
    /// SHA-256 of the token text.
    pub token_sha256: Sha256,
    /// What it may do.
    pub role: Role,
    /// A name for people.
    pub name: String,
    /// The event that created it.
    pub seq: u64,
    /// The account it belongs to (none: a token issued before accounts,
    /// or an application's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::domain::account::UserName>,
    /// It belongs to an application, not to a person.
    #[serde(default)]
    pub application: bool,
    /// When it was issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it stops working (none: a token issued before expiry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Its revocation, if revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<TokenRevocation>,
}

/// Whose readings to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsultationsOf {
    /// Of a record.
    Record(RecordId),
    /// By someone: a person's user name, or an actor's name.
    Who(String),
}

/// A token's revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevocation {
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who (as the journal names them).
    pub by: String,
    /// Why, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

pub use crate::domain::plan::PlanVersionEntry;

/// What a listing of due records shows of each, without reading the
/// records: the rule and final action are those in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueEntry {
    /// Reference.
    pub reference: Reference,
    /// Node.
    pub node: NodeCode,
    /// The rule applied.
    pub rule: String,
    /// What happens then.
    pub final_action: crate::domain::plan::FinalAction,
}

/// One line of a listing of due records, or why it could not be read.
pub type DueItem = Result<(NaiveDate, RecordId, DueEntry), CatalogError>;

/// Merges lists of due records, each in due-date order, into one in due
/// date then id order. Within one list, records due the same day may come
/// in any order (a node's index is by start, and 29, 30 and 31 January
/// plus a month all end on 28 February): each day's run is sorted. An
/// error comes out as soon as it is met.
pub(crate) fn merge_due<'a>(lists: Vec<Box<dyn Iterator<Item = DueItem> + 'a>>) -> impl Iterator<Item = DueItem> + 'a {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    /// A list read a day's run at a time.
    struct Runs<'a> {
        list: std::iter::Peekable<Box<dyn Iterator<Item = DueItem> + 'a>>,
        run: std::collections::VecDeque<(NaiveDate, RecordId, DueEntry)>,
    }
    impl Runs<'_> {
        /// The next line, reading the next day's run when the last is out.
        fn next(&mut self) -> Option<DueItem> {
            if self.run.is_empty() {
                let first = match self.list.next()? {
                    Ok(first) => first,
                    Err(e) => return Some(Err(e)),
                };
                let day = first.0;
                let mut run = vec![first];
                while let Some(Ok((next_day, _, _))) = self.list.peek() {
                    if *next_day != day {
                        break;
                    }
                    if let Some(Ok(line)) = self.list.next() {
                        run.push(line);
                    }
                }
                run.sort_by_key(|(_, id, _)| *id);
                self.run = run.into();
            }
            self.run.pop_front().map(Ok)
        }
    }
    let mut lists: Vec<Runs<'a>> = lists
        .into_iter()
        .map(|list| Runs {
            list: list.peekable(),
            run: Default::default(),
        })
        .collect();
    // The head of each list, by (day, id, list).
    let mut heads = BinaryHeap::new();
    let mut entries: Vec<Option<DueEntry>> = Vec::new();
    let mut pending = Vec::new();
    for (i, list) in lists.iter_mut().enumerate() {
        entries.push(None);
        match list.next() {
            Some(Ok((day, id, entry))) => {
                entries[i] = Some(entry);
                heads.push(Reverse((day, id, i)));
            }
            Some(Err(e)) => pending.push(e),
            None => {}
        }
    }
    std::iter::from_fn(move || {
        if let Some(e) = pending.pop() {
            return Some(Err(e));
        }
        let Reverse((day, id, i)) = heads.pop()?;
        let entry = entries.get_mut(i)?.take()?;
        match lists.get_mut(i)?.next() {
            Some(Ok((next_day, next_id, next_entry))) => {
                entries[i] = Some(next_entry);
                heads.push(Reverse((next_day, next_id, i)));
            }
            Some(Err(e)) => pending.push(e),
            None => {}
        }
        Some(Ok((day, id, entry)))
    })
}

/// What the archive's indicators count a record under: its node, its
/// state, its producing service and its capture channel. The catalog keeps
/// how many records stand under each tally, so that the indicators read
/// these counts, never the records (a scrape of `/metrics` at a million
/// records read them all).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tally {
    /// The node it is filed in.
    pub node: NodeCode,
    /// Live, destroyed or transferred.
    pub state: crate::domain::record::RecordState,
    /// Its producing service, if given.
    pub service: Option<String>,
    /// The capture channel it came through, if any.
    pub channel: Option<String>,
}

impl Tally {
    /// The tally of a record as it stands.
    pub fn of(record: &Record) -> Self {
        Tally {
            node: record.node.clone(),
            state: record.state,
            service: record.service.clone(),
            channel: record.channel.clone(),
        }
    }
}

/// What the node index holds of each record filed there: what its
/// retention depends on. A plan change reads these to say what it does to
/// a node's records without reading the records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionEntry {
    /// Reference.
    pub reference: Reference,
    /// The record's own date.
    pub date: NaiveDate,
    /// Those of its fields that hold a date (a rule can start on one).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub date_fields: BTreeMap<String, String>,
    /// The start events recorded for it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub events: BTreeMap<String, NaiveDate>,
    /// An archivist's decision at the end of a `review` rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::domain::plan::FinalAction>,
    /// It was destroyed or transferred: it is due no more.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ended: bool,
    /// Its due mark under the rules in force, reckoned when read (never
    /// stored).
    #[serde(default, skip_serializing)]
    pub due: Option<crate::domain::record::DueMark>,
}

impl RetentionEntry {
    /// The entry of a record as it stands.
    pub fn of(record: &Record) -> Self {
        RetentionEntry {
            reference: record.reference.clone(),
            date: record.date,
            date_fields: record
                .fields
                .iter()
                .filter(|(_, v)| crate::domain::retention::as_start_date(v).is_some())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            events: record.events.clone(),
            decision: record.review.as_ref().map(|d| d.decision),
            ended: record.tombstone.is_some(),
            due: record.due.clone(),
        }
    }

    /// Its due mark under `rules`, for a record of `node`.
    pub fn due_under(&self, rules: &crate::domain::retention::RuleTable, node: &NodeCode) -> Option<DueMark> {
        if self.ended {
            return None;
        }
        rules.due_mark(self.facts(node))
    }

    /// The start it is indexed under by `rules`, for a record of `node`
    /// (none: it cannot fall due).
    pub fn start_under(&self, rules: &crate::domain::retention::RuleTable, node: &NodeCode) -> Option<NaiveDate> {
        if self.ended {
            return None;
        }
        rules.indexed_start(self.facts(node))
    }

    /// Its facts as the retention computation reads them, for a record of
    /// `node`.
    pub fn facts<'a>(&'a self, node: &'a NodeCode) -> crate::domain::retention::RecordFacts<'a> {
        crate::domain::retention::RecordFacts {
            node,
            date: self.date,
            fields: &self.date_fields,
            events: &self.events,
            decision: self.decision,
        }
    }
}

/// Which way out a part of lines or outcomes belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WayOut {
    /// A disposal's.
    Disposal,
    /// A transfer's.
    Transfer,
}

impl WayOut {
    /// The letter that keys its parts.
    pub fn letter(self) -> char {
        match self {
            WayOut::Disposal => 'd',
            WayOut::Transfer => 't',
        }
    }
}

/// One change to the catalog; an event's changes are applied together.
#[derive(Debug, Clone)]
pub enum CatalogWrite {
    /// Stores a record (and its reference → id entry).
    PutRecord(Box<Record>),
    /// Raises a naming counter to at least `value`.
    RaiseCounter {
        /// The counter: `NODE` or `NODE/YEAR`.
        scope: String,
        /// Last number used.
        value: u64,
    },
    /// Stores a published plan version.
    PutPlanVersion(PlanVersionEntry),
    /// Stores a legal hold (placed or lifted).
    PutHold(Box<crate::domain::hold::Hold>),
    /// Stores a journal seal.
    PutSeal(Box<crate::domain::seal::Seal>),
    /// Stores a disposal.
    PutDisposal(Box<crate::domain::disposition::Disposal>),
    /// Stores a transfer.
    PutTransfer(Box<crate::domain::disposition::Transfer>),
    /// Stores one part of a disposal's or transfer's lines (the disposal or
    /// transfer itself is stored without them).
    PutLines {
        /// A disposal's or a transfer's.
        of: WayOut,
        /// Its id.
        id: u64,
        /// The part's number (0: the proposing event's).
        part: u32,
        /// The lines and exclusions.
        lines: Box<crate::domain::disposition::LinesPart>,
    },
    /// Stores one part of what became of a disposal's or transfer's lines.
    PutOutcomes {
        /// A disposal's or a transfer's.
        of: WayOut,
        /// Its id.
        id: u64,
        /// The part's number.
        part: u32,
        /// The outcomes and the blobs to erase.
        outcomes: Box<crate::domain::disposition::OutcomesPart>,
    },
    /// Stores the retention rules in force (a plan was published). Records
    /// are read with due marks reckoned from them and indexed by the start
    /// of their retention, so a new duration or final action rewrites no
    /// record. Comes before an event's other writes.
    PutRules(Box<crate::domain::retention::RuleTable>),
    /// Stores a token.
    PutToken(TokenEntry),
    /// Stores a reading of a record that holds personal data.
    PutConsultation(Box<crate::domain::trail::Consultation>),
    /// Stores a person's account (new or changed).
    PutAccount(Box<crate::domain::account::Account>),
    /// Stores the latest whole integrity check.
    PutVerification(crate::domain::integrity::Verification),
    /// Stores the collectivité's identity.
    PutIdentity(Box<crate::domain::identity::Identity>),
    /// Stores the seal keys and their rotations.
    PutKeyChain(Box<crate::domain::seal::KeyChain>),
    /// Stores the verification counts of one field (overall or for one
    /// supplier), as they now stand.
    PutCheckCounts {
        /// The field and supplier.
        key: crate::domain::verification::CheckKey,
        /// The counts.
        counts: crate::domain::verification::CheckCounts,
    },
    /// Marks a blob damaged.
    PutDamage(crate::domain::integrity::BlobDamage),
    /// A damaged blob was repaired.
    RemoveDamage(Sha256),
}

/// The queryable projection of the journal.
///
/// Contract:
/// * `apply` stores all of an event's writes and the new last-applied seq
///   atomically: after a crash the catalog is at some whole event;
/// * the catalog is a cache: it may lag the journal (it is replayed at
///   start-up) but never holds what the journal does not;
/// * `clear` empties it for a rebuild.
pub trait Catalog: Send + Sync {
    /// The seq of the last event applied (0 for none).
    fn last_applied(&self) -> Result<u64, CatalogError>;
    /// Applies one event's writes and records `seq` as applied.
    fn apply(&self, seq: u64, writes: Vec<CatalogWrite>) -> Result<(), CatalogError>;
    /// A record by id.
    fn record(&self, id: &RecordId) -> Result<Option<Record>, CatalogError>;
    /// A record id by reference.
    fn record_id(&self, reference: &Reference) -> Result<Option<RecordId>, CatalogError>;
    /// Every record, in id order (so in creation order).
    fn records(&self) -> Box<dyn Iterator<Item = Result<Record, CatalogError>> + '_>;
    /// The last number used by a naming counter (0 if never used).
    fn counter(&self, scope: &str) -> Result<u64, CatalogError>;
    /// Every published plan version, oldest first.
    fn plan_versions(&self) -> Result<Vec<PlanVersionEntry>, CatalogError>;
    /// Every legal hold, lifted ones too, oldest first.
    fn holds(&self) -> Result<Vec<crate::domain::hold::Hold>, CatalogError>;
    /// A legal hold by id.
    fn hold(&self, id: u64) -> Result<Option<crate::domain::hold::Hold>, CatalogError>;
    /// Every journal seal, oldest first.
    fn seals(&self) -> Result<Vec<crate::domain::seal::Seal>, CatalogError>;
    /// The latest journal seal.
    fn latest_seal(&self) -> Result<Option<crate::domain::seal::Seal>, CatalogError>;
    /// Every disposal, oldest first, without its lines and outcomes
    /// ([`Catalog::lines_of`], [`Catalog::outcomes_of`] have them).
    fn disposals(&self) -> Result<Vec<crate::domain::disposition::Disposal>, CatalogError>;
    /// A disposal by id, without its lines and outcomes.
    fn disposal(&self, id: u64) -> Result<Option<crate::domain::disposition::Disposal>, CatalogError>;
    /// Every transfer, oldest first, without its lines and outcomes.
    fn transfers(&self) -> Result<Vec<crate::domain::disposition::Transfer>, CatalogError>;
    /// A transfer by id, without its lines and outcomes.
    fn transfer(&self, id: u64) -> Result<Option<crate::domain::disposition::Transfer>, CatalogError>;
    /// The parts of a disposal's or transfer's lines, in order.
    fn lines_of(&self, of: WayOut, id: u64) -> Result<Vec<crate::domain::disposition::LinesPart>, CatalogError>;
    /// The parts of what became of its lines, in order.
    fn outcomes_of(&self, of: WayOut, id: u64) -> Result<Vec<crate::domain::disposition::OutcomesPart>, CatalogError>;
    /// Records due on or before `until` under the rules in force (and not
    /// destroyed or transferred), by due date then id.
    fn due_until(
        &self,
        until: NaiveDate,
    ) -> Box<dyn Iterator<Item = Result<(NaiveDate, RecordId, DueEntry), CatalogError>> + '_>;
    /// How many records [`Catalog::due_until`] lists, by node and due
    /// date (in that order): what the indicators count, without reading
    /// each record's entry.
    fn due_counts(&self, until: NaiveDate) -> Result<Vec<(NodeCode, NaiveDate, u64)>, CatalogError> {
        let mut counts: BTreeMap<(NodeCode, NaiveDate), u64> = BTreeMap::new();
        for entry in self.due_until(until) {
            let (due, _, entry) = entry?;
            *counts.entry((entry.node, due)).or_default() += 1;
        }
        Ok(counts.into_iter().map(|((node, due), n)| (node, due, n)).collect())
    }
    /// A token by the hash of its text.
    fn token(&self, token_sha256: &Sha256) -> Result<Option<TokenEntry>, CatalogError>;
    /// Every token, revoked and expired ones too, in no set order.
    fn tokens(&self) -> Result<Vec<TokenEntry>, CatalogError>;
    /// The readings of a record, or by someone (a person's user name, or
    /// an actor's name), oldest first: at most `limit`, those whose seq
    /// comes after `after`.
    fn consultations(
        &self,
        of: &ConsultationsOf,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::trail::Consultation>, CatalogError>;
    /// The records that have used this blob ([`Record::blobs_used`]: a
    /// version's content, a rendition, a metadata document), destroyed
    /// ones included, in id order. A record that no longer uses it (a
    /// rendition made again) may be among them: callers check the record.
    ///
    /// [`Record::blobs_used`]: crate::domain::record::Record::blobs_used
    fn records_holding(&self, sha256: &Sha256) -> Result<Vec<RecordId>, CatalogError>;
    /// The blobs records have used, as [`Catalog::records_holding`] finds
    /// them, in digest order after `after` (exclusive), at most `limit`
    /// blobs, each with its records in id order: what walks every blob in
    /// use without holding them all.
    fn blobs_used(&self, after: Option<&Sha256>, limit: usize) -> Result<Vec<(Sha256, Vec<RecordId>)>, CatalogError>;
    /// The records linked to this one at their deposit, with how, in id
    /// order.
    fn linked_to(&self, record: &RecordId) -> Result<Vec<(RecordId, crate::domain::record::LinkKind)>, CatalogError>;
    /// The records filed in a node (exactly that node, not its children),
    /// in id order.
    fn records_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError>;
    /// The records filed in a node (exactly that node) that wait to be
    /// read as invoices ([`Record::awaits_reading`]), in id order: kept
    /// apart, so that listing them reads neither the node's other records
    /// nor any record.
    ///
    /// [`Record::awaits_reading`]: crate::domain::record::Record::awaits_reading
    fn unread_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError>;
    /// What the retention of each record filed in a node depends on, and
    /// its due mark under the rules in force, in id order, without reading
    /// the records.
    fn retention_in(&self, node: &NodeCode) -> Result<Vec<(RecordId, RetentionEntry)>, CatalogError>;
    /// The records that have held `comparable` (a value made by
    /// `domain::record::comparable`) in the field `name`, in id order. A
    /// record whose value has changed since may be among them: callers
    /// check the record.
    fn records_with_field(&self, name: &str, comparable: &str) -> Result<Vec<RecordId>, CatalogError>;
    /// The records waiting for verification, oldest deposit first, after
    /// `after` (exclusive), at most `limit`.
    fn to_verify(&self, after: Option<&RecordId>, limit: usize) -> Result<Vec<RecordId>, CatalogError>;
    /// How many records wait for verification.
    fn to_verify_count(&self) -> Result<u64, CatalogError>;
    /// Every record waiting at a step of its processing circuit (not at a
    /// final one), in id order.
    fn circulating(&self) -> Result<Vec<crate::domain::circuit::Waiting>, CatalogError>;
    /// The verification counts of one field (overall or for one supplier).
    fn check_counts(
        &self,
        key: &crate::domain::verification::CheckKey,
    ) -> Result<crate::domain::verification::CheckCounts, CatalogError>;
    /// Every verification count.
    fn all_check_counts(
        &self,
    ) -> Result<
        Vec<(
            crate::domain::verification::CheckKey,
            crate::domain::verification::CheckCounts,
        )>,
        CatalogError,
    >;
    /// How many records each node holds, for the nodes that hold any.
    fn records_by_node(&self) -> Result<std::collections::BTreeMap<NodeCode, u64>, CatalogError> {
        let mut counts = std::collections::BTreeMap::new();
        for (tally, count) in self.tallies()? {
            *counts.entry(tally.node).or_default() += count;
        }
        Ok(counts)
    }
    /// How many records stand under each tally (node, state, service,
    /// channel), for the tallies that count any, in tally order.
    fn tallies(&self) -> Result<Vec<(Tally, u64)>, CatalogError>;
    /// The records a person deposited (as their actor name says), newest
    /// first, at most `limit`.
    fn deposited_by(
        &self,
        user: &crate::domain::account::UserName,
        limit: usize,
    ) -> Result<Vec<RecordId>, CatalogError>;
    /// A person's account by user name.
    fn account(
        &self,
        user: &crate::domain::account::UserName,
    ) -> Result<Option<crate::domain::account::Account>, CatalogError>;
    /// Every account, by user name.
    fn accounts(&self) -> Result<Vec<crate::domain::account::Account>, CatalogError>;
    /// The damage known of a blob (none: not known damaged).
    fn damage(&self, blob: &Sha256) -> Result<Option<crate::domain::integrity::BlobDamage>, CatalogError>;
    /// Every blob known damaged, by digest.
    fn damages(&self) -> Result<Vec<crate::domain::integrity::BlobDamage>, CatalogError>;
    /// The latest whole integrity check (none yet: `None`).
    fn last_verification(&self) -> Result<Option<crate::domain::integrity::Verification>, CatalogError>;
    /// The collectivité's identity (not set yet: `None`).
    fn identity(&self) -> Result<Option<crate::domain::identity::Identity>, CatalogError>;

    /// The seal keys and their rotations (empty before the first key).
    fn key_chain(&self) -> Result<crate::domain::seal::KeyChain, CatalogError>;
    /// Removes everything, for a rebuild.
    fn clear(&self) -> Result<(), CatalogError>;
    /// Asks the engine to write its buffers out. Durability never depends
    /// on it (the journal is the truth); it only shortens the next replay.
    fn flush(&self) -> Result<(), CatalogError>;
}

/// Errors of the full-text index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The query cannot be read as written, or goes over a bound; says
    /// where and how to write it, in French.
    #[error(transparent)]
    Query(#[from] crate::domain::query::QueryError),
    /// The engine refused a value given to a field; says so in French.
    #[error("{0}")]
    BadQuery(String),
    /// The engine failed.
    #[error("search index: {0}")]
    Engine(String),
}

/// The full-text index: a view of the journal and the blobs.
///
/// Contract:
/// * `put` replaces the document of the same record id (so replaying an
///   event never makes a record found twice); nothing is visible before
///   `commit`;
/// * `commit(seq)` makes every put durable and visible together with the
///   seq, which `applied` then returns; after a crash the index is at its
///   last commit, and the journal is replayed from there;
/// * the text of a query is read by `domain::query`: punctuation is words,
///   a misused operator or a bound passed is `Query`, a value a field
///   cannot hold `BadQuery`, never a panic.
pub trait TextIndex: Send + Sync {
    /// The seq of the last event whose effects are committed.
    fn applied(&self) -> Result<u64, IndexError>;
    /// Adds or replaces one record's document.
    fn put(&self, doc: &IndexDocument) -> Result<(), IndexError>;
    /// Adds the document of a record the index holds nothing of, neither
    /// committed nor put since (one ingested after its last commit): the
    /// same as [`TextIndex::put`] without looking for one to replace.
    fn add(&self, doc: &IndexDocument) -> Result<(), IndexError> {
        self.put(doc)
    }
    /// Drops everything put or added since the last commit (a round that
    /// failed half-way, before it is done again).
    fn discard(&self) -> Result<(), IndexError>;
    /// Commits everything put so far as the state after event `seq`.
    fn commit(&self, seq: u64) -> Result<(), IndexError>;
    /// Runs a search.
    fn search(&self, query: &SearchQuery) -> Result<SearchResults, IndexError>;
    /// Removes records' documents, commits, then rewrites the segments
    /// that held them, so that none of their text stays in any file.
    fn purge(&self, ids: &[RecordId], seq: u64) -> Result<(), IndexError>;
    /// Every record a query finds as written (no typo tolerance, no paging).
    fn matching_ids(&self, query: &SearchQuery) -> Result<Vec<RecordId>, IndexError>;
    /// How a record's text was obtained (`None`: not indexed yet).
    fn text_status(&self, id: &RecordId) -> Result<Option<TextStatus>, IndexError>;
    /// The text extracted from a record's latest version, as indexed, cut
    /// to its first `max_chars` characters (`None`: not indexed yet).
    fn extracted_text(&self, id: &RecordId, max_chars: usize) -> Result<Option<String>, IndexError>;
    /// The text and extractor of a record's document when it was extracted
    /// from `content` by extractors of `extractor_version` without error:
    /// what extracting it again would give.
    fn reusable_text(
        &self,
        id: &RecordId,
        content: &crate::domain::hash::Sha256,
        extractor_version: u32,
    ) -> Result<Option<(String, String)>, IndexError>;
    /// Records whose extraction failed or ran with extractors older than
    /// `current_version`.
    fn needing_extraction(&self, current_version: u32) -> Result<Vec<RecordId>, IndexError>;
    /// Records whose extraction failed, each with the extractor that
    /// failed (`ocr`, `pdf`…; `none` for a format without one).
    fn extraction_failures(&self) -> Result<Vec<(RecordId, String)>, IndexError>;
    /// Since the index opened: segments whose share of a search was found
    /// kept from the same search, and segments that could have been but
    /// were searched (0 and 0 for an index that keeps nothing).
    fn reuse_counts(&self) -> (u64, u64) {
        (0, 0)
    }
}
