//! Importing a package: a coffre package, or any BagIt bag with a SEDA 2.x
//! manifest. The package is checked first (`package::verify`: the zip's
//! names and sizes, the bag, the SEDA digests, the sealed journal when
//! there is one); then every record is mapped to a node of the plan and
//! checked as a deposit would be; only when all of that holds are the
//! records deposited, their content streamed from the zip into the blob
//! store's staging area (nothing is ever unpacked elsewhere), each keeping
//! its identifiers from the package as aliases. Any failure before that
//! refuses the package whole, and nothing is written.

use super::{Actor, Archive, ArchiveError, Deposit, Upload};
use crate::domain::record::{DescriptiveMetadata, Reference};
use crate::domain::role::Permission;
use crate::package::METADATA_DIR;
use crate::package::seda::{ManifestObject, ManifestUnit, objects_of};
use crate::package::unzip::ZipLimits;
use crate::package::verify::verify_package;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where the records of a package go, when its manifest's plan positions
/// are not nodes of this plan (`schemas/import-mapping.schema.json`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportMapping {
    /// The node for records nothing else places.
    #[serde(default)]
    pub default: Option<String>,
    /// The package's plan positions (FilePlanPosition) → nodes here.
    #[serde(default)]
    pub nodes: BTreeMap<String, String>,
    /// The package's record identifiers → nodes here (wins over `nodes`).
    #[serde(default)]
    pub records: BTreeMap<String, String>,
}

impl ImportMapping {
    /// Reads a mapping file (TOML).
    pub fn parse(text: &str) -> Result<Self, ArchiveError> {
        toml_edit::de::from_str(text).map_err(|e| {
            ArchiveError::PackageRefused(vec![format!("the mapping file is not valid: {}", e.to_string().trim())])
        })
    }
}

/// A record an import made.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedRecord {
    /// Its identifiers in the package.
    pub from: Vec<String>,
    /// Its reference here.
    pub reference: String,
    /// Its id here.
    pub id: String,
    /// Its node here.
    pub node: String,
    /// Versions deposited.
    pub versions: usize,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    /// The package's identifier.
    pub package: String,
    /// Whether the package carried a sealed journal (checked).
    pub sealed: bool,
    /// The records, in the manifest's order.
    pub records: Vec<ImportedRecord>,
}

/// One record, checked and ready to deposit.
struct Planned {
    unit: ManifestUnit,
    objects: Vec<ManifestObject>,
    deposit: Deposit,
    aliases: Vec<Reference>,
    filenames: Vec<Option<String>>,
}

fn version_number(o: &ManifestObject) -> u32 {
    o.version
        .as_deref()
        .and_then(|v| v.rsplit('_').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(1)
}

impl Archive {
    /// Imports a package (see the module's documentation). `dry_run`:
    /// checks everything and deposits nothing.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn import_package(
        &self,
        actor: &Actor,
        path: &Path,
        mapping: Option<&ImportMapping>,
        dry_run: bool,
    ) -> Result<ImportSummary, ArchiveError> {
        actor.require(Permission::ManageRecords, "import packages")?;
        let mut checked = verify_package(path, ZipLimits::default(), None)
            .map_err(|e| ArchiveError::PackageRefused(vec![e.to_string()]))?;
        if !checked.passed() {
            return Err(ArchiveError::PackageRefused(checked.failures));
        }
        let Some(manifest) = checked.manifest.clone() else {
            return Err(ArchiveError::PackageRefused(vec![
                "the package has no readable SEDA manifest".into(),
            ]));
        };
        let package = manifest.message_id.clone().unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let plan = self.plan_in_force()?;
        let mapping = mapping.cloned().unwrap_or_default();
        let mut failures = Vec::new();
        let mut planned = Vec::new();
        let mut seen_identifiers = BTreeSet::new();
        if manifest.units.is_empty() {
            failures.push("the manifest describes no archive unit with content".to_owned());
        }
        for unit in &manifest.units {
            let who = unit
                .identifiers
                .iter()
                .rev()
                .find(|i| !i.is_empty())
                .cloned()
                .unwrap_or_else(|| unit.title.clone());
            let mut objects: Vec<ManifestObject> = objects_of(&manifest, unit).into_iter().cloned().collect();
            objects.sort_by_key(version_number);
            if objects.is_empty() {
                failures.push(format!("{who}: no binary object"));
                continue;
            }
            // Its node: the mapping for this record, then for its plan
            // positions (innermost first), then those positions as they are,
            // then the mapping's default.
            let node = unit
                .identifiers
                .iter()
                .find_map(|i| mapping.records.get(i).cloned())
                .or_else(|| {
                    unit.plan_positions
                        .iter()
                        .rev()
                        .find_map(|p| mapping.nodes.get(p).cloned())
                })
                .or_else(|| {
                    unit.plan_positions
                        .iter()
                        .rev()
                        .find(|p| {
                            crate::domain::record::NodeCode::parse(p).is_ok_and(|code| plan.plan.node(&code).is_some())
                        })
                        .cloned()
                })
                .or_else(|| mapping.default.clone());
            let Some(node) = node else {
                failures.push(format!(
                    "{who}: no node for it (plan positions {:?}); name one in a mapping file",
                    unit.plan_positions
                ));
                continue;
            };
            // A coffre package carries the record's metadata document.
            let metadata: Option<DescriptiveMetadata> = match unit.identifiers.first() {
                Some(id) => {
                    let file = format!("{METADATA_DIR}{id}.json");
                    if checked.zip.contains(&file) {
                        let bytes = checked
                            .zip
                            .read_small(&file, 16 << 20)
                            .map_err(|e| ArchiveError::PackageRefused(vec![e.to_string()]))?;
                        match serde_json::from_slice(&bytes) {
                            Ok(doc) => Some(doc),
                            Err(e) => {
                                failures.push(format!("{file}: {e}"));
                                None
                            }
                        }
                    } else {
                        None
                    }
                }
                None => None,
            };
            let mut fields = metadata.as_ref().map(|m| m.fields.clone()).unwrap_or_default();
            if metadata.is_none()
                && let Some(description) = &unit.description
            {
                fields.insert("description".into(), description.clone());
            }
            let filenames: Vec<Option<String>> = objects
                .iter()
                .enumerate()
                .map(|(i, o)| {
                    metadata
                        .as_ref()
                        .and_then(|m| m.filenames.get(i).cloned().flatten())
                        .or_else(|| o.filename.clone())
                })
                .collect();
            let title = metadata
                .as_ref()
                .map(|m| m.title.clone())
                .filter(|t| !t.trim().is_empty())
                .or_else(|| Some(unit.title.clone()).filter(|t| !t.trim().is_empty()));
            let deposit = Deposit {
                node,
                title,
                date: unit.start_date.map(|d| d.to_string()),
                service: unit.service.clone(),
                document_type: unit.document_type.clone(),
                fields,
            };
            if let Err(e) = self.check_only(actor, deposit.clone(), filenames.first().cloned().flatten()) {
                failures.push(format!("{who}: {e}"));
                continue;
            }
            let mut aliases = Vec::new();
            for identifier in unit.identifiers.iter().filter(|i| !i.trim().is_empty()) {
                if !seen_identifiers.insert(identifier.clone()) {
                    failures.push(format!(
                        "{who}: identifier {identifier:?} names two records of the package"
                    ));
                    continue;
                }
                let alias = Reference::from_naming(identifier.clone());
                if self.catalog.record_id(&alias)?.is_some() {
                    failures.push(format!(
                        "{who}: identifier {identifier:?} already finds a record here (was the package imported before?)"
                    ));
                    continue;
                }
                aliases.push(alias);
            }
            planned.push(Planned {
                unit: unit.clone(),
                objects,
                deposit,
                aliases,
                filenames,
            });
        }
        if !failures.is_empty() {
            return Err(ArchiveError::PackageRefused(failures));
        }
        let mut summary = ImportSummary {
            package: package.clone(),
            sealed: checked.sealed,
            records: Vec::with_capacity(planned.len()),
        };
        if dry_run {
            return Ok(summary);
        }
        for p in planned {
            let mut record = None;
            for (i, object) in p.objects.iter().enumerate() {
                let file = format!("data/{}", object.uri);
                let mut reader = checked
                    .zip
                    .reader(&file)
                    .map_err(|e| ArchiveError::PackageRefused(vec![e.to_string()]))?;
                let staged = self.stage(&mut reader)?;
                drop(reader);
                let expected = checked.payload.get(&file).map(|d| d.sha256.clone()).unwrap_or_default();
                if staged.sha256().hex() != expected {
                    return Err(ArchiveError::PackageRefused(vec![format!(
                        "{file} changed while it was imported"
                    )]));
                }
                let upload = Upload {
                    staged,
                    filename: p.filenames.get(i).cloned().flatten(),
                };
                record = Some(match &record {
                    None => self.ingest_from(
                        actor,
                        p.deposit.clone(),
                        upload,
                        Some((package.clone(), p.aliases.clone())),
                    )?,
                    Some(r) => {
                        let r: &crate::domain::record::Record = r;
                        self.add_version(actor, &r.id.to_string(), upload)?
                    }
                });
            }
            if let Some(r) = record {
                tracing::info!(reference = %r.reference, from = ?p.unit.identifiers, "record imported");
                summary.records.push(ImportedRecord {
                    from: p.unit.identifiers.clone(),
                    reference: r.reference.to_string(),
                    id: r.id.to_string(),
                    node: r.node.to_string(),
                    versions: r.versions.len(),
                });
            }
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapping_file_follows_its_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(include_str!("../../schemas/import-mapping.schema.json")).unwrap_or_default();
        let validator = jsonschema::validator_for(&schema);
        assert!(validator.is_ok());
        let text =
            "default = \"ADM\"\n[nodes]\nCOMPTA-FACT = \"FIN-FAC\"\n[records]\n\"REF-2019-0042\" = \"ADM-ARR\"\n";
        let mapping = ImportMapping::parse(text);
        assert!(mapping.is_ok(), "{mapping:?}");
        let mapping = mapping.unwrap_or_default();
        assert_eq!(mapping.default.as_deref(), Some("ADM"));
        assert_eq!(mapping.nodes.get("COMPTA-FACT").map(String::as_str), Some("FIN-FAC"));
        let as_json = serde_json::to_value(&mapping).unwrap_or_default();
        if let Ok(validator) = validator {
            assert!(validator.is_valid(&as_json), "{as_json}");
        }
        assert!(ImportMapping::parse("nodes = 3\n").is_err());
        assert!(ImportMapping::parse("unknown = \"x\"\n").is_err());
    }
}
