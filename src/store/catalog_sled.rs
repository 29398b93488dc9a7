//! The catalog in sled: one tree, keys by prefix, each event's writes and
//! the last applied seq stored in one atomic batch.
//!
//! Keys: `meta/last_seq` (u64 big-endian), `meta/format`, `rec/<id>` (the
//! record as JSON), `ref/<reference or alias>` (record id),
//! `ctr/<node>[/<year>]` (u64 big-endian), `plan/<number, 10 digits>` (a
//! plan version as JSON), `tok/<hex of token hash>` (token as JSON),
//! `due/<YYYY-MM-DD>/<id>` (the due-date index: what a listing shows),
//! `hold/<id, 20 digits>` (a legal hold as JSON), `seal/<seq, 20 digits>`
//! (a journal seal), `disp/<id, 20 digits>`
//! (a disposal as JSON, without its lines and outcomes), `xfer/<id, 20
//! digits>` (a transfer likewise), `lines/<d|t>/<id, 20 digits>/<part, 10
//! digits>` (one part of a disposal's or transfer's lines and exclusions),
//! `outs/<d|t>/<id>/<part>` (one part of what became of them),
//! `acct/<user name>` (a person's account as JSON), `sha/<hex>/<id>` (the
//! records whose versions hold a content: empty values), `by/<user>/<id>`
//! (the records a person deposited: empty values), `node/<code>\0<id>`
//! (the records filed in a node, each with what its retention depends on,
//! as JSON), `rdue/<id>` (a record's due mark: a record is stored in `rec/`
//! without it and given it back from there, by one more read or, for every
//! record, by walking both in id order; a rule change writes only these
//! and the due index), `fval/<field>\0<comparable value>\0<id>` (the
//! records that have held a field's value, compared as duplicates are:
//! entries stay when the value changes, and readers check the record),
//! `rnode/<id>` (the node a
//! record is filed in, to move it in that index), `ncnt/<code>` (how many
//! records a node holds, u64 big-endian), `meta/verified` (the
//! latest whole integrity check), `meta/identity` (the collectivité's).
//!
//! Durability never rests on sled's flush (which, in 0.34, does not fully
//! sync): after a crash sled comes back at some whole batch, and the
//! archive replays the journal from there. A catalog written by another
//! format version is cleared and rebuilt.

use super::{
    Catalog, CatalogError, CatalogWrite, ConsultationsOf, DueEntry, PlanVersionEntry, RetentionEntry, TokenEntry,
    WayOut,
};
use crate::domain::account::{Account, UserName, person_of_actor};
use crate::domain::hash::Sha256;
use crate::domain::record::{NodeCode, Record, RecordId, Reference};
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The layout version of the values written here. Raise it when a stored
/// value changes shape: the catalog is then rebuilt from the journal.
pub const CATALOG_FORMAT: u64 = 10;

const LAST_SEQ: &[u8] = b"meta/last_seq";
const FORMAT: &[u8] = b"meta/format";
const VERIFIED: &[u8] = b"meta/verified";
const IDENTITY: &[u8] = b"meta/identity";
const KEY_CHAIN: &[u8] = b"meta/key_chain";

/// The sled catalog.
pub struct SledCatalog {
    db: sled::Db,
}

fn storage(e: sled::Error) -> CatalogError {
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

fn u64_of(bytes: &[u8]) -> u64 {
    let mut raw = [0u8; 8];
    if bytes.len() == 8 {
        raw.copy_from_slice(bytes);
    }
    u64::from_be_bytes(raw)
}

/// `due/<YYYY-MM-DD>/<id>`: in key order, by day then id.
/// The key of one part of a disposal's or transfer's lines or outcomes.
fn part_key(what: &str, of: WayOut, id: u64, part: u32) -> Vec<u8> {
    format!("{what}/{}/{id:020}/{part:010}", of.letter()).into_bytes()
}

/// The prefix of every part of one disposal's or transfer's lines or outcomes.
fn parts_prefix(what: &str, of: WayOut, id: u64) -> Vec<u8> {
    format!("{what}/{}/{id:020}/", of.letter()).into_bytes()
}

fn due_key(day: NaiveDate, record: &RecordId) -> Vec<u8> {
    format!("due/{}/{record}", day.format("%Y-%m-%d")).into_bytes()
}

/// The record id that ends an index key, after its `prefix_len` bytes.
fn record_after(prefix_len: usize, key: &[u8]) -> Result<RecordId, CatalogError> {
    let text = String::from_utf8_lossy(key.get(prefix_len..).unwrap_or_default());
    RecordId::parse(&text).ok_or_else(|| CatalogError::Decode {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "not a record id".into(),
    })
}

/// `sha/<hex>/<id>`: the records whose versions hold this content.
fn content_key(sha256: &Sha256, record: &RecordId) -> Vec<u8> {
    format!("sha/{}/{record}", sha256.hex()).into_bytes()
}

/// `node/<code>\0<id>`: the records filed in a node (a code holds no
/// NUL, so no node's keys run into another's).
fn node_prefix(node: &str) -> Vec<u8> {
    format!("node/{node}\0").into_bytes()
}

fn node_key(node: &str, record: &RecordId) -> Vec<u8> {
    let mut key = node_prefix(node);
    key.extend_from_slice(record.to_string().as_bytes());
    key
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

/// Writes a record's due mark by id, or removes it.
fn set_due_mark(
    batch: &mut sled::Batch,
    record: &RecordId,
    due: Option<&crate::domain::record::DueMark>,
) -> Result<(), CatalogError> {
    let key = format!("rdue/{record}").into_bytes();
    match due {
        Some(due) => batch.insert(key, encode(due)?),
        None => batch.remove(key),
    }
    Ok(())
}

fn node_count_key(node: &str) -> Vec<u8> {
    format!("ncnt/{node}").into_bytes()
}

fn counter_key(scope: &str) -> Vec<u8> {
    format!("ctr/{scope}").into_bytes()
}

/// Opens with `open`, waiting (see [`super::open_when_released`]) while
/// sled's file lock is still held by a closing catalog. A second coffre on
/// the same data directory never gets this far: the data directory's own
/// lock refuses it first.
fn open_when_released<T>(
    open: impl FnMut() -> Result<T, sled::Error>,
    budget: std::time::Duration,
) -> Result<T, sled::Error> {
    super::open_when_released(open, |e| matches!(e, sled::Error::Io(e) if lock_held(e)), budget)
}

/// Whether sled failed to open because its file lock is held. sled 0.34
/// reports it as an `Other` error with its own message around the
/// `WouldBlock` of `flock`; a test below pins that shape.
fn lock_held(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
        || (e.kind() == std::io::ErrorKind::Other && e.to_string().starts_with("could not acquire lock"))
}

impl SledCatalog {
    /// Opens (creating if needed) the catalog at `path`. A catalog of
    /// another format is emptied, so that replay rebuilds it.
    pub fn open(path: &Path) -> Result<Self, CatalogError> {
        let config = sled::Config::new().path(path).mode(sled::Mode::HighThroughput);
        let db = open_when_released(|| config.open(), super::LOCK_WAIT).map_err(|e| match e {
            sled::Error::Corruption { .. } => CatalogError::Damaged(e.to_string()),
            e => storage(e),
        })?;
        let catalog = SledCatalog { db };
        let format = catalog.db.get(FORMAT).map_err(storage)?.map(|v| u64_of(&v));
        if format != Some(CATALOG_FORMAT) {
            if format.is_some() {
                tracing::warn!(found = ?format, expected = CATALOG_FORMAT, "catalog format changed; it will be rebuilt from the journal");
            }
            catalog.clear()?;
        }
        Ok(catalog)
    }
}

impl SledCatalog {
    /// The value stored under `key`, decoded.
    fn value<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Option<T>, CatalogError> {
        match self.db.get(key.as_bytes()).map_err(storage)? {
            Some(bytes) => Ok(Some(decode(key.as_bytes(), &bytes)?)),
            None => Ok(None),
        }
    }

    /// A record as stored, given back its due mark.
    fn with_due_mark(&self, mut record: Record) -> Result<Record, CatalogError> {
        record.due = self.value(&format!("rdue/{}", record.id))?;
        Ok(record)
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

impl Catalog for SledCatalog {
    fn last_applied(&self) -> Result<u64, CatalogError> {
        Ok(self.db.get(LAST_SEQ).map_err(storage)?.map_or(0, |v| u64_of(&v)))
    }

    fn apply(&self, seq: u64, writes: Vec<CatalogWrite>) -> Result<(), CatalogError> {
        let mut batch = sled::Batch::default();
        // The node index moves within the batch: where each record put
        // here was filed last, and by how much each node's count changes.
        let mut filed: HashMap<RecordId, String> = HashMap::new();
        let mut counts: BTreeMap<String, i64> = BTreeMap::new();
        // Counters raised in this batch (a replay puts many events in one).
        let mut raised: HashMap<Vec<u8>, u64> = HashMap::new();
        for write in writes {
            match write {
                CatalogWrite::PutRecord(record) => {
                    let node = record.node.to_string();
                    let was = match filed.get(&record.id) {
                        Some(was) => Some(was.clone()),
                        None => self
                            .db
                            .get(format!("rnode/{}", record.id).as_bytes())
                            .map_err(storage)?
                            .map(|v| String::from_utf8_lossy(&v).into_owned()),
                    };
                    let first_filed = was.is_none();
                    if was.as_deref() != Some(node.as_str()) {
                        if let Some(was) = was {
                            batch.remove(node_key(&was, &record.id));
                            *counts.entry(was).or_default() -= 1;
                        }
                        batch.insert(format!("rnode/{}", record.id).into_bytes(), node.as_bytes());
                        *counts.entry(node.clone()).or_default() += 1;
                        filed.insert(record.id, node.clone());
                    }
                    for reference in std::iter::once(&record.reference).chain(&record.aliases) {
                        batch.insert(
                            format!("ref/{reference}").into_bytes(),
                            record.id.to_string().into_bytes(),
                        );
                    }
                    for version in &record.versions {
                        batch.insert(content_key(&version.sha256, &record.id), &[][..]);
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
                    // The node entry without the due mark, which `rdue/`
                    // holds alone; a record filed for the first time has no
                    // mark to remove.
                    let mut entry = RetentionEntry::of(&record);
                    let due = entry.due.take();
                    batch.insert(node_key(&node, &record.id), encode(&entry)?);
                    if due.is_some() || !first_filed {
                        set_due_mark(&mut batch, &record.id, due.as_ref())?;
                    }
                    let mut record = record;
                    record.due = None;
                    batch.insert(format!("rec/{}", record.id).into_bytes(), encode(&*record)?);
                }
                CatalogWrite::SetDueMark { record, node, due } => {
                    let filed_there = match filed.get(&record) {
                        Some(filed) => filed == node.as_str(),
                        None => self
                            .db
                            .contains_key(node_key(node.as_str(), &record))
                            .map_err(storage)?,
                    };
                    if !filed_there {
                        return Err(CatalogError::Storage(format!(
                            "a due mark for record {record}, not filed in {node}"
                        )));
                    }
                    set_due_mark(&mut batch, &record, due.as_ref())?;
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
                CatalogWrite::SetDue { record, old, new } => {
                    if let Some(old) = old {
                        batch.remove(due_key(old, &record));
                    }
                    if let Some((day, entry)) = new {
                        batch.insert(due_key(day, &record), encode(&entry)?);
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
            }
        }
        for (node, change) in counts.into_iter().filter(|(_, c)| *c != 0) {
            let key = node_count_key(&node);
            let current = self.db.get(&key).map_err(storage)?.map_or(0, |v| u64_of(&v));
            match current.saturating_add_signed(change) {
                0 => batch.remove(key),
                n => batch.insert(key, &n.to_be_bytes()[..]),
            }
        }
        batch.insert(LAST_SEQ, &seq.to_be_bytes()[..]);
        self.db.apply_batch(batch).map_err(storage)
    }

    fn record(&self, id: &RecordId) -> Result<Option<Record>, CatalogError> {
        match self.value::<Record>(&format!("rec/{id}"))? {
            Some(record) => self.with_due_mark(record).map(Some),
            None => Ok(None),
        }
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
        // Both in id order: each record is given its mark, if it has one,
        // by walking the marks alongside.
        let mut marks = self.db.scan_prefix(b"rdue/").peekable();
        Box::new(self.db.scan_prefix(b"rec/").map(move |item| {
            let (key, value) = item.map_err(storage)?;
            let mut record: Record = decode(&key, &value)?;
            let id = key.get(b"rec/".len()..).unwrap_or_default();
            record.due = None;
            while let Some(peeked) = marks.peek() {
                // A mark that cannot be read is taken, to be reported.
                let order = match peeked {
                    Ok((mark_key, _)) => mark_key.get(b"rdue/".len()..).unwrap_or_default().cmp(id),
                    Err(_) => std::cmp::Ordering::Less,
                };
                if order == std::cmp::Ordering::Greater {
                    break;
                }
                let (mark_key, mark_value) = match marks.next() {
                    Some(Ok(pair)) => pair,
                    Some(Err(e)) => return Err(storage(e)),
                    None => break,
                };
                if order == std::cmp::Ordering::Equal {
                    record.due = Some(decode(&mark_key, &mark_value)?);
                    break;
                }
            }
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
        // Every key of `until`'s day sorts before `due/<until>0`.
        let end = format!("due/{}0", until.format("%Y-%m-%d")).into_bytes();
        Box::new(self.db.range(b"due/".to_vec()..end).map(|item| {
            let (key, value) = item.map_err(storage)?;
            let text = String::from_utf8_lossy(&key).into_owned();
            let mut parts = text.splitn(3, '/').skip(1);
            let day = parts
                .next()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .zip(parts.next().and_then(RecordId::parse))
                .ok_or_else(|| CatalogError::Decode {
                    key: text.clone(),
                    reason: "not a due-index key".into(),
                })?;
            Ok((day.0, day.1, decode(&key, &value)?))
        }))
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

    fn consultations(&self, of: &ConsultationsOf) -> Result<Vec<crate::domain::trail::Consultation>, CatalogError> {
        let prefix = match of {
            ConsultationsOf::Record(id) => format!("conr/{id}/"),
            ConsultationsOf::Who(who) => format!("conw/{}/", hex::encode(who)),
        };
        self.values(prefix.as_bytes())
    }

    fn records_holding(&self, sha256: &Sha256) -> Result<Vec<RecordId>, CatalogError> {
        let prefix = format!("sha/{}/", sha256.hex());
        self.db
            .scan_prefix(prefix.as_bytes())
            .map(|item| record_after(prefix.len(), &item.map_err(storage)?.0))
            .collect()
    }

    fn records_in(&self, node: &NodeCode) -> Result<Vec<RecordId>, CatalogError> {
        let prefix = node_prefix(node.as_str());
        self.db
            .scan_prefix(&prefix)
            .map(|item| record_after(prefix.len(), &item.map_err(storage)?.0))
            .collect()
    }

    fn records_with_field(&self, name: &str, comparable: &str) -> Result<Vec<RecordId>, CatalogError> {
        let prefix = field_prefix(name, comparable);
        self.db
            .scan_prefix(&prefix)
            .map(|item| record_after(prefix.len(), &item.map_err(storage)?.0))
            .collect()
    }

    fn retention_in(&self, node: &NodeCode) -> Result<Vec<(RecordId, RetentionEntry)>, CatalogError> {
        let prefix = node_prefix(node.as_str());
        self.db
            .scan_prefix(&prefix)
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                let id = record_after(prefix.len(), &key)?;
                let mut entry: RetentionEntry = decode(&key, &value)?;
                entry.due = self.value(&format!("rdue/{id}"))?;
                Ok((id, entry))
            })
            .collect()
    }

    fn records_by_node(&self) -> Result<BTreeMap<NodeCode, u64>, CatalogError> {
        self.db
            .scan_prefix(b"ncnt/")
            .map(|item| {
                let (key, value) = item.map_err(storage)?;
                let text = String::from_utf8_lossy(key.get(b"ncnt/".len()..).unwrap_or_default()).into_owned();
                let node = NodeCode::parse(&text).map_err(|e| CatalogError::Decode {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason: e.to_string(),
                })?;
                Ok((node, u64_of(&value)))
            })
            .collect()
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

    fn clear(&self) -> Result<(), CatalogError> {
        self.db.clear().map_err(storage)?;
        self.db
            .insert(FORMAT, &CATALOG_FORMAT.to_be_bytes()[..])
            .map_err(storage)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), CatalogError> {
        self.db.flush().map(|_| ()).map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn config(dir: &Path) -> sled::Config {
        sled::Config::new().path(dir.join("db"))
    }

    #[test]
    fn opening_waits_for_a_closing_catalog_to_release_its_lock() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let held = config(tmp.path()).open().expect("first open");
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(held);
        });
        let reopened = open_when_released(|| config(tmp.path()).open(), Duration::from_secs(10));
        releaser.join().expect("the releasing thread");
        assert!(reopened.is_ok(), "{:?}", reopened.err());
    }

    #[test]
    fn a_lock_held_beyond_the_budget_is_reported() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let _held = config(tmp.path()).open().expect("first open");
        let started = std::time::Instant::now();
        let second = open_when_released(|| config(tmp.path()).open(), Duration::from_millis(100));
        match second {
            Err(sled::Error::Io(e)) => assert!(lock_held(&e), "{e}"),
            other => panic!("expected the lock to be reported, got {:?}", other.map(|_| ())),
        }
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn other_errors_are_not_waited_for() {
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let mut calls = 0;
        let result: Result<(), sled::Error> = open_when_released(
            || {
                calls += 1;
                Err(sled::Error::Unsupported("no".into()))
            },
            Duration::from_secs(10),
        );
        assert!(result.is_err());
        assert_eq!(calls, 1);
        drop(tmp);
    }

    #[test]
    fn a_batch_of_several_events_raises_each_counter_to_its_highest() {
        // A rebuild puts a run of deposits in one batch; numbers may be
        // journaled out of order (concurrent deposits).
        let tmp = tempfile::tempdir().expect("a temporary folder");
        let catalog = SledCatalog::open(&tmp.path().join("catalog")).expect("open");
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
