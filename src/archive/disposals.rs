//! The disposal workflow: propose (the *bordereau d'élimination*), approve
//! with the archives authority's visa, execute (tombstones, then the blobs
//! erased and the index purged), certify.

use super::disposition::{LABEL_MAX, ProposalRequest, why_not_carried_out};
use super::holds::IndexFreshness;
use super::{Actor, Archive, ArchiveError};
use crate::domain::disposition::{Disposal, DisposalLine, DisposalState, Outcome};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::plan::FinalAction;
use crate::domain::record::{InvalidInput, NodeCode, Record, RecordId, parse_date};
use crate::domain::record::{Lines, check_text};
use crate::domain::role::{Permission, Role};
use crate::store::WayOut;
use std::collections::HashSet;

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
        let selection = self.select_leaving(actor, &request, FinalAction::Destroy)?;
        let id = self.journal_proposal(actor, WayOut::Disposal, selection)?;
        self.disposal(actor, id)
    }

    /// A disposal, with its lines and outcomes.
    pub fn disposal(&self, actor: &Actor, id: u64) -> Result<Disposal, ArchiveError> {
        actor.require_one_of(
            &[Permission::ManageRecords, Permission::GiveVisa],
            "consulter les éliminations",
        )?;
        self.whole_disposal(id)?.ok_or(ArchiveError::DisposalNotFound(id))
    }

    /// Every disposal, oldest first, without its lines and outcomes (its
    /// totals and counts say how many; [`Self::disposal`] has them).
    pub fn disposals(&self, actor: &Actor) -> Result<Vec<Disposal>, ArchiveError> {
        actor.require_one_of(
            &[Permission::ManageRecords, Permission::GiveVisa],
            "consulter les éliminations",
        )?;
        Ok(self.catalog.disposals()?)
    }

    /// Records the archives authority's visa on a proposed disposal.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn approve_disposal(&self, actor: &Actor, id: u64, visa: VisaRequest) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::GiveVisa, "viser des éliminations")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let disposal = self.disposal(actor, id)?;
        self.check_visa_giver(actor, &disposal)?;
        if disposal.state != DisposalState::Proposed || !disposal.proposal.is_complete() {
            return Err(ArchiveError::DisposalState {
                id,
                state: if disposal.state == DisposalState::Proposed {
                    "incomplete"
                } else {
                    disposal.state.as_str()
                },
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

    /// Where the collectivité reserves the visa to its archives authority:
    /// refuses anyone but a person in the `visa` role, and the person who
    /// proposed the elimination.
    pub fn check_visa_giver(&self, actor: &Actor, disposal: &Disposal) -> Result<(), ArchiveError> {
        let reserved = self
            .catalog
            .identity()?
            .is_some_and(|identity| identity.archives.visa_reserved);
        if !reserved {
            return Ok(());
        }
        let Some(person) = actor.account.as_ref().filter(|_| actor.role == Role::Visa) else {
            return Err(ArchiveError::VisaReserved(
                "la collectivité réserve le visa des éliminations à son autorité d'archives : \
                 il est donné par une personne au rôle « autorité d'archives »"
                    .into(),
            ));
        };
        if crate::domain::account::person_of_actor(&disposal.proposal.proposed_by).as_ref() == Some(person) {
            return Err(ArchiveError::VisaReserved(format!(
                "{person} a proposé l'élimination {} : son visa est donné par une autre personne",
                disposal.proposal.id
            )));
        }
        Ok(())
    }

    /// The document type of the plan node where certificates of
    /// elimination are filed.
    pub const CERTIFICATE_TYPE: &'static str = "certificat d'élimination";

    /// Files an executed disposal's certificate (`pdf`, made by the
    /// documents layer) as a record, in the plan node whose document types
    /// name [`Self::CERTIFICATE_TYPE`], and journals which record holds it.
    /// `None`: the plan has no such node (nothing filed, said in the log),
    /// or the certificate is filed already.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn file_disposal_certificate(
        &self,
        actor: &Actor,
        id: u64,
        pdf: &[u8],
    ) -> Result<Option<crate::domain::record::Record>, ArchiveError> {
        actor.require(Permission::ManageRecords, "classer les certificats d'élimination")?;
        let disposal = self.disposal(actor, id)?;
        if disposal.state != DisposalState::Executed {
            return Err(ArchiveError::DisposalState {
                id,
                state: disposal.state.as_str(),
                wanted: "executed",
            });
        }
        if disposal.certificate.is_some() {
            return Ok(None);
        }
        let plan = self.plan_in_force()?;
        let Some(node) = plan
            .plan
            .nodes
            .iter()
            .find(|n| n.document_types.iter().any(|t| t == Self::CERTIFICATE_TYPE))
            .map(|n| n.code.to_string())
        else {
            tracing::warn!(
                disposal = id,
                "no node of the plan takes « certificat d'élimination »: the certificate is not filed as a record"
            );
            return Ok(None);
        };
        let deposit = super::Deposit {
            node: Some(node),
            title: Some(format!("Certificat d'élimination n° {id}")),
            date: Some(self.clock.now().date_naive().to_string()),
            document_type: Some(Self::CERTIFICATE_TYPE.to_owned()),
            ..super::Deposit::default()
        };
        let upload = super::Upload {
            staged: self.stage(&mut &pdf[..])?,
            filename: Some(format!("certificat-elimination-{id}.pdf")),
        };
        let record = self.ingest(actor, deposit, upload)?;
        self.journal.append(actor.draft(EventBody::DisposalCertified {
            disposal: id,
            record: record.id,
            reference: record.reference.clone(),
        }))?;
        tracing::info!(disposal = id, record = %record.reference, "certificate of elimination filed");
        Ok(Some(record))
    }

    /// Executes an approved disposal: each line still due for destruction
    /// and not held is destroyed (the others are skipped, with the reason),
    /// then the blobs only they used are erased and the index purged. An
    /// execution that was interrupted is taken up where it stopped.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn execute_disposal(&self, actor: &Actor, id: u64) -> Result<Disposal, ArchiveError> {
        actor.require(Permission::ManageRecords, "exécuter des éliminations")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let disposal = self.catalog.disposal(id)?.ok_or(ArchiveError::DisposalNotFound(id))?;
        match disposal.state {
            DisposalState::Approved | DisposalState::Executing => {}
            DisposalState::Proposed => return Err(ArchiveError::DisposalNotApproved(id)),
            state @ (DisposalState::Executed | DisposalState::Abandoned) => {
                return Err(ArchiveError::DisposalState {
                    id,
                    state: state.as_str(),
                    wanted: "approved",
                });
            }
        }
        self.carry_out_disposal(actor, id)?;
        self.finish_erasure(id)?;
        self.disposal(actor, id)
    }

    /// Destroys the lines of an approved disposal not carried out yet, in
    /// parts of at most [`crate::domain::disposition::PART_LINES`] lines, each journaled (one event
    /// when they all fit in one), and journals the execution; the caller
    /// holds the disposal lock.
    pub(super) fn carry_out_disposal(&self, actor: &Actor, id: u64) -> Result<(), ArchiveError> {
        let disposal = self.whole_disposal(id)?.ok_or(ArchiveError::DisposalNotFound(id))?;
        let done: HashSet<RecordId> = disposal
            .execution
            .iter()
            .flat_map(|e| e.outcomes.iter().map(|o| o.record))
            .collect();
        let lines: Vec<&DisposalLine> = disposal
            .approved_lines()
            .filter(|l| !done.contains(&l.record))
            .collect();
        let begun = disposal.execution.as_ref().map_or(0, |e| e.parts);
        let size = self.options.part_lines.max(1);
        if begun == 0 && lines.len() <= size {
            let (outcomes, erased, destroyed) = self.destroy_lines(&lines)?;
            self.journal.append(actor.draft(EventBody::DisposalExecuted {
                disposal: id,
                outcomes,
                erased,
                parts: 0,
            }))?;
            tracing::info!(disposal = id, destroyed, "disposal executed");
            return Ok(());
        }
        let mut part = begun;
        let mut total = 0;
        for chunk in lines.chunks(size) {
            let (outcomes, erased, destroyed) = self.destroy_lines(chunk)?;
            part += 1;
            self.journal.append(actor.draft(EventBody::DisposalDestroyed {
                disposal: id,
                part,
                outcomes,
                erased,
            }))?;
            total += destroyed;
            tracing::info!(disposal = id, part, destroyed, "disposal part executed");
        }
        self.journal.append(actor.draft(EventBody::DisposalExecuted {
            disposal: id,
            outcomes: Vec::new(),
            erased: Vec::new(),
            parts: part,
        }))?;
        tracing::info!(disposal = id, parts = part, destroyed = total, "disposal executed");
        Ok(())
    }

    /// What becomes of these lines now: each record still due for
    /// destruction and not held is destroyed, the others skipped with the
    /// reason; and the blobs only the destroyed ones use. Returns the
    /// outcomes, the blobs, and how many are destroyed.
    fn destroy_lines(&self, lines: &[&DisposalLine]) -> Result<(Vec<Outcome>, Vec<Sha256>, usize), ArchiveError> {
        let today = self.clock.now().date_naive();
        let mut records = Vec::new();
        for line in lines {
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
        Ok((outcomes, erased, destroyed.len()))
    }

    /// Erases an executed disposal's blobs, purges its records from the
    /// index and journals that it is done (nothing, if it was).
    pub(super) fn finish_erasure(&self, id: u64) -> Result<(), ArchiveError> {
        let Some(disposal) = self.whole_disposal(id)? else {
            return Ok(());
        };
        let Some(execution) = disposal
            .execution
            .as_ref()
            .filter(|_| disposal.state == DisposalState::Executed)
        else {
            return Ok(());
        };
        if execution.erased_seq.is_some() {
            return Ok(());
        }
        self.erase_and_purge(&execution.erased, &execution.outcomes)?;
        let mut stores = vec![self.data_dir.path().display().to_string()];
        stores.extend(self.blobs.copy_names());
        self.journal
            .append(Actor::system().draft(EventBody::DisposalErased { disposal: id, stores }))?;
        tracing::info!(disposal = id, blobs = execution.erased.len(), "disposal erased");
        Ok(())
    }
}
