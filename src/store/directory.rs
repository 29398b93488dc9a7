//! The directory port: who a person is in the département's directory,
//! whether it accepts their password, and which groups they are in. The
//! LDAP adapter is `directory_ldap`; [`MemoryDirectory`] stands in for it
//! in the use cases' tests.
//!
//! Contract: `authenticate` answers `Ok(None)` for every refusal the
//! directory makes (no such person, several people under the name, a
//! wrong or empty password, a locked or disabled account), so that no
//! caller can tell them apart; `Err` only when the directory could not be
//! asked (unreachable, TLS refused, our own service account refused).

use crate::domain::account::UserName;
use crate::domain::directory::DirectoryPerson;
use std::collections::HashMap;
use std::sync::Mutex;

/// The directory could not be asked.
#[derive(Debug, Clone, thiserror::Error)]
#[error("annuaire injoignable : {0}")]
pub struct DirectoryUnavailable(pub String);

/// A directory of people and groups.
pub trait Directory: Send + Sync {
    /// The person named `user`, when the directory accepts `password` for
    /// them (see the contract above).
    fn authenticate(&self, user: &UserName, password: &str) -> Result<Option<DirectoryPerson>, DirectoryUnavailable>;

    /// The person named `user` as the directory holds them now (`None`:
    /// no longer there, or no longer found by the search filter).
    fn look_up(&self, user: &UserName) -> Result<Option<DirectoryPerson>, DirectoryUnavailable>;
}

/// A person of a [`MemoryDirectory`].
#[derive(Debug, Clone)]
pub struct MemoryPerson {
    /// What the directory says of them.
    pub person: DirectoryPerson,
    /// Their password.
    pub password: String,
    /// Locked: the directory refuses their password.
    pub locked: bool,
}

/// A directory in memory, changed by the test that holds it.
#[derive(Debug, Default)]
pub struct MemoryDirectory {
    people: Mutex<HashMap<UserName, MemoryPerson>>,
    down: std::sync::atomic::AtomicBool,
}

impl MemoryDirectory {
    /// Adds (or replaces) a person.
    pub fn put(&self, person: MemoryPerson) {
        self.people
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(person.person.user.clone(), person);
    }

    /// Removes a person.
    pub fn remove(&self, user: &UserName) {
        self.people.lock().unwrap_or_else(|p| p.into_inner()).remove(user);
    }

    /// Makes the directory unreachable (true) or reachable again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, std::sync::atomic::Ordering::SeqCst);
    }

    fn reachable(&self) -> Result<(), DirectoryUnavailable> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(DirectoryUnavailable("connexion refusée".into()));
        }
        Ok(())
    }
}

impl Directory for MemoryDirectory {
    fn authenticate(&self, user: &UserName, password: &str) -> Result<Option<DirectoryPerson>, DirectoryUnavailable> {
        self.reachable()?;
        let people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        Ok(people
            .get(user)
            .filter(|p| !p.locked && !password.is_empty() && p.password == password)
            .map(|p| p.person.clone()))
    }

    fn look_up(&self, user: &UserName) -> Result<Option<DirectoryPerson>, DirectoryUnavailable> {
        self.reachable()?;
        let people = self.people.lock().unwrap_or_else(|p| p.into_inner());
        Ok(people.get(user).map(|p| p.person.clone()))
    }
}
