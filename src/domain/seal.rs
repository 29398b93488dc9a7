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

/// The first line of every key rotation statement.
pub const ROTATION_STATEMENT_HEADER: &str = "coffre-key-rotation/1";

/// A change of the seal key: the old key hands over to the new one. Both
/// sign the statement (ASCII, each line ended by `\n`):
///
/// ```text
/// coffre-key-rotation/1
/// archive <archive id>
/// previous <old public key, 64 hex digits>
/// next <new public key, 64 hex digits>
/// rotated_at <RFC 3339 UTC, six fractional digits, Z>
/// ```
///
/// so whoever trusts either key can follow the chain to the other, both
/// ways: seals made before and after a rotation verify with any key of the
/// chain, and a key outside it is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRotation {
    /// The key handing over (hex).
    pub previous_key: String,
    /// The key taking over (hex).
    pub public_key: String,
    /// When (microseconds).
    pub rotated_at: DateTime<Utc>,
    /// The old key's signature of the statement (hex).
    pub previous_signature: String,
    /// The new key's signature of the statement (hex).
    pub next_signature: String,
}

impl KeyRotation {
    /// The rotation from `previous` to `next` at `at`, signed by both.
    pub fn sign(archive: &str, previous: &SealKey, next: &SealKey, at: DateTime<Utc>) -> KeyRotation {
        let mut rotation = KeyRotation {
            previous_key: previous.public_hex(),
            public_key: next.public_hex(),
            rotated_at: at.trunc_subsecs(6),
            previous_signature: String::new(),
            next_signature: String::new(),
        };
        let message = rotation.message(archive);
        rotation.previous_signature = hex::encode(previous.0.sign(&message).to_bytes());
        rotation.next_signature = hex::encode(next.0.sign(&message).to_bytes());
        rotation
    }

    /// The bytes both keys sign.
    pub fn message(&self, archive: &str) -> Vec<u8> {
        format!(
            "{ROTATION_STATEMENT_HEADER}\narchive {archive}\nprevious {}\nnext {}\nrotated_at {}\n",
            self.previous_key,
            self.public_key,
            self.rotated_at.to_rfc3339_opts(SecondsFormat::Micros, true)
        )
        .into_bytes()
    }

    /// Checks both signatures.
    pub fn verify(&self, archive: &str) -> Result<(), SealError> {
        let message = self.message(archive);
        verify_bytes(&message, &self.previous_key, &self.previous_signature)?;
        verify_bytes(&message, &self.public_key, &self.next_signature)
    }
}

/// The keys that `trusted` vouches for through `rotations` (itself
/// included): each rotation whose two signatures hold links its two keys.
/// A rotation that does not hold links nothing and is said, in French.
pub fn keys_vouched_for(
    trusted: &str,
    archive: &str,
    rotations: &[KeyRotation],
) -> (std::collections::BTreeSet<String>, Vec<String>) {
    let mut keys = std::collections::BTreeSet::from([trusted.trim().to_ascii_lowercase()]);
    let mut problems = Vec::new();
    let valid: Vec<&KeyRotation> = rotations
        .iter()
        .filter(|r| match r.verify(archive) {
            Ok(()) => true,
            Err(e) => {
                problems.push(format!(
                    "le passage de la clé {} à la clé {} ne tient pas : {e}",
                    r.previous_key, r.public_key
                ));
                false
            }
        })
        .collect();
    loop {
        let before = keys.len();
        for r in &valid {
            if keys.contains(&r.previous_key) || keys.contains(&r.public_key) {
                keys.insert(r.previous_key.clone());
                keys.insert(r.public_key.clone());
            }
        }
        if keys.len() == before {
            return (keys, problems);
        }
    }
}

/// The key a verifier trusts (hex), with the rotations it knows itself
/// (an archive knows its own chain; an auditor offline, none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedKey {
    /// The key.
    pub key: String,
    /// Rotations known besides those the checked file carries.
    pub rotations: Vec<KeyRotation>,
}

impl TrustedKey {
    /// A key alone.
    pub fn alone(key: &str) -> TrustedKey {
        TrustedKey {
            key: key.trim().to_owned(),
            rotations: Vec::new(),
        }
    }
}

/// What is wrong, in French, when `trusted` does not vouch for `key` (the
/// key that signed a seal) through its rotations and those the checked
/// file `carried`: nothing when it does.
pub fn key_not_vouched(key: &str, trusted: &TrustedKey, archive: &str, carried: &[KeyRotation]) -> Vec<String> {
    let mut rotations = carried.to_vec();
    rotations.extend(trusted.rotations.iter().filter(|r| !carried.contains(r)).cloned());
    let trusted = trusted.key.as_str();
    let (keys, mut problems) = keys_vouched_for(trusted, archive, &rotations);
    if !keys.contains(&key.trim().to_ascii_lowercase()) {
        problems.push(format!(
            "le sceau est signé par la clé {}, qui n'est ni celle que vous reconnaissez ({}) ni une clé que la chaîne des clés relie à elle",
            key.trim(),
            trusted.trim()
        ));
    }
    problems
}

/// The archive's seal keys, in the order they came in, and the rotations
/// that link them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyChain {
    /// Every key (hex), the first created first.
    pub keys: Vec<String>,
    /// Every rotation, oldest first.
    pub rotations: Vec<KeyRotation>,
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
    verify_bytes(&statement.message(), public_key, signature)
}

/// Checks that `signature` (hex) is `public_key`'s (hex) over `message`.
fn verify_bytes(message: &[u8], public_key: &str, signature: &str) -> Result<(), SealError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(public_key.trim(), &mut key).map_err(|e| SealError::BadKey(e.to_string()))?;
    let key = VerifyingKey::from_bytes(&key).map_err(|e| SealError::BadKey(e.to_string()))?;
    let mut sig = [0u8; 64];
    hex::decode_to_slice(signature.trim(), &mut sig).map_err(|e| SealError::BadSignature(e.to_string()))?;
    key.verify_strict(message, &Signature::from_bytes(&sig))
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
        let failure = match body {
            Some(EventBody::ArchiveInitialized { archive_id, .. }) => {
                self.archive = Some(archive_id);
                failure
            }
            Some(EventBody::SealKeyCreated { public_key, .. }) => {
                self.keys.push(public_key);
                failure
            }
            Some(EventBody::SealKeyRotated { rotation }) => {
                let archive = self.archive.clone().unwrap_or_default();
                let problem = if !self.keys.contains(&rotation.previous_key) {
                    Some(format!(
                        "passe la main de la clé {}, qu'aucun événement antérieur ne nomme",
                        rotation.previous_key
                    ))
                } else {
                    rotation
                        .verify(&archive)
                        .err()
                        .map(|e| format!("change de clé sans les deux signatures qu'il faut : {e}"))
                };
                self.keys.push(rotation.public_key);
                problem
            }
            _ => failure,
        };
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
                "est signé par la clé {}, qu'aucun événement seal.key_created ou seal.key_rotated ne nomme",
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
    fn a_rotation_links_its_keys_both_ways_and_nothing_else() {
        let archive = "00".repeat(16);
        let (k1, k2, k3, stranger) = (
            SealKey::from_secret([1; 32]),
            SealKey::from_secret([2; 32]),
            SealKey::from_secret([3; 32]),
            SealKey::from_secret([9; 32]),
        );
        let at = statement().sealed_at;
        let chain = vec![
            KeyRotation::sign(&archive, &k1, &k2, at),
            KeyRotation::sign(&archive, &k2, &k3, at),
        ];
        assert_eq!(chain[0].verify(&archive), Ok(()));
        for trusted in [&k1, &k2, &k3] {
            let (keys, problems) = keys_vouched_for(&trusted.public_hex(), &archive, &chain);
            assert!(problems.is_empty());
            for key in [&k1, &k2, &k3] {
                assert!(keys.contains(&key.public_hex()));
            }
            assert!(!keys.contains(&stranger.public_hex()));
        }
        let (keys, _) = keys_vouched_for(&stranger.public_hex(), &archive, &chain);
        assert_eq!(keys.len(), 1, "a stranger's key vouches for nothing else");
        // A rotation the old key did not sign links nothing, and is said.
        let mut forged = KeyRotation::sign(&archive, &stranger, &stranger, at);
        forged.previous_key = k3.public_hex();
        let mut with_forgery = chain.clone();
        with_forgery.push(forged);
        let (keys, problems) = keys_vouched_for(&k1.public_hex(), &archive, &with_forgery);
        assert!(!keys.contains(&stranger.public_hex()));
        assert_eq!(problems.len(), 1, "{problems:?}");
        // For another archive, the statement differs: nothing holds.
        assert_eq!(chain[0].verify(&"11".repeat(16)), Err(SealError::Forged));
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
