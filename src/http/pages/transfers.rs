//! Transfers to the archives, from the archivists' pages: proposed from a
//! node and a date, the bordereau de versement (the page, to print), the
//! package downloaded, and the archives' acceptance recorded.

use super::{Frame, NodeOption, PageError, Signed, french, html};
use crate::archive::exports::{ExportRequest, ExportSelection};
use crate::archive::{AcknowledgementRequest, Archive, ArchiveError};
use crate::domain::disposition::Transfer;
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;
use std::io::{Seek, SeekFrom};

fn require_manage(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageRecords, "consulter les versements")
        .map_err(PageError::Archive)
}

/// A transfer's state, for people.
fn state_of(t: &Transfer) -> &'static str {
    if t.acknowledgement.is_some() {
        "accepté par les archives"
    } else if !t.packages.is_empty() {
        "paquet exporté"
    } else {
        "proposé"
    }
}

/// A transfer in the list.
pub struct TransferRow {
    id: u64,
    state: &'static str,
    at: String,
    node: String,
    count: u64,
    proposed: String,
}

#[derive(Template)]
#[template(path = "transfers.html")]
struct ListPage {
    frame: Frame,
    rows: Vec<TransferRow>,
    nodes: Vec<NodeOption>,
    au: String,
    noeud: String,
    problem: Option<String>,
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
    let (transfers, plan) = web::block(move || {
        let transfers = archive.transfers(&actor)?;
        let plan = archive.plan(&actor, None)?;
        Ok::<_, ArchiveError>((transfers, plan))
    })
    .await??;
    let page = ListPage {
        frame: signed.frame("Versements", "transfers"),
        rows: transfers
            .iter()
            .rev()
            .map(|t| TransferRow {
                id: t.proposal.id,
                state: state_of(t),
                at: french::date(t.proposal.at),
                node: t
                    .proposal
                    .node
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_else(|| "tout le plan".into()),
                count: t.proposal.line_count(),
                proposed: format!(
                    "le {} par {}",
                    french::time(t.proposal.proposed_at),
                    french::actor(&t.proposal.proposed_by)
                ),
            })
            .collect(),
        nodes: super::node_options(&plan.plan),
        au,
        noeud,
        problem,
    };
    Ok(html(status, &page))
}

/// The transfers and the form to propose one.
pub async fn list(signed: Signed, archive: Data<Archive>) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
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

/// Proposes a transfer and goes to it.
pub async fn propose(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<ProposeForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let invalid = super::status_of(crate::errors::Code::InvalidField);
    let request = match super::proposal_of(&form.au, &form.noeud) {
        Ok(request) => request,
        Err(problem) => {
            let status = super::status_of(crate::errors::Code::InvalidField);
            return list_page(&signed, archive, form.au, form.noeud, Some(problem), status).await;
        }
    };
    let actor = signed.actor.clone();
    let proposing = archive.clone();
    match web::block(move || proposing.propose_transfer(&actor, request)).await? {
        Ok(t) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/versements/{}", t.proposal.id)))
            .finish()),
        Err(ArchiveError::Invalid(e)) => {
            list_page(&signed, archive, form.au, form.noeud, Some(e.problem), invalid).await
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// A line, as the bordereau de versement lists it.
pub struct LineView {
    reference: String,
    node: String,
    date: String,
    rule: String,
    duration: String,
    size: String,
    outcome: String,
}

#[derive(Template)]
#[template(path = "transfer.html")]
struct TransferPage {
    frame: Frame,
    id: u64,
    state: &'static str,
    collectivite: String,
    /// Whether the collectivité has a logo to head the bordereau.
    logo: bool,
    archives: String,
    summary: String,
    lines: Vec<LineView>,
    excluded: Vec<(String, String)>,
    packages: Vec<String>,
    acknowledged: Option<String>,
    may_acknowledge: bool,
    problem: Option<String>,
    form: AckForm,
}

/// `csrf=&reference=&date=&signataire=`: the archives' acceptance.
#[derive(Debug, Default, Deserialize)]
pub struct AckForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reference: String,
    #[serde(default)]
    date: String,
    #[serde(default)]
    signataire: String,
}

fn transfer_page(
    signed: &Signed,
    t: &Transfer,
    identity: Option<&crate::domain::identity::Identity>,
    problem: Option<String>,
    form: AckForm,
) -> TransferPage {
    let outcomes: std::collections::BTreeMap<String, String> = t
        .acknowledgement
        .iter()
        .flat_map(|a| a.outcomes.iter())
        .map(|o| {
            (
                o.reference.to_string(),
                match &o.skipped {
                    None => "versé".to_owned(),
                    Some(why) => format!("gardé ici : {why}"),
                },
            )
        })
        .collect();
    TransferPage {
        frame: signed.frame(format!("Versement n° {}", t.proposal.id), "transfers"),
        id: t.proposal.id,
        state: state_of(t),
        collectivite: identity.map(|i| i.heading()).unwrap_or_default(),
        logo: identity.is_some_and(|i| i.logo.is_some()),
        archives: identity
            .map(|i| {
                if i.archives.identifier.is_empty() {
                    i.archives.name.clone()
                } else {
                    format!("{} ({})", i.archives.name, i.archives.identifier)
                }
            })
            .unwrap_or_default(),
        summary: format!(
            "{} ({}) dont la durée d'utilité administrative est échue au {}{}, à verser aux archives ; proposé le {} par {}",
            french::count(t.proposal.line_count(), "document", "documents"),
            french::size(t.proposal.size()),
            french::date(t.proposal.at),
            t.proposal
                .node
                .as_ref()
                .map(|n| format!(", nœud {n}"))
                .unwrap_or_default(),
            french::time(t.proposal.proposed_at),
            french::actor(&t.proposal.proposed_by)
        ),
        lines: t
            .proposal
            .lines
            .iter()
            .map(|l| LineView {
                reference: l.reference.to_string(),
                node: l.node.to_string(),
                date: french::date(l.date),
                rule: l.rule.clone(),
                duration: crate::domain::plan::RetentionDuration::parse(&l.duration)
                    .map(|d| french::duration(&d))
                    .unwrap_or_else(|_| l.duration.clone()),
                size: french::size(l.size()),
                outcome: outcomes.get(l.reference.as_str()).cloned().unwrap_or_default(),
            })
            .collect(),
        excluded: t
            .proposal
            .excluded
            .iter()
            .map(|e| (e.reference.to_string(), e.reason.clone()))
            .collect(),
        packages: t.packages.clone(),
        acknowledged: t.acknowledgement.as_ref().map(|a| {
            format!(
                "accepté par les archives sous la référence {} le {}{} (enregistré le {} par {})",
                a.reference,
                french::date(a.date),
                a.signer
                    .as_ref()
                    .map(|s| format!(", signé par {s}"))
                    .unwrap_or_default(),
                french::time(a.at),
                french::actor(&a.by)
            )
        }),
        may_acknowledge: t.acknowledgement.is_none() && !t.packages.is_empty(),
        problem,
        form,
    }
}

/// The bordereau de versement as a PDF, to print, sign and send with the
/// package.
pub async fn bordereau_pdf(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
    let actor = signed.actor.clone();
    let id = id.into_inner();
    let pdf = web::block(move || {
        let transfer = archive.transfer(&actor, id)?;
        let plan = archive.plan(&actor, None)?;
        let head = crate::documents::Letterhead::of(&archive)?;
        Ok::<_, ArchiveError>(crate::documents::transfer_bordereau_pdf(&transfer, &plan.plan, &head))
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"bordereau-versement-{id}.pdf\""),
        ))
        .body(pdf))
}

/// A transfer and the collectivité's identity, for its page.
async fn load(
    signed: &Signed,
    archive: Data<Archive>,
    id: u64,
) -> Result<(Transfer, Option<crate::domain::identity::Identity>), PageError> {
    let actor = signed.actor.clone();
    Ok(web::block(move || {
        let transfer = archive.transfer(&actor, id)?;
        let identity = archive.identity()?;
        Ok::<_, ArchiveError>((transfer, identity))
    })
    .await??)
}

/// One transfer: its bordereau de versement (print the page), its
/// package, the archives' acceptance.
pub async fn show(signed: Signed, archive: Data<Archive>, id: web::Path<u64>) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
    let id = id.into_inner();
    let (transfer, identity) = load(&signed, archive, id).await?;
    let page = transfer_page(&signed, &transfer, identity.as_ref(), None, AckForm::default());
    Ok(html(StatusCode::OK, &page))
}

/// `csrf=`: a form's token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// Builds the transfer's package (BagIt zip, SEDA 2.3 manifest) and sends
/// it to save.
pub async fn package(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let id = id.into_inner();
    let actor = signed.actor.clone();
    let (summary, length, file) = web::block(move || {
        let file = tempfile::tempfile_in(archive.data_dir().path())?;
        let request = ExportRequest {
            selection: ExportSelection::Transfer(id),
            archival_agency: None,
            transferring_agency: None,
            archival_agreement: None,
            comment: None,
        };
        let (summary, out) = archive.export(&actor, &request, std::io::BufWriter::new(file))?;
        let mut file = out.into_inner().map_err(|e| std::io::Error::other(e.to_string()))?;
        let length = file.seek(SeekFrom::End(0))?;
        Ok::<_, ArchiveError>((summary, length, file))
    })
    .await??;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"versement-{id}-{}.zip\"", summary.id),
        ))
        .body(crate::http::stream_from(file, 0, length)))
}

/// Records the archives' SEDA answer (multipart: `csrf`, then the file
/// `reponse`), and goes to the transfer it answers; an answer that does not
/// pass is said on this transfer's page.
pub async fn reply(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    require_manage(&signed)?;
    let sent = super::audit::read_sent(&signed, &archive, payload, "reponse", false).await?;
    let id = id.into_inner();
    let actor = signed.actor.clone();
    let answering = archive.clone();
    match web::block(move || answering.answer_transfer(&actor, &sent.bytes)).await? {
        Ok(answered) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/versements/{}", answered.proposal.id)))
            .finish()),
        Err(
            e @ (ArchiveError::Invalid(_)
            | ArchiveError::TransferState { .. }
            | ArchiveError::ReplyForUnknownTransfer(_)),
        ) => {
            let (transfer, identity) = load(&signed, archive, id).await?;
            let problem = match &e {
                ArchiveError::Invalid(i) => i.problem.clone(),
                other => other.to_string(),
            };
            let page = transfer_page(&signed, &transfer, identity.as_ref(), Some(problem), AckForm::default());
            Ok(html(super::status_of(e.code()), &page))
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// Records the archives' acceptance of the transfer.
pub async fn acknowledge(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    form: web::Form<AckForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_manage(&signed)?;
    let id = id.into_inner();
    let date = match form.date.trim() {
        "" => None,
        text => french::parse_date(text)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .or(Some(text.to_owned())),
    };
    let request = AcknowledgementRequest {
        reference: form.reference.clone(),
        date,
        signer: Some(form.signataire.trim().to_owned()).filter(|s| !s.is_empty()),
        reply: None,
    };
    let actor = signed.actor.clone();
    let acknowledging = archive.clone();
    match web::block(move || acknowledging.acknowledge_transfer(&actor, id, request)).await? {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, format!("/versements/{id}")))
            .finish()),
        Err(e @ (ArchiveError::Invalid(_) | ArchiveError::TransferState { .. })) => {
            let (transfer, identity) = load(&signed, archive, id).await?;
            let problem = match &e {
                ArchiveError::Invalid(i) if i.field == "reference" => {
                    "Donnez la référence que les archives ont attribuée au versement.".to_owned()
                }
                other => other.to_string(),
            };
            let page = transfer_page(&signed, &transfer, identity.as_ref(), Some(problem), form);
            Ok(html(super::status_of(e.code()), &page))
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}
