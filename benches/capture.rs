//! Capture benchmark, written to BENCHMARKS.md:
//!
//! - a PES flow of 200 mandats, each with a pièce justificative (a small
//!   PDF, gzipped and in base64), captured through `POST /api/v1/flows/pes`
//!   (one request: the flow split into 402 linked records), next to
//!   depositing the same 401 parts as files through `POST /api/v1/records`
//!   (8 clients, then 1);
//! - invoices read by OCR and LAD: pages rendered as a scanner gives them
//!   (PNG, 300 dpi), read by tesseract through coffre's extractor, then
//!   their fields read, next to `tesseract -l fra` run on the same pages.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/report.rs"]
mod report;
#[path = "support/server.rs"]
mod server;

use base64::Engine as _;
use server::{Served, deposit_files, fresh_archive};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Mandats in the benchmark's flow, each with one pièce justificative.
const MANDATES: usize = 200;
/// Scanned invoice pages read.
const PAGES: usize = 6;

const ALLER: &str = include_str!("../tests/data/pes/pes_aller.xml");

/// A flow from S²LOW's example: its one mandat repeated `MANDATES` times
/// (each numbered anew, naming its own pièce justificative), and those
/// pièces in its PES_PJ block.
fn big_flow() -> Vec<u8> {
    let start = ALLER.find("   <Piece>").expect("a pièce");
    let end = ALLER.find("   </Piece>").expect("its end") + "   </Piece>\n".len();
    let piece = &ALLER[start..end];
    let mut pieces = String::new();
    let mut vouchers = String::new();
    for n in 0..MANDATES {
        let id = 10_000 + n;
        pieces.push_str(&piece.replace(
            "<IdPce V=\"832\"/>",
            &format!("<IdPce V=\"{id}\"/><PJRef><Support V=\"01\"/><IdUnique V=\"PJ-{id}\"/></PJRef>"),
        ));
        let pdf = format!(
            "%PDF-1.4\n% facture {id} du fournisseur\n{}\n%%EOF\n",
            "x".repeat(20_000 + n)
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(pdf.as_bytes()).expect("gzip");
        let encoded = base64::engine::general_purpose::STANDARD.encode(gz.finish().expect("gzip"));
        vouchers.push_str(&format!(
            "<PJ><Contenu><Fichier MIMEType=\"application/pdf\">{encoded}</Fichier></Contenu>\
             <IdUnique V=\"PJ-{id}\"/><NomPJ V=\"facture-{id}.pdf\"/><Description V=\"Facture {id}\"/></PJ>\n"
        ));
    }
    let flow = format!("{}{pieces}{}", &ALLER[..start], &ALLER[end..]);
    flow.replace("</EnTetePES_PJ>", &format!("</EnTetePES_PJ>\n{vouchers}"))
        .into_bytes()
}

/// The records a flow gave, and the time its capture took.
fn capture_flow(base: &str, token: &str, flow: &[u8]) -> (usize, Duration) {
    let mut body =
        b"--bench-boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"flux.xml\"\r\n\r\n".to_vec();
    body.extend_from_slice(flow);
    body.extend_from_slice(b"\r\n--bench-boundary--\r\n");
    let start = Instant::now();
    let answer = ureq::post(&format!("{base}/api/v1/flows/pes"))
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "multipart/form-data; boundary=bench-boundary")
        .send_bytes(&body)
        .expect("the flow captured");
    let took = start.elapsed();
    let json: serde_json::Value = serde_json::from_str(&answer.into_string().expect("an answer")).expect("JSON");
    (json["parts"].as_array().map_or(0, Vec::len), took)
}

/// The flow's parts written as files (what depositing them one by one
/// through the API would send): each pièce's element and each pièce
/// justificative's decoded file.
fn parts_as_files(root: &Path, flow: &[u8]) -> Vec<PathBuf> {
    let dir = root.join("parts");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a folder");
    let text = String::from_utf8_lossy(flow);
    let mut files = Vec::new();
    let mut write = |name: String, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("a part");
        files.push(path);
    };
    write("bordereau.xml".into(), text.as_bytes());
    for (n, piece) in text.split("<Piece>").skip(1).enumerate() {
        let end = piece.find("</Piece>").unwrap_or(piece.len());
        write(
            format!("piece-{n}.xml"),
            format!("<Piece>{}</Piece>", &piece[..end]).as_bytes(),
        );
    }
    for (n, voucher) in text.split("MIMEType=\"application/pdf\">").skip(1).enumerate() {
        let end = voucher.find("</Fichier>").unwrap_or(voucher.len());
        let gz = base64::engine::general_purpose::STANDARD
            .decode(&voucher.as_bytes()[..end])
            .expect("base64");
        let mut pdf = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut pdf).expect("gzip");
        write(format!("pj-{n}.pdf"), &pdf);
    }
    files
}

/// A one-page invoice PDF showing `lines` (ASCII) in Helvetica.
fn invoice_pdf(n: usize) -> Vec<u8> {
    let lines = [
        "Papeterie Dupont SARL".to_owned(),
        "SIRET : 732 829 320 00074".to_owned(),
        format!("FACTURE N FA-2024-{n:04}"),
        "Date de facture : 14/04/2024".to_owned(),
        "Total HT : 1 000,00 EUR".to_owned(),
        "TVA 20 % : 200,00 EUR".to_owned(),
        "Total TTC : 1 200,00 EUR".to_owned(),
        "IBAN : FR76 3000 6000 0112 3456 7890 189".to_owned(),
    ];
    let mut stream = String::from("BT /F1 12 Tf 72 720 Td 16 TL\n");
    for line in &lines {
        stream.push_str(&format!("({line}) Tj T*\n"));
    }
    stream.push_str("ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        pdf.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// Scanned pages: each invoice rendered to a gray PNG at 300 dpi.
fn scans(root: &Path) -> Vec<PathBuf> {
    (0..PAGES)
        .map(|n| {
            let pdf = root.join(format!("facture-{n}.pdf"));
            std::fs::write(&pdf, invoice_pdf(n)).expect("a PDF");
            let stem = root.join(format!("scan-{n}"));
            let status = Command::new("pdftoppm")
                .args(["-r", "300", "-gray", "-png", "-singlefile"])
                .arg(&pdf)
                .arg(&stem)
                .status()
                .expect("pdftoppm (make deps installs poppler-utils)");
            assert!(status.success());
            stem.with_extension("png")
        })
        .collect()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-capture");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("bench folder");

    // PES: one flow through the channel, the same parts through the API.
    let flow = big_flow();
    let (data, token) = fresh_archive(&root, "flows");
    let served = Served::start(&data);
    let (records, flow_time) = capture_flow(&served.base, &token, &flow);
    drop(served);
    eprintln!("flow: {records} records in {flow_time:?}");
    let files = parts_as_files(&root, &flow);
    let mut api = Vec::new();
    for clients in [8, 1] {
        let (data, token) = fresh_archive(&root, &format!("api-{clients}"));
        let served = Served::start(&data);
        let took = deposit_files(&served.base, &token, &files, clients);
        eprintln!("api, {clients} clients: {} files in {took:?}", files.len());
        api.push((clients, took));
    }
    let per_second = |n: usize, t: Duration| n as f64 / t.as_secs_f64().max(1e-9);
    let mut rows = format!(
        "| PES flow of {MANDATES} mandats and {MANDATES} pièces justificatives ({:.1} MB), `POST /api/v1/flows/pes` (one request) | {records} records | {:.2} s | {:.0} records/s | 1.00 |\n",
        flow.len() as f64 / 1e6,
        flow_time.as_secs_f64(),
        per_second(records, flow_time)
    );
    for (clients, took) in &api {
        rows.push_str(&format!(
            "| the same parts as files, `POST /api/v1/records`, {clients} client{} | {} records | {:.2} s | {:.0} records/s | {:.2} |\n",
            if *clients > 1 { "s" } else { "" },
            files.len(),
            took.as_secs_f64(),
            per_second(files.len(), *took),
            per_second(records, flow_time) / per_second(files.len(), *took)
        ));
    }

    // OCR and LAD: coffre's extractor and reader next to tesseract alone.
    let pages = scans(&root);
    let start = Instant::now();
    for page in &pages {
        let status = Command::new("tesseract")
            .arg(page)
            .args(["stdout", "-l", "fra"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("tesseract (make deps installs it)");
        assert!(status.success());
    }
    let tesseract = start.elapsed();
    let today = chrono::Utc::now().date_naive();
    let start = Instant::now();
    let mut read_whole = 0;
    for page in &pages {
        let bytes = std::fs::read(page).expect("a page");
        let extraction = coffre::extract::extract(
            "image/png",
            &mut bytes.as_slice(),
            coffre::extract::ExtractOptions { ocr: true },
        );
        let reading = coffre::domain::reading::read_invoice(&extraction.text, today);
        if !reading.needs_verification() {
            read_whole += 1;
        }
    }
    let ours = start.elapsed();
    eprintln!("ocr: tesseract {tesseract:?}, coffre {ours:?}, {read_whole}/{PAGES} read whole");
    // The searchable PDF/A a scan also gets (ocrmypdf: OCR again, then the
    // PDF/A conversion).
    let start = Instant::now();
    for (i, page) in pages.iter().enumerate() {
        let out = root.join(format!("pdfa-{i}.pdf"));
        coffre::extract::ocr::searchable_pdfa(page, true, &out).expect("ocrmypdf (make deps installs it)");
    }
    let pdfa = start.elapsed();
    eprintln!("pdfa: {pdfa:?}");
    rows.push_str(&format!(
        "| {PAGES} scanned invoice pages (PNG, 300 dpi), `tesseract -l fra` alone | {PAGES} pages | {:.2} s | {:.2} pages/s | 1.00 |\n\
         | the same pages through coffre's OCR (limited process) and LAD ({read_whole} of {PAGES} read with nothing to verify) | {PAGES} pages | {:.2} s | {:.2} pages/s | {:.2} |\n\
         | the same pages made searchable PDF/A (`ocrmypdf -l fra --output-type pdfa`, limited process) | {PAGES} pages | {:.2} s | {:.2} pages/s | {:.2} |\n",
        tesseract.as_secs_f64(),
        per_second(PAGES, tesseract),
        ours.as_secs_f64(),
        per_second(PAGES, ours),
        tesseract.as_secs_f64() / ours.as_secs_f64().max(1e-9),
        pdfa.as_secs_f64(),
        per_second(PAGES, pdfa),
        tesseract.as_secs_f64() / pdfa.as_secs_f64().max(1e-9)
    ));
    let _ = std::fs::remove_dir_all(&root);
    let section = format!(
        "<!-- capture:begin -->\n\
         Machine: {machine}. Command: `cargo bench --bench capture` (in `make bench`). Date: {date}.\n\n\
         A PES flow is split into its records in one request, each deposited durably in turn and linked to \
         its parent, dated and described from the flow; the API lines deposit the same parts as files \
         (the flow, each pièce's XML, each pièce justificative's PDF) with a node and no date, so each is \
         dated from its own text (pdftotext for the PDFs), which is most of the difference: one request \
         of a flow costs one round trip, where each file costs its own. OCR lines: the ratio is tesseract's time \
         over coffre's (1.00 = as fast as tesseract alone); coffre's OCR runs tesseract in a limited \
         process (`timeout`, `prlimit`), then reads the fields.\n\n\
         | what | count | time | rate | ratio |\n|---|---|---|---|---|\n{rows}\
         <!-- capture:end -->",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        machine = report::processor(),
    );
    report::write_section("capture", "Capture: PES flows, OCR and LAD", &section);
}
