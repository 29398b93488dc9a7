//! kill -9 during concurrent uploads, fifty times over, with enough writers
//! that their contents are committed in shared batches, half of them
//! sending several files a request (`POST /records/batch`): every upload
//! that was answered 201 (or 200 for a batch) is readable and searchable
//! after restart, and the archive verifies.

use crate::common::*;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ROUNDS: u64 = 50;
const WRITERS: u64 = 8;

#[test]
fn acknowledged_uploads_survive_sigkill() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let acknowledged: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut seed = Bytes::new(42);
    for round in 0..ROUNDS {
        let server = Server::start(&data, &[]);
        let base = server.base.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let (base, token, stop, acked) = (
                    base.clone(),
                    token.clone(),
                    Arc::clone(&stop),
                    Arc::clone(&acknowledged),
                );
                std::thread::spawn(move || {
                    let mut rng = Bytes::new(round * 1000 + w + 1);
                    let mut n = 0;
                    while !stop.load(Ordering::Relaxed) {
                        n += 1;
                        // Mostly small, as scans and e-mails are; some large.
                        let size = if rng.next_u64().is_multiple_of(8) {
                            (rng.next_u64() % 400_000) as usize
                        } else {
                            (rng.next_u64() % 8_000) as usize
                        };
                        let content = rng.fill(size);
                        let meta = json!({"node": "FIN-MAN", "title": format!("round {round} writer {w} file {n}")});
                        // Half the writers send batches (of 1 to 8 files).
                        if w % 2 == 1 {
                            let mut contents = vec![content];
                            for _ in 0..rng.next_u64() % 8 {
                                let size = (rng.next_u64() % 8_000) as usize;
                                contents.push(rng.fill(size));
                            }
                            let titles: Vec<String> = (0..contents.len())
                                .map(|k| json!({"node": "FIN-MAN", "title": format!("round {round} writer {w} file {n}.{k}")}).to_string())
                                .collect();
                            let parts: Vec<Part> = contents
                                .iter()
                                .zip(&titles)
                                .flat_map(|(content, meta)| {
                                    [
                                        Part { name: "metadata", filename: None, content: meta.as_bytes() },
                                        Part { name: "file", filename: Some(b"f.bin"), content },
                                    ]
                                })
                                .collect();
                            match post_multipart(&format!("{base}/api/v1/records/batch"), &token, &multipart(&parts)) {
                                Ok(a) if a.status == 200 => {
                                    let answer = a.json();
                                    let results = answer["results"].as_array().unwrap();
                                    assert_eq!(results.len(), contents.len());
                                    for (result, content) in results.iter().zip(&contents) {
                                        let reference = result["record"]["reference"]
                                            .as_str()
                                            .unwrap_or_else(|| panic!("a file of the batch was refused: {result}"))
                                            .to_owned();
                                        acked.lock().unwrap().push((reference, sha256_hex(content)));
                                    }
                                }
                                Ok(a) => panic!("unexpected answer {}: {}", a.status, String::from_utf8_lossy(&a.body)),
                                Err(_) => break, // the server is gone
                            }
                            continue;
                        }
                        match deposit_at(&base, &token, &content, "f.bin", &meta) {
                            Ok(a) if a.status == 201 => {
                                let reference = a.json()["reference"].as_str().unwrap().to_owned();
                                acked.lock().unwrap().push((reference, sha256_hex(&content)));
                            }
                            Ok(a) => panic!("unexpected answer {}: {}", a.status, String::from_utf8_lossy(&a.body)),
                            Err(_) => break, // the server is gone
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100 + seed.next_u64() % 400));
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }
    let acked = acknowledged.lock().unwrap().clone();
    assert!(
        acked.len() > ROUNDS as usize,
        "too few uploads were acknowledged to test anything: {}",
        acked.len()
    );

    let server = Server::start(&data, &[]);
    for (reference, sha) in &acked {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), &token);
        assert_eq!(record.status, 200, "acknowledged record {reference} lost");
        assert_eq!(record.json()["versions"][0]["sha256"].as_str().unwrap(), sha);
        let content = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
        assert_eq!(sha256_hex(&content.body), *sha, "content of {reference}");
    }
    let references: std::collections::HashSet<_> = acked.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(references.len(), acked.len(), "a reference was handed out twice");
    // Searchable too: the index catches up with what the journal holds.
    for (reference, _) in acked.iter().rev().take(25) {
        let found = || {
            let record = get(&server.url(&format!("/api/v1/records/{reference}")), &token).json();
            let title = record["title"].as_str().unwrap_or_default().to_owned();
            let query = url_encode(&format!("\"{title}\""));
            hit_refs(&get(&server.url(&format!("/api/v1/search?q={query}")), &token).json()).contains(reference)
        };
        crate::follow::waited(&format!("{reference} to be searchable"), found);
    }
    let report = verify_over_http(&server, &token);
    assert_eq!(report["status"], "passed", "{report}");
    server.stop();
    let out = cli(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

/// `coffre ingest` on the data directory, killed with SIGKILL at a random
/// moment, fifty times over: its files go in batches (one group commit,
/// one journal commit and one catalog batch each), and every file it
/// printed as deposited is there after restart, with its bytes, under a
/// reference of its own; the archive verifies.
#[test]
fn files_a_bulk_ingest_printed_survive_sigkill() {
    let Fresh { tmp, data, token } = fresh_archive();
    let mut acked: Vec<(String, String)> = Vec::new();
    let mut seed = Bytes::new(7);
    // Rounds killed before the ingest printed every file.
    let mut cut_short = 0;
    for round in 0..ROUNDS {
        let folder = tmp.path().join(format!("round-{round}"));
        std::fs::create_dir(&folder).unwrap();
        let mut sums = std::collections::HashMap::new();
        for n in 0..300 {
            let size = if seed.next_u64().is_multiple_of(10) {
                (seed.next_u64() % 300_000) as usize
            } else {
                (seed.next_u64() % 6_000) as usize
            };
            // Distinct by their first bytes: no two files alike.
            let mut content = format!("round {round} file {n}\n").into_bytes();
            content.extend(seed.fill(size));
            let path = folder.join(format!("f{n:03}.bin"));
            std::fs::write(&path, &content).unwrap();
            sums.insert(path.display().to_string(), sha256_hex(&content));
        }
        let mut child = std::process::Command::new(bin())
            .arg("--data")
            .arg(&data)
            .args(["ingest", "--json", "--node", "FIN-MAN"])
            .arg(&folder)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (first, printing) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            std::io::BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .map(|line| {
                    let _ = first.send(());
                    serde_json::from_str::<serde_json::Value>(&line).expect("a JSON line")
                })
                .collect::<Vec<_>>()
        });
        // Killed at a random moment of the ingest, counted from its first
        // file printed, whatever the machine's load makes its start take;
        // one round in five from its start, before anything is printed.
        if !seed.next_u64().is_multiple_of(5) {
            let _ = printing.recv_timeout(Duration::from_secs(120));
        }
        std::thread::sleep(Duration::from_millis(seed.next_u64() % 400));
        let _ = child.kill();
        let _ = child.wait();
        let printed = reader.join().unwrap();
        if printed.len() < sums.len() {
            cut_short += 1;
        }
        for line in printed {
            let path = line["path"].as_str().unwrap();
            let sha = line["sha256"].as_str().unwrap().to_owned();
            assert_eq!(sums[path], sha, "{path} printed with another digest");
            acked.push((line["reference"].as_str().unwrap().to_owned(), sha));
        }
    }
    assert!(
        acked.len() > ROUNDS as usize,
        "too few files were printed to test anything: {}",
        acked.len()
    );
    assert!(cut_short > 0, "no ingest was killed before its end");
    let references: std::collections::HashSet<_> = acked.iter().map(|(r, _)| r.clone()).collect();
    assert_eq!(references.len(), acked.len(), "a reference was handed out twice");

    let server = Server::start(&data, &[]);
    for (reference, sha) in &acked {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), &token);
        assert_eq!(record.status, 200, "printed record {reference} lost");
        assert_eq!(record.json()["versions"][0]["sha256"].as_str().unwrap(), sha);
        let content = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
        assert_eq!(sha256_hex(&content.body), *sha, "content of {reference}");
    }
    let report = verify_over_http(&server, &token);
    assert_eq!(report["status"], "passed", "{report}");
    server.stop();
    let out = cli(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}
