//! The one API error: every failure is answered with the HTTP status and
//! the stable code that the error table (`crate::errors`) gives its
//! [`Code`]. Internal details go to the log, never to the client.

use crate::archive::ArchiveError;
use crate::errors::Code;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use std::fmt;

/// An error answered as `{"error": {"code", "message", "details"?}}`, with
/// more top-level members where an answer carries them (a tombstone).
#[derive(Debug)]
pub struct ApiError {
    code: Code,
    message: String,
    /// Itemised problems, when there are several (a plan's).
    details: Option<serde_json::Value>,
    /// Members beside `error` (the tombstone of a record gone).
    beside: Vec<(&'static str, serde_json::Value)>,
    /// Seconds to wait before trying again (`Retry-After`, RFC 9110 §10.2.3).
    retry_after: Option<i64>,
}

impl ApiError {
    /// An error with its code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            beside: Vec::new(),
            retry_after: None,
        }
    }

    /// The same error with itemised problems under `error.details`.
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The same error with a member `name` beside `error`.
    pub fn with_member(mut self, name: &'static str, value: serde_json::Value) -> Self {
        self.beside.push((name, value));
        self
    }

    /// 500, logging the detail and telling the client only that it happened.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(Code::Internal, "an internal error occurred; it has been logged")
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code.as_str()
    }

    /// The error object of the answer (`{"code", "message", "details"?}`):
    /// also what a batch says of each file it refused.
    pub(crate) fn body(&self) -> crate::wire::ErrorBodyDto {
        crate::wire::ErrorBodyDto {
            code: self.code.as_str().to_owned(),
            message: self.message.clone(),
            details: self.details.clone(),
        }
    }

    /// Its row of the error table and its message (for the pages, which
    /// say it in French).
    pub(crate) fn parts(&self) -> (Code, &str) {
        (self.code, &self.message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.code.http_status(),
            self.code.as_str(),
            self.message
        )
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = serde_json::json!({ "error": self.body() });
        for (name, value) in &self.beside {
            body[*name] = value.clone();
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(body)
    }
}

impl From<ArchiveError> for ApiError {
    fn from(e: ArchiveError) -> Self {
        use ArchiveError as E;
        let code = e.code();
        let details = match &e {
            E::InvalidPlan(invalid) => return plan_problems(&invalid.0),
            E::PlanOrphansRecords(nodes) => Some(serde_json::Value::Array(
                nodes
                    .iter()
                    .map(|(node, records)| serde_json::json!({"node": node, "records": records}))
                    .collect(),
            )),
            E::Unclassified { candidates, unreadable } => {
                let candidates: Vec<serde_json::Value> = candidates
                    .iter()
                    .map(|(code, title)| serde_json::json!({"code": code, "title": title}))
                    .collect();
                let mut details = serde_json::json!({"field": "node", "candidates": candidates});
                if let Some(why) = unreadable {
                    details["unreadable"] = serde_json::json!(why);
                }
                Some(details)
            }
            E::PlanShortensRetention { shortened, to_destroy } => {
                Some(serde_json::json!({"shortened": shortened, "to_destroy": to_destroy}))
            }
            E::Held { holds, .. } => Some(serde_json::json!({ "holds": holds })),
            E::PackageRefused(failures) => Some(serde_json::json!({ "failures": failures })),
            E::Invalid(invalid) => Some(serde_json::json!({"field": invalid.field})),
            E::MoveNotAllowed { allowed, .. } => Some(serde_json::json!({
                "allowed": allowed
                    .iter()
                    .map(|(code, title)| serde_json::json!({"step": code, "title": title}))
                    .collect::<Vec<_>>()
            })),
            _ => None,
        };
        if code == Code::Internal {
            return ApiError::internal(e);
        }
        let mut error = ApiError::new(code, e.to_string());
        if let E::TooManyAttempts { wait_secs } = e {
            error.retry_after = Some(wait_secs.max(1));
        }
        match details {
            Some(details) => error.with_details(details),
            None => error,
        }
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
        Code::InvalidPlan,
        format!("the plan has {} problems; see details", problems.len()),
    )
    .with_details(serde_json::Value::Array(details))
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        ApiError::internal(e)
    }
}
