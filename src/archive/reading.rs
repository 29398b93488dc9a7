//! Reading an invoice's fields from a record's text (the LAD of capture
//! tools): the text search holds for its latest version (a PDF's, or what
//! OCR read on a scan), read by `domain::reading` with each field's
//! confidence. A view: computed when asked, from what the index holds.

use super::{Actor, Archive, ArchiveError};
use crate::domain::reading::{InvoiceReading, read_invoice};

/// The most text read for an invoice's fields.
const TEXT_READ_MAX: usize = 200_000;

impl Archive {
    /// What can be read of the record `key` as an invoice; `None` while
    /// its text is not extracted yet.
    pub fn invoice_reading(&self, actor: &Actor, key: &str) -> Result<Option<InvoiceReading>, ArchiveError> {
        let record = self.record(actor, key)?;
        let Some(text) = self.extracted_text(actor, &record, TEXT_READ_MAX)? else {
            return Ok(None);
        };
        Ok(Some(read_invoice(&text, self.clock.now().date_naive())))
    }
}
