//! API tokens: the request for one, and the token shown once.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /tokens` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenDto {
    /// `admin`, `archivist`, `auditor` or `agent`.
    pub role: String,
    /// A name for people (who or what uses it).
    pub name: String,
    /// The account it belongs to (by default, the caller's own); what the
    /// token does is journaled in that person's name.
    #[serde(default)]
    pub account: Option<String>,
}

/// A new token: shown once.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenDto {
    /// The token text; store it, it cannot be shown again.
    pub token: String,
    /// Its role.
    pub role: String,
    /// Its name.
    pub name: String,
}
