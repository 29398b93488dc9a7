//! Disposals and transfers too long for one event: the proposal and the
//! execution come in parts (here of 3 lines, 1,000 in service), each a
//! bounded event; the disposal read back is whole; a proposal interrupted
//! between its parts is abandoned when the archive opens again, and an
//! execution interrupted between its parts is taken up and finished; a
//! catalog rebuilt from the journal gives the same disposal.

use super::*;
use crate::archive::disposals::VisaRequest;
use crate::archive::disposition::ProposalRequest;
use crate::domain::clock::SystemClock;
use crate::domain::disposition::{Disposal, DisposalState};
use crate::domain::event::EventBody;
use crate::errors::Code;
use crate::store::faulty::{Failure, JournalStep, Trigger};

use super::tests_support::options as default_options;

/// Parts of three lines.
const PART: usize = 3;

fn options() -> ArchiveOptions {
    ArchiveOptions {
        part_lines: PART,
        ..default_options()
    }
}

struct Quiet;
impl audit::Progress for Quiet {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
}

/// An archive on disk with the default plan and `n` invoices long due for
/// destruction (one shares its content with another); their references.
fn archive_with_old_invoices(n: usize) -> (tempfile::TempDir, DataDir, Vec<String>) {
    let (tmp, data_dir, archive) = super::tests_support::on_disk(options());
    let references = (0..n)
        .map(|i| {
            // The last two hold the same bytes: a blob two lines share.
            let text = format!("Facture n° {} de 2000, fournitures", i.min(n - 2));
            let upload = Upload {
                staged: archive.stage(&mut text.as_bytes()).expect("stage"),
                filename: Some("facture.txt".into()),
            };
            let deposit = Deposit {
                node: Some("FIN-FAC".into()),
                date: Some("2000-01-15".into()),
                ..Deposit::default()
            };
            archive
                .ingest(&Actor::system(), deposit, upload)
                .expect("deposit")
                .reference
                .to_string()
        })
        .collect();
    (tmp, data_dir, references)
}

fn proposal() -> ProposalRequest {
    ProposalRequest {
        at: None,
        node: Some("FIN-FAC".into()),
        records: Vec::new(),
    }
}

fn visa(struck: Vec<String>) -> VisaRequest {
    VisaRequest {
        visa: "AD-2026-017".into(),
        signer: "Archives départementales".into(),
        date: None,
        struck,
    }
}

/// The archive on a journal whose appends fail from the `at`-th on (a
/// disk that fills up, a process about to be killed).
fn open_failing_from(data_dir: &DataDir, at: u64) -> Archive {
    let stores = Stores::on_disk(data_dir, &options())
        .expect("stores")
        .with_faulty_journal(Trigger::from(at, Failure::NoSpace), JournalStep::Refused);
    Archive::open_stores(
        data_dir.clone(),
        stores,
        options(),
        Arc::new(SystemClock),
        Start::Resume,
    )
    .expect("open on the failing journal")
}

/// Every event of the journal, in order.
fn events(archive: &Archive) -> Vec<crate::domain::event::Event> {
    archive
        .journal
        .read_from(1)
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("events")
}

/// Each event's size in lines or outcomes, for those that carry them.
fn carried(event: &crate::domain::event::Event) -> Option<usize> {
    match &event.body().expect("a known event") {
        EventBody::DisposalProposed { lines, excluded, .. } | EventBody::DisposalLines { lines, excluded, .. } => {
            Some(lines.len().max(excluded.len()))
        }
        EventBody::DisposalDestroyed { outcomes, .. } | EventBody::DisposalExecuted { outcomes, .. } => {
            Some(outcomes.len())
        }
        _ => None,
    }
}

fn check_whole(archive: &Archive, what: &str) {
    let report = archive
        .verify(&Actor::system(), &Quiet)
        .expect("the integrity check runs");
    assert!(report.passed(), "{what}: {:?}", report.failures);
}

#[test]
fn a_long_disposal_is_proposed_and_executed_in_bounded_parts_and_reads_back_whole() {
    let (_tmp, data_dir, references) = archive_with_old_invoices(8);
    let archive = Archive::open(&data_dir, options(), Arc::new(SystemClock)).expect("open");
    let actor = Actor::system();
    let proposed = archive.propose_disposal(&actor, proposal()).expect("propose");
    let id = proposed.proposal.id;
    assert_eq!(proposed.proposal.lines.len(), 8, "every line reads back");
    assert_eq!(proposed.proposal.line_count(), 8);
    assert!(proposed.proposal.is_complete());
    assert_eq!(
        proposed.proposal.totals.parts, 2,
        "8 lines in parts of 3: the proposal and 2 more"
    );
    let header = archive.catalog.disposal(id).expect("read").expect("stored");
    assert!(
        header.proposal.lines.is_empty(),
        "the catalog keeps the lines apart from the disposal"
    );

    // The visa strikes one line: 7 are to go, in parts of 3.
    let struck = references[0].clone();
    archive
        .approve_disposal(&actor, id, visa(vec![struck.clone()]))
        .expect("approve");
    let executed = archive.execute_disposal(&actor, id).expect("execute");
    assert_eq!(executed.state, DisposalState::Executed);
    let execution = executed.execution.as_ref().expect("executed");
    assert_eq!(execution.outcomes.len(), 7);
    assert_eq!((execution.destroyed, execution.skipped, execution.parts), (7, 0, 3));
    assert!(execution.erased_seq.is_some(), "the blobs are erased");
    // The shared content goes with the last of its two records, once.
    assert_eq!(
        execution.erased.len(),
        7 + 6,
        "7 metadata documents and 6 distinct contents"
    );
    assert_eq!(execution.erased_count, 13);

    let all = events(&archive);
    let mine: Vec<_> = all.iter().filter(|e| carried(e).is_some()).collect();
    let kinds: Vec<&str> = mine.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "disposal.proposed",
            "disposal.lines",
            "disposal.lines",
            "disposal.destroyed",
            "disposal.destroyed",
            "disposal.destroyed",
            "disposal.executed",
        ]
    );
    assert!(
        mine.iter().all(|e| carried(e).is_some_and(|n| n <= PART)),
        "no event carries more than a part"
    );
    assert_eq!(carried(mine[6]), Some(0), "the closing event carries no outcome");

    for reference in &references[1..] {
        let record = archive.record(&actor, reference).expect("the tombstone");
        assert!(record.tombstone.is_some(), "{reference} is destroyed");
    }
    let kept = archive.record(&actor, &struck).expect("the struck record");
    assert!(kept.tombstone.is_none(), "the struck line is kept");
    check_whole(&archive, "after the execution");
    let before = archive.disposal(&actor, id).expect("read");
    drop(archive);

    // The catalog rebuilt from the journal gives the same disposal.
    let rebuilt = Archive::rebuild(&data_dir, options(), Arc::new(SystemClock)).expect("rebuild");
    let after = rebuilt.disposal(&actor, id).expect("read");
    assert_eq!(after, before);
}

#[test]
fn a_proposal_interrupted_between_its_parts_is_abandoned_at_the_next_start() {
    let (_tmp, data_dir, references) = archive_with_old_invoices(7);
    let archive = open_failing_from(&data_dir, 2);
    let refused = archive
        .propose_disposal(&Actor::system(), proposal())
        .expect_err("the disk is full");
    assert_eq!(refused.code(), Code::StorageFull);
    let id = archive.catalog.disposals().expect("list")[0].proposal.id;
    let incomplete = archive.disposal(&Actor::system(), id).expect("read");
    assert!(!incomplete.proposal.is_complete());
    assert_eq!(incomplete.proposal.lines.len(), PART, "only the first part landed");
    let early = archive
        .approve_disposal(&Actor::system(), id, visa(Vec::new()))
        .expect_err("incomplete");
    assert_eq!(early.code(), Code::DisposalState);
    drop(archive);

    let archive = Archive::open(&data_dir, options(), Arc::new(SystemClock)).expect("reopen");
    let abandoned = archive.disposal(&Actor::system(), id).expect("read");
    assert_eq!(abandoned.state, DisposalState::Abandoned);
    assert!(
        abandoned
            .abandoned
            .as_deref()
            .is_some_and(|why| why.contains("dressez-en une nouvelle"))
    );
    let refused = archive
        .approve_disposal(&Actor::system(), id, visa(Vec::new()))
        .expect_err("abandoned");
    assert_eq!(refused.code(), Code::DisposalState);
    let refused = archive.execute_disposal(&Actor::system(), id).expect_err("abandoned");
    assert_eq!(refused.code(), Code::DisposalState);
    // Its records are free for a new proposal, which takes them all.
    let again = archive
        .propose_disposal(&Actor::system(), proposal())
        .expect("propose again");
    assert_eq!(again.proposal.lines.len(), references.len());
    assert!(again.proposal.excluded.is_empty(), "{:?}", again.proposal.excluded);
    check_whole(&archive, "after the abandon");
    drop(archive);
    let reopened = Archive::open(&data_dir, options(), Arc::new(SystemClock)).expect("reopen");
    let abandons = events(&reopened)
        .iter()
        .filter(|e| e.kind == "disposal.abandoned")
        .count();
    assert_eq!(abandons, 1, "abandoned once, not at every start");
}

#[test]
fn an_execution_interrupted_between_its_parts_is_taken_up_at_the_next_start() {
    let (_tmp, data_dir, references) = archive_with_old_invoices(7);
    let archive = Archive::open(&data_dir, options(), Arc::new(SystemClock)).expect("open");
    let id = archive
        .propose_disposal(&Actor::system(), proposal())
        .expect("propose")
        .proposal
        .id;
    archive
        .approve_disposal(&Actor::system(), id, visa(Vec::new()))
        .expect("approve");
    drop(archive);

    let archive = open_failing_from(&data_dir, 2);
    let refused = archive
        .execute_disposal(&Actor::system(), id)
        .expect_err("the disk is full");
    assert_eq!(refused.code(), Code::StorageFull);
    let midway: Disposal = archive.disposal(&Actor::system(), id).expect("read");
    assert_eq!(midway.state, DisposalState::Executing);
    assert_eq!(midway.execution.as_ref().map(|e| e.outcomes.len()), Some(PART));
    drop(archive);

    let archive = Archive::open(&data_dir, options(), Arc::new(SystemClock)).expect("reopen");
    let done = archive.disposal(&Actor::system(), id).expect("read");
    assert_eq!(done.state, DisposalState::Executed);
    let execution = done.execution.as_ref().expect("executed");
    assert_eq!(execution.outcomes.len(), references.len(), "each line once");
    assert_eq!(execution.destroyed, references.len() as u64);
    assert!(execution.erased_seq.is_some(), "and erased");
    for reference in &references {
        let record = archive.record(&Actor::system(), reference).expect("the tombstone");
        assert!(record.tombstone.is_some(), "{reference} is destroyed");
    }
    check_whole(&archive, "after taking the execution up");
    let parts: Vec<u32> = events(&archive)
        .iter()
        .filter_map(|e| match e.body().expect("a known event") {
            EventBody::DisposalDestroyed { part, .. } => Some(part),
            _ => None,
        })
        .collect();
    assert_eq!(parts, [1, 2, 3], "the parts follow each other across the restart");
}
