//! Retention: when a record's *durée d'utilité administrative* starts, when
//! it ends, and what then happens to the record. Pure: the plan, the
//! record's facts and the date come in, the computation comes out.

use super::plan::{FinalAction, Plan, RetentionDuration, RetentionRule, RetentionStart};
use super::record::{DueMark, NodeCode};
use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};
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
    Some(NodeRule::of(rule, from).retention(facts))
}

/// The rule that applies to a node's records, inheritance resolved: what
/// a node's due dates are reckoned with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRule {
    /// The rule's id.
    pub rule: String,
    /// The node it comes from (the node itself, or an ancestor).
    pub from: NodeCode,
    /// The DUA.
    pub duration: RetentionDuration,
    /// What starts it.
    pub start: RetentionStart,
    /// What happens at its end.
    pub final_action: FinalAction,
    /// The duration awaits the archives authority's confirmation.
    pub to_confirm: bool,
}

impl NodeRule {
    fn of(rule: &RetentionRule, from: &NodeCode) -> Self {
        NodeRule {
            rule: rule.id.clone(),
            from: from.clone(),
            duration: rule.duration,
            start: rule.start.clone(),
            final_action: rule.final_action,
            to_confirm: rule.to_confirm,
        }
    }

    /// When a record with these facts starts its retention under this
    /// rule, if it has.
    pub fn start_date(&self, facts: RecordFacts<'_>) -> Option<NaiveDate> {
        match &self.start {
            RetentionStart::Date => Some(facts.date),
            RetentionStart::Closing => facts.events.get("closing").copied(),
            RetentionStart::Event(name) => facts.events.get(name).copied(),
            RetentionStart::Field(name) => facts.fields.get(name).and_then(|v| as_start_date(v)),
        }
    }

    /// What happens at the end to a record that has had `decision`.
    pub fn final_action_for(&self, decision: Option<FinalAction>) -> FinalAction {
        match (self.final_action, decision) {
            (FinalAction::Review, Some(decision)) => decision,
            (action, _) => action,
        }
    }

    /// A record's retention under this rule.
    pub fn retention(&self, facts: RecordFacts<'_>) -> Retention {
        let start_date = self.start_date(facts);
        Retention {
            rule: self.rule.clone(),
            inherited_from: self.from.clone(),
            duration: self.duration,
            start: self.start.clone(),
            start_date,
            due: start_date.and_then(|s| end_of(s, self.duration)),
            final_action: self.final_action_for(facts.decision),
            decided: self.final_action == FinalAction::Review && facts.decision.is_some(),
            to_confirm: self.to_confirm,
        }
    }
}

/// A plan's retention rules, node by node, inheritance resolved. A catalog
/// keeps it to reckon each record's due date when the record is read, and
/// indexes records by the date their retention starts: a rule whose
/// duration or final action changes then rewrites nothing, however many
/// records it governs (at a million records, rewriting the due dates of a
/// node's tens of thousands took seconds).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTable {
    nodes: BTreeMap<NodeCode, NodeRule>,
}

impl RuleTable {
    /// The rules of every node of `plan`.
    pub fn of(plan: &Plan) -> Self {
        RuleTable {
            nodes: plan
                .nodes
                .iter()
                .filter_map(|node| {
                    let (rule, from) = plan.rule_for(&node.code)?;
                    Some((node.code.clone(), NodeRule::of(rule, from)))
                })
                .collect(),
        }
    }

    /// The rule of a node (none: no rule, or not in the plan).
    pub fn rule(&self, node: &NodeCode) -> Option<&NodeRule> {
        self.nodes.get(node)
    }

    /// The nodes whose rule has an end, with it: those whose records can
    /// fall due.
    pub fn ending(&self) -> impl Iterator<Item = (&NodeCode, &NodeRule)> {
        self.nodes
            .iter()
            .filter(|(_, rule)| rule.duration != RetentionDuration::Permanent)
    }

    /// A record's due mark: when its retention ends, under which rule, and
    /// what then happens (none: no rule, a permanent one, or a start not
    /// yet known).
    pub fn due_mark(&self, facts: RecordFacts<'_>) -> Option<DueMark> {
        let rule = self.rule(facts.node)?;
        let date = end_of(rule.start_date(facts)?, rule.duration)?;
        Some(DueMark {
            date,
            rule: rule.rule.clone(),
            final_action: rule.final_action_for(facts.decision),
        })
    }

    /// The date a record is indexed under: when its retention starts, for
    /// a record whose rule has an end (none otherwise: it never falls due).
    pub fn indexed_start(&self, facts: RecordFacts<'_>) -> Option<NaiveDate> {
        let rule = self.rule(facts.node)?;
        if rule.duration == RetentionDuration::Permanent {
            return None;
        }
        rule.start_date(facts)
    }

    /// A record's due mark as it stands: none once destroyed or
    /// transferred.
    pub fn record_due(&self, record: &super::record::Record) -> Option<DueMark> {
        if record.tombstone.is_some() {
            return None;
        }
        self.due_mark(RecordFacts::of(record))
    }

    /// The start a record is indexed under as it stands: none once
    /// destroyed or transferred.
    pub fn record_start(&self, record: &super::record::Record) -> Option<NaiveDate> {
        if record.tombstone.is_some() {
            return None;
        }
        self.indexed_start(RecordFacts::of(record))
    }

    /// The nodes whose records must be indexed anew when `self` gives way
    /// to `new`: their start changes, or their rule gains or loses an end,
    /// or they gain or lose a rule.
    pub fn reindexed(&self, new: &RuleTable) -> Vec<NodeCode> {
        // Where a node's records are indexed: by the start of a rule that
        // has an end; nowhere otherwise.
        let place = |table: &RuleTable, node: &NodeCode| {
            table
                .rule(node)
                .filter(|rule| rule.duration != RetentionDuration::Permanent)
                .map(|rule| rule.start.clone())
        };
        self.nodes
            .keys()
            .chain(new.nodes.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|node| place(self, node) != place(new, node))
            .cloned()
            .collect()
    }
}

impl FromIterator<(NodeCode, NodeRule)> for RuleTable {
    /// A table of these rules (a plan makes one with [`RuleTable::of`]).
    fn from_iter<I: IntoIterator<Item = (NodeCode, NodeRule)>>(rules: I) -> Self {
        RuleTable {
            nodes: rules.into_iter().collect(),
        }
    }
}

/// The latest start date whose end, after `duration`, falls on or before
/// `until` (none: a permanent duration, or no such date in the calendar).
/// Ends move forward with starts (several starts may share an end, as 29,
/// 30 and 31 January plus a month all end on 28 February), so the records
/// due by `until` are those started on or before this date.
pub fn latest_start_due_by(duration: RetentionDuration, until: NaiveDate) -> Option<NaiveDate> {
    let RetentionDuration::Period { years, months, days } = duration else {
        return None;
    };
    let ends_by = |start: NaiveDate| end_of(start, duration).is_some_and(|end| end <= until);
    // A first guess, a few days off at most (month lengths), then walked.
    let mut guess = until
        .checked_sub_days(Days::new(u64::from(days)))
        .and_then(|d| d.checked_sub_months(Months::new(years.checked_mul(12)?.checked_add(months)?)))
        .unwrap_or(NaiveDate::MIN);
    while !ends_by(guess) {
        guess = guess.pred_opt()?;
    }
    while let Some(next) = guess.succ_opt().filter(|next| ends_by(*next)) {
        guess = next;
    }
    Some(guess)
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

    fn plan_of(
        rules: &[(&str, RetentionDuration, RetentionStart, FinalAction)],
        nodes: &[(&str, Option<&str>, Option<&str>)],
    ) -> Plan {
        use crate::domain::plan::{PlanHeader, PlanNode};
        let code = |c: &str| NodeCode::parse(c).unwrap();
        Plan {
            header: PlanHeader::plain(),
            rules: rules
                .iter()
                .map(|(id, duration, start, final_action)| {
                    (
                        id.to_string(),
                        RetentionRule {
                            id: id.to_string(),
                            duration: *duration,
                            start: start.clone(),
                            final_action: *final_action,
                            legal_reference: "x".into(),
                            to_confirm: false,
                        },
                    )
                })
                .collect(),
            nodes: nodes
                .iter()
                .map(|(c, parent, rule)| PlanNode::plain(code(c), parent.map(code), *rule))
                .collect(),
            classify: Vec::new(),
            synonyms: Vec::new(),
            invoice_templates: Vec::new(),
            circuits: Vec::new(),
            late_payment_rates: Vec::new(),
        }
    }

    #[test]
    fn the_rule_table_reckons_as_the_plan_and_reindexes_only_what_moves() {
        let node = |c: &str| NodeCode::parse(c).unwrap();
        let start_field = RetentionStart::Field("fin".into());
        let plan = |fac_years: u32, fac_start: RetentionStart, rh: RetentionDuration| {
            plan_of(
                &[
                    ("FAC", period(fac_years, 0, 0), fac_start, FinalAction::Destroy),
                    ("RH", rh, RetentionStart::Date, FinalAction::Review),
                ],
                &[
                    ("FIN", None, Some("FAC")),
                    ("FIN-FAC", Some("FIN"), None),
                    ("RH", None, Some("RH")),
                    ("ADM", None, None),
                ],
            )
        };
        let ten = plan(10, RetentionStart::Date, period(5, 0, 0));
        let table = RuleTable::of(&ten);
        let fields = BTreeMap::from([("fin".to_owned(), "2026-06-30".to_owned())]);
        let events = BTreeMap::new();
        for code in ["FIN", "FIN-FAC", "RH", "ADM", "AILLEURS"] {
            for decision in [None, Some(FinalAction::Keep)] {
                let code = node(code);
                let facts = RecordFacts {
                    node: &code,
                    date: d("2024-02-29"),
                    fields: &fields,
                    events: &events,
                    decision,
                };
                let computed = compute(&ten, facts).and_then(|r| {
                    r.due.map(|date| DueMark {
                        date,
                        rule: r.rule,
                        final_action: r.final_action,
                    })
                });
                assert_eq!(table.due_mark(facts), computed, "{code}");
                assert_eq!(
                    table.indexed_start(facts),
                    computed.map(|_| d("2024-02-29")),
                    "{code}: indexed by its start when it can fall due"
                );
            }
        }
        assert_eq!(
            table.ending().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["FIN", "FIN-FAC", "RH"]
        );
        // A longer duration or another final action moves nothing.
        let longer = plan(12, RetentionStart::Date, period(7, 0, 0));
        assert!(table.reindexed(&RuleTable::of(&longer)).is_empty());
        // Another start moves the nodes of that rule; a permanent rule
        // moves its node out of the index.
        let by_field = plan(10, start_field, period(5, 0, 0));
        assert_eq!(
            table.reindexed(&RuleTable::of(&by_field)),
            [node("FIN"), node("FIN-FAC")]
        );
        let kept = plan(10, RetentionStart::Date, RetentionDuration::Permanent);
        assert_eq!(table.reindexed(&RuleTable::of(&kept)), [node("RH")]);
        assert_eq!(
            RuleTable::default().reindexed(&table),
            [node("FIN"), node("FIN-FAC"), node("RH")]
        );
        assert!(
            RuleTable::default()
                .reindexed(&RuleTable::of(&plan_of(&[], &[("ADM", None, None)])))
                .is_empty()
        );
    }

    #[test]
    fn the_latest_start_due_by_a_day_reads_month_ends() {
        assert_eq!(
            latest_start_due_by(period(0, 1, 0), d("2025-02-28")),
            Some(d("2025-01-31"))
        );
        assert_eq!(
            latest_start_due_by(period(0, 1, 0), d("2025-02-27")),
            Some(d("2025-01-27"))
        );
        assert_eq!(
            latest_start_due_by(period(1, 0, 0), d("2025-02-28")),
            Some(d("2024-02-29"))
        );
        assert_eq!(latest_start_due_by(RetentionDuration::Permanent, d("2025-02-28")), None);
        assert_eq!(latest_start_due_by(period(u32::MAX, 0, 0), d("2025-02-28")), None);
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

        #[test]
        fn a_record_is_due_by_a_day_exactly_when_it_started_by_the_latest_start(
            start_days in 0i64..80_000,
            until_days in 0i64..80_000,
            years in 0u32..60,
            months in 0u32..30,
            days in 0u32..400,
        ) {
            let origin = d("1900-01-01");
            let (start, until) = (origin + chrono::Duration::days(start_days), origin + chrono::Duration::days(until_days));
            let duration = period(years, months, days);
            let due_by = end_of(start, duration).is_some_and(|end| end <= until);
            let latest = latest_start_due_by(duration, until);
            prop_assert_eq!(due_by, latest.is_some_and(|latest| start <= latest), "latest {:?}", latest);
        }
    }
}
