//! The collectivité's identity over HTTP.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::Archive;
use crate::errors::Code;
use crate::wire::IdentityDto;
use actix_web::HttpResponse;
use actix_web::web::{self, Data, Json};

/// The collectivité's identity.
#[utoipa::path(get, path = "/api/v1/identity", tag = "accounts",
    responses((status = 200, body = IdentityDto), (status = 401), (status = 404, description = "identity_not_set")))]
pub async fn show(_caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let identity = web::block(move || archive.identity()).await??;
    match identity {
        Some(identity) => Ok(HttpResponse::Ok().json(IdentityDto::from(identity))),
        None => Err(ApiError::new(
            Code::IdentityNotSet,
            "l'identité de la collectivité n'est pas encore définie (PUT /api/v1/identity, ou la page Identité)",
        )),
    }
}

/// Sets the collectivité's identity (admin), checked whole.
#[utoipa::path(put, path = "/api/v1/identity", tag = "accounts", request_body = IdentityDto,
    responses((status = 200, body = IdentityDto), (status = 403), (status = 422)))]
pub async fn set(caller: Caller, archive: Data<Archive>, body: Json<IdentityDto>) -> Result<HttpResponse, ApiError> {
    let identity = body.into_inner().into();
    let set = web::block(move || archive.set_identity(&caller.0, identity)).await??;
    Ok(HttpResponse::Ok().json(IdentityDto::from(set)))
}
