//! Reading an invoice's fields from a record's text (the LAD of capture
//! tools): the text search holds for its latest version (a PDF's, or what
//! OCR read on a scan), read by `domain::reading` with each field's
//! confidence.
//!
//! Records of nodes the plan marks `read_invoices` are read once their
//! text is indexed, by the reader's thread: the reading is journaled
//! (`record.read`), fields read surely that the record lacks are added to
//! its description, and a reading with doubtful or missing fields puts the
//! record in the verification queue (`archive::verification`). A record is
//! read once per version; `GET /records/{ref}/reading` reads it again on
//! demand, journaling nothing.

use super::holds::IndexFreshness;
use super::{Actor, Archive, ArchiveError};
use crate::domain::event::EventBody;
use crate::domain::reading::{InvoiceReading, read_invoice_with};
use crate::domain::record::{DescriptiveMetadata, RecordId};
use crate::domain::verification::{doubtful_fields, fields_to_keep, read_values};

/// The most text read for an invoice's fields.
const TEXT_READ_MAX: usize = 200_000;

/// The most records the reader looks at in one call: a start that finds
/// many invoices not read yet reads them a hundred at a time, and a stop
/// waits for one such round at most.
const READ_PER_ROUND: usize = 100;

impl Archive {
    /// What can be read of the record `key` as an invoice; `None` while
    /// its text is not extracted yet.
    pub fn invoice_reading(&self, actor: &Actor, key: &str) -> Result<Option<InvoiceReading>, ArchiveError> {
        let record = self.record(actor, key)?;
        let Some(text) = self.extracted_text(actor, &record, TEXT_READ_MAX)? else {
            return Ok(None);
        };
        let plan = self.plan_in_force()?;
        Ok(Some(read_invoice_with(
            &text,
            self.clock.now().date_naive(),
            &plan.plan.invoice_templates,
        )))
    }

    /// Reads as invoices the records indexed since the last call whose
    /// node reads invoices and whose latest version was not read yet, at
    /// most [`READ_PER_ROUND`] of them (the oldest; the rest wait for the
    /// next call), and journals each reading; returns how many records it
    /// looked at. The
    /// reader's thread calls it (`jobs::spawn_reader`), holding no lock. A replica or a
    /// read-only archive reads nothing (it journals nothing). A record
    /// that cannot be read now is left for its next change, a restart or
    /// a reindex, and never stops the reader.
    pub fn read_pending(&self) -> Result<usize, ArchiveError> {
        let ids = self.unread.take(READ_PER_ROUND);
        // Done when this call ends, however it ends.
        let _in_hand = InHand(&self.unread, ids.len());
        if ids.is_empty() || self.following.is_some() || self.read_only.is_some() {
            return Ok(0);
        }
        let Some(plan) = self.plan.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return Ok(0);
        };
        for id in &ids {
            let Some(record) = self.catalog.record(id)? else {
                continue;
            };
            if record.tombstone.is_some() || !plan.plan.reads_invoices(&record.node) || record.latest_read() {
                continue;
            }
            if let Err(e) = self.read_invoice_of(id) {
                tracing::warn!(reference = %record.reference, error = %e, "reading the invoice failed");
            }
        }
        // Scans get their searchable PDF/A, whatever their node.
        for id in &ids {
            if let Err(e) = self.render_if_scan(id) {
                tracing::warn!(record = %id, error = %e, "making a searchable PDF/A failed");
            }
        }
        Ok(ids.len())
    }

    /// Notes the records of the nodes that read invoices whose latest
    /// version was not read, for [`read_pending`](Self::read_pending): at
    /// the reader's start, the records indexed before a stop and not read
    /// yet are read then. The catalog keeps them apart (`unread_in`), so a
    /// start reads those records only, not every invoice ever read.
    pub fn note_unread_invoices(&self) -> Result<(), ArchiveError> {
        if self.following.is_some() || self.read_only.is_some() {
            return Ok(());
        }
        let Some(plan) = self.plan.read().unwrap_or_else(|p| p.into_inner()).clone() else {
            return Ok(());
        };
        for node in plan.plan.nodes.iter().filter(|n| plan.plan.reads_invoices(&n.code)) {
            self.unread.note(self.catalog.unread_in(&node.code)?);
        }
        Ok(())
    }

    /// Reads one record's latest version and journals the reading, under
    /// the record's lock.
    fn read_invoice_of(&self, id: &RecordId) -> Result<(), ArchiveError> {
        let _guard = self.lock_record(id);
        let Some(record) = self.catalog.record(id)? else {
            return Ok(());
        };
        let Some(version) = record.versions.last().map(|v| v.number) else {
            return Ok(());
        };
        if record.latest_read() {
            return Ok(());
        }
        let Some(text) = self.index.extracted_text(id, TEXT_READ_MAX)? else {
            return Ok(());
        };
        let plan_slot = self.plan.read().unwrap_or_else(|p| p.into_inner());
        let Some(plan) = plan_slot.clone() else {
            return Ok(());
        };
        let reading = read_invoice_with(&text, self.clock.now().date_naive(), &plan.plan.invoice_templates);
        let values = read_values(&reading);
        // Structured data (Factur-X, UBL) chose the node and gave the
        // fields: what the text says needs no one.
        let structured = record
            .classified_by
            .as_ref()
            .is_some_and(|rule| plan.plan.classify.iter().any(|r| &r.name == rule && r.invoice));
        // A date the depositor gave, or the structured invoice's, is the
        // invoice's date: it needs no reading.
        let mut known = record.fields.clone();
        if matches!(record.dated, None | Some(crate::domain::record::Dating::Invoice)) {
            known
                .entry("date_facture".to_owned())
                .or_insert_with(|| record.date.to_string());
        }
        let to_verify = if structured {
            Vec::new()
        } else {
            doubtful_fields(&reading, &known)
        };
        let defined = plan.plan.fields_for(&record.node);
        let fits = |name: &str, value: &str| {
            defined
                .iter()
                .find(|f| f.name == name)
                .is_some_and(|f| f.kind.check(value).is_ok())
        };
        let held = !self
            .holds_on(&[(record.id, record.node.clone())], IndexFreshness::AsIndexed)?
            .is_empty();
        let kept = if held {
            Default::default()
        } else {
            fields_to_keep(&values, &record.fields, fits)
        };
        let metadata = if kept.is_empty() {
            None
        } else {
            let mut fields = record.fields.clone();
            fields.extend(kept);
            let doc = DescriptiveMetadata {
                v: crate::domain::record::METADATA_FORMAT,
                record: record.id,
                title: record.title.clone(),
                fields,
                filenames: record.versions.iter().map(|v| v.filename.clone()).collect(),
            };
            Some(self.store_metadata(&doc, self.stores_for(&plan.plan, &record.node))?)
        };
        self.journal.append(Actor::system().draft(EventBody::RecordRead {
            record: record.id,
            version,
            fields: values,
            missing: reading.missing.iter().map(|m| (*m).to_owned()).collect(),
            to_verify,
            metadata,
            template: reading.template.clone(),
        }))?;
        Ok(())
    }
}

/// Records the reader took, done when it is dropped.
struct InHand<'a>(&'a Unread, usize);

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.0.done(self.1);
    }
}

/// The records indexed and not looked at by the reader yet, each once,
/// and how many of those it took are not done yet.
#[derive(Default)]
pub(super) struct Unread {
    noted: std::sync::Mutex<std::collections::BTreeSet<RecordId>>,
    in_hand: std::sync::atomic::AtomicUsize,
}

impl Unread {
    /// Notes records to look at.
    pub(super) fn note(&self, ids: impl IntoIterator<Item = RecordId>) {
        self.noted.lock().unwrap_or_else(|p| p.into_inner()).extend(ids);
    }

    /// How many records wait to be looked at, those taken and not done
    /// yet included.
    pub(super) fn len(&self) -> usize {
        let noted = self.noted.lock().unwrap_or_else(|p| p.into_inner()).len();
        noted + self.in_hand.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// `n` records taken are done.
    fn done(&self, n: usize) {
        let _ = self.in_hand.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |held| Some(held.saturating_sub(n)),
        );
    }

    /// The `limit` oldest records to look at, no longer noted, in hand
    /// until [`done`](Self::done).
    fn take(&self, limit: usize) -> Vec<RecordId> {
        let mut noted = self.noted.lock().unwrap_or_else(|p| p.into_inner());
        let mut taken = Vec::with_capacity(limit.min(noted.len()));
        while taken.len() < limit {
            match noted.pop_first() {
                Some(id) => taken.push(id),
                None => break,
            }
        }
        self.in_hand
            .fetch_add(taken.len(), std::sync::atomic::Ordering::Relaxed);
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::Unread;
    use crate::domain::record::RecordId;

    #[test]
    fn the_reader_takes_the_oldest_records_a_round_at_a_time_and_each_once() {
        let id = |n: u32| RecordId::parse(&format!("0190a000-0000-7000-8000-{n:012}")).expect("an id");
        let unread = Unread::default();
        unread.note([id(3), id(1), id(2)]);
        unread.note([id(1)]);
        assert_eq!(unread.len(), 3, "each once");
        assert_eq!(unread.take(2), [id(1), id(2)]);
        assert_eq!(unread.len(), 3, "two in hand, one noted");
        unread.done(2);
        assert_eq!(unread.len(), 1);
        assert_eq!(unread.take(2), [id(3)], "the rest, once");
        assert!(unread.take(2).is_empty());
    }
}
