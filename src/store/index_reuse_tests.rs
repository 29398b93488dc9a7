//! A search that reuses what it found lately in the large segments answers
//! exactly what the same search made afresh answers, whatever came into
//! the index, left it, or was merged in between.

use super::TantivyIndex;
use super::tests::{doc, query};
use crate::domain::search::{SearchQuery, SearchResults, SortOrder};
use crate::store::TextIndex;
use crate::store::index_reuse::Reuse;
use proptest::prelude::*;

/// Large segments from 3 records, merges only when asked.
fn small_stable_index() -> TantivyIndex {
    let mut index = TantivyIndex::in_memory().unwrap();
    index.stable_docs = 3;
    index
        .writer()
        .set_merge_policy(Box::new(tantivy::indexer::NoMergePolicy));
    index
}

/// How many segments are large: a commit of a few records may make one
/// segment or one per indexing thread, as the threads took them.
fn large_segments(index: &TantivyIndex) -> u64 {
    let searcher = index.reader.searcher();
    let large = searcher
        .segment_readers()
        .iter()
        .filter(|s| s.max_doc() >= index.stable_docs);
    large.count() as u64
}

/// The same search made afresh: with nothing kept, on the same searcher.
fn afresh(index: &mut TantivyIndex, q: &SearchQuery) -> SearchResults {
    let kept = std::mem::replace(&mut index.reuse, Reuse::with_capacity(0));
    let found = index.search(q).unwrap();
    index.reuse = kept;
    found
}

const WORDS: [&str; 6] = ["facture", "chauffage", "gymnase", "école", "cantine", "subvention"];

fn text_of(n: u128, words: &[usize]) -> String {
    let mut text = format!("Pièce {n} :");
    for w in words {
        text.push(' ');
        text.push_str(WORDS[*w % WORDS.len()]);
    }
    text
}

fn put(index: &TantivyIndex, n: u128, words: &[usize]) {
    let node = if n.is_multiple_of(2) { "FIN-FAC" } else { "ADM-DEL" };
    let date = format!("2024-{:02}-{:02}", 1 + n % 12, 1 + n % 28);
    index
        .put(&doc(
            n,
            node,
            &format!("Pièce {}", WORDS[n as usize % WORDS.len()]),
            &text_of(n, words),
            &date,
        ))
        .unwrap();
}

/// Searches that differ in words, filters, order and page.
fn searches() -> Vec<SearchQuery> {
    let mut all = vec![
        query("facture"),
        query("chauffage gymnase"),
        query("\"chauffage gymnase\""),
        query("école -cantine"),
        SearchQuery {
            node: Some(crate::domain::record::NodeCode::parse("FIN-FAC").unwrap()),
            ..query("facture subvention")
        },
        SearchQuery {
            sort: SortOrder::DateDesc,
            ..query("cantine")
        },
        SearchQuery {
            limit: 2,
            ..query("gymnase")
        },
    ];
    // The page after the first of a search of two a page.
    let first = SearchQuery {
        limit: 2,
        ..query("facture")
    };
    all.push(first);
    all
}

/// Each search, twice, against the same made afresh.
fn same_as_afresh(index: &mut TantivyIndex, when: &str) {
    for q in searches() {
        for round in 0..2 {
            let found = index.search(&q).unwrap();
            assert_eq!(found, afresh(index, &q), "{when}: {:?}, round {round}", q.text);
            if let Some(next) = &found.next {
                let after = q.clone().starting_after(Some(next)).unwrap();
                assert_eq!(
                    index.search(&after).unwrap(),
                    afresh(index, &after),
                    "{when}: next page"
                );
            }
        }
    }
}

#[test]
fn a_search_made_again_reuses_the_large_segments_and_answers_the_same() {
    let mut index = small_stable_index();
    let mut n = 0;
    // Two large segments.
    for _ in 0..2 {
        for _ in 0..6 {
            n += 1;
            put(&index, n, &[n as usize, n as usize + 1, 0]);
        }
        index.commit(n as u64).unwrap();
    }
    same_as_afresh(&mut index, "two large segments");
    let (reused, searched) = index.reuse_counts();
    assert!(reused > 0 && searched > 0, "{reused} {searched}");
    assert!(index.reuse.len() > 0);

    // The same search once more: every large segment reused.
    let large = large_segments(&index);
    assert!(large >= 2, "{large}");
    let q = query("facture");
    let before = index.reuse_counts().0;
    index.search(&q).unwrap();
    assert_eq!(index.reuse_counts().0, before + large);

    // Forgotten: searched again, then reused again.
    index.forget_reused();
    assert_eq!(index.reuse.len(), 0);
    let (reused, searched) = index.reuse_counts();
    index.search(&q).unwrap();
    assert_eq!(index.reuse_counts(), (reused, searched + large));
    index.search(&q).unwrap();
    assert_eq!(index.reuse_counts(), (reused + large, searched + large));

    // A small segment comes, holding the words: the large ones are still
    // reused, and the newcomer's records are found, scored as afresh.
    n += 1;
    put(&index, n, &[0, 1, 2]);
    index.commit(n as u64).unwrap();
    let before = index.reuse_counts().0;
    let found = index.search(&q).unwrap();
    assert_eq!(
        index.reuse_counts().0,
        before + large,
        "the large segments' shares reused"
    );
    assert_eq!(found, afresh(&mut index, &q));
    same_as_afresh(&mut index, "a small segment added");

    // A record of a large segment indexed again (deleted there): that
    // segment is searched again, and the record counted once.
    put(&index, 1, &[3]);
    index.commit(n as u64 + 1).unwrap();
    let total_before = index.search(&query("facture")).unwrap().total;
    assert_eq!(total_before, afresh(&mut index, &query("facture")).total);
    same_as_afresh(&mut index, "a record indexed again");

    // A third large segment: the statistics change, nothing kept before
    // is reused.
    for _ in 0..4 {
        n += 1;
        put(&index, n, &[0, 4]);
    }
    index.commit(n as u64 + 2).unwrap();
    same_as_afresh(&mut index, "a third large segment");

    // Merged into one.
    let ids = index.index.searchable_segment_ids().unwrap();
    index.writer().merge(&ids).wait().unwrap();
    index.commit(n as u64 + 3).unwrap();
    assert_eq!(index.reader.searcher().segment_readers().len(), 1);
    same_as_afresh(&mut index, "merged");
}

#[test]
fn nothing_is_kept_while_every_segment_is_small() {
    let index = TantivyIndex::in_memory().unwrap();
    for n in 1..=20 {
        put(&index, n, &[0, n as usize]);
    }
    index.commit(1).unwrap();
    for _ in 0..3 {
        index.search(&query("facture")).unwrap();
    }
    assert_eq!(index.reuse_counts(), (0, 0));
    assert_eq!(index.reuse.len(), 0);
}

#[test]
fn deep_pages_are_not_kept() {
    let mut index = small_stable_index();
    for n in 1..=8 {
        put(&index, n, &[0]);
    }
    index.commit(1).unwrap();
    let deep = SearchQuery {
        offset: 150,
        limit: 100,
        ..query("facture")
    };
    index.search(&deep).unwrap();
    assert_eq!(index.reuse.len(), 0);
    assert_eq!(index.search(&deep).unwrap(), afresh(&mut index, &deep));
}

#[derive(Debug, Clone)]
enum Step {
    Put(u8, Vec<usize>),
    Commit,
    Merge,
    Search(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..200, proptest::collection::vec(0usize..6, 1..4)).prop_map(|(n, w)| Step::Put(n, w)),
        2 => Just(Step::Commit),
        1 => Just(Step::Merge),
        3 => (0usize..4).prop_map(Step::Search),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever comes, is indexed again or merged, a search answers as
    /// made afresh.
    #[test]
    fn reused_or_not_a_search_answers_the_same(steps in proptest::collection::vec(step(), 1..60)) {
        let mut index = small_stable_index();
        let searches = searches();
        let mut seq = 0;
        for step in steps {
            match step {
                Step::Put(n, words) => put(&index, u128::from(n) + 1, &words),
                Step::Commit => {
                    seq += 1;
                    index.commit(seq).unwrap();
                }
                Step::Merge => {
                    let ids = index.index.searchable_segment_ids().unwrap();
                    if ids.len() > 1 {
                        index.writer().merge(&ids).wait().unwrap();
                    }
                    seq += 1;
                    index.commit(seq).unwrap();
                }
                Step::Search(i) => {
                    let q = &searches[i % searches.len()];
                    let found = index.search(q).unwrap();
                    prop_assert_eq!(found, afresh(&mut index, q));
                }
            }
        }
    }
}
