//! Snapshots of what users script against: every HTTP answer of a scripted
//! scenario (status, the headers scripts read, the body byte for byte),
//! every `--json` output of the command line, and the journal the scenario
//! leaves. A change that alters one byte of any of them shows as a diff.
//!
//! What differs from run to run (times, random ids, tokens, the hashes that
//! depend on them) is replaced by numbered placeholders, in order of first
//! appearance and shared across the whole scenario, so that a value seen
//! twice is still seen to be the same value. Everything else is compared as
//! the server wrote it: key order, spacing, escapes.
//!
//! After a deliberate change of an answer: `INSTA_UPDATE=always cargo test
//! snapshots`, then read the diff of `tests/it/snapshots/` before committing.

use crate::common::*;
use regex::Regex;
use serde_json::json;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Replaces what varies between runs by stable placeholders.
struct Normalizer {
    names: HashMap<String, String>,
    counts: HashMap<&'static str, usize>,
    patterns: Vec<(&'static str, Regex)>,
    today: String,
}

impl Normalizer {
    fn new() -> Self {
        let patterns = [
            // RFC 3339 instants, with or without fractions.
            (
                "time",
                r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?",
            ),
            ("uuid", r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
            ("token", r"coffre_[0-9a-f]{16,}"),
            ("hex", r"\b[0-9a-f]{32,}\b"),
            ("b64", r"[A-Za-z0-9+/]{40,}={0,2}"),
        ];
        Normalizer {
            names: HashMap::new(),
            counts: HashMap::new(),
            patterns: patterns
                .into_iter()
                .map(|(kind, re)| (kind, Regex::new(re).unwrap()))
                .collect(),
            today: chrono::Utc::now().date_naive().to_string(),
        }
    }

    fn text(&mut self, text: &str) -> String {
        // The run's temporary folders (the stores a disposal names).
        let tmp = Regex::new(r"/tmp/\.tmp[A-Za-z0-9]+").unwrap();
        let mut out = tmp.replace_all(text, "[tmp]").into_owned();
        for i in 0..self.patterns.len() {
            let (kind, re) = (self.patterns[i].0, self.patterns[i].1.clone());
            out = re
                .replace_all(&out, |c: &regex::Captures| {
                    let found = c[0].to_owned();
                    if let Some(name) = self.names.get(&found) {
                        return name.clone();
                    }
                    if kind == "time" {
                        return "[time]".to_owned();
                    }
                    let n = self.counts.entry(kind).or_insert(0);
                    *n += 1;
                    let name = format!("[{kind} {n}]");
                    self.names.insert(found, name.clone());
                    name
                })
                .into_owned();
        }
        let out = out.replace(&self.today, "[today]");
        // Today as the French write it, in messages for people.
        let french_today = chrono::NaiveDate::parse_from_str(&self.today, "%Y-%m-%d")
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default();
        let out = out.replace(&french_today, "[today]");
        // Durations and rates measured by the run itself.
        // Relevance scores depend on how the index happened to batch its
        // segments, so only their presence and the hits' set are compared.
        let measured =
            Regex::new(r#""(elapsed_ms|duration_ms|bytes_per_second|rate|uptime_seconds|took_ms|score)":\s?[0-9.]+"#)
                .unwrap();
        let out = measured.replace_all(&out, "\"$1\":[measured]").into_owned();
        let package = Regex::new(r"[0-9a-f]{8}-\d{8}T\d+").unwrap();
        let out = package.replace_all(&out, "[package id]").into_owned();
        // A package's size follows the times it holds, whose fractions of
        // a second are written with as many digits as they need (3, 6 or 9):
        // its bytes are checked by the package tests, as its binary body is.
        let package_size = Regex::new(r#""files":\s?([0-9]+),\s?"bytes":\s?[0-9]+"#).unwrap();
        let out = package_size
            .replace_all(&out, "\"files\":$1,\"bytes\":\"[package size]\"")
            .into_owned();
        // The same size, as the journal's `package.exported` states it
        // (BagIt's Payload-Oxum: bytes, then files).
        let oxum = Regex::new(r#""payload_oxum":"[0-9]+\.([0-9]+)""#).unwrap();
        let out = oxum
            .replace_all(&out, "\"payload_oxum\":\"[package size].$1\"")
            .into_owned();
        // Lists kept in digest order follow random digests (a metadata
        // document holds the record's random id): compare them as sets.
        let by_digest = Regex::new(r#""erased":\[((?:"[^"]*",?)*)\]"#).unwrap();
        by_digest
            .replace_all(&out, |c: &regex::Captures| {
                let mut items: Vec<&str> = c[1].split(',').collect();
                items.sort();
                format!("\"erased\":[{}]", items.join(","))
            })
            .into_owned()
    }
}

/// A JSON text laid out one member a line, keeping the server's key order
/// and every byte of its strings (no parsing: nothing is reordered).
fn layout(json: &str) -> String {
    let mut out = String::new();
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                depth += 1;
                newline(&mut out, depth);
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The transcript of a scenario: each step with its answer.
struct Transcript {
    norm: Normalizer,
    http: String,
    /// Every request's method, path and status, to hold against the
    /// OpenAPI document.
    statuses: Vec<(String, String, u16)>,
    cli: String,
    /// The temporary folder, named `[tmp]` in the transcript.
    tmp: std::path::PathBuf,
}

impl Transcript {
    fn body_text(&mut self, content_type: &str, body: &[u8]) -> String {
        if content_type.starts_with("application/json") {
            layout(&self.norm.text(&String::from_utf8_lossy(body)))
        } else if content_type.starts_with("text/") || content_type.starts_with("application/x-pem") {
            self.norm.text(&String::from_utf8_lossy(body))
        } else {
            // Binary bodies (zip packages) hold times: their bytes are
            // checked by the package tests, not here.
            "[binary body]".to_owned()
        }
    }

    /// Records an HTTP answer; returns it.
    fn http(&mut self, step: &str, answer: Answer) -> Answer {
        let (method, url) = &answer.asked;
        let path = url.split_once("://").map_or(url.as_str(), |(_, rest)| rest);
        let path = path.find('/').map_or("/", |i| &path[i..]);
        let path = path.split('?').next().unwrap_or(path).to_owned();
        self.statuses.push((method.clone(), path, answer.status));
        let content_type = answer.header("content-type").unwrap_or("").to_owned();
        let mut head = format!("=== {step}\n{}", answer.status);
        for name in [
            "content-type",
            "content-disposition",
            "etag",
            "content-range",
            "accept-ranges",
            "location",
        ] {
            if let Some(value) = answer.header(name) {
                let value = self.norm.text(value);
                head.push_str(&format!("\n{name}: {value}"));
            }
        }
        let body = self.body_text(&content_type, &answer.body);
        self.http.push_str(&format!("{head}\n{body}\n\n"));
        answer
    }

    /// Records a command's exit code, standard output and error.
    fn cli(&mut self, data: &Path, args: &[&str]) -> std::process::Output {
        let out = Command::new(bin())
            .arg("--data")
            .arg(data)
            .args(args)
            .env("USER", "greffe")
            .env("COFFRE_LOG", "off")
            .stdin(Stdio::null())
            .output()
            .expect("run coffre");
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.starts_with('/') {
                    Path::new(a)
                        .file_name()
                        .map(|f| format!("[path]/{}", f.to_string_lossy()))
                        .unwrap_or_default()
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        let stdout = self.norm.text(&String::from_utf8_lossy(&out.stdout));
        let stdout: String = stdout
            .lines()
            .map(|l| if l.starts_with('{') { layout(l) } else { l.to_owned() })
            .collect::<Vec<_>>()
            .join("\n");
        let tmp = self.tmp.to_string_lossy().into_owned();
        let stderr = self
            .norm
            .text(&String::from_utf8_lossy(&out.stderr).replace(&tmp, "[tmp]"));
        self.cli.push_str(&format!(
            "=== coffre {}\nexit {}\n--- stdout\n{}\n--- stderr\n{}\n\n",
            shown.join(" "),
            out.status.code().unwrap_or(-1),
            stdout.replace(&tmp, "[tmp]"),
            stderr.trim_end()
        ));
        out
    }
}

fn put(base: &str, token: &str, content: &[u8], filename: &str, metadata: serde_json::Value) -> Answer {
    deposit_at(base, token, content, filename, &metadata).expect("deposit")
}

fn send(method: &str, url: &str, token: &str, body: Option<serde_json::Value>) -> Answer {
    let body = body.map(|b| b.to_string());
    request(
        method,
        url,
        token,
        &[],
        body.as_deref().map(|b| ("application/json", b.as_bytes())),
    )
    .expect("request")
}

fn wait_until_searchable(server: &Server, token: &str, q: &str, total: u64) {
    for _ in 0..600 {
        let a = get(&server.url(&format!("/api/v1/search?q={q}")), token);
        if a.json()["total"].as_u64() == Some(total) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{q} never became searchable");
}

/// Waits until the indexer has read `version` of an invoice (FACTURES
/// reads invoices once their text is indexed, journaling `record.read`):
/// what follows then sees the journal in one order.
fn wait_until_read(server: &Server, token: &str, reference: &str, version: u64) {
    for _ in 0..600 {
        let a = get(&server.url(&format!("/api/v1/records/{reference}")), token);
        if a.json()["reading"]["version"].as_u64() == Some(version) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("version {version} of {reference} was never read");
}

/// The journal's lines, normalised, one event a line.
fn journal_text(norm: &mut Normalizer, data: &Path) -> String {
    let mut segments: Vec<_> = std::fs::read_dir(data.join("journal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    segments.sort();
    let mut out = String::new();
    for segment in segments {
        out.push_str(&norm.text(&std::fs::read_to_string(segment).unwrap()));
    }
    out
}

#[test]
fn every_answer_of_a_scripted_scenario_is_unchanged() {
    let Fresh {
        tmp,
        data,
        token: admin,
    } = fresh_archive();
    let server = Server::start(&data, &[]);
    let base = server.base.clone();
    let url = |path: &str| format!("{base}/api/v1{path}");
    let mut t = Transcript {
        norm: Normalizer::new(),
        http: String::new(),
        statuses: Vec::new(),
        cli: String::new(),
        tmp: tmp.path().to_owned(),
    };
    t.norm.names.insert(admin.clone(), "[admin token]".into());

    // Service and tokens.
    t.http("GET /healthz", get(&server.url("/healthz"), ""));
    let openapi = get(&url("/openapi.json"), &admin);
    assert_eq!(openapi.status, 200);
    let spec: serde_json::Value = serde_json::from_slice(&openapi.body).expect("the OpenAPI document");
    let openapi = layout(&String::from_utf8_lossy(&openapi.body));
    t.http("GET /records without a token", get(&url("/records/X"), ""));
    t.http(
        "GET /records with a wrong token",
        get(&url("/records/X"), "coffre_nope"),
    );
    let token = |t: &mut Transcript, role: &str, name: &str| {
        let a = t.http(
            &format!("POST /tokens {role}"),
            post_json(&url("/tokens"), &admin, &json!({"role": role, "name": name})),
        );
        a.json()["token"].as_str().unwrap().to_owned()
    };
    let archivist = token(&mut t, "archivist", "archives");
    let agent = token(&mut t, "agent", "guichet");
    let auditor = token(&mut t, "auditor", "controle");
    t.http(
        "POST /tokens bad role",
        post_json(&url("/tokens"), &admin, &json!({"role": "king", "name": "x"})),
    );
    t.http(
        "POST /tokens by an agent",
        post_json(&url("/tokens"), &agent, &json!({"role": "admin", "name": "x"})),
    );

    // Deposits.
    let r = |a: &Answer| a.json()["reference"].as_str().unwrap().to_owned();
    let facture = put(
        &base,
        &agent,
        "Facture n° FA-2012-001 : pain et viennoiseries pour la cantine. Boulangerie Dupain.".as_bytes(),
        "facture-dupain.txt",
        json!({"node": "FIN-FAC", "date": "2012-03-15", "title": "Facture boulangerie Dupain",
               "fields": {"fournisseur": "Boulangerie Dupain", "numero_facture": "FA-2012-001", "montant_ttc": "1200.50"}}),
    );
    let facture = r(&t.http("POST /records FIN-FAC", facture));
    let second = put(
        &base,
        &agent,
        "Facture de fournitures scolaires, cahiers et crayons.".as_bytes(),
        "fournitures.txt",
        json!({"node": "FIN-FAC", "date": "2012-06-01", "title": "Facture fournitures", "service": "Écoles"}),
    );
    let second = r(&t.http("POST /records FIN-FAC second", second));
    let deliberation = put(
        &base,
        &agent,
        "Délibération n° 2013-004 : le conseil municipal approuve le budget primitif.".as_bytes(),
        "deliberation.txt",
        json!({"node": "ADM-DEL", "date": "2013-01-10", "title": "Budget primitif 2013",
               "fields": {"numero": "2013-004", "seance": "2013-01-10"}}),
    );
    let deliberation = r(&t.http("POST /records ADM-DEL", deliberation));
    let temporaire = put(
        &base,
        &agent,
        "Arrêté temporaire de circulation, rue des Écoles.".as_bytes(),
        "arrete.txt",
        json!({"node": "ADM-ART", "date": "2015-05-04", "title": "Arrêté temporaire de circulation"}),
    );
    let temporaire = r(&t.http("POST /records ADM-ART", temporaire));
    let offre = put(
        &base,
        &archivist,
        "Offre non retenue pour le marché de voirie.".as_bytes(),
        "offre.txt",
        json!({"node": "MAR-OFF", "date": "2014-02-02", "title": "Offre voirie", "fields": {"marche": "M-2014-01"}}),
    );
    let offre = r(&t.http("POST /records MAR-OFF", offre));
    t.http(
        "POST /records RH-DOS by an agent",
        put(
            &base,
            &agent,
            b"Dossier",
            "dossier.txt",
            json!({"node": "RH-DOS", "fields": {"matricule": "A1", "birth_date": "1970-01-01"}}),
        ),
    );
    let dossier = put(
        &base,
        &archivist,
        "Dossier individuel : arrêté de nomination.".as_bytes(),
        "dossier.txt",
        json!({"node": "RH-DOS", "date": "2001-09-01", "title": "Dossier Martin",
               "fields": {"matricule": "A1", "birth_date": "1961-04-02"}}),
    );
    let dossier = r(&t.http("POST /records RH-DOS", dossier));
    t.http(
        "POST /records unknown node",
        put(&base, &agent, b"x", "x.txt", json!({"node": "NOPE"})),
    );
    t.http(
        "POST /records unclassified",
        put(&base, &agent, b"rien de reconnaissable", "x.txt", json!({})),
    );
    t.http(
        "POST /records missing required field",
        put(&base, &archivist, b"x", "x.txt", json!({"node": "MAR-OFF"})),
    );
    t.http(
        "POST /records bad metadata",
        put(&base, &agent, b"x", "x.txt", json!({"node": 3})),
    );
    let no_file = multipart(&[Part {
        name: "metadata",
        filename: None,
        content: b"{}",
    }]);
    t.http(
        "POST /records without a file",
        post_multipart(&url("/records"), &agent, &no_file).unwrap(),
    );

    // Reading, once the indexer has caught up (a record shows its text's
    // state).
    wait_until_searchable(&server, &agent, "nomination", 0);
    wait_until_searchable(&server, &archivist, "nomination", 1);
    wait_until_read(&server, &agent, &facture, 1);
    wait_until_read(&server, &agent, &second, 1);
    t.http("GET /records/{ref}", get(&url(&format!("/records/{facture}")), &agent));
    t.http(
        "GET /records/{ref} RH by an agent",
        get(&url(&format!("/records/{dossier}")), &agent),
    );
    t.http(
        "GET /records/{ref} unknown",
        get(&url("/records/FIN-FAC-1999-000009"), &agent),
    );
    t.http(
        "GET /records/{ref}/content",
        get(&url(&format!("/records/{facture}/content")), &agent),
    );
    t.http(
        "GET /records/{ref}/content range",
        request(
            "GET",
            &url(&format!("/records/{facture}/content")),
            &agent,
            &[("Range", "bytes=0-6")],
            None,
        )
        .unwrap(),
    );
    t.http(
        "GET /records/{ref}/content range not satisfiable",
        request(
            "GET",
            &url(&format!("/records/{facture}/content")),
            &agent,
            &[("Range", "bytes=9000-9100")],
            None,
        )
        .unwrap(),
    );
    t.http(
        "GET /records/{ref}/content?version=9",
        get(&url(&format!("/records/{facture}/content?version=9")), &agent),
    );
    let v2 = multipart(&[Part {
        name: "file",
        filename: Some(b"fournitures-v2.txt"),
        content: "Facture de fournitures scolaires, cahiers, crayons et gommes (corrigée).".as_bytes(),
    }]);
    t.http(
        "POST /records/{ref}/versions",
        post_multipart(&url(&format!("/records/{second}/versions")), &agent, &v2).unwrap(),
    );
    wait_until_read(&server, &agent, &second, 2);
    t.http(
        "PATCH /records/{ref} by an agent",
        send(
            "PATCH",
            &url(&format!("/records/{second}")),
            &agent,
            Some(json!({"title": "x"})),
        ),
    );
    t.http(
        "PATCH /records/{ref}",
        send(
            "PATCH",
            &url(&format!("/records/{second}")),
            &archivist,
            Some(json!({"title": "Facture fournitures scolaires", "reason": "titre précisé"})),
        ),
    );
    t.http(
        "PATCH /records/{ref} unknown field",
        send(
            "PATCH",
            &url(&format!("/records/{second}")),
            &archivist,
            Some(json!({"colour": "x"})),
        ),
    );
    t.http(
        "DELETE /records/{ref}",
        send("DELETE", &url(&format!("/records/{second}")), &admin, None),
    );

    // The verification queue: the second invoice, read with nothing found,
    // waits; an agent types its fields.
    t.http("GET /verification", get(&url("/verification"), &agent));
    t.http(
        "GET /verification bad limit",
        get(&url("/verification?limit=0"), &agent),
    );
    let verification = json!({
        "fields": {"fournisseur": "Papeterie Martin", "numero_facture": "PM-2012-77", "montant_ttc": "86.40"},
        "comment": "relu sur l'original"
    });
    t.http(
        "POST /records/{ref}/verification",
        send(
            "POST",
            &url(&format!("/records/{second}/verification")),
            &agent,
            Some(verification.clone()),
        ),
    );
    t.http(
        "POST /records/{ref}/verification again",
        send(
            "POST",
            &url(&format!("/records/{second}/verification")),
            &agent,
            Some(verification),
        ),
    );
    t.http(
        "POST /records/{ref}/verification by an auditor",
        send(
            "POST",
            &url(&format!("/records/{facture}/verification")),
            &auditor,
            Some(json!({})),
        ),
    );
    t.http("GET /verification/counts", get(&url("/verification/counts"), &agent));

    // Search.
    // The indexer follows the journal from behind: wait until it has seen
    // the last change (the new title, after the new version).
    wait_until_searchable(&server, &agent, "viennoiseries", 1);
    for _ in 0..600 {
        let a = get(&url("/search?q=gommes"), &agent).json();
        if a["hits"][0]["title"] == "Facture fournitures scolaires" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    t.http("GET /search boulangerie", get(&url("/search?q=boulangerie"), &agent));
    t.http(
        "GET /search facture node",
        get(&url("/search?q=facture&node=FIN-FAC"), &agent),
    );
    t.http(
        "GET /search dossier by an agent",
        get(&url("/search?q=nomination"), &agent),
    );
    t.http(
        "GET /search dossier by the archivist",
        get(&url("/search?q=nomination"), &archivist),
    );
    t.http(
        "GET /search punctuation",
        get(&url("/search?q=%28viennoiseries"), &agent),
    );
    t.http("GET /search bad query", get(&url("/search?q=nosuchfield%3Ax"), &agent));
    t.http(
        "GET /search offset too deep",
        get(&url("/search?q=x&offset=149318105524"), &agent),
    );
    t.http("GET /search bad limit", get(&url("/search?q=x&limit=abc"), &agent));

    // The plan.
    t.http("GET /plan", get(&url("/plan"), &agent));
    t.http("GET /plan/versions", get(&url("/plan/versions"), &agent));
    let plan_text = include_str!("../../retention-policies/communes-fr.toml");
    t.http(
        "POST /plan/validate",
        request(
            "POST",
            &url("/plan/validate"),
            &archivist,
            &[],
            Some(("application/toml", plan_text.as_bytes())),
        )
        .unwrap(),
    );
    t.http(
        "POST /plan/validate invalid",
        request(
            "POST",
            &url("/plan/validate"),
            &archivist,
            &[],
            Some(("application/toml", b"[[rules]]\nid = 3\n")),
        )
        .unwrap(),
    );
    t.http("PUT /plan dry run", put_plan(&server, &archivist, plan_text, true));
    let shorter = plan_text.replacen(
        "duration = \"P10Y\"\nstart = \"date\"",
        "duration = \"P9Y\"\nstart = \"date\"",
        1,
    );
    t.http("PUT /plan shortening", put_plan(&server, &archivist, &shorter, false));
    t.http("PUT /plan by an agent", put_plan(&server, &agent, plan_text, false));

    // Retention and holds.
    t.http("GET /retention/due", get(&url("/retention/due"), &archivist));
    t.http(
        "GET /retention/due?at=2014-06-01",
        get(&url("/retention/due?at=2014-06-01"), &archivist),
    );
    t.http(
        "GET /retention/due?at=bad",
        get(&url("/retention/due?at=bad"), &archivist),
    );
    t.http(
        "POST /retention/events",
        post_json(
            &url("/retention/events"),
            &archivist,
            &json!({"name": "notification", "date": "2014-03-01", "node": "MAR-OFF"}),
        ),
    );
    t.http(
        "POST /records/{ref}/events",
        post_json(
            &url(&format!("/records/{offre}/events")),
            &archivist,
            &json!({"name": "notification", "date": "2014-03-02"}),
        ),
    );
    t.http(
        "POST /records/{ref}/review",
        post_json(
            &url(&format!("/records/{temporaire}/review")),
            &archivist,
            &json!({"decision": "destroy", "reason": "sans intérêt historique"}),
        ),
    );
    t.http(
        "POST /records/{ref}/review bad decision",
        post_json(
            &url(&format!("/records/{temporaire}/review")),
            &archivist,
            &json!({"decision": "maybe", "reason": "?"}),
        ),
    );
    let hold = t.http(
        "POST /holds record",
        post_json(
            &url("/holds"),
            &archivist,
            &json!({"record": second, "reason": "contentieux fournisseur", "review": "2030-01-01"}),
        ),
    );
    let hold = hold.json()["id"].as_u64().unwrap();
    t.http(
        "POST /holds node",
        post_json(
            &url("/holds"),
            &archivist,
            &json!({"node": "RH", "reason": "contrôle de la chambre régionale"}),
        ),
    );
    t.http(
        "POST /holds without reason",
        post_json(&url("/holds"), &archivist, &json!({"node": "RH"})),
    );
    t.http("GET /holds", get(&url("/holds"), &archivist));
    t.http(
        "PATCH /records/{ref} held",
        send(
            "PATCH",
            &url(&format!("/records/{second}")),
            &archivist,
            Some(json!({"title": "x", "reason": "y"})),
        ),
    );

    // A disposal, held line and all.
    t.http(
        "POST /disposals by an agent",
        post_json(&url("/disposals"), &agent, &json!({})),
    );
    t.http(
        "POST /disposals keep record",
        post_json(&url("/disposals"), &archivist, &json!({"records": [deliberation]})),
    );
    let proposal = t.http(
        "POST /disposals",
        post_json(&url("/disposals"), &archivist, &json!({"node": "FIN"})),
    );
    let disposal = proposal.json()["id"].as_u64().unwrap();
    t.http("GET /disposals", get(&url("/disposals"), &archivist));
    t.http(
        "GET /disposals/{id}",
        get(&url(&format!("/disposals/{disposal}")), &archivist),
    );
    t.http("GET /disposals/999", get(&url("/disposals/999"), &archivist));
    t.http(
        "GET /disposals/{id}/bordereau",
        get(&url(&format!("/disposals/{disposal}/bordereau")), &archivist),
    );
    t.http(
        "GET /disposals/{id}/bordereau csv",
        get(&url(&format!("/disposals/{disposal}/bordereau?format=csv")), &archivist),
    );
    t.http(
        "GET /disposals/{id}/bordereau in a format it has not",
        get(&url(&format!("/disposals/{disposal}/bordereau?format=odt")), &archivist),
    );
    t.http(
        "POST /disposals/{id}/execute before the visa",
        post_json(&url(&format!("/disposals/{disposal}/execute")), &archivist, &json!({})),
    );
    t.http(
        "GET /disposals/{id}/certificate before execution",
        get(&url(&format!("/disposals/{disposal}/certificate")), &archivist),
    );
    t.http(
        "POST /disposals/{id}/approve without visa",
        post_json(
            &url(&format!("/disposals/{disposal}/approve")),
            &archivist,
            &json!({"signer": "x"}),
        ),
    );
    t.http(
        "POST /disposals/{id}/approve dated before the proposal",
        post_json(
            &url(&format!("/disposals/{disposal}/approve")),
            &archivist,
            &json!({"visa": "AD-2026-117", "signer": "Directrice des Archives", "date": "2000-01-01"}),
        ),
    );
    t.http(
        "POST /disposals/{id}/approve",
        post_json(
            &url(&format!("/disposals/{disposal}/approve")),
            &archivist,
            &json!({"visa": "AD-2026-117", "signer": "Directrice des Archives"}),
        ),
    );
    t.http(
        "POST /disposals/{id}/approve again",
        post_json(
            &url(&format!("/disposals/{disposal}/approve")),
            &archivist,
            &json!({"visa": "AD-2026-118", "signer": "Directrice des Archives"}),
        ),
    );
    t.http(
        "POST /disposals/{id}/execute",
        post_json(&url(&format!("/disposals/{disposal}/execute")), &archivist, &json!({})),
    );
    t.http(
        "GET /disposals/{id}/certificate",
        get(&url(&format!("/disposals/{disposal}/certificate")), &archivist),
    );
    t.http(
        "GET /records/{ref} destroyed",
        get(&url(&format!("/records/{facture}")), &agent),
    );
    t.http(
        "GET /records/{ref}/content destroyed",
        get(&url(&format!("/records/{facture}/content")), &agent),
    );
    t.http(
        "POST /holds/{id}/lift",
        post_json(
            &url(&format!("/holds/{hold}/lift")),
            &archivist,
            &json!({"reason": "litige clos"}),
        ),
    );
    t.http(
        "POST /holds/{id}/lift again",
        post_json(
            &url(&format!("/holds/{hold}/lift")),
            &archivist,
            &json!({"reason": "litige clos"}),
        ),
    );
    t.http(
        "POST /holds/999/lift",
        post_json(&url("/holds/999/lift"), &archivist, &json!({"reason": "x"})),
    );

    // A transfer to the archives.
    let transfer = t.http(
        "POST /transfers",
        post_json(&url("/transfers"), &archivist, &json!({"node": "ADM-DEL"})),
    );
    let transfer = transfer.json()["id"].as_u64().unwrap();
    t.http("GET /transfers", get(&url("/transfers"), &archivist));
    t.http(
        "GET /transfers/{id}",
        get(&url(&format!("/transfers/{transfer}")), &archivist),
    );
    t.http("GET /transfers/999", get(&url("/transfers/999"), &archivist));
    t.http(
        "POST /transfers/{id}/acknowledge before export",
        post_json(
            &url(&format!("/transfers/{transfer}/acknowledge")),
            &archivist,
            &json!({"reference": "AD-VERS-1"}),
        ),
    );
    t.http(
        "POST /exports transfer",
        post_json(&url("/exports"), &archivist, &json!({"transfer": transfer})),
    );
    t.http(
        "POST /exports two selections",
        post_json(&url("/exports"), &archivist, &json!({"node": "FIN", "query": "x"})),
    );
    t.http(
        "POST /transfers/{id}/acknowledge",
        post_json(
            &url(&format!("/transfers/{transfer}/acknowledge")),
            &archivist,
            &json!({"reference": "AD-VERS-1", "date": "2026-11-25", "signer": "Archives départementales"}),
        ),
    );
    t.http(
        "GET /records/{ref} transferred",
        get(&url(&format!("/records/{deliberation}")), &agent),
    );

    // Evidence.
    t.http("POST /audit/seals", send("POST", &url("/audit/seals"), &auditor, None));
    t.http("GET /audit/seals", get(&url("/audit/seals"), &auditor));
    t.http("GET /audit/public-key", get(&url("/audit/public-key"), &auditor));
    t.http(
        "GET /audit/public-key pem",
        get(&url("/audit/public-key?format=pem"), &auditor),
    );
    t.http(
        "GET /audit/public-key bad format",
        get(&url("/audit/public-key?format=x"), &auditor),
    );
    t.http(
        "GET /audit/proof/{ref}",
        get(&url(&format!("/audit/proof/{second}")), &agent),
    );
    t.http(
        "GET /audit/consistency",
        get(&url("/audit/consistency?from=3&to=10"), &auditor),
    );
    t.http(
        "GET /audit/consistency by an agent",
        get(&url("/audit/consistency?from=3&to=10"), &agent),
    );
    t.http(
        "GET /records/{ref}/attestation",
        get(&url(&format!("/records/{second}/attestation")), &agent),
    );
    t.http(
        "GET /records/{ref}/attestation html",
        get(&url(&format!("/records/{second}/attestation?format=html")), &agent),
    );
    t.http(
        "GET /audit/events?after=40",
        get(&url("/audit/events?after=40"), &auditor),
    );
    t.http("GET /audit/events by an agent", get(&url("/audit/events"), &agent));
    let started = t.http(
        "POST /audit/verify",
        send("POST", &url("/audit/verify"), &auditor, None),
    );
    let job = started.json()["job"].as_u64().unwrap();
    let mut finished = None;
    for _ in 0..600 {
        let a = get(&url(&format!("/audit/verify/{job}")), &auditor);
        if a.json()["status"] != "running" {
            finished = Some(a);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    t.http("GET /audit/verify/{job}", finished.expect("verification ends"));
    t.http("GET /audit/verify/999", get(&url("/audit/verify/999"), &auditor));
    t.http("GET /audit/fixity", get(&url("/audit/fixity"), &auditor));
    t.http(
        "POST /audit/fixity/pause",
        send("POST", &url("/audit/fixity/pause"), &auditor, None),
    );
    t.http(
        "POST /audit/fixity/resume",
        send("POST", &url("/audit/fixity/resume"), &auditor, None),
    );
    t.http("GET /stats agent", get(&url("/stats"), &agent));
    t.http("GET /stats admin", get(&url("/stats"), &admin));
    t.http("GET /nowhere", get(&url("/nowhere"), &agent));
    server.stop();

    // The command line, on the stopped server's data directory.
    let file = tmp.path().join("mandat.txt");
    std::fs::write(&file, "Mandat de paiement n° 12 pour la facture de la boulangerie.").unwrap();
    let file = file.to_string_lossy().into_owned();
    t.cli(
        &data,
        &["ingest", &file, "--node", "FIN-MAN", "--date", "2020-02-02", "--json"],
    );
    t.cli(&data, &["ingest", &file, "--node", "NOPE", "--json"]);
    t.cli(&data, &["show", &second, "--json"]);
    t.cli(&data, &["show", "NOPE-1", "--json"]);
    t.cli(&data, &["search", "fournitures", "--json"]);
    t.cli(&data, &["search", "(fournitures", "--json"]);
    t.cli(&data, &["plan", "versions", "--json"]);
    t.cli(&data, &["retention", "due", "--at", "2030-01-01", "--json"]);
    t.cli(&data, &["hold", "list", "--json"]);
    t.cli(&data, &["disposal", "list", "--json"]);
    t.cli(&data, &["disposal", "execute", "999", "--json"]);
    t.cli(&data, &["transfer", "list", "--json"]);
    t.cli(&data, &["audit", "seals", "--json"]);
    t.cli(&data, &["audit", "fixity", "--json"]);
    t.cli(&data, &["audit", "log", "--after", "45", "--json"]);
    t.cli(&data, &["audit", "verify", "--json"]);
    t.cli(&data, &["audit", "proof", &dossier]);
    t.cli(&data, &["token", "create", "--role", "king", "--name", "x"]);
    let package = tmp.path().join("rh.zip");
    let package = package.to_string_lossy().into_owned();
    t.cli(&data, &["export", "--node", "RH", "-o", &package, "--json"]);
    t.cli(&data, &["verify-package", &package, "--json"]);
    let elsewhere = tmp.path().join("elsewhere");
    init(&elsewhere);
    t.cli(&elsewhere, &["audit", "consistency", "--from", "1"]);
    t.cli(&elsewhere, &["import", &package, "--dry-run", "--json"]);
    t.cli(&elsewhere, &["import", &package, "--json"]);
    t.cli(&elsewhere, &["import", &package, "--json"]);
    let plan_file = tmp.path().join("plan.toml");
    std::fs::write(&plan_file, "[[rules]]\nid = 3\n").unwrap();
    t.cli(&data, &["plan", "check", &plan_file.to_string_lossy(), "--json"]);

    assert_statuses_are_declared(&spec, &t.statuses);
    let journal = journal_text(&mut t.norm, &data);
    let openapi = t.norm.text(&openapi);
    insta::assert_snapshot!("http_answers", t.http);
    insta::assert_snapshot!("cli_outputs", t.cli);
    insta::assert_snapshot!("journal", journal);
    insta::assert_snapshot!("openapi", openapi);
}

/// The operation of the OpenAPI document that serves `method` `path`: its
/// path template, and its object.
fn operation<'a>(spec: &'a serde_json::Value, method: &str, path: &str) -> Option<(&'a str, &'a serde_json::Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    spec["paths"].as_object()?.iter().find_map(|(template, item)| {
        let parts: Vec<&str> = template.split('/').collect();
        let fits = parts.len() == segments.len()
            && parts
                .iter()
                .zip(&segments)
                .all(|(p, s)| p == s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty()));
        let op = item.get(method.to_lowercase())?;
        fits.then_some((template.as_str(), op))
    })
}

/// Every answer of the scenario has its status declared by its operation
/// in the served OpenAPI document, and every route answered is in it (an
/// honest document: a generated client knows every answer it may get).
fn assert_statuses_are_declared(spec: &serde_json::Value, statuses: &[(String, String, u16)]) {
    let mut undeclared = std::collections::BTreeSet::new();
    for (method, path, status) in statuses {
        if path == "/healthz" || !(path.starts_with("/api/") || path == "/metrics") {
            continue;
        }
        match operation(spec, method, path) {
            // The scenario asks for a path nobody serves on purpose.
            None if *status == 404 => {}
            None => {
                undeclared.insert(format!("{method} {path}: no operation in the document"));
            }
            Some((template, op)) => {
                if op["responses"].get(status.to_string()).is_none() {
                    undeclared.insert(format!("{method} {template}: {status}"));
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "answers the OpenAPI document does not declare:\n{}",
        undeclared.into_iter().collect::<Vec<_>>().join("\n")
    );
}
