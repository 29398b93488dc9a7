//! Deposits, versions and reads.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::{EventBody, VersionFacts};
use crate::domain::hash::Sha256;
use crate::domain::media_type;
use crate::domain::naming;
use crate::domain::record::{
    DescriptiveMetadata, InvalidInput, METADATA_FORMAT, NodeCode, Record, RecordId, Reference, Version,
    check_field_name, check_title, parse_date,
};
use crate::domain::role::Permission;
use crate::store::{BlobRead, StagedBlob};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;
use std::io::Read;

/// The longest original file name kept, in bytes.
const FILENAME_MAX: usize = 1024;
/// The longest service name, in characters.
const SERVICE_MAX: usize = 200;
/// The longest value of a free field, in characters.
const FIELD_VALUE_MAX: usize = 10_000;
/// How many free fields a record may carry.
const FIELDS_MAX: usize = 200;

/// What a depositor says about a document, as received (unchecked).
#[derive(Debug, Clone, Default)]
pub struct Deposit {
    /// Classification node code.
    pub node: String,
    /// Title; defaults to the file name without its extension.
    pub title: Option<String>,
    /// `YYYY-MM-DD`; defaults to today.
    pub date: Option<String>,
    /// Producing service.
    pub service: Option<String>,
    /// Document type.
    pub document_type: Option<String>,
    /// Free string fields.
    pub fields: BTreeMap<String, String>,
}

/// Content staged in the blob store, and its original name.
pub struct Upload {
    /// The staged content (not yet committed).
    pub staged: Box<dyn StagedBlob>,
    /// The original file name, kept as a name and never used as a path.
    pub filename: Option<String>,
}

/// A deposit after checking.
struct CheckedDeposit {
    node: NodeCode,
    title: String,
    date: NaiveDate,
    service: Option<String>,
    document_type: Option<String>,
    fields: BTreeMap<String, String>,
}

/// Checks an original file name: kept verbatim, but it must be text a
/// person can read back.
fn check_filename(filename: Option<String>) -> Result<Option<String>, InvalidInput> {
    let Some(name) = filename else { return Ok(None) };
    if name.is_empty() {
        return Ok(None);
    }
    if name.len() > FILENAME_MAX {
        return Err(InvalidInput::new(
            "filename",
            format!("longer than {FILENAME_MAX} bytes"),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(InvalidInput::new("filename", "contains control characters"));
    }
    Ok(Some(name))
}

/// Checks a short label (service, document type): trimmed, at most
/// [`SERVICE_MAX`] characters, no control characters; blank is none.
fn check_label(field: &str, value: Option<String>) -> Result<Option<String>, InvalidInput> {
    match value.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > SERVICE_MAX || s.chars().any(char::is_control) => Err(InvalidInput::new(
            field,
            format!("at most {SERVICE_MAX} characters, no control characters"),
        )),
        other => Ok(other),
    }
}

fn title_from_filename(filename: Option<&str>) -> Option<String> {
    let base = filename?.rsplit(['/', '\\']).next()?;
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let stem = stem.trim();
    (!stem.is_empty()).then(|| stem.to_owned())
}

impl Archive {
    /// Streams content into the blob store's staging area, up to the
    /// configured size limit. Nothing is visible until a deposit commits it.
    pub fn stage(&self, source: &mut dyn Read) -> Result<Box<dyn StagedBlob>, ArchiveError> {
        Ok(self.blobs.stage(source, self.options.max_upload)?)
    }

    fn check_deposit(&self, deposit: Deposit, filename: Option<&str>) -> Result<CheckedDeposit, ArchiveError> {
        let node = NodeCode::parse(&deposit.node)?;
        let title = match deposit.title.filter(|t| !t.trim().is_empty()) {
            Some(t) => check_title(&t)?,
            None => title_from_filename(filename)
                .ok_or_else(|| InvalidInput::new("title", "missing, and there is no file name to take it from"))
                .and_then(|t| check_title(&t))?,
        };
        let date = match deposit.date {
            Some(d) => parse_date("date", &d)?,
            None => self.clock.now().date_naive(),
        };
        let service = check_label("service", deposit.service)?;
        let document_type = check_label("type", deposit.document_type)?;
        if deposit.fields.len() > FIELDS_MAX {
            return Err(InvalidInput::new("fields", format!("at most {FIELDS_MAX} fields")).into());
        }
        for (name, value) in &deposit.fields {
            check_field_name(name)?;
            if value.chars().count() > FIELD_VALUE_MAX {
                return Err(InvalidInput::new(
                    format!("fields.{name}"),
                    format!("longer than {FIELD_VALUE_MAX} characters"),
                )
                .into());
            }
        }
        Ok(CheckedDeposit {
            node,
            title,
            date,
            service,
            document_type,
            fields: deposit.fields,
        })
    }

    /// Stores a metadata document and returns its digest.
    fn store_metadata(&self, doc: &DescriptiveMetadata) -> Result<Sha256, ArchiveError> {
        let bytes = doc.to_bytes();
        Ok(self.blobs.stage(&mut bytes.as_slice(), u64::MAX)?.commit()?)
    }

    /// The next number of a naming counter; never one handed out before.
    fn next_number(&self, node: &NodeCode, year: i32) -> Result<u64, ArchiveError> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let journaled = self.catalog.counter(node, year)?;
        let slot = counters.entry((node.clone(), year)).or_insert(0);
        *slot = (*slot).max(journaled) + 1;
        Ok(*slot)
    }

    /// Archives a document: the content and its metadata document become
    /// durable blobs, then the `record.ingested` event is journaled. Returns
    /// the record once both are on disk and the catalog shows it.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn ingest(&self, actor: &Actor, deposit: Deposit, upload: Upload) -> Result<Record, ArchiveError> {
        actor.require(Permission::Deposit, "deposit records")?;
        let filename = check_filename(upload.filename)?;
        let checked = self.check_deposit(deposit, filename.as_deref())?;
        let media_type = media_type::sniff(upload.staged.head());
        let size = upload.staged.size();
        let sha256 = upload.staged.commit()?;
        let id = RecordId::new_at(self.clock.now());
        let doc = DescriptiveMetadata {
            v: METADATA_FORMAT,
            record: id,
            title: checked.title,
            fields: checked.fields,
            filenames: vec![filename],
        };
        let metadata = self.store_metadata(&doc)?;
        let year = checked.date.year();
        let number = self.next_number(&checked.node, year)?;
        let reference = naming::reference(&checked.node, year, number);
        self.journal.append(actor.draft(EventBody::RecordIngested {
            record: id,
            reference,
            node: checked.node,
            year,
            number,
            date: checked.date,
            service: checked.service,
            document_type: checked.document_type,
            metadata,
            version: VersionFacts {
                number: 1,
                sha256,
                size,
                media_type,
            },
        }))?;
        self.catalog
            .record(&id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {id} journaled but not in the catalog")))
    }

    /// Adds a version to a record.
    #[tracing::instrument(skip_all, fields(actor = %actor.name, record = key))]
    pub fn add_version(&self, actor: &Actor, key: &str, upload: Upload) -> Result<Record, ArchiveError> {
        actor.require(Permission::Deposit, "add versions")?;
        let filename = check_filename(upload.filename)?;
        let found = self.record(actor, key)?;
        let stripe = found
            .id
            .to_string()
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        let _guard = self.record_locks[stripe % self.record_locks.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Re-read under the lock: another version may have just landed.
        let record = self.record(actor, key)?;
        let media_type = media_type::sniff(upload.staged.head());
        let size = upload.staged.size();
        let sha256 = upload.staged.commit()?;
        let number = record.versions.len() as u32 + 1;
        let mut filenames: Vec<Option<String>> = record.versions.iter().map(|v| v.filename.clone()).collect();
        filenames.push(filename);
        let doc = DescriptiveMetadata {
            v: METADATA_FORMAT,
            record: record.id,
            title: record.title.clone(),
            fields: record.fields.clone(),
            filenames,
        };
        let metadata = self.store_metadata(&doc)?;
        self.journal.append(actor.draft(EventBody::VersionAdded {
            record: record.id,
            version: VersionFacts {
                number,
                sha256,
                size,
                media_type,
            },
            metadata,
        }))?;
        self.catalog
            .record(&record.id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {} vanished from the catalog", record.id)))
    }

    /// A record by reference or id.
    pub fn record(&self, actor: &Actor, key: &str) -> Result<Record, ArchiveError> {
        actor.require(Permission::ReadRecords, "read records")?;
        let key = key.trim();
        let id = match RecordId::parse(key) {
            Some(id) => Some(id),
            None => self.catalog.record_id(&Reference::from_naming(key.to_owned()))?,
        };
        match id {
            Some(id) => self.catalog.record(&id)?,
            None => None,
        }
        .ok_or_else(|| ArchiveError::RecordNotFound(key.to_owned()))
    }

    /// Every record, in creation order.
    pub fn records(&self, actor: &Actor) -> Result<Vec<Record>, ArchiveError> {
        actor.require(Permission::ReadRecords, "read records")?;
        Ok(self.catalog.records().collect::<Result<_, _>>()?)
    }

    /// Opens a version's content (the latest when `version` is `None`).
    pub fn content(
        &self,
        actor: &Actor,
        key: &str,
        version: Option<u32>,
    ) -> Result<(Record, Version, Box<dyn BlobRead>, u64), ArchiveError> {
        let record = self.record(actor, key)?;
        let found = record
            .version(version)
            .cloned()
            .ok_or_else(|| ArchiveError::VersionNotFound {
                reference: record.reference.to_string(),
                version: version.unwrap_or(0),
            })?;
        let (reader, size) = self.blobs.open(&found.sha256)?;
        Ok((record, found, reader, size))
    }

    /// Refuses: records leave only through a disposal.
    pub fn delete(&self, actor: &Actor, key: &str) -> Result<(), ArchiveError> {
        self.record(actor, key)?;
        Err(ArchiveError::DeleteForbidden)
    }
}

/// The canonical file name of a record version.
pub fn canonical_filename(record: &Record, version: &Version) -> String {
    naming::canonical_filename(&record.reference, version.filename.as_deref(), &version.media_type)
}
