//! The classification plan's pages: the plan in force (or any version)
//! as a tree, each node with its rule in words and where it comes from, its
//! fields, who may read and deposit, its naming; and, for archivists, a new
//! version written in the page, checked line by line, its impact shown,
//! then published with a reason.

use super::{Frame, PageError, Signed, french, html};
use crate::archive::{Archive, ArchiveError, Publish};
use crate::domain::plan::{Access, FieldType, Plan};
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// A node as the plan page shows it.
pub struct NodeView {
    code: String,
    title: String,
    description: String,
    depth: usize,
    rule: String,
    rule_from: String,
    legal_reference: String,
    types: String,
    fields: Vec<String>,
    readers: String,
    depositors: String,
    reference: String,
    filename: String,
}

/// A published version, as the list shows it.
pub struct VersionView {
    number: u32,
    label: String,
    published: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "plan.html")]
struct PlanPage {
    frame: Frame,
    heading: String,
    authority: String,
    nodes: Vec<NodeView>,
    versions: Vec<VersionView>,
    may_edit: bool,
}

/// `?version=`.
#[derive(Debug, Default, Deserialize)]
pub struct PlanParams {
    version: Option<u32>,
}

fn field_type(kind: &FieldType) -> String {
    match kind {
        FieldType::Text => "texte".into(),
        FieldType::Date => "date".into(),
        FieldType::Integer => "nombre entier".into(),
        FieldType::Decimal => "montant ou nombre décimal".into(),
        FieldType::Enum(values) => format!("une valeur parmi {}", values.join(", ")),
    }
}

fn roles_words(plan: &Plan, code: &crate::domain::record::NodeCode, access: Access) -> String {
    let allowed: Vec<&str> = crate::domain::role::Role::ALL
        .iter()
        .filter(|r| plan.allows(code, r.as_str(), access))
        .map(|r| french::role(*r))
        .collect();
    if allowed.len() == crate::domain::role::Role::ALL.len() {
        "tous les rôles".into()
    } else if allowed.is_empty() {
        "aucun rôle".into()
    } else {
        allowed.join(", ")
    }
}

fn nodes_of(plan: &Plan) -> Vec<NodeView> {
    plan.nodes
        .iter()
        .map(|n| {
            let (rule, rule_from, legal_reference) = match plan.rule_for(&n.code) {
                Some((r, from)) => {
                    let duration = french::duration(&r.duration);
                    let sentence = if r.duration == crate::domain::plan::RetentionDuration::Permanent {
                        duration
                    } else {
                        format!(
                            "{duration} {}, puis {}",
                            french::start(&r.start),
                            french::final_action(r.final_action)
                        )
                    };
                    (
                        format!(
                            "{} : {sentence}{}",
                            r.id,
                            if r.to_confirm { " (durée à confirmer)" } else { "" }
                        ),
                        if from == &n.code {
                            "propre à ce nœud".to_owned()
                        } else {
                            format!("héritée de {from}")
                        },
                        r.legal_reference.clone(),
                    )
                }
                None => (
                    "aucune règle : ce nœud ne reçoit pas de documents".into(),
                    String::new(),
                    String::new(),
                ),
            };
            NodeView {
                code: n.code.to_string(),
                title: n.title.clone(),
                description: n.description.clone(),
                depth: plan.path(&n.code).len().saturating_sub(1),
                rule,
                rule_from,
                legal_reference,
                types: n.document_types.join(", "),
                fields: plan
                    .fields_for(&n.code)
                    .iter()
                    .map(|f| {
                        format!(
                            "{} ({}{})",
                            french::field_label(&f.name),
                            field_type(&f.kind),
                            if f.required { ", obligatoire" } else { "" }
                        )
                    })
                    .collect(),
                readers: roles_words(plan, &n.code, Access::Read),
                depositors: roles_words(plan, &n.code, Access::Deposit),
                reference: plan
                    .reference_template(&n.code)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
                filename: plan
                    .filename_template(&n.code)
                    .map(|t| t.to_string())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

/// The plan page.
pub async fn page(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<PlanParams>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let wanted = params.version;
    let (published, entries) = web::block(move || {
        let published = archive.plan(&actor, wanted)?;
        let entries = archive.plan_versions(&actor)?;
        Ok::<_, ArchiveError>((published, entries))
    })
    .await??;
    let shown = published.entry.number;
    let plan = &published.plan;
    let page = PlanPage {
        frame: signed.frame("Plan de classement", "plan"),
        heading: format!(
            "{} — version {} (n° {} publiée le {} par {})",
            plan.header.title,
            plan.header.version,
            shown,
            french::time(published.entry.time),
            french::actor(&published.entry.actor)
        ),
        authority: plan.header.authority.clone(),
        nodes: nodes_of(plan),
        versions: entries
            .iter()
            .rev()
            .map(|e| VersionView {
                number: e.number,
                label: e.label.clone(),
                published: format!("le {} par {}", french::time(e.time), french::actor(&e.actor)),
                current: e.number == shown,
            })
            .collect(),
        may_edit: signed.actor.role.allows(Permission::ManageRecords),
    };
    Ok(html(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "plan_edit.html")]
struct EditPage {
    frame: Frame,
    text: String,
    motif: String,
    outcome: Option<Outcome>,
}

/// What the last action on the edit page said.
pub struct Outcome {
    ok: bool,
    heading: String,
    lines: Vec<String>,
    /// Publishing needs an explicit confirmation (the plan shortens
    /// retention).
    ask_confirmation: bool,
    /// The records whose retention changes (the first ones), and how many
    /// more the impact counts.
    records: Vec<ChangedView>,
    more: u64,
}

/// A record whose retention the new version changes.
pub struct ChangedView {
    reference: String,
    node: String,
    due: String,
    action: String,
    at_once: bool,
}

fn changed_views(impact: &crate::domain::plan_change::PlanImpact) -> (Vec<ChangedView>, u64) {
    let day = |d: Option<chrono::NaiveDate>| d.map_or("aucune".to_owned(), french::date);
    let act = |a: Option<crate::domain::plan::FinalAction>| {
        a.map_or("aucun".to_owned(), |a| french::final_action(a).to_owned())
    };
    let views: Vec<ChangedView> = impact
        .changed
        .iter()
        .map(|c| ChangedView {
            reference: c.reference.clone(),
            node: c.node.to_string(),
            due: if c.due.0 == c.due.1 {
                day(c.due.1)
            } else {
                format!("{} → {}", day(c.due.0), day(c.due.1))
            },
            action: if c.action.0 == c.action.1 {
                act(c.action.1)
            } else {
                format!("{} → {}", act(c.action.0), act(c.action.1))
            },
            at_once: c.destroyable_at_once,
        })
        .collect();
    let counted = impact
        .by_node
        .values()
        .map(|n| n.due_changed.max(n.action_changed))
        .sum::<u64>();
    let more = counted.saturating_sub(views.len() as u64);
    (views, more)
}

/// `texte=&action=&motif=&confirmer=`.
#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    texte: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    confirmer: Option<String>,
}

fn require_edit(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageRecords, "publier le plan de classement")
        .map_err(PageError::Archive)
}

/// The edit page, with the plan in force's file to start from.
pub async fn edit_form(signed: Signed, archive: Data<Archive>) -> Result<HttpResponse, PageError> {
    require_edit(&signed)?;
    let actor = signed.actor.clone();
    let published = web::block(move || archive.plan(&actor, None)).await??;
    let page = EditPage {
        frame: signed.frame("Nouvelle version du plan", "plan"),
        text: published.text.clone(),
        motif: String::new(),
        outcome: None,
    };
    Ok(html(StatusCode::OK, &page))
}

/// Checks, measures or publishes the plan written in the page.
pub async fn edit(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<EditForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_edit(&signed)?;
    let actor = signed.actor.clone();
    let text = form.texte.replace("\r\n", "\n");
    let action = form.action.clone();
    let motif = form.motif.trim().to_owned();
    let confirmed = form.confirmer.is_some();
    let checked_text = text.clone();
    let answer = web::block(move || match action.as_str() {
        "valider" => crate::archive::check_plan(&checked_text).map(|plan| Checked::Valid(Box::new(plan))),
        "publier" => archive
            .publish_plan(
                &actor,
                &checked_text,
                &Publish {
                    dry_run: false,
                    confirmation: (confirmed && !motif.is_empty()).then(|| motif.clone()),
                },
            )
            .map(Checked::Published),
        _ => archive
            .publish_plan(
                &actor,
                &checked_text,
                &Publish {
                    dry_run: true,
                    confirmation: None,
                },
            )
            .map(Checked::Impact),
    })
    .await?;
    let (status, outcome) = match answer {
        Ok(Checked::Valid(plan)) => (
            StatusCode::OK,
            Outcome {
                ok: true,
                heading: format!(
                    "Le plan est valide : {}, {}.",
                    french::count(plan.rules.len() as u64, "règle", "règles"),
                    french::count(plan.nodes.len() as u64, "nœud", "nœuds")
                ),
                lines: Vec::new(),
                ask_confirmation: false,
                records: Vec::new(),
                more: 0,
            },
        ),
        Ok(Checked::Impact(publication)) | Ok(Checked::Published(publication)) if publication.unchanged => (
            StatusCode::OK,
            Outcome {
                ok: true,
                heading: "Ce texte est déjà le plan en vigueur : il n'y a rien à publier.".into(),
                lines: Vec::new(),
                ask_confirmation: false,
                records: Vec::new(),
                more: 0,
            },
        ),
        Ok(Checked::Impact(publication)) => {
            let (records, more) = changed_views(&publication.impact);
            (
                StatusCode::OK,
                Outcome {
                    ok: true,
                    heading: "Ce que la publication changerait :".into(),
                    lines: crate::wire::PlanImpactDto::from(&publication.impact).lines(),
                    ask_confirmation: publication.impact.shortened > 0 || publication.impact.to_destroy > 0,
                    records,
                    more,
                },
            )
        }
        Ok(Checked::Published(publication)) => (
            StatusCode::OK,
            Outcome {
                ok: true,
                heading: match &publication.published {
                    Some(v) => format!("Plan publié : version n° {} ({}).", v.number, v.label),
                    None => "Rien n'a été publié.".into(),
                },
                lines: crate::wire::PlanImpactDto::from(&publication.impact).lines(),
                ask_confirmation: false,
                records: Vec::new(),
                more: 0,
            },
        ),
        Err(ArchiveError::InvalidPlan(invalid)) => (
            super::status_of(crate::errors::Code::InvalidPlan),
            Outcome {
                ok: false,
                heading: format!(
                    "Le plan n'est pas valide : {}.",
                    french::count(invalid.0.len() as u64, "problème", "problèmes")
                ),
                lines: invalid
                    .0
                    .iter()
                    .map(|p| {
                        let named = crate::policies::named_path(&text, &p.path);
                        let at = match (p.line, p.path.is_empty()) {
                            (Some(line), false) => format!("ligne {line} ({named}) : "),
                            (Some(line), true) => format!("ligne {line} : "),
                            (None, false) => format!("{named} : "),
                            (None, true) => String::new(),
                        };
                        format!("{at}{}", p.message)
                    })
                    .collect(),
                ask_confirmation: false,
                records: Vec::new(),
                more: 0,
            },
        ),
        Err(e @ ArchiveError::PlanShortensRetention { .. }) => (
            super::status_of(e.code()),
            Outcome {
                ok: false,
                heading: format!("{e}."),
                lines: vec!["Cochez la confirmation et donnez le motif, puis publiez de nouveau.".into()],
                ask_confirmation: true,
                records: Vec::new(),
                more: 0,
            },
        ),
        Err(e @ ArchiveError::PlanOrphansRecords(_)) => (
            super::status_of(e.code()),
            Outcome {
                ok: false,
                heading: format!("{e}."),
                lines: Vec::new(),
                ask_confirmation: false,
                records: Vec::new(),
                more: 0,
            },
        ),
        Err(e) => return Err(PageError::Archive(e)),
    };
    let page = EditPage {
        frame: signed.frame("Nouvelle version du plan", "plan"),
        text,
        motif: form.motif,
        outcome: Some(outcome),
    };
    Ok(html(status, &page))
}

/// What the edit page's action found.
enum Checked {
    Valid(Box<Plan>),
    Impact(crate::archive::Publication),
    Published(crate::archive::Publication),
}

/// A line of the comparison, as the page shows it.
pub struct LineView {
    class: &'static str,
    mark: &'static str,
    old: String,
    new: String,
    text: String,
}

#[derive(Template)]
#[template(path = "plan_diff.html")]
struct DiffPage {
    frame: Frame,
    heading: String,
    lines: Vec<LineView>,
    older: u32,
    newer: u32,
}

/// `?de=&a=`: the two versions compared.
#[derive(Debug, Deserialize)]
pub struct DiffParams {
    de: u32,
    a: Option<u32>,
}

/// What changed in the plan's file between two published versions.
pub async fn difference(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<DiffParams>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let (older, newer) = (params.de, params.a);
    let (old, new) = web::block(move || {
        let old = archive.plan(&actor, Some(older))?;
        let new = archive.plan(&actor, newer)?;
        Ok::<_, ArchiveError>((old, new))
    })
    .await??;
    let lines = crate::domain::plan_change::file_changes(&old.text, &new.text, 3)
        .into_iter()
        .map(|l| {
            let (class, mark) = match l.kind {
                '-' => ("retire", "retiré"),
                '+' => ("ajoute", "ajouté"),
                '…' => ("saut", "…"),
                _ => ("garde", ""),
            };
            LineView {
                class,
                mark,
                old: l.old.map(|n| n.to_string()).unwrap_or_default(),
                new: l.new.map(|n| n.to_string()).unwrap_or_default(),
                text: l.text,
            }
        })
        .collect();
    let page = DiffPage {
        frame: signed.frame("Différences entre deux versions du plan", "plan"),
        heading: format!(
            "De la version n° {} ({}) à la version n° {} ({})",
            old.entry.number, old.entry.label, new.entry.number, new.entry.label
        ),
        lines,
        older: old.entry.number,
        newer: new.entry.number,
    };
    Ok(html(StatusCode::OK, &page))
}
