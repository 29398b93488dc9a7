//! Fault injection at the storage ports, for tests: adapters that pass
//! every call to the real one, except the one write that a [`Trigger`]
//! picks, which fails as a disk does (no space left, or an I/O error).
//!
//! A write is any call that changes a store: staging and committing a
//! blob, erasing one; applying an event to the catalog, flushing it;
//! appending a Merkle leaf, syncing the tree; appending to the journal
//! (refused before it is written, or, `Landed`, failing once it is
//! durable, as a sync that reports an error after the data reached the
//! disk).

use super::{
    BlobError, BlobRead, BlobStore, Catalog, CatalogError, CatalogWrite, ConsultationsOf, DueEntry, Fixity, Journal,
    JournalError, MerkleTree, StagedBlob, TokenEntry,
};
use crate::domain::event::{Event, EventDraft};
use crate::domain::hash::Sha256;
use crate::domain::record::{NodeCode, Record, RecordId, Reference};
use chrono::NaiveDate;
use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How the write fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// `ENOSPC`.
    NoSpace,
    /// `EIO`.
    Io,
}

impl Failure {
    fn error(self) -> io::Error {
        match self {
            Failure::NoSpace => io::Error::from_raw_os_error(28),
            Failure::Io => io::Error::from_raw_os_error(5),
        }
    }
}

/// Which write fails: the `at`-th (from 1) of the port's writes, or every
/// one from it on (`sticky`: a disk that stays full).
#[derive(Debug)]
pub struct Trigger {
    at: u64,
    sticky: bool,
    failure: Failure,
    seen: AtomicU64,
    fired: AtomicU64,
}

impl Trigger {
    /// Fails the `at`-th write only.
    pub fn once(at: u64, failure: Failure) -> Arc<Trigger> {
        Arc::new(Trigger {
            at,
            sticky: false,
            failure,
            seen: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        })
    }

    /// Fails every write from the `at`-th on.
    pub fn from(at: u64, failure: Failure) -> Arc<Trigger> {
        Arc::new(Trigger {
            at,
            sticky: true,
            failure,
            seen: AtomicU64::new(0),
            fired: AtomicU64::new(0),
        })
    }

    /// Counts a write; its error when it is the one to fail.
    pub fn write(&self) -> io::Result<()> {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.at || (self.sticky && n > self.at) {
            self.fired.fetch_add(1, Ordering::SeqCst);
            return Err(self.failure.error());
        }
        Ok(())
    }

    /// How many writes failed.
    pub fn fired(&self) -> u64 {
        self.fired.load(Ordering::SeqCst)
    }
}

/// A blob store whose writes fail when the trigger says.
pub struct FaultyBlobs {
    pub inner: Arc<dyn BlobStore>,
    pub trigger: Arc<Trigger>,
}

struct FaultyStaged {
    inner: Box<dyn StagedBlob>,
    trigger: Arc<Trigger>,
}

impl StagedBlob for FaultyStaged {
    fn sha256(&self) -> Sha256 {
        self.inner.sha256()
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn head(&self) -> &[u8] {
        self.inner.head()
    }
    fn reader(&self) -> Result<Box<dyn Read + Send + '_>, BlobError> {
        self.inner.reader()
    }
    fn commit(self: Box<Self>) -> Result<Sha256, BlobError> {
        self.trigger.write()?;
        self.inner.commit()
    }
    fn replace(self: Box<Self>) -> Result<Sha256, BlobError> {
        self.trigger.write()?;
        self.inner.replace()
    }
    fn commit_later(self: Box<Self>, stores: usize) -> Result<Box<dyn super::PendingCommit>, BlobError> {
        Ok(Box::new(super::CommitWhenWaited(self, stores)))
    }
}

impl BlobStore for FaultyBlobs {
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        self.trigger.write()?;
        let inner = self.inner.stage(source, limit)?;
        Ok(Box::new(FaultyStaged {
            inner,
            trigger: Arc::clone(&self.trigger),
        }))
    }
    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError> {
        self.inner.open(sha256)
    }
    fn contains(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        self.inner.contains(sha256)
    }
    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError> {
        self.inner.verify(sha256, progress)
    }
    fn list(&self) -> Result<Vec<Sha256>, BlobError> {
        self.inner.list()
    }
    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        self.trigger.write()?;
        self.inner.erase(sha256)
    }
}

/// A catalog whose writes fail when the trigger says.
pub struct FaultyCatalog {
    pub inner: Arc<dyn Catalog>,
    pub trigger: Arc<Trigger>,
}

fn catalog_failure(e: io::Error) -> CatalogError {
    CatalogError::Storage(e.to_string())
}

impl Catalog for FaultyCatalog {
    fn last_applied(&self) -> Result<u64, CatalogError> {
        self.inner.last_applied()
    }
    fn apply(&self, seq: u64, writes: Vec<CatalogWrite>) -> Result<(), CatalogError> {
        self.trigger.write().map_err(catalog_failure)?;
        self.inner.apply(seq, writes)
    }
    fn record(&self, id: &RecordId) -> Result<Option<Record>, CatalogError> {
        self.inner.record(id)
    }
    fn record_id(&self, reference: &Reference) -> Result<Option<RecordId>, CatalogError> {
        self.inner.record_id(reference)
    }
    fn records(&self) -> Box<dyn Iterator<Item = Result<Record, CatalogError>> + '_> {
        self.inner.records()
    }
    fn counter(&self, scope: &str) -> Result<u64, CatalogError> {
        self.inner.counter(scope)
    }
    fn plan_versions(&self) -> Result<Vec<super::PlanVersionEntry>, CatalogError> {
        self.inner.plan_versions()
    }
    fn holds(&self) -> Result<Vec<crate::domain::hold::Hold>, CatalogError> {
        self.inner.holds()
    }
    fn hold(&self, id: u64) -> Result<Option<crate::domain::hold::Hold>, CatalogError> {
        self.inner.hold(id)
    }
    fn seals(&self) -> Result<Vec<crate::domain::seal::Seal>, CatalogError> {
        self.inner.seals()
    }
    fn latest_seal(&self) -> Result<Option<crate::domain::seal::Seal>, CatalogError> {
        self.inner.latest_seal()
    }
    fn disposals(&self) -> Result<Vec<crate::domain::disposition::Disposal>, CatalogError> {
        self.inner.disposals()
    }
    fn disposal(&self, id: u64) -> Result<Option<crate::domain::disposition::Disposal>, CatalogError> {
        self.inner.disposal(id)
    }
    fn transfers(&self) -> Result<Vec<crate::domain::disposition::Transfer>, CatalogError> {
        self.inner.transfers()
    }
    fn transfer(&self, id: u64) -> Result<Option<crate::domain::disposition::Transfer>, CatalogError> {
        self.inner.transfer(id)
    }
    fn lines_of(&self, of: super::WayOut, id: u64) -> Result<Vec<crate::domain::disposition::LinesPart>, CatalogError> {
        self.inner.lines_of(of, id)
    }
    fn outcomes_of(
        &self,
        of: super::WayOut,
        id: u64,
    ) -> Result<Vec<crate::domain::disposition::OutcomesPart>, CatalogError> {
        self.inner.outcomes_of(of, id)
    }
    fn due_until(
        &self,
        until: NaiveDate,
    ) -> Box<dyn Iterator<Item = Result<(NaiveDate, RecordId, DueEntry), CatalogError>> + '_> {
        self.inner.due_until(until)
    }
    fn token(&self, token_sha256: &Sha256) -> Result<Option<TokenEntry>, CatalogError> {
        self.inner.token(token_sha256)
    }
    fn tokens(&self) -> Result<Vec<TokenEntry>, CatalogError> {
        self.inner.tokens()
    }
    fn consultations(
        &self,
        of: &ConsultationsOf,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::trail::Consultation>, CatalogError> {
        self.inner.consultations(of, after, limit)
    }
    fn records_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        self.inner.records_in(node)
    }
    fn unread_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        self.inner.unread_in(node)
    }
    fn records_with_field(&self, name: &str, comparable: &str) -> Result<Vec<RecordId>, CatalogError> {
        self.inner.records_with_field(name, comparable)
    }
    fn linked_to(&self, record: &RecordId) -> Result<Vec<(RecordId, crate::domain::record::LinkKind)>, CatalogError> {
        self.inner.linked_to(record)
    }
    fn retention_in(&self, node: &NodeCode) -> Result<Vec<(RecordId, super::RetentionEntry)>, CatalogError> {
        self.inner.retention_in(node)
    }
    fn tallies(&self) -> Result<Vec<(super::Tally, u64)>, CatalogError> {
        self.inner.tallies()
    }
    fn to_verify(&self, after: Option<&RecordId>, limit: usize) -> Result<Vec<RecordId>, CatalogError> {
        self.inner.to_verify(after, limit)
    }
    fn to_verify_count(&self) -> Result<u64, CatalogError> {
        self.inner.to_verify_count()
    }
    fn circulating(&self) -> Result<Vec<crate::domain::circuit::Waiting>, CatalogError> {
        self.inner.circulating()
    }
    fn check_counts(
        &self,
        key: &crate::domain::verification::CheckKey,
    ) -> Result<crate::domain::verification::CheckCounts, CatalogError> {
        self.inner.check_counts(key)
    }
    fn all_check_counts(
        &self,
    ) -> Result<
        Vec<(
            crate::domain::verification::CheckKey,
            crate::domain::verification::CheckCounts,
        )>,
        CatalogError,
    > {
        self.inner.all_check_counts()
    }
    fn records_holding(&self, sha256: &Sha256) -> Result<Vec<RecordId>, CatalogError> {
        self.inner.records_holding(sha256)
    }

    fn blobs_used(&self, after: Option<&Sha256>, limit: usize) -> Result<Vec<(Sha256, Vec<RecordId>)>, CatalogError> {
        self.inner.blobs_used(after, limit)
    }
    fn deposited_by(
        &self,
        user: &crate::domain::account::UserName,
        limit: usize,
    ) -> Result<Vec<RecordId>, CatalogError> {
        self.inner.deposited_by(user, limit)
    }
    fn account(
        &self,
        user: &crate::domain::account::UserName,
    ) -> Result<Option<crate::domain::account::Account>, CatalogError> {
        self.inner.account(user)
    }
    fn accounts(&self) -> Result<Vec<crate::domain::account::Account>, CatalogError> {
        self.inner.accounts()
    }
    fn damage(&self, blob: &Sha256) -> Result<Option<crate::domain::integrity::BlobDamage>, CatalogError> {
        self.inner.damage(blob)
    }
    fn damages(&self) -> Result<Vec<crate::domain::integrity::BlobDamage>, CatalogError> {
        self.inner.damages()
    }
    fn last_verification(&self) -> Result<Option<crate::domain::integrity::Verification>, CatalogError> {
        self.inner.last_verification()
    }
    fn identity(&self) -> Result<Option<crate::domain::identity::Identity>, CatalogError> {
        self.inner.identity()
    }
    fn key_chain(&self) -> Result<crate::domain::seal::KeyChain, CatalogError> {
        self.inner.key_chain()
    }
    fn clear(&self) -> Result<(), CatalogError> {
        self.trigger.write().map_err(catalog_failure)?;
        self.inner.clear()
    }
    fn flush(&self) -> Result<(), CatalogError> {
        self.trigger.write().map_err(catalog_failure)?;
        self.inner.flush()
    }
}

/// A Merkle tree whose writes fail when the trigger says.
pub struct FaultyTree {
    pub inner: Arc<dyn MerkleTree>,
    pub trigger: Arc<Trigger>,
}

impl MerkleTree for FaultyTree {
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn append(&self, index: u64, leaf: Sha256) -> io::Result<()> {
        self.trigger.write()?;
        self.inner.append(index, leaf)
    }
    fn truncate(&self, size: u64) -> io::Result<()> {
        self.trigger.write()?;
        self.inner.truncate(size)
    }
    fn perfect(&self, level: u32, index: u64) -> io::Result<Sha256> {
        self.inner.perfect(level, index)
    }
    fn sync(&self) -> io::Result<()> {
        self.trigger.write()?;
        self.inner.sync()
    }
}

/// Where a journal append fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalStep {
    /// Before the event is written: nothing of it lands.
    Refused,
    /// Once the event is durable: it landed, the caller hears it failed.
    Landed,
}

/// A journal whose appends fail when the trigger says.
pub struct FaultyJournal {
    pub inner: Arc<dyn Journal>,
    pub trigger: Arc<Trigger>,
    pub step: JournalStep,
}

impl Journal for FaultyJournal {
    fn append(&self, draft: EventDraft) -> Result<Event, JournalError> {
        match self.step {
            JournalStep::Refused => {
                self.trigger.write()?;
                self.inner.append(draft)
            }
            JournalStep::Landed => {
                let event = self.inner.append(draft)?;
                self.trigger.write()?;
                Ok(event)
            }
        }
    }
    fn head(&self) -> (u64, Sha256) {
        self.inner.head()
    }
    fn read_from(
        &self,
        seq: u64,
    ) -> Result<Box<dyn Iterator<Item = Result<Event, JournalError>> + Send>, JournalError> {
        self.inner.read_from(seq)
    }
}
