//! The classification plan: published versions, a new version's impact,
//! a publication's outcome.

use crate::domain::event::format_time;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// A published plan version.
#[derive(Serialize, Deserialize, ToSchema)]
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
#[derive(Serialize, Deserialize, ToSchema)]
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
#[derive(Serialize, Deserialize, ToSchema)]
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
    /// The impact in a few lines for people, in French.
    pub fn lines(&self) -> Vec<String> {
        use crate::french::count;
        let list = |v: &[String]| if v.is_empty() { "aucun".to_owned() } else { v.join(", ") };
        let mut out = vec![
            format!("nœuds ajoutés : {}", list(&self.nodes_added)),
            format!("nœuds supprimés : {}", list(&self.nodes_removed)),
            format!(
                "nœuds renommés : {}",
                list(
                    &self
                        .nodes_renamed
                        .iter()
                        .map(|m| format!("{} → {}", m["from"], m["to"]))
                        .collect::<Vec<_>>()
                )
            ),
            format!("règles modifiées : {}", list(&self.rules_changed)),
            format!(
                "documents : {} examiné(s), {} changent d'échéance, {} de sort final, {} changent de nœud",
                self.records, self.due_changed, self.action_changed, self.moved
            ),
            format!(
                "raccourcissement : {} plus tôt, {} éliminable(s) qui devaient être conservés ou triés",
                count(self.shortened, "document échu", "documents échus"),
                self.to_destroy
            ),
        ];
        for n in &self.by_node {
            out.push(format!(
                "  {} : {}, {} changent d'échéance, {} de sort final",
                n.node,
                count(n.records, "document", "documents"),
                n.due_changed,
                n.action_changed
            ));
        }
        out
    }
}

/// A publication's outcome.
#[derive(Serialize, Deserialize, ToSchema)]
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
