//! Retention: legal holds, what is due, start events and review decisions.

use crate::domain::event::format_time;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A legal hold.
#[derive(Serialize, Deserialize, ToSchema)]
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
#[derive(Serialize, Deserialize, ToSchema)]
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
            final_action: d.final_action.as_str().to_owned(),
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

/// `POST /records/{ref}/events` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordEventDto {
    /// The event (`closing`, `contract_end`).
    #[serde(default)]
    pub name: String,
    /// When, `YYYY-MM-DD`.
    #[serde(default)]
    pub date: String,
}

/// `POST /records/{ref}/review` body.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDto {
    /// `keep` or `destroy`.
    #[serde(default)]
    pub decision: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
}
