//! Damaged content is never served: a reading hashes what it streams and
//! cuts the client short at a mismatch, the damage is journaled and every
//! later reading, export or record view says so, until the same bytes
//! deposited again repair it.

use crate::common::*;
use serde_json::{Value, json};
use std::io::Read;

/// What a client gets of a content: the status, the length announced and
/// the bytes it could read (an error: the transfer was cut).
fn fetch(
    server: &Server,
    token: &str,
    reference: &str,
    range: Option<&str>,
) -> (u16, Option<u64>, Result<Vec<u8>, String>) {
    let mut request = ureq::get(&server.url(&format!("/api/v1/records/{reference}/content")))
        .set("Authorization", &format!("Bearer {token}"));
    if let Some(range) = range {
        request = request.set("Range", range);
    }
    let response = match request.call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => return (0, None, Err(e.to_string())),
    };
    let status = response.status();
    let announced = response.header("content-length").and_then(|v| v.parse().ok());
    let mut body = Vec::new();
    let read = response
        .into_reader()
        .read_to_end(&mut body)
        .map(|_| body)
        .map_err(|e| e.to_string());
    (status, announced, read)
}

/// Fails, without printing the bytes, unless the answer is `status` with
/// exactly `expected`.
fn assert_served(status: u16, body: &Result<Vec<u8>, String>, want: u16, expected: &[u8]) {
    let got = body.as_ref().map(Vec::len);
    assert!(
        status == want && body.as_ref().is_ok_and(|b| b.as_slice() == expected),
        "answered {status} with {got:?} bytes; expected {want} with {} bytes",
        expected.len()
    );
}

fn events_of_kind(server: &Server, admin: &str, kind: &str) -> Vec<Value> {
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=10000"), admin).json();
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}

/// Flips one byte of a blob on disk, as a failing disk would.
fn flip_a_byte(data: &std::path::Path, sha: &str, at: usize) {
    flip_blob_byte(&blobs_of(data), sha, at);
}

fn text_of(n: usize, seed: &str) -> Vec<u8> {
    (0..n)
        .map(|i| format!("{seed} ligne {i} : mandat de paiement, bordereau et pièces justificatives.\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn a_changed_byte_is_never_served_and_the_same_file_deposited_again_repairs_it() {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let admin = &fresh.token;
    let meta = json!({"node": "FIN-FAC", "date": "2024-03-15"});
    // A content larger than what a reading holds back, and a small one.
    let large = text_of(4000, "Facture");
    let small = b"Facture 2024-007 : 1 200,00 EUR TTC".to_vec();
    let mut records = Vec::new();
    for (content, name) in [(&large, "grande.txt"), (&small, "petite.txt")] {
        let record = created(deposit(&server, admin, content, name, &meta).expect("deposit"));
        records.push((
            record["reference"].as_str().expect("reference").to_owned(),
            record["versions"][0]["sha256"].as_str().expect("sha").to_owned(),
        ));
    }
    // Intact: served whole, and a range of it too.
    let (status, _, body) = fetch(&server, admin, &records[0].0, None);
    assert_served(status, &body, 200, &large[..]);
    let (status, _, body) = fetch(&server, admin, &records[0].0, Some("bytes=100-199"));
    assert_served(status, &body, 206, &large[100..200]);

    for (i, (reference, sha)) in records.iter().enumerate() {
        let original = if i == 0 { &large } else { &small };
        flip_a_byte(&fresh.data, sha, original.len() - 3);
        // The reading is cut short: never the whole announced length.
        let (status, announced, body) = fetch(&server, admin, reference, None);
        assert_eq!(status, 200, "{reference}: the head was sent before the damage showed");
        match body {
            Ok(bytes) => {
                assert!(
                    announced.is_some_and(|n| (bytes.len() as u64) < n),
                    "{reference}: a complete body of {} bytes was served",
                    bytes.len()
                );
                assert!(bytes.len() < original.len(), "{reference}");
            }
            Err(cut) => assert!(!cut.is_empty()),
        }
        // From then on: 409, said in French, on the record too.
        let (status, _, body) = fetch(&server, admin, reference, None);
        assert_eq!(status, 409, "{reference}");
        let answer: Value = serde_json::from_slice(&body.expect("an answer")).expect("JSON");
        assert_eq!(answer["error"]["code"], "content_damaged");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("empreinte") && message.contains("lecture"),
            "{message}"
        );
        // What repairs it, said once.
        assert_eq!(message.matches("aucune copie intacte").count(), 1, "{message}");
        assert!(
            message.ends_with("déposer à nouveau le fichier d'origine le répare"),
            "{message}"
        );
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), admin).json();
        assert!(record["versions"][0]["damaged"].is_string(), "{record}");
    }
    let damaged = events_of_kind(&server, admin, "blob.damaged");
    assert_eq!(damaged.len(), 2, "journaled once each: {damaged:?}");
    assert!(
        damaged
            .iter()
            .all(|e| e["payload"]["found_by"] == "read" && e["payload"]["problem"] == "corrupt")
    );
    assert_eq!(damaged[0]["payload"]["used_by"], json!([records[0].0]));
    // The archive's health says so.
    let health = get(&server.url("/api/v1/indicators/health"), admin).json();
    assert_eq!(health["open_damage"], 2, "{health}");
    let month = &health["months"][0];
    assert_eq!(
        (&month["damage_found"], &month["damage_repaired"]),
        (&json!(2), &json!(0)),
        "{health}"
    );

    // An export of a damaged record is refused with the reason, not a 500.
    let export = post_json(
        &server.url("/api/v1/exports"),
        admin,
        &json!({"records": [records[0].0]}),
    );
    assert_eq!(
        (export.status, export.error_code()),
        (409, "content_damaged".to_owned()),
        "{}",
        export.text()
    );

    // The same bytes deposited again (a new record) repair the first.
    let again = created(deposit(&server, admin, &large, "grande-copie.txt", &meta).expect("deposit"));
    assert_eq!(again["repaired"], true, "{again}");
    let (status, _, body) = fetch(&server, admin, &records[0].0, None);
    assert_served(status, &body, 200, &large[..]);
    // And as a new version of a record.
    let version = post_multipart(
        &server.url(&format!(
            "/api/v1/records/{}/versions",
            again["reference"].as_str().expect("ref")
        )),
        admin,
        &multipart(&[Part {
            name: "file",
            filename: Some(b"petite.txt"),
            content: &small,
        }]),
    )
    .expect("version");
    assert_eq!(version.status, 201, "{}", version.text());
    assert_eq!(version.json()["repaired"], true);
    let (status, _, body) = fetch(&server, admin, &records[1].0, None);
    assert_served(status, &body, 200, &small[..]);
    let repaired = events_of_kind(&server, admin, "blob.repaired");
    assert_eq!(repaired.len(), 2, "{repaired:?}");
    assert_eq!(repaired[0]["payload"]["source"], "deposit");
    let record = get(&server.url(&format!("/api/v1/records/{}", records[0].0)), admin).json();
    assert!(record["versions"][0].get("damaged").is_none(), "{record}");
    let health = get(&server.url("/api/v1/indicators/health"), admin).json();
    assert_eq!(health["open_damage"], 0, "{health}");
    assert_eq!(health["months"][0]["damage_repaired"], 2, "{health}");
    let csv = get(&server.url("/api/v1/indicators/health?format=csv"), admin).text();
    assert!(csv.contains("\"contenus réparés\";\"2\""), "{csv}");
    server.stop();
    assert_journal_follows_its_schema(&fresh.data);
}

#[test]
fn a_missing_blob_answers_409_and_a_range_of_a_damaged_one_is_refused() {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let admin = &fresh.token;
    let meta = json!({"node": "FIN-FAC", "date": "2024-03-15"});
    let gone = text_of(1000, "Perdue");
    let record = created(deposit(&server, admin, &gone, "perdue.txt", &meta).expect("deposit"));
    let (reference, sha) = (
        record["reference"].as_str().expect("ref").to_owned(),
        record["versions"][0]["sha256"].as_str().expect("sha").to_owned(),
    );
    assert!(gone.len() >= UNPACKED);
    remove_blob_file(&blobs_of(&fresh.data), &sha);
    let (status, _, _) = fetch(&server, admin, &reference, None);
    assert_eq!(status, 409);
    let damaged = events_of_kind(&server, admin, "blob.damaged");
    assert_eq!(damaged.len(), 1);
    assert_eq!(damaged[0]["payload"]["problem"], "missing");

    // A range of a damaged content, asked before any whole reading: the
    // whole is checked first, and the range refused.
    let large = text_of(4000, "Registre");
    let record = created(deposit(&server, admin, &large, "registre.txt", &meta).expect("deposit"));
    let (reference, sha) = (
        record["reference"].as_str().expect("ref").to_owned(),
        record["versions"][0]["sha256"].as_str().expect("sha").to_owned(),
    );
    server.stop();
    let server = Server::start(&fresh.data, &[]);
    flip_a_byte(&fresh.data, &sha, large.len() - 10);
    let (status, _, _) = fetch(&server, admin, &reference, Some("bytes=0-99"));
    assert_eq!(status, 409, "a range of a damaged content was served");
    assert_eq!(fetch(&server, admin, &reference, None).0, 409);
    assert_eq!(events_of_kind(&server, admin, "blob.damaged").len(), 2);
}

#[test]
fn a_second_copy_repairs_what_a_reading_finds_damaged_and_a_missing_copy_store_refuses_deposits() {
    let fresh = fresh_archive();
    let copy = fresh.tmp.path().join("copie");
    let server = Server::start(&fresh.data, &["--copy", copy.to_str().expect("path")]);
    let admin = &fresh.token;
    let meta = json!({"node": "FIN-FAC", "date": "2024-03-15"});
    let content = text_of(4000, "Mandat");
    let record = created(deposit(&server, admin, &content, "mandat.txt", &meta).expect("deposit"));
    let (reference, sha) = (
        record["reference"].as_str().expect("ref").to_owned(),
        record["versions"][0]["sha256"].as_str().expect("sha").to_owned(),
    );
    // Acknowledged: the copy holds the bytes already.
    assert!(
        blob_bytes(&copy, &sha).is_some_and(|b| b == content),
        "the copy holds the deposit"
    );
    // The stock says it is kept twice.
    let stock = get(&server.url("/api/v1/indicators/stocks"), admin).json();
    assert_eq!(stock["copies"], 2, "{stock}");
    assert_eq!(
        stock["stored_bytes"].as_u64(),
        stock["total"]["bytes"].as_u64().map(|b| b * 2),
        "{stock}"
    );

    // A byte changes on the first disk: that reading is cut, the blob is
    // put back from the copy, and the next reading is whole and right.
    flip_a_byte(&fresh.data, &sha, 10);
    let (_, announced, body) = fetch(&server, admin, &reference, None);
    assert!(
        body.as_ref()
            .map_or(true, |b| announced.is_some_and(|n| (b.len() as u64) < n)),
        "a damaged content was served whole"
    );
    let (status, _, body) = fetch(&server, admin, &reference, None);
    assert!(status == 200 && body.is_ok_and(|b| b == content), "{status}");
    let repaired = events_of_kind(&server, admin, "blob.repaired");
    assert_eq!(repaired.len(), 1, "{repaired:?}");
    assert_eq!(repaired[0]["payload"]["source"], copy.display().to_string());
    assert_eq!(repaired[0]["payload"]["used_by"], json!([reference]));
    assert_eq!(events_of_kind(&server, admin, "blob.damaged").len(), 1);

    // Gone from the first disk: put back at the reading, which is served.
    remove_blob_file(&blobs_of(&fresh.data), &sha);
    let (status, _, body) = fetch(&server, admin, &reference, None);
    assert!(status == 200 && body.is_ok_and(|b| b == content), "{status}");
    assert_eq!(events_of_kind(&server, admin, "blob.repaired").len(), 2);

    // The copy store gone (its disk unmounted): a deposit is refused with
    // the reason, and nothing of it is acknowledged.
    std::fs::rename(&copy, fresh.tmp.path().join("copie-demontee")).expect("rename");
    std::fs::write(&copy, b"not a folder").expect("file");
    let refused = deposit(&server, admin, b"Mandat 2024-999", "autre.txt", &meta).expect("answer");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(
        refused.error_message().contains("stockage de copies"),
        "{}",
        refused.text()
    );
    let found = get(&server.url("/api/v1/search?q=999"), admin).json();
    assert_eq!(found["total"], 0, "{found}");
}

#[test]
fn repair_gives_a_new_copy_store_what_it_lacks_puts_back_what_is_lost_and_lists_what_it_cannot() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let meta = json!({"node": "FIN-FAC", "date": "2024-03-15"});
    // Two records deposited while the archive kept one copy.
    let server = Server::start(&fresh.data, &[]);
    let mut records = Vec::new();
    for (i, name) in ["mandat-1.txt", "mandat-2.txt"].into_iter().enumerate() {
        // Larger than a pack takes: their files are removed below.
        let content = text_of(1000 + i, name);
        let record = created(deposit(&server, admin, &content, name, &meta).expect("deposit"));
        records.push((
            record["reference"].as_str().expect("ref").to_owned(),
            record["versions"][0]["sha256"].as_str().expect("sha").to_owned(),
            content,
        ));
    }
    server.stop();

    // A copy folder added: the server gives it every content in use, in
    // the background, each journaled.
    let copy = fresh.tmp.path().join("copie");
    let server = Server::start(&fresh.data, &["--copy", copy.to_str().expect("path")]);
    for _ in 0..100 {
        let stats = get(&server.url("/api/v1/stats"), admin).json();
        if stats["copies"][0]["contents_complete"] == true {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let journaled: Vec<Value> = events_of_kind(&server, admin, "copy.repaired");
    for (_, sha, content) in &records {
        assert!(
            blob_bytes(&copy, sha).is_some_and(|b| &b == content),
            "the copy holds {sha}"
        );
        assert!(
            journaled
                .iter()
                .any(|e| e["payload"]["blob"] == format!("sha256:{sha}") && e["payload"]["problem"] == "missing"),
            "{journaled:?}"
        );
    }
    let agent = new_token(&server, admin, "agent", "agent-reparation");
    let refused = post_json(&server.url("/api/v1/repair"), &agent, &json!({}));
    assert_eq!(refused.status, 403, "{}", refused.text());
    let answer = post_json(&server.url("/api/v1/repair"), admin, &json!({}));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let report = answer.json();
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["copies"], json!([copy.display().to_string()]));
    assert_eq!(report["copies_completed"], json!([]), "nothing left to do: {report}");

    // A file removed from the copy: the repair gives it back.
    let (_, lost, content) = &records[1];
    remove_blob_file(&copy, lost);
    let report = post_json(&server.url("/api/v1/repair"), admin, &json!({})).json();
    assert_eq!(
        report["copies_completed"],
        json!([{"blob": lost, "copy": copy.display().to_string()}]),
        "{report}"
    );
    assert!(blob_bytes(&copy, lost).is_some_and(|b| &b == content));
    assert_eq!(
        events_of_kind(&server, admin, "copy.repaired").len(),
        journaled.len() + 1,
        "each completed copy is journaled"
    );

    // A content lost from the first disk, before anyone reads it: the
    // repair finds it missing and puts it back from the copy.
    let (reference, sha, content) = &records[0];
    remove_blob_file(&blobs_of(&fresh.data), sha);
    let report = post_json(&server.url("/api/v1/repair"), admin, &json!({})).json();
    assert_eq!(report["complete"], true, "{report}");
    assert_eq!(report["repaired"][0]["blob"], sha.as_str(), "{report}");
    assert_eq!(report["repaired"][0]["source"], copy.display().to_string());
    assert_eq!(report["repaired"][0]["used_by"], json!([reference]));
    let damaged = events_of_kind(&server, admin, "blob.damaged");
    assert_eq!(damaged.len(), 1, "{damaged:?}");
    assert_eq!(damaged[0]["payload"]["found_by"], "repair");
    assert_eq!(events_of_kind(&server, admin, "blob.repaired").len(), 1);
    let (status, _, body) = fetch(&server, admin, reference, None);
    assert!(status == 200 && body.is_ok_and(|b| &b == content), "{status}");

    // Lost from both: listed with its record and what to do; the record
    // answers content_damaged.
    let (reference, sha, _) = &records[1];
    remove_blob_file(&blobs_of(&fresh.data), sha);
    remove_blob_file(&copy, sha);
    let report = post_json(&server.url("/api/v1/repair"), admin, &json!({})).json();
    assert_eq!(report["complete"], false, "{report}");
    let unrepaired = &report["unrepaired"][0];
    assert_eq!(unrepaired["blob"], sha.as_str(), "{report}");
    assert_eq!(unrepaired["problem"], "missing");
    assert_eq!(unrepaired["used_by"], json!([reference]));
    assert!(
        unrepaired["reason"]
            .as_str()
            .is_some_and(|r| r.contains("aucune copie")),
        "{report}"
    );
    let (status, _, _) = fetch(&server, admin, reference, None);
    assert_eq!(status, 409);
    server.stop();

    // The command line, on the stopped archive's directory: the same list,
    // in French, and exit 1 with one line saying what.
    let out = cli(&fresh.data, &["--copy", copy.to_str().expect("path"), "repair"]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let listed = stdout(&out);
    assert!(
        listed.contains(&format!("NON RÉPARÉ : {sha} est manquant ({reference})")),
        "{listed}"
    );
    assert!(listed.contains("bilan : 0 contenu réparé"), "{listed}");
    assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 contenu n'a pu être réparé"),
        "{}",
        stderr(&out)
    );
    let out = cli(&fresh.data, &["repair", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(report["copies"], json!([]));
    assert!(
        report["unrepaired"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("aucun stockage de copies")),
        "{report}"
    );
}

#[test]
fn the_plan_says_how_many_stores_a_node_needs_and_a_copy_store_that_was_down_is_given_what_it_missed() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let copy = fresh.tmp.path().join("copie");
    let server = Server::start(&fresh.data, &["--copy", copy.to_str().expect("path")]);
    let plan = coffre::policies::DEFAULT_PLAN
        .replace("code = \"FIN-FAC\"\n", "code = \"FIN-FAC\"\ncopies = 1\n")
        .replace("code = \"ADM-DEL\"\n", "code = \"ADM-DEL\"\ncopies = 3\n");
    let published = put_plan(&server, admin, &plan, false);
    assert!(published.status < 300, "{}", published.text());
    let wrong = put_plan(&server, admin, &plan.replace("copies = 3", "copies = 12"), true);
    assert_eq!(wrong.status, 422, "{}", wrong.text());
    assert!(wrong.text().contains("nodes[1].copies"), "{}", wrong.text());

    // Three copies of a délibération, two stores: refused, and why.
    let deliberation = json!({"node": "ADM-DEL", "date": "2024-01-10"});
    let refused = deposit(
        &server,
        admin,
        b"Deliberation 2024-01",
        "deliberation.txt",
        &deliberation,
    )
    .expect("answer");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.error_code(), "copies_unavailable");
    assert!(
        refused.error_message().contains("3 copies sont demandées"),
        "{}",
        refused.text()
    );

    // The copy store down: an invoice (one store is enough) is kept and
    // owed to it; an arrêté (no number said: every store) is refused.
    let unmounted = fresh.tmp.path().join("copie-demontee");
    std::fs::rename(&copy, &unmounted).expect("unmount");
    std::fs::write(&copy, b"not a folder").expect("file");
    let content = text_of(30, "Facture");
    let invoice = deposit(
        &server,
        admin,
        &content,
        "facture.txt",
        &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
    )
    .expect("answer");
    assert_eq!(invoice.status, 201, "{}", invoice.text());
    let sha = invoice.json()["versions"][0]["sha256"]
        .as_str()
        .expect("sha")
        .to_owned();
    let stats = get(&server.url("/api/v1/stats"), admin).json();
    assert!(stats["copies"][0]["contents_owed"].as_u64() >= Some(1), "{stats}");
    let arrete = deposit(
        &server,
        admin,
        b"Arrete 2024-7",
        "arrete.txt",
        &json!({"node": "ADM-ART", "date": "2024-05-04"}),
    )
    .expect("answer");
    assert_eq!(arrete.status, 503, "{}", arrete.text());
    assert_eq!(arrete.error_code(), "copies_unavailable");

    // Back: what it missed is written within seconds.
    std::fs::remove_file(&copy).expect("remove the file");
    std::fs::rename(&unmounted, &copy).expect("mount again");
    let mut owed = None;
    for _ in 0..100 {
        let stats = get(&server.url("/api/v1/stats"), admin).json();
        owed = stats["copies"][0]["contents_owed"].as_u64();
        if owed == Some(0) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(owed, Some(0));
    assert!(
        blob_bytes(&copy, &sha).is_some_and(|b| b == content),
        "the copy holds the invoice"
    );
    server.stop();
}

#[test]
fn a_disposal_erases_every_copy_and_its_certificate_names_each_store() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let copy = fresh.tmp.path().join("copie");
    let server = Server::start(&fresh.data, &["--copy", copy.to_str().expect("path")]);
    let content = b"Facture ancienne de la papeterie, a eliminer.";
    let record = created(
        deposit(
            &server,
            admin,
            content,
            "facture.txt",
            &json!({"node": "FIN-FAC", "date": years_ago(11)}),
        )
        .expect("deposit"),
    );
    let sha = record["versions"][0]["sha256"].as_str().expect("sha").to_owned();
    assert!(locate_blob(&copy, &sha).is_some(), "copied at deposit");
    let id = created(post_json(
        &server.url("/api/v1/disposals"),
        admin,
        &json!({"node": "FIN-FAC"}),
    ))["id"]
        .as_u64()
        .expect("an id");
    let approved = post_json(
        &server.url(&format!("/api/v1/disposals/{id}/approve")),
        admin,
        &json!({"visa": "AD-2026-9", "signer": "Directrice des Archives"}),
    );
    assert_eq!(approved.status, 200, "{}", approved.text());
    let executed = post_json(
        &server.url(&format!("/api/v1/disposals/{id}/execute")),
        admin,
        &json!({}),
    );
    assert_eq!(executed.status, 200, "{}", executed.text());
    assert!(
        locate_blob(&blobs_of(&fresh.data), &sha).is_none(),
        "erased from the data directory"
    );
    assert!(locate_blob(&copy, &sha).is_none(), "erased from the copy folder");
    let certificate = get(&server.url(&format!("/api/v1/disposals/{id}/certificate")), admin).json();
    assert_eq!(
        certificate["erased"]["stores"],
        json!([fresh.data.display().to_string(), copy.display().to_string()]),
        "{certificate}"
    );
    let erased = events_of_kind(&server, admin, "disposal.erased");
    assert_eq!(erased[0]["payload"]["stores"], certificate["erased"]["stores"]);
    server.stop();
    assert_journal_follows_its_schema(&fresh.data);
}

#[test]
fn a_catalog_its_engine_finds_damaged_is_set_aside_and_rebuilt_from_the_journal_at_start() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let server = Server::start(&fresh.data, &[]);
    let mut references = Vec::new();
    for (i, text) in ["Facture de la boulangerie Dupain", "Facture de la papeterie Martin"]
        .iter()
        .enumerate()
    {
        let record = created(
            deposit(
                &server,
                admin,
                text.as_bytes(),
                &format!("facture-{i}.txt"),
                &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
            )
            .expect("deposit"),
        );
        references.push(record["reference"].as_str().expect("ref").to_owned());
    }
    server.stop();
    // The catalog's engine marker overwritten: fjall says it cannot read
    // what it finds when it opens.
    std::fs::write(fresh.data.join("catalog").join("version"), b"\xff\xff\xff\xff").expect("damage the catalog");

    let server = Server::start(&fresh.data, &[]);
    for reference in &references {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), admin);
        assert_eq!(record.status, 200, "{}", record.text());
    }
    let mut found = Value::Null;
    for _ in 0..100 {
        found = get(&server.url("/api/v1/search?q=papeterie"), admin).json();
        if found["total"] == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(hit_refs(&found), vec![references[1].clone()], "{found}");
    let rebuilt = events_of_kind(&server, admin, "catalog.rebuilt");
    assert_eq!(rebuilt.len(), 1, "{rebuilt:?}");
    let aside = rebuilt[0]["payload"]["set_aside"]
        .as_str()
        .expect("where it went")
        .to_owned();
    assert!(
        aside.contains("catalog.endommage-") && std::path::Path::new(&aside).is_dir(),
        "{aside}"
    );
    // Writes go on, and the archive checks whole.
    created(
        deposit(
            &server,
            admin,
            b"Mandat 2024-12",
            "mandat.txt",
            &json!({"node": "FIN-FAC", "date": "2024-04-02"}),
        )
        .expect("deposit"),
    );
    let report = verify_over_http(&server, admin);
    assert_eq!(report["status"], "passed", "{report}");
    server.stop();
    assert_journal_follows_its_schema(&fresh.data);
}
