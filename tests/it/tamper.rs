//! Damage is found and named: a flipped blob byte, an edited journal event,
//! a journal cut inside its last event.

use crate::common::*;
use serde_json::json;
use std::path::{Path, PathBuf};

fn ingest_two(data: &Path, tmp: &Path) -> Vec<(String, String)> {
    ingest_texts(
        data,
        tmp,
        &["Arrêté du maire n°1".to_owned(), "Arrêté du maire n°2".to_owned()],
    )
}

fn ingest_texts(data: &Path, tmp: &Path, texts: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let file = tmp.join(format!("arrete-{i}.txt"));
        std::fs::write(&file, text).unwrap();
        let o = cli(
            data,
            &[
                "ingest",
                file.to_str().unwrap(),
                "--node",
                "ADM-ARR",
                "--date",
                "2023-01-10",
                "--json",
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        out.push((
            v["reference"].as_str().unwrap().to_owned(),
            v["sha256"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

fn segment(data: &Path) -> PathBuf {
    let mut segs: Vec<_> = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    segs.sort();
    segs.pop().unwrap()
}

#[test]
fn a_flipped_blob_byte_is_named_with_its_record() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    init(&data);
    let records = ingest_two(&data, tmp.path());
    let (reference, sha) = &records[1];
    flip_blob_byte(&blobs_of(&data), sha, 3);
    let out = cli(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report = stdout(&out);
    assert!(
        report.contains(reference.as_str()) && report.contains(sha.as_str()),
        "{report}"
    );
    assert!(
        !report.contains(records[0].0.as_str()),
        "the intact record is not blamed: {report}"
    );
    // The check projected the journal into a catalog on disk, in a scratch
    // folder of the data directory, and removed it once done.
    let scratch = data.join(".scratch");
    assert!(scratch.is_dir(), "the check's catalog was made on disk");
    assert_eq!(std::fs::read_dir(&scratch).unwrap().count(), 0, "and removed");
    // `get` refuses to hand out the damaged bytes.
    let o = cli(&data, &["get", reference, "-o", tmp.path().join("x").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    // One left by a process killed during a check goes at the next start.
    let left = scratch.join("verify-killed/catalog");
    std::fs::create_dir_all(&left).unwrap();
    std::fs::write(left.join("db"), b"pages of a killed check").unwrap();
    let out = cli(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(!scratch.join("verify-killed").exists(), "the leftover is removed");
    assert!(stdout(&out).contains(reference.as_str()), "the same finding");
}

#[test]
fn an_edited_journal_event_is_named_by_its_seq_and_the_archive_opens_read_only() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let admin = init(&data);
    let records = ingest_two(&data, tmp.path());
    let seg = segment(&data);
    let text = std::fs::read_to_string(&seg).unwrap();
    let line_no = text.lines().position(|l| l.contains(records[0].0.as_str())).unwrap();
    let seq = serde_json::from_str::<serde_json::Value>(text.lines().nth(line_no).unwrap()).unwrap()["seq"]
        .as_u64()
        .unwrap();
    let edited: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == line_no {
                l.replace("\"date\":\"2023-01-10\"", "\"date\":\"2013-01-10\"")
            } else {
                l.to_owned()
            }
        })
        .collect();
    assert_ne!(edited.join("\n") + "\n", text);
    std::fs::write(&seg, edited.join("\n") + "\n").unwrap();
    let out = cli(&data, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout(&out);
    assert!(report.contains(&format!("événement n° {seq} du journal :")), "{report}");
    // The record concerned is named with the damaged event, and no other
    // fault follows from it.
    assert!(
        report.contains(&format!("document concerné : {}", records[0].0)),
        "{report}"
    );
    assert_eq!(report.matches("DÉFAUT").count(), 1, "{report}");
    // The archive opens read-only: what the catalog holds is read, every
    // write is refused with the reason, and the journal is left as it is.
    let o = cli(&data, &["show", &records[1].0]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let file = tmp.path().join("troisieme.txt");
    std::fs::write(&file, "Arrêté du maire n°3").unwrap();
    let o = cli(
        &data,
        &[
            "ingest",
            file.to_str().unwrap(),
            "--node",
            "ADM-ARR",
            "--date",
            "2023-01-11",
        ],
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let said = stderr(&o);
    assert!(
        said.contains("lecture seule") && said.contains(&format!("n° {seq}")),
        "{said}"
    );
    let o = cli(&data, &["account", "disable", "admin"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("lecture seule"), "{}", stderr(&o));

    // A server on it serves reads and search, and answers writes 503.
    let server = Server::start(&data, &[]);
    let health = get(&server.url("/healthz"), "").json();
    assert_eq!(health["status"], "read_only", "{health}");
    assert!(
        health["reason"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("n° {seq}"))
    );
    for (reference, _) in &records {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), &admin);
        assert_eq!(record.status, 200, "{}", record.text());
        let content = get(&server.url(&format!("/api/v1/records/{reference}/content")), &admin);
        assert_eq!(content.status, 200);
        assert!(String::from_utf8_lossy(&content.body).starts_with("Arrêté du maire"));
    }
    // The index follows in the background: it is brought up to the
    // catalog, since the journal cannot be followed past the damage.
    let started = std::time::Instant::now();
    loop {
        let found = get(&server.url("/api/v1/search?q=arr%C3%AAt%C3%A9%20maire"), &admin).json();
        if found["total"] == 2 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "search never found both records: {found}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let refused = deposit(
        &server,
        &admin,
        b"Arrete du maire n 4",
        "quatrieme.txt",
        &json!({"node": "ADM-ARR", "date": "2023-01-12"}),
    )
    .expect("answer");
    assert_eq!(
        (refused.status, refused.error_code()),
        (503, "unavailable".to_owned()),
        "{}",
        refused.text()
    );
    assert!(refused.error_message().contains("lecture seule"), "{}", refused.text());
    server.stop();
    assert_eq!(
        std::fs::read_to_string(&seg).unwrap(),
        edited.join("\n") + "\n",
        "nothing was written to the damaged journal"
    );
}

#[test]
fn a_torn_last_event_is_cut_at_start_up() {
    let Fresh { tmp, data, token } = fresh_archive();
    let records = ingest_two(&data, tmp.path());
    let seg = segment(&data);
    let bytes = std::fs::read(&seg).unwrap();
    // Cut in the middle of the last event, as a crash during its write would.
    let last_start = bytes[..bytes.len() - 1].iter().rposition(|b| *b == b'\n').unwrap() + 1;
    let cut = last_start + (bytes.len() - last_start) / 2;
    std::fs::write(&seg, &bytes[..cut]).unwrap();

    let server = Server::start(&data, &[]);
    let first = get(&server.url(&format!("/api/v1/records/{}", records[0].0)), &token);
    assert_eq!(first.status, 200);
    let second = get(&server.url(&format!("/api/v1/records/{}", records[1].0)), &token);
    assert_eq!(second.status, 404, "the torn event is gone");
    let log = server.log_text();
    assert!(log.contains("torn"), "start-up logs the cut: {log}");
    // The archive goes on: a new deposit follows the last whole event.
    let a = deposit(
        &server,
        &token,
        b"suite",
        "suite.txt",
        &json!({"node": "ADM-ARR", "date": "2023-02-01"}),
    )
    .unwrap();
    assert_eq!(a.status, 201);
    server.stop();
    assert_eq!(std::fs::read(&seg).unwrap()[..last_start], bytes[..last_start]);
    let out = cli(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
}

/// A blob gone from the store is named with the record that uses it, and
/// only that one: the check's list of uses (sorted once the journal is
/// read) finds each blob's users by its digest.
#[test]
fn a_missing_blob_is_named_with_its_record_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    init(&data);
    // Larger than a pack takes: each is a file of its own.
    let texts: Vec<String> = (1..=2)
        .map(|n| format!("Arrêté du maire n°{n}. ").repeat(3000))
        .collect();
    let records = ingest_texts(&data, tmp.path(), &texts);
    let (reference, sha) = &records[0];
    remove_blob_file(&blobs_of(&data), sha);
    let out = cli(&data, &["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("the report in JSON");
    let failures = report["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{report}");
    assert_eq!(failures[0]["kind"], "blob_missing", "{report}");
    assert!(
        failures[0]["blob"].as_str().is_some_and(|b| b.ends_with(sha.as_str())),
        "{report}"
    );
    assert_eq!(failures[0]["used_by"][0]["reference"], reference.as_str(), "{report}");
    assert_eq!(failures[0]["used_by"].as_array().map(Vec::len), Some(1), "{report}");
}
