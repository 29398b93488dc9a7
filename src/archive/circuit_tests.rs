//! Processing circuits from deposit to payment, on an archive in memory with
//! the default plan (FIN-FAC's invoices follow the circuit `facture`) and a
//! clock the test moves: the issue's invoice (received 1 March 2024,
//! suspended 5 days, paid 12 April) is paid in 37 days, 7 over; moves a step
//! does not allow are refused with the allowed ones; work lists follow role
//! and service; indicators for a past day, folded again from the journal,
//! are those shown that day.

use super::accounts::{AccountChanges, NewAccount};
use super::circuits::Move;
use super::tests_support::open_in_memory_with_clock;
use super::{Actor, Archive, ArchiveError, Deposit, Publish, Upload};
use crate::domain::clock::FixedClock;
use crate::domain::indicators::PaymentFilter;
use crate::domain::role::Role;
use chrono::{NaiveDate, TimeZone, Utc};
use std::collections::BTreeMap;
use std::sync::Arc;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
}

fn set(clock: &FixedClock, text: &str) {
    let d = day(text);
    clock.set(Utc.from_utc_datetime(&d.and_hms_opt(10, 0, 0).expect("a time")));
}

fn invoice(archive: &Archive, actor: &Actor, n: u32, received: &str, service: &str, amount: &str) -> String {
    let text = format!("Facture n° FA-{n}\nTotal TTC : {amount} EUR\n");
    let upload = Upload {
        staged: archive.stage(&mut text.as_bytes()).expect("staged"),
        filename: Some(format!("facture-{n}.txt")),
    };
    let fields: BTreeMap<String, String> = [
        ("date_reception", received),
        ("montant_ttc", amount),
        ("fournisseur", "Papeterie Dupont"),
        ("numero_facture", &format!("FA-{n}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let deposit = Deposit {
        node: Some("FIN-FAC".into()),
        title: Some(format!("Facture FA-{n}")),
        service: Some(service.into()),
        fields,
        ..Deposit::default()
    };
    archive
        .ingest(actor, deposit, upload)
        .expect("deposited")
        .reference
        .to_string()
}

fn go(archive: &Archive, actor: &Actor, reference: &str, to: &str, date: &str) -> Result<(), ArchiveError> {
    archive
        .move_record(
            actor,
            reference,
            Move {
                to: to.into(),
                date: Some(date.into()),
                comment: Some(format!("vers {to}")),
                attachment: None,
            },
        )
        .map(|_| ())
}

fn person(archive: &Archive, user: &str, role: Role, service: Option<&str>) -> Actor {
    let admin = Actor::system();
    archive
        .create_account(
            &admin,
            NewAccount {
                user: user.into(),
                display_name: user.into(),
                role,
                password: None,
            },
        )
        .expect("opened");
    if let Some(service) = service {
        archive
            .update_account(
                &admin,
                user,
                AccountChanges {
                    service: Some(service.into()),
                    ..AccountChanges::default()
                },
            )
            .expect("service set");
    }
    let account = archive.account(user).expect("account");
    Actor::person(&account)
}

#[test]
fn the_issue_s_invoice_is_paid_in_37_days_and_moves_are_checked() {
    let clock = Arc::new(FixedClock::new(Utc::now()));
    set(&clock, "2024-02-01");
    let (_tmp, _dir, archive) = open_in_memory_with_clock(clock.clone());
    archive
        .publish_plan(&Actor::system(), crate::policies::DEFAULT_PLAN, &Publish::default())
        .expect("published");
    let voirie = person(&archive, "alice", Role::Agent, Some("Voirie"));
    let culture = person(&archive, "bruno", Role::Agent, Some("Culture"));
    let auditor = person(&archive, "carole", Role::Auditor, None);

    set(&clock, "2024-03-02");
    let first = invoice(&archive, &voirie, 1, "2024-03-01", "Voirie", "1200.00");
    let record = archive.record(&voirie, &first).expect("record");
    let circulation = record.circulation.as_ref().expect("in the circuit");
    assert_eq!((circulation.circuit.as_str(), circulation.step()), ("facture", "recue"));
    assert_eq!(circulation.since(), Some(day("2024-03-01")), "from its receipt");

    // Only Voirie's agent sees it, and only she may move it.
    let list = archive.worklist(&voirie, 100).expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].view.days_left, Some(9));
    assert!(archive.worklist(&culture, 100).expect("list").items.is_empty());
    assert!(matches!(
        go(&archive, &culture, &first, "service_fait", "2024-03-02"),
        Err(ArchiveError::NotYourStep { .. })
    ));
    assert!(matches!(
        go(&archive, &auditor, &first, "service_fait", "2024-03-02"),
        Err(ArchiveError::Forbidden { .. })
    ));
    // A move the step does not allow, with the allowed ones.
    match go(&archive, &voirie, &first, "payee", "2024-03-02") {
        Err(ArchiveError::MoveNotAllowed { allowed, .. }) => {
            let codes: Vec<&str> = allowed.iter().map(|(c, _)| c.as_str()).collect();
            assert_eq!(codes, ["service_fait", "suspendue", "rejetee"]);
        }
        other => panic!("refused with the allowed moves: {other:?}"),
    }
    // Dates: not to come, not before the step was reached.
    assert!(matches!(
        go(&archive, &voirie, &first, "suspendue", "2024-03-05"),
        Err(ArchiveError::Invalid(_))
    ));
    assert!(matches!(
        go(&archive, &voirie, &first, "suspendue", "2024-02-28"),
        Err(ArchiveError::Invalid(_))
    ));

    set(&clock, "2024-03-10");
    go(&archive, &voirie, &first, "suspendue", "2024-03-10").expect("suspended");
    set(&clock, "2024-03-15");
    go(&archive, &voirie, &first, "recue", "2024-03-15").expect("resumed");
    set(&clock, "2024-03-21");
    go(&archive, &voirie, &first, "service_fait", "2024-03-20").expect("service fait");
    set(&clock, "2024-04-01");
    go(&archive, &voirie, &first, "mandatee", "2024-04-01").expect("mandatée");
    set(&clock, "2024-04-12");
    // A second invoice waits at reçue, 30 days old on 12 April.
    let second = invoice(&archive, &voirie, 2, "2024-03-13", "Voirie", "500");
    let list = archive.worklist(&voirie, 100).expect("list");
    assert_eq!(list.overdue, 2, "both past their step's 10 days");
    assert_eq!(
        list.items[0].record.reference.to_string(),
        second,
        "the most overdue first"
    );
    go(&archive, &voirie, &first, "payee", "2024-04-12").expect("paid");
    let paid = archive.record(&voirie, &first).expect("record");
    assert!(!paid.circulation.as_ref().expect("circulation").open);
    assert!(matches!(
        go(&archive, &voirie, &first, "recue", "2024-04-12"),
        Err(ArchiveError::NotInCircuit(_))
    ));

    let (shown, on) = archive
        .payment_indicators(&voirie, PaymentFilter::default(), None)
        .expect("indicators");
    assert_eq!(on, day("2024-04-12"));
    assert_eq!(shown.overall.count, 1);
    assert_eq!(shown.overall.mean_days, 37.0);
    assert_eq!(shown.overall.late, 1);
    // 1 200,00 € × (4.50 + 8) % × 7 / 365 = 2,88 €, and 40 €.
    assert_eq!(shown.overall.interest_cents, 288);
    assert_eq!(shown.overall.indemnity_cents, 4_000);
    let (blocked_then, _) = archive.blockages(&voirie, Default::default(), None).expect("blockages");
    assert_eq!(blocked_then.len(), 1);
    assert_eq!(blocked_then[0].buckets, [0, 0, 0, 1]);
    let (capture_then, _) = archive
        .capture_indicators(&voirie, Default::default(), None)
        .expect("capture");
    assert_eq!(capture_then.journal.deposited, 2);
    assert!(capture_then.failures.is_some(), "today's failures are said today");
    let (health_then, _) = archive
        .health_indicators(&voirie, Default::default(), None)
        .expect("health");
    assert_eq!(health_then.journal.unchecked_since, 2, "no fixity run yet");
    assert_eq!(health_then.journal.fixity_coverage, None);

    // Later: the second invoice is paid; the 12th of April reads the same.
    set(&clock, "2024-04-20");
    go(&archive, &voirie, &second, "service_fait", "2024-04-15").expect("service fait");
    go(&archive, &voirie, &second, "mandatee", "2024-04-16").expect("mandatée");
    go(&archive, &voirie, &second, "payee", "2024-04-19").expect("paid");
    let (now, _) = archive
        .payment_indicators(&voirie, PaymentFilter::default(), None)
        .expect("indicators");
    assert_eq!(now.overall.count, 2);
    let (again, on) = archive
        .payment_indicators(&voirie, PaymentFilter::default(), Some(day("2024-04-12")))
        .expect("indicators then");
    assert_eq!(on, day("2024-04-12"));
    assert_eq!(
        again, shown,
        "the past day's indicators, folded again, are those shown then"
    );
    let (blocked_again, _) = archive
        .blockages(&voirie, Default::default(), Some(day("2024-04-12")))
        .expect("blockages then");
    assert_eq!(blocked_again, blocked_then);
    assert!(
        archive
            .blockages(&voirie, Default::default(), None)
            .expect("now")
            .0
            .is_empty()
    );

    // A third invoice, later: capture on the 12th of April reads the same.
    invoice(&archive, &voirie, 3, "2024-04-20", "Voirie", "80");
    let (capture_now, _) = archive
        .capture_indicators(&voirie, Default::default(), None)
        .expect("capture");
    assert_eq!(capture_now.journal.deposited, 3);
    let (capture_again, on) = archive
        .capture_indicators(&voirie, Default::default(), Some(day("2024-04-12")))
        .expect("capture then");
    assert_eq!(on, day("2024-04-12"));
    assert_eq!(capture_again.journal, capture_then.journal);
    assert!(capture_again.failures.is_none(), "a past day has no present failures");
    let (health_again, _) = archive
        .health_indicators(&voirie, Default::default(), Some(day("2024-04-12")))
        .expect("health then");
    assert_eq!(health_again.journal, health_then.journal);
    assert!(health_again.now.is_none());

    // The stock: the invoices live, one of them there on 2 March; none of
    // another service's.
    let culture = crate::domain::indicators::capture::Scope {
        service: Some("Culture".into()),
        ..Default::default()
    };
    let (none, _) = archive.stock_indicators(&voirie, culture, None).expect("stock");
    assert_eq!(none.total.records, 0);
    let (stock, _) = archive
        .stock_indicators(&voirie, Default::default(), None)
        .expect("stock");
    assert_eq!(stock.total.records, 3);
    assert_eq!(stock.by_service, vec![(Some("Voirie".to_owned()), stock.total.clone())]);
    let (then, _) = archive
        .stock_indicators(&voirie, Default::default(), Some(day("2024-03-02")))
        .expect("stock then");
    assert_eq!(then.total.records, 1);
    assert_eq!(then.months, vec![("2024-03".to_owned(), then.months[0].1.clone())]);
    assert_eq!(then.months[0].1.records, 1);

    // The journal says each move, with its comment and what it carried.
    let moves: Vec<_> = archive
        .journal
        .read_from(1)
        .expect("journal")
        .filter_map(|e| e.ok())
        .filter(|e| e.kind == "record.moved")
        .collect();
    assert_eq!(moves.len(), 8);
    let payment = moves[4].payload.to_string();
    assert!(payment.contains("\"amount\":\"1200.00\""), "{payment}");
    assert!(payment.contains("\"supplier\":\"Papeterie Dupont\""), "{payment}");
}
