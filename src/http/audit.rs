//! The journal and integrity checks, for auditors.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::Archive;
use crate::domain::role::Permission;
use crate::jobs::VerifyJobs;
use crate::wire::{EventsDto, VerifyJobDto};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// Events per page when the client does not say.
const EVENTS_DEFAULT: usize = 1000;
/// The most events per page.
const EVENTS_MAX: usize = 10_000;

/// `?after=SEQ&limit=N`.
#[derive(Deserialize)]
pub struct EventsQuery {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// Journal events after a seq.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit",
    params(("after" = Option<u64>, Query, description = "last seq already read (0 by default)"), ("limit" = Option<usize>, Query, description = "at most this many (1000 by default, 10000 at most)")),
    responses((status = 200, body = EventsDto), (status = 403)))]
pub async fn events(
    caller: Caller,
    archive: Data<Archive>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let after = query.after;
    let limit = query.limit.unwrap_or(EVENTS_DEFAULT).clamp(1, EVENTS_MAX);
    let events = web::block(move || archive.events(&caller.0, after, limit)).await??;
    Ok(HttpResponse::Ok().json(EventsDto::new(&events, after)))
}

/// Starts an integrity check.
#[utoipa::path(post, path = "/api/v1/audit/verify", tag = "audit",
    responses((status = 202, body = VerifyJobDto), (status = 403)))]
pub async fn start_verify(
    caller: Caller,
    archive: Data<Archive>,
    jobs: Data<VerifyJobs>,
) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::Audit, "run integrity checks")?;
    let id = jobs
        .into_inner()
        .start(archive.into_inner(), caller.0)
        .map_err(ApiError::internal)?;
    Ok(HttpResponse::build(StatusCode::ACCEPTED)
        .insert_header(("Location", format!("/api/v1/audit/verify/{id}")))
        .json(serde_json::json!({"job": id, "status": "running"})))
}

/// An integrity check's progress or result.
#[utoipa::path(get, path = "/api/v1/audit/verify/{job}", tag = "audit",
    params(("job" = u64, Path, description = "job id")),
    responses((status = 200, body = VerifyJobDto), (status = 404)))]
pub async fn verify_status(
    caller: Caller,
    jobs: Data<VerifyJobs>,
    job: web::Path<u64>,
) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::Audit, "read integrity checks")?;
    let view = jobs.get(*job).ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "job_not_found",
            format!("no integrity check job {job}"),
        )
    })?;
    Ok(HttpResponse::Ok().json(VerifyJobDto::from(view)))
}
