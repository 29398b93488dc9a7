//! `coffre plan`: check, publish and show the classification plan.

use super::{Context, Failure, Target, print_json};
use crate::archive::{Actor, ArchiveError};
use crate::errors::Code;
use crate::policies::{PlanFileProblem, load_plan};
use crate::wire::{PlanVersionDto, PublicationDto};
use clap::Subcommand;
use std::path::{Path, PathBuf};

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
    /// Validate a plan file, show what it changes, and publish it as the
    /// plan in force (refused, exit 4, if it would orphan records).
    Publish {
        /// The plan file (TOML).
        file: PathBuf,
        /// Show the impact only; publish nothing.
        #[arg(long)]
        dry_run: bool,
        /// Confirm a plan that makes records due earlier or destroys what
        /// was to be kept (with --reason).
        #[arg(long, requires = "reason")]
        confirm: bool,
        /// Why (journaled with a confirmed publication).
        #[arg(long)]
        reason: Option<String>,
        /// The outcome as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Print the plan in force (or version N): its tree with each node's
    /// rule, or the file itself with --toml.
    Show {
        /// A published version number.
        #[arg(long)]
        version: Option<u32>,
        /// Print the plan file as published.
        #[arg(long, conflicts_with = "json")]
        toml: bool,
        /// One JSON object per node.
        #[arg(long)]
        json: bool,
    },
    /// List the published plan versions.
    Versions {
        /// One JSON object per version.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a plan command.
pub fn run(ctx: &Context, command: PlanCommand) -> Result<(), Failure> {
    match command {
        PlanCommand::Check { file, json } => check(&file, json),
        PlanCommand::Publish {
            file,
            dry_run,
            confirm,
            reason,
            json,
        } => publish(ctx, &file, dry_run, confirm.then_some(reason).flatten(), json),
        PlanCommand::Show { version, toml, json } => show(ctx, version, toml, json),
        PlanCommand::Versions { json } => versions(ctx, json),
    }
}

fn read(file: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(file)
        .map_err(|e| Failure::usage(format!("{} : le plan ne peut être lu : {e}", file.display())))
}

fn print_problems(file: &Path, problems: &[PlanFileProblem], json: bool) -> Result<Failure, Failure> {
    for p in problems {
        if json {
            print_json(&serde_json::json!({
                "file": file.display().to_string(), "line": p.line, "path": p.path, "message": p.message
            }))?;
        } else {
            println!("{}:{p}", file.display());
        }
    }
    Ok(Failure::new(
        Code::InvalidPlan,
        format!(
            "{} : {} ; le plan n'est pas valide",
            file.display(),
            super::count(problems.len() as u64, "problème", "problèmes")
        ),
    ))
}

fn check(file: &Path, json: bool) -> Result<(), Failure> {
    let text = read(file)?;
    match load_plan(&text) {
        Ok(plan) => {
            println!(
                "{} : plan valide {} version {} : {}, {}",
                file.display(),
                plan.header.id,
                plan.header.version,
                super::count(plan.rules.len() as u64, "règle", "règles"),
                super::count(plan.nodes.len() as u64, "nœud", "nœuds")
            );
            Ok(())
        }
        Err(problems) => Err(print_problems(file, &problems, json)?),
    }
}

fn publish(ctx: &Context, file: &Path, dry_run: bool, confirmed: Option<String>, json: bool) -> Result<(), Failure> {
    let text = read(file)?;
    let dto = match ctx.target()? {
        Target::Local(archive) => {
            let how = crate::archive::Publish {
                dry_run,
                confirmation: confirmed,
            };
            let publication = match archive.publish_plan(&Actor::command_line(), &text, &how) {
                Ok(p) => p,
                Err(ArchiveError::InvalidPlan(invalid)) => return Err(print_problems(file, &invalid.0, json)?),
                Err(e) => return Err(e.into()),
            };
            archive.flush()?;
            PublicationDto::new(&publication)
        }
        Target::Remote(remote) => {
            let mut query = vec![("dry_run", dry_run.to_string())];
            if let Some(reason) = confirmed {
                query.push(("confirm", "true".to_owned()));
                query.push(("reason", reason));
            }
            let path = format!(
                "/api/v1/plan?{}",
                serde_urlencoded::to_string(&query).unwrap_or_default()
            );
            match remote.put_text::<PublicationDto>(&path, "application/toml", &text) {
                Ok(dto) => dto,
                Err(failure) if failure.code == Code::InvalidPlan => {
                    let problems: Vec<PlanFileProblem> = failure
                        .answer
                        .as_ref()
                        .and_then(|a| a["error"]["details"].as_array().cloned())
                        .unwrap_or_default()
                        .iter()
                        .map(|p| PlanFileProblem {
                            line: p["line"].as_u64().map(|l| l as usize),
                            path: p["path"].as_str().unwrap_or_default().to_owned(),
                            message: p["message"].as_str().unwrap_or_default().to_owned(),
                        })
                        .collect();
                    return Err(print_problems(file, &problems, json)?);
                }
                Err(failure) => return Err(failure),
            }
        }
    };
    if json {
        return print_json(&dto);
    }
    let unchanged = dto.outcome == "unchanged";
    match &dto.version {
        Some(v) => println!("plan publié : version {} ({} {})", v.number, v.plan_id, v.label),
        None if unchanged => println!("{} est déjà le plan en vigueur : rien n'a été publié", file.display()),
        None => println!("essai à blanc : rien n'a été publié ; la publication changerait :"),
    }
    if !unchanged {
        for line in dto.impact.lines() {
            println!("{line}");
        }
    }
    Ok(())
}

fn show(ctx: &Context, version: Option<u32>, toml: bool, json: bool) -> Result<(), Failure> {
    // The file and its publication, from the archive or the server.
    let (text, entry) = match ctx.target()? {
        Target::Local(archive) => {
            let published = archive.plan(&Actor::command_line(), version)?;
            (published.text.clone(), PlanVersionDto::from(&published.entry))
        }
        Target::Remote(remote) => {
            let query = version.map(|v| format!("?version={v}")).unwrap_or_default();
            let answer: serde_json::Value = remote.get_json(&format!("/api/v1/plan{query}"))?;
            let entry: PlanVersionDto = serde_json::from_value(answer["version"].clone())
                .map_err(|e| Failure::internal(format!("la réponse du serveur n'est pas celle attendue : {e}")))?;
            (answer["text"].as_str().unwrap_or_default().to_owned(), entry)
        }
    };
    if toml {
        print!("{text}");
        return Ok(());
    }
    let plan = &load_plan(&text).map_err(|problems| {
        Failure::internal(format!(
            "le plan publié ne se charge plus : {}",
            super::count(problems.len() as u64, "problème", "problèmes")
        ))
    })?;
    if !json {
        println!(
            "plan, version {} : {} {} ({}), publié le {} par {}",
            entry.number,
            plan.header.id,
            plan.header.version,
            plan.header.title,
            crate::french::iso_time(&entry.published_at),
            entry.published_by
        );
    }
    for node in &plan.nodes {
        let depth = plan.path(&node.code).len().saturating_sub(1);
        let rule = plan.rule_for(&node.code);
        if json {
            print_json(&serde_json::json!({
                "code": node.code.as_str(),
                "parent": node.parent.as_ref().map(|p| p.as_str()),
                "title": node.title,
                "rule": rule.map(|(r, _)| r.id.as_str()),
                "rule_from": rule.map(|(_, from)| from.as_str()),
                "duration": rule.map(|(r, _)| r.duration.to_string()),
                "final_action": rule.map(|(r, _)| r.final_action.as_str()),
            }))?;
            continue;
        }
        let retention = match rule {
            Some((r, from)) => {
                let inherited = if from == &node.code {
                    String::new()
                } else {
                    format!(", héritée de {from}")
                };
                format!(
                    "  [{} : {}, {}{inherited}]",
                    r.id,
                    crate::french::duration(&r.duration),
                    crate::french::final_action(r.final_action)
                )
            }
            None => String::new(),
        };
        println!("{}{}  {}{}", "  ".repeat(depth), node.code, node.title, retention);
    }
    Ok(())
}

fn versions(ctx: &Context, json: bool) -> Result<(), Failure> {
    let entries: Vec<PlanVersionDto> = match ctx.target()? {
        Target::Local(archive) => archive
            .plan_versions(&Actor::command_line())?
            .iter()
            .map(PlanVersionDto::from)
            .collect(),
        Target::Remote(remote) => remote.get_json("/api/v1/plan/versions")?,
    };
    for dto in &entries {
        if json {
            print_json(dto)?;
        } else {
            println!(
                "{}\t{} {}\t{}\t{}",
                dto.number, dto.plan_id, dto.label, dto.published_at, dto.published_by
            );
        }
    }
    Ok(())
}
