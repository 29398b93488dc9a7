//! Retention over HTTP and the CLI: what is due and why, start events, and
//! legal holds that stop records whatever their dates.

use crate::common::*;
use chrono::Utc;
use serde_json::{Value, json};

fn due(server: &Server, token: &str, at: Option<&str>) -> Vec<Value> {
    let url = match at {
        Some(at) => server.url(&format!("/api/v1/retention/due?at={at}")),
        None => server.url("/api/v1/retention/due"),
    };
    let a = get(&url, token);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    a.json()["records"].as_array().unwrap().clone()
}

fn post(server: &Server, token: &str, path: &str, body: Value) -> Answer {
    post_json(&server.url(path), token, &body)
}

#[test]
fn what_is_due_its_final_action_and_the_holds_that_stop_it() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let agent = new_token(&server, &token, "agent", "guichet");
    let old = years_ago(11);
    let invoice = created(
        deposit(
            &server,
            &agent,
            "Facture ancienne".as_bytes(),
            "f.txt",
            &json!({"node": "FIN-FAC", "date": old}),
        )
        .unwrap(),
    );
    let deliberation = created(
        deposit(
            &server,
            &agent,
            "Délibération ancienne".as_bytes(),
            "d.txt",
            &json!({"node": "ADM-DEL", "date": old}),
        )
        .unwrap(),
    );
    let recent = created(
        deposit(
            &server,
            &agent,
            "Facture récente".as_bytes(),
            "r.txt",
            &json!({"node": "FIN-FAC"}),
        )
        .unwrap(),
    );
    let market = created(
        deposit(
            &server,
            &agent,
            "Pièces du marché : contentieux en cours".as_bytes(),
            "m.txt",
            &json!({"node": "MAR-ATT", "date": old, "fields": {"marche": "M-2014-02"}}),
        )
        .unwrap(),
    );
    let reference = |r: &Value| r["reference"].as_str().unwrap().to_owned();

    // Agents do not list what is due.
    assert_eq!(get(&server.url("/api/v1/retention/due"), &agent).status, 403);
    let listed = due(&server, &archivist, None);
    let refs: Vec<&str> = listed.iter().map(|d| d["reference"].as_str().unwrap()).collect();
    assert_eq!(refs.len(), 2, "{listed:?}");
    assert!(refs.contains(&reference(&invoice).as_str()) && refs.contains(&reference(&deliberation).as_str()));
    let line = |r: &Value| {
        listed
            .iter()
            .find(|d| d["reference"] == r["reference"])
            .unwrap()
            .clone()
    };
    assert_eq!(line(&invoice)["final_action"], "destroy");
    assert_eq!(line(&invoice)["rule"], "FACTURES");
    assert_eq!(
        line(&deliberation)["final_action"],
        "keep",
        "a deliberation is kept, never destroyed"
    );
    // The record explains its computation.
    let shown = get(&server.url(&format!("/api/v1/records/{}", reference(&invoice))), &agent).json();
    assert_eq!(shown["retention"]["status"], "due");
    assert_eq!(shown["retention"]["inherited_from"], "FIN-FAC");
    // A future date answers what becomes due by then.
    let in_eleven_years = (Utc::now().date_naive() + chrono::Duration::days(366 * 11)).to_string();
    let later = due(&server, &archivist, Some(&in_eleven_years));
    assert!(later.iter().any(|d| d["reference"] == recent["reference"]));

    // A market's pieces wait for the end of the contract: open until then.
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{}", reference(&market))), &agent).json()["retention"]["status"],
        "open"
    );
    let a = post(
        &server,
        &archivist,
        &format!("/api/v1/records/{}/events", reference(&market)),
        json!({"name": "contract_end", "date": years_ago(11)}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let a = post(
        &server,
        &archivist,
        "/api/v1/retention/events",
        json!({"name": "Fin!", "date": "2020-01-01", "node": "MAR"}),
    );
    assert_eq!(
        (a.status, a.json()["error"]["details"]["field"].as_str()),
        (422, Some("name"))
    );
    let shown = get(&server.url(&format!("/api/v1/records/{}", reference(&market))), &agent).json();
    assert_eq!(shown["retention"]["status"], "due");
    assert_eq!(shown["retention"]["events"]["contract_end"], years_ago(11));
    assert_eq!(due(&server, &archivist, None).len(), 3);

    // Holds: on a record, and on what a search finds.
    let a = post(
        &server,
        &agent,
        "/api/v1/holds",
        json!({"record": reference(&invoice), "reason": "x"}),
    );
    assert_eq!(a.status, 403);
    let a = post(
        &server,
        &archivist,
        "/api/v1/holds",
        json!({"record": reference(&invoice)}),
    );
    assert_eq!(
        (a.status, a.json()["error"]["details"]["field"].as_str()),
        (422, Some("reason"))
    );
    let a = post(
        &server,
        &archivist,
        "/api/v1/holds",
        json!({"record": "X", "node": "FIN", "reason": "r"}),
    );
    assert_eq!(a.status, 422, "exactly one scope");
    let hold = created(post(
        &server,
        &archivist,
        "/api/v1/holds",
        json!({"record": reference(&invoice), "reason": "recours contentieux", "owner": "Service juridique", "review": "2030-01-01"}),
    ));
    let hold_id = hold["id"].as_u64().unwrap();
    // Wait until the market's text is indexed, so that a query hold sees it.
    for _ in 0..300 {
        let s = get(&server.url("/api/v1/search?q=contentieux"), &archivist).json();
        if s["total"] == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let query_hold = created(post(
        &server,
        &archivist,
        "/api/v1/holds",
        json!({"query": "contentieux", "reason": "enquête"}),
    ));
    assert_eq!(
        post(
            &server,
            &archivist,
            "/api/v1/holds",
            json!({"query": "a nosuchfield:x", "reason": "r"})
        )
        .status,
        400
    );
    let listed = due(&server, &archivist, None);
    let held = |r: &Value| listed.iter().find(|d| d["reference"] == r["reference"]).unwrap()["held_by"].clone();
    assert_eq!(
        held(&invoice),
        json!([hold_id]),
        "held records are listed, and say what stops them"
    );
    assert_eq!(held(&market), json!([query_hold["id"]]));
    assert_eq!(held(&deliberation), json!([]));
    // The archive's health counts the same: what is due, what a hold keeps,
    // the holds placed this month.
    let health = get(&server.url("/api/v1/indicators/health"), &archivist).json();
    let held_now = listed
        .iter()
        .filter(|d| !d["held_by"].as_array().expect("held_by").is_empty())
        .count();
    assert_eq!(health["now"]["overdue"], listed.len(), "{health}");
    assert_eq!(health["now"]["held_due"], held_now, "{health}");
    let month = health["months"]
        .as_array()
        .and_then(|m| m.last())
        .cloned()
        .unwrap_or_default();
    assert_eq!(month["holds_placed"], 2, "{health}");
    let invoices = get(&server.url("/api/v1/indicators/health?node=ADM"), &archivist).json();
    assert_eq!(invoices["now"]["overdue"], 1, "the deliberation alone: {invoices}");
    // A held record is not reclassified.
    let patch = request(
        "PATCH",
        &server.url(&format!("/api/v1/records/{}", reference(&invoice))),
        &archivist,
        &[],
        Some((
            "application/json",
            json!({"node": "FIN-MAN", "reason": "r"}).to_string().as_bytes(),
        )),
    )
    .unwrap();
    assert_eq!((patch.status, patch.error_code().as_str()), (409, "record_held"));
    // Lifting needs a reason; a lifted hold stops nothing.
    let lift = |body: Value| post(&server, &archivist, &format!("/api/v1/holds/{hold_id}/lift"), body);
    assert_eq!(lift(json!({})).status, 422);
    assert_eq!(lift(json!({"reason": "jugement rendu"})).status, 200);
    assert_eq!(lift(json!({"reason": "encore"})).error_code(), "hold_already_lifted");
    assert_eq!(
        post(&server, &archivist, "/api/v1/holds/999/lift", json!({"reason": "r"})).status,
        404
    );
    let listed = due(&server, &archivist, None);
    assert_eq!(
        listed
            .iter()
            .filter(|d| !d["held_by"].as_array().unwrap().is_empty())
            .count(),
        1
    );
    let holds = get(&server.url("/api/v1/holds"), &archivist).json();
    assert_eq!(holds.as_array().unwrap().len(), 2);
    assert_eq!(holds[0]["state"], "lifted");
    assert_eq!(holds[0]["review"], "2030-01-01");
    server.stop();

    // The command line, and a rebuilt catalog, say the same.
    assert!(cli(&data, &["rebuild"]).status.success());
    let o = cli(&data, &["retention", "due", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 3);
    let o = cli(&data, &["hold", "list"]);
    assert!(stdout(&o).contains("Service juridique"), "{}", stdout(&o));
    let o = cli(
        &data,
        &[
            "hold",
            "place",
            "--node",
            "FIN",
            "--reason",
            "audit de la chambre régionale",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = cli(&data, &["retention", "due"]);
    assert_eq!(
        stdout(&o).lines().filter(|l| l.contains("GELÉ")).count(),
        2,
        "{}",
        stdout(&o)
    );
    assert_journal_follows_its_schema(&data);
}

#[test]
fn reviews_transfers_and_shortened_rules_are_decided_and_journaled() {
    let Fresh { tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let archivist = new_token(&server, &token, "archivist", "archives");
    let agent = new_token(&server, &token, "agent", "guichet");
    let temporary = created(
        deposit(
            &server,
            &agent,
            b"Arrete temporaire de circulation",
            "t.txt",
            &json!({"node": "ADM-ART", "date": years_ago(6)}),
        )
        .unwrap(),
    );
    let kept = created(
        deposit(
            &server,
            &agent,
            b"Deliberation sur le budget",
            "k.txt",
            &json!({"node": "ADM-DEL", "date": years_ago(11)}),
        )
        .unwrap(),
    );
    let invoice = created(
        deposit(
            &server,
            &agent,
            b"Facture",
            "f.txt",
            &json!({"node": "FIN-FAC", "date": years_ago(7)}),
        )
        .unwrap(),
    );
    let reference = |r: &Value| r["reference"].as_str().unwrap().to_owned();
    let action_of = |r: &Value| {
        due(&server, &archivist, None)
            .into_iter()
            .find(|d| d["reference"] == r["reference"])
            .map(|d| d["final_action"].as_str().unwrap().to_owned())
    };
    assert_eq!(action_of(&temporary).as_deref(), Some("review"));
    assert_eq!(action_of(&kept).as_deref(), Some("keep"));
    assert_eq!(action_of(&invoice), None, "not due for three more years");

    // The archivist decides what becomes of a record whose rule says review.
    let review = |who: &str, r: &Value, body: Value| {
        post_json(
            &server.url(&format!("/api/v1/records/{}/review", reference(r))),
            who,
            &body,
        )
    };
    assert_eq!(
        review(&agent, &temporary, json!({"decision": "destroy", "reason": "r"})).status,
        403
    );
    assert_eq!(
        review(&archivist, &temporary, json!({"decision": "burn", "reason": "r"})).status,
        422
    );
    assert_eq!(
        review(&archivist, &temporary, json!({"decision": "destroy"})).status,
        422
    );
    let a = review(&archivist, &kept, json!({"decision": "destroy", "reason": "r"}));
    assert_eq!(
        (a.status, a.json()["error"]["details"]["field"].as_str()),
        (422, Some("record"))
    );
    let a = review(
        &archivist,
        &temporary,
        json!({"decision": "destroy", "reason": "sans intérêt historique"}),
    );
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    let r = a.json();
    assert_eq!(
        (
            r["retention"]["final_action"].as_str(),
            r["retention"]["review"]["decision"].as_str()
        ),
        (Some("destroy"), Some("destroy"))
    );
    assert_eq!(action_of(&temporary).as_deref(), Some("destroy"));

    // Destroy goes to a disposal, keep to a transfer.
    let disposal = created(post_json(&server.url("/api/v1/disposals"), &archivist, &json!({})));
    assert_eq!(disposal["lines"].as_array().unwrap().len(), 1);
    assert_eq!(disposal["lines"][0]["reference"], temporary["reference"]);
    let transfer = created(post_json(&server.url("/api/v1/transfers"), &archivist, &json!({})));
    assert_eq!(transfer["lines"].as_array().unwrap().len(), 1);
    assert_eq!(transfer["lines"][0]["reference"], kept["reference"]);
    let again = post_json(
        &server.url("/api/v1/transfers"),
        &archivist,
        &json!({"records": [reference(&kept)]}),
    );
    assert_eq!(again.status, 422);
    assert!(
        again.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("déjà dans le versement")
    );
    assert_eq!(
        get(
            &server.url(&format!("/api/v1/transfers/{}", transfer["id"])),
            &archivist
        )
        .json()["count"],
        1
    );

    // A plan that shortens the invoices' DUA makes one due: it needs an
    // explicit confirmation and a reason, journaled.
    let plan = include_str!("../../retention-policies/communes-fr.toml");
    let shorter = plan.replacen(
        "id = \"FACTURES\"\nduration = \"P10Y\"",
        "id = \"FACTURES\"\nduration = \"P5Y\"",
        1,
    );
    let dry = put_plan(&server, &archivist, &shorter, true).json();
    assert_eq!(dry["impact"]["shortened"], 1);
    let refused = put_plan(&server, &archivist, &shorter, false);
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (409, "plan_shortens_retention")
    );
    assert_eq!(refused.json()["error"]["details"]["shortened"], 1);
    let url = |q: &str| server.url(&format!("/api/v1/plan?{q}"));
    let put = |q: &str| {
        request(
            "PUT",
            &url(q),
            &archivist,
            &[],
            Some(("application/toml", shorter.as_bytes())),
        )
        .unwrap()
    };
    assert_eq!(put("confirm=true").status, 422, "a confirmation says why");
    let ok = put("confirm=true&reason=d%C3%A9lib%C3%A9ration%202026-14");
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(action_of(&invoice).as_deref(), Some("destroy"), "now due");
    let events = get(&server.url("/api/v1/audit/events?after=0&limit=1000"), &token).json();
    let published = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["kind"] == "plan.published")
        .unwrap()
        .clone();
    assert_eq!(published["payload"]["reason"], "délibération 2026-14");
    server.stop();
    let file = tmp.path().join("plan.toml");
    std::fs::write(&file, shorter.replacen("duration = \"P5Y\"", "duration = \"P3Y\"", 1)).unwrap();
    let path = file.to_str().unwrap();
    let o = cli(&data, &["plan", "publish", path]);
    assert_eq!(
        o.status.code(),
        Some(4),
        "shortening is refused without confirmation: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("avance l'échéance"), "{}", stderr(&o));
    let o = cli(&data, &["plan", "publish", path, "--confirm"]);
    assert_eq!(o.status.code(), Some(2), "--confirm needs --reason");
    let o = cli(
        &data,
        &["plan", "publish", path, "--confirm", "--reason", "nouvelle instruction"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_journal_follows_its_schema(&data);
}
