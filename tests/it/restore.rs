//! One copy folder alone rebuilds the whole archive: the journal, keys and
//! marker follow the blobs onto every copy folder, and `coffre restore
//! --from` builds a data directory from it after the first disk is lost.

use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// Waits until every copy folder holds the whole journal (`/stats`).
fn wait_for_copies(server: &Server, admin: &str) -> Value {
    for _ in 0..100 {
        let stats = get(&server.url("/api/v1/stats"), admin).json();
        let copies = stats["copies"].as_array().cloned().unwrap_or_default();
        if !copies.is_empty()
            && copies
                .iter()
                .all(|c| c["lag_events"] == 0 && c["error"].is_null() && c["contents_complete"] == true)
        {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the copies did not catch up with the journal");
}

fn content_of(server: &Server, token: &str, reference: &str) -> Vec<u8> {
    let answer = get(&server.url(&format!("/api/v1/records/{reference}/content")), token);
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.body
}

const QUERIES: [&str; 4] = [
    "facture",
    "délibération budget",
    "pains viennoiseries",
    "circulation rue",
];

#[test]
fn one_copy_folder_alone_rebuilds_the_whole_archive_after_the_data_directory_is_lost() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let copy = fresh.tmp.path().join("copie");
    let copy_arg = copy.to_str().expect("path");
    // The copy folder is given to an archive that holds nothing yet but its
    // plan: everything it then journals follows.
    let server = Server::start(&fresh.data, &["--copy", copy_arg]);
    let documents: [(&str, &[u8], Value); 3] = [
        (
            "facture.txt",
            b"Facture FA-2024-17 de la boulangerie Dupain : pains pour la cantine.",
            json!({"node": "FIN-FAC", "date": "2024-03-15", "fields": {"fournisseur": "Boulangerie Dupain"}}),
        ),
        (
            "deliberation.txt",
            "Délibération du conseil : le budget primitif est adopté.".as_bytes(),
            json!({"node": "ADM-DEL", "date": "2024-01-10"}),
        ),
        (
            "arrete.html",
            "<html><body><p>Arrêté temporaire de circulation, rue des Écoles.</p></body></html>".as_bytes(),
            json!({"node": "ADM-ART", "date": "2024-05-04"}),
        ),
    ];
    let mut references = Vec::new();
    for (name, content, meta) in &documents {
        let record = created(deposit(&server, admin, content, name, meta).expect("deposit"));
        references.push(record["reference"].as_str().expect("ref").to_owned());
    }
    let version = multipart(&[Part {
        name: "file",
        filename: Some(b"facture-v2.txt"),
        content: b"Facture FA-2024-17 corrigee : pains et viennoiseries.",
    }]);
    let added = post_multipart(
        &server.url(&format!("/api/v1/records/{}/versions", references[0])),
        admin,
        &version,
    )
    .expect("a version");
    assert_eq!(added.status, 201, "{}", added.text());
    created(post_json(
        &server.url("/api/v1/holds"),
        admin,
        &json!({"record": references[1], "reason": "contentieux"}),
    ));
    created(post_json(
        &server.url("/api/v1/accounts"),
        admin,
        &json!({"user": "claire", "display_name": "Claire", "role": "agent", "password": "une phrase de passe assez longue"}),
    ));
    let seal = post_json(&server.url("/api/v1/audit/seals"), admin, &json!({}));
    assert_eq!(seal.status, 201, "{}", seal.text());
    // What people see before the loss, once the index holds the last
    // version deposited (it follows the journal in order).
    for _ in 0..100 {
        let answer = get(&server.url("/api/v1/search?q=viennoiseries"), admin).json();
        if answer["total"] == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let searches: Vec<Vec<String>> = QUERIES
        .iter()
        .map(|query| hit_refs(&get(&server.url(&format!("/api/v1/search?q={}", url_encode(query))), admin).json()))
        .collect();
    assert!(searches.iter().all(|hits| !hits.is_empty()), "{searches:?}");
    let contents: Vec<Vec<u8>> = references.iter().map(|r| content_of(&server, admin, r)).collect();
    let first_version = get(
        &server.url(&format!("/api/v1/records/{}/content?version=1", references[0])),
        admin,
    )
    .body;
    let seals_before = get(&server.url("/api/v1/audit/seals"), admin).json()["seals"]
        .as_array()
        .map_or(0, Vec::len);
    let stats = wait_for_copies(&server, admin);
    let copies = &stats["copies"][0];
    assert_eq!(copies["store"], copy_arg, "{stats}");
    assert_eq!(copies["journal_through_seq"], stats["journal_head"], "{stats}");
    let metrics = get(&server.url("/metrics"), admin).text();
    assert!(
        metrics.contains(&format!("coffre_copy_journal_lag_events{{store=\"{copy_arg}\"}} 0")),
        "{metrics}"
    );
    server.stop();

    // The first disk is lost, whole.
    std::fs::remove_dir_all(&fresh.data).expect("lose the data directory");
    let out = cli(&fresh.data, &["restore", "--from", copy_arg]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let said = stdout(&out);
    assert!(said.contains("vérification : tout est intact"), "{said}");
    assert!(said.contains("3 documents"), "{said}");
    assert_journal_follows_its_schema(&fresh.data);

    // The restored archive serves what was there: the same token, the same
    // bytes, the same answers, the same password, every seal.
    let server = Server::start(&fresh.data, &["--copy", copy_arg]);
    for (reference, content) in references.iter().zip(&contents) {
        assert!(content_of(&server, admin, reference) == *content, "{reference} differs");
    }
    let restored_first = get(
        &server.url(&format!("/api/v1/records/{}/content?version=1", references[0])),
        admin,
    )
    .body;
    assert!(restored_first == first_version, "the first version differs");
    for (query, before) in QUERIES.iter().zip(&searches) {
        let answer = get(&server.url(&format!("/api/v1/search?q={}", url_encode(query))), admin).json();
        assert_eq!(&hit_refs(&answer), before, "{query}: {answer}");
    }
    let held = get(&server.url(&format!("/api/v1/records/{}", references[1])), admin).json();
    assert_eq!(
        held["retention"]["holds"].as_array().map(Vec::len),
        Some(1),
        "the hold is kept: {held}"
    );
    assert_eq!(login(&server, "claire", "une phrase de passe assez longue").status, 201);
    let seals = get(&server.url("/api/v1/audit/seals"), admin).json()["seals"]
        .as_array()
        .map_or(0, Vec::len);
    assert!(seals >= seals_before, "{seals} seals after, {seals_before} before");
    let report = verify_over_http(&server, admin);
    assert_eq!(report["status"], "passed", "{report}");
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=10000"), admin).json();
    let restored: Vec<&Value> = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "archive.restored")
        .collect();
    assert_eq!(restored.len(), 1, "{events}");
    assert_eq!(restored[0]["payload"]["from"], copy_arg);
    // The restored archive goes on: a deposit, and its copy.
    created(
        deposit(
            &server,
            admin,
            b"Mandat 2024-300",
            "mandat.txt",
            &json!({"node": "FIN-FAC", "date": "2024-06-01"}),
        )
        .expect("deposit"),
    );
    wait_for_copies(&server, admin);
    server.stop();

    // Only into an empty directory.
    let out = cli(&fresh.data, &["restore", "--from", copy_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("n'est pas vide"), "{}", stderr(&out));
    let out = cli(
        &fresh.tmp.path().join("autre"),
        &["restore", "--from", fresh.tmp.path().to_str().expect("path")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("ne contient pas d'archive"), "{}", stderr(&out));

    // A copy whose bytes changed is left behind, and the report names the
    // record that lacks it.
    let sha = sha256_hex(&contents[2]);
    flip_blob_byte(&copy, &sha, 5);
    let elsewhere = fresh.tmp.path().join("restauree");
    let out = cli(&elsewhere, &["restore", "--from", copy_arg]);
    assert_eq!(out.status.code(), Some(1), "{}{}", stdout(&out), stderr(&out));
    let said = stdout(&out);
    assert!(said.contains(&format!("CONTENU LAISSÉ : {sha}")), "{said}");
    assert!(said.contains(&references[2]), "the record concerned is named: {said}");
    assert!(
        stderr(&out).contains("la restauration est incomplète"),
        "{}",
        stderr(&out)
    );
}
