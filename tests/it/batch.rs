//! `POST /api/v1/records/batch`: several files in one request, sharing
//! their flushes; each file's outcome in the order sent; a batch that is
//! malformed refused whole, nothing deposited; and `coffre --server URL
//! ingest`, which sends its files this way.

use crate::common::*;
use serde_json::{Value, json};

/// `coffre_flushes_total` of `store` from the server's metrics.
fn flushes(server: &Server, admin: &str, store: &str) -> u64 {
    let text = get(&server.url("/metrics"), admin).text();
    let prefix = format!("coffre_flushes_total{{store=\"{store}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .map(|v| v as u64)
        .unwrap_or_else(|| panic!("no {prefix} in the metrics: {text}"))
}

/// How many records the journal says were made.
fn ingested(server: &Server, admin: &str) -> usize {
    let events = get(&server.url("/api/v1/audit/events?after=0"), admin).json();
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "record.ingested")
        .count()
}

/// A metadata part then a file part, as a batch holds them.
fn described<'a>(meta: &'a [u8], name: &'a [u8], content: &'a [u8]) -> [Part<'a>; 2] {
    [
        Part {
            name: "metadata",
            filename: None,
            content: meta,
        },
        Part {
            name: "file",
            filename: Some(name),
            content,
        },
    ]
}

fn post_batch(server: &Server, token: &str, parts: &[Part]) -> Answer {
    post_multipart(&server.url("/api/v1/records/batch"), token, &multipart(parts)).expect("POST batch")
}

/// Searches `word` until a hit comes, for up to 20 s (the indexer
/// follows the journal from behind).
fn found(server: &Server, token: &str, word: &str) -> Vec<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let hits = hit_refs(&get(&server.url(&format!("/api/v1/search?q={word}")), token).json());
        if !hits.is_empty() || std::time::Instant::now() > deadline {
            return hits;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_batch_deposits_its_files_together_and_tells_each_ones_outcome_in_order() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    // A content archived before: the batch says which record held it.
    let first = created(
        deposit(
            &server,
            &token,
            b"Mandat de paiement n\xc2\xb0 7 : entretien des espaces verts",
            "mandat-7.txt",
            &json!({"node": "FIN-MAN", "date": "2024-02-01"}),
        )
        .expect("deposit"),
    );
    let (blobs, journal) = (flushes(&server, &token, "blobs"), flushes(&server, &token, "journal"));
    let man = json!({"node": "FIN-MAN", "date": "2024-03-15", "service": "Finances"}).to_string();
    let unknown = json!({"node": "NULLE-PART"}).to_string();
    let [m1, f1] = described(
        man.as_bytes(),
        b"mandat-11.txt",
        "Mandat n° 11 : réfection de la toiture de l’école Jules-Ferry".as_bytes(),
    );
    let [m2, f2] = described(unknown.as_bytes(), b"egare.txt", b"Un document sans place");
    let [m3, f3] = described(
        man.as_bytes(),
        b"mandat-7-copie.txt",
        "Mandat de paiement n° 7 : entretien des espaces verts".as_bytes(),
    );
    // The last one undescribed: the plan's rules classify it by its text.
    let f4 = Part {
        name: "file",
        filename: Some(b"facture-boulangerie.txt"),
        content: "Facture n° 2024-118 de la boulangerie Dupain : pains pour la cantine, 1 200,00 € TTC".as_bytes(),
    };
    let a = post_batch(&server, &token, &[m1, f1, m2, f2, m3, f3, f4]);
    assert_eq!(a.status, 200, "{}", a.text());
    let answer = a.json();
    assert_eq!(
        (answer["deposited"].as_u64(), answer["refused"].as_u64()),
        (Some(3), Some(1)),
        "{answer}"
    );
    let results = answer["results"].as_array().expect("results");
    let filenames: Vec<&str> = results.iter().filter_map(|r| r["filename"].as_str()).collect();
    assert_eq!(
        filenames,
        [
            "mandat-11.txt",
            "egare.txt",
            "mandat-7-copie.txt",
            "facture-boulangerie.txt"
        ],
        "in the order sent"
    );
    let statuses: Vec<u64> = results.iter().filter_map(|r| r["status"].as_u64()).collect();
    assert_eq!(statuses, [201, 422, 201, 201], "{answer}");
    // Each record as POST /records answers it; each described as sent.
    let mandat = &results[0]["record"];
    assert_eq!(mandat["node"], "FIN-MAN");
    assert_eq!(mandat["date"], "2024-03-15");
    assert_eq!(mandat["versions"][0]["filename"], "mandat-11.txt");
    assert!(results[0].get("error").is_none(), "{answer}");
    // The refused one says why, with the code a deposit alone gets, and
    // the others went in all the same.
    assert!(results[1].get("record").is_none(), "{answer}");
    assert!(results[1]["error"]["code"].is_string(), "{answer}");
    assert!(
        results[1]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("NULLE-PART"),
        "{answer}"
    );
    let same: Vec<&str> = results[2]["record"]["same_content"]
        .as_array()
        .expect("same_content")
        .iter()
        .filter_map(|r| r["reference"].as_str())
        .collect();
    assert_eq!(same, [first["reference"].as_str().expect("reference")], "{answer}");
    assert!(
        results[3]["record"]["node"]
            .as_str()
            .unwrap_or_default()
            .starts_with("FIN-FAC"),
        "classified by the plan's rules: {answer}"
    );
    // The three share one group commit of blobs (a flush for their bytes,
    // one for their names), where three deposits alone make six.
    assert!(
        flushes(&server, &token, "blobs") - blobs <= 2,
        "the batch's blobs share their flushes"
    );
    assert!(
        flushes(&server, &token, "journal") - journal <= 2,
        "and their events a journal commit"
    );
    // They are the archive's: fetched, found, and whole.
    let reference = mandat["reference"].as_str().expect("reference");
    let content = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
    assert_eq!(content.status, 200);
    assert_eq!(
        content.text(),
        "Mandat n° 11 : réfection de la toiture de l’école Jules-Ferry"
    );
    assert_eq!(found(&server, &token, "toiture"), [reference.to_owned()]);
    assert_eq!(
        found(&server, &token, "Dupain"),
        [results[3]["record"]["reference"]
            .as_str()
            .expect("reference")
            .to_owned()]
    );
    let report = verify_over_http(&server, &token);
    assert_eq!(report["status"], "passed", "{report}");
    assert_eq!(ingested(&server, &token), 4);
    server.stop();
    assert_journal_follows_its_schema(&data);
}

#[test]
fn a_malformed_batch_is_refused_whole_and_deposits_nothing() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--max-upload", "64KiB"]);
    let man = json!({"node": "FIN-MAN"}).to_string();
    let [m1, f1] = described(man.as_bytes(), b"a.txt", b"premier mandat");
    let again = || described(man.as_bytes(), b"b.txt", b"second mandat");
    // A description with no file after it.
    let [m2, _] = again();
    let a = post_batch(&server, &token, &[m1, f1, m2]);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (400, "invalid_multipart"),
        "{}",
        a.text()
    );
    assert!(a.error_message().contains("metadata"), "{}", a.text());
    // Two descriptions in a row.
    let [m1, f1] = described(man.as_bytes(), b"a.txt", b"premier mandat");
    let [m2, _] = again();
    let a = post_batch(&server, &token, &[m2, m1, f1]);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (400, "invalid_multipart"),
        "{}",
        a.text()
    );
    // A part of another name.
    let [m1, f1] = described(man.as_bytes(), b"a.txt", b"premier mandat");
    let stray = Part {
        name: "fichier",
        filename: Some(b"c.txt"),
        content: b"x",
    };
    let a = post_batch(&server, &token, &[m1, f1, stray]);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (400, "invalid_multipart"),
        "{}",
        a.text()
    );
    // No file at all.
    let a = post_batch(&server, &token, &[]);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (400, "missing_file"),
        "{}",
        a.text()
    );
    // More files than a batch holds.
    let contents: Vec<String> = (0..65).map(|n| format!("mandat {n}")).collect();
    let parts: Vec<Part> = contents
        .iter()
        .map(|c| Part {
            name: "file",
            filename: Some(b"m.txt"),
            content: c.as_bytes(),
        })
        .collect();
    let a = post_batch(&server, &token, &parts);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (400, "invalid_multipart"),
        "{}",
        a.text()
    );
    assert!(a.error_message().contains("64"), "{}", a.text());
    // More bytes in all than an upload may hold, each file under it.
    let half = vec![b'a'; 40 * 1024];
    let [m1, f1] = described(man.as_bytes(), b"a.txt", &half);
    let [m2, f2] = described(man.as_bytes(), b"b.txt", &half);
    let a = post_batch(&server, &token, &[m1, f1, m2, f2]);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (413, "payload_too_large"),
        "{}",
        a.text()
    );
    // Nothing of any of them went in, and the server still deposits.
    assert_eq!(ingested(&server, &token), 0);
    let [m1, f1] = described(man.as_bytes(), b"a.txt", &half);
    let a = post_batch(&server, &token, &[m1, f1]);
    assert_eq!(a.status, 200, "{}", a.text());
    assert_eq!(a.json()["deposited"], 1);
    // A batch of which no file goes in is refused: with the files' own
    // error when they share it, else as a batch, each reason beside.
    let unknown = json!({"node": "NULLE-PART"}).to_string();
    let held = json!({"node": "FIN-MAN", "date": "15 mars"}).to_string();
    let [m1, f1] = described(unknown.as_bytes(), b"a.txt", b"sans place");
    let [m2, f2] = described(held.as_bytes(), b"b.txt", b"mal date");
    let a = post_batch(&server, &token, &[m1, f1, m2, f2]);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (422, "batch_refused"),
        "{}",
        a.text()
    );
    let reasons: Vec<Value> = a.json()["results"]
        .as_array()
        .map(|r| r.iter().map(|r| r["error"]["code"].clone()).collect())
        .unwrap_or_default();
    assert_eq!(reasons.len(), 2, "{}", a.text());
    assert!(reasons.iter().all(Value::is_string), "{}", a.text());
    let [m1, f1] = described(unknown.as_bytes(), b"a.txt", b"sans place");
    let [m2, f2] = described(unknown.as_bytes(), b"b.txt", b"sans place non plus");
    let a = post_batch(&server, &token, &[m1, f1, m2, f2]);
    assert_eq!(a.status, 422, "{}", a.text());
    assert_ne!(a.error_code(), "batch_refused", "the files' common error: {}", a.text());
    assert_eq!(a.json()["results"].as_array().map(Vec::len), Some(2));
    // An agent may deposit; a role that may not is told so.
    let auditor = new_token(&server, &token, "auditor", "contrôle");
    let [m1, f1] = described(man.as_bytes(), b"a.txt", b"un mandat de l'auditeur");
    let a = post_batch(&server, &auditor, &[m1, f1]);
    assert_eq!(a.status, 403, "{}", a.text());
    assert_eq!(ingested(&server, &token), 1);
}

#[test]
fn the_command_line_through_the_server_sends_its_files_in_batches() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--max-upload", "64KiB"]);
    let folder = tmp.path().join("mandats");
    std::fs::create_dir_all(&folder).expect("folder");
    let mut names = Vec::new();
    for n in 0..40 {
        let name = format!("mandat-{n:03}.txt");
        std::fs::write(
            folder.join(&name),
            format!("Mandat n° {n} : fournitures scolaires, lot {n}"),
        )
        .expect("write");
        names.push(name);
    }
    // One over the upload limit, in the second batch: only it is refused.
    std::fs::write(folder.join("mandat-035-scan.txt"), vec![b'x'; 80 * 1024]).expect("write");
    let blobs = flushes(&server, &token, "blobs");
    // The server holding the data directory answers the command line.
    let out = cli(
        &data,
        &[
            "ingest",
            folder.to_str().expect("path"),
            "--node",
            "FIN-MAN",
            "--date",
            "2024-03-15",
            "--jobs",
            "1",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "one refused: {}", stderr(&out));
    let told: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.rsplit('/').next().map(str::to_owned))
        .collect();
    assert_eq!(told, names, "one line per file archived, in the order of the files");
    let said = stderr(&out);
    assert!(said.contains("40 déposés sur 41 fichiers"), "{said}");
    assert!(said.contains("mandat-035-scan.txt"), "{said}");
    // A request of 32 files, then one of 9 refused whole for its size and
    // sent again a file a request: about 2 + 8 × 2 flushes, where a
    // request a file makes 2 a file.
    assert!(
        flushes(&server, &token, "blobs") - blobs < 40,
        "deposits through the server share their flushes"
    );
    assert_eq!(ingested(&server, &token), 40);
    assert_eq!(found(&server, &token, "scolaires").len().min(1), 1);
}

/// Sends `pieces` as the chunked body of a batch, each written alone a
/// little after the other (so that the server reads them apart); returns
/// the answer's status line and body.
fn batch_in_pieces(server: &Server, token: &str, pieces: &[&[u8]]) -> String {
    use std::io::{Read, Write};
    let address = server.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("a connection");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    let head = format!(
        "POST /api/v1/records/batch HTTP/1.1\r\nHost: coffre\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).expect("head");
    for piece in pieces {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        stream.write_all(&chunk).expect("chunk");
        stream.flush().expect("flush");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    stream.write_all(b"0\r\n\r\n").expect("last chunk");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_body_read_in_pieces_that_end_inside_a_delimiter_keeps_its_parts_apart() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let man = json!({"node": "FIN-MAN", "title": "Mandat coupé"}).to_string();
    let fac = json!({"node": "FIN-MAN", "title": "Second mandat"}).to_string();
    let [m1, f1] = described(man.as_bytes(), b"a.txt", "Mandat n° 41 : éclairage public".as_bytes());
    let [m2, f2] = described(fac.as_bytes(), b"b.txt", "Mandat n° 42 : voirie".as_bytes());
    let body = multipart(&[m1, f1, m2, f2]);
    // Cut after each "\r\n--" that opens a delimiter, so that the server
    // once holds these four bytes alone (actix-multipart before 0.8.1
    // took them for content and merged the next part into this one).
    let mut pieces: Vec<&[u8]> = Vec::new();
    let delimiter = format!("\r\n--{BOUNDARY}");
    let mut rest = body.as_slice();
    while let Some(at) = rest.windows(delimiter.len()).position(|w| w == delimiter.as_bytes()) {
        pieces.push(&rest[..at]);
        pieces.push(&rest[at..at + 4]);
        rest = &rest[at + 4..];
    }
    pieces.push(rest);
    assert!(pieces.len() >= 7, "three delimiters cut");
    let answer = batch_in_pieces(&server, &token, &pieces);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let json: serde_json::Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap_or_default().trim())
        .unwrap_or_else(|_| {
            // A chunked answer: its JSON between the chunk sizes.
            let start = answer.find('{').unwrap_or(0);
            let end = answer.rfind('}').map_or(answer.len(), |e| e + 1);
            serde_json::from_str(&answer[start..end]).expect("JSON answer")
        });
    assert_eq!(json["deposited"], 2, "{json}");
    let titles: Vec<&str> = json["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["record"]["title"].as_str())
        .collect();
    assert_eq!(titles, ["Mandat coupé", "Second mandat"]);
    let reference = json["results"][0]["record"]["reference"].as_str().expect("reference");
    let content = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
    assert_eq!(
        content.text(),
        "Mandat n° 41 : éclairage public",
        "the content, to the byte"
    );
}
