//! The catalog in fjall: one ordered tree, keys by prefix, each event's writes and
//! the last applied seq stored in one atomic batch.
//!
//! Keys: `meta/last_seq` (u64 big-endian), `meta/format`, `rec/<id>` (the
//! record as JSON), `ref/<reference or alias>` (record id),
//! `ctr/<node>[/<year>]` (u64 big-endian), `plan/<number, 10 digits>` (a
//! plan version as JSON), `tok/<hex of token hash>` (token as JSON),
//! `dstart/<node>\0<YYYY-MM-DD>/<id>` (the due index: the records of a
//! node whose rule has an end, by the date their retention started, with
//! their reference and review decision; a listing reckons each due date
//! from the node's rule, so a new duration writes nothing),
//! `dcnt/<node>\0<YYYY-MM-DD>` (how many records of that node's due index
//! started that day, u64 big-endian: what the indicators count due, a
//! line per day rather than per record),
//! `meta/rules` (the retention rules in force, node by node, kept in
//! memory too: a record is read with its due mark reckoned from them),
//! `hold/<id, 20 digits>` (a legal hold as JSON), `seal/<seq, 20 digits>`
//! (a journal seal), `disp/<id, 20 digits>`
//! (a disposal as JSON, without its lines and outcomes), `xfer/<id, 20
//! digits>` (a transfer likewise), `lines/<d|t>/<id, 20 digits>/<part, 10
//! digits>` (one part of a disposal's or transfer's lines and exclusions),
//! `outs/<d|t>/<id>/<part>` (one part of what became of them),
//! `acct/<user name>` (a person's account as JSON), `sha/<hex>/<id>` (the
//! records that use a blob, as a version's content, a rendition or a
//! metadata document: empty values), `by/<user>/<id>`
//! (the records a person deposited: empty values), `node/<code>\0<id>`
//! (the records filed in a node, each with what its retention depends on,
//! as JSON), `fval/<field>\0<comparable value>\0<id>` (the
//! records that have held a field's value, compared as duplicates are:
//! entries stay when the value changes, and readers check the record),
//! `lnk/<id>/<id of a record linked to it>` (how, as its stable name),
//! `unrd/<code>\0<id>` (the records of a node whose latest version was
//! not read as an invoice, and not destroyed: empty values; a start reads
//! those alone), `rnode/<id>` (the start a record is indexed under in
//! `dstart/`, then after a NUL its tally, whose node is the one it is
//! filed in: to move it in those indexes and counts),
//! `tally/<JSON array: node, state, service, channel>` (how many records
//! stand under that tally, u64 big-endian; the indicators and the counts
//! by node read these, not the records), `meta/verified` (the
//! latest whole integrity check), `meta/identity` (the collectivité's).
//!
//! Durability never rests on the engine's flush: after a crash fjall comes
//! back at some whole batch, and the archive replays the journal from
//! there. A catalog written by another format version, or by sled (the
//! engine before fjall), is removed and rebuilt.

use super::fjall_tree::{Batch, Tree};
use super::{
    Catalog, CatalogError, CatalogWrite, ConsultationsOf, DueEntry, DueItem, PlanVersionEntry, RetentionEntry, Tally,
    TokenEntry, WayOut,
};
use crate::domain::account::{Account, UserName, person_of_actor};
use crate::domain::hash::Sha256;
use crate::domain::plan::FinalAction;
use crate::domain::record::{NodeCode, Record, RecordId, RecordState, Reference};
use crate::domain::retention::{RuleTable, end_of, latest_start_due_by};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

/// The layout version of the values written here. Raise it when a stored
/// value changes shape: the catalog is then rebuilt from the journal.
pub const CATALOG_FORMAT: u64 = 15;

/// The cache of the blocks the catalog reads (a block read again past it
/// comes from the system's page cache). The server's resident memory at a
/// million records is what bounds it (under 1 GB, BENCHMARKS.md).
const CACHE_BYTES: u64 = 64 << 20;

/// The block cache of a scratch catalog, written and read in record order.
const SCRATCH_CACHE_BYTES: u64 = 16 << 20;

const LAST_SEQ: &[u8] = b"meta/last_seq";
const FORMAT: &[u8] = b"meta/format";
const VERIFIED: &[u8] = b"meta/verified";
const IDENTITY: &[u8] = b"meta/identity";
const KEY_CHAIN: &[u8] = b"meta/key_chain";
const RULES: &[u8] = b"meta/rules";
const TALLY: &[u8] = b"tally/";

/// The catalog in fjall.
pub struct FjallCatalog {
    db: Tree,
    /// The retention rules in force, as `meta/rules` holds them.
    rules: RwLock<Arc<RuleTable>>,
}

fn storage(e: fjall::Error) -> CatalogError {
    CatalogError::Storage(e.to_string())
}

fn decode<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, CatalogError> {
    serde_json::from_slice(bytes).map_err(|e| CatalogError::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: e.to_string(),
    })
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CatalogError> {
    serde_json::to_vec(value).map_err(|e| CatalogError::Storage(format!("encoding a value: {e}")))
}

/// Where a verification count is kept: by supplier (`+name`, or `-` for
/// every supplier), then field.
fn check_key(key: &crate::domain::verification::CheckKey) -> Vec<u8> {
    let supplier = key
        .supplier
        .as_deref()
        .map_or_else(|| "-".to_owned(), |s| format!("+{s}"));
    format!("vchk/{supplier}\0{}", key.field).into_bytes()
}

fn u64_of(bytes: &[u8]) -> u64 {
    let mut raw = [0u8; 8];
    if bytes.len() == 8 {
        raw.copy_from_slice(bytes);
    }
    u64::from_be_bytes(raw)
}

/// The key of one part of a disposal's or transfer's lines or outcomes.
fn part_key(what: &str, of: WayOut, id: u64, part: u32) -> Vec<u8> {
    format!("{what}/{}/{id:020}/{part:010}", of.letter()).into_bytes()
}

/// The prefix of every part of one disposal's or transfer's lines or outcomes.
fn parts_prefix(what: &str, of: WayOut, id: u64) -> Vec<u8> {
    format!("{what}/{}/{id:020}/", of.letter()).into_bytes()
}

/// `dstart/<node>\0`: the due index of a node, by start then id.
fn start_prefix(node: &str) -> Vec<u8> {
    format!("dstart/{node}\0").into_bytes()
}

/// `dcnt/<node>\0`: how many records of a node's due index share each
/// start.
fn start_count_prefix(node: &str) -> Vec<u8> {
    format!("dcnt/{node}\0").into_bytes()
}

fn start_count_key(node: &str, start: NaiveDate) -> Vec<u8> {
    let mut key = start_count_prefix(node);
    key.extend_from_slice(start.format("%Y-%m-%d").to_string().as_bytes());
    key
}

/// By how much each (node, start) count of the due index changes in a
/// batch.
type StartCounts = BTreeMap<(String, NaiveDate), i64>;

fn start_key(node: &str, start: NaiveDate, record: &RecordId) -> Vec<u8> {
    let mut key = start_prefix(node);
    key.extend_from_slice(format!("{}/{record}", start.format("%Y-%m-%d")).as_bytes());
    key
}

/// What the due index holds of a record besides its start.
#[derive(Serialize, Deserialize)]
struct Started {
    reference: Reference,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    decision: Option<FinalAction>,
}

/// Where a record is filed and counted: the start it is indexed under in
/// the due index, and its tally (whose node is the one it is filed in).
#[derive(Debug, Clone, PartialEq)]
struct Filed {
    start: Option<NaiveDate>,
    tally: Tally,
}

impl Filed {
    fn node(&self) -> &str {
        self.tally.node.as_str()
    }
}

/// A tally as its key and `rnode/` write it: a JSON array (node, state,
/// service, channel), which no text given for a service or a channel can
/// make ambiguous.
type TallyTuple = (NodeCode, RecordState, Option<String>, Option<String>);

fn tally_json(tally: &Tally) -> Result<Vec<u8>, CatalogError> {
    let tuple: TallyTuple = (
        tally.node.clone(),
        tally.state,
        tally.service.clone(),
        tally.channel.clone(),
    );
    encode(&tuple)
}

fn tally_of(key: &[u8], json: &[u8]) -> Result<Tally, CatalogError> {
    let (node, state, service, channel): TallyTuple = decode(key, json)?;
    Ok(Tally {
        node,
        state,
        service,
        channel,
    })
}

fn tally_key(tally: &Tally) -> Result<Vec<u8>, CatalogError> {
    let mut key = TALLY.to_vec();
    key.extend(tally_json(tally)?);
    Ok(key)
}

/// `rnode/<id>`'s value: the start if indexed (`YYYY-MM-DD`, or nothing),
/// a NUL, then the tally.
fn filed_value(filed: &Filed) -> Result<Vec<u8>, CatalogError> {
    let mut value = filed
        .start
        .map(|start| start.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
        .into_bytes();
    value.push(0);
    value.extend(tally_json(&filed.tally)?);
    Ok(value)
}

/// A day as the due index writes it (`2024-03-15`): read by hand where the
/// form is that one, as a listing over a million starts reads one each
/// (chrono's parser of formats took a tenth of a scrape of `/metrics`);
/// by chrono otherwise (a year past 9999 is written otherwise).
fn start_day(text: &[u8]) -> Option<NaiveDate> {
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        text.get(range)?
            .iter()
            .try_fold(0u32, |n, b| b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0')))
    };
    if text.len() == 10
        && text[4] == b'-'
        && text[7] == b'-'
        && let (Some(year), Some(month), Some(day)) = (digits(0..4), digits(5..7), digits(8..10))
    {
        return NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day);
    }
    NaiveDate::parse_from_str(std::str::from_utf8(text).ok()?, "%Y-%m-%d").ok()
}

/// The keys under `prefix` (a node's due index, or its counts by start)
/// whose records are due by `until` under a rule of `duration`: from the
/// prefix to past the latest start due (none when nothing is ever due).
fn due_range(
    prefix: Vec<u8>,
    duration: crate::domain::plan::RetentionDuration,
    until: NaiveDate,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let last = latest_start_due_by(duration, until)?;
    // Every key of `last`'s day sorts before `<prefix><last>0`.
    let mut end = prefix.clone();
    end.extend_from_slice(format!("{}0", last.format("%Y-%m-%d")).as_bytes());
    Some((prefix, end))
}

fn filed_of(key: &[u8], bytes: &[u8]) -> Result<Filed, CatalogError> {
    let nul = bytes.iter().position(|b| *b == 0).ok_or_else(|| CatalogError::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "no NUL after the start".into(),
    })?;
    let (start, tally) = bytes.split_at(nul);
    Ok(Filed {
        start: start_day(start),
        tally: tally_of(key, tally.get(1..).unwrap_or_default())?,
    })
}

/// The record id that ends an index key, after its `prefix_len` bytes.
fn record_after(prefix_len: usize, key: &[u8]) -> Result<RecordId, CatalogError> {
    let text = String::from_utf8_lossy(key.get(prefix_len..).unwrap_or_default());
    RecordId::parse(&text).ok_or_else(|| CatalogError::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "not a record id".into(),
    })
}

/// `sha/<hex>/<id>`: the records that use this blob.
fn content_key(sha256: &Sha256, record: &RecordId) -> Vec<u8> {
    format!("sha/{}/{record}", sha256.hex()).into_bytes()
}

/// `<kind>/<code>\0`: a node's records in one of the indexes kept by node,
/// `node/` (the records filed in it) or `unrd/` (those waiting to be
/// read). A code holds no NUL, so no node's keys run into another's.
fn in_node_prefix(kind: &str, node: &str) -> Vec<u8> {
    format!("{kind}/{node}\0").into_bytes()
}

fn in_node_key(kind: &str, node: &str, record: &RecordId) -> Vec<u8> {
    let mut key = in_node_prefix(kind, node);
    key.extend_from_slice(record.to_string().as_bytes());
    key
}

fn node_prefix(node: &str) -> Vec<u8> {
    in_node_prefix("node", node)
}

fn node_key(node: &str, record: &RecordId) -> Vec<u8> {
    in_node_key("node", node, record)
}

fn unread_key(node: &str, record: &RecordId) -> Vec<u8> {
    in_node_key("unrd", node, record)
}

/// `fval/<name>\0<comparable value>\0`: the records that held a value.
fn field_prefix(name: &str, comparable: &str) -> Vec<u8> {
    format!("fval/{name}\0{comparable}\0").into_bytes()
}

fn field_key(name: &str, comparable: &str, record: &RecordId) -> Vec<u8> {
    let mut key = field_prefix(name, comparable);
    key.extend_from_slice(record.to_string().as_bytes());
    key
}

fn counter_key(scope: &str) -> Vec<u8> {
    format!("ctr/{scope}").into_bytes()
}

/// Opens with `open`, waiting (see [`super::open_when_released`]) while
/// fjall's file lock is still held by a closing catalog. A second coffre on
/// the same data directory never gets this far: the data directory's own
/// lock refuses it first.
fn open_when_released<T>(
    open: impl FnMut() -> Result<T, fjall::Error>,
    budget: std::time::Duration,
) -> Result<T, fjall::Error> {
    super::open_when_released(open, |e| matches!(e, fjall::Error::Locked), budget)
}

/// Whether fjall refused to open because what it found is damaged, rather
/// than for want of access or room: such a catalog is set aside and
/// rebuilt.
fn damaged(e: &fjall::Error) -> bool {
    use std::io::ErrorKind;
    match e {
        fjall::Error::Io(e) => matches!(
            e.kind(),
            ErrorKind::NotFound | ErrorKind::InvalidData | ErrorKind::UnexpectedEof
        ),
        fjall::Error::Locked | fjall::Error::Poisoned | fjall::Error::KeyspaceDeleted => false,
        _ => true,
    }
}

/// Whether `folder` holds a catalog written by sled, the engine before
/// fjall (its `conf` and `db` files).
fn written_by_sled(folder: &Path) -> bool {
    folder.join("conf").is_file() && folder.join("db").is_file()
}

impl FjallCatalog {
    /// Opens (creating if needed) the catalog at `path`. A catalog of
    /// another format, or written by sled, is removed and made anew, so
    /// that replay rebuilds it (removing its keys one by one would take
    /// minutes at a million records).
    pub fn open(path: &Path) -> Result<Self, CatalogError> {
        if written_by_sled(path) {
            tracing::warn!("the catalog was written by sled; it will be rebuilt in fjall from the journal");
            std::fs::remove_dir_all(path)
                .map_err(|e| CatalogError::Storage(format!("removing the catalog written by sled: {e}")))?;
        }
        let catalog = Self::open_as_it_is(path)?;
        let format = catalog.db.get(FORMAT).map_err(storage)?.map(|v| u64_of(&v));
        if format == Some(CATALOG_FORMAT) {
            if let Some(bytes) = catalog.db.get(RULES).map_err(storage)? {
                *catalog.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(decode(RULES, &bytes)?);
            }
            return Ok(catalog);
        }
        let catalog = match format {
            Some(found) => {
                tracing::warn!(
                    found,
                    expected = CATALOG_FORMAT,
                    "catalog format changed; it will be rebuilt from the journal"
                );
                drop(catalog);
                std::fs::remove_dir_all(path)
                    .map_err(|e| CatalogError::Storage(format!("removing the catalog of format {found}: {e}")))?;
                Self::open_as_it_is(path)?
            }
            None => catalog,
        };
        catalog.clear()?;
        Ok(catalog)
    }

    /// A catalog for scratch work in `folder`, a folder of its own that
    /// does not exist yet: its files are removed when it is dropped (a
    /// check projects the journal into it to compare, so that a million
    /// records wait on disk rather than in memory).
    pub fn scratch(folder: &Path) -> Result<Self, CatalogError> {
        let db = Tree::open(folder, SCRATCH_CACHE_BYTES, true).map_err(storage)?;
        let catalog = FjallCatalog {
            db,
            rules: RwLock::new(Arc::default()),
        };
        catalog.clear()?;
        Ok(catalog)
    }

    /// Opens the catalog at `path` whatever its format (the rules it holds
    /// are read once its format is known).
    fn open_as_it_is(path: &Path) -> Result<Self, CatalogError> {
        let db = open_when_released(|| Tree::open(path, CACHE_BYTES, false), super::LOCK_WAIT).map_err(|e| {
            if damaged(&e) {
                CatalogError::Damaged(e.to_string())
            } else {
                storage(e)
            }
        })?;
        Ok(FjallCatalog {
            db,
            rules: RwLock::new(Arc::default()),
        })
    }
}

impl FjallCatalog {
    /// The value stored under `key`, decoded.
    fn value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CatalogError> {
        match self.db.get(key.as_bytes()).map_err(storage)? {
            Some(bytes) => Ok(Some(decode(key.as_bytes(), &bytes)?)),
            None => Ok(None),
        }
    }

    /// The retention rules in force.
    fn rules(&self) -> Arc<RuleTable> {
        Arc::clone(&self.rules.read().unwrap_or_else(|p| p.into_inner()))
    }

    /// Moves the count stored under `key` by `change` in `batch`: removed
    /// at 0, as though never counted.
    fn count(&self, batch: &mut Batch, key: Vec<u8>, change: i64) -> Result<(), CatalogError> {
        if change == 0 {
            return Ok(());
        }
        let current = self.db.get(&key).map_err(storage)?.map_or(0, |v| u64_of(&v));
        match current.saturating_add_signed(change) {
            0 => batch.remove(key),
            n => batch.insert(key, &n.to_be_bytes()[..]),
        }
        Ok(())
    }

    /// Where a record is filed, as this batch leaves it or as stored.
    fn filed(&self, filed: &HashMap<RecordId, Filed>, record: &RecordId) -> Result<Option<Filed>, CatalogError> {
        Ok(match filed.get(record) {
            Some(was) => Some(was.clone()),
            None => {
                let key = format!("rnode/{record}");
                match self.db.get(key.as_bytes()).map_err(storage)? {
                    Some(value) => Some(filed_of(key.as_bytes(), &value)?),
                    None => None,
                }
            }
        })
    }

    /// Moves a record in the due index, from where it `was` to `now`.
    fn refile(
        batch: &mut Batch,
        (filed, starts): (&mut HashMap<RecordId, Filed>, &mut StartCounts),
        record: &RecordId,
        was: Option<&Filed>,
        now: Filed,
        started: &Started,
    ) -> Result<(), CatalogError> {
        if let Some(was @ Filed { start: Some(start), .. }) = was {
            batch.remove(start_key(was.node(), *start, record));
            *starts.entry((was.node().to_owned(), *start)).or_default() -= 1;
        }
        if let Some(start) = now.start {
            batch.insert(start_key(now.node(), start, record), encode(started)?);
            *starts.entry((now.node().to_owned(), start)).or_default() += 1;
        }
        if was != Some(&now) {
            batch.insert(format!("rnode/{record}").into_bytes(), filed_value(&now)?);
            filed.insert(*record, now);
        }
        Ok(())
    }

    /// Indexes a node's records anew under `rules` (their start changed,
    /// or their rule gained or lost an end).
    fn reindex(
        &self,
        batch: &mut Batch,
        (filed, starts): (&mut HashMap<RecordId, Filed>, &mut StartCounts),
        node: &NodeCode,
        rules: &RuleTable,
    ) -> Result<(), CatalogError> {
        let prefix = node_prefix(node.as_str());
        for item in self.db.scan_prefix(&prefix) {
            let (key, value) = item.map_err(storage)?;
            let id = record_after(prefix.len(), &key)?;
            let entry: RetentionEntry = decode(&key, &value)?;
            let was = self.filed(filed, &id)?.ok_or_else(|| CatalogError::Decode {
                key: String::from_utf8_lossy(&key).into_owned(),
                reason: "a record in the node index without its rnode/ entry".into(),
            })?;
            // Moved elsewhere earlier in this batch: placed there already.
            if was.node() != node.as_str() {
                continue;
            }
            let now = Filed {
                start: entry.start_under(rules, node),
                tally: was.tally.clone(),
            };
            let started = Started {
                reference: entry.reference,
                decision: entry.decision,
            };
            Self::refile(batch, (&mut *filed, &mut *starts), &id, Some(&was), now, &started)?;
        }
        Ok(())
    }

    /// The record ids that end the keys under `prefix`, in key order.
    fn ids_after(&self, prefix: &[u8]) -> Result<Vec<RecordId>, CatalogError> {
        self.db
            .scan_prefix(prefix)
            .map(|item| record_after(prefix.len(), &item.map_err(storage)?.0))
            .collect()
    }

    /// Every value under `prefix`, decoded, in key order.
    fn values<T: serde::de::DeserializeOwned>(&self, prefix: &[u8]) -> Result<Vec<T>, CatalogError> {
        self.db
            .scan_prefix(prefix)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                decode(&key, &value)
            })
            .collect()
    }
}

impl Catalog for FjallCatalog {
    fn last_applied(&self) -> Result<u64, CatalogError> {
        Ok(self.db.get(LAST_SEQ).map_err(storage)?.map_or(0, |v| u64_of(&v)))
    }

    fn apply(&self, seq: u64, writes: Vec<CatalogWrite>) -> Result<(), CatalogError> {
        let mut batch = self.db.batch();
        // The node index moves within the batch: where each record put
        // here was filed last, and by how much each tally's count changes.
        let mut filed: HashMap<RecordId, Filed> = HashMap::new();
        let mut tallies: BTreeMap<Tally, i64> = BTreeMap::new();
        let mut starts: StartCounts = BTreeMap::new();
        // Counters raised in this batch (a replay puts many events in one).
        let mut raised: HashMap<Vec<u8>, u64> = HashMap::new();
        // The rules records are placed under, and new ones to keep once
        // the batch is stored.
        let mut rules = self.rules();
        let mut new_rules = None;
        for write in writes {
            match write {
                CatalogWrite::PutRules(table) => {
                    let table = Arc::new(*table);
                    for node in rules.reindexed(&table) {
                        self.reindex(&mut batch, (&mut filed, &mut starts), &node, &table)?;
                    }
                    batch.insert(RULES, encode(&*table)?);
                    rules = Arc::clone(&table);
                    new_rules = Some(table);
                }
                CatalogWrite::PutRecord(record) => {
                    let node = record.node.to_string();
                    let was = self.filed(&filed, &record.id)?;
                    if let Some(was) = was.as_ref().filter(|was| was.node() != node) {
                        batch.remove(node_key(was.node(), &record.id));
                        batch.remove(unread_key(was.node(), &record.id));
                    }
                    let tally = Tally::of(&record);
                    if was.as_ref().map(|was| &was.tally) != Some(&tally) {
                        if let Some(was) = &was {
                            *tallies.entry(was.tally.clone()).or_default() -= 1;
                        }
                        *tallies.entry(tally.clone()).or_default() += 1;
                    }
                    let started = Started {
                        reference: record.reference.clone(),
                        decision: record.review.as_ref().map(|d| d.decision),
                    };
                    let now = Filed {
                        start: rules.record_start(&record),
                        tally,
                    };
                    Self::refile(
                        &mut batch,
                        (&mut filed, &mut starts),
                        &record.id,
                        was.as_ref(),
                        now,
                        &started,
                    )?;
                    for reference in std::iter::once(&record.reference).chain(&record.aliases) {
                        batch.insert(
                            format!("ref/{reference}").into_bytes(),
                            record.id.to_string().into_bytes(),
                        );
                    }
                    for sha256 in record.blobs_used() {
                        batch.insert(content_key(sha256, &record.id), &[][..]);
                    }
                    for link in &record.links {
                        batch.insert(
                            format!("lnk/{}/{}", link.record, record.id).into_bytes(),
                            link.kind.as_str().as_bytes(),
                        );
                    }
                    if let Some(user) = person_of_actor(&record.created_by) {
                        batch.insert(format!("by/{user}/{}", record.id).into_bytes(), &[][..]);
                    }
                    for (name, value) in &record.fields {
                        let comparable = crate::domain::record::comparable(value);
                        if !comparable.is_empty() {
                            batch.insert(field_key(name, &comparable, &record.id), &[][..]);
                        }
                    }
                    // Neither the node entry nor the record holds a due
                    // mark: it is reckoned from the rules when read.
                    batch.insert(node_key(&node, &record.id), encode(&RetentionEntry::of(&record))?);
                    // A record new to the catalog has no entry to remove.
                    let known = was.is_some();
                    if record.awaits_reading() {
                        batch.insert(unread_key(&node, &record.id), &[][..]);
                    } else if known {
                        batch.remove(unread_key(&node, &record.id));
                    }
                    let waiting = format!("vq/{}", record.id).into_bytes();
                    if record.to_verify.is_some() {
                        batch.insert(waiting, &[][..]);
                    } else if known {
                        batch.remove(waiting);
                    }
                    let circulating = format!("circ/{}", record.id).into_bytes();
                    match crate::domain::circuit::Waiting::of(&record) {
                        Some(waiting) => batch.insert(circulating, encode(&waiting)?),
                        None if known => batch.remove(circulating),
                        None => {}
                    }
                    let mut record = record;
                    record.due = None;
                    batch.insert(format!("rec/{}", record.id).into_bytes(), encode(&*record)?);
                }
                CatalogWrite::RaiseCounter { scope, value } => {
                    let key = counter_key(&scope);
                    let current = match raised.get(&key) {
                        Some(current) => *current,
                        None => self.db.get(&key).map_err(storage)?.map_or(0, |v| u64_of(&v)),
                    };
                    if value > current {
                        batch.insert(key.clone(), &value.to_be_bytes()[..]);
                        raised.insert(key, value);
                    }
                }
                CatalogWrite::PutSeal(seal) => {
                    batch.insert(format!("seal/{:020}", seal.seq).into_bytes(), encode(&*seal)?);
                }
                CatalogWrite::PutHold(hold) => {
                    batch.insert(format!("hold/{:020}", hold.id).into_bytes(), encode(&*hold)?);
                }
                CatalogWrite::PutDisposal(disposal) => {
                    batch.insert(
                        format!("disp/{:020}", disposal.proposal.id).into_bytes(),
                        encode(&*disposal)?,
                    );
                }
                CatalogWrite::PutTransfer(transfer) => {
                    batch.insert(
                        format!("xfer/{:020}", transfer.proposal.id).into_bytes(),
                        encode(&*transfer)?,
                    );
                }
                CatalogWrite::PutLines { of, id, part, lines } => {
                    batch.insert(part_key("lines", of, id, part), encode(&*lines)?);
                }
                CatalogWrite::PutOutcomes { of, id, part, outcomes } => {
                    batch.insert(part_key("outs", of, id, part), encode(&*outcomes)?);
                }
                CatalogWrite::PutPlanVersion(entry) => {
                    batch.insert(format!("plan/{:010}", entry.number).into_bytes(), encode(&entry)?);
                }
                CatalogWrite::PutConsultation(consultation) => {
                    let value = encode(&*consultation)?;
                    batch.insert(
                        format!("conr/{}/{:020}", consultation.record, consultation.seq).into_bytes(),
                        value.clone(),
                    );
                    batch.insert(
                        format!("conw/{}/{:020}", hex::encode(&consultation.who), consultation.seq).into_bytes(),
                        value,
                    );
                }
                CatalogWrite::PutToken(token) => {
                    batch.insert(
                        format!("tok/{}", token.token_sha256.hex()).into_bytes(),
                        encode(&token)?,
                    );
                }
                CatalogWrite::PutAccount(account) => {
                    batch.insert(format!("acct/{}", account.user).into_bytes(), encode(&*account)?);
                }
                CatalogWrite::PutVerification(verification) => {
                    batch.insert(VERIFIED, encode(&verification)?);
                }
                CatalogWrite::PutIdentity(identity) => {
                    batch.insert(IDENTITY, encode(&*identity)?);
                }
                CatalogWrite::PutKeyChain(chain) => {
                    batch.insert(KEY_CHAIN, encode(&*chain)?);
                }
                CatalogWrite::PutDamage(damage) => {
                    batch.insert(format!("dmg/{}", damage.blob.hex()).into_bytes(), encode(&damage)?);
                }
                CatalogWrite::RemoveDamage(blob) => {
                    batch.remove(format!("dmg/{}", blob.hex()).into_bytes());
                }
                CatalogWrite::PutCheckCounts { key, counts } => {
                    batch.insert(check_key(&key), encode(&(key, counts))?);
                }
            }
        }
        for (tally, change) in tallies {
            self.count(&mut batch, tally_key(&tally)?, change)?;
        }
        for ((node, start), change) in starts {
            self.count(&mut batch, start_count_key(&node, start), change)?;
        }
        batch.insert(LAST_SEQ, &seq.to_be_bytes()[..]);
        self.db.apply_batch(batch).map_err(storage)?;
        if let Some(table) = new_rules {
            *self.rules.write().unwrap_or_else(|p| p.into_inner()) = table;
        }
        Ok(())
    }

    fn record(&self, id: &RecordId) -> Result<Option<Record>, CatalogError> {
        let mut record = self.value::<Record>(&format!("rec/{id}"))?;
        if let Some(record) = &mut record {
            record.due = self.rules().record_due(record);
        }
        Ok(record)
    }

    fn record_id(&self, reference: &Reference) -> Result<Option<RecordId>, CatalogError> {
        let key = format!("ref/{reference}");
        Ok(self
            .db
            .get(key.as_bytes())
            .map_err(storage)?
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(RecordId::parse)))
    }

    fn records(&self) -> Box<dyn Iterator<Item = Result<Record, CatalogError>> + '_> {
        let rules = self.rules();
        Box::new(self.db.scan_prefix(b"rec/").map(move |item| {
            let (key, value) = item.map_err(storage)?;
            let mut record: Record = decode(&key, &value)?;
            record.due = rules.record_due(&record);
            Ok(record)
        }))
    }

    fn holds(&self) -> Result<Vec<crate::domain::hold::Hold>, CatalogError> {
        self.values(b"hold/")
    }

    fn hold(&self, id: u64) -> Result<Option<crate::domain::hold::Hold>, CatalogError> {
        self.value(&format!("hold/{id:020}"))
    }

    fn seals(&self) -> Result<Vec<crate::domain::seal::Seal>, CatalogError> {
        self.values(b"seal/")
    }

    fn latest_seal(&self) -> Result<Option<crate::domain::seal::Seal>, CatalogError> {
        match self.db.scan_prefix(b"seal/").next_back() {
            Some(item) => {
                let (key, value) = item.map_err(storage)?;
                Ok(Some(decode(&key, &value)?))
            }
            None => Ok(None),
        }
    }

    fn disposals(&self) -> Result<Vec<crate::domain::disposition::Disposal>, CatalogError> {
        self.values(b"disp/")
    }

    fn disposal(&self, id: u64) -> Result<Option<crate::domain::disposition::Disposal>, CatalogError> {
        self.value(&format!("disp/{id:020}"))
    }

    fn transfers(&self) -> Result<Vec<crate::domain::disposition::Transfer>, CatalogError> {
        self.values(b"xfer/")
    }

    fn transfer(&self, id: u64) -> Result<Option<crate::domain::disposition::Transfer>, CatalogError> {
        self.value(&format!("xfer/{id:020}"))
    }

    fn lines_of(&self, of: WayOut, id: u64) -> Result<Vec<crate::domain::disposition::LinesPart>, CatalogError> {
        self.values(&parts_prefix("lines", of, id))
    }

    fn outcomes_of(&self, of: WayOut, id: u64) -> Result<Vec<crate::domain::disposition::OutcomesPart>, CatalogError> {
        self.values(&parts_prefix("outs", of, id))
    }

    fn plan_versions(&self) -> Result<Vec<PlanVersionEntry>, CatalogError> {
        self.values(b"plan/")
    }

    fn due_until(
        &self,
        until: NaiveDate,
    ) -> Box<dyn Iterator<Item = Result<(NaiveDate, RecordId, DueEntry), CatalogError>> + '_> {
        // Per node whose rule has an end: the records started on or before
        // the latest start due by `until`, in start order, so in due order.
        let rules = self.rules();
        let mut nodes: Vec<Box<dyn Iterator<Item = DueItem> + '_>> = Vec::new();
        for (node, rule) in rules.ending() {
            let Some((prefix, end)) = due_range(start_prefix(node.as_str()), rule.duration, until) else {
                continue;
            };
            let (node, rule) = (node.clone(), rule.clone());
            nodes.push(Box::new(self.db.range(prefix.clone()..end).map(move |item| {
                let (key, value) = item.map_err(storage)?;
                let text = String::from_utf8_lossy(key.get(prefix.len()..).unwrap_or_default()).into_owned();
                let (start, id) = text
                    .split_once('/')
                    .and_then(|(start, id)| start_day(start.as_bytes()).zip(RecordId::parse(id)))
                    .ok_or_else(|| CatalogError::Decode {
                        key: String::from_utf8_lossy(&key).into_owned(),
                        reason: "not a due-index key".into(),
                    })?;
                let started: Started = decode(&key, &value)?;
                let due = end_of(start, rule.duration).ok_or_else(|| CatalogError::Decode {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: "a start whose end is past the calendar".into(),
                })?;
                Ok((
                    due,
                    id,
                    DueEntry {
                        reference: started.reference,
                        node: node.clone(),
                        rule: rule.rule.clone(),
                        final_action: rule.final_action_for(started.decision),
                    },
                ))
            })));
        }
        Box::new(super::merge_due(nodes))
    }

    fn due_counts(&self, until: NaiveDate) -> Result<Vec<(NodeCode, NaiveDate, u64)>, CatalogError> {
        // The counts by start, not the due index: a line per day a
        // node's records started on, however many records share it.
        let rules = self.rules();
        let mut counts: Vec<(NodeCode, NaiveDate, u64)> = Vec::new();
        for (node, rule) in rules.ending() {
            let Some((prefix, end)) = due_range(start_count_prefix(node.as_str()), rule.duration, until) else {
                continue;
            };
            let mut by_due: BTreeMap<NaiveDate, u64> = BTreeMap::new();
            for item in self.db.range(prefix.clone()..end) {
                let (key, value) = item.map_err(storage)?;
                let bad = |reason: &str| CatalogError::Decode {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: reason.into(),
                };
                let day = start_day(key.get(prefix.len()..).unwrap_or_default())
                    .ok_or_else(|| bad("not a due-index count's key"))?;
                let due = end_of(day, rule.duration).ok_or_else(|| bad("a start whose end is past the calendar"))?;
                *by_due.entry(due).or_default() += u64_of(&value);
            }
            counts.extend(by_due.into_iter().map(|(due, n)| (node.clone(), due, n)));
        }
        counts.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
        Ok(counts)
    }

    fn counter(&self, scope: &str) -> Result<u64, CatalogError> {
        Ok(self
            .db
            .get(counter_key(scope))
            .map_err(storage)?
            .map_or(0, |v| u64_of(&v)))
    }

    fn token(&self, token_sha256: &Sha256) -> Result<Option<TokenEntry>, CatalogError> {
        self.value(&format!("tok/{}", token_sha256.hex()))
    }

    fn tokens(&self) -> Result<Vec<TokenEntry>, CatalogError> {
        self.values(b"tok/")
    }

    fn consultations(
        &self,
        of: &ConsultationsOf,
        after: u64,
        limit: usize,
    ) -> Result<Vec<crate::domain::trail::Consultation>, CatalogError> {
        let prefix = match of {
            ConsultationsOf::Record(id) => format!("conr/{id}/"),
            ConsultationsOf::Who(who) => format!("conw/{}/", hex::encode(who)),
        };
        // Keys end in the seq, 20 digits: the first after `after` on.
        let start = match after.checked_add(1) {
            Some(first) => format!("{prefix}{first:020}"),
            None => return Ok(Vec::new()),
        };
        self.db
            .range(start.into_bytes()..)
            .take_while(|item| {
                item.as_ref()
                    .map_or(true, |(key, _)| key.starts_with(prefix.as_bytes()))
            })
            .take(limit)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                decode(&key, &value)
            })
            .collect()
    }

    fn records_holding(&self, sha256: &Sha256) -> Result<Vec<RecordId>, CatalogError> {
        let prefix = format!("sha/{}/", sha256.hex());
        // A new content, held by none (each deposit asks): one look at
        // the next key, cheaper than setting up a scan.
        match self.db.get_gt(prefix.as_bytes()).map_err(storage)? {
            Some((key, _)) if key.starts_with(prefix.as_bytes()) => self.ids_after(prefix.as_bytes()),
            _ => Ok(Vec::new()),
        }
    }

    fn blobs_used(&self, after: Option<&Sha256>, limit: usize) -> Result<Vec<(Sha256, Vec<RecordId>)>, CatalogError> {
        // Past every key of `after`: its hex and a byte above `/`.
        let start = after.map_or_else(|| b"sha/".to_vec(), |sha| format!("sha/{}0", sha.hex()).into_bytes());
        let mut used: Vec<(Sha256, Vec<RecordId>)> = Vec::new();
        for item in self.db.range(start..b"sha0".to_vec()) {
            let (key, _) = item.map_err(storage)?;
            let hex = key.get(4..68).and_then(|h| std::str::from_utf8(h).ok());
            let sha = hex
                .and_then(|h| Sha256::parse(h).ok())
                .ok_or_else(|| CatalogError::Decode {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: "not a blob's digest".into(),
                })?;
            let id = record_after(69, &key)?;
            if let Some((_, ids)) = used.last_mut().filter(|(last, _)| *last == sha) {
                ids.push(id);
            } else if used.len() == limit {
                break;
            } else {
                used.push((sha, vec![id]));
            }
        }
        Ok(used)
    }

    fn linked_to(&self, record: &RecordId) -> Result<Vec<(RecordId, crate::domain::record::LinkKind)>, CatalogError> {
        let prefix = format!("lnk/{record}/");
        self.db
            .scan_prefix(prefix.as_bytes())
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                let kind =
                    crate::domain::record::LinkKind::parse(&String::from_utf8_lossy(&value)).ok_or_else(|| {
                        CatalogError::Decode {
                            key: String::from_utf8_lossy(&key).into_owned(),
                            reason: "not a kind of link".into(),
                        }
                    })?;
                Ok((record_after(prefix.len(), &key)?, kind))
            })
            .collect()
    }

    fn records_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        self.ids_after(&node_prefix(node.as_str()))
    }

    fn unread_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        self.ids_after(&in_node_prefix("unrd", node.as_str()))
    }

    fn records_with_field(&self, name: &str, comparable: &str) -> Result<Vec<RecordId>, CatalogError> {
        self.ids_after(&field_prefix(name, comparable))
    }

    fn retention_in(&self, node: &NodeCode) -> Result<Vec<(RecordId, RetentionEntry)>, CatalogError> {
        let prefix = node_prefix(node.as_str());
        let rules = self.rules();
        self.db
            .scan_prefix(&prefix)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                let id = record_after(prefix.len(), &key)?;
                let mut entry: RetentionEntry = decode(&key, &value)?;
                entry.due = entry.due_under(&rules, node);
                Ok((id, entry))
            })
            .collect()
    }

    fn tallies(&self) -> Result<Vec<(Tally, u64)>, CatalogError> {
        let mut tallies = self
            .db
            .scan_prefix(TALLY)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                let tally = tally_of(&key, key.get(TALLY.len()..).unwrap_or_default())?;
                Ok((tally, u64_of(&value)))
            })
            .collect::<Result<Vec<_>, CatalogError>>()?;
        tallies.sort();
        Ok(tallies)
    }

    fn deposited_by(&self, user: &UserName, limit: usize) -> Result<Vec<RecordId>, CatalogError> {
        let prefix = format!("by/{user}/");
        self.db
            .scan_prefix(prefix.as_bytes())
            .rev()
            .take(limit)
            .map(|item| record_after(prefix.len(), &item.map_err(storage)?.0))
            .collect()
    }

    fn account(&self, user: &UserName) -> Result<Option<Account>, CatalogError> {
        self.value(&format!("acct/{user}"))
    }

    fn accounts(&self) -> Result<Vec<Account>, CatalogError> {
        self.values(b"acct/")
    }

    fn damage(&self, blob: &Sha256) -> Result<Option<crate::domain::integrity::BlobDamage>, CatalogError> {
        self.value(&format!("dmg/{}", blob.hex()))
    }

    fn damages(&self) -> Result<Vec<crate::domain::integrity::BlobDamage>, CatalogError> {
        self.values(b"dmg/")
    }

    fn identity(&self) -> Result<Option<crate::domain::identity::Identity>, CatalogError> {
        match self.db.get(IDENTITY).map_err(storage)? {
            Some(bytes) => Ok(Some(decode(IDENTITY, &bytes)?)),
            None => Ok(None),
        }
    }

    fn key_chain(&self) -> Result<crate::domain::seal::KeyChain, CatalogError> {
        match self.db.get(KEY_CHAIN).map_err(storage)? {
            Some(bytes) => decode(KEY_CHAIN, &bytes),
            None => Ok(Default::default()),
        }
    }

    fn last_verification(&self) -> Result<Option<crate::domain::integrity::Verification>, CatalogError> {
        match self.db.get(VERIFIED).map_err(storage)? {
            Some(bytes) => Ok(Some(decode(VERIFIED, &bytes)?)),
            None => Ok(None),
        }
    }

    fn to_verify(&self, after: Option<&RecordId>, limit: usize) -> Result<Vec<RecordId>, CatalogError> {
        let prefix = b"vq/";
        let start = match after {
            // Past `after` itself: the next key after it.
            Some(after) => format!("vq/{after}\0").into_bytes(),
            None => prefix.to_vec(),
        };
        self.db
            .range(start..)
            .take_while(|item| item.as_ref().map_or(true, |(key, _)| key.starts_with(prefix)))
            .take(limit)
            .map(|item| record_after(prefix.len(), &item.map_err(storage)?.0))
            .collect()
    }

    fn to_verify_count(&self) -> Result<u64, CatalogError> {
        Ok(self.db.scan_prefix(b"vq/").count() as u64)
    }

    fn circulating(&self) -> Result<Vec<crate::domain::circuit::Waiting>, CatalogError> {
        self.db
            .scan_prefix(b"circ/")
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                decode(&key, &value)
            })
            .collect()
    }

    fn check_counts(
        &self,
        key: &crate::domain::verification::CheckKey,
    ) -> Result<crate::domain::verification::CheckCounts, CatalogError> {
        let stored = check_key(key);
        match self.db.get(&stored).map_err(storage)? {
            Some(bytes) => {
                let (_, counts): (
                    crate::domain::verification::CheckKey,
                    crate::domain::verification::CheckCounts,
                ) = decode(&stored, &bytes)?;
                Ok(counts)
            }
            None => Ok(Default::default()),
        }
    }

    fn all_check_counts(
        &self,
    ) -> Result<
        Vec<(
            crate::domain::verification::CheckKey,
            crate::domain::verification::CheckCounts,
        )>,
        CatalogError,
    > {
        self.values(b"vchk/")
    }

    fn clear(&self) -> Result<(), CatalogError> {
        self.db.clear().map_err(storage)?;
        let mut batch = self.db.batch();
        batch.insert(FORMAT, &CATALOG_FORMAT.to_be_bytes()[..]);
        self.db.apply_batch(batch).map_err(storage)?;
        *self.rules.write().unwrap_or_else(|p| p.into_inner()) = Arc::default();
        Ok(())
    }

    fn flush(&self) -> Result<(), CatalogError> {
        self.db.flush().map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// The due index's days read by hand as chrono reads them, for
        /// every day and for any ten characters of digits and dashes.
        #[test]
        fn start_days_read_as_chrono_reads_them(
            days in -400_000i32..3_000_000,
            text in "-?[0-9-]{9,10}",
        ) {
            if let Some(date) = NaiveDate::from_num_days_from_ce_opt(days) {
                let written = date.format("%Y-%m-%d").to_string();
                prop_assert_eq!(super::start_day(written.as_bytes()), Some(date), "{}", written);
            }
            prop_assert_eq!(
                super::start_day(text.as_bytes()),
                NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok(),
                "{}", text
            );
        }
    }

    use super::*;
    use std::time::Duration;

    fn open_tree(dir: &Path) -> Result<Tree, fjall::Error> {
        Tree::open(&dir.join("db"), 1 << 20, false)
    }

    #[test]
    fn opening_waits_for_a_closing_catalog_to_release_its_lock() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let held = open_tree(tmp.path()).expect("first open");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(held);
        });
        let reopened = open_when_released(|| open_tree(tmp.path()), Duration::from_secs(10));
        releaser.join().expect("the releasing thread");
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }

    #[test]
    fn a_lock_held_beyond_the_budget_is_reported() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let _held = open_tree(tmp.path()).expect("first open");
        let started = std::time::Instant::now();
        let second = open_when_released(|| open_tree(tmp.path()), Duration::from_millis(100));
        match second {
            Err(e) => assert!(matches!(e, fjall::Error::Locked), "{e}"),
            Ok(_) => panic!("expected the lock to be reported"),
        }
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn other_errors_are_not_waited_for() {
        let mut calls = 0;
        let result: Result<(), fjall::Error> = open_when_released(
            || {
                calls += 1;
                Err(fjall::Error::Unrecoverable)
            },
            Duration::from_secs(10),
        );
        assert!(result.is_err());
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_catalog_written_by_sled_is_removed_and_made_anew() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("catalog");
        std::fs::create_dir_all(path.join("blobs")).expect("folder");
        // sled 0.34's files: its configuration, its log, a snapshot.
        std::fs::write(path.join("conf"), b"segment_size: 524288\nuse_compression: false\n").expect("conf");
        std::fs::write(path.join("db"), [0u8; 4096]).expect("db");
        std::fs::write(path.join("snap.0000000000000060"), [1u8; 64]).expect("snap");
        let catalog = FjallCatalog::open(&path).expect("open");
        assert_eq!(catalog.last_applied().expect("applied"), 0, "made anew");
        assert!(!path.join("conf").exists() && !path.join("snap.0000000000000060").exists());
        catalog
            .apply(
                3,
                vec![CatalogWrite::RaiseCounter {
                    scope: "FIN-FAC".into(),
                    value: 3,
                }],
            )
            .expect("apply");
        catalog.flush().expect("flush");
        drop(catalog);
        let catalog = FjallCatalog::open(&path).expect("reopen");
        assert_eq!(
            catalog.last_applied().expect("applied"),
            3,
            "this engine's catalog: kept"
        );
    }

    #[test]
    fn a_catalog_of_another_format_is_made_anew_and_one_of_this_format_kept() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = tmp.path().join("catalog");
        let write = |seq: u64| CatalogWrite::RaiseCounter {
            scope: "FIN-FAC".into(),
            value: seq,
        };
        {
            let catalog = FjallCatalog::open(&path).expect("open");
            catalog.apply(7, vec![write(7)]).expect("apply");
            catalog.flush().expect("flush");
        }
        {
            let catalog = FjallCatalog::open(&path).expect("reopen");
            assert_eq!(catalog.last_applied().expect("applied"), 7, "this format: kept");
            catalog
                .db
                .insert(FORMAT, &(CATALOG_FORMAT - 1).to_be_bytes()[..])
                .expect("an older format");
            // Whose rules were written in a shape this code cannot read.
            catalog.db.insert(RULES, &b"[1, 2, 3]"[..]).expect("rules");
            catalog.flush().expect("flush");
        }
        let catalog = FjallCatalog::open(&path).expect("reopen");
        assert_eq!(catalog.last_applied().expect("applied"), 0, "another format: made anew");
        assert_eq!(catalog.counter("FIN-FAC").expect("counter"), 0);
        assert_eq!(
            catalog.db.get(FORMAT).expect("format").map(|v| u64_of(&v)),
            Some(CATALOG_FORMAT)
        );
        drop(catalog);
        assert_eq!(
            FjallCatalog::open(&path)
                .expect("reopen")
                .last_applied()
                .expect("applied"),
            0,
            "the new catalog is of this format"
        );
    }

    #[test]
    fn a_batch_of_several_events_raises_each_counter_to_its_highest() {
        // A rebuild puts a run of deposits in one batch; numbers may be
        // journaled out of order (concurrent deposits).
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let catalog = FjallCatalog::open(&tmp.path().join("catalog")).expect("open");
        let raise = |value| CatalogWrite::RaiseCounter {
            scope: "FIN-FAC/2024".into(),
            value,
        };
        catalog.apply(1, vec![raise(3)]).expect("apply");
        catalog.apply(4, vec![raise(5), raise(4), raise(2)]).expect("apply");
        assert_eq!(catalog.counter("FIN-FAC/2024").expect("counter"), 5);
        assert_eq!(catalog.last_applied().expect("seq"), 4);
    }
}
