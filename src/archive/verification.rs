//! The verification queue (`domain::verification`): listing the records
//! that wait, oldest deposit first; a person's verification of one,
//! checked against the plan like a change of description and journaled
//! with each field as read and as kept (`record.verified`); the counts of
//! fields checked and corrected, by field and by supplier.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::plan::Access;
use crate::domain::record::{Record, RecordId};
use crate::domain::role::Permission;
use crate::domain::verification::{CheckCounts, CheckKey, CheckedField, CheckedNode, VerifyReason};
use std::collections::{BTreeMap, BTreeSet};

/// The most records one page of the queue lists.
pub const QUEUE_PAGE_MAX: usize = 500;

/// Records read from the catalog's queue at a time while filtering out
/// those the caller may not verify.
const QUEUE_SCAN: usize = 1_000;

/// One page of the queue.
#[derive(Debug, Clone)]
pub struct QueuePage {
    /// The records, oldest deposit first.
    pub records: Vec<Record>,
    /// Where the next page starts (the last record's id), when there is one.
    pub next: Option<String>,
    /// Records waiting in the whole archive (the caller may see fewer).
    pub waiting: u64,
}

/// The queue's length and what people checked.
#[derive(Debug, Clone)]
pub struct VerificationCounts {
    /// Records waiting.
    pub waiting: u64,
    /// Fields checked and corrected, by field (supplier `None`) and by
    /// supplier and field.
    pub counts: Vec<(CheckKey, CheckCounts)>,
}

/// What a person says of a record waiting for verification.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Fields set (`Some`) or emptied (`None`); the others are confirmed
    /// as they are.
    pub fields: BTreeMap<String, Option<String>>,
    /// The node kept, when not the one the rule chose.
    pub node: Option<String>,
    /// The document's date (`YYYY-MM-DD`), when not the one it has.
    pub date: Option<String>,
    /// A comment, journaled with the verification.
    pub comment: Option<String>,
}

/// The longest comment.
const COMMENT_MAX: usize = 2_000;

impl Archive {
    /// The records waiting for verification that `actor` may verify (those
    /// of the nodes they may deposit in), oldest first, after the record
    /// `after` (an id, from the previous page), at most `limit`.
    pub fn verification_queue(
        &self,
        actor: &Actor,
        after: Option<&str>,
        limit: usize,
    ) -> Result<QueuePage, ArchiveError> {
        actor.require(Permission::VerifyRecords, "vérifier des documents")?;
        let limit = limit.clamp(1, QUEUE_PAGE_MAX);
        let mut cursor = match after.map(str::trim) {
            Some(text) => Some(RecordId::parse(text).ok_or_else(|| {
                crate::domain::record::InvalidInput::new(
                    "after",
                    "« after » est l'identifiant du dernier document de la page précédente, tel que « next » le donne",
                )
            })?),
            None => None,
        };
        let plan = self.plan_in_force()?;
        let role = actor.role.as_str();
        let mut records = Vec::new();
        let mut more = false;
        'scan: loop {
            let ids = self.catalog.to_verify(cursor.as_ref(), QUEUE_SCAN)?;
            let Some(last) = ids.last().copied() else { break };
            for id in ids.iter() {
                let Some(record) = self.catalog.record(id)? else {
                    continue;
                };
                if record.to_verify.is_none() || !plan.plan.allows(&record.node, role, Access::Deposit) {
                    continue;
                }
                if records.len() == limit {
                    more = true;
                    break 'scan;
                }
                records.push(record);
            }
            if ids.len() < QUEUE_SCAN {
                break;
            }
            cursor = Some(last);
        }
        let next = if more {
            records.last().map(|r| r.id.to_string())
        } else {
            None
        };
        Ok(QueuePage {
            records,
            next,
            waiting: self.catalog.to_verify_count()?,
        })
    }

    /// Confirms or corrects the description of a record waiting for
    /// verification: checked against the plan like a change (types,
    /// required fields, a node the person may deposit in), journaled with
    /// each field as read and as kept. The record leaves the queue.
    #[tracing::instrument(skip_all, fields(actor = %actor.name, record = key))]
    pub fn verify_description(
        &self,
        actor: &Actor,
        key: &str,
        verification: Verification,
    ) -> Result<Record, ArchiveError> {
        actor.require(Permission::VerifyRecords, "vérifier des documents")?;
        let comment = match verification.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) if c.chars().count() > COMMENT_MAX || c.chars().any(|ch| ch.is_control() && ch != '\n') => {
                return Err(crate::domain::record::InvalidInput::new(
                    "comment",
                    format!("le commentaire tient en {COMMENT_MAX} caractères au plus, sans caractère de contrôle"),
                )
                .into());
            }
            other => other.map(str::to_owned),
        };
        let found = self.record(actor, key)?;
        let _guard = self.lock_record(&found.id);
        let record = self.record(actor, key)?;
        super::records::refuse_if_destroyed(&record)?;
        let Some(waiting) = record.to_verify.clone() else {
            return Err(ArchiveError::NotAwaitingVerification(record.reference.to_string()));
        };
        self.refuse_if_held(&record)?;
        let plan_slot = self.plan.read().unwrap_or_else(|p| p.into_inner());
        let plan = plan_slot
            .clone()
            .ok_or_else(|| ArchiveError::Internal("no classification plan has been published".into()))?;
        if !plan.plan.allows(&record.node, actor.role.as_str(), Access::Deposit) {
            return Err(ArchiveError::NodeForbidden {
                role: actor.role,
                node: record.node.to_string(),
                action: "vérifier les documents de",
            });
        }
        // The fields a person looked at: those read, those the queue named
        // (read with doubt, or not found), those they changed.
        let mut names: BTreeSet<String> = verification.fields.keys().cloned().collect();
        if let Some(reading) = &record.reading {
            names.extend(reading.fields.iter().map(|f| f.name.clone()));
        }
        for reason in &waiting.reasons {
            if let VerifyReason::Reading { fields } = reason {
                names.extend(fields.iter().cloned());
            }
        }
        let read_value = |name: &str| -> Option<String> {
            match &record.reading {
                Some(r) if r.field(name).is_some() => r.field(name).map(|f| f.value.clone()),
                Some(r) if r.missing.iter().any(|m| m == name) => None,
                _ => record.fields.get(name).cloned(),
            }
        };
        let changes = super::records::RecordChanges {
            reason: String::new(),
            node: verification.node.clone(),
            title: None,
            date: verification.date.clone(),
            service: None,
            document_type: None,
            fields: verification.fields.clone(),
        };
        let change = self.describe_anew(actor, &plan.plan, &record, changes)?;
        let kept_fields = match &change {
            Some(c) => c.fields.clone(),
            None => record.fields.clone(),
        };
        let checked: Vec<CheckedField> = names
            .iter()
            .map(|name| CheckedField {
                name: name.clone(),
                read: read_value(name),
                kept: kept_fields.get(name).cloned(),
            })
            .collect();
        let kept_node = change
            .as_ref()
            .map_or_else(|| record.node.clone(), |c| c.now.node.clone());
        let node = waiting.reasons.iter().find_map(|r| match r {
            VerifyReason::Classification { rule } => Some(CheckedNode {
                rule: rule.clone(),
                proposed: record.node.to_string(),
                kept: kept_node.to_string(),
            }),
            VerifyReason::Reading { .. } => None,
        });
        let supplier = ["fournisseur", "siret"]
            .iter()
            .find_map(|f| kept_fields.get(*f))
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        let (now, before, counter, number) = match change {
            Some(c) => (c.now, c.before, c.counter, c.number),
            None => {
                let facets = crate::domain::event::RecordFacetsChange::of(&record);
                (facets.clone(), facets, None, None)
            }
        };
        self.journal.append(actor.draft(EventBody::RecordVerified {
            record: record.id,
            checked,
            node,
            supplier,
            comment,
            now,
            before,
            counter,
            number,
        }))?;
        drop(plan_slot);
        self.catalog
            .record(&record.id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {} vanished from the catalog", record.id)))
    }

    /// How many records wait, and the fields checked and corrected by
    /// people, by field (supplier `None`) and by supplier and field.
    pub fn verification_counts(&self, actor: &Actor) -> Result<VerificationCounts, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter les statistiques de vérification")?;
        Ok(VerificationCounts {
            waiting: self.catalog.to_verify_count()?,
            counts: self.catalog.all_check_counts()?,
        })
    }
}
