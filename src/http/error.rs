//! The one API error: every failure becomes an HTTP status and a stable
//! snake_case code, written once in [`ApiError::from`]'s table. Internal
//! details go to the log, never to the client.

use crate::archive::ArchiveError;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// An error answered as `{"error": {"code", "message"}}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Itemised problems, when there are several (a plan's).
    details: Option<serde_json::Value>,
}

impl ApiError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    /// The same error with itemised problems under `error.details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 500, logging the detail and telling the client only that it happened.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred; it has been logged",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut error = serde_json::json!({"code": self.code, "message": self.message});
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        HttpResponse::build(self.status).json(serde_json::json!({ "error": error }))
    }
}

impl From<ArchiveError> for ApiError {
    fn from(e: ArchiveError) -> Self {
        use ArchiveError as E;
        let (status, code) = match &e {
            E::InvalidPlan(invalid) => {
                return plan_problems(&invalid.0);
            }
            E::PlanOrphansRecords(nodes) => {
                let details = nodes
                    .iter()
                    .map(|(node, records)| serde_json::json!({"node": node, "records": records}))
                    .collect();
                return ApiError::new(StatusCode::CONFLICT, "plan_orphans_records", e.to_string())
                    .with_details(serde_json::Value::Array(details));
            }
            E::Unclassified { candidates } => {
                let candidates: Vec<serde_json::Value> = candidates
                    .iter()
                    .map(|(code, title)| serde_json::json!({"code": code, "title": title}))
                    .collect();
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unclassified", e.to_string())
                    .with_details(serde_json::json!({"field": "node", "candidates": candidates}));
            }
            E::PlanVersionNotFound(_) => (StatusCode::NOT_FOUND, "plan_version_not_found"),
            E::PlanShortensRetention { shortened, to_destroy } => {
                return ApiError::new(StatusCode::CONFLICT, "plan_shortens_retention", e.to_string())
                    .with_details(serde_json::json!({"shortened": shortened, "to_destroy": to_destroy}));
            }
            E::Held { holds, .. } => {
                return ApiError::new(StatusCode::CONFLICT, "record_held", e.to_string())
                    .with_details(serde_json::json!({ "holds": holds }));
            }
            E::HoldNotFound(_) => (StatusCode::NOT_FOUND, "hold_not_found"),
            E::DisposalNotFound(_) => (StatusCode::NOT_FOUND, "disposal_not_found"),
            E::TransferNotFound(_) => (StatusCode::NOT_FOUND, "transfer_not_found"),
            E::DisposalNotApproved(_) => (StatusCode::CONFLICT, "disposal_not_approved"),
            E::DisposalState { .. } => (StatusCode::CONFLICT, "disposal_state"),
            E::TransferState { .. } => (StatusCode::CONFLICT, "transfer_state"),
            E::RecordDestroyed { .. } => (StatusCode::GONE, "record_destroyed"),
            E::HoldLifted(_) => (StatusCode::CONFLICT, "hold_already_lifted"),
            E::NotSealed(_) => (StatusCode::CONFLICT, "not_sealed"),
            E::PackageRefused(failures) => {
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "package_refused", e.to_string())
                    .with_details(serde_json::json!({ "failures": failures }));
            }
            E::NodeForbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            E::Invalid(invalid) => {
                return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string())
                    .with_details(serde_json::json!({"field": invalid.field}));
            }
            E::RecordNotFound(_) => (StatusCode::NOT_FOUND, "record_not_found"),
            E::VersionNotFound { .. } => (StatusCode::NOT_FOUND, "version_not_found"),
            E::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            E::UploadAborted(_) => (StatusCode::BAD_REQUEST, "upload_incomplete"),
            E::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            E::Forbidden { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            E::DeleteForbidden => (StatusCode::CONFLICT, "retention_forbids_delete"),
            E::NotInitialised(_) | E::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            E::BadQuery(_) => (StatusCode::BAD_REQUEST, "invalid_query"),
            E::Blob(_) | E::Journal(_) | E::Catalog(_) | E::Index(_) | E::Io(_) | E::Internal(_) => {
                return ApiError::internal(e);
            }
        };
        ApiError::new(status, code, e.to_string())
    }
}

/// 422 `invalid_plan`, every problem with its line and key path under
/// `error.details`.
pub fn plan_problems(problems: &[crate::policies::PlanFileProblem]) -> ApiError {
    let details: Vec<serde_json::Value> = problems
        .iter()
        .map(|p| serde_json::json!({"line": p.line, "path": p.path, "message": p.message}))
        .collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_plan",
        format!("the plan has {} problems; see details", problems.len()),
    )
    .with_details(serde_json::Value::Array(details))
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}
