//! People's accounts: who signs in, with which role, and the rules a user
//! name, a display name and a password must follow. Also the brake on
//! failed sign-ins.
//!
//! Deliberately not here: password hashes (kept by `store::credentials`,
//! never in the journal), sessions and cookies (the web adapter's).

use super::role::Role;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// The longest user name, in characters: long enough for
/// `prenom.nom-compose` from a directory, short enough for a journal line.
pub const USER_NAME_MAX: usize = 64;

/// The longest display name, in characters.
pub const DISPLAY_NAME_MAX: usize = 100;

/// The shortest password, in characters: ANSSI's guidance for passwords
/// that guard personal data with a brake on attempts is 12 or more.
pub const PASSWORD_MIN: usize = 12;

/// The longest password, in characters: hashing costs grow with the input, and
/// no one types more.
pub const PASSWORD_MAX: usize = 1024;

/// Why an account's detail was refused, in French, for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AccountInputError {
    /// The field at fault (`user`, `display_name`, `password`).
    pub field: &'static str,
    /// What is wrong and how to write it, in French.
    pub message: String,
}

impl AccountInputError {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        AccountInputError {
            field,
            message: message.into(),
        }
    }
}

/// A user name: lowercase letters, digits, `.`, `-` and `_`, starting with a
/// letter or a digit. Compared as written (it is lowercased when parsed, so
/// `Alice` and `alice` are one account).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserName(String);

impl UserName {
    /// Reads a user name as typed (surrounding spaces dropped, lowercased).
    pub fn parse(text: &str) -> Result<UserName, AccountInputError> {
        // Checked before lowercasing: the Kelvin sign (U+212A) would
        // become a `k`.
        let name = text.trim();
        let valid_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        let starts_well = name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        if name.is_empty() || name.chars().count() > USER_NAME_MAX || !starts_well || !name.chars().all(valid_char) {
            return Err(AccountInputError::new(
                "user",
                format!(
                    "un identifiant a de 1 à {USER_NAME_MAX} caractères : lettres sans accent, chiffres, « . », « - » ou « _ », \
                     et commence par une lettre ou un chiffre (par exemple « marie.dupont »)"
                ),
            ));
        }
        Ok(UserName(name.to_ascii_lowercase()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserName {
    type Error = AccountInputError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        UserName::parse(&s)
    }
}

impl From<UserName> for String {
    fn from(u: UserName) -> String {
        u.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a display name and returns it trimmed.
pub fn display_name(text: &str) -> Result<String, AccountInputError> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > DISPLAY_NAME_MAX || name.chars().any(super::record::unreadable) {
        return Err(AccountInputError::new(
            "display_name",
            format!("le nom affiché a de 1 à {DISPLAY_NAME_MAX} caractères, sans caractère de contrôle"),
        ));
    }
    Ok(name.to_owned())
}

/// The longest e-mail address (RFC 5321's path limit).
pub const EMAIL_MAX: usize = 254;

/// An e-mail address as people type it, checked: a local part without
/// spaces, control characters or `@<>()[]\,;:"`, one `@`, and a domain of
/// two labels or more (ASCII letters, digits and inner hyphens). The
/// interface's schema says the same as a pattern ([`email_pattern`]). Its
/// last say is the mail server's; this catches what cannot be one.
pub fn email(text: &str) -> Result<String, AccountInputError> {
    let address = text.trim();
    let wrong = || {
        AccountInputError::new(
            "email",
            format!("« {address} » n'est pas une adresse électronique (prenom.nom@exemple.fr)"),
        )
    };
    // The length as sent, spaces included, as the schema's `maxLength`
    // counts it.
    if text.chars().count() > EMAIL_MAX {
        return Err(wrong());
    }
    let (local, domain) = address.split_once('@').ok_or_else(wrong)?;
    let local_fine = !local.is_empty()
        && !local
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "@<>()[]\\,;:\"".contains(c));
    let label_fine = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !local_fine || domain.split('.').count() < 2 || !domain.split('.').all(label_fine) {
        return Err(wrong());
    }
    Ok(address.to_owned())
}

/// [`email`]'s rule as a pattern (ECMA-262, for the interface's schema):
/// white space around it aside, which the check drops; blank clears an
/// address.
pub fn email_pattern() -> String {
    let space = crate::domain::record::WHITE_SPACE_CLASS;
    let label = "[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?";
    format!(r#"^[{space}]*$|^[{space}]*[^@{space}<>()\[\]\\,;:"\x00-\x1F\x7F-\x9F]+@({label}\.)+{label}[{space}]*$"#)
}

/// Checks a new password against the rules (length only: composition
/// rules make passwords weaker in practice, and the brake on attempts does
/// the rest).
pub fn check_password(password: &str) -> Result<(), AccountInputError> {
    if password.chars().count() < PASSWORD_MIN || password.chars().count() > PASSWORD_MAX {
        return Err(AccountInputError::new(
            "password",
            format!("un mot de passe a au moins {PASSWORD_MIN} caractères (une phrase de passe convient très bien)"),
        ));
    }
    Ok(())
}

/// A person's account, as the catalog holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The name they sign in with.
    pub user: UserName,
    /// The name shown to people.
    pub display_name: String,
    /// What they may do.
    pub role: Role,
    /// A disabled account cannot sign in, and its tokens stop working.
    pub disabled: bool,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When its password was last set (none: it has no password yet and
    /// cannot sign in on the web; its tokens work).
    #[serde(default)]
    pub password_set: Option<DateTime<Utc>>,
    /// The person signs in with their directory account (LDAP): the
    /// directory checks their password, and its groups give their role and
    /// service at each sign-in and every few minutes after.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub directory: bool,
    /// The producing service they deposit for by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Where the daily summary of their work list is mailed (none: it is
    /// not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Account {
    /// How the journal names what this person does: `alice (agent)`.
    pub fn actor_name(&self) -> String {
        actor_name(&self.user, self.role)
    }
}

/// How the journal names a person acting in a role: `alice (agent)`.
pub fn actor_name(user: &UserName, role: Role) -> String {
    format!("{user} ({role})")
}

/// The person an actor name stands for, when it names one (`alice
/// (agent)` → `alice`); `None` for `system`, `cli:…` and `token:…`.
pub fn person_of_actor(actor: &str) -> Option<UserName> {
    let (user, role) = actor.strip_suffix(')')?.split_once(" (")?;
    Role::parse(role)?;
    UserName::parse(user).ok().filter(|u| u.as_str() == user)
}

/// Failures allowed for one key (an account or an address) before each
/// further attempt has to wait.
pub const FREE_FAILURES: u32 = 5;

/// The longest wait imposed, however many failures.
pub const WAIT_MAX_SECS: i64 = 15 * 60;

/// A failure older than this is forgotten.
pub const FAILURE_MEMORY_SECS: i64 = 60 * 60;

/// The brake on failed sign-ins: after [`FREE_FAILURES`] failures for a key,
/// each attempt waits twice as long as the last (1 s, 2 s, 4 s … up to
/// [`WAIT_MAX_SECS`]). A success clears the key. Pure: the caller gives the
/// time, and keeps one brake per process.
#[derive(Debug, Default)]
pub struct SignInBrake {
    failures: HashMap<String, (u32, DateTime<Utc>)>,
}

impl SignInBrake {
    /// How long `key` must still wait at `now` (none: it may try).
    pub fn wait(&self, key: &str, now: DateTime<Utc>) -> Option<Duration> {
        let (count, last) = self.failures.get(key)?;
        if now - *last >= Duration::seconds(FAILURE_MEMORY_SECS) || *count < FREE_FAILURES {
            return None;
        }
        let exponent = (count - FREE_FAILURES).min(20);
        let wait = Duration::seconds((1i64 << exponent).min(WAIT_MAX_SECS));
        let left = *last + wait - now;
        (left > Duration::zero()).then_some(left)
    }

    /// Notes a failure of `key` at `now`.
    pub fn failed(&mut self, key: &str, now: DateTime<Utc>) {
        let entry = self.failures.entry(key.to_owned()).or_insert((0, now));
        if now - entry.1 >= Duration::seconds(FAILURE_MEMORY_SECS) {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        // Forget stale keys now and then, so that a stream of made-up user
        // names cannot grow the map without bound.
        if self.failures.len() > 10_000 {
            self.failures
                .retain(|_, (_, last)| now - *last < Duration::seconds(FAILURE_MEMORY_SECS));
        }
    }

    /// Clears `key` after a success.
    pub fn succeeded(&mut self, key: &str) {
        self.failures.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The interface's pattern and the check agree on every text, white
        /// space around it included (blank clears the address).
        #[test]
        fn the_pattern_says_what_the_check_does(text in "[a-zA-Z0-9@.\\- <>()\\[\\],;:\"\\\\\u{0}-\u{1f}\u{7f}-\u{a0}é€\u{1680}\u{2028}\u{3000}\u{feff}]{0,24}") {
            let pattern = regex::Regex::new(&email_pattern()).expect("a pattern");
            let accepted = text.trim().is_empty() || email(&text).is_ok();
            proptest::prop_assert_eq!(accepted, pattern.is_match(&text), "{:?}", text);
        }
    }

    #[test]
    fn addresses_people_type_are_kept_and_what_cannot_be_one_is_refused() {
        assert_eq!(
            email(" agnes.martin@cd99.fr ").expect("an address"),
            "agnes.martin@cd99.fr"
        );
        assert!(email("service.finances+factures@mairie-exemple.fr").is_ok());
        for wrong in [
            "",
            "agnes",
            "agnes@",
            "@cd99.fr",
            "agnes@cd99",
            "agnes martin@cd99.fr",
            "a@b@c.fr",
            "<a@b.fr>",
            "a@-b.fr",
            "a@b..fr",
        ] {
            assert!(email(wrong).is_err(), "{wrong}");
        }
        let pattern = regex::Regex::new(&email_pattern()).expect("a pattern");
        for right in [
            "agnes.martin@cd99.fr",
            "service.finances+factures@mairie-exemple.fr",
            "é@x.y",
            "",
        ] {
            assert!(pattern.is_match(right), "{right}");
        }
        for wrong in [
            "agnes",
            "a@b@c.fr",
            "<a@b.fr>",
            "a@-b.fr",
            "a@b..fr",
            "a\u{14}@b.fr",
            "a b@c.fr",
        ] {
            assert!(!pattern.is_match(wrong), "{wrong}");
        }
    }
    use proptest::prelude::*;

    #[test]
    fn user_names_are_lowercased_and_checked() {
        assert_eq!(UserName::parse(" Marie.Dupont ").unwrap().as_str(), "marie.dupont");
        for bad in ["", "-x", ".x", "é", "a b", "a/b", &"a".repeat(65)] {
            let e = UserName::parse(bad).unwrap_err();
            assert_eq!(e.field, "user", "{bad:?}");
            assert!(e.message.contains("identifiant"), "{}", e.message);
        }
    }

    #[test]
    fn passwords_need_twelve_characters_counted_as_people_count_them() {
        assert!(check_password("onze-carac.").is_err());
        assert!(check_password("éééééééééééé").is_ok(), "12 characters, 24 bytes");
        assert!(check_password(&"x".repeat(PASSWORD_MAX + 1)).is_err());
    }

    #[test]
    fn the_journal_names_the_person_and_the_role() {
        let user = UserName::parse("alice").unwrap();
        assert_eq!(actor_name(&user, Role::Agent), "alice (agent)");
        assert_eq!(person_of_actor("alice (agent)"), Some(user));
        for other in [
            "system",
            "cli:root",
            "token:guichet",
            "Alice (agent)",
            "alice (chef)",
            "alice",
        ] {
            assert_eq!(person_of_actor(other), None, "{other}");
        }
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap_or_default()
    }

    #[test]
    fn the_brake_lets_five_failures_through_then_doubles_the_wait() {
        let mut brake = SignInBrake::default();
        for i in 0..FREE_FAILURES {
            assert_eq!(brake.wait("alice", t(i as i64)), None);
            brake.failed("alice", t(i as i64));
        }
        // Fifth failure at t=4: wait 1 s.
        assert_eq!(brake.wait("alice", t(4)), Some(Duration::seconds(1)));
        assert_eq!(brake.wait("alice", t(5)), None);
        brake.failed("alice", t(5));
        assert_eq!(brake.wait("alice", t(5)), Some(Duration::seconds(2)));
        assert_eq!(brake.wait("bob", t(5)), None, "other keys are free");
        brake.succeeded("alice");
        assert_eq!(brake.wait("alice", t(5)), None);
    }

    proptest! {
        #[test]
        fn the_wait_never_passes_the_maximum(failures in 0u32..200, gap in 0i64..3) {
            let mut brake = SignInBrake::default();
            let mut now = 0;
            for _ in 0..failures {
                brake.failed("k", t(now));
                now += gap;
            }
            if let Some(wait) = brake.wait("k", t(now)) {
                prop_assert!(wait <= Duration::seconds(WAIT_MAX_SECS));
                prop_assert!(failures >= FREE_FAILURES);
            }
        }

        #[test]
        fn any_parsed_user_name_parses_again_to_itself(text in "\\PC{0,80}") {
            if let Ok(user) = UserName::parse(&text) {
                prop_assert_eq!(UserName::parse(user.as_str()), Ok(user.clone()));
            }
        }
    }
}
