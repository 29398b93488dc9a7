//! The verification queue from deposit to correction, on an archive on
//! disk with the default plan (FACTURES reads invoices): an invoice whose
//! SIRET key and totals fail waits; one read surely does not; a
//! verification corrects it, leaves the queue, counts, and survives a
//! catalog rebuilt from the journal.

use super::tests_support::{agent, deposit_text as deposit, on_disk, options};
use super::verification::Verification;
use super::{Actor, Archive};
use crate::domain::clock::SystemClock;
use crate::domain::role::Role;
use crate::domain::verification::{CheckKey, NODE_FIELD, VerifyReason};
use std::collections::BTreeMap;
use std::sync::Arc;

fn invoice(siret: &str, total: &str) -> String {
    [
        "Papeterie Dupont SARL",
        &format!("SIRET : {siret}"),
        "Facture n° FA-2024-0117",
        "Date de facture : 14/04/2024",
        "Total HT : 1 000,00 EUR",
        "TVA 20 % : 200,00 EUR",
        &format!("Total TTC : {total} EUR"),
    ]
    .join("\n")
}

#[test]
fn a_doubtful_reading_waits_until_a_person_corrects_it_and_the_correction_is_counted() {
    let (_tmp, data_dir, archive) = on_disk(options());
    let alice = agent();
    let doubtful = deposit(
        &archive,
        &alice,
        &invoice("732 829 320 00075", "1 280,00"),
        Some("FIN-FAC"),
    );
    let sure = deposit(
        &archive,
        &alice,
        &invoice("732 829 320 00074", "1 200,00"),
        Some("FIN-FAC"),
    );
    let not_an_invoice = deposit(&archive, &alice, "Procès-verbal de la séance", Some("ADM-DEL"));
    archive.index_all().expect("indexed");
    archive.read_pending().expect("read");

    let record = archive.record(&alice, &doubtful).expect("record");
    let reading = record.reading.as_ref().expect("read once indexed");
    assert_eq!(reading.version, 1);
    let waiting = record.to_verify.as_ref().expect("waits");
    assert_eq!(
        waiting.reasons,
        [VerifyReason::Reading {
            // The supplier too: no SIRET whose key holds names it surely.
            fields: ["fournisseur", "siret", "montant_ht", "montant_tva", "montant_ttc"]
                .map(String::from)
                .to_vec()
        }]
    );
    assert_eq!(
        record.fields.get("numero_facture").map(String::as_str),
        Some("FA-2024-0117")
    );
    assert_eq!(
        record.fields.get("date_facture").map(String::as_str),
        Some("2024-04-14")
    );
    assert!(
        !record.fields.contains_key("montant_ttc"),
        "a doubtful value is not kept"
    );

    let sure = archive.record(&alice, &sure).expect("record");
    assert!(sure.to_verify.is_none(), "{:?}", sure.to_verify);
    assert_eq!(sure.fields.get("montant_ttc").map(String::as_str), Some("1200.00"));
    assert_eq!(sure.fields.get("siret").map(String::as_str), Some("73282932000074"));
    let other = archive.record(&alice, &not_an_invoice).expect("record");
    assert!(other.reading.is_none() && other.to_verify.is_none());

    let page = archive.verification_queue(&alice, None, 10).expect("queue");
    let listed: Vec<String> = page.records.iter().map(|r| r.reference.to_string()).collect();
    assert_eq!(listed, std::slice::from_ref(&doubtful));
    assert_eq!(page.waiting, 1);

    // A value the field's type refuses is refused, and nothing changes.
    let wrong = Verification {
        fields: BTreeMap::from([("montant_ttc".to_owned(), Some("douze".to_owned()))]),
        ..Verification::default()
    };
    assert!(archive.verify_description(&alice, &doubtful, wrong).is_err());
    assert!(archive.record(&alice, &doubtful).expect("record").to_verify.is_some());

    let correction = Verification {
        fields: BTreeMap::from([
            ("siret".to_owned(), Some("73282932000074".to_owned())),
            ("montant_ht".to_owned(), Some("1000.00".to_owned())),
            ("montant_tva".to_owned(), Some("200.00".to_owned())),
            ("montant_ttc".to_owned(), Some("1200.00".to_owned())),
            ("fournisseur".to_owned(), Some("Papeterie Dupont".to_owned())),
        ]),
        comment: Some("total relu sur la facture".into()),
        ..Verification::default()
    };
    let verified = archive
        .verify_description(&alice, &doubtful, correction)
        .expect("verified");
    assert!(verified.to_verify.is_none());
    assert_eq!(verified.fields.get("montant_ttc").map(String::as_str), Some("1200.00"));
    assert_eq!(
        verified.history.last().map(|h| h.kind.as_str()),
        Some("record.verified")
    );
    assert!(
        archive
            .verification_queue(&alice, None, 10)
            .expect("queue")
            .records
            .is_empty()
    );
    let again = archive.verify_description(&alice, &doubtful, Verification::default());
    assert!(
        matches!(again, Err(super::ArchiveError::NotAwaitingVerification(_))),
        "{again:?}"
    );

    let counts: BTreeMap<CheckKey, _> = archive
        .verification_counts(&alice)
        .expect("counts")
        .counts
        .into_iter()
        .collect();
    let count = |supplier: Option<&str>, field: &str| {
        counts
            .get(&CheckKey {
                supplier: supplier.map(str::to_owned),
                field: field.to_owned(),
            })
            .map(|c| (c.checked, c.corrected))
    };
    assert_eq!(count(None, "montant_ttc"), Some((1, 1)));
    assert_eq!(count(None, "numero_facture"), Some((1, 0)), "read right, confirmed");
    assert_eq!(count(Some("Papeterie Dupont"), "siret"), Some((1, 1)));
    assert_eq!(count(None, NODE_FIELD), None, "no rule chose its node");

    // The journal is the truth: a rebuilt catalog says the same.
    drop(archive);
    let rebuilt = Archive::rebuild(&data_dir, options(), Arc::new(SystemClock)).expect("rebuilt");
    let record = rebuilt.record(&alice, &doubtful).expect("record");
    assert!(record.to_verify.is_none());
    assert_eq!(record.fields.get("montant_ttc").map(String::as_str), Some("1200.00"));
    assert_eq!(
        rebuilt.verification_counts(&alice).expect("counts").counts.len(),
        counts.len()
    );
    rebuilt.index_all().expect("indexed");
    rebuilt.note_unread_invoices().expect("noted");
    rebuilt.read_pending().expect("read");
    let reread = rebuilt.record(&alice, &doubtful).expect("record");
    assert_eq!(reread.history.len(), record.history.len(), "read once, not again");
}

#[test]
fn a_node_chosen_from_the_text_waits_and_its_confirmation_counts_for_the_classification() {
    let (_tmp, _data_dir, archive) = on_disk(options());
    let alice = agent();
    let text = "Mairie de Saint-Martin\nMandat de paiement n° 42\nObjet : fournitures";
    let reference = deposit(&archive, &alice, text, None);
    let record = archive.record(&alice, &reference).expect("record");
    assert_eq!(record.node.as_str(), "FIN-MAN");
    assert!(matches!(
        record.to_verify.as_ref().map(|w| w.reasons.as_slice()),
        Some([VerifyReason::Classification { rule }]) if rule == "Mandats de paiement"
    ));
    let moved = Verification {
        node: Some("FIN-FAC".into()),
        ..Verification::default()
    };
    let verified = archive.verify_description(&alice, &reference, moved).expect("verified");
    assert_eq!(verified.node.as_str(), "FIN-FAC");
    let node = archive
        .verification_counts(&alice)
        .expect("counts")
        .counts
        .into_iter()
        .find(|(k, _)| k.field == NODE_FIELD && k.supplier.is_none())
        .map(|(_, c)| (c.checked, c.corrected));
    assert_eq!(node, Some((1, 1)));
    // An auditor reads, but verifies nothing.
    let auditor = Actor {
        name: "user:odile".into(),
        role: Role::Auditor,
        account: None,
    };
    assert!(archive.verification_queue(&auditor, None, 10).is_err());
}

#[test]
fn an_invoice_indexed_before_a_stop_and_not_read_is_read_after_the_start() {
    let (_tmp, data_dir, archive) = on_disk(options());
    let alice = agent();
    let first = deposit(
        &archive,
        &alice,
        &invoice("732 829 320 00074", "1 200,00"),
        Some("FIN-FAC"),
    );
    archive.index_all().expect("indexed");
    archive.read_pending().expect("read");
    let waiting = deposit(
        &archive,
        &alice,
        &invoice("732 829 320 00074", "1 200,00"),
        Some("FIN-FAC"),
    );
    let minutes = deposit(&archive, &alice, "Procès-verbal de la séance", Some("ADM-DEL"));
    archive.index_all().expect("indexed");
    // Stopped once indexed, before the reader's turn.
    drop(archive);

    let archive = Archive::open(&data_dir, options(), Arc::new(SystemClock)).expect("open");
    let history = |key: &str| archive.record(&alice, key).expect("record").history.len();
    let first_history = history(&first);
    archive.note_unread_invoices().expect("noted");
    assert_eq!(archive.read_pending().expect("read"), 1, "the unread invoice alone");
    let record = archive.record(&alice, &waiting).expect("record");
    assert_eq!(record.reading.map(|r| r.version), Some(1), "read after the start");
    assert_eq!(history(&first), first_history, "read once, not again");
    assert!(archive.record(&alice, &minutes).expect("record").reading.is_none());
    archive.note_unread_invoices().expect("noted");
    assert_eq!(archive.read_pending().expect("read"), 0, "nothing left to read");
}
