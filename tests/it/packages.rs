//! Transfer packages: exported over HTTP and from the command line, judged
//! by the Library of Congress BagIt validator and by `xmllint` against the
//! official SEDA 2.3 schemas, checked offline by `coffre verify-package`,
//! which finds each kind of tampering.

use crate::common::*;
use serde_json::{Value, json};
use sha2::Digest;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A zip's entries: name and bytes.
type Entries = Vec<(String, Vec<u8>)>;

/// The entries of a zip, in order.
pub fn read_zip(path: &Path) -> Entries {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut bytes = Vec::new();
            f.read_to_end(&mut bytes).unwrap();
            (String::from_utf8_lossy(f.name_raw()).into_owned(), bytes)
        })
        .collect()
}

pub fn write_zip(path: &Path, entries: &[(String, Vec<u8>)]) {
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, bytes) in entries {
        zip.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// Unpacks a zip into `dir` (our own packages only); returns the bag folder.
pub fn unpack(zip: &Path, dir: &Path) -> PathBuf {
    let mut top = None;
    for (name, bytes) in read_zip(zip) {
        let path = dir.join(&name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        top.get_or_insert_with(|| dir.join(name.split('/').next().unwrap()));
    }
    top.unwrap()
}

/// Recomputes the bag's manifests, Payload-Oxum and tag manifest, as a
/// forger who knows BagIt would after changing the payload.
fn rebag(entries: &mut Entries) {
    let top = entries[0].0.split('/').next().unwrap().to_owned();
    let data: Vec<(String, Vec<u8>)> = entries
        .iter()
        .filter_map(|(n, b)| {
            n.strip_prefix(&format!("{top}/"))
                .filter(|r| r.starts_with("data/"))
                .map(|r| (r.to_owned(), b.clone()))
        })
        .collect();
    let m256: String = data
        .iter()
        .map(|(n, b)| format!("{}  {n}\n", hex::encode(sha2::Sha256::digest(b))))
        .collect();
    let m512: String = data
        .iter()
        .map(|(n, b)| format!("{}  {n}\n", hex::encode(sha2::Sha512::digest(b))))
        .collect();
    let bytes: usize = data.iter().map(|(_, b)| b.len()).sum();
    let set = |entries: &mut Entries, name: &str, content: Vec<u8>| {
        let full = format!("{top}/{name}");
        match entries.iter_mut().find(|(n, _)| *n == full) {
            Some(e) => e.1 = content,
            None => entries.push((full, content)),
        }
    };
    set(entries, "manifest-sha256.txt", m256.into_bytes());
    set(entries, "manifest-sha512.txt", m512.into_bytes());
    set(
        entries,
        "bag-info.txt",
        format!("Payload-Oxum: {bytes}.{}\nBagging-Date: 2026-01-01\n", data.len()).into_bytes(),
    );
    let mut tags = String::new();
    for name in [
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
    ] {
        let full = format!("{top}/{name}");
        let b = &entries.iter().find(|(n, _)| *n == full).unwrap().1;
        tags.push_str(&format!("{}  {name}\n", hex::encode(sha2::Sha256::digest(b))));
    }
    set(entries, "tagmanifest-sha256.txt", tags.into_bytes());
}

fn verify_package(zip: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec!["verify-package", zip.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = Command::new(bin()).args(&args).output().unwrap();
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn bagit_py() -> String {
    pytool("BAGIT_PY", "bagit.py").to_string_lossy().into_owned()
}

/// Asserts that the XML file at `path` is valid against the official SEDA
/// 2.3 schemas the repository ships, by `xmllint`.
fn assert_valid_seda(path: &Path) {
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/seda/seda2_3/seda-2.3-main.xsd");
    assert_valid_xml(&xsd, path);
}

fn deposit_records(server: &Server, token: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for (i, (node, fields, name)) in [
        (
            "FIN-FAC",
            json!({"fournisseur": "EDF", "numero": "F-1", "montant": "1234,50"}),
            "facture edf.txt",
        ),
        (
            "FIN-FAC",
            json!({"fournisseur": "Orange & Cie", "numero": "F-2", "montant": "99"}),
            "facture <orange>.txt",
        ),
        ("ADM-DEL", json!({"seance": "2019-06-30"}), "délibération budget.txt"),
    ]
    .into_iter()
    .enumerate()
    {
        let meta = json!({"node": node, "date": format!("201{}-0{}-15", 5 + i, i + 1), "service": "Finances", "fields": fields, "title": format!("Pièce n°{i} « test »")});
        out.push(created(
            deposit(
                server,
                token,
                format!("Contenu de la pièce {i}, zanzibar").as_bytes(),
                name,
                &meta,
            )
            .unwrap(),
        ));
    }
    // A second version of the first record.
    let body = multipart(&[Part {
        name: "file",
        filename: Some(b"facture edf v2.txt"),
        content: b"Contenu corrige de la piece 0, zanzibar",
    }]);
    let reference = out[0]["reference"].as_str().unwrap();
    let a = post_multipart(
        &server.url(&format!("/api/v1/records/{reference}/versions")),
        token,
        &body,
    )
    .unwrap();
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    out
}

#[test]
fn exported_packages_are_valid_bagit_and_seda_and_every_tampering_is_found() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archiviste");
    let agent = new_token(&server, &token, "agent", "agent");
    let records = deposit_records(&server, &archivist);

    // Over HTTP: an agent may not export; an archivist gets a zip.
    assert_eq!(
        post_json(&server.url("/api/v1/exports"), &agent, &json!({"node": "FIN"})).status,
        403
    );
    let bad = post_json(
        &server.url("/api/v1/exports"),
        &archivist,
        &json!({"node": "FIN", "query": "x"}),
    );
    assert_eq!(bad.status, 422);
    let a = post_json(
        &server.url("/api/v1/exports"),
        &archivist,
        &json!({"node": "FIN", "archival_agency": "FRAD033", "comment": "Versement test"}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.header("content-type"), Some("application/zip"));
    let package = tmp.path().join("fin.zip");
    std::fs::write(&package, &a.body).unwrap();

    // The Library of Congress validator, and the SEDA 2.3 schemas.
    let unpacked = unpack(&package, &tmp.path().join("unpacked"));
    let out = Command::new(bagit_py())
        .args(["--validate", unpacked.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "bagit.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = unpacked.join("data/manifest.xml");
    let xml = std::fs::read_to_string(&manifest).unwrap();
    assert!(
        xml.contains("<FinalAction>Destroy</FinalAction>") && xml.contains("FRAD033"),
        "{xml}"
    );
    assert!(xml.contains(r#"<MessageDigest algorithm="SHA-512">"#));
    assert!(xml.contains("<FilePlanPosition>FIN-FAC</FilePlanPosition>"));
    assert!(!xml.contains("ADM-DEL"), "only the FIN records");
    assert_valid_seda(&manifest);
    let payload: Vec<String> = std::fs::read_to_string(unpacked.join("manifest-sha256.txt"))
        .unwrap()
        .lines()
        .map(|l| l.split_once("  ").unwrap().1.to_owned())
        .collect();
    assert!(
        payload
            .iter()
            .any(|p| p.starts_with("data/content/2015/FIN-FAC/FIN-FAC-2015-000001")),
        "{payload:?}"
    );
    assert!(
        payload.iter().any(|p| p.contains(".v1.")),
        "the first version kept: {payload:?}"
    );

    // Offline, with the key the auditor holds.
    let key = get(&server.url("/api/v1/audit/public-key"), &archivist).json()["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, text) = verify_package(&package, &["--key", &key]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("tout est intact") && text.contains("avec votre clé"),
        "{text}"
    );
    let stranger = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";
    let (code, text) = verify_package(&package, &["--key", stranger]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("ni celle que vous reconnaissez"), "{text}");

    // Each tampering, alone, is found.
    let entries = read_zip(&package);
    let top = entries[0].0.split('/').next().unwrap().to_owned();
    let name_of = |suffix: &str| entries.iter().position(|(n, _)| n.ends_with(suffix)).unwrap();
    let content = entries
        .iter()
        .position(|(n, _)| n.contains("/data/content/2016/"))
        .unwrap();
    let tamper = |label: &str, change: &dyn Fn(&mut Entries), expect: &str| {
        let mut copy = entries.clone();
        change(&mut copy);
        let path = tmp.path().join(format!("{label}.zip"));
        write_zip(&path, &copy);
        let (code, text) = verify_package(&path, &[]);
        assert_eq!(code, Some(1), "{label}: {text}");
        assert!(text.contains(expect), "{label}: expected {expect:?} in\n{text}");
    };
    tamper(
        "byte",
        &|e| e[content].1[3] ^= 1,
        "contenu modifié, ou ligne du manifeste retouchée",
    );
    tamper(
        "removed",
        &|e| {
            e.remove(content);
        },
        "qui manque au sac",
    );
    tamper(
        "added",
        &|e| e.push((format!("{top}/data/content/extra.txt"), b"sneaked in".to_vec())),
        "(un fichier ajouté)",
    );
    let m256 = name_of("/manifest-sha256.txt");
    tamper(
        "manifest-line",
        &|e| {
            let text = String::from_utf8(e[m256].1.clone()).unwrap();
            let first = text.lines().next().unwrap();
            let forged = format!("{}{}", if first.starts_with('0') { "1" } else { "0" }, &first[1..]);
            e[m256].1 = text.replacen(first, &forged, 1).into_bytes();
        },
        "contenu modifié, ou ligne du manifeste retouchée",
    );
    let events = name_of("/data/journal/events.jsonl");
    tamper(
        "event",
        &|e| {
            // Change an event and give it its new hash: only the proof can tell.
            let text = String::from_utf8(e[events].1.clone()).unwrap();
            let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
            let mut event: Value = serde_json::from_str(&lines[0]).unwrap();
            event["actor"] = json!("token:someone-else");
            let mut unsealed = event.clone();
            unsealed.as_object_mut().unwrap().remove("hash");
            event["hash"] = json!(format!(
                "sha256:{}",
                hex::encode(sha2::Sha256::digest(serde_json::to_vec(&unsealed).unwrap()))
            ));
            lines[0] = serde_json::to_string(&event).unwrap();
            e[events].1 = (lines.join("\n") + "\n").into_bytes();
            rebag(e);
        },
        "n'est pas prouvé par sa preuve d'inclusion",
    );
    let seal = name_of("/data/journal/seal.json");
    tamper(
        "seal",
        &|e| {
            let mut s: Value = serde_json::from_slice(&e[seal].1).unwrap();
            let sig = s["seal"]["signature"].as_str().unwrap().to_owned();
            s["seal"]["signature"] = json!(format!("{}{}", if sig.starts_with('0') { "1" } else { "0" }, &sig[1..]));
            e[seal].1 = serde_json::to_vec(&s).unwrap();
            rebag(e);
        },
        "la signature du sceau ne tient pas",
    );
    let proofs = name_of("/data/journal/proofs.json");
    tamper(
        "proof",
        &|e| {
            // The proof of another record's event in place of this one's.
            let lines: Vec<Value> = std::str::from_utf8(&e[events].1)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let record_of = |seq: &Value| {
                lines
                    .iter()
                    .find(|l| l["seq"] == *seq)
                    .map(|l| l["payload"]["record"].clone())
                    .unwrap()
            };
            let mut p: Vec<Value> = serde_json::from_slice(&e[proofs].1).unwrap();
            let first = record_of(&p[0]["seq"]);
            let other = p.iter().position(|x| record_of(&x["seq"]) != first).unwrap();
            p[0]["proof"] = p[other]["proof"].clone();
            e[proofs].1 = serde_json::to_vec(&p).unwrap();
            rebag(e);
        },
        "n'est pas prouvé par sa preuve d'inclusion",
    );

    // From the command line: a package of chosen records, same checks.
    server.stop();
    let cli_package = tmp.path().join("cli.zip");
    let reference = records[2]["reference"].as_str().unwrap();
    let out = cli(
        &data,
        &["export", "--record", reference, "-o", cli_package.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, text) = verify_package(&cli_package, &[]);
    assert_eq!(code, Some(0), "{text}");
    let listed: Vec<String> = read_zip(&cli_package).into_iter().map(|(n, _)| n).collect();
    assert!(listed.iter().any(|n| n.contains("ADM-DEL")) && !listed.iter().any(|n| n.contains("FIN-FAC")));
    let out = cli(
        &data,
        &[
            "export",
            "--node",
            "NOPE",
            "-o",
            tmp.path().join("x.zip").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!tmp.path().join("x.zip").exists() && !tmp.path().join("x.zip.partial").exists());
    let (code, text) = verify_package(&tmp.path().join("nothing.zip"), &[]);
    assert_eq!(code, Some(1), "{text}");
    assert_journal_follows_its_schema(&data);
}

/// Everything under a data directory's blobs and journal: what an import
/// would have left behind.
fn footprint(data: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![data.join("blobs"), data.join("journal")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.push((entry.path(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_package_imports_into_another_archive_with_the_same_content_and_metadata() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let records = deposit_records(&server, &token);
    let originals: Vec<Value> = records
        .iter()
        .map(|r| {
            get(
                &server.url(&format!("/api/v1/records/{}", r["reference"].as_str().unwrap())),
                &token,
            )
            .json()
        })
        .collect();
    server.stop();
    let package = tmp.path().join("all.zip");
    let out = cli(
        &data,
        &["export", "--query", "zanzibar", "-o", package.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // Another archive: a dry run changes nothing, the import brings all.
    let other = tmp.path().join("other");
    let other_token = init(&other);
    let before = footprint(&other);
    let out = cli(&other, &["import", package.to_str().unwrap(), "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(footprint(&other), before);
    let out = cli(&other, &["import", package.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let imported: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(imported.len(), 3);

    let server = Server::start(&other, &[]);
    for original in &originals {
        let old_reference = original["reference"].as_str().unwrap();
        // Found by its old reference and its old id (aliases).
        let by_ref = get(&server.url(&format!("/api/v1/records/{old_reference}")), &other_token);
        assert_eq!(by_ref.status, 200, "{old_reference}");
        let copy = by_ref.json();
        let by_id = get(
            &server.url(&format!("/api/v1/records/{}", original["id"].as_str().unwrap())),
            &other_token,
        );
        assert_eq!(by_id.json()["id"], copy["id"]);
        for key in ["title", "node", "date", "service", "fields", "document_type"] {
            assert_eq!(copy[key], original[key], "{key} of {old_reference}");
        }
        let versions = |r: &Value| -> Vec<(Value, Value, Value, Value)> {
            r["versions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| {
                    (
                        v["number"].clone(),
                        v["sha256"].clone(),
                        v["size"].clone(),
                        v["filename"].clone(),
                    )
                })
                .collect()
        };
        assert_eq!(versions(&copy), versions(original), "{old_reference}");
        for v in copy["versions"].as_array().unwrap() {
            let content = get(
                &server.url(&format!(
                    "/api/v1/records/{}/content?version={}",
                    copy["id"].as_str().unwrap(),
                    v["number"]
                )),
                &other_token,
            );
            assert_eq!(sha256_hex(&content.body), v["sha256"].as_str().unwrap());
        }
    }
    server.stop();

    // Again: every identifier is known now, so the package is refused whole.
    let before = footprint(&other);
    let out = cli(&other, &["import", package.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("déjà été importé"), "{}", stderr(&out));
    assert_eq!(footprint(&other), before);
    assert_journal_follows_its_schema(&other);
}

/// Writes a zip with Python's zipfile, which (unlike the zip crate) lets a
/// test write what no honest tool would.
fn python_zip(path: &Path, script: &str) {
    let program = format!(
        "import zipfile, sys\nz = zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED)\n{script}\nz.close()\n"
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&program)
        .arg(path)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn malicious_zips_are_refused_and_leave_nothing_behind() {
    let Fresh { tmp, data, .. } = fresh_archive();
    let bag = "z = z\nz.writestr('bag/bagit.txt', 'BagIt-Version: 1.0\\nTag-File-Character-Encoding: UTF-8\\n')\n";
    let cases = [
        (
            "slip",
            format!("{bag}z.writestr('bag/../../escaped.txt', 'x')"),
            "zip-slip",
        ),
        (
            "absolute",
            format!("{bag}z.writestr('/tmp/absolute.txt', 'x')"),
            "chemin absolu",
        ),
        (
            "duplicate",
            format!(
                "{bag}import warnings\nwarnings.simplefilter('ignore')\nz.writestr('bag/data/a.txt', 'one')\nz.writestr('bag/data/a.txt', 'two')"
            ),
            "figure deux fois",
        ),
        (
            "bomb",
            format!("{bag}z.writestr('bag/data/zeros.bin', bytes(64 << 20))"),
            "bombes zip",
        ),
        (
            "link",
            format!(
                "{bag}i = zipfile.ZipInfo('bag/data/link')\ni.external_attr = 0o120777 << 16\nz.writestr(i, '/etc/passwd')"
            ),
            "lien ou un fichier spécial",
        ),
        (
            "utf8",
            format!(
                "{bag}i = zipfile.ZipInfo('bag/data/x.txt')\nz.writestr(i, 'x')\nz.filelist[-1].filename = 'bag/data/\\udcff.txt'"
            ),
            "",
        ),
        (
            "notabag",
            "z.writestr('data/a.txt', 'x')".to_owned(),
            "pas un sac BagIt",
        ),
    ];
    let before = footprint(&data);
    for (label, script, expect) in cases {
        let path = tmp.path().join(format!("{label}.zip"));
        if label == "utf8" {
            // An entry name that is not UTF-8: written raw, flag unset.
            let mut bytes = Vec::new();
            {
                let mut zip = zip::ZipWriter::new(std::io::Cursor::new(&mut bytes));
                zip.start_file("bag/bagit.txt", zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(b"BagIt-Version: 1.0\n").unwrap();
                zip.start_file("bag/data/NAMEX.txt", zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(b"x").unwrap();
                zip.finish().unwrap();
            }
            // Replace the marker in both the local header and the central directory.
            let marker = b"NAMEX";
            let mut i = 0;
            while i + marker.len() <= bytes.len() {
                if &bytes[i..i + marker.len()] == marker {
                    bytes[i + 4] = 0xff;
                }
                i += 1;
            }
            std::fs::write(&path, &bytes).unwrap();
        } else {
            python_zip(&path, &script);
        }
        for command in ["verify-package", "import"] {
            let out = if command == "import" {
                cli(&data, &["import", path.to_str().unwrap()])
            } else {
                Command::new(bin())
                    .args(["verify-package", path.to_str().unwrap()])
                    .output()
                    .unwrap()
            };
            let text = format!("{}{}", stdout(&out), stderr(&out));
            assert_ne!(out.status.code(), Some(0), "{label} {command}: {text}");
            let expect = if label == "utf8" { "pas en UTF-8 valide" } else { expect };
            assert!(
                text.contains(expect),
                "{label} {command}: expected {expect:?} in {text}"
            );
        }
    }
    assert_eq!(footprint(&data), before, "nothing written");
    assert!(!tmp.path().join("escaped.txt").exists() && !Path::new("/tmp/absolute.txt").exists());
    let staging: Vec<_> = std::fs::read_dir(data.join("blobs/tmp"))
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(staging.is_empty(), "staging area empty");
}

#[test]
fn an_acknowledged_transfer_leaves_tombstones_that_point_to_the_archives() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archiviste");
    // Two deliberations kept for ever, due for transfer; one will be held.
    let mut refs = Vec::new();
    for i in 0..2 {
        let r = created(
            deposit(
                &server,
                &archivist,
                format!("Délibération {i} du conseil municipal, quetzalcoatl").as_bytes(),
                &format!("deliberation-{i}.txt"),
                &json!({"node": "ADM-DEL", "date": years_ago(3), "title": format!("Délibération {i}")}),
            )
            .unwrap(),
        );
        refs.push(r["reference"].as_str().unwrap().to_owned());
    }
    let transfer = created(post_json(&server.url("/api/v1/transfers"), &archivist, &json!({})));
    let id = transfer["id"].as_u64().unwrap();
    assert_eq!(transfer["count"], 2, "{transfer}");
    let ack = |body: Value| {
        post_json(
            &server.url(&format!("/api/v1/transfers/{id}/acknowledge")),
            &archivist,
            &body,
        )
    };

    // Not before a package was exported for it.
    let early = ack(json!({"reference": "AD33-2026-W-0042"}));
    assert_eq!(early.status, 409);
    assert_eq!(early.error_code(), "transfer_state");
    let package = post_json(&server.url("/api/v1/exports"), &archivist, &json!({"transfer": id}));
    assert_eq!(package.status, 200, "{}", String::from_utf8_lossy(&package.body));
    let zip = tmp.path().join("transfer.zip");
    std::fs::write(&zip, &package.body).unwrap();
    let (code, text) = verify_package(&zip, &[]);
    assert_eq!(code, Some(0), "{text}");
    let shown = get(&server.url(&format!("/api/v1/transfers/{id}")), &archivist).json();
    assert_eq!(shown["state"], "exported");

    // A hold placed since: that record stays.
    let hold = post_json(
        &server.url("/api/v1/holds"),
        &archivist,
        &json!({"record": refs[1], "reason": "contentieux en cours"}),
    );
    assert_eq!(hold.status, 201);
    assert_eq!(ack(json!({"reference": ""})).status, 422);
    let done = ack(json!({"reference": "AD33-2026-W-0042", "signer": "Directeur des Archives", "date": "2026-11-20"}));
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    let done = done.json();
    assert_eq!(done["state"], "acknowledged");
    let outcomes = done["acknowledgement"]["outcomes"].as_array().unwrap();
    assert_eq!(
        outcomes.iter().filter(|o| o["transferred"] == true).count(),
        1,
        "{done}"
    );
    let kept = outcomes.iter().find(|o| o["transferred"] == false).unwrap();
    assert!(kept["reason"].as_str().unwrap().contains("gelé (gel "), "{kept}");
    assert_eq!(ack(json!({"reference": "again"})).status, 409);

    // The transferred record is a tombstone pointing to the archives; its
    // content is gone from here and from the index; the held one is intact.
    let gone = get(&server.url(&format!("/api/v1/records/{}", refs[0])), &archivist);
    assert_eq!(gone.status, 410);
    assert_eq!(gone.error_code(), "record_transferred");
    let body = gone.json();
    assert_eq!(
        body["tombstone"]["tombstone"]["transferred_to"], "AD33-2026-W-0042",
        "{body}"
    );
    assert_eq!(body["tombstone"]["state"], "transferred");
    let sha = body["tombstone"]["versions"][0]["sha256"].as_str().unwrap().to_owned();
    assert!(
        !data
            .join("blobs/sha256")
            .join(&sha[0..2])
            .join(&sha[2..4])
            .join(&sha)
            .exists()
    );
    let still = get(&server.url(&format!("/api/v1/records/{}", refs[1])), &archivist);
    assert_eq!(still.status, 200);
    let mut found = Vec::new();
    for _ in 0..100 {
        found = hit_refs(&get(&server.url("/api/v1/search?q=quetzalcoatl"), &archivist).json());
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(found, vec![refs[1].clone()], "only the record kept here is found");
    let report = verify_over_http(&server, &token);
    assert_eq!(report["report"]["passed"], true, "{report}");
    server.stop();
    let out = cli(&data, &["transfer", "list"]);
    assert!(stdout(&out).contains("accepté par les archives"), "{}", stdout(&out));
    assert_journal_follows_its_schema(&data);
}

/// A bag as another archive's tool would lay it out, made a bag by the
/// Library of Congress tool itself: one archive unit whose versions are
/// `files` (name, content), the first the master.
fn bag_made_elsewhere(dir: &Path, files: &[(&str, &[u8])]) -> PathBuf {
    let bag = dir.join("versement");
    std::fs::create_dir_all(bag.join("Content")).unwrap();
    let mut objects = String::new();
    for (i, (name, content)) in files.iter().enumerate() {
        let stored = format!("Content/v{}.txt", i + 1);
        std::fs::write(bag.join(&stored), content).unwrap();
        let sha512 = hex::encode(sha2::Sha512::digest(content));
        objects.push_str(&format!(
            r#"      <BinaryDataObject id="B{n}">
        <DataObjectVersion>BinaryMaster_{n}</DataObjectVersion>
        <Uri>{stored}</Uri>
        <MessageDigest algorithm="SHA-512">{sha512}</MessageDigest>
        <Size>{size}</Size>
        <FileInfo><Filename>{name}</Filename></FileInfo>
      </BinaryDataObject>
"#,
            n = i + 1,
            size = content.len()
        ));
    }
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ArchiveTransfer xmlns="fr:gouv:culture:archivesdefrance:seda:v2.2">
  <Date>2024-05-01T10:00:00</Date>
  <MessageIdentifier>VERSEMENT-2024-7</MessageIdentifier>
  <CodeListVersions/>
  <DataObjectPackage>
    <DataObjectGroup id="G1">
{objects}    </DataObjectGroup>
    <DescriptiveMetadata>
      <ArchiveUnit id="U1">
        <Content>
          <DescriptionLevel>RecordGrp</DescriptionLevel>
          <Title>Conseil municipal</Title>
          <FilePlanPosition>CM</FilePlanPosition>
        </Content>
        <ArchiveUnit id="U2">
          <Content>
            <DescriptionLevel>Item</DescriptionLevel>
            <Title>Procès-verbal du 12 mars 2019 &amp; annexes</Title>
            <OriginatingAgencyArchiveUnitIdentifier>PV-2019-03</OriginatingAgencyArchiveUnitIdentifier>
            <StartDate>2019-03-12</StartDate>
          </Content>
          <DataObjectReference><DataObjectGroupReferenceId>G1</DataObjectGroupReferenceId></DataObjectReference>
        </ArchiveUnit>
      </ArchiveUnit>
    </DescriptiveMetadata>
  </DataObjectPackage>
</ArchiveTransfer>
"#
    );
    std::fs::write(bag.join("seda.xml"), xml).unwrap();
    let out = Command::new(bagit_py())
        .args(["--sha256", bag.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let zip = dir.join("versement.zip");
    let mut entries = Vec::new();
    let mut stack = vec![bag.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = format!("versement/{}", path.strip_prefix(&bag).unwrap().display());
                entries.push((name, std::fs::read(&path).unwrap()));
            }
        }
    }
    entries.sort();
    write_zip(&zip, &entries);
    zip
}

#[test]
fn a_package_whose_later_version_is_misnamed_is_refused_before_anything_is_written() {
    let Fresh { tmp, data, token: _ } = fresh_archive();
    // The second version's name hides its extension behind a right-to-left
    // override (shown as "annexeexe.pdf").
    let zip = bag_made_elsewhere(
        tmp.path(),
        &[
            ("pv.txt", b"Proces-verbal"),
            ("annexe\u{202E}fdp.exe", b"Annexe du proces-verbal"),
        ],
    );
    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(&mapping, "[nodes]\nCM = \"ADM-DEL\"\n").unwrap();
    let before = footprint(&data);
    let out = cli(
        &data,
        &["import", zip.to_str().unwrap(), "--mapping", mapping.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("PV-2019-03"), "{}", stderr(&out));
    assert!(stderr(&out).contains("filename"), "{}", stderr(&out));
    assert_eq!(footprint(&data), before, "nothing written");
    let out = cli(&data, &["show", "PV-2019-03", "--json"]);
    assert!(!out.status.success(), "no record imported: {}", stdout(&out));
}

#[test]
fn a_bag_made_elsewhere_with_a_seda_manifest_imports_through_a_mapping() {
    let Fresh { tmp, data, token: _ } = fresh_archive();
    let content = b"Proces-verbal de la seance du 12 mars 2019";
    let zip = bag_made_elsewhere(tmp.path(), &[("pv.txt", content)]);

    // Its plan position is not a node here: refused whole, naming why.
    let out = cli(&data, &["import", zip.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("aucun nœud ne lui correspond"),
        "{}",
        stderr(&out)
    );
    // With a mapping, it goes where the archivist says.
    let mapping = tmp.path().join("mapping.toml");
    std::fs::write(&mapping, "[nodes]\nCM = \"ADM-DEL\"\n").unwrap();
    let out = cli(
        &data,
        &[
            "import",
            zip.to_str().unwrap(),
            "--mapping",
            mapping.to_str().unwrap(),
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let imported: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(imported["node"], "ADM-DEL");
    let out = cli(&data, &["show", "PV-2019-03", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(shown["title"], "Procès-verbal du 12 mars 2019 & annexes");
    assert_eq!(shown["date"], "2019-03-12");
    assert_eq!(shown["versions"][0]["sha256"], sha256_hex(content));
    assert_eq!(shown["aliases"][0], "PV-2019-03");
}

/// The archives service's SEDA 2.3 answer, as it would send it.
pub fn archives_reply(root: &str, answers: &str, reference: &str, code: &str) -> String {
    let answered = if root == "Acknowledgement" {
        format!(
            "<MessageReceivedIdentifier>{answers}</MessageReceivedIdentifier>\n  <Sender><Identifier>FRAD033</Identifier></Sender>\n  <Receiver><Identifier>COLL</Identifier></Receiver>"
        )
    } else {
        format!(
            "<CodeListVersions><ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion></CodeListVersions>\n  <ReplyCode>{code}</ReplyCode>\n  <MessageRequestIdentifier>{answers}</MessageRequestIdentifier>\n  <GrantDate>2026-11-21T09:00:00</GrantDate>\n  <ArchivalAgency><Identifier>FRAD033</Identifier></ArchivalAgency>\n  <TransferringAgency><Identifier>COLL</Identifier></TransferringAgency>"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"fr:gouv:culture:archivesdefrance:seda:v2.3\">\n  <Comment>Versement pris en charge</Comment>\n  <Date>2026-11-20T10:15:00</Date>\n  <MessageIdentifier>{reference}</MessageIdentifier>\n  {answered}\n</{root}>\n"
    )
}

#[test]
fn the_archives_seda_reply_is_validated_and_acknowledges_its_transfer() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archiviste");
    let record = created(
        deposit(
            &server,
            &archivist,
            "Délibération du conseil, à verser".as_bytes(),
            "deliberation.txt",
            &json!({"node": "ADM-DEL", "date": years_ago(3)}),
        )
        .unwrap(),
    );
    let reference = record["reference"].as_str().unwrap().to_owned();
    let transfer = created(post_json(&server.url("/api/v1/transfers"), &archivist, &json!({})));
    let id = transfer["id"].as_u64().unwrap();
    let package = post_json(&server.url("/api/v1/exports"), &archivist, &json!({"transfer": id}));
    assert_eq!(package.status, 200, "{}", String::from_utf8_lossy(&package.body));
    let shown = get(&server.url(&format!("/api/v1/transfers/{id}")), &archivist).json();
    let message_id = shown["packages"][0]
        .as_str()
        .expect("the package's identifier")
        .to_owned();
    let send = |xml: &str| {
        request(
            "POST",
            &server.url("/api/v1/transfers/reply"),
            &archivist,
            &[],
            Some(("application/xml", xml.as_bytes())),
        )
        .expect("POST")
    };
    let good = archives_reply("ArchiveTransferReply", &message_id, "AD33-2026-W-0099", "OK");
    // The replies written here are valid for the official schema itself.
    for (name, xml) in [
        ("reply.xml", good.clone()),
        ("ack.xml", archives_reply("Acknowledgement", &message_id, "AR-1", "")),
    ] {
        let path = tmp.path().join(name);
        std::fs::write(&path, xml).unwrap();
        assert_valid_seda(&path);
    }

    // Not valid against the schema: refused, naming the line.
    let broken = good.replace(
        &format!("<MessageRequestIdentifier>{message_id}</MessageRequestIdentifier>"),
        "",
    );
    let a = send(&broken);
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (422, "invalid_field"),
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    let message = a.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("schéma SEDA 2.3") && message.contains("ligne 9 : Element 'GrantDate'"),
        "{message}"
    );
    assert_eq!(send("pas du XML").status, 422);
    // Valid, but a transfer message, not an answer.
    let a = send(&good.replace("ArchiveTransferReply", "Acknowledgement"));
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
    // An answer to a package no transfer here exported.
    let a = send(&archives_reply("ArchiveTransferReply", "PAQUET-INCONNU", "X", "OK"));
    assert_eq!((a.status, a.error_code().as_str()), (404, "transfer_not_found"));
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("« PAQUET-INCONNU », qu'aucun versement"),
        "{}",
        a.json()
    );
    // A refusal changes nothing.
    let a = send(&archives_reply("ArchiveTransferReply", &message_id, "AD33-REFUS", "KO"));
    assert_eq!((a.status, a.error_code().as_str()), (409, "transfer_state"));
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refusé")
    );
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{reference}")), &archivist).status,
        200
    );
    // An archivist's role is needed.
    let agent = new_token(&server, &token, "agent", "guichet");
    let a = request(
        "POST",
        &server.url("/api/v1/transfers/reply"),
        &agent,
        &[],
        Some(("application/xml", good.as_bytes())),
    )
    .expect("POST");
    assert_eq!(a.status, 403);

    // The acceptance: the transfer acknowledged under the archives'
    // reference, the reply kept, the record a tombstone pointing there.
    let a = send(&good);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let done = a.json();
    assert_eq!(done["state"], "acknowledged");
    assert_eq!(done["acknowledgement"]["reference"], "AD33-2026-W-0099");
    assert_eq!(done["acknowledgement"]["date"], "2026-11-21");
    assert_eq!(done["acknowledgement"]["signer"], "FRAD033");
    assert_eq!(
        done["acknowledgement"]["reply_sha256"],
        sha256_hex(good.as_bytes()).as_str()
    );
    let gone = get(&server.url(&format!("/api/v1/records/{reference}")), &archivist);
    assert_eq!(gone.status, 410);
    assert_eq!(
        gone.json()["tombstone"]["tombstone"]["transferred_to"],
        "AD33-2026-W-0099"
    );
    // Sent again: the transfer was acknowledged already; the command line
    // (through the running server) says so in one line, exit 4.
    assert_eq!(send(&good).error_code(), "transfer_state");
    let file = tmp.path().join("reponse-des-archives.xml");
    std::fs::write(&file, &good).unwrap();
    let out = cli(&data, &["transfer", "reply", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    std::fs::write(&file, &broken).unwrap();
    let out = cli(&data, &["transfer", "reply", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("schéma SEDA 2.3"), "{}", stderr(&out));
    let report = verify_over_http(&server, &token);
    assert_eq!(report["report"]["passed"], true, "{report}");
    assert_eq!(
        report["report"]["unreferenced_blobs"], 0,
        "the answer kept is a blob the journal names, and a refused one is not kept: {report}"
    );
    server.stop();
    assert_journal_follows_its_schema(&data);
}
