//! Renditions: what the archive makes of a version and keeps next to it,
//! never in its place. For a scan (a PDF without a text layer, an image)
//! when OCR is switched on (`--ocr`), a searchable PDF/A made by
//! `ocrmypdf -l fra`: the pages as scanned, with the text OCR read under
//! them, that people can search, select and copy, in the format archives
//! keep. Made once per version, after its text is indexed, by the
//! reader's thread holding no lock (as invoices are read); stored under
//! its own digest on the node's stores, journaled (`record.rendered`),
//! checked by fixity and erased with the record, like its versions.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::record::{Record, RecordId};
use crate::extract;

/// The largest rendition kept.
const RENDITION_MAX: u64 = 4 * 1024 * 1024 * 1024;

impl Archive {
    /// Makes the searchable PDF/A of the record's latest version when it
    /// is a scan that has none yet and OCR is switched on; journals it.
    pub(super) fn render_if_scan(&self, id: &RecordId) -> Result<(), ArchiveError> {
        if !self.options.extract.ocr {
            return Ok(());
        }
        let Some(record) = self.catalog.record(id)? else {
            return Ok(());
        };
        if !wants_rendition(&record) {
            return Ok(());
        }
        let Some(version) = record.versions.last() else {
            return Ok(());
        };
        let folder = self.data_dir().scratch_folder("rendition-")?;
        let image = version.media_type.starts_with("image/");
        let input = folder.path().join(if image { "scan.img" } else { "scan.pdf" });
        let (mut reader, _) = self.blobs.open(&version.sha256)?;
        let mut file = std::fs::File::create(&input)?;
        std::io::copy(&mut reader, &mut file)?;
        drop(file);
        if !image {
            // A PDF with a text layer is no scan: nothing to render.
            let bytes = std::fs::read(&input)?;
            if extract::pdf::text_of(&bytes).is_ok_and(|t| !t.trim().is_empty()) {
                return Ok(());
            }
        }
        let output = folder.path().join("pdfa.pdf");
        if let Err(why) = extract::ocr::searchable_pdfa(&input, image, &output) {
            tracing::warn!(reference = %record.reference, %why, "no searchable PDF/A made of the scan");
            return Ok(());
        }
        let mut made = std::fs::File::open(&output)?;
        let staged = self.blobs.stage(&mut made, RENDITION_MAX)?;
        let size = staged.size();
        // Under the record's lock: the version rendered is still its last,
        // and no other rendition of it was journaled meanwhile.
        let _guard = self.lock_record(id);
        let Some(record) = self.catalog.record(id)? else {
            return Ok(());
        };
        if !wants_rendition(&record) || record.versions.last().map(|v| v.number) != Some(version.number) {
            return Ok(());
        }
        let plan = self.plan_in_force()?;
        let sha256 = staged.commit_on(self.stores_for(&plan.plan, &record.node))?;
        self.journal.append(Actor::system().draft(EventBody::RecordRendered {
            record: record.id,
            version: version.number,
            sha256,
            size,
            media_type: "application/pdf".into(),
            made_by: extract::ocr::PDFA_MADE_BY.into(),
        }))?;
        Ok(())
    }

    /// The searchable PDF/A of a record's version (the latest when
    /// `None`): the record, the rendition, and its bytes, checked against
    /// their digest as they are read.
    pub fn rendition(
        self: &std::sync::Arc<Self>,
        actor: &Actor,
        key: &str,
        version: Option<u32>,
    ) -> Result<
        (
            Record,
            crate::domain::record::Rendition,
            Box<dyn crate::store::BlobRead>,
        ),
        ArchiveError,
    > {
        let record = self.record(actor, key)?;
        super::records::refuse_if_destroyed(&record)?;
        let wanted = match version {
            Some(n) => n,
            None => record.versions.last().map_or(0, |v| v.number),
        };
        let Some(rendition) = record.renditions.iter().rev().find(|r| r.version == wanted).cloned() else {
            return Err(ArchiveError::RenditionNotFound {
                reference: record.reference.to_string(),
                version: wanted,
            });
        };
        let (reader, _) = self.blobs.open(&rendition.sha256)?;
        let checked = self.checked_content(rendition.sha256, rendition.size, reader);
        Ok((record, rendition, Box::new(checked)))
    }
}

/// Whether a record's latest version is a kind of scan that has no
/// rendition yet.
fn wants_rendition(record: &Record) -> bool {
    if record.tombstone.is_some() {
        return false;
    }
    let Some(version) = record.versions.last() else {
        return false;
    };
    extract::ocr::renders_as_pdfa(&version.media_type) && !record.renditions.iter().any(|r| r.version == version.number)
}
