//! A `coffre serve` process for a benchmark: a fresh data directory, the
//! server started on a loopback port, stopped on drop.

use crate::cli::{coffre, run};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Creates a data directory at `root/name` with `coffre init`; the
/// directory and the administrator's token it prints.
pub fn fresh_archive(root: &Path, name: &str) -> (PathBuf, String) {
    let data = root.join(name);
    let _ = std::fs::remove_dir_all(&data);
    let out = run(Command::new(coffre()).arg("--data").arg(&data).arg("init"));
    (data, out.lines().last().unwrap_or_default().trim().to_owned())
}

/// A running server.
pub struct Served {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Served {
    /// Serves `data` on a free loopback port; waits until it listens.
    #[allow(dead_code)] // not every benchmark serves plainly
    pub fn start(data: &Path) -> Served {
        Served::start_under(data, None)
    }

    /// Serves `data`, run by `wrapper` (such as `eatmydata`) when given.
    #[allow(dead_code)] // not every benchmark serves under a wrapper
    pub fn start_under(data: &Path, wrapper: Option<&str>) -> Served {
        Served::start_with(data, wrapper, &[])
    }

    /// Serves `data` with more arguments (`--copy DIR`), run by `wrapper`
    /// when given.
    pub fn start_with(data: &Path, wrapper: Option<&str>, extra: &[&str]) -> Served {
        Self::start_with_env(data, wrapper, extra, &[])
    }

    /// As [`Served::start_with`], with these environment variables besides.
    pub fn start_with_env(data: &Path, wrapper: Option<&str>, extra: &[&str], env: &[(String, String)]) -> Served {
        let mut command = match wrapper {
            Some(w) => {
                let mut c = Command::new(w);
                c.arg(coffre());
                c
            }
            None => Command::new(coffre()),
        };
        let mut child = command
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(server_log())
            .spawn()
            .expect("start server");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("coffre : en service sur ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let base = rx.recv_timeout(Duration::from_secs(600)).expect("server listening");
        Served { child, base }
    }

    /// The server's process id.
    #[allow(dead_code)] // not every benchmark reads the server's memory
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A multipart body with a `metadata` part (JSON) and a `file` part, for
/// `POST /api/v1/records`, with the boundary `bench-boundary`.
pub fn multipart(metadata: &str, content: &[u8], filename: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len() + 512);
    body.extend_from_slice(
        format!("--bench-boundary\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{metadata}\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(
        format!("--bench-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--bench-boundary--\r\n");
    body
}

/// The closing delimiter of a body that `multipart` makes.
const CLOSING: &[u8] = b"--bench-boundary--\r\n";

/// The body of a `POST /api/v1/records/batch` of these deposits, each as
/// `multipart` makes it (its parts, then the closing delimiter, once).
#[allow(dead_code)] // not every benchmark deposits in batches
pub fn batch_body(deposits: impl IntoIterator<Item = Vec<u8>>) -> Vec<u8> {
    let mut body = Vec::new();
    for one in deposits {
        body.extend_from_slice(one.strip_suffix(CLOSING).unwrap_or(&one));
    }
    body.extend_from_slice(CLOSING);
    body
}

/// Sends a batch that `batch_body` made; when its answer came (before its
/// body was read), and the answer, every file of it deposited.
#[allow(dead_code)] // not every benchmark deposits in batches
pub fn post_batch(
    agent: &ureq::Agent,
    base: &str,
    token: &str,
    body: &[u8],
    files: usize,
) -> (std::time::Instant, serde_json::Value) {
    let answer = agent
        .post(&format!("{base}/api/v1/records/batch"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "multipart/form-data; boundary=bench-boundary")
        .send_bytes(body)
        .expect("upload");
    let answered = std::time::Instant::now();
    assert_eq!(answer.status(), 200);
    let told: serde_json::Value = serde_json::from_reader(answer.into_reader()).expect("batch answer");
    assert_eq!(told["deposited"].as_u64(), Some(files as u64), "{told}");
    (answered, told)
}

/// Whether a search for `word` finds the record `reference` as written
/// (not a neighbour found by the tolerant retry).
#[allow(dead_code)] // not every benchmark looks for its deposits
pub fn finds(agent: &ureq::Agent, base: &str, token: &str, word: &str, reference: &str) -> bool {
    let answer = agent
        .get(&format!("{base}/api/v1/search"))
        .query("q", word)
        .set("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("search");
    let results: serde_json::Value = serde_json::from_reader(answer.into_reader()).expect("json");
    results["fuzzy"] == false
        && results["hits"]
            .as_array()
            .is_some_and(|hits| hits.iter().any(|h| h["reference"] == reference))
}

/// Deposits every file of `files` under FIN-MAN through `POST
/// /api/v1/records`, `clients` at a time; the time it took.
#[allow(dead_code)] // not every benchmark deposits files
pub fn deposit_files(base: &str, token: &str, files: &[PathBuf], clients: usize) -> Duration {
    deposit_in_batches(base, token, files, clients, 1)
}

/// Deposits every file of `files` under FIN-MAN, `clients` at a time,
/// `per_request` files a request (through `POST /api/v1/records/batch`
/// beyond one); the time it took.
#[allow(dead_code)] // not every benchmark deposits files
pub fn deposit_in_batches(base: &str, token: &str, files: &[PathBuf], clients: usize, per_request: usize) -> Duration {
    use std::io::Read;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let files = Arc::new(files.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let start = std::time::Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (files, next, base, token) = (Arc::clone(&files), Arc::clone(&next), base.to_owned(), token.to_owned());
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().build();
                loop {
                    let first = next.fetch_add(per_request, Ordering::Relaxed);
                    let Some(paths) = files.get(first..(first + per_request).min(files.len())) else {
                        break;
                    };
                    if paths.is_empty() {
                        break;
                    }
                    let read = |path: &PathBuf| {
                        let mut content = Vec::new();
                        std::fs::File::open(path)
                            .and_then(|mut f| f.read_to_end(&mut content))
                            .expect("read file");
                        content
                    };
                    if per_request == 1 {
                        let body = multipart("{\"node\":\"FIN-MAN\"}", &read(&paths[0]), "f.bin");
                        let answer = agent
                            .post(&format!("{base}/api/v1/records"))
                            .set("Authorization", &format!("Bearer {token}"))
                            .set("Content-Type", "multipart/form-data; boundary=bench-boundary")
                            .send_bytes(&body)
                            .expect("upload");
                        assert_eq!(answer.status(), 201);
                        continue;
                    }
                    let body = batch_body(
                        paths
                            .iter()
                            .map(|path| multipart("{\"node\":\"FIN-MAN\"}", &read(path), "f.bin")),
                    );
                    post_batch(&agent, &base, &token, &body, paths.len());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("client thread");
    }
    start.elapsed()
}

/// Where a served archive's log goes: the file named by
/// `COFFRE_BENCH_SERVER_LOG`, appended to (with `COFFRE_LOG=debug`, say,
/// to read the indexer's rounds), else nowhere.
fn server_log() -> Stdio {
    std::env::var_os("COFFRE_BENCH_SERVER_LOG")
        .and_then(|path| std::fs::OpenOptions::new().create(true).append(true).open(path).ok())
        .map_or_else(Stdio::null, Stdio::from)
}
