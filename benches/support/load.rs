//! Load for the HTTP benchmarks: archives filled through the API with the
//! synthetic corpus, and clients that time requests.

use crate::corpus::document;
use crate::server::{batch_body, multipart, post_batch};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent clients measured.
pub const CLIENTS: usize = 8;
/// Requests each client makes (the mix over and over).
pub const REQUESTS_PER_CLIENT: usize = 300;
/// Concurrent depositing clients while filling an archive.
pub const LOADERS: usize = 4;

pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(600)).build()
}

/// The corpus's nodes as the default plan has them.
pub fn node_of(code: &str) -> &str {
    match code {
        "ADM-COU" => "ADM-ART",
        other => other,
    }
}

/// Document `i` of the corpus as the parts of a deposit (its metadata and
/// its file), `extra` appended to its text.
fn parts(i: u64, extra: &str) -> Vec<u8> {
    let d = document(i);
    let metadata = serde_json::json!({
        "node": node_of(d.node),
        "date": d.date.to_string(),
        "title": d.title,
    })
    .to_string();
    let text = format!("{} {extra}", d.body);
    multipart(&metadata, text.as_bytes(), &format!("doc-{i}.txt"))
}

/// Deposits documents `range` of the corpus in one `POST
/// /api/v1/records/batch`.
fn deposit_batch(agent: &ureq::Agent, base: &str, token: &str, range: std::ops::Range<u64>) {
    let count = (range.end - range.start) as usize;
    let body = batch_body(range.map(|i| parts(i, "")));
    post_batch(agent, base, token, &body, count);
}

#[allow(dead_code)] // the search benchmark's freshness deposits one at a time
pub fn deposit(agent: &ureq::Agent, base: &str, token: &str, i: u64, extra: &str) -> String {
    let body = parts(i, extra);
    let answer = agent
        .post(&format!("{base}/api/v1/records"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "multipart/form-data; boundary=bench-boundary")
        .send_bytes(&body)
        .expect("deposit");
    assert_eq!(answer.status(), 201);
    let record: serde_json::Value = serde_json::from_str(&answer.into_string().expect("answer")).expect("json");
    record["reference"].as_str().unwrap_or_default().to_owned()
}

/// Records the archive holds (its catalog, not its index: an index being
/// rebuilt would say fewer).
pub fn records_held(agent: &ureq::Agent, base: &str, token: &str) -> u64 {
    stats(agent, base, token)["records"].as_u64().unwrap_or(0)
}

/// The server's indicators (`GET /api/v1/stats`).
pub fn stats(agent: &ureq::Agent, base: &str, token: &str) -> serde_json::Value {
    let answer = agent
        .get(&format!("{base}/api/v1/stats"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("stats");
    serde_json::from_str(&answer.into_string().expect("answer")).expect("json")
}

pub fn total_found(agent: &ureq::Agent, base: &str, token: &str, q: &str) -> u64 {
    let answer = agent
        .get(&format!("{base}/api/v1/search"))
        .query("q", q)
        .query("limit", "1")
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("search");
    let results: serde_json::Value = serde_json::from_str(&answer.into_string().expect("answer")).expect("json");
    results["total"].as_u64().unwrap_or(0)
}

/// Documents a request while filling an archive.
const FILL_BATCH: u64 = 32;

/// Fills the archive with documents `from..to`, `LOADERS` clients at a
/// time, `FILL_BATCH` a request (`POST /api/v1/records/batch`), and waits
/// until the index holds them all.
pub fn fill(base: &str, token: &str, from: u64, to: u64) -> Duration {
    let next = Arc::new(AtomicU64::new(from));
    let start = Instant::now();
    let loaders: Vec<_> = (0..LOADERS)
        .map(|_| {
            let (next, base, token) = (Arc::clone(&next), base.to_owned(), token.to_owned());
            std::thread::spawn(move || {
                let agent = agent();
                loop {
                    let i = next.fetch_add(FILL_BATCH, Ordering::Relaxed);
                    if i >= to {
                        break;
                    }
                    deposit_batch(&agent, &base, &token, i..(i + FILL_BATCH).min(to));
                    if (i / FILL_BATCH).is_multiple_of(50_000 / FILL_BATCH) && i > from {
                        eprintln!("  {i} deposited after {:?}", start.elapsed());
                    }
                }
            })
        })
        .collect();
    for l in loaders {
        l.join().expect("loader");
    }
    let agent = agent();
    while total_found(&agent, base, token, "") < to {
        std::thread::sleep(Duration::from_millis(200));
    }
    settle(&agent, base, token);
    start.elapsed()
}

/// Waits until the server has nothing left behind its deposits: every
/// event indexed, every record indexed looked at by the reader (invoices
/// read). A server stopped before then would leave the next one, the one
/// measured, reading invoices at its start. `token` is an admin's.
pub fn settle(agent: &ureq::Agent, base: &str, token: &str) {
    let gauge = |text: &str, name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("{name} is not in /metrics"))
    };
    loop {
        let answer = agent
            .get(&format!("{base}/metrics"))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .expect("metrics");
        let text = answer.into_string().expect("metrics text");
        if gauge(&text, "coffre_index_lag_events") == 0.0 && gauge(&text, "coffre_reading_waiting_records") == 0.0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Latencies and throughput of `CLIENTS` threads, each making
/// `REQUESTS_PER_CLIENT` requests with its own `request` (given the
/// request's number; client `c` starts at `c`).
pub fn clients<F, R>(make: F) -> (Vec<Duration>, f64)
where
    F: Fn() -> R + Sync,
    R: FnMut(usize),
{
    let start = Instant::now();
    let mut all: Vec<Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let make = &make;
                scope.spawn(move || {
                    let mut request = make();
                    (0..REQUESTS_PER_CLIENT)
                        .map(|r| {
                            let t = Instant::now();
                            request(c + r);
                            t.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().expect("client")).collect()
    });
    let elapsed = start.elapsed();
    all.sort();
    let rate = all.len() as f64 / elapsed.as_secs_f64();
    (all, rate)
}
