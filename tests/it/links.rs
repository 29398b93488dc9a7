//! Links between records made at deposit: a message's attachment, a
//! supporting document. Each side names the other to those who may read
//! it, and a link is refused (nothing kept) when its kind is unknown, or
//! its target is not there or not readable by the depositor.

use crate::common::*;
use serde_json::{Value, json};

/// A record's links as (kind, direction, reference).
pub fn links(record: &Value) -> Vec<(String, String, String)> {
    record["links"]
        .as_array()
        .map(|links| {
            links
                .iter()
                .map(|l| {
                    (
                        l["kind"].as_str().unwrap_or_default().to_owned(),
                        l["direction"].as_str().unwrap_or_default().to_owned(),
                        l["reference"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn triple(kind: &str, direction: &str, reference: &str) -> (String, String, String) {
    (kind.to_owned(), direction.to_owned(), reference.to_owned())
}

#[test]
fn a_deposit_links_to_records_its_depositor_reads_and_each_side_shows_the_other() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let agent = new_token(&server, &token, "agent", "courrier");
    let archivist = new_token(&server, &token, "archivist", "archives");

    // A message, then its attachment linked to it.
    let message = created(
        deposit(
            &server,
            &agent,
            b"From: fournisseur@example.fr\r\nSubject: Facture 2024-118\r\n\r\nVeuillez trouver notre facture.",
            "courriel.eml",
            &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
        )
        .unwrap(),
    );
    let message_ref = message["reference"].as_str().unwrap().to_owned();
    let attachment = created(
        deposit(
            &server,
            &agent,
            b"Facture 2024-118 : fournitures de bureau, 1 200,00 euros TTC.",
            "facture-2024-118.txt",
            &json!({"node": "FIN-FAC", "date": "2024-03-15",
                    "links": [{"kind": "attachment_of", "to": message_ref},
                              {"kind": "attachment_of", "to": message["id"]}]}),
        )
        .unwrap(),
    );
    let attachment_ref = attachment["reference"].as_str().unwrap().to_owned();
    assert_eq!(
        links(&attachment),
        [triple("attachment_of", "to", &message_ref)],
        "one link, named once by reference and once by id: {attachment}"
    );
    let read = get(&server.url(&format!("/api/v1/records/{message_ref}")), &agent).json();
    assert_eq!(
        links(&read),
        [triple("attachment_of", "from", &attachment_ref)],
        "{read}"
    );
    assert_eq!(read["linked_here"], 1, "{read}");

    // A personal file the agent may not read, linked by the archivist:
    // shown to the archivist, not to the agent.
    let personal = created(
        deposit(
            &server,
            &archivist,
            b"Attestation de service fait, signee par le chef de service.",
            "attestation.txt",
            &json!({"node": "RH-DOS", "date": "2024-03-16",
                    "fields": {"matricule": "A-7", "birth_date": "1980-05-05"},
                    "links": [{"kind": "supports", "to": message_ref}]}),
        )
        .unwrap(),
    );
    let personal_ref = personal["reference"].as_str().unwrap().to_owned();
    let by_archivist = get(&server.url(&format!("/api/v1/records/{message_ref}")), &archivist).json();
    assert_eq!(
        links(&by_archivist),
        [
            triple("attachment_of", "from", &attachment_ref),
            triple("supports", "from", &personal_ref)
        ],
        "{by_archivist}"
    );
    assert_eq!(by_archivist["linked_here"], 2);
    let by_agent = get(&server.url(&format!("/api/v1/records/{message_ref}")), &agent).json();
    assert_eq!(
        links(&by_agent),
        [triple("attachment_of", "from", &attachment_ref)],
        "{by_agent}"
    );
    assert_eq!(
        by_agent["linked_here"], 1,
        "the agent is not told of what it may not read"
    );

    // Refused, in French, with nothing kept: an unknown kind, a target not
    // there, a target the depositor may not read (said as not there), and
    // too many links.
    let refused = |links: Value| {
        let a = deposit(
            &server,
            &agent,
            b"Relance de paiement.",
            "relance.txt",
            &json!({"node": "FIN-FAC", "date": "2024-04-02", "links": links}),
        )
        .unwrap();
        assert_eq!(
            (a.status, a.error_code().as_str()),
            (422, "invalid_field"),
            "{}",
            a.text()
        );
        a.error_message()
    };
    assert!(
        refused(json!([{"kind": "copie_de", "to": message_ref}])).contains("n'est pas une sorte de lien"),
        "unknown kind"
    );
    let absent = refused(json!([{"kind": "supports", "to": "FIN-FAC-2024-999999"}]));
    assert!(
        absent.contains("FIN-FAC-2024-999999") && absent.contains("n'existe pas"),
        "{absent}"
    );
    let hidden = refused(json!([{"kind": "supports", "to": personal_ref}]));
    assert!(
        hidden.contains("n'existe pas, ou vous ne pouvez pas le consulter"),
        "{hidden}"
    );
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"kind": "supports", "to": message_ref}))
        .collect();
    assert!(refused(json!(many)).contains("101 liens demandés"));
    let shape = deposit(
        &server,
        &agent,
        b"Relance.",
        "relance.txt",
        &json!({"node": "FIN-FAC", "links": [{"kind": "supports"}]}),
    )
    .unwrap();
    assert_eq!(shape.status, 400, "a link without its target: {}", shape.text());
    let stats = get(&server.url("/api/v1/stats"), &token).json();
    assert_eq!(stats["records"], 3, "{stats}");

    // The link is journaled with the deposit: a rebuilt catalog has it.
    server.stop();
    let out = cli(&data, &["rebuild"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&data, &[]);
    let read = get(&server.url(&format!("/api/v1/records/{attachment_ref}")), &archivist).json();
    assert_eq!(links(&read), [triple("attachment_of", "to", &message_ref)], "{read}");
    let read = get(&server.url(&format!("/api/v1/records/{message_ref}")), &archivist).json();
    assert_eq!(read["linked_here"], 2, "{read}");
    server.stop();
    assert_journal_follows_its_schema(&data);
}
