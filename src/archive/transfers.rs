//! Transfers to the archives (*versement*): propose the records due to be
//! kept, export their package (`exports`), then record the archives'
//! acknowledgement, which turns the records it took into tombstones and
//! erases what only they used.

use super::disposition::{LABEL_MAX, ProposalRequest, why_not_carried_out};
use super::holds::IndexFreshness;
use super::{Actor, Archive, ArchiveError};
use crate::domain::disposition::{Outcome, Transfer};
use crate::domain::event::EventBody;
use crate::domain::plan::FinalAction;
use crate::domain::record::{InvalidInput, Lines, check_text};
use crate::domain::record::{NodeCode, Record, RecordId, RecordState, parse_date};
use crate::domain::role::Permission;
use crate::store::WayOut;

/// The archives service's acknowledgement of a transfer, as recorded.
#[derive(Debug, Clone, Default)]
pub struct AcknowledgementRequest {
    /// The archives service's reference for the transfer.
    pub reference: String,
    /// Its date (`YYYY-MM-DD`; today by default).
    pub date: Option<String>,
    /// Who signed it.
    pub signer: Option<String>,
    /// The blob holding the archives' SEDA answer it was read from.
    pub reply: Option<crate::domain::hash::Sha256>,
}

impl Archive {
    /// Proposes the transfer to the archives of the records due whose final
    /// action is `keep` (the package itself is built by the export).
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn propose_transfer(&self, actor: &Actor, request: ProposalRequest) -> Result<Transfer, ArchiveError> {
        actor.require(Permission::ManageRecords, "proposer des versements")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let selection = self.select_leaving(actor, &request, FinalAction::Keep)?;
        let id = self.journal_proposal(actor, WayOut::Transfer, selection)?;
        self.transfer(actor, id)
    }

    /// A transfer, with its lines and outcomes.
    pub fn transfer(&self, actor: &Actor, id: u64) -> Result<Transfer, ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les versements")?;
        self.whole_transfer(id)?.ok_or(ArchiveError::TransferNotFound(id))
    }

    /// Every transfer, oldest first, without its lines and outcomes.
    pub fn transfers(&self, actor: &Actor) -> Result<Vec<Transfer>, ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les versements")?;
        Ok(self.catalog.transfers()?)
    }

    /// Records the archives service's SEDA 2.3 answer to a transfer (an
    /// `ArchiveTransferReply`, or an `Acknowledgement`): checked against
    /// the SEDA 2.3 schema, matched to the transfer whose package it names,
    /// kept as a blob, and acted on as an acknowledgement carrying the
    /// archives' reference (the answer's identifier). A reply refusing the
    /// transfer changes nothing and says so.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn answer_transfer(&self, actor: &Actor, xml: &[u8]) -> Result<Transfer, ArchiveError> {
        actor.require(Permission::ManageRecords, "enregistrer les réponses des archives")?;
        crate::store::seda_schema::validate(xml).map_err(|e| match e {
            crate::store::seda_schema::SchemaError::Invalid(problems) => ArchiveError::Invalid(InvalidInput::new(
                "reply",
                format!(
                    "la réponse n'est pas conforme au schéma SEDA 2.3 : {}",
                    problems.join(" ; ")
                ),
            )),
            unavailable => ArchiveError::Internal(unavailable.to_string()),
        })?;
        let reply = crate::package::seda::read_reply(xml).map_err(|problem| InvalidInput::new("reply", problem))?;
        let transfer = self
            .catalog
            .transfers()?
            .into_iter()
            .find(|t| t.packages.contains(&reply.answers))
            .ok_or_else(|| ArchiveError::ReplyForUnknownTransfer(reply.answers.clone()))?;
        let id = transfer.proposal.id;
        if reply.refuses() {
            return Err(ArchiveError::TransferState {
                id,
                problem: format!(
                    "le service d'archives l'a refusé (réponse {}, code {}) : rien n'est changé ici",
                    reply.message_id,
                    reply.reply_code.as_deref().unwrap_or_default()
                ),
            });
        }
        // Refused before the answer is kept, so that no blob is left that
        // nothing names.
        if transfer.acknowledgement.is_some() {
            return Err(ArchiveError::TransferState {
                id,
                problem: "il a déjà été accepté".into(),
            });
        }
        let kept = self.blobs.stage(&mut &xml[..], u64::MAX)?.commit()?;
        let request = AcknowledgementRequest {
            reference: reply.message_id.clone(),
            date: reply.date.get(..10).map(str::to_owned),
            signer: reply.archival_agency.clone(),
            reply: Some(kept),
        };
        self.acknowledge_transfer(actor, id, request)
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
        actor.require(Permission::ManageRecords, "enregistrer les accusés de versement")?;
        let _one = self.disposal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let transfer = self.transfer(actor, id)?;
        if transfer.acknowledgement.is_some() {
            return Err(ArchiveError::TransferState {
                id,
                problem: "il a déjà été accepté".into(),
            });
        }
        if let Some(why) = &transfer.abandoned {
            return Err(ArchiveError::TransferState {
                id,
                problem: format!("il a été abandonné ({why})"),
            });
        }
        if transfer.packages.is_empty() {
            return Err(ArchiveError::TransferState {
                id,
                problem: format!(
                    "aucun paquet n'a été exporté pour lui : exportez-le d'abord (`coffre export --transfer {id}`, POST /exports avec \"transfer\": {id})"
                ),
            });
        }
        let reference = check_text("reference", &request.reference, LABEL_MAX, Lines::One)?;
        let signer = request
            .signer
            .as_deref()
            .map(|s| check_text("signer", s, LABEL_MAX, Lines::One))
            .transpose()?;
        let date = match request.date.as_deref() {
            Some(d) => parse_date("date", d)?,
            None => self.clock.now().date_naive(),
        };
        let today = self.clock.now().date_naive();
        let mut records = Vec::new();
        for line in &transfer.proposal.lines {
            records.push(self.catalog.record(&line.record)?);
        }
        let keys: Vec<(RecordId, NodeCode)> = records.iter().flatten().map(|r| (r.id, r.node.clone())).collect();
        let held = self.holds_on(&keys, IndexFreshness::CaughtUp)?;
        let mut outcomes = Vec::new();
        let mut transferred: Vec<&Record> = Vec::new();
        for (line, record) in transfer.proposal.lines.iter().zip(&records) {
            let skip = match record {
                Some(r) if r.state == RecordState::Active && !transfer.exported.contains(&r.id) => {
                    Some("aucun paquet exporté pour ce versement ne le contenait".to_owned())
                }
                _ => why_not_carried_out(line, record.as_ref(), &held, today, FinalAction::Keep, "un versement"),
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
            reply: request.reply,
            outcomes,
            erased,
        }))?;
        tracing::info!(transfer = id, transferred = transferred.len(), "transfer acknowledged");
        self.finish_transfer_erasure(id)?;
        self.transfer(actor, id)
    }

    /// Erases an acknowledged transfer's blobs, purges its records from the
    /// index and journals that it is done (nothing, if it was).
    pub(super) fn finish_transfer_erasure(&self, id: u64) -> Result<(), ArchiveError> {
        let Some(transfer) = self.whole_transfer(id)? else {
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
