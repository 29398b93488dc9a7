//! The blob store on a file system: `blobs/sha256/ab/cd/<hex>` for blobs
//! larger than [`PACKED_MAX`], `blobs/packs/` for the others
//! (`blob_packs`).
//!
//! A write is hashed as it comes; a small one is held in memory, a larger
//! one streams into `blobs/tmp/`. Its commit makes the file durable,
//! renames it into place and makes the rename durable, so that a blob is
//! either whole under its name or absent (a small one: appended to the
//! pack, the pack made durable, then indexed, the index made durable);
//! concurrent commits share their flushes (`group_commit`). Files are
//! read-only from their start. The staging folder is emptied at start-up:
//! whatever is there was never acknowledged. The small blobs an archive
//! written before packs keeps as files are read where they are, and moved
//! into packs by [`FsBlobStore::pack_files`] (`coffre pack`).

pub use super::blob_packs::PACKED_MAX;
use super::blob_packs::Packs;
use super::group_commit::{GroupCommit, Install, Item, Ticket};
use super::{BlobError, BlobRead, BlobStore, Fixity, PendingCommit, StagedBlob};
use crate::domain::hash::{Sha256, Sha256Hasher};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes read or written per step: large enough for sequential throughput,
/// small enough to keep many concurrent uploads cheap.
const CHUNK: usize = 256 * 1024;
// A small blob is read whole in one buffer, one byte more to tell it small.
const _: () = assert!((PACKED_MAX as usize) < CHUNK);

/// How many leading bytes a staged blob keeps for media type sniffing.
const HEAD_LEN: usize = 8192;

/// Blobs under one directory.
pub struct FsBlobStore {
    objects: PathBuf,
    staging: PathBuf,
    packs: Arc<Packs>,
    commits: Arc<GroupCommit>,
}

impl std::fmt::Debug for FsBlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FsBlobStore").field("objects", &self.objects).finish()
    }
}

impl FsBlobStore {
    /// Opens (creating if needed) the store under `root` and empties its
    /// staging folder.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        Self::open_probed(root, None)
    }

    /// As `open`, telling `probe` of each rename and flush.
    pub(crate) fn open_probed(root: &Path, probe: Option<super::group_commit::Probe>) -> Result<Self, BlobError> {
        let objects = root.join("sha256");
        let staging = root.join("tmp");
        fs::create_dir_all(&objects)?;
        fs::create_dir_all(&staging)?;
        for entry in fs::read_dir(&staging)? {
            let path = entry?.path();
            tracing::info!(path = %path.display(), "removing an unacknowledged staged blob");
            fs::remove_file(&path)?;
        }
        let packs = Arc::new(Packs::open(&root.join("packs"))?);
        let commits = Arc::new(GroupCommit::new(&staging, Arc::clone(&packs), probe));
        Ok(Self {
            objects,
            staging,
            packs,
            commits,
        })
    }

    /// Opens the store under `root` to read it while another process may
    /// write it (a copy folder a follower or a restore reads): nothing is
    /// made, removed or cut at opening, and a packed blob not found is
    /// looked for again in what the packs' index gained since.
    pub fn open_to_read(root: &Path) -> Result<Self, BlobError> {
        let staging = root.join("tmp");
        let packs = Arc::new(Packs::open_to_read(&root.join("packs"))?);
        let commits = Arc::new(GroupCommit::new(&staging, Arc::clone(&packs), None));
        Ok(Self {
            objects: root.join("sha256"),
            staging,
            packs,
            commits,
        })
    }

    /// Where a blob lives if it is a file of its own (larger than
    /// [`PACKED_MAX`], or stored before small blobs were packed).
    pub fn path_of(&self, sha256: &Sha256) -> PathBuf {
        let hex = sha256.hex();
        self.objects.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// The staging folder (files there are uncommitted uploads).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }
}

/// What [`FsBlobStore::pack_files`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packing {
    /// Blobs moved from a file of their own into a pack.
    pub packed: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Files larger than [`PACKED_MAX`], left as they are.
    pub large: u64,
    /// Files whose bytes no longer match their name, left where they are
    /// for the integrity check to find and a repair to put back.
    pub damaged: Vec<Sha256>,
}

/// Files moved at a time: read and checked, appended to the packs and
/// indexed in one group commit, then emptied and removed.
const PACKING_BATCH: usize = 512;

impl FsBlobStore {
    /// Calls `visit` with each blob that is a file of its own, and its path.
    fn each_file(&self, visit: &mut dyn FnMut(Sha256, PathBuf) -> Result<(), BlobError>) -> Result<(), BlobError> {
        for a in fs::read_dir(&self.objects)? {
            let a = a?.path();
            if !a.is_dir() {
                continue;
            }
            for b in fs::read_dir(&a)? {
                let b = b?.path();
                if !b.is_dir() {
                    continue;
                }
                for f in fs::read_dir(&b)? {
                    let f = f?;
                    match f.file_name().to_str().map(Sha256::parse) {
                        Some(Ok(sha256)) => visit(sha256, f.path())?,
                        _ => {
                            tracing::warn!(path = %f.path().display(), "a file that is not a blob sits in the blob store")
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Moves every blob of at most [`PACKED_MAX`] that is a file of its
    /// own (as archives written before packs keep them) into the packs,
    /// telling `progress` after each batch. A file is checked against its
    /// name first (a damaged one is left where it is, and named); its
    /// bytes are appended and indexed, both flushed; only then is the file
    /// emptied (its bytes overwritten with zeros and flushed, so that no
    /// second copy is left on the disk for a later disposal to miss) and
    /// removed. Cut short at any point, nothing is lost: a blob is looked
    /// for in the packs first, and a run again finishes the work (a file
    /// already packed is only emptied and removed).
    pub fn pack_files(&self, progress: &mut dyn FnMut(&Packing)) -> Result<Packing, BlobError> {
        let mut done = Packing::default();
        let mut batch: Vec<(Sha256, PathBuf, Vec<u8>)> = Vec::new();
        self.each_file(&mut |sha256, path| {
            if fs::symlink_metadata(&path)?.len() > PACKED_MAX {
                done.large += 1;
                return Ok(());
            }
            let bytes = fs::read(&path)?;
            if Sha256::of(&bytes) != sha256 {
                tracing::info!(%sha256, path = %path.display(), "a damaged blob file is left where it is");
                done.damaged.push(sha256);
                return Ok(());
            }
            batch.push((sha256, path, bytes));
            if batch.len() >= PACKING_BATCH {
                self.pack_batch(&mut batch, &mut done)?;
                progress(&done);
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            self.pack_batch(&mut batch, &mut done)?;
            progress(&done);
        }
        Ok(done)
    }

    /// Packs the files of `batch` (checked already), then empties and
    /// removes them.
    fn pack_batch(&self, batch: &mut Vec<(Sha256, PathBuf, Vec<u8>)>, done: &mut Packing) -> Result<(), BlobError> {
        let bytes: u64 = batch.iter().map(|(_, _, b)| b.len() as u64).sum();
        let mut tickets: std::collections::VecDeque<Ticket> = batch
            .iter_mut()
            .filter(|(sha256, _, _)| self.packs.place(sha256).is_none())
            .map(|(sha256, _, bytes)| {
                self.commits.queue(Some(Item::Packed {
                    sha256: *sha256,
                    bytes: std::mem::take(bytes),
                }))
            })
            .collect();
        while let Some(ticket) = tickets.pop_front() {
            if let Err(e) = self.commits.wait(ticket) {
                for ticket in tickets {
                    self.commits.abandon(ticket);
                }
                return Err(e.into());
            }
        }
        // Packed and indexed, durably: the files may go.
        for (_, path, _) in batch.iter() {
            empty_file(path)?;
        }
        super::group_commit::sync_file_system(&self.objects)?;
        for (_, path, _) in batch.iter() {
            match fs::remove_file(path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        super::group_commit::sync_file_system(&self.objects)?;
        done.packed += batch.len() as u64;
        done.bytes += bytes;
        batch.clear();
        Ok(())
    }
}

/// Overwrites a blob's file with zeros where its bytes lie (the file is
/// read-only, as every blob is: made writable by its owner first).
fn empty_file(path: &Path) -> io::Result<()> {
    let len = fs::symlink_metadata(path)?.len();
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    let mut file = OpenOptions::new().write(true).open(path)?;
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    file.write_all(&zeros)?;
    Ok(())
}

/// Where a blob lies in a blob store's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file of its own.
    File(PathBuf),
    /// In a pack, its bytes from `at` for `len`.
    Packed {
        /// The pack's file.
        pack: PathBuf,
        /// Where its bytes begin.
        at: u64,
        /// How many.
        len: u64,
    },
}

/// Where `sha256` lies in the blob store's folder `root` (a data
/// directory's `blobs`, or a copy folder), `None` if nowhere; the store is
/// opened to read (a server may be running on it): for tests that damage
/// a blob, and for tools.
pub fn locate(root: &Path, sha256: &Sha256) -> Result<Option<Location>, BlobError> {
    let store = FsBlobStore::open_to_read(root)?;
    if let Some(place) = store.packs.find(sha256)? {
        return Ok(Some(Location::Packed {
            pack: store.packs.pack_file(place.pack),
            at: place.bytes_at(),
            len: u64::from(place.len),
        }));
    }
    let file = store.path_of(sha256);
    Ok(file.exists().then_some(Location::File(file)))
}

/// Every blob stored in the blob store's folder `root`, packed or a file
/// of its own, the store opened to read as by [`locate`].
pub fn stored_blobs(root: &Path) -> Result<Vec<Sha256>, BlobError> {
    FsBlobStore::open_to_read(root)?.list()
}

/// Removes its file when dropped, unless disarmed.
struct TempFile {
    path: Option<PathBuf>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take()
            && let Err(e) = fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a staged blob");
        }
    }
}

struct FsStaged {
    /// The staged file (none: a small blob, held whole in `head`).
    file: Option<File>,
    temp: TempFile,
    commits: Arc<GroupCommit>,
    packs: Arc<Packs>,
    target: PathBuf,
    sha256: Sha256,
    size: u64,
    head: Vec<u8>,
}

fn random_name() -> String {
    let mut bytes = [0u8; 12];
    // A failure of the OS random source is not expected; the process id
    // and time still make a name unique enough for a staging file.
    if getrandom::fill(&mut bytes).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes[..8].copy_from_slice(&(t as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&std::process::id().to_le_bytes());
    }
    hex::encode(bytes)
}

/// Syncs a directory so that entries created or renamed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl StagedBlob for FsStaged {
    fn sha256(&self) -> Sha256 {
        self.sha256
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn head(&self) -> &[u8] {
        &self.head
    }

    fn reader(&self) -> Result<Box<dyn Read + Send + '_>, BlobError> {
        if self.file.is_none() || self.head.len() as u64 == self.size {
            // Small enough to be held whole: read again from memory.
            return Ok(Box::new(self.head.as_slice()));
        }
        let path = self
            .temp
            .path
            .as_ref()
            .ok_or_else(|| BlobError::Io(io::Error::other("the staged file is gone")))?;
        Ok(Box::new(io::BufReader::new(File::open(path)?)))
    }

    fn commit(self: Box<Self>) -> Result<Sha256, BlobError> {
        self.commit_later(1)?.wait()
    }

    fn replace(self: Box<Self>) -> Result<Sha256, BlobError> {
        // rename(2) replaces the damaged file atomically (read-only as it
        // is: the folder is what changes).
        Box::new((*self).queue(true)?).wait()
    }

    fn commit_later(self: Box<Self>, _stores: usize) -> Result<Box<dyn PendingCommit>, BlobError> {
        Ok(Box::new((*self).queue(false)?))
    }
}

impl FsStaged {
    /// Queues its install, to be made durable, read-only and named by its
    /// digest with the installs that come at the same time. Unless
    /// `replacing`, the same bytes already stored are not written again
    /// (the staged file goes when the commit is dropped), though perhaps
    /// by a batch not flushed yet: the commit waits for that batch.
    fn queue(self, replacing: bool) -> io::Result<FsPending> {
        let FsStaged {
            file,
            temp,
            commits,
            packs,
            target,
            sha256,
            head,
            ..
        } = self;
        let install = match (file, &temp.path) {
            (None, _) => {
                // A small blob, packed unless stored already (in a pack,
                // or as a file before small blobs were packed).
                (replacing || (packs.place(&sha256).is_none() && !target.exists()))
                    .then_some(Item::Packed { sha256, bytes: head })
            }
            (Some(file), Some(staged)) => {
                // A folder made just now holds no blob yet.
                let new_folder = commits.make_folder(&target)?;
                (replacing || new_folder || !target.exists()).then(|| {
                    Item::File(Install {
                        file,
                        staged: staged.clone(),
                        target,
                        sha256,
                    })
                })
            }
            (Some(_), None) => None,
        };
        let installing = matches!(install, Some(Item::File(_)));
        let ticket = commits.queue(install);
        Ok(FsPending {
            ticket: Some(ticket),
            commits,
            temp,
            installing,
            sha256,
        })
    }
}

/// A staged file queued for install; dropped unwaited, it leaves the
/// queue (and its staged file goes).
struct FsPending {
    ticket: Option<Ticket>,
    commits: Arc<GroupCommit>,
    temp: TempFile,
    installing: bool,
    sha256: Sha256,
}

impl PendingCommit for FsPending {
    fn wait(mut self: Box<Self>) -> Result<Sha256, BlobError> {
        let ticket = self
            .ticket
            .take()
            .ok_or_else(|| io::Error::other("a commit waited on twice"))?;
        self.commits.wait(ticket)?;
        if self.installing {
            // Renamed to its name: nothing left to remove.
            self.temp.path = None;
        }
        Ok(self.sha256)
    }
}

impl Drop for FsPending {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.commits.abandon(ticket);
        }
    }
}

/// Copies `source` (up to `limit` bytes) into the staging `file`, hashing
/// it and keeping its first bytes: (digest, size, head). Shared by the
/// stores that stage into a local file.
pub(super) fn stage_into(
    source: &mut dyn Read,
    limit: u64,
    file: &mut File,
) -> Result<(Sha256, u64, Vec<u8>), BlobError> {
    STAGING_BUFFER.with_borrow_mut(|buf| {
        buf.resize(CHUNK, 0);
        stage_through(source, limit, file, buf)
    })
}

fn stage_through(
    source: &mut dyn Read,
    limit: u64,
    file: &mut File,
    buf: &mut [u8],
) -> Result<(Sha256, u64, Vec<u8>), BlobError> {
    let mut hasher = Sha256Hasher::new();
    let mut head = Vec::with_capacity(HEAD_LEN);
    let mut size: u64 = 0;
    loop {
        let n = match source.read(buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(BlobError::Source(e)),
        };
        size += n as u64;
        if size > limit {
            return Err(BlobError::TooLarge { limit });
        }
        let chunk = &buf[..n];
        if head.len() < HEAD_LEN {
            let take = (HEAD_LEN - head.len()).min(n);
            head.extend_from_slice(&chunk[..take]);
        }
        hasher.update(chunk);
        file.write_all(chunk)?;
    }
    Ok((hasher.finish(), size, head))
}

/// Reads `source` until its end or `most` bytes (at most [`CHUNK`]),
/// through the thread's staging buffer: the bytes read are then allocated
/// once at their size, where a growing vector reallocated them some ten
/// times for a document of a few kilobytes.
fn read_first(source: &mut dyn Read, most: u64) -> Result<Vec<u8>, BlobError> {
    let most = usize::try_from(most).unwrap_or(CHUNK).min(CHUNK);
    STAGING_BUFFER.with_borrow_mut(|buf| {
        buf.resize(CHUNK, 0);
        let mut filled = 0;
        while filled < most {
            match source.read(&mut buf[filled..most]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(BlobError::Source(e)),
            }
        }
        Ok(buf[..filled].to_vec())
    })
}

thread_local! {
    /// Each thread's buffer for staging: a deposit of 4 KiB would
    /// otherwise allocate (and zero) 256 KiB.
    static STAGING_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl BlobStore for FsBlobStore {
    fn flushes(&self) -> u64 {
        self.commits.flushes()
    }

    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        let first = read_first(source, PACKED_MAX + 1)?;
        if first.len() as u64 > limit {
            return Err(BlobError::TooLarge { limit });
        }
        if first.len() as u64 <= PACKED_MAX {
            // Small: held in memory until it is appended to a pack.
            let sha256 = Sha256::of(&first);
            return Ok(Box::new(FsStaged {
                file: None,
                temp: TempFile { path: None },
                commits: Arc::clone(&self.commits),
                packs: Arc::clone(&self.packs),
                target: self.path_of(&sha256),
                sha256,
                size: first.len() as u64,
                head: first,
            }));
        }
        let path = self.staging.join(format!("{}.part", random_name()));
        // Born read-only (the descriptor opened here still writes): a
        // blob is never written again under its name, and its install
        // costs no change of mode.
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path)?;
        let temp = TempFile { path: Some(path) };
        let (sha256, size, head) = stage_into(&mut first.as_slice().chain(source), limit, &mut file)?;
        Ok(Box::new(FsStaged {
            file: Some(file),
            temp,
            commits: Arc::clone(&self.commits),
            packs: Arc::clone(&self.packs),
            target: self.path_of(&sha256),
            sha256,
            size,
            head,
        }))
    }

    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError> {
        if let Some(bytes) = self.packs.read(sha256)? {
            let size = bytes.len() as u64;
            return Ok((Box::new(io::Cursor::new(bytes)), size));
        }
        match File::open(self.path_of(sha256)) {
            Ok(file) => {
                let size = file.metadata()?.len();
                Ok((Box::new(file), size))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(BlobError::NotFound(*sha256)),
            Err(e) => Err(e.into()),
        }
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        Ok(self.packs.find(sha256)?.is_some() || self.path_of(sha256).try_exists()?)
    }

    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError> {
        match self.packs.read(sha256) {
            Ok(Some(bytes)) => {
                progress(bytes.len() as u64);
                return Ok(Fixity::of_bytes(sha256, &bytes));
            }
            // The pack ends before the blob's bytes do.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Ok(Fixity::Corrupt {
                    actual: Sha256::of(b""),
                    size: 0,
                });
            }
            Err(e) => return Err(e.into()),
            Ok(None) => {}
        }
        let mut file = match File::open(self.path_of(sha256)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Fixity::Missing),
            Err(e) => return Err(e.into()),
        };
        let mut hasher = Sha256Hasher::new();
        let mut buf = vec![0u8; CHUNK * 4];
        let mut size = 0u64;
        loop {
            let n = match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            };
            hasher.update(&buf[..n]);
            size += n as u64;
            progress(n as u64);
        }
        Ok(Fixity::compared(sha256, hasher.finish(), size))
    }

    fn list(&self) -> Result<Vec<Sha256>, BlobError> {
        let mut out = self.packs.list();
        self.each_file(&mut |sha256, _| {
            out.push(sha256);
            Ok(())
        })?;
        // A small blob put back from a copy may be both packed and a file.
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        // A small blob put back from a copy is packed, though its damaged
        // file may still be there: both go.
        let packed = !self.packs.wipe(std::slice::from_ref(sha256))?.is_empty();
        let path = self.path_of(sha256);
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    sync_dir(dir)?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(packed),
            Err(e) => Err(e.into()),
        }
    }

    fn erase_all(&self, blobs: &[Sha256]) -> Result<u64, BlobError> {
        let mut erased: std::collections::HashSet<Sha256> = self.packs.wipe(blobs)?.into_iter().collect();
        let mut removed = false;
        for sha256 in blobs {
            match fs::remove_file(self.path_of(sha256)) {
                Ok(()) => {
                    removed = true;
                    erased.insert(*sha256);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        if removed {
            // One flush of the file system for every folder touched.
            super::group_commit::sync_file_system(&self.objects)?;
        }
        Ok(erased.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_once_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let a = store.stage(&mut &b"hello"[..], 100).unwrap().commit().unwrap();
        let b = store.stage(&mut &b"hello"[..], 100).unwrap().commit().unwrap();
        assert_eq!(a, b);
        assert_eq!(a, Sha256::of(b"hello"));
        assert_eq!(store.list().unwrap(), vec![a]);
        let (mut r, size) = store.open(&a).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!((s.as_str(), size), ("hello", 5));
        assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
        assert_eq!(store.verify(&a, &mut |_| {}).unwrap(), Fixity::Intact { size: 5 });
    }

    /// Bytes larger than a pack takes: a file of their own.
    fn large(tag: &str) -> Vec<u8> {
        let mut bytes = tag.as_bytes().to_vec();
        bytes.resize(PACKED_MAX as usize + 1, b'.');
        bytes
    }

    /// What a probed store did, and when each commit returned.
    #[derive(Debug, Clone, PartialEq)]
    enum Seen {
        Step(super::super::group_commit::Step),
        Acknowledged(Sha256),
    }

    #[test]
    fn concurrent_commits_share_flushes_and_none_returns_before_the_flush_that_covers_it() {
        use super::super::group_commit::Step;
        use std::sync::Mutex;
        use std::time::Duration;
        const THREADS: usize = 16;
        const EACH: usize = 12;
        let dir = tempfile::tempdir().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = Arc::clone(&seen);
        let first = std::sync::atomic::AtomicBool::new(true);
        let probe: super::super::group_commit::Probe = Arc::new(move |step: Step| {
            let placed = matches!(step, Step::Placed(_));
            log.lock().unwrap().push(Seen::Step(step));
            // Hold the first batch a moment, so that the others queue
            // behind it and go together.
            if placed && first.swap(false, std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let store = Arc::new(FsBlobStore::open_probed(dir.path(), Some(probe)).unwrap());
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let (store, seen) = (Arc::clone(&store), Arc::clone(&seen));
                scope.spawn(move || {
                    for n in 0..EACH {
                        // Threads t and t + 8 store the same contents: a
                        // commit that finds its blob stored by another
                        // waits for that batch's flush too. Even threads
                        // store small contents (packed), odd ones large
                        // (files of their own).
                        let tag = format!("contenu {} {n}", t % 8);
                        let content = if t % 2 == 0 { tag.into_bytes() } else { large(&tag) };
                        let blob = store.stage(&mut content.as_slice(), 1 << 20).unwrap().commit().unwrap();
                        seen.lock().unwrap().push(Seen::Acknowledged(blob));
                    }
                });
            }
        });
        let seen = seen.lock().unwrap().clone();
        let mut acknowledged = 0;
        for (at, entry) in seen.iter().enumerate() {
            let Seen::Acknowledged(blob) = entry else { continue };
            acknowledged += 1;
            let placed = seen[..at]
                .iter()
                .position(|s| *s == Seen::Step(Step::Placed(*blob)))
                .unwrap_or_else(|| panic!("{blob} acknowledged before it was placed"));
            assert!(
                seen[placed..at].contains(&Seen::Step(Step::Flushed)),
                "{blob} acknowledged before a flush covered its place"
            );
        }
        assert_eq!(acknowledged, THREADS * EACH);
        let blobs = 8 * EACH;
        assert_eq!(store.list().unwrap().len(), blobs);
        assert!(
            store.flushes() < 2 * blobs as u64,
            "{} flushes for {blobs} blobs: commits did not share them",
            store.flushes()
        );
        assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
        let mut files = 0;
        for blob in store.list().unwrap() {
            assert!(matches!(
                store.verify(&blob, &mut |_| {}).unwrap(),
                Fixity::Intact { .. }
            ));
            if let Ok(metadata) = fs::metadata(store.path_of(&blob)) {
                assert!(metadata.permissions().readonly());
                files += 1;
            }
        }
        assert_eq!(files, 4 * EACH, "the large contents are files, the small packed");
        drop(store);
        let store = FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(store.list().unwrap().len(), blobs, "all there after reopening");
    }

    #[test]
    fn blobs_committed_together_share_two_flushes_and_a_dropped_commit_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let content = store.stage(&mut &b"une facture"[..], 100).unwrap();
        let metadata = store.stage(&mut &b"{\"titre\": \"facture\"}"[..], 100).unwrap();
        let (content, metadata) = (content.commit_later(1).unwrap(), metadata.commit_later(1).unwrap());
        let (a, b) = (content.wait().unwrap(), metadata.wait().unwrap());
        assert_eq!(
            store.flushes(),
            2,
            "one flush of the pack for both blobs' bytes, one of the index for both entries"
        );
        assert_eq!(store.list().unwrap().len(), 2);
        assert!(store.contains(&a).unwrap() && store.contains(&b).unwrap());
        // A small blob alone: the same two flushes.
        let before = store.flushes();
        store.stage(&mut &b"petite"[..], 100).unwrap().commit().unwrap();
        assert_eq!(store.flushes() - before, 2);
        // A large blob alone: the file's flush and its folder's, and those
        // of the folders its new folders were made in.
        let before = store.flushes();
        let big = large("seule");
        let seule = store.stage(&mut big.as_slice(), 1 << 20).unwrap().commit().unwrap();
        let path = store.path_of(&seule);
        // Its two fan-out folders are new here (no other blob shares them).
        assert!(
            path.parent()
                .unwrap()
                .parent()
                .unwrap()
                .read_dir()
                .unwrap()
                .nth(1)
                .is_none()
        );
        assert_eq!(store.flushes() - before, 4, "file, folder, and the two folders grown");
        // A small and a large blob together: two flushes of the file
        // system for both.
        let before = store.flushes();
        let small = store
            .stage(&mut &b"avec une grande"[..], 100)
            .unwrap()
            .commit_later(1)
            .unwrap();
        let other = large("avec une petite");
        let other = store
            .stage(&mut other.as_slice(), 1 << 20)
            .unwrap()
            .commit_later(1)
            .unwrap();
        small.wait().unwrap();
        other.wait().unwrap();
        assert_eq!(store.flushes() - before, 2);
        let after_alone = store.flushes();
        // Queued, then dropped unwaited (its deposit refused): nothing stays.
        for content in [b"abandonnee".to_vec(), large("abandonnee")] {
            let abandoned = store
                .stage(&mut content.as_slice(), 1 << 20)
                .unwrap()
                .commit_later(1)
                .unwrap();
            drop(abandoned);
        }
        assert_eq!(store.list().unwrap().len(), 6);
        assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
        // The same bytes already stored: nothing written, nothing flushed.
        store.stage(&mut big.as_slice(), 1 << 20).unwrap().commit().unwrap();
        store.stage(&mut &b"petite"[..], 100).unwrap().commit().unwrap();
        assert_eq!(store.flushes(), after_alone);
        assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
    }

    #[test]
    fn too_large_or_dropped_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let err = store.stage(&mut &[0u8; 1000][..], 999).err().unwrap();
        assert!(matches!(err, BlobError::TooLarge { limit: 999 }));
        let err = store.stage(&mut large("grand").as_slice(), PACKED_MAX + 1).err();
        assert!(err.is_none(), "up to its limit");
        let err = store.stage(&mut large("grand").as_slice(), PACKED_MAX).err().unwrap();
        assert!(matches!(err, BlobError::TooLarge { .. }));
        drop(store.stage(&mut &b"x"[..], 10).unwrap());
        assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
        assert!(store.list().unwrap().is_empty());
    }

    /// A source that gives at most `step` bytes a read, as a socket or a
    /// pipe does.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_source_read_in_short_steps_is_packed_or_filed_whole_by_its_size() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let at_most = PACKED_MAX as usize;
        for (len, packed) in [
            (at_most - 1, true),
            (at_most, true),
            (at_most + 1, false),
            (3 * at_most + 7, false),
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut source = Trickle {
                bytes: &bytes,
                step: 1000,
            };
            let sha256 = store.stage(&mut source, 1 << 20).unwrap().commit().unwrap();
            assert_eq!(sha256, Sha256::of(&bytes), "{len} bytes");
            assert_eq!(store.packs.find(&sha256).unwrap().is_some(), packed, "{len} bytes");
            let (mut reader, size) = store.open(&sha256).unwrap();
            let mut read = Vec::new();
            reader.read_to_end(&mut read).unwrap();
            assert_eq!((size, read), (len as u64, bytes), "{len} bytes");
        }
    }

    #[test]
    fn a_blob_is_born_read_only_and_a_folder_removed_behind_the_stores_back_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let premier = large("premier");
        let a = store.stage(&mut premier.as_slice(), 1 << 20).unwrap().commit().unwrap();
        let path = store.path_of(&a);
        assert!(fs::metadata(&path).unwrap().permissions().readonly());
        // The store knows the folder now; someone removes it.
        fs::remove_dir_all(path.parent().unwrap()).unwrap();
        let again = store.stage(&mut premier.as_slice(), 1 << 20).unwrap().commit().unwrap();
        assert_eq!(again, a);
        assert_eq!(fs::read(&path).unwrap(), premier);
        assert!(matches!(store.verify(&a, &mut |_| {}).unwrap(), Fixity::Intact { .. }));
    }

    /// Flips one byte of a blob where it lies (made writable first).
    fn flip(root: &Path, blob: &Sha256, at: u64) {
        let (path, at) = match locate(root, blob).unwrap().unwrap() {
            Location::File(path) => (path, at),
            Location::Packed { pack, at: start, .. } => (pack, start + at),
        };
        let mut perms = fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&path, perms).unwrap();
        let mut bytes = fs::read(&path).unwrap();
        bytes[at as usize] ^= 0x20;
        fs::write(&path, bytes).unwrap();
    }

    #[test]
    fn verify_finds_a_flipped_byte_and_a_missing_blob_and_a_damaged_blob_is_put_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let big = large("hello");
        for content in [b"hello".to_vec(), big] {
            let a = store.stage(&mut content.as_slice(), 1 << 20).unwrap().commit().unwrap();
            flip(dir.path(), &a, 4);
            assert!(matches!(store.verify(&a, &mut |_| {}).unwrap(), Fixity::Corrupt { .. }));
            // Put back (as a repair from a copy does).
            store
                .stage(&mut content.as_slice(), 1 << 20)
                .unwrap()
                .replace()
                .unwrap();
            assert!(matches!(store.verify(&a, &mut |_| {}).unwrap(), Fixity::Intact { .. }));
            let mut back = Vec::new();
            store.open(&a).unwrap().0.read_to_end(&mut back).unwrap();
            assert_eq!(back, content);
        }
        assert_eq!(store.list().unwrap().len(), 2);
        drop(store);
        let store = FsBlobStore::open(dir.path()).unwrap();
        let small = Sha256::of(b"hello");
        assert!(
            matches!(store.verify(&small, &mut |_| {}).unwrap(), Fixity::Intact { .. }),
            "the copy put back is the one found after reopening"
        );
        assert_eq!(
            store.verify(&Sha256::of(b"nope"), &mut |_| {}).unwrap(),
            Fixity::Missing
        );
    }

    #[test]
    fn an_erased_blob_is_gone_packed_or_not_and_the_others_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let secret = b"numero de securite sociale 1 85 05".to_vec();
        let kept = b"a garder".to_vec();
        let big = large("grand secret");
        let blobs: Vec<Sha256> = [&secret, &kept, &big]
            .iter()
            .map(|c| store.stage(&mut c.as_slice(), 1 << 20).unwrap().commit().unwrap())
            .collect();
        assert_eq!(
            store.erase_all(&[blobs[0], blobs[2], Sha256::of(b"absent")]).unwrap(),
            2
        );
        assert!(!store.erase(&blobs[0]).unwrap(), "already erased");
        assert_eq!(store.list().unwrap(), vec![blobs[1]]);
        assert_eq!(store.verify(&blobs[0], &mut |_| {}).unwrap(), Fixity::Missing);
        assert!(!store.path_of(&blobs[2]).exists());
        let pack = fs::read(dir.path().join("packs").join("00000000.pack")).unwrap();
        assert!(!pack.windows(secret.len()).any(|w| w == secret.as_slice()));
        drop(store);
        let store = FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(store.list().unwrap(), vec![blobs[1]]);
        assert!(store.erase(&blobs[1]).unwrap());
        assert!(store.list().unwrap().is_empty());
    }

    /// A blob written as a file of its own, as archives did before packs.
    fn as_a_file(store: &FsBlobStore, bytes: &[u8]) -> Sha256 {
        let sha256 = Sha256::of(bytes);
        let path = store.path_of(&sha256);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
        sha256
    }

    fn read_all(store: &FsBlobStore, sha256: &Sha256) -> Vec<u8> {
        let mut bytes = Vec::new();
        store.open(sha256).unwrap().0.read_to_end(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn small_files_of_an_older_archive_move_into_packs_and_large_or_damaged_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let smalls: Vec<Vec<u8>> = (0..(PACKING_BATCH + 3))
            .map(|n| format!("Facture n° {n} de la boulangerie du centre").into_bytes())
            .collect();
        let small_blobs: Vec<Sha256> = smalls.iter().map(|b| as_a_file(&store, b)).collect();
        let big = large("plan cadastral");
        let big_blob = as_a_file(&store, &big);
        let damaged = as_a_file(&store, b"deliberation du conseil municipal");
        {
            let path = store.path_of(&damaged);
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
            fs::write(&path, b"deliberation du conseil municipaL").unwrap();
        }
        let listed = store.list().unwrap();
        let mut reports = Vec::new();
        let packing = store.pack_files(&mut |done| reports.push(done.clone())).unwrap();
        assert_eq!(packing.packed, smalls.len() as u64);
        assert_eq!(packing.bytes, smalls.iter().map(|b| b.len() as u64).sum::<u64>());
        assert_eq!((packing.large, packing.damaged.clone()), (1, vec![damaged]));
        assert_eq!(reports.len(), 2, "told after each batch");
        // Every small one is now packed, its file gone; found, read and
        // checked as before.
        for (sha256, bytes) in small_blobs.iter().zip(&smalls) {
            assert!(!store.path_of(sha256).exists());
            assert!(store.packs.place(sha256).is_some());
            assert_eq!(&read_all(&store, sha256), bytes);
            assert_eq!(
                store.verify(sha256, &mut |_| {}).unwrap(),
                Fixity::Intact {
                    size: bytes.len() as u64
                }
            );
        }
        assert!(store.path_of(&big_blob).exists() && store.path_of(&damaged).exists());
        assert!(store.packs.place(&damaged).is_none(), "damaged bytes are not packed");
        assert_eq!(store.list().unwrap(), listed, "the same blobs, wherever they lie");
        // Reopened: the same, and nothing left to do.
        drop(store);
        let store = FsBlobStore::open(dir.path()).unwrap();
        assert_eq!(read_all(&store, &small_blobs[7]), smalls[7]);
        let again = store.pack_files(&mut |_| {}).unwrap();
        assert_eq!((again.packed, again.large, again.damaged.len()), (0, 1, 1));
    }

    #[test]
    fn a_packing_cut_short_after_its_commit_is_finished_without_packing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let bytes = b"arrete du maire portant sur la voirie".to_vec();
        // Packed and indexed, its file still there: a run stopped between
        // the two.
        let sha256 = store.stage(&mut bytes.as_slice(), 1 << 20).unwrap().commit().unwrap();
        as_a_file(&store, &bytes);
        let pack = dir.path().join("packs").join("00000000.pack");
        let pack_len = fs::metadata(&pack).unwrap().len();
        let packing = store.pack_files(&mut |_| {}).unwrap();
        assert_eq!(packing.packed, 1);
        assert_eq!(fs::metadata(&pack).unwrap().len(), pack_len, "not appended again");
        assert!(!store.path_of(&sha256).exists());
        assert_eq!(read_all(&store, &sha256), bytes);
    }
}
