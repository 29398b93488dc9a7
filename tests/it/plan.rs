//! Plan files: the default plan passes `plan check`; fifteen broken plans,
//! each breaking one rule, fail with a message that names the problem and
//! its line.

use crate::common::*;

const DEFAULT_PLAN: &str = include_str!("../../retention-policies/communes-fr.toml");

/// Breaks the default plan: replaces the first `from` by `to`.
fn broken(from: &str, to: &str) -> String {
    assert!(DEFAULT_PLAN.contains(from), "{from:?} is not in the default plan");
    DEFAULT_PLAN.replacen(from, to, 1)
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
    assert!(stdout(&o).contains("valid plan communes-fr"), "{}", stdout(&o));
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
