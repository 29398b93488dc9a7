//! Legal holds (*gel*): records frozen whatever their dates, for a
//! litigation, an audit or an inquiry. A hold names one record, a node (and
//! everything below it), or a saved search (which also catches records
//! deposited later). A held record is neither disposed of nor reclassified.

use super::record::{NodeCode, RecordId};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What a hold freezes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HoldScope {
    /// One record.
    Record(RecordId),
    /// Every record of a node and of the nodes below it.
    Node(NodeCode),
    /// Every record a search finds, now and later.
    Query(String),
}

/// A hold's lifting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldLift {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
    /// Why.
    pub reason: String,
    /// The journal event.
    pub seq: u64,
}

/// A legal hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hold {
    /// Its id: the seq of the event that placed it.
    pub id: u64,
    /// What it freezes.
    pub scope: HoldScope,
    /// Why.
    pub reason: String,
    /// Who answers for it (a person or a service).
    pub owner: String,
    /// When it should be looked at again.
    pub review: Option<NaiveDate>,
    /// When it was placed.
    pub placed_at: DateTime<Utc>,
    /// Who placed it.
    pub placed_by: String,
    /// Its lifting, once lifted.
    pub lifted: Option<HoldLift>,
}

impl Hold {
    /// Whether it still freezes records.
    pub fn is_active(&self) -> bool {
        self.lifted.is_none()
    }

    /// Whether it freezes a record of this id whose node has this path
    /// (root first). Query holds are decided by the index: `None`.
    pub fn covers(&self, id: &RecordId, node_path: &[NodeCode]) -> Option<bool> {
        if !self.is_active() {
            return Some(false);
        }
        match &self.scope {
            HoldScope::Record(r) => Some(r == id),
            HoldScope::Node(n) => Some(node_path.contains(n)),
            HoldScope::Query(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_hold_covers_its_subtree_and_a_lifted_hold_nothing() {
        let code = |c: &str| NodeCode::parse(c).unwrap();
        let id = RecordId::parse("0190a000-0000-7000-8000-000000000001").unwrap();
        let mut hold = Hold {
            id: 7,
            scope: HoldScope::Node(code("FIN")),
            reason: "contentieux".into(),
            owner: "service juridique".into(),
            review: None,
            placed_at: Utc::now(),
            placed_by: "token:a".into(),
            lifted: None,
        };
        assert_eq!(hold.covers(&id, &[code("FIN"), code("FIN-FAC")]), Some(true));
        assert_eq!(hold.covers(&id, &[code("ADM"), code("ADM-DEL")]), Some(false));
        hold.lifted = Some(HoldLift {
            at: Utc::now(),
            by: "token:a".into(),
            reason: "jugement rendu".into(),
            seq: 9,
        });
        assert_eq!(hold.covers(&id, &[code("FIN"), code("FIN-FAC")]), Some(false));
    }
}
