//! What a search found in a large segment, kept for the same search again.
//!
//! A segment never changes once written, except by losing records
//! (deleted, or indexed again elsewhere), and the large ones, which hold
//! nearly every record of a large archive, live for hours between the
//! merges that replace them. So what one search gathered in such a
//! segment (its count of hits, its counts by node and kind, its best hits)
//! is what the same search gathers there next time, as long as the
//! segment has lost no record since and the hits' scores are computed
//! from the same statistics.
//!
//! The statistics that score a hit (how many records hold each word, how
//! long the fields are on average) would change with every commit if they
//! were taken from every segment: the small ones come and go several
//! times a second while deposits come. They are taken from the large
//! segments alone, the *stable* ones, once any segment is large: those are
//! nearly all the records, and these statistics change only when a merge
//! makes or replaces a large segment, which empties the cache. Below that
//! size nothing is kept and every segment counts, as before.
//!
//! A search then costs, at a million records, the small segments and the
//! snippets of its page when it was made lately, whatever was deposited
//! since; a search made for the first time costs what it always did.

use super::index_gather::{Gathered, Rank};
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tantivy::index::SegmentId;
use tantivy::query::Bm25StatisticsProvider;
use tantivy::schema::Field;
use tantivy::{Searcher, SegmentReader, Term};

/// A segment with at least this many records (deleted ones included) is
/// stable: its gatherings are kept, and the scores' statistics come from
/// the stable segments alone.
pub(super) const STABLE_DOCS: u32 = 16_384;

/// How many segments' gatherings are kept at most (a few kilobytes each:
/// counts by node and kind, and the page's best hits).
const KEPT: usize = 4_096;

/// Pages deeper than this (offset and limit) are not kept: rare, and
/// larger.
const KEPT_WANT: usize = 200;

/// The stable segments of a searcher: the statistics that score its hits.
pub(super) struct Stable<'a> {
    segments: Vec<&'a SegmentReader>,
    /// Their ids, in order: what the kept gatherings were scored with.
    ids: Vec<SegmentId>,
}

impl<'a> Stable<'a> {
    /// The segments of `searcher` with at least `min_docs` records, or
    /// `None` when there is none (every segment then counts).
    pub(super) fn of(searcher: &'a Searcher, min_docs: u32) -> Option<Self> {
        let segments: Vec<&SegmentReader> = searcher
            .segment_readers()
            .iter()
            .filter(|s| s.max_doc() >= min_docs)
            .collect();
        if segments.is_empty() {
            return None;
        }
        let mut ids: Vec<SegmentId> = segments.iter().map(|s| s.segment_id()).collect();
        ids.sort();
        Some(Stable { segments, ids })
    }

    /// Whether `segment` is one of them.
    pub(super) fn holds(&self, segment: &SegmentReader) -> bool {
        self.ids.binary_search(&segment.segment_id()).is_ok()
    }
}

impl Bm25StatisticsProvider for Stable<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        let mut tokens = 0;
        for segment in &self.segments {
            tokens += segment.inverted_index(field)?.total_num_tokens();
        }
        Ok(tokens)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        Ok(self.segments.iter().map(|s| u64::from(s.max_doc())).sum())
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        let mut docs = 0;
        for segment in &self.segments {
            docs += u64::from(segment.inverted_index(term.field())?.doc_freq(term)?);
        }
        Ok(docs)
    }
}

/// What a kept gathering answers: the same query (as the engine reads
/// it, filters and synonyms included), the same page, in the same
/// segment having lost the same number of records. The query is its
/// engine's `Debug` text, in which tantivy's query types print every part
/// (terms, fields, bounds, boosts, slops, fuzziness): two queries that
/// differ never share it; a set of terms printed in another order only
/// misses what was kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Asked {
    pub query: Arc<str>,
    pub rank: Rank,
    pub want: usize,
    pub after: Option<(u64, u64)>,
    pub segment: SegmentId,
    pub deleted: u32,
}

struct Kept {
    /// The stable segments the gatherings were scored with.
    scored_with: Vec<SegmentId>,
    gatherings: LruCache<Asked, Arc<Gathered>>,
}

/// The gatherings of the stable segments searched lately.
pub(super) struct Reuse {
    /// `None` when nothing is kept (a capacity of 0).
    kept: Option<std::sync::Mutex<Kept>>,
    /// Stable segments found kept, and searched, since the start.
    found: AtomicU64,
    searched: AtomicU64,
}

impl Default for Reuse {
    fn default() -> Self {
        Reuse::with_capacity(KEPT)
    }
}

impl Reuse {
    /// Keeps at most `capacity` gatherings (none if 0).
    pub(super) fn with_capacity(capacity: usize) -> Self {
        Reuse {
            kept: NonZeroUsize::new(capacity).map(|capacity| {
                std::sync::Mutex::new(Kept {
                    scored_with: Vec::new(),
                    gatherings: LruCache::new(capacity),
                })
            }),
            found: AtomicU64::new(0),
            searched: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> Option<std::sync::MutexGuard<'_, Kept>> {
        self.kept
            .as_ref()
            .map(|kept| kept.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether a gathering of a page of `want` hits may be kept.
    pub(super) fn keeps(&self, want: usize) -> bool {
        self.kept.is_some() && want <= KEPT_WANT
    }

    /// The gathering kept for `asked`, scored with `stable`.
    pub(super) fn find(&self, stable: &Stable<'_>, asked: &Asked) -> Option<Arc<Gathered>> {
        let found = {
            let mut kept = self.lock()?;
            if kept.scored_with != stable.ids {
                None
            } else {
                kept.gatherings.get(asked).cloned()
            }
        };
        let counter = if found.is_some() { &self.found } else { &self.searched };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `gathered` for `asked`, scored with `stable`; what was scored
    /// with other stable segments is forgotten.
    pub(super) fn keep(&self, stable: &Stable<'_>, asked: Asked, gathered: Arc<Gathered>) {
        let Some(mut kept) = self.lock() else {
            return;
        };
        if kept.scored_with != stable.ids {
            kept.gatherings.clear();
            kept.scored_with.clone_from(&stable.ids);
        }
        kept.gatherings.put(asked, gathered);
    }

    /// Forgets every gathering kept.
    pub(super) fn forget(&self) {
        if let Some(mut kept) = self.lock() {
            kept.gatherings.clear();
        }
    }

    /// Stable segments found kept, and searched, since the start.
    pub(super) fn counts(&self) -> (u64, u64) {
        (
            self.found.load(Ordering::Relaxed),
            self.searched.load(Ordering::Relaxed),
        )
    }

    /// How many gatherings are kept.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.lock().map_or(0, |kept| kept.gatherings.len())
    }
}
