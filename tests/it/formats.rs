//! Text extraction across formats, and files built to hurt the extractors:
//! each is archived, its failure recorded, and the server stays responsive.

use crate::common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::time::Duration;

/// A PDF made of these objects (numbered from 1; the first is the catalog).
pub fn pdf_from_objects(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

pub fn stream_object(dictionary: &str, data: &[u8]) -> Vec<u8> {
    let mut o = format!("<< {dictionary} /Length {} >>\nstream\n", data.len()).into_bytes();
    o.extend_from_slice(data);
    o.extend_from_slice(b"\nendstream");
    o
}

/// A one-page PDF showing `lines` in Helvetica (ASCII only, so that the
/// file is also plain 7-bit text).
pub fn pdf_with_text(lines: &[&str]) -> Vec<u8> {
    let mut stream = String::from("BT /F1 12 Tf 72 720 Td 14 TL\n");
    for line in lines {
        stream.push_str(&format!("({}) Tj T*\n", line.replace('(', "\\(").replace(')', "\\)")));
    }
    stream.push_str("ET");
    pdf_from_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        stream_object("", stream.as_bytes()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

/// Renders the first page of a PDF with poppler's pdftoppm (`-png` or
/// `-jpeg`) at a fixed size.
pub fn render(pdf: &[u8], format: &str, width: u32, height: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.pdf"), pdf).unwrap();
    // PGM (gray PPM) is pdftoppm's default output: it has no flag.
    let flags: &[&str] = if format == "-pgm" { &[] } else { &[format] };
    let status = std::process::Command::new("pdftoppm")
        .args(flags)
        .args([
            "-gray",
            "-singlefile",
            "-scale-to-x",
            &width.to_string(),
            "-scale-to-y",
            &height.to_string(),
        ])
        .arg(dir.path().join("in.pdf"))
        .arg(dir.path().join("out"))
        .status()
        .expect("pdftoppm (poppler-utils, installed by the Makefile)");
    assert!(status.success());
    let name = match format {
        "-png" => "out.png",
        "-pgm" => "out.pgm",
        _ => "out.jpg",
    };
    std::fs::read(dir.path().join(name)).unwrap()
}

/// A scanned page: a PDF holding only an image (raw 8-bit gray samples) of
/// `pdf`'s first page.
pub fn scanned(pdf: &[u8]) -> Vec<u8> {
    let (w, h) = (2550, 3300);
    let pgm = render(pdf, "-pgm", w, h);
    // A binary PGM: "P5", width, height, maximum, each followed by one
    // whitespace byte, then the samples.
    let mut fields = 0;
    let mut start = 0;
    for (i, b) in pgm.iter().enumerate() {
        if b.is_ascii_whitespace() {
            fields += 1;
            if fields == 4 {
                start = i + 1;
                break;
            }
        }
    }
    let samples = &pgm[start..];
    assert_eq!(samples.len(), (w * h) as usize);
    pdf_from_objects(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /XObject << /Im1 5 0 R >> >> >>".to_vec(),
        stream_object("", b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
        stream_object(
            &format!("/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8"),
            samples,
        ),
    ])
}

fn zip_of(members: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        for (name, content) in members {
            w.start_file(*name, options).unwrap();
            w.write_all(content).unwrap();
        }
        w.finish().unwrap();
    }
    buf.into_inner()
}

fn docx(text: &str) -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"#
    );
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    zip_of(
        &[
            ("[Content_Types].xml", types.as_bytes()),
            ("word/document.xml", xml.as_bytes()),
        ],
        zip::CompressionMethod::Deflated,
    )
}

fn odt(text: &str) -> Vec<u8> {
    let xml = format!(
        r#"<?xml version="1.0"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:text><text:p>{text}</text:p></office:text></office:body></office:document-content>"#
    );
    zip_of(
        &[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", xml.as_bytes()),
        ],
        zip::CompressionMethod::Stored,
    )
}

fn eml(subject: &str, body: &str, attachment: Option<(&str, &str, &[u8])>) -> Vec<u8> {
    let mut m = format!(
        "From: Service achats <achats@mairie.example>\r\nTo: finances@mairie.example\r\nSubject: {subject}\r\nDate: Mon, 3 Mar 2025 10:00:00 +0100\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"sep\"\r\n\r\n--sep\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes();
    if let Some((name, media, content)) = attachment {
        m.extend_from_slice(
            format!("--sep\r\nContent-Type: {media}\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        m.extend_from_slice(content);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--sep--\r\n");
    m
}

/// An e-mail nesting `depth` messages, each attached to the one above.
fn nested_eml(depth: usize) -> Vec<u8> {
    let mut inner =
        b"From: a@b.fr\r\nSubject: fond\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nTout au fond.\r\n"
            .to_vec();
    for level in 0..depth {
        let mut outer = format!(
            "From: a@b.fr\r\nSubject: niveau {level}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b{level}\"\r\n\r\n--b{level}\r\nContent-Type: message/rfc822\r\n\r\n"
        )
        .into_bytes();
        outer.extend_from_slice(&inner);
        outer.extend_from_slice(format!("\r\n--b{level}--\r\n").as_bytes());
        inner = outer;
    }
    inner
}

fn search_refs(server: &Server, token: &str, q: &str) -> Vec<String> {
    let a = get(&server.url(&format!("/api/v1/search?q={q}&limit=100")), token);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    hit_refs(&a.json())
}

pub fn text_of(server: &Server, token: &str, reference: &str) -> Value {
    for _ in 0..600 {
        let record = get(&server.url(&format!("/api/v1/records/{reference}")), token).json();
        if record["text"]["status"] != "pending" {
            return record["text"].clone();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{reference} was never indexed");
}

#[test]
fn every_format_is_found_by_its_words() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let invoice = pdf_with_text(&[
        "FACTURE No 2025-117",
        "Fournisseur : Papeterie Dupont",
        "Montant TTC : 480,00 EUR",
    ]);
    let files: Vec<(&str, &str, Vec<u8>)> = vec![
        ("facture.pdf", "FIN-FAC", invoice.clone()),
        (
            "deliberation.docx",
            "ADM-DEL",
            docx("Délibération relative aux tarifs de la cantine scolaire"),
        ),
        (
            "arrete.odt",
            "ADM-ARR",
            odt("Arrêté municipal réglementant la circulation rue Pasteur"),
        ),
        (
            "courriel.eml",
            "FIN-MAN",
            eml(
                "Envoi de la facture",
                "Bonjour, voici la pièce.",
                Some(("facture.pdf", "application/pdf", &invoice)),
            ),
        ),
        (
            "texte-latin1.txt",
            "FIN-MAN",
            b"Compte rendu de la r\xe9union du comit\xe9 des f\xeates".to_vec(),
        ),
    ];
    let mut refs = Vec::new();
    for (name, node, content) in &files {
        let a = deposit(&server, &token, content, name, &json!({"node": node})).unwrap();
        assert_eq!(a.status, 201, "{name}");
        refs.push(a.json()["reference"].as_str().unwrap().to_owned());
    }
    let expected_extractors = ["pdf", "docx", "odt", "eml", "text"];
    for (reference, extractor) in refs.iter().zip(expected_extractors) {
        let text = text_of(&server, &token, reference);
        assert_eq!(text["status"], "extracted", "{reference}: {text}");
        assert_eq!(text["extractor"], extractor, "{reference}");
    }
    // "facture" finds the invoice PDF and the e-mail whose attachment it is.
    let mut both = vec![refs[0].clone(), refs[3].clone()];
    both.sort();
    assert_eq!(search_refs(&server, &token, "Dupont"), both);
    assert!(search_refs(&server, &token, "factures").contains(&refs[0]));
    assert_eq!(search_refs(&server, &token, "cantine"), vec![refs[1].clone()]);
    assert_eq!(search_refs(&server, &token, "circulation"), vec![refs[2].clone()]);
    assert_eq!(search_refs(&server, &token, "reunion%20fetes"), vec![refs[4].clone()]);
    assert_eq!(search_refs(&server, &token, "achats"), vec![refs[3].clone()]);
}

/// Words found in one document each of the 36-document corpus below
/// (ASCII, so that the PDF generator can show them).
const LANDMARKS: &[&str] = &[
    "abribus",
    "belvedere",
    "carillon",
    "dauphin",
    "escalier",
    "fontaine",
    "girouette",
    "horloge",
    "jardinet",
    "kiosque",
    "lavoir",
    "manege",
    "nichoir",
    "obelisque",
    "pergola",
    "quai",
    "rotonde",
    "stele",
    "tonnelle",
    "preau",
    "vitrail",
    "wagonnet",
    "yourte",
    "zinguerie",
    "aqueduc",
    "beffroi",
    "calvaire",
    "digue",
    "ecluse",
    "fronton",
    "gargouille",
    "halle",
    "ilot",
    "jetee",
    "kermesse",
    "lucarne",
    "moulin",
    "navette",
    "oratoire",
    "passerelle",
    "rempart",
    "square",
];

#[test]
fn a_forty_document_corpus_across_formats() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let mut refs = Vec::new();
    for (i, word) in LANDMARKS.iter().enumerate() {
        let text = format!("Compte rendu des travaux sur le {word} de la commune, dossier {i}");
        let (name, content) = match i % 6 {
            0 => (format!("{word}.txt"), text.into_bytes()),
            1 => (
                format!("{word}.html"),
                format!("<html><body><p>{text}</p></body></html>").into_bytes(),
            ),
            2 => (format!("{word}.pdf"), pdf_with_text(&[&text])),
            3 => (format!("{word}.docx"), docx(&text)),
            4 => (format!("{word}.odt"), odt(&text)),
            _ => (format!("{word}.eml"), eml("Compte rendu", &text, None)),
        };
        let a = deposit(
            &server,
            &token,
            &content,
            &name,
            &json!({"node": "ADM-ARR", "date": "2024-06-01"}),
        )
        .unwrap();
        assert_eq!(a.status, 201, "{name}");
        refs.push(a.json()["reference"].as_str().unwrap().to_owned());
    }
    for reference in &refs {
        assert_eq!(
            text_of(&server, &token, reference)["status"],
            "extracted",
            "{reference}"
        );
    }
    for (word, reference) in LANDMARKS.iter().zip(&refs) {
        assert_eq!(search_refs(&server, &token, word), vec![reference.clone()], "{word}");
    }
    let all = get(&server.url("/api/v1/search?q=travaux%20commune&limit=100"), &token).json();
    assert_eq!(all["total"], LANDMARKS.len() as u64);
    assert_eq!(all["facets"]["ADM-ARR"], LANDMARKS.len() as u64);
}

#[test]
fn hostile_files_are_archived_and_their_failure_recorded() {
    let Fresh { tmp, data, token } = fresh_archive();
    // A 1 GB text file of one line, through the CLI (a local file).
    let big = tmp.path().join("one-line.txt");
    {
        let mut f = std::fs::File::create(&big).unwrap();
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..1024 {
            f.write_all(&chunk).unwrap();
        }
    }
    let o = cli(&data, &["ingest", big.to_str().unwrap(), "--node", "ADM-ARR", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let big_ref = serde_json::from_str::<Value>(stdout(&o).trim()).unwrap()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::remove_file(&big).unwrap();

    let server = Server::start(&data, &[]);
    let mut bomb_xml = Vec::new();
    bomb_xml.resize(200 * 1024 * 1024, b' ');
    let bomb = zip_of(&[("word/document.xml", &bomb_xml)], zip::CompressionMethod::Deflated);
    drop(bomb_xml);
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        (
            "corrompu.pdf",
            b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage \x00\xff no xref".to_vec(),
        ),
        ("bombe.docx", bomb),
        ("gigogne.eml", nested_eml(500)),
    ];
    let mut refs = Vec::new();
    for (name, content) in &hostile {
        let a = deposit(&server, &token, content, name, &json!({"node": "ADM-ARR"})).unwrap();
        assert_eq!(a.status, 201, "{name}: {}", String::from_utf8_lossy(&a.body));
        refs.push(a.json()["reference"].as_str().unwrap().to_owned());
        assert_eq!(get(&server.url("/healthz"), "").status, 200, "responsive after {name}");
    }
    // Each ends archived, with its extraction result recorded.
    let pdf = text_of(&server, &token, &refs[0]);
    assert_eq!(pdf["status"], "failed", "{pdf}");
    assert!(pdf["error"].as_str().unwrap().contains("pdftotext"), "{pdf}");
    let zip_bomb = text_of(&server, &token, &refs[1]);
    assert_eq!(zip_bomb["status"], "failed", "{zip_bomb}");
    let nested = text_of(&server, &token, &refs[2]);
    // The outer levels are read, the depth limit stops the descent.
    assert_eq!(nested["status"], "extracted", "{nested}");
    let one_line = text_of(&server, &token, &big_ref);
    assert_eq!(one_line["status"], "extracted");
    // Still serving, content intact, and the failures are listed by reindex.
    assert_eq!(search_refs(&server, &token, "niveau"), vec![refs[2].clone()]);
    assert!(
        search_refs(&server, &token, "fond").is_empty(),
        "500 levels are not all read"
    );
    let content = get(&server.url(&format!("/api/v1/records/{}/content", refs[1])), &token);
    assert_eq!(sha256_hex(&content.body), sha256_hex(&hostile[1].1));
    server.stop();
    let o = cli(&data, &["reindex"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("encore sans texte"), "{}", stdout(&o));
}

#[test]
fn scans_are_read_by_ocr_when_it_is_switched_on() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let page = pdf_with_text(&[
        "AVIS DE PAIEMENT",
        "Papeterie Dupont",
        "Reglement de la facture 2025-117",
    ]);
    let image = render(&page, "-png", 2550, 3300);
    let scan = scanned(&page);

    // OCR off: archived, no text, and the reason says why.
    let server = Server::start(&data, &[]);
    let png_ref = deposit(&server, &token, &image, "scan.png", &json!({"node": "FIN-FAC"}))
        .unwrap()
        .json()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let pdf_ref = deposit(&server, &token, &scan, "scan.pdf", &json!({"node": "FIN-FAC"}))
        .unwrap()
        .json()["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    for reference in [&png_ref, &pdf_ref] {
        let text = text_of(&server, &token, reference);
        assert_eq!(text["status"], "failed", "{text}");
        assert!(text["error"].as_str().unwrap().contains("OCR"), "{text}");
    }
    server.stop();

    // `reindex` with OCR on reads both.
    let o = cli(&data, &["--ocr", "reindex"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("à nouveau pour 2 documents ; 0 document encore sans texte"),
        "{}",
        stdout(&o)
    );
    let server = Server::start(&data, &["--ocr"]);
    let png = text_of(&server, &token, &png_ref);
    assert_eq!(
        (png["status"].as_str(), png["extractor"].as_str()),
        (Some("extracted"), Some("ocr")),
        "{png}"
    );
    let pdf = text_of(&server, &token, &pdf_ref);
    assert_eq!(
        (pdf["status"].as_str(), pdf["extractor"].as_str()),
        (Some("extracted"), Some("pdf")),
        "{pdf}"
    );
    let mut both = vec![png_ref.clone(), pdf_ref.clone()];
    both.sort();
    assert_eq!(search_refs(&server, &token, "Papeterie"), both);
}
