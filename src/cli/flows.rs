//! `coffre pes FILE...`: archive accounting flows (PES_Aller) and their
//! acknowledgements (PES_ACQUIT), each split into linked records; what
//! each made is printed as a tree, with each bordereau's signature.
//! `coffre cdv FILE...`: archive e-invoice lifecycle messages; each status
//! is printed with the invoices it moved.

use super::client::FilePart;
use super::{Context, Failure, Target, print_json};
use crate::archive::Actor;
use crate::archive::Archive;
use crate::wire::{CapturedFlowDto, CapturedStatusesDto};
use clap::Args;
use std::path::PathBuf;

/// `coffre pes` arguments.
#[derive(Args, Debug)]
pub struct PesArgs {
    /// Flow files (PES_Aller or PES_ACQUIT), as received.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per file (the API's answer, with `path`).
    #[arg(long)]
    pub json: bool,
}

/// `coffre cdv` arguments.
#[derive(Args, Debug)]
pub struct CdvArgs {
    /// Lifecycle message files (CDAR), as received from the platform.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// One JSON object per file (the API's answer, with `path`).
    #[arg(long)]
    pub json: bool,
}

/// Archives each flow, going on past those refused.
pub fn run(ctx: &Context, args: PesArgs) -> Result<(), Failure> {
    each_file(
        ctx,
        &args.files,
        args.json,
        "/api/v1/flows/pes",
        |archive, bytes, filename| {
            archive
                .capture_pes(&Actor::command_line(), None, bytes, filename)
                .map(|c| CapturedFlowDto::new(&c))
        },
        tree,
        ("flux", "flux"),
    )
}

/// Archives each lifecycle message, going on past those refused.
pub fn run_cdv(ctx: &Context, args: CdvArgs) -> Result<(), Failure> {
    each_file(
        ctx,
        &args.files,
        args.json,
        "/api/v1/flows/cdv",
        |archive, bytes, filename| {
            archive
                .capture_lifecycle(&Actor::command_line(), None, bytes, filename)
                .map(|c| CapturedStatusesDto::new(&c))
        },
        statuses,
        ("message", "messages"),
    )
}

/// Sends each file to `path` (or captures it in the data directory with
/// `local`), printing each answer with `print` (or as JSON), going on past
/// those refused, which are said at the end.
fn each_file<T: serde::Serialize + serde::de::DeserializeOwned>(
    ctx: &Context,
    files: &[PathBuf],
    json: bool,
    path_on_server: &str,
    local: impl Fn(&Archive, &[u8], Option<String>) -> Result<T, crate::archive::ArchiveError>,
    print: fn(&str, &T) -> String,
    kind: (&str, &str),
) -> Result<(), Failure> {
    let target = ctx.target()?;
    let mut problems: Vec<(PathBuf, String)> = Vec::new();
    for path in files {
        let filename = path.file_name().and_then(|n| n.to_str()).map(str::to_owned);
        let captured = match &target {
            Target::Local(archive) => std::fs::read(path)
                .map_err(|e| Failure::usage(format!("lecture impossible : {e}")))
                .and_then(|bytes| local(archive, &bytes, filename).map_err(Failure::from)),
            Target::Remote(remote) => std::fs::File::open(path)
                .map_err(|e| Failure::usage(format!("lecture impossible : {e}")))
                .and_then(|file| {
                    remote.post_multipart(
                        path_on_server,
                        &[],
                        "file",
                        FilePart {
                            filename: filename.as_deref().unwrap_or("flux.xml"),
                            reader: Box::new(std::io::BufReader::new(file)),
                        },
                    )
                }),
        };
        match captured {
            Ok(answer) => {
                if json {
                    let mut value = serde_json::to_value(&answer).map_err(|e| Failure::internal(e.to_string()))?;
                    if let Some(object) = value.as_object_mut() {
                        object.insert("path".into(), path.display().to_string().into());
                    }
                    print_json(&value)?;
                } else {
                    println!("{}", print(&path.display().to_string(), &answer));
                }
            }
            Err(failure) => problems.push((path.clone(), failure.message)),
        }
    }
    super::ingest::report_refused(&problems, files.len(), kind)
}

/// What a lifecycle message did: its record, then each status with the
/// invoices it named and those it moved.
fn statuses(path: &str, answer: &CapturedStatusesDto) -> String {
    let mut out = format!(
        "{path} → {}{}\n",
        answer.message,
        if answer.already_archived {
            " (déjà archivé : rien n'a bougé)"
        } else {
            ""
        }
    );
    for s in &answer.statuses {
        let named = if s.records.is_empty() {
            "aucune facture archivée ici".to_owned()
        } else {
            s.records.join(", ")
        };
        let moved = if s.moved.is_empty() {
            "aucune n'a avancé".to_owned()
        } else {
            format!("avancée(s) : {}", s.moved.join(", "))
        };
        out.push_str(&format!(
            "  facture {} : « {} » ({}) — {named} ; {moved}\n",
            s.invoice_number, s.label, s.code
        ));
    }
    out.trim_end().to_owned()
}

/// What a flow made, as an indented list: each part under the one it
/// belongs to.
fn tree(path: &str, answer: &CapturedFlowDto) -> String {
    let mut out = format!("{path}\n");
    let depth = |mut i: usize| {
        let mut d = 0;
        while let Some(within) = &answer.parts[i].within {
            match answer.parts.iter().position(|p| &p.reference == within) {
                Some(parent) if parent != i && d < 8 => {
                    d += 1;
                    i = parent;
                }
                _ => break,
            }
        }
        d
    };
    for (i, part) in answer.parts.iter().enumerate() {
        out.push_str(&"  ".repeat(depth(i) + 1));
        out.push_str(&format!(
            "{}\t{}\t{}",
            part.reference,
            kind_in_french(&part.kind),
            part.title
        ));
        if part.already_archived {
            out.push_str("\t(déjà archivé)");
        }
        if let Some(signature) = &part.signature {
            let verdict = match signature.verdict.as_str() {
                "valid" => "signature valide",
                "invalid" => "signature invalide",
                _ => "signature non vérifiée",
            };
            out.push_str(&format!(
                "\t{verdict}, {}{}",
                signature.signer.as_deref().unwrap_or("signataire inconnu"),
                signature
                    .warning
                    .as_ref()
                    .map(|_| ", algorithme ancien")
                    .unwrap_or_default()
            ));
        }
        out.push('\n');
    }
    if let Some(ack) = &answer.acknowledged {
        out.push_str(&format!(
            "  {} le flux {} ({}){}\n",
            if ack.accepted { "accepte" } else { "rejette" },
            ack.flow_name,
            ack.flow.as_deref().unwrap_or("pas archivé ici"),
            ack.anomalies
                .iter()
                .map(|a| format!(" ; {} {}", a.code, a.label))
                .collect::<String>()
        ));
    }
    out.trim_end().to_owned()
}

/// `bordereau de mandats`: the part's name without its article.
fn kind_in_french(kind: &str) -> &'static str {
    let named = crate::domain::pes::PartKind::from_key(kind)
        .map(crate::french::flow_part)
        .unwrap_or("partie");
    ["le ", "la ", "l'"]
        .iter()
        .find_map(|article| named.strip_prefix(article))
        .unwrap_or(named)
}
