//! JSON shapes shared by the HTTP API and the command line's `--json`
//! output, one file per resource as in `http/`. They are kept apart from
//! the domain types so that either can change without breaking the other.
//!
//! Objects whose members were once built as untyped JSON keep their
//! members in alphabetical order, the order scripts have always seen.
//!
//! Invariant: `wire` names no `store` type: what it shapes comes from the
//! domain or from `archive`.

mod accounts;
mod audit;
mod disposals;
mod exports;
mod identity;
mod plan;
mod records;
mod retention;
mod search;
mod tokens;

pub use accounts::*;
pub use audit::*;
pub use disposals::*;
pub use exports::*;
pub use identity::*;
pub use plan::*;
pub use records::*;
pub use retention::*;
pub use search::*;
pub use tokens::*;

/// Every error answer: `{"error": {"code", "message", "details"?}}`, the
/// code one of the error table's (`src/errors.rs`); some carry a member
/// beside it (a destroyed record's `tombstone`).
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDto {
    /// What went wrong.
    pub error: ErrorBodyDto,
}

/// The error itself.
#[derive(serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorBodyDto {
    /// The stable code (`record_not_found`, `invalid_field`, …).
    pub code: String,
    /// For people, in French or English.
    pub message: String,
    /// What a program needs to act on it (the field at fault, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}
