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
