//! Damaged content: never served, journaled when found, repaired when
//! good bytes come.
//!
//! Whoever finds a blob damaged (a reading that hashes what it streams,
//! the fixity job, `audit verify`) journals `blob.damaged` once; the
//! catalog keeps it as known damaged, and its content answers 409
//! `content_damaged` until a `blob.repaired` event: the same bytes
//! deposited again (they were hashed as they came) replace it.
//!
//! A reading hashes the content as it goes and holds back its last bytes
//! until the digest is checked ([`CheckedContent`]): a client is cut
//! short rather than handed a complete wrong file.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::hash::{Sha256, Sha256Hasher};
use crate::domain::integrity::{DamageFinder, DamageKind};
use crate::store::{BlobRead, StagedBlob};
use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a whole content checked by a reading is trusted for the
/// ranges asked of it next (a PDF viewer asks for many).
const CHECKED_FOR: Duration = Duration::from_secs(10 * 60);
/// The most contents remembered as checked.
const CHECKED_MAX: usize = 10_000;

/// Contents whose whole bytes a reading checked lately.
#[derive(Default)]
pub(super) struct RecentlyChecked(Mutex<HashMap<Sha256, Instant>>);

impl RecentlyChecked {
    fn fresh(&self, blob: &Sha256) -> bool {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(blob).is_some_and(|at| at.elapsed() < CHECKED_FOR)
    }

    fn note(&self, blob: Sha256) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= CHECKED_MAX {
            map.retain(|_, at| at.elapsed() < CHECKED_FOR);
        }
        if map.len() < CHECKED_MAX {
            map.insert(blob, Instant::now());
        }
    }
}

impl Archive {
    /// What is known wrong with a blob (the catalog's damaged blobs, from
    /// `blob.damaged` until `blob.repaired`), said for people: none when
    /// it is not known damaged. Findings of the fixity job, of a whole
    /// check and of readings are all journaled there.
    pub(super) fn damage_of(&self, blob: &Sha256) -> Option<String> {
        let damage = self.catalog.damage(blob).ok().flatten()?;
        let what = match damage.kind {
            crate::domain::integrity::DamageKind::Corrupt => "il ne correspond plus à son empreinte",
            crate::domain::integrity::DamageKind::Missing => "il est introuvable",
        };
        let by = match damage.found_by {
            crate::domain::integrity::DamageFinder::Read => "à sa lecture",
            crate::domain::integrity::DamageFinder::Fixity => "par le contrôle d'intégrité planifié",
            crate::domain::integrity::DamageFinder::Verify => "par une vérification complète",
            crate::domain::integrity::DamageFinder::Repair => "par une réparation",
        };
        // What was found, when and how; what to do is said once, by
        // whoever shows it (the error, the record's page).
        Some(format!(
            "{what}, constaté {by} le {}",
            crate::french::date(damage.at.date_naive())
        ))
    }

    /// The references of the records that use `blob`.
    pub(super) fn references_using(&self, blob: &Sha256) -> Vec<String> {
        let ids = self.catalog.records_holding(blob).unwrap_or_default();
        ids.iter()
            .filter_map(|id| self.catalog.record(id).ok().flatten())
            .filter(|r| r.uses_blob(blob))
            .map(|r| r.reference.to_string())
            .collect()
    }

    /// Whether a record that is not a tombstone holds `blob`.
    fn held_by_a_live_record(&self, blob: &Sha256) -> Result<bool, ArchiveError> {
        for id in self.catalog.records_holding(blob)? {
            if self
                .catalog
                .record(&id)?
                .is_some_and(|r| r.tombstone.is_none() && r.uses_blob(blob))
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Journals that `blob` is damaged, unless it is known already. A
    /// trail that cannot be written is logged: the content stays refused
    /// by whoever found it.
    pub(super) fn note_damage(&self, blob: &Sha256, kind: DamageKind, found_by: DamageFinder) {
        match self.journal_damage(blob, kind, found_by, &Actor::system()) {
            Ok(true) => {
                self.repair_from_copy(blob);
            }
            Ok(false) => {}
            Err(e) => tracing::error!(%blob, error = %e, "cannot journal a damaged blob"),
        }
    }

    /// Journals `blob.damaged` for `blob` by `actor`, unless it is known
    /// damaged already; says whether it did.
    pub(super) fn journal_damage(
        &self,
        blob: &Sha256,
        kind: DamageKind,
        found_by: DamageFinder,
        actor: &Actor,
    ) -> Result<bool, ArchiveError> {
        if self.catalog.damage(blob)?.is_some() {
            return Ok(false);
        }
        tracing::error!(%blob, ?kind, ?found_by, "a blob is damaged");
        let used_by = self.references_using(blob);
        self.journal.append(actor.draft(EventBody::BlobDamaged {
            blob: *blob,
            problem: kind,
            found_by,
            used_by,
        }))?;
        Ok(true)
    }

    /// Puts a damaged blob back from a copy store whose bytes still hash
    /// to its name, and journals it; says whether it did.
    pub(super) fn repair_from_copy(&self, blob: &Sha256) -> bool {
        match self.try_repair_from_copy(blob, &Actor::system()) {
            Ok(repaired) => repaired.is_some(),
            Err(e) => {
                tracing::error!(%blob, error = %e, "repairing a blob from a copy failed");
                false
            }
        }
    }

    /// Puts a damaged blob back from a copy store whose bytes still hash
    /// to its name, and journals it by `actor`; says from which copy and
    /// for which records (none: no copy holds good bytes).
    pub(super) fn try_repair_from_copy(
        &self,
        blob: &Sha256,
        actor: &Actor,
    ) -> Result<Option<(String, Vec<String>)>, ArchiveError> {
        let Some(copy) = self.blobs.repair_from_copy(blob)? else {
            return Ok(None);
        };
        self.recently_checked.note(*blob);
        let used_by = self.references_using(blob);
        tracing::warn!(%blob, %copy, ?used_by, "a damaged blob was repaired from a copy");
        self.journal.append(actor.draft(EventBody::BlobRepaired {
            blob: *blob,
            source: copy.clone(),
            used_by: used_by.clone(),
        }))?;
        Ok(Some((copy, used_by)))
    }

    /// Starts storing `staged` and its metadata document under their
    /// digests on `stores` stores at least: a plain commit, queued with
    /// others to share their flushes, unless a blob with that digest is
    /// known damaged or is missing while records use it; then the
    /// verified bytes replace it and `blob.repaired` is journaled, before
    /// this returns.
    pub(super) fn queue_or_repair(
        &self,
        staged: Box<dyn StagedBlob>,
        metadata: Box<dyn StagedBlob>,
        actor: &Actor,
        stores: usize,
    ) -> Result<Storing, ArchiveError> {
        let blob = staged.sha256();
        let known = self.catalog.damage(&blob)?.is_some();
        let contained = known || self.blobs.contains(&blob)?;
        // Gone while a record still holds it (not erased by a disposal or
        // a transfer, whose records are tombstones).
        let lost = !contained && self.held_by_a_live_record(&blob)?;
        if !known && !lost {
            // The content and its metadata document share their flushes.
            return Ok(Storing::Queued {
                content: staged.commit_later(stores)?,
                metadata: metadata.commit_later(stores)?,
                held_before: contained,
            });
        }
        staged.replace()?;
        metadata.commit_on(stores)?;
        self.recently_checked.note(blob);
        let used_by = self.references_using(&blob);
        tracing::warn!(%blob, ?used_by, "a damaged blob was repaired by a deposit of the same bytes");
        self.journal.append(actor.draft(EventBody::BlobRepaired {
            blob,
            source: "deposit".into(),
            used_by,
        }))?;
        Ok(Storing::Repaired)
    }

    /// `reader` (the whole of `blob`, `size` bytes), checked as it is read:
    /// see [`CheckedContent`].
    pub(super) fn checked_content(
        self: &Arc<Self>,
        blob: Sha256,
        size: u64,
        reader: Box<dyn BlobRead>,
    ) -> CheckedContent {
        CheckedContent {
            archive: Arc::clone(self),
            blob,
            size,
            inner: reader,
            hasher: Some(Sha256Hasher::new()),
            at: 0,
            held: Vec::new(),
            failed: false,
        }
    }
}

/// A content read from its start and hashed as it goes. Its last bytes
/// are held back until the digest is known: if it matches they are given,
/// else the read fails (the client is cut short, never handed a complete
/// wrong file), the blob is journaled damaged, and every later reading
/// answers `content_damaged`. Seeking elsewhere (a range) first checks
/// the whole content, unless a reading did so lately.
pub struct CheckedContent {
    archive: Arc<Archive>,
    blob: Sha256,
    size: u64,
    inner: Box<dyn BlobRead>,
    /// Hashing from the start; `None` once the content is known good.
    hasher: Option<Sha256Hasher>,
    /// Where the inner reader is.
    at: u64,
    /// Bytes read but not given yet (the tail, until checked).
    held: Vec<u8>,
    failed: bool,
}

/// Bytes held back at the end of a content until its digest is checked.
const HELD_BACK: u64 = 64 * 1024;

impl CheckedContent {
    fn damaged(&mut self, kind: DamageKind) -> io::Error {
        self.failed = true;
        self.archive.note_damage(&self.blob, kind, DamageFinder::Read);
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the content {} does not match its digest: reading stopped", self.blob),
        )
    }

    /// Reads from the inner reader into `buf`, hashing; at the end,
    /// checks the digest.
    fn read_hashed(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.size - self.at;
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = loop {
            match self.inner.read(&mut buf[..want]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            return Err(self.damaged(DamageKind::Corrupt));
        }
        if let Some(hasher) = self.hasher.as_mut() {
            hasher.update(&buf[..n]);
        }
        self.at += n as u64;
        Ok(n)
    }

    /// Whether the digest of everything read matches (at the end only).
    fn digest_matches(&mut self) -> bool {
        match self.hasher.take() {
            Some(hasher) => hasher.finish() == self.blob,
            None => true,
        }
    }

    /// Checks the whole content now (unless a reading did lately) and
    /// goes back to its start: for a range, which reads only part of it.
    pub(super) fn check_whole(&mut self) -> io::Result<()> {
        if self.hasher.is_some() && !self.archive.recently_checked.fresh(&self.blob) {
            self.check_rest()?;
        }
        self.hasher = None;
        self.held.clear();
        self.at = self.inner.seek(SeekFrom::Start(0))?;
        Ok(())
    }

    /// Reads and hashes the rest of the content, checking it whole.
    fn check_rest(&mut self) -> io::Result<()> {
        let mut buf = vec![0u8; 64 * 1024];
        while self.at < self.size {
            self.read_hashed(&mut buf)?;
        }
        if !self.digest_matches() {
            return Err(self.damaged(DamageKind::Corrupt));
        }
        self.archive.recently_checked.note(self.blob);
        Ok(())
    }
}

impl Read for CheckedContent {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "content damaged"));
        }
        if self.hasher.is_none() {
            // Known good (checked whole lately): plain reading.
            if !self.held.is_empty() {
                let n = buf.len().min(self.held.len());
                buf[..n].copy_from_slice(&self.held[..n]);
                self.held.drain(..n);
                return Ok(n);
            }
            let left = usize::try_from(self.size - self.at).unwrap_or(usize::MAX);
            let want = buf.len().min(left);
            let n = self.inner.read(&mut buf[..want])?;
            self.at += n as u64;
            return Ok(n);
        }
        // Fill the held bytes until more than the tail is held, or the end.
        let mut chunk = vec![0u8; buf.len().max(8 * 1024)];
        while self.at < self.size && (self.held.len() as u64) <= HELD_BACK {
            let n = self.read_hashed(&mut chunk)?;
            self.held.extend_from_slice(&chunk[..n]);
        }
        if self.at == self.size {
            if !self.digest_matches() {
                self.held.clear();
                return Err(self.damaged(DamageKind::Corrupt));
            }
            self.archive.recently_checked.note(self.blob);
            let n = buf.len().min(self.held.len());
            buf[..n].copy_from_slice(&self.held[..n]);
            self.held.drain(..n);
            return Ok(n);
        }
        // Give what is beyond the tail.
        let give = usize::try_from(self.held.len() as u64 - HELD_BACK)
            .unwrap_or(0)
            .min(buf.len());
        buf[..give].copy_from_slice(&self.held[..give]);
        self.held.drain(..give);
        Ok(give)
    }
}

impl Seek for CheckedContent {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let SeekFrom::Start(target) = to else {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "content is read from a start offset",
            ));
        };
        if target == 0 && self.at == 0 {
            return Ok(0);
        }
        if self.hasher.is_some() {
            if self.archive.recently_checked.fresh(&self.blob) {
                self.hasher = None;
            } else {
                self.held.clear();
                self.check_rest()?;
            }
        }
        self.held.clear();
        self.at = self.inner.seek(SeekFrom::Start(target))?;
        Ok(self.at)
    }
}

/// A deposit's blobs on their way to the stores (see
/// [`Archive::queue_or_repair`]).
pub(super) enum Storing {
    /// Queued for the next group commit.
    Queued {
        content: Box<dyn crate::store::PendingCommit>,
        metadata: Box<dyn crate::store::PendingCommit>,
        /// Whether the content was stored already.
        held_before: bool,
    },
    /// A damaged or lost blob repaired, durable already.
    Repaired,
}

impl Storing {
    /// Waits until both blobs are durable; says whether they repaired a
    /// blob, and whether the content was stored already.
    pub(super) fn wait(self) -> Result<(bool, bool), ArchiveError> {
        match self {
            Storing::Queued {
                content,
                metadata,
                held_before,
            } => {
                let (content, metadata) = (content.wait(), metadata.wait());
                content?;
                metadata?;
                Ok((false, held_before))
            }
            Storing::Repaired => Ok((true, true)),
        }
    }
}
