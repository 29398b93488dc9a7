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
struct Bar(indicatif::ProgressBar);

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

/// Runs an audit command.
pub fn run(ctx: &Context, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Verify { json } => verify(ctx, json),
        AuditCommand::Log { after, json } => log(ctx, after, json),
        AuditCommand::Fixity { action, rate, json } => fixity(ctx, &action, &rate, json),
        command @ (AuditCommand::Seal
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
        "seal {}: {} events, root {}, signed by {}",
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

/// The seal commands through the server.
fn seals_remotely(remote: &Remote, command: AuditCommand) -> Result<(), Failure> {
    match command {
        AuditCommand::Seal => {
            let seal: Seal = remote.post_json("/api/v1/audit/seals", &serde_json::json!({}))?;
            print_seal(&seal);
            Ok(())
        }
        AuditCommand::Seals { json } => {
            let answer: serde_json::Value = remote.get_json("/api/v1/audit/seals")?;
            let seals: Vec<Seal> = serde_json::from_value(answer["seals"].clone())
                .map_err(|e| Failure::internal(format!("la réponse du serveur n'est pas celle attendue : {e}")))?;
            print_seals(&seals, json)
        }
        AuditCommand::PublicKey { pem } => {
            let answer: serde_json::Value = remote.get_json("/api/v1/audit/public-key")?;
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
        AuditCommand::Seals { json } => print_seals(&archive.seals(&Actor::command_line())?, json),
        AuditCommand::PublicKey { pem } => print_key(&archive.seal_public_key(), pem),
        AuditCommand::Proof { reference } => print_pretty(&archive.record_proof(&Actor::command_line(), &reference)?),
        AuditCommand::Consistency { from, to } => {
            print_pretty(&archive.consistency_proof(&Actor::command_line(), from, to)?)
        }
        other => Err(Failure::internal(format!("{other:?} is not a seal command"))),
    }
}

fn verify(ctx: &Context, json: bool) -> Result<(), Failure> {
    let bar = if on_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:8} {bar:40} {pos}/{len}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = Bar(bar);
    let report = check_integrity_offline(&ctx.config.data_dir(), &progress)?;
    progress.0.finish_and_clear();
    let failures = report.failures.len();
    if json {
        print_json(&IntegrityReportDto::from(report))?;
    } else {
        for failure in &report.failures {
            println!("FAILED: {failure}");
        }
        println!(
            "{} jusqu'au n° {}, {}, {} ({}) recalculés, {} comparés, {} : {}",
            super::count(report.events_checked, "événement du journal", "événements du journal"),
            report.through_seq,
            super::count(report.seals_checked, "sceau", "sceaux"),
            super::count(report.blobs_checked, "contenu", "contenus"),
            super::count(report.bytes_checked, "octet", "octets"),
            super::count(report.records_checked, "document", "documents"),
            super::count(
                report.unreferenced_blobs,
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
            "integrity check failed: {failures} failures"
        )));
    }
    Ok(())
}

/// Reads the journal files directly (read-only), so it works while a
/// server holds the data directory.
fn log(ctx: &Context, after: u64, json: bool) -> Result<(), Failure> {
    for event in journal_offline(&ctx.config.data_dir(), after)? {
        let event = event?;
        if json {
            print_json(&event.to_value())?;
        } else {
            println!(
                "{}\t{}\t{}\t{}\t{}",
                event.seq,
                format_time(&event.time),
                event.actor,
                event.kind,
                serde_json::to_string(&event.payload).unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Prints a value as indented JSON.
pub(super) fn print_pretty(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::internal(format!("encoding JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

fn fixity(ctx: &Context, action: &str, rate: &str, json: bool) -> Result<(), Failure> {
    let schedule = crate::config::FixitySchedule::new(crate::config::DEFAULT_FIXITY_EVERY, rate)?;
    let archive = ctx.open()?;
    let actor = Actor::command_line();
    match action {
        "status" => {}
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
        other => {
            return Err(Failure::usage(format!(
                "{other:?}: the fixity actions are status, pause, resume and run"
            )));
        }
    }
    let status = archive.fixity_status(&schedule);
    if json {
        print_json(&status)?;
    } else {
        println!("fixity job: {}", status.state);
        if let Some(run) = &status.detail.run {
            println!(
                "  run since {}: {} of {} blobs, {} bytes, {} findings",
                format_time(&run.started_at),
                run.blobs_checked,
                run.blobs_total,
                run.bytes_checked,
                run.findings.len()
            );
        }
        if let Some(last) = &status.detail.last {
            println!(
                "  last run {} → {}: {} blobs, {} bytes, {} findings",
                format_time(&last.started_at),
                format_time(&last.finished_at),
                last.blobs_checked,
                last.bytes_checked,
                last.findings.len()
            );
            for finding in &last.findings {
                println!(
                    "  FAILED: blob {} is {} (used by {})",
                    finding.blob,
                    finding.problem,
                    finding.used_by.join(", ")
                );
            }
        }
    }
    let failed = status.detail.last.as_ref().is_some_and(|l| !l.findings.is_empty());
    if action == "run" && failed {
        return Err(Failure::check_failed("fixity run found corrupt or missing blobs"));
    }
    Ok(())
}
