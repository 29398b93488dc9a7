//! Signed PDFs (a délibération signed in a parapheur, a signed
//! convention): at deposit, each signature is checked by poppler's
//! `pdfsig` over the file as deposited, and the report kept as the
//! record's fields, sealed with its deposit; one byte changed in the
//! signed range turns it invalid. The file is never changed.

use crate::common::*;
use serde_json::json;
use std::path::Path;

/// A one-page PDF with a detached CMS signature (adbe.pkcs7.detached) made
/// by `openssl cms` with `key`/`cert` over its byte ranges, as a
/// parapheur makes them; `text` is what the page says.
pub fn signed_pdf(dir: &Path, key: &str, cert: &str, text: &str) -> Vec<u8> {
    const SIGNATURE_HEX: usize = 16_384;
    let placeholder = "[0 0000000000 0000000000 0000000000]";
    let page = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [4 0 R] /SigFlags 3 >> >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [4 0 R] /Contents 6 0 R \
         /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
            .to_owned(),
        "<< /Type /Annot /Subtype /Widget /FT /Sig /Rect [0 0 0 0] /T (Signature1) /V 5 0 R /P 3 0 R /F 132 >>"
            .to_owned(),
        format!(
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached /ByteRange {placeholder} /Contents <{}> >>",
            "0".repeat(SIGNATURE_HEX)
        ),
    ];
    let mut objects: Vec<Vec<u8>> = objects.into_iter().map(String::into_bytes).collect();
    objects.push(crate::formats::stream_object("", page.as_bytes()));
    let mut pdf = crate::formats::pdf_from_objects(&objects);
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle).expect("in the PDF");
    // The signature's hex string, brackets included, is what is not signed.
    let start = find(&pdf, b"/Contents <") + "/Contents ".len();
    let end = start + SIGNATURE_HEX + 2;
    let ranges = format!("[0 {start:010} {end:010} {:010}]", pdf.len() - end);
    assert_eq!(ranges.len(), placeholder.len());
    let at = find(&pdf, placeholder.as_bytes());
    pdf[at..at + ranges.len()].copy_from_slice(ranges.as_bytes());
    let mut signed_bytes = pdf[..start].to_vec();
    signed_bytes.extend_from_slice(&pdf[end..]);
    std::fs::write(dir.join("a-signer.bin"), &signed_bytes).expect("the signed bytes");
    openssl(
        dir,
        &[
            "cms",
            "-sign",
            "-binary",
            "-in",
            "a-signer.bin",
            "-signer",
            cert,
            "-inkey",
            key,
            "-outform",
            "DER",
            "-out",
            "signature.der",
            "-md",
            "sha256",
        ],
    );
    let signature = std::fs::read(dir.join("signature.der")).expect("the signature");
    let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
    assert!(hex.len() <= SIGNATURE_HEX, "room for the signature");
    pdf[start + 1..start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    pdf
}

#[test]
fn a_signed_pdfs_report_names_its_signer_and_one_byte_changed_turns_it_invalid() {
    let Fresh { tmp, data, token } = fresh_archive();
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).expect("a folder");
    make_ca(&pki, "AC de test du parapheur");
    issue_certificate(
        &pki,
        "maire",
        "/CN=Marie Dupont/O=Commune de Test/C=FR",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    );
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "assemblees");
    let pdf = signed_pdf(
        &pki,
        "maire.key",
        "maire.pem",
        "Deliberation 2024-12 du conseil municipal",
    );
    let meta = json!({"node": "ADM-DEL", "date": "2024-03-15", "title": "Délibération 2024-12"});

    let record = created(deposit(&server, &agent, &pdf, "deliberation-2024-12.pdf", &meta).expect("an answer"));
    let fields = &record["fields"];
    assert_eq!(fields["signature"], "valide", "{record}");
    assert_eq!(fields["signataire"], "Marie Dupont, Commune de Test");
    assert!(
        fields["signature_algorithme"]
            .as_str()
            .is_some_and(|a| a.starts_with("SHA-256")),
        "{fields}"
    );
    assert!(
        fields["signature_date"].as_str().is_some_and(|d| d.contains(" à ")),
        "{fields}"
    );
    assert!(
        fields["signature_chaine"].is_string(),
        "what poppler says of the certificate: {fields}"
    );
    assert_eq!(
        record["versions"][0]["sha256"],
        sha256_hex(&pdf),
        "the file is kept as deposited"
    );

    // One byte of the page's text changed inside the signed range.
    let mut forged = pdf.clone();
    let at = forged
        .windows(b"2024-12".len())
        .position(|w| w == b"2024-12")
        .expect("the text");
    forged[at + 6] = b'3';
    let record = created(deposit(&server, &agent, &forged, "deliberation-2024-13.pdf", &meta).expect("an answer"));
    assert_eq!(record["fields"]["signature"], "invalide", "{record}");
    assert!(
        record["fields"]["signature_motif"]
            .as_str()
            .is_some_and(|m| m.contains("a changé depuis la signature")),
        "{record}"
    );

    // A PDF without a signature gets no signature fields, and a depositor
    // cannot give one: the report is the archive's.
    let plain = b"%PDF-1.4\n1 0 obj<< /Type /Catalog >>endobj\ntrailer<< /Root 1 0 R >>\n%%EOF\n";
    let given = json!({"node": "ADM-DEL", "date": "2024-03-15", "title": "Sans signature",
                       "fields": {"signature": "valide"}});
    let answer = deposit(&server, &agent, plain, "sans-signature.pdf", &given).expect("an answer");
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert_eq!(answer.json()["error"]["details"]["field"], "fields.signature");
}
