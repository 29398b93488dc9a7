//! The indicators, and the counts of records, read from the catalog's
//! tallies and indexes: equal to what reading every record gives, for
//! every role, and without reading every record.

use super::fixity::FixitySchedule;
use super::holds::IndexFreshness;
use super::retention::EventTarget;
use super::tests_support::archive_counting_scans as archive;
use super::*;
use crate::domain::indicators::Scope;
use crate::domain::plan::Access;
use crate::domain::record::{NodeCode, RecordState};
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

/// A hold's request for `reason`, its scope to be said.
fn request(reason: &str) -> HoldRequest {
    HoldRequest {
        record: None,
        node: None,
        query: None,
        reason: reason.into(),
        owner: None,
        review: None,
    }
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

/// Today's health as it was reckoned before the due counts: every due
/// record listed until a year ahead, each one's service read when the scope
/// names one, and the holds asked of those already due.
fn health_by_listing_every_due_record(archive: &Archive, scope: &Scope) -> (u64, u64, Vec<(String, u64)>) {
    let today = archive.clock.now().date_naive();
    let horizon = today.checked_add_months(chrono::Months::new(12)).expect("a year ahead");
    let (mut overdue, mut by_month, mut live) = (0, BTreeMap::<String, u64>::new(), Vec::new());
    for entry in archive.catalog.due_until(horizon) {
        let (due, id, entry) = entry.expect("due");
        if scope.nodes.as_ref().is_some_and(|nodes| !nodes.contains(&entry.node)) {
            continue;
        }
        let record = archive.catalog.record(&id).expect("read").expect("a record");
        if scope.service.is_some() && record.service != scope.service {
            continue;
        }
        if due <= today {
            overdue += 1;
            live.push((id, entry.node));
        } else {
            *by_month.entry(crate::domain::indicators::month_of(due)).or_default() += 1;
        }
    }
    let held = archive.holds_on(&live, IndexFreshness::AsIndexed).expect("holds").len() as u64;
    (overdue, held, by_month.into_iter().collect())
}

#[test]
fn today_s_health_counts_from_the_due_counts_what_listing_every_due_record_counts() {
    let (_tmp, archive, _catalog) = archive();
    let today = archive.clock.now().date_naive();
    // A deposit every two months over the last twenty years, in two nodes
    // and two services: some long due, some due within the year, some not.
    let mut held_one = None;
    for n in 0..120u32 {
        let date = today - chrono::Months::new(2 * n);
        let (node, service) = if n % 3 == 0 {
            ("ADM-ARR", "Secrétariat général")
        } else {
            ("FIN-FAC", if n % 2 == 0 { "Finances" } else { "Voirie" })
        };
        let text = if n == 100 {
            "Facture Dopey".to_owned()
        } else {
            format!("Pièce {n}")
        };
        let reference = deposit(
            &archive,
            node,
            &text,
            &date.format("%Y-%m-%d").to_string(),
            Some(service),
        );
        if n == 101 {
            held_one = Some(reference);
        }
    }
    archive.index_all().expect("indexed");
    let admin = actor(Role::Admin);
    let scopes = [
        Scope::default(),
        Scope {
            service: Some("Finances".into()),
            ..Scope::default()
        },
        Scope {
            nodes: Some(vec![NodeCode::parse("FIN-FAC").expect("a node")]),
            ..Scope::default()
        },
    ];
    let compare = |held_expected: bool| {
        for scope in &scopes {
            let (report, _) = archive.health_indicators(&admin, scope.clone(), None).expect("health");
            let now = report.now.expect("today's");
            let expected = health_by_listing_every_due_record(&archive, scope);
            assert_eq!(
                (now.overdue, now.held_due, now.due_by_month.clone()),
                expected,
                "{scope:?}"
            );
            if scope.service.is_none() {
                assert!(now.overdue > 0 && !now.due_by_month.is_empty(), "{scope:?}: {now:?}");
            }
            if held_expected && scope.nodes.is_none() && scope.service.is_none() {
                assert!(now.held_due >= 2, "{scope:?}: {now:?}");
            }
        }
    };
    compare(false);
    // Held: a node, a record, and a search.
    hold(
        &archive,
        HoldRequest {
            node: Some("ADM".into()),
            ..request("contentieux")
        },
    );
    hold(
        &archive,
        HoldRequest {
            record: held_one,
            ..request("litige")
        },
    );
    hold(
        &archive,
        HoldRequest {
            query: Some("Dopey".into()),
            ..request("enquête")
        },
    );
    archive.index_all().expect("indexed");
    compare(true);
}
