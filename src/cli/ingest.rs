//! `coffre ingest`: archive files and folders, going on past bad files.
//!
//! Several files go at once (`--jobs`), so that their deposits share the
//! archive's flushes (its group commits); what each made is printed in the
//! order of the files, a progress bar shows files and bytes per second, and
//! a summary ends it.

use super::client::{FilePart, Part};
use super::{Context, Failure, Target, on_terminal, print_json};
use crate::archive::{Actor, Deposit, Upload};
use crate::errors::Code;
use crate::wire::{BatchDepositDto, BatchOutcomeDto, RecordDto};
use clap::Args;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// `coffre ingest` arguments.
#[derive(Args, Debug)]
pub struct IngestArgs {
    /// Files or folders (folders are walked recursively, in name order).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Classification node code; without it, the plan's classification
    /// rules choose one for each file (or refuse it, listing candidates).
    #[arg(long)]
    pub node: Option<String>,
    /// Title (default: each file's name without extension).
    #[arg(long)]
    pub title: Option<String>,
    /// The documents' date, YYYY-MM-DD (default: today).
    #[arg(long)]
    pub date: Option<String>,
    /// Producing service.
    #[arg(long)]
    pub service: Option<String>,
    /// Document type, as the plan names it for the node (facture, délibération, arrêté, ...).
    #[arg(long = "type")]
    pub document_type: Option<String>,
    /// A metadata field, KEY=VALUE (repeatable).
    #[arg(long = "meta", value_name = "KEY=VALUE")]
    pub meta: Vec<String>,
    /// A record each file is linked to, KIND=REFERENCE (repeatable); KIND is
    /// attachment_of, part_of, supports or acknowledges.
    #[arg(long = "link", value_name = "KIND=REFERENCE")]
    pub link: Vec<String>,
    /// One JSON object per line.
    #[arg(long)]
    pub json: bool,
    /// Files deposited at once (1: one after the other).
    #[arg(long, env = "COFFRE_INGEST_JOBS", default_value_t = DEFAULT_JOBS, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
}

/// Files deposited at once by default: enough for their deposits to share
/// flushes on a disk, few enough to spare a server its other clients.
pub const DEFAULT_JOBS: u16 = 8;

/// Collects the files under `paths`, in a stable order.
fn collect_files(paths: &[PathBuf], out: &mut Vec<PathBuf>, problems: &mut Vec<(PathBuf, String)>) {
    for path in paths {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                    children.sort();
                    collect_files(&children, out, problems);
                }
                Err(e) => problems.push((path.clone(), format!("cannot list the folder: {e}"))),
            },
            Ok(_) => out.push(path.clone()),
            Err(e) => problems.push((path.clone(), format!("lecture impossible : {e}"))),
        }
    }
}

pub(super) fn parse_meta(pairs: &[String]) -> Result<BTreeMap<String, String>, Failure> {
    let mut fields = BTreeMap::new();
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Failure::usage(format!("--meta {pair:?} : la forme attendue est CLÉ=VALEUR")))?;
        fields.insert(key.trim().to_owned(), value.to_owned());
    }
    Ok(fields)
}

/// `--link KIND=REFERENCE` pairs, as said (the archive checks them).
fn parse_links(pairs: &[String]) -> Result<Vec<(String, String)>, Failure> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(kind, to)| (kind.trim().to_owned(), to.trim().to_owned()))
                .ok_or_else(|| Failure::usage(format!("--link {pair:?} : la forme attendue est SORTE=RÉFÉRENCE")))
        })
        .collect()
}

/// What a deposit made: the record's reference, id and first digest.
struct Made {
    reference: String,
    id: String,
    sha256: String,
}

/// Files deposited together on the data directory: their blobs share a
/// group commit and their events a journal commit and a catalog batch.
/// Each holds two open files (its content and metadata document) until
/// its batch is durable, so `jobs` × this × 2 stays well under the usual
/// limit of 1,024 open files.
const LOCAL_BATCH: usize = 32;

/// Deposits files together on the data directory; each file's outcome in
/// order, and whether its content was stored before (only then may other
/// records hold it).
fn deposit_batch(
    archive: &crate::archive::Archive,
    paths: &[PathBuf],
    deposit: &dyn Fn() -> Deposit,
) -> Vec<Result<(Made, bool), String>> {
    let items = paths
        .iter()
        .map(|path| {
            let filename = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let staged = File::open(path)
                .map_err(|e| format!("lecture impossible : {e}"))
                .and_then(|mut file| archive.stage(&mut file).map_err(|e| e.to_string()))?;
            Ok((deposit(), Upload { staged, filename }))
        })
        .collect();
    archive
        .ingest_ready(&Actor::command_line(), items, None, |e| e.to_string())
        .into_iter()
        .map(|outcome| {
            outcome.map(|deposited| {
                let record = deposited.record;
                (
                    Made {
                        reference: record.reference.to_string(),
                        id: record.id.to_string(),
                        sha256: record.versions.first().map(|v| v.sha256.hex()).unwrap_or_default(),
                    },
                    deposited.held_before,
                )
            })
        })
        .collect()
}

/// The `metadata` part the server reads for `deposit`.
fn metadata_of(deposit: &Deposit) -> String {
    serde_json::json!({
        "node": deposit.node.clone().unwrap_or_default(),
        "title": deposit.title,
        "date": deposit.date,
        "service": deposit.service,
        "type": deposit.document_type,
        "fields": deposit.fields,
        "links": deposit
            .links
            .iter()
            .map(|(kind, to)| serde_json::json!({"kind": kind, "to": to}))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

/// What became of a file sent: the record made and the references of the
/// records that held its content already, or why it was refused.
type Sent = Result<(Made, Vec<String>), String>;

/// What the server made of a file: the record, and the references of the
/// records that held its content already.
fn made_of(record: RecordDto) -> (Made, Vec<String>) {
    let held = record.same_content.into_iter().map(|r| r.reference).collect();
    (
        Made {
            reference: record.reference,
            id: record.id,
            sha256: record.versions.first().map(|v| v.sha256.clone()).unwrap_or_default(),
        },
        held,
    )
}

/// Files sent to the server in one request (`POST /api/v1/records/batch`,
/// which takes up to 64): they share its flushes as a local batch does.
const REMOTE_BATCH: usize = 32;

/// Deposits files through the server in one request; each file's outcome
/// in order. A batch refused whole for its size goes again one file a
/// request, so that only the file too large is refused.
fn deposit_remote(remote: &super::client::Remote, paths: &[PathBuf], deposit: &dyn Fn() -> Deposit) -> Vec<Sent> {
    let metadata = metadata_of(&deposit());
    let names: Vec<String> = paths
        .iter()
        .map(|path| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let mut outcomes: Vec<Option<Sent>> = Vec::with_capacity(paths.len());
    let mut parts = Vec::new();
    for (path, name) in paths.iter().zip(&names) {
        match File::open(path) {
            Ok(file) => {
                parts.push(Part::Text {
                    name: "metadata",
                    content_type: "application/json",
                    text: metadata.clone(),
                });
                parts.push(Part::File {
                    name: "file",
                    file: FilePart {
                        filename: name,
                        reader: Box::new(std::io::BufReader::new(file)),
                    },
                });
                outcomes.push(None);
            }
            Err(e) => outcomes.push(Some(Err(format!("lecture impossible : {e}")))),
        }
    }
    if parts.is_empty() {
        return outcomes.into_iter().flatten().collect();
    }
    let answer: Result<BatchDepositDto, _> = remote.post_parts("/api/v1/records/batch", parts);
    let mut results = match answer {
        Ok(answer) => answer.results.into_iter(),
        Err(failure) if failure.code == Code::PayloadTooLarge && paths.len() > 1 => {
            return paths
                .iter()
                .flat_map(|path| deposit_remote(remote, std::slice::from_ref(path), deposit))
                .collect();
        }
        // A batch of which no file went in is refused with each file's
        // reason beside.
        Err(failure) => match refused_results(&failure) {
            Some(results) => results.into_iter(),
            None => {
                return outcomes
                    .into_iter()
                    .map(|outcome| outcome.unwrap_or_else(|| Err(failure.message.clone())))
                    .collect();
            }
        },
    };
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| match results.next() {
                Some(BatchOutcomeDto {
                    record: Some(record), ..
                }) => Ok(made_of(record)),
                Some(BatchOutcomeDto { error: Some(error), .. }) => Err(error.message),
                Some(_) | None => Err("le serveur n'a pas dit ce qu'il a fait de ce fichier".into()),
            })
        })
        .collect()
}

/// Each file's outcome in a batch refused as a whole.
fn refused_results(failure: &Failure) -> Option<Vec<BatchOutcomeDto>> {
    let results = failure.answer.as_ref()?.get("results")?;
    serde_json::from_value(results.clone()).ok()
}

/// The other records that hold the content just deposited as `made`
/// (their references): it was archived already.
fn also_held(archive: &crate::archive::Archive, made: &Made) -> Vec<String> {
    let Ok(digest) = crate::domain::hash::Sha256::parse(&made.sha256) else {
        return Vec::new();
    };
    archive
        .holders(&Actor::command_line(), &digest)
        .map(|found| {
            found
                .into_iter()
                .map(|(r, _)| r.to_string())
                .filter(|r| *r != made.reference)
                .collect()
        })
        .unwrap_or_default()
}

/// What became of one file.
struct Outcome {
    path: PathBuf,
    bytes: u64,
    made: Sent,
}

/// Runs `coffre ingest`, on the data directory or through the server.
pub fn run(ctx: &Context, args: IngestArgs) -> Result<(), Failure> {
    let fields = parse_meta(&args.meta)?;
    let links = parse_links(&args.link)?;
    let target = ctx.target()?;
    let mut files = Vec::new();
    let mut problems = Vec::new();
    collect_files(&args.paths, &mut files, &mut problems);
    let bar = if on_terminal() {
        indicatif::ProgressBar::new(files.len() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} fichiers · {per_sec} · {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, Outcome)>();
    let mut tally = Tally::default();
    let printed = std::thread::scope(|scope| {
        let batch = match &target {
            Target::Local(_) => LOCAL_BATCH,
            Target::Remote(_) => REMOTE_BATCH,
        };
        for _ in 0..usize::from(args.jobs).min(files.len().div_ceil(batch).max(1)) {
            let (sender, next, files, target, args, fields, links) =
                (sender.clone(), &next, &files, &target, &args, &fields, &links);
            scope.spawn(move || {
                let deposit = || Deposit {
                    node: args.node.clone().filter(|n| !n.trim().is_empty()),
                    title: args.title.clone(),
                    date: args.date.clone(),
                    service: args.service.clone(),
                    document_type: args.document_type.clone(),
                    fields: fields.clone(),
                    links: links.clone(),
                };
                loop {
                    let first = next.fetch_add(batch, std::sync::atomic::Ordering::Relaxed);
                    let Some(paths) = files.get(first..(first + batch).min(files.len())) else {
                        break;
                    };
                    if paths.is_empty() {
                        break;
                    }
                    let made: Vec<Sent> = match target {
                        Target::Local(archive) => deposit_batch(archive, paths, &deposit)
                            .into_iter()
                            .map(|outcome| {
                                outcome.map(|(made, held_before)| {
                                    let held = if held_before {
                                        also_held(archive, &made)
                                    } else {
                                        Vec::new()
                                    };
                                    (made, held)
                                })
                            })
                            .collect(),
                        Target::Remote(remote) => deposit_remote(remote, paths, &deposit),
                    };
                    for (i, (path, made)) in paths.iter().zip(made).enumerate() {
                        let outcome = Outcome {
                            path: path.clone(),
                            bytes: std::fs::metadata(path).map_or(0, |m| m.len()),
                            made,
                        };
                        if sender.send((first + i, outcome)).is_err() {
                            return;
                        }
                    }
                }
            });
        }
        drop(sender);
        // Told in the order of the files, whatever order they finish in.
        let mut waiting = BTreeMap::new();
        let mut told = 0usize;
        for (i, outcome) in receiver {
            tally.bytes += outcome.bytes;
            bar.inc(1);
            let seconds = started.elapsed().as_secs_f64();
            if seconds > 0.0 {
                bar.set_message(format!(
                    "{}/s",
                    crate::french::size((tally.bytes as f64 / seconds) as u64)
                ));
            }
            waiting.insert(i, outcome);
            while let Some(outcome) = waiting.remove(&told) {
                told += 1;
                tally.tell(&bar, outcome, args.json, &mut problems)?;
            }
        }
        Ok::<(), Failure>(())
    });
    bar.finish_and_clear();
    if let Target::Local(archive) = &target
        && let Err(e) = archive.flush()
    {
        tracing::warn!(error = %e, "catalog flush failed; the next start replays the journal");
    }
    printed?;
    if files.len() > 1 && !args.json {
        eprintln!("{}", tally.summary(files.len(), problems.len(), started.elapsed()));
    }
    report_problems(&problems, files.len())
}

/// What the deposits made so far.
#[derive(Default)]
struct Tally {
    deposited: usize,
    duplicates: usize,
    bytes: u64,
}

impl Tally {
    /// Prints what became of one file (or keeps why it was refused).
    fn tell(
        &mut self,
        bar: &indicatif::ProgressBar,
        outcome: Outcome,
        json: bool,
        problems: &mut Vec<(PathBuf, String)>,
    ) -> Result<(), Failure> {
        let Outcome { path, made, .. } = outcome;
        let (made, held) = match made {
            Ok(made) => made,
            Err(reason) => {
                problems.push((path, reason));
                return Ok(());
            }
        };
        self.deposited += 1;
        if !held.is_empty() {
            self.duplicates += 1;
            bar.suspend(|| {
                eprintln!(
                    "coffre: {}: même contenu que {} (déposé quand même)",
                    display(&path),
                    held.join(", ")
                )
            });
        }
        bar.suspend(|| {
            if json {
                print_json(&serde_json::json!({
                    "path": path.display().to_string(),
                    "reference": made.reference,
                    "id": made.id,
                    "sha256": made.sha256,
                }))
            } else {
                println!("{}\t{}\t{}\t{}", made.reference, made.id, made.sha256, path.display());
                Ok(())
            }
        })
    }

    /// `coffre: 3 déposés sur 4 fichiers, …, en 1,2 s (2,5 fichiers/s, 1,1 Mo/s)`.
    fn summary(&self, files: usize, refused: usize, took: std::time::Duration) -> String {
        let mut summary = format!(
            "coffre: {} déposé{} sur {}",
            self.deposited,
            if self.deposited > 1 { "s" } else { "" },
            super::count(files as u64, "fichier", "fichiers"),
        );
        if self.duplicates > 0 {
            summary.push_str(&format!(
                ", dont {} déjà archivé{} (même contenu)",
                self.duplicates,
                if self.duplicates > 1 { "s" } else { "" }
            ));
        }
        let seconds = took.as_secs_f64().max(0.001);
        summary.push_str(&format!(
            ", en {} s ({} fichiers/s, {}/s)",
            decimal(seconds),
            decimal(self.deposited as f64 / seconds),
            crate::french::size((self.bytes as f64 / seconds) as u64)
        ));
        if refused > 0 {
            summary.push_str(&format!(
                " ; {} refusé{} (raisons ci-dessous)",
                refused,
                if refused > 1 { "s" } else { "" }
            ));
        }
        summary
    }
}

/// `1,2`, `1 234,5`: one decimal, French style.
fn decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, "0"));
    format!("{},{fraction}", crate::french::group_thousands(whole))
}

fn report_problems(problems: &[(PathBuf, String)], total: usize) -> Result<(), Failure> {
    report_refused(problems, total, ("fichier", "fichiers"))
}

/// Says each file refused and why, one line each; a failure (exit 2)
/// counting them among the `total` files, named `(one, many)`, when any was.
pub(super) fn report_refused(
    problems: &[(PathBuf, String)],
    total: usize,
    (one, many): (&str, &str),
) -> Result<(), Failure> {
    for (path, reason) in problems {
        eprintln!("coffre: {}: {reason}", display(path));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Failure::usage(format!(
            "{} sur {} non archivé{} (voir ci-dessus)",
            problems.len(),
            super::count(total.max(problems.len()) as u64, one, many),
            if problems.len() > 1 { "s" } else { "" }
        )))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
