//! Accounting flows (PES V2) over HTTP: a real flow from S²LOW's tests
//! split into linked records whose fields are the XML's, its pièces
//! justificatives decoded into their own files, its acknowledgement linked
//! to it; a bordereau signed here with `xmlsec1` reported valid, then
//! invalid once one digit of its amount changes; and what is not a flow,
//! or what the plan refuses, refused with nothing left behind.

use crate::common::*;
use base64::Engine as _;
use serde_json::Value;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;

const ALLER: &[u8] = include_bytes!("../data/pes/pes_aller.xml");
const ACQUIT: &[u8] = include_bytes!("../data/pes/pes_acquit.xml");
const SIGNED_IN_2015: &[u8] = include_bytes!("../data/pes/signature_bordereau.xml");

/// Posts a flow; the answer.
fn send(server: &Server, token: &str, flow: &[u8], name: &str) -> Answer {
    let body = multipart(&[Part {
        name: "file",
        filename: Some(name.as_bytes()),
        content: flow,
    }]);
    post_multipart(&server.url("/api/v1/flows/pes"), token, &body).expect("the server answers")
}

/// The parts of an answer, as (kind, reference).
fn parts(answer: &Value) -> Vec<(String, String)> {
    answer["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap_or_default().to_owned(),
                p["reference"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn record(server: &Server, token: &str, reference: &str) -> Value {
    get(&server.url(&format!("/api/v1/records/{reference}")), token).json()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

/// S²LOW's flow with a pièce justificative (a PDF, gzipped and in base64
/// as the format wants) that its mandat names.
fn flow_with_voucher(pdf: &[u8]) -> Vec<u8> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(gzip(pdf));
    let text = String::from_utf8(ALLER.to_vec()).expect("ASCII");
    text.replace(
        "<Obj V=\"TEST HOMOLOGATION\"/>",
        "<Obj V=\"TEST HOMOLOGATION\"/>\n      <PJRef><Support V=\"01\"/><IdUnique V=\"PJ-832-1\"/></PJRef>",
    )
    .replace(
        "</EnTetePES_PJ>",
        &format!(
            "</EnTetePES_PJ>\n  <PJ><Contenu><Fichier MIMEType=\"application/pdf\">{encoded}</Fichier></Contenu>\
             <IdUnique V=\"PJ-832-1\"/><NomPJ V=\"echeancier.pdf\"/><Description V=\"Echeancier\"/>\
             <RefCompta><Domaine V=\"01\"/><Exercice V=\"2009\"/><TypeObjet V=\"01\"/><Identifiant V=\"832\"/></RefCompta></PJ>"
        ),
    )
    .into_bytes()
}

#[test]
fn a_real_flow_becomes_linked_records_whose_fields_are_the_xmls_and_its_acknowledgement_links_to_it() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "comptabilite");
    let pdf = b"%PDF-1.4\n% echeancier de la paierie\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    let flow = flow_with_voucher(pdf);

    let answer = send(&server, &agent, &flow, "pes_aller.xml");
    assert_eq!(answer.status, 201, "{}", answer.text());
    let captured = answer.json();
    let kinds: Vec<String> = parts(&captured).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        kinds,
        ["flux", "bordereau_mandats", "mandat", "piece_justificative"],
        "{captured}"
    );
    let refs: Vec<String> = parts(&captured).into_iter().map(|(_, r)| r).collect();
    let (flow_ref, slip_ref, mandate_ref, voucher_ref) = (&refs[0], &refs[1], &refs[2], &refs[3]);

    // The flow as received, byte for byte.
    let whole = record(&server, &agent, flow_ref);
    assert_eq!(whole["node"], "FIN-PES");
    assert_eq!(whole["type"], "flux PES");
    assert_eq!(whole["versions"][0]["sha256"], sha256_hex(&flow), "never rewritten");
    assert_eq!(whole["date"], "2015-06-16");
    assert_eq!(whole["fields"]["nom_fichier"], "03f432a4f6d35110bf309fb525eb61f7");
    assert_eq!(whole["fields"]["siret_collectivite"], "12345678912345");
    assert_eq!(whole["fields"]["libelle_budget"], "COMMUNE");

    // The bordereau, its fields as in BlocBordereau.
    let slip = record(&server, &agent, slip_ref);
    assert_eq!(slip["node"], "FIN-BOR");
    assert_eq!(slip["title"], "Bordereau de mandats n° 1093357910 – exercice 2009");
    assert_eq!(slip["date"], "2009-07-16");
    for (field, value) in [
        ("exercice", "2009"),
        ("numero_bordereau", "1093357910"),
        ("type_bordereau", "01"),
        ("nombre_pieces", "1"),
        ("montant_ht", "75724.75"),
        ("montant_cumul_annuel", "6312190.16"),
    ] {
        assert_eq!(slip["fields"][field], value, "{field}: {slip}");
    }
    assert!(
        crate::links::links(&slip).contains(&("part_of".into(), "to".into(), flow_ref.clone())),
        "{slip}"
    );

    // The mandat, with its tiers, imputation and amount.
    let mandate = record(&server, &agent, mandate_ref);
    assert_eq!(mandate["node"], "FIN-MAN");
    assert_eq!(mandate["type"], "mandat");
    assert_eq!(mandate["title"], "Mandat n° 832 – TEST HOMOLOGATION");
    for (field, value) in [
        ("numero_piece", "832"),
        ("objet", "TEST HOMOLOGATION"),
        ("tiers", "PAIERIE DEPART. HERAULT"),
        ("reference_tiers", "811"),
        ("nature", "6553"),
        ("fonction", "113"),
        ("montant_ht", "39724.75"),
        ("exercice", "2009"),
        ("numero_bordereau", "1093357910"),
    ] {
        assert_eq!(mandate["fields"][field], value, "{field}: {mandate}");
    }
    assert!(
        crate::links::links(&mandate).contains(&("part_of".into(), "to".into(), slip_ref.clone())),
        "{mandate}"
    );
    let piece_xml = get(&server.url(&format!("/api/v1/records/{mandate_ref}/content")), &agent);
    assert!(
        piece_xml.text().contains("<IdPce V=\"832\"/>") && piece_xml.text().starts_with("<?xml"),
        "the mandat's element as it stands in the flow"
    );

    // The pièce justificative: its own file, decoded, supporting the mandat.
    let voucher = record(&server, &agent, voucher_ref);
    assert_eq!(voucher["node"], "FIN-PJ");
    assert_eq!(voucher["title"], "Echeancier (echeancier.pdf)");
    assert_eq!(voucher["versions"][0]["sha256"], sha256_hex(pdf));
    assert_eq!(voucher["versions"][0]["media_type"], "application/pdf");
    assert!(
        crate::links::links(&voucher).contains(&("supports".into(), "to".into(), mandate_ref.clone())),
        "{voucher}"
    );
    let content = get(&server.url(&format!("/api/v1/records/{voucher_ref}/content")), &agent);
    assert_eq!(content.body, pdf);

    // Sent again (a channel retrying): nothing new, the same records.
    let again = send(&server, &agent, &flow, "pes_aller.xml");
    assert_eq!(again.status, 200, "{}", again.text());
    let again = again.json();
    assert_eq!(parts(&again), parts(&captured));
    assert!(
        again["parts"]
            .as_array()
            .expect("parts")
            .iter()
            .all(|p| p["already_archived"] == true)
    );

    // The acknowledgement names the flow by its file name.
    let ack = send(&server, &agent, ACQUIT, "pes_acquit.xml");
    assert_eq!(ack.status, 201, "{}", ack.text());
    let ack = ack.json();
    assert_eq!(ack["acknowledged"]["flow"], flow_ref.as_str(), "{ack}");
    assert_eq!(ack["acknowledged"]["accepted"], true);
    let ack_ref = ack["parts"][0]["reference"].as_str().expect("a reference").to_owned();
    let ack_record = record(&server, &agent, &ack_ref);
    assert_eq!(ack_record["fields"]["etat"], "accepté");
    assert_eq!(ack_record["type"], "acquittement PES");
    assert!(crate::links::links(&ack_record).contains(&("acknowledges".into(), "to".into(), flow_ref.clone())));
    let flow_now = record(&server, &agent, flow_ref);
    assert!(
        crate::links::links(&flow_now).contains(&("acknowledges".into(), "from".into(), ack_ref.clone())),
        "the flow shows its acknowledgement: {flow_now}"
    );

    // A rejected acknowledgement says why.
    let rejected = rejected_acknowledgement();
    let answer = send(&server, &agent, rejected.as_bytes(), "pes_acquit_rejet.xml").json();
    assert_eq!(answer["acknowledged"]["accepted"], false, "{answer}");
    assert_eq!(answer["acknowledged"]["anomalies"][0]["code"], "ERREUR_SIRET");
    let rejection = record(
        &server,
        &agent,
        answer["parts"][0]["reference"].as_str().expect("a reference"),
    );
    assert_eq!(rejection["fields"]["etat"], "rejeté");
    assert_eq!(rejection["fields"]["motif"], "ERREUR_SIRET : SIRET du tiers inconnu");
    assert_journal_follows_its_schema(&data);
}

/// Signs the bordereau `BORD1093357910` of S²LOW's flow with `key`/`cert`
/// (an enveloped XAdES signature as Hélios wants it: the bordereau and the
/// signed properties referenced, exclusive canonicalisation), with
/// `xmlsec1`; the signed flow's bytes.
fn signed_flow(dir: &Path, key: &str, cert: &str, sha1: bool) -> Vec<u8> {
    let (method, digest, digest_name) = if sha1 {
        (
            "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            "http://www.w3.org/2000/09/xmldsig#sha1",
            "sha1",
        )
    } else {
        (
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            "http://www.w3.org/2001/04/xmlenc#sha256",
            "sha256",
        )
    };
    let pem = std::fs::read_to_string(dir.join(cert)).expect("the certificate");
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>()
                .as_bytes(),
        )
        .expect("PEM");
    let cert_digest = if sha1 {
        use sha1::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(&sha1::Sha1::digest(&der)[..])
    } else {
        use sha2::Digest as _;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&der))
    };
    // Now: the test authority's certificates are valid for two days.
    let signed_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    let template = format!(
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"BORD1093357910_SIG_1\">\
<ds:SignedInfo><ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
<ds:SignatureMethod Algorithm=\"{method}\"/>\
<ds:Reference URI=\"#BORD1093357910\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{digest}\"/><ds:DigestValue></ds:DigestValue></ds:Reference>\
<ds:Reference Type=\"http://uri.etsi.org/01903/v1.1.1#SignedProperties\" URI=\"#BORD1093357910_SIG_1_SP\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{digest}\"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>\
<ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo>\
<ds:Object><xad:QualifyingProperties xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" Target=\"#BORD1093357910_SIG_1\">\
<xad:SignedProperties Id=\"BORD1093357910_SIG_1_SP\"><xad:SignedSignatureProperties>\
<xad:SigningTime>{signed_at}</xad:SigningTime>\
<xad:SigningCertificate><xad:Cert><xad:CertDigest><xad:DigestMethod Algorithm=\"{digest}\"/>\
<xad:DigestValue>{cert_digest}</xad:DigestValue></xad:CertDigest></xad:Cert></xad:SigningCertificate>\
<xad:SignaturePolicyIdentifier><xad:SignaturePolicyId><xad:SigPolicyId>\
<xad:Identifier>urn:oid:1.2.250.1.131.1.5.18.21.1.4</xad:Identifier>\
<xad:Description>Politique de signature Helios de la DGFiP</xad:Description></xad:SigPolicyId>\
</xad:SignaturePolicyId></xad:SignaturePolicyIdentifier>\
<xad:SignerRole><xad:ClaimedRoles><xad:ClaimedRole>Ordonnateur</xad:ClaimedRole></xad:ClaimedRoles></xad:SignerRole>\
</xad:SignedSignatureProperties></xad:SignedProperties></xad:QualifyingProperties></ds:Object></ds:Signature>\n"
    );
    let text = String::from_utf8(ALLER.to_vec()).expect("ASCII");
    let unsigned = text.replacen("  </Bordereau>", &format!("  {template}  </Bordereau>"), 1);
    let input = dir.join(format!("unsigned-{digest_name}.xml"));
    let output = dir.join(format!("signed-{digest_name}.xml"));
    std::fs::write(&input, unsigned).expect("a template");
    let keys = format!("{key},{cert}");
    let out = Command::new("xmlsec1")
        .current_dir(dir)
        .args([
            "--sign",
            "--privkey-pem",
            &keys,
            "--id-attr:Id",
            "Bordereau",
            "--id-attr:Id",
            "SignedProperties",
            "--output",
        ])
        .arg(&output)
        .arg(&input)
        .output()
        .expect("xmlsec1 (make deps installs it)");
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&output).expect("the signed flow")
}

#[test]
fn a_signed_bordereau_is_reported_valid_then_invalid_once_one_digit_of_its_amount_changes() {
    let Fresh { tmp, data, token } = fresh_archive();
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).expect("a folder");
    make_ca(&pki, "AC de test de la paierie");
    issue_certificate(
        &pki,
        "ordonnateur",
        "/CN=Marie Dupont/O=Commune de Test/C=FR",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n",
    );
    let authorities = pki.join("ca.pem");
    let server = Server::start(
        &data,
        &["--signature-authorities", authorities.to_str().expect("a UTF-8 path")],
    );
    let agent = new_token(&server, &token, "agent", "comptabilite");

    let signed = signed_flow(&pki, "ordonnateur.key", "ordonnateur.pem", false);
    let answer = send(&server, &agent, &signed, "pes_signe.xml");
    assert_eq!(answer.status, 201, "{}", answer.text());
    let answer = answer.json();
    let slip = &answer["parts"][1];
    let signature = &slip["signature"];
    assert_eq!(signature["verdict"], "valid", "{answer}");
    assert_eq!(signature["signer"], "Marie Dupont, Commune de Test");
    assert_eq!(signature["algorithm"], "RSA-SHA256");
    assert!(signature.get("warning").is_none(), "{signature}");
    let today = chrono::Utc::now().format("%d/%m/%Y").to_string();
    assert!(
        signature["signed_at"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("{today} à ")) && t.ends_with(" UTC")),
        "{signature}"
    );
    assert_eq!(
        signature["policy"],
        "Politique de signature Helios de la DGFiP (urn:oid:1.2.250.1.131.1.5.18.21.1.4)"
    );
    assert_eq!(signature["role"], "Ordonnateur");
    assert_eq!(signature["certificate_named"], true);
    assert!(
        signature["certificate"]
            .as_str()
            .is_some_and(|c| c.contains("émis par AC de test de la paierie")),
        "{signature}"
    );
    assert!(
        signature["chain"]
            .as_str()
            .is_some_and(|c| c.starts_with("le certificat vient d'une autorité de confiance")),
        "{signature}"
    );
    // The report is kept with the record, as its fields.
    let slip_record = record(&server, &agent, slip["reference"].as_str().expect("a reference"));
    assert_eq!(slip_record["fields"]["signature"], "valide", "{slip_record}");
    assert_eq!(slip_record["fields"]["signataire"], "Marie Dupont, Commune de Test");
    // The flow is archived as signed, never rewritten.
    let whole = record(
        &server,
        &agent,
        answer["parts"][0]["reference"].as_str().expect("a reference"),
    );
    assert_eq!(whole["versions"][0]["sha256"], sha256_hex(&signed));

    // One digit of the bordereau's amount changed after signing.
    let text = String::from_utf8(signed).expect("ASCII");
    assert!(text.contains("<MtBordHT V=\"75724.75\"/>"));
    let forged = text.replace("<MtBordHT V=\"75724.75\"/>", "<MtBordHT V=\"75724.76\"/>");
    let answer = send(&server, &agent, forged.as_bytes(), "pes_signe_modifie.xml");
    assert_eq!(
        answer.status,
        201,
        "a forged flow is archived, as evidence, with its report: {}",
        answer.text()
    );
    let answer = answer.json();
    let signature = &answer["parts"][1]["signature"];
    assert_eq!(signature["verdict"], "invalid", "{answer}");
    assert!(
        signature["reason"]
            .as_str()
            .is_some_and(|r| r.contains("a changé depuis la signature")),
        "{signature}"
    );
    let slip_record = record(
        &server,
        &agent,
        answer["parts"][1]["reference"].as_str().expect("a reference"),
    );
    assert_eq!(slip_record["fields"]["signature"], "invalide");
    assert_eq!(slip_record["fields"]["montant_ht"], "75724.76");

    // RSA-SHA1, as in flows of the 2010s: accepted, and flagged.
    let old = signed_flow(&pki, "ordonnateur.key", "ordonnateur.pem", true);
    let answer = send(&server, &agent, &old, "pes_sha1.xml").json();
    let signature = &answer["parts"][1]["signature"];
    assert_eq!(signature["verdict"], "valid", "{answer}");
    assert_eq!(signature["algorithm"], "RSA-SHA1");
    assert!(
        signature["warning"].as_str().is_some_and(|w| w.contains("SHA-1")),
        "{signature}"
    );

    // S²LOW's real flow of 2015, re-indented after it was signed: its
    // signature no longer holds, and its signer and policy are reported.
    let answer = send(&server, &agent, SIGNED_IN_2015, "signature_bordereau.xml");
    assert_eq!(answer.status, 201, "{}", answer.text());
    let answer = answer.json();
    let signature = &answer["parts"][1]["signature"];
    assert_eq!(signature["verdict"], "invalid", "{answer}");
    assert_eq!(signature["signer"], "demo-u, ADULLACT");
    assert_eq!(signature["role"], "Parapheur du Maire");
    assert_eq!(signature["certificate_named"], true);
    assert_eq!(signature["algorithm"], "RSA-SHA1");
    let mandates = answer["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|p| p["kind"] == "mandat")
        .count();
    assert_eq!(mandates, 5);
}

#[test]
fn what_is_not_a_flow_or_what_the_plan_refuses_is_refused_with_nothing_kept() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "comptabilite");
    let count = |server: &Server| {
        get(&server.url("/api/v1/stats"), &token).json()["records"]
            .as_u64()
            .unwrap_or(u64::MAX)
    };
    let before = count(&server);

    for (bytes, said) in [
        (&b"pas du XML"[..], "pas du XML lisible"),
        (b"<Invoice/>", "l'élément racine est « Invoice »"),
    ] {
        let answer = send(&server, &agent, bytes, "flux.xml");
        assert_eq!(answer.status, 422, "{}", answer.text());
        assert_eq!(answer.error_code(), "invalid_field");
        assert!(answer.error_message().contains(said), "{}", answer.error_message());
    }

    // A bordereau dated in the future: the plan refuses its date, and the
    // flow, checked whole first, leaves nothing behind.
    let future = String::from_utf8(ALLER.to_vec())
        .expect("ASCII")
        .replace("<DteBordEm V=\"2009-07-16\"/>", "<DteBordEm V=\"2999-07-16\"/>");
    let answer = send(&server, &agent, future.as_bytes(), "flux-futur.xml");
    assert_eq!(answer.status, 422, "{}", answer.text());
    assert!(
        answer
            .error_message()
            .contains("le bordereau de mandats « Bordereau de mandats n° 1093357910"),
        "{}",
        answer.error_message()
    );
    assert!(answer.error_message().contains("à venir"), "{}", answer.error_message());
    assert_eq!(count(&server), before, "nothing was kept");

    let body = multipart(&[Part {
        name: "metadata",
        filename: None,
        content: b"{}",
    }]);
    let answer = post_multipart(&server.url("/api/v1/flows/pes"), &agent, &body).expect("an answer");
    assert_eq!(answer.status, 400);
    assert_eq!(answer.error_code(), "invalid_multipart");

    // The command line: each flow as a tree, going on past a bad file,
    // exit code not 0 and one line saying which and why.
    let flow_file = data.parent().expect("a parent").join("pes_aller.xml");
    let bad_file = data.parent().expect("a parent").join("pas-un-flux.xml");
    std::fs::write(&flow_file, ALLER).expect("a file");
    std::fs::write(&bad_file, "<facture/>").expect("a file");
    let out = cli(
        &data,
        &[
            "pes",
            bad_file.to_str().expect("UTF-8"),
            flow_file.to_str().expect("UTF-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(
        printed.contains("\tbordereau de mandats\tBordereau de mandats n° 1093357910"),
        "{printed}"
    );
    assert!(
        printed.contains("\tmandat\tMandat n° 832 – TEST HOMOLOGATION"),
        "{printed}"
    );
    let said = stderr(&out);
    assert!(
        said.contains("pas-un-flux.xml: ") && said.contains("l'élément racine est « facture »"),
        "{said}"
    );
    assert!(said.contains("1 sur 2 flux non archivé"), "{said}");
    let out = cli(&data, &["pes", "--json", flow_file.to_str().expect("UTF-8")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let answer: Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(answer["parts"][0]["already_archived"], true, "{answer}");
    let kept = count(&server);
    assert_eq!(kept, before + 3, "the flow, its bordereau and its mandat");

    // An auditor may not deposit.
    let auditor = new_token(&server, &token, "auditor", "controle");
    assert_eq!(send(&server, &auditor, ALLER, "pes_aller.xml").status, 403);
}

#[test]
fn the_finance_softwares_export_folder_splits_each_flow_and_refuses_what_is_not_one() {
    use crate::capture::{capture_file_with, ingested, wait_until, waiting, with_scanner_account};
    use std::time::Duration;
    let Fresh { tmp, data, token } = fresh_archive();
    with_scanner_account(&data, &token);
    let (capture, inbox) = capture_file_with(tmp.path(), None, "pes = true\n");
    let server = Server::start(&data, &["--capture", capture.to_str().expect("UTF-8")]);
    std::fs::write(inbox.join("pes_aller.xml"), ALLER).expect("a flow");
    std::fs::write(inbox.join("releve.csv"), "date;montant\n2024-03-01;12,50\n").expect("a file");
    wait_until("the flows to be put away", Duration::from_secs(60), || {
        waiting(&inbox).is_empty()
    });
    let events = ingested(&server, &token);
    let nodes: Vec<&str> = events.iter().filter_map(|e| e["node"].as_str()).collect();
    assert_eq!(nodes, ["FIN-PES", "FIN-BOR", "FIN-MAN"], "{events:?}");
    assert!(
        events.iter().all(|e| e["channel"] == "dossier:scanner-accueil"),
        "{events:?}"
    );
    assert!(inbox.join("done/pes_aller.xml").is_file());
    let said = std::fs::read_to_string(inbox.join("failed/releve.csv.motif.txt")).expect("a reason");
    assert!(said.contains("ce n'est pas un flux PES"), "{said}");

    // Dropped again (a second export of the same day): nothing twice.
    std::fs::write(inbox.join("pes_aller.xml"), ALLER).expect("a flow");
    wait_until("the flow to be put away again", Duration::from_secs(60), || {
        waiting(&inbox).is_empty()
    });
    assert_eq!(ingested(&server, &token).len(), 3, "nothing twice");
    server.stop();
}

#[test]
fn a_signature_of_the_whole_flow_is_reported_on_the_flows_record() {
    let Fresh { tmp, data, token } = fresh_archive();
    let pki = tmp.path().join("pki");
    std::fs::create_dir_all(&pki).expect("a folder");
    make_ca(&pki, "AC de test de la paierie");
    issue_certificate(
        &pki,
        "comptable",
        "/CN=Paul Martin/O=Commune de Test/C=FR",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n",
    );
    let template = "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"FLUX_SIG\"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
<ds:Reference URI=\"#c78a9729c1eb89ff9b47401bd7cd9d7e\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue></ds:DigestValue></ds:Reference>\
</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>\n";
    let text = String::from_utf8(ALLER.to_vec()).expect("ASCII");
    let unsigned = text.replacen("</n:PES_Aller>", &format!("{template}</n:PES_Aller>"), 1);
    std::fs::write(pki.join("flux.xml"), unsigned).expect("a template");
    let out = Command::new("xmlsec1")
        .current_dir(&pki)
        .args([
            "--sign",
            "--privkey-pem",
            "comptable.key,comptable.pem",
            "--id-attr:Id",
            "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller:PES_Aller",
            "--output",
            "flux-signe.xml",
            "flux.xml",
        ])
        .output()
        .expect("xmlsec1 (make deps installs it)");
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = std::fs::read(pki.join("flux-signe.xml")).expect("the signed flow");

    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "comptabilite");
    let answer = send(&server, &agent, &signed, "flux-signe.xml").json();
    let flow = &answer["parts"][0];
    assert_eq!(flow["kind"], "flux");
    assert_eq!(flow["signature"]["verdict"], "valid", "{answer}");
    assert_eq!(flow["signature"]["signer"], "Paul Martin, Commune de Test");
    assert!(
        answer["parts"][1].get("signature").is_none(),
        "the bordereau is not signed itself"
    );
    let whole = record(&server, &agent, flow["reference"].as_str().expect("a reference"));
    assert_eq!(whole["fields"]["signature"], "valide", "{whole}");

    // Any byte of the flow changed: the whole flow's signature fails.
    let forged = String::from_utf8(signed).expect("ASCII").replace(
        "<Nom V=\"PAIERIE DEPART. HERAULT\"/>",
        "<Nom V=\"PAIERIE DEPART. HERAULE\"/>",
    );
    let answer = send(&server, &agent, forged.as_bytes(), "flux-signe-modifie.xml").json();
    assert_eq!(answer["parts"][0]["signature"]["verdict"], "invalid", "{answer}");
}

#[test]
fn a_flow_over_the_limit_is_refused_with_413_and_the_server_stays_up() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--max-upload", "2KiB"]);
    let answer = send(&server, &token, ALLER, "pes_aller.xml");
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert_eq!(answer.error_code(), "payload_too_large");
    assert_eq!(get(&server.url("/healthz"), &token).status, 200);
}

/// S²LOW's acknowledgement, rejecting the flow for a SIRET the accountant
/// does not know.
fn rejected_acknowledgement() -> String {
    String::from_utf8(ACQUIT.to_vec())
        .expect("ASCII")
        .replace("<DteStr V=\"2015-12-10\"/>", "<DteStr V=\"2015-12-11\"/>")
        .replacen(
            "<EtatAck V=\"1\"/>",
            "<EtatAck V=\"0\"/><Erreur><NumAnoAck V=\"ERREUR_SIRET\"/><LibelleAnoAck V=\"SIRET du tiers inconnu\"/></Erreur>",
            1,
        )
}

#[test]
fn an_acknowledged_flow_moves_its_mandats_and_the_invoice_sent_as_its_voucher_on_by_themselves() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "comptabilite");
    // The invoice, received on 20 May 2015, its service done on 1 June.
    let pdf = b"%PDF-1.4\n% facture FA-2015-77 de la Paierie\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
    let invoice = created(
        deposit(
            &server,
            &agent,
            pdf,
            "facture-FA-2015-77.pdf",
            &serde_json::json!({"node": "FIN-FAC", "title": "Facture FA-2015-77", "date": "2015-05-18",
                "fields": {"fournisseur": "Paierie départementale", "numero_facture": "FA-2015-77",
                           "montant_ttc": "39724.75", "date_reception": "2015-05-20"}}),
        )
        .expect("an answer"),
    );
    let invoice = invoice["reference"].as_str().expect("a reference").to_owned();
    let moved = post_json(
        &server.url(&format!("/api/v1/records/{invoice}/moves")),
        &agent,
        &serde_json::json!({"to": "service_fait", "date": "2015-06-01"}),
    );
    assert_eq!(moved.status, 200, "{}", moved.text());

    // The flow sends it as the mandat's pièce justificative: held already.
    let captured = send(&server, &agent, &flow_with_voucher(pdf), "pes_aller.xml").json();
    let refs = parts(&captured);
    assert_eq!(
        refs[3],
        ("piece_justificative".to_owned(), invoice.clone()),
        "{captured}"
    );
    let mandate = refs[2].1.clone();
    let today = chrono::Utc::now().date_naive().to_string();
    assert_eq!(circulation(&server, &agent, &mandate).0, "transmis");

    // A first acknowledgement rejects the flow: the mandat is rejected,
    // with the accountant's reason; the invoice waits.
    let rejected = rejected_acknowledgement();
    assert_eq!(
        send(&server, &agent, rejected.as_bytes(), "pes_acquit_rejet.xml").status,
        201
    );
    assert_eq!(circulation(&server, &agent, &mandate).0, "rejete");
    assert_eq!(circulation(&server, &agent, &invoice).0, "service_fait");

    // The accountant accepts it after all: the invoice is mandatée on the
    // flow's day; the mandat's circuit ended with the rejection.
    let ack = send(&server, &agent, ACQUIT, "pes_acquit.xml");
    assert_eq!(ack.status, 201, "{}", ack.text());
    assert_eq!(
        circulation(&server, &agent, &invoice),
        (
            "mandatee".to_owned(),
            vec![
                "recue 2015-05-20".to_owned(),
                "service_fait 2015-06-01".to_owned(),
                "mandatee 2015-06-16".to_owned()
            ]
        )
    );
    let (step, passages) = circulation(&server, &agent, &mandate);
    assert_eq!(step, "rejete");
    assert_eq!(passages.last(), Some(&format!("rejete {today}")));
    let journal = get(&server.url("/api/v1/audit/events?after=0"), &token).text();
    assert!(
        journal.contains("flux PES « 03f432a4f6d35110bf309fb525eb61f7 » rejeté par le comptable (ERREUR_SIRET : SIRET du tiers inconnu)"),
        "{journal}"
    );
    assert!(journal.contains("accepté par le comptable"), "{journal}");
    // Capture's indicators: one flow, accepted in the end; the rejection's
    // anomaly is counted.
    let capture = get(&server.url("/api/v1/indicators/capture"), &token).json();
    assert_eq!(
        capture["flows"],
        serde_json::json!({"sent": 1, "accepted": 1, "rejected": 0, "waiting": 0}),
        "{capture}"
    );
    assert_eq!(
        capture["rejections"],
        serde_json::json!([{"code": "ERREUR_SIRET", "label": "SIRET du tiers inconnu", "flows": 1}]),
        "{capture}"
    );
    assert_eq!(journal.matches("\"flow.acknowledged\"").count(), 2, "{journal}");
    let metrics = get(&server.url("/metrics"), &token).text();
    assert!(metrics.contains("coffre_pes_flows{state=\"accepted\"} 1"), "{metrics}");
    assert_journal_follows_its_schema(&data);
}
