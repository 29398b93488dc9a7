//! Helpers: run the CLI, start and stop servers, talk HTTP.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_coffre")
}

/// Runs `coffre --data DATA ARGS...`.
pub fn cli(data: &Path, args: &[&str]) -> Output {
    cli_with(data, args, &[])
}

/// Runs `coffre --data DATA ARGS...` with these environment variables.
pub fn cli_with(data: &Path, args: &[&str], env: &[(String, String)]) -> Output {
    Command::new(bin())
        .arg("--data")
        .arg(data)
        .args(args)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .output()
        .expect("run coffre")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `coffre init`; returns the admin token (the last line of stdout).
pub fn init(data: &Path) -> String {
    // The person at the command line, named the same on every machine.
    let out = Command::new(bin())
        .arg("--data")
        .arg(data)
        .arg("init")
        .env("USER", "installateur")
        .stdin(Stdio::null())
        .output()
        .expect("run coffre init");
    assert!(out.status.success(), "init failed: {}", stderr(&out));
    stdout(&out).lines().last().expect("a token line").trim().to_owned()
}

/// A running `coffre serve`.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Server {
    /// Starts a server on a free loopback port and waits until it listens.
    pub fn start(data: &Path, extra: &[&str]) -> Server {
        Self::start_with(data, extra, &[])
    }

    /// Starts a server with these environment variables besides.
    pub fn start_with(data: &Path, extra: &[&str], env: &[(String, String)]) -> Server {
        let log = data.with_extension(format!(
            "log-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(bin())
            .arg("--data")
            .arg(data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("COFFRE_LOG", "info")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("spawn coffre serve");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("coffre : en service sur ") {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let base = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "server did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Server { child, base, log }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// SIGKILL, no goodbye.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer: status, headers we care about, body.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: Vec<(String, String)>,
    /// The request's method and URL.
    pub asked: (String, String),
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_owned()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn error_message(&self) -> String {
        self.json()["error"]["message"].as_str().unwrap_or_default().to_owned()
    }
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().timeout(Duration::from_secs(120)).build()
}

fn answer(result: Result<ureq::Response, ureq::Error>) -> Result<Answer, String> {
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .filter_map(|n| response.header(&n).map(|v| (n.clone(), v.to_owned())))
        .collect();
    let mut body = Vec::new();
    response
        .into_reader()
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(Answer {
        status,
        body,
        headers,
        asked: (String::new(), String::new()),
    })
}

/// A request; `token` may be empty for none.
pub fn request(
    method: &str,
    url: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &[u8])>,
) -> Result<Answer, String> {
    let mut req = agent().request(method, url);
    if !token.is_empty() {
        req = req.set("Authorization", &format!("Bearer {token}"));
    }
    for (k, v) in headers {
        req = req.set(k, v);
    }
    let mut answered = answer(match body {
        Some((content_type, bytes)) => req.set("Content-Type", content_type).send_bytes(bytes),
        None => req.call(),
    })?;
    answered.asked = (method.to_owned(), url.to_owned());
    Ok(answered)
}

pub fn get(url: &str, token: &str) -> Answer {
    request("GET", url, token, &[], None).expect("GET")
}

pub fn post_json(url: &str, token: &str, body: &Value) -> Answer {
    request(
        "POST",
        url,
        token,
        &[],
        Some(("application/json", body.to_string().as_bytes())),
    )
    .expect("POST")
}

pub const BOUNDARY: &str = "coffre-test-boundary-7MA4YWxkTrZu0gW";

/// One multipart part: name, optional raw filename bytes, content.
pub struct Part<'a> {
    pub name: &'a str,
    pub filename: Option<&'a [u8]>,
    pub content: &'a [u8],
}

pub fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"", p.name).as_bytes(),
        );
        if let Some(f) = p.filename {
            body.extend_from_slice(b"; filename=\"");
            body.extend_from_slice(f);
            body.extend_from_slice(b"\"");
        }
        body.extend_from_slice(b"\r\nContent-Type: application/octet-stream\r\n\r\n");
        body.extend_from_slice(p.content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn post_multipart(url: &str, token: &str, body: &[u8]) -> Result<Answer, String> {
    request(
        "POST",
        url,
        token,
        &[],
        Some((&format!("multipart/form-data; boundary={BOUNDARY}"), body)),
    )
}

/// Deposits `content` over HTTP; returns the answer.
pub fn deposit(
    server: &Server,
    token: &str,
    content: &[u8],
    filename: &str,
    metadata: &Value,
) -> Result<Answer, String> {
    deposit_at(&server.base, token, content, filename, metadata)
}

/// Deposits `content` to the server at `base`.
pub fn deposit_at(base: &str, token: &str, content: &[u8], filename: &str, metadata: &Value) -> Result<Answer, String> {
    let meta = metadata.to_string();
    let body = multipart(&[
        Part {
            name: "metadata",
            filename: None,
            content: meta.as_bytes(),
        },
        Part {
            name: "file",
            filename: Some(filename.as_bytes()),
            content,
        },
    ]);
    post_multipart(&format!("{base}/api/v1/records"), token, &body)
}

/// A deterministic pseudo-random byte generator (xorshift64*).
pub struct Bytes(u64);

impl Bytes {
    pub fn new(seed: u64) -> Self {
        Bytes(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn fill(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    coffre::domain::hash::Sha256::of(bytes).hex()
}

/// Runs an integrity check over HTTP and waits for its end.
pub fn verify_over_http(server: &Server, token: &str) -> Value {
    let started = request("POST", &server.url("/api/v1/audit/verify"), token, &[], None).expect("start verify");
    assert_eq!(started.status, 202, "{}", String::from_utf8_lossy(&started.body));
    let job = started.json()["job"].as_u64().unwrap();
    for _ in 0..600 {
        let status = get(&server.url(&format!("/api/v1/audit/verify/{job}")), token).json();
        if status["status"] != "running" {
            return status;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("integrity check did not finish");
}

/// The references of a search answer's hits, sorted.
pub fn hit_refs(results: &Value) -> Vec<String> {
    let mut r: Vec<String> = results["hits"]
        .as_array()
        .map(|hits| {
            hits.iter()
                .filter_map(|h| h["reference"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    r.sort();
    r
}

/// A fresh archive in a temporary folder (removed when dropped), and its
/// admin token.
pub struct Fresh {
    pub tmp: tempfile::TempDir,
    pub data: PathBuf,
    pub token: String,
}

/// Creates a [`Fresh`] archive with `coffre init`.
pub fn fresh_archive() -> Fresh {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let token = init(&data);
    Fresh { tmp, data, token }
}

/// A new token of `role`, issued with the admin token.
pub fn new_token(server: &Server, admin: &str, role: &str, name: &str) -> String {
    let a = post_json(
        &server.url("/api/v1/tokens"),
        admin,
        &serde_json::json!({"role": role, "name": name}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    a.json()["token"].as_str().expect("a token").to_owned()
}

/// `PUT /api/v1/plan` with a plan file.
pub fn put_plan(server: &Server, token: &str, text: &str, dry_run: bool) -> Answer {
    let url = server.url(&format!("/api/v1/plan?dry_run={dry_run}"));
    request("PUT", &url, token, &[], Some(("application/toml", text.as_bytes()))).expect("PUT /plan")
}

/// Checks every event in the journal's segments against
/// `schemas/journal-event.schema.json`, the format auditors are given.
pub fn assert_journal_follows_its_schema(data: &Path) {
    let schema: Value = serde_json::from_str(include_str!("../../schemas/journal-event.schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the journal event schema compiles");
    let mut segments: Vec<PathBuf> = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort();
    let mut kinds = std::collections::BTreeSet::new();
    for segment in segments {
        for line in std::fs::read_to_string(&segment).unwrap().lines() {
            let event: Value = serde_json::from_str(line).unwrap();
            let problems: Vec<String> = validator.iter_errors(&event).map(|e| e.to_string()).collect();
            assert!(problems.is_empty(), "{line}\n{problems:?}");
            kinds.insert(event["kind"].as_str().unwrap_or_default().to_owned());
        }
    }
    assert!(kinds.contains("plan.published"), "{kinds:?}");
}

/// The date `n` years before today, `YYYY-MM-DD`.
pub fn years_ago(n: i32) -> String {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    today
        .with_year(today.year() - n)
        .unwrap_or_else(|| today - chrono::Duration::days(365 * n as i64))
        .to_string()
}

/// The JSON of a 201 answer, after checking that it is one.
pub fn created(a: Answer) -> Value {
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    a.json()
}

/// Percent-encodes a query parameter's value.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The session cookie a web sign-in sets, if it succeeds; the status.
pub fn web_sign_in(server: &Server, user: &str, password: &str) -> (u16, Option<String>) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let form = agent.get(&server.url("/connexion")).call().expect("sign-in form");
    let form_cookie = form
        .all("set-cookie")
        .into_iter()
        .find_map(|c| c.split(';').next().filter(|kv| kv.starts_with("coffre_formulaire=")))
        .expect("the form's cookie")
        .to_owned();
    let html = form.into_string().expect("form");
    let csrf = html
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the form's token")
        .to_owned();
    let body = format!(
        "user={}&password={}&csrf={csrf}&suite=%2F",
        url_encode(user),
        url_encode(password)
    );
    let answer = agent
        .post(&server.url("/connexion"))
        .set("Cookie", &form_cookie)
        .set("Content-Type", "application/x-www-form-urlencoded")
        .send_string(&body);
    let response = match answer {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("sign-in: {e}"),
    };
    let session = response
        .all("set-cookie")
        .into_iter()
        .find_map(|c| c.split(';').next().filter(|kv| kv.starts_with("coffre_session=")))
        .map(str::to_owned);
    (response.status(), session)
}

/// The status of the search page for a session cookie (303: sent to sign in).
pub fn page_status(server: &Server, session: &str) -> u16 {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    match agent.get(&server.url("/")).set("Cookie", session).call() {
        Ok(r) => r.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(e) => panic!("GET /: {e}"),
    }
}

/// Signs in with a password over the API; answers the session token.
pub fn login(server: &Server, user: &str, password: &str) -> Answer {
    post_json(
        &server.url("/api/v1/login"),
        "",
        &serde_json::json!({"user": user, "password": password, "name": "poste de test"}),
    )
}

/// A `PUT` of a JSON body.
pub fn put_json(url: &str, token: &str, body: &Value) -> Answer {
    request(
        "PUT",
        url,
        token,
        &[],
        Some(("application/json", body.to_string().as_bytes())),
    )
    .expect("PUT")
}

/// Runs `openssl` in `dir`; fails the test with what it said.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate authority of its own in `dir`: `ca.key` and `ca.pem`.
pub fn make_ca(dir: &Path, name: &str) {
    let subject = format!("/CN={name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            &subject,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
}

/// The département's test CA (`ca.pem` in `dir`) and a server certificate
/// for `localhost` and 127.0.0.1 signed by it (`server.pem`, `server.key`).
pub fn localhost_certificate(dir: &Path) {
    make_ca(dir, "Autorite de test du departement");
    issue_certificate(
        dir,
        "server",
        "/CN=localhost",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
}

/// A key (`{stem}.key`) and a certificate (`{stem}.pem`) for `subject`,
/// signed by the CA [`make_ca`] made in `dir`, with the X.509 extensions
/// `extensions` (lines of an openssl extension file).
pub fn issue_certificate(dir: &Path, stem: &str, subject: &str, extensions: &str) {
    let (key, csr, pem, ext) = (
        format!("{stem}.key"),
        format!("{stem}.csr"),
        format!("{stem}.pem"),
        format!("{stem}.cnf"),
    );
    openssl(
        dir,
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject,
        ],
    );
    std::fs::write(dir.join(&ext), extensions).expect("extension file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &pem,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
}

/// The blob store's folder of a data directory.
pub fn blobs_of(data: &Path) -> PathBuf {
    data.join("blobs")
}

/// Where a blob lies in a blob store's folder (a data directory's
/// `blobs`, or a copy folder), by its digest in hex: `None` if nowhere.
pub fn locate_blob(store: &Path, sha: &str) -> Option<coffre::store::blob_fs::Location> {
    let digest = coffre::domain::hash::Sha256::parse(sha).expect("a digest");
    coffre::store::blob_fs::locate(store, &digest).expect("the blob store's folder")
}

/// Every blob stored in a blob store's folder, by digest in hex.
pub fn stored_blobs(store: &Path) -> Vec<String> {
    coffre::store::blob_fs::stored_blobs(store)
        .expect("the blob store's folder")
        .iter()
        .map(|sha| sha.hex())
        .collect()
}

/// A blob's bytes as they lie in a blob store's folder, `None` if absent.
pub fn blob_bytes(store: &Path, sha: &str) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt as _;
    match locate_blob(store, sha)? {
        coffre::store::blob_fs::Location::File(path) => std::fs::read(path).ok(),
        coffre::store::blob_fs::Location::Packed { pack, at, len } => {
            let mut bytes = vec![0u8; usize::try_from(len).expect("a small blob")];
            std::fs::File::open(pack).ok()?.read_exact_at(&mut bytes, at).ok()?;
            Some(bytes)
        }
    }
}

/// Flips one byte of a blob where it lies, as a failing disk would.
pub fn flip_blob_byte(store: &Path, sha: &str, at: usize) {
    match locate_blob(store, sha).expect("the blob") {
        coffre::store::blob_fs::Location::File(path) => flip_byte(&path, at),
        coffre::store::blob_fs::Location::Packed { pack, at: start, .. } => {
            flip_byte(&pack, usize::try_from(start).expect("an offset") + at)
        }
    }
}

/// Removes a blob's file (a blob larger than a pack takes: a small one,
/// packed, cannot be lost alone without a restart).
pub fn remove_blob_file(store: &Path, sha: &str) {
    match locate_blob(store, sha).expect("the blob") {
        coffre::store::blob_fs::Location::File(path) => std::fs::remove_file(path).expect("remove"),
        packed => panic!("{sha} is packed ({packed:?}): only a blob of its own file can be removed"),
    }
}

/// Bytes a pack does not take: a test that removes a blob's file
/// deposits at least this many.
pub const UNPACKED: usize = coffre::store::blob_fs::PACKED_MAX as usize + 1;

/// Flips one byte of a stored file (made writable first), as a failing
/// disk would.
pub fn flip_byte(path: &Path, at: usize) {
    let mut perms = std::fs::metadata(path).expect("file").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(path, perms).expect("writable");
    let mut bytes = std::fs::read(path).expect("read");
    bytes[at] ^= 0x20;
    std::fs::write(path, bytes).expect("write");
}

/// A command of the tests' Python virtual environment (`make pytools`
/// makes it in target/pytools): where `env` says, else there.
pub fn pytool(env: &str, name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/pytools/bin")
        .join(name);
    assert!(
        venv.exists(),
        "{name} (from PyPI) is needed: `make pytools` installs it in target/pytools"
    );
    venv
}

/// Checks `file` against the XML schema `xsd` with `xmllint`.
pub fn assert_valid_xml(xsd: &Path, file: &Path) {
    let out = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(xsd)
        .arg(file)
        .output()
        .expect("xmllint (libxml2-utils, installed by `make deps`)");
    assert!(
        out.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The step a record stands at in its circuit, and its passages
/// (`step YYYY-MM-DD`), as `GET /records/{ref}` says them.
pub fn circulation(server: &Server, token: &str, reference: &str) -> (String, Vec<String>) {
    let r = get(&server.url(&format!("/api/v1/records/{reference}")), token).json();
    let steps = r["circulation"]["passages"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    format!(
                        "{} {}",
                        p["step"].as_str().unwrap_or(""),
                        p["from"].as_str().unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    (
        r["circulation"]["step"]["step"].as_str().unwrap_or("").to_owned(),
        steps,
    )
}
