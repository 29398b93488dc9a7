//! Ingest throughput, side by side with the baseline `sha256sum` + `cp` +
//! `sync` on the same files, and SHA-256 speed next to `openssl speed`.
//!
//! Run with `make bench`; the figures replace the ingest section of
//! BENCHMARKS.md. Datasets: 1 GiB of 1 MiB files, 10,000 files of 4 KiB,
//! and a mix like scans (900 files of 100 KiB, 100 of 5 MiB).
//! Each path (CLI, HTTP, baseline) starts from a fresh data directory; the
//! source files are in the page cache for all of them alike. Then how soon
//! a deposit is found by search while 4 KiB texts come in batches (alone,
//! without writing BENCHMARKS.md: `COFFRE_BENCH_FRESH_ONLY=1`).

#[path = "support/cli.rs"]
mod cli;
#[allow(dead_code)] // its texts only, not the search benchmark's queries
#[path = "support/corpus.rs"]
mod corpus;
#[path = "support/dataset.rs"]
mod dataset;
#[path = "support/dovecot.rs"]
mod dovecot;
#[path = "support/in_process.rs"]
#[allow(dead_code)] // the median only: this benchmark serves its archives
mod in_process;
#[path = "support/report.rs"]
mod report;
#[path = "support/server.rs"]
mod server;

use cli::{coffre, run};
use dataset::{Dataset, make_dataset, make_dataset_of};
use in_process::median;
use server::{Served, batch_body, deposit_files, deposit_in_batches, fresh_archive, multipart, post_batch};

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Concurrent HTTP clients: a few, then enough to keep the server's group
/// commits busy.
const HTTP_CLIENTS: [usize; 2] = [4, 16];

/// Device flushes per deposit, amortised: of contents and metadata
/// documents, and of the journal.
#[derive(Clone, Copy)]
struct Flushes {
    blobs: f64,
    journal: f64,
}

/// `coffre_flushes_total` by store, from the server's metrics.
fn flushes_so_far(base: &str, token: &str) -> (f64, f64) {
    let text = ureq::get(&format!("{base}/metrics"))
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("metrics")
        .into_string()
        .expect("metrics text");
    let of = |store: &str| -> f64 {
        let prefix = format!("coffre_flushes_total{{store=\"{store}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(f64::NAN)
    };
    (of("blobs"), of("journal"))
}

/// What a path leaves on the disk, removed only once every path has run:
/// on a file system without a journal (ext4 here), each new file's inode
/// is looked for past those freed in the last minutes, so a path run just
/// after another's files were removed pays for that removal.
fn leave(path: PathBuf) {
    LEFT.lock().unwrap_or_else(|p| p.into_inner()).push(path);
}

static LEFT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// What the store's layout costs by itself on this disk, with nothing of
/// an archive: each file and a metadata document like coffre's (111
/// bytes) hashed by as many threads as there are cores; those of at most
/// 64 KiB appended to one pack, the larger written into a staging folder;
/// one flush of the file system; the large ones renamed to
/// `sha256/ab/cd/<digest>` (their folders made as needed) and the small
/// ones' index entries written; one flush more.
fn layout_floor(ds: &Dataset, root: &Path) -> Duration {
    use sha2::Digest as _;
    use std::io::Write as _;
    use std::os::fd::AsRawFd as _;
    const PACKED_MAX: usize = 64 * 1024;
    let store = root.join(format!("layout-{}", ds.name));
    let staging = store.join("tmp");
    std::fs::create_dir_all(&staging).expect("layout folder");
    std::fs::create_dir_all(store.join("packs")).expect("packs folder");
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let start = Instant::now();
    // Each thread's large files staged, and its small blobs as pack entries
    // (header and bytes) with their index entries.
    type Written = (Vec<(PathBuf, String)>, Vec<u8>, Vec<u8>);
    let written: Vec<Written> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let staging = &staging;
                scope.spawn(move || {
                    let (mut staged, mut pack, mut index) = (Vec::new(), Vec::new(), Vec::new());
                    for (i, file) in ds.files.iter().enumerate().skip(t).step_by(threads) {
                        let bytes = std::fs::read(file).expect("a file");
                        let metadata = format!(
                            "{{\"v\":1,\"record\":\"01a242b3-2486-7620-830e-{i:012}\",\"title\":\"f{i:06}\",\"fields\":{{}},\"filenames\":[\"f{i:06}.bin\"]}}"
                        );
                        for (n, content) in [(0, bytes.as_slice()), (1, metadata.as_bytes())] {
                            let digest = sha2::Sha256::digest(content);
                            if content.len() <= PACKED_MAX {
                                pack.extend_from_slice(b"cpk1");
                                pack.extend_from_slice(&digest);
                                pack.extend_from_slice(&(content.len() as u32).to_le_bytes());
                                pack.extend_from_slice(content);
                                index.extend_from_slice(&[0u8; 25]);
                                index.extend_from_slice(&digest);
                                continue;
                            }
                            let path = staging.join(format!("{i}-{n}"));
                            std::fs::write(&path, content).expect("staged file");
                            staged.push((path, hex::encode(digest)));
                        }
                    }
                    (staged, pack, index)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a writer")).collect()
    });
    let mut pack = std::fs::File::create(store.join("packs/00000000.pack")).expect("pack");
    let mut index = std::fs::File::create(store.join("packs/index")).expect("index");
    for (_, entries, _) in &written {
        pack.write_all(entries).expect("pack written");
    }
    let folder = std::fs::File::open(&store).expect("layout folder");
    let syncfs = || {
        // SAFETY: `folder` is an open descriptor for the call's length.
        assert_eq!(unsafe { libc::syncfs(folder.as_raw_fd()) }, 0, "syncfs");
    };
    syncfs();
    for (staged, _, entries) in &written {
        for (path, digest) in staged {
            let dir = store.join("sha256").join(&digest[0..2]).join(&digest[2..4]);
            std::fs::create_dir_all(&dir).expect("fan-out folder");
            std::fs::rename(path, dir.join(digest)).expect("rename");
        }
        index.write_all(entries).expect("index written");
    }
    syncfs();
    let elapsed = start.elapsed();
    leave(store);
    elapsed
}

/// Runs of the baseline, the layout alone and the CLI, taken in turns.
const SIDE_BY_SIDE: usize = 3;

/// One path of deposits through a server, run on a dataset: its time and
/// flushes.
type ServerPath<'a> = Box<dyn Fn() -> (Duration, Flushes) + 'a>;

fn baseline(ds: &Dataset, root: &Path) -> Duration {
    let target = root.join(format!("baseline-{}", ds.name));
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(&target).expect("baseline folder");
    let script = format!(
        "cd '{}' && find . -type f -print0 | xargs -0 sha256sum > /dev/null && cp -r . '{}' && sync",
        ds.dir.display(),
        target.display()
    );
    let start = Instant::now();
    run(Command::new("sh").arg("-c").arg(script));
    let elapsed = start.elapsed();
    leave(target);
    elapsed
}

fn cli_ingest(ds: &Dataset, root: &Path) -> Duration {
    let (data, _) = fresh_archive(root, &format!("cli-{}", ds.name));
    let start = Instant::now();
    run(Command::new(coffre())
        .arg("--data")
        .arg(&data)
        .args(["ingest", "--node", "FIN-MAN"])
        .arg(&ds.dir));
    let elapsed = start.elapsed();
    leave(data);
    elapsed
}

/// `deposit`'s time on `server`, and the flushes per deposit it made for
/// `n` deposits.
fn with_flushes(server: &Served, token: &str, n: usize, deposit: impl FnOnce() -> Duration) -> (Duration, Flushes) {
    let (blobs, journal) = flushes_so_far(&server.base, token);
    let elapsed = deposit();
    let (blobs_after, journal_after) = flushes_so_far(&server.base, token);
    let n = n as f64;
    (
        elapsed,
        Flushes {
            blobs: (blobs_after - blobs) / n,
            journal: (journal_after - journal) / n,
        },
    )
}

/// Files a request on the batch line (`POST /api/v1/records/batch`),
/// as `coffre --server URL ingest` sends them.
const PER_REQUEST: usize = 32;

fn http_ingest(ds: &Dataset, root: &Path, clients: usize, per_request: usize) -> (Duration, Flushes) {
    let (data, token) = fresh_archive(root, &format!("http-{}-{clients}-{per_request}", ds.name));
    let server = Served::start(&data);
    let measured = with_flushes(&server, &token, ds.files.len(), || {
        if per_request == 1 {
            deposit_files(&server.base, &token, &ds.files, clients)
        } else {
            deposit_in_batches(&server.base, &token, &ds.files, clients, per_request)
        }
    });
    drop(server);
    leave(data);
    measured
}

/// `coffre ingest` as an operator runs it: a client of the running server
/// (`--server`), 32 files a request, its 8 jobs at once.
fn cli_through_server(ds: &Dataset, root: &Path) -> (Duration, Flushes) {
    let (data, token) = fresh_archive(root, &format!("cli-server-{}", ds.name));
    let server = Served::start(&data);
    let measured = with_flushes(&server, &token, ds.files.len(), || {
        let start = Instant::now();
        run(Command::new(coffre())
            .args(["--server", &server.base])
            .env("COFFRE_TOKEN", &token)
            .args(["ingest", "--node", "FIN-MAN"])
            .arg(&ds.dir));
        start.elapsed()
    });
    drop(server);
    leave(data);
    measured
}

/// Workers of the watched folder (its default).
const FOLDER_WORKERS: usize = 8;

/// A watched folder: the dataset's files linked into it at once (as a
/// scanner's share fills), timed until every one is deposited and moved to
/// `done/`.
fn folder_ingest(ds: &Dataset, root: &Path) -> (Duration, Flushes) {
    let (data, token) = fresh_archive(root, &format!("folder-{}", ds.name));
    run(Command::new(coffre()).arg("--data").arg(&data).args([
        "account",
        "create",
        "scanner",
        "--role",
        "agent",
        "--display-name",
        "Copieur",
        "--no-password",
    ]));
    let inbox = root.join(format!("inbox-{}", ds.name));
    let _ = std::fs::remove_dir_all(&inbox);
    std::fs::create_dir_all(&inbox).expect("inbox");
    let capture = root.join(format!("capture-{}.toml", ds.name));
    std::fs::write(
        &capture,
        format!(
            "[[folders]]\nname = \"bench\"\npath = {:?}\ndepositor = \"scanner\"\nnode = \"FIN-MAN\"\n\
             settle = \"100ms\"\npoll = \"50ms\"\nworkers = {FOLDER_WORKERS}\n",
            inbox.display().to_string()
        ),
    )
    .expect("capture file");
    let server = Served::start_with(&data, None, &["--capture", capture.to_str().expect("path")]);
    let measured = with_flushes(&server, &token, ds.files.len(), || {
        let start = Instant::now();
        for (i, file) in ds.files.iter().enumerate() {
            std::fs::hard_link(file, inbox.join(format!("{i:06}.bin"))).expect("link into the folder");
        }
        let done = inbox.join("done");
        while std::fs::read_dir(&done).map_or(0, |d| d.count()) < ds.files.len() {
            assert!(start.elapsed() < Duration::from_secs(1800), "the folder never emptied");
            std::thread::sleep(Duration::from_millis(20));
        }
        start.elapsed()
    });
    drop(server);
    leave(data);
    leave(inbox);
    measured
}

/// A mailbox (Debian's dovecot on loopback) holding one message per file
/// of the dataset, the file attached; the server is started with the
/// mailbox in its capture file (the attachments alone archived), and timed
/// from its start until the inbox is empty (every message archived and
/// moved).
fn mailbox_ingest(ds: &Dataset, root: &Path) -> (Duration, Flushes) {
    use base64::Engine as _;
    const USER: &str = "bench@mairie.test";
    let (data, token) = fresh_archive(root, &format!("mail-{}", ds.name));
    run(Command::new(coffre()).arg("--data").arg(&data).args([
        "account",
        "create",
        "courrier",
        "--role",
        "agent",
        "--display-name",
        "Courrier",
        "--no-password",
    ]));
    let mail = dovecot::Dovecot::start(USER, "bench", None);
    let mut session = mail.session();
    for (i, file) in ds.files.iter().enumerate() {
        let bytes = std::fs::read(file).expect("a file");
        let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let mut message = format!(
            "From: Fournisseur <factures@fournisseur.example>\r\nTo: <{USER}>\r\nSubject: Facture {i}\r\n\
             Date: Fri, 15 Mar 2024 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"SEP\"\r\n\r\n--SEP\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\nFacture {i} ci-jointe.\r\n--SEP\r\n\
             Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"facture-{i:06}.bin\"\r\n\r\n"
        );
        for line in encoded.as_bytes().chunks(76) {
            message.push_str(std::str::from_utf8(line).unwrap_or_default());
            message.push_str("\r\n");
        }
        message.push_str("--SEP--\r\n");
        session.append("INBOX", message.as_bytes()).finish().expect("deliver");
    }
    let _ = session.logout();
    std::fs::write(root.join("imap.secret"), "bench\n").expect("secret");
    let capture = root.join(format!("capture-mail-{}.toml", ds.name));
    std::fs::write(
        &capture,
        format!(
            "[[mailboxes]]\nname = \"bench\"\nserver = \"imap://127.0.0.1:{}\"\nuser = \"{USER}\"\n\
             password_file = \"imap.secret\"\ndepositor = \"courrier\"\nnode = \"FIN-MAN\"\n\
             keep = \"attachments\"\nmax_size = 67108864\npoll = \"1s\"\n",
            mail.port
        ),
    )
    .expect("capture file");
    let start = Instant::now();
    let server = Served::start_with(&data, None, &["--capture", capture.to_str().expect("path")]);
    let measured = with_flushes(&server, &token, ds.files.len(), || {
        while mail.count("INBOX") > 0 {
            assert!(start.elapsed() < Duration::from_secs(3600), "the mailbox never emptied");
            std::thread::sleep(Duration::from_millis(50));
        }
        start.elapsed()
    });
    drop(server);
    leave(data);
    measured
}

/// Documents of the freshness line, and how many a request.
const FRESH_DOCUMENTS: usize = 20_000;

/// The rate the issue asks deposits to be searchable within a second at:
/// the freshness lines are measured at it as well as as fast as deposits
/// go (where the index falls behind for as long as they outrun it).
const FRESH_RATE: f64 = 3000.0;

/// How long the freshness checker waits before it looks again for a
/// deposit it did not find.
const CHECK_PAUSE: Duration = Duration::from_millis(5);

/// The references among the hits of one search for any of `words` (as
/// written: a search that found them only by correcting a word counts
/// none).
fn found_among(agent: &ureq::Agent, base: &str, token: &str, words: &[&str]) -> std::collections::HashSet<String> {
    let answer = agent
        .get(&format!("{base}/api/v1/search"))
        .query("q", &words.join(" OR "))
        .query("limit", &words.len().to_string())
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("search");
    let results: serde_json::Value = serde_json::from_reader(answer.into_reader()).expect("json");
    if results["fuzzy"] != false {
        return Default::default();
    }
    results["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["reference"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// 4 KiB of pseudo-random bytes of their own (no text to extract).
fn fresh_bytes(k: usize) -> Vec<u8> {
    let mut state = 0x2545_F491_4F6C_DD1D ^ (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut bytes = Vec::with_capacity(4096);
    while bytes.len() < 4096 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes
}

/// 4 KiB documents, each named by a word of its own (its title) and, with
/// `texts`, a French text beginning with it (else bytes without text),
/// deposited through `POST /api/v1/records/batch` by `clients` clients,
/// `PER_REQUEST` a request; the last of each batch is looked for by four
/// searching clients from its acknowledgement until found. With a `rate`
/// (documents a second), the requests are sent on that schedule (one
/// that comes late is sent at once), else each client sends its next on
/// its last's answer. The deposits' time, and each delay.
fn searchable_under_batches(root: &Path, clients: usize, texts: bool, rate: Option<f64>) -> (Duration, Vec<Duration>) {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    let (data, token) = fresh_archive(root, if texts { "fresh-texts" } else { "fresh-bytes" });
    let server = Served::start(&data);
    let nonce = chrono::Utc::now().timestamp_millis();
    let marker = move |k: usize| format!("vif{nonce}n{k}");
    let batches: Vec<Vec<u8>> = (0..FRESH_DOCUMENTS)
        .step_by(PER_REQUEST)
        .map(|first| {
            batch_body((first..(first + PER_REQUEST).min(FRESH_DOCUMENTS)).map(|k| {
                let (content, name) = if texts {
                    (
                        corpus::text_of(&marker(k), k as u64 * 13, 4096).into_bytes(),
                        format!("{}.txt", marker(k)),
                    )
                } else {
                    (fresh_bytes(k), format!("{}.bin", marker(k)))
                };
                multipart("{\"node\":\"FIN-MAN\"}", &content, &name)
            }))
        })
        .collect();
    let pending: Arc<Mutex<VecDeque<(String, String, Instant)>>> = Arc::default();
    let delays: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let depositing = Arc::new(AtomicBool::new(true));
    // One checker looks for the oldest deposit not found yet, alone with
    // a word already found (so that a search that finds nothing new still
    // finds something, and never goes on to look for close words, a cost
    // that with four clients polling took a share of the cores the index
    // needs); found, it goes on to the next at once, else it tries again
    // a few milliseconds later. The index follows the journal's order, so
    // a deposit is rarely found before an older one, and then counts as
    // found with it: a delay may be late by a pause, never early.
    let checker = {
        let (pending, delays, depositing) = (Arc::clone(&pending), Arc::clone(&delays), Arc::clone(&depositing));
        let (base, token) = (server.base.clone(), token.clone());
        std::thread::spawn(move || {
            let agent = ureq::AgentBuilder::new().build();
            let mut anchor: Option<String> = None;
            loop {
                let oldest = pending.lock().unwrap_or_else(|p| p.into_inner()).front().cloned();
                let Some((marker, reference, acknowledged)) = oldest else {
                    if !depositing.load(Ordering::Acquire) {
                        break;
                    }
                    std::thread::sleep(CHECK_PAUSE);
                    continue;
                };
                let mut words = vec![marker.as_str()];
                words.extend(anchor.as_deref());
                if found_among(&agent, &base, &token, &words).contains(&reference) {
                    delays
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(acknowledged.elapsed());
                    pending.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
                    anchor.get_or_insert(marker);
                } else {
                    assert!(
                        acknowledged.elapsed() < Duration::from_secs(600),
                        "{marker} never found"
                    );
                    std::thread::sleep(CHECK_PAUSE);
                }
            }
        })
    };
    let batches = Arc::new(batches);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let depositors: Vec<_> = (0..clients)
        .map(|_| {
            let (batches, next, pending) = (Arc::clone(&batches), Arc::clone(&next), Arc::clone(&pending));
            let (base, token) = (server.base.clone(), token.clone());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().build();
                loop {
                    let b = next.fetch_add(1, Ordering::Relaxed);
                    let Some(body) = batches.get(b) else {
                        break;
                    };
                    let files = (FRESH_DOCUMENTS - b * PER_REQUEST).min(PER_REQUEST);
                    if let Some(rate) = rate {
                        let due = start + Duration::from_secs_f64((b * PER_REQUEST) as f64 / rate);
                        std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    }
                    let (acknowledged, told) = post_batch(&agent, &base, &token, body, files);
                    let results = told["results"].as_array().expect("results");
                    let last = b * PER_REQUEST + results.len() - 1;
                    let reference = results[results.len() - 1]["record"]["reference"]
                        .as_str()
                        .expect("deposited")
                        .to_owned();
                    pending.lock().unwrap_or_else(|p| p.into_inner()).push_back((
                        marker(last),
                        reference,
                        acknowledged,
                    ));
                }
            })
        })
        .collect();
    for d in depositors {
        d.join().expect("depositor");
    }
    let took = start.elapsed();
    depositing.store(false, Ordering::Release);
    checker.join().expect("checker");
    drop(server);
    leave(data);
    let mut all = std::mem::take(&mut *delays.lock().unwrap_or_else(|p| p.into_inner()));
    all.sort();
    (took, all)
}

/// The freshness table's lines (bytes, then texts), and the clients.
fn freshness_rows(root: &Path) -> (String, usize) {
    let clients = HTTP_CLIENTS[HTTP_CLIENTS.len() - 1];
    let mut rows = String::new();
    let paced = format!("sent at {FRESH_RATE:.0} a second");
    for (texts, rate, what) in [
        (
            false,
            None,
            "4 KiB without text, found by title, as fast as they go".to_owned(),
        ),
        (
            false,
            Some(FRESH_RATE),
            format!("4 KiB without text, found by title, {paced}"),
        ),
        (
            true,
            None,
            "4 KiB French texts, found by their word, as fast as they go".to_owned(),
        ),
        (
            true,
            Some(FRESH_RATE),
            format!("4 KiB French texts, found by their word, {paced}"),
        ),
    ]
    .into_iter()
    .enumerate()
    // `COFFRE_BENCH_FRESH_ROWS=3` (0 to 3, by commas): only those lines,
    // to profile one.
    .filter(|(i, _)| {
        std::env::var("COFFRE_BENCH_FRESH_ROWS").map_or(true, |rows| rows.split(',').any(|r| r.trim() == i.to_string()))
    })
    .map(|(_, row)| row)
    {
        let (took, delays) = searchable_under_batches(root, clients, texts, rate);
        let at = |p: f64| {
            let i = ((delays.len() as f64 - 1.0) * p).round() as usize;
            delays.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        let _ = writeln!(
            rows,
            "| {what} | {FRESH_DOCUMENTS} | {:.2} s | {:.0} files/s | {} | {:.0} ms | {:.0} ms | {:.0} ms |",
            took.as_secs_f64(),
            FRESH_DOCUMENTS as f64 / took.as_secs_f64(),
            delays.len(),
            at(0.5),
            at(0.99),
            at(1.0),
        );
    }
    (rows, clients)
}

fn sha2_speed() -> f64 {
    let buf = vec![0x5au8; 64 * 1024 * 1024];
    let rounds = 8;
    let start = Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(coffre::domain::hash::Sha256::of(std::hint::black_box(&buf)));
    }
    (rounds * buf.len()) as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn openssl_speed() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-evp", "sha256", "-bytes", "16384", "-seconds", "3"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The result line: "sha256   <k bytes/s for 16384-byte blocks>k"
    let line = text.lines().rev().find(|l| l.trim_start().starts_with("sha256"))?;
    let value = line.split_whitespace().last()?.trim_end_matches('k');
    value.parse::<f64>().ok().map(|k| k * 1000.0 / 1e6)
}

fn main() {
    // `cargo bench` passes flags such as --bench; there is nothing to filter.
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-work");
    std::fs::create_dir_all(&root).expect("bench folder");
    let sha_ni = cfg!(target_arch = "x86_64") && {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("sha")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    };
    let ours = sha2_speed();
    let openssl = openssl_speed();
    eprintln!("sha2: {ours:.0} MB/s, openssl: {openssl:?} MB/s, SHA-NI: {sha_ni}");

    if std::env::var_os("COFFRE_BENCH_FRESH_ONLY").is_some() {
        let (rows, _) = freshness_rows(&root);
        eprint!("{rows}");
        let _ = std::fs::remove_dir_all(&root);
        return;
    }
    let big = make_dataset(&root, "1MiBx1024", "1MiBx1024", 1024, 1 << 20);
    let small = make_dataset(&root, "4KiBx10000", "4KiBx10000", 10_000, 4096);
    // Like scans: nine files in ten of 100 KiB, one of 5 MiB.
    let scan_sizes: Vec<usize> = (0..1000)
        .map(|i| if i % 10 == 9 { 5 << 20 } else { 100 << 10 })
        .collect();
    let scans = make_dataset_of(&root, "scans", "scans: 900×100KiB + 100×5MiB", &scan_sizes);
    // Write the datasets out now, so that no measured step pays for them.
    run(&mut Command::new("sync"));
    let mut rows = String::new();
    for ds in [&big, &small, &scans] {
        let count = ds.files.len() as f64;
        let mb = ds.bytes as f64 / 1e6;
        // This disk's flush latency varies from one run to the next more
        // than either side does: the baseline, the layout and the CLI take
        // turns, SIDE_BY_SIDE times, and each line is its median.
        let (mut bases, mut layouts, mut clis) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..SIDE_BY_SIDE {
            bases.push(baseline(ds, &root));
            layouts.push(layout_floor(ds, &root));
            clis.push(cli_ingest(ds, &root));
        }
        eprintln!(
            "{}: baseline {bases:?}, layout alone {layouts:?}, cli {clis:?}",
            ds.name
        );
        let (layout, cli) = (median(layouts), median(clis));
        // The paths through a server, each once; on the scans, whose
        // line the issue holds to 0.8x the baseline's bytes a second, three
        // times in turn with the baseline like the CLI above, each line the
        // median of its three (its flushes those of that run).
        let clients_most = HTTP_CLIENTS[HTTP_CLIENTS.len() - 1];
        let root = root.as_path();
        let mut paths: Vec<(String, ServerPath<'_>)> = vec![(
            "coffre --server URL ingest (CLI as the server's client, 8 jobs, 32 files a request)".to_owned(),
            Box::new(|| cli_through_server(ds, root)),
        )];
        for clients in HTTP_CLIENTS {
            paths.push((
                format!("POST /api/v1/records (HTTP, {clients} clients, a file a request)"),
                Box::new(move || http_ingest(ds, root, clients, 1)),
            ));
        }
        paths.push((
            format!("POST /api/v1/records/batch (HTTP, {clients_most} clients, {PER_REQUEST} files a request)"),
            Box::new(move || http_ingest(ds, root, clients_most, PER_REQUEST)),
        ));
        paths.push((
            format!("watched folder (capture, {FOLDER_WORKERS} workers, up to 16 files a batch)"),
            Box::new(|| folder_ingest(ds, root)),
        ));
        paths.push((
            "mailbox over IMAP (capture, one message per file, attached)".to_owned(),
            Box::new(|| mailbox_ingest(ds, root)),
        ));
        let rounds = if std::ptr::eq(ds, &scans) { SIDE_BY_SIDE } else { 1 };
        let mut runs: Vec<Vec<(Duration, Flushes)>> = paths.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            if rounds > 1 {
                bases.push(baseline(ds, root));
            }
            for ((what, path), taken) in paths.iter().zip(runs.iter_mut()) {
                let (t, flushes) = path();
                eprintln!("{}: {what}, run {} {t:?}", ds.name, round + 1);
                taken.push((t, flushes));
            }
        }
        // The baseline's line and every ratio: the median of all its runs.
        let base = median(bases);
        let mut measured = vec![
            ("baseline: sha256sum + cp + sync".to_owned(), base, None),
            (
                "layout alone: file + metadata document packed (≤ 64 KiB) or staged, syncfs, indexed or renamed into sha256/ab/cd/, syncfs (no archive)"
                    .to_owned(),
                layout,
                None,
            ),
            (
                "coffre ingest (CLI, one process, 8 jobs, 32 files a batch)".to_owned(),
                cli,
                None,
            ),
        ];
        for ((what, _), mut taken) in paths.into_iter().zip(runs) {
            taken.sort_by_key(|(t, _)| *t);
            let (t, flushes) = taken.swap_remove(taken.len() / 2);
            measured.push((what, t, Some(flushes)));
        }
        for (what, t, flushes) in measured {
            let s = t.as_secs_f64();
            let flushes = flushes.map_or("–".to_owned(), |f| {
                format!("{:.2} + {:.2} = {:.2}", f.blobs, f.journal, f.blobs + f.journal)
            });
            let _ = writeln!(
                rows,
                "| {} | {what} | {s:.2} s | {:.1} MB/s | {:.0} files/s | {:.2} | {flushes} |",
                ds.name,
                mb / s,
                count / s,
                base.as_secs_f64() / s
            );
        }
    }
    let (fresh, clients) = freshness_rows(&root);
    for left in LEFT.lock().unwrap_or_else(|p| p.into_inner()).drain(..) {
        let _ = std::fs::remove_dir_all(left);
    }
    let _ = std::fs::remove_dir_all(&root);

    let section = format!(
        "<!-- ingest:begin -->\n\
         Machine: {machine}. Command: `make bench`. Date: {date}.\n\n\
         ### SHA-256\n\n\
         | implementation | MB/s |\n|---|---|\n\
         | `sha2` crate, as coffre calls it (64 MiB buffers) | {ours:.0} |\n\
         | `openssl speed -evp sha256 -bytes 16384` | {openssl} |\n\n\
         The CPU {sha_ni_text} the SHA extensions (SHA-NI); `sha2` detects them at run time \
         (its `cpufeatures` check) and its speed {verdict} OpenSSL's, which uses them.\n\n\
         ### Ingest\n\n\
         Every deposit is durable before it is acknowledged: content blob and metadata document \
         synced (a blob of at most 64 KiB appended to a pack, the pack synced, then indexed, the index synced; \
         a larger one a file of its own, synced and renamed, its directory synced), journal event synced; \
         deposits that come together share these flushes (for small blobs alone, one `fdatasync` of the pack \
         and one of its index for a batch; with larger files, one `syncfs` for the bytes of a batch of blobs, \
         one for their names; one `fdatasync` for a batch of events). A watched folder's files are \
         linked into it all at once, and timed until each is deposited and moved to `done/` (a file is \
         taken once its size has not changed for 100 ms and no program writes it; its content is looked \
         up first, so that nothing goes in twice). A mailbox holds one message per file, the file attached in \
         base64 (Debian's dovecot on loopback; the messages delivered before the server starts), and is \
         timed from the server's start until every message is archived (the attachment alone, looked up \
         first like a folder's file) and moved out of the inbox, one message after another. The baseline hashes and copies \
         the same files, then syncs once. The layout line writes what coffre's store writes for each deposit (the file \
         and its metadata document, appended to a pack and indexed when of at most 64 KiB, else staged, then renamed \
         to its digest's place in two levels of folders) with two flushes for the whole dataset and nothing else (no journal, catalog or index, no deposit waiting for its \
         acknowledgement): the floor of this layout on this disk. Every path's files stay on the disk until all have \
         run: this file system (ext4 without a journal) looks for each new inode past those freed in the last minutes, \
         so a path run just after another's files were removed would pay for that removal. The source files are synced before any step and sit in the page cache for all. Ratio = baseline time / coffre time (1.00 = as fast as the baseline). \
         Flushes per deposit (from the server's `coffre_flushes_total`): blobs + journal, amortised; \
         a deposit alone costs 2 + 1 (its content and its metadata document share one batch). This disk's flush latency varies from run to run: two runs of the same code differed by up to 2× on the 4 KiB lines, so the baseline, the layout line and the CLI on the data directory take turns three times and each is the median of its three; on the scans, the paths through a server then take turns with three more runs of the baseline, each the median of its three, the baseline the median of its six (elsewhere they run once).\n\n\
         | dataset | path | time | throughput | files/s | ratio to baseline | flushes per deposit |\n|---|---|---|---|---|---|---|\n{rows}\n\
         ### Searchable while deposits come\n\n\
         Documents of 4 KiB, each with a file name of its own (its title), deposited through \
         `POST /api/v1/records/batch` by {clients} clients, {PER_REQUEST} a request, into a fresh archive: bytes \
         without text, then French texts (the search benchmark's corpus) that begin with the same word as their \
         name. The last document of each request is looked for (`GET /api/v1/search`, found as written, not by \
         the tolerant retry) from the moment its request is acknowledged until found, by one more client that \
         looks for the oldest not found yet together with a word already found (so that a search finding \
         nothing new still finds something and never goes on to look for close words), again 5 ms after a miss, \
         and at once for the next after a find: the index follows the journal's order, so a delay may be late by \
         a pause, never early. Its searches run on the same cores as the deposits. Each kind is \
         deposited as fast as the clients go (each sends its next request on its last's answer), then on a \
         schedule of {FRESH_RATE:.0} documents a second (a request that comes late is sent at once): the issue's \
         rate, at which each deposit should be searchable within a second.\n\n\
         | documents | how many | deposits' time | files/s | looked for | found after, p50 | p99 | at most |\n\
         |---|---|---|---|---|---|---|---|\n{fresh}\
         <!-- ingest:end -->",
        machine = report::machine(),
        date = chrono::Utc::now().format("%Y-%m-%d"),
        openssl = openssl.map_or("not available".to_owned(), |v| format!("{v:.0}")),
        sha_ni_text = if sha_ni { "has" } else { "lacks" },
        verdict = match openssl {
            Some(o) if ours >= 0.7 * o => format!("({:.2}× OpenSSL) matches", ours / o),
            Some(o) => format!("({:.2}× OpenSSL) falls short of", ours / o),
            None => "cannot be compared with".to_owned(),
        },
    );
    report::write_section("ingest", "Ingest throughput", &section);
}
