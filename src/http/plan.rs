//! The classification plan: read any published version, validate a file,
//! publish a new version.

use super::auth::Caller;
use super::error::{ApiError, plan_problems};
use crate::archive::{Archive, PublishedPlan};
use crate::domain::role::Permission;
use crate::errors::Code;
use crate::policies::load_plan;
use crate::wire::{PlanVersionDto, PublicationDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use serde::Deserialize;

/// The largest plan file accepted: plans are text of a few hundred lines.
pub const PLAN_MAX: usize = 4 * 1024 * 1024;

/// Reads a plan file sent as the request body.
async fn read_plan_body(payload: web::Payload) -> Result<String, ApiError> {
    let body = super::read_body(payload, PLAN_MAX, "a plan file").await?;
    String::from_utf8(body).map_err(|_| ApiError::new(Code::InvalidPlanEncoding, "a plan file is UTF-8 text"))
}

/// Validates a plan file (the TOML as the request body) without publishing it.
#[utoipa::path(post, path = "/api/v1/plan/validate", tag = "plan",
    request_body(content_type = "application/toml", description = "a plan file (see schemas/plan.schema.json)"),
    responses((status = 200, description = "valid: the plan's id, version, rule and node counts"),
        (status = 422, description = "invalid_plan, each problem with its line and key path in error.details"),
        (status = 403)))]
pub async fn validate(caller: Caller, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::ManageRecords, "valider des plans")?;
    let text = read_plan_body(payload).await?;
    let checked = web::block(move || load_plan(&text)).await?;
    match checked {
        Ok(plan) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "valid": true,
            "id": plan.header.id,
            "version": plan.header.version,
            "rules": plan.rules.len(),
            "nodes": plan.nodes.len(),
        }))),
        Err(problems) => Err(plan_problems(&problems)),
    }
}

/// `PUT /plan` options.
#[derive(Deserialize)]
pub struct PublishParams {
    /// Show the impact only.
    #[serde(default)]
    dry_run: bool,
    /// Confirms a plan that shortens retention (with `reason`).
    #[serde(default)]
    confirm: bool,
    /// Why, journaled with a confirmed publication.
    reason: Option<String>,
}

/// Publishes a plan file (the TOML as the request body) as the plan in
/// force, answering what it changed; `?dry_run=true` only answers what it
/// would change.
#[utoipa::path(put, path = "/api/v1/plan", tag = "plan",
    request_body(content_type = "application/toml", description = "a plan file (see schemas/plan.schema.json)"),
    params(("dry_run" = Option<bool>, Query, description = "only report the impact"),
        ("confirm" = Option<bool>, Query, description = "confirm a plan that shortens retention or destroys what was kept"),
        ("reason" = Option<String>, Query, description = "why (required with confirm)")),
    responses((status = 200, body = PublicationDto),
        (status = 409, description = "plan_orphans_records: nodes holding records would be dropped without a replacement; plan_shortens_retention: confirm=true&reason= needed"),
        (status = 422, description = "invalid_plan, each problem with its line and key path in error.details"),
        (status = 403)))]
pub async fn publish(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<PublishParams>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller
        .0
        .require(Permission::ManageRecords, "publier le plan de classement")?;
    let text = read_plan_body(payload).await?;
    let dry_run = params.dry_run;
    let confirmed = if params.confirm {
        Some(params.reason.clone().filter(|r| !r.trim().is_empty()).ok_or_else(|| {
            ApiError::from(crate::archive::ArchiveError::from(
                crate::domain::record::InvalidInput::new("reason", "une publication confirmée dit pourquoi"),
            ))
        })?)
    } else {
        None
    };
    let how = crate::archive::Publish {
        dry_run,
        confirmation: confirmed,
    };
    let publication = web::block(move || archive.publish_plan(&caller.0, &text, &how)).await??;
    Ok(HttpResponse::Ok().json(PublicationDto::new(&publication)))
}

/// `GET /plan` options.
#[derive(Deserialize)]
pub struct ShowParams {
    /// A published version number.
    version: Option<u32>,
}

fn plan_json(published: &PublishedPlan) -> serde_json::Value {
    let plan = &published.plan;
    let nodes: Vec<serde_json::Value> = plan
        .nodes
        .iter()
        .map(|node| {
            let rule = plan.rule_for(&node.code);
            serde_json::json!({
                "code": node.code.as_str(),
                "parent": node.parent.as_ref().map(|p| p.as_str()),
                "path": plan.path(&node.code).iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                "title": node.title,
                "description": node.description,
                "rule": rule.map(|(r, _)| serde_json::json!({
                    "id": r.id,
                    "inherited_from": rule.map(|(_, from)| from.as_str()),
                    "duration": r.duration.to_string(),
                    "final_action": r.final_action.as_str(),
                    "legal_reference": r.legal_reference,
                    "to_confirm": r.to_confirm,
                })),
                "document_types": node.document_types,
                "fields": plan.fields_for(&node.code).iter().map(|f| serde_json::json!({
                    "name": f.name, "required": f.required,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "version": PlanVersionDto::from(&published.entry),
        "id": plan.header.id,
        "title": plan.header.title,
        "label": plan.header.version,
        "authority": plan.header.authority,
        "nodes": nodes,
        "text": published.text,
    })
}

/// The plan in force, or a published version: its identity, its nodes with
/// the rule each applies (and where it is inherited from), and the file.
#[utoipa::path(get, path = "/api/v1/plan", tag = "plan",
    params(("version" = Option<u32>, Query, description = "a published version number")),
    responses((status = 200, description = "the plan: version, id, label, nodes, text"), (status = 404)))]
pub async fn show(
    caller: Caller,
    archive: Data<Archive>,
    params: web::Query<ShowParams>,
) -> Result<HttpResponse, ApiError> {
    let version = params.version;
    let published = web::block(move || archive.plan(&caller.0, version)).await??;
    Ok(HttpResponse::Ok().json(plan_json(&published)))
}

/// Every published plan version, oldest first.
#[utoipa::path(get, path = "/api/v1/plan/versions", tag = "plan",
    responses((status = 200, body = Vec<PlanVersionDto>)))]
pub async fn versions(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let entries = web::block(move || archive.plan_versions(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(entries.iter().map(PlanVersionDto::from).collect::<Vec<_>>()))
}
