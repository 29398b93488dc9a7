//! Accounting flows received over HTTP: a PES flow or acknowledgement in
//! the `file` part of a form, split into linked records.

use super::auth::Caller;
use super::error::ApiError;
use super::records::{drain, filename_of, multipart_error, next_item, stream_part};
use crate::archive::{Archive, ArchiveError};
use crate::errors::Code;
use crate::wire::CapturedFlowDto;
use actix_multipart::{Multipart, MultipartError};
use actix_web::HttpResponse;
use actix_web::web::Data;

/// Captures a PES flow (`PES_Aller`) or acknowledgement (`PES_ACQUIT`).
#[utoipa::path(post, path = "/api/v1/flows/pes", tag = "records",
    request_body(content((crate::wire::FlowFormDto = "multipart/form-data")), description = "part `file`: the flow as received"),
    responses((status = 201, body = CapturedFlowDto, description = "records made"), (status = 200, body = CapturedFlowDto, description = "every part was archived already: the records that hold them"), (status = 400, description = "not a PES flow coffre reads, or a part the plan refuses"), (status = 401), (status = 403), (status = 413), (status = 422)))]
pub async fn pes(caller: Caller, archive: Data<Archive>, payload: Multipart) -> Result<HttpResponse, ApiError> {
    let (bytes, filename) = flow_file(&archive, payload).await?;
    let captured = actix_web::web::block(move || archive.capture_pes(&caller.0, None, &bytes, filename)).await??;
    let answer = CapturedFlowDto::new(&captured);
    if captured.parts.iter().all(|p| p.already_archived) {
        Ok(HttpResponse::Ok().json(answer))
    } else {
        Ok(HttpResponse::Created().json(answer))
    }
}

/// The one part named `file` of a flow's multipart body, and its name.
async fn flow_file(archive: &Archive, mut payload: Multipart) -> Result<(Vec<u8>, Option<String>), ApiError> {
    let mut received: Option<(Vec<u8>, Option<String>)> = None;
    loop {
        let next = match next_item(&mut payload).await.transpose() {
            Ok(next) => next,
            Err(MultipartError::Incomplete) if received.is_none() => None,
            Err(e) => return Err(multipart_error(e)),
        };
        let Some(mut field) = next else { break };
        if field.name() != Some("file") || received.is_some() {
            return Err(ApiError::new(
                Code::InvalidMultipart,
                "a flow is sent as one part named 'file', and nothing else",
            ));
        }
        let filename = filename_of(&field)?;
        let limit = archive.max_upload().min(crate::archive::flows::FLOW_MAX);
        let read = stream_part(&mut field, limit, |reader| {
            let mut bytes = Vec::new();
            reader
                .read_to_end(&mut bytes)
                .map_err(|e| ArchiveError::UploadAborted(e.to_string()))?;
            Ok(bytes)
        })
        .await;
        match read {
            Ok(bytes) => received = Some((bytes, filename)),
            Err(e) => {
                if e.code() == "payload_too_large" {
                    drain(field, &mut payload).await;
                }
                return Err(e);
            }
        }
    }
    received.ok_or_else(|| ApiError::new(Code::MissingFile, "the request has no 'file' part: send the flow in it"))
}

/// Captures an e-invoice lifecycle message (CDV: a CDAR D22B message of
/// the French e-invoicing reform): archived in the lifecycle node, linked to
/// the invoices it names, which move on in their circuit where a step's
/// `when` names the status (`cdv:208`).
#[utoipa::path(post, path = "/api/v1/flows/cdv", tag = "records",
    request_body(content((crate::wire::FlowFormDto = "multipart/form-data")), description = "part `file`: the message as received"),
    responses((status = 201, body = crate::wire::CapturedStatusesDto, description = "archived, and the invoices moved"), (status = 200, body = crate::wire::CapturedStatusesDto, description = "archived already: nothing moved again"), (status = 400, description = "not a lifecycle message coffre reads"), (status = 401), (status = 403), (status = 413), (status = 422)))]
pub async fn lifecycle(caller: Caller, archive: Data<Archive>, payload: Multipart) -> Result<HttpResponse, ApiError> {
    let (bytes, filename) = flow_file(&archive, payload).await?;
    let captured =
        actix_web::web::block(move || archive.capture_lifecycle(&caller.0, None, &bytes, filename)).await??;
    let answer = crate::wire::CapturedStatusesDto::new(&captured);
    if captured.already_archived {
        Ok(HttpResponse::Ok().json(answer))
    } else {
        Ok(HttpResponse::Created().json(answer))
    }
}

/// What can be read of a record as an invoice (its text's fields).
#[utoipa::path(get, path = "/api/v1/records/{ref}/reading", tag = "records",
    params(("ref" = String, Path, description = "reference or id")),
    responses((status = 200, body = crate::wire::InvoiceReadingDto, description = "`pending` until its text is extracted"), (status = 404)))]
pub async fn reading(
    caller: Caller,
    archive: Data<Archive>,
    key: actix_web::web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reading = actix_web::web::block(move || archive.invoice_reading(&caller.0, &key)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::InvoiceReadingDto::new(reading.as_ref())))
}
