//! The disposal workflow: propose (the *bordereau d'élimination*), approve
//! with the archives authority's visa, execute (tombstones, then the blobs
//! erased and the index purged), certify.
//!
//! Crash safety: the execution is journaled before anything is erased, and
//! the erasure is confirmed by its own event; an execution without that
//! confirmation is finished when the archive next opens.

use super::{Actor, Archive, ArchiveError};
use crate::domain::disposal::{Disposal, DisposalLine, DisposalState, Exclusion, Outcome, Transfer};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::plan::FinalAction;
use crate::domain::record::{InvalidInput, NodeCode, Record, RecordId, RecordState, parse_date};
use crate::domain::role::Permission;
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
struct Selection {
    at: chrono::NaiveDate,
    node: Option<NodeCode>,
    lines: Vec<DisposalLine>,
    excluded: Vec<Exclusion>,
}

/// The archives authority's visa, as recorded.
#[derive(Debug, Clone, Default)]
pub struct VisaRequest {
    /// The visa's reference.
    pub visa: String,
    /// Who signed it.
    pub signer: String,
    /// Its date (`YYYY-MM-DD`; today by default).
    pub date: Option<String>,
    /// Lines the authority struck (references, aliases or ids).
    pub struck: Vec<String>,
}

/// The archives service's acknowledgement of a transfer, as recorded.
#[derive(Debug, Clone, Default)]
pub struct AcknowledgementRequest {
    /// The archives service's reference for the transfer.
    pub reference: String,
    /// Its date (`YYYY-MM-DD`; today by default).
    pub date: Option<String>,
    /// Who signed it.
    pub signer: Option<String>,
}

/// Why a line of a disposal (`action` "destroy") or a transfer ("keep")
/// is not carried out now, if it is not: the record gone or no longer
/// active, held, changed since the proposal, or no longer due for `action`
/// under the plan in force (`what`: "destroyable", "to be transferred").
fn why_not_carried_out(
    line: &DisposalLine,
    record: Option<&Record>,
    held: &BTreeMap<RecordId, Vec<u64>>,
    today: chrono::NaiveDate,
    action: &str,
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

fn check_label(field: &str, text: &str) -> Result<String, InvalidInput> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > 500 || t.chars().any(char::is_control) {
        return Err(InvalidInput::new(field, "1 to 500 characters, no control characters"));
    }
    Ok(t.to_owned())
}

impl Archive {
    /// Records in disposals not executed yet, and in transfers: what they
    /// are in, for people (`disposal 12`, `transfer 40`).
    fn records_on_their_way_out(&self) -> Result<BTreeMap<RecordId, String>, ArchiveError> {
        let mut out = BTreeMap::new();
        for disposal in self.catalog.disposals()? {
            if disposal.state != DisposalState::Executed {
                for line in disposal.approved_lines() {
                    out.insert(line.record, format!("disposal {}", disposal.id));
                }
            }
        }
        for transfer in self
            .catalog
            .transfers()?
            .into_iter()
            .filter(|t| t.acknowledgement.is_none())
        {
            for line in &transfer.lines {
                out.insert(line.record, format!("transfer {}", transfer.id));
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
    fn select_leaving(
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
            if d.final_action != wanted.as_str() {
                if explicit {
                    exclude(format!(
                        "its final action is {}: {}",
                        d.final_action,
                        match d.final_action.as_str() {
                            "keep" => "it is transferred to the archives, not destroyed",
                            "destroy" => "it is destroyed with the archives' visa, not transferred",
                            _ => "an archivist decides (review) first",
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

    /// Proposes the disposal of the records due for destruction.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn propose_disposal(&self, actor: &Actor, request: ProposalRequest) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "propose disposals")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let s = self.select_leaving(actor, &request, FinalAction::Destroy)?;
        let event = self.journal.append(actor.draft(EventBody::DisposalProposed {
            at: s.at,
            node: s.node,
            lines: s.lines,
            excluded: s.excluded,
        }))?;
        self.disposal(actor, event.seq)
    }

    /// Proposes the transfer to the archives of the records due whose final
    /// action is `keep` (the package itself is built by the export).
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn propose_transfer(&self, actor: &Actor, request: ProposalRequest) -> Result<Transfer, ArchiveError> {
        actor.require(Permission::ManageRecords, "propose transfers")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let s = self.select_leaving(actor, &request, FinalAction::Keep)?;
        let event = self.journal.append(actor.draft(EventBody::TransferProposed {
            at: s.at,
            node: s.node,
            lines: s.lines,
            excluded: s.excluded,
        }))?;
        self.transfer(actor, event.seq)
    }

    /// A transfer.
    pub fn transfer(&self, actor: &Actor, id: u64) -> Result<Transfer, ArchiveError> {
        actor.require(Permission::ManageRecords, "read transfers")?;
        self.catalog.transfer(id)?.ok_or(ArchiveError::TransferNotFound(id))
    }

    /// Every transfer, oldest first.
    pub fn transfers(&self, actor: &Actor) -> Result<Vec<Transfer>, ArchiveError> {
        actor.require(Permission::ManageRecords, "read transfers")?;
        Ok(self.catalog.transfers()?)
    }

    /// A disposal.
    pub fn disposal(&self, actor: &Actor, id: u64) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "read disposals")?;
        self.catalog.disposal(id)?.ok_or(ArchiveError::DisposalNotFound(id))
    }

    /// Every disposal, oldest first.
    pub fn disposals(&self, actor: &Actor) -> Result<Vec<Disposal>, ArchiveError> {
        actor.require(Permission::ManageRecords, "read disposals")?;
        Ok(self.catalog.disposals()?)
    }

    /// Records the archives authority's visa on a proposed disposal.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn approve_disposal(&self, actor: &Actor, id: u64, visa: VisaRequest) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "approve disposals")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let disposal = self.disposal(actor, id)?;
        if disposal.state != DisposalState::Proposed {
            return Err(ArchiveError::DisposalState {
                id,
                state: disposal.state.as_str(),
                wanted: "proposed",
            });
        }
        let reference = check_label("visa", &visa.visa)?;
        let signer = check_label("signer", &visa.signer)?;
        let date = match visa.date.as_deref() {
            Some(d) => parse_date("date", d)?,
            None => self.clock.now().date_naive(),
        };
        let mut struck = Vec::new();
        for key in &visa.struck {
            let line = disposal
                .lines
                .iter()
                .find(|l| l.reference.as_str() == key.trim() || l.record.to_string() == key.trim())
                .ok_or_else(|| InvalidInput::new("struck", format!("{key} is not a line of disposal {id}")))?;
            struck.push(line.record);
        }
        struck.sort();
        struck.dedup();
        self.journal.append(actor.draft(EventBody::DisposalApproved {
            disposal: id,
            visa: reference,
            signer,
            date,
            struck,
        }))?;
        self.disposal(actor, id)
    }

    /// Executes an approved disposal: each line still due for destruction
    /// and not held is destroyed (the others are skipped, with the reason),
    /// then the blobs only they used are erased and the index purged.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn execute_disposal(&self, actor: &Actor, id: u64) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "execute disposals")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let disposal = self.disposal(actor, id)?;
        match disposal.state {
            DisposalState::Approved => {}
            DisposalState::Proposed => return Err(ArchiveError::DisposalNotApproved(id)),
            DisposalState::Executed => {
                return Err(ArchiveError::DisposalState {
                    id,
                    state: "executed",
                    wanted: "approved",
                });
            }
        }
        let today = self.clock.now().date_naive();
        let lines: Vec<&DisposalLine> = disposal.approved_lines().collect();
        let mut records = Vec::new();
        for line in &lines {
            records.push(self.catalog.record(&line.record)?);
        }
        let keys: Vec<(RecordId, NodeCode)> = records.iter().flatten().map(|r| (r.id, r.node.clone())).collect();
        let held = self.holds_on(&keys, true)?;
        let plan = self.plan_in_force()?;
        let mut outcomes = Vec::new();
        let mut destroyed: Vec<&Record> = Vec::new();
        for (line, record) in lines.iter().zip(&records) {
            let skip = why_not_carried_out(line, record.as_ref(), &held, today, "destroy", "destroyable");
            let kept_title = record.as_ref().filter(|_| skip.is_none()).and_then(|r| {
                plan.plan
                    .node(&r.node)
                    .filter(|n| n.tombstone_keeps_title)
                    .map(|_| r.title.clone())
            });
            if skip.is_none()
                && let Some(r) = record
            {
                destroyed.push(r);
            }
            outcomes.push(Outcome {
                record: line.record,
                reference: line.reference.clone(),
                skipped: skip,
                kept_title,
            });
        }
        let erased = self.blobs_only_used_by(&destroyed)?;
        self.journal.append(actor.draft(EventBody::DisposalExecuted {
            disposal: id,
            outcomes,
            erased,
        }))?;
        tracing::info!(disposal = id, destroyed = destroyed.len(), "disposal executed");
        self.finish_erasure(id)?;
        self.disposal(actor, id)
    }

    /// The blobs the destroyed records use that no other record still
    /// needs, nor any plan version.
    fn blobs_only_used_by(&self, destroyed: &[&Record]) -> Result<Vec<Sha256>, ArchiveError> {
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

    /// Erases an executed disposal's blobs, purges its records from the
    /// index and journals that it is done (nothing, if it was).
    pub(super) fn finish_erasure(&self, id: u64) -> Result<(), ArchiveError> {
        let Some(disposal) = self.catalog.disposal(id)? else {
            return Ok(());
        };
        let Some(execution) = &disposal.execution else {
            return Ok(());
        };
        if execution.erased_seq.is_some() {
            return Ok(());
        }
        self.erase_and_purge(&execution.erased, &execution.outcomes)?;
        self.journal
            .append(Actor::system().draft(EventBody::DisposalErased { disposal: id }))?;
        tracing::info!(disposal = id, blobs = execution.erased.len(), "disposal erased");
        Ok(())
    }

    /// Finishes the erasure of every executed disposal and acknowledged
    /// transfer whose erasure a crash interrupted.
    pub(super) fn finish_pending_erasures(&self) -> Result<(), ArchiveError> {
        for disposal in self.catalog.disposals()? {
            if disposal.execution.as_ref().is_some_and(|e| e.erased_seq.is_none()) {
                tracing::warn!(disposal = disposal.id, "finishing an interrupted disposal's erasure");
                self.finish_erasure(disposal.id)?;
            }
        }
        for transfer in self.catalog.transfers()? {
            if transfer
                .acknowledgement
                .as_ref()
                .is_some_and(|a| a.erased_seq.is_none())
            {
                tracing::warn!(transfer = transfer.id, "finishing an interrupted transfer's erasure");
                self.finish_transfer_erasure(transfer.id)?;
            }
        }
        Ok(())
    }

    /// Records the archives service's acknowledgement of a transfer: each
    /// line the exported packages carried, still unchanged, not held and
    /// still due to be kept, is transferred (the others stay, with the
    /// reason); the transferred records become tombstones pointing to the
    /// archives' reference, and the blobs only they used are erased and the
    /// index purged, as for a disposal.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn acknowledge_transfer(
        &self,
        actor: &Actor,
        id: u64,
        request: AcknowledgementRequest,
    ) -> Result<Transfer, ArchiveError> {
        actor.require(Permission::ManageRecords, "record transfer acknowledgements")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let transfer = self.transfer(actor, id)?;
        if transfer.acknowledgement.is_some() {
            return Err(ArchiveError::TransferState {
                id,
                problem: "it was acknowledged already".into(),
            });
        }
        if transfer.packages.is_empty() {
            return Err(ArchiveError::TransferState {
                id,
                problem: format!(
                    "no package was exported for it: export it first (`coffre export --transfer {id}`, POST /exports with \"transfer\": {id})"
                ),
            });
        }
        let reference = check_label("reference", &request.reference)?;
        let signer = request
            .signer
            .as_deref()
            .map(|s| check_label("signer", s))
            .transpose()?;
        let date = match request.date.as_deref() {
            Some(d) => parse_date("date", d)?,
            None => self.clock.now().date_naive(),
        };
        let today = self.clock.now().date_naive();
        let mut records = Vec::new();
        for line in &transfer.lines {
            records.push(self.catalog.record(&line.record)?);
        }
        let keys: Vec<(RecordId, NodeCode)> = records.iter().flatten().map(|r| (r.id, r.node.clone())).collect();
        let held = self.holds_on(&keys, true)?;
        let mut outcomes = Vec::new();
        let mut transferred: Vec<&Record> = Vec::new();
        for (line, record) in transfer.lines.iter().zip(&records) {
            let skip = match record {
                Some(r) if r.state == RecordState::Active && !transfer.exported.contains(&r.id) => {
                    Some("no package exported for this transfer carried it".to_owned())
                }
                _ => why_not_carried_out(line, record.as_ref(), &held, today, "keep", "to be transferred"),
            };
            // A transferred record's tombstone keeps its title: the
            // archives hold the record, and its finding aid names it.
            let kept_title = record.as_ref().filter(|_| skip.is_none()).map(|r| r.title.clone());
            if skip.is_none()
                && let Some(r) = record
            {
                transferred.push(r);
            }
            outcomes.push(Outcome {
                record: line.record,
                reference: line.reference.clone(),
                skipped: skip,
                kept_title,
            });
        }
        let erased = self.blobs_only_used_by(&transferred)?;
        self.journal.append(actor.draft(EventBody::TransferAcknowledged {
            transfer: id,
            reference,
            date,
            signer,
            outcomes,
            erased,
        }))?;
        tracing::info!(transfer = id, transferred = transferred.len(), "transfer acknowledged");
        self.finish_transfer_erasure(id)?;
        self.transfer(actor, id)
    }

    /// Erases blobs, and purges from the index the records of the lines
    /// carried out (delete, commit, merge, collect: no file keeps their text).
    fn erase_and_purge(&self, erased: &[Sha256], outcomes: &[Outcome]) -> Result<(), ArchiveError> {
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

    /// Erases an acknowledged transfer's blobs, purges its records from the
    /// index and journals that it is done (nothing, if it was).
    fn finish_transfer_erasure(&self, id: u64) -> Result<(), ArchiveError> {
        let Some(transfer) = self.catalog.transfer(id)? else {
            return Ok(());
        };
        let Some(ack) = &transfer.acknowledgement else {
            return Ok(());
        };
        if ack.erased_seq.is_some() {
            return Ok(());
        }
        self.erase_and_purge(&ack.erased, &ack.outcomes)?;
        self.journal
            .append(Actor::system().draft(EventBody::TransferErased { transfer: id }))?;
        tracing::info!(transfer = id, blobs = ack.erased.len(), "transfer erased");
        Ok(())
    }
}
