//! The ports' contracts as tests, written once and run on every adapter
//! (as tantivy runs one suite on each of its directories and garage on
//! each of its databases). A new adapter (an S3 blob store, another
//! catalog engine) joins by adding one line to the `on_every_adapter`
//! lists below; an adapter that no suite runs is dead code.
//!
//! Each suite states the port's contract from `store/mod.rs` clause by
//! clause; adapter-specific behaviour (durability across a reopen, torn
//! writes) stays in the adapter's own tests.

use super::blob_fs::FsBlobStore;
use super::catalog_fjall::FjallCatalog;
use super::index_tantivy::TantivyIndex;
use super::journal::FileJournal;
use super::memory::{MemoryBlobStore, MemoryCatalog, MemoryJournal, MemoryTree};
use super::merkle_files::FileTree;
use super::*;
use crate::domain::clock::FixedClock;
use crate::domain::event::EventBody;
use crate::domain::hold::{Hold, HoldScope};
use crate::domain::record::{HistoryEntry, RecordState, Version};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// An adapter under test, with whatever keeps its files alive.
struct Subject<T: ?Sized> {
    name: &'static str,
    port: Arc<T>,
    _dir: Option<TempDir>,
}

fn dir() -> TempDir {
    tempfile::tempdir().expect("a temporary folder")
}

fn time(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + seconds, 0)
        .single()
        .expect("a valid time")
}

pub(super) fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

// ---- Blob store ----------------------------------------------------------

fn blob_stores() -> Vec<Subject<dyn BlobStore>> {
    let fs_dir = dir();
    vec![
        Subject {
            name: "FsBlobStore",
            port: Arc::new(FsBlobStore::open(fs_dir.path()).expect("open")),
            _dir: Some(fs_dir),
        },
        Subject {
            name: "MemoryBlobStore",
            port: Arc::new(MemoryBlobStore::default()),
            _dir: None,
        },
        Subject {
            name: "CopiedBlobStore",
            port: Arc::new(crate::store::blob_copies::CopiedBlobStore::new(
                Arc::new(MemoryBlobStore::default()),
                vec![crate::store::blob_copies::CopyStore {
                    name: "copie".into(),
                    store: Arc::new(MemoryBlobStore::default()),
                }],
            )),
            _dir: None,
        },
    ]
}

#[test]
fn copied_blob_stores_keep_every_blob_on_each_copy_and_repair_from_one() {
    use crate::store::blob_copies::{CopiedBlobStore, CopyStore};
    let first: Arc<dyn BlobStore> = Arc::new(MemoryBlobStore::default());
    let copy: Arc<dyn BlobStore> = Arc::new(MemoryBlobStore::default());
    let store = CopiedBlobStore::new(
        Arc::clone(&first),
        vec![CopyStore {
            name: "copie".into(),
            store: Arc::clone(&copy),
        }],
    );
    let sha256 = store
        .stage(&mut &b"mandat 2024-118"[..], 100)
        .expect("stage")
        .commit()
        .expect("commit");
    assert_eq!(read_all(copy.as_ref(), &sha256), b"mandat 2024-118", "copied on commit");
    assert_eq!(store.repair_from_copy(&Sha256::of(b"nowhere")).expect("repair"), None);
    first.erase(&sha256).expect("lose it");
    assert_eq!(store.repair_from_copy(&sha256).expect("repair"), Some("copie".into()));
    assert_eq!(read_all(first.as_ref(), &sha256), b"mandat 2024-118", "put back");
    // A copy lost: the check of the copies puts it back from the first.
    copy.erase(&sha256).expect("lose the copy");
    let put_back = store.check_copies(&sha256, &mut |_| {}).expect("check");
    assert_eq!(put_back, vec![("copie".to_owned(), Fixity::Missing)]);
    assert_eq!(read_all(copy.as_ref(), &sha256), b"mandat 2024-118", "copy back");
    assert!(store.check_copies(&sha256, &mut |_| {}).expect("check").is_empty());
    // A copy that lacks a blob is completed without re-hashing those it has.
    assert_eq!(store.copy_names(), vec!["copie".to_owned()]);
    assert!(
        store.complete_copies(&sha256).expect("complete").is_empty(),
        "nothing lacking"
    );
    copy.erase(&sha256).expect("lose the copy again");
    assert_eq!(
        store.complete_copies(&sha256).expect("complete"),
        vec!["copie".to_owned()]
    );
    assert_eq!(read_all(copy.as_ref(), &sha256), b"mandat 2024-118", "copy completed");
    // Erasing (a disposal) erases every copy.
    assert!(store.erase(&sha256).expect("erase"));
    assert!(!first.contains(&sha256).expect("contains") && !copy.contains(&sha256).expect("contains"));
    assert_eq!(store.repair_from_copy(&sha256).expect("repair"), None, "no copy left");
}

fn read_all(store: &dyn BlobStore, sha256: &Sha256) -> Vec<u8> {
    let (mut reader, size) = store.open(sha256).expect("open");
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).expect("read");
    assert_eq!(bytes.len() as u64, size, "the size given with the reader");
    bytes
}

/// A source that fails after some bytes, like an aborted upload.
struct Failing(usize);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0 == 0 {
            return Err(io::Error::other("connection reset"));
        }
        let n = self.0.min(buf.len());
        buf[..n].fill(b'x');
        self.0 -= n;
        Ok(n)
    }
}

#[test]
fn blob_stores_keep_content_under_its_digest_once() {
    for Subject {
        name,
        port: store,
        _dir,
    } in blob_stores()
    {
        let store = store.as_ref();
        let big: Vec<u8> = (0..3 * 1024 * 1024 + 7).map(|i| (i % 251) as u8).collect();
        for content in [&b""[..], b"bonjour", &big] {
            let staged = store.stage(&mut &content[..], u64::MAX).expect("stage");
            assert_eq!(staged.sha256(), Sha256::of(content), "{name}: digest while staging");
            assert_eq!(staged.size(), content.len() as u64, "{name}");
            assert_eq!(staged.head(), &content[..content.len().min(8192)], "{name}: head");
            let mut again = Vec::new();
            staged.reader().expect("reader").read_to_end(&mut again).expect("read");
            assert_eq!(again, content, "{name}: the staged content reads from its start");
            assert!(
                !store.contains(&Sha256::of(content)).expect("contains"),
                "{name}: nothing before commit"
            );
            let sha256 = staged.commit().expect("commit");
            assert_eq!(sha256, Sha256::of(content), "{name}");
            assert!(store.contains(&sha256).expect("contains"), "{name}");
            assert_eq!(read_all(store, &sha256), content, "{name}: what was committed");
        }
        // The same bytes again: stored once.
        let before = store.list().expect("list").len();
        let sha256 = store
            .stage(&mut &b"bonjour"[..], 100)
            .expect("stage")
            .commit()
            .expect("commit");
        assert_eq!(store.list().expect("list").len(), before, "{name}: deduplicated");
        assert_eq!(read_all(store, &sha256), b"bonjour", "{name}");
        let mut listed = store.list().expect("list");
        listed.sort();
        let mut expected = vec![Sha256::of(b""), Sha256::of(b"bonjour"), Sha256::of(&big)];
        expected.sort();
        assert_eq!(listed, expected, "{name}: list names every blob");
    }
}

#[test]
fn blob_readers_seek_for_ranges() {
    for Subject {
        name,
        port: store,
        _dir,
    } in blob_stores()
    {
        let sha256 = store
            .stage(&mut &b"0123456789"[..], 100)
            .expect("stage")
            .commit()
            .expect("commit");
        let (mut reader, _) = store.open(&sha256).expect("open");
        reader.seek(io::SeekFrom::Start(6)).expect("seek");
        let mut tail = String::new();
        reader.read_to_string(&mut tail).expect("read");
        assert_eq!(tail, "6789", "{name}");
    }
}

#[test]
fn blob_stores_leave_nothing_of_a_refused_or_dropped_stage() {
    for Subject {
        name,
        port: store,
        _dir,
    } in blob_stores()
    {
        match store.stage(&mut &[7u8; 1001][..], 1000) {
            Err(BlobError::TooLarge { limit: 1000 }) => {}
            other => panic!("{name}: {:?}", other.err()),
        }
        match store.stage(&mut Failing(10_000), 1 << 20) {
            Err(BlobError::Source(_)) => {}
            other => panic!("{name}: {:?}", other.err()),
        }
        drop(store.stage(&mut &b"jamais"[..], 100).expect("stage"));
        assert!(store.list().expect("list").is_empty(), "{name}: nothing visible");
        assert!(!store.contains(&Sha256::of(b"jamais")).expect("contains"), "{name}");
        // Exactly the limit is accepted.
        assert!(store.stage(&mut &[7u8; 1000][..], 1000).is_ok(), "{name}");
    }
}

#[test]
fn blob_stores_commit_ahead_and_wait_and_leave_nothing_of_a_commit_dropped_unwaited() {
    for Subject {
        name,
        port: store,
        _dir,
    } in blob_stores()
    {
        let content = store.stage(&mut &b"contenu"[..], 100).expect("stage");
        let metadata = store.stage(&mut &b"notice"[..], 100).expect("stage");
        let content = content.commit_later(1).expect("commit ahead");
        let metadata = metadata.commit_later(1).expect("commit ahead");
        assert_eq!(metadata.wait().expect("wait"), Sha256::of(b"notice"), "{name}");
        assert_eq!(content.wait().expect("wait"), Sha256::of(b"contenu"), "{name}");
        assert!(store.contains(&Sha256::of(b"contenu")).expect("contains"), "{name}");
        assert!(store.contains(&Sha256::of(b"notice")).expect("contains"), "{name}");
        drop(
            store
                .stage(&mut &b"abandon"[..], 100)
                .expect("stage")
                .commit_later(1)
                .expect("commit ahead"),
        );
        // A commit after it (which leads a batch, if the store makes any)
        // carries nothing of it.
        store
            .stage(&mut &b"suite"[..], 100)
            .expect("stage")
            .commit()
            .expect("commit");
        assert!(!store.contains(&Sha256::of(b"abandon")).expect("contains"), "{name}");
        assert_eq!(store.list().expect("list").len(), 3, "{name}");
        // More stores than kept: refused before anything is written.
        assert!(
            store
                .stage(&mut &b"trop"[..], 100)
                .expect("stage")
                .commit_later(9)
                .is_err()
                || store.copy_names().is_empty(),
            "{name}"
        );
    }
}

#[test]
fn blob_stores_verify_erase_and_name_what_is_missing() {
    for Subject {
        name,
        port: store,
        _dir,
    } in blob_stores()
    {
        let missing = Sha256::of(b"absent");
        assert!(
            matches!(store.open(&missing), Err(BlobError::NotFound(s)) if s == missing),
            "{name}"
        );
        assert_eq!(
            store.verify(&missing, &mut |_| {}).expect("verify"),
            Fixity::Missing,
            "{name}"
        );
        let sha256 = store
            .stage(&mut &b"intact"[..], 100)
            .expect("stage")
            .commit()
            .expect("commit");
        let mut read = 0;
        assert_eq!(
            store.verify(&sha256, &mut |n| read += n).expect("verify"),
            Fixity::Intact { size: 6 },
            "{name}"
        );
        assert_eq!(read, 6, "{name}: progress adds up to the size");
        assert!(store.erase(&sha256).expect("erase"), "{name}");
        assert!(
            !store.erase(&sha256).expect("erase"),
            "{name}: erasing twice is no error"
        );
        assert!(!store.contains(&sha256).expect("contains"), "{name}");
        assert_eq!(
            store.verify(&sha256, &mut |_| {}).expect("verify"),
            Fixity::Missing,
            "{name}"
        );
        // Many at once (a disposal's): those there are erased and counted,
        // the others are no error, and the rest of the store is untouched.
        let many: Vec<Sha256> = (0..5u8)
            .map(|i| {
                store
                    .stage(&mut &[b'm', i][..], 100)
                    .expect("stage")
                    .commit()
                    .expect("commit")
            })
            .collect();
        let kept = store
            .stage(&mut &b"kept"[..], 100)
            .expect("stage")
            .commit()
            .expect("commit");
        let mut asked = many[..4].to_vec();
        asked.push(missing);
        assert_eq!(store.erase_all(&asked).expect("erase all"), 4, "{name}");
        assert_eq!(store.erase_all(&asked).expect("erase all again"), 0, "{name}");
        for sha in &many[..4] {
            assert!(!store.contains(sha).expect("contains"), "{name}");
        }
        assert!(store.contains(&many[4]).expect("contains"), "{name}: not asked, kept");
        assert!(store.contains(&kept).expect("contains"), "{name}: not asked, kept");
    }
}

#[test]
fn blob_stores_replace_only_when_asked_to_repair() {
    for Subject {
        name,
        port: store,
        _dir,
    } in blob_stores()
    {
        let sha256 = store
            .stage(&mut &b"original"[..], 100)
            .expect("stage")
            .commit()
            .expect("commit");
        // Gone (a damaged disk lost it): the same bytes staged again put it back.
        assert!(store.erase(&sha256).expect("erase"), "{name}");
        let repaired = store
            .stage(&mut &b"original"[..], 100)
            .expect("stage")
            .replace()
            .expect("replace");
        assert_eq!(repaired, sha256, "{name}");
        assert_eq!(read_all(store.as_ref(), &sha256), b"original", "{name}: back");
        // Replacing what is there leaves one blob with the same bytes.
        store
            .stage(&mut &b"original"[..], 100)
            .expect("stage")
            .replace()
            .expect("replace again");
        assert_eq!(store.list().expect("list"), vec![sha256], "{name}: one blob");
        assert_eq!(
            store.verify(&sha256, &mut |_| {}).expect("verify"),
            Fixity::Intact { size: 8 },
            "{name}"
        );
    }
}

// ---- Journal -------------------------------------------------------------

/// An observer that remembers what it saw, and can be told to fail.
#[derive(Default)]
struct Witness {
    seen: Mutex<Vec<u64>>,
    fail_at: Mutex<Option<u64>>,
}

impl JournalObserver for Witness {
    fn on_durable(&self, event: &Event) -> Result<(), ViewError> {
        if *self.fail_at.lock().unwrap_or_else(|p| p.into_inner()) == Some(event.seq) {
            return Err(ViewError::Unknown {
                what: "record",
                id: event.seq.to_string(),
            });
        }
        self.seen.lock().unwrap_or_else(|p| p.into_inner()).push(event.seq);
        Ok(())
    }
}

fn journals(witness: &Arc<Witness>) -> Vec<Subject<dyn Journal>> {
    let clock = Arc::new(FixedClock::new(time(0)));
    let file_dir = dir();
    let (file, _) = FileJournal::open(file_dir.path(), clock.clone(), witness.clone()).expect("open");
    vec![
        Subject {
            name: "FileJournal",
            port: Arc::new(file),
            _dir: Some(file_dir),
        },
        Subject {
            name: "MemoryJournal",
            port: Arc::new(MemoryJournal::new(clock, witness.clone())),
            _dir: None,
        },
    ]
}

fn draft(n: u64) -> EventDraft {
    EventDraft {
        actor: format!("contract:{n}"),
        body: EventBody::ArchiveInitialized {
            format: 1,
            archive_id: format!("{n:032x}"),
        },
    }
}

#[test]
fn journals_chain_events_from_seq_one_and_tell_the_observer_first() {
    let empty = Arc::new(Witness::default());
    for Subject {
        name,
        port: journal,
        _dir,
    } in journals(&empty)
    {
        assert_eq!(journal.head(), (0, Sha256::ZERO), "{name}: an empty journal");
        assert_eq!(journal.read_from(1).expect("read").count(), 0, "{name}");
    }
    for index in 0..2 {
        let witness = Arc::new(Witness::default());
        let Subject {
            name,
            port: journal,
            _dir,
        } = journals(&witness).swap_remove(index);
        let mut previous = Sha256::ZERO;
        for n in 1..=5 {
            let event = journal.append(draft(n)).expect("append");
            assert_eq!(event.seq, n, "{name}: seqs from 1 without gaps");
            assert_eq!(event.prev_hash, previous, "{name}: linked to the previous event");
            assert_eq!(journal.head(), (n, event.hash), "{name}: the head moves");
            assert_eq!(
                witness.seen.lock().unwrap().last(),
                Some(&n),
                "{name}: the observer saw it before the append returned"
            );
            previous = event.hash;
        }
        let all: Vec<Event> = journal.read_from(1).expect("read").map(|e| e.expect("event")).collect();
        assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5], "{name}");
        let from3: Vec<u64> = journal
            .read_from(3)
            .expect("read")
            .map(|e| e.expect("event").seq)
            .collect();
        assert_eq!(from3, [3, 4, 5], "{name}: reading from a seq");
        assert_eq!(all[1].actor, "contract:2", "{name}: what was appended is read");
        assert_eq!(*witness.seen.lock().unwrap(), [1, 2, 3, 4, 5], "{name}: in seq order");
    }
}

#[test]
fn journals_give_concurrent_appenders_distinct_seqs() {
    for index in 0..2 {
        let witness = Arc::new(Witness::default());
        let Subject {
            name,
            port: journal,
            _dir,
        } = journals(&witness).swap_remove(index);
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let journal = Arc::clone(&journal);
                std::thread::spawn(move || {
                    (0..25)
                        .map(|n| journal.append(draft(t * 100 + n)).expect("append").seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seqs: Vec<u64> = threads.into_iter().flat_map(|t| t.join().expect("thread")).collect();
        seqs.sort();
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>(), "{name}");
        let mut seen = witness.seen.lock().unwrap().clone();
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{name}: observed in seq order");
        seen.dedup();
        assert_eq!(seen.len(), 100, "{name}");
    }
}

#[test]
fn journals_say_when_a_view_failed_on_a_durable_event() {
    for index in 0..2 {
        let witness = Arc::new(Witness::default());
        let Subject {
            name,
            port: journal,
            _dir,
        } = journals(&witness).swap_remove(index);
        journal.append(draft(1)).expect("append");
        *witness.fail_at.lock().unwrap() = Some(2);
        match journal.append(draft(2)) {
            Err(JournalError::ViewFailed { seq: 2, .. }) => {}
            other => panic!("{name}: {other:?}"),
        }
        // The event is durable all the same: it is read back.
        assert_eq!(journal.head().0, 2, "{name}");
        assert_eq!(journal.read_from(2).expect("read").count(), 1, "{name}");
    }
}

// ---- Catalog -------------------------------------------------------------

fn catalogs() -> Vec<Subject<dyn Catalog>> {
    let fjall_dir = dir();
    vec![
        Subject {
            name: "FjallCatalog",
            port: Arc::new(FjallCatalog::open(&fjall_dir.path().join("catalog")).expect("open")),
            _dir: Some(fjall_dir),
        },
        Subject {
            name: "MemoryCatalog",
            port: Arc::new(MemoryCatalog::default()),
            _dir: None,
        },
    ]
}

/// `record` destroyed by a disposal, at the journal's event 4.
fn destroyed(mut record: Record) -> Record {
    record.tombstone = Some(crate::domain::record::Tombstone {
        disposal: 1,
        visa: "V-1".into(),
        destroyed_at: time(9),
        destroyed_by: "claire (archivist)".into(),
        seq: 4,
        transferred_to: None,
    });
    record
}

pub(super) fn record(n: u128, reference: &str) -> Record {
    Record {
        id: RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).expect("an id"),
        reference: Reference::from_naming(reference.to_owned()),
        title: format!("Pièce {n}"),
        node: NodeCode::parse("FIN-FAC").expect("a node"),
        date: day("2024-03-15"),
        service: None,
        document_type: None,
        fields: BTreeMap::new(),
        number: n as u64,
        plan_version: Some(1),
        aliases: Vec::new(),
        classified_by: None,
        dated: None,
        channel: None,
        links: Vec::new(),
        events: BTreeMap::new(),
        tombstone: None,
        review: None,
        reading: None,
        renditions: Vec::new(),
        to_verify: None,
        circulation: None,
        due: None,
        metadata_sha256: Sha256::of(b"metadata"),
        metadata_history: Vec::new(),
        versions: vec![Version {
            number: 1,
            sha256: Sha256::of(reference.as_bytes()),
            size: 10,
            media_type: "text/plain".into(),
            filename: Some("piece.txt".into()),
            ingested_at: time(n as i64),
            ingested_by: "contract".into(),
            seq: n as u64,
        }],
        state: RecordState::Active,
        created_at: time(n as i64),
        created_by: "contract".into(),
        history: vec![HistoryEntry {
            seq: n as u64,
            time: time(n as i64),
            actor: "contract".into(),
            kind: "record.ingested".into(),
        }],
    }
}

#[test]
fn catalogs_apply_whole_events_and_answer_by_id_and_reference() {
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        assert_eq!(catalog.last_applied().expect("applied"), 0, "{name}: new");
        assert_eq!(catalog.records().count(), 0, "{name}");
        let (b, a) = (record(2, "FIN-FAC-2024-000002"), record(1, "FIN-FAC-2024-000001"));
        catalog
            .apply(1, vec![CatalogWrite::PutRecord(Box::new(b.clone()))])
            .expect("apply");
        catalog
            .apply(2, vec![CatalogWrite::PutRecord(Box::new(a.clone()))])
            .expect("apply");
        assert_eq!(catalog.last_applied().expect("applied"), 2, "{name}");
        assert_eq!(catalog.record(&a.id).expect("record"), Some(a.clone()), "{name}");
        assert_eq!(catalog.record_id(&b.reference).expect("id"), Some(b.id), "{name}");
        assert_eq!(
            catalog.record_id(&Reference::from_naming("NOPE".into())).expect("id"),
            None,
            "{name}"
        );
        let ids: Vec<RecordId> = catalog.records().map(|r| r.expect("record").id).collect();
        assert_eq!(ids, [a.id, b.id], "{name}: in id order");
        // A record stored again replaces the old one.
        let mut changed = a.clone();
        changed.title = "Pièce renommée".into();
        catalog
            .apply(3, vec![CatalogWrite::PutRecord(Box::new(changed.clone()))])
            .expect("apply");
        assert_eq!(catalog.record(&a.id).expect("record"), Some(changed), "{name}");
        assert_eq!(catalog.records().count(), 2, "{name}");
        // Records are found by the content their versions hold.
        let content = a.versions[0].sha256;
        let mut holders = vec![a.id];
        if b.versions[0].sha256 == content {
            holders.push(b.id);
        }
        holders.sort();
        assert_eq!(catalog.records_holding(&content).expect("holding"), holders, "{name}");
        assert!(
            catalog
                .records_holding(&Sha256::of(b"held by no one"))
                .expect("holding")
                .is_empty(),
            "{name}"
        );
        // And by who deposited them, newest first.
        let alice = crate::domain::account::UserName::parse("alice").expect("user");
        let mut by_alice = record(7, "FIN-FAC-2024-000007");
        by_alice.created_by = "alice (agent)".into();
        let mut by_alice_later = record(8, "FIN-FAC-2024-000008");
        by_alice_later.created_by = "alice (archivist)".into();
        catalog
            .apply(
                5,
                vec![
                    CatalogWrite::PutRecord(Box::new(by_alice.clone())),
                    CatalogWrite::PutRecord(Box::new(by_alice_later.clone())),
                ],
            )
            .expect("apply");
        assert_eq!(
            catalog.deposited_by(&alice, 10).expect("deposited"),
            [by_alice_later.id, by_alice.id],
            "{name}"
        );
        assert_eq!(
            catalog.deposited_by(&alice, 1).expect("deposited"),
            [by_alice_later.id],
            "{name}"
        );
        // An event with no writes still moves the applied seq.
        catalog.apply(6, Vec::new()).expect("apply");
        assert_eq!(catalog.last_applied().expect("applied"), 6, "{name}");
        catalog.flush().expect("flush");
        catalog.clear().expect("clear");
        assert_eq!(catalog.last_applied().expect("applied"), 0, "{name}: cleared");
        assert_eq!(catalog.records().count(), 0, "{name}");
        assert_eq!(catalog.record_id(&b.reference).expect("id"), None, "{name}");
    }
}

#[test]
fn catalogs_list_the_records_waiting_in_a_circuit_and_forget_those_that_left_it() {
    use crate::domain::circuit::{Circulation, Passage, Waiting};
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let at = |mut r: Record, step: &str, open: bool| {
            r.service = Some("Voirie".into());
            r.circulation = Some(Circulation {
                circuit: "facture".into(),
                passages: vec![
                    Passage {
                        step: "recue".into(),
                        from: day("2024-03-01"),
                    },
                    Passage {
                        step: step.into(),
                        from: day("2024-03-05"),
                    },
                ],
                open,
            });
            r
        };
        let (a, b, c) = (
            at(record(1, "FIN-FAC-2024-000001"), "service_fait", true),
            record(2, "FIN-FAC-2024-000002"),
            at(record(3, "FIN-FAC-2024-000003"), "payee", false),
        );
        let writes = [&a, &b, &c]
            .into_iter()
            .map(|r| CatalogWrite::PutRecord(Box::new(r.clone())))
            .collect();
        catalog.apply(1, writes).expect("apply");
        let waiting = catalog.circulating().expect("circulating");
        assert_eq!(
            waiting,
            vec![Waiting {
                record: a.id,
                circuit: "facture".into(),
                step: "service_fait".into(),
                since: day("2024-03-05"),
                entered: day("2024-03-01"),
                service: Some("Voirie".into()),
                node: a.node.clone(),
            }],
            "{name}: only the open one"
        );
        let paid = at(a.clone(), "payee", false);
        catalog
            .apply(2, vec![CatalogWrite::PutRecord(Box::new(paid))])
            .expect("apply");
        assert!(catalog.circulating().expect("circulating").is_empty(), "{name}: left");
    }
}

#[test]
fn catalogs_list_the_records_waiting_for_verification_and_keep_its_counts() {
    use crate::domain::verification::{CheckCounts, CheckKey, ToVerify, VerifyReason};
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let waiting = |mut r: Record| {
            r.to_verify = Some(ToVerify {
                since: time(1),
                reasons: vec![VerifyReason::Reading {
                    fields: vec!["montant_ttc".into()],
                }],
            });
            r
        };
        let (a, b, c) = (
            waiting(record(1, "FIN-FAC-2024-000001")),
            record(2, "FIN-FAC-2024-000002"),
            waiting(record(3, "FIN-FAC-2024-000003")),
        );
        let writes = [&c, &b, &a]
            .into_iter()
            .map(|r| CatalogWrite::PutRecord(Box::new(r.clone())))
            .collect();
        catalog.apply(1, writes).expect("apply");
        assert_eq!(
            catalog.to_verify(None, 10).expect("queue"),
            [a.id, c.id],
            "{name}: oldest first"
        );
        assert_eq!(
            catalog.to_verify(Some(&a.id), 10).expect("queue"),
            [c.id],
            "{name}: after"
        );
        assert_eq!(catalog.to_verify(None, 1).expect("queue"), [a.id], "{name}: limit");
        assert_eq!(catalog.to_verify_count().expect("count"), 2, "{name}");
        let mut verified = a.clone();
        verified.to_verify = None;
        catalog
            .apply(2, vec![CatalogWrite::PutRecord(Box::new(verified))])
            .expect("apply");
        assert_eq!(
            catalog.to_verify(None, 10).expect("queue"),
            [c.id],
            "{name}: left the queue"
        );
        assert_eq!(catalog.to_verify_count().expect("count"), 1, "{name}");

        let key = |supplier: Option<&str>| CheckKey {
            supplier: supplier.map(str::to_owned),
            field: "montant_ttc".into(),
        };
        assert_eq!(
            catalog.check_counts(&key(None)).expect("counts"),
            CheckCounts::default()
        );
        let counts = CheckCounts {
            checked: 3,
            corrected: 1,
        };
        catalog
            .apply(
                3,
                vec![
                    CatalogWrite::PutCheckCounts { key: key(None), counts },
                    CatalogWrite::PutCheckCounts {
                        key: key(Some("Dupont")),
                        counts,
                    },
                ],
            )
            .expect("apply");
        assert_eq!(
            catalog.check_counts(&key(Some("Dupont"))).expect("counts"),
            counts,
            "{name}"
        );
        let mut all = catalog.all_check_counts().expect("all");
        all.sort();
        assert_eq!(all, [(key(None), counts), (key(Some("Dupont")), counts)], "{name}");
    }
}

#[test]
fn catalogs_keep_damaged_blobs_until_repaired() {
    use crate::domain::integrity::{BlobDamage, DamageFinder, DamageKind};
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let (a, b) = (Sha256::of(b"a"), Sha256::of(b"b"));
        assert_eq!(catalog.damage(&a).expect("damage"), None, "{name}");
        let damage = |blob, seq| BlobDamage {
            blob,
            kind: DamageKind::Corrupt,
            found_by: DamageFinder::Read,
            seq,
            at: time(seq as i64),
        };
        catalog
            .apply(1, vec![CatalogWrite::PutDamage(damage(a, 1))])
            .expect("apply");
        catalog
            .apply(2, vec![CatalogWrite::PutDamage(damage(b, 2))])
            .expect("apply");
        assert_eq!(catalog.damage(&a).expect("damage"), Some(damage(a, 1)), "{name}");
        assert_eq!(catalog.damages().expect("damages").len(), 2, "{name}");
        catalog.apply(3, vec![CatalogWrite::RemoveDamage(a)]).expect("apply");
        assert_eq!(catalog.damage(&a).expect("damage"), None, "{name}: repaired");
        assert_eq!(catalog.damages().expect("damages"), vec![damage(b, 2)], "{name}");
    }
}

#[test]
fn catalog_counters_only_rise() {
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        assert_eq!(catalog.counter("FIN-FAC/2024").expect("counter"), 0, "{name}");
        let raise = |seq, value| {
            catalog
                .apply(
                    seq,
                    vec![CatalogWrite::RaiseCounter {
                        scope: "FIN-FAC/2024".into(),
                        value,
                    }],
                )
                .expect("apply")
        };
        raise(1, 7);
        raise(2, 3);
        assert_eq!(
            catalog.counter("FIN-FAC/2024").expect("counter"),
            7,
            "{name}: never lowered"
        );
        raise(3, 8);
        assert_eq!(catalog.counter("FIN-FAC/2024").expect("counter"), 8, "{name}");
        assert_eq!(
            catalog.counter("FIN-FAC/2025").expect("counter"),
            0,
            "{name}: per scope"
        );
    }
}

#[test]
fn catalogs_index_records_by_node_and_follow_their_moves() {
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let node = |c: &str| NodeCode::parse(c).expect("a node");
        let (fac, rh, rh_sub) = (node("FIN-FAC"), node("RH"), node("RH-PAIE"));
        let a = record(1, "FIN-FAC-2024-000001");
        let b = record(2, "FIN-FAC-2024-000002");
        let mut c = record(3, "RH-2024-000003");
        c.node = rh.clone();
        catalog
            .apply(
                1,
                vec![
                    CatalogWrite::PutRecord(Box::new(b.clone())),
                    CatalogWrite::PutRecord(Box::new(a.clone())),
                    CatalogWrite::PutRecord(Box::new(c.clone())),
                ],
            )
            .expect("apply");
        assert_eq!(catalog.records_in(&fac).expect("in"), [a.id, b.id], "{name}: id order");
        assert_eq!(catalog.records_in(&rh).expect("in"), [c.id], "{name}");
        assert!(
            catalog.records_in(&rh_sub).expect("in").is_empty(),
            "{name}: not its children"
        );
        assert_eq!(
            catalog.records_by_node().expect("counts"),
            BTreeMap::from([(fac.clone(), 2), (rh.clone(), 1)]),
            "{name}"
        );
        // Stored again in place: nothing counted twice. Moved twice within
        // one event: found only where it ended.
        let mut a_sub = a.clone();
        a_sub.node = rh_sub.clone();
        let mut a_rh = a.clone();
        a_rh.node = rh.clone();
        catalog
            .apply(
                2,
                vec![
                    CatalogWrite::PutRecord(Box::new(b.clone())),
                    CatalogWrite::PutRecord(Box::new(a_sub)),
                    CatalogWrite::PutRecord(Box::new(a_rh)),
                ],
            )
            .expect("apply");
        assert_eq!(catalog.records_in(&fac).expect("in"), [b.id], "{name}");
        assert_eq!(catalog.records_in(&rh).expect("in"), [a.id, c.id], "{name}");
        assert!(catalog.records_in(&rh_sub).expect("in").is_empty(), "{name}");
        assert_eq!(
            catalog.records_by_node().expect("counts"),
            BTreeMap::from([(fac.clone(), 1), (rh.clone(), 2)]),
            "{name}: a node emptied of its records is not listed"
        );
        let mut b_rh = b.clone();
        b_rh.node = rh.clone();
        catalog
            .apply(3, vec![CatalogWrite::PutRecord(Box::new(b_rh))])
            .expect("apply");
        assert_eq!(
            catalog.records_by_node().expect("counts"),
            BTreeMap::from([(rh.clone(), 3)]),
            "{name}"
        );
        catalog.clear().expect("clear");
        assert!(catalog.records_by_node().expect("counts").is_empty(), "{name}: cleared");
        assert!(catalog.records_in(&rh).expect("in").is_empty(), "{name}: cleared");
    }
}

#[test]
fn catalogs_keep_apart_the_records_waiting_to_be_read() {
    use crate::domain::verification::RecordReading;
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let node = |c: &str| NodeCode::parse(c).expect("a node");
        let (fac, rh, rh_sub) = (node("FIN-FAC"), node("RH"), node("RH-PAIE"));
        let read = |mut r: Record, version: u32| {
            r.reading = Some(RecordReading {
                version,
                fields: Vec::new(),
                missing: Vec::new(),
                at: time(5),
                template: None,
            });
            r
        };
        let a = record(1, "FIN-FAC-2024-000001");
        let b = read(record(2, "FIN-FAC-2024-000002"), 1);
        let mut c = record(3, "RH-2024-000003");
        c.node = rh.clone();
        let writes = [&c, &b, &a]
            .into_iter()
            .map(|r| CatalogWrite::PutRecord(Box::new(r.clone())))
            .collect();
        catalog.apply(1, writes).expect("apply");
        assert_eq!(
            catalog.unread_in(&fac).expect("unread"),
            [a.id],
            "{name}: read, left out"
        );
        assert_eq!(catalog.unread_in(&rh).expect("unread"), [c.id], "{name}");

        // Moved twice within one event: waits only where it ended.
        let mut a_sub = a.clone();
        a_sub.node = rh_sub.clone();
        let mut a_rh = a.clone();
        a_rh.node = rh.clone();
        catalog
            .apply(
                2,
                vec![
                    CatalogWrite::PutRecord(Box::new(a_sub)),
                    CatalogWrite::PutRecord(Box::new(a_rh.clone())),
                ],
            )
            .expect("apply");
        assert!(
            catalog.unread_in(&fac).expect("unread").is_empty(),
            "{name}: moved away"
        );
        assert!(
            catalog.unread_in(&rh_sub).expect("unread").is_empty(),
            "{name}: passed through"
        );
        assert_eq!(
            catalog.unread_in(&rh).expect("unread"),
            [a.id, c.id],
            "{name}: id order"
        );

        // Read: waits no more. A new version of a record read: waits again.
        let mut b2 = b.clone();
        let mut second = b2.versions[0].clone();
        second.number = 2;
        b2.versions.push(second);
        catalog
            .apply(
                3,
                vec![
                    CatalogWrite::PutRecord(Box::new(read(a_rh, 1))),
                    CatalogWrite::PutRecord(Box::new(b2)),
                ],
            )
            .expect("apply");
        assert_eq!(catalog.unread_in(&rh).expect("unread"), [c.id], "{name}: read");
        assert_eq!(
            catalog.unread_in(&fac).expect("unread"),
            [b.id],
            "{name}: a new version"
        );

        // Destroyed unread: nothing left to read.
        let gone = destroyed(c.clone());
        catalog
            .apply(4, vec![CatalogWrite::PutRecord(Box::new(gone))])
            .expect("apply");
        assert!(catalog.unread_in(&rh).expect("unread").is_empty(), "{name}: destroyed");
        catalog.clear().expect("clear");
        assert!(catalog.unread_in(&fac).expect("unread").is_empty(), "{name}: cleared");
    }
}

#[test]
fn catalogs_find_the_records_that_held_a_fields_value_compared_loosely() {
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let with = |n: u128, supplier: &str, number: &str| {
            let mut r = record(n, &format!("FIN-FAC-2024-{n:06}"));
            r.fields = BTreeMap::from([
                ("fournisseur".to_owned(), supplier.to_owned()),
                ("numero_facture".to_owned(), number.to_owned()),
            ]);
            r
        };
        let a = with(1, "Papeterie Dupont & Fils", "FA-2024/88");
        let b = with(2, "PAPETERIE DUPONT FILS", "fa 2024 88");
        let c = with(3, "Transports Martin", "FA-2024/88");
        catalog
            .apply(
                1,
                [&c, &b, &a]
                    .iter()
                    .map(|r| CatalogWrite::PutRecord(Box::new((*r).clone())))
                    .collect(),
            )
            .expect("apply");
        let found = |field: &str, value: &str| {
            catalog
                .records_with_field(field, &crate::domain::record::comparable(value))
                .expect("found")
        };
        assert_eq!(
            found("numero_facture", "FA 2024-88"),
            [a.id, b.id, c.id],
            "{name}: id order"
        );
        assert_eq!(
            found("fournisseur", "Papeterie Dupont et Fils"),
            [] as [RecordId; 0],
            "{name}"
        );
        assert_eq!(found("fournisseur", "papeterie dupont fils"), [a.id, b.id], "{name}");
        assert!(
            found("objet", "papeterie dupont fils").is_empty(),
            "{name}: another field"
        );
        assert!(
            catalog.records_with_field("fournisseur", "").expect("found").is_empty(),
            "{name}: nothing for an empty value"
        );
    }
}

/// A rule of `years` years and `months` months, started as said.
pub(super) fn node_rule(
    rule: &str,
    years: u32,
    months: u32,
    start: crate::domain::plan::RetentionStart,
    final_action: crate::domain::plan::FinalAction,
) -> crate::domain::retention::NodeRule {
    crate::domain::retention::NodeRule {
        rule: rule.into(),
        from: NodeCode::parse("FIN").expect("a node"),
        duration: crate::domain::plan::RetentionDuration::Period { years, months, days: 0 },
        start,
        final_action,
        to_confirm: false,
    }
}

/// A table of rules: FIN-FAC's and RH's, as given.
pub(super) fn rules(
    fac: Option<crate::domain::retention::NodeRule>,
    rh: Option<crate::domain::retention::NodeRule>,
) -> CatalogWrite {
    let node = |c: &str| NodeCode::parse(c).expect("a node");
    CatalogWrite::PutRules(Box::new(
        [(node("FIN-FAC"), fac), (node("RH"), rh)]
            .into_iter()
            .filter_map(|(node, rule)| Some((node, rule?)))
            .collect(),
    ))
}

/// The tallies a reading of every record gives: what the catalog's own
/// must always equal.
fn tallies_by_scan(catalog: &dyn Catalog) -> Vec<(super::Tally, u64)> {
    let mut counts: BTreeMap<super::Tally, u64> = BTreeMap::new();
    for record in catalog.records() {
        *counts.entry(super::Tally::of(&record.expect("record"))).or_default() += 1;
    }
    counts.into_iter().collect()
}

#[test]
fn catalogs_walk_the_blobs_records_use_in_digest_order_a_page_at_a_time() {
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        // Three records: each a version and metadata documents; the
        // second shares the first's content and has a rendition.
        let mut a = record(1, "FIN-FAC-2024-000001");
        a.metadata_history = vec![Sha256::of(b"metadata a 1"), Sha256::of(b"metadata a 2")];
        let mut b = record(2, "FIN-FAC-2024-000002");
        b.versions[0].sha256 = a.versions[0].sha256;
        b.metadata_history = vec![Sha256::of(b"metadata b 1")];
        b.renditions = vec![crate::domain::record::Rendition {
            version: 1,
            sha256: Sha256::of(b"rendition b"),
            size: 11,
            media_type: "application/pdf".into(),
            made_by: "contract".into(),
            made_at: time(2),
        }];
        let mut c = record(3, "FIN-FAC-2024-000003");
        c.metadata_history = vec![Sha256::of(b"metadata c 1")];
        catalog
            .apply(
                1,
                [&a, &b, &c]
                    .into_iter()
                    .map(|r| CatalogWrite::PutRecord(Box::new(r.clone())))
                    .collect(),
            )
            .expect("apply");
        // The oracle: every blob each record uses, with its users.
        let mut expected: BTreeMap<Sha256, Vec<RecordId>> = BTreeMap::new();
        for r in [&a, &b, &c] {
            for sha in r.blobs_used() {
                expected.entry(*sha).or_default().push(r.id);
            }
        }
        for ids in expected.values_mut() {
            ids.sort();
            ids.dedup();
        }
        let expected: Vec<(Sha256, Vec<RecordId>)> = expected.into_iter().collect();
        assert_eq!(expected.len(), 7, "{name}: a's content shared by b");
        for (sha, ids) in &expected {
            assert_eq!(&catalog.records_holding(sha).expect("holding"), ids, "{name}: {sha}");
        }
        assert_eq!(
            catalog.blobs_used(None, 100).expect("walk"),
            expected,
            "{name}: at once"
        );
        // Page after page, each starting past the last blob of the one
        // before, give the same blobs once each.
        for limit in 1..=3 {
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let page = catalog.blobs_used(after.as_ref(), limit).expect("page");
                assert!(page.len() <= limit, "{name}: at most {limit}");
                after = page.last().map(|(sha, _)| *sha);
                let last = page.len() < limit;
                walked.extend(page);
                if last {
                    break;
                }
            }
            assert_eq!(walked, expected, "{name}: pages of {limit}");
        }
        // After a digest no record uses, the walk goes on from the next.
        let (third, _) = &expected[2];
        let mut between = *third.as_bytes();
        if let Some(last) = between.last_mut() {
            *last = last.wrapping_add(1);
        }
        let between = Sha256::from_bytes(between);
        let rest = catalog.blobs_used(Some(&between), 100).expect("walk");
        assert_eq!(rest, expected[3..], "{name}: after a digest between two");
        assert!(
            catalog
                .blobs_used(expected.last().map(|(sha, _)| sha), 100)
                .expect("walk")
                .is_empty(),
            "{name}: nothing after the last"
        );
    }
}

#[test]
fn catalogs_tally_records_by_node_state_service_and_channel_as_they_change() {
    use crate::domain::plan::{FinalAction, RetentionStart};
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let node = |c: &str| NodeCode::parse(c).expect("a node");
        let (fac, rh) = (node("FIN-FAC"), node("RH"));
        let tally = |node: &NodeCode, state, service: Option<&str>, channel: Option<&str>| super::Tally {
            node: node.clone(),
            state,
            service: service.map(str::to_owned),
            channel: channel.map(str::to_owned),
        };
        // A service named with what a key could mistake for a separator.
        let odd = "Ressources \"humaines\"\0/ \u{2019}RH";
        let mut a = record(1, "FIN-FAC-2024-000001");
        a.service = Some("Finances".into());
        let mut b = record(2, "FIN-FAC-2024-000002");
        b.service = Some("Finances".into());
        b.channel = Some("dossier:scans".into());
        let mut c = record(3, "RH-2024-000003");
        c.node = rh.clone();
        c.service = Some(odd.into());
        catalog
            .apply(
                1,
                vec![
                    CatalogWrite::PutRecord(Box::new(a.clone())),
                    CatalogWrite::PutRecord(Box::new(b.clone())),
                    CatalogWrite::PutRecord(Box::new(c.clone())),
                    // Stored again as it was: counted once.
                    CatalogWrite::PutRecord(Box::new(a.clone())),
                ],
            )
            .expect("apply");
        let active = RecordState::Active;
        assert_eq!(
            catalog.tallies().expect("tallies"),
            [
                (tally(&fac, active, Some("Finances"), None), 1),
                (tally(&fac, active, Some("Finances"), Some("dossier:scans")), 1),
                (tally(&rh, active, Some(odd), None), 1),
            ],
            "{name}"
        );
        // In one event: b's service changes, then b is destroyed; a moves
        // to RH. The tallies they leave empty are not listed.
        let mut b_renamed = b.clone();
        b_renamed.service = Some("Achats".into());
        let mut b_gone = destroyed(b_renamed.clone());
        b_gone.state = RecordState::Destroyed;
        let mut a_rh = a.clone();
        a_rh.node = rh.clone();
        catalog
            .apply(
                2,
                vec![
                    CatalogWrite::PutRecord(Box::new(b_renamed)),
                    CatalogWrite::PutRecord(Box::new(b_gone)),
                    CatalogWrite::PutRecord(Box::new(a_rh)),
                ],
            )
            .expect("apply");
        let expected = [
            (
                tally(&fac, RecordState::Destroyed, Some("Achats"), Some("dossier:scans")),
                1,
            ),
            (tally(&rh, active, Some("Finances"), None), 1),
            (tally(&rh, active, Some(odd), None), 1),
        ];
        assert_eq!(catalog.tallies().expect("tallies"), expected, "{name}");
        assert_eq!(
            catalog.tallies().expect("tallies"),
            tallies_by_scan(&*catalog),
            "{name}"
        );
        assert_eq!(
            catalog.records_by_node().expect("counts"),
            BTreeMap::from([(fac.clone(), 1), (rh.clone(), 2)]),
            "{name}: a destroyed record stays filed in its node"
        );
        // Rules whose start changes re-index the nodes' records: their
        // tallies do not move.
        let closing = |rule| {
            node_rule(
                rule,
                10,
                0,
                RetentionStart::Event("closing".into()),
                FinalAction::Destroy,
            )
        };
        catalog
            .apply(3, vec![rules(Some(closing("FACTURES")), Some(closing("DOSSIERS")))])
            .expect("apply");
        assert_eq!(catalog.tallies().expect("tallies"), expected, "{name}: after the rules");
        catalog.clear().expect("clear");
        assert!(catalog.tallies().expect("tallies").is_empty(), "{name}: cleared");
    }
}

#[test]
fn catalogs_hold_what_retention_depends_on_by_node_and_reckon_due_marks_from_the_rules() {
    use crate::domain::plan::{FinalAction, RetentionStart};
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let node = |c: &str| NodeCode::parse(c).expect("a node");
        let (fac, rh) = (node("FIN-FAC"), node("RH"));
        let mark = |date: &str, rule: &str, final_action| crate::domain::record::DueMark {
            date: day(date),
            rule: rule.into(),
            final_action,
        };
        let factures = |years| node_rule("FACTURES", years, 0, RetentionStart::Date, FinalAction::Destroy);
        let contrats = node_rule(
            "CONTRATS",
            5,
            0,
            RetentionStart::Field("fin_contrat".into()),
            FinalAction::Review,
        );
        let mut a = record(1, "FIN-FAC-2024-000001");
        a.fields = BTreeMap::from([
            ("fin_contrat".to_owned(), " 2025-06-30 ".to_owned()),
            ("objet".to_owned(), "Papeterie".to_owned()),
        ]);
        a.events = BTreeMap::from([("closing".to_owned(), day("2024-12-31"))]);
        a.review = Some(crate::domain::record::ReviewDecision {
            decision: FinalAction::Keep,
            reason: "Intérêt historique".into(),
            at: time(5),
            by: "claire (archivist)".into(),
            seq: 5,
        });
        let b = record(2, "FIN-FAC-2024-000002");
        catalog
            .apply(
                1,
                vec![
                    rules(Some(factures(10)), Some(contrats.clone())),
                    CatalogWrite::PutRecord(Box::new(b.clone())),
                    CatalogWrite::PutRecord(Box::new(a.clone())),
                ],
            )
            .expect("apply");
        let held = catalog.retention_in(&fac).expect("retention");
        assert_eq!(
            held.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            [a.id, b.id],
            "{name}: id order"
        );
        let entry = &held[0].1;
        assert_eq!(entry.reference, a.reference, "{name}");
        assert_eq!(entry.date, a.date, "{name}");
        assert_eq!(
            entry.date_fields,
            BTreeMap::from([("fin_contrat".to_owned(), " 2025-06-30 ".to_owned())]),
            "{name}: the fields that hold a date"
        );
        assert_eq!(entry.events, a.events, "{name}");
        assert_eq!(entry.decision, Some(FinalAction::Keep), "{name}");
        let ten_years = Some(mark("2034-03-15", "FACTURES", FinalAction::Destroy));
        assert_eq!(entry.due, ten_years, "{name}: reckoned from the rules");
        let mut expected = a.clone();
        expected.due = ten_years.clone();
        assert_eq!(
            catalog.record(&a.id).expect("read"),
            Some(expected),
            "{name}: read as put, with its due mark"
        );

        // A longer duration: every record of the node reads with its new
        // due date, and the listing follows, without a record written.
        catalog
            .apply(2, vec![rules(Some(factures(12)), Some(contrats.clone()))])
            .expect("apply");
        let twelve_years = Some(mark("2036-03-15", "FACTURES", FinalAction::Destroy));
        assert_eq!(
            catalog.record(&a.id).expect("read").and_then(|r| r.due),
            twelve_years,
            "{name}"
        );
        assert_eq!(
            catalog.retention_in(&fac).expect("retention")[1].1.due,
            twelve_years,
            "{name}"
        );
        let listed: Vec<Record> = catalog.records().map(|r| r.expect("record")).collect();
        assert_eq!(
            listed.iter().map(|r| r.due.clone()).collect::<Vec<_>>(),
            [twelve_years.clone(), twelve_years.clone()],
            "{name}: every record, with its due mark"
        );
        let due: Vec<RecordId> = catalog
            .due_until(day("2036-03-15"))
            .map(|e| e.expect("due").1)
            .collect();
        assert_eq!(due, [a.id, b.id], "{name}");
        assert!(catalog.due_until(day("2036-03-14")).next().is_none(), "{name}");

        // Moved to RH: its rule starts on a field and ends on review, which
        // the archivist decided.
        let mut moved = a.clone();
        moved.node = rh.clone();
        catalog
            .apply(3, vec![CatalogWrite::PutRecord(Box::new(moved.clone()))])
            .expect("apply");
        assert_eq!(
            catalog
                .retention_in(&fac)
                .expect("retention")
                .iter()
                .map(|(id, _)| *id)
                .collect::<Vec<_>>(),
            [b.id],
            "{name}"
        );
        let contract = Some(mark("2030-06-30", "CONTRATS", FinalAction::Keep));
        assert_eq!(
            catalog.retention_in(&rh).expect("retention")[0].1.due,
            contract,
            "{name}"
        );
        moved.due = contract;
        assert_eq!(catalog.record(&a.id).expect("read"), Some(moved), "{name}");
        let listed: Vec<_> = catalog.due_until(day("2040-01-01")).map(|e| e.expect("due")).collect();
        assert_eq!(
            listed,
            [
                (
                    day("2030-06-30"),
                    a.id,
                    DueEntry {
                        reference: a.reference.clone(),
                        node: rh.clone(),
                        rule: "CONTRATS".into(),
                        final_action: FinalAction::Keep,
                    }
                ),
                (
                    day("2036-03-15"),
                    b.id,
                    DueEntry {
                        reference: b.reference.clone(),
                        node: fac.clone(),
                        rule: "FACTURES".into(),
                        final_action: FinalAction::Destroy,
                    }
                ),
            ],
            "{name}: the entries as listed"
        );

        // Destroyed: due no more.
        let gone = destroyed(b.clone());
        catalog
            .apply(4, vec![CatalogWrite::PutRecord(Box::new(gone))])
            .expect("apply");
        assert_eq!(catalog.record(&b.id).expect("read").and_then(|r| r.due), None, "{name}");
        assert_eq!(catalog.retention_in(&fac).expect("retention")[0].1.due, None, "{name}");
        assert_eq!(catalog.due_until(day("2040-01-01")).count(), 1, "{name}");
        assert_eq!(
            catalog
                .due_counts(day("2040-01-01"))
                .expect("counts")
                .iter()
                .map(|(_, _, n)| n)
                .sum::<u64>(),
            1,
            "{name}: counted as listed"
        );
    }
}

#[test]
fn catalog_due_index_lists_by_date_then_id_and_follows_starts_and_moves() {
    use crate::domain::plan::{FinalAction, RetentionStart};
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let node = |c: &str| NodeCode::parse(c).expect("a node");
        let on = |n: u128, node_code: &str, date: &str| {
            let mut r = record(n, &format!("R{n}"));
            r.node = node(node_code);
            r.date = day(date);
            r
        };
        let month = node_rule("MOIS", 0, 1, RetentionStart::Date, FinalAction::Destroy);
        let year = node_rule("AN", 1, 0, RetentionStart::Date, FinalAction::Destroy);
        // Three records due on 28 February 2025 from three starts, in two
        // nodes; the later start has the lower id.
        let records = [
            on(1, "FIN-FAC", "2025-01-31"),
            on(2, "RH", "2024-02-28"),
            on(3, "FIN-FAC", "2025-01-29"),
            on(4, "FIN-FAC", "2025-01-27"),
            on(5, "RH", "2024-06-01"),
        ];
        let mut writes = vec![rules(Some(month.clone()), Some(year.clone()))];
        writes.extend(records.iter().map(|r| CatalogWrite::PutRecord(Box::new(r.clone()))));
        catalog.apply(1, writes).expect("apply");
        let listed = |until: &str| -> Vec<(NaiveDate, RecordId)> {
            let entries: Vec<_> = catalog.due_until(day(until)).map(|e| e.expect("due")).collect();
            // The counts say what the listing lists, by node and due date.
            let mut counted: BTreeMap<(NodeCode, NaiveDate), u64> = BTreeMap::new();
            for (date, _, entry) in &entries {
                *counted.entry((entry.node.clone(), *date)).or_default() += 1;
            }
            let counts = catalog.due_counts(day(until)).expect("counts");
            assert_eq!(
                counts,
                counted.into_iter().map(|((n, d), c)| (n, d, c)).collect::<Vec<_>>(),
                "{name}: the due counts until {until}"
            );
            entries.into_iter().map(|(date, id, _)| (date, id)).collect()
        };
        let id = |n: usize| records[n - 1].id;
        assert_eq!(
            listed("2025-02-28"),
            [
                (day("2025-02-27"), id(4)),
                (day("2025-02-28"), id(1)),
                (day("2025-02-28"), id(2)),
                (day("2025-02-28"), id(3)),
            ],
            "{name}: by date, then id"
        );
        assert_eq!(
            listed("2025-02-27"),
            [(day("2025-02-27"), id(4))],
            "{name}: the day itself is due"
        );
        assert!(listed("2025-02-26").is_empty(), "{name}");
        assert_eq!(listed("2025-12-31").len(), 5, "{name}");

        // Moved to the month's node: due a month after its date.
        let mut moved = records[4].clone();
        moved.node = node("FIN-FAC");
        catalog
            .apply(2, vec![CatalogWrite::PutRecord(Box::new(moved))])
            .expect("apply");
        assert_eq!(listed("2024-12-31"), [(day("2024-07-01"), id(5))], "{name}: moved");

        // FIN-FAC's rule now starts at closing: only a closed record is
        // due; RH's turns permanent: its record is due no more.
        let mut closed = records[0].clone();
        closed.events = BTreeMap::from([("closing".to_owned(), day("2025-03-31"))]);
        catalog
            .apply(
                3,
                vec![
                    rules(
                        Some(node_rule("MOIS", 0, 1, RetentionStart::Closing, FinalAction::Destroy)),
                        Some(crate::domain::retention::NodeRule {
                            duration: crate::domain::plan::RetentionDuration::Permanent,
                            ..year.clone()
                        }),
                    ),
                    CatalogWrite::PutRecord(Box::new(closed)),
                ],
            )
            .expect("apply");
        assert_eq!(
            listed("2030-12-31"),
            [(day("2025-04-30"), id(1))],
            "{name}: started anew"
        );
        assert_eq!(
            catalog.record(&id(2)).expect("read").and_then(|r| r.due),
            None,
            "{name}"
        );
        // And back: every record where it was.
        catalog.apply(4, vec![rules(Some(month), Some(year))]).expect("apply");
        assert_eq!(listed("2025-12-31").len(), 5, "{name}: placed again");
        assert_eq!(
            listed("2025-02-27"),
            [(day("2024-07-01"), id(5)), (day("2025-02-27"), id(4))],
            "{name}"
        );
    }
}

#[test]
fn catalogs_keep_plan_versions_holds_and_tokens() {
    for Subject {
        name, port: catalog, ..
    } in catalogs()
    {
        let version = |number: u32| PlanVersionEntry {
            number,
            plan_id: "communes-fr".into(),
            label: format!("v{number}"),
            text: Sha256::of(format!("plan {number}").as_bytes()),
            seq: u64::from(number),
            time: time(i64::from(number)),
            actor: "contract".into(),
        };
        catalog
            .apply(1, vec![CatalogWrite::PutPlanVersion(version(1))])
            .expect("apply");
        catalog
            .apply(2, vec![CatalogWrite::PutPlanVersion(version(2))])
            .expect("apply");
        assert_eq!(
            catalog.plan_versions().expect("versions"),
            [version(1), version(2)],
            "{name}: oldest first"
        );

        let hold = |id: u64| Hold {
            id,
            scope: HoldScope::Node(NodeCode::parse("RH").expect("a node")),
            reason: "contentieux".into(),
            owner: "archives".into(),
            review: None,
            placed_at: time(id as i64),
            placed_by: "contract".into(),
            lifted: None,
        };
        catalog
            .apply(3, vec![CatalogWrite::PutHold(Box::new(hold(9)))])
            .expect("apply");
        catalog
            .apply(4, vec![CatalogWrite::PutHold(Box::new(hold(4)))])
            .expect("apply");
        assert_eq!(catalog.hold(9).expect("hold"), Some(hold(9)), "{name}");
        assert_eq!(catalog.hold(5).expect("hold"), None, "{name}");
        let ids: Vec<u64> = catalog.holds().expect("holds").iter().map(|h| h.id).collect();
        assert_eq!(ids, [4, 9], "{name}: oldest (lowest seq) first");

        let token = TokenEntry {
            token_sha256: Sha256::of(b"coffre_secret"),
            role: crate::domain::role::Role::Agent,
            name: "guichet".into(),
            seq: 5,
            account: Some(crate::domain::account::UserName::parse("alice").expect("user")),
            application: false,
            created_at: Some(time(5)),
            expires_at: Some(time(90 * 86_400)),
            revoked: None,
        };
        catalog
            .apply(5, vec![CatalogWrite::PutToken(token.clone())])
            .expect("apply");
        assert_eq!(
            catalog.token(&token.token_sha256).expect("token"),
            Some(token.clone()),
            "{name}"
        );
        assert_eq!(catalog.token(&Sha256::of(b"other")).expect("token"), None, "{name}");
        // A revocation replaces the entry under the same hash.
        let revoked = TokenEntry {
            revoked: Some(crate::store::TokenRevocation {
                at: time(6),
                by: "alice (agent)".into(),
                reason: Some("perdu".into()),
            }),
            ..token.clone()
        };
        catalog
            .apply(6, vec![CatalogWrite::PutToken(revoked.clone())])
            .expect("apply");
        assert_eq!(catalog.tokens().expect("tokens"), [revoked], "{name}");

        // Readings, listed by record and by who, oldest first.
        let record_a = RecordId::new_at(time(1));
        let record_b = RecordId::new_at(time(2));
        let reading = |seq: u64, who: &str, record: RecordId| crate::domain::trail::Consultation {
            seq,
            at: time(seq as i64),
            actor: format!("{who} (agent)"),
            who: who.into(),
            record,
            reference: Reference::from_naming(format!("RH-{seq}")),
            reading: crate::domain::trail::Reading::Content,
            version: Some(1),
            from: Some("10.0.0.1".into()),
        };
        for (seq, who, record) in [(7, "alice", record_a), (8, "bob", record_a), (9, "alice", record_b)] {
            catalog
                .apply(
                    seq,
                    vec![CatalogWrite::PutConsultation(Box::new(reading(seq, who, record)))],
                )
                .expect("apply");
        }
        let page = |of: &ConsultationsOf, after: u64, limit: usize| -> Vec<u64> {
            catalog
                .consultations(of, after, limit)
                .expect("consultations")
                .iter()
                .map(|c| c.seq)
                .collect()
        };
        let seqs = |of: ConsultationsOf| page(&of, 0, usize::MAX);
        assert_eq!(seqs(ConsultationsOf::Record(record_a)), [7, 8], "{name}");
        assert_eq!(seqs(ConsultationsOf::Who("alice".into())), [7, 9], "{name}");
        // By pages: at most `limit`, after a seq, never past the reader.
        let alice = ConsultationsOf::Who("alice".into());
        assert_eq!(page(&alice, 0, 1), [7], "{name}");
        assert_eq!(page(&alice, 7, 1), [9], "{name}");
        assert_eq!(page(&alice, 8, 5), [9], "{name}");
        assert_eq!(page(&alice, 9, 5), Vec::<u64>::new(), "{name}");
        assert_eq!(page(&alice, u64::MAX, 5), Vec::<u64>::new(), "{name}");
        assert_eq!(page(&ConsultationsOf::Record(record_a), 7, 5), [8], "{name}");
        assert_eq!(
            page(&ConsultationsOf::Who("bob".into()), 0, 0),
            Vec::<u64>::new(),
            "{name}"
        );
        assert_eq!(
            seqs(ConsultationsOf::Who("ali".into())),
            Vec::<u64>::new(),
            "{name}: a whole name"
        );
        assert_eq!(
            catalog
                .consultations(&ConsultationsOf::Record(record_b), 0, 10)
                .expect("consultations"),
            [reading(9, "alice", record_b)],
            "{name}"
        );

        let account = |user: &str, disabled: bool| crate::domain::account::Account {
            user: crate::domain::account::UserName::parse(user).expect("user"),
            display_name: format!("Personne {user}"),
            role: crate::domain::role::Role::Agent,
            disabled,
            created: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            password_set: None,
            // A directory account carries its service through the store.
            directory: disabled,
            service: disabled.then(|| "Direction des finances".to_owned()),
            email: disabled.then(|| "finances@cd99.example".to_owned()),
        };
        catalog
            .apply(
                6,
                vec![
                    CatalogWrite::PutAccount(Box::new(account("zoe", false))),
                    CatalogWrite::PutAccount(Box::new(account("alice", false))),
                ],
            )
            .expect("apply");
        catalog
            .apply(7, vec![CatalogWrite::PutAccount(Box::new(account("alice", true)))])
            .expect("apply");
        let alice = crate::domain::account::UserName::parse("alice").expect("user");
        assert_eq!(
            catalog.account(&alice).expect("account"),
            Some(account("alice", true)),
            "{name}: replaced"
        );
        let users: Vec<String> = catalog
            .accounts()
            .expect("accounts")
            .iter()
            .map(|a| a.user.to_string())
            .collect();
        assert_eq!(users, ["alice", "zoe"], "{name}: by user name");
        assert_eq!(
            catalog
                .account(&crate::domain::account::UserName::parse("bob").expect("user"))
                .expect("account"),
            None,
            "{name}"
        );
        assert_eq!(catalog.last_verification().expect("verification"), None, "{name}");
        assert_eq!(catalog.identity().expect("identity"), None, "{name}");
        let identity = |name: &str| crate::domain::identity::Identity {
            name: name.into(),
            ..Default::default()
        };
        catalog
            .apply(
                10,
                vec![CatalogWrite::PutIdentity(Box::new(identity("Commune d'avant")))],
            )
            .expect("apply");
        catalog
            .apply(
                11,
                vec![CatalogWrite::PutIdentity(Box::new(identity("Commune nouvelle")))],
            )
            .expect("apply");
        assert_eq!(
            catalog.identity().expect("identity"),
            Some(identity("Commune nouvelle")),
            "{name}: the latest"
        );
        let verification = |seq: u64, failures: u64| crate::domain::integrity::Verification {
            seq,
            time: chrono::DateTime::from_timestamp(1_700_000_000 + seq as i64, 0).unwrap_or_default(),
            actor: "alice (auditor)".into(),
            through_seq: seq - 1,
            events_checked: seq - 1,
            blobs_checked: 3,
            bytes_checked: 1024,
            failures,
        };
        catalog
            .apply(8, vec![CatalogWrite::PutVerification(verification(8, 2))])
            .expect("apply");
        catalog
            .apply(9, vec![CatalogWrite::PutVerification(verification(9, 0))])
            .expect("apply");
        assert_eq!(
            catalog.last_verification().expect("verification"),
            Some(verification(9, 0)),
            "{name}: the latest"
        );
        assert!(catalog.seals().expect("seals").is_empty(), "{name}");
        assert!(catalog.latest_seal().expect("seal").is_none(), "{name}");
        assert!(catalog.disposals().expect("disposals").is_empty(), "{name}");
        assert!(catalog.transfers().expect("transfers").is_empty(), "{name}");
        assert_eq!(catalog.disposal(1).expect("disposal"), None, "{name}");
        assert_eq!(catalog.transfer(1).expect("transfer"), None, "{name}");
    }
}

// ---- Merkle tree ---------------------------------------------------------

fn trees() -> Vec<Subject<dyn MerkleTree>> {
    let file_dir = dir();
    vec![
        Subject {
            name: "FileTree",
            port: Arc::new(FileTree::open(file_dir.path()).expect("open")),
            _dir: Some(file_dir),
        },
        Subject {
            name: "MemoryTree",
            port: Arc::new(MemoryTree::default()),
            _dir: None,
        },
    ]
}

fn leaf(n: u64) -> Sha256 {
    Sha256::of(&n.to_be_bytes())
}

/// The RFC 9162 hash of leaves `from..to` (a perfect subtree), computed
/// from its definition.
fn subtree(from: u64, to: u64) -> Sha256 {
    if to - from == 1 {
        return leaf(from);
    }
    let mid = from + (to - from) / 2;
    crate::domain::merkle::node_hash(&subtree(from, mid), &subtree(mid, to))
}

#[test]
fn merkle_trees_store_perfect_subtrees_and_cut_back() {
    for Subject { name, port: tree, _dir } in trees() {
        assert_eq!(tree.size(), 0, "{name}");
        assert!(tree.append(1, leaf(1)).is_err(), "{name}: only the next index");
        for n in 0..13 {
            tree.append(n, leaf(n)).expect("append");
        }
        assert_eq!(tree.size(), 13, "{name}");
        assert!(tree.append(20, leaf(20)).is_err(), "{name}");
        for level in 0..4u32 {
            let width = 1u64 << level;
            for index in 0..13 / width {
                assert_eq!(
                    tree.perfect(level, index).expect("perfect"),
                    subtree(index * width, (index + 1) * width),
                    "{name}: level {level} index {index}"
                );
            }
        }
        tree.sync().expect("sync");
        tree.truncate(6).expect("truncate");
        assert_eq!(tree.size(), 6, "{name}");
        assert!(tree.perfect(2, 1).is_err(), "{name}: leaves 4..8 are gone");
        for n in 6..8 {
            tree.append(n, leaf(n)).expect("append");
        }
        assert_eq!(
            tree.perfect(3, 0).expect("perfect"),
            subtree(0, 8),
            "{name}: rebuilt the same"
        );
        tree.truncate(100).expect("truncating past the end changes nothing");
        assert_eq!(tree.size(), 8, "{name}");
    }
}

// ---- Text index (one adapter) --------------------------------------------

fn document(n: u128, title: &str, text: &str) -> IndexDocument {
    let node = NodeCode::parse("FIN-FAC").expect("a node");
    IndexDocument {
        id: RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).expect("an id"),
        reference: Reference::from_naming(format!("FIN-FAC-2024-{n:06}")),
        title: title.into(),
        node: node.clone(),
        node_path: vec![NodeCode::parse("FIN").expect("a node"), node],
        service: None,
        document_type: None,
        date: day("2024-03-15"),
        media_type: "text/plain".into(),
        content: Sha256::of(text.as_bytes()),
        ingested_at: time(n as i64),
        text: text.into(),
        extractor: "text".into(),
        extraction_error: None,
        extractor_version: 1,
        reader: "node:FIN-FAC".into(),
        fields: Vec::new(),
    }
}

fn query(text: &str) -> SearchQuery {
    SearchQuery {
        limit: 10,
        readers: vec!["node:FIN-FAC".into()],
        ..SearchQuery::for_text(text)
    }
}

#[test]
fn text_indexes_show_what_is_committed_once_and_purge_it() {
    let index_dir = dir();
    let subjects: Vec<Subject<dyn TextIndex>> = vec![Subject {
        name: "TantivyIndex",
        port: Arc::new(TantivyIndex::open(index_dir.path()).expect("open")),
        _dir: None,
    }];
    for Subject {
        name,
        port: index,
        _dir,
    } in subjects
    {
        assert_eq!(index.applied().expect("applied"), 0, "{name}");
        index
            .put(&document(1, "Facture boulangerie", "pain et croissants"))
            .expect("put");
        assert_eq!(
            index.search(&query("croissants")).expect("search").total,
            0,
            "{name}: nothing before commit"
        );
        index.commit(3).expect("commit");
        assert_eq!(index.applied().expect("applied"), 3, "{name}");
        assert_eq!(index.search(&query("croissants")).expect("search").total, 1, "{name}");
        // Put again: replaced, never found twice.
        index
            .put(&document(1, "Facture boulangerie", "pain et brioches"))
            .expect("put");
        index.commit(4).expect("commit");
        assert_eq!(index.search(&query("croissants")).expect("search").total, 0, "{name}");
        assert_eq!(index.search(&query("brioches")).expect("search").total, 1, "{name}");
        let id = document(1, "", "").id;
        assert_eq!(index.matching_ids(&query("brioches")).expect("ids"), [id], "{name}");
        // The text of the same content by the same extractors is reused,
        // never that of other content, other extractors, or a failure.
        let brioches = Sha256::of(b"pain et brioches");
        assert_eq!(
            index.reusable_text(&id, &brioches, 1).expect("reusable"),
            Some(("pain et brioches".to_owned(), "text".to_owned())),
            "{name}"
        );
        assert_eq!(
            index.reusable_text(&id, &Sha256::of(b"x"), 1).expect("reusable"),
            None,
            "{name}"
        );
        assert_eq!(
            index.reusable_text(&id, &brioches, 2).expect("reusable"),
            None,
            "{name}"
        );
        let mut failed = document(2, "Scan", "");
        failed.extraction_error = Some("OCR off".into());
        index.put(&failed).expect("put");
        index.commit(4).expect("commit");
        assert_eq!(
            index.reusable_text(&failed.id, &failed.content, 1).expect("reusable"),
            None,
            "{name}"
        );
        assert_eq!(
            index.extraction_failures().expect("failures"),
            [(failed.id, failed.extractor.clone())],
            "{name}: a failure is listed with its extractor"
        );
        index.purge(&[failed.id], 4).expect("purge");
        assert!(index.text_status(&id).expect("status").is_some(), "{name}");
        assert_eq!(
            index.needing_extraction(1).expect("needing"),
            Vec::<RecordId>::new(),
            "{name}"
        );
        assert_eq!(
            index.needing_extraction(2).expect("needing"),
            [id],
            "{name}: older extractors"
        );
        // A reader key the document lacks sees nothing.
        let mut other = query("brioches");
        other.readers = vec!["node:RH".into()];
        assert_eq!(index.search(&other).expect("search").total, 0, "{name}");
        assert!(
            index.search(&query("(brioches ; l'pain")).is_ok_and(|r| r.total == 1),
            "{name}: punctuation is read as words"
        );
        assert!(
            matches!(index.search(&query("nosuchfield:x")), Err(IndexError::Query(_))),
            "{name}: a misused operator is refused as such"
        );
        // A document added and discarded before a commit is not there;
        // added again, it is found once.
        let new = document(7, "Facture primeur", "pommes et poires");
        index.add(&new).expect("add");
        index.discard().expect("discard");
        index.commit(4).expect("commit");
        assert_eq!(index.search(&query("poires")).expect("search").total, 0, "{name}");
        index.add(&new).expect("add");
        index.commit(4).expect("commit");
        assert_eq!(index.search(&query("poires")).expect("search").total, 1, "{name}");
        assert_eq!(index.matching_ids(&query("poires")).expect("ids"), [new.id], "{name}");
        index.purge(&[new.id], 4).expect("purge");
        index.purge(&[id], 5).expect("purge");
        assert_eq!(index.applied().expect("applied"), 5, "{name}");
        assert_eq!(index.search(&query("brioches")).expect("search").total, 0, "{name}");
        assert!(index.text_status(&id).expect("status").is_none(), "{name}");
    }
    drop(index_dir);
}

#[test]
fn the_fjall_catalog_keeps_the_rules_in_force_when_reopened() {
    use crate::domain::plan::{FinalAction, RetentionStart};
    let dir = dir();
    let path = dir.path().join("catalog");
    let r = record(1, "FIN-FAC-2024-000001");
    {
        let catalog = FjallCatalog::open(&path).expect("open");
        catalog
            .apply(
                1,
                vec![
                    rules(
                        Some(node_rule("FACTURES", 10, 0, RetentionStart::Date, FinalAction::Destroy)),
                        None,
                    ),
                    CatalogWrite::PutRecord(Box::new(r.clone())),
                ],
            )
            .expect("apply");
        catalog.flush().expect("flush");
    }
    let catalog = FjallCatalog::open(&path).expect("reopen");
    assert_eq!(
        catalog.record(&r.id).expect("read").and_then(|r| r.due).map(|d| d.date),
        Some(day("2034-03-15"))
    );
    assert_eq!(catalog.due_until(day("2034-03-15")).count(), 1);
    // A rebuild starts from no rules.
    catalog.clear().expect("clear");
    catalog
        .apply(1, vec![CatalogWrite::PutRecord(Box::new(r.clone()))])
        .expect("apply");
    assert_eq!(catalog.record(&r.id).expect("read").and_then(|r| r.due), None);
    assert_eq!(catalog.due_until(day("2100-01-01")).count(), 0);
}
