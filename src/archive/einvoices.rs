//! E-invoice lifecycle messages (CDV, `extract::cdar`): the message is
//! archived as it came, in the lifecycle node (`FIN-CDV` in the default
//! plan), linked to each invoice whose status it gives (found by its number,
//! and by its seller's SIREN or SIRET when both say one); each of those
//! invoices moves by itself in its circuit where a step's `when` names the
//! status (`cdv:208`: suspended), on the status's day, the move carrying the
//! message. A message archived already moves nothing again.

use super::{Actor, Archive, ArchiveError, Deposit, Upload};
use crate::domain::circuit::{Trigger, invoice_status_label};
use crate::domain::record::{InvalidInput, Reference, comparable};
use crate::extract::cdar::{self, InvoiceStatus};

/// The node lifecycle messages are archived in, unless told otherwise.
pub const LIFECYCLE_NODE: &str = "FIN-CDV";

/// What became of one status of a message.
#[derive(Debug, Clone)]
pub struct StatusOutcome {
    /// The invoice's number, as the message gives it.
    pub invoice_number: String,
    /// The status code.
    pub code: u16,
    /// Its label (« Suspendue »).
    pub label: &'static str,
    /// The invoices archived here it names.
    pub records: Vec<Reference>,
    /// Those that moved on in their circuit.
    pub moved: Vec<Reference>,
}

/// A lifecycle message captured.
#[derive(Debug, Clone)]
pub struct CapturedStatuses {
    /// The message's record.
    pub message: Reference,
    /// It was archived already (nothing moved again).
    pub already_archived: bool,
    /// Each status it gives.
    pub statuses: Vec<StatusOutcome>,
}

impl Archive {
    /// Archives an e-invoice lifecycle message and moves the invoices it
    /// gives a status to, in the name of `actor`, through `channel` when a
    /// capture channel brings it.
    pub fn capture_lifecycle(
        &self,
        actor: &Actor,
        channel: Option<&str>,
        bytes: &[u8],
        filename: Option<String>,
    ) -> Result<CapturedStatuses, ArchiveError> {
        self.admit_flow(actor, bytes)?;
        let message = cdar::read(bytes).map_err(|e| {
            InvalidInput::new(
                "file",
                format!("ce n'est pas un message de cycle de vie de facture électronique que coffre sait lire : {e}"),
            )
        })?;
        let mut outcomes = Vec::with_capacity(message.statuses.len());
        let mut ids = Vec::with_capacity(message.statuses.len());
        for status in &message.statuses {
            let found = self.invoices_named(status)?;
            outcomes.push(StatusOutcome {
                invoice_number: status.invoice_number.clone(),
                code: status.code,
                label: invoice_status_label(status.code).unwrap_or("inconnu"),
                records: found.iter().map(|(_, r)| r.clone()).collect(),
                moved: Vec::new(),
            });
            ids.push(found);
        }
        let staged = self.stage(&mut &bytes[..])?;
        if let Some(held) = self.first_live_holder(&staged.sha256())? {
            return Ok(CapturedStatuses {
                message: held.reference,
                already_archived: true,
                statuses: outcomes,
            });
        }
        let first = &message.statuses[0];
        let title = match message.statuses.len() {
            1 => format!(
                "Statut « {} » ({}) de la facture {}",
                invoice_status_label(first.code).unwrap_or("inconnu"),
                first.code,
                first.invoice_number
            ),
            n => format!("Statuts de {n} factures électroniques"),
        };
        let mut links: Vec<(String, String)> = Vec::new();
        for (_, reference) in ids.iter().flatten() {
            let link = ("acknowledges".to_owned(), reference.to_string());
            if !links.contains(&link) && links.len() < crate::domain::record::LINKS_MAX {
                links.push(link);
            }
        }
        let deposit = Deposit {
            node: Some(LIFECYCLE_NODE.to_owned()),
            title: Some(title),
            date: message.issued.map(|d| d.to_string()),
            document_type: Some("statut de facture électronique".into()),
            fields: [
                ("numero_facture".to_owned(), first.invoice_number.clone()),
                ("identifiant_message".to_owned(), message.id.clone()),
            ]
            .into_iter()
            .collect(),
            links,
            ..Deposit::default()
        };
        let upload = Upload {
            staged,
            filename: filename.or_else(|| Some(format!("{}.xml", message.id))),
        };
        let (record, _) = self.ingest_signed(actor, deposit, upload, None, channel.map(str::to_owned), Vec::new())?;
        let today = self.clock.now().date_naive();
        for ((status, found), outcome) in message.statuses.iter().zip(&ids).zip(&mut outcomes) {
            let comment = comment_of(status);
            for (id, reference) in found {
                let date = status.date.unwrap_or(today);
                if self.move_by_flow(
                    actor,
                    id,
                    Trigger::InvoiceStatus(status.code),
                    date,
                    comment.clone(),
                    Some(record.id),
                )? {
                    outcome.moved.push(reference.clone());
                }
            }
        }
        Ok(CapturedStatuses {
            message: record.reference,
            already_archived: false,
            statuses: outcomes,
        })
    }

    /// The live invoices a status names: by number, and by seller when the
    /// status and the record both give one (a SIREN is a SIRET's first nine
    /// digits).
    fn invoices_named(
        &self,
        status: &InvoiceStatus,
    ) -> Result<Vec<(crate::domain::record::RecordId, Reference)>, ArchiveError> {
        let digits = |t: &str| t.chars().filter(char::is_ascii_digit).collect::<String>();
        let seller = status.seller.as_deref().map(digits).filter(|s| s.len() >= 9);
        let mut out = Vec::new();
        for id in self
            .catalog
            .records_with_field("numero_facture", &comparable(&status.invoice_number))?
        {
            let Some(record) = self.catalog.record(&id)? else {
                continue;
            };
            if record.tombstone.is_some() {
                continue;
            }
            let theirs = record.fields.get("siret").map(|s| digits(s)).filter(|s| s.len() >= 9);
            let same_seller = match (&seller, &theirs) {
                (Some(a), Some(b)) => a[..9] == b[..9],
                _ => true,
            };
            if same_seller {
                out.push((record.id, record.reference));
            }
        }
        Ok(out)
    }
}

/// A move's comment: the status, its label and the reasons given.
fn comment_of(status: &InvoiceStatus) -> String {
    let label = invoice_status_label(status.code).unwrap_or("inconnu");
    let reasons: Vec<String> = status
        .reasons
        .iter()
        .map(|(code, text)| match (code.is_empty(), text.is_empty()) {
            (false, false) => format!("{code} : {text}"),
            (true, _) => text.clone(),
            (_, true) => code.clone(),
        })
        .collect();
    format!(
        "statut « {label} » ({}) du cycle de vie de la facture électronique {}{}",
        status.code,
        status.invoice_number,
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(" ; "))
        }
    )
}
