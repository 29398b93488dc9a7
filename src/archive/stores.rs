//! The one composition point: which adapter serves each storage port. An
//! archive on disk uses files for blobs, the journal and the Merkle tree,
//! fjall for the catalog and tantivy for the index; tests may hand
//! [`Archive::open`](super::Archive::open) other adapters (the in-memory
//! ones) through the same struct. This is where another blob store (an
//! object store holding copies) plugs in.
//!
//! Nothing else in `archive` names an adapter. The integrity check reads
//! the journal's segment files itself (`store::journal::audit_scan`), as it
//! must on a directory whose damaged journal would not let it open.

use super::mirror::CopyPlace;
use super::{ArchiveError, ArchiveOptions, DataDir};
use crate::domain::clock::Clock;
use crate::domain::record::InvalidInput;
use crate::store::blob_copies::{CopiedBlobStore, CopyStore};
use crate::store::blob_fs::{FsBlobStore, Packing};
use crate::store::bucket::{Bucket, BucketBlobs};
use crate::store::catalog_fjall::FjallCatalog;
use crate::store::credentials::{Credentials, FileCredentials, MemoryCredentials};
use crate::store::directory::Directory;
use crate::store::directory_ldap::LdapDirectory;
use crate::store::index_tantivy::TantivyIndex;
use crate::store::journal::{FileJournal, Recovery};
/// The in-memory catalog, named here (where adapters are chosen) for the
/// tests that count its scans.
pub(crate) use crate::store::memory::MemoryCatalog;
use crate::store::memory::{MemoryBlobStore, MemoryJournal, MemoryTree};
use crate::store::merkle_files::FileTree;
use crate::store::mirror::{ArchiveCopy, CopyFolder};
use crate::store::tsa::{HttpTimeStamper, TimeStamper};
use crate::store::{BlobStore, Catalog, Journal, JournalError, JournalObserver, MerkleTree, TextIndex};
use std::path::PathBuf;
use std::sync::Arc;

/// Where the journal lives; it is opened last, once its observer (the
/// views over the other stores) exists.
enum JournalAt {
    /// Segment files in this folder.
    Files(PathBuf),
    /// Segment files in this folder, following another journal: appends
    /// are refused with the reason, the other's events adopted.
    Following(PathBuf, String),
    /// A vector in memory.
    Memory,
    /// Another, whose appends fail when a trigger says (tests).
    #[cfg(test)]
    Faulty(
        Box<JournalAt>,
        Arc<crate::store::faulty::Trigger>,
        crate::store::faulty::JournalStep,
    ),
}

/// The adapters an archive runs on.
pub struct Stores {
    pub(super) blobs: Arc<dyn BlobStore>,
    pub(super) catalog: Arc<dyn Catalog>,
    pub(super) tree: Arc<dyn MerkleTree>,
    pub(super) index: Arc<dyn TextIndex>,
    pub(super) stamper: Option<Box<dyn TimeStamper>>,
    pub(super) credentials: Arc<dyn Credentials>,
    /// The directory people sign in through, if any.
    pub(super) directory: Option<Arc<dyn Directory>>,
    /// The places keeping a copy of the archive's own files.
    pub(super) copies: Vec<Arc<dyn ArchiveCopy>>,
    /// The catalog was found damaged at opening: why, and where it was
    /// set aside (a new one is rebuilt from the journal).
    pub(super) catalog_damaged: Option<CatalogSetAside>,
    /// The copy a follower follows, and why it writes nothing of its own.
    pub(super) following: Option<(CopyAt, String)>,
    journal: JournalAt,
}

impl Stores {
    /// The adapters of an archive in `data_dir`: takes the directory's lock
    /// first (so no other process has its files open), then opens each.
    pub fn on_disk(data_dir: &DataDir, options: &ArchiveOptions) -> Result<Self, ArchiveError> {
        data_dir.lock()?;
        let places = copy_places(&options.copies, &data_dir.blobs_path().join("tmp"))?;
        let (catalog, catalog_damaged) = catalog_on_disk(data_dir)?;
        let following = match &options.follow {
            Some(place) => Some((
                copy_at(place, &data_dir.blobs_path().join("tmp"), CopyUse::Read)?,
                super::follow::reason(place, options.primary.as_deref()),
            )),
            None => None,
        };
        let journal = match &following {
            Some((_, reason)) => JournalAt::Following(data_dir.journal_path(), reason.clone()),
            None => JournalAt::Files(data_dir.journal_path()),
        };
        Ok(Stores {
            catalog_damaged,
            following,
            journal,
            blobs: blobs_with_copies(data_dir, &places)?,
            copies: places.into_iter().map(|(copy, _)| copy).collect(),
            catalog,
            tree: Arc::new(FileTree::open(&data_dir.merkle_path())?),
            index: Arc::new(TantivyIndex::open(&data_dir.index_path())?),
            stamper: stamper(options)?,
            credentials: Arc::new(FileCredentials::open(&data_dir.credentials_path())?),
            directory: directory(options)?,
        })
    }

    /// Every store in memory: for fast tests of the use cases. Nothing
    /// survives the process.
    pub fn in_memory(options: &ArchiveOptions) -> Result<Self, ArchiveError> {
        Ok(Stores {
            blobs: Arc::new(MemoryBlobStore::default()),
            catalog: Arc::new(MemoryCatalog::default()),
            tree: Arc::new(MemoryTree::default()),
            index: Arc::new(TantivyIndex::in_memory()?),
            stamper: stamper(options)?,
            credentials: Arc::new(MemoryCredentials::default()),
            directory: None,
            copies: Vec::new(),
            catalog_damaged: None,
            following: None,
            journal: JournalAt::Memory,
        })
    }

    /// The same stores, letting people in through `directory`.
    pub fn with_directory(mut self, directory: Arc<dyn Directory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// The same stores, with a journal whose appends fail when `trigger`
    /// says (tests of faults).
    #[cfg(test)]
    pub(super) fn with_faulty_journal(
        mut self,
        trigger: Arc<crate::store::faulty::Trigger>,
        step: crate::store::faulty::JournalStep,
    ) -> Self {
        self.journal = JournalAt::Faulty(Box::new(self.journal), trigger, step);
        self
    }

    /// Opens the journal, telling `observer` of each event it makes durable.
    pub(super) fn open_journal(
        &self,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn JournalObserver>,
    ) -> Result<(Arc<dyn Journal>, Recovery), JournalError> {
        Self::open_journal_at(&self.journal, clock, observer)
    }

    fn open_journal_at(
        at: &JournalAt,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn JournalObserver>,
    ) -> Result<(Arc<dyn Journal>, Recovery), JournalError> {
        match at {
            #[cfg(test)]
            JournalAt::Faulty(inner, trigger, step) => {
                let (journal, recovery) = Self::open_journal_at(inner, clock, observer)?;
                let faulty = crate::store::faulty::FaultyJournal {
                    inner: journal,
                    trigger: Arc::clone(trigger),
                    step: *step,
                };
                Ok((Arc::new(faulty), recovery))
            }
            JournalAt::Files(dir) => {
                let (journal, recovery) = FileJournal::open(dir, clock, observer)?;
                Ok((Arc::new(journal), recovery))
            }
            JournalAt::Following(dir, reason) => {
                let (journal, recovery) = FileJournal::open_following(dir, clock, observer, reason.clone())?;
                Ok((Arc::new(journal), recovery))
            }
            JournalAt::Memory => Ok((Arc::new(MemoryJournal::new(clock, observer)), Recovery::default())),
        }
    }
}

/// Why a damaged catalog was set aside, and where.
pub(super) type CatalogSetAside = (String, PathBuf);

/// The catalog of an archive on disk. One that its engine finds damaged
/// is moved aside (`catalog.endommage-<seconds>`, kept for examination)
/// and a new one opened, which the archive rebuilds from the journal; says
/// why and where it went.
fn catalog_on_disk(data_dir: &DataDir) -> Result<(Arc<dyn Catalog>, Option<CatalogSetAside>), ArchiveError> {
    let path = data_dir.catalog_path();
    match FjallCatalog::open(&path) {
        Ok(catalog) => Ok((Arc::new(catalog), None)),
        Err(crate::store::CatalogError::Damaged(reason)) => {
            let seconds = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let aside = path.with_file_name(format!("catalog.endommage-{seconds}"));
            std::fs::rename(&path, &aside)?;
            tracing::error!(%reason, aside = %aside.display(), "the catalog is damaged: set aside, rebuilt from the journal");
            Ok((Arc::new(FjallCatalog::open(&path)?), Some((reason, aside))))
        }
        Err(e) => Err(e.into()),
    }
}

/// A blob store and a catalog.
pub(super) type BlobsAndCatalog = (Arc<dyn BlobStore>, Arc<dyn Catalog>);

/// The blob store and the catalog of an archive on disk, for the offline
/// integrity check, which must read a directory whose journal may not let
/// the archive open. Takes the directory's lock.
pub(super) fn blobs_and_catalog_on_disk(data_dir: &DataDir) -> Result<BlobsAndCatalog, ArchiveError> {
    data_dir.lock()?;
    Ok((
        Arc::new(FsBlobStore::open(&data_dir.blobs_path())?),
        Arc::new(FjallCatalog::open(&data_dir.catalog_path())?),
    ))
}

/// Moves the small blobs that an archive written before packs keeps as
/// files of their own into packs (`coffre pack`), the server stopped:
/// takes the directory's lock and checks its layout, marking it with this
/// version's. See [`FsBlobStore::pack_files`].
pub fn pack_blob_files(data_dir: &DataDir, progress: &mut dyn FnMut(&Packing)) -> Result<Packing, ArchiveError> {
    data_dir.lock()?;
    data_dir.check_format(true)?;
    Ok(FsBlobStore::open(&data_dir.blobs_path())?.pack_files(progress)?)
}

/// The blob store of a folder on disk: a data directory's (a restore
/// fills it).
pub(super) fn blobs_in_folder(folder: &std::path::Path) -> Result<Arc<dyn BlobStore>, ArchiveError> {
    Ok(Arc::new(FsBlobStore::open(folder)?))
}

/// A place keeping a copy of the archive: its own files and its blobs.
pub(super) type CopyAt = (Arc<dyn ArchiveCopy>, Arc<dyn BlobStore>);

/// What is done with a copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CopyUse {
    /// This archive writes it.
    Write,
    /// It is read while its archive may write it (a follower, a restore).
    Read,
}

/// The copy kept at `place`; a bucket's transfers pass through files in
/// `staging`.
pub(super) fn copy_at(place: &CopyPlace, staging: &std::path::Path, used: CopyUse) -> Result<CopyAt, ArchiveError> {
    Ok(match place {
        CopyPlace::Folder(folder) => (
            Arc::new(CopyFolder(folder.clone())),
            Arc::new(match used {
                CopyUse::Write => FsBlobStore::open(folder)?,
                CopyUse::Read => FsBlobStore::open_to_read(folder)?,
            }),
        ),
        CopyPlace::Bucket(address) => {
            let bucket = Arc::new(Bucket::open(address, staging)?);
            (
                Arc::clone(&bucket) as Arc<dyn ArchiveCopy>,
                Arc::new(BucketBlobs(bucket)),
            )
        }
    })
}

fn copy_places(places: &[CopyPlace], staging: &std::path::Path) -> Result<Vec<CopyAt>, ArchiveError> {
    places
        .iter()
        .map(|place| copy_at(place, staging, CopyUse::Write))
        .collect()
}

/// An empty catalog the integrity check projects the journal into, to
/// compare it with the archive's own: on disk, in a scratch folder of the
/// data directory that goes with it (removed when dropped, or at the next
/// start after a crash), so that a million records do not sit in memory;
/// in memory when no folder can be made there (a copy on read-only
/// media), with a warning.
pub(super) fn scratch_catalog(data_dir: &DataDir) -> ScratchCatalog {
    let on_disk = data_dir
        .scratch_folder("verify-")
        .map_err(|e| e.to_string())
        .and_then(|folder| {
            let catalog = FjallCatalog::scratch(&folder.path().join("catalog")).map_err(|e| e.to_string())?;
            Ok((catalog, folder))
        });
    match on_disk {
        Ok((catalog, folder)) => ScratchCatalog {
            catalog: Arc::new(catalog),
            _folder: Some(folder),
        },
        Err(e) => {
            tracing::warn!(error = %e, "no scratch folder in the data directory: the check's catalog is held in memory");
            ScratchCatalog {
                catalog: Arc::new(MemoryCatalog::default()),
                _folder: None,
            }
        }
    }
}

/// A scratch catalog and the folder it sits in, which outlives it (fields
/// are dropped in order).
pub(super) struct ScratchCatalog {
    pub catalog: Arc<dyn Catalog>,
    _folder: Option<tempfile::TempDir>,
}

/// The data directory's blob store, with a copy of every blob in each
/// place the options name.
fn blobs_with_copies(data_dir: &DataDir, places: &[CopyAt]) -> Result<Arc<dyn BlobStore>, ArchiveError> {
    let first: Arc<dyn BlobStore> = Arc::new(FsBlobStore::open(&data_dir.blobs_path())?);
    if places.is_empty() {
        return Ok(first);
    }
    let copies = places
        .iter()
        .map(|(copy, blobs)| CopyStore {
            name: copy.name(),
            store: Arc::clone(blobs),
        })
        .collect();
    Ok(Arc::new(CopiedBlobStore::new(first, copies)))
}

/// A session on a mail server, over IMAP, for a capture channel.
pub fn open_mail_session(
    address: &crate::store::mail::MailServerAddress,
) -> Result<Box<dyn crate::store::mail::MailSession>, crate::store::mail::MailError> {
    Ok(Box::new(crate::store::mail_imap::ImapSession::open(address)?))
}

/// The directory the options name, if any, reached over LDAP.
fn directory(options: &ArchiveOptions) -> Result<Option<Arc<dyn Directory>>, ArchiveError> {
    match &options.directory {
        Some(directory) => Ok(Some(Arc::new(
            LdapDirectory::new(directory.ldap.clone())
                .map_err(|e| ArchiveError::Invalid(InvalidInput::new("directory", e.to_string())))?,
        ))),
        None => Ok(None),
    }
}

/// The time-stamping authority the options name, if any.
fn stamper(options: &ArchiveOptions) -> Result<Option<Box<dyn TimeStamper>>, ArchiveError> {
    match &options.tsa_url {
        Some(url) => Ok(Some(Box::new(
            HttpTimeStamper::new(url, options.tsa_ca.as_deref())
                .map_err(|e| ArchiveError::Invalid(InvalidInput::new("tsa-url", e.to_string())))?,
        ))),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use crate::archive::{Actor, Deposit, Upload};
    use std::io::Read;

    /// The use cases run on any adapters: here the in-memory ones, and
    /// nothing of the archive lands in its data directory's store folders.
    #[test]
    fn an_archive_runs_on_in_memory_stores() {
        let (_tmp, data_dir, archive) = crate::archive::tests_support::open_in_memory();
        let plan = archive
            .publish_plan(
                &Actor::system(),
                crate::policies::DEFAULT_PLAN,
                &crate::archive::Publish::default(),
            )
            .expect("publish");
        assert_eq!(plan.published.map(|p| p.number), Some(1));
        let upload = Upload {
            staged: archive.stage(&mut &b"Facture de la boulangerie"[..]).expect("stage"),
            filename: Some("facture.txt".into()),
        };
        let deposit = Deposit {
            node: Some("FIN-FAC".into()),
            date: Some("2024-03-15".into()),
            ..Deposit::default()
        };
        let record = archive.ingest(&Actor::system(), deposit, upload).expect("ingest");
        assert_eq!(record.reference.as_str(), "FIN-FAC-2024-000001");
        let (_, _, mut reader, size) = archive
            .content(&Actor::system(), record.reference.as_str(), None)
            .expect("content");
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).expect("read");
        assert_eq!((bytes.as_slice(), size), (&b"Facture de la boulangerie"[..], 25));
        for folder in ["blobs", "journal", "catalog", "merkle"] {
            assert!(!data_dir.path().join(folder).exists(), "{folder} was written");
        }
    }
}
