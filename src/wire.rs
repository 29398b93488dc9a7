//! JSON shapes of records, events, tokens and reports, shared by the HTTP
//! API and the command line's `--json` output. They are kept apart from the
//! domain types so that either can change without breaking the other.

use crate::archive::canonical_filename;
use crate::domain::event::{Event, format_time};
use crate::domain::integrity::IntegrityReport;
use crate::domain::record::Record;
use crate::jobs::{JobState, JobView};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A record version.
#[derive(Serialize, ToSchema)]
pub struct VersionDto {
    /// 1, 2, ...
    pub number: u32,
    /// SHA-256 of the content, 64 hex digits (as `sha256sum` prints it).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type sniffed from the bytes.
    pub media_type: String,
    /// The original file name, as deposited.
    pub filename: Option<String>,
    /// The name the content is served under.
    pub canonical_filename: String,
    /// Deposit time (RFC 3339, UTC).
    pub ingested_at: String,
    /// Depositor.
    pub ingested_by: String,
    /// The journal event that added it.
    pub seq: u64,
}

/// One event in a record's history.
#[derive(Serialize, ToSchema)]
pub struct HistoryDto {
    /// Journal seq.
    pub seq: u64,
    /// When.
    pub time: String,
    /// Who.
    pub actor: String,
    /// What.
    pub kind: String,
}

/// A record.
#[derive(Serialize, ToSchema)]
pub struct RecordDto {
    /// Permanent id (UUIDv7).
    pub id: String,
    /// Reference, such as `FIN-FAC-2025-000042`.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Classification node code.
    pub node: String,
    /// The document's date, `YYYY-MM-DD`.
    pub date: String,
    /// Producing service.
    pub service: Option<String>,
    /// Document type.
    #[serde(rename = "type")]
    pub document_type: Option<String>,
    /// Free fields.
    pub fields: BTreeMap<String, String>,
    /// `active`.
    pub state: String,
    /// Creation time.
    pub created_at: String,
    /// Creator.
    pub created_by: String,
    /// Digest of the current descriptive metadata document.
    pub metadata_sha256: String,
    /// Versions, oldest first.
    pub versions: Vec<VersionDto>,
    /// Events that touched the record.
    pub history: Vec<HistoryDto>,
    /// How the record's text was obtained for search.
    pub text: TextDto,
}

/// A record's text, as the search index holds it.
#[derive(Serialize, ToSchema)]
pub struct TextDto {
    /// `pending` (not indexed yet), `extracted` or `failed`.
    pub status: String,
    /// Which extractor ran.
    pub extractor: Option<String>,
    /// Characters of text extracted.
    pub chars: Option<u64>,
    /// Why there is no text.
    pub error: Option<String>,
}

impl From<Option<crate::domain::search::TextStatus>> for TextDto {
    fn from(status: Option<crate::domain::search::TextStatus>) -> Self {
        match status {
            None => TextDto {
                status: "pending".into(),
                extractor: None,
                chars: None,
                error: None,
            },
            Some(s) => TextDto {
                status: if s.error.is_some() { "failed" } else { "extracted" }.into(),
                extractor: Some(s.extractor),
                chars: Some(s.chars),
                error: s.error,
            },
        }
    }
}

impl RecordDto {
    /// The record with its text status.
    pub fn new(record: &Record, text: Option<crate::domain::search::TextStatus>) -> Self {
        let mut dto = RecordDto::from(record);
        dto.text = TextDto::from(text);
        dto
    }
}

impl From<&Record> for RecordDto {
    fn from(r: &Record) -> Self {
        RecordDto {
            id: r.id.to_string(),
            reference: r.reference.to_string(),
            title: r.title.clone(),
            node: r.node.to_string(),
            date: r.date.to_string(),
            service: r.service.clone(),
            document_type: r.document_type.clone(),
            fields: r.fields.clone(),
            state: r.state.as_str().to_owned(),
            created_at: format_time(&r.created_at),
            created_by: r.created_by.clone(),
            metadata_sha256: r.metadata_sha256.hex(),
            versions: r
                .versions
                .iter()
                .map(|v| VersionDto {
                    number: v.number,
                    sha256: v.sha256.hex(),
                    size: v.size,
                    media_type: v.media_type.clone(),
                    filename: v.filename.clone(),
                    canonical_filename: canonical_filename(r, v),
                    ingested_at: format_time(&v.ingested_at),
                    ingested_by: v.ingested_by.clone(),
                    seq: v.seq,
                })
                .collect(),
            history: r
                .history
                .iter()
                .map(|h| HistoryDto {
                    seq: h.seq,
                    time: format_time(&h.time),
                    actor: h.actor.clone(),
                    kind: h.kind.clone(),
                })
                .collect(),
            text: TextDto::from(None),
        }
    }
}

/// The `metadata` part of a deposit.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositMetadataDto {
    /// Classification node code (required).
    #[serde(default)]
    pub node: String,
    /// Title; defaults to the file name without extension.
    pub title: Option<String>,
    /// `YYYY-MM-DD`; defaults to today.
    pub date: Option<String>,
    /// Producing service.
    pub service: Option<String>,
    /// Document type (invoice, deliberation, ...).
    #[serde(rename = "type")]
    pub document_type: Option<String>,
    /// Free string fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// `POST /tokens` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenDto {
    /// `admin`, `archivist`, `auditor` or `agent`.
    pub role: String,
    /// A name for people (who or what uses it).
    pub name: String,
}

/// A new token: shown once.
#[derive(Serialize, ToSchema)]
pub struct TokenDto {
    /// The token text; store it, it cannot be shown again.
    pub token: String,
    /// Its role.
    pub role: String,
    /// Its name.
    pub name: String,
}

/// Journal events.
#[derive(Serialize, ToSchema)]
pub struct EventsDto {
    /// Events, each as written in the journal.
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<serde_json::Value>,
    /// Pass as `after` to read on.
    pub next_after: u64,
}

impl EventsDto {
    /// Events after `after`.
    pub fn new(events: &[Event], after: u64) -> Self {
        EventsDto {
            next_after: events.last().map_or(after, |e| e.seq),
            events: events.iter().map(Event::to_value).collect(),
        }
    }
}

/// An integrity check job.
#[derive(Serialize, ToSchema)]
pub struct VerifyJobDto {
    /// Job id.
    pub job: u64,
    /// `running`, `passed`, `failed` (failures found) or `error` (could not run).
    pub status: String,
    /// Current phase (`journal`, `blobs`, `catalog`).
    pub phase: String,
    /// Units done in the phase.
    pub done: u64,
    /// Units in the phase (0 if unknown).
    pub total: u64,
    /// The report, once finished.
    #[schema(value_type = Option<Object>)]
    pub report: Option<IntegrityReportDto>,
    /// Why it could not run.
    pub error: Option<String>,
}

/// An integrity report.
#[derive(Serialize)]
pub struct IntegrityReportDto {
    passed: bool,
    #[serde(flatten)]
    report: IntegrityReport,
    messages: Vec<String>,
}

impl From<IntegrityReport> for IntegrityReportDto {
    fn from(report: IntegrityReport) -> Self {
        IntegrityReportDto {
            passed: report.passed(),
            messages: report.failures.iter().map(ToString::to_string).collect(),
            report,
        }
    }
}

impl From<JobView> for VerifyJobDto {
    fn from(job: JobView) -> Self {
        let (phase, done, total) = job.progress.snapshot();
        let (status, report, error) = match job.state {
            JobState::Running => ("running", None, None),
            JobState::Done(r) if r.passed() => ("passed", Some(r.into()), None),
            JobState::Done(r) => ("failed", Some(r.into()), None),
            JobState::Failed(e) => ("error", None, Some(e)),
        };
        VerifyJobDto {
            job: job.id,
            status: status.into(),
            phase,
            done,
            total,
            report,
            error,
        }
    }
}

/// One search hit.
#[derive(Serialize, ToSchema)]
pub struct SearchHitDto {
    /// Record id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Node.
    pub node: String,
    /// The record's date.
    pub date: String,
    /// Relevance (0 when sorted by date).
    pub score: f32,
    /// HTML: the text around the matches, escaped, matches in `<b>`.
    pub snippet: String,
}

/// A page of search results.
#[derive(Serialize, ToSchema)]
pub struct SearchResultsDto {
    /// Matching records in all.
    pub total: u64,
    /// This page.
    pub hits: Vec<SearchHitDto>,
    /// Matching records by node.
    pub facets: BTreeMap<String, u64>,
    /// True when nothing matched as written and the hits allow one typo per word.
    pub fuzzy: bool,
}

impl From<crate::domain::search::SearchResults> for SearchResultsDto {
    fn from(r: crate::domain::search::SearchResults) -> Self {
        SearchResultsDto {
            total: r.total,
            hits: r.hits.iter().map(SearchHitDto::from).collect(),
            facets: r.facets,
            fuzzy: r.fuzzy,
        }
    }
}

impl From<&crate::domain::search::SearchHit> for SearchHitDto {
    fn from(h: &crate::domain::search::SearchHit) -> Self {
        SearchHitDto {
            id: h.id.to_string(),
            reference: h.reference.to_string(),
            title: h.title.clone(),
            node: h.node.to_string(),
            date: h.date.to_string(),
            score: h.score,
            snippet: h.snippet.clone(),
        }
    }
}
