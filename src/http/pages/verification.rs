//! « À vérifier »: the verification queue for people. The list of the
//! records that wait (oldest first, why each waits) with what people have
//! checked and corrected so far; and, for one record, a form with each
//! field as it stands or as it was read (with its confidence and why it is
//! doubtful), the node when a rule chose it, and the document to look at.
//! Validating it confirms or corrects the description: the record leaves
//! the queue and the next one is offered.

use super::{Frame, NodeOption, PageError, Signed, french, html, node_options};
use crate::archive::verification::Verification;
use crate::archive::{Archive, ArchiveError, RecordDetails};
use crate::domain::plan::{FieldDef, FieldType};
use crate::domain::record::Record;
use crate::domain::verification::{NODE_FIELD, VerifyReason};
use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Records per page of the list.
const PAGE: usize = 50;

/// Where the form's problems say the document's date is wrong (no field's
/// name begins with `@`).
const DATE_PROBLEM: &str = "@date";

/// A waiting record as the list shows it.
pub struct WaitingView {
    reference: String,
    title: String,
    deposited: String,
    by: String,
    node: String,
    why: String,
}

/// Checked and corrected, for one field.
pub struct CountView {
    label: String,
    checked: u64,
    corrected: u64,
    rate: String,
}

#[derive(Template)]
#[template(path = "a_verifier.html")]
struct QueuePage {
    frame: Frame,
    records: Vec<WaitingView>,
    waiting: u64,
    next: Option<String>,
    notice: Option<String>,
    counts: Vec<CountView>,
}

/// `?apres=&verifie=`.
#[derive(Debug, Default, Deserialize)]
pub struct QueueParams {
    #[serde(default)]
    apres: String,
    #[serde(default)]
    verifie: String,
}

/// Why a record waits, in a sentence.
fn why(record: &Record) -> String {
    let Some(waiting) = &record.to_verify else {
        return String::new();
    };
    waiting
        .reasons
        .iter()
        .map(|r| match r {
            VerifyReason::Classification { rule } => format!("classé par la règle « {rule} »"),
            VerifyReason::Reading { fields } => {
                let names: Vec<String> = fields.iter().map(|f| french::field_words(f)).collect();
                format!("à relire : {}", french::and_list(&names))
            }
        })
        .collect::<Vec<_>>()
        .join(" ; ")
}

/// The list.
pub async fn queue(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<QueueParams>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let after = Some(params.apres.trim().to_owned()).filter(|a| !a.is_empty());
    let (page, counts, plan) = web::block(move || {
        let page = archive.verification_queue(&actor, after.as_deref(), PAGE)?;
        let counts = archive.verification_counts(&actor)?;
        let plan = archive.plan(&actor, None)?;
        Ok::<_, ArchiveError>((page, counts, plan))
    })
    .await??;
    let records = page
        .records
        .iter()
        .map(|r| WaitingView {
            reference: r.reference.to_string(),
            title: r.title.clone(),
            deposited: french::time(r.created_at),
            by: french::actor(&r.created_by),
            node: plan
                .plan
                .node(&r.node)
                .map(|n| format!("{} ({})", n.title, r.node))
                .unwrap_or_else(|| r.node.to_string()),
            why: why(r),
        })
        .collect();
    let counts = counts
        .counts
        .iter()
        .filter(|(k, _)| k.supplier.is_none())
        .map(|(k, c)| CountView {
            label: if k.field == NODE_FIELD {
                "Classement".to_owned()
            } else {
                french::field_label(&k.field)
            },
            checked: c.checked,
            corrected: c.corrected,
            rate: percent(c.corrected, c.checked),
        })
        .collect();
    let notice = Some(params.verifie.trim())
        .filter(|r| !r.is_empty())
        .map(|r| format!("La description de {r} est vérifiée."));
    let page = QueuePage {
        frame: signed.frame("À vérifier", "verification"),
        records,
        waiting: page.waiting,
        next: page.next,
        notice,
        counts,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `12,5 %` of `total` (an em dash when nothing was checked).
fn percent(part: u64, total: u64) -> String {
    if total == 0 {
        return "—".to_owned();
    }
    let tenths = (part * 1000 + total / 2) / total;
    format!("{},{}\u{a0}%", tenths / 10, tenths % 10)
}

/// One field of the form.
pub struct FieldInput {
    /// The input's name (`champ.<field>`).
    name: String,
    /// Its id.
    id: String,
    label: String,
    /// As typed, or as it stands, or as it was read.
    value: String,
    /// What was read, as people write it, when it was.
    read: Option<String>,
    /// The reading's confidence, in percent.
    confidence: Option<u8>,
    /// Why it is doubtful.
    doubt: Option<String>,
    /// Whether the queue asks to look at it.
    flagged: bool,
    /// Why what was typed does not fit.
    problem: Option<String>,
    /// `decimal`, `date`, `integer`, `text`.
    kind: &'static str,
    /// How to write it.
    hint: &'static str,
}

#[derive(Template)]
#[template(path = "a_verifier_document.html")]
struct RecordForm {
    frame: Frame,
    reference: String,
    title: String,
    deposited: String,
    node_label: String,
    why: String,
    rule: Option<String>,
    nodes: Vec<NodeOption>,
    node: String,
    date: String,
    comment: String,
    fields: Vec<FieldInput>,
    problem: Option<String>,
    date_problem: Option<String>,
    /// The supplier whose template read it, when one did.
    template: Option<String>,
    /// Live records of its node with its values in the node's duplicate
    /// fields (reference, title): probably the same invoice received twice.
    duplicates: Vec<(String, String)>,
}

/// The fields the form offers: the node's, then any other read.
fn offered(defs: &[FieldDef], record: &Record) -> Vec<(String, Option<FieldType>)> {
    let mut out: Vec<(String, Option<FieldType>)> =
        defs.iter().map(|d| (d.name.clone(), Some(d.kind.clone()))).collect();
    if let Some(reading) = &record.reading {
        for f in &reading.fields {
            if !out.iter().any(|(n, _)| n == &f.name) {
                out.push((f.name.clone(), None));
            }
        }
    }
    out
}

fn kind_words(kind: Option<&FieldType>) -> (&'static str, &'static str) {
    match kind {
        Some(FieldType::Decimal) => ("decimal", "comme 1 200,50"),
        Some(FieldType::Date) => ("date", "jj/mm/aaaa"),
        Some(FieldType::Integer) => ("integer", ""),
        _ => ("text", ""),
    }
}

/// The form of one record, with what was typed (`typed`, by field) and
/// the problems found in it.
fn record_form(
    signed: &Signed,
    (record, details): (&Record, &RecordDetails),
    plan: &crate::domain::plan::Plan,
    typed: Option<&Typed>,
    problems: &BTreeMap<String, String>,
    problem: Option<String>,
) -> RecordForm {
    let flagged: Vec<String> = record
        .to_verify
        .iter()
        .flat_map(|w| &w.reasons)
        .flat_map(|r| match r {
            VerifyReason::Reading { fields } => fields.clone(),
            VerifyReason::Classification { .. } => Vec::new(),
        })
        .collect();
    let rule = record.to_verify.iter().flat_map(|w| &w.reasons).find_map(|r| match r {
        VerifyReason::Classification { rule } => Some(rule.clone()),
        VerifyReason::Reading { .. } => None,
    });
    let defs = plan.fields_for(&record.node);
    let fields = offered(&defs, record)
        .into_iter()
        .map(|(name, kind)| {
            let read = record.reading.as_ref().and_then(|r| r.field(&name));
            let shown = |value: &str| french::field_value(kind.as_ref(), &name, value);
            let value = match typed.and_then(|t| t.fields.get(&name)) {
                Some(v) => v.clone(),
                None => record
                    .fields
                    .get(&name)
                    .or(read.map(|r| &r.value))
                    .map(|v| shown(v))
                    .unwrap_or_default(),
            };
            let (kind_name, hint) = kind_words(kind.as_ref());
            FieldInput {
                id: format!("champ-{name}"),
                name: format!("champ.{name}"),
                label: french::field_label(&name),
                value,
                read: read.map(|r| shown(&r.value)),
                confidence: read.map(|r| r.confidence),
                doubt: read.and_then(|r| r.doubt.clone()),
                flagged: flagged.contains(&name),
                problem: problems.get(&name).cloned(),
                kind: kind_name,
                hint,
            }
        })
        .collect();
    RecordForm {
        frame: signed.frame(format!("Vérifier {}", record.reference), "verification"),
        reference: record.reference.to_string(),
        title: record.title.clone(),
        deposited: french::time(record.created_at),
        node_label: plan
            .node(&record.node)
            .map(|n| format!("{} ({})", n.title, record.node))
            .unwrap_or_else(|| record.node.to_string()),
        why: why(record),
        rule,
        nodes: node_options(plan),
        node: typed.map_or_else(|| record.node.to_string(), |t| t.node.clone()),
        date: typed.map_or_else(|| french::date(record.date), |t| t.date.clone()),
        comment: typed.map(|t| t.comment.clone()).unwrap_or_default(),
        fields,
        problem,
        date_problem: problems.get(DATE_PROBLEM).cloned(),
        template: record.reading.as_ref().and_then(|r| r.template.clone()),
        duplicates: details
            .probable_duplicates
            .iter()
            .map(|(reference, title)| (reference.to_string(), title.clone()))
            .collect(),
    }
}

/// A record, what the plan says of it, and the plan in force.
fn waiting_record(
    archive: &Archive,
    actor: &crate::archive::Actor,
    key: &str,
) -> Result<(Record, RecordDetails, std::sync::Arc<crate::archive::PublishedPlan>), ArchiveError> {
    let record = archive.record(actor, key)?;
    let details = archive.details(actor, &record)?;
    let plan = archive.plan(actor, None)?;
    Ok((record, details, plan))
}

/// One record's form.
pub async fn form(signed: Signed, archive: Data<Archive>, key: web::Path<String>) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let (record, details, plan) = web::block(move || waiting_record(&archive, &actor, &key)).await??;
    if record.to_verify.is_none() {
        return Err(PageError::Archive(ArchiveError::NotAwaitingVerification(
            record.reference.to_string(),
        )));
    }
    let page = record_form(&signed, (&record, &details), &plan.plan, None, &BTreeMap::new(), None);
    Ok(html(StatusCode::OK, &page))
}

/// What the form sent.
struct Typed {
    node: String,
    date: String,
    comment: String,
    fields: BTreeMap<String, String>,
}

/// Takes the form: the values typed read as their fields' types; a value
/// that does not fit, or a refusal of the archive, shows the form again
/// with what was typed and why. Verified, back to the list.
pub async fn submit(
    signed: Signed,
    archive: Data<Archive>,
    key: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let value = |name: &str| super::form_value(&form, name).trim().to_owned();
    signed.check_form(&value("csrf"))?;
    let typed = Typed {
        node: value("noeud"),
        date: value("date"),
        comment: value("commentaire"),
        fields: form
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("champ.").map(|n| (n.to_owned(), v.trim().to_owned())))
            .collect(),
    };
    let actor = signed.actor.clone();
    let key = key.into_inner();
    let reading = archive.clone();
    let (record, details, plan) = web::block(move || waiting_record(&reading, &actor, &key)).await??;
    let node = Some(typed.node.clone()).filter(|n| !n.is_empty() && *n != record.node.as_str());
    // The fields' types are those of the node kept.
    let kinds: BTreeMap<String, FieldType> =
        crate::domain::record::NodeCode::parse(node.as_deref().unwrap_or(record.node.as_str()))
            .map(|code| plan.plan.fields_for(&code))
            .unwrap_or_default()
            .into_iter()
            .map(|d| (d.name, d.kind))
            .collect();
    let mut problems = BTreeMap::new();
    let mut fields = BTreeMap::new();
    // The form shows every field of the node: only those that differ from
    // what the record holds are sent, so that the fields counted as
    // checked are those read, those the queue named, and those changed.
    for (name, text) in &typed.fields {
        let holds = record.fields.get(name);
        if text.is_empty() {
            if holds.is_some() {
                fields.insert(name.clone(), None);
            }
            continue;
        }
        match french::typed_value(kinds.get(name).unwrap_or(&FieldType::Text), text) {
            Ok(v) if holds == Some(&v) => {}
            Ok(v) => {
                fields.insert(name.clone(), Some(v));
            }
            Err(why) => {
                problems.insert(name.clone(), why);
            }
        }
    }
    let date = match french::parse_date(&typed.date) {
        Some(d) if d != record.date => Some(d.format("%Y-%m-%d").to_string()),
        Some(_) => None,
        None if typed.date.is_empty() => None,
        None => {
            let why = format!(
                "« {} » n'est pas une date : écrivez-la sous la forme 15/03/2024",
                typed.date
            );
            problems.insert(DATE_PROBLEM.to_owned(), why);
            None
        }
    };
    let again = |problems: &BTreeMap<String, String>, problem: String, code: crate::errors::Code| {
        let page = record_form(
            &signed,
            (&record, &details),
            &plan.plan,
            Some(&typed),
            problems,
            Some(problem),
        );
        html(super::status_of(code), &page)
    };
    if !problems.is_empty() {
        let problem = "Certaines valeurs ne conviennent pas : corrigez-les, puis validez.".to_owned();
        return Ok(again(&problems, problem, crate::errors::Code::InvalidField));
    }
    let verification = Verification {
        fields,
        node,
        date,
        comment: Some(typed.comment.clone()).filter(|c| !c.is_empty()),
    };
    let actor = signed.actor.clone();
    let reference = record.reference.to_string();
    match web::block(move || archive.verify_description(&actor, &reference, verification)).await? {
        Ok(verified) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/a-verifier?verifie={}", verified.reference)))
            .finish()),
        Err(e @ (ArchiveError::Invalid(_) | ArchiveError::NodeForbidden { .. })) => {
            Ok(again(&problems, e.to_string(), e.code()))
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}
