//! Records: deposit (streamed multipart), read, content with ranges, new
//! versions, and the refused delete.

use super::auth::Caller;
use super::error::ApiError;
use crate::archive::{Archive, ArchiveError, Deposit, Deposited, Staged, Upload, file_name_of};
use crate::domain::trail::Reading;
use crate::errors::Code;
use crate::wire::{BatchDepositDto, BatchOutcomeDto, DepositMetadataDto, RecordDto, RecordPatchDto};
use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, ByteRangeSpec, ContentDisposition, DispositionParam, DispositionType, HeaderValue, Range,
};
use actix_web::web::{self, Bytes, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use std::io::{self, Read};
use std::time::Duration;

/// The largest `metadata` part accepted: descriptive metadata is small.
const METADATA_PART_MAX: usize = 1024 * 1024;

/// Multipart framing and the metadata part may add this much to a body
/// beyond the content itself before it is judged too large up front.
const MULTIPART_OVERHEAD: u64 = 2 * 1024 * 1024;

/// After refusing an upload as too large, the rest of the body is read and
/// dropped, up to this much, so that the client can read the 413; beyond
/// that the connection is closed.
const DRAIN_MAX: u64 = 64 * 1024 * 1024;

/// Chunks in flight between the network and the blob writer thread.
const UPLOAD_QUEUE: usize = 16;

/// Uploads written at once, each on its own blocking thread.
static UPLOAD_WRITERS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(64);

pub(crate) fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentDispositionMissing | MultipartError::ContentDispositionNameMissing => ApiError::new(
            Code::InvalidMultipart,
            "a part has no readable Content-Disposition with a name (headers, file names included, must be UTF-8)",
        ),
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeIncompatible
        | MultipartError::ContentTypeParse => ApiError::new(
            Code::InvalidMultipart,
            "the request must be multipart/form-data with parts 'file' and 'metadata'",
        ),
        MultipartError::Payload(p) if super::pacing::timed_out(&p) => ApiError::new(Code::UploadTimeout, p.to_string()),
        other => ApiError::new(
            Code::InvalidMultipart,
            format!("the multipart body could not be read: {other}"),
        ),
    }
}

/// The original file name of a part: `filename*` (RFC 5987) if given in
/// UTF-8, else `filename`. Never used as a path.
pub(crate) fn filename_of(field: &Field) -> Result<Option<String>, ApiError> {
    let Some(cd) = field.content_disposition() else {
        return Ok(None);
    };
    if let Some(ext) = cd.get_filename_ext() {
        return String::from_utf8(ext.value.clone())
            .map(Some)
            .map_err(|_| ApiError::new(Code::InvalidFilename, "the file name is not valid UTF-8"));
    }
    Ok(cd.get_filename().map(str::to_owned))
}

/// How often a multipart stream is polled again while it waits.
const REPOLL: Duration = Duration::from_secs(1);

/// The next item of a multipart stream (the parts, or a part's chunks).
/// The stream is polled again every [`REPOLL`]: an actix-multipart field
/// can miss a wake-up when its data is already buffered (seen under load:
/// the whole body received, the handler parked for ever), and a timer turns
/// that into a short delay. A client that stops sending is cut by
/// `pacing`, whose error comes through the stream.
pub(crate) async fn next_item<S>(stream: &mut S) -> Option<S::Item>
where
    S: futures_util::Stream + Unpin,
{
    loop {
        if let Ok(item) = actix_web::rt::time::timeout(REPOLL, stream.next()).await {
            return item;
        }
    }
}

/// Reads what the network side of an upload hands over.
struct ChannelReader {
    queue: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.queue.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Streams a part into the blob store's staging area on a blocking thread,
/// never holding the whole upload in memory.
pub(crate) async fn stage_part(archive: &Data<Archive>, field: &mut Field) -> Result<Staged, ApiError> {
    let writer_archive = archive.clone();
    stream_part(field, archive.max_upload(), move |reader| writer_archive.stage(reader)).await
}

/// Streams a part, up to `limit` bytes, to `consume` on a blocking thread,
/// never holding the whole upload in memory.
pub(crate) async fn stream_part<T: Send + 'static>(
    field: &mut Field,
    limit: u64,
    consume: impl FnOnce(&mut dyn Read) -> Result<T, ArchiveError> + Send + 'static,
) -> Result<T, ApiError> {
    stream_part_after(Bytes::new(), field, limit, consume).await
}

/// [`stream_part`] of a part whose first bytes, `received`, were read
/// already.
async fn stream_part_after<T: Send + 'static>(
    first: Bytes,
    field: &mut Field,
    limit: u64,
    consume: impl FnOnce(&mut dyn Read) -> Result<T, ArchiveError> + Send + 'static,
) -> Result<T, ApiError> {
    // Each upload under way holds a thread that writes it; beyond this
    // many at once, uploads wait their turn without one.
    let permit = UPLOAD_WRITERS
        .acquire()
        .await
        .map_err(|_| ApiError::new(Code::Internal, "the upload queue is closed"))?;
    let (sender, queue) = tokio::sync::mpsc::channel(UPLOAD_QUEUE);
    let writer = web::block(move || {
        let _permit = permit;
        let mut reader = ChannelReader {
            queue,
            current: Bytes::new(),
        };
        consume(&mut reader)
    });
    let mut received: u64 = 0;
    let mut refused: Option<ApiError> = None;
    let mut first = (!first.is_empty()).then_some(first);
    loop {
        let chunk = match first.take() {
            Some(bytes) => Ok(bytes),
            None => match next_item(field).await {
                Some(chunk) => chunk,
                None => break,
            },
        };
        match chunk {
            Ok(bytes) => {
                received += bytes.len() as u64;
                if received > limit {
                    let _ = sender.send(Err(io::Error::other("upload over the size limit"))).await;
                    refused = Some(ArchiveError::TooLarge { limit }.into());
                    break;
                }
                if sender.send(Ok(bytes)).await.is_err() {
                    break; // the writer stopped; its error says why
                }
            }
            Err(e) => {
                let _ = sender.send(Err(io::Error::other(e.to_string()))).await;
                refused = Some(multipart_error(e));
                break;
            }
        }
    }
    drop(sender);
    let written = writer.await?;
    if let Some(error) = refused {
        return Err(error);
    }
    Ok(written?)
}

/// Reads and drops what is left of a refused body, within [`DRAIN_MAX`].
pub(crate) async fn drain(mut field: Field, payload: &mut Multipart) {
    let mut dropped = 0u64;
    while let Some(Ok(chunk)) = field.next().await {
        dropped += chunk.len() as u64;
        if dropped > DRAIN_MAX {
            return;
        }
    }
    // The multipart stream waits until no field of it is alive.
    drop(field);
    while let Ok(Some(mut f)) = payload.try_next().await {
        while let Some(Ok(chunk)) = f.next().await {
            dropped += chunk.len() as u64;
            if dropped > DRAIN_MAX {
                return;
            }
        }
    }
}

pub(crate) async fn read_small_part(field: &mut Field) -> Result<Vec<u8>, ApiError> {
    let mut out = Vec::new();
    while let Some(chunk) = next_item(field).await {
        let chunk = chunk.map_err(multipart_error)?;
        if out.len() + chunk.len() > METADATA_PART_MAX {
            return Err(ApiError::new(
                Code::InvalidMetadata,
                format!("the metadata part is larger than {METADATA_PART_MAX} bytes"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The parts of a deposit: the content (staged) and what was said of it.
struct Parts {
    upload: Option<Upload>,
    metadata: Option<DepositMetadataDto>,
}

/// A body whose declared length is beyond the upload limit (and what
/// multipart framing adds) is refused before it is read.
fn refuse_declared_too_large(req: &HttpRequest, archive: &Archive) -> Result<(), ApiError> {
    let limit = archive.max_upload();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit.saturating_add(MULTIPART_OVERHEAD)) {
        return Err(ArchiveError::TooLarge { limit }.into());
    }
    Ok(())
}

async fn read_parts(req: &HttpRequest, archive: &Data<Archive>, mut payload: Multipart) -> Result<Parts, ApiError> {
    refuse_declared_too_large(req, archive)?;
    let mut parts = Parts {
        upload: None,
        metadata: None,
    };
    let mut seen = 0usize;
    loop {
        let next = match next_item(&mut payload).await.transpose() {
            Ok(next) => next,
            // A body that ends before its first part is an empty form.
            Err(MultipartError::Incomplete) if seen == 0 => {
                return Err(ApiError::new(
                    Code::MissingFile,
                    "the multipart body holds no part; a deposit needs a 'file' part",
                ));
            }
            Err(e) => return Err(multipart_error(e)),
        };
        let Some(mut field) = next else { break };
        seen += 1;
        match field.name().unwrap_or_default() {
            "file" => {
                if parts.upload.is_some() {
                    return Err(ApiError::new(Code::InvalidMultipart, "more than one 'file' part"));
                }
                let filename = filename_of(&field)?;
                match stage_part(archive, &mut field).await {
                    Ok(staged) => parts.upload = Some(Upload { staged, filename }),
                    Err(e) => {
                        if e.code() == "payload_too_large" {
                            drain(field, &mut payload).await;
                        }
                        return Err(e);
                    }
                }
            }
            "metadata" => {
                if parts.metadata.is_some() {
                    return Err(ApiError::new(Code::InvalidMultipart, "more than one 'metadata' part"));
                }
                parts.metadata = read_metadata(&mut field).await?;
            }
            other => {
                return Err(ApiError::new(
                    Code::InvalidMultipart,
                    format!("unexpected part {other:?}; a deposit has the parts 'file' and 'metadata'"),
                ));
            }
        }
    }
    Ok(parts)
}

/// A `metadata` part: `null` is no description; anything else is one
/// object.
async fn read_metadata(field: &mut Field) -> Result<Option<DepositMetadataDto>, ApiError> {
    let bytes = read_small_part(field).await?;
    super::body::object_or_null(&bytes).map_err(|not| {
        let why = match not {
            super::body::NotAnObject::Shape => "an object ({…}) is expected".to_owned(),
            super::body::NotAnObject::Members(e) => e.to_string(),
        };
        ApiError::new(
            Code::InvalidMetadata,
            format!("the metadata part is not the expected JSON object: {why}"),
        )
    })
}

/// The deposit a `metadata` part describes.
fn deposit_of(meta: DepositMetadataDto) -> Deposit {
    Deposit {
        // A blank node is none: the classification rules choose one.
        node: Some(meta.node).filter(|n| !n.trim().is_empty()),
        title: meta.title,
        date: meta.date,
        service: meta.service,
        document_type: meta.document_type,
        fields: meta.fields,
        links: meta.links.into_iter().map(|l| (l.kind, l.to)).collect(),
    }
}

/// A deposit's answer: the record, whether its content was repaired, and
/// the other records the caller may read that held its content already
/// (only content stored before can be held by others). Blocking.
fn deposited_answer(
    archive: &Archive,
    actor: &crate::archive::Actor,
    deposited: Deposited,
) -> Result<RecordDto, ArchiveError> {
    let record = deposited.record;
    let same_content = match record.versions.first() {
        Some(version) if deposited.held_before => {
            let mut holders = archive.records_holding(actor, &version.sha256)?;
            holders.retain(|(reference, _)| *reference != record.reference);
            holders
        }
        _ => Vec::new(),
    };
    let details = archive.details(actor, &record)?;
    let mut answer = RecordDto::new(&record, &details, None);
    answer.repaired = deposited.repaired;
    answer.same_content = same_content
        .into_iter()
        .map(|(reference, title)| crate::wire::RecordNameDto {
            reference: reference.to_string(),
            title,
        })
        .collect();
    Ok(answer)
}

fn missing_file() -> ApiError {
    ApiError::new(Code::MissingFile, "the request has no 'file' part")
}

/// Deposits a record.
#[utoipa::path(post, path = "/api/v1/records", tag = "records",
    request_body(content((crate::wire::DepositFormDto = "multipart/form-data", encoding(("metadata" = (content_type = "application/json"))))), description = "parts `file` (the content) and `metadata` (JSON: node, title, date, service, type, fields)"),
    responses((status = 201, body = RecordDto), (status = 400), (status = 401), (status = 403, description = "the role may not deposit, or not in this node"), (status = 413), (status = 422)))]
pub async fn deposit(
    req: HttpRequest,
    caller: Caller,
    archive: Data<Archive>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let parts = read_parts(&req, &archive, payload).await?;
    let upload = parts.upload.ok_or_else(missing_file)?;
    let deposit = deposit_of(parts.metadata.unwrap_or_default());
    let answer = web::block(move || {
        let deposited = archive
            .ingest_all(&caller.0, vec![(deposit, upload)], None)
            .pop()
            .ok_or_else(|| ArchiveError::Internal("a deposit went missing".into()))??;
        deposited_answer(&archive, &caller.0, deposited)
    })
    .await??;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/records/{}", answer.reference)))
        .json(answer))
}

/// Files one batch deposit may carry: each holds two open files (its
/// content and its metadata document) until the batch is durable.
pub const BATCH_MAX: usize = 64;

/// A batch's file parts up to this size wait in memory until the whole
/// batch is read, then are staged together; larger ones stream to the
/// staging area as they come.
const BATCH_PART_IN_MEMORY: usize = 256 * 1024;

/// A file of a batch as it was read.
enum BatchContent {
    InMemory(Vec<u8>),
    Staged(Staged),
}

/// A file of a batch and its description.
struct BatchFile {
    deposit: Deposit,
    filename: Option<String>,
    content: BatchContent,
}

/// Reads a batch: `file` parts, each after the `metadata` part that
/// describes it, if any. Anything else (another part, a description with
/// no file after it, more than [`BATCH_MAX`] files, more than the upload
/// limit in all) refuses the whole batch before anything is deposited.
async fn read_batch(
    req: &HttpRequest,
    archive: &Data<Archive>,
    mut payload: Multipart,
) -> Result<Vec<BatchFile>, ApiError> {
    refuse_declared_too_large(req, archive)?;
    let limit = archive.max_upload();
    let mut files = Vec::new();
    let mut described: Option<DepositMetadataDto> = None;
    let mut received: u64 = 0;
    loop {
        let next = match next_item(&mut payload).await.transpose() {
            Ok(next) => next,
            Err(MultipartError::Incomplete) if files.is_empty() && described.is_none() => break,
            Err(e) => return Err(multipart_error(e)),
        };
        let Some(mut field) = next else { break };
        match field.name().unwrap_or_default() {
            "file" => {
                if files.len() == BATCH_MAX {
                    return Err(ApiError::new(
                        Code::InvalidMultipart,
                        format!("a batch holds at most {BATCH_MAX} files; send the others in another batch"),
                    ));
                }
                let filename = filename_of(&field)?;
                let room = limit.saturating_sub(received);
                match read_batch_file(archive, &mut field, room).await {
                    Ok((content, size)) => {
                        received += size;
                        files.push(BatchFile {
                            deposit: deposit_of(described.take().unwrap_or_default()),
                            filename,
                            content,
                        });
                    }
                    Err(e) => {
                        if e.code() == "payload_too_large" {
                            drain(field, &mut payload).await;
                            return Err(ArchiveError::TooLarge { limit }.into());
                        }
                        return Err(e);
                    }
                }
            }
            "metadata" => {
                if described.is_some() {
                    return Err(ApiError::new(
                        Code::InvalidMultipart,
                        "two 'metadata' parts follow each other; each describes the 'file' part after it",
                    ));
                }
                described = Some(read_metadata(&mut field).await?.unwrap_or_default());
            }
            other => {
                return Err(ApiError::new(
                    Code::InvalidMultipart,
                    format!("unexpected part {other:?}; a batch has 'file' parts, each after its 'metadata' part"),
                ));
            }
        }
    }
    if described.is_some() {
        return Err(ApiError::new(
            Code::InvalidMultipart,
            "the last 'metadata' part describes no file; each describes the 'file' part after it",
        ));
    }
    if files.is_empty() {
        return Err(ApiError::new(
            Code::MissingFile,
            "the batch holds no 'file' part; it needs one to 64",
        ));
    }
    Ok(files)
}

/// A file part of a batch, up to `limit` bytes: kept in memory while
/// small, streamed to the staging area beyond; with its size.
async fn read_batch_file(
    archive: &Data<Archive>,
    field: &mut Field,
    limit: u64,
) -> Result<(BatchContent, u64), ApiError> {
    let mut held = Vec::new();
    while let Some(chunk) = next_item(field).await {
        let chunk = chunk.map_err(multipart_error)?;
        if (held.len() + chunk.len()) as u64 > limit {
            return Err(ArchiveError::TooLarge { limit }.into());
        }
        held.extend_from_slice(&chunk);
        if held.len() > BATCH_PART_IN_MEMORY {
            let writer_archive = archive.clone();
            let staged = stream_part_after(Bytes::from(held), field, limit, move |reader| {
                writer_archive.stage(reader)
            })
            .await?;
            let size = staged.size();
            return Ok((BatchContent::Staged(staged), size));
        }
    }
    let size = held.len() as u64;
    Ok((BatchContent::InMemory(held), size))
}

/// Deposits several files in one request: they share the flushes of one
/// group commit, one journal commit and one catalog batch. The answer
/// (200) tells each file's outcome in the order sent: 201 with its
/// record, or the error a deposit of it alone would have had. A batch of
/// which no file went in is an error: the files' own when it is the same
/// (403 for a role that may not deposit, 422 for files no rule
/// classifies), else 422 `batch_refused`, each file's outcome under
/// `results` beside it.
#[utoipa::path(post, path = "/api/v1/records/batch", tag = "records",
    request_body(content((crate::wire::BatchFormDto = "multipart/form-data", encoding(("metadata" = (content_type = "application/json"))))), description = "up to 64 parts `file`, each after the part `metadata` (JSON: node, title, date, service, type, fields, links) that describes it, if any"),
    responses((status = 200, body = crate::wire::BatchDepositDto, description = "each file's outcome, one at least deposited"), (status = 400), (status = 401), (status = 403, description = "the role may not deposit"), (status = 413), (status = 422, description = "no file deposited: the files' common error, or batch_refused; each file's outcome under results")))]
pub async fn deposit_batch(
    req: HttpRequest,
    caller: Caller,
    archive: Data<Archive>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let files = read_batch(&req, &archive, payload).await?;
    let results = web::block(move || {
        let actor = &caller.0;
        let filenames: Vec<Option<String>> = files.iter().map(|file| file.filename.clone()).collect();
        let items = files
            .into_iter()
            .map(|file| {
                let staged = match file.content {
                    BatchContent::Staged(staged) => staged,
                    BatchContent::InMemory(bytes) => archive.stage(&mut bytes.as_slice())?,
                };
                let upload = Upload {
                    staged,
                    filename: file.filename,
                };
                Ok((file.deposit, upload))
            })
            .collect();
        let outcomes = archive
            .ingest_ready(actor, items, None, |e| e)
            .into_iter()
            .map(|outcome| outcome.and_then(|deposited| deposited_answer(&archive, actor, deposited)));
        filenames.into_iter().zip(outcomes).collect::<Vec<_>>()
    })
    .await?;
    let mut refusals = Vec::new();
    let results: Vec<BatchOutcomeDto> = results
        .into_iter()
        .map(|(filename, outcome)| match outcome {
            Ok(record) => BatchOutcomeDto {
                filename,
                status: StatusCode::CREATED.as_u16(),
                record: Some(record),
                error: None,
            },
            Err(e) => {
                let error = ApiError::from(e);
                let outcome = BatchOutcomeDto {
                    filename,
                    status: error.status_code().as_u16(),
                    record: None,
                    error: Some(error.body()),
                };
                refusals.push(error);
                outcome
            }
        })
        .collect();
    let deposited = results.len() - refusals.len();
    if deposited == 0 {
        return Err(nothing_deposited(refusals, &results)?);
    }
    Ok(HttpResponse::Ok().json(BatchDepositDto {
        deposited,
        refused: refusals.len(),
        results,
    }))
}

/// A batch of which no file went in is refused as a whole: with the
/// files' error when it is the same for all, and each file's outcome
/// beside.
fn nothing_deposited(refusals: Vec<ApiError>, results: &[BatchOutcomeDto]) -> Result<ApiError, ApiError> {
    let files = results.len();
    let mut refusals = refusals.into_iter();
    let first = refusals
        .next()
        .ok_or_else(|| ApiError::internal("a batch with no file was deposited"))?;
    let error = if refusals.all(|other| other.parts() == first.parts()) {
        first
    } else {
        ApiError::new(
            Code::BatchRefused,
            format!("none of the {files} files of the batch was archived; each one's reason is in 'results'"),
        )
    };
    let results = serde_json::to_value(results).map_err(ApiError::internal)?;
    Ok(error.with_member("results", results))
}

/// Adds a version.
#[utoipa::path(post, path = "/api/v1/records/{ref}/versions", tag = "records",
    params(("ref" = String, Path, description = "reference or id")),
    request_body(content((crate::wire::VersionFormDto = "multipart/form-data")), description = "part `file`"),
    responses((status = 201, body = RecordDto), (status = 400), (status = 403, description = "the role may not deposit in the record's node"), (status = 404), (status = 410, description = "destroyed or transferred"), (status = 413), (status = 422)))]
pub async fn add_version(
    req: HttpRequest,
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let parts = read_parts(&req, &archive, payload).await?;
    if parts.metadata.is_some() {
        return Err(ApiError::new(
            Code::InvalidMultipart,
            "a new version takes only a 'file' part",
        ));
    }
    let upload = parts.upload.ok_or_else(missing_file)?;
    let (record, details, repaired) = web::block(move || {
        let (record, repaired) = archive.add_version_reporting(&caller.0, &key, upload)?;
        let details = archive.details(&caller.0, &record)?;
        Ok::<_, ArchiveError>((record, details, repaired))
    })
    .await??;
    let mut answer = RecordDto::new(&record, &details, None);
    answer.repaired = repaired;
    Ok(HttpResponse::Created().json(answer))
}

/// A record's metadata, versions and history.
#[utoipa::path(get, path = "/api/v1/records/{ref}", tag = "records",
    params(("ref" = String, Path, description = "reference or id")),
    responses((status = 200, body = RecordDto), (status = 404), (status = 410, description = "record_destroyed, with the tombstone")))]
pub async fn show(
    req: HttpRequest,
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let from = super::peer_address(&req);
    let (record, details, text) = web::block(move || {
        let record = archive.record(&caller.0, &key)?;
        archive.note_reading(&caller.0, &record, Reading::Detail, None, &from)?;
        let details = archive.details(&caller.0, &record)?;
        let text = archive.text_status(&caller.0, &record.id)?;
        Ok::<_, ArchiveError>((record, details, text))
    })
    .await??;
    let dto = RecordDto::new(&record, &details, text);
    if let Some(tombstone) = &record.tombstone {
        // Gone: the answer says so, and carries the tombstone.
        let (code, message) = match &tombstone.transferred_to {
            Some(archives) => (
                Code::RecordTransferred,
                format!(
                    "record {} was transferred to the archives (their reference {archives}) by transfer {}; only its tombstone remains here",
                    record.reference, tombstone.disposal
                ),
            ),
            None => (
                Code::RecordDestroyed,
                format!(
                    "record {} was destroyed by disposal {}; only its tombstone remains",
                    record.reference, tombstone.disposal
                ),
            ),
        };
        let dto = serde_json::to_value(&dto).map_err(ApiError::internal)?;
        return Err(ApiError::new(code, message).with_member("tombstone", dto));
    }
    Ok(HttpResponse::Ok().json(dto))
}

/// Changes a record's description or classification (archivist), with a
/// reason; journaled with the previous values.
#[utoipa::path(patch, path = "/api/v1/records/{ref}", tag = "records",
    params(("ref" = String, Path, description = "reference, alias or id")),
    request_body = RecordPatchDto,
    responses((status = 200, body = RecordDto), (status = 400), (status = 403), (status = 404), (status = 409, description = "a legal hold freezes it (record_held)"), (status = 410, description = "destroyed or transferred"), (status = 413, description = "a body over 1 MiB"), (status = 422)))]
pub async fn update(
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = super::read_body(body, METADATA_PART_MAX, "a record change").await?;
    let patch: RecordPatchDto = serde_json::from_slice(&body)
        .map_err(|e| ApiError::new(Code::InvalidJson, format!("the body is not a record change: {e}")))?;
    let (record, details) = web::block(move || {
        let record = archive.update(&caller.0, &key, patch.into())?;
        let details = archive.details(&caller.0, &record)?;
        Ok::<_, ArchiveError>((record, details))
    })
    .await??;
    Ok(HttpResponse::Ok().json(RecordDto::new(&record, &details, None)))
}

/// The records the caller may read that hold this content already (a
/// file's SHA-256, 64 hex digits): whether a file is archived, without
/// sending it.
#[utoipa::path(get, path = "/api/v1/contents/{sha256}", tag = "records",
    params(("sha256" = String, Path, pattern = "^(sha256:)?[0-9a-fA-F]{64}$", description = "the content's SHA-256, 64 hex digits")),
    responses((status = 200, body = crate::wire::HoldersDto), (status = 422)))]
pub async fn holders(caller: Caller, archive: Data<Archive>, sha: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let text = sha.into_inner();
    let digest = crate::domain::hash::Sha256::parse(text.trim_start_matches("sha256:")).map_err(|_| {
        ArchiveError::from(crate::domain::record::InvalidInput::new(
            "sha256",
            "a content's digest is 64 hexadecimal digits (as sha256sum prints it)",
        ))
    })?;
    let found = web::block(move || archive.holders(&caller.0, &digest)).await??;
    Ok(HttpResponse::Ok().json(crate::wire::HoldersDto {
        sha256: digest.hex(),
        records: found
            .into_iter()
            .map(|(reference, title)| crate::wire::HolderDto {
                reference: reference.to_string(),
                title,
            })
            .collect(),
    }))
}

/// Always refused: records leave only through a disposal.
#[utoipa::path(delete, path = "/api/v1/records/{ref}", tag = "records",
    params(("ref" = String, Path, description = "reference or id")),
    responses((status = 409, description = "retention_forbids_delete"), (status = 404)))]
pub async fn delete(caller: Caller, archive: Data<Archive>, key: web::Path<String>) -> Result<HttpResponse, ApiError> {
    web::block(move || archive.delete(&caller.0, &key)).await??;
    Err(ApiError::from(ArchiveError::DeleteForbidden))
}

/// `?version=N`.
#[derive(Deserialize)]
pub struct ContentQuery {
    version: Option<u32>,
}

/// A record version's bytes, with ETag, Content-Disposition and ranges.
#[utoipa::path(get, path = "/api/v1/records/{ref}/content", tag = "records",
    params(("ref" = String, Path, description = "reference or id"), ("version" = Option<u32>, Query, description = "version number; the latest by default")),
    responses((status = 200, description = "the content"), (status = 206, description = "a range of it"), (status = 304), (status = 404), (status = 409, description = "the content is damaged and no good copy is left (content_damaged)"), (status = 410, description = "the record was destroyed or transferred (record_destroyed, record_transferred)"), (status = 416)))]
pub async fn content(
    req: HttpRequest,
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    query: web::Query<ContentQuery>,
) -> Result<HttpResponse, ApiError> {
    serve_content(
        req,
        caller.0,
        archive,
        key.into_inner(),
        query.version,
        Presentation::Attachment,
    )
    .await
}

/// The searchable PDF/A the archive made of a scanned version (the latest
/// by default), kept next to it.
#[utoipa::path(get, path = "/api/v1/records/{ref}/rendition", tag = "records",
    params(("ref" = String, Path, description = "reference or id"), ("version" = Option<u32>, Query, description = "version number; the latest by default")),
    responses((status = 200, description = "the PDF/A"), (status = 404, description = "no such record, or the version has no rendition (rendition_not_found)"), (status = 410, description = "the record was destroyed or transferred")))]
pub async fn rendition(
    req: HttpRequest,
    caller: Caller,
    archive: Data<Archive>,
    key: web::Path<String>,
    query: web::Query<ContentQuery>,
) -> Result<HttpResponse, ApiError> {
    serve_rendition(req, caller.0, archive, key.into_inner(), query.version).await
}

/// A rendition's bytes, checked against their digest as they are sent,
/// for the API and the pages alike: shown in the page, named after the
/// record.
pub(crate) async fn serve_rendition(
    req: HttpRequest,
    actor: crate::archive::Actor,
    archive: Data<Archive>,
    key: String,
    version: Option<u32>,
) -> Result<HttpResponse, ApiError> {
    let from = super::peer_address(&req);
    let (record, rendition, reader) = web::block(move || {
        let archive = archive.into_inner();
        let (record, rendition, reader) = archive.rendition(&actor, &key, version)?;
        archive.note_reading(&actor, &record, Reading::Content, Some(rendition.version), &from)?;
        Ok::<_, ArchiveError>((record, rendition, reader))
    })
    .await??;
    let name = format!("{}-v{}-recherchable.pdf", record.reference, rendition.version);
    Ok(HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", rendition.sha256.hex())))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Inline,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .insert_header((header::CACHE_CONTROL, "private, max-age=0, must-revalidate"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "frame-ancestors 'self'"))
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .body(super::stream_from(reader, 0, rendition.size)))
}

/// How a browser is told to present content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Presentation {
    /// Saved as a file.
    Attachment,
    /// Shown in the page (a preview), for the types a browser shows
    /// without running anything of the document's: PDF, raster images and
    /// plain text. Anything else is still saved as a file.
    Inline,
}

/// Media types a preview may show inline.
fn shown_inline(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/pdf" | "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "text/plain"
    )
}

/// A record version's bytes, with ETag, Content-Disposition and ranges,
/// for the API and the pages alike.
pub(crate) async fn serve_content(
    req: HttpRequest,
    actor: crate::archive::Actor,
    archive: Data<Archive>,
    key: String,
    version: Option<u32>,
    presentation: Presentation,
) -> Result<HttpResponse, ApiError> {
    let from = super::peer_address(&req);
    // A range reads part of the content: it is checked whole first.
    let partial = req.headers().contains_key(header::RANGE);
    let (found, path, reader, size) = web::block(move || {
        let archive = archive.into_inner();
        let (record, found, reader, size) = archive.content_to_serve(&actor, &key, version, partial)?;
        archive.note_reading(&actor, &record, Reading::Content, Some(found.number), &from)?;
        let details = archive.details(&actor, &record)?;
        let index = record
            .versions
            .iter()
            .position(|v| v.number == found.number)
            .unwrap_or(0);
        let path = details.canonical_paths.get(index).cloned().unwrap_or_default();
        Ok::<_, ArchiveError>((found, path, reader, size))
    })
    .await??;
    let etag = format!("\"{}\"", found.sha256.hex());
    let name = file_name_of(&path).to_owned();
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, etag.clone()))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header(ContentDisposition {
            disposition: if presentation == Presentation::Inline && shown_inline(&found.media_type) {
                DispositionType::Inline
            } else {
                DispositionType::Attachment
            },
            parameters: vec![DispositionParam::Filename(name)],
        })
        .insert_header((header::CACHE_CONTROL, "private, max-age=0, must-revalidate"))
        // Archived content is never the site's own: it runs nothing here.
        // (Chromium's PDF viewer refuses sandboxed documents, so a PDF is
        // only kept from being framed by other sites.)
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            if found.media_type == "application/pdf" {
                "frame-ancestors 'self'"
            } else {
                "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'self'"
            },
        ));
    if let Ok(v) = HeaderValue::from_str(&found.media_type) {
        response.insert_header((header::CONTENT_TYPE, v));
    }
    let header_text = |name| req.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    if header_text(header::IF_NONE_MATCH).is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*")) {
        return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
    }
    let if_range_ok = header_text(header::IF_RANGE).is_none_or(|v| v.trim() == etag);
    let mut start = 0;
    let mut length = size;
    if let Some(range) = header_text(header::RANGE).filter(|_| if_range_ok) {
        match range.parse::<Range>() {
            Ok(Range::Bytes(specs)) if specs.len() == 1 => match satisfiable(&specs[0], size) {
                Some((first, last)) => {
                    start = first;
                    length = last - first + 1;
                    response
                        .status(StatusCode::PARTIAL_CONTENT)
                        .insert_header((header::CONTENT_RANGE, format!("bytes {first}-{last}/{size}")));
                }
                None => {
                    let mut refused = ApiError::new(
                        Code::RangeNotSatisfiable,
                        format!("the range {range:?} is outside the content's {size} bytes"),
                    )
                    .error_response();
                    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                        refused.headers_mut().insert(header::CONTENT_RANGE, v);
                    }
                    return Ok(refused);
                }
            },
            // Several ranges, or a unit other than bytes: RFC 9110 lets a
            // server ignore Range and send the whole content.
            _ => {}
        }
    }
    Ok(response.body(super::stream_from(reader, start, length)))
}

/// The first and last byte of a range within `size` bytes, if any.
fn satisfiable(spec: &ByteRangeSpec, size: u64) -> Option<(u64, u64)> {
    spec.to_satisfiable_range(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_clamped_to_the_content() {
        let parse = |s: &str| match s.parse::<Range>().unwrap() {
            Range::Bytes(v) => v[0].clone(),
            Range::Unregistered(..) => panic!("not bytes"),
        };
        assert_eq!(satisfiable(&parse("bytes=0-9"), 100), Some((0, 9)));
        assert_eq!(satisfiable(&parse("bytes=90-"), 100), Some((90, 99)));
        assert_eq!(satisfiable(&parse("bytes=-10"), 100), Some((90, 99)));
        assert_eq!(satisfiable(&parse("bytes=95-200"), 100), Some((95, 99)));
        assert_eq!(satisfiable(&parse("bytes=100-"), 100), None);
    }
}
