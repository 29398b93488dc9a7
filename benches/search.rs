//! Search: indexing throughput, query latency, index size and memory,
//! side by side with PostgreSQL's French full-text search (`to_tsvector(
//! 'french', …)` with a GIN index) on the same synthetic corpus and queries.
//!
//! Run with `make bench` (which installs PostgreSQL); this starts its own
//! PostgreSQL cluster on a Unix socket, and writes the search section of
//! BENCHMARKS.md. Sizes: `COFFRE_BENCH_SEARCH_SIZES` (default 100000,1000000).

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/report.rs"]
mod report;

use corpus::{CASES, document};
use pg_cluster::Postgres;

use chrono::{NaiveDate, Utc};
use coffre::domain::record::{NodeCode, RecordId, Reference};
use coffre::domain::search::{IndexDocument, SearchQuery, SortOrder};
use coffre::store::TextIndex;
use coffre::store::index_tantivy::TantivyIndex;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Each query of the mix is run this many times (after one warm-up run).
const REPEATS: usize = 20;
/// Documents per index commit while loading.
const COMMIT_EVERY: usize = 50_000;
const PG_PORT: &str = "55433";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn dir_size(path: &Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Samples this process's resident memory every 50 ms; returns the peak (KiB).
struct RssPeak {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

impl RssPeak {
    fn start() -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(rss_kib()));
        let (s, p) = (Arc::clone(&stop), Arc::clone(&peak));
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        RssPeak {
            stop,
            peak,
            handle: Some(handle),
        }
    }
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed).max(rss_kib())
    }
}

struct Figures {
    load: Duration,
    size: u64,
    p50: Duration,
    p99: Duration,
}

fn bench_tantivy(root: &Path, n: u64, text_bytes: &mut u64) -> (Figures, u64, u64) {
    let dir = root.join(format!("tantivy-{n}"));
    let _ = std::fs::remove_dir_all(&dir);
    let index = TantivyIndex::open(&dir).expect("open index");
    let rss = RssPeak::start();
    let start = Instant::now();
    for i in 0..n {
        let d = document(i);
        *text_bytes += (d.title.len() + d.body.len()) as u64;
        let doc = IndexDocument {
            id: RecordId::new_at(Utc::now()),
            reference: Reference::from_naming(format!("{}-{}-{:06}", d.node, 2020, i)),
            title: d.title,
            node: NodeCode::parse(d.node).expect("node"),
            node_path: vec![NodeCode::parse(d.node).expect("node")],
            service: Some("Mairie".into()),
            document_type: None,
            date: d.date,
            media_type: "text/plain".into(),
            content: coffre::domain::hash::Sha256::of(d.body.as_bytes()),
            ingested_at: Utc::now(),
            text: d.body,
            extractor: "text".into(),
            extraction_error: None,
            extractor_version: 1,
            reader: "*".into(),
            fields: Vec::new(),
        };
        index.put(&doc).expect("put");
        if (i + 1) % COMMIT_EVERY as u64 == 0 {
            index.commit(i + 1).expect("commit");
        }
    }
    index.commit(n).expect("commit");
    let load = start.elapsed();
    let rss_indexing = rss.finish();
    let rss = RssPeak::start();
    let mut latencies = Vec::new();
    for case in CASES {
        let query = SearchQuery {
            text: case.text.into(),
            node: case.node.map(|n| NodeCode::parse(n).expect("node")),
            from: case.from.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            to: case.to.and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            limit: 20,
            offset: 0,
            sort: SortOrder::Relevance,
            node_path: Vec::new(),
            readers: vec!["*".into()],
            synonyms: Vec::new(),
            record_fields: Vec::new(),
            after: None,
        };
        let _ = index.search(&query).expect("warm-up");
        for _ in 0..REPEATS {
            // Each search made afresh, as PostgreSQL makes each: nothing
            // kept of the same search before (`TantivyIndex::forget_reused`).
            index.forget_reused();
            let t = Instant::now();
            let results = index.search(&query).expect("search");
            latencies.push(t.elapsed());
            std::hint::black_box(results);
        }
    }
    let rss_serving = rss.finish();
    latencies.sort();
    let size = dir_size(&dir);
    drop(index);
    let _ = std::fs::remove_dir_all(&dir);
    (
        Figures {
            load,
            size,
            p50: percentile(&latencies, 0.5),
            p99: percentile(&latencies, 0.99),
        },
        rss_indexing,
        rss_serving,
    )
}

fn bench_postgres(pg: &Postgres, n: u64) -> Option<Figures> {
    let mut client = pg.client()?;
    client
        .batch_execute(
            "DROP TABLE IF EXISTS docs;
             CREATE TABLE docs (id bigint, node text, date date, title text, body text,
               tsv tsvector GENERATED ALWAYS AS (to_tsvector('french', title || ' ' || body)) STORED);",
        )
        .ok()?;
    let start = Instant::now();
    {
        let mut writer = client
            .copy_in("COPY docs (id, node, date, title, body) FROM STDIN")
            .ok()?;
        let mut buf = String::with_capacity(1 << 20);
        for i in 0..n {
            let d = document(i);
            let clean = |s: &str| s.replace(['\t', '\n', '\\'], " ");
            let _ = writeln!(
                buf,
                "{i}\t{}\t{}\t{}\t{}",
                d.node,
                d.date,
                clean(&d.title),
                clean(&d.body)
            );
            if buf.len() > (1 << 20) {
                std::io::Write::write_all(&mut writer, buf.as_bytes()).ok()?;
                buf.clear();
            }
        }
        std::io::Write::write_all(&mut writer, buf.as_bytes()).ok()?;
        writer.finish().ok()?;
    }
    client
        .batch_execute(
            "CREATE INDEX docs_tsv ON docs USING gin (tsv); CREATE INDEX docs_node ON docs (node); ANALYZE docs;",
        )
        .ok()?;
    let load = start.elapsed();
    let size: i64 = client
        .query_one("SELECT pg_total_relation_size('docs')", &[])
        .ok()?
        .get(0);
    let top = client
        .prepare(
            "WITH q AS (SELECT websearch_to_tsquery('french', $1) AS q)
             SELECT id, title, ts_headline('french', body, q.q, 'MaxWords=30, MinWords=10') FROM (
               SELECT id, title, body, ts_rank(tsv, q.q) AS rank FROM docs, q
               WHERE tsv @@ q.q AND ($2::text IS NULL OR node = $2) AND ($3::text IS NULL OR date >= $3::text::date) AND ($4::text IS NULL OR date <= $4::text::date)
               ORDER BY rank DESC LIMIT 20) hits, q",
        )
        .ok()?;
    let facets = client
        .prepare(
            "SELECT node, count(*) FROM docs WHERE tsv @@ websearch_to_tsquery('french', $1)
               AND ($2::text IS NULL OR node = $2) AND ($3::text IS NULL OR date >= $3::text::date) AND ($4::text IS NULL OR date <= $4::text::date)
             GROUP BY node",
        )
        .ok()?;
    let mut latencies = Vec::new();
    for case in CASES {
        let (from, to) = (case.from, case.to);
        let run = |client: &mut postgres::Client| -> Option<()> {
            let hits = client.query(&top, &[&case.text, &case.node, &from, &to]).ok()?;
            let counts = client.query(&facets, &[&case.text, &case.node, &from, &to]).ok()?;
            std::hint::black_box((hits, counts));
            Some(())
        };
        run(&mut client)?;
        for _ in 0..REPEATS {
            let t = Instant::now();
            run(&mut client)?;
            latencies.push(t.elapsed());
        }
    }
    latencies.sort();
    client.batch_execute("DROP TABLE docs").ok()?;
    Some(Figures {
        load,
        size: size as u64,
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    })
}

/// One line of the results table.
fn row(rows: &mut String, n: u64, engine: &str, f: &Figures, text_mb: f64, memory: &str) {
    let seconds = f.load.as_secs_f64();
    let _ = writeln!(
        rows,
        "| {n} | {engine} | {:.0} docs/s, {:.1} MB/s | {:.0} MB | {:.2} ms | {:.2} ms | {memory} |",
        n as f64 / seconds,
        text_mb / seconds,
        f.size as f64 / 1e6,
        ms(f.p50),
        ms(f.p99)
    );
}

fn main() {
    let sizes: Vec<u64> = std::env::var("COFFRE_BENCH_SEARCH_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let root = std::env::temp_dir().join(format!("coffre-bench-search-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("bench folder");
    let pg = Postgres::start(&root, PG_PORT);
    if pg.is_none() {
        eprintln!("PostgreSQL could not be started (is the postgresql package installed?); its columns stay empty");
    }
    let mut rows = String::new();
    let mut average_text = 0u64;
    for &n in &sizes {
        let mut text_bytes = 0u64;
        let (t, rss_indexing, rss_serving) = bench_tantivy(&root, n, &mut text_bytes);
        eprintln!("{n}: tantivy loaded in {:?}, p50 {:?}, p99 {:?}", t.load, t.p50, t.p99);
        let p = pg.as_ref().and_then(|pg| bench_postgres(pg, n));
        if let Some(p) = &p {
            eprintln!("{n}: postgres loaded in {:?}, p50 {:?}, p99 {:?}", p.load, p.p50, p.p99);
        }
        let mb = text_bytes as f64 / 1e6;
        average_text = text_bytes / n.max(1);
        row(
            &mut rows,
            n,
            "coffre (tantivy)",
            &t,
            mb,
            &format!("{} MiB / {} MiB", rss_indexing / 1024, rss_serving / 1024),
        );
        match p {
            Some(p) => {
                row(&mut rows, n, "PostgreSQL (GIN, french)", &p, mb, "(separate server)");
                let _ = writeln!(
                    rows,
                    "| {n} | ratio PostgreSQL / coffre | {:.2}× load time | {:.2}× size | {:.2}× p50 | {:.2}× p99 | |",
                    p.load.as_secs_f64() / t.load.as_secs_f64(),
                    p.size as f64 / t.size.max(1) as f64,
                    p.p50.as_secs_f64() / t.p50.as_secs_f64().max(1e-9),
                    p.p99.as_secs_f64() / t.p99.as_secs_f64().max(1e-9)
                );
            }
            None => {
                let _ = writeln!(rows, "| {n} | PostgreSQL | not run | | | | |");
            }
        }
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&root);
    let section = format!(
        "<!-- search:begin -->\n\
         Command: `make bench` (`cargo bench --bench search`). Date: {date}. Same machine as above.\n\n\
         A synthetic French corpus (invoices, deliberations, letters, mandates, orders; {average_text} bytes of text \
         each on average) is loaded into coffre's index (through its `TextIndex` adapter, commits every {COMMIT_EVERY} \
         documents) and into PostgreSQL {pg} (`to_tsvector('french', …)` in a stored generated column, GIN index \
         built after COPY, fsync off). The query mix has {cases} queries (words, a phrase, an exclusion, node and \
         date filters), each run {REPEATS} times after a warm-up; a query in both engines returns the top 20 by \
         relevance with a highlighted snippet, the total and the counts by node. Memory is coffre's resident set, \
         peak while indexing / while serving the queries.\n\n\
         | documents | engine | indexing | size on disk | p50 | p99 | peak RSS |\n|---|---|---|---|---|---|---|\n{rows}\
         <!-- search:end -->",
        date = Utc::now().format("%Y-%m-%d"),
        pg = Command::new("psql")
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout)
                .trim()
                .replace("psql (PostgreSQL) ", ""))
            .unwrap_or_default(),
        cases = CASES.len(),
    );
    report::write_section("search", "Search", &section);
}
