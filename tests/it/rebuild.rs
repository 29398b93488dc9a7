//! Deleting the catalog and rebuilding it (and the index) from the journal
//! and the blobs gives back the same records, to the byte, and the same
//! searches.

use crate::common::*;
use serde_json::json;

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
