//! coffre: an electronic records management and archiving system.
//!
//! Modules in reading order: the pure `domain`, the storage ports and
//! adapters in `store`, the application service in `archive`, and the
//! adapters that face people: `http` and `cli`. `config` holds what the
//! adapters are told at start-up. See ARCHITECTURE.md.

pub mod archive;
pub mod cli;
pub mod config;
pub mod documents;
pub mod domain;
pub mod errors;
pub mod extract;
pub mod http;
pub mod jobs;
pub mod package;
pub mod policies;
pub mod store;
pub mod wire;
