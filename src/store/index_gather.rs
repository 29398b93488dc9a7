//! One pass over a search's hits: the total, the counts by node and by
//! kind (type, year, service), and the page, exactly ordered by score or
//! date then by order key, after a cursor. Every hit is visited once; the
//! order key is read only for a hit that could enter the page. A segment's
//! order keys and facet ordinals are read from its columns once and kept,
//! 16 bytes a record, while the segment lives: counting and placing a hit
//! then read one row.

use crate::domain::search::SortValue;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::schema::Facet;
use tantivy::{DateTime as TantivyDate, DocAddress, DocId, Score, SegmentOrdinal, SegmentReader};

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Rank {
    /// Best score first.
    Score,
    /// Newest first.
    DateDesc,
    /// Oldest first.
    DateAsc,
}

/// A hit's place in the order: greater comes first. Scores and dates are
/// mapped to unsigned integers that keep their order.
pub(super) type Place = (u64, u64);

fn score_bits(score: f32) -> u64 {
    let bits = score.to_bits();
    u64::from(if bits & 0x8000_0000 != 0 {
        !bits
    } else {
        bits | 0x8000_0000
    })
}

fn date_bits(seconds: i64) -> u64 {
    (seconds as u64) ^ (1 << 63)
}

impl Rank {
    fn place(self, score: f32, date: i64, key: u64) -> Place {
        match self {
            Rank::Score => (score_bits(score), key),
            Rank::DateDesc => (date_bits(date), key),
            Rank::DateAsc => (!date_bits(date), !key),
        }
    }

    /// A cursor's place: hits after it come strictly below it.
    pub(super) fn place_of(self, after: SortValue, key: u64) -> Place {
        match after {
            SortValue::Score(score) => self.place(score, 0, key),
            SortValue::Date(date) => self.place(0.0, date, key),
        }
    }
}

/// What to gather: the page's order, how many hits it needs (offset and
/// limit), and the cursor's place when the page follows one.
pub(super) struct Gather<'a> {
    pub rank: Rank,
    pub want: usize,
    pub after: Option<Place>,
    pub tables: &'a FacetTables,
}

/// No facet of this kind for a record.
const NONE: u16 = u16::MAX;

/// What a search reads of a record for each hit: its order key, its
/// node's facet ordinal, and its type's, year's and service's (`NONE`
/// where it has none). Side by side, so that a hit costs one read.
#[derive(Debug, Clone, Copy)]
struct Row {
    key: u64,
    node: u16,
    kinds: [u16; 3],
}

/// A segment's rows, record by record. `None` when the segment has more
/// distinct facets than a `u16` numbers.
struct SegmentTable {
    rows: Vec<Row>,
}

impl SegmentTable {
    fn read(reader: &SegmentReader) -> tantivy::Result<Option<SegmentTable>> {
        let fast = reader.fast_fields();
        let (Some(nodes), Some(kinds)) = (fast.str("node_facet")?, fast.str("kinds")?) else {
            return Ok(None);
        };
        if nodes.num_terms() >= usize::from(NONE) || kinds.num_terms() >= usize::from(NONE) {
            return Ok(None);
        }
        let keys = order_keys(reader);
        let rows = (0..reader.max_doc())
            .map(|doc| {
                let mut row = Row {
                    key: keys.get_val(doc),
                    node: NONE,
                    kinds: [NONE; 3],
                };
                if let Some(ord) = nodes.ords().values_for_doc(doc).next() {
                    row.node = ord as u16;
                }
                for (slot, ord) in kinds.ords().values_for_doc(doc).take(3).enumerate() {
                    row.kinds[slot] = ord as u16;
                }
                row
            })
            .collect();
        Ok(Some(SegmentTable { rows }))
    }
}

/// How far ahead of a hit its segment's rows are fetched into the cache:
/// hits come in the order of their documents, and a row read only when
/// its hit comes would wait for memory each time.
const ROWS_AHEAD: usize = 64;

/// Asks the processor to bring `rows[at]` into its cache, if there is one.
#[inline]
fn prefetch(rows: Option<&[Row]>, at: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(row) = rows.and_then(|rows| rows.get(at)) {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // SAFETY: SSE is part of every x86_64 processor; a prefetch is a
        // hint that reads nothing the program sees and never faults, and
        // the address is that of a live row besides.
        unsafe { _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(row).cast::<i8>()) };
    }
}

/// The facet tables of the segments searched lately, by segment.
#[derive(Default)]
pub(super) struct FacetTables {
    tables:
        std::sync::Mutex<std::collections::HashMap<tantivy::index::SegmentId, std::sync::Arc<Option<SegmentTable>>>>,
}

impl FacetTables {
    /// Forgets the segments `searcher` no longer holds (merged or deleted).
    pub(super) fn keep_only(&self, searcher: &tantivy::Searcher) {
        let live: std::collections::HashSet<_> = searcher.segment_readers().iter().map(|s| s.segment_id()).collect();
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|id, _| live.contains(id));
    }

    /// How many segments have a table.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.tables.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// A segment's table, read on its first search.
    fn of(&self, reader: &SegmentReader) -> tantivy::Result<std::sync::Arc<Option<SegmentTable>>> {
        let id = reader.segment_id();
        if let Some(table) = self.tables.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            return Ok(std::sync::Arc::clone(table));
        }
        // Read outside the lock: two first searches may both read it.
        let table = std::sync::Arc::new(SegmentTable::read(reader)?);
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, std::sync::Arc::clone(&table));
        Ok(table)
    }
}

/// A hit of the page: its sort value, its order key, where it is.
pub(super) type Placed = (SortValue, u64, DocAddress);

/// What one pass gathers.
#[derive(Debug, Default, Clone)]
pub(super) struct Gathered {
    pub total: u64,
    /// Hits by node code.
    pub nodes: BTreeMap<String, u64>,
    /// Hits by kind (`type`, `year`, `service`), then by value.
    pub kinds: BTreeMap<String, BTreeMap<String, u64>>,
    /// The best `want` hits, best first.
    pub top: Vec<Placed>,
}

impl Gathered {
    /// The same, its hits in the segment of ordinal `segment` (a kept
    /// segment's gathering, in a later searcher).
    pub(super) fn in_segment(&self, segment: SegmentOrdinal) -> Gathered {
        let mut moved = self.clone();
        for (_, _, address) in &mut moved.top {
            address.segment_ord = segment;
        }
        moved
    }
}

/// A segment's share, before its counts' ordinals are named.
pub(super) struct SegmentGather {
    rank: Rank,
    want: usize,
    after: Option<Place>,
    segment: SegmentOrdinal,
    total: u64,
    table: std::sync::Arc<Option<SegmentTable>>,
    node_column: tantivy::columnar::Column<u64>,
    node_dictionary: tantivy::fastfield::FacetReader,
    node_counts: Vec<u64>,
    kind_column: tantivy::columnar::Column<u64>,
    kind_dictionary: tantivy::fastfield::FacetReader,
    kind_counts: Vec<u64>,
    keys: std::sync::Arc<dyn ColumnValues<u64>>,
    dates: Option<std::sync::Arc<dyn ColumnValues<TantivyDate>>>,
    heap: BinaryHeap<Reverse<(Place, DocId, u32)>>,
}

/// The order keys of a segment's documents (0 where missing).
pub(super) fn order_keys(segment: &SegmentReader) -> std::sync::Arc<dyn ColumnValues<u64>> {
    segment
        .fast_fields()
        .u64("order_key")
        .map(|c| c.first_or_default_col(0))
        .unwrap_or_else(|_| std::sync::Arc::new(tantivy::columnar::column_values::EmptyColumnValues))
}

impl Collector for Gather<'_> {
    type Fruit = Gathered;
    type Child = SegmentGather;

    fn for_segment(&self, segment: SegmentOrdinal, reader: &SegmentReader) -> tantivy::Result<SegmentGather> {
        let node_dictionary = reader.facet_reader("node_facet")?;
        let kind_dictionary = reader.facet_reader("kinds")?;
        let fast = reader.fast_fields();
        let column = |name: &str| -> tantivy::Result<tantivy::columnar::Column<u64>> {
            Ok(fast
                .str(name)?
                .map(|c| c.ords().clone())
                .unwrap_or_else(|| tantivy::columnar::Column::build_empty_column(reader.max_doc())))
        };
        let dates = match self.rank {
            Rank::Score => None,
            Rank::DateDesc | Rank::DateAsc => Some(fast.date("date")?.first_or_default_col(TantivyDate::MIN)),
        };
        Ok(SegmentGather {
            rank: self.rank,
            want: self.want,
            after: self.after,
            segment,
            total: 0,
            table: self.tables.of(reader)?,
            node_counts: vec![0; node_dictionary.num_facets()],
            node_column: column("node_facet")?,
            node_dictionary,
            kind_counts: vec![0; kind_dictionary.num_facets()],
            kind_column: column("kinds")?,
            kind_dictionary,
            keys: order_keys(reader),
            dates,
            heap: BinaryHeap::with_capacity(self.want + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.rank == Rank::Score
    }

    fn merge_fruits(&self, fruits: Vec<Gathered>) -> tantivy::Result<Gathered> {
        let mut merged = Gathered::default();
        for fruit in fruits {
            merged.total += fruit.total;
            for (node, n) in fruit.nodes {
                *merged.nodes.entry(node).or_default() += n;
            }
            for (kind, values) in fruit.kinds {
                let into = merged.kinds.entry(kind).or_default();
                for (value, n) in values {
                    *into.entry(value).or_default() += n;
                }
            }
            merged.top.extend(fruit.top);
        }
        let rank = self.rank;
        let place = |(value, key, _): &Placed| match value {
            SortValue::Score(s) => rank.place(*s, 0, *key),
            SortValue::Date(d) => rank.place(0.0, *d, *key),
        };
        merged.top.sort_by_key(|p| Reverse(place(p)));
        merged.top.truncate(self.want);
        Ok(merged)
    }
}

impl SegmentGather {
    /// The facet paths counted, by their ordinals in the segment.
    fn named(dictionary: &tantivy::fastfield::FacetReader, counts: &[u64]) -> Vec<(Vec<String>, u64)> {
        let mut facet = Facet::root();
        counts
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .filter_map(|(ord, n)| {
                dictionary.facet_from_ord(ord as u64, &mut facet).ok()?;
                Some((facet.to_path().into_iter().map(str::to_owned).collect(), *n))
            })
            .collect()
    }
}

impl SegmentCollector for SegmentGather {
    type Fruit = Gathered;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let rows = self.table.as_ref().as_ref().map(|t| t.rows.as_slice());
        prefetch(rows, doc as usize + ROWS_AHEAD);
        let row = rows.and_then(|rows| rows.get(doc as usize));
        if let Some(row) = row {
            if let Some(n) = self.node_counts.get_mut(usize::from(row.node)) {
                *n += 1;
            }
            for ord in row.kinds {
                if let Some(n) = self.kind_counts.get_mut(usize::from(ord)) {
                    *n += 1;
                }
            }
        } else {
            for ord in self.node_column.values_for_doc(doc) {
                if let Some(n) = self.node_counts.get_mut(ord as usize) {
                    *n += 1;
                }
            }
            for ord in self.kind_column.values_for_doc(doc) {
                if let Some(n) = self.kind_counts.get_mut(ord as usize) {
                    *n += 1;
                }
            }
        }
        if self.want == 0 {
            return;
        }
        let date = self.dates.as_ref().map_or(0, |d| d.get_val(doc).into_timestamp_secs());
        // Without its key, a hit placed below the page's last is out.
        let floor = self.rank.place(score, date, 0).0;
        if self.heap.len() == self.want && self.heap.peek().is_some_and(|Reverse((p, _, _))| floor < p.0) {
            return;
        }
        let key = row.map_or_else(|| self.keys.get_val(doc), |row| row.key);
        let place = self.rank.place(score, date, key);
        if self.after.is_some_and(|after| place >= after) {
            return;
        }
        if self.heap.len() < self.want {
            self.heap.push(Reverse((place, doc, score.to_bits())));
        } else if self.heap.peek().is_some_and(|Reverse((p, _, _))| place > *p) {
            self.heap.pop();
            self.heap.push(Reverse((place, doc, score.to_bits())));
        }
    }

    fn harvest(self) -> Gathered {
        let mut nodes = BTreeMap::new();
        for (path, n) in Self::named(&self.node_dictionary, &self.node_counts) {
            *nodes.entry(path.join("/")).or_default() += n;
        }
        let mut kinds: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        for (path, n) in Self::named(&self.kind_dictionary, &self.kind_counts) {
            if let [kind, value] = path.as_slice() {
                *kinds.entry(kind.clone()).or_default().entry(value.clone()).or_default() += n;
            }
        }
        let rank = self.rank;
        let dates = self.dates;
        let segment = self.segment;
        let top = self
            .heap
            .into_iter()
            .map(|Reverse((place, doc, bits))| {
                let value = match rank {
                    Rank::Score => SortValue::Score(f32::from_bits(bits)),
                    Rank::DateDesc | Rank::DateAsc => {
                        SortValue::Date(dates.as_ref().map_or(0, |d| d.get_val(doc).into_timestamp_secs()))
                    }
                };
                let key = if rank == Rank::DateAsc { !place.1 } else { place.1 };
                (value, key, DocAddress::new(segment, doc))
            })
            .collect();
        Gathered {
            total: self.total,
            nodes,
            kinds,
            top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_keep_the_order_of_scores_and_dates() {
        let scores = [-3.5f32, -0.0, 0.0, 0.25, 1.0, 7.5];
        for pair in scores.windows(2) {
            assert!(score_bits(pair[0]) <= score_bits(pair[1]), "{pair:?}");
        }
        assert!(date_bits(-86_400) < date_bits(0) && date_bits(0) < date_bits(86_400));
        assert!(
            Rank::DateAsc.place(0.0, 10, 1) > Rank::DateAsc.place(0.0, 20, 1),
            "older first"
        );
        assert!(
            Rank::DateAsc.place(0.0, 10, 1) > Rank::DateAsc.place(0.0, 10, 2),
            "then lower key"
        );
        assert!(Rank::Score.place(2.0, 0, 1) > Rank::Score.place(1.0, 0, 9));
    }
}
