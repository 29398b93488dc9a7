//! Copies of every blob on other stores (another disk, a network mount):
//! a blob store that writes each committed blob to its copies before the
//! commit returns, so that a deposit is acknowledged only once every copy
//! holds its bytes, and that repairs a damaged blob from a copy whose
//! bytes still hash to its name.
//!
//! A copy is checked as it is written (its bytes are hashed on the way and
//! must give the blob's name); reads go to the first store; an erasure (an
//! executed disposal) erases every copy.

use super::{BlobError, BlobRead, BlobStore, Fixity, StagedBlob};
use crate::domain::hash::Sha256;
use std::io::Read;
use std::sync::Arc;

/// A store holding copies, with the name people know it by.
#[derive(Clone)]
pub struct CopyStore {
    /// Its name (a path, a bucket).
    pub name: String,
    /// The store.
    pub store: Arc<dyn BlobStore>,
}

/// The first store and its copies.
pub struct CopiedBlobStore {
    first: Arc<dyn BlobStore>,
    copies: Arc<Vec<CopyStore>>,
}

impl CopiedBlobStore {
    /// `first`, with every blob also kept on each of `copies`.
    pub fn new(first: Arc<dyn BlobStore>, copies: Vec<CopyStore>) -> Self {
        CopiedBlobStore {
            first,
            copies: Arc::new(copies),
        }
    }
}

/// Writes `blob`, read from `from`, to `to` unless it holds it already;
/// the bytes are hashed on the way and must give `blob`.
fn copy_blob(from: &dyn BlobStore, to: &CopyStore, blob: &Sha256, replace: bool) -> Result<(), BlobError> {
    if !replace && to.store.contains(blob)? {
        return Ok(());
    }
    let (mut reader, _) = from.open(blob)?;
    let staged = to.store.stage(&mut reader, u64::MAX)?;
    if staged.sha256() != *blob {
        return Err(BlobError::Io(std::io::Error::other(format!(
            "la copie de {blob} écrite dans {} a pour empreinte {} : elle n'est pas gardée",
            to.name,
            staged.sha256()
        ))));
    }
    if replace {
        staged.replace()?;
    } else {
        staged.commit()?;
    }
    Ok(())
}

/// A blob staged on the first store, copied when committed.
struct CopiedStaged {
    inner: Box<dyn StagedBlob>,
    first: Arc<dyn BlobStore>,
    copies: Arc<Vec<CopyStore>>,
}

impl CopiedStaged {
    fn copy_out(first: &dyn BlobStore, copies: &[CopyStore], blob: &Sha256) -> Result<(), BlobError> {
        for copy in copies {
            copy_blob(first, copy, blob, false).map_err(|e| {
                BlobError::Io(std::io::Error::other(format!(
                    "le stockage de copies {} n'a pu prendre le contenu {blob} ({e}) : le dépôt n'est pas enregistré",
                    copy.name
                )))
            })?;
        }
        Ok(())
    }
}

impl StagedBlob for CopiedStaged {
    fn sha256(&self) -> Sha256 {
        self.inner.sha256()
    }
    fn size(&self) -> u64 {
        self.inner.size()
    }
    fn head(&self) -> &[u8] {
        self.inner.head()
    }
    fn reader(&self) -> Result<Box<dyn Read + Send + '_>, BlobError> {
        self.inner.reader()
    }
    fn commit(self: Box<Self>) -> Result<Sha256, BlobError> {
        let CopiedStaged { inner, first, copies } = *self;
        let blob = inner.commit()?;
        Self::copy_out(first.as_ref(), &copies, &blob)?;
        Ok(blob)
    }
    fn replace(self: Box<Self>) -> Result<Sha256, BlobError> {
        let CopiedStaged { inner, first, copies } = *self;
        let blob = inner.replace()?;
        Self::copy_out(first.as_ref(), &copies, &blob)?;
        Ok(blob)
    }
}

impl BlobStore for CopiedBlobStore {
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        Ok(Box::new(CopiedStaged {
            inner: self.first.stage(source, limit)?,
            first: Arc::clone(&self.first),
            copies: Arc::clone(&self.copies),
        }))
    }
    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError> {
        self.first.open(sha256)
    }
    fn contains(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        self.first.contains(sha256)
    }
    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError> {
        self.first.verify(sha256, progress)
    }
    fn list(&self) -> Result<Vec<Sha256>, BlobError> {
        self.first.list()
    }
    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        let mut erased = self.first.erase(sha256)?;
        for copy in self.copies.iter() {
            erased |= copy.store.erase(sha256)?;
        }
        Ok(erased)
    }
    fn check_copies(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Vec<(String, Fixity)>, BlobError> {
        let mut put_back = Vec::new();
        for copy in self.copies.iter() {
            let found = copy.store.verify(sha256, progress)?;
            if matches!(found, Fixity::Intact { .. }) {
                continue;
            }
            copy_blob(self.first.as_ref(), copy, sha256, true)?;
            put_back.push((copy.name.clone(), found));
        }
        Ok(put_back)
    }

    fn copy_names(&self) -> Vec<String> {
        self.copies.iter().map(|c| c.name.clone()).collect()
    }

    fn complete_copies(&self, sha256: &Sha256) -> Result<Vec<String>, BlobError> {
        let mut completed = Vec::new();
        for copy in self.copies.iter() {
            if copy.store.contains(sha256)? {
                continue;
            }
            copy_blob(self.first.as_ref(), copy, sha256, false)?;
            completed.push(copy.name.clone());
        }
        Ok(completed)
    }

    fn repair_from_copy(&self, sha256: &Sha256) -> Result<Option<String>, BlobError> {
        for copy in self.copies.iter() {
            if !matches!(copy.store.verify(sha256, &mut |_| {})?, Fixity::Intact { .. }) {
                continue;
            }
            let first = CopyStore {
                name: "first".into(),
                store: Arc::clone(&self.first),
            };
            copy_blob(copy.store.as_ref(), &first, sha256, true)?;
            return Ok(Some(copy.name.clone()));
        }
        Ok(None)
    }
}
