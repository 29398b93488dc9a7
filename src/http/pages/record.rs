//! A record's page: its description and plan fields, its retention in a
//! sentence, its holds, versions to download, a preview, its history; and
//! its content and accusé de dépôt for the browser.

use super::{Frame, PageError, Signed, french, html};
use crate::archive::{Archive, ArchiveError, RecordDetails};
use crate::domain::record::Record;
use crate::domain::retention::RetentionStatus;
use crate::domain::search::TextStatus;
use crate::domain::trail::Reading;
use crate::http::records::{Presentation, serve_content};
use actix_web::http::StatusCode;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::{self, Data};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use askama::Template;
use serde::Deserialize;
use std::io::Read;

/// The most text a preview shows of a plain-text document.
const TEXT_PREVIEW_MAX: u64 = 64 * 1024;

/// The most characters a preview shows of the text read from other
/// documents (office files, e-mails, HTML).
const EXTRACTED_PREVIEW_MAX: usize = 20_000;

/// What the browser shows itself, rather than the text read from it.
fn shown_by_the_browser(media_type: &str) -> bool {
    matches!(
        media_type,
        "application/pdf" | "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// A version as the page lists it.
pub struct VersionView {
    number: u32,
    filename: String,
    media_type: String,
    size: String,
    sha256: String,
    download_href: String,
    /// Its content failed its check: no download.
    damaged: bool,
    /// Where its searchable PDF/A is, when the archive made one (a scan).
    rendition_href: Option<String>,
}

/// An entry of the record's history.
pub struct HistoryView {
    time: String,
    what: String,
    actor: String,
}

/// What the page previews of the latest version.
pub struct PreviewView {
    /// `pdf`, `image` or `text`.
    kind: &'static str,
    href: String,
    text: String,
}

#[derive(Template)]
#[template(path = "record.html")]
struct RecordPage {
    frame: Frame,
    reference: String,
    title: String,
    node: String,
    node_label: String,
    date: String,
    date_iso: String,
    /// Where the date came from, when the depositor gave none.
    dated: Option<String>,
    /// The capture channel it came through, said to a reader.
    channel: Option<String>,
    /// Probable duplicates: (reference, title).
    duplicates: Vec<(String, String)>,
    /// The fields that make them duplicates, as a phrase.
    duplicate_fields: String,
    /// The records linked to it and from it that the reader may read:
    /// (how, as a phrase, reference, title).
    links: Vec<(String, String, String)>,
    /// How many more are linked to it than are listed.
    linked_more: usize,
    service: Option<String>,
    document_type: Option<String>,
    fields: Vec<(String, String)>,
    created: String,
    created_by: String,
    text_status: String,
    retention_standing: Option<String>,
    retention_rule: Option<String>,
    holds: Vec<u64>,
    versions: Vec<VersionView>,
    downloadable: bool,
    attestation_href: String,
    /// Whether the person may download the record's proofs (auditors).
    auditor: bool,
    preview: Option<PreviewView>,
    history: Vec<HistoryView>,
    damage: Option<String>,
    tombstone: Option<String>,
    /// Where it stands in its processing circuit, with the move form.
    circuit: Option<super::circuits::CircuitPanel>,
    /// A move was just recorded.
    advanced: bool,
}

fn text_status(status: Option<&TextStatus>) -> String {
    match status {
        None => "en attente d'indexation".into(),
        Some(s) => match &s.error {
            Some(why) => format!("texte non lu ({why})"),
            None => format!("texte lu par {} ({} caractères)", s.extractor, s.chars),
        },
    }
}

/// Everything the page needs, read on a blocking thread.
struct Loaded {
    /// Versions whose content is damaged, and what was found.
    damaged: Vec<(u32, String)>,
    /// The record's fields, labelled and formatted by their type in the plan.
    fields: Vec<(String, String)>,
    record: Record,
    details: RecordDetails,
    text: Option<TextStatus>,
    node_label: String,
    /// The text to preview, and whether it was read from a document of
    /// another kind (rather than being the document itself).
    preview_text: Option<(String, bool)>,
    /// The node's duplicate fields, as a phrase.
    duplicate_fields: String,
}

fn load(archive: &Archive, actor: &crate::archive::Actor, key: &str) -> Result<Loaded, ArchiveError> {
    let record = archive.record(actor, key)?;
    let details = archive.details(actor, &record)?;
    let text = archive.text_status(actor, &record.id)?;
    let plan = archive.plan(actor, None)?;
    let node_label = plan
        .plan
        .node(&record.node)
        .map(|n| n.title.clone())
        .unwrap_or_else(|| record.node.to_string());
    let lineage = plan.plan.lineage(&record.node);
    let kind_of = |name: &str| {
        lineage
            .iter()
            .flat_map(|n| n.fields.iter())
            .find(|f| f.name == name)
            .map(|f| &f.kind)
    };
    let fields = record
        .fields
        .iter()
        .map(|(name, value)| {
            (
                french::field_label(name),
                french::field_value(kind_of(name), name, value),
            )
        })
        .collect();
    let damaged = archive.damaged_versions(&record);
    let latest = record.versions.last();
    let preview_text = match latest {
        Some(v)
            if v.media_type == "text/plain"
                && record.tombstone.is_none()
                && !damaged.iter().any(|(n, _)| *n == v.number) =>
        {
            let (_, _, reader, _) = archive.content(actor, record.reference.as_str(), Some(v.number))?;
            let mut bytes = Vec::new();
            reader.take(TEXT_PREVIEW_MAX).read_to_end(&mut bytes)?;
            Some((String::from_utf8_lossy(&bytes).into_owned(), false))
        }
        // Other documents: the text read from them for search.
        Some(v) if !shown_by_the_browser(&v.media_type) && !damaged.iter().any(|(n, _)| *n == v.number) => archive
            .extracted_text(actor, &record, EXTRACTED_PREVIEW_MAX)?
            .filter(|text| !text.trim().is_empty())
            .map(|text| (text, true)),
        _ => None,
    };
    let duplicate_fields = french::and_list(
        &plan
            .plan
            .duplicate_fields_for(&record.node)
            .iter()
            .map(|name| french::field_words(name))
            .collect::<Vec<_>>(),
    );
    Ok(Loaded {
        damaged,
        fields,
        record,
        details,
        text,
        node_label,
        preview_text,
        duplicate_fields,
    })
}

/// A record's page.
pub async fn page(
    req: HttpRequest,
    signed: Signed,
    archive: Data<Archive>,
    key: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let actor = signed.actor.clone();
    let key = key.into_inner();
    let from = crate::http::peer_address(&req);
    let loaded = web::block(move || {
        let loaded = load(&archive, &actor, &key)?;
        archive.note_reading(&actor, &loaded.record, Reading::Detail, None, &from)?;
        Ok::<_, ArchiveError>(loaded)
    })
    .await??;
    let Loaded {
        damaged,
        fields,
        record,
        details,
        text,
        node_label,
        preview_text,
        duplicate_fields,
    } = loaded;
    let reference = record.reference.to_string();
    let base = format!("/documents/{reference}");
    let today = chrono::Utc::now().date_naive();
    let (retention_standing, retention_rule) = match &details.retention {
        Some(retention) => {
            let status = details.status.unwrap_or_else(|| retention.status(today));
            (
                Some(french::standing(retention, status, record.node.as_str())),
                (status != RetentionStatus::Permanent).then(|| french::rule(retention)),
            )
        }
        None => (None, None),
    };
    let tombstone = record.tombstone.as_ref().map(|t| match &t.transferred_to {
        Some(archives) => {
            format!("Ce document a été versé aux archives (leur référence : {archives}) ; seule sa trace demeure ici.")
        }
        None => format!(
            "Ce document a été éliminé (élimination n° {}) ; seule sa trace demeure ici.",
            t.disposal
        ),
    });
    let downloadable = tombstone.is_none();
    let versions = record
        .versions
        .iter()
        .enumerate()
        .map(|(i, v)| VersionView {
            number: v.number,
            filename: details
                .canonical_paths
                .get(i)
                .map(|p| crate::archive::file_name_of(p).to_owned())
                .unwrap_or_default(),
            media_type: v.media_type.clone(),
            size: french::size(v.size),
            sha256: v.sha256.hex(),
            download_href: format!("{base}/contenu?version={}", v.number),
            damaged: damaged.iter().any(|(n, _)| *n == v.number),
            rendition_href: record
                .renditions
                .iter()
                .any(|r| r.version == v.number)
                .then(|| format!("{base}/recherchable?version={}", v.number)),
        })
        .collect();
    let damage = (!damaged.is_empty()).then(|| {
        let which: Vec<String> = damaged
            .iter()
            .map(|(n, problem)| format!("version {n} : {problem}"))
            .collect();
        format!(
            "Le contenu de ce document est endommagé ({}) et aucune copie intacte n'a pu le remplacer. \
             Il n'est pas proposé au téléchargement : prévenez l'archiviste, qui fera restaurer une copie \
             intacte ou déposer à nouveau le fichier d'origine.",
            which.join(" ; ")
        )
    });
    let latest_damaged = record
        .versions
        .last()
        .is_some_and(|v| damaged.iter().any(|(n, _)| *n == v.number));
    let preview = match record.versions.last() {
        _ if !downloadable || latest_damaged => None,
        Some(v) if v.media_type == "application/pdf" => Some(PreviewView {
            kind: "pdf",
            href: format!("{base}/contenu?version={}&affichage=apercu", v.number),
            text: String::new(),
        }),
        Some(v)
            if matches!(
                v.media_type.as_str(),
                "image/png" | "image/jpeg" | "image/gif" | "image/webp"
            ) =>
        {
            Some(PreviewView {
                kind: "image",
                href: format!("{base}/contenu?version={}&affichage=apercu", v.number),
                text: String::new(),
            })
        }
        _ => preview_text.map(|(text, read_from)| PreviewView {
            kind: if read_from { "extracted" } else { "text" },
            href: String::new(),
            text,
        }),
    };
    let history = record
        .history
        .iter()
        .rev()
        .map(|h| HistoryView {
            time: french::time(h.time),
            what: french::event_kind(&h.kind),
            actor: french::actor(&h.actor),
        })
        .collect();
    let view = RecordPage {
        frame: signed.frame(format!("{reference} – {}", record.title), "search"),
        title: if record.title.trim().is_empty() {
            reference.clone()
        } else {
            record.title.clone()
        },
        node: record.node.to_string(),
        node_label,
        date: french::date(record.date),
        date_iso: record.date.to_string(),
        dated: record.dated.as_ref().map(french::dating),
        channel: record.channel.as_deref().map(french::channel),
        duplicates: details
            .probable_duplicates
            .iter()
            .map(|(reference, title)| (reference.to_string(), title.clone()))
            .collect(),
        duplicate_fields,
        links: details
            .links
            .shown
            .iter()
            .map(|l| {
                (
                    french::capitalised(french::link(l.kind, l.from_the_other)),
                    l.reference.to_string(),
                    l.title.clone(),
                )
            })
            .collect(),
        linked_more: details
            .links
            .linked_here
            .saturating_sub(details.links.shown.iter().filter(|l| l.from_the_other).count()),
        service: record.service.clone(),
        document_type: record.document_type.clone(),
        fields,
        created: french::time(record.created_at),
        created_by: french::actor(&record.created_by),
        text_status: text_status(text.as_ref()),
        retention_standing,
        retention_rule,
        holds: details.holds.clone(),
        versions,
        downloadable,
        attestation_href: format!("{base}/accuse-de-depot"),
        auditor: signed.actor.role.allows(crate::domain::role::Permission::Audit),
        preview,
        history,
        damage,
        tombstone,
        circuit: details
            .circuit
            .as_ref()
            .map(|view| super::circuits::CircuitPanel::new(&record, view)),
        advanced: req.query_string().split('&').any(|pair| pair == "avance=1"),
        reference,
    };
    Ok(html(StatusCode::OK, &view))
}

/// `?version=&affichage=apercu`.
#[derive(Deserialize)]
pub struct ContentParams {
    version: Option<u32>,
    #[serde(default)]
    affichage: String,
}

/// A version's content, to save (or to preview in the page).
pub async fn content(
    req: HttpRequest,
    signed: Signed,
    archive: Data<Archive>,
    key: web::Path<String>,
    params: web::Query<ContentParams>,
) -> HttpResponse {
    let presentation = if params.affichage == "apercu" {
        Presentation::Inline
    } else {
        Presentation::Attachment
    };
    as_page(
        serve_content(
            req,
            signed.actor,
            archive,
            key.into_inner(),
            params.version,
            presentation,
        )
        .await,
    )
}

/// Bytes served as the API serves them, or its error as a page: the API's
/// error names the code; the person reads a page.
fn as_page(served: Result<HttpResponse, crate::http::ApiError>) -> HttpResponse {
    served.unwrap_or_else(|e| {
        let (code, message) = e.parts();
        PageError::Api(code, message.to_owned()).error_response()
    })
}

/// The searchable PDF/A the archive made of a scanned version, shown by
/// the browser.
pub async fn rendition(
    req: HttpRequest,
    signed: Signed,
    archive: Data<Archive>,
    key: web::Path<String>,
    params: web::Query<ContentParams>,
) -> HttpResponse {
    as_page(crate::http::records::serve_rendition(req, signed.actor, archive, key.into_inner(), params.version).await)
}

/// The accusé de dépôt, to save: what was deposited, when, by whom, and
/// the proof that the journal holds it.
pub async fn attestation(
    signed: Signed,
    archive: Data<Archive>,
    key: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let attestation = web::block(move || archive.attestation(&signed.actor, &key, None)).await??;
    let name = format!("accuse-de-depot-{}.html", attestation.reference);
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .body(crate::documents::attestation_html(&attestation)))
}

/// A record's events with their inclusion proofs against the latest seal
/// (JSON, as `coffre audit proof` gives it), for auditors to keep or check.
pub async fn proof(signed: Signed, archive: Data<Archive>, key: web::Path<String>) -> Result<HttpResponse, PageError> {
    signed
        .actor
        .require(crate::domain::role::Permission::Audit, "lire les preuves du journal")
        .map_err(PageError::Archive)?;
    let proof = web::block(move || archive.record_proof(&signed.actor, &key)).await??;
    let body = serde_json::to_string_pretty(&proof).map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(format!("preuve-{}.json", proof.reference))],
        })
        .body(body))
}
