//! Typed configuration: parsed from flags and environment by the CLI, then
//! checked once here, and passed by reference to what needs it.

use crate::archive::directory::{DirectoryOptions, LdapSettings, Secret};
pub use crate::archive::fixity::FixitySchedule;
use crate::archive::{ArchiveOptions, DataDir};
use crate::domain::directory::GroupGrant;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The default data directory.
pub const DEFAULT_DATA_DIR: &str = "./coffre-data";
/// The default listen address: loopback, so a fresh install exposes nothing.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default upload limit: 2 GiB, above any office document or scan a
/// public body deposits, below what a disk fills by accident.
pub const DEFAULT_MAX_UPLOAD: &str = "2GiB";

/// A configuration value that does not make sense.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {field}: {problem}")]
pub struct ConfigError {
    /// The flag or variable.
    pub field: &'static str,
    /// What is wrong.
    pub problem: String,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the archive lives.
    pub data_dir: PathBuf,
    /// Where the server listens.
    pub listen: SocketAddr,
    /// The largest content accepted, in bytes.
    pub max_upload: u64,
    /// Whether images and scanned PDFs are read by OCR (tesseract).
    pub ocr: bool,
    /// When the server seals the journal.
    pub seal: SealSchedule,
    /// When and how fast the server re-hashes every blob.
    pub fixity: FixitySchedule,
    /// The RFC 3161 time-stamping authority that stamps each seal.
    pub tsa_url: Option<String>,
    /// A CA file (PEM) trusted for the authority's HTTPS server.
    pub tsa_ca: Option<std::path::PathBuf>,
    /// How clients are held to account: see [`ClientLimits`].
    pub clients: ClientLimits,
    /// The directory people sign in through (`--directory FILE`).
    pub directory: Option<DirectoryOptions>,
    /// Folders and buckets that keep a copy of the archive (`--copy`).
    pub copies: Vec<crate::archive::mirror::CopyPlace>,
    /// The copy a read-only replica follows (`serve --follow`).
    pub follow: Option<crate::archive::mirror::CopyPlace>,
    /// A replica's primary server, as people reach it (`serve --primary`).
    pub primary: Option<String>,
    /// The capture channels: watched folders, mailboxes (`serve --capture FILE`).
    pub capture: crate::capture::Capture,
    /// How accounting flows are read (`serve --pes-mapping FILE`,
    /// `--signature-authorities FILE`).
    pub flows: crate::archive::flows::FlowOptions,
    /// The SMTP server the work lists' daily summaries leave through
    /// (`serve --mail FILE`); none: nothing is mailed.
    pub mail: Option<std::sync::Arc<crate::notify::MailSettings>>,
}

/// What the server allows a client before cutting it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientLimits {
    /// How long a client may send nothing in the middle of a request (its
    /// head or its body); its head must come whole within this time, or
    /// [`HEAD_MAX`] if shorter. After it, a body must also keep up
    /// [`MIN_BODY_RATE`] on average.
    pub idle: std::time::Duration,
    /// Connections open at once, over all workers.
    pub max_connections: usize,
}

/// The longest a request's head may take to come.
pub const HEAD_MAX: std::time::Duration = std::time::Duration::from_secs(10);
/// The slowest average a request body may come at, once the idle time has
/// passed (a client dribbling a byte a second is cut, a slow line is not).
pub const MIN_BODY_RATE: u64 = 1024;
/// Idle time allowed unless configured.
pub const DEFAULT_CLIENT_IDLE: &str = "60s";
/// Connections at once unless configured.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            idle: std::time::Duration::from_secs(60),
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl ClientLimits {
    /// Checks raw values: a duration (`30s`, `2m`) and a count (at least 1).
    pub fn new(idle: &str, max_connections: usize) -> Result<Self, ConfigError> {
        let idle = parse_duration(idle).map_err(|problem| ConfigError {
            field: "client-idle",
            problem,
        })?;
        if max_connections == 0 {
            return Err(ConfigError {
                field: "max-connections",
                problem: "at least one connection must be allowed".into(),
            });
        }
        Ok(ClientLimits { idle, max_connections })
    }
}

/// A fixity run every week unless configured.
pub const DEFAULT_FIXITY_EVERY: &str = "7d";
/// Re-hashing at 50 MB/s at most unless configured.
pub const DEFAULT_FIXITY_RATE: &str = "50MB";

impl FixitySchedule {
    /// Checks raw values: a duration (`30s`, `15m`, `12h`, `7d`) and a size per second (`50MB`).
    pub fn new(every: &str, rate: &str) -> Result<Self, ConfigError> {
        Ok(FixitySchedule {
            every: parse_duration(every).map_err(|problem| ConfigError {
                field: "fixity-every",
                problem,
            })?,
            rate: parse_size(rate).map_err(|problem| ConfigError {
                field: "fixity-rate",
                problem,
            })?,
        })
    }
}

pub use crate::domain::clock::parse_duration;

/// When the server seals the journal: after `every_events` events, or once
/// `every` has passed since the last seal with anything new to seal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealSchedule {
    /// Events that make a seal due.
    pub every_events: u64,
    /// Time that makes a seal due.
    pub every: std::time::Duration,
}

/// Events between seals unless configured.
pub const DEFAULT_SEAL_EVERY_EVENTS: u64 = 1000;
/// Minutes between seals unless configured.
pub const DEFAULT_SEAL_EVERY_MINUTES: u64 = 60;

impl Default for SealSchedule {
    fn default() -> Self {
        SealSchedule {
            every_events: DEFAULT_SEAL_EVERY_EVENTS,
            every: std::time::Duration::from_secs(DEFAULT_SEAL_EVERY_MINUTES * 60),
        }
    }
}

impl SealSchedule {
    /// Whether a seal is due: `since` events after the last seal, which is
    /// `age` old; `stopping`: the server is going down (it seals what is
    /// new once more).
    pub fn due(&self, since: u64, age: std::time::Duration, stopping: bool) -> bool {
        since >= self.every_events || (since > 0 && (stopping || age >= self.every))
    }

    /// Checks raw values (both at least 1).
    pub fn new(every_events: u64, every_minutes: u64) -> Result<Self, ConfigError> {
        if every_events == 0 {
            return Err(ConfigError {
                field: "seal-every-events",
                problem: "must be at least 1".into(),
            });
        }
        if every_minutes == 0 {
            return Err(ConfigError {
                field: "seal-every-minutes",
                problem: "must be at least 1".into(),
            });
        }
        Ok(SealSchedule {
            every_events,
            every: std::time::Duration::from_secs(every_minutes.saturating_mul(60)),
        })
    }
}

impl Config {
    /// Checks raw values.
    pub fn new(data_dir: PathBuf, listen: &str, max_upload: &str, ocr: bool) -> Result<Self, ConfigError> {
        let listen = listen.parse().map_err(|e| ConfigError {
            field: "listen",
            problem: format!("{listen:?} is not an address like 127.0.0.1:8080 ({e})"),
        })?;
        let max_upload = parse_size(max_upload).map_err(|problem| ConfigError {
            field: "max-upload",
            problem,
        })?;
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError {
                field: "data",
                problem: "the data directory path is empty".into(),
            });
        }
        Ok(Config {
            data_dir,
            listen,
            max_upload,
            ocr,
            seal: SealSchedule::default(),
            fixity: FixitySchedule::default(),
            tsa_url: None,
            tsa_ca: None,
            clients: ClientLimits::default(),
            directory: None,
            copies: Vec::new(),
            follow: None,
            primary: None,
            capture: crate::capture::Capture::default(),
            flows: crate::archive::flows::FlowOptions::default(),
            mail: None,
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> DataDir {
        DataDir::new(self.data_dir.clone())
    }

    /// What the archive needs of the configuration.
    pub fn archive_options(&self) -> ArchiveOptions {
        ArchiveOptions {
            max_upload: self.max_upload,
            extract: crate::extract::ExtractOptions { ocr: self.ocr },
            tsa_url: self.tsa_url.clone(),
            tsa_ca: self.tsa_ca.clone(),
            directory: self.directory.clone(),
            copies: self.copies.clone(),
            follow: self.follow.clone(),
            primary: self.primary.clone(),
            part_lines: crate::domain::disposition::PART_LINES,
            flows: self.flows.clone(),
        }
    }
}

/// The directory file (`--directory FILE`), as written.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    url: String,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    bind_dn: String,
    bind_password_file: PathBuf,
    base: String,
    #[serde(default = "default_user_filter")]
    user_filter: String,
    #[serde(default = "default_name_attribute")]
    name_attribute: String,
    #[serde(default = "default_group_attribute")]
    group_attribute: String,
    #[serde(default)]
    group_base: Option<String>,
    #[serde(default = "default_group_filter")]
    group_filter: String,
    #[serde(default = "default_directory_timeout")]
    timeout: String,
    #[serde(default = "default_recheck")]
    recheck: String,
    groups: Vec<GroupFile>,
}

/// A `[[groups]]` table of the directory file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    dn: String,
    role: String,
    #[serde(default)]
    service: Option<String>,
}

fn default_user_filter() -> String {
    "(&(objectClass=person)(uid={user}))".into()
}
fn default_name_attribute() -> String {
    "displayName".into()
}
fn default_group_attribute() -> String {
    "memberOf".into()
}
fn default_group_filter() -> String {
    "(|(member={dn})(uniqueMember={dn})(memberUid={user}))".into()
}
fn default_directory_timeout() -> String {
    "5s".into()
}
fn default_recheck() -> String {
    "5m".into()
}

/// Reads and checks the directory file at `path`; its relative paths
/// (`ca_file`, `bind_password_file`) are read from the file's folder.
pub fn read_directory_file(path: &std::path::Path) -> Result<DirectoryOptions, ConfigError> {
    let problem = |problem: String| ConfigError {
        field: "directory",
        problem: format!("{}: {problem}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
    let file: DirectoryFile = toml_edit::de::from_str(&text).map_err(|e| problem(e.to_string()))?;
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    let beside = |p: &std::path::Path| folder.join(p);
    if !file.url.starts_with("ldaps://") && !file.url.starts_with("ldap://") {
        return Err(problem(format!(
            "url = {:?}: write ldaps://host (TLS) or ldap://host (StartTLS is then required)",
            file.url
        )));
    }
    if !file.user_filter.starts_with('(') || !file.user_filter.contains("{user}") {
        return Err(problem(format!(
            "user_filter = {:?}: a filter in parentheses naming {{user}}, such as (&(objectClass=person)(uid={{user}}))",
            file.user_filter
        )));
    }
    if !file.group_filter.starts_with('(')
        || !(file.group_filter.contains("{dn}") || file.group_filter.contains("{user}"))
    {
        return Err(problem(format!(
            "group_filter = {:?}: a filter in parentheses naming {{dn}} or {{user}}, such as (member={{dn}})",
            file.group_filter
        )));
    }
    let password_file = beside(&file.bind_password_file);
    let password = std::fs::read_to_string(&password_file)
        .map_err(|e| problem(format!("bind_password_file {}: {e}", password_file.display())))?;
    let password = password.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        return Err(problem(format!(
            "bind_password_file {} is empty",
            password_file.display()
        )));
    }
    if file.groups.is_empty() {
        return Err(problem(
            "no [[groups]]: name at least one directory group and the role it gives".into(),
        ));
    }
    let mut grants = Vec::with_capacity(file.groups.len());
    for (i, group) in file.groups.into_iter().enumerate() {
        let role = crate::domain::role::Role::parse(&group.role).ok_or_else(|| {
            problem(format!(
                "groups[{i}].role = {:?}: one of admin, archivist, auditor, agent, visa",
                group.role
            ))
        })?;
        let service = crate::domain::record::check_optional_text("service", group.service, 100)
            .map_err(|e| problem(format!("groups[{i}].service: {e}")))?;
        if group.dn.trim().is_empty() {
            return Err(problem(format!("groups[{i}].dn is empty")));
        }
        grants.push(GroupGrant {
            group: group.dn,
            role,
            service,
        });
    }
    let timeout = parse_duration(&file.timeout).map_err(|e| problem(format!("timeout: {e}")))?;
    let recheck = parse_duration(&file.recheck).map_err(|e| problem(format!("recheck: {e}")))?;
    Ok(DirectoryOptions {
        ldap: LdapSettings {
            url: file.url,
            ca_file: file.ca_file.as_deref().map(beside),
            bind_dn: file.bind_dn,
            bind_password: Secret(password),
            base: file.base,
            user_filter: file.user_filter,
            name_attribute: file.name_attribute,
            group_attribute: file.group_attribute,
            group_base: file.group_base.filter(|b| !b.trim().is_empty()),
            group_filter: file.group_filter,
            timeout,
        },
        grants,
        recheck,
    })
}

/// Parses a size such as `1024`, `10MB`, `2GiB` (decimal and binary units).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 2GiB or 500MB"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        "tb" => 1_000_000_000_000,
        "tib" | "t" => 1 << 40,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit (use B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)"
            ));
        }
    };
    n.checked_mul(factor)
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?} is zero or too large"))
}

#[cfg(test)]
mod schedule_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_seal_is_due_after_enough_events_or_enough_time_with_something_new() {
        let s = SealSchedule::new(10, 5).unwrap_or_default();
        assert!(!s.due(0, Duration::from_secs(3600), false), "nothing new: no seal");
        assert!(!s.due(0, Duration::ZERO, true), "nothing new, even when stopping");
        assert!(!s.due(9, Duration::from_secs(299), false));
        assert!(s.due(10, Duration::ZERO, false), "enough events");
        assert!(s.due(1, Duration::from_secs(300), false), "enough time");
        assert!(s.due(1, Duration::ZERO, true), "the last seal at shutdown");
        assert!(SealSchedule::new(0, 5).is_err() && SealSchedule::new(5, 0).is_err());
    }

    #[test]
    fn durations_and_fixity_schedules_parse() {
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration(" 30s "), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert!(parse_duration("0s").is_err() && parse_duration("7").is_err() && parse_duration("1w").is_err());
        let f = FixitySchedule::new("15m", "1MiB");
        assert_eq!(
            f.map(|f| (f.every, f.rate)).ok(),
            Some((Duration::from_secs(900), 1 << 20))
        );
        assert!(FixitySchedule::new("15m", "fast").is_err());
    }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("10MB"), Ok(10_000_000));
        assert_eq!(parse_size("1024"), Ok(1024));
        assert!(parse_size("0").is_err());
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        assert!(parse_size("99999999999TiB").is_err());
    }
}

#[cfg(test)]
mod directory_file_tests {
    use super::*;
    use crate::domain::role::Role;

    /// The commented example of the README reads as it says.
    #[test]
    fn the_example_directory_file_reads() {
        let tmp = tempfile::tempdir().expect("folder");
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/annuaire.example.toml");
        let file = tmp.path().join("annuaire.toml");
        std::fs::copy(&example, &file).expect("copy");
        std::fs::write(tmp.path().join("annuaire.secret"), "s3cret du service\r\n").expect("secret");
        let options = read_directory_file(&file).expect("reads");
        assert_eq!(options.ldap.bind_password.0, "s3cret du service");
        assert_eq!(options.ldap.ca_file, Some(tmp.path().join("ca-collectivite.pem")));
        assert_eq!(options.recheck, std::time::Duration::from_secs(300));
        let roles: Vec<Role> = options.grants.iter().map(|g| g.role).collect();
        assert_eq!(roles, [Role::Admin, Role::Archivist, Role::Auditor, Role::Agent]);
        assert_eq!(options.grants[3].service.as_deref(), Some("Direction des finances"));
        assert!(
            !format!("{options:?}").contains("s3cret"),
            "the password stays out of Debug"
        );
        // An unknown key is a mistake, not a silent default.
        let text = std::fs::read_to_string(&file).expect("text");
        std::fs::write(&file, text.replace("recheck =", "recheque =")).expect("write");
        let e = read_directory_file(&file).unwrap_err();
        assert!(e.to_string().contains("recheque"), "{e}");
    }
}
