//! A follower: a read-only replica that serves reads and search from a copy
//! (a folder, a bucket) that a primary server keeps up to date (`coffre
//! serve --follow PLACE`), so that hundreds of readers spread over
//! machines without touching the primary.
//!
//! At its first start the follower takes the whole archive from the copy
//! (as a restore does, without journaling anything of its own). Then a
//! thread reads the copy's journal as it grows: each event is checked
//! (its hash, its seq after the head, its link to the head's hash), the
//! contents it names are fetched from the copy and hashed, then the event
//! is adopted unchanged into the local journal, whose views (the catalog,
//! the Merkle tree) apply it, and the index follows. Contents an event
//! erases (a disposal, a transfer) are erased here too. The follower
//! writes nothing else: every write answers 503 with the reason, and its
//! lag (events of the copy not yet applied) is in `/stats` and `/metrics`.

use super::mirror::CopyPlace;
use super::stores::CopyAt;
use super::{Archive, ArchiveError};
use crate::domain::event::Event;
use crate::domain::hash::Sha256;
use crate::store::mirror::JournalCursor;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bytes of journal read from the copy at a time.
const READ_AT_ONCE: u64 = 4 * 1024 * 1024;

/// How often the copy's keys folder (password hashes above all) is taken
/// again when no event said a password changed: a password set on the
/// primary reaches the copy's keys one mirror pass after its event, so the
/// event alone cannot be the signal.
const KEYS_EVERY: Duration = Duration::from_secs(2);

/// Why a follower refuses every write.
pub(super) fn reason(place: &CopyPlace, primary: Option<&str>) -> String {
    format!(
        "ce serveur est une réplique en lecture seule qui suit {place} : les dépôts et les modifications se font \
         sur le serveur principal{}",
        primary.map(|url| format!(" ({url})")).unwrap_or_default()
    )
}

/// How a follower stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FollowStatus {
    /// The copy it follows.
    pub from: String,
    /// The last event applied here.
    pub applied_seq: u64,
    /// The last event seen in the copy's journal.
    pub source_seq: u64,
    /// Events of the copy not applied yet.
    pub lag_events: u64,
    /// When the copy was last read.
    pub checked_at: Option<DateTime<Utc>>,
    /// Why the copy could not be followed, when it could not.
    pub error: Option<String>,
}

struct State {
    cursor: JournalCursor,
    source_seq: u64,
    checked_at: Option<DateTime<Utc>>,
    error: Option<String>,
    /// When the copy's keys were last taken.
    keys_taken: Option<Instant>,
}

/// What a follower follows, and where it stands.
pub(super) struct Following {
    place: String,
    copy: CopyAt,
    reason: String,
    primary: Option<String>,
    state: Mutex<State>,
}

impl Following {
    pub(super) fn new(copy: CopyAt, reason: String, primary: Option<String>, head: u64) -> Self {
        Following {
            place: copy.0.name(),
            copy,
            reason,
            primary,
            state: Mutex::new(State {
                cursor: JournalCursor::at(head + 1),
                source_seq: head,
                checked_at: None,
                error: None,
                keys_taken: None,
            }),
        }
    }

    pub(super) fn reason(&self) -> &str {
        &self.reason
    }

    /// The primary server's address, when the replica was told it.
    pub(super) fn primary(&self) -> Option<&str> {
        self.primary.as_deref()
    }
}

impl Archive {
    /// Applies what the followed copy's journal holds beyond the head;
    /// returns how many events it applied (0: up to date, or not a
    /// follower).
    pub fn follow_once(&self) -> Result<u64, ArchiveError> {
        let Some(following) = &self.following else {
            return Ok(0);
        };
        let mut state = following.state.lock().unwrap_or_else(|p| p.into_inner());
        let outcome = self
            .adopt_from(following, &mut state)
            .and_then(|adopted| self.take_keys(following, &mut state).map(|()| adopted));
        state.checked_at = Some(self.clock.now());
        match &outcome {
            Ok(_) => {
                if state.error.take().is_some() {
                    tracing::info!(from = %following.place, "the followed copy is read again");
                }
            }
            Err(e) => {
                let reason = format!("la copie {} n'a pu être suivie : {e}", following.place);
                if state.error.as_deref() != Some(reason.as_str()) {
                    tracing::error!(from = %following.place, error = %e, "the followed copy could not be followed");
                }
                state.error = Some(reason);
            }
        }
        outcome
    }

    fn adopt_from(&self, following: &Following, state: &mut State) -> Result<u64, ArchiveError> {
        let (copy, source) = &following.copy;
        let mut adopted = 0u64;
        loop {
            let lines = copy.journal_after(&mut state.cursor, READ_AT_ONCE)?;
            if lines.is_empty() {
                return Ok(adopted);
            }
            for line in lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let event = Event::from_line(line).map_err(|e| {
                    ArchiveError::Internal(format!("un événement du journal de la copie ne se vérifie pas : {e}"))
                })?;
                state.source_seq = state.source_seq.max(event.seq);
                if event.seq <= self.journal.head().0 {
                    continue;
                }
                let body = event.body().map_err(|e| ArchiveError::Internal(e.to_string()))?;
                // The contents first: the catalog reads what the event names.
                for blob in body.blobs_named() {
                    self.fetch(source.as_ref(), &blob)?;
                }
                if matches!(body, crate::domain::event::EventBody::AccountPasswordSet { .. }) {
                    // Its hash is in the copy's keys, or soon will be.
                    state.keys_taken = None;
                }
                self.journal.adopt(event)?;
                self.blobs.erase_all(body.blobs_erased())?;
                adopted += 1;
            }
        }
    }

    /// Takes the copy's keys folder again when it is time, so that a
    /// password set or changed on the primary signs in here (and an old
    /// one stops).
    fn take_keys(&self, following: &Following, state: &mut State) -> Result<(), ArchiveError> {
        if state.keys_taken.is_some_and(|at| at.elapsed() < KEYS_EVERY) {
            return Ok(());
        }
        let taken = following.copy.0.take_keys(self.data_dir.path())?;
        state.keys_taken = Some(Instant::now());
        if taken.written > 0 {
            self.credentials.reload()?;
            tracing::info!(from = %following.place, files = taken.written, "keys taken again from the followed copy");
        }
        Ok(())
    }

    /// Stores a content of the copy here unless it is, hashed as it comes.
    fn fetch(&self, source: &dyn crate::store::BlobStore, blob: &Sha256) -> Result<(), ArchiveError> {
        if self.blobs.contains(blob)? {
            return Ok(());
        }
        let (mut reader, _) = source.open(blob)?;
        let staged = self.blobs.stage(&mut reader, u64::MAX)?;
        if staged.sha256() != *blob {
            return Err(ArchiveError::Internal(format!(
                "le contenu {blob} de la copie a pour empreinte {} : il n'est pas pris",
                staged.sha256()
            )));
        }
        staged.commit()?;
        Ok(())
    }

    /// How the follower stands (none: not a follower).
    pub fn follow_status(&self) -> Option<FollowStatus> {
        let following = self.following.as_ref()?;
        let state = following.state.lock().unwrap_or_else(|p| p.into_inner());
        let applied = self.journal.head().0;
        Some(FollowStatus {
            from: following.place.clone(),
            applied_seq: applied,
            source_seq: state.source_seq.max(applied),
            lag_events: state.source_seq.saturating_sub(applied),
            checked_at: state.checked_at,
            error: state.error.clone(),
        })
    }

    /// Whether this archive follows a copy.
    pub fn is_follower(&self) -> bool {
        self.following.is_some()
    }
}
