//! Deleting the catalog and rebuilding it (and the index) from the journal
//! and the blobs gives back the same records, to the byte, and the same
//! searches.

use crate::common::*;
use serde_json::json;
use std::process::{Command, Stdio};

#[test]
fn show_is_identical_after_deleting_the_catalog_and_rebuilding() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let mut references = Vec::new();
    for i in 0..12 {
        let meta = json!({
            "node": if i % 2 == 0 { "FIN-MAN" } else { "MAR-OFF" },
            "title": format!("Mandat n°{i} — école élémentaire"),
            "date": format!("20{:02}-0{}-1{}", 10 + i, 1 + i % 9, i % 10),
            "service": "Direction des finances",
            "fields": {"montant": format!("{i}00,50"), "tiers": "Société Dupont & fils", "marche": "M-2024-03"}
        });
        let a = deposit(
            &server,
            &token,
            format!("contenu {i}").as_bytes(),
            &format!("mandat-{i}.txt"),
            &meta,
        )
        .unwrap();
        assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
        references.push(a.json()["reference"].as_str().unwrap().to_owned());
    }
    let body = multipart(&[Part {
        name: "file",
        filename: Some("v2.pdf".as_bytes()),
        content: b"%PDF-1.4 version deux",
    }]);
    let v = post_multipart(
        &server.url(&format!("/api/v1/records/{}/versions", references[3])),
        &token,
        &body,
    )
    .unwrap();
    assert_eq!(v.status, 201);
    server.stop();

    let show_all = || -> Vec<(String, String)> {
        references
            .iter()
            .map(|r| {
                let json = cli(&data, &["show", r, "--json"]);
                let text = cli(&data, &["show", r]);
                assert!(json.status.success() && text.status.success(), "{}", stderr(&json));
                (stdout(&json), stdout(&text))
            })
            .collect()
    };
    let before = show_all();
    assert!(before[3].0.contains("\"number\":2"), "{}", before[3].0);
    let searched = || -> Vec<String> {
        ["école", "mandat", "contenu", "marche:M-2024-03"]
            .iter()
            .map(|q| {
                let out = cli(&data, &["search", q, "--json", "--limit", "50"]);
                assert!(out.status.success(), "{}", stderr(&out));
                stdout(&out)
            })
            .collect()
    };
    let found = searched();
    assert!(
        found[0].lines().count() >= 12 && found[3].lines().count() >= 1,
        "{found:?}"
    );
    std::fs::remove_dir_all(data.join("catalog")).unwrap();
    // The index goes too, and comes back beside the catalog.
    std::fs::write(data.join("index").join("left-by-the-old-index"), b"").unwrap();
    let out = cli(&data, &["rebuild"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("catalogue et index reconstruits"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("12 documents"), "{}", stdout(&out));
    assert!(!data.join("index").join("left-by-the-old-index").exists());
    assert_eq!(show_all(), before);
    assert_eq!(searched(), found);
    // Counters come back too: the next deposit does not reuse a number.
    let server = Server::start(&data, &[]);
    let a = deposit(
        &server,
        &token,
        b"encore",
        "x.txt",
        &json!({"node": "FIN-MAN", "date": "2010-01-10"}),
    )
    .unwrap();
    assert_eq!(a.json()["reference"], "FIN-MAN-2010-000002");
}

/// The marker's layout format, as written.
fn marker_format(data: &std::path::Path) -> serde_json::Value {
    let marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("coffre.json")).expect("the marker")).expect("JSON");
    marker["format"].clone()
}

fn set_marker_format(data: &std::path::Path, format: u64) {
    let path = data.join("coffre.json");
    let mut marker: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("the marker")).expect("JSON");
    marker["format"] = json!(format);
    std::fs::write(&path, marker.to_string()).expect("write the marker");
}

/// An archive whose layout is newer than this version knows is refused
/// whole, by every command and by the server, with one line that says
/// which version to use, rather than opened with contents it would not
/// find; an archive of the older layout opens, reads and is marked with
/// this version's layout once written.
#[test]
fn an_archive_of_a_newer_layout_is_refused_and_an_older_one_is_taken_up() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    assert_eq!(marker_format(&data), json!(2), "a new archive is of the packed layout");
    let file = _tmp.path().join("note de service.txt");
    std::fs::write(&file, "Note de service : la règle des congés change au 1er janvier.").expect("a file");
    let out = cli(&data, &["ingest", "--node", "FIN-MAN", file.to_str().expect("path")]);
    assert!(out.status.success(), "{}", stderr(&out));

    set_marker_format(&data, 3);
    for args in [
        &["search", "congés"][..],
        &["rebuild"][..],
        &["audit", "verify"][..],
        &["audit", "log"][..],
    ] {
        let out = cli(&data, args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert_eq!(said.lines().count(), 1, "{args:?}: one line: {said}");
        assert!(
            said.contains("au format 3, plus récent que celui que cette version de coffre sait lire (2)"),
            "{args:?}: {said}"
        );
    }
    let serving = Command::new(bin())
        .arg("--data")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .output()
        .expect("run coffre serve");
    assert_eq!(serving.status.code(), Some(3), "{}", stderr(&serving));
    assert!(stderr(&serving).contains("au format 3"), "{}", stderr(&serving));
    assert_eq!(marker_format(&data), json!(3), "a refused archive is left as it was");

    // The older layout (every content a file of its own) is read as it is
    // and marked as this version's once opened to write.
    set_marker_format(&data, 1);
    let out = cli(&data, &["audit", "log"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        marker_format(&data),
        json!(1),
        "reading the trail offline writes nothing"
    );
    let server = Server::start(&data, &[]);
    // Deposited offline: the index takes it in as the server starts.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let found = get(&server.url("/api/v1/search?q=cong%C3%A9s"), &token);
        assert_eq!(found.status, 200, "{}", String::from_utf8_lossy(&found.body));
        if found.json()["total"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never found: {}",
            String::from_utf8_lossy(&found.body)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server.stop();
    assert_eq!(marker_format(&data), json!(2));
}

/// Turns the data directory's packed blobs into files of their own and
/// marks it format 1: the archive as a version before packs wrote it.
fn as_written_before_packs(data: &std::path::Path) -> Vec<String> {
    use coffre::store::blob_fs::Location;
    use std::os::unix::fs::PermissionsExt as _;
    let blobs = blobs_of(data);
    let mut unpacked = Vec::new();
    for sha in stored_blobs(&blobs) {
        if let Some(Location::Packed { .. }) = locate_blob(&blobs, &sha) {
            let bytes = blob_bytes(&blobs, &sha).expect("the packed bytes");
            let file = blobs.join("sha256").join(&sha[0..2]).join(&sha[2..4]).join(&sha);
            std::fs::create_dir_all(file.parent().expect("its folder")).expect("the fan-out folders");
            std::fs::write(&file, bytes).expect("the blob's file");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o444)).expect("read-only");
            unpacked.push(sha);
        }
    }
    std::fs::remove_dir_all(blobs.join("packs")).expect("the packs gone");
    set_marker_format(data, 1);
    unpacked
}

/// `coffre pack` moves the small contents an archive written before packs
/// keeps as files into packs: every one checked first (a damaged one is
/// left where it is, named, exit 1), the archive intact and its contents
/// served as before, and a second run finishes what the first left.
#[test]
fn coffre_pack_moves_an_older_archives_small_files_into_packs() {
    use coffre::store::blob_fs::Location;
    let Fresh { tmp, data, token: _ } = fresh_archive();
    let folder = tmp.path().join("dépôt");
    std::fs::create_dir_all(&folder).expect("a folder");
    for n in 1..=3 {
        std::fs::write(
            folder.join(format!("note-{n}.txt")),
            format!("La règle n° {n} : les congés se posent un mois à l'avance."),
        )
        .expect("a file");
    }
    std::fs::write(folder.join("plan.bin"), vec![7u8; UNPACKED]).expect("a large file");
    let out = cli(
        &data,
        &["ingest", "--node", "FIN-MAN", "--json", folder.to_str().expect("path")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let made: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|v: &serde_json::Value| v["reference"].is_string())
        .collect();
    assert_eq!(made.len(), 4, "{}", stdout(&out));
    let unpacked = as_written_before_packs(&data);
    // Three contents and four metadata documents were packed (and the
    // plan's file, when small).
    assert!(unpacked.len() >= 7, "{unpacked:?}");
    let blobs = blobs_of(&data);
    let before: Vec<(String, Vec<u8>)> = stored_blobs(&blobs)
        .into_iter()
        .map(|sha| {
            let bytes = blob_bytes(&blobs, &sha).expect("bytes");
            (sha, bytes)
        })
        .collect();

    // Not while a server holds the archive.
    let server = Server::start(&data, &[]);
    let out = cli(&data, &["pack"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("utilisé par un autre processus coffre"),
        "{}",
        stderr(&out)
    );
    server.stop();
    set_marker_format(&data, 1);

    // One file damaged: left where it is, the others packed.
    let damaged = &unpacked[0];
    flip_blob_byte(&blobs, damaged, 3);
    let out = cli(&data, &["pack"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("{} contenus rangés dans des paquets", unpacked.len() - 1)),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains(&format!("endommagé, laissé en place : {damaged}")),
        "{}",
        stdout(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 contenu ne correspond plus à son empreinte"),
        "{}",
        stderr(&out)
    );
    assert!(matches!(locate_blob(&blobs, damaged), Some(Location::File(_))));
    assert_eq!(marker_format(&data), json!(2), "marked as this version's layout");

    // Put right (as a repair would), then packed by a second run.
    flip_blob_byte(&blobs, damaged, 3);
    let out = cli(&data, &["pack", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("one JSON object");
    assert_eq!(report["packed"], 1, "{report}");
    assert_eq!(report["large"], 1, "{report}");
    for (sha, bytes) in &before {
        let small = bytes.len() < UNPACKED;
        match locate_blob(&blobs, sha) {
            Some(Location::Packed { .. }) => assert!(small, "{sha}"),
            Some(Location::File(_)) => assert!(!small, "{sha}: a small one left as a file"),
            None => panic!("{sha} lost"),
        }
        assert_eq!(blob_bytes(&blobs, sha).as_ref(), Some(bytes), "{sha}");
    }
    let verify = cli(&data, &["audit", "verify"]);
    assert!(verify.status.success(), "{}{}", stdout(&verify), stderr(&verify));
    let reference = made[0]["reference"].as_str().expect("a reference");
    let got = cli(&data, &["get", reference]);
    assert!(got.status.success(), "{}", stderr(&got));
    assert!(
        String::from_utf8_lossy(&got.stdout).starts_with("La règle n° "),
        "{}",
        stdout(&got)
    );
}
