//! People's accounts over HTTP and at the command line: opened by an
//! admin, signed in with a password for a token that acts in the person's
//! name, disabled, braked after failures.

use crate::common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::process::{Command, Stdio};

fn actors(server: &Server, admin: &str) -> Vec<(String, String)> {
    let events = get(&server.url("/api/v1/audit/events?after=0"), admin).json();
    events["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn a_person_signs_in_for_a_token_that_acts_in_their_name() {
    let Fresh {
        tmp: _tmp,
        data,
        token: admin,
    } = fresh_archive();
    let server = Server::start(&data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &admin,
        &json!({"user": "Agnes", "display_name": "Agnès Martin", "role": "agent", "password": "une longue phrase de passe"}),
    );
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let account = a.json();
    assert_eq!(account["user"], "agnes");
    assert!(account.get("password").is_none() && !a.body.windows(6).any(|w| w == b"argon2"));

    // The same name again is refused.
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &admin,
        &json!({"user": "agnes", "display_name": "Autre", "role": "agent"}),
    );
    assert_eq!((a.status, a.error_code().as_str()), (409, "account_exists"));
    // A short password is refused with the field named.
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &admin,
        &json!({"user": "bruno", "display_name": "Bruno", "role": "agent", "password": "court"}),
    );
    assert_eq!((a.status, a.error_code().as_str()), (422, "invalid_field"));
    assert_eq!(a.json()["error"]["details"]["field"], "password");

    let a = login(&server, "agnes", "une longue phrase de passe");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let token = a.json()["token"].as_str().expect("token").to_owned();
    assert_eq!(a.json()["role"], "agent");
    let d = deposit(
        &server,
        &token,
        b"Facture de la boulangerie",
        "f.txt",
        &json!({"node": "FIN-FAC", "date": "2024-03-15"}),
    )
    .expect("deposit");
    assert_eq!(d.status, 201, "{}", String::from_utf8_lossy(&d.body));
    let actors = actors(&server, &admin);
    assert!(
        actors.contains(&("record.ingested".into(), "agnes (agent)".into())),
        "{actors:?}"
    );
    assert!(
        actors.contains(&("account.created".into(), "admin (admin)".into())),
        "{actors:?}"
    );
    assert!(
        !actors
            .iter()
            .any(|(_, who)| who.starts_with("token:") || who == "cli:unknown"),
        "{actors:?}"
    );

    // An agent may not manage accounts.
    let a = get(&server.url("/api/v1/accounts"), &token);
    assert_eq!(a.status, 403);
    let listed: Value = get(&server.url("/api/v1/accounts"), &admin).json();
    let users: Vec<&str> = listed
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|a| a["user"].as_str())
        .collect();
    assert_eq!(users, ["admin", "agnes"]);

    // Disabled: no sign-in, and the token stops working at once.
    let a = request(
        "PATCH",
        &server.url("/api/v1/accounts/agnes"),
        &admin,
        &[],
        Some(("application/json", br#"{"disabled": true}"#)),
    )
    .expect("PATCH");
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(get(&server.url("/api/v1/search?q=x"), &token).status, 401);
    let a = login(&server, "agnes", "une longue phrase de passe");
    assert_eq!((a.status, a.error_code().as_str()), (401, "sign_in_failed"));
}

#[test]
fn failed_sign_ins_are_braked() {
    let Fresh {
        tmp: _tmp,
        data,
        token: admin,
    } = fresh_archive();
    let server = Server::start(&data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &admin,
        &json!({"user": "carla", "display_name": "Carla", "role": "agent", "password": "une longue phrase de passe"}),
    );
    assert_eq!(a.status, 201);
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let a = login(&server, "carla", "mauvais mot de passe");
        statuses.push(a.error_code());
    }
    assert_eq!(&statuses[..5], ["sign_in_failed"; 5]);
    assert!(statuses[5..].iter().all(|c| c == "too_many_attempts"), "{statuses:?}");
    let a = login(&server, "carla", "une longue phrase de passe");
    assert_eq!(
        (a.status, a.error_code().as_str()),
        (429, "too_many_attempts"),
        "even the right password waits"
    );
    assert!(
        a.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("réessayez")
    );
}

#[test]
fn accounts_are_opened_at_the_command_line_with_a_password_from_stdin() {
    let Fresh {
        tmp: _tmp,
        data,
        token: _,
    } = fresh_archive();
    let mut child = Command::new(bin())
        .arg("--data")
        .arg(&data)
        .args([
            "account",
            "create",
            "denis",
            "--role",
            "archivist",
            "--display-name",
            "Denis Roy",
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"la phrase de passe de Denis\n")
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("compte denis ouvert"), "{}", stdout(&out));

    let out = cli(&data, &["account", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["user"], "denis");
    assert_eq!(lines[1]["role"], "archivist");

    // An unknown role is bad usage (exit 2), in one line.
    let out = cli(
        &data,
        &[
            "account",
            "create",
            "eve",
            "--role",
            "chef",
            "--display-name",
            "Eve",
            "--no-password",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("n'est pas un rôle"), "{}", stderr(&out));

    let server = Server::start(&data, &[]);
    let a = login(&server, "denis", "la phrase de passe de Denis");
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.json()["role"], "archivist");
}
