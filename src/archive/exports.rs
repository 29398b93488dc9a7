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
use crate::domain::merkle;
use crate::domain::plan::FinalAction;
use crate::domain::record::{NodeCode, Record, RecordId, RecordState};
use crate::domain::role::Permission;
use crate::package::bagit::{BAGIT_TXT, HashingWriter, manifest_line};
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
#[derive(Debug, Clone, serde::Serialize)]
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

/// Writes one zip entry through a hasher; returns its digests and size.
fn entry<W: Write + Seek>(
    zip: &mut zip::ZipWriter<W>,
    name: &str,
    large: bool,
    modified: zip::DateTime,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(String, String, u64), ArchiveError> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(if large {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        })
        .large_file(large)
        .last_modified_time(modified)
        .unix_permissions(0o644);
    zip.start_file(name, options).map_err(zip_error)?;
    let mut hashing = HashingWriter::new(&mut *zip);
    write(&mut hashing)?;
    let (_, sha256, sha512, size) = hashing.finish();
    Ok((sha256, sha512, size))
}

fn zip_error(e: zip::result::ZipError) -> ArchiveError {
    ArchiveError::Io(io::Error::other(format!("writing the package: {e}")))
}

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
        actor.require(Permission::ManageRecords, "export records")?;
        let records = self.export_selection(actor, &request.selection)?;
        if records.is_empty() {
            return Err(InvalidInput::new("records", "the selection holds no record that can be exported").into());
        }
        let plan = self.plan_in_force()?;
        let today = self.clock.now().date_naive();
        let id = format!(
            "{}-{}",
            self.archive_id.get(..8).unwrap_or(&self.archive_id),
            self.clock.now().format("%Y%m%dT%H%M%S%6f")
        );
        let bag = format!("coffre-export-{id}");

        // A seal that covers every event of every record.
        let last = records.iter().map(Record::last_seq).max().unwrap_or(0);
        let seal = match self.catalog.latest_seal()? {
            Some(seal) if seal.tree_size >= last => seal,
            _ => self.seal(&Actor::system())?,
        };

        let mut zip = zip::ZipWriter::new(out);
        let modified = {
            use chrono::{Datelike, Timelike};
            let now = self.clock.now();
            zip::DateTime::from_date_and_time(
                now.year().clamp(1980, 2107) as u16,
                now.month() as u8,
                now.day() as u8,
                now.hour() as u8,
                now.minute() as u8,
                now.second() as u8,
            )
            .unwrap_or_default()
        };
        let mut payload: Vec<(String, String, String, u64)> = Vec::new();
        let mut packaged = Vec::with_capacity(records.len());
        let mut taken_paths = BTreeSet::new();
        let mut next_object = 0usize;
        for record in &records {
            let details = self.details(record)?;
            let mut objects = Vec::new();
            let latest = record.versions.len();
            for (i, version) in record.versions.iter().enumerate() {
                let canonical = details
                    .canonical_paths
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| record.reference.to_string());
                let mut path = if i + 1 == latest {
                    format!("{CONTENT_DIR}{canonical}")
                } else {
                    match canonical.rsplit_once('.') {
                        Some((stem, ext)) if !ext.contains('/') => {
                            format!("{CONTENT_DIR}{stem}.v{}.{ext}", version.number)
                        }
                        _ => format!("{CONTENT_DIR}{canonical}.v{}", version.number),
                    }
                };
                while !taken_paths.insert(path.clone()) {
                    path = format!("{path}.{}", record.id);
                }
                let (mut reader, _) = self.blobs.open(&version.sha256)?;
                let (sha256, sha512, size) = entry(&mut zip, &format!("{bag}/{path}"), true, modified, |w| {
                    copy(&mut reader, w)
                })?;
                if sha256 != version.sha256.hex() {
                    return Err(ArchiveError::Internal(format!(
                        "the content of {} version {} no longer hashes to its name ({} now): run `coffre audit verify`",
                        record.reference, version.number, sha256
                    )));
                }
                next_object += 1;
                objects.push(PackageObject {
                    id: format!("BDO-{next_object:06}"),
                    path: path.clone(),
                    version: version.number,
                    sha256: version.sha256,
                    sha512: sha512.clone(),
                    size,
                    media_type: version.media_type.clone(),
                    filename: version.filename.clone(),
                });
                payload.push((path, sha256, sha512, size));
            }
            // The descriptive metadata document, byte for byte.
            let path = format!("{METADATA_DIR}{}.json", record.id);
            let (mut reader, _) = self.blobs.open(&record.metadata_sha256)?;
            let (sha256, sha512, size) = entry(&mut zip, &format!("{bag}/{path}"), false, modified, |w| {
                copy(&mut reader, w)
            })?;
            payload.push((path, sha256, sha512, size));

            let retention = details.retention.as_ref();
            packaged.push(PackageRecord {
                id: record.id.to_string(),
                reference: record.reference.to_string(),
                title: record.title.clone(),
                node_path: details
                    .node_path
                    .iter()
                    .map(|code| {
                        let title = plan.plan.node(code).map(|n| n.title.clone()).unwrap_or_default();
                        (code.to_string(), title)
                    })
                    .collect(),
                date: record.date,
                service: record.service.clone(),
                document_type: record.document_type.clone(),
                fields: record.fields.clone(),
                appraisal: retention.map(|r| PackageAppraisal {
                    rule: r.rule.clone(),
                    start_date: r.start_date,
                    final_action: match r.final_action {
                        FinalAction::Destroy => "Destroy".into(),
                        FinalAction::Keep | FinalAction::Review => "Keep".into(),
                    },
                }),
                objects,
            });
        }

        // The journal: the records' events, their proofs, the seal.
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
        let (sha256, sha512, size) = entry(&mut zip, &format!("{bag}/{EVENTS_JSONL}"), false, modified, |w| {
            for event in &events {
                w.write_all(&event.to_line())?;
            }
            Ok(())
        })?;
        payload.push((EVENTS_JSONL.into(), sha256, sha512, size));
        let proofs_json = serde_json::to_vec_pretty(&proofs).map_err(|e| ArchiveError::Internal(e.to_string()))?;
        let (sha256, sha512, size) = entry(&mut zip, &format!("{bag}/{PROOFS_JSON}"), false, modified, |w| {
            w.write_all(&proofs_json)
        })?;
        payload.push((PROOFS_JSON.into(), sha256, sha512, size));
        let public_key = self.seal_key.public_hex();
        let seal_file = SealFile {
            archive: self.archive_id.clone(),
            seal: seal.clone(),
            public_key_pem: crate::domain::seal::public_key_pem(&public_key).unwrap_or_default(),
            public_key,
        };
        let seal_json = serde_json::to_vec_pretty(&seal_file).map_err(|e| ArchiveError::Internal(e.to_string()))?;
        let (sha256, sha512, size) = entry(&mut zip, &format!("{bag}/{SEAL_JSON}"), false, modified, |w| {
            w.write_all(&seal_json)
        })?;
        payload.push((SEAL_JSON.into(), sha256, sha512, size));

        // The SEDA manifest.
        let service = records.iter().find_map(|r| r.service.clone());
        let parties = TransferParties {
            message_id: id.clone(),
            comment: request.comment.clone(),
            archival_agreement: request.archival_agreement.clone(),
            archival_agency: request
                .archival_agency
                .clone()
                .unwrap_or_else(|| DEFAULT_ARCHIVAL_AGENCY.to_owned()),
            transferring_agency: request
                .transferring_agency
                .clone()
                .unwrap_or_else(|| format!("coffre-{}", self.archive_id)),
            originating_agency: service.unwrap_or_else(|| format!("coffre-{}", self.archive_id)),
        };
        let now = self.clock.now();
        let (sha256, sha512, size) = entry(&mut zip, &format!("{bag}/{MANIFEST_XML}"), false, modified, |w| {
            seda::write_manifest(w, &parties, &packaged, now)
        })?;
        payload.push((MANIFEST_XML.into(), sha256, sha512, size));

        // The bag's tag files.
        payload.sort_by(|a, b| a.0.cmp(&b.0));
        let bytes: u64 = payload.iter().map(|p| p.3).sum();
        let mut tags: Vec<(String, String)> = Vec::new();
        let manifest256: String = payload.iter().map(|(p, s, _, _)| manifest_line(s, p)).collect();
        let manifest512: String = payload.iter().map(|(p, _, s, _)| manifest_line(s, p)).collect();
        let bag_info = format!(
            "Source-Organization: {}\nBagging-Date: {}\nPayload-Oxum: {}.{}\nExternal-Identifier: {}\nInternal-Sender-Identifier: {}\nBag-Software-Agent: coffre {}\nBag-Count: 1 of 1\n",
            parties.originating_agency,
            today,
            bytes,
            payload.len(),
            id,
            parties.transferring_agency,
            env!("CARGO_PKG_VERSION")
        );
        for (name, text) in [
            ("bagit.txt", BAGIT_TXT.to_owned()),
            ("bag-info.txt", bag_info),
            ("manifest-sha256.txt", manifest256),
            ("manifest-sha512.txt", manifest512),
        ] {
            let (sha256, _, _) = entry(&mut zip, &format!("{bag}/{name}"), false, modified, |w| {
                w.write_all(text.as_bytes())
            })?;
            tags.push((name.to_owned(), sha256));
        }
        let tagmanifest: String = tags.iter().map(|(p, s)| manifest_line(s, p)).collect();
        entry(
            &mut zip,
            &format!("{bag}/tagmanifest-sha256.txt"),
            false,
            modified,
            |w| w.write_all(tagmanifest.as_bytes()),
        )?;
        let mut out = zip.finish().map_err(zip_error)?;
        out.flush()?;

        let tagmanifest_sha256 = Sha256::of(tagmanifest.as_bytes());
        let event = self.journal.append(actor.draft(EventBody::PackageExported {
            package: id.clone(),
            records: records.iter().map(|r| r.id).collect(),
            seal: seal.seq,
            payload_oxum: format!("{bytes}.{}", payload.len()),
            tagmanifest: tagmanifest_sha256,
            transfer: match request.selection {
                ExportSelection::Transfer(t) => Some(t),
                _ => None,
            },
        }))?;
        tracing::info!(package = %id, records = records.len(), bytes, "package exported");
        let summary = ExportSummary {
            id,
            records: records.len(),
            files: payload.len(),
            bytes,
            seal: seal.seq,
            seq: event.seq,
        };
        Ok((summary, out))
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
                    return Err(InvalidInput::new("node", format!("{node} is not a node of the plan")).into());
                }
                for record in self.catalog.records() {
                    let record = record?;
                    if plan.plan.path(&record.node).contains(&node)
                        && plan
                            .plan
                            .allows(&record.node, actor.role.as_str(), crate::domain::plan::Access::Read)
                    {
                        keep(record, &mut chosen);
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
                let ids: Vec<RecordId> = transfer.lines.iter().map(|l| l.record).collect();
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
