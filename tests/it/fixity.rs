//! The scheduled fixity job: a corrupt or missing blob is reported (log,
//! status, /stats, /metrics, journal); a run can be paused and resumed, and
//! a run killed with SIGKILL resumes where it stopped.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

fn ingest_files(data: &Path, dir: &Path, count: usize, size: usize) -> Vec<(String, String)> {
    std::fs::create_dir_all(dir).unwrap();
    let mut bytes = Bytes::new(7);
    for i in 0..count {
        std::fs::write(dir.join(format!("arrete-{i:03}.bin")), bytes.fill(size)).unwrap();
    }
    let o = cli(
        data,
        &[
            "ingest",
            dir.to_str().unwrap(),
            "--node",
            "ADM-ARR",
            "--date",
            "2024-02-01",
            "--meta",
            "portee=réglementaire",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["reference"].as_str().unwrap().to_owned(),
                v["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn fixity(server: &Server, token: &str) -> Value {
    let a = get(&server.url("/api/v1/audit/fixity"), token);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    a.json()
}

fn wait_for(server: &Server, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            Instant::now() < deadline,
            "waited too long for {what}: {}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_corrupt_and_a_missing_blob_are_reported_by_the_scheduled_job() {
    let Fresh { tmp, data, token } = fresh_archive();
    let records = ingest_files(&data, &tmp.path().join("in"), 3, UNPACKED);
    // One blob's byte flipped, another's file gone.
    flip_blob_byte(&blobs_of(&data), &records[0].1, 100);
    remove_blob_file(&blobs_of(&data), &records[1].1);

    let server = Server::start(&data, &["--fixity-every", "1s"]);
    let agent = new_token(&server, &token, "agent", "agent");
    wait_for(&server, "a finished fixity run", || {
        !fixity(&server, &token)["last"].is_null()
    });
    let status = fixity(&server, &token);
    let findings = status["last"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 2, "{status}");
    let of = |sha: &str| {
        findings
            .iter()
            .find(|f| f["blob"] == format!("sha256:{sha}"))
            .cloned()
            .unwrap()
    };
    assert_eq!(of(&records[0].1)["problem"], "corrupt");
    // Neither is served any more: 409 content_damaged, not damaged bytes
    // or a 500.
    for (reference, _) in &records[..2] {
        let a = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
        assert_eq!(
            (a.status, a.error_code().as_str()),
            (409, "content_damaged"),
            "{reference}"
        );
    }
    assert_eq!(
        get(
            &server.url(&format!("/api/v1/records/{}/content", records[2].0)),
            &token
        )
        .status,
        200,
        "the intact record is served"
    );
    assert_eq!(of(&records[0].1)["used_by"][0], records[0].0.as_str());
    assert_eq!(of(&records[1].1)["problem"], "missing");
    assert!(
        status["last"]["blobs_checked"].as_u64().unwrap() >= 6,
        "contents, metadata, plan: {status}"
    );

    // At once in the log, in /stats and /metrics, and in the journal.
    let log = server.log_text();
    assert!(
        log.contains("ERROR") && log.contains("fixity: a blob is corrupt"),
        "{log}"
    );
    let stats = get(&server.url("/api/v1/stats"), &agent);
    assert_eq!(stats.status, 200);
    let stats = stats.json();
    assert_eq!(stats["fixity"]["last_result"], "failed", "{stats}");
    assert_eq!(stats["fixity"]["last_findings"], 2);
    assert_eq!(stats["records"], 3);
    assert_eq!(stats["by_node"]["ADM-ARR"], 3);
    assert_eq!(stats["by_state"]["active"], 3);
    assert_eq!(get(&server.url("/metrics"), &agent).status, 403);
    let metrics = get(&server.url("/metrics"), &token);
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8_lossy(&metrics.body).to_string();
    assert!(text.contains("coffre_fixity_failures 2\n"), "{text}");
    assert!(text.contains("coffre_records{state=\"active\"} 3\n"), "{text}");
    // Three records make no large index segment: nothing reused.
    assert!(
        text.contains("coffre_search_large_segments_total{from=\"reused\"} 0\n"),
        "{text}"
    );
    // What waits behind the deposits: the index's lag, the readings.
    for gauge in ["coffre_index_lag_events", "coffre_reading_waiting_records"] {
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{gauge} ")))
            .and_then(|v| v.parse::<f64>().ok());
        assert!(value.is_some_and(|v| v >= 0.0), "{gauge}: {text}");
    }
    let events = get(&server.url("/api/v1/audit/events?after=0"), &token).json();
    let checked: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "fixity.checked")
        .collect();
    assert_eq!(checked[0]["payload"]["findings"].as_array().unwrap().len(), 2);
    server.stop();

    // From the command line, in the foreground: the same findings, exit 1.
    let out = cli(&data, &["audit", "fixity", "run", "--rate", "100MB"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("DÉFAUT : le contenu") && stdout(&out).contains("manquant"),
        "{}",
        stdout(&out)
    );
    let out = cli(&data, &["audit", "fixity", "--json"]);
    let status: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(status["state"], "idle");
    assert_journal_follows_its_schema(&data);
}

#[test]
fn a_fixity_run_pauses_resumes_and_survives_sigkill_where_it_stopped() {
    let Fresh { tmp, data, token } = fresh_archive();
    ingest_files(&data, &tmp.path().join("in"), 24, 256 * 1024);
    let flags = ["--fixity-every", "1s", "--fixity-rate", "1MiB"];
    let server = Server::start(&data, &flags);
    let checked = |server: &Server| fixity(server, &token)["run"]["blobs_checked"].as_u64().unwrap_or(0);
    wait_for(&server, "a run under way", || checked(&server) >= 3);

    // Paused: it stops after the blob under way, and stays stopped.
    let paused = post_json(
        &server.url("/api/v1/audit/fixity/pause"),
        &token,
        &serde_json::json!({}),
    );
    assert_eq!(paused.status, 200);
    assert_eq!(paused.json()["state"], "paused");
    std::thread::sleep(Duration::from_millis(800));
    let at_pause = checked(&server);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(checked(&server), at_pause, "no progress while paused");
    let resumed = post_json(
        &server.url("/api/v1/audit/fixity/resume"),
        &token,
        &serde_json::json!({}),
    );
    assert_eq!(resumed.json()["state"], "running");
    wait_for(&server, "progress after resuming", || checked(&server) >= at_pause + 3);

    // SIGKILL in the middle of the run.
    server.kill9();
    let state: Value = serde_json::from_slice(&std::fs::read(data.join("fixity.json")).unwrap()).unwrap();
    let before = state["run"]["blobs_checked"].as_u64().unwrap();
    let total = state["run"]["blobs_total"].as_u64().unwrap();
    assert!(before >= at_pause && before < total, "{state}");
    assert!(state["run"]["after"].is_string());

    let server = Server::start(&data, &flags);
    // It goes on from where it stopped, not from the start.
    let first = checked(&server);
    assert!(first >= before, "resumed at {first}, had checked {before}");
    wait_for(&server, "the run's end", || !fixity(&server, &token)["last"].is_null());
    let last = fixity(&server, &token)["last"].clone();
    assert_eq!(last["resumed"], 1, "{last}");
    assert_eq!(
        last["blobs_checked"].as_u64().unwrap(),
        total,
        "each blob counted once: {last}"
    );
    assert!(last["findings"].as_array().unwrap().is_empty());
    assert!(server.log_text().contains("fixity run resumed where it stopped"));
    server.stop();
    assert_journal_follows_its_schema(&data);
}

/// The plan's own file is a blob the journal refers to: a fresh archive,
/// and one with records, report no blob that nothing uses.
#[test]
fn the_plans_file_is_no_unreferenced_blob() {
    let Fresh { tmp, data, .. } = fresh_archive();
    let verified = |data: &Path| -> Value {
        let o = cli(data, &["audit", "verify", "--json"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        serde_json::from_str(stdout(&o).trim()).expect("the report in JSON")
    };
    let report = verified(&data);
    assert_eq!(report["unreferenced_blobs"], 0, "{report}");
    assert!(report["blobs_checked"].as_u64().unwrap() >= 1, "{report}");
    ingest_files(&data, &tmp.path().join("files"), 2, 100);
    assert_eq!(verified(&data)["unreferenced_blobs"], 0);
}

#[test]
fn the_scheduled_job_puts_back_damaged_copies_and_a_damaged_first_copy_from_them() {
    let Fresh { tmp, data, token } = fresh_archive();
    let copy = tmp.path().join("copie");
    let copy_flag = copy.to_str().unwrap().to_owned();
    // Deposited with the copy store: each content is on both.
    let server = Server::start(&data, &["--copy", &copy_flag]);
    let meta = serde_json::json!({"node": "FIN-FAC", "date": "2024-03-15"});
    let mut records = Vec::new();
    for i in 0..3 {
        // The first larger than a pack takes (its copy's file is removed
        // below), the others packed.
        let content = format!("Facture {i} de la papeterie : 1 200,00 EUR").repeat(if i == 0 { 2000 } else { 50 });
        let record = created(deposit(&server, &token, content.as_bytes(), "facture.txt", &meta).unwrap());
        records.push((
            record["reference"].as_str().unwrap().to_owned(),
            record["versions"][0]["sha256"].as_str().unwrap().to_owned(),
            content,
        ));
    }
    server.stop();
    let in_copy = |sha: &str| blob_bytes(&copy, sha);
    // The copy of the first is gone, the copy of the second altered, and
    // the first store's bytes of the third altered.
    remove_blob_file(&copy, &records[0].1);
    flip_blob_byte(&copy, &records[1].1, 7);
    flip_blob_byte(&blobs_of(&data), &records[2].1, 7);
    let server = Server::start(&data, &["--copy", &copy_flag, "--fixity-every", "1s"]);
    wait_for(&server, "a finished fixity run", || {
        !fixity(&server, &token)["last"].is_null()
    });
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=10000"), &token).json();
    let of_kind = |kind: &str| -> Vec<serde_json::Value> {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| e["payload"].clone())
            .collect()
    };
    // The plan's text, kept before the copy store was given, is caught up
    // as missing there too.
    let copies = of_kind("copy.repaired");
    assert_eq!(copies.len(), 3, "{copies:?}");
    for (i, problem) in [(0, "missing"), (1, "corrupt")] {
        assert!(
            copies
                .iter()
                .any(|c| c["blob"] == format!("sha256:{}", records[i].1) && c["problem"] == problem),
            "{copies:?}"
        );
    }
    let repaired = of_kind("blob.repaired");
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(repaired[0]["blob"], format!("sha256:{}", records[2].1));
    // Every copy and every first copy is whole again, and served.
    for (reference, sha, content) in &records {
        assert!(in_copy(sha).is_some_and(|b| b == content.as_bytes()), "{reference}");
        assert!(
            blob_bytes(&blobs_of(&data), sha).is_some_and(|b| b == content.as_bytes()),
            "{reference}"
        );
        let a = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
        assert_eq!(a.status, 200, "{reference}");
    }
}
