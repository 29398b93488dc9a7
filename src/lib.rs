//! coffre: an electronic records management and archiving system.
//!
//! Modules in reading order: the pure `domain`, the storage ports and
//! adapters in `store`, the application service in `archive`, and the
//! adapters that face people: `http` and `cli`. `config` holds what the
//! adapters are told at start-up. See ARCHITECTURE.md.

pub mod archive;
pub mod capture;
pub mod cli;
pub(crate) mod config;
pub(crate) mod documents;
pub mod domain;
pub(crate) mod errors;
pub mod extract;
pub(crate) mod french;
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod http;
pub(crate) mod jobs;
pub(crate) mod notify;
pub(crate) mod package;
pub mod policies;
pub mod store;
pub(crate) mod wire;
