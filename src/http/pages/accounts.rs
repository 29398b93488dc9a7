//! The accounts page (admin): every account with its role and state; open
//! an account, change a role, disable or enable, reset a password. Each
//! change is a use case of the archive, journaled in the admin's name.

use super::{Frame, PageError, Signed, french, html, status_of};
use crate::archive::{AccountChanges, Archive, ArchiveError, NewAccount};
use crate::domain::role::{Permission, Role};
use crate::errors::Code;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// An account as the page lists it.
pub struct AccountView {
    user: String,
    display_name: String,
    role: String,
    disabled: bool,
    has_password: bool,
    /// Signs in through the directory, whose groups give the role.
    directory: bool,
    service: String,
}

#[derive(Template, Default)]
#[template(path = "accounts.html")]
struct AccountsPage {
    frame: Frame,
    accounts: Vec<AccountView>,
    roles: Vec<(&'static str, &'static str)>,
    notice: Option<String>,
    errors: Vec<(String, String)>,
    error_user: Option<String>,
    error_display_name: Option<String>,
    error_password: Option<String>,
    form_user: String,
    form_display_name: String,
    form_role: String,
}

/// `?fait=` after a change: what was done, said at the top.
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    fait: String,
}

fn require_admin(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageAccounts, "gérer les comptes")
        .map_err(PageError::Archive)
}

async fn render(
    signed: &Signed,
    archive: &Data<Archive>,
    mut page: AccountsPage,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let archive = archive.clone();
    let accounts = web::block(move || archive.accounts(&actor)).await??;
    page.accounts = accounts
        .iter()
        .map(|a| AccountView {
            user: a.user.to_string(),
            display_name: a.display_name.clone(),
            role: a.role.to_string(),
            disabled: a.disabled,
            has_password: a.password_set.is_some(),
            directory: a.directory,
            service: a.service.clone().unwrap_or_default(),
        })
        .collect();
    page.roles = Role::ALL.iter().map(|r| (r.as_str(), french::role(*r))).collect();
    page.frame = signed.frame("Comptes", "accounts");
    if page.form_role.is_empty() {
        page.form_role = Role::Agent.to_string();
    }
    Ok(html(status, &page))
}

/// The page.
pub async fn page(signed: Signed, archive: Data<Archive>, done: web::Query<Done>) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    let notice = match done.fait.as_str() {
        "ouvert" => Some("Le compte est ouvert.".to_owned()),
        "role" => Some("Le rôle est changé.".to_owned()),
        "etat" => Some("L'état du compte est changé.".to_owned()),
        "mot-de-passe" => Some("Le mot de passe est enregistré.".to_owned()),
        _ => None,
    };
    let page = AccountsPage {
        notice,
        ..AccountsPage::default()
    };
    render(&signed, &archive, page, StatusCode::OK).await
}

/// The form that opens an account.
#[derive(Deserialize)]
pub struct NewAccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

fn done(what: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/comptes?fait={what}")))
        .finish()
}

/// Opens an account; a refusal is shown next to its field.
pub async fn create(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<NewAccountForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    signed.check_form(&form.csrf)?;
    let form = form.into_inner();
    let role = Role::parse(&form.role).unwrap_or(Role::Agent);
    let new = NewAccount {
        user: form.user.clone(),
        display_name: form.display_name.clone(),
        role,
        password: Some(form.password.clone()).filter(|p| !p.is_empty()),
    };
    let actor = signed.actor.clone();
    let worker = archive.clone();
    match web::block(move || worker.create_account(&actor, new)).await? {
        Ok(_) => Ok(done("ouvert")),
        Err(e @ (ArchiveError::Invalid(_) | ArchiveError::AccountExists(_))) => {
            let mut page = AccountsPage {
                form_user: form.user,
                form_display_name: form.display_name,
                form_role: role.to_string(),
                ..AccountsPage::default()
            };
            let (field, message) = match &e {
                ArchiveError::Invalid(invalid) => (invalid.field.clone(), invalid.problem.clone()),
                _ => ("user".to_owned(), super::explain(&e).2),
            };
            match field.as_str() {
                "display_name" => page.error_display_name = Some(message.clone()),
                "password" => page.error_password = Some(message.clone()),
                _ => page.error_user = Some(message.clone()),
            }
            page.errors.push((field, message));
            render(&signed, &archive, page, status_of(e.code())).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A change of role.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
}

/// Changes an account's role.
pub async fn change_role(
    signed: Signed,
    archive: Data<Archive>,
    user: web::Path<String>,
    form: web::Form<RoleForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    signed.check_form(&form.csrf)?;
    let role = Role::parse(&form.role)
        .ok_or_else(|| PageError::Api(Code::InvalidField, format!("« {} » n'est pas un rôle", form.role)))?;
    let changes = AccountChanges {
        role: Some(role),
        ..AccountChanges::default()
    };
    let actor = signed.actor.clone();
    web::block(move || archive.update_account(&actor, &user, changes)).await??;
    Ok(done("role"))
}

/// Disabling or enabling.
#[derive(Deserialize)]
pub struct StateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    desactive: String,
}

/// Disables or enables an account.
pub async fn change_state(
    signed: Signed,
    archive: Data<Archive>,
    user: web::Path<String>,
    form: web::Form<StateForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    signed.check_form(&form.csrf)?;
    let changes = AccountChanges {
        disabled: Some(form.desactive == "oui"),
        ..AccountChanges::default()
    };
    let actor = signed.actor.clone();
    web::block(move || archive.update_account(&actor, &user, changes)).await??;
    Ok(done("etat"))
}

/// A new password.
#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    mot_de_passe: String,
}

/// Resets an account's password.
pub async fn reset_password(
    signed: Signed,
    archive: Data<Archive>,
    user: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    signed.check_form(&form.csrf)?;
    let form = form.into_inner();
    let actor = signed.actor.clone();
    web::block(move || archive.set_password(&actor, &user, None, &form.mot_de_passe)).await??;
    Ok(done("mot-de-passe"))
}

#[derive(Template)]
#[template(path = "me.html")]
struct MePage {
    frame: Frame,
    user: String,
    display_name: String,
    role: &'static str,
    /// Signs in through the directory (no password here to change).
    directory: bool,
    service: String,
    /// Where the daily summary of their work list is mailed.
    email: String,
    notice: Option<String>,
    /// What was not done, as the error's heading says it.
    error_title: &'static str,
    error: Option<String>,
    error_field: &'static str,
    tokens: Vec<TokenLine>,
}

/// One of the person's tokens, as the page lists it.
pub struct TokenLine {
    id: u64,
    name: String,
    created: String,
    expires: String,
    state: &'static str,
    active: bool,
}

/// The person's own tokens, newest first.
async fn own_tokens(archive: &Data<Archive>, signed: &Signed) -> Result<Vec<TokenLine>, PageError> {
    let archive = archive.clone();
    let actor = signed.actor.clone();
    let tokens = web::block(move || archive.tokens(&actor)).await??;
    let day =
        |d: Option<chrono::DateTime<chrono::Utc>>| d.map_or_else(|| "—".to_owned(), |d| french::date(d.date_naive()));
    Ok(tokens
        .into_iter()
        .filter(|t| t.account.as_ref() == Some(&signed.account.user))
        .map(|t| TokenLine {
            id: t.id,
            name: t.name,
            created: day(t.created_at),
            expires: day(t.expires_at),
            state: french::token_state(t.state),
            active: t.state == "active",
        })
        .collect())
}

fn me_page(
    signed: &Signed,
    notice: Option<String>,
    error: Option<(&'static str, String)>,
    tokens: Vec<TokenLine>,
) -> MePage {
    let (error_field, error) = match error {
        Some((field, message)) => (field, Some(message)),
        None => ("", None),
    };
    MePage {
        frame: signed.frame("Mon compte", "me"),
        user: signed.account.user.to_string(),
        display_name: signed.account.display_name.clone(),
        role: french::role(signed.account.role),
        directory: signed.account.directory,
        service: signed.account.service.clone().unwrap_or_default(),
        email: signed.account.email.clone().unwrap_or_default(),
        notice,
        error_title: if error_field == "courriel" {
            "L'adresse électronique n'a pas été changée"
        } else {
            "Le mot de passe n'a pas été changé"
        },
        error,
        error_field,
        tokens,
    }
}

/// The person's own account.
pub async fn me(signed: Signed, archive: Data<Archive>, done: web::Query<Done>) -> Result<HttpResponse, PageError> {
    let notice = match done.fait.as_str() {
        "mot-de-passe" => Some("Votre mot de passe est changé.".to_owned()),
        "jeton" => Some("Le jeton est révoqué : il ne donne plus accès à l'archive.".to_owned()),
        "courriel" => Some(match &signed.account.email {
            Some(email) => format!("Le résumé de ce qui vous attend sera envoyé chaque matin à {email}."),
            None => "Vous ne recevrez plus le résumé de ce qui vous attend.".to_owned(),
        }),
        _ => None,
    };
    let tokens = own_tokens(&archive, &signed).await?;
    Ok(html(StatusCode::OK, &me_page(&signed, notice, None, tokens)))
}

/// The anti-forgery token of a form that only confirms.
#[derive(Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: String,
}

/// Revokes one of the person's own tokens.
pub async fn revoke_own_token(
    signed: Signed,
    archive: Data<Archive>,
    id: web::Path<u64>,
    form: web::Form<ConfirmForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    let actor = signed.actor.clone();
    let id = id.into_inner();
    web::block(move || archive.revoke_token(&actor, id, Some("révoqué depuis la page Mon compte"))).await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/mon-compte?fait=jeton"))
        .finish())
}

/// A change of one's own password.
#[derive(Deserialize)]
pub struct OwnPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    actuel: String,
    #[serde(default)]
    nouveau: String,
}

/// Changes the person's own password, given the current one.
pub async fn change_own_password(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<OwnPasswordForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    let form = form.into_inner();
    let actor = signed.actor.clone();
    let user = signed.account.user.to_string();
    let archive_for_page = archive.clone();
    match web::block(move || archive.set_password(&actor, &user, Some(&form.actuel), &form.nouveau)).await? {
        Ok(()) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/mon-compte?fait=mot-de-passe"))
            .finish()),
        Err(ArchiveError::Invalid(invalid)) => {
            let field = if invalid.field == "current_password" {
                "actuel"
            } else {
                "nouveau"
            };
            let tokens = own_tokens(&archive_for_page, &signed).await?;
            let page = me_page(&signed, None, Some((field, invalid.problem)), tokens);
            Ok(html(status_of(Code::InvalidField), &page))
        }
        Err(e) => Err(e.into()),
    }
}

/// The person's address for the daily summary.
#[derive(Deserialize)]
pub struct OwnEmailForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    courriel: String,
}

/// Sets or clears the person's own e-mail address (the daily summary of
/// their work list goes there).
pub async fn change_own_email(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<OwnEmailForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    let typed = form.into_inner().courriel;
    let asked = typed.clone();
    let actor = signed.actor.clone();
    let archive_for_page = archive.clone();
    match web::block(move || archive.set_own_email(&actor, &asked)).await? {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/mon-compte?fait=courriel"))
            .finish()),
        Err(ArchiveError::Invalid(invalid)) => {
            let tokens = own_tokens(&archive_for_page, &signed).await?;
            let mut page = me_page(&signed, None, Some(("courriel", invalid.problem)), tokens);
            page.email = typed;
            Ok(html(status_of(Code::InvalidField), &page))
        }
        Err(e) => Err(e.into()),
    }
}
