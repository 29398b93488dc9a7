//! What an integrity check finds: failures named so that an auditor can act
//! on each (which record, which blob, which journal seq), and the totals.

use super::hash::Sha256;
use super::record::Reference;
use serde::Serialize;
use std::fmt;

/// A record version or metadata document that uses a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BlobUse {
    /// The record's reference.
    pub reference: Reference,
    /// `version N` or `metadata`.
    pub what: String,
}

/// One thing found wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IntegrityFailure {
    /// A blob's bytes no longer hash to its name.
    BlobCorrupt {
        /// The blob's name.
        blob: Sha256,
        /// The hash of what is on disk.
        actual: Sha256,
        /// Who uses it.
        used_by: Vec<BlobUse>,
    },
    /// A blob the journal refers to is not in the store.
    BlobMissing {
        /// The blob's name.
        blob: Sha256,
        /// Who uses it.
        used_by: Vec<BlobUse>,
    },
    /// A journal event is damaged or out of chain.
    JournalEvent {
        /// Its sequence number (or the one expected at that place).
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// A journal seal does not hold (root, key or signature).
    Seal {
        /// The seq of the `journal.sealed` event.
        seq: u64,
        /// What is wrong.
        reason: String,
    },
    /// The catalog disagrees with the journal about a record.
    CatalogMismatch {
        /// The record.
        reference: Reference,
        /// How they differ.
        detail: String,
    },
}

impl fmt::Display for IntegrityFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let uses = |u: &[BlobUse]| {
            if u.is_empty() {
                "aucun document".to_owned()
            } else {
                u.iter()
                    .map(|u| format!("{} ({})", u.reference, u.what))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        match self {
            IntegrityFailure::BlobCorrupt { blob, actual, used_by } => {
                write!(
                    f,
                    "le contenu {blob} est altéré (ses octets ont pour empreinte {actual}) ; utilisé par {}",
                    uses(used_by)
                )
            }
            IntegrityFailure::BlobMissing { blob, used_by } => {
                write!(f, "le contenu {blob} est manquant ; utilisé par {}", uses(used_by))
            }
            IntegrityFailure::JournalEvent { seq, reason } => write!(f, "événement n° {seq} du journal : {reason}"),
            IntegrityFailure::Seal { seq, reason } => write!(f, "le sceau de l'événement n° {seq} : {reason}"),
            IntegrityFailure::CatalogMismatch { reference, detail } => {
                write!(
                    f,
                    "le catalogue diffère du journal pour le document {reference} : {detail}"
                )
            }
        }
    }
}

/// What a fixity run found wrong with one blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FixityFinding {
    /// The blob's name (the digest its bytes must have).
    pub blob: Sha256,
    /// `corrupt` (the bytes hash to something else) or `missing`.
    pub problem: String,
    /// What the bytes hash to, when corrupt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<Sha256>,
    /// The records that use it (references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used_by: Vec<String>,
}

/// Who found a blob damaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DamageFinder {
    /// A reading of the content, which hashes what it streams.
    Read,
    /// The scheduled fixity job.
    Fixity,
    /// A whole integrity check (`audit verify`).
    Verify,
    /// A repair pass (`coffre repair`), which looks for every blob in use.
    Repair,
}

/// What is wrong with a damaged blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DamageKind {
    /// Its bytes no longer hash to its name (or are fewer than recorded).
    Corrupt,
    /// It is not in the store.
    Missing,
}

/// What a repair pass did (`coffre repair`, `POST /repair`): every blob
/// known damaged was put back from a copy whose bytes still hash to its
/// name when one had them; every copy store lacking a blob was given it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RepairReport {
    /// Blobs looked at: those records and plan versions use, those the
    /// store holds, those known damaged.
    pub blobs_examined: u64,
    /// The copy stores (none: the archive keeps one copy).
    pub copies: Vec<String>,
    /// Damaged blobs put back from a copy.
    pub repaired: Vec<RepairedBlob>,
    /// Copies that lacked a blob and were given it.
    pub copies_completed: Vec<CompletedCopy>,
    /// What could not be repaired, and why.
    pub unrepaired: Vec<UnrepairedBlob>,
}

/// A blob a repair pass put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RepairedBlob {
    /// The blob.
    pub blob: Sha256,
    /// The copy store its good bytes came from.
    pub source: String,
    /// The records that use it (references).
    pub used_by: Vec<String>,
}

/// A copy store given a blob it lacked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CompletedCopy {
    /// The blob.
    pub blob: Sha256,
    /// The copy store.
    pub copy: String,
}

/// A damaged blob that no repair could put back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UnrepairedBlob {
    /// The blob.
    pub blob: Sha256,
    /// What is wrong with it.
    pub problem: DamageKind,
    /// The records that use it (references).
    pub used_by: Vec<String>,
    /// Why it could not be repaired, and what to do, in French.
    pub reason: String,
}

/// A blob known damaged, as the catalog holds it from its `blob.damaged`
/// event until a `blob.repaired` one: its content is not served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BlobDamage {
    /// The blob.
    pub blob: Sha256,
    /// What is wrong.
    pub kind: DamageKind,
    /// Who found it.
    pub found_by: DamageFinder,
    /// The `blob.damaged` event.
    pub seq: u64,
    /// When it was found.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// A whole integrity check, as the journal recorded it (`audit.verified`):
/// what an auditor's dashboard shows as the last verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Verification {
    /// Its `audit.verified` event.
    pub seq: u64,
    /// When it ended.
    pub time: chrono::DateTime<chrono::Utc>,
    /// Who ran it.
    pub actor: String,
    /// The last journal seq it covered.
    pub through_seq: u64,
    /// Events whose hash and chain were checked.
    pub events_checked: u64,
    /// Blobs re-hashed.
    pub blobs_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Failures found.
    pub failures: u64,
}

/// The result of a whole integrity check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IntegrityReport {
    /// Journal events read and checked.
    pub events_checked: u64,
    /// The last seq covered.
    pub through_seq: u64,
    /// Journal seals whose root and signature were checked.
    pub seals_checked: u64,
    /// Blobs re-hashed.
    pub blobs_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Records compared between catalog and journal.
    pub records_checked: u64,
    /// Blobs on disk that no event refers to (left by a deposit interrupted
    /// before its event was written); harmless, listed for information.
    pub unreferenced_blobs: u64,
    /// Everything found wrong.
    pub failures: Vec<IntegrityFailure>,
}

impl IntegrityReport {
    /// Whether nothing was found wrong.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}
