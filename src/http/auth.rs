//! Authentication: a middleware on all of `/api/v1` (only `/healthz` is
//! outside it) resolves the `Authorization:
//! Bearer` token before anything else about the request is looked at (so a
//! bad token is a 401 even when the body is bad too), and the [`Caller`]
//! extractor hands the result to handlers.

use super::error::ApiError;
use crate::archive::trail::Refusal;
use crate::archive::{Actor, Archive, ArchiveError};
use crate::domain::hash::Sha256;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, ResponseError, web};
use std::future::{Ready, ready};

/// The authenticated caller.
pub struct Caller(pub Actor);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            req.extensions()
                .get::<Actor>()
                .cloned()
                .map(Caller)
                .ok_or_else(|| ArchiveError::Unauthenticated.into()),
        )
    }
}

fn bearer(req: &ServiceRequest) -> Option<String> {
    req.headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// The hash of the operator token of this server's run: the command line
/// of whoever can read the data directory's keys goes through the server
/// with it, with the rights it has on the directory anyway (admin), and in
/// its own name (`cli:<user>`, from the `X-Coffre-Operator` header).
pub struct OperatorKey(Sha256);

impl OperatorKey {
    /// The key of `token`.
    pub fn of(token: &str) -> Self {
        OperatorKey(Sha256::of(token.as_bytes()))
    }
}

/// A fresh operator token.
pub fn new_operator_token() -> std::io::Result<String> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| std::io::Error::other(format!("random source: {e}")))?;
    Ok(format!("coffre_operateur_{}", hex::encode(secret)))
}

/// The header the command line names its user in, with the operator token.
const OPERATOR_HEADER: &str = "x-coffre-operator";

/// The actor of a request bearing the operator token.
fn operator(req: &ServiceRequest, token: &str) -> Option<Actor> {
    let key = req.app_data::<web::Data<OperatorKey>>()?;
    if Sha256::of(token.as_bytes()) != key.0 {
        return None;
    }
    let user: String = req
        .headers()
        .get(OPERATOR_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("operateur")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        .take(64)
        .collect();
    Some(Actor {
        name: format!("cli:{}", if user.is_empty() { "operateur" } else { &user }),
        role: crate::domain::role::Role::Admin,
        account: None,
    })
}

/// Resolves the token, or answers 401 without calling the handler.
pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let token = bearer(&req);
    if let Some(actor) = token.as_deref().and_then(|t| operator(&req, t)) {
        req.extensions_mut().insert(actor);
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let archive = req.app_data::<web::Data<Archive>>().cloned();
    let resolved: Result<Actor, ApiError> = async move {
        let token = token.ok_or(ArchiveError::Unauthenticated)?;
        let archive = archive.ok_or_else(|| ApiError::internal("archive missing from app data"))?;
        Ok(web::block(move || archive.authenticate(&token)).await??)
    }
    .await;
    match resolved {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            Ok(next.call(req).await?.map_into_left_body())
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

/// Journals every refused access (403), throttled by the archive, before
/// the answer goes (so that the journal's order is the requests' order).
pub async fn note_refusals(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let res = next.call(req).await?;
    if res.status().as_u16() == crate::errors::Code::Forbidden.http_status() {
        let request = res.request();
        let user = request.extensions().get::<Actor>().map(|a| a.name.clone());
        let what = format!("{} {}", request.method(), request.path());
        let from = super::peer_address(request);
        if let Some(archive) = request.app_data::<web::Data<Archive>>().cloned() {
            let noted = web::block(move || {
                archive.note_refusal(Refusal::Forbidden, user.as_deref(), Some(&what), &from);
            })
            .await;
            if let Err(e) = noted {
                tracing::warn!(error = %e, "a refusal could not be noted");
            }
        }
    }
    Ok(res)
}
