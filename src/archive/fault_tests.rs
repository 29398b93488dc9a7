//! Faults of the machine at each storage port (`store::faulty`): for every
//! write of a deposit, a plan's publication, a seal and a disposal's
//! proposal, visa and execution (opening the archive included), that
//! write fails, as a full disk or an
//! I/O error does. Each time, every step either completes or fails with
//! 503 (`unavailable`) or 507 (`storage_full`), never anything else; then
//! the archive reopens on its plain stores, its whole integrity check
//! passes, and what was acknowledged is there: the deposit readable, the
//! plan's version and the seal kept, the execution's records destroyed.

use super::*;
use crate::archive::disposals::VisaRequest;
use crate::archive::disposition::ProposalRequest;
use crate::domain::clock::SystemClock;
use crate::errors::Code;
use crate::store::faulty::{Failure, FaultyBlobs, FaultyCatalog, FaultyTree, JournalStep, Trigger};
use std::io::Read;

use super::tests_support::options;

/// The port a fault is put on.
#[derive(Debug, Clone, Copy)]
enum Port {
    Blobs,
    Catalog,
    Tree,
    Journal(JournalStep),
}

const PORTS: [Port; 5] = [
    Port::Blobs,
    Port::Catalog,
    Port::Tree,
    Port::Journal(JournalStep::Refused),
    Port::Journal(JournalStep::Landed),
];

struct Quiet;
impl audit::Progress for Quiet {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// An archive on disk with the default plan and one invoice long due for
/// destruction; its data directory and that invoice's reference.
fn archive_with_an_old_invoice() -> (tempfile::TempDir, DataDir, String) {
    let (tmp, data_dir, archive) = super::tests_support::on_disk(options());
    let old = deposit(&archive, "Facture de 2000, boulangerie Dupain", "2000-01-15").expect("deposit");
    drop(archive);
    (tmp, data_dir, old)
}

fn deposit(archive: &Archive, text: &str, date: &str) -> Result<String, ArchiveError> {
    let upload = Upload {
        staged: archive.stage(&mut text.as_bytes())?,
        filename: Some("facture.txt".into()),
    };
    let deposit = Deposit {
        node: Some("FIN-FAC".into()),
        date: Some(date.into()),
        ..Deposit::default()
    };
    Ok(archive.ingest(&Actor::system(), deposit, upload)?.reference.to_string())
}

/// The stores of `data_dir`, one port's writes failing as `trigger` says.
fn faulty_stores(data_dir: &DataDir, port: Port, trigger: &Arc<Trigger>) -> Result<Stores, ArchiveError> {
    let mut stores = Stores::on_disk(data_dir, &options())?;
    let trigger = Arc::clone(trigger);
    match port {
        Port::Blobs => {
            stores.blobs = Arc::new(FaultyBlobs {
                inner: stores.blobs,
                trigger,
            })
        }
        Port::Catalog => {
            stores.catalog = Arc::new(FaultyCatalog {
                inner: stores.catalog,
                trigger,
            })
        }
        Port::Tree => {
            stores.tree = Arc::new(FaultyTree {
                inner: stores.tree,
                trigger,
            })
        }
        Port::Journal(step) => return Ok(stores.with_faulty_journal(trigger, step)),
    }
    Ok(stores)
}

/// What the faulty run acknowledged.
#[derive(Default, Debug)]
struct Acknowledged {
    deposit: Option<String>,
    plan: Option<u32>,
    sealed: Option<u64>,
    executed: bool,
}

/// The default plan with one title changed: a new version to publish.
fn renamed_plan() -> String {
    crate::policies::DEFAULT_PLAN.replacen("title = \"Factures\"", "title = \"Factures des fournisseurs\"", 1)
}

/// Opens the archive on faulty stores and runs a deposit, then a
/// disposal of `old` to its execution, stopping at the first failure,
/// which must be a 503 or a 507.
fn run_with_fault(data_dir: &DataDir, old: &str, port: Port, trigger: &Arc<Trigger>) -> Result<Acknowledged, String> {
    let mut acked = Acknowledged::default();
    let clean = |e: ArchiveError| -> Result<(), String> {
        match e.code() {
            Code::Unavailable | Code::StorageFull => Ok(()),
            other => Err(format!("{port:?}, write {}: {other:?} ({e})", trigger.fired())),
        }
    };
    let archive = match faulty_stores(data_dir, port, trigger).and_then(|stores| {
        Archive::open_stores(
            data_dir.clone(),
            stores,
            options(),
            Arc::new(SystemClock),
            Start::Resume,
        )
    }) {
        Ok(a) => a,
        Err(e) => return clean(e).map(|()| acked),
    };
    match deposit(&archive, "Facture de 2001, fournitures scolaires", "2001-03-01") {
        Ok(reference) => acked.deposit = Some(reference),
        Err(e) => return clean(e).map(|()| acked),
    }
    match archive.publish_plan(&Actor::system(), &renamed_plan(), &Publish::default()) {
        Ok(publication) => acked.plan = publication.published.map(|p| p.number),
        Err(e) => return clean(e).map(|()| acked),
    }
    match archive.seal(&Actor::system()) {
        Ok(seal) => acked.sealed = Some(seal.tree_size),
        Err(e) => return clean(e).map(|()| acked),
    }
    let proposal = ProposalRequest {
        at: None,
        node: Some("FIN-FAC".into()),
        records: vec![old.to_owned()],
    };
    let id = match archive.propose_disposal(&Actor::system(), proposal) {
        Ok(d) => d.proposal.id,
        Err(e) => return clean(e).map(|()| acked),
    };
    let visa = VisaRequest {
        visa: "AD-2026-001".into(),
        signer: "Archives départementales".into(),
        date: None,
        struck: Vec::new(),
    };
    if let Err(e) = archive.approve_disposal(&Actor::system(), id, visa) {
        return clean(e).map(|()| acked);
    }
    match archive.execute_disposal(&Actor::system(), id) {
        Ok(_) => acked.executed = true,
        Err(e) => return clean(e).map(|()| acked),
    }
    Ok(acked)
}

/// Reopens the archive on its plain stores and checks it whole, and that
/// what was acknowledged is there.
fn reopen_and_verify(data_dir: &DataDir, old: &str, acked: &Acknowledged, what: &str) {
    let archive = Archive::open(data_dir, options(), Arc::new(SystemClock))
        .unwrap_or_else(|e| panic!("{what}: the archive does not reopen: {e}"));
    let report = archive
        .verify(&Actor::system(), &Quiet)
        .unwrap_or_else(|e| panic!("{what}: the integrity check does not run: {e}"));
    assert!(report.passed(), "{what}: {:?}", report.failures);
    if let Some(reference) = &acked.deposit {
        let (_, _, mut reader, _) = archive
            .content(&Actor::system(), reference, None)
            .unwrap_or_else(|e| panic!("{what}: the acknowledged deposit {reference} is lost: {e}"));
        let mut text = String::new();
        reader.read_to_string(&mut text).expect("read");
        assert_eq!(text, "Facture de 2001, fournitures scolaires", "{what}");
    }
    if let Some(number) = acked.plan {
        let versions = archive.plan_versions(&Actor::system()).expect("the plan's versions");
        assert!(
            versions.iter().any(|v| v.number == number),
            "{what}: plan version {number} is lost"
        );
    }
    if let Some(size) = acked.sealed {
        let seals = archive.seals(&Actor::system()).expect("the seals");
        assert!(
            seals.iter().any(|s| s.tree_size == size),
            "{what}: the seal over {size} events is lost"
        );
    }
    if acked.executed {
        let record = archive.record(&Actor::system(), old).expect("the tombstone");
        assert!(
            record.tombstone.is_some(),
            "{what}: the executed disposal left {old} whole"
        );
    }
}

/// Every write of every port, failed in turn.
fn every_write_fails_in_turn(port: Port) {
    for at in 1..=400u64 {
        let (_tmp, data_dir, old) = archive_with_an_old_invoice();
        let failure = if at % 2 == 0 { Failure::NoSpace } else { Failure::Io };
        let trigger = Trigger::once(at, failure);
        let acked = run_with_fault(&data_dir, &old, port, &trigger).unwrap_or_else(|e| panic!("{e}"));
        let what = format!("{port:?}, write {at} failing ({failure:?})");
        reopen_and_verify(&data_dir, &old, &acked, &what);
        if trigger.fired() == 0 {
            // Past the last write: the whole scenario ran without a fault.
            assert!(acked.executed, "{what}: {acked:?}");
            assert!(at > 3, "{port:?}: only {} writes in the whole scenario", at - 1);
            eprintln!("{port:?}: each of {} writes failed in turn", at - 1);
            return;
        }
    }
    panic!("{port:?}: more than 400 writes");
}

#[test]
fn a_failing_blob_store_loses_nothing_acknowledged() {
    every_write_fails_in_turn(PORTS[0]);
}

#[test]
fn a_failing_catalog_loses_nothing_acknowledged() {
    every_write_fails_in_turn(PORTS[1]);
}

#[test]
fn a_failing_merkle_tree_loses_nothing_acknowledged() {
    every_write_fails_in_turn(PORTS[2]);
}

#[test]
fn a_journal_refusing_appends_loses_nothing_acknowledged() {
    every_write_fails_in_turn(PORTS[3]);
}

#[test]
fn a_journal_failing_after_its_write_loses_nothing_acknowledged() {
    every_write_fails_in_turn(PORTS[4]);
}

/// A disk that stays full: writes are refused with 507, reads go on.
#[test]
fn a_full_disk_refuses_writes_and_serves_reads() {
    let (_tmp, data_dir, old) = archive_with_an_old_invoice();
    let trigger = Trigger::from(1, Failure::NoSpace);
    let stores = faulty_stores(&data_dir, Port::Blobs, &trigger).expect("stores");
    let archive = Archive::open_stores(
        data_dir.clone(),
        stores,
        options(),
        Arc::new(SystemClock),
        Start::Resume,
    )
    .expect("open");
    let refused = deposit(&archive, "Une facture de trop", "2024-01-01").expect_err("refused");
    assert_eq!(refused.code(), Code::StorageFull, "{refused}");
    let (_, _, mut reader, _) = archive.content(&Actor::system(), &old, None).expect("read");
    let mut text = String::new();
    reader.read_to_string(&mut text).expect("read");
    assert_eq!(text, "Facture de 2000, boulangerie Dupain");
    assert!(archive.record(&Actor::system(), &old).is_ok());
    drop(archive);
    reopen_and_verify(&data_dir, &old, &Acknowledged::default(), "a full disk");
}
