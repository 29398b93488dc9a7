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
}

fn require_admin(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageAccounts, "définir l'identité de la collectivité")
        .map_err(PageError::Archive)
}

/// `?enregistre=1` after a change.
#[derive(Debug, Default, Deserialize)]
pub struct IdentityParams {
    #[serde(default)]
    enregistre: Option<u8>,
}

/// The page, with the identity in force.
pub async fn page(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<IdentityParams>,
) -> Result<HttpResponse, PageError> {
    require_admin(&signed)?;
    let identity = web::block(move || archive.identity()).await??;
    let page = IdentityPage {
        frame: signed.frame("Identité de la collectivité", "identity"),
        form: identity.as_ref().map(IdentityForm::of).unwrap_or_default(),
        notice: params
            .enregistre
            .map(|_| "L'identité est enregistrée ; les papiers et les paquets la nommeront désormais.".to_owned()),
        problem: None,
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
    let refused = |form: IdentityForm, problem: (String, String)| {
        let page = IdentityPage {
            frame: signed.frame("Identité de la collectivité", "identity"),
            form,
            notice: None,
            problem: Some(problem),
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
