//! The directory over LDAP (OpenLDAP, Active Directory, Samba): each
//! question opens a connection protected by TLS (LDAPS, or StartTLS on
//! `ldap://`; never a password in clear), binds as coffre's service
//! account, finds the person by the configured filter, reads their groups
//! (the `memberOf`-like attribute of their entry, and the groups found
//! under `group_base`), and, to check a password, binds as the person.
//!
//! The synchronous client of `ldap3` runs on the caller's thread (the
//! archive's use cases run on blocking threads, never on the executor),
//! with a time limit on the connection and on each operation.

use super::directory::{Directory, DirectoryUnavailable};
use crate::domain::account::UserName;
use crate::domain::directory::{DirectoryPerson, fill_filter};
use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry, SearchOptions};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// RFC 4511 result code: the name or the password is wrong (also what
/// OpenLDAP's password policy and Active Directory answer for a locked or
/// disabled account).
const INVALID_CREDENTIALS: u32 = 49;
/// RFC 4511 result code: more entries than the size limit asked.
const SIZE_LIMIT_EXCEEDED: u32 = 4;
/// The most groups read for one person.
const GROUPS_MAX: i32 = 1000;

/// A password, kept out of `Debug` output and logs.
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// How to reach and read the directory (from the directory file).
#[derive(Debug, Clone)]
pub struct LdapSettings {
    /// `ldaps://host:636` or `ldap://host:389` (then with StartTLS).
    pub url: String,
    /// A CA file (PEM) trusted for the directory's certificate, besides
    /// the Mozilla roots.
    pub ca_file: Option<PathBuf>,
    /// coffre's service account, which searches people and groups.
    pub bind_dn: String,
    /// Its password.
    pub bind_password: Secret,
    /// Where people are searched (the whole subtree).
    pub base: String,
    /// The filter that finds a person by the name they typed, `{user}`
    /// standing for it (escaped).
    pub user_filter: String,
    /// The attribute that holds a person's name as shown (else `cn`).
    pub name_attribute: String,
    /// The attribute of a person's entry that lists their groups' names
    /// (Active Directory's and OpenLDAP's memberOf overlay's `memberOf`).
    pub group_attribute: String,
    /// Where groups are searched, if anywhere (for directories without a
    /// `memberOf` attribute).
    pub group_base: Option<String>,
    /// The filter that finds a person's groups under `group_base`, `{dn}`
    /// and `{user}` standing for their entry's name and their user name.
    pub group_filter: String,
    /// The longest wait for the connection and for each operation.
    pub timeout: Duration,
}

/// Why the directory's settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LdapSetupError {
    /// Neither `ldaps://` nor `ldap://`.
    #[error("{0:?}: the directory's URL starts with ldaps:// (TLS) or ldap:// (then StartTLS)")]
    Url(String),
    /// The CA file cannot be trusted.
    #[error("{path}: {source}")]
    Ca {
        /// The file.
        path: String,
        /// What is wrong with it.
        source: super::tls::CaFileError,
    },
}

/// The directory reached over LDAP.
pub struct LdapDirectory {
    settings: LdapSettings,
    tls: Arc<rustls::ClientConfig>,
    starttls: bool,
}

impl LdapDirectory {
    /// The directory the settings describe; the error says what is wrong
    /// with its URL or CA file.
    pub fn new(settings: LdapSettings) -> Result<Self, LdapSetupError> {
        let starttls = if settings.url.starts_with("ldaps://") {
            false
        } else if settings.url.starts_with("ldap://") {
            true
        } else {
            return Err(LdapSetupError::Url(settings.url));
        };
        let tls = super::tls::client_config(settings.ca_file.as_deref()).map_err(|source| LdapSetupError::Ca {
            path: settings
                .ca_file
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
                .to_string(),
            source,
        })?;
        Ok(LdapDirectory {
            settings,
            tls: Arc::new(tls),
            starttls,
        })
    }

    /// A connection bound as the service account.
    fn connect(&self) -> Result<LdapConn, DirectoryUnavailable> {
        let s = &self.settings;
        let conn_settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(self.starttls)
            .set_config(Arc::clone(&self.tls));
        let mut ldap = LdapConn::with_settings(conn_settings, &s.url).map_err(|e| unavailable(&s.url, &e))?;
        ldap.with_timeout(s.timeout)
            .simple_bind(&s.bind_dn, &s.bind_password.0)
            .and_then(|r| r.success())
            .map_err(|e| {
                DirectoryUnavailable(format!(
                    "{} : le compte de service {} est refusé ({e})",
                    s.url, s.bind_dn
                ))
            })?;
        Ok(ldap)
    }

    /// The person named `user`, read through `ldap` (bound as the service
    /// account): `None` when the filter finds no one, or several people.
    fn find(&self, ldap: &mut LdapConn, user: &UserName) -> Result<Option<DirectoryPerson>, DirectoryUnavailable> {
        let s = &self.settings;
        let filter = fill_filter(&s.user_filter, user.as_str(), None);
        let attributes = [s.name_attribute.as_str(), "cn", s.group_attribute.as_str()];
        let found = ldap
            .with_search_options(SearchOptions::new().sizelimit(2))
            .with_timeout(s.timeout)
            .search(&s.base, Scope::Subtree, &filter, attributes)
            .map_err(|e| unavailable(&s.url, &e))?;
        if found.1.rc != 0 && found.1.rc != SIZE_LIMIT_EXCEEDED {
            return Err(unavailable(&s.url, &LdapError::from(found.1)));
        }
        let mut entries = found.0;
        if entries.len() != 1 {
            if entries.len() > 1 {
                tracing::warn!(%user, filter, "the directory's filter finds several people under one name: refused");
            }
            return Ok(None);
        }
        let entry = SearchEntry::construct(entries.remove(0));
        let value = |name: &str| {
            entry
                .attrs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let mut groups = value(&s.group_attribute);
        if let Some(group_base) = &s.group_base {
            let filter = fill_filter(&s.group_filter, user.as_str(), Some(&entry.dn));
            let found = ldap
                .with_search_options(SearchOptions::new().sizelimit(GROUPS_MAX))
                .with_timeout(s.timeout)
                .search(group_base, Scope::Subtree, &filter, ["1.1"])
                .map_err(|e| unavailable(&s.url, &e))?;
            if found.1.rc != 0 && found.1.rc != SIZE_LIMIT_EXCEEDED {
                return Err(unavailable(&s.url, &LdapError::from(found.1)));
            }
            groups.extend(found.0.into_iter().map(|e| SearchEntry::construct(e).dn));
        }
        Ok(Some(DirectoryPerson {
            user: user.clone(),
            dn: entry.dn.clone(),
            display_name: value(&s.name_attribute)
                .into_iter()
                .chain(value("cn"))
                .find(|n| !n.trim().is_empty()),
            groups,
        }))
    }
}

fn unavailable(url: &str, e: &LdapError) -> DirectoryUnavailable {
    DirectoryUnavailable(format!("{url} : {e}"))
}

impl Directory for LdapDirectory {
    fn authenticate(&self, user: &UserName, password: &str) -> Result<Option<DirectoryPerson>, DirectoryUnavailable> {
        // An empty password would be an unauthenticated bind, which
        // directories accept for anyone (RFC 4513 §5.1.2).
        if password.is_empty() {
            return Ok(None);
        }
        let mut ldap = self.connect()?;
        let Some(person) = self.find(&mut ldap, user)? else {
            let _ = ldap.unbind();
            return Ok(None);
        };
        let bound = ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(&person.dn, password);
        let _ = ldap.unbind();
        match bound {
            Ok(result) if result.rc == 0 => Ok(Some(person)),
            Ok(result) => {
                if result.rc != INVALID_CREDENTIALS {
                    tracing::info!(%user, rc = result.rc, text = result.text, "the directory refused a sign-in");
                }
                Ok(None)
            }
            Err(e) => Err(unavailable(&self.settings.url, &e)),
        }
    }

    fn look_up(&self, user: &UserName) -> Result<Option<DirectoryPerson>, DirectoryUnavailable> {
        let mut ldap = self.connect()?;
        let person = self.find(&mut ldap, user);
        let _ = ldap.unbind();
        person
    }
}
