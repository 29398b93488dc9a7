//! How records leave the archive at the end of their retention (*sort
//! final*): disposal (*élimination*) of records whose final action is
//! `destroy`, proposed in a *bordereau d'élimination*, approved with the
//! archives authority's visa (which may strike lines), executed (content
//! and descriptive metadata erased, tombstones kept) and certified; and
//! transfer (*versement*) of those to `keep` to the archives service, whose
//! acknowledgement turns them into tombstones. Both share the proposal, its
//! lines, its exclusions and each line's outcome. Pure types and the
//! bordereau's figures; the use cases are in `archive::disposition`,
//! `archive::disposals` and `archive::transfers`.

use super::hash::Sha256;
use super::record::{NodeCode, RecordId, Reference};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The most lines, exclusions or outcomes one event carries: a longer
/// proposal or execution comes in parts, so no event grows with the
/// size of a disposal (a line is about half a kilobyte of JSON).
pub const PART_LINES: usize = 1000;

/// A proposal's size, and how many events after the proposing one carry
/// its lines: what the proposing event says when it does not carry them
/// all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Lines proposed.
    pub lines: u64,
    /// Records considered and left out.
    pub excluded: u64,
    /// Bytes of content the lines hold.
    pub bytes: u64,
    /// Parts (`disposal.lines`, `transfer.lines`) after the proposing event.
    pub parts: u32,
}

impl Totals {
    /// The totals of these lines and exclusions, all in one event.
    pub fn of(lines: &[DisposalLine], excluded: &[Exclusion]) -> Self {
        Totals {
            lines: lines.len() as u64,
            excluded: excluded.len() as u64,
            bytes: lines.iter().map(DisposalLine::size).sum(),
            parts: 0,
        }
    }

    /// Whether the proposing event carries every line (the totals are not
    /// written then: they are its lines').
    pub fn is_single(&self) -> bool {
        self.parts == 0
    }
}

/// Lines and exclusions cut into parts of at most `size` each (at least
/// one), the first for the proposing event: `(lines, excluded)` per part,
/// at least one part.
pub fn into_parts(
    lines: Vec<DisposalLine>,
    excluded: Vec<Exclusion>,
    size: usize,
) -> Vec<(Vec<DisposalLine>, Vec<Exclusion>)> {
    let size = size.max(1);
    let count = lines.len().div_ceil(size).max(excluded.len().div_ceil(size)).max(1);
    let mut lines = lines.into_iter();
    let mut excluded = excluded.into_iter();
    (0..count)
        .map(|_| {
            (
                lines.by_ref().take(size).collect(),
                excluded.by_ref().take(size).collect(),
            )
        })
        .collect()
}

/// One part of a proposal's lines, as the catalog keeps it apart from the
/// proposal (which it would otherwise rewrite with every part).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinesPart {
    /// Records proposed.
    pub lines: Vec<DisposalLine>,
    /// Records considered and left out.
    #[serde(default)]
    pub excluded: Vec<Exclusion>,
}

/// One part of an execution's (or an acknowledgement's) outcomes, kept
/// apart likewise.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomesPart {
    /// What became of each line.
    pub outcomes: Vec<Outcome>,
    /// The blobs to erase.
    #[serde(default)]
    pub erased: Vec<Sha256>,
}

/// One record of a disposal, as proposed: what the bordereau lists of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisposalLine {
    /// The record.
    pub record: RecordId,
    /// Its reference.
    pub reference: Reference,
    /// Its node.
    pub node: NodeCode,
    /// The record's own date.
    pub date: NaiveDate,
    /// Its producing service.
    pub service: Option<String>,
    /// The rule that made it due.
    pub rule: String,
    /// The rule's DUA, as written (`P10Y`).
    pub duration: String,
    /// When it became due.
    pub due: NaiveDate,
    /// Its versions' digests and sizes.
    pub versions: Vec<(Sha256, u64)>,
    /// Its descriptive metadata documents.
    pub metadata: Vec<Sha256>,
}

impl DisposalLine {
    /// Bytes of content.
    pub fn size(&self) -> u64 {
        self.versions.iter().map(|(_, s)| s).sum()
    }
}

/// A record the proposal left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    /// The record.
    pub reference: Reference,
    /// Why it is not proposed.
    pub reason: String,
}

/// The archives authority's visa.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visa {
    /// Its reference (the authority's number for it).
    pub reference: String,
    /// Who signed it.
    pub signer: String,
    /// Its date.
    pub date: NaiveDate,
    /// Lines the authority struck: kept, not destroyed.
    pub struck: Vec<RecordId>,
    /// When it was recorded, and by whom.
    pub recorded_at: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: String,
    /// The journal event.
    pub seq: u64,
}

/// A line executed: the record destroyed, or skipped with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The record.
    pub record: RecordId,
    /// Its reference.
    pub reference: Reference,
    /// `None`: destroyed; otherwise why it was not.
    pub skipped: Option<String>,
    /// The title the tombstone keeps, where the node says so (the
    /// metadata document that held it is erased).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_title: Option<String>,
}

/// A disposal's execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execution {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub by: String,
    /// The journal event.
    pub seq: u64,
    /// Its hash: the certificate is signed by it.
    pub hash: Sha256,
    /// What became of each line not struck.
    pub outcomes: Vec<Outcome>,
    /// Blobs erased (content no live record shares, metadata documents).
    pub erased: Vec<Sha256>,
    /// The event that confirmed the erasure, once done.
    pub erased_seq: Option<u64>,
    /// The stores the blobs were erased from (the data directory and every
    /// copy folder), once done.
    #[serde(default)]
    pub erased_from: Vec<String>,
    /// Parts (`disposal.destroyed`) journaled so far.
    #[serde(default)]
    pub parts: u32,
    /// Lines destroyed so far.
    #[serde(default)]
    pub destroyed: u64,
    /// Lines skipped so far.
    #[serde(default)]
    pub skipped: u64,
    /// Blobs to erase, so far.
    #[serde(default)]
    pub erased_count: u64,
}

impl Execution {
    /// An execution begun by the event `seq` (hash `hash`), by `by` at
    /// `at`; the closing event's seq, hash and time replace them.
    pub fn begun(at: DateTime<Utc>, by: String, seq: u64, hash: Sha256) -> Self {
        Execution {
            at,
            by,
            seq,
            hash,
            outcomes: Vec::new(),
            erased: Vec::new(),
            erased_seq: None,
            erased_from: Vec::new(),
            parts: 0,
            destroyed: 0,
            skipped: 0,
            erased_count: 0,
        }
    }

    /// Counts one part's outcomes and blobs in.
    pub fn count(&mut self, outcomes: &[Outcome], erased: &[Sha256]) {
        let destroyed = outcomes.iter().filter(|o| o.skipped.is_none()).count() as u64;
        self.destroyed += destroyed;
        self.skipped += outcomes.len() as u64 - destroyed;
        self.erased_count += erased.len() as u64;
    }
}

/// Where a disposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisposalState {
    /// Proposed; awaiting the visa.
    Proposed,
    /// Approved with the visa; may be executed.
    Approved,
    /// Being executed: some parts are journaled, not the closing event
    /// (an interrupted execution is taken up again when the archive opens).
    Executing,
    /// Executed.
    Executed,
    /// Abandoned before it was complete (the server stopped while its
    /// lines were being written): neither approved nor executed, ever.
    Abandoned,
}

impl DisposalState {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DisposalState::Proposed => "proposed",
            DisposalState::Approved => "approved",
            DisposalState::Executing => "executing",
            DisposalState::Executed => "executed",
            DisposalState::Abandoned => "abandoned",
        }
    }
}

/// What a disposal and a transfer share: the proposal (*bordereau*)
/// drawn up for a date, its lines, and what was left out and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// Its id: the seq of the event that proposed it.
    pub id: u64,
    /// The date it was drawn up for (records due on or before it).
    pub at: NaiveDate,
    /// The node it was limited to, if any.
    pub node: Option<NodeCode>,
    /// When it was proposed.
    pub proposed_at: DateTime<Utc>,
    /// Who proposed it.
    pub proposed_by: String,
    /// Its lines.
    pub lines: Vec<DisposalLine>,
    /// Due records left out, and why.
    pub excluded: Vec<Exclusion>,
    /// Its size, whether or not its lines are loaded, and in how many
    /// parts they come.
    #[serde(default)]
    pub totals: Totals,
    /// Parts after the proposing event received so far: the proposal is
    /// complete when it has them all.
    #[serde(default)]
    pub received: u32,
}

impl Proposal {
    /// Whether every part of its lines is journaled.
    pub fn is_complete(&self) -> bool {
        self.received >= self.totals.parts
    }

    /// Its lines by typology, as a bordereau lists them: one group per
    /// node, in node order.
    pub fn groups(&self) -> Vec<BordereauGroup> {
        let mut groups: BTreeMap<NodeCode, BordereauGroup> = BTreeMap::new();
        for line in &self.lines {
            let group = groups.entry(line.node.clone()).or_insert_with(|| BordereauGroup {
                node: line.node.clone(),
                services: Vec::new(),
                rule: line.rule.clone(),
                duration: line.duration.clone(),
                from: line.date,
                to: line.date,
                count: 0,
                bytes: 0,
                references: Vec::new(),
            });
            if let Some(service) = &line.service
                && !group.services.contains(service)
            {
                group.services.push(service.clone());
            }
            group.from = group.from.min(line.date);
            group.to = group.to.max(line.date);
            group.count += 1;
            group.bytes += line.size();
            group.references.push(line.reference.clone());
        }
        groups.into_values().collect()
    }

    /// Bytes of content its lines hold.
    pub fn size(&self) -> u64 {
        self.totals.bytes
    }

    /// How many lines it has.
    pub fn line_count(&self) -> u64 {
        self.totals.lines
    }

    /// Its lines by record, to find a line without walking them all.
    pub fn line_index(&self) -> std::collections::HashMap<RecordId, &DisposalLine> {
        self.lines.iter().map(|l| (l.record, l)).collect()
    }

    /// The reference of a record on one of its lines (its id when none).
    pub fn reference_of(&self, id: &RecordId) -> String {
        self.lines
            .iter()
            .find(|l| &l.record == id)
            .map(|l| l.reference.to_string())
            .unwrap_or_else(|| id.to_string())
    }
}

/// A disposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposal {
    /// The proposal (its members stand at the top level of the stored JSON).
    #[serde(flatten)]
    pub proposal: Proposal,
    /// Where it stands.
    pub state: DisposalState,
    /// The visa, once approved.
    pub visa: Option<Visa>,
    /// The execution, once executed.
    pub execution: Option<Execution>,
    /// The record that holds its certificate, once filed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Reference>,
    /// Why it was abandoned, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
}

/// A transfer to the archives (*versement*) of records whose final action
/// is `keep`, as proposed; the package and the archives' acknowledgement
/// complete it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// The proposal (its members stand at the top level of the stored JSON).
    #[serde(flatten)]
    pub proposal: Proposal,
    /// The packages exported for it (their identifiers).
    #[serde(default)]
    pub packages: Vec<String>,
    /// The records those packages carried.
    #[serde(default)]
    pub exported: Vec<RecordId>,
    /// The archives service's acknowledgement, once received.
    #[serde(default)]
    pub acknowledgement: Option<Acknowledgement>,
    /// Why it was abandoned, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abandoned: Option<String>,
}

/// The archives service's acknowledgement of a transfer: the records it
/// took become tombstones that point to its reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The archives service's reference for the transfer (its *cote* or
    /// acknowledgement number).
    pub reference: String,
    /// The date of the acknowledgement.
    pub date: NaiveDate,
    /// Who signed it, at the archives.
    pub signer: Option<String>,
    /// The blob holding the archives service's SEDA answer, when uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Sha256>,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// Who recorded it.
    pub by: String,
    /// The journal event.
    pub seq: u64,
    /// What became of each line: transferred, or kept with the reason.
    pub outcomes: Vec<Outcome>,
    /// Blobs erased (content no live record shares, metadata documents).
    pub erased: Vec<Sha256>,
    /// The event that confirmed the erasure, once done.
    pub erased_seq: Option<u64>,
}

/// One group of the bordereau: the records of one node (a typology).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BordereauGroup {
    /// The node.
    pub node: NodeCode,
    /// The producing services.
    pub services: Vec<String>,
    /// The rule and its DUA.
    pub rule: String,
    /// The DUA.
    pub duration: String,
    /// The earliest record date (*dates extrêmes*).
    pub from: NaiveDate,
    /// The latest.
    pub to: NaiveDate,
    /// How many records.
    pub count: u64,
    /// Their content in bytes.
    pub bytes: u64,
    /// Their references.
    pub references: Vec<Reference>,
}

impl Disposal {
    /// The bordereau's groups: one per node, in node order.
    pub fn bordereau(&self) -> Vec<BordereauGroup> {
        self.proposal.groups()
    }

    /// The lines the visa did not strike.
    pub fn approved_lines(&self) -> impl Iterator<Item = &DisposalLine> {
        let struck: &[RecordId] = self.visa.as_ref().map_or(&[], |v| v.struck.as_slice());
        self.proposal.lines.iter().filter(move |l| !struck.contains(&l.record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u128, node: &str, date: &str, size: u64) -> DisposalLine {
        DisposalLine {
            record: RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).unwrap(),
            reference: Reference::from_naming(format!("{node}-{n}")),
            node: NodeCode::parse(node).unwrap(),
            date: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            service: Some("Finances".into()),
            rule: "FACTURES".into(),
            duration: "P10Y".into(),
            due: NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap(),
            versions: vec![(Sha256::of(&n.to_be_bytes()), size)],
            metadata: vec![],
        }
    }

    #[test]
    fn the_bordereau_groups_by_node_with_extreme_dates_counts_and_volume() {
        let lines = vec![
            line(1, "FIN-FAC", "2012-05-01", 100),
            line(2, "FIN-FAC", "2010-01-03", 50),
            line(3, "FIN-TRE", "2020-01-01", 7),
        ];
        let d = Disposal {
            proposal: Proposal {
                id: 9,
                at: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                node: None,
                proposed_at: Utc::now(),
                proposed_by: "a".into(),
                totals: Totals::of(&lines, &[]),
                lines,
                excluded: vec![],
                received: 0,
            },
            state: DisposalState::Proposed,
            visa: None,
            execution: None,
            certificate: None,
            abandoned: None,
        };
        let groups = d.bordereau();
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[0].count, groups[0].bytes), (2, 150));
        assert_eq!(groups[0].from.to_string(), "2010-01-03");
        assert_eq!(groups[0].to.to_string(), "2012-05-01");
        assert_eq!(groups[0].services, vec!["Finances".to_owned()]);
        assert_eq!(d.approved_lines().count(), 3);
        assert_eq!(d.proposal.size(), 157);
        assert!(d.proposal.is_complete());
    }

    fn exclusion(n: usize) -> Exclusion {
        Exclusion {
            reference: Reference::from_naming(format!("X-{n}")),
            reason: "gelé".into(),
        }
    }

    #[test]
    fn parts_hold_at_most_part_lines_and_keep_the_order() {
        let lines: Vec<_> = (0..2 * PART_LINES as u128 + 1)
            .map(|n| line(n, "FIN-FAC", "2012-05-01", 1))
            .collect();
        let excluded: Vec<_> = (0..3).map(exclusion).collect();
        let parts = into_parts(lines.clone(), excluded.clone(), PART_LINES);
        assert_eq!(parts.len(), 3);
        assert!(
            parts
                .iter()
                .all(|(l, e)| l.len() <= PART_LINES && e.len() <= PART_LINES)
        );
        assert_eq!(parts[0].1, excluded, "the exclusions fit in the first part");
        let again: Vec<_> = parts.into_iter().flat_map(|(l, _)| l).collect();
        assert_eq!(again, lines);
        assert_eq!(
            into_parts(Vec::new(), Vec::new(), PART_LINES).len(),
            1,
            "an empty proposal is one event"
        );
        let many: Vec<_> = (0..PART_LINES + 2).map(exclusion).collect();
        let parts = into_parts(vec![line(1, "FIN-FAC", "2012-05-01", 1)], many, PART_LINES);
        assert_eq!(parts.len(), 2, "exclusions too come in parts");
        assert_eq!(parts[1].0.len(), 0);
    }
}
