//! The capture and health indicators as the API gives them.

use crate::archive::indicators::{CaptureReport, HealthReport};
use crate::domain::indicators::capture::{FieldCounts, FlowCounts};
use crate::domain::indicators::health::HealthMonth;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How one field fared (every supplier, or one).
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FieldCountsDto {
    /// The field (`noeud`: the node a classification rule chose).
    pub field: String,
    /// The supplier (absent: every supplier, or not known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Read with enough confidence to be kept without a person.
    pub read_surely: u64,
    /// Read with doubt.
    pub doubtful: u64,
    /// Not found where an invoice should have it.
    pub missing: u64,
    /// Checked by a person in the verification queue.
    pub checked: u64,
    /// Of which changed by that person.
    pub corrected: u64,
    /// `corrected` over `checked`, in percent to a tenth (absent when none
    /// was checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corrected_share: Option<f64>,
}

impl FieldCountsDto {
    fn new(field: &str, supplier: Option<&String>, c: &FieldCounts) -> Self {
        FieldCountsDto {
            field: field.to_owned(),
            supplier: supplier.cloned(),
            read_surely: c.read_surely,
            doubtful: c.doubtful,
            missing: c.missing,
            checked: c.checked,
            corrected: c.corrected,
            corrected_share: crate::domain::indicators::capture::rate(c.corrected, c.checked),
        }
    }
}

/// Deposits through one channel on one day.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaptureDayDto {
    /// The day.
    pub day: String,
    /// The channel (`api` for the API and the command line, `dossier:NAME`,
    /// `messagerie:NAME`).
    pub channel: String,
    /// Records deposited.
    pub records: u64,
    /// Of which filed by a classification rule.
    pub classified: u64,
}

/// One month's deposits.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaptureMonthDto {
    /// The month (`2024-03`).
    pub month: String,
    /// Records deposited.
    pub records: u64,
    /// Of which filed by a classification rule.
    pub classified: u64,
    /// The automatic classification rate, in percent to a tenth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_rate: Option<f64>,
}

/// PES flows by state.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FlowCountsDto {
    /// The month they were archived (absent: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
    /// Archived (sent to the accountant).
    pub sent: u64,
    /// Accepted by the accountant.
    pub accepted: u64,
    /// Rejected, in whole or in part.
    pub rejected: u64,
    /// With no acknowledgement yet.
    pub waiting: u64,
}

impl FlowCountsDto {
    fn new(month: Option<&String>, c: &FlowCounts) -> Self {
        FlowCountsDto {
            month: month.cloned(),
            sent: c.sent,
            accepted: c.accepted,
            rejected: c.rejected,
            waiting: c.waiting,
        }
    }
}

/// An anomaly rejected flows gave.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RejectionDto {
    /// Its code.
    pub code: String,
    /// Its label.
    pub label: String,
    /// Rejections that gave it (each acknowledgement once).
    pub flows: u64,
}

/// Failures that stand now.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaptureFailuresDto {
    /// Records whose text could not be extracted, by the extractor that
    /// failed (`ocr` for images and scans, `pdf`…, `none` for a format
    /// without one).
    pub extraction: Vec<ExtractionFailureDto>,
    /// Records with a signature found invalid.
    pub signatures_invalid: u64,
    /// Records with a signature that could not be checked.
    pub signatures_unchecked: u64,
}

/// Extraction failures of one extractor.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExtractionFailureDto {
    /// The extractor.
    pub extractor: String,
    /// Records.
    pub records: u64,
}

/// `GET /indicators/capture`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CaptureIndicatorsDto {
    /// The day the figures are for.
    pub on: String,
    /// Deposits.
    pub deposited: u64,
    /// Of which filed by a classification rule.
    pub classified: u64,
    /// The automatic classification rate, in percent to a tenth (absent
    /// without deposits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification_rate: Option<f64>,
    /// Each month's deposits, in order.
    pub months: Vec<CaptureMonthDto>,
    /// Deposits by channel and day, in order.
    pub channels: Vec<CaptureDayDto>,
    /// How each field read from invoices fared, every supplier together.
    pub fields: Vec<FieldCountsDto>,
    /// How each field fared for each supplier.
    pub suppliers: Vec<FieldCountsDto>,
    /// PES flows by state.
    pub flows: FlowCountsDto,
    /// PES flows by the month they were archived.
    pub flows_by_month: Vec<FlowCountsDto>,
    /// The anomalies rejected flows gave.
    pub rejections: Vec<RejectionDto>,
    /// The failures that stand now (absent for a past day: they are not
    /// journaled, extraction being a view that is run again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<CaptureFailuresDto>,
}

impl CaptureIndicatorsDto {
    /// The indicators on `on`.
    pub fn new(report: &CaptureReport, on: chrono::NaiveDate) -> Self {
        let c = &report.journal;
        CaptureIndicatorsDto {
            on: on.to_string(),
            deposited: c.deposited,
            classified: c.classified,
            classification_rate: c.classification_rate,
            months: c
                .months
                .iter()
                .map(|(month, records, classified)| CaptureMonthDto {
                    month: month.clone(),
                    records: *records,
                    classified: *classified,
                    classification_rate: crate::domain::indicators::capture::rate(*classified, *records),
                })
                .collect(),
            channels: c
                .channels
                .iter()
                .map(|(day, channel, records, classified)| CaptureDayDto {
                    day: day.to_string(),
                    channel: channel.clone(),
                    records: *records,
                    classified: *classified,
                })
                .collect(),
            fields: c
                .by_field
                .iter()
                .map(|(field, counts)| FieldCountsDto::new(field, None, counts))
                .collect(),
            suppliers: c
                .by_supplier
                .iter()
                .filter(|(supplier, _, _)| supplier.is_some())
                .map(|(supplier, field, counts)| FieldCountsDto::new(field, supplier.as_ref(), counts))
                .collect(),
            flows: FlowCountsDto::new(None, &c.flows),
            flows_by_month: c
                .flows_by_month
                .iter()
                .map(|(month, counts)| FlowCountsDto::new(Some(month), counts))
                .collect(),
            rejections: c
                .rejections
                .iter()
                .map(|(code, label, flows)| RejectionDto {
                    code: code.clone(),
                    label: label.clone(),
                    flows: *flows,
                })
                .collect(),
            failures: report.failures.as_ref().map(|f| CaptureFailuresDto {
                extraction: f
                    .extraction
                    .iter()
                    .map(|(extractor, records)| ExtractionFailureDto {
                        extractor: extractor.clone(),
                        records: *records,
                    })
                    .collect(),
                signatures_invalid: f.signatures_invalid,
                signatures_unchecked: f.signatures_unchecked,
            }),
        }
    }
}

/// One month of the archive's health.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HealthMonthDto {
    /// The month (`2024-03`).
    pub month: String,
    /// Records eliminated.
    pub eliminated: u64,
    /// Records transferred to the archives service.
    pub transferred: u64,
    /// Legal holds placed.
    pub holds_placed: u64,
    /// Legal holds lifted.
    pub holds_lifted: u64,
    /// Fixity runs completed.
    pub fixity_runs: u64,
    /// Blobs they re-hashed.
    pub blobs_checked: u64,
    /// Blobs found damaged.
    pub damage_found: u64,
    /// Blobs repaired.
    pub damage_repaired: u64,
}

impl HealthMonthDto {
    fn new(month: &str, m: &HealthMonth) -> Self {
        HealthMonthDto {
            month: month.to_owned(),
            eliminated: m.eliminated,
            transferred: m.transferred,
            holds_placed: m.holds_placed,
            holds_lifted: m.holds_lifted,
            fixity_runs: m.fixity_runs,
            blobs_checked: m.blobs_checked,
            damage_found: m.damage_found,
            damage_repaired: m.damage_repaired,
        }
    }
}

/// Records due in one month.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DueMonthDto {
    /// The month (`2024-03`).
    pub month: String,
    /// Records whose retention ends in it.
    pub records: u64,
}

/// A copy store's lag.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CopyLagDto {
    /// The copy store.
    pub store: String,
    /// Journal events it lacks.
    pub lag_events: u64,
}

/// What only the present says of the archive's health.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HealthNowDto {
    /// Records due for their final action today or before.
    pub overdue: u64,
    /// Of which a legal hold keeps.
    pub held_due: u64,
    /// Records due in each month of the year to come.
    pub due_by_month: Vec<DueMonthDto>,
    /// Each copy store's lag (for those who audit or manage records).
    pub copies: Vec<CopyLagDto>,
    /// The events of the followed archive not yet applied here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follower_lag_events: Option<u64>,
}

/// The latest complete fixity run.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FixityRunDto {
    /// When it began.
    pub started_at: String,
    /// Blobs it re-hashed.
    pub blobs_checked: u64,
    /// What it found wrong.
    pub findings: u64,
}

/// `GET /indicators/health`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HealthIndicatorsDto {
    /// The day the figures are for.
    pub on: String,
    /// Each month, in order.
    pub months: Vec<HealthMonthDto>,
    /// The latest complete fixity run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fixity_run: Option<FixityRunDto>,
    /// Contents deposited since it began, not yet re-hashed.
    pub unchecked_since: u64,
    /// Fixity coverage, in percent to a tenth (absent before any run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixity_coverage: Option<f64>,
    /// Blobs found damaged and not repaired.
    pub open_damage: u64,
    /// What only the present says (absent for a past day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<HealthNowDto>,
}

impl HealthIndicatorsDto {
    /// The health on `on`.
    pub fn new(report: &HealthReport, on: chrono::NaiveDate) -> Self {
        let h = &report.journal;
        HealthIndicatorsDto {
            on: on.to_string(),
            months: h
                .months
                .iter()
                .map(|(m, counts)| HealthMonthDto::new(m, counts))
                .collect(),
            last_fixity_run: h.last_fixity_run.map(|r| FixityRunDto {
                started_at: r.started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                blobs_checked: r.blobs_checked,
                findings: r.findings,
            }),
            unchecked_since: h.unchecked_since,
            fixity_coverage: h.fixity_coverage,
            open_damage: h.open_damage,
            now: report.now.as_ref().map(|n| HealthNowDto {
                overdue: n.overdue,
                held_due: n.held_due,
                due_by_month: n
                    .due_by_month
                    .iter()
                    .map(|(month, records)| DueMonthDto {
                        month: month.clone(),
                        records: *records,
                    })
                    .collect(),
                copies: n
                    .copies
                    .iter()
                    .map(|(store, lag)| CopyLagDto {
                        store: store.clone(),
                        lag_events: *lag,
                    })
                    .collect(),
                follower_lag_events: n.follower_lag,
            }),
        }
    }
}
