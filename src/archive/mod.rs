//! The application service: every use case of the archive, synchronous, in
//! one order: content to the blob store, then the event to the journal,
//! then the views (which the journal's observer updates before answering).
//!
//! The HTTP and CLI adapters call only this. It knows the stores through
//! their traits; it does not know HTTP, terminals or async runtimes.

pub mod accounts;
mod audit;
#[cfg(test)]
mod circuit_tests;
pub mod circuits;
mod damage;
mod data_dir;
pub mod directory;
mod disposals;
mod disposition;
pub mod einvoices;
pub mod exports;
#[cfg(test)]
mod fault_tests;
pub mod fixity;
#[cfg(test)]
mod flow_tests;
pub mod flows;
pub mod follow;
mod holds;
mod identity;
pub mod imports;
mod in_use;
#[cfg(test)]
mod in_use_tests;
pub mod indicators;
pub mod mirror;
#[cfg(test)]
mod parts_tests;
mod plan;
mod projection;
mod reading;
mod records;
pub mod registers;
mod renditions;
mod repair;
#[cfg(test)]
mod replay_tests;
pub mod restore;
mod retention;
pub mod seals;
mod search;
pub mod stats;
#[cfg(test)]
mod stats_tests;
mod stores;
pub mod tokens;
pub mod trail;
mod transfers;
pub mod verification;
#[cfg(test)]
mod verification_tests;

/// The longest label people write (a visa, a signer, a reference).
pub use disposition::LABEL_MAX;
/// The longest reason or note people write (a hold, a review, a change).
pub use holds::TEXT_MAX;

pub use crate::store::mail::{MailError, MailServerAddress, MailSession, Taken};
pub use accounts::{AccountChanges, NewAccount};
pub use audit::{JOURNAL_SCAN_MAX, JournalFilter, JournalPage, Progress, check_integrity_offline, journal_offline};
pub use data_dir::{Announcement, DataDir};
pub use disposals::VisaRequest;
pub use disposition::ProposalRequest;
pub use holds::HoldRequest;
pub use plan::{InvalidPlan, Publication, Publish, PublishedPlan, check_plan};
pub use records::{
    Deposit, Deposited, LINKED_SHOWN, LinkedRecord, Links, Proposal, RecordChanges, RecordDetails, Staged, Upload,
    file_name_of,
};
pub use retention::{DueRecord, EventTarget};
pub use search::ReindexReport;
pub use stores::{Stores, open_mail_session, pack_blob_files};
pub use transfers::AcknowledgementRequest;

use crate::domain::clock::Clock;
use crate::domain::event::{EventBody, EventDraft};
use crate::domain::record::InvalidInput;
use crate::domain::role::{Permission, Role};
use crate::domain::seal::SealKey;
use crate::errors::Code;
use crate::store::{
    BlobError, BlobStore, Catalog, CatalogError, IndexError, Journal, JournalError, MerkleTree, TextIndex, ViewError,
};
use projection::Projector;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Everything that can go wrong in a use case, split by who is at fault.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Bad input; names the field.
    #[error("{0}")]
    Invalid(#[from] InvalidInput),
    /// No record has this reference or id.
    #[error("aucun document n'a la référence ou l'identifiant « {0} »")]
    RecordNotFound(String),
    /// The record has no such version.
    #[error("le document {reference} n'a pas de version {version}")]
    VersionNotFound {
        /// The record.
        reference: String,
        /// The version asked for.
        version: u32,
    },
    /// The version has no searchable rendition (not a scan, OCR off, or
    /// not made yet).
    #[error(
        "la version {version} du document {reference} n'a pas de version recherchable : ce n'est pas un scan, la reconnaissance de texte est désactivée, ou elle n'est pas encore faite"
    )]
    RenditionNotFound {
        /// The record.
        reference: String,
        /// The version asked for.
        version: u32,
    },
    /// The content is over the configured limit.
    #[error("le contenu dépasse la taille permise de {limit} octets")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The content could not be read to its end.
    #[error("le contenu n'a pas pu être lu jusqu'au bout : {0}")]
    UploadAborted(String),
    /// No valid token.
    #[error("il faut un jeton d'accès valide")]
    Unauthenticated,
    /// A plan file that does not pass its checks.
    #[error(transparent)]
    InvalidPlan(InvalidPlan),
    /// Publishing would leave records in nodes the plan no longer has.
    #[error(
        "le nouveau plan supprime des nœuds qui contiennent des documents ({}) : gardez-les, ou nommez-les dans la liste `replaces` du nœud où leurs documents vont",
        .0.iter().map(|(code, n)| format!("{code} : {}", crate::french::count(*n, "document", "documents"))).collect::<Vec<_>>().join(", ")
    )]
    PlanOrphansRecords(Vec<(String, u64)>),
    /// A deposit names no node and no classification rule fits it.
    #[error(
        "node : le dépôt ne nomme aucun nœud et aucune règle de classement ne le reconnaît{} ; nommez l'un de ceux-ci : {}",
        .unreadable.as_ref().map(|why| format!(" (son texte n'a pas pu être lu : {why})")).unwrap_or_default(),
        .candidates.iter().map(|(code, title)| format!("{code} ({title})")).collect::<Vec<_>>().join(", ")
    )]
    Unclassified {
        /// The nodes it may belong to (code, title).
        candidates: Vec<(String, String)>,
        /// Why its text could not be read, when the rules needed it (a
        /// scan with OCR off, a PDF without `pdftotext`).
        unreadable: Option<String>,
    },
    /// An active legal hold freezes the record.
    #[error("le document {reference} est gelé ({}) : levez d'abord le gel", .holds.iter().map(|h| format!("gel {h}")).collect::<Vec<_>>().join(", "))]
    Held {
        /// The record.
        reference: String,
        /// The holds.
        holds: Vec<u64>,
    },
    /// No hold has this id.
    #[error("aucun gel n'a le numéro {0}")]
    HoldNotFound(u64),
    /// The record does not wait in the verification queue.
    #[error(
        "le document {0} n'attend pas de vérification : sa description a déjà été vérifiée, ou rien n'y était douteux ; modifiez-la si elle est fausse"
    )]
    NotAwaitingVerification(String),

    /// The record is in no processing circuit, or its circuit has ended.
    #[error("le document {0} n'est dans aucun circuit de traitement, ou son circuit est terminé")]
    NotInCircuit(String),
    /// The step the record is at does not allow this move.
    #[error(
        "le document {reference} est à l'étape « {from} », d'où il ne peut pas passer à « {to} » ; {}",
        crate::french::allowed_moves(allowed)
    )]
    MoveNotAllowed {
        /// The record.
        reference: String,
        /// The step it is at (its name).
        from: String,
        /// The step asked (its name, or the code given).
        to: String,
        /// The moves allowed: code and name.
        allowed: Vec<(String, String)>,
    },
    /// The step the record is at is another service's or role's.
    #[error(
        "l'étape « {step} » revient à {} : ce document n'est pas dans votre liste de travail",
        service.as_deref().map_or_else(|| "d'autres rôles".to_owned(), |s| format!("au service « {s} »"))
    )]
    NotYourStep {
        /// The step's name.
        step: String,
        /// The service acting there.
        service: Option<String>,
    },

    #[error(
        "l'identité de la collectivité n'est pas encore définie : définissez-la d'abord (page Identité, PUT /api/v1/identity ou `coffre identity set`)"
    )]
    IdentityNotSet,
    /// The hold was lifted already.
    #[error("le gel {0} a déjà été levé")]
    HoldLifted(u64),
    /// No disposal has this id.
    #[error("aucune élimination n'a le numéro {0}")]
    DisposalNotFound(u64),
    /// No transfer has this id.
    #[error("aucun versement n'a le numéro {0}")]
    TransferNotFound(u64),
    /// The disposal has no visa yet.
    #[error("l'élimination {0} n'a pas reçu le visa du service d'archives : elle ne peut être exécutée")]
    DisposalNotApproved(u64),
    /// The disposal is not at the step asked.
    #[error(
        "l'élimination {id} est {} ; cette étape la veut {}",
        crate::french::disposal_state(state),
        crate::french::disposal_state(wanted)
    )]
    DisposalState {
        /// The disposal.
        id: u64,
        /// Where it is.
        state: &'static str,
        /// Where it should be.
        wanted: &'static str,
    },
    /// The record was destroyed by a disposal.
    #[error("le document {reference} a été éliminé par l'élimination {disposal} ; seule sa trace demeure")]
    RecordDestroyed {
        /// The record.
        reference: String,
        /// The disposal.
        disposal: u64,
    },
    /// The plan would make records due earlier, or destroy what was to be
    /// kept, and the archivist did not confirm it.
    #[error(
        "le nouveau plan avance l'échéance de {shortened} document(s) et rend éliminables {to_destroy} document(s) qui devaient être conservés ou triés : publiez-le de nouveau avec une confirmation explicite et un motif"
    )]
    PlanShortensRetention {
        /// Records due earlier.
        shortened: u64,
        /// Records to be destroyed instead.
        to_destroy: u64,
    },
    /// No plan version has this number.
    #[error("aucune version {0} du plan n'a été publiée")]
    PlanVersionNotFound(u32),
    /// The plan does not let the caller's role into this node.
    #[error("le plan de classement ne permet pas au rôle {} de {action} le nœud {node}", crate::french::role(*role))]
    NodeForbidden {
        /// The caller's role.
        role: Role,
        /// The node.
        node: String,
        /// What was refused (`deposit into`, `read`).
        action: &'static str,
    },
    /// The caller's role does not allow this.
    #[error("le rôle {} ne permet pas de {action}", crate::french::role(*role))]
    Forbidden {
        /// The caller's role.
        role: Role,
        /// What was refused.
        action: &'static str,
    },
    /// An answer of the archives names a package no transfer exported.
    #[error(
        "cette réponse du service d'archives porte sur le paquet « {0} », qu'aucun versement de cette archive n'a exporté"
    )]
    ReplyForUnknownTransfer(String),
    /// The collectivité reserves the visa to its archives authority.
    #[error("{0}")]
    VisaReserved(String),
    /// Records are never deleted directly.
    #[error(
        "un document ne se supprime pas : il ne quitte l'archive que par une élimination \
         (proposée, visée par le service d'archives, exécutée) une fois sa durée de conservation échue"
    )]
    DeleteForbidden,
    /// The data directory has not been created.
    #[error("le dossier de données {0} n'est pas initialisé : lancez d'abord `coffre init`")]
    NotInitialised(PathBuf),
    /// The data directory's layout is newer than this version knows.
    #[error(
        "le dossier de données {path} est au format {found}, plus récent que celui que cette version \
         de coffre sait lire ({known}) : ouvrez-le avec la version qui l'a écrit, ou une plus récente"
    )]
    FormatTooNew { path: PathBuf, found: u32, known: u32 },
    /// The data directory's marker cannot be read.
    #[error("le marqueur {path} du dossier de données est illisible ({reason}) : restaurez-le depuis une sauvegarde")]
    MarkerUnreadable { path: PathBuf, reason: String },
    /// Another process holds the data directory.
    #[error("le dossier de données {0} est utilisé par un autre processus coffre (un serveur en marche ?)")]
    Busy(PathBuf),
    /// A blob store failure.
    #[error(transparent)]
    Blob(BlobError),
    /// A journal failure.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// A catalog failure.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// A view that could not read what the journal names.
    #[error(transparent)]
    View(#[from] ViewError),
    /// A transfer that cannot take this step.
    #[error("le versement {id} ne peut être accepté : {problem}")]
    TransferState {
        /// The transfer.
        id: u64,
        /// Why.
        problem: String,
    },
    /// A package that cannot be imported, with every reason.
    #[error("paquet refusé : {}", .0.join(" ; "))]
    PackageRefused(Vec<String>),
    /// No seal covers what a proof was asked for yet.
    #[error("aucun sceau ne couvre encore {0} : scellez d'abord le journal (`coffre audit seal`, POST /audit/seals)")]
    NotSealed(String),
    /// A search query that cannot be understood; says where and how to
    /// write it, in French.
    #[error("{0}")]
    BadQuery(String),
    /// A request over one of the archive's bounds (a page too deep, a
    /// query too long); names the bound.
    #[error("{0}")]
    LimitExceeded(String),
    /// A search index failure.
    #[error(transparent)]
    Index(IndexError),
    /// A version's content is damaged or missing: it is not served.
    #[error(
        "le contenu de {reference}, version {version}, ne peut être servi : {problem}, et aucune copie intacte \
         n'a pu le remplacer ; déposer à nouveau le fichier d'origine le répare"
    )]
    ContentDamaged {
        /// The record.
        reference: String,
        /// The version.
        version: u32,
        /// What is wrong: `corrupt` or `missing`, and who found it.
        problem: String,
    },
    /// No account has this user name.
    #[error("aucun compte n'a l'identifiant « {0} »")]
    AccountNotFound(String),
    /// The user name is taken.
    #[error("un compte a déjà l'identifiant « {0} »")]
    AccountExists(String),
    /// A sign-in that failed; which of the name and the password is wrong
    /// is not said.
    #[error("identifiant ou mot de passe incorrect")]
    SignInFailed,
    /// The directory accepted the person, but none of their groups gives
    /// access to coffre.
    #[error(
        "votre compte de l'annuaire n'appartient à aucun groupe qui donne accès à coffre : demandez cet accès à l'administrateur"
    )]
    NotGranted,
    /// Fewer stores than the plan asks for could take a content: says
    /// which and why.
    #[error("{0}")]
    CopiesUnavailable(String),
    /// A read-only replica cannot journal who reads a record holding
    /// personal data, so it does not serve it: the primary does.
    #[error(
        "le document {reference} contient des données personnelles : chaque consultation est tracée, ce que cette réplique en lecture seule ne peut faire ; consultez-le sur le serveur principal{}",
        .primary.as_ref().map(|url| format!(" ({url})")).unwrap_or_default()
    )]
    ReadingNotTraced {
        /// The record.
        reference: String,
        /// The primary server's address, when the replica was told it.
        primary: Option<String>,
    },
    /// The directory could not be asked.
    #[error("l'annuaire ne répond pas, la connexion par l'annuaire est impossible pour l'instant : {0}")]
    DirectoryUnavailable(String),
    /// Too many failed sign-ins: the brake holds this account or address
    /// for a while.
    #[error("trop de tentatives de connexion infructueuses : réessayez dans {wait_secs} s")]
    TooManyAttempts {
        /// Seconds left to wait.
        wait_secs: i64,
    },
    /// File I/O outside the stores.
    #[error("entrée-sortie : {0}")]
    Io(#[from] std::io::Error),
    /// No token the caller may see has this id.
    #[error("aucun jeton n'a le numéro {0}")]
    TokenNotFound(u64),
    /// A token that has expired or was revoked.
    #[error("{}", match .0 {
        tokens::TokenRefusal::Expired => "ce jeton a expiré : demandez-en un nouveau",
        tokens::TokenRefusal::Revoked => "ce jeton a été révoqué",
    })]
    TokenRefused(tokens::TokenRefusal),
    /// A broken internal expectation.
    #[error("erreur interne : {0}")]
    Internal(String),
}

impl ArchiveError {
    /// Its row in the error table (`crate::errors`): the stable code, and
    /// through it the HTTP status and the exit code.
    pub fn code(&self) -> Code {
        use ArchiveError as E;
        match self {
            E::Invalid(_) => Code::InvalidField,
            E::RecordNotFound(_) => Code::RecordNotFound,
            E::RenditionNotFound { .. } => Code::RenditionNotFound,
            E::VersionNotFound { .. } => Code::VersionNotFound,
            E::TooLarge { .. } => Code::PayloadTooLarge,
            E::ReadingNotTraced { .. } => Code::ReadingNotTraced,
            E::UploadAborted(_) => Code::UploadIncomplete,
            E::Unauthenticated => Code::Unauthenticated,
            E::InvalidPlan(_) => Code::InvalidPlan,
            E::PlanOrphansRecords(_) => Code::PlanOrphansRecords,
            E::Unclassified { .. } => Code::Unclassified,
            E::Held { .. } => Code::RecordHeld,
            E::HoldNotFound(_) => Code::HoldNotFound,
            E::NotAwaitingVerification(_) => Code::NotAwaitingVerification,
            E::NotInCircuit(_) => Code::NotInCircuit,
            E::MoveNotAllowed { .. } => Code::MoveNotAllowed,
            E::NotYourStep { .. } => Code::NotYourStep,
            E::IdentityNotSet => Code::IdentityNotSet,
            E::HoldLifted(_) => Code::HoldAlreadyLifted,
            E::DisposalNotFound(_) => Code::DisposalNotFound,
            E::TransferNotFound(_) => Code::TransferNotFound,
            E::DisposalNotApproved(_) => Code::DisposalNotApproved,
            E::DisposalState { .. } => Code::DisposalState,
            E::RecordDestroyed { .. } => Code::RecordDestroyed,
            E::PlanShortensRetention { .. } => Code::PlanShortensRetention,
            E::PlanVersionNotFound(_) => Code::PlanVersionNotFound,
            E::NodeForbidden { .. } | E::Forbidden { .. } => Code::Forbidden,
            E::DeleteForbidden => Code::RetentionForbidsDelete,
            E::VisaReserved(_) => Code::VisaReserved,
            E::ReplyForUnknownTransfer(_) => Code::TransferNotFound,
            E::NotInitialised(_) | E::Busy(_) | E::FormatTooNew { .. } | E::MarkerUnreadable { .. } => {
                Code::Unavailable
            }
            E::TransferState { .. } => Code::TransferState,
            E::PackageRefused(_) => Code::PackageRefused,
            E::NotSealed(_) => Code::NotSealed,
            E::BadQuery(_) => Code::InvalidQuery,
            E::LimitExceeded(_) => Code::LimitExceeded,
            E::ContentDamaged { .. } => Code::ContentDamaged,
            E::AccountNotFound(_) => Code::AccountNotFound,
            E::AccountExists(_) => Code::AccountExists,
            E::SignInFailed => Code::SignInFailed,
            E::NotGranted => Code::NotGranted,
            E::DirectoryUnavailable(_) => Code::DirectoryUnavailable,
            E::CopiesUnavailable(_) => Code::CopiesUnavailable,
            E::TooManyAttempts { .. } => Code::TooManyAttempts,
            E::TokenNotFound(_) => Code::TokenNotFound,
            E::TokenRefused(tokens::TokenRefusal::Expired) => Code::TokenExpired,
            E::TokenRefused(tokens::TokenRefusal::Revoked) => Code::TokenRevoked,
            E::Blob(BlobError::Io(e)) | E::Journal(JournalError::Io(e)) | E::Io(e) if storage_full(e) => {
                Code::StorageFull
            }
            // The journal refuses appends after a failed write until the
            // server restarts and recovers it: writes are unavailable.
            E::Journal(JournalError::Failed(_)) => Code::Unavailable,
            // A store's files failed to be written: nothing unsure was
            // acknowledged, and the archive says to come back later.
            E::Blob(BlobError::Io(_))
            | E::Journal(JournalError::Io(_))
            | E::Journal(JournalError::ViewFailed {
                reason:
                    ViewError::Io(_) | ViewError::Catalog(CatalogError::Storage(_)) | ViewError::Blob(BlobError::Io(_)),
                ..
            })
            | E::Catalog(CatalogError::Storage(_))
            | E::View(
                ViewError::Io(_) | ViewError::Catalog(CatalogError::Storage(_)) | ViewError::Blob(BlobError::Io(_)),
            )
            | E::Io(_) => Code::Unavailable,
            E::Blob(_) | E::Journal(_) | E::Catalog(_) | E::View(_) | E::Index(_) | E::Internal(_) => Code::Internal,
        }
    }
}

/// Whether a write failed for want of space (the disk or a quota).
fn storage_full(e: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded)
        || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}

impl From<crate::store::mirror::MirrorError> for ArchiveError {
    /// A copy folder's file that cannot be read or written is a storage
    /// failure (503, or 507 when the disk is full), said with its path.
    fn from(e: crate::store::mirror::MirrorError) -> Self {
        match e {
            crate::store::mirror::MirrorError::Io { path, source } => ArchiveError::Io(std::io::Error::new(
                source.kind(),
                format!("{}: {source}", path.display()),
            )),
            diverged @ crate::store::mirror::MirrorError::Diverged { .. } => {
                ArchiveError::Internal(diverged.to_string())
            }
            remote @ crate::store::mirror::MirrorError::Remote { .. } => {
                ArchiveError::Io(std::io::Error::other(remote.to_string()))
            }
        }
    }
}

impl From<BlobError> for ArchiveError {
    fn from(e: BlobError) -> Self {
        match e {
            BlobError::TooLarge { limit } => ArchiveError::TooLarge { limit },
            BlobError::Source(e) => ArchiveError::UploadAborted(e.to_string()),
            BlobError::CopiesUnavailable(reason) => ArchiveError::CopiesUnavailable(reason),
            other => ArchiveError::Blob(other),
        }
    }
}

/// Who is acting: a token's holder or the local command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// As written in the journal: `token:<name>`, `cli:<user>`, `system`.
    pub name: String,
    /// What the actor may do.
    pub role: Role,
    /// The person's account, when a person acts (signed in, or through a
    /// token of theirs).
    pub account: Option<crate::domain::account::UserName>,
}

impl Actor {
    /// The person at the command line, who holds the data directory and so
    /// has every right.
    pub fn command_line() -> Self {
        // Looked up once a process (the system's user database is read
        // when the environment does not say): a bulk ingest asks for
        // each file.
        static USER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        let user = USER.get_or_init(|| {
            std::env::var("USER")
                .or_else(|_| std::env::var("LOGNAME"))
                .ok()
                .filter(|u| !u.trim().is_empty())
                .unwrap_or_else(system_user_name)
        });
        Actor {
            name: format!("cli:{user}"),
            role: Role::Admin,
            account: None,
        }
    }

    /// The archive itself (initialisation, migrations).
    pub fn system() -> Self {
        Actor {
            name: "system".into(),
            role: Role::Admin,
            account: None,
        }
    }

    /// Refuses unless the actor's role grants `permission`.
    pub fn require(&self, permission: Permission, action: &'static str) -> Result<(), ArchiveError> {
        if self.role.allows(permission) {
            Ok(())
        } else {
            Err(ArchiveError::Forbidden {
                role: self.role,
                action,
            })
        }
    }

    /// Refuses unless the actor's role grants one of `permissions`.
    pub fn require_one_of(&self, permissions: &[Permission], action: &'static str) -> Result<(), ArchiveError> {
        if permissions.iter().any(|p| self.role.allows(*p)) {
            Ok(())
        } else {
            Err(ArchiveError::Forbidden {
                role: self.role,
                action,
            })
        }
    }

    fn draft(&self, body: EventBody) -> EventDraft {
        EventDraft {
            actor: self.name.clone(),
            body,
        }
    }
}

/// An archive on in-memory stores, for the use cases' unit tests.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// The options of the tests' archives: uploads up to 1 MiB, no
    /// time-stamping authority.
    pub(crate) fn options() -> ArchiveOptions {
        ArchiveOptions {
            max_upload: 1 << 20,
            extract: crate::extract::ExtractOptions::default(),
            tsa_url: None,
            tsa_ca: None,
            directory: None,
            copies: Vec::new(),
            follow: None,
            primary: None,
            part_lines: crate::domain::disposition::PART_LINES,
            flows: flows::FlowOptions::default(),
        }
    }

    /// A fresh archive in memory with the default plan, letting people in
    /// through `directory` as `options` grant.
    pub(crate) fn archive_with_directory(
        options: ArchiveOptions,
        directory: Arc<dyn crate::store::directory::Directory>,
    ) -> (tempfile::TempDir, Archive) {
        let stores = Stores::in_memory(&options).expect("stores").with_directory(directory);
        archive_on(stores, options)
    }

    /// A fresh archive on `stores` with the default plan, and the folder
    /// that holds its seal key and credentials (kept alive with it).
    pub(crate) fn archive_on(stores: Stores, options: ArchiveOptions) -> (tempfile::TempDir, Archive) {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(tmp.path().join("data"));
        data_dir.create().expect("create");
        let archive =
            Archive::open_on(&data_dir, stores, options, Arc::new(crate::domain::clock::SystemClock)).expect("open");
        archive
            .publish_plan(&Actor::system(), crate::policies::DEFAULT_PLAN, &Publish::default())
            .expect("publish");
        (tmp, archive)
    }

    /// An archive on in-memory stores with the default plan, and its
    /// catalog, whose scans of every record the tests count.
    pub(crate) fn archive_counting_scans() -> (tempfile::TempDir, Archive, Arc<super::stores::MemoryCatalog>) {
        let options = options();
        let catalog = Arc::new(super::stores::MemoryCatalog::default());
        let mut stores = Stores::in_memory(&options).expect("stores");
        stores.catalog = Arc::clone(&catalog) as Arc<dyn crate::store::Catalog>;
        let (tmp, archive) = archive_on(stores, options);
        (tmp, archive, catalog)
    }

    /// An archive on in-memory stores (no plan published yet), its data
    /// directory (for the seal key and credentials) and the folder that
    /// holds it, kept alive with it.
    pub(crate) fn open_in_memory() -> (tempfile::TempDir, DataDir, Archive) {
        open_in_memory_with_clock(Arc::new(crate::domain::clock::SystemClock))
    }

    /// As [`open_in_memory`], on `clock`.
    pub(crate) fn open_in_memory_with_clock(clock: Arc<dyn Clock>) -> (tempfile::TempDir, DataDir, Archive) {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(tmp.path().join("data"));
        data_dir.create().expect("create");
        let options = options();
        let stores = Stores::in_memory(&options).expect("stores");
        let archive = Archive::open_on(&data_dir, stores, options, clock).expect("open");
        (tmp, data_dir, archive)
    }

    /// A fresh archive on disk with the default plan, opened with
    /// `options`: the folder that holds it (kept alive with it), its data
    /// directory and the archive.
    pub(crate) fn on_disk(options: ArchiveOptions) -> (tempfile::TempDir, DataDir, Archive) {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let data_dir = DataDir::new(tmp.path().join("data"));
        let clock = || Arc::new(crate::domain::clock::SystemClock);
        Archive::init(&data_dir, options.clone(), clock(), crate::policies::DEFAULT_PLAN).expect("init");
        let archive = Archive::open(&data_dir, options, clock()).expect("open");
        (tmp, data_dir, archive)
    }

    /// Alice, an agent.
    pub(crate) fn agent() -> Actor {
        Actor {
            name: "user:alice".into(),
            role: crate::domain::role::Role::Agent,
            account: None,
        }
    }

    /// Deposits `text` as `facture.txt`, titled « Facture », in `node`
    /// (else where the plan classifies it); its reference.
    pub(crate) fn deposit_text(archive: &Archive, actor: &Actor, text: &str, node: Option<&str>) -> String {
        let upload = Upload {
            staged: archive.stage(&mut text.as_bytes()).expect("staged"),
            filename: Some("facture.txt".into()),
        };
        let deposit = Deposit {
            node: node.map(str::to_owned),
            title: Some("Facture".into()),
            ..Deposit::default()
        };
        archive
            .ingest(actor, deposit, upload)
            .expect("deposited")
            .reference
            .to_string()
    }

    /// A fresh archive in memory, with the default plan, and the folder
    /// that holds its seal key and credentials (kept alive with it).
    pub(crate) fn memory_archive() -> (tempfile::TempDir, Archive) {
        let (tmp, _, archive) = open_in_memory();
        archive
            .publish_plan(&Actor::system(), crate::policies::DEFAULT_PLAN, &Publish::default())
            .expect("publish");
        (tmp, archive)
    }
}

/// The name of the system account this process runs as (from the user
/// database when the environment does not say), or `uid:N`.
fn system_user_name() -> String {
    // SAFETY: getuid cannot fail; getpwuid_r writes into the buffers given
    // and the name is copied out before they go.
    unsafe {
        let uid = libc::getuid();
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 4096];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(uid, &mut entry, buffer.as_mut_ptr(), buffer.len(), &mut found);
        if status == 0
            && !found.is_null()
            && !entry.pw_name.is_null()
            && let Ok(name) = std::ffi::CStr::from_ptr(entry.pw_name).to_str()
        {
            return name.to_owned();
        }
        format!("uid:{uid}")
    }
}

/// Settings the archive needs once open.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// The largest content accepted, in bytes.
    pub max_upload: u64,
    /// How text is extracted for search.
    pub extract: crate::extract::ExtractOptions,
    /// The RFC 3161 time-stamping authority that stamps each seal, if any.
    pub tsa_url: Option<String>,
    /// A CA file (PEM) trusted, besides the Mozilla roots, for the
    /// authority's HTTPS server.
    pub tsa_ca: Option<std::path::PathBuf>,
    /// The directory people sign in through, if any.
    pub directory: Option<directory::DirectoryOptions>,
    /// Folders (other disks, network mounts) and buckets that keep a copy
    /// of every blob, written before a deposit is acknowledged, and of the
    /// archive's own files.
    pub copies: Vec<mirror::CopyPlace>,
    /// The copy this archive follows as a read-only replica, if any.
    pub follow: Option<mirror::CopyPlace>,
    /// A replica's primary server, as people reach it (its address), to
    /// send them there for what the replica does not serve.
    pub primary: Option<String>,
    /// Lines of a disposal or a transfer per journal event
    /// ([`crate::domain::disposition::PART_LINES`]; fewer only where tests
    /// need parts of a few records).
    pub part_lines: usize,
    /// How accounting flows (PES) are split and their signatures checked.
    pub flows: flows::FlowOptions,
}

/// `each` over `items` on every core (at most 8 threads, each a run of
/// consecutive items; inline when there are few), what each gives
/// concatenated in the items' order; the first error stops it. A panic in
/// a thread is raised again here, as the items one by one would have.
pub(crate) fn on_every_core<T, I, E>(items: &[T], each: impl Fn(&T) -> Result<I, E> + Sync) -> Result<Vec<I::Item>, E>
where
    T: Sync,
    I: IntoIterator,
    I::Item: Send,
    E: Send,
{
    let run = |part: &[T]| -> Result<Vec<I::Item>, E> {
        let mut out = Vec::new();
        for item in part {
            out.extend(each(item)?);
        }
        Ok(out)
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
    if items.len() < 2 * threads {
        return run(items);
    }
    let parts: Vec<Result<Vec<I::Item>, E>> = std::thread::scope(|scope| {
        let workers: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(|| run(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    let mut out = Vec::with_capacity(items.len());
    for part in parts {
        out.extend(part?);
    }
    Ok(out)
}

/// The user name of the account `init` opens for the first admin.
pub const FIRST_ADMIN: &str = "admin";

/// How many stripes of per-record locks: enough that unrelated records
/// rarely wait for each other, few enough to cost nothing.
const RECORD_LOCK_STRIPES: usize = 64;

/// An open archive.
pub struct Archive {
    data_dir: DataDir,
    options: ArchiveOptions,
    clock: Arc<dyn Clock>,
    blobs: Arc<dyn BlobStore>,
    catalog: Arc<dyn Catalog>,
    journal: Arc<dyn Journal>,
    /// Naming counters handed out in this process, by scope (`NODE` or
    /// `NODE/YEAR`); the catalog knows those already journaled.
    counters: Mutex<HashMap<String, u64>>,
    /// Serialises changes to one record (version numbers).
    record_locks: Vec<Mutex<()>>,
    /// The full-text index (a view that follows the journal from behind).
    index: Arc<dyn TextIndex>,
    /// One indexer at a time.
    index_lock: Mutex<()>,
    /// Records indexed and not looked at by the invoice reader yet.
    unread: reading::Unread,
    /// The circuits' indicators, folded from the journal as far as read.
    ledger: Mutex<indicators::LedgerState>,
    /// One disposal step (approval, execution) at a time.
    disposal_lock: Mutex<()>,
    /// The classification plan in force. Deposits hold it for reading while
    /// they are checked and journaled; a publication holds it for writing.
    plan: RwLock<Option<Arc<PublishedPlan>>>,
    /// The journal's Merkle tree (a view the journal's writer keeps in step).
    tree: Arc<dyn MerkleTree>,
    /// The key that signs seals (changed by a rotation).
    seal_key: RwLock<SealKey>,
    /// The archive's id, from its first event.
    archive_id: String,
    /// One seal at a time.
    seal_lock: Mutex<()>,
    /// Who time-stamps seals, if anyone.
    stamper: Option<Box<dyn crate::store::tsa::TimeStamper>>,
    /// The fixity job's state (`fixity.json`).
    fixity: Mutex<fixity::FixityState>,
    /// Whether this process has taken up the fixity run yet.
    fixity_resumed: std::sync::atomic::AtomicBool,
    /// Fixity findings in this process.
    fixity_findings: std::sync::atomic::AtomicU64,
    /// Bytes re-hashed by the fixity job in this process.
    fixity_bytes: std::sync::atomic::AtomicU64,
    /// Deposits refused or failed in this process.
    ingest_errors: std::sync::atomic::AtomicU64,
    /// Password hashes (not a view of the journal).
    credentials: Arc<dyn crate::store::credentials::Credentials>,
    /// The brake on failed sign-ins, by account and by address.
    sign_in_brake: Mutex<crate::domain::account::SignInBrake>,
    /// Keeps the trail of readings and refusals from flooding the journal.
    trail: Mutex<crate::domain::trail::Throttle>,
    /// The directory people sign in through, if any.
    directory: Option<directory::DirectoryAccess>,
    /// Contents a reading checked whole lately (for ranges).
    recently_checked: damage::RecentlyChecked,
    /// The copy folders the journal, keys and marker follow.
    mirrors: mirror::Mirrors,
    /// The copy this archive follows (a read-only replica).
    following: Option<follow::Following>,
    /// Why the archive is read-only (its journal is damaged), if it is.
    read_only: Option<String>,
}

/// How an archive is opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// A new archive: an empty journal gets its first event.
    Create,
    /// An existing one: an empty journal is an archive not initialised.
    Resume,
    /// An existing one whose catalog and index were deleted: the index is
    /// fed beside the catalog's replay.
    Rebuild,
}

/// Sets its flag when dropped: a thread's end, even by a panic.
struct SetOnDrop<'a>(&'a std::sync::atomic::AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// What `init` did.
#[derive(Debug)]
pub enum InitOutcome {
    /// A new archive; here is its first admin token.
    Created {
        /// The token text, shown once.
        admin_token: String,
    },
    /// The directory already held an archive; nothing was changed.
    AlreadyInitialised,
}

impl Archive {
    /// Creates an archive in `data_dir` (or says it already exists) and
    /// issues its first admin token.
    pub fn init(
        data_dir: &DataDir,
        options: ArchiveOptions,
        clock: Arc<dyn Clock>,
        policies: &str,
    ) -> Result<InitOutcome, ArchiveError> {
        if data_dir.is_initialised() {
            return Ok(InitOutcome::AlreadyInitialised);
        }
        // A plan that does not pass its checks creates nothing.
        check_plan(policies)?;
        data_dir.create()?;
        let stores = Stores::on_disk(data_dir, &options)?;
        let archive = Archive::open_stores(data_dir.clone(), stores, options, clock, Start::Create)?;
        if archive.catalog.plan_versions()?.is_empty() {
            archive.publish_plan(&Actor::system(), policies, &Publish::default())?;
        }
        // The first admin is a person's account, so that what its token does
        // is journaled as `admin (admin)`; it has no password until one is
        // set (`coffre account password admin`).
        let first_admin = NewAccount {
            user: FIRST_ADMIN.into(),
            display_name: "Administrateur".into(),
            role: Role::Admin,
            password: None,
        };
        archive.create_account(&Actor::command_line(), first_admin)?;
        let admin_token = archive.create_token(
            &Actor::command_line(),
            Role::Admin,
            "admin",
            tokens::TokenHolder::Account(FIRST_ADMIN),
            None,
        )?;
        data_dir.mark_initialised(archive.clock.now())?;
        Ok(InitOutcome::Created {
            admin_token: admin_token.text,
        })
    }

    /// Opens an initialised archive on its stores on disk: takes the
    /// directory's lock, recovers the journal's tail and brings the catalog
    /// up to the journal.
    pub fn open(data_dir: &DataDir, options: ArchiveOptions, clock: Arc<dyn Clock>) -> Result<Self, ArchiveError> {
        if !data_dir.is_initialised() {
            return Err(ArchiveError::NotInitialised(data_dir.path().to_owned()));
        }
        data_dir.lock()?;
        data_dir.check_format(true)?;
        let stores = Stores::on_disk(data_dir, &options)?;
        Archive::open_stores(data_dir.clone(), stores, options, clock, Start::Resume)
    }

    /// Opens an archive on the stores given (in memory, for tests),
    /// creating it when its journal is empty. `data_dir` holds the seal
    /// key and the fixity job's state.
    pub fn open_on(
        data_dir: &DataDir,
        stores: Stores,
        options: ArchiveOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ArchiveError> {
        data_dir.lock()?;
        Archive::open_stores(data_dir.clone(), stores, options, clock, Start::Create)
    }

    /// Deletes the catalog and the index and rebuilds both from the
    /// journal and the blob store (metadata documents, contents' text): the
    /// index fed on this thread while the catalog is replayed on another.
    pub fn rebuild(data_dir: &DataDir, options: ArchiveOptions, clock: Arc<dyn Clock>) -> Result<Self, ArchiveError> {
        if !data_dir.is_initialised() {
            return Err(ArchiveError::NotInitialised(data_dir.path().to_owned()));
        }
        data_dir.lock()?;
        data_dir.check_format(true)?;
        for view in [data_dir.catalog_path(), data_dir.index_path()] {
            if view.exists() {
                std::fs::remove_dir_all(&view)?;
            }
        }
        tracing::info!("catalog and index deleted; rebuilding them from the journal and the blobs");
        let stores = Stores::on_disk(data_dir, &options)?;
        let archive = Archive::open_stores(data_dir.clone(), stores, options, clock, Start::Rebuild)?;
        // What the replay's last rounds left, and what opening journaled.
        archive.index_all()?;
        Ok(archive)
    }

    /// Brings the views of `stores` up to the journal, and on
    /// [`Start::Create`] gives an empty journal its first event.
    fn open_stores(
        data_dir: DataDir,
        stores: Stores,
        options: ArchiveOptions,
        clock: Arc<dyn Clock>,
        start: Start,
    ) -> Result<Self, ArchiveError> {
        let (blobs, catalog, tree) = (
            Arc::clone(&stores.blobs),
            Arc::clone(&stores.catalog),
            Arc::clone(&stores.tree),
        );
        let projector = Arc::new(Projector::new(Arc::clone(&catalog), Arc::clone(&blobs)));
        let views = Arc::new(seals::JournalViews {
            projector: Arc::clone(&projector),
            tree: Arc::clone(&tree),
        });
        let (journal, recovery) = stores.open_journal(Arc::clone(&clock), views)?;
        if recovery.cut_bytes > 0 {
            tracing::warn!(
                bytes = recovery.cut_bytes,
                head = recovery.head_seq,
                "journal recovered from a torn write"
            );
        }
        let (head, _) = journal.head();
        let applied = catalog.last_applied()?;
        // A damaged journal's head is the last good event before the
        // damage: the views, made while it was whole, may hold more, and
        // are kept as they are (read-only, nothing is cut).
        let damaged = recovery.damaged.is_some();
        if applied > head && !damaged {
            tracing::warn!(
                applied,
                head,
                "the catalog is ahead of the journal (its tail was cut); rebuilding the catalog"
            );
            catalog.clear()?;
        }
        let replay = |from: u64| -> Result<u64, JournalError> { projector.replay(journal.read_from(from)?) };
        let from = catalog.last_applied()? + 1;
        let first = if start == Start::Rebuild {
            // The index is fed on this thread while the catalog is replayed
            // on another: the replay keeps about one core busy (its
            // engine's writes), the index's extraction and indexing the
            // rest.
            let sources = search::FeedSources {
                journal: journal.as_ref(),
                catalog: catalog.as_ref(),
                blobs: blobs.as_ref(),
                index: stores.index.as_ref(),
                extract: options.extract,
            };
            let replayed = std::sync::atomic::AtomicBool::new(false);
            let (first, fed) = std::thread::scope(|scope| {
                let replaying = scope.spawn(|| {
                    let _over = SetOnDrop(&replayed);
                    replay(from)
                });
                let fed = search::follow_replay(sources, &replayed);
                let first = replaying
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                (first, fed)
            });
            fed?;
            first
        } else {
            replay(from)
        };
        // A catalog found damaged (by its engine at opening, or by a value
        // that no longer decodes while it catches up) is rebuilt from the
        // journal, which is whole: the archive serves nothing from it.
        let mut catalog_damaged = stores.catalog_damaged.clone();
        let replayed = match first {
            Err(JournalError::ViewFailed {
                seq,
                reason: ViewError::Catalog(e),
            }) if !damaged => {
                tracing::error!(seq, error = %e, "the catalog is damaged; rebuilding it from the journal");
                catalog.clear()?;
                catalog_damaged = Some((e.to_string(), PathBuf::new()));
                replay(1)?
            }
            other => other?,
        };
        if replayed > 0 {
            tracing::info!(replayed, head, "catalog caught up with the journal");
            catalog.flush()?;
        }
        if !damaged {
            seals::catch_up_tree(tree.as_ref(), journal.as_ref(), catalog.latest_seal()?.as_ref())?;
        }
        if start == Start::Create && head == 0 {
            let mut id = [0u8; 16];
            getrandom::fill(&mut id).map_err(|e| ArchiveError::Internal(format!("random source: {e}")))?;
            journal.append(Actor::system().draft(EventBody::ArchiveInitialized {
                format: data_dir::DATA_FORMAT,
                archive_id: hex::encode(id),
            }))?;
        }
        if let Some((reason, aside)) = catalog_damaged
            && !damaged
            && head > 0
        {
            journal.append(Actor::system().draft(EventBody::CatalogRebuilt {
                reason,
                set_aside: (!aside.as_os_str().is_empty()).then(|| aside.display().to_string()),
            }))?;
        }
        let read_only = recovery
            .damaged
            .as_ref()
            .map(|(seq, reason)| format!("le journal est endommagé à l'événement n° {seq} ({reason})"));
        let archive_id = match journal.read_from(1)?.next() {
            Some(first) => match first?.body() {
                Ok(EventBody::ArchiveInitialized { archive_id, .. }) => archive_id,
                _ => {
                    return Err(ArchiveError::Internal(
                        "the journal does not start with archive.initialized".into(),
                    ));
                }
            },
            // Its very first event damaged: still open, to read what the
            // catalog holds.
            None if read_only.is_some() => String::new(),
            None => return Err(ArchiveError::NotInitialised(data_dir.path().to_owned())),
        };
        let seal_key = seals::load_or_create_key(
            &data_dir.keys_path(),
            journal.as_ref(),
            &catalog.key_chain()?,
            &Actor::system(),
        )?;
        let data_dir_path = data_dir.path().to_owned();
        let Stores {
            index,
            stamper,
            credentials,
            directory: directory_port,
            copies,
            following,
            ..
        } = stores;
        let following =
            following.map(|(copy, reason)| follow::Following::new(copy, reason, options.primary.clone(), head));
        let directory = directory_port.map(|port| directory::DirectoryAccess::new(port, options.directory.as_ref()));
        let record_locks = (0..RECORD_LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        let plan = plan::current(catalog.as_ref(), blobs.as_ref())?.map(Arc::new);
        let mirrors = mirror::Mirrors::new(&copies);
        let archive = Archive {
            data_dir,
            options,
            clock,
            blobs,
            catalog,
            journal,
            counters: Mutex::new(HashMap::new()),
            record_locks,
            index,
            index_lock: Mutex::new(()),
            unread: Default::default(),
            ledger: Default::default(),
            plan: RwLock::new(plan),
            disposal_lock: Mutex::new(()),
            tree,
            seal_key: RwLock::new(seal_key),
            archive_id,
            seal_lock: Mutex::new(()),
            stamper,
            fixity: Mutex::new(fixity::load_state(data_dir_path.as_path())?),
            fixity_resumed: std::sync::atomic::AtomicBool::new(false),
            fixity_findings: std::sync::atomic::AtomicU64::new(0),
            fixity_bytes: std::sync::atomic::AtomicU64::new(0),
            ingest_errors: std::sync::atomic::AtomicU64::new(0),
            credentials,
            sign_in_brake: Mutex::new(crate::domain::account::SignInBrake::default()),
            trail: Mutex::new(crate::domain::trail::Throttle::default()),
            directory,
            recently_checked: damage::RecentlyChecked::default(),
            mirrors,
            following,
            read_only,
        };
        if let Some(reason) = &archive.read_only {
            // Nothing is written: reads and search go on from what the
            // catalog and the index hold.
            tracing::error!(%reason, "the archive opens read-only");
            return Ok(archive);
        }
        if archive.following.is_some() {
            // A replica writes nothing of its own.
            return Ok(archive);
        }
        // Archives created before plans were published get the default one,
        // so that every deposit is checked against a plan.
        if archive.data_dir.is_initialised() && archive.catalog.plan_versions()?.is_empty() {
            tracing::warn!("this archive has no classification plan; publishing the default one");
            archive.publish_plan(&Actor::system(), crate::policies::DEFAULT_PLAN, &Publish::default())?;
        }
        archive.finish_interrupted()?;
        Ok(archive)
    }

    /// Why the archive is read-only, when its journal was found damaged at
    /// start: it serves reads and search, and refuses every write.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only
            .as_deref()
            .or_else(|| self.following.as_ref().map(|f| f.reason()))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &DataDir {
        &self.data_dir
    }

    /// The largest content accepted, in bytes.
    pub fn max_upload(&self) -> u64 {
        self.options.max_upload
    }

    /// Writes the catalog's buffers out (at shutdown, to shorten the next
    /// start's replay).
    pub fn flush(&self) -> Result<(), ArchiveError> {
        Ok(self.catalog.flush()?)
    }
}

#[cfg(test)]
mod error_codes {
    use super::*;

    #[test]
    fn a_full_disk_is_507_and_a_failed_store_or_stopped_journal_is_503() {
        let full = || std::io::Error::from_raw_os_error(28);
        for e in [
            ArchiveError::Blob(BlobError::Io(full())),
            ArchiveError::Journal(JournalError::Io(full())),
            ArchiveError::Io(std::io::Error::from_raw_os_error(122)),
            ArchiveError::Io(std::io::Error::from(std::io::ErrorKind::StorageFull)),
        ] {
            assert_eq!(e.code(), Code::StorageFull, "{e}");
            assert_eq!(e.code().http_status(), 507);
        }
        let stopped = ArchiveError::Journal(JournalError::Failed("no space left".into()));
        assert_eq!(stopped.code().http_status(), 503);
        let eio = || std::io::Error::from_raw_os_error(5);
        for failed in [
            ArchiveError::Io(eio()),
            ArchiveError::Blob(BlobError::Io(eio())),
            ArchiveError::Journal(JournalError::Io(eio())),
            ArchiveError::Catalog(CatalogError::Storage("fjall: I/O".into())),
        ] {
            assert_eq!(failed.code().http_status(), 503, "{failed}");
        }
        let undecodable = ArchiveError::Catalog(CatalogError::Decode {
            key: "r/1".into(),
            reason: "truncated".into(),
        });
        assert_eq!(undecodable.code(), Code::Internal);
    }
}
