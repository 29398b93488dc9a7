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

    let missing = get(&server.url("/api/v1/records/FIN-FAC-2099-999999/reading"), &token);
    assert_eq!(missing.status, 404);
}
