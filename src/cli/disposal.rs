//! `coffre disposal`: propose, approve with the visa, execute, certify.

use super::{Context, Failure, print_json};
use crate::archive::{Actor, ProposalRequest, VisaRequest};
use crate::documents;
use crate::errors::Code;
use crate::wire::{DisposalDto, TransferDto};
use clap::Subcommand;

/// `coffre disposal ...`
#[derive(Subcommand, Debug)]
pub enum DisposalCommand {
    /// Propose the disposal of the records due for destruction.
    Propose {
        /// Records due on or before this date, YYYY-MM-DD (default: today).
        #[arg(long)]
        at: Option<String>,
        /// Only this node and below.
        #[arg(long)]
        node: Option<String>,
        /// Only these records (repeatable).
        #[arg(long = "record", value_name = "REF")]
        records: Vec<String>,
        /// The proposal as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print a disposal's bordereau (HTML, or CSV with --csv).
    Bordereau {
        /// The disposal's id.
        id: u64,
        /// CSV instead of HTML.
        #[arg(long)]
        csv: bool,
    },
    /// Record the archives authority's visa.
    Approve {
        /// The disposal's id.
        id: u64,
        /// The visa's reference.
        #[arg(long)]
        visa: String,
        /// Who signed it.
        #[arg(long)]
        signer: Option<String>,
        /// Its date, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// A line the authority struck (repeatable): kept, not destroyed.
        #[arg(long = "strike", value_name = "REF")]
        struck: Vec<String>,
    },
    /// Execute an approved disposal.
    Execute {
        /// The disposal's id.
        id: u64,
        /// The result as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print an executed disposal's certificate (JSON).
    Certificate {
        /// The disposal's id.
        id: u64,
    },
    /// Every disposal.
    List {
        /// One JSON object per disposal.
        #[arg(long)]
        json: bool,
    },
}

fn summary(d: &DisposalDto) -> String {
    format!(
        "disposal {}: {}, {} records ({} bytes) due by {}{}",
        d.id,
        d.state,
        d.count,
        d.bytes,
        d.at,
        d.node.as_deref().map(|n| format!(", node {n}")).unwrap_or_default()
    )
}

/// `coffre transfer ...`
#[derive(Subcommand, Debug)]
pub enum TransferCommand {
    /// Propose the transfer to the archives of the records due whose final
    /// action is keep.
    Propose {
        /// Records due on or before this date, YYYY-MM-DD (default: today).
        #[arg(long)]
        at: Option<String>,
        /// Only this node and below.
        #[arg(long)]
        node: Option<String>,
        /// Only these records (repeatable).
        #[arg(long = "record", value_name = "REF")]
        records: Vec<String>,
        /// The proposal as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Every transfer.
    List {
        /// One JSON object per transfer.
        #[arg(long)]
        json: bool,
    },
    /// Record the archives service's acknowledgement of an exported
    /// transfer: the records it took become tombstones pointing to it.
    Acknowledge {
        /// The transfer's id.
        id: u64,
        /// The archives service's reference for the transfer.
        #[arg(long)]
        reference: String,
        /// The acknowledgement's date, YYYY-MM-DD (default: today).
        #[arg(long)]
        date: Option<String>,
        /// Who signed it.
        #[arg(long)]
        signer: Option<String>,
        /// The transfer as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a transfer command.
pub fn run_transfer(ctx: &Context, command: TransferCommand) -> Result<(), Failure> {
    let archive = ctx.open()?;
    let actor = Actor::command_line();
    match command {
        TransferCommand::Propose {
            at,
            node,
            records,
            json,
        } => {
            let transfer = archive.propose_transfer(&actor, ProposalRequest { at, node, records })?;
            archive.flush()?;
            let dto = TransferDto::from(&transfer);
            if json {
                return print_json(&dto);
            }
            println!(
                "transfer {}: {} records ({} bytes) due by {}",
                dto.id, dto.count, dto.bytes, dto.at
            );
        }
        TransferCommand::List { json } => {
            for transfer in archive.transfers(&actor)? {
                let dto = TransferDto::from(&transfer);
                if json {
                    print_json(&dto)?;
                } else {
                    println!(
                        "transfer {}: {} records ({} bytes) due by {}, {}",
                        dto.id, dto.count, dto.bytes, dto.at, dto.state
                    );
                }
            }
        }
        TransferCommand::Acknowledge {
            id,
            reference,
            date,
            signer,
            json,
        } => {
            let request = crate::archive::AcknowledgementRequest {
                reference,
                date,
                signer,
            };
            let transfer = archive.acknowledge_transfer(&actor, id, request)?;
            archive.flush()?;
            let dto = TransferDto::from(&transfer);
            if json {
                return print_json(&dto);
            }
            if let Some(ack) = &transfer.acknowledgement {
                let moved = ack.outcomes.iter().filter(|o| o.skipped.is_none()).count();
                println!(
                    "transfer {id} acknowledged by the archives ({}): {moved} records transferred, {} kept here",
                    ack.reference,
                    ack.outcomes.len() - moved
                );
                for o in ack.outcomes.iter().filter(|o| o.skipped.is_some()) {
                    println!("  kept: {} ({})", o.reference, o.skipped.clone().unwrap_or_default());
                }
            }
        }
    }
    Ok(())
}

/// Runs a disposal command.
pub fn run(ctx: &Context, command: DisposalCommand) -> Result<(), Failure> {
    let archive = ctx.open()?;
    let actor = Actor::command_line();
    match command {
        DisposalCommand::Propose {
            at,
            node,
            records,
            json,
        } => {
            let disposal = archive.propose_disposal(&actor, ProposalRequest { at, node, records })?;
            archive.flush()?;
            let dto = DisposalDto::from(&disposal);
            if json {
                return print_json(&dto);
            }
            println!("{}", summary(&dto));
            for e in &dto.excluded {
                println!("left out: {} ({})", e.reference, e.reason);
            }
        }
        DisposalCommand::Bordereau { id, csv } => {
            let disposal = archive.disposal(&actor, id)?;
            let plan = archive.plan(&actor, None)?;
            if csv {
                print!("{}", documents::bordereau_csv(&disposal, &plan.plan));
            } else {
                print!("{}", documents::bordereau_html(&disposal, &plan.plan));
            }
        }
        DisposalCommand::Approve {
            id,
            visa,
            signer,
            date,
            struck,
        } => {
            let disposal = archive.approve_disposal(
                &actor,
                id,
                VisaRequest {
                    visa,
                    signer: signer.unwrap_or_else(|| "not stated".into()),
                    date,
                    struck,
                },
            )?;
            archive.flush()?;
            println!("{}", summary(&DisposalDto::from(&disposal)));
        }
        DisposalCommand::Execute { id, json } => {
            let disposal = archive.execute_disposal(&actor, id)?;
            archive.flush()?;
            let dto = DisposalDto::from(&disposal);
            if json {
                return print_json(&dto);
            }
            println!("{}", summary(&dto));
            if let Some(execution) = &dto.execution {
                for o in &execution.outcomes {
                    match &o.reason {
                        None => println!("destroyed: {}", o.reference),
                        Some(why) => println!("skipped: {} ({why})", o.reference),
                    }
                }
            }
        }
        DisposalCommand::Certificate { id } => {
            let disposal = archive.disposal(&actor, id)?;
            let certificate = documents::certificate(&disposal).ok_or_else(|| {
                Failure::new(
                    Code::DisposalState,
                    format!(
                        "disposal {id} is {}; a certificate exists once it is executed",
                        disposal.state.as_str()
                    ),
                )
            })?;
            let text = serde_json::to_string_pretty(&certificate)
                .map_err(|e| Failure::internal(format!("encoding the certificate: {e}")))?;
            println!("{text}");
        }
        DisposalCommand::List { json } => {
            for disposal in archive.disposals(&actor)? {
                let dto = DisposalDto::from(&disposal);
                if json {
                    print_json(&dto)?;
                } else {
                    println!("{}", summary(&dto));
                }
            }
        }
    }
    Ok(())
}
