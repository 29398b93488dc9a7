//! Exporting records as a transfer package (see `package`): the records
//! chosen by node, query, reference or transfer, their content streamed
//! from the blob store into the zip (hashed on the way, so a blob that no
//! longer matches its name stops the export), their metadata documents,
//! journal events and inclusion proofs against a seal that covers them,
//! the SEDA manifest and the BagIt tag files. Memory stays bounded by the
//! number of records, never by their size. The export is journaled.

use super::seals::TreeAt;
use super::{Actor, Archive, ArchiveError, InvalidInput};
use crate::domain::event::{Event, EventBody};
use crate::domain::hash::Sha256;
use crate::domain::integrity::{DamageFinder, DamageKind};
use crate::domain::merkle;
use crate::domain::plan::FinalAction;
use crate::domain::record::{NodeCode, Record, RecordId, RecordState};
use crate::domain::role::Permission;
use crate::domain::seal::Seal;
use crate::package::bag_writer::{BagInfo, BagWriter, Storage};
use crate::package::verify::{EventProof, SealFile};
use crate::package::{
    CONTENT_DIR, EVENTS_JSONL, MANIFEST_XML, METADATA_DIR, PROOFS_JSON, PackageAppraisal, PackageObject, PackageRecord,
    SEAL_JSON, TransferParties, seda,
};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Read, Seek, Write};

/// Which records a package holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportSelection {
    /// A node and everything below it.
    Node(String),
    /// What a full-text query finds.
    Query(String),
    /// Records by reference or id.
    Records(Vec<String>),
    /// The lines of a transfer proposal.
    Transfer(u64),
}

/// An export request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRequest {
    /// The records.
    pub selection: ExportSelection,
    /// The receiving archives service's identifier.
    pub archival_agency: Option<String>,
    /// The sending service's identifier.
    pub transferring_agency: Option<String>,
    /// The archival agreement.
    pub archival_agreement: Option<String>,
    /// A comment for the archives.
    pub comment: Option<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExportSummary {
    /// The package's identifier (its SEDA MessageIdentifier).
    pub id: String,
    /// Records in it.
    pub records: usize,
    /// Payload files.
    pub files: usize,
    /// Payload bytes.
    pub bytes: u64,
    /// The seal its proofs lead to.
    pub seal: u64,
    /// The journal event that records the export.
    pub seq: u64,
}

/// The receiving service when the request names none.
pub const DEFAULT_ARCHIVAL_AGENCY: &str = "archives";

impl Archive {
    /// Writes the package of the requested records to `out` (a zip), and
    /// gives `out` back.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn export<W: Write + Seek>(
        &self,
        actor: &Actor,
        request: &ExportRequest,
        out: W,
    ) -> Result<(ExportSummary, W), ArchiveError> {
        actor.require(Permission::ManageRecords, "exporter des documents")?;
        let records = self.export_selection(actor, &request.selection)?;
        if records.is_empty() {
            return Err(InvalidInput::new("records", "la sélection ne contient aucun document exportable").into());
        }
        let now = self.clock.now();
        let id = format!(
            "{}-{}",
            self.archive_id.get(..8).unwrap_or(&self.archive_id),
            now.format("%Y%m%dT%H%M%S%6f")
        );
        let seal = self.seal_covering(&records)?;
        let mut bag = BagWriter::new(out, &format!("coffre-export-{id}"), now);
        let packaged = self.write_records(&mut bag, &records)?;
        self.write_evidence(&mut bag, &records, &seal)?;
        let parties = self.parties(request, &records, &id);
        bag.payload(MANIFEST_XML, Storage::Deflated, |w| {
            seda::write_manifest(w, &parties, &packaged, now)
        })?;
        let (bytes, files) = bag.payload_oxum();
        let (out, tagmanifest) = bag.finish(&BagInfo {
            source_organization: parties.originating_agency.clone(),
            bagging_date: now.date_naive(),
            external_identifier: id.clone(),
            internal_sender_identifier: parties.transferring_agency.clone(),
        })?;
        let event = self.journal.append(actor.draft(EventBody::PackageExported {
            package: id.clone(),
            records: records.iter().map(|r| r.id).collect(),
            seal: seal.seq,
            payload_oxum: format!("{bytes}.{files}"),
            tagmanifest: Sha256::of(tagmanifest.as_bytes()),
            transfer: match request.selection {
                ExportSelection::Transfer(t) => Some(t),
                _ => None,
            },
        }))?;
        tracing::info!(package = %id, records = records.len(), bytes, "package exported");
        let summary = ExportSummary {
            id,
            records: records.len(),
            files,
            bytes,
            seal: seal.seq,
            seq: event.seq,
        };
        Ok((summary, out))
    }

    /// The latest seal if it covers every event of `records`, else a new one.
    fn seal_covering(&self, records: &[Record]) -> Result<Seal, ArchiveError> {
        let last = records.iter().map(Record::last_seq).max().unwrap_or(0);
        match self.catalog.latest_seal()? {
            Some(seal) if seal.tree_size >= last => Ok(seal),
            _ => self.seal(&Actor::system()),
        }
    }

    /// Writes each record's versions (streamed from the blob store and
    /// checked against their names on the way) and its metadata document;
    /// returns what the SEDA manifest says of each.
    fn write_records<W: Write + Seek>(
        &self,
        bag: &mut BagWriter<W>,
        records: &[Record],
    ) -> Result<Vec<PackageRecord>, ArchiveError> {
        let plan = self.plan_in_force()?;
        let mut packaged = Vec::with_capacity(records.len());
        let mut taken_paths = BTreeSet::new();
        let mut next_object = 0usize;
        for record in records {
            let details = self.describe(record)?;
            let mut objects = Vec::new();
            for (i, version) in record.versions.iter().enumerate() {
                let canonical = details
                    .canonical_paths
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| record.reference.to_string());
                let mut path = content_path(&canonical, version.number, i + 1 == record.versions.len());
                while !taken_paths.insert(path.clone()) {
                    path = format!("{path}.{}", record.id);
                }
                // A damaged content leaves in no package: the export is
                // refused with the reason, and the damage journaled.
                let damaged = |problem: String| ArchiveError::ContentDamaged {
                    reference: record.reference.to_string(),
                    version: version.number,
                    problem,
                };
                if let Some(problem) = self.damage_of(&version.sha256) {
                    return Err(damaged(problem));
                }
                let (mut reader, _) = match self.blobs.open(&version.sha256) {
                    Ok(opened) => opened,
                    Err(crate::store::BlobError::NotFound(_)) => {
                        self.note_damage(&version.sha256, DamageKind::Missing, DamageFinder::Read);
                        return Err(damaged(self.damage_of(&version.sha256).unwrap_or_default()));
                    }
                    Err(e) => return Err(e.into()),
                };
                let file = bag.payload(&path, Storage::Stored, |w| copy(&mut reader, w))?;
                if file.sha256 != version.sha256.hex() {
                    self.note_damage(&version.sha256, DamageKind::Corrupt, DamageFinder::Read);
                    return Err(damaged(self.damage_of(&version.sha256).unwrap_or_default()));
                }
                next_object += 1;
                objects.push(PackageObject {
                    id: format!("BDO-{next_object:06}"),
                    path,
                    version: version.number,
                    sha256: version.sha256,
                    sha512: file.sha512,
                    size: file.size,
                    media_type: version.media_type.clone(),
                    filename: version.filename.clone(),
                });
            }
            // The descriptive metadata document, byte for byte.
            let (mut reader, _) = self.blobs.open(&record.metadata_sha256)?;
            bag.payload(&format!("{METADATA_DIR}{}.json", record.id), Storage::Deflated, |w| {
                copy(&mut reader, w)
            })?;
            packaged.push(package_record(record, &details, &plan.plan, objects));
        }
        Ok(packaged)
    }

    /// Writes the records' journal events, each one's inclusion proof
    /// against `seal`, and the seal with its public key.
    fn write_evidence<W: Write + Seek>(
        &self,
        bag: &mut BagWriter<W>,
        records: &[Record],
        seal: &Seal,
    ) -> Result<(), ArchiveError> {
        let seqs: BTreeSet<u64> = records.iter().flat_map(|r| r.history.iter().map(|h| h.seq)).collect();
        let tree = TreeAt(self.tree.as_ref(), seal.tree_size);
        let mut proofs = Vec::with_capacity(seqs.len());
        let mut events: Vec<Event> = Vec::with_capacity(seqs.len());
        for seq in &seqs {
            let event = self.event_at(*seq)?;
            let proof = merkle::inclusion_proof(&tree, seq - 1, seal.tree_size)
                .map_err(|e| ArchiveError::Internal(format!("proof of event {seq}: {e}")))?;
            proofs.push(EventProof {
                seq: *seq,
                leaf_index: seq - 1,
                leaf_hash: event.leaf_hash(),
                proof,
            });
            events.push(event);
        }
        bag.payload(EVENTS_JSONL, Storage::Deflated, |w| {
            for event in &events {
                w.write_all(&event.to_line())?;
            }
            Ok(())
        })?;
        let proofs_json = serde_json::to_vec_pretty(&proofs).map_err(|e| ArchiveError::Internal(e.to_string()))?;
        bag.payload(PROOFS_JSON, Storage::Deflated, |w| w.write_all(&proofs_json))?;
        let public_key = self.seal_key().public_hex();
        let seal_file = SealFile {
            archive: self.archive_id.clone(),
            seal: seal.clone(),
            public_key_pem: crate::domain::seal::public_key_pem(&public_key).unwrap_or_default(),
            public_key,
            key_chain: self.catalog.key_chain()?.rotations,
        };
        let seal_json = serde_json::to_vec_pretty(&seal_file).map_err(|e| ArchiveError::Internal(e.to_string()))?;
        bag.payload(SEAL_JSON, Storage::Deflated, |w| w.write_all(&seal_json))?;
        Ok(())
    }

    /// Who sends the package to whom, from the request or the defaults.
    fn parties(&self, request: &ExportRequest, records: &[Record], id: &str) -> TransferParties {
        let service = records.iter().find_map(|r| r.service.clone());
        let this_archive = format!("coffre-{}", self.archive_id);
        // The collectivité's identity, once set, names the parties.
        let identity = self.catalog.identity().ok().flatten();
        let archives_identifier = identity
            .as_ref()
            .map(|i| i.archives.identifier.clone())
            .filter(|i| !i.is_empty());
        let collectivite = identity.as_ref().map(|i| i.agency_identifier().to_owned());
        TransferParties {
            message_id: id.to_owned(),
            comment: request.comment.clone(),
            archival_agreement: request.archival_agreement.clone(),
            archival_agency: request
                .archival_agency
                .clone()
                .or(archives_identifier)
                .unwrap_or_else(|| DEFAULT_ARCHIVAL_AGENCY.to_owned()),
            transferring_agency: request
                .transferring_agency
                .clone()
                .or(collectivite)
                .unwrap_or_else(|| this_archive.clone()),
            originating_agency: service.unwrap_or(this_archive),
        }
    }

    /// The live records a selection names that the actor may read, in
    /// reference order.
    fn export_selection(&self, actor: &Actor, selection: &ExportSelection) -> Result<Vec<Record>, ArchiveError> {
        let plan = self.plan_in_force()?;
        let mut chosen: BTreeMap<String, Record> = BTreeMap::new();
        let keep = |record: Record, chosen: &mut BTreeMap<String, Record>| {
            if record.state == RecordState::Active && record.tombstone.is_none() {
                chosen.insert(record.reference.to_string(), record);
            }
        };
        match selection {
            ExportSelection::Records(keys) => {
                for key in keys {
                    let record = self.record(actor, key)?;
                    super::records::refuse_if_destroyed(&record)?;
                    keep(record, &mut chosen);
                }
            }
            ExportSelection::Node(code) => {
                let node = NodeCode::parse(code)?;
                if plan.plan.node(&node).is_none() {
                    return Err(InvalidInput::new("node", format!("{node} n'est pas un nœud du plan")).into());
                }
                let under = plan
                    .plan
                    .nodes
                    .iter()
                    .filter(|n| plan.plan.path(&n.code).contains(&node));
                for code in under.map(|n| &n.code) {
                    if !plan
                        .plan
                        .allows(code, actor.role.as_str(), crate::domain::plan::Access::Read)
                    {
                        continue;
                    }
                    for id in self.catalog.records_in(code)? {
                        if let Some(record) = self.catalog.record(&id)? {
                            keep(record, &mut chosen);
                        }
                    }
                }
            }
            ExportSelection::Query(text) => {
                self.index_all()?;
                let mut query = self.hold_query(text)?;
                query.readers = super::search::reader_keys(&plan.plan, actor);
                for id in self.index.matching_ids(&query)? {
                    if let Some(record) = self.catalog.record(&id)? {
                        keep(record, &mut chosen);
                    }
                }
            }
            ExportSelection::Transfer(id) => {
                let transfer = self.transfer(actor, *id)?;
                if let Some(why) = &transfer.abandoned {
                    return Err(ArchiveError::TransferState {
                        id: *id,
                        problem: format!("il a été abandonné ({why})"),
                    });
                }
                let ids: Vec<RecordId> = transfer.proposal.lines.iter().map(|l| l.record).collect();
                for id in ids {
                    if let Some(record) = self.catalog.record(&id)? {
                        keep(record, &mut chosen);
                    }
                }
            }
        }
        Ok(chosen.into_values().collect())
    }
}

fn copy(reader: &mut dyn Read, writer: &mut dyn Write) -> io::Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => writer.write_all(&buf[..n])?,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Where a version goes in the bag: the latest under its canonical path,
/// earlier ones with `.vN` before the extension.
fn content_path(canonical: &str, number: u32, latest: bool) -> String {
    if latest {
        return format!("{CONTENT_DIR}{canonical}");
    }
    match canonical.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => format!("{CONTENT_DIR}{stem}.v{number}.{ext}"),
        _ => format!("{CONTENT_DIR}{canonical}.v{number}"),
    }
}

/// What the SEDA manifest says of a record: its description, its place in
/// the plan (codes and titles), its appraisal rule and its objects.
fn package_record(
    record: &Record,
    details: &super::RecordDetails,
    plan: &crate::domain::plan::Plan,
    objects: Vec<PackageObject>,
) -> PackageRecord {
    PackageRecord {
        id: record.id.to_string(),
        reference: record.reference.to_string(),
        title: record.title.clone(),
        node_path: details
            .node_path
            .iter()
            .map(|code| {
                let title = plan.node(code).map(|n| n.title.clone()).unwrap_or_default();
                (code.to_string(), title)
            })
            .collect(),
        date: record.date,
        service: record.service.clone(),
        document_type: record.document_type.clone(),
        fields: record.fields.clone(),
        appraisal: details.retention.as_ref().map(|r| PackageAppraisal {
            rule: r.rule.clone(),
            start_date: r.start_date,
            final_action: match r.final_action {
                FinalAction::Destroy => "Destroy".into(),
                FinalAction::Keep | FinalAction::Review => "Keep".into(),
            },
        }),
        objects,
    }
}
