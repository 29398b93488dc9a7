//! Journal seals: a signed statement that the journal's Merkle tree had
//! `tree_size` leaves and root `root` at `sealed_at`.
//!
//! The signature is Ed25519 (RFC 8032) over the statement's bytes, which
//! are this ASCII text, each line ended by `\n`:
//!
//! ```text
//! coffre-seal/1
//! archive <archive id, 32 hex digits>
//! tree_size <decimal>
//! root sha256:<64 hex digits>
//! sealed_at <RFC 3339 UTC, six fractional digits, Z>
//! ```
//!
//! `schemas/seal-and-proofs.md` says the same for auditors, with how to
//! check a seal and a proof with nothing but SHA-256 and the public key.

use super::event::{Event, EventBody};
use super::hash::Sha256;
use super::merkle::{self, Frontier, LeafHashes};
use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// The first line of every seal statement.
pub const SEAL_STATEMENT_HEADER: &str = "coffre-seal/1";

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before
/// the 32 key bytes: how OpenSSL and every X.509 tool read the key.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A seal that does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The public key is not 64 hex digits of a valid Ed25519 key.
    #[error("not an Ed25519 public key: {0}")]
    BadKey(String),
    /// The signature is not 128 hex digits.
    #[error("not an Ed25519 signature: {0}")]
    BadSignature(String),
    /// The signature does not verify over the statement with this key.
    #[error("the signature does not match the statement and key")]
    Forged,
}

/// What a seal states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealStatement {
    /// The archive's id (from its `archive.initialized` event).
    pub archive: String,
    /// How many journal events the tree holds (seqs 1..=tree_size).
    pub tree_size: u64,
    /// The tree's root.
    pub root: Sha256,
    /// When the seal was made (microseconds).
    pub sealed_at: DateTime<Utc>,
}

impl SealStatement {
    /// A statement, its time cut to microseconds as written.
    pub fn new(archive: String, tree_size: u64, root: Sha256, sealed_at: DateTime<Utc>) -> Self {
        SealStatement {
            archive,
            tree_size,
            root,
            sealed_at: sealed_at.trunc_subsecs(6),
        }
    }

    /// The bytes that are signed (and time-stamped).
    pub fn message(&self) -> Vec<u8> {
        format!(
            "{SEAL_STATEMENT_HEADER}\narchive {}\ntree_size {}\nroot {}\nsealed_at {}\n",
            self.archive,
            self.tree_size,
            self.root,
            self.sealed_at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
        .into_bytes()
    }
}

/// A seal as the journal holds it (`journal.sealed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// The seq of the `journal.sealed` event.
    pub seq: u64,
    /// Leaves the tree held.
    pub tree_size: u64,
    /// Its root.
    pub root: Sha256,
    /// When it was made.
    pub sealed_at: DateTime<Utc>,
    /// The signing key (hex).
    pub public_key: String,
    /// The signature (hex).
    pub signature: String,
    /// An RFC 3161 time-stamp token over the statement (DER, base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
}

impl Seal {
    /// The seal a `journal.sealed` event at `seq` records (`None` for any
    /// other event).
    pub fn of_event(seq: u64, body: &EventBody) -> Option<Seal> {
        match body {
            EventBody::JournalSealed {
                tree_size,
                root,
                sealed_at,
                public_key,
                signature,
                timestamp,
            } => Some(Seal {
                seq,
                tree_size: *tree_size,
                root: *root,
                sealed_at: *sealed_at,
                public_key: public_key.clone(),
                signature: signature.clone(),
                timestamp: timestamp.clone(),
            }),
            _ => None,
        }
    }

    /// Whether its time-stamp token, if it has one, stamps its statement
    /// (`None`: no token).
    pub fn timestamp_matches(&self, archive: &str) -> Option<bool> {
        use base64::Engine;
        let token = self.timestamp.as_ref()?;
        let digest = *Sha256::of(&self.statement(archive).message()).as_bytes();
        Some(
            base64::engine::general_purpose::STANDARD
                .decode(token)
                .is_ok_and(|der| super::timestamp::stamps(&der, &digest)),
        )
    }

    /// What it states, for the archive `archive`.
    pub fn statement(&self, archive: &str) -> SealStatement {
        SealStatement::new(archive.to_owned(), self.tree_size, self.root, self.sealed_at)
    }

    /// Checks its signature against the key it names.
    pub fn verify(&self, archive: &str) -> Result<(), SealError> {
        verify(&self.statement(archive), &self.public_key, &self.signature)
    }
}

/// The key that signs seals. Its secret never leaves the data directory.
pub struct SealKey(SigningKey);

impl SealKey {
    /// The key whose secret is these 32 bytes (RFC 8032's seed).
    pub fn from_secret(secret: [u8; 32]) -> Self {
        SealKey(SigningKey::from_bytes(&secret))
    }

    /// The public half, 64 hex digits.
    pub fn public_hex(&self) -> String {
        hex::encode(self.0.verifying_key().to_bytes())
    }

    /// Signs a statement: 128 hex digits.
    pub fn sign(&self, statement: &SealStatement) -> String {
        hex::encode(self.0.sign(&statement.message()).to_bytes())
    }
}

/// Checks that `signature` (hex) is `public_key`'s (hex) over the statement.
pub fn verify(statement: &SealStatement, public_key: &str, signature: &str) -> Result<(), SealError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(public_key.trim(), &mut key).map_err(|e| SealError::BadKey(e.to_string()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| SealError::BadKey(e.to_string()))?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(signature.trim(), &mut sig).map_err(|e| SealError::BadSignature(e.to_string()))?;
    key.verify_strict(&statement.message(), &Signature::from_bytes(&sig))
        .map_err(|_| SealError::Forged)
}

/// The public key (hex) as a PEM `PUBLIC KEY` block, for OpenSSL and the like.
pub fn public_key_pem(public_key: &str) -> Result<String, SealError> {
    use base64::Engine;
    let mut key = [0u8; 32];
    hex::decode_to_slice(public_key.trim(), &mut key).map_err(|e| SealError::BadKey(e.to_string()))?;
    let mut der = ED25519_SPKI_PREFIX.to_vec();
    der.extend_from_slice(&key);
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    Ok(format!(
        "-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"
    ))
}

/// How many recent tree roots a journal check remembers: a seal states a
/// size its own event follows closely (only appends racing with it slip
/// between), so its root is found there; an older size is recomputed.
const RECENT_ROOTS: usize = 4096;

/// Checks every seal of a journal read from its start, in seq order: the
/// root it states is the root of the events before it, its key was named
/// by a `seal.key_created` event, and its signature verifies.
#[derive(Default)]
pub struct JournalSealCheck {
    archive: Option<String>,
    leaves: Vec<Sha256>,
    frontier: Frontier,
    recent: std::collections::VecDeque<(u64, Sha256)>,
    keys: Vec<String>,
    /// Seals checked.
    pub seals: u64,
}

impl JournalSealCheck {
    /// A check from the journal's first event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next event; says what is wrong with it if it is a seal
    /// that does not hold.
    pub fn note(&mut self, event: &Event) -> Option<String> {
        let body = event.body().ok();
        let failure = match body.as_ref().and_then(|b| Seal::of_event(event.seq, b)) {
            Some(seal) => {
                self.seals += 1;
                self.check(&seal).or_else(|| {
                    let archive = self.archive.clone().unwrap_or_default();
                    (seal.timestamp_matches(&archive) == Some(false))
                        .then(|| "porte un jeton d'horodatage RFC 3161 qui n'horodate pas sa déclaration".to_owned())
                })
            }
            None => None,
        };
        match body {
            Some(EventBody::ArchiveInitialized { archive_id, .. }) => self.archive = Some(archive_id),
            Some(EventBody::SealKeyCreated { public_key, .. }) => self.keys.push(public_key),
            _ => {}
        }
        let leaf = event.leaf_hash();
        self.leaves.push(leaf);
        self.frontier.push(leaf);
        if self.recent.len() == RECENT_ROOTS {
            self.recent.pop_front();
        }
        self.recent.push_back((self.frontier.size(), self.frontier.root()));
        failure
    }

    fn check(&self, seal: &Seal) -> Option<String> {
        let (tree_size, root) = (seal.tree_size, &seal.root);
        if tree_size > self.frontier.size() {
            return Some(format!(
                "scelle {tree_size} événements, mais seuls {} le précèdent",
                self.frontier.size()
            ));
        }
        let actual = match self.recent.iter().find(|(size, _)| *size == tree_size) {
            Some((_, root)) => *root,
            None => match merkle::root(&LeafHashes(self.leaves[..tree_size as usize].to_vec()), tree_size) {
                Ok(root) => root,
                Err(e) => return Some(format!("ne peut être recalculé : {e}")),
            },
        };
        if actual != *root {
            return Some(format!(
                "annonce la racine {root} pour {tree_size} événements, mais leur empreinte est {actual}"
            ));
        }
        if !self.keys.contains(&seal.public_key) {
            return Some(format!(
                "est signé par la clé {}, qu'aucun événement seal.key_created ne nomme",
                seal.public_key
            ));
        }
        let archive = self.archive.clone().unwrap_or_default();
        seal.verify(&archive).err().map(|e| format!("signature : {e}"))
    }
}

/// The public key (hex) of a PEM `PUBLIC KEY` block holding an Ed25519 key.
pub fn public_key_from_pem(pem: &str) -> Result<String, SealError> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| SealError::BadKey(e.to_string()))?;
    match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if key.len() == 32 => Ok(hex::encode(key)),
        _ => Err(SealError::BadKey("not an Ed25519 SubjectPublicKeyInfo".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn statement() -> SealStatement {
        let at = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default();
        SealStatement::new("00".repeat(16), 42, Sha256::of(b"root"), at)
    }

    #[test]
    fn the_statement_is_the_documented_text() {
        let text = String::from_utf8(statement().message()).unwrap_or_default();
        assert_eq!(
            text,
            format!(
                "coffre-seal/1\narchive {}\ntree_size 42\nroot {}\nsealed_at 2026-11-28T12:00:00.000000Z\n",
                "00".repeat(16),
                Sha256::of(b"root")
            )
        );
    }

    #[test]
    fn a_signature_verifies_and_anything_changed_does_not() {
        let key = SealKey::from_secret([7; 32]);
        let signature = key.sign(&statement());
        assert_eq!(verify(&statement(), &key.public_hex(), &signature), Ok(()));
        let mut other = statement();
        other.tree_size = 43;
        assert_eq!(verify(&other, &key.public_hex(), &signature), Err(SealError::Forged));
        let stranger = SealKey::from_secret([8; 32]);
        assert_eq!(
            verify(&statement(), &stranger.public_hex(), &signature),
            Err(SealError::Forged)
        );
        let mut forged = signature.into_bytes();
        forged[10] = if forged[10] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(forged).unwrap_or_default();
        assert_eq!(verify(&statement(), &key.public_hex(), &forged), Err(SealError::Forged));
        assert!(matches!(verify(&statement(), "zz", "00"), Err(SealError::BadKey(_))));
    }

    #[test]
    fn the_pem_is_an_spki_ed25519_key() {
        // RFC 8410 §10.1's example key.
        let pem = public_key_pem("19bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1");
        assert_eq!(
            pem.ok().as_deref(),
            Some(
                "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n"
            )
        );
    }
}
