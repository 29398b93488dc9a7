//! What no client can do to the archive: hold it with a request that never
//! ends, learn through a proof what it may not read, add to a node it may
//! not deposit in, read archive-wide counters, or stall the indexer with a
//! hostile file (issue 15, red-team list).

use crate::common::*;
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// Sends `head` (and `body`), then `dribble` one byte at a time every
/// 200 ms, until the server answers or closes; returns what it said.
fn hold_open(server: &Server, head: &str, body: &[u8], dribble: bool) -> String {
    let address = server.base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("a connection");
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    let started = Instant::now();
    // A bound for the test, far above the 2 s the server is given.
    while started.elapsed() < Duration::from_secs(60) {
        if dribble && stream.write_all(b" ").is_err() {
            break;
        }
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if !answer.is_empty() {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn clients_that_stop_or_dribble_are_cut_and_others_are_served_meanwhile() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--client-idle", "2s"]);
    let json_head =
        "POST /api/v1/login HTTP/1.1\r\nHost: coffre\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    let upload_head = format!(
        "POST /api/v1/records HTTP/1.1\r\nHost: coffre\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000\r\n\r\n"
    );
    let upload_start =
        b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"lent.txt\"\r\n\r\nd\xc3\xa9but";
    let served = std::thread::scope(|s| {
        let stopped = s.spawn(|| hold_open(&server, json_head, b"{\"user\":", false));
        let dribbled = s.spawn(|| hold_open(&server, json_head, b"", true));
        let head = s.spawn(|| hold_open(&server, "POST /api/v1/login HTTP/1.1\r\nHost: co", b"", false));
        let upload = s.spawn(|| hold_open(&server, &upload_head, upload_start, false));
        // While they hold their connections, others are answered.
        let mut served = 0;
        for _ in 0..20 {
            if get(&server.url("/healthz"), "").status == 200 {
                served += 1;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        for (what, answer) in [
            ("a JSON body that stops half-way", stopped.join().unwrap()),
            ("a JSON body dribbled a byte at a time", dribbled.join().unwrap()),
            ("an upload that stops half-way", upload.join().unwrap()),
        ] {
            assert!(answer.starts_with("HTTP/1.1 408"), "{what}: {answer}");
            assert!(answer.contains("\"code\":\"upload_timeout\""), "{what}: {answer}");
        }
        let head = head.join().unwrap();
        assert!(
            head.is_empty() || head.starts_with("HTTP/1.1 408"),
            "a head dribbled in: {head}"
        );
        served
    });
    assert_eq!(served, 20, "others are served while slow clients hold connections");
    // Nothing of the upload was kept, and the server is up.
    let found = get(&server.url("/api/v1/search?q=lent"), &token);
    assert_eq!(found.status, 200);
    assert_eq!(found.json()["total"], 0);
    assert!(!server.log_text().contains("panicked"), "{}", server.log_text());
}

#[test]
fn every_answer_carries_the_security_headers() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    for (what, answer) in [
        ("JSON", get(&server.url("/api/v1/stats"), &token)),
        ("an error in JSON", get(&server.url("/api/v1/nulle-part"), &token)),
        ("a page", get(&server.url("/connexion"), "")),
    ] {
        let csp = answer.header("content-security-policy").unwrap_or_default().to_owned();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        assert!(!csp.contains("unsafe-inline") || what != "a page", "{what}: {csp}");
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{what}");
        assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{what}");
        assert!(answer.header("referrer-policy").is_some(), "{what}");
    }
}

#[test]
fn proofs_withhold_events_naming_records_the_reader_may_not_read() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let archivist = new_token(&server, &token, "archivist", "archives");
    let auditor = new_token(&server, &token, "auditor", "controle");
    let invoice = created(
        deposit(
            &server,
            &agent,
            b"Facture ancienne de fournitures.",
            "facture.txt",
            &json!({"node": "FIN-FAC", "date": years_ago(11)}),
        )
        .unwrap(),
    );
    // A personnel file an agent may not read, due (the agent is 81).
    let personnel = created(
        deposit(
            &server,
            &archivist,
            b"Dossier individuel.",
            "dossier.txt",
            &json!({"node": "RH-DOS", "fields": {"matricule": "A-1", "birth_date": years_ago(81)}}),
        )
        .unwrap(),
    );
    let reference = |r: &Value| r["reference"].as_str().unwrap().to_owned();
    let reviewed = post_json(
        &server.url(&format!("/api/v1/records/{}/review", reference(&personnel))),
        &archivist,
        &json!({"decision": "destroy", "reason": "sans intérêt historique"}),
    );
    assert_eq!(reviewed.status, 200, "{}", String::from_utf8_lossy(&reviewed.body));
    let proposal = created(post_json(&server.url("/api/v1/disposals"), &archivist, &json!({})));
    let listed: Vec<String> = proposal["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reference"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        listed.contains(&reference(&invoice)) && listed.contains(&reference(&personnel)),
        "{listed:?}"
    );
    created(post_json(&server.url("/api/v1/audit/seals"), &auditor, &json!({})));

    let proof_for = |who: &str| {
        let a = get(
            &server.url(&format!("/api/v1/audit/proof/{}", reference(&invoice))),
            who,
        );
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        a
    };
    // The agent: its own deposit in full, the proposal withheld but proven.
    let seen = proof_for(&agent);
    let text = String::from_utf8_lossy(&seen.body).into_owned();
    assert!(!text.contains(&reference(&personnel)), "{text}");
    assert!(!text.contains(personnel["id"].as_str().unwrap()), "{text}");
    let events = seen.json()["events"].as_array().unwrap().clone();
    assert_eq!(events.len(), 2, "{text}");
    assert_eq!(events[0]["event"]["kind"], "record.ingested");
    assert!(events[0].get("withheld").is_none());
    assert!(events[1]["event"].is_null(), "{}", events[1]);
    assert!(events[1]["withheld"].as_str().unwrap().contains("masqué"));
    assert!(events[1]["leaf_hash"].is_string() && events[1]["proof"].is_array());
    // The archivist reads both records, the auditor audits: all in full.
    for who in [&archivist, &auditor] {
        let events = proof_for(who).json()["events"].as_array().unwrap().clone();
        assert_eq!(events[1]["event"]["kind"], "disposal.proposed");
        assert!(events[1].get("withheld").is_none());
    }
}

#[test]
fn a_version_is_added_by_the_nodes_depositors_only_and_stats_stay_within_what_one_reads() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let visa = new_token(&server, &token, "visa", "archives-departementales");
    let agent = new_token(&server, &token, "agent", "guichet");
    // ADM-ARC: the visa role reads it but does not deposit in it.
    let bordereau = created(
        deposit(
            &server,
            &archivist,
            b"Bordereau signe.",
            "bordereau.txt",
            &json!({"node": "ADM-ARC"}),
        )
        .unwrap(),
    );
    let reference = bordereau["reference"].as_str().unwrap();
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{reference}")), &visa).status,
        200
    );
    let version = |who: &str| {
        post_multipart(
            &server.url(&format!("/api/v1/records/{reference}/versions")),
            who,
            &multipart(&[Part {
                name: "file",
                filename: Some(b"autre.txt"),
                content: b"Une autre version.",
            }]),
        )
        .unwrap()
    };
    let refused = version(&visa);
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "forbidden"));
    assert_eq!(version(&archivist).status, 201);
    let shown = get(&server.url(&format!("/api/v1/records/{reference}")), &archivist).json();
    assert_eq!(shown["versions"].as_array().unwrap().len(), 2);

    // Archive-wide counters are for those who audit or manage records.
    let stats = get(&server.url("/api/v1/stats"), &agent).json();
    for key in ["journal_head", "ingest_errors", "holds", "sealed_events"] {
        assert!(stats[key].is_null(), "{key}: {stats}");
    }
    assert_eq!(stats["records"], 0, "{stats}");
    let stats = get(&server.url("/api/v1/stats"), &archivist).json();
    assert!(stats["journal_head"].as_u64().unwrap() > 0, "{stats}");
    assert_eq!(stats["records"], 1);
}

#[test]
fn html_nested_two_hundred_thousand_deep_is_indexed_and_does_not_stall_the_indexer() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let mut html = String::from("<html><body>");
    for _ in 0..200_000 {
        html.push_str("<div>");
    }
    html.push_str("profondeur abyssale");
    let a = deposit(
        &server,
        &token,
        html.as_bytes(),
        "profond.html",
        &json!({"node": "ADM-DEL", "title": "Page profonde"}),
    )
    .unwrap();
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let after = created(
        deposit(
            &server,
            &token,
            "Délibération ordinaire déposée après.".as_bytes(),
            "apres.txt",
            &json!({"node": "ADM-DEL"}),
        )
        .unwrap(),
    );
    let total = |q: &str| get(&server.url(&format!("/api/v1/search?q={q}")), &token).json()["total"].clone();
    let mut found = false;
    for _ in 0..600 {
        if total("ordinaire") == 1 && total("abyssale") == 1 {
            found = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(found, "both found: {} {}", total("ordinaire"), total("abyssale"));
    assert!(after["reference"].is_string());
}

/// What schemathesis found, kept as plain regressions: an endpoint asked
/// with a method it does not serve says which it serves; a JSON body is
/// one object; a search over dates past 2262 (tantivy's own dates end
/// there) answers; a revocation's body is JSON or nothing.
#[test]
fn methods_bodies_and_far_dates_found_by_schemathesis_are_answered_cleanly() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let url = |path: &str| server.url(&format!("/api/v1{path}"));
    for (method, path, allow) in [
        ("TRACE", "/records", "POST"),
        ("GET", "/transfers/reply", "POST"),
        ("DELETE", "/plan", "GET, PUT"),
    ] {
        let answer = request(method, &url(path), &token, &[], None).expect("an answer");
        assert_eq!(
            (answer.status, answer.error_code().as_str()),
            (405, "method_not_allowed"),
            "{method} {path}"
        );
        assert_eq!(answer.header("allow"), Some(allow), "{method} {path}");
    }
    let patch = request(
        "PATCH",
        &url("/accounts/admin"),
        &token,
        &[],
        Some(("application/json", b"[null, null]")),
    )
    .expect("an answer");
    assert_eq!((patch.status, patch.error_code().as_str()), (400, "invalid_json"));
    let far = get(&url("/search?q=registre&from=8247-04-02&to=9995-03-22"), &token);
    assert_eq!(far.status, 200, "{}", String::from_utf8_lossy(&far.body));
    let mine = created(post_json(
        &url("/tokens"),
        &token,
        &json!({"role": "agent", "name": "essai"}),
    ));
    let revoke = url(&format!("/tokens/{}/revoke", mine["id"]));
    let junk = request("POST", &revoke, &token, &[], Some(("application/json", b"\x0c"))).expect("an answer");
    assert_eq!((junk.status, junk.error_code().as_str()), (400, "invalid_json"));
    let none = request("POST", &revoke, &token, &[], Some(("application/json", b"null"))).expect("an answer");
    assert_eq!(none.status, 200);
    assert_eq!(none.json()["state"], "revoked");
    server.stop();
}
