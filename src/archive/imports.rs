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
use crate::package::seda::{Manifest, ManifestObject, ManifestUnit, objects_of};
use crate::package::unzip::ZipLimits;
use crate::package::verify::{CheckedPackage, verify_package};
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
            ArchiveError::PackageRefused(vec![format!(
                "le fichier de correspondance n'est pas valide : {}",
                e.to_string().trim()
            )])
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

/// A package whose every check passed, with its SEDA manifest.
struct VerifiedPackage {
    checked: CheckedPackage,
    manifest: Manifest,
    /// Its identifier: the manifest's message id, or the file's name.
    name: String,
}

impl VerifiedPackage {
    /// What an import of it says, with the records deposited.
    fn summary(self, records: Vec<ImportedRecord>) -> ImportSummary {
        ImportSummary {
            package: self.name,
            sealed: self.checked.sealed,
            records,
        }
    }
}

impl Archive {
    /// Checks a package as `import_package` does, record by record against
    /// the plan in force, and deposits nothing.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn check_import(
        &self,
        actor: &Actor,
        path: &Path,
        mapping: Option<&ImportMapping>,
    ) -> Result<ImportSummary, ArchiveError> {
        let (package, planned) = self.prepare_import(actor, path, mapping)?;
        // What would be imported: each record with its node here (its
        // reference is given when it is deposited).
        let records = planned
            .iter()
            .map(|p| ImportedRecord {
                from: p.unit.identifiers.clone(),
                reference: String::new(),
                id: String::new(),
                node: p.deposit.node.clone().unwrap_or_default(),
                versions: p.objects.len(),
            })
            .collect();
        Ok(package.summary(records))
    }

    /// Imports a package (see the module's documentation): every check
    /// first, then every record deposited.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn import_package(
        &self,
        actor: &Actor,
        path: &Path,
        mapping: Option<&ImportMapping>,
    ) -> Result<ImportSummary, ArchiveError> {
        let (mut package, planned) = self.prepare_import(actor, path, mapping)?;
        let mut records = Vec::with_capacity(planned.len());
        for p in planned {
            records.extend(self.deposit_planned(actor, &mut package, p)?);
        }
        Ok(package.summary(records))
    }

    /// Every check an import makes before depositing anything: the package,
    /// then each of its records as a deposit.
    fn prepare_import(
        &self,
        actor: &Actor,
        path: &Path,
        mapping: Option<&ImportMapping>,
    ) -> Result<(VerifiedPackage, Vec<Planned>), ArchiveError> {
        actor.require(Permission::ManageRecords, "importer des paquets")?;
        let mut package = verified(path)?;
        let planned = self.plan_import(actor, &mut package, &mapping.cloned().unwrap_or_default())?;
        Ok((package, planned))
    }

    /// Maps every archive unit of the package to a deposit checked against
    /// the plan in force; refuses the whole package with every problem.
    fn plan_import(
        &self,
        actor: &Actor,
        package: &mut VerifiedPackage,
        mapping: &ImportMapping,
    ) -> Result<Vec<Planned>, ArchiveError> {
        let plan = self.plan_in_force()?;
        let manifest = package.manifest.clone();
        let mut failures = Vec::new();
        let mut planned = Vec::new();
        let mut seen_identifiers = BTreeSet::new();
        if manifest.units.is_empty() {
            failures.push("le bordereau ne décrit aucune unité d'archives avec un contenu".to_owned());
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
                failures.push(format!("{who} : aucun objet binaire"));
                continue;
            }
            let Some(node) = node_for(unit, mapping, &plan.plan) else {
                failures.push(format!(
                    "{who} : aucun nœud ne lui correspond ici (positions dans le plan : {:?}) ; nommez-en un dans un fichier de correspondance",
                    unit.plan_positions
                ));
                continue;
            };
            let metadata = metadata_of(&mut package.checked, unit, &mut failures)?;
            let deposit = deposit_of(unit, node, metadata.as_ref());
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
            if let Err(e) = self.check_as_given(actor, deposit.clone(), filenames.first().cloned().flatten()) {
                failures.push(format!("{who} : {e}"));
                continue;
            }
            // Every version's name is checked before anything is written.
            let later_names: Vec<String> = filenames
                .iter()
                .skip(1)
                .filter_map(|name| super::records::check_filename(name.clone()).err())
                .map(|e| format!("{who} : {e}"))
                .collect();
            if !later_names.is_empty() {
                failures.extend(later_names);
                continue;
            }
            let aliases = self.aliases_of(unit, &who, &mut seen_identifiers, &mut failures)?;
            planned.push(Planned {
                unit: unit.clone(),
                objects,
                deposit,
                aliases,
                filenames,
            });
        }
        if failures.is_empty() {
            Ok(planned)
        } else {
            Err(ArchiveError::PackageRefused(failures))
        }
    }

    /// The unit's identifiers as aliases of the new record: each named by
    /// one unit only, and finding no record here yet (else the package was
    /// imported before).
    fn aliases_of(
        &self,
        unit: &ManifestUnit,
        who: &str,
        seen: &mut BTreeSet<String>,
        failures: &mut Vec<String>,
    ) -> Result<Vec<Reference>, ArchiveError> {
        let mut aliases = Vec::new();
        for identifier in unit.identifiers.iter().filter(|i| !i.trim().is_empty()) {
            if !seen.insert(identifier.clone()) {
                failures.push(format!(
                    "{who} : l'identifiant « {identifier} » désigne deux documents du paquet"
                ));
                continue;
            }
            let alias = Reference::from_naming(identifier.clone());
            if self.catalog.record_id(&alias)?.is_some() {
                failures.push(format!(
                    "{who} : l'identifiant « {identifier} » désigne déjà un document d'ici (le paquet a-t-il déjà été importé ?)"
                ));
                continue;
            }
            aliases.push(alias);
        }
        Ok(aliases)
    }

    /// Deposits one planned record: its first object as the record, the
    /// others as versions, each streamed from the zip into the staging area.
    fn deposit_planned(
        &self,
        actor: &Actor,
        package: &mut VerifiedPackage,
        p: Planned,
    ) -> Result<Option<ImportedRecord>, ArchiveError> {
        let mut record: Option<crate::domain::record::Record> = None;
        for (i, object) in p.objects.iter().enumerate() {
            let file = format!("data/{}", object.uri);
            let mut reader = package
                .checked
                .zip
                .reader(&file)
                .map_err(|e| ArchiveError::PackageRefused(vec![e.to_string()]))?;
            let staged = self.stage(&mut reader)?;
            drop(reader);
            let expected = package
                .checked
                .payload
                .get(&file)
                .map(|d| d.sha256.clone())
                .unwrap_or_default();
            if staged.sha256().hex() != expected {
                return Err(ArchiveError::PackageRefused(vec![format!(
                    "{file} a changé pendant son import"
                )]));
            }
            let upload = Upload {
                staged,
                filename: p.filenames.get(i).cloned().flatten(),
            };
            record = Some(match &record {
                None => {
                    self.ingest_from(
                        actor,
                        p.deposit.clone(),
                        upload,
                        Some((package.name.clone(), p.aliases.clone())),
                        None,
                    )?
                    .0
                }
                Some(r) => self.add_version(actor, &r.id.to_string(), upload)?,
            });
        }
        Ok(record.map(|r| {
            tracing::info!(reference = %r.reference, from = ?p.unit.identifiers, "record imported");
            ImportedRecord {
                from: p.unit.identifiers.clone(),
                reference: r.reference.to_string(),
                id: r.id.to_string(),
                node: r.node.to_string(),
                versions: r.versions.len(),
            }
        }))
    }
}

/// Opens and checks a package; refuses it unless every check passed and
/// its SEDA manifest could be read.
fn verified(path: &Path) -> Result<VerifiedPackage, ArchiveError> {
    let checked = verify_package(path, ZipLimits::default(), None)
        .map_err(|e| ArchiveError::PackageRefused(vec![e.to_string()]))?;
    if !checked.passed() {
        return Err(ArchiveError::PackageRefused(checked.failures));
    }
    let Some(manifest) = checked.manifest.clone() else {
        return Err(ArchiveError::PackageRefused(vec![
            "the package has no readable SEDA manifest".into(),
        ]));
    };
    let name = manifest.message_id.clone().unwrap_or_else(|| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    Ok(VerifiedPackage {
        checked,
        manifest,
        name,
    })
}

/// A unit's node: the mapping for this record, then for its plan positions
/// (innermost first), then those positions as they are, then the mapping's
/// default.
fn node_for(unit: &ManifestUnit, mapping: &ImportMapping, plan: &crate::domain::plan::Plan) -> Option<String> {
    unit.identifiers
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
                .find(|p| crate::domain::record::NodeCode::parse(p).is_ok_and(|code| plan.node(&code).is_some()))
                .cloned()
        })
        .or_else(|| mapping.default.clone())
}

/// A coffre package carries each record's metadata document; another
/// producer's does not (`None`). One that does not decode is a failure.
fn metadata_of(
    checked: &mut CheckedPackage,
    unit: &ManifestUnit,
    failures: &mut Vec<String>,
) -> Result<Option<DescriptiveMetadata>, ArchiveError> {
    let Some(id) = unit.identifiers.first() else {
        return Ok(None);
    };
    let file = format!("{METADATA_DIR}{id}.json");
    if !checked.zip.contains(&file) {
        return Ok(None);
    }
    let bytes = checked
        .zip
        .read_small(&file, 16 << 20)
        .map_err(|e| ArchiveError::PackageRefused(vec![e.to_string()]))?;
    Ok(match serde_json::from_slice(&bytes) {
        Ok(doc) => Some(doc),
        Err(e) => {
            failures.push(format!("{file} : {e}"));
            None
        }
    })
}

/// The deposit a unit becomes: its title, fields and date from the metadata
/// document when there is one, else from the manifest.
fn deposit_of(unit: &ManifestUnit, node: String, metadata: Option<&DescriptiveMetadata>) -> Deposit {
    let mut fields = metadata.map(|m| m.fields.clone()).unwrap_or_default();
    if metadata.is_none()
        && let Some(description) = &unit.description
    {
        fields.insert("description".into(), description.clone());
    }
    let title = metadata
        .map(|m| m.title.clone())
        .filter(|t| !t.trim().is_empty())
        .or_else(|| Some(unit.title.clone()).filter(|t| !t.trim().is_empty()));
    Deposit {
        node: Some(node),
        title,
        date: unit.start_date.map(|d| d.to_string()),
        service: unit.service.clone(),
        document_type: unit.document_type.clone(),
        fields,
        links: Vec::new(),
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

/// What checking a package found, for people (nothing imported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageCheck {
    /// Every failure; none: the package holds.
    pub failures: Vec<String>,
    /// Payload files checked.
    pub files: usize,
    /// Journal events checked.
    pub events_checked: usize,
    /// Whether it carries a sealed journal.
    pub sealed: bool,
}

impl Archive {
    /// Checks a package as `coffre verify-package` does, nothing imported:
    /// its seal with this archive's own key when `own_key`, else with the
    /// key the package names. A zip refused outright is one failure.
    pub fn check_package_file(&self, actor: &Actor, path: &Path, own_key: bool) -> Result<PackageCheck, ArchiveError> {
        actor.require(Permission::Audit, "lancer des contrôles d'intégrité")?;
        let key = if own_key { Some(self.trusted_key()?) } else { None };
        Ok(match verify_package(path, ZipLimits::default(), key.as_ref()) {
            Ok(checked) => PackageCheck {
                failures: checked.failures,
                files: checked.files,
                events_checked: checked.events_checked,
                sealed: checked.sealed,
            },
            Err(refused) => PackageCheck {
                failures: vec![format!("le paquet est refusé d'emblée : {refused}")],
                files: 0,
                events_checked: 0,
                sealed: false,
            },
        })
    }

    /// Checks an accusé de dépôt (JSON or its HTML page) with this
    /// archive's own key when `own_key`: the attestation read, and every
    /// failure (none: it holds). Unreadable bytes are one failure.
    pub fn check_attestation_bytes(
        &self,
        actor: &Actor,
        bytes: &[u8],
        own_key: bool,
    ) -> Result<(Option<super::seals::Attestation>, Vec<String>), ArchiveError> {
        actor.require(Permission::Audit, "lancer des contrôles d'intégrité")?;
        let key = if own_key { Some(self.trusted_key()?) } else { None };
        Ok(match super::seals::read_attestation(bytes) {
            Ok(attestation) => {
                let failures = super::seals::check_attestation(&attestation, key.as_ref());
                (Some(attestation), failures)
            }
            Err(why) => (None, vec![why]),
        })
    }
}
