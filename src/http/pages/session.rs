//! Sessions of people signed in on the web pages: a random id in an
//! HttpOnly, SameSite=Strict cookie, and on the server the account it
//! stands for, its anti-forgery token, and when it began and was last used.
//!
//! Sessions live in the server's memory: a restart signs everyone out,
//! which costs a sign-in and keeps no secret on disk. The account is looked
//! up again on every request, so a disabled account or a changed role
//! takes effect at once.

use crate::domain::account::UserName;
use crate::domain::hash::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "coffre_session";

/// The cookie that carries the sign-in form's anti-forgery token, before
/// any session exists.
pub const FORM_COOKIE: &str = "coffre_formulaire";

/// A session unused this long ends: a desk left unattended.
pub const IDLE: Duration = Duration::from_secs(30 * 60);

/// A session ends this long after sign-in however busy: a working day.
pub const ABSOLUTE: Duration = Duration::from_secs(10 * 60 * 60);

/// More sessions than this and the oldest idle ones are dropped first.
const MAX_SESSIONS: usize = 50_000;

/// A signed-in person's session.
#[derive(Debug, Clone)]
pub struct Session {
    /// Whose.
    pub user: UserName,
    /// The token every form of the session carries.
    pub csrf: String,
    began: Instant,
    last_used: Instant,
}

/// 256 random bits, in hex.
pub fn random_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Every session of this process, by the hash of its id (so that the map
/// itself holds nothing a cookie could be made from).
#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<Sha256, Session>>,
}

impl Sessions {
    /// Opens a session for `user`; returns its id, for the cookie.
    pub fn open(&self, user: UserName) -> Result<String, getrandom::Error> {
        let id = random_token()?;
        let now = Instant::now();
        let session = Session {
            user,
            csrf: random_token()?,
            began: now,
            last_used: now,
        };
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        if by_id.len() >= MAX_SESSIONS {
            by_id.retain(|_, s| live(s, now));
        }
        if by_id.len() >= MAX_SESSIONS {
            let oldest = by_id.iter().min_by_key(|(_, s)| s.last_used).map(|(k, _)| *k);
            if let Some(key) = oldest {
                by_id.remove(&key);
            }
        }
        by_id.insert(Sha256::of(id.as_bytes()), session);
        Ok(id)
    }

    /// The live session with this id, marked as used now; an ended one is
    /// dropped.
    pub fn touch(&self, id: &str) -> Option<Session> {
        let key = Sha256::of(id.as_bytes());
        let now = Instant::now();
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        match by_id.get_mut(&key) {
            Some(session) if live(session, now) => {
                session.last_used = now;
                Some(session.clone())
            }
            Some(_) => {
                by_id.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Ends a session (sign-out).
    pub fn close(&self, id: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&Sha256::of(id.as_bytes()));
    }
}

fn live(session: &Session, now: Instant) -> bool {
    now.duration_since(session.last_used) < IDLE && now.duration_since(session.began) < ABSOLUTE
}

/// Compares two tokens in time that does not depend on where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_until_closed() {
        let sessions = Sessions::default();
        let alice = UserName::parse("alice").expect("user");
        let id = sessions.open(alice.clone()).expect("open");
        let found = sessions.touch(&id).expect("live");
        assert_eq!(found.user, alice);
        assert_eq!(found.csrf.len(), 64);
        assert!(sessions.touch("forged").is_none());
        sessions.close(&id);
        assert!(sessions.touch(&id).is_none());
    }

    #[test]
    fn sessions_end_when_idle_or_too_old() {
        let now = Instant::now();
        let session = |began: Duration, used: Duration| Session {
            user: UserName::parse("bob").expect("user"),
            csrf: String::new(),
            began: now.checked_sub(began).unwrap_or(now),
            last_used: now.checked_sub(used).unwrap_or(now),
        };
        assert!(live(&session(Duration::from_secs(60), Duration::ZERO), now));
        assert!(!live(&session(Duration::from_secs(60 * 60), IDLE), now));
        assert!(!live(&session(ABSOLUTE, Duration::ZERO), now));
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
    }
}
