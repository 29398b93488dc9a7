//! Copies in an S3-compatible bucket, against a real Garage server started
//! on loopback (installed by `make garage`, named by `GARAGE`): a deposit is
//! acknowledged once the bucket holds its content, read back and hashed;
//! the bucket down refuses deposits that need it and owes the others; a
//! content lost from the bucket is put back by fixity; and the bucket alone
//! rebuilds the whole archive after the data directory is lost.

use crate::common::*;
use crate::follow::waited;
use crate::garage::{BUCKET, BucketView, Garage};
use serde_json::{Value, json};

const PREFIX: &str = "departement";

fn events_of_kind(server: &Server, token: &str, kind: &str) -> Vec<Value> {
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=10000"), token).json();
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == kind)
        .map(|e| e["payload"].clone())
        .collect()
}

/// Waits until the bucket holds the whole journal and every content.
fn wait_for_copy(server: &Server, admin: &str) -> Value {
    let mut last = Value::Null;
    waited("the bucket to catch up with the journal", || {
        last = get(&server.url("/api/v1/stats"), admin).json();
        last["copies"].as_array().is_some_and(|copies| {
            !copies.is_empty()
                && copies
                    .iter()
                    .all(|c| c["lag_events"] == 0 && c["error"].is_null() && c["contents_complete"] == true)
        })
    });
    last
}

#[test]
fn a_bucket_holds_every_deposit_before_it_is_acknowledged_is_repaired_by_fixity_and_alone_rebuilds_the_archive() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let mut garage = Garage::start(&fresh.tmp.path().join("garage"));
    let env = garage.env();
    let view = garage.view();
    let address = format!("s3://{BUCKET}/{PREFIX}");
    let server = Server::start_with(&fresh.data, &["--copy", &address], &env);
    // An invoice may wait for its second copy; every other node needs both.
    let plan = coffre::policies::DEFAULT_PLAN.replace("code = \"FIN-FAC\"\n", "code = \"FIN-FAC\"\ncopies = 1\n");
    let published = put_plan(&server, admin, &plan, false);
    assert!(published.status < 300, "{}", published.text());

    // Each deposit is in the bucket, whole, when it is acknowledged.
    let documents: [(&str, Vec<u8>, Value); 3] = [
        (
            "deliberation.txt",
            "Délibération du conseil départemental : le budget primitif est adopté."
                .as_bytes()
                .to_vec(),
            json!({"node": "ADM-DEL", "date": "2024-01-10"}),
        ),
        (
            "arrete.txt",
            "Arrêté temporaire de circulation, rue des Écoles.".as_bytes().to_vec(),
            json!({"node": "ADM-ART", "date": "2024-05-04"}),
        ),
        (
            // Larger than one request: sent in parts.
            "plan-cadastral.bin",
            Bytes::new(7).fill(9 * 1024 * 1024 + 17),
            json!({"node": "ADM-ART", "date": "2024-06-12"}),
        ),
    ];
    let mut records = Vec::new();
    for (name, content, meta) in &documents {
        let record = created(deposit(&server, admin, content, name, meta).expect("deposit"));
        let sha = record["versions"][0]["sha256"].as_str().expect("sha").to_owned();
        assert!(
            view.get(&BucketView::blob_key(PREFIX, &sha)).as_deref() == Some(content.as_slice()),
            "{name} is not in the bucket when acknowledged"
        );
        records.push((
            record["reference"].as_str().expect("ref").to_owned(),
            sha,
            content.clone(),
        ));
    }

    // The bucket down: what needs it is refused with the reason, and an
    // invoice is kept, owed to the bucket.
    garage.stop();
    let refused = deposit(
        &server,
        admin,
        b"Deliberation 2024-02",
        "deliberation.txt",
        &json!({"node": "ADM-DEL", "date": "2024-02-14"}),
    )
    .expect("an answer");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.error_message().contains(&address), "{}", refused.text());
    let invoice_content = b"Facture FA-2024-88 de la papeterie : 1 200,00 EUR".to_vec();
    let invoice = created(
        deposit(
            &server,
            admin,
            &invoice_content,
            "facture.txt",
            &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
        )
        .expect("deposit"),
    );
    let invoice_sha = invoice["versions"][0]["sha256"].as_str().expect("sha").to_owned();
    let stats = get(&server.url("/api/v1/stats"), admin).json();
    assert_eq!(stats["copies"][0]["store"], address.as_str(), "{stats}");
    assert!(stats["copies"][0]["contents_owed"].as_u64() >= Some(1), "{stats}");

    // Back: the invoice is written to it, and nothing acknowledged lacks.
    garage.run();
    waited("the owed copy", || {
        view.get(&BucketView::blob_key(PREFIX, &invoice_sha)).as_deref() == Some(invoice_content.as_slice())
    });
    records.push((
        invoice["reference"].as_str().expect("ref").to_owned(),
        invoice_sha,
        invoice_content,
    ));
    wait_for_copy(&server, admin);
    server.stop();

    // A content lost from the bucket is found by fixity and put back.
    view.delete(&BucketView::blob_key(PREFIX, &records[0].1));
    let server = Server::start_with(&fresh.data, &["--copy", &address, "--fixity-every", "1s"], &env);
    // The copy is written before its repair is journaled: the event is
    // what says the repair is over.
    let mut repaired = Vec::new();
    waited("fixity to put the copy back and journal it", || {
        repaired = events_of_kind(&server, admin, "copy.repaired");
        repaired
            .iter()
            .any(|c| c["blob"] == format!("sha256:{}", records[0].1) && c["copy"] == address.as_str())
    });
    assert_eq!(
        view.get(&BucketView::blob_key(PREFIX, &records[0].1)).as_deref(),
        Some(records[0].2.as_slice()),
        "{repaired:?}"
    );
    let mut before = Vec::new();
    waited("the index to hold the délibération", || {
        before = hit_refs(&get(&server.url("/api/v1/search?q=budget"), admin).json());
        !before.is_empty()
    });
    assert_eq!(before, vec![records[0].0.clone()]);
    wait_for_copy(&server, admin);
    server.stop();
    assert!(
        !view.keys(&format!("{PREFIX}/journal")).expect("list").is_empty()
            && view.get(&format!("{PREFIX}/coffre.json")).is_some()
            && view.get(&format!("{PREFIX}/keys/operator.token")).is_none(),
        "the archive's own files are in the bucket"
    );

    // The first disk is lost, whole: the bucket alone rebuilds it.
    std::fs::remove_dir_all(&fresh.data).expect("lose the data directory");
    let out = cli_with(&fresh.data, &["restore", "--from", &address], &env);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("vérification : tout est intact"),
        "{}",
        stdout(&out)
    );
    assert_journal_follows_its_schema(&fresh.data);
    let server = Server::start_with(&fresh.data, &["--copy", &address], &env);
    for (reference, _, content) in &records {
        let answer = get(&server.url(&format!("/api/v1/records/{reference}/content")), admin);
        assert!(answer.status == 200 && answer.body == *content, "{reference} differs");
    }
    let answer = get(&server.url("/api/v1/search?q=budget"), admin).json();
    assert_eq!(hit_refs(&answer), before, "{answer}");
    let report = verify_over_http(&server, admin);
    assert_eq!(report["status"], "passed", "{report}");
    let restored = events_of_kind(&server, admin, "archive.restored");
    assert_eq!(restored.len(), 1, "{restored:?}");
    assert_eq!(restored[0]["from"], address.as_str());
    server.stop();

    // An address that holds no archive is refused before anything is
    // written.
    let out = cli_with(
        &fresh.tmp.path().join("autre"),
        &["restore", "--from", &format!("s3://{BUCKET}/rien")],
        &env,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("ne contient pas d'archive"), "{}", stderr(&out));
    assert!(!fresh.tmp.path().join("autre").exists());
}

#[test]
fn a_replica_started_on_a_bucket_serves_what_the_primary_deposits() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let garage = Garage::start(&fresh.tmp.path().join("garage"));
    let env = garage.env();
    let address = format!("s3://{BUCKET}/replique");
    let primary = crate::follow::primary_with_an_invoice(&fresh.data, admin, &address, &env);
    let replica_data = fresh.tmp.path().join("replique");
    let primary_address = primary.url("");
    let replica = Server::start_with(
        &replica_data,
        &["--follow", &address, "--primary", &primary_address],
        &env,
    );
    crate::follow::a_replica_follows_its_primary(&primary, &replica, admin, &address);
    crate::follow::a_replica_signs_in_with_the_primarys_passwords_and_sends_personal_data_to_it(
        &primary,
        &replica,
        &replica_data,
        admin,
        &primary_address,
    );
}
