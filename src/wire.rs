//! JSON shapes of records, events, tokens and reports, shared by the HTTP
//! API and the command line's `--json` output. They are kept apart from the
//! domain types so that either can change without breaking the other.

use crate::archive::{RecordDetails, file_name_of};
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
    /// The node's path in the plan, root first.
    pub node_path: Vec<String>,
    /// The plan version the record was classified under.
    pub plan_version: Option<u32>,
    /// Earlier references that still find the record.
    pub aliases: Vec<String>,
    /// The automatic classification rule that chose the node, when the
    /// depositor named none.
    pub classified_by: Option<String>,
    /// The retention the plan in force gives the record (none if no rule
    /// applies).
    pub retention: Option<RetentionDto>,
    /// `active` or `destroyed`.
    pub state: String,
    /// What remains of a destroyed record: `{disposal, visa, destroyed_at,
    /// destroyed_by, seq}`.
    pub tombstone: Option<serde_json::Value>,
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

/// A record's retention, and how it was computed.
#[derive(Serialize, ToSchema)]
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
    /// For a `review` rule, the archivist's decision: `{decision, reason, at, by}`.
    pub review: Option<serde_json::Value>,
    /// Start events recorded for the record (`closing`, `contract_end`).
    pub events: BTreeMap<String, String>,
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
                review: r.review.as_ref().map(|d| {
                    serde_json::json!({
                        "decision": d.decision.as_str(), "reason": d.reason,
                        "at": format_time(&d.at), "by": d.by, "seq": d.seq,
                    })
                }),
                events: r.events.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
            }),
            state: r.state.as_str().to_owned(),
            tombstone: r.tombstone.as_ref().map(|t| {
                let mut tombstone = serde_json::json!({
                    "disposal": t.disposal, "visa": t.visa, "destroyed_at": format_time(&t.destroyed_at),
                    "destroyed_by": t.destroyed_by, "seq": t.seq,
                });
                if let Some(archives) = &t.transferred_to {
                    tombstone["transfer"] = serde_json::json!(t.disposal);
                    tombstone["transferred_to"] = serde_json::json!(archives);
                }
                tombstone
            }),
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
    /// Document type (invoice, deliberation, ...).
    #[serde(rename = "type")]
    pub document_type: Option<String>,
    /// Free string fields.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
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

/// A published plan version.
#[derive(Serialize, ToSchema)]
pub struct PlanVersionDto {
    /// The archive's number for it, from 1.
    pub number: u32,
    /// The plan's own id.
    pub plan_id: String,
    /// The archivists' version label.
    pub label: String,
    /// SHA-256 of the plan file as published.
    pub sha256: String,
    /// The journal event that published it.
    pub seq: u64,
    /// When (RFC 3339, UTC).
    pub published_at: String,
    /// Who.
    pub published_by: String,
}

impl From<&crate::domain::plan::PlanVersionEntry> for PlanVersionDto {
    fn from(e: &crate::domain::plan::PlanVersionEntry) -> Self {
        PlanVersionDto {
            number: e.number,
            plan_id: e.plan_id.clone(),
            label: e.label.clone(),
            sha256: e.text.hex(),
            seq: e.seq,
            published_at: format_time(&e.time),
            published_by: e.actor.clone(),
        }
    }
}

/// How a plan change touches one node's records.
#[derive(Serialize, ToSchema)]
pub struct NodeImpactDto {
    /// The node (as the plan in force names it).
    pub node: String,
    /// Records in it.
    pub records: u64,
    /// Records whose due date changes.
    pub due_changed: u64,
    /// Records whose final action changes.
    pub action_changed: u64,
}

/// What publishing a plan changes against the plan in force.
#[derive(Serialize, ToSchema)]
pub struct PlanImpactDto {
    /// Codes new in the plan.
    pub nodes_added: Vec<String>,
    /// Codes gone without replacement.
    pub nodes_removed: Vec<String>,
    /// Codes replaced: `{"from", "to"}`.
    pub nodes_renamed: Vec<BTreeMap<String, String>>,
    /// Rules added, removed or changed in duration, start or final action.
    pub rules_changed: Vec<String>,
    /// Records examined.
    pub records: u64,
    /// Records whose due date changes.
    pub due_changed: u64,
    /// Records whose final action changes.
    pub action_changed: u64,
    /// Records that move to a replacing node.
    pub moved: u64,
    /// Records due earlier (needs confirm and a reason).
    pub shortened: u64,
    /// Records destroyable that were to be kept or reviewed (needs confirm).
    pub to_destroy: u64,
    /// Per node, where anything changes.
    pub by_node: Vec<NodeImpactDto>,
}

impl From<&crate::domain::plan_change::PlanImpact> for PlanImpactDto {
    fn from(i: &crate::domain::plan_change::PlanImpact) -> Self {
        PlanImpactDto {
            nodes_added: i.nodes_added.iter().map(ToString::to_string).collect(),
            nodes_removed: i.nodes_removed.iter().map(ToString::to_string).collect(),
            nodes_renamed: i
                .nodes_renamed
                .iter()
                .map(|(from, to)| {
                    BTreeMap::from([("from".to_owned(), from.to_string()), ("to".to_owned(), to.to_string())])
                })
                .collect(),
            rules_changed: i.rules_changed.clone(),
            records: i.records,
            due_changed: i.due_changed,
            action_changed: i.action_changed,
            moved: i.moved,
            shortened: i.shortened,
            to_destroy: i.to_destroy,
            by_node: i
                .by_node
                .iter()
                .map(|(node, n)| NodeImpactDto {
                    node: node.to_string(),
                    records: n.records,
                    due_changed: n.due_changed,
                    action_changed: n.action_changed,
                })
                .collect(),
        }
    }
}

impl PlanImpactDto {
    /// The impact in a few lines for people.
    pub fn lines(&self) -> Vec<String> {
        let list = |v: &[String]| if v.is_empty() { "none".to_owned() } else { v.join(", ") };
        let mut out = vec![
            format!("nodes added: {}", list(&self.nodes_added)),
            format!("nodes removed: {}", list(&self.nodes_removed)),
            format!(
                "nodes renamed: {}",
                list(
                    &self
                        .nodes_renamed
                        .iter()
                        .map(|m| format!("{} -> {}", m["from"], m["to"]))
                        .collect::<Vec<_>>()
                )
            ),
            format!("rules changed: {}", list(&self.rules_changed)),
            format!(
                "records: {} examined, {} change due date, {} change final action, {} move to a new node",
                self.records, self.due_changed, self.action_changed, self.moved
            ),
            format!(
                "shortening: {} records due earlier, {} destroyable that were to be kept or reviewed",
                self.shortened, self.to_destroy
            ),
        ];
        for n in &self.by_node {
            out.push(format!(
                "  {}: {} records, {} change due date, {} change final action",
                n.node, n.records, n.due_changed, n.action_changed
            ));
        }
        out
    }
}

/// A publication's outcome.
#[derive(Serialize, ToSchema)]
pub struct PublicationDto {
    /// `published`, `unchanged` (the plan in force already) or `dry_run`.
    pub outcome: String,
    /// The new version, when one was published.
    pub version: Option<PlanVersionDto>,
    /// What changes against the plan in force.
    pub impact: PlanImpactDto,
}

impl PublicationDto {
    /// From the archive's answer.
    pub fn new(p: &crate::archive::Publication) -> Self {
        let outcome = match (&p.published, p.unchanged) {
            (Some(_), _) => "published",
            (None, true) => "unchanged",
            (None, false) => "dry_run",
        };
        PublicationDto {
            outcome: outcome.to_owned(),
            version: p.published.as_ref().map(PlanVersionDto::from),
            impact: PlanImpactDto::from(&p.impact),
        }
    }
}

/// A legal hold.
#[derive(Serialize, ToSchema)]
pub struct HoldDto {
    /// Its id (the journal seq that placed it).
    pub id: u64,
    /// `record`, `node` or `query`.
    pub scope: String,
    /// The record id, node code or query text.
    pub target: String,
    /// Why.
    pub reason: String,
    /// Who answers for it.
    pub owner: String,
    /// When to look at it again.
    pub review: Option<String>,
    /// When and by whom it was placed.
    pub placed_at: String,
    /// Who placed it.
    pub placed_by: String,
    /// `active` or `lifted`.
    pub state: String,
    /// When it was lifted, by whom and why.
    pub lifted_at: Option<String>,
    /// Who lifted it.
    pub lifted_by: Option<String>,
    /// Why it was lifted.
    pub lift_reason: Option<String>,
}

impl From<&crate::domain::hold::Hold> for HoldDto {
    fn from(h: &crate::domain::hold::Hold) -> Self {
        use crate::domain::hold::HoldScope;
        let (scope, target) = match &h.scope {
            HoldScope::Record(id) => ("record", id.to_string()),
            HoldScope::Node(code) => ("node", code.to_string()),
            HoldScope::Query(q) => ("query", q.clone()),
        };
        HoldDto {
            id: h.id,
            scope: scope.to_owned(),
            target,
            reason: h.reason.clone(),
            owner: h.owner.clone(),
            review: h.review.map(|d| d.to_string()),
            placed_at: format_time(&h.placed_at),
            placed_by: h.placed_by.clone(),
            state: if h.is_active() { "active" } else { "lifted" }.to_owned(),
            lifted_at: h.lifted.as_ref().map(|l| format_time(&l.at)),
            lifted_by: h.lifted.as_ref().map(|l| l.by.clone()),
            lift_reason: h.lifted.as_ref().map(|l| l.reason.clone()),
        }
    }
}

/// `POST /holds` body: exactly one of `record`, `node`, `query`.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewHoldDto {
    /// A record (reference, alias or id).
    pub record: Option<String>,
    /// A node (and everything below it).
    pub node: Option<String>,
    /// A search query: the records it finds now and later.
    pub query: Option<String>,
    /// Why (required).
    #[serde(default)]
    pub reason: String,
    /// Who answers for it (default: who places it).
    pub owner: Option<String>,
    /// When to look at it again, `YYYY-MM-DD`.
    pub review: Option<String>,
}

impl From<NewHoldDto> for crate::archive::HoldRequest {
    fn from(d: NewHoldDto) -> Self {
        crate::archive::HoldRequest {
            record: d.record,
            node: d.node,
            query: d.query,
            reason: d.reason,
            owner: d.owner,
            review: d.review,
        }
    }
}

/// A body with only a reason.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonDto {
    /// Why (required).
    #[serde(default)]
    pub reason: String,
}

/// A record due at a date.
#[derive(Serialize, ToSchema)]
pub struct DueRecordDto {
    /// Record id.
    pub id: String,
    /// Reference.
    pub reference: String,
    /// Node.
    pub node: String,
    /// Due date.
    pub due: String,
    /// The rule.
    pub rule: String,
    /// `destroy`, `keep` or `review`.
    pub final_action: String,
    /// Active legal holds that stop it.
    pub held_by: Vec<u64>,
}

impl From<&crate::archive::DueRecord> for DueRecordDto {
    fn from(d: &crate::archive::DueRecord) -> Self {
        DueRecordDto {
            id: d.id.to_string(),
            reference: d.reference.to_string(),
            node: d.node.to_string(),
            due: d.due.to_string(),
            rule: d.rule.clone(),
            final_action: d.final_action.clone(),
            held_by: d.held_by.clone(),
        }
    }
}

/// A start event: for some records, or every record of a node.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartEventDto {
    /// The event, as rules name it after `event:` (`closing`, `contract_end`).
    #[serde(default)]
    pub name: String,
    /// When it happened, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
    /// Records (references, aliases or ids); not with `node`.
    #[serde(default)]
    pub records: Vec<String>,
    /// Every record of this node and below; not with `records`.
    pub node: Option<String>,
}

/// A line of a disposal or transfer, as listed.
fn line_json(l: &crate::domain::disposal::DisposalLine) -> serde_json::Value {
    serde_json::json!({
        "reference": l.reference.as_str(), "node": l.node.as_str(), "date": l.date.to_string(),
        "due": l.due.to_string(), "rule": l.rule, "dua": l.duration, "bytes": l.size(),
    })
}

/// A record a proposal left out, and why.
fn exclusion_json(e: &crate::domain::disposal::Exclusion) -> serde_json::Value {
    serde_json::json!({"reference": e.reference.as_str(), "reason": e.reason})
}

/// A disposal and where it stands.
#[derive(Serialize, ToSchema)]
pub struct DisposalDto {
    /// Its id (the journal seq that proposed it).
    pub id: u64,
    /// `proposed`, `approved` or `executed`.
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
    pub count: usize,
    /// Their content, in bytes.
    pub bytes: u64,
    /// The lines: `{reference, node, date, due, rule, dua, bytes}`.
    pub lines: Vec<serde_json::Value>,
    /// Records left out: `{reference, reason}`.
    pub excluded: Vec<serde_json::Value>,
    /// The visa: `{reference, signer, date, struck}`.
    pub visa: Option<serde_json::Value>,
    /// The execution: `{time, by, seq, hash, outcomes: [{reference, destroyed, reason}], erased_blobs, erased_seq}`.
    pub execution: Option<serde_json::Value>,
}

impl From<&crate::domain::disposal::Disposal> for DisposalDto {
    fn from(d: &crate::domain::disposal::Disposal) -> Self {
        use serde_json::json;
        let reference_of = |id: &crate::domain::record::RecordId| {
            d.lines
                .iter()
                .find(|l| &l.record == id)
                .map(|l| l.reference.to_string())
                .unwrap_or_else(|| id.to_string())
        };
        DisposalDto {
            id: d.id,
            state: d.state.as_str().to_owned(),
            at: d.at.to_string(),
            node: d.node.as_ref().map(ToString::to_string),
            proposed_at: format_time(&d.proposed_at),
            proposed_by: d.proposed_by.clone(),
            count: d.lines.len(),
            bytes: d.lines.iter().map(|l| l.size()).sum(),
            lines: d.lines.iter().map(line_json).collect(),
            excluded: d.excluded.iter().map(exclusion_json).collect(),
            visa: d.visa.as_ref().map(|v| {
                json!({
                    "reference": v.reference, "signer": v.signer, "date": v.date.to_string(),
                    "struck": v.struck.iter().map(reference_of).collect::<Vec<_>>(),
                    "recorded_at": format_time(&v.recorded_at), "recorded_by": v.recorded_by,
                })
            }),
            execution: d.execution.as_ref().map(|e| {
                json!({
                    "time": format_time(&e.at), "by": e.by, "seq": e.seq, "hash": e.hash.to_string(),
                    "outcomes": e.outcomes.iter().map(|o| json!({
                        "reference": o.reference.as_str(), "destroyed": o.skipped.is_none(), "reason": o.skipped,
                    })).collect::<Vec<_>>(),
                    "erased_blobs": e.erased.len(), "erased_seq": e.erased_seq,
                })
            }),
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
#[derive(Serialize, ToSchema)]
pub struct TransferDto {
    /// Its id (the journal seq that proposed it).
    pub id: u64,
    /// `proposed`.
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
    pub count: usize,
    /// Their content, in bytes.
    pub bytes: u64,
    /// The lines: `{reference, node, date, due, rule, dua, bytes}`.
    pub lines: Vec<serde_json::Value>,
    /// Records left out: `{reference, reason}`.
    pub excluded: Vec<serde_json::Value>,
    /// The packages exported for it.
    pub packages: Vec<String>,
    /// The archives' acknowledgement: `{reference, date, signer, at, by, seq, outcomes, erased_seq}`.
    #[schema(value_type = Option<Object>)]
    pub acknowledgement: Option<serde_json::Value>,
}

impl From<&crate::domain::disposal::Transfer> for TransferDto {
    fn from(t: &crate::domain::disposal::Transfer) -> Self {
        TransferDto {
            id: t.id,
            state: if t.acknowledgement.is_some() {
                "acknowledged".into()
            } else if !t.packages.is_empty() {
                "exported".into()
            } else {
                "proposed".into()
            },
            at: t.at.to_string(),
            node: t.node.as_ref().map(ToString::to_string),
            proposed_at: format_time(&t.proposed_at),
            proposed_by: t.proposed_by.clone(),
            count: t.lines.len(),
            bytes: t.lines.iter().map(|l| l.size()).sum(),
            lines: t.lines.iter().map(line_json).collect(),
            excluded: t.excluded.iter().map(exclusion_json).collect(),
            packages: t.packages.clone(),
            acknowledgement: t.acknowledgement.as_ref().map(|a| {
                serde_json::json!({
                    "reference": a.reference, "date": a.date.to_string(), "signer": a.signer,
                    "at": format_time(&a.at), "by": a.by, "seq": a.seq, "erased_seq": a.erased_seq,
                    "outcomes": a.outcomes.iter().map(|o| serde_json::json!({
                        "reference": o.reference.as_str(), "transferred": o.skipped.is_none(), "reason": o.skipped,
                    })).collect::<Vec<_>>(),
                })
            }),
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

/// `POST /exports`: which records, and the parties of the transfer.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewExportDto {
    /// A node and everything below it.
    pub node: Option<String>,
    /// What a full-text query finds.
    pub query: Option<String>,
    /// Records by reference or id.
    pub records: Option<Vec<String>>,
    /// The records of a transfer proposal.
    pub transfer: Option<u64>,
    /// The receiving archives service's identifier.
    pub archival_agency: Option<String>,
    /// The sending service's identifier.
    pub transferring_agency: Option<String>,
    /// The archival agreement.
    pub archival_agreement: Option<String>,
    /// A comment for the archives.
    pub comment: Option<String>,
}

impl TryFrom<NewExportDto> for crate::archive::exports::ExportRequest {
    type Error = crate::archive::ArchiveError;

    fn try_from(d: NewExportDto) -> Result<Self, Self::Error> {
        use crate::archive::exports::ExportSelection as S;
        let selection = match (d.node, d.query, d.records, d.transfer) {
            (Some(node), None, None, None) => S::Node(node),
            (None, Some(query), None, None) => S::Query(query),
            (None, None, Some(records), None) if !records.is_empty() => S::Records(records),
            (None, None, None, Some(id)) => S::Transfer(id),
            _ => {
                return Err(crate::domain::record::InvalidInput::new(
                    "selection",
                    "name exactly one of node, query, records or transfer",
                )
                .into());
            }
        };
        Ok(crate::archive::exports::ExportRequest {
            selection,
            archival_agency: d.archival_agency,
            transferring_agency: d.transferring_agency,
            archival_agreement: d.archival_agreement,
            comment: d.comment,
        })
    }
}
