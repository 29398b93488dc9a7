//! The eliminations, from the archivists' pages: proposed from a node and
//! a date (each record left out said with its reason), the bordereau to
//! print and send for the visa, the visa recorded, the execution, and the
//! certificate.

use super::{Frame, NodeOption, PageError, Signed, french, html};
use crate::archive::{Archive, ArchiveError, VisaRequest};
use crate::domain::disposition::{Disposal, DisposalState};
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

fn require_manage(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageRecords, "proposer et exécuter des éliminations")
        .map_err(PageError::Archive)
}

/// Archivists and the archives authority's people read the eliminations.
fn require_read(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require_one_of(
            &[Permission::ManageRecords, Permission::GiveVisa],
            "consulter les éliminations",
        )
        .map_err(PageError::Archive)
}

/// A disposal in the list.
pub struct DisposalRow {
    id: u64,
    state: &'static str,
    at: String,
    node: String,
    count: u64,
    proposed: String,
}

#[derive(Template)]
#[template(path = "disposals.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<DisposalRow>,
    nodes: Vec<NodeOption>,
    au: String,
    noeud: String,
    problem: Option<String>,
    /// Whether the form to propose one is shown (archivists).
    may_propose: bool,
}

fn state_words(state: DisposalState) -> &'static str {
    french::disposal_state(state.as_str())
}

async fn list_page(
    signed: &Signed,
    archive: Data<Archive>,
    au: String,
    noeud: String,
    problem: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let (disposals, plan) = web::block(move || {
        let disposals = archive.disposals(&actor)?;
        let plan = archive.plan(&actor, None)?;
        Ok::<_, ArchiveError>((disposals, plan))
    })
    .await??;
    let page = ListPage {
        frame: signed.frame("Éliminations", "disposals"),
        rows: disposals
            .iter()
            .rev()
            .map(|d| DisposalRow {
                id: d.proposal.id,
                state: state_words(d.state),
                at: french::date(d.proposal.at),
                node: d
                    .proposal
                    .node
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "tout le plan".into()),
                count: d.proposal.line_count(),
                proposed: format!(
                    "le {} par {}",
                    french::time(d.proposal.proposed_at),
                    french::actor(&d.proposal.proposed_by)
                ),
            })
            .collect(),
        nodes: super::node_options(&plan.plan),
        may_propose: signed.actor.role.allows(Permission::ManageRecords),
        au,
        noeud,
        problem,
    };
    Ok(html(status, &page))
}

/// The list of eliminations and the form to propose one.
pub async fn list(signed: Signed, archive: Data<Archive>) -> Result<HttpResponse, PageError> {
    require_read(&signed)?;
    let today = french::date(chrono::Utc::now().date_naive());
    list_page(&signed, archive, today, String::new(), None, StatusCode::OK).await
}

/// `csrf=&au=&noeud=`: a proposal.
#[derive(Debug, Deserialize)]
pub struct ProposeForm {
    csrf: String,
    #[serde(default)]
    au: String,
    #[serde(default)]
    noeud: String,
}

/// Proposes an elimination and goes to it; what cannot be proposed is
/// said on the list page.
pub async fn propose(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<ProposeForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let request = match super::proposal_of(&form.au, &form.noeud) {
        Ok(request) => request,
        Err(problem) => {
            let status = super::status_of(crate::errors::Code::InvalidField);
            return list_page(&signed, archive, form.au, form.noeud, Some(problem), status).await;
        }
    };
    let actor = signed.actor.clone();
    let proposing = archive.clone();
    match web::block(move || proposing.propose_disposal(&actor, request)).await? {
        Ok(disposal) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/eliminations/{}", disposal.proposal.id)))
            .finish()),
        Err(ArchiveError::Invalid(e)) => {
            let status = super::status_of(crate::errors::Code::InvalidField);
            list_page(&signed, archive, form.au, form.noeud, Some(e.problem), status).await
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// A line of the disposal, as its page lists it.
pub struct LineView {
    reference: String,
    node: String,
    date: String,
    rule: String,
    due: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "disposal.html")]
struct DisposalPage {
    frame: Frame,
    id: u64,
    state: &'static str,
    summary: String,
    lines: Vec<LineView>,
    /// Which lines this page shows, of how many (`Lignes 1 à 500 sur 100 000`).
    shown: String,
    previous_href: Option<String>,
    next_href: Option<String>,
    excluded: Vec<(String, String)>,
    /// Exclusions not listed here (the bordereau lists them all).
    more_excluded: u64,
    /// Why it was abandoned.
    abandoned: Option<String>,
    /// The execution is under way (interrupted): the button takes it up.
    resume: bool,
    visa: Option<String>,
    executed: Option<String>,
    /// The record its certificate is filed as.
    certificate_record: Option<String>,
    may_approve: bool,
    /// Why the visa form is not shown to this person, while it is awaited.
    awaiting_visa: Option<String>,
    may_execute: bool,
    problem: Option<String>,
    form: VisaForm,
}

/// An elimination, and whether this person may give its visa (their role,
/// and the collectivité's reservation of visas to its archives authority).
fn load(archive: &Archive, actor: &crate::archive::Actor, id: u64) -> Result<(Disposal, bool), ArchiveError> {
    let disposal = archive.disposal(actor, id)?;
    let may = actor.role.allows(Permission::GiveVisa) && archive.check_visa_giver(actor, &disposal).is_ok();
    Ok((disposal, may))
}

/// `csrf=&visa=&signataire=&date=`: the archives' visa.
#[derive(Debug, Default, Deserialize)]
pub struct VisaForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    visa: String,
    #[serde(default)]
    signataire: String,
    #[serde(default)]
    date: String,
}

/// Lines an elimination's page lists at once (its bordereau lists them all).
pub const LINES_PER_PAGE: usize = 500;

/// `?page=N`: which lines of an elimination to list.
#[derive(Debug, Default, Deserialize)]
pub struct LinesPage {
    page: Option<String>,
}

impl LinesPage {
    /// The page asked for, from 1 (anything else reads as the first).
    pub fn number(&self) -> usize {
        self.page
            .as_deref()
            .and_then(|p| p.trim().parse::<usize>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1)
    }
}

/// Which lines a page shows: their range, the words that say so, and the
/// links to the pages before and after (`base?page=N`).
pub fn page_of_lines(
    total: usize,
    page: usize,
    base: &str,
) -> (std::ops::Range<usize>, String, Option<String>, Option<String>) {
    let pages = total.div_ceil(LINES_PER_PAGE).max(1);
    let page = page.min(pages);
    let start = (page - 1) * LINES_PER_PAGE;
    let end = (start + LINES_PER_PAGE).min(total);
    let shown = if pages == 1 {
        String::new()
    } else {
        let n = |n: usize| french::group_thousands(&n.to_string());
        format!(
            "Lignes {} à {} sur {} (page {page} sur {pages})",
            n(start + 1),
            n(end),
            n(total)
        )
    };
    let previous = (page > 1).then(|| format!("{base}?page={}", page - 1));
    let next = (page < pages).then(|| format!("{base}?page={}", page + 1));
    (start..end, shown, previous, next)
}

fn disposal_page(
    signed: &Signed,
    (d, may_give_visa): &(Disposal, bool),
    problem: Option<String>,
    form: VisaForm,
    page: usize,
) -> DisposalPage {
    let (range, shown, previous_href, next_href) = page_of_lines(
        d.proposal.lines.len(),
        page,
        &format!("/eliminations/{}", d.proposal.id),
    );
    let lines = &d.proposal.lines[range];
    let on_page: std::collections::HashSet<_> = lines.iter().map(|l| l.record).collect();
    let skipped: std::collections::HashMap<_, String> = d
        .execution
        .iter()
        .flat_map(|e| e.outcomes.iter())
        .filter(|o| on_page.contains(&o.record))
        .map(|o| {
            (
                o.record,
                match &o.skipped {
                    None => "éliminé".to_owned(),
                    Some(why) => format!("écarté : {why}"),
                },
            )
        })
        .collect();
    DisposalPage {
        frame: signed.frame(format!("Élimination n° {}", d.proposal.id), "disposals"),
        id: d.proposal.id,
        state: state_words(d.state),
        summary: format!(
            "{} ({}) dont la conservation est échue au {}{} ; proposée le {} par {}",
            french::count(d.proposal.line_count(), "document", "documents"),
            french::size(d.proposal.size()),
            french::date(d.proposal.at),
            d.proposal
                .node
                .as_ref()
                .map(|n| format!(", nœud {n}"))
                .unwrap_or_default(),
            french::time(d.proposal.proposed_at),
            french::actor(&d.proposal.proposed_by)
        ),
        lines: lines
            .iter()
            .map(|l| LineView {
                reference: l.reference.to_string(),
                node: l.node.to_string(),
                date: french::date(l.date),
                rule: l.rule.clone(),
                due: french::date(l.due),
                outcome: skipped.get(&l.record).cloned().unwrap_or_default(),
            })
            .collect(),
        shown,
        previous_href,
        next_href,
        excluded: d
            .proposal
            .excluded
            .iter()
            .take(LINES_PER_PAGE)
            .map(|e| (e.reference.to_string(), e.reason.clone()))
            .collect(),
        more_excluded: d.proposal.excluded.len().saturating_sub(LINES_PER_PAGE) as u64,
        abandoned: d.abandoned.clone(),
        resume: d.state == DisposalState::Executing,
        visa: d.visa.as_ref().map(|v| {
            format!(
                "visa {} du {}, signé par {} (enregistré le {} par {})",
                v.reference,
                french::date(v.date),
                v.signer,
                french::time(v.recorded_at),
                french::actor(&v.recorded_by)
            )
        }),
        executed: d
            .execution
            .as_ref()
            .map(|e| format!("exécutée le {} par {}", french::time(e.at), french::actor(&e.by))),
        certificate_record: d.certificate.as_ref().map(ToString::to_string),
        may_approve: d.state == DisposalState::Proposed && d.proposal.is_complete() && *may_give_visa,
        awaiting_visa: (d.state == DisposalState::Proposed && d.proposal.is_complete() && !*may_give_visa)
            .then(|| "En attente du visa de l'autorité d'archives, qui l'enregistre ici.".to_owned()),
        may_execute: matches!(d.state, DisposalState::Approved | DisposalState::Executing)
            && signed.actor.role.allows(Permission::ManageRecords),
        problem,
        form,
    }
}

/// One elimination.
pub async fn show(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    query: web::Query<LinesPage>,
) -> Result<HttpResponse, PageError> {
    require_read(&signed)?;
    let actor = signed.actor.clone();
    let id = id.into_inner();
    let disposal = web::block(move || load(&archive, &actor, id)).await??;
    let page = disposal_page(&signed, &disposal, None, VisaForm::default(), query.number());
    Ok(html(StatusCode::OK, &page))
}

/// Records the archives' visa.
pub async fn approve(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    form: web::Form<VisaForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_read(&signed)?;
    let id = id.into_inner();
    let date = match form.date.trim() {
        "" => None,
        text => french::parse_date(text)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .or(Some(text.to_owned())),
    };
    let request = VisaRequest {
        visa: form.visa.clone(),
        signer: form.signataire.clone(),
        date,
        struck: Vec::new(),
    };
    let actor = signed.actor.clone();
    let approving = archive.clone();
    match web::block(move || approving.approve_disposal(&actor, id, request)).await? {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/eliminations/{id}")))
            .finish()),
        Err(ArchiveError::Invalid(e)) => {
            let actor = signed.actor.clone();
            let disposal = web::block(move || load(&archive, &actor, id)).await??;
            let problem = match e.field.as_str() {
                "visa" => "Donnez la référence du visa.".to_owned(),
                "signer" => "Nommez qui a signé le visa.".to_owned(),
                _ => e.problem,
            };
            let page = disposal_page(&signed, &disposal, Some(problem), form, 1);
            Ok(html(super::status_of(crate::errors::Code::InvalidField), &page))
        }
        Err(ArchiveError::VisaReserved(problem)) => {
            let actor = signed.actor.clone();
            let disposal = web::block(move || load(&archive, &actor, id)).await??;
            let page = disposal_page(&signed, &disposal, Some(problem), form, 1);
            Ok(html(super::status_of(crate::errors::Code::VisaReserved), &page))
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// `csrf=`: a form's token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// Executes an approved elimination.
pub async fn execute(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let id = id.into_inner();
    let actor = signed.actor.clone();
    web::block(move || crate::documents::execute_disposal(&archive, &actor, id)).await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/eliminations/{id}")))
        .finish())
}

/// The bordereau, as a page to print (with the collectivité and the
/// signature blocks when its identity is set).
pub async fn bordereau(signed: Signed, archive: Data<Archive>, id: web::Path<u64>) -> Result<HttpResponse, PageError> {
    let (disposal, plan, head) = paper_facts(&signed, archive, id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::documents::bordereau_html(&disposal, &plan.plan, &head)))
}

/// The answer for a certificate asked before the execution.
fn not_executed() -> PageError {
    PageError::Api(
        crate::errors::Code::DisposalState,
        "le certificat n'existe qu'une fois l'élimination exécutée".into(),
    )
}

/// What a disposal's papers are drawn from: the disposal, the plan in
/// force and the collectivité's identity.
async fn paper_facts(
    signed: &Signed,
    archive: Data<Archive>,
    id: u64,
) -> Result<
    (
        Disposal,
        std::sync::Arc<crate::archive::PublishedPlan>,
        crate::documents::Letterhead,
    ),
    PageError,
> {
    require_read(signed)?;
    let actor = signed.actor.clone();
    Ok(web::block(move || {
        let disposal = archive.disposal(&actor, id)?;
        let plan = archive.plan(&actor, None)?;
        let head = crate::documents::Letterhead::of(&archive)?;
        Ok::<_, ArchiveError>((disposal, plan, head))
    })
    .await??)
}

/// One of a disposal's papers as a PDF download, made by `make` from the
/// disposal, the plan in force and the identity (`None`: not yet).
async fn paper_pdf(
    signed: Signed,
    archive: Data<Archive>,
    id: u64,
    file: &str,
    make: fn(&Disposal, &crate::domain::plan::Plan, &crate::documents::Letterhead) -> Option<Vec<u8>>,
) -> Result<HttpResponse, PageError> {
    let (disposal, plan, head) = paper_facts(&signed, archive, id).await?;
    let pdf = make(&disposal, &plan.plan, &head).ok_or_else(not_executed)?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}-{id}.pdf\""),
        ))
        .body(pdf))
}

/// The bordereau as a PDF, to print, sign and file.
pub async fn bordereau_pdf(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    paper_pdf(
        signed,
        archive,
        id.into_inner(),
        "bordereau-elimination",
        |d, plan, head| Some(crate::documents::bordereau_pdf(d, plan, head)),
    )
    .await
}

/// The certificate as a PDF, once executed (the same as the record it is
/// filed as).
pub async fn certificate_pdf(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    paper_pdf(
        signed,
        archive,
        id.into_inner(),
        "certificat-elimination",
        crate::documents::certificate_pdf,
    )
    .await
}

/// The certificate as a page to print, once executed.
pub async fn certificate_page(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    let (disposal, plan, head) = paper_facts(&signed, archive, id.into_inner()).await?;
    let page = crate::documents::certificate_html(&disposal, &plan.plan, &head).ok_or_else(not_executed)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page))
}

/// The certificate, once executed (JSON, as the API gives it).
pub async fn certificate(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    require_read(&signed)?;
    let actor = signed.actor.clone();
    let id = id.into_inner();
    let disposal = web::block(move || archive.disposal(&actor, id)).await??;
    let certificate = crate::documents::certificate(&disposal).ok_or_else(not_executed)?;
    let body = serde_json::to_string_pretty(&certificate).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"certificat-elimination-{id}.json\""),
        ))
        .body(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_disposal_is_listed_page_by_page() {
        let (range, shown, previous, next) = page_of_lines(12, 1, "/eliminations/7");
        assert_eq!(range, 0..12);
        assert!(shown.is_empty(), "one page needs no words");
        assert_eq!((previous, next), (None, None));

        let total = 100_000;
        let (range, shown, previous, next) = page_of_lines(total, 1, "/eliminations/7");
        assert_eq!(range, 0..LINES_PER_PAGE);
        // Thousands are grouped with a narrow no-break space, as French writes them.
        assert_eq!(shown, "Lignes 1 à 500 sur 100\u{202f}000 (page 1 sur 200)");
        assert_eq!(previous, None);
        assert_eq!(next.as_deref(), Some("/eliminations/7?page=2"));

        let (range, shown, previous, next) = page_of_lines(total, 200, "/eliminations/7");
        assert_eq!(range, 99_500..100_000);
        assert_eq!(
            shown,
            "Lignes 99\u{202f}501 à 100\u{202f}000 sur 100\u{202f}000 (page 200 sur 200)"
        );
        assert_eq!(previous.as_deref(), Some("/eliminations/7?page=199"));
        assert_eq!(next, None);

        // Past the end: the last page, never an empty one or a panic.
        let (range, ..) = page_of_lines(total, 10_000, "/eliminations/7");
        assert_eq!(range, 99_500..100_000);
        let (range, ..) = page_of_lines(1_001, 3, "/eliminations/7");
        assert_eq!(range, 1_000..1_001);
        let (range, ..) = page_of_lines(0, 1, "/eliminations/7");
        assert_eq!(range, 0..0);
    }

    #[test]
    fn the_page_number_is_read_leniently() {
        let page = |p: &str| {
            LinesPage {
                page: Some(p.to_owned()),
            }
            .number()
        };
        assert_eq!(page("3"), 3);
        assert_eq!(page(" 2 "), 2);
        assert_eq!(page("0"), 1);
        assert_eq!(page("-4"), 1);
        assert_eq!(page("trois"), 1);
        assert_eq!(page("99999999999999999999999"), 1);
        assert_eq!(LinesPage::default().number(), 1);
    }
}
