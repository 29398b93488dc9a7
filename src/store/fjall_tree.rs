//! One ordered tree of keys in fjall, as the catalog uses it: point reads,
//! prefix and range scans both ways, and atomic batches.
//!
//! fjall is a log-structured merge tree: a batch is appended to its
//! journal (through a buffer that reaches the system when full or when
//! fjall flushes it, and the disk when asked: [`Tree::flush`]) and to an
//! in-memory table, which background workers write out as sorted tables
//! and merge. After a crash, even a kill, it comes back at some whole
//! batch, maybe an earlier one than the last applied: the catalog keeps
//! the last journal seq it applied in each batch and the archive replays
//! from there.

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Slice};
use std::ops::RangeBounds;
use std::path::Path;

/// A key and its value.
pub(super) type Item = Result<(Slice, Slice), fjall::Error>;

/// The keyspace every key lives in.
const ITEMS: &str = "items";

/// How much of its journal fjall keeps before it writes its in-memory
/// tables out (its default is 512 MiB): what an opening after a crash
/// reads again, and what those tables may hold in memory.
const JOURNAL_BYTES: u64 = 64 << 20;

/// What the in-memory table holds before it is written out (its default
/// is 64 MiB).
const MEMTABLE_BYTES: u64 = 32 << 20;

/// An ordered tree of byte keys.
pub(super) struct Tree {
    db: Database,
    items: Keyspace,
}

impl Tree {
    /// Opens (creating if needed) the tree in `folder`, with a cache of
    /// `cache_bytes` for the blocks it reads; a `temporary` one is removed
    /// when dropped.
    pub(super) fn open(folder: &Path, cache_bytes: u64, temporary: bool) -> Result<Tree, fjall::Error> {
        let db = Database::builder(folder)
            .cache_size(cache_bytes)
            .max_journaling_size(JOURNAL_BYTES)
            .temporary(temporary)
            .open()?;
        let items = db.keyspace(ITEMS, || {
            KeyspaceCreateOptions::default().max_memtable_size(MEMTABLE_BYTES)
        })?;
        Ok(Tree { db, items })
    }

    /// The value under `key`.
    pub(super) fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Slice>, fjall::Error> {
        self.items.get(key)
    }

    /// The first key after `key`, with its value.
    pub(super) fn get_gt(&self, key: &[u8]) -> Result<Option<(Slice, Slice)>, fjall::Error> {
        use std::ops::Bound::{Excluded, Unbounded};
        self.items
            .range::<&[u8], _>((Excluded(key), Unbounded))
            .next()
            .map(fjall::Guard::into_inner)
            .transpose()
    }

    /// The keys that begin with `prefix`, in order (or reversed).
    pub(super) fn scan_prefix<P: AsRef<[u8]>>(&self, prefix: P) -> impl DoubleEndedIterator<Item = Item> + use<P> {
        self.items.prefix(prefix).map(fjall::Guard::into_inner)
    }

    /// The keys within `range`, in order (or reversed).
    pub(super) fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = Item> + use<K, R> {
        self.items.range(range).map(fjall::Guard::into_inner)
    }

    /// A batch of writes to apply at once.
    pub(super) fn batch(&self) -> Batch {
        Batch {
            writes: self.db.batch(),
            items: self.items.clone(),
        }
    }

    /// Applies `batch`: after a crash, all of it or none.
    pub(super) fn apply_batch(&self, batch: Batch) -> Result<(), fjall::Error> {
        batch.writes.commit()
    }

    /// Writes one key.
    #[cfg(test)]
    pub(super) fn insert(&self, key: impl Into<Slice>, value: impl Into<Slice>) -> Result<(), fjall::Error> {
        self.items.insert(key, value)
    }

    /// Removes every key.
    pub(super) fn clear(&self) -> Result<(), fjall::Error> {
        self.items.clear()
    }

    /// Writes out and syncs what was applied.
    pub(super) fn flush(&self) -> Result<(), fjall::Error> {
        self.db.persist(PersistMode::SyncAll)
    }
}

/// Writes applied together ([`Tree::apply_batch`]).
pub(super) struct Batch {
    writes: fjall::OwnedWriteBatch,
    items: Keyspace,
}

impl Batch {
    /// Writes `value` under `key`.
    pub(super) fn insert(&mut self, key: impl Into<Slice>, value: impl Into<Slice>) {
        self.writes.insert(&self.items, key, value);
    }

    /// Removes `key`.
    pub(super) fn remove(&mut self, key: impl Into<Slice>) {
        self.writes.remove(&self.items, key);
    }
}
