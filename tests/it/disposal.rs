//! The disposal workflow end to end over HTTP: propose → bordereau →
//! approve with the visa → execute → certificate; afterwards the content is
//! gone from disk and from search (also after a restart, a rebuild and a
//! new index), the record answers 410 with its tombstone, a blob a live
//! record shares survives, a line held after the visa is skipped, and the
//! integrity check passes.

use crate::common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// Whether a content's blob is still stored, and whether its bytes are
/// anywhere in the blob store's files (a pack's erased entry is zeroed).
fn stored(data: &Path, content: &[u8]) -> (bool, bool) {
    let blobs = blobs_of(data);
    let located = locate_blob(&blobs, &sha256_hex(content)).is_some();
    (located, holds(&blobs, content))
}

/// Whether a file under `dir` holds `content`.
fn holds(dir: &Path, content: &[u8]) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            holds(&path, content)
        } else {
            std::fs::read(&path).is_ok_and(|b| b.windows(content.len()).any(|w| w == content))
        }
    })
}

fn search_total(server: &Server, token: &str, q: &str) -> u64 {
    get(&server.url(&format!("/api/v1/search?q={q}")), token).json()["total"]
        .as_u64()
        .unwrap()
}

/// Whether a file under `dir` holds `needle`; a file that goes while the
/// walk reaches it (an index segment merged away) holds nothing.
fn files_contain(dir: &Path, needle: &[u8]) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.filter_map(Result::ok).any(|e| {
        let path = e.path();
        if path.is_dir() {
            files_contain(&path, needle)
        } else {
            std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        }
    })
}

#[test]
fn a_disposal_from_proposal_to_certificate() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let agent = new_token(&server, &token, "agent", "guichet");
    let old = years_ago(11);
    let put = |content: &[u8], meta: Value| created(deposit(&server, &agent, content, "piece.txt", &meta).unwrap());
    let shared = b"Facture de fournitures, contenu commun a deux pieces.";
    let secret = "Facture zanzibar : prestation de traiteur pour la fete communale.".as_bytes();
    let a = put(
        shared,
        json!({"node": "FIN-FAC", "date": old, "title": "Facture Dupont"}),
    );
    let b = put(b"Facture litigieuse.", json!({"node": "FIN-FAC", "date": old}));
    let d = put(
        secret,
        json!({"node": "FIN-FAC", "date": old, "title": "Facture traiteur"}),
    );
    let c = put(shared, json!({"node": "FIN-MAN", "title": "Mandat recent"}));
    let e = put(b"Deliberation ancienne.", json!({"node": "ADM-DEL", "date": old}));
    let r = |v: &Value| v["reference"].as_str().unwrap().to_owned();
    for _ in 0..300 {
        if search_total(&server, &agent, "zanzibar") == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(search_total(&server, &agent, "zanzibar"), 1);

    // Propose: the invoices due for destruction; not the deliberation (kept).
    assert_eq!(
        post_json(&server.url("/api/v1/disposals"), &agent, &json!({})).status,
        403
    );
    let proposal = created(post_json(&server.url("/api/v1/disposals"), &archivist, &json!({})));
    let id = proposal["id"].as_u64().unwrap();
    assert_eq!(proposal["state"], "proposed");
    let mut lines: Vec<String> = proposal["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reference"].as_str().unwrap().to_owned())
        .collect();
    lines.sort();
    let mut expected = vec![r(&a), r(&b), r(&d)];
    expected.sort();
    assert_eq!(lines, expected);
    assert!(!lines.contains(&r(&e)));
    // Asked by name, the deliberation is left out with the reason.
    let a2 = post_json(
        &server.url("/api/v1/disposals"),
        &archivist,
        &json!({"records": [r(&e)]}),
    );
    assert_eq!(a2.status, 422);
    assert!(
        a2.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("versement aux archives"),
        "{}",
        a2.json()
    );

    // The bordereau, for the archives authority.
    let html = get(&server.url(&format!("/api/v1/disposals/{id}/bordereau")), &archivist);
    assert_eq!(html.header("content-type"), Some("text/html; charset=utf-8"));
    let html = String::from_utf8(html.body).unwrap();
    assert!(html.contains("Bordereau d'élimination") && html.contains("FIN-FAC — Factures") && html.contains(&r(&d)));
    assert!(
        html.contains("P10Y") && html.contains(&old),
        "dates extrêmes and DUA: {html}"
    );
    let csv = String::from_utf8(
        get(
            &server.url(&format!("/api/v1/disposals/{id}/bordereau?format=csv")),
            &archivist,
        )
        .body,
    )
    .unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");

    // No execution without the visa.
    let early = post_json(
        &server.url(&format!("/api/v1/disposals/{id}/execute")),
        &archivist,
        &json!({}),
    );
    assert_eq!(
        (early.status, early.error_code().as_str()),
        (409, "disposal_not_approved")
    );
    let approve = |body: Value| {
        post_json(
            &server.url(&format!("/api/v1/disposals/{id}/approve")),
            &archivist,
            &body,
        )
    };
    assert_eq!(approve(json!({"signer": "x"})).status, 422, "the visa is required");
    assert_eq!(
        approve(json!({"visa": "V", "signer": "S", "struck": [r(&e)]})).status,
        422,
        "only lines may be struck"
    );
    let early_visa = approve(json!({"visa": "V", "signer": "S", "date": "2000-01-01"}));
    assert_eq!(early_visa.status, 422, "a visa dated before the proposal");
    assert!(
        early_visa.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("ne peut précéder la proposition"),
        "{}",
        early_visa.json()
    );
    assert_eq!(
        approve(json!({"visa": "V", "signer": "  "})).status,
        422,
        "a visa names who signed it"
    );
    assert_eq!(approve(json!({"visa": "V"})).status, 422, "a visa names who signed it");
    let approved = approve(json!({"visa": "AD13-2026-117", "signer": "Directrice des Archives départementales"}));
    assert_eq!(approved.status, 200, "{}", String::from_utf8_lossy(&approved.body));
    assert_eq!(approved.json()["state"], "approved");
    assert_eq!(
        approve(json!({"visa": "again", "signer": "S"})).error_code(),
        "disposal_state"
    );

    // A hold placed after the visa: that line is skipped.
    created(post_json(
        &server.url("/api/v1/holds"),
        &archivist,
        &json!({"record": r(&b), "reason": "recours devant le tribunal administratif"}),
    ));
    let executed = post_json(
        &server.url(&format!("/api/v1/disposals/{id}/execute")),
        &archivist,
        &json!({}),
    );
    assert_eq!(executed.status, 200, "{}", String::from_utf8_lossy(&executed.body));
    assert_eq!(executed.json()["state"], "executed");
    // Its certificate, a PDF, is filed as a record of the plan's node for
    // certificates, hidden from agents.
    let filed = executed.json()["certificate_record"]
        .as_str()
        .unwrap_or_else(|| panic!("no certificate record: {}", executed.json()))
        .to_owned();
    let certificate_record = get(&server.url(&format!("/api/v1/records/{filed}")), &archivist);
    assert_eq!(certificate_record.status, 200);
    let certificate_record = certificate_record.json();
    assert_eq!(certificate_record["node"], "ADM-ARC");
    assert_eq!(certificate_record["title"], format!("Certificat d'élimination n° {id}"));
    let pdf = get(&server.url(&format!("/api/v1/records/{filed}/content")), &archivist);
    assert_eq!(pdf.status, 200);
    assert!(pdf.body.starts_with(b"%PDF-"));
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{filed}")), &agent).status,
        404,
        "hidden from agents"
    );
    assert_eq!(
        post_json(
            &server.url(&format!("/api/v1/disposals/{id}/execute")),
            &archivist,
            &json!({})
        )
        .status,
        409
    );

    // The certificate.
    let cert = get(&server.url(&format!("/api/v1/disposals/{id}/certificate")), &archivist).json();
    let destroyed: Vec<&str> = cert["destroyed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["reference"].as_str().unwrap())
        .collect();
    assert_eq!(destroyed.len(), 2);
    assert!(destroyed.contains(&r(&a).as_str()) && destroyed.contains(&r(&d).as_str()));
    let d_line = cert["destroyed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["reference"] == d["reference"])
        .unwrap();
    assert_eq!(d_line["versions"][0]["sha256"], sha256_hex(secret));
    assert_eq!(cert["skipped"][0]["reference"], b["reference"]);
    assert!(
        cert["skipped"][0]["reason"].as_str().unwrap().contains("gelé (gel "),
        "{cert}"
    );
    assert_eq!(cert["visa"]["reference"], "AD13-2026-117");
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=1000"), &token).json();
    let execution = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "disposal.executed")
        .unwrap()
        .clone();
    assert_eq!(cert["signature"]["hash"], execution["hash"]);
    assert_eq!(cert["signature"]["seq"], execution["seq"]);

    // Gone from disk, but the blob a live record shares survives.
    assert_eq!(
        stored(&data, secret),
        (false, false),
        "the destroyed content is erased, its bytes too"
    );
    assert_eq!(stored(&data, shared), (true, true), "the shared content survives");
    let live = get(&server.url(&format!("/api/v1/records/{}/content", r(&c))), &agent);
    assert_eq!((live.status, live.body.as_slice()), (200, &shared[..]));
    // Gone from search, and answered 410 with the tombstone.
    assert_eq!(search_total(&server, &agent, "zanzibar"), 0);
    assert_eq!(search_total(&server, &archivist, "traiteur"), 0);
    assert!(
        !files_contain(&data.join("index"), b"zanzibar"),
        "no index file holds the word"
    );
    let gone = get(&server.url(&format!("/api/v1/records/{}", r(&d))), &agent);
    assert_eq!((gone.status, gone.error_code().as_str()), (410, "record_destroyed"));
    let tombstone = &gone.json()["tombstone"];
    assert_eq!(tombstone["state"], "destroyed");
    assert_eq!(tombstone["title"], "", "titles are not kept unless the node says so");
    assert_eq!(tombstone["versions"][0]["sha256"], sha256_hex(secret));
    assert_eq!(tombstone["tombstone"]["disposal"], id);
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{}/content", r(&d))), &agent).status,
        410
    );
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{}", r(&b))), &agent).status,
        200,
        "the held line lives"
    );
    let report = verify_over_http(&server, &token);
    assert_eq!(report["status"], "passed", "{report}");

    // After a restart, a rebuild of the catalog and a new index: still gone.
    server.stop();
    assert!(cli(&data, &["rebuild"]).status.success());
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let server = Server::start(&data, &[]);
    for _ in 0..300 {
        if search_total(&server, &agent, "litigieuse") == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(search_total(&server, &agent, "litigieuse"), 1, "the index is rebuilt");
    assert_eq!(search_total(&server, &agent, "zanzibar"), 0);
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{}", r(&d))), &agent).status,
        410
    );
    server.stop();
    let o = cli(&data, &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    let o = cli(&data, &["disposal", "certificate", &id.to_string()]);
    assert!(stdout(&o).contains("AD13-2026-117"), "{}", stdout(&o));
    assert_journal_follows_its_schema(&data);
}

/// Where the collectivité reserves the visa to its archives authority:
/// archivists and tokens that name no person are refused, a person in the
/// `visa` role gives it, and never the person who proposed (even once
/// moved to the `visa` role).
#[test]
fn a_reserved_visa_is_given_by_the_authority_never_by_the_proposer() {
    let Fresh {
        tmp: _tmp,
        data,
        token: admin,
    } = fresh_archive();
    let server = Server::start(&data, &[]);
    let identity = json!({
        "name": "Commune de Test",
        "archives": {"name": "Archives départementales", "identifier": "FRAD000",
                     "authority": "Directrice des Archives", "visa_reserved": true}
    });
    assert_eq!(put_json(&server.url("/api/v1/identity"), &admin, &identity).status, 200);
    let shown = get(&server.url("/api/v1/identity"), &admin).json();
    assert_eq!(shown["archives"]["visa_reserved"], true);
    let person = |user: &str, role: &str| {
        let a = post_json(
            &server.url("/api/v1/accounts"),
            &admin,
            &json!({"user": user, "display_name": user, "role": role, "password": "une longue phrase de passe"}),
        );
        assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
        let a = login(&server, user, "une longue phrase de passe");
        a.json()["token"].as_str().expect("token").to_owned()
    };
    let paul = person("paul", "archivist");
    let vera = person("vera", "visa");
    let agent = new_token(&server, &admin, "agent", "guichet");
    created(
        deposit(
            &server,
            &agent,
            b"Facture ancienne.",
            "f.txt",
            &json!({"node": "FIN-FAC", "date": years_ago(11)}),
        )
        .unwrap(),
    );
    let proposal = created(post_json(&server.url("/api/v1/disposals"), &paul, &json!({})));
    let id = proposal["id"].as_u64().unwrap();
    let approve = |token: &str| {
        post_json(
            &server.url(&format!("/api/v1/disposals/{id}/approve")),
            token,
            &json!({"visa": "AD-2026-1", "signer": "Directrice des Archives"}),
        )
    };
    // The archives authority's people neither propose nor execute.
    assert_eq!(
        post_json(&server.url("/api/v1/disposals"), &vera, &json!({})).status,
        403
    );
    // An archivist (here the proposer) and an agent: refused.
    let refused = approve(&paul);
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "visa_reserved"));
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("autorité d'archives")
    );
    let refused = approve(&agent);
    assert_eq!((refused.status, refused.error_code().as_str()), (403, "forbidden"));
    // The proposer moved to the visa role still may not approve their own.
    let moved = request(
        "PATCH",
        &server.url("/api/v1/accounts/paul"),
        &admin,
        &[],
        Some(("application/json", br#"{"role": "visa"}"#)),
    )
    .expect("PATCH");
    assert_eq!(moved.status, 200, "{}", String::from_utf8_lossy(&moved.body));
    let paul_visa = login(&server, "paul", "une longue phrase de passe").json()["token"]
        .as_str()
        .expect("token")
        .to_owned();
    let own = approve(&paul_visa);
    assert_eq!((own.status, own.error_code().as_str()), (403, "visa_reserved"));
    assert!(
        own.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("paul a proposé"),
        "{}",
        own.json()
    );
    // The visa holder reads the proposal and gives the visa.
    assert_eq!(get(&server.url(&format!("/api/v1/disposals/{id}")), &vera).status, 200);
    let given = approve(&vera);
    assert_eq!(given.status, 200, "{}", String::from_utf8_lossy(&given.body));
    assert_eq!(given.json()["state"], "approved");
    let events = get(&server.url("/api/v1/audit/events?after=0"), &admin).json();
    assert!(
        events["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "disposal.approved" && e["actor"] == "vera (visa)"),
        "{events}"
    );
    // Without the reservation, an archivist gives it as the interface says.
    let mut open = identity.clone();
    open["archives"]["visa_reserved"] = json!(false);
    assert_eq!(put_json(&server.url("/api/v1/identity"), &admin, &open).status, 200);
    created(
        deposit(
            &server,
            &agent,
            b"Autre facture ancienne.",
            "g.txt",
            &json!({"node": "FIN-FAC", "date": years_ago(12)}),
        )
        .unwrap(),
    );
    let archivist = person("anne", "archivist");
    let second = created(post_json(&server.url("/api/v1/disposals"), &archivist, &json!({})));
    let second_id = second["id"].as_u64().unwrap();
    let ok = post_json(
        &server.url(&format!("/api/v1/disposals/{second_id}/approve")),
        &archivist,
        &json!({"visa": "AD-2026-2", "signer": "Directrice des Archives"}),
    );
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
}
