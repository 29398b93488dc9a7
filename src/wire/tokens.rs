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
    /// The token belongs to an application named `name`, not to a person
    /// (then `account` is not given).
    #[serde(default)]
    pub application: bool,
    /// How many days it lasts: 1 to 1095; by default 90 for a person's,
    /// 365 for an application's.
    #[serde(default, deserialize_with = "super::whole_or_none")]
    #[schema(minimum = 1, maximum = 1095)]
    pub expires_in_days: Option<u32>,
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
    /// Its id, to list or revoke it by.
    pub id: u64,
    /// When it stops working.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A token as listed: never its text.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokenInfoDto {
    /// Its id (the seq of the event that issued it).
    pub id: u64,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub role: String,
    /// The person it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// It belongs to an application.
    pub application: bool,
    /// When it was issued (absent for tokens from before this was kept).
    pub created_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it stops working (absent for tokens issued before expiry).
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
    /// When it was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who revoked it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_by: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_reason: Option<String>,
}

impl From<crate::archive::tokens::TokenView> for TokenInfoDto {
    fn from(t: crate::archive::tokens::TokenView) -> Self {
        TokenInfoDto {
            id: t.id,
            name: t.name,
            role: t.role.to_string(),
            account: t.account.map(String::from),
            application: t.application,
            created_at: t.created_at,
            expires_at: t.expires_at,
            state: t.state.to_owned(),
            revoked_at: t.revoked.as_ref().map(|r| r.at),
            revoked_by: t.revoked.as_ref().map(|r| r.by.clone()),
            revoked_reason: t.revoked.and_then(|r| r.reason),
        }
    }
}

/// `GET /tokens`.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct TokensDto {
    /// Newest first.
    pub tokens: Vec<TokenInfoDto>,
}

/// `POST /tokens/{id}/revoke` body (optional).
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevocationDto {
    /// Why, for the journal (at most 500 characters).
    #[serde(default)]
    pub reason: Option<String>,
}
