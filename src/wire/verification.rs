//! The verification queue: the records that wait, a person's verification
//! of one, and the counts of fields checked and corrected.

use crate::archive::verification::{QueuePage, Verification};
use crate::domain::event::format_time;
use crate::domain::record::Record;
use crate::domain::verification::{CheckCounts, CheckKey, ReadValue, RecordReading, ToVerify, VerifyReason};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// Why a record waits, and since when.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ToVerifyDto {
    /// Since when (RFC 3339).
    pub since: String,
    /// `classification` (a rule chose the node from the name or the
    /// text), `reading` (fields read with doubt or not found), or both.
    pub reasons: Vec<String>,
    /// The rule that chose the node, for `classification`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The fields to look at, for `reading`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

impl From<&ToVerify> for ToVerifyDto {
    fn from(w: &ToVerify) -> Self {
        let mut dto = ToVerifyDto {
            since: format_time(&w.since),
            reasons: Vec::new(),
            rule: None,
            fields: Vec::new(),
        };
        for reason in &w.reasons {
            match reason {
                VerifyReason::Classification { rule } => {
                    dto.reasons.push("classification".into());
                    dto.rule = Some(rule.clone());
                }
                VerifyReason::Reading { fields } => {
                    dto.reasons.push("reading".into());
                    dto.fields.extend(fields.iter().cloned());
                }
            }
        }
        dto
    }
}

/// One field as read.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReadValueDto {
    /// Its name.
    pub name: String,
    /// Its value, normalised (`2024-04-14`, `1200.00`).
    pub value: String,
    /// From 0 to 100; below 80 it is doubtful.
    pub confidence: u8,
    /// Why it is doubtful, in French.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doubt: Option<String>,
}

impl From<&ReadValue> for ReadValueDto {
    fn from(v: &ReadValue) -> Self {
        ReadValueDto {
            name: v.name.clone(),
            value: v.value.clone(),
            confidence: v.confidence,
            doubt: v.doubt.clone(),
        }
    }
}

/// What was read of a record's version.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RecordReadingDto {
    /// The version read.
    pub version: u32,
    /// When (RFC 3339).
    pub at: String,
    /// The fields read.
    pub fields: Vec<ReadValueDto>,
    /// The fields every invoice has that were not found.
    pub missing: Vec<String>,
    /// The supplier whose template (in the plan) read it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl From<&RecordReading> for RecordReadingDto {
    fn from(r: &RecordReading) -> Self {
        RecordReadingDto {
            version: r.version,
            at: format_time(&r.at),
            fields: r.fields.iter().map(ReadValueDto::from).collect(),
            missing: r.missing.clone(),
            template: r.template.clone(),
        }
    }
}

/// A record in the queue.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct WaitingRecordDto {
    /// Its id.
    pub id: String,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its node.
    pub node: String,
    /// Its date, `YYYY-MM-DD`.
    pub date: String,
    /// When it was deposited (RFC 3339).
    pub created_at: String,
    /// Who deposited it.
    pub created_by: String,
    /// Its fields as they stand.
    pub fields: BTreeMap<String, String>,
    /// Why it waits.
    pub to_verify: ToVerifyDto,
    /// What was read of it, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<RecordReadingDto>,
}

impl WaitingRecordDto {
    /// A record of the queue (`None` if it does not wait).
    pub fn new(r: &Record) -> Option<Self> {
        Some(WaitingRecordDto {
            id: r.id.to_string(),
            reference: r.reference.to_string(),
            title: r.title.clone(),
            node: r.node.to_string(),
            date: r.date.to_string(),
            created_at: format_time(&r.created_at),
            created_by: r.created_by.clone(),
            fields: r.fields.clone(),
            to_verify: ToVerifyDto::from(r.to_verify.as_ref()?),
            reading: r.reading.as_ref().map(RecordReadingDto::from),
        })
    }
}

/// `GET /verification`: one page of the queue.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct VerificationQueueDto {
    /// Records waiting in the whole archive.
    pub waiting: u64,
    /// Those of this page the caller may verify, oldest deposit first.
    pub records: Vec<WaitingRecordDto>,
    /// Pass as `after` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl VerificationQueueDto {
    /// A page of the queue.
    pub fn new(page: &QueuePage) -> Self {
        VerificationQueueDto {
            waiting: page.waiting,
            records: page.records.iter().filter_map(WaitingRecordDto::new).collect(),
            next: page.next.clone(),
        }
    }
}

/// `POST /records/{ref}/verification` body: the fields confirmed or
/// corrected.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerificationDto {
    /// Fields to set; `null` empties one. The fields not named are
    /// confirmed as they stand.
    #[serde(default)]
    pub fields: BTreeMap<String, Option<String>>,
    /// The node, when not the one a rule chose.
    pub node: Option<String>,
    /// The document's date (`YYYY-MM-DD`), when not the one it has.
    pub date: Option<String>,
    /// A comment, journaled with the verification.
    pub comment: Option<String>,
}

impl From<VerificationDto> for Verification {
    fn from(v: VerificationDto) -> Self {
        Verification {
            fields: v.fields,
            node: v.node,
            date: v.date,
            comment: v.comment,
        }
    }
}

/// Checked and corrected, for one field.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CheckCountDto {
    /// The field (`noeud`: the node a rule chose).
    pub field: String,
    /// The supplier, in `by_supplier`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Fields a person checked.
    pub checked: u64,
    /// Of which they corrected.
    pub corrected: u64,
}

/// `GET /verification/counts`: what capture read right and what people
/// corrected.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct VerificationCountsDto {
    /// Records waiting now.
    pub waiting: u64,
    /// By field, every supplier together.
    pub by_field: Vec<CheckCountDto>,
    /// By supplier and field.
    pub by_supplier: Vec<CheckCountDto>,
}

impl VerificationCountsDto {
    /// The counts, by field then by supplier.
    pub fn new(counts: &crate::archive::verification::VerificationCounts) -> Self {
        let (waiting, counts) = (counts.waiting, &counts.counts);
        let dto = |(k, c): &(CheckKey, CheckCounts)| CheckCountDto {
            field: k.field.clone(),
            supplier: k.supplier.clone(),
            checked: c.checked,
            corrected: c.corrected,
        };
        VerificationCountsDto {
            waiting,
            by_field: counts.iter().filter(|(k, _)| k.supplier.is_none()).map(dto).collect(),
            by_supplier: counts.iter().filter(|(k, _)| k.supplier.is_some()).map(dto).collect(),
        }
    }
}
