//! The registers an archives service keeps, by period: the registre des
//! entrées (every deposit and import, from the journal), and the registres
//! des éliminations and des versements (from the disposals executed and
//! the transfers the archives acknowledged).
//!
//! The entries come from the journal, which is in time order: the period's
//! first event is found by bisection (each probe one seek), then the
//! journal is read on until the period ends.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::role::Permission;
use chrono::{DateTime, NaiveDate, Utc};

/// One deposit or import, as the registre des entrées lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryLine {
    /// Its journal event (the register's running number).
    pub seq: u64,
    /// When it was deposited.
    pub at: DateTime<Utc>,
    /// The record's reference.
    pub reference: String,
    /// Its node.
    pub node: String,
    /// Its title, as the catalog holds it now (what a disposal kept of it,
    /// or nothing, once destroyed).
    pub title: String,
    /// The document's date.
    pub date: NaiveDate,
    /// Who deposited it.
    pub depositor: String,
    /// The content's digest (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// The package it came from, when imported.
    pub imported_from: Option<String>,
}

/// One record destroyed or transferred, as the registres des éliminations
/// and des versements list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispositionLine {
    /// When the elimination was executed, or the transfer acknowledged.
    pub at: DateTime<Utc>,
    /// The disposal's or transfer's number.
    pub number: u64,
    /// The record's reference.
    pub reference: String,
    /// Its node.
    pub node: String,
    /// The document's date.
    pub date: NaiveDate,
    /// The rule, and its duration (ISO 8601).
    pub rule: String,
    /// Its duration.
    pub duration: String,
    /// Its due date.
    pub due: NaiveDate,
    /// The visa's reference and signer (eliminations), or the archives'
    /// reference (transfers).
    pub authority: String,
    /// What the tombstone kept of its title, if anything.
    pub title: Option<String>,
}

/// The lines of a proposal carried out (destroyed, or taken by the
/// archives), as a register lists them.
fn carried_out(
    proposal: &crate::domain::disposition::Proposal,
    outcomes: &[crate::domain::disposition::Outcome],
    at: DateTime<Utc>,
    authority: &str,
) -> Vec<DispositionLine> {
    let index = proposal.line_index();
    outcomes
        .iter()
        .filter(|o| o.skipped.is_none())
        .filter_map(|o| index.get(&o.record).map(|l| (o, *l)))
        .map(|(outcome, line)| DispositionLine {
            at,
            number: proposal.id,
            reference: line.reference.to_string(),
            node: line.node.to_string(),
            date: line.date,
            rule: line.rule.clone(),
            duration: line.duration.clone(),
            due: line.due,
            authority: authority.to_owned(),
            title: outcome.kept_title.clone(),
        })
        .collect()
}

/// Entries a register page may ask for at most.
pub const REGISTER_MAX: usize = 100_000;

impl Archive {
    /// The registre des entrées from `from` to `to` (days, UTC), at most
    /// `limit` lines; and whether the period holds more.
    pub fn entries_register(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
        limit: usize,
    ) -> Result<(Vec<EntryLine>, bool), ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les registres")?;
        let limit = limit.min(REGISTER_MAX);
        let first = self.first_event_on_or_after(from)?;
        let mut lines = Vec::new();
        let Some(first) = first else {
            return Ok((lines, false));
        };
        for event in self.journal.read_from(first)? {
            let event = event?;
            if event.time.date_naive() > to {
                break;
            }
            if event.kind != "record.ingested" {
                continue;
            }
            if lines.len() == limit {
                return Ok((lines, true));
            }
            if let Ok(EventBody::RecordIngested {
                record,
                reference,
                node,
                date,
                version,
                imported_from,
                ..
            }) = event.body()
            {
                // (A destroyed record's title is what its disposal kept, or
                // nothing.)
                let title = self.catalog.record(&record)?.map(|r| r.title).unwrap_or_default();
                lines.push(EntryLine {
                    seq: event.seq,
                    at: event.time,
                    reference: reference.to_string(),
                    node: node.to_string(),
                    title,
                    date,
                    depositor: event.actor.clone(),
                    sha256: version.sha256.hex(),
                    size: version.size,
                    imported_from,
                });
            }
        }
        Ok((lines, false))
    }

    /// The registre des éliminations: every record destroyed by a disposal
    /// executed from `from` to `to`.
    pub fn disposals_register(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DispositionLine>, ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les registres")?;
        let mut lines = Vec::new();
        for header in self.catalog.disposals()? {
            let in_period = |e: &crate::domain::disposition::Execution| (from..=to).contains(&e.at.date_naive());
            if header.state != crate::domain::disposition::DisposalState::Executed
                || !header.execution.as_ref().is_some_and(in_period)
            {
                continue;
            }
            let Some(disposal) = self.whole_disposal(header.proposal.id)? else {
                continue;
            };
            let (Some(execution), Some(visa)) = (&disposal.execution, &disposal.visa) else {
                continue;
            };
            let authority = format!(
                "visa {} de {} du {}",
                visa.reference,
                visa.signer,
                crate::french::date(visa.date)
            );
            lines.extend(carried_out(
                &disposal.proposal,
                &execution.outcomes,
                execution.at,
                &authority,
            ));
        }
        lines.sort_by(|a, b| (a.at, &a.reference).cmp(&(b.at, &b.reference)));
        Ok(lines)
    }

    /// The registre des versements: every record the archives took, by
    /// transfers acknowledged from `from` to `to`.
    pub fn transfers_register(
        &self,
        actor: &Actor,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DispositionLine>, ArchiveError> {
        actor.require(Permission::ManageRecords, "consulter les registres")?;
        let mut lines = Vec::new();
        for header in self.catalog.transfers()? {
            if !header
                .acknowledgement
                .as_ref()
                .is_some_and(|a| (from..=to).contains(&a.at.date_naive()))
            {
                continue;
            }
            let Some(transfer) = self.whole_transfer(header.proposal.id)? else {
                continue;
            };
            let Some(ack) = &transfer.acknowledgement else {
                continue;
            };
            let authority = format!("référence des archives {}", ack.reference);
            lines.extend(carried_out(&transfer.proposal, &ack.outcomes, ack.at, &authority));
        }
        lines.sort_by(|a, b| (a.at, &a.reference).cmp(&(b.at, &b.reference)));
        Ok(lines)
    }

    /// The first journal event dated on or after `day` (UTC), by bisection
    /// over the journal, which is in time order.
    fn first_event_on_or_after(&self, day: NaiveDate) -> Result<Option<u64>, ArchiveError> {
        let head = self.journal_head();
        let (mut low, mut high) = (1u64, head + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            if self.event_at(middle)?.time.date_naive() < day {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok((low <= head).then_some(low))
    }
}
