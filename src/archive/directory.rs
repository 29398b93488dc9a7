//! Directory sign-in: a person without a local account (or whose account
//! came from the directory) is checked by the directory, and their groups
//! give their role and service through the operator's grants. Their
//! coffre account is opened at the first sign-in and kept in step after
//! (`account.created` / `account.updated`, by the actor `directory`), so
//! the journal, tokens and the trail name them as any other person.
//!
//! Access follows the directory: at each sign-in, and at the first request
//! of a session or a token after [`DirectoryOptions::recheck`], the person
//! is looked up again; one no longer found, or in no granted group, is
//! refused (their sessions end, their tokens stop) without any change to
//! their account, so that they get it back as soon as the directory
//! gives it back. An admin's disabling of the account stands whatever the
//! directory says. While the directory cannot be reached, no one signs in
//! through it, and those already in keep their last known standing.
//!
//! Local accounts (with a password kept here) stay for communes without a
//! directory and for the break-glass admin: a local account with the name
//! typed is always checked here, never by the directory.

use super::{Actor, Archive, ArchiveError};
use crate::domain::account::{Account, UserName};
use crate::domain::directory::{DirectoryPerson, GroupGrant, Standing, standing};
use crate::domain::event::EventBody;
use crate::store::directory::Directory;
pub use crate::store::directory_ldap::{LdapSettings, Secret};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a person's standing is trusted before the directory is asked
/// again, unless configured.
pub const DEFAULT_RECHECK: Duration = Duration::from_secs(5 * 60);

/// The directory an archive lets people in through.
#[derive(Debug, Clone)]
pub struct DirectoryOptions {
    /// How to reach it.
    pub ldap: LdapSettings,
    /// Which groups give which role and service (the first met decides).
    pub grants: Vec<GroupGrant>,
    /// How long a standing is trusted before the directory is asked again.
    pub recheck: Duration,
}

/// The directory and what this process last learnt from it.
pub(super) struct DirectoryAccess {
    directory: Arc<dyn Directory>,
    grants: Vec<GroupGrant>,
    recheck: Duration,
    /// When each person's standing was last confirmed.
    checked: Mutex<HashMap<UserName, Instant>>,
    /// One bringing-into-step at a time, so that two first sign-ins of
    /// one person (a form sent twice) open one account.
    in_step: Mutex<()>,
}

impl DirectoryAccess {
    pub(super) fn new(directory: Arc<dyn Directory>, options: Option<&DirectoryOptions>) -> Self {
        DirectoryAccess {
            directory,
            grants: options.map(|o| o.grants.clone()).unwrap_or_default(),
            recheck: options.map_or(DEFAULT_RECHECK, |o| o.recheck),
            checked: Mutex::new(HashMap::new()),
            in_step: Mutex::new(()),
        }
    }

    fn checked(&self) -> std::sync::MutexGuard<'_, HashMap<UserName, Instant>> {
        self.checked.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The actor that keeps directory accounts in step.
fn directory_actor() -> Actor {
    Actor {
        name: "directory".into(),
        role: crate::domain::role::Role::Admin,
        account: None,
    }
}

/// What a directory sign-in came to.
pub(super) enum DirectorySignIn {
    /// In, with this account.
    In(Account),
    /// The directory refused the name or the password.
    Refused,
}

impl Archive {
    /// Whether the name typed is checked by the directory: a directory is
    /// configured and no local account has that name.
    pub(super) fn signs_in_through_directory(&self, account: Option<&Account>) -> bool {
        self.directory.is_some() && account.is_none_or(|a| a.directory)
    }

    /// Checks `password` with the directory and brings the account into
    /// step with the person's groups.
    pub(super) fn sign_in_through_directory(
        &self,
        user: &UserName,
        password: &str,
        account: Option<Account>,
    ) -> Result<DirectorySignIn, ArchiveError> {
        let Some(access) = &self.directory else {
            return Ok(DirectorySignIn::Refused);
        };
        let person = access
            .directory
            .authenticate(user, password)
            .map_err(|e| ArchiveError::DirectoryUnavailable(e.0))?;
        let Some(person) = person else {
            return Ok(DirectorySignIn::Refused);
        };
        let Some(standing) = standing(&access.grants, &person) else {
            tracing::info!(%user, "signed in to the directory, but in no group that gives access");
            return Err(ArchiveError::NotGranted);
        };
        if account.as_ref().is_some_and(|a| a.disabled) {
            return Ok(DirectorySignIn::Refused);
        }
        let account = self.keep_in_step(access, &person, &standing)?;
        access.checked().insert(user.clone(), Instant::now());
        Ok(DirectorySignIn::In(account))
    }

    /// A directory account as it stands now: looked up again when its
    /// standing is older than the recheck time. `Unauthenticated` when the
    /// directory no longer lets the person in (or no directory is
    /// configured any more).
    pub(super) fn directory_standing(&self, account: Account) -> Result<Account, ArchiveError> {
        let Some(access) = &self.directory else {
            return Err(ArchiveError::Unauthenticated);
        };
        let fresh = access
            .checked()
            .get(&account.user)
            .is_some_and(|at| at.elapsed() < access.recheck);
        if fresh {
            return Ok(account);
        }
        let person = match access.directory.look_up(&account.user) {
            Ok(person) => person,
            Err(e) => {
                tracing::warn!(user = %account.user, error = %e.0, "the directory cannot be reached: the last standing holds");
                access.checked().insert(account.user.clone(), Instant::now());
                return Ok(account);
            }
        };
        let standing = person
            .as_ref()
            .and_then(|p| standing(&access.grants, p).map(|s| (p, s)));
        let Some((person, standing)) = standing else {
            tracing::info!(user = %account.user, "the directory no longer lets this person in");
            access.checked().remove(&account.user);
            return Err(ArchiveError::Unauthenticated);
        };
        let account = self.keep_in_step(access, person, &standing)?;
        access.checked().insert(account.user.clone(), Instant::now());
        Ok(account)
    }

    /// Opens the person's account, or journals what changed of their role,
    /// name or service since it was last seen.
    fn keep_in_step(
        &self,
        access: &DirectoryAccess,
        person: &DirectoryPerson,
        standing: &Standing,
    ) -> Result<Account, ArchiveError> {
        let _one_at_a_time = access.in_step.lock().unwrap_or_else(|p| p.into_inner());
        let account = self.catalog.account(&person.user)?;
        let display_name = person
            .display_name
            .as_deref()
            .and_then(|n| crate::domain::account::display_name(n).ok())
            .unwrap_or_else(|| person.user.to_string());
        let service = standing
            .service
            .as_deref()
            .and_then(|s| crate::domain::record::check_optional_text("service", Some(s.to_owned()), 100).ok())
            .flatten();
        let actor = directory_actor();
        match account {
            None => {
                self.journal.append(actor.draft(EventBody::AccountCreated {
                    user: person.user.clone(),
                    display_name,
                    role: standing.role,
                    directory: true,
                    service,
                }))?;
            }
            Some(account) => {
                let role = Some(standing.role).filter(|r| *r != account.role);
                let display_name = Some(display_name).filter(|n| *n != account.display_name);
                let service = (service != account.service).then(|| service.unwrap_or_default());
                if role.is_none() && display_name.is_none() && service.is_none() {
                    return Ok(account);
                }
                self.journal.append(actor.draft(EventBody::AccountUpdated {
                    user: person.user.clone(),
                    display_name,
                    role,
                    disabled: None,
                    service,
                    email: None,
                }))?;
            }
        }
        self.account(person.user.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::tests_support;
    use crate::archive::{AccountChanges, NewAccount};
    use crate::domain::role::Role;
    use crate::store::directory::{MemoryDirectory, MemoryPerson};

    const FINANCES: &str = "cn=coffre-finances,ou=groupes,dc=cd00,dc=fr";
    const ARCHIVES: &str = "cn=coffre-archives,ou=groupes,dc=cd00,dc=fr";

    fn options() -> DirectoryOptions {
        DirectoryOptions {
            ldap: LdapSettings {
                url: "ldap://annuaire.invalid".into(),
                ca_file: None,
                bind_dn: String::new(),
                bind_password: Secret::default(),
                base: String::new(),
                user_filter: String::new(),
                name_attribute: String::new(),
                group_attribute: String::new(),
                group_base: None,
                group_filter: String::new(),
                timeout: Duration::from_secs(1),
            },
            grants: vec![
                GroupGrant {
                    group: ARCHIVES.into(),
                    role: Role::Archivist,
                    service: Some("Archives départementales".into()),
                },
                GroupGrant {
                    group: FINANCES.into(),
                    role: Role::Agent,
                    service: Some("Direction des finances".into()),
                },
            ],
            recheck: Duration::ZERO,
        }
    }

    fn person(user: &str, groups: &[&str]) -> MemoryPerson {
        MemoryPerson {
            person: DirectoryPerson {
                user: UserName::parse(user).expect("user"),
                dn: format!("uid={user},ou=personnes,dc=cd00,dc=fr"),
                display_name: Some(format!("Personne {user}")),
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            },
            password: format!("mot de passe de {user}"),
            locked: false,
        }
    }

    fn archive_with(directory: Arc<MemoryDirectory>) -> (tempfile::TempDir, crate::archive::Archive) {
        let mut options = tests_support::options();
        options.directory = Some(super::DirectoryOptions { ..self::options() });
        tests_support::archive_with_directory(options, directory)
    }

    #[test]
    fn a_directory_person_signs_in_with_their_groups_role_and_service() {
        let directory = Arc::new(MemoryDirectory::default());
        directory.put(person("marie.dupont", &[FINANCES]));
        let (_tmp, archive) = archive_with(Arc::clone(&directory));
        let account = archive
            .sign_in("Marie.Dupont", "mot de passe de marie.dupont", "10.0.0.1")
            .expect("signed in");
        assert!(account.directory);
        assert_eq!(account.role, Role::Agent);
        assert_eq!(account.service.as_deref(), Some("Direction des finances"));
        assert_eq!(account.display_name, "Personne marie.dupont");
        // A wrong password, an unknown person and a locked account are one
        // refusal.
        for (user, password) in [
            ("marie.dupont", "pas le bon"),
            ("inconnu", "mot de passe de inconnu"),
            ("marie.dupont", ""),
        ] {
            assert!(matches!(
                archive.sign_in(user, password, "10.0.0.2"),
                Err(ArchiveError::SignInFailed)
            ));
        }
        let mut locked = person("paul.bloque", &[FINANCES]);
        locked.locked = true;
        directory.put(locked);
        assert!(matches!(
            archive.sign_in("paul.bloque", "mot de passe de paul.bloque", "10.0.0.3"),
            Err(ArchiveError::SignInFailed)
        ));
        // In no granted group: the password was right, access is refused.
        directory.put(person("jean.cantine", &["cn=cantine,ou=groupes,dc=cd00,dc=fr"]));
        assert!(matches!(
            archive.sign_in("jean.cantine", "mot de passe de jean.cantine", "10.0.0.4"),
            Err(ArchiveError::NotGranted)
        ));
        assert!(
            archive.account("jean.cantine").is_err(),
            "no account for a person not let in"
        );
    }

    #[test]
    fn access_follows_the_directory_and_the_journal_says_so() {
        let directory = Arc::new(MemoryDirectory::default());
        directory.put(person("luc", &[FINANCES]));
        let (_tmp, archive) = archive_with(Arc::clone(&directory));
        let luc = archive.sign_in("luc", "mot de passe de luc", "::1").expect("in").user;
        assert_eq!(archive.actor_of_account(&luc).expect("actor").role, Role::Agent);
        // Moved to the archives group: the next check gives the new role.
        directory.put(person("luc", &[ARCHIVES]));
        assert_eq!(archive.actor_of_account(&luc).expect("actor").role, Role::Archivist);
        // Unreachable: the last standing holds.
        directory.set_down(true);
        assert_eq!(archive.actor_of_account(&luc).expect("actor").role, Role::Archivist);
        assert!(matches!(
            archive.sign_in("luc", "mot de passe de luc", "::1"),
            Err(ArchiveError::DirectoryUnavailable(_))
        ));
        directory.set_down(false);
        // Out of every granted group: refused, account unchanged.
        directory.put(person("luc", &["cn=autre,dc=cd00,dc=fr"]));
        assert!(matches!(
            archive.actor_of_account(&luc),
            Err(ArchiveError::Unauthenticated)
        ));
        assert!(!archive.account("luc").expect("kept").disabled);
        // Removed from the directory: refused too; back in: in again.
        directory.remove(&luc);
        assert!(matches!(
            archive.actor_of_account(&luc),
            Err(ArchiveError::Unauthenticated)
        ));
        directory.put(person("luc", &[FINANCES]));
        assert_eq!(archive.actor_of_account(&luc).expect("back").role, Role::Agent);
        let kinds: Vec<(String, String)> = archive
            .journal
            .read_from(1)
            .expect("read")
            .map(|e| e.expect("event"))
            .filter(|e| e.kind.starts_with("account."))
            .map(|e| (e.kind.clone(), e.actor.clone()))
            .collect();
        let directory_events: Vec<&str> = kinds
            .iter()
            .filter(|(_, actor)| actor == "directory")
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            directory_events,
            ["account.created", "account.updated", "account.updated"],
            "{kinds:?}"
        );
    }

    #[test]
    fn local_accounts_stay_local_and_an_admins_disabling_stands() {
        let directory = Arc::new(MemoryDirectory::default());
        // The directory has an `admin` too, with another password.
        directory.put(person("admin", &[ARCHIVES]));
        directory.put(person("rose", &[FINANCES]));
        let (_tmp, archive) = archive_with(Arc::clone(&directory));
        archive
            .create_account(
                &Actor::system(),
                NewAccount {
                    user: "admin".into(),
                    display_name: "Secours".into(),
                    role: Role::Admin,
                    password: Some("mot de passe local du secours".into()),
                },
            )
            .expect("local admin");
        assert!(matches!(
            archive.sign_in("admin", "mot de passe de admin", "::1"),
            Err(ArchiveError::SignInFailed)
        ));
        let admin = archive
            .sign_in("admin", "mot de passe local du secours", "::1")
            .expect("break glass");
        assert!(!admin.directory);
        assert_eq!(admin.role, Role::Admin);
        archive.sign_in("rose", "mot de passe de rose", "::1").expect("in");
        let e = archive
            .set_password(&Actor::system(), "rose", None, "un mot de passe local")
            .unwrap_err();
        assert!(matches!(e, ArchiveError::Invalid(_)), "{e}");
        let promote = AccountChanges {
            role: Some(Role::Admin),
            ..AccountChanges::default()
        };
        let e = archive.update_account(&Actor::system(), "rose", promote).unwrap_err();
        assert!(matches!(e, ArchiveError::Invalid(_)), "{e}");
        let disable = AccountChanges {
            disabled: Some(true),
            ..AccountChanges::default()
        };
        archive
            .update_account(&Actor::system(), "rose", disable)
            .expect("disable");
        assert!(matches!(
            archive.sign_in("rose", "mot de passe de rose", "::1"),
            Err(ArchiveError::SignInFailed)
        ));
        let rose = UserName::parse("rose").expect("user");
        assert!(matches!(
            archive.actor_of_account(&rose),
            Err(ArchiveError::Unauthenticated)
        ));
    }
}
