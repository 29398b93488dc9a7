//! Retention: `retention due` over an archive of 1,000,000 records
//! (synthetic), side by side with PostgreSQL answering the same question
//! from a table with a B-tree index on the due date.
//!
//! The archive is a real one (`Archive::init`, the default plan); its
//! catalog is then filled with 1,000,000 synthetic records (dated so that
//! their due dates under the default plan spread evenly over 1990–2059)
//! at the journal's head, so that `Archive::open` takes it as up to date; the figure is
//! `Archive::retention_due` (what `coffre retention due` and
//! `GET /retention/due` call) listing everything due at a date, for dates
//! where 1 %, 10 % and 50 % of the records are due. Run with `make bench`;
//! writes the retention section of BENCHMARKS.md.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/in_process.rs"]
mod in_process;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;
#[path = "support/report.rs"]
mod report;
#[path = "support/synthetic.rs"]
mod synthetic;

use chrono::{Days, NaiveDate, Utc};
use coffre::archive::{Actor, Archive, DataDir};
use coffre::domain::clock::SystemClock;
use coffre::domain::hash::Sha256;
use coffre::domain::record::{NodeCode, Record};
use coffre::domain::retention::{RecordFacts, RuleTable, latest_start_due_by};
use coffre::store::catalog_fjall::FjallCatalog;
use coffre::store::{Catalog, CatalogWrite};
use in_process::{median, options};
use pg_cluster::Postgres;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

const PG_PORT: &str = "55434";
const RECORDS: u64 = 1_000_000;
const BATCH: u64 = 20_000;
const REPEATS: usize = 5;
/// Nodes whose rules start on the record's date (kept or destroyed).
const NODES: [&str; 5] = ["FIN-FAC", "FIN-MAN", "FIN-TIT", "ADM-DEL", "FIN-TRE"];

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default()
}

/// Record `i`'s due date: spread evenly over 70 years.
fn due_of(i: u64) -> NaiveDate {
    let span = 70 * 365;
    first_day() + Days::new((i * 7919) % span)
}

/// The date by which `share` of the records are due.
fn date_for(share: f64) -> NaiveDate {
    first_day() + Days::new((70.0 * 365.0 * share) as u64)
}

/// Record `i`, dated so that under `rules` it falls due on or a few days
/// before `due_of(i)`.
fn record(i: u64, rules: &RuleTable) -> Record {
    let node = NodeCode::parse(NODES[(i % NODES.len() as u64) as usize]).expect("node");
    let rule = rules.rule(&node).expect("a rule for the node");
    let date = latest_start_due_by(rule.duration, due_of(i)).expect("a start");
    synthetic::record(i, &node, date, Sha256::of(&i.to_be_bytes()))
}

/// Its due date and what a listing shows of it, as the catalog reckons it.
fn due(record: &Record, rules: &RuleTable) -> coffre::domain::record::DueMark {
    rules.due_mark(RecordFacts::of(record)).expect("due")
}

fn main() {
    let root = std::env::temp_dir().join(format!("coffre-bench-retention-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("bench folder");
    let data_path = root.join("data");
    // A `DataDir` holds the directory's lock while it lives: this one goes
    // with the archive `init` opened.
    Archive::init(
        &DataDir::new(&data_path),
        options(),
        Arc::new(SystemClock),
        coffre::policies::DEFAULT_PLAN,
    )
    .expect("init");

    // The synthetic records, applied at the journal's head.
    let plan = coffre::policies::load_plan(coffre::policies::DEFAULT_PLAN).expect("default plan");
    let rules = RuleTable::of(&plan);
    let started = Instant::now();
    {
        let catalog = FjallCatalog::open(&DataDir::new(&data_path).catalog_path()).expect("catalog");
        let head = catalog.last_applied().expect("head");
        let mut i = 0;
        while i < RECORDS {
            let writes = (i..(i + BATCH).min(RECORDS))
                .map(|n| CatalogWrite::PutRecord(Box::new(record(n, &rules))))
                .collect();
            catalog.apply(head, writes).expect("apply");
            i += BATCH;
        }
        catalog.flush().expect("flush");
    }
    let load = started.elapsed();
    eprintln!("{RECORDS} records written in {load:?}");
    let archive = Archive::open(&DataDir::new(&data_path), options(), Arc::new(SystemClock)).expect("open");
    let actor = Actor::command_line();

    let pg = Postgres::start(&root, PG_PORT);
    let mut client = pg.as_ref().and_then(|p| p.client());
    if let Some(c) = client.as_mut() {
        let started = Instant::now();
        c.batch_execute(
            "CREATE TABLE due (id uuid PRIMARY KEY, reference text NOT NULL, node text NOT NULL, \
             rule text NOT NULL, final_action text NOT NULL, due date NOT NULL)",
        )
        .expect("create");
        let mut writer = c.copy_in("COPY due FROM STDIN").expect("copy");
        let mut buf = String::new();
        for n in 0..RECORDS {
            let r = record(n, &rules);
            let mark = due(&r, &rules);
            let _ = writeln!(
                buf,
                "{}\t{}\t{}\t{}\t{}\t{}",
                r.id, r.reference, r.node, mark.rule, mark.final_action, mark.date
            );
            if buf.len() > 1 << 20 {
                std::io::Write::write_all(&mut writer, buf.as_bytes()).expect("copy data");
                buf.clear();
            }
        }
        std::io::Write::write_all(&mut writer, buf.as_bytes()).expect("copy data");
        writer.finish().expect("copy end");
        c.batch_execute("CREATE INDEX due_by_date ON due (due, id)")
            .expect("index");
        c.batch_execute("VACUUM ANALYZE due").expect("vacuum");
        eprintln!("PostgreSQL loaded in {:?}", started.elapsed());
    } else {
        eprintln!("PostgreSQL could not be started; its column stays empty");
    }

    let mut rows = String::new();
    for share in [0.01, 0.10, 0.50] {
        let at = date_for(share);
        let mut listed = 0;
        let mut times = Vec::new();
        for _ in 0..=REPEATS {
            let t = Instant::now();
            let due = archive.retention_due(&actor, Some(at)).expect("due");
            times.push(t.elapsed());
            listed = due.len();
        }
        times.remove(0);
        let ours = median(times);
        let theirs = client.as_mut().map(|c| {
            let mut times = Vec::new();
            for _ in 0..=REPEATS {
                let t = Instant::now();
                let found = c
                    .query(
                        "SELECT id::text, reference, node, rule, final_action, due::text FROM due \
                         WHERE due <= $1::text::date ORDER BY due, id",
                        &[&at.to_string()],
                    )
                    .expect("query");
                times.push(t.elapsed());
                assert_eq!(found.len(), listed, "both list the same records");
            }
            times.remove(0);
            median(times)
        });
        eprintln!("{share}: {listed} due, coffre {ours:?}, PostgreSQL {theirs:?}");
        let _ = writeln!(
            rows,
            "| {at} | {listed} | {:.0} ms | {} | {} |",
            ours.as_secs_f64() * 1000.0,
            theirs.map_or("not run".into(), |d| format!("{:.0} ms", d.as_secs_f64() * 1000.0)),
            theirs.map_or(String::new(), |d| format!(
                "{:.2}×",
                d.as_secs_f64() / ours.as_secs_f64().max(1e-9)
            )),
        );
    }
    drop(client);
    drop(pg);
    drop(archive);
    let _ = std::fs::remove_dir_all(&root);
    let section = format!(
        "<!-- retention:begin -->\n\
         Command: `make bench` (`cargo bench --bench retention`). Date: {date}. Same machine as above.\n\n\
         An archive (the default plan) whose catalog holds {RECORDS} records (synthetic; dated so that their due \
         dates spread evenly over 1990–2059; written in {load:.1} s), and the same rows in PostgreSQL (a table \
         with a B-tree index on (due, id), after VACUUM ANALYZE). Each figure is the median of {REPEATS} runs after \
         a warm-up of listing every record due at the date, with its reference, node, rule and final action: \
         `Archive::retention_due`, what `coffre retention due --at` and `GET /retention/due?at=` call (no legal \
         hold is placed), against `SELECT … WHERE due <= $1 ORDER BY due, id` over a Unix socket. Ratio = \
         PostgreSQL's time / coffre's.\n\n\
         | at | records due | coffre | PostgreSQL | ratio |\n|---|---|---|---|---|\n{rows}\
         <!-- retention:end -->",
        date = Utc::now().date_naive(),
        load = load.as_secs_f64(),
    );
    report::write_section("retention", "Retention", &section);
}
