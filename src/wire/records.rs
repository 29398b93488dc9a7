//! Records: a record as read, its versions, history, retention and text
//! status; the `metadata` part of a deposit; a change of description.

use crate::archive::{RecordDetails, file_name_of};
use crate::domain::event::format_time;
use crate::domain::record::Record;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A rendition the archive made of a version (a scan's searchable PDF/A),
/// served by `GET /records/{ref}/rendition?version=N`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RenditionDto {
    /// The version it renders.
    pub version: u32,
    /// SHA-256 of its content, 64 hex digits.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// `application/pdf`.
    pub media_type: String,
    /// What made it.
    pub made_by: String,
    /// When (RFC 3339).
    pub made_at: String,
}

/// A record version.
#[derive(Serialize, Deserialize, ToSchema)]
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
    /// The name the content is served under (the last segment of
    /// `canonical_path`).
    pub canonical_filename: String,
    /// Where the content goes in an export, from the node's file name
    /// template.
    pub canonical_path: String,
    /// Deposit time (RFC 3339, UTC).
    pub ingested_at: String,
    /// Depositor.
    pub ingested_by: String,
    /// The journal event that added it.
    pub seq: u64,
    /// Present when the content is known damaged: what was found, in
    /// French. It is not served (409 `content_damaged`) until repaired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
}

/// One event in a record's history.
#[derive(Serialize, Deserialize, ToSchema)]
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
#[derive(Serialize, Deserialize, ToSchema)]
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
    /// The node's path in the plan, root first.
    pub node_path: Vec<String>,
    /// The plan version the record was classified under.
    pub plan_version: Option<u32>,
    /// Earlier references that still find the record.
    pub aliases: Vec<String>,
    /// The automatic classification rule that chose the node, when the
    /// depositor named none.
    pub classified_by: Option<String>,
    /// Where the date came from, when the depositor gave none:
    /// `{"from": "invoice"}`, `{"from": "text", "excerpt": "Séance du 12
    /// mars 2024"}` or `{"from": "deposit_day"}` (nothing gave one).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub dated: Option<crate::domain::record::Dating>,
    /// The capture channel it came through (`dossier:<name>` for a
    /// watched folder); absent for the API and the command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The retention the plan in force gives the record (none if no rule
    /// applies).
    pub retention: Option<RetentionDto>,
    /// `active` or `destroyed`.
    pub state: String,
    /// What remains of a destroyed or transferred record.
    pub tombstone: Option<TombstoneDto>,
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
    /// In a deposit's answer: its bytes repaired a damaged copy of the
    /// same content (a `blob.repaired` event).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub repaired: bool,
    /// In a deposit's answer: the live records the depositor may read
    /// that held the same bytes already, the 100 oldest (stored once; a
    /// warning, not a refusal).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub same_content: Vec<RecordNameDto>,
    /// The live records of its node with the same values in the node's
    /// duplicate fields (for invoices: the same supplier and invoice
    /// number), oldest first: probably the same document received twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probable_duplicates: Vec<RecordNameDto>,
    /// The records it was linked to at its deposit, then the first 500
    /// linked to it, that the caller may read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<RecordLinkDto>,
    /// How many records linked to it the caller may read (more than
    /// `links` shows when over 500).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub linked_here: usize,
    /// Renditions the archive made of its versions (a scan's searchable
    /// PDF/A), when it made any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renditions: Vec<RenditionDto>,
    /// Why it waits in the verification queue, when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_verify: Option<super::ToVerifyDto>,
    /// What was read of it as an invoice (its latest version's fields,
    /// each with its confidence), when its node reads invoices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<super::RecordReadingDto>,
    /// Where it stands in its processing circuit (an invoice: reçue, service
    /// fait, mandatée, payée), and the moves the caller may make there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circulation: Option<super::CirculationDto>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A record linked to another.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RecordLinkDto {
    /// How: `attachment_of` (an attachment of a message), `part_of` (a
    /// bordereau of a flow, a pièce of a bordereau), `supports` (a
    /// supporting document), `acknowledges` (an acknowledgement of a flow).
    #[schema(example = "attachment_of")]
    pub kind: String,
    /// `to`: the record read made the link to this one (it is an
    /// attachment of this message); `from`: this one made the link to the
    /// record read (it is an attachment of the message read).
    #[schema(example = "to")]
    pub direction: String,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
}

/// Another record, named: one that holds the same content, or a probable
/// duplicate.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RecordNameDto {
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
}

/// A record's text, as the search index holds it.
#[derive(Serialize, Deserialize, ToSchema)]
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

/// A record's retention, and how it was computed.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct RetentionDto {
    /// The rule's id.
    pub rule: String,
    /// The node the rule comes from (the record's own, or an ancestor).
    pub inherited_from: String,
    /// The DUA (`P10Y`, `permanent`).
    pub duration: String,
    /// What starts it (`date`, `closing`, `field:NAME`, `event:NAME`).
    pub start: String,
    /// When it started, if it has.
    pub start_date: Option<String>,
    /// When it ends, if it can.
    pub due: Option<String>,
    /// `destroy`, `keep` or `review`.
    pub final_action: String,
    /// `permanent`, `open` (its start has not happened), `running` or `due`.
    pub status: String,
    /// The duration awaits the archives authority's confirmation.
    pub to_confirm: bool,
    /// The active legal holds that freeze the record.
    pub holds: Vec<u64>,
    /// For a `review` rule, the archivist's decision.
    pub review: Option<ReviewDecisionDto>,
    /// Start events recorded for the record (`closing`, `contract_end`).
    pub events: BTreeMap<String, String>,
}

/// What remains of a record that left the archive.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TombstoneDto {
    /// When it was destroyed (or its transfer acknowledged).
    pub destroyed_at: String,
    /// Who executed the disposal (or recorded the acknowledgement).
    pub destroyed_by: String,
    /// The disposal that destroyed it, or the transfer that took it.
    pub disposal: u64,
    /// The journal event of the execution.
    pub seq: u64,
    /// For a transfer: the transfer's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<u64>,
    /// For a transfer: the archives service's reference, where the record now is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transferred_to: Option<String>,
    /// The archives authority's visa (or acknowledgement) reference.
    pub visa: String,
}

impl From<&crate::domain::record::Tombstone> for TombstoneDto {
    fn from(t: &crate::domain::record::Tombstone) -> Self {
        TombstoneDto {
            destroyed_at: format_time(&t.destroyed_at),
            destroyed_by: t.destroyed_by.clone(),
            disposal: t.disposal,
            seq: t.seq,
            transfer: t.transferred_to.as_ref().map(|_| t.disposal),
            transferred_to: t.transferred_to.clone(),
            visa: t.visa.clone(),
        }
    }
}

/// An archivist's decision on a record whose rule says `review`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReviewDecisionDto {
    /// When.
    pub at: String,
    /// Who.
    pub by: String,
    /// `keep` or `destroy`.
    pub decision: String,
    /// Why.
    pub reason: String,
    /// The journal event.
    pub seq: u64,
}

impl From<&crate::domain::record::ReviewDecision> for ReviewDecisionDto {
    fn from(d: &crate::domain::record::ReviewDecision) -> Self {
        ReviewDecisionDto {
            at: format_time(&d.at),
            by: d.by.clone(),
            decision: d.decision.as_str().to_owned(),
            reason: d.reason.clone(),
            seq: d.seq,
        }
    }
}

impl RecordDto {
    /// The record with what the plan says of it and its text status.
    pub fn new(r: &Record, details: &RecordDetails, text: Option<crate::domain::search::TextStatus>) -> Self {
        use crate::domain::plan::RetentionStart;
        RecordDto {
            id: r.id.to_string(),
            reference: r.reference.to_string(),
            title: r.title.clone(),
            node: r.node.to_string(),
            date: r.date.to_string(),
            service: r.service.clone(),
            document_type: r.document_type.clone(),
            fields: r.fields.clone(),
            node_path: details.node_path.iter().map(ToString::to_string).collect(),
            plan_version: r.plan_version,
            aliases: r.aliases.iter().map(ToString::to_string).collect(),
            classified_by: r.classified_by.clone(),
            dated: r.dated.clone(),
            channel: r.channel.clone(),
            retention: details.retention.as_ref().map(|k| RetentionDto {
                rule: k.rule.clone(),
                inherited_from: k.inherited_from.to_string(),
                duration: k.duration.to_string(),
                start: match &k.start {
                    RetentionStart::Date => "date".to_owned(),
                    RetentionStart::Closing => "closing".to_owned(),
                    RetentionStart::Field(f) => format!("field:{f}"),
                    RetentionStart::Event(e) => format!("event:{e}"),
                },
                start_date: k.start_date.map(|d| d.to_string()),
                due: k.due.map(|d| d.to_string()),
                final_action: k.final_action.as_str().to_owned(),
                status: details.status.map_or("open", |s| s.as_str()).to_owned(),
                to_confirm: k.to_confirm,
                holds: details.holds.clone(),
                review: r.review.as_ref().map(ReviewDecisionDto::from),
                events: r.events.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            }),
            state: r.state.as_str().to_owned(),
            tombstone: r.tombstone.as_ref().map(TombstoneDto::from),
            created_at: format_time(&r.created_at),
            created_by: r.created_by.clone(),
            metadata_sha256: r.metadata_sha256.hex(),
            versions: r
                .versions
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let path = details.canonical_paths.get(i).cloned().unwrap_or_default();
                    VersionDto {
                        number: v.number,
                        sha256: v.sha256.hex(),
                        size: v.size,
                        media_type: v.media_type.clone(),
                        filename: v.filename.clone(),
                        canonical_filename: file_name_of(&path).to_owned(),
                        canonical_path: path,
                        ingested_at: format_time(&v.ingested_at),
                        ingested_by: v.ingested_by.clone(),
                        seq: v.seq,
                        damaged: details
                            .damaged
                            .iter()
                            .find(|(n, _)| *n == v.number)
                            .map(|(_, what)| what.clone()),
                    }
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
            text: TextDto::from(text),
            repaired: false,
            same_content: Vec::new(),
            probable_duplicates: details
                .probable_duplicates
                .iter()
                .map(|(reference, title)| RecordNameDto {
                    reference: reference.to_string(),
                    title: title.clone(),
                })
                .collect(),
            links: details
                .links
                .shown
                .iter()
                .map(|l| RecordLinkDto {
                    kind: l.kind.as_str().to_owned(),
                    direction: if l.from_the_other { "from" } else { "to" }.to_owned(),
                    reference: l.reference.to_string(),
                    title: l.title.clone(),
                })
                .collect(),
            linked_here: details.links.linked_here,
            renditions: r
                .renditions
                .iter()
                .map(|x| RenditionDto {
                    version: x.version,
                    sha256: x.sha256.hex(),
                    size: x.size,
                    media_type: x.media_type.clone(),
                    made_by: x.made_by.clone(),
                    made_at: format_time(&x.made_at),
                })
                .collect(),
            to_verify: r.to_verify.as_ref().map(super::ToVerifyDto::from),
            reading: r.reading.as_ref().map(super::RecordReadingDto::from),
            circulation: details
                .circuit
                .as_ref()
                .and_then(|view| super::CirculationDto::new(r, view)),
        }
    }
}

/// The `metadata` part of a deposit.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositMetadataDto {
    /// Classification node code; without it the plan's classification
    /// rules choose one, or the deposit is refused (422 `unclassified`)
    /// with the candidate nodes.
    #[serde(default)]
    pub node: String,
    /// Title; defaults to the file name without extension.
    pub title: Option<String>,
    /// `YYYY-MM-DD`; defaults to today.
    pub date: Option<String>,
    /// Producing service.
    pub service: Option<String>,
    /// Document type, as the plan names it for the node (facture, délibération, ...).
    #[serde(rename = "type")]
    pub document_type: Option<String>,
    /// Free string fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Records this one is linked to (at most 100), each by its reference
    /// or id: an attachment to its message, a bordereau to its flow.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub links: Vec<DepositLinkDto>,
}

/// A link a deposit makes to a record already held.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositLinkDto {
    /// `attachment_of`, `part_of`, `supports` or `acknowledges`.
    #[schema(example = "attachment_of")]
    pub kind: String,
    /// The other record's reference or id.
    #[schema(example = "FIN-FAC-2024-000012")]
    pub to: String,
}

/// `PATCH /records/{ref}` body: what changes, and why.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordPatchDto {
    /// Why the record changes (required; journaled).
    #[serde(default)]
    pub reason: String,
    /// A new classification node.
    pub node: Option<String>,
    /// A new title.
    pub title: Option<String>,
    /// A new date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// A new producing service (empty removes it).
    pub service: Option<String>,
    /// A new document type (empty removes it).
    #[serde(rename = "type")]
    pub document_type: Option<String>,
    /// Fields to set; `null` removes one.
    #[serde(default)]
    pub fields: BTreeMap<String, Option<String>>,
}

impl From<RecordPatchDto> for crate::archive::RecordChanges {
    fn from(p: RecordPatchDto) -> Self {
        crate::archive::RecordChanges {
            reason: p.reason,
            node: p.node,
            title: p.title,
            date: p.date,
            service: p.service,
            document_type: p.document_type,
            fields: p.fields,
        }
    }
}

/// `GET /contents/{sha256}`: the records that hold a content.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HoldersDto {
    /// The content's SHA-256, 64 hex digits.
    pub sha256: String,
    /// The live records the caller may read that hold it, the 100 oldest.
    pub records: Vec<HolderDto>,
}

/// A record holding a content.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct HolderDto {
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
}

/// `POST /records` body, `multipart/form-data`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct DepositFormDto {
    /// The content, with its file name.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// The record's description, as JSON (all of it optional: without a
    /// node, the plan's rules classify the content).
    pub metadata: Option<DepositMetadataDto>,
}

/// `POST /records/batch` body, `multipart/form-data`: up to 64 `file`
/// parts, each described by the `metadata` part just before it, if any.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BatchFormDto {
    /// The contents, each with its file name.
    #[schema(value_type = Vec<String>, format = Binary, max_items = 64)]
    pub file: Vec<Vec<u8>>,
    /// Descriptions as JSON, each of the `file` part that follows it
    /// (`null`: none).
    pub metadata: Option<Vec<Option<DepositMetadataDto>>>,
}

/// `POST /records/batch` answer: what became of each file, in the order
/// the files were sent.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BatchDepositDto {
    /// Files archived (as new records).
    pub deposited: usize,
    /// Files refused, each with its error.
    pub refused: usize,
    /// Each file's outcome, in the order sent.
    pub results: Vec<BatchOutcomeDto>,
}

/// One file of a batch: the record made of it, or why it was refused.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct BatchOutcomeDto {
    /// The file name the part gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// The status a deposit of this file alone would have had: 201, or
    /// the error's.
    pub status: u16,
    /// The record, as `POST /records` answers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<RecordDto>,
    /// Why the file was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<super::ErrorBodyDto>,
}

/// `POST /records/{ref}/versions` body, `multipart/form-data`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct VersionFormDto {
    /// The new version's content, with its file name.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// `POST /imports` body, `multipart/form-data`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct ImportFormDto {
    /// The package: a BagIt zip with a SEDA 2.3 manifest.
    #[schema(value_type = String, format = Binary)]
    pub package: Vec<u8>,
    /// TOML: the package's nodes mapped to this plan's nodes.
    pub mapping: Option<String>,
}
