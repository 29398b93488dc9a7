//! The scheduled fixity job: every blob the archive holds or refers to is
//! re-hashed, in digest order, at a bounded rate; a corrupt or missing blob
//! is reported at once (an error in the log, and in the status that
//! `/stats` and `/metrics` read); the run's result is journaled as
//! `fixity.checked`. The run's progress is kept in `fixity.json` (written
//! atomically every second and at each finding), so a run interrupted by a
//! crash or a restart resumes after the last blob it checked, and a pause
//! survives a restart too.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::hash::Sha256;
use crate::domain::integrity::FixityFinding;
use crate::domain::role::Permission;
use crate::store::Fixity;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The scheduled fixity job: a run every `every`, re-hashing at most
/// `rate` bytes a second so that users are not starved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixitySchedule {
    /// Time between the end of a run and the start of the next.
    pub every: std::time::Duration,
    /// Bytes re-hashed per second at most.
    pub rate: u64,
}

impl Default for FixitySchedule {
    fn default() -> Self {
        FixitySchedule {
            every: std::time::Duration::from_secs(7 * 86_400),
            rate: 50_000_000,
        }
    }
}

/// The state file, in the data directory.
const STATE_FILE: &str = "fixity.json";
/// How often progress is written down during a run.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A run under way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixityRun {
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// The last blob it checked (blobs are taken in digest order).
    pub after: Option<Sha256>,
    /// Blobs checked so far.
    pub blobs_checked: u64,
    /// Bytes re-hashed so far.
    pub bytes_checked: u64,
    /// Blobs to check in all (when the run last counted them).
    pub blobs_total: u64,
    /// What it found so far.
    pub findings: Vec<FixityFinding>,
    /// Times it was interrupted and resumed.
    pub resumed: u32,
}

/// A finished run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixityResult {
    /// Its `fixity.checked` event.
    pub seq: u64,
    /// When it began.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Blobs checked.
    pub blobs_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// What it found.
    pub findings: Vec<FixityFinding>,
    /// Times it was interrupted and resumed.
    pub resumed: u32,
}

/// What `fixity.json` holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FixityState {
    /// Paused by an auditor: no run starts or goes on until resumed.
    #[serde(default)]
    pub paused: bool,
    /// A run was asked for now, whatever the schedule says.
    #[serde(default)]
    pub requested: bool,
    /// When the schedule started counting (the first start of the job).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// The run under way.
    #[serde(default)]
    pub run: Option<FixityRun>,
    /// The last finished run.
    #[serde(default)]
    pub last: Option<FixityResult>,
}

/// The fixity job as an auditor sees it.
#[derive(Debug, Clone, Serialize)]
pub struct FixityStatus {
    /// `running`, `paused` or `idle`.
    pub state: &'static str,
    /// The state file's content.
    #[serde(flatten)]
    pub detail: FixityState,
    /// When the next run is due (when idle).
    pub next_due: Option<DateTime<Utc>>,
}

fn state_path(dir: &Path) -> PathBuf {
    dir.join(STATE_FILE)
}

/// Reads the state file (a missing one is a fresh state).
pub(super) fn load_state(dir: &Path) -> Result<FixityState, ArchiveError> {
    match std::fs::read(state_path(dir)) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| ArchiveError::Internal(format!("{}: {e}", state_path(dir).display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FixityState::default()),
        Err(e) => Err(e.into()),
    }
}

/// Writes the state file atomically (temporary file, fsync, rename).
fn save_state(dir: &Path, state: &FixityState) -> Result<(), ArchiveError> {
    let path = state_path(dir);
    let staged = dir.join(format!("{STATE_FILE}.new"));
    let bytes = serde_json::to_vec_pretty(state).map_err(|e| ArchiveError::Internal(e.to_string()))?;
    let mut file = std::fs::File::create(&staged)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&staged, &path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

impl Archive {
    fn fixity_state(&self) -> std::sync::MutexGuard<'_, FixityState> {
        self.fixity.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn change_fixity(&self, change: impl FnOnce(&mut FixityState)) -> Result<FixityState, ArchiveError> {
        let mut state = self.fixity_state();
        change(&mut state);
        save_state(self.data_dir.path(), &state)?;
        Ok(state.clone())
    }

    /// Where the fixity job stands.
    pub fn fixity_status(&self, schedule: &FixitySchedule) -> FixityStatus {
        let state = self.fixity_state().clone();
        let next_due = match (&state.run, &state.last, state.since) {
            (Some(_), _, _) => None,
            (None, Some(last), _) => chrono::Duration::from_std(schedule.every)
                .ok()
                .map(|every| last.finished_at + every),
            (None, None, since) => chrono::Duration::from_std(schedule.every)
                .ok()
                .map(|every| since.unwrap_or_else(|| self.clock.now()) + every),
        };
        FixityStatus {
            state: if state.paused {
                "paused"
            } else if state.run.is_some() {
                "running"
            } else {
                "idle"
            },
            detail: state,
            next_due: if self.fixity_state().requested {
                Some(self.clock.now())
            } else {
                next_due
            },
        }
    }

    /// Pauses the fixity job (a run stops after its current blob).
    pub fn pause_fixity(&self, actor: &Actor) -> Result<FixityState, ArchiveError> {
        actor.require(Permission::Audit, "mettre en pause le contrôle planifié")?;
        tracing::info!(actor = %actor.name, "fixity job paused");
        self.change_fixity(|s| s.paused = true)
    }

    /// Resumes the fixity job where it stopped.
    pub fn resume_fixity(&self, actor: &Actor) -> Result<FixityState, ArchiveError> {
        actor.require(Permission::Audit, "reprendre le contrôle planifié")?;
        tracing::info!(actor = %actor.name, "fixity job resumed");
        self.change_fixity(|s| s.paused = false)
    }

    /// Asks for a run now (unless one is under way).
    pub fn request_fixity(&self, actor: &Actor) -> Result<FixityState, ArchiveError> {
        actor.require(Permission::Audit, "lancer un contrôle des contenus")?;
        self.change_fixity(|s| s.requested = true)
    }

    /// Does the fixity job's work: starts a run when one is due, goes on
    /// with the run under way until it ends, is paused, or `stop` is set.
    /// Returns whether a run finished.
    pub fn fixity_work(&self, schedule: &FixitySchedule, stop: &AtomicBool) -> Result<bool, ArchiveError> {
        if !self.take_up_fixity_run(schedule)? {
            return Ok(false);
        }
        let blobs = self.blobs_in_use()?;
        if !self.check_blobs(schedule, stop, &blobs)? {
            return Ok(false);
        }
        self.finish_fixity_run()
    }

    /// Starts a run when one is due (or asked for), or takes up the run a
    /// previous process left; says whether there is a run to work on.
    fn take_up_fixity_run(&self, schedule: &FixitySchedule) -> Result<bool, ArchiveError> {
        let dir = self.data_dir.path().to_owned();
        let mut state = self.fixity_state();
        if state.since.is_none() {
            state.since = Some(self.clock.now());
            save_state(&dir, &state)?;
        }
        if state.paused {
            return Ok(false);
        }
        if state.run.is_none() {
            let due = match (&state.last, state.since) {
                _ if state.requested => true,
                (Some(last), _) => elapsed_since(last.finished_at, self.clock.now()) >= schedule.every,
                (None, Some(since)) => elapsed_since(since, self.clock.now()) >= schedule.every,
                (None, None) => false,
            };
            if !due {
                return Ok(false);
            }
            state.requested = false;
            state.run = Some(FixityRun {
                started_at: self.clock.now(),
                after: None,
                blobs_checked: 0,
                bytes_checked: 0,
                blobs_total: 0,
                findings: Vec::new(),
                resumed: 0,
            });
            save_state(&dir, &state)?;
            tracing::info!("fixity run started");
        } else if !self.fixity_resumed.swap(true, Ordering::Relaxed) {
            // The first time this process takes up a run: a resumption.
            if let Some(run) = state.run.as_mut() {
                run.resumed += 1;
                tracing::info!(
                    after = ?run.after.map(|s| s.to_string()),
                    checked = run.blobs_checked,
                    "fixity run resumed where it stopped"
                );
            }
            save_state(&dir, &state)?;
        }
        self.fixity_resumed.store(true, Ordering::Relaxed);
        Ok(true)
    }

    /// Re-hashes the blobs after the run's checkpoint at the scheduled
    /// rate, noting progress and findings; says whether it got to the end
    /// (rather than being paused or stopped).
    fn check_blobs(
        &self,
        schedule: &FixitySchedule,
        stop: &AtomicBool,
        blobs: &super::in_use::BlobsInUse,
    ) -> Result<bool, ArchiveError> {
        let dir = self.data_dir.path().to_owned();
        let total = blobs.stored();
        let after = self.fixity_state().run.as_ref().and_then(|r| r.after);

        let mut checkpoint = Instant::now();
        let segment = Instant::now();
        let mut segment_bytes = 0u64;
        blobs.walk(self, after, |blob| {
            let sha = &blob.sha;
            if stop.load(Ordering::Relaxed) || self.fixity_state().paused {
                let state = self.fixity_state().clone();
                save_state(&dir, &state)?;
                return Ok(false);
            }
            let fixity = self.blobs.verify(sha, &mut |n| {
                segment_bytes += n;
                // Bounded rate: never ahead of `rate` bytes a second.
                let due = Duration::from_secs_f64(segment_bytes as f64 / schedule.rate.max(1) as f64);
                let spent = segment.elapsed();
                if due > spent {
                    std::thread::sleep(due - spent);
                }
            })?;
            let (size, finding) = match fixity {
                Fixity::Intact { size } => (size, None),
                Fixity::Corrupt { actual, size } => (size, Some(("corrupt", Some(actual)))),
                Fixity::Missing => (0, Some(("missing", None))),
            };
            // What uses the blob is read only for a finding.
            let finding = match finding {
                Some((problem, actual)) => Some(FixityFinding {
                    blob: *sha,
                    problem: problem.into(),
                    actual,
                    used_by: self.used_by(&blob)?,
                }),
                None => None,
            };
            let mut state = self.fixity_state();
            let Some(run) = state.run.as_mut() else {
                return Ok(false);
            };
            run.after = Some(*sha);
            run.blobs_checked += 1;
            run.bytes_checked += size;
            // The store's blobs when the run (re)started, and any it
            // lacked that a record uses.
            run.blobs_total = total.max(run.blobs_checked);
            let found = finding.is_some();
            let damaged = finding.as_ref().map(|f| {
                let kind = if f.problem == "corrupt" {
                    crate::domain::integrity::DamageKind::Corrupt
                } else {
                    crate::domain::integrity::DamageKind::Missing
                };
                (f.blob, kind)
            });
            if let Some(finding) = finding {
                tracing::error!(
                    blob = %finding.blob,
                    problem = %finding.problem,
                    used_by = ?finding.used_by,
                    "fixity: a blob is {}",
                    finding.problem
                );
                self.fixity_findings.fetch_add(1, Ordering::Relaxed);
                run.findings.push(finding);
            }
            self.fixity_bytes.fetch_add(size, Ordering::Relaxed);
            if found || checkpoint.elapsed() >= CHECKPOINT_EVERY {
                save_state(&dir, &state)?;
                checkpoint = Instant::now();
            }
            drop(state);
            if let Some((blob, kind)) = damaged {
                self.note_damage(&blob, kind, crate::domain::integrity::DamageFinder::Fixity);
            } else {
                // The first store's bytes are good: each copy is checked
                // too, and put back from them if it is not.
                self.check_copies_of(sha);
            }
            Ok(true)
        })
    }

    /// Checks the copies of a blob whose first bytes are good, putting
    /// back and journaling each one found corrupt or missing.
    fn check_copies_of(&self, blob: &Sha256) {
        let put_back = match self.blobs.check_copies(blob, &mut |n| {
            self.fixity_bytes.fetch_add(n, Ordering::Relaxed);
        }) {
            Ok(put_back) => put_back,
            Err(e) => {
                tracing::error!(%blob, error = %e, "fixity: a copy store could not be checked or repaired");
                return;
            }
        };
        for (copy, found) in put_back {
            let problem = match found {
                crate::store::Fixity::Missing => crate::domain::integrity::DamageKind::Missing,
                _ => crate::domain::integrity::DamageKind::Corrupt,
            };
            tracing::warn!(%blob, %copy, ?problem, "fixity: a copy was damaged and has been put back");
            if let Err(e) = self.journal.append(Actor::system().draft(EventBody::CopyRepaired {
                blob: *blob,
                copy,
                problem,
            })) {
                tracing::error!(%blob, error = %e, "cannot journal a copy put back");
            }
        }
    }

    /// Journals the finished run and keeps it as the last result.
    fn finish_fixity_run(&self) -> Result<bool, ArchiveError> {
        let run = match self.fixity_state().run.clone() {
            Some(run) => run,
            None => return Ok(false),
        };
        let event = self.journal.append(Actor::system().draft(EventBody::FixityChecked {
            started_at: run.started_at,
            blobs_checked: run.blobs_checked,
            bytes_checked: run.bytes_checked,
            findings: run.findings.clone(),
            resumed: run.resumed,
        }))?;
        let now = self.clock.now();
        self.change_fixity(|s| {
            s.run = None;
            s.last = Some(FixityResult {
                seq: event.seq,
                started_at: run.started_at,
                finished_at: now,
                blobs_checked: run.blobs_checked,
                bytes_checked: run.bytes_checked,
                findings: run.findings.clone(),
                resumed: run.resumed,
            });
        })?;
        tracing::info!(
            blobs = run.blobs_checked,
            bytes = run.bytes_checked,
            findings = run.findings.len(),
            resumed = run.resumed,
            "fixity run finished"
        );
        Ok(true)
    }

    /// Counters for `/metrics`: findings and bytes re-hashed by this process.
    pub fn fixity_counters(&self) -> (u64, u64) {
        (
            self.fixity_findings.load(Ordering::Relaxed),
            self.fixity_bytes.load(Ordering::Relaxed),
        )
    }
}

/// The bytes a re-hash read, and what it found wrong, if anything.
fn elapsed_since(then: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    (now - then).to_std().unwrap_or_default()
}
