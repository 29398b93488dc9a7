//! 200 files through HTTP and the CLI come back byte-identical, with the
//! sha256 that `sha256sum` computes; identical bytes are stored once.

use crate::common::*;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// The test corpus: empty, one byte, 10 MB random, random binaries, French text.
fn corpus(seed: u64, count: usize) -> Vec<(String, Vec<u8>)> {
    let mut rng = Bytes::new(seed);
    let french =
        "Délibération n°{} du conseil municipal : l'école, les élèves, œuvre, façade, « garçon », été — 10 000 €\n";
    (0..count)
        .map(|i| {
            let content = match i {
                0 => Vec::new(),
                1 => vec![b'x'],
                2 => rng.fill(10 * 1000 * 1000),
                i if i % 2 == 0 => {
                    let n = (rng.next_u64() % 300_000) as usize;
                    rng.fill(n)
                }
                i => french
                    .replace("{}", &i.to_string())
                    .repeat(1 + (rng.next_u64() % 50) as usize)
                    .into_bytes(),
            };
            let name = if i % 2 == 1 {
                format!("doc-{seed}-{i:03}.txt")
            } else {
                format!("bin-{seed}-{i:03}.bin")
            };
            (name, content)
        })
        .collect()
}

fn sha256sum(dir: &Path) -> HashMap<String, String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("sha256sum *")
        .current_dir(dir)
        .output()
        .expect("sha256sum");
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("  ").map(|(h, f)| (f.to_owned(), h.to_owned())))
        .collect()
}

#[test]
fn two_hundred_files_round_trip_through_http_and_cli() {
    let Fresh { tmp, data, token } = fresh_archive();

    // 100 files through the CLI, from a folder.
    let cli_dir = tmp.path().join("cli-in");
    std::fs::create_dir(&cli_dir).unwrap();
    let cli_files = corpus(1, 100);
    for (name, content) in &cli_files {
        std::fs::write(cli_dir.join(name), content).unwrap();
    }
    let expected_cli = sha256sum(&cli_dir);
    let out = cli(
        &data,
        &[
            "ingest",
            cli_dir.to_str().unwrap(),
            "--node",
            "ADM-DEL",
            "--date",
            "2024-03-15",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut refs: Vec<(String, String, Vec<u8>)> = Vec::new(); // reference, sha, bytes
    let by_name: HashMap<&str, &Vec<u8>> = cli_files.iter().map(|(n, c)| (n.as_str(), c)).collect();
    for line in stdout(&out).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = v["path"].as_str().unwrap();
        let name = Path::new(path).file_name().unwrap().to_str().unwrap();
        assert_eq!(v["sha256"].as_str().unwrap(), expected_cli[name], "sha256 of {name}");
        refs.push((
            v["reference"].as_str().unwrap().to_owned(),
            expected_cli[name].clone(),
            by_name[name].clone(),
        ));
    }
    assert_eq!(refs.len(), 100);

    // 100 files through HTTP.
    let http_dir = tmp.path().join("http-in");
    std::fs::create_dir(&http_dir).unwrap();
    let http_files = corpus(2, 100);
    for (name, content) in &http_files {
        std::fs::write(http_dir.join(name), content).unwrap();
    }
    let expected_http = sha256sum(&http_dir);
    let server = Server::start(&data, &[]);
    for (name, content) in &http_files {
        let a = deposit(
            &server,
            &token,
            content,
            name,
            &json!({"node": "FIN-FAC", "date": "2025-06-30", "service": "Finances"}),
        )
        .unwrap();
        assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
        let record = a.json();
        let version = &record["versions"][0];
        assert_eq!(version["sha256"].as_str().unwrap(), expected_http[name]);
        assert_eq!(version["size"].as_u64().unwrap(), content.len() as u64);
        assert_eq!(version["filename"].as_str().unwrap(), name);
        refs.push((
            record["reference"].as_str().unwrap().to_owned(),
            expected_http[name].clone(),
            content.clone(),
        ));
    }

    // Every record reads back identical over HTTP, with its ETag.
    for (reference, sha, content) in &refs {
        let a = get(&server.url(&format!("/api/v1/records/{reference}/content")), &token);
        assert_eq!(a.status, 200);
        assert_eq!(sha256_hex(&a.body), *sha, "{reference}");
        assert!(a.body == *content, "{reference} differs");
        assert_eq!(a.header("etag"), Some(format!("\"{sha}\"").as_str()));
        let disposition = a.header("content-disposition").unwrap();
        assert!(disposition.contains(reference.as_str()), "{disposition}");
    }

    // A range of the 10 MB file.
    let (big_ref, _, big) = refs.iter().find(|(_, _, c)| c.len() == 10_000_000).unwrap();
    let a = request(
        "GET",
        &server.url(&format!("/api/v1/records/{big_ref}/content")),
        &token,
        &[("Range", "bytes=1000000-1000999")],
        None,
    )
    .unwrap();
    assert_eq!(a.status, 206);
    assert_eq!(a.body, big[1_000_000..1_001_000]);
    assert_eq!(a.header("content-range"), Some("bytes 1000000-1000999/10000000"));
    let a = request(
        "GET",
        &server.url(&format!("/api/v1/records/{big_ref}/content")),
        &token,
        &[("Range", "bytes=20000000-")],
        None,
    )
    .unwrap();
    assert_eq!(a.status, 416);
    assert_eq!(a.error_code(), "range_not_satisfiable");
    server.stop();

    // Every record reads back identical through the CLI.
    for (reference, sha, content) in &refs {
        let target = tmp.path().join("out.bin");
        let out = cli(&data, &["get", reference, "-o", target.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        let back = std::fs::read(&target).unwrap();
        assert_eq!(sha256_hex(&back), *sha);
        assert!(back == *content);
    }
    let out = cli(&data, &["audit", "verify"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn identical_bytes_are_stored_once() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let content = b"Facture 2025-0042, montant 1 234,56 EUR".to_vec();
    let a = deposit(&server, &token, &content, "a.txt", &json!({"node": "FIN-FAC"})).unwrap();
    let b = deposit(&server, &token, &content, "b.txt", &json!({"node": "FIN-FAC"})).unwrap();
    assert_eq!((a.status, b.status), (201, 201));
    assert_ne!(a.json()["reference"], b.json()["reference"]);
    let sha = sha256_hex(&content);
    assert_eq!(blob_bytes(&blobs_of(&data), &sha), Some(content.clone()));
    assert_eq!(stored_blobs(&blobs_of(&data)).iter().filter(|s| **s == sha).count(), 1);
    let copies = walk(&blobs_of(&data))
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .map(|bytes| {
            bytes
                .windows(content.len())
                .filter(|w| *w == content.as_slice())
                .count()
        })
        .sum::<usize>();
    assert_eq!(copies, 1, "its bytes are written once");
    // A new version with the same bytes adds no blob either.
    let before = stored_blobs(&blobs_of(&data)).len();
    let body = multipart(&[Part {
        name: "file",
        filename: Some(b"c.txt"),
        content: &content,
    }]);
    let reference = a.json()["reference"].as_str().unwrap().to_owned();
    let v = post_multipart(
        &server.url(&format!("/api/v1/records/{reference}/versions")),
        &token,
        &body,
    )
    .unwrap();
    assert_eq!(v.status, 201);
    assert_eq!(v.json()["versions"].as_array().unwrap().len(), 2);
    // Only the record's new metadata document was added.
    assert_eq!(stored_blobs(&blobs_of(&data)).len(), before + 1);
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.to_string_lossy().into_owned());
        }
    }
    out
}
