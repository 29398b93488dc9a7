//! The disposal workflow: propose, bordereau, approve with the visa,
//! execute, certificate.

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::{Archive, ArchiveError, VisaRequest};
use crate::documents;
use crate::errors::Code;
use crate::wire::{DisposalDto, NewDisposalDto, VisaDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// Proposes the disposal of what is due for destruction.
#[utoipa::path(post, path = "/api/v1/disposals", tag = "disposals", request_body = NewDisposalDto,
    responses((status = 201, body = DisposalDto), (status = 403), (status = 404, description = "a record named does not exist (record_not_found) or a node (node_not_found)"), (status = 422)))]
pub async fn propose(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<NewDisposalDto>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().into();
    let disposal = web::block(move || archive.propose_disposal(&caller.0, request)).await??;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/disposals/{}", disposal.proposal.id)))
        .json(DisposalDto::from(&disposal)))
}

/// Every disposal, with its counts but without its lines, exclusions and
/// outcomes (`GET /disposals/{id}` has them).
#[utoipa::path(get, path = "/api/v1/disposals", tag = "disposals",
    responses((status = 200, body = Vec<DisposalDto>), (status = 403)))]
pub async fn list(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let all = web::block(move || archive.disposals(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(all.iter().map(DisposalDto::summary).collect::<Vec<_>>()))
}

/// A disposal.
#[utoipa::path(get, path = "/api/v1/disposals/{id}", tag = "disposals",
    params(("id" = u64, Path, description = "the disposal's id")),
    responses((status = 200, body = DisposalDto), (status = 404)))]
pub async fn show(caller: Caller, archive: Data<Archive>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let disposal = web::block(move || archive.disposal(&caller.0, id)).await??;
    Ok(HttpResponse::Ok().json(DisposalDto::from(&disposal)))
}

/// `?format=html|csv|pdf`.
#[derive(Deserialize)]
pub struct FormatParams {
    format: Option<String>,
}

/// The *bordereau d'élimination*: HTML (default, to print and send for the
/// visa) or CSV.
#[utoipa::path(get, path = "/api/v1/disposals/{id}/bordereau", tag = "disposals",
    params(("id" = u64, Path, description = "the disposal's id"), ("format" = Option<String>, Query, pattern = "^(html|csv|pdf)$", description = "html (default), csv or pdf")),
    responses((status = 200, description = "the bordereau"), (status = 404)))]
pub async fn bordereau(
    caller: Caller,
    archive: Data<Archive>,
    id: web::Path<u64>,
    params: web::Query<FormatParams>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let format = params.format.clone().unwrap_or_else(|| "html".into());
    if format != "html" && format != "csv" && format != "pdf" {
        return Err(ApiError::new(Code::InvalidFormat, "format is html, csv or pdf"));
    }
    let (disposal, plan, head) = web::block(move || {
        let disposal = archive.disposal(&caller.0, id)?;
        let plan = archive.plan(&caller.0, None)?;
        let head = documents::Letterhead::of(&archive)?;
        Ok::<_, ArchiveError>((disposal, plan, head))
    })
    .await??;
    Ok(if format == "pdf" {
        HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"bordereau-elimination-{id}.pdf\""),
            ))
            .body(documents::bordereau_pdf(&disposal, &plan.plan, &head))
    } else if format == "csv" {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"bordereau-elimination-{id}.csv\""),
            ))
            .body(documents::bordereau_csv(&disposal, &plan.plan))
    } else {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(documents::bordereau_html(&disposal, &plan.plan, &head))
    })
}

/// Records the archives authority's visa (a partial visa strikes lines).
#[utoipa::path(post, path = "/api/v1/disposals/{id}/approve", tag = "disposals", request_body = VisaDto,
    params(("id" = u64, Path, description = "the disposal's id")),
    responses((status = 200, body = DisposalDto), (status = 403, description = "not an archivist, or the collectivité reserves the visa to its archives authority (forbidden, visa_reserved)"), (status = 404), (status = 409), (status = 422)))]
pub async fn approve(
    caller: Caller,
    archive: Data<Archive>,
    id: web::Path<u64>,
    body: JsonObject<VisaDto>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let visa = VisaRequest {
        visa: body.visa,
        signer: body.signer,
        date: body.date,
        struck: body.struck,
    };
    let disposal = web::block(move || archive.approve_disposal(&caller.0, id, visa)).await??;
    Ok(HttpResponse::Ok().json(DisposalDto::from(&disposal)))
}

/// Executes an approved disposal.
#[utoipa::path(post, path = "/api/v1/disposals/{id}/execute", tag = "disposals",
    params(("id" = u64, Path, description = "the disposal's id")),
    responses((status = 200, body = DisposalDto), (status = 404), (status = 409, description = "disposal_not_approved, disposal_state")))]
pub async fn execute(caller: Caller, archive: Data<Archive>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let disposal = web::block(move || crate::documents::execute_disposal(&archive, &caller.0, id)).await??;
    Ok(HttpResponse::Ok().json(DisposalDto::from(&disposal)))
}

/// The disposal certificate (once executed).
#[utoipa::path(get, path = "/api/v1/disposals/{id}/certificate", tag = "disposals",
    params(("id" = u64, Path, description = "the disposal's id")),
    responses((status = 200, description = "the certificate"), (status = 404), (status = 409)))]
pub async fn certificate(caller: Caller, archive: Data<Archive>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let disposal = web::block(move || archive.disposal(&caller.0, id)).await??;
    match documents::certificate(&disposal) {
        Some(certificate) => Ok(HttpResponse::Ok().json(certificate)),
        None => Err(ApiError::new(
            Code::DisposalState,
            format!(
                "disposal {id} is {}; a certificate exists once it is executed",
                disposal.state.as_str()
            ),
        )),
    }
}

/// Proposes the transfer to the archives of the records due whose final
/// action is `keep`.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "disposals", request_body = NewDisposalDto,
    responses((status = 201, body = crate::wire::TransferDto), (status = 403), (status = 404, description = "a record named does not exist (record_not_found) or a node (node_not_found)"), (status = 422)))]
pub async fn propose_transfer(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<NewDisposalDto>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().into();
    let transfer = web::block(move || archive.propose_transfer(&caller.0, request)).await??;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/transfers/{}", transfer.proposal.id)))
        .json(crate::wire::TransferDto::from(&transfer)))
}

/// Every transfer.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "disposals",
    responses((status = 200, body = Vec<crate::wire::TransferDto>), (status = 403)))]
pub async fn transfers(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let all = web::block(move || archive.transfers(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(all.iter().map(crate::wire::TransferDto::summary).collect::<Vec<_>>()))
}

/// A transfer.
#[utoipa::path(get, path = "/api/v1/transfers/{id}", tag = "disposals",
    params(("id" = u64, Path, description = "the transfer's id")),
    responses((status = 200, body = crate::wire::TransferDto), (status = 404)))]
pub async fn transfer(caller: Caller, archive: Data<Archive>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let transfer = web::block(move || archive.transfer(&caller.0, id)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::TransferDto::from(&transfer)))
}

/// Records the archives service's SEDA 2.3 answer to a transfer (the XML of
/// an `ArchiveTransferReply` or `Acknowledgement`, as the body): checked
/// against the schema, matched to the transfer whose package it names, and
/// acted on as its acknowledgement.
#[utoipa::path(post, path = "/api/v1/transfers/reply", tag = "transfers",
    request_body(content = String, content_type = "application/xml", description = "the archives' ArchiveTransferReply or Acknowledgement"),
    responses((status = 200, body = crate::wire::TransferDto), (status = 404, description = "no transfer exported the package it names"),
        (status = 409, description = "the reply refuses the transfer, or it was acknowledged already"), (status = 422, description = "not valid against the SEDA 2.3 schema")))]
pub async fn reply(caller: Caller, archive: Data<Archive>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(body, SEDA_REPLY_MAX, "an archives' reply").await?;
    let transfer = web::block(move || archive.answer_transfer(&caller.0, &body)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::TransferDto::from(&transfer)))
}

/// The largest SEDA answer accepted (one listing thousands of units).
const SEDA_REPLY_MAX: usize = 16 * 1024 * 1024;

/// Records the archives service's acknowledgement of an exported transfer:
/// the records it took become tombstones pointing to its reference.
#[utoipa::path(post, path = "/api/v1/transfers/{id}/acknowledge", tag = "transfers",
    params(("id" = u64, Path, description = "the transfer's id")),
    request_body = crate::wire::AcknowledgementDto,
    responses((status = 200, body = crate::wire::TransferDto), (status = 404), (status = 409, description = "not exported, or acknowledged already"), (status = 422)))]
pub async fn acknowledge(
    caller: Caller,
    archive: Data<Archive>,
    id: web::Path<u64>,
    body: JsonObject<crate::wire::AcknowledgementDto>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let body = body.into_inner();
    let request = crate::archive::AcknowledgementRequest {
        reference: body.reference,
        date: body.date,
        signer: body.signer,
        reply: None,
    };
    let transfer = web::block(move || archive.acknowledge_transfer(&caller.0, id, request)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::TransferDto::from(&transfer)))
}
