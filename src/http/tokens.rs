//! API tokens: issued by admins, listed and revoked by admins (all) and by
//! people (their own).

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::Archive;
use crate::archive::tokens::TokenHolder;
use crate::errors::Code;
use crate::wire::{NewTokenDto, RevocationDto, TokenDto, TokenInfoDto, TokensDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data};

/// Issues a token (admin).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenDto,
    responses((status = 201, body = TokenDto), (status = 401), (status = 403), (status = 404, description = "no such account"), (status = 422)))]
pub async fn create(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<NewTokenDto>,
) -> Result<HttpResponse, ApiError> {
    let NewTokenDto {
        role,
        name,
        account,
        application,
        expires_in_days,
    } = body.into_inner();
    if application && account.is_some() {
        return Err(ApiError::new(
            Code::InvalidField,
            "un jeton appartient à une personne (account) ou à une application (application), pas aux deux",
        ));
    }
    let parsed = super::accounts::parse_role(&role)?;
    let token_name = name.clone();
    let issued = web::block(move || {
        let holder = TokenHolder::named(account.as_deref(), application);
        archive.create_token(&caller.0, parsed, &token_name, holder, expires_in_days)
    })
    .await??;
    Ok(HttpResponse::Created().json(TokenDto {
        token: issued.text,
        role: parsed.to_string(),
        name: name.trim().to_owned(),
        id: issued.id,
        expires_at: Some(issued.expires_at),
    }))
}

/// The tokens: every one for an admin, one's own for anyone else; never
/// their text.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "tokens",
    responses((status = 200, body = TokensDto), (status = 401)))]
pub async fn list(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let tokens = web::block(move || archive.tokens(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(TokensDto {
        tokens: tokens.into_iter().map(TokenInfoDto::from).collect(),
    }))
}

/// Revokes a token: it stops working at once (an admin any, anyone else
/// their own). A token revoked already is answered as it is.
#[utoipa::path(post, path = "/api/v1/tokens/{id}/revoke", tag = "tokens", request_body(content = Option<RevocationDto>, description = "why (optional)"),
    params(("id" = u64, Path, description = "the token's id")),
    responses((status = 200, body = TokenInfoDto), (status = 401), (status = 404, description = "no token of this id that the caller may see"), (status = 422)))]
pub async fn revoke(
    caller: Caller,
    archive: Data<Archive>,
    id: web::Path<u64>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    // No body (or `null`) is no reason; a body is a JSON object, or the
    // request is refused.
    let reason = super::body::optional_object::<RevocationDto>(&body)?.and_then(|given| given.reason);
    let id = id.into_inner();
    let view = web::block(move || archive.revoke_token(&caller.0, id, reason.as_deref())).await??;
    Ok(HttpResponse::Ok().json(TokenInfoDto::from(view)))
}
