//! People's accounts: opened, changed and disabled by an admin; signed in
//! with a password checked against its Argon2id hash, behind a brake on
//! failures; and the actor a signed-in person acts as.
//!
//! The journal records each fact (`account.created`, `account.updated`,
//! `account.password_set`); the hash goes to the credentials store first,
//! so that a password the journal says was set is always the one that
//! signs in.

use super::directory::DirectorySignIn;
use super::trail::Refusal;
use super::{Actor, Archive, ArchiveError};
use crate::domain::account::{self, Account, UserName, actor_name};
use crate::domain::event::EventBody;
use crate::domain::record::InvalidInput;
use crate::domain::role::{Permission, Role};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::OnceLock;

/// What opening an account takes.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The name to sign in with, as typed.
    pub user: String,
    /// The name shown to people.
    pub display_name: String,
    /// What the person may do.
    pub role: Role,
    /// A first password; without one the person cannot sign in on the web
    /// until an admin sets it.
    pub password: Option<String>,
}

/// The longest name of a service on an account.
pub const SERVICE_MAX: usize = 200;

/// What changes on an account; `None` leaves a detail as it is.
#[derive(Debug, Clone, Default)]
pub struct AccountChanges {
    /// A new display name.
    pub display_name: Option<String>,
    /// A new role.
    pub role: Option<Role>,
    /// Disable (true) or enable again (false).
    pub disabled: Option<bool>,
    /// A new producing service (empty: none any more); a directory's
    /// account takes its service from the directory.
    pub service: Option<String>,
    /// A new e-mail address for the daily summary (empty: none any more).
    pub email: Option<String>,
}

impl From<account::AccountInputError> for ArchiveError {
    fn from(e: account::AccountInputError) -> Self {
        InvalidInput::new(e.field, e.message).into()
    }
}

/// The hasher: Argon2id with the crate's defaults (19 MiB, 2 passes, 1
/// lane), which is OWASP's recommended minimum for Argon2id.
fn hasher() -> Argon2<'static> {
    Argon2::default()
}

fn hash_password(password: &str) -> Result<String, ArchiveError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ArchiveError::Internal(format!("random source: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ArchiveError::Internal(format!("salt: {e}")))?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ArchiveError::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches the PHC string `phc`.
fn password_matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| hasher().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of no one's password, checked when the user name is unknown so
/// that a wrong name costs as long as a wrong password (no one learns
/// which names exist from the time taken).
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password nobody has").unwrap_or_default())
}

impl Archive {
    /// Opens an account (admin).
    pub fn create_account(&self, actor: &Actor, new: NewAccount) -> Result<Account, ArchiveError> {
        actor.require(Permission::ManageAccounts, "ouvrir des comptes")?;
        let user = UserName::parse(&new.user)?;
        let display_name = account::display_name(&new.display_name)?;
        if let Some(password) = &new.password {
            account::check_password(password)?;
        }
        if self.catalog.account(&user)?.is_some() {
            return Err(ArchiveError::AccountExists(user.to_string()));
        }
        self.journal.append(actor.draft(EventBody::AccountCreated {
            user: user.clone(),
            display_name,
            role: new.role,
            directory: false,
            service: None,
        }))?;
        if let Some(password) = &new.password {
            self.store_password(actor, &user, password)?;
        }
        self.account(user.as_str())
    }

    /// Changes an account's display name, role or state (admin). An admin
    /// cannot disable or demote their own account: someone must be left
    /// to manage the others.
    pub fn update_account(&self, actor: &Actor, user: &str, changes: AccountChanges) -> Result<Account, ArchiveError> {
        actor.require(Permission::ManageAccounts, "modifier des comptes")?;
        let current = self.account(user)?;
        let display_name = changes.display_name.as_deref().map(account::display_name).transpose()?;
        let own = actor.account.as_ref() == Some(&current.user);
        if own && (changes.disabled == Some(true) || changes.role.is_some_and(|r| r != Role::Admin)) {
            return Err(InvalidInput::new(
                "user",
                "un administrateur ne peut ni désactiver son propre compte ni lui retirer le rôle admin",
            )
            .into());
        }
        if current.directory
            && (changes.role.is_some_and(|r| r != current.role)
                || display_name.as_ref().is_some_and(|d| *d != current.display_name))
        {
            return Err(InvalidInput::new(
                "role",
                "le rôle et le nom d'un compte de l'annuaire viennent de l'annuaire (ses groupes) : changez-les là",
            )
            .into());
        }
        let service = match changes.service {
            Some(_) if current.directory => {
                return Err(InvalidInput::new(
                    "service",
                    "le service d'un compte de l'annuaire vient de l'annuaire : changez-le là",
                )
                .into());
            }
            Some(asked) => {
                let asked = crate::domain::record::check_optional_text("service", Some(asked), SERVICE_MAX)?;
                (asked != current.service).then(|| asked.unwrap_or_default())
            }
            None => None,
        };
        let body = EventBody::AccountUpdated {
            user: current.user.clone(),
            display_name: display_name.filter(|d| *d != current.display_name),
            role: changes.role.filter(|r| *r != current.role),
            disabled: changes.disabled.filter(|d| *d != current.disabled),
            service,
            email: email_change(&current, changes.email.as_deref())?,
        };
        self.journal_account_change(actor, &current, body)
    }

    /// Sets or clears the e-mail address the daily summary of a person's
    /// work list goes to: their own, whoever they are.
    pub fn set_own_email(&self, actor: &Actor, email: &str) -> Result<Account, ArchiveError> {
        let Some(user) = &actor.account else {
            return Err(ArchiveError::Forbidden {
                role: actor.role,
                action: "choisir une adresse électronique sans être connecté à un compte",
            });
        };
        let current = self.account(user.as_str())?;
        let body = EventBody::AccountUpdated {
            user: current.user.clone(),
            display_name: None,
            role: None,
            disabled: None,
            service: None,
            email: email_change(&current, Some(email))?,
        };
        self.journal_account_change(actor, &current, body)
    }

    /// Journals a change of account, unless it changes nothing.
    fn journal_account_change(
        &self,
        actor: &Actor,
        current: &Account,
        body: EventBody,
    ) -> Result<Account, ArchiveError> {
        if let EventBody::AccountUpdated {
            display_name: None,
            role: None,
            disabled: None,
            service: None,
            email: None,
            ..
        } = body
        {
            return Ok(current.clone());
        }
        self.journal.append(actor.draft(body))?;
        self.account(current.user.as_str())
    }

    /// Sets an account's password: an admin for anyone, a person for their
    /// own account (given their current password).
    pub fn set_password(
        &self,
        actor: &Actor,
        user: &str,
        current_password: Option<&str>,
        password: &str,
    ) -> Result<(), ArchiveError> {
        let account = self.account(user)?;
        if account.directory {
            return Err(InvalidInput::new(
                "user",
                "ce compte est celui de l'annuaire : son mot de passe se change dans l'annuaire, pas dans coffre",
            )
            .into());
        }
        let own = actor.account.as_ref() == Some(&account.user);
        if !actor.role.allows(Permission::ManageAccounts) {
            if !own {
                return Err(ArchiveError::Forbidden {
                    role: actor.role,
                    action: "changer le mot de passe d'une autre personne",
                });
            }
            let phc = self.credentials.hash(&account.user)?.unwrap_or_default();
            if !password_matches(&phc, current_password.unwrap_or_default()) {
                return Err(InvalidInput::new("current_password", "le mot de passe actuel est incorrect").into());
            }
        }
        account::check_password(password)?;
        self.store_password(actor, &account.user, password)
    }

    fn store_password(&self, actor: &Actor, user: &UserName, password: &str) -> Result<(), ArchiveError> {
        self.credentials.set(user, &hash_password(password)?)?;
        self.journal
            .append(actor.draft(EventBody::AccountPasswordSet { user: user.clone() }))?;
        Ok(())
    }

    /// An account by user name, as typed.
    pub fn account(&self, user: &str) -> Result<Account, ArchiveError> {
        let name = UserName::parse(user).map_err(|_| ArchiveError::AccountNotFound(user.trim().to_owned()))?;
        self.catalog
            .account(&name)?
            .ok_or_else(|| ArchiveError::AccountNotFound(name.to_string()))
    }

    /// Every account (admin).
    pub fn accounts(&self, actor: &Actor) -> Result<Vec<Account>, ArchiveError> {
        actor.require(Permission::ManageAccounts, "lister les comptes")?;
        Ok(self.catalog.accounts()?)
    }

    /// Checks a user name and password, typed at `address`, behind the
    /// brake on failures (by account and by address). The answer does not
    /// say which of the two was wrong, nor whether the account is disabled.
    pub fn sign_in(&self, user: &str, password: &str, address: &str) -> Result<Account, ArchiveError> {
        let user_key = format!("user:{}", user.trim().to_lowercase());
        let address_key = format!("addr:{address}");
        let now = self.clock.now();
        {
            let brake = self.sign_in_brake.lock().unwrap_or_else(|p| p.into_inner());
            let wait = [&user_key, &address_key]
                .into_iter()
                .filter_map(|key| brake.wait(key, now))
                .max();
            if let Some(wait) = wait {
                return Err(ArchiveError::TooManyAttempts {
                    wait_secs: wait.num_seconds().max(1),
                });
            }
        }
        let name = UserName::parse(user).ok();
        let account = name.as_ref().map(|n| self.catalog.account(n)).transpose()?.flatten();
        let outcome = match &name {
            Some(name) if self.signs_in_through_directory(account.as_ref()) => {
                match self.sign_in_through_directory(name, password, account) {
                    Ok(DirectorySignIn::In(account)) => Ok(Some(account)),
                    Ok(DirectorySignIn::Refused) => Ok(None),
                    Err(e) => Err(e),
                }
            }
            _ => {
                let phc = match &account {
                    Some(a) => self.credentials.hash(&a.user)?,
                    None => None,
                };
                let matches = password_matches(phc.as_deref().unwrap_or(decoy_hash()), password) && phc.is_some();
                Ok(account.filter(|a| matches && !a.disabled))
            }
        };
        let mut brake = self.sign_in_brake.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(Some(account)) => {
                brake.succeeded(&user_key);
                brake.succeeded(&address_key);
                Ok(account)
            }
            Ok(None) | Err(ArchiveError::NotGranted) => {
                brake.failed(&user_key, now);
                brake.failed(&address_key, now);
                drop(brake);
                tracing::info!(user = %user_key, address, "sign-in refused");
                self.note_refusal(Refusal::SignIn, Some(user.trim()), None, address);
                match outcome {
                    Err(e) => Err(e),
                    Ok(_) => Err(ArchiveError::SignInFailed),
                }
            }
            // The directory could not be asked: not the person's failure.
            Err(e) => Err(e),
        }
    }

    /// The actor a signed-in person acts as now: their account's current
    /// role; a disabled or vanished account signs them out.
    pub fn actor_of_account(&self, user: &UserName) -> Result<Actor, ArchiveError> {
        match self.catalog.account(user)? {
            Some(account) if !account.disabled && account.directory => {
                Ok(Actor::person(&self.directory_standing(account)?))
            }
            Some(account) if !account.disabled => Ok(Actor::person(&account)),
            _ => Err(ArchiveError::Unauthenticated),
        }
    }
}

/// An account's e-mail address as asked (`None`: unchanged; blank: none any
/// more), checked, as the journal says the change: `None` when it changes
/// nothing.
fn email_change(current: &Account, asked: Option<&str>) -> Result<Option<String>, ArchiveError> {
    let Some(asked) = asked else {
        return Ok(None);
    };
    // Blank clears, within the length any address may have as sent.
    let wanted = if asked.trim().is_empty() && asked.chars().count() <= account::EMAIL_MAX {
        None
    } else {
        Some(account::email(asked)?)
    };
    Ok((wanted != current.email).then(|| wanted.unwrap_or_default()))
}

impl Actor {
    /// A person acting through their account.
    pub fn person(account: &Account) -> Actor {
        Actor {
            name: actor_name(&account.user, account.role),
            role: account.role,
            account: Some(account.user.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests_support::memory_archive;

    fn new(user: &str, role: Role, password: Option<&str>) -> NewAccount {
        NewAccount {
            user: user.into(),
            display_name: format!("Personne {user}"),
            role,
            password: password.map(str::to_owned),
        }
    }

    #[test]
    fn an_account_signs_in_with_its_password_only() {
        let (_dir, archive) = memory_archive();
        let admin = Actor::system();
        let alice = archive
            .create_account(&admin, new("Alice", Role::Agent, Some("correct horse battery")))
            .expect("create");
        assert_eq!(alice.user.as_str(), "alice");
        assert!(alice.password_set.is_some());
        let signed = archive
            .sign_in("ALICE", "correct horse battery", "127.0.0.1")
            .expect("sign in");
        assert_eq!(Actor::person(&signed).name, "alice (agent)");
        for (user, password) in [("alice", "wrong password!"), ("nobody", "correct horse battery")] {
            let e = archive.sign_in(user, password, "127.0.0.1").unwrap_err();
            assert!(matches!(e, ArchiveError::SignInFailed), "{e}");
        }
        assert!(matches!(
            archive.create_account(&admin, new("alice", Role::Agent, None)),
            Err(ArchiveError::AccountExists(_))
        ));
        assert!(matches!(
            archive.create_account(&admin, new("bob", Role::Agent, Some("short"))),
            Err(ArchiveError::Invalid(_))
        ));
    }

    #[test]
    fn a_disabled_account_neither_signs_in_nor_acts() {
        let (_dir, archive) = memory_archive();
        let admin = Actor::system();
        archive
            .create_account(&admin, new("bob", Role::Archivist, Some("a long passphrase")))
            .expect("create");
        let bob = UserName::parse("bob").expect("user");
        assert_eq!(archive.actor_of_account(&bob).expect("actor").name, "bob (archivist)");
        let changes = AccountChanges {
            disabled: Some(true),
            ..AccountChanges::default()
        };
        archive.update_account(&admin, "bob", changes).expect("disable");
        assert!(matches!(
            archive.sign_in("bob", "a long passphrase", "10.0.0.1"),
            Err(ArchiveError::SignInFailed)
        ));
        assert!(matches!(
            archive.actor_of_account(&bob),
            Err(ArchiveError::Unauthenticated)
        ));
    }

    #[test]
    fn people_change_their_own_password_only_with_the_current_one() {
        let (_dir, archive) = memory_archive();
        let admin = Actor::system();
        let carol = archive
            .create_account(&admin, new("carol", Role::Agent, Some("first passphrase")))
            .expect("create");
        archive
            .create_account(&admin, new("dave", Role::Agent, Some("dave passphrase")))
            .expect("create");
        let as_carol = Actor::person(&carol);
        let e = archive
            .set_password(&as_carol, "carol", Some("not it at all"), "second passphrase")
            .unwrap_err();
        assert!(matches!(e, ArchiveError::Invalid(_)), "{e}");
        let e = archive
            .set_password(&as_carol, "dave", Some("dave passphrase"), "taken over now")
            .unwrap_err();
        assert!(matches!(e, ArchiveError::Forbidden { .. }), "{e}");
        archive
            .set_password(&as_carol, "carol", Some("first passphrase"), "second passphrase")
            .expect("own change");
        archive
            .sign_in("carol", "second passphrase", "::1")
            .expect("new password");
        let e = archive
            .create_account(&as_carol, new("eve", Role::Admin, None))
            .unwrap_err();
        assert!(matches!(e, ArchiveError::Forbidden { .. }), "{e}");
    }

    #[test]
    fn failures_are_braked_by_account_and_by_address() {
        let (_dir, archive) = memory_archive();
        archive
            .create_account(&Actor::system(), new("erin", Role::Agent, Some("erin passphrase")))
            .expect("create");
        for _ in 0..account::FREE_FAILURES {
            assert!(matches!(
                archive.sign_in("erin", "guess guess guess", "192.0.2.1"),
                Err(ArchiveError::SignInFailed)
            ));
        }
        // Now even the right password waits, from any address.
        let e = archive.sign_in("erin", "erin passphrase", "192.0.2.99").unwrap_err();
        assert!(matches!(e, ArchiveError::TooManyAttempts { .. }), "{e}");
        // And the address waits, for any account.
        let e = archive.sign_in("someone", "whatever at all", "192.0.2.1").unwrap_err();
        assert!(matches!(e, ArchiveError::TooManyAttempts { .. }), "{e}");
    }

    #[test]
    fn the_journal_names_the_facts_never_the_password() {
        let (_dir, archive) = memory_archive();
        archive
            .create_account(
                &Actor::system(),
                new("frank", Role::Auditor, Some("frank's secret phrase")),
            )
            .expect("create");
        let events: Vec<_> = archive
            .journal
            .read_from(1)
            .expect("read")
            .map(|e| e.expect("event"))
            .collect();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert!(
            kinds.ends_with(&["account.created", "account.password_set"]),
            "{kinds:?}"
        );
        let text: String = events
            .iter()
            .map(|e| String::from_utf8_lossy(&e.to_line()).into_owned())
            .collect();
        assert!(!text.contains("secret phrase") && !text.contains("argon2"), "{text}");
    }
}
