//! Processing circuits over HTTP: a record moved on, the caller's work list,
//! and the indicators (payment chain, blockages, stock, capture, the
//! archive's health), as JSON or CSV, now or for a past day.

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::circuits::WORKLIST_MAX;
use crate::archive::{Archive, ArchiveError};
use crate::domain::indicators::PaymentFilter;
use crate::domain::indicators::Scope;
use crate::domain::record::NodeCode;
use crate::errors::Code;
use crate::wire::{
    BlockagesDto, CaptureIndicatorsDto, HealthIndicatorsDto, MoveDto, PaymentIndicatorsDto, RecordDto,
    StockIndicatorsDto, SummariesDto, SummaryFailureDto, WorkListDto,
};
use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Data};
use chrono::NaiveDate;
use serde::Deserialize;

/// Moves a record on in its processing circuit: to a step its step
/// allows, by a person its step is for (role, service), on a day between
/// the day it reached its step and today. Journaled as `record.moved`.
#[utoipa::path(post, path = "/api/v1/records/{ref}/moves", tag = "circuits",
    params(("ref" = String, Path, description = "reference, alias or id")),
    request_body = MoveDto,
    responses((status = 200, body = RecordDto), (status = 403, description = "the caller's role may not deposit, or the step is another service's or role's (not_your_step)"), (status = 404), (status = 409, description = "the step does not allow this move (move_not_allowed, the allowed moves under error.details.allowed), or the record is in no circuit or its circuit ended (not_in_circuit)"), (status = 410, description = "destroyed or transferred"), (status = 413), (status = 422, description = "a date to come or before the record reached its step, a comment too long, an attachment not found")))]
pub async fn move_record(
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    body: JsonObject<MoveDto>,
) -> Result<HttpResponse, ApiError> {
    let asked = body.into_inner();
    let (record, details) = web::block(move || {
        let record = archive.move_record(&caller.0, &key, asked.into())?;
        let details = archive.details(&caller.0, &record)?;
        Ok::<_, ArchiveError>((record, details))
    })
    .await??;
    Ok(HttpResponse::Ok().json(RecordDto::new(&record, &details, None)))
}

/// `GET /worklist` parameters.
#[derive(Deserialize)]
pub struct WorkListParams {
    /// Items at most, 1 to 1,000 (200 by default).
    limit: Option<usize>,
}

/// What waits for the caller: the records at a step of their role and
/// service, in nodes they may deposit in; overdue first, then soonest due.
#[utoipa::path(get, path = "/api/v1/worklist", tag = "circuits",
    params(("limit" = Option<usize>, Query, minimum = 1, maximum = 1000, description = "items at most, 200 by default")),
    responses((status = 200, body = WorkListDto), (status = 403)))]
pub async fn worklist(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<WorkListParams>,
) -> Result<HttpResponse, ApiError> {
    let limit = params.limit.unwrap_or(200);
    if !(1..=WORKLIST_MAX).contains(&limit) {
        return Err(ApiError::new(
            Code::LimitExceeded,
            format!("« limit » va de 1 à {WORKLIST_MAX} documents"),
        ));
    }
    let list = web::block(move || archive.worklist(&caller.0, limit)).await??;
    Ok(HttpResponse::Ok().json(WorkListDto::new(&list)))
}

/// Mails each person with an e-mail address their work list's summary now
/// (the server mails it each morning by itself): admin only; 409
/// `mail_not_configured` when the server was started without `--mail`.
#[utoipa::path(post, path = "/api/v1/worklist/summaries", tag = "circuits",
    responses((status = 200, body = SummariesDto), (status = 403), (status = 409)))]
pub async fn mail_summaries(
    caller: Caller,
    archive: Data<Archive>,
    mail: Data<super::MailSettingsSlot>,
) -> Result<HttpResponse, ApiError> {
    caller.0.require(
        crate::domain::role::Permission::ManageAccounts,
        "envoyer les résumés par courriel",
    )?;
    let Some(settings) = mail.0.clone() else {
        return Err(ApiError::new(
            Code::MailNotConfigured,
            "ce serveur n'envoie pas de courriel : démarrez-le avec --mail FICHIER (le serveur SMTP et l'heure d'envoi)",
        ));
    };
    let report = web::block(move || {
        let mailer = crate::notify::Mailer::new(&settings).map_err(ArchiveError::Internal)?;
        let today = chrono::Local::now().date_naive();
        crate::notify::send_summaries(&archive, &mailer, &settings, today)
    })
    .await??;
    Ok(HttpResponse::Ok().json(SummariesDto {
        sent: report.sent,
        nothing_waiting: report.nothing_waiting,
        failed: report
            .failed
            .into_iter()
            .map(|(user, reason)| SummaryFailureDto { user, reason })
            .collect(),
    }))
}

/// The indicators' filters.
#[derive(Deserialize, Default)]
pub struct IndicatorParams {
    /// From this day (YYYY-MM-DD): paid, deposited, done.
    from: Option<String>,
    /// Up to this day.
    to: Option<String>,
    /// Of this service.
    service: Option<String>,
    /// Of this node and its subtree.
    node: Option<String>,
    /// Of this supplier.
    supplier: Option<String>,
    /// As the journal stood at the end of this day (a past day).
    at: Option<String>,
    /// `json` (the default) or `csv`.
    format: Option<IndicatorFormat>,
}

/// The indicators' answer: JSON or CSV.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorFormat {
    /// JSON (the default).
    #[default]
    Json,
    /// CSV, as French spreadsheets read it.
    Csv,
}

fn day_param(name: &str, value: Option<&str>) -> Result<Option<NaiveDate>, ApiError> {
    match value.map(str::trim) {
        None => Ok(None),
        Some(text) => crate::french::parse_date(text).map(Some).ok_or_else(|| {
            ApiError::new(
                Code::InvalidQuery,
                format!("« {name} » : « {text} » n'est pas une date (AAAA-MM-JJ ou JJ/MM/AAAA)"),
            )
        }),
    }
}

impl IndicatorParams {
    /// The scope (period, service, node), the day asked and whether CSV is
    /// wanted.
    fn scope(&self) -> Result<(Scope, Option<NaiveDate>, bool), ApiError> {
        let (filter, at, csv) = self.read()?;
        Ok((filter.scope, at, csv))
    }

    /// The filter, the day asked and whether CSV is wanted.
    fn read(&self) -> Result<(PaymentFilter, Option<NaiveDate>, bool), ApiError> {
        let nodes = match self.node.as_deref().map(str::trim) {
            None => None,
            Some(code) => {
                Some(vec![NodeCode::parse(code).map_err(|e| {
                    ApiError::new(Code::InvalidQuery, format!("« node » : {e}"))
                })?])
            }
        };
        let csv = self.format == Some(IndicatorFormat::Csv);
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok((
            PaymentFilter {
                scope: Scope {
                    from: day_param("from", self.from.as_deref())?,
                    to: day_param("to", self.to.as_deref())?,
                    service: text(&self.service),
                    nodes,
                },
                supplier: text(&self.supplier),
            },
            day_param("at", self.at.as_deref())?,
            csv,
        ))
    }
}

/// An indicator's answer: its JSON, or the same figures as CSV in long
/// form (`name-DAY.csv`).
fn indicator_answer<T: serde::Serialize>(
    dto: &T,
    csv: bool,
    name: &str,
    on: NaiveDate,
) -> Result<HttpResponse, ApiError> {
    if !csv {
        return Ok(HttpResponse::Ok().json(dto));
    }
    let value = serde_json::to_value(dto).map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}-{on}.csv\""),
        ))
        .body(crate::documents::indicators_csv(&value)))
}

/// The payment chain: délai global de paiement per invoice, its mean,
/// median and 90th percentile by month, service and supplier, the share
/// over 30 days, the ordonnateur's and the accountant's parts, interest and
/// indemnities owed. Computed from the journal (`at`: as it stood at the end
/// of a past day).
#[utoipa::path(get, path = "/api/v1/indicators/payments", tag = "circuits",
    params(("from" = Option<String>, Query, format = Date, description = "paid from this day"), ("to" = Option<String>, Query, format = Date, description = "paid up to this day"), ("service" = Option<String>, Query), ("node" = Option<String>, Query, description = "a node and its subtree"), ("supplier" = Option<String>, Query), ("at" = Option<String>, Query, format = Date, description = "as the journal stood at the end of this past day"), ("format" = Option<IndicatorFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "the indicators (as CSV with format=csv)", content((PaymentIndicatorsDto = "application/json"), (String = "text/csv"))), (status = 403)))]
pub async fn payments(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<IndicatorParams>,
) -> Result<HttpResponse, ApiError> {
    let (filter, at, csv) = params.read()?;
    let (indicators, on) = web::block(move || archive.payment_indicators(&caller.0, filter, at)).await??;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"delais-de-paiement-{on}.csv\""),
            ))
            .body(crate::documents::payment_indicators_csv(&indicators)));
    }
    Ok(HttpResponse::Ok().json(PaymentIndicatorsDto::new(&indicators, on)))
}

/// What waits where: records at each step of their circuit by acting
/// service, by days at the step (0–10, 10–20, 20–30, 30+), the longest mean
/// wait first.
#[utoipa::path(get, path = "/api/v1/indicators/blockages", tag = "circuits",
    params(("service" = Option<String>, Query, description = "of the records of this service"), ("node" = Option<String>, Query, description = "a node and its subtree"), ("at" = Option<String>, Query, format = Date, description = "as the journal stood at the end of this past day"), ("format" = Option<IndicatorFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "what waits where (as CSV with format=csv)", content((BlockagesDto = "application/json"), (String = "text/csv"))), (status = 403)))]
pub async fn blockages(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<IndicatorParams>,
) -> Result<HttpResponse, ApiError> {
    let (scope, at, csv) = params.scope()?;
    let (list, on, plan) = web::block(move || {
        let (list, on) = archive.blockages(&caller.0, scope, at)?;
        let plan = archive.plan(&caller.0, None)?;
        Ok::<_, ArchiveError>((list, on, plan))
    })
    .await??;
    let title_of = |circuit: &str, step: &str| {
        plan.plan
            .circuit(circuit)
            .and_then(|c| c.step(step))
            .map_or_else(|| step.to_owned(), |s| s.title.clone())
    };
    indicator_answer(&BlockagesDto::new(&list, on, title_of), csv, "blocages", on)
}

/// The stock and the intake: live records by node, service, type and year
/// with their bytes; each month's deposits (and the share a classification
/// rule filed), eliminations and transfers; what each capture channel
/// brought each day. Computed from the journal (`at`: a past day).
#[utoipa::path(get, path = "/api/v1/indicators/stocks", tag = "circuits",
    params(("from" = Option<String>, Query, format = Date, description = "months and days listed from this day"), ("to" = Option<String>, Query, format = Date, description = "up to this day"), ("service" = Option<String>, Query), ("node" = Option<String>, Query, description = "a node and its subtree"), ("at" = Option<String>, Query, format = Date, description = "as the journal stood at the end of this past day"), ("format" = Option<IndicatorFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "the stock (as CSV with format=csv)", content((StockIndicatorsDto = "application/json"), (String = "text/csv"))), (status = 403)))]
pub async fn stocks(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<IndicatorParams>,
) -> Result<HttpResponse, ApiError> {
    let (scope, at, csv) = params.scope()?;
    let (stock, on, copies) = web::block(move || {
        let (stock, on) = archive.stock_indicators(&caller.0, scope, at)?;
        Ok::<_, ArchiveError>((stock, on, archive.copies_kept()))
    })
    .await??;
    indicator_answer(&StockIndicatorsDto::new(&stock, on, copies), csv, "stocks", on)
}

/// Capture: deposits by channel and day, the automatic classification
/// rate, the fields read from invoices (surely, with doubt, not found) and
/// those people checked and corrected, by field and supplier, the PES flows
/// by state with the anomalies of the rejected ones; today, the extraction
/// and signature failures that stand. Computed from the journal (`at`: a
/// past day).
#[utoipa::path(get, path = "/api/v1/indicators/capture", tag = "circuits",
    params(("from" = Option<String>, Query, format = Date, description = "from this day"), ("to" = Option<String>, Query, format = Date, description = "up to this day"), ("service" = Option<String>, Query), ("node" = Option<String>, Query, description = "a node and its subtree"), ("at" = Option<String>, Query, format = Date, description = "as the journal stood at the end of this past day"), ("format" = Option<IndicatorFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "capture's indicators (as CSV with format=csv)", content((CaptureIndicatorsDto = "application/json"), (String = "text/csv"))), (status = 403)))]
pub async fn capture(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<IndicatorParams>,
) -> Result<HttpResponse, ApiError> {
    let (scope, at, csv) = params.scope()?;
    let (report, on) = web::block(move || archive.capture_indicators(&caller.0, scope, at)).await??;
    indicator_answer(&CaptureIndicatorsDto::new(&report, on), csv, "capture", on)
}

/// The archive's health: records eliminated and transferred, legal holds
/// placed and lifted, fixity runs and damage found and repaired, by month;
/// fixity coverage; today, the records due (overdue and by month for the
/// year to come), those a hold keeps, the copies' lag. Computed from the
/// journal (`at`: a past day).
#[utoipa::path(get, path = "/api/v1/indicators/health", tag = "circuits",
    params(("from" = Option<String>, Query, format = Date, description = "from this day"), ("to" = Option<String>, Query, format = Date, description = "up to this day"), ("service" = Option<String>, Query), ("node" = Option<String>, Query, description = "a node and its subtree"), ("at" = Option<String>, Query, format = Date, description = "as the journal stood at the end of this past day"), ("format" = Option<IndicatorFormat>, Query, description = "json (default) or csv")),
    responses((status = 200, description = "the archive's health (as CSV with format=csv)", content((HealthIndicatorsDto = "application/json"), (String = "text/csv"))), (status = 403)))]
pub async fn health(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<IndicatorParams>,
) -> Result<HttpResponse, ApiError> {
    let (scope, at, csv) = params.scope()?;
    let (report, on) = web::block(move || archive.health_indicators(&caller.0, scope, at)).await??;
    indicator_answer(&HealthIndicatorsDto::new(&report, on), csv, "sante-de-l-archive", on)
}
