//! Depositing from the browser, in three steps that work without
//! JavaScript:
//!
//! 1. `GET /deposer`: files (several, dropped on the field or chosen) and,
//!    optionally, the node;
//! 2. `POST /deposer`: each file is staged and the archive proposes its
//!    deposit (the node its rules choose, the fields and date read from an
//!    invoice, the records that already hold the same content); the person
//!    reviews and corrects it at `/deposer/{lot}`: the node's fields as a
//!    form with their types, dates and amounts typed the French way,
//!    errors next to each field and summed up at the top;
//! 3. `POST /deposer/{lot}`: everything is checked, then deposited; the
//!    page shows each accusé de dépôt (reference, SHA-256, time).
//!
//! Staged files wait in the server's memory for their person (an hour at
//! most, then they are dropped with their staging files), never in the
//! archive: nothing is deposited before the person confirms.

use super::{Frame, PageError, Signed, api, french, html, session};
use crate::archive::{Archive, ArchiveError, Deposit, Proposal, Upload};
use crate::domain::account::UserName;
use crate::domain::plan::{Access, FieldType, Plan};
use crate::domain::record::NodeCode;
use crate::http::records::{drain, filename_of, multipart_error, next_item, read_small_part, stage_part};
use actix_multipart::Multipart;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long staged files wait for their person's confirmation.
const PENDING_FOR: Duration = Duration::from_secs(60 * 60);

/// The most files one deposit form takes at once.
const FILES_MAX: usize = 50;

/// The most lots waiting across the server (each holds staging files).
const LOTS_MAX: usize = 2_000;

/// What the person typed for one file, as typed.
#[derive(Debug, Clone, Default)]
struct Typed {
    node: String,
    title: String,
    date: String,
    service: String,
    fields: BTreeMap<String, String>,
}

/// A file waiting for confirmation.
struct PendingFile {
    upload: Option<Upload>,
    filename: String,
    proposal: Proposal,
    typed: Typed,
}

/// A file deposited.
#[derive(Clone)]
struct Deposited {
    reference: String,
    title: String,
    sha256: String,
    time: String,
}

/// A file the archive refused at the last step.
#[derive(Clone)]
struct Refused {
    filename: String,
    reason: String,
}

/// One form's files, from upload to deposit.
struct Lot {
    owner: UserName,
    created: Instant,
    files: Vec<PendingFile>,
    deposited: Vec<Deposited>,
    refused: Vec<Refused>,
}

/// Every lot waiting, by its random id.
#[derive(Default)]
pub struct PendingDeposits {
    lots: Mutex<HashMap<String, Lot>>,
}

impl PendingDeposits {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lot>> {
        let mut lots = self.lots.lock().unwrap_or_else(|p| p.into_inner());
        lots.retain(|_, lot| lot.created.elapsed() < PENDING_FOR);
        lots
    }
}

/// A node a person may deposit in, for the choice.
pub struct NodeChoice {
    code: String,
    label: String,
}

/// A group of nodes under one top-level node of the plan.
pub struct NodeGroup {
    label: String,
    nodes: Vec<NodeChoice>,
}

/// The nodes the role may deposit in (those with a retention rule), under
/// their top-level node, in the plan's order.
fn deposit_nodes(plan: &Plan, role: &str) -> Vec<NodeGroup> {
    matching_deposit_nodes(plan, role, "")
}

/// The nodes the role may deposit in whose code or titles (its own and
/// its parents') hold every word of `wanted`, whatever the accents and
/// case; all of them when `wanted` is blank.
fn matching_deposit_nodes(plan: &Plan, role: &str, wanted: &str) -> Vec<NodeGroup> {
    let words: Vec<String> = french::folded(wanted).split_whitespace().map(str::to_owned).collect();
    let mut groups: Vec<NodeGroup> = Vec::new();
    for node in &plan.nodes {
        if plan.rule_for(&node.code).is_none() || !plan.allows(&node.code, role, Access::Deposit) {
            continue;
        }
        // The lineage runs from the node up to the root: the root names the
        // group, the nodes between it and this one prefix the label.
        let lineage = plan.lineage(&node.code);
        let top = lineage.last().map(|n| n.title.clone()).unwrap_or_default();
        let between: Vec<&str> = match lineage.len() {
            0..=2 => Vec::new(),
            n => lineage[1..n - 1].iter().rev().map(|n| n.title.as_str()).collect(),
        };
        let label = if between.is_empty() {
            format!("{} ({})", node.title, node.code)
        } else {
            format!("{} › {} ({})", between.join(" › "), node.title, node.code)
        };
        let searched = french::folded(&format!("{top} {label}"));
        if !words.iter().all(|w| searched.contains(w.as_str())) {
            continue;
        }
        let choice = NodeChoice {
            code: node.code.to_string(),
            label,
        };
        match groups.iter_mut().find(|g| g.label == top) {
            Some(group) => group.nodes.push(choice),
            None => groups.push(NodeGroup {
                label: top,
                nodes: vec![choice],
            }),
        }
    }
    groups
}

#[derive(Template)]
#[template(path = "deposit.html")]
struct DepositPage {
    frame: Frame,
    groups: Vec<NodeGroup>,
    /// What the person looked for among the nodes (`?classement=`).
    wanted: String,
    /// Nodes found for it.
    found: usize,
    error: Option<String>,
    max_upload: String,
}

/// `?classement=`: words to find a node by.
#[derive(Debug, Default, Deserialize)]
pub struct FormParams {
    #[serde(default)]
    classement: String,
}

/// The deposit form; `?classement=` narrows the nodes offered to those
/// whose code or titles hold its words.
pub async fn form(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<FormParams>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let max_upload = french::size(archive.max_upload());
    let plan = web::block(move || archive.plan(&actor, None)).await??;
    let wanted = params.into_inner().classement.trim().to_owned();
    let groups = matching_deposit_nodes(&plan.plan, signed.actor.role.as_str(), &wanted);
    let page = DepositPage {
        frame: signed.frame("Déposer des documents", "deposit"),
        found: groups.iter().map(|g| g.nodes.len()).sum(),
        groups,
        wanted,
        error: None,
        max_upload,
    };
    Ok(html(StatusCode::OK, &page))
}

/// Reads the deposit form (multipart): its token first, then the node,
/// then each file, staged as it streams in.
pub async fn upload(
    signed: Signed,
    archive: Data<Archive>,
    pending: Data<PendingDeposits>,
    mut payload: Multipart,
) -> Result<HttpResponse, PageError> {
    let mut token_checked = false;
    let mut node = String::new();
    let mut uploads: Vec<Upload> = Vec::new();
    loop {
        let next = next_item(&mut payload)
            .await
            .transpose()
            .map_err(|e| api(multipart_error(e)))?;
        let Some(mut field) = next else { break };
        match field.name().unwrap_or_default() {
            "csrf" => {
                let token = String::from_utf8(read_small_part(&mut field).await.map_err(api)?).unwrap_or_default();
                signed.check_form(token.trim())?;
                token_checked = true;
            }
            // Nothing is read or kept before the form's token is checked.
            _ if !token_checked => return Err(PageError::Forged),
            "noeud" => {
                node = String::from_utf8_lossy(&read_small_part(&mut field).await.map_err(api)?)
                    .trim()
                    .to_owned();
            }
            "fichiers" => {
                let filename = filename_of(&field).map_err(api)?;
                if filename.as_deref().is_none_or(str::is_empty) {
                    // An empty file field (no file chosen) sends a part with no name.
                    continue;
                }
                if uploads.len() >= FILES_MAX {
                    drain(field, &mut payload).await;
                    return Err(refusal(format!(
                        "Un dépôt prend au plus {FILES_MAX} fichiers à la fois : déposez les autres ensuite."
                    )));
                }
                match stage_part(&archive, &mut field).await {
                    Ok(staged) => uploads.push(Upload { staged, filename }),
                    Err(e) => {
                        if e.code() == "payload_too_large" {
                            drain(field, &mut payload).await;
                        }
                        return Err(api(e));
                    }
                }
            }
            _ => {}
        }
    }
    if !token_checked {
        return Err(PageError::Forged);
    }
    if uploads.is_empty() {
        return Err(refusal("Choisissez au moins un fichier à déposer.".into()));
    }
    let actor = signed.actor.clone();
    let given_node = (!node.is_empty()).then_some(node);
    let files = web::block(move || {
        uploads
            .into_iter()
            .map(|upload| {
                let given = Deposit {
                    node: given_node.clone(),
                    ..Deposit::default()
                };
                let proposal = archive.propose(&actor, &upload, given)?;
                let filename = upload.filename.clone().unwrap_or_default();
                let typed = typed_from(&proposal, &filename);
                Ok(PendingFile {
                    upload: Some(upload),
                    filename,
                    proposal,
                    typed,
                })
            })
            .collect::<Result<Vec<_>, ArchiveError>>()
    })
    .await??;
    let id = session::random_token().map_err(|e| PageError::Internal(e.to_string()))?;
    {
        let mut lots = pending.lock();
        if lots.len() >= LOTS_MAX {
            return Err(PageError::Archive(ArchiveError::LimitExceeded(
                "Trop de dépôts attendent une confirmation sur ce serveur : réessayez dans quelques minutes.".into(),
            )));
        }
        lots.insert(
            id.clone(),
            Lot {
                owner: signed.account.user.clone(),
                created: Instant::now(),
                files,
                deposited: Vec::new(),
                refused: Vec::new(),
            },
        );
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/deposer/{id}")))
        .finish())
}

fn refusal(message: String) -> PageError {
    PageError::Archive(ArchiveError::Invalid(crate::domain::record::InvalidInput::new(
        "fichiers", message,
    )))
}

/// The form's first values: what the archive proposes, shown the French way.
fn typed_from(proposal: &Proposal, filename: &str) -> Typed {
    let deposit = &proposal.deposit;
    let title = deposit.title.clone().unwrap_or_else(|| {
        std::path::Path::new(filename)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let date = deposit
        .date
        .as_deref()
        .and_then(french::parse_date)
        .map(french::date)
        .unwrap_or_default();
    Typed {
        node: deposit.node.clone().unwrap_or_default(),
        title,
        date,
        service: deposit.service.clone().unwrap_or_default(),
        fields: deposit.fields.clone(),
    }
}

/// A field of the chosen node, as the review form shows it.
pub struct FieldView {
    name: String,
    id: String,
    label: String,
    value: String,
    required: bool,
    /// `text`, `date`, `decimal`, `integer` or `enum`.
    kind: &'static str,
    hint: String,
    options: Vec<String>,
    error: Option<String>,
}

/// A file on the review page.
pub struct FileView {
    index: usize,
    filename: String,
    size: String,
    media_type: String,
    sha256: String,
    node: String,
    title: String,
    date: String,
    service: String,
    proposed: Option<String>,
    unclassified: Option<String>,
    duplicates: Vec<(String, String)>,
    probable_duplicates: Vec<(String, String)>,
    fields: Vec<FieldView>,
    errors: BTreeMap<&'static str, String>,
}

impl FileView {
    fn error(&self, key: &str) -> Option<&String> {
        self.errors.get(key)
    }
}

/// An error of the summary at the top of the form: its message and the
/// field it is about.
pub struct SummaryLine {
    anchor: String,
    message: String,
}

#[derive(Template)]
#[template(path = "deposit_review.html")]
struct ReviewPage {
    frame: Frame,
    lot: String,
    groups: Vec<NodeGroup>,
    files: Vec<FileView>,
    summary: Vec<SummaryLine>,
    deposited: Vec<Deposited>,
    refused: Vec<Refused>,
}

/// What the review form found wrong with one file: about the file itself
/// (`noeud`, `date`), and by field of its node.
#[derive(Debug, Default)]
struct FileProblems {
    own: BTreeMap<&'static str, String>,
    fields: BTreeMap<String, String>,
}

/// What the review form found wrong, by file.
type Problems = BTreeMap<usize, FileProblems>;

fn kind_of(kind: &FieldType) -> (&'static str, String, Vec<String>) {
    match kind {
        FieldType::Text => ("text", String::new(), Vec::new()),
        FieldType::Date => ("date", "jj/mm/aaaa".into(), Vec::new()),
        FieldType::Decimal => ("decimal", "nombre, virgule décimale : 1 200,50".into(), Vec::new()),
        FieldType::Integer => ("integer", "nombre entier".into(), Vec::new()),
        FieldType::Enum(values) => ("enum", String::new(), values.clone()),
    }
}

fn file_view(plan: &Plan, index: usize, file: &PendingFile, problems: Option<&FileProblems>) -> FileView {
    let proposal = &file.proposal;
    let node_fields = NodeCode::parse(&file.typed.node)
        .map(|code| plan.fields_for(&code))
        .unwrap_or_default();
    let fields = node_fields
        .iter()
        .map(|def| {
            let (kind, hint, options) = kind_of(&def.kind);
            let raw = file.typed.fields.get(&def.name).cloned().unwrap_or_default();
            // A value the archive read (ISO date, decimal point) is shown
            // the French way; what the person typed stays as typed.
            let value = match &def.kind {
                FieldType::Date => french::parse_date(&raw).map(french::date).unwrap_or(raw),
                FieldType::Decimal if raw.contains('.') && !raw.contains(',') => raw.replace('.', ","),
                _ => raw,
            };
            FieldView {
                id: format!("f{index}-champ-{}", def.name),
                name: format!("champ-{index}-{}", def.name),
                label: french::field_label(&def.name),
                value,
                required: def.required,
                kind,
                hint,
                options,
                error: problems.and_then(|p| p.fields.get(&def.name).cloned()),
            }
        })
        .collect();
    let proposed = proposal.rule.as_ref().map(|rule| {
        let title = proposal
            .deposit
            .node
            .as_deref()
            .and_then(|n| NodeCode::parse(n).ok())
            .and_then(|code| plan.node(&code).map(|n| format!("{} ({code})", n.title)))
            .unwrap_or_default();
        format!(
            "Classement proposé par la règle « {rule} » : {title}. Vérifiez-le, et les champs lus dans le document."
        )
    });
    let unclassified = (proposal.rule.is_none() && proposal.deposit.node.is_none()).then(|| {
        let mut text = "Aucune règle de classement n'a reconnu ce document : choisissez son nœud.".to_owned();
        if let Some(why) = &proposal.unreadable {
            text.push_str(&format!(" (Son texte n'a pas pu être lu : {why}.)"));
        }
        text
    });
    FileView {
        index,
        filename: file.filename.clone(),
        size: french::size(proposal.size),
        media_type: proposal.media_type.clone(),
        sha256: proposal.sha256.hex(),
        node: file.typed.node.clone(),
        title: file.typed.title.clone(),
        date: file.typed.date.clone(),
        service: file.typed.service.clone(),
        proposed,
        unclassified,
        duplicates: proposal
            .duplicates
            .iter()
            .map(|(reference, title)| (reference.to_string(), title.clone()))
            .collect(),
        probable_duplicates: proposal
            .probable_duplicates
            .iter()
            .map(|(reference, title)| (reference.to_string(), title.clone()))
            .collect(),
        fields,
        errors: problems.map(|p| p.own.clone()).unwrap_or_default(),
    }
}

/// Renders a lot: its files to review, or what became of them.
fn review_page(signed: &Signed, plan: &Plan, lot_id: &str, lot: &Lot, problems: &Problems) -> ReviewPage {
    let files: Vec<FileView> = lot
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| file_view(plan, i, f, problems.get(&i)))
        .collect();
    let mut summary = Vec::new();
    for file in &files {
        for (key, message) in &file.errors {
            summary.push(SummaryLine {
                anchor: format!("f{}-{key}", file.index),
                message: format!("{} : {message}", file.filename),
            });
        }
        for field in &file.fields {
            if let Some(message) = &field.error {
                summary.push(SummaryLine {
                    anchor: field.id.clone(),
                    message: format!("{}, {} : {message}", file.filename, field.label),
                });
            }
        }
    }
    let title = if lot.files.is_empty() {
        "Dépôt effectué"
    } else if summary.is_empty() {
        "Vérifier avant d'archiver"
    } else {
        "Corriger le dépôt"
    };
    ReviewPage {
        frame: signed.frame(title, "deposit"),
        lot: lot_id.to_owned(),
        groups: deposit_nodes(plan, signed.actor.role.as_str()),
        files,
        summary,
        deposited: lot.deposited.clone(),
        refused: lot.refused.clone(),
    }
}

/// The review page of a lot (or its accusés once deposited).
pub async fn review(
    signed: Signed,
    archive: Data<Archive>,
    pending: Data<PendingDeposits>,
    lot: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let plan = web::block(move || archive.plan(&actor, None)).await??;
    let lots = pending.lock();
    let Some(found) = lots.get(lot.as_str()).filter(|l| l.owner == signed.account.user) else {
        return Err(lot_gone());
    };
    let page = review_page(&signed, &plan.plan, &lot, found, &Problems::new());
    Ok(html(StatusCode::OK, &page))
}

fn lot_gone() -> PageError {
    PageError::Archive(ArchiveError::LimitExceeded(
        "Ce dépôt n'attend plus de confirmation : il a été archivé, abandonné, ou il a attendu plus d'une heure. \
         Recommencez depuis la page Déposer."
            .into(),
    ))
}

/// Reads what was typed for each file into the lot.
fn take_typed(lot: &mut Lot, form: &[(String, String)]) {
    for (key, value) in form {
        let Some((what, rest)) = key.split_once('-') else {
            continue;
        };
        let (index, field) = match rest.split_once('-') {
            Some((i, name)) => (i, Some(name)),
            None => (rest, None),
        };
        let Some(file) = index.parse::<usize>().ok().and_then(|i| lot.files.get_mut(i)) else {
            continue;
        };
        let value = value.trim().to_owned();
        match (what, field) {
            ("noeud", None) => file.typed.node = value,
            ("titre", None) => file.typed.title = value,
            ("date", None) => file.typed.date = value,
            ("service", None) => file.typed.service = value,
            ("champ", Some(name)) => {
                file.typed.fields.insert(name.to_owned(), value);
            }
            _ => {}
        }
    }
}

/// Checks what was typed for a file against the node's fields, in French;
/// returns the deposit in the archive's terms, or the problems.
fn check_typed(plan: &Plan, file: &PendingFile) -> Result<Deposit, FileProblems> {
    let mut own = BTreeMap::new();
    let mut by_field = BTreeMap::new();
    let typed = &file.typed;
    let node = match NodeCode::parse(&typed.node) {
        Ok(code) if plan.node(&code).is_some() => Some(code),
        _ => {
            own.insert(
                "noeud",
                "choisissez le nœud du plan de classement où archiver ce document".to_owned(),
            );
            None
        }
    };
    let date = if typed.date.is_empty() {
        None
    } else {
        match french::parse_date(&typed.date) {
            Some(d) => Some(d.format("%Y-%m-%d").to_string()),
            None => {
                own.insert(
                    "date",
                    format!(
                        "« {} » n'est pas une date : écrivez-la sous la forme 15/03/2024",
                        typed.date
                    ),
                );
                None
            }
        }
    };
    let mut fields = BTreeMap::new();
    if let Some(node) = &node {
        for def in plan.fields_for(node) {
            let value = typed.fields.get(&def.name).map(|v| v.trim()).unwrap_or_default();
            if value.is_empty() {
                if def.required {
                    by_field.insert(def.name.clone(), "ce champ est obligatoire pour ce nœud".to_owned());
                }
                continue;
            }
            let checked = french::typed_value(&def.kind, value);
            match checked {
                Ok(v) => {
                    fields.insert(def.name.clone(), v);
                }
                Err(message) => {
                    by_field.insert(def.name.clone(), message);
                }
            }
        }
    }
    if !own.is_empty() || !by_field.is_empty() {
        return Err(FileProblems { own, fields: by_field });
    }
    Ok(Deposit {
        node: node.map(|n| n.to_string()),
        title: Some(typed.title.clone()).filter(|t| !t.is_empty()),
        date,
        service: Some(typed.service.clone()).filter(|s| !s.is_empty()),
        document_type: file.proposal.deposit.document_type.clone(),
        fields,
        links: Vec::new(),
    })
}

/// Takes the review form: updates what was typed, then, when asked to
/// archive, checks every file and deposits them all; or abandons the lot.
pub async fn confirm(
    signed: Signed,
    archive: Data<Archive>,
    pending: Data<PendingDeposits>,
    lot_id: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    let value = |name: &str| super::form_value(&form, name);
    signed.check_form(value("csrf"))?;
    let action = value("action").to_owned();
    let lot_id = lot_id.into_inner();
    let mut lot = {
        let mut lots = pending.lock();
        match lots.get(&lot_id) {
            Some(l) if l.owner == signed.account.user => {}
            _ => return Err(lot_gone()),
        }
        lots.remove(&lot_id).ok_or_else(lot_gone)?
    };
    if action == "abandonner" {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/deposer"))
            .finish());
    }
    take_typed(&mut lot, &form);
    let actor = signed.actor.clone();
    let archive_for_work = archive.clone();
    let (lot, problems, plan) = web::block(move || {
        let archive = archive_for_work;
        let plan = archive.plan(&actor, None)?;
        let mut problems = Problems::new();
        if action != "archiver" {
            return Ok::<_, ArchiveError>((lot, problems, plan));
        }
        let mut deposits = Vec::new();
        for (i, file) in lot.files.iter().enumerate() {
            match check_typed(&plan.plan, file) {
                Ok(deposit) => match archive.check_only(&actor, deposit.clone(), Some(file.filename.clone())) {
                    Ok(()) => deposits.push(deposit),
                    Err(ArchiveError::Invalid(invalid)) => {
                        let mut found = FileProblems::default();
                        found.own.insert("noeud", invalid.problem.clone());
                        problems.insert(i, found);
                    }
                    Err(e @ ArchiveError::NodeForbidden { .. }) => {
                        let mut found = FileProblems::default();
                        found.own.insert("noeud", super::explain(&e).2);
                        problems.insert(i, found);
                    }
                    Err(e) => return Err(e),
                },
                Err(found) => {
                    problems.insert(i, found);
                }
            }
        }
        if !problems.is_empty() {
            return Ok((lot, problems, plan));
        }
        let files = std::mem::take(&mut lot.files);
        for (file, mut deposit) in files.into_iter().zip(deposits) {
            let Some(upload) = file.upload else { continue };
            // The proposed node, confirmed: the archive classifies it again
            // (the same rule, what was typed winning), so that the record
            // says which rule classified it.
            if file.proposal.rule.is_some() && deposit.node == file.proposal.deposit.node {
                deposit.node = None;
            }
            match archive.ingest(&actor, deposit, upload) {
                Ok(record) => lot.deposited.push(Deposited {
                    reference: record.reference.to_string(),
                    title: record.title.clone(),
                    sha256: record.versions.first().map(|v| v.sha256.hex()).unwrap_or_default(),
                    time: french::time(record.created_at),
                }),
                Err(e) => lot.refused.push(Refused {
                    filename: file.filename.clone(),
                    reason: super::explain(&e).2,
                }),
            }
        }
        Ok((lot, problems, plan))
    })
    .await??;
    if problems.is_empty() {
        // Post, redirect, get: a reload shows the page again without
        // sending the form twice.
        pending.lock().insert(lot_id.clone(), lot);
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/deposer/{lot_id}")))
            .finish());
    }
    let page = review_page(&signed, &plan.plan, &lot_id, &lot, &problems);
    pending.lock().insert(lot_id, lot);
    Ok(html(super::status_of(crate::errors::Code::InvalidField), &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_go_to_the_archive_with_a_point() {
        assert_eq!(french::decimal_text(120_050), "1200.50");
        assert_eq!(french::decimal_text(-5), "-0.05");
    }
}
