//! The journal and integrity checks, for auditors.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::Archive;
use crate::domain::role::Permission;
use crate::errors::Code;
use crate::jobs::VerifyJobs;
use crate::wire::{ConsultationsDto, EventsDto, VerifyJobDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// `?record=REF` or `?person=USER`, and `after=SEQ&limit=N`.
#[derive(Deserialize)]
pub struct ConsultationsQuery {
    record: Option<String>,
    person: Option<String>,
    /// Read as the document declares it (an int64 of 0 or more).
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

/// Readings per page when the client does not say.
const CONSULTATIONS_DEFAULT: usize = 1000;
/// The most readings per page.
const CONSULTATIONS_MAX: usize = 10_000;

/// Who read a record that holds personal data, or what a person read
/// (auditors).
#[utoipa::path(get, path = "/api/v1/audit/consultations", tag = "audit",
    params(("record" = Option<String>, Query, description = "a record's reference or id"), ("person" = Option<String>, Query, description = "a person's user name, or an actor's name (token:NAME)"), ("after" = Option<i64>, Query, minimum = 0, description = "the seq of the last reading already read (0 by default; a page's `next`)"), ("limit" = Option<usize>, Query, minimum = 1, maximum = 10000, description = "at most this many (1000 by default, 10000 at most)")),
    responses((status = 200, body = ConsultationsDto), (status = 403), (status = 404, description = "no such record"), (status = 422, description = "neither or both of record and person")))]
pub async fn consultations(
    caller: Caller,
    archive: Data<Archive>,
    query: web::Query<ConsultationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let ConsultationsQuery {
        record,
        person,
        after,
        limit,
    } = query.into_inner();
    let (after, limit) = journal_page(after, limit, CONSULTATIONS_DEFAULT, CONSULTATIONS_MAX, "lectures")?;
    let found =
        web::block(move || archive.consultations(&caller.0, record.as_deref(), person.as_deref(), after, limit))
            .await??;
    Ok(HttpResponse::Ok().json(ConsultationsDto::page(found, limit)))
}

/// A page of what the journal holds, checked: the seq it comes after (0
/// or more) and how many at most (`default` when not said, 1 to `max`).
fn journal_page(
    after: i64,
    limit: Option<usize>,
    default: usize,
    max: usize,
    what: &str,
) -> Result<(u64, usize), ApiError> {
    let after = u64::try_from(after)
        .map_err(|_| ApiError::new(Code::InvalidQuery, "after : le numéro d'un événement, 0 ou plus"))?;
    let limit = limit.unwrap_or(default);
    if !(1..=max).contains(&limit) {
        return Err(ApiError::new(
            Code::InvalidQuery,
            format!("limit : de 1 à {max} {what} par page"),
        ));
    }
    Ok((after, limit))
}

/// Events per page when the client does not say.
const EVENTS_DEFAULT: usize = 1000;
/// The most events per page.
const EVENTS_MAX: usize = 10_000;

/// `?after=SEQ&limit=N`.
#[derive(Deserialize)]
pub struct EventsQuery {
    /// Read as the document declares it (an int64 of 0 or more).
    #[serde(default)]
    after: i64,
    limit: Option<usize>,
}

/// Journal events after a seq.
#[utoipa::path(get, path = "/api/v1/audit/events", tag = "audit",
    params(("after" = Option<i64>, Query, minimum = 0, description = "last seq already read (0 by default)"), ("limit" = Option<usize>, Query, minimum = 1, maximum = 10000, description = "at most this many (1000 by default, 10000 at most)")),
    responses((status = 200, body = EventsDto), (status = 403)))]
pub async fn events(
    caller: Caller,
    archive: Data<Archive>,
    query: web::Query<EventsQuery>,
) -> Result<HttpResponse, ApiError> {
    let (after, limit) = journal_page(query.after, query.limit, EVENTS_DEFAULT, EVENTS_MAX, "événements")?;
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
    caller
        .0
        .require(Permission::Audit, "lancer des contrôles d'intégrité")?;
    let jobs = jobs.into_inner();
    let (id, new) = jobs.start(archive.into_inner(), caller.0).map_err(ApiError::internal)?;
    let job = match jobs.get(id) {
        Some(running) if !new => VerifyJobDto::from(running),
        _ => VerifyJobDto::started(id),
    };
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/api/v1/audit/verify/{id}")))
        .json(job))
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
    caller
        .0
        .require(Permission::Audit, "consulter les contrôles d'intégrité")?;
    let view = jobs
        .get(*job)
        .ok_or_else(|| ApiError::new(Code::JobNotFound, format!("no integrity check job {job}")))?;
    Ok(HttpResponse::Ok().json(VerifyJobDto::from(view)))
}

/// Seals the journal now (or answers the last seal when nothing happened since).
#[utoipa::path(post, path = "/api/v1/audit/seals", tag = "audit",
    responses((status = 201, description = "the seal"), (status = 403)))]
pub async fn seal(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let seal = web::block(move || archive.seal(&caller.0)).await??;
    Ok(HttpResponse::Created().json(seal))
}

/// Changes the key that signs seals (admin): the old key hands over to a
/// new one, both signing the rotation, and the journal is sealed with the
/// new key at once.
#[utoipa::path(post, path = "/api/v1/audit/keys/rotate", tag = "audit",
    responses((status = 201, description = "the rotation and the first seal under the new key"), (status = 403)))]
pub async fn rotate_key(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let (rotation, seal) = web::block(move || archive.rotate_seal_key(&caller.0)).await??;
    Ok(HttpResponse::Created().json(serde_json::json!({ "rotation": rotation, "seal": seal })))
}

/// Every seal of the journal, oldest first.
#[utoipa::path(get, path = "/api/v1/audit/seals", tag = "audit",
    responses((status = 200, description = "the seals"), (status = 403)))]
pub async fn seals(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let seals = web::block(move || archive.seals(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "seals": seals })))
}

/// The public key that signs seals: JSON, or PEM with `?format=pem`.
#[utoipa::path(get, path = "/api/v1/audit/public-key", tag = "audit",
    params(("format" = Option<String>, Query, pattern = "^(json|pem)$", description = "json (default) or pem")),
    responses((status = 200, description = "the key")))]
pub async fn public_key(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<FormatQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::ReadRecords, "lire la clé des sceaux")?;
    let key = archive.seal_public_key();
    let reading = archive.clone();
    let chain = web::block(move || reading.key_chain()).await??;
    let pem = crate::domain::seal::public_key_pem(&key).map_err(ApiError::internal)?;
    match params.format.as_deref() {
        Some("pem") => Ok(HttpResponse::Ok().content_type("application/x-pem-file").body(pem)),
        None | Some("json") => Ok(HttpResponse::Ok().json(serde_json::json!({
            "archive": archive.archive_id(),
            "algorithm": "ed25519",
            "public_key": key,
            "pem": pem,
            "keys": chain.keys,
            "key_chain": chain.rotations,
        }))),
        Some(_) => Err(ApiError::new(Code::InvalidFormat, "format is json or pem")),
    }
}

/// `?format=`.
#[derive(Deserialize)]
pub struct FormatQuery {
    format: Option<String>,
}

/// Every event of a record with its inclusion proof against the latest seal.
#[utoipa::path(get, path = "/api/v1/audit/proof/{ref}", tag = "audit",
    params(("ref" = String, Path, description = "reference or id")),
    responses((status = 200, description = "the proofs"), (status = 404), (status = 409, description = "not sealed yet")))]
pub async fn proof(caller: Caller, archive: Data<Archive>, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let proof = web::block(move || archive.record_proof(&caller.0, &key)).await??;
    Ok(HttpResponse::Ok().json(proof))
}

/// `?from=&to=`.
#[derive(Deserialize)]
pub struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// That the tree of `to` events extends the tree of `from` events.
#[utoipa::path(get, path = "/api/v1/audit/consistency", tag = "audit",
    params(("from" = u64, Query, description = "the older tree size (a seal's tree_size)"), ("to" = Option<u64>, Query, description = "the newer tree size (the latest seal's by default)")),
    responses((status = 200, description = "the proof"), (status = 403, description = "auditors only"), (status = 409, description = "nothing sealed yet (not_sealed)"), (status = 422)))]
pub async fn consistency(
    caller: Caller,
    archive: Data<Archive>,
    query: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = (query.from, query.to);
    let proof = web::block(move || archive.consistency_proof(&caller.0, from, to)).await??;
    Ok(HttpResponse::Ok().json(proof))
}

/// `?format=&version=`.
#[derive(Deserialize)]
pub struct AttestationQuery {
    format: Option<String>,
    version: Option<u32>,
}

/// The accusé de dépôt of a record: JSON (default) or HTML.
#[utoipa::path(get, path = "/api/v1/records/{ref}/attestation", tag = "records",
    params(("ref" = String, Path, description = "reference or id"), ("format" = Option<String>, Query, pattern = "^(json|html)$", description = "json (default) or html"), ("version" = Option<u32>, Query, description = "the version (1 by default)")),
    responses((status = 200, description = "the attestation"), (status = 404)))]
pub async fn attestation(
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    query: web::Query<AttestationQuery>,
) -> Result<HttpResponse, ApiError> {
    let html = match query.format.as_deref() {
        None | Some("json") => false,
        Some("html") => true,
        Some(_) => return Err(ApiError::new(Code::InvalidFormat, "format is json or html")),
    };
    let version = query.version;
    let attestation = web::block(move || archive.attestation(&caller.0, &key, version)).await??;
    Ok(if html {
        HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(crate::documents::attestation_html(&attestation))
    } else {
        HttpResponse::Ok().json(attestation)
    })
}

/// Where the scheduled fixity job stands: running, paused or idle, the run
/// under way, the last result and its findings, when the next run is due.
#[utoipa::path(get, path = "/api/v1/audit/fixity", tag = "audit",
    responses((status = 200, description = "the fixity job"), (status = 403)))]
pub async fn fixity(
    caller: Caller,
    archive: Data<Archive>,
    schedule: Data<crate::config::FixitySchedule>,
) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::Audit, "consulter le contrôle planifié")?;
    Ok(HttpResponse::Ok().json(archive.fixity_status(&schedule)))
}

/// Pauses the fixity job; it stops after the blob it is hashing.
#[utoipa::path(post, path = "/api/v1/audit/fixity/pause", tag = "audit",
    responses((status = 200, description = "the fixity job"), (status = 403)))]
pub async fn pause_fixity(
    caller: Caller,
    archive: Data<Archive>,
    schedule: Data<crate::config::FixitySchedule>,
) -> Result<HttpResponse, ApiError> {
    change_fixity(archive, schedule, HttpResponse::Ok, move |a| a.pause_fixity(&caller.0)).await
}

/// Resumes the fixity job where it stopped.
#[utoipa::path(post, path = "/api/v1/audit/fixity/resume", tag = "audit",
    responses((status = 200, description = "the fixity job"), (status = 403)))]
pub async fn resume_fixity(
    caller: Caller,
    archive: Data<Archive>,
    schedule: Data<crate::config::FixitySchedule>,
) -> Result<HttpResponse, ApiError> {
    change_fixity(archive, schedule, HttpResponse::Ok, move |a| a.resume_fixity(&caller.0)).await
}

/// Asks for a fixity run now (the job takes it up within a second).
#[utoipa::path(post, path = "/api/v1/audit/fixity/run", tag = "audit",
    responses((status = 202, description = "the fixity job"), (status = 403)))]
pub async fn run_fixity(
    caller: Caller,
    archive: Data<Archive>,
    schedule: Data<crate::config::FixitySchedule>,
) -> Result<HttpResponse, ApiError> {
    change_fixity(archive, schedule, HttpResponse::Accepted, move |a| {
        a.request_fixity(&caller.0)
    })
    .await
}

/// Applies a change to the fixity job off the actix workers and answers
/// the job's status.
async fn change_fixity(
    archive: Data<Archive>,
    schedule: Data<crate::config::FixitySchedule>,
    answer: fn() -> actix_web::HttpResponseBuilder,
    change: impl FnOnce(&Archive) -> Result<crate::archive::fixity::FixityState, crate::archive::ArchiveError>
    + Send
    + 'static,
) -> Result<HttpResponse, ApiError> {
    let changed = archive.clone();
    web::block(move || change(&changed)).await??;
    Ok(answer().json(archive.fixity_status(&schedule)))
}

/// Repairs everything it can (admin): every damaged content put back from
/// a copy whose bytes are intact, every copy store given the contents it
/// lacks; lists what could not be repaired, and why. Each repair is
/// journaled.
#[utoipa::path(post, path = "/api/v1/repair", tag = "audit",
    responses((status = 200, body = crate::wire::RepairReportDto), (status = 403), (status = 503, description = "the archive is read-only")))]
pub async fn repair(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let report = web::block(move || archive.repair(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::RepairReportDto::from(report)))
}
