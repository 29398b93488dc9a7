//! Retention over HTTP and the CLI: what is due and why, start events, and
//! legal holds that stop records whatever their dates.

use crate::common::*;
use chrono::{Datelike, Utc};
use serde_json::{Value, json};

fn years_ago(n: i32) -> String {
    let today = Utc::now().date_naive();
    today
        .with_year(today.year() - n)
        .unwrap_or_else(|| today - chrono::Duration::days(365 * n as i64))
        .to_string()
}

fn created(a: Answer) -> Value {
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    a.json()
}

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
            json!({"query": "a AND (", "reason": "r"})
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
        stdout(&o).lines().filter(|l| l.contains("HELD")).count(),
        2,
        "{}",
        stdout(&o)
    );
    assert_journal_follows_its_schema(&data);
}
