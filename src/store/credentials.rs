//! Password hashes, beside the journal and never in it: the journal says
//! that a password was set, this store keeps its Argon2id hash (a PHC
//! string). It is not a view: a rebuild leaves it alone, and losing it
//! means setting passwords again, not losing records.
//!
//! The file adapter keeps one small JSON file (`keys/credentials.json`,
//! owner-only), replaced whole on each change: a département has hundreds
//! of accounts, not millions.

use super::CatalogError;
use crate::domain::account::UserName;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where password hashes are kept.
///
/// Contract:
/// * `hash` of a user never given to `set` is `None`;
/// * `set` is durable when it returns, and replaces the user's hash
///   atomically: after a crash, the store holds the old hash or the new
///   one, never a mix, and every other user's hash is untouched;
/// * after `reload`, `hash` answers what the storage holds, also when
///   another process (a replica taking its primary's keys) wrote it.
pub trait Credentials: Send + Sync {
    /// The user's password hash (a PHC string), if one was set.
    fn hash(&self, user: &UserName) -> Result<Option<String>, CatalogError>;
    /// Sets the user's password hash.
    fn set(&self, user: &UserName, phc: &str) -> Result<(), CatalogError>;
    /// Reads the hashes again from where they are kept.
    fn reload(&self) -> Result<(), CatalogError>;
}

/// Password hashes by user name.
type Hashes = BTreeMap<String, String>;

/// Hashes in a JSON file, read once and replaced whole on each change.
pub struct FileCredentials {
    path: PathBuf,
    hashes: Mutex<Hashes>,
}

fn storage(what: &str, path: &Path, e: impl std::fmt::Display) -> CatalogError {
    CatalogError::Storage(format!("{what} {}: {e}", path.display()))
}

impl FileCredentials {
    /// Opens the file at `path`, or starts it (with its folder, owner-only)
    /// at the first `set`.
    pub fn open(path: &Path) -> Result<Self, CatalogError> {
        Ok(FileCredentials {
            path: path.to_owned(),
            hashes: Mutex::new(Self::read(path)?),
        })
    }

    fn read(path: &Path) -> Result<Hashes, CatalogError> {
        match fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| CatalogError::Decode {
                key: path.display().to_string(),
                reason: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(storage("reading", path, e)),
        }
    }

    /// Writes `hashes` to a new file beside the old one, then renames it
    /// over: readers and crashes see one file or the other.
    fn write(&self, hashes: &BTreeMap<String, String>) -> Result<(), CatalogError> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.is_dir() {
            use std::os::unix::fs::PermissionsExt;
            fs::create_dir_all(dir)
                .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o700)))
                .map_err(|e| storage("creating", dir, e))?;
        }
        let temp = self.path.with_extension("json.new");
        let bytes = serde_json::to_vec_pretty(hashes).map_err(|e| storage("encoding", &self.path, e))?;
        let mut file = fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| storage("writing", &temp, e))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| storage("writing", &temp, e))?;
        fs::rename(&temp, &self.path).map_err(|e| storage("replacing", &self.path, e))?;
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| storage("syncing", dir, e))
    }
}

impl Credentials for FileCredentials {
    fn hash(&self, user: &UserName) -> Result<Option<String>, CatalogError> {
        let hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        Ok(hashes.get(user.as_str()).cloned())
    }

    fn set(&self, user: &UserName, phc: &str) -> Result<(), CatalogError> {
        let mut hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        let mut next = hashes.clone();
        next.insert(user.to_string(), phc.to_owned());
        self.write(&next)?;
        *hashes = next;
        Ok(())
    }

    fn reload(&self) -> Result<(), CatalogError> {
        let mut hashes = self.hashes.lock().unwrap_or_else(|p| p.into_inner());
        *hashes = Self::read(&self.path)?;
        Ok(())
    }
}

/// Hashes in memory, for tests.
#[derive(Default)]
pub struct MemoryCredentials {
    hashes: Mutex<BTreeMap<UserName, String>>,
}

impl Credentials for MemoryCredentials {
    fn hash(&self, user: &UserName) -> Result<Option<String>, CatalogError> {
        Ok(self.hashes.lock().unwrap_or_else(|p| p.into_inner()).get(user).cloned())
    }

    fn set(&self, user: &UserName, phc: &str) -> Result<(), CatalogError> {
        self.hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(user.clone(), phc.to_owned());
        Ok(())
    }

    fn reload(&self) -> Result<(), CatalogError> {
        // Memory is where they are kept: nothing to read again.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract, run on every adapter.
    fn contract(name: &str, store: &dyn Credentials) {
        let alice = UserName::parse("alice").expect("user");
        let bob = UserName::parse("bob").expect("user");
        assert_eq!(store.hash(&alice).expect("hash"), None, "{name}");
        store.set(&alice, "$argon2id$one").expect("set");
        store.set(&bob, "$argon2id$bob").expect("set");
        store.set(&alice, "$argon2id$two").expect("set");
        assert_eq!(
            store.hash(&alice).expect("hash").as_deref(),
            Some("$argon2id$two"),
            "{name}"
        );
        assert_eq!(
            store.hash(&bob).expect("hash").as_deref(),
            Some("$argon2id$bob"),
            "{name}"
        );
    }

    #[test]
    fn every_adapter_keeps_the_contract() {
        contract("memory", &MemoryCredentials::default());
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("credentials.json");
        contract("file", &FileCredentials::open(&path).expect("open"));
    }

    #[test]
    fn a_reload_sees_what_another_process_wrote() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("credentials.json");
        let alice = UserName::parse("alice").expect("user");
        let replica = FileCredentials::open(&path).expect("open");
        FileCredentials::open(&path)
            .expect("open")
            .set(&alice, "$argon2id$new")
            .expect("set");
        assert_eq!(
            replica.hash(&alice).expect("hash"),
            None,
            "held in memory until reloaded"
        );
        replica.reload().expect("reload");
        assert_eq!(replica.hash(&alice).expect("hash").as_deref(), Some("$argon2id$new"));
    }

    #[test]
    fn the_file_survives_a_reopen_and_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("credentials.json");
        let alice = UserName::parse("alice").expect("user");
        FileCredentials::open(&path)
            .expect("open")
            .set(&alice, "$argon2id$x")
            .expect("set");
        let again = FileCredentials::open(&path).expect("reopen");
        assert_eq!(again.hash(&alice).expect("hash").as_deref(), Some("$argon2id$x"));
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o077, 0, "no one but the owner reads the hashes");
        assert!(!path.with_extension("json.new").exists());
    }
}
