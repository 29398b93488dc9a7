//! Checking a package with nothing but the zip (and, if the auditor has
//! it, the archive's public key): the bag (every manifest line, the
//! Payload-Oxum, no file missing or extra, the tag manifest), the SEDA
//! manifest's digests and sizes against the payload, each journal event's
//! hash and the links between consecutive ones, each event's inclusion
//! proof against the seal, the seal's signature, and that every file of
//! every record is named by one of that record's proven events. Every
//! failure is listed; nothing stops at the first.

use super::bagit::{parse_bag_info, parse_manifest};
use super::seda::{Manifest, read_manifest};
use super::unzip::{PackageZip, ZipLimits, ZipRefused};
use super::{EVENTS_JSONL, MANIFEST_XML, METADATA_DIR, PROOFS_JSON, SEAL_JSON};
use crate::domain::event::{Event, EventBody};
use crate::domain::hash::Sha256;
use crate::domain::merkle;
use crate::domain::seal::TrustedKey;
use crate::domain::seal::{Seal, SealStatement, verify as verify_seal};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Tag files and journal files are read whole, up to this size.
const SMALL_FILE: u64 = 512 << 20;

/// A payload file's digests, computed from its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigests {
    /// SHA-256, hex.
    pub sha256: String,
    /// SHA-512, hex.
    pub sha512: String,
    /// Bytes.
    pub size: u64,
}

/// `data/journal/seal.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealFile {
    /// The archive the seal names.
    pub archive: String,
    /// The seal.
    pub seal: Seal,
    /// The public key (hex), as the exporting archive gives it.
    pub public_key: String,
    /// The same in PEM.
    #[serde(default)]
    pub public_key_pem: String,
    /// The rotations of the archive's seal key, oldest first: a seal signed
    /// by any key of the chain verifies with any other.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_chain: Vec<crate::domain::seal::KeyRotation>,
}

/// One entry of `data/journal/proofs.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EventProof {
    /// The event's seq.
    pub seq: u64,
    /// Its leaf index (seq − 1).
    pub leaf_index: u64,
    /// Its leaf hash.
    pub leaf_hash: Sha256,
    /// The audit path to the seal's root.
    pub proof: Vec<Sha256>,
}

/// What checking found, and what import needs of the package.
pub struct CheckedPackage {
    /// Every failure, for people.
    pub failures: Vec<String>,
    /// Payload files checked.
    pub files: usize,
    /// Journal events checked.
    pub events_checked: usize,
    /// Whether the package carries a sealed journal (a coffre package).
    pub sealed: bool,
    /// The payload's digests by path.
    pub payload: BTreeMap<String, FileDigests>,
    /// The SEDA manifest, if it could be read.
    pub manifest: Option<Manifest>,
    /// The zip, to read the payload from.
    pub zip: PackageZip,
}

impl CheckedPackage {
    /// Whether nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Checks a package. `trusted_key` (hex): the public key the auditor holds
/// for the archive; without it the key in the package is used, and said so.
pub fn verify_package(
    path: &Path,
    limits: ZipLimits,
    trusted_key: Option<&TrustedKey>,
) -> Result<CheckedPackage, ZipRefused> {
    let mut zip = PackageZip::open(path, limits)?;
    let mut failures = Vec::new();
    check_declaration(&mut zip, &mut failures)?;
    let payload = hash_payload(&mut zip)?;
    check_payload_manifests(&mut zip, &payload, &mut failures)?;
    check_payload_oxum(&mut zip, &payload, &mut failures)?;
    check_tag_manifests(&mut zip, &mut failures)?;
    let manifest = match find_seda_manifest(&mut zip, &payload)? {
        Some(manifest_path) => check_seda_manifest(&mut zip, &manifest_path, &payload, &mut failures)?,
        None => {
            failures.push(format!(
                "le sac n'a pas de bordereau SEDA ArchiveTransfer ({MANIFEST_XML}, ou un autre fichier XML directement sous data/)"
            ));
            None
        }
    };
    // The sealed journal, when the package carries one.
    let sealed = zip.contains(SEAL_JSON);
    let mut events_checked = 0;
    if sealed {
        let (found, (events, _)) = check_journal(&mut zip, trusted_key, &payload, manifest.as_ref())?;
        failures.extend(found);
        events_checked = events.len();
    }
    Ok(CheckedPackage {
        failures,
        files: payload.len(),
        events_checked,
        sealed,
        payload,
        manifest,
        zip,
    })
}

/// The bag declaration (`bagit.txt`) names a version this reader knows.
fn check_declaration(zip: &mut PackageZip, failures: &mut Vec<String>) -> Result<(), ZipRefused> {
    let bagit = String::from_utf8_lossy(&zip.read_small("bagit.txt", 4096)?).into_owned();
    let declared = parse_bag_info(&bagit);
    match declared
        .iter()
        .find(|(k, _)| k == "BagIt-Version")
        .map(|(_, v)| v.as_str())
    {
        Some("1.0") | Some("0.97") => {}
        other => failures.push(format!("bagit.txt : BagIt-Version vaut {other:?} et non 1.0")),
    }
    Ok(())
}

/// Every payload file (under `data/`), hashed once, by path.
fn hash_payload(zip: &mut PackageZip) -> Result<BTreeMap<String, FileDigests>, ZipRefused> {
    let payload_paths: Vec<String> = zip
        .paths()
        .filter(|p| p.starts_with("data/"))
        .map(str::to_owned)
        .collect();
    let mut payload = BTreeMap::new();
    for p in &payload_paths {
        let mut sha256 = sha2::Sha256::new();
        let mut sha512 = sha2::Sha512::new();
        let size = zip.read(p, &mut |chunk| {
            sha256.update(chunk);
            sha512.update(chunk);
            Ok(())
        })?;
        payload.insert(
            p.clone(),
            FileDigests {
                sha256: hex::encode(sha256.finalize()),
                sha512: hex::encode(sha512.finalize()),
                size,
            },
        );
    }
    Ok(payload)
}

/// The payload manifests: every line true, every payload file listed.
fn check_payload_manifests(
    zip: &mut PackageZip,
    payload: &BTreeMap<String, FileDigests>,
    failures: &mut Vec<String>,
) -> Result<(), ZipRefused> {
    let manifests: Vec<String> = zip
        .paths()
        .filter(|p| p.starts_with("manifest-") && p.ends_with(".txt") && !p.contains('/'))
        .map(str::to_owned)
        .collect();
    if manifests.is_empty() {
        failures.push("le sac n'a pas de manifeste du contenu (manifest-<algorithme>.txt)".into());
    }
    for name in &manifests {
        let algorithm = name.trim_start_matches("manifest-").trim_end_matches(".txt");
        let Some(lines) = manifest_lines(zip, name, failures)? else {
            continue;
        };
        let mut listed = BTreeSet::new();
        for (digest, file) in &lines {
            if !file.starts_with("data/") {
                failures.push(format!("{name} : {file} n'est pas sous data/"));
                continue;
            }
            listed.insert(file.as_str());
            match payload.get(file) {
                None => failures.push(format!("{name} cite {file}, qui manque au sac")),
                Some(d) => {
                    let actual = match algorithm {
                        "sha256" => &d.sha256,
                        "sha512" => &d.sha512,
                        _ => {
                            failures.push(format!("{name} : coffre ne vérifie pas l'algorithme {algorithm}"));
                            break;
                        }
                    };
                    if actual != digest {
                        failures.push(format!(
                            "{file} : son {algorithm} est {actual}, mais {name} annonce {digest} (contenu modifié, ou ligne du manifeste retouchée)"
                        ));
                    }
                }
            }
        }
        for file in payload.keys() {
            if !listed.contains(file.as_str()) {
                failures.push(format!(
                    "{file} est dans le contenu mais pas dans {name} (un fichier ajouté)"
                ));
            }
        }
    }
    Ok(())
}

/// `Payload-Oxum` in `bag-info.txt`, when given, is the payload's bytes
/// and file count.
fn check_payload_oxum(
    zip: &mut PackageZip,
    payload: &BTreeMap<String, FileDigests>,
    failures: &mut Vec<String>,
) -> Result<(), ZipRefused> {
    if zip.contains("bag-info.txt") {
        let info = String::from_utf8_lossy(&zip.read_small("bag-info.txt", SMALL_FILE)?).into_owned();
        let info = parse_bag_info(&info);
        if let Some((_, oxum)) = info.iter().find(|(k, _)| k == "Payload-Oxum") {
            let bytes: u64 = payload.values().map(|d| d.size).sum();
            let expected = format!("{bytes}.{}", payload.len());
            if oxum.trim() != expected {
                failures.push(format!(
                    "bag-info.txt : Payload-Oxum vaut {oxum}, le contenu fait {expected} (octets.fichiers)"
                ));
            }
        }
    }
    Ok(())
}

/// Every tag manifest's lines are true of the tag files.
fn check_tag_manifests(zip: &mut PackageZip, failures: &mut Vec<String>) -> Result<(), ZipRefused> {
    let tag_manifests: Vec<String> = zip
        .paths()
        .filter(|p| p.starts_with("tagmanifest-") && p.ends_with(".txt"))
        .map(str::to_owned)
        .collect();
    for name in &tag_manifests {
        let algorithm = name
            .trim_start_matches("tagmanifest-")
            .trim_end_matches(".txt")
            .to_owned();
        let Some(lines) = manifest_lines(zip, name, failures)? else {
            continue;
        };
        for (digest, file) in lines {
            if !zip.contains(&file) {
                failures.push(format!("{name} cite {file}, qui manque"));
                continue;
            }
            let bytes = zip.read_small(&file, SMALL_FILE)?;
            let actual = match algorithm.as_str() {
                "sha256" => hex::encode(sha2::Sha256::digest(&bytes)),
                "sha512" => hex::encode(sha2::Sha512::digest(&bytes)),
                _ => continue,
            };
            if actual != digest {
                failures.push(format!(
                    "{file} : son {algorithm} ne correspond pas à {name} (un fichier de description retouché)"
                ));
            }
        }
    }
    Ok(())
}

/// Where the SEDA manifest is: coffre writes `data/manifest.xml`; another
/// producer's bag may name it otherwise, directly under `data/`.
fn find_seda_manifest(
    zip: &mut PackageZip,
    payload: &BTreeMap<String, FileDigests>,
) -> Result<Option<String>, ZipRefused> {
    if zip.contains(MANIFEST_XML) {
        return Ok(Some(MANIFEST_XML.to_owned()));
    }
    let candidates: Vec<String> = payload
        .keys()
        .filter(|p| p.ends_with(".xml") && p.matches('/').count() == 1)
        .cloned()
        .collect();
    for candidate in candidates {
        let head = zip.read_small(&candidate, SMALL_FILE)?;
        if read_manifest(&head).is_ok() {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// The SEDA manifest's objects against the payload: each present, with the
/// digest and size the manifest gives.
fn check_seda_manifest(
    zip: &mut PackageZip,
    manifest_path: &str,
    payload: &BTreeMap<String, FileDigests>,
    failures: &mut Vec<String>,
) -> Result<Option<Manifest>, ZipRefused> {
    Ok(match read_manifest(&zip.read_small(manifest_path, SMALL_FILE)?) {
        Ok(m) => {
            for o in &m.objects {
                let file = format!("data/{}", o.uri);
                let Some(d) = payload.get(&file) else {
                    failures.push(format!("manifest.xml, objet {} : il désigne {file}, qui manque", o.id));
                    continue;
                };
                let actual = match o.algorithm.as_str() {
                    "SHA-512" => &d.sha512,
                    "SHA-256" => &d.sha256,
                    other => {
                        failures.push(format!(
                            "manifest.xml, objet {} : l'algorithme d'empreinte {other:?} n'est pas vérifié",
                            o.id
                        ));
                        continue;
                    }
                };
                if *actual != o.digest {
                    failures.push(format!(
                        "manifest.xml, objet {} : {file} a pour {} {actual}, le bordereau annonce {}",
                        o.id, o.algorithm, o.digest
                    ));
                }
                if o.size.is_some_and(|s| s != d.size) {
                    failures.push(format!(
                        "manifest.xml, objet {} : {file} fait {} octets, le bordereau annonce {:?}",
                        o.id, d.size, o.size
                    ));
                }
            }
            Some(m)
        }
        Err(e) => {
            failures.push(e);
            None
        }
    })
}

type Parsed = (Vec<Event>, Option<SealFile>);

/// A manifest's lines, or `None` with the problem noted.
fn manifest_lines(
    zip: &mut PackageZip,
    name: &str,
    failures: &mut Vec<String>,
) -> Result<Option<Vec<(String, String)>>, ZipRefused> {
    let text = String::from_utf8_lossy(&zip.read_small(name, SMALL_FILE)?).into_owned();
    Ok(match parse_manifest(&text, name) {
        Ok(lines) => Some(lines),
        Err(e) => {
            failures.push(e);
            None
        }
    })
}

fn check_journal(
    zip: &mut PackageZip,
    trusted_key: Option<&TrustedKey>,
    payload: &BTreeMap<String, FileDigests>,
    manifest: Option<&Manifest>,
) -> Result<(Vec<String>, Parsed), ZipRefused> {
    let mut failures = Vec::new();
    let seal: Option<SealFile> = match serde_json::from_slice(&zip.read_small(SEAL_JSON, SMALL_FILE)?) {
        Ok(s) => Some(s),
        Err(e) => {
            failures.push(format!("{SEAL_JSON}: {e}"));
            None
        }
    };
    if let Some(s) = &seal {
        // The key trusted (the auditor's, else the one the package names)
        // vouches for the seal's key through the chain of rotations.
        let own = TrustedKey::alone(&s.public_key);
        failures.extend(crate::domain::seal::key_not_vouched(
            &s.seal.public_key,
            trusted_key.unwrap_or(&own),
            &s.archive,
            &s.key_chain,
        ));
        let statement = SealStatement::new(s.archive.clone(), s.seal.tree_size, s.seal.root, s.seal.sealed_at);
        if let Err(e) = verify_seal(&statement, &s.seal.public_key, &s.seal.signature) {
            failures.push(format!(
                "la signature du sceau ne tient pas : {e} (un sceau forgé ou modifié)"
            ));
        }
    }
    let proofs: Vec<EventProof> = match zip.contains(PROOFS_JSON) {
        true => match serde_json::from_slice(&zip.read_small(PROOFS_JSON, SMALL_FILE)?) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{PROOFS_JSON}: {e}"));
                Vec::new()
            }
        },
        false => {
            failures.push(format!("le sac a un sceau mais pas de {PROOFS_JSON}"));
            Vec::new()
        }
    };
    let proofs: BTreeMap<u64, &EventProof> = proofs.iter().map(|p| (p.seq, p)).collect();
    let text = zip.read_small(EVENTS_JSONL, SMALL_FILE).unwrap_or_else(|e| {
        failures.push(e.to_string());
        Vec::new()
    });
    let mut events: Vec<Event> = Vec::new();
    let mut proven: BTreeSet<u64> = BTreeSet::new();
    for (n, line) in text.split(|b| *b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let event = match Event::from_line(line) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{EVENTS_JSONL}, ligne {} : {e} (un événement retouché)", n + 1));
                continue;
            }
        };
        match (&seal, proofs.get(&event.seq)) {
            (Some(s), Some(p)) => {
                let leaf = merkle::leaf_hash(line);
                if event.seq > s.seal.tree_size
                    || !merkle::verify_inclusion(&leaf, event.seq - 1, s.seal.tree_size, &p.proof, &s.seal.root)
                {
                    failures.push(format!(
                        "l'événement n° {} n'est pas prouvé par sa preuve d'inclusion dans le sceau (un événement retouché, ou la preuve d'un autre)",
                        event.seq
                    ));
                } else {
                    proven.insert(event.seq);
                }
            }
            (Some(_), None) => failures.push(format!("l'événement n° {} n'a pas de preuve d'inclusion", event.seq)),
            (None, _) => {}
        }
        events.push(event);
    }
    events.sort_by_key(|e| e.seq);
    for pair in events.windows(2) {
        if pair[1].seq == pair[0].seq + 1 && pair[1].prev_hash != pair[0].hash {
            failures.push(format!(
                "l'événement n° {} ne suit pas l'événement n° {}",
                pair[1].seq, pair[0].seq
            ));
        }
        if pair[1].seq == pair[0].seq {
            failures.push(format!("l'événement n° {} figure deux fois", pair[0].seq));
        }
    }

    // Every file of every record named by one of its proven events.
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in events.iter().filter(|e| proven.contains(&e.seq)) {
        match e.body() {
            Ok(EventBody::RecordIngested {
                record,
                version,
                metadata,
                ..
            })
            | Ok(EventBody::VersionAdded {
                record,
                version,
                metadata,
            }) => {
                let set = named.entry(record.to_string()).or_default();
                set.insert(version.sha256.hex());
                set.insert(metadata.hex());
            }
            Ok(EventBody::RecordUpdated { record, now, .. }) | Ok(EventBody::RecordVerified { record, now, .. }) => {
                named.entry(record.to_string()).or_default().insert(now.metadata.hex());
            }
            Ok(EventBody::RecordRead {
                record,
                metadata: Some(metadata),
                ..
            }) => {
                named.entry(record.to_string()).or_default().insert(metadata.hex());
            }
            _ => {}
        }
    }
    if let Some(m) = manifest {
        for unit in &m.units {
            let Some(record) = unit.identifiers.first() else {
                continue;
            };
            for o in super::seda::objects_of(m, unit) {
                let file = format!("data/{}", o.uri);
                if let Some(d) = payload.get(&file)
                    && !named.get(record).is_some_and(|s| s.contains(&d.sha256))
                {
                    failures.push(format!(
                        "{file} (document {record}) n'est nommé par aucun événement prouvé de ce document"
                    ));
                }
            }
        }
    }
    for (file, d) in payload.iter().filter(|(p, _)| p.starts_with(METADATA_DIR)) {
        let record = file.trim_start_matches(METADATA_DIR).trim_end_matches(".json");
        if !named.get(record).is_some_and(|s| s.contains(&d.sha256)) {
            failures.push(format!(
                "{file} n'est la fiche de métadonnées d'aucun événement prouvé du document {record}"
            ));
        }
    }
    Ok((failures, (events, seal)))
}
