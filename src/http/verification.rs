//! The verification queue over HTTP: the records that wait, a person's
//! verification of one, the counts of fields checked and corrected.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::verification::QUEUE_PAGE_MAX;
use crate::archive::{Archive, ArchiveError};
use crate::errors::Code;
use crate::wire::{RecordDto, VerificationCountsDto, VerificationDto, VerificationQueueDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// The largest verification body.
const VERIFICATION_BODY_MAX: usize = 256 * 1024;

/// `GET /verification` parameters.
#[derive(Deserialize)]
pub struct QueueParams {
    /// The last record of the previous page (its `next`).
    after: Option<String>,
    /// Records per page, 1 to 500 (50 by default).
    limit: Option<usize>,
}

/// The records waiting for verification that the caller may verify,
/// oldest deposit first.
#[utoipa::path(get, path = "/api/v1/verification", tag = "records",
    params(("after" = Option<String>, Query, format = Uuid, description = "the `next` of the previous page (a record id)"), ("limit" = Option<usize>, Query, minimum = 1, maximum = 500, description = "records per page, 50 by default")),
    responses((status = 200, body = VerificationQueueDto), (status = 403), (status = 422, description = "`after` is no record id, or `limit` is out of range")))]
pub async fn queue(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<QueueParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = params.limit.unwrap_or(50);
    if !(1..=QUEUE_PAGE_MAX).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            format!("« limit » va de 1 à {QUEUE_PAGE_MAX} documents par page"),
        ));
    }
    let after = params.after.clone();
    let page = web::block(move || archive.verification_queue(&caller.0, after.as_deref(), limit)).await??;
    Ok(HttpResponse::Ok().json(VerificationQueueDto::new(&page)))
}

/// Confirms or corrects a waiting record's description; it leaves the
/// queue. Each field is journaled as read and as kept.
#[utoipa::path(post, path = "/api/v1/records/{ref}/verification", tag = "records",
    params(("ref" = String, Path, description = "reference, alias or id")),
    request_body = VerificationDto,
    responses((status = 200, body = RecordDto), (status = 400), (status = 403), (status = 404), (status = 409, description = "it does not wait for verification (not_awaiting_verification), or a legal hold freezes it"), (status = 410, description = "destroyed or transferred"), (status = 413), (status = 422)))]
pub async fn verify(
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(body, VERIFICATION_BODY_MAX, "a verification").await?;
    let verification: VerificationDto = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(Code::InvalidJson, format!("le corps de la requête n'est pas une vérification ({{\"fields\": {{…}}, \"node\", \"date\", \"comment\"}}) : {e}")))?;
    let (record, details) = web::block(move || {
        let record = archive.verify_description(&caller.0, &key, verification.into())?;
        let details = archive.details(&caller.0, &record)?;
        Ok::<_, ArchiveError>((record, details))
    })
    .await??;
    Ok(HttpResponse::Ok().json(RecordDto::new(&record, &details, None)))
}

/// What capture read right and what people corrected, by field and by
/// supplier; how many records wait.
#[utoipa::path(get, path = "/api/v1/verification/counts", tag = "records",
    responses((status = 200, body = VerificationCountsDto), (status = 403)))]
pub async fn counts(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let counts = web::block(move || archive.verification_counts(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(VerificationCountsDto::new(&counts)))
}
