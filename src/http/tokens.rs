//! API tokens.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::Archive;
use crate::wire::{NewTokenDto, TokenDto};
use actix_web::HttpResponse;
use actix_web::web::{self, Data, Json};

/// Issues a token (admin).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "tokens", request_body = NewTokenDto,
    responses((status = 201, body = TokenDto), (status = 401), (status = 403), (status = 422)))]
pub async fn create(caller: Caller, archive: Data<Archive>, body: Json<NewTokenDto>) -> Result<HttpResponse, ApiError> {
    let NewTokenDto { role, name, account } = body.into_inner();
    let parsed = super::accounts::parse_role(&role)?;
    let token_name = name.clone();
    let token = web::block(move || archive.create_token(&caller.0, parsed, &token_name, account.as_deref())).await??;
    Ok(HttpResponse::Created().json(TokenDto {
        token,
        role: parsed.to_string(),
        name: name.trim().to_owned(),
    }))
}
