//! Who reads what: the plan's readers, inherited down the tree, hold in
//! reads, content, listings and search, for a record of a node an agent may
//! not read next to one it may.

use crate::common::*;
use serde_json::json;
use std::time::Duration;

fn search(server: &Server, token: &str, query: &str) -> serde_json::Value {
    let a = get(&server.url(&format!("/api/v1/search?{query}")), token);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    a.json()
}

#[test]
fn an_agent_never_sees_a_record_of_a_node_it_may_not_read() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let archivist = new_token(&server, &token, "archivist", "archives");
    // RH's readers are admin, archivist and auditor; FIN's include agents.
    let personnel = deposit(
        &server,
        &archivist,
        "Dossier confidentiel : évaluation annuelle de l'agent.".as_bytes(),
        "evaluation.txt",
        &json!({"node": "RH-DOS", "fields": {"matricule": "A-7", "birth_date": "1980-05-05"}}),
    )
    .unwrap();
    assert_eq!(personnel.status, 201, "{}", String::from_utf8_lossy(&personnel.body));
    let personnel = personnel.json();
    let invoice = deposit(
        &server,
        &agent,
        "Facture confidentiel : fournitures.".as_bytes(),
        "facture.txt",
        &json!({"node": "FIN-FAC"}),
    )
    .unwrap()
    .json();
    let hidden = personnel["reference"].as_str().unwrap();
    let hidden_id = personnel["id"].as_str().unwrap();
    let visible = invoice["reference"].as_str().unwrap();
    // Wait for both to be indexed (as the archivist sees them).
    let mut indexed = false;
    for _ in 0..300 {
        if search(&server, &archivist, "q=confidentiel")["total"] == 2 {
            indexed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(indexed, "both records are indexed");

    // The agent: reads, content, search, node filter and facets.
    for key in [hidden, hidden_id] {
        let a = get(&server.url(&format!("/api/v1/records/{key}")), &agent);
        assert_eq!((a.status, a.error_code().as_str()), (404, "record_not_found"));
        let a = get(&server.url(&format!("/api/v1/records/{key}/content")), &agent);
        assert_eq!(a.status, 404);
    }
    let found = search(&server, &agent, "q=confidentiel");
    assert_eq!(hit_refs(&found), [visible]);
    assert_eq!(found["total"], 1);
    assert!(found["facets"].get("RH-DOS").is_none(), "{}", found["facets"]);
    assert_eq!(search(&server, &agent, "q=&node=RH")["total"], 0);
    assert_eq!(search(&server, &agent, "q=évaluation")["total"], 0);
    let a = post_multipart(
        &server.url(&format!("/api/v1/records/{hidden}/versions")),
        &agent,
        &multipart(&[Part {
            name: "file",
            filename: Some(b"x.txt"),
            content: b"x",
        }]),
    )
    .unwrap();
    assert_eq!(a.status, 404, "no version added to what one cannot read");

    // The archivist reads both.
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{hidden}")), &archivist).status,
        200
    );
    let found = search(&server, &archivist, "q=confidentiel");
    assert_eq!(found["total"], 2);
    assert_eq!(found["facets"]["RH-DOS"], 1);
    assert_eq!(search(&server, &archivist, "q=&node=RH")["total"], 1);
}
