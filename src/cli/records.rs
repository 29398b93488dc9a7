//! `coffre get`, `coffre show` and `coffre update`.

use super::{Context, Failure, Target, print_json};
use crate::archive::Actor;
use crate::domain::hash::Sha256Hasher;
use crate::wire::RecordDto;
use clap::Args;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// `coffre get` arguments.
#[derive(Args, Debug)]
pub struct GetArgs {
    /// Reference or id.
    pub reference: String,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Version number (default: the latest).
    #[arg(long)]
    pub version: Option<u32>,
}

/// `coffre show` arguments.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Reference or id.
    pub reference: String,
    /// As one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `coffre update` arguments.
#[derive(Args, Debug)]
pub struct UpdateArgs {
    /// Reference, alias or id.
    pub reference: String,
    /// Why the record changes (journaled with the change).
    #[arg(long)]
    pub reason: String,
    /// A new classification node.
    #[arg(long)]
    pub node: Option<String>,
    /// A new title.
    #[arg(long)]
    pub title: Option<String>,
    /// A new date, YYYY-MM-DD.
    #[arg(long)]
    pub date: Option<String>,
    /// A new producing service ("" removes it).
    #[arg(long)]
    pub service: Option<String>,
    /// A new document type ("" removes it).
    #[arg(long = "type")]
    pub document_type: Option<String>,
    /// Set a field, KEY=VALUE (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// Remove a field (repeatable).
    #[arg(long = "unset", value_name = "KEY")]
    pub unset: Vec<String>,
    /// The record afterwards as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Changes or reclassifies a record, with a reason.
pub fn update(ctx: &Context, args: UpdateArgs) -> Result<(), Failure> {
    let archive = match ctx.target()? {
        Target::Local(archive) => archive,
        Target::Remote(remote) => return update_remotely(&remote, args),
    };
    let mut fields: std::collections::BTreeMap<String, Option<String>> = super::ingest::parse_meta(&args.meta)?
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    for key in args.unset {
        fields.insert(key, None);
    }
    let changes = crate::archive::RecordChanges {
        reason: args.reason,
        node: args.node,
        title: args.title,
        date: args.date,
        service: args.service,
        document_type: args.document_type,
        fields,
    };
    let before = archive.record(&Actor::command_line(), &args.reference)?;
    let record = archive.update(&Actor::command_line(), &args.reference, changes)?;
    archive.flush()?;
    if args.json {
        let details = archive.details(&Actor::command_line(), &record)?;
        return print_json(&RecordDto::new(&record, &details, None));
    }
    print_change(
        (before.reference.as_str(), Some(before.last_seq())),
        (record.reference.as_str(), Some(record.last_seq())),
        record.node.as_str(),
    );
    Ok(())
}

/// What `update` says of a change: nothing, a new reference, or the node.
fn print_change(before: (&str, Option<u64>), after: (&str, Option<u64>), node: &str) {
    if after.1 == before.1 {
        println!("{} : rien n'a changé", after.0);
    } else if after.0 != before.0 {
        println!("{} (auparavant {}) : modifié, nœud {node}", after.0, before.0);
    } else {
        println!("{} : modifié, nœud {node}", after.0);
    }
}

/// `update` through the server.
fn update_remotely(remote: &super::client::Remote, args: UpdateArgs) -> Result<(), Failure> {
    let key = super::client::path_segment(&args.reference);
    let mut fields: std::collections::BTreeMap<String, Option<String>> = super::ingest::parse_meta(&args.meta)?
        .into_iter()
        .map(|(k, v)| (k, Some(v)))
        .collect();
    for name in args.unset {
        fields.insert(name, None);
    }
    let before: RecordDto = remote.get_json(&format!("/api/v1/records/{key}"))?;
    let after: RecordDto = remote.request_json(
        "PATCH",
        &format!("/api/v1/records/{key}"),
        &serde_json::json!({"reason": args.reason, "node": args.node, "title": args.title, "date": args.date,
            "service": args.service, "type": args.document_type, "fields": fields}),
    )?;
    if args.json {
        return print_json(&after);
    }
    let last = |r: &RecordDto| r.history.last().map(|h| h.seq);
    print_change(
        (&before.reference, last(&before)),
        (&after.reference, last(&after)),
        &after.node,
    );
    Ok(())
}

/// Copies the content out, checking on the way that it still hashes to its
/// recorded digest: `get` never hands out silently damaged bytes.
pub fn get(ctx: &Context, args: GetArgs) -> Result<(), Failure> {
    // Which content: its reference, version, recorded digest, and bytes.
    let (reference, number, expected, mut reader): (String, u32, String, Box<dyn Read>) = match ctx.target()? {
        Target::Local(archive) => {
            let (record, version, reader, _) =
                archive.content(&Actor::command_line(), &args.reference, args.version)?;
            (
                record.reference.to_string(),
                version.number,
                version.sha256.hex(),
                Box::new(reader),
            )
        }
        Target::Remote(remote) => {
            let key = super::client::path_segment(&args.reference);
            let record: RecordDto = remote.get_json(&format!("/api/v1/records/{key}"))?;
            let version = match args.version {
                Some(n) => record.versions.iter().find(|v| v.number == n),
                None => record.versions.last(),
            }
            .ok_or_else(|| {
                Failure::from(crate::archive::ArchiveError::VersionNotFound {
                    reference: record.reference.clone(),
                    version: args.version.unwrap_or_default(),
                })
            })?;
            let reader = remote.open(&format!("/api/v1/records/{key}/content?version={}", version.number))?;
            (record.reference.clone(), version.number, version.sha256.clone(), reader)
        }
    };
    let (mut sink, temp): (Box<dyn Write>, Option<PathBuf>) = match &args.output {
        Some(path) => {
            let temp = path.with_file_name(format!(
                ".{}.coffre-part",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            (Box::new(File::create(&temp)?), Some(temp))
        }
        None => (Box::new(io::stdout().lock()), None),
    };
    let mut hasher = Sha256Hasher::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        hasher.update(&buf[..n]);
        sink.write_all(&buf[..n])?;
    }
    sink.flush()?;
    drop(sink);
    let actual = hasher.finish().hex();
    if actual != expected {
        if let Some(temp) = &temp {
            let _ = fs::remove_file(temp);
        }
        return Err(Failure::check_failed(format!(
            "le contenu de {reference}, version {number}, est altéré : son empreinte est {actual} au lieu de {expected} ; lancez `coffre audit verify`"
        )));
    }
    if let (Some(temp), Some(path)) = (temp, &args.output) {
        fs::rename(&temp, path)?;
    }
    Ok(())
}

/// Prints a record.
pub fn show(ctx: &Context, args: ShowArgs) -> Result<(), Failure> {
    let dto = match ctx.target()? {
        Target::Local(archive) => {
            let record = archive.record(&Actor::command_line(), &args.reference)?;
            let text = archive.text_status(&Actor::command_line(), &record.id)?;
            let details = archive.details(&Actor::command_line(), &record)?;
            RecordDto::new(&record, &details, text)
        }
        Target::Remote(remote) => {
            let key = super::client::path_segment(&args.reference);
            match remote.get_json::<RecordDto>(&format!("/api/v1/records/{key}")) {
                Ok(dto) => dto,
                // A record gone is shown as its tombstone, as on the data directory.
                Err(failure) => match failure
                    .answer
                    .as_ref()
                    .and_then(|a| serde_json::from_value::<RecordDto>(a["tombstone"].clone()).ok())
                {
                    Some(tombstone) => tombstone,
                    None => return Err(failure),
                },
            }
        }
    };
    if args.json {
        return print_json(&dto);
    }
    let label = |name: &str| format!("{name:<12}:");
    println!("{} {}", label("référence"), dto.reference);
    println!("{} {}", label("identifiant"), dto.id);
    println!("{} {}", label("titre"), dto.title);
    println!("{} {}", label("nœud"), dto.node);
    println!("{} {}", label("date"), crate::french::iso_date(&dto.date));
    println!("{} {}", label("service"), dto.service.as_deref().unwrap_or("-"));
    println!("{} {}", label("type"), dto.document_type.as_deref().unwrap_or("-"));
    println!(
        "{} {} (classé sous la version {} du plan)",
        label("plan"),
        dto.node_path.join(" / "),
        dto.plan_version.map_or("-".to_owned(), |v| v.to_string())
    );
    match &dto.retention {
        Some(r) => println!(
            "{} {} ({} à compter de : {}, règle du nœud {}) : départ {}, échéance {}, puis {} ; {}{}",
            label("conservation"),
            r.rule,
            r.duration,
            r.start,
            r.inherited_from,
            r.start_date
                .as_deref()
                .map_or("pas encore connu".to_owned(), crate::french::iso_date),
            r.due.as_deref().map_or("aucune".to_owned(), crate::french::iso_date),
            final_action(&r.final_action),
            retention_status(&r.status),
            if r.to_confirm { " (durée à confirmer)" } else { "" }
        ),
        None => println!("{} aucune règle ne s'applique", label("conservation")),
    }
    for alias in &dto.aliases {
        println!("{} {alias}", label("alias"));
    }
    println!("{} {}", label("état"), crate::french::record_state(&dto.state));
    println!(
        "{} le {} par {}",
        label("créé"),
        crate::french::iso_time(&dto.created_at),
        dto.created_by
    );
    for (key, value) in &dto.fields {
        println!("{} {key} = {value}", label("champ"));
    }
    println!("{} sha256 {}", label("métadonnées"), dto.metadata_sha256);
    for v in &dto.versions {
        println!(
            "{} {}, {}, sha256 {}, fichier {:?} (servi sous le nom {}), le {} par {}",
            label(&format!("version {}", v.number)),
            super::count(v.size, "octet", "octets"),
            v.media_type,
            v.sha256,
            v.filename.as_deref().unwrap_or(""),
            v.canonical_filename,
            crate::french::iso_time(&v.ingested_at),
            v.ingested_by
        );
    }
    println!(
        "{} {}{}{}",
        label("texte"),
        text_status(&dto.text.status),
        dto.text
            .extractor
            .as_deref()
            .map(|e| format!(" par {e}"))
            .unwrap_or_default(),
        dto.text.error.as_deref().map(|e| format!(" : {e}")).unwrap_or_default()
    );
    for h in &dto.history {
        println!(
            "{} n° {} le {} : {} ({}) par {}",
            label("historique"),
            h.seq,
            crate::french::iso_time(&h.time),
            crate::french::event_kind(&h.kind),
            h.kind,
            h.actor
        );
    }
    Ok(())
}

/// A final action's code (`destroy`, `keep`, `review`), for people.
fn final_action(code: &str) -> &str {
    match code {
        "destroy" => "destruction",
        "keep" => "versement aux archives",
        "review" => "tri par l'archiviste",
        other => other,
    }
}

/// A retention status's code, for people.
fn retention_status(code: &str) -> &str {
    match code {
        "open" => "date de départ attendue",
        "running" => "en cours",
        "due" => "échu",
        "held" => "gelé",
        "permanent" => "conservation définitive",
        other => other,
    }
}

/// The text extraction's status, for people.
fn text_status(code: &str) -> &str {
    match code {
        "extracted" => "extrait",
        "pending" => "en attente d'extraction",
        "failed" => "non extrait",
        "none" => "aucun",
        other => other,
    }
}
