//! `coffre audit ...`: integrity checks, the journal, seals and proofs.

use super::client::{Remote, path_segment};
use super::{Context, Failure, Target, on_terminal, print_json};
use crate::archive::seals::{ConsistencyProof, RecordProof};
use crate::archive::{Actor, Progress, check_integrity_offline, journal_offline};
use crate::domain::event::format_time;
use crate::domain::seal::Seal;
use crate::domain::seal::public_key_pem;
use crate::wire::IntegrityReportDto;
use clap::Subcommand;

/// `coffre audit ...`
#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Re-hash every blob, re-check the journal chain, compare the catalog
    /// with the journal; exit 1 and list every failure.
    Verify {
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print the journal.
    Log {
        /// Start after this seq.
        #[arg(long, default_value_t = 0)]
        after: u64,
        /// One JSON object (the event as written) per line.
        #[arg(long)]
        json: bool,
    },
    /// Who read a record that holds personal data, or what a person read:
    /// one line each (date, who, reading, reference, address).
    Consultations {
        /// A record's reference or id.
        #[arg(long, conflicts_with = "person", required_unless_present = "person")]
        record: Option<String>,
        /// A person's user name (or an actor's name, `token:NAME`).
        #[arg(long)]
        person: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// The scheduled fixity job: status, pause, resume, or a run now in
    /// the foreground (when no server holds the data directory).
    Fixity {
        /// `status` (default), `pause`, `resume` or `run`.
        #[arg(default_value = "status")]
        action: String,
        /// With `run`: bytes re-hashed per second at most.
        #[arg(long, default_value = crate::config::DEFAULT_FIXITY_RATE)]
        rate: String,
        /// The status as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Seal the journal now: sign the root of its Merkle tree.
    Seal,
    /// Change the key that signs seals: the old key hands over to a new
    /// one (both sign the rotation, journaled), and the journal is sealed
    /// with the new key. Packages and attestations sealed under either key
    /// verify with any key of the chain.
    RotateKey,
    /// List the journal's seals.
    Seals {
        /// One JSON object per seal.
        #[arg(long)]
        json: bool,
    },
    /// Print the public key that signs seals (hex, or PEM with --pem).
    PublicKey {
        /// As a PEM `PUBLIC KEY` block.
        #[arg(long)]
        pem: bool,
        /// As JSON with every key and the chain of rotations that links
        /// them (what `verify-package --key` and `verify-attestation --key`
        /// take to trust a key and those it was rotated from or to).
        #[arg(long, conflicts_with = "pem")]
        json: bool,
    },
    /// Every event of a record with its inclusion proof against the latest seal (JSON).
    Proof {
        /// Reference or id.
        reference: String,
    },
    /// The consistency proof between two sealed tree sizes (JSON).
    Consistency {
        /// The older tree size.
        #[arg(long)]
        from: u64,
        /// The newer tree size (the latest seal's by default).
        #[arg(long)]
        to: Option<u64>,
    },
}

/// A progress bar on a terminal, nothing elsewhere.
pub(super) struct Bar(pub(super) indicatif::ProgressBar);

impl Progress for Bar {
    fn begin(&self, phase: &str, total: u64) {
        self.0.set_position(0);
        self.0.set_length(total);
        self.0.set_message(phase.to_owned());
    }
    fn advance(&self, n: u64) {
        self.0.inc(n);
    }
}

/// Readings asked for at a time.
const CONSULTATIONS_PAGE: usize = 1000;

/// Runs an audit command.
pub fn run(ctx: &Context, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Verify { json } => verify(ctx, json),
        AuditCommand::Log { after, json } => log(ctx, after, json),
        AuditCommand::Fixity { action, rate, json } => fixity(ctx, &action, &rate, json),
        AuditCommand::Consultations { record, person, json } => {
            // Every page, oldest first, each printed as it comes.
            let target = ctx.target()?;
            let mut after = 0;
            loop {
                let page = match &target {
                    Target::Local(archive) => crate::wire::ConsultationsDto::page(
                        archive.consultations(
                            &Actor::command_line(),
                            record.as_deref(),
                            person.as_deref(),
                            after,
                            CONSULTATIONS_PAGE,
                        )?,
                        CONSULTATIONS_PAGE,
                    ),
                    Target::Remote(remote) => {
                        let query = match (&record, &person) {
                            (Some(r), _) => format!("record={}", path_segment(r)),
                            (None, Some(p)) => format!("person={}", path_segment(p)),
                            (None, None) => String::new(),
                        };
                        remote.get_json::<crate::wire::ConsultationsDto>(&format!(
                            "/api/v1/audit/consultations?{query}&after={after}&limit={CONSULTATIONS_PAGE}"
                        ))?
                    }
                };
                for c in &page.consultations {
                    if json {
                        print_json(c)?;
                    } else {
                        println!(
                            "{}\t{}\t{}\t{}\t{}",
                            format_time(&c.at),
                            c.who,
                            match c.reading.as_str() {
                                "content" => "contenu",
                                _ => "fiche",
                            },
                            c.reference,
                            c.from.as_deref().unwrap_or("-")
                        );
                    }
                }
                match page.next {
                    Some(next) if next > after => after = next,
                    _ => break,
                }
            }
            Ok(())
        }
        command @ (AuditCommand::Seal
        | AuditCommand::RotateKey
        | AuditCommand::Seals { .. }
        | AuditCommand::PublicKey { .. }
        | AuditCommand::Proof { .. }
        | AuditCommand::Consistency { .. }) => match ctx.target()? {
            Target::Local(archive) => seals_locally(&archive, command),
            Target::Remote(remote) => seals_remotely(&remote, command),
        },
    }
}

/// Prints a seal, as `audit seal` says it.
fn print_seal(seal: &Seal) {
    println!(
        "sceau {} : {} événements, racine {}, signé par la clé {}",
        seal.seq, seal.tree_size, seal.root, seal.public_key
    );
}

/// Prints seals, a line each, or JSON.
fn print_seals(seals: &[Seal], json: bool) -> Result<(), Failure> {
    for seal in seals {
        if json {
            print_json(seal)?;
        } else {
            println!(
                "{}\t{}\t{}\t{}",
                seal.seq,
                format_time(&seal.sealed_at),
                seal.tree_size,
                seal.root
            );
        }
    }
    Ok(())
}

/// Prints the seal key, hex or PEM.
fn print_key(key: &str, pem: bool) -> Result<(), Failure> {
    if pem {
        print!("{}", public_key_pem(key).map_err(|e| Failure::internal(e.to_string()))?);
    } else {
        println!("{key}");
    }
    Ok(())
}

/// Says what a rotation did, in French.
fn print_rotation(rotation: &crate::domain::seal::KeyRotation, seal: &Seal) {
    println!("ancienne clé : {}", rotation.previous_key);
    println!("nouvelle clé : {}", rotation.public_key);
    println!(
        "passage signé par les deux clés le {} ; journal scellé avec la nouvelle clé (sceau n° {}, {} événements)",
        crate::french::time(rotation.rotated_at),
        seal.seq,
        seal.tree_size
    );
}

/// The seal commands through the server.
fn seals_remotely(remote: &Remote, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Seal => {
            let seal: Seal = remote.post_json("/api/v1/audit/seals", &serde_json::json!({}))?;
            print_seal(&seal);
            Ok(())
        }
        AuditCommand::RotateKey => {
            let answer: serde_json::Value = remote.post_json("/api/v1/audit/keys/rotate", &serde_json::json!({}))?;
            let rotation: crate::domain::seal::KeyRotation = serde_json::from_value(answer["rotation"].clone())
                .map_err(|e| Failure::internal(format!("la réponse du serveur n'est pas celle attendue : {e}")))?;
            let seal: Seal = serde_json::from_value(answer["seal"].clone())
                .map_err(|e| Failure::internal(format!("la réponse du serveur n'est pas celle attendue : {e}")))?;
            print_rotation(&rotation, &seal);
            Ok(())
        }
        AuditCommand::Seals { json } => {
            let answer: serde_json::Value = remote.get_json("/api/v1/audit/seals")?;
            let seals: Vec<Seal> = serde_json::from_value(answer["seals"].clone())
                .map_err(|e| Failure::internal(format!("la réponse du serveur n'est pas celle attendue : {e}")))?;
            print_seals(&seals, json)
        }
        AuditCommand::PublicKey { pem, json } => {
            let answer: serde_json::Value = remote.get_json("/api/v1/audit/public-key")?;
            if json {
                return print_pretty(&answer);
            }
            print_key(answer["public_key"].as_str().unwrap_or_default(), pem)
        }
        AuditCommand::Proof { reference } => {
            let proof: RecordProof = remote.get_json(&format!("/api/v1/audit/proof/{}", path_segment(&reference)))?;
            print_pretty(&proof)
        }
        AuditCommand::Consistency { from, to } => {
            let to = to.map(|t| format!("&to={t}")).unwrap_or_default();
            let proof: ConsistencyProof = remote.get_json(&format!("/api/v1/audit/consistency?from={from}{to}"))?;
            print_pretty(&proof)
        }
        other => Err(Failure::internal(format!("{other:?} is not a seal command"))),
    }
}

/// The seal commands on the data directory.
fn seals_locally(archive: &crate::archive::Archive, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Seal => {
            print_seal(&archive.seal(&Actor::command_line())?);
            Ok(())
        }
        AuditCommand::RotateKey => {
            let (rotation, seal) = archive.rotate_seal_key(&Actor::command_line())?;
            print_rotation(&rotation, &seal);
            Ok(())
        }
        AuditCommand::Seals { json } => print_seals(&archive.seals(&Actor::command_line())?, json),
        AuditCommand::PublicKey { pem: _, json: true } => {
            let chain = archive.key_chain()?;
            print_pretty(&serde_json::json!({
                "archive": archive.archive_id(),
                "algorithm": "ed25519",
                "public_key": archive.seal_public_key(),
                "keys": chain.keys,
                "key_chain": chain.rotations,
            }))
        }
        AuditCommand::PublicKey { pem, json: false } => print_key(&archive.seal_public_key(), pem),
        AuditCommand::Proof { reference } => print_pretty(&archive.record_proof(&Actor::command_line(), &reference)?),
        AuditCommand::Consistency { from, to } => {
            print_pretty(&archive.consistency_proof(&Actor::command_line(), from, to)?)
        }
        other => Err(Failure::internal(format!("{other:?} is not a seal command"))),
    }
}

/// A progress bar on standard error when it is a terminal.
pub(super) fn progress_bar() -> indicatif::ProgressBar {
    let bar = if on_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:8} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// What an integrity report says, as the CLI prints it (read from the
/// archive, or from the server's answer).
#[derive(serde::Deserialize)]
struct ReportLines {
    events_checked: u64,
    through_seq: u64,
    seals_checked: u64,
    blobs_checked: u64,
    bytes_checked: u64,
    records_checked: u64,
    unreferenced_blobs: u64,
    messages: Vec<String>,
}

/// How often the CLI asks a server how a job goes.
const POLL: std::time::Duration = std::time::Duration::from_millis(300);

/// `audit verify`: through the server when there is one (its integrity
/// job, followed until it ends), else on the data directory, read-only.
fn verify(ctx: &Context, json: bool) -> Result<(), Failure> {
    let progress = Bar(progress_bar());
    let report: serde_json::Value = match ctx.remote()? {
        Some(remote) => verify_remotely(&remote, &progress)?,
        None => {
            let report = check_integrity_offline(&ctx.config.data_dir(), &progress)?;
            serde_json::to_value(IntegrityReportDto::from(report))
                .map_err(|e| Failure::internal(format!("encoding the report: {e}")))?
        }
    };
    progress.0.finish_and_clear();
    let lines: ReportLines = serde_json::from_value(report.clone())
        .map_err(|e| Failure::internal(format!("le rapport reçu n'est pas celui attendu : {e}")))?;
    let failures = lines.messages.len();
    if json {
        print_json(&report)?;
    } else {
        for message in &lines.messages {
            println!("DÉFAUT : {message}");
        }
        println!(
            "{} jusqu'au n° {}, {}, {} ({}) recalculés, {} comparés, {} : {}",
            super::count(lines.events_checked, "événement du journal", "événements du journal"),
            lines.through_seq,
            super::count(lines.seals_checked, "sceau", "sceaux"),
            super::count(lines.blobs_checked, "contenu", "contenus"),
            super::count(lines.bytes_checked, "octet", "octets"),
            super::count(lines.records_checked, "document", "documents"),
            super::count(
                lines.unreferenced_blobs,
                "contenu non référencé",
                "contenus non référencés"
            ),
            if failures == 0 {
                "tout est intact".to_owned()
            } else {
                super::count(failures as u64, "défaut", "défauts")
            }
        );
    }
    if failures > 0 {
        return Err(Failure::check_failed(format!(
            "le contrôle d'intégrité a trouvé {}",
            super::count(failures as u64, "défaut", "défauts")
        )));
    }
    Ok(())
}

/// Starts the server's integrity job and follows it to its report.
fn verify_remotely(remote: &Remote, progress: &Bar) -> Result<serde_json::Value, Failure> {
    let started: serde_json::Value = remote.post_json("/api/v1/audit/verify", &serde_json::json!({}))?;
    let job = started["job"]
        .as_u64()
        .ok_or_else(|| Failure::internal("le serveur n'a pas donné de numéro de contrôle"))?;
    let mut phase = String::new();
    loop {
        let mut view: serde_json::Value = remote.get_json(&format!("/api/v1/audit/verify/{job}"))?;
        match view["status"].as_str().unwrap_or_default() {
            "running" => {
                let now = view["phase"].as_str().unwrap_or_default();
                if now != phase {
                    phase = now.to_owned();
                    progress.begin(&phase, view["total"].as_u64().unwrap_or(0));
                }
                progress.0.set_length(view["total"].as_u64().unwrap_or(0));
                progress.0.set_position(view["done"].as_u64().unwrap_or(0));
                std::thread::sleep(POLL);
            }
            "error" => {
                return Err(Failure::internal(format!(
                    "le contrôle d'intégrité n° {job} n'a pas pu aller au bout : {}",
                    view["error"].as_str().unwrap_or("raison inconnue")
                )));
            }
            _ => return Ok(view["report"].take()),
        }
    }
}

/// Reads the journal files directly (read-only), so it works while a
/// server holds the data directory; through the server when one is named.
fn log(ctx: &Context, after: u64, json: bool) -> Result<(), Failure> {
    let print = |value: &serde_json::Value| -> Result<(), Failure> {
        if json {
            print_json(value)
        } else {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                value["seq"],
                value["time"].as_str().unwrap_or_default(),
                value["actor"].as_str().unwrap_or_default(),
                value["kind"].as_str().unwrap_or_default(),
                value["payload"]
            );
            Ok(())
        }
    };
    if ctx.server.is_some()
        && let Some(remote) = ctx.remote()?
    {
        let mut after = after;
        loop {
            let page: serde_json::Value =
                remote.get_json(&format!("/api/v1/audit/events?after={after}&limit=10000"))?;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            if events.is_empty() {
                return Ok(());
            }
            for event in &events {
                print(event)?;
            }
            after = page["next_after"].as_u64().unwrap_or(after);
        }
    }
    for event in journal_offline(&ctx.config.data_dir(), after)? {
        print(&event?.to_value())?;
    }
    Ok(())
}

/// Prints a value as indented JSON.
pub(super) fn print_pretty(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::internal(format!("encoding JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

/// The fixity job's status, as the server or the archive gives it.
#[derive(serde::Deserialize)]
struct FixityView {
    state: String,
    #[serde(flatten)]
    detail: crate::archive::fixity::FixityState,
}

/// `audit fixity`: through the server when there is one (a run asked for
/// is followed until it ends), else on the data directory.
fn fixity(ctx: &Context, action: &str, rate: &str, json: bool) -> Result<(), Failure> {
    if !["status", "pause", "resume", "run"].contains(&action) {
        return Err(Failure::usage(format!(
            "{action:?} : les actions du contrôle d'intégrité planifié sont status, pause, resume et run"
        )));
    }
    let status = match ctx.remote()? {
        Some(remote) => fixity_remotely(&remote, action)?,
        None => fixity_locally(ctx, action, rate)?,
    };
    let view: FixityView = serde_json::from_value(status.clone())
        .map_err(|e| Failure::internal(format!("l'état reçu n'est pas celui attendu : {e}")))?;
    if json {
        print_json(&status)?;
    } else {
        print_fixity(&view);
    }
    let failed = view.detail.last.as_ref().is_some_and(|l| !l.findings.is_empty());
    if action == "run" && failed {
        return Err(Failure::check_failed(
            "le contrôle a trouvé des contenus altérés ou manquants",
        ));
    }
    Ok(())
}

fn fixity_locally(ctx: &Context, action: &str, rate: &str) -> Result<serde_json::Value, Failure> {
    let schedule = crate::config::FixitySchedule::new(crate::config::DEFAULT_FIXITY_EVERY, rate)?;
    let archive = ctx.open()?;
    let actor = Actor::command_line();
    match action {
        "pause" => {
            archive.pause_fixity(&actor)?;
        }
        "resume" => {
            archive.resume_fixity(&actor)?;
        }
        "run" => {
            archive.request_fixity(&actor)?;
            let stop = std::sync::atomic::AtomicBool::new(false);
            archive.fixity_work(&schedule, &stop)?;
        }
        _ => {}
    }
    serde_json::to_value(archive.fixity_status(&schedule))
        .map_err(|e| Failure::internal(format!("encoding the status: {e}")))
}

/// The job through the server; `run` asks for a run and follows it until
/// the server's job has finished one that began after the asking.
fn fixity_remotely(remote: &Remote, action: &str) -> Result<serde_json::Value, Failure> {
    match action {
        "status" => remote.get_json("/api/v1/audit/fixity"),
        "pause" | "resume" => remote.post_json(&format!("/api/v1/audit/fixity/{action}"), &serde_json::json!({})),
        _ => {
            let before: FixityView = decode_fixity(remote.get_json("/api/v1/audit/fixity")?)?;
            let last_before = before.detail.last.as_ref().map(|l| l.seq);
            let asked: serde_json::Value = remote.post_json("/api/v1/audit/fixity/run", &serde_json::json!({}))?;
            if decode_fixity(asked)?.state == "paused" {
                return Err(Failure::new(
                    crate::errors::Code::FixityPaused,
                    "le contrôle planifié est en pause : reprenez-le d'abord avec `coffre audit fixity resume`",
                ));
            }
            let bar = progress_bar();
            bar.set_message("contenus");
            loop {
                std::thread::sleep(POLL);
                let status: serde_json::Value = remote.get_json("/api/v1/audit/fixity")?;
                let view = decode_fixity(status.clone())?;
                if let Some(run) = &view.detail.run {
                    bar.set_length(run.blobs_total);
                    bar.set_position(run.blobs_checked);
                }
                let finished = view.detail.last.as_ref().map(|l| l.seq) != last_before;
                if finished && view.detail.run.is_none() && !view.detail.requested {
                    bar.finish_and_clear();
                    return Ok(status);
                }
                if view.state == "paused" {
                    bar.finish_and_clear();
                    return Err(Failure::new(
                        crate::errors::Code::FixityPaused,
                        "le contrôle a été mis en pause avant la fin",
                    ));
                }
            }
        }
    }
}

fn decode_fixity(value: serde_json::Value) -> Result<FixityView, Failure> {
    serde_json::from_value(value).map_err(|e| Failure::internal(format!("l'état reçu n'est pas celui attendu : {e}")))
}

fn print_fixity(view: &FixityView) {
    let state = match view.state.as_str() {
        "running" => "en cours",
        "paused" => "en pause",
        "idle" => "en attente",
        other => other,
    };
    println!("contrôle planifié des contenus : {state}");
    if let Some(run) = &view.detail.run {
        println!(
            "  en cours depuis le {} : {} sur {}, {}, {}",
            crate::french::time(run.started_at),
            run.blobs_checked,
            super::count(run.blobs_total, "contenu", "contenus"),
            super::count(run.bytes_checked, "octet", "octets"),
            super::count(run.findings.len() as u64, "défaut", "défauts")
        );
    }
    if let Some(last) = &view.detail.last {
        println!(
            "  dernier passage du {} au {} : {}, {}, {}",
            crate::french::time(last.started_at),
            crate::french::time(last.finished_at),
            super::count(last.blobs_checked, "contenu", "contenus"),
            super::count(last.bytes_checked, "octet", "octets"),
            super::count(last.findings.len() as u64, "défaut", "défauts")
        );
        for finding in &last.findings {
            let problem = match finding.problem.as_str() {
                "corrupt" => "altéré",
                "missing" => "manquant",
                other => other,
            };
            println!(
                "  DÉFAUT : le contenu {} est {problem} (utilisé par {})",
                finding.blob,
                if finding.used_by.is_empty() {
                    "aucun document".to_owned()
                } else {
                    finding.used_by.join(", ")
                }
            );
        }
    }
}

/// `coffre repair`: through the server when there is one, else on the
/// data directory; exit 1 when something could not be repaired.
pub(super) fn repair(ctx: &Context, json: bool) -> Result<(), Failure> {
    let report: crate::wire::RepairReportDto = match ctx.target()? {
        super::Target::Local(archive) => archive.repair(&Actor::command_line())?.into(),
        super::Target::Remote(remote) => remote.post_json("/api/v1/repair", &serde_json::json!({}))?,
    };
    if json {
        print_json(&report)?;
    } else {
        print_repair(&report);
    }
    if report.complete {
        Ok(())
    } else {
        let n = report.unrepaired.len() as u64;
        Err(Failure::check_failed(if n == 1 {
            "1 contenu n'a pu être réparé".to_owned()
        } else {
            format!("{} n'ont pu être réparés", super::count(n, "contenu", "contenus"))
        }))
    }
}

/// `coffre pack`: on the data directory, the server stopped.
pub(super) fn pack(ctx: &Context, json: bool) -> Result<(), Failure> {
    let bar = if json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    let packing = crate::archive::pack_blob_files(&ctx.config.data_dir(), &mut |done| {
        bar.set_message(format!(
            "{} rangés dans des paquets ({})",
            super::count(done.packed, "contenu", "contenus"),
            crate::french::size(done.bytes)
        ));
        bar.tick();
    })?;
    bar.finish_and_clear();
    let damaged: Vec<String> = packing.damaged.iter().map(|sha| sha.hex()).collect();
    if json {
        print_json(&serde_json::json!({
            "packed": packing.packed,
            "bytes": packing.bytes,
            "large": packing.large,
            "damaged": damaged,
        }))?;
    } else {
        println!(
            "{} rangés dans des paquets ({}) ; {} de plus de 64 Kio laissés en fichiers",
            super::count(packing.packed, "contenu", "contenus"),
            crate::french::size(packing.bytes),
            super::count(packing.large, "contenu", "contenus"),
        );
        for sha in &damaged {
            println!("  endommagé, laissé en place : {sha}");
        }
    }
    match damaged.len() {
        0 => Ok(()),
        1 => Err(Failure::check_failed(
            "1 contenu ne correspond plus à son empreinte et est resté en place : lancez `coffre repair`".to_owned(),
        )),
        n => Err(Failure::check_failed(format!(
            "{n} contenus ne correspondent plus à leur empreinte et sont restés en place : lancez `coffre repair`"
        ))),
    }
}

fn print_repair(report: &crate::wire::RepairReportDto) {
    let used_by = |refs: &[String]| {
        if refs.is_empty() {
            "aucun document".to_owned()
        } else {
            refs.join(", ")
        }
    };
    println!(
        "réparation : {} examinés ; {}",
        super::count(report.blobs_examined, "contenu", "contenus"),
        if report.copies.is_empty() {
            "aucun stockage de copies configuré".to_owned()
        } else {
            format!("copies sur {}", report.copies.join(", "))
        }
    );
    for repaired in &report.repaired {
        println!(
            "  réparé : {} depuis {} ({})",
            repaired.blob,
            repaired.source,
            used_by(&repaired.used_by)
        );
    }
    for completed in &report.copies_completed {
        println!("  copie complétée : {} sur {}", completed.blob, completed.copy);
    }
    for failed in &report.unrepaired {
        let problem = if failed.problem == "missing" {
            "manquant"
        } else {
            "altéré"
        };
        println!(
            "  NON RÉPARÉ : {} est {problem} ({}) : {}",
            failed.blob,
            used_by(&failed.used_by),
            failed.reason
        );
    }
    println!(
        "bilan : {}, {}, {}",
        super::count(report.repaired.len() as u64, "contenu réparé", "contenus réparés"),
        super::count(
            report.copies_completed.len() as u64,
            "copie complétée",
            "copies complétées"
        ),
        super::count(
            report.unrepaired.len() as u64,
            "contenu non réparé",
            "contenus non réparés"
        )
    );
}

/// `coffre restore --from DIR|s3://…`: on the data directory named by
/// `--data`, never through a server (it builds the directory a server will
/// serve).
pub(super) fn restore(ctx: &Context, from: &crate::archive::mirror::CopyPlace, json: bool) -> Result<(), Failure> {
    let progress = Bar(progress_bar());
    let report = crate::archive::restore::restore(
        from,
        &ctx.config.data_dir(),
        ctx.config.archive_options(),
        std::sync::Arc::clone(&ctx.clock),
        &progress,
    )?;
    progress.0.finish_and_clear();
    let failures = report.integrity.failures.len() + report.refused.len();
    if json {
        print_json(&serde_json::json!({
            "from": report.from,
            "segments": report.segments,
            "events": report.events,
            "keys": report.keys,
            "blobs_restored": report.blobs_restored,
            "bytes_restored": report.bytes_restored,
            "refused": report.refused.iter().map(|s| s.hex()).collect::<Vec<_>>(),
            "records": report.records,
            "integrity": IntegrityReportDto::from(report.integrity.clone()),
        }))?;
    } else {
        println!("restauration depuis {} :", report.from);
        println!(
            "  journal : {}, {}",
            super::count(report.segments, "segment", "segments"),
            super::count(report.events, "événement", "événements")
        );
        println!("  clés : {}", super::count(report.keys, "fichier", "fichiers"));
        println!(
            "  contenus : {} ({})",
            super::count(report.blobs_restored, "contenu restauré", "contenus restaurés"),
            super::count(report.bytes_restored, "octet", "octets")
        );
        for blob in &report.refused {
            println!(
                "  CONTENU LAISSÉ : {} : sa copie ne correspond plus à son empreinte",
                blob.hex()
            );
        }
        println!(
            "  catalogue et index reconstruits : {}",
            super::count(report.records, "document", "documents")
        );
        for failure in &report.integrity.failures {
            println!("  DÉFAUT : {failure}");
        }
        println!(
            "  vérification : {}",
            if report.integrity.passed() {
                "tout est intact".to_owned()
            } else {
                super::count(report.integrity.failures.len() as u64, "défaut", "défauts")
            }
        );
    }
    if failures > 0 {
        return Err(Failure::check_failed(format!(
            "la restauration est incomplète : {}",
            super::count(failures as u64, "défaut", "défauts")
        )));
    }
    Ok(())
}
