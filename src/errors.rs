//! The one error table: every failure a user can meet has a stable code, an
//! HTTP status and a command-line exit code, written here once. The HTTP
//! adapter and the CLI read this table; neither writes a status or an exit
//! number of its own (the architecture test greps for them).
//!
//! Exit codes say who is at fault, as `INTERFACE.md` promises scripts:
//! the caller (2: bad usage or input), the archive's state or rules (4:
//! refused), the archive itself (1: a check failed or an internal error),
//! or nobody yet (3: the data directory is busy or not initialised).
//!
//! This module knows no HTTP or terminal types: statuses are numbers that
//! the adapters turn into their own types.

/// How a command ends, by who is at fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The work was done.
    Success,
    /// A check found a problem, or the archive failed.
    Failed,
    /// The caller's usage or input is wrong.
    BadInput,
    /// The data directory is in use or not initialised.
    Unavailable,
    /// A rule refused it: retention, a hold, a permission, the state.
    Refused,
}

impl Exit {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::Unavailable => 3,
            Exit::Refused => 4,
        }
    }
}

/// Who is at fault for an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller asked something wrong: fix the request.
    Caller,
    /// The request conflicts with the archive's state or rules.
    Conflict,
    /// The archive failed, or is not available now.
    Archive,
}

macro_rules! error_table {
    ($($(#[$doc:meta])* $name:ident => ($code:literal, $status:literal, $exit:ident),)*) => {
        /// Every error a user can meet, by its stable code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code {
            $($(#[$doc])* $name,)*
        }

        impl Code {
            /// Every code, in the table's order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            /// The stable snake_case code scripts match on.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $code,)*
                }
            }

            /// The HTTP status it is answered with.
            pub fn http_status(self) -> u16 {
                match self {
                    $(Code::$name => $status,)*
                }
            }

            /// How the command line ends with it.
            pub fn exit(self) -> Exit {
                match self {
                    $(Code::$name => Exit::$exit,)*
                }
            }
        }
    };
}

error_table! {
    // The caller's request.
    /// A field of the request is missing or wrong.
    InvalidField => ("invalid_field", 422, BadInput),
    /// A command-line argument is wrong.
    InvalidArgument => ("invalid_argument", 400, BadInput),
    /// The body is not the JSON expected.
    InvalidJson => ("invalid_json", 400, BadInput),
    /// The query string cannot be read, or a search query cannot be understood.
    InvalidQuery => ("invalid_query", 400, BadInput),
    /// A parameter over its bound (`limit`, `offset`, a query's size).
    LimitExceeded => ("limit_exceeded", 400, BadInput),
    /// A path segment cannot be read.
    InvalidPath => ("invalid_path", 400, BadInput),
    /// A `format` that the endpoint does not offer.
    InvalidFormat => ("invalid_format", 400, BadInput),
    /// A multipart body that cannot be read.
    InvalidMultipart => ("invalid_multipart", 400, BadInput),
    /// A deposit's metadata part that cannot be read.
    InvalidMetadata => ("invalid_metadata", 400, BadInput),
    /// A file name that is not UTF-8.
    InvalidFilename => ("invalid_filename", 400, BadInput),
    /// A deposit without its file.
    MissingFile => ("missing_file", 400, BadInput),
    /// A batch of which no file was archived, the files refused for
    /// different reasons (each file's is in the answer's `results`).
    BatchRefused => ("batch_refused", 422, BadInput),
    /// A plan file that is not UTF-8.
    InvalidPlanEncoding => ("invalid_plan_encoding", 400, BadInput),
    /// A plan file that does not pass its checks.
    InvalidPlan => ("invalid_plan", 422, BadInput),
    /// A deposit that no classification rule recognises.
    Unclassified => ("unclassified", 422, BadInput),
    /// A package that cannot be imported or verified.
    PackageRefused => ("package_refused", 422, BadInput),
    /// Content over the configured limit.
    PayloadTooLarge => ("payload_too_large", 413, BadInput),
    /// Content that stopped before its end.
    UploadIncomplete => ("upload_incomplete", 400, BadInput),
    /// A client that stopped sending.
    UploadTimeout => ("upload_timeout", 408, BadInput),
    /// A byte range outside the content.
    RangeNotSatisfiable => ("range_not_satisfiable", 416, BadInput),
    /// No such endpoint.
    NotFound => ("not_found", 404, BadInput),
    /// An endpoint that exists, asked with a method it does not serve.
    MethodNotAllowed => ("method_not_allowed", 405, BadInput),
    /// No record has this reference or id.
    RecordNotFound => ("record_not_found", 404, BadInput),
    /// The record has no such version.
    VersionNotFound => ("version_not_found", 404, BadInput),
    /// The version has no searchable rendition (not a scan, or not yet).
    RenditionNotFound => ("rendition_not_found", 404, BadInput),
    /// No plan version has this number.
    PlanVersionNotFound => ("plan_version_not_found", 404, BadInput),
    /// No hold has this id.
    HoldNotFound => ("hold_not_found", 404, BadInput),
    /// No token the caller may see has this id.
    TokenNotFound => ("token_not_found", 404, BadInput),
    /// No disposal has this id.
    DisposalNotFound => ("disposal_not_found", 404, BadInput),
    /// No transfer has this id.
    TransferNotFound => ("transfer_not_found", 404, BadInput),
    /// No integrity check job has this id.
    JobNotFound => ("job_not_found", 404, BadInput),
    /// No account has this user name.
    AccountNotFound => ("account_not_found", 404, BadInput),
    /// The collectivité's identity has not been set yet.
    IdentityNotSet => ("identity_not_set", 404, BadInput),
    /// The collectivité has no logo.
    LogoNotSet => ("logo_not_set", 404, BadInput),

    // Who may do what.
    /// No valid token.
    Unauthenticated => ("unauthenticated", 401, Refused),
    /// The token's time is over.
    TokenExpired => ("token_expired", 401, Refused),
    /// The token was revoked.
    TokenRevoked => ("token_revoked", 401, Refused),
    /// The caller's role, or the plan, does not allow it.
    Forbidden => ("forbidden", 403, Refused),
    /// The collectivité reserves visas to its archives authority, and the
    /// caller is not one of its people, or proposed the elimination.
    VisaReserved => ("visa_reserved", 403, Refused),
    /// A user name and password that do not sign in (which of the two is
    /// wrong is not said).
    SignInFailed => ("sign_in_failed", 401, Refused),
    /// The directory accepted the person, but none of their groups gives
    /// access to coffre.
    NotGranted => ("not_granted", 403, Refused),
    /// A page's form without its session's anti-forgery token (expired,
    /// or sent from elsewhere).
    FormExpired => ("form_expired", 403, Refused),
    /// Too many failed sign-ins for this account or address: wait.
    TooManyAttempts => ("too_many_attempts", 429, Refused),

    // The archive's state and rules.
    /// Records leave only through a disposal.
    RetentionForbidsDelete => ("retention_forbids_delete", 409, Refused),
    /// A legal hold freezes the record.
    RecordHeld => ("record_held", 409, Refused),
    /// The hold was lifted already.
    HoldAlreadyLifted => ("hold_already_lifted", 409, Refused),
    /// The record does not wait in the verification queue.
    NotAwaitingVerification => ("not_awaiting_verification", 409, Refused),
    /// The record is in no processing circuit, or its circuit has ended.
    NotInCircuit => ("not_in_circuit", 409, Refused),
    /// The step the record is at does not allow this move (the allowed
    /// ones are listed).
    MoveNotAllowed => ("move_not_allowed", 409, Refused),
    /// The step the record is at is another service's or role's.
    NotYourStep => ("not_your_step", 403, Refused),
    /// The server mails nothing: it was started without a mail file.
    MailNotConfigured => ("mail_not_configured", 409, Refused),
    /// The disposal has no visa yet.
    DisposalNotApproved => ("disposal_not_approved", 409, Refused),
    /// The disposal is not at the step asked.
    DisposalState => ("disposal_state", 409, Refused),
    /// The transfer cannot take this step.
    TransferState => ("transfer_state", 409, Refused),
    /// No seal covers what was asked yet.
    NotSealed => ("not_sealed", 409, Refused),
    /// The new plan leaves records in nodes it drops.
    PlanOrphansRecords => ("plan_orphans_records", 409, Refused),
    /// The new plan shortens retention without a confirmation.
    PlanShortensRetention => ("plan_shortens_retention", 409, Refused),
    /// An account with this user name exists already.
    AccountExists => ("account_exists", 409, Refused),
    /// The content failed its hash check (or is missing) and no good copy
    /// can be served.
    ContentDamaged => ("content_damaged", 409, Refused),
    /// A fixity run was asked for while an auditor has paused the job.
    FixityPaused => ("fixity_paused", 409, Refused),
    /// The record was destroyed by a disposal.
    RecordDestroyed => ("record_destroyed", 410, Refused),
    /// The record was transferred to the archives.
    RecordTransferred => ("record_transferred", 410, Refused),

    // The archive itself.
    /// A check found problems (integrity, package, fixity).
    CheckFailed => ("check_failed", 422, Failed),
    /// The data directory is in use or not initialised.
    Unavailable => ("unavailable", 503, Unavailable),
    /// The directory people sign in through cannot be reached.
    DirectoryUnavailable => ("directory_unavailable", 503, Unavailable),
    /// Fewer stores than the plan asks for (its `copies`) could take a
    /// content: a copy store unreachable, or too few configured.
    CopiesUnavailable => ("copies_unavailable", 503, Unavailable),
    /// A read-only replica does not serve a record holding personal data,
    /// whose every reading is journaled: the primary server does.
    ReadingNotTraced => ("reading_not_traced", 503, Unavailable),
    /// The disk (or the account's quota) is full: nothing more can be
    /// written until space is freed; reading goes on.
    StorageFull => ("storage_full", 507, Unavailable),
    /// A broken internal expectation or a storage failure; details in the log.
    Internal => ("internal_error", 500, Failed),
}

impl Code {
    /// The row of a stable code, as an answer names it.
    pub fn parse(text: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == text)
    }

    /// Who is at fault, as the exit code says it.
    pub fn fault(self) -> Fault {
        match self.exit() {
            Exit::BadInput => Fault::Caller,
            Exit::Refused => Fault::Conflict,
            Exit::Success | Exit::Failed | Exit::Unavailable => Fault::Archive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_statuses_match_who_is_at_fault() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            let name = code.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name} is not snake_case"
            );
            let status = code.http_status();
            match code.fault() {
                Fault::Caller => assert!((400..500).contains(&status), "{name}: {status}"),
                Fault::Conflict => assert!(matches!(status, 401 | 403 | 409 | 410 | 429), "{name}: {status}"),
                Fault::Archive => assert!(status >= 500 || *code == Code::CheckFailed, "{name}: {status}"),
            }
            assert_ne!(code.exit(), Exit::Success, "{name}");
        }
    }

    #[test]
    fn exit_codes_are_the_documented_ones() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Failed,
            Exit::BadInput,
            Exit::Unavailable,
            Exit::Refused,
        ]
        .into_iter()
        .map(Exit::code)
        .collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        assert_eq!(Code::NotSealed.exit(), Exit::Refused, "a conflict, like every other");
    }
}
