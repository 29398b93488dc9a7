//! The indicators (`domain::indicators`), folded from the journal: live
//! (the ledger follows the journal from where it stopped), or afresh up to
//! the end of a past day; the payment chain, the blockages, the stock,
//! capture and the archive's health. What only the present can say (the
//! extraction failures the index holds, the records due and held now, the
//! copies' lag) is added when the day asked is today.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::indicators::capture::{CaptureIndicators, CaptureLedger, Scope};
use crate::domain::indicators::health::{HealthIndicators, HealthLedger};
use crate::domain::indicators::{
    Blockage, PaymentFilter, PaymentIndicators, PaymentLedger, StockLedger, month_of, payment_indicators,
};
use crate::domain::plan::Plan;
use crate::domain::record::NodeCode;
use crate::domain::role::Permission;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::Arc;

/// The live ledger and how far it has read the journal.
#[derive(Default)]
pub(super) struct LedgerState {
    ledger: PaymentLedger,
    stock: StockLedger,
    capture: CaptureLedger,
    health: HealthLedger,
    through: u64,
    plans: HashMap<u32, Arc<Plan>>,
}

/// Capture's indicators: the journal's, and the failures that stand now.
#[derive(Debug, Clone)]
pub struct CaptureReport {
    /// Folded from the journal.
    pub journal: CaptureIndicators,
    /// Today only.
    pub failures: Option<CaptureFailures>,
}

/// Failures that stand now.
#[derive(Debug, Clone, Default)]
pub struct CaptureFailures {
    /// Records whose text could not be extracted, by the extractor that
    /// failed (`ocr`, `pdf`…; `none`: a format without one).
    pub extraction: Vec<(String, u64)>,
    /// Records with a signature found invalid.
    pub signatures_invalid: u64,
    /// Records with a signature that could not be checked.
    pub signatures_unchecked: u64,
}

/// The archive's health: the journal's, and what only the present says.
#[derive(Debug, Clone)]
pub struct HealthReport {
    /// Folded from the journal.
    pub journal: HealthIndicators,
    /// Today only.
    pub now: Option<HealthNow>,
}

/// What only the present says of the archive's health.
#[derive(Debug, Clone, Default)]
pub struct HealthNow {
    /// Records due for their final action today or before.
    pub overdue: u64,
    /// Of which a legal hold keeps.
    pub held_due: u64,
    /// Records due in each month of the year to come.
    pub due_by_month: Vec<(String, u64)>,
    /// Each copy store and the journal events it lacks (archive-wide:
    /// for those who audit or manage records).
    pub copies: Vec<(String, u64)>,
    /// The events of the followed archive not yet applied here.
    pub follower_lag: Option<u64>,
}

impl Archive {
    /// The payment chain's indicators over the payments `filter` keeps, of
    /// the nodes the caller may read: as the journal says now, or as it said
    /// at the end of the day `at`. Answers the day they are read for.
    pub fn payment_indicators(
        &self,
        actor: &Actor,
        filter: PaymentFilter,
        at: Option<NaiveDate>,
    ) -> Result<(PaymentIndicators, NaiveDate), ArchiveError> {
        let mut filter = filter;
        filter.scope = self.readable_scope(actor, filter.scope)?;
        self.with_ledger(at, |ledger, _| payment_indicators(ledger.payments(), &filter))
    }

    /// What waits where (by circuit, step and acting service, by age), of
    /// the nodes the caller may read, now or at the end of the day `at`.
    pub fn blockages(
        &self,
        actor: &Actor,
        scope: Scope,
        at: Option<NaiveDate>,
    ) -> Result<(Vec<Blockage>, NaiveDate), ArchiveError> {
        let scope = self.readable_scope(actor, scope)?;
        self.with_ledger(at, |ledger, day| {
            crate::domain::indicators::blockages(ledger, day, |_, open| {
                scope.keeps_place(&open.place.node, open.place.service.as_deref())
            })
        })
    }

    /// The stock (live records by node, service, type and year, with their
    /// bytes), each month's intake and departures, and what each capture
    /// channel brought each day; of the nodes the caller may read, within
    /// `scope` (its period bounds the months and days listed); now or at the
    /// end of the day `at`.
    pub fn stock_indicators(
        &self,
        actor: &Actor,
        scope: Scope,
        at: Option<NaiveDate>,
    ) -> Result<(crate::domain::indicators::StockIndicators, NaiveDate), ArchiveError> {
        let scope = self.readable_scope(actor, scope)?;
        self.with_state(at, |state, _| {
            let mut stock = state.stock.indicators(|node, service| scope.keeps_place(node, service));
            let (first, last) = (scope.from.map(month_of), scope.to.map(month_of));
            stock
                .months
                .retain(|(m, _)| first.as_ref().is_none_or(|f| m >= f) && last.as_ref().is_none_or(|l| m <= l));
            stock
                .channels
                .retain(|(day, _, _)| scope.from.is_none_or(|f| *day >= f) && scope.to.is_none_or(|t| *day <= t));
            stock
        })
    }

    /// Capture's indicators within `scope` (of the nodes the caller may
    /// read): deposits by channel and day, the automatic classification
    /// rate, the fields read and corrected, the PES flows by state; now or
    /// at the end of the day `at`. Today, with the failures the index and
    /// the catalog hold now.
    pub fn capture_indicators(
        &self,
        actor: &Actor,
        scope: Scope,
        at: Option<NaiveDate>,
    ) -> Result<(CaptureReport, NaiveDate), ArchiveError> {
        let scope = self.readable_scope(actor, scope)?;
        let (journal, day) = self.with_state(at, |state, _| state.capture.indicators(&scope))?;
        let today = self.clock.now().date_naive();
        let failures = if day == today {
            Some(self.capture_failures(&scope)?)
        } else {
            None
        };
        Ok((CaptureReport { journal, failures }, day))
    }

    /// The failures that stand now within `scope`: extractions by the
    /// extractor that failed, signatures found invalid or not checkable.
    fn capture_failures(&self, scope: &Scope) -> Result<CaptureFailures, ArchiveError> {
        let mut failures = CaptureFailures::default();
        let mut by_extractor: std::collections::BTreeMap<String, u64> = Default::default();
        for (id, extractor) in self.index.extraction_failures()? {
            if let Some(record) = self.catalog.record(&id)?
                && record.tombstone.is_none()
                && scope.keeps_place(&record.node, record.service.as_deref())
            {
                *by_extractor.entry(extractor).or_default() += 1;
            }
        }
        failures.extraction = by_extractor.into_iter().collect();
        for (verdict, count) in [
            ("invalide", &mut failures.signatures_invalid),
            ("non vérifiée", &mut failures.signatures_unchecked),
        ] {
            let wanted = crate::domain::record::comparable(verdict);
            for id in self.catalog.records_with_field("signature", &wanted)? {
                if let Some(record) = self.catalog.record(&id)?
                    && record.tombstone.is_none()
                    && scope.keeps_place(&record.node, record.service.as_deref())
                {
                    *count += 1;
                }
            }
        }
        Ok(failures)
    }

    /// The archive's health within `scope` (of the nodes the caller may
    /// read): departures, holds, fixity runs and damage by month, fixity
    /// coverage; now or at the end of the day `at`. Today, with what only
    /// the present says: records due for disposal (overdue, and by month
    /// for the year to come), records held, the copies' and the follower's
    /// lag.
    pub fn health_indicators(
        &self,
        actor: &Actor,
        scope: Scope,
        at: Option<NaiveDate>,
    ) -> Result<(HealthReport, NaiveDate), ArchiveError> {
        let scope = self.readable_scope(actor, scope)?;
        let (journal, day) = self.with_state(at, |state, _| state.health.indicators(&scope))?;
        let today = self.clock.now().date_naive();
        let now = if day == today {
            Some(self.health_now(actor, &scope, today)?)
        } else {
            None
        };
        Ok((HealthReport { journal, now }, day))
    }

    fn health_now(&self, actor: &Actor, scope: &Scope, today: NaiveDate) -> Result<HealthNow, ArchiveError> {
        let horizon = today.checked_add_months(chrono::Months::new(12)).unwrap_or(today);
        let mut now = HealthNow::default();
        let mut by_month: std::collections::BTreeMap<String, u64> = Default::default();
        let mut overdue = 0;
        let mut tally = |due: NaiveDate, count: u64| {
            if due <= today {
                overdue += count;
            } else {
                *by_month.entry(month_of(due)).or_default() += count;
            }
        };
        let in_scope = |node: &NodeCode| scope.nodes.as_ref().is_none_or(|nodes| nodes.contains(node));
        // Without a service, counted from the due index's counts; with
        // one, each record's service is read.
        let mut live = Vec::new();
        let held_anything = self.catalog.holds()?.iter().any(crate::domain::hold::Hold::is_active);
        if scope.service.is_none() {
            for (node, due, count) in self.catalog.due_counts(horizon)? {
                if in_scope(&node) {
                    tally(due, count);
                }
            }
        }
        // The records due are listed when a hold may keep some of them, or
        // when each one's service is to be read.
        if held_anything || scope.service.is_some() {
            let until = if scope.service.is_some() { horizon } else { today };
            for entry in self.catalog.due_until(until) {
                let (due, id, entry) = entry?;
                if !in_scope(&entry.node) {
                    continue;
                }
                if scope.service.is_some() {
                    let Some(record) = self.catalog.record(&id)? else {
                        continue;
                    };
                    if record.service != scope.service {
                        continue;
                    }
                    tally(due, 1);
                }
                if due <= today {
                    live.push((id, entry.node));
                }
            }
        }
        now.overdue = overdue;
        now.due_by_month = by_month.into_iter().collect();
        // Held among those due: what a hold keeps from its disposal.
        if held_anything {
            now.held_due = self.holds_on(&live, super::holds::IndexFreshness::AsIndexed)?.len() as u64;
        }
        if actor.role.allows(Permission::Audit) || actor.role.allows(Permission::ManageRecords) {
            now.copies = self
                .copy_status()
                .into_iter()
                .map(|c| (c.store.clone(), c.lag_events))
                .collect();
            now.follower_lag = self.follow_status().map(|f| f.lag_events);
        }
        Ok(now)
    }

    /// Brings the live ledger at most `most` events nearer the journal's
    /// head: at a million records the first fold reads the whole journal
    /// (half a minute), so the server does it in the background from its
    /// start rather than in the first dashboard or `/metrics` request.
    /// Answers how many events it folded.
    pub fn follow_indicators(&self, most: u64) -> Result<u64, ArchiveError> {
        let mut state = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let before = state.through;
        self.fold_ledger(&mut state, None, Some(most))?;
        Ok(state.through - before)
    }

    /// `scope` narrowed to the nodes the caller may read.
    fn readable_scope(&self, actor: &Actor, scope: Scope) -> Result<Scope, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter les indicateurs")?;
        let plan = self.plan_in_force()?;
        let mut scope = scope;
        scope.nodes = Some(readable_within(&plan.plan, actor, scope.nodes.as_deref()));
        Ok(scope)
    }

    /// Runs `f` on the ledger as the journal says now (caught up first), or
    /// as it said at the end of the day `at` (folded afresh); with the day.
    fn with_ledger<R>(
        &self,
        at: Option<NaiveDate>,
        f: impl FnOnce(&PaymentLedger, NaiveDate) -> R,
    ) -> Result<(R, NaiveDate), ArchiveError> {
        self.with_state(at, |state, day| f(&state.ledger, day))
    }

    /// Runs `f` on the folded state as the journal says now, or as it said
    /// at the end of the day `at`; with the day.
    fn with_state<R>(
        &self,
        at: Option<NaiveDate>,
        f: impl FnOnce(&LedgerState, NaiveDate) -> R,
    ) -> Result<(R, NaiveDate), ArchiveError> {
        let today = self.clock.now().date_naive();
        match at {
            Some(day) if day < today => {
                let mut state = LedgerState::default();
                self.fold_ledger(&mut state, Some(day), None)?;
                Ok((f(&state, day), day))
            }
            _ => {
                let mut state = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
                self.fold_ledger(&mut state, None, None)?;
                Ok((f(&state, today), today))
            }
        }
    }

    /// Brings a ledger up to the journal's head, or up to the last event of
    /// the day `until`; `most` events at most when given.
    fn fold_ledger(
        &self,
        state: &mut LedgerState,
        until: Option<NaiveDate>,
        most: Option<u64>,
    ) -> Result<(), ArchiveError> {
        let (head, _) = self.journal.head();
        let head = most.map_or(head, |most| head.min(state.through.saturating_add(most)));
        if state.through == 0 {
            state.capture = CaptureLedger::new(
                self.options
                    .flows
                    .pes
                    .part(crate::domain::pes::PartKind::Flow)
                    .map(|m| (m.node.clone(), m.document_type.clone())),
            );
        }
        if state.through >= head {
            return Ok(());
        }
        for event in self.journal.read_from(state.through + 1)? {
            let event = event?;
            if event.seq > head || until.is_some_and(|day| event.time.date_naive() > day) {
                break;
            }
            match event.body() {
                Ok(EventBody::PlanPublished { number, .. }) => {
                    let plan = self.plan_number(&mut state.plans, number)?;
                    state.ledger.publish(&plan.circuits, &plan.late_payment_rates);
                }
                Ok(body) => {
                    state.ledger.apply(&body);
                    // Before the stock: a record leaving is counted where it
                    // stood.
                    let stock = &state.stock;
                    state.capture.apply(&body, event.time, |id| stock.place(id));
                    state.health.apply(&body, event.time, |id| stock.place(id));
                    state.stock.apply(&body, event.time);
                }
                Err(_) => {}
            }
            state.through = event.seq;
        }
        Ok(())
    }

    /// A published plan by number, read once per fold.
    fn plan_number(&self, cache: &mut HashMap<u32, Arc<Plan>>, number: u32) -> Result<Arc<Plan>, ArchiveError> {
        if let Some(plan) = cache.get(&number) {
            return Ok(Arc::clone(plan));
        }
        let entry = self
            .catalog
            .plan_versions()?
            .into_iter()
            .find(|e| e.number == number)
            .ok_or(ArchiveError::PlanVersionNotFound(number))?;
        let plan = Arc::new(super::plan::read_version(self.blobs.as_ref(), &entry)?.plan);
        cache.insert(number, Arc::clone(&plan));
        Ok(plan)
    }
}

/// The nodes `actor` may read, within `nodes` (each with its subtree) when
/// given.
fn readable_within(plan: &Plan, actor: &Actor, nodes: Option<&[NodeCode]>) -> Vec<NodeCode> {
    plan.readable_nodes(actor.role.as_str())
        .into_iter()
        .filter(|code| nodes.is_none_or(|wanted| plan.lineage(code).iter().any(|n| wanted.contains(&n.code))))
        .collect()
}
