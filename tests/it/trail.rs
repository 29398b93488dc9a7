//! The consultation trail: who read a record that holds personal data, and
//! the refusals (failed sign-ins, 403s), journaled and throttled.

use crate::common::*;
use serde_json::{Value, json};

/// An archivist's token for Claire's account (the pay office's desk).
fn claires_token(server: &Server, admin: &str) -> String {
    created(post_json(
        &server.url("/api/v1/tokens"),
        admin,
        &json!({"role": "archivist", "name": "poste paie", "account": "claire"}),
    ))["token"]
        .as_str()
        .expect("token")
        .to_owned()
}

#[test]
fn the_readers_of_a_pay_slip_are_listed_and_refusals_are_journaled_without_flooding() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &token,
        &json!({"user": "claire", "display_name": "Claire Paie", "role": "archivist"}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let claire = claires_token(&server, &token);
    let agent = new_token(&server, &token, "agent", "guichet");
    let auditor = new_token(&server, &token, "auditor", "controle");
    // RH holds personal data (the default plan says so); FIN does not.
    let payslip = created(
        deposit(
            &server,
            &claire,
            "Bulletin de paie de mars : salaire brut, cotisations.".as_bytes(),
            "paie-2024-03.txt",
            &json!({"node": "RH-DOS", "fields": {"matricule": "A-7", "birth_date": "1980-05-05"}}),
        )
        .unwrap(),
    );
    let invoice = created(
        deposit(
            &server,
            &agent,
            b"Facture de fournitures.",
            "facture.txt",
            &json!({"node": "FIN-FAC"}),
        )
        .unwrap(),
    );
    let payslip_ref = payslip["reference"].as_str().unwrap();
    let invoice_ref = invoice["reference"].as_str().unwrap();
    // Claire reads it: the detail twice (one reading), then the content.
    for _ in 0..2 {
        assert_eq!(
            get(&server.url(&format!("/api/v1/records/{payslip_ref}")), &claire).status,
            200
        );
    }
    let content = get(&server.url(&format!("/api/v1/records/{payslip_ref}/content")), &claire);
    assert_eq!(content.status, 200);
    // The invoice is read too, but it holds no personal data.
    assert_eq!(
        get(&server.url(&format!("/api/v1/records/{invoice_ref}")), &agent).status,
        200
    );

    let trail = |query: &str, who: &str| -> Value {
        get(&server.url(&format!("/api/v1/audit/consultations?{query}")), who).json()
    };
    let of_payslip = trail(&format!("record={payslip_ref}"), &auditor);
    let readings: Vec<(String, String, String)> = of_payslip["consultations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["who"].as_str().unwrap().to_owned(),
                c["reading"].as_str().unwrap().to_owned(),
                c["from"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        readings,
        [
            ("claire".to_owned(), "detail".to_owned(), "127.0.0.1".to_owned()),
            ("claire".to_owned(), "content".to_owned(), "127.0.0.1".to_owned())
        ],
        "{of_payslip}"
    );
    assert_eq!(of_payslip["consultations"][1]["version"], 1);
    let by_claire = trail("person=claire", &auditor);
    assert_eq!(by_claire["consultations"].as_array().unwrap().len(), 2, "{by_claire}");
    assert_eq!(
        trail(&format!("record={invoice_ref}"), &auditor)["consultations"],
        json!([]),
        "no trail where no personal data is"
    );
    let a = get(&server.url("/api/v1/audit/consultations"), &auditor);
    assert_eq!((a.status, a.error_code().as_str()), (422, "invalid_field"));
    // By pages: a full page says where the next begins; the last says
    // nothing more. Bounds out of range are a 400.
    let first = trail(&format!("record={payslip_ref}&limit=1"), &auditor);
    assert_eq!(first["consultations"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["consultations"][0]["reading"], "detail", "{first}");
    let next = first["next"].as_u64().expect("a full page has a next");
    assert_eq!(next, first["consultations"][0]["seq"].as_u64().unwrap());
    let second = trail(&format!("record={payslip_ref}&limit=1&after={next}"), &auditor);
    assert_eq!(second["consultations"][0]["reading"], "content", "{second}");
    let last = trail(
        &format!(
            "record={payslip_ref}&limit=1&after={}",
            second["next"].as_u64().unwrap()
        ),
        &auditor,
    );
    assert_eq!(
        (last["consultations"].clone(), last.get("next")),
        (json!([]), None),
        "{last}"
    );
    assert_eq!(of_payslip.get("next"), None, "a page not full is the last");
    for bad in ["limit=0", "limit=10001", "after=-1", "limit=abc"] {
        let a = get(
            &server.url(&format!("/api/v1/audit/consultations?person=claire&{bad}")),
            &auditor,
        );
        assert_eq!((a.status, a.error_code().as_str()), (400, "invalid_query"), "{bad}");
    }
    // The trail is for auditors; an agent asking is refused, and that too
    // is journaled.
    let a = get(
        &server.url(&format!("/api/v1/audit/consultations?record={invoice_ref}")),
        &agent,
    );
    assert_eq!(a.status, 403);

    // Ten failed sign-ins from one address: three journaled, the rest held
    // back (the brake answers 429 after five).
    for _ in 0..10 {
        let a = post_json(
            &server.url("/api/v1/login"),
            "",
            &json!({"user": "claire", "password": "pas le bon mot de passe"}),
        );
        assert!(matches!(a.status, 401 | 429), "{}", a.status);
    }
    let events = get(&server.url("/api/v1/audit/events"), &auditor).json();
    let refused: Vec<Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "access.refused")
        .map(|e| e["payload"].clone())
        .collect();
    let sign_ins: Vec<&Value> = refused.iter().filter(|p| p["refusal"] == "sign_in").collect();
    assert_eq!(sign_ins.len(), 3, "{refused:?}");
    assert!(
        sign_ins
            .iter()
            .all(|p| p["user"] == "claire" && p["from"] == "127.0.0.1")
    );
    let forbidden: Vec<&Value> = refused.iter().filter(|p| p["refusal"] == "forbidden").collect();
    assert_eq!(forbidden.len(), 1, "{refused:?}");
    assert_eq!(forbidden[0]["user"], "admin (agent)");
    assert!(
        forbidden[0]["request"]
            .as_str()
            .unwrap()
            .starts_with("GET /api/v1/audit/consultations")
    );
    server.stop();

    // The command line lists the trail too.
    let out = cli(&data, &["audit", "consultations", "--person", "claire"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    assert!(stdout(&out).contains(payslip_ref) && stdout(&out).contains("contenu"));
    assert_journal_follows_its_schema(&data);
}

/// A page of the signed-in person's session: its status, its content type
/// and its HTML.
fn page(server: &Server, session: &str, path: &str) -> (u16, String, String) {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let response = match agent.get(&server.url(path)).set("Cookie", session).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {path}: {e}"),
    };
    let status = response.status();
    let kind = response.header("content-type").unwrap_or_default().to_owned();
    (status, kind, response.into_string().expect("a page"))
}

/// More readings than a page shows: the auditors' page shows the first
/// 200, links to the next, and the next shows the rest; an address whose
/// parameter cannot be read is answered as a page in French, not as the
/// API's JSON.
#[test]
fn the_consultations_page_goes_on_past_two_hundred_readings_and_a_bad_address_is_a_french_page() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    for (user, role, password) in [
        ("claire", "archivist", "la paie du mois de mars"),
        ("odile", "auditor", "le contrôle des lectures"),
    ] {
        let a = post_json(
            &server.url("/api/v1/accounts"),
            &token,
            &json!({"user": user, "display_name": user, "role": role, "password": password}),
        );
        assert_eq!(a.status, 201, "{}", a.text());
    }
    let claire = claires_token(&server, &token);
    // 201 pay slips (personal data: each reading is journaled), deposited
    // by batches, each read once by Claire.
    let meta = json!({"node": "RH-DOS", "fields": {"matricule": "A-7", "birth_date": "1980-05-05"}}).to_string();
    let mut references = Vec::new();
    for batch in 0..7 {
        let texts: Vec<(String, String)> = (0..30)
            .map(|i| {
                let n = batch * 30 + i;
                (format!("paie-{n}.txt"), format!("Bulletin de paie n° {n}"))
            })
            .collect();
        let mut parts = Vec::new();
        for (name, text) in &texts {
            parts.push(Part {
                name: "metadata",
                filename: None,
                content: meta.as_bytes(),
            });
            parts.push(Part {
                name: "file",
                filename: Some(name.as_bytes()),
                content: text.as_bytes(),
            });
        }
        let a = post_multipart(&server.url("/api/v1/records/batch"), &claire, &multipart(&parts)).expect("batch");
        assert_eq!(a.status, 200, "{}", a.text());
        for r in a.json()["results"].as_array().expect("results") {
            references.push(
                r["record"]["reference"]
                    .as_str()
                    .unwrap_or_else(|| panic!("not deposited: {r}"))
                    .to_owned(),
            );
        }
    }
    references.truncate(201);
    for reference in &references {
        assert_eq!(
            get(&server.url(&format!("/api/v1/records/{reference}")), &claire).status,
            200
        );
    }
    let (status, session) = web_sign_in(&server, "odile", "le contrôle des lectures");
    assert_eq!(status, 303);
    let session = session.expect("a session");
    let (status, _, first) = page(&server, &session, "/controle/consultations?personne=claire");
    assert_eq!(status, 200, "{first}");
    let shown = |html: &str| references.iter().filter(|r| html.contains(r.as_str())).count();
    assert_eq!(shown(&first), 200, "a page shows 200 readings");
    let next = first
        .split("href=\"")
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("apres="))
        .expect("a full page links to the next")
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(first.contains("Consultations suivantes"), "{first}");
    let (status, _, second) = page(&server, &session, &next);
    assert_eq!(status, 200, "{second}");
    assert_eq!(shown(&second), 1, "the next page shows the rest: {second}");
    assert!(second.contains(references[200].as_str()), "the last reading is on it");
    assert!(!second.contains("Consultations suivantes"), "and it is the last");

    // A parameter that is not a number: a French page, status 400.
    for path in [
        "/controle/consultations?personne=claire&apres=abc",
        "/controle/consultations?personne=claire&apres=-1",
    ] {
        let (status, kind, html) = page(&server, &session, path);
        assert_eq!(status, 400, "{path}: {html}");
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(
            html.contains("Demande incorrecte") && html.contains("paramètre illisible"),
            "{html}"
        );
        assert!(!html.contains("deserialize"), "no parser's English words: {html}");
    }
    // A path segment that is not a number (an elimination's number): a
    // French page too.
    let (status, kind, html) = page(&server, &session, "/eliminations/abc");
    assert_eq!(status, 400, "{html}");
    assert!(kind.starts_with("text/html"), "{kind}");
    assert!(html.contains("ne désigne aucune page"), "{html}");
    // The API keeps its JSON for programs, in French too.
    let a = get(&server.url("/api/v1/search?q=paie&limit=abc"), &token);
    assert_eq!((a.status, a.error_code().as_str()), (400, "invalid_query"));
    assert!(
        a.error_message().starts_with("paramètres de l'adresse illisibles"),
        "{}",
        a.error_message()
    );
    server.stop();
}
