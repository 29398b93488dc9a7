//! Plan files (and, in `mappings`, the files that say where capture reads
//! each field of a structured flow): read the TOML an archivist wrote, validate it against
//! `schemas/plan.schema.json` (with the `jsonschema` crate), turn it into a
//! domain [`Plan`] and run its cross-checks; every problem is reported at
//! once, each with its line and the path of the bad key.

use crate::domain::classify::ClassificationRule;
use crate::domain::naming::Template;
use crate::domain::plan::{
    FieldDef, FieldType, FinalAction, Plan, PlanHeader, PlanNode, RetentionDuration, RetentionRule, RetentionStart,
};
use crate::domain::record::NodeCode;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

pub mod mappings;

/// The plan schema, as shipped in `schemas/`.
pub const PLAN_SCHEMA: &str = include_str!("../schemas/plan.schema.json");

/// The default plan for a French commune, as shipped in `retention-policies/`.
pub const DEFAULT_PLAN: &str = include_str!("../retention-policies/communes-fr.toml");

/// One problem in a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFileProblem {
    /// The line (from 1) of the key at fault, or of its table.
    pub line: Option<usize>,
    /// The path of the key, such as `nodes[3].rule` (empty for the file).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PlanFileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, "{line}: ")?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

#[derive(Deserialize)]
struct RawPlan {
    plan: RawHeader,
    rules: Vec<RawRule>,
    nodes: Vec<RawNode>,
    #[serde(default)]
    classify: Vec<RawClassify>,
    #[serde(default)]
    synonyms: Vec<RawSynonyms>,
    #[serde(default)]
    invoice_templates: Vec<RawTemplate>,
    #[serde(default)]
    circuits: Vec<RawCircuit>,
    #[serde(default)]
    late_payment_rates: Vec<RawRate>,
}

#[derive(Deserialize)]
struct RawCircuit {
    code: String,
    title: String,
    nodes: Vec<String>,
    received: Option<String>,
    amount: Option<String>,
    supplier: Option<String>,
    total_days: Option<u32>,
    #[serde(default)]
    late_payment: bool,
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
struct RawStep {
    code: String,
    title: String,
    #[serde(default)]
    roles: Vec<String>,
    service: Option<String>,
    days: Option<u32>,
    clock: Option<String>,
    part: Option<String>,
    #[serde(default)]
    moves: Vec<String>,
    #[serde(default)]
    paid: bool,
    #[serde(default)]
    when: Vec<String>,
}

#[derive(Deserialize)]
struct RawRate {
    from: String,
    ecb: String,
}

#[derive(Deserialize)]
struct RawTemplate {
    supplier: String,
    keywords: Vec<String>,
    #[serde(default)]
    values: BTreeMap<String, String>,
    #[serde(default)]
    patterns: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawSynonyms {
    terms: Vec<String>,
}

#[derive(Deserialize)]
struct RawClassify {
    name: String,
    node: String,
    filename: Option<String>,
    media_type: Option<String>,
    text: Option<String>,
    #[serde(default)]
    invoice: bool,
    #[serde(default)]
    invoice_fields: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct RawHeader {
    id: String,
    title: String,
    version: String,
    authority: String,
}

#[derive(Deserialize)]
struct RawRule {
    id: String,
    duration: String,
    start: String,
    final_action: FinalAction,
    legal_reference: String,
    #[serde(default)]
    to_confirm: bool,
}

#[derive(Deserialize)]
struct RawNode {
    code: String,
    parent: Option<String>,
    title: String,
    #[serde(default)]
    description: String,
    rule: Option<String>,
    inherit: Option<bool>,
    reference: Option<String>,
    filename: Option<String>,
    #[serde(default)]
    document_types: Vec<String>,
    #[serde(default)]
    fields: Vec<RawField>,
    #[serde(default)]
    readers: Vec<String>,
    #[serde(default)]
    depositors: Vec<String>,
    #[serde(default)]
    replaces: Vec<String>,
    #[serde(default)]
    renumber_on_reclassify: bool,
    #[serde(default)]
    tombstone_keeps_title: bool,
    #[serde(default)]
    personal_data: bool,
    copies: Option<u32>,
    #[serde(default)]
    duplicate_fields: Vec<String>,
    #[serde(default)]
    read_invoices: bool,
}

#[derive(Deserialize)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    required: bool,
}

/// Finds the line of a key path in the parsed document.
pub(crate) struct Lines<'a> {
    text: &'a str,
    document: toml_edit::Document<&'a str>,
}

impl<'a> Lines<'a> {
    /// Parses `text` as TOML; a syntax error is a problem at its line.
    pub(crate) fn parse(text: &'a str) -> Result<Lines<'a>, PlanFileProblem> {
        let document = toml_edit::Document::parse(text).map_err(|e| PlanFileProblem {
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            path: String::new(),
            message: format!("not valid TOML: {}", e.message()),
        })?;
        Ok(Lines { text, document })
    }

    /// The document's top table.
    pub(crate) fn table(&self) -> &toml_edit::Table {
        self.document.as_table()
    }
}

/// One step of a key path.
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').map_or((part, ""), |(k, r)| (k, r));
        if !key.is_empty() {
            out.push(Step::Key(key.to_owned()));
        }
        for index in rest.split('[').map(|i| i.trim_end_matches(']')) {
            if let Ok(i) = index.parse() {
                out.push(Step::Index(i));
            }
        }
    }
    out
}

impl Lines<'_> {
    pub(crate) fn line_of(&self, path: &str) -> Option<usize> {
        let mut item: Option<&toml_edit::Item> = None;
        let mut table = Some(self.document.as_table());
        let mut span = None;
        for step in steps(path) {
            match step {
                Step::Key(key) => {
                    let Some(t) = table else { break };
                    match t.get_key_value(&key) {
                        Some((k, i)) => {
                            span = k.span().or(i.span()).or(span);
                            item = Some(i);
                            table = i.as_table();
                        }
                        None => break,
                    }
                }
                Step::Index(index) => match item {
                    Some(toml_edit::Item::ArrayOfTables(aot)) => match aot.get(index) {
                        Some(t) => {
                            span = t.span().or(span);
                            table = Some(t);
                            item = None;
                        }
                        None => break,
                    },
                    Some(i) => {
                        if let Some(v) = i.as_array().and_then(|a| a.get(index)) {
                            span = v.span().or(span);
                        }
                        break;
                    }
                    None => break,
                },
            }
        }
        span.map(|s| self.text[..s.start.min(self.text.len())].matches('\n').count() + 1)
    }
}

/// `/nodes/3/rule` (a JSON pointer) as `nodes[3].rule`.
fn path_of_pointer(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').filter(|p| !p.is_empty()) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if part.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    out
}

impl Lines<'_> {
    /// A problem at `path`, with the line it stands on.
    pub(crate) fn at(&self, path: String, message: String) -> PlanFileProblem {
        PlanFileProblem {
            line: self.line_of(&path),
            path,
            message,
        }
    }
}

/// Where a problem stands, for an archivist: `rules[2].duration` in the
/// file `text` becomes `règle « FACTURES », duration`, `nodes[5]` becomes
/// `nœud « FIN-FAC »` (array positions mean nothing to people).
pub fn named_path(text: &str, path: &str) -> String {
    let value: Value = toml_edit::de::from_str(text).unwrap_or(Value::Null);
    let (head, rest) = match path.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (path, None),
    };
    let Some((table, index)) = head
        .strip_suffix(']')
        .and_then(|h| h.split_once('['))
        .and_then(|(t, i)| i.parse::<usize>().ok().map(|i| (t, i)))
    else {
        return path.to_owned();
    };
    let item = &value[table][index];
    let named = match table {
        "rules" => item["id"].as_str().map(|id| format!("règle « {id} »")),
        "nodes" => item["code"].as_str().map(|code| format!("nœud « {code} »")),
        "classify" => Some(format!("règle de classement n° {}", index + 1)),
        "synonyms" => Some(format!("groupe de synonymes n° {}", index + 1)),
        "invoice_templates" => item["supplier"].as_str().map(|s| format!("modèle de facture « {s} »")),
        "circuits" => item["code"].as_str().map(|code| format!("circuit « {code} »")),
        "late_payment_rates" => item["from"].as_str().map(|from| format!("taux BCE du {from}")),
        _ => None,
    };
    match (named, rest) {
        (Some(named), Some(rest)) => format!("{named}, {rest}"),
        (Some(named), None) => named,
        (None, _) => path.to_owned(),
    }
}

/// Reads and checks a plan file's text: TOML, then the JSON Schema, then
/// rules, nodes and classification rules one by one, then the plan as a
/// whole. Every problem is reported at once, each with its line.
pub fn load_plan(text: &str) -> Result<Plan, Vec<PlanFileProblem>> {
    let lines = Lines::parse(text).map_err(|p| vec![p])?;
    let value: Value = toml_edit::de::from_str(text).map_err(|e| vec![lines.at(String::new(), e.to_string())])?;
    let schema_problems = schema_problems(&lines, &value)?;
    // Go on past schema problems when the file still reads as a plan, so
    // that every problem is reported at once.
    let raw: RawPlan = match serde_json::from_value(value) {
        Ok(raw) => raw,
        Err(_) if !schema_problems.is_empty() => return Err(schema_problems),
        Err(e) => return Err(vec![lines.at(String::new(), e.to_string())]),
    };
    let mut problems = Vec::new();
    let plan = Plan {
        header: PlanHeader {
            id: raw.plan.id,
            title: raw.plan.title,
            version: raw.plan.version,
            authority: raw.plan.authority,
        },
        rules: rules_of(&lines, raw.rules, &mut problems),
        nodes: nodes_of(&lines, raw.nodes, &mut problems),
        classify: classification_rules_of(&lines, raw.classify, &mut problems),
        synonyms: raw
            .synonyms
            .into_iter()
            .map(|s| s.terms.into_iter().map(|t| t.trim().to_owned()).collect())
            .collect(),
        invoice_templates: invoice_templates_of(&lines, raw.invoice_templates, &mut problems),
        circuits: circuits_of(&lines, raw.circuits, &mut problems),
        late_payment_rates: rates_of(&lines, raw.late_payment_rates, &mut problems),
    };
    problems.extend(plan.problems().into_iter().map(|p| lines.at(p.path, p.message)));
    // A key the schema already blamed is not blamed twice.
    problems.retain(|p| !schema_problems.iter().any(|s| s.path == p.path));
    problems.splice(0..0, schema_problems);
    if problems.is_empty() { Ok(plan) } else { Err(problems) }
}

/// What the JSON Schema says of the file, each problem where it stands.
fn schema_problems(lines: &Lines, value: &Value) -> Result<Vec<PlanFileProblem>, Vec<PlanFileProblem>> {
    let schema: Value = serde_json::from_str(PLAN_SCHEMA)
        .map_err(|e| vec![lines.at(String::new(), format!("the plan schema: {e}"))])?;
    let validator = jsonschema::validator_for(&schema)
        .map_err(|e| vec![lines.at(String::new(), format!("the plan schema: {e}"))])?;
    Ok(validator
        .iter_errors(value)
        .map(|e| {
            let mut path = path_of_pointer(e.instance_path().as_str());
            // An unexpected key is blamed where it stands, not on its table.
            if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } = e.kind()
                && let Some(key) = unexpected.first()
            {
                path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
            }
            lines.at(path, e.to_string())
        })
        .collect())
}

/// The retention rules by id.
fn rules_of(lines: &Lines, raw: Vec<RawRule>, problems: &mut Vec<PlanFileProblem>) -> BTreeMap<String, RetentionRule> {
    let mut rules = BTreeMap::new();
    for (i, r) in raw.into_iter().enumerate() {
        let duration = RetentionDuration::parse(&r.duration).map_err(|m| lines.at(format!("rules[{i}].duration"), m));
        let start = RetentionStart::parse(&r.start).map_err(|m| lines.at(format!("rules[{i}].start"), m));
        if rules.contains_key(&r.id) {
            problems.push(lines.at(
                format!("rules[{i}].id"),
                format!("the rule id {:?} is already used", r.id),
            ));
        }
        // A rule with a bad part is still known by its id, so that the
        // nodes naming it are not blamed for it.
        let (duration, start) = match (duration, start) {
            (Ok(d), Ok(s)) => (d, s),
            (d, s) => {
                let fallback = (RetentionDuration::Permanent, RetentionStart::Date);
                let (d, s) = (d.map_err(|p| problems.push(p)), s.map_err(|p| problems.push(p)));
                (d.unwrap_or(fallback.0), s.unwrap_or(fallback.1))
            }
        };
        rules.insert(
            r.id.clone(),
            RetentionRule {
                id: r.id,
                duration,
                start,
                final_action: r.final_action,
                legal_reference: r.legal_reference,
                to_confirm: r.to_confirm,
            },
        );
    }
    rules
}

/// The plan's nodes.
fn nodes_of(lines: &Lines, raw: Vec<RawNode>, problems: &mut Vec<PlanFileProblem>) -> Vec<PlanNode> {
    let mut nodes = Vec::new();
    for (i, n) in raw.into_iter().enumerate() {
        let code = NodeCode::parse(&n.code).map_err(|e| lines.at(format!("nodes[{i}].code"), e.problem));
        let parent = n
            .parent
            .as_deref()
            .map(NodeCode::parse)
            .transpose()
            .map_err(|e| lines.at(format!("nodes[{i}].parent"), e.problem));
        let template = |which: &str, source: &Option<String>| {
            source
                .as_deref()
                .map(Template::parse)
                .transpose()
                .map_err(|e| lines.at(format!("nodes[{i}].{which}"), e.problem))
        };
        let reference = template("reference", &n.reference);
        let filename = template("filename", &n.filename);
        let mut replaces = Vec::new();
        for (j, old) in n.replaces.iter().enumerate() {
            match NodeCode::parse(old) {
                Ok(c) => replaces.push(c),
                Err(e) => problems.push(lines.at(format!("nodes[{i}].replaces[{j}]"), e.problem)),
            }
        }
        let mut fields = Vec::new();
        for (j, f) in n.fields.into_iter().enumerate() {
            match FieldType::parse(&f.kind) {
                Ok(kind) => fields.push(FieldDef {
                    name: f.name,
                    kind,
                    required: f.required,
                }),
                Err(m) => problems.push(lines.at(format!("nodes[{i}].fields[{j}].type"), m)),
            }
        }
        let copies = match n.copies {
            None => None,
            Some(c @ 1..=9) => u8::try_from(c).ok(),
            Some(c) => {
                problems.push(lines.at(
                    format!("nodes[{i}].copies"),
                    format!("{c} copies : le nombre de copies à garder va de 1 à 9"),
                ));
                None
            }
        };
        match (code, parent, reference, filename) {
            (Ok(code), Ok(parent), Ok(reference), Ok(filename)) => nodes.push(PlanNode {
                code,
                parent,
                title: n.title,
                description: n.description,
                rule: n.rule,
                inherit: n.inherit.unwrap_or(true),
                reference,
                filename,
                document_types: n.document_types,
                fields,
                readers: n.readers,
                depositors: n.depositors,
                replaces,
                renumber_on_reclassify: n.renumber_on_reclassify,
                tombstone_keeps_title: n.tombstone_keeps_title,
                personal_data: n.personal_data,
                copies,
                duplicate_fields: n.duplicate_fields,
                read_invoices: n.read_invoices,
            }),
            (c, p, r, f) => problems.extend(c.err().into_iter().chain(p.err()).chain(r.err()).chain(f.err())),
        }
    }
    nodes
}

/// The automatic classification rules.
fn classification_rules_of(
    lines: &Lines,
    raw: Vec<RawClassify>,
    problems: &mut Vec<PlanFileProblem>,
) -> Vec<ClassificationRule> {
    let mut classify = Vec::new();
    for (i, c) in raw.into_iter().enumerate() {
        let pattern = |which: &str, source: &Option<String>| {
            source
                .as_deref()
                .map(|p| regex::RegexBuilder::new(p).size_limit(1 << 20).build())
                .transpose()
                .map_err(|e| {
                    lines.at(
                        format!("classify[{i}].{which}"),
                        format!("not a regular expression: {e}"),
                    )
                })
        };
        let node = NodeCode::parse(&c.node).map_err(|e| lines.at(format!("classify[{i}].node"), e.problem));
        match (node, pattern("filename", &c.filename), pattern("text", &c.text)) {
            (Ok(node), Ok(filename), Ok(text)) => classify.push(ClassificationRule {
                name: c.name,
                node,
                filename,
                media_type: c.media_type,
                text,
                invoice: c.invoice,
                invoice_fields: c.invoice_fields,
            }),
            (n, f, t) => problems.extend(n.err().into_iter().chain(f.err()).chain(t.err())),
        }
    }
    classify
}

/// The processing circuits: names read into roles, clocks, parts and
/// node codes (the plan's cross-checks do the rest).
fn circuits_of(
    lines: &Lines,
    raw: Vec<RawCircuit>,
    problems: &mut Vec<PlanFileProblem>,
) -> Vec<crate::domain::circuit::Circuit> {
    use crate::domain::circuit::{Circuit, Clock, Part, Step};
    use crate::domain::role::Role;
    let mut circuits = Vec::new();
    for (c, raw) in raw.into_iter().enumerate() {
        let before = problems.len();
        let mut nodes = Vec::new();
        for (n, code) in raw.nodes.iter().enumerate() {
            match NodeCode::parse(code) {
                Ok(code) => nodes.push(code),
                Err(e) => problems.push(lines.at(format!("circuits[{c}].nodes[{n}]"), e.to_string())),
            }
        }
        let mut steps = Vec::new();
        for (i, step) in raw.steps.into_iter().enumerate() {
            let at = format!("circuits[{c}].steps[{i}]");
            let mut roles = Vec::new();
            for (r, name) in step.roles.iter().enumerate() {
                match Role::parse(name) {
                    Some(role) => roles.push(role),
                    None => {
                        problems.push(lines.at(format!("{at}.roles[{r}]"), format!("« {name} » n'est pas un rôle")))
                    }
                }
            }
            let clock = match step.clock.as_deref() {
                None => Clock::Runs,
                Some(name) => Clock::parse(name).unwrap_or_else(|| {
                    problems.push(lines.at(format!("{at}.clock"), "runs, suspended ou stopped".to_owned()));
                    Clock::Runs
                }),
            };
            let part = step.part.as_deref().and_then(|name| {
                let part = Part::parse(name);
                if part.is_none() {
                    problems.push(lines.at(format!("{at}.part"), "ordonnateur ou comptable".to_owned()));
                }
                part
            });
            let service = step.service.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            let mut when = Vec::new();
            for (w, name) in step.when.iter().enumerate() {
                match crate::domain::circuit::Trigger::parse(name) {
                    Some(trigger) => when.push(trigger),
                    None => problems.push(lines.at(
                        format!("{at}.when[{w}]"),
                        format!(
                            "« {name} » : pes_accepted, pes_rejected ou cdv:CODE (un statut du cycle de vie d'une facture électronique, de 200 à 213, ou 501)"
                        ),
                    )),
                }
            }
            steps.push(Step {
                code: step.code,
                title: step.title,
                roles,
                service,
                days: step.days,
                clock,
                part,
                moves: step.moves,
                paid: step.paid,
                when,
            });
        }
        if problems.len() == before {
            circuits.push(Circuit {
                code: raw.code,
                title: raw.title,
                nodes,
                received: raw.received,
                amount: raw.amount,
                supplier: raw.supplier,
                total_days: raw.total_days,
                late_payment: raw.late_payment,
                steps,
            });
        }
    }
    circuits
}

/// The ECB's rates for late-payment interest: a half-year's first day and a
/// rate in percent, each half-year once.
fn rates_of(
    lines: &Lines,
    raw: Vec<RawRate>,
    problems: &mut Vec<PlanFileProblem>,
) -> Vec<crate::domain::circuit::LateRate> {
    use crate::domain::circuit::{LateRate, cents_of, half_year_of};
    let mut rates: Vec<LateRate> = Vec::new();
    for (i, rate) in raw.into_iter().enumerate() {
        let from = chrono::NaiveDate::parse_from_str(rate.from.trim(), "%Y-%m-%d")
            .ok()
            .filter(|d| half_year_of(*d) == *d);
        let Some(from) = from else {
            problems.push(lines.at(
                format!("late_payment_rates[{i}].from"),
                format!(
                    "« {} » n'est pas le premier jour d'un semestre (AAAA-01-01 ou AAAA-07-01)",
                    rate.from
                ),
            ));
            continue;
        };
        let Some(ecb_bp) = cents_of(&rate.ecb).filter(|bp| (0..=10_000).contains(bp)) else {
            problems.push(lines.at(
                format!("late_payment_rates[{i}].ecb"),
                format!("« {} » n'est pas un taux en pour cent, tel que 4.50", rate.ecb),
            ));
            continue;
        };
        if rates.iter().any(|r| r.from == from) {
            problems.push(lines.at(
                format!("late_payment_rates[{i}].from"),
                format!("le taux du {} est déjà donné", from.format("%d/%m/%Y")),
            ));
            continue;
        }
        rates.push(LateRate { from, ecb_bp });
    }
    rates.sort_by_key(|r| r.from);
    rates
}

/// The suppliers' invoice templates: a supplier named, keywords, fields an
/// invoice reading gives, patterns that compile.
fn invoice_templates_of(
    lines: &Lines,
    raw: Vec<RawTemplate>,
    problems: &mut Vec<PlanFileProblem>,
) -> Vec<crate::domain::reading::InvoiceTemplate> {
    use crate::domain::reading::INVOICE_FIELDS;
    let fields = INVOICE_FIELDS.join(", ");
    let mut templates = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let before = problems.len();
        let supplier = t.supplier.trim().to_owned();
        if supplier.is_empty() {
            problems.push(lines.at(
                format!("invoice_templates[{i}].supplier"),
                "nommez le fournisseur dont ce modèle lit les factures".into(),
            ));
        }
        let keywords: Vec<String> = t
            .keywords
            .iter()
            .map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .collect();
        if keywords.is_empty() {
            problems.push(lines.at(
                format!("invoice_templates[{i}].keywords"),
                "donnez au moins un mot-clé que toutes les factures de ce fournisseur portent".into(),
            ));
        }
        for (table, names) in [("values", t.values.keys()), ("patterns", t.patterns.keys())] {
            for name in names.filter(|n| !INVOICE_FIELDS.contains(&n.as_str())) {
                problems.push(lines.at(
                    format!("invoice_templates[{i}].{table}.{name}"),
                    format!("« {name} » n'est pas un champ de facture ; ce sont : {fields}"),
                ));
            }
        }
        let mut patterns = BTreeMap::new();
        for (name, source) in t.patterns {
            match regex::RegexBuilder::new(&source).size_limit(1 << 20).build() {
                Ok(re) => {
                    patterns.insert(name, re);
                }
                Err(e) => problems.push(lines.at(
                    format!("invoice_templates[{i}].patterns.{name}"),
                    format!("ce n'est pas une expression régulière : {e}"),
                )),
            }
        }
        if problems.len() == before {
            templates.push(crate::domain::reading::InvoiceTemplate {
                supplier,
                keywords,
                values: t.values,
                patterns,
            });
        }
    }
    templates
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoice_templates_are_read_and_their_mistakes_said_at_their_line() {
        let good = format!(
            "{DEFAULT_PLAN}\n[[invoice_templates]]\nsupplier = \"Au Bon Pain\"\nkeywords = [\"au bon pain\"]\n\
             values = {{ siret = \"73282932000074\" }}\npatterns = {{ montant_ttc = 'À régler ([0-9 ,]+)' }}\n"
        );
        let plan = load_plan(&good).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(plan.invoice_templates.len(), 1);
        assert_eq!(plan.invoice_templates[0].supplier, "Au Bon Pain");
        let bad = format!(
            "{DEFAULT_PLAN}\n[[invoice_templates]]\nsupplier = \"Au Bon Pain\"\nkeywords = [\"au bon pain\"]\n\
             values = {{ tva_intracom = \"FR00\" }}\npatterns = {{ montant_ttc = '([0-9' }}\n"
        );
        let problems = load_plan(&bad).expect_err("two mistakes");
        let at = |path: &str| problems.iter().find(|p| p.path == path);
        let unknown = at("invoice_templates[0].values.tva_intracom").expect("an unknown field");
        assert!(
            unknown.message.contains("n'est pas un champ de facture") && unknown.line.is_some(),
            "{unknown:?}"
        );
        let pattern = at("invoice_templates[0].patterns.montant_ttc").expect("a broken pattern");
        assert!(
            pattern.message.contains("expression régulière") && pattern.line.is_some(),
            "{pattern:?}"
        );
        assert_eq!(
            named_path(&bad, "invoice_templates[0].patterns.montant_ttc"),
            "modèle de facture « Au Bon Pain », patterns.montant_ttc"
        );
    }

    #[test]
    fn the_default_plan_is_valid() {
        let plan = load_plan(DEFAULT_PLAN).unwrap_or_else(|p| panic!("{p:?}"));
        for code in [
            "ADM-DEL", "ADM-ARR", "FIN-FAC", "FIN-TIT", "FIN-MAN", "MAR-OFF", "MAR-ATT", "RH-DOS",
        ] {
            assert!(plan.nodes.iter().any(|n| n.code.as_str() == code), "{code}");
        }
        assert!(plan.rules.values().all(|r| !r.legal_reference.is_empty()));
    }

    #[test]
    fn rules_readers_and_templates_are_inherited_down_the_tree() {
        use crate::domain::plan::Access;
        let code = |c: &str| NodeCode::parse(c).unwrap();
        let plan = load_plan(DEFAULT_PLAN).unwrap();
        let (rule, from) = plan.rule_for(&code("FIN-FAC")).unwrap();
        assert_eq!((rule.id.as_str(), from.as_str()), ("FACTURES", "FIN-FAC"));
        assert!(plan.rule_for(&code("FIN")).is_none());
        assert!(
            !plan.allows(&code("RH-DOS"), "agent", Access::Read),
            "RH's readers hold for RH-DOS"
        );
        assert!(plan.allows(&code("RH-DOS"), "auditor", Access::Read));
        assert!(!plan.allows(&code("RH-DOS"), "auditor", Access::Deposit));
        assert!(plan.allows(&code("FIN-FAC"), "agent", Access::Deposit));
        assert_eq!(
            plan.reference_template(&code("FIN-FAC"))
                .map(ToString::to_string)
                .as_deref(),
            Some("{node}-{year}-{seq@year:06}")
        );
        assert_eq!(plan.path(&code("FIN-FAC")), vec![code("FIN"), code("FIN-FAC")]);
        // A child with a rule of its own, under a parent given one: the
        // child's wins; one that stops inheritance has none.
        let text = DEFAULT_PLAN
            .replacen("code = \"FIN\"\n", "code = \"FIN\"\nrule = \"GRAND-LIVRE\"\n", 1)
            .replacen(
                "code = \"FIN-TRE\"\nparent = \"FIN\"\ntitle = \"États de trésorerie\"\nrule = \"TRESORERIE\"\n",
                "code = \"FIN-TRE\"\nparent = \"FIN\"\ntitle = \"États de trésorerie\"\ninherit = false\n",
                1,
            )
            .replacen(
                "code = \"FIN-BOR\"\nparent = \"FIN\"\ntitle = \"Bordereaux-journaux des titres et des mandats\"\nrule = \"BORDEREAUX\"\n",
                "code = \"FIN-BOR\"\nparent = \"FIN\"\ntitle = \"Bordereaux-journaux des titres et des mandats\"\n",
                1,
            );
        let plan = load_plan(&text).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(plan.rule_for(&code("FIN-FAC")).unwrap().0.id, "FACTURES");
        assert!(plan.rule_for(&code("FIN-TRE")).is_none(), "inheritance stopped");
        let (rule, from) = plan.rule_for(&code("FIN-BOR")).unwrap();
        assert_eq!((rule.id.as_str(), from.as_str()), ("GRAND-LIVRE", "FIN"));
    }

    #[test]
    fn the_copies_a_node_needs_are_inherited_and_bounded() {
        let code = |c: &str| NodeCode::parse(c).unwrap();
        let plan = load_plan(DEFAULT_PLAN).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(plan.copies_required(&code("FIN-FAC")), None, "unsaid: every store");
        let text = DEFAULT_PLAN
            .replacen("code = \"FIN\"\n", "code = \"FIN\"\ncopies = 2\n", 1)
            .replacen("code = \"FIN-FAC\"\n", "code = \"FIN-FAC\"\ncopies = 1\n", 1);
        let plan = load_plan(&text).unwrap_or_else(|p| panic!("{p:?}"));
        assert_eq!(plan.copies_required(&code("FIN-FAC")), Some(1), "its own");
        assert_eq!(plan.copies_required(&code("FIN-MAN")), Some(2), "its parent's");
        assert_eq!(plan.copies_required(&code("ADM-DEL")), None);
        for wrong in ["0", "10"] {
            let text = DEFAULT_PLAN.replacen("code = \"FIN\"\n", &format!("code = \"FIN\"\ncopies = {wrong}\n"), 1);
            let problems = load_plan(&text).expect_err("out of bounds");
            assert!(format!("{problems:?}").contains("copies"), "{problems:?}");
        }
    }

    #[test]
    fn personal_data_is_said_of_a_node_and_of_every_node_below_it() {
        let plan = load_plan(DEFAULT_PLAN).unwrap_or_else(|p| panic!("{p:?}"));
        let code = |c: &str| NodeCode::parse(c).unwrap();
        assert!(plan.holds_personal_data(&code("RH")));
        assert!(plan.holds_personal_data(&code("RH-DOS")), "inherited");
        assert!(!plan.holds_personal_data(&code("FIN-FAC")));
        let off = load_plan(&DEFAULT_PLAN.replace("personal_data = true", "")).unwrap_or_else(|p| panic!("{p:?}"));
        assert!(!off.holds_personal_data(&code("RH-DOS")));
    }

    #[test]
    fn duplicate_fields_are_inherited_and_must_name_fields_of_the_node() {
        let plan = load_plan(DEFAULT_PLAN).unwrap_or_else(|p| panic!("{p:?}"));
        let code = |c: &str| NodeCode::parse(c).unwrap();
        assert_eq!(
            plan.duplicate_fields_for(&code("FIN-FAC")),
            ["fournisseur", "numero_facture"]
        );
        assert!(plan.duplicate_fields_for(&code("FIN-MAN")).is_empty());
        let wrong = DEFAULT_PLAN.replace(
            "duplicate_fields = [\"fournisseur\", \"numero_facture\"]",
            "duplicate_fields = [\"fournisseur\", \"objet\"]",
        );
        let problems = load_plan(&wrong).expect_err("an unknown field");
        assert!(
            problems.iter().any(|p| p.path.ends_with(".duplicate_fields[1]")
                && p.message.contains("\"objet\" is not a field of FIN-FAC")
                && p.line.is_some()),
            "{problems:?}"
        );
    }

    #[test]
    fn classification_rules_are_checked() {
        let with = |rule: &str| format!("{DEFAULT_PLAN}\n[[classify]]\nname = \"essai\"\n{rule}\n");
        let cases = [
            (
                "node = \"NOPE\"\ninvoice = true",
                "classify[5].node",
                "no node has the code NOPE",
            ),
            (
                "node = \"FIN-FAC\"\ntext = '(unclosed'",
                "classify[5].text",
                "not a regular expression",
            ),
            (
                "node = \"FIN-FAC\"\ntext = '(?P<tva_intracom>[0-9]+)'",
                "classify[5].text",
                "\"tva_intracom\" names no field",
            ),
            ("node = \"FIN-FAC\"", "classify[5]", "at least one condition"),
            (
                "node = \"FIN-FAC\"\ninvoice = true\ninvoice_fields = { fournisseur = \"vendor\" }",
                "classify[5].invoice_fields.fournisseur",
                "\"vendor\" is not",
            ),
        ];
        for (rule, path, message) in cases {
            let text = with(rule);
            let problems = load_plan(&text).expect_err(rule);
            assert!(
                problems
                    .iter()
                    .any(|p| p.path.starts_with(path) && p.message.contains(message) && p.line.is_some()),
                "{rule}: {problems:?}"
            );
        }
    }

    #[test]
    fn problems_name_rules_and_nodes_by_their_ids() {
        let text = DEFAULT_PLAN;
        let rule_index = load_plan(text)
            .map(|_| ())
            .ok()
            .and_then(|_| {
                let value: Value = toml_edit::de::from_str(text).ok()?;
                value["rules"].as_array()?.iter().position(|r| r["id"] == "FACTURES")
            })
            .expect("FACTURES is a rule of the default plan");
        assert_eq!(
            named_path(text, &format!("rules[{rule_index}].duration")),
            "règle « FACTURES », duration"
        );
        let value: Value = toml_edit::de::from_str(text).expect("TOML");
        let node_index = value["nodes"]
            .as_array()
            .and_then(|n| n.iter().position(|n| n["code"] == "FIN-FAC"))
            .expect("FIN-FAC");
        assert_eq!(named_path(text, &format!("nodes[{node_index}]")), "nœud « FIN-FAC »");
        assert_eq!(named_path(text, "classify[0].node"), "règle de classement n° 1, node");
        assert_eq!(named_path(text, "plan.version"), "plan.version");
        assert_eq!(named_path(text, "nodes[9999].rule"), "nodes[9999].rule");
        assert_eq!(named_path("not toml [", "rules[0]"), "rules[0]");
    }

    #[test]
    fn paths_map_to_lines() {
        assert_eq!(path_of_pointer("/nodes/3/rule"), "nodes[3].rule");
        let text = "[plan]\nid = \"x\"\n\n[[nodes]]\ncode = \"A\"\n\n[[nodes]]\ncode = \"B\"\nrule = \"R\"\n";
        let lines = Lines {
            text,
            document: toml_edit::Document::parse(text).unwrap(),
        };
        assert_eq!(lines.line_of("nodes[1].rule"), Some(9));
        assert_eq!(lines.line_of("plan.id"), Some(2));
        assert_eq!(lines.line_of("nodes[1].missing"), Some(7));
    }
}
