//! The circuits' indicators at a million records and five million circuit
//! events.
//!
//! 1,000,000 invoices enter the default plan's circuit `facture` and move
//! through it (received, service done, mandated, paid; one in two
//! suspended and resumed on the way; one in ten still waiting at the end),
//! on days spread over two years: about 5,000,000 events, written as the
//! journal writes its lines (each event's kind and payload as JSON) into a
//! file. Measured, in one run:
//!
//! * the baseline: reading that file and parsing every line into an event,
//!   which any computation from the journal must do;
//! * from scratch: the same reading and parsing, each event folded into the
//!   circuits' ledger and the stock's (`domain::indicators`), then every
//!   indicator computed (the payment chain by month, service and supplier,
//!   what waits where, the stock and the intake);
//! * incrementally: with the ledger holding all but the last 10,000 events,
//!   those folded one at a time as they would arrive, then every indicator
//!   computed again: the cost of an event, and of a dashboard's refresh.
//!
//! `COFFRE_INDICATOR_RECORDS` sets another count. Run with `make bench`;
//! writes the indicators section of BENCHMARKS.md.

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/report.rs"]
mod report;

use chrono::{Duration as Days, NaiveDate};
use coffre::domain::event::{CircuitEntry, EventBody, MoveFacts, VersionFacts};
use coffre::domain::hash::Sha256;
use coffre::domain::indicators::capture::{CaptureLedger, Scope};
use coffre::domain::indicators::health::HealthLedger;
use coffre::domain::indicators::{PaymentFilter, PaymentLedger, StockLedger, blockages, payment_indicators};
use coffre::domain::record::{NodeCode, RecordId, Reference};
use coffre::domain::verification::ReadValue;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::time::Instant;

const SERVICES: [&str; 6] = ["Voirie", "Culture", "Finances", "Écoles", "Sports", "Social"];
const INCREMENT: usize = 10_000;

fn records_wanted() -> u64 {
    std::env::var("COFFRE_INDICATOR_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> i64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n) as i64
    }
}

fn id(n: u64) -> RecordId {
    RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).expect("an id")
}

/// Every event of invoice `n`, in order.
fn life(n: u64, rng: &mut Rng, node: &NodeCode) -> Vec<EventBody> {
    let start = NaiveDate::from_ymd_opt(2024, 1, 1).expect("a day");
    let received = start + Days::days((n % 700) as i64);
    let service = SERVICES[(n % SERVICES.len() as u64) as usize].to_owned();
    let mut events = vec![EventBody::RecordIngested {
        record: id(n),
        reference: Reference::from_naming(format!("FIN-FAC-{n:08}")),
        node: node.clone(),
        year: 2024,
        number: n + 1,
        date: received,
        service: Some(service.clone()),
        document_type: Some("facture".into()),
        metadata: Sha256::of(&n.to_le_bytes()),
        version: VersionFacts {
            number: 1,
            sha256: Sha256::of(&(n + 1).to_le_bytes()),
            size: 40_000,
            media_type: "application/pdf".into(),
        },
        counter: None,
        plan_version: Some(1),
        classified_by: None,
        dated: None,
        channel: None,
        links: Vec::new(),
        aliases: Vec::new(),
        imported_from: None,
        to_verify: false,
        circuit: Some(CircuitEntry {
            circuit: "facture".into(),
            step: "recue".into(),
            date: received,
        }),
    }];
    // One invoice in ten is a scan whose fields are read (the LAD).
    if n.is_multiple_of(10) {
        let read = |name: &str, value: String, confidence: u8| ReadValue {
            name: name.into(),
            value,
            confidence,
            doubt: None,
        };
        events.push(EventBody::RecordRead {
            record: id(n),
            version: 1,
            fields: vec![
                read("fournisseur", format!("Fournisseur {}", n % 500), 95),
                read("numero_facture", format!("FA-{n}"), 99),
                read(
                    "montant_ttc",
                    format!("{}.00", 100 + n % 900),
                    if n.is_multiple_of(30) { 40 } else { 97 },
                ),
            ],
            missing: Vec::new(),
            to_verify: Vec::new(),
            metadata: None,
            template: None,
        });
    }
    let mut path = vec![("service_fait", rng.below(15))];
    if n.is_multiple_of(2) {
        path.insert(0, ("suspendue", rng.below(8)));
        path.insert(1, ("recue", 1 + rng.below(10)));
    }
    path.push(("mandatee", rng.below(15)));
    if !n.is_multiple_of(10) {
        path.push(("payee", rng.below(15)));
    }
    let (mut from, mut day) = ("recue", received);
    for (to, after) in path {
        day += Days::days(after);
        let paid = to == "payee";
        events.push(EventBody::RecordMoved {
            record: id(n),
            circuit: "facture".into(),
            from: from.into(),
            to: to.into(),
            date: day,
            closed: paid,
            comment: None,
            attachment: None,
            facts: MoveFacts {
                service: Some(service.clone()),
                supplier: paid.then(|| format!("Fournisseur {}", n % 500)),
                amount: paid.then(|| format!("{}.{:02}", 100 + rng.below(20_000), rng.below(100))),
            },
        });
        from = to;
    }
    events
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn ledger_with_plan() -> PaymentLedger {
    let plan = coffre::policies::load_plan(coffre::policies::DEFAULT_PLAN).expect("the default plan");
    let mut ledger = PaymentLedger::default();
    ledger.publish(&plan.circuits, &plan.late_payment_rates);
    ledger
}

/// The day an event took effect, as the time it is journaled at.
fn time_of(body: &EventBody) -> chrono::DateTime<chrono::Utc> {
    let day = match body {
        EventBody::RecordIngested { date, .. } | EventBody::RecordMoved { date, .. } => *date,
        _ => NaiveDate::from_ymd_opt(2024, 1, 1).expect("a day"),
    };
    day.and_hms_opt(12, 0, 0).expect("a time").and_utc()
}

/// Every fold: the circuits', the stock's, capture's and the health's.
struct Folds {
    ledger: PaymentLedger,
    stock: StockLedger,
    capture: CaptureLedger,
    health: HealthLedger,
}

impl Folds {
    fn new() -> Self {
        Folds {
            ledger: ledger_with_plan(),
            stock: StockLedger::default(),
            capture: CaptureLedger::new(Some((NodeCode::parse("FIN-PES").expect("a node"), None))),
            health: HealthLedger::default(),
        }
    }

    /// As the archive folds an event: the stock last.
    fn apply(&mut self, body: &EventBody) {
        let at = time_of(body);
        self.ledger.apply(body);
        let stock = &self.stock;
        self.capture.apply(body, at, |id| stock.place(id));
        self.health.apply(body, at, |id| stock.place(id));
        self.stock.apply(body, at);
    }
}

/// Every indicator the dashboard shows, on `today`; figures to print.
fn all_indicators(f: &Folds, today: NaiveDate) -> (u64, usize, u64, u64) {
    let payments = payment_indicators(f.ledger.payments(), &PaymentFilter::default());
    let waiting = blockages(&f.ledger, today, |_, _| true);
    let held = f.stock.indicators(|_, _| true).total.records;
    let capture = f.capture.indicators(&Scope::default());
    let health = f.health.indicators(&Scope::default());
    let read: u64 = capture.by_field.iter().map(|(_, c)| c.read_surely + c.doubtful).sum();
    (
        payments.overall.count,
        waiting.len(),
        held,
        read + health.months.len() as u64,
    )
}

fn main() {
    let records = records_wanted();
    let node = NodeCode::parse("FIN-FAC").expect("a node");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("journal.jsonl");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut events = 0u64;
    {
        let mut out = BufWriter::new(std::fs::File::create(&path).expect("the file"));
        for n in 0..records {
            for body in life(n, &mut rng, &node) {
                serde_json::to_writer(&mut out, &body).expect("written");
                out.write_all(b"\n").expect("written");
                events += 1;
            }
        }
        out.flush().expect("flushed");
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("a day");
    let read = || BufReader::with_capacity(1 << 20, std::fs::File::open(&path).expect("the file")).lines();

    // The baseline: read and parse every line.
    let started = Instant::now();
    let mut parsed = 0u64;
    for line in read() {
        let body: EventBody = serde_json::from_str(&line.expect("a line")).expect("an event");
        if matches!(
            body,
            EventBody::RecordMoved { .. } | EventBody::RecordIngested { .. } | EventBody::RecordRead { .. }
        ) {
            parsed += 1;
        }
    }
    let baseline = started.elapsed();
    assert_eq!(parsed, events);

    // From scratch: read, parse, fold, compute.
    let rss_before = rss_kib();
    let started = Instant::now();
    let mut folds = Folds::new();
    for line in read() {
        let body: EventBody = serde_json::from_str(&line.expect("a line")).expect("an event");
        folds.apply(&body);
    }
    let folded = started.elapsed();
    let computed_at = Instant::now();
    let (payments, groups, held, read_fields) = all_indicators(&folds, today);
    let computed = computed_at.elapsed();
    let scratch = started.elapsed();
    let rss_after = rss_kib();
    drop(folds);

    // Incrementally: all but the last events folded, then those one by one.
    let mut folds = Folds::new();
    let mut last: Vec<EventBody> = Vec::with_capacity(INCREMENT);
    let keep_from = events.saturating_sub(INCREMENT as u64);
    for (i, line) in read().enumerate() {
        let body: EventBody = serde_json::from_str(&line.expect("a line")).expect("an event");
        if (i as u64) < keep_from {
            folds.apply(&body);
        } else {
            last.push(body);
        }
    }
    let started = Instant::now();
    for body in &last {
        folds.apply(body);
    }
    let per_event = started.elapsed() / last.len().max(1) as u32;
    let started = Instant::now();
    let (again, _, held_again, read_again) = all_indicators(&folds, today);
    let refresh = started.elapsed();
    assert_eq!((again, held_again, read_again), (payments, held, read_fields));

    let secs = |d: std::time::Duration| d.as_secs_f64();
    let mut section = String::from("<!-- indicators:begin -->\n");
    section.push_str(&format!(
        "Command: `make bench` (`cargo bench --bench indicators`). Date: {}. Machine: {}.\n\n",
        chrono::Utc::now().format("%Y-%m-%d"),
        report::machine()
    ));
    section.push_str(&format!(
        "{records} invoices through the default plan's circuit `facture` over two years, one in ten with its \
         fields read: {events} events ({:.0} MB of journal lines), {payments} payments, {groups} groups of waiting \
         records, {held} records in the stock. Folded: the circuits' ledger, the stock's (by node, service, type, \
         year; intake by month; channels by day), capture's (deposits by channel and day, fields read and \
         corrected by field and supplier, PES flows) and the archive's health (departures, holds, fixity, \
         damage); computed: the payment chain, the blockages, the stock, capture and health. Baseline: reading \
         the lines and parsing each into an event. Ratio = the row's time / the baseline's.\n\n",
        bytes as f64 / 1e6
    ));
    section.push_str("| what | time | events/s | ratio to baseline |\n|---|---|---|---|\n");
    let rate = |d: std::time::Duration| events as f64 / secs(d).max(1e-9);
    section.push_str(&format!(
        "| baseline: read + parse every event | {:.1} s | {:.0} | 1.00 |\n",
        secs(baseline),
        rate(baseline)
    ));
    section.push_str(&format!(
        "| from scratch: read + parse + fold every event | {:.1} s | {:.0} | {:.2} |\n",
        secs(folded),
        rate(folded),
        secs(folded) / secs(baseline)
    ));
    section.push_str(&format!(
        "| from scratch: … then compute every indicator | {:.1} s (of which computing: {:.0} ms) | | {:.2} |\n",
        secs(scratch),
        computed.as_secs_f64() * 1e3,
        secs(scratch) / secs(baseline)
    ));
    section.push_str(&format!(
        "| incrementally: fold one event as it arrives | {:.2} µs | {:.0} | |\n",
        per_event.as_secs_f64() * 1e6,
        1.0 / per_event.as_secs_f64().max(1e-12)
    ));
    section.push_str(&format!(
        "| incrementally: compute every indicator again (a dashboard's refresh) | {:.0} ms | | |\n",
        refresh.as_secs_f64() * 1e3
    ));
    section.push_str(&format!(
        "\nThe ledger's memory at this size: {} MiB more resident after the fold (VmRSS).\n",
        rss_after.saturating_sub(rss_before) / 1024
    ));
    section.push_str("<!-- indicators:end -->");
    report::write_section("indicators", "Circuits' indicators", &section);
}
