//! Processing circuits (`domain::circuit`): a record moved from step to
//! step, checked against its circuit, its step's actors and its dates, and
//! journaled (`record.moved`); the work lists, what waits for a person,
//! soonest due first; and the circuits' indicators (`domain::indicators`),
//! folded from the journal: live (the ledger follows the journal from where
//! it stopped), or afresh up to the end of a past day.

use super::{Actor, Archive, ArchiveError};
use crate::domain::circuit::{Circuit, PaymentClock, Step, Waiting, payment_clock};
use crate::domain::event::{EventBody, MoveFacts};
use crate::domain::plan::{Access, Plan};
use crate::domain::record::{InvalidInput, Lines, NodeCode, Record};
use crate::domain::role::Permission;
use chrono::NaiveDate;
use std::collections::HashMap;

/// The longest comment on a move.
pub const COMMENT_MAX: usize = 2_000;

/// The most items one work list answers.
pub const WORKLIST_MAX: usize = 1_000;

/// A move a person asks for.
#[derive(Debug, Clone, Default)]
pub struct Move {
    /// The step to reach (its code).
    pub to: String,
    /// The day it took effect (`YYYY-MM-DD`); none: today.
    pub date: Option<String>,
    /// Why, or what was done.
    pub comment: Option<String>,
    /// An archived record that goes with it (reference or id).
    pub attachment: Option<String>,
}

/// A record's place in its circuit, read for a person.
#[derive(Debug, Clone)]
pub struct CircuitView {
    /// The circuit.
    pub circuit: Circuit,
    /// The step it is at.
    pub step: Step,
    /// Since when.
    pub since: NaiveDate,
    /// The clock, read today (or up to the payment).
    pub clock: PaymentClock,
    /// The days left at this step before it is overdue (negative: late by
    /// that many), when the step allows a number of days.
    pub days_left: Option<i64>,
    /// The moves this person may make from here (none when the step is not
    /// theirs).
    pub moves: Vec<Step>,
}

/// One item of a work list.
#[derive(Debug, Clone)]
pub struct WorkItem {
    /// The record.
    pub record: Record,
    /// Where it stands.
    pub view: CircuitView,
}

/// What waits for a person.
#[derive(Debug, Clone)]
pub struct WorkList {
    /// Overdue first, then soonest due, then oldest.
    pub items: Vec<WorkItem>,
    /// Items in all (the list may be cut at its limit).
    pub total: usize,
    /// How many are overdue.
    pub overdue: usize,
}

impl Archive {
    /// The service of the person acting, if their account names one.
    fn service_of(&self, actor: &Actor) -> Result<Option<String>, ArchiveError> {
        Ok(match &actor.account {
            Some(user) => self.catalog.account(user)?.and_then(|a| a.service),
            None => None,
        })
    }

    /// Where a record stands in its circuit and what `actor` may do there;
    /// `None` when it is in none.
    pub fn circuit_view(&self, actor: &Actor, record: &Record) -> Result<Option<CircuitView>, ArchiveError> {
        let Some(circulation) = &record.circulation else {
            return Ok(None);
        };
        let plan = self.plan_in_force()?;
        let Some(circuit) = plan.plan.circuit(&circulation.circuit) else {
            return Ok(None);
        };
        let service = self.service_of(actor)?;
        Ok(self.view_of(actor, service.as_deref(), &plan.plan, circuit, record))
    }

    fn view_of(
        &self,
        actor: &Actor,
        service: Option<&str>,
        plan: &Plan,
        circuit: &Circuit,
        record: &Record,
    ) -> Option<CircuitView> {
        let circulation = record.circulation.as_ref()?;
        let step = circuit.step(circulation.step())?.clone();
        let since = circulation.since()?;
        let today = self.clock.now().date_naive();
        let clock = payment_clock(circuit, &circulation.passages, today);
        let days_left = (circulation.open)
            .then(|| step.days.map(|d| i64::from(d) - (today - since).num_days()))
            .flatten();
        let mine = circulation.open
            && actor.role.allows(Permission::Deposit)
            && plan.allows(&record.node, actor.role.as_str(), Access::Deposit)
            && step.acted_by(actor.role, service, record.service.as_deref());
        let moves = if mine {
            step.moves
                .iter()
                .filter_map(|code| circuit.step(code).cloned())
                .collect()
        } else {
            Vec::new()
        };
        Some(CircuitView {
            circuit: circuit.clone(),
            step,
            since,
            clock,
            days_left,
            moves,
        })
    }

    /// Moves a record on in its circuit: the step it is at must allow the
    /// move and be the person's (role, service), the date must fall between
    /// the day it reached its step and today. Journaled as `record.moved`.
    #[tracing::instrument(skip_all, fields(actor = %actor.name, record = key))]
    pub fn move_record(&self, actor: &Actor, key: &str, asked: Move) -> Result<Record, ArchiveError> {
        actor.require(Permission::Deposit, "faire avancer un document dans son circuit")?;
        let comment = checked_comment(asked.comment.as_deref())?;
        let attachment = match asked.attachment.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(key) => Some(self.record(actor, key).map_err(|_| {
                InvalidInput::new(
                    "attachment",
                    format!(
                        "aucun document « {key} » que vous puissiez lire ; déposez d'abord la pièce, puis nommez-la"
                    ),
                )
            })?),
            None => None,
        };
        let service = self.service_of(actor)?;
        let found = self.record(actor, key)?;
        let _guard = self.lock_record(&found.id);
        let record = self.record(actor, key)?;
        super::records::refuse_if_destroyed(&record)?;
        let plan = self.plan_in_force()?;
        let (circulation, circuit) = match &record.circulation {
            Some(c) if c.open => match plan.plan.circuit(&c.circuit) {
                Some(circuit) => (c, circuit),
                None => return Err(ArchiveError::NotInCircuit(record.reference.to_string())),
            },
            _ => return Err(ArchiveError::NotInCircuit(record.reference.to_string())),
        };
        let from = circuit
            .step(circulation.step())
            .ok_or_else(|| ArchiveError::NotInCircuit(record.reference.to_string()))?;
        let to = asked.to.trim();
        let reached = circuit
            .check_move(&from.code, to)
            .map_err(|refused| ArchiveError::MoveNotAllowed {
                reference: record.reference.to_string(),
                from: from.title.clone(),
                to: circuit.step(to).map_or_else(|| to.to_owned(), |s| s.title.clone()),
                allowed: refused
                    .allowed
                    .iter()
                    .map(|code| {
                        (
                            code.clone(),
                            circuit.step(code).map_or_else(|| code.clone(), |s| s.title.clone()),
                        )
                    })
                    .collect(),
            })?;
        if !plan.plan.allows(&record.node, actor.role.as_str(), Access::Deposit)
            || !from.acted_by(actor.role, service.as_deref(), record.service.as_deref())
        {
            return Err(ArchiveError::NotYourStep {
                step: from.title.clone(),
                service: from.service.clone().or_else(|| record.service.clone()),
            });
        }
        let today = self.clock.now().date_naive();
        let since = circulation.since().unwrap_or(today);
        let date = match asked.date.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
            None => today,
            Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| InvalidInput::new("date", format!("« {text} » n'est pas une date (AAAA-MM-JJ)")))?,
        };
        if date > today || date < since {
            return Err(InvalidInput::new(
                "date",
                format!(
                    "le mouvement date du {} au {} : le document est à l'étape « {} » depuis le {}, et un mouvement ne date pas d'un jour à venir",
                    since.format("%d/%m/%Y"),
                    today.format("%d/%m/%Y"),
                    from.title,
                    since.format("%d/%m/%Y")
                ),
            )
            .into());
        }
        self.journal.append(actor.draft(EventBody::RecordMoved {
            record: record.id,
            circuit: circuit.code.clone(),
            from: from.code.clone(),
            to: reached.code.clone(),
            date,
            closed: reached.is_final(),
            comment,
            attachment: attachment.map(|a| a.id),
            facts: facts_of(circuit, reached, &record),
        }))?;
        self.catalog
            .record(&record.id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {} moved but not in the catalog", record.id)))
    }

    /// Moves a record on by itself when a flow says so (`trigger`), if its
    /// step leads to a step that `trigger` reaches; on `date`, or on the
    /// day it reached its step if that came later. Whether it moved.
    pub(super) fn move_by_flow(
        &self,
        actor: &Actor,
        id: &crate::domain::record::RecordId,
        trigger: crate::domain::circuit::Trigger,
        date: NaiveDate,
        comment: String,
        attachment: Option<crate::domain::record::RecordId>,
    ) -> Result<bool, ArchiveError> {
        let _guard = self.lock_record(id);
        let Some(record) = self.catalog.record(id)? else {
            return Ok(false);
        };
        let Some(circulation) = record
            .circulation
            .as_ref()
            .filter(|c| c.open && record.tombstone.is_none())
        else {
            return Ok(false);
        };
        let plan = self.plan_in_force()?;
        let Some(circuit) = plan.plan.circuit(&circulation.circuit) else {
            return Ok(false);
        };
        let Some(reached) = circuit.automatic_move(circulation.step(), trigger) else {
            return Ok(false);
        };
        let today = self.clock.now().date_naive();
        let since = circulation.since().unwrap_or(today);
        self.journal.append(actor.draft(EventBody::RecordMoved {
            record: record.id,
            circuit: circuit.code.clone(),
            from: circulation.step().to_owned(),
            to: reached.code.clone(),
            date: date.min(today).max(since),
            closed: reached.is_final(),
            comment: Some(comment),
            attachment,
            facts: facts_of(circuit, reached, &record),
        }))?;
        Ok(true)
    }

    /// What waits for `actor`: records at a step they act at (role and
    /// service), in nodes they may deposit in; overdue first, then soonest
    /// due, then oldest; at most `limit`.
    pub fn worklist(&self, actor: &Actor, limit: usize) -> Result<WorkList, ArchiveError> {
        actor.require(Permission::Deposit, "traiter des documents")?;
        let limit = limit.clamp(1, WORKLIST_MAX);
        let plan = self.plan_in_force()?;
        let service = self.service_of(actor)?;
        let today = self.clock.now().date_naive();
        let role = actor.role.as_str();
        let mut mine: Vec<(Waiting, Option<i64>)> = Vec::new();
        let mut allowed: HashMap<NodeCode, bool> = HashMap::new();
        for waiting in self.catalog.circulating()? {
            let Some(step) = plan.plan.circuit(&waiting.circuit).and_then(|c| c.step(&waiting.step)) else {
                continue;
            };
            let may = *allowed
                .entry(waiting.node.clone())
                .or_insert_with(|| plan.plan.allows(&waiting.node, role, Access::Deposit));
            if !may || !step.acted_by(actor.role, service.as_deref(), waiting.service.as_deref()) {
                continue;
            }
            let left = step.days.map(|d| i64::from(d) - (today - waiting.since).num_days());
            mine.push((waiting, left));
        }
        // Overdue first (most late first), then by days left, then those
        // with no delay, oldest first.
        mine.sort_by_key(|(w, left)| (left.is_none(), *left, w.since, w.record));
        let total = mine.len();
        let overdue = mine.iter().filter(|(_, left)| left.is_some_and(|l| l < 0)).count();
        let mut items = Vec::new();
        for (waiting, _) in mine.into_iter().take(limit) {
            let Some(record) = self.catalog.record(&waiting.record)? else {
                continue;
            };
            let Some(circuit) = plan.plan.circuit(&waiting.circuit) else {
                continue;
            };
            if let Some(view) = self.view_of(actor, service.as_deref(), &plan.plan, circuit, &record) {
                items.push(WorkItem { record, view });
            }
        }
        Ok(WorkList { items, total, overdue })
    }
}

/// What a move journals for the indicators: the record's service, and on a
/// payment its supplier (the circuit's field, else its SIRET) and amount.
fn facts_of(circuit: &Circuit, reached: &Step, record: &Record) -> MoveFacts {
    let field = |name: &Option<String>| name.as_ref().and_then(|n| record.fields.get(n)).cloned();
    MoveFacts {
        service: record.service.clone(),
        supplier: if reached.paid {
            field(&circuit.supplier).or_else(|| record.fields.get("siret").cloned())
        } else {
            None
        },
        amount: if reached.paid { field(&circuit.amount) } else { None },
    }
}

/// A comment as kept: blank is none; else trimmed, bounded, without
/// control characters (but newlines).
fn checked_comment(comment: Option<&str>) -> Result<Option<String>, ArchiveError> {
    match comment.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) => Ok(Some(crate::domain::record::check_text(
            "comment",
            c,
            COMMENT_MAX,
            Lines::Many,
        )?)),
        None => Ok(None),
    }
}
