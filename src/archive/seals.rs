//! Sealing the journal: the Merkle tree the journal's observer keeps in
//! step with it, the archive's Ed25519 seal key, seals, and the inclusion
//! and consistency proofs an auditor checks against them.

use super::projection::Projector;
use super::{Actor, Archive, ArchiveError, InvalidInput};
use crate::domain::event::{Event, EventBody, RecordNamed};
use crate::domain::hash::Sha256;
use crate::domain::merkle::{self, ProofError, TreeNodes};
use crate::domain::plan::Access;
use crate::domain::record::{Record, RecordId};
use crate::domain::role::Permission;
use crate::domain::seal::{KeyChain, KeyRotation, Seal, SealKey, SealStatement};
use crate::store::{Journal, JournalObserver, MerkleTree, Unapplied, ViewError};
use serde::{Deserialize, Serialize};
use std::fs;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

/// The file that holds the seal key's secret (64 hex digits), readable by
/// the archive's owner only.
const SEAL_KEY_FILE: &str = "seal-ed25519.secret";

/// Where a rotation writes the new key's secret before journaling it; it
/// replaces the old one once journaled (the old secret is not kept).
const NEXT_KEY_FILE: &str = "seal-ed25519.secret.next";

/// The views the journal's writer keeps in step, in seq order, before it
/// acknowledges an event: the catalog (through the projector) and the
/// Merkle tree.
pub(super) struct JournalViews {
    pub projector: Arc<Projector>,
    pub tree: Arc<dyn MerkleTree>,
}

impl JournalObserver for JournalViews {
    fn on_durable(&self, event: &Event) -> Result<(), ViewError> {
        self.projector.apply(event)?;
        Ok(self.tree.append(event.seq - 1, event.leaf_hash())?)
    }

    fn on_durable_all(&self, events: &[Event]) -> Result<(), Unapplied> {
        self.on_durable_with_leaves(events, &[])
    }

    /// The deposits a group commit made durable go into the catalog in one
    /// batch (one write of its log, where one each would cost a device
    /// write apiece), then into the tree, each under the leaf the
    /// journal's writer hashed from its line (or, not given, from the
    /// event itself).
    fn on_durable_with_leaves(&self, events: &[Event], leaves: &[Sha256]) -> Result<(), Unapplied> {
        let mut applied = 0;
        for run in super::projection::runs(events) {
            self.projector.apply_run(run).map_err(|reason| Unapplied {
                applied,
                seq: run.last().map_or(0, |e| e.seq),
                reason,
            })?;
            for event in run {
                let leaf = leaves.get(applied).copied().unwrap_or_else(|| event.leaf_hash());
                self.tree.append(event.seq - 1, leaf).map_err(|e| Unapplied {
                    applied,
                    seq: event.seq,
                    reason: e.into(),
                })?;
                applied += 1;
            }
        }
        Ok(())
    }
}

/// The tree as it was at `size` leaves (later appends never change it).
pub(super) struct TreeAt<'a>(pub &'a dyn MerkleTree, pub u64);

impl TreeNodes for TreeAt<'_> {
    type Error = io::Error;
    fn size(&self) -> u64 {
        self.1
    }
    fn perfect(&self, level: u32, index: u64) -> io::Result<Sha256> {
        self.0.perfect(level, index)
    }
}

fn proof_error(e: ProofError<io::Error>) -> ArchiveError {
    match e {
        ProofError::OutOfRange(reason) => ArchiveError::Invalid(InvalidInput::new("tree_size", reason)),
        ProofError::Nodes(e) => ArchiveError::Io(e),
    }
}

/// Brings the tree up to the journal's head at start-up: cuts what the
/// journal lost, appends what the tree missed, and starts it over if it
/// disagrees with the latest seal.
pub(super) fn catch_up_tree(
    tree: &dyn MerkleTree,
    journal: &dyn Journal,
    latest_seal: Option<&Seal>,
) -> Result<(), ArchiveError> {
    let (head, _) = journal.head();
    if tree.size() > head {
        tracing::warn!(
            tree = tree.size(),
            head,
            "the Merkle tree is ahead of the journal; cutting it"
        );
        tree.truncate(head)?;
    }
    let append_from = |tree: &dyn MerkleTree| -> Result<u64, ArchiveError> {
        let mut appended = 0;
        for event in journal.read_from(tree.size() + 1)? {
            let event = event?;
            tree.append(event.seq - 1, event.leaf_hash())?;
            appended += 1;
        }
        Ok(appended)
    };
    let appended = append_from(tree)?;
    if appended > 0 {
        tracing::info!(appended, head, "Merkle tree caught up with the journal");
    }
    if let Some(seal) = latest_seal
        && seal.tree_size <= tree.size()
        && merkle::root(&TreeAt(tree, tree.size()), seal.tree_size).map_err(proof_error)? != seal.root
    {
        tracing::warn!(
            seal = seal.seq,
            "the Merkle tree disagrees with the latest seal; rebuilding it from the journal"
        );
        tree.truncate(0)?;
        append_from(tree)?;
    }
    tree.sync()?;
    Ok(())
}

/// Writes a seal key's secret to a new file at `path` (owner-readable
/// only), synced.
fn write_secret(path: &Path, secret: &[u8; 32]) -> Result<(), ArchiveError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(hex::encode(secret).as_bytes())?;
    file.sync_all()?;
    Ok(())
}

/// Reads a seal key's secret.
fn read_secret(path: &Path) -> Result<SealKey, ArchiveError> {
    let text = fs::read_to_string(path)?;
    let mut secret = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut secret)
        .map_err(|e| ArchiveError::Internal(format!("{}: not a seal key: {e}", path.display())))?;
    Ok(SealKey::from_secret(secret))
}

/// A new random secret.
fn new_secret() -> Result<[u8; 32], ArchiveError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| ArchiveError::Internal(format!("random source: {e}")))?;
    Ok(secret)
}

/// Reads the seal key in `dir`, or makes one: the secret is written to a
/// new file, `seal.key_created` is journaled, and only then is the file
/// put in place, so a key in place is always named by the journal. A
/// rotation cut short after its event was journaled is finished here: the
/// new key, named by the journal (`chain`), takes its place.
pub(super) fn load_or_create_key(
    dir: &Path,
    journal: &dyn Journal,
    chain: &KeyChain,
    actor: &Actor,
) -> Result<SealKey, ArchiveError> {
    let path = dir.join(SEAL_KEY_FILE);
    let next = dir.join(NEXT_KEY_FILE);
    if next.exists() {
        let key = read_secret(&next)?;
        if chain.keys.last() == Some(&key.public_hex()) {
            fs::rename(&next, &path)?;
            fs::File::open(dir)?.sync_all()?;
            tracing::warn!(public_key = %key.public_hex(), "a seal key rotation cut short is finished: the new key is in place");
        } else {
            tracing::warn!("a seal key prepared by a rotation that was never journaled is ignored");
        }
    }
    if path.exists() {
        let key = read_secret(&path)?;
        if chain.keys.last().is_some_and(|last| *last != key.public_hex()) {
            tracing::error!(
                file = %key.public_hex(),
                journal = ?chain.keys.last(),
                "the seal key on disk is not the latest one the journal names: seals it signs will be refused"
            );
        }
        return Ok(key);
    }
    fs::create_dir_all(dir)?;
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    let secret = new_secret()?;
    let key = SealKey::from_secret(secret);
    let staged = dir.join(format!("{SEAL_KEY_FILE}.new"));
    write_secret(&staged, &secret)?;
    journal.append(actor.draft(EventBody::SealKeyCreated {
        algorithm: "ed25519".into(),
        public_key: key.public_hex(),
    }))?;
    fs::rename(&staged, &path)?;
    fs::File::open(dir)?.sync_all()?;
    tracing::info!(public_key = %key.public_hex(), "seal key created");
    Ok(key)
}

/// One event of a record with its inclusion proof.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProvenEvent {
    /// The event as journaled; null when withheld from this reader.
    #[serde(default)]
    pub event: serde_json::Value,
    /// Why the event is withheld: it names records the reader may not
    /// read. Its leaf hash and proof still show it is in the sealed journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withheld: Option<String>,
    /// Its leaf index (seq − 1).
    pub leaf_index: u64,
    /// SHA-256(0x00 ‖ its journal line without `\n`).
    pub leaf_hash: Sha256,
    /// The audit path to the seal's root, from the leaf up; absent when
    /// the event came after the seal.
    pub proof: Option<Vec<Sha256>>,
}

/// A record's events, each proven against one seal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RecordProof {
    /// The archive the seal names.
    pub archive: String,
    /// The record.
    pub record: RecordId,
    /// Its reference.
    pub reference: String,
    /// The seal the proofs lead to.
    pub seal: Seal,
    /// The events, oldest first.
    pub events: Vec<ProvenEvent>,
}

/// That one sealed tree extends another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The archive.
    pub archive: String,
    /// The smaller tree's size and root.
    pub from: u64,
    /// Its root.
    pub from_root: Sha256,
    /// The seal of that size, if any.
    pub from_seal: Option<Seal>,
    /// The larger tree's size.
    pub to: u64,
    /// Its root.
    pub to_root: Sha256,
    /// The seal of that size, if any.
    pub to_seal: Option<Seal>,
    /// RFC 9162 §2.1.4 proof.
    pub proof: Vec<Sha256>,
}

/// The accusé de dépôt: what was deposited, when and by whom, and the
/// proof that the deposit's journal event is in a sealed journal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attestation {
    /// The archive.
    pub archive: String,
    /// The record.
    pub record: RecordId,
    /// Its reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its node.
    pub node: String,
    /// The version attested (the first: the deposit).
    pub version: u32,
    /// The content's digest (64 hex digits, as records show it).
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type.
    pub media_type: String,
    /// The file name given at deposit.
    pub filename: Option<String>,
    /// When it was deposited (the journal event's time).
    pub deposited_at: chrono::DateTime<chrono::Utc>,
    /// Who deposited it (the journal's actor).
    pub depositor: String,
    /// The deposit's journal event.
    pub event: ProvenEvent,
    /// The seal the proof leads to.
    pub seal: Seal,
    /// The collectivité whose archives these are, as its identity named
    /// it when the attestation was made (not covered by the seal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collectivite: Option<String>,
    /// The rotations of the archive's seal key, oldest first: the seal
    /// verifies with any key of the chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_chain: Vec<KeyRotation>,
}

impl Archive {
    /// The accusé de dépôt of a record's version (the first when `None`),
    /// sealing the journal first if no seal covers the deposit yet.
    pub fn attestation(&self, actor: &Actor, key: &str, version: Option<u32>) -> Result<Attestation, ArchiveError> {
        let record = self.record(actor, key)?;
        let number = version.unwrap_or(1);
        let Some(attested) = record.versions.iter().find(|v| v.number == number) else {
            return Err(ArchiveError::VersionNotFound {
                reference: record.reference.to_string(),
                version: number,
            });
        };
        let seal = match self.catalog.latest_seal()? {
            Some(seal) if seal.tree_size >= attested.seq => seal,
            _ => self.seal(&Actor::system())?,
        };
        let event = self.event_at(attested.seq)?;
        let proof = merkle::inclusion_proof(
            &TreeAt(self.tree.as_ref(), seal.tree_size),
            event.seq - 1,
            seal.tree_size,
        )
        .map_err(proof_error)?;
        Ok(Attestation {
            archive: self.archive_id.clone(),
            record: record.id,
            reference: record.reference.to_string(),
            title: record.title.clone(),
            node: record.node.to_string(),
            version: attested.number,
            sha256: attested.sha256.hex(),
            size: attested.size,
            media_type: attested.media_type.clone(),
            filename: attested.filename.clone(),
            deposited_at: event.time,
            depositor: event.actor.clone(),
            event: ProvenEvent {
                leaf_hash: event.leaf_hash(),
                event: event.to_value(),
                withheld: None,
                leaf_index: event.seq - 1,
                proof: Some(proof),
            },
            seal,
            collectivite: self.catalog.identity()?.map(|i| i.heading()),
            key_chain: self.catalog.key_chain()?.rotations,
        })
    }

    /// The archive's id, which every seal states.
    pub fn archive_id(&self) -> &str {
        &self.archive_id
    }

    /// The seq of the journal's last durable event.
    pub fn journal_head(&self) -> u64 {
        self.journal.head().0
    }

    /// The public key that signs this archive's seals (hex).
    pub fn seal_public_key(&self) -> String {
        self.seal_key().public_hex()
    }

    /// Seals the journal as it is: signs the root of its Merkle tree and
    /// journals the seal. When nothing happened since the last seal, that
    /// seal is the answer.
    pub fn seal(&self, actor: &Actor) -> Result<Seal, ArchiveError> {
        actor.require(Permission::Audit, "sceller le journal")?;
        let _one_at_a_time = self.seal_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.seal_now(actor)
    }

    /// The key that signs seals now.
    pub(super) fn seal_key(&self) -> std::sync::RwLockReadGuard<'_, SealKey> {
        self.seal_key.read().unwrap_or_else(|p| p.into_inner())
    }

    /// This archive's own key, with the rotations it knows: what it trusts
    /// when it checks a package or an attestation itself.
    pub fn trusted_key(&self) -> Result<crate::domain::seal::TrustedKey, ArchiveError> {
        Ok(crate::domain::seal::TrustedKey {
            key: self.seal_public_key(),
            rotations: self.catalog.key_chain()?.rotations,
        })
    }

    /// The seal keys and the rotations that link them.
    pub fn key_chain(&self) -> Result<KeyChain, ArchiveError> {
        Ok(self.catalog.key_chain()?)
    }

    /// Changes the key that signs seals: a new key is made, the old one
    /// hands over to it (`seal.key_rotated`, signed by both), the new
    /// secret replaces the old on disk, and the journal is sealed with it
    /// at once. Seals made before verify with the old key, and with any key
    /// of the chain.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn rotate_seal_key(&self, actor: &Actor) -> Result<(KeyRotation, Seal), ArchiveError> {
        actor.require(Permission::ManageKeys, "changer la clé des sceaux")?;
        let _one_at_a_time = self.seal_lock.lock().unwrap_or_else(|p| p.into_inner());
        let dir = self.data_dir.keys_path();
        let secret = new_secret()?;
        let next = SealKey::from_secret(secret);
        write_secret(&dir.join(NEXT_KEY_FILE), &secret)?;
        let rotation = KeyRotation::sign(&self.archive_id, &self.seal_key(), &next, self.clock.now());
        self.journal.append(actor.draft(EventBody::SealKeyRotated {
            rotation: rotation.clone(),
        }))?;
        fs::rename(dir.join(NEXT_KEY_FILE), dir.join(SEAL_KEY_FILE))?;
        fs::File::open(&dir)?.sync_all()?;
        *self.seal_key.write().unwrap_or_else(|p| p.into_inner()) = next;
        tracing::info!(previous = %rotation.previous_key, public_key = %rotation.public_key, "seal key rotated");
        let seal = self.seal_now(actor)?;
        Ok((rotation, seal))
    }

    /// Seals the journal as it is (the caller holds `seal_lock`).
    fn seal_now(&self, actor: &Actor) -> Result<Seal, ArchiveError> {
        let size = self.tree.size();
        if let Some(last) = self.catalog.latest_seal()?
            && last.seq >= size
        {
            return Ok(last);
        }
        let root = merkle::root(&TreeAt(self.tree.as_ref(), size), size).map_err(proof_error)?;
        // The tree is a view, but what a seal signs must survive a crash
        // without a rebuild.
        self.tree.sync()?;
        let statement = SealStatement::new(self.archive_id.clone(), size, root, self.clock.now());
        let signature = self.seal_key().sign(&statement);
        // A seal never waits on a third party's availability: without the
        // authority's answer it is made unstamped, and said so.
        let timestamp = self.stamper.as_ref().and_then(|tsa| {
            let digest = *crate::domain::hash::Sha256::of(&statement.message()).as_bytes();
            match tsa.stamp(&digest) {
                Ok(token) => {
                    use base64::Engine;
                    Some(base64::engine::general_purpose::STANDARD.encode(token))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the time-stamping authority did not stamp the seal; sealed without");
                    None
                }
            }
        });
        let event = self.journal.append(actor.draft(EventBody::JournalSealed {
            tree_size: size,
            root,
            sealed_at: statement.sealed_at,
            public_key: self.seal_key().public_hex(),
            signature: signature.clone(),
            timestamp: timestamp.clone(),
        }))?;
        tracing::info!(seq = event.seq, tree_size = size, %root, "journal sealed");
        Ok(Seal {
            seq: event.seq,
            tree_size: size,
            root,
            sealed_at: statement.sealed_at,
            public_key: self.seal_key().public_hex(),
            signature,
            timestamp,
        })
    }

    /// Every seal, oldest first.
    pub fn seals(&self, actor: &Actor) -> Result<Vec<Seal>, ArchiveError> {
        actor.require(Permission::Audit, "lire les sceaux du journal")?;
        Ok(self.catalog.seals()?)
    }

    /// The latest seal, if any, and the number of events since it.
    pub fn latest_seal(&self) -> Result<Option<Seal>, ArchiveError> {
        Ok(self.catalog.latest_seal()?)
    }

    /// Every event of a record, with its inclusion proof against the
    /// latest seal; refused while no seal covers the record's first event.
    pub fn record_proof(&self, actor: &Actor, key: &str) -> Result<RecordProof, ArchiveError> {
        let record = self.record(actor, key)?;
        let first = record.history.first().map_or(0, |h| h.seq);
        let seal = match self.catalog.latest_seal()? {
            Some(seal) if seal.tree_size >= first => seal,
            _ => return Err(ArchiveError::NotSealed(record.reference.to_string())),
        };
        let tree = TreeAt(self.tree.as_ref(), seal.tree_size);
        let mut events = Vec::with_capacity(record.history.len());
        for entry in &record.history {
            let event = self.event_at(entry.seq)?;
            let leaf_index = event.seq - 1;
            let proof = if event.seq <= seal.tree_size {
                Some(merkle::inclusion_proof(&tree, leaf_index, seal.tree_size).map_err(proof_error)?)
            } else {
                None
            };
            let shown = self.may_see_event(actor, &event, &record)?;
            events.push(ProvenEvent {
                leaf_hash: event.leaf_hash(),
                event: if shown {
                    event.to_value()
                } else {
                    serde_json::Value::Null
                },
                withheld: (!shown).then(|| WITHHELD.to_owned()),
                leaf_index,
                proof,
            });
        }
        Ok(RecordProof {
            archive: self.archive_id.clone(),
            record: record.id,
            reference: record.reference.to_string(),
            seal,
            events,
        })
    }

    /// Whether the actor may see the body of an event in `record`'s
    /// history: auditors see every event; others only those whose every
    /// named record they may read.
    fn may_see_event(&self, actor: &Actor, event: &Event, record: &Record) -> Result<bool, ArchiveError> {
        if actor.role.allows(Permission::Audit) {
            return Ok(true);
        }
        let Ok(body) = event.body() else {
            return Ok(false);
        };
        let plan = self.plan_in_force()?;
        for named in body.records_named() {
            let id = match named {
                RecordNamed::Id(id) => Some(id),
                RecordNamed::Reference(reference) => self.catalog.record_id(&reference)?,
            };
            if id == Some(record.id) {
                continue;
            }
            let other = match id {
                Some(id) => self.catalog.record(&id)?,
                None => None,
            };
            match other {
                Some(other) if plan.plan.allows(&other.node, actor.role.as_str(), Access::Read) => {}
                _ => return Ok(false),
            }
        }
        Ok(true)
    }

    /// The consistency proof between the trees of `from` and `to` events
    /// (`to` defaults to the latest seal's size).
    pub fn consistency_proof(
        &self,
        actor: &Actor,
        from: u64,
        to: Option<u64>,
    ) -> Result<ConsistencyProof, ArchiveError> {
        actor.require(Permission::Audit, "lire les preuves du journal")?;
        let seals = self.catalog.seals()?;
        let to = match to {
            Some(to) => to,
            None => seals
                .last()
                .map(|s| s.tree_size)
                .ok_or(ArchiveError::NotSealed("le journal".into()))?,
        };
        let size = self.tree.size();
        if from == 0 || from > to || to > size {
            return Err(InvalidInput::new(
                "from",
                format!("need 1 ≤ from ≤ to ≤ {size} (the journal's events), got from={from} to={to}"),
            )
            .into());
        }
        let tree = TreeAt(self.tree.as_ref(), to);
        let seal_of = |n: u64| seals.iter().rev().find(|s| s.tree_size == n).cloned();
        Ok(ConsistencyProof {
            archive: self.archive_id.clone(),
            from,
            from_root: merkle::root(&tree, from).map_err(proof_error)?,
            from_seal: seal_of(from),
            to,
            to_root: merkle::root(&tree, to).map_err(proof_error)?,
            to_seal: seal_of(to),
            proof: merkle::consistency_proof(&tree, from, to).map_err(proof_error)?,
        })
    }

    /// One journal event by seq.
    pub(super) fn event_at(&self, seq: u64) -> Result<Event, ArchiveError> {
        match self.journal.read_from(seq)?.next() {
            Some(event) => Ok(event?),
            None => Err(ArchiveError::Internal(format!("the journal has no event {seq}"))),
        }
    }
}

/// What a withheld event says instead of its body.
const WITHHELD: &str = "événement masqué : il nomme des documents que vous ne pouvez pas consulter ; son empreinte et sa preuve montrent qu'il figure dans le journal scellé";

/// The id of the JSON block an accusé de dépôt's HTML page carries, so that
/// the page itself can be checked.
pub const ATTESTATION_BLOCK_ID: &str = "attestation-json";

/// Reads an accusé de dépôt as `coffre attestation` and the API give it
/// (JSON), or as its HTML page (which carries the same JSON in a data
/// block).
pub fn read_attestation(bytes: &[u8]) -> Result<Attestation, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "le fichier n'est pas du texte UTF-8".to_owned())?;
    let json = if text.trim_start().starts_with('{') {
        text
    } else {
        let marker = format!("id=\"{ATTESTATION_BLOCK_ID}\"");
        let start = text
            .find(&marker)
            .and_then(|at| text[at..].find('>').map(|gt| at + gt + 1))
            .ok_or_else(|| "ni un accusé de dépôt en JSON, ni une page d'accusé de dépôt de coffre".to_owned())?;
        let end = text[start..]
            .find("</script>")
            .map(|n| start + n)
            .ok_or_else(|| "le bloc de données de l'accusé de dépôt est incomplet".to_owned())?;
        &text[start..end]
    };
    serde_json::from_str(json).map_err(|e| format!("l'accusé de dépôt ne peut être lu : {e}"))
}

/// Checks an accusé de dépôt on its own, with no archive: the deposit's
/// event hashes to what it says, names the content attested, sits in the
/// seal's tree by its inclusion proof, and the seal is signed by its key
/// (by `trusted_key` when given, 64 hex digits). Every failure, for people;
/// none: it holds.
pub fn check_attestation(a: &Attestation, trusted_key: Option<&crate::domain::seal::TrustedKey>) -> Vec<String> {
    let mut failures = Vec::new();
    let mut line = Vec::new();
    if let Err(e) = crate::domain::event::write_canonical(&a.event.event, &mut line) {
        failures.push(format!("l'événement ne peut être encodé : {e}"));
        return failures;
    }
    match Event::from_line(&line) {
        Err(e) => failures.push(format!("l'événement de dépôt a été modifié : {e}")),
        Ok(event) => {
            if event.leaf_hash() != a.event.leaf_hash {
                failures.push("l'empreinte de feuille annoncée n'est pas celle de l'événement".into());
            }
            if event.seq.checked_sub(1) != Some(a.event.leaf_index) {
                failures.push(format!(
                    "l'événement n° {} ne peut être la feuille {}",
                    event.seq, a.event.leaf_index
                ));
            }
            let facts = match event.body() {
                Ok(EventBody::RecordIngested { record, version, .. }) => Some((record, version)),
                Ok(EventBody::VersionAdded { record, version, .. }) => Some((record, version)),
                _ => None,
            };
            match facts {
                None => failures.push(format!("l'événement n'est pas un dépôt mais « {} »", event.kind)),
                Some((record, version)) => {
                    if record != a.record {
                        failures.push("l'événement concerne un autre document".into());
                    }
                    if version.sha256.hex() != a.sha256 || version.size != a.size || version.number != a.version {
                        failures.push(format!(
                            "le contenu attesté ({}, {} octets) n'est pas celui de l'événement ({}, {} octets)",
                            a.sha256,
                            a.size,
                            version.sha256.hex(),
                            version.size
                        ));
                    }
                }
            }
        }
    }
    match &a.event.proof {
        None => failures.push("l'accusé ne porte pas de preuve d'inclusion".into()),
        Some(proof) => {
            if !merkle::verify_inclusion(
                &a.event.leaf_hash,
                a.event.leaf_index,
                a.seal.tree_size,
                proof,
                &a.seal.root,
            ) {
                failures.push(format!(
                    "la preuve d'inclusion ne mène pas à la racine du sceau n° {}",
                    a.seal.seq
                ));
            }
        }
    }
    if let Some(key) = trusted_key {
        failures.extend(crate::domain::seal::key_not_vouched(
            &a.seal.public_key,
            key,
            &a.archive,
            &a.key_chain,
        ));
    }
    if let Err(e) = a.seal.verify(&a.archive) {
        failures.push(format!("la signature du sceau n° {} ne tient pas : {e}", a.seal.seq));
    }
    failures
}

#[cfg(test)]
mod attestation_tests {
    use super::*;
    use crate::archive::tests_support::memory_archive;
    use crate::archive::{Deposit, Upload};

    fn attested() -> (tempfile::TempDir, Attestation) {
        let (dir, archive) = memory_archive();
        let upload = Upload {
            staged: archive
                .stage(&mut &b"Facture de la boulangerie du Centre"[..])
                .expect("stage"),
            filename: Some("facture.txt".into()),
        };
        let deposit = Deposit {
            node: Some("FIN-FAC".into()),
            date: Some("2024-03-15".into()),
            ..Deposit::default()
        };
        let record = archive.ingest(&Actor::system(), deposit, upload).expect("ingest");
        let attestation = archive
            .attestation(&Actor::system(), record.reference.as_str(), None)
            .expect("attestation");
        (dir, attestation)
    }

    #[test]
    fn an_attestation_holds_on_its_own_and_through_its_html_page() {
        let (_dir, a) = attested();
        assert_eq!(check_attestation(&a, None), Vec::<String>::new());
        assert_eq!(
            check_attestation(
                &a,
                Some(&crate::domain::seal::TrustedKey::alone(
                    &a.seal.public_key.to_uppercase()
                ))
            ),
            Vec::<String>::new()
        );
        let json = serde_json::to_string(&a).expect("json");
        let page = format!(
            "<html><body><p>Accusé</p><script type=\"application/json\" id=\"{ATTESTATION_BLOCK_ID}\">{json}</script></body></html>"
        );
        let read = read_attestation(page.as_bytes()).expect("the page carries it");
        assert_eq!(check_attestation(&read, None), Vec::<String>::new());
        let json = serde_json::to_vec(&a).expect("json");
        assert!(read_attestation(&json).is_ok());
        assert!(read_attestation(b"<html>rien</html>").is_err());
        assert!(read_attestation(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn every_change_to_an_attestation_is_found() {
        let (_dir, a) = attested();
        let fails = |change: &dyn Fn(&mut Attestation), key: Option<&str>| {
            let mut b = a.clone();
            change(&mut b);
            let failures = check_attestation(&b, key.map(crate::domain::seal::TrustedKey::alone).as_ref());
            assert!(!failures.is_empty(), "a change went unnoticed");
            failures
        };
        fails(&|b| b.sha256 = "0".repeat(64), None);
        fails(&|b| b.size += 1, None);
        fails(&|b| b.event.event["payload"]["date"] = "2024-03-16".into(), None);
        fails(
            &|b| b.event.event["hash"] = format!("sha256:{}", "0".repeat(64)).into(),
            None,
        );
        fails(&|b| b.event.leaf_index += 1, None);
        fails(&|b| b.event.proof = None, None);
        fails(&|b| b.seal.root = Sha256::of(b"another root"), None);
        fails(&|b| b.seal.tree_size += 1, None);
        fails(&|b| b.seal.signature = "00".repeat(64), None);
        fails(&|b| b.archive = "another archive".into(), None);
        let stranger = "19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";
        let failures = fails(&|_| {}, Some(stranger));
        assert!(failures[0].contains("ni celle que vous reconnaissez"), "{failures:?}");
    }
}

#[cfg(test)]
mod key_tests {
    use super::*;
    use crate::archive::tests_support::memory_archive;

    /// A rotation cut short between its journaled event and the renaming of
    /// the new secret is finished at the next start; a new secret that no
    /// event names is left aside.
    #[test]
    fn a_rotation_cut_short_is_finished_only_if_journaled() {
        let (_dir, archive) = memory_archive();
        let keys = tempfile::tempdir().expect("a folder");
        let (k1, k2, k3) = ([1u8; 32], [2u8; 32], [3u8; 32]);
        let public = |secret: [u8; 32]| SealKey::from_secret(secret).public_hex();
        write_secret(&keys.path().join(SEAL_KEY_FILE), &k1).expect("write");
        write_secret(&keys.path().join(NEXT_KEY_FILE), &k2).expect("write");
        let chain = KeyChain {
            keys: vec![public(k1), public(k2)],
            rotations: Vec::new(),
        };
        let key = load_or_create_key(keys.path(), archive.journal.as_ref(), &chain, &Actor::system()).expect("load");
        assert_eq!(key.public_hex(), public(k2));
        assert!(!keys.path().join(NEXT_KEY_FILE).exists());
        let on_disk = read_secret(&keys.path().join(SEAL_KEY_FILE)).expect("read");
        assert_eq!(on_disk.public_hex(), public(k2));
        // Prepared but never journaled: the key in force stays.
        write_secret(&keys.path().join(NEXT_KEY_FILE), &k3).expect("write");
        let key = load_or_create_key(keys.path(), archive.journal.as_ref(), &chain, &Actor::system()).expect("load");
        assert_eq!(key.public_hex(), public(k2));
    }

    #[test]
    fn a_rotation_is_journaled_signed_by_both_keys_and_seals_with_the_new_one() {
        let (_dir, archive) = memory_archive();
        let before = archive.seal_public_key();
        assert!(archive.rotate_seal_key(&Actor::command_line()).is_ok());
        let chain = archive.key_chain().expect("chain");
        assert_eq!(chain.keys.first(), Some(&before));
        assert_eq!(chain.keys.last(), Some(&archive.seal_public_key()));
        assert_eq!(chain.rotations.len(), 1);
        assert_eq!(chain.rotations[0].verify(archive.archive_id()), Ok(()));
        let seal = archive.latest_seal().expect("seal").expect("a seal");
        assert_eq!(seal.public_key, archive.seal_public_key());
        let agent = Actor {
            name: "token:guichet".into(),
            role: crate::domain::role::Role::Agent,
            account: None,
        };
        assert!(matches!(
            archive.rotate_seal_key(&agent),
            Err(ArchiveError::Forbidden { .. })
        ));
    }
}
