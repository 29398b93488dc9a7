//! The collectivité's identity over HTTP.

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::Archive;
use crate::errors::Code;
use crate::wire::IdentityDto;
use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web::{self, Data};

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
pub async fn set(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<IdentityDto>,
) -> Result<HttpResponse, ApiError> {
    let identity = body.into_inner().into();
    let set = web::block(move || archive.set_identity(&caller.0, identity)).await??;
    Ok(HttpResponse::Ok().json(IdentityDto::from(set)))
}

/// The collectivité's logo, as its image file.
#[utoipa::path(get, path = "/api/v1/identity/logo", tag = "accounts",
    responses((status = 200, content_type = "image/png", description = "the logo (image/png or image/jpeg)"), (status = 401),
        (status = 404, description = "logo_not_set")))]
pub async fn logo(_caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    match web::block(move || archive.logo()).await?? {
        Some((logo, bytes)) => Ok(HttpResponse::Ok()
            .content_type(logo.media_type)
            .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
            .insert_header(("x-content-sha256", logo.sha256.hex()))
            .body(bytes)),
        None => Err(ApiError::new(Code::LogoNotSet, "la collectivité n'a pas de logo")),
    }
}

/// Gives the collectivité a logo (admin): a PNG or JPEG image of at most
/// 1 MiB and 4,096 pixels a side, as the body. The identity must be set.
#[utoipa::path(put, path = "/api/v1/identity/logo", tag = "accounts",
    request_body(content = Vec<u8>, content_type = "image/png", description = "a PNG or JPEG image"),
    responses((status = 200, body = IdentityDto), (status = 403), (status = 404, description = "identity_not_set"),
        (status = 413), (status = 422, description = "not a sound PNG or JPEG, or too large")))]
pub async fn set_logo(caller: Caller, archive: Data<Archive>, body: web::Payload) -> Result<HttpResponse, ApiError> {
    let max = crate::domain::logo::LOGO_MAX_BYTES;
    let image = super::read_body(body, max, "a logo").await?;
    let set = web::block(move || archive.set_logo(&caller.0, Some(&image))).await??;
    Ok(HttpResponse::Ok().json(IdentityDto::from(set)))
}

/// Takes the collectivité's logo away (admin); the papers are made without.
#[utoipa::path(delete, path = "/api/v1/identity/logo", tag = "accounts",
    responses((status = 200, body = IdentityDto), (status = 403), (status = 404, description = "identity_not_set")))]
pub async fn remove_logo(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let set = web::block(move || archive.set_logo(&caller.0, None)).await??;
    Ok(HttpResponse::Ok().json(IdentityDto::from(set)))
}
