//! Typed configuration: parsed from flags and environment by the CLI, then
//! checked once here, and passed by reference to what needs it.

pub use crate::archive::fixity::FixitySchedule;
use crate::archive::{ArchiveOptions, DataDir};
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

/// Parses a duration such as `30s`, `15m`, `12h` or `7d` (more than zero).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 30s, 15m, 12h or 7d"))?;
    let seconds: u64 = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h or d (such as 7d)")),
    };
    n.checked_mul(seconds)
        .filter(|s| *s > 0)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("{text:?} is zero or too large"))
}

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
        }
    }
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
