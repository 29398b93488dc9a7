//! Transfer packages: a BagIt 1.0 bag (RFC 8493) in a zip, whose payload
//! holds the records' content under their canonical names, a SEDA 2.3
//! `ArchiveTransfer` manifest, the records' descriptive metadata documents,
//! their journal events with inclusion proofs, and the seal the proofs lead
//! to with its public key. Everything here works without a data directory:
//! writing takes what the archive gives it, checking (`verify`) needs
//! nothing but the zip.
//!
//! ```text
//! <bag>/bagit.txt, bag-info.txt, manifest-sha256.txt, manifest-sha512.txt, tagmanifest-sha256.txt
//! <bag>/data/manifest.xml                  SEDA 2.3 ArchiveTransfer
//! <bag>/data/content/<canonical path>      each version's bytes
//! <bag>/data/metadata/<record id>.json     descriptive metadata documents (blobs)
//! <bag>/data/journal/events.jsonl          the records' journal events, canonical lines
//! <bag>/data/journal/proofs.json           each event's inclusion proof
//! <bag>/data/journal/seal.json             the seal, the archive id and the public key
//! ```

pub mod bag_writer;
pub mod bagit;
pub mod seda;
pub mod unzip;
pub mod verify;

use crate::domain::hash::Sha256;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The SEDA manifest's path under the bag.
pub const MANIFEST_XML: &str = "data/manifest.xml";
/// The journal events' path.
pub const EVENTS_JSONL: &str = "data/journal/events.jsonl";
/// The inclusion proofs' path.
pub const PROOFS_JSON: &str = "data/journal/proofs.json";
/// The seal's path.
pub const SEAL_JSON: &str = "data/journal/seal.json";
/// Where content goes.
pub const CONTENT_DIR: &str = "data/content/";
/// Where metadata documents go.
pub const METADATA_DIR: &str = "data/metadata/";

/// One file of a record in a package: a version's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageObject {
    /// The SEDA id (`BDO-<n>`).
    pub id: String,
    /// Its path in the bag (`data/content/...`).
    pub path: String,
    /// The version number.
    pub version: u32,
    /// SHA-256 of the bytes.
    pub sha256: Sha256,
    /// SHA-512 of the bytes, hex.
    pub sha512: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// The file name given at deposit.
    pub filename: Option<String>,
}

/// What the manifest says of a record's retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageAppraisal {
    /// The rule's name in the plan.
    pub rule: String,
    /// When it starts counting.
    pub start_date: Option<NaiveDate>,
    /// `Keep` or `Destroy` (SEDA's words; `review` is written `Keep`).
    pub final_action: String,
}

/// A record in a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRecord {
    /// Its id in the archive it comes from.
    pub id: String,
    /// Its reference there.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Its node, and the node's ancestors from the root: (code, title).
    pub node_path: Vec<(String, String)>,
    /// The record's date.
    pub date: NaiveDate,
    /// Producing service.
    pub service: Option<String>,
    /// Document type.
    pub document_type: Option<String>,
    /// Descriptive fields.
    pub fields: BTreeMap<String, String>,
    /// Retention.
    pub appraisal: Option<PackageAppraisal>,
    /// The versions' files.
    pub objects: Vec<PackageObject>,
}

/// Who sends a package to whom, and why.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TransferParties {
    /// The message's identifier.
    pub message_id: String,
    /// A comment for the archives.
    pub comment: Option<String>,
    /// The archival agreement (convention de versement), if any.
    pub archival_agreement: Option<String>,
    /// The archives service that receives the records.
    pub archival_agency: String,
    /// The service that sends them.
    pub transferring_agency: String,
    /// The service that produced them.
    pub originating_agency: String,
}
