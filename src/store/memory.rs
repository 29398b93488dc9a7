//! In-memory adapters of every port: for unit tests, and for the auditor's
//! second projection of the journal (the catalog the journal implies, to
//! compare with the one on disk). Same contracts, nothing durable.

use super::{
    BlobError, BlobRead, BlobStore, Catalog, CatalogError, CatalogWrite, ConsultationsOf, DueEntry, Fixity, Journal,
    JournalError, JournalObserver, MerkleTree, PlanVersionEntry, StagedBlob, TokenEntry,
};
use crate::domain::clock::Clock;
use crate::domain::event::{Event, EventDraft};
use crate::domain::hash::{Sha256, Sha256Hasher};
use crate::domain::record::{NodeCode, Record, RecordId, Reference};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::sync::{Arc, Mutex, MutexGuard};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Blobs in a map.
#[derive(Default)]
pub struct MemoryBlobStore {
    blobs: Arc<Mutex<HashMap<Sha256, Arc<Vec<u8>>>>>,
}

struct MemoryStaged {
    blobs: Arc<Mutex<HashMap<Sha256, Arc<Vec<u8>>>>>,
    sha256: Sha256,
    bytes: Vec<u8>,
}

impl StagedBlob for MemoryStaged {
    fn sha256(&self) -> Sha256 {
        self.sha256
    }
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    fn head(&self) -> &[u8] {
        &self.bytes[..self.bytes.len().min(8192)]
    }
    fn reader(&self) -> Result<Box<dyn Read + Send + '_>, BlobError> {
        Ok(Box::new(self.bytes.as_slice()))
    }
    fn commit(self: Box<Self>) -> Result<Sha256, BlobError> {
        let MemoryStaged { blobs, sha256, bytes } = *self;
        lock(&blobs).entry(sha256).or_insert_with(|| Arc::new(bytes));
        Ok(sha256)
    }
    fn replace(self: Box<Self>) -> Result<Sha256, BlobError> {
        let MemoryStaged { blobs, sha256, bytes } = *self;
        lock(&blobs).insert(sha256, Arc::new(bytes));
        Ok(sha256)
    }
    fn commit_later(self: Box<Self>, stores: usize) -> Result<Box<dyn super::PendingCommit>, BlobError> {
        Ok(Box::new(super::CommitWhenWaited(self, stores)))
    }
}

impl BlobStore for MemoryBlobStore {
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        let mut bytes = Vec::new();
        source
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(BlobError::Source)?;
        if bytes.len() as u64 > limit {
            return Err(BlobError::TooLarge { limit });
        }
        let mut h = Sha256Hasher::new();
        h.update(&bytes);
        Ok(Box::new(MemoryStaged {
            blobs: Arc::clone(&self.blobs),
            sha256: h.finish(),
            bytes,
        }))
    }

    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError> {
        let bytes = lock(&self.blobs)
            .get(sha256)
            .cloned()
            .ok_or(BlobError::NotFound(*sha256))?;
        let size = bytes.len() as u64;
        Ok((Box::new(Cursor::new(bytes.to_vec())), size))
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        Ok(lock(&self.blobs).contains_key(sha256))
    }

    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError> {
        let Some(bytes) = lock(&self.blobs).get(sha256).cloned() else {
            return Ok(Fixity::Missing);
        };
        progress(bytes.len() as u64);
        Ok(Fixity::of_bytes(sha256, &bytes))
    }

    fn list(&self) -> Result<Vec<Sha256>, BlobError> {
        Ok(lock(&self.blobs).keys().copied().collect())
    }

    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        Ok(lock(&self.blobs).remove(sha256).is_some())
    }
}

#[derive(Default)]
struct CatalogState {
    last_seq: u64,
    records: BTreeMap<RecordId, Record>,
    references: HashMap<Reference, RecordId>,
    contents: std::collections::BTreeSet<(Sha256, RecordId)>,
    depositors: std::collections::BTreeSet<(crate::domain::account::UserName, RecordId)>,
    counters: HashMap<String, u64>,
    plans: Vec<PlanVersionEntry>,
    rules: std::sync::Arc<crate::domain::retention::RuleTable>,
    holds: BTreeMap<u64, crate::domain::hold::Hold>,
    seals: BTreeMap<u64, crate::domain::seal::Seal>,
    disposals: BTreeMap<u64, crate::domain::disposition::Disposal>,
    transfers: BTreeMap<u64, crate::domain::disposition::Transfer>,
    lines: BTreeMap<(super::WayOut, u64, u32), crate::domain::disposition::LinesPart>,
    outcomes: BTreeMap<(super::WayOut, u64, u32), crate::domain::disposition::OutcomesPart>,
    tokens: HashMap<Sha256, TokenEntry>,
    consultations: Vec<crate::domain::trail::Consultation>,
    accounts: std::collections::BTreeMap<crate::domain::account::UserName, crate::domain::account::Account>,
    verification: Option<crate::domain::integrity::Verification>,
    identity: Option<crate::domain::identity::Identity>,
    key_chain: crate::domain::seal::KeyChain,
    damages: BTreeMap<Sha256, crate::domain::integrity::BlobDamage>,
    checks: BTreeMap<crate::domain::verification::CheckKey, crate::domain::verification::CheckCounts>,
}

/// A catalog in maps.
#[derive(Default)]
pub struct MemoryCatalog {
    state: Mutex<CatalogState>,
    scans: std::sync::atomic::AtomicU64,
}

impl MemoryCatalog {
    /// How many times every record was listed ([`Catalog::records`]): what
    /// the tests of operations that must not read every record look at.
    pub fn scans(&self) -> u64 {
        self.scans.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A record as stored, with its due mark reckoned from `rules`.
fn with_due(rules: &crate::domain::retention::RuleTable, record: &Record) -> Record {
    let mut record = record.clone();
    record.due = rules.record_due(&record);
    record
}

impl Catalog for MemoryCatalog {
    fn last_applied(&self) -> Result<u64, CatalogError> {
        Ok(lock(&self.state).last_seq)
    }

    fn apply(&self, seq: u64, writes: Vec<CatalogWrite>) -> Result<(), CatalogError> {
        let mut state = lock(&self.state);
        for write in writes {
            match write {
                CatalogWrite::PutRecord(record) => {
                    state.references.insert(record.reference.clone(), record.id);
                    for alias in &record.aliases {
                        state.references.insert(alias.clone(), record.id);
                    }
                    for sha256 in record.blobs_used() {
                        state.contents.insert((*sha256, record.id));
                    }
                    if let Some(user) = crate::domain::account::person_of_actor(&record.created_by) {
                        state.depositors.insert((user, record.id));
                    }
                    let mut record = *record;
                    record.due = None;
                    state.records.insert(record.id, record);
                }
                CatalogWrite::PutRules(table) => state.rules = std::sync::Arc::new(*table),
                CatalogWrite::RaiseCounter { scope, value } => {
                    let c = state.counters.entry(scope).or_default();
                    *c = (*c).max(value);
                }
                CatalogWrite::PutSeal(seal) => {
                    state.seals.insert(seal.seq, *seal);
                }
                CatalogWrite::PutHold(hold) => {
                    state.holds.insert(hold.id, *hold);
                }
                CatalogWrite::PutDisposal(disposal) => {
                    state.disposals.insert(disposal.proposal.id, *disposal);
                }
                CatalogWrite::PutTransfer(transfer) => {
                    state.transfers.insert(transfer.proposal.id, *transfer);
                }
                CatalogWrite::PutLines { of, id, part, lines } => {
                    state.lines.insert((of, id, part), *lines);
                }
                CatalogWrite::PutOutcomes { of, id, part, outcomes } => {
                    state.outcomes.insert((of, id, part), *outcomes);
                }
                CatalogWrite::PutPlanVersion(entry) => {
                    state.plans.retain(|p| p.number != entry.number);
                    state.plans.push(entry);
                    state.plans.sort_by_key(|p| p.number);
                }
                CatalogWrite::PutAccount(account) => {
                    state.accounts.insert(account.user.clone(), *account);
                }
                CatalogWrite::PutVerification(verification) => {
                    state.verification = Some(verification);
                }
                CatalogWrite::PutIdentity(identity) => {
                    state.identity = Some(*identity);
                }
                CatalogWrite::PutKeyChain(chain) => {
                    state.key_chain = *chain;
                }
                CatalogWrite::PutDamage(damage) => {
                    state.damages.insert(damage.blob, damage);
                }
                CatalogWrite::RemoveDamage(blob) => {
                    state.damages.remove(&blob);
                }
                CatalogWrite::PutCheckCounts { key, counts } => {
                    state.checks.insert(key, counts);
                }
                CatalogWrite::PutToken(token) => {
                    state.tokens.insert(token.token_sha256, token);
                }
                CatalogWrite::PutConsultation(consultation) => {
                    state.consultations.retain(|c| c.seq != consultation.seq);
                    state.consultations.push(*consultation);
                }
            }
        }
        state.last_seq = seq;
        Ok(())
    }

    fn record(&self, id: &RecordId) -> Result<Option<Record>, CatalogError> {
        let state = lock(&self.state);
        Ok(state.records.get(id).map(|record| with_due(&state.rules, record)))
    }

    fn record_id(&self, reference: &Reference) -> Result<Option<RecordId>, CatalogError> {
        Ok(lock(&self.state).references.get(reference).copied())
    }

    fn records(&self) -> Box<dyn Iterator<Item = Result<Record, CatalogError>> + '_> {
        self.scans.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let state = lock(&self.state);
        let all: Vec<Record> = state.records.values().map(|r| with_due(&state.rules, r)).collect();
        Box::new(all.into_iter().map(Ok))
    }

    fn counter(&self, scope: &str) -> Result<u64, CatalogError> {
        Ok(lock(&self.state).counters.get(scope).copied().unwrap_or(0))
    }

    fn due_until(
        &self,
        until: NaiveDate,
    ) -> Box<dyn Iterator<Item = Result<(NaiveDate, RecordId, DueEntry), CatalogError>> + '_> {
        let state = lock(&self.state);
        let mut found: Vec<_> = state
            .records
            .values()
            .filter_map(|record| {
                let due = state.rules.record_due(record).filter(|due| due.date <= until)?;
                Some((
                    due.date,
                    record.id,
                    DueEntry {
                        reference: record.reference.clone(),
                        node: record.node.clone(),
                        rule: due.rule,
                        final_action: due.final_action,
                    },
                ))
            })
            .collect();
        found.sort_by_key(|(day, id, _)| (*day, *id));
        let found: Vec<_> = found.into_iter().map(Ok).collect();
        Box::new(found.into_iter())
    }

    fn holds(&self) -> Result<Vec<crate::domain::hold::Hold>, CatalogError> {
        Ok(lock(&self.state).holds.values().cloned().collect())
    }

    fn hold(&self, id: u64) -> Result<Option<crate::domain::hold::Hold>, CatalogError> {
        Ok(lock(&self.state).holds.get(&id).cloned())
    }

    fn seals(&self) -> Result<Vec<crate::domain::seal::Seal>, CatalogError> {
        Ok(lock(&self.state).seals.values().cloned().collect())
    }

    fn latest_seal(&self) -> Result<Option<crate::domain::seal::Seal>, CatalogError> {
        Ok(lock(&self.state).seals.values().next_back().cloned())
    }

    fn disposals(&self) -> Result<Vec<crate::domain::disposition::Disposal>, CatalogError> {
        Ok(lock(&self.state).disposals.values().cloned().collect())
    }

    fn disposal(&self, id: u64) -> Result<Option<crate::domain::disposition::Disposal>, CatalogError> {
        Ok(lock(&self.state).disposals.get(&id).cloned())
    }

    fn transfers(&self) -> Result<Vec<crate::domain::disposition::Transfer>, CatalogError> {
        Ok(lock(&self.state).transfers.values().cloned().collect())
    }

    fn transfer(&self, id: u64) -> Result<Option<crate::domain::disposition::Transfer>, CatalogError> {
        Ok(lock(&self.state).transfers.get(&id).cloned())
    }

    fn lines_of(&self, of: super::WayOut, id: u64) -> Result<Vec<crate::domain::disposition::LinesPart>, CatalogError> {
        Ok(lock(&self.state)
            .lines
            .range((of, id, 0)..=(of, id, u32::MAX))
            .map(|(_, part)| part.clone())
            .collect())
    }

    fn outcomes_of(
        &self,
        of: super::WayOut,
        id: u64,
    ) -> Result<Vec<crate::domain::disposition::OutcomesPart>, CatalogError> {
        Ok(lock(&self.state)
            .outcomes
            .range((of, id, 0)..=(of, id, u32::MAX))
            .map(|(_, part)| part.clone())
            .collect())
    }

    fn plan_versions(&self) -> Result<Vec<PlanVersionEntry>, CatalogError> {
        Ok(lock(&self.state).plans.clone())
    }

    fn records_holding(&self, sha256: &Sha256) -> Result<Vec<RecordId>, CatalogError> {
        Ok(lock(&self.state)
            .contents
            .iter()
            .filter(|(sha, _)| sha == sha256)
            .map(|(_, id)| *id)
            .collect())
    }

    fn blobs_used(&self, after: Option<&Sha256>, limit: usize) -> Result<Vec<(Sha256, Vec<RecordId>)>, CatalogError> {
        let state = lock(&self.state);
        let mut used: Vec<(Sha256, Vec<RecordId>)> = Vec::new();
        let start = after.map_or(std::ops::Bound::Unbounded, |sha| {
            std::ops::Bound::Excluded((*sha, RecordId::last_possible()))
        });
        for (sha, id) in state.contents.range((start, std::ops::Bound::Unbounded)) {
            if let Some((_, ids)) = used.last_mut().filter(|(last, _)| last == sha) {
                ids.push(*id);
            } else if used.len() == limit {
                break;
            } else {
                used.push((*sha, vec![*id]));
            }
        }
        Ok(used)
    }

    fn records_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        Ok(lock(&self.state)
            .records
            .values()
            .filter(|r| &r.node == node)
            .map(|r| r.id)
            .collect())
    }

    fn unread_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        Ok(lock(&self.state)
            .records
            .values()
            .filter(|r| &r.node == node && r.awaits_reading())
            .map(|r| r.id)
            .collect())
    }

    fn records_with_field(&self, name: &str, comparable: &str) -> Result<Vec<RecordId>, CatalogError> {
        Ok(lock(&self.state)
            .records
            .values()
            .filter(|r| {
                r.fields
                    .get(name)
                    .is_some_and(|v| crate::domain::record::comparable(v) == comparable)
            })
            .map(|r| r.id)
            .collect())
    }

    fn linked_to(&self, record: &RecordId) -> Result<Vec<(RecordId, crate::domain::record::LinkKind)>, CatalogError> {
        Ok(lock(&self.state)
            .records
            .values()
            .flat_map(|r| r.links.iter().filter(|l| l.record == *record).map(|l| (r.id, l.kind)))
            .collect())
    }

    fn retention_in(&self, node: &NodeCode) -> Result<Vec<(RecordId, super::RetentionEntry)>, CatalogError> {
        let state = lock(&self.state);
        Ok(state
            .records
            .values()
            .filter(|r| &r.node == node)
            .map(|r| (r.id, super::RetentionEntry::of(&with_due(&state.rules, r))))
            .collect())
    }

    fn tallies(&self) -> Result<Vec<(super::Tally, u64)>, CatalogError> {
        let mut counts: BTreeMap<super::Tally, u64> = BTreeMap::new();
        for record in lock(&self.state).records.values() {
            *counts.entry(super::Tally::of(record)).or_default() += 1;
        }
        Ok(counts.into_iter().collect())
    }

    fn deposited_by(
        &self,
        user: &crate::domain::account::UserName,
        limit: usize,
    ) -> Result<Vec<RecordId>, CatalogError> {
        Ok(lock(&self.state)
            .depositors
            .iter()
            .rev()
            .filter(|(who, _)| who == user)
            .take(limit)
            .map(|(_, id)| *id)
            .collect())
    }

    fn account(
        &self,
        user: &crate::domain::account::UserName,
    ) -> Result<Option<crate::domain::account::Account>, CatalogError> {
        Ok(lock(&self.state).accounts.get(user).cloned())
    }

    fn accounts(&self) -> Result<Vec<crate::domain::account::Account>, CatalogError> {
        Ok(lock(&self.state).accounts.values().cloned().collect())
    }

    fn damage(&self, blob: &Sha256) -> Result<Option<crate::domain::integrity::BlobDamage>, CatalogError> {
        Ok(lock(&self.state).damages.get(blob).cloned())
    }

    fn damages(&self) -> Result<Vec<crate::domain::integrity::BlobDamage>, CatalogError> {
        Ok(lock(&self.state).damages.values().cloned().collect())
    }

    fn last_verification(&self) -> Result<Option<crate::domain::integrity::Verification>, CatalogError> {
        Ok(lock(&self.state).verification.clone())
    }

    fn identity(&self) -> Result<Option<crate::domain::identity::Identity>, CatalogError> {
        Ok(lock(&self.state).identity.clone())
    }

    fn key_chain(&self) -> Result<crate::domain::seal::KeyChain, CatalogError> {
        Ok(lock(&self.state).key_chain.clone())
    }

    fn token(&self, token_sha256: &Sha256) -> Result<Option<TokenEntry>, CatalogError> {
        Ok(lock(&self.state).tokens.get(token_sha256).cloned())
    }

    fn tokens(&self) -> Result<Vec<TokenEntry>, CatalogError> {
        Ok(lock(&self.state).tokens.values().cloned().collect())
    }

    fn consultations(
        &self,
        of: &ConsultationsOf,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::trail::Consultation>, CatalogError> {
        let mut found: Vec<_> = lock(&self.state)
            .consultations
            .iter()
            .filter(|c| c.seq > after)
            .filter(|c| match of {
                ConsultationsOf::Record(id) => c.record == *id,
                ConsultationsOf::Who(who) => c.who == *who,
            })
            .cloned()
            .collect();
        found.sort_by_key(|c| c.seq);
        found.truncate(limit);
        Ok(found)
    }

    fn to_verify(&self, after: Option<&RecordId>, limit: usize) -> Result<Vec<RecordId>, CatalogError> {
        let state = lock(&self.state);
        let from = match after {
            Some(after) => std::ops::Bound::Excluded(*after),
            None => std::ops::Bound::Unbounded,
        };
        Ok(state
            .records
            .range((from, std::ops::Bound::Unbounded))
            .filter(|(_, r)| r.to_verify.is_some())
            .map(|(id, _)| *id)
            .take(limit)
            .collect())
    }

    fn to_verify_count(&self) -> Result<u64, CatalogError> {
        Ok(lock(&self.state)
            .records
            .values()
            .filter(|r| r.to_verify.is_some())
            .count() as u64)
    }

    fn circulating(&self) -> Result<Vec<crate::domain::circuit::Waiting>, CatalogError> {
        Ok(lock(&self.state)
            .records
            .values()
            .filter_map(crate::domain::circuit::Waiting::of)
            .collect())
    }

    fn check_counts(
        &self,
        key: &crate::domain::verification::CheckKey,
    ) -> Result<crate::domain::verification::CheckCounts, CatalogError> {
        Ok(lock(&self.state).checks.get(key).copied().unwrap_or_default())
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
        Ok(lock(&self.state).checks.iter().map(|(k, c)| (k.clone(), *c)).collect())
    }

    fn clear(&self) -> Result<(), CatalogError> {
        *lock(&self.state) = CatalogState::default();
        Ok(())
    }

    fn flush(&self) -> Result<(), CatalogError> {
        Ok(())
    }
}

/// A journal in a vector; appends are serialised and observed under a lock.
pub struct MemoryJournal {
    events: Mutex<Vec<Event>>,
    clock: Arc<dyn Clock>,
    observer: Arc<dyn JournalObserver>,
}

impl MemoryJournal {
    /// An empty journal telling `observer` of each append.
    pub fn new(clock: Arc<dyn Clock>, observer: Arc<dyn JournalObserver>) -> Self {
        Self {
            events: Mutex::new(Vec::new()),
            clock,
            observer,
        }
    }
}

impl Journal for MemoryJournal {
    fn append(&self, draft: EventDraft) -> Result<Event, JournalError> {
        let mut events = lock(&self.events);
        let (seq, prev, time) = events
            .last()
            .map_or((0, Sha256::ZERO, chrono::DateTime::UNIX_EPOCH), |e| {
                (e.seq, e.hash, e.time)
            });
        let event = Event::seal(draft, seq + 1, self.clock.now().max(time), prev);
        events.push(event.clone());
        self.observer
            .on_durable(&event)
            .map_err(|reason| JournalError::ViewFailed { seq: event.seq, reason })?;
        Ok(event)
    }

    fn head(&self) -> (u64, Sha256) {
        lock(&self.events).last().map_or((0, Sha256::ZERO), |e| (e.seq, e.hash))
    }

    fn read_from(
        &self,
        seq: u64,
    ) -> Result<Box<dyn Iterator<Item = Result<Event, JournalError>> + Send>, JournalError> {
        let events: Vec<Event> = lock(&self.events).iter().filter(|e| e.seq >= seq).cloned().collect();
        Ok(Box::new(events.into_iter().map(Ok)))
    }
}

/// A Merkle tree in memory: every perfect node, level by level.
#[derive(Default)]
pub struct MemoryTree {
    levels: Mutex<(Vec<Vec<Sha256>>, crate::domain::merkle::Frontier)>,
}

impl MerkleTree for MemoryTree {
    fn size(&self) -> u64 {
        lock(&self.levels).1.size()
    }

    fn append(&self, index: u64, leaf: Sha256) -> std::io::Result<()> {
        let mut guard = lock(&self.levels);
        let (levels, frontier) = &mut *guard;
        if index != frontier.size() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("leaf {index} appended to a Merkle tree of {} leaves", frontier.size()),
            ));
        }
        for (level, _, hash) in frontier.push(leaf) {
            while levels.len() <= level as usize {
                levels.push(Vec::new());
            }
            levels[level as usize].push(hash);
        }
        Ok(())
    }

    fn truncate(&self, size: u64) -> std::io::Result<()> {
        let mut guard = lock(&self.levels);
        let (levels, frontier) = &mut *guard;
        if size >= frontier.size() {
            return Ok(());
        }
        for (level, hashes) in levels.iter_mut().enumerate() {
            hashes.truncate((size >> level) as usize);
        }
        let mut edge = crate::domain::merkle::Frontier::new();
        for leaf in levels.first().cloned().unwrap_or_default() {
            edge.push(leaf);
        }
        *frontier = edge;
        Ok(())
    }

    fn perfect(&self, level: u32, index: u64) -> std::io::Result<Sha256> {
        lock(&self.levels)
            .0
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such Merkle node"))
    }

    fn sync(&self) -> std::io::Result<()> {
        Ok(())
    }
}
