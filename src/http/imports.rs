//! Packages loaded into the archive over HTTP.

use super::auth::Caller;
use super::error::ApiError;
use super::records::{drain, filename_of, multipart_error, next_item, read_small_part, stream_part};
use crate::archive::Archive;
use crate::archive::imports::ImportMapping;
use crate::errors::Code;
use crate::wire::ImportSummaryDto;
use actix_multipart::{Multipart, MultipartError};
use actix_web::HttpResponse;
use actix_web::web::{self, Data, Query};
use serde::Deserialize;
use std::path::PathBuf;

/// `?dry_run=true`: check only.
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    /// Every check, nothing imported.
    #[serde(default)]
    pub dry_run: bool,
}

/// The package's file, written under a temporary folder of the data
/// directory (removed when dropped) with the name it was sent under.
pub(crate) struct Received {
    _folder: tempfile::TempDir,
    /// Where the package is.
    pub(crate) path: PathBuf,
}

/// Writes a multipart `field` holding a package to a temporary folder of
/// the data directory, under its own file name, never holding it whole in
/// memory.
pub(crate) async fn receive_package(
    archive: &Data<Archive>,
    field: &mut actix_multipart::Field,
) -> Result<Received, ApiError> {
    let name = package_file_name(filename_of(field)?.as_deref());
    let data_dir = archive.data_dir().clone();
    stream_part(field, archive.max_upload(), move |reader| {
        let folder = data_dir.scratch_folder("import-")?;
        let path = folder.path().join(name);
        let mut file = std::fs::File::create(&path)?;
        std::io::copy(reader, &mut file)?;
        file.sync_all()?;
        Ok(Received { _folder: folder, path })
    })
    .await
}

/// The name a package is kept under while it is checked: its own file name
/// (an import without a SEDA message id is named after it), never a path.
fn package_file_name(sent: Option<&str>) -> String {
    sent.and_then(|name| std::path::Path::new(name).file_name())
        .and_then(|name| name.to_str())
        .filter(|name| !name.starts_with('.'))
        .unwrap_or("paquet.zip")
        .to_owned()
}

/// Loads a package (a BagIt zip, as `coffre export` writes) into the
/// archive, whole or not at all; with `dry_run`, checks it only.
#[utoipa::path(post, path = "/api/v1/imports", tag = "transfers",
    params(("dry_run" = Option<bool>, Query, description = "check everything, import nothing")),
    request_body(content((crate::wire::ImportFormDto = "multipart/form-data")), description = "parts `package` (the zip) and, optionally, `mapping` (TOML: package nodes to this plan's nodes)"),
    responses((status = 201, body = ImportSummaryDto), (status = 200, description = "dry run: what would be imported", body = ImportSummaryDto),
        (status = 400), (status = 403), (status = 413), (status = 422)))]
pub async fn import(
    caller: Caller,
    archive: Data<Archive>,
    query: Query<ImportQuery>,
    mut payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let mut package: Option<Received> = None;
    let mut mapping: Option<ImportMapping> = None;
    loop {
        let next = match next_item(&mut payload).await.transpose() {
            Ok(next) => next,
            Err(MultipartError::Incomplete) if package.is_none() && mapping.is_none() => {
                return Err(missing_package());
            }
            Err(e) => return Err(multipart_error(e)),
        };
        let Some(mut field) = next else { break };
        match field.name().unwrap_or_default() {
            "package" => {
                if package.is_some() {
                    return Err(ApiError::new(Code::InvalidMultipart, "more than one 'package' part"));
                }
                match receive_package(&archive, &mut field).await {
                    Ok(received) => package = Some(received),
                    Err(e) => {
                        if e.code() == "payload_too_large" {
                            drain(field, &mut payload).await;
                        }
                        return Err(e);
                    }
                }
            }
            "mapping" => {
                if mapping.is_some() {
                    return Err(ApiError::new(Code::InvalidMultipart, "more than one 'mapping' part"));
                }
                let bytes = read_small_part(&mut field).await?;
                let text = String::from_utf8(bytes)
                    .map_err(|_| ApiError::new(Code::InvalidMultipart, "the 'mapping' part is not UTF-8 text"))?;
                mapping = Some(ImportMapping::parse(&text)?);
            }
            other => {
                return Err(ApiError::new(
                    Code::InvalidMultipart,
                    format!("unexpected part {other:?}; an import has the parts 'package' and 'mapping'"),
                ));
            }
        }
    }
    let package = package.ok_or_else(missing_package)?;
    let dry_run = query.dry_run;
    let summary = web::block(move || {
        let summary = if dry_run {
            archive.check_import(&caller.0, &package.path, mapping.as_ref())
        } else {
            archive.import_package(&caller.0, &package.path, mapping.as_ref())
        };
        drop(package);
        summary
    })
    .await??;
    let answer = ImportSummaryDto::new(summary, dry_run);
    Ok(if dry_run {
        HttpResponse::Ok().json(answer)
    } else {
        HttpResponse::Created().json(answer)
    })
}

fn missing_package() -> ApiError {
    ApiError::new(
        Code::MissingFile,
        "the request has no 'package' part (the zip to import)",
    )
}

#[cfg(test)]
mod tests {
    use super::package_file_name;

    #[test]
    fn a_package_keeps_its_own_file_name_never_a_path() {
        assert_eq!(package_file_name(Some("versement-2024.zip")), "versement-2024.zip");
        assert_eq!(package_file_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(package_file_name(Some("/tmp/a/b.zip")), "b.zip");
        assert_eq!(package_file_name(Some("..")), "paquet.zip");
        assert_eq!(package_file_name(Some(".hidden")), "paquet.zip");
        assert_eq!(package_file_name(None), "paquet.zip");
    }
}
