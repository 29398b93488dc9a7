//! Capture channels: where documents come from besides the API. Each
//! channel is configured in the capture file (`serve --capture FILE`), acts
//! in the name of one account, fills the defaults it is given (node,
//! service, type), and is journaled with every deposit it makes
//! (`record.ingested`'s `channel`). An adapter over the archive service,
//! like the HTTP API: it decides nothing the archive does not.
//!
//! Two kinds: watched folders (`folders.rs`) and mailboxes read over IMAP
//! (`mailboxes.rs`).

pub mod folders;
pub mod mailboxes;

use crate::archive::MailServerAddress;

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The capture file (`--capture FILE`), as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CaptureFile {
    #[serde(default)]
    folders: Vec<FolderFile>,
    #[serde(default)]
    mailboxes: Vec<MailboxFile>,
}

/// A `[[mailboxes]]` table.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MailboxFile {
    name: String,
    server: String,
    user: String,
    password_file: PathBuf,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default = "default_inbox")]
    folder: String,
    #[serde(default = "default_done_folder")]
    done_folder: String,
    #[serde(default = "default_failed_folder")]
    failed_folder: String,
    depositor: String,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(rename = "type", default)]
    document_type: Option<String>,
    #[serde(default)]
    keep: Keep,
    #[serde(default = "default_max_size")]
    max_size: u64,
    #[serde(default = "default_mail_poll")]
    poll: String,
    #[serde(default)]
    rules: Vec<MailRuleFile>,
}

/// A `[[mailboxes.rules]]` table.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MailRuleFile {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(rename = "type", default)]
    document_type: Option<String>,
    #[serde(default)]
    keep: Option<Keep>,
}

fn default_inbox() -> String {
    "INBOX".into()
}
fn default_done_folder() -> String {
    "Archivés".into()
}
fn default_failed_folder() -> String {
    "Non archivés".into()
}
/// 25 MiB: more than most mail servers let through.
fn default_max_size() -> u64 {
    25 * 1024 * 1024
}
fn default_mail_poll() -> String {
    "1m".into()
}

/// What a mailbox archives of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Keep {
    /// The message (`.eml`), and each attachment as a record linked to it.
    #[default]
    Message,
    /// Only the attachments, each a record of its own (a message without
    /// any is refused).
    Attachments,
}

/// A mailbox's rule: when each condition it sets holds (a piece of the
/// sender, of the recipients, of the subject, without regard to case),
/// what it gives the deposits instead of the mailbox's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRule {
    /// Found in the sender's name or address.
    pub from: Option<String>,
    /// Found in a recipient's name or address.
    pub to: Option<String>,
    /// Found in the subject.
    pub subject: Option<String>,
    /// The node.
    pub node: Option<String>,
    /// The producing service.
    pub service: Option<String>,
    /// The document type.
    pub document_type: Option<String>,
    /// What is archived.
    pub keep: Option<Keep>,
}

/// A mailbox, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxChannel {
    /// The channel's name, journaled with each deposit (`messagerie:<name>`).
    pub name: String,
    /// The server and account (its password read from its file).
    pub address: MailServerAddress,
    /// The folder read.
    pub folder: String,
    /// Where archived messages are moved (made when missing).
    pub done_folder: String,
    /// Where refused messages are moved, each beside a note saying why.
    pub failed_folder: String,
    /// Who deposits, and what each deposit is given unless a rule says
    /// otherwise.
    pub defaults: ChannelDefaults,
    /// What is archived of a message no rule speaks of.
    pub keep: Keep,
    /// The largest message taken, in bytes.
    pub max_size: u64,
    /// How often the folder is read.
    pub poll: Duration,
    /// The rules, the first that fits a message deciding.
    pub rules: Vec<MailRule>,
}

impl MailboxChannel {
    /// The channel as the journal names it.
    pub fn journal_name(&self) -> String {
        format!("messagerie:{}", self.name)
    }

    /// The first rule that fits a message.
    fn rule_for(&self, headers: &mailboxes::Headers) -> Option<&MailRule> {
        self.rules.iter().find(|r| r.fits(headers))
    }

    /// A mailbox as the tests of this module use it.
    #[cfg(test)]
    fn example() -> Self {
        MailboxChannel {
            name: "factures".into(),
            address: MailServerAddress {
                host: "localhost".into(),
                port: 143,
                tls: false,
                user: "factures@mairie.test".into(),
                password: "secret".into(),
                ca_file: None,
            },
            folder: default_inbox(),
            done_folder: default_done_folder(),
            failed_folder: default_failed_folder(),
            defaults: ChannelDefaults {
                depositor: "courrier".into(),
                node: None,
                service: None,
                document_type: None,
            },
            keep: Keep::Message,
            max_size: default_max_size(),
            poll: Duration::from_secs(60),
            rules: Vec::new(),
        }
    }
}

/// Who a channel deposits as, and what it gives each deposit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelDefaults {
    /// The account deposits are made in the name of.
    pub depositor: String,
    /// The node (none: the plan's classification rules choose).
    pub node: Option<String>,
    /// The producing service.
    pub service: Option<String>,
    /// The document type.
    pub document_type: Option<String>,
}

/// What the capture file configures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capture {
    /// The watched folders.
    pub folders: Vec<FolderChannel>,
    /// The mailboxes.
    pub mailboxes: Vec<MailboxChannel>,
}

/// A `[[folders]]` table.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderFile {
    name: String,
    path: PathBuf,
    depositor: String,
    #[serde(default)]
    node: Option<String>,
    #[serde(default)]
    service: Option<String>,
    #[serde(rename = "type", default)]
    document_type: Option<String>,
    #[serde(default = "default_settle")]
    settle: String,
    #[serde(default = "default_poll")]
    poll: String,
    #[serde(default = "default_workers")]
    workers: usize,
    #[serde(default)]
    unpack_zip: bool,
    #[serde(default)]
    pes: bool,
    #[serde(default)]
    cdv: bool,
    #[serde(default)]
    subfolders: std::collections::BTreeMap<String, String>,
}

fn default_settle() -> String {
    "2s".into()
}
fn default_poll() -> String {
    "2s".into()
}
/// Deposits wait on the disk more than on the processor: several at once
/// share its flushes.
fn default_workers() -> usize {
    8
}

/// A watched folder, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FolderChannel {
    /// The channel's name, journaled with each deposit (`dossier:<name>`).
    pub name: String,
    /// The folder watched; `done/` and `failed/` are made inside it.
    pub path: PathBuf,
    /// Who deposits, and what each deposit is given (the node of what has
    /// none from a sub-folder).
    pub defaults: ChannelDefaults,
    /// How long a file's size and time must stay the same before it is
    /// taken.
    pub settle: Duration,
    /// How often the folder is looked at.
    pub poll: Duration,
    /// How many files are deposited at once (1 to 64).
    pub workers: usize,
    /// A `.zip` dropped here is a batch (e-invoices exported from Chorus
    /// Pro): each file in it is deposited, not the zip itself.
    pub unpack_zip: bool,
    /// Every file dropped here is an accounting flow (PES_Aller) or its
    /// acknowledgement (PES_ACQUIT), from the finance software's export:
    /// split into linked records, the nodes the PES mapping says.
    pub pes: bool,
    /// Every file dropped here is an e-invoice lifecycle message (CDV, from
    /// the e-invoicing platform): archived, linked to the invoices it names,
    /// which move on in their circuit.
    pub cdv: bool,
    /// Sub-folder name → node: a file dropped in `factures/` goes to the
    /// node it names.
    pub subfolders: std::collections::BTreeMap<String, String>,
}

impl FolderChannel {
    /// The channel as the journal names it.
    pub fn journal_name(&self) -> String {
        format!("dossier:{}", self.name)
    }
}

/// A problem with the capture file, said with the file and the key.
#[derive(Debug, thiserror::Error)]
#[error("capture: {0}")]
pub struct CaptureFileError(pub String);

/// Reads and checks the capture file at `path`; relative paths (folders,
/// password and CA files) are read from the file's folder.
pub fn read_capture_file(path: &Path) -> Result<Capture, CaptureFileError> {
    let problem = |p: String| CaptureFileError(format!("{}: {p}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    let file: CaptureFile = toml_edit::de::from_str(&text).map_err(|e| problem(e.to_string()))?;
    let beside = path.parent().unwrap_or(Path::new("."));
    let mut channels: Vec<FolderChannel> = Vec::new();
    for (i, f) in file.folders.into_iter().enumerate() {
        let at = |key: &str, p: String| problem(format!("folders[{i}].{key}: {p}"));
        let name = checked_name(&f.name).map_err(|p| at("name", p))?;
        if channels.iter().any(|c| c.name == name) {
            return Err(at("name", format!("{name:?} names two folders")));
        }
        let duration = |key: &str, text: &str| {
            crate::domain::clock::parse_duration(text)
                .ok()
                .filter(|d| *d <= Duration::from_secs(3600))
                .ok_or_else(|| at(key, format!("{text:?}: a duration such as 2s, 500ms or 1m")))
        };
        let folder = beside.join(&f.path);
        if channels.iter().any(|c| c.path == folder) {
            return Err(at("path", format!("{} is watched twice", folder.display())));
        }
        for sub in f.subfolders.keys() {
            if sub.is_empty() || sub.contains(['/', '\\']) || sub.starts_with('.') || RESERVED.contains(&sub.as_str()) {
                return Err(at("subfolders", format!("{sub:?} is not a sub-folder name it may use")));
            }
        }
        if !(1..=64).contains(&f.workers) {
            return Err(at("workers", format!("{}: from 1 to 64 files at once", f.workers)));
        }
        if f.pes && f.cdv {
            return Err(at(
                "cdv",
                "a folder takes PES flows (pes) or lifecycle messages (cdv), not both".into(),
            ));
        }
        channels.push(FolderChannel {
            name,
            path: folder,
            defaults: ChannelDefaults {
                depositor: f.depositor,
                node: f.node.filter(|n| !n.trim().is_empty()),
                service: f.service,
                document_type: f.document_type,
            },
            settle: duration("settle", &f.settle)?,
            poll: duration("poll", &f.poll)?,
            workers: f.workers,
            unpack_zip: f.unpack_zip,
            pes: f.pes,
            cdv: f.cdv,
            subfolders: f.subfolders,
        });
    }
    let mut mailboxes: Vec<MailboxChannel> = Vec::new();
    for (i, m) in file.mailboxes.into_iter().enumerate() {
        let at = |key: &str, p: String| problem(format!("mailboxes[{i}].{key}: {p}"));
        let name = checked_name(&m.name).map_err(|p| at("name", p))?;
        if mailboxes.iter().any(|c| c.name == name) {
            return Err(at("name", format!("{name:?} names two mailboxes")));
        }
        let (tls, rest) = match m.server.split_once("://") {
            Some(("imaps", rest)) => (true, rest),
            Some(("imap", rest)) => (false, rest),
            _ => {
                return Err(at(
                    "server",
                    format!("{:?}: imaps://HOST[:PORT] (TLS) or imap://HOST[:PORT]", m.server),
                ));
            }
        };
        let (host, port) = match rest.trim_end_matches('/').rsplit_once(':') {
            Some((host, port)) => (
                host,
                port.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| at("server", format!("{port:?} is not a port")))?,
            ),
            None => (rest.trim_end_matches('/'), if tls { 993 } else { 143 }),
        };
        if host.is_empty() || host.contains(['/', '@', ' ']) {
            return Err(at("server", format!("{host:?} is not a host name")));
        }
        let password_path = beside.join(&m.password_file);
        let password = std::fs::read_to_string(&password_path)
            .map_err(|e| at("password_file", format!("{}: {e}", password_path.display())))?
            .trim_end_matches(['\r', '\n'])
            .to_owned();
        if password.is_empty() {
            return Err(at("password_file", format!("{} is empty", password_path.display())));
        }
        for (key, folder) in [
            ("folder", &m.folder),
            ("done_folder", &m.done_folder),
            ("failed_folder", &m.failed_folder),
        ] {
            if folder.trim().is_empty()
                || folder.chars().any(char::is_control)
                || folder.contains(['*', '%', '"', '\\'])
            {
                return Err(at(key, format!("{folder:?} is not a folder name")));
            }
        }
        if m.folder == m.done_folder || m.folder == m.failed_folder || m.done_folder == m.failed_folder {
            return Err(at(
                "done_folder",
                "the folder read, the done folder and the failure folder must differ".into(),
            ));
        }
        if !(1024..=1024 * 1024 * 1024).contains(&m.max_size) {
            return Err(at(
                "max_size",
                format!("{}: bytes, from 1024 to 1073741824", m.max_size),
            ));
        }
        let poll = crate::domain::clock::parse_duration(&m.poll)
            .ok()
            .filter(|d| (Duration::from_secs(1)..=Duration::from_secs(86_400)).contains(d))
            .ok_or_else(|| at("poll", format!("{:?}: a duration such as 30s, 5m or 1h", m.poll)))?;
        let lower = |text: Option<String>| text.map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty());
        let rules = m
            .rules
            .into_iter()
            .map(|r| MailRule {
                from: lower(r.from),
                to: lower(r.to),
                subject: lower(r.subject),
                node: r.node.filter(|n| !n.trim().is_empty()),
                service: r.service,
                document_type: r.document_type,
                keep: r.keep,
            })
            .collect();
        mailboxes.push(MailboxChannel {
            name,
            address: MailServerAddress {
                host: host.to_owned(),
                port,
                tls,
                user: m.user,
                password,
                ca_file: m.ca_file.map(|f| beside.join(f)),
            },
            folder: m.folder,
            done_folder: m.done_folder,
            failed_folder: m.failed_folder,
            defaults: ChannelDefaults {
                depositor: m.depositor,
                node: m.node.filter(|n| !n.trim().is_empty()),
                service: m.service,
                document_type: m.document_type,
            },
            keep: m.keep,
            max_size: m.max_size,
            poll,
            rules,
        });
    }
    Ok(Capture {
        folders: channels,
        mailboxes,
    })
}

/// A channel's name: letters without accents, digits, `-` and `_`.
fn checked_name(name: &str) -> Result<String, String> {
    let trimmed = name.trim();
    if trimmed.is_empty()
        || !trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{name:?}: a name of letters without accents, digits, '-' or '_'"
        ));
    }
    Ok(trimmed.to_owned())
}

/// The actor a channel deposits as: its depositor's account, which must
/// exist and be enabled (the server does not start otherwise).
fn depositor(
    archive: &crate::archive::Archive,
    kind: &str,
    name: &str,
    user: &str,
) -> Result<crate::archive::Actor, String> {
    let account = archive
        .account(user)
        .map_err(|e| format!("capture: {kind} {name}: depositor {user:?}: {e}"))?;
    if account.disabled {
        return Err(format!("capture: {kind} {name}: the account {user} is disabled"));
    }
    Ok(crate::archive::Actor::person(&account))
}

/// Names inside a watched folder that coffre keeps for itself.
pub const RESERVED: &[&str] = &["done", "failed"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_capture_file_reads_and_mistakes_are_named() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/capture.example.toml");
        let channels = read_capture_file(&file).expect("reads").folders;
        assert_eq!(channels[0].name, "scanner-accueil");
        assert_eq!(channels[0].settle, Duration::from_secs(2));
        assert_eq!(channels[0].workers, 8);
        assert_eq!(
            channels[0].subfolders.get("factures").map(String::as_str),
            Some("FIN-FAC")
        );
        assert!(channels[0].path.is_absolute() || channels[0].path.starts_with(file.parent().unwrap()));
        assert!(!channels[0].pes);
        assert_eq!(channels[1].name, "flux-pes");
        assert!(channels[1].pes && channels[1].subfolders.is_empty());
        assert_eq!(channels[2].name, "statuts-factures");
        assert!(channels[2].cdv && !channels[2].pes);

        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "[[folders]]\nname = \"à\"\npath = \"x\"\ndepositor = \"scan\"\n",
                "folders[0].name",
            ),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\nsettle = \"deux\"\n",
                "folders[0].settle",
            ),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\n[folders.subfolders]\ndone = \"FIN-FAC\"\n",
                "folders[0].subfolders",
            ),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\n[[folders]]\nname = \"a\"\npath = \"y\"\ndepositor = \"scan\"\n",
                "folders[1].name",
            ),
            ("[[folders]]\nname = \"a\"\npath = \"x\"\n", "depositor"),
            (
                "[[folders]]\nname = \"a\"\npath = \"x\"\ndepositor = \"scan\"\nworkers = 0\n",
                "folders[0].workers",
            ),
        ];
        for (text, said) in cases {
            let path = dir.path().join("capture.toml");
            std::fs::write(&path, text).unwrap();
            let e = read_capture_file(&path).expect_err(text);
            assert!(e.to_string().contains(said), "{text}: {e}");
        }
        assert_eq!(
            crate::domain::clock::parse_duration("500ms"),
            Ok(Duration::from_millis(500))
        );
    }

    #[test]
    fn mailboxes_read_with_their_rules_and_mistakes_are_named() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/capture.example.toml");
        let mailboxes = read_capture_file(&file).expect("reads").mailboxes;
        let courrier = &mailboxes[0];
        assert_eq!(courrier.journal_name(), "messagerie:courrier");
        assert_eq!(
            (
                courrier.address.host.as_str(),
                courrier.address.port,
                courrier.address.tls
            ),
            ("imap.mairie.example", 993, true)
        );
        assert_eq!(courrier.address.password, "remplacez-moi-par-le-mot-de-passe-du-compte");
        assert_eq!((courrier.keep, courrier.poll), (Keep::Message, Duration::from_secs(60)));
        assert_eq!(courrier.rules[0].from.as_deref(), Some("chorus-pro.gouv.fr"));
        assert_eq!(courrier.rules[0].keep, Some(Keep::Attachments));
        let headers = |from: &str, subject: &str| mailboxes::Headers {
            from: from.to_lowercase(),
            to: "courrier <courrier@mairie.example>".into(),
            subject: subject.to_lowercase(),
        };
        assert!(
            courrier
                .rule_for(&headers("Chorus Pro <noreply@CHORUS-PRO.gouv.fr>", "x"))
                .is_some()
        );
        assert!(courrier.rule_for(&headers("Papeterie <a@b.fr>", "Facture")).is_none());

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secret"), "mot-de-passe\n").unwrap();
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        let base = "[[mailboxes]]\nname = \"m\"\nuser = \"u\"\ndepositor = \"d\"\n";
        let read = |more: &str| {
            let path = dir.path().join("capture.toml");
            std::fs::write(&path, format!("{base}{more}")).unwrap();
            read_capture_file(&path)
        };
        let plain = read("server = \"imap://127.0.0.1\"\npassword_file = \"secret\"\n").expect("reads");
        assert_eq!(
            (plain.mailboxes[0].address.port, plain.mailboxes[0].address.tls),
            (143, false)
        );
        assert_eq!(plain.mailboxes[0].address.password, "mot-de-passe");
        let cases = [
            (
                "server = \"pop3://h\"\npassword_file = \"secret\"\n",
                "mailboxes[0].server",
            ),
            (
                "server = \"imap://h:0\"\npassword_file = \"secret\"\n",
                "mailboxes[0].server",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"absent\"\n",
                "mailboxes[0].password_file",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"empty\"\n",
                "mailboxes[0].password_file",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"secret\"\ndone_folder = \"INBOX\"\n",
                "mailboxes[0].done_folder",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"secret\"\nfailed_folder = \"a\\\"b\"\n",
                "mailboxes[0].failed_folder",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"secret\"\nmax_size = 10\n",
                "mailboxes[0].max_size",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"secret\"\npoll = \"1ms\"\n",
                "mailboxes[0].poll",
            ),
            (
                "server = \"imap://h\"\npassword_file = \"secret\"\nkeep = \"tout\"\n",
                "keep",
            ),
        ];
        for (more, said) in cases {
            let e = read(more).expect_err(more);
            assert!(e.to_string().contains(said), "{more}: {e}");
        }
    }
}
