//! The archive's health as the journal tells it, folded from its events
//! (so it can be computed again for any past day): what left the archive
//! each month (eliminated, transferred), the legal holds placed and lifted,
//! the fixity runs and what they covered, the damage found and repaired.
//! What only the present can say (records due now, records held now, the
//! copies' lag) is the archive's to add.
//!
//! Definitions (the interface and the README say the same):
//! - a record **eliminated** or **transferred** counts on the day the
//!   disposal was executed or the transfer acknowledged, under the node and
//!   service it had then;
//! - **fixity coverage**: the blobs the latest complete fixity run
//!   re-hashed, over those plus the contents deposited since it began (not
//!   yet re-hashed by any run), in percent to a tenth;
//! - **damage found**: blobs found damaged (by a fixity run, an audit or a
//!   read), counted on the day found; **open**: found and not repaired.

use super::capture::{Scope, rate};
use super::interned::Place;
use super::month_of;
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::record::RecordId;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What happened in a month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HealthMonth {
    /// Records eliminated.
    pub eliminated: u64,
    /// Records transferred to the archives service.
    pub transferred: u64,
    /// Legal holds placed.
    pub holds_placed: u64,
    /// Legal holds lifted.
    pub holds_lifted: u64,
    /// Fixity runs completed.
    pub fixity_runs: u64,
    /// Blobs they re-hashed.
    pub blobs_checked: u64,
    /// Blobs found damaged.
    pub damage_found: u64,
    /// Blobs repaired.
    pub damage_repaired: u64,
}

/// The latest complete fixity run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FixityRun {
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// Blobs it re-hashed (or found missing).
    pub blobs_checked: u64,
    /// What it found wrong.
    pub findings: u64,
}

/// The health ledger: a fold of journal events.
#[derive(Debug, Clone, Default)]
pub struct HealthLedger {
    /// Records leaving, by (day, node, service): eliminated, transferred.
    departures: BTreeMap<(NaiveDate, Arc<Place>), (u64, u64)>,
    /// Archive-wide events by day.
    days: BTreeMap<NaiveDate, HealthMonth>,
    last_run: Option<FixityRun>,
    deposited_since_run: u64,
    open_damage: BTreeSet<Sha256>,
}

/// The health over a scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealthIndicators {
    /// Each month, in order (`2024-03`).
    pub months: Vec<(String, HealthMonth)>,
    /// The latest complete fixity run.
    pub last_fixity_run: Option<FixityRun>,
    /// Contents deposited since it began.
    pub unchecked_since: u64,
    /// Fixity coverage in percent to a tenth (none before any run).
    pub fixity_coverage: Option<f64>,
    /// Blobs found damaged and not repaired.
    pub open_damage: u64,
}

impl HealthLedger {
    /// Applies one event journaled at `at`; `place` says the node and
    /// service a record has (the stock's, before this event).
    pub fn apply(&mut self, body: &EventBody, at: DateTime<Utc>, place: impl Fn(&RecordId) -> Option<Arc<Place>>) {
        let day = at.date_naive();
        match body {
            EventBody::RecordIngested { .. } | EventBody::VersionAdded { .. } => self.deposited_since_run += 1,
            EventBody::DisposalExecuted { outcomes, .. }
            | EventBody::DisposalDestroyed { outcomes, .. }
            | EventBody::TransferAcknowledged { outcomes, .. } => {
                let transferred = matches!(body, EventBody::TransferAcknowledged { .. });
                for outcome in outcomes.iter().filter(|o| o.skipped.is_none()) {
                    if let Some(place) = place(&outcome.record) {
                        let count = self.departures.entry((day, place)).or_default();
                        if transferred {
                            count.1 += 1;
                        } else {
                            count.0 += 1;
                        }
                    }
                }
            }
            EventBody::HoldPlaced { .. } => self.days.entry(day).or_default().holds_placed += 1,
            EventBody::HoldLifted { .. } => self.days.entry(day).or_default().holds_lifted += 1,
            EventBody::FixityChecked {
                started_at,
                blobs_checked,
                findings,
                ..
            } => {
                let month = self.days.entry(day).or_default();
                month.fixity_runs += 1;
                month.blobs_checked += blobs_checked;
                self.last_run = Some(FixityRun {
                    started_at: *started_at,
                    blobs_checked: *blobs_checked,
                    findings: findings.len() as u64,
                });
                // What was deposited while it ran may not have been seen:
                // counted as not yet re-hashed, so coverage never flatters.
                self.deposited_since_run = 0;
            }
            EventBody::BlobDamaged { blob, .. } => {
                // The same blob found again before its repair counts once.
                let new = self.open_damage.insert(*blob);
                self.days.entry(day).or_default().damage_found += u64::from(new);
            }
            EventBody::BlobRepaired { blob, .. } => {
                let was_open = self.open_damage.remove(blob);
                self.days.entry(day).or_default().damage_repaired += u64::from(was_open);
            }
            _ => {}
        }
    }

    /// The health over `scope`: departures within it; the archive-wide
    /// events (holds, fixity, damage) within its period.
    pub fn indicators(&self, scope: &Scope) -> HealthIndicators {
        let in_period = |day: &NaiveDate| scope.from.is_none_or(|f| *day >= f) && scope.to.is_none_or(|t| *day <= t);
        let mut months: BTreeMap<String, HealthMonth> = BTreeMap::new();
        for ((day, place), (eliminated, transferred)) in &self.departures {
            if scope.keeps(*day, &place.node, place.service.as_deref()) {
                let month = months.entry(month_of(*day)).or_default();
                month.eliminated += eliminated;
                month.transferred += transferred;
            }
        }
        for (day, counts) in self.days.iter().filter(|(day, _)| in_period(day)) {
            let month = months.entry(month_of(*day)).or_default();
            month.holds_placed += counts.holds_placed;
            month.holds_lifted += counts.holds_lifted;
            month.fixity_runs += counts.fixity_runs;
            month.blobs_checked += counts.blobs_checked;
            month.damage_found += counts.damage_found;
            month.damage_repaired += counts.damage_repaired;
        }
        HealthIndicators {
            months: months.into_iter().collect(),
            last_fixity_run: self.last_run,
            unchecked_since: self.deposited_since_run,
            fixity_coverage: self
                .last_run
                .and_then(|run| rate(run.blobs_checked, run.blobs_checked + self.deposited_since_run)),
            open_damage: self.open_damage.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::disposition::Outcome;
    use crate::domain::integrity::{DamageFinder, DamageKind};

    use crate::domain::indicators::fixtures::{at, id};

    fn outcome(n: u128) -> Outcome {
        serde_json::from_value(serde_json::json!({
            "record": id(n).to_string(),
            "reference": format!("FIN-FAC-2024-{n:06}"),
        }))
        .expect("an outcome")
    }

    #[test]
    fn a_known_history_gives_its_departures_runs_and_damage() {
        let mut ledger = HealthLedger::default();
        let place = |id: &RecordId| {
            Some(Arc::new(Place::new(
                crate::domain::record::NodeCode::parse("FIN-FAC").expect("a node"),
                Some(
                    if *id == RecordId::parse("0190a000-0000-7000-8000-000000000001").expect("an id") {
                        "Voirie".to_owned()
                    } else {
                        "Culture".to_owned()
                    },
                ),
            )))
        };
        let blob = Sha256::of(b"x");
        let events = [
            (
                "2024-01-10",
                serde_json::json!({"kind": "disposal.executed", "payload": {
                "disposal": 1, "outcomes": [outcome(1), outcome(2)], "erased": []}}),
            ),
            (
                "2024-02-01",
                serde_json::json!({"kind": "fixity.checked", "payload": {
                "started_at": "2024-02-01T00:00:00Z", "blobs_checked": 9, "bytes_checked": 90,
                "findings": [], "resumed": 0}}),
            ),
            (
                "2024-02-03",
                serde_json::json!({"kind": "blob.damaged", "payload": {
                "blob": blob.to_string(), "problem": serde_json::to_value(DamageKind::Missing).expect("json"),
                "found_by": serde_json::to_value(DamageFinder::Read).expect("json")}}),
            ),
            (
                "2024-02-04",
                serde_json::json!({"kind": "blob.damaged", "payload": {
                "blob": blob.to_string(), "problem": serde_json::to_value(DamageKind::Missing).expect("json"),
                "found_by": serde_json::to_value(DamageFinder::Read).expect("json")}}),
            ),
        ];
        for (day, json) in events {
            let body: EventBody = serde_json::from_value(json).expect("an event");
            ledger.apply(&body, at(day), place);
        }
        let one = ledger.indicators(&Scope::default());
        assert_eq!(one.open_damage, 1);
        assert_eq!(one.fixity_coverage, Some(100.0));
        assert_eq!(one.months[0].1.eliminated, 2);
        assert_eq!(one.months[1].1.damage_found, 1, "the same blob found twice counts once");
        let voirie = ledger.indicators(&Scope {
            service: Some("Voirie".into()),
            ..Scope::default()
        });
        assert_eq!(voirie.months[0].1.eliminated, 1);
        let repaired: EventBody = serde_json::from_value(serde_json::json!({"kind": "blob.repaired", "payload": {
            "blob": blob.to_string(), "source": "deposit"}}))
        .expect("an event");
        ledger.apply(&repaired, at("2024-03-01"), place);
        let two = ledger.indicators(&Scope::default());
        assert_eq!(two.open_damage, 0);
        assert_eq!(two.months[2].1.damage_repaired, 1);
    }
}
