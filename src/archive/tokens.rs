//! API tokens: 256 random bits, shown once, kept only as a SHA-256 hash.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::record::InvalidInput;
use crate::domain::role::{Permission, Role};

/// Marks coffre tokens so that secret scanners and people recognise them.
const TOKEN_PREFIX: &str = "coffre_";

/// The longest token name, in characters.
const TOKEN_NAME_MAX: usize = 100;

impl Archive {
    /// Issues a token for `role`; returns its text, which is not stored.
    pub fn create_token(&self, actor: &Actor, role: Role, name: &str) -> Result<String, ArchiveError> {
        actor.require(Permission::ManageTokens, "issue tokens")?;
        let name = name.trim();
        if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX || name.chars().any(char::is_control) {
            return Err(InvalidInput::new(
                "name",
                format!("a token name has 1 to {TOKEN_NAME_MAX} characters, no control characters"),
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
        }))?;
        Ok(token)
    }

    /// The actor a token stands for.
    pub fn authenticate(&self, token: &str) -> Result<Actor, ArchiveError> {
        let entry = self
            .catalog
            .token(&Sha256::of(token.trim().as_bytes()))?
            .ok_or(ArchiveError::Unauthenticated)?;
        Ok(Actor {
            name: format!("token:{}", entry.name),
            role: entry.role,
        })
    }
}
