//! The mail server port: a mailbox a capture channel reads messages from
//! and puts them away in. The IMAP adapter is `mail_imap`.
//!
//! Contract: `messages` lists the messages of a folder by their ids, which
//! stay the same while the folder does (IMAP UIDs); `take` gives a
//! message's bytes as received, untouched (none: it is gone, or over the
//! size given, whose size it then says); `put_away` moves a message to a
//! folder, made when missing; `note` adds a message of coffre's own to a
//! folder. An `Err` says the server could not be asked or refused.

use std::path::PathBuf;

/// How a mail server is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailServerAddress {
    /// Host name (checked against its certificate under TLS).
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS from the first byte (`imaps://`), or none (`imap://`, for a
    /// server on the same machine or a trusted network).
    pub tls: bool,
    /// The account's name.
    pub user: String,
    /// Its password.
    pub password: String,
    /// A CA file (PEM) trusted besides the Mozilla roots.
    pub ca_file: Option<PathBuf>,
}

/// The mail server could not be asked, or refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("serveur de messagerie : {0}")]
pub struct MailError(pub String);

/// What `take` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The message's bytes, as received.
    Message(Vec<u8>),
    /// Larger than allowed: its size, in bytes, and its header.
    TooLarge {
        /// Its size.
        size: u64,
        /// Its header (what says who sent it and its subject).
        header: Vec<u8>,
    },
    /// No longer in the folder.
    Gone,
}

/// A session on a mailbox.
pub trait MailSession: Send {
    /// The ids of the messages in `folder`, oldest first.
    fn messages(&mut self, folder: &str) -> Result<Vec<u32>, MailError>;
    /// The message `id` of the folder last listed, when at most `max`
    /// bytes.
    fn take(&mut self, id: u32, max: u64) -> Result<Taken, MailError>;
    /// Moves the message `id` of the folder last listed to `folder`.
    fn put_away(&mut self, id: u32, folder: &str) -> Result<(), MailError>;
    /// Adds `message` (RFC 5322 bytes) to `folder`.
    fn note(&mut self, folder: &str, message: &[u8]) -> Result<(), MailError>;
}
