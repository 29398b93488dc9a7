//! API tokens: 256 random bits, shown once, kept only as a SHA-256 hash.
//! A token belongs to a person's account, whose name the journal gives
//! for what the token does; tokens issued before accounts keep acting as
//! `token:<name>`, as do an application's. Every token expires (90 days
//! for a person by default) and can be revoked; both are said when it is
//! refused.

use super::{Actor, Archive, ArchiveError};
use crate::domain::account::{UserName, actor_name};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::record::InvalidInput;
use crate::domain::role::{Permission, Role};
use crate::store::{TokenEntry, TokenRevocation};
use chrono::{DateTime, Utc};

/// Marks coffre tokens so that secret scanners and people recognise them.
const TOKEN_PREFIX: &str = "coffre_";

/// The longest token name, in characters.
pub const TOKEN_NAME_MAX: usize = 100;
/// The longest reason for a revocation, in characters.
pub const REVOCATION_REASON_MAX: usize = 500;

/// Days a person's token lasts unless asked otherwise.
pub const PERSON_TOKEN_DAYS: u32 = 90;
/// Days an application's token lasts unless asked otherwise.
pub const APPLICATION_TOKEN_DAYS: u32 = 365;
/// The longest a token may last, in days.
pub const TOKEN_DAYS_MAX: u32 = 1095;

/// Whom a new token belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenHolder<'a> {
    /// The caller's own account.
    Caller,
    /// A person's account.
    Account(&'a str),
    /// An application, named by the token's name.
    Application,
}

impl<'a> TokenHolder<'a> {
    /// The holder a request names: an application, else the account
    /// named, else the caller.
    pub fn named(account: Option<&'a str>, application: bool) -> Self {
        match (account, application) {
            (_, true) => TokenHolder::Application,
            (Some(user), false) => TokenHolder::Account(user),
            (None, false) => TokenHolder::Caller,
        }
    }
}

/// Why a token is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    /// Its time is over.
    Expired,
    /// It was revoked.
    Revoked,
}

/// A token as people see it listed: never its text.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct TokenView {
    /// Its id: the seq of the event that issued it.
    pub id: u64,
    /// Its name.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// The person it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<UserName>,
    /// It belongs to an application.
    pub application: bool,
    /// When it was issued.
    pub created_at: Option<DateTime<Utc>>,
    /// When it stops working (none: issued before tokens expired).
    pub expires_at: Option<DateTime<Utc>>,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
    /// Its revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<TokenRevocation>,
}

impl TokenView {
    fn of(entry: TokenEntry, now: DateTime<Utc>) -> Self {
        let state = match refusal(&entry, now) {
            Some(TokenRefusal::Revoked) => "revoked",
            Some(TokenRefusal::Expired) => "expired",
            None => "active",
        };
        TokenView {
            id: entry.seq,
            name: entry.name,
            role: entry.role,
            account: entry.account,
            application: entry.application,
            created_at: entry.created_at,
            expires_at: entry.expires_at,
            state,
            revoked: entry.revoked,
        }
    }
}

/// Why `entry` no longer works at `now`, if it does not.
fn refusal(entry: &TokenEntry, now: DateTime<Utc>) -> Option<TokenRefusal> {
    if entry.revoked.is_some() {
        Some(TokenRefusal::Revoked)
    } else if entry.expires_at.is_some_and(|end| end <= now) {
        Some(TokenRefusal::Expired)
    } else {
        None
    }
}

/// A token just issued: its text, shown once, never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The text the client presents.
    pub text: String,
    /// Its id.
    pub id: u64,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

impl Archive {
    /// Issues a token for `role` (admin); returns its text, which is not
    /// stored. It belongs to `holder`, and lasts `days` (by default
    /// [`PERSON_TOKEN_DAYS`] for a person, [`APPLICATION_TOKEN_DAYS`] for
    /// an application).
    pub fn create_token(
        &self,
        actor: &Actor,
        role: Role,
        name: &str,
        holder: TokenHolder<'_>,
        days: Option<u32>,
    ) -> Result<IssuedToken, ArchiveError> {
        actor.require(Permission::ManageTokens, "délivrer des jetons")?;
        let account = match holder {
            TokenHolder::Account(user) => Some(self.account(user)?.user),
            TokenHolder::Caller => actor.account.clone(),
            TokenHolder::Application => None,
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
        let application = holder == TokenHolder::Application;
        let default_days = if application {
            APPLICATION_TOKEN_DAYS
        } else {
            PERSON_TOKEN_DAYS
        };
        self.issue_token(actor, role, name, account, application, days.unwrap_or(default_days))
    }

    /// Issues a token for a person who has just signed in with their
    /// password (the command line's `login`): their own role, their name,
    /// [`PERSON_TOKEN_DAYS`].
    pub fn create_own_token(&self, actor: &Actor, name: &str) -> Result<IssuedToken, ArchiveError> {
        let account = actor.account.clone().ok_or(ArchiveError::Unauthenticated)?;
        self.issue_token(actor, actor.role, name, Some(account), false, PERSON_TOKEN_DAYS)
    }

    fn issue_token(
        &self,
        actor: &Actor,
        role: Role,
        name: &str,
        account: Option<UserName>,
        application: bool,
        days: u32,
    ) -> Result<IssuedToken, ArchiveError> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > TOKEN_NAME_MAX
            || name.chars().any(crate::domain::record::unreadable)
        {
            return Err(InvalidInput::new(
                "name",
                format!("un nom de jeton a 1 à {TOKEN_NAME_MAX} caractères, sans caractère de contrôle"),
            )
            .into());
        }
        if !(1..=TOKEN_DAYS_MAX).contains(&days) {
            return Err(InvalidInput::new(
                "expires_in_days",
                format!("un jeton dure de 1 à {TOKEN_DAYS_MAX} jours ({days} demandés)"),
            )
            .into());
        }
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).map_err(|e| ArchiveError::Internal(format!("random source: {e}")))?;
        let text = format!("{TOKEN_PREFIX}{}", hex::encode(secret));
        let expires_at = self.clock.now() + chrono::Duration::days(i64::from(days));
        let event = self.journal.append(actor.draft(EventBody::TokenCreated {
            token_sha256: Sha256::of(text.as_bytes()),
            role,
            name: name.to_owned(),
            account,
            application,
            expires_at: Some(expires_at),
        }))?;
        Ok(IssuedToken {
            text,
            id: event.seq,
            expires_at,
        })
    }

    /// The tokens the actor may see: every one for an admin, their own for
    /// anyone else; newest first.
    pub fn tokens(&self, actor: &Actor) -> Result<Vec<TokenView>, ArchiveError> {
        let now = self.clock.now();
        let all = actor.role.allows(Permission::ManageTokens);
        let mut views: Vec<TokenView> = self
            .catalog
            .tokens()?
            .into_iter()
            .filter(|t| all || (t.account.is_some() && t.account == actor.account))
            .map(|t| TokenView::of(t, now))
            .collect();
        views.sort_by_key(|t| std::cmp::Reverse(t.id));
        Ok(views)
    }

    /// Revokes a token (an admin any, anyone else their own); a token
    /// revoked already stays as it was.
    pub fn revoke_token(&self, actor: &Actor, id: u64, reason: Option<&str>) -> Result<TokenView, ArchiveError> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = reason
            && (r.chars().count() > REVOCATION_REASON_MAX
                || r.chars().any(|c| crate::domain::record::unreadable(c) && c != '\n'))
        {
            return Err(InvalidInput::new(
                "reason",
                format!("au plus {REVOCATION_REASON_MAX} caractères, sans caractère de contrôle"),
            )
            .into());
        }
        let visible = self.tokens(actor)?;
        let Some(found) = visible.into_iter().find(|t| t.id == id) else {
            return Err(ArchiveError::TokenNotFound(id));
        };
        if found.revoked.is_some() {
            return Ok(found);
        }
        self.journal.append(actor.draft(EventBody::TokenRevoked {
            token: id,
            reason: reason.map(str::to_owned),
        }))?;
        tracing::info!(token = id, by = %actor.name, "token revoked");
        self.tokens(actor)?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| ArchiveError::Internal(format!("token {id} vanished")))
    }

    /// The actor a token stands for. A token of an account acts in the
    /// person's name, and stops working when the account is disabled or no
    /// longer holds the token's role; any token stops at its expiry or
    /// its revocation, and says which.
    pub fn authenticate(&self, token: &str) -> Result<Actor, ArchiveError> {
        let entry = self
            .catalog
            .token(&Sha256::of(token.trim().as_bytes()))?
            .ok_or(ArchiveError::Unauthenticated)?;
        if let Some(refusal) = refusal(&entry, self.clock.now()) {
            return Err(ArchiveError::TokenRefused(refusal));
        }
        let Some(user) = entry.account else {
            return Ok(Actor {
                name: format!("token:{}", entry.name),
                role: entry.role,
                account: None,
            });
        };
        let holder = match self.catalog.account(&user)? {
            Some(holder) if holder.directory && !holder.disabled => Some(self.directory_standing(holder)?),
            other => other,
        };
        match holder {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests_support::open_in_memory_with_clock;
    use crate::domain::clock::FixedClock;
    use std::sync::Arc;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + n * 86_400, 0).expect("a date")
    }

    #[test]
    fn tokens_expire_when_said_are_listed_to_whom_they_belong_and_revoked_for_good() {
        let clock = Arc::new(FixedClock::new(day(0)));
        let (_tmp, _, archive) = open_in_memory_with_clock(clock.clone());
        let admin = Actor::command_line();
        archive
            .create_account(
                &admin,
                crate::archive::accounts::NewAccount {
                    user: "alice".into(),
                    display_name: "Alice Martin".into(),
                    role: Role::Agent,
                    password: None,
                },
            )
            .expect("an account");
        let person = archive
            .create_token(&admin, Role::Agent, "poste", TokenHolder::Account("alice"), None)
            .expect("a person's token");
        let app = archive
            .create_token(
                &admin,
                Role::Agent,
                "scanner du courrier",
                TokenHolder::Application,
                Some(30),
            )
            .expect("an application's token");
        assert_eq!(person.expires_at, day(PERSON_TOKEN_DAYS.into()));
        assert_eq!(app.expires_at, day(30));
        assert!(matches!(
            archive.create_token(
                &admin,
                Role::Agent,
                "x",
                TokenHolder::Application,
                Some(TOKEN_DAYS_MAX + 1)
            ),
            Err(ArchiveError::Invalid(_))
        ));
        let alice = archive.authenticate(&person.text).expect("alice's token works");
        assert_eq!(alice.name, "alice (agent)");
        assert_eq!(
            archive.authenticate(&app.text).expect("works").name,
            "token:scanner du courrier"
        );

        // Alice sees her own token only; the admin sees all.
        let ids = |who: &Actor| {
            archive
                .tokens(who)
                .expect("tokens")
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&alice), [person.id]);
        assert!(ids(&admin).contains(&app.id) && ids(&admin).contains(&person.id));
        // She may not revoke the application's token: she does not see it.
        assert!(matches!(
            archive.revoke_token(&alice, app.id, None),
            Err(ArchiveError::TokenNotFound(_))
        ));

        // Thirty days on, the application's token has expired, and says so.
        clock.set(day(30));
        assert!(matches!(
            archive.authenticate(&app.text),
            Err(ArchiveError::TokenRefused(TokenRefusal::Expired))
        ));
        let listed = archive.tokens(&admin).expect("tokens");
        assert_eq!(listed.iter().find(|t| t.id == app.id).expect("listed").state, "expired");

        // Alice revokes her own: refused at once, as revoked, for good.
        let revoked = archive
            .revoke_token(&alice, person.id, Some("poste perdu"))
            .expect("revoked");
        assert_eq!(revoked.state, "revoked");
        assert_eq!(
            revoked.revoked.as_ref().and_then(|r| r.reason.as_deref()),
            Some("poste perdu")
        );
        assert!(matches!(
            archive.authenticate(&person.text),
            Err(ArchiveError::TokenRefused(TokenRefusal::Revoked))
        ));
        // Revoking again changes nothing, and journals nothing.
        let head = archive.journal_head();
        archive.revoke_token(&admin, person.id, None).expect("as it was");
        assert_eq!(archive.journal_head(), head);
        assert_eq!(
            ArchiveError::TokenRefused(TokenRefusal::Revoked).code().as_str(),
            "token_revoked"
        );
    }
}
