//! A copy of the archive in an S3-compatible bucket (Garage, MinIO, a
//! provider's object storage), through the `object_store` crate: the
//! blobs, and the archive's own files as on a copy folder
//! (`store::mirror`), so that the bucket alone rebuilds the archive.
//!
//! ```text
//! <prefix>/sha256/ab/cd/<hex>            a blob, named by its SHA-256
//! <prefix>/journal/<segment>/<offset>    a run of whole journal lines of
//!                                        <segment>, from byte <offset>
//! <prefix>/keys/<file>                   the seal key, password hashes
//! <prefix>/coffre.json                   the data directory's marker
//! ```
//!
//! An object is never appended to, so a journal segment is kept as runs
//! of lines, one object per pass of the mirror, named by where it starts:
//! the segment is their concatenation. Nothing relies on conditional
//! writes or object lock (Garage has neither): a blob's name is its
//! content's digest, so writing it twice is harmless, and every blob
//! written is read back and hashed before the write counts.
//!
//! The client is asynchronous; the bucket runs it on a small runtime of
//! its own and its callers (the archive's worker threads, never an async
//! executor) wait for each request. Endpoint and credentials come from the
//! usual `AWS_*` environment variables (`AWS_ENDPOINT`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`).

use super::mirror::{ArchiveCopy, JOURNAL, KEYS, MARKER, MirrorError, Mirrored, Taken};
use super::{BlobError, BlobRead, BlobStore, Fixity, StagedBlob};
use crate::domain::hash::{Sha256, Sha256Hasher};
use futures_util::StreamExt;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as Key;
use object_store::{ClientConfigKey, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Bytes read from a staged file per step, and the largest blob sent in
/// one request; larger ones go in parts of this size.
const PART: usize = 8 * 1024 * 1024;
/// The scheme of a bucket's address.
pub const SCHEME: &str = "s3://";
/// Bytes at the end of a segment's copy compared with the original before
/// appending to it.
const TAIL_CHECKED: u64 = 4096;

/// Errors of a bucket, said in French with its address.
fn failed(name: &str, what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("le stockage {name} n'a pu {what} : {e}"))
}

fn mirror_failed(name: &str, what: &str, e: impl std::fmt::Display) -> MirrorError {
    MirrorError::Remote {
        store: name.to_owned(),
        reason: format!("{what} : {e}"),
    }
}

/// Each journal segment's runs of lines in a bucket: (start, length), in
/// order of their start.
type Runs = BTreeMap<String, Vec<(u64, u64)>>;

/// An S3 bucket (and a prefix in it) holding a copy of the archive.
pub struct Bucket {
    name: String,
    store: Arc<dyn ObjectStore>,
    prefix: Key,
    runtime: Option<tokio::runtime::Runtime>,
    staging: PathBuf,
    /// What each journal segment's copy holds: its runs, (start, length),
    /// in order; learnt from a listing at the first pass.
    journal: Mutex<Option<Runs>>,
    /// The digest of each file of the keys folder (and the marker) last
    /// written or found.
    files: Mutex<HashMap<String, Sha256>>,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("name", &self.name).finish()
    }
}

impl Drop for Bucket {
    fn drop(&mut self) {
        // Never blocks: the archive may be dropped anywhere.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Bucket {
    /// The bucket at `address` (`s3://bucket/prefix`), reached with the
    /// `AWS_*` settings of the environment; staged and read blobs pass
    /// through files in `staging`. Nothing is asked of the server yet.
    pub fn open(address: &str, staging: &Path) -> Result<Self, BlobError> {
        let invalid = |why: String| BlobError::Io(io::Error::new(io::ErrorKind::InvalidInput, why));
        let rest = address
            .strip_prefix(SCHEME)
            .ok_or_else(|| invalid(format!("{address} : une adresse de bucket commence par {SCHEME}")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(invalid(format!(
                "{address} : le nom du bucket manque (s3://bucket/préfixe)"
            )));
        }
        let mut builder = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::ConnectTimeout), "3s")
            .with_config(AmazonS3ConfigKey::Client(ClientConfigKey::Timeout), "120s")
            .with_retry(RetryConfig {
                max_retries: 2,
                retry_timeout: Duration::from_secs(15),
                ..RetryConfig::default()
            });
        let endpoint = builder
            .get_config_value(&AmazonS3ConfigKey::Endpoint)
            .or_else(|| builder.get_config_value(&AmazonS3ConfigKey::S3Endpoint));
        if endpoint.is_some_and(|e| e.starts_with("http://")) {
            builder = builder.with_allow_http(true);
        }
        if builder.get_config_value(&AmazonS3ConfigKey::Region).is_none() {
            builder = builder.with_region("garage");
        }
        // One TLS stack in the process: rustls on ring, as the other clients.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = builder.build().map_err(|e| invalid(format!("{address} : {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("coffre-s3")
            .enable_all()
            .build()?;
        std::fs::create_dir_all(staging)?;
        Ok(Bucket {
            name: address.trim_end_matches('/').to_owned(),
            store: Arc::new(store),
            prefix: Key::from(prefix.trim_matches('/')),
            runtime: Some(runtime),
            staging: staging.to_owned(),
            journal: Mutex::new(None),
            files: Mutex::new(HashMap::new()),
        })
    }

    /// The bucket's address.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Waits for `future` on the bucket's runtime.
    fn wait<F: std::future::Future>(&self, future: F) -> F::Output {
        match &self.runtime {
            Some(runtime) => runtime.block_on(future),
            None => unreachable!("a bucket's runtime is taken only when the bucket is dropped"),
        }
    }

    fn key(&self, parts: &[&str]) -> Key {
        parts.iter().fold(self.prefix.clone(), |key, part| key.join(*part))
    }

    fn blob_key(&self, sha256: &Sha256) -> Key {
        let hex = sha256.hex();
        self.key(&["sha256", &hex[0..2], &hex[2..4], &hex])
    }

    /// The object's size, or `None` when there is none.
    fn head(&self, key: &Key) -> io::Result<Option<u64>> {
        match self.wait(self.store.head(key)) {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(failed(&self.name, "être lu", e)),
        }
    }

    /// Every object under `parts`, with its size.
    fn list_under(&self, parts: &[&str]) -> io::Result<Vec<(Key, u64)>> {
        let prefix = self.key(parts);
        self.wait(async {
            let mut found = Vec::new();
            let mut listing = self.store.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                let meta = meta.map_err(|e| failed(&self.name, "être listé", e))?;
                found.push((meta.location, meta.size));
            }
            Ok(found)
        })
    }

    /// Streams an object into `sink`; `None` when there is none.
    fn get_into(&self, key: &Key, sink: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<Option<u64>> {
        self.wait(async {
            let got = match self.store.get(key).await {
                Ok(got) => got,
                Err(object_store::Error::NotFound { .. }) => return Ok(None),
                Err(e) => return Err(failed(&self.name, "être lu", e)),
            };
            let mut stream = got.into_stream();
            let mut size = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|e| failed(&self.name, "être lu", e))?;
                size += chunk.len() as u64;
                sink(&chunk)?;
            }
            Ok(Some(size))
        })
    }

    /// A whole (small) object; `None` when there is none.
    fn get_bytes(&self, key: &Key) -> io::Result<Option<Vec<u8>>> {
        let mut bytes = Vec::new();
        let found = self.get_into(key, &mut |chunk| {
            bytes.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(found.map(|_| bytes))
    }

    fn put_bytes(&self, key: &Key, bytes: Vec<u8>) -> io::Result<()> {
        self.wait(self.store.put(key, PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| failed(&self.name, "être écrit", e))
    }

    /// Sends the file's bytes under `key`: in one request, or in parts.
    fn put_file(&self, key: &Key, file: &mut std::fs::File, size: u64) -> io::Result<()> {
        file.seek(SeekFrom::Start(0))?;
        if size <= PART as u64 {
            let mut bytes = Vec::with_capacity(size as usize);
            file.read_to_end(&mut bytes)?;
            return self.put_bytes(key, bytes);
        }
        let mut upload = self
            .wait(self.store.put_multipart(key))
            .map_err(|e| failed(&self.name, "être écrit", e))?;
        let sent: io::Result<()> = (|| {
            loop {
                let mut part = Vec::with_capacity(PART);
                (&mut *file).take(PART as u64).read_to_end(&mut part)?;
                if part.is_empty() {
                    return Ok(());
                }
                self.wait(upload.put_part(PutPayload::from(part)))
                    .map_err(|e| failed(&self.name, "être écrit", e))?;
            }
        })();
        match sent {
            Ok(()) => self
                .wait(upload.complete())
                .map(|_| ())
                .map_err(|e| failed(&self.name, "être écrit", e)),
            Err(e) => {
                let _ = self.wait(upload.abort());
                Err(e)
            }
        }
    }

    /// Re-hashes an object by reading it back.
    fn fixity(&self, key: &Key, progress: &mut dyn FnMut(u64)) -> io::Result<(Option<u64>, Sha256)> {
        let mut hasher = Sha256Hasher::new();
        let size = self.get_into(key, &mut |chunk| {
            hasher.update(chunk);
            progress(chunk.len() as u64);
            Ok(())
        })?;
        Ok((size, hasher.finish()))
    }

    /// Sends a staged blob, then reads it back: the write counts only if
    /// the bucket's bytes hash to the blob's name.
    fn send_checked(&self, staged: &mut BucketStaged) -> Result<Sha256, BlobError> {
        let key = self.blob_key(&staged.sha256);
        self.put_file(&key, &mut staged.file, staged.size)?;
        let (size, actual) = self.fixity(&key, &mut |_| {})?;
        if size != Some(staged.size) || actual != staged.sha256 {
            return Err(BlobError::Io(io::Error::other(format!(
                "le stockage {} a rendu pour {} d'autres octets que ceux écrits (empreinte {actual}) : la copie ne compte pas",
                self.name, staged.sha256
            ))));
        }
        Ok(staged.sha256)
    }
}

/// A blob staged in a local file, sent when committed.
struct BucketStaged {
    bucket: Arc<Bucket>,
    file: std::fs::File,
    sha256: Sha256,
    size: u64,
    head: Vec<u8>,
}

impl StagedBlob for BucketStaged {
    fn sha256(&self) -> Sha256 {
        self.sha256
    }
    fn size(&self) -> u64 {
        self.size
    }
    fn head(&self) -> &[u8] {
        &self.head
    }
    fn reader(&self) -> Result<Box<dyn Read + Send + '_>, BlobError> {
        let mut file = self.file.try_clone()?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Box::new(file))
    }
    fn commit(mut self: Box<Self>) -> Result<Sha256, BlobError> {
        let bucket = Arc::clone(&self.bucket);
        // Writing a content twice is harmless (its name is its digest):
        // a small one is sent without asking first, which saves a request;
        // a large one is asked for, which may save sending it.
        if self.size > PART as u64 && bucket.head(&bucket.blob_key(&self.sha256))?.is_some() {
            return Ok(self.sha256);
        }
        bucket.send_checked(&mut self)
    }
    fn replace(mut self: Box<Self>) -> Result<Sha256, BlobError> {
        let bucket = Arc::clone(&self.bucket);
        bucket.send_checked(&mut self)
    }
    fn commit_later(self: Box<Self>, stores: usize) -> Result<Box<dyn super::PendingCommit>, BlobError> {
        Ok(Box::new(super::CommitWhenWaited(self, stores)))
    }
}

/// The blobs of a bucket, as a blob store (a copy store of the archive).
#[derive(Debug, Clone)]
pub struct BucketBlobs(pub Arc<Bucket>);

impl BlobStore for BucketBlobs {
    fn stage(&self, source: &mut dyn Read, limit: u64) -> Result<Box<dyn StagedBlob>, BlobError> {
        let bucket = &self.0;
        // An unnamed file: nothing is left behind, whatever happens.
        let mut file = tempfile::tempfile_in(&bucket.staging)?;
        let (sha256, size, head) = super::blob_fs::stage_into(source, limit, &mut file)?;
        Ok(Box::new(BucketStaged {
            bucket: Arc::clone(bucket),
            file,
            sha256,
            size,
            head,
        }))
    }

    fn open(&self, sha256: &Sha256) -> Result<(Box<dyn BlobRead>, u64), BlobError> {
        let bucket = &self.0;
        let mut file = tempfile::tempfile_in(&bucket.staging)?;
        let size = bucket.get_into(&bucket.blob_key(sha256), &mut |chunk| file.write_all(chunk))?;
        let size = size.ok_or(BlobError::NotFound(*sha256))?;
        file.seek(SeekFrom::Start(0))?;
        Ok((Box::new(file), size))
    }

    fn contains(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        Ok(self.0.head(&self.0.blob_key(sha256))?.is_some())
    }

    fn verify(&self, sha256: &Sha256, progress: &mut dyn FnMut(u64)) -> Result<Fixity, BlobError> {
        Ok(match self.0.fixity(&self.0.blob_key(sha256), progress)? {
            (None, _) => Fixity::Missing,
            (Some(size), actual) if actual == *sha256 => Fixity::Intact { size },
            (Some(size), actual) => Fixity::Corrupt { actual, size },
        })
    }

    fn list(&self) -> Result<Vec<Sha256>, BlobError> {
        Ok(self
            .0
            .list_under(&["sha256"])?
            .into_iter()
            .filter_map(|(key, _)| key.filename().and_then(|name| Sha256::parse(name).ok()))
            .collect())
    }

    fn erase(&self, sha256: &Sha256) -> Result<bool, BlobError> {
        let key = self.0.blob_key(sha256);
        if self.0.head(&key)?.is_none() {
            return Ok(false);
        }
        self.0
            .wait(self.0.store.delete(&key))
            .map_err(|e| failed(&self.0.name, "effacer un contenu", e))?;
        Ok(true)
    }
}

/// A segment's runs of lines as the bucket lists them: (start, length),
/// in order of their start.
fn runs_of(listing: Vec<(Key, u64)>) -> Runs {
    let mut runs = Runs::new();
    for (key, size) in listing {
        let parts: Vec<String> = key.parts().map(|p| p.as_ref().to_owned()).collect();
        if let [.., segment, start] = parts.as_slice()
            && let Ok(start) = start.parse::<u64>()
        {
            runs.entry(segment.clone()).or_default().push((start, size));
        }
    }
    for list in runs.values_mut() {
        list.sort_unstable();
    }
    runs
}

/// The length of a segment's copy: where its runs stop running on.
fn copied_length(runs: &[(u64, u64)]) -> u64 {
    let mut end = 0;
    for (start, len) in runs {
        if *start != end {
            break;
        }
        end += len;
    }
    end
}

fn run_name(start: u64) -> String {
    format!("{start:020}")
}

impl Bucket {
    /// Bytes `from..to` of a segment's copy, from its runs.
    fn read_copy(&self, segment: &str, runs: &[(u64, u64)], from: u64, to: u64) -> Result<Vec<u8>, MirrorError> {
        let mut bytes = Vec::new();
        for (start, len) in runs {
            let end = start + len;
            if end <= from || *start >= to {
                continue;
            }
            let (a, b) = (from.max(*start) - start, to.min(end) - start);
            let key = self.key(&[JOURNAL, segment, &run_name(*start)]);
            let got = self
                .wait(self.store.get_range(&key, a..b))
                .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être relu", e))?;
            bytes.extend_from_slice(&got);
        }
        Ok(bytes)
    }

    /// Brings the copy of one segment up to its original's whole lines;
    /// returns the bytes sent.
    fn mirror_segment(&self, original: &Path, segment: &str, runs: &mut Vec<(u64, u64)>) -> Result<u64, MirrorError> {
        let io_at = |e: io::Error| MirrorError::Io {
            path: original.to_owned(),
            source: e,
        };
        let len = std::fs::metadata(original).map_err(io_at)?.len();
        let have = copied_length(runs);
        if have == len {
            return Ok(0);
        }
        let common = have.min(len);
        let from = common.saturating_sub(TAIL_CHECKED);
        if common > 0
            && super::mirror::read_range(original, from, common - from)?
                != self.read_copy(segment, runs, from, common)?
        {
            return Err(MirrorError::Diverged {
                path: PathBuf::from(format!("{}/{JOURNAL}/{segment}", self.name)),
            });
        }
        if have > len {
            // Events the original's recovery cut (never durable there):
            // runs past the cut go, a run across it is sent again shorter.
            for (start, run_len) in runs.clone() {
                let key = self.key(&[JOURNAL, segment, &run_name(start)]);
                if start >= len {
                    self.wait(self.store.delete(&key))
                        .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être coupé", e))?;
                } else if start + run_len > len {
                    let bytes = super::mirror::read_range(original, start, len - start)?;
                    self.put_bytes(&key, bytes)
                        .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être coupé", e))?;
                }
            }
            runs.retain(|(start, _)| *start < len);
            if let Some(last) = runs.last_mut() {
                last.1 = last.1.min(len - last.0);
            }
            tracing::warn!(copy = %self.name, segment, "a journal copy held events its original cut; cut too");
            return Ok(0);
        }
        let mut bytes = super::mirror::read_range(original, have, len - have)?;
        match bytes.iter().rposition(|b| *b == b'\n') {
            Some(end) => bytes.truncate(end + 1),
            None => return Ok(0),
        }
        let sent = bytes.len() as u64;
        self.put_bytes(&self.key(&[JOURNAL, segment, &run_name(have)]), bytes)
            .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être copié", e))?;
        runs.push((have, sent));
        Ok(sent)
    }

    /// Writes a file of the keys folder or the marker unless the bucket
    /// holds the same bytes; says whether it wrote.
    fn put_file_if_changed(&self, parts: &[&str], bytes: Vec<u8>) -> Result<bool, MirrorError> {
        let name = parts.join("/");
        let digest = Sha256::of(&bytes);
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.get(&name) == Some(&digest) {
            return Ok(false);
        }
        let key = self.key(parts);
        let held = self
            .get_bytes(&key)
            .map_err(|e| mirror_failed(&self.name, "un fichier n'a pu être relu", e))?;
        let wrote = held.is_none_or(|held| held != bytes);
        if wrote {
            self.put_bytes(&key, bytes)
                .map_err(|e| mirror_failed(&self.name, "un fichier n'a pu être écrit", e))?;
        }
        files.insert(name, digest);
        Ok(wrote)
    }
}

impl ArchiveCopy for Bucket {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn mirror(&self, data: &Path) -> Result<Mirrored, MirrorError> {
        let mut done = Mirrored::default();
        let mut journal = self.journal.lock().unwrap_or_else(|p| p.into_inner());
        if journal.is_none() {
            let listing = self
                .list_under(&[JOURNAL])
                .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être listé", e))?;
            *journal = Some(runs_of(listing));
        }
        let Some(runs) = journal.as_mut() else {
            return Ok(done);
        };
        let local = data.join(JOURNAL);
        for segment in super::mirror::segment_names(&local)? {
            let segment_runs = runs.entry(segment.clone()).or_default();
            let sent = self.mirror_segment(&local.join(&segment), &segment, segment_runs);
            match sent {
                Ok(sent) => done.journal_bytes += sent,
                Err(e) => {
                    // Learn the bucket's state again at the next pass.
                    *journal = None;
                    return Err(e);
                }
            }
        }
        drop(journal);
        for (name, bytes) in super::mirror::key_files(&data.join(KEYS))? {
            done.files_written += u64::from(self.put_file_if_changed(&[KEYS, &name], bytes)?);
        }
        let marker = data.join(MARKER);
        if marker.is_file() {
            let bytes = std::fs::read(&marker).map_err(|source| MirrorError::Io { path: marker, source })?;
            done.files_written += u64::from(self.put_file_if_changed(&[MARKER], bytes)?);
        }
        Ok(done)
    }

    fn holds_an_archive(&self) -> bool {
        matches!(self.head(&self.key(&[MARKER])), Ok(Some(_)))
            && self.list_under(&[JOURNAL]).is_ok_and(|l| !l.is_empty())
    }

    fn take(&self, data: &Path) -> Result<Taken, MirrorError> {
        let mut taken = Taken::default();
        let journal = data.join(JOURNAL);
        super::mirror::folder(&journal)?;
        let listing = self
            .list_under(&[JOURNAL])
            .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être listé", e))?;
        for (segment, runs) in runs_of(listing) {
            let path = journal.join(&segment);
            let io_at = |source: io::Error| MirrorError::Io {
                path: path.clone(),
                source,
            };
            let mut file = std::fs::File::create(&path).map_err(io_at)?;
            let mut end = 0u64;
            for (start, len) in runs {
                if start != end {
                    // A gap: what follows cannot be chained; the journal
                    // check will say where the segment stops.
                    tracing::error!(copy = %self.name, segment, at = end, "a journal copy has a gap; what follows is left out");
                    break;
                }
                let key = self.key(&[JOURNAL, &segment, &run_name(start)]);
                self.get_into(&key, &mut |chunk| file.write_all(chunk))
                    .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être lu", e))?;
                end += len;
            }
            file.sync_all().map_err(io_at)?;
            taken.journal_bytes += end;
            taken.segments += 1;
        }
        super::blob_fs::sync_dir(&journal).map_err(|source| MirrorError::Io {
            path: journal.clone(),
            source,
        })?;
        taken.keys = self.take_keys(data)?.files;
        Ok(taken)
    }

    fn take_keys(&self, data: &Path) -> Result<super::mirror::Copied, MirrorError> {
        let mut copied = super::mirror::Copied::default();
        let keys = data.join(KEYS);
        super::mirror::folder(&keys)?;
        let listing = self
            .list_under(&[KEYS])
            .map_err(|e| mirror_failed(&self.name, "les clés n'ont pu être listées", e))?;
        for (key, _) in listing {
            let Some(name) = key.filename().map(str::to_owned) else {
                continue;
            };
            let Some(bytes) = self
                .get_bytes(&key)
                .map_err(|e| mirror_failed(&self.name, "une clé n'a pu être lue", e))?
            else {
                // Listed, then gone: nothing to take.
                continue;
            };
            copied.files += 1;
            copied.written += u64::from(super::mirror::write_if_changed(&keys.join(&name), &bytes, 0o600)?);
        }
        Ok(copied)
    }

    fn journal_after(&self, cursor: &mut super::mirror::JournalCursor, max: u64) -> Result<Vec<u8>, MirrorError> {
        let listing = self
            .list_under(&[JOURNAL])
            .map_err(|e| mirror_failed(&self.name, "le journal n'a pu être listé", e))?;
        let runs = runs_of(listing);
        let segments: Vec<_> = runs
            .iter()
            .filter_map(|(name, list)| {
                super::journal::segment_first_seq(name).map(|first| (first, name.clone(), copied_length(list)))
            })
            .collect();
        let mut segments = segments;
        segments.sort();
        super::mirror::lines_after(cursor, max, &segments, |name, from, to| {
            self.read_copy(name, runs.get(name).map_or(&[][..], Vec::as_slice), from, to)
        })
    }

    fn take_marker(&self, data: &Path) -> Result<(), MirrorError> {
        let bytes = self
            .get_bytes(&self.key(&[MARKER]))
            .map_err(|e| mirror_failed(&self.name, "le marqueur n'a pu être lu", e))?
            .ok_or_else(|| mirror_failed(&self.name, "le marqueur n'a pu être lu", "il n'y est pas"))?;
        super::mirror::write_if_changed(&data.join(MARKER), &bytes, 0o600)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_is_the_run_of_its_pieces_from_the_start() {
        let key = |s: &str| Key::from(s);
        let runs = runs_of(vec![
            (key("p/journal/seg-1.jsonl/00000000000000000010"), 5),
            (key("p/journal/seg-1.jsonl/00000000000000000000"), 10),
            (key("p/journal/seg-2.jsonl/00000000000000000000"), 7),
            (key("p/journal/seg-2.jsonl/00000000000000000009"), 3),
        ]);
        assert_eq!(copied_length(&runs["seg-1.jsonl"]), 15);
        assert_eq!(copied_length(&runs["seg-2.jsonl"]), 7, "a gap stops the segment");
    }

    #[test]
    fn an_address_names_a_bucket() {
        let tmp = tempfile::tempdir().expect("tmp");
        assert!(Bucket::open("/srv/copie", tmp.path()).is_err());
        assert!(Bucket::open("s3://", tmp.path()).is_err());
        let bucket = Bucket::open("s3://archives/coffre/", tmp.path()).expect("open");
        assert_eq!(bucket.name(), "s3://archives/coffre");
        assert_eq!(
            bucket.blob_key(&Sha256::of(b"x")).as_ref().split('/').next(),
            Some("coffre")
        );
    }
}
