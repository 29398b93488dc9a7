//! Synthetic records for the benchmarks that fill a catalog directly (at
//! the journal's head, so that `Archive::open` takes it as up to date):
//! the figures are of the catalog's indexes, not of deposits.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use coffre::domain::hash::Sha256;
use coffre::domain::record::{HistoryEntry, NodeCode, Record, RecordId, RecordState, Reference, Version};
use std::collections::BTreeMap;

/// Record `i`'s id: in the order of `i`.
pub fn id_of(i: u64) -> RecordId {
    RecordId::parse(&format!("0190a000-0000-7000-8000-{i:012}")).unwrap_or_else(|| RecordId::new_at(Utc::now()))
}

/// Record `i`'s deposit time.
pub fn time(i: u64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_600_000_000 + i as i64, 0)
        .single()
        .unwrap_or_default()
}

/// Record `i`, filed in `node`, dated `date`, holding `content`.
pub fn record(i: u64, node: &NodeCode, date: NaiveDate, content: Sha256) -> Record {
    Record {
        id: id_of(i),
        reference: Reference::from_naming(format!("{node}-{i:07}")),
        title: format!("Pièce synthétique {i}"),
        node: node.clone(),
        date,
        service: Some("Service des finances".into()),
        document_type: None,
        fields: BTreeMap::new(),
        number: i,
        plan_version: Some(1),
        aliases: Vec::new(),
        classified_by: None,
        dated: None,
        channel: None,
        links: Vec::new(),
        events: BTreeMap::new(),
        tombstone: None,
        review: None,
        reading: None,
        renditions: Vec::new(),
        to_verify: None,
        circulation: None,
        due: None,
        metadata_sha256: Sha256::of(format!("metadata {i}").as_bytes()),
        metadata_history: Vec::new(),
        versions: vec![Version {
            number: 1,
            sha256: content,
            size: 4096,
            media_type: "application/pdf".into(),
            filename: Some("piece.pdf".into()),
            ingested_at: time(i),
            ingested_by: "bench".into(),
            seq: 1,
        }],
        state: RecordState::Active,
        created_at: time(i),
        created_by: "bench".into(),
        history: vec![HistoryEntry {
            seq: 1,
            time: time(i),
            actor: "bench".into(),
            kind: "record.ingested".into(),
        }],
    }
}
