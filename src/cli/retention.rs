//! `coffre retention` and `coffre hold`: what is due, start events, legal
//! holds.

use super::client::{Remote, path_segment};
use super::{Context, Failure, Target, print_json};
use crate::archive::{Actor, EventTarget, HoldRequest};
use crate::domain::record::parse_date;
use crate::wire::{DueRecordDto, HoldDto};
use clap::Subcommand;

/// `coffre retention ...`
#[derive(Subcommand, Debug)]
pub enum RetentionCommand {
    /// Records whose retention has ended at a date (today by default), with
    /// their final action and the holds that stop them.
    Due {
        /// YYYY-MM-DD; a future date lists what becomes due by then.
        #[arg(long)]
        at: Option<String>,
        /// One JSON object per record.
        #[arg(long)]
        json: bool,
    },
    /// Decide what becomes of a due record whose rule says review.
    Review {
        /// The record.
        reference: String,
        /// keep or destroy.
        #[arg(long)]
        decision: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Record that a start event happened (closing, contract_end, ...).
    Event {
        /// The event, as rules name it after `event:`.
        name: String,
        /// When it happened, YYYY-MM-DD.
        #[arg(long)]
        date: String,
        /// A record it applies to (repeatable).
        #[arg(
            long = "record",
            value_name = "REF",
            required_unless_present = "node",
            conflicts_with = "node"
        )]
        records: Vec<String>,
        /// Every record of this node and below.
        #[arg(long)]
        node: Option<String>,
    },
}

/// `coffre hold ...`
#[derive(Subcommand, Debug)]
pub enum HoldCommand {
    /// Freeze a record, a node or what a search finds (now and later).
    Place {
        /// Why.
        #[arg(long)]
        reason: String,
        /// A record (reference, alias or id).
        #[arg(long, group = "scope")]
        record: Option<String>,
        /// A node, and everything below it.
        #[arg(long, group = "scope")]
        node: Option<String>,
        /// A search query.
        #[arg(long, group = "scope")]
        query: Option<String>,
        /// Who answers for it (default: you).
        #[arg(long)]
        owner: Option<String>,
        /// When to look at it again, YYYY-MM-DD.
        #[arg(long)]
        review: Option<String>,
        /// The hold as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Lift a hold, with a reason.
    Lift {
        /// The hold's id.
        id: u64,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Every hold, with its review date.
    List {
        /// One JSON object per hold.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a retention command.
pub fn run(ctx: &Context, command: RetentionCommand) -> Result<(), Failure> {
    let actor = Actor::command_line();
    let archive = match ctx.target()? {
        Target::Local(archive) => archive,
        Target::Remote(remote) => return run_remote(&remote, command),
    };
    match command {
        RetentionCommand::Due { at, json } => {
            let at = at
                .as_deref()
                .map(|d| parse_date("at", d))
                .transpose()
                .map_err(|e| Failure::usage(e.to_string()))?;
            let due: Vec<DueRecordDto> = archive
                .retention_due(&actor, at)?
                .iter()
                .map(DueRecordDto::from)
                .collect();
            print_due(&due, json)
        }
        RetentionCommand::Review {
            reference,
            decision,
            reason,
        } => {
            let record = archive.review_record(&actor, &reference, &decision, &reason)?;
            archive.flush()?;
            println!("{}: {decision}", record.reference);
            Ok(())
        }
        RetentionCommand::Event {
            name,
            date,
            records,
            node,
        } => {
            let target = match node {
                Some(node) => EventTarget::Node(node),
                None => EventTarget::Records(records),
            };
            let count = archive.record_start_event(&actor, &name, &date, target)?;
            archive.flush()?;
            println!(
                "{name} au {} enregistré pour {}",
                crate::french::iso_date(&date),
                super::count(count as u64, "document", "documents")
            );
            Ok(())
        }
    }
}

/// Prints what is due, as a line each, or JSON.
fn print_due(due: &[DueRecordDto], json: bool) -> Result<(), Failure> {
    for dto in due {
        if json {
            print_json(dto)?;
        } else {
            let held = if dto.held_by.is_empty() {
                String::new()
            } else {
                format!(
                    "  GELÉ par {} {}",
                    if dto.held_by.len() > 1 { "les gels" } else { "le gel" },
                    dto.held_by
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            println!(
                "{}\t{}\t{}\t{}\t{}{held}",
                dto.due, dto.reference, dto.node, dto.rule, dto.final_action
            );
        }
    }
    if !json {
        eprintln!("{}", super::count(due.len() as u64, "document échu", "documents échus"));
    }
    Ok(())
}

/// A retention command through the server.
fn run_remote(remote: &Remote, command: RetentionCommand) -> Result<(), Failure> {
    match command {
        RetentionCommand::Due { at, json } => {
            let query = at.map(|d| format!("?at={}", path_segment(&d))).unwrap_or_default();
            let answer: serde_json::Value = remote.get_json(&format!("/api/v1/retention/due{query}"))?;
            let due: Vec<DueRecordDto> = serde_json::from_value(answer["records"].clone())
                .map_err(|e| Failure::internal(format!("la réponse du serveur n'est pas celle attendue : {e}")))?;
            print_due(&due, json)
        }
        RetentionCommand::Review {
            reference,
            decision,
            reason,
        } => {
            let record: crate::wire::RecordDto = remote.post_json(
                &format!("/api/v1/records/{}/review", path_segment(&reference)),
                &serde_json::json!({"decision": decision, "reason": reason}),
            )?;
            println!("{}: {decision}", record.reference);
            Ok(())
        }
        RetentionCommand::Event {
            name,
            date,
            records,
            node,
        } => {
            let body = match node {
                Some(node) => serde_json::json!({"name": name, "date": date, "node": node}),
                None => serde_json::json!({"name": name, "date": date, "records": records}),
            };
            let answer: serde_json::Value = remote.post_json("/api/v1/retention/events", &body)?;
            let count = answer["records"].as_u64().unwrap_or_default();
            println!(
                "{name} au {} enregistré pour {}",
                crate::french::iso_date(&date),
                super::count(count as u64, "document", "documents")
            );
            Ok(())
        }
    }
}

/// A hold command through the server.
fn run_hold_remote(remote: &Remote, command: HoldCommand) -> Result<(), Failure> {
    match command {
        HoldCommand::Place {
            reason,
            record,
            node,
            query,
            owner,
            review,
            json,
        } => {
            let hold: HoldDto = remote.post_json(
                "/api/v1/holds",
                &serde_json::json!({"record": record, "node": node, "query": query, "reason": reason,
                    "owner": owner, "review": review}),
            )?;
            if json {
                return print_json(&hold);
            }
            println!("gel {} posé sur {} {}", hold.id, scope(&hold.scope), hold.target);
            Ok(())
        }
        HoldCommand::Lift { id, reason } => {
            let _: HoldDto = remote.post_json(
                &format!("/api/v1/holds/{id}/lift"),
                &serde_json::json!({"reason": reason}),
            )?;
            println!("gel {id} levé");
            Ok(())
        }
        HoldCommand::List { json } => {
            let holds: Vec<HoldDto> = remote.get_json("/api/v1/holds")?;
            print_holds(&holds, json)
        }
    }
}

/// Prints holds, as a line each, or JSON.
/// What a hold covers, for people: `record`, `node`, `query`.
fn scope(code: &str) -> &str {
    match code {
        "record" => "le document",
        "node" => "le nœud",
        "query" => "la recherche",
        other => other,
    }
}

fn print_holds(holds: &[HoldDto], json: bool) -> Result<(), Failure> {
    for dto in holds {
        if json {
            print_json(dto)?;
        } else {
            println!(
                "{}\t{}\t{} {}\t{}\treview {}\t{}",
                dto.id,
                dto.state,
                dto.scope,
                dto.target,
                dto.owner,
                dto.review.as_deref().unwrap_or("-"),
                dto.reason
            );
        }
    }
    Ok(())
}

/// Runs a hold command.
pub fn run_hold(ctx: &Context, command: HoldCommand) -> Result<(), Failure> {
    let archive = match ctx.target()? {
        Target::Local(archive) => archive,
        Target::Remote(remote) => return run_hold_remote(&remote, command),
    };
    let actor = Actor::command_line();
    match command {
        HoldCommand::Place {
            reason,
            record,
            node,
            query,
            owner,
            review,
            json,
        } => {
            let hold = archive.place_hold(
                &actor,
                HoldRequest {
                    record,
                    node,
                    query,
                    reason,
                    owner,
                    review,
                },
            )?;
            archive.flush()?;
            let dto = HoldDto::from(&hold);
            if json {
                return print_json(&dto);
            }
            println!("gel {} posé sur {} {}", dto.id, scope(&dto.scope), dto.target);
            Ok(())
        }
        HoldCommand::Lift { id, reason } => {
            archive.lift_hold(&actor, id, &reason)?;
            archive.flush()?;
            println!("gel {id} levé");
            Ok(())
        }
        HoldCommand::List { json } => {
            let holds: Vec<HoldDto> = archive.holds(&actor)?.iter().map(HoldDto::from).collect();
            print_holds(&holds, json)
        }
    }
}
