//! Indicators of the processing circuits, computed from the journal's
//! events alone, so that they can be computed again for any past day: the
//! ledger follows records into their circuits and through their moves, and
//! keeps each payment with its clock.
//!
//! Definitions (the interface and the README say the same):
//! - **délai global de paiement** of an invoice: the calendar days from its
//!   receipt (its circuit's first step) to its payment (the step marked
//!   `paid`), less the days it spent at steps that suspend the clock;
//! - the **ordonnateur's part**: those days at the steps marked
//!   `ordonnateur` (over 20: late), the **accountant's part**: at the steps
//!   marked `comptable` (over 10: late);
//! - **mean** to a tenth of a day; **median** the middle délai (the mean of
//!   the two middle ones for an even count); **90th percentile** the délai
//!   at rank ⌈0.9 n⌉ in increasing order (nearest rank);
//! - **share over the delay**: payments whose délai exceeds the circuit's
//!   `total_days`, over all payments, in percent to a tenth;
//! - **interest**: for each late payment, amount × (ECB rate in force on the
//!   first day of the half-year the interest starts in + 8 points) × days
//!   over / 365, rounded to the cent; the **indemnity**: 40 € per late
//!   payment;
//! - a payment belongs to the month of its date;
//! - **blockages**: records waiting at a step that is not final, by step
//!   and acting service, by days at that step on the day asked: under 10,
//!   10 to 19, 20 to 29, 30 and more.

pub mod capture;
pub mod health;
pub mod interned;

use super::circuit::{Circuit, LateCharge, LateRate, Passage, PaymentClock, cents_of, late_charge, payment_clock};
use super::event::EventBody;
use super::record::{NodeCode, RecordId};
use chrono::{Datelike, NaiveDate};
use interned::{Interner, Place};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A record in a circuit that has not reached its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Its circuit.
    pub circuit: Arc<str>,
    /// Its node and service.
    pub place: Arc<Place>,
    /// Its passages, oldest first.
    pub passages: Vec<Passage>,
}

/// One payment, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// The record paid.
    pub record: RecordId,
    /// Its circuit.
    pub circuit: Arc<str>,
    /// Its node, and its service when paid.
    pub place: Arc<Place>,
    /// Its supplier when paid.
    pub supplier: Option<Arc<str>>,
    /// The day it was received.
    pub received: NaiveDate,
    /// The day it was paid.
    pub paid_on: NaiveDate,
    /// The amount paid, in cents, when the record gave one.
    pub amount_cents: Option<i64>,
    /// Its clock.
    pub clock: PaymentClock,
    /// The circuit's total delay.
    pub total_days: Option<u32>,
    /// What its lateness owes (nothing when on time or the circuit owes no
    /// interest).
    pub charge: LateCharge,
}

impl Payment {
    /// Its délai global de paiement, in days.
    pub fn days(&self) -> i64 {
        self.clock.running
    }

    /// Whether it was paid past the circuit's total delay.
    pub fn late(&self) -> bool {
        self.total_days
            .is_some_and(|total| self.clock.running > i64::from(total))
    }
}

/// The circuits' state, as a fold of journal events.
#[derive(Debug, Clone, Default)]
pub struct PaymentLedger {
    circuits: BTreeMap<String, Circuit>,
    rates: Vec<LateRate>,
    open: HashMap<RecordId, Open>,
    payments: Vec<Payment>,
    ended_unpaid: u64,
    moves: u64,
    /// Circuits' and suppliers' names and places, each kept once however
    /// many payments share it.
    names: Interner<str>,
    places: Interner<Place>,
}

impl PaymentLedger {
    /// The circuits and rates of a plan just published: moves are read
    /// with them from now on.
    pub fn publish(&mut self, circuits: &[Circuit], rates: &[LateRate]) {
        self.circuits = circuits.iter().map(|c| (c.code.clone(), c.clone())).collect();
        self.rates = rates.to_vec();
    }

    /// Applies one event (the others are ignored).
    pub fn apply(&mut self, body: &EventBody) {
        match body {
            EventBody::RecordIngested {
                record,
                node,
                service,
                circuit: Some(entry),
                ..
            } => {
                let open = Open {
                    circuit: self.names.shared(&entry.circuit),
                    place: self.places.shared(&Place::new(node.clone(), service.clone())),
                    passages: vec![Passage {
                        step: entry.step.clone(),
                        from: entry.date,
                    }],
                };
                self.open.insert(*record, open);
            }
            // A record reclassified or given another service while it waits
            // is counted where it now stands.
            EventBody::RecordUpdated { record, now, .. } | EventBody::RecordVerified { record, now, .. } => {
                if let Some(open) = self.open.get_mut(record) {
                    open.place = self.places.shared(&Place::new(now.node.clone(), now.service.clone()));
                }
            }
            EventBody::RecordMoved {
                record,
                to,
                date,
                closed,
                facts,
                ..
            } => {
                self.moves += 1;
                let Some(open) = self.open.get_mut(record) else {
                    return;
                };
                open.passages.push(Passage {
                    step: to.clone(),
                    from: *date,
                });
                if facts.service.is_some() && open.place.service != facts.service {
                    open.place = self
                        .places
                        .shared(&Place::new(open.place.node.clone(), facts.service.clone()));
                }
                let circuit = self.circuits.get(&*open.circuit);
                let paid = circuit.and_then(|c| c.step(to)).is_some_and(|s| s.paid);
                if !paid && !closed {
                    return;
                }
                let Some(open) = self.open.remove(record) else {
                    return;
                };
                let Some(circuit) = circuit.filter(|_| paid) else {
                    self.ended_unpaid += 1;
                    return;
                };
                let clock = payment_clock(circuit, &open.passages, *date);
                let amount_cents = facts.amount.as_deref().and_then(cents_of);
                let charge = match (circuit.late_payment, circuit.total_days, clock.expired_on, amount_cents) {
                    (true, Some(total), Some(expired), Some(amount)) => {
                        late_charge(&self.rates, amount, clock.days_over(total), expired)
                    }
                    _ => LateCharge::default(),
                };
                let supplier = facts.supplier.as_deref().map(|s| self.names.shared(s));
                self.payments.push(Payment {
                    record: *record,
                    circuit: open.circuit,
                    place: open.place,
                    supplier,
                    received: open.passages.first().map_or(*date, |p| p.from),
                    paid_on: *date,
                    amount_cents,
                    clock,
                    total_days: circuit.total_days,
                    charge,
                });
            }
            _ => {}
        }
    }

    /// Every payment, in the order they were journaled.
    pub fn payments(&self) -> &[Payment] {
        &self.payments
    }

    /// The records still in their circuits.
    pub fn open(&self) -> impl Iterator<Item = (&RecordId, &Open)> {
        self.open.iter()
    }

    /// The circuits in force.
    pub fn circuit(&self, code: &str) -> Option<&Circuit> {
        self.circuits.get(code)
    }

    /// Moves applied.
    pub fn moves(&self) -> u64 {
        self.moves
    }

    /// Records whose circuit ended without a payment (rejected).
    pub fn ended_unpaid(&self) -> u64 {
        self.ended_unpaid
    }
}

/// The payment delays of a set of payments.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DelayStats {
    /// Payments.
    pub count: u64,
    /// Mean délai, to a tenth of a day.
    pub mean_days: f64,
    /// Median délai (half-days when the count is even).
    pub median_days: f64,
    /// 90th percentile (nearest rank).
    pub p90_days: i64,
    /// The longest délai.
    pub max_days: i64,
    /// Payments over the circuit's total delay.
    pub late: u64,
    /// Their share, in percent to a tenth.
    pub late_share: f64,
    /// Payments whose ordonnateur's part is over 20 days.
    pub ordonnateur_late: u64,
    /// Payments whose accountant's part is over 10 days.
    pub comptable_late: u64,
    /// Mean ordonnateur's part, to a tenth of a day.
    pub ordonnateur_mean_days: f64,
    /// Mean accountant's part, to a tenth of a day.
    pub comptable_mean_days: f64,
    /// Interest owed, in cents.
    pub interest_cents: i64,
    /// Indemnities owed, in cents.
    pub indemnity_cents: i64,
}

fn tenth(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The statistics of these payments.
pub fn delay_stats<'a>(payments: impl IntoIterator<Item = &'a Payment>) -> DelayStats {
    let mut days = Vec::new();
    let mut stats = DelayStats::default();
    let (mut ordonnateur, mut comptable) = (0i64, 0i64);
    for p in payments {
        days.push(p.days());
        ordonnateur += p.clock.ordonnateur;
        comptable += p.clock.comptable;
        if p.late() {
            stats.late += 1;
        }
        if p.clock.ordonnateur > super::circuit::Part::Ordonnateur.allowed_days() {
            stats.ordonnateur_late += 1;
        }
        if p.clock.comptable > super::circuit::Part::Comptable.allowed_days() {
            stats.comptable_late += 1;
        }
        stats.interest_cents += p.charge.interest_cents;
        if p.charge.days > 0 {
            stats.indemnity_cents += p.charge.indemnity_cents;
        }
    }
    if days.is_empty() {
        return stats;
    }
    days.sort_unstable();
    let n = days.len();
    stats.count = n as u64;
    let total: i64 = days.iter().sum();
    stats.mean_days = tenth(total as f64 / n as f64);
    stats.ordonnateur_mean_days = tenth(ordonnateur as f64 / n as f64);
    stats.comptable_mean_days = tenth(comptable as f64 / n as f64);
    stats.median_days = if n % 2 == 1 {
        days[n / 2] as f64
    } else {
        (days[n / 2 - 1] + days[n / 2]) as f64 / 2.0
    };
    let rank = (n * 9).div_ceil(10).max(1);
    stats.p90_days = days[rank - 1];
    stats.max_days = days[n - 1];
    stats.late_share = tenth(stats.late as f64 * 100.0 / n as f64);
    stats
}

/// Which part of the archive an indicator looks at: a period (days, both
/// included), a service, nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// On or after this day.
    pub from: Option<NaiveDate>,
    /// On or before this day.
    pub to: Option<NaiveDate>,
    /// Of this service.
    pub service: Option<String>,
    /// Of these nodes (the caller resolves subtrees and what may be read);
    /// `None`: every node.
    pub nodes: Option<Vec<NodeCode>>,
}

impl Scope {
    /// Whether it keeps what happened on `day` to a record of `node` and
    /// `service`.
    pub fn keeps(&self, day: NaiveDate, node: &NodeCode, service: Option<&str>) -> bool {
        self.keeps_place(node, service)
            && self.from.is_none_or(|from| day >= from)
            && self.to.is_none_or(|to| day <= to)
    }

    /// Whether it keeps a record of `node` and `service`, whatever the day.
    pub fn keeps_place(&self, node: &NodeCode, service: Option<&str>) -> bool {
        self.service.as_deref().is_none_or(|s| service == Some(s))
            && self.nodes.as_ref().is_none_or(|nodes| nodes.contains(node))
    }
}

/// Which payments an indicator looks at: paid within the scope's period,
/// of its service and nodes, and of a supplier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaymentFilter {
    /// The period (days paid), service and nodes.
    pub scope: Scope,
    /// Of this supplier.
    pub supplier: Option<String>,
}

impl PaymentFilter {
    /// Whether it keeps this payment.
    pub fn keeps(&self, p: &Payment) -> bool {
        self.scope.keeps(p.paid_on, &p.place.node, p.place.service.as_deref())
            && self
                .supplier
                .as_deref()
                .is_none_or(|s| p.supplier.as_deref() == Some(s))
    }
}

/// The payment chain's indicators.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PaymentIndicators {
    /// Every payment kept.
    pub overall: DelayStats,
    /// By month of payment (`2024-03`), in order.
    pub by_month: Vec<(String, DelayStats)>,
    /// By service (none: `None`), by name.
    pub by_service: Vec<(Option<String>, DelayStats)>,
    /// By supplier, by name.
    pub by_supplier: Vec<(Option<String>, DelayStats)>,
}

/// The payment chain's indicators over the payments `filter` keeps.
pub fn payment_indicators(payments: &[Payment], filter: &PaymentFilter) -> PaymentIndicators {
    let kept: Vec<&Payment> = payments.iter().filter(|p| filter.keeps(p)).collect();
    let mut by_month: BTreeMap<String, Vec<&Payment>> = BTreeMap::new();
    let mut by_service: BTreeMap<Option<&str>, Vec<&Payment>> = BTreeMap::new();
    let mut by_supplier: BTreeMap<Option<&str>, Vec<&Payment>> = BTreeMap::new();
    for p in &kept {
        by_month.entry(month_of(p.paid_on)).or_default().push(p);
        by_service.entry(p.place.service.as_deref()).or_default().push(p);
        by_supplier.entry(p.supplier.as_deref()).or_default().push(p);
    }
    let named = |(k, v): (Option<&str>, Vec<&Payment>)| (k.map(str::to_owned), delay_stats(v));
    PaymentIndicators {
        overall: delay_stats(kept.iter().copied()),
        by_month: by_month.into_iter().map(|(k, v)| (k, delay_stats(v))).collect(),
        by_service: by_service.into_iter().map(named).collect(),
        by_supplier: by_supplier.into_iter().map(named).collect(),
    }
}

/// The age buckets of blockages, in days at the step: `[0, 10)`,
/// `[10, 20)`, `[20, 30)`, `[30, ∞)`.
pub const AGE_BUCKETS: [&str; 4] = ["0-10", "10-20", "20-30", "30+"];

/// The bucket of an age in days.
pub fn age_bucket(days: i64) -> usize {
    match days {
        ..10 => 0,
        10..20 => 1,
        20..30 => 2,
        _ => 3,
    }
}

/// Records waiting at one step for one service.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Blockage {
    /// The circuit.
    pub circuit: String,
    /// The step.
    pub step: String,
    /// The service acting at that step (the step's, else the record's).
    pub service: Option<String>,
    /// Records waiting.
    pub count: u64,
    /// How many in each age bucket.
    pub buckets: [u64; 4],
    /// The sum of their days at the step (for the mean).
    pub total_days: i64,
    /// The longest wait.
    pub oldest_days: i64,
    /// How many are past the step's delay.
    pub overdue: u64,
}

impl Blockage {
    /// Their mean wait, to a tenth of a day.
    pub fn mean_days(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            tenth(self.total_days as f64 / self.count as f64)
        }
    }
}

/// What waits where on `today`, by circuit, step and acting service, of the
/// records `keep` keeps; the longest mean wait first.
pub fn blockages(ledger: &PaymentLedger, today: NaiveDate, keep: impl Fn(&RecordId, &Open) -> bool) -> Vec<Blockage> {
    // Grouped under names borrowed from the ledger: a group's names are
    // copied once, not once per record waiting.
    let mut groups: BTreeMap<(&str, &str, Option<&str>), Blockage> = BTreeMap::new();
    for (id, open) in ledger.open() {
        if !keep(id, open) {
            continue;
        }
        let Some(passage) = open.passages.last() else {
            continue;
        };
        let step = ledger.circuit(&open.circuit).and_then(|c| c.step(&passage.step));
        if step.is_some_and(|s| s.is_final()) {
            continue;
        }
        let service = step
            .and_then(|s| s.service.as_deref())
            .or(open.place.service.as_deref());
        let days = (today - passage.from).num_days().max(0);
        let group = groups
            .entry((&*open.circuit, passage.step.as_str(), service))
            .or_insert_with(|| Blockage {
                circuit: open.circuit.to_string(),
                step: passage.step.clone(),
                service: service.map(str::to_owned),
                ..Blockage::default()
            });
        group.count += 1;
        group.buckets[age_bucket(days)] += 1;
        group.total_days += days;
        group.oldest_days = group.oldest_days.max(days);
        if step
            .and_then(|s| s.days)
            .is_some_and(|allowed| days > i64::from(allowed))
        {
            group.overdue += 1;
        }
    }
    let mut out: Vec<Blockage> = groups.into_values().collect();
    out.sort_by(|a, b| {
        b.mean_days()
            .total_cmp(&a.mean_days())
            .then_with(|| (&a.circuit, &a.step, &a.service).cmp(&(&b.circuit, &b.step, &b.service)))
    });
    out
}

/// A record the stock counts: where it is filed (a place and a type of the
/// ledger's tables) and what it weighs.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    place: u32,
    kind: Option<u32>,
    year: i32,
    bytes: u64,
}

/// What came in during a month.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MonthIntake {
    /// Records deposited.
    pub records: u64,
    /// Bytes of the versions deposited (first versions and new ones).
    pub bytes: u64,
    /// Records whose node a classification rule chose (no node given).
    pub classified: u64,
    /// Records eliminated (disposals executed).
    pub eliminated: u64,
    /// Records transferred to the archives service (acknowledged).
    pub transferred: u64,
}

/// The archive's stock and intake, as a fold of journal events: the live
/// records by node, service, type and year with their bytes; what came in,
/// left and was classified automatically each month; what each capture
/// channel brought each day.
#[derive(Debug, Clone, Default)]
pub struct StockLedger {
    held: HashMap<RecordId, Held>,
    places: Interner<Place>,
    kinds: Interner<str>,
    months: BTreeMap<String, MonthIntake>,
    channels: BTreeMap<(NaiveDate, String), u64>,
}

/// One line of the stock: its records and bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stock {
    /// Live records.
    pub records: u64,
    /// Their versions' bytes.
    pub bytes: u64,
}

/// The stock, grouped.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StockIndicators {
    /// Every live record.
    pub total: Stock,
    /// By node.
    pub by_node: Vec<(String, Stock)>,
    /// By service (`None`: none said).
    pub by_service: Vec<(Option<String>, Stock)>,
    /// By document type.
    pub by_type: Vec<(Option<String>, Stock)>,
    /// By the year of the record's date.
    pub by_year: Vec<(i32, Stock)>,
    /// Each month's intake and departures (`2024-03`), in order.
    pub months: Vec<(String, MonthIntake)>,
    /// Records each channel brought each day (`api` for the API and the
    /// command line), in order.
    pub channels: Vec<(NaiveDate, String, u64)>,
}

/// The month of a day, as the indicators key it: `2024-03`.
pub fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

impl StockLedger {
    /// Applies one event journaled at `at` (the others are ignored).
    pub fn apply(&mut self, body: &EventBody, at: chrono::DateTime<chrono::Utc>) {
        let day = at.date_naive();
        let month = month_of(day);
        match body {
            EventBody::RecordIngested {
                record,
                node,
                service,
                document_type,
                date,
                version,
                classified_by,
                channel,
                ..
            } => {
                let held = Held {
                    place: self.places.id(&Place::new(node.clone(), service.clone())),
                    kind: document_type.as_deref().map(|kind| self.kinds.id(kind)),
                    year: date.year(),
                    bytes: version.size,
                };
                self.held.insert(*record, held);
                let intake = self.months.entry(month).or_default();
                intake.records += 1;
                intake.bytes += version.size;
                if classified_by.is_some() {
                    intake.classified += 1;
                }
                let channel = channel.clone().unwrap_or_else(|| "api".to_owned());
                *self.channels.entry((day, channel)).or_default() += 1;
            }
            EventBody::VersionAdded { record, version, .. } => {
                if let Some(held) = self.held.get_mut(record) {
                    held.bytes += version.size;
                }
                self.months.entry(month).or_default().bytes += version.size;
            }
            EventBody::RecordUpdated { record, now, .. } | EventBody::RecordVerified { record, now, .. } => {
                if let Some(held) = self.held.get_mut(record) {
                    held.place = self.places.id(&Place::new(now.node.clone(), now.service.clone()));
                    held.kind = now.document_type.as_deref().map(|kind| self.kinds.id(kind));
                    held.year = now.date.year();
                }
            }
            EventBody::DisposalExecuted { outcomes, .. } | EventBody::DisposalDestroyed { outcomes, .. } => {
                let gone = outcomes
                    .iter()
                    .filter(|o| o.skipped.is_none() && self.held.remove(&o.record).is_some())
                    .count() as u64;
                self.months.entry(month).or_default().eliminated += gone;
            }
            EventBody::TransferAcknowledged { outcomes, .. } => {
                let gone = outcomes
                    .iter()
                    .filter(|o| o.skipped.is_none() && self.held.remove(&o.record).is_some())
                    .count() as u64;
                self.months.entry(month).or_default().transferred += gone;
            }
            _ => {}
        }
    }

    /// The node and service a live record has.
    pub fn place(&self, record: &RecordId) -> Option<Arc<Place>> {
        self.held.get(record).and_then(|h| self.places.get(h.place)).cloned()
    }

    /// The stock of the records `keep` keeps (by node and service), and the
    /// intake.
    pub fn indicators(&self, keep: impl Fn(&NodeCode, Option<&str>) -> bool) -> StockIndicators {
        let mut total = Stock::default();
        let mut by_node: BTreeMap<String, Stock> = BTreeMap::new();
        let mut by_service: BTreeMap<Option<String>, Stock> = BTreeMap::new();
        let mut by_type: BTreeMap<Option<String>, Stock> = BTreeMap::new();
        let mut by_year: BTreeMap<i32, Stock> = BTreeMap::new();
        // Summed by place and type first (a few hundred of each), then
        // named: a million records cost no string copy.
        let kept: Vec<bool> = self
            .places
            .iter()
            .map(|(_, place)| keep(&place.node, place.service.as_deref()))
            .collect();
        let mut by_place: HashMap<(u32, Option<u32>, i32), Stock> = HashMap::new();
        for held in self.held.values() {
            if kept.get(held.place as usize).copied().unwrap_or(false) {
                let stock = by_place.entry((held.place, held.kind, held.year)).or_default();
                stock.records += 1;
                stock.bytes += held.bytes;
            }
        }
        for ((place, kind, year), counted) in by_place {
            let Some(place) = self.places.get(place) else {
                continue;
            };
            let kind = kind.and_then(|k| self.kinds.get(k)).map(|k| k.to_string());
            for stock in [
                &mut total,
                by_node.entry(place.node.to_string()).or_default(),
                by_service.entry(place.service.clone()).or_default(),
                by_type.entry(kind).or_default(),
                by_year.entry(year).or_default(),
            ] {
                stock.records += counted.records;
                stock.bytes += counted.bytes;
            }
        }
        StockIndicators {
            total,
            by_node: by_node.into_iter().collect(),
            by_service: by_service.into_iter().collect(),
            by_type: by_type.into_iter().collect(),
            by_year: by_year.into_iter().collect(),
            months: self.months.iter().map(|(m, i)| (m.clone(), i.clone())).collect(),
            channels: self.channels.iter().map(|((d, c), n)| (*d, c.clone(), *n)).collect(),
        }
    }
}

/// What the ledgers' tests share: days, times and record ids from text.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::RecordId;
    use chrono::{DateTime, NaiveDate, Utc};

    /// `2024-03-01` as a day.
    pub fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    /// `2024-03-01` as ten in the morning of that day, UTC.
    pub fn at(text: &str) -> DateTime<Utc> {
        day(text).and_hms_opt(10, 0, 0).expect("a time").and_utc()
    }

    /// The record id numbered `n`.
    pub fn id(n: u128) -> RecordId {
        RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).expect("an id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{CircuitEntry, MoveFacts};

    use fixtures::{day, id};

    fn ledger() -> PaymentLedger {
        let mut ledger = PaymentLedger::default();
        let rates = [LateRate {
            from: day("2024-01-01"),
            ecb_bp: 450,
        }];
        ledger.publish(&[crate::domain::circuit::tests::invoice_circuit()], &rates);
        ledger
    }

    fn entered(ledger: &mut PaymentLedger, n: u128, on: &str) {
        use crate::domain::hash::Sha256;
        ledger.apply(&EventBody::RecordIngested {
            record: id(n),
            reference: crate::domain::record::Reference::from_naming(format!("FIN-FAC-2024-{n:06}")),
            node: NodeCode::parse("FIN-FAC").expect("a node"),
            year: 2024,
            number: n as u64,
            date: day(on),
            service: Some("Voirie".into()),
            document_type: None,
            metadata: Sha256::of(b"m"),
            version: crate::domain::event::VersionFacts {
                number: 1,
                sha256: Sha256::of(b"c"),
                size: 1,
                media_type: "application/pdf".into(),
            },
            counter: None,
            plan_version: None,
            classified_by: None,
            dated: None,
            channel: None,
            links: Vec::new(),
            aliases: Vec::new(),
            imported_from: None,
            to_verify: false,
            circuit: Some(CircuitEntry {
                circuit: "facture".into(),
                step: "recue".into(),
                date: day(on),
            }),
        });
    }

    fn moved(ledger: &mut PaymentLedger, n: u128, from: &str, to: &str, on: &str, amount: Option<&str>) {
        ledger.apply(&EventBody::RecordMoved {
            record: id(n),
            circuit: "facture".into(),
            from: from.into(),
            to: to.into(),
            date: day(on),
            closed: to == "payee" || to == "rejetee",
            comment: None,
            attachment: None,
            facts: MoveFacts {
                service: Some("Voirie".into()),
                supplier: amount.map(|_| "Au Bon Pain".into()),
                amount: amount.map(str::to_owned),
            },
        });
    }

    #[test]
    fn the_issue_s_invoice_is_one_payment_of_37_days() {
        let mut ledger = ledger();
        entered(&mut ledger, 1, "2024-03-01");
        moved(&mut ledger, 1, "recue", "suspendue", "2024-03-10", None);
        moved(&mut ledger, 1, "suspendue", "recue", "2024-03-15", None);
        moved(&mut ledger, 1, "recue", "service_fait", "2024-03-20", None);
        moved(&mut ledger, 1, "service_fait", "mandatee", "2024-04-01", None);
        moved(&mut ledger, 1, "mandatee", "payee", "2024-04-12", Some("1200.00"));
        let [payment] = ledger.payments() else {
            panic!("one payment");
        };
        assert_eq!(payment.days(), 37);
        assert_eq!(payment.received, day("2024-03-01"));
        assert_eq!(payment.charge.days, 7);
        assert_eq!(payment.charge.interest_cents, 288);
        let stats = payment_indicators(ledger.payments(), &PaymentFilter::default());
        assert_eq!(stats.overall.count, 1);
        assert_eq!(stats.overall.late, 1);
        assert_eq!(stats.overall.ordonnateur_late, 1);
        assert_eq!(stats.overall.comptable_late, 1);
        assert_eq!(stats.overall.indemnity_cents, 4_000);
        assert_eq!(stats.by_month[0].0, "2024-04");
        assert_eq!(ledger.open().count(), 0);
    }

    #[test]
    fn percentiles_and_means_are_as_defined() {
        let mut ledger = ledger();
        // Délais of 10, 20, 30, 40: mean 25, median 25, p90 at rank 4 = 40.
        for (n, days) in [(1u128, 10i64), (2, 20), (3, 30), (4, 40)] {
            entered(&mut ledger, n, "2024-01-01");
            let paid = day("2024-01-01") + chrono::Duration::days(days);
            moved(&mut ledger, n, "recue", "service_fait", "2024-01-01", None);
            moved(&mut ledger, n, "service_fait", "mandatee", "2024-01-01", None);
            moved(&mut ledger, n, "mandatee", "payee", &paid.to_string(), Some("100"));
        }
        let stats = delay_stats(ledger.payments());
        assert_eq!((stats.mean_days, stats.median_days, stats.p90_days), (25.0, 25.0, 40));
        assert_eq!((stats.late, stats.late_share), (1, 25.0));
        let march = PaymentFilter {
            scope: Scope {
                from: Some(day("2024-01-25")),
                ..Scope::default()
            },
            ..PaymentFilter::default()
        };
        assert_eq!(payment_indicators(ledger.payments(), &march).overall.count, 2);
    }

    #[test]
    fn a_waiting_record_given_another_service_is_counted_under_it() {
        let mut ledger = ledger();
        entered(&mut ledger, 1, "2024-03-01");
        let facets = |service: &str| crate::domain::event::RecordFacetsChange {
            reference: crate::domain::record::Reference::from_naming("FIN-FAC-2024-000001".into()),
            node: NodeCode::parse("FIN-FAC").expect("a node"),
            date: day("2024-03-01"),
            service: Some(service.into()),
            document_type: None,
            metadata: crate::domain::hash::Sha256::of(b"m"),
        };
        ledger.apply(&EventBody::RecordUpdated {
            record: id(1),
            reason: "mauvais service".into(),
            now: facets("Culture"),
            before: facets("Voirie"),
            counter: None,
            number: None,
        });
        let found = blockages(&ledger, day("2024-03-05"), |_, _| true);
        assert_eq!(found[0].service.as_deref(), Some("Culture"));
    }

    #[test]
    fn blockages_count_what_waits_by_age() {
        let mut ledger = ledger();
        entered(&mut ledger, 1, "2024-03-01");
        entered(&mut ledger, 2, "2024-03-25");
        entered(&mut ledger, 3, "2024-03-01");
        moved(&mut ledger, 3, "recue", "rejetee", "2024-03-02", None);
        let found = blockages(&ledger, day("2024-04-01"), |_, _| true);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].count, 2);
        assert_eq!(found[0].buckets, [1, 0, 0, 1]);
        assert_eq!((found[0].oldest_days, found[0].overdue), (31, 1));
        assert_eq!(ledger.ended_unpaid(), 1);
    }

    #[test]
    fn the_stock_follows_deposits_changes_and_departures() {
        use chrono::TimeZone;
        let at = |d: &str| chrono::Utc.from_utc_datetime(&day(d).and_hms_opt(9, 0, 0).expect("a time"));
        let mut stock = StockLedger::default();
        // Three deposits in March (one classified by a rule and through a
        // watched folder), one eliminated in April.
        let ingest = |n: u128, classified: Option<&str>, channel: Option<&str>| EventBody::RecordIngested {
            record: id(n),
            reference: crate::domain::record::Reference::from_naming(format!("FIN-FAC-2024-{n:06}")),
            node: NodeCode::parse("FIN-FAC").expect("a node"),
            year: 2024,
            number: n as u64,
            date: day("2024-03-01"),
            service: Some("Voirie".into()),
            document_type: Some("facture".into()),
            metadata: crate::domain::hash::Sha256::of(b"m"),
            version: crate::domain::event::VersionFacts {
                number: 1,
                sha256: crate::domain::hash::Sha256::of(b"c"),
                size: 1_000,
                media_type: "application/pdf".into(),
            },
            counter: None,
            plan_version: None,
            classified_by: classified.map(str::to_owned),
            dated: None,
            channel: channel.map(str::to_owned),
            links: Vec::new(),
            aliases: Vec::new(),
            imported_from: None,
            to_verify: false,
            circuit: None,
        };
        stock.apply(&ingest(1, None, None), at("2024-03-02"));
        stock.apply(
            &ingest(2, Some("Factures (texte)"), Some("dossier:scanner")),
            at("2024-03-02"),
        );
        stock.apply(&ingest(3, None, None), at("2024-03-05"));
        stock.apply(
            &EventBody::DisposalExecuted {
                disposal: 9,
                outcomes: vec![crate::domain::disposition::Outcome {
                    record: id(3),
                    reference: crate::domain::record::Reference::from_naming("FIN-FAC-2024-000003".into()),
                    skipped: None,
                    kept_title: None,
                }],
                erased: Vec::new(),
                parts: 0,
            },
            at("2024-04-10"),
        );
        let figures = stock.indicators(|_, _| true);
        assert_eq!(
            figures.total,
            Stock {
                records: 2,
                bytes: 2_000
            }
        );
        assert_eq!(
            figures.by_node,
            vec![(
                "FIN-FAC".to_owned(),
                Stock {
                    records: 2,
                    bytes: 2_000
                }
            )]
        );
        assert_eq!(figures.months[0].0, "2024-03");
        assert_eq!((figures.months[0].1.records, figures.months[0].1.classified), (3, 1));
        assert_eq!(figures.months[1].1.eliminated, 1);
        assert_eq!(
            figures.channels,
            vec![
                (day("2024-03-02"), "api".to_owned(), 1),
                (day("2024-03-02"), "dossier:scanner".to_owned(), 1),
                (day("2024-03-05"), "api".to_owned(), 1)
            ]
        );
        assert_eq!(stock.indicators(|_, _| false).total, Stock::default());
    }
}
