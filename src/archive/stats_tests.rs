//! The indicators, and the counts of records, read from the catalog's
//! tallies and indexes: equal to what reading every record gives, for
//! every role, and without reading every record.

use super::fixity::FixitySchedule;
use super::holds::IndexFreshness;
use super::retention::EventTarget;
use super::tests_support::archive_counting_scans as archive;
use super::*;
use crate::domain::plan::Access;
use crate::domain::record::RecordState;
use std::collections::BTreeMap;

fn deposit(archive: &Archive, node: &str, text: &str, date: &str, service: Option<&str>) -> String {
    let upload = Upload {
        staged: archive.stage(&mut text.as_bytes()).expect("staged"),
        filename: Some("piece.txt".into()),
    };
    let deposit = Deposit {
        node: Some(node.into()),
        date: Some(date.into()),
        service: service.map(str::to_owned),
        // The personnel files' node asks for the agent's number and birth.
        fields: BTreeMap::from([
            ("matricule".to_owned(), "A-1024".to_owned()),
            ("birth_date".to_owned(), "1980-04-02".to_owned()),
        ])
        .into_iter()
        .filter(|_| node == "RH-DOS")
        .collect(),
        ..Deposit::default()
    };
    archive
        .ingest(&Actor::system(), deposit, upload)
        .expect("deposited")
        .reference
        .to_string()
}

fn actor(role: Role) -> Actor {
    Actor {
        name: format!("user:{}", role.as_str()),
        role,
        account: None,
    }
}

/// What the indicators counted when they read every record (the code
/// before the tallies): records, by node, service, state and channel, due
/// and held.
type Counted = (
    u64,
    BTreeMap<String, u64>,
    BTreeMap<String, u64>,
    BTreeMap<String, u64>,
    BTreeMap<String, u64>,
    u64,
    u64,
);

fn counted_by_reading_every_record(archive: &Archive, actor: &Actor) -> Counted {
    let plan = archive.plan_in_force().expect("plan");
    let mut counted = Counted::default();
    let mut live = Vec::new();
    for record in archive.catalog.records() {
        let record = record.expect("record");
        if !plan.plan.allows(&record.node, actor.role.as_str(), Access::Read) {
            continue;
        }
        counted.0 += 1;
        *counted.1.entry(record.node.to_string()).or_default() += 1;
        *counted
            .2
            .entry(record.service.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
        *counted.3.entry(record.state.as_str().into()).or_default() += 1;
        *counted
            .4
            .entry(record.channel.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
        if record.state == RecordState::Active {
            live.push((record.id, record.node.clone()));
        }
    }
    let today = archive.clock.now().date_naive();
    counted.5 = archive
        .catalog
        .due_until(today)
        .filter(|e| live.iter().any(|(id, _)| *id == e.as_ref().expect("due").1))
        .count() as u64;
    counted.6 = archive.holds_on(&live, IndexFreshness::AsIndexed).expect("holds").len() as u64;
    counted
}

fn counted_by_the_indicators(archive: &Archive, actor: &Actor) -> Counted {
    let stats = archive.stats(actor, &FixitySchedule::default()).expect("stats");
    (
        stats.records,
        stats.by_node,
        stats.by_service,
        stats.by_state,
        stats.by_channel,
        stats.due,
        stats.held,
    )
}

fn hold(archive: &Archive, request: HoldRequest) {
    archive
        .place_hold(&actor(Role::Archivist), request)
        .expect("hold placed");
}

#[test]
fn the_indicators_count_from_the_tallies_what_reading_every_record_counts_for_every_role() {
    let (_tmp, archive, catalog) = archive();
    let old_invoice = deposit(
        &archive,
        "FIN-FAC",
        "Facture de 2000, boulangerie Dupain",
        "2000-01-15",
        Some("Finances"),
    );
    deposit(
        &archive,
        "FIN-FAC",
        "Facture de papeterie",
        "2025-11-02",
        Some("Finances"),
    );
    let held_invoice = deposit(&archive, "FIN-FAC", "Facture de chauffage", "2025-10-20", None);
    let decree = deposit(
        &archive,
        "ADM-ARR",
        "Arrêté de voirie",
        "1990-06-01",
        Some("Secrétariat général"),
    );
    deposit(
        &archive,
        "ADM-ARR",
        "Arrêté de stationnement",
        "2025-09-09",
        Some("Secrétariat général"),
    );
    deposit(
        &archive,
        "RH-DOS",
        "Note de service",
        "2001-03-01",
        Some("Ressources humaines"),
    );
    // Held by node (ADM and below), record by record (one of them already
    // under the node's hold), and by a search.
    let request = |reason: &str| HoldRequest {
        record: None,
        node: None,
        query: None,
        reason: reason.into(),
        owner: None,
        review: None,
    };
    hold(
        &archive,
        HoldRequest {
            node: Some("ADM".into()),
            ..request("contentieux de voirie")
        },
    );
    hold(
        &archive,
        HoldRequest {
            record: Some(held_invoice.clone()),
            ..request("litige fournisseur")
        },
    );
    hold(
        &archive,
        HoldRequest {
            record: Some(decree),
            ..request("recours")
        },
    );
    hold(
        &archive,
        HoldRequest {
            query: Some("Dupain".into()),
            ..request("enquête")
        },
    );
    hold(
        &archive,
        HoldRequest {
            record: Some(old_invoice),
            ..request("enquête, bis")
        },
    );
    archive.index_all().expect("indexed");

    for role in [Role::Admin, Role::Archivist, Role::Auditor, Role::Agent, Role::Visa] {
        let actor = actor(role);
        let expected = counted_by_reading_every_record(&archive, &actor);
        let scans = catalog.scans();
        assert_eq!(counted_by_the_indicators(&archive, &actor), expected, "{role:?}");
        assert_eq!(
            catalog.scans(),
            scans,
            "{role:?}: the indicators read no list of every record"
        );
    }
    let all = counted_by_the_indicators(&archive, &actor(Role::Admin));
    assert_eq!((all.0, all.6), (6, 4), "six records, four of them held: {all:?}");
    assert!(all.5 >= 1, "the invoice of 2000 is due: {all:?}");

    let scans = catalog.scans();
    assert_eq!(archive.record_count().expect("count"), 6);
    let applied = archive
        .record_start_event(
            &actor(Role::Archivist),
            "closing",
            "2025-12-01",
            EventTarget::Node("FIN".into()),
        )
        .expect("event recorded");
    assert_eq!(applied, 3, "the invoices, below FIN");
    assert_eq!(
        catalog.scans(),
        scans,
        "counted and listed by node, not by reading every record"
    );
}
