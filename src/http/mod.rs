//! The HTTP adapter (actix-web): routes under `/api/v1`, the token
//! extractor, wire types and the one error table; and the web pages for
//! people under `/` (`pages`). Handlers only translate:
//! every use case runs in `archive`, on a blocking thread (`web::block`),
//! never on a server worker.
//!
//! Invariant: only this module names actix.

mod accounts;
mod audit;
mod auth;
mod body;
mod exports;
mod flows;
mod identity;
pub(crate) mod imports;
mod stats;

mod circuits;
mod disposals;
mod error;
mod pacing;
mod pages;
mod plan;
mod records;
mod retention;
mod rules;
mod search;
mod tokens;
mod verification;

pub use error::ApiError;

use crate::archive::Archive;
use crate::config::Config;
use crate::errors::Code;
use crate::jobs::VerifyJobs;
use actix_web::web::{self, Data};
use actix_web::{App, HttpResponse, HttpServer};
use rules::RequestRules;
use std::net::SocketAddr;
use std::sync::Arc;
use utoipa::OpenApi;

/// The OpenAPI description, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(title = "coffre", description = "Electronic records management and archiving: deposit, read and verify archived records."),
    paths(
        records::deposit, records::deposit_batch, flows::pes, flows::lifecycle, flows::reading, verification::queue, verification::verify, verification::counts, circuits::move_record, circuits::worklist, circuits::mail_summaries, circuits::payments, circuits::blockages, circuits::stocks, circuits::capture, circuits::health, records::show, records::update, records::content, records::rendition, records::add_version, records::delete, records::holders,
        search::search, plan::validate, plan::publish, plan::show, plan::versions, retention::due, retention::start_event, retention::record_event, retention::place_hold, retention::holds, retention::lift_hold, retention::review, disposals::propose, disposals::list, disposals::show, disposals::bordereau, disposals::approve, disposals::execute, disposals::certificate, disposals::propose_transfer, disposals::transfers, disposals::transfer, disposals::acknowledge, disposals::reply, tokens::create, tokens::list, tokens::revoke, accounts::list, accounts::create, accounts::update, accounts::set_password, accounts::login, audit::events, audit::consultations, audit::start_verify, audit::verify_status, audit::seal, audit::rotate_key, audit::seals, audit::public_key, audit::proof, audit::consistency, audit::attestation, audit::fixity, audit::pause_fixity, audit::resume_fixity, audit::run_fixity, audit::repair, exports::export, imports::import, identity::show, identity::set, identity::logo, identity::set_logo, identity::remove_logo, search::reindex, stats::stats, stats::metrics, healthz, openapi_json
    ),
    components(schemas(crate::wire::ErrorDto, crate::wire::ErrorBodyDto, crate::wire::HoldersDto, crate::wire::HolderDto, crate::wire::RecordDto, crate::wire::VersionDto, crate::wire::RenditionDto, crate::wire::HistoryDto, crate::wire::DepositMetadataDto, crate::wire::DepositFormDto, crate::wire::BatchFormDto, crate::wire::BatchDepositDto, crate::wire::BatchOutcomeDto, crate::wire::VersionFormDto, crate::wire::ImportFormDto, crate::wire::RecordPatchDto, crate::wire::NewTokenDto, crate::wire::RevocationDto, crate::wire::TokenDto, crate::wire::TokenInfoDto, crate::wire::TokensDto, crate::wire::AccountDto, crate::wire::NewAccountDto, crate::wire::AccountPatchDto, crate::wire::PasswordDto, crate::wire::LoginDto, crate::wire::EventsDto, crate::wire::ConsultationDto, crate::wire::ConsultationsDto, crate::wire::VerifyJobDto, crate::wire::SearchResultsDto, crate::wire::SearchHitDto, crate::wire::PlanVersionDto, crate::wire::PublicationDto, crate::wire::PlanImpactDto, crate::wire::NodeImpactDto, crate::wire::HoldDto, crate::wire::NewHoldDto, crate::wire::ReasonDto, crate::wire::DueRecordDto, crate::wire::StartEventDto, crate::wire::RecordEventDto, crate::wire::ReviewDto, crate::wire::DisposalDto, crate::wire::NewDisposalDto, crate::wire::VisaDto, crate::wire::TransferDto, crate::wire::NewExportDto, crate::wire::ImportSummaryDto, crate::wire::IdentityDto, crate::wire::ServiceDto, crate::wire::ArchivesServiceDto, crate::wire::LogoDto, crate::wire::ImportedRecordDto, crate::wire::ReindexDto, crate::wire::AcknowledgementDto, crate::wire::RepairReportDto, crate::wire::RepairedBlobDto, crate::wire::CompletedCopyDto, crate::wire::UnrepairedBlobDto, crate::wire::FlowFormDto, crate::wire::CapturedFlowDto, crate::wire::FlowPartDto, crate::wire::SignatureDto, crate::wire::AcknowledgedDto, crate::wire::AnomalyDto, crate::wire::InvoiceReadingDto, crate::wire::ReadFieldDto, crate::wire::VerificationQueueDto, crate::wire::WaitingRecordDto, crate::wire::ToVerifyDto, crate::wire::RecordReadingDto, crate::wire::ReadValueDto, crate::wire::VerificationDto, crate::wire::VerificationCountsDto, crate::wire::CheckCountDto, crate::wire::StepDto, crate::wire::PassageDto, crate::wire::CirculationDto, crate::wire::MoveDto, crate::wire::WorkItemDto, crate::wire::WorkListDto, crate::wire::DelayStatsDto, crate::wire::DelayGroupDto, crate::wire::PaymentIndicatorsDto, crate::wire::BlockageDto, crate::wire::BlockagesDto, crate::wire::StockDto, crate::wire::MonthIntakeDto, crate::wire::ChannelDayDto, crate::wire::StockIndicatorsDto, crate::wire::CaptureIndicatorsDto, crate::wire::FieldCountsDto, crate::wire::CaptureDayDto, crate::wire::CaptureMonthDto, crate::wire::FlowCountsDto, crate::wire::RejectionDto, crate::wire::CaptureFailuresDto, crate::wire::ExtractionFailureDto, crate::wire::HealthIndicatorsDto, crate::wire::HealthMonthDto, crate::wire::DueMonthDto, crate::wire::CopyLagDto, crate::wire::HealthNowDto, crate::wire::FixityRunDto, crate::wire::CapturedStatusesDto, crate::wire::StatusOutcomeDto, crate::wire::SummariesDto, crate::wire::SummaryFailureDto, circuits::IndicatorFormat)),
    modifiers(&BearerAuth, &ErrorAnswers, &RequestRules),
    security(("bearer" = []))
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Declares on every operation the answers any request may get (a bad
/// query, path or JSON; a client cut for slowness; a full disk; the archive
/// failing or busy; and, behind a token, a missing or refused token), and
/// gives every error answer the error schema: a client generated from the
/// document knows every status it may meet.
struct ErrorAnswers;

impl utoipa::Modify for ErrorAnswers {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorDto")))
                        .build(),
                )
                .build()
        };
        let everywhere: [(&str, &str); 5] = [
            (
                "400",
                "a bad query string, path or JSON body (invalid_query, invalid_path, invalid_json)",
            ),
            ("408", "the client stopped sending, or sent too slowly (upload_timeout)"),
            ("500", "the archive failed (internal_error); details in its log"),
            (
                "503",
                "the archive is busy or cannot write for now (unavailable), or, on a read-only replica, a record holding personal data is read on the primary (reading_not_traced)",
            ),
            ("507", "the disk is full (storage_full): reading goes on"),
        ];
        let guarded = |op: &Operation| op.security.as_ref().is_none_or(|s| !s.is_empty());
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in operations.into_iter().flatten() {
                let secured = guarded(op);
                let responses = &mut op.responses.responses;
                for (status, response) in responses.iter_mut() {
                    let failing = status.starts_with('4') || status.starts_with('5');
                    if let RefOr::T(response) = response
                        && failing
                        && response.content.is_empty()
                    {
                        let description = if response.description.is_empty() {
                            "see the error's code"
                        } else {
                            response.description.as_str()
                        };
                        *response = error(description);
                    }
                }
                for (status, description) in everywhere {
                    responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::T(error(description)));
                }
                if secured {
                    responses.entry("401".to_owned()).or_insert_with(|| {
                        RefOr::T(error("no token, or one unknown, expired or revoked (unauthenticated, token_expired, token_revoked)"))
                    });
                }
            }
        }
    }
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "service", security(), responses((status = 200, description = "`{\"status\": \"ok\"}`, or `{\"status\": \"read_only\", \"reason\"}` when the journal was found damaged at start (reads go on, writes answer 503)")))]
pub async fn healthz(archive: Data<Archive>) -> HttpResponse {
    match archive.read_only() {
        Some(reason) => HttpResponse::Ok().json(serde_json::json!({"status": "read_only", "reason": reason})),
        None => HttpResponse::Ok().json(serde_json::json!({"status": "ok"})),
    }
}

/// This description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "service", responses((status = 200, description = "OpenAPI 3.1")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// Reads a request body whole, up to `max` bytes (413 beyond, naming
/// `what`).
pub(crate) async fn read_body(mut payload: web::Payload, max: usize, what: &str) -> Result<Vec<u8>, ApiError> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            let code = if pacing::timed_out(&e) {
                Code::UploadTimeout
            } else {
                Code::UploadIncomplete
            };
            ApiError::new(code, format!("reading {what}: {e}"))
        })?;
        if body.len() + chunk.len() > max {
            return Err(ApiError::new(
                Code::PayloadTooLarge,
                format!("{what} is at most {max} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A path nobody serves: a page for a browser, JSON for a program; an
/// endpoint of the API asked with a method it does not serve: 405, with
/// the methods it does serve in `Allow`.
async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    if let Some(refusal) = method_not_allowed(&req) {
        return Ok(refusal);
    }
    if pages::wants_page(&req) {
        return Ok(pages::not_found_page());
    }
    Err(ApiError::new(
        Code::NotFound,
        "no such endpoint; see /api/v1/openapi.json",
    ))
}

/// 405 for a request whose path names an endpoint that does not serve its
/// method, with the methods it does serve in `Allow`; `None` otherwise.
fn method_not_allowed(req: &actix_web::HttpRequest) -> Option<HttpResponse> {
    let allowed = allowed_methods(req.path());
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        return None;
    }
    let allow = allowed.join(", ");
    let refusal = ApiError::new(
        Code::MethodNotAllowed,
        format!(
            "{} {} is not served; this endpoint answers {allow}",
            req.method(),
            req.path()
        ),
    );
    let mut answer = actix_web::ResponseError::error_response(&refusal);
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(&allow) {
        answer.headers_mut().insert(actix_web::http::header::ALLOW, value);
    }
    Some(answer)
}

/// The methods the OpenAPI document gives the path `path` (its templates'
/// `{name}` segments match any one segment), in upper case; empty when no
/// endpoint has this path.
fn allowed_methods(path: &str) -> Vec<&'static str> {
    use std::sync::OnceLock;
    type Template = (Vec<String>, Vec<&'static str>);
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        ApiDoc::openapi()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template.split('/').map(str::to_owned).collect();
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, served)| served.then_some(method))
                .collect();
                (segments, methods)
            })
            .collect()
    });
    let asked: Vec<&str> = path.split('/').collect();
    // The templates that match, by how many segments they leave open: the
    // path is the one that names it most closely (`/transfers/reply`, not
    // `/transfers/{id}`).
    let mut closest: Option<(usize, Vec<&'static str>)> = None;
    for (segments, methods) in templates {
        let matches = segments.len() == asked.len()
            && segments
                .iter()
                .zip(&asked)
                .all(|(template, part)| (template.starts_with('{') && !part.is_empty()) || template == part);
        if !matches {
            continue;
        }
        let open = segments.iter().filter(|s| s.starts_with('{')).count();
        match &mut closest {
            Some((best, allowed)) if *best == open => {
                for method in methods {
                    if !allowed.contains(method) {
                        allowed.push(method);
                    }
                }
            }
            Some((best, _)) if *best < open => {}
            _ => closest = Some((open, methods.clone())),
        }
    }
    closest.map(|(_, allowed)| allowed).unwrap_or_default()
}

/// Whether a request asks for a page a person reads (everything but the
/// API, the metrics and the health check).
fn for_people(req: &actix_web::HttpRequest) -> bool {
    let path = req.path();
    !(path.starts_with("/api/") || path == "/metrics" || path == "/healthz")
}

/// Routes and extractor settings, shared by the server and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // JSON bodies are read by `body::JsonObject`, which has its own limit.
    // The extractors' settings are the app's, shared by the API and the
    // pages: a person's page answers an unreadable address as a page.
    cfg.app_data(web::QueryConfig::default().error_handler(|e, req| {
        if for_people(req) {
            pages::unreadable_address(Code::InvalidQuery).into()
        } else {
            ApiError::new(Code::InvalidQuery, format!("paramètres de l'adresse illisibles : {e}")).into()
        }
    }))
    .app_data(
        // `/transfers/reply` asked with GET reaches `/transfers/{id}`: the
        // path names an endpoint that does not serve GET.
        web::PathConfig::default().error_handler(|e, req| match method_not_allowed(req) {
            Some(refusal) => actix_web::error::InternalError::from_response(e, refusal).into(),
            None if for_people(req) => pages::unreadable_address(Code::InvalidPath).into(),
            None => ApiError::new(Code::InvalidPath, format!("chemin illisible : {e}")).into(),
        }),
    )
    .route("/healthz", web::get().to(healthz))
    .service(
        web::resource("/metrics")
            .wrap(actix_web::middleware::from_fn(auth::require_token))
            .route(web::get().to(stats::metrics)),
    )
    .route("/api/v1/login", web::post().to(accounts::login))
    .service(
        web::scope("/api/v1")
            .wrap(actix_web::middleware::from_fn(auth::require_token))
            .route("/openapi.json", web::get().to(openapi_json))
            .route("/records", web::post().to(records::deposit))
            .route("/records/batch", web::post().to(records::deposit_batch))
            .route("/flows/pes", web::post().to(flows::pes))
            .route("/flows/cdv", web::post().to(flows::lifecycle))
            .route("/records/{ref}", web::get().to(records::show))
            .route("/records/{ref}", web::patch().to(records::update))
            .route("/records/{ref}", web::delete().to(records::delete))
            .route("/records/{ref}/content", web::get().to(records::content))
            .route("/records/{ref}/rendition", web::get().to(records::rendition))
            .route("/records/{ref}/reading", web::get().to(flows::reading))
            .route("/records/{ref}/verification", web::post().to(verification::verify))
            .route("/verification", web::get().to(verification::queue))
            .route("/verification/counts", web::get().to(verification::counts))
            .route("/records/{ref}/moves", web::post().to(circuits::move_record))
            .route("/worklist", web::get().to(circuits::worklist))
            .route("/indicators/payments", web::get().to(circuits::payments))
            .route("/indicators/blockages", web::get().to(circuits::blockages))
            .route("/worklist/summaries", web::post().to(circuits::mail_summaries))
            .route("/indicators/stocks", web::get().to(circuits::stocks))
            .route("/indicators/capture", web::get().to(circuits::capture))
            .route("/indicators/health", web::get().to(circuits::health))
            .route("/records/{ref}/versions", web::post().to(records::add_version))
            .route("/contents/{sha256}", web::get().to(records::holders))
            .route("/search", web::get().to(search::search))
            .route("/records/{ref}/events", web::post().to(retention::record_event))
            .route("/records/{ref}/review", web::post().to(retention::review))
            .route("/retention/due", web::get().to(retention::due))
            .route("/retention/events", web::post().to(retention::start_event))
            .route("/disposals", web::post().to(disposals::propose))
            .route("/disposals", web::get().to(disposals::list))
            .route("/disposals/{id}", web::get().to(disposals::show))
            .route("/disposals/{id}/bordereau", web::get().to(disposals::bordereau))
            .route("/disposals/{id}/approve", web::post().to(disposals::approve))
            .route("/disposals/{id}/execute", web::post().to(disposals::execute))
            .route("/disposals/{id}/certificate", web::get().to(disposals::certificate))
            .route("/transfers", web::post().to(disposals::propose_transfer))
            .route("/transfers", web::get().to(disposals::transfers))
            .route("/transfers/{id}", web::get().to(disposals::transfer))
            .route("/transfers/reply", web::post().to(disposals::reply))
            .route("/transfers/{id}/acknowledge", web::post().to(disposals::acknowledge))
            .route("/holds", web::post().to(retention::place_hold))
            .route("/holds", web::get().to(retention::holds))
            .route("/holds/{id}/lift", web::post().to(retention::lift_hold))
            .route("/plan", web::get().to(plan::show))
            .route("/plan", web::put().to(plan::publish))
            .route("/plan/versions", web::get().to(plan::versions))
            .route("/plan/validate", web::post().to(plan::validate))
            .route("/tokens", web::post().to(tokens::create))
            .route("/tokens", web::get().to(tokens::list))
            .route("/tokens/{id}/revoke", web::post().to(tokens::revoke))
            .route("/accounts", web::get().to(accounts::list))
            .route("/accounts", web::post().to(accounts::create))
            .route("/accounts/{user}", web::patch().to(accounts::update))
            .route("/accounts/{user}/password", web::post().to(accounts::set_password))
            .route("/audit/events", web::get().to(audit::events))
            .route("/audit/consultations", web::get().to(audit::consultations))
            .route("/audit/verify", web::post().to(audit::start_verify))
            .route("/audit/verify/{job}", web::get().to(audit::verify_status))
            .route("/audit/seals", web::post().to(audit::seal))
            .route("/audit/keys/rotate", web::post().to(audit::rotate_key))
            .route("/audit/seals", web::get().to(audit::seals))
            .route("/audit/public-key", web::get().to(audit::public_key))
            .route("/audit/proof/{ref}", web::get().to(audit::proof))
            .route("/audit/consistency", web::get().to(audit::consistency))
            .route("/records/{ref}/attestation", web::get().to(audit::attestation))
            .route("/exports", web::post().to(exports::export))
            .route("/imports", web::post().to(imports::import))
            .route("/identity", web::get().to(identity::show))
            .route("/identity", web::put().to(identity::set))
            .route("/identity/logo", web::get().to(identity::logo))
            .route("/identity/logo", web::put().to(identity::set_logo))
            .route("/identity/logo", web::delete().to(identity::remove_logo))
            .route("/reindex", web::post().to(search::reindex))
            .route("/stats", web::get().to(stats::stats))
            .route("/audit/fixity", web::get().to(audit::fixity))
            .route("/audit/fixity/pause", web::post().to(audit::pause_fixity))
            .route("/audit/fixity/resume", web::post().to(audit::resume_fixity))
            .route("/audit/fixity/run", web::post().to(audit::run_fixity))
            .route("/repair", web::post().to(audit::repair)),
    )
    .configure(pages::configure)
    .default_service(web::to(not_found));
}

/// The server's mail settings, if it mails (`serve --mail`).
pub struct MailSettingsSlot(pub Option<Arc<crate::notify::MailSettings>>);

/// Serves the API on `listen` until the process is told to stop; calls
/// `ready` with the bound address (useful with port 0).
pub fn serve(archive: Arc<Archive>, config: &Config, ready: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listen = config.listen;
    let jobs = Data::new(VerifyJobs::default());
    let stop_indexer = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let indexer = crate::jobs::spawn_indexer(Arc::clone(&archive), Arc::clone(&stop_indexer))?;
    let reader = crate::jobs::spawn_reader(Arc::clone(&archive), Arc::clone(&stop_indexer))?;
    let sealer = crate::jobs::spawn_sealer(Arc::clone(&archive), config.seal, Arc::clone(&stop_indexer))?;
    let fixity = crate::jobs::spawn_fixity(Arc::clone(&archive), config.fixity, Arc::clone(&stop_indexer))?;
    let mirror = crate::jobs::spawn_mirror(Arc::clone(&archive), Arc::clone(&stop_indexer))?;
    let follower = crate::jobs::spawn_follower(Arc::clone(&archive), Arc::clone(&stop_indexer))?;
    let ledger = crate::jobs::spawn_ledger(Arc::clone(&archive), Arc::clone(&stop_indexer))?;
    let folders = crate::capture::folders::spawn(
        Arc::clone(&archive),
        config.capture.folders.clone(),
        Arc::clone(&stop_indexer),
    )
    .map_err(std::io::Error::other)?;
    let mailboxes = crate::capture::mailboxes::spawn(
        Arc::clone(&archive),
        config.capture.mailboxes.clone(),
        Arc::clone(&stop_indexer),
    )
    .map_err(std::io::Error::other)?;
    let summaries = crate::notify::spawn(Arc::clone(&archive), config.mail.clone(), Arc::clone(&stop_indexer))
        .map_err(std::io::Error::other)?;
    let mail = Data::new(MailSettingsSlot(config.mail.clone()));
    let capture_counts = Data::new(crate::capture::folders::CaptureCounts(
        folders
            .iter()
            .map(|f| (format!("dossier:{}", f.name), Arc::clone(&f.counts)))
            .chain(mailboxes.iter().map(|m| (m.channel.clone(), Arc::clone(&m.counts))))
            .collect(),
    ));
    let schedule = Data::new(config.fixity);
    // One table of sessions for every worker.
    let sessions = Data::new(pages::Sessions::default());
    let pending = Data::new(pages::PendingDeposits::default());
    let operator_token = auth::new_operator_token()?;
    let operator = Data::new(auth::OperatorKey::of(&operator_token));
    let archive = Data::from(archive);
    let clients = Data::new(config.clients);
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    actix_web::rt::System::new().block_on(async move {
        let app_archive = archive.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(auth::note_refusals))
                .wrap(actix_web::middleware::from_fn(pacing::pace_bodies))
                .wrap(answer_headers())
                .wrap(tracing_actix_web::TracingLogger::default())
                .app_data(app_archive.clone())
                .app_data(jobs.clone())
                .app_data(schedule.clone())
                .app_data(capture_counts.clone())
                .app_data(mail.clone())
                .app_data(sessions.clone())
                .app_data(pending.clone())
                .app_data(operator.clone())
                .app_data(clients.clone())
                .configure(configure)
        })
        .workers(workers)
        // A request's head dribbled in is cut like a body (see `pacing`).
        .client_request_timeout(config.clients.idle.min(crate::config::HEAD_MAX))
        .max_connections(config.clients.max_connections.div_ceil(workers))
        .bind(listen)?;
        let bound = server.addrs().first().copied().unwrap_or(listen);
        // The command line on this machine finds the server, and its
        // operator token, in the data directory.
        if let Err(e) = archive.data_dir().announce(&local_url(bound), &operator_token) {
            tracing::warn!(error = %e, "could not announce the server in the data directory; the command line will not go through it");
        }
        ready(bound);
        let served = server.run().await;
        archive.data_dir().withdraw();
        served?;
        stop_indexer.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = indexer.join();
        let _ = reader.join();
        let _ = sealer.join();
        let _ = fixity.join();
        // After the last seal: the copies end with it.
        let _ = mirror.join();
        let _ = follower.join();
        let _ = ledger.join();
        if let Some(summaries) = summaries {
            let _ = summaries.join();
        }
        for folder in folders {
            folder.join();
        }
        for mailbox in mailboxes {
            mailbox.join();
        }
        if let Err(e) = archive.flush() {
            tracing::warn!(error = %e, "could not flush the catalog at shutdown; the next start replays the journal");
        }
        Ok(())
    })
}

/// Headers every answer carries unless it sets its own (pages and
/// previews do): nothing runs, loads or frames it, no type is guessed, no
/// address leaks to another site.
fn answer_headers() -> actix_web::middleware::DefaultHeaders {
    use actix_web::http::header;
    actix_web::middleware::DefaultHeaders::new()
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
}

/// The URL this machine reaches a server bound to `bound` at (a server
/// listening on every address is reached on loopback).
fn local_url(bound: SocketAddr) -> String {
    let ip = match bound.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, bound.port()))
}

/// The address a request came from, as the brake on sign-ins counts it
/// (the connection's peer: behind a proxy, the proxy's).
pub(crate) fn peer_address(req: &actix_web::HttpRequest) -> String {
    req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_default()
}

/// Bytes per chunk when streaming content out.
const SERVE_CHUNK: usize = 256 * 1024;

/// Streams `length` bytes of `reader` from `start`, read on a blocking
/// thread and handed over through a small channel (so a slow client holds
/// a few chunks in memory, never the content). Ends with an error if the
/// reader has fewer bytes than announced.
pub(crate) fn stream_from(
    mut reader: impl std::io::Read + std::io::Seek + Send + 'static,
    start: u64,
    length: u64,
) -> actix_web::body::SizedStream<impl futures_util::Stream<Item = std::io::Result<web::Bytes>>> {
    use std::io;
    let (sender, queue) = tokio::sync::mpsc::channel::<io::Result<web::Bytes>>(4);
    actix_web::rt::task::spawn_blocking(move || {
        if let Err(e) = reader.seek(io::SeekFrom::Start(start)) {
            let _ = sender.blocking_send(Err(e));
            return;
        }
        let mut left = length;
        while left > 0 {
            let mut buf = vec![0u8; SERVE_CHUNK.min(left as usize)];
            match reader.read(&mut buf) {
                Ok(0) => {
                    let _ = sender.blocking_send(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "content shorter than recorded",
                    )));
                    return;
                }
                Ok(n) => {
                    buf.truncate(n);
                    left -= n as u64;
                    if sender.blocking_send(Ok(web::Bytes::from(buf))).is_err() {
                        return; // the client went away
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = sender.blocking_send(Err(e));
                    return;
                }
            }
        }
    });
    let stream = futures_util::stream::unfold(queue, |mut queue| async move {
        queue.recv().await.map(|item| (item, queue))
    });
    actix_web::body::SizedStream::new(length, stream)
}
