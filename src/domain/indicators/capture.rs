//! Capture's indicators, folded from the journal's events alone (so they
//! can be computed again for any past day): what each channel brought, how
//! often a classification rule filed a deposit, how the fields read from
//! invoices fared (read surely, doubtful, missing; checked and corrected by
//! a person in the verification queue), and how the accountant answered
//! the PES flows.
//!
//! Definitions (the interface and the README say the same):
//! - a deposit, a reading, a verification and a flow count on the day they
//!   were journaled, under the node and service the record had then;
//! - a field is **read surely** when its confidence reaches the threshold
//!   at which it is kept without a person, **doubtful** otherwise;
//!   **missing** when an invoice should have it and it was not found;
//! - a field is **checked** each time a person validates a record's
//!   description in the verification queue, **corrected** when the value
//!   kept differs from the value read; the node a rule chose counts as the
//!   field `noeud`; a reading counts under the supplier read, a
//!   verification under the supplier kept (its name, else its SIRET);
//! - the **automatic classification rate**: deposits whose node a
//!   classification rule chose, over all deposits, in percent to a tenth;
//! - a PES flow (a record of the flows' node) is **sent** once archived,
//!   then **accepted** or **rejected** by the accountant's acknowledgement
//!   (the latest one counts); one with no acknowledgement yet is
//!   **waiting**. A flow counts in the month it was archived. Each
//!   rejecting acknowledgement counts its anomalies (each once), even when
//!   a later one accepts the flow.

pub use super::Scope;
use super::interned::{Interner, Place};
use super::month_of;
use crate::domain::event::EventBody;
use crate::domain::record::{LinkKind, NodeCode, RecordId};
use crate::domain::verification::NODE_FIELD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Where a record stood when something happened to it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Cell {
    day: NaiveDate,
    place: Arc<Place>,
}

impl Cell {
    fn kept_by(&self, scope: &Scope) -> bool {
        scope.keeps(self.day, &self.place.node, self.place.service.as_deref())
    }
}

/// How one field fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FieldCounts {
    /// Read with enough confidence to be kept without a person.
    pub read_surely: u64,
    /// Read with doubt.
    pub doubtful: u64,
    /// Not found where an invoice should have it.
    pub missing: u64,
    /// Checked by a person in the verification queue.
    pub checked: u64,
    /// Of which changed by that person.
    pub corrected: u64,
}

impl FieldCounts {
    fn count(&mut self, fate: Fate) {
        match fate {
            Fate::ReadSurely => self.read_surely += 1,
            Fate::Doubtful => self.doubtful += 1,
            Fate::Missing => self.missing += 1,
            Fate::Checked => self.checked += 1,
            Fate::Corrected => {
                self.checked += 1;
                self.corrected += 1;
            }
        }
    }
}

/// What became of one field in a reading or a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    ReadSurely,
    Doubtful,
    Missing,
    Checked,
    Corrected,
}

impl Fate {
    const ALL: [Fate; 5] = [
        Fate::ReadSurely,
        Fate::Doubtful,
        Fate::Missing,
        Fate::Checked,
        Fate::Corrected,
    ];
}

/// One field's fate, packed: the number of its name, then its fate in the
/// three low bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldFate(u32);

impl FieldFate {
    fn new(name: u32, fate: Fate) -> Self {
        FieldFate(name << 3 | fate as u32)
    }

    fn name(self) -> u32 {
        self.0 >> 3
    }

    fn fate(self) -> Fate {
        Fate::ALL[(self.0 & 7) as usize % Fate::ALL.len()]
    }
}

/// A reading or a verification: its day, place and supplier (numbers in
/// the ledger's tables), and where its fields' fates start in the ledger's
/// list (they end where the next one's start).
#[derive(Debug, Clone, Copy)]
struct Reading {
    day: NaiveDate,
    place: u32,
    supplier: Option<u32>,
    first: u32,
}

/// What the accountant said of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlowState {
    Waiting,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone)]
struct Flow {
    cell: Cell,
    state: FlowState,
}

/// Flows by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FlowCounts {
    /// Archived (sent to the accountant).
    pub sent: u64,
    /// Accepted by the accountant.
    pub accepted: u64,
    /// Rejected, in whole or in part.
    pub rejected: u64,
    /// With no acknowledgement yet.
    pub waiting: u64,
}

/// Deposits through one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Deposits {
    records: u64,
    classified: u64,
}

/// The capture ledger: a fold of journal events.
#[derive(Debug, Clone, Default)]
pub struct CaptureLedger {
    /// The node and document type PES flows are archived under (the
    /// mapping's), if any.
    flows_as: Option<(NodeCode, Option<String>)>,
    deposits: BTreeMap<(Cell, String), Deposits>,
    /// Every reading and verification, in the journal's order: a line
    /// each, since a supplier's readings seldom share a day, a node and a
    /// service (summing them by those would keep as many lines, larger).
    readings: Vec<Reading>,
    fates: Vec<FieldFate>,
    places: Interner<Place>,
    suppliers: Interner<str>,
    names: Interner<str>,
    flows: HashMap<RecordId, Flow>,
    /// Each rejection's anomalies, under the rejected flow's cell.
    rejections: BTreeMap<(Cell, String, String), u64>,
}

/// Capture's indicators over a scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaptureIndicators {
    /// Deposits.
    pub deposited: u64,
    /// Of which filed by a classification rule.
    pub classified: u64,
    /// `classified` over `deposited`, in percent to a tenth (none without
    /// deposits).
    pub classification_rate: Option<f64>,
    /// Deposits each channel brought each day (`api` for the API and the
    /// command line): day, channel, records, of which classified by a rule.
    pub channels: Vec<(NaiveDate, String, u64, u64)>,
    /// Each month's deposits and classification rate.
    pub months: Vec<(String, u64, u64)>,
    /// How each field fared, every supplier together.
    pub by_field: Vec<(String, FieldCounts)>,
    /// How each field fared for each supplier (none: not known).
    pub by_supplier: Vec<(Option<String>, String, FieldCounts)>,
    /// PES flows by state.
    pub flows: FlowCounts,
    /// PES flows by the month they were archived.
    pub flows_by_month: Vec<(String, FlowCounts)>,
    /// The anomalies acknowledgements gave when rejecting a flow (a flow
    /// rejected, sent again and accepted still counts): code, label,
    /// rejections.
    pub rejections: Vec<(String, String, u64)>,
}

/// A share in percent to a tenth; none of nothing.
pub fn rate(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| super::tenth(part as f64 * 100.0 / whole as f64))
}

impl CaptureLedger {
    /// A ledger that knows PES flows by the node and document type they are
    /// archived under.
    pub fn new(flows_as: Option<(NodeCode, Option<String>)>) -> Self {
        CaptureLedger {
            flows_as,
            ..CaptureLedger::default()
        }
    }

    /// Applies one event journaled at `at`; `place` says the node and
    /// service a record has (the stock's, before this event).
    pub fn apply(&mut self, body: &EventBody, at: DateTime<Utc>, place: impl Fn(&RecordId) -> Option<Arc<Place>>) {
        let day = at.date_naive();
        match body {
            EventBody::RecordIngested {
                record,
                node,
                service,
                classified_by,
                channel,
                document_type,
                links,
                ..
            } => {
                let cell = Cell {
                    day,
                    place: self.places.shared(&Place::new(node.clone(), service.clone())),
                };
                let channel = channel.clone().unwrap_or_else(|| "api".to_owned());
                let count = self.deposits.entry((cell.clone(), channel)).or_default();
                count.records += 1;
                count.classified += u64::from(classified_by.is_some());
                let is_flow = self.flows_as.as_ref().is_some_and(|(flow_node, flow_type)| {
                    flow_node == node && (flow_type.is_none() || flow_type == document_type)
                }) && !links.iter().any(|l| l.kind == LinkKind::Acknowledges);
                if is_flow {
                    self.flows.insert(
                        *record,
                        Flow {
                            cell,
                            state: FlowState::Waiting,
                        },
                    );
                }
            }
            EventBody::RecordRead {
                record,
                fields,
                missing,
                template,
                ..
            } => {
                let Some(place) = place(record) else {
                    return;
                };
                // As a verification names it: its name, else its SIRET,
                // read surely; else the template that read it.
                let supplier = ["fournisseur", "siret"]
                    .iter()
                    .find_map(|name| fields.iter().find(|f| f.name == *name && f.trusted()))
                    .map(|f| f.value.trim())
                    .filter(|s| !s.is_empty())
                    .or(template.as_deref());
                let fates = fields
                    .iter()
                    .map(|f| {
                        let fate = if f.trusted() { Fate::ReadSurely } else { Fate::Doubtful };
                        (f.name.as_str(), fate)
                    })
                    .chain(missing.iter().map(|name| (name.as_str(), Fate::Missing)));
                self.note(day, &place, supplier, fates);
            }
            EventBody::RecordVerified {
                checked,
                node,
                supplier,
                now,
                ..
            } => {
                let place = Place::new(now.node.clone(), now.service.clone());
                let node_check = node.as_ref().map(|n| (NODE_FIELD, n.proposed != n.kept));
                let fates = checked
                    .iter()
                    .map(|c| (c.name.as_str(), c.corrected()))
                    .chain(node_check)
                    .map(|(name, corrected)| (name, if corrected { Fate::Corrected } else { Fate::Checked }));
                self.note(day, &place, supplier.as_deref(), fates);
            }
            EventBody::FlowAcknowledged {
                flow: Some(flow),
                accepted,
                reasons,
                ..
            } => {
                if let Some(flow) = self.flows.get_mut(flow) {
                    flow.state = if *accepted {
                        FlowState::Accepted
                    } else {
                        FlowState::Rejected
                    };
                    let mut seen: Vec<(String, String)> =
                        reasons.iter().map(|r| (r.code.clone(), r.label.clone())).collect();
                    seen.sort();
                    seen.dedup();
                    for (code, label) in seen {
                        *self.rejections.entry((flow.cell.clone(), code, label)).or_default() += 1;
                    }
                }
            }
            _ => {}
        }
    }

    /// Keeps a reading or a verification of `place` and `supplier` on
    /// `day`, with its fields' fates (none: nothing kept).
    fn note<'a>(
        &mut self,
        day: NaiveDate,
        place: &Place,
        supplier: Option<&str>,
        fates: impl IntoIterator<Item = (&'a str, Fate)>,
    ) {
        let first = self.fates.len();
        for (name, fate) in fates {
            let name = self.names.id(name);
            self.fates.push(FieldFate::new(name, fate));
        }
        if self.fates.len() == first {
            return;
        }
        let reading = Reading {
            day,
            place: self.places.id(place),
            supplier: supplier.map(|s| self.suppliers.id(s)),
            // As for the tables' numbers: four billion fates would not
            // fit in memory first.
            first: first as u32,
        };
        self.readings.push(reading);
    }

    /// The fields' counts over `scope` into `out`: by field name, and by
    /// supplier and field name, each in order.
    fn count_fields(&self, scope: &Scope, out: &mut CaptureIndicators) {
        let kept: Vec<bool> = self
            .places
            .iter()
            .map(|(_, place)| scope.keeps_place(&place.node, place.service.as_deref()))
            .collect();
        let in_period = |day: NaiveDate| scope.from.is_none_or(|f| day >= f) && scope.to.is_none_or(|t| day <= t);
        let mut by_name: HashMap<u32, FieldCounts> = HashMap::new();
        let mut by_supplier: HashMap<(Option<u32>, u32), FieldCounts> = HashMap::new();
        for (i, reading) in self.readings.iter().enumerate() {
            if !in_period(reading.day) || !kept.get(reading.place as usize).copied().unwrap_or(false) {
                continue;
            }
            let end = self
                .readings
                .get(i + 1)
                .map_or(self.fates.len(), |next| next.first as usize);
            for fate in self.fates.get(reading.first as usize..end).unwrap_or_default() {
                by_name.entry(fate.name()).or_default().count(fate.fate());
                by_supplier
                    .entry((reading.supplier, fate.name()))
                    .or_default()
                    .count(fate.fate());
            }
        }
        let name = |id: u32| self.names.get(id).map(|n| n.to_string()).unwrap_or_default();
        let by_field: BTreeMap<String, FieldCounts> = by_name.into_iter().map(|(id, c)| (name(id), c)).collect();
        let by_supplier: BTreeMap<(Option<String>, String), FieldCounts> = by_supplier
            .into_iter()
            .map(|((supplier, id), c)| {
                let supplier = supplier.and_then(|s| self.suppliers.get(s)).map(|s| s.to_string());
                ((supplier, name(id)), c)
            })
            .collect();
        out.by_field = by_field.into_iter().collect();
        out.by_supplier = by_supplier.into_iter().map(|((s, f), c)| (s, f, c)).collect();
    }

    /// The indicators over `scope`.
    pub fn indicators(&self, scope: &Scope) -> CaptureIndicators {
        let keeps = |cell: &Cell| cell.kept_by(scope);
        let mut out = CaptureIndicators::default();
        let mut channels: BTreeMap<(NaiveDate, String), Deposits> = BTreeMap::new();
        let mut months: BTreeMap<String, Deposits> = BTreeMap::new();
        for ((cell, channel), count) in self.deposits.iter().filter(|((cell, _), _)| keeps(cell)) {
            for total in [
                channels.entry((cell.day, channel.clone())).or_default(),
                months.entry(month_of(cell.day)).or_default(),
            ] {
                total.records += count.records;
                total.classified += count.classified;
            }
            out.deposited += count.records;
            out.classified += count.classified;
        }
        out.classification_rate = rate(out.classified, out.deposited);
        out.channels = channels
            .into_iter()
            .map(|((day, channel), d)| (day, channel, d.records, d.classified))
            .collect();
        out.months = months.into_iter().map(|(m, d)| (m, d.records, d.classified)).collect();
        self.count_fields(scope, &mut out);
        let mut by_month: BTreeMap<String, FlowCounts> = BTreeMap::new();
        let mut rejections: BTreeMap<(String, String), u64> = BTreeMap::new();
        for flow in self.flows.values().filter(|f| keeps(&f.cell)) {
            for counts in [&mut out.flows, by_month.entry(month_of(flow.cell.day)).or_default()] {
                counts.sent += 1;
                match flow.state {
                    FlowState::Waiting => counts.waiting += 1,
                    FlowState::Accepted => counts.accepted += 1,
                    FlowState::Rejected => counts.rejected += 1,
                }
            }
        }
        for ((cell, code, label), n) in &self.rejections {
            if keeps(cell) {
                *rejections.entry((code.clone(), label.clone())).or_default() += n;
            }
        }
        out.flows_by_month = by_month.into_iter().collect();
        out.rejections = rejections.into_iter().map(|((c, l), n)| (c, l, n)).collect();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{FlowAnomaly, RecordFacetsChange, VersionFacts};
    use crate::domain::hash::Sha256;
    use crate::domain::record::Reference;
    use crate::domain::verification::{CheckedField, CheckedNode, ReadValue};

    use crate::domain::indicators::fixtures::{at, id};

    fn node(code: &str) -> NodeCode {
        NodeCode::parse(code).expect("a node")
    }

    fn ingested(n: u128, code: &str, service: &str, classified: bool, channel: Option<&str>) -> EventBody {
        EventBody::RecordIngested {
            record: id(n),
            reference: Reference::from_naming(format!("{code}-2024-{n:06}")),
            node: node(code),
            year: 2024,
            number: n as u64,
            date: NaiveDate::from_ymd_opt(2024, 3, 1).expect("a day"),
            service: Some(service.into()),
            document_type: None,
            metadata: Sha256::of(b"m"),
            version: VersionFacts {
                number: 1,
                sha256: Sha256::of(b"c"),
                size: 10,
                media_type: "application/pdf".into(),
            },
            counter: None,
            plan_version: Some(1),
            classified_by: classified.then(|| "factures".to_owned()),
            dated: None,
            channel: channel.map(str::to_owned),
            links: Vec::new(),
            aliases: Vec::new(),
            imported_from: None,
            to_verify: false,
            circuit: None,
        }
    }

    fn read(name: &str, value: &str, confidence: u8) -> ReadValue {
        ReadValue {
            name: name.into(),
            value: value.into(),
            confidence,
            doubt: None,
        }
    }

    fn facets(code: &str, service: &str) -> RecordFacetsChange {
        RecordFacetsChange {
            reference: Reference::from_naming(format!("{code}-2024-000001")),
            node: node(code),
            date: NaiveDate::from_ymd_opt(2024, 3, 1).expect("a day"),
            service: Some(service.into()),
            document_type: None,
            metadata: Sha256::of(b"m"),
        }
    }

    /// A known history: three invoices, two read (one with a doubtful
    /// amount and no number), one verified with its amount corrected and
    /// its node kept; two flows, one accepted, one rejected twice over the
    /// same anomaly.
    fn ledger() -> CaptureLedger {
        let mut ledger = CaptureLedger::new(Some((node("FIN-PES"), None)));
        let place = |id: &RecordId| -> Option<Arc<Place>> {
            let service = if *id == id_of(3) { "Culture" } else { "Voirie" };
            Some(Arc::new(Place::new(node("FIN-FAC"), Some(service.into()))))
        };
        fn id_of(n: u128) -> RecordId {
            id(n)
        }
        let events = [
            (
                "2024-03-01",
                ingested(1, "FIN-FAC", "Voirie", true, Some("dossier:scans")),
            ),
            ("2024-03-01", ingested(2, "FIN-FAC", "Voirie", false, None)),
            (
                "2024-04-02",
                ingested(3, "FIN-FAC", "Culture", true, Some("dossier:scans")),
            ),
            (
                "2024-03-01",
                EventBody::RecordRead {
                    record: id(1),
                    version: 1,
                    fields: vec![read("fournisseur", "Dupain", 95), read("montant_ttc", "1200.00", 40)],
                    missing: vec!["numero_facture".into()],
                    to_verify: vec!["montant_ttc".into(), "numero_facture".into()],
                    metadata: None,
                    template: None,
                },
            ),
            (
                "2024-04-02",
                EventBody::RecordRead {
                    record: id(3),
                    version: 1,
                    fields: vec![read("montant_ttc", "80.00", 99)],
                    missing: Vec::new(),
                    to_verify: Vec::new(),
                    metadata: None,
                    template: Some("Martin".into()),
                },
            ),
            (
                "2024-03-04",
                EventBody::RecordVerified {
                    record: id(1),
                    checked: vec![
                        CheckedField {
                            name: "montant_ttc".into(),
                            read: Some("1200.00".into()),
                            kept: Some("1 260,00".into()),
                        },
                        CheckedField {
                            name: "numero_facture".into(),
                            read: None,
                            kept: Some("FA-1".into()),
                        },
                    ],
                    node: Some(CheckedNode {
                        rule: "factures".into(),
                        proposed: "FIN-FAC".into(),
                        kept: "FIN-FAC".into(),
                    }),
                    supplier: Some("Dupain".into()),
                    comment: None,
                    now: facets("FIN-FAC", "Voirie"),
                    before: facets("FIN-FAC", "Voirie"),
                    counter: None,
                    number: None,
                },
            ),
            ("2024-03-05", ingested(10, "FIN-PES", "Finances", false, None)),
            ("2024-04-05", ingested(11, "FIN-PES", "Finances", false, None)),
            ("2024-04-06", ingested(12, "FIN-PES", "Finances", false, None)),
            (
                "2024-03-06",
                EventBody::FlowAcknowledged {
                    name: "a.xml".into(),
                    flow: Some(id(10)),
                    acknowledgement: id(20),
                    accepted: true,
                    reasons: Vec::new(),
                },
            ),
            (
                "2024-04-07",
                EventBody::FlowAcknowledged {
                    name: "b.xml".into(),
                    flow: Some(id(11)),
                    acknowledgement: id(21),
                    accepted: false,
                    reasons: vec![
                        FlowAnomaly {
                            code: "0".into(),
                            label: "IBAN erroné".into(),
                        },
                        FlowAnomaly {
                            code: "0".into(),
                            label: "IBAN erroné".into(),
                        },
                    ],
                },
            ),
        ];
        for (day, body) in &events {
            ledger.apply(body, at(day), place);
        }
        ledger
    }

    #[test]
    fn a_known_history_gives_its_counts() {
        let all = ledger().indicators(&Scope::default());
        assert_eq!((all.deposited, all.classified), (6, 2));
        assert_eq!(all.classification_rate, Some(33.3));
        let scans: u64 = all
            .channels
            .iter()
            .filter(|c| c.1 == "dossier:scans")
            .map(|c| c.2)
            .sum();
        assert_eq!(scans, 2);
        let field = |name: &str| {
            all.by_field
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| *c)
                .expect("the field")
        };
        assert_eq!(
            field("montant_ttc"),
            FieldCounts {
                read_surely: 1,
                doubtful: 1,
                missing: 0,
                checked: 1,
                corrected: 1
            }
        );
        assert_eq!(
            field("numero_facture"),
            FieldCounts {
                missing: 1,
                checked: 1,
                corrected: 1,
                ..FieldCounts::default()
            }
        );
        assert_eq!(
            field(NODE_FIELD),
            FieldCounts {
                checked: 1,
                ..FieldCounts::default()
            }
        );
        let martin = all
            .by_supplier
            .iter()
            .find(|(s, f, _)| s.as_deref() == Some("Martin") && f == "montant_ttc")
            .expect("Martin's amounts");
        assert_eq!(martin.2.read_surely, 1);
        assert_eq!(
            all.flows,
            FlowCounts {
                sent: 3,
                accepted: 1,
                rejected: 1,
                waiting: 1
            }
        );
        assert_eq!(all.rejections, vec![("0".to_owned(), "IBAN erroné".to_owned(), 1)]);
        assert_eq!(all.flows_by_month.len(), 2);
    }

    #[test]
    fn a_scope_keeps_its_period_service_and_nodes() {
        let ledger = ledger();
        let march = ledger.indicators(&Scope {
            from: NaiveDate::from_ymd_opt(2024, 3, 1),
            to: NaiveDate::from_ymd_opt(2024, 3, 31),
            ..Scope::default()
        });
        assert_eq!(march.deposited, 3);
        assert_eq!(march.flows.sent, 1);
        let culture = ledger.indicators(&Scope {
            service: Some("Culture".into()),
            ..Scope::default()
        });
        assert_eq!((culture.deposited, culture.classified), (1, 1));
        assert_eq!(culture.by_field.len(), 1);
        let invoices = ledger.indicators(&Scope {
            nodes: Some(vec![node("FIN-FAC")]),
            ..Scope::default()
        });
        assert_eq!(invoices.flows.sent, 0);
        assert_eq!(invoices.deposited, 3);
    }

    #[test]
    fn a_supplier_read_with_doubt_counts_under_the_template() {
        let mut ledger = CaptureLedger::default();
        let place = |_: &RecordId| Some(Arc::new(Place::new(node("FIN-FAC"), Some("Voirie".into()))));
        let reading = |fields| EventBody::RecordRead {
            record: id(1),
            version: 1,
            fields,
            missing: Vec::new(),
            to_verify: Vec::new(),
            metadata: None,
            template: Some("modele-factures".into()),
        };
        let guessed = reading(vec![
            read("fournisseur", "Facture émise par Papeterie Dupont le 3 mars", 40),
            read("montant_ht", "206.40", 75),
        ]);
        let sure = reading(vec![
            read("fournisseur", " Dupain ", 95),
            read("montant_ht", "12.00", 95),
        ]);
        for body in [&guessed, &sure] {
            ledger.apply(body, at("2024-03-01"), place);
        }
        let suppliers: Vec<(Option<String>, String)> = ledger
            .indicators(&Scope::default())
            .by_supplier
            .into_iter()
            .map(|(s, f, _)| (s, f))
            .collect();
        let pair = |s: &str, f: &str| (Some(s.to_owned()), f.to_owned());
        assert_eq!(
            suppliers,
            vec![
                pair("Dupain", "fournisseur"),
                pair("Dupain", "montant_ht"),
                pair("modele-factures", "fournisseur"),
                pair("modele-factures", "montant_ht"),
            ]
        );
    }

    mod packed {
        use super::*;
        use proptest::prelude::*;

        /// One reading or verification as the test draws it: day (of
        /// March), service, supplier, and each field's name and fate.
        type Drawn = (u32, usize, Option<usize>, Vec<(usize, usize)>, bool);

        const SERVICES: [&str; 3] = ["Voirie", "Culture", "Finances"];
        const SUPPLIERS: [&str; 3] = ["Dupain", "Martin", "Lefèvre"];
        const FIELDS: [&str; 4] = ["fournisseur", "montant_ttc", "numero_facture", "siret"];

        fn body(n: u128, drawn: &Drawn) -> EventBody {
            let (_, service, supplier, fields, verified) = drawn;
            let supplier = supplier.map(|s| SUPPLIERS[s].to_owned());
            if *verified {
                let checked = fields
                    .iter()
                    .map(|(name, fate)| CheckedField {
                        name: FIELDS[*name].into(),
                        read: Some("1".into()),
                        kept: Some(if fate % 2 == 0 { "1" } else { "2" }.into()),
                    })
                    .collect();
                return EventBody::RecordVerified {
                    record: id(n),
                    checked,
                    node: None,
                    supplier,
                    comment: None,
                    now: facets("FIN-FAC", SERVICES[*service]),
                    before: facets("FIN-FAC", SERVICES[*service]),
                    counter: None,
                    number: None,
                };
            }
            let (read_ones, missing): (Vec<_>, Vec<_>) = fields.iter().partition(|(_, fate)| fate % 3 != 2);
            EventBody::RecordRead {
                record: id(n),
                version: 1,
                // The supplier is the template's: no field named as one.
                fields: read_ones
                    .iter()
                    .map(|(name, fate)| {
                        read(
                            &format!("champ_{}", FIELDS[*name]),
                            "x",
                            if fate % 3 == 0 { 95 } else { 30 },
                        )
                    })
                    .collect(),
                missing: missing
                    .iter()
                    .map(|(name, _)| format!("champ_{}", FIELDS[*name]))
                    .collect(),
                to_verify: Vec::new(),
                metadata: None,
                template: supplier,
            }
        }

        /// What each drawn event adds, summed the plain way.
        fn expected(events: &[Drawn], scope: &Scope) -> BTreeMap<(Option<String>, String), FieldCounts> {
            let mut sums: BTreeMap<(Option<String>, String), FieldCounts> = BTreeMap::new();
            for (day, service, supplier, fields, verified) in events {
                let date = NaiveDate::from_ymd_opt(2024, 3, *day).expect("a day");
                if !scope.keeps(date, &node("FIN-FAC"), Some(SERVICES[*service])) {
                    continue;
                }
                for (name, fate) in fields {
                    let (prefix, fate) = match (verified, fate % 3, fate % 2) {
                        (true, _, 0) => ("", Fate::Checked),
                        (true, _, _) => ("", Fate::Corrected),
                        (false, 0, _) => ("champ_", Fate::ReadSurely),
                        (false, 1, _) => ("champ_", Fate::Doubtful),
                        (false, _, _) => ("champ_", Fate::Missing),
                    };
                    let key = (
                        supplier.map(|s| SUPPLIERS[s].to_owned()),
                        format!("{prefix}{}", FIELDS[*name]),
                    );
                    sums.entry(key).or_default().count(fate);
                }
            }
            sums
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// The packed lines count exactly what summing each event's
            /// fields does, by supplier and field, whatever the scope.
            #[test]
            fn packed_lines_count_what_each_event_adds(
                events in prop::collection::vec(
                    (1u32..=31, 0usize..3, prop::option::of(0usize..3),
                     prop::collection::vec((0usize..4, 0usize..6), 0..4), any::<bool>()),
                    0..40),
                from in prop::option::of(1u32..=31),
                to in prop::option::of(1u32..=31),
                service in prop::option::of(0usize..3),
            ) {
                let mut ledger = CaptureLedger::default();
                for (n, drawn) in events.iter().enumerate() {
                    let service_of = SERVICES[drawn.1];
                    let place = |_: &RecordId| Some(Arc::new(Place::new(node("FIN-FAC"), Some(service_of.into()))));
                    let day = format!("2024-03-{:02}", drawn.0);
                    ledger.apply(&body(n as u128, drawn), at(&day), place);
                }
                let scope = Scope {
                    from: from.and_then(|d| NaiveDate::from_ymd_opt(2024, 3, d)),
                    to: to.and_then(|d| NaiveDate::from_ymd_opt(2024, 3, d)),
                    service: service.map(|s| SERVICES[s].to_owned()),
                    nodes: None,
                };
                let sums = expected(&events, &scope);
                let got = ledger.indicators(&scope);
                let by_supplier: BTreeMap<(Option<String>, String), FieldCounts> =
                    got.by_supplier.into_iter().map(|(s, f, c)| ((s, f), c)).collect();
                prop_assert_eq!(&by_supplier, &sums);
                let mut by_field: BTreeMap<String, FieldCounts> = BTreeMap::new();
                for ((_, field), counts) in &sums {
                    let total = by_field.entry(field.clone()).or_default();
                    for (n, fate) in [
                        (counts.read_surely, Fate::ReadSurely),
                        (counts.doubtful, Fate::Doubtful),
                        (counts.missing, Fate::Missing),
                        (counts.checked - counts.corrected, Fate::Checked),
                        (counts.corrected, Fate::Corrected),
                    ] {
                        for _ in 0..n {
                            total.count(fate);
                        }
                    }
                }
                prop_assert_eq!(got.by_field, by_field.into_iter().collect::<Vec<_>>());
            }
        }
    }
}
