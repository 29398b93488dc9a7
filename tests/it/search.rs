//! Full-text search in French over HTTP and the CLI: the index is a view
//! that follows the journal, survives kill -9 and can be rebuilt.

use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// Short French documents: (file name, node, date, content).
const CORPUS: &[(&str, &str, &str, &str)] = &[
    (
        "deliberation-1.txt",
        "ADM-DEL",
        "2024-02-12",
        "Le conseil municipal adopte les délibérations relatives au budget.",
    ),
    (
        "deliberation-2.txt",
        "ADM-DEL",
        "2024-05-03",
        "DÉLIBÉRATIONS DU CONSEIL : rénovation de l'école maternelle.",
    ),
    (
        "deliberation-3.html",
        "ADM-DEL",
        "2023-11-20",
        "<html><body><h1>Deliberation</h1><p>Vote de la subvention au club de football.</p><script>alert('x')</script></body></html>",
    ),
    (
        "arrete-1.txt",
        "ADM-ARR",
        "2024-07-01",
        "Arrêté du maire portant interdiction de stationner place de la mairie.",
    ),
    (
        "facture-1.txt",
        "FIN-FAC",
        "2025-01-15",
        "Facture n° 2025-0042 : fournitures scolaires pour l'école Jules Ferry. Montant 1 234,56 €.",
    ),
    (
        "facture-2.html",
        "FIN-FAC",
        "2025-03-02",
        "<p>Facture de chauffage du gymnase &lt;urgent&gt; &amp; maintenance.</p>",
    ),
    (
        "mandat-1.txt",
        "FIN-MAN",
        "2025-03-10",
        "Mandat de paiement de la facture de chauffage du gymnase.",
    ),
    (
        "marche-1.txt",
        "MAR-OFF",
        "2022-09-14",
        "Offre non retenue pour le marché de restauration scolaire.",
    ),
    (
        "agent-1.txt",
        "RH-DOS",
        "2021-04-01",
        "Dossier individuel : arrêté de nomination, contrat, évaluation annuelle.",
    ),
    (
        "lettre-1.txt",
        "ADM-ARR",
        "2024-10-10",
        "Courrier aux parents d'élèves concernant la cantine de l'école.",
    ),
];

fn search(server: &Server, token: &str, query: &str) -> Value {
    let q: String = query
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let a = get(
        &server.url(&format!("/api/v1/search?{}", q.replace("%3D", "=").replace("%26", "&"))),
        token,
    );
    assert_eq!(a.status, 200, "{query}: {}", String::from_utf8_lossy(&a.body));
    a.json()
}

/// Waits until the index has caught up with `expected` records.
fn wait_indexed(server: &Server, token: &str, expected: u64) {
    for _ in 0..300 {
        if search(server, token, "q=")["total"].as_u64() == Some(expected) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!(
        "the index never reached {expected} records (last total {:?}); server log:\n{}",
        search(server, token, "q=")["total"],
        server.log_text()
    );
}

fn deposit_corpus(server: &Server, token: &str) -> Vec<String> {
    CORPUS
        .iter()
        .map(|(name, node, date, content)| {
            let a = deposit(
                server,
                token,
                content.as_bytes(),
                name,
                &json!({"node": node, "date": date, "title": name, "type": match *node {
                    "FIN-FAC" => Some("Facture"),
                    "ADM-DEL" => Some("Délibération"),
                    _ => None,
                },
                // What the plan requires of market and personnel files.
                "fields": {"marche": "M-2024-07", "matricule": "A-0042", "birth_date": "1975-04-02"}}),
            )
            .unwrap();
            assert_eq!(a.status, 201);
            a.json()["reference"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// A fresh archive serving the corpus, indexed: its folder, the server,
/// the admin token and the references in corpus order.
fn indexed_corpus() -> (tempfile::TempDir, Server, String, Vec<String>) {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let r = deposit_corpus(&server, &token);
    wait_indexed(&server, &token, CORPUS.len() as u64);
    (tmp, server, token, r)
}

#[test]
fn french_queries_filters_facets_and_snippets() {
    let (tmp, server, token, r) = indexed_corpus();
    let data = tmp.path().join("data");

    // Plurals, capitals, missing accents, elisions.
    let mut deliberations = vec![r[0].clone(), r[1].clone(), r[2].clone()];
    deliberations.sort();
    for q in ["délibération", "deliberation", "DÉLIBÉRATIONS", "Délibérations"] {
        assert_eq!(
            hit_refs(&search(&server, &token, &format!("q={q}"))),
            deliberations,
            "{q}"
        );
    }
    let ecole = search(&server, &token, "q=école");
    assert_eq!(hit_refs(&ecole), {
        let mut v = vec![r[1].clone(), r[4].clone(), r[9].clone()];
        v.sort();
        v
    });
    assert_eq!(hit_refs(&search(&server, &token, "q=ecoles")), hit_refs(&ecole));
    // Conjugations meet: "adopter" finds "adopte".
    assert_eq!(hit_refs(&search(&server, &token, "q=adopter")), vec![r[0].clone()]);
    // The document type filter, accents folded.
    let mut invoices = vec![r[4].clone(), r[5].clone()];
    invoices.sort();
    assert_eq!(hit_refs(&search(&server, &token, "q=type:facture")), invoices);
    assert_eq!(search(&server, &token, "q=type:deliberation")["total"], 3);
    // Phrase, exclusion, OR, field filter, date range, node parameter.
    assert_eq!(
        hit_refs(&search(&server, &token, "q=\"fournitures scolaires\"")),
        vec![r[4].clone()]
    );
    assert_eq!(
        hit_refs(&search(&server, &token, "q=chauffage -mandat")),
        vec![r[5].clone()]
    );
    assert_eq!(search(&server, &token, "q=football OR stationner")["total"], 2);
    assert_eq!(
        hit_refs(&search(&server, &token, "q=chauffage node:MAN")),
        vec![r[6].clone()]
    );
    assert_eq!(hit_refs(&search(&server, &token, "q=facture&node=FIN-FAC")), {
        let mut v = vec![r[4].clone(), r[5].clone()];
        v.sort();
        v
    });
    assert_eq!(
        hit_refs(&search(&server, &token, "q=délibération&from=2024-01-01&to=2024-12-31")),
        vec![r[0].clone(), r[1].clone()]
    );
    // Facets count matching records by node.
    let f = search(&server, &token, "q=facture");
    assert_eq!(f["facets"]["FIN-FAC"], 2);
    assert_eq!(f["facets"]["FIN-MAN"], 1);
    assert_eq!(f["total"], 3);
    // Snippets mark the matched words and escape the document's HTML.
    let s = search(&server, &token, "q=gymnase&node=FIN-FAC");
    let snippet = s["hits"][0]["snippet"].as_str().unwrap();
    assert!(snippet.contains("<b>gymnase</b>"), "{snippet}");
    assert!(
        snippet.contains("&lt;urgent&gt;") && !snippet.contains("<urgent>"),
        "{snippet}"
    );
    // HTML scripts are not text.
    assert_eq!(search(&server, &token, "q=alert")["total"], 0);
    // A one-letter typo still finds its document.
    let typo = search(&server, &token, "q=interdictoin");
    assert_eq!(hit_refs(&typo), vec![r[3].clone()]);
    assert_eq!(typo["fuzzy"], true);
    // Paging and sorting by date.
    let page = search(&server, &token, "q=&sort=date&limit=3&offset=1");
    assert_eq!(page["total"], CORPUS.len() as u64);
    let dates: Vec<&str> = page["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2025-03-02", "2025-01-15", "2024-10-10"]);
    // Misused operators are a 400 that says where, never a 500;
    // punctuation is words (tests/it/queries.rs tries a hundred such).
    for bad in ["q=date:[2020 TO", "q=nosuchfield:x", "q=date:hier"] {
        let a = get(
            &server.url(&format!(
                "/api/v1/search?{}",
                bad.replace(' ', "%20").replace('[', "%5B").replace('(', "%28")
            )),
            &token,
        );
        assert_eq!(a.status, 400, "{bad}: {}", String::from_utf8_lossy(&a.body));
        assert_eq!(a.error_code(), "invalid_query");
    }
    let a = get(&server.url("/api/v1/search?q=x&from=2025-13-01"), &token);
    assert_eq!(a.status, 422);
    server.stop();

    // The CLI finds the same.
    let o = cli(&data, &["search", "délibération", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut cli_refs: Vec<String> = stdout(&o)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["reference"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    cli_refs.sort();
    assert_eq!(cli_refs, deliberations);
}

#[test]
fn the_index_is_rebuilt_and_survives_sigkill() {
    let (tmp, server, token, r) = indexed_corpus();
    let data = tmp.path().join("data");
    let queries = [
        "q=délibération",
        "q=école",
        "q=facture&node=FIN-FAC",
        "q=\"fournitures scolaires\"",
        "q=stationer",
    ];
    let before: Vec<Value> = queries.iter().map(|q| search(&server, &token, q)).collect();
    server.stop();

    // Delete the index: it comes back with the same answers.
    std::fs::remove_dir_all(data.join("index")).unwrap();
    let server = Server::start(&data, &[]);
    wait_indexed(&server, &token, CORPUS.len() as u64);
    let after: Vec<Value> = queries.iter().map(|q| search(&server, &token, q)).collect();
    for (a, b) in before.iter().zip(&after) {
        assert_eq!(hit_refs(a), hit_refs(b));
        assert_eq!(a["facets"], b["facets"]);
    }

    // Many deposits, then kill -9 while the indexer is busy.
    let mut acked = r.clone();
    for i in 0..150 {
        let text = format!("Pièce justificative numéro {i} du dossier de subvention.");
        let a = deposit(
            &server,
            &token,
            text.as_bytes(),
            &format!("piece-{i}.txt"),
            &json!({"node": "FIN-MAN"}),
        )
        .unwrap();
        assert_eq!(a.status, 201);
        acked.push(a.json()["reference"].as_str().unwrap().to_owned());
    }
    server.kill9();
    let server = Server::start(&data, &[]);
    wait_indexed(&server, &token, acked.len() as u64);
    let all = search(&server, &token, &format!("q=&limit={}", acked.len()));
    let mut found = hit_refs(&all);
    let mut expected = acked.clone();
    expected.sort();
    found.dedup();
    assert_eq!(found, expected, "every acknowledged record is found exactly once");
    assert_eq!(search(&server, &token, "q=subvention&node=FIN-MAN")["total"], 150);
}
