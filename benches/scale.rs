//! At a million records: the operations that once read every record.
//!
//! A real archive (`Archive::init`, the default plan) whose catalog is
//! filled with 1,000,000 synthetic records spread evenly over the plan's
//! thirteen leaf nodes, applied at the journal's head so that
//! `Archive::open` takes it as up to date (the figures are of the catalog's
//! indexes, not of deposits: those are in the ingest benchmark). Measured,
//! each next to what the same question costs by reading every record (the
//! way it was answered before the indexes, and what any other answer would
//! have to beat):
//!
//! * publishing a plan: its impact (a dry run) and its publication, for a
//!   plan changing only its version (no node's retention changes) and for
//!   one lengthening the rule of one node (its records are looked at);
//! * an erasure's question "which other live records hold this blob?",
//!   for a blob held by one record and for one held by 1,000;
//! * the indicators (`/api/v1/stats`, `/metrics`): records by node,
//!   service, state and channel, those due and those a hold freezes;
//! * a disposal of 100,000 lines (one record in ten, long due for
//!   destruction, each with its content and metadata document on disk):
//!   proposed, approved, executed (tombstones, blobs erased), with the
//!   size of its largest event, next to rewriting those records once in
//!   the catalog and to reading every record.
//!
//! `COFFRE_SCALE_RECORDS` sets another count. Run with `make bench`; writes
//! the scale section of BENCHMARKS.md.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/report.rs"]
mod report;
#[path = "support/synthetic.rs"]
mod synthetic;

use chrono::{Days, NaiveDate, Utc};
use coffre::archive::{Actor, Archive, DataDir, Publish};
use coffre::domain::clock::SystemClock;
use coffre::domain::hash::Sha256;
use coffre::domain::record::{NodeCode, Record, RecordState};
use coffre::store::catalog_fjall::FjallCatalog;
use coffre::store::{Catalog, CatalogWrite};
use in_process::{median, options};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};
use synthetic::id_of;

const BATCH: u64 = 10_000;
const REPEATS: usize = 5;
/// Every this many records share one content.
const SHARED_EVERY: u64 = 1_000;

fn records_wanted() -> u64 {
    std::env::var("COFFRE_SCALE_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

fn content_of(i: u64) -> Sha256 {
    if i.is_multiple_of(SHARED_EVERY) {
        Sha256::of(b"one content many records hold")
    } else {
        Sha256::of(&i.to_be_bytes())
    }
}

/// Whether record `i` (else filed in `node`) is long due for destruction:
/// one record in ten, none from the node the plans below change, the next
/// record standing in for those. It is then filed among the cash
/// documents of 2015 (a year's retention, then destroyed).
fn leaving(i: u64, node: &NodeCode, changed: &NodeCode, leaves: &[NodeCode]) -> bool {
    let node_of = |n: u64| &leaves[(n % leaves.len() as u64) as usize];
    (i % 10 == 5 && node != changed) || (i % 10 == 6 && node_of(i - 1) == changed)
}

/// Record `i`, filed in `node`. Within the last 300 days: under the
/// default plan's rules (a year at least), none is due yet.
fn record(i: u64, node: &NodeCode) -> Record {
    synthetic::record(i, node, Utc::now().date_naive() - Days::new(1 + i % 300), content_of(i))
}

/// `100000` as `100,000`, as this report writes numbers.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Reads every record, as the questions were answered before the indexes.
fn scan(catalog: &dyn Catalog, mut keep: impl FnMut(&Record)) -> Duration {
    let t = Instant::now();
    for record in catalog.records() {
        keep(&record.expect("record"));
    }
    t.elapsed()
}

fn main() {
    let records = records_wanted();
    let root = std::env::temp_dir().join(format!("coffre-bench-scale-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("bench folder");
    let data_path = root.join("data");
    Archive::init(
        &DataDir::new(&data_path),
        options(),
        Arc::new(SystemClock),
        coffre::policies::DEFAULT_PLAN,
    )
    .expect("init");
    let plan = coffre::policies::load_plan(coffre::policies::DEFAULT_PLAN).expect("default plan");
    let leaves: Vec<NodeCode> = plan
        .nodes
        .iter()
        .filter(|n| !plan.nodes.iter().any(|c| c.parent.as_ref() == Some(&n.code)))
        .map(|n| n.code.clone())
        .collect();
    let changed_node = NodeCode::parse("ADM-ART").expect("node");
    assert!(
        leaves.contains(&changed_node),
        "the default plan's temporary orders node"
    );

    // The records, at the journal's head; the catalog reckons their due
    // dates from the default plan's rules.
    let treasury = NodeCode::parse("FIN-TRE").expect("node");
    let old_day = NaiveDate::from_ymd_opt(2015, 1, 1).expect("date");
    let started = Instant::now();
    let catalog = FjallCatalog::open(&DataDir::new(&data_path).catalog_path()).expect("catalog");
    let head = catalog.last_applied().expect("head");
    let blobs = coffre::store::blob_fs::FsBlobStore::open(&DataDir::new(&data_path).blobs_path()).expect("blobs");
    let mut leaving_records = Vec::new();
    let mut i = 0;
    while i < records {
        let mut writes = Vec::new();
        for n in i..(i + BATCH).min(records) {
            let node = &leaves[(n % leaves.len() as u64) as usize];
            if leaving(n, node, &changed_node, &leaves) {
                // Long due for destruction: cash documents of 2015.
                let mut r = synthetic::record(n, &treasury, old_day, content_of(n));
                r.metadata_history = vec![r.metadata_sha256];
                // Its content and metadata document, on disk to be erased.
                for sha in [r.versions[0].sha256, r.metadata_sha256] {
                    let path = blobs.path_of(&sha);
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir).expect("blob folder");
                    }
                    std::fs::write(&path, sha.hex()).expect("blob");
                }
                leaving_records.push(r.clone());
                writes.push(CatalogWrite::PutRecord(Box::new(r)));
            } else {
                writes.push(CatalogWrite::PutRecord(Box::new(record(n, node))));
            }
        }
        catalog.apply(head, writes).expect("apply");
        i += BATCH;
    }
    drop(blobs);
    catalog.flush().expect("flush");
    let load = started.elapsed();
    eprintln!("{records} records written in {load:?}, {} due", leaving_records.len());

    // Which other live records hold a blob: through the content index, and
    // by reading every record.
    let mut blob_rows = String::new();
    for (what, blob) in [
        ("held by one record", content_of(1)),
        ("held by 1 record in 1,000", content_of(0)),
    ] {
        let gone = id_of(1);
        let mut holders = 0;
        let mut times = Vec::new();
        for _ in 0..=REPEATS {
            let t = Instant::now();
            holders = 0;
            for id in catalog.records_holding(&blob).expect("holding") {
                if id != gone
                    && catalog
                        .record(&id)
                        .expect("record")
                        .is_some_and(|r| r.state == RecordState::Active)
                {
                    holders += 1;
                }
            }
            times.push(t.elapsed());
        }
        times.remove(0);
        let indexed = median(times);
        let mut scanned_holders = 0;
        let scanned = scan(&catalog, |r| {
            if r.id != gone && r.state == RecordState::Active && r.versions.iter().any(|v| v.sha256 == blob) {
                scanned_holders += 1;
            }
        });
        assert_eq!(holders, scanned_holders, "both ways find the same holders");
        eprintln!("blob {what}: {holders} others, index {indexed:?}, scan {scanned:?}");
        let _ = writeln!(
            blob_rows,
            "| which other live records hold a blob {what} ({holders} others) | {} | {} | {:.0}× |",
            ms(indexed),
            ms(scanned),
            scanned.as_secs_f64() / indexed.as_secs_f64().max(1e-9)
        );
    }
    // The scan a publication did before: every record read and counted.
    let mut counted = 0u64;
    let plan_scan = scan(&catalog, |_| counted += 1);
    assert_eq!(counted, records);
    // What any disposal must at least do: rewrite each leaving record once
    // in the catalog (here as it is, in batches of a part's size).
    let t = Instant::now();
    for part in leaving_records.chunks(coffre::domain::disposition::PART_LINES) {
        let writes = part
            .iter()
            .map(|r| CatalogWrite::PutRecord(Box::new(r.clone())))
            .collect();
        catalog.apply(head, writes).expect("apply");
    }
    catalog.flush().expect("flush");
    let rewrite = t.elapsed();
    let leaving_count = leaving_records.len();
    drop(leaving_records);
    drop(catalog);

    let archive = Archive::open(&DataDir::new(&data_path), options(), Arc::new(SystemClock)).expect("open");
    let actor = Actor::command_line();
    let base = coffre::policies::DEFAULT_PLAN;
    let only_version = base.replacen("version = \"2026.1\"", "version = \"2026.2\"", 1);
    let longer = base.replacen("duration = \"P5Y\"", "duration = \"P6Y\"", 1);
    assert_ne!(only_version, base);
    assert_ne!(longer, base);
    let mut plan_rows = String::new();
    for (what, text) in [
        ("a plan changing only its version", &only_version),
        ("a plan lengthening the rule of one node (`ADM-ART`)", &longer),
    ] {
        let mut visited = 0;
        let mut times = Vec::new();
        for _ in 0..=REPEATS {
            let t = Instant::now();
            let publication = archive
                .publish_plan(
                    &actor,
                    text,
                    &Publish {
                        dry_run: true,
                        confirmation: None,
                    },
                )
                .expect("impact");
            times.push(t.elapsed());
            visited = publication.impact.due_changed;
            assert_eq!(publication.impact.records, records, "every record counted");
        }
        times.remove(0);
        let impact = median(times);
        // Published, then the default plan again, so that each run starts
        // from the same plan in force.
        let t = Instant::now();
        archive
            .publish_plan(&actor, text, &Publish::default())
            .expect("publish");
        let published = t.elapsed();
        archive
            .publish_plan(
                &actor,
                base,
                &Publish {
                    dry_run: false,
                    confirmation: Some("retour au plan de départ".into()),
                },
            )
            .expect("publish back");
        eprintln!("{what}: {visited} changed, impact {impact:?}, published in {published:?}, scan {plan_scan:?}");
        let _ = writeln!(
            plan_rows,
            "| {what}: impact (dry run), {visited} records' due dates change | {} | {} | {:.0}× |",
            ms(impact),
            ms(plan_scan),
            plan_scan.as_secs_f64() / impact.as_secs_f64().max(1e-9)
        );
        let _ = writeln!(
            plan_rows,
            "| {what}: published (journaled, catalog projected) | {} | {} | {:.1}× |",
            ms(published),
            ms(plan_scan),
            plan_scan.as_secs_f64() / published.as_secs_f64().max(1e-9)
        );
    }
    // The indicators (`/api/v1/stats`, `/metrics`), with holds on a node and
    // on a record (neither among the records leaving below): from the
    // catalog's tallies, its due index and the holds' scopes.
    for (node, record) in [(Some("ADM"), None), (None, Some(id_of(1).to_string()))] {
        let request = coffre::archive::HoldRequest {
            record,
            node: node.map(str::to_owned),
            query: None,
            reason: "contentieux".into(),
            owner: None,
            review: None,
        };
        archive.place_hold(&actor, request).expect("hold");
    }
    let schedule = coffre::archive::fixity::FixitySchedule::default();
    let mut times = Vec::new();
    let mut stats = None;
    for _ in 0..=REPEATS {
        let t = Instant::now();
        stats = Some(archive.stats(&actor, &schedule).expect("stats"));
        times.push(t.elapsed());
    }
    times.remove(0);
    let indicators = median(times);
    let stats = stats.expect("measured");
    assert_eq!(stats.records, records, "every record counted");
    assert_eq!(stats.due as usize, leaving_count, "every record due counted");
    assert!(stats.held > 0, "the held records counted");
    eprintln!(
        "indicators: {indicators:?} ({} due, {} held), scan {plan_scan:?}",
        stats.due, stats.held
    );
    let stats_row = format!(
        "| the indicators (`/api/v1/stats`, `/metrics`: records by node, service, state and channel, {due} due, {held} held) | {} | {} | {:.0}× |\n",
        ms(indicators),
        ms(plan_scan),
        plan_scan.as_secs_f64() / indicators.as_secs_f64().max(1e-9),
        due = thousands(stats.due as usize),
        held = thousands(stats.held as usize),
    );

    // A disposal of every record due: proposed, approved, executed.
    let t = Instant::now();
    let request = coffre::archive::ProposalRequest {
        at: Some("2026-01-01".into()),
        node: None,
        records: Vec::new(),
    };
    let proposed = archive.propose_disposal(&actor, request).expect("propose");
    let propose_time = t.elapsed();
    let id = proposed.proposal.id;
    assert_eq!(
        proposed.proposal.lines.len(),
        leaving_count,
        "every record due is a line"
    );
    drop(proposed);
    let t = Instant::now();
    let visa = coffre::archive::VisaRequest {
        visa: "AD-2026-100".into(),
        signer: "Archives départementales".into(),
        date: None,
        struck: Vec::new(),
    };
    archive.approve_disposal(&actor, id, visa).expect("approve");
    let approve_time = t.elapsed();
    let t = Instant::now();
    let executed = archive.execute_disposal(&actor, id).expect("execute");
    let execute_time = t.elapsed();
    let execution = executed.execution.as_ref().expect("executed");
    assert_eq!(execution.destroyed as usize, leaving_count, "every line destroyed");
    assert_eq!(
        execution.erased.len(),
        2 * leaving_count,
        "content and metadata of each"
    );
    assert!(execution.erased_seq.is_some(), "erased");
    drop(executed);
    let (mut events, mut largest, mut total_bytes) = (0usize, 0usize, 0usize);
    let mut after = id - 1;
    loop {
        let batch = archive.events(&actor, after, 1000).expect("events");
        let Some(last) = batch.last() else { break };
        after = last.seq;
        for event in batch.iter().filter(|e| e.kind.starts_with("disposal.")) {
            let size = event.to_line().len();
            events += 1;
            largest = largest.max(size);
            total_bytes += size;
        }
    }
    eprintln!(
        "disposal of {leaving_count}: proposed {propose_time:?}, approved {approve_time:?}, executed {execute_time:?}; \
         {events} events, largest {largest} bytes, {total_bytes} bytes in all; rewrite {rewrite:?}"
    );
    let disposal_rows = format!(
        "| a disposal of {lines} lines: proposed ({parts} events) | {} | {} | {:.1}× |\n\
         | the same: visa recorded | {} | {} | {:.0}× |\n\
         | the same: executed ({lines} tombstones, {blobs} blobs erased, index purged) | {} | {} | {:.1}× |\n",
        ms(propose_time),
        ms(rewrite),
        rewrite.as_secs_f64() / propose_time.as_secs_f64().max(1e-9),
        ms(approve_time),
        ms(rewrite),
        rewrite.as_secs_f64() / approve_time.as_secs_f64().max(1e-9),
        ms(execute_time),
        ms(rewrite),
        rewrite.as_secs_f64() / execute_time.as_secs_f64().max(1e-9),
        lines = thousands(leaving_count),
        parts = leaving_count.div_ceil(coffre::domain::disposition::PART_LINES),
        blobs = thousands(2 * leaving_count),
    );
    drop(archive);
    let _ = std::fs::remove_dir_all(&root);
    let section = format!(
        "<!-- scale:begin -->\n\
         Command: `make bench` (`cargo bench --bench scale`). Date: {date}. Same machine as above.\n\n\
         An archive (the default plan) whose catalog holds {records} records (synthetic, written at the journal's \
         head in {load:.0} s, spread evenly over the plan's {leaves} leaf nodes; one record in {SHARED_EVERY} \
         shares one content; each dated within the last 300 days, but one in ten filed among the cash documents \
         of 2015, long due; the catalog places each in its due index under the plan's rules). Each figure is the \
         median of {REPEATS} runs after a warm-up, except a \
         publication (one run). The baseline is the same question answered by reading every record of the \
         catalog, as coffre did before its node and content indexes (`Catalog::records`, each record decoded), \
         timed in the same run. Ratio = baseline / coffre. A publication's impact counts what its rules change \
         from the node index (each record's date, start events, date fields and review decision); the \
         publication writes the plan's rules, from which the catalog reckons due dates when records are read \
         or listed (its due index is by start date), so a new duration rewrites no record and no index line; \
         before the indexes it read and rewrote every record whose due date changed.\n\n\
         | operation | coffre | reading every record | ratio |\n|---|---|---|---|\n{plan_rows}{blob_rows}{stats_row}\n\
         A disposal of every record due ({leaving} records, one in ten, each with its content and metadata \
         document on disk), proposed, approved and executed through the archive as an archivist does. Its \
         events carry at most {part} lines or outcomes each: {events} events, the largest {largest} bytes \
         ({total} bytes in all), where one event carrying every line would have held them all at once. The baseline is \
         rewriting those records once in the catalog, in batches of {part} (a disposal must at least do \
         that; coffre rewrites each record twice, its history at the proposal and its tombstone at the \
         execution, and reads the due-date index, the holds and the content index besides).\n\n\
         | operation | coffre | rewriting the records once | ratio |\n|---|---|---|---|\n{disposal_rows}\
         <!-- scale:end -->",
        date = Utc::now().date_naive(),
        load = load.as_secs_f64(),
        leaves = leaves.len(),
        leaving = thousands(leaving_count),
        part = coffre::domain::disposition::PART_LINES,
        largest = thousands(largest),
        total = thousands(total_bytes),
    );
    report::write_section("scale", "At a million records", &section);
}
