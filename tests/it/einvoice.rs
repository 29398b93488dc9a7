//! E-invoice lifecycle messages (CDV: CDAR D22B, AFNOR XP Z12-012) over
//! HTTP: each message, checked against the official schemas by `xmllint`,
//! is archived in its node, linked to the invoice it names, and moves that
//! invoice on in its circuit as the default plan's steps say.

use crate::common::*;
use serde_json::json;
use std::path::Path;

/// A lifecycle message giving invoice `number` the status `code` on `day`,
/// valid against the CDAR D22B schemas.
fn message(number: &str, code: u16, day: chrono::NaiveDate) -> Vec<u8> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cdar");
    let text = std::fs::read_to_string(here.join("statut.xml"))
        .expect("the template")
        .replace("NUMERO", number)
        .replace("STATUT", &code.to_string())
        .replace("JOUR", &day.format("%Y%m%d").to_string());
    let file = tempfile::NamedTempFile::new().expect("a file");
    std::fs::write(file.path(), &text).expect("written");
    assert_valid_xml(
        &here.join("xsd/CrossDomainAcknowledgementAndResponse_100pD22B.xsd"),
        file.path(),
    );
    text.into_bytes()
}

fn send(server: &Server, token: &str, bytes: &[u8]) -> Answer {
    let body = multipart(&[Part {
        name: "file",
        filename: Some(b"cdv.xml"),
        content: bytes,
    }]);
    post_multipart(&server.url("/api/v1/flows/cdv"), token, &body).expect("the server answers")
}

fn invoice(server: &Server, token: &str, number: &str, received: chrono::NaiveDate) -> String {
    let record = created(
        deposit(
            server,
            token,
            format!("Papeterie Dupont\nFacture n° {number}\nTotal TTC : 1200.00 EUR\n").as_bytes(),
            &format!("{number}.txt"),
            &json!({"node": "FIN-FAC", "title": format!("Facture {number}"), "service": "Voirie",
                    "date": received.to_string(),
                    "fields": {"fournisseur": "Papeterie Dupont", "siret": "73282932000074",
                               "numero_facture": number, "montant_ttc": "1200.00",
                               "date_reception": received.to_string()}}),
        )
        .expect("a deposit"),
    );
    record["reference"].as_str().expect("a reference").to_owned()
}

/// Where an invoice stands: its step and its passages (`step day`).
fn standing(server: &Server, token: &str, reference: &str) -> (String, Vec<String>) {
    circulation(server, token, reference)
}

#[test]
fn lifecycle_statuses_move_the_invoices_they_name_and_are_kept_linked_to_them() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let today = chrono::Utc::now().date_naive();
    let day = |ago: i64| today - chrono::Duration::days(ago);
    let first = invoice(&server, &token, "FA-2024-0042", day(20));
    let second = invoice(&server, &token, "FA-2024-0043", day(20));

    // Suspended by the buyer, 5 days after its receipt.
    let suspended = message("FA-2024-0042", 208, day(15));
    let answer = send(&server, &token, &suspended);
    assert_eq!(answer.status, 201, "{}", answer.text());
    let captured = answer.json();
    assert_eq!(captured["statuses"][0]["label"], "Suspendue", "{captured}");
    assert_eq!(captured["statuses"][0]["records"], json!([first]), "{captured}");
    assert_eq!(captured["statuses"][0]["moved"], json!([first]), "{captured}");
    let (step, passages) = standing(&server, &token, &first);
    assert_eq!(step, "suspendue");
    assert_eq!(passages.last(), Some(&format!("suspendue {}", day(15))));
    // The message is archived in its node, linked to the invoice.
    let kept = get(
        &server.url(&format!(
            "/api/v1/records/{}",
            captured["message"].as_str().expect("a reference")
        )),
        &token,
    )
    .json();
    assert_eq!(kept["node"], "FIN-CDV", "{kept}");
    assert!(kept.to_string().contains(&first), "linked to the invoice: {kept}");
    // Sent again: archived already, nothing moves twice.
    let again = send(&server, &token, &suspended);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["already_archived"], true);
    assert_eq!(again.json()["statuses"][0]["moved"], json!([]));

    // Completed by the seller, then approved: back at Reçue, then Service
    // fait; the journal's moves carry the message and the reason.
    assert_eq!(
        send(&server, &token, &message("FA-2024-0042", 209, day(12))).status,
        201
    );
    assert_eq!(
        send(&server, &token, &message("FA-2024-0042", 205, day(10))).status,
        201
    );
    let (step, passages) = standing(&server, &token, &first);
    assert_eq!(step, "service_fait", "{passages:?}");
    assert_eq!(
        passages,
        [
            format!("recue {}", day(20)),
            format!("suspendue {}", day(15)),
            format!("recue {}", day(12)),
            format!("service_fait {}", day(10))
        ]
    );
    let journal = get(&server.url("/api/v1/audit/events?after=0&limit=1000"), &token).text();
    assert!(
        journal.contains("statut « Suspendue » (208) du cycle de vie de la facture électronique FA-2024-0042 (NON_CONFORME : Bon de commande absent)"),
        "{journal}"
    );
    assert!(
        journal.contains("\"attachment\""),
        "the moves carry the message: {journal}"
    );

    // Refused: the other invoice is rejected; an invoice of another
    // number moves nothing.
    let refused = send(&server, &token, &message("FA-2024-0043", 210, day(3))).json();
    assert_eq!(refused["statuses"][0]["moved"], json!([second]), "{refused}");
    assert_eq!(standing(&server, &token, &second).0, "rejetee");
    let unknown = send(&server, &token, &message("FA-1999-0001", 211, day(1)));
    assert_eq!(unknown.status, 201, "archived all the same: {}", unknown.text());
    assert_eq!(unknown.json()["statuses"][0]["records"], json!([]));

    // The command line, through the server: the status and what it moved;
    // a file that is not one is said on one line, exit 2.
    let dir = tempfile::tempdir().expect("a folder");
    let paid = dir.path().join("cdv-refus.xml");
    std::fs::write(&paid, message("FA-2024-0042", 208, day(1))).expect("written");
    let wrong = dir.path().join("releve.csv");
    std::fs::write(&wrong, "date;montant\n").expect("written");
    let out = cli(
        &data,
        &["cdv", paid.to_str().expect("UTF-8"), wrong.to_str().expect("UTF-8")],
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("facture FA-2024-0042 : « Suspendue » (208)") && said.contains(&format!("avancée(s) : {first}")),
        "{said}"
    );
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let complaint = String::from_utf8_lossy(&out.stderr);
    assert!(
        complaint.contains("releve.csv") && complaint.contains("message de cycle de vie"),
        "{complaint}"
    );
    assert_eq!(standing(&server, &token, &first).0, "suspendue");

    // What is not a lifecycle message is refused, and nothing is kept.
    let pes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pes/pes_aller.xml")).expect("a flow");
    let not_one = send(&server, &token, &pes);
    assert_eq!(
        (not_one.status, not_one.error_code().as_str()),
        (422, "invalid_field"),
        "{}",
        not_one.text()
    );
    assert!(
        not_one.text().contains("CrossDomainAcknowledgementAndResponse"),
        "{}",
        not_one.text()
    );
    server.stop();
    assert_journal_follows_its_schema(&data);
}

#[test]
fn the_platforms_folder_of_lifecycle_messages_moves_the_invoices_by_itself() {
    use crate::capture::{capture_file_with, wait_until, waiting, with_scanner_account};
    use std::time::Duration;
    let Fresh { tmp, data, token } = fresh_archive();
    with_scanner_account(&data, &token);
    let (capture, inbox) = capture_file_with(tmp.path(), None, "cdv = true\n");
    let server = Server::start(&data, &["--capture", capture.to_str().expect("UTF-8")]);
    let today = chrono::Utc::now().date_naive();
    let received = today - chrono::Duration::days(8);
    let reference = invoice(&server, &token, "FA-2024-0100", received);
    std::fs::write(inbox.join("cdv-1.xml"), message("FA-2024-0100", 208, today)).expect("a message");
    std::fs::write(inbox.join("releve.csv"), "date;montant\n").expect("a file");
    wait_until("the messages to be put away", Duration::from_secs(60), || {
        waiting(&inbox).is_empty()
    });
    assert!(inbox.join("done/cdv-1.xml").is_file());
    let said = std::fs::read_to_string(inbox.join("failed/releve.csv.motif.txt")).expect("a reason");
    assert!(said.contains("message de cycle de vie"), "{said}");
    assert_eq!(standing(&server, &token, &reference).0, "suspendue");
    server.stop();
}
