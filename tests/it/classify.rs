//! Automatic classification with the default plan's rules: a Factur-X PDF
//! (a PDF with an embedded CII invoice, built here) and a UBL invoice are
//! filed under FIN-FAC with supplier, number, date and amount; texts are
//! recognised by their wording; anything else is refused with the nodes it
//! may go to.

use crate::common::*;
use crate::formats::{pdf_from_objects, pdf_with_text, stream_object};
use serde_json::json;

/// A CII invoice (the XML of Factur-X).
pub fn cii(number: &str, supplier: &str, total: &str, date: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:factur-x.eu:1p0:minimum</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter></rsm:ExchangedDocumentContext>
 <rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">{date}</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>{supplier}</ram:Name></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Commune de Sainte-Foy</ram:Name></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeDelivery/>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxBasisTotalAmount>400.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="EUR">80.00</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>{total}</ram:GrandTotalAmount>
    <ram:DuePayableAmount>{total}</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"#
    )
}

/// A Factur-X PDF: a visible page, and the CII XML embedded as
/// `factur-x.xml` (an EmbeddedFiles name tree entry and an associated file,
/// as the Factur-X specification places it).
pub fn factur_x(xml: &str) -> Vec<u8> {
    pdf_from_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles << /Names [(factur-x.xml) 6 0 R] >> >> /AF [6 0 R] >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        stream_object("", b"BT /F1 12 Tf 72 720 Td (Papeterie Dupont - facture) Tj ET"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /Type /Filespec /F (factur-x.xml) /UF (factur-x.xml) /AFRelationship /Data /Desc (Factur-X) /EF << /F 7 0 R /UF 7 0 R >> >>".to_vec(),
        stream_object("/Type /EmbeddedFile /Subtype /text#2Fxml", xml.as_bytes()),
    ])
}

/// A UBL invoice.
pub fn ubl(number: &str, supplier: &str, total: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
 <cbc:ID>{number}</cbc:ID>
 <cbc:IssueDate>2025-06-30</cbc:IssueDate>
 <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PartyName><cbc:Name>{supplier}</cbc:Name></cac:PartyName>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party>
  <cac:PartyLegalEntity><cbc:RegistrationName>Commune de Sainte-Foy</cbc:RegistrationName></cac:PartyLegalEntity>
 </cac:Party></cac:AccountingCustomerParty>
 <cac:LegalMonetaryTotal>
  <cbc:LineExtensionAmount currencyID="EUR">1000.00</cbc:LineExtensionAmount>
  <cbc:TaxExclusiveAmount currencyID="EUR">1000.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">{total}</cbc:TaxInclusiveAmount>
  <cbc:PayableAmount currencyID="EUR">{total}</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
</Invoice>
"#
    )
}

#[test]
fn invoices_and_known_texts_are_classified_and_the_rest_refused_with_candidates() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let no_node = json!({});

    // Factur-X: the embedded CII gives the node, the fields and the date.
    let pdf = factur_x(&cii(
        "FX-2025-0042",
        "Papeterie Dupont &amp; fils",
        "480.00",
        "20250314",
    ));
    let r = created(deposit(&server, &agent, &pdf, "facture-dupont.pdf", &no_node).unwrap());
    assert_eq!(r["node"], "FIN-FAC");
    assert_eq!(
        r["classified_by"],
        "Factures électroniques (Factur-X, ZUGFeRD, UBL, CII)"
    );
    assert_eq!(r["fields"]["fournisseur"], "Papeterie Dupont & fils");
    assert_eq!(r["fields"]["numero_facture"], "FX-2025-0042");
    assert_eq!(r["fields"]["montant_ttc"], "480.00");
    assert_eq!(r["date"], "2025-03-14");
    assert_eq!(r["reference"], "FIN-FAC-2025-000001");
    assert_eq!(r["type"], "facture");

    // UBL.
    let xml = ubl("UBL-77", "Transports Martin", "1200.00");
    let r = created(deposit(&server, &agent, xml.as_bytes(), "facture.xml", &no_node).unwrap());
    assert_eq!(
        (
            r["node"].as_str(),
            r["fields"]["fournisseur"].as_str(),
            r["fields"]["numero_facture"].as_str()
        ),
        (Some("FIN-FAC"), Some("Transports Martin"), Some("UBL-77"))
    );
    assert_eq!(
        (r["fields"]["montant_ttc"].as_str(), r["date"].as_str()),
        (Some("1200.00"), Some("2025-06-30"))
    );

    // What the depositor gives wins over what the invoice says.
    let given = json!({"date": "2025-04-01", "fields": {"fournisseur": "Dupont SARL"}});
    let r = created(deposit(&server, &agent, &pdf, "f.pdf", &given).unwrap());
    assert_eq!(
        (r["fields"]["fournisseur"].as_str(), r["date"].as_str()),
        (Some("Dupont SARL"), Some("2025-04-01"))
    );

    // Texts, by their wording; a capture fills the deliberation's number.
    let text = pdf_with_text(&["EXTRAIT DU REGISTRE", "Deliberation No 2025-12 du conseil municipal"]);
    let r = created(deposit(&server, &agent, &text, "d.pdf", &no_node).unwrap());
    assert_eq!(
        (r["node"].as_str(), r["fields"]["numero"].as_str()),
        (Some("ADM-DEL"), Some("2025-12"))
    );
    let r = created(
        deposit(
            &server,
            &agent,
            "Mandat de paiement n° 88 : chauffage.".as_bytes(),
            "m.txt",
            &no_node,
        )
        .unwrap(),
    );
    assert_eq!(r["node"], "FIN-MAN");

    // Nothing recognised: refused, with the nodes this agent may deposit in.
    let a = deposit(&server, &agent, "Liste des courses".as_bytes(), "note.txt", &no_node).unwrap();
    assert_eq!((a.status, a.error_code().as_str()), (422, "unclassified"));
    let details = &a.json()["error"]["details"];
    assert_eq!(details["field"], "node");
    let codes: Vec<&str> = details["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"FIN-FAC") && codes.contains(&"ADM-DEL"), "{codes:?}");
    assert!(
        !codes.contains(&"RH-DOS") && !codes.contains(&"FIN"),
        "only nodes the agent may deposit in: {codes:?}"
    );
    assert_eq!(details["unreadable"], serde_json::Value::Null, "the text was read");
    // A scan whose text cannot be read (OCR is off): the refusal says so.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let a = deposit(&server, &agent, png, "scan.png", &no_node).unwrap();
    assert_eq!((a.status, a.error_code().as_str()), (422, "unclassified"));
    let refused = a.json();
    let why = refused["error"]["details"]["unreadable"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(why.contains("OCR"), "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("son texte n'a pas pu être lu"),
        "{refused}"
    );
    server.stop();

    // The command line classifies too, file by file.
    let file = tmp.path().join("facture-martin.xml");
    std::fs::write(&file, ubl("UBL-78", "Transports Martin", "90.50")).unwrap();
    let o = cli(&data, &["ingest", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let line: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert!(
        line["reference"].as_str().unwrap().starts_with("FIN-FAC-2025-"),
        "{line}"
    );
}

#[test]
fn an_undated_deposit_takes_the_date_its_text_says_never_one_to_come() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "greffe");
    let today = chrono::Utc::now().date_naive();

    // A délibération, classified by its wording, dated by its séance (not
    // by the laws it cites, nor by the day of its deposit), and kept by the
    // rule from that date.
    let text = "EXTRAIT DU REGISTRE DES DÉLIBÉRATIONS\n\
        Délibération n° 2024-031\n\
        Vu la loi n° 83-634 du 13 juillet 1983 portant droits et obligations des fonctionnaires ;\n\
        Séance du 12 mars 2024\n\
        Le conseil municipal, dûment convoqué le 5 mars 2024, approuve le budget primitif.";
    let r = created(deposit(&server, &agent, text.as_bytes(), "deliberation.txt", &json!({})).unwrap());
    let first = r["reference"].as_str().unwrap().to_owned();
    assert!(r.get("same_content").is_none(), "{r}");
    assert_eq!(
        (r["node"].as_str(), r["date"].as_str()),
        (Some("ADM-DEL"), Some("2024-03-12")),
        "{r}"
    );
    assert_eq!(
        r["dated"],
        json!({"from": "text", "excerpt": "Séance du 12 mars 2024"}),
        "{r}"
    );
    assert_eq!(r["retention"]["due"], "2025-03-12", "{r}");
    assert!(r["reference"].as_str().unwrap().starts_with("ADM-DEL-2024-"), "{r}");

    // A node given, no date given or said: the day of the deposit, said so.
    let r = created(
        deposit(
            &server,
            &agent,
            "Note sans date sur l'entretien des locaux.".as_bytes(),
            "note.txt",
            &json!({"node": "ADM-ARR"}),
        )
        .unwrap(),
    );
    assert_eq!(r["date"], today.to_string(), "{r}");
    assert_eq!(r["dated"], json!({"from": "deposit_day"}), "{r}");

    // A date given wins and is not said to come from elsewhere.
    let r = created(
        deposit(
            &server,
            &agent,
            text.as_bytes(),
            "deliberation.txt",
            &json!({"node": "ADM-DEL", "date": "2024-03-14"}),
        )
        .unwrap(),
    );
    assert_eq!((r["date"].as_str(), r.get("dated")), (Some("2024-03-14"), None), "{r}");
    // The same bytes again: kept (a second record), with a warning naming
    // the record that held them.
    assert_eq!(r["same_content"][0]["reference"], first.as_str(), "{r}");
    assert_eq!(r["same_content"].as_array().map(Vec::len), Some(1), "{r}");

    // A structured invoice dates itself.
    let pdf = factur_x(&cii("FX-9", "Papeterie Dupont", "12.00", "20250314"));
    let r = created(deposit(&server, &agent, &pdf, "facture.pdf", &json!({})).unwrap());
    assert_eq!(
        (r["date"].as_str(), r["dated"].clone()),
        (Some("2025-03-14"), json!({"from": "invoice"}))
    );

    // A date to come is refused, said in French; nothing is kept.
    let tomorrow = today.succ_opt().unwrap();
    let refused = deposit(
        &server,
        &agent,
        b"Compte rendu",
        "cr.txt",
        &json!({"node": "ADM-ARR", "date": tomorrow.to_string()}),
    )
    .unwrap();
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (422, "invalid_field"),
        "{}",
        refused.text()
    );
    assert!(
        refused
            .error_message()
            .contains(&tomorrow.format("%d/%m/%Y").to_string())
            && refused.error_message().contains("à venir"),
        "{}",
        refused.text()
    );
    let stats = get(&server.url("/api/v1/stats"), &token).json();
    assert_eq!(stats["records"], 4, "{stats}");
    server.stop();
}

#[test]
fn an_invoice_with_the_supplier_and_number_of_another_is_flagged_as_a_probable_duplicate() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "comptabilite");
    let no_node = json!({});
    let first = created(
        deposit(
            &server,
            &agent,
            ubl("FA-2025/0090", "Transports Martin", "100.00").as_bytes(),
            "facture.xml",
            &no_node,
        )
        .unwrap(),
    );
    assert!(first.get("probable_duplicates").is_none(), "{first}");
    // Sent again with another amount, its number written another way: the
    // bytes differ, the supplier and the number do not.
    let again = created(
        deposit(
            &server,
            &agent,
            ubl("FA 2025 0090", "TRANSPORTS MARTIN", "120.00").as_bytes(),
            "facture-relance.xml",
            &no_node,
        )
        .unwrap(),
    );
    assert!(again.get("same_content").is_none(), "other bytes: {again}");
    assert_eq!(
        again["probable_duplicates"],
        json!([{"reference": first["reference"], "title": first["title"]}]),
        "{again}"
    );
    // Each names the other, wherever it is shown.
    let reference = first["reference"].as_str().unwrap();
    let read = get(&server.url(&format!("/api/v1/records/{reference}")), &agent).json();
    assert_eq!(
        read["probable_duplicates"][0]["reference"], again["reference"],
        "{read}"
    );
    // Another supplier with the same number is another invoice.
    let other = created(
        deposit(
            &server,
            &agent,
            ubl("FA-2025/0090", "Papeterie Dupont", "100.00").as_bytes(),
            "facture-dupont.xml",
            &no_node,
        )
        .unwrap(),
    );
    assert!(other.get("probable_duplicates").is_none(), "{other}");
    server.stop();
}
