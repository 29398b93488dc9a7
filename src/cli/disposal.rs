//! `coffre disposal`: propose, approve with the visa, execute, certify.

use super::client::Remote;
use super::{Context, Failure, Target, print_json};
use crate::archive::{Actor, ProposalRequest, VisaRequest};
use crate::documents;
use crate::errors::Code;
use crate::wire::{DisposalDto, TransferDto};
use clap::Subcommand;
use std::io::Read;

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
        "élimination {} : {}, {} ({}) échus au {}{}",
        d.id,
        crate::french::disposal_state(&d.state),
        super::count(d.count, "document", "documents"),
        super::count(d.bytes, "octet", "octets"),
        crate::french::iso_date(&d.at),
        d.node.as_deref().map(|n| format!(", nœud {n}")).unwrap_or_default()
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
    /// Record the archives service's SEDA 2.3 answer (an
    /// `ArchiveTransferReply` or `Acknowledgement` XML file): checked
    /// against the schema, matched to the transfer whose package it names,
    /// kept, and acted on as its acknowledgement.
    Reply {
        /// The XML file.
        file: std::path::PathBuf,
        /// The transfer as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

/// Prints a transfer's acknowledgement, as `transfer acknowledge` says it.
fn print_acknowledgement(dto: &TransferDto) {
    if let Some(ack) = &dto.acknowledgement {
        let outcomes = ack.outcomes.as_deref().unwrap_or_default();
        let moved = outcomes.iter().filter(|o| o.transferred).count();
        println!(
            "versement {} accepté par les archives ({}) : {} versé, {} gardé ici",
            dto.id,
            ack.reference,
            super::count(moved as u64, "document", "documents"),
            outcomes.len() - moved
        );
        for o in outcomes.iter().filter(|o| !o.transferred) {
            println!("  gardé : {} ({})", o.reference, o.reason.clone().unwrap_or_default());
        }
    }
}

fn transfer_line(dto: &TransferDto) -> String {
    format!(
        "versement {} : {} ({}) échus au {}, {}",
        dto.id,
        super::count(dto.count, "document", "documents"),
        super::count(dto.bytes, "octet", "octets"),
        crate::french::iso_date(&dto.at),
        crate::french::transfer_state(&dto.state)
    )
}

/// Runs a transfer command, on the data directory or through the server.
pub fn run_transfer(ctx: &Context, command: TransferCommand) -> Result<(), Failure> {
    let actor = Actor::command_line();
    let target = ctx.target()?;
    match command {
        TransferCommand::Propose {
            at,
            node,
            records,
            json,
        } => {
            let dto: TransferDto = match &target {
                Target::Local(archive) => {
                    let transfer = archive.propose_transfer(&actor, ProposalRequest { at, node, records })?;
                    archive.flush()?;
                    TransferDto::from(&transfer)
                }
                Target::Remote(remote) => remote.post_json(
                    "/api/v1/transfers",
                    &serde_json::json!({"at": at, "node": node, "records": records}),
                )?,
            };
            if json {
                return print_json(&dto);
            }
            println!("{}", transfer_line(&dto));
        }
        TransferCommand::List { json } => {
            let transfers: Vec<TransferDto> = match &target {
                Target::Local(archive) => archive.transfers(&actor)?.iter().map(TransferDto::summary).collect(),
                Target::Remote(remote) => remote.get_json("/api/v1/transfers")?,
            };
            for dto in &transfers {
                if json {
                    print_json(dto)?;
                } else {
                    println!("{}", transfer_line(dto));
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
            let dto: TransferDto = match &target {
                Target::Local(archive) => {
                    let request = crate::archive::AcknowledgementRequest {
                        reference,
                        date,
                        signer,
                        reply: None,
                    };
                    let transfer = archive.acknowledge_transfer(&actor, id, request)?;
                    archive.flush()?;
                    TransferDto::from(&transfer)
                }
                Target::Remote(remote) => remote.post_json(
                    &format!("/api/v1/transfers/{id}/acknowledge"),
                    &serde_json::json!({"reference": reference, "date": date, "signer": signer}),
                )?,
            };
            if json {
                return print_json(&dto);
            }
            print_acknowledgement(&dto);
        }
        TransferCommand::Reply { file, json } => {
            let xml = std::fs::read(&file)
                .map_err(|e| Failure::usage(format!("{} ne peut être lu : {e}", file.display())))?;
            let dto: TransferDto = match &target {
                Target::Local(archive) => {
                    let transfer = archive.answer_transfer(&actor, &xml)?;
                    archive.flush()?;
                    TransferDto::from(&transfer)
                }
                Target::Remote(remote) => remote.post_xml("/api/v1/transfers/reply", &xml)?,
            };
            if json {
                return print_json(&dto);
            }
            print_acknowledgement(&dto);
        }
    }
    Ok(())
}

/// A visa names who signed it: `--signer` is required.
fn required_signer(signer: Option<String>) -> Result<String, Failure> {
    signer.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
        Failure::usage(
            "--signer : nommez qui a signé le visa (par exemple « Directrice des Archives départementales »)",
        )
    })
}

/// Prints what execution did to each line.
fn print_execution(dto: &DisposalDto) {
    println!("{}", summary(dto));
    if let Some(execution) = &dto.execution {
        for o in execution.outcomes.iter().flatten() {
            match &o.reason {
                None => println!("éliminé : {}", o.reference),
                Some(why) => println!("écarté : {} ({why})", o.reference),
            }
        }
    }
}

/// A disposal command through the server.
fn run_remote(remote: &Remote, command: DisposalCommand) -> Result<(), Failure> {
    match command {
        DisposalCommand::Propose {
            at,
            node,
            records,
            json,
        } => {
            let dto: DisposalDto = remote.post_json(
                "/api/v1/disposals",
                &serde_json::json!({"at": at, "node": node, "records": records}),
            )?;
            if json {
                return print_json(&dto);
            }
            println!("{}", summary(&dto));
            for e in dto.excluded.iter().flatten() {
                println!("écarté : {} ({})", e.reference, e.reason);
            }
        }
        DisposalCommand::Bordereau { id, csv } => {
            let format = if csv { "csv" } else { "html" };
            let mut text = String::new();
            remote
                .open(&format!("/api/v1/disposals/{id}/bordereau?format={format}"))?
                .read_to_string(&mut text)
                .map_err(|e| {
                    Failure::new(
                        Code::UploadIncomplete,
                        format!("la réponse du serveur s'est interrompue : {e}"),
                    )
                })?;
            print!("{text}");
        }
        DisposalCommand::Approve {
            id,
            visa,
            signer,
            date,
            struck,
        } => {
            let dto: DisposalDto = remote.post_json(
                &format!("/api/v1/disposals/{id}/approve"),
                &serde_json::json!({"visa": visa, "signer": required_signer(signer)?,
                    "date": date, "struck": struck}),
            )?;
            println!("{}", summary(&dto));
        }
        DisposalCommand::Execute { id, json } => {
            let dto: DisposalDto =
                remote.post_json(&format!("/api/v1/disposals/{id}/execute"), &serde_json::json!({}))?;
            if json {
                return print_json(&dto);
            }
            print_execution(&dto);
        }
        DisposalCommand::Certificate { id } => {
            let certificate: serde_json::Value = remote.get_json(&format!("/api/v1/disposals/{id}/certificate"))?;
            let text = serde_json::to_string_pretty(&certificate)
                .map_err(|e| Failure::internal(format!("encoding the certificate: {e}")))?;
            println!("{text}");
        }
        DisposalCommand::List { json } => {
            let disposals: Vec<DisposalDto> = remote.get_json("/api/v1/disposals")?;
            for dto in &disposals {
                if json {
                    print_json(dto)?;
                } else {
                    println!("{}", summary(dto));
                }
            }
        }
    }
    Ok(())
}

/// Runs a disposal command.
pub fn run(ctx: &Context, command: DisposalCommand) -> Result<(), Failure> {
    let archive = match ctx.target()? {
        Target::Local(archive) => archive,
        Target::Remote(remote) => return run_remote(&remote, command),
    };
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
            for e in dto.excluded.iter().flatten() {
                println!("écarté : {} ({})", e.reference, e.reason);
            }
        }
        DisposalCommand::Bordereau { id, csv } => {
            let disposal = archive.disposal(&actor, id)?;
            let plan = archive.plan(&actor, None)?;
            if csv {
                print!("{}", documents::bordereau_csv(&disposal, &plan.plan));
            } else {
                print!(
                    "{}",
                    documents::bordereau_html(&disposal, &plan.plan, &documents::Letterhead::of(&archive)?)
                );
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
                    signer: required_signer(signer)?,
                    date,
                    struck,
                },
            )?;
            archive.flush()?;
            println!("{}", summary(&DisposalDto::from(&disposal)));
        }
        DisposalCommand::Execute { id, json } => {
            let disposal = crate::documents::execute_disposal(&archive, &actor, id)?;
            archive.flush()?;
            let dto = DisposalDto::from(&disposal);
            if json {
                return print_json(&dto);
            }
            print_execution(&dto);
        }
        DisposalCommand::Certificate { id } => {
            let disposal = archive.disposal(&actor, id)?;
            let certificate = documents::certificate(&disposal).ok_or_else(|| {
                Failure::new(
                    Code::DisposalState,
                    format!(
                        "l'élimination {id} est {} : son certificat n'existe qu'une fois exécutée",
                        crate::french::disposal_state(disposal.state.as_str())
                    ),
                )
            })?;
            let text = serde_json::to_string_pretty(&certificate)
                .map_err(|e| Failure::internal(format!("encoding the certificate: {e}")))?;
            println!("{text}");
        }
        DisposalCommand::List { json } => {
            for disposal in archive.disposals(&actor)? {
                let dto = DisposalDto::summary(&disposal);
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
