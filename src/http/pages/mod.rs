//! The web pages for people, in French, under `/` on the API's port:
//! sign-in, search, a record's page and its content. Rendered by the
//! server from askama templates (`templates/`, checked at compile time);
//! every page works without JavaScript. The stylesheet is embedded in the
//! binary.
//!
//! Like the API's handlers, these only translate: every use case runs in
//! `archive` on a blocking thread. A page's errors are pages too, with the
//! status the error table gives and a message in French.
//!
//! Invariant: a page shows only what the signed-in person's role may read
//! (the archive checks it; nothing here widens it), and no form changes
//! anything without its session's anti-forgery token.

mod accounts;
mod audit;
mod deposit;
mod disposals;
mod identity;
mod imports;
pub(crate) use crate::french;
mod circuits;
mod dashboard;
mod mine;
mod plan;
mod record;
mod registers;
mod retention;
mod search;
mod session;
mod transfers;
mod verification;

use crate::archive::{Actor, Archive, ArchiveError};
use crate::domain::account::Account;
use crate::errors::Code;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieAge};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::web::{self, Data};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use askama::Template;
pub use deposit::PendingDeposits;
use futures_util::future::LocalBoxFuture;
use serde::Deserialize;
pub use session::Sessions;
use std::fmt;

/// The stylesheet, embedded: one binary, nothing fetched elsewhere. A
/// collectivité replaces the theme by serving another `coffre.css`.
const STYLESHEET: &str = include_str!("../../../static/coffre.css");

/// Routes of the pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(search::page))
        .route("/connexion", web::get().to(sign_in_form))
        .route("/connexion", web::post().to(sign_in))
        .route("/deconnexion", web::post().to(sign_out))
        .route("/deposer", web::get().to(deposit::form))
        .route("/deposer", web::post().to(deposit::upload))
        .route("/deposer/{lot}", web::get().to(deposit::review))
        .route("/deposer/{lot}", web::post().to(deposit::confirm))
        .route("/mes-depots", web::get().to(mine::page))
        .route("/a-traiter", web::get().to(circuits::worklist))
        .route("/documents/{ref}/mouvement", web::post().to(circuits::move_record))
        .route("/indicateurs", web::get().to(circuits::dashboard))
        .route("/a-verifier", web::get().to(verification::queue))
        .route("/a-verifier/{ref}", web::get().to(verification::form))
        .route("/a-verifier/{ref}", web::post().to(verification::submit))
        .route("/mon-compte", web::get().to(accounts::me))
        .route("/mon-compte", web::post().to(accounts::change_own_password))
        .route("/mon-compte/courriel", web::post().to(accounts::change_own_email))
        .route(
            "/mon-compte/jetons/{id}/revoquer",
            web::post().to(accounts::revoke_own_token),
        )
        .route("/identite", web::get().to(identity::page))
        .route("/identite", web::post().to(identity::save))
        .route("/identite/logo", web::get().to(identity::logo))
        .route("/identite/logo", web::post().to(identity::set_logo))
        .route("/identite/logo/retirer", web::post().to(identity::remove_logo))
        .route("/comptes", web::get().to(accounts::page))
        .route("/comptes", web::post().to(accounts::create))
        .route("/comptes/{user}/role", web::post().to(accounts::change_role))
        .route("/comptes/{user}/etat", web::post().to(accounts::change_state))
        .route("/comptes/{user}/mot-de-passe", web::post().to(accounts::reset_password))
        .route("/controle", web::get().to(audit::dashboard))
        .route("/controle/verification", web::post().to(audit::start_verification))
        .route("/controle/verification/{id}", web::get().to(audit::verification))
        .route("/journal", web::get().to(audit::journal))
        .route("/controle/consultations", web::get().to(audit::consultations))
        .route("/conservation", web::get().to(retention::due))
        .route("/conservation.csv", web::get().to(retention::due_csv))
        .route("/plan", web::get().to(plan::page))
        .route("/plan/difference", web::get().to(plan::difference))
        .service(
            // A plan file as big as PUT /api/v1/plan takes, percent-encoded
            // (actix's 16 KiB default refused the default plan itself).
            web::resource("/plan/modifier")
                .app_data(web::FormConfig::default().limit(3 * crate::http::plan::PLAN_MAX))
                .route(web::get().to(plan::edit_form))
                .route(web::post().to(plan::edit)),
        )
        .route("/importer", web::get().to(imports::form))
        .route("/importer", web::post().to(imports::submit))
        .route("/eliminations", web::get().to(disposals::list))
        .route("/eliminations", web::post().to(disposals::propose))
        .route("/eliminations/{id}", web::get().to(disposals::show))
        .route("/eliminations/{id}/visa", web::post().to(disposals::approve))
        .route("/eliminations/{id}/execution", web::post().to(disposals::execute))
        .route("/eliminations/{id}/bordereau", web::get().to(disposals::bordereau))
        .route(
            "/eliminations/{id}/bordereau.pdf",
            web::get().to(disposals::bordereau_pdf),
        )
        .route(
            "/eliminations/{id}/certificat.pdf",
            web::get().to(disposals::certificate_pdf),
        )
        .route(
            "/eliminations/{id}/certificat.html",
            web::get().to(disposals::certificate_page),
        )
        .route("/eliminations/{id}/certificat", web::get().to(disposals::certificate))
        .route("/versements", web::get().to(transfers::list))
        .route("/versements", web::post().to(transfers::propose))
        .route("/versements/{id}", web::get().to(transfers::show))
        .route("/versements/{id}/paquet", web::post().to(transfers::package))
        .route(
            "/versements/{id}/bordereau.pdf",
            web::get().to(transfers::bordereau_pdf),
        )
        .route("/versements/{id}/acceptation", web::post().to(transfers::acknowledge))
        .route("/versements/{id}/reponse", web::post().to(transfers::reply))
        .route("/registres", web::get().to(registers::page))
        .route("/registres.csv", web::get().to(registers::csv))
        .route("/gels", web::get().to(retention::holds))
        .route("/gels", web::post().to(retention::place))
        .route("/gels/{id}/lever", web::post().to(retention::lift))
        .route("/controle/verifier", web::get().to(audit::verify_form))
        .route("/controle/verifier/paquet", web::post().to(audit::verify_package))
        .route("/controle/verifier/accuse", web::post().to(audit::verify_attestation))
        .route("/documents/{ref}", web::get().to(record::page))
        .route("/documents/{ref}/contenu", web::get().to(record::content))
        .route("/documents/{ref}/recherchable", web::get().to(record::rendition))
        .route("/documents/{ref}/accuse-de-depot", web::get().to(record::attestation))
        .route("/documents/{ref}/preuve", web::get().to(record::proof))
        .route("/static/coffre.css", web::get().to(stylesheet));
}

/// What every page's frame shows: the person signed in and the token
/// their forms carry.
#[derive(Default)]
pub struct Frame {
    /// The page's title, in `<title>`.
    pub title: String,
    /// Who is signed in.
    pub person: Option<PersonView>,
    /// The session's anti-forgery token.
    pub csrf: String,
    /// Which menu entry is the current page.
    pub current: &'static str,
}

/// A node offered in a choice (filters, proposals): indented by its
/// depth in the plan, with its code.
pub struct NodeOption {
    /// Its code (the value sent).
    pub code: String,
    /// What the choice shows.
    pub label: String,
}

/// A value written into a URL's query string or path segment.
pub fn url_encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The value of the field `name` in a form read as pairs (empty when the
/// form has none).
pub fn form_value<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// Every node of the plan, as a choice offers them.
pub fn node_options(plan: &crate::domain::plan::Plan) -> Vec<NodeOption> {
    plan.nodes
        .iter()
        .map(|n| NodeOption {
            code: n.code.to_string(),
            label: format!(
                "{}{} ({})",
                "\u{a0}\u{a0}".repeat(plan.path(&n.code).len().saturating_sub(1)),
                n.title,
                n.code
            ),
        })
        .collect()
}

/// What a disposal's or transfer's proposal form asks (`au`, `noeud`), or
/// why the date cannot be read.
pub fn proposal_of(au: &str, noeud: &str) -> Result<crate::archive::ProposalRequest, String> {
    Ok(crate::archive::ProposalRequest {
        at: french::typed_day(au)?.map(|d| d.format("%Y-%m-%d").to_string()),
        node: Some(noeud.trim().to_owned()).filter(|n| !n.is_empty()),
        records: Vec::new(),
    })
}

/// The person in the page's header.
pub struct PersonView {
    /// Their name.
    pub display_name: String,
    /// Their role, in French.
    pub role: &'static str,
    /// Whether the menu offers the accounts page.
    pub admin: bool,
    /// Whether the menu offers the auditors' pages.
    pub auditor: bool,
    /// Whether the menu offers the archivists' pages.
    pub archivist: bool,
    /// Whether the menu offers the eliminations to the archives
    /// authority's people (who are not archivists).
    pub visa: bool,
    /// Whether the menu offers depositing (and one's own deposits).
    pub depositor: bool,
    /// Confirms or corrects descriptions in the verification queue.
    pub verifier: bool,
}

/// A signed-in person, from the session cookie; pages that need one take
/// it as an argument, and someone not signed in is sent to sign in.
pub struct Signed {
    /// Who acts.
    pub actor: Actor,
    /// Their account.
    pub account: Account,
    /// The session's anti-forgery token.
    pub csrf: String,
    /// The session id (to close it).
    session_id: String,
}

impl Signed {
    /// The frame of a page this person sees.
    pub fn frame(&self, title: impl Into<String>, current: &'static str) -> Frame {
        Frame {
            title: title.into(),
            person: Some(PersonView {
                display_name: self.account.display_name.clone(),
                role: french::role(self.account.role),
                admin: self.actor.role.allows(crate::domain::role::Permission::ManageAccounts),
                auditor: self.actor.role.allows(crate::domain::role::Permission::Audit),
                archivist: self.actor.role.allows(crate::domain::role::Permission::ManageRecords),
                visa: self.actor.role.allows(crate::domain::role::Permission::GiveVisa)
                    && !self.actor.role.allows(crate::domain::role::Permission::ManageRecords),
                depositor: self.actor.role.allows(crate::domain::role::Permission::Deposit),
                verifier: self.actor.role.allows(crate::domain::role::Permission::VerifyRecords),
            }),
            csrf: self.csrf.clone(),
            current,
        }
    }

    /// Refuses a form whose anti-forgery token is not this session's.
    pub fn check_form(&self, token: &str) -> Result<(), PageError> {
        if session::same_token(token, &self.csrf) {
            Ok(())
        } else {
            Err(PageError::Forged)
        }
    }
}

/// Where a request was going, to come back to after signing in.
fn destination(req: &HttpRequest) -> String {
    match req.uri().path_and_query() {
        Some(pq) => pq.as_str().to_owned(),
        None => "/".to_owned(),
    }
}

impl FromRequest for Signed {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let cookie = req.cookie(session::COOKIE).map(|c| c.value().to_owned());
        let sessions = req.app_data::<Data<Sessions>>().cloned();
        let archive = req.app_data::<Data<Archive>>().cloned();
        let next = destination(req);
        Box::pin(async move {
            let sign_in = || PageError::SignIn { next: next.clone() };
            let (Some(id), Some(sessions), Some(archive)) = (cookie, sessions, archive) else {
                return Err(sign_in());
            };
            let session = sessions.touch(&id).ok_or_else(sign_in)?;
            let user = session.user.clone();
            let found = web::block(move || {
                let actor = archive.actor_of_account(&user)?;
                let account = archive.account(user.as_str())?;
                Ok::<_, ArchiveError>((actor, account))
            })
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?;
            match found {
                Ok((actor, account)) => Ok(Signed {
                    actor,
                    account,
                    csrf: session.csrf,
                    session_id: id,
                }),
                Err(ArchiveError::Unauthenticated | ArchiveError::AccountNotFound(_)) => {
                    sessions.close(&id);
                    Err(sign_in())
                }
                Err(e) => Err(PageError::Archive(e)),
            }
        })
    }
}

/// The status a row of the error table is answered with.
pub fn status_of(code: Code) -> StatusCode {
    StatusCode::from_u16(code.http_status()).unwrap_or_else(|_| status_of(Code::Internal))
}

/// What goes wrong on a page; answered as a page.
#[derive(Debug)]
pub enum PageError {
    /// Not signed in: go to the sign-in page, then come back to `next`.
    SignIn {
        /// Where to come back to.
        next: String,
    },
    /// A form without its session's anti-forgery token.
    Forged,
    /// A use case refused or failed.
    Archive(ArchiveError),
    /// A refusal the API's code already answered (its row and message).
    Api(Code, String),
    /// Something broke here.
    Internal(String),
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PageError::SignIn { next } => write!(f, "sign-in needed for {next}"),
            PageError::Forged => f.write_str("a form without its anti-forgery token"),
            PageError::Archive(e) => write!(f, "{e}"),
            PageError::Api(code, message) => write!(f, "{}: {message}", code.as_str()),
            PageError::Internal(e) => write!(f, "internal: {e}"),
        }
    }
}

/// An address whose query string or path segment cannot be read (a
/// number that is not one, a choice that does not exist), as a page.
pub fn unreadable_address(code: Code) -> PageError {
    let message = if code == Code::InvalidPath {
        "Cette adresse ne désigne aucune page : l'un de ses éléments est illisible. \
         Vérifiez l'adresse, ou revenez à la page précédente."
    } else {
        "L'adresse de cette page porte un paramètre illisible (un nombre, une date ou un choix \
         qui n'en est pas un). Corrigez l'adresse, ou revenez à la page précédente."
    };
    PageError::Api(code, message.to_owned())
}

/// A refusal the API's layer made (an upload's framing, its size), as a
/// page's.
pub(super) fn api(e: crate::http::ApiError) -> PageError {
    let (code, message) = e.parts();
    PageError::Api(code, message.to_owned())
}

impl From<ArchiveError> for PageError {
    fn from(e: ArchiveError) -> Self {
        PageError::Archive(e)
    }
}

impl From<actix_web::error::BlockingError> for PageError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        PageError::Internal(e.to_string())
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    frame: Frame,
    heading: String,
    message: String,
}

/// The title and message a person reads for an error, in French. The
/// archive's own message is shown where it is written for people (the
/// search syntax, a field's rule); elsewhere a sentence per code.
pub fn explain(e: &ArchiveError) -> (StatusCode, &'static str, String) {
    explain_code(e.code(), &e.to_string())
}

/// The same, from a row of the error table and the message that came with it.
pub fn explain_code(code: Code, own_message: &str) -> (StatusCode, &'static str, String) {
    let status = status_of(code);
    let (heading, message) = match code {
        Code::RecordNotFound => (
            "Document introuvable",
            "Aucun document accessible ne porte cette référence : elle est peut-être mal recopiée, \
             ou votre rôle ne permet pas de consulter ce document."
                .to_owned(),
        ),
        Code::VersionNotFound => ("Version introuvable", "Ce document n'a pas cette version.".to_owned()),
        Code::Forbidden => (
            "Accès refusé",
            "Votre rôle ne permet pas cette action. Si vous en avez besoin, adressez-vous à l'archiviste.".to_owned(),
        ),
        Code::RecordDestroyed => (
            "Document éliminé",
            "Ce document a été éliminé à l'issue de sa durée de conservation ; seule sa trace demeure.".to_owned(),
        ),
        Code::RecordTransferred => (
            "Document versé",
            "Ce document a été versé aux archives ; adressez-vous au service d'archives pour le consulter.".to_owned(),
        ),
        Code::InvalidQuery | Code::InvalidPath | Code::LimitExceeded | Code::SignInFailed | Code::TooManyAttempts => {
            ("Demande incorrecte", own_message.to_owned())
        }
        // `field: problem`: the person reads the problem.
        Code::InvalidField => (
            "Demande incorrecte",
            own_message
                .split_once(": ")
                .map(|(_, problem)| problem)
                .unwrap_or(own_message)
                .to_owned(),
        ),
        Code::ContentDamaged => (
            "Contenu endommagé",
            "Le contenu de ce document ne correspond plus à son empreinte, ou il est introuvable : il n'est pas \
             servi. Prévenez l'archiviste, qui fera restaurer une copie intacte."
                .to_owned(),
        ),
        // The archive says why, in French: a replica or a damaged journal
        // that writes nothing, a journal that stopped answering.
        Code::Unavailable if !own_message.is_empty() => ("Service indisponible", own_message.to_owned()),
        Code::Unavailable => (
            "Service indisponible",
            "Les archives sont momentanément indisponibles. Réessayez dans quelques instants.".to_owned(),
        ),
        Code::ReadingNotTraced => ("Consultation sur le serveur principal", own_message.to_owned()),
        _ if status.is_server_error() => {
            tracing::error!(error = %own_message, "a page failed");
            (
                "Erreur du service",
                "Une erreur s'est produite ; elle a été consignée. Réessayez, et si elle persiste, prévenez l'administrateur."
                    .to_owned(),
            )
        }
        _ => ("Demande refusée", own_message.to_owned()),
    };
    (status, heading, message)
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Forged => status_of(Code::FormExpired),
            PageError::Archive(e) => explain(e).0,
            PageError::Api(code, _) => status_of(*code),
            PageError::Internal(_) => status_of(Code::Internal),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (status, heading, message) = match self {
            PageError::SignIn { next } => {
                let query = serde_urlencoded::to_string([("suite", next.as_str())]).unwrap_or_default();
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, format!("/connexion?{query}")))
                    .finish();
            }
            PageError::Forged => (
                status_of(Code::FormExpired),
                "Formulaire refusé",
                "Ce formulaire a expiré ou ne vient pas de coffre : rechargez la page et recommencez.".to_owned(),
            ),
            PageError::Archive(e) => explain(e),
            PageError::Api(code, message) => explain_code(*code, message),
            PageError::Internal(e) => {
                tracing::error!(error = %e, "a page failed");
                (
                    status_of(Code::Internal),
                    "Erreur du service",
                    "Une erreur s'est produite ; elle a été consignée.".to_owned(),
                )
            }
        };
        let page = ErrorPage {
            frame: Frame {
                title: heading.to_owned(),
                person: None,
                csrf: String::new(),
                current: "",
            },
            heading: heading.to_owned(),
            message,
        };
        html(status, &page)
    }
}

/// Headers every page carries: no script from elsewhere, no framing by
/// other sites, no guessing of types, nothing cached by shared caches.
fn guarded(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"));
    builder
}

/// Renders a template as a page with `status`.
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => guarded(HttpResponse::build(status))
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            HttpResponse::build(status_of(Code::Internal))
                .content_type("text/plain; charset=utf-8")
                .body("Erreur du service : la page n'a pas pu être produite.")
        }
    }
}

/// Whether the request came over TLS (directly or through a proxy that
/// says so), so that cookies are marked `Secure`.
fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

fn cookie<'c>(req: &HttpRequest, name: &'c str, value: String) -> Cookie<'c> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(over_tls(req))
        .finish()
}

fn expired(req: &HttpRequest, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(req, name, String::new());
    c.set_max_age(CookieAge::ZERO);
    c
}

/// A path to go back to after signing in: only a path of this site.
fn safe_destination(suite: &str) -> &str {
    if suite.starts_with('/') && !suite.starts_with("//") && !suite.contains('\\') {
        suite
    } else {
        "/"
    }
}

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    frame: Frame,
    user: String,
    suite: String,
    form_csrf: String,
    error: Option<String>,
    notice: Option<String>,
}

/// `?suite=&fin=`.
#[derive(Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    suite: String,
    #[serde(default)]
    fin: Option<String>,
}

/// Renders the sign-in form with a fresh anti-forgery token in its cookie.
fn sign_in_page(req: &HttpRequest, status: StatusCode, page: SignInPage) -> HttpResponse {
    let mut response = html(status, &page);
    if let Err(e) = response.add_cookie(&cookie(req, session::FORM_COOKIE, page.form_csrf.clone())) {
        tracing::error!(error = %e, "could not set the form cookie");
    }
    response
}

fn blank_sign_in(suite: &str, user: String) -> Result<SignInPage, PageError> {
    Ok(SignInPage {
        frame: Frame {
            title: "Connexion".into(),
            person: None,
            csrf: String::new(),
            current: "",
        },
        user,
        suite: safe_destination(suite).to_owned(),
        form_csrf: session::random_token().map_err(|e| PageError::Internal(e.to_string()))?,
        error: None,
        notice: None,
    })
}

/// The sign-in page.
async fn sign_in_form(req: HttpRequest, query: web::Query<SignInQuery>) -> Result<HttpResponse, PageError> {
    let mut page = blank_sign_in(&query.suite, String::new())?;
    if query.fin.is_some() {
        page.notice = Some("Vous êtes déconnecté.".into());
    }
    Ok(sign_in_page(&req, StatusCode::OK, page))
}

/// The sign-in form's fields.
#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    suite: String,
}

/// Signs in: opens a session and goes where the person was going.
async fn sign_in(
    req: HttpRequest,
    archive: Data<Archive>,
    sessions: Data<Sessions>,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, PageError> {
    let SignInForm {
        user,
        password,
        csrf,
        suite,
    } = form.into_inner();
    let expected = req.cookie(session::FORM_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|t| !t.is_empty() && session::same_token(&t, &csrf)) {
        let mut page = blank_sign_in(&suite, user)?;
        page.error =
            Some("Le formulaire a expiré ou ne vient pas de coffre : saisissez à nouveau votre mot de passe.".into());
        return Ok(sign_in_page(&req, status_of(Code::FormExpired), page));
    }
    let address = crate::http::peer_address(&req);
    let typed = user.clone();
    let outcome = web::block(move || archive.sign_in(&typed, &password, &address)).await?;
    match outcome {
        Ok(account) => {
            let id = sessions
                .open(account.user.clone())
                .map_err(|e| PageError::Internal(e.to_string()))?;
            tracing::info!(user = %account.user, "signed in");
            let mut response = HttpResponse::SeeOther()
                .insert_header((header::LOCATION, safe_destination(&suite).to_owned()))
                .finish();
            for c in [cookie(&req, session::COOKIE, id), expired(&req, session::FORM_COOKIE)] {
                response
                    .add_cookie(&c)
                    .map_err(|e| PageError::Internal(e.to_string()))?;
            }
            Ok(response)
        }
        Err(
            e @ (ArchiveError::SignInFailed
            | ArchiveError::TooManyAttempts { .. }
            | ArchiveError::NotGranted
            | ArchiveError::DirectoryUnavailable(_)),
        ) => {
            let (status, _, message) = explain(&e);
            let mut page = blank_sign_in(&suite, user)?;
            page.error = Some(message);
            Ok(sign_in_page(&req, status, page))
        }
        Err(e) => Err(e.into()),
    }
}

/// The sign-out form's fields.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// Signs out: ends the session and clears its cookie.
async fn sign_out(
    req: HttpRequest,
    signed: Signed,
    sessions: Data<Sessions>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    sessions.close(&signed.session_id);
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/connexion?fin=1"))
        .finish();
    response
        .add_cookie(&expired(&req, session::COOKIE))
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(response)
}

/// The stylesheet, cached by browsers and revalidated by its digest.
async fn stylesheet(req: HttpRequest) -> HttpResponse {
    let etag = format!(
        "\"{}\"",
        &crate::domain::hash::Sha256::of(STYLESHEET.as_bytes()).hex()[..16]
    );
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600, must-revalidate"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if fresh {
        return response.finish();
    }
    response
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        ))
        .body(STYLESHEET)
}

/// Whether a request asks for a page rather than JSON (for answers to
/// paths nobody serves).
pub fn wants_page(req: &HttpRequest) -> bool {
    !req.path().starts_with("/api/")
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
}

/// The page for a path nobody serves.
pub fn not_found_page() -> HttpResponse {
    let page = ErrorPage {
        frame: Frame {
            title: "Page introuvable".into(),
            person: None,
            csrf: String::new(),
            current: "",
        },
        heading: "Page introuvable".into(),
        message: "Cette adresse ne correspond à aucune page de coffre.".into(),
    };
    html(status_of(Code::NotFound), &page)
}

/// A link to `path` with `params` as its query string (empty values left out).
pub fn link(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    if kept.is_empty() {
        return path.to_owned();
    }
    format!("{path}?{}", serde_urlencoded::to_string(kept).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_site_are_gone_back_to() {
        assert_eq!(safe_destination("/documents/X?y=1"), "/documents/X?y=1");
        for outside in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_destination(outside), "/", "{outside}");
        }
    }

    #[test]
    fn links_encode_their_parameters() {
        assert_eq!(
            link("/", &[("q", "l'été & co"), ("noeud", "")]),
            "/?q=l%27%C3%A9t%C3%A9+%26+co"
        );
        assert_eq!(link("/", &[]), "/");
    }
}
