//! People's accounts: the account as shown (never its password), the
//! requests that open and change one, and a sign-in for a token.

use crate::domain::account::Account;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An account.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AccountDto {
    /// The name the person signs in with.
    pub user: String,
    /// The name shown to people.
    pub display_name: String,
    /// `admin`, `archivist`, `auditor` or `agent`.
    pub role: String,
    /// A disabled account cannot sign in and its tokens do not work.
    pub disabled: bool,
    /// When it was opened (RFC 3339).
    pub created: String,
    /// When its password was last set (absent: it has none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_set: Option<String>,
    /// The person signs in with their directory account: the directory
    /// checks their password and its groups give their role.
    #[serde(default)]
    pub directory: bool,
    /// The producing service their deposits name unless they say another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Where the daily summary of their work list is mailed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl From<&Account> for AccountDto {
    fn from(a: &Account) -> Self {
        AccountDto {
            user: a.user.to_string(),
            display_name: a.display_name.clone(),
            role: a.role.to_string(),
            disabled: a.disabled,
            created: a.created.to_rfc3339(),
            password_set: a.password_set.map(|t| t.to_rfc3339()),
            directory: a.directory,
            service: a.service.clone(),
            email: a.email.clone(),
        }
    }
}

/// `POST /accounts` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAccountDto {
    /// The name to sign in with (lowercase letters, digits, `.`, `-`, `_`).
    pub user: String,
    /// The name shown to people.
    pub display_name: String,
    /// `admin`, `archivist`, `auditor` or `agent`.
    pub role: String,
    /// A first password (12 characters or more); without one, the person
    /// cannot sign in until it is set.
    #[serde(default)]
    pub password: Option<String>,
}

/// `PATCH /accounts/{user}` body: what changes.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPatchDto {
    /// A new display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// A new role.
    #[serde(default)]
    pub role: Option<String>,
    /// Disable (true) or enable again (false).
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new producing service: its work lists are that service's (empty:
    /// none any more). A directory's account takes it from the directory.
    #[serde(default)]
    pub service: Option<String>,
    /// A new e-mail address for the daily summary of the work list (empty:
    /// none any more).
    #[serde(default)]
    pub email: Option<String>,
}

/// `POST /accounts/{user}/password` body.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordDto {
    /// The new password.
    pub password: String,
    /// The current password, when people change their own.
    #[serde(default)]
    pub current_password: Option<String>,
}

/// `POST /login` body: a user name and password exchanged for a token of
/// that person's (what `coffre login` does).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginDto {
    /// The user name.
    pub user: String,
    /// The password.
    pub password: String,
    /// A name for the token (the machine it is for); `coffre login` by default.
    #[serde(default)]
    pub name: Option<String>,
}
