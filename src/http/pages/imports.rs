//! Importing a package from the page: a coffre package or a BagIt bag with
//! a SEDA manifest, checked first (nothing imported), then imported whole,
//! or refused whole with every reason.

use super::{Frame, PageError, Signed, html};
use crate::archive::imports::{ImportMapping, ImportSummary};
use crate::archive::{Archive, ArchiveError};
use crate::domain::role::Permission;
use actix_multipart::Multipart;
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web::{self, Data};
use askama::Template;

/// A record of the package, as the page lists it.
pub struct ImportedView {
    reference: String,
    node: String,
    from: String,
}

/// What the last submission found.
pub struct ImportOutcome {
    ok: bool,
    heading: String,
    records: Vec<ImportedView>,
    reasons: Vec<String>,
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    frame: Frame,
    mapping: String,
    outcome: Option<ImportOutcome>,
}

fn require_import(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::ManageRecords, "importer des paquets")
        .map_err(PageError::Archive)
}

/// The import form.
pub async fn form(signed: Signed) -> Result<HttpResponse, PageError> {
    require_import(&signed)?;
    let page = ImportPage {
        frame: signed.frame("Importer un paquet", "import"),
        mapping: String::new(),
        outcome: None,
    };
    Ok(html(StatusCode::OK, &page))
}

fn records_of(summary: &ImportSummary) -> Vec<ImportedView> {
    summary
        .records
        .iter()
        .map(|r| ImportedView {
            reference: r.reference.clone(),
            node: r.node.clone(),
            from: r.from.join(", "),
        })
        .collect()
}

/// Checks or imports the package sent (multipart: the form's token first,
/// then `action` (`verifier` or `importer`), `correspondance` (TOML,
/// optional) and `paquet`).
pub async fn submit(signed: Signed, archive: Data<Archive>, mut payload: Multipart) -> Result<HttpResponse, PageError> {
    use crate::http::records::{filename_of, multipart_error, next_item, read_small_part};
    require_import(&signed)?;
    let mut token_checked = false;
    let mut import = false;
    let mut mapping_text = String::new();
    let mut package: Option<crate::http::imports::Received> = None;
    loop {
        let next = next_item(&mut payload)
            .await
            .transpose()
            .map_err(|e| super::api(multipart_error(e)))?;
        let Some(mut field) = next else { break };
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "csrf" => {
                let token =
                    String::from_utf8(read_small_part(&mut field).await.map_err(super::api)?).unwrap_or_default();
                signed.check_form(token.trim())?;
                token_checked = true;
            }
            _ if !token_checked => return Err(PageError::Forged),
            "action" => import = read_small_part(&mut field).await.map_err(super::api)? == b"importer",
            "correspondance" => {
                mapping_text =
                    String::from_utf8_lossy(&read_small_part(&mut field).await.map_err(super::api)?).into_owned();
            }
            "paquet" => {
                if filename_of(&field).map_err(super::api)?.is_none_or(|n| n.is_empty()) {
                    continue;
                }
                package = Some(
                    crate::http::imports::receive_package(&archive, &mut field)
                        .await
                        .map_err(super::api)?,
                );
            }
            _ => {}
        }
    }
    if !token_checked {
        return Err(PageError::Forged);
    }
    let outcome = match package {
        None => ImportOutcome {
            ok: false,
            heading: "Choisissez le paquet (fichier zip) à importer.".into(),
            records: Vec::new(),
            reasons: Vec::new(),
        },
        Some(received) => {
            let actor = signed.actor.clone();
            let text = mapping_text.clone();
            let answer = web::block(move || {
                let mapping = match text.trim() {
                    "" => None,
                    t => Some(ImportMapping::parse(t)?),
                };
                let summary = if import {
                    archive.import_package(&actor, &received.path, mapping.as_ref())
                } else {
                    archive.check_import(&actor, &received.path, mapping.as_ref())
                };
                drop(received);
                summary
            })
            .await?;
            match answer {
                Ok(summary) => ImportOutcome {
                    ok: true,
                    heading: if import {
                        format!(
                            "Paquet {} importé : {}.",
                            summary.package,
                            crate::french::count(summary.records.len() as u64, "document", "documents")
                        )
                    } else {
                        format!(
                            "Paquet {} vérifié, rien n'est importé : {} à importer{}.",
                            summary.package,
                            crate::french::count(summary.records.len() as u64, "document", "documents"),
                            if summary.sealed {
                                ", son journal scellé vérifié"
                            } else {
                                ""
                            }
                        )
                    },
                    records: records_of(&summary),
                    reasons: Vec::new(),
                },
                Err(ArchiveError::PackageRefused(reasons)) => ImportOutcome {
                    ok: false,
                    heading: "Le paquet est refusé en entier ; rien n'est importé.".into(),
                    records: Vec::new(),
                    reasons,
                },
                Err(e @ ArchiveError::Invalid(_)) => ImportOutcome {
                    ok: false,
                    heading: "Le paquet est refusé en entier ; rien n'est importé.".into(),
                    records: Vec::new(),
                    reasons: vec![e.to_string()],
                },
                Err(e) => return Err(PageError::Archive(e)),
            }
        }
    };
    let status = if outcome.ok {
        StatusCode::OK
    } else {
        super::status_of(crate::errors::Code::PackageRefused)
    };
    let page = ImportPage {
        frame: signed.frame("Importer un paquet", "import"),
        mapping: mapping_text,
        outcome: Some(outcome),
    };
    Ok(html(status, &page))
}
