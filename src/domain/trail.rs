//! The trail of who read what: readings of records that hold personal data
//! (the plan says which nodes do), failed sign-ins and refused accesses.
//! The GDPR asks who consulted a person's file; an attack must not flood
//! the journal, so both are throttled here (pure: the caller gives the
//! time and keeps one [`Throttle`] per process).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::record::{RecordId, Reference};

/// What was read of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reading {
    /// Its description (the record's page, `GET /records/{ref}`).
    Detail,
    /// Its content (a version's bytes, a preview).
    Content,
}

impl Reading {
    /// As the trail shows it, in French.
    pub fn label(self) -> &'static str {
        match self {
            Reading::Detail => "fiche",
            Reading::Content => "contenu",
        }
    }
}

/// One reading of a record that holds personal data, as the catalog keeps
/// it from its `record.consulted` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consultation {
    /// The event's seq.
    pub seq: u64,
    /// When.
    pub at: DateTime<Utc>,
    /// Who, as the journal names them (`alice (agent)`, `token:GED`).
    pub actor: String,
    /// Who, as the trail is listed by: the person's user name, or the
    /// actor's name when no person acted.
    pub who: String,
    /// The record.
    pub record: RecordId,
    /// Its reference when read.
    pub reference: Reference,
    /// What was read.
    pub reading: Reading,
    /// The version, for content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u32>,
    /// The address the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

/// Where the page after `page` begins: the seq of its last reading, when
/// it holds `limit` readings (a page not full is the last).
pub fn next_after(page: &[Consultation], limit: usize) -> Option<u64> {
    (page.len() == limit).then(|| page.last().map(|c| c.seq)).flatten()
}

/// Readings of the same record by the same actor within this time are one
/// (a PDF viewer asks for a document in many ranges).
pub const READING_WINDOW_SECS: i64 = 10 * 60;

/// Refusals journaled for one key (an address, an account) within
/// [`REFUSAL_WINDOW_SECS`]; further ones are counted into the next.
pub const REFUSALS_PER_WINDOW: u32 = 3;

/// The window refusals are counted in.
pub const REFUSAL_WINDOW_SECS: i64 = 60;

/// Refusals journaled within a window over every key: past it, an attack
/// from many addresses is counted, not written event by event.
pub const REFUSALS_PER_WINDOW_IN_ALL: u32 = 60;

/// What the throttle says of one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Journal it, with this many like it held back since the last one
    /// journaled for the key.
    Journal {
        /// Occurrences held back before it.
        held_back: u64,
    },
    /// Hold it back: only counted.
    HoldBack,
}

/// Keeps the journal from being flooded: readings once per actor, record
/// and kind within [`READING_WINDOW_SECS`]; refusals at most
/// [`REFUSALS_PER_WINDOW`] per key and [`REFUSALS_PER_WINDOW_IN_ALL`] in all
/// per window, the others counted into the next one journaled.
#[derive(Debug, Default)]
pub struct Throttle {
    readings: HashMap<(String, RecordId, Reading), DateTime<Utc>>,
    refusals: HashMap<String, RefusalCount>,
    window_start: Option<DateTime<Utc>>,
    in_window: u32,
}

#[derive(Debug, Default)]
struct RefusalCount {
    window_start: Option<DateTime<Utc>>,
    in_window: u32,
    held_back: u64,
}

impl Throttle {
    /// Whether a reading is to be journaled (not when the same was
    /// journaled within the window).
    pub fn reading(&mut self, actor: &str, record: RecordId, reading: Reading, now: DateTime<Utc>) -> bool {
        let window = Duration::seconds(READING_WINDOW_SECS);
        // Forget what the window has left behind, so that the map stays
        // as small as the readings of the last minutes.
        if self.readings.len() > 10_000 {
            self.readings.retain(|_, at| now - *at < window);
        }
        let key = (actor.to_owned(), record, reading);
        match self.readings.get(&key) {
            Some(at) if now - *at < window && now >= *at => false,
            _ => {
                self.readings.insert(key, now);
                true
            }
        }
    }

    /// What to do with a refusal (a failed sign-in, a 403) for `key`.
    pub fn refusal(&mut self, key: &str, now: DateTime<Utc>) -> Verdict {
        let window = Duration::seconds(REFUSAL_WINDOW_SECS);
        if self
            .window_start
            .is_none_or(|start| now - start >= window || now < start)
        {
            self.window_start = Some(now);
            self.in_window = 0;
            self.refusals.retain(|_, c| c.held_back > 0);
        }
        let count = self.refusals.entry(key.to_owned()).or_default();
        if count
            .window_start
            .is_none_or(|start| now - start >= window || now < start)
        {
            count.window_start = Some(now);
            count.in_window = 0;
        }
        if count.in_window >= REFUSALS_PER_WINDOW || self.in_window >= REFUSALS_PER_WINDOW_IN_ALL {
            count.held_back += 1;
            return Verdict::HoldBack;
        }
        count.in_window += 1;
        self.in_window += 1;
        Verdict::Journal {
            held_back: std::mem::take(&mut count.held_back),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("a time")
    }

    #[test]
    fn a_reading_is_journaled_once_per_window_per_actor_record_and_kind() {
        let mut throttle = Throttle::default();
        let record = RecordId::new_at(t(0));
        assert!(throttle.reading("alice (agent)", record, Reading::Content, t(0)));
        assert!(!throttle.reading("alice (agent)", record, Reading::Content, t(5)));
        assert!(throttle.reading("alice (agent)", record, Reading::Detail, t(5)));
        assert!(throttle.reading("bob (agent)", record, Reading::Content, t(5)));
        assert!(throttle.reading("alice (agent)", record, Reading::Content, t(READING_WINDOW_SECS)));
    }

    #[test]
    fn refusals_are_journaled_three_a_minute_per_key_the_rest_counted_into_the_next() {
        let mut throttle = Throttle::default();
        let verdicts: Vec<Verdict> = (0..10).map(|i| throttle.refusal("10.0.0.9", t(i))).collect();
        assert_eq!(verdicts[..3], [Verdict::Journal { held_back: 0 }; 3]);
        assert!(verdicts[3..].iter().all(|v| *v == Verdict::HoldBack));
        // Another key is not held back by this one.
        assert_eq!(throttle.refusal("10.0.0.8", t(10)), Verdict::Journal { held_back: 0 });
        // A minute on, the next one says how many were held back.
        assert_eq!(throttle.refusal("10.0.0.9", t(61)), Verdict::Journal { held_back: 7 });
    }

    proptest! {
        #[test]
        fn however_many_addresses_attack_a_window_journals_at_most_its_bound(
            keys in proptest::collection::vec(0u16..5000, 1..2000),
        ) {
            let mut throttle = Throttle::default();
            let journaled = keys
                .iter()
                .enumerate()
                .filter(|(i, k)| {
                    let at = t(*i as i64 / 100);
                    matches!(throttle.refusal(&format!("10.0.{k}"), at), Verdict::Journal { .. })
                })
                .count();
            let windows = (keys.len() as i64 / 100) / REFUSAL_WINDOW_SECS + 1;
            prop_assert!(journaled as i64 <= windows * i64::from(REFUSALS_PER_WINDOW_IN_ALL));
        }
    }
}
