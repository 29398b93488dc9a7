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
use crate::domain::disposition::{
    Disposal, DisposalLine, DisposalState, Exclusion, LinesPart, Outcome, OutcomesPart, Proposal, Totals, Transfer,
    into_parts,
};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::plan::FinalAction;
use crate::domain::record::{InvalidInput, NodeCode, Record, RecordId, RecordState, parse_date};
use crate::store::WayOut;
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
/// under the plan in force (`what`: "une élimination", "un versement").
pub(super) fn why_not_carried_out(
    line: &DisposalLine,
    record: Option<&Record>,
    held: &BTreeMap<RecordId, Vec<u64>>,
    today: chrono::NaiveDate,
    action: FinalAction,
    what: &str,
) -> Option<String> {
    let Some(r) = record else {
        return Some("le document n'est pas au catalogue".to_owned());
    };
    if r.state != RecordState::Active {
        return Some(format!("il est déjà {}", crate::french::record_state(r.state.as_str())));
    }
    if let Some(holds) = held.get(&r.id) {
        return Some(format!("gelé ({}) depuis la proposition", hold_list(holds)));
    }
    if r.versions.iter().map(|v| (v.sha256, v.size)).collect::<Vec<_>>() != line.versions {
        return Some("une version a été ajoutée depuis la proposition".to_owned());
    }
    match &r.due {
        Some(m) if m.date <= today && m.final_action == action => None,
        Some(m) => Some(format!(
            "selon le plan en vigueur, il est échu le {} pour {}, et non pour {what} aujourd'hui",
            crate::french::date(m.date),
            crate::french::final_action(m.final_action)
        )),
        None => Some("selon le plan en vigueur, il n'a pas de date d'échéance".to_owned()),
    }
}

/// Holds as people name them: `gel 3, gel 7`.
fn hold_list(holds: &[u64]) -> String {
    holds.iter().map(|h| format!("gel {h}")).collect::<Vec<_>>().join(", ")
}

/// The longest visa reference, signer or archives reference, in characters.
pub const LABEL_MAX: usize = 500;

/// Fills a proposal's lines and exclusions from their stored parts.
fn fill_proposal(proposal: &mut Proposal, parts: Vec<LinesPart>) {
    proposal.lines.clear();
    proposal.excluded.clear();
    for part in parts {
        proposal.lines.extend(part.lines);
        proposal.excluded.extend(part.excluded);
    }
}

/// Every outcome and blob to erase of stored parts.
fn gather_outcomes(parts: Vec<OutcomesPart>) -> (Vec<Outcome>, Vec<Sha256>) {
    let mut outcomes = Vec::new();
    let mut erased = Vec::new();
    for part in parts {
        outcomes.extend(part.outcomes);
        erased.extend(part.erased);
    }
    (outcomes, erased)
}

impl Archive {
    /// A disposal with its lines, exclusions and outcomes, which the
    /// catalog keeps apart from it.
    pub(super) fn whole_disposal(&self, id: u64) -> Result<Option<Disposal>, ArchiveError> {
        let Some(mut disposal) = self.catalog.disposal(id)? else {
            return Ok(None);
        };
        fill_proposal(&mut disposal.proposal, self.catalog.lines_of(WayOut::Disposal, id)?);
        if let Some(execution) = disposal.execution.as_mut() {
            (execution.outcomes, execution.erased) = gather_outcomes(self.catalog.outcomes_of(WayOut::Disposal, id)?);
        }
        Ok(Some(disposal))
    }

    /// A transfer with its lines, exclusions and outcomes.
    pub(super) fn whole_transfer(&self, id: u64) -> Result<Option<Transfer>, ArchiveError> {
        let Some(mut transfer) = self.catalog.transfer(id)? else {
            return Ok(None);
        };
        fill_proposal(&mut transfer.proposal, self.catalog.lines_of(WayOut::Transfer, id)?);
        if let Some(ack) = transfer.acknowledgement.as_mut() {
            (ack.outcomes, ack.erased) = gather_outcomes(self.catalog.outcomes_of(WayOut::Transfer, id)?);
        }
        Ok(Some(transfer))
    }

    /// Journals a proposal: one event when its lines fit, else the
    /// proposing event with the first part and the totals, then one event
    /// per further part (so that no event grows with the proposal). The
    /// proposal's id is the first event's seq.
    pub(super) fn journal_proposal(
        &self,
        actor: &Actor,
        of: WayOut,
        selection: Selection,
    ) -> Result<u64, ArchiveError> {
        let Selection {
            at,
            node,
            lines,
            excluded,
        } = selection;
        let whole = Totals::of(&lines, &excluded);
        let mut parts = into_parts(lines, excluded, self.options.part_lines).into_iter();
        let (lines, excluded) = parts.next().unwrap_or_default();
        let rest: Vec<_> = parts.collect();
        let totals = Totals {
            parts: u32::try_from(rest.len()).unwrap_or(u32::MAX),
            ..whole
        };
        let first = match of {
            WayOut::Disposal => EventBody::DisposalProposed {
                at,
                node,
                lines,
                excluded,
                totals,
            },
            WayOut::Transfer => EventBody::TransferProposed {
                at,
                node,
                lines,
                excluded,
                totals,
            },
        };
        let id = self.journal.append(actor.draft(first))?.seq;
        for (part, (lines, excluded)) in (1u32..).zip(rest) {
            let more = match of {
                WayOut::Disposal => EventBody::DisposalLines {
                    disposal: id,
                    part,
                    lines,
                    excluded,
                },
                WayOut::Transfer => EventBody::TransferLines {
                    transfer: id,
                    part,
                    lines,
                    excluded,
                },
            };
            self.journal.append(actor.draft(more))?;
        }
        Ok(id)
    }

    /// Records in disposals not executed yet, and in transfers: what they
    /// are in, for people (`disposal 12`, `transfer 40`).
    fn records_on_their_way_out(&self) -> Result<BTreeMap<RecordId, String>, ArchiveError> {
        let mut out = BTreeMap::new();
        for header in self.catalog.disposals()? {
            if matches!(header.state, DisposalState::Executed | DisposalState::Abandoned) {
                continue;
            }
            if let Some(disposal) = self.whole_disposal(header.proposal.id)? {
                let done: HashSet<RecordId> = disposal
                    .execution
                    .iter()
                    .flat_map(|e| e.outcomes.iter().map(|o| o.record))
                    .collect();
                for line in disposal.approved_lines().filter(|l| !done.contains(&l.record)) {
                    out.insert(line.record, format!("l'élimination {}", disposal.proposal.id));
                }
            }
        }
        for header in self.catalog.transfers()? {
            if header.acknowledgement.is_some() || header.abandoned.is_some() {
                continue;
            }
            for part in self.catalog.lines_of(WayOut::Transfer, header.proposal.id)? {
                for line in part.lines {
                    out.insert(line.record, format!("le versement {}", header.proposal.id));
                }
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
            return Err(InvalidInput::new("node", format!("{node} n'est pas un nœud du plan")).into());
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
        // Records are read one at a time: a proposal may consider hundreds
        // of thousands.
        let candidates: Vec<RecordId> = if explicit {
            let mut found = Vec::new();
            for key in &request.records {
                found.push(self.record(actor, key)?.id);
            }
            found
        } else {
            due.keys().copied().collect()
        };
        for id in candidates {
            let Some(record) = self.catalog.record(&id)? else {
                continue;
            };
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
                exclude("il est déjà éliminé".into());
                continue;
            }
            let Some(d) = due.get(&record.id) else {
                let when = record.due.as_ref().map_or(
                    "il n'a pas de date d'échéance (conservation définitive, ou départ pas encore survenu)".to_owned(),
                    |m| format!("il est échu le {}", crate::french::date(m.date)),
                );
                exclude(format!("pas échu au {} : {when}", crate::french::date(at)));
                continue;
            };
            if d.final_action != wanted {
                if explicit {
                    exclude(format!(
                        "son sort final est {} : {}",
                        crate::french::final_action(d.final_action),
                        match d.final_action {
                            FinalAction::Keep => "il est versé aux archives, pas détruit",
                            FinalAction::Destroy => "il est détruit avec le visa du service d'archives, pas versé",
                            FinalAction::Review => "un archiviste décide d'abord (tri)",
                        }
                    ));
                }
                continue;
            }
            if !d.held_by.is_empty() {
                exclude(format!("gelé ({})", hold_list(&d.held_by)));
                continue;
            }
            if let Some(other) = open.get(&record.id) {
                exclude(format!("déjà dans {other}"));
                continue;
            }
            lines.push(self.line_of(&record, &d.rule, d.due)?);
        }
        if lines.is_empty() {
            let why = excluded
                .first()
                .map(|e| format!(" ({} : {})", e.reference, e.reason))
                .unwrap_or_default();
            let what = if wanted == FinalAction::Keep {
                "un versement"
            } else {
                "une élimination"
            };
            return Err(InvalidInput::new(
                "records",
                format!(
                    "aucun document ne peut être proposé pour {what} au {}{why}",
                    crate::french::date(at)
                ),
            )
            .into());
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
            candidates.extend(record.blobs_used().copied());
        }
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        // Who else uses each blob, through the blob → records index.
        let mut still_used = Vec::new();
        for sha in &candidates {
            for id in self.catalog.records_holding(sha)? {
                if gone.contains(&id) {
                    continue;
                }
                if self
                    .catalog
                    .record(&id)?
                    .is_some_and(|r| r.state == RecordState::Active && r.uses_blob(sha))
                {
                    still_used.push(*sha);
                    break;
                }
            }
        }
        for sha in still_used {
            candidates.remove(&sha);
        }
        for version in self.catalog.plan_versions()? {
            candidates.remove(&version.text);
        }
        Ok(candidates.into_iter().collect())
    }

    /// Finishes what a crash interrupted: abandons the proposals whose
    /// parts were not all written, takes up the executions begun, and
    /// finishes the erasure of every executed disposal and acknowledged
    /// transfer.
    pub(super) fn finish_interrupted(&self) -> Result<(), ArchiveError> {
        const WHY: &str = "le serveur s'est arrêté avant que toutes ses lignes soient enregistrées : \
                           dressez-en une nouvelle";
        for disposal in self.catalog.disposals()? {
            let id = disposal.proposal.id;
            if disposal.state == DisposalState::Proposed && !disposal.proposal.is_complete() {
                tracing::warn!(disposal = id, "abandoning an interrupted disposal proposal");
                self.journal
                    .append(Actor::system().draft(EventBody::DisposalAbandoned {
                        disposal: id,
                        reason: WHY.into(),
                    }))?;
            } else if disposal.state == DisposalState::Executing {
                tracing::warn!(disposal = id, "taking up an interrupted disposal's execution");
                let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
                self.carry_out_disposal(&Actor::system(), id)?;
            }
        }
        for transfer in self.catalog.transfers()? {
            if transfer.acknowledgement.is_none() && transfer.abandoned.is_none() && !transfer.proposal.is_complete() {
                tracing::warn!(
                    transfer = transfer.proposal.id,
                    "abandoning an interrupted transfer proposal"
                );
                self.journal
                    .append(Actor::system().draft(EventBody::TransferAbandoned {
                        transfer: transfer.proposal.id,
                        reason: WHY.into(),
                    }))?;
            }
        }
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
        self.blobs.erase_all(erased)?;
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
