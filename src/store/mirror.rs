//! The archive's own files kept on a copy folder beside the blobs, so that
//! one copy alone holds everything needed to rebuild the archive (`coffre
//! restore --from`): the journal's segments, the keys folder (the seal
//! key, password hashes) and the data directory's marker.
//!
//! ```text
//! <copy>/sha256/…      the blobs (store::blob_copies)
//! <copy>/journal/      the journal's segments, appended to as it grows
//! <copy>/keys/         the seal key and password hashes (0600)
//! <copy>/coffre.json   the marker: format version, creation time
//! ```
//!
//! A segment is append-only, so its copy is brought up by appending what
//! the original has beyond the copy's length, whole lines only, then
//! syncing. A copy never overwrites with what differs: a copy whose last
//! bytes differ from the original's at the same place (one of the two was
//! changed) is left as it is and reported; a copy longer than its original
//! whose first bytes are the original's (events written but never made
//! durable before a crash, which recovery cut) is cut back to it.

use super::blob_fs::sync_dir;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The journal's folder in a copy.
pub const JOURNAL: &str = "journal";
/// The keys folder in a copy.
pub const KEYS: &str = "keys";
/// The data directory's marker.
pub const MARKER: &str = "coffre.json";
/// A file of the keys folder never copied: a running server's token.
const NOT_COPIED: &[&str] = &["operator.token"];
/// The suffix of a file being written whole, before it is renamed.
const STAGED: &str = ".copie-en-cours";
/// Bytes at the end of a segment's copy compared with the original before
/// appending to it.
const TAIL_CHECKED: u64 = 4096;

/// Errors of a copy of the archive's files.
#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A segment's copy does not match its original where both have bytes.
    #[error(
        "la copie {} du segment de journal diffère de l'original : elle n'est plus complétée ; \
         vérifiez les deux (`coffre audit verify`) avant de la remplacer",
        path.display()
    )]
    Diverged {
        /// The copy.
        path: PathBuf,
    },
    /// A remote store (a bucket) refused or could not be reached.
    #[error("le stockage {store} : {reason}")]
    Remote {
        /// The store's address.
        store: String,
        /// What failed, in French.
        reason: String,
    },
}

/// A place that keeps the archive's own files beside its blobs: a copy
/// folder, a bucket. One alone rebuilds the archive.
pub trait ArchiveCopy: Send + Sync {
    /// Its name, as people know it (a path, an `s3://` address).
    fn name(&self) -> String;
    /// Brings it up to the data directory `data`: every journal segment
    /// (whole lines), the keys folder, the marker.
    fn mirror(&self, data: &Path) -> Result<Mirrored, MirrorError>;
    /// Whether it holds an archive's own files (a marker and a journal).
    fn holds_an_archive(&self) -> bool;
    /// Copies its journal and keys into the empty data directory `data`.
    fn take(&self, data: &Path) -> Result<Taken, MirrorError>;
    /// Brings the data directory's keys folder to the copy's (the seal
    /// key, password hashes), writing only the files that differ; returns
    /// the files it holds and how many were written. A replica takes them
    /// again as the primary changes them.
    fn take_keys(&self, data: &Path) -> Result<Copied, MirrorError>;
    /// Writes its marker into the data directory: the restored archive is
    /// whole from then on.
    fn take_marker(&self, data: &Path) -> Result<(), MirrorError>;
    /// The whole journal lines it holds after `cursor` (about `max` bytes
    /// at most), moving the cursor past them: how a follower reads the
    /// journal as it grows.
    fn journal_after(&self, cursor: &mut JournalCursor, max: u64) -> Result<Vec<u8>, MirrorError>;
}

/// Where a reader stands in a copy's journal.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalCursor {
    /// The segment being read (its first seq); none yet: the one that
    /// holds `from_seq`.
    pub segment: Option<u64>,
    /// The byte where the next line starts in it.
    pub offset: u64,
    /// The seq to start from when no segment is chosen yet.
    pub from_seq: u64,
}

impl JournalCursor {
    /// A cursor on the line of `seq` (or the segment before it holds).
    pub fn at(seq: u64) -> Self {
        JournalCursor {
            segment: None,
            offset: 0,
            from_seq: seq,
        }
    }
}

/// One segment of a copy's journal: its first seq, its name, its length.
pub(super) type CopiedSegment = (u64, String, u64);

/// The whole lines after `cursor` among `segments` (in order of first
/// seq), read with `read(name, from, to)`; moves the cursor past them and
/// on to the next segment once one is read to its end.
pub(super) fn lines_after(
    cursor: &mut JournalCursor,
    max: u64,
    segments: &[CopiedSegment],
    read: impl Fn(&str, u64, u64) -> Result<Vec<u8>, MirrorError>,
) -> Result<Vec<u8>, MirrorError> {
    if cursor.segment.is_none() {
        let start = segments
            .iter()
            .rev()
            .find(|(first, _, _)| *first <= cursor.from_seq.max(1))
            .or(segments.first());
        let Some((first, _, _)) = start else {
            return Ok(Vec::new());
        };
        cursor.segment = Some(*first);
        cursor.offset = 0;
    }
    loop {
        let Some(at) = segments.iter().position(|(first, _, _)| Some(*first) == cursor.segment) else {
            return Ok(Vec::new());
        };
        let (_, name, len) = &segments[at];
        if cursor.offset < *len {
            let to = (*len).min(cursor.offset + max.max(1));
            let mut bytes = read(name, cursor.offset, to)?;
            if let Some(end) = bytes.iter().rposition(|b| *b == b'\n') {
                bytes.truncate(end + 1);
                cursor.offset += bytes.len() as u64;
                return Ok(bytes);
            }
            if to < *len {
                // A line longer than `max`: read it whole.
                let mut bytes = read(name, cursor.offset, *len)?;
                if let Some(end) = bytes.iter().position(|b| *b == b'\n') {
                    bytes.truncate(end + 1);
                    cursor.offset += bytes.len() as u64;
                    return Ok(bytes);
                }
            }
            return Ok(Vec::new());
        }
        match segments.get(at + 1) {
            Some((next, _, _)) => {
                cursor.segment = Some(*next);
                cursor.offset = 0;
            }
            None => return Ok(Vec::new()),
        }
    }
}

/// A copy folder (another disk, a network mount).
#[derive(Debug, Clone)]
pub struct CopyFolder(pub PathBuf);

impl ArchiveCopy for CopyFolder {
    fn name(&self) -> String {
        self.0.display().to_string()
    }
    fn mirror(&self, data: &Path) -> Result<Mirrored, MirrorError> {
        mirror(data, &self.0)
    }
    fn holds_an_archive(&self) -> bool {
        holds_an_archive(&self.0)
    }
    fn take(&self, data: &Path) -> Result<Taken, MirrorError> {
        take(&self.0, data)
    }
    fn take_keys(&self, data: &Path) -> Result<Copied, MirrorError> {
        copy_files(&self.0.join(KEYS), &data.join(KEYS), |name| name.ends_with(STAGED))
    }
    fn take_marker(&self, data: &Path) -> Result<(), MirrorError> {
        take_marker(&self.0, data)
    }
    fn journal_after(&self, cursor: &mut JournalCursor, max: u64) -> Result<Vec<u8>, MirrorError> {
        let dir = self.0.join(JOURNAL);
        let mut segments = Vec::new();
        for (first, path) in super::journal::segments(&dir).map_err(at(&dir))? {
            let len = fs::metadata(&path).map_err(at(&path))?.len();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
            segments.push((first, name, len));
        }
        lines_after(cursor, max, &segments, |name, from, to| {
            read_range(&dir.join(name), from, to - from)
        })
    }
}

fn at(path: &Path) -> impl FnOnce(io::Error) -> MirrorError + '_ {
    move |source| MirrorError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What bringing a copy up did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mirrored {
    /// Bytes of journal appended.
    pub journal_bytes: u64,
    /// Files of the keys folder (and the marker) written anew.
    pub files_written: u64,
}

/// The journal segments of a folder, by name, in order.
pub(super) fn segment_names(dir: &Path) -> Result<Vec<String>, MirrorError> {
    Ok(super::journal::segments(dir)
        .map_err(at(dir))?
        .into_iter()
        .filter_map(|(_, path)| path.file_name().and_then(|n| n.to_str()).map(str::to_owned))
        .collect())
}

/// Reads `len` bytes of `path` from `from`.
pub(super) fn read_range(path: &Path, from: u64, len: u64) -> Result<Vec<u8>, MirrorError> {
    let mut file = File::open(path).map_err(at(path))?;
    file.seek(SeekFrom::Start(from)).map_err(at(path))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    file.take(len).read_to_end(&mut bytes).map_err(at(path))?;
    Ok(bytes)
}

/// Brings the copy of one segment up to its original's whole lines;
/// returns the bytes appended.
fn mirror_segment(original: &Path, copy: &Path) -> Result<u64, MirrorError> {
    let len = fs::metadata(original).map_err(at(original))?.len();
    let copied = match fs::metadata(copy) {
        Ok(m) => Some(m.len()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(at(copy)(e)),
    };
    let have = copied.unwrap_or(0);
    if have == len {
        return Ok(0);
    }
    // Where both have bytes, the copy's last ones must be the original's.
    let common = have.min(len);
    let from = common.saturating_sub(TAIL_CHECKED);
    if common > 0 && read_range(original, from, common - from)? != read_range(copy, from, common - from)? {
        return Err(MirrorError::Diverged { path: copy.to_owned() });
    }
    if have > len {
        // Events the original's recovery cut (never durable there).
        let file = OpenOptions::new().write(true).open(copy).map_err(at(copy))?;
        file.set_len(len).map_err(at(copy))?;
        file.sync_all().map_err(at(copy))?;
        tracing::warn!(copy = %copy.display(), cut = have - len, "a journal copy held events its original cut; cut too");
        return Ok(0);
    }
    let mut bytes = read_range(original, have, len - have)?;
    // Whole lines only: the writer may be half-way through a batch.
    match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => bytes.truncate(end + 1),
        None => return Ok(0),
    }
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(copy)
        .map_err(at(copy))?;
    file.write_all(&bytes).map_err(at(copy))?;
    file.sync_data().map_err(at(copy))?;
    if copied.is_none()
        && let Some(dir) = copy.parent()
    {
        sync_dir(dir).map_err(at(dir))?;
    }
    Ok(bytes.len() as u64)
}

/// Writes `bytes` to `path` whole (a new file synced, renamed over), with
/// `mode`, unless it holds them already; says whether it wrote.
pub(super) fn write_if_changed(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, MirrorError> {
    use std::os::unix::fs::OpenOptionsExt;
    if fs::read(path).is_ok_and(|held| held == bytes) {
        return Ok(false);
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut staged = path.as_os_str().to_owned();
    staged.push(STAGED);
    let staged = PathBuf::from(staged);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&staged)
        .map_err(at(&staged))?;
    file.write_all(bytes).map_err(at(&staged))?;
    file.sync_all().map_err(at(&staged))?;
    fs::rename(&staged, path).map_err(at(path))?;
    sync_dir(dir).map_err(at(dir))?;
    Ok(true)
}

/// Creates a folder of the copy, closed to others, syncing its parent.
pub(super) fn folder(path: &Path) -> Result<(), MirrorError> {
    use std::os::unix::fs::PermissionsExt;
    if path.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(path).map_err(at(path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(at(path))?;
    if let Some(parent) = path.parent() {
        sync_dir(parent).map_err(at(parent))?;
    }
    Ok(())
}

/// Files of a flat folder copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Files found to copy.
    pub files: u64,
    /// Files written (the others held the same bytes already).
    pub written: u64,
}

/// Copies every file of the folder `from` that `skip` does not name into
/// `to` (0600, whole), unless it holds the same bytes already. A missing
/// `from` copies nothing.
fn copy_files(from: &Path, to: &Path, skip: impl Fn(&str) -> bool) -> Result<Copied, MirrorError> {
    let mut copied = Copied { files: 0, written: 0 };
    if !from.is_dir() {
        return Ok(copied);
    }
    folder(to)?;
    for entry in fs::read_dir(from).map_err(at(from))? {
        let entry = entry.map_err(at(from))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if skip(name) || !entry.path().is_file() {
            continue;
        }
        let bytes = fs::read(entry.path()).map_err(at(&entry.path()))?;
        copied.files += 1;
        copied.written += u64::from(write_if_changed(&to.join(name), &bytes, 0o600)?);
    }
    Ok(copied)
}

/// The files of the keys folder a copy keeps, with their bytes: all but a
/// running server's token and files being written.
pub(super) fn key_files(keys: &Path) -> Result<Vec<(String, Vec<u8>)>, MirrorError> {
    let mut files = Vec::new();
    if !keys.is_dir() {
        return Ok(files);
    }
    for entry in fs::read_dir(keys).map_err(at(keys))? {
        let entry = entry.map_err(at(keys))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if NOT_COPIED.contains(&name) || name.ends_with(".new") || name.ends_with(STAGED) || !entry.path().is_file() {
            continue;
        }
        files.push((name.to_owned(), fs::read(entry.path()).map_err(at(&entry.path()))?));
    }
    Ok(files)
}

/// Brings `copy` (a copy folder) up to the data directory `data`: every
/// journal segment, the keys folder, the marker.
pub fn mirror(data: &Path, copy: &Path) -> Result<Mirrored, MirrorError> {
    let mut done = Mirrored::default();
    let (journal, journal_copy) = (data.join(JOURNAL), copy.join(JOURNAL));
    folder(&journal_copy)?;
    for name in segment_names(&journal)? {
        done.journal_bytes += mirror_segment(&journal.join(&name), &journal_copy.join(&name))?;
    }
    let keys = copy_files(&data.join(KEYS), &copy.join(KEYS), |name| {
        NOT_COPIED.contains(&name) || name.ends_with(".new")
    })?;
    done.files_written += keys.written;
    let marker = data.join(MARKER);
    if marker.is_file() {
        let bytes = fs::read(&marker).map_err(at(&marker))?;
        done.files_written += u64::from(write_if_changed(&copy.join(MARKER), &bytes, 0o600)?);
    }
    Ok(done)
}

/// What a restore took from a copy folder's own files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// Journal segments.
    pub segments: u64,
    /// Journal bytes.
    pub journal_bytes: u64,
    /// Files of the keys folder.
    pub keys: u64,
}

/// Whether `copy` holds an archive's own files (a marker and a journal).
pub fn holds_an_archive(copy: &Path) -> bool {
    copy.join(MARKER).is_file() && copy.join(JOURNAL).is_dir()
}

/// Copies a copy folder's journal, keys and marker into the empty data
/// directory `data` (the reverse of [`mirror`]); the marker last, so that
/// a restore cut short leaves no archive that looks whole.
pub fn take(copy: &Path, data: &Path) -> Result<Taken, MirrorError> {
    let mut taken = Taken::default();
    let (journal_copy, journal) = (copy.join(JOURNAL), data.join(JOURNAL));
    folder(&journal)?;
    for name in segment_names(&journal_copy)? {
        taken.journal_bytes += mirror_segment(&journal_copy.join(&name), &journal.join(&name))?;
        taken.segments += 1;
    }
    taken.keys = CopyFolder(copy.to_owned()).take_keys(data)?.files;
    Ok(taken)
}

/// Writes the copy's marker into the data directory: the restored archive
/// is whole from then on.
pub fn take_marker(copy: &Path, data: &Path) -> Result<(), MirrorError> {
    let marker = copy.join(MARKER);
    let bytes = fs::read(&marker).map_err(at(&marker))?;
    write_if_changed(&data.join(MARKER), &bytes, 0o600)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reader_gets_whole_lines_segment_after_segment_from_where_it_stands() {
        let segments = |a: &[u8], b: &[u8]| {
            vec![
                (1, "seg-1".to_owned(), a.len() as u64),
                (3, "seg-3".to_owned(), b.len() as u64),
            ]
        };
        let (a, b): (&[u8], &[u8]) = (b"{1}\n{2}\n", b"{3}\n{4");
        let read = |name: &str, from: u64, to: u64| -> Result<Vec<u8>, MirrorError> {
            let bytes = if name == "seg-1" { a } else { b };
            Ok(bytes[from as usize..to as usize].to_vec())
        };
        let mut cursor = JournalCursor::at(1);
        assert_eq!(
            lines_after(&mut cursor, 6, &segments(a, b), read).expect("read"),
            b"{1}\n"
        );
        assert_eq!(
            lines_after(&mut cursor, 64, &segments(a, b), read).expect("read"),
            b"{2}\n"
        );
        assert_eq!(
            lines_after(&mut cursor, 64, &segments(a, b), read).expect("read"),
            b"{3}\n"
        );
        assert!(
            lines_after(&mut cursor, 64, &segments(a, b), read)
                .expect("read")
                .is_empty(),
            "half a line waits"
        );
        // A reader that starts at seq 4 starts in the segment that holds it.
        let mut cursor = JournalCursor::at(4);
        assert_eq!(
            lines_after(&mut cursor, 64, &segments(a, b), read).expect("read"),
            b"{3}\n"
        );
        assert_eq!(cursor.segment, Some(3));
    }

    fn segment(dir: &Path, name: &str, bytes: &[u8]) {
        fs::create_dir_all(dir).expect("dir");
        fs::write(dir.join(name), bytes).expect("write");
    }

    #[test]
    fn a_copy_follows_the_journal_line_by_line_and_never_overwrites_what_differs() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (data, copy) = (tmp.path().join("data"), tmp.path().join("copie"));
        let journal = data.join(JOURNAL);
        let name = "seg-00000000000000000001.jsonl";
        segment(&journal, name, b"{\"seq\":1}\n{\"seq\":2}\n{\"se");
        segment(&data.join(KEYS), "seal-ed25519.secret", b"secret");
        segment(&data.join(KEYS), "operator.token", b"never copied");
        fs::write(data.join(MARKER), b"{}").expect("marker");

        let done = mirror(&data, &copy).expect("mirror");
        assert_eq!(done.journal_bytes, 20, "whole lines only");
        assert_eq!(
            fs::read(copy.join(JOURNAL).join(name)).expect("copy"),
            b"{\"seq\":1}\n{\"seq\":2}\n"
        );
        assert_eq!(
            fs::read(copy.join(KEYS).join("seal-ed25519.secret")).expect("key"),
            b"secret"
        );
        assert!(!copy.join(KEYS).join("operator.token").exists());
        assert!(holds_an_archive(&copy));

        // The line finished and another segment begun: both followed.
        let mut file = OpenOptions::new().append(true).open(journal.join(name)).expect("open");
        file.write_all(b"q\":3}\n").expect("append");
        segment(&journal, "seg-00000000000000000004.jsonl", b"{\"seq\":4}\n");
        let done = mirror(&data, &copy).expect("mirror");
        assert_eq!(
            done,
            Mirrored {
                journal_bytes: 20,
                files_written: 0
            }
        );
        assert_eq!(
            fs::read(copy.join(JOURNAL).join(name)).expect("copy"),
            fs::read(journal.join(name)).expect("original")
        );

        // The original changed where the copy has bytes: reported, untouched.
        let changed = b"{\"seq\":1}\n{\"seq\":9}\n{\"seq\":3}\n{\"seq\":5}\n";
        fs::write(journal.join(name), changed).expect("tamper");
        let err = mirror(&data, &copy).expect_err("diverged");
        assert!(matches!(err, MirrorError::Diverged { .. }), "{err}");
        assert_eq!(
            fs::read(copy.join(JOURNAL).join(name)).expect("copy"),
            b"{\"seq\":1}\n{\"seq\":2}\n{\"seq\":3}\n"
        );

        // Taken back into an empty directory: the same files.
        let restored = tmp.path().join("restauree");
        fs::create_dir_all(&restored).expect("dir");
        let taken = take(&copy, &restored).expect("take");
        assert_eq!(taken.segments, 2);
        assert_eq!(taken.keys, 1);
        assert!(!restored.join(MARKER).exists(), "the marker comes last");
        take_marker(&copy, &restored).expect("marker");
        assert_eq!(fs::read(restored.join(MARKER)).expect("marker"), b"{}");
    }

    #[test]
    fn a_copy_longer_than_its_original_with_the_same_start_is_cut_back() {
        let tmp = tempfile::tempdir().expect("tmp");
        let (original, copy) = (tmp.path().join("a"), tmp.path().join("b"));
        fs::write(&original, b"{\"seq\":1}\n").expect("write");
        fs::write(&copy, b"{\"seq\":1}\n{\"seq\":2}\n").expect("write");
        assert_eq!(mirror_segment(&original, &copy).expect("mirror"), 0);
        assert_eq!(fs::read(&copy).expect("copy"), b"{\"seq\":1}\n");
    }
}
