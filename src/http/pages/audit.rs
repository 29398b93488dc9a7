//! The auditors' pages: the integrity dashboard (the last whole check, the
//! fixity job and what it found, the seals), a whole check run and followed
//! from the page, and the journal browser. Auditors only read here: the
//! only changes these pages make are starting a check (which the journal
//! records) and nothing else.

use super::{Frame, PageError, Signed, french, html};
use crate::archive::{Archive, ArchiveError};
use crate::archive::{JournalFilter, JournalPage};
use crate::config::FixitySchedule;
use crate::domain::event::Event;
use crate::domain::role::Permission;
use crate::jobs::{JobState, VerifyJobs};
use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::web::{self, Data};
use askama::Template;
use serde::Deserialize;

/// Seals the dashboard lists, newest first.
const SEALS_SHOWN: usize = 10;

/// Events a journal page shows.
const JOURNAL_PAGE: usize = 50;

/// A finding of the fixity job, with the records it touches.
pub struct FindingView {
    blob: String,
    problem: &'static str,
    records: Vec<String>,
}

/// A seal, as the dashboard lists it.
pub struct SealView {
    seq: u64,
    sealed_at: String,
    tree_size: u64,
    stamped: bool,
    key: String,
}

/// The last whole check, in words.
pub struct VerificationView {
    when: String,
    by: String,
    through_seq: u64,
    events: String,
    blobs: String,
    failures: u64,
}

/// A copy of the archive (a folder, a bucket), as the page shows it.
struct CopyView {
    store: String,
    journal: String,
    contents: String,
    last: String,
    error: Option<String>,
}

/// A replica's following of its copy, as the page shows it.
struct FollowView {
    from: String,
    applied: String,
    checked: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "control.html")]
struct ControlPage {
    copies: Vec<CopyView>,
    following: Option<FollowView>,
    frame: Frame,
    verification: Option<VerificationView>,
    fixity_state: &'static str,
    fixity_rate: String,
    fixity_run: Option<String>,
    fixity_last: Option<String>,
    fixity_next: Option<String>,
    findings: Vec<FindingView>,
    seals: Vec<SealView>,
    journal_head: u64,
}

/// Refuses the pages to whoever may not audit, before any work.
fn require_audit(signed: &Signed) -> Result<(), PageError> {
    signed
        .actor
        .require(Permission::Audit, "consulter les contrôles d'intégrité")
        .map_err(PageError::Archive)
}

/// The integrity dashboard.
pub async fn dashboard(
    signed: Signed,
    archive: Data<Archive>,
    schedule: Data<FixitySchedule>,
) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    let actor = signed.actor.clone();
    let rate = schedule.rate;
    let (verification, status, seals, head, copies, following) = web::block(move || {
        let verification = archive.last_verification(&actor)?;
        let status = archive.fixity_status(&schedule);
        let seals = archive.seals(&actor)?;
        let head = archive.journal_head();
        Ok::<_, ArchiveError>((
            verification,
            status,
            seals,
            head,
            archive.copy_status(),
            archive.follow_status(),
        ))
    })
    .await??;
    let copies = copies
        .into_iter()
        .map(|c| CopyView {
            journal: if c.lag_events == 0 {
                format!("à jour (n° {})", c.journal_through_seq)
            } else {
                format!(
                    "{} de retard (jusqu'au n° {})",
                    french::count(c.lag_events, "événement", "événements"),
                    c.journal_through_seq
                )
            },
            contents: match (c.contents_owed, c.contents_complete) {
                (0, true) => "tous".to_owned(),
                (0, false) => "complétés en arrière-plan".to_owned(),
                (owed, _) => format!(
                    "{} à écrire dès que possible",
                    french::count(owed, "contenu", "contenus")
                ),
            },
            last: c.last_copied_at.map_or_else(|| "pas encore".to_owned(), french::time),
            error: c.error,
            store: c.store,
        })
        .collect();
    let following = following.map(|f| FollowView {
        applied: if f.lag_events == 0 {
            format!("à jour (n° {})", f.applied_seq)
        } else {
            format!(
                "{} de retard (n° {} appliqué, n° {} dans la copie)",
                french::count(f.lag_events, "événement", "événements"),
                f.applied_seq,
                f.source_seq
            )
        },
        checked: f.checked_at.map_or_else(|| "pas encore".to_owned(), french::time),
        error: f.error,
        from: f.from,
    });
    let detail = &status.detail;
    let findings = detail
        .run
        .iter()
        .flat_map(|r| r.findings.iter())
        .chain(detail.last.iter().flat_map(|l| l.findings.iter()))
        .map(|f| FindingView {
            blob: f.blob.hex(),
            problem: if f.problem == "corrupt" {
                "altéré (ses octets ne correspondent plus à son empreinte)"
            } else {
                "manquant"
            },
            records: f.used_by.clone(),
        })
        .collect();
    let page = ControlPage {
        copies,
        following,
        frame: signed.frame("Contrôle d'intégrité", "control"),
        verification: verification.map(|v| VerificationView {
            when: french::time(v.time),
            by: french::actor(&v.actor),
            through_seq: v.through_seq,
            events: french::count(v.events_checked, "événement", "événements"),
            blobs: format!(
                "{} ({})",
                french::count(v.blobs_checked, "contenu", "contenus"),
                french::size(v.bytes_checked)
            ),
            failures: v.failures,
        }),
        fixity_state: match status.state {
            "running" => "en cours",
            "paused" => "en pause",
            _ => "en attente du prochain passage",
        },
        fixity_rate: format!("{} par seconde au plus", french::size(rate)),
        fixity_run: detail.run.as_ref().map(|r| {
            format!(
                "commencé le {} : {} sur {} contenus vérifiés ({})",
                french::time(r.started_at),
                r.blobs_checked,
                r.blobs_total,
                french::size(r.bytes_checked)
            )
        }),
        fixity_last: detail.last.as_ref().map(|l| {
            format!(
                "du {} au {} : {} ({}), {}",
                french::time(l.started_at),
                french::time(l.finished_at),
                french::count(l.blobs_checked, "contenu vérifié", "contenus vérifiés"),
                french::size(l.bytes_checked),
                french::count(l.findings.len() as u64, "défaut", "défauts")
            )
        }),
        fixity_next: status.next_due.map(french::time),
        findings,
        seals: seals
            .iter()
            .rev()
            .take(SEALS_SHOWN)
            .map(|s| SealView {
                seq: s.seq,
                sealed_at: french::time(s.sealed_at),
                tree_size: s.tree_size,
                stamped: s.timestamp.is_some(),
                key: s.public_key.chars().take(16).collect(),
            })
            .collect(),
        journal_head: head,
    };
    Ok(html(StatusCode::OK, &page))
}

/// `csrf=`: a form's token.
#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
}

/// Starts a whole integrity check and goes to its page.
pub async fn start_verification(
    signed: Signed,
    archive: Data<Archive>,
    jobs: Data<VerifyJobs>,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, PageError> {
    signed.check_form(&form.csrf)?;
    require_audit(&signed)?;
    let (id, _) = jobs
        .into_inner()
        .start(archive.into_inner(), signed.actor.clone())
        .map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, format!("/controle/verification/{id}")))
        .finish())
}

#[derive(Template)]
#[template(path = "verification.html")]
struct VerificationPage {
    frame: Frame,
    id: u64,
    running: bool,
    phase: String,
    done: u64,
    total: u64,
    passed: bool,
    summary: String,
    failures: Vec<String>,
    error: Option<String>,
}

/// A whole check: its progress while it runs (the page reloads itself
/// every two seconds, without script), then its report.
pub async fn verification(
    signed: Signed,
    jobs: Data<VerifyJobs>,
    id: web::Path<u64>,
) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    let id = id.into_inner();
    let job = jobs.get(id).ok_or_else(|| {
        PageError::Api(
            crate::errors::Code::JobNotFound,
            format!("aucun contrôle n° {id} n'est connu de ce service (il a peut-être redémarré depuis)"),
        )
    })?;
    let (phase, done, total) = job.progress.snapshot();
    let phase = match phase.as_str() {
        "journal" => "le journal",
        "blobs" => "les contenus",
        "catalog" => "le catalogue",
        other => other,
    }
    .to_owned();
    let mut page = VerificationPage {
        frame: signed.frame("Contrôle d'intégrité complet", "control"),
        id,
        running: false,
        phase,
        done,
        total,
        passed: false,
        summary: String::new(),
        failures: Vec::new(),
        error: None,
    };
    match job.state {
        JobState::Running => page.running = true,
        JobState::Done(report) => {
            page.passed = report.passed();
            page.summary = format!(
                "{} jusqu'au n° {}, {}, {} ({}) recalculés, {} comparés au journal",
                french::count(report.events_checked, "événement du journal", "événements du journal"),
                report.through_seq,
                french::count(report.seals_checked, "sceau", "sceaux"),
                french::count(report.blobs_checked, "contenu", "contenus"),
                french::size(report.bytes_checked),
                french::count(report.records_checked, "document", "documents"),
            );
            page.failures = report.failures.iter().map(ToString::to_string).collect();
        }
        JobState::Failed(e) => page.error = Some(e),
    }
    let mut answer = html(StatusCode::OK, &page);
    if page.running {
        answer
            .headers_mut()
            .insert(header::REFRESH, header::HeaderValue::from_static("2"));
    }
    Ok(answer)
}

/// `?document=&personne=&type=&du=&au=&apres=`.
#[derive(Debug, Default, Deserialize)]
pub struct JournalParams {
    #[serde(default)]
    document: String,
    #[serde(default)]
    personne: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    du: String,
    #[serde(default)]
    au: String,
    apres: Option<u64>,
}

/// An event as the journal page lists it.
pub struct EventView {
    seq: u64,
    time: String,
    actor: String,
    what: String,
    kind: String,
    record: Option<String>,
    hash: String,
    seal: String,
}

/// An event kind offered in the filter.
pub struct KindChoice {
    value: &'static str,
    label: String,
}

#[derive(Template)]
#[template(path = "journal.html")]
struct JournalPageView {
    frame: Frame,
    document: String,
    personne: String,
    kind: String,
    du: String,
    au: String,
    kinds: Vec<KindChoice>,
    events: Vec<EventView>,
    problem: Option<String>,
    next_href: Option<String>,
    looked_through: u64,
    head: u64,
}

/// The kinds the filter offers: families first, then each kind.
const KINDS: [&str; 39] = [
    "record.",
    "hold.",
    "disposal.",
    "transfer.",
    "audit.",
    "account.",
    "record.ingested",
    "record.consulted",
    "access.refused",
    "version.added",
    "record.updated",
    "record.read",
    "record.verified",
    "record.rendered",
    "record.moved",
    "flow.acknowledged",
    "retention.reviewed",
    "retention.event_recorded",
    "hold.placed",
    "hold.lifted",
    "disposal.proposed",
    "disposal.lines",
    "disposal.abandoned",
    "disposal.approved",
    "disposal.destroyed",
    "disposal.executed",
    "transfer.proposed",
    "transfer.lines",
    "transfer.abandoned",
    "package.exported",
    "transfer.acknowledged",
    "plan.published",
    "journal.sealed",
    "fixity.checked",
    "blob.damaged",
    "blob.repaired",
    "copy.repaired",
    "archive.restored",
    "catalog.rebuilt",
];

fn kind_label(kind: &str) -> String {
    match kind {
        "record." => "Documents (tous les événements)".into(),
        "hold." => "Gels (tous)".into(),
        "disposal." => "Éliminations (toutes)".into(),
        "transfer." => "Versements (tous)".into(),
        "audit." => "Contrôles d'intégrité".into(),
        "account." => "Comptes (tous)".into(),
        "journal.sealed" => "Scellement du journal".into(),
        "fixity.checked" => "Contrôle planifié des contenus".into(),
        other => french::event_kind(other),
    }
}

/// The record an event concerns, when its payload names one.
fn record_of(event: &Event) -> Option<String> {
    ["reference", "record"]
        .iter()
        .find_map(|k| event.payload.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
}

/// The journal browser.
pub async fn journal(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<JournalParams>,
) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    let params = params.into_inner();
    let mut problem = None;
    let mut day = |text: &str, name: &str| -> Option<chrono::NaiveDate> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = french::parse_date(text);
        if parsed.is_none() {
            problem = Some(format!(
                "« {text} » n'est pas une date ({name}) : écrivez-la JJ/MM/AAAA."
            ));
        }
        parsed
    };
    let filter = JournalFilter {
        record: Some(params.document.trim().to_owned()).filter(|d| !d.is_empty()),
        actor: Some(params.personne.trim().to_owned()).filter(|p| !p.is_empty()),
        kind: Some(params.kind.trim().to_owned()).filter(|k| !k.is_empty()),
        from: day(&params.du, "du"),
        to: day(&params.au, "au"),
    };
    let filtered = filter != JournalFilter::default();
    let actor = signed.actor.clone();
    let apres = params.apres;
    let (page, seals): (JournalPage, Vec<crate::domain::seal::Seal>) = web::block(move || {
        // Unfiltered, the page opens on the latest events.
        let after = match apres {
            Some(after) => after,
            None if filtered => 0,
            None => archive.journal_head().saturating_sub(JOURNAL_PAGE as u64),
        };
        let page = archive.journal_page(&actor, &filter, after, JOURNAL_PAGE)?;
        let seals = archive.seals(&actor)?;
        Ok::<_, ArchiveError>((page, seals))
    })
    .await??;
    let seal_of = |seq: u64| match seals.iter().find(|s| s.tree_size >= seq) {
        Some(s) => format!("sceau n° {} du {}", s.seq, french::time(s.sealed_at)),
        None => "pas encore scellé".to_owned(),
    };
    let events = page
        .events
        .iter()
        .map(|e| EventView {
            seq: e.seq,
            time: french::time(e.time),
            actor: french::actor(&e.actor),
            what: kind_label(&e.kind),
            kind: e.kind.clone(),
            record: record_of(e),
            hash: e.hash.hex(),
            seal: seal_of(e.seq),
        })
        .collect();
    let next_href = page.next_after.map(|after| {
        let query = serde_urlencoded::to_string([
            ("document", params.document.as_str()),
            ("personne", params.personne.as_str()),
            ("type", params.kind.as_str()),
            ("du", params.du.as_str()),
            ("au", params.au.as_str()),
            ("apres", after.to_string().as_str()),
        ])
        .unwrap_or_default();
        format!("/journal?{query}")
    });
    let view = JournalPageView {
        frame: signed.frame("Journal", "journal"),
        kinds: KINDS
            .iter()
            .map(|k| KindChoice {
                value: k,
                label: kind_label(k),
            })
            .collect(),
        document: params.document,
        personne: params.personne,
        kind: params.kind,
        du: params.du,
        au: params.au,
        events,
        problem,
        next_href,
        looked_through: page.looked_through,
        head: page.head,
    };
    Ok(html(StatusCode::OK, &view))
}

/// `?document=REF` or `?personne=USER`, and `apres=SEQ` for the next
/// page.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConsultationParams {
    document: String,
    personne: String,
    apres: u64,
}

/// Readings shown on a page.
const READINGS_PER_PAGE: usize = 200;

/// One reading, as the page shows it.
pub struct ConsultationView {
    time: String,
    who: String,
    actor: String,
    reading: &'static str,
    reference: String,
    version: Option<u32>,
    from: String,
}

#[derive(Template)]
#[template(path = "consultations.html")]
struct ConsultationsPageView {
    frame: Frame,
    document: String,
    personne: String,
    asked: bool,
    problem: Option<String>,
    readings: Vec<ConsultationView>,
    /// Whether earlier readings were on pages before.
    later: bool,
    /// The next page, when this one is full.
    next_href: Option<String>,
}

/// Who read a record that holds personal data, or what a person read.
pub async fn consultations(
    signed: Signed,
    archive: Data<Archive>,
    params: web::Query<ConsultationParams>,
) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    let ConsultationParams {
        document,
        personne,
        apres,
    } = params.into_inner();
    let (record, person) = (document.trim().to_owned(), personne.trim().to_owned());
    let asked = !record.is_empty() || !person.is_empty();
    let mut problem = None;
    let mut readings = Vec::new();
    let mut next_href = None;
    if !record.is_empty() && !person.is_empty() {
        problem = Some("Cherchez par document ou par personne, l'un ou l'autre.".to_owned());
    } else if asked {
        let actor = signed.actor.clone();
        let found = web::block(move || {
            archive.consultations(
                &actor,
                Some(record.as_str()).filter(|r| !r.is_empty()),
                Some(person.as_str()).filter(|p| !p.is_empty()),
                apres,
                READINGS_PER_PAGE,
            )
        })
        .await?;
        match found {
            Ok(found) => {
                next_href = crate::domain::trail::next_after(&found, READINGS_PER_PAGE).map(|after| {
                    let query = serde_urlencoded::to_string([
                        ("document", document.as_str()),
                        ("personne", personne.as_str()),
                        ("apres", after.to_string().as_str()),
                    ])
                    .unwrap_or_default();
                    format!("/controle/consultations?{query}")
                });
                readings = found
                    .into_iter()
                    .map(|c| ConsultationView {
                        time: french::time(c.at),
                        who: c.who,
                        actor: french::actor(&c.actor),
                        reading: c.reading.label(),
                        reference: c.reference.to_string(),
                        version: c.version,
                        from: c.from.unwrap_or_else(|| "—".to_owned()),
                    })
                    .collect();
            }
            Err(ArchiveError::RecordNotFound(key)) => {
                problem = Some(format!("Aucun document n'a la référence « {key} »."));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let view = ConsultationsPageView {
        frame: signed.frame("Consultations", "controle"),
        document,
        personne,
        asked,
        problem,
        readings,
        later: apres > 0,
        next_href,
    };
    Ok(html(StatusCode::OK, &view))
}

/// What checking an uploaded file found.
pub struct CheckView {
    name: String,
    passed: bool,
    summary: String,
    failures: Vec<String>,
}

#[derive(Template)]
#[template(path = "verify.html")]
struct VerifyPage {
    frame: Frame,
    package: Option<CheckView>,
    attestation: Option<CheckView>,
}

fn verify_page(signed: &Signed, package: Option<CheckView>, attestation: Option<CheckView>) -> HttpResponse {
    let page = VerifyPage {
        frame: signed.frame("Vérifier un paquet ou un accusé de dépôt", "control"),
        package,
        attestation,
    };
    html(StatusCode::OK, &page)
}

/// The page to check a package or an accusé de dépôt.
pub async fn verify_form(signed: Signed) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    Ok(verify_page(&signed, None, None))
}

/// A checked form's parts: the key to trust, and the file (its name and
/// where it was written, or its bytes when small).
pub(super) struct Sent {
    own_key: bool,
    pub(super) name: String,
    pub(super) file: Option<tempfile::NamedTempFile>,
    pub(super) bytes: Vec<u8>,
}

/// Reads a verification form (multipart): its token first, then `cle`
/// (`archive` or `paquet`) and the file part `file_part`, written to a
/// temporary file of the data directory when `to_disk`, else read whole
/// (an accusé de dépôt is small).
pub(super) async fn read_sent(
    signed: &Signed,
    archive: &Data<Archive>,
    mut payload: actix_multipart::Multipart,
    file_part: &str,
    to_disk: bool,
) -> Result<Sent, PageError> {
    use crate::http::records::{filename_of, multipart_error, next_item, read_small_part, stream_part};
    let mut token_checked = false;
    let mut sent = Sent {
        own_key: true,
        name: String::new(),
        file: None,
        bytes: Vec::new(),
    };
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
            "cle" => {
                sent.own_key = read_small_part(&mut field).await.map_err(super::api)? != b"paquet";
            }
            part if part == file_part => {
                sent.name = filename_of(&field).map_err(super::api)?.unwrap_or_default();
                if to_disk {
                    let data_dir = archive.data_dir().clone();
                    let file = stream_part(&mut field, archive.max_upload(), move |reader| {
                        let mut file = tempfile::Builder::new()
                            .prefix("verification-")
                            .tempfile_in(data_dir.scratch()?)?;
                        std::io::copy(reader, &mut file)?;
                        Ok(file)
                    })
                    .await
                    .map_err(super::api)?;
                    sent.file = Some(file);
                } else {
                    sent.bytes = read_small_part(&mut field).await.map_err(super::api)?;
                }
            }
            _ => {}
        }
    }
    if !token_checked {
        return Err(PageError::Forged);
    }
    Ok(sent)
}

/// Checks an uploaded package; nothing is imported, the file is removed.
pub async fn verify_package(
    signed: Signed,
    archive: Data<Archive>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    let sent = read_sent(&signed, &archive, payload, "paquet", true).await?;
    let Some(file) = sent.file.filter(|_| !sent.name.is_empty()) else {
        return Ok(verify_page(
            &signed,
            Some(CheckView {
                name: String::new(),
                passed: false,
                summary: "Choisissez le paquet (fichier zip) à vérifier.".into(),
                failures: Vec::new(),
            }),
            None,
        ));
    };
    let actor = signed.actor.clone();
    let own_key = sent.own_key;
    let check = web::block(move || {
        let check = archive.check_package_file(&actor, file.path(), own_key);
        drop(file);
        check
    })
    .await??;
    let view = CheckView {
        name: sent.name,
        passed: check.failures.is_empty(),
        summary: format!(
            "{}, {}, {}",
            french::count(check.files as u64, "fichier de contenu", "fichiers de contenu"),
            french::count(
                check.events_checked as u64,
                "événement du journal",
                "événements du journal"
            ),
            match (check.sealed, own_key) {
                (true, true) => "sceau vérifié avec la clé de ces archives",
                (true, false) => "sceau vérifié avec la clé que nomme le paquet",
                (false, _) => "sans journal scellé",
            }
        ),
        failures: check.failures,
    };
    Ok(verify_page(&signed, Some(view), None))
}

/// Checks an uploaded accusé de dépôt.
pub async fn verify_attestation(
    signed: Signed,
    archive: Data<Archive>,
    payload: actix_multipart::Multipart,
) -> Result<HttpResponse, PageError> {
    require_audit(&signed)?;
    let sent = read_sent(&signed, &archive, payload, "accuse", false).await?;
    let actor = signed.actor.clone();
    let own_key = sent.own_key;
    let bytes = sent.bytes;
    let (attestation, failures) =
        web::block(move || archive.check_attestation_bytes(&actor, &bytes, own_key)).await??;
    let view = CheckView {
        name: sent.name,
        passed: failures.is_empty(),
        summary: match &attestation {
            Some(a) => format!(
                "accusé de dépôt de {} ({}), version {}, déposé le {} par {} ; sceau n° {} vérifié avec {}",
                a.reference,
                a.title,
                a.version,
                french::time(a.deposited_at),
                a.depositor,
                a.seal.seq,
                if own_key {
                    "la clé de ces archives"
                } else {
                    "la clé qu'il nomme"
                }
            ),
            None => "ce fichier n'est pas un accusé de dépôt lisible".into(),
        },
        failures,
    };
    Ok(verify_page(&signed, None, Some(view)))
}
