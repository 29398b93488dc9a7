//! The journal on disk: append-only segment files of canonical JSON lines
//! (`journal/seg-<first seq, 20 digits>.jsonl`), hash-chained, with group
//! commit.
//!
//! One writer thread owns the active segment. Appenders hand it drafts
//! through a channel; it takes every draft waiting, seals them in order,
//! writes them with one `write` and one `fdatasync`, and hands the durable
//! events to a second thread, which tells the observer (the catalog, the
//! Merkle tree) of each, then answers each appender. So concurrent writers
//! share a sync, nobody is answered before the event is durable and in the
//! views, and the next batch is written and flushed while the views take
//! the last one in (the views are the longer part of a deposit's commit).
//!
//! A failure (a write, a view) stops appends until restart. An event a view
//! failed to take in is durable but answered as refused, and so are those
//! written after it before the failure was known (at most one batch): the
//! views take them in at the next start.
//!
//! At open, the last segment is read and checked. A torn last line (no
//! final newline, or trailing zero bytes, as a crash mid-write leaves) is cut
//! off and logged; any other damage refuses the open. Earlier segments are
//! checked whenever they are read (replay, rebuild) and by [`audit_scan`].
//! Segments are never rewritten; a new one starts past [`SEGMENT_MAX`].

use super::blob_fs::sync_dir;
use super::{Journal, JournalError, JournalObserver};
use crate::domain::clock::Clock;
use crate::domain::event::{Event, EventDraft, EventError};
use crate::domain::hash::Sha256;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

/// A segment is closed once it reaches this size, so that start-up (which
/// reads the last segment) stays quick however long the journal grows.
pub const SEGMENT_MAX: u64 = 64 * 1024 * 1024;

/// The most drafts sealed under one sync; bounds the latency of the first.
const MAX_BATCH: usize = 4096;

/// The seq, hash and time of the last durable event.
#[derive(Debug, Clone, Copy)]
struct Head {
    seq: u64,
    hash: Sha256,
    time: DateTime<Utc>,
}

impl Head {
    fn empty() -> Self {
        Head {
            seq: 0,
            hash: Sha256::ZERO,
            time: DateTime::<Utc>::UNIX_EPOCH,
        }
    }
}

/// What recovery did at open.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of a torn final event cut off, if any.
    pub cut_bytes: u64,
    /// The seq of the last whole event.
    pub head_seq: u64,
    /// The journal is damaged at this seq (an event that does not check,
    /// in the segment being written): it is open read-only, its head the
    /// last good event before it, and every append is refused with the
    /// reason.
    pub damaged: Option<(u64, String)>,
}

/// What a request asks of the writer.
enum Work {
    /// Seal a draft after the head.
    Append(Box<EventDraft>),
    /// Take an event another journal sealed, after the head (a follower).
    Adopt(Event),
}

/// Work handed to the writer at once, committed together; the answers
/// come on `reply` in the same order, one for each.
struct Request {
    works: Vec<Work>,
    reply: mpsc::SyncSender<Result<Event, JournalError>>,
}

impl Request {
    /// Refuses every work of the request.
    fn refuse(self, reason: &str) {
        for _ in &self.works {
            let _ = self.reply.send(Err(JournalError::Failed(reason.to_owned())));
        }
    }
}

/// Every this many events of a segment, reading remembers where the next
/// event's line starts, so that reading from a seq (a proof, an export)
/// seeks near it instead of parsing the segment from its start.
const MARK_EVERY: u64 = 128;

/// Where lines start in one segment, as far as it was scanned.
struct SegmentMarks {
    /// (seq, byte offset of its line), in order; the first is the segment's start.
    marks: Vec<(u64, u64)>,
    /// The end of the last whole line scanned.
    scanned_to: u64,
    /// The seq of the line that starts there.
    next_seq: u64,
}

/// The file journal (see the module documentation).
pub struct FileJournal {
    dir: PathBuf,
    /// Seek marks by segment (first seq); filled as reads need them.
    marks: Mutex<std::collections::BTreeMap<u64, SegmentMarks>>,
    head: Arc<Mutex<Head>>,
    syncs: Arc<AtomicU64>,
    sender: Option<mpsc::Sender<Request>>,
    writer: Option<JoinHandle<()>>,
}

fn segment_name(first_seq: u64) -> String {
    format!("seg-{first_seq:020}.jsonl")
}

/// The first seq of the segment named `name`, if it names one.
pub fn segment_first_seq(name: &str) -> Option<u64> {
    name.strip_prefix("seg-")
        .and_then(|n| n.strip_suffix(".jsonl"))
        .and_then(|n| n.parse::<u64>().ok())
}

/// The segments of a journal folder, by first seq.
pub fn segments(dir: &Path) -> io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(first) = segment_first_seq(name) {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// The state of one segment after a check.
struct SegmentScan {
    /// The last whole, valid event.
    last: Option<Head>,
    /// Bytes of whole, valid events.
    good_len: u64,
    /// Bytes after them that a torn write left.
    torn_len: u64,
    /// An event that does not check, after the good ones: its seq and why.
    damage: Option<(u64, String)>,
}

/// Reads a segment, checking each event and its links. A final line without
/// newline, or a tail of zero bytes, is reported as torn, not as damage.
fn scan_segment(path: &Path, first_seq: u64, mut prev: Option<Sha256>) -> Result<SegmentScan, JournalError> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut scan = SegmentScan {
        last: None,
        good_len: 0,
        torn_len: 0,
        damage: None,
    };
    let mut expected = first_seq;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(scan);
        }
        if line.last() != Some(&b'\n') {
            scan.torn_len = n as u64;
            return Ok(scan);
        }
        match check_line(&line[..n - 1], expected, prev) {
            Ok(event) => {
                prev = Some(event.hash);
                expected += 1;
                scan.good_len += n as u64;
                scan.last = Some(Head {
                    seq: event.seq,
                    hash: event.hash,
                    time: event.time,
                });
            }
            Err(corrupt) => {
                let mut rest = Vec::new();
                reader.read_to_end(&mut rest)?;
                if line.iter().chain(rest.iter()).all(|b| *b == 0 || *b == b'\n') {
                    scan.torn_len = (n + rest.len()) as u64;
                    return Ok(scan);
                }
                scan.damage = Some(match corrupt {
                    JournalError::Corrupt { seq, reason } => (seq, reason),
                    other => (expected, other.to_string()),
                });
                return Ok(scan);
            }
        }
    }
}

/// Decodes one line and checks its hash, its seq and its link; damage is
/// `Corrupt` at the seq `expected`.
fn check_line(line: &[u8], expected: u64, prev: Option<Sha256>) -> Result<Event, JournalError> {
    let corrupt = |reason: String| JournalError::Corrupt { seq: expected, reason };
    let event = Event::from_line(line).map_err(|e| corrupt(e.to_string()))?;
    if event.seq != expected {
        return Err(corrupt(format!(
            "le n° {} se trouve là où le n° {expected} était attendu",
            event.seq
        )));
    }
    if let Some(prev) = prev
        && event.prev_hash != prev
    {
        return Err(corrupt(format!(
            "son lien prev_hash {} n'est pas l'empreinte de l'événement précédent, {prev}",
            event.prev_hash
        )));
    }
    Ok(event)
}

impl FileJournal {
    /// Opens (creating if needed) the journal in `dir`, recovering a torn
    /// final event, and starts the writer thread, which tells `observer` of
    /// every event it makes durable.
    pub fn open(
        dir: &Path,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn JournalObserver>,
    ) -> Result<(Self, Recovery), JournalError> {
        Self::open_with(dir, clock, observer, None)
    }

    /// As [`FileJournal::open`], for a follower: every append is refused
    /// with `reason`, and the events of the journal it follows are adopted
    /// ([`Journal::adopt`]).
    pub fn open_following(
        dir: &Path,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn JournalObserver>,
        reason: String,
    ) -> Result<(Self, Recovery), JournalError> {
        Self::open_with(dir, clock, observer, Some(reason))
    }

    fn open_with(
        dir: &Path,
        clock: Arc<dyn Clock>,
        observer: Arc<dyn JournalObserver>,
        following: Option<String>,
    ) -> Result<(Self, Recovery), JournalError> {
        fs::create_dir_all(dir)?;
        let mut segs = segments(dir)?;
        if segs.is_empty() {
            let path = dir.join(segment_name(1));
            File::create_new(&path)?.sync_all()?;
            sync_dir(dir)?;
            segs.push((1, path));
        }
        let mut recovery = Recovery::default();
        let (first_seq, active_path) = segs[segs.len() - 1].clone();
        let scan = scan_segment(&active_path, first_seq, None)?;
        if scan.torn_len > 0 {
            let file = OpenOptions::new().write(true).open(&active_path)?;
            file.set_len(scan.good_len)?;
            file.sync_all()?;
            recovery.cut_bytes = scan.torn_len;
            tracing::warn!(
                segment = %active_path.display(),
                bytes = scan.torn_len,
                kept_through_seq = scan.last.map_or(first_seq.saturating_sub(1), |h| h.seq),
                "journal: cut off a torn final event left by an interrupted write"
            );
        }
        let head = match scan.last {
            Some(head) => head,
            None if segs.len() > 1 => {
                let (prev_first, prev_path) = &segs[segs.len() - 2];
                let prev = scan_segment(prev_path, *prev_first, None)?;
                if let Some((seq, reason)) = prev.damage {
                    return Err(JournalError::Corrupt { seq, reason });
                }
                if prev.torn_len > 0 {
                    return Err(JournalError::Corrupt {
                        seq: prev.last.map_or(*prev_first, |h| h.seq + 1),
                        reason: format!("données tronquées dans le segment clos {}", prev_path.display()),
                    });
                }
                prev.last.unwrap_or_else(Head::empty)
            }
            None => Head::empty(),
        };
        if segs[0].0 != 1 {
            return Err(JournalError::Corrupt {
                seq: 1,
                reason: format!("le premier segment du journal commence au n° {}", segs[0].0),
            });
        }
        recovery.head_seq = head.seq;
        recovery.damaged = scan.damage.clone();
        let failed = scan.damage.map(|(seq, reason)| {
            tracing::error!(
                seq,
                %reason,
                kept_through_seq = head.seq,
                "journal: an event does not check; the archive is read-only until it is repaired"
            );
            format!(
                "l'archive est en lecture seule : le journal est endommagé à l'événement n° {seq} ({reason}) ; \
                 les consultations continuent, les écritures attendent sa réparation (voir `coffre audit verify`)"
            )
        });
        let file = OpenOptions::new().append(true).open(&active_path)?;
        let len = file.metadata()?.len();
        let head = Arc::new(Mutex::new(head));
        let syncs = Arc::new(AtomicU64::new(0));
        let (sender, receiver) = mpsc::channel();
        let failed = Arc::new(Mutex::new(failed));
        let (views, durable) = mpsc::sync_channel(AHEAD);
        let applier = Applier {
            observer,
            failed: Arc::clone(&failed),
        };
        let applier = std::thread::Builder::new()
            .name("journal-views".into())
            .spawn(move || applier.run(durable))?;
        let writer = Writer {
            syncs: Arc::clone(&syncs),
            dir: dir.to_owned(),
            file,
            len,
            head: Arc::clone(&head),
            clock,
            failed,
            following,
        };
        let handle = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer.run(receiver, views, applier))?;
        Ok((
            FileJournal {
                dir: dir.to_owned(),
                marks: Mutex::new(std::collections::BTreeMap::new()),
                head,
                syncs,
                sender: Some(sender),
                writer: Some(handle),
            },
            recovery,
        ))
    }
}

impl FileJournal {
    /// How many times the writer has synced the journal since it opened; with
    /// group commit, fewer than the events appended under concurrency.
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
}

impl Drop for FileJournal {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

fn lock_head(head: &Mutex<Head>) -> Head {
    *head.lock().unwrap_or_else(|p| p.into_inner())
}

impl Journal for FileJournal {
    fn append(&self, draft: EventDraft) -> Result<Event, JournalError> {
        self.ask(Work::Append(Box::new(draft)))
    }

    fn append_all(&self, drafts: Vec<EventDraft>) -> Vec<Result<Event, JournalError>> {
        // Handed to the writer in one request: one commit for all.
        let n = drafts.len();
        if n == 0 {
            return Vec::new();
        }
        let works = drafts.into_iter().map(|draft| Work::Append(Box::new(draft))).collect();
        match self.hand(works) {
            Ok(answers) => (0..n).map(|_| Self::answer(&answers)).collect(),
            Err(e) => (0..n).map(|_| Err(JournalError::Failed(e.to_string()))).collect(),
        }
    }

    fn adopt(&self, event: Event) -> Result<(), JournalError> {
        self.ask(Work::Adopt(event)).map(|_| ())
    }

    fn flushes(&self) -> u64 {
        self.syncs()
    }

    fn head(&self) -> (u64, Sha256) {
        let head = lock_head(&self.head);
        (head.seq, head.hash)
    }

    fn read_from(
        &self,
        seq: u64,
    ) -> Result<Box<dyn Iterator<Item = Result<Event, JournalError>> + Send>, JournalError> {
        let until = lock_head(&self.head).seq;
        let mut reader = read_events(&self.dir, seq, Some(until))?;
        // Start at the mark nearest below `seq` rather than at its
        // segment's first line. Each event read is still checked; the link
        // to the event before the mark is the one not checked here, as at
        // a segment's start (a full read or the audit checks every link).
        if seq > 1
            && let Some((first, path)) = reader.segments.front().cloned()
            && let Some((mark_seq, offset)) = self.mark_before(first, &path, seq)?
            && offset > 0
        {
            let mut file = File::open(&path)?;
            file.seek(std::io::SeekFrom::Start(offset))?;
            reader.segments.pop_front();
            reader.current = Some(BufReader::new(file));
            reader.expected = mark_seq;
        }
        Ok(Box::new(reader))
    }
}

impl FileJournal {
    /// Hands work to the writer and waits for its answer.
    fn ask(&self, work: Work) -> Result<Event, JournalError> {
        Self::answer(&self.hand(vec![work])?)
    }

    /// Hands work to the writer; the answers come on the receiver, in order.
    fn hand(&self, works: Vec<Work>) -> Result<mpsc::Receiver<Result<Event, JournalError>>, JournalError> {
        let (reply, answer) = mpsc::sync_channel(works.len());
        let sender = self
            .sender
            .as_ref()
            .ok_or_else(|| JournalError::Failed("le journal est fermé".into()))?;
        sender
            .send(Request { works, reply })
            .map_err(|_| JournalError::Failed("le journal ne répond plus : redémarrez le serveur".into()))?;
        Ok(answer)
    }

    /// Waits for the writer's next answer.
    fn answer(answer: &mpsc::Receiver<Result<Event, JournalError>>) -> Result<Event, JournalError> {
        answer
            .recv()
            .map_err(|_| JournalError::Failed("le journal ne répond plus : redémarrez le serveur".into()))?
    }

    /// The greatest mark at or below `seq` in the segment starting at
    /// `first`, scanning the segment's new whole lines first if needed.
    fn mark_before(&self, first: u64, path: &Path, seq: u64) -> io::Result<Option<(u64, u64)>> {
        let mut all = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        let segment = all.entry(first).or_insert_with(|| SegmentMarks {
            marks: vec![(first, 0)],
            scanned_to: 0,
            next_seq: first,
        });
        if segment.next_seq <= seq {
            let mut file = File::open(path)?;
            file.seek(std::io::SeekFrom::Start(segment.scanned_to))?;
            let mut reader = BufReader::with_capacity(1 << 20, file);
            let mut offset = segment.scanned_to;
            loop {
                let buf = reader.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                let len = buf.len();
                let mut consumed = 0;
                while let Some(at) = buf[consumed..].iter().position(|b| *b == b'\n') {
                    consumed += at + 1;
                    segment.next_seq += 1;
                    segment.scanned_to = offset + consumed as u64;
                    if segment.next_seq.is_multiple_of(MARK_EVERY) {
                        segment.marks.push((segment.next_seq, segment.scanned_to));
                    }
                }
                // A line not yet whole is scanned again next time.
                offset += len as u64;
                reader.consume(len);
            }
        }
        Ok(segment.marks.iter().rev().find(|(s, _)| *s <= seq).copied())
    }
}

struct Writer {
    syncs: Arc<AtomicU64>,
    dir: PathBuf,
    file: File,
    len: u64,
    head: Arc<Mutex<Head>>,
    clock: Arc<dyn Clock>,
    /// Why appends are refused, once a write or a view failed; shared with
    /// the views' thread.
    failed: Arc<Mutex<Option<String>>>,
    /// A follower's writer: why appends are refused.
    following: Option<String>,
}

/// Events the writer made durable, on their way to the views, and whom to
/// answer for each.
struct Durable {
    events: Vec<Event>,
    /// Each event's Merkle leaf, hashed from the line written.
    leaves: Vec<Sha256>,
    replies: Vec<mpsc::SyncSender<Result<Event, JournalError>>>,
}

/// The thread that applies durable events to the views, in order, and
/// answers their appenders.
struct Applier {
    observer: Arc<dyn JournalObserver>,
    failed: Arc<Mutex<Option<String>>>,
}

/// Batches written ahead of the one the views are taking in: one, so that
/// the writer's flush and the views' work overlap, and a slow view holds
/// the writer back (larger batches) instead of queueing events.
const AHEAD: usize = 1;

fn reason_of(failed: &Mutex<Option<String>>) -> Option<String> {
    failed.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

fn fail_with(failed: &Mutex<Option<String>>, reason: String) {
    failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(reason);
}

impl Applier {
    fn run(self, receiver: mpsc::Receiver<Durable>) {
        while let Ok(durable) = receiver.recv() {
            self.apply(durable);
        }
    }

    fn apply(
        &self,
        Durable {
            events,
            leaves,
            replies,
        }: Durable,
    ) {
        if let Some(reason) = reason_of(&self.failed) {
            // Written before the failure was known: durable, not applied.
            for reply in replies {
                let _ = reply.send(Err(JournalError::Failed(reason.clone())));
            }
            return;
        }
        let (applied, mut failure) = match self.observer.on_durable_with_leaves(&events, &leaves) {
            Ok(()) => (events.len(), None),
            Err(failure) => {
                tracing::error!(seq = failure.seq, reason = %failure.reason, "a view failed to apply a durable event");
                fail_with(
                    &self.failed,
                    format!(
                        "une vue n'a pu appliquer l'événement n° {} ({}) : les écritures attendent un redémarrage du serveur",
                        failure.seq, failure.reason
                    ),
                );
                (failure.applied, Some(failure))
            }
        };
        // The events the views applied are answered; the one that failed
        // says why; those after it were not applied.
        for (i, (event, reply)) in events.into_iter().zip(replies).enumerate() {
            let answer = if i < applied {
                Ok(event)
            } else if let Some(failed) = failure.take() {
                Err(JournalError::ViewFailed {
                    seq: failed.seq,
                    reason: failed.reason,
                })
            } else {
                Err(JournalError::Failed(reason_of(&self.failed).unwrap_or_default()))
            };
            let _ = reply.send(answer);
        }
    }
}

impl Writer {
    /// Commits batches until every sender is gone, handing each to the
    /// views' thread through `views`; then waits for that thread to end.
    fn run(mut self, receiver: mpsc::Receiver<Request>, views: mpsc::SyncSender<Durable>, applier: JoinHandle<()>) {
        while let Ok(first) = receiver.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match receiver.try_recv() {
                    Ok(request) => batch.push(request),
                    Err(_) => break,
                }
            }
            if let Some(durable) = self.commit(batch)
                && let Err(mpsc::SendError(durable)) = views.send(durable)
            {
                let reason =
                    "les vues du journal ne répondent plus : les écritures attendent un redémarrage du serveur";
                tracing::error!(reason, "the journal's views thread is gone");
                fail_with(&self.failed, reason.to_owned());
                for reply in durable.replies {
                    let _ = reply.send(Err(JournalError::Failed(reason.to_owned())));
                }
            }
        }
        drop(views);
        let _ = applier.join();
    }

    /// Seals, writes and flushes a batch; the events made durable, for the
    /// views.
    fn commit(&mut self, batch: Vec<Request>) -> Option<Durable> {
        if let Some(reason) = reason_of(&self.failed) {
            for request in batch {
                request.refuse(&reason);
            }
            return None;
        }
        let mut head = lock_head(&self.head);
        if self.len >= SEGMENT_MAX
            && let Err(e) = self.rotate(head.seq + 1)
        {
            self.fail(batch, format!("un nouveau segment du journal n'a pu être ouvert ({e}) : les écritures attendent un redémarrage du serveur"));
            return None;
        }
        let mut lines = Vec::with_capacity(batch.len() * 512);
        let mut sealed = Vec::with_capacity(batch.len());
        let mut leaves = Vec::with_capacity(batch.len());
        let works = batch
            .into_iter()
            .flat_map(|Request { works, reply }| works.into_iter().map(move |work| (work, reply.clone())));
        for (work, reply) in works {
            let event = match (work, &self.following) {
                (Work::Append(_), Some(reason)) => {
                    let _ = reply.send(Err(JournalError::Failed(reason.clone())));
                    continue;
                }
                (Work::Append(draft), None) => {
                    let time = self.clock.now().max(head.time);
                    Event::seal(*draft, head.seq + 1, time, head.hash)
                }
                (Work::Adopt(_), None) => {
                    let _ = reply.send(Err(JournalError::Failed(
                        "ce journal ne suit aucun autre journal".into(),
                    )));
                    continue;
                }
                (Work::Adopt(event), Some(_)) => {
                    let line = event.to_line();
                    let checked = check_line(line.strip_suffix(b"\n").unwrap_or(&line), head.seq + 1, Some(head.hash));
                    match checked {
                        Ok(event) => event,
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            continue;
                        }
                    }
                }
            };
            head = Head {
                seq: event.seq,
                hash: event.hash,
                time: event.time,
            };
            let line = event.to_line();
            leaves.push(crate::domain::merkle::leaf_hash(
                line.strip_suffix(b"\n").unwrap_or(&line),
            ));
            lines.extend_from_slice(&line);
            sealed.push((event, reply));
        }
        if sealed.is_empty() {
            return None;
        }
        let written = self.file.write_all(&lines).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // What reached the file is unknown: cut back to the last sync and
            // refuse further appends; start-up recovery will check the tail.
            let _ = self.file.set_len(self.len);
            let reason =
                format!("l'écriture du journal a échoué ({e}) : les écritures attendent un redémarrage du serveur");
            tracing::error!(%reason, "journal write failed; appends refused until restart");
            fail_with(&self.failed, reason.clone());
            for (_, reply) in sealed {
                let _ = reply.send(Err(JournalError::Failed(reason.clone())));
            }
            return None;
        }
        self.len += lines.len() as u64;
        self.syncs.fetch_add(1, Ordering::Relaxed);
        *self.head.lock().unwrap_or_else(|p| p.into_inner()) = head;
        let (events, replies) = sealed.into_iter().unzip();
        Some(Durable {
            events,
            leaves,
            replies,
        })
    }

    fn fail(&mut self, batch: Vec<Request>, reason: String) {
        tracing::error!(%reason, "journal failed; appends refused until restart");
        fail_with(&self.failed, reason.clone());
        for request in batch {
            request.refuse(&reason);
        }
    }

    fn rotate(&mut self, first_seq: u64) -> io::Result<()> {
        let path = self.dir.join(segment_name(first_seq));
        let file = OpenOptions::new().append(true).create_new(true).open(&path)?;
        sync_dir(&self.dir)?;
        self.file = file;
        self.len = 0;
        Ok(())
    }
}

/// Reads events `from..=until` of the journal in `dir`, checking every hash
/// and link on the way; the first damage ends the iteration with `Corrupt`.
/// With `until` at `None` it reads to the end of what is written, and a
/// final line still being written by another process ends it quietly.
pub fn read_events(dir: &Path, from: u64, until: Option<u64>) -> Result<EventReader, JournalError> {
    let segs = segments(dir)?;
    let start = segs.iter().rposition(|(first, _)| *first <= from.max(1)).unwrap_or(0);
    Ok(EventReader {
        segments: segs.into_iter().skip(start).collect(),
        current: None,
        expected: 0,
        prev: None,
        from: from.max(1),
        until: until.unwrap_or(u64::MAX),
        open_ended: until.is_none(),
        done: false,
    })
}

/// An iterator over checked journal events (see [`read_events`]).
pub struct EventReader {
    segments: VecDeque<(u64, PathBuf)>,
    current: Option<BufReader<File>>,
    expected: u64,
    prev: Option<Sha256>,
    from: u64,
    until: u64,
    open_ended: bool,
    done: bool,
}

impl EventReader {
    fn next_event(&mut self) -> Result<Option<Event>, JournalError> {
        let mut line = Vec::new();
        loop {
            if self.expected > self.until && self.current.is_some() {
                return Ok(None);
            }
            let Some(reader) = self.current.as_mut() else {
                let Some((first, path)) = self.segments.pop_front() else {
                    if !self.open_ended && self.expected <= self.until {
                        return Err(JournalError::Corrupt {
                            seq: self.expected.max(self.from),
                            reason: "le journal s'arrête avant le dernier événement enregistré".into(),
                        });
                    }
                    return Ok(None);
                };
                if self.expected != 0 && first != self.expected {
                    return Err(JournalError::Corrupt {
                        seq: self.expected,
                        reason: format!("le segment {} commence au n° {first}", path.display()),
                    });
                }
                self.expected = first;
                self.current = Some(BufReader::new(File::open(&path)?));
                continue;
            };
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                self.current = None;
                continue;
            }
            if line.last() != Some(&b'\n') {
                if self.open_ended && self.segments.is_empty() {
                    return Ok(None);
                }
                return Err(JournalError::Corrupt {
                    seq: self.expected,
                    reason: "événement incomplet".into(),
                });
            }
            let event = check_line(&line[..n - 1], self.expected, self.prev)?;
            self.prev = Some(event.hash);
            self.expected += 1;
            if event.seq >= self.from {
                return Ok(Some(event));
            }
        }
    }
}

impl Iterator for EventReader {
    type Item = Result<Event, JournalError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_event() {
            Ok(Some(event)) => Some(Ok(event)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// What an audit scan of a journal folder found.
#[derive(Debug, Default)]
pub struct AuditScan {
    /// Events read (damaged ones included).
    pub events: u64,
    /// The last seq seen.
    pub last_seq: u64,
    /// Each damaged place: the seq, and what is wrong.
    pub failures: Vec<(u64, String)>,
}

/// Reads the whole journal without stopping at damage, for auditors: every
/// damaged event is reported, and every intact one is passed to `visit`.
pub fn audit_scan(dir: &Path, visit: &mut dyn FnMut(&Event)) -> Result<AuditScan, JournalError> {
    let mut scan = AuditScan::default();
    let mut expected = 1u64;
    let mut prev = Some(Sha256::ZERO);
    for (first, path) in segments(dir)? {
        if first != expected {
            scan.failures
                .push((expected, format!("segment {} starts at seq {first}", path.display())));
            expected = first;
            prev = None;
        }
        let mut reader = BufReader::new(File::open(&path)?);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            scan.events += 1;
            let Some(body) = line.strip_suffix(b"\n") else {
                scan.failures.push((expected, "torn final event (no line end)".into()));
                break;
            };
            match Event::decode(body) {
                Err(e) => {
                    scan.failures.push((expected, e.to_string()));
                    expected += 1;
                    prev = None;
                }
                Ok((event, computed)) => {
                    let mut problems = Vec::new();
                    if event.hash != computed {
                        problems.push(format!(
                            "{}",
                            EventError::HashMismatch {
                                stored: event.hash,
                                computed
                            }
                        ));
                    }
                    if event.seq != expected {
                        problems.push(format!(
                            "le n° {} se trouve là où le n° {expected} était attendu",
                            event.seq
                        ));
                    }
                    if let Some(p) = prev
                        && event.prev_hash != p
                    {
                        problems.push(format!(
                            "prev_hash {} is not the previous event's hash {p}",
                            event.prev_hash
                        ));
                    }
                    if problems.is_empty() {
                        visit(&event);
                    } else {
                        scan.failures.push((event.seq, problems.join("; ")));
                    }
                    scan.last_seq = event.seq;
                    expected = event.seq + 1;
                    prev = Some(event.hash);
                }
            }
        }
    }
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clock::SystemClock;
    use crate::domain::event::EventBody;

    struct Nothing;
    impl JournalObserver for Nothing {
        fn on_durable(&self, _: &Event) -> Result<(), crate::store::ViewError> {
            Ok(())
        }
    }

    fn draft(n: u64) -> EventDraft {
        EventDraft {
            actor: "test".into(),
            body: EventBody::AuditVerified {
                through_seq: n,
                events_checked: 0,
                blobs_checked: 0,
                bytes_checked: 0,
                failures: 0,
            },
        }
    }

    fn open(dir: &Path) -> (FileJournal, Recovery) {
        FileJournal::open(dir, Arc::new(SystemClock), Arc::new(Nothing)).unwrap()
    }

    #[test]
    fn appends_chain_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (j, _) = open(dir.path());
            for n in 1..=5 {
                assert_eq!(j.append(draft(n)).unwrap().seq, n);
            }
        }
        let (j, rec) = open(dir.path());
        assert_eq!(
            rec,
            Recovery {
                cut_bytes: 0,
                head_seq: 5,
                damaged: None,
            }
        );
        let events: Vec<_> = j.read_from(2).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![2, 3, 4, 5]);
        assert_eq!(events[1].prev_hash, events[0].hash);
        assert_eq!(j.append(draft(6)).unwrap().prev_hash, events[3].hash);
    }

    #[test]
    fn reading_from_any_seq_gives_the_same_events_as_a_full_read() {
        let dir = tempfile::tempdir().unwrap();
        let total = 3 * MARK_EVERY + 17;
        {
            let (j, _) = open(dir.path());
            for n in 1..=total {
                j.append(draft(n)).unwrap();
            }
        }
        let (j, _) = open(dir.path());
        let all: Vec<Event> = j.read_from(1).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(all.len() as u64, total);
        // Out of order, so that marks are made by a far read then used by near ones.
        for seq in [
            total,
            2,
            MARK_EVERY,
            MARK_EVERY + 1,
            2 * MARK_EVERY - 1,
            total - 1,
            1,
            300,
            129,
        ] {
            let from: Vec<Event> = j.read_from(seq).unwrap().collect::<Result<_, _>>().unwrap();
            assert_eq!(from.first().map(|e| e.seq), Some(seq), "from {seq}");
            assert_eq!(from.as_slice(), &all[(seq - 1) as usize..], "from {seq}");
        }
        // Events appended later are found too (the marks are extended).
        for n in 1..=MARK_EVERY {
            j.append(draft(total + n)).unwrap();
        }
        let last = total + MARK_EVERY;
        let tail: Vec<Event> = j.read_from(last - 3).unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(
            tail.iter().map(|e| e.seq).collect::<Vec<_>>(),
            (last - 3..=last).collect::<Vec<_>>()
        );
    }

    #[test]
    fn concurrent_appends_get_distinct_seqs() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = open(dir.path());
        let j = Arc::new(j);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let j = Arc::clone(&j);
                std::thread::spawn(move || {
                    (0..20)
                        .map(|n| j.append(draft(t * 100 + n)).unwrap().seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=160).collect::<Vec<_>>());
        assert_eq!(j.read_from(1).unwrap().count(), 160);
    }

    /// An observer slow enough that appenders queue up behind each sync.
    struct Slow;
    impl JournalObserver for Slow {
        fn on_durable(&self, _: &Event) -> Result<(), crate::store::ViewError> {
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(())
        }
    }

    #[test]
    fn concurrent_appenders_share_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let (j, _) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::new(Slow)).unwrap();
        let j = Arc::new(j);
        let handles: Vec<_> = (0..8)
            .map(|t| {
                let j = Arc::clone(&j);
                std::thread::spawn(move || {
                    for n in 0..25 {
                        j.append(draft(t * 100 + n)).unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(j.head().0, 200);
        assert!(j.syncs() <= 100, "200 events took {} syncs: no group commit", j.syncs());
    }

    /// Counts the calls it gets, and fails at one seq.
    struct Counting {
        calls: Mutex<Vec<Vec<u64>>>,
        fail_at: u64,
    }
    impl JournalObserver for Counting {
        fn on_durable(&self, event: &Event) -> Result<(), crate::store::ViewError> {
            self.on_durable_all(std::slice::from_ref(event)).map_err(|f| f.reason)
        }
        fn on_durable_all(&self, events: &[Event]) -> Result<(), crate::store::Unapplied> {
            self.calls.lock().unwrap().push(events.iter().map(|e| e.seq).collect());
            match events.iter().position(|e| e.seq == self.fail_at) {
                Some(applied) => Err(crate::store::Unapplied {
                    applied,
                    seq: self.fail_at,
                    reason: crate::store::ViewError::Unexpected { kind: "test".into() },
                }),
                None => Ok(()),
            }
        }
    }

    /// Keeps the leaves the writer hands over, beside the events.
    #[derive(Default)]
    struct Leaves {
        seen: Mutex<Vec<(Event, Sha256)>>,
    }
    impl JournalObserver for Leaves {
        fn on_durable(&self, _: &Event) -> Result<(), crate::store::ViewError> {
            Err(crate::store::ViewError::Unexpected {
                kind: "the writer hands its leaves over".into(),
            })
        }
        fn on_durable_with_leaves(&self, events: &[Event], leaves: &[Sha256]) -> Result<(), crate::store::Unapplied> {
            assert_eq!(events.len(), leaves.len());
            let mut seen = self.seen.lock().unwrap();
            seen.extend(events.iter().cloned().zip(leaves.iter().copied()));
            Ok(())
        }
    }

    #[test]
    fn the_views_get_each_events_merkle_leaf_as_hashed_from_the_line_written() {
        let dir = tempfile::tempdir().unwrap();
        let views = Arc::new(Leaves::default());
        let (j, _) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::clone(&views) as _).unwrap();
        j.append(draft(1)).unwrap();
        for outcome in j.append_all((2..=20).map(draft).collect()) {
            outcome.unwrap();
        }
        let seen = views.seen.lock().unwrap();
        assert_eq!(seen.len(), 20);
        let written = fs::read(dir.path().join(segment_name(1))).unwrap();
        for ((event, leaf), line) in seen.iter().zip(written.split(|b| *b == b'\n')) {
            assert_eq!(*leaf, event.leaf_hash(), "event {}", event.seq);
            assert_eq!(*leaf, crate::domain::merkle::leaf_hash(line), "event {}", event.seq);
        }
    }

    #[test]
    fn events_appended_together_share_one_sync_and_reach_the_views_in_one_call() {
        let dir = tempfile::tempdir().unwrap();
        let views = Arc::new(Counting {
            calls: Mutex::new(Vec::new()),
            fail_at: 0,
        });
        let (j, _) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::clone(&views) as _).unwrap();
        j.append(draft(1)).unwrap();
        let before = j.syncs();
        let events: Vec<u64> = j
            .append_all((2..=31).map(draft).collect())
            .into_iter()
            .map(|e| e.unwrap().seq)
            .collect();
        assert_eq!(events, (2..=31).collect::<Vec<_>>());
        assert_eq!(j.syncs() - before, 1, "thirty events appended together, one sync");
        assert_eq!(
            views.calls.lock().unwrap().last().unwrap(),
            &(2..=31).collect::<Vec<_>>()
        );
        assert!(j.append_all(Vec::new()).is_empty());
        // Read back, chained.
        assert_eq!(j.read_from(1).unwrap().map(|e| e.unwrap().seq).last(), Some(31));
    }

    #[test]
    fn a_view_failing_in_a_batch_answers_the_events_before_it_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let views = Arc::new(Counting {
            calls: Mutex::new(Vec::new()),
            fail_at: 4,
        });
        let (j, _) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::clone(&views) as _).unwrap();
        let answers = j.append_all((1..=6).map(draft).collect());
        assert_eq!(answers.len(), 6);
        for answer in &answers[..3] {
            assert!(answer.is_ok(), "{answer:?}");
        }
        assert!(
            matches!(&answers[3], Err(JournalError::ViewFailed { seq: 4, .. })),
            "{:?}",
            answers[3]
        );
        for answer in &answers[4..] {
            assert!(
                matches!(answer, Err(JournalError::Failed(reason)) if reason.contains("n° 4")),
                "{answer:?}"
            );
        }
        // Durable all the same (a restart replays them into the views);
        // further appends are refused until then.
        assert_eq!(j.head().0, 6);
        assert!(matches!(j.append(draft(7)), Err(JournalError::Failed(_))));
        assert!(j.append_all(vec![draft(7), draft(8)]).iter().all(Result::is_err));
    }

    /// Holds the views' work on the first event until it is let go, and
    /// records each seq it applied.
    struct Gate {
        open: Mutex<bool>,
        opened: std::sync::Condvar,
        applied: Mutex<Vec<u64>>,
    }
    impl JournalObserver for Gate {
        fn on_durable(&self, event: &Event) -> Result<(), crate::store::ViewError> {
            if event.seq == 1 {
                let mut open = self.open.lock().unwrap();
                while !*open {
                    open = self.opened.wait(open).unwrap();
                }
            }
            self.applied.lock().unwrap().push(event.seq);
            Ok(())
        }
    }

    #[test]
    fn the_next_batch_is_made_durable_while_the_views_take_in_the_last_and_none_is_answered_before_its_views() {
        let dir = tempfile::tempdir().unwrap();
        let views = Arc::new(Gate {
            open: Mutex::new(false),
            opened: std::sync::Condvar::new(),
            applied: Mutex::new(Vec::new()),
        });
        let (j, _) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::clone(&views) as _).unwrap();
        let j = Arc::new(j);
        let first = {
            let j = Arc::clone(&j);
            std::thread::spawn(move || j.append(draft(1)))
        };
        let wait_for = |seq: u64| {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while j.head().0 < seq {
                assert!(std::time::Instant::now() < deadline, "event {seq} never became durable");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
        };
        wait_for(1);
        let second = {
            let j = Arc::clone(&j);
            std::thread::spawn(move || j.append(draft(2)))
        };
        // Written and flushed while the views still hold the first...
        wait_for(2);
        assert_eq!(j.syncs(), 2);
        std::thread::sleep(std::time::Duration::from_millis(50));
        // ...and neither answered: the first is not in the views yet, and
        // the second waits its turn behind it.
        assert!(!first.is_finished() && !second.is_finished());
        assert!(views.applied.lock().unwrap().is_empty());
        *views.open.lock().unwrap() = true;
        views.opened.notify_all();
        assert_eq!(first.join().unwrap().unwrap().seq, 1);
        assert_eq!(second.join().unwrap().unwrap().seq, 2);
        assert_eq!(*views.applied.lock().unwrap(), vec![1, 2]);
    }

    #[test]
    fn a_torn_tail_is_cut_and_damage_elsewhere_opens_read_only() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (j, _) = open(dir.path());
            for n in 1..=3 {
                j.append(draft(n)).unwrap();
            }
        }
        let seg = segments(dir.path()).unwrap()[0].1.clone();
        let text = fs::read(&seg).unwrap();
        fs::write(&seg, &text[..text.len() - 10]).unwrap();
        let (j, rec) = open(dir.path());
        assert_eq!(rec.head_seq, 2);
        assert!(rec.cut_bytes > 0);
        drop(j);
        // Now edit the second event: the journal opens read-only, its head
        // the event before, nothing of the file changed, every append
        // refused with the reason.
        let text = String::from_utf8(fs::read(&seg).unwrap()).unwrap();
        let second = text.find('\n').unwrap() + 1;
        let edited = format!(
            "{}{}",
            &text[..second],
            text[second..].replacen("\"through_seq\":2", "\"through_seq\":9", 1)
        );
        assert_ne!(edited, text);
        fs::write(&seg, &edited).unwrap();
        let (j, rec) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::new(Nothing)).unwrap();
        assert_eq!(rec.head_seq, 1);
        assert!(matches!(&rec.damaged, Some((2, _))), "{rec:?}");
        assert_eq!(j.read_from(1).unwrap().count(), 1);
        let refused = j.append(draft(9)).unwrap_err();
        assert!(
            matches!(&refused, JournalError::Failed(reason) if reason.contains("lecture seule") && reason.contains("n° 2")),
            "{refused}"
        );
        drop(j);
        assert_eq!(
            fs::read_to_string(&seg).unwrap(),
            edited,
            "a damaged journal is left as it is"
        );
        // The first event edited: the same, with nothing good before it.
        let text = String::from_utf8(fs::read(&seg).unwrap()).unwrap();
        fs::write(&seg, text.replacen("\"through_seq\":1", "\"through_seq\":9", 1)).unwrap();
        let (_, rec) = FileJournal::open(dir.path(), Arc::new(SystemClock), Arc::new(Nothing)).unwrap();
        assert_eq!((rec.head_seq, rec.damaged.map(|d| d.0)), (0, Some(1)));
        let scan = audit_scan(dir.path(), &mut |_| {}).unwrap();
        let seqs: Vec<u64> = scan.failures.iter().map(|f| f.0).collect();
        assert_eq!(seqs, [1, 2]);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Wherever a crash cuts the journal, reopening keeps exactly the
        /// whole events before the cut, and appends go on from there.
        #[test]
        fn recovery_keeps_the_whole_events_before_any_cut(events in 1u64..12, cut_per_mille in 0u64..=1000) {
            let dir = tempfile::tempdir().unwrap();
            {
                let (j, _) = open(dir.path());
                for n in 1..=events {
                    j.append(draft(n)).unwrap();
                }
            }
            let seg = segments(dir.path()).unwrap()[0].1.clone();
            let bytes = fs::read(&seg).unwrap();
            let cut = (bytes.len() as u64 * cut_per_mille / 1000) as usize;
            fs::write(&seg, &bytes[..cut]).unwrap();
            let whole = bytes[..cut].iter().filter(|b| **b == b'\n').count() as u64;
            let (j, rec) = open(dir.path());
            proptest::prop_assert_eq!(rec.head_seq, whole);
            let kept: Vec<_> = j.read_from(1).unwrap().collect::<Result<_, _>>().unwrap();
            proptest::prop_assert_eq!(kept.len() as u64, whole);
            proptest::prop_assert_eq!(j.append(draft(99)).unwrap().seq, whole + 1);
        }
    }
}
