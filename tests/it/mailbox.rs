//! Mailboxes: messages in a folder of a real IMAP server (Debian's
//! dovecot, started here on loopback) become records in the channel's
//! account, each attachment linked to its message, or the attachments
//! alone by rule; each message is then moved to the done folder, or to the
//! failure folder with a note giving the reason (too large, unreadable, no
//! attachment where only attachments are kept); nothing twice, also when
//! the server restarts before a message was put away.

use crate::capture::{ingested, wait_until};
use crate::common::*;
use crate::dovecot::{Dovecot, wire};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const USER: &str = "courrier@mairie.test";
const PASSWORD: &str = "mot-de-passe-imap";

/// Dovecot with the account the capture file reads, in clear and in TLS
/// (a certificate for `localhost` signed by the test's CA, `ca.pem`).
fn dovecot() -> Dovecot {
    let certify = |at: &Path| {
        localhost_certificate(at);
    };
    Dovecot::start(USER, PASSWORD, Some(&certify))
}

/// A message with text attachments.
fn message(from: &str, subject: &str, body: &str, attachments: &[(&str, &str)]) -> Vec<u8> {
    let mut text = format!(
        "From: {from}\r\nTo: Courrier <{USER}>\r\nSubject: {subject}\r\n\
         Date: Fri, 15 Mar 2024 10:00:00 +0100\r\nMIME-Version: 1.0\r\n"
    );
    if attachments.is_empty() {
        text.push_str(&format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"));
        return text.into_bytes();
    }
    text.push_str("Content-Type: multipart/mixed; boundary=\"SEP\"\r\n\r\n--SEP\r\n");
    text.push_str(&format!("Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"));
    for (name, content) in attachments {
        text.push_str(&format!(
            "--SEP\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{content}\r\n"
        ));
    }
    text.push_str("--SEP--\r\n");
    text.into_bytes()
}

/// The capture file reading the inbox in the name of `courrier`: invoices
/// by default, and what comes from Chorus Pro kept as attachments only.
fn capture_file(dir: &Path, port: u16) -> PathBuf {
    capture_file_for(dir, &format!("imap://127.0.0.1:{port}"), "")
}

/// The capture file reading the inbox at `server`, with `more` settings.
fn capture_file_for(dir: &Path, server: &str, more: &str) -> PathBuf {
    std::fs::write(dir.join("imap.secret"), format!("{PASSWORD}\n")).unwrap();
    let file = dir.join("capture.toml");
    std::fs::write(
        &file,
        format!(
            "[[mailboxes]]\nname = \"courrier\"\nserver = \"{server}\"\nuser = \"{USER}\"\n{more}\
             password_file = \"imap.secret\"\ndepositor = \"courrier\"\nnode = \"FIN-FAC\"\n\
             service = \"Courrier\"\nmax_size = 4096\npoll = \"1s\"\n\
             [[mailboxes.rules]]\nfrom = \"chorus-pro\"\nkeep = \"attachments\"\n"
        ),
    )
    .unwrap();
    file
}

/// A fresh archive with the agent account `courrier`.
fn archive_with_courrier() -> Fresh {
    let fresh = fresh_archive();
    let server = Server::start(&fresh.data, &[]);
    let a = post_json(
        &server.url("/api/v1/accounts"),
        &fresh.token,
        &json!({"user": "courrier", "display_name": "Boîte du courrier", "role": "agent"}),
    );
    assert_eq!(a.status, 201, "{}", a.text());
    server.stop();
    fresh
}

fn records_of(server: &Server, admin: &str) -> Vec<Value> {
    ingested(server, admin)
        .into_iter()
        .filter(|p| p["channel"] == "messagerie:courrier")
        .collect()
}

#[test]
fn messages_become_linked_records_by_rule_and_are_put_away_with_the_reason_when_refused() {
    let dovecot = dovecot();
    let fresh = archive_with_courrier();
    let admin = fresh.token.clone();
    // An invoice with two attachments, one through Chorus Pro (attachments
    // only), one too large, one that is not a message, and one from Chorus
    // Pro without any attachment.
    dovecot.deliver(&message(
        "Papeterie Dupont <factures@papeterie.example>",
        "Facture F-2024-118",
        "Veuillez trouver notre facture et le bon de commande.",
        &[
            (
                "facture-F-2024-118.txt",
                "Facture F-2024-118 : ramettes de papier, 1 200,00 EUR TTC.",
            ),
            (
                "bon-de-commande.txt",
                "Bon de commande BC-2024-031, signé le 1er mars 2024.",
            ),
        ],
    ));
    dovecot.deliver(&message(
        "Chorus Pro <noreply@chorus-pro.gouv.fr>",
        "Dépôt d'une facture",
        "Une facture a été déposée pour votre structure.",
        &[(
            "facture-chorus-2024-77.txt",
            "Facture 2024-77 déposée sur Chorus Pro, 530,00 EUR TTC.",
        )],
    ));
    let big = "x".repeat(6000);
    dovecot.deliver(&message(
        "Imprimerie <devis@imprimerie.example>",
        "Devis volumineux",
        "Voir pièce jointe.",
        &[("devis.txt", &big)],
    ));
    dovecot.deliver(b"rien qui ressemble a un message\r\n");
    dovecot.deliver(&message(
        "Chorus Pro <noreply@chorus-pro.gouv.fr>",
        "Rappel sans pièce",
        "Rappel : une facture attend.",
        &[],
    ));

    let file = capture_file(fresh.tmp.path(), dovecot.port);
    let server = Server::start(&fresh.data, &["--capture", file.to_str().unwrap()]);
    let emptied = Instant::now();
    while !dovecot.subjects("INBOX").is_empty() {
        assert!(
            emptied.elapsed() < Duration::from_secs(60),
            "the inbox was not emptied: {:?}\nserver: {}\ndovecot: {}",
            dovecot.subjects("INBOX"),
            std::fs::read_to_string(&server.log).unwrap_or_default(),
            std::fs::read_to_string(dovecot.dir.path().join("dovecot.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // The invoice message and its two attachments, linked to it; the
    // Chorus attachment alone. In the channel's account, its service.
    let records = records_of(&server, &admin);
    assert_eq!(records.len(), 4, "{records:#?}");
    let message_ref = records
        .iter()
        .find(|r| r["version"]["media_type"] == "message/rfc822")
        .map(|r| r["reference"].as_str().unwrap().to_owned())
        .expect("the message archived");
    let read = get(&server.url(&format!("/api/v1/records/{message_ref}")), &admin).json();
    assert_eq!(read["title"], "Facture F-2024-118", "{read}");
    assert_eq!(read["date"], "2024-03-15", "{read}");
    assert_eq!(read["service"], "Courrier", "{read}");
    assert_eq!(read["channel"], "messagerie:courrier", "{read}");
    assert_eq!(read["linked_here"], 2, "{read}");
    let attached: Vec<&str> = read["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(attached, ["attachment_of", "attachment_of"], "{read}");
    let chorus = records
        .iter()
        .find(|r| {
            r["links"].is_null()
                && r["version"]["media_type"] != "message/rfc822"
                && r["reference"] != read["links"][0]["reference"]
                && r["reference"] != read["links"][1]["reference"]
        })
        .expect("the Chorus attachment");
    let chorus = get(
        &server.url(&format!("/api/v1/records/{}", chorus["reference"].as_str().unwrap())),
        &admin,
    )
    .json();
    assert_eq!(
        chorus["versions"][0]["filename"], "facture-chorus-2024-77.txt",
        "{chorus}"
    );
    assert!(chorus["links"].is_null(), "kept alone: {chorus}");

    // Put away: the two archived in the done folder; the three refused in
    // the failure folder, each beside a note saying why, in French.
    assert_eq!(
        dovecot.subjects("Archivés"),
        ["Dépôt d'une facture", "Facture F-2024-118"]
    );
    let failed = dovecot.subjects("Non archivés");
    assert_eq!(
        failed
            .iter()
            .filter(|s| s.starts_with("[coffre] Non archivé : "))
            .count(),
        3,
        "a note for each refused message: {failed:?}"
    );
    assert!(
        failed.contains(&"Devis volumineux".to_owned())
            && failed.contains(&"Rappel sans pièce".to_owned())
            && failed.contains(&"[coffre] Non archivé : Devis volumineux".to_owned()),
        "{failed:?}"
    );
    assert_eq!(dovecot.count("Non archivés"), 6, "three messages and their three notes");
    let notes = dovecot.texts("Non archivés").join("\n");
    assert!(notes.contains("plus que les 4096 admis"), "{notes}");
    assert!(notes.contains("ce n'est pas un message lisible"), "{notes}");
    assert!(notes.contains("aucune pièce jointe"), "{notes}");

    // Metrics count by channel and outcome.
    let metrics = String::from_utf8(get(&server.url("/metrics"), &admin).body).unwrap();
    assert!(
        metrics.contains("coffre_capture_files_total{channel=\"messagerie:courrier\",outcome=\"refused\"} 3"),
        "{metrics}"
    );

    // A message put back in the inbox (the server restarted before it was
    // moved) is not archived twice.
    server.stop();
    let mut session = dovecot.session();
    session.select(wire("Archivés")).expect("select");
    session.copy("1:*", "INBOX").expect("copy back");
    let _ = session.logout();
    let server = Server::start(&fresh.data, &["--capture", file.to_str().unwrap()]);
    wait_until("the inbox emptied again", Duration::from_secs(60), || {
        dovecot.subjects("INBOX").is_empty()
    });
    assert_eq!(records_of(&server, &admin).len(), 4, "nothing archived twice");
    assert_eq!(dovecot.subjects("Archivés").len(), 4);
    server.stop();
    assert_journal_follows_its_schema(&fresh.data);
}

#[test]
fn a_mailbox_over_tls_is_read_only_when_its_certificate_is_trusted() {
    let dovecot = dovecot();
    let fresh = archive_with_courrier();
    let admin = fresh.token.clone();
    dovecot.deliver(&message(
        "Mairie annexe <annexe@mairie.test>",
        "Délibération du 12 mars 2024",
        "Extrait du registre des délibérations, séance du 12 mars 2024.",
        &[],
    ));
    let server_address = format!("imaps://localhost:{}", dovecot.tls_port.expect("TLS"));
    // The département's CA not given: the server's certificate is not
    // trusted, nothing is read, the message stays.
    let file = capture_file_for(fresh.tmp.path(), &server_address, "");
    let server = Server::start(&fresh.data, &["--capture", file.to_str().unwrap()]);
    wait_until("a refused certificate said", Duration::from_secs(30), || {
        std::fs::read_to_string(&server.log)
            .unwrap_or_default()
            .contains("mailbox not read")
    });
    assert_eq!(dovecot.subjects("INBOX"), ["Délibération du 12 mars 2024"]);
    assert!(records_of(&server, &admin).is_empty());
    server.stop();
    // Given: read, archived, put away.
    let ca = dovecot.dir.path().join("ca.pem");
    let file = capture_file_for(
        fresh.tmp.path(),
        &server_address,
        &format!("ca_file = \"{}\"\n", ca.display()),
    );
    let server = Server::start(&fresh.data, &["--capture", file.to_str().unwrap()]);
    wait_until("the inbox emptied", Duration::from_secs(60), || {
        dovecot.subjects("INBOX").is_empty()
    });
    let records = records_of(&server, &admin);
    assert_eq!(records.len(), 1, "{records:#?}");
    assert_eq!(dovecot.subjects("Archivés"), ["Délibération du 12 mars 2024"]);
    server.stop();
}

#[test]
fn an_attachment_without_a_name_is_archived_under_its_place() {
    let dovecot = dovecot();
    let fresh = archive_with_courrier();
    let admin = fresh.token.clone();
    // An image shown in the text: no file name, no disposition.
    let message = format!(
        "From: Services techniques <st@mairie.test>\r\nTo: <{USER}>\r\nSubject: Photo du chantier\r\n\
         Date: Mon, 18 Mar 2024 09:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/related; boundary=\"SEP\"\r\n\r\n--SEP\r\n\
         Content-Type: text/html; charset=utf-8\r\n\r\n<p>Voici le chantier : <img src=\"cid:photo\"></p>\r\n\
         --SEP\r\nContent-Type: image/png\r\nContent-ID: <photo>\r\nContent-Transfer-Encoding: base64\r\n\r\n\
         iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\r\n\
         --SEP--\r\n"
    );
    dovecot.deliver(message.as_bytes());
    let file = capture_file(fresh.tmp.path(), dovecot.port);
    let server = Server::start(&fresh.data, &["--capture", file.to_str().unwrap()]);
    wait_until("the inbox emptied", Duration::from_secs(60), || {
        dovecot.subjects("INBOX").is_empty()
    });
    assert_eq!(dovecot.subjects("Archivés"), ["Photo du chantier"]);
    let records = records_of(&server, &admin);
    assert_eq!(records.len(), 2, "{records:#?}");
    let image = records
        .iter()
        .find(|r| r["version"]["media_type"] == "image/png")
        .expect("the image archived");
    let image = get(
        &server.url(&format!("/api/v1/records/{}", image["reference"].as_str().unwrap())),
        &admin,
    )
    .json();
    assert_eq!(image["versions"][0]["filename"], "piece-jointe-1", "{image}");
    assert_eq!(image["links"][0]["kind"], "attachment_of", "{image}");
    server.stop();
}
