//! People's accounts (admin), a person's own password, and the sign-in
//! that exchanges a user name and password for a token (`coffre login`).

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::{AccountChanges, Archive, ArchiveError, NewAccount};
use crate::domain::record::InvalidInput;
use crate::domain::role::Role;
use crate::wire::{AccountDto, AccountPatchDto, LoginDto, NewAccountDto, PasswordDto, TokenDto};
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse};

/// Reads a role named in a request.
pub(super) fn parse_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| {
        ArchiveError::from(InvalidInput::new(
            "role",
            format!("{text:?} is not a role; roles are admin, archivist, auditor, agent"),
        ))
        .into()
    })
}

/// Every account (admin).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "accounts",
    responses((status = 200, body = [AccountDto]), (status = 401), (status = 403)))]
pub async fn list(caller: Caller, archive: Data<Archive>) -> Result<HttpResponse, ApiError> {
    let accounts = web::block(move || archive.accounts(&caller.0)).await??;
    Ok(HttpResponse::Ok().json(accounts.iter().map(AccountDto::from).collect::<Vec<_>>()))
}

/// Opens an account (admin).
#[utoipa::path(post, path = "/api/v1/accounts", tag = "accounts", request_body = NewAccountDto,
    responses((status = 201, body = AccountDto), (status = 401), (status = 403), (status = 409), (status = 422)))]
pub async fn create(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<NewAccountDto>,
) -> Result<HttpResponse, ApiError> {
    let NewAccountDto {
        user,
        display_name,
        role,
        password,
    } = body.into_inner();
    let new = NewAccount {
        user,
        display_name,
        role: parse_role(&role)?,
        password,
    };
    let account = web::block(move || archive.create_account(&caller.0, new)).await??;
    Ok(HttpResponse::Created().json(AccountDto::from(&account)))
}

/// Changes an account's display name, role or state (admin).
#[utoipa::path(patch, path = "/api/v1/accounts/{user}", tag = "accounts", request_body = AccountPatchDto,
    params(("user" = String, Path, description = "user name")),
    responses((status = 200, body = AccountDto), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn update(
    caller: Caller,
    archive: Data<Archive>,
    user: web::Path<String>,
    body: JsonObject<AccountPatchDto>,
) -> Result<HttpResponse, ApiError> {
    let AccountPatchDto {
        display_name,
        role,
        disabled,
        service,
        email,
    } = body.into_inner();
    let changes = AccountChanges {
        display_name,
        role: role.as_deref().map(parse_role).transpose()?,
        disabled,
        service,
        email,
    };
    let account = web::block(move || archive.update_account(&caller.0, &user, changes)).await??;
    Ok(HttpResponse::Ok().json(AccountDto::from(&account)))
}

/// Sets a password: an admin for anyone, a person for their own account
/// with `current_password`.
#[utoipa::path(post, path = "/api/v1/accounts/{user}/password", tag = "accounts", request_body = PasswordDto,
    params(("user" = String, Path, description = "user name")),
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 422)))]
pub async fn set_password(
    caller: Caller,
    archive: Data<Archive>,
    user: web::Path<String>,
    body: JsonObject<PasswordDto>,
) -> Result<HttpResponse, ApiError> {
    let PasswordDto {
        password,
        current_password,
    } = body.into_inner();
    web::block(move || archive.set_password(&caller.0, &user, current_password.as_deref(), &password)).await??;
    Ok(HttpResponse::NoContent().finish())
}

/// Exchanges a user name and password for a new token of that person's,
/// carrying their role (no token needed; failures are braked).
#[utoipa::path(post, path = "/api/v1/login", tag = "accounts", request_body = LoginDto, security(),
    responses((status = 201, body = TokenDto), (status = 401), (status = 403, description = "the directory accepted the person, but none of their groups gives access (not_granted)"),
        (status = 429),
        (status = 503, description = "the archive is busy or cannot write, or the directory cannot be reached (unavailable, directory_unavailable)")))]
pub async fn login(
    req: HttpRequest,
    archive: Data<Archive>,
    body: JsonObject<LoginDto>,
) -> Result<HttpResponse, ApiError> {
    let LoginDto { user, password, name } = body.into_inner();
    let address = super::peer_address(&req);
    let (token, account) = web::block(move || {
        let account = archive.sign_in(&user, &password, &address)?;
        let actor = crate::archive::Actor::person(&account);
        let token = archive.create_own_token(&actor, name.as_deref().unwrap_or("coffre login"))?;
        Ok::<_, ArchiveError>((token, account))
    })
    .await??;
    Ok(HttpResponse::Created().json(TokenDto {
        token: token.text,
        role: account.role.to_string(),
        name: account.user.to_string(),
        id: token.id,
        expires_at: Some(token.expires_at),
    }))
}
