//! The classification plan (*plan de classement* with its *tableau de
//! gestion*): retention rules and the tree of nodes, as archivists write it
//! (see `schemas/plan.schema.json`), and the checks a plan must pass beyond
//! its schema: every reference resolves, the tree has no cycle, codes are
//! unique, and each naming template names only what its node has, in a form
//! it can format.
//!
//! Pure: reading the file and mapping problems to lines is `policies`'s work.

use super::naming::{Placeholder, Template};
use super::record::NodeCode;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A retention duration: years, months and days (ISO 8601 `P10Y`, `P6M`,
/// `P1Y6M`, `P30D`), or permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum RetentionDuration {
    /// Kept for this long after the start.
    Period {
        /// Years.
        years: u32,
        /// Months.
        months: u32,
        /// Days.
        days: u32,
    },
    /// Never due.
    Permanent,
}

impl RetentionDuration {
    /// Parses `permanent` or an ISO 8601 period of years, months and days.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if t == "permanent" {
            return Ok(RetentionDuration::Permanent);
        }
        let body = t
            .strip_prefix('P')
            .ok_or_else(|| format!("{text:?} is not a duration such as P10Y, P6M, P1Y6M or permanent"))?;
        let (mut years, mut months, mut days) = (0u32, 0u32, 0u32);
        let mut number = String::new();
        let mut seen = String::new();
        for c in body.chars() {
            if c.is_ascii_digit() {
                number.push(c);
                continue;
            }
            let n: u32 = number
                .parse()
                .map_err(|_| format!("{text:?}: a number must come before {c:?}"))?;
            number.clear();
            let slot = match c {
                'Y' => &mut years,
                'M' => &mut months,
                'W' => return Err(format!("{text:?}: weeks are not used in retention rules; write days")),
                'D' => &mut days,
                _ => return Err(format!("{text:?}: unknown unit {c:?} (use Y, M, D)")),
            };
            if seen.contains(c) || seen.chars().any(|s| "YMD".find(s) > "YMD".find(c)) {
                return Err(format!("{text:?}: units must come once each, in the order Y, M, D"));
            }
            seen.push(c);
            *slot = n;
        }
        if !number.is_empty() || seen.is_empty() {
            return Err(format!(
                "{text:?} is not a duration such as P10Y, P6M, P1Y6M or permanent"
            ));
        }
        Ok(RetentionDuration::Period { years, months, days })
    }
}

impl fmt::Display for RetentionDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RetentionDuration::Permanent => f.write_str("permanent"),
            RetentionDuration::Period { years, months, days } => {
                f.write_str("P")?;
                if *years > 0 {
                    write!(f, "{years}Y")?;
                }
                if *months > 0 {
                    write!(f, "{months}M")?;
                }
                if *days > 0 || (*years == 0 && *months == 0) {
                    write!(f, "{days}D")?;
                }
                Ok(())
            }
        }
    }
}

/// What starts the retention period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub enum RetentionStart {
    /// The record's own date.
    Date,
    /// The record's closing (the file is closed).
    Closing,
    /// A date field of the record.
    Field(String),
    /// An external event recorded later (`contract_end`, ...).
    Event(String),
}

impl RetentionStart {
    /// Parses `date`, `closing`, `field:NAME` or `event:NAME`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "date" => Ok(RetentionStart::Date),
            "closing" => Ok(RetentionStart::Closing),
            other => match other.split_once(':') {
                Some(("field", name)) if !name.is_empty() => Ok(RetentionStart::Field(name.to_owned())),
                Some(("event", name)) if !name.is_empty() => Ok(RetentionStart::Event(name.to_owned())),
                _ => Err(format!(
                    "{text:?} is not a start (date, closing, field:NAME or event:NAME)"
                )),
            },
        }
    }
}

/// What happens at the end of the retention period (the *sort final*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FinalAction {
    /// D: destroy, with the archives authority's approval.
    Destroy,
    /// C: keep for ever, transferred to the archives.
    Keep,
    /// T: sort (review) at the end.
    Review,
}

impl std::fmt::Display for FinalAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FinalAction {
    /// The stable name, as plan files write it.
    pub fn as_str(self) -> &'static str {
        match self {
            FinalAction::Destroy => "destroy",
            FinalAction::Keep => "keep",
            FinalAction::Review => "review",
        }
    }
}

/// A field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    /// Free text.
    Text,
    /// A date, `YYYY-MM-DD`.
    Date,
    /// An exact decimal number.
    Decimal,
    /// An integer.
    Integer,
    /// One of a list of values.
    Enum(Vec<String>),
}

impl FieldType {
    /// Parses `text`, `date`, `decimal`, `integer` or `enum(a, b, c)`.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "text" => Ok(FieldType::Text),
            "date" => Ok(FieldType::Date),
            "decimal" => Ok(FieldType::Decimal),
            "integer" => Ok(FieldType::Integer),
            other => {
                let inner = other
                    .strip_prefix("enum(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("{text:?} is not a type (text, date, decimal, integer, enum(...))"))?;
                let values: Vec<String> = inner
                    .split(',')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect();
                if values.is_empty() {
                    return Err(format!("{text:?}: an enum lists at least one value"));
                }
                Ok(FieldType::Enum(values))
            }
        }
    }
}

impl FieldType {
    /// Checks a value given for a field of this type and returns it in its
    /// canonical form: dates as `YYYY-MM-DD`, decimals exact with a `.`
    /// (a French `,` is accepted), integers without leading zeros, enum
    /// values as the plan spells them.
    pub fn check(&self, value: &str) -> Result<String, String> {
        let v = value.trim();
        match self {
            FieldType::Text => Ok(value.to_owned()),
            FieldType::Date => chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(|d| d.format("%Y-%m-%d").to_string())
                .map_err(|_| format!("« {value} » n'est pas une date (JJ/MM/AAAA ou AAAA-MM-JJ)")),
            FieldType::Integer => v
                .parse::<i64>()
                .map(|n| n.to_string())
                .map_err(|_| format!("« {value} » n'est pas un nombre entier")),
            FieldType::Decimal => canonical_decimal(v).ok_or_else(|| {
                format!(
                    "« {value} » n'est pas un nombre (des chiffres, avec une virgule ou un point avant les décimales)"
                )
            }),
            FieldType::Enum(values) => values
                .iter()
                .find(|allowed| allowed.as_str() == v)
                .cloned()
                .ok_or_else(|| format!("« {value} » n'est pas une valeur permise : {}", values.join(", "))),
        }
    }
}

/// An exact decimal in canonical form (`-12.50` stays `-12.50`; `12,5`
/// becomes `12.5`); `None` if it is not one.
fn canonical_decimal(text: &str) -> Option<String> {
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = match body.split_once(['.', ',']) {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.len() <= 30 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    Some(match fraction {
        Some(f) => format!("{sign}{whole}.{f}"),
        None => format!("{sign}{whole}"),
    })
}

/// A typed field of a node's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub kind: FieldType,
    /// Whether a deposit must give it.
    pub required: bool,
}

/// A retention rule of the *tableau de gestion*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRule {
    /// Its id, as nodes name it.
    pub id: String,
    /// The DUA.
    pub duration: RetentionDuration,
    /// What starts it.
    pub start: RetentionStart,
    /// What happens at its end.
    pub final_action: FinalAction,
    /// The text that makes it law (circular, article, ...).
    pub legal_reference: String,
    /// The duration is to be confirmed with the archives authority.
    pub to_confirm: bool,
}

/// A node of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanNode {
    /// Its code.
    pub code: NodeCode,
    /// Its parent's code.
    pub parent: Option<NodeCode>,
    /// Its title.
    pub title: String,
    /// What it holds.
    pub description: String,
    /// Its own retention rule (else its parent's, unless `inherit` is off).
    pub rule: Option<String>,
    /// Whether it takes its parent's rule when it has none.
    pub inherit: bool,
    /// Its reference template.
    pub reference: Option<Template>,
    /// Its file name template.
    pub filename: Option<Template>,
    /// The document types it holds.
    pub document_types: Vec<String>,
    /// Its typed fields.
    pub fields: Vec<FieldDef>,
    /// Roles that may read its records (inherited when empty).
    pub readers: Vec<String>,
    /// Roles that may deposit records in it (inherited when empty).
    pub depositors: Vec<String>,
    /// Codes of earlier plan versions whose records now belong here (a
    /// renamed or merged node).
    pub replaces: Vec<NodeCode>,
    /// A record reclassified into this node gets a new reference from the
    /// node's template (its old one stays an alias); otherwise references
    /// never change.
    pub renumber_on_reclassify: bool,
    /// A destroyed record's tombstone keeps its title (titles often name
    /// people, so by default it does not).
    pub tombstone_keeps_title: bool,
    /// Its records hold personal data (pay slips, personnel files, social
    /// aid): each reading of one is journaled. Inherited by the nodes below.
    pub personal_data: bool,
    /// How many stores (the data directory and the copy folders) must hold
    /// its records' contents before a deposit is acknowledged (1 to 9);
    /// inherited by the nodes below. None anywhere above: every store.
    pub copies: Option<u8>,
    /// Fields whose values, together, name one document (an invoice's
    /// supplier and number): two live records with the same values are
    /// probable duplicates. Inherited by the nodes below.
    pub duplicate_fields: Vec<String>,
    /// Its records are invoices whose fields are read from their text
    /// (the LAD) once it is extracted, and those read with doubt wait in
    /// the verification queue. Inherited by the nodes below.
    pub read_invoices: bool,
}

#[cfg(test)]
impl PlanHeader {
    /// A header with nothing to say (for the domain's tests).
    pub(crate) fn plain() -> Self {
        PlanHeader {
            id: "t".into(),
            title: "t".into(),
            version: "1".into(),
            authority: "a".into(),
        }
    }
}

#[cfg(test)]
impl PlanNode {
    /// A node with its code, parent and rule, and nothing else set (for
    /// the domain's tests).
    pub(crate) fn plain(code: NodeCode, parent: Option<NodeCode>, rule: Option<&str>) -> Self {
        PlanNode {
            title: code.to_string(),
            code,
            parent,
            description: String::new(),
            rule: rule.map(str::to_owned),
            inherit: true,
            reference: None,
            filename: None,
            document_types: vec![],
            fields: vec![],
            readers: vec![],
            depositors: vec![],
            replaces: vec![],
            renumber_on_reclassify: false,
            tombstone_keeps_title: false,
            personal_data: false,
            copies: None,
            duplicate_fields: Vec::new(),
            read_invoices: false,
        }
    }
}

/// What a role may want to do in a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read its records (and find them in searches).
    Read,
    /// Deposit records into it.
    Deposit,
}

/// A plan's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanHeader {
    /// Its id.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its version, as the archivists number it.
    pub version: String,
    /// The authority whose rules it applies.
    pub authority: String,
}

/// A whole plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Its identity.
    pub header: PlanHeader,
    /// Its rules, by id.
    pub rules: BTreeMap<String, RetentionRule>,
    /// Its nodes, in file order.
    pub nodes: Vec<PlanNode>,
    /// Automatic classification rules, in the order they are tried.
    pub classify: Vec<super::classify::ClassificationRule>,
    /// Groups of words and expressions that mean the same to searches.
    pub synonyms: Vec<Vec<String>>,
    /// Templates for reading the invoices of given suppliers, in the order
    /// they are tried.
    pub invoice_templates: Vec<super::reading::InvoiceTemplate>,
    /// Processing circuits, each for the records of some nodes.
    pub circuits: Vec<super::circuit::Circuit>,
    /// The ECB's rates late-payment interest is reckoned from, oldest first.
    pub late_payment_rates: Vec<super::circuit::LateRate>,
}

/// One thing wrong with a plan, and where (a path such as `nodes[3].rule`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanProblem {
    /// Where: `rules[2].duration`, `nodes[5].parent`, ...
    pub path: String,
    /// What, for an archivist.
    pub message: String,
}

impl PlanProblem {
    fn at(path: String, message: impl Into<String>) -> Self {
        PlanProblem {
            path,
            message: message.into(),
        }
    }
}

/// The names a template may use beyond the node's own fields.
const BUILTINS: &[&str] = &[
    "node",
    "year",
    "seq",
    "date",
    "reference",
    "title",
    "ext",
    "service",
    "type",
];

impl Plan {
    /// The cross-checks beyond the schema; every problem at once.
    pub fn problems(&self) -> Vec<PlanProblem> {
        let mut problems = Vec::new();
        let mut codes: BTreeMap<&NodeCode, usize> = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(first) = codes.insert(&node.code, i) {
                problems.push(PlanProblem::at(
                    format!("nodes[{i}].code"),
                    format!("the code {} is already used by nodes[{first}]", node.code),
                ));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            if let Some(parent) = &node.parent
                && !codes.contains_key(parent)
            {
                problems.push(PlanProblem::at(
                    format!("nodes[{i}].parent"),
                    format!("no node has the code {parent}"),
                ));
            }
            if let Some(rule) = &node.rule
                && !self.rules.contains_key(rule)
            {
                problems.push(PlanProblem::at(
                    format!("nodes[{i}].rule"),
                    format!("no rule has the id {rule:?}"),
                ));
            }
            let fields = self.fields_of(i);
            for (which, template) in [("reference", &node.reference), ("filename", &node.filename)] {
                if let Some(t) = template {
                    for message in template_problems(t, &fields) {
                        problems.push(PlanProblem::at(format!("nodes[{i}].{which}"), message));
                    }
                }
            }
            if let Some(rule) = node.rule.as_ref().and_then(|r| self.rules.get(r))
                && let RetentionStart::Field(name) = &rule.start
                && !fields.iter().any(|f| &f.name == name && f.kind == FieldType::Date)
            {
                problems.push(PlanProblem::at(
                    format!("nodes[{i}].rule"),
                    format!(
                        "rule {} starts at the date field {name:?}, which this node has not",
                        rule.id
                    ),
                ));
            }
        }
        let mut replaced: BTreeMap<&NodeCode, usize> = BTreeMap::new();
        for (i, node) in self.nodes.iter().enumerate() {
            for (j, old) in node.replaces.iter().enumerate() {
                if codes.contains_key(old) {
                    problems.push(PlanProblem::at(
                        format!("nodes[{i}].replaces[{j}]"),
                        format!("{old} is still a node of this plan; only a code that is gone can be replaced"),
                    ));
                } else if let Some(first) = replaced.insert(old, i) {
                    problems.push(PlanProblem::at(
                        format!("nodes[{i}].replaces[{j}]"),
                        format!("{old} is already replaced by nodes[{first}]"),
                    ));
                }
            }
            if let Some(t) = &node.reference
                && !t.placeholders().any(|p| p.name == "seq")
            {
                problems.push(PlanProblem::at(
                    format!("nodes[{i}].reference"),
                    "a reference template needs a {seq} counter, or two records could get the same reference",
                ));
            }
        }
        for (i, node) in self.nodes.iter().enumerate() {
            let fields = self.fields_of(i);
            for (j, name) in node.duplicate_fields.iter().enumerate() {
                if !fields.iter().any(|f| &f.name == name) {
                    problems.push(PlanProblem::at(
                        format!("nodes[{i}].duplicate_fields[{j}]"),
                        format!("{name:?} is not a field of {}", node.code),
                    ));
                }
            }
        }
        for (i, rule) in self.classify.iter().enumerate() {
            let Some(index) = codes.get(&rule.node) else {
                problems.push(PlanProblem::at(
                    format!("classify[{i}].node"),
                    format!("no node has the code {}", rule.node),
                ));
                continue;
            };
            if rule.filename.is_none() && rule.media_type.is_none() && rule.text.is_none() && !rule.invoice {
                problems.push(PlanProblem::at(
                    format!("classify[{i}]"),
                    "a rule needs at least one condition: filename, media_type, text or invoice",
                ));
            }
            let fields = self.fields_of(*index);
            let known = |name: &str| fields.iter().any(|f| f.name == name);
            if let Some(text) = &rule.text {
                for name in text.capture_names().flatten() {
                    if !known(name) {
                        problems.push(PlanProblem::at(
                            format!("classify[{i}].text"),
                            format!("the group {name:?} names no field of {}", rule.node),
                        ));
                    }
                }
            }
            if !rule.invoice_fields.is_empty() && !rule.invoice {
                problems.push(PlanProblem::at(
                    format!("classify[{i}].invoice_fields"),
                    "invoice_fields need invoice = true",
                ));
            }
            for (field, key) in &rule.invoice_fields {
                if !known(field) {
                    problems.push(PlanProblem::at(
                        format!("classify[{i}].invoice_fields.{field}"),
                        format!("{field:?} is not a field of {}", rule.node),
                    ));
                }
                if !super::classify::INVOICE_KEYS.contains(&key.as_str()) {
                    problems.push(PlanProblem::at(
                        format!("classify[{i}].invoice_fields.{field}"),
                        format!(
                            "{key:?} is not an invoice value ({})",
                            super::classify::INVOICE_KEYS.join(", ")
                        ),
                    ));
                }
            }
        }
        problems.extend(self.circuit_problems(&codes));
        // A cycle: following parents from a node comes back to it.
        for (i, node) in self.nodes.iter().enumerate() {
            let mut seen = BTreeSet::new();
            let mut current = node.parent.clone();
            while let Some(code) = current {
                if code == node.code {
                    problems.push(PlanProblem::at(
                        format!("nodes[{i}].parent"),
                        format!("{} is its own ancestor (a cycle)", node.code),
                    ));
                    break;
                }
                if !seen.insert(code.clone()) {
                    break;
                }
                current = codes.get(&code).and_then(|&j| self.nodes[j].parent.clone());
            }
        }
        problems
    }

    /// The circuits' problems: each its own, then the nodes they name
    /// (each known, none in two circuits, their subtrees included) and the
    /// fields (a date received, a decimal amount, each node having them).
    fn circuit_problems(&self, codes: &BTreeMap<&NodeCode, usize>) -> Vec<PlanProblem> {
        let mut problems = Vec::new();
        for (c, circuit) in self.circuits.iter().enumerate() {
            let at = format!("circuits[{c}]");
            if self.circuits[..c].iter().any(|o| o.code == circuit.code) {
                problems.push(PlanProblem::at(
                    format!("{at}.code"),
                    format!("le circuit « {} » est déjà défini", circuit.code),
                ));
            }
            problems.extend(circuit.problems(&at).into_iter().map(|(p, m)| PlanProblem::at(p, m)));
            for (n, node) in circuit.nodes.iter().enumerate() {
                let Some(&index) = codes.get(node) else {
                    problems.push(PlanProblem::at(
                        format!("{at}.nodes[{n}]"),
                        format!("aucun nœud n'a le code {node}"),
                    ));
                    continue;
                };
                if let Some(other) = self
                    .circuits
                    .iter()
                    .take(c)
                    .find(|o| self.lineage(node).iter().any(|l| o.nodes.contains(&l.code)))
                {
                    problems.push(PlanProblem::at(
                        format!("{at}.nodes[{n}]"),
                        format!("les documents de {node} suivent déjà le circuit « {} »", other.code),
                    ));
                }
                let fields = self.fields_of(index);
                let wanted = [
                    ("received", circuit.received.as_ref(), Some(FieldType::Date)),
                    ("amount", circuit.amount.as_ref(), Some(FieldType::Decimal)),
                    ("supplier", circuit.supplier.as_ref(), None),
                ];
                for (key, name, kind) in wanted {
                    let Some(name) = name else { continue };
                    let fits = fields
                        .iter()
                        .any(|f| &f.name == name && kind.as_ref().is_none_or(|k| &f.kind == k));
                    if !fits {
                        let kind = match kind {
                            Some(FieldType::Date) => " de type date",
                            Some(FieldType::Decimal) => " de type decimal",
                            _ => "",
                        };
                        problems.push(PlanProblem::at(
                            format!("{at}.{key}"),
                            format!("{node} n'a pas de champ « {name} »{kind}"),
                        ));
                    }
                }
            }
        }
        problems
    }

    /// The circuit a node's records enter at deposit: the one that names
    /// the node or its nearest ancestor.
    pub fn circuit_for(&self, code: &NodeCode) -> Option<&super::circuit::Circuit> {
        self.lineage(code)
            .into_iter()
            .find_map(|n| self.circuits.iter().find(|c| c.nodes.contains(&n.code)))
    }

    /// The circuit with this code.
    pub fn circuit(&self, code: &str) -> Option<&super::circuit::Circuit> {
        self.circuits.iter().find(|c| c.code == code)
    }

    /// The node with this code.
    pub fn node(&self, code: &NodeCode) -> Option<&PlanNode> {
        self.nodes.iter().find(|n| &n.code == code)
    }

    /// A node and its ancestors, nearest first (stops at a cycle or a
    /// missing parent, which `problems` reports).
    pub fn lineage(&self, code: &NodeCode) -> Vec<&PlanNode> {
        let mut out: Vec<&PlanNode> = Vec::new();
        let mut current = self.node(code);
        while let Some(node) = current {
            if out.iter().any(|n| n.code == node.code) {
                break;
            }
            out.push(node);
            current = node.parent.as_ref().and_then(|p| self.node(p));
        }
        out
    }

    /// The codes from the root down to `code`: the node's path in the tree.
    pub fn path(&self, code: &NodeCode) -> Vec<NodeCode> {
        let mut path: Vec<NodeCode> = self.lineage(code).into_iter().map(|n| n.code.clone()).collect();
        path.reverse();
        path
    }

    /// The retention rule that applies to a node's records, and the node it
    /// comes from (the node itself, or the nearest ancestor it inherits
    /// from). `None`: no rule applies.
    pub fn rule_for(&self, code: &NodeCode) -> Option<(&RetentionRule, &NodeCode)> {
        for node in self.lineage(code) {
            if let Some(rule) = node.rule.as_ref().and_then(|r| self.rules.get(r)) {
                return Some((rule, &node.code));
            }
            if !node.inherit {
                return None;
            }
        }
        None
    }

    /// A node's fields, its ancestors' included (nearest first).
    pub fn fields_for(&self, code: &NodeCode) -> Vec<FieldDef> {
        match self.nodes.iter().position(|n| &n.code == code) {
            Some(i) => self.fields_of(i),
            None => Vec::new(),
        }
    }

    /// The fields whose values name one document in a node (its own list
    /// or its nearest ancestor's; empty: none).
    pub fn duplicate_fields_for(&self, code: &NodeCode) -> &[String] {
        self.lineage(code)
            .into_iter()
            .map(|n| n.duplicate_fields.as_slice())
            .find(|f| !f.is_empty())
            .unwrap_or_default()
    }

    /// The reference template of a node (its own or its nearest ancestor's).
    pub fn reference_template(&self, code: &NodeCode) -> Option<&Template> {
        self.lineage(code).into_iter().find_map(|n| n.reference.as_ref())
    }

    /// The file name template of a node (its own or its nearest ancestor's).
    pub fn filename_template(&self, code: &NodeCode) -> Option<&Template> {
        self.lineage(code).into_iter().find_map(|n| n.filename.as_ref())
    }

    /// Whether `role` may read (or deposit into) a node: the nearest list
    /// that names roles decides; with none on the way to the root, every
    /// role may.
    pub fn allows(&self, code: &NodeCode, role: &str, access: Access) -> bool {
        let list = self.lineage(code).into_iter().map(|n| match access {
            Access::Read => &n.readers,
            Access::Deposit => &n.depositors,
        });
        for roles in list {
            if !roles.is_empty() {
                return roles.iter().any(|r| r == role);
            }
        }
        true
    }

    /// Whether records of `code` hold personal data (it or a node above it
    /// says so): reading one is journaled.
    pub fn holds_personal_data(&self, code: &NodeCode) -> bool {
        self.lineage(code).into_iter().any(|n| n.personal_data)
    }

    /// Whether a node's records are read as invoices (said of it or of a
    /// node above it).
    pub fn reads_invoices(&self, code: &NodeCode) -> bool {
        self.lineage(code).into_iter().any(|n| n.read_invoices)
    }

    /// How many stores must hold the contents of `code`'s records before a
    /// deposit is acknowledged: the node's `copies`, else the nearest
    /// node's above it; none said: every store configured.
    pub fn copies_required(&self, code: &NodeCode) -> Option<u8> {
        self.lineage(code).into_iter().find_map(|n| n.copies)
    }

    /// The nodes `role` may read.
    pub fn readable_nodes(&self, role: &str) -> Vec<NodeCode> {
        self.nodes
            .iter()
            .filter(|n| self.allows(&n.code, role, Access::Read))
            .map(|n| n.code.clone())
            .collect()
    }

    /// Where records of codes that are no longer nodes now belong: each
    /// code a node `replaces`, mapped to that node.
    pub fn replacements(&self) -> BTreeMap<NodeCode, NodeCode> {
        self.nodes
            .iter()
            .flat_map(|n| n.replaces.iter().map(move |old| (old.clone(), n.code.clone())))
            .collect()
    }

    /// A node's fields, its ancestors' included (nearest first).
    fn fields_of(&self, index: usize) -> Vec<FieldDef> {
        let mut fields = self.nodes[index].fields.clone();
        let mut seen = BTreeSet::from([self.nodes[index].code.clone()]);
        let mut current = self.nodes[index].parent.clone();
        while let Some(code) = current {
            if !seen.insert(code.clone()) {
                break;
            }
            let Some(node) = self.nodes.iter().find(|n| n.code == code) else {
                break;
            };
            for f in &node.fields {
                if !fields.iter().any(|g| g.name == f.name) {
                    fields.push(f.clone());
                }
            }
            current = node.parent.clone();
        }
        fields
    }
}

/// What is wrong with a template given the fields it may name.
fn template_problems(template: &Template, fields: &[FieldDef]) -> Vec<String> {
    let mut out = Vec::new();
    for placeholder in template.placeholders() {
        let Placeholder { name, format, .. } = placeholder;
        let field = fields.iter().find(|f| &f.name == name);
        if !BUILTINS.contains(&name.as_str()) && field.is_none() {
            out.push(format!(
                "the template names {{{name}}}, a field this node does not have"
            ));
            continue;
        }
        let Some(format) = format else { continue };
        let is_date = name == "date" || field.is_some_and(|f| f.kind == FieldType::Date);
        let is_number = matches!(name.as_str(), "seq" | "year")
            || field.is_some_and(|f| matches!(f.kind, FieldType::Integer | FieldType::Decimal));
        let ok = if format.starts_with('%') { is_date } else { is_number };
        if !ok {
            out.push(format!("{{{name}:{format}}}: this format does not apply to {name}"));
        }
    }
    out
}

/// A published plan version: its number, the plan's id and label, the
/// digest of its text (kept as a blob), and who published it when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
pub struct PlanVersionEntry {
    /// The archive's number for it, from 1.
    pub number: u32,
    /// The plan's own id.
    pub plan_id: String,
    /// The archivists' version label.
    pub label: String,
    /// Digest of the plan file.
    pub text: super::hash::Sha256,
    /// The event that published it.
    pub seq: u64,
    /// When.
    pub time: chrono::DateTime<chrono::Utc>,
    /// Who.
    pub actor: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        for (text, years, months, days) in [
            ("P10Y", 10, 0, 0),
            ("P6M", 0, 6, 0),
            ("P1Y6M", 1, 6, 0),
            ("P30D", 0, 0, 30),
        ] {
            let d = RetentionDuration::parse(text).unwrap();
            assert_eq!(d, RetentionDuration::Period { years, months, days });
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(RetentionDuration::parse("permanent"), Ok(RetentionDuration::Permanent));
        for bad in ["10Y", "P", "PY", "P6M1Y", "P1Y1Y", "P2W", "P1H", "P10"] {
            assert!(RetentionDuration::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn field_values_are_checked_and_made_canonical() {
        assert_eq!(FieldType::Decimal.check("1234,50"), Ok("1234.50".into()));
        assert_eq!(FieldType::Decimal.check("-007.5"), Ok("-7.5".into()));
        assert_eq!(FieldType::Decimal.check("12"), Ok("12".into()));
        for bad in ["", "1.2.3", "12 €", "1e5", ".5", "5."] {
            assert!(FieldType::Decimal.check(bad).is_err(), "{bad}");
        }
        assert_eq!(FieldType::Date.check("2024-02-29"), Ok("2024-02-29".into()));
        assert!(FieldType::Date.check("2023-02-29").is_err());
        assert!(FieldType::Date.check("29/02/2024").is_err());
        assert_eq!(FieldType::Integer.check(" 042 "), Ok("42".into()));
        assert!(FieldType::Integer.check("4.2").is_err());
        let e = FieldType::Enum(vec!["a".into(), "b".into()]);
        assert_eq!(e.check("b"), Ok("b".into()));
        assert!(e.check("c").unwrap_err().contains("a, b"));
    }

    #[test]
    fn starts_and_types_parse() {
        assert_eq!(
            RetentionStart::parse("field:birth_date"),
            Ok(RetentionStart::Field("birth_date".into()))
        );
        assert_eq!(
            RetentionStart::parse("event:contract_end"),
            Ok(RetentionStart::Event("contract_end".into()))
        );
        assert!(RetentionStart::parse("field:").is_err());
        assert_eq!(
            FieldType::parse("enum(a, b)"),
            Ok(FieldType::Enum(vec!["a".into(), "b".into()]))
        );
        assert!(FieldType::parse("enum()").is_err());
        assert!(FieldType::parse("money").is_err());
    }
}
