//! Small blobs in packs: `blobs/packs/<n>.pack`, found through
//! `blobs/packs/index`.
//!
//! A file system pays for each file it creates (an inode, a folder entry,
//! their flushes): for blobs of a few KiB (scanned pages, e-mails, invoices,
//! and every deposit's metadata document) that costs more than their bytes.
//! Blobs up to [`PACKED_MAX`] bytes are therefore appended to a pack, as a
//! log-structured store does (Haystack, git's packs):
//!
//! ```text
//! <n>.pack   entries, each: "cpk1" | sha256 (32) | length (u32 LE) | bytes
//!            (an erased entry: "cpk0" and its bytes zeroed)
//! index      entries of 57 bytes, each: kind (1 stored, 2 erased) | pack (u32)
//!            | offset of the entry (u64) | length (u32) | sha256 (32)
//!            | check: the first 8 bytes of the SHA-256 of the 49 before
//! ```
//!
//! Packs and index are only appended to, except by an erasure, which zeroes
//! the entry's bytes where they lie (and gives their blocks back to the file
//! system) before it says so in the index. A batch of blobs is written to
//! the pack, the pack flushed, then their index entries written, the index
//! flushed: an index entry always names bytes already durable, and a crash
//! leaves at most entries at the pack's end that no index entry names
//! (never acknowledged), and an index entry cut short, dropped at the next
//! opening. The index is the packs' own table of contents: lost or damaged,
//! it is made again by reading the packs, each entry's bytes checked against
//! its digest. Its entries are held in memory: 48 bytes a blob, in a vector
//! sorted by digest (96 MB for a million records, two blobs each).

use crate::domain::hash::Sha256;
use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// The largest blob kept in a pack; larger ones are files of their own.
pub const PACKED_MAX: u64 = 64 * 1024;

/// The largest append buffer a pack's writer keeps for the next append.
const KEPT_BUFFER: usize = 16 * 1024 * 1024;

/// A pack grows to about this size, then the next one is begun.
const PACK_LIMIT: u64 = 1 << 30;

const STORED: [u8; 4] = *b"cpk1";
const ERASED: [u8; 4] = *b"cpk0";
/// An entry's header in a pack: mark, digest, length.
const HEADER: u64 = 40;
/// An index entry's size.
const ENTRY: usize = 57;
const KIND_STORED: u8 = 1;
const KIND_ERASED: u8 = 2;
const INDEX: &str = "index";

/// Where a packed blob lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The pack's number.
    pub pack: u32,
    /// Where its entry begins (its header).
    pub offset: u64,
    /// Its length in bytes.
    pub len: u32,
}

impl Place {
    /// Where its bytes begin in the pack.
    pub fn bytes_at(&self) -> u64 {
        self.offset + HEADER
    }
}

/// The pack file numbered `pack` in `dir`.
fn pack_path(dir: &Path, pack: u32) -> PathBuf {
    dir.join(format!("{pack:08}.pack"))
}

/// The packs of a blob store.
pub(super) struct Packs {
    dir: PathBuf,
    places: RwLock<Places>,
    readers: RwLock<HashMap<u32, Arc<File>>>,
    /// Made at opening, or at the first write of a store opened to read.
    writer: Mutex<Option<Writer>>,
    /// Opened to read packs another process writes (a copy folder that a
    /// primary writes and a follower reads): how much of the index is
    /// read; a blob not found reads what the index gained since.
    following: Option<Mutex<u64>>,
}

/// The pack being written and the index's end.
struct Writer {
    pack: u32,
    file: Arc<File>,
    end: u64,
    /// Packs written since their last flush (a batch may begin a pack).
    unflushed: Vec<Arc<File>>,
    /// A pack was begun: the folder's entry is to be flushed.
    begun: bool,
    index: File,
    index_end: u64,
    /// What an append writes, kept between appends: a batch of small
    /// deposits is megabytes, which allocated afresh each time were pages
    /// the system had to zero again.
    buffer: Vec<u8>,
}

impl Writer {
    /// Writes at the end of the last pack (begun if there is none) and of
    /// the index.
    fn open(dir: &Path) -> io::Result<Writer> {
        let pack = pack_numbers(dir)?.last().copied().unwrap_or(0);
        let path = pack_path(dir, pack);
        let begun = !path.exists();
        let file = Arc::new(open_pack(&path)?);
        let end = file.metadata()?.len();
        let index = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.join(INDEX))?;
        let index_end = index.metadata()?.len() / ENTRY as u64 * ENTRY as u64;
        Ok(Writer {
            pack,
            file,
            end,
            unflushed: Vec::new(),
            begun,
            index,
            index_end,
            buffer: Vec::new(),
        })
    }
}

/// An index entry taken into the places.
fn apply(places: &mut Places, kind: u8, sha256: Sha256, place: Place) {
    if kind == KIND_STORED {
        places.insert(sha256, place);
    } else if places.get(&sha256) == Some(&place) {
        places.remove(&sha256);
    }
}

/// Where each packed blob lies: those read at opening in a vector sorted
/// by digest (48 bytes a blob, where a hash map would take up to twice
/// that), those stored or erased since in a map, merged into the vector
/// once it holds a quarter as many.
#[derive(Default)]
pub(super) struct Places {
    sorted: Vec<(Sha256, Place)>,
    changed: HashMap<Sha256, Option<Place>>,
}

impl Places {
    /// The places an index's entries (in their order) leave.
    fn from_entries(mut entries: Vec<(u8, Sha256, Place)>) -> Places {
        // Stable: a blob's entries keep their order.
        entries.sort_by_key(|(_, sha256, _)| *sha256);
        let mut sorted: Vec<(Sha256, Place)> = Vec::with_capacity(entries.len());
        for (kind, sha256, place) in entries {
            let last = sorted.last().filter(|(s, _)| *s == sha256).map(|(_, p)| *p);
            match (kind, last) {
                (KIND_STORED, Some(_)) => {
                    if let Some(entry) = sorted.last_mut() {
                        entry.1 = place;
                    }
                }
                (KIND_STORED, None) => sorted.push((sha256, place)),
                (_, Some(was)) if was == place => {
                    sorted.pop();
                }
                _ => {}
            }
        }
        sorted.shrink_to_fit();
        Places {
            sorted,
            changed: HashMap::new(),
        }
    }

    fn get(&self, sha256: &Sha256) -> Option<&Place> {
        match self.changed.get(sha256) {
            Some(changed) => changed.as_ref(),
            None => self
                .sorted
                .binary_search_by(|(s, _)| s.cmp(sha256))
                .ok()
                .and_then(|at| self.sorted.get(at))
                .map(|(_, place)| place),
        }
    }

    fn insert(&mut self, sha256: Sha256, place: Place) {
        self.changed.insert(sha256, Some(place));
        self.settle();
    }

    fn remove(&mut self, sha256: &Sha256) {
        if self.get(sha256).is_some() {
            self.changed.insert(*sha256, None);
            self.settle();
        }
    }

    /// Merges the changes into the vector once they are many.
    fn settle(&mut self) {
        if self.changed.len() <= 4096 + self.sorted.len() / 4 {
            return;
        }
        let changed = std::mem::take(&mut self.changed);
        self.sorted.retain(|(sha256, _)| !changed.contains_key(sha256));
        self.sorted.extend(
            changed
                .into_iter()
                .filter_map(|(sha256, place)| place.map(|p| (sha256, p))),
        );
        self.sorted.sort_unstable_by_key(|(sha256, _)| *sha256);
    }

    /// Every blob, in no particular order.
    fn keys(&self) -> Vec<Sha256> {
        let mut keys: Vec<Sha256> = self
            .sorted
            .iter()
            .filter(|(sha256, _)| !self.changed.contains_key(sha256))
            .map(|(sha256, _)| *sha256)
            .collect();
        keys.extend(
            self.changed
                .iter()
                .filter(|(_, p)| p.is_some())
                .map(|(sha256, _)| *sha256),
        );
        keys
    }
}

fn check_of(entry: &[u8]) -> [u8; 8] {
    let digest = Sha256::of(entry);
    let mut check = [0u8; 8];
    check.copy_from_slice(&digest.as_bytes()[..8]);
    check
}

fn index_entry(kind: u8, sha256: &Sha256, place: Place) -> [u8; ENTRY] {
    let mut entry = [0u8; ENTRY];
    entry[0] = kind;
    entry[1..5].copy_from_slice(&place.pack.to_le_bytes());
    entry[5..13].copy_from_slice(&place.offset.to_le_bytes());
    entry[13..17].copy_from_slice(&place.len.to_le_bytes());
    entry[17..49].copy_from_slice(sha256.as_bytes());
    let check = check_of(&entry[..49]);
    entry[49..].copy_from_slice(&check);
    entry
}

/// An index entry read back: `None` if its check fails.
fn parse_entry(entry: &[u8]) -> Option<(u8, Sha256, Place)> {
    if entry.len() != ENTRY || check_of(&entry[..49]) != entry[49..] {
        return None;
    }
    let word = |range: std::ops::Range<usize>| entry.get(range).unwrap_or_default();
    let pack = u32::from_le_bytes(word(1..5).try_into().ok()?);
    let offset = u64::from_le_bytes(word(5..13).try_into().ok()?);
    let len = u32::from_le_bytes(word(13..17).try_into().ok()?);
    let sha256 = Sha256::from_bytes(word(17..49).try_into().ok()?);
    matches!(entry[0], KIND_STORED | KIND_ERASED).then_some((entry[0], sha256, Place { pack, offset, len }))
}

/// The packs in `dir`, by number.
fn pack_numbers(dir: &Path) -> io::Result<Vec<u32>> {
    let mut numbers = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(n) = name
            .to_str()
            .and_then(|n| n.strip_suffix(".pack"))
            .and_then(|n| n.parse::<u32>().ok())
        {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

fn open_pack(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

impl Packs {
    /// Opens the packs under `dir` (made if missing), reading the index
    /// (made again from the packs if missing or damaged).
    pub(super) fn open(dir: &Path) -> io::Result<Packs> {
        let made = !dir.exists();
        fs::create_dir_all(dir)?;
        let numbers = pack_numbers(dir)?;
        let index_path = dir.join(INDEX);
        let places = if !index_path.exists() && !numbers.is_empty() {
            tracing::warn!(dir = %dir.display(), "the packs' index is missing: made again from the packs");
            rebuild_index(dir, &numbers)?
        } else {
            match read_index(&index_path, true)? {
                Some((places, _)) => places,
                None => {
                    tracing::error!(dir = %dir.display(), "the packs' index is damaged: made again from the packs");
                    rebuild_index(dir, &numbers)?
                }
            }
        };
        let writer = Writer::open(dir)?;
        if writer.begun || made {
            writer.file.sync_all()?;
            writer.index.sync_all()?;
            super::blob_fs::sync_dir(dir)?;
            if made && let Some(parent) = dir.parent() {
                super::blob_fs::sync_dir(parent)?;
            }
        }
        let mut readers = HashMap::new();
        readers.insert(writer.pack, Arc::clone(&writer.file));
        Ok(Packs {
            dir: dir.to_owned(),
            places: RwLock::new(places),
            readers: RwLock::new(readers),
            writer: Mutex::new(Some(Writer { begun: false, ..writer })),
            following: None,
        })
    }

    /// Opens the packs under `dir` to read them while another process may
    /// write them: nothing is made, cut or written at opening.
    pub(super) fn open_to_read(dir: &Path) -> io::Result<Packs> {
        let (places, read) = match read_index(&dir.join(INDEX), false)? {
            Some(read) => read,
            None => {
                tracing::error!(dir = %dir.display(), "the packs' index is damaged: its blobs are not found until the store's own process makes it again");
                (Places::default(), 0)
            }
        };
        Ok(Packs {
            dir: dir.to_owned(),
            places: RwLock::new(places),
            readers: RwLock::new(HashMap::new()),
            writer: Mutex::new(None),
            following: Some(Mutex::new(read)),
        })
    }

    /// Where a blob lies, if packed; opened to read, the index's entries
    /// written since are read first when it is not known.
    pub(super) fn find(&self, sha256: &Sha256) -> io::Result<Option<Place>> {
        if let Some(place) = self.place(sha256) {
            return Ok(Some(place));
        }
        let Some(read) = &self.following else {
            return Ok(None);
        };
        let mut read = read.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = match File::open(self.dir.join(INDEX)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len > *read {
            let mut more = Vec::new();
            io::Seek::seek(&mut file, io::SeekFrom::Start(*read))?;
            file.take(len - *read).read_to_end(&mut more)?;
            let mut places = self.places.write().unwrap_or_else(|p| p.into_inner());
            for entry in more.chunks_exact(ENTRY) {
                // An entry being written stops the reading until it is whole.
                let Some((kind, sha256, place)) = parse_entry(entry) else {
                    break;
                };
                apply(&mut places, kind, sha256, place);
                *read += ENTRY as u64;
            }
        }
        Ok(self.place(sha256))
    }

    /// The writer, made at the first write of a store opened to read.
    fn with_writer<T>(&self, act: impl FnOnce(&mut Writer) -> io::Result<T>) -> io::Result<T> {
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        if writer.is_none() {
            *writer = Some(Writer::open(&self.dir)?);
        }
        match writer.as_mut() {
            Some(writer) => act(writer),
            None => Err(io::Error::other("the packs' writer could not be made")),
        }
    }

    /// The file of the pack numbered `pack`.
    pub(super) fn pack_file(&self, pack: u32) -> PathBuf {
        pack_path(&self.dir, pack)
    }

    /// Where a blob lies, if packed.
    pub(super) fn place(&self, sha256: &Sha256) -> Option<Place> {
        self.places
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(sha256)
            .copied()
    }

    /// Every packed blob.
    pub(super) fn list(&self) -> Vec<Sha256> {
        if self.following.is_some() {
            // Reads what the index gained (the digest looked for matters not).
            let _ = self.find(&Sha256::from_bytes([0; 32]));
        }
        self.places.read().unwrap_or_else(|p| p.into_inner()).keys()
    }

    fn reader(&self, pack: u32) -> io::Result<Arc<File>> {
        if let Some(file) = self.readers.read().unwrap_or_else(|p| p.into_inner()).get(&pack) {
            return Ok(Arc::clone(file));
        }
        let file = Arc::new(File::open(pack_path(&self.dir, pack))?);
        self.readers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(pack, Arc::clone(&file));
        Ok(file)
    }

    /// A packed blob's bytes as they lie (not checked), `None` if not packed.
    pub(super) fn read(&self, sha256: &Sha256) -> io::Result<Option<Vec<u8>>> {
        let Some(place) = self.find(sha256)? else {
            return Ok(None);
        };
        let mut bytes = vec![0u8; place.len as usize];
        let file = self.reader(place.pack)?;
        // A pack shorter than its index says (its end lost) fails with
        // `UnexpectedEof`.
        file.read_exact_at(&mut bytes, place.bytes_at())?;
        Ok(Some(bytes))
    }

    /// Writes `blobs` at the end of the pack (beginning the next one if it
    /// is full), not flushed; says where each lies.
    pub(super) fn append(&self, blobs: &[(Sha256, &[u8])]) -> io::Result<Vec<Place>> {
        self.with_writer(|writer| self.append_with(writer, blobs))
    }

    fn append_with(&self, writer: &mut Writer, blobs: &[(Sha256, &[u8])]) -> io::Result<Vec<Place>> {
        if writer.end >= PACK_LIMIT {
            let next = writer.pack + 1;
            let file = Arc::new(open_pack(&pack_path(&self.dir, next))?);
            let old = std::mem::replace(&mut writer.file, Arc::clone(&file));
            if !writer.unflushed.iter().any(|f| Arc::ptr_eq(f, &old)) {
                writer.unflushed.push(old);
            }
            writer.pack = next;
            writer.end = 0;
            writer.begun = true;
            self.readers
                .write()
                .unwrap_or_else(|p| p.into_inner())
                .insert(next, file);
        }
        let mut buffer = std::mem::take(&mut writer.buffer);
        buffer.clear();
        buffer.reserve(blobs.iter().map(|(_, b)| b.len() + HEADER as usize).sum());
        let mut places = Vec::with_capacity(blobs.len());
        for (sha256, bytes) in blobs {
            let len = u32::try_from(bytes.len()).map_err(|_| io::Error::other("a blob too large for a pack"))?;
            places.push(Place {
                pack: writer.pack,
                offset: writer.end + buffer.len() as u64,
                len,
            });
            buffer.extend_from_slice(&STORED);
            buffer.extend_from_slice(sha256.as_bytes());
            buffer.extend_from_slice(&len.to_le_bytes());
            buffer.extend_from_slice(bytes);
        }
        let written = writer.file.write_all_at(&buffer, writer.end);
        let len = buffer.len() as u64;
        // Kept unless a large batch made it larger than packs' batches
        // usually are.
        if buffer.capacity() <= KEPT_BUFFER {
            writer.buffer = buffer;
        }
        written?;
        writer.end += len;
        let file = Arc::clone(&writer.file);
        if !writer.unflushed.iter().any(|f| Arc::ptr_eq(f, &file)) {
            writer.unflushed.push(file);
        }
        Ok(places)
    }

    /// Flushes the packs written since their last flush (and the folder,
    /// if a pack was begun); how many flushes that took.
    pub(super) fn flush_packs(&self) -> io::Result<u64> {
        let (files, begun) = match self.writer.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            Some(writer) => (std::mem::take(&mut writer.unflushed), std::mem::take(&mut writer.begun)),
            None => return Ok(0),
        };
        let mut flushes = 0;
        for file in &files {
            if let Err(e) = file.sync_data() {
                self.unflushed_again(files, begun);
                return Err(e);
            }
            flushes += 1;
        }
        if begun {
            if let Err(e) = super::blob_fs::sync_dir(&self.dir) {
                self.unflushed_again(Vec::new(), true);
                return Err(e);
            }
            flushes += 1;
        }
        Ok(flushes)
    }

    /// The file system was flushed whole: the packs written are durable.
    pub(super) fn flushed_with_file_system(&self) {
        if let Some(writer) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            writer.unflushed.clear();
            writer.begun = false;
        }
    }

    fn unflushed_again(&self, files: Vec<Arc<File>>, begun: bool) {
        if let Some(writer) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            writer.unflushed.extend(files);
            writer.begun |= begun;
        }
    }

    /// Writes the index entries of blobs whose bytes are durable, and
    /// takes them as stored (not flushed: [`Packs::flush_index`]).
    pub(super) fn record(&self, placed: &[(Sha256, Place)]) -> io::Result<()> {
        let mut entries = Vec::with_capacity(placed.len() * ENTRY);
        for (sha256, place) in placed {
            entries.extend_from_slice(&index_entry(KIND_STORED, sha256, *place));
        }
        self.write_index(&entries)?;
        let mut places = self.places.write().unwrap_or_else(|p| p.into_inner());
        for (sha256, place) in placed {
            places.insert(*sha256, *place);
        }
        Ok(())
    }

    /// Forgets blobs whose index entries could not be made durable.
    pub(super) fn forget(&self, placed: &[(Sha256, Place)]) {
        let mut places = self.places.write().unwrap_or_else(|p| p.into_inner());
        for (sha256, place) in placed {
            if places.get(sha256) == Some(place) {
                places.remove(sha256);
            }
        }
    }

    fn write_index(&self, entries: &[u8]) -> io::Result<()> {
        self.with_writer(|writer| {
            writer.index.write_all_at(entries, writer.index_end)?;
            writer.index_end += entries.len() as u64;
            Ok(())
        })
    }

    /// Flushes the index.
    pub(super) fn flush_index(&self) -> io::Result<()> {
        let index = self.with_writer(|writer| writer.index.try_clone())?;
        index.sync_data()
    }

    /// Erases packed blobs: each entry's bytes zeroed where they lie (their
    /// blocks given back to the file system), the packs flushed, then
    /// their erasure written to the index and flushed. Which were packed.
    pub(super) fn wipe(&self, blobs: &[Sha256]) -> io::Result<Vec<Sha256>> {
        let mut found = Vec::new();
        for sha256 in blobs {
            if let Some(place) = self.find(sha256)? {
                found.push((*sha256, place));
            }
        }
        found.sort_unstable_by_key(|(s, _)| *s);
        found.dedup();
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let mut touched: Vec<u32> = Vec::new();
        for (_, place) in &found {
            let file = self.reader_for_writing(place.pack)?;
            file.write_all_at(&ERASED, place.offset)?;
            file.write_all_at(&vec![0u8; place.len as usize], place.bytes_at())?;
            punch_hole(&file, place.bytes_at(), u64::from(place.len));
            if !touched.contains(&place.pack) {
                touched.push(place.pack);
            }
        }
        for pack in touched {
            self.reader_for_writing(pack)?.sync_data()?;
        }
        let mut entries = Vec::with_capacity(found.len() * ENTRY);
        for (sha256, place) in &found {
            entries.extend_from_slice(&index_entry(KIND_ERASED, sha256, *place));
        }
        self.write_index(&entries)?;
        self.flush_index()?;
        self.forget(&found);
        Ok(found.into_iter().map(|(s, _)| s).collect())
    }

    fn reader_for_writing(&self, pack: u32) -> io::Result<File> {
        OpenOptions::new().write(true).open(pack_path(&self.dir, pack))
    }
}

/// Gives the whole blocks of a range back to the file system (their bytes
/// were zeroed already: where this cannot be done, they stay zeroed).
fn punch_hole(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd as _;
    let (Ok(offset), Ok(len)) = (libc::off_t::try_from(offset), libc::off_t::try_from(len)) else {
        return;
    };
    // SAFETY: `fallocate` takes an open descriptor, which `file` keeps open
    // for the call, and touches no memory of ours.
    let status = unsafe {
        libc::fallocate(
            file.as_raw_fd(),
            libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
            offset,
            len,
        )
    };
    if status != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "an erased entry's blocks could not be given back");
    }
}

/// Reads the index: its places and how many of its bytes were read;
/// `None` if an entry other than the last is damaged. The last, cut short
/// or damaged by a crash, is dropped, and unless `cut` is false (another
/// process may be writing it) the file is cut back to the entries before it.
fn read_index(path: &Path, cut: bool) -> io::Result<Option<(Places, u64)>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some((Places::default(), 0))),
        Err(e) => return Err(e),
    };
    let whole = bytes.len() / ENTRY;
    let mut entries = Vec::with_capacity(whole);
    for (n, entry) in bytes.chunks_exact(ENTRY).enumerate() {
        match parse_entry(entry) {
            Some(entry) => entries.push(entry),
            None if n + 1 == whole => break,
            None => return Ok(None),
        }
    }
    let good_len = (entries.len() * ENTRY) as u64;
    let len = bytes.len() as u64;
    drop(bytes);
    let places = Places::from_entries(entries);
    if cut && good_len != len {
        tracing::warn!(path = %path.display(), "an entry of the packs' index was cut short by a crash: dropped");
        let file = OpenOptions::new().write(true).open(path)?;
        file.set_len(good_len)?;
        file.sync_all()?;
    }
    Ok(Some((places, good_len)))
}

/// Makes the index again from the packs (`numbers`), each entry's bytes
/// checked against its digest; writes it whole, then renames it in place.
fn rebuild_index(dir: &Path, numbers: &[u32]) -> io::Result<Places> {
    let mut places = Places::default();
    let mut entries = Vec::new();
    for &pack in numbers {
        let mut file = io::BufReader::new(File::open(pack_path(dir, pack))?);
        let mut offset = 0u64;
        let mut header = [0u8; HEADER as usize];
        let mut bytes = Vec::new();
        loop {
            match file.read_exact(&mut header) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e),
            }
            let mark = &header[..4];
            let sha256 = Sha256::from_bytes(header[4..36].try_into().unwrap_or([0; 32]));
            let len = u32::from_le_bytes(header[36..40].try_into().unwrap_or([0; 4]));
            if (mark != STORED && mark != ERASED) || u64::from(len) > PACKED_MAX {
                tracing::warn!(
                    pack,
                    offset,
                    "a pack's entry is unreadable: the rest of the pack is not indexed"
                );
                break;
            }
            bytes.resize(len as usize, 0);
            if let Err(e) = file.read_exact(&mut bytes) {
                if e.kind() == io::ErrorKind::UnexpectedEof {
                    break;
                }
                return Err(e);
            }
            let place = Place { pack, offset, len };
            if mark == STORED {
                if Sha256::of(&bytes) == sha256 {
                    places.insert(sha256, place);
                    entries.extend_from_slice(&index_entry(KIND_STORED, &sha256, place));
                } else {
                    tracing::warn!(pack, offset, sha256 = %sha256, "a pack's entry does not hash to its digest: not indexed");
                }
            }
            offset += HEADER + u64::from(len);
        }
    }
    let staged = dir.join(format!("{INDEX}.new"));
    let file = File::create(&staged)?;
    file.write_all_at(&entries, 0)?;
    file.sync_all()?;
    fs::rename(&staged, dir.join(INDEX))?;
    super::blob_fs::sync_dir(dir)?;
    Ok(places)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(packs: &Packs, blobs: &[&[u8]]) -> Vec<Sha256> {
        let items: Vec<(Sha256, &[u8])> = blobs.iter().map(|b| (Sha256::of(b), *b)).collect();
        let places = packs.append(&items).unwrap();
        packs.flush_packs().unwrap();
        let placed: Vec<(Sha256, Place)> = items.iter().map(|(s, _)| *s).zip(places).collect();
        packs.record(&placed).unwrap();
        packs.flush_index().unwrap();
        placed.into_iter().map(|(s, _)| s).collect()
    }

    #[test]
    fn blobs_appended_are_read_back_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        let shas = stored(&packs, &[b"une", b"deux", b""]);
        assert_eq!(packs.read(&shas[1]).unwrap().unwrap(), b"deux");
        drop(packs);
        let packs = Packs::open(dir.path()).unwrap();
        assert_eq!(packs.list().len(), 3);
        assert_eq!(packs.read(&shas[0]).unwrap().unwrap(), b"une");
        assert_eq!(packs.read(&shas[2]).unwrap().unwrap(), b"");
        let more = stored(&packs, &[b"trois"]);
        assert_eq!(packs.place(&more[0]).unwrap().pack, 0, "the same pack goes on");
    }

    #[test]
    fn an_index_entry_cut_short_by_a_crash_is_dropped_and_a_damaged_index_is_made_again_from_the_packs() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        let shas = stored(&packs, &[b"alpha", b"beta", b"gamma"]);
        drop(packs);
        let index = dir.path().join(INDEX);
        let mut bytes = fs::read(&index).unwrap();
        // A fourth entry half written.
        bytes.extend_from_slice(&[KIND_STORED, 0, 0, 0]);
        fs::write(&index, &bytes).unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        assert_eq!(packs.list().len(), 3);
        assert_eq!(fs::metadata(&index).unwrap().len(), 3 * ENTRY as u64, "cut back");
        drop(packs);
        // The first entry's check no longer holds: rebuilt from the packs.
        let mut bytes = fs::read(&index).unwrap();
        bytes[20] ^= 1;
        fs::write(&index, &bytes).unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        for (sha, content) in shas.iter().zip([&b"alpha"[..], b"beta", b"gamma"]) {
            assert_eq!(packs.read(sha).unwrap().unwrap(), content);
        }
        drop(packs);
        fs::remove_file(&index).unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        assert_eq!(packs.list().len(), 3, "made again when missing");
    }

    #[test]
    fn an_erased_blob_is_zeroed_where_it_lay_and_stays_erased_after_reopening_and_rebuilding() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        let secret = b"donnees personnelles a detruire";
        let shas = stored(&packs, &[b"garde", secret]);
        assert_eq!(packs.wipe(&[shas[1], Sha256::of(b"absent")]).unwrap(), vec![shas[1]]);
        assert!(packs.read(&shas[1]).unwrap().is_none());
        let raw = fs::read(pack_path(dir.path(), 0)).unwrap();
        assert!(!raw.windows(secret.len()).any(|w| w == secret), "its bytes are gone");
        drop(packs);
        let packs = Packs::open(dir.path()).unwrap();
        assert_eq!(packs.list(), vec![shas[0]]);
        drop(packs);
        fs::remove_file(dir.path().join(INDEX)).unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        assert_eq!(packs.list(), vec![shas[0]], "an erased entry is not indexed again");
    }

    #[test]
    fn packs_opened_to_read_find_what_another_writer_appends_and_cut_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let writer = Packs::open(dir.path()).unwrap();
        let first = stored(&writer, &[b"avant"]);
        let reader = Packs::open_to_read(dir.path()).unwrap();
        assert_eq!(reader.read(&first[0]).unwrap().unwrap(), b"avant");
        let later = stored(&writer, &[b"apres", b"encore"]);
        assert_eq!(
            reader.read(&later[1]).unwrap().unwrap(),
            b"encore",
            "read from the index's new entries"
        );
        assert_eq!(reader.list().len(), 3);
        // An entry half written by the writer: the reader leaves it.
        let index = dir.path().join(INDEX);
        let len = fs::metadata(&index).unwrap().len();
        let file = OpenOptions::new().append(true).open(&index).unwrap();
        file.write_all_at(&[KIND_STORED, 9, 9], len).unwrap();
        let again = Packs::open_to_read(dir.path()).unwrap();
        assert_eq!(again.list().len(), 3);
        assert_eq!(fs::metadata(&index).unwrap().len(), len + 3, "nothing cut");
        assert!(again.find(&Sha256::of(b"absent")).unwrap().is_none());
    }

    #[test]
    fn places_read_at_opening_and_changed_since_answer_alike_through_merges() {
        let sha = |n: u32| Sha256::of(&n.to_le_bytes());
        let at = |n: u32| Place {
            pack: n % 3,
            offset: u64::from(n) * 100,
            len: n,
        };
        // Read at opening: stored, stored again elsewhere (the later wins),
        // erased (an erasure of another place changes nothing).
        let mut entries = Vec::new();
        for n in 0..1000 {
            entries.push((KIND_STORED, sha(n), at(n)));
        }
        for n in (0..1000).step_by(7) {
            entries.push((KIND_STORED, sha(n), at(n + 5000)));
        }
        for n in (0..1000).step_by(5) {
            entries.push((KIND_ERASED, sha(n), at(n)));
        }
        let mut places = Places::from_entries(entries);
        let expected = |n: u32| match (n.is_multiple_of(7), n.is_multiple_of(5)) {
            (true, _) => Some(at(n + 5000)),
            (false, true) => None,
            (false, false) => Some(at(n)),
        };
        for n in 0..1000 {
            assert_eq!(places.get(&sha(n)).copied(), expected(n), "{n}");
        }
        // Changed since, past a merge.
        for n in 1000..7000 {
            places.insert(sha(n), at(n));
        }
        places.remove(&sha(1));
        places.remove(&sha(1001));
        assert!(places.changed.len() < 4096, "merged into the vector");
        assert_eq!(places.get(&sha(1)), None);
        assert_eq!(places.get(&sha(1001)), None);
        assert_eq!(places.get(&sha(6999)).copied(), Some(at(6999)));
        let stored = (0..1000).filter(|n| expected(*n).is_some()).count() - 1 + 5999;
        assert_eq!(places.keys().len(), stored);
    }

    #[test]
    fn a_full_pack_is_followed_by_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let packs = Packs::open(dir.path()).unwrap();
        packs.writer.lock().unwrap().as_mut().unwrap().end = PACK_LIMIT;
        let shas = stored(&packs, &[b"dans la suivante"]);
        assert_eq!(packs.place(&shas[0]).unwrap().pack, 1);
        assert_eq!(packs.read(&shas[0]).unwrap().unwrap(), b"dans la suivante");
        drop(packs);
        let packs = Packs::open(dir.path()).unwrap();
        assert_eq!(packs.read(&shas[0]).unwrap().unwrap(), b"dans la suivante");
    }
}
