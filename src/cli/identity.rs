//! `coffre identity`: the collectivité's identity, shown or set from a TOML
//! file (name, siren, siret, [[services]] code and name, [archives] name,
//! identifier and authority), and its logo given or taken away.

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
    /// Give the collectivité a logo (a PNG or JPEG image, 1 MiB and 4,096
    /// pixels a side at most), heading its bordereaux and certificates; or
    /// take it away with --remove.
    Logo {
        /// The image file.
        #[arg(required_unless_present = "remove", conflicts_with = "remove")]
        file: Option<PathBuf>,
        /// Take the logo away.
        #[arg(long)]
        remove: bool,
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
    if let Some(logo) = &identity.logo {
        println!(
            "logo : {}, {} × {} pixels, sha256 {}",
            logo.media_type, logo.width, logo.height, logo.sha256
        );
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
        IdentityCommand::Logo { file, remove } => {
            let image = match file.filter(|_| !remove) {
                Some(file) => {
                    let max = crate::domain::logo::LOGO_MAX_BYTES as u64;
                    let mut bytes = Vec::new();
                    std::fs::File::open(&file)
                        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, max + 1), &mut bytes))
                        .map_err(|e| Failure::usage(format!("{} ne peut être lu : {e}", file.display())))?;
                    Some(bytes)
                }
                None => None,
            };
            let set: IdentityDto = match ctx.target()? {
                Target::Local(archive) => {
                    let set = archive.set_logo(&Actor::command_line(), image.as_deref())?;
                    archive.flush()?;
                    set.into()
                }
                Target::Remote(remote) => match &image {
                    Some(bytes) => {
                        remote.send_bytes("PUT", "/api/v1/identity/logo", "application/octet-stream", bytes)?
                    }
                    None => remote.request_json("DELETE", "/api/v1/identity/logo", &serde_json::Value::Null)?,
                },
            };
            match &set.logo {
                Some(_) => println!("logo enregistré :"),
                None => println!("logo retiré :"),
            }
            print(&set);
            Ok(())
        }
    }
}
