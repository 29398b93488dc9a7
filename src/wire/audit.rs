//! The journal as read by auditors, and integrity check jobs and reports.

use crate::domain::event::Event;
use crate::domain::integrity::{IntegrityFailure, IntegrityReport};
use crate::jobs::{JobState, JobView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A journal event as written in the journal (its members in the
/// canonical, alphabetical order); `schemas/journal-event.schema.json`
/// describes each kind's payload.
#[derive(Serialize, ToSchema)]
pub struct EventDto {
    /// Who acted: `token:<name>`, `cli:<user>`, `system`.
    pub actor: String,
    /// `sha256:<hex>` of the event's canonical encoding without `hash`.
    pub hash: String,
    /// The kind, such as `record.ingested`.
    pub kind: String,
    /// The kind's payload.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The previous event's `hash`.
    pub prev_hash: String,
    /// Position in the journal, from 1, without gaps.
    pub seq: u64,
    /// When it was committed (RFC 3339, UTC, microseconds).
    pub time: String,
    /// Event format version.
    pub v: u64,
}

impl From<&Event> for EventDto {
    fn from(e: &Event) -> Self {
        EventDto {
            actor: e.actor.clone(),
            hash: e.hash.to_string(),
            kind: e.kind.clone(),
            payload: e.payload.clone(),
            prev_hash: e.prev_hash.to_string(),
            seq: e.seq,
            time: crate::domain::event::format_time(&e.time),
            v: e.v,
        }
    }
}

/// Journal events.
#[derive(Serialize, ToSchema)]
pub struct EventsDto {
    /// Events, each as written in the journal.
    pub events: Vec<EventDto>,
    /// Pass as `after` to read on.
    pub next_after: u64,
}

impl EventsDto {
    /// Events after `after`.
    pub fn new(events: &[Event], after: u64) -> Self {
        EventsDto {
            next_after: events.last().map_or(after, |e| e.seq),
            events: events.iter().map(EventDto::from).collect(),
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
    pub report: Option<IntegrityReportDto>,
    /// Why it could not run.
    pub error: Option<String>,
}

/// An integrity report.
#[derive(Serialize, ToSchema)]
pub struct IntegrityReportDto {
    /// Whether nothing was found wrong.
    pub passed: bool,
    /// Journal events read and checked.
    pub events_checked: u64,
    /// The last seq covered.
    pub through_seq: u64,
    /// Journal seals whose root and signature were checked.
    pub seals_checked: u64,
    /// Blobs re-hashed.
    pub blobs_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Records compared between catalog and journal.
    pub records_checked: u64,
    /// Blobs no event refers to (left by an interrupted deposit); harmless.
    pub unreferenced_blobs: u64,
    /// Everything found wrong, each with its `kind` and what it concerns.
    #[schema(value_type = Vec<Object>)]
    pub failures: Vec<IntegrityFailure>,
    /// The failures, each as one line for a person.
    pub messages: Vec<String>,
}

impl From<IntegrityReport> for IntegrityReportDto {
    fn from(report: IntegrityReport) -> Self {
        IntegrityReportDto {
            passed: report.passed(),
            events_checked: report.events_checked,
            through_seq: report.through_seq,
            seals_checked: report.seals_checked,
            blobs_checked: report.blobs_checked,
            bytes_checked: report.bytes_checked,
            records_checked: report.records_checked,
            unreferenced_blobs: report.unreferenced_blobs,
            messages: report.failures.iter().map(ToString::to_string).collect(),
            failures: report.failures,
        }
    }
}

impl VerifyJobDto {
    /// A check just started: running, nothing done yet (what it is the
    /// moment it starts, whatever its thread has done since).
    pub fn started(job: u64) -> Self {
        VerifyJobDto {
            job,
            status: "running".into(),
            phase: String::new(),
            done: 0,
            total: 0,
            report: None,
            error: None,
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

/// One reading of a record that holds personal data.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConsultationDto {
    /// Its journal event.
    pub seq: u64,
    /// When.
    pub at: chrono::DateTime<chrono::Utc>,
    /// Who, as the journal names them.
    pub actor: String,
    /// Who, as listed by: the person's user name, or the actor's name.
    pub who: String,
    /// The record's id.
    pub record: String,
    /// Its reference when read.
    pub reference: String,
    /// `detail` or `content`.
    pub reading: String,
    /// The version read, for content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The address the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl From<crate::domain::trail::Consultation> for ConsultationDto {
    fn from(c: crate::domain::trail::Consultation) -> Self {
        ConsultationDto {
            seq: c.seq,
            at: c.at,
            actor: c.actor,
            who: c.who,
            record: c.record.to_string(),
            reference: c.reference.to_string(),
            reading: match c.reading {
                crate::domain::trail::Reading::Detail => "detail",
                crate::domain::trail::Reading::Content => "content",
            }
            .to_owned(),
            version: c.version,
            from: c.from,
        }
    }
}

/// `GET /audit/consultations`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ConsultationsDto {
    /// Oldest first.
    pub consultations: Vec<ConsultationDto>,
    /// When the page is full: the `after` of the next page (the last
    /// reading's seq). Absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

impl ConsultationsDto {
    /// A page of `limit` readings at most.
    pub fn page(found: Vec<crate::domain::trail::Consultation>, limit: usize) -> Self {
        let next = crate::domain::trail::next_after(&found, limit);
        ConsultationsDto {
            consultations: found.into_iter().map(ConsultationDto::from).collect(),
            next,
        }
    }
}

/// What a repair pass did (`POST /repair`).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RepairReportDto {
    /// Whether everything known damaged was put back.
    pub complete: bool,
    /// Blobs looked at.
    pub blobs_examined: u64,
    /// The copy stores (empty: the archive keeps one copy).
    pub copies: Vec<String>,
    /// Damaged contents put back from a copy.
    pub repaired: Vec<RepairedBlobDto>,
    /// Copy stores given a content they lacked.
    pub copies_completed: Vec<CompletedCopyDto>,
    /// What could not be repaired, and why.
    pub unrepaired: Vec<UnrepairedBlobDto>,
}

/// A content put back from a copy.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RepairedBlobDto {
    /// Its SHA-256, in hexadecimal (as in `versions[].sha256`).
    pub blob: String,
    /// The copy store its good bytes came from.
    pub source: String,
    /// The records that use it (references).
    pub used_by: Vec<String>,
}

/// A copy store given a content it lacked.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CompletedCopyDto {
    /// Its SHA-256, in hexadecimal (as in `versions[].sha256`).
    pub blob: String,
    /// The copy store.
    pub copy: String,
}

/// A damaged content that could not be put back.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct UnrepairedBlobDto {
    /// Its SHA-256, in hexadecimal (as in `versions[].sha256`).
    pub blob: String,
    /// `corrupt` or `missing`.
    pub problem: String,
    /// The records that use it (references).
    pub used_by: Vec<String>,
    /// Why, and what to do, in French.
    pub reason: String,
}

impl From<crate::domain::integrity::RepairReport> for RepairReportDto {
    fn from(report: crate::domain::integrity::RepairReport) -> Self {
        RepairReportDto {
            complete: report.unrepaired.is_empty(),
            blobs_examined: report.blobs_examined,
            copies: report.copies,
            repaired: report
                .repaired
                .into_iter()
                .map(|r| RepairedBlobDto {
                    blob: r.blob.hex(),
                    source: r.source,
                    used_by: r.used_by,
                })
                .collect(),
            copies_completed: report
                .copies_completed
                .into_iter()
                .map(|c| CompletedCopyDto {
                    blob: c.blob.hex(),
                    copy: c.copy,
                })
                .collect(),
            unrepaired: report
                .unrepaired
                .into_iter()
                .map(|u| UnrepairedBlobDto {
                    blob: u.blob.hex(),
                    problem: match u.problem {
                        crate::domain::integrity::DamageKind::Corrupt => "corrupt".into(),
                        crate::domain::integrity::DamageKind::Missing => "missing".into(),
                    },
                    used_by: u.used_by,
                    reason: u.reason,
                })
                .collect(),
        }
    }
}
