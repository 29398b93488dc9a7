//! Transfer packages over HTTP.

use super::auth::Caller;
use super::body::JsonObject;
use super::error::ApiError;
use crate::archive::Archive;
use crate::archive::exports::ExportRequest;
use crate::wire::NewExportDto;
use actix_web::HttpResponse;
use actix_web::web::{self, Data};
use std::io::{self, Seek, SeekFrom};

/// Builds a package and streams it back (a zip). The package is written to
/// an unnamed temporary file of the data directory first, so nothing is
/// left behind whatever happens, and memory stays bounded.
#[utoipa::path(post, path = "/api/v1/exports", tag = "transfers", request_body = NewExportDto,
    responses((status = 200, description = "the package (application/zip)"), (status = 403), (status = 404, description = "the records, node or transfer named do not exist"), (status = 409, description = "a record's content is damaged and no good copy is left (content_damaged)"), (status = 422)))]
pub async fn export(
    caller: Caller,
    archive: Data<Archive>,
    body: JsonObject<NewExportDto>,
) -> Result<HttpResponse, ApiError> {
    let request = ExportRequest::try_from(body.into_inner())?;
    let (summary, mut file) = web::block(move || {
        let file = tempfile::tempfile_in(archive.data_dir().path())?;
        let (summary, out) = archive.export(&caller.0, &request, io::BufWriter::new(file))?;
        let file = out.into_inner().map_err(|e| io::Error::other(e.to_string()))?;
        Ok::<_, crate::archive::ArchiveError>((summary, file))
    })
    .await??;
    let length = web::block(move || file.seek(SeekFrom::End(0)).map(|length| (length, file)))
        .await?
        .map_err(ApiError::internal)?;
    let (length, file) = length;
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"coffre-export-{}.zip\"", summary.id),
        ))
        .insert_header(("X-Coffre-Package", summary.id.clone()))
        .insert_header(("X-Coffre-Records", summary.records.to_string()))
        .insert_header(("X-Coffre-Files", summary.files.to_string()))
        .insert_header(("X-Coffre-Bytes", summary.bytes.to_string()))
        .insert_header(("X-Coffre-Seal", summary.seal.to_string()))
        .insert_header(("X-Coffre-Seq", summary.seq.to_string()))
        .body(super::stream_from(file, 0, length)))
}
