//! API tokens: 256 random bits, shown once, kept only as a SHA-256 hash.
//! A token belongs to a person's account, whose name the journal gives
//! for what the token does; tokens issued before accounts keep acting as
//! `token:<name>`.

use super::{Actor, Archive, ArchiveError};
use crate::domain::account::{UserName, actor_name};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::record::InvalidInput;
use crate::domain::role::{Permission, Role};

/// Marks coffre tokens so that secret scanners and people recognise them.
const TOKEN_PREFIX: &str = "coffre_";

/// The longest token name, in characters.
const TOKEN_NAME_MAX: usize = 100;

impl Archive {
    /// Issues a token for `role` (admin); returns its text, which is not
    /// stored. It belongs to the account `for_account` if named, else to
    /// the caller's own account.
    pub fn create_token(
        &self,
        actor: &Actor,
        role: Role,
        name: &str,
        for_account: Option<&str>,
    ) -> Result<String, ArchiveError> {
        actor.require(Permission::ManageTokens, "délivrer des jetons")?;
        let account = match for_account {
            Some(user) => Some(self.account(user)?.user),
            None => actor.account.clone(),
        };
        if let Some(user) = &account {
            let holder = self.account(user.as_str())?;
            if !token_role_fits(holder.role, role) {
                return Err(InvalidInput::new(
                    "role",
                    format!(
                        "un jeton de {user} ne peut porter que son rôle ({}), ou n'importe quel rôle pour un administrateur",
                        holder.role
                    ),
                )
                .into());
            }
        }
        self.issue_token(actor, role, name, account)
    }

    /// Issues a token for a person who has just signed in with their
    /// password (the command line's `login`): their own role, their name.
    pub fn create_own_token(&self, actor: &Actor, name: &str) -> Result<String, ArchiveError> {
        let account = actor.account.clone().ok_or(ArchiveError::Unauthenticated)?;
        self.issue_token(actor, actor.role, name, Some(account))
    }

    fn issue_token(
        &self,
        actor: &Actor,
        role: Role,
        name: &str,
        account: Option<UserName>,
    ) -> Result<String, ArchiveError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX || name.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "name",
                format!("un nom de jeton a 1 à {TOKEN_NAME_MAX} caractères, sans caractère de contrôle"),
            )
            .into());
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| ArchiveError::Internal(format!("random source: {e}")))?;
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        self.journal.append(actor.draft(EventBody::TokenCreated {
            token_sha256: Sha256::of(token.as_bytes()),
            role,
            name: name.to_owned(),
            account,
        }))?;
        Ok(token)
    }

    /// The actor a token stands for. A token of an account acts in the
    /// person's name, and stops working when the account is disabled or no
    /// longer holds the token's role.
    pub fn authenticate(&self, token: &str) -> Result<Actor, ArchiveError> {
        let entry = self
            .catalog
            .token(&Sha256::of(token.trim().as_bytes()))?
            .ok_or(ArchiveError::Unauthenticated)?;
        let Some(user) = entry.account else {
            return Ok(Actor {
                name: format!("token:{}", entry.name),
                role: entry.role,
                account: None,
            });
        };
        match self.catalog.account(&user)? {
            Some(holder) if !holder.disabled && token_role_fits(holder.role, entry.role) => Ok(Actor {
                name: actor_name(&user, entry.role),
                role: entry.role,
                account: Some(user),
            }),
            _ => Err(ArchiveError::Unauthenticated),
        }
    }
}

/// Whether a person in `holder` role may hold a token carrying `role`.
fn token_role_fits(holder: Role, role: Role) -> bool {
    holder == Role::Admin || holder == role
}
