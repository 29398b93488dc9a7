//! The work lists' daily summary, mailed through a real SMTP server
//! (Python's `aiosmtpd`, from PyPI, started here on loopback and keeping
//! what it receives in a Maildir): on demand (`POST /worklist/summaries`)
//! and each day at the hour of the mail file, once.

use crate::common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An SMTP server on loopback that keeps every message in a Maildir.
struct Smtp {
    child: Child,
    port: u16,
    maildir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path) -> Smtp {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let maildir = dir.join("courrier");
        let child = Command::new(pytool("AIOSMTPD", "aiosmtpd"))
            .args([
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "aiosmtpd did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        Smtp { child, port, maildir }
    }

    /// Every message received, as text.
    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.maildir.join(sub)) {
                for entry in entries.flatten() {
                    out.push(std::fs::read_to_string(entry.path()).expect("a message"));
                }
            }
        }
        out
    }

    /// Waits until `n` messages are in, and gives them.
    fn wait_for(&self, n: usize) -> Vec<String> {
        let started = Instant::now();
        loop {
            let messages = self.messages();
            if messages.len() >= n || started.elapsed() > Duration::from_secs(30) {
                return messages;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message read as a mail client reads it: its subject, its `To` and
/// `From` addresses, its text.
struct Read {
    subject: String,
    to: String,
    from: String,
    body: String,
}

fn read(message: &str) -> Read {
    let parsed = mail_parser::MessageParser::default()
        .parse(message.as_bytes())
        .expect("a message");
    let address = |a: Option<&mail_parser::Address>| {
        a.and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_owned()
    };
    Read {
        subject: parsed.subject().unwrap_or_default().to_owned(),
        to: address(parsed.to()),
        from: address(parsed.from()),
        body: parsed.body_text(0).unwrap_or_default().into_owned(),
    }
}

fn mail_file(dir: &Path, port: u16, at: &str) -> PathBuf {
    let path = dir.join("courriel.toml");
    std::fs::write(
        &path,
        format!(
            "[smtp]\nserver = \"smtp://127.0.0.1:{port}\"\nfrom = \"coffre <coffre@cd99.example>\"\n\n\
             [summary]\nat = \"{at}\"\nurl = \"https://coffre.cd99.example\"\n"
        ),
    )
    .expect("the mail file");
    path
}

fn patch(server: &Server, admin: &str, user: &str, body: Value) -> Answer {
    request(
        "PATCH",
        &server.url(&format!("/api/v1/accounts/{user}")),
        admin,
        &[],
        Some(("application/json", body.to_string().as_bytes())),
    )
    .expect("PATCH")
}

#[test]
fn each_person_gets_what_waits_for_them_by_mail_once_a_day_and_on_demand() {
    let Fresh { tmp, data, token } = fresh_archive();
    let smtp = Smtp::start(tmp.path());

    // Without a mail file, the server says it mails nothing.
    let server = Server::start(&data, &[]);
    let refused = post_json(&server.url("/api/v1/worklist/summaries"), &token, &json!({}));
    assert_eq!(
        (refused.status, refused.error_code().as_str()),
        (409, "mail_not_configured"),
        "{}",
        refused.text()
    );
    // Alice (Voirie) has an address and two invoices waiting, one overdue;
    // Bruno (Culture) has an address and nothing; Carole has no address.
    for (user, service) in [("alice", "Voirie"), ("bruno", "Culture"), ("carole", "Voirie")] {
        let created = post_json(
            &server.url("/api/v1/accounts"),
            &token,
            &json!({"user": user, "display_name": format!("{user} Martin"), "role": "agent", "password": "une phrase de passe assez longue"}),
        );
        assert_eq!(created.status, 201, "{}", created.text());
        assert_eq!(patch(&server, &token, user, json!({"service": service})).status, 200);
    }
    let wrong = patch(&server, &token, "alice", json!({"email": "alice chez cd99"}));
    assert_eq!(
        (wrong.status, wrong.error_code().as_str()),
        (422, "invalid_field"),
        "{}",
        wrong.text()
    );
    let set = patch(&server, &token, "alice", json!({"email": "alice@cd99.example"}));
    assert_eq!(set.json()["email"], "alice@cd99.example");
    assert_eq!(
        patch(&server, &token, "bruno", json!({"email": "bruno@cd99.example"})).status,
        200
    );
    let today = chrono::Utc::now().date_naive();
    let mut references = Vec::new();
    for (n, days_ago) in [(1, 25), (2, 2)] {
        let received = today - chrono::Duration::days(days_ago);
        let record = created(
            deposit(
                &server,
                &token,
                format!("Facture n° FA-{n}\nTotal TTC : 1200.00 EUR\n").as_bytes(),
                &format!("facture-{n}.txt"),
                &json!({"node": "FIN-FAC", "title": format!("Facture FA-{n}"), "service": "Voirie",
                        "date": received.to_string(),
                        "fields": {"fournisseur": "Papeterie Dupont", "numero_facture": format!("FA-{n}"),
                                   "montant_ttc": "1200.00", "date_reception": received.to_string()}}),
            )
            .expect("a deposit"),
        );
        references.push(record["reference"].as_str().expect("a reference").to_owned());
    }
    server.stop();

    // With one, an admin sends the summaries now.
    let file = mail_file(tmp.path(), smtp.port, "23:59");
    let file_arg = file.to_str().expect("a path");
    let server = Server::start(&data, &["--mail", file_arg]);
    let agent = new_token(&server, &token, "agent", "guichet");
    let forbidden = post_json(&server.url("/api/v1/worklist/summaries"), &agent, &json!({}));
    assert_eq!(forbidden.status, 403);
    let answer = post_json(&server.url("/api/v1/worklist/summaries"), &token, &json!({}));
    assert_eq!(answer.status, 200, "{}", answer.text());
    let report = answer.json();
    assert_eq!(report["sent"], json!(["alice"]), "{report}");
    assert_eq!(report["nothing_waiting"], 1, "{report}");
    assert_eq!(report["failed"], json!([]), "{report}");
    let messages = smtp.wait_for(1);
    assert_eq!(messages.len(), 1, "one message, Alice's");
    let message = read(&messages[0]);
    assert_eq!(message.to, "alice@cd99.example");
    assert_eq!(message.from, "coffre@cd99.example");
    assert_eq!(message.subject, "coffre : 2 documents à traiter, dont 1 en retard");
    let body = message.body;
    assert!(body.contains("Bonjour alice Martin"), "{body}");
    assert!(body.contains("2 documents, dont 1 en retard"), "{body}");
    assert!(body.contains("en retard de 15 jours"), "{body}");
    let first = body.find(&references[0]).expect("the overdue invoice");
    let second = body.find(&references[1]).expect("the other invoice");
    assert!(first < second, "overdue first: {body}");
    assert!(
        body.contains(&format!("https://coffre.cd99.example/documents/{}", references[0])),
        "{body}"
    );
    assert!(body.contains("https://coffre.cd99.example/mon-compte"), "{body}");
    server.stop();

    // Each day at the hour: a server started after it sends the day's
    // summaries once, and not again when restarted the same day.
    let file = mail_file(tmp.path(), smtp.port, "00:00");
    let server = Server::start(&data, &["--mail", file.to_str().expect("a path")]);
    let messages = smtp.wait_for(2);
    assert_eq!(messages.len(), 2, "the day's summary");
    let started = Instant::now();
    while !data.join("mail-summary.json").exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(data.join("mail-summary.json").exists());
    server.stop();
    let server = Server::start(&data, &["--mail", file.to_str().expect("a path")]);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(smtp.messages().len(), 2, "not twice the same day");
    server.stop();

    // The change of address is in the journal, as its schema says.
    assert_journal_follows_its_schema(&data);
}
