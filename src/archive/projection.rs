//! What each journal event means for the catalog: the one place where events
//! become records, versions, counters and tokens.
//!
//! The same code builds the live catalog (as the journal's observer), the
//! catalog after a rebuild, and the auditor's in-memory catalog, which is
//! why a rebuilt catalog answers exactly as the old one did.

use crate::domain::account::{Account, UserName};
use crate::domain::circuit::{Circulation, Passage};
use crate::domain::disposition::{
    Disposal, DisposalState, Execution, LinesPart, OutcomesPart, Proposal, Totals, Transfer, Visa,
};
use crate::domain::event::{Event, EventBody, VersionFacts};
use crate::domain::hash::Sha256;
use crate::domain::hold::{Hold, HoldLift};
use crate::domain::record::{
    DescriptiveMetadata, HistoryEntry, METADATA_FORMAT, Record, RecordId, RecordState, ReviewDecision, Tombstone,
    Version,
};
use crate::domain::retention::RuleTable;
use crate::domain::trail::Consultation;
use crate::domain::verification::{CheckCounts, RecordReading, ToVerify, VerifyReason, counts_of};
use crate::store::{
    BlobError, BlobStore, Catalog, CatalogWrite, JournalObserver, PlanVersionEntry, TokenEntry, TokenRevocation,
    ViewError, WayOut,
};
use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

/// The largest metadata document read back; they are written by coffre and
/// are small, so anything bigger is damage.
const METADATA_MAX: u64 = 16 * 1024 * 1024;

/// A record's writes. Its due mark is not among them: the catalog reckons
/// it from the rules in force when the record is read.
fn put(record: Record) -> Vec<CatalogWrite> {
    vec![CatalogWrite::PutRecord(Box::new(record))]
}

/// Applies events to a catalog.
pub struct Projector {
    catalog: Arc<dyn Catalog>,
    blobs: Arc<dyn BlobStore>,
}

impl Projector {
    /// A projector into `catalog`, reading metadata documents from `blobs`.
    pub fn new(catalog: Arc<dyn Catalog>, blobs: Arc<dyn BlobStore>) -> Self {
        Projector { catalog, blobs }
    }

    /// Applies one event (and records its seq as applied).
    pub fn apply(&self, event: &Event) -> Result<(), ViewError> {
        let writes = self.writes_for(event)?;
        Ok(self.catalog.apply(event.seq, writes)?)
    }

    /// Applies events in order, as [`Self::apply`] would one by one, for a
    /// catalog catching up with the journal (a rebuild), in the runs
    /// [`runs`] cuts. Returns how many events were applied; an error names
    /// the seq of the event (or of the run's last event) that failed.
    pub fn replay(
        &self,
        events: impl Iterator<Item = Result<Event, crate::store::JournalError>>,
    ) -> Result<u64, crate::store::JournalError> {
        let mut applied = 0u64;
        let mut pending: Vec<Event> = Vec::new();
        let apply = |pending: &mut Vec<Event>| -> Result<u64, crate::store::JournalError> {
            let mut applied = 0;
            for run in runs(pending) {
                self.apply_run(run)
                    .map_err(|reason| crate::store::JournalError::ViewFailed {
                        seq: run.last().map_or(0, |e| e.seq),
                        reason,
                    })?;
                applied += run.len() as u64;
            }
            pending.clear();
            Ok(applied)
        };
        for event in events {
            let event = event?;
            let ends_run = !joins_runs(&event);
            pending.push(event);
            if ends_run || pending.len() >= REPLAY_RUN {
                applied += apply(&mut pending)?;
            }
        }
        applied += apply(&mut pending)?;
        Ok(applied)
    }

    /// Applies a run cut by [`runs`]: one event alone, or deposits in one
    /// catalog batch, their writes computed on every core, kept in the
    /// events' order. A deposit's projection reads nothing of the catalog
    /// that another deposit writes (the catalog places each record under
    /// the rules in force, which no deposit changes), so the batch holds
    /// exactly what the events one by one would have written.
    pub(super) fn apply_run(&self, run: &[Event]) -> Result<(), ViewError> {
        match run {
            [] => Ok(()),
            [event] => self.apply(event),
            [.., last] => {
                let writes = super::on_every_core(run, |event| self.writes_for(event))?;
                Ok(self.catalog.apply(last.seq, writes)?)
            }
        }
    }

    /// Applies events in order, as [`Self::apply`] would one by one, the
    /// deposits in runs, and names each event that cannot be applied (a
    /// run that fails is applied again event by event, so that each
    /// failure is named and the others applied): for a check projecting
    /// the journal into a catalog of its own.
    pub(super) fn apply_each(&self, events: &[Event]) -> Vec<(u64, ViewError)> {
        let mut failed = Vec::new();
        for run in runs(events) {
            if run.len() > 1 && self.apply_run(run).is_ok() {
                continue;
            }
            for event in run {
                if let Err(e) = self.apply(event) {
                    failed.push((event.seq, e));
                }
            }
        }
        failed
    }

    /// The proposal's event in the history of each record it lists.
    fn note_in_histories(
        &self,
        lines: &[crate::domain::disposition::DisposalLine],
        entry: &HistoryEntry,
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        let mut writes = Vec::new();
        for line in lines {
            if let Some(mut record) = self.catalog.record(&line.record)? {
                record.history.push(entry.clone());
                writes.push(CatalogWrite::PutRecord(Box::new(record)));
            }
        }
        Ok(writes)
    }

    /// The records of the lines `outcomes` did not skip become tombstones
    /// (in `state`): description cleared but for a title kept, no longer
    /// due, the event in their history.
    fn entomb(
        &self,
        outcomes: &[crate::domain::disposition::Outcome],
        state: RecordState,
        tombstone: &Tombstone,
        entry: &HistoryEntry,
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        let mut writes = Vec::new();
        for outcome in outcomes.iter().filter(|o| o.skipped.is_none()) {
            let mut record = self
                .catalog
                .record(&outcome.record)?
                .ok_or_else(|| ViewError::Unknown {
                    what: "record",
                    id: outcome.record.to_string(),
                })?;
            record.title = outcome.kept_title.clone().unwrap_or_default();
            record.fields.clear();
            for version in &mut record.versions {
                version.filename = None;
            }
            record.state = state;
            record.tombstone = Some(tombstone.clone());
            record.history.push(entry.clone());
            writes.push(CatalogWrite::PutRecord(Box::new(record)));
        }
        Ok(writes)
    }

    fn transfer(&self, id: u64) -> Result<crate::domain::disposition::Transfer, ViewError> {
        self.catalog.transfer(id)?.ok_or_else(|| ViewError::Unknown {
            what: "transfer",
            id: id.to_string(),
        })
    }

    fn disposal(&self, id: u64) -> Result<Disposal, ViewError> {
        self.catalog.disposal(id)?.ok_or_else(|| ViewError::Unknown {
            what: "disposal",
            id: id.to_string(),
        })
    }

    /// A record's descriptive metadata document. One that a disposal erased
    /// reads as empty (the record is a tombstone by the end of the
    /// replay); the integrity check tells an erased document from a lost
    /// one.
    fn metadata(&self, sha256: &Sha256, record: RecordId) -> Result<DescriptiveMetadata, ViewError> {
        let reader = match self.blobs.open(sha256) {
            Ok((reader, _)) => reader,
            Err(BlobError::NotFound(_)) => {
                return Ok(DescriptiveMetadata {
                    v: METADATA_FORMAT,
                    record,
                    title: String::new(),
                    fields: BTreeMap::new(),
                    filenames: Vec::new(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let mut bytes = Vec::new();
        reader
            .take(METADATA_MAX)
            .read_to_end(&mut bytes)
            .map_err(|e| ViewError::Blob(BlobError::Io(e)))?;
        serde_json::from_slice(&bytes).map_err(|e| ViewError::Document {
            what: "metadata document",
            sha256: *sha256,
            reason: e.to_string(),
        })
    }

    /// What one event changes in the catalog, by event family.
    fn writes_for(&self, event: &Event) -> Result<Vec<CatalogWrite>, ViewError> {
        let body = event.body()?;
        let entry = HistoryEntry {
            seq: event.seq,
            time: event.time,
            actor: event.actor.clone(),
            kind: event.kind.clone(),
        };
        use EventBody as B;
        match body {
            B::AuditVerified {
                through_seq,
                events_checked,
                blobs_checked,
                bytes_checked,
                failures,
            } => Ok(vec![CatalogWrite::PutVerification(
                crate::domain::integrity::Verification {
                    seq: event.seq,
                    time: event.time,
                    actor: event.actor.clone(),
                    through_seq,
                    events_checked,
                    blobs_checked,
                    bytes_checked,
                    failures,
                },
            )]),
            B::IdentitySet { identity } => Ok(vec![CatalogWrite::PutIdentity(Box::new(identity))]),
            B::SealKeyCreated { public_key, .. } => {
                let mut chain = self.catalog.key_chain()?;
                chain.keys.push(public_key);
                Ok(vec![CatalogWrite::PutKeyChain(Box::new(chain))])
            }
            B::SealKeyRotated { rotation } => {
                let mut chain = self.catalog.key_chain()?;
                chain.keys.push(rotation.public_key.clone());
                chain.rotations.push(rotation);
                Ok(vec![CatalogWrite::PutKeyChain(Box::new(chain))])
            }
            B::ArchiveInitialized { .. }
            | B::FixityChecked { .. }
            | B::AccessRefused { .. }
            | B::CopyRepaired { .. }
            | B::ArchiveRestored { .. }
            | B::CatalogRebuilt { .. } => Ok(Vec::new()),
            B::BlobDamaged {
                blob,
                problem,
                found_by,
                ..
            } => Ok(vec![CatalogWrite::PutDamage(crate::domain::integrity::BlobDamage {
                blob,
                kind: problem,
                found_by,
                seq: event.seq,
                at: event.time,
            })]),
            B::BlobRepaired { blob, .. } => Ok(vec![CatalogWrite::RemoveDamage(blob)]),
            B::RecordConsulted {
                record,
                reference,
                reading,
                version,
                from,
            } => Ok(vec![CatalogWrite::PutConsultation(Box::new(Consultation {
                seq: event.seq,
                at: event.time,
                who: crate::domain::account::person_of_actor(&event.actor)
                    .map_or_else(|| event.actor.clone(), String::from),
                actor: event.actor.clone(),
                record,
                reference,
                reading,
                version,
                from,
            }))]),
            body @ (B::RecordIngested { .. } | B::VersionAdded { .. } | B::RecordUpdated { .. }) => {
                self.records(event, entry, body)
            }
            body @ (B::RecordRead { .. } | B::RecordVerified { .. }) => self.verification(event, entry, body),
            B::RecordRendered {
                record,
                version,
                sha256,
                size,
                media_type,
                made_by,
            } => {
                let mut current = self.known_record(&record)?;
                current.renditions.push(crate::domain::record::Rendition {
                    version,
                    sha256,
                    size,
                    media_type,
                    made_by,
                    made_at: event.time,
                });
                current.history.push(entry);
                Ok(put(current))
            }
            B::RecordMoved {
                record,
                to,
                date,
                closed,
                ..
            } => {
                let mut current = self.known_record(&record)?;
                if let Some(circulation) = current.circulation.as_mut() {
                    circulation.passages.push(Passage { step: to, from: date });
                    circulation.open = !closed;
                }
                current.history.push(entry);
                Ok(put(current))
            }
            B::FlowAcknowledged {
                flow, acknowledgement, ..
            } => {
                // In the history of both the acknowledgement and its flow.
                let mut writes = Vec::new();
                for id in flow.iter().chain([&acknowledgement]) {
                    let mut current = self.known_record(id)?;
                    current.history.push(entry.clone());
                    writes.extend(put(current));
                }
                Ok(writes)
            }
            body @ B::PlanPublished { .. } => self.plan_published(event, entry, body),
            body @ (B::RetentionReviewed { .. } | B::StartEventRecorded { .. }) => self.retention(event, entry, body),
            body @ (B::HoldPlaced { .. } | B::HoldLifted { .. }) => self.holds(event, body),
            body @ (B::DisposalProposed { .. }
            | B::DisposalLines { .. }
            | B::DisposalAbandoned { .. }
            | B::DisposalApproved { .. }
            | B::DisposalDestroyed { .. }
            | B::DisposalExecuted { .. }
            | B::DisposalErased { .. }
            | B::DisposalCertified { .. }) => self.disposals(event, entry, body),
            body @ (B::TransferProposed { .. }
            | B::TransferLines { .. }
            | B::TransferAbandoned { .. }
            | B::PackageExported { .. }
            | B::TransferAcknowledged { .. }
            | B::TransferErased { .. }) => self.transfers(event, entry, body),
            body @ (B::JournalSealed { .. } | B::TokenCreated { .. } | B::TokenRevoked { .. }) => {
                self.seals_and_tokens(event, body)
            }
            body @ (B::AccountCreated { .. } | B::AccountUpdated { .. } | B::AccountPasswordSet { .. }) => {
                self.accounts(event, body)
            }
        }
    }

    /// The records themselves: deposits, new versions, changes of description.
    fn records(&self, event: &Event, entry: HistoryEntry, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::RecordIngested {
                record,
                reference,
                node,
                year,
                number,
                date,
                service,
                document_type,
                metadata,
                version,
                counter,
                plan_version,
                classified_by,
                dated,
                channel,
                links,
                aliases,
                imported_from: _,
                to_verify,
                circuit,
            } => {
                let to_verify = to_verify.then(|| ToVerify {
                    since: event.time,
                    reasons: vec![VerifyReason::Classification {
                        rule: classified_by.clone().unwrap_or_default(),
                    }],
                });
                let doc = self.metadata(&metadata, record)?;
                let filename = doc.filenames.first().cloned().flatten();
                let scope = counter.unwrap_or_else(|| format!("{node}/{year}"));
                let record = Record {
                    id: record,
                    reference,
                    title: doc.title,
                    node,
                    date,
                    service,
                    document_type,
                    fields: doc.fields,
                    number,
                    plan_version,
                    aliases,
                    classified_by,
                    dated,
                    channel,
                    links,
                    events: Default::default(),
                    tombstone: None,
                    review: None,
                    reading: None,
                    renditions: Vec::new(),
                    to_verify,
                    circulation: circuit.map(|entry| Circulation {
                        circuit: entry.circuit,
                        passages: vec![Passage {
                            step: entry.step,
                            from: entry.date,
                        }],
                        open: true,
                    }),
                    due: None,
                    metadata_sha256: metadata,
                    metadata_history: vec![metadata],
                    versions: vec![version_of(version, filename, event)],
                    state: RecordState::Active,
                    created_at: event.time,
                    created_by: event.actor.clone(),
                    history: vec![entry],
                };
                let mut writes = put(record);
                writes.push(CatalogWrite::RaiseCounter { scope, value: number });
                writes
            }
            EventBody::VersionAdded {
                record,
                version,
                metadata,
            } => {
                let mut current = self.catalog.record(&record)?.ok_or_else(|| ViewError::Unknown {
                    what: "record",
                    id: record.to_string(),
                })?;
                let doc = self.metadata(&metadata, record)?;
                let filename = doc
                    .filenames
                    .get((version.number as usize).saturating_sub(1))
                    .cloned()
                    .flatten();
                current.title = doc.title;
                current.fields = doc.fields;
                current.metadata_sha256 = metadata;
                current.metadata_history.push(metadata);
                current.versions.push(version_of(version, filename, event));
                current.history.push(entry);
                vec![CatalogWrite::PutRecord(Box::new(current))]
            }
            EventBody::RecordUpdated {
                record,
                now,
                counter,
                number,
                ..
            } => self.described_anew(&record, entry, (now, counter, number), |_| ())?,
            _ => return Err(unexpected(event)),
        })
    }

    /// A record the catalog must know.
    fn known_record(&self, record: &RecordId) -> Result<Record, ViewError> {
        self.catalog.record(record)?.ok_or_else(|| ViewError::Unknown {
            what: "record",
            id: record.to_string(),
        })
    }

    /// A record given new facets and description (a change, a
    /// verification, which `also` completes): the record's writes, and
    /// the counter's when it got a new reference.
    fn described_anew(
        &self,
        record: &RecordId,
        entry: HistoryEntry,
        (now, counter, number): (crate::domain::event::RecordFacetsChange, Option<String>, Option<u64>),
        also: impl FnOnce(&mut Record),
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        let mut current = self.known_record(record)?;
        let doc = self.metadata(&now.metadata, current.id)?;
        if now.reference != current.reference {
            current.aliases.push(current.reference.clone());
            current.reference = now.reference;
        }
        current.node = now.node;
        current.date = now.date;
        current.service = now.service;
        current.document_type = now.document_type;
        current.title = doc.title;
        current.fields = doc.fields;
        if current.metadata_sha256 != now.metadata {
            current.metadata_sha256 = now.metadata;
            current.metadata_history.push(now.metadata);
        }
        let mut counters = Vec::new();
        if let (Some(scope), Some(value)) = (counter, number) {
            current.number = value;
            counters.push(CatalogWrite::RaiseCounter { scope, value });
        }
        also(&mut current);
        current.history.push(entry);
        let mut writes = put(current);
        writes.extend(counters);
        Ok(writes)
    }

    /// Readings of a record's text and verifications by a person: the
    /// fields kept, the queue, the counts of fields corrected.
    fn verification(
        &self,
        event: &Event,
        entry: HistoryEntry,
        body: EventBody,
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::RecordRead {
                record,
                version,
                fields,
                missing,
                to_verify,
                metadata,
                template,
            } => {
                let mut current = self.known_record(&record)?;
                if let Some(metadata) = metadata {
                    let doc = self.metadata(&metadata, record)?;
                    current.title = doc.title;
                    current.fields = doc.fields;
                    if current.metadata_sha256 != metadata {
                        current.metadata_sha256 = metadata;
                        current.metadata_history.push(metadata);
                    }
                }
                current.reading = Some(RecordReading {
                    version,
                    fields,
                    missing,
                    at: event.time,
                    template,
                });
                // A new reading replaces what the last one asked; a record
                // waiting already waits since then.
                let since = current.to_verify.as_ref().map_or(event.time, |w| w.since);
                let mut reasons: Vec<VerifyReason> = current
                    .to_verify
                    .take()
                    .map(|w| w.reasons)
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| !matches!(r, VerifyReason::Reading { .. }))
                    .collect();
                if !to_verify.is_empty() {
                    reasons.push(VerifyReason::Reading { fields: to_verify });
                }
                current.to_verify = (!reasons.is_empty()).then_some(ToVerify { since, reasons });
                current.history.push(entry);
                put(current)
            }
            EventBody::RecordVerified {
                record,
                checked,
                node,
                supplier,
                now,
                counter,
                number,
                ..
            } => {
                let mut writes = self.described_anew(&record, entry, (now, counter, number), |r| r.to_verify = None)?;
                for (key, add) in counts_of(&checked, node.as_ref(), supplier.as_deref()) {
                    let was = self.catalog.check_counts(&key)?;
                    writes.push(CatalogWrite::PutCheckCounts {
                        key,
                        counts: CheckCounts {
                            checked: was.checked + add.checked,
                            corrected: was.corrected + add.corrected,
                        },
                    });
                }
                writes
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// A plan version published, and every record placed anew under it.
    fn plan_published(
        &self,
        event: &Event,
        entry: HistoryEntry,
        body: EventBody,
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::PlanPublished {
                number,
                plan_id,
                label,
                text,
                moves,
                ..
            } => {
                let entry_of_version = PlanVersionEntry {
                    number,
                    plan_id,
                    label,
                    text,
                    seq: event.seq,
                    time: event.time,
                    actor: event.actor.clone(),
                };
                let plan = Arc::new(super::plan::read_version(self.blobs.as_ref(), &entry_of_version)?.plan);
                // The rules first: the catalog reckons due dates from them,
                // and indexes anew only the nodes whose start changes; a
                // new duration or final action rewrites nothing. Then the
                // records moved to a replacing node.
                let mut writes = vec![
                    CatalogWrite::PutRules(Box::new(RuleTable::of(&plan))),
                    CatalogWrite::PutPlanVersion(entry_of_version),
                ];
                for node in self.catalog.records_by_node()?.into_keys() {
                    let Some(to) = moves.get(&node) else {
                        continue;
                    };
                    for id in self.catalog.records_in(&node)? {
                        if let Some(mut record) = self.catalog.record(&id)? {
                            record.node = to.clone();
                            record.history.push(entry.clone());
                            writes.push(CatalogWrite::PutRecord(Box::new(record)));
                        }
                    }
                }
                writes
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// Retention facts of records: review decisions and start events.
    fn retention(&self, event: &Event, entry: HistoryEntry, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::RetentionReviewed {
                record,
                decision,
                reason,
            } => {
                let mut current = self.catalog.record(&record)?.ok_or_else(|| ViewError::Unknown {
                    what: "record",
                    id: record.to_string(),
                })?;
                current.review = Some(ReviewDecision {
                    decision,
                    reason,
                    at: event.time,
                    by: event.actor.clone(),
                    seq: event.seq,
                });
                current.history.push(entry);
                put(current)
            }
            EventBody::StartEventRecorded { name, date, records } => {
                let mut writes = Vec::new();
                for id in records {
                    let mut current = self.catalog.record(&id)?.ok_or_else(|| ViewError::Unknown {
                        what: "record",
                        id: id.to_string(),
                    })?;
                    current.events.insert(name.clone(), date);
                    current.history.push(entry.clone());
                    writes.extend(put(current));
                }
                writes
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// Legal holds placed and lifted.
    fn holds(&self, event: &Event, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::HoldPlaced {
                scope,
                reason,
                owner,
                review,
            } => vec![CatalogWrite::PutHold(Box::new(Hold {
                id: event.seq,
                scope,
                reason,
                owner,
                review,
                placed_at: event.time,
                placed_by: event.actor.clone(),
                lifted: None,
            }))],
            EventBody::HoldLifted { hold, reason } => {
                let mut current = self.catalog.hold(hold)?.ok_or_else(|| ViewError::Unknown {
                    what: "hold",
                    id: hold.to_string(),
                })?;
                current.lifted = Some(HoldLift {
                    at: event.time,
                    by: event.actor.clone(),
                    reason,
                    seq: event.seq,
                });
                vec![CatalogWrite::PutHold(Box::new(current))]
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// Disposals: proposal (in parts), visa, execution (tombstones, in
    /// parts), erasure, certificate. The disposal is stored without its
    /// lines and outcomes, which are stored part by part beside it.
    fn disposals(&self, event: &Event, entry: HistoryEntry, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::DisposalProposed {
                at,
                node,
                lines,
                excluded,
                totals,
            } => {
                let proposal = proposal_of(event, at, node, &lines, &excluded, totals);
                let mut writes = self.proposed_part(WayOut::Disposal, event.seq, 0, lines, excluded, &entry)?;
                writes.push(CatalogWrite::PutDisposal(Box::new(Disposal {
                    proposal,
                    state: DisposalState::Proposed,
                    visa: None,
                    execution: None,
                    certificate: None,
                    abandoned: None,
                })));
                writes
            }
            EventBody::DisposalLines {
                disposal,
                part,
                lines,
                excluded,
            } => {
                let mut current = self.disposal(disposal)?;
                current.proposal.received = current.proposal.received.max(part);
                let mut writes = self.proposed_part(WayOut::Disposal, disposal, part, lines, excluded, &entry)?;
                writes.push(CatalogWrite::PutDisposal(Box::new(current)));
                writes
            }
            EventBody::DisposalAbandoned { disposal, reason } => {
                let mut current = self.disposal(disposal)?;
                current.state = DisposalState::Abandoned;
                current.abandoned = Some(reason);
                vec![CatalogWrite::PutDisposal(Box::new(current))]
            }
            EventBody::DisposalApproved {
                disposal,
                visa,
                signer,
                date,
                struck,
            } => {
                let mut current = self.disposal(disposal)?;
                current.state = DisposalState::Approved;
                current.visa = Some(Visa {
                    reference: visa,
                    signer,
                    date,
                    struck,
                    recorded_at: event.time,
                    recorded_by: event.actor.clone(),
                    seq: event.seq,
                });
                vec![CatalogWrite::PutDisposal(Box::new(current))]
            }
            EventBody::DisposalDestroyed {
                disposal,
                part,
                outcomes,
                erased,
            } => {
                let mut current = self.disposal(disposal)?;
                let mut writes = self.destroyed_part(&mut current, event, part, outcomes, erased, &entry)?;
                current.state = DisposalState::Executing;
                writes.push(CatalogWrite::PutDisposal(Box::new(current)));
                writes
            }
            EventBody::DisposalExecuted {
                disposal,
                outcomes,
                erased,
                parts,
            } => {
                let mut current = self.disposal(disposal)?;
                // Before executions came in parts, this event carried them.
                let mut writes = if outcomes.is_empty() && erased.is_empty() {
                    Vec::new()
                } else {
                    self.destroyed_part(&mut current, event, parts + 1, outcomes, erased, &entry)?
                };
                let execution = current
                    .execution
                    .get_or_insert_with(|| Execution::begun(event.time, event.actor.clone(), event.seq, event.hash));
                execution.at = event.time;
                execution.by = event.actor.clone();
                execution.seq = event.seq;
                execution.hash = event.hash;
                current.state = DisposalState::Executed;
                writes.push(CatalogWrite::PutDisposal(Box::new(current)));
                writes
            }
            EventBody::DisposalErased { disposal, stores } => {
                let mut current = self.disposal(disposal)?;
                if let Some(execution) = current.execution.as_mut() {
                    execution.erased_seq = Some(event.seq);
                    execution.erased_from = stores;
                }
                vec![CatalogWrite::PutDisposal(Box::new(current))]
            }
            EventBody::DisposalCertified {
                disposal, reference, ..
            } => {
                let mut current = self.disposal(disposal)?;
                current.certificate = Some(reference);
                vec![CatalogWrite::PutDisposal(Box::new(current))]
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// One part of a proposal's lines: stored beside it, and noted in the
    /// history of each record it proposes.
    fn proposed_part(
        &self,
        of: WayOut,
        id: u64,
        part: u32,
        lines: Vec<crate::domain::disposition::DisposalLine>,
        excluded: Vec<crate::domain::disposition::Exclusion>,
        entry: &HistoryEntry,
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        let mut writes = self.note_in_histories(&lines, entry)?;
        writes.push(CatalogWrite::PutLines {
            of,
            id,
            part,
            lines: Box::new(LinesPart { lines, excluded }),
        });
        Ok(writes)
    }

    /// One part of a disposal's execution: its records become tombstones,
    /// its outcomes are stored beside the disposal and counted in it.
    fn destroyed_part(
        &self,
        current: &mut Disposal,
        event: &Event,
        part: u32,
        outcomes: Vec<crate::domain::disposition::Outcome>,
        erased: Vec<Sha256>,
        entry: &HistoryEntry,
    ) -> Result<Vec<CatalogWrite>, ViewError> {
        let id = current.proposal.id;
        let tombstone = Tombstone {
            disposal: id,
            visa: current.visa.as_ref().map(|v| v.reference.clone()).unwrap_or_default(),
            destroyed_at: event.time,
            destroyed_by: event.actor.clone(),
            seq: event.seq,
            transferred_to: None,
        };
        let mut writes = self.entomb(&outcomes, RecordState::Destroyed, &tombstone, entry)?;
        let execution = current
            .execution
            .get_or_insert_with(|| Execution::begun(event.time, event.actor.clone(), event.seq, event.hash));
        execution.parts = execution.parts.max(part);
        execution.count(&outcomes, &erased);
        writes.push(CatalogWrite::PutOutcomes {
            of: WayOut::Disposal,
            id,
            part,
            outcomes: Box::new(OutcomesPart { outcomes, erased }),
        });
        Ok(writes)
    }

    /// Transfers to the archives: proposal (in parts), packages,
    /// acknowledgement (tombstones), erasure.
    fn transfers(&self, event: &Event, entry: HistoryEntry, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            EventBody::TransferProposed {
                at,
                node,
                lines,
                excluded,
                totals,
            } => {
                let proposal = proposal_of(event, at, node, &lines, &excluded, totals);
                let mut writes = self.proposed_part(WayOut::Transfer, event.seq, 0, lines, excluded, &entry)?;
                writes.push(CatalogWrite::PutTransfer(Box::new(Transfer {
                    proposal,
                    packages: Vec::new(),
                    exported: Vec::new(),
                    acknowledgement: None,
                    abandoned: None,
                })));
                writes
            }
            EventBody::TransferLines {
                transfer,
                part,
                lines,
                excluded,
            } => {
                let mut current = self.transfer(transfer)?;
                current.proposal.received = current.proposal.received.max(part);
                let mut writes = self.proposed_part(WayOut::Transfer, transfer, part, lines, excluded, &entry)?;
                writes.push(CatalogWrite::PutTransfer(Box::new(current)));
                writes
            }
            EventBody::TransferAbandoned { transfer, reason } => {
                let mut current = self.transfer(transfer)?;
                current.abandoned = Some(reason);
                vec![CatalogWrite::PutTransfer(Box::new(current))]
            }
            EventBody::PackageExported {
                package,
                records,
                transfer,
                ..
            } => match transfer {
                Some(id) => {
                    let mut current = self.transfer(id)?;
                    current.packages.push(package);
                    for record in records {
                        if !current.exported.contains(&record) {
                            current.exported.push(record);
                        }
                    }
                    vec![CatalogWrite::PutTransfer(Box::new(current))]
                }
                None => Vec::new(),
            },
            EventBody::TransferAcknowledged {
                transfer,
                reference,
                date,
                signer,
                reply,
                outcomes,
                erased,
            } => {
                let mut current = self.transfer(transfer)?;
                let tombstone = Tombstone {
                    disposal: transfer,
                    visa: reference.clone(),
                    destroyed_at: event.time,
                    destroyed_by: event.actor.clone(),
                    seq: event.seq,
                    transferred_to: Some(reference.clone()),
                };
                let mut writes = self.entomb(&outcomes, RecordState::Transferred, &tombstone, &entry)?;
                current.acknowledgement = Some(crate::domain::disposition::Acknowledgement {
                    reference,
                    date,
                    signer,
                    reply,
                    at: event.time,
                    by: event.actor.clone(),
                    seq: event.seq,
                    outcomes: Vec::new(),
                    erased: Vec::new(),
                    erased_seq: None,
                });
                writes.push(CatalogWrite::PutOutcomes {
                    of: WayOut::Transfer,
                    id: transfer,
                    part: 0,
                    outcomes: Box::new(OutcomesPart { outcomes, erased }),
                });
                writes.push(CatalogWrite::PutTransfer(Box::new(current)));
                writes
            }
            EventBody::TransferErased { transfer } => {
                let mut current = self.transfer(transfer)?;
                if let Some(ack) = current.acknowledgement.as_mut() {
                    ack.erased_seq = Some(event.seq);
                }
                vec![CatalogWrite::PutTransfer(Box::new(current))]
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// Seals of the journal and API tokens.
    fn seals_and_tokens(&self, event: &Event, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        Ok(match body {
            body @ EventBody::JournalSealed { .. } => crate::domain::seal::Seal::of_event(event.seq, &body)
                .map(|seal| CatalogWrite::PutSeal(Box::new(seal)))
                .into_iter()
                .collect(),
            EventBody::TokenCreated {
                token_sha256,
                role,
                name,
                account,
                application,
                expires_at,
            } => vec![CatalogWrite::PutToken(TokenEntry {
                token_sha256,
                role,
                name,
                seq: event.seq,
                account,
                application,
                created_at: Some(event.time),
                expires_at,
                revoked: None,
            })],
            EventBody::TokenRevoked { token, reason } => {
                let Some(mut entry) = self.catalog.tokens()?.into_iter().find(|t| t.seq == token) else {
                    return Err(unexpected(event));
                };
                entry.revoked.get_or_insert(TokenRevocation {
                    at: event.time,
                    by: event.actor.clone(),
                    reason,
                });
                vec![CatalogWrite::PutToken(entry)]
            }
            _ => return Err(unexpected(event)),
        })
    }

    /// People's accounts.
    fn accounts(&self, event: &Event, body: EventBody) -> Result<Vec<CatalogWrite>, ViewError> {
        let account = match body {
            EventBody::AccountCreated {
                user,
                display_name,
                role,
                directory,
                service,
            } => Account {
                user,
                display_name,
                role,
                disabled: false,
                created: event.time,
                password_set: None,
                directory,
                service,
                email: None,
            },
            EventBody::AccountUpdated {
                user,
                display_name,
                role,
                disabled,
                service,
                email,
            } => {
                let mut account = self.account(&user)?;
                account.display_name = display_name.unwrap_or(account.display_name);
                account.role = role.unwrap_or(account.role);
                account.disabled = disabled.unwrap_or(account.disabled);
                if let Some(service) = service {
                    account.service = Some(service).filter(|s| !s.is_empty());
                }
                if let Some(email) = email {
                    account.email = Some(email).filter(|e| !e.is_empty());
                }
                account
            }
            EventBody::AccountPasswordSet { user } => Account {
                password_set: Some(event.time),
                ..self.account(&user)?
            },
            _ => return Err(unexpected(event)),
        };
        Ok(vec![CatalogWrite::PutAccount(Box::new(account))])
    }

    fn account(&self, user: &UserName) -> Result<Account, ViewError> {
        self.catalog.account(user)?.ok_or_else(|| ViewError::Unknown {
            what: "account",
            id: user.to_string(),
        })
    }
}

/// Deposits at most in one catalog batch when the journal is replayed.
const REPLAY_RUN: usize = 512;

/// The kind of a deposit's event.
const INGESTED: &str = "record.ingested";

/// The kinds of events that may share a run with deposits: each names one
/// record, reads nothing of the catalog but that record (and blobs), and
/// writes that record alone. An invoice's reading, a scan's PDF/A, a
/// step in a circuit: in a journal of invoices they come between the
/// deposits, and a run cut at each of them would be a few deposits long.
const JOINS_RUNS: [&str; 4] = [INGESTED, "record.read", "record.rendered", "record.moved"];

/// Whether `event` may share a run with others (see [`JOINS_RUNS`]).
fn joins_runs(event: &Event) -> bool {
    JOINS_RUNS.contains(&event.kind.as_str()) && run_record(event).is_some()
}

/// The record an event of [`JOINS_RUNS`] names.
fn run_record(event: &Event) -> Option<&str> {
    event.payload.get("record").and_then(serde_json::Value::as_str)
}

/// `events` cut into runs applied together: consecutive events of
/// [`JOINS_RUNS`], each naming a record no other event of its run names
/// (one that names a record already named starts the next run, so that
/// it reads the record as the events before it left it), up to
/// [`REPLAY_RUN`] at a time; any other event alone.
pub(super) fn runs(events: &[Event]) -> impl Iterator<Item = &[Event]> {
    let mut rest = events;
    let mut named: std::collections::HashSet<&str> = std::collections::HashSet::new();
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let mut len = 1;
        if joins_runs(first) {
            named.clear();
            named.extend(run_record(first));
            while len < REPLAY_RUN.min(rest.len())
                && joins_runs(&rest[len])
                && run_record(&rest[len]).is_some_and(|record| named.insert(record))
            {
                len += 1;
            }
        }
        let (run, after) = rest.split_at(len);
        rest = after;
        Some(run)
    })
}

/// The proposal an event made, as disposals and transfers share it,
/// without its lines (stored beside it, part by part).
fn proposal_of(
    event: &Event,
    at: chrono::NaiveDate,
    node: Option<crate::domain::record::NodeCode>,
    lines: &[crate::domain::disposition::DisposalLine],
    excluded: &[crate::domain::disposition::Exclusion],
    totals: Totals,
) -> Proposal {
    Proposal {
        id: event.seq,
        at,
        node,
        proposed_at: event.time,
        proposed_by: event.actor.clone(),
        lines: Vec::new(),
        excluded: Vec::new(),
        totals: if totals.is_single() {
            Totals::of(lines, excluded)
        } else {
            totals
        },
        received: 0,
    }
}

/// An event routed to a family it does not belong to: a bug in
/// `writes_for`, reported rather than ignored.
fn unexpected(event: &Event) -> ViewError {
    ViewError::Unexpected {
        kind: event.kind.clone(),
    }
}

fn version_of(facts: VersionFacts, filename: Option<String>, event: &Event) -> Version {
    Version {
        number: facts.number,
        sha256: facts.sha256,
        size: facts.size,
        media_type: facts.media_type,
        filename,
        ingested_at: event.time,
        ingested_by: event.actor.clone(),
        seq: event.seq,
    }
}

impl JournalObserver for Projector {
    fn on_durable(&self, event: &Event) -> Result<(), ViewError> {
        self.apply(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::EventDraft;

    fn event(seq: u64, kind: &str) -> Event {
        let draft = EventDraft {
            actor: "test".into(),
            body: EventBody::AuditVerified {
                through_seq: seq,
                events_checked: 0,
                blobs_checked: 0,
                bytes_checked: 0,
                failures: 0,
            },
        };
        let mut event = Event::seal(draft, seq, chrono::Utc::now(), Sha256::ZERO);
        event.kind = kind.into();
        event
    }

    /// The runs of events of these kinds, each naming the record given
    /// (`None`: no record), by their seqs.
    fn cut_named(events: &[(&str, Option<&str>)]) -> Vec<Vec<u64>> {
        let events: Vec<Event> = events
            .iter()
            .enumerate()
            .map(|(i, (kind, record))| {
                let mut event = event(i as u64 + 1, kind);
                event.payload = match record {
                    Some(record) => serde_json::json!({ "record": record }),
                    None => serde_json::json!({}),
                };
                event
            })
            .collect();
        runs(&events).map(|run| run.iter().map(|e| e.seq).collect()).collect()
    }

    /// As [`cut_named`], each event naming a record of its own.
    fn cut(kinds: &[&str]) -> Vec<Vec<u64>> {
        let names: Vec<String> = (0..kinds.len()).map(|i| format!("r{i}")).collect();
        let events: Vec<(&str, Option<&str>)> = kinds.iter().zip(&names).map(|(k, n)| (*k, Some(n.as_str()))).collect();
        cut_named(&events)
    }

    #[test]
    fn deposits_in_a_row_make_one_run_and_every_other_event_goes_alone() {
        let (d, other) = (INGESTED, "record.updated");
        assert_eq!(cut(&[]), Vec::<Vec<u64>>::new());
        assert_eq!(cut(&[d, d, d]), vec![vec![1, 2, 3]]);
        assert_eq!(
            cut(&[d, d, other, other, d, other, d, d]),
            vec![vec![1, 2], vec![3], vec![4], vec![5], vec![6], vec![7, 8]]
        );
        // Long runs are cut every REPLAY_RUN deposits.
        let long = vec![d; REPLAY_RUN * 2 + 1];
        let lengths: Vec<usize> = cut(&long).iter().map(Vec::len).collect();
        assert_eq!(lengths, vec![REPLAY_RUN, REPLAY_RUN, 1]);
    }

    #[test]
    fn readings_renderings_and_moves_join_the_deposits_run_unless_their_record_is_in_it() {
        let (d, read, rendered, moved) = (INGESTED, "record.read", "record.rendered", "record.moved");
        // Each of another record: one run.
        assert_eq!(
            cut_named(&[
                (d, Some("a")),
                (read, Some("x")),
                (d, Some("b")),
                (rendered, Some("y")),
                (moved, Some("z")),
            ]),
            vec![vec![1, 2, 3, 4, 5]]
        );
        // A reading of a record deposited in the run reads it as stored:
        // it starts the next run.
        assert_eq!(
            cut_named(&[(d, Some("a")), (d, Some("b")), (read, Some("a")), (d, Some("c"))]),
            vec![vec![1, 2], vec![3, 4]]
        );
        // Twice the same record, whatever the kinds.
        assert_eq!(
            cut_named(&[(read, Some("x")), (moved, Some("x"))]),
            vec![vec![1], vec![2]]
        );
        // An event that names no record, or of another kind, goes alone.
        assert_eq!(
            cut_named(&[
                (d, Some("a")),
                (read, None),
                (d, Some("b")),
                ("record.updated", Some("c")),
                (d, Some("d"))
            ]),
            vec![vec![1], vec![2], vec![3], vec![4], vec![5]]
        );
    }
}
