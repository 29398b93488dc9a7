//! A catalog rebuilt from the journal (runs of deposits in one batch each,
//! their metadata read on every core) holds exactly what the catalog made
//! event by event holds: records, references, naming counters, the
//! due-date index, the node index and its counts, disposals. The index,
//! rebuilt beside it, answers searches as the index made deposit by
//! deposit did.

use super::*;
use crate::archive::disposals::VisaRequest;
use crate::archive::disposition::ProposalRequest;
use crate::domain::clock::SystemClock;
use crate::domain::record::{Record, RecordId};
use crate::domain::search::SearchQuery;
use chrono::NaiveDate;

use super::tests_support::options;

/// What a catalog says, in full enough to tell two apart.
#[derive(Debug, PartialEq)]
struct View {
    records: Vec<String>,
    references: Vec<(String, Option<RecordId>)>,
    counters: Vec<(String, u64)>,
    due: Vec<(NaiveDate, RecordId, String)>,
    nodes: Vec<(String, u64, Vec<RecordId>)>,
    disposals: Vec<String>,
    /// By node, the records whose latest version awaits its reading.
    unread: Vec<(String, Vec<RecordId>)>,
    to_verify: Vec<RecordId>,
}

fn view(archive: &Archive, scopes: &[String]) -> View {
    let catalog = &archive.catalog;
    let mut records: Vec<Record> = catalog.records().collect::<Result<_, _>>().expect("records");
    records.sort_by_key(|r| r.id);
    let references = records
        .iter()
        .map(|r| {
            let id = catalog.record_id(&r.reference).expect("reference");
            (r.reference.to_string(), id)
        })
        .collect();
    let counters = scopes
        .iter()
        .map(|s| (s.clone(), catalog.counter(s).expect("counter")))
        .collect();
    let due = catalog
        .due_until(NaiveDate::from_ymd_opt(2200, 1, 1).expect("date"))
        .map(|d| d.map(|(day, id, entry)| (day, id, format!("{entry:?}"))))
        .collect::<Result<_, _>>()
        .expect("due");
    let nodes = catalog
        .records_by_node()
        .expect("counts")
        .into_iter()
        .map(|(node, count)| {
            let mut ids = catalog.records_in(&node).expect("records in");
            ids.sort();
            (node.to_string(), count, ids)
        })
        .collect();
    let disposals = catalog
        .disposals()
        .expect("disposals")
        .iter()
        .map(|d| archive.whole_disposal(d.proposal.id).map(|w| format!("{w:?}")))
        .collect::<Result<_, _>>()
        .expect("whole");
    let unread = catalog
        .records_by_node()
        .expect("counts")
        .into_keys()
        .map(|node| {
            let mut ids = catalog.unread_in(&node).expect("unread");
            ids.sort();
            (node.to_string(), ids)
        })
        .collect();
    View {
        unread,
        to_verify: catalog.to_verify(None, usize::MAX).expect("queue"),
        records: records.iter().map(|r| format!("{r:?}")).collect(),
        references,
        counters,
        due,
        nodes,
        disposals,
    }
}

/// What the index answers to a few searches: the total, then the counts
/// by node, type and year.
fn searched(archive: &Archive) -> Vec<(String, u64, String)> {
    ["pièce", "facture", "après", "reclasser", "délibération", "ttc"]
        .iter()
        .map(|text| {
            let found = archive
                .search(&Actor::system(), SearchQuery::for_text(text))
                .expect("search");
            let counts = format!("{:?} {:?} {:?}", found.facets, found.types, found.years);
            (text.to_string(), found.total, counts)
        })
        .collect()
}

fn deposit(archive: &Archive, text: &str, node: &str, date: &str) -> Record {
    let upload = Upload {
        staged: archive.stage(&mut text.as_bytes()).expect("stage"),
        filename: Some("piece.txt".into()),
    };
    let deposit = Deposit {
        node: Some(node.into()),
        date: Some(date.into()),
        title: Some(format!("Pièce : {text}")),
        ..Deposit::default()
    };
    archive.ingest(&Actor::system(), deposit, upload).expect("deposit")
}

#[test]
fn a_catalog_rebuilt_in_runs_of_deposits_is_the_catalog_made_event_by_event() {
    let (_tmp, data_dir, archive) = super::tests_support::on_disk(options());
    let archive = Arc::new(archive);
    // Deposits from four threads at once into the same counters: numbers
    // are handed out in one order and journaled in another.
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let archive = Arc::clone(&archive);
            scope.spawn(move || {
                for i in 0..60 {
                    let node = ["FIN-FAC", "FIN-MAN", "ADM-DEL"][(i + worker) % 3];
                    deposit(
                        &archive,
                        &format!("{worker}-{i}"),
                        node,
                        &format!("20{:02}-03-15", 5 + i % 15),
                    );
                }
            });
        }
    });
    // Invoices read between deposits, as the reader does behind them: in
    // the rebuild, readings share the deposits' runs, and a reading of a
    // record deposited in the same run starts the next.
    for i in 0..40 {
        deposit(
            &archive,
            &format!("Facture n° F-{i}, total TTC : 1 200,00 EUR"),
            "FIN-FAC",
            "2024-02-01",
        );
        if i % 5 == 4 {
            archive.index_all().expect("indexed");
            archive.read_pending().expect("read");
        }
    }
    // Between runs: reclassifications (the node index moves), new
    // versions, a publication, a disposal; then deposits again.
    let first = deposit(&archive, "à reclasser", "FIN-FAC", "2010-01-10");
    let changes = RecordChanges {
        reason: "erreur de classement".into(),
        node: Some("FIN-MAN".into()),
        ..RecordChanges::default()
    };
    archive
        .update(&Actor::system(), first.reference.as_str(), changes)
        .expect("reclassify");
    let upload = Upload {
        staged: archive.stage(&mut &b"seconde version"[..]).expect("stage"),
        filename: Some("v2.txt".into()),
    };
    archive
        .add_version(&Actor::system(), first.reference.as_str(), upload)
        .expect("version");
    // The publication lengthens the délibérations' rule: their due marks
    // and the due index change, from the node index, records untouched.
    let deliberation = deposit(&archive, "délibération", "ADM-DEL", "2015-03-15");
    assert_eq!(
        deliberation.due.as_ref().map(|d| d.date),
        NaiveDate::from_ymd_opt(2016, 3, 15)
    );
    let plan = crate::policies::DEFAULT_PLAN
        .replacen("version = \"2026.1\"", "version = \"2026.2\"", 1)
        .replacen(
            "id = \"DELIBERATIONS\"\nduration = \"P1Y\"",
            "id = \"DELIBERATIONS\"\nduration = \"P2Y\"",
            1,
        );
    let published = archive
        .publish_plan(&Actor::system(), &plan, &Publish::default())
        .expect("publish");
    assert!(published.impact.due_changed > 60, "{:?}", published.impact);
    let lengthened = NaiveDate::from_ymd_opt(2017, 3, 15);
    let read = archive.catalog.record(&deliberation.id).expect("read").expect("there");
    assert_eq!(read.due.as_ref().map(|d| d.date), lengthened);
    assert_eq!(
        Record {
            due: deliberation.due.clone(),
            ..read
        },
        deliberation,
        "nothing else changed"
    );
    let listed: Vec<NaiveDate> = archive
        .catalog
        .due_until(NaiveDate::from_ymd_opt(2200, 1, 1).expect("date"))
        .map(|d| d.expect("due"))
        .filter(|(_, id, _)| *id == deliberation.id)
        .map(|(day, _, _)| day)
        .collect();
    assert_eq!(
        listed,
        lengthened.into_iter().collect::<Vec<_>>(),
        "moved in the due index"
    );
    let proposal = ProposalRequest {
        at: None,
        node: Some("FIN-FAC".into()),
        records: Vec::new(),
    };
    let id = archive
        .propose_disposal(&Actor::system(), proposal)
        .expect("propose")
        .proposal
        .id;
    let visa = VisaRequest {
        visa: "AD-1".into(),
        signer: "Archives".into(),
        date: None,
        struck: Vec::new(),
    };
    archive.approve_disposal(&Actor::system(), id, visa).expect("approve");
    archive.execute_disposal(&Actor::system(), id).expect("execute");
    for i in 0..700 {
        // More than a run: the rebuild cuts it.
        deposit(&archive, &format!("après {i}"), "FIN-MAN", "2024-06-01");
    }
    let scopes: Vec<String> = ["FIN-FAC", "FIN-MAN", "ADM-DEL"]
        .iter()
        .flat_map(|node| (2000..2030).map(move |year| format!("{node}/{year}")))
        .chain(["ADM-DEL".to_owned(), "FIN-FAC".to_owned(), "FIN-MAN".to_owned()])
        .collect();
    let before = view(&archive, &scopes);
    assert!(before.records.len() > 900, "{}", before.records.len());
    assert!(before.counters.iter().any(|(_, n)| *n > 20), "{:?}", before.counters);
    let readings = before.records.iter().filter(|r| r.contains("reading: Some")).count();
    assert!(readings >= 40, "{readings} records read");
    assert!(!before.to_verify.is_empty(), "readings left fields to verify");
    archive.index_all().expect("indexed");
    let found = searched(&archive);
    assert!(found.iter().all(|(_, total, _)| *total > 0), "{found:?}");
    drop(archive);
    // The rebuild deletes the index too, and feeds the new one beside the
    // catalog's replay.
    std::fs::write(data_dir.index_path().join("left-by-the-old-index"), b"").expect("marker");

    let rebuilt = Archive::rebuild(&data_dir, options(), Arc::new(SystemClock)).expect("rebuild");
    assert!(!data_dir.index_path().join("left-by-the-old-index").exists());
    assert_eq!(rebuilt.index.applied().expect("applied"), rebuilt.journal_head());
    assert_eq!(searched(&rebuilt), found);
    let after = view(&rebuilt, &scopes);
    assert_eq!(after.counters, before.counters);
    assert_eq!(after.nodes, before.nodes);
    assert_eq!(after.due, before.due);
    assert_eq!(after.references, before.references);
    assert_eq!(after.disposals, before.disposals);
    assert_eq!(after.unread, before.unread);
    assert_eq!(after.to_verify, before.to_verify);
    assert_eq!(after.records, before.records);
}
