//! Every blob the archive holds or still needs, walked in digest order
//! without holding them all: the blob store's listing (32 bytes a blob)
//! merged with the catalog's blob → records index, read a page at a time,
//! and the plan versions' texts. Which records use a blob is read only
//! when someone asks (a finding, a blob the store lacks), so a walk over a
//! million records holds the listing and one page, not every record's
//! references.

use super::{Archive, ArchiveError};
use crate::domain::hash::Sha256;
use crate::domain::record::{RecordId, RecordState};
use std::collections::{BTreeMap, VecDeque};

/// Blobs of the catalog's index read at a time.
const PAGE: usize = 4096;

/// A blob met on the walk.
pub(super) struct BlobInUse {
    /// Its digest.
    pub sha: Sha256,
    /// Whether the blob store listed it when the walk began.
    pub stored: bool,
    /// The records the catalog says have used it, to be checked.
    holders: Vec<RecordId>,
    /// The plan versions whose text it is.
    plan_versions: Vec<u32>,
}

/// What a walk goes through: the blob store's listing and the plan
/// versions' texts, taken when it begins.
pub(super) struct BlobsInUse {
    stored: Vec<Sha256>,
    plans: BTreeMap<Sha256, Vec<u32>>,
}

impl BlobsInUse {
    /// How many blobs the store held when the walk began.
    pub fn stored(&self) -> u64 {
        self.stored.len() as u64
    }

    /// Calls `each` on every blob the store held, or that a record still
    /// in the archive (active) or a plan version uses, in digest order
    /// after `after` (exclusive), until `each` answers `false`. Says
    /// whether it got to the end.
    pub fn walk(
        &self,
        archive: &Archive,
        after: Option<Sha256>,
        mut each: impl FnMut(BlobInUse) -> Result<bool, ArchiveError>,
    ) -> Result<bool, ArchiveError> {
        let first = after.map_or(0, |a| self.stored.partition_point(|s| *s <= a));
        let mut stored = self.stored.get(first..).unwrap_or_default().iter().peekable();
        let start = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        let mut plans = self.plans.range((start, std::ops::Bound::Unbounded)).peekable();
        let mut page: VecDeque<(Sha256, Vec<RecordId>)> = VecDeque::new();
        let mut page_after = after;
        let mut index_done = false;
        loop {
            if page.is_empty() && !index_done {
                let next = archive.catalog.blobs_used(page_after.as_ref(), PAGE)?;
                index_done = next.len() < PAGE;
                page_after = next.last().map(|(sha, _)| *sha);
                page.extend(next);
            }
            let candidates = [
                stored.peek().copied(),
                page.front().map(|(sha, _)| sha),
                plans.peek().map(|(sha, _)| *sha),
            ];
            let Some(sha) = candidates.into_iter().flatten().min().copied() else {
                return Ok(true);
            };
            let blob = BlobInUse {
                sha,
                stored: stored.next_if(|s| **s == sha).is_some(),
                holders: if page.front().is_some_and(|(s, _)| *s == sha) {
                    page.pop_front().map(|(_, ids)| ids).unwrap_or_default()
                } else {
                    Vec::new()
                },
                plan_versions: plans
                    .next_if(|(s, _)| **s == sha)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            };
            if !blob.stored && blob.plan_versions.is_empty() && archive.users_of(&blob)?.is_empty() {
                // Used only by destroyed or transferred records: erased.
                continue;
            }
            if !each(blob)? {
                return Ok(false);
            }
        }
    }
}

impl Archive {
    /// What a walk over the blobs in use goes through, taken now.
    pub(super) fn blobs_in_use(&self) -> Result<BlobsInUse, ArchiveError> {
        let mut stored = self.blobs.list()?;
        stored.sort_unstable();
        stored.dedup();
        let mut plans: BTreeMap<Sha256, Vec<u32>> = BTreeMap::new();
        for plan in self.catalog.plan_versions()? {
            plans.entry(plan.text).or_default().push(plan.number);
        }
        Ok(BlobsInUse { stored, plans })
    }

    /// The references of the active records that use the blob.
    fn users_of(&self, blob: &BlobInUse) -> Result<Vec<String>, ArchiveError> {
        let mut users = Vec::new();
        for id in &blob.holders {
            if let Some(record) = self.catalog.record(id)?
                && record.state == RecordState::Active
                && record.uses_blob(&blob.sha)
            {
                users.push(record.reference.to_string());
            }
        }
        Ok(users)
    }

    /// What uses the blob, as a finding names it: the references of the
    /// active records that use it, then the plan versions whose text it is.
    pub(super) fn used_by(&self, blob: &BlobInUse) -> Result<Vec<String>, ArchiveError> {
        let mut used_by = self.users_of(blob)?;
        used_by.extend(blob.plan_versions.iter().map(|n| format!("plan version {n}")));
        Ok(used_by)
    }
}
