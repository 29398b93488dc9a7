//! Background work started by a request and followed by polling: for now,
//! integrity checks (`POST /audit/verify`). Each job runs on its own thread,
//! never on a server worker, and keeps its progress and result in memory
//! (the result is also journaled by the check itself).

use crate::archive::{Actor, Archive, Progress};
use crate::domain::integrity::IntegrityReport;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// How many finished jobs are remembered; older ones are forgotten.
const JOBS_KEPT: usize = 100;

/// A job's state.
#[derive(Debug, Clone)]
pub enum JobState {
    /// Still running.
    Running,
    /// Finished with a report.
    Done(IntegrityReport),
    /// Stopped by an error.
    Failed(String),
}

/// What a job has done so far.
#[derive(Debug, Default)]
pub struct JobProgress {
    phase: Mutex<String>,
    total: AtomicU64,
    done: AtomicU64,
}

impl JobProgress {
    /// Phase name, units done, units in the phase (0 if unknown).
    pub fn snapshot(&self) -> (String, u64, u64) {
        let phase = self.phase.lock().unwrap_or_else(|p| p.into_inner()).clone();
        (
            phase,
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        )
    }
}

impl Progress for JobProgress {
    fn begin(&self, phase: &str, total: u64) {
        *self.phase.lock().unwrap_or_else(|p| p.into_inner()) = phase.to_owned();
        self.total.store(total, Ordering::Relaxed);
        self.done.store(0, Ordering::Relaxed);
    }

    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
}

/// A job as seen from outside.
#[derive(Debug, Clone)]
pub struct JobView {
    /// Its id.
    pub id: u64,
    /// Its state.
    pub state: JobState,
    /// Its progress.
    pub progress: Arc<JobProgress>,
}

struct Job {
    state: JobState,
    progress: Arc<JobProgress>,
}

/// The integrity-check jobs of this process.
#[derive(Default)]
pub struct VerifyJobs {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Job>>,
}

impl VerifyJobs {
    /// Starts a check on its own thread; returns its id, and whether it
    /// is new. While one runs, asking again answers that one: a whole
    /// check reads every byte, and two at once would only halve each
    /// other's speed.
    pub fn start(self: &Arc<Self>, archive: Arc<Archive>, actor: Actor) -> std::io::Result<(u64, bool)> {
        let progress = Arc::new(JobProgress::default());
        let id = {
            let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(running) = jobs
                .iter()
                .filter(|(_, j)| matches!(j.state, JobState::Running))
                .map(|(id, _)| *id)
                .min()
            {
                return Ok((running, false));
            }
            let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
            if jobs.len() >= JOBS_KEPT
                && let Some(oldest) = jobs
                    .iter()
                    .filter(|(_, j)| !matches!(j.state, JobState::Running))
                    .map(|(id, _)| *id)
                    .min()
            {
                jobs.remove(&oldest);
            }
            jobs.insert(
                id,
                Job {
                    state: JobState::Running,
                    progress: Arc::clone(&progress),
                },
            );
            id
        };
        let this = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("verify-{id}"))
            .spawn(move || {
                let state = match archive.verify(&actor, &*progress) {
                    Ok(report) => JobState::Done(report),
                    Err(e) => {
                        tracing::error!(job = id, error = %e, "integrity check failed to run");
                        JobState::Failed(e.to_string())
                    }
                };
                if let Some(job) = this.jobs.lock().unwrap_or_else(|p| p.into_inner()).get_mut(&id) {
                    job.state = state;
                }
            })?;
        Ok((id, true))
    }

    /// A job by id.
    pub fn get(&self, id: u64) -> Option<JobView> {
        self.jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .map(|job| JobView {
                id,
                state: job.state.clone(),
                progress: Arc::clone(&job.progress),
            })
    }
}

/// How long the indexer waits when it is up to date: the delay before a new
/// deposit becomes searchable, at the cost of a cheap check.
const INDEX_IDLE: std::time::Duration = std::time::Duration::from_millis(100);
/// Events applied per index commit while catching up.
const INDEX_BATCH: usize = 1000;
/// How often, at most, the indexer takes the events that came while it
/// was indexing fewer than a batch: each commit makes a segment, so under a
/// stream of deposits one commit every third of a second keeps segments few
/// and their merges cheap. The time spent indexing counts: a deposit waits
/// for the next round to start, then for that round's commit, so under
/// load it is searchable within two rounds.
const INDEX_GATHER: std::time::Duration = std::time::Duration::from_millis(300);

/// Keeps the full-text index up with the journal, on its own thread, until
/// `stop` is set. It indexes and nothing else: what waits on an index round
/// (reading invoices, see [`spawn_reader`]) is done elsewhere, so that a
/// backlog of it never delays a new deposit's searchability.
pub fn spawn_indexer(
    archive: Arc<Archive>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("indexer".into()).spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let round = std::time::Instant::now();
            match archive.index_pending(INDEX_BATCH) {
                Ok(0) => std::thread::sleep(INDEX_IDLE),
                Ok(n) if n < INDEX_BATCH => {
                    tracing::debug!(events = n, took = ?round.elapsed(), "index caught up");
                    std::thread::sleep(INDEX_GATHER.saturating_sub(round.elapsed()));
                }
                Ok(n) => tracing::debug!(events = n, took = ?round.elapsed(), "index catching up"),
                Err(e) => {
                    tracing::error!(error = %e, "indexing failed; retrying in a second");
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
    })
}

/// How long the reader waits when nothing indexed is left to read.
const READ_IDLE: std::time::Duration = std::time::Duration::from_millis(100);

/// Reads as invoices the records the indexer made searchable (the LAD: see
/// `Archive::read_pending`), on its own thread, until `stop` is set. A
/// reading journals an event and may wait on a record's lock; thousands
/// left unread at a start (a batch deposited just before a stop) take
/// minutes, during which the indexer goes on with new deposits.
pub fn spawn_reader(
    archive: Arc<Archive>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("reader".into()).spawn(move || {
        // Invoices indexed before a stop and not read yet are read first.
        if let Err(e) = archive.note_unread_invoices() {
            tracing::error!(error = %e, "listing the invoices not read yet failed");
        }
        while !stop.load(Ordering::Relaxed) {
            // Then, each time, what was indexed since (by the indexer or by
            // a use case that brought the index up).
            match archive.read_pending() {
                Ok(0) => std::thread::sleep(READ_IDLE),
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading invoices failed; retrying in a second");
                    std::thread::sleep(std::time::Duration::from_secs(1));
                }
            }
        }
    })
}

/// How often the indicators' ledger is brought up to the journal.
const LEDGER_EVERY: std::time::Duration = std::time::Duration::from_secs(2);
/// Events folded at a time: a stop waits for one such step at most.
const LEDGER_STEP: u64 = 20_000;

/// Keeps the indicators' ledger up with the journal on its own thread,
/// until `stop` is set: the whole journal once at the start, then what came
/// since every `LEDGER_EVERY`, so that no dashboard and no `/metrics`
/// scrape waits for a long fold (at a million records, the first takes
/// half a minute).
pub fn spawn_ledger(
    archive: Arc<Archive>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("indicators".into()).spawn(move || {
        // The first fold must not slow the searches and deposits of the
        // server's first seconds: it yields the cores to them.
        yield_to_requests();
        while !stop.load(Ordering::Relaxed) {
            let round = std::time::Instant::now();
            match archive.follow_indicators(LEDGER_STEP) {
                Ok(0) => {}
                Ok(LEDGER_STEP) => continue,
                Ok(n) => tracing::debug!(events = n, took = ?round.elapsed(), "indicators caught up"),
                Err(e) => tracing::error!(error = %e, "bringing the indicators up to the journal failed"),
            }
            // Slept in short steps, so that a stop is not held back.
            let until = round + LEDGER_EVERY;
            while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < until {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    })
}

/// Lowers the calling thread's priority (nice 10): background work that
/// can wait takes the cores only when requests leave them. On Linux a
/// thread has a nice value of its own; elsewhere, or if refused, nothing
/// changes.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid and setpriority take and return plain integers;
        // PRIO_PROCESS with a thread id names that thread alone on Linux.
        let refused = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 10)
        };
        if refused != 0 {
            tracing::debug!("the indicators' thread keeps its priority");
        }
    }
}

/// How often the sealer looks at the journal.
const SEAL_POLL: std::time::Duration = std::time::Duration::from_millis(500);

/// Seals the journal on its own thread whenever `schedule` says a seal is
/// due, and once more when `stop` is set if anything happened since.
pub fn spawn_sealer(
    archive: Arc<Archive>,
    schedule: crate::config::SealSchedule,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("sealer".into()).spawn(move || {
        let started = chrono::Utc::now();
        loop {
            let stopping = stop.load(Ordering::Relaxed);
            // A read-only archive (its journal damaged) seals nothing.
            if archive.read_only().is_some() {
                if stopping {
                    return;
                }
                std::thread::sleep(SEAL_POLL);
                continue;
            }
            let head = archive.journal_head();
            let (sealed, sealed_at) = match archive.latest_seal() {
                Ok(Some(seal)) => (seal.seq, seal.sealed_at),
                Ok(None) => (0, started),
                Err(e) => {
                    tracing::error!(error = %e, "reading the latest seal failed");
                    (head, chrono::Utc::now())
                }
            };
            let since = head.saturating_sub(sealed);
            let age = (chrono::Utc::now() - sealed_at).to_std().unwrap_or_default();
            if schedule.due(since, age, stopping)
                && let Err(e) = archive.seal(&Actor::system())
            {
                tracing::error!(error = %e, "sealing the journal failed");
            }
            if stopping {
                return;
            }
            std::thread::sleep(SEAL_POLL);
        }
    })
}

/// Runs the fixity job on its own thread until `stop` is set: a run when
/// the schedule (or an auditor) says so, at the schedule's rate.
pub fn spawn_fixity(
    archive: Arc<Archive>,
    schedule: crate::config::FixitySchedule,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("fixity".into()).spawn(move || {
        if archive.read_only().is_some() {
            tracing::warn!("the archive is read-only: the fixity job waits for its journal to be repaired");
            return;
        }
        while !stop.load(Ordering::Relaxed) {
            if let Err(e) = archive.fixity_work(&schedule, &stop) {
                tracing::error!(error = %e, "the fixity job failed; trying again in a minute");
                for _ in 0..600 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    })
}

/// How often the mirror looks at the journal.
const MIRROR_POLL: std::time::Duration = std::time::Duration::from_millis(200);
/// How often the mirror tries to write the contents owed to copy folders.
const OWED_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Runs a follower's reading of its copy on its own thread until `stop`
/// is set: every `FOLLOW_POLL`, the events the copy's journal gained.
pub fn spawn_follower(
    archive: Arc<Archive>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("follower".into()).spawn(move || {
        if !archive.is_follower() {
            return;
        }
        while !stop.load(Ordering::Relaxed) {
            match archive.follow_once() {
                Ok(0) | Err(_) => std::thread::sleep(FOLLOW_POLL),
                Ok(_) => {}
            }
        }
    })
}

/// How often a follower reads its copy's journal when it is up to date.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Keeps the journal, keys and marker on every copy folder, on its own
/// thread, until `stop` is set (then once more), after giving the copy
/// folders the contents they lack. Does nothing without copy folders.
pub fn spawn_mirror(
    archive: Arc<Archive>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new().name("mirror".into()).spawn(move || {
        if archive.copy_status().is_empty() {
            return;
        }
        archive.copy_archive_files(true);
        if let Err(e) = archive.complete_copies() {
            tracing::error!(error = %e, "the copy folders could not be given the contents they lack");
        }
        let mut paid_at = std::time::Instant::now();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(MIRROR_POLL);
            archive.copy_archive_files(false);
            if paid_at.elapsed() >= OWED_EVERY {
                archive.pay_owed_copies();
                paid_at = std::time::Instant::now();
            }
        }
        archive.copy_archive_files(true);
    })
}

#[cfg(test)]
mod tests {
    use super::{spawn_indexer, spawn_reader};
    use crate::archive::Actor;
    use crate::archive::tests_support::{agent, deposit_text, on_disk, options};
    use crate::domain::search::SearchQuery;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_reading_held_up_does_not_hold_up_the_search_of_new_deposits() {
        let (_tmp, _data_dir, archive) = on_disk(options());
        let archive = Arc::new(archive);
        let alice = agent();
        let held = deposit_text(
            &archive,
            &alice,
            "Papeterie Dupont SARL\nFacture n° FA-2024-0117\nTotal TTC : 1 200,00 EUR",
            Some("FIN-FAC"),
        );
        // Indexed, so noted for the reader; whose reading cannot go on while
        // someone changes the record (its lock held here).
        archive.index_all().expect("indexed");
        let id = archive.record(&alice, &held).expect("record").id;
        let changing = archive.hold_record(&id);
        let stop = Arc::new(AtomicBool::new(false));
        let indexer = spawn_indexer(Arc::clone(&archive), Arc::clone(&stop)).expect("indexer");
        let reader = spawn_reader(Arc::clone(&archive), Arc::clone(&stop)).expect("reader");
        let wait_for = |what: &str, done: &dyn Fn() -> bool| {
            let given = std::time::Instant::now();
            while !done() {
                assert!(
                    given.elapsed() < std::time::Duration::from_secs(60),
                    "{what}: still not after a minute"
                );
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        };

        let minutes = deposit_text(
            &archive,
            &alice,
            "Procès-verbal de la séance sur le ponton de l'étang",
            Some("ADM-DEL"),
        );
        let found = || {
            let results = archive
                .search(&Actor::system(), SearchQuery::for_text("ponton"))
                .expect("searched");
            results.hits.iter().any(|hit| hit.reference.to_string() == minutes)
        };
        wait_for("the new deposit found while a reading waits", &found);
        let read = || archive.record(&alice, &held).expect("record").reading.is_some();
        assert!(!read(), "the reading still waits on the record");
        // What /metrics shows: the index caught up; the invoice in the
        // reader's hands, and the new deposit noted behind it.
        wait_for("the index caught up", &|| archive.backlogs().expect("backlogs").0 == 0);
        assert_eq!(
            archive.backlogs().expect("backlogs").1,
            2,
            "two records wait for the reader"
        );

        drop(changing);
        wait_for("the invoice read once the record is free", &read);
        wait_for("nothing left to read or index", &|| {
            archive.backlogs().expect("backlogs") == (0, 0)
        });
        stop.store(true, Ordering::Relaxed);
        indexer.join().expect("the indexer stops");
        reader.join().expect("the reader stops");
    }
}
