//! The archivists' retention pages: what is due at a date (narrowed by
//! node, final action and service; as CSV too), and the legal holds (how
//! many records each freezes, placed and lifted with a reason, those past
//! their review date called out).

use super::{Frame, NodeOption, PageError, Signed, french, html};
use crate::archive::{Archive, ArchiveError, DueRecord, HoldRequest};
use crate::domain::hold::{Hold, HoldScope};
use crate::domain::plan::FinalAction;
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// Due records a page shows; the CSV holds them all.
const DUE_PAGE: usize = 200;

fn require_manage(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageRecords, "lister les documents échus")
        .map_err(PageError::Archive)
}

/// `?au=&noeud=&sort=&service=&page=`.
#[derive(Debug, Default, Deserialize)]
pub struct DueParams {
    #[serde(default)]
    au: String,
    #[serde(default)]
    noeud: String,
    #[serde(default)]
    sort: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    page: usize,
}

/// A due record as the page and the CSV give it.
pub struct DueView {
    due: String,
    reference: String,
    node: String,
    rule: String,
    action: &'static str,
    service: String,
    held: String,
}

#[derive(Template)]
#[template(path = "retention.html")]
struct DuePage {
    frame: Frame,
    au: String,
    noeud: String,
    sort: String,
    service: String,
    nodes: Vec<NodeOption>,
    rows: Vec<DueView>,
    total: usize,
    held: usize,
    problem: Option<String>,
    previous_href: Option<String>,
    next_href: Option<String>,
    csv_href: String,
    overdue_holds: usize,
}

fn action_words(action: FinalAction) -> &'static str {
    french::final_action(action)
}

/// What the filters ask, read once for the page and the CSV.
struct DueAsked {
    at: chrono::NaiveDate,
    node: Option<crate::domain::record::NodeCode>,
    action: Option<FinalAction>,
    service: Option<String>,
    problem: Option<String>,
}

fn asked(params: &DueParams, today: chrono::NaiveDate) -> DueAsked {
    let mut problem = None;
    let at = match french::typed_day(&params.au) {
        Ok(day) => day.unwrap_or(today),
        Err(e) => {
            problem = Some(e);
            today
        }
    };
    let node = match params.noeud.trim() {
        "" => None,
        code => match crate::domain::record::NodeCode::parse(code) {
            Ok(code) => Some(code),
            Err(e) => {
                problem = Some(e.to_string());
                None
            }
        },
    };
    let action = match params.sort.as_str() {
        "destroy" => Some(FinalAction::Destroy),
        "keep" => Some(FinalAction::Keep),
        "review" => Some(FinalAction::Review),
        _ => None,
    };
    DueAsked {
        at,
        node,
        action,
        service: Some(params.service.trim().to_owned()).filter(|s| !s.is_empty()),
        problem,
    }
}

/// A due record and its service, when looked up.
type DueWithService = (DueRecord, Option<String>);

/// The due records the filters keep, with each one's service when asked
/// (`with_service` names the range of rows whose service is looked up; a
/// service filter looks up every row).
fn due_rows(
    archive: &Archive,
    actor: &crate::archive::Actor,
    asked: &DueAsked,
    with_service: std::ops::Range<usize>,
) -> Result<(Vec<DueWithService>, usize), ArchiveError> {
    let plan = archive.plan(actor, None)?;
    let due = archive.retention_due(actor, Some(asked.at))?;
    let mut kept: Vec<DueWithService> = due
        .into_iter()
        .filter(|d| asked.action.is_none_or(|a| d.final_action == a))
        .filter(|d| asked.node.as_ref().is_none_or(|n| plan.plan.path(&d.node).contains(n)))
        .map(|d| (d, None))
        .collect();
    if let Some(wanted) = &asked.service {
        let wanted = french::folded(wanted);
        let mut with = Vec::with_capacity(kept.len());
        for (d, _) in kept {
            let service = archive.record(actor, &d.id.to_string())?.service;
            if service.as_deref().is_some_and(|s| french::folded(s).contains(&wanted)) {
                with.push((d, service));
            }
        }
        kept = with;
    } else {
        for (i, (d, service)) in kept.iter_mut().enumerate() {
            if with_service.contains(&i) {
                *service = archive.record(actor, &d.id.to_string())?.service;
            }
        }
    }
    let held = kept.iter().filter(|(d, _)| !d.held_by.is_empty()).count();
    Ok((kept, held))
}

fn view_of(d: &DueRecord, service: Option<String>, labels: &std::collections::BTreeMap<String, String>) -> DueView {
    DueView {
        due: french::date(d.due),
        reference: d.reference.to_string(),
        node: labels
            .get(d.node.as_str())
            .cloned()
            .unwrap_or_else(|| d.node.to_string()),
        rule: d.rule.clone(),
        action: action_words(d.final_action),
        service: service.unwrap_or_default(),
        held: d
            .held_by
            .iter()
            .map(|h| format!("gel {h}"))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn query_of(params: &DueParams, page: Option<usize>) -> String {
    let page = page.map(|p| p.to_string()).unwrap_or_default();
    serde_urlencoded::to_string([
        ("au", params.au.as_str()),
        ("noeud", params.noeud.as_str()),
        ("sort", params.sort.as_str()),
        ("service", params.service.as_str()),
        ("page", page.as_str()),
    ])
    .unwrap_or_default()
}

/// What is due at a date.
pub async fn due(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<DueParams>,
) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
    let params = params.into_inner();
    let today = chrono::Utc::now().date_naive();
    let asked = asked(&params, today);
    let actor = signed.actor.clone();
    let first = params.page * DUE_PAGE;
    let shown = first..first + DUE_PAGE;
    let (kept, held, plan, overdue) = web::block(move || {
        let (kept, held) = due_rows(&archive, &actor, &asked, shown)?;
        let plan = archive.plan(&actor, None)?;
        let overdue = archive
            .holds(&actor)?
            .iter()
            .filter(|h| h.is_active() && h.review.is_some_and(|r| r < today))
            .count();
        Ok::<_, ArchiveError>((kept, held, plan, overdue))
    })
    .await??;
    let labels: std::collections::BTreeMap<String, String> = plan
        .plan
        .nodes
        .iter()
        .map(|n| (n.code.to_string(), format!("{} ({})", n.title, n.code)))
        .collect();
    let total = kept.len();
    let rows = kept
        .into_iter()
        .skip(first)
        .take(DUE_PAGE)
        .map(|(d, service)| view_of(&d, service, &labels))
        .collect();
    let page = DuePage {
        frame: signed.frame("Échéances de conservation", "retention"),
        nodes: super::node_options(&plan.plan),
        rows,
        total,
        held,
        problem: asked_problem(&params, today),
        previous_href: (params.page > 0).then(|| format!("/conservation?{}", query_of(&params, Some(params.page - 1)))),
        next_href: (first + DUE_PAGE < total)
            .then(|| format!("/conservation?{}", query_of(&params, Some(params.page + 1)))),
        csv_href: format!("/conservation.csv?{}", query_of(&params, None)),
        overdue_holds: overdue,
        au: if params.au.trim().is_empty() {
            french::date(today)
        } else {
            params.au.clone()
        },
        noeud: params.noeud.clone(),
        sort: params.sort.clone(),
        service: params.service.clone(),
    };
    Ok(html(StatusCode::OK, &page))
}

fn asked_problem(params: &DueParams, today: chrono::NaiveDate) -> Option<String> {
    asked(params, today).problem
}

/// A CSV field, quoted when it must be (`;` separated, as French
/// spreadsheets read them).
fn csv_field(text: &str) -> String {
    if text.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// What is due, as CSV (UTF-8 with its mark, `;` between fields, dates
/// `JJ/MM/AAAA`): every row the filters keep.
pub async fn due_csv(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<DueParams>,
) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
    let params = params.into_inner();
    let today = chrono::Utc::now().date_naive();
    let asked = asked(&params, today);
    if let Some(problem) = asked.problem.clone() {
        return Err(PageError::Archive(ArchiveError::Invalid(
            crate::domain::record::InvalidInput::new("au", problem),
        )));
    }
    let at = asked.at;
    let actor = signed.actor.clone();
    let (kept, plan) = web::block(move || {
        let (kept, _) = due_rows(&archive, &actor, &asked, 0..usize::MAX)?;
        let plan = archive.plan(&actor, None)?;
        Ok::<_, ArchiveError>((kept, plan))
    })
    .await??;
    let labels: std::collections::BTreeMap<String, String> = plan
        .plan
        .nodes
        .iter()
        .map(|n| (n.code.to_string(), n.title.clone()))
        .collect();
    let mut out = String::from("\u{feff}échéance;référence;nœud;intitulé du nœud;règle;sort final;service;gels\r\n");
    for (d, service) in &kept {
        let fields = [
            french::date(d.due),
            d.reference.to_string(),
            d.node.to_string(),
            labels.get(d.node.as_str()).cloned().unwrap_or_default(),
            d.rule.clone(),
            action_words(d.final_action).to_owned(),
            service.clone().unwrap_or_default(),
            d.held_by
                .iter()
                .map(|h| format!("gel {h}"))
                .collect::<Vec<_>>()
                .join(", "),
        ];
        out.push_str(&fields.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"echeances-{}.csv\"", at.format("%Y-%m-%d")),
        ))
        .body(out))
}

/// A hold as the page lists it.
pub struct HoldView {
    id: u64,
    scope: String,
    reason: String,
    owner: String,
    placed: String,
    review: String,
    overdue: bool,
    frozen: u64,
    lifted: String,
}

#[derive(Template)]
#[template(path = "holds.html")]
struct HoldsPage {
    frame: Frame,
    active: Vec<HoldView>,
    lifted: Vec<HoldView>,
    overdue: usize,
    notice: Option<String>,
    problem: Option<String>,
    form: HoldForm,
}

/// The place-a-hold form, as sent (kept when refused).
#[derive(Debug, Default, Deserialize)]
pub struct HoldForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    portee: String,
    #[serde(default)]
    cible: String,
    #[serde(default)]
    motif: String,
    #[serde(default)]
    responsable: String,
    #[serde(default)]
    revue: String,
}

fn scope_words(scope: &HoldScope, reference_of: &dyn Fn(&crate::domain::record::RecordId) -> String) -> String {
    match scope {
        HoldScope::Record(id) => format!("le document {}", reference_of(id)),
        HoldScope::Node(code) => format!("le nœud {code} et ce qu'il contient"),
        HoldScope::Query(text) => format!("ce que trouve la recherche « {text} »"),
    }
}

async fn holds_page(
    signed: &Signed,
    archive: Data<Archive>,
    form: HoldForm,
    notice: Option<String>,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let (holds, counts, references) = web::block(move || {
        let holds = archive.holds(&actor)?;
        let counts = archive.hold_counts(&actor)?;
        let mut references = std::collections::BTreeMap::new();
        for hold in &holds {
            if let HoldScope::Record(id) = &hold.scope {
                let reference = archive
                    .record(&actor, &id.to_string())
                    .map(|r| r.reference.to_string())
                    .unwrap_or_else(|_| id.to_string());
                references.insert(*id, reference);
            }
        }
        Ok::<_, ArchiveError>((holds, counts, references))
    })
    .await??;
    let today = chrono::Utc::now().date_naive();
    let reference_of =
        |id: &crate::domain::record::RecordId| references.get(id).cloned().unwrap_or_else(|| id.to_string());
    let view = |h: &Hold| HoldView {
        id: h.id,
        scope: scope_words(&h.scope, &reference_of),
        reason: h.reason.clone(),
        owner: h.owner.clone(),
        placed: format!("le {} par {}", french::time(h.placed_at), french::actor(&h.placed_by)),
        review: h.review.map(french::date).unwrap_or_default(),
        overdue: h.is_active() && h.review.is_some_and(|r| r < today),
        frozen: counts.get(&h.id).copied().unwrap_or(0),
        lifted: h
            .lifted
            .as_ref()
            .map(|l| format!("le {} par {} : {}", french::time(l.at), french::actor(&l.by), l.reason))
            .unwrap_or_default(),
    };
    let active: Vec<HoldView> = holds.iter().filter(|h| h.is_active()).map(view).collect();
    let lifted: Vec<HoldView> = holds.iter().filter(|h| !h.is_active()).map(view).collect();
    let page = HoldsPage {
        frame: signed.frame("Gels", "holds"),
        overdue: active.iter().filter(|h| h.overdue).count(),
        active,
        lifted,
        notice,
        problem,
        form,
    };
    Ok(html(status, &page))
}

/// `?pose=&leve=`: what the last form did (the page it redirected to says so).
#[derive(Debug, Default, Deserialize)]
pub struct HoldsParams {
    pose: Option<u64>,
    leve: Option<u64>,
}

/// The holds page.
pub async fn holds(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<HoldsParams>,
) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
    let notice = match (params.pose, params.leve) {
        (Some(id), _) => Some(format!("Gel {id} posé.")),
        (None, Some(id)) => Some(format!("Gel {id} levé.")),
        (None, None) => None,
    };
    holds_page(&signed, archive, HoldForm::default(), notice, None, StatusCode::OK).await
}

/// After a form that changed something: back to the holds page, which
/// says what was done (a reload does not send the form again).
fn to_holds(query: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/gels?{query}")))
        .finish()
}

/// Places a hold from the form; a refusal shows the form again with what
/// was typed and why.
pub async fn place(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<HoldForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let target = Some(form.cible.trim().to_owned()).filter(|t| !t.is_empty());
    let review = match form.revue.trim() {
        "" => None,
        text => match french::parse_date(text) {
            Some(d) => Some(d.format("%Y-%m-%d").to_string()),
            None => {
                let problem = format!("« {text} » n'est pas une date de revue : écrivez-la JJ/MM/AAAA.");
                return holds_page(
                    &signed,
                    archive,
                    form,
                    None,
                    Some(problem),
                    super::status_of(crate::errors::Code::InvalidField),
                )
                .await;
            }
        },
    };
    let (record, node, query) = match form.portee.as_str() {
        "document" => (target, None, None),
        "noeud" => (None, target, None),
        "recherche" => (None, None, target),
        _ => (None, None, None),
    };
    let request = HoldRequest {
        record,
        node,
        query,
        reason: form.motif.clone(),
        owner: Some(form.responsable.clone()).filter(|o| !o.trim().is_empty()),
        review,
    };
    let actor = signed.actor.clone();
    let placing = archive.clone();
    match web::block(move || placing.place_hold(&actor, request)).await? {
        Ok(hold) => Ok(to_holds(&format!("pose={}", hold.id))),
        Err(e @ (ArchiveError::Invalid(_) | ArchiveError::RecordNotFound(_) | ArchiveError::BadQuery(_))) => {
            let problem = match &e {
                ArchiveError::Invalid(i) if i.field == "scope" => {
                    "Choisissez ce que le gel couvre (un document, un nœud ou une recherche) et nommez-le.".to_owned()
                }
                ArchiveError::Invalid(i) if i.field == "reason" => "Dites pourquoi le gel est posé.".to_owned(),
                other => other.to_string(),
            };
            holds_page(
                &signed,
                archive,
                form,
                None,
                Some(problem),
                super::status_of(crate::errors::Code::InvalidField),
            )
            .await
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// `csrf=&motif=`: lifting a hold.
#[derive(Debug, Deserialize)]
pub struct LiftForm {
    csrf: String,
    #[serde(default)]
    motif: String,
}

/// Lifts a hold, with a reason.
pub async fn lift(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    form: web::Form<LiftForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let id = id.into_inner();
    let actor = signed.actor.clone();
    let reason = form.motif.clone();
    let lifting = archive.clone();
    match web::block(move || lifting.lift_hold(&actor, id, &reason)).await? {
        Ok(_) => Ok(to_holds(&format!("leve={id}"))),
        Err(ArchiveError::Invalid(_)) => {
            let problem = format!("Dites pourquoi le gel {id} est levé.");
            holds_page(
                &signed,
                archive,
                HoldForm::default(),
                None,
                Some(problem),
                super::status_of(crate::errors::Code::InvalidField),
            )
            .await
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}
