//! What each journal event means for the catalog: the one place where events
//! become records, versions, counters and tokens.
//!
//! The same code builds the live catalog (as the journal's observer), the
//! catalog after a rebuild, and the auditor's in-memory catalog, which is
//! why a rebuilt catalog answers exactly as the old one did.

use crate::domain::event::{Event, EventBody, VersionFacts};
use crate::domain::hash::Sha256;
use crate::domain::record::{DescriptiveMetadata, HistoryEntry, Record, RecordState, Version};
use crate::store::{BlobStore, Catalog, CatalogWrite, JournalObserver, PlanVersionEntry, TokenEntry};
use std::io::Read;
use std::sync::Arc;

/// The largest metadata document read back; they are written by coffre and
/// are small, so anything bigger is damage.
const METADATA_MAX: u64 = 16 * 1024 * 1024;

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
    pub fn apply(&self, event: &Event) -> Result<(), String> {
        let writes = self.writes_for(event)?;
        self.catalog.apply(event.seq, writes).map_err(|e| e.to_string())
    }

    fn metadata(&self, sha256: &Sha256) -> Result<DescriptiveMetadata, String> {
        let (reader, _) = self
            .blobs
            .open(sha256)
            .map_err(|e| format!("metadata document {sha256}: {e}"))?;
        let mut bytes = Vec::new();
        reader
            .take(METADATA_MAX)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("metadata document {sha256}: {e}"))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("metadata document {sha256}: {e}"))
    }

    fn writes_for(&self, event: &Event) -> Result<Vec<CatalogWrite>, String> {
        let body = event.body().map_err(|e| e.to_string())?;
        let entry = HistoryEntry {
            seq: event.seq,
            time: event.time,
            actor: event.actor.clone(),
            kind: event.kind.clone(),
        };
        Ok(match body {
            EventBody::ArchiveInitialized { .. } | EventBody::AuditVerified { .. } => Vec::new(),
            EventBody::TokenCreated {
                token_sha256,
                role,
                name,
            } => vec![CatalogWrite::PutToken(TokenEntry {
                token_sha256,
                role,
                name,
                seq: event.seq,
            })],
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
            } => {
                let doc = self.metadata(&metadata)?;
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
                    aliases: Vec::new(),
                    classified_by,
                    metadata_sha256: metadata,
                    metadata_history: vec![metadata],
                    versions: vec![version_of(version, filename, event)],
                    state: RecordState::Active,
                    created_at: event.time,
                    created_by: event.actor.clone(),
                    history: vec![entry],
                };
                vec![
                    CatalogWrite::PutRecord(Box::new(record)),
                    CatalogWrite::RaiseCounter { scope, value: number },
                ]
            }
            EventBody::RecordUpdated {
                record,
                now,
                counter,
                number,
                ..
            } => {
                let mut current = self
                    .catalog
                    .record(&record)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("update of unknown record {record}"))?;
                let doc = self.metadata(&now.metadata)?;
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
                current.history.push(entry);
                let mut writes = Vec::new();
                if let (Some(scope), Some(value)) = (counter, number) {
                    current.number = value;
                    writes.push(CatalogWrite::RaiseCounter { scope, value });
                }
                writes.insert(0, CatalogWrite::PutRecord(Box::new(current)));
                writes
            }
            EventBody::PlanPublished {
                number,
                plan_id,
                label,
                text,
                moves,
            } => {
                let mut writes = vec![CatalogWrite::PutPlanVersion(PlanVersionEntry {
                    number,
                    plan_id,
                    label,
                    text,
                    seq: event.seq,
                    time: event.time,
                    actor: event.actor.clone(),
                })];
                if !moves.is_empty() {
                    for record in self.catalog.records() {
                        let mut record = record.map_err(|e| e.to_string())?;
                        if let Some(to) = moves.get(&record.node) {
                            record.node = to.clone();
                            record.history.push(entry.clone());
                            writes.push(CatalogWrite::PutRecord(Box::new(record)));
                        }
                    }
                }
                writes
            }
            EventBody::VersionAdded {
                record,
                version,
                metadata,
            } => {
                let mut current = self
                    .catalog
                    .record(&record)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("version added to unknown record {record}"))?;
                let doc = self.metadata(&metadata)?;
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
        })
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
    fn on_durable(&self, event: &Event) -> Result<(), String> {
        self.apply(event)
    }
}
