//! `coffre export`, `coffre verify-package` and `coffre import`.

use super::{Context, Failure, Target, print_json};
use crate::archive::Actor;
use crate::archive::exports::{ExportRequest, ExportSelection};
use crate::domain::seal::TrustedKey;
use crate::errors::Code;
use crate::package::unzip::ZipLimits;
use crate::package::verify::verify_package;
use crate::wire::ImportSummaryDto;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

/// `coffre export` options.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("selection").required(true).args(["node", "query", "record", "transfer"])))]
pub struct ExportArgs {
    /// A node of the plan and everything below it.
    #[arg(long)]
    pub node: Option<String>,
    /// What a full-text query finds.
    #[arg(long)]
    pub query: Option<String>,
    /// A record by reference or id (repeatable).
    #[arg(long)]
    pub record: Vec<String>,
    /// The records of a transfer proposal.
    #[arg(long)]
    pub transfer: Option<u64>,
    /// The package file to write.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// The receiving archives service's identifier.
    #[arg(long)]
    pub archival_agency: Option<String>,
    /// The sending service's identifier.
    #[arg(long)]
    pub transferring_agency: Option<String>,
    /// The archival agreement (convention de versement).
    #[arg(long)]
    pub archival_agreement: Option<String>,
    /// A comment for the archives.
    #[arg(long)]
    pub comment: Option<String>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `coffre verify-package` options.
#[derive(Args, Debug)]
pub struct VerifyPackageArgs {
    /// The package (a zip).
    pub package: PathBuf,
    /// The archive's public key you trust (64 hex digits, a PEM file, or
    /// the JSON file of its keys with their chain of rotations); without it
    /// the key inside the package is used.
    #[arg(long, alias = "public-key")]
    pub key: Option<String>,
    /// The report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `coffre import` options.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The package (a zip: a coffre package, or a BagIt bag with a SEDA 2.x manifest).
    pub package: PathBuf,
    /// Where records go when the manifest's plan positions are not nodes
    /// here (TOML; see schemas/import-mapping.schema.json).
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Check everything, deposit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// One JSON object per imported record.
    #[arg(long)]
    pub json: bool,
}

/// Imports a package whole, or refuses it whole: through the server when
/// there is one (the package is sent), else on the data directory.
pub fn import(ctx: &Context, args: ImportArgs) -> Result<(), Failure> {
    let mapping_text = match &args.mapping {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("{} : lecture impossible : {e}", path.display())))?,
        ),
        None => None,
    };
    let summary: ImportSummaryDto = match ctx.target()? {
        Target::Local(archive) => {
            let mapping = mapping_text
                .as_deref()
                .map(crate::archive::imports::ImportMapping::parse)
                .transpose()?;
            let summary = if args.dry_run {
                archive.check_import(&Actor::command_line(), &args.package, mapping.as_ref())?
            } else {
                archive.import_package(&Actor::command_line(), &args.package, mapping.as_ref())?
            };
            ImportSummaryDto::new(summary, args.dry_run)
        }
        Target::Remote(remote) => {
            let file = std::fs::File::open(&args.package)
                .map_err(|e| Failure::usage(format!("{} : lecture impossible : {e}", args.package.display())))?;
            let filename = args
                .package
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("paquet.zip")
                .to_owned();
            let texts: Vec<(&str, &str, String)> = mapping_text
                .into_iter()
                .map(|text| ("mapping", "application/toml", text))
                .collect();
            remote.post_multipart(
                &format!("/api/v1/imports?dry_run={}", args.dry_run),
                &texts,
                "package",
                super::client::FilePart {
                    filename: &filename,
                    reader: Box::new(std::io::BufReader::new(file)),
                },
            )?
        }
    };
    for record in &summary.records {
        if args.json {
            print_json(record)?;
        } else {
            // (A dry run gives no reference yet.)
            let reference = if record.reference.is_empty() {
                "-"
            } else {
                record.reference.as_str()
            };
            println!("{reference}\t{}\t{}", record.node, record.from.join(" "));
        }
    }
    if !args.json {
        eprintln!(
            "{} : paquet {} {}{}",
            args.package.display(),
            summary.package,
            if args.dry_run {
                format!(
                    "vérifié, rien d'importé (essai à blanc) ; {} à importer",
                    super::count(summary.records.len() as u64, "document", "documents")
                )
            } else {
                format!(
                    "importé, {}",
                    super::count(summary.records.len() as u64, "document", "documents")
                )
            },
            if summary.sealed {
                " ; son journal scellé a été vérifié"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// Writes a package; the file appears only once complete.
/// Has the server build the package and writes it to `file`.
fn export_remotely(
    remote: &super::client::Remote,
    request: &ExportRequest,
    mut file: std::fs::File,
) -> Result<crate::archive::exports::ExportSummary, Failure> {
    let mut body = serde_json::json!({
        "archival_agency": request.archival_agency,
        "transferring_agency": request.transferring_agency,
        "archival_agreement": request.archival_agreement,
        "comment": request.comment,
    });
    match &request.selection {
        ExportSelection::Node(node) => body["node"] = serde_json::json!(node),
        ExportSelection::Query(query) => body["query"] = serde_json::json!(query),
        ExportSelection::Records(records) => body["records"] = serde_json::json!(records),
        ExportSelection::Transfer(id) => body["transfer"] = serde_json::json!(id),
    }
    let (headers, mut reader) = remote.post_for_download("/api/v1/exports", &body)?;
    std::io::copy(&mut reader, &mut file).map_err(|e| {
        Failure::new(
            Code::UploadIncomplete,
            format!("le paquet s'est interrompu en route : {e}"),
        )
    })?;
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or_default()
    };
    Ok(crate::archive::exports::ExportSummary {
        id: headers.get("x-coffre-package").cloned().unwrap_or_default(),
        records: number("x-coffre-records") as usize,
        files: number("x-coffre-files") as usize,
        bytes: number("x-coffre-bytes"),
        seal: number("x-coffre-seal"),
        seq: number("x-coffre-seq"),
    })
}

pub fn export(ctx: &Context, args: ExportArgs) -> Result<(), Failure> {
    let selection = match (args.node, args.query, args.record.is_empty(), args.transfer) {
        (Some(node), None, true, None) => ExportSelection::Node(node),
        (None, Some(query), true, None) => ExportSelection::Query(query),
        (None, None, false, None) => ExportSelection::Records(args.record),
        (None, None, true, Some(id)) => ExportSelection::Transfer(id),
        _ => {
            return Err(Failure::usage(
                "nommez une sélection : --node, --query, --record ou --transfer",
            ));
        }
    };
    let request = ExportRequest {
        selection,
        archival_agency: args.archival_agency,
        transferring_agency: args.transferring_agency,
        archival_agreement: args.archival_agreement,
        comment: args.comment,
    };
    let target = ctx.target()?;
    let partial = args.output.with_extension("zip.partial");
    let file = std::fs::File::create(&partial)
        .map_err(|e| Failure::usage(format!("{} ne peut être écrit : {e}", partial.display())))?;
    let written = match &target {
        Target::Local(archive) => archive
            .export(&Actor::command_line(), &request, std::io::BufWriter::new(file))
            .map(|(summary, _)| summary)
            .map_err(Failure::from),
        Target::Remote(remote) => export_remotely(remote, &request, file),
    };
    let summary = match written {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::File::open(&partial)?.sync_all()?;
    std::fs::rename(&partial, &args.output)?;
    if args.json {
        print_json(&summary)?;
    } else {
        println!(
            "{} : {}, {}, {}, prouvés par le sceau {}",
            args.output.display(),
            super::count(summary.records as u64, "document", "documents"),
            super::count(summary.files as u64, "fichier", "fichiers"),
            super::count(summary.bytes, "octet", "octets"),
            summary.seal
        );
    }
    Ok(())
}

/// Reads a key given as hex, as a PEM file, or as the JSON file the
/// archive gives of its keys (`GET /api/v1/audit/public-key`, `coffre audit
/// public-key --json`), whose chain of rotations links the key to the
/// archive's earlier keys.
fn trusted_key(key: &str) -> Result<TrustedKey, Failure> {
    let text = if std::path::Path::new(key).is_file() {
        std::fs::read_to_string(key).map_err(|e| Failure::usage(format!("{key} ne peut être lu : {e}")))?
    } else {
        key.to_owned()
    };
    let text = text.trim();
    if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(TrustedKey::alone(&text.to_ascii_lowercase()));
    }
    if text.starts_with('{') {
        #[derive(serde::Deserialize)]
        struct Keys {
            public_key: String,
            #[serde(default)]
            key_chain: Vec<crate::domain::seal::KeyRotation>,
        }
        let keys: Keys = serde_json::from_str(text)
            .map_err(|e| Failure::usage(format!("--key : le fichier JSON des clés ne peut être lu ({e})")))?;
        return Ok(TrustedKey {
            key: keys.public_key.trim().to_ascii_lowercase(),
            rotations: keys.key_chain,
        });
    }
    crate::domain::seal::public_key_from_pem(text)
        .map(|key| TrustedKey::alone(&key))
        .map_err(|e| {
            Failure::usage(format!(
                "--key : ni 64 chiffres hexadécimaux, ni une clé publique Ed25519 en PEM, ni le fichier JSON des clés ({e})"
            ))
        })
}

/// Checks a package offline; exit 1 with every failure listed.
pub fn verify(args: VerifyPackageArgs) -> Result<(), Failure> {
    let key = args.key.as_deref().map(trusted_key).transpose()?;
    let checked = verify_package(&args.package, ZipLimits::default(), key.as_ref())
        .map_err(|e| Failure::check_failed(format!("{} : refusé : {e}", args.package.display())))?;
    if args.json {
        print_json(&serde_json::json!({
            "passed": checked.passed(),
            "files": checked.files,
            "events": checked.events_checked,
            "sealed": checked.sealed,
            "failures": checked.failures,
        }))?;
    } else {
        let mut out = std::io::stdout().lock();
        for failure in &checked.failures {
            let _ = writeln!(out, "DÉFAUT : {failure}");
        }
        let _ = writeln!(
            out,
            "{} : {}, {}{} : {}",
            args.package.display(),
            super::count(checked.files as u64, "fichier de contenu", "fichiers de contenu"),
            super::count(
                checked.events_checked as u64,
                "événement du journal",
                "événements du journal"
            ),
            match (checked.sealed, key.is_some()) {
                (true, true) => ", sceau vérifié avec votre clé",
                (true, false) =>
                    ", sceau vérifié avec la clé contenue dans le paquet (donnez --key pour utiliser la vôtre)",
                (false, _) => ", sans journal scellé",
            },
            if checked.passed() {
                "tout est intact".to_owned()
            } else {
                super::count(checked.failures.len() as u64, "défaut", "défauts")
            }
        );
    }
    if checked.passed() {
        Ok(())
    } else {
        Err(Failure::check_failed(format!(
            "le contrôle du paquet a trouvé {}",
            super::count(checked.failures.len() as u64, "défaut", "défauts")
        )))
    }
}

/// `coffre verify-attestation` options.
#[derive(Args, Debug)]
pub struct VerifyAttestationArgs {
    /// The accusé de dépôt: its JSON (`coffre attestation`) or its HTML page.
    pub attestation: PathBuf,
    /// The archive's public key you trust (64 hex digits, a PEM file, or
    /// the JSON file of its keys with their chain of rotations); without it
    /// the key named in the attestation is used.
    #[arg(long, alias = "public-key")]
    pub key: Option<String>,
    /// The result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Checks an accusé de dépôt offline; exit 1 with every failure listed.
pub fn verify_attestation(args: VerifyAttestationArgs) -> Result<(), Failure> {
    use crate::archive::seals::{check_attestation, read_attestation};
    let key = args.key.as_deref().map(trusted_key).transpose()?;
    let bytes = std::fs::read(&args.attestation)
        .map_err(|e| Failure::usage(format!("{} ne peut être lu : {e}", args.attestation.display())))?;
    let attestation =
        read_attestation(&bytes).map_err(|e| Failure::usage(format!("{} : {e}", args.attestation.display())))?;
    let failures = check_attestation(&attestation, key.as_ref());
    if args.json {
        print_json(&serde_json::json!({
            "passed": failures.is_empty(),
            "reference": attestation.reference,
            "sha256": attestation.sha256,
            "seal": attestation.seal.seq,
            "public_key": attestation.seal.public_key,
            "failures": failures,
        }))?;
    } else {
        for failure in &failures {
            println!("DÉFAUT : {failure}");
        }
        println!(
            "{} : accusé de dépôt de {} (contenu {}), sceau n° {} {} : {}",
            args.attestation.display(),
            attestation.reference,
            attestation.sha256,
            attestation.seal.seq,
            if key.is_some() {
                "vérifié avec votre clé"
            } else {
                "vérifié avec la clé qu'il nomme (donnez --key pour utiliser la vôtre)"
            },
            if failures.is_empty() {
                "il tient".to_owned()
            } else {
                super::count(failures.len() as u64, "défaut", "défauts")
            }
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::check_failed(format!(
            "l'accusé de dépôt ne tient pas : {}",
            super::count(failures.len() as u64, "défaut", "défauts")
        )))
    }
}
