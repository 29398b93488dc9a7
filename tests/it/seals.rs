//! The sealed journal: seals made on schedule and on demand, inclusion and
//! consistency proofs checked here with nothing but SHA-256 and the public
//! key (OpenSSL checks the signature), the accusé de dépôt, and a tree that
//! survives its deletion and a SIGKILL.

use crate::common::*;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::process::Command;
use std::time::{Duration, Instant};

fn hex32(text: &str) -> [u8; 32] {
    let digits = text.strip_prefix("sha256:").unwrap_or(text);
    let mut out = [0u8; 32];
    hex::decode_to_slice(digits, &mut out).expect("a digest");
    out
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// RFC 9162 §2.1.3.2, written again here from the RFC.
fn inclusion_holds(leaf: [u8; 32], index: u64, size: u64, path: &[Value], root: [u8; 32]) -> bool {
    if index >= size {
        return false;
    }
    let (mut f, mut s, mut r) = (index, size - 1, leaf);
    for p in path {
        let p = hex32(p.as_str().unwrap());
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            r = node(&p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node(&r, &p);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && r == root
}

/// RFC 9162 §2.1.4.2.
fn consistency_holds(m: u64, n: u64, old: [u8; 32], new: [u8; 32], proof: &[Value]) -> bool {
    let mut path: Vec<[u8; 32]> = proof.iter().map(|p| hex32(p.as_str().unwrap())).collect();
    if m.is_power_of_two() {
        path.insert(0, old);
    }
    let (mut f, mut s) = (m - 1, n - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if s == 0 {
            return false;
        }
        if f & 1 == 1 || f == s {
            fr = node(c, &fr);
            sr = node(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    s == 0 && fr == old && sr == new
}

/// The leaf of an event as JSON: SHA-256(0x00 ‖ its canonical line).
/// serde_json writes sorted keys and no spaces, which for these events is
/// the canonical encoding.
fn leaf_of(event: &Value) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(serde_json::to_vec(event).unwrap());
    h.finalize().into()
}

/// The statement a seal signs, written here from schemas/seal-and-proofs.md.
fn statement_of(archive: &str, seal: &Value) -> String {
    format!(
        "coffre-seal/1\narchive {archive}\ntree_size {}\nroot {}\nsealed_at {}\n",
        seal["tree_size"],
        seal["root"].as_str().unwrap(),
        chrono::DateTime::parse_from_rfc3339(seal["sealed_at"].as_str().unwrap())
            .unwrap()
            .with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

/// Checks a seal's signature with OpenSSL, from the documented statement.
fn openssl_verifies(dir: &std::path::Path, archive: &str, seal: &Value, pem: &str) -> bool {
    let statement = statement_of(archive, seal);
    std::fs::write(dir.join("statement.txt"), statement).unwrap();
    std::fs::write(dir.join("seal.pem"), pem).unwrap();
    std::fs::write(
        dir.join("sig.bin"),
        hex::decode(seal["signature"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(dir)
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "seal.pem",
            "-rawin",
            "-in",
            "statement.txt",
            "-sigfile",
            "sig.bin",
        ])
        .output()
        .unwrap();
    out.status.success()
}

fn deposit_one(server: &Server, token: &str, i: usize) -> Value {
    created(
        deposit(
            server,
            token,
            format!("Arrêté municipal n° {i} portant réglementation du stationnement").as_bytes(),
            &format!("arrete-{i}.txt"),
            &json!({"node": "ADM-ARR", "date": "2024-03-01", "fields": {"portee": "réglementaire"}}),
        )
        .unwrap(),
    )
}

#[test]
fn seals_prove_every_event_and_every_later_seal_extends_the_earlier() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--seal-every-events", "4"]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let auditor = new_token(&server, &token, "auditor", "cour-des-comptes");
    let first = deposit_one(&server, &agent, 1);
    let reference = first["reference"].as_str().unwrap().to_owned();

    // The scheduled sealer: four events after the last seal make one due.
    for i in 2..=5 {
        deposit_one(&server, &agent, i);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let seals = loop {
        let seals = get(&server.url("/api/v1/audit/seals"), &auditor).json()["seals"].clone();
        if !seals.as_array().unwrap().is_empty() {
            break seals;
        }
        assert!(Instant::now() < deadline, "no seal was made: {}", server.log_text());
        std::thread::sleep(Duration::from_millis(200));
    };
    let early = seals[0].clone();

    // An agent cannot seal; an auditor can.
    assert_eq!(
        post_json(&server.url("/api/v1/audit/seals"), &agent, &json!({})).status,
        403
    );
    deposit_one(&server, &agent, 6);
    let seal = created(post_json(&server.url("/api/v1/audit/seals"), &auditor, &json!({})));
    assert!(seal["tree_size"].as_u64().unwrap() > early["tree_size"].as_u64().unwrap());

    let key = get(&server.url("/api/v1/audit/public-key"), &auditor).json();
    let archive = key["archive"].as_str().unwrap().to_owned();
    let pem = key["pem"].as_str().unwrap().to_owned();
    assert!(openssl_verifies(tmp.path(), &archive, &seal, &pem));
    assert!(openssl_verifies(tmp.path(), &archive, &early, &pem));
    let mut forged = seal.clone();
    forged["tree_size"] = json!(seal["tree_size"].as_u64().unwrap() - 1);
    assert!(!openssl_verifies(tmp.path(), &archive, &forged, &pem));

    // Every event of the record, proven against the latest seal.
    let proof = get(&server.url(&format!("/api/v1/audit/proof/{reference}")), &agent).json();
    assert_eq!(proof["seal"]["seq"], seal["seq"]);
    let root = hex32(seal["root"].as_str().unwrap());
    let size = seal["tree_size"].as_u64().unwrap();
    let events = proof["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        let leaf = leaf_of(&e["event"]);
        assert_eq!(
            hex::encode(leaf),
            e["leaf_hash"].as_str().unwrap().trim_start_matches("sha256:")
        );
        let index = e["leaf_index"].as_u64().unwrap();
        let path = e["proof"].as_array().unwrap();
        assert!(inclusion_holds(leaf, index, size, path, root), "{e}");
        // The same path does not prove another event, nor another index.
        assert!(!inclusion_holds(leaf_of(&json!({"seq": 1})), index, size, path, root));
        assert!(!inclusion_holds(leaf, index ^ 1, size, path, root) || size == 1);
    }
    assert_eq!(events[0]["event"]["kind"], "record.ingested");

    // The later seal extends the earlier one.
    let url = format!(
        "/api/v1/audit/consistency?from={}&to={}",
        early["tree_size"], seal["tree_size"]
    );
    let c = get(&server.url(&url), &auditor).json();
    assert_eq!(c["from_root"], early["root"]);
    assert_eq!(c["to_root"], seal["root"]);
    assert!(consistency_holds(
        early["tree_size"].as_u64().unwrap(),
        size,
        hex32(early["root"].as_str().unwrap()),
        root,
        c["proof"].as_array().unwrap()
    ));
    assert!(!consistency_holds(
        early["tree_size"].as_u64().unwrap(),
        size,
        hex32(seal["root"].as_str().unwrap()),
        root,
        c["proof"].as_array().unwrap()
    ));
    let bad = get(&server.url("/api/v1/audit/consistency?from=0&to=3"), &auditor);
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_code(), "invalid_field");

    // The accusé de dépôt of a record deposited after the last seal: the
    // archive seals on demand so the proof leads somewhere.
    let late = deposit_one(&server, &agent, 7);
    let late_ref = late["reference"].as_str().unwrap();
    let a = get(&server.url(&format!("/api/v1/records/{late_ref}/attestation")), &agent);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let a = a.json();
    assert_eq!(a["reference"], late_ref);
    assert_eq!(
        a["sha256"], late["versions"][0]["sha256"],
        "the same digest as the record shows"
    );
    assert_eq!(
        a["depositor"], "admin (agent)",
        "the token belongs to the admin who issued it"
    );
    let ev = &a["event"];
    assert!(inclusion_holds(
        leaf_of(&ev["event"]),
        ev["leaf_index"].as_u64().unwrap(),
        a["seal"]["tree_size"].as_u64().unwrap(),
        ev["proof"].as_array().unwrap(),
        hex32(a["seal"]["root"].as_str().unwrap())
    ));
    assert!(openssl_verifies(tmp.path(), &archive, &a["seal"], &pem));
    let html = get(
        &server.url(&format!("/api/v1/records/{late_ref}/attestation?format=html")),
        &agent,
    );
    assert_eq!(html.header("content-type"), Some("text/html; charset=utf-8"));
    let page = String::from_utf8_lossy(&html.body).to_string();
    assert!(page.contains("Accusé de dépôt") && page.contains(late_ref), "{page}");

    // SIGKILL, then the tree deleted: it is rebuilt and the old seals and
    // proofs still hold; audit verify checks every seal.
    server.kill9();
    std::fs::remove_dir_all(data.join("merkle")).unwrap();
    let server = Server::start(&data, &[]);
    let again = get(&server.url(&format!("/api/v1/audit/proof/{reference}")), &auditor).json();
    for e in again["events"].as_array().unwrap() {
        let leaf = leaf_of(&e["event"]);
        let size = again["seal"]["tree_size"].as_u64().unwrap();
        let root = hex32(again["seal"]["root"].as_str().unwrap());
        assert!(inclusion_holds(
            leaf,
            e["leaf_index"].as_u64().unwrap(),
            size,
            e["proof"].as_array().unwrap(),
            root
        ));
    }
    let report = verify_over_http(&server, &auditor);
    assert_eq!(report["report"]["passed"], true, "{report}");
    assert!(report["report"]["seals_checked"].as_u64().unwrap() >= 3, "{report}");
    server.stop();

    // The CLI gives the same, and the journal follows its schema.
    let out = cli(&data, &["audit", "public-key", "--pem"]);
    assert_eq!(stdout(&out), pem);
    let out = cli(&data, &["audit", "proof", &reference]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cli_proof: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(cli_proof["events"].as_array().unwrap().len(), events.len());
    let out = cli(&data, &["audit", "seals", "--json"]);
    assert!(stdout(&out).lines().count() >= 3);
    let out = cli(&data, &["attestation", &reference, "--html"]);
    assert!(stdout(&out).contains("Accusé de dépôt"));
    assert_journal_follows_its_schema(&data);
}

#[test]
fn a_forged_seal_in_the_journal_is_reported() {
    // A seal event whose signature is not the key's, appended with a valid
    // chain (as someone holding the journal but not the key would): the
    // chain verifies, the seal does not.
    let Fresh { tmp: _tmp, data, .. } = fresh_archive();
    let out = cli(&data, &["audit", "seal"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let segment = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let text = std::fs::read_to_string(&segment).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(last["kind"], "journal.sealed");
    // Re-sign nothing: flip the signature and recompute the event's hash as
    // the canonical encoding defines it.
    let mut forged = last.clone();
    let sig = forged["payload"]["signature"].as_str().unwrap().to_owned();
    let flipped = format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]);
    forged["payload"]["signature"] = json!(flipped);
    let mut unsealed = forged.clone();
    unsealed.as_object_mut().unwrap().remove("hash");
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(&unsealed).unwrap()));
    forged["hash"] = json!(format!("sha256:{hash}"));
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    *lines.last_mut().unwrap() = serde_json::to_string(&forged).unwrap();
    std::fs::write(&segment, lines.join("\n") + "\n").unwrap();
    let out = cli(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("le sceau de l'événement n°") && text.contains("signature"),
        "{text}"
    );
}

/// A time-stamping authority for tests: `openssl ts -reply` behind a tiny
/// HTTP server on a loopback port, with its own CA.
struct LocalTsa {
    url: String,
    dir: std::path::PathBuf,
}

impl LocalTsa {
    fn start(dir: &std::path::Path) -> LocalTsa {
        std::fs::create_dir_all(dir).unwrap();
        make_ca(dir, "coffre test TSA CA");
        issue_certificate(
            dir,
            "tsa",
            "/CN=coffre test TSA",
            "extendedKeyUsage=critical,timeStamping\n",
        );
        std::fs::write(
            dir.join("tsa.cnf"),
            "[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\nserial = ./serial\ncrypto_device = builtin\nsigner_cert = ./tsa.pem\n\
             signer_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\n\
             accuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
        )
        .unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/tsa", listener.local_addr().unwrap());
        let root = dir.to_owned();
        std::thread::spawn(move || {
            use std::io::{BufRead, BufReader, Read, Write};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut query = vec![0u8; length];
                reader.read_exact(&mut query).unwrap();
                std::fs::write(root.join("query.tsq"), &query).unwrap();
                let out = std::process::Command::new("openssl")
                    .current_dir(&root)
                    .args([
                        "ts",
                        "-reply",
                        "-config",
                        "tsa.cnf",
                        "-queryfile",
                        "query.tsq",
                        "-out",
                        "reply.tsr",
                    ])
                    .output()
                    .unwrap();
                let reply = if out.status.success() {
                    std::fs::read(root.join("reply.tsr")).unwrap()
                } else {
                    Vec::new()
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    reply.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&reply);
            }
        });
        LocalTsa {
            url,
            dir: dir.to_owned(),
        }
    }
}

#[test]
fn seals_are_time_stamped_by_the_configured_authority() {
    let Fresh { tmp, data, token } = fresh_archive();
    let tsa = LocalTsa::start(&tmp.path().join("tsa"));
    let server = Server::start(&data, &["--tsa-url", &tsa.url]);
    deposit_one(&server, &token, 1);
    let seal = created(post_json(&server.url("/api/v1/audit/seals"), &token, &json!({})));
    let stamp = seal["timestamp"].as_str().expect("a time-stamp token");
    let archive = get(&server.url("/api/v1/audit/public-key"), &token).json()["archive"]
        .as_str()
        .unwrap()
        .to_owned();

    // OpenSSL checks the token: the authority's signature, its certificate
    // chain, and that it stamps the seal's statement.
    use base64::Engine;
    std::fs::write(
        tsa.dir.join("token.der"),
        base64::engine::general_purpose::STANDARD.decode(stamp).unwrap(),
    )
    .unwrap();
    let statement = statement_of(&archive, &seal);
    std::fs::write(tsa.dir.join("statement.txt"), &statement).unwrap();
    openssl(
        &tsa.dir,
        &[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-data",
            "statement.txt",
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ],
    );
    std::fs::write(tsa.dir.join("other.txt"), statement.replace("tree_size", "tree_size 1")).unwrap();
    let out = std::process::Command::new("openssl")
        .current_dir(&tsa.dir)
        .args([
            "ts",
            "-verify",
            "-token_in",
            "-in",
            "token.der",
            "-data",
            "other.txt",
            "-CAfile",
            "ca.pem",
            "-untrusted",
            "tsa.pem",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a token stamps one statement only");

    // An authority that does not answer does not stop sealing.
    server.stop();
    let server = Server::start(&data, &["--tsa-url", "http://127.0.0.1:9/nothing"]);
    deposit_one(&server, &token, 2);
    let unstamped = created(post_json(&server.url("/api/v1/audit/seals"), &token, &json!({})));
    assert!(unstamped["timestamp"].is_null(), "{unstamped}");
    assert!(server.log_text().contains("did not stamp the seal"));
    let report = verify_over_http(&server, &token);
    assert_eq!(report["report"]["passed"], true, "{report}");
    server.stop();
    let bad = cli(&data, &["--tsa-url", "ftp://tsa.example/", "audit", "seal"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert_journal_follows_its_schema(&data);
}

#[test]
fn an_attestation_verifies_offline_and_any_change_to_it_is_refused() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let record = deposit_one(&server, &token, 1);
    let reference = record["reference"].as_str().expect("reference").to_owned();
    let key = get(&server.url("/api/v1/audit/public-key"), &token).json()["public_key"]
        .as_str()
        .expect("key")
        .to_owned();
    server.stop();
    let json = cli(&data, &["attestation", &reference]);
    assert!(json.status.success(), "{}", stderr(&json));
    let html = cli(&data, &["attestation", &reference, "--html"]);
    let json_path = tmp.path().join("accuse.json");
    let html_path = tmp.path().join("accuse.html");
    std::fs::write(&json_path, &json.stdout).expect("write");
    std::fs::write(&html_path, &html.stdout).expect("write");

    // No data directory at all: run from elsewhere, without --data.
    let nowhere = tmp.path().join("ailleurs");
    std::fs::create_dir_all(&nowhere).expect("folder");
    let verify = |args: &[&str]| {
        Command::new(bin())
            .arg("verify-attestation")
            .args(args)
            .current_dir(&nowhere)
            .env_remove("COFFRE_DATA")
            .output()
            .expect("run")
    };
    for file in [&json_path, &html_path] {
        let out = verify(&[file.to_str().expect("path")]);
        assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
        assert!(stdout(&out).contains("il tient"), "{}", stdout(&out));
    }
    let out = verify(&[json_path.to_str().expect("path"), "--key", &key]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("avec votre clé"), "{}", stdout(&out));
    let stranger = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";
    let out = verify(&[json_path.to_str().expect("path"), "--key", stranger]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));

    // A changed digest, then a changed proof: refused, each named.
    let original: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let mut changed = original.clone();
    changed["sha256"] = "0".repeat(64).into();
    let changed_path = tmp.path().join("modifie.json");
    std::fs::write(&changed_path, changed.to_string()).expect("write");
    let out = verify(&[changed_path.to_str().expect("path"), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(report["passed"], false);
    assert!(
        report["failures"][0]
            .as_str()
            .unwrap_or_default()
            .contains("contenu attesté"),
        "{report}"
    );
    let mut changed = original.clone();
    if let Some(proof) = changed["event"]["proof"].as_array_mut().filter(|p| !p.is_empty()) {
        proof[0] = format!("sha256:{}", "1".repeat(64)).into();
    } else {
        changed["seal"]["root"] = format!("sha256:{}", "1".repeat(64)).into();
    }
    std::fs::write(&changed_path, changed.to_string()).expect("write");
    let out = verify(&[changed_path.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("preuve d'inclusion") || stdout(&out).contains("signature"),
        "{}",
        stdout(&out)
    );
    // Not an attestation at all: bad input, said in one line.
    std::fs::write(&changed_path, "bonjour").expect("write");
    let out = verify(&[changed_path.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(!nowhere.join("coffre-data").exists(), "no data directory was made");
}

/// After a rotation of the seal key, packages and attestations sealed
/// under either key verify offline with either key; a key outside the
/// chain is refused; the journal check follows the chain; and a seal whose
/// key no event names is reported.
#[test]
fn after_a_key_rotation_what_either_key_sealed_verifies_with_either() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let key_now = || {
        get(&server.url("/api/v1/audit/public-key"), &token).json()["public_key"]
            .as_str()
            .expect("key")
            .to_owned()
    };
    let sealed_under = |i: usize, name: &str| {
        let record = deposit_one(&server, &token, i);
        let reference = record["reference"].as_str().expect("reference").to_owned();
        let a = get(&server.url(&format!("/api/v1/records/{reference}/attestation")), &token);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        let attestation = tmp.path().join(format!("{name}.json"));
        std::fs::write(&attestation, &a.body).expect("write");
        let p = post_json(
            &server.url("/api/v1/exports"),
            &archivist,
            &json!({"records": [reference]}),
        );
        assert_eq!(p.status, 200, "{}", String::from_utf8_lossy(&p.body));
        let package = tmp.path().join(format!("{name}.zip"));
        std::fs::write(&package, &p.body).expect("write");
        (attestation, package)
    };
    let old_key = key_now();
    let (old_attestation, old_package) = sealed_under(1, "avant");

    // Only an admin rotates; the CLI does it through the running server.
    let refused = post_json(&server.url("/api/v1/audit/keys/rotate"), &archivist, &json!({}));
    assert_eq!(refused.status, 403);
    let out = cli(&data, &["audit", "rotate-key"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("nouvelle clé"), "{}", stdout(&out));
    let new_key = key_now();
    assert_ne!(old_key, new_key);
    assert!(stdout(&out).contains(&new_key), "{}", stdout(&out));
    let shown = get(&server.url("/api/v1/audit/public-key"), &token).json();
    assert_eq!(shown["keys"].as_array().map(Vec::len), Some(2), "{shown}");
    assert_eq!(shown["key_chain"][0]["previous_key"], old_key.as_str());
    let (new_attestation, new_package) = sealed_under(2, "apres");
    let seal: Value = crate::packages::read_zip(&new_package)
        .into_iter()
        .find(|(name, _)| name.ends_with("data/journal/seal.json"))
        .map(|(_, bytes)| serde_json::from_slice(&bytes).expect("JSON"))
        .expect("seal.json");
    assert_eq!(seal["seal"]["public_key"], new_key.as_str(), "sealed with the new key");

    // Offline, with no data directory: either key vouches for both.
    let nowhere = tmp.path().join("ailleurs");
    std::fs::create_dir_all(&nowhere).expect("folder");
    let offline = |args: &[&str]| {
        let out = Command::new(bin())
            .args(args)
            .current_dir(&nowhere)
            .env_remove("COFFRE_DATA")
            .output()
            .expect("run");
        (out.status.code(), format!("{}{}", stdout(&out), stderr(&out)))
    };
    // What the archive says of its keys (the chain, for what was sealed
    // before the rotation and so does not carry it).
    let out = cli(&data, &["audit", "public-key", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let keys_file = tmp.path().join("cles.json");
    std::fs::write(&keys_file, &out.stdout).expect("write");
    let keys_file = keys_file.to_str().expect("path").to_owned();
    for (file, key) in [
        (&old_package, &old_key),
        (&new_package, &old_key),
        (&new_package, &new_key),
        (&old_package, &keys_file),
        (&new_package, &keys_file),
    ] {
        let (code, text) = offline(&["verify-package", file.to_str().expect("path"), "--public-key", key]);
        assert_eq!(code, Some(0), "{} with {key}: {text}", file.display());
    }
    for (file, key) in [
        (&old_attestation, &old_key),
        (&new_attestation, &old_key),
        (&new_attestation, &new_key),
        (&old_attestation, &keys_file),
    ] {
        let (code, text) = offline(&["verify-attestation", file.to_str().expect("path"), "--public-key", key]);
        assert_eq!(code, Some(0), "{} with {key}: {text}", file.display());
    }
    // Sealed before the rotation, with the new key alone: nothing links
    // them, and that is said.
    let (code, text) = offline(&["verify-package", old_package.to_str().expect("path"), "--key", &new_key]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("chaîne des clés"), "{text}");
    // A key outside the chain vouches for neither.
    let stranger = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";
    let (code, text) = offline(&["verify-package", new_package.to_str().expect("path"), "--key", stranger]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("chaîne des clés"), "{text}");
    let (code, _) = offline(&[
        "verify-attestation",
        new_attestation.to_str().expect("path"),
        "--key",
        stranger,
    ]);
    assert_eq!(code, Some(1));
    // A chain whose rotation was tampered with links nothing.
    let mut forged: Value = serde_json::from_slice(&std::fs::read(&new_attestation).expect("read")).expect("JSON");
    forged["key_chain"][0]["next_signature"] = "0".repeat(128).into();
    let forged_path = tmp.path().join("chaine-modifiee.json");
    std::fs::write(&forged_path, forged.to_string()).expect("write");
    let (code, text) = offline(&[
        "verify-attestation",
        forged_path.to_str().expect("path"),
        "--key",
        &old_key,
    ]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("ne tient pas"), "{text}");

    // The archive's own checks follow the chain too.
    let report = verify_over_http(&server, &token);
    assert_eq!(report["report"]["passed"], true, "{report}");
    server.stop();
    assert_journal_follows_its_schema(&data);
    // Restarted, the archive signs with the new key.
    let server = Server::start(&data, &[]);
    assert_eq!(
        get(&server.url("/api/v1/audit/public-key"), &token).json()["public_key"],
        new_key.as_str()
    );
}

/// The test authority behind TLS (socat, with a certificate for 127.0.0.1
/// signed by a CA of its own): its `https://` URL and the CA's file.
fn tls_in_front_of(tsa: &LocalTsa) -> (String, std::path::PathBuf, std::process::Child) {
    let dir = tsa.dir.join("tls");
    std::fs::create_dir_all(&dir).unwrap();
    make_ca(&dir, "coffre test TLS CA");
    issue_certificate(
        &dir,
        "server",
        "/CN=127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let backend = tsa
        .url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let child = Command::new("socat")
        .current_dir(&dir)
        .arg(format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert=server.pem,key=server.key,verify=0"
        ))
        .arg(format!("TCP:{backend}"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("socat (Debian's socat, installed by make deps)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "socat does not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (format!("https://127.0.0.1:{port}/tsa"), dir.join("ca.pem"), child)
}

/// An authority reached over HTTPS stamps seals when its server's
/// certificate is trusted (here through the operator's CA file); a server
/// not trusted stamps nothing, and sealing goes on.
#[test]
fn seals_are_time_stamped_by_an_authority_reached_over_https() {
    let Fresh { tmp, data, token } = fresh_archive();
    let tsa = LocalTsa::start(&tmp.path().join("tsa"));
    let (url, ca, mut socat) = tls_in_front_of(&tsa);
    let ca = ca.to_str().unwrap().to_owned();
    let server = Server::start(&data, &["--tsa-url", &url, "--tsa-ca", &ca]);
    deposit_one(&server, &token, 1);
    let seal = created(post_json(&server.url("/api/v1/audit/seals"), &token, &json!({})));
    assert!(
        seal["timestamp"].is_string(),
        "stamped over HTTPS: {seal} {}",
        server.log_text()
    );
    server.stop();
    // Without the CA, the server's certificate is not trusted.
    let server = Server::start(&data, &["--tsa-url", &url]);
    deposit_one(&server, &token, 2);
    let unstamped = created(post_json(&server.url("/api/v1/audit/seals"), &token, &json!({})));
    assert!(unstamped["timestamp"].is_null(), "{unstamped}");
    assert!(
        server.log_text().contains("did not stamp the seal"),
        "{}",
        server.log_text()
    );
    let report = verify_over_http(&server, &token);
    assert_eq!(report["report"]["passed"], true, "{report}");
    server.stop();
    // A CA file that holds no certificate is refused at once.
    let empty = tmp.path().join("vide.pem");
    std::fs::write(&empty, "rien").unwrap();
    let bad = cli(
        &data,
        &["--tsa-url", &url, "--tsa-ca", empty.to_str().unwrap(), "audit", "seal"],
    );
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    let _ = socat.kill();
    let _ = socat.wait();
}
