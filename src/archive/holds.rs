//! Legal holds: placing, lifting, listing, and which records they freeze.

use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::hold::{Hold, HoldScope};
use crate::domain::record::{InvalidInput, Lines, NodeCode, RecordId, RecordState, check_text, parse_date};
use crate::domain::role::Permission;
use crate::domain::search::{SearchQuery, node_reader_key};
use std::collections::{BTreeMap, BTreeSet};

/// The longest reason or owner, in characters.
pub const TEXT_MAX: usize = 2000;

/// What a new hold is to freeze, as asked (exactly one is given).
#[derive(Debug, Clone, Default)]
pub struct HoldRequest {
    /// A record (reference, alias or id).
    pub record: Option<String>,
    /// A node code (and everything below it).
    pub node: Option<String>,
    /// A search query (the records it finds now and later).
    pub query: Option<String>,
    /// Why.
    pub reason: String,
    /// Who answers for it (default: who places it).
    pub owner: Option<String>,
    /// When to look at it again, `YYYY-MM-DD`.
    pub review: Option<String>,
}

/// How current the index must be when query holds are asked of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum IndexFreshness {
    /// Caught up with the journal first: what decisions (disposal,
    /// transfer, reclassification) need.
    CaughtUp,
    /// As it is: enough for a display or a count.
    AsIndexed,
}

impl Archive {
    /// A query over every record whatever its node, as holds see them.
    pub(super) fn hold_query(&self, text: &str) -> Result<SearchQuery, ArchiveError> {
        let plan = self.plan_in_force()?;
        Ok(SearchQuery {
            limit: 1,
            readers: plan.plan.nodes.iter().map(|n| node_reader_key(&n.code)).collect(),
            synonyms: plan.plan.synonyms.clone(),
            record_fields: super::search::record_fields(&plan.plan, plan.plan.nodes.iter().map(|n| &n.code)),
            ..SearchQuery::for_text(text)
        })
    }

    /// Places a legal hold.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn place_hold(&self, actor: &Actor, request: HoldRequest) -> Result<Hold, ArchiveError> {
        actor.require(Permission::ManageRecords, "poser des gels")?;
        let reason = check_text("reason", &request.reason, TEXT_MAX, Lines::Many)?;
        let owner = match request.owner.as_deref().filter(|o| !o.trim().is_empty()) {
            Some(o) => check_text("owner", o, TEXT_MAX, Lines::Many)?,
            None => actor.name.clone(),
        };
        let review = request.review.as_deref().map(|d| parse_date("review", d)).transpose()?;
        let scope = match (request.record, request.node, request.query) {
            (Some(key), None, None) => HoldScope::Record(self.record(actor, &key)?.id),
            (None, Some(code), None) => {
                let node = NodeCode::parse(&code)?;
                if self.plan_in_force()?.plan.node(&node).is_none() {
                    return Err(InvalidInput::new("node", format!("{node} n'est pas un nœud du plan")).into());
                }
                HoldScope::Node(node)
            }
            (None, None, Some(query)) => {
                let query = check_text("query", &query, TEXT_MAX, Lines::Many)?;
                // A query that does not parse would freeze nothing: refuse it.
                self.index.matching_ids(&self.hold_query(&query)?)?;
                HoldScope::Query(query)
            }
            _ => {
                return Err(InvalidInput::new("scope", "nommez exactement un seul de record, node ou query").into());
            }
        };
        let event = self.journal.append(actor.draft(EventBody::HoldPlaced {
            scope,
            reason,
            owner,
            review,
        }))?;
        self.catalog
            .hold(event.seq)?
            .ok_or_else(|| ArchiveError::Internal(format!("hold {} journaled but not in the catalog", event.seq)))
    }

    /// Lifts a legal hold.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn lift_hold(&self, actor: &Actor, id: u64, reason: &str) -> Result<Hold, ArchiveError> {
        actor.require(Permission::ManageRecords, "lever des gels")?;
        let reason = check_text("reason", reason, TEXT_MAX, Lines::Many)?;
        let hold = self.catalog.hold(id)?.ok_or(ArchiveError::HoldNotFound(id))?;
        if !hold.is_active() {
            return Err(ArchiveError::HoldLifted(id));
        }
        self.journal
            .append(actor.draft(EventBody::HoldLifted { hold: id, reason }))?;
        self.catalog
            .hold(id)?
            .ok_or_else(|| ArchiveError::Internal(format!("hold {id} vanished from the catalog")))
    }

    /// Every hold, lifted ones too, oldest first.
    pub fn holds(&self, actor: &Actor) -> Result<Vec<Hold>, ArchiveError> {
        actor.require(Permission::ManageRecords, "lister les gels")?;
        Ok(self.catalog.holds()?)
    }

    /// How many live records each active hold freezes, by hold id: one
    /// for a record's, those of the node and below for a node's (as the
    /// index counts them), what the search finds for a query's.
    pub fn hold_counts(&self, actor: &Actor) -> Result<BTreeMap<u64, u64>, ArchiveError> {
        actor.require(Permission::ManageRecords, "lister les gels")?;
        let holds: Vec<Hold> = self.catalog.holds()?.into_iter().filter(Hold::is_active).collect();
        let mut out = BTreeMap::new();
        if holds.is_empty() {
            return Ok(out);
        }
        self.index_all()?;
        let plan = self.plan_in_force()?;
        for hold in holds {
            let frozen = match &hold.scope {
                HoldScope::Record(id) => u64::from(self.catalog.record(id)?.is_some_and(|r| r.tombstone.is_none())),
                HoldScope::Node(code) => {
                    let mut query = self.hold_query("")?;
                    query.node = Some(code.clone());
                    query.node_path = plan.plan.path(code);
                    self.index.search(&query)?.total
                }
                HoldScope::Query(text) => self.index.matching_ids(&self.hold_query(text)?)?.len() as u64,
            };
            out.insert(hold.id, frozen);
        }
        Ok(out)
    }

    /// The active holds freezing each of these records (id, node), by
    /// record; records no hold freezes are left out. Query holds are asked
    /// of the index, as `index` says.
    pub(super) fn holds_on(
        &self,
        records: &[(RecordId, NodeCode)],
        index: IndexFreshness,
    ) -> Result<BTreeMap<RecordId, Vec<u64>>, ArchiveError> {
        let holds: Vec<Hold> = self.catalog.holds()?.into_iter().filter(Hold::is_active).collect();
        let mut out: BTreeMap<RecordId, Vec<u64>> = BTreeMap::new();
        if holds.is_empty() || records.is_empty() {
            return Ok(out);
        }
        let plan = self.plan_in_force()?;
        let mut found_by_query: BTreeMap<u64, BTreeSet<RecordId>> = BTreeMap::new();
        if holds.iter().any(|h| matches!(h.scope, HoldScope::Query(_))) {
            if index == IndexFreshness::CaughtUp {
                self.index_all()?;
            }
            for hold in &holds {
                if let HoldScope::Query(text) = &hold.scope {
                    let ids = self.index.matching_ids(&self.hold_query(text)?)?;
                    found_by_query.insert(hold.id, ids.into_iter().collect());
                }
            }
        }
        for (id, node) in records {
            let path = plan.plan.path(node);
            for hold in &holds {
                let covered = hold
                    .covers(id, &path)
                    .unwrap_or_else(|| found_by_query.get(&hold.id).is_some_and(|ids| ids.contains(id)));
                if covered {
                    out.entry(*id).or_default().push(hold.id);
                }
            }
        }
        Ok(out)
    }

    /// How many live records an active hold freezes among those of the
    /// nodes `live_in` counts (the live records of each node a reader may
    /// read). Read from those counts for the holds on a node, and record by
    /// record only for the holds on a record or on a search (as the index
    /// stands): never every record of the archive.
    pub(super) fn held_among(&self, live_in: &BTreeMap<NodeCode, u64>) -> Result<u64, ArchiveError> {
        let holds: Vec<Hold> = self.catalog.holds()?.into_iter().filter(Hold::is_active).collect();
        if holds.is_empty() {
            return Ok(0);
        }
        let plan = self.plan_in_force()?;
        let held_nodes: BTreeSet<&NodeCode> = live_in
            .keys()
            .filter(|node| {
                let path = plan.plan.path(node);
                holds
                    .iter()
                    .any(|hold| matches!(&hold.scope, HoldScope::Node(held) if path.contains(held)))
            })
            .collect();
        let mut held: u64 = held_nodes.iter().filter_map(|node| live_in.get(*node)).sum();
        let mut one_by_one: BTreeSet<RecordId> = BTreeSet::new();
        for hold in &holds {
            match &hold.scope {
                HoldScope::Record(id) => {
                    one_by_one.insert(*id);
                }
                HoldScope::Query(text) => one_by_one.extend(self.index.matching_ids(&self.hold_query(text)?)?),
                HoldScope::Node(_) => {}
            }
        }
        for id in one_by_one {
            if let Some(record) = self.catalog.record(&id)?
                && record.state == RecordState::Active
                && live_in.contains_key(&record.node)
                && !held_nodes.contains(&record.node)
            {
                held += 1;
            }
        }
        Ok(held)
    }

    /// Refuses when an active hold freezes the record.
    pub(super) fn refuse_if_held(&self, record: &crate::domain::record::Record) -> Result<(), ArchiveError> {
        let held = self.holds_on(&[(record.id, record.node.clone())], IndexFreshness::CaughtUp)?;
        match held.get(&record.id) {
            Some(holds) => Err(ArchiveError::Held {
                reference: record.reference.to_string(),
                holds: holds.clone(),
            }),
            None => Ok(()),
        }
    }
}
