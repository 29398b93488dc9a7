//! The blob store on a file system: `blobs/sha256/ab/cd/<hex>`.
//!
//! A write streams into `blobs/tmp/` while hashing, syncs the file, renames
//! it into place and syncs the directory, so that a blob is either whole
//! under its name or absent. Files are made read-only once in place. The
//! staging folder is emptied at start-up: whatever is there was never
//! acknowledged.

use super::{BlobError, BlobRead, BlobStore, Fixity, StagedBlob};
use crate::domain::hash::{Sha256, Sha256Hasher};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Bytes read or written per step: large enough for sequential throughput,
/// small enough to keep many concurrent uploads cheap.
const CHUNK: usize = 256 * 1024;

/// How many leading bytes a staged blob keeps for media type sniffing.
const HEAD_LEN: usize = 8192;

/// Blobs under one directory.
#[derive(Debug)]
pub struct FsBlobStore {
    objects: PathBuf,
    staging: PathBuf,
}

impl FsBlobStore {
    /// Opens (creating if needed) the store under `root` and empties its
    /// staging folder.
    pub fn open(root: &Path) -> Result<Self, BlobError> {
        let objects = root.join("sha256");
        let staging = root.join("tmp");
        fs::create_dir_all(&objects)?;
        fs::create_dir_all(&staging)?;
        for entry in fs::read_dir(&staging)? {
            let path = entry?.path();
            tracing::info!(path = %path.display(), "removing an unacknowledged staged blob");
            fs::remove_file(&path)?;
        }
        Ok(Self { objects, staging })
    }

    /// Where a blob lives.
    pub fn path_of(&self, sha256: &Sha256) -> PathBuf {
        let hex = sha256.hex();
        self.objects.join(&hex[0..2]).join(&hex[2..4]).join(hex)
    }

    /// The staging folder (files there are uncommitted uploads).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }
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
    file: File,
    temp: TempFile,
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

/// Creates `dir` and any missing parents, syncing each parent whose listing
/// changed.
fn create_dir_durable(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_durable(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(e),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
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
        let path = self
            .temp
            .path
            .as_ref()
            .ok_or_else(|| BlobError::Io(io::Error::other("the staged file is gone")))?;
        Ok(Box::new(io::BufReader::new(File::open(path)?)))
    }

    fn commit(self: Box<Self>) -> Result<Sha256, BlobError> {
        if self.target.exists() {
            // Same bytes already stored: the temp file goes when `self` drops.
            return Ok(self.sha256);
        }
        (*self).install()
    }

    fn replace(self: Box<Self>) -> Result<Sha256, BlobError> {
        // rename(2) replaces the damaged file atomically (read-only as it
        // is: the folder is what changes).
        (*self).install()
    }
}

impl FsStaged {
    /// Syncs the staged file, makes it read-only and renames it to its
    /// name, durably.
    fn install(mut self) -> Result<Sha256, BlobError> {
        self.file.sync_all()?;
        let temp = self
            .temp
            .path
            .clone()
            .ok_or_else(|| io::Error::other("staged blob already committed"))?;
        let mut perms = self.file.metadata()?.permissions();
        perms.set_readonly(true);
        fs::set_permissions(&temp, perms)?;
        let dir = self
            .target
            .parent()
            .ok_or_else(|| io::Error::other("blob path has no parent"))?;
        create_dir_durable(dir)?;
        fs::rename(&temp, &self.target)?;
        self.temp.path = None;
        sync_dir(dir)?;
        Ok(self.sha256)
    }
}

impl BlobStore for FsBlobStore {
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        let path = self.staging.join(format!("{}.part", random_name()));
        let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
        let temp = TempFile { path: Some(path) };
        let mut hasher = Sha256Hasher::new();
        let mut head = Vec::with_capacity(HEAD_LEN);
        let mut size: u64 = 0;
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match source.read(&mut buf) {
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
        let sha256 = hasher.finish();
        let target = self.path_of(&sha256);
        Ok(Box::new(FsStaged {
            file,
            temp,
            target,
            sha256,
            size,
            head,
        }))
    }

    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError> {
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
        Ok(self.path_of(sha256).try_exists()?)
    }

    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError> {
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
        let actual = hasher.finish();
        Ok(if actual == *sha256 {
            Fixity::Intact { size }
        } else {
            Fixity::Corrupt { actual, size }
        })
    }

    fn list(&self) -> Result<Vec<Sha256>, BlobError> {
        let mut out = Vec::new();
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
                    let name = f.file_name();
                    match name.to_str().map(Sha256::parse) {
                        Some(Ok(sha)) => out.push(sha),
                        _ => {
                            tracing::warn!(path = %f.path().display(), "a file that is not a blob sits in the blob store")
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        let path = self.path_of(sha256);
        match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(dir) = path.parent() {
                    sync_dir(dir)?;
                }
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e.into()),
        }
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

    #[test]
    fn too_large_or_dropped_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let err = store.stage(&mut &[0u8; 1000][..], 999).err().unwrap();
        assert!(matches!(err, BlobError::TooLarge { limit: 999 }));
        drop(store.stage(&mut &b"x"[..], 10).unwrap());
        assert_eq!(fs::read_dir(store.staging_dir()).unwrap().count(), 0);
        assert!(store.list().unwrap().is_empty());
    }

    #[test]
    fn verify_finds_a_flipped_byte_and_a_missing_blob() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::open(dir.path()).unwrap();
        let a = store.stage(&mut &b"hello"[..], 100).unwrap().commit().unwrap();
        let path = store.path_of(&a);
        let mut perms = fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        fs::set_permissions(&path, perms).unwrap();
        fs::write(&path, b"hellp").unwrap();
        assert!(matches!(store.verify(&a, &mut |_| {}).unwrap(), Fixity::Corrupt { .. }));
        assert_eq!(
            store.verify(&Sha256::of(b"nope"), &mut |_| {}).unwrap(),
            Fixity::Missing
        );
    }
}
