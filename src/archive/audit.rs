//! Integrity checks and the journal as the auditor reads it.
//!
//! A check re-hashes every blob, re-reads the whole journal (every hash and
//! link, going on past damage to report all of it), projects the journal
//! afresh into an in-memory catalog and compares that with the catalog on
//! disk. It needs no trust in the catalog: only the journal and the blobs.

use super::projection::Projector;
use super::{Actor, Archive, ArchiveError, DataDir};
use crate::domain::event::{Event, EventBody};
use crate::domain::hash::Sha256;
use crate::domain::integrity::{BlobUse, IntegrityFailure, IntegrityReport};
use crate::domain::record::{RecordId, Reference};
use crate::domain::role::Permission;
use crate::store::journal::audit_scan;
use crate::store::{BlobStore, Catalog, Fixity};
use std::sync::Arc;

/// Told how a long check advances (a progress bar, a job's status).
pub trait Progress: Sync {
    /// A phase starts with `total` units (bytes or items).
    fn begin(&self, phase: &str, total: u64);
    /// `n` more units done.
    fn advance(&self, n: u64);
}

/// Who uses a blob, as the journal says: a record's version or metadata
/// document (named from the check's own catalog when a finding needs it,
/// so that a million records' references are not held), or something
/// else (a plan version, the logo, an archives' reply), named already.
enum Use {
    Version(RecordId, u32),
    Metadata(RecordId),
    Named(Box<BlobUse>),
}

/// The blobs the journal refers to, and what uses each: one list of
/// every use with the seq of the event that made it, sorted once the
/// journal is read, and the erasures (a disposal's, a transfer's) with
/// theirs. A use made before its blob's last erasure is gone. About 64
/// bytes a use: a map of lists held twice that at a million records.
#[derive(Default)]
struct BlobUses {
    uses: Vec<(Sha256, u64, Use)>,
    erased: Vec<(Sha256, u64)>,
}

/// Names what uses a blob, its records by their reference in `catalog`.
fn named<'a>(uses: impl Iterator<Item = &'a Use>, catalog: &dyn Catalog) -> Vec<BlobUse> {
    let reference = |id: &RecordId| {
        catalog
            .record(id)
            .ok()
            .flatten()
            .map_or_else(|| Reference::from_naming(id.to_string()), |r| r.reference)
    };
    uses.map(|u| match u {
        Use::Version(id, number) => BlobUse {
            reference: reference(id),
            what: format!("version {number}"),
        },
        Use::Metadata(id) => BlobUse {
            reference: reference(id),
            what: "metadata".into(),
        },
        Use::Named(named) => (**named).clone(),
    })
    .collect()
}

impl BlobUses {
    fn note(&mut self, event: &Event) {
        let Ok(body) = event.body() else { return };
        let seq = event.seq;
        let mut add = |sha: Sha256, reference: &Reference, what: String| {
            self.uses.push((
                sha,
                seq,
                Use::Named(Box::new(BlobUse {
                    reference: reference.clone(),
                    what,
                })),
            ));
        };
        match body {
            // A record's version: its content and its metadata document.
            EventBody::RecordIngested {
                record,
                metadata,
                version,
                ..
            }
            | EventBody::VersionAdded {
                record,
                version,
                metadata,
            } => {
                self.uses
                    .push((version.sha256, seq, Use::Version(record, version.number)));
                self.uses.push((metadata, seq, Use::Metadata(record)));
            }
            // The plan's file, as each version was published.
            EventBody::PlanPublished {
                number, plan_id, text, ..
            } => add(text, &Reference::from_naming(plan_id), format!("plan version {number}")),
            // Erased by a disposal: gone on purpose, expected no more.
            EventBody::DisposalExecuted { erased, .. } | EventBody::DisposalDestroyed { erased, .. } => {
                self.erased.extend(erased.into_iter().map(|sha| (sha, seq)));
            }
            EventBody::TransferAcknowledged {
                erased,
                reply,
                transfer,
                ..
            } => {
                // The archives' answer, kept with the transfer.
                if let Some(reply) = reply {
                    add(
                        reply,
                        &Reference::from_naming(format!("versement {transfer}")),
                        "réponse des archives".into(),
                    );
                }
                self.erased.extend(erased.into_iter().map(|sha| (sha, seq)));
            }
            // The logo at the head of the papers from then on.
            EventBody::IdentitySet { identity } => {
                if let Some(logo) = identity.logo {
                    add(logo.sha256, &Reference::from_naming("identité".into()), "logo".into());
                }
            }
            _ => {}
        }
    }

    /// Once the journal is read: the uses by blob, in the journal's order,
    /// without those an erasure after them ended (an archives' reply kept
    /// by the event that erased the transfer's blobs stays).
    fn settle(&mut self) {
        self.erased.sort_unstable();
        let erased = std::mem::take(&mut self.erased);
        // The last erasure of each blob.
        let last_erased = |sha: &Sha256| {
            let end = erased.partition_point(|(s, _)| s <= sha);
            erased[..end].last().filter(|(s, _)| s == sha).map(|(_, seq)| *seq)
        };
        self.uses
            .retain(|(sha, seq, _)| last_erased(sha).is_none_or(|erased_at| erased_at <= *seq));
        self.uses.sort_unstable_by_key(|(sha, seq, _)| (*sha, *seq));
        self.uses.shrink_to_fit();
    }

    /// What uses `sha` (after [`Self::settle`]).
    fn of(&self, sha: &Sha256) -> &[(Sha256, u64, Use)] {
        let start = self.uses.partition_point(|(s, _, _)| s < sha);
        let end = start + self.uses[start..].partition_point(|(s, _, _)| s == sha);
        &self.uses[start..end]
    }

    /// Each blob used and its uses (after [`Self::settle`]), by digest.
    fn by_blob(&self) -> impl Iterator<Item = (&Sha256, &[(Sha256, u64, Use)])> {
        self.uses.chunk_by(|a, b| a.0 == b.0).map(|run| (&run[0].0, run))
    }
}

/// Events projected into the check's own catalog at a time.
const PROJECTED_AT_ONCE: usize = 512;

/// Checks the journal, the blobs and the catalog. Events after `through`
/// (appended while the check runs) are left for the next check.
fn check_integrity(
    blobs: &Arc<dyn BlobStore>,
    data_dir: &DataDir,
    catalog: &dyn Catalog,
    through: Option<u64>,
    progress: &dyn Progress,
) -> Result<IntegrityReport, ArchiveError> {
    let mut report = IntegrityReport::default();
    let scratch = super::stores::scratch_catalog(data_dir);
    let expected = &scratch.catalog;
    let journal_dir = data_dir.journal_path();
    let journal_dir = journal_dir.as_path();
    let projector = Projector::new(Arc::clone(expected), Arc::clone(blobs));
    let mut uses = BlobUses::default();
    let mut projection_failures = Vec::new();
    let mut seals = crate::domain::seal::JournalSealCheck::new();
    progress.begin("journal", 0);
    // Events wait here to be projected a run at a time (the catalog on
    // disk takes a batch of deposits at once); failures are put back in
    // the journal's order below.
    let mut pending: Vec<Event> = Vec::new();
    let project = |pending: &mut Vec<Event>, failures: &mut Vec<IntegrityFailure>| {
        for (seq, reason) in projector.apply_each(pending) {
            failures.push(IntegrityFailure::JournalEvent {
                seq,
                reason: format!("cannot be applied: {reason}"),
            });
        }
        pending.clear();
    };
    let scan = audit_scan(journal_dir, &mut |event| {
        if through.is_some_and(|t| event.seq > t) {
            return;
        }
        uses.note(event);
        if let Some(reason) = seals.note(event) {
            projection_failures.push(IntegrityFailure::Seal { seq: event.seq, reason });
        }
        pending.push(event.clone());
        if pending.len() >= PROJECTED_AT_ONCE {
            project(&mut pending, &mut projection_failures);
        }
        progress.advance(1);
    })?;
    project(&mut pending, &mut projection_failures);
    // By seq, a seal's finding before its event's projection's, as found
    // event by event.
    projection_failures.sort_by_key(|f| match f {
        IntegrityFailure::Seal { seq, .. } => (*seq, 0),
        IntegrityFailure::JournalEvent { seq, .. } => (*seq, 1),
        _ => (u64::MAX, 2),
    });
    report.events_checked = scan.events;
    report.seals_checked = seals.seals;
    report.through_seq = through.map_or(scan.last_seq, |t| t.min(scan.last_seq));
    report.failures.extend(
        scan.failures
            .into_iter()
            .filter(|(seq, _)| through.is_none_or(|t| *seq <= t))
            .map(|(seq, reason)| IntegrityFailure::JournalEvent { seq, reason }),
    );

    uses.settle();
    let mut on_disk = blobs.list()?;
    on_disk.sort_unstable();
    progress.begin("blobs", on_disk.len() as u64);
    for sha in &on_disk {
        let fixity = blobs.verify(sha, &mut |n| report.bytes_checked += n)?;
        report.blobs_checked += 1;
        progress.advance(1);
        let used_by = uses.of(sha);
        match fixity {
            _ if used_by.is_empty() => report.unreferenced_blobs += 1,
            Fixity::Corrupt { actual, .. } => {
                tracing::error!(blob = %sha, %actual, "fixity: a blob is corrupt");
                report.failures.push(IntegrityFailure::BlobCorrupt {
                    blob: *sha,
                    actual,
                    used_by: named(used_by.iter().map(|(_, _, u)| u), expected.as_ref()),
                });
            }
            _ => {}
        }
    }
    for (sha, used_by) in uses.by_blob() {
        if on_disk.binary_search(sha).is_err() {
            tracing::error!(blob = %sha, "fixity: a blob is missing");
            report.failures.push(IntegrityFailure::BlobMissing {
                blob: *sha,
                used_by: named(used_by.iter().map(|(_, _, u)| u), expected.as_ref()),
            });
        }
    }
    report.failures.extend(projection_failures);

    // The catalog may lag the journal (it is replayed at the next start):
    // compare what both have seen.
    let seen = catalog.last_applied()?.min(report.through_seq);
    // The records a damaged event concerns (as the catalog, made while
    // the journal was whole, knows them): named with that event, never
    // blamed again for differing from a journal that cannot say.
    let damaged: std::collections::BTreeSet<u64> = report
        .failures
        .iter()
        .filter_map(|f| match f {
            IntegrityFailure::JournalEvent { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    let mut concerned: std::collections::BTreeMap<u64, Vec<String>> = std::collections::BTreeMap::new();
    let mut named = std::collections::BTreeSet::new();
    if !damaged.is_empty() {
        for live in catalog.records() {
            let live = live?;
            for h in live.history.iter().filter(|h| damaged.contains(&h.seq)) {
                concerned.entry(h.seq).or_default().push(live.reference.to_string());
                named.insert(live.id);
            }
        }
    }
    progress.begin("catalog", 0);
    for record in expected.records() {
        let record = record?;
        progress.advance(1);
        if record.history.first().is_none_or(|h| h.seq > seen) || named.contains(&record.id) {
            continue;
        }
        report.records_checked += 1;
        match catalog.record(&record.id)? {
            None => report.failures.push(IntegrityFailure::CatalogMismatch {
                reference: record.reference.clone(),
                detail: "missing from the catalog".into(),
            }),
            Some(live) if live.last_seq() > seen => {}
            Some(live) if live != record => report.failures.push(IntegrityFailure::CatalogMismatch {
                reference: record.reference.clone(),
                detail: differing_fields(&live, &record),
            }),
            Some(_) => {}
        }
    }
    for live in catalog.records() {
        let live = live?;
        if live.history.first().is_some_and(|h| h.seq <= seen)
            && !named.contains(&live.id)
            && expected.record(&live.id)?.is_none()
        {
            report.failures.push(IntegrityFailure::CatalogMismatch {
                reference: live.reference.clone(),
                detail: "in the catalog but not in the journal".into(),
            });
        }
    }
    for failure in &mut report.failures {
        if let IntegrityFailure::JournalEvent { seq, reason } = failure
            && let Some(references) = concerned.get(seq)
        {
            *reason = format!("{reason} ; document concerné : {}", references.join(", "));
        }
    }
    Ok(report)
}

/// Names the top-level fields that differ between two records.
fn differing_fields(live: &crate::domain::record::Record, expected: &crate::domain::record::Record) -> String {
    let (Ok(serde_json::Value::Object(a)), Ok(serde_json::Value::Object(b))) =
        (serde_json::to_value(live), serde_json::to_value(expected))
    else {
        return "they differ".into();
    };
    let fields: Vec<&str> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.as_str())
        .collect();
    format!("fields that differ: {}", fields.join(", "))
}

/// The journal's events after `after`, read from its files without opening
/// the archive or taking its lock, so that `coffre audit log` works while a
/// server holds the data directory. Reading checks every hash and link.
pub fn journal_offline(
    data_dir: &DataDir,
    after: u64,
) -> Result<impl Iterator<Item = Result<Event, ArchiveError>>, ArchiveError> {
    if !data_dir.is_initialised() {
        return Err(ArchiveError::NotInitialised(data_dir.path().to_owned()));
    }
    data_dir.check_format(false)?;
    let events = crate::store::journal::read_events(&data_dir.journal_path(), after.saturating_add(1), None)?;
    Ok(events.map(|event| event.map_err(ArchiveError::from)))
}

/// Checks a data directory that is not open: for `coffre audit verify`,
/// which must report a damaged journal that would stop the archive from
/// opening. Takes the directory's lock; does not replay or write anything.
pub fn check_integrity_offline(data_dir: &DataDir, progress: &dyn Progress) -> Result<IntegrityReport, ArchiveError> {
    if !data_dir.is_initialised() {
        return Err(ArchiveError::NotInitialised(data_dir.path().to_owned()));
    }
    data_dir.check_format(false)?;
    let (blobs, catalog) = super::stores::blobs_and_catalog_on_disk(data_dir)?;
    check_integrity(&blobs, data_dir, catalog.as_ref(), None, progress)
}

impl Archive {
    /// Runs a full integrity check and journals its result.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn verify(&self, actor: &Actor, progress: &dyn Progress) -> Result<IntegrityReport, ArchiveError> {
        actor.require(Permission::Audit, "lancer des contrôles d'intégrité")?;
        let (head, _) = self.journal.head();
        let report = check_integrity(&self.blobs, &self.data_dir, &*self.catalog, Some(head), progress)?;
        // A replica's journal is its primary's, event for event: its own
        // checks are reported, not journaled.
        if !self.is_follower() {
            self.journal.append(actor.draft(EventBody::AuditVerified {
                through_seq: report.through_seq,
                events_checked: report.events_checked,
                blobs_checked: report.blobs_checked,
                bytes_checked: report.bytes_checked,
                failures: report.failures.len() as u64,
            }))?;
        }
        for failure in &report.failures {
            use crate::domain::integrity::{DamageFinder, DamageKind, IntegrityFailure};
            match failure {
                IntegrityFailure::BlobCorrupt { blob, .. } => {
                    self.note_damage(blob, DamageKind::Corrupt, DamageFinder::Verify)
                }
                IntegrityFailure::BlobMissing { blob, .. } => {
                    self.note_damage(blob, DamageKind::Missing, DamageFinder::Verify)
                }
                _ => {}
            }
        }
        Ok(report)
    }

    /// Journal events after `after`, at most `limit` of them.
    pub fn events(&self, actor: &Actor, after: u64, limit: usize) -> Result<Vec<Event>, ArchiveError> {
        actor.require(Permission::Audit, "lire le journal")?;
        let mut out = Vec::new();
        for event in self.journal.read_from(after.saturating_add(1))?.take(limit) {
            out.push(event?);
        }
        Ok(out)
    }
}

/// What a journal browser asks for: every filter optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// The events of one record (reference or id).
    pub record: Option<String>,
    /// Events whose actor holds this text (`alice`, `agent`, `cli:`),
    /// whatever the case.
    pub actor: Option<String>,
    /// Events of this kind (`record.ingested`) or family (`record.`).
    pub kind: Option<String>,
    /// Events on or after this day (UTC).
    pub from: Option<chrono::NaiveDate>,
    /// Events on or before this day (UTC).
    pub to: Option<chrono::NaiveDate>,
}

impl JournalFilter {
    fn admits(&self, event: &Event) -> bool {
        let day = event.time.date_naive();
        self.actor
            .as_ref()
            .is_none_or(|a| event.actor.to_lowercase().contains(&a.to_lowercase()))
            && self
                .kind
                .as_ref()
                .is_none_or(|k| event.kind == *k || (k.ends_with('.') && event.kind.starts_with(k.as_str())))
            && self.from.is_none_or(|from| day >= from)
            && self.to.is_none_or(|to| day <= to)
    }
}

/// A page of the journal as a browser shows it.
#[derive(Debug, Clone)]
pub struct JournalPage {
    /// The events found, oldest first.
    pub events: Vec<Event>,
    /// Where to go on from (pass as `after`), when the journal holds more
    /// to look at: more matches, or events not looked at yet.
    pub next_after: Option<u64>,
    /// The last seq looked at.
    pub looked_through: u64,
    /// The journal's last seq.
    pub head: u64,
}

/// Events a journal page looks through at most, so that a filter that
/// matches little costs a bounded read per page.
pub const JOURNAL_SCAN_MAX: usize = 20_000;

impl Archive {
    /// The latest whole integrity check the journal records.
    pub fn last_verification(
        &self,
        actor: &Actor,
    ) -> Result<Option<crate::domain::integrity::Verification>, ArchiveError> {
        actor.require(Permission::Audit, "consulter les contrôles d'intégrité")?;
        Ok(self.catalog.last_verification()?)
    }

    /// Journal events after `after` that `filter` admits, at most `limit`,
    /// looking through at most [`JOURNAL_SCAN_MAX`] events (a record's
    /// events are taken from its history, without a scan).
    pub fn journal_page(
        &self,
        actor: &Actor,
        filter: &JournalFilter,
        after: u64,
        limit: usize,
    ) -> Result<JournalPage, ArchiveError> {
        actor.require(Permission::Audit, "lire le journal")?;
        let (head, _) = self.journal.head();
        let mut events = Vec::new();
        let mut looked_through = after;
        let mut more = false;
        if let Some(key) = filter.record.as_deref().filter(|k| !k.trim().is_empty()) {
            let record = self.record(actor, key)?;
            for entry in record.history.iter().filter(|h| h.seq > after) {
                if events.len() == limit {
                    more = true;
                    break;
                }
                let event = self.event_at(entry.seq)?;
                looked_through = entry.seq;
                if filter.admits(&event) {
                    events.push(event);
                }
            }
        } else {
            for (looked, event) in self.journal.read_from(after.saturating_add(1))?.enumerate() {
                let event = event?;
                if events.len() == limit || looked == JOURNAL_SCAN_MAX {
                    more = true;
                    break;
                }
                looked_through = event.seq;
                if filter.to.is_some_and(|to| event.time.date_naive() > to) {
                    break; // the journal is in time order
                }
                if filter.admits(&event) {
                    events.push(event);
                }
            }
        }
        Ok(JournalPage {
            events,
            next_after: more.then_some(looked_through),
            looked_through,
            head,
        })
    }
}

#[cfg(test)]
mod journal_filter_tests {
    use super::*;

    fn event(seq: u64, kind: &str, actor: &str, day: u32) -> Event {
        let time = chrono::NaiveDate::from_ymd_opt(2024, 3, day)
            .and_then(|d| d.and_hms_opt(12, 0, 0))
            .map(|t| t.and_utc())
            .unwrap_or_default();
        Event {
            v: 1,
            seq,
            time,
            actor: actor.into(),
            kind: kind.into(),
            payload: serde_json::json!({}),
            prev_hash: Sha256::ZERO,
            hash: Sha256::ZERO,
        }
    }

    #[test]
    fn filters_by_kind_or_family_actor_and_days() {
        let e = event(3, "record.ingested", "Alice (agent)", 15);
        assert!(JournalFilter::default().admits(&e));
        let by = |f: JournalFilter| f.admits(&e);
        assert!(by(JournalFilter {
            kind: Some("record.ingested".into()),
            ..Default::default()
        }));
        assert!(by(JournalFilter {
            kind: Some("record.".into()),
            ..Default::default()
        }));
        assert!(!by(JournalFilter {
            kind: Some("record".into()),
            ..Default::default()
        }));
        assert!(!by(JournalFilter {
            kind: Some("hold.".into()),
            ..Default::default()
        }));
        assert!(by(JournalFilter {
            actor: Some("alice".into()),
            ..Default::default()
        }));
        assert!(by(JournalFilter {
            actor: Some("(AGENT)".into()),
            ..Default::default()
        }));
        assert!(!by(JournalFilter {
            actor: Some("bruno".into()),
            ..Default::default()
        }));
        let day = |d| chrono::NaiveDate::from_ymd_opt(2024, 3, d);
        assert!(by(JournalFilter {
            from: day(15),
            to: day(15),
            ..Default::default()
        }));
        assert!(!by(JournalFilter {
            from: day(16),
            ..Default::default()
        }));
        assert!(!by(JournalFilter {
            to: day(14),
            ..Default::default()
        }));
    }
}
