//! Watched folders: a scanner's "scan to folder", a shared drop folder.
//!
//! Each folder is looked at every `poll`. A file is taken once it is
//! complete: its size and modification time unchanged for `settle`, and,
//! where the system can tell (a read lease on Linux), no program holding it
//! open for writing. It is then deposited in the channel's account, with the
//! node its sub-folder names (else the channel's, else the plan's
//! classification), and moved to `done/` (same sub-folder), or, when the
//! archive refuses it, to `failed/` with `<name>.motif.txt` beside it saying
//! why in French. When the archive cannot take it now (a copy store down, a
//! full disk), it stays where it is and is tried again.
//!
//! Nothing is deposited twice: before depositing, the content's digest is
//! looked up, and a file whose content a live record holds already goes to
//! `done/` with a `.motif.txt` naming that record. So a crash between the
//! deposit (acknowledged, durable) and the move leaves the file in the
//! folder, and the next look finds its record and only moves it; a crash
//! before the deposit leaves it to be deposited again. No file is lost:
//! it is never removed, only renamed within the folder.
//!
//! Many files at once are deposited by `workers` threads (8 by default: a
//! deposit waits on the disk more than on the processor, and deposits made
//! together share its flushes) fed through a bounded queue: the folder is
//! read no faster than they deposit.

use super::FolderChannel;
use crate::archive::{Actor, Archive, ArchiveError, Deposit, Staged, Upload};
use crate::domain::hash::Sha256;
use crate::errors::Fault;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// What a channel has done since the server started.
#[derive(Debug, Default)]
pub struct ChannelCounts {
    /// Files (messages) deposited as new records.
    pub deposited: AtomicU64,
    /// Files (messages, attachments) whose content was archived already.
    pub already_archived: AtomicU64,
    /// Files (messages) refused (moved to `failed/`, to the failure folder).
    pub refused: AtomicU64,
    /// Attempts the archive could not take then (tried again).
    pub retried: AtomicU64,
}

/// A folder being watched.
pub struct WatchedFolder {
    /// The channel's name.
    pub name: String,
    /// What it has done.
    pub counts: Arc<ChannelCounts>,
    handle: std::thread::JoinHandle<()>,
}

impl WatchedFolder {
    /// Waits for its threads to end (after `stop` is set).
    pub fn join(self) {
        let _ = self.handle.join();
    }
}

/// What each channel has done, by its journal name (`dossier:<name>`,
/// `messagerie:<name>`), for the metrics.
#[derive(Default)]
pub struct CaptureCounts(pub Vec<(String, Arc<ChannelCounts>)>);

/// Files a worker deposits together at most.
const BATCH: usize = 16;

/// A file found complete, to be deposited.
struct Ready {
    /// Where it is.
    path: PathBuf,
    /// Its path under the watched folder (kept under `done/` or `failed/`).
    relative: PathBuf,
    /// The node its sub-folder names.
    node: Option<String>,
}

/// What became of a file.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Deposited: the new record's reference.
    Deposited(String),
    /// Its content is archived already, under this reference.
    AlreadyArchived(String),
    /// Refused, with the reason.
    Refused(String),
    /// Not taken now; tried again later.
    Retry(String),
    /// Gone before it could be read (moved by someone else).
    Gone,
}

/// Starts watching each folder on its own threads until `stop` is set.
/// Refuses to start when a depositor account is unknown or disabled, or a
/// folder cannot be made ready (`done/`, `failed/`).
pub fn spawn(
    archive: Arc<Archive>,
    channels: Vec<FolderChannel>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<WatchedFolder>, String> {
    let mut started = Vec::new();
    if archive.is_follower() && !channels.is_empty() {
        tracing::warn!("a replica deposits nothing: the watched folders are left to the primary server");
        return Ok(started);
    }
    for channel in channels {
        let actor = super::depositor(&archive, "folders", &channel.name, &channel.defaults.depositor)?;
        for place in [channel.path.join("done"), channel.path.join("failed")] {
            std::fs::create_dir_all(&place)
                .map_err(|e| format!("capture: folders {}: {}: {e}", channel.name, place.display()))?;
        }
        let counts = Arc::new(ChannelCounts::default());
        let watch = Watch {
            archive: Arc::clone(&archive),
            channel: channel.clone(),
            actor,
            counts: Arc::clone(&counts),
            in_flight: InFlight::default(),
        };
        let stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(format!("folder-{}", channel.name))
            .spawn(move || watch.run(&stop))
            .map_err(|e| format!("capture: folders {}: {e}", channel.name))?;
        tracing::info!(channel = %channel.name, folder = %channel.path.display(), "watching a folder");
        started.push(WatchedFolder {
            name: channel.name,
            counts,
            handle,
        });
    }
    Ok(started)
}

/// One watched folder.
struct Watch {
    archive: Arc<Archive>,
    channel: FolderChannel,
    actor: Actor,
    counts: Arc<ChannelCounts>,
    /// The contents being deposited by a worker: another worker with the
    /// same content waits, then finds it archived (two files alike
    /// dropped at once make one record).
    in_flight: InFlight,
}

/// Contents claimed by the worker depositing them.
#[derive(Default)]
struct InFlight {
    held: Mutex<HashSet<Sha256>>,
    freed: std::sync::Condvar,
}

impl InFlight {
    /// Claims `sha256` unless another worker holds it.
    fn try_claim(&self, sha256: Sha256) -> Option<Claim<'_>> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        held.insert(sha256).then(|| Claim(self, sha256))
    }

    /// Claims `sha256`, waiting for the worker that holds it.
    fn claim(&self, sha256: Sha256) -> Claim<'_> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        while !held.insert(sha256) {
            held = self.freed.wait(held).unwrap_or_else(|p| p.into_inner());
        }
        Claim(self, sha256)
    }
}

/// A content claimed, freed when dropped.
struct Claim<'a>(&'a InFlight, Sha256);

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0.held.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.1);
        self.0.freed.notify_all();
    }
}

impl Watch {
    /// Looks at the folder until `stop`, feeding the workers.
    fn run(self, stop: &AtomicBool) {
        let workers = self.channel.workers;
        // Room for a batch per worker: a worker takes what waits, up to a
        // batch, so that the files deposit together.
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Ready>(workers * BATCH);
        let receiver = Arc::new(Mutex::new(receiver));
        let busy: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        let this = Arc::new(self);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                let receiver = Arc::clone(&receiver);
                let busy = Arc::clone(&busy);
                let this = Arc::clone(&this);
                scope.spawn(move || {
                    loop {
                        let batch = {
                            let receiver = receiver.lock().unwrap_or_else(|p| p.into_inner());
                            let Ok(first) = receiver.recv() else { return };
                            let mut batch = vec![first];
                            while batch.len() < BATCH {
                                match receiver.try_recv() {
                                    Ok(ready) => batch.push(ready),
                                    Err(_) => break,
                                }
                            }
                            batch
                        };
                        let outcomes = this.take_all(&batch);
                        for (ready, outcome) in batch.iter().zip(outcomes) {
                            tracing::info!(channel = %this.channel.name, file = %ready.relative.display(), ?outcome, "captured");
                            busy.lock().unwrap_or_else(|p| p.into_inner()).remove(&ready.path);
                        }
                    }
                });
            }
            // When each file was last seen to change.
            let mut seen: HashMap<PathBuf, (u64, Option<SystemTime>, Instant)> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                let mut present = HashSet::new();
                for (path, relative, node) in this.files() {
                    present.insert(path.clone());
                    let Ok(meta) = std::fs::metadata(&path) else { continue };
                    let state = (meta.len(), meta.modified().ok());
                    let now = Instant::now();
                    let stable_since = match seen.get(&path) {
                        Some(&(len, modified, since)) if (len, modified) == state => since,
                        _ => {
                            seen.insert(path.clone(), (state.0, state.1, now));
                            continue;
                        }
                    };
                    if now.duration_since(stable_since) < this.channel.settle
                        || busy.lock().unwrap_or_else(|p| p.into_inner()).contains(&path)
                        || open_for_writing(&path)
                    {
                        continue;
                    }
                    busy.lock().unwrap_or_else(|p| p.into_inner()).insert(path.clone());
                    // Blocks while every worker is busy: back-pressure.
                    if sender.send(Ready { path, relative, node }).is_err() {
                        return;
                    }
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                seen.retain(|p, _| present.contains(p));
                let mut waited = Duration::ZERO;
                while waited < this.channel.poll && !stop.load(Ordering::Relaxed) {
                    let step = Duration::from_millis(50).min(this.channel.poll - waited);
                    std::thread::sleep(step);
                    waited += step;
                }
            }
            drop(sender);
        });
    }

    /// The files waiting in the folder and in its sub-folders (one level):
    /// (path, path under the folder, the node the sub-folder names).
    fn files(&self) -> Vec<(PathBuf, PathBuf, Option<String>)> {
        let mut found = Vec::new();
        let root = &self.channel.path;
        let Ok(entries) = std::fs::read_dir(root) else {
            tracing::warn!(channel = %self.channel.name, folder = %root.display(), "the watched folder cannot be read");
            return found;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if skipped(&name) {
                continue;
            }
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_file() {
                found.push((entry.path(), PathBuf::from(&name), None));
            } else if kind.is_dir() && !super::RESERVED.contains(&name.as_str()) {
                let node = self.channel.subfolders.get(&name).cloned();
                let Ok(inner) = std::fs::read_dir(entry.path()) else {
                    continue;
                };
                for file in inner.flatten() {
                    let file_name = file.file_name().to_string_lossy().into_owned();
                    if !skipped(&file_name) && file.file_type().is_ok_and(|t| t.is_file()) {
                        found.push((file.path(), Path::new(&name).join(&file_name), node.clone()));
                    }
                }
            }
        }
        found
    }

    /// Deposits files found ready and puts each where its outcome says:
    /// plain files together (one group commit, one journal commit),
    /// accounting flows and zips each alone.
    fn take_all(&self, batch: &[Ready]) -> Vec<Outcome> {
        let alone = |ready: &Ready| {
            self.channel.pes
                || self.channel.cdv
                || (self.channel.unpack_zip && ready.path.extension().is_some_and(|e| e.eq_ignore_ascii_case("zip")))
        };
        let mut outcomes: Vec<Option<Outcome>> = batch.iter().map(|_| None).collect();
        let mut together = Vec::new();
        for (i, ready) in batch.iter().enumerate() {
            if alone(ready) {
                let outcome = if self.channel.pes || self.channel.cdv {
                    self.capture_flow(ready)
                } else {
                    self.deposit_batch(ready)
                };
                outcomes[i] = Some(outcome);
            } else {
                together.push(i);
            }
        }
        let files: Vec<&Ready> = together.iter().map(|&i| &batch[i]).collect();
        for (i, outcome) in together.into_iter().zip(self.deposit_together(&files)) {
            outcomes[i] = Some(outcome);
        }
        batch
            .iter()
            .zip(outcomes)
            .map(|(ready, outcome)| self.settle(ready, outcome.unwrap_or(Outcome::Gone)))
            .collect()
    }

    /// Counts what became of a file and puts it where its outcome says.
    fn settle(&self, ready: &Ready, outcome: Outcome) -> Outcome {
        let (place, reason) = match &outcome {
            Outcome::Deposited(_) => {
                self.counts.deposited.fetch_add(1, Ordering::Relaxed);
                ("done", None)
            }
            Outcome::AlreadyArchived(reference) => {
                self.counts.already_archived.fetch_add(1, Ordering::Relaxed);
                (
                    "done",
                    Some(format!(
                        "Non déposé : ce contenu est déjà archivé sous la référence {reference}.\n"
                    )),
                )
            }
            Outcome::Refused(why) => {
                self.counts.refused.fetch_add(1, Ordering::Relaxed);
                ("failed", Some(format!("Refusé par coffre : {why}\n")))
            }
            Outcome::Retry(why) => {
                self.counts.retried.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = %self.channel.name, file = %ready.relative.display(), reason = %why, "not taken now; tried again later");
                return outcome;
            }
            Outcome::Gone => return outcome,
        };
        if let Err(e) = self.put_away(ready, place, reason.as_deref()) {
            tracing::error!(channel = %self.channel.name, file = %ready.relative.display(), error = %e, "the file could not be moved; it will be looked at again");
        }
        outcome
    }

    /// Deposits plain files together, but for those whose content a live
    /// record holds already, and those whose content another file (of this
    /// batch or another worker's) is depositing, which go alone after the
    /// others (and find the first's record).
    fn deposit_together(&self, files: &[&Ready]) -> Vec<Outcome> {
        let mut outcomes: Vec<Option<Outcome>> = files.iter().map(|_| None).collect();
        let mut items = Vec::new();
        let mut placed = Vec::new();
        let mut after = Vec::new();
        let mut claims = Vec::new();
        for (i, ready) in files.iter().enumerate() {
            let staged =
                match open(ready).and_then(|mut file| self.archive.stage(&mut file).map_err(|e| self.failure(e))) {
                    Ok(staged) => staged,
                    Err(outcome) => {
                        outcomes[i] = Some(outcome);
                        continue;
                    }
                };
            let filename = ready.path.file_name().map(|n| n.to_string_lossy().into_owned());
            match self.in_flight.try_claim(staged.sha256()) {
                Some(claim) => claims.push(claim),
                None => {
                    after.push((i, staged, filename));
                    continue;
                }
            }
            match self.archive.live_record_holding(&staged.sha256()) {
                Ok(Some(reference)) => outcomes[i] = Some(Outcome::AlreadyArchived(reference.to_string())),
                Ok(None) => {
                    items.push((self.deposit_for(ready.node.clone()), Upload { staged, filename }));
                    placed.push(i);
                }
                Err(e) => outcomes[i] = Some(self.failure(e)),
            }
        }
        let journal_name = self.channel.journal_name();
        let deposited = self.archive.ingest_all(&self.actor, items, Some(&journal_name));
        for (i, deposited) in placed.into_iter().zip(deposited) {
            outcomes[i] = Some(match deposited {
                Ok(deposited) => Outcome::Deposited(deposited.record.reference.to_string()),
                Err(e) => self.failure(e),
            });
        }
        drop(claims);
        for (i, staged, filename) in after {
            outcomes[i] = Some(self.deposit_staged(staged, filename, files[i].node.clone()));
        }
        outcomes.into_iter().map(|o| o.unwrap_or(Outcome::Gone)).collect()
    }

    /// What the channel deposits a file as, in `node` or its default.
    fn deposit_for(&self, node: Option<String>) -> Deposit {
        Deposit {
            node: node.or_else(|| self.channel.defaults.node.clone()),
            service: self.channel.defaults.service.clone(),
            document_type: self.channel.defaults.document_type.clone(),
            ..Deposit::default()
        }
    }

    /// Archives an accounting flow and the records it splits into, or a
    /// lifecycle message and the moves it makes: done when it is (or when
    /// it was archived already).
    fn capture_flow(&self, ready: &Ready) -> Outcome {
        let mut file = match open(ready) {
            Ok(file) => file,
            Err(outcome) => return outcome,
        };
        let mut bytes = Vec::new();
        let limit = self.archive.max_upload().min(crate::archive::flows::FLOW_MAX);
        if let Err(e) = std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, limit + 1), &mut bytes) {
            return Outcome::Retry(e.to_string());
        }
        let filename = ready.path.file_name().map(|n| n.to_string_lossy().into_owned());
        if self.channel.cdv {
            return match self.archive.capture_lifecycle(
                &self.actor,
                Some(&self.channel.journal_name()),
                &bytes,
                filename,
            ) {
                Ok(captured) if captured.already_archived => Outcome::AlreadyArchived(captured.message.to_string()),
                Ok(captured) => Outcome::Deposited(format!(
                    "{} ({} statut(s), {} facture(s) avancée(s))",
                    captured.message,
                    captured.statuses.len(),
                    captured.statuses.iter().map(|s| s.moved.len()).sum::<usize>()
                )),
                Err(e) => self.failure(e),
            };
        }
        match self
            .archive
            .capture_pes(&self.actor, Some(&self.channel.journal_name()), &bytes, filename)
        {
            Ok(captured) => {
                let flow = captured
                    .parts
                    .first()
                    .map(|p| p.reference.to_string())
                    .unwrap_or_default();
                if captured.parts.iter().all(|p| p.already_archived) {
                    Outcome::AlreadyArchived(flow)
                } else {
                    Outcome::Deposited(format!("{flow} ({} documents)", captured.parts.len()))
                }
            }
            Err(e) => self.failure(e),
        }
    }

    /// Deposits each file of a zip (a batch of e-invoices): the zip's
    /// outcome is deposited when each file is deposited or archived
    /// already, refused (with each refusal said) when any is refused.
    /// Files already archived are skipped, so a batch dropped again after
    /// a crash or a correction deposits only what is missing.
    fn deposit_batch(&self, ready: &Ready) -> Outcome {
        let file = match open(ready) {
            Ok(file) => file,
            Err(outcome) => return outcome,
        };
        let mut zip = match zip::ZipArchive::new(std::io::BufReader::new(file)) {
            Ok(zip) => zip,
            Err(e) => return Outcome::Refused(format!("ce zip ne peut pas être lu ({e})")),
        };
        let (mut deposited, mut refused) = (Vec::new(), Vec::new());
        for i in 0..zip.len() {
            let mut entry = match zip.by_index(i) {
                Ok(entry) => entry,
                Err(e) => {
                    refused.push(format!("fichier n° {} du zip : illisible ({e})", i + 1));
                    continue;
                }
            };
            if entry.is_dir() {
                continue;
            }
            // Its name without the folders it had in the zip.
            let name = entry
                .enclosed_name()
                .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| format!("fichier-{}", i + 1));
            if skipped(&name) {
                continue;
            }
            match self.deposit_one(&mut entry, Some(name.clone()), ready.node.clone()) {
                Outcome::Deposited(reference) => deposited.push(format!("{name} : {reference}")),
                Outcome::AlreadyArchived(reference) => {
                    deposited.push(format!("{name} : déjà archivé sous {reference}"))
                }
                Outcome::Refused(why) => refused.push(format!("{name} : {why}")),
                // The archive cannot take it now: the whole zip is tried
                // again, what went in already being skipped then.
                Outcome::Retry(why) => return Outcome::Retry(why),
                Outcome::Gone => {}
            }
        }
        if refused.is_empty() {
            Outcome::Deposited(format!("{} fichiers du zip", deposited.len()))
        } else {
            Outcome::Refused(format!(
                "{} fichier(s) du zip refusé(s) :\n{}\nDéposés ou déjà archivés :\n{}",
                refused.len(),
                refused.join("\n"),
                if deposited.is_empty() {
                    "aucun".to_owned()
                } else {
                    deposited.join("\n")
                }
            ))
        }
    }

    /// Deposits one content read from `source`, named `filename`, unless a
    /// live record holds it already.
    fn deposit_one(&self, source: &mut dyn std::io::Read, filename: Option<String>, node: Option<String>) -> Outcome {
        match self.archive.stage(source) {
            Ok(staged) => self.deposit_staged(staged, filename, node),
            Err(e) => self.failure(e),
        }
    }

    /// Deposits a staged content, unless a live record holds it already.
    fn deposit_staged(&self, staged: Staged, filename: Option<String>, node: Option<String>) -> Outcome {
        let _claim = self.in_flight.claim(staged.sha256());
        match self.archive.live_record_holding(&staged.sha256()) {
            Ok(Some(reference)) => return Outcome::AlreadyArchived(reference.to_string()),
            Ok(None) => {}
            Err(e) => return self.failure(e),
        }
        let deposit = self.deposit_for(node);
        let upload = Upload { staged, filename };
        match self
            .archive
            .ingest_through(&self.actor, &self.channel.journal_name(), deposit, upload)
        {
            Ok(record) => Outcome::Deposited(record.reference.to_string()),
            Err(e) => self.failure(e),
        }
    }

    /// A refusal (the file is at fault, or the archive's rules) or a
    /// failure to try again (the archive cannot take it now).
    fn failure(&self, e: ArchiveError) -> Outcome {
        match e.code().fault() {
            Fault::Caller | Fault::Conflict => Outcome::Refused(e.to_string()),
            Fault::Archive => Outcome::Retry(e.to_string()),
        }
    }

    /// Moves the file under `place` (`done` or `failed`), keeping its
    /// sub-folder and never over another file, with the reason beside it.
    fn put_away(&self, ready: &Ready, place: &str, reason: Option<&str>) -> std::io::Result<()> {
        let target = free_name(&self.channel.path.join(place).join(&ready.relative));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if let Some(reason) = reason {
            let mut note = target.clone().into_os_string();
            note.push(".motif.txt");
            std::fs::write(PathBuf::from(note), reason)?;
        }
        std::fs::rename(&ready.path, &target)
    }
}

/// Opens a file found ready: gone (moved by someone else), or to be tried
/// again when it cannot be opened now.
fn open(ready: &Ready) -> Result<std::fs::File, Outcome> {
    std::fs::File::open(&ready.path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Outcome::Gone,
        _ => Outcome::Retry(e.to_string()),
    })
}

/// Names that are not documents: hidden and temporary files, the notes
/// coffre writes.
fn skipped(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('~') || name.ends_with(".motif.txt")
}

/// `path`, or `name (2).ext`, `name (3).ext`… if it is taken.
fn free_name(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2..)
        .map(|n| path.with_file_name(format!("{stem} ({n}){ext}")))
        .find(|p| !p.exists())
        .unwrap_or_else(|| path.to_path_buf())
}

/// Whether a program holds the file open for writing, as far as the system
/// can tell: on Linux a read lease is refused while anyone writes it. Where
/// the lease cannot be taken at all (another owner, a network share), the
/// file's stable size and time are all there is to go on.
#[cfg(target_os = "linux")]
fn open_for_writing(path: &Path) -> bool {
    use std::os::fd::AsRawFd;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function owns, with integer
    // arguments only.
    let taken = unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_RDLCK) };
    if taken == 0 {
        // SAFETY: as above; the lease is given back before the file closes.
        unsafe { libc::fcntl(fd, libc::F_SETLEASE, libc::F_UNLCK) };
        return false;
    }
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EAGAIN)
}

#[cfg(not(target_os = "linux"))]
fn open_for_writing(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_open_for_writing_is_seen_and_a_closed_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.pdf");
        let writer = std::fs::File::create(&path).unwrap();
        assert!(open_for_writing(&path), "held open by a writer");
        drop(writer);
        assert!(!open_for_writing(&path), "closed");
    }

    #[test]
    fn a_taken_name_gets_a_number_and_notes_are_not_documents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scan.pdf");
        assert_eq!(free_name(&path), path);
        std::fs::write(&path, b"x").unwrap();
        assert_eq!(free_name(&path), dir.path().join("scan (2).pdf"));
        assert!(skipped("scan.pdf.motif.txt") && skipped(".~lock") && !skipped("scan.pdf"));
    }
}
