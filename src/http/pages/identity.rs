//! The collectivité's identity page (admin): what every paper and package
//! names.

use super::{Frame, PageError, Signed, html};
use crate::archive::{Archive, ArchiveError};
use crate::domain::identity::{ArchivesService, Identity, ProducingService};
use crate::domain::role::Permission;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// The form, as sent or as shown.
#[derive(Debug, Default, Deserialize)]
pub struct IdentityForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    nom: String,
    #[serde(default)]
    siren: String,
    #[serde(default)]
    siret: String,
    #[serde(default)]
    services: String,
    #[serde(default)]
    archives_nom: String,
    #[serde(default)]
    archives_identifiant: String,
    #[serde(default)]
    autorite: String,
    /// The checkbox: present (`on`) when ticked.
    #[serde(default)]
    visa_reserve: Option<String>,
}

impl IdentityForm {
    fn of(identity: &Identity) -> IdentityForm {
        IdentityForm {
            csrf: String::new(),
            nom: identity.name.clone(),
            siren: identity.siren.clone().unwrap_or_default(),
            siret: identity.siret.clone().unwrap_or_default(),
            services: identity
                .services
                .iter()
                .map(|s| format!("{} ; {}", s.code, s.name))
                .collect::<Vec<_>>()
                .join("\n"),
            archives_nom: identity.archives.name.clone(),
            archives_identifiant: identity.archives.identifier.clone(),
            autorite: identity.archives.authority.clone(),
            visa_reserve: identity.archives.visa_reserved.then(|| "on".to_owned()),
        }
    }

    /// The identity the form describes; a services line without its `;` is
    /// refused, naming the line.
    fn identity(&self) -> Result<Identity, (String, String)> {
        let mut services = Vec::new();
        for (i, line) in self.services.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let Some((code, name)) = line.split_once(';') else {
                return Err((
                    "services".into(),
                    format!("ligne {} : écrivez « CODE ; Nom du service »", i + 1),
                ));
            };
            services.push(ProducingService {
                code: code.trim().to_owned(),
                name: name.trim().to_owned(),
            });
        }
        let optional = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        Ok(Identity {
            name: self.nom.clone(),
            siren: optional(&self.siren),
            siret: optional(&self.siret),
            services,
            archives: ArchivesService {
                name: self.archives_nom.clone(),
                identifier: self.archives_identifiant.clone(),
                authority: self.autorite.clone(),
                visa_reserved: self.visa_reserve.is_some(),
            },
            logo: None,
        })
    }
}

#[derive(Template)]
#[template(path = "identity.html")]
struct IdentityPage {
    frame: Frame,
    form: IdentityForm,
    notice: Option<String>,
    problem: Option<(String, String)>,
    /// Whether an identity is set (a logo needs one).
    set: bool,
    /// The logo in force, in words (format and size), if any.
    logo: Option<String>,
}

impl IdentityPage {
    fn new(signed: &Signed, identity: Option<&Identity>) -> IdentityPage {
        IdentityPage {
            frame: signed.frame("Identité de la collectivité", "identity"),
            form: identity.map(IdentityForm::of).unwrap_or_default(),
            notice: None,
            problem: None,
            set: identity.is_some(),
            logo: identity.and_then(|i| i.logo.as_ref()).map(|l| {
                format!(
                    "image {}, {} × {} pixels",
                    if l.media_type == "image/png" { "PNG" } else { "JPEG" },
                    l.width,
                    l.height
                )
            }),
        }
    }
}

fn require_admin(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageAccounts, "définir l'identité de la collectivité")
        .map_err(PageError::Archive)
}

/// `?enregistre=1` after a change, `?logo=1` (or `0`) after the logo's.
#[derive(Debug, Default, Deserialize)]
pub struct IdentityParams {
    #[serde(default)]
    enregistre: Option<u8>,
    #[serde(default)]
    logo: Option<u8>,
}

/// The page, with the identity in force.
pub async fn page(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<IdentityParams>,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    let identity = web::block(move || archive.identity()).await??;
    let mut page = IdentityPage::new(&signed, identity.as_ref());
    page.notice = match (params.enregistre, params.logo) {
        (Some(_), _) => {
            Some("L'identité est enregistrée ; les papiers et les paquets la nommeront désormais.".to_owned())
        }
        (_, Some(0)) => Some("Le logo est retiré ; les papiers seront faits sans.".to_owned()),
        (_, Some(_)) => {
            Some("Le logo est enregistré ; il figurera en tête des bordereaux et des certificats.".to_owned())
        }
        _ => None,
    };
    Ok(html(StatusCode::OK, &page))
}

/// Sets the identity from the form; a refusal shows the form again with
/// what was typed and the problem next to its field.
pub async fn save(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<IdentityForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.into_inner();
    signed.check_form(&form.csrf)?;
    require_admin(&signed)?;
    let current = web::block({
        let archive = archive.clone();
        move || archive.identity()
    })
    .await??;
    let refused = |form: IdentityForm, problem: (String, String)| {
        let page = IdentityPage {
            form,
            problem: Some(problem),
            ..IdentityPage::new(&signed, current.as_ref())
        };
        Ok(html(super::status_of(crate::errors::Code::InvalidField), &page))
    };
    let identity = match form.identity() {
        Ok(identity) => identity,
        Err(problem) => return refused(form, problem),
    };
    let actor = signed.actor.clone();
    match web::block(move || archive.set_identity(&actor, identity)).await? {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/identite?enregistre=1"))
            .finish()),
        Err(ArchiveError::Invalid(e)) => {
            let field = match e.field.as_str() {
                "name" => "nom",
                "archives.name" => "archives_nom",
                "archives.identifier" => "archives_identifiant",
                "archives.authority" => "autorite",
                f if f.starts_with("services") => "services",
                other => other,
            };
            refused(form, (field.to_owned(), e.problem))
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// The logo in force, for the page's preview (any signed-in person: it
/// heads the papers they print).
pub async fn logo(_signed: Signed, archive: Data<Archive>) -> Result<HttpResponse, PageError> {
    match web::block(move || archive.logo()).await?? {
        Some((logo, bytes)) => Ok(HttpResponse::Ok()
            .content_type(logo.media_type)
            .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
            .body(bytes)),
        None => Err(PageError::Api(
            crate::errors::Code::LogoNotSet,
            "la collectivité n'a pas de logo".into(),
        )),
    }
}

/// Gives the collectivité the logo sent (multipart: the form's token, then
/// the image as `logo`); a refusal shows the page again with the reason
/// next to the file field.
pub async fn set_logo(
    signed: Signed,
    archive: Data<Archive>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    let sent = super::audit::read_sent(&signed, &archive, payload, "logo", true).await?;
    let actor = signed.actor.clone();
    let setting = archive.clone();
    let outcome = web::block(move || {
        let Some(file) = sent.file.filter(|_| !sent.name.is_empty()) else {
            return Err(ArchiveError::Invalid(crate::domain::record::InvalidInput::new(
                "logo",
                "choisissez l'image du logo (PNG ou JPEG)",
            )));
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(file.reopen()?, crate::domain::logo::LOGO_MAX_BYTES as u64 + 1),
            &mut bytes,
        )?;
        setting.set_logo(&actor, Some(&bytes))
    })
    .await?;
    match outcome {
        Ok(_) => Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/identite?logo=1"))
            .finish()),
        Err(e @ (ArchiveError::Invalid(_) | ArchiveError::IdentityNotSet)) => {
            let status = super::status_of(e.code());
            let problem = match e {
                ArchiveError::Invalid(i) => i.problem,
                other => other.to_string(),
            };
            let current = web::block(move || archive.identity()).await??;
            let page = IdentityPage {
                problem: Some(("logo".to_owned(), problem)),
                ..IdentityPage::new(&signed, current.as_ref())
            };
            Ok(html(status, &page))
        }
        Err(e) => Err(PageError::Archive(e)),
    }
}

/// `csrf=`: the form's token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// Takes the logo away.
pub async fn remove_logo(
    signed: Signed,
    archive: Data<Archive>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    require_admin(&signed)?;
    let actor = signed.actor.clone();
    web::block(move || archive.set_logo(&actor, None)).await??;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/identite?logo=0"))
        .finish())
}
