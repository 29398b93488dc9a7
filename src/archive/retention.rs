//! Retention: start events recorded for records, and what is due at a date
//! (read from the catalog's due-date index, so that listing among millions
//! of records reads only what is due).

use super::holds::IndexFreshness;
use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::plan::{Access, FinalAction};
use crate::domain::record::{InvalidInput, NodeCode, RecordId, Reference, parse_date};
use crate::domain::role::Permission;
use chrono::NaiveDate;

/// The most records one start event may name explicitly.
const EVENT_RECORDS_MAX: usize = 100_000;

/// Which records a start event applies to.
#[derive(Debug, Clone)]
pub enum EventTarget {
    /// These records (references, aliases or ids).
    Records(Vec<String>),
    /// Every record of this node and the nodes below it.
    Node(String),
}

/// A record whose retention has ended by a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRecord {
    /// Record id.
    pub id: RecordId,
    /// Reference.
    pub reference: Reference,
    /// Node.
    pub node: NodeCode,
    /// Due date.
    pub due: NaiveDate,
    /// The rule.
    pub rule: String,
    /// `destroy`, `keep` or `review`.
    pub final_action: FinalAction,
    /// The active legal holds that stop it (its final action waits).
    pub held_by: Vec<u64>,
}

/// Checks a start event's name: as rules write it after `event:`.
fn check_event_name(name: &str) -> Result<String, InvalidInput> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(name.to_owned())
    } else {
        Err(InvalidInput::new(
            "name",
            "un nom d'événement a 1 à 64 minuscules, chiffres ou « _ » (closing, contract_end…)",
        ))
    }
}

impl Archive {
    /// Records that a start event happened on `date` for some records; the
    /// retention of those whose rule starts with it starts then. Returns
    /// how many records it applies to.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn record_start_event(
        &self,
        actor: &Actor,
        name: &str,
        date: &str,
        target: EventTarget,
    ) -> Result<usize, ArchiveError> {
        actor.require(Permission::ManageRecords, "enregistrer des événements de départ")?;
        let name = check_event_name(name)?;
        let date = parse_date("date", date)?;
        let records: Vec<RecordId> = match target {
            EventTarget::Records(keys) => {
                if keys.is_empty() || keys.len() > EVENT_RECORDS_MAX {
                    return Err(InvalidInput::new(
                        "records",
                        format!("nommez 1 à {EVENT_RECORDS_MAX} documents, ou un nœud"),
                    )
                    .into());
                }
                let mut ids = Vec::with_capacity(keys.len());
                for key in keys {
                    ids.push(self.record(actor, &key)?.id);
                }
                ids.sort();
                ids.dedup();
                ids
            }
            EventTarget::Node(code) => {
                let node = NodeCode::parse(&code)?;
                let plan = self.plan_in_force()?;
                if plan.plan.node(&node).is_none() {
                    return Err(InvalidInput::new("node", format!("{node} n'est pas un nœud du plan")).into());
                }
                // The records of the node and of the nodes below it that
                // the archivist may read, from the node index.
                let mut ids: Vec<RecordId> = Vec::new();
                for held in self.catalog.records_by_node()?.into_keys() {
                    if plan.plan.path(&held).contains(&node)
                        && plan.plan.allows(&held, actor.role.as_str(), Access::Read)
                    {
                        ids.extend(self.catalog.records_in(&held)?);
                    }
                }
                ids.sort();
                if ids.is_empty() {
                    return Err(InvalidInput::new("node", format!("{node} ne contient aucun document")).into());
                }
                ids
            }
        };
        let count = records.len();
        self.journal
            .append(actor.draft(EventBody::StartEventRecorded { name, date, records }))?;
        Ok(count)
    }

    /// Journals an archivist's decision on a due record whose rule says
    /// `review`: `keep` (it will be transferred) or `destroy` (it will be
    /// proposed for disposal).
    #[tracing::instrument(skip_all, fields(actor = %actor.name, record = key))]
    pub fn review_record(
        &self,
        actor: &Actor,
        key: &str,
        decision: &str,
        reason: &str,
    ) -> Result<crate::domain::record::Record, ArchiveError> {
        actor.require(Permission::ManageRecords, "décider du tri")?;
        let decision = match decision.trim() {
            "keep" => FinalAction::Keep,
            "destroy" => FinalAction::Destroy,
            other => {
                return Err(InvalidInput::new(
                    "decision",
                    format!("« {other} » : décidez keep (conserver) ou destroy (détruire)"),
                )
                .into());
            }
        };
        let reason =
            crate::domain::record::check_text("reason", reason, super::TEXT_MAX, crate::domain::record::Lines::Many)?;
        let reason = reason.as_str();
        let record = self.record(actor, key)?;
        if let Some(t) = &record.tombstone {
            return Err(ArchiveError::RecordDestroyed {
                reference: record.reference.to_string(),
                disposal: t.disposal,
            });
        }
        let plan = self.plan_in_force()?;
        let Some((rule, _)) = plan.plan.rule_for(&record.node) else {
            return Err(InvalidInput::new(
                "record",
                format!("aucune règle de conservation ne s'applique à {}", record.reference),
            )
            .into());
        };
        if rule.final_action != FinalAction::Review {
            return Err(InvalidInput::new(
                "record",
                format!(
                    "la règle {} de {} prévoit {} : il n'y a rien à décider",
                    rule.id,
                    record.reference,
                    rule.final_action.as_str()
                ),
            )
            .into());
        }
        let today = self.clock.now().date_naive();
        match record.due.as_ref().map(|m| m.date) {
            Some(due) if due <= today => {}
            Some(due) => {
                return Err(InvalidInput::new(
                    "record",
                    format!("{} n'est échu qu'au {}", record.reference, crate::french::date(due)),
                )
                .into());
            }
            None => {
                return Err(InvalidInput::new(
                    "record",
                    format!("{} n'a pas encore de date d'échéance", record.reference),
                )
                .into());
            }
        }
        self.journal.append(actor.draft(EventBody::RetentionReviewed {
            record: record.id,
            decision,
            reason: reason.to_owned(),
        }))?;
        self.catalog
            .record(&record.id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {} vanished from the catalog", record.id)))
    }

    /// The records whose retention has ended on `at` (today by default):
    /// a future date answers what becomes due by then.
    pub fn retention_due(&self, actor: &Actor, at: Option<NaiveDate>) -> Result<Vec<DueRecord>, ArchiveError> {
        actor.require(Permission::ManageRecords, "lister les documents échus")?;
        let at = at.unwrap_or_else(|| self.clock.now().date_naive());
        let mut due: Vec<DueRecord> = self
            .catalog
            .due_until(at)
            .map(|item| {
                let (due, id, entry) = item?;
                Ok(DueRecord {
                    id,
                    reference: entry.reference,
                    node: entry.node,
                    due,
                    rule: entry.rule,
                    final_action: entry.final_action,
                    held_by: Vec::new(),
                })
            })
            .collect::<Result<_, ArchiveError>>()?;
        let keys: Vec<(RecordId, NodeCode)> = due.iter().map(|d| (d.id, d.node.clone())).collect();
        let mut held = self.holds_on(&keys, IndexFreshness::CaughtUp)?;
        for record in &mut due {
            if let Some(holds) = held.remove(&record.id) {
                record.held_by = holds;
            }
        }
        Ok(due)
    }
}
