//! The disposal workflow: propose (the *bordereau d'élimination*), approve
//! with the archives authority's visa, execute (tombstones, then the blobs
//! erased and the index purged), certify.

use super::disposition::{LABEL_MAX, ProposalRequest, why_not_carried_out};
use super::holds::IndexFreshness;
use super::{Actor, Archive, ArchiveError};
use crate::domain::disposition::{Disposal, DisposalLine, DisposalState, Outcome};
use crate::domain::event::EventBody;
use crate::domain::plan::FinalAction;
use crate::domain::record::{InvalidInput, NodeCode, Record, RecordId, parse_date};
use crate::domain::record::{Lines, check_text};
use crate::domain::role::Permission;

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

impl Archive {
    /// Proposes the disposal of the records due for destruction.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn propose_disposal(&self, actor: &Actor, request: ProposalRequest) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "proposer des éliminations")?;
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

    /// A disposal.
    pub fn disposal(&self, actor: &Actor, id: u64) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les éliminations")?;
        self.catalog.disposal(id)?.ok_or(ArchiveError::DisposalNotFound(id))
    }

    /// Every disposal, oldest first.
    pub fn disposals(&self, actor: &Actor) -> Result<Vec<Disposal>, ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les éliminations")?;
        Ok(self.catalog.disposals()?)
    }

    /// Records the archives authority's visa on a proposed disposal.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn approve_disposal(&self, actor: &Actor, id: u64, visa: VisaRequest) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "viser des éliminations")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let disposal = self.disposal(actor, id)?;
        if disposal.state != DisposalState::Proposed {
            return Err(ArchiveError::DisposalState {
                id,
                state: disposal.state.as_str(),
                wanted: "proposed",
            });
        }
        let reference = check_text("visa", &visa.visa, LABEL_MAX, Lines::One)?;
        let signer = check_text("signer", &visa.signer, LABEL_MAX, Lines::One)?;
        let date = match visa.date.as_deref() {
            Some(d) => parse_date("date", d)?,
            None => self.clock.now().date_naive(),
        };
        // A visa answers a proposal: it cannot be dated before it.
        let proposed = disposal.proposal.proposed_at.date_naive();
        if date < proposed {
            return Err(InvalidInput::new(
                "date",
                format!(
                    "le visa du {} ne peut précéder la proposition d'élimination du {}",
                    crate::french::date(date),
                    crate::french::date(proposed)
                ),
            )
            .into());
        }
        let mut struck = Vec::new();
        for key in &visa.struck {
            let line = disposal
                .proposal
                .lines
                .iter()
                .find(|l| l.reference.as_str() == key.trim() || l.record.to_string() == key.trim())
                .ok_or_else(|| {
                    InvalidInput::new("struck", format!("{key} n'est pas une ligne de l'élimination {id}"))
                })?;
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
        actor.require(Permission::ManageRecords, "exécuter des éliminations")?;
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
        let held = self.holds_on(&keys, IndexFreshness::CaughtUp)?;
        let plan = self.plan_in_force()?;
        let mut outcomes = Vec::new();
        let mut destroyed: Vec<&Record> = Vec::new();
        for (line, record) in lines.iter().zip(&records) {
            let skip = why_not_carried_out(
                line,
                record.as_ref(),
                &held,
                today,
                FinalAction::Destroy,
                "une élimination",
            );
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
}
