//! Retention: start events, what is due, and legal holds.

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::{Archive, ArchiveError, EventTarget};
use crate::domain::record::{InvalidInput, parse_date};
use crate::wire::{DueRecordDto, HoldDto, NewHoldDto, ReasonDto, RecordEventDto, ReviewDto, StartEventDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// `GET /retention/due` options.
#[derive(Deserialize)]
pub struct DueParams {
    /// `YYYY-MM-DD` (default: today).
    at: Option<String>,
}

/// The records whose retention has ended at a date (today by default; a
/// future date answers what becomes due by then), each with its final
/// action and the holds that stop it.
#[utoipa::path(get, path = "/api/v1/retention/due", tag = "retention",
    params(("at" = Option<String>, Query, format = Date, description = "YYYY-MM-DD, today by default")),
    responses((status = 200, description = "{at, total, records: [DueRecordDto]}"), (status = 403), (status = 422, description = "`at` is not a date")))]
pub async fn due(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<DueParams>,
) -> Result<HttpResponse, ApiError> {
    let at = params
        .at
        .as_deref()
        .map(|d| parse_date("at", d))
        .transpose()
        .map_err(ArchiveError::from)?;
    let (at, records) = web::block(move || {
        let records = archive.retention_due(&caller.0, at)?;
        Ok::<_, ArchiveError>((at, records))
    })
    .await??;
    let records: Vec<DueRecordDto> = records.iter().map(DueRecordDto::from).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "at": at.map(|d| d.to_string()),
        "total": records.len(),
        "records": records,
    })))
}

/// Records a start event for records or a whole node.
#[utoipa::path(post, path = "/api/v1/retention/events", tag = "retention", request_body = StartEventDto,
    responses((status = 200, description = "{records: N}"), (status = 403), (status = 404), (status = 422)))]
pub async fn start_event(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<StartEventDto>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let target = match (body.records.is_empty(), body.node) {
        (false, None) => EventTarget::Records(body.records),
        (true, Some(node)) => EventTarget::Node(node),
        _ => {
            return Err(ArchiveError::from(InvalidInput::new(
                "records",
                "nommez des documents ou un nœud, pas les deux",
            ))
            .into());
        }
    };
    let count = web::block(move || archive.record_start_event(&caller.0, &body.name, &body.date, target)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "records": count })))
}

/// Records a start event for one record.
#[utoipa::path(post, path = "/api/v1/records/{ref}/events", tag = "retention", request_body = RecordEventDto,
    params(("ref" = String, Path, description = "reference, alias or id")),
    responses((status = 200, description = "{records: 1}"), (status = 403), (status = 404), (status = 422)))]
pub async fn record_event(
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    body: JsonObject<RecordEventDto>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let target = EventTarget::Records(vec![key.into_inner()]);
    let count = web::block(move || archive.record_start_event(&caller.0, &body.name, &body.date, target)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "records": count })))
}

/// Places a legal hold on a record, a node or a saved search.
#[utoipa::path(post, path = "/api/v1/holds", tag = "retention", request_body = NewHoldDto,
    responses((status = 201, body = HoldDto), (status = 403), (status = 404), (status = 422)))]
pub async fn place_hold(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<NewHoldDto>,
) -> Result<HttpResponse, ApiError> {
    let request = body.into_inner().into();
    let hold = web::block(move || archive.place_hold(&caller.0, request)).await??;
    Ok(HttpResponse::Created().json(HoldDto::from(&hold)))
}

/// Every legal hold, lifted ones too.
#[utoipa::path(get, path = "/api/v1/holds", tag = "retention",
    responses((status = 200, body = Vec<HoldDto>), (status = 403)))]
pub async fn holds(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let holds = web::block(move || archive.holds(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(holds.iter().map(HoldDto::from).collect::<Vec<_>>()))
}

/// Lifts a legal hold, with a reason.
#[utoipa::path(post, path = "/api/v1/holds/{id}/lift", tag = "retention", request_body = ReasonDto,
    params(("id" = u64, Path, description = "the hold's id")),
    responses((status = 200, body = HoldDto), (status = 404), (status = 409), (status = 422)))]
pub async fn lift_hold(
    caller: Caller,
    archive: Data<Archive>,
    id: web::Path<u64>,
    body: JsonObject<ReasonDto>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let reason = body.into_inner().reason;
    let hold = web::block(move || archive.lift_hold(&caller.0, id, &reason)).await??;
    Ok(HttpResponse::Ok().json(HoldDto::from(&hold)))
}

/// Decides what becomes of a due record whose rule says `review`.
#[utoipa::path(post, path = "/api/v1/records/{ref}/review", tag = "retention", request_body = ReviewDto,
    params(("ref" = String, Path, description = "reference, alias or id")),
    responses((status = 200, body = crate::wire::RecordDto), (status = 403), (status = 404), (status = 422)))]
pub async fn review(
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    body: JsonObject<ReviewDto>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (record, details) = web::block(move || {
        let record = archive.review_record(&caller.0, &key, &body.decision, &body.reason)?;
        let details = archive.details(&caller.0, &record)?;
        Ok::<_, ArchiveError>((record, details))
    })
    .await??;
    Ok(HttpResponse::Ok().json(crate::wire::RecordDto::new(&record, &details, None)))
}
