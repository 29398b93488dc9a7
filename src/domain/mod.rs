//! The domain core: records, versions, journal events, naming, roles and
//! integrity findings, as plain Rust types and pure rules.
//!
//! Invariant: nothing here performs I/O, spawns threads or names a storage,
//! HTTP or async crate. Storage lives in `store`, use cases in `archive`.

pub mod account;
pub mod circuit;
pub mod classify;
pub mod clock;
pub mod dating;
pub mod directory;
pub mod disposition;
pub mod event;
pub mod hash;
pub mod hold;
pub mod identity;
pub mod indicators;
pub mod integrity;
pub mod logo;
pub mod media_type;
pub mod merkle;
pub mod naming;
pub mod pes;
pub mod plan;
pub mod plan_change;
pub mod query;
pub mod reading;
pub mod record;
pub mod retention;
pub mod role;
pub mod seal;
pub mod search;
pub mod timestamp;
pub mod trail;
pub mod verification;
