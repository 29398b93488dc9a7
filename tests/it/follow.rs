//! A read-only replica (`coffre serve --follow PLACE`): it takes the whole
//! archive from a copy a primary keeps up to date, then applies the
//! copy's journal as it grows, serves reads and search, and refuses writes.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Waits for `done`, and says how long it took.
pub fn waited(what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(60), "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// A primary keeping a copy at `place`, holding one invoice, its copy
/// caught up.
pub fn primary_with_an_invoice(data: &std::path::Path, admin: &str, place: &str, env: &[(String, String)]) -> Server {
    let primary = Server::start_with(data, &["--copy", place], env);
    created(
        deposit(
            &primary,
            admin,
            b"Facture FA-2024-001 de la boulangerie",
            "facture.txt",
            &json!({"node": "FIN-FAC", "date": "2024-01-15"}),
        )
        .expect("deposit"),
    );
    waited("the copy to hold the journal", || {
        let stats = get(&primary.url("/api/v1/stats"), admin).json();
        stats["copies"][0]["lag_events"] == 0
            && stats["copies"][0]["contents_complete"] == true
            && stats["copies"][0]["contents_owed"] == 0
    });
    primary
}

/// What a replica started on `place` serves of the primary's deposits:
/// those made before it started, one made after, and no write.
pub fn a_replica_follows_its_primary(primary: &Server, replica: &Server, admin: &str, place: &str) {
    let before = created(
        deposit(
            primary,
            admin,
            "Délibération : le budget annexe des transports est adopté.".as_bytes(),
            "deliberation.txt",
            &json!({"node": "ADM-DEL", "date": "2024-02-14"}),
        )
        .expect("deposit"),
    );
    let before_ref = before["reference"].as_str().expect("ref").to_owned();
    waited("the replica to hold the délibération", || {
        get(&replica.url(&format!("/api/v1/records/{before_ref}")), admin).status == 200
    });
    // A deposit on the primary is served by the replica moments later.
    let content = b"Facture FA-2024-301 de la quincaillerie Martin : vis et chevilles.".to_vec();
    let record = created(
        deposit(
            primary,
            admin,
            &content,
            "facture.txt",
            &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
        )
        .expect("deposit"),
    );
    let reference = record["reference"].as_str().expect("ref").to_owned();
    let took = waited("the replica to serve the new record", || {
        let answer = get(&replica.url(&format!("/api/v1/records/{reference}/content")), admin);
        answer.status == 200 && answer.body == content
    });
    eprintln!("the replica served a record deposited on the primary {took:?} later");
    waited("the replica's index to find it", || {
        hit_refs(&get(&replica.url("/api/v1/search?q=quincaillerie"), admin).json()) == vec![reference.clone()]
    });
    // A description changed on the primary: the replica takes its new
    // metadata document with the event, and shows the new title.
    let changed = request(
        "PATCH",
        &primary.url(&format!("/api/v1/records/{reference}")),
        admin,
        &[],
        Some((
            "application/json",
            br#"{"title": "Facture quincaillerie Martin (vis)", "reason": "titre precise"}"#,
        )),
    )
    .expect("PATCH");
    assert_eq!(changed.status, 200, "{}", changed.text());
    waited("the replica to show the new title", || {
        get(&replica.url(&format!("/api/v1/records/{reference}")), admin).json()["title"]
            == "Facture quincaillerie Martin (vis)"
    });
    // Nothing is written on a replica, and it says why.
    let refused = deposit(
        replica,
        admin,
        b"Arrete 2024-9",
        "arrete.txt",
        &json!({"node": "ADM-ART", "date": "2024-05-04"}),
    )
    .expect("an answer");
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.error_message().contains("réplique"), "{}", refused.text());
    let health = get(&replica.url("/healthz"), "").json();
    assert_eq!(health["status"], "read_only", "{health}");
    let stats = get(&replica.url("/api/v1/stats"), admin).json();
    let following = &stats["following"];
    assert_eq!(following["from"], place, "{stats}");
    assert_eq!(following["lag_events"], 0, "{stats}");
    assert!(following["error"].is_null(), "{stats}");
    let metrics = get(&replica.url("/metrics"), admin).text();
    assert!(metrics.contains("coffre_follower_lag_events{from="), "{metrics}");
    // The replica's journal is the primary's, event for event.
    let events = |server: &Server| -> Vec<Value> {
        get(&server.url("/api/v1/audit/events?after=0&limit=10000"), admin).json()["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let (ours, theirs) = (events(replica), events(primary));
    assert!(
        !ours.is_empty() && theirs.starts_with(&ours),
        "the replica's journal differs"
    );
    assert_eq!(verify_over_http(replica, admin)["status"], "passed");
}

/// A password set or changed on the primary signs in on the replica (and
/// the old one stops); a record holding personal data, whose every reading
/// is journaled, is not served by the replica, which cannot journal: it
/// sends people to the primary.
pub fn a_replica_signs_in_with_the_primarys_passwords_and_sends_personal_data_to_it(
    primary: &Server,
    replica: &Server,
    replica_data: &std::path::Path,
    admin: &str,
    primary_address: &str,
) {
    let credentials = replica_data.join("keys").join("credentials.json");
    let held = || std::fs::read_to_string(&credentials).unwrap_or_default();
    let signs_in = |password: &str| -> Option<String> {
        // The file is written a moment before it is read again: a few tries.
        (0..3).find_map(|_| {
            let (status, session) = web_sign_in(replica, "claire", password);
            if status == 303 && session.is_some() {
                return session;
            }
            std::thread::sleep(Duration::from_millis(300));
            None
        })
    };
    let opened = post_json(
        &primary.url("/api/v1/accounts"),
        admin,
        &json!({"user": "claire", "display_name": "Claire Paie", "role": "archivist", "password": "la paie du mois de mars"}),
    );
    assert_eq!(opened.status, 201, "{}", opened.text());
    waited("the replica to take claire's password", || {
        held().contains("\"claire\"")
    });
    assert!(
        signs_in("la paie du mois de mars").is_some(),
        "claire signs in on the replica"
    );
    let before = held();
    let changed = post_json(
        &primary.url("/api/v1/accounts/claire/password"),
        admin,
        &json!({"password": "la paie du mois d'avril"}),
    );
    assert!(changed.status < 300, "{}", changed.text());
    waited("the replica to take claire's new password", || held() != before);
    let session = signs_in("la paie du mois d'avril").expect("the new password signs in on the replica");
    assert_eq!(
        web_sign_in(replica, "claire", "la paie du mois de mars").0,
        401,
        "the old password no longer signs in"
    );

    // A pay slip: RH holds personal data in the default plan.
    let payslip = created(
        deposit(
            primary,
            admin,
            "Bulletin de paie de mars : salaire brut, cotisations.".as_bytes(),
            "paie-2024-03.txt",
            &json!({"node": "RH-DOS", "fields": {"matricule": "A-7", "birth_date": "1980-05-05"}}),
        )
        .expect("deposit"),
    );
    let reference = payslip["reference"].as_str().expect("ref").to_owned();
    waited("the replica to hold the pay slip", || {
        get(&replica.url(&format!("/api/v1/records/{reference}")), admin).status != 404
    });
    for path in [
        format!("/api/v1/records/{reference}"),
        format!("/api/v1/records/{reference}/content"),
    ] {
        let refused = get(&replica.url(&path), admin);
        assert_eq!(
            (refused.status, refused.error_code().as_str()),
            (503, "reading_not_traced"),
            "{path}: {}",
            refused.text()
        );
        let message = refused.error_message();
        assert!(
            message.contains("données personnelles") && message.contains(primary_address),
            "{message}"
        );
    }
    let page = ureq::get(&replica.url(&format!("/documents/{reference}")))
        .set("Cookie", &session)
        .call();
    let page = match page {
        Err(ureq::Error::Status(503, page)) => page.into_string().expect("page"),
        other => panic!("the record's page on the replica: {other:?}"),
    };
    assert!(
        page.contains("données personnelles") && page.contains("serveur principal"),
        "{page}"
    );
    // The primary serves it, and journals who read it.
    assert_eq!(
        get(&primary.url(&format!("/api/v1/records/{reference}")), admin).status,
        200
    );
    let trail = get(
        &primary.url(&format!("/api/v1/audit/consultations?record={reference}")),
        admin,
    )
    .json();
    assert_eq!(trail["consultations"].as_array().map(Vec::len), Some(1), "{trail}");
}

#[test]
fn a_replica_on_a_copy_folder_serves_what_the_primary_deposits_and_refuses_writes() {
    let fresh = fresh_archive();
    let admin = &fresh.token;
    let copy = fresh.tmp.path().join("copie");
    let place = copy.to_str().expect("path").to_owned();
    let primary = primary_with_an_invoice(&fresh.data, admin, &place, &[]);
    let replica_data = fresh.tmp.path().join("replique");
    let primary_address = primary.url("");
    let replica = Server::start(&replica_data, &["--follow", &place, "--primary", &primary_address]);
    a_replica_follows_its_primary(&primary, &replica, admin, &place);
    a_replica_signs_in_with_the_primarys_passwords_and_sends_personal_data_to_it(
        &primary,
        &replica,
        &replica_data,
        admin,
        &primary_address,
    );
    // Restarted, it goes on from where it stood.
    replica.stop();
    let replica = Server::start(&replica_data, &["--follow", &place]);
    let content = b"Mandat 2024-77".to_vec();
    let record = created(
        deposit(
            &primary,
            admin,
            &content,
            "mandat.txt",
            &json!({"node": "FIN-FAC", "date": "2024-06-01"}),
        )
        .expect("deposit"),
    );
    let reference = record["reference"].as_str().expect("ref").to_owned();
    waited("the restarted replica to serve the mandat", || {
        let answer = get(&replica.url(&format!("/api/v1/records/{reference}/content")), admin);
        answer.status == 200 && answer.body == content
    });
}

#[test]
fn a_replica_asked_to_follow_a_place_without_an_archive_refuses_to_start_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let empty = tmp.path().join("vide");
    std::fs::create_dir(&empty).expect("folder");
    let data = tmp.path().join("replique");
    let place = empty.to_str().expect("path");
    let out = cli(&data, &["serve", "--listen", "127.0.0.1:0", "--follow", place]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let said = stderr(&out);
    assert_eq!(said.trim().lines().count(), 1, "one line: {said}");
    assert!(said.contains("ne contient pas d'archive"), "{said}");
    assert!(!data.exists(), "nothing written");
    // `--primary` means nothing without `--follow`.
    let out = cli(
        &data,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--primary",
            "https://coffre.example",
        ],
    );
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!data.exists(), "nothing written");
}
