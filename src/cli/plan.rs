//! `coffre plan`: the classification plan.

use super::{Failure, print_json};
use crate::policies::load_plan;
use clap::Subcommand;
use std::path::PathBuf;

/// `coffre plan ...`
#[derive(Subcommand, Debug)]
pub enum PlanCommand {
    /// Validate a plan file: print every problem with its line, exit 2 if any.
    Check {
        /// The plan file (TOML).
        file: PathBuf,
        /// Each problem as one JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a plan command.
pub fn run(command: PlanCommand) -> Result<(), Failure> {
    match command {
        PlanCommand::Check { file, json } => check(&file, json),
    }
}

fn check(file: &PathBuf, json: bool) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Failure::new(2, format!("{}: cannot read the plan: {e}", file.display())))?;
    match load_plan(&text) {
        Ok(plan) => {
            println!(
                "{}: valid plan {} version {}: {} rules, {} nodes",
                file.display(),
                plan.header.id,
                plan.header.version,
                plan.rules.len(),
                plan.nodes.len()
            );
            Ok(())
        }
        Err(problems) => {
            for p in &problems {
                if json {
                    print_json(&serde_json::json!({
                        "file": file.display().to_string(), "line": p.line, "path": p.path, "message": p.message
                    }))?;
                } else {
                    println!("{}:{p}", file.display());
                }
            }
            Err(Failure::new(
                2,
                format!("{}: {} problems; the plan is not valid", file.display(), problems.len()),
            ))
        }
    }
}
