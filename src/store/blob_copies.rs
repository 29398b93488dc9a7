//! Copies of every blob on other stores (another disk, a network mount):
//! a blob store that writes each committed blob to its copies before the
//! commit returns, so that a deposit is acknowledged only once every copy
//! holds its bytes, and that repairs a damaged blob from a copy whose
//! bytes still hash to its name.
//!
//! A copy is checked as it is written (its bytes are hashed on the way and
//! must give the blob's name); reads go to the first store; an erasure (an
//! executed disposal) erases every copy.
//!
//! A commit waits for every copy store; one that asks for fewer
//! (`commit_on`, the plan's `copies` of a node) returns once that many
//! stores hold the blob, and what a store could not take is owed to it and
//! written when it can take it again (the mirror thread asks every few
//! seconds). The owed list is kept in memory: after a restart, the check
//! that gives each copy store the contents in use it lacks pays it.

use super::{BlobError, BlobRead, BlobStore, Fixity, PendingCommit, StagedBlob};
use crate::domain::hash::Sha256;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// Blobs owed to copy stores: (the store's index, the blob).
type Owed = Arc<Mutex<BTreeSet<(usize, Sha256)>>>;

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
    owed: Owed,
}

impl CopiedBlobStore {
    /// `first`, with every blob also kept on each of `copies`.
    pub fn new(first: Arc<dyn BlobStore>, copies: Vec<CopyStore>) -> Self {
        CopiedBlobStore {
            first,
            copies: Arc::new(copies),
            owed: Owed::default(),
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
    owed: Owed,
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
        let CopiedStaged {
            inner, first, copies, ..
        } = *self;
        let blob = inner.commit()?;
        Self::copy_out(first.as_ref(), &copies, &blob)?;
        Ok(blob)
    }
    fn replace(self: Box<Self>) -> Result<Sha256, BlobError> {
        let CopiedStaged {
            inner, first, copies, ..
        } = *self;
        let blob = inner.replace()?;
        Self::copy_out(first.as_ref(), &copies, &blob)?;
        Ok(blob)
    }
    fn commit_on(self: Box<Self>, stores: usize) -> Result<Sha256, BlobError> {
        self.commit_later(stores)?.wait()
    }
    fn commit_later(self: Box<Self>, stores: usize) -> Result<Box<dyn PendingCommit>, BlobError> {
        let CopiedStaged {
            inner,
            first,
            copies,
            owed,
        } = *self;
        if stores > copies.len() + 1 {
            return Err(BlobError::CopiesUnavailable(format!(
                "{stores} copies sont demandées, l'archive n'a que {} stockages : le dépôt n'est pas enregistré ; \
                 ajoutez des dossiers de copies (--copy) ou changez le plan",
                copies.len() + 1
            )));
        }
        Ok(Box::new(CopiedPending {
            first_store: inner.commit_later(1)?,
            first,
            copies,
            owed,
            stores,
        }))
    }
}

/// A commit under way on the first store; the copies are written once it
/// is durable.
struct CopiedPending {
    first_store: Box<dyn PendingCommit>,
    first: Arc<dyn BlobStore>,
    copies: Arc<Vec<CopyStore>>,
    owed: Owed,
    stores: usize,
}

impl PendingCommit for CopiedPending {
    fn wait(self: Box<Self>) -> Result<Sha256, BlobError> {
        let CopiedPending {
            first_store,
            first,
            copies,
            owed,
            stores,
        } = *self;
        let blob = first_store.wait()?;
        let mut held = 1;
        let mut failed = Vec::new();
        for (i, copy) in copies.iter().enumerate() {
            match copy_blob(first.as_ref(), copy, &blob, false) {
                Ok(()) => held += 1,
                Err(e) => failed.push((i, e)),
            }
        }
        if held < stores {
            let reasons: Vec<String> = failed
                .iter()
                .map(|(i, e)| {
                    format!(
                        "le stockage de copies {} n'a pu prendre le contenu ({e})",
                        copies[*i].name
                    )
                })
                .collect();
            let written = if held == 1 {
                "une seule a pu être écrite".to_owned()
            } else {
                format!("{held} seulement ont pu être écrites")
            };
            return Err(BlobError::CopiesUnavailable(format!(
                "{stores} copies sont demandées, {written} : {} ; le dépôt n'est pas enregistré",
                reasons.join(" ; ")
            )));
        }
        let mut owed = owed.lock().unwrap_or_else(|p| p.into_inner());
        for (i, e) in failed {
            tracing::warn!(%blob, copy = %copies[i].name, error = %e, "a copy store could not take a content; it is owed");
            owed.insert((i, blob));
        }
        Ok(blob)
    }
}

impl BlobStore for CopiedBlobStore {
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        Ok(Box::new(CopiedStaged {
            inner: self.first.stage(source, limit)?,
            first: Arc::clone(&self.first),
            copies: Arc::clone(&self.copies),
            owed: Arc::clone(&self.owed),
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
    fn erase_all(&self, blobs: &[Sha256]) -> Result<u64, BlobError> {
        let erased = self.first.erase_all(blobs)?;
        for copy in self.copies.iter() {
            copy.store.erase_all(blobs)?;
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

    fn flushes(&self) -> u64 {
        self.first.flushes() + self.copies.iter().map(|c| c.store.flushes()).sum::<u64>()
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

    fn owed_copies(&self) -> BTreeMap<String, u64> {
        let owed = self.owed.lock().unwrap_or_else(|p| p.into_inner());
        let mut by_store = BTreeMap::new();
        for (i, _) in owed.iter() {
            if let Some(copy) = self.copies.get(*i) {
                *by_store.entry(copy.name.clone()).or_default() += 1;
            }
        }
        by_store
    }

    fn pay_owed_copies(&self) -> u64 {
        let due: Vec<(usize, Sha256)> = self
            .owed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        let mut paid = 0;
        let mut unreachable = BTreeSet::new();
        for (i, blob) in due {
            let Some(copy) = self.copies.get(i) else { continue };
            if unreachable.contains(&i) {
                continue;
            }
            match copy_blob(self.first.as_ref(), copy, &blob, false) {
                Ok(()) => {
                    self.owed.lock().unwrap_or_else(|p| p.into_inner()).remove(&(i, blob));
                    paid += 1;
                }
                Err(BlobError::NotFound(_)) => {
                    // Erased since (a disposal): nothing is owed any more.
                    self.owed.lock().unwrap_or_else(|p| p.into_inner()).remove(&(i, blob));
                }
                Err(e) => {
                    tracing::debug!(copy = %copy.name, error = %e, "a copy store still cannot take what it is owed");
                    unreachable.insert(i);
                }
            }
        }
        if paid > 0 {
            tracing::info!(paid, "copies owed to copy stores were written");
        }
        paid
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
