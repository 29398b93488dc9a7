//! Watched folders: files dropped in a folder the server watches are
//! deposited once complete, in the channel's account, and put away in
//! `done/` or `failed/` (with the reason beside); nothing twice, nothing
//! lost, also across a SIGKILL.

use crate::common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A server for `data` with an agent account `scanner`, and the capture
/// file watching `inbox` in its name.
fn capture_file(dir: &Path, node: Option<&str>) -> (PathBuf, PathBuf) {
    capture_file_with(dir, node, "")
}

/// As [`capture_file`], with more settings for the folder.
pub fn capture_file_with(dir: &Path, node: Option<&str>, more: &str) -> (PathBuf, PathBuf) {
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let file = dir.join("capture.toml");
    let node = node.map(|n| format!("node = \"{n}\"\n")).unwrap_or_default();
    std::fs::write(
        &file,
        format!(
            "[[folders]]\nname = \"scanner-accueil\"\npath = \"inbox\"\ndepositor = \"scanner\"\n\
             service = \"Accueil\"\nsettle = \"400ms\"\npoll = \"100ms\"\n{node}{more}\
             [folders.subfolders]\nfactures = \"FIN-FAC\"\ndeliberations = \"ADM-DEL\"\n"
        ),
    )
    .unwrap();
    (file, inbox)
}

pub fn with_scanner_account(data: &Path, admin: &str) {
    let server = Server::start(data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        admin,
        &json!({"user": "scanner", "display_name": "Copieur de l'accueil", "role": "agent"}),
    );
    assert_eq!(a.status, 201, "{}", a.text());
    server.stop();
}

/// The files still waiting at the top of the folder or in a sub-folder.
pub fn waiting(inbox: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    // Files move away while this looks: what is gone is not waiting.
    for entry in std::fs::read_dir(inbox).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_file() {
            found.push(entry.path());
        } else if name != "done" && name != "failed" {
            let inner = std::fs::read_dir(entry.path()).into_iter().flatten().flatten();
            found.extend(inner.map(|e| e.path()));
        }
    }
    found
}

pub fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn ingested(server: &Server, admin: &str) -> Vec<Value> {
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=10000"), admin).json();
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["kind"] == "record.ingested")
        .map(|e| e["payload"].clone())
        .collect()
}

#[test]
fn a_watched_folder_takes_complete_files_once_and_puts_each_away_with_its_reason() {
    let Fresh { tmp, data, token } = fresh_archive();
    with_scanner_account(&data, &token);
    let (capture, inbox) = capture_file(tmp.path(), None);
    let server = Server::start(&data, &["--capture", capture.to_str().unwrap()]);
    for made in ["done", "failed"] {
        assert!(inbox.join(made).is_dir(), "{made}/ is made at start");
    }

    // A délibération in its sub-folder; a note nothing classifies; a file
    // still being written when the folder is first looked at.
    std::fs::create_dir_all(inbox.join("deliberations")).unwrap();
    let deliberation = "Délibération n° 2024-12 du conseil municipal\nSéance du 12 mars 2024\nLe budget est adopté.";
    std::fs::write(inbox.join("deliberations/seance.txt"), deliberation).unwrap();
    std::fs::write(inbox.join("liste.txt"), "Liste des courses : pain, lait.").unwrap();
    let slow = inbox.join("deliberations/longue.txt");
    let mut writer = std::fs::File::create(&slow).unwrap();
    let whole = format!(
        "Délibération n° 2024-13\nSéance du 14 mars 2024\n{}",
        "Considérant… ".repeat(500)
    );
    let (head, tail) = whole.as_bytes().split_at(whole.len() / 2);
    writer.write_all(head).unwrap();
    writer.flush().unwrap();
    // Longer than the settle time, its size unchanged, still open.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(slow.exists(), "a file open for writing is not taken");
    writer.write_all(tail).unwrap();
    drop(writer);
    wait_until("the folder to be emptied", Duration::from_secs(60), || {
        waiting(&inbox).is_empty()
    });

    let events = ingested(&server, &token);
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!(e["channel"], "dossier:scanner-accueil", "{e}");
        assert_eq!(e["node"], "ADM-DEL", "{e}");
        assert_eq!(e["service"], "Accueil", "{e}");
    }
    let long = events.iter().find(|e| e["date"] == "2024-03-14").expect("the long one");
    assert_eq!(
        long["version"]["sha256"].as_str().unwrap(),
        format!("sha256:{}", sha256_hex(whole.as_bytes())),
        "deposited whole"
    );
    let reference = events.iter().find(|e| e["date"] == "2024-03-12").expect("the séance")["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let record = get(&server.url(&format!("/api/v1/records/{reference}")), &token).json();
    assert_eq!(record["created_by"], "scanner (agent)", "{record}");
    assert_eq!(record["channel"], "dossier:scanner-accueil", "{record}");
    assert_eq!(
        std::fs::read_to_string(inbox.join("done/deliberations/seance.txt")).unwrap(),
        deliberation,
        "moved as it was, in its sub-folder"
    );
    let refused = std::fs::read_to_string(inbox.join("failed/liste.txt.motif.txt")).unwrap();
    assert!(
        refused.starts_with("Refusé par coffre : ") && refused.contains("nœud"),
        "{refused}"
    );
    assert!(inbox.join("failed/liste.txt").is_file());
    let stats = get(&server.url("/api/v1/stats"), &token).json();
    assert_eq!(stats["by_channel"]["dossier:scanner-accueil"], 2, "{stats}");

    // The same content again: not deposited, put away with the record named.
    std::fs::write(inbox.join("deliberations/seance.txt"), deliberation).unwrap();
    wait_until("the copy to be put away", Duration::from_secs(30), || {
        waiting(&inbox).is_empty()
    });
    assert_eq!(ingested(&server, &token).len(), 2, "not deposited twice");
    let said = std::fs::read_to_string(inbox.join("done/deliberations/seance (2).txt.motif.txt")).unwrap();
    assert!(said.contains(&reference) && said.contains("déjà archivé"), "{said}");
    let metrics = get(&server.url("/metrics"), &token).text();
    for (outcome, n) in [("deposited", 2), ("already_archived", 1), ("refused", 1)] {
        let line =
            format!("coffre_capture_files_total{{channel=\"dossier:scanner-accueil\",outcome=\"{outcome}\"}} {n}");
        assert!(metrics.lines().any(|l| l == line), "{line} in:\n{metrics}");
    }

    // Two files alike dropped together (deposited as one batch): one
    // record, the other put away as archived already under it.
    let twin = "Délibération n° 2024-77\nSéance du 2 avril 2024\nDélégation de signature.";
    std::fs::write(inbox.join("deliberations/jumeau-1.txt"), twin).unwrap();
    std::fs::write(inbox.join("deliberations/jumeau-2.txt"), twin).unwrap();
    wait_until("the twins to be put away", Duration::from_secs(30), || {
        waiting(&inbox).is_empty()
    });
    let events = ingested(&server, &token);
    assert_eq!(events.len(), 3, "one record for the twins: {events:?}");
    let twin_reference = events.iter().find(|e| e["date"] == "2024-04-02").expect("the twin")["reference"]
        .as_str()
        .unwrap()
        .to_owned();
    let notes: Vec<String> = ["jumeau-1", "jumeau-2"]
        .iter()
        .filter_map(|name| std::fs::read_to_string(inbox.join(format!("done/deliberations/{name}.txt.motif.txt"))).ok())
        .collect();
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(
        notes[0].contains(&twin_reference) && notes[0].contains("déjà archivé"),
        "{notes:?}"
    );
    server.stop();
}

#[test]
fn a_depositor_unknown_stops_the_server_with_the_reason() {
    let Fresh { tmp, data, .. } = fresh_archive();
    let (capture, _) = capture_file(tmp.path(), None);
    let out = cli(
        &data,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--capture",
            capture.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(said.contains("scanner-accueil") && said.contains("scanner"), "{said}");
}

#[test]
fn two_hundred_files_and_a_sigkill_end_as_one_record_each_none_twice_none_lost() {
    let Fresh { tmp, data, token } = fresh_archive();
    with_scanner_account(&data, &token);
    let (capture, inbox) = capture_file(tmp.path(), Some("ADM-ARR"));
    let contents: Vec<Vec<u8>> = (0..200)
        .map(|i| format!("Arrêté n° {i} portant règlement de la circulation, rue {i}.").into_bytes())
        .collect();
    let name = |i: usize| format!("arrete-{i:03}.txt");
    let server = Server::start(&data, &["--capture", capture.to_str().unwrap()]);
    // Dropped while the server watches; one in ten written in three
    // pieces, slower than the settle time.
    std::thread::scope(|scope| {
        let inbox = &inbox;
        let contents = &contents;
        scope.spawn(move || {
            for (i, content) in contents.iter().enumerate() {
                let path = inbox.join(name(i));
                if i % 10 == 0 {
                    let mut f = std::fs::File::create(&path).unwrap();
                    for piece in content.chunks(content.len() / 3 + 1) {
                        f.write_all(piece).unwrap();
                        f.flush().unwrap();
                        std::thread::sleep(Duration::from_millis(150));
                    }
                } else {
                    std::fs::write(&path, content).unwrap();
                }
            }
        });
        // Killed once some are in, while others are still being dropped.
        wait_until("some files to be deposited", Duration::from_secs(60), || {
            std::fs::read_dir(inbox.join("done")).map_or(0, |d| d.count()) >= 40
        });
        server.kill9();
        let done = std::fs::read_dir(inbox.join("done")).map_or(0, |d| d.count());
        assert!(done < 200, "killed in the middle: {done} put away");
    });
    let server = Server::start(&data, &["--capture", capture.to_str().unwrap()]);
    wait_until("every file to be put away", Duration::from_secs(120), || {
        waiting(&inbox).is_empty()
    });

    assert!(
        std::fs::read_dir(inbox.join("failed")).unwrap().next().is_none(),
        "nothing refused"
    );
    let events = ingested(&server, &token);
    let mut digests: Vec<String> = events
        .iter()
        .map(|e| e["version"]["sha256"].as_str().unwrap().to_owned())
        .collect();
    digests.sort();
    digests.dedup();
    assert_eq!((events.len(), digests.len()), (200, 200), "one record each, none twice");
    for (i, content) in contents.iter().enumerate() {
        let kept = std::fs::read(inbox.join("done").join(name(i))).unwrap_or_default();
        assert_eq!(&kept, content, "{} is in done/, whole", name(i));
        assert!(
            digests.contains(&format!("sha256:{}", sha256_hex(content))),
            "{} is archived",
            name(i)
        );
    }
    server.stop();
}

/// A zip holding these files.
fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    for (name, content) in files {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

#[test]
fn a_zip_of_e_invoices_is_a_batch_each_deposited_and_each_refusal_said() {
    let Fresh { tmp, data, token } = fresh_archive();
    with_scanner_account(&data, &token);
    let (capture, inbox) = capture_file_with(tmp.path(), None, "unpack_zip = true\n");
    let server = Server::start(&data, &["--capture", capture.to_str().unwrap()]);
    let first = crate::classify::ubl("FZ-2025-001", "Transports Martin", "100.00");
    let second = crate::classify::ubl("FZ-2025-002", "Papeterie Dupont", "48.00");
    let batch = zip_of(&[
        ("export-chorus/facture-1.xml", first.as_bytes()),
        ("export-chorus/facture-2.xml", second.as_bytes()),
        ("export-chorus/lisez-moi.txt", b"Liste des pieces de l'export."),
    ]);
    std::fs::write(inbox.join("chorus-2025-03.zip"), &batch).unwrap();
    wait_until("the batch to be put away", Duration::from_secs(60), || {
        waiting(&inbox).is_empty()
    });
    let events = ingested(&server, &token);
    assert_eq!(events.len(), 2, "each invoice, not the zip: {events:?}");
    for e in &events {
        assert_eq!(
            (e["node"].as_str(), e["channel"].as_str()),
            (Some("FIN-FAC"), Some("dossier:scanner-accueil"))
        );
    }
    let said = std::fs::read_to_string(inbox.join("failed/chorus-2025-03.zip.motif.txt")).unwrap();
    assert!(
        said.contains("lisez-moi.txt : ") && said.contains("facture-1.xml : FIN-FAC-"),
        "{said}"
    );

    // Corrected and dropped again: what went in already is not deposited
    // twice, and the batch is done.
    let corrected = zip_of(&[
        ("facture-1.xml", first.as_bytes()),
        ("facture-2.xml", second.as_bytes()),
    ]);
    std::fs::write(inbox.join("chorus-2025-03.zip"), &corrected).unwrap();
    wait_until("the corrected batch to be put away", Duration::from_secs(60), || {
        waiting(&inbox).is_empty()
    });
    assert!(inbox.join("done/chorus-2025-03.zip").is_file());
    assert_eq!(ingested(&server, &token).len(), 2, "nothing twice");
    server.stop();
}
