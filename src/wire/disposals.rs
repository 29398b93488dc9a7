//! Disposals and transfers: proposals with their lines and exclusions,
//! the visa, the execution, the archives' acknowledgement.

use crate::domain::event::format_time;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::disposition::{Acknowledgement, DisposalLine, Exclusion, Execution, Outcome, Visa};
use crate::domain::record::RecordId;

/// A line of a disposal or transfer: a record and what the plan says of it.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct LineDto {
    /// Its content (every version), in bytes.
    pub bytes: u64,
    /// The document's date, `YYYY-MM-DD`.
    pub date: String,
    /// The DUA (`P10Y`).
    pub dua: String,
    /// When its retention ended, `YYYY-MM-DD`.
    pub due: String,
    /// Its node.
    pub node: String,
    /// Its reference.
    pub reference: String,
    /// The rule applied.
    pub rule: String,
}

impl From<&DisposalLine> for LineDto {
    fn from(l: &DisposalLine) -> Self {
        LineDto {
            bytes: l.size(),
            date: l.date.to_string(),
            dua: l.duration.clone(),
            due: l.due.to_string(),
            node: l.node.to_string(),
            reference: l.reference.to_string(),
            rule: l.rule.clone(),
        }
    }
}

/// A record a proposal left out, and why.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExclusionDto {
    /// Why it is not a line (held, not due, to be kept...).
    pub reason: String,
    /// Its reference.
    pub reference: String,
}

impl From<&Exclusion> for ExclusionDto {
    fn from(e: &Exclusion) -> Self {
        ExclusionDto {
            reason: e.reason.clone(),
            reference: e.reference.to_string(),
        }
    }
}

/// The archives authority's visa on a disposal.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct VisaRecordDto {
    /// The visa's date, `YYYY-MM-DD`.
    pub date: String,
    /// When it was recorded here.
    pub recorded_at: String,
    /// Who recorded it.
    pub recorded_by: String,
    /// The visa's reference.
    pub reference: String,
    /// Who signed it.
    pub signer: String,
    /// The lines the authority struck (references): kept, not destroyed.
    pub struck: Vec<String>,
}

impl VisaRecordDto {
    fn new(v: &Visa, reference_of: impl Fn(&RecordId) -> String) -> Self {
        VisaRecordDto {
            date: v.date.to_string(),
            recorded_at: format_time(&v.recorded_at),
            recorded_by: v.recorded_by.clone(),
            reference: v.reference.clone(),
            signer: v.signer.clone(),
            struck: v.struck.iter().map(reference_of).collect(),
        }
    }
}

/// What became of one line of an executed disposal.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DestructionDto {
    /// Whether the record was destroyed.
    pub destroyed: bool,
    /// Why it was not (held, changed since the proposal, no longer due).
    pub reason: Option<String>,
    /// Its reference.
    pub reference: String,
}

impl From<&Outcome> for DestructionDto {
    fn from(o: &Outcome) -> Self {
        DestructionDto {
            destroyed: o.skipped.is_none(),
            reason: o.skipped.clone(),
            reference: o.reference.to_string(),
        }
    }
}

/// A disposal's execution.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ExecutionDto {
    /// Who executed it.
    pub by: String,
    /// Blobs erased (content no live record shares, metadata documents).
    pub erased_blobs: u64,
    /// The event that recorded the erasure, once done.
    pub erased_seq: Option<u64>,
    /// The execution event's hash, which the certificate carries.
    pub hash: String,
    /// Each line's outcome (absent from lists: `GET /disposals/{id}` has
    /// them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<DestructionDto>>,
    /// Lines destroyed.
    pub destroyed: u64,
    /// Lines skipped (held, changed since the proposal, no longer due).
    pub skipped: u64,
    /// The closing execution event (the last part's, while under way).
    pub seq: u64,
    /// When.
    pub time: String,
}

impl ExecutionDto {
    fn new(e: &Execution, whole: bool) -> Self {
        ExecutionDto {
            by: e.by.clone(),
            erased_blobs: e.erased_count,
            erased_seq: e.erased_seq,
            hash: e.hash.to_string(),
            outcomes: whole.then(|| e.outcomes.iter().map(DestructionDto::from).collect()),
            destroyed: e.destroyed,
            skipped: e.skipped,
            seq: e.seq,
            time: format_time(&e.at),
        }
    }
}

/// What became of one line of an acknowledged transfer.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TransferOutcomeDto {
    /// Why it was not transferred (held, changed, not in the packages).
    pub reason: Option<String>,
    /// Its reference.
    pub reference: String,
    /// Whether the archives took it.
    pub transferred: bool,
}

impl From<&Outcome> for TransferOutcomeDto {
    fn from(o: &Outcome) -> Self {
        TransferOutcomeDto {
            reason: o.skipped.clone(),
            reference: o.reference.to_string(),
            transferred: o.skipped.is_none(),
        }
    }
}

/// The archives' acknowledgement of a transfer, as recorded.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AcknowledgementRecordDto {
    /// When it was recorded here.
    pub at: String,
    /// Who recorded it.
    pub by: String,
    /// The acknowledgement's date, `YYYY-MM-DD`.
    pub date: String,
    /// The event that recorded the erasure, once done.
    pub erased_seq: Option<u64>,
    /// Each line's outcome (absent from lists: `GET /transfers/{id}` has
    /// them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<Vec<TransferOutcomeDto>>,
    /// The archives service's reference for the transfer.
    pub reference: String,
    /// The acknowledgement event.
    pub seq: u64,
    /// Who signed it.
    pub signer: Option<String>,
    /// The SHA-256 of the archives' SEDA answer it was read from, kept as
    /// a blob (absent when it was typed by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_sha256: Option<String>,
}

impl AcknowledgementRecordDto {
    fn new(a: &Acknowledgement, whole: bool) -> Self {
        AcknowledgementRecordDto {
            at: format_time(&a.at),
            by: a.by.clone(),
            date: a.date.to_string(),
            erased_seq: a.erased_seq,
            outcomes: whole.then(|| a.outcomes.iter().map(TransferOutcomeDto::from).collect()),
            reference: a.reference.clone(),
            seq: a.seq,
            signer: a.signer.clone(),
            reply_sha256: a.reply.map(|s| s.hex()),
        }
    }
}

/// A disposal and where it stands.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct DisposalDto {
    /// Its id (the journal seq that proposed it).
    pub id: u64,
    /// `proposed`, `approved`, `executing` (an execution in parts under
    /// way), `executed`, or `abandoned` (a proposal the server stopped
    /// writing).
    pub state: String,
    /// Records due on or before this date were considered.
    pub at: String,
    /// The node it was limited to.
    pub node: Option<String>,
    /// When and by whom it was proposed.
    pub proposed_at: String,
    /// Who proposed it.
    pub proposed_by: String,
    /// Records proposed.
    pub count: u64,
    /// Their content, in bytes.
    pub bytes: u64,
    /// Records considered and left out.
    pub excluded_count: u64,
    /// The lines (absent from lists: `GET /disposals/{id}` has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineDto>>,
    /// Records left out, and why (absent from lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Vec<ExclusionDto>>,
    /// Why it was abandoned, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
    /// The archives authority's visa.
    pub visa: Option<VisaRecordDto>,
    /// The execution.
    pub execution: Option<ExecutionDto>,
    /// The reference of the record that holds its certificate (PDF), once
    /// filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_record: Option<String>,
}

impl From<&crate::domain::disposition::Disposal> for DisposalDto {
    /// A disposal read whole, with its lines and outcomes.
    fn from(d: &crate::domain::disposition::Disposal) -> Self {
        DisposalDto::new(d, true)
    }
}

impl DisposalDto {
    /// A disposal as a list gives it: its counts, without its lines,
    /// exclusions and outcomes.
    pub fn summary(d: &crate::domain::disposition::Disposal) -> Self {
        DisposalDto::new(d, false)
    }

    fn new(d: &crate::domain::disposition::Disposal, whole: bool) -> Self {
        DisposalDto {
            id: d.proposal.id,
            state: d.state.as_str().to_owned(),
            at: d.proposal.at.to_string(),
            node: d.proposal.node.as_ref().map(ToString::to_string),
            proposed_at: format_time(&d.proposal.proposed_at),
            proposed_by: d.proposal.proposed_by.clone(),
            count: d.proposal.line_count(),
            bytes: d.proposal.size(),
            excluded_count: d.proposal.totals.excluded,
            lines: whole.then(|| d.proposal.lines.iter().map(LineDto::from).collect()),
            excluded: whole.then(|| d.proposal.excluded.iter().map(ExclusionDto::from).collect()),
            abandoned: d.abandoned.clone(),
            visa: d
                .visa
                .as_ref()
                .map(|v| VisaRecordDto::new(v, |id| d.proposal.reference_of(id))),
            execution: d.execution.as_ref().map(|e| ExecutionDto::new(e, whole)),
            certificate_record: d.certificate.as_ref().map(ToString::to_string),
        }
    }
}

/// `POST /disposals` and `POST /transfers` body.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDisposalDto {
    /// Records due on or before this date, `YYYY-MM-DD` (today by default).
    pub at: Option<String>,
    /// Only this node and below.
    pub node: Option<String>,
    /// Only these records (references, aliases or ids).
    #[serde(default)]
    pub records: Vec<String>,
}

/// `POST /disposals/{id}/approve` body: the archives authority's visa.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisaDto {
    /// The visa's reference.
    #[serde(default)]
    pub visa: String,
    /// Who signed it.
    #[serde(default)]
    pub signer: String,
    /// Its date, `YYYY-MM-DD` (today by default).
    pub date: Option<String>,
    /// Lines the authority struck (references): kept, not destroyed.
    #[serde(default)]
    pub struck: Vec<String>,
}

/// A transfer to the archives, as proposed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TransferDto {
    /// Its id (the journal seq that proposed it).
    pub id: u64,
    /// `proposed`, `exported`, `acknowledged`, or `abandoned`.
    pub state: String,
    /// Records due on or before this date were considered.
    pub at: String,
    /// The node it was limited to.
    pub node: Option<String>,
    /// When it was proposed.
    pub proposed_at: String,
    /// Who proposed it.
    pub proposed_by: String,
    /// Records proposed.
    pub count: u64,
    /// Their content, in bytes.
    pub bytes: u64,
    /// Records considered and left out.
    pub excluded_count: u64,
    /// The lines (absent from lists: `GET /transfers/{id}` has them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LineDto>>,
    /// Records left out, and why (absent from lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excluded: Option<Vec<ExclusionDto>>,
    /// Why it was abandoned, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
    /// The packages exported for it.
    pub packages: Vec<String>,
    /// The archives' acknowledgement.
    pub acknowledgement: Option<AcknowledgementRecordDto>,
}

impl From<&crate::domain::disposition::Transfer> for TransferDto {
    /// A transfer read whole, with its lines and outcomes.
    fn from(t: &crate::domain::disposition::Transfer) -> Self {
        TransferDto::new(t, true)
    }
}

impl TransferDto {
    /// A transfer as a list gives it, without its lines and outcomes.
    pub fn summary(t: &crate::domain::disposition::Transfer) -> Self {
        TransferDto::new(t, false)
    }

    fn new(t: &crate::domain::disposition::Transfer, whole: bool) -> Self {
        TransferDto {
            id: t.proposal.id,
            state: if t.acknowledgement.is_some() {
                "acknowledged".into()
            } else if t.abandoned.is_some() {
                "abandoned".into()
            } else if !t.packages.is_empty() {
                "exported".into()
            } else {
                "proposed".into()
            },
            at: t.proposal.at.to_string(),
            node: t.proposal.node.as_ref().map(ToString::to_string),
            proposed_at: format_time(&t.proposal.proposed_at),
            proposed_by: t.proposal.proposed_by.clone(),
            count: t.proposal.line_count(),
            bytes: t.proposal.size(),
            excluded_count: t.proposal.totals.excluded,
            lines: whole.then(|| t.proposal.lines.iter().map(LineDto::from).collect()),
            excluded: whole.then(|| t.proposal.excluded.iter().map(ExclusionDto::from).collect()),
            abandoned: t.abandoned.clone(),
            packages: t.packages.clone(),
            acknowledgement: t
                .acknowledgement
                .as_ref()
                .map(|a| AcknowledgementRecordDto::new(a, whole)),
        }
    }
}

/// `POST /transfers/{id}/acknowledge`: the archives service's acknowledgement.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgementDto {
    /// The archives service's reference for the transfer.
    pub reference: String,
    /// Its date, `YYYY-MM-DD` (today by default).
    pub date: Option<String>,
    /// Who signed it.
    pub signer: Option<String>,
}

impl From<NewDisposalDto> for crate::archive::ProposalRequest {
    fn from(d: NewDisposalDto) -> Self {
        crate::archive::ProposalRequest {
            at: d.at,
            node: d.node,
            records: d.records,
        }
    }
}
