//! Bad input gets a clear 4xx JSON error, loses nothing, and the server
//! stays up.

use crate::common::*;
use serde_json::json;

#[test]
fn bad_deposits_are_refused_clearly() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &["--max-upload", "1MiB"]);
    let url = server.url("/api/v1/records");
    let check = |answer: Answer, status: u16, code: &str| {
        assert_eq!(answer.status, status, "{}", String::from_utf8_lossy(&answer.body));
        assert_eq!(answer.error_code(), code);
        assert!(!answer.json()["error"]["message"].as_str().unwrap().is_empty());
    };

    // An empty multipart body, and one with no `file` part.
    check(
        post_multipart(&url, &token, &multipart(&[])).unwrap(),
        400,
        "missing_file",
    );
    let meta = json!({"node": "FIN-FAC"}).to_string();
    check(
        post_multipart(
            &url,
            &token,
            &multipart(&[Part {
                name: "metadata",
                filename: None,
                content: meta.as_bytes(),
            }]),
        )
        .unwrap(),
        400,
        "missing_file",
    );
    // Not multipart at all.
    check(
        request("POST", &url, &token, &[], Some(("application/json", b"{}"))).unwrap(),
        400,
        "invalid_multipart",
    );
    // Metadata that is not JSON.
    let body = multipart(&[
        Part {
            name: "metadata",
            filename: None,
            content: b"node=FIN-FAC",
        },
        Part {
            name: "file",
            filename: Some(b"a.txt"),
            content: b"abc",
        },
    ]);
    check(post_multipart(&url, &token, &body).unwrap(), 400, "invalid_metadata");
    // A bad node code and a bad date name their field.
    let bad = deposit(&server, &token, b"abc", "a.txt", &json!({"node": "FIN/FAC"})).unwrap();
    check(bad, 422, "invalid_field");
    let bad = deposit(
        &server,
        &token,
        b"abc",
        "a.txt",
        &json!({"node": "FIN-FAC", "date": "2025-02-30"}),
    )
    .unwrap();
    assert!(bad.json()["error"]["message"].as_str().unwrap().starts_with("date:"));
    // A title or a file name that reverses the text it shows is refused.
    let bad = deposit(
        &server,
        &token,
        b"abc",
        "a.txt",
        &json!({"node": "FIN-FAC", "title": "Facture \u{202E}fdp.exe"}),
    )
    .unwrap();
    assert_eq!((bad.status, bad.error_code().as_str()), (422, "invalid_field"));
    assert!(bad.error_message().starts_with("title:"), "{}", bad.error_message());
    let bad = deposit(
        &server,
        &token,
        b"abc",
        "facture\u{202E}fdp.exe",
        &json!({"node": "FIN-FAC"}),
    )
    .unwrap();
    assert_eq!((bad.status, bad.error_code().as_str()), (422, "invalid_field"));
    assert!(bad.error_message().starts_with("filename:"), "{}", bad.error_message());
    // A year before 1 (which would name a reference `FIN-FAC--1-…`) too.
    for year in ["-0001-03-15", "0000-03-15"] {
        let bad = deposit(
            &server,
            &token,
            b"abc",
            "a.txt",
            &json!({"node": "FIN-FAC", "date": year}),
        )
        .unwrap();
        assert_eq!(
            (bad.status, bad.error_code().as_str()),
            (422, "invalid_field"),
            "{year}"
        );
        assert!(
            bad.error_message().starts_with("date:"),
            "{year}: {}",
            bad.error_message()
        );
    }
    // Over the size cap: 413, and no staged file left behind.
    let big = Bytes::new(7).fill(1024 * 1024 + 100_000);
    check(
        deposit(&server, &token, &big, "big.bin", &json!({"node": "FIN-FAC"})).unwrap(),
        413,
        "payload_too_large",
    );
    let staged: Vec<_> = std::fs::read_dir(data.join("blobs/tmp")).unwrap().collect();
    assert!(staged.is_empty(), "staged files left: {staged:?}");
    assert!(
        !std::fs::read_dir(data.join("blobs/sha256"))
            .unwrap()
            .any(|e| e.unwrap().file_name() == Sha(&big).prefix())
    );
    // A non-UTF-8 file name.
    let body = multipart(&[
        Part {
            name: "metadata",
            filename: None,
            content: meta.as_bytes(),
        },
        Part {
            name: "file",
            filename: Some(b"d\xe9lib\xe9ration.txt"),
            content: b"abc",
        },
    ]);
    let a = post_multipart(&url, &token, &body).unwrap();
    assert_eq!(a.status, 400, "{}", String::from_utf8_lossy(&a.body));
    assert!(a.json()["error"]["message"].as_str().unwrap().contains("UTF-8"));

    // A path as a file name is kept as a name, never used as a path.
    let a = deposit(
        &server,
        &token,
        b"root:x:0:0",
        "../../etc/passwd",
        &json!({"node": "FIN-FAC", "title": "Essai"}),
    )
    .unwrap();
    assert_eq!(a.status, 201);
    let record = a.json();
    assert_eq!(record["versions"][0]["filename"], "../../etc/passwd");
    let reference = record["reference"].as_str().unwrap();
    let content = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
    assert_eq!(
        content.header("content-disposition"),
        Some(format!("attachment; filename=\"{reference}_essai.txt\"").as_str()),
        "the canonical name, from the FIN nodes' file name template"
    );
    assert!(!tmp.path().join("etc").exists() && !data.join("etc").exists());
    // UTF-8 names are kept as they are.
    let a = deposit(
        &server,
        &token,
        b"abc",
        "délibération été.txt",
        &json!({"node": "ADM-DEL"}),
    )
    .unwrap();
    assert_eq!(a.json()["versions"][0]["filename"], "délibération été.txt");
    assert_eq!(a.json()["title"], "délibération été");

    // Unknown records, versions, deletes.
    check(
        get(&server.url("/api/v1/records/NOPE-2025-000001"), &token),
        404,
        "record_not_found",
    );
    check(
        get(
            &server.url(&format!("/api/v1/records/{reference}/content?version=9")),
            &token,
        ),
        404,
        "version_not_found",
    );
    check(
        request(
            "DELETE",
            &server.url(&format!("/api/v1/records/{reference}")),
            &token,
            &[],
            None,
        )
        .unwrap(),
        409,
        "retention_forbids_delete",
    );
    check(
        post_json(&server.url("/api/v1/tokens"), &token, &json!({"role": 3})),
        400,
        "invalid_json",
    );
    check(get(&server.url("/api/v1/nowhere"), &token), 404, "not_found");
    // Bodies over 256 KiB are read to their own bounds, answered in JSON
    // (they were cut by the framework with a plain-text 413).
    let record = server.url(&format!("/api/v1/records/{reference}"));
    let long_title = json!({"title": "x".repeat(300 * 1024)}).to_string();
    let patch = |body: &[u8]| request("PATCH", &record, &token, &[], Some(("application/json", body))).unwrap();
    check(patch(long_title.as_bytes()), 422, "invalid_field");
    check(patch(&vec![b' '; 1024 * 1024 + 1]), 413, "payload_too_large");
    let reply = request(
        "POST",
        &server.url("/api/v1/transfers/reply"),
        &token,
        &[],
        Some(("application/xml", "<a/>".repeat(80 * 1024).as_bytes())),
    )
    .unwrap();
    check(reply, 422, "invalid_field");

    // Still up, and nothing acknowledged was lost.
    assert_eq!(get(&server.url("/healthz"), "").status, 200);
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{reference}")), &token).status,
        200
    );
    let report = verify_over_http(&server, &token);
    assert_eq!(report["status"], "passed", "{report}");
}

#[test]
fn cli_reports_bad_input_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // Not initialised: exit 3.
    let o = cli(&data, &["show", "X-2025-000001"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    init(&data);
    // init again: says so, exit 0.
    let o = cli(&data, &["init"]);
    assert!(o.status.success() && stdout(&o).contains("contient déjà"));
    // A bad file among good ones: the good ones land, exit 2.
    let good = tmp.path().join("bon.txt");
    std::fs::write(&good, "bon").unwrap();
    let o = cli(
        &data,
        &[
            "ingest",
            good.to_str().unwrap(),
            "/nonexistent/file.pdf",
            "--node",
            "ADM-DEL",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/nonexistent/file.pdf"));
    assert_eq!(stdout(&o).lines().count(), 1);
    // A bad node: exit 2.
    let o = cli(&data, &["ingest", good.to_str().unwrap(), "--node", "a b"]);
    assert_eq!(o.status.code(), Some(2));
    // Unknown record: exit 2.
    assert_eq!(cli(&data, &["get", "NOPE-2025-000001"]).status.code(), Some(2));
    // While a server holds the directory, what needs it stopped exits 3;
    // a deposit goes through the server instead.
    let server = Server::start(&data, &[]);
    let o = cli(&data, &["rebuild"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("est utilisé par un autre processus"),
        "{}",
        stderr(&o)
    );
    let o = cli(&data, &["ingest", good.to_str().unwrap(), "--node", "ADM-DEL"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // The journal stays readable meanwhile.
    // (archive.initialized, seal.key_created, plan.published, account.created, token.created, record.ingested x 2)
    let o = cli(&data, &["audit", "log", "--json"]);
    assert!(o.status.success());
    assert_eq!(stdout(&o).lines().count(), 7);
    server.stop();
}

/// The first two hex digits of a content's blob folder.
struct Sha<'a>(&'a [u8]);
impl Sha<'_> {
    fn prefix(&self) -> std::ffi::OsString {
        sha256_hex(self.0)[0..2].into()
    }
}
