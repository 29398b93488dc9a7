//! Notices to people by e-mail: each morning, the summary of what waits for
//! each person in the processing circuits (their work list, overdue first),
//! mailed to the address on their account, through the SMTP server the
//! operator names (`serve --mail FILE`). The message's French words are
//! `documents::worklist_summary`'s; SMTP and the message's encoding are
//! lettre's.
//!
//! The day's summary leaves once: the day it was last sent is kept in the
//! data directory (`mail-summary.json`), so a restart in the morning sends
//! nothing twice, and a server down at the hour sends it when it comes back
//! the same day.

use crate::archive::{Actor, Archive, ArchiveError};
use chrono::{Local, NaiveDate, NaiveTime};
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The most items one summary lists (the rest is counted).
pub const SUMMARY_ITEMS_MAX: usize = 200;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// `smtp://`: STARTTLS when the server offers it, else in clear (a
    /// relay on this machine or a trusted network).
    Opportunistic,
    /// `smtp+starttls://`: STARTTLS, or nothing is sent.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// What the mail file says, checked.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// The server's host name.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// How the connection is protected.
    pub protection: Protection,
    /// The sender (`coffre <ne-pas-repondre@exemple.fr>`).
    pub from: Mailbox,
    /// The account and password to authenticate with, if any.
    pub credentials: Option<(String, String)>,
    /// A CA file (PEM) trusted besides Mozilla's roots.
    pub ca_file: Option<PathBuf>,
    /// When the summary leaves each day (the machine's local time).
    pub at: NaiveTime,
    /// The address people reach the pages at, for the links.
    pub base_url: String,
    /// The most items listed in one summary.
    pub items: usize,
}

/// A mail file that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MailFileError(pub String);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MailFile {
    smtp: SmtpFile,
    #[serde(default)]
    summary: SummaryFile,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    server: String,
    from: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryFile {
    #[serde(default = "default_at")]
    at: String,
    #[serde(default = "default_base_url")]
    url: String,
    #[serde(default = "default_items")]
    items: usize,
}

impl Default for SummaryFile {
    fn default() -> Self {
        SummaryFile {
            at: default_at(),
            url: default_base_url(),
            items: default_items(),
        }
    }
}

fn default_at() -> String {
    "07:30".into()
}

fn default_base_url() -> String {
    "http://127.0.0.1:8080".into()
}

fn default_items() -> usize {
    50
}

/// Reads and checks a mail file (`serve --mail FILE`); paths in it are
/// relative to its folder.
pub fn read_mail_file(path: &Path) -> Result<MailSettings, MailFileError> {
    let problem = |p: String| MailFileError(format!("{}: {p}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    let beside = path.parent().unwrap_or(Path::new("."));
    parse_mail_file(&text, beside).map_err(problem)
}

fn parse_mail_file(text: &str, beside: &Path) -> Result<MailSettings, String> {
    let file: MailFile = toml_edit::de::from_str(text).map_err(|e| e.to_string())?;
    let (protection, rest) = if let Some(rest) = file.smtp.server.strip_prefix("smtps://") {
        (Protection::Implicit, rest)
    } else if let Some(rest) = file.smtp.server.strip_prefix("smtp+starttls://") {
        (Protection::StartTls, rest)
    } else if let Some(rest) = file.smtp.server.strip_prefix("smtp://") {
        (Protection::Opportunistic, rest)
    } else {
        return Err(format!(
            "smtp.server: {:?}: smtp://HOST[:PORT], smtp+starttls://HOST[:PORT] or smtps://HOST[:PORT]",
            file.smtp.server
        ));
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((host, port)) => (
            host,
            port.parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| format!("smtp.server: {port:?} is not a port"))?,
        ),
        None => (
            rest,
            match protection {
                Protection::Implicit => 465,
                Protection::StartTls => 587,
                Protection::Opportunistic => 25,
            },
        ),
    };
    if host.is_empty() || host.contains(['/', '@', ' ']) {
        return Err(format!("smtp.server: {host:?} is not a host name"));
    }
    let from: Mailbox = file
        .smtp
        .from
        .parse()
        .map_err(|e| format!("smtp.from: {:?}: {e}", file.smtp.from))?;
    let credentials = match (file.smtp.user, file.smtp.password_file) {
        (None, None) => None,
        (Some(user), Some(password_file)) => {
            let password_path = beside.join(password_file);
            let password = std::fs::read_to_string(&password_path)
                .map_err(|e| format!("smtp.password_file: {}: {e}", password_path.display()))?;
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            if password.is_empty() {
                return Err(format!("smtp.password_file: {} is empty", password_path.display()));
            }
            Some((user, password))
        }
        _ => return Err("smtp.user and smtp.password_file go together".into()),
    };
    let at = NaiveTime::parse_from_str(file.summary.at.trim(), "%H:%M")
        .map_err(|_| format!("summary.at: {:?}: an hour such as 07:30", file.summary.at))?;
    let base_url = file.summary.url.trim().trim_end_matches('/').to_owned();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(format!(
            "summary.url: {base_url:?}: the address people reach the pages at (https://…)"
        ));
    }
    if !(1..=SUMMARY_ITEMS_MAX).contains(&file.summary.items) {
        return Err(format!(
            "summary.items: {}: from 1 to {SUMMARY_ITEMS_MAX}",
            file.summary.items
        ));
    }
    Ok(MailSettings {
        host: host.to_owned(),
        port,
        protection,
        from,
        credentials,
        ca_file: file.smtp.ca_file.map(|f| beside.join(f)),
        at,
        base_url,
        items: file.summary.items,
    })
}

/// Sends messages through the configured SMTP server.
pub struct Mailer {
    transport: SmtpTransport,
    from: Mailbox,
}

impl Mailer {
    /// A mailer for `settings` (the CA file read now).
    pub fn new(settings: &MailSettings) -> Result<Self, String> {
        let tls = if settings.protection == Protection::Opportunistic && settings.ca_file.is_none() {
            TlsParameters::new(settings.host.clone())
        } else {
            let mut builder = TlsParameters::builder(settings.host.clone());
            if let Some(ca) = &settings.ca_file {
                let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
                let certificate = Certificate::from_pem(&pem).map_err(|e| format!("{}: {e}", ca.display()))?;
                builder = builder.add_root_certificate(certificate);
            }
            builder.build_rustls()
        }
        .map_err(|e| format!("TLS: {e}"))?;
        let mut transport = SmtpTransport::builder_dangerous(settings.host.as_str())
            .port(settings.port)
            .timeout(Some(Duration::from_secs(30)))
            .tls(match settings.protection {
                Protection::Opportunistic => Tls::Opportunistic(tls),
                Protection::StartTls => Tls::Required(tls),
                Protection::Implicit => Tls::Wrapper(tls),
            });
        if let Some((user, password)) = &settings.credentials {
            transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Mailer {
            transport: transport.build(),
            from: settings.from.clone(),
        })
    }

    /// Sends a plain-text message (UTF-8) to `to`.
    pub fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("{to:?}: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport.send(&message).map(|_| ()).map_err(|e| e.to_string())
    }
}

/// What a round of summaries did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SummaryReport {
    /// The people a summary was mailed to (user names).
    pub sent: Vec<String>,
    /// Those with an address and nothing waiting (no mail).
    pub nothing_waiting: usize,
    /// Those it could not be mailed to, and why.
    pub failed: Vec<(String, String)>,
}

/// Mails each person with an address on an enabled account the summary of
/// their work list on `today`, if something waits for them.
pub fn send_summaries(
    archive: &Archive,
    mailer: &Mailer,
    settings: &MailSettings,
    today: NaiveDate,
) -> Result<SummaryReport, ArchiveError> {
    let mut report = SummaryReport::default();
    for account in archive.accounts(&Actor::system())? {
        let Some(email) = account.email.as_deref().filter(|_| !account.disabled) else {
            continue;
        };
        let actor = Actor::person(&account);
        let list = archive.worklist(&actor, settings.items)?;
        let Some((subject, body)) =
            crate::documents::worklist_summary(&account.display_name, &list, today, &settings.base_url)
        else {
            report.nothing_waiting += 1;
            continue;
        };
        match mailer.send(email, &subject, body) {
            Ok(()) => report.sent.push(account.user.to_string()),
            Err(e) => {
                tracing::warn!(user = %account.user, error = %e, "the work list's summary could not be mailed");
                report.failed.push((account.user.to_string(), e));
            }
        }
    }
    Ok(report)
}

/// Where the day the summaries were last sent is kept.
fn state_path(archive: &Archive) -> PathBuf {
    archive.data_dir().path().join("mail-summary.json")
}

#[derive(serde::Serialize, Deserialize)]
struct SentState {
    day: NaiveDate,
}

fn last_sent(archive: &Archive) -> Option<NaiveDate> {
    let text = std::fs::read_to_string(state_path(archive)).ok()?;
    serde_json::from_str::<SentState>(&text).ok().map(|s| s.day)
}

fn note_sent(archive: &Archive, day: NaiveDate) -> std::io::Result<()> {
    let path = state_path(archive);
    let partial = path.with_extension("json.partial");
    std::fs::write(
        &partial,
        serde_json::to_vec(&SentState { day }).map_err(std::io::Error::other)?,
    )?;
    std::fs::rename(partial, path)
}

/// Starts the thread that mails the summaries each day at the hour the
/// settings say; none without settings, or on a replica (its primary
/// mails).
pub fn spawn(
    archive: Arc<Archive>,
    settings: Option<Arc<MailSettings>>,
    stop: Arc<AtomicBool>,
) -> Result<Option<std::thread::JoinHandle<()>>, String> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    if archive.is_follower() {
        tracing::warn!("a replica mails nothing: the work lists' summaries are left to the primary server");
        return Ok(None);
    }
    let mailer = Mailer::new(&settings)?;
    tracing::info!(server = %settings.host, at = %settings.at, "mailing the work lists' summaries each day");
    std::thread::Builder::new()
        .name("mail-summaries".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let now = Local::now();
                let today = now.date_naive();
                if now.time() >= settings.at && last_sent(&archive) < Some(today) {
                    match send_summaries(&archive, &mailer, &settings, today) {
                        Ok(report) => {
                            tracing::info!(
                                sent = report.sent.len(),
                                failed = report.failed.len(),
                                "work lists' summaries mailed"
                            );
                            if let Err(e) = note_sent(&archive, today) {
                                tracing::warn!(error = %e, "could not note the day the summaries left");
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "the work lists' summaries could not be made"),
                    }
                }
                for _ in 0..30 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        })
        .map(Some)
        .map_err(|e| format!("mail: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_mail_file_reads() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/mail.example.toml");
        let s = read_mail_file(&file).expect("reads");
        assert_eq!(
            (s.host.as_str(), s.port, s.protection),
            ("smtp.cd99.example", 587, Protection::StartTls)
        );
        assert_eq!(s.base_url, "https://coffre.cd99.example");
        assert!(s.credentials.is_none());
    }

    #[test]
    fn a_mail_file_is_read_with_its_defaults_and_its_mistakes_named() {
        let here = Path::new(".");
        let s = parse_mail_file(
            "[smtp]\nserver = \"smtp://127.0.0.1:2525\"\nfrom = \"coffre <coffre@cd99.fr>\"\n",
            here,
        )
        .expect("read");
        assert_eq!(
            (s.host.as_str(), s.port, s.protection),
            ("127.0.0.1", 2525, Protection::Opportunistic)
        );
        assert_eq!(s.at, NaiveTime::from_hms_opt(7, 30, 0).expect("a time"));
        assert_eq!(s.items, 50);
        let s = parse_mail_file(
            "[smtp]\nserver = \"smtps://mail.cd99.fr\"\nfrom = \"coffre@cd99.fr\"\n[summary]\nat = \"06:45\"\nurl = \"https://coffre.cd99.fr/\"\n",
            here,
        )
        .expect("read");
        assert_eq!((s.port, s.protection), (465, Protection::Implicit));
        assert_eq!(s.base_url, "https://coffre.cd99.fr");
        for (file, wrong) in [
            ("[smtp]\nserver = \"imap://h\"\nfrom = \"a@b.fr\"\n", "smtp.server"),
            ("[smtp]\nserver = \"smtp://h:0\"\nfrom = \"a@b.fr\"\n", "smtp.server"),
            (
                "[smtp]\nserver = \"smtp://h\"\nfrom = \"pas une adresse\"\n",
                "smtp.from",
            ),
            (
                "[smtp]\nserver = \"smtp://h\"\nfrom = \"a@b.fr\"\nuser = \"u\"\n",
                "smtp.user",
            ),
            (
                "[smtp]\nserver = \"smtp://h\"\nfrom = \"a@b.fr\"\n[summary]\nat = \"7h\"\n",
                "summary.at",
            ),
            (
                "[smtp]\nserver = \"smtp://h\"\nfrom = \"a@b.fr\"\n[summary]\nurl = \"coffre\"\n",
                "summary.url",
            ),
            (
                "[smtp]\nserver = \"smtp://h\"\nfrom = \"a@b.fr\"\n[summary]\nitems = 0\n",
                "summary.items",
            ),
        ] {
            let e = parse_mail_file(file, here).expect_err(wrong);
            assert!(e.starts_with(wrong), "{wrong}: {e}");
        }
    }
}
