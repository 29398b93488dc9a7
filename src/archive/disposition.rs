//! What disposals and transfers share: drawing up a proposal (the records
//! due by a date whose final action is the one wanted, and those left out
//! with the reason), why a line is not carried out when its time comes,
//! which blobs only the leaving records use, and erasing them with the
//! index purged. The workflows themselves are in `disposals` and
//! `transfers`.
//!
//! Crash safety: an execution or an acknowledgement is journaled before
//! anything is erased, and the erasure is confirmed by its own event; one
//! without that confirmation is finished when the archive next opens.

use super::{Actor, Archive, ArchiveError};
use crate::domain::disposition::{DisposalLine, DisposalState, Exclusion, Outcome};
use crate::domain::hash::Sha256;
use crate::domain::plan::FinalAction;
use crate::domain::record::{InvalidInput, NodeCode, Record, RecordId, RecordState, parse_date};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// What a proposal is drawn up for.
#[derive(Debug, Clone, Default)]
pub struct ProposalRequest {
    /// Records due on or before this date (`YYYY-MM-DD`; today by default).
    pub at: Option<String>,
    /// Only this node and below.
    pub node: Option<String>,
    /// Only these records (references, aliases or ids); each one that may
    /// not be destroyed is left out with the reason.
    pub records: Vec<String>,
}

/// What a proposal selected.
pub(super) struct Selection {
    pub(super) at: chrono::NaiveDate,
    pub(super) node: Option<NodeCode>,
    pub(super) lines: Vec<DisposalLine>,
    pub(super) excluded: Vec<Exclusion>,
}

/// Why a line of a disposal (`action` Destroy) or a transfer (Keep)
/// is not carried out now, if it is not: the record gone or no longer
/// active, held, changed since the proposal, or no longer due for `action`
/// under the plan in force (`what`: "destroyable", "to be transferred").
pub(super) fn why_not_carried_out(
    line: &DisposalLine,
    record: Option<&Record>,
    held: &BTreeMap<RecordId, Vec<u64>>,
    today: chrono::NaiveDate,
    action: FinalAction,
    what: &str,
) -> Option<String> {
    let Some(r) = record else {
        return Some("the record is not in the catalog".to_owned());
    };
    if r.state != RecordState::Active {
        return Some(format!("it is {} already", r.state.as_str()));
    }
    if let Some(holds) = held.get(&r.id) {
        return Some(format!("frozen by legal hold(s) {holds:?} placed after the proposal"));
    }
    if r.versions.iter().map(|v| (v.sha256, v.size)).collect::<Vec<_>>() != line.versions {
        return Some("a version was added after the proposal".to_owned());
    }
    match &r.due {
        Some(m) if m.date <= today && m.final_action == action => None,
        Some(m) => Some(format!(
            "under the plan in force it is due on {} for {}, not {what} today",
            m.date, m.final_action
        )),
        None => Some("under the plan in force it has no due date".to_owned()),
    }
}

/// The longest visa reference, signer or archives reference, in characters.
pub(super) const LABEL_MAX: usize = 500;

impl Archive {
    /// Records in disposals not executed yet, and in transfers: what they
    /// are in, for people (`disposal 12`, `transfer 40`).
    fn records_on_their_way_out(&self) -> Result<BTreeMap<RecordId, String>, ArchiveError> {
        let mut out = BTreeMap::new();
        for disposal in self.catalog.disposals()? {
            if disposal.state != DisposalState::Executed {
                for line in disposal.approved_lines() {
                    out.insert(line.record, format!("disposal {}", disposal.proposal.id));
                }
            }
        }
        for transfer in self
            .catalog
            .transfers()?
            .into_iter()
            .filter(|t| t.acknowledgement.is_none())
        {
            for line in &transfer.proposal.lines {
                out.insert(line.record, format!("transfer {}", transfer.proposal.id));
            }
        }
        Ok(out)
    }

    fn line_of(&self, record: &Record, rule: &str, due: chrono::NaiveDate) -> Result<DisposalLine, ArchiveError> {
        let plan = self.plan_in_force()?;
        let duration = plan
            .plan
            .rules
            .get(rule)
            .map(|r| r.duration.to_string())
            .unwrap_or_default();
        Ok(DisposalLine {
            record: record.id,
            reference: record.reference.clone(),
            node: record.node.clone(),
            date: record.date,
            service: record.service.clone(),
            rule: rule.to_owned(),
            duration,
            due,
            versions: record.versions.iter().map(|v| (v.sha256, v.size)).collect(),
            metadata: record.metadata_history.clone(),
        })
    }

    /// The records due by the request's date whose final action is
    /// `wanted`, and those considered and left out with the reason.
    pub(super) fn select_leaving(
        &self,
        actor: &Actor,
        request: &ProposalRequest,
        wanted: FinalAction,
    ) -> Result<Selection, ArchiveError> {
        let at = match request.at.as_deref() {
            Some(d) => parse_date("at", d)?,
            None => self.clock.now().date_naive(),
        };
        let plan = self.plan_in_force()?;
        let node = request.node.as_deref().map(NodeCode::parse).transpose()?;
        if let Some(node) = &node
            && plan.plan.node(node).is_none()
        {
            return Err(InvalidInput::new("node", format!("{node} is not a node of the plan")).into());
        }
        let due: BTreeMap<RecordId, _> = self
            .retention_due(actor, Some(at))?
            .into_iter()
            .map(|d| (d.id, d))
            .collect();
        let open = self.records_on_their_way_out()?;
        let mut lines = Vec::new();
        let mut excluded = Vec::new();
        let explicit = !request.records.is_empty();
        let candidates: Vec<Record> = if explicit {
            let mut found = Vec::new();
            for key in &request.records {
                found.push(self.record(actor, key)?);
            }
            found
        } else {
            let mut found = Vec::new();
            for id in due.keys() {
                if let Some(record) = self.catalog.record(id)? {
                    found.push(record);
                }
            }
            found
        };
        for record in candidates {
            if let Some(node) = &node
                && !plan.plan.path(&record.node).contains(node)
            {
                continue;
            }
            let mut exclude = |reason: String| {
                excluded.push(Exclusion {
                    reference: record.reference.clone(),
                    reason,
                })
            };
            if record.state != RecordState::Active {
                exclude("it is destroyed already".into());
                continue;
            }
            let Some(d) = due.get(&record.id) else {
                let when = record.due.as_ref().map_or(
                    "it has no due date (permanent, or its start has not happened)".to_owned(),
                    |m| format!("it is due on {}", m.date),
                );
                exclude(format!("not due by {at}: {when}"));
                continue;
            };
            if d.final_action != wanted {
                if explicit {
                    exclude(format!(
                        "its final action is {}: {}",
                        d.final_action,
                        match d.final_action {
                            FinalAction::Keep => "it is transferred to the archives, not destroyed",
                            FinalAction::Destroy => "it is destroyed with the archives' visa, not transferred",
                            FinalAction::Review => "an archivist decides (review) first",
                        }
                    ));
                }
                continue;
            }
            if !d.held_by.is_empty() {
                exclude(format!("frozen by legal hold(s) {:?}", d.held_by));
                continue;
            }
            if let Some(other) = open.get(&record.id) {
                exclude(format!("already in {other}"));
                continue;
            }
            lines.push(self.line_of(&record, &d.rule, d.due)?);
        }
        if lines.is_empty() {
            let why = excluded
                .first()
                .map(|e| format!(" ({}: {})", e.reference, e.reason))
                .unwrap_or_default();
            let what = if wanted == FinalAction::Keep {
                "transfer"
            } else {
                "destruction"
            };
            return Err(
                InvalidInput::new("records", format!("no record may be proposed for {what} by {at}{why}")).into(),
            );
        }
        Ok(Selection {
            at,
            node,
            lines,
            excluded,
        })
    }

    /// The blobs the destroyed records use that no other record still
    /// needs, nor any plan version.
    pub(super) fn blobs_only_used_by(&self, destroyed: &[&Record]) -> Result<Vec<Sha256>, ArchiveError> {
        let gone: HashSet<RecordId> = destroyed.iter().map(|r| r.id).collect();
        let mut candidates: BTreeSet<Sha256> = BTreeSet::new();
        for record in destroyed {
            candidates.extend(record.versions.iter().map(|v| v.sha256));
            candidates.extend(record.metadata_history.iter().copied());
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        for record in self.catalog.records() {
            let record = record?;
            if gone.contains(&record.id) || record.state != RecordState::Active {
                continue;
            }
            for v in &record.versions {
                candidates.remove(&v.sha256);
            }
            for m in &record.metadata_history {
                candidates.remove(m);
            }
        }
        for version in self.catalog.plan_versions()? {
            candidates.remove(&version.text);
        }
        Ok(candidates.into_iter().collect())
    }

    /// Finishes the erasure of every executed disposal and acknowledged
    /// transfer whose erasure a crash interrupted.
    pub(super) fn finish_pending_erasures(&self) -> Result<(), ArchiveError> {
        for disposal in self.catalog.disposals()? {
            if disposal.execution.as_ref().is_some_and(|e| e.erased_seq.is_none()) {
                tracing::warn!(
                    disposal = disposal.proposal.id,
                    "finishing an interrupted disposal's erasure"
                );
                self.finish_erasure(disposal.proposal.id)?;
            }
        }
        for transfer in self.catalog.transfers()? {
            if transfer
                .acknowledgement
                .as_ref()
                .is_some_and(|a| a.erased_seq.is_none())
            {
                tracing::warn!(
                    transfer = transfer.proposal.id,
                    "finishing an interrupted transfer's erasure"
                );
                self.finish_transfer_erasure(transfer.proposal.id)?;
            }
        }
        Ok(())
    }

    /// Erases blobs, and purges from the index the records of the lines
    /// carried out (delete, commit, merge, collect: no file keeps their text).
    pub(super) fn erase_and_purge(&self, erased: &[Sha256], outcomes: &[Outcome]) -> Result<(), ArchiveError> {
        for sha in erased {
            self.blobs.erase(sha)?;
        }
        let ids: Vec<RecordId> = outcomes
            .iter()
            .filter(|o| o.skipped.is_none())
            .map(|o| o.record)
            .collect();
        let _one_indexer = self.index_lock.lock().unwrap_or_else(|p| p.into_inner());
        let applied = self.index.applied()?;
        self.index.purge(&ids, applied)?;
        Ok(())
    }
}
