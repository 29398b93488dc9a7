//! `coffre identity`: the collectivité's identity, shown or set from a TOML
//! file (name, siren, siret, [[services]] code and name, [archives] name,
//! identifier and authority).

use super::{Context, Failure, Target, print_json};
use crate::archive::Actor;
use crate::errors::Code;
use crate::wire::IdentityDto;
use clap::Subcommand;
use std::path::PathBuf;

/// `coffre identity ...`
#[derive(Subcommand, Debug)]
pub enum IdentityCommand {
    /// Show the collectivité's identity.
    Show {
        /// As one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Set it from a TOML file (admin); journaled whole.
    Set {
        /// The file: `name`, `siren`, `siret`, `[[services]]` (`code`,
        /// `name`), `[archives]` (`name`, `identifier`, `authority`).
        file: PathBuf,
    },
}

fn print(identity: &IdentityDto) {
    println!("collectivité : {}", identity.name);
    if let Some(siren) = &identity.siren {
        println!("SIREN : {siren}");
    }
    if let Some(siret) = &identity.siret {
        println!("SIRET : {siret}");
    }
    for s in &identity.services {
        println!("service producteur : {} ({})", s.name, s.code);
    }
    if !identity.archives.name.is_empty() || !identity.archives.identifier.is_empty() {
        println!(
            "service d'archives : {} ({})",
            identity.archives.name, identity.archives.identifier
        );
    }
    if !identity.archives.authority.is_empty() {
        println!("visa des éliminations : {}", identity.archives.authority);
    }
    if identity.archives.visa_reserved {
        println!("visa réservé à l'autorité d'archives (rôle visa), jamais donné par qui propose");
    }
}

/// Runs an identity command, on the data directory or through the server.
pub fn run(ctx: &Context, command: IdentityCommand) -> Result<(), Failure> {
    match command {
        IdentityCommand::Show { json } => {
            let identity: IdentityDto = match ctx.target()? {
                Target::Local(archive) => archive.identity()?.map(IdentityDto::from).ok_or_else(|| {
                    Failure::new(
                        Code::IdentityNotSet,
                        "l'identité de la collectivité n'est pas encore définie : `coffre identity set FICHIER`",
                    )
                })?,
                Target::Remote(remote) => remote.get_json("/api/v1/identity")?,
            };
            if json {
                print_json(&identity)
            } else {
                print(&identity);
                Ok(())
            }
        }
        IdentityCommand::Set { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| Failure::usage(format!("{} ne peut être lu : {e}", file.display())))?;
            let identity: IdentityDto = toml_edit::de::from_str(&text)
                .map_err(|e| Failure::usage(format!("{} : {}", file.display(), e.to_string().trim())))?;
            let set: IdentityDto = match ctx.target()? {
                Target::Local(archive) => {
                    let set = archive.set_identity(&Actor::command_line(), identity.into())?;
                    archive.flush()?;
                    set.into()
                }
                Target::Remote(remote) => remote.request_json(
                    "PUT",
                    "/api/v1/identity",
                    &serde_json::to_value(&identity)
                        .map_err(|e| Failure::internal(format!("encoding the identity: {e}")))?,
                )?,
            };
            println!("identité de la collectivité enregistrée :");
            print(&set);
            Ok(())
        }
    }
}
