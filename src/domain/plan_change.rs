//! What publishing a plan would change: nodes added, removed and renamed,
//! rules changed, and the records whose due date, final action or node
//! would change, counted per node. Pure: both plans and the records' facts
//! come in.

use super::plan::{FinalAction, Plan};
use super::record::NodeCode;
use super::retention::{self, RecordFacts};
use chrono::NaiveDate;
use std::collections::BTreeMap;

/// The effect of one node's change on its records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeImpact {
    /// Records in the node.
    pub records: u64,
    /// Records whose due date changes.
    pub due_changed: u64,
    /// Records whose final action changes.
    pub action_changed: u64,
}

/// What a new plan changes against the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanImpact {
    /// Codes new in the plan.
    pub nodes_added: Vec<NodeCode>,
    /// Codes gone from the plan without a replacement.
    pub nodes_removed: Vec<NodeCode>,
    /// Codes gone, replaced by another (`old → new`).
    pub nodes_renamed: Vec<(NodeCode, NodeCode)>,
    /// Rules added, removed or changed (duration, start, final action).
    pub rules_changed: Vec<String>,
    /// Records examined.
    pub records: u64,
    /// Records whose due date changes.
    pub due_changed: u64,
    /// Records whose final action changes.
    pub action_changed: u64,
    /// Records that move to a replacing node.
    pub moved: u64,
    /// Records that become due earlier (or due at all): a shortening, which
    /// needs an explicit confirmation and a reason.
    pub shortened: u64,
    /// Records whose final action becomes `destroy` (from `keep` or
    /// `review`): confirmed like a shortening.
    pub to_destroy: u64,
    /// Per node (the record's node under the current plan), where anything
    /// changes.
    pub by_node: BTreeMap<NodeCode, NodeImpact>,
    /// Nodes that hold records but are gone from the new plan without a
    /// replacement, with how many records each holds: publication is
    /// refused while there is any.
    pub orphaned: BTreeMap<NodeCode, u64>,
    /// The records whose due date or final action changes, named (the
    /// first [`CHANGED_LISTED`] of them; `due_changed` and
    /// `action_changed` count them all).
    pub changed: Vec<ChangedRecord>,
}

/// How many changed records an impact names at most.
pub const CHANGED_LISTED: usize = 1_000;

/// A record whose retention a new plan changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedRecord {
    /// Its reference.
    pub reference: String,
    /// Its node.
    pub node: NodeCode,
    /// Its due date now, and under the new plan.
    pub due: (Option<NaiveDate>, Option<NaiveDate>),
    /// Its final action now, and under the new plan.
    pub action: (Option<FinalAction>, Option<FinalAction>),
    /// Whether it would be destroyable as soon as the plan is published:
    /// due by then under the new plan, to be destroyed, and not before.
    pub destroyable_at_once: bool,
}

/// The node a record of `node` belongs to under `new`: the node itself, or
/// the node that replaces it.
pub fn node_under(new: &Plan, node: &NodeCode) -> Option<NodeCode> {
    if new.node(node).is_some() {
        return Some(node.clone());
    }
    new.replacements().get(node).cloned()
}

/// Whether the records of `node` keep their node and their retention
/// under `new`: the node stays, and the rule that applies to it (its own
/// or an ancestor's) has the same name, duration, start and final action.
/// Such records need not be looked at one by one: neither their due date
/// nor their final action can change. A first publication keeps nothing.
pub fn keeps_retention(current: Option<&Plan>, new: &Plan, node: &NodeCode) -> bool {
    let Some(current) = current else {
        return false;
    };
    if new.node(node).is_none() {
        return false;
    }
    match (current.rule_for(node), new.rule_for(node)) {
        (None, None) => current.node(node).is_some(),
        (Some((old, _)), Some((new, _))) => {
            old.id == new.id
                && old.duration == new.duration
                && old.start == new.start
                && old.final_action == new.final_action
        }
        _ => false,
    }
}

/// Counts a plan change's impact record by record, so that millions of
/// records are never held at once.
pub struct ImpactCount<'p> {
    current: Option<&'p Plan>,
    new: &'p Plan,
    out: PlanImpact,
}

impl<'p> ImpactCount<'p> {
    /// Starts with the changes to nodes and rules of `new` against
    /// `current` (none for a first publication).
    pub fn new(current: Option<&'p Plan>, new: &'p Plan) -> Self {
        let mut out = PlanImpact::default();
        let replacements = new.replacements();
        if let Some(current) = current {
            for node in &new.nodes {
                if current.node(&node.code).is_none() {
                    out.nodes_added.push(node.code.clone());
                }
            }
            for node in &current.nodes {
                if new.node(&node.code).is_none() {
                    match replacements.get(&node.code) {
                        Some(to) => out.nodes_renamed.push((node.code.clone(), to.clone())),
                        None => out.nodes_removed.push(node.code.clone()),
                    }
                }
            }
            for (id, rule) in &current.rules {
                let same = new.rules.get(id).is_some_and(|r| {
                    r.duration == rule.duration && r.start == rule.start && r.final_action == rule.final_action
                });
                if !same {
                    out.rules_changed.push(id.clone());
                }
            }
            out.rules_changed
                .extend(new.rules.keys().filter(|id| !current.rules.contains_key(*id)).cloned());
        } else {
            out.nodes_added = new.nodes.iter().map(|n| n.code.clone()).collect();
        }
        ImpactCount { current, new, out }
    }

    /// Counts one record, and names it when its retention changes (as of
    /// `today`: whether it becomes destroyable at once).
    pub fn add_named(&mut self, reference: &str, today: NaiveDate, facts: RecordFacts<'_>) {
        let before_due = self.out.due_changed + self.out.action_changed;
        let node = facts.node.clone();
        let target = node_under(self.new, facts.node);
        let before = self.current.and_then(|p| retention::compute(p, facts));
        let after = target
            .as_ref()
            .and_then(|t| retention::compute(self.new, RecordFacts { node: t, ..facts }));
        self.add(facts);
        let changed = self.out.due_changed + self.out.action_changed > before_due;
        if changed && self.out.changed.len() < CHANGED_LISTED {
            let due = |r: &Option<retention::Retention>| r.as_ref().and_then(|r| r.due);
            let action = |r: &Option<retention::Retention>| r.as_ref().map(|r| r.final_action);
            let destroy_now = |r: &Option<retention::Retention>| {
                action(r) == Some(FinalAction::Destroy) && due(r).is_some_and(|d| d <= today)
            };
            self.out.changed.push(ChangedRecord {
                reference: reference.to_owned(),
                node,
                due: (due(&before), due(&after)),
                action: (action(&before), action(&after)),
                destroyable_at_once: destroy_now(&after) && !destroy_now(&before),
            });
        }
    }

    /// Counts `records` records of a node that [`keeps_retention`]: seen,
    /// nothing changed.
    pub fn add_unchanged(&mut self, node: &NodeCode, records: u64) {
        self.out.records += records;
        self.out.by_node.entry(node.clone()).or_default().records += records;
    }

    /// Counts one record.
    pub fn add(&mut self, facts: RecordFacts<'_>) {
        let out = &mut self.out;
        out.records += 1;
        let Some(target) = node_under(self.new, facts.node) else {
            *out.orphaned.entry(facts.node.clone()).or_default() += 1;
            return;
        };
        let before = self.current.and_then(|p| retention::compute(p, facts));
        let after = retention::compute(self.new, RecordFacts { node: &target, ..facts });
        let due = |r: &Option<retention::Retention>| -> Option<NaiveDate> { r.as_ref().and_then(|r| r.due) };
        let action = |r: &Option<retention::Retention>| -> Option<FinalAction> { r.as_ref().map(|r| r.final_action) };
        let due_changed = due(&before) != due(&after);
        let action_changed = action(&before) != action(&after);
        out.moved += u64::from(&target != facts.node);
        let shortened = match (due(&before), due(&after)) {
            (Some(old), Some(new)) => new < old,
            (None, Some(_)) => true,
            _ => false,
        };
        out.shortened += u64::from(shortened);
        let to_destroy = before.is_some()
            && action(&before) != Some(FinalAction::Destroy)
            && action(&after) == Some(FinalAction::Destroy);
        out.to_destroy += u64::from(to_destroy);
        out.due_changed += u64::from(due_changed);
        out.action_changed += u64::from(action_changed);
        // Every node is counted (a plan has few); `finish` keeps those
        // where something changes.
        let entry = out.by_node.entry(facts.node.clone()).or_default();
        entry.records += 1;
        entry.due_changed += u64::from(due_changed);
        entry.action_changed += u64::from(action_changed);
    }

    /// The impact.
    pub fn finish(mut self) -> PlanImpact {
        self.out
            .by_node
            .retain(|_, n| n.due_changed > 0 || n.action_changed > 0);
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compares `current` with `new` over the records described.
    fn impact<'a>(
        current: Option<&Plan>,
        new: &Plan,
        records: impl IntoIterator<Item = RecordFacts<'a>>,
    ) -> PlanImpact {
        let mut count = ImpactCount::new(current, new);
        for facts in records {
            count.add(facts);
        }
        count.finish()
    }
    use crate::domain::plan::{PlanHeader, PlanNode, RetentionDuration, RetentionRule, RetentionStart};

    fn code(c: &str) -> NodeCode {
        NodeCode::parse(c).unwrap()
    }

    fn plan(years: u32, nodes: &[(&str, &[&str])]) -> Plan {
        Plan {
            header: PlanHeader::plain(),
            rules: BTreeMap::from([(
                "R".to_owned(),
                RetentionRule {
                    id: "R".into(),
                    duration: RetentionDuration::Period {
                        years,
                        months: 0,
                        days: 0,
                    },
                    start: RetentionStart::Date,
                    final_action: FinalAction::Destroy,
                    legal_reference: "x".into(),
                    to_confirm: false,
                },
            )]),
            nodes: nodes
                .iter()
                .map(|(c, replaces)| PlanNode {
                    replaces: replaces.iter().map(|r| code(r)).collect(),
                    ..PlanNode::plain(code(c), None, Some("R"))
                })
                .collect(),
            classify: Vec::new(),
            synonyms: Vec::new(),
            invoice_templates: Vec::new(),
            circuits: Vec::new(),
            late_payment_rates: Vec::new(),
        }
    }

    #[test]
    fn a_longer_duration_changes_due_dates_and_a_lost_node_orphans_records() {
        let fields = BTreeMap::new();
        let events = BTreeMap::new();
        let (a, b) = (code("A"), code("B"));
        let date = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
        let facts = |node| RecordFacts {
            node,
            date,
            fields: &fields,
            events: &events,
            decision: None,
        };
        let old = plan(10, &[("A", &[]), ("B", &[])]);
        let longer = plan(12, &[("A", &[]), ("B", &[])]);
        let i = impact(Some(&old), &longer, [facts(&a), facts(&a), facts(&b)]);
        assert_eq!((i.records, i.due_changed, i.action_changed), (3, 3, 0));
        assert_eq!(i.shortened, 0, "longer is not shorter");
        assert_eq!(impact(Some(&longer), &old, [facts(&a)]).shortened, 1);
        assert_eq!(i.by_node[&a].due_changed, 2);
        assert_eq!(i.rules_changed, vec!["R".to_owned()]);

        let without_b = plan(10, &[("A", &[])]);
        let i = impact(Some(&old), &without_b, [facts(&a), facts(&b)]);
        assert_eq!(i.orphaned, BTreeMap::from([(b.clone(), 1)]));
        assert_eq!(i.nodes_removed, vec![b.clone()]);

        let renamed = plan(10, &[("A", &[]), ("C", &["B"])]);
        let i = impact(Some(&old), &renamed, [facts(&a), facts(&b)]);
        assert!(i.orphaned.is_empty());
        assert_eq!(i.moved, 1);
        assert_eq!(i.nodes_renamed, vec![(b, code("C"))]);
        assert_eq!(i.due_changed, 0);
    }

    use proptest::prelude::*;

    const CODES: [&str; 4] = ["A", "A-1", "B", "C"];

    /// A plan over the nodes `A`, its child `A-1`, `B` and `C` (which may
    /// replace `B`), with two rules of varying duration and final action,
    /// each node under either rule, none, or its parent's.
    fn arb_plan() -> impl Strategy<Value = Plan> {
        let action = prop::sample::select(vec![FinalAction::Destroy, FinalAction::Keep, FinalAction::Review]);
        let rule_of = prop::sample::select(vec![None, Some("R"), Some("S")]);
        (
            (1u32..4, action.clone(), 1u32..4, action),
            prop::collection::vec((rule_of, any::<bool>()), 4),
            (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        )
            .prop_map(
                |((r_years, r_action, s_years, s_action), nodes, (has_child, has_b, has_c, c_replaces_b))| {
                    let mut p = plan(r_years, &[]);
                    let mut r = p.rules["R"].clone();
                    r.final_action = r_action;
                    let mut s = r.clone();
                    s.id = "S".into();
                    s.duration = RetentionDuration::Period {
                        years: s_years,
                        months: 0,
                        days: 0,
                    };
                    s.final_action = s_action;
                    p.rules = BTreeMap::from([("R".into(), r), ("S".into(), s)]);
                    let present = [true, has_child, has_b, has_c];
                    let template = plan(1, &[("A", &[])]).nodes.remove(0);
                    for (i, (rule, inherit)) in nodes.into_iter().enumerate() {
                        if !present[i] {
                            continue;
                        }
                        let mut node = template.clone();
                        node.code = code(CODES[i]);
                        node.parent = (CODES[i] == "A-1").then(|| code("A"));
                        node.rule = rule.map(str::to_owned);
                        node.inherit = inherit;
                        node.replaces = if CODES[i] == "C" && c_replaces_b && !has_b {
                            vec![code("B")]
                        } else {
                            vec![]
                        };
                        p.nodes.push(node);
                    }
                    p
                },
            )
    }

    proptest! {
        /// Skipping the records of nodes that keep their retention counts
        /// exactly what visiting every record counts.
        #[test]
        fn nodes_that_keep_their_retention_need_not_be_visited(
            current in arb_plan(),
            new in arb_plan(),
            records in prop::collection::vec((0usize..4, 0i64..2000, prop::option::of(any::<bool>())), 0..40),
        ) {
            let (fields, events) = (BTreeMap::new(), BTreeMap::new());
            let today = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
            let codes: Vec<NodeCode> = CODES.iter().map(|c| code(c)).collect();
            let facts: Vec<(String, RecordFacts<'_>)> = records
                .iter()
                .enumerate()
                .map(|(n, (node, days, decision))| {
                    (
                        format!("REF-{n:03}"),
                        RecordFacts {
                            node: &codes[*node],
                            date: NaiveDate::from_ymd_opt(2020, 1, 1).unwrap() + chrono::Days::new(*days as u64),
                            fields: &fields,
                            events: &events,
                            decision: decision.map(|d| if d { FinalAction::Keep } else { FinalAction::Destroy }),
                        },
                    )
                })
                .collect();
            let mut every = ImpactCount::new(Some(&current), &new);
            for (reference, f) in &facts {
                every.add_named(reference, today, *f);
            }
            let mut skipping = ImpactCount::new(Some(&current), &new);
            for node in &codes {
                let here: Vec<_> = facts.iter().filter(|(_, f)| f.node == node).collect();
                if here.is_empty() {
                    continue;
                }
                if keeps_retention(Some(&current), &new, node) {
                    skipping.add_unchanged(node, here.len() as u64);
                } else {
                    for (reference, f) in here {
                        skipping.add_named(reference, today, *f);
                    }
                }
            }
            let (mut every, mut skipping) = (every.finish(), skipping.finish());
            every.changed.sort_by(|a, b| a.reference.cmp(&b.reference));
            skipping.changed.sort_by(|a, b| a.reference.cmp(&b.reference));
            prop_assert_eq!(every, skipping);
        }
    }
}

/// One line of the difference between two versions of a plan's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLine {
    /// `=` kept, `-` removed, `+` added; `…` between two distant changes.
    pub kind: char,
    /// Its number in the older file (kept and removed lines).
    pub old: Option<usize>,
    /// Its number in the newer file (kept and added lines).
    pub new: Option<usize>,
    /// The line, without its end.
    pub text: String,
}

/// The difference between two versions of a plan's file, line by line:
/// each change with `context` unchanged lines around it, distant changes
/// parted by a `…` line. Empty when the files are the same.
pub fn file_changes(old: &str, new: &str, context: usize) -> Vec<FileLine> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for (i, group) in diff.grouped_ops(context).iter().enumerate() {
        if i > 0 {
            out.push(FileLine {
                kind: '…',
                old: None,
                new: None,
                text: String::new(),
            });
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let kind = match change.tag() {
                    similar::ChangeTag::Equal => '=',
                    similar::ChangeTag::Delete => '-',
                    similar::ChangeTag::Insert => '+',
                };
                out.push(FileLine {
                    kind,
                    old: change.old_index().map(|n| n + 1),
                    new: change.new_index().map(|n| n + 1),
                    text: change.value().trim_end_matches(['\n', '\r']).to_owned(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod file_change_tests {
    use super::*;

    #[test]
    fn a_changed_duration_shows_as_one_line_out_one_in_with_its_context() {
        let old = "a\nb\nduration = \"P10Y\"\nc\nd\ne\nf\ng\nh\ni\nj\nk\nversion = \"1\"\n";
        let new = "a\nb\nduration = \"P5Y\"\nc\nd\ne\nf\ng\nh\ni\nj\nk\nversion = \"2\"\n";
        let lines = file_changes(old, new, 1);
        let kinds: String = lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds, "=-+=…=-+");
        let removed = &lines[1];
        assert_eq!(
            (removed.old, removed.new, removed.text.as_str()),
            (Some(3), None, "duration = \"P10Y\"")
        );
        let added = &lines[2];
        assert_eq!(
            (added.old, added.new, added.text.as_str()),
            (None, Some(3), "duration = \"P5Y\"")
        );
        assert!(file_changes(old, old, 3).is_empty());
    }
}
