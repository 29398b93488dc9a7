//! Search over HTTP as agents meet it: `GET /api/v1/search` (top 20 with
//! snippets, total, counts by node) from 8 concurrent clients, on archives
//! of 100,000 and 1,000,000 records deposited through the API; next to it,
//! in the same run, the floor of an HTTP round trip on the same server
//! (`GET /healthz`, 8 clients) and the index alone on the same index, in
//! process (8 threads); then how soon a deposit is found while deposits
//! keep coming; then the catalog and the index rebuilt from the journal
//! and the blobs, next to reading them, and the server's peak memory.
//!
//! The archives are filled through `POST /api/v1/records/batch` (32
//! documents a request) by a server run
//! under `eatmydata` when it is installed (`make bench` installs it): its
//! flushes are what the ingest benchmark measures, not what this one is
//! about. Every figure is then taken on a server started afresh, flushing
//! as it always does. Sizes: `COFFRE_BENCH_HTTP_SIZES` (default
//! 100000,1000000). The figures replace the section `search-http` of
//! BENCHMARKS.md.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/load.rs"]
mod load;
#[path = "support/report.rs"]
mod report;
#[path = "support/server.rs"]
mod server;

use chrono::Utc;
use coffre::domain::record::NodeCode;
use coffre::domain::search::{SearchQuery, SortOrder};
use coffre::store::TextIndex;
use coffre::store::index_tantivy::TantivyIndex;
use corpus::CASES;
use load::{
    CLIENTS, LOADERS, REQUESTS_PER_CLIENT, agent, clients, deposit, fill, ms, node_of, percentile, records_held,
    settle, total_found,
};
use server::{Served, finds, fresh_archive};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Deposits per second while freshness is measured, and for how long.
const FRESH_RATE: u64 = 50;
const FRESH_SECONDS: u64 = 20;

/// The query mix as URLs of `GET /api/v1/search` (top 20, snippets, facets).
fn search_urls(base: &str) -> Vec<String> {
    let agent = agent();
    CASES
        .iter()
        .map(|c| {
            let params = [("node", c.node.map(node_of)), ("from", c.from), ("to", c.to)];
            let request = agent
                .get(&format!("{base}/api/v1/search"))
                .query("limit", "20")
                .query("q", c.text);
            params
                .iter()
                .filter_map(|(name, value)| value.map(|v| (*name, v)))
                .fold(request, |r, (name, value)| r.query(name, value))
                .url()
                .to_owned()
        })
        .collect()
}

/// Latencies and throughput of `CLIENTS` clients each getting `urls` in
/// turn, `REQUESTS_PER_CLIENT` times in all.
fn hammer(urls: &[String], token: &str) -> (Vec<Duration>, f64) {
    // A warm-up round.
    let warm = agent();
    for url in urls {
        let _ = warm.get(url).set("Authorization", &format!("Bearer {token}")).call();
    }
    get_each(urls, token, false)
}

/// `CLIENTS` clients getting `urls`: each client from its own place in
/// turn, or, `once`, each URL by one client only.
fn get_each(urls: &[String], token: &str, once: bool) -> (Vec<Duration>, f64) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let auth = format!("Bearer {token}");
    clients(|| {
        let agent = agent();
        let (auth, next) = (auth.clone(), &next);
        move |i: usize| {
            let i = if once {
                next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            } else {
                i
            };
            let answer = agent
                .get(&urls[i % urls.len()])
                .set("Authorization", &auth)
                .call()
                .expect("request");
            std::hint::black_box(answer.into_string().expect("body"));
        }
    })
}

/// The same clients, each search made once (`corpus::distinct`): what a
/// search costs when nothing the index kept of earlier searches serves it.
fn hammer_distinct(base: &str, token: &str) -> (Vec<Duration>, f64) {
    let urls: Vec<String> = corpus::distinct(CLIENTS * REQUESTS_PER_CLIENT)
        .into_iter()
        .map(|(q, from)| {
            let request = agent()
                .get(&format!("{base}/api/v1/search"))
                .query("limit", "20")
                .query("q", &q);
            match from {
                Some(from) => request.query("from", &from),
                None => request,
            }
            .url()
            .to_owned()
        })
        .collect();
    get_each(&urls, token, true)
}

/// The server's count of large index segments a search reused and
/// searched (`coffre_search_large_segments_total`).
fn large_segments(base: &str, token: &str) -> (u64, u64) {
    let text = agent()
        .get(&format!("{base}/metrics"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("metrics")
        .into_string()
        .expect("metrics' text");
    let count = |from: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("coffre_search_large_segments_total{{from=\"{from}\"}} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or(0.0) as u64
    };
    (count("reused"), count("searched"))
}

/// The share of large segments reused between two counts, in percent.
fn reused_share(before: (u64, u64), after: (u64, u64)) -> f64 {
    let reused = after.0 - before.0;
    let searched = after.1 - before.1;
    100.0 * reused as f64 / (reused + searched).max(1) as f64
}

/// The same query mix on the archive's index, in process, from `CLIENTS`
/// threads (the server stopped).
fn index_alone(index_dir: &Path) -> (Vec<Duration>, f64) {
    let index = TantivyIndex::open(index_dir).expect("open the archive's index");
    let queries: Vec<SearchQuery> = CASES
        .iter()
        .map(|c| SearchQuery {
            limit: 20,
            node: c.node.map(|n| NodeCode::parse(node_of(n)).expect("node")),
            node_path: Vec::new(),
            from: c.from.and_then(|d| d.parse().ok()),
            to: c.to.and_then(|d| d.parse().ok()),
            sort: SortOrder::Relevance,
            readers: ["FIN-FAC", "FIN-MAN", "ADM-DEL", "ADM-ARR", "ADM-ART"]
                .iter()
                .map(|n| format!("node:{n}"))
                .collect(),
            ..SearchQuery::for_text(c.text)
        })
        .collect();
    for q in queries.iter() {
        let _ = index.search(q);
    }
    clients(|| {
        let (index, queries) = (&index, &queries);
        move |i: usize| {
            std::hint::black_box(index.search(&queries[i % queries.len()]).expect("search"));
        }
    })
}

/// While one client deposits `FRESH_RATE` documents a second, how long
/// after its acknowledgement each is found by a search for a word of its
/// own.
fn freshness(base: &str, token: &str, first: u64) -> Vec<Duration> {
    let (tx, rx) = mpsc::channel::<(String, String, Instant)>();
    let depositor = {
        let (base, token) = (base.to_owned(), token.to_owned());
        std::thread::spawn(move || {
            let agent = agent();
            let start = Instant::now();
            // Words no earlier run left in a kept archive.
            let nonce = Utc::now().timestamp_millis();
            for k in 0..FRESH_RATE * FRESH_SECONDS {
                let due = start + Duration::from_micros(k * 1_000_000 / FRESH_RATE);
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let marker = format!("fraicheur{nonce}q{k}");
                let reference = deposit(&agent, &base, &token, first + k, &marker);
                let _ = tx.send((marker, reference, Instant::now()));
            }
        })
    };
    let delays = Arc::new(Mutex::new(Vec::new()));
    let rx = Arc::new(Mutex::new(rx));
    let checkers: Vec<_> = (0..4)
        .map(|_| {
            let (rx, delays, base, token) = (Arc::clone(&rx), Arc::clone(&delays), base.to_owned(), token.to_owned());
            std::thread::spawn(move || {
                let agent = agent();
                loop {
                    let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok((marker, reference, acknowledged)) = next else {
                        break;
                    };
                    // Found as written (not a neighbour found by the
                    // tolerant retry): the deposit's own reference.
                    while !finds(&agent, &base, &token, &marker, &reference) {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    delays
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(acknowledged.elapsed());
                }
            })
        })
        .collect();
    depositor.join().expect("depositor");
    for c in checkers {
        c.join().expect("checker");
    }
    let mut all = std::mem::take(&mut *delays.lock().unwrap_or_else(|p| p.into_inner()));
    all.sort();
    all
}

/// The peak resident memory of a process (VmHWM), in MiB.
/// Reads every file under `roots` once; the time and the bytes.
fn read_everything(roots: &[std::path::PathBuf]) -> (Duration, u64) {
    let started = Instant::now();
    let mut bytes = 0;
    let mut folders: Vec<std::path::PathBuf> = roots.to_vec();
    let mut buf = vec![0u8; 1 << 20];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                folders.push(path);
            } else if let Ok(mut file) = std::fs::File::open(&path) {
                while let Ok(n) = std::io::Read::read(&mut file, &mut buf) {
                    if n == 0 {
                        break;
                    }
                    bytes += n as u64;
                }
            }
        }
    }
    (started.elapsed(), bytes)
}

fn peak_rss_mib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

/// What a server's resident set is made of, at its highest since the
/// last [`MemorySampler::take`], read from `/proc/PID/status` every 50 ms:
/// its own memory (`RssAnon`: heap, stacks) and the files it maps
/// (`RssFile`: the index's segments, pages of the system's cache that
/// the kernel takes back when memory is short). VmHWM counts both.
struct MemorySampler {
    peaks: Arc<Mutex<(u64, u64)>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MemorySampler {
    fn start(pid: u32) -> Self {
        let peaks = Arc::new(Mutex::new((0, 0)));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let (peaks, stop) = (Arc::clone(&peaks), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                    let kib = |name: &str| {
                        status
                            .lines()
                            .find(|l| l.starts_with(name))
                            .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                            .unwrap_or(0)
                    };
                    let (anon, file) = (kib("RssAnon:"), kib("RssFile:"));
                    if let Ok(mut peaks) = peaks.lock() {
                        *peaks = (peaks.0.max(anon), peaks.1.max(file));
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
            })
        };
        MemorySampler {
            peaks,
            stop,
            thread: Some(thread),
        }
    }

    /// The highest own memory and mapped files since the last call, in
    /// MiB; counting starts again.
    fn take(&self) -> (u64, u64) {
        let mut peaks = self.peaks.lock().expect("the sampler's peaks");
        let taken = (peaks.0 / 1024, peaks.1 / 1024);
        *peaks = (0, 0);
        taken
    }
}

impl Drop for MemorySampler {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs `coffre --data DATA ARGS` to its end (panics unless it succeeds)
/// and says how long it took and its peak resident memory in MiB, as
/// the kernel counted it for that process alone (`wait4`, which reaps it:
/// std's `wait` does not give its resources).
#[allow(clippy::zombie_processes)]
fn measured(data: &Path, args: &[&str]) -> (Duration, u64) {
    let started = Instant::now();
    let child = Command::new(cli::coffre())
        .arg("--data")
        .arg(data)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run coffre");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet waited for; the pointers
    // are to live locals.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid, "wait for coffre {args:?}");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "coffre {args:?} failed"
    );
    (started.elapsed(), usage.ru_maxrss as u64 / 1024)
}

fn main() {
    let sizes: Vec<u64> = std::env::var("COFFRE_BENCH_HTTP_SIZES")
        .unwrap_or_else(|_| "100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-work");
    std::fs::create_dir_all(&root).expect("bench folder");
    let wrapper = std::process::Command::new("eatmydata")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
        .then_some("eatmydata");
    // `COFFRE_BENCH_HTTP_DATA`, a folder, keeps the archive of each size
    // (`<folder>/<size>`, its token beside it) for the next run, which
    // fills only what is missing; without it, one archive grows from size
    // to size and is removed at the end.
    let kept = std::env::var_os("COFFRE_BENCH_HTTP_DATA").map(std::path::PathBuf::from);
    let growing = if kept.is_none() {
        Some(fresh_archive(&root, "search-http"))
    } else {
        None
    };
    let archive_for = |n: u64| -> (std::path::PathBuf, String) {
        if let Some((data, token)) = &growing {
            return (data.clone(), token.clone());
        }
        let folder = kept.clone().unwrap_or_else(|| root.clone());
        let dir = folder.join(n.to_string());
        if dir.join("catalog").exists() {
            let token = std::fs::read_to_string(dir.with_extension("token")).expect("the kept archive's token");
            return (dir, token.trim().to_owned());
        }
        std::fs::create_dir_all(&folder).expect("the folder for kept archives");
        let (data, token) = fresh_archive(&folder, &n.to_string());
        std::fs::write(dir.with_extension("token"), &token).expect("keep the token");
        (data, token)
    };
    let mut rows = String::new();
    let mut fresh_rows = String::new();
    let mut rebuild_rows = String::new();
    let mut check_rows = String::new();
    let mut metrics_rows = String::new();
    for &n in &sizes {
        let (data, token) = archive_for(n);
        {
            let loading = Served::start_under(&data, wrapper);
            let held = records_held(&agent(), &loading.base, &token);
            if held < n {
                let took = fill(&loading.base, &token, held, n);
                eprintln!("{n}: filled in {took:?}");
            }
        }
        let (floor, search, fresh, rss) = {
            let server = Served::start(&data);
            let sampler = MemorySampler::start(server.pid());
            let agent = agent();
            while total_found(&agent, &server.base, &token, "") < n {
                std::thread::sleep(Duration::from_millis(200));
            }
            // Nothing left from an earlier server (a fill stopped early).
            settle(&agent, &server.base, &token);
            let floor = hammer(&[format!("{}/healthz", server.base)], &token);
            let search = hammer(&search_urls(&server.base), &token);
            let rss_mix = peak_rss_mib(server.pid());
            let distinct = hammer_distinct(&server.base, &token);
            let rss = (peak_rss_mib(server.pid()), sampler.take());
            let fresh = freshness(&server.base, &token, 10_000_000 + n);
            // The peak over serving, then depositing while serving.
            let rss_ingesting = (peak_rss_mib(server.pid()), sampler.take());
            // `/metrics` last: its first reading folds the whole journal
            // into the indicators' ledgers, which the server then keeps.
            let started = Instant::now();
            let counted = large_segments(&server.base, &token);
            let first = started.elapsed();
            let started = Instant::now();
            large_segments(&server.base, &token);
            let again = started.elapsed();
            let metrics = (reused_share((0, 0), counted), first, again, peak_rss_mib(server.pid()));
            (floor, (search, distinct, rss_mix, metrics), fresh, (rss, rss_ingesting))
        };
        let (search, distinct, rss_mix, (share, metrics_first, metrics_again, rss_metrics)) = search;
        let _ = writeln!(
            metrics_rows,
            "| {n} | {share:.0} % | {:.1} s | {:.1} s | {rss_metrics} MiB |",
            metrics_first.as_secs_f64(),
            metrics_again.as_secs_f64()
        );
        let (rss, rss_ingesting) = rss;
        let alone = index_alone(&data.join("index"));
        // Both views rebuilt from the journal and the blobs, next to reading
        // every byte they are rebuilt from.
        let (read, bytes) = read_everything(&[data.join("journal"), data.join("blobs")]);
        let started = Instant::now();
        cli::run(Command::new(cli::coffre()).arg("--data").arg(&data).arg("rebuild"));
        let both_rebuilt = started.elapsed();
        std::fs::remove_dir_all(data.join("index")).expect("remove the index");
        let started = Instant::now();
        cli::run(Command::new(cli::coffre()).arg("--data").arg(&data).arg("reindex"));
        let index_rebuilt = started.elapsed();
        // What a fixity run and the full integrity check hold and take,
        // next to the archive opened alone (the fixity job's status).
        let (_, opened) = measured(&data, &["audit", "fixity", "--json"]);
        let (fixity, fixity_rss) = measured(&data, &["audit", "fixity", "run", "--rate", "100GB"]);
        let (verify, verify_rss) = measured(&data, &["audit", "verify"]);
        let _ = writeln!(
            check_rows,
            "| {n} | {opened} MiB | {:.0} s, {fixity_rss} MiB | {:.0} s, {verify_rss} MiB |",
            fixity.as_secs_f64(),
            verify.as_secs_f64(),
        );
        eprintln!(
            "{n}: opened {opened} MiB; fixity run {fixity:?} {fixity_rss} MiB; full check {verify:?} {verify_rss} MiB"
        );
        eprintln!(
            "{n}: read {bytes} bytes in {read:?}; catalog and index rebuilt in {both_rebuilt:?}, index alone in {index_rebuilt:?}; RSS {rss:?} then {rss_ingesting:?} MiB"
        );
        let resident =
            |(hwm, (own, mapped)): (u64, (u64, u64))| format!("{hwm} MiB (own {own} MiB, mapped files {mapped} MiB)");
        let _ = writeln!(
            rebuild_rows,
            "| {n} | {:.1} GB in {:.0} s | {:.0} s ({:.1}×) | {:.0} s ({:.1}×) | {} | {} |",
            bytes as f64 / 1e9,
            read.as_secs_f64(),
            both_rebuilt.as_secs_f64(),
            both_rebuilt.as_secs_f64() / read.as_secs_f64().max(1e-9),
            index_rebuilt.as_secs_f64(),
            index_rebuilt.as_secs_f64() / read.as_secs_f64().max(1e-9),
            resident(rss),
            resident(rss_ingesting),
        );
        eprintln!(
            "{n}: floor p50 {:?}; search p50 {:?} p99 {:?} ({:.0}/s); index alone p50 {:?} p99 {:?}; fresh p99 {:?}",
            percentile(&floor.0, 0.5),
            percentile(&search.0, 0.5),
            percentile(&search.0, 0.99),
            search.1,
            percentile(&alone.0, 0.5),
            percentile(&alone.0, 0.99),
            percentile(&fresh, 0.99)
        );
        let line = |what: &str, (lat, rate): &(Vec<Duration>, f64)| {
            format!(
                "| {n} | {what} | {:.2} ms | {:.2} ms | {:.0} |",
                ms(percentile(lat, 0.5)),
                ms(percentile(lat, 0.99)),
                rate
            )
        };
        let _ = writeln!(rows, "{}", line("`GET /healthz` (the HTTP floor)", &floor));
        let _ = writeln!(
            rows,
            "{} |",
            line(
                &format!("`GET /api/v1/search`, the mix (server peak RSS {rss_mix} MiB)"),
                &search
            )
        );
        let _ = writeln!(
            rows,
            "{}",
            line(
                &format!(
                    "`GET /api/v1/search`, each search made once (server peak RSS {} MiB)",
                    rss.0
                ),
                &distinct
            )
        );
        let _ = writeln!(rows, "{}", line("the index alone, in process, same index", &alone));
        let _ = writeln!(
            fresh_rows,
            "| {n} | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
            fresh.len(),
            ms(percentile(&fresh, 0.5)),
            ms(percentile(&fresh, 0.99)),
            ms(fresh.last().copied().unwrap_or_default())
        );
    }
    if let Some((data, _)) = &growing {
        let _ = std::fs::remove_dir_all(data);
    }
    let rows = rows
        .lines()
        .map(|l| l.trim_end_matches(" |").to_owned() + " |")
        .collect::<Vec<_>>()
        .join("\n");
    let section = format!(
        "<!-- search-http:begin -->\n\
         Command: `make bench` (`cargo bench --bench search_http`). Date: {date}. Same machine as above.\n\n\
         The synthetic corpus of the search benchmark, deposited through `POST /api/v1/records/batch` ({LOADERS} clients, 32 documents a request, \
         the filling server run under `eatmydata`), then served by a server started afresh. {CLIENTS} clients each \
         make {REQUESTS_PER_CLIENT} requests in turn over the query mix ({cases} queries: words, a phrase, an \
         exclusion, node and date filters), each answer the top 20 with snippets, the total and the counts by node. \
         The index keeps what a search found in each large segment (16,384 records or more) and reuses it for \
         the same search while that segment lives unchanged: the mix repeats its queries, so the same clients then \
         make {distinct_count} searches that all differ (two words of the corpus, from a year or not), each once, \
         what a search costs when nothing kept serves it. \
         Beside it, in the same run: `GET /healthz` from the same clients (what HTTP alone costs), and the \
         mix on the same index in process from {CLIENTS} threads (what the engine costs).\n\n\
         | records | what | p50 | p99 | requests/s |\n|---|---|---|---|---|\n{rows}\n\n\
         Freshness: one client deposits {FRESH_RATE} records a second for {FRESH_SECONDS} s, each with a word of \
         its own, while four others search for each word from the moment its deposit is acknowledged, every 10 ms, \
         until found.\n\n\
         | records | deposits | found after, p50 | p99 | at most |\n|---|---|---|---|---|\n{fresh_rows}\n\
         Then `GET /metrics` (what Prometheus reads), twice: the share of large index segments that the searches \
         above reused (`coffre_search_large_segments_total`), how long each reading took (the first folds the \
         journal into the indicators' ledgers, which the server keeps and follows), and the server's peak resident \
         memory after them.\n\n\
         | records | large segments reused | `GET /metrics`, first | again | server peak RSS after |\n\
         |---|---|---|---|---|\n{metrics_rows}\n\
         Rebuilt from the journal and the blobs, after the figures above: both views (`coffre rebuild`: the \
         catalog replayed on one thread, the index fed behind it on another), then the index alone (its folder \
         removed, then `coffre reindex`: every text extracted and indexed again), each next to \
         reading every file of the journal and of the blob store once (the baseline: what any rebuild must at \
         least read; ratio = rebuild / baseline). The server's peak resident memory (VmHWM) after serving the \
         searches above, and after the freshness run besides (depositing while serving); in brackets, sampled \
         every 50 ms during each (the distinct searches, then the freshness run), the highest of its own memory \
         (`RssAnon`: heap and stacks) and of the files it maps (`RssFile`: the index's segments, pages of the \
         system's cache that the kernel takes back when memory is short), which VmHWM counts together.\n\n\
         | records | baseline: read journal + blobs | catalog and index rebuilt | index alone rebuilt | peak RSS serving | … and depositing |\n\
         |---|---|---|---|---|---|\n{rebuild_rows}\n\
         Then, on the same data directory with no server: a fixity run (`coffre audit fixity run --rate 100GB`: \
         every blob in use re-hashed, the blobs in the page cache) and the full integrity check (`coffre audit \
         verify`: the journal's chain and seals, every blob re-hashed, the journal projected into a catalog of \
         the check's own and compared with the archive's), each with its time and its peak resident memory \
         (`wait4`), next to that of the archive opened alone (`coffre audit fixity --json`).\n\n\
         | records | archive opened, peak RSS | fixity run | full integrity check |\n\
         |---|---|---|---|\n{check_rows}\
         <!-- search-http:end -->",
        date = Utc::now().format("%Y-%m-%d"),
        cases = CASES.len(),
        distinct_count = CLIENTS * REQUESTS_PER_CLIENT,
    );
    report::write_section("search-http", "Search over HTTP", &section);
}
