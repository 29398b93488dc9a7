//! The verification queue: records whose description a person should
//! confirm or correct before it is trusted, as capture tools keep one. A
//! record waits there when a classification rule chose its node from its
//! name or its text (not from structured data), or when the fields read
//! from its text (the LAD, `domain::reading`) are doubtful or missing. An
//! agent confirms or corrects each field; what was read and what was kept
//! are journaled side by side, so that the fields read right and those
//! corrected can be counted, by field and by supplier ("which indexation
//! was given, which errors were found").

use super::reading::{InvoiceReading, TRUSTED};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a record waits for verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VerifyReason {
    /// A classification rule chose its node from its name or its text.
    Classification {
        /// The rule's name.
        rule: String,
    },
    /// Fields read from its text are doubtful or missing.
    Reading {
        /// Those fields.
        fields: Vec<String>,
    },
}

/// One field read from a record's text, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadValue {
    /// The field's name.
    pub name: String,
    /// Its value, normalised.
    pub value: String,
    /// How sure the reading is, in percent.
    pub confidence: u8,
    /// Why it is doubtful, in French, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doubt: Option<String>,
}

impl ReadValue {
    /// Whether it can be kept without a person looking at it.
    pub fn trusted(&self) -> bool {
        f32::from(self.confidence) >= TRUSTED * 100.0
    }
}

/// What was read of a record's latest version, as the catalog keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordReading {
    /// The version read.
    pub version: u32,
    /// The fields read.
    pub fields: Vec<ReadValue>,
    /// The fields every invoice has that were not found.
    #[serde(default)]
    pub missing: Vec<String>,
    /// When.
    pub at: DateTime<Utc>,
    /// The supplier whose template read it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

impl RecordReading {
    /// A field as read.
    pub fn field(&self, name: &str) -> Option<&ReadValue> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// A record waiting in the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToVerify {
    /// Since when.
    pub since: DateTime<Utc>,
    /// Why (one or both reasons).
    pub reasons: Vec<VerifyReason>,
}

/// What a person said of one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedField {
    /// The field.
    pub name: String,
    /// Its value as read (none: not found).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read: Option<String>,
    /// Its value as kept (none: left empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept: Option<String>,
}

impl CheckedField {
    /// Whether the person changed what was read.
    pub fn corrected(&self) -> bool {
        self.read != self.kept
    }
}

/// The node a rule chose, and the node a person kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckedNode {
    /// The rule that chose it.
    pub rule: String,
    /// The node it chose.
    pub proposed: String,
    /// The node kept.
    pub kept: String,
}

/// Fields checked and fields corrected, for one field (and one supplier).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CheckCounts {
    /// Checked by a person.
    pub checked: u64,
    /// Of which corrected.
    pub corrected: u64,
}

/// The key of a count: a field (`noeud` for the classification), overall
/// or for one supplier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CheckKey {
    /// The supplier (none: every supplier).
    pub supplier: Option<String>,
    /// The field.
    pub field: String,
}

/// The name counts give the classification among fields.
pub const NODE_FIELD: &str = "noeud";

/// The counts one verification adds: each field overall and for its
/// supplier (when known), the node when a rule had chosen it.
pub fn counts_of(
    checked: &[CheckedField],
    node: Option<&CheckedNode>,
    supplier: Option<&str>,
) -> Vec<(CheckKey, CheckCounts)> {
    let mut out: BTreeMap<CheckKey, CheckCounts> = BTreeMap::new();
    let node_check = node.map(|n| (NODE_FIELD, n.proposed != n.kept));
    let fields = checked
        .iter()
        .map(|c| (c.name.as_str(), c.corrected()))
        .chain(node_check);
    for (field, corrected) in fields {
        let suppliers = std::iter::once(None).chain(supplier.map(|s| Some(s.to_owned())));
        for supplier in suppliers {
            let count = out
                .entry(CheckKey {
                    supplier,
                    field: field.to_owned(),
                })
                .or_default();
            count.checked += 1;
            count.corrected += u64::from(corrected);
        }
    }
    out.into_iter().collect()
}

/// The fields of a reading that a record lacks and that can be kept
/// without a person: read with confidence, among `defined` (the fields the
/// record's node defines, each with the check of its type).
pub fn fields_to_keep(
    reading: &[ReadValue],
    present: &BTreeMap<String, String>,
    fits: impl Fn(&str, &str) -> bool,
) -> BTreeMap<String, String> {
    reading
        .iter()
        .filter(|f| f.trusted() && !present.contains_key(&f.name) && fits(&f.name, &f.value))
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect()
}

/// The fields a person should look at: read with doubt or not found, among
/// those the record does not have yet. The supplier's name does not count
/// when a SIRET whose key holds names the supplier surely.
pub fn doubtful_fields(reading: &InvoiceReading, present: &BTreeMap<String, String>) -> Vec<String> {
    let identified = present.contains_key("siret") || reading.field("siret").is_some_and(|f| f.confidence >= TRUSTED);
    let doubtful = reading
        .fields
        .iter()
        .filter(|f| f.confidence < TRUSTED && !(identified && f.name == "fournisseur"))
        .map(|f| f.name);
    let missing = reading.missing.iter().copied();
    let mut out: Vec<String> = doubtful
        .chain(missing)
        .filter(|name| !present.contains_key(*name))
        .map(str::to_owned)
        .collect();
    out.dedup();
    out
}

/// A reading as journaled: confidences in percent.
pub fn read_values(reading: &InvoiceReading) -> Vec<ReadValue> {
    reading
        .fields
        .iter()
        .map(|f| ReadValue {
            name: f.name.to_owned(),
            value: f.value.clone(),
            confidence: (f.confidence.clamp(0.0, 1.0) * 100.0).round() as u8,
            doubt: f.doubt.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::reading::ReadField;

    fn read(name: &'static str, value: &str, confidence: f32) -> ReadField {
        ReadField {
            name,
            value: value.into(),
            confidence,
            doubt: (confidence < TRUSTED).then(|| "douteux".into()),
        }
    }

    fn reading() -> InvoiceReading {
        InvoiceReading {
            fields: vec![
                read("fournisseur", "Papeterie Dupont", 0.6),
                read("siret", "73282932000074", 0.95),
                read("numero_facture", "FA-1", 0.9),
                read("montant_ttc", "1280.00", 0.4),
            ],
            missing: vec!["date_facture"],
            template: None,
        }
    }

    #[test]
    fn doubtful_fields_are_those_read_with_doubt_or_missing_that_the_record_lacks() {
        let none = BTreeMap::new();
        assert_eq!(doubtful_fields(&reading(), &none), ["montant_ttc", "date_facture"]);
        let given = BTreeMap::from([("montant_ttc".to_owned(), "1200.00".to_owned())]);
        assert_eq!(doubtful_fields(&reading(), &given), ["date_facture"]);
        let mut no_siret = reading();
        no_siret.fields.retain(|f| f.name != "siret");
        assert_eq!(
            doubtful_fields(&no_siret, &none),
            ["fournisseur", "montant_ttc", "date_facture"]
        );
    }

    #[test]
    fn only_trusted_fields_the_record_lacks_and_its_node_takes_are_kept() {
        let values = read_values(&reading());
        assert_eq!(values[1].confidence, 95);
        let present = BTreeMap::from([("numero_facture".to_owned(), "FA-1".to_owned())]);
        let kept = fields_to_keep(&values, &present, |name, _| name != "iban");
        assert_eq!(
            kept,
            BTreeMap::from([("siret".to_owned(), "73282932000074".to_owned())])
        );
        let refused = fields_to_keep(&values, &BTreeMap::new(), |name, _| name != "siret");
        assert_eq!(
            refused,
            BTreeMap::from([("numero_facture".to_owned(), "FA-1".to_owned())])
        );
    }

    #[test]
    fn counts_add_each_field_overall_and_for_its_supplier() {
        let checked = [
            CheckedField {
                name: "montant_ttc".into(),
                read: Some("1280.00".into()),
                kept: Some("1200.00".into()),
            },
            CheckedField {
                name: "numero_facture".into(),
                read: Some("FA-1".into()),
                kept: Some("FA-1".into()),
            },
        ];
        let node = CheckedNode {
            rule: "Factures (texte)".into(),
            proposed: "FIN-FAC".into(),
            kept: "FIN-MAN".into(),
        };
        let counts = counts_of(&checked, Some(&node), Some("Dupont"));
        let find = |supplier: Option<&str>, field: &str| {
            counts
                .iter()
                .find(|(k, _)| k.supplier.as_deref() == supplier && k.field == field)
                .map(|(_, c)| *c)
        };
        assert_eq!(
            find(None, "montant_ttc"),
            Some(CheckCounts {
                checked: 1,
                corrected: 1
            })
        );
        assert_eq!(
            find(Some("Dupont"), "numero_facture"),
            Some(CheckCounts {
                checked: 1,
                corrected: 0
            })
        );
        assert_eq!(find(None, NODE_FIELD).map(|c| c.corrected), Some(1));
        assert_eq!(counts.len(), 6);
    }
}
