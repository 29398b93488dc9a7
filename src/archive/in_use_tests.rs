//! The walk over the blobs in use: the same blobs, in the same order and
//! with the same users, as reading every record gives; a fixity run over
//! it checks them all and names what uses a damaged one; and neither
//! reads every record.

use super::fixity::FixitySchedule;
use super::tests_support::archive_counting_scans as archive;
use super::*;
use crate::domain::hash::Sha256;
use crate::domain::record::{Record, RecordState};
use crate::store::CatalogWrite;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

fn deposit(archive: &Archive, text: &str) -> Record {
    let upload = Upload {
        staged: archive.stage(&mut text.as_bytes()).expect("staged"),
        filename: Some("piece.txt".into()),
    };
    let deposit = Deposit {
        node: Some("ADM-ARR".into()),
        ..Deposit::default()
    };
    let reference = archive
        .ingest(&Actor::system(), deposit, upload)
        .expect("deposited")
        .reference;
    let id = archive.catalog.record_id(&reference).expect("id").expect("known");
    archive.catalog.record(&id).expect("read").expect("record")
}

/// The blobs to check as the fixity job found them before the walk: the
/// store's, then every blob of every active record, then the plans'
/// texts, each with what uses it.
fn by_reading_every_record(archive: &Archive) -> BTreeMap<Sha256, Vec<String>> {
    let mut blobs: BTreeMap<Sha256, Vec<String>> = BTreeMap::new();
    for sha in archive.blobs.list().expect("list") {
        blobs.entry(sha).or_default();
    }
    for record in archive.catalog.records() {
        let record = record.expect("record");
        if record.state != RecordState::Active {
            continue;
        }
        for sha in record.blobs_used() {
            let users = blobs.entry(*sha).or_default();
            if !users.contains(&record.reference.to_string()) {
                users.push(record.reference.to_string());
            }
        }
    }
    for plan in archive.catalog.plan_versions().expect("plans") {
        blobs
            .entry(plan.text)
            .or_default()
            .push(format!("plan version {}", plan.number));
    }
    blobs
}

fn walked(archive: &Archive, after: Option<Sha256>) -> Vec<(Sha256, bool, Vec<String>)> {
    let mut walked = Vec::new();
    archive
        .blobs_in_use()
        .expect("listed")
        .walk(archive, after, |blob| {
            let used_by = archive.used_by(&blob)?;
            walked.push((blob.sha, blob.stored, used_by));
            Ok(true)
        })
        .expect("walked");
    walked
}

#[test]
fn the_blobs_in_use_are_walked_as_reading_every_record_finds_them_without_reading_every_record() {
    let (_tmp, archive, catalog) = archive();
    let first = deposit(&archive, "Facture de mars : 1 200,00 €");
    // The same bytes again: one blob, two users.
    let twin = deposit(&archive, "Facture de mars : 1 200,00 €");
    let lost = deposit(&archive, "Un courrier dont le fichier disparaît");
    let destroyed = deposit(&archive, "Une pièce détruite, ses octets effacés");
    for n in 0..40 {
        deposit(&archive, &format!("Pièce numéro {n}"));
    }
    // A record's content gone from the store: still in use, missing.
    assert!(archive.blobs.erase(&lost.versions[0].sha256).expect("erased"));
    // A destroyed record whose content was erased: no longer in use.
    let mut tombstone = destroyed.clone();
    tombstone.state = RecordState::Destroyed;
    let seq = catalog.last_applied().expect("applied") + 1;
    catalog
        .apply(seq, vec![CatalogWrite::PutRecord(Box::new(tombstone))])
        .expect("applied");
    assert!(archive.blobs.erase(&destroyed.versions[0].sha256).expect("erased"));

    let expected = by_reading_every_record(&archive);
    let scans = catalog.scans();
    let walk = walked(&archive, None);
    assert_eq!(catalog.scans(), scans, "the walk reads no record list");
    let as_map: BTreeMap<Sha256, Vec<String>> = walk.iter().map(|(sha, _, used_by)| (*sha, used_by.clone())).collect();
    assert_eq!(as_map, expected);
    assert_eq!(walk.len(), expected.len(), "each blob once, in digest order");
    assert!(walk.windows(2).all(|w| w[0].0 < w[1].0), "in digest order");
    assert!(!as_map.contains_key(&destroyed.versions[0].sha256));
    let of = |sha: &Sha256| walk.iter().find(|(s, _, _)| s == sha).cloned().expect("walked");
    // Both, in the order of their ids (two deposits in one millisecond
    // may have theirs either way).
    let mut both = [first.reference.to_string(), twin.reference.to_string()];
    if twin.id < first.id {
        both.reverse();
    }
    assert_eq!(of(&first.versions[0].sha256).2, both);
    assert!(!of(&lost.versions[0].sha256).1, "not stored");
    assert_eq!(
        of(&lost.metadata_sha256).2,
        [lost.reference.to_string()],
        "a metadata document names its record"
    );
    // The index holds metadata documents too, but a deposit's duplicates
    // are still the records whose versions hold the same bytes.
    assert_eq!(
        archive.catalog.records_holding(&first.metadata_sha256).expect("index"),
        [first.id]
    );
    let holders = |sha: &Sha256| archive.records_holding(&Actor::system(), sha).expect("holders");
    assert!(
        holders(&first.metadata_sha256).is_empty(),
        "a metadata document is no deposited content"
    );
    assert_eq!(
        holders(&first.versions[0].sha256).len(),
        2,
        "the same bytes deposited twice"
    );

    // From any blob on, the walk gives the blobs after it.
    for (i, (sha, _, _)) in walk.iter().enumerate().step_by(7) {
        assert_eq!(walked(&archive, Some(*sha)), walk[i + 1..], "after {sha}");
    }
}

#[test]
fn a_fixity_run_checks_every_blob_in_use_and_names_what_uses_a_damaged_one_without_reading_every_record() {
    let (_tmp, archive, catalog) = archive();
    let records: Vec<Record> = (0..30)
        .map(|n| deposit(&archive, &format!("Délibération {n}")))
        .collect();
    let lost = &records[7];
    assert!(archive.blobs.erase(&lost.versions[0].sha256).expect("erased"));
    let expected = by_reading_every_record(&archive);

    let auditor = Actor {
        name: "user:auditeur".into(),
        role: Role::Auditor,
        account: None,
    };
    archive.request_fixity(&auditor).expect("asked");
    let scans = catalog.scans();
    let schedule = FixitySchedule {
        every: std::time::Duration::from_secs(86_400),
        rate: u64::MAX,
    };
    assert!(archive.fixity_work(&schedule, &AtomicBool::new(false)).expect("run"));
    assert_eq!(catalog.scans(), scans, "the run reads no record list");
    let last = archive.fixity_status(&schedule).detail.last.expect("a finished run");
    assert_eq!(last.blobs_checked, expected.len() as u64);
    assert_eq!(last.findings.len(), 1, "{:?}", last.findings);
    let finding = &last.findings[0];
    assert_eq!(
        (finding.blob, finding.problem.as_str()),
        (lost.versions[0].sha256, "missing")
    );
    assert_eq!(finding.used_by, [lost.reference.to_string()]);
}
