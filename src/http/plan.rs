//! The classification plan.

use super::auth::Caller;
use super::error::ApiError;
use crate::domain::role::Permission;
use crate::policies::load_plan;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes};
use futures_util::StreamExt;

/// The largest plan file accepted: plans are text of a few hundred lines.
pub const PLAN_MAX: usize = 4 * 1024 * 1024;

/// Validates a plan file (the TOML as the request body) without publishing it.
#[utoipa::path(post, path = "/api/v1/plan/validate", tag = "plan",
    request_body(content_type = "application/toml", description = "a plan file (see schemas/plan.schema.json)"),
    responses((status = 200, description = "valid: the plan's id, version, rule and node counts"),
        (status = 422, description = "invalid_plan, each problem with its line and key path in error.details"),
        (status = 403)))]
pub async fn validate(caller: Caller, mut payload: web::Payload) -> Result<HttpResponse, ApiError> {
    caller.0.require(Permission::ManageRecords, "validate plans")?;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk: Bytes =
            chunk.map_err(|e| ApiError::bad_request("upload_incomplete", format!("reading the plan: {e}")))?;
        if body.len() + chunk.len() > PLAN_MAX {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a plan file is at most {PLAN_MAX} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body)
        .map_err(|_| ApiError::bad_request("invalid_plan_encoding", "a plan file is UTF-8 text"))?;
    let checked = web::block(move || load_plan(&text)).await?;
    match checked {
        Ok(plan) => Ok(HttpResponse::Ok().json(serde_json::json!({
            "valid": true,
            "id": plan.header.id,
            "version": plan.header.version,
            "rules": plan.rules.len(),
            "nodes": plan.nodes.len(),
        }))),
        Err(problems) => {
            let details: Vec<serde_json::Value> = problems
                .iter()
                .map(|p| serde_json::json!({"line": p.line, "path": p.path, "message": p.message}))
                .collect();
            Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_plan",
                format!("the plan has {} problems; see details", problems.len()),
            )
            .with_details(serde_json::Value::Array(details)))
        }
    }
}
