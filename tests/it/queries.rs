//! Search as people type it: a hundred real French queries with
//! apostrophes, colons, slashes, parentheses and quotes all answer 200;
//! any text answers 200 or 400, never a 5xx; a misused operator is a 400
//! in French saying where and how; every bound (`limit`, `offset`, the
//! query's length, nesting and terms) is a 400 `limit_exceeded`, and the
//! server stays up.

use crate::common::*;
use proptest::prelude::*;
use serde_json::json;

/// Queries as agents of a commune type them, punctuation and all.
const FRENCH_QUERIES: &[&str] = &[
    "convertir l'encodage",
    "utilitaire d'archivage",
    "l'heure du système",
    "utilitaire d’archivage",
    "l’état des lieux",
    "Objet : facture",
    "objet: réfection de la toiture",
    "factures 2024/03",
    "mandat n° 2024-0042",
    "délibération n°12/2024",
    "DCM du 12/03/2024",
    "arrêté (circulation)",
    "arrêté (circulation",
    "arrêté circulation)",
    "\"budget primitif",
    "budget primitif\"",
    "« budget primitif »",
    "“compte administratif”",
    "qu'est-ce qu'un mandat ?",
    "où est la facture de la boulangerie ?",
    "facture boulangerie !",
    "facture ; boulangerie",
    "facture, boulangerie, pâtisserie",
    "M. Dupont & Fils",
    "SARL Dupain & Cie",
    "Dupain-Martin",
    "rendez-vous à 10:30",
    "réunion 14h30",
    "TVA 20 %",
    "1 200,00 €",
    "1200.50 EUR",
    "montant > 1000",
    "montant < 500",
    "coût = 300",
    "a/b/c",
    "C:\\Documents\\factures",
    "https://www.service-public.fr/particuliers",
    "mairie@commune.fr",
    "#urgent",
    "@maire",
    "facture*",
    "fact?re",
    "chauffage~",
    "école^2",
    "{devis}",
    "[devis]",
    "devis]",
    "[devis",
    "-",
    "+",
    "--",
    "- facture",
    "facture -",
    "OR",
    "AND",
    "NOT",
    "facture OR",
    "OR facture",
    "facture AND",
    "facture AND (",
    "NOT NOT facture",
    "((facture))",
    "(((",
    ")))",
    "\"\"",
    "''",
    "'",
    "’",
    "l'",
    "d'",
    "aujourd'hui",
    "presqu'île",
    "entr'ouvert",
    "c'est-à-dire",
    "peut-être",
    "porte-monnaie",
    "Saint-Étienne-du-Rouvray",
    "Île-de-France",
    "Œuvres sociales",
    "cœur de ville",
    "ÉCOLE MATERNELLE",
    "ecole maternelle",
    "élection municipale 2020",
    "P.V. du conseil",
    "C.C.A.S.",
    "S.I.R.E.T. 123 456 789 00012",
    "FR76 3000 6000 0112 3456 7890 189",
    "facture FA-2024-00123",
    "n°FA-2024-00123",
    "réf. : 2024/DGS/015",
    "art. L2121-29 du CGCT",
    "article L. 2122-22",
    "loi n° 2018-1021 du 23 novembre 2018",
    "décret 2016-360",
    "budget 2024 : investissement",
    "vote à main levée : pour 15, contre 2",
    "subvention ... association",
    "subvention… association",
    "‹facture›",
    "facture\tboulangerie",
    "facture\nboulangerie",
    "   ",
    "",
    "titre: budget",
    "type:facture boulangerie",
    "nœud:FIN facture",
    "date:2024",
    "date:[2012 TO 2013]",
];

/// Deposits `text` with `metadata`; returns the record's reference.
fn put_record(server: &Server, token: &str, text: &str, metadata: serde_json::Value) -> String {
    created(deposit(server, token, text.as_bytes(), "piece.txt", &metadata).unwrap())["reference"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Waits until a search for everything finds `total` records: the indexer
/// follows the journal from behind.
fn wait_for_total(server: &Server, token: &str, total: u64) {
    for _ in 0..600 {
        if get(&server.url("/api/v1/search?q="), token).json()["total"] == total {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the index never held {total} records:\n{}", server.log_text());
}

struct Site {
    server: Server,
    token: String,
    _fresh: Fresh,
}

fn site() -> Site {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let token = new_token(&server, &fresh.token, "agent", "guichet");
    for (text, meta) in [
        (
            "Facture de la boulangerie Dupain : pain et viennoiseries pour l'école.",
            json!({"node": "FIN-FAC", "date": "2012-03-15", "title": "Facture boulangerie"}),
        ),
        (
            "Délibération n° 2013-004 : le conseil municipal approuve le budget primitif.",
            json!({"node": "ADM-DEL", "date": "2013-01-10", "title": "Budget primitif"}),
        ),
    ] {
        put_record(&server, &token, text, meta);
    }
    wait_for_total(&server, &token, 2);
    Site {
        server,
        token,
        _fresh: fresh,
    }
}

fn search(site: &Site, params: &str) -> Answer {
    get(&site.server.url(&format!("/api/v1/search?{params}")), &site.token)
}

#[test]
fn a_hundred_real_french_queries_with_punctuation_all_answer() {
    assert!(FRENCH_QUERIES.len() >= 100, "{} queries", FRENCH_QUERIES.len());
    let site = site();
    for q in FRENCH_QUERIES {
        let a = search(&site, &format!("q={}", url_encode(q)));
        assert_eq!(a.status, 200, "{q:?}: {}", String::from_utf8_lossy(&a.body));
    }
    // And they find what they mean.
    for (q, title) in [
        ("pain pour l'école", "Facture boulangerie"),
        ("Facture : boulangerie", "Facture boulangerie"),
        ("délibération n° 2013-004", "Budget primitif"),
        ("« budget primitif »", "Budget primitif"),
        ("budget (primitif", "Budget primitif"),
    ] {
        let a = search(&site, &format!("q={}", url_encode(q))).json();
        assert_eq!(a["hits"][0]["title"], title, "{q:?}: {a}");
    }
}

#[test]
fn misused_operators_are_refused_in_french_saying_where_and_how() {
    let site = site();
    for (q, says) in [
        ("facture nosuchfield:x", "« nosuchfield » (caractère 9) n'existe pas"),
        ("date:[2020 TO", "n'est pas fermé"),
        ("date:hier", "n'est pas une date"),
    ] {
        let a = search(&site, &format!("q={}", url_encode(q)));
        assert_eq!(a.status, 400, "{q:?}");
        assert_eq!(a.error_code(), "invalid_query", "{q:?}");
        let message = a.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
        assert!(message.contains(says), "{q:?}: {message}");
        assert!(!message.contains("tantivy") && !message.contains("Syntax"), "{message}");
    }
    // A misspelt node is named, with the ones there are.
    let a = search(&site, "q=facture&node=FIN-FCA");
    assert_eq!((a.status, a.error_code().as_str()), (400, "invalid_query"));
    let message = a.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("« FIN-FCA »") && message.contains("FIN-FAC"),
        "{message}"
    );
    // References are found whatever their case, and by prefix.
    let reference = |q: &str| {
        let a = search(&site, &format!("q={}", url_encode(q))).json();
        a["hits"][0]["reference"].as_str().unwrap_or_default().to_owned()
    };
    assert_eq!(reference("fin-fac-2012-000001"), "FIN-FAC-2012-000001");
    assert_eq!(reference("fin-fac-2012"), "FIN-FAC-2012-000001");
    assert_eq!(reference("ref:adm-del"), "ADM-DEL-2013-000001");
    // Facets and hits name each node with its title and path in the plan.
    let a = search(&site, "q=budget").json();
    assert_eq!(a["hits"][0]["node_title"], "Délibérations du conseil municipal", "{a}");
    assert_eq!(
        a["facet_nodes"],
        json!([{"code": "ADM-DEL", "title": "Délibérations du conseil municipal", "path": ["ADM", "ADM-DEL"], "count": 1}])
    );
}

#[test]
fn every_bound_is_a_400_and_the_server_stays_up() {
    let site = site();
    let deep = format!("{}facture{}", "(".repeat(2100), ")".repeat(2100));
    let nested = format!("{}facture", "(".repeat(20));
    let many = vec!["mot"; 100].join(" ");
    for params in [
        "q=x&offset=149318105524".to_owned(),
        "q=x&offset=4000000000".to_owned(),
        "q=x&offset=1000000000&sort=date".to_owned(),
        "q=&offset=4611686018427387904".to_owned(),
        "q=x&offset=9990&limit=20".to_owned(),
        "q=x&limit=1001".to_owned(),
        format!("q={}", url_encode(&deep)),
        format!("q={}", url_encode(&nested)),
        format!("q={}", url_encode(&many)),
    ] {
        let a = search(&site, &params);
        assert_eq!(
            a.status,
            400,
            "{}: {}",
            &params[..params.len().min(60)],
            String::from_utf8_lossy(&a.body)
        );
        assert_eq!(a.error_code(), "limit_exceeded", "{}", &params[..params.len().min(60)]);
    }
    for params in ["q=x&offset=-1", "q=x&offset=1e30", "q=x&limit=abc"] {
        assert_eq!(search(&site, params).status, 400, "{params}");
    }
    // Still up, still answering.
    let a = search(&site, "q=boulangerie");
    assert_eq!((a.status, a.json()["total"].as_u64()), (200, Some(1)));
    // Through exports and holds, the same query reading.
    let archivist = new_token(&site.server, &site._fresh.token, "archivist", "archives");
    let hold = post_json(
        &site.server.url("/api/v1/holds"),
        &archivist,
        &json!({"query": nested, "reason": "contentieux"}),
    );
    assert_eq!((hold.status, hold.error_code().as_str()), (400, "limit_exceeded"));
    let export = post_json(&site.server.url("/api/v1/exports"), &archivist, &json!({"query": deep}));
    assert_eq!((export.status, export.error_code().as_str()), (400, "limit_exceeded"));
}

/// Deep pages go by cursor: each page's `next`, passed back as `after`,
/// gives the page right after it, in every order, until the last; a cursor
/// from another search, or with an offset, is a 400 `invalid_query`.
#[test]
fn deep_pages_follow_each_other_by_cursor() {
    let site = site();
    for n in 0..23 {
        put_record(
            &site.server,
            &site.token,
            &format!("Facture de chauffage, lot {}.", n % 3),
            json!({"node": "FIN-FAC", "date": format!("2024-0{}-1{}", 1 + n % 4, n % 2), "title": "Facture chauffage"}),
        );
    }
    wait_for_total(&site.server, &site.token, 25);
    for sort in ["relevance", "date", "date_asc"] {
        let one = search(&site, &format!("q=chauffage&limit=100&sort={sort}")).json();
        let everything: Vec<String> = one["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(everything.len(), 23, "{one}");
        assert_eq!(
            one["next"],
            serde_json::Value::Null,
            "a page that is not full ends the search"
        );
        let mut paged = Vec::new();
        let mut after = String::new();
        for _ in 0..10 {
            let a = search(
                &site,
                &format!("q=chauffage&limit=5&sort={sort}&after={}", url_encode(&after)),
            );
            assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
            let page = a.json();
            assert_eq!(page["total"], 23);
            assert_eq!(page["partial"], false);
            paged.extend(
                page["hits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|h| h["id"].as_str().unwrap().to_owned()),
            );
            match page["next"].as_str() {
                Some(next) => after = next.to_owned(),
                None => break,
            }
        }
        assert_eq!(paged, everything, "{sort}");
    }
    let first = search(&site, "q=chauffage&limit=5").json();
    let next = first["next"].as_str().unwrap();
    for params in [
        format!("q=boulangerie&limit=5&after={}", url_encode(next)),
        format!("q=chauffage&limit=5&sort=date&after={}", url_encode(next)),
        format!("q=chauffage&limit=5&offset=5&after={}", url_encode(next)),
        "q=chauffage&after=n%27importe%20quoi".to_owned(),
    ] {
        let a = search(&site, &params);
        assert_eq!((a.status, a.error_code().as_str()), (400, "invalid_query"), "{params}");
        assert!(
            a.json()["error"]["message"].as_str().unwrap().contains("after"),
            "{params}"
        );
    }
}

/// Any text up to 1,000 characters answers 200 or 400, never a 5xx.
#[test]
fn any_text_answers_200_or_400() {
    let site = site();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(64));
    let outcome = runner.run(&"\\PC{0,1000}", |text| {
        let a = search(&site, &format!("q={}", url_encode(&text)));
        prop_assert!(
            a.status == 200 || a.status == 400,
            "{}: {}",
            a.status,
            String::from_utf8_lossy(&a.body)
        );
        Ok(())
    });
    if let Err(e) = outcome {
        panic!("{e}\n{}", site.server.log_text());
    }
}

#[test]
fn several_words_find_documents_holding_most_of_them_best_first() {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let token = new_token(&server, &fresh.token, "agent", "guichet");
    let put = |text: &str, title: &str| {
        put_record(
            &server,
            &token,
            text,
            json!({"node": "FIN-FAC", "date": "2024-03-15", "title": title}),
        )
    };
    let all_three = put("Réparation du chauffage de la piscine municipale.", "Travaux");
    let two = put("Réparation du chauffage de la salle des fêtes.", "Entretien");
    let one = put("Réparation de la toiture.", "Toiture");
    wait_for_total(&server, &token, 3);
    let found = get(
        &server.url(&format!(
            "/api/v1/search?q={}",
            url_encode("réparation chauffage piscine")
        )),
        &token,
    )
    .json();
    let refs: Vec<&str> = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [all_three.as_str(), two.as_str()], "{found}");
    assert!(!refs.contains(&one.as_str()));
    // Two words are both required.
    let both = get(
        &server.url(&format!("/api/v1/search?q={}", url_encode("chauffage piscine"))),
        &token,
    )
    .json();
    assert_eq!(both["total"], 1, "{both}");
}

#[test]
fn synonyms_from_the_plan_apply_at_once_without_reindexing() {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let archivist = new_token(&server, &fresh.token, "archivist", "archives");
    let reference = put_record(
        &server,
        &archivist,
        "Délibération du conseil municipal approuvant le plan local d'urbanisme.",
        json!({"node": "ADM-DEL", "date": "2024-03-15", "title": "Approbation"}),
    );
    let total = |q: &str| {
        get(&server.url(&format!("/api/v1/search?q={}", url_encode(q))), &archivist).json()["total"]
            .as_u64()
            .unwrap_or(0)
    };
    wait_for_total(&server, &archivist, 1);
    // The default plan's synonyms: DCM stands for the words it abbreviates.
    assert_eq!(total("DCM"), 1);
    assert_eq!(total("PLU"), 0);
    // A synonym the archivists add with a new plan version: found at once.
    let plan = include_str!("../../retention-policies/communes-fr.toml").replacen(
        "[[synonyms]]",
        "[[synonyms]]\nterms = [\"PLU\", \"plan local d'urbanisme\"]\n\n[[synonyms]]",
        1,
    );
    let published = put_plan(&server, &archivist, &plan, false);
    assert_eq!(published.status, 200, "{}", String::from_utf8_lossy(&published.body));
    let found = get(&server.url("/api/v1/search?q=PLU"), &archivist).json();
    assert_eq!(hit_refs(&found), [reference], "{found}");
}

#[test]
fn a_query_that_finds_little_proposes_the_words_the_archive_holds() {
    let site = site();
    let a = search(&site, &format!("q={}", url_encode("boulangrie viennoiserie"))).json();
    // « viennoiserie » is held: a text holds « viennoiseries », of the same
    // stem, which a search for it finds; only the typo is corrected.
    assert_eq!(a["did_you_mean"], "boulangerie viennoiserie", "{a}");
    let a = search(&site, &format!("q={}", url_encode("boulangerie viennoisreies"))).json();
    assert_eq!(a["did_you_mean"], "boulangerie viennoiseries", "{a}");
    let a = search(&site, &format!("q={}", url_encode("boulangerie"))).json();
    assert_eq!(a["did_you_mean"], serde_json::Value::Null, "{a}");
}

#[test]
fn words_written_together_lift_a_record() {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let token = new_token(&server, &fresh.token, "agent", "guichet");
    let put = |text: &str| {
        put_record(
            &server,
            &token,
            text,
            json!({"node": "FIN-FAC", "date": "2024-03-15", "title": "Pièce"}),
        )
    };
    // The same words, as often; together in one, scattered in the other.
    let scattered = put(
        "Chauffage : devis reçu en mars. Toiture : contrôle fait en avril. Piscine : vidange prévue en mai. Municipale ou pas, la question reste posée.",
    );
    let together = put(
        "Devis reçu en mars pour le chauffage piscine municipale. Toiture : contrôle fait en avril. Vidange prévue en mai. La question reste posée ou pas.",
    );
    wait_for_total(&server, &token, 2);
    let found = get(
        &server.url(&format!(
            "/api/v1/search?q={}",
            url_encode("chauffage piscine municipale")
        )),
        &token,
    )
    .json();
    assert_eq!(hit_refs(&found).len(), 2, "{found}");
    assert_eq!(found["hits"][0]["reference"], together.as_str(), "{found}");
    assert_eq!(found["hits"][1]["reference"], scattered.as_str(), "{found}");
}

#[test]
fn the_plans_fields_are_searched_by_name_with_ranges_on_amounts() {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let token = new_token(&server, &fresh.token, "agent", "guichet");
    let invoice = put_record(
        &server,
        &token,
        "Facture de pain et viennoiseries.",
        json!({"node": "FIN-FAC", "date": "2024-03-15", "title": "Facture",
               "fields": {"fournisseur": "Boulangerie Dupain", "numero_facture": "FA-2024-00123", "montant_ttc": "1200.50"}}),
    );
    put_record(
        &server,
        &token,
        "Facture de fournitures.",
        json!({"node": "FIN-FAC", "date": "2024-03-16", "title": "Facture",
               "fields": {"fournisseur": "Papeterie Martin", "montant_ttc": "80.00"}}),
    );
    let found = |q: &str| {
        let a = get(&server.url(&format!("/api/v1/search?q={}", url_encode(q))), &token);
        assert_eq!(a.status, 200, "{q}: {}", String::from_utf8_lossy(&a.body));
        hit_refs(&a.json())
    };
    wait_for_total(&server, &token, 2);
    assert_eq!(found("fournisseur:Dupain"), [invoice.as_str()]);
    assert_eq!(found("numero_facture:FA-2024-00123"), [invoice.as_str()]);
    assert_eq!(found("montant_ttc:[1000 TO 5000]"), [invoice.as_str()]);
    assert_eq!(found("facture montant_ttc:[* TO 100]").len(), 1);
    let a = get(
        &server.url(&format!(
            "/api/v1/search?q={}",
            url_encode("tva_intracommunautaire:123")
        )),
        &token,
    );
    assert_eq!((a.status, a.error_code().as_str()), (400, "invalid_query"));
    let message = a.json()["error"]["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("fournisseur") && message.contains("montant_ttc"),
        "{message}"
    );
}
