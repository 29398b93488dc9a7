//! Records and their versions: the identifiers, the descriptive metadata and
//! the catalog's view of one archived document.
//!
//! Identifiers are parsed once, at the edge, into the newtypes here; the rest
//! of the program never handles a record id or a node code as a bare string.

use super::hash::Sha256;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// Why a piece of deposit input was refused; `field` names what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidInput {
    /// The field or argument at fault, as the user wrote it.
    pub field: String,
    /// What is wrong with it, for a person.
    pub problem: String,
}

impl InvalidInput {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A record's permanent identifier: a UUIDv7, so ids sort by creation time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordId(uuid::Uuid);

impl RecordId {
    /// A new identifier for a record created at `at`.
    pub fn new_at(at: DateTime<Utc>) -> Self {
        let ts = uuid::Timestamp::from_unix(
            uuid::NoContext,
            at.timestamp().max(0) as u64,
            at.timestamp_subsec_nanos(),
        );
        Self(uuid::Uuid::new_v7(ts))
    }

    /// Parses the hyphenated form.
    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::try_parse(text).ok().map(Self)
    }

    /// The greatest identifier there can be, past every record's.
    pub fn last_possible() -> Self {
        Self(uuid::Uuid::from_u128(u128::MAX))
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The code of a classification plan node, such as `FIN-FAC`.
///
/// Until a plan is published a node code is free text within these rules:
/// 1 to 32 characters among `A-Z`, `0-9`, `-` and `_`, starting with a
/// letter or digit. Lower case is folded to upper case.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NodeCode(String);

/// The longest node code accepted; references and file names embed it.
const NODE_CODE_MAX: usize = 32;

impl NodeCode {
    /// Parses and normalises a node code.
    pub fn parse(text: &str) -> Result<Self, InvalidInput> {
        let code = text.trim().to_ascii_uppercase();
        let ok_char = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if code.is_empty() || code.len() > NODE_CODE_MAX {
            return Err(InvalidInput::new(
                "node",
                format!("un code de nœud a 1 à {NODE_CODE_MAX} caractères, et non « {text} »"),
            ));
        }
        if !code.chars().all(ok_char) || !code.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(InvalidInput::new(
                "node",
                format!("un code de nœud n'emploie que A-Z, 0-9, « - » et « _ », et non « {text} »"),
            ));
        }
        Ok(Self(code))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NodeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// A record's human reference, such as `FIN-FAC-2025-000042`, given by the
/// naming engine and never reused.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Reference(String);

impl Reference {
    /// Wraps a reference produced by the naming engine or read back from the
    /// journal.
    pub fn from_naming(text: String) -> Self {
        Self(text)
    }

    /// The reference as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// The descriptive part of a record: what may name people and so must be
/// erasable. The journal commits to it by the hash of its JSON document,
/// which is stored as a blob (see `schemas/record-metadata.schema.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DescriptiveMetadata {
    /// Format version of this document.
    pub v: u32,
    /// The record it describes; makes every document unique to its record,
    /// so erasing one record's metadata never touches another's.
    pub record: RecordId,
    /// The title.
    pub title: String,
    /// Free string fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The original file name of each version, in version order.
    #[serde(default)]
    pub filenames: Vec<Option<String>>,
}

/// The format version written into new descriptive metadata documents.
pub const METADATA_FORMAT: u32 = 1;

impl DescriptiveMetadata {
    /// The canonical bytes of this document (compact JSON, fixed key order).
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings and maps cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// One immutable version of a record's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// 1 for the first version, then 2, 3, ...
    pub number: u32,
    /// Digest of the content blob.
    pub sha256: Sha256,
    /// Size in bytes.
    pub size: u64,
    /// Media type sniffed from the bytes.
    pub media_type: String,
    /// Original file name, as the depositor gave it (never used as a path).
    pub filename: Option<String>,
    /// When the version was deposited.
    pub ingested_at: DateTime<Utc>,
    /// Who deposited it.
    pub ingested_by: String,
    /// The journal event that added it.
    pub seq: u64,
}

/// A rendition of one version, made by the archive and kept next to it,
/// never in its place: for a scan, a searchable PDF/A (its pages with the
/// text OCR read under them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendition {
    /// The version it renders.
    pub version: u32,
    /// Digest of its content blob.
    pub sha256: Sha256,
    /// Size in bytes.
    pub size: u64,
    /// Its media type (`application/pdf`).
    pub media_type: String,
    /// What made it (`ocrmypdf 14.0.1 -l fra, PDF/A-2b`).
    pub made_by: String,
    /// When.
    pub made_at: DateTime<Utc>,
}

/// A record's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    /// Live: readable, within its retention period or awaiting disposal.
    Active,
    /// Destroyed by an executed disposal: only its tombstone remains.
    Destroyed,
    /// Transferred to the archives, which acknowledged it: only its
    /// tombstone remains here.
    Transferred,
}

impl RecordState {
    /// The state's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Active => "active",
            RecordState::Destroyed => "destroyed",
            RecordState::Transferred => "transferred",
        }
    }
}

/// An archivist's decision on a record whose rule says `review` (*tri*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewDecision {
    /// `keep` or `destroy`.
    pub decision: super::plan::FinalAction,
    /// Why.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
    /// The journal event.
    pub seq: u64,
}

/// What remains of a destroyed record: the proof of its destruction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstone {
    /// The disposal that destroyed it.
    pub disposal: u64,
    /// The archives authority's visa reference.
    pub visa: String,
    /// When it was destroyed.
    pub destroyed_at: DateTime<Utc>,
    /// Who executed the disposal.
    pub destroyed_by: String,
    /// The journal event of the execution.
    pub seq: u64,
    /// For a transfer: the archives service's reference, where the record
    /// now is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<String>,
}

/// One line of a record's history: an event that touched it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Journal sequence number.
    pub seq: u64,
    /// When it happened.
    pub time: DateTime<Utc>,
    /// Who did it.
    pub actor: String,
    /// The event kind.
    pub kind: String,
}

/// Where a record sits in the due-date index: the day its retention ends,
/// under which rule, and what then happens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DueMark {
    /// The due date.
    pub date: NaiveDate,
    /// The rule.
    pub rule: String,
    /// `destroy`, `keep` or `review`.
    pub final_action: super::plan::FinalAction,
}

/// A field's value as duplicates are compared: lower case, without
/// accents, and only its letters and digits (`FA-2024/88` and `fa 2024 88`
/// meet; `Dupont & Fils` and `DUPONT FILS` too). At most 200 characters.
pub fn comparable(value: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    value
        .nfd()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .take(200)
        .collect()
}

/// How a record stands to another it is linked to at its deposit: a
/// message's attachment, a flow's bordereau, a payment's supporting
/// document, a flow's acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// An attachment of the other record (a message).
    AttachmentOf,
    /// A part of the other (a bordereau of a flow, a pièce of a bordereau).
    PartOf,
    /// A supporting document of the other (a pièce justificative).
    Supports,
    /// The acknowledgement of the other (a PES acquit of its flow).
    Acknowledges,
}

impl LinkKind {
    /// Every kind, in the order pages list them.
    pub const ALL: [LinkKind; 4] = [
        LinkKind::AttachmentOf,
        LinkKind::PartOf,
        LinkKind::Supports,
        LinkKind::Acknowledges,
    ];

    /// The stable name (`attachment_of`, `part_of`, `supports`,
    /// `acknowledges`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::AttachmentOf => "attachment_of",
            LinkKind::PartOf => "part_of",
            LinkKind::Supports => "supports",
            LinkKind::Acknowledges => "acknowledges",
        }
    }

    /// Reads a stable name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A link from a record to another, made at its deposit and never changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// How the record stands to the other.
    pub kind: LinkKind,
    /// The other record.
    pub record: RecordId,
}

/// The most links one deposit may make.
pub const LINKS_MAX: usize = 100;

/// Where a record's date came from, when the depositor gave none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Dating {
    /// The structured invoice it is or holds (its issue date).
    Invoice,
    /// Its text, in the words quoted.
    Text {
        /// The passage the date was read from.
        excerpt: String,
    },
    /// Nothing gave one: the day of its deposit, to be confirmed.
    DepositDay,
}

/// A record as the catalog holds it: the projection of its journal events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Permanent identifier.
    pub id: RecordId,
    /// Human reference.
    pub reference: Reference,
    /// Title (from the descriptive metadata).
    pub title: String,
    /// Classification node.
    pub node: NodeCode,
    /// The record's own date (the document's date, not the deposit's).
    pub date: NaiveDate,
    /// Producing service.
    pub service: Option<String>,
    /// Document type (invoice, deliberation, ...); free text until the
    /// classification plan lists each node's types.
    #[serde(default)]
    pub document_type: Option<String>,
    /// Free string fields (from the descriptive metadata).
    pub fields: BTreeMap<String, String>,
    /// The naming counter's value in the reference (`{seq}`).
    #[serde(default)]
    pub number: u64,
    /// The plan version the record was classified under (none before plans
    /// were published).
    #[serde(default)]
    pub plan_version: Option<u32>,
    /// Earlier references (before a reclassification); they still find it.
    #[serde(default)]
    pub aliases: Vec<Reference>,
    /// The automatic classification rule that chose its node at deposit.
    #[serde(default)]
    pub classified_by: Option<String>,
    /// Where its date came from when the depositor gave none (none: given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dated: Option<Dating>,
    /// The capture channel it came through (`dossier:<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The records it was linked to at its deposit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// Retention start events recorded for it (`closing`, `contract_end`).
    #[serde(default)]
    pub events: BTreeMap<String, NaiveDate>,
    /// What remains of it once destroyed.
    #[serde(default)]
    pub tombstone: Option<Tombstone>,
    /// An archivist's decision at the end of a `review` rule.
    #[serde(default)]
    pub review: Option<ReviewDecision>,
    /// What was read of it as an invoice (its latest reading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<super::verification::RecordReading>,
    /// Renditions of its versions made by the archive (a scan's searchable
    /// PDF/A), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renditions: Vec<Rendition>,
    /// Why it waits for a person to verify its description, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_verify: Option<super::verification::ToVerify>,
    /// Where it stands in its processing circuit, when its node has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circulation: Option<super::circuit::Circulation>,
    /// Its due date under the plan in force, as the catalog's due index
    /// holds it (a view; recomputed when the plan or the record changes).
    #[serde(default)]
    pub due: Option<DueMark>,
    /// Digest of the current descriptive metadata document.
    pub metadata_sha256: Sha256,
    /// Every descriptive metadata document the record has had, oldest first.
    pub metadata_history: Vec<Sha256>,
    /// Versions, oldest first.
    pub versions: Vec<Version>,
    /// Lifecycle state.
    pub state: RecordState,
    /// When the record was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
    /// Events that touched the record, oldest first.
    pub history: Vec<HistoryEntry>,
}

impl Record {
    /// Whether its latest version has been read as an invoice.
    pub fn latest_read(&self) -> bool {
        let latest = self.versions.last().map(|v| v.number);
        self.reading.as_ref().map(|r| Some(r.version)) == Some(latest)
    }

    /// Whether it waits to be read as an invoice, should its node read
    /// them: it is not destroyed and its latest version was not read.
    pub fn awaits_reading(&self) -> bool {
        self.tombstone.is_none() && !self.latest_read()
    }

    /// The version numbered `number`, or the latest when `None`.
    pub fn version(&self, number: Option<u32>) -> Option<&Version> {
        match number {
            None => self.versions.last(),
            Some(n) => self.versions.iter().find(|v| v.number == n),
        }
    }

    /// Every blob it uses: its versions' contents, its renditions and its
    /// metadata documents (the fixity job and erasure reckon with all).
    pub fn blobs_used(&self) -> impl Iterator<Item = &Sha256> {
        self.versions
            .iter()
            .map(|v| &v.sha256)
            .chain(self.renditions.iter().map(|r| &r.sha256))
            .chain(&self.metadata_history)
    }

    /// Whether it uses this blob ([`Self::blobs_used`]).
    pub fn uses_blob(&self, sha256: &Sha256) -> bool {
        self.blobs_used().any(|used| used == sha256)
    }

    /// Whether one of its versions or renditions holds this content (its
    /// metadata documents are not content a person deposited).
    pub fn holds_content(&self, sha256: &Sha256) -> bool {
        self.versions.iter().any(|v| v.sha256 == *sha256) || self.renditions.iter().any(|r| r.sha256 == *sha256)
    }

    /// The sequence number of the last event that touched the record.
    pub fn last_seq(&self) -> u64 {
        self.history.last().map_or(0, |h| h.seq)
    }
}

/// Checks a free field name: 1 to 64 characters among letters, digits, `_`,
/// `-` and `.`, so that fields can later be named in templates and queries.
pub fn check_field_name(name: &str) -> Result<(), InvalidInput> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            format!("fields.{name}"),
            "un nom de champ a 1 à 64 lettres, chiffres, « _ », « - » ou « . »",
        ))
    }
}

/// Whether a text a person gives may run over several lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// One line: a label, a reference, a name.
    One,
    /// Several: a reason, a note.
    Many,
}

/// Checks a text a person gives (a reason, a label, a visa's reference):
/// trimmed, 1 to `max` characters, no control characters (but newlines
/// where `lines` allows them).
pub fn check_text(field: &str, text: &str, max: usize, lines: Lines) -> Result<String, InvalidInput> {
    let t = text.trim();
    let allowed = |c: char| lines == Lines::Many && c == '\n';
    if t.is_empty() || t.chars().count() > max || t.chars().any(|c| unreadable(c) && !allowed(c)) {
        return Err(InvalidInput::new(
            field,
            format!("1 à {max} caractères, sans caractère de contrôle"),
        ));
    }
    Ok(t.to_owned())
}

/// Checks an optional one-line text (a service, a document type): blank is
/// none; else trimmed, at most `max` characters, no control characters.
pub fn check_optional_text(field: &str, text: Option<String>, max: usize) -> Result<Option<String>, InvalidInput> {
    match text.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()) {
        Some(s) if s.chars().count() > max || s.chars().any(unreadable) => Err(InvalidInput::new(
            field,
            format!("{max} caractères au plus, sans caractère de contrôle"),
        )),
        other => Ok(other),
    }
}

/// Whether a character may not stand in a text people read: a control
/// character, or one that overrides, embeds or isolates the direction of
/// the text (`facture\u{202E}fdp.exe` shows as `factureexe.pdf`). The
/// marks of direction (U+200E, U+200F), which change no letter's order,
/// are left to right-to-left names.
pub fn unreadable(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The characters `str::trim` drops (Unicode's White_Space), as the inside
/// of a regular expression's class. Said one by one, not as `\s`, whose
/// meaning differs between the dialects that read the interface's
/// patterns: ECMA-262's leaves out U+0085 and takes U+FEFF, Python's takes
/// U+001C to U+001F as well.
pub const WHITE_SPACE_CLASS: &str = r"\t\n\x0B\x0C\r\x20\x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";

/// The longest title accepted, in characters.
pub const TITLE_MAX: usize = 1000;

/// Checks a title: not blank, at most [`TITLE_MAX`] characters, no control
/// characters.
pub fn check_title(title: &str) -> Result<String, InvalidInput> {
    let title = title.trim();
    if title.is_empty() {
        return Err(InvalidInput::new("title", "le titre est vide"));
    }
    if title.chars().count() > TITLE_MAX {
        return Err(InvalidInput::new(
            "title",
            format!("le titre dépasse {TITLE_MAX} caractères"),
        ));
    }
    if title.chars().any(unreadable) {
        return Err(InvalidInput::new(
            "title",
            "le titre contient des caractères de contrôle (ou qui inversent le sens du texte)",
        ));
    }
    Ok(title.to_owned())
}

/// Parses a `YYYY-MM-DD` date (spaces around it dropped): four digits, two
/// and two, as the interface's pattern says; `2024-3-5`, which the date
/// parser alone would take, is refused.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, InvalidInput> {
    let wrong = || {
        InvalidInput::new(
            field,
            format!("une date s'écrit JJ/MM/AAAA ou AAAA-MM-JJ, et non « {text} »"),
        )
    };
    let trimmed = text.trim();
    let shaped = trimmed.len() == 10
        && trimmed.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shaped {
        return Err(wrong());
    }
    let date = NaiveDate::parse_from_str(trimmed, "%Y-%m-%d").map_err(|_| wrong())?;
    if !YEARS.contains(&date.year()) {
        return Err(InvalidInput::new(
            field,
            format!("l'année d'une date est comprise entre 1 et 9999, et non « {text} »"),
        ));
    }
    Ok(date)
}

/// The years a date may have: written with four digits at most, after
/// year 0 (a reference names its year).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_white_space_class_is_what_trim_drops() {
        let class = regex::Regex::new(&format!("^[{WHITE_SPACE_CLASS}]$")).expect("a regex");
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(class.is_match(c.encode_utf8(&mut [0; 4])), c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn what_reverses_the_text_is_refused_like_control_characters() {
        assert!(check_title("Facture \u{202E}fdp.exe").is_err());
        assert!(check_title("Nom \u{2067}arabe\u{2069}").is_err());
        assert!(check_text("title", "a\u{202D}b", 100, Lines::One).is_err());
        assert!(check_optional_text("service", Some("Finances\u{202B}".into()), 100).is_err());
        assert_eq!(
            check_title("Rapport \u{200F}ok").as_deref(),
            Ok("Rapport \u{200F}ok"),
            "a mark is kept"
        );
    }

    #[test]
    fn values_compare_without_case_accents_spaces_or_punctuation() {
        assert_eq!(comparable("FA-2024/88"), comparable("fa 2024 88"));
        assert_eq!(comparable("Société Générale & Cie"), "societegeneralecie");
        assert_eq!(comparable(" - / "), "");
        assert_ne!(comparable("FA-2024-88"), comparable("FA-2024-89"));
        assert_eq!(comparable(&"x".repeat(500)).len(), 200);
    }

    #[test]
    fn dates_are_read_in_years_one_to_9999() {
        assert_eq!(
            parse_date("date", " 2024-03-15 ").map(|d| d.to_string()),
            Ok("2024-03-15".to_owned())
        );
        assert_eq!(
            parse_date("date", "0001-01-01").map(|d| d.to_string()),
            Ok("0001-01-01".to_owned())
        );
        for bad in ["-0001-03-15", "0000-03-15", "+10000-01-01", "15/03/2024"] {
            let e = parse_date("date", bad).expect_err(bad);
            assert_eq!(e.field, "date", "{bad}");
        }
        assert!(
            parse_date("date", "0000-03-15")
                .unwrap_err()
                .problem
                .contains("entre 1 et 9999")
        );
    }

    #[test]
    fn node_codes_are_normalised_and_checked() {
        assert_eq!(
            NodeCode::parse(" fin-fac ").map(|n| n.to_string()),
            Ok("FIN-FAC".into())
        );
        assert!(NodeCode::parse("").is_err());
        assert!(NodeCode::parse("FIN/FAC").is_err());
        assert!(NodeCode::parse("-FIN").is_err());
        assert!(NodeCode::parse(&"A".repeat(33)).is_err());
        assert!(NodeCode::parse("ÉTAT").is_err());
    }

    #[test]
    fn titles_and_dates_are_checked() {
        assert_eq!(check_title("  Facture  ").as_deref(), Ok("Facture"));
        assert!(check_title(" ").is_err());
        assert!(check_title("a\u{7}b").is_err());
        assert!(parse_date("date", "2025-02-30").is_err());
        assert_eq!(
            parse_date("date", "2024-02-29").map(|d| d.to_string()),
            Ok("2024-02-29".into())
        );
    }

    #[test]
    fn record_ids_sort_by_time() {
        let a = RecordId::new_at(DateTime::from_timestamp(1_000, 0).unwrap());
        let b = RecordId::new_at(DateTime::from_timestamp(2_000, 0).unwrap());
        assert!(a < b);
        assert_eq!(RecordId::parse(&a.to_string()), Some(a));
    }
}
