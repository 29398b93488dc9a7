//! Restoring a whole archive from one copy folder (`coffre restore --from
//! DIR`), on a new machine or after the first disk is lost.
//!
//! Into an empty data directory: the copy's journal segments (whole lines
//! only) and keys, then every blob of the copy, each hashed as it is
//! written and left behind when its bytes no longer give its name, then
//! the marker (a restore cut short leaves no archive that looks whole).
//! The catalog and the Merkle tree are then rebuilt from the journal, the
//! index brought up to it, the restore journaled (`archive.restored`), and
//! a whole integrity check run (`audit.verified`): the report says what,
//! if anything, could not be restored, and which records it concerns.

use super::mirror::CopyPlace;
use super::{Actor, Archive, ArchiveError, ArchiveOptions, DataDir, Progress};
use crate::domain::clock::Clock;
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::integrity::IntegrityReport;
use crate::domain::record::InvalidInput;
use std::sync::Arc;

/// What a restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RestoreReport {
    /// The copy folder.
    pub from: String,
    /// Journal segments taken.
    pub segments: u64,
    /// Journal events restored (the journal's head before the restore's
    /// own events).
    pub events: u64,
    /// Files of the keys folder taken (the seal key, password hashes).
    pub keys: u64,
    /// Blobs taken.
    pub blobs_restored: u64,
    /// Bytes taken.
    pub bytes_restored: u64,
    /// Blobs of the copy whose bytes no longer hash to their names.
    pub refused: Vec<Sha256>,
    /// Records in the rebuilt catalog.
    pub records: u64,
    /// The integrity check run on the restored archive.
    pub integrity: IntegrityReport,
}

impl RestoreReport {
    /// Whether everything was restored and checks.
    pub fn whole(&self) -> bool {
        self.refused.is_empty() && self.integrity.passed()
    }
}

fn refused(field: &str, message: String) -> ArchiveError {
    ArchiveError::Invalid(InvalidInput::new(field, message))
}

/// What was taken from a copy into a new data directory.
pub struct TakenWhole {
    /// The journal and the keys.
    pub files: crate::store::mirror::Taken,
    /// Blobs taken.
    pub blobs: u64,
    /// Bytes taken.
    pub bytes: u64,
    /// Blobs of the copy whose bytes no longer hash to their names.
    pub refused: Vec<Sha256>,
}

/// Takes everything the copy at `from` holds (journal, keys, blobs, the
/// marker last) into `data_dir`, which must be empty or absent; journals
/// nothing. A restore then rebuilds the views and checks it all; a
/// follower opens it and follows the copy from there.
pub fn take_whole(from: &CopyPlace, data_dir: &DataDir, progress: &dyn Progress) -> Result<TakenWhole, ArchiveError> {
    // Checked before anything is written: nothing is asked of the copy
    // yet that passes through files.
    let (copy, _) = super::stores::copy_at(from, &std::env::temp_dir(), super::stores::CopyUse::Read)?;
    if !copy.holds_an_archive() {
        return Err(refused(
            "from",
            format!(
                "{from} ne contient pas d'archive coffre (ni coffre.json ni journal) : donnez un dossier de copies \
                 ou un bucket qu'un serveur lancé avec --copy a tenu à jour"
            ),
        ));
    }
    let target = data_dir.path();
    let occupied = std::fs::read_dir(target).is_ok_and(|mut entries| entries.next().is_some());
    if data_dir.is_initialised() || occupied {
        return Err(refused(
            "data",
            format!(
                "{} n'est pas vide : une restauration se fait dans un dossier neuf (ou vide)",
                target.display()
            ),
        ));
    }
    data_dir.create()?;
    data_dir.lock()?;
    // Blobs read from a bucket pass through files on the target's disk.
    let (copy, source) =
        super::stores::copy_at(from, &data_dir.blobs_path().join("tmp"), super::stores::CopyUse::Read)?;
    let taken = copy.take(target)?;

    let blobs = super::stores::blobs_in_folder(&data_dir.blobs_path())?;
    let digests = source.list()?;
    progress.begin("contenus", digests.len() as u64);
    let (mut restored, mut bytes, mut refused_blobs) = (0u64, 0u64, Vec::new());
    for digest in digests {
        let (mut reader, size) = source.open(&digest)?;
        let staged = blobs.stage(&mut reader, u64::MAX)?;
        if staged.sha256() == digest {
            staged.commit()?;
            restored += 1;
            bytes += size;
        } else {
            tracing::error!(blob = %digest, found = %staged.sha256(), "restore: a copy's bytes no longer hash to its name; left behind");
            refused_blobs.push(digest);
        }
        progress.advance(1);
    }
    drop(blobs);
    copy.take_marker(target)?;
    Ok(TakenWhole {
        files: taken,
        blobs: restored,
        bytes,
        refused: refused_blobs,
    })
}

/// Restores the archive held by the copy at `from` (a folder, a bucket)
/// into `data_dir`, which must be empty or absent.
pub fn restore(
    from: &CopyPlace,
    data_dir: &DataDir,
    options: ArchiveOptions,
    clock: Arc<dyn Clock>,
    progress: &dyn Progress,
) -> Result<RestoreReport, ArchiveError> {
    let TakenWhole {
        files: taken,
        blobs: restored,
        bytes,
        refused: refused_blobs,
    } = take_whole(from, data_dir, progress)?;
    let archive = Archive::rebuild(data_dir, options, clock)?;
    let events = archive.journal_head();
    progress.begin("index", 0);
    while archive.index_pending(10_000)? > 0 {}
    let actor = Actor::command_line();
    archive.journal.append(actor.draft(EventBody::ArchiveRestored {
        from: from.to_string(),
        blobs_restored: restored,
        bytes_restored: bytes,
        refused: refused_blobs.clone(),
    }))?;
    let records = archive.record_count()?;
    let integrity = archive.verify(&actor, progress)?;
    archive.flush()?;
    tracing::info!(
        events,
        blobs = restored,
        refused = refused_blobs.len(),
        records,
        "archive restored from a copy"
    );
    Ok(RestoreReport {
        from: from.to_string(),
        segments: taken.segments,
        events,
        keys: taken.keys,
        blobs_restored: restored,
        bytes_restored: bytes,
        refused: refused_blobs,
        records,
        integrity,
    })
}
