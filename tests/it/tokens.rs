//! API tokens: they expire, are listed to whom they belong (all to an
//! admin), are revoked for good, say why they are refused, and are kept
//! only as a hash.

use crate::common::*;
use serde_json::{Value, json};

/// Every file under `dir` that holds `needle`.
fn files_holding(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).unwrap().windows(needle.len()).any(|w| w == needle) {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn tokens_are_listed_revoked_refused_with_a_reason_and_kept_only_as_a_hash() {
    let Fresh { tmp: _tmp, data, token } = fresh_archive();
    let server = Server::start(&data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &token,
        &json!({"user": "alice", "display_name": "Alice Martin", "role": "agent"}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let issue = |body: Value| post_json(&server.url("/api/v1/tokens"), &token, &body);
    let alice = created(issue(json!({"role": "agent", "name": "poste", "account": "alice"})));
    let scanner = created(issue(
        json!({"role": "agent", "name": "numériseur", "application": true, "expires_in_days": 30}),
    ));
    // A person's token lasts 90 days, an application's what was asked.
    let days_left = |t: &Value| {
        let end = chrono::DateTime::parse_from_rfc3339(t["expires_at"].as_str().unwrap()).unwrap();
        (end.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_days()
    };
    assert!((89..=90).contains(&days_left(&alice)), "{alice}");
    assert!((29..=30).contains(&days_left(&scanner)), "{scanner}");
    for bad in [
        json!({"role": "agent", "name": "x", "expires_in_days": 0}),
        json!({"role": "agent", "name": "x", "expires_in_days": 5000}),
        json!({"role": "agent", "name": "x", "application": true, "account": "alice"}),
    ] {
        let a = issue(bad.clone());
        assert_eq!((a.status, a.error_code().as_str()), (422, "invalid_field"), "{bad}");
    }
    let alice_token = alice["token"].as_str().unwrap();
    let scanner_token = scanner["token"].as_str().unwrap();

    // Listed: all for the admin, her own for Alice; never the text.
    let listed = |who: &str| {
        let a = get(&server.url("/api/v1/tokens"), who);
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert!(!String::from_utf8_lossy(&a.body).contains("coffre_"), "no token text");
        a.json()["tokens"].as_array().unwrap().clone()
    };
    let mine = listed(alice_token);
    assert_eq!(mine.len(), 1);
    assert_eq!(
        (mine[0]["name"].as_str(), mine[0]["state"].as_str()),
        (Some("poste"), Some("active"))
    );
    assert_eq!(mine[0]["account"], "alice");
    let all = listed(&token);
    assert!(all.iter().any(|t| t["id"] == scanner["id"] && t["application"] == true));
    assert!(all.len() >= 3, "the installer's, Alice's and the scanner's");

    // Alice cannot revoke the scanner's token (she does not see it); the
    // admin can; the scanner is refused at once, saying why.
    let revoke = |who: &str, id: &Value| {
        post_json(
            &server.url(&format!("/api/v1/tokens/{id}/revoke")),
            who,
            &json!({"reason": "appareil remplacé"}),
        )
    };
    let a = revoke(alice_token, &scanner["id"]);
    assert_eq!((a.status, a.error_code().as_str()), (404, "token_not_found"));
    assert_eq!(get(&server.url("/api/v1/stats"), scanner_token).status, 200);
    let a = revoke(&token, &scanner["id"]);
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["state"], "revoked");
    assert_eq!(a.json()["revoked_reason"], "appareil remplacé");
    let refused = get(&server.url("/api/v1/stats"), scanner_token);
    assert_eq!((refused.status, refused.error_code().as_str()), (401, "token_revoked"));
    assert!(
        refused.error_message().contains("révoqué"),
        "{}",
        refused.error_message()
    );
    // Alice revokes her own.
    assert_eq!(revoke(alice_token, &alice["id"]).status, 200);
    assert_eq!(
        get(&server.url("/api/v1/tokens"), alice_token).error_code(),
        "token_revoked"
    );
    // An unknown token is still just unauthenticated.
    let a = get(&server.url("/api/v1/stats"), "coffre_0000");
    assert_eq!((a.status, a.error_code().as_str()), (401, "unauthenticated"));
    server.stop();

    // Only hashes are kept: no file of the data directory holds a token.
    for text in [alice_token, scanner_token, token.as_str()] {
        assert_eq!(
            files_holding(&data, text.as_bytes()),
            Vec::<std::path::PathBuf>::new(),
            "{text}"
        );
    }
    // And the command line lists and revokes too.
    let out = cli(&data, &["token", "list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("révoqué") && stdout(&out).contains("numériseur"),
        "{}",
        stdout(&out)
    );
    let installer = all.iter().find(|t| t["name"] == "admin").unwrap()["id"].to_string();
    let out = cli(&data, &["token", "revoke", &installer, "--reason", "remplacé"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = cli(&data, &["token", "revoke", "999999"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("aucun jeton"), "{}", stderr(&out));
    assert_journal_follows_its_schema(&data);
}
