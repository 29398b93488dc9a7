//! Plan files: the default plan passes `plan check`; fifteen broken plans,
//! each breaking one rule, fail with a message that names the problem and
//! its line.

use crate::common::*;
use serde_json::json;

const DEFAULT_PLAN: &str = include_str!("../../retention-policies/communes-fr.toml");

/// Breaks the default plan: replaces the first `from` by `to`.
fn broken(from: &str, to: &str) -> String {
    assert!(DEFAULT_PLAN.contains(from), "{from:?} is not in the default plan");
    DEFAULT_PLAN.replacen(from, to, 1)
}

/// The plan without its classification rules for `node`.
fn without_classify_rules_for(text: &str, node: &str) -> String {
    let marker = format!("node = \"{node}\"\n");
    let mut out = String::new();
    for (i, chunk) in text.split("[[classify]]\n").enumerate() {
        let (body, rest) = chunk.split_once("\n\n").unwrap_or((chunk, ""));
        if i == 0 {
            out.push_str(chunk);
        } else if body.contains(marker.trim_end()) {
            out.push_str(rest);
        } else {
            out.push_str(&format!("[[classify]]\n{body}\n\n{rest}"));
        }
    }
    out
}

/// The plan's text without its circuits (their tables, up to the ECB's
/// rates).
fn without_circuits(text: &str) -> String {
    match (text.find("[[circuits]]"), text.find("[[late_payment_rates]]")) {
        (Some(start), Some(end)) => format!("{}{}", &text[..start], &text[end..]),
        _ => text.to_owned(),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in the plan"));
    text[..at].matches('\n').count() + 1
}

#[test]
fn the_default_plan_passes_plan_check() {
    let tmp = tempfile::tempdir().unwrap();
    let o = cli(
        tmp.path(),
        &[
            "plan",
            "check",
            concat!(env!("CARGO_MANIFEST_DIR"), "/retention-policies/communes-fr.toml"),
        ],
    );
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("plan valide communes-fr"), "{}", stdout(&o));
}

#[test]
fn fifteen_broken_plans_each_fail_naming_the_problem_and_where() {
    // (what breaks, replaced, by, expected message fragment, text marking the expected line)
    let cases: &[(&str, &str, &str, &str, &str)] = &[
        (
            "unknown parent",
            "parent = \"ADM\"",
            "parent = \"ADMX\"",
            "no node has the code ADMX",
            "parent = \"ADMX\"",
        ),
        (
            "unknown rule",
            "rule = \"DELIBERATIONS\"",
            "rule = \"DELIB\"",
            "no rule has the id \"DELIB\"",
            "rule = \"DELIB\"",
        ),
        (
            "cycle",
            "code = \"ADM\"\n",
            "code = \"ADM\"\nparent = \"ADM-DEL\"\n",
            "cycle",
            "parent = \"ADM-DEL\"",
        ),
        (
            "duplicate code",
            "code = \"ADM-ARR\"",
            "code = \"ADM-DEL\"",
            "already used",
            "code = \"ADM-DEL\"\nparent = \"ADM\"\ntitle = \"Arrêtés",
        ),
        (
            "template names a missing field",
            "{title|slug|max:60}",
            "{dossier}",
            "{dossier}, a field this node does not have",
            "{dossier}",
        ),
        (
            "format the field cannot take",
            "reference = \"{node}-{year}-{seq:06}\"",
            "reference = \"{node}-{title:06}\"",
            "does not apply to title",
            "{title:06}",
        ),
        (
            "bad duration",
            "duration = \"P1Y\"",
            "duration = \"1 an\"",
            "\"1 an\" does not match",
            "\"1 an\"",
        ),
        (
            "bad start",
            "start = \"date\"",
            "start = \"signature\"",
            "\"signature\" does not match",
            "\"signature\"",
        ),
        (
            "bad final action",
            "final_action = \"keep\"",
            "final_action = \"archive\"",
            "\"archive\" is not one of",
            "\"archive\"",
        ),
        (
            "missing legal reference",
            "legal_reference = \"Instruction DAF/DPACI/RES/2009/018, administration générale : délibérations du conseil municipal, DUA 1 an, sort final C.\"\n",
            "",
            "\"legal_reference\" is a required property",
            "[[rules]]\nid = \"DELIBERATIONS\"",
        ),
        (
            "bad field type",
            "type = \"decimal\"",
            "type = \"money\"",
            "\"money\" does not match",
            "\"money\"",
        ),
        (
            "unknown key",
            "title = \"Factures\"\n",
            "title = \"Factures\"\ncolour = \"rouge\"\n",
            "colour",
            "colour = \"rouge\"",
        ),
        (
            "not TOML",
            "title = \"Factures\"\n",
            "title = \"Factures\n",
            "not valid TOML",
            "title = \"Factures\n",
        ),
        (
            "unknown template filter",
            "{title|slug|max:60}",
            "{title|shout}",
            "unknown filter \"shout\"",
            "{title|shout}",
        ),
        (
            "start field the node lacks",
            "name = \"birth_date\"",
            "name = \"naissance\"",
            "starts at the date field \"birth_date\"",
            "rule = \"DOSSIERS-AGENTS\"",
        ),
    ];
    assert_eq!(cases.len(), 15);
    let tmp = tempfile::tempdir().unwrap();
    for (what, from, to, message, marker) in cases {
        let text = broken(from, to);
        let file = tmp.path().join("plan.toml");
        std::fs::write(&file, &text).unwrap();
        let o = cli(tmp.path(), &["plan", "check", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", stdout(&o));
        let out = stdout(&o);
        let line = line_of(&text, marker);
        let expected_prefix = format!("{}:{line}:", file.display());
        assert!(
            out.lines()
                .any(|l| l.contains(message) && l.starts_with(&expected_prefix)),
            "{what}: expected {message:?} at line {line}, got:\n{out}"
        );
        assert_eq!(stderr(&o).lines().count(), 1, "{what}: {}", stderr(&o));
    }
}

#[test]
fn plans_are_validated_over_http_by_archivists() {
    let Fresh {
        tmp: _tmp,
        data,
        token: admin,
    } = fresh_archive();
    let server = Server::start(&data, &[]);
    let token_for = |role: &str| {
        post_json(
            &server.url("/api/v1/tokens"),
            &admin,
            &serde_json::json!({"role": role, "name": role}),
        )
        .json()["token"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (archivist, agent) = (token_for("archivist"), token_for("agent"));
    let url = server.url("/api/v1/plan/validate");
    let post = |token: &str, body: &str| {
        request("POST", &url, token, &[], Some(("application/toml", body.as_bytes()))).unwrap()
    };

    let ok = post(&archivist, DEFAULT_PLAN);
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["id"], "communes-fr");
    assert_eq!(post(&agent, DEFAULT_PLAN).status, 403);
    assert_eq!(post("", DEFAULT_PLAN).status, 401);

    let text = broken("rule = \"DELIBERATIONS\"", "rule = \"DELIB\"");
    let bad = post(&archivist, &text);
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_code(), "invalid_plan");
    let details = bad.json()["error"]["details"].clone();
    assert_eq!(details[0]["path"], "nodes[1].rule");
    assert_eq!(details[0]["line"], line_of(&text, "rule = \"DELIB\""));
    let garbage = post(&archivist, "[[nodes]\ncode = ");
    assert_eq!(garbage.status, 422);
    assert!(
        garbage.json()["error"]["details"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not valid TOML")
    );
    assert_eq!(get(&server.url("/healthz"), "").status, 200);
}

/// The `error.details.field` of a 422, after checking the status and code.
fn refused_field(a: Answer) -> String {
    assert_eq!(a.status, 422, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.error_code(), "invalid_field");
    a.json()["error"]["details"]["field"].as_str().unwrap().to_owned()
}

#[test]
fn deposits_are_checked_against_the_plan_and_named_by_its_templates() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let put = |meta: serde_json::Value| deposit(&server, &agent, b"contenu", "piece.txt", &meta).unwrap();
    // Unknown node, a node without a rule of its own or above it.
    assert_eq!(refused_field(put(json!({"node": "ZZZ"}))), "node");
    let a = put(json!({"node": "FIN"}));
    assert!(
        a.json()["error"]["message"].as_str().unwrap().contains("FIN-FAC"),
        "lists the nodes below"
    );
    assert_eq!(refused_field(a), "node");
    // A required field missing, a bad date, a bad decimal, a bad type.
    assert_eq!(refused_field(put(json!({"node": "MAR-OFF"}))), "fields.marche");
    assert_eq!(
        refused_field(put(json!({"node": "FIN-FAC", "fields": {"montant_ttc": "12 €"}}))),
        "fields.montant_ttc"
    );
    assert_eq!(
        refused_field(put(json!({"node": "ADM-DEL", "fields": {"seance": "2025-02-30"}}))),
        "fields.seance"
    );
    assert_eq!(refused_field(put(json!({"node": "FIN-FAC", "type": "arrêté"}))), "type");
    let a = put(json!({"node": "ADM-ARR", "fields": {"portee": "collectif"}}));
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("réglementaire, individuel")
    );
    assert_eq!(refused_field(a), "fields.portee");
    // The plan keeps agents out of personnel files.
    let a = put(json!({"node": "RH-DOS", "fields": {"matricule": "A1", "birth_date": "1970-01-01"}}));
    assert_eq!((a.status, a.error_code().as_str()), (403, "forbidden"));
    // A good deposit: values made canonical, the type defaulted, the plan
    // version kept, the reference and file name from the FIN templates.
    let a = put(
        json!({"node": "FIN-FAC", "date": "2024-03-05", "title": "Facture EDF mars",
        "fields": {"montant_ttc": "1234,50", "fournisseur": "EDF"}}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let r = a.json();
    assert_eq!(r["reference"], "FIN-FAC-2024-000001");
    assert_eq!(r["fields"]["montant_ttc"], "1234.50");
    assert_eq!(r["type"], "facture");
    assert_eq!(r["plan_version"], 1);
    assert_eq!(r["node_path"], json!(["FIN", "FIN-FAC"]));
    assert_eq!(
        r["versions"][0]["canonical_path"],
        "2024/FIN-FAC/FIN-FAC-2024-000001_facture-edf-mars.txt"
    );
    assert_eq!(r["retention"]["rule"], "FACTURES");
    assert_eq!(r["retention"]["inherited_from"], "FIN-FAC");
    assert_eq!(r["retention"]["due"], "2034-03-05");
    assert_eq!(r["retention"]["final_action"], "destroy");
    let content = get(&server.url("/api/v1/records/FIN-FAC-2024-000001/content"), &agent);
    assert_eq!(
        content.header("content-disposition"),
        Some("attachment; filename=\"FIN-FAC-2024-000001_facture-edf-mars.txt\"")
    );
    // Counters: FIN restarts each year ({seq@year}), ADM does not ({seq}).
    let reference = |meta| put(meta).json()["reference"].as_str().unwrap().to_owned();
    assert_eq!(
        reference(json!({"node": "FIN-FAC", "date": "2025-01-02"})),
        "FIN-FAC-2025-000001"
    );
    assert_eq!(
        reference(json!({"node": "FIN-FAC", "date": "2024-12-31"})),
        "FIN-FAC-2024-000002"
    );
    assert_eq!(
        reference(json!({"node": "ADM-DEL", "date": "2024-06-01"})),
        "ADM-DEL-2024-000001"
    );
    assert_eq!(
        reference(json!({"node": "ADM-DEL", "date": "2025-06-01"})),
        "ADM-DEL-2025-000002"
    );
    // Personnel files: retention starts at the agent's birth date.
    let a = deposit(
        &server,
        &token,
        b"dossier",
        "dossier.pdf",
        &json!({"node": "RH-DOS", "fields": {"matricule": "A-0042", "birth_date": "1961-07-14"}}),
    )
    .unwrap();
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let r = a.json();
    assert_eq!(r["retention"]["start"], "field:birth_date");
    assert_eq!(r["retention"]["due"], "2041-07-14");
    assert_eq!(r["retention"]["to_confirm"], true);
    assert!(
        r["versions"][0]["canonical_path"]
            .as_str()
            .unwrap()
            .starts_with("RH-DOS/A-0042/RH-DOS-")
    );
}

#[test]
fn publishing_a_plan_reports_its_impact_and_records_follow() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let agent = new_token(&server, &token, "agent", "guichet");
    let mut invoices = Vec::new();
    for i in 0..3 {
        let a = deposit(
            &server,
            &agent,
            format!("facture {i}").as_bytes(),
            "f.txt",
            &json!({"node": "FIN-FAC", "date": "2020-01-15"}),
        )
        .unwrap();
        invoices.push(a.json()["reference"].as_str().unwrap().to_owned());
    }
    deposit(
        &server,
        &agent,
        b"mandat",
        "m.txt",
        &json!({"node": "FIN-MAN", "date": "2020-02-01"}),
    )
    .unwrap();
    deposit(
        &server,
        &agent,
        b"arrete",
        "a.txt",
        &json!({"node": "ADM-ARR", "date": "2020-02-01"}),
    )
    .unwrap();
    let record = |r: &str| get(&server.url(&format!("/api/v1/records/{r}")), &agent).json();
    assert_eq!(record(&invoices[0])["retention"]["due"], "2030-01-15");

    // Invoices are now kept twelve years.
    let longer = DEFAULT_PLAN
        .replacen(
            "id = \"FACTURES\"\nduration = \"P10Y\"",
            "id = \"FACTURES\"\nduration = \"P12Y\"",
            1,
        )
        .replacen("version = \"2026.1\"", "version = \"2026.2\"", 1);
    assert_ne!(longer, DEFAULT_PLAN);
    let a = put_plan(&server, &agent, &longer, false);
    assert_eq!(a.status, 403, "agents do not publish plans");
    let dry = put_plan(&server, &archivist, &longer, true);
    assert_eq!(dry.status, 200, "{}", String::from_utf8_lossy(&dry.body));
    let dry = dry.json();
    assert_eq!(dry["outcome"], "dry_run");
    assert_eq!(dry["impact"]["records"], 5);
    assert_eq!(
        dry["impact"]["due_changed"], 4,
        "three invoices and the mandate share the rule"
    );
    assert_eq!(dry["impact"]["action_changed"], 0);
    assert_eq!(dry["impact"]["rules_changed"], json!(["FACTURES"]));
    let by_node: Vec<_> = dry["impact"]["by_node"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["node"].as_str().unwrap().to_owned(),
                n["due_changed"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_node, [("FIN-FAC".to_owned(), 3), ("FIN-MAN".to_owned(), 1)]);
    assert_eq!(
        record(&invoices[0])["retention"]["due"],
        "2030-01-15",
        "a dry run changes nothing"
    );
    let published = put_plan(&server, &archivist, &longer, false).json();
    assert_eq!(published["outcome"], "published");
    assert_eq!(published["version"]["number"], 2);
    assert_eq!(published["impact"]["due_changed"], 4);
    let r = record(&invoices[0]);
    assert_eq!(
        r["retention"]["due"], "2032-01-15",
        "computed data follow the plan in force"
    );
    assert_eq!(
        r["plan_version"], 1,
        "the record keeps the version it was classified under"
    );
    assert_eq!(
        put_plan(&server, &archivist, &longer, false).json()["outcome"],
        "unchanged"
    );
    // Every version stays readable.
    let v1 = get(&server.url("/api/v1/plan?version=1"), &agent).json();
    assert_eq!(v1["text"], DEFAULT_PLAN);
    assert_eq!(v1["version"]["number"], 1);
    let current = get(&server.url("/api/v1/plan"), &agent).json();
    assert_eq!(
        (current["version"]["number"].as_u64(), current["label"].as_str()),
        (Some(2), Some("2026.2"))
    );
    let fac = current["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["code"] == "FIN-FAC")
        .unwrap()
        .clone();
    assert_eq!(fac["rule"]["duration"], "P12Y");
    assert_eq!(fac["path"], json!(["FIN", "FIN-FAC"]));
    assert_eq!(
        get(&server.url("/api/v1/plan?version=9"), &agent).error_code(),
        "plan_version_not_found"
    );
    let bad = put_plan(
        &server,
        &archivist,
        &longer.replacen("rule = \"FACTURES\"", "rule = \"NOPE\"", 1),
        false,
    );
    assert_eq!((bad.status, bad.error_code().as_str()), (422, "invalid_plan"));
    assert!(bad.json()["error"]["details"][0]["line"].as_u64().is_some());

    // Dropping FIN-FAC would orphan three invoices: refused.
    let start = longer.find("[[nodes]]\ncode = \"FIN-FAC\"").unwrap();
    let end = start + longer[start..].find("[[nodes]]\ncode = \"FIN-MAN\"").unwrap();
    let without = without_circuits(&without_classify_rules_for(
        &format!("{}{}", &longer[..start], &longer[end..]),
        "FIN-FAC",
    ));
    let a = put_plan(&server, &archivist, &without, false);
    assert_eq!((a.status, a.error_code().as_str()), (409, "plan_orphans_records"));
    assert_eq!(a.json()["error"]["details"], json!([{"node": "FIN-FAC", "records": 3}]));
    // Renamed, with its records mapped to the new code: published, and the
    // invoices move (their references do not change).
    let renamed = longer
        .replacen(
            "code = \"FIN-FAC\"\n",
            "code = \"FIN-FACT\"\nreplaces = [\"FIN-FAC\"]\n",
            1,
        )
        .replace("node = \"FIN-FAC\"", "node = \"FIN-FACT\"")
        .replace("nodes = [\"FIN-FAC\"]", "nodes = [\"FIN-FACT\"]");
    let a = put_plan(&server, &archivist, &renamed, false);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let a = a.json();
    assert_eq!(a["impact"]["moved"], 3);
    assert_eq!(
        a["impact"]["nodes_renamed"],
        json!([{"from": "FIN-FAC", "to": "FIN-FACT"}])
    );
    let r = record(&invoices[1]);
    assert_eq!(
        (r["node"].as_str(), r["reference"].as_str()),
        (Some("FIN-FACT"), Some(invoices[1].as_str()))
    );
    assert_eq!(r["retention"]["due"], "2032-01-15");
    server.stop();

    // The command line shows the same, and survives a rebuild.
    let o = cli(&data, &["plan", "versions"]);
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
    let o = cli(&data, &["plan", "show"]);
    assert!(stdout(&o).contains("plan, version 3"), "{}", stdout(&o));
    assert!(
        stdout(&o).contains("FIN-FACT  Factures  [FACTURES : 12 ans, destruction]"),
        "{}",
        stdout(&o)
    );
    let file = tmp.path().join("shorter.toml");
    std::fs::write(&file, renamed.replacen("duration = \"P12Y\"", "duration = \"P8Y\"", 1)).unwrap();
    let o = cli(&data, &["plan", "publish", file.to_str().unwrap(), "--dry-run"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("4 changent d'échéance"), "{}", stdout(&o));
    assert!(cli(&data, &["rebuild"]).status.success());
    let o = cli(&data, &["show", &invoices[2], "--json"]);
    let shown: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        (shown["node"].as_str(), shown["retention"]["due"].as_str()),
        (Some("FIN-FACT"), Some("2032-01-15"))
    );
    let o = cli(&data, &["plan", "show", "--version", "1", "--toml"]);
    assert_eq!(stdout(&o), DEFAULT_PLAN);
}

#[test]
fn init_publishes_the_plan_it_is_given_and_refuses_a_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    let broken_file = tmp.path().join("broken.toml");
    std::fs::write(&broken_file, broken("rule = \"DELIBERATIONS\"", "rule = \"DELIB\"")).unwrap();
    let data = tmp.path().join("a");
    let o = cli(&data, &["init", "--policies", broken_file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no rule has the id \"DELIB\""), "{}", stderr(&o));
    assert!(!data.join("coffre.json").exists(), "a refused plan creates no archive");
    let mine = tmp.path().join("mine.toml");
    let text = DEFAULT_PLAN.replacen("id = \"communes-fr\"", "id = \"ma-commune\"", 1);
    std::fs::write(&mine, &text).unwrap();
    let o = cli(&data, &["init", "--policies", mine.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&cli(&data, &["plan", "show", "--toml"])), text);
}

#[test]
fn archivists_reclassify_with_a_reason_and_old_references_stay_aliases() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let agent = new_token(&server, &token, "agent", "guichet");
    let a = deposit(
        &server,
        &agent,
        "Mandat de paiement : chauffage de la salle des fêtes".as_bytes(),
        "m.txt",
        &json!({"node": "FIN-FAC", "date": "2024-09-01", "fields": {"fournisseur": "Engie"}}),
    )
    .unwrap();
    let original = a.json()["reference"].as_str().unwrap().to_owned();
    let patch = |token: &str, reference: &str, body: serde_json::Value| {
        request(
            "PATCH",
            &server.url(&format!("/api/v1/records/{reference}")),
            token,
            &[],
            Some(("application/json", body.to_string().as_bytes())),
        )
        .unwrap()
    };
    assert_eq!(
        patch(&agent, &original, json!({"node": "FIN-MAN", "reason": "x"})).status,
        403
    );
    assert_eq!(
        refused_field(patch(&archivist, &original, json!({"node": "FIN-MAN"}))),
        "reason"
    );
    assert_eq!(
        refused_field(patch(
            &archivist,
            &original,
            json!({"fields": {"montant_ttc": "beaucoup"}, "reason": "r"})
        )),
        "fields.montant_ttc"
    );
    assert_eq!(
        patch(&archivist, &original, json!({"nod": "FIN-MAN", "reason": "r"})).error_code(),
        "invalid_json"
    );
    // Moved to the mandates: the reference stays, the type follows the node.
    let a = patch(
        &archivist,
        &original,
        json!({"node": "FIN-MAN", "reason": "erreur de classement", "fields": {"fournisseur": null}}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let r = a.json();
    assert_eq!(
        (r["node"].as_str(), r["reference"].as_str(), r["type"].as_str()),
        (Some("FIN-MAN"), Some(original.as_str()), Some("mandat"))
    );
    assert!(r["fields"].get("fournisseur").is_none());
    // A plan that renumbers what is reclassified into ADM-ARR: a new
    // reference from its template, the old one kept as an alias.
    let renumbering = DEFAULT_PLAN.replacen(
        "code = \"ADM-ARR\"\n",
        "code = \"ADM-ARR\"\nrenumber_on_reclassify = true\n",
        1,
    );
    assert_eq!(put_plan(&server, &archivist, &renumbering, false).status, 200);
    let a = patch(
        &archivist,
        &original,
        json!({"node": "ADM-ARR", "reason": "c'est un arrêté", "title": "Arrêté chauffage"}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let r = a.json();
    assert_eq!(r["reference"], "ADM-ARR-2024-000001");
    assert_eq!(r["aliases"], json!([original]));
    let by_alias = get(&server.url(&format!("/api/v1/records/{original}")), &agent).json();
    assert_eq!(by_alias["reference"], "ADM-ARR-2024-000001");
    assert_eq!(by_alias["title"], "Arrêté chauffage");
    // The journal keeps each change with its reason and the previous values.
    let events = get(&server.url("/api/v1/audit/events?after=0"), &token).json();
    let updates: Vec<_> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "record.updated")
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0]["payload"]["reason"], "erreur de classement");
    assert_eq!(updates[0]["payload"]["before"]["node"], "FIN-FAC");
    assert_eq!(updates[1]["payload"]["before"]["reference"], original.as_str());
    assert_eq!(updates[1]["payload"]["now"]["reference"], "ADM-ARR-2024-000001");
    // The index follows: found under its new node and title.
    let mut found = false;
    for _ in 0..300 {
        let s = get(&server.url("/api/v1/search?q=chauffage&node=ADM-ARR"), &agent).json();
        if s["total"] == 1 && s["hits"][0]["title"] == "Arrêté chauffage" {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(found, "the index shows the reclassified record");
    server.stop();
    assert!(cli(&data, &["rebuild"]).status.success());
    let o = cli(&data, &["show", &original, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(shown["reference"], "ADM-ARR-2024-000001");
    assert_eq!(cli(&data, &["audit", "verify"]).status.code(), Some(0));
    assert_journal_follows_its_schema(&data);
    // The command line changes records too, with a reason.
    let o = cli(&data, &["update", &original, "--node", "FIN-MAN"]);
    assert_eq!(o.status.code(), Some(2), "the reason is required");
    let o = cli(
        &data,
        &[
            "update",
            &original,
            "--reason",
            "r",
            "--meta",
            "montant_ttc=x",
            "--node",
            "FIN-FAC",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("fields.montant_ttc"), "{}", stderr(&o));
    let o = cli(
        &data,
        &[
            "update",
            &original,
            "--reason",
            "retour aux mandats",
            "--node",
            "FIN-MAN",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let updated: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(
        (updated["node"].as_str(), updated["reference"].as_str()),
        (Some("FIN-MAN"), Some("ADM-ARR-2024-000001"))
    );
    let o = cli(
        &data,
        &["update", "ADM-ARR-2024-000001", "--reason", "rien", "--node", "FIN-MAN"],
    );
    assert!(stdout(&o).contains("rien n'a changé"), "{}", stdout(&o));
}

#[test]
fn a_node_moved_in_the_tree_is_searched_under_its_new_parent() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let a = deposit(
        &server,
        &token,
        "Mandat : chauffage du gymnase".as_bytes(),
        "m.txt",
        &json!({"node": "FIN-MAN"}),
    )
    .unwrap();
    assert_eq!(a.status, 201);
    let total = |node: &str| {
        get(&server.url(&format!("/api/v1/search?q=chauffage&node={node}")), &token).json()["total"].as_u64()
    };
    let wait_for = |node: &str, expected: u64| {
        for _ in 0..300 {
            if total(node) == Some(expected) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let all = get(&server.url("/api/v1/search?q="), &token).json();
        let record = get(&server.url("/api/v1/records/FIN-MAN-2026-000001"), &token).json();
        panic!(
            "node={node} never found {expected} records; q= finds {all}; record text {}; server log:\n{}",
            record["text"],
            server.log_text()
        );
    };
    wait_for("FIN", 1);
    let moved = DEFAULT_PLAN.replacen(
        "code = \"FIN-MAN\"\nparent = \"FIN\"",
        "code = \"FIN-MAN\"\nparent = \"ADM\"",
        1,
    );
    assert_ne!(moved, DEFAULT_PLAN);
    assert_eq!(put_plan(&server, &token, &moved, false).status, 200);
    wait_for("ADM", 1);
    assert_eq!(total("FIN"), Some(0));
    assert_eq!(total("FIN-MAN"), Some(1));
}
