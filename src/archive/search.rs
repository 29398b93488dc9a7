//! Full-text search, and keeping the index up with the journal.
//!
//! The index follows the journal as the catalog does, but behind it: a
//! background worker (see `jobs`) applies what it has not yet seen, reading
//! each record's latest content from the blob store and extracting its text,
//! so that a slow or failing extraction never delays a deposit. After a
//! crash it resumes from the seq of its last commit.

use super::plan::PublishedPlan;
use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::record::{NodeCode, RecordId};
use crate::domain::role::Permission;
use crate::domain::search::{IndexDocument, SearchQuery, SearchResults, TextStatus, node_reader_key};
use crate::extract::{self, Extraction};
use crate::store::{BlobStore, Catalog, IndexError, Journal, TextIndex};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What `reindex` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReindexReport {
    /// Records whose text was extracted again.
    pub extracted_again: usize,
    /// Records that still have no text.
    pub still_failed: usize,
}

impl From<IndexError> for ArchiveError {
    fn from(e: IndexError) -> Self {
        match e {
            IndexError::Query(e) if e.is_limit() => ArchiveError::LimitExceeded(e.to_string()),
            IndexError::Query(e) => ArchiveError::BadQuery(e.to_string()),
            IndexError::BadQuery(message) => ArchiveError::BadQuery(message),
            other => ArchiveError::Index(other),
        }
    }
}

/// Journal events between two commits of an index catching up from far
/// behind.
const CATCH_UP_EVENTS: usize = 10_000;

impl Archive {
    /// Searches the records.
    pub fn search(&self, actor: &Actor, query: SearchQuery) -> Result<SearchResults, ArchiveError> {
        actor.require(Permission::ReadRecords, "rechercher des documents")?;
        if let Some(bound) = query.over_limit() {
            return Err(ArchiveError::LimitExceeded(bound));
        }
        let mut query = query.checked()?;
        let plan = self.plan_in_force()?;
        // Only the nodes the plan lets this role read are searched.
        query.readers = reader_keys(&plan.plan, actor);
        query.synonyms = plan.plan.synonyms.clone();
        // Only the fields of nodes the caller may read: even their names
        // can say what a record holds.
        let readable = plan.plan.readable_nodes(actor.role.as_str());
        query.record_fields = record_fields(&plan.plan, &readable);
        if let Some(node) = &query.node {
            if plan.plan.node(node).is_none() {
                let codes: Vec<&str> = plan.plan.nodes.iter().map(|n| n.code.as_str()).collect();
                return Err(ArchiveError::BadQuery(format!(
                    "Le nœud « {node} » n'est pas dans le plan de classement. Nœuds possibles : {}.",
                    codes.join(", ")
                )));
            }
            query.node_path = plan.plan.path(node);
        }
        let mut results = self.index.search(&query)?;
        let named: Vec<String> = results
            .facets
            .keys()
            .cloned()
            .chain(results.hits.iter().map(|h| h.node.to_string()))
            .collect();
        for code in named {
            let Ok(node) = crate::domain::record::NodeCode::parse(&code) else {
                continue;
            };
            let label = crate::domain::search::NodeLabel {
                title: plan.plan.node(&node).map(|n| n.title.clone()).unwrap_or_default(),
                path: plan.plan.path(&node).iter().map(ToString::to_string).collect(),
            };
            results.nodes.insert(code, label);
        }
        Ok(results)
    }

    /// How a record's text was obtained (`None`: not indexed yet).
    pub fn text_status(&self, actor: &Actor, id: &RecordId) -> Result<Option<TextStatus>, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter des documents")?;
        Ok(self.index.text_status(id)?)
    }

    /// The text read from a record's latest version for search, cut to its
    /// first `max_chars` characters: what a preview shows of documents no
    /// browser displays (office files, e-mails). `None`: not indexed yet,
    /// or a record the caller may not read.
    pub fn extracted_text(
        &self,
        actor: &Actor,
        record: &crate::domain::record::Record,
        max_chars: usize,
    ) -> Result<Option<String>, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter des documents")?;
        if record.tombstone.is_some() || !self.may_read(actor, record)? {
            return Ok(None);
        }
        Ok(self.index.extracted_text(&record.id, max_chars)?)
    }

    /// The records the caller deposited, newest first (at most `limit`),
    /// each with how its text was read for search (none: not indexed yet).
    /// Those the caller may no longer read are left out.
    pub fn my_deposits(
        &self,
        actor: &Actor,
        limit: usize,
    ) -> Result<Vec<(crate::domain::record::Record, Option<TextStatus>)>, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter des documents")?;
        let Some(user) = &actor.account else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for id in self.catalog.deposited_by(user, limit)? {
            let Some(record) = self.catalog.record(&id)? else {
                continue;
            };
            if let Ok(record) = self.record(actor, &record.id.to_string()) {
                let text = self.index.text_status(&record.id)?;
                found.push((record, text));
            }
        }
        Ok(found)
    }

    /// The programs text extraction needs (with this archive's options)
    /// that this machine lacks, each with what deposits lose without it.
    pub fn missing_tools(&self) -> Vec<extract::MissingTool> {
        extract::missing_tools(self.options.extract)
    }

    /// Brings the index up to the journal, then extracts again the text of
    /// every record whose extraction failed or ran with older extractors.
    pub fn reindex(&self, actor: &Actor) -> Result<ReindexReport, ArchiveError> {
        actor.require(Permission::ManageRecords, "réindexer")?;
        self.index_all()?;
        let _one_indexer = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let pending = self.index.needing_extraction(extract::EXTRACTORS_VERSION)?;
        for id in &pending {
            self.index_record(id)?;
        }
        let applied = self.index.applied()?;
        self.index.commit(applied)?;
        let still_failed = self.index.needing_extraction(extract::EXTRACTORS_VERSION)?.len();
        Ok(ReindexReport {
            extracted_again: pending.len(),
            still_failed,
        })
    }

    /// Applies up to `max_events` journal events the index has not seen,
    /// then commits; returns how many it applied (0: up to date).
    pub fn index_pending(&self, max_events: usize) -> Result<usize, ArchiveError> {
        let _one_indexer = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        if self.read_only.is_some() {
            return self.index_catalog_as_it_stands();
        }
        let (applied, touched) = self.index_events(max_events)?;
        // Their text searchable, invoices among them are to be read; by
        // the reader's thread, holding nothing (`read_pending`): the use
        // cases that bring the index up hold a record's lock.
        self.unread.note(touched);
        Ok(applied)
    }

    /// Applies up to `max_events` journal events to the index and commits,
    /// under the indexer's lock; how many, and the records they touched.
    fn index_events(&self, max_events: usize) -> Result<(usize, Vec<RecordId>), ArchiveError> {
        self.feed()?.index_events(max_events)
    }

    /// What the index is fed from, with the plan in force.
    fn feed(&self) -> Result<Feed<'_>, ArchiveError> {
        let sources = FeedSources {
            journal: self.journal.as_ref(),
            catalog: self.catalog.as_ref(),
            blobs: self.blobs.as_ref(),
            index: self.index.as_ref(),
            extract: self.options.extract,
        };
        Ok(sources.with(self.plan_in_force()?))
    }

    /// A read-only archive's journal cannot be followed past its damage:
    /// the catalog, made while it was whole, is indexed as it stands, once.
    fn index_catalog_as_it_stands(&self) -> Result<usize, ArchiveError> {
        let seq = self.catalog.last_applied()?;
        if self.index.applied()? >= seq {
            return Ok(0);
        }
        let ids: Vec<RecordId> = self.catalog.records().filter_map(Result::ok).map(|r| r.id).collect();
        for id in &ids {
            self.index_record(id)?;
        }
        self.index.commit(seq)?;
        tracing::warn!(
            records = ids.len(),
            seq,
            "read-only: the index was brought up to the catalog"
        );
        Ok(ids.len().max(1))
    }

    /// Brings the index fully up to the journal.
    pub fn index_all(&self) -> Result<(), ArchiveError> {
        // Far behind (a rebuilt index), fewer commits: each writes and
        // flushes segments.
        while self.index_pending(CATCH_UP_EVENTS)? > 0 {}
        Ok(())
    }

    /// Puts a record's current state and latest text into the index.
    fn index_record(&self, id: &RecordId) -> Result<(), ArchiveError> {
        if let Some(document) = self.feed()?.document_of(id, Extracting::Again)? {
            self.index.put(&document)?;
        }
        Ok(())
    }
}

/// What the index is fed from: the journal says which records changed, the
/// catalog what each is now, the blobs its text, the plan its place. The
/// archive feeds it behind the catalog; a rebuild, beside the catalog's
/// replay (`follow_replay`).
struct Feed<'a> {
    journal: &'a dyn Journal,
    catalog: &'a dyn Catalog,
    blobs: &'a dyn BlobStore,
    index: &'a dyn TextIndex,
    extract: extract::ExtractOptions,
    /// The plan in force (as far as the catalog has come).
    plan: Arc<PublishedPlan>,
}

impl Feed<'_> {
    /// Applies up to `max_events` journal events to the index and commits
    /// (the caller holds the indexer's lock); how many, and the records
    /// they touched.
    fn index_events(&self, max_events: usize) -> Result<(usize, Vec<RecordId>), ArchiveError> {
        let from = self.index.applied()? + 1;
        // The index follows the catalog: the journal's head moves when an
        // event is durable, a moment before the catalog shows it, and a
        // record must be in the catalog to be indexed.
        let (durable, _) = self.journal.head();
        let head = durable.min(self.catalog.last_applied()?);
        if from > head {
            return Ok((0, Vec::new()));
        }
        let mut last = from - 1;
        let mut applied = 0;
        // The records these events touch, each once, in order: a record's
        // document is its state in the catalog now, whichever event named it.
        let mut touched: Vec<RecordId> = Vec::new();
        let mut seen: std::collections::HashSet<RecordId> = std::collections::HashSet::new();
        // The records ingested by these events: the index holds nothing
        // of them (its commits are whole, and a round that fails is
        // discarded), so there is neither a document to replace nor a
        // text to reuse.
        let mut fresh: std::collections::HashSet<RecordId> = std::collections::HashSet::new();
        let mut touch = |id: RecordId| {
            if seen.insert(id) {
                touched.push(id);
            }
        };
        for event in self.journal.read_from(from)?.take(max_events) {
            let event = event?;
            if event.seq > head {
                break;
            }
            match event.body() {
                Ok(EventBody::RecordIngested { record, .. }) => {
                    fresh.insert(record);
                    touch(record);
                }
                Ok(EventBody::VersionAdded { record, .. })
                | Ok(EventBody::RecordUpdated { record, .. })
                | Ok(EventBody::RecordVerified { record, .. })
                | Ok(EventBody::RecordRead {
                    record,
                    metadata: Some(_),
                    ..
                }) => touch(record),
                // Records moved to a replacing node, or whose node moved in
                // the tree, are indexed again under their new path.
                Ok(EventBody::PlanPublished { number, moves, .. }) => {
                    let changed = self.nodes_placed_anew(number, &moves)?;
                    for node in &changed {
                        for id in self.catalog.records_in(node)? {
                            touch(id);
                        }
                    }
                }
                _ => {}
            }
            last = event.seq;
            applied += 1;
        }
        let indexed = self.put_and_commit(&touched, &fresh, last);
        if indexed.is_err() {
            // Nothing of a failed round stays pending to be put twice when
            // it is done again.
            if let Err(e) = self.index.discard() {
                tracing::warn!(error = %e, "the index's failed round could not be discarded");
            }
        }
        indexed?;
        Ok((applied, touched))
    }

    /// Puts the documents of `touched` (adding those of `fresh` records),
    /// then commits them as the state after event `last`.
    fn put_and_commit(
        &self,
        touched: &[RecordId],
        fresh: &std::collections::HashSet<RecordId>,
        last: u64,
    ) -> Result<(), ArchiveError> {
        // A few at a time: documents hold their text until they are put.
        for some in touched.chunks(64) {
            for (document, new) in self.documents_of(some, fresh)? {
                if new {
                    self.index.add(&document)?;
                } else {
                    self.index.put(&document)?;
                }
            }
        }
        self.index.commit(last)?;
        Ok(())
    }

    /// The index documents of these records (none for a record gone or
    /// destroyed), their text extracted on every core, each with whether
    /// it is of a `fresh` record; in their order.
    fn documents_of(
        &self,
        ids: &[RecordId],
        fresh: &std::collections::HashSet<RecordId>,
    ) -> Result<Vec<(IndexDocument, bool)>, ArchiveError> {
        // Extractors' panics are caught inside; any other is ours.
        super::on_every_core(ids, |id| {
            let new = fresh.contains(id);
            let extracting = if new { Extracting::Fresh } else { Extracting::Reuse };
            Ok(self.document_of(id, extracting)?.map(|document| (document, new)))
        })
    }

    /// The nodes whose records a plan version places anew: targets of its
    /// moves, and nodes whose path in the tree differs from the previous
    /// version's.
    fn nodes_placed_anew(
        &self,
        number: u32,
        moves: &std::collections::BTreeMap<NodeCode, NodeCode>,
    ) -> Result<std::collections::BTreeSet<NodeCode>, ArchiveError> {
        let mut changed: std::collections::BTreeSet<NodeCode> = moves.values().cloned().collect();
        let versions = self.catalog.plan_versions()?;
        let find = |n: u32| versions.iter().find(|e| e.number == n);
        if let (Some(before), Some(after)) = (number.checked_sub(1).and_then(find), find(number)) {
            let before = super::plan::read_version(self.blobs, before)?.plan;
            let after = super::plan::read_version(self.blobs, after)?.plan;
            for node in &after.nodes {
                if before.node(&node.code).is_some() && before.path(&node.code) != after.path(&node.code) {
                    changed.insert(node.code.clone());
                }
            }
        }
        Ok(changed)
    }

    /// A record's current state and latest text, as the index holds it
    /// (none for a record gone, destroyed, or without a version).
    fn document_of(&self, id: &RecordId, extracting: Extracting) -> Result<Option<IndexDocument>, ArchiveError> {
        let Some(record) = self.catalog.record(id)? else {
            return Ok(None);
        };
        // A destroyed record is never indexed again.
        if record.tombstone.is_some() {
            return Ok(None);
        }
        let Some(version) = record.versions.last() else {
            return Ok(None);
        };
        let reused = match extracting {
            Extracting::Reuse => self
                .index
                .reusable_text(&record.id, &version.sha256, extract::EXTRACTORS_VERSION)?,
            Extracting::Again | Extracting::Fresh => None,
        };
        let extraction = match reused {
            Some((text, extractor)) => Extraction {
                text,
                // The index keeps extractor names it was given: known ones.
                extractor: extract::extractor_name(&extractor),
                error: None,
            },
            None => self.extraction_of(version),
        };
        if let Some(error) = &extraction.error {
            tracing::info!(reference = %record.reference, %error, "no text extracted");
        }
        let plan = &self.plan;
        Ok(Some(IndexDocument {
            id: record.id,
            reference: record.reference.clone(),
            title: record.title.clone(),
            node: record.node.clone(),
            node_path: plan.plan.path(&record.node),
            service: record.service.clone(),
            document_type: record.document_type.clone(),
            date: record.date,
            media_type: version.media_type.clone(),
            content: version.sha256,
            ingested_at: record.created_at,
            text: extraction.text,
            extractor: extraction.extractor.to_owned(),
            extraction_error: extraction.error,
            extractor_version: extract::EXTRACTORS_VERSION,
            reader: node_reader_key(&record.node),
            fields: indexed_fields(&plan.plan, &record),
        }))
    }

    /// The text of a record's version, extracted from its content.
    fn extraction_of(&self, version: &crate::domain::record::Version) -> Extraction {
        match self.blobs.open(&version.sha256) {
            Ok((mut reader, _)) => {
                let media_type = version.media_type.clone();
                // An extractor that panics on a malformed file costs that
                // file its text, never the indexer.
                catch_unwind(AssertUnwindSafe(|| {
                    extract::extract(&media_type, &mut reader, self.extract)
                }))
                .unwrap_or_else(|_| Extraction {
                    text: String::new(),
                    extractor: "none",
                    error: Some("the extractor crashed on this content".into()),
                })
            }
            Err(e) => Extraction {
                text: String::new(),
                extractor: "none",
                error: Some(e.to_string()),
            },
        }
    }
}

/// Feeds the index beside a catalog being replayed from the journal (a
/// rebuild): each round indexes what the catalog has applied since the
/// last, with the plan in force as far as the catalog has come, until
/// `replayed` says the replay is over and nothing is left. A record
/// indexed early is indexed again by any later event that changes it, as
/// behind a serving archive's catalog.
pub(super) fn follow_replay(sources: FeedSources<'_>, replayed: &AtomicBool) -> Result<(), ArchiveError> {
    let mut plan: Option<Arc<PublishedPlan>> = None;
    loop {
        let over = replayed.load(Ordering::Acquire);
        // Rounds as long as a catch-up's: each commits segments that
        // merges then rewrite, and the index, quicker than the replay,
        // would otherwise commit every few events.
        let behind = sources.catalog.last_applied()?.saturating_sub(sources.index.applied()?);
        if !over && behind < CATCH_UP_EVENTS as u64 {
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        if let Some(last) = sources.catalog.plan_versions()?.last()
            && plan.as_ref().is_none_or(|p| p.entry.number != last.number)
        {
            plan = Some(Arc::new(super::plan::read_version(sources.blobs, last)?));
        }
        let applied = match &plan {
            Some(plan) => sources.with(Arc::clone(plan)).index_events(CATCH_UP_EVENTS)?.0,
            None => 0,
        };
        if applied == 0 && over {
            return Ok(());
        }
    }
}

/// The stores the index is fed from, without a plan.
#[derive(Clone, Copy)]
pub(super) struct FeedSources<'a> {
    pub(super) journal: &'a dyn Journal,
    pub(super) catalog: &'a dyn Catalog,
    pub(super) blobs: &'a dyn BlobStore,
    pub(super) index: &'a dyn TextIndex,
    pub(super) extract: extract::ExtractOptions,
}

impl<'a> FeedSources<'a> {
    /// With this plan in force.
    fn with(self, plan: Arc<PublishedPlan>) -> Feed<'a> {
        Feed {
            journal: self.journal,
            catalog: self.catalog,
            blobs: self.blobs,
            index: self.index,
            extract: self.extract,
            plan,
        }
    }
}

/// Whether a record's text may be taken from the index when its content
/// and extractors are those it was extracted with.
#[derive(Clone, Copy)]
enum Extracting {
    /// Yes: only its description changed.
    Reuse,
    /// No: extract it again (a reindex asked for).
    Again,
    /// No: the record is new to the index, which holds no text of it.
    Fresh,
}

/// The fields the plan defines for `nodes`, searchable by name; numeric
/// when some node makes it a decimal or an integer.
pub(super) fn record_fields<'a>(
    plan: &crate::domain::plan::Plan,
    nodes: impl IntoIterator<Item = &'a crate::domain::record::NodeCode>,
) -> Vec<crate::domain::query::RecordField> {
    use crate::domain::plan::FieldType;
    let mut out: Vec<crate::domain::query::RecordField> = Vec::new();
    for node in nodes {
        for def in plan.fields_for(node) {
            let numeric = matches!(def.kind, FieldType::Decimal | FieldType::Integer);
            match out.iter_mut().find(|f| f.name == def.name) {
                Some(known) => known.numeric |= numeric,
                None => out.push(crate::domain::query::RecordField {
                    name: def.name.clone(),
                    numeric,
                }),
            }
        }
    }
    out
}

/// A record's fields as the index holds them: numbers for the plan's
/// decimal and integer fields (`1200,50` and `1200.50` alike), words for
/// the others.
fn indexed_fields(
    plan: &crate::domain::plan::Plan,
    record: &crate::domain::record::Record,
) -> Vec<(String, crate::domain::search::FieldValue)> {
    use crate::domain::plan::FieldType;
    use crate::domain::search::FieldValue;
    let defs = plan.fields_for(&record.node);
    record
        .fields
        .iter()
        .map(|(name, value)| {
            let numeric = defs
                .iter()
                .any(|d| &d.name == name && matches!(d.kind, FieldType::Decimal | FieldType::Integer));
            let number = value.replace([' ', '\u{a0}'], "").replace(',', ".").parse::<f64>().ok();
            match (numeric, number) {
                (true, Some(n)) if n.is_finite() => (name.clone(), FieldValue::Number(n)),
                _ => (name.clone(), FieldValue::Text(value.clone())),
            }
        })
        .collect()
}

/// The index's reader keys of the nodes the plan lets `actor` read: a
/// search asks only for these.
pub(super) fn reader_keys(plan: &crate::domain::plan::Plan, actor: &Actor) -> Vec<String> {
    plan.readable_nodes(actor.role.as_str())
        .iter()
        .map(node_reader_key)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests_support::{deposit_text, on_disk, options};

    #[test]
    fn beside_a_replay_the_index_waits_for_its_end_then_takes_what_the_catalog_holds() {
        let (_tmp, _dir, archive) = on_disk(options());
        for i in 0..30 {
            deposit_text(
                &archive,
                &Actor::system(),
                &format!("quittance numéro {i}"),
                Some("FIN-MAN"),
            );
        }
        let sources = FeedSources {
            journal: archive.journal.as_ref(),
            catalog: archive.catalog.as_ref(),
            blobs: archive.blobs.as_ref(),
            index: archive.index.as_ref(),
            extract: archive.options.extract,
        };
        let replayed = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let follower = scope.spawn(|| {
                follow_replay(sources, &replayed).expect("fed");
                std::time::Instant::now()
            });
            // Fewer events than a round: nothing is indexed until the end.
            std::thread::sleep(std::time::Duration::from_millis(300));
            assert_eq!(archive.index.applied().expect("applied"), 0);
            let over = std::time::Instant::now();
            replayed.store(true, Ordering::Release);
            assert!(follower.join().expect("follower") >= over);
        });
        assert_eq!(archive.index.applied().expect("applied"), archive.journal_head());
        let found = archive
            .search(&Actor::system(), SearchQuery::for_text("quittance"))
            .expect("search");
        assert_eq!(found.total, 30);
    }
}
