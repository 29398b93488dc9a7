//! `coffre retention` and `coffre hold`: what is due, start events, legal
//! holds.

use super::{Context, Failure, print_json};
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
    let archive = ctx.open()?;
    let actor = Actor::command_line();
    match command {
        RetentionCommand::Due { at, json } => {
            let at = at
                .as_deref()
                .map(|d| parse_date("at", d))
                .transpose()
                .map_err(|e| Failure::usage(e.to_string()))?;
            let due = archive.retention_due(&actor, at)?;
            for record in &due {
                let dto = DueRecordDto::from(record);
                if json {
                    print_json(&dto)?;
                } else {
                    let held = if dto.held_by.is_empty() {
                        String::new()
                    } else {
                        format!("  HELD by {:?}", dto.held_by)
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
            println!("{name} on {date} recorded for {count} records");
            Ok(())
        }
    }
}

/// Runs a hold command.
pub fn run_hold(ctx: &Context, command: HoldCommand) -> Result<(), Failure> {
    let archive = ctx.open()?;
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
            println!("hold {} placed on {} {}", dto.id, dto.scope, dto.target);
            Ok(())
        }
        HoldCommand::Lift { id, reason } => {
            archive.lift_hold(&actor, id, &reason)?;
            archive.flush()?;
            println!("hold {id} lifted");
            Ok(())
        }
        HoldCommand::List { json } => {
            for hold in archive.holds(&actor)? {
                let dto = HoldDto::from(&hold);
                if json {
                    print_json(&dto)?;
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
    }
}
