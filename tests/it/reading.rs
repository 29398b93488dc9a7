//! Reading scanned invoices (the LAD of capture tools): an invoice printed
//! to PDF, rendered to an image-only PDF as a scanner gives it, read by OCR
//! (tesseract -l fra), then its number, date, SIRET and amounts read from
//! that text with their confidence; a wrong SIRET key or amounts that
//! disagree make the reading one to verify.

use crate::common::*;
use crate::formats::{pdf_with_text, scanned, text_of};
use serde_json::{Value, json};

fn invoice(siret: &str, total: &str) -> Vec<u8> {
    pdf_with_text(&[
        "Papeterie Dupont SARL",
        "12 rue des Lilas, 33000 Bordeaux",
        &format!("SIRET : {siret}"),
        "",
        "FACTURE N FA-2024-0117",
        "Date de facture : 14/04/2024",
        "Bon de commande : BC-2024-031",
        "",
        "Ramettes de papier A4, 80 g          250 x 4,00",
        "",
        "Total HT : 1 000,00 EUR",
        "TVA 20 % : 200,00 EUR",
        &format!("Total TTC : {total} EUR"),
        "",
        "IBAN : FR76 3000 6000 0112 3456 7890 189",
    ])
}

fn reading_of(server: &Server, token: &str, reference: &str) -> Value {
    let text = text_of(server, token, reference);
    assert_eq!(text["status"], "extracted", "{text}");
    let answer = get(&server.url(&format!("/api/v1/records/{reference}/reading")), token);
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.json()
}

fn value<'a>(reading: &'a Value, name: &str) -> Option<&'a str> {
    reading["fields"]
        .as_array()?
        .iter()
        .find(|f| f["name"] == name)
        .and_then(|f| f["value"].as_str())
}

fn confidence(reading: &Value, name: &str) -> f64 {
    reading["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == name))
        .and_then(|f| f["confidence"].as_f64())
        .unwrap_or(0.0)
}

#[test]
fn a_scanned_invoice_gets_its_number_date_siret_and_amounts_read_and_doubts_go_to_verification() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--ocr"]);
    let scan = scanned(&invoice("732 829 320 00074", "1 200,00"));
    let record =
        created(deposit(&server, &token, &scan, "scan-0117.pdf", &json!({"node": "FIN-FAC"})).expect("an answer"));
    let reference = record["reference"].as_str().expect("a reference").to_owned();
    let reading = reading_of(&server, &token, &reference);
    assert_eq!(reading["status"], "read");
    assert_eq!(value(&reading, "numero_facture"), Some("FA-2024-0117"), "{reading}");
    assert_eq!(value(&reading, "date_facture"), Some("2024-04-14"), "{reading}");
    assert_eq!(value(&reading, "siret"), Some("73282932000074"), "{reading}");
    assert_eq!(value(&reading, "montant_ht"), Some("1000.00"), "{reading}");
    assert_eq!(value(&reading, "montant_tva"), Some("200.00"), "{reading}");
    assert_eq!(value(&reading, "montant_ttc"), Some("1200.00"), "{reading}");
    assert!(
        confidence(&reading, "siret") >= 0.8 && confidence(&reading, "montant_ttc") >= 0.8,
        "{reading}"
    );
    assert_eq!(reading["needs_verification"], false, "{reading}");

    // The scan gets its searchable PDF/A, kept next to it: the pages with
    // the text OCR read under them; the scan itself is unchanged.
    let rendered = wait_for_rendition(&server, &token, &reference);
    assert_eq!(rendered["renditions"][0]["version"], 1, "{rendered}");
    assert_eq!(rendered["versions"][0]["sha256"], sha256_hex(&scan), "{rendered}");
    let pdfa = get(&server.url(&format!("/api/v1/records/{reference}/rendition")), &token);
    assert_eq!(pdfa.status, 200, "{}", pdfa.text());
    assert_eq!(pdfa.header("content-type"), Some("application/pdf"));
    assert!(pdfa.body.starts_with(b"%PDF-"), "a PDF");
    assert_eq!(
        sha256_hex(&pdfa.body),
        rendered["renditions"][0]["sha256"],
        "{rendered}"
    );
    let said = String::from_utf8_lossy(&pdfa.body);
    assert!(said.contains("pdfaid:part"), "PDF/A, as its XMP metadata says");
    let text = pdf_text_layer(&pdfa.body);
    assert!(text.contains("FA-2024-0117"), "its text layer: {text}");
    let original = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
    assert_eq!(original.body, scan, "the scan as deposited");
    let none = get(
        &server.url(&format!("/api/v1/records/{reference}/rendition?version=2")),
        &token,
    );
    assert_eq!((none.status, none.error_code().as_str()), (404, "rendition_not_found"));

    // A SIRET whose key does not hold, totals that disagree: to verify.
    let scan = scanned(&invoice("732 829 320 00075", "1 280,00"));
    let record =
        created(deposit(&server, &token, &scan, "scan-0118.pdf", &json!({"node": "FIN-FAC"})).expect("an answer"));
    let reference = record["reference"].as_str().expect("a reference").to_owned();
    let reading = reading_of(&server, &token, &reference);
    assert!(confidence(&reading, "siret") < 0.8, "{reading}");
    assert!(confidence(&reading, "montant_ttc") < 0.8, "{reading}");
    assert_eq!(reading["needs_verification"], true, "{reading}");
    let doubts: Vec<&str> = reading["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["doubt"].as_str())
        .collect();
    assert!(doubts.iter().any(|d| d.contains("Luhn")), "{doubts:?}");
    assert!(doubts.iter().any(|d| d.contains("ne s'accordent pas")), "{doubts:?}");

    // Read by the indexer once its text is there: it waits in the queue,
    // with the fields to look at; the sure ones are kept on the record.
    let waiting = wait_for_queue(&server, &token, &reference);
    let to_look_at = waiting["to_verify"]["fields"].to_string();
    assert!(
        to_look_at.contains("siret") && to_look_at.contains("montant_ttc"),
        "{waiting}"
    );
    assert_eq!(waiting["fields"]["numero_facture"], "FA-2024-0117", "{waiting}");
    assert!(
        waiting["fields"].get("montant_ttc").is_none(),
        "a doubtful value waits: {waiting}"
    );
    let read_total = waiting["reading"]["fields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["name"] == "montant_ttc"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(read_total["value"], "1280.00", "{waiting}");

    // An agent corrects the SIRET and the total: journaled, counted, and
    // the record leaves the queue.
    let agent = new_token(&server, &token, "agent", "lad");
    let correction = json!({
        "fields": {"siret": "73282932000074", "montant_ttc": "1200.00"},
        "comment": "total relu sur l'original"
    });
    let url = server.url(&format!("/api/v1/records/{reference}/verification"));
    let answer = post_json(&url, &agent, &correction);
    assert_eq!(answer.status, 200, "{}", answer.text());
    let verified = answer.json();
    assert_eq!(verified["fields"]["montant_ttc"], "1200.00");
    assert!(verified.get("to_verify").is_none(), "{verified}");
    let queue = get(&server.url("/api/v1/verification"), &agent).json();
    assert!(!queue.to_string().contains(&reference), "{queue}");
    let again = post_json(&url, &agent, &correction);
    assert_eq!(again.status, 409, "{}", again.text());
    assert_eq!(again.json()["error"]["code"], "not_awaiting_verification");

    let events = get(&server.url("/api/v1/audit/events?limit=1000"), &token).json();
    let journaled = events["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "record.verified")
        .cloned()
        .unwrap_or_default();
    let total = journaled["payload"]["checked"]
        .as_array()
        .and_then(|c| c.iter().find(|f| f["name"] == "montant_ttc"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        (total["read"].as_str(), total["kept"].as_str()),
        (Some("1280.00"), Some("1200.00")),
        "{journaled}"
    );
    assert_eq!(journaled["payload"]["comment"], "total relu sur l'original");

    let counts = get(&server.url("/api/v1/verification/counts"), &agent).json();
    let count = |field: &str| {
        counts["by_field"]
            .as_array()
            .and_then(|c| c.iter().find(|f| f["field"] == field))
            .map(|f| (f["checked"].as_u64(), f["corrected"].as_u64()))
    };
    assert_eq!(count("montant_ttc"), Some((Some(1), Some(1))), "{counts}");
    assert_eq!(count("numero_facture"), Some((Some(1), Some(0))), "{counts}");
    let by_supplier = counts["by_supplier"].to_string();
    assert!(
        by_supplier.contains("73282932000074"),
        "the SIRET names the supplier: {counts}"
    );

    // Capture's indicators, folded from the journal, say the same, with
    // what was read surely or with doubt; and so does their CSV.
    let capture = get(&server.url("/api/v1/indicators/capture"), &agent).json();
    let field = |name: &str| {
        capture["fields"]
            .as_array()
            .and_then(|c| c.iter().find(|f| f["field"] == name))
            .cloned()
            .unwrap_or_default()
    };
    let total = field("montant_ttc");
    assert_eq!(
        (
            total["checked"].as_u64(),
            total["corrected"].as_u64(),
            total["doubtful"].as_u64()
        ),
        (Some(1), Some(1), Some(1)),
        "{capture}"
    );
    assert_eq!(total["corrected_share"], 100.0, "{capture}");
    assert_eq!(
        field("numero_facture")["read_surely"],
        2,
        "both invoices' numbers: {capture}"
    );
    assert!(capture["suppliers"].to_string().contains("73282932000074"), "{capture}");
    let csv = get(&server.url("/api/v1/indicators/capture?format=csv"), &agent).text();
    assert!(
        csv.contains("\"champs lus\";\"montant_ttc\";\"corrigés\";\"1\""),
        "{csv}"
    );

    let metrics = get(&server.url("/metrics"), &token).text();
    assert!(
        metrics.contains("coffre_read_fields{field=\"montant_ttc\",state=\"corrected\"} 1"),
        "{metrics}"
    );

    let missing = get(&server.url("/api/v1/records/FIN-FAC-2099-999999/reading"), &token);
    assert_eq!(missing.status, 404);

    // Readings, verifications and renditions as the journal's format says.
    server.stop();
    assert_journal_follows_its_schema(&data);
}

/// The queue's entry for `reference`, once the indexer has read it.
fn wait_for_queue(server: &Server, token: &str, reference: &str) -> Value {
    for _ in 0..600 {
        let queue = get(&server.url("/api/v1/verification"), token);
        assert_eq!(queue.status, 200, "{}", queue.text());
        if let Some(found) = queue.json()["records"]
            .as_array()
            .and_then(|records| records.iter().find(|r| r["reference"] == reference))
        {
            return found.clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{reference} never reached the verification queue");
}

/// A baker whose invoices the generic reading cannot read: its layout
/// names none of the usual labels.
const BAKER: &str = "Au Bon Pain\nMaison fondée en 1921\nRéf. pièce BD/2024/77 du 03/05/2024\n\
                     Pains pour la cantine\nMontant hors taxe 400,00\nTaxe 80,00\nÀ régler 480,00 €\n";

/// The template an archivist writes for it, next to the plan.
const BAKER_TEMPLATE: &str = r#"
[[invoice_templates]]
supplier = "Boulangerie Au Bon Pain"
keywords = ["au bon pain", "maison fondée en 1921"]
values = { siret = "732 829 320 00074" }
patterns = { numero_facture = 'Réf\. pièce (\S+)', date_facture = 'Réf\. pièce \S+ du (\S+)', montant_ht = 'hors taxe ([0-9 ,]+)', montant_tva = 'Taxe ([0-9 ,]+)', montant_ttc = 'À régler ([0-9 ,]+)' }
"#;

/// The record once the indexer has read it.
fn once_read(server: &Server, token: &str, reference: &str) -> Value {
    for _ in 0..600 {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), token).json();
        if record.get("reading").is_some() {
            return record;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{reference} was never read");
}

#[test]
fn a_suppliers_template_published_with_the_plan_reads_its_invoices_without_a_person() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let meta = json!({"node": "FIN-FAC", "title": "Facture boulangerie", "date": "2024-05-03"});

    // Without a template: the generic reading finds nothing sure.
    let before = created(deposit(&server, &token, BAKER.as_bytes(), "pain-avril.txt", &meta).expect("an answer"));
    let before = once_read(&server, &token, before["reference"].as_str().expect("a reference"));
    assert!(before.get("to_verify").is_some(), "{before}");

    let plan = format!(
        "{}{BAKER_TEMPLATE}",
        include_str!("../../retention-policies/communes-fr.toml")
    );
    let published = put_plan(&server, &token, &plan, false);
    assert_eq!(published.status, 200, "{}", published.text());

    let record = created(deposit(&server, &token, BAKER.as_bytes(), "pain-mai.txt", &meta).expect("an answer"));
    let record = once_read(&server, &token, record["reference"].as_str().expect("a reference"));
    assert_eq!(record["reading"]["template"], "Boulangerie Au Bon Pain", "{record}");
    assert_eq!(record["fields"]["fournisseur"], "Boulangerie Au Bon Pain", "{record}");
    assert_eq!(record["fields"]["siret"], "73282932000074", "{record}");
    assert_eq!(record["fields"]["numero_facture"], "BD/2024/77", "{record}");
    assert_eq!(record["fields"]["montant_ttc"], "480.00", "{record}");
    assert!(
        record.get("to_verify").is_none(),
        "read surely, it waits for no one: {record}"
    );

    // A template that does not compile is refused at its line.
    let broken = format!(
        "{}{}",
        include_str!("../../retention-policies/communes-fr.toml"),
        BAKER_TEMPLATE.replace("([0-9 ,]+)'", "([0-9 ,]+'")
    );
    let refused = put_plan(&server, &token, &broken, false);
    assert_eq!(refused.status, 422, "{}", refused.text());
    assert!(refused.text().contains("expression régulière"), "{}", refused.text());
}

/// The record once the archive has made a rendition of it.
fn wait_for_rendition(server: &Server, token: &str, reference: &str) -> Value {
    for _ in 0..1200 {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), token).json();
        if record["renditions"].as_array().is_some_and(|r| !r.is_empty()) {
            return record;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{reference} never got its searchable PDF/A");
}

/// A PDF's text layer, as poppler's pdftotext reads it.
fn pdf_text_layer(pdf: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("pdftotext");
    child.stdin.take().expect("stdin").write_all(pdf).expect("write");
    let out = child.wait_with_output().expect("pdftotext output");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
