//! The index's work under a stream of deposits: 20,000 French texts of
//! 4 KiB (the search benchmark's corpus, one document after the other),
//! committed in rounds of 1,000 as the server's indexer does while
//! deposits come faster than it takes them, through coffre's index (French
//! stems, folded words, stored text, facets, fields) and, side by side in
//! the same run, through a bare tantivy index of the same texts (one
//! stored text field, tantivy's default analysis, writer and merges): the
//! peer. Each takes its turn three times; the figures are medians.
//!
//! Run with `cargo bench --bench index_rounds` (part of `make bench`);
//! writes the index rounds section of BENCHMARKS.md.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/corpus.rs"]
#[allow(dead_code)] // the queries are the search benchmarks'
mod corpus;
#[path = "support/in_process.rs"]
#[allow(dead_code)] // the median only: this benchmark opens no archive
mod in_process;
#[path = "support/report.rs"]
mod report;

use coffre::domain::record::{NodeCode, RecordId, Reference};
use coffre::domain::search::IndexDocument;
use coffre::store::TextIndex;
use coffre::store::index_tantivy::TantivyIndex;
use in_process::median;
use std::time::{Duration, Instant};

const DOCUMENTS: usize = 20_000;
const ROUND: usize = 1_000;
const TURNS: usize = 3;

/// Processor time this process has used (user and system).
fn cpu() -> Duration {
    // SAFETY: getrusage fills the structure it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// Wall and processor time of indexing every document in rounds, the
/// index dropped (its writer's threads ended) before the clocks stop.
fn measured(index_all: impl FnOnce()) -> (Duration, Duration) {
    let (wall, processor) = (Instant::now(), cpu());
    index_all();
    (wall.elapsed(), cpu() - processor)
}

fn coffre_index(documents: &[IndexDocument]) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    measured(|| {
        let index = TantivyIndex::open(dir.path()).expect("index");
        for (round, some) in documents.chunks(ROUND).enumerate() {
            for document in some {
                index.add(document).expect("add");
            }
            index.commit(round as u64 + 1).expect("commit");
        }
    })
}

fn bare_tantivy(texts: &[String]) -> (Duration, Duration) {
    let dir = tempfile::tempdir().expect("temp dir");
    measured(|| {
        let mut schema = tantivy::schema::Schema::builder();
        let field = schema.add_text_field("text", tantivy::schema::TEXT | tantivy::schema::STORED);
        let index = tantivy::Index::create_in_dir(dir.path(), schema.build()).expect("index");
        let mut writer: tantivy::IndexWriter = index.writer(64 * 1024 * 1024).expect("writer");
        for some in texts.chunks(ROUND) {
            for text in some {
                writer.add_document(tantivy::doc!(field => text.as_str())).expect("add");
            }
            writer.commit().expect("commit");
        }
    })
}

fn main() {
    let texts: Vec<String> = (0..DOCUMENTS)
        .map(|k| corpus::text_of(&format!("vif{k}n"), k as u64 * 13, 4096))
        .collect();
    let node = NodeCode::parse("FIN-MAN").expect("node");
    let documents: Vec<IndexDocument> = texts
        .iter()
        .enumerate()
        .map(|(k, text)| IndexDocument {
            id: RecordId::new_at(chrono::Utc::now()),
            reference: Reference::from_naming(format!("FIN-MAN-2024-{k:06}")),
            title: format!("vif{k}n.txt"),
            node: node.clone(),
            node_path: vec![NodeCode::parse("FIN").expect("node"), node.clone()],
            service: Some("Direction des finances".into()),
            document_type: Some("Mandat".into()),
            date: chrono::NaiveDate::from_ymd_opt(2024, 3, 15).expect("date"),
            media_type: "text/plain".into(),
            content: coffre::domain::hash::Sha256::of(text.as_bytes()),
            ingested_at: chrono::Utc::now(),
            text: text.clone(),
            extractor: "text".into(),
            extraction_error: None,
            extractor_version: 1,
            reader: "*".into(),
            fields: Vec::new(),
        })
        .collect();
    let (mut ours, mut peer) = (Vec::new(), Vec::new());
    for _ in 0..TURNS {
        peer.push(bare_tantivy(&texts));
        ours.push(coffre_index(&documents));
    }
    let line = |name: &str, runs: &[(Duration, Duration)], against: Option<Duration>| {
        let wall = median(runs.iter().map(|r| r.0).collect());
        let processor = median(runs.iter().map(|r| r.1).collect());
        let per_round = processor.as_secs_f64() * 1000.0 / (DOCUMENTS / ROUND) as f64;
        let ratio = against.map_or("1".to_owned(), |a| {
            format!("{:.2}", processor.as_secs_f64() / a.as_secs_f64())
        });
        (
            processor,
            format!(
                "| {name} | {DOCUMENTS} | {:.2} s | {:.0} | {per_round:.0} ms | {ratio} |\n",
                wall.as_secs_f64(),
                DOCUMENTS as f64 / wall.as_secs_f64()
            ),
        )
    };
    let (peer_cpu, peer_line) = line("bare tantivy (peer)", &peer, None);
    let (_, our_line) = line("coffre's index", &ours, Some(peer_cpu));
    let section = format!(
        "<!-- index_rounds:begin -->\n\
         Measured {date} on {machine}, `cargo bench --bench index_rounds`: {DOCUMENTS} French texts of 4 KiB \
         (the search benchmark's corpus) indexed in rounds of {ROUND}, each round committed, as the server's \
         indexer does while deposits outrun it; the bare tantivy index takes the same texts in one stored field \
         with tantivy's default analysis, writer and merge policy. Medians of {TURNS} runs taken in turns; \
         processor time is the whole process's (analysis, segments, merges, stored text), the writer's threads \
         ended.\n\n\
         | index | documents | wall | documents/s | processor time a round of {ROUND} | ratio to the peer |\n\
         |---|---|---|---|---|---|\n{peer_line}{our_line}\
         <!-- index_rounds:end -->",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = report::processor(),
    );
    report::write_section("index_rounds", "Indexing rounds (French texts)", &section);
}
