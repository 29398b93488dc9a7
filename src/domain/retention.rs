//! Retention: when a record's *durée d'utilité administrative* starts, when
//! it ends, and what then happens to the record. Pure: the plan, the
//! record's facts and the date come in, the computation comes out.

use super::plan::{FinalAction, Plan, RetentionDuration, RetentionStart};
use super::record::NodeCode;
use chrono::{Days, Months, NaiveDate};
use std::collections::BTreeMap;

/// The end of a period that starts on `start`: years and months first, in
/// calendar arithmetic (29 February plus one year is 28 February; a month
/// end stays within its month), then days. `None` for a permanent rule, or
/// past the calendar's end.
pub fn end_of(start: NaiveDate, duration: RetentionDuration) -> Option<NaiveDate> {
    match duration {
        RetentionDuration::Permanent => None,
        RetentionDuration::Period { years, months, days } => start
            .checked_add_months(Months::new(years.checked_mul(12)?.checked_add(months)?))?
            .checked_add_days(Days::new(u64::from(days))),
    }
}

/// What is known of a record that retention depends on.
#[derive(Debug, Clone, Copy)]
pub struct RecordFacts<'a> {
    /// Its node.
    pub node: &'a NodeCode,
    /// Its own date.
    pub date: NaiveDate,
    /// Its fields (dates as `YYYY-MM-DD`).
    pub fields: &'a BTreeMap<String, String>,
    /// The start events recorded for it (`closing`, `contract_end`, ...).
    pub events: &'a BTreeMap<String, NaiveDate>,
    /// An archivist's decision on a record whose rule says `review`.
    pub decision: Option<FinalAction>,
}

impl<'a> RecordFacts<'a> {
    /// The facts of a record as the catalog holds it.
    pub fn of(record: &'a super::record::Record) -> Self {
        RecordFacts {
            node: &record.node,
            date: record.date,
            fields: &record.fields,
            events: &record.events,
            decision: record.review.as_ref().map(|d| d.decision),
        }
    }
}

/// Where a record stands in its retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionStatus {
    /// Kept for ever: no due date.
    Permanent,
    /// The start has not happened yet (an event not yet recorded, a date
    /// field left empty): never due until it does.
    Open,
    /// Within its DUA.
    Running,
    /// Its DUA has ended: its final action applies.
    Due,
}

impl RetentionStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            RetentionStatus::Permanent => "permanent",
            RetentionStatus::Open => "open",
            RetentionStatus::Running => "running",
            RetentionStatus::Due => "due",
        }
    }
}

/// The computation of a record's retention, with everything that explains
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// The rule applied.
    pub rule: String,
    /// The node the rule comes from (the record's own, or an ancestor).
    pub inherited_from: NodeCode,
    /// The DUA.
    pub duration: RetentionDuration,
    /// What starts it.
    pub start: RetentionStart,
    /// When it started, if it has.
    pub start_date: Option<NaiveDate>,
    /// When it ends, if it can.
    pub due: Option<NaiveDate>,
    /// What happens then: the rule's final action, or, for a rule that
    /// says `review`, the archivist's decision once taken.
    pub final_action: FinalAction,
    /// The rule says `review` and an archivist decided.
    pub decided: bool,
    /// The rule's duration awaits the archives authority's confirmation.
    pub to_confirm: bool,
}

impl Retention {
    /// Where the record stands on `today`.
    pub fn status(&self, today: NaiveDate) -> RetentionStatus {
        if self.duration == RetentionDuration::Permanent {
            return RetentionStatus::Permanent;
        }
        match self.due {
            None => RetentionStatus::Open,
            Some(due) if due <= today => RetentionStatus::Due,
            Some(_) => RetentionStatus::Running,
        }
    }
}

/// A field's value read as the date a rule starts on (`YYYY-MM-DD`,
/// spaces around allowed); `None` when it is not one.
pub fn as_start_date(value: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").ok()
}

/// A record's retention under `plan`; `None` when no rule applies to its
/// node (or the node is not in the plan).
pub fn compute(plan: &Plan, facts: RecordFacts<'_>) -> Option<Retention> {
    let (rule, from) = plan.rule_for(facts.node)?;
    let start_date = match &rule.start {
        RetentionStart::Date => Some(facts.date),
        RetentionStart::Closing => facts.events.get("closing").copied(),
        RetentionStart::Event(name) => facts.events.get(name).copied(),
        RetentionStart::Field(name) => facts.fields.get(name).and_then(|v| as_start_date(v)),
    };
    Some(Retention {
        rule: rule.id.clone(),
        inherited_from: from.clone(),
        duration: rule.duration,
        start: rule.start.clone(),
        start_date,
        due: start_date.and_then(|s| end_of(s, rule.duration)),
        final_action: match (rule.final_action, facts.decision) {
            (FinalAction::Review, Some(decision)) => decision,
            (action, _) => action,
        },
        decided: rule.final_action == FinalAction::Review && facts.decision.is_some(),
        to_confirm: rule.to_confirm,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use proptest::prelude::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn period(years: u32, months: u32, days: u32) -> RetentionDuration {
        RetentionDuration::Period { years, months, days }
    }

    #[test]
    fn calendar_arithmetic_clamps_to_month_ends() {
        assert_eq!(end_of(d("2024-02-29"), period(1, 0, 0)), Some(d("2025-02-28")));
        assert_eq!(end_of(d("2024-02-29"), period(4, 0, 0)), Some(d("2028-02-29")));
        assert_eq!(end_of(d("2025-01-31"), period(0, 1, 0)), Some(d("2025-02-28")));
        assert_eq!(end_of(d("2025-08-31"), period(0, 6, 0)), Some(d("2026-02-28")));
        assert_eq!(end_of(d("2025-12-31"), period(0, 0, 1)), Some(d("2026-01-01")));
        assert_eq!(end_of(d("2025-01-01"), RetentionDuration::Permanent), None);
    }

    /// A plain reference: count months on a (year, month) pair, clamp the
    /// day to the month's length, then walk the days one at a time.
    fn reference_end(start: NaiveDate, years: u32, months: u32, days: u32) -> NaiveDate {
        let total = start.month0() + months + 12 * years;
        let year = start.year() + (total / 12) as i32;
        let month = total % 12 + 1;
        let mut day = start.day();
        let mut end = NaiveDate::from_ymd_opt(year, month, day);
        while end.is_none() {
            day -= 1;
            end = NaiveDate::from_ymd_opt(year, month, day);
        }
        let mut end = end.unwrap();
        for _ in 0..days {
            end = end.succ_opt().unwrap();
        }
        end
    }

    proptest! {
        #[test]
        fn due_dates_match_a_plain_reference(
            days_from_epoch in 0i64..80_000,
            years in 0u32..120,
            months in 0u32..36,
            days in 0u32..400,
        ) {
            let start = d("1900-01-01") + chrono::Duration::days(days_from_epoch);
            prop_assert_eq!(
                end_of(start, period(years, months, days)),
                Some(reference_end(start, years, months, days))
            );
        }
    }
}
