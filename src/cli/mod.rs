//! The command line (clap): argument parsing, one function per command, and
//! the one table from errors to exit codes. Commands open the data directory
//! themselves; output is text for people or, with `--json`, one JSON object
//! per line for scripts. Progress bars appear only on a terminal.
//!
//! Exit codes: 0 success, 1 a check failed, 2 bad usage or input, 3 data
//! directory busy or not initialised, 4 refused by a rule or a permission.

mod accounts;
mod audit;
mod client;
mod disposal;
mod flows;
mod identity;
mod ingest;
mod package;
mod plan;
mod records;
mod retention;
mod search;
pub mod usage;

use crate::archive::tokens::TokenHolder;
use crate::archive::{Actor, Archive, ArchiveError, InitOutcome};
use crate::config::{Config, DEFAULT_DATA_DIR, DEFAULT_LISTEN, DEFAULT_MAX_UPLOAD};
use crate::domain::clock::{Clock, SystemClock};
use crate::domain::role::Role;
use crate::errors::Code;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

/// coffre: electronic records management and archiving.
#[derive(Parser, Debug)]
#[command(name = "coffre", version, about)]
pub struct Cli {
    /// The data directory, for the commands that work on an archive
    /// (`verify-package` and `plan check` need none).
    #[arg(long = "data", global = true, env = "COFFRE_DATA", default_value = DEFAULT_DATA_DIR)]
    pub data: PathBuf,
    /// Read images and scanned PDFs with OCR (`tesseract -l fra`) when
    /// extracting text for search.
    #[arg(long, global = true, env = "COFFRE_OCR")]
    pub ocr: bool,
    /// The classification plan `init` (or `serve` on an empty data
    /// directory) publishes; the embedded default
    /// (retention-policies/communes-fr.toml) when not given.
    #[arg(long, global = true, env = "COFFRE_POLICIES")]
    pub policies: Option<PathBuf>,
    /// An RFC 3161 time-stamping authority (http:// or https:// URL) that
    /// stamps each seal of the journal.
    #[arg(long, global = true, env = "COFFRE_TSA_URL")]
    pub tsa_url: Option<String>,
    /// A CA certificate file (PEM) to trust for the time-stamping
    /// authority's HTTPS server, besides the usual roots.
    #[arg(long, global = true, env = "COFFRE_TSA_CA")]
    pub tsa_ca: Option<std::path::PathBuf>,
    /// A folder (another disk, a network mount) or an S3-compatible bucket
    /// (s3://bucket/prefix; endpoint and keys from AWS_ENDPOINT,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION) that keeps a
    /// copy of every content and of the archive's own files: written
    /// before a deposit is acknowledged, read to repair a damaged one.
    /// Repeat for several; give the same to every command that opens the
    /// data directory.
    #[arg(long = "copy", global = true, env = "COFFRE_COPIES", value_delimiter = ',')]
    pub copies: Vec<String>,
    /// A running coffre server to work through (its token: COFFRE_TOKEN,
    /// or the one `coffre login` stored). Without it, commands go through
    /// the server that holds the data directory, if one does.
    #[arg(long, global = true, env = "COFFRE_URL")]
    pub server: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the data directory and print a first admin token on the last line.
    Init,
    /// Serve the HTTP API (initialising an empty data directory first).
    Serve(ServeArgs),
    /// API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Sign in to a coffre server (asks the user name and the password) and
    /// keep a token for it, readable by you only; later commands given
    /// `--server URL` (or COFFRE_URL) use it.
    Login(accounts::LoginArgs),
    /// People's accounts: open, set a password, disable, change a role.
    #[command(subcommand)]
    Account(accounts::AccountCommand),
    /// The collectivité's identity, which papers and packages name.
    #[command(subcommand)]
    Identity(identity::IdentityCommand),
    /// Archive files (folders recurse).
    Ingest(ingest::IngestArgs),
    /// Archive accounting flows (PES_Aller) and acknowledgements
    /// (PES_ACQUIT), each split into linked records: bordereaux (with
    /// their signature checked), mandats and titres, pièces justificatives.
    Pes(flows::PesArgs),
    /// Archive e-invoice lifecycle messages (CDV, from the e-invoicing
    /// platform): each is linked to the invoices it names, which move on in
    /// their circuit.
    Cdv(flows::CdvArgs),
    /// Write a record's content to a file or to standard output.
    Get(records::GetArgs),
    /// Show a record's metadata, versions, retention and history.
    Show(records::ShowArgs),
    /// Change a record's description or classification, with a reason
    /// (journaled with the previous values).
    Update(records::UpdateArgs),
    /// Full-text search.
    Search(search::SearchArgs),
    /// The classification plan.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Retention: what is due, start events.
    #[command(subcommand)]
    Retention(retention::RetentionCommand),
    /// Legal holds.
    #[command(subcommand)]
    Hold(retention::HoldCommand),
    /// The disposal workflow.
    #[command(subcommand)]
    Disposal(disposal::DisposalCommand),
    /// Transfers to the archives.
    #[command(subcommand)]
    Transfer(disposal::TransferCommand),
    /// Integrity checks, the journal, seals and proofs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Write a transfer package (BagIt zip with a SEDA 2.3 manifest).
    Export(package::ExportArgs),
    /// Check a package offline, without any data directory; exit 1 and list every failure.
    VerifyPackage(package::VerifyPackageArgs),
    /// Check an accusé de dépôt offline, without any data directory: its
    /// event, its inclusion proof and its seal's signature; exit 1 and list
    /// every failure.
    VerifyAttestation(package::VerifyAttestationArgs),
    /// Load a package into this archive (refused whole on any failure).
    Import(package::ImportArgs),
    /// The accusé de dépôt of a record: what was deposited, when, by whom,
    /// and its inclusion proof against a seal (JSON, or HTML with --html).
    Attestation {
        /// Reference or id.
        reference: String,
        /// The version (1 by default).
        #[arg(long)]
        version: Option<u32>,
        /// As an HTML page.
        #[arg(long)]
        html: bool,
    },
    /// Put back every damaged content from a copy whose bytes are intact
    /// and give each copy store the contents it lacks; exit 1 and list
    /// what could not be repaired.
    Repair {
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Build this data directory (empty or new) from one copy (a folder or
    /// an s3:// bucket) kept by a server run with --copy: journal, keys,
    /// blobs, then the catalog and the index, and check it all; exit 1 and
    /// list what could not be restored.
    Restore {
        /// The copy folder, or the bucket (s3://bucket/prefix).
        #[arg(long)]
        from: String,
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Delete the catalog and the index and rebuild both from the journal
    /// and the blobs.
    Rebuild,
    /// Move the contents of at most 64 KiB that an archive written before
    /// packs keeps as files of their own into packs (the server stopped);
    /// each is checked first, and a damaged one is left where it is: exit
    /// 1 and list them. Run again, it finishes what a stop cut short.
    Pack {
        /// The report as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Bring the index up to date and extract text again where it failed or
    /// where the extractors changed.
    Reindex,
}

/// `coffre serve` options.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "COFFRE_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Largest accepted upload (e.g. 2GiB, 500MB).
    #[arg(long, env = "COFFRE_MAX_UPLOAD", default_value = DEFAULT_MAX_UPLOAD)]
    pub max_upload: String,
    /// Seal the journal once this many events have followed the last seal.
    #[arg(long, env = "COFFRE_SEAL_EVERY_EVENTS", default_value_t = crate::config::DEFAULT_SEAL_EVERY_EVENTS)]
    pub seal_every_events: u64,
    /// Seal the journal this many minutes after the last seal, if anything happened.
    #[arg(long, env = "COFFRE_SEAL_EVERY_MINUTES", default_value_t = crate::config::DEFAULT_SEAL_EVERY_MINUTES)]
    pub seal_every_minutes: u64,
    /// Re-hash every blob this often (30s, 15m, 12h, 7d).
    #[arg(long, env = "COFFRE_FIXITY_EVERY", default_value = crate::config::DEFAULT_FIXITY_EVERY)]
    pub fixity_every: String,
    /// Re-hash at most this many bytes a second (50MB, 1MiB).
    #[arg(long, env = "COFFRE_FIXITY_RATE", default_value = crate::config::DEFAULT_FIXITY_RATE)]
    pub fixity_rate: String,
    /// Cut a client that sends nothing for this long in the middle of a
    /// request, or whose body then comes slower than 1 KiB/s (30s, 2m).
    #[arg(long, env = "COFFRE_CLIENT_IDLE", default_value = crate::config::DEFAULT_CLIENT_IDLE)]
    pub client_idle: String,
    /// Connections open at once; more wait to be accepted.
    #[arg(long, env = "COFFRE_MAX_CONNECTIONS", default_value_t = crate::config::DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// A directory file (TOML): people sign in with their directory
    /// account over LDAP, its groups giving their role and service (see
    /// the README); local accounts keep working.
    #[arg(long, env = "COFFRE_DIRECTORY")]
    pub directory: Option<PathBuf>,
    /// A capture file (TOML): the watched folders whose files are
    /// deposited as they arrive (see docs/capture.example.toml).
    #[arg(long, env = "COFFRE_CAPTURE")]
    pub capture: Option<PathBuf>,
    /// A mail file (TOML): the SMTP server each person's daily summary of
    /// their work list leaves through, and when (see docs/mail.example.toml).
    #[arg(long, env = "COFFRE_MAIL")]
    pub mail: Option<PathBuf>,
    /// Where each field of a PES flow is read (TOML, like
    /// mappings/pes-v2.toml, which is used without it).
    #[arg(long, env = "COFFRE_PES_MAPPING")]
    pub pes_mapping: Option<PathBuf>,
    /// Authorities (PEM) that the certificates of signed PES bordereaux
    /// must chain to; without it, signatures are checked, not their chain.
    #[arg(long, env = "COFFRE_SIGNATURE_AUTHORITIES")]
    pub signature_authorities: Option<PathBuf>,
    /// Serve as a read-only replica of the archive a primary server keeps
    /// on this copy (a folder or an s3:// bucket it was given with
    /// --copy): taken whole into the data directory at the first start,
    /// then followed as its journal grows; every write is refused.
    #[arg(long, env = "COFFRE_FOLLOW")]
    pub follow: Option<String>,
    /// A replica's primary server as people reach it (for example
    /// https://coffre.departement.fr): named in the answers that send
    /// people there, for writes and for records holding personal data.
    #[arg(long, env = "COFFRE_PRIMARY", requires = "follow")]
    pub primary: Option<String>,
}

/// `coffre token ...`
#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Issue a token and print it alone on standard output.
    Create {
        /// admin, archivist, auditor or agent.
        #[arg(long)]
        role: String,
        /// A name for people: who or what uses the token.
        #[arg(long)]
        name: String,
        /// The account it belongs to (its actions are journaled in that
        /// person's name); the first admin's account by default.
        #[arg(long, conflicts_with = "application")]
        account: Option<String>,
        /// The token belongs to an application named --name, not to a person.
        #[arg(long)]
        application: bool,
        /// Days it lasts (1 to 1095; 90 for a person's by default, 365 for
        /// an application's).
        #[arg(long)]
        days: Option<u32>,
    },
    /// List the tokens (all for an admin, one's own otherwise); never their text.
    List {
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id: it stops working at once.
    Revoke {
        /// The token's id (as `token list` shows it).
        id: u64,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

/// A command's failure: its row of the error table (which gives the exit
/// code) and one line for the user.
#[derive(Debug)]
pub struct Failure {
    /// What went wrong, by its stable code.
    pub code: Code,
    /// One line for the user.
    pub message: String,
    /// The server's whole answer, when the failure came from one (a
    /// record gone carries its tombstone).
    pub answer: Option<serde_json::Value>,
}

impl Failure {
    /// A failure with `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            answer: None,
        }
    }

    /// The same failure, with the server's answer it came from.
    pub fn with_answer(mut self, answer: serde_json::Value) -> Self {
        self.answer = Some(answer);
        self
    }

    /// Bad usage: an argument or a file given that cannot be used.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidArgument, message)
    }

    /// A check that found problems.
    pub fn check_failed(message: impl Into<String>) -> Self {
        Self::new(Code::CheckFailed, message)
    }

    /// Something that failed on this side.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }

    /// The process's exit code, from the error table.
    pub fn exit_code(&self) -> u8 {
        self.code.exit().code()
    }
}

impl From<ArchiveError> for Failure {
    fn from(e: ArchiveError) -> Self {
        Failure::new(e.code(), e.to_string())
    }
}

impl From<crate::config::ConfigError> for Failure {
    fn from(e: crate::config::ConfigError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::internal(format!("I/O: {e}"))
    }
}

/// What commands share: the configuration and the clock.
pub struct Context {
    config: Config,
    clock: Arc<dyn Clock>,
    policies: Option<PathBuf>,
    server: Option<String>,
}

/// Where a command that reads or changes the archive runs.
pub enum Target {
    /// On the data directory, in this process.
    Local(Box<Archive>),
    /// Through a running server.
    Remote(client::Remote),
}

impl Context {
    /// Where a command runs: through the server named (`--server`,
    /// `COFFRE_URL`), or the one holding the data directory; else on the
    /// data directory.
    fn target(&self) -> Result<Target, Failure> {
        Ok(match self.remote()? {
            Some(remote) => Target::Remote(remote),
            None => Target::Local(Box::new(self.open()?)),
        })
    }

    /// The server a command goes through: the one named (`--server`,
    /// `COFFRE_URL`), or the one holding the data directory; none when the
    /// data directory is free.
    fn remote(&self) -> Result<Option<client::Remote>, Failure> {
        if let Some(server) = &self.server {
            let token = match std::env::var("COFFRE_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
                Some(token) => token,
                None => client::Logins::of_user()?.token(server).ok_or_else(|| {
                    Failure::new(
                        Code::Unauthenticated,
                        format!("aucun jeton pour {server} : connectez-vous d'abord avec `coffre login {server}` (ou donnez COFFRE_TOKEN)"),
                    )
                })?,
            };
            return Ok(Some(client::Remote::new(server, token, None)));
        }
        if let Some(running) = self.config.data_dir().announced() {
            // A person who logged in to this server acts in their own name;
            // otherwise the owner of the data directory, with its rights.
            let logged_in = client::Logins::of_user().ok().and_then(|l| l.token(&running.url));
            if let Some(token) = std::env::var("COFFRE_TOKEN")
                .ok()
                .filter(|t| !t.trim().is_empty())
                .or(logged_in)
            {
                return Ok(Some(client::Remote::new(&running.url, token, None)));
            }
            if let Some(token) = running.operator_token {
                let user = Actor::command_line().name.trim_start_matches("cli:").to_owned();
                return Ok(Some(client::Remote::new(&running.url, token, Some(user))));
            }
        }
        Ok(None)
    }

    fn open(&self) -> Result<Archive, Failure> {
        if let Some(server) = &self.server {
            // Never the local directory when a server was named.
            return Err(Failure::usage(format!(
                "cette commande ne passe pas encore par un serveur ({server}) : lancez-la sur la machine du serveur, sans --server ni COFFRE_URL"
            )));
        }
        Ok(Archive::open(
            &self.config.data_dir(),
            self.config.archive_options(),
            Arc::clone(&self.clock),
        )?)
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), Failure> {
    let (listen, max_upload) = match &cli.command {
        Command::Serve(args) => (args.listen.as_str(), args.max_upload.as_str()),
        _ => (DEFAULT_LISTEN, DEFAULT_MAX_UPLOAD),
    };
    let mut config = Config::new(cli.data.clone(), listen, max_upload, cli.ocr)?;
    config.tsa_url = cli.tsa_url.clone().filter(|u| !u.trim().is_empty());
    config.tsa_ca = cli.tsa_ca.clone();
    config.copies = cli
        .copies
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| crate::archive::mirror::CopyPlace::parse(p.trim()))
        .collect();
    if let Command::Serve(args) = &cli.command {
        config.seal = crate::config::SealSchedule::new(args.seal_every_events, args.seal_every_minutes)?;
        config.fixity = crate::config::FixitySchedule::new(&args.fixity_every, &args.fixity_rate)?;
        config.clients = crate::config::ClientLimits::new(&args.client_idle, args.max_connections)?;
        config.directory = args
            .directory
            .as_deref()
            .filter(|p| !p.as_os_str().is_empty())
            .map(crate::config::read_directory_file)
            .transpose()?;
        if let Some(file) = args.capture.as_deref().filter(|p| !p.as_os_str().is_empty()) {
            config.capture = crate::capture::read_capture_file(file).map_err(|e| crate::config::ConfigError {
                field: "capture",
                problem: e.0,
            })?;
        }
        if let Some(file) = args.mail.as_deref().filter(|p| !p.as_os_str().is_empty()) {
            config.mail = Some(Arc::new(crate::notify::read_mail_file(file).map_err(|e| {
                crate::config::ConfigError {
                    field: "mail",
                    problem: e.0,
                }
            })?));
        }
        if let Some(file) = args.pes_mapping.as_deref().filter(|p| !p.as_os_str().is_empty()) {
            config.flows.pes = Arc::new(crate::policies::mappings::read_pes_mapping(file).map_err(|problem| {
                crate::config::ConfigError {
                    field: "pes-mapping",
                    problem,
                }
            })?);
        }
        config.flows.authorities = args.signature_authorities.clone().filter(|p| !p.as_os_str().is_empty());
        config.follow = args
            .follow
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(crate::archive::mirror::CopyPlace::parse);
        config.primary = args
            .primary
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
    }
    let ctx = Context {
        config,
        clock: Arc::new(SystemClock),
        policies: cli.policies.clone(),
        server: cli.server.clone().filter(|s| !s.trim().is_empty()),
    };
    match cli.command {
        Command::Init => init(&ctx),
        Command::Serve(_) => serve(&ctx),
        Command::Account(cmd) => accounts::run(&ctx, cmd),
        Command::Login(args) => accounts::login(args),
        Command::Token(TokenCommand::Create {
            role,
            name,
            account,
            application,
            days,
        }) => {
            let role = Role::parse(&role).ok_or_else(|| {
                Failure::usage(format!(
                    "{role:?} n'est pas un rôle ; les rôles sont admin, archivist, auditor, agent et visa"
                ))
            })?;
            let token = match ctx.target()? {
                Target::Local(archive) => {
                    // Archives opened before accounts existed have no first
                    // admin's account: their tokens belong to no one, as before.
                    let account = account.or_else(|| {
                        let first = crate::archive::FIRST_ADMIN;
                        archive.account(first).ok().map(|_| first.to_owned())
                    });
                    let holder = TokenHolder::named(account.as_deref(), application);
                    archive
                        .create_token(&Actor::command_line(), role, &name, holder, days)?
                        .text
                }
                Target::Remote(remote) => {
                    // A person's token goes to their own account by default;
                    // the directory owner's, to the first admin's, as locally.
                    let account = account.or_else(|| {
                        (remote.is_operator() && !application).then(|| crate::archive::FIRST_ADMIN.to_owned())
                    });
                    let answer: crate::wire::TokenDto = remote.post_json(
                        "/api/v1/tokens",
                        &serde_json::json!({"role": role.as_str(), "name": name, "account": account,
                            "application": application, "expires_in_days": days}),
                    )?;
                    answer.token
                }
            };
            println!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::List { json }) => {
            let tokens: Vec<crate::wire::TokenInfoDto> = match ctx.target()? {
                Target::Local(archive) => archive
                    .tokens(&Actor::command_line())?
                    .into_iter()
                    .map(crate::wire::TokenInfoDto::from)
                    .collect(),
                Target::Remote(remote) => remote.get_json::<crate::wire::TokensDto>("/api/v1/tokens")?.tokens,
            };
            print_tokens(&tokens, json)
        }
        Command::Token(TokenCommand::Revoke { id, reason }) => {
            let revoked: crate::wire::TokenInfoDto = match ctx.target()? {
                Target::Local(archive) => archive
                    .revoke_token(&Actor::command_line(), id, reason.as_deref())?
                    .into(),
                Target::Remote(remote) => remote.post_json(
                    &format!("/api/v1/tokens/{id}/revoke"),
                    &serde_json::json!({"reason": reason.unwrap_or_default()}),
                )?,
            };
            println!("jeton {} ({}) révoqué", revoked.id, revoked.name);
            Ok(())
        }
        Command::Identity(cmd) => identity::run(&ctx, cmd),
        Command::Ingest(args) => ingest::run(&ctx, args),
        Command::Pes(args) => flows::run(&ctx, args),
        Command::Cdv(args) => flows::run_cdv(&ctx, args),
        Command::Get(args) => records::get(&ctx, args),
        Command::Show(args) => records::show(&ctx, args),
        Command::Update(args) => records::update(&ctx, args),
        Command::Search(args) => search::run(&ctx, args),
        Command::Plan(cmd) => plan::run(&ctx, cmd),
        Command::Retention(cmd) => retention::run(&ctx, cmd),
        Command::Hold(cmd) => retention::run_hold(&ctx, cmd),
        Command::Disposal(cmd) => disposal::run(&ctx, cmd),
        Command::Transfer(cmd) => disposal::run_transfer(&ctx, cmd),
        Command::Audit(cmd) => audit::run(&ctx, cmd),
        Command::Export(args) => package::export(&ctx, args),
        Command::VerifyPackage(args) => package::verify(args),
        Command::VerifyAttestation(args) => package::verify_attestation(args),
        Command::Import(args) => package::import(&ctx, args),
        Command::Attestation {
            reference,
            version,
            html,
        } => {
            let attestation: crate::archive::seals::Attestation = match ctx.target()? {
                Target::Local(archive) => {
                    archive.attestation(&crate::archive::Actor::command_line(), &reference, version)?
                }
                Target::Remote(remote) => remote.get_json(&format!(
                    "/api/v1/records/{}/attestation{}",
                    client::path_segment(&reference),
                    version.map(|v| format!("?version={v}")).unwrap_or_default()
                ))?,
            };
            if html {
                print!("{}", crate::documents::attestation_html(&attestation));
                Ok(())
            } else {
                audit::print_pretty(&attestation)
            }
        }
        Command::Reindex => search::reindex(&ctx),
        Command::Repair { json } => audit::repair(&ctx, json),
        Command::Restore { from, json } => {
            audit::restore(&ctx, &crate::archive::mirror::CopyPlace::parse(from.trim()), json)
        }
        Command::Pack { json } => audit::pack(&ctx, json),
        Command::Rebuild => {
            let archive = Archive::rebuild(
                &ctx.config.data_dir(),
                ctx.config.archive_options(),
                Arc::clone(&ctx.clock),
            )?;
            let records = archive.record_count()?;
            archive.flush()?;
            println!(
                "catalogue et index reconstruits à partir du journal et des fichiers : {}",
                count(records, "document", "documents")
            );
            Ok(())
        }
    }
}

fn init(ctx: &Context) -> Result<(), Failure> {
    let dir = ctx.config.data_dir();
    let policies = match &ctx.policies {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(format!("{} : le plan ne peut être lu : {e}", file.display())))?,
        None => crate::policies::DEFAULT_PLAN.to_owned(),
    };
    let outcome = Archive::init(&dir, ctx.config.archive_options(), Arc::clone(&ctx.clock), &policies);
    if let (Err(ArchiveError::InvalidPlan(invalid)), Some(file)) = (&outcome, &ctx.policies) {
        for problem in &invalid.0 {
            eprintln!("{}:{problem}", file.display());
        }
    }
    match outcome? {
        InitOutcome::Created { admin_token } => {
            println!("archive créée dans {}", dir.path().display());
            println!("jeton d'administration (affiché une seule fois ; gardez-le en lieu sûr) :");
            println!("{admin_token}");
        }
        InitOutcome::AlreadyInitialised => {
            println!("{} contient déjà une archive : rien n'a changé", dir.path().display());
        }
    }
    Ok(())
}

fn serve(ctx: &Context) -> Result<(), Failure> {
    let dir = ctx.config.data_dir();
    match &ctx.config.follow {
        // A replica's first start: the whole archive from the copy.
        Some(place) if !dir.is_initialised() => {
            let bootstrap = ctx.config.data_dir();
            let progress = audit::Bar(audit::progress_bar());
            let taken = crate::archive::restore::take_whole(place, &bootstrap, &progress)?;
            progress.0.finish_and_clear();
            tracing::info!(
                from = %place,
                blobs = taken.blobs,
                refused = taken.refused.len(),
                "a replica's data directory was taken from its copy"
            );
        }
        Some(_) => {}
        None if !dir.is_initialised() => init(ctx)?,
        None => {}
    }
    let archive = Arc::new(ctx.open()?);
    for tool in archive.missing_tools() {
        tracing::warn!(
            "{} est absent (paquet Debian {}) : {}.",
            tool.program,
            tool.package,
            tool.cost
        );
    }
    crate::http::serve(archive, &ctx.config, |addr| {
        println!("coffre : en service sur http://{addr}");
        let _ = std::io::stdout().flush();
        tracing::info!(%addr, data = %dir.path().display(), "serving");
    })?;
    Ok(())
}

/// The tokens as a table, or one JSON object per line.
fn print_tokens(tokens: &[crate::wire::TokenInfoDto], json: bool) -> Result<(), Failure> {
    if json {
        for token in tokens {
            print_json(token)?;
        }
        return Ok(());
    }
    let date = |d: Option<chrono::DateTime<chrono::Utc>>| {
        d.map_or_else(|| "-".to_owned(), |d| crate::french::date(d.date_naive()))
    };
    println!(
        "{:>6}  {:<10}  {:<10}  {:<12}  {:<10}  nom",
        "id", "état", "rôle", "titulaire", "expire le"
    );
    for t in tokens {
        let holder = match (&t.account, t.application) {
            (_, true) => "application".to_owned(),
            (Some(user), false) => user.clone(),
            (None, false) => "-".to_owned(),
        };
        let state = crate::french::token_state(&t.state);
        println!(
            "{:>6}  {:<10}  {:<10}  {:<12}  {:<10}  {}",
            t.id,
            state,
            t.role,
            holder,
            date(t.expires_at),
            t.name
        );
    }
    Ok(())
}

/// `1 document`, `2 documents`, `0 document`: a count and its noun, in
/// French (where 0 and 1 take the singular).
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    crate::french::count(n.into(), one, many)
}

/// Prints one JSON object on one line.
fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let line = serde_json::to_string(value).map_err(|e| Failure::internal(format!("encoding JSON: {e}")))?;
    println!("{line}");
    Ok(())
}

/// Whether standard error is a terminal (progress bars go there).
fn on_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal()
}
