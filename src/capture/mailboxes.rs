//! Mailboxes: a folder of a mail account, read over IMAP every `poll`.
//! Each message becomes a record (the `.eml` as received; its body is
//! what search reads) and each of its attachments a record linked to it
//! (`attachment_of`), or only the attachments become records, as the
//! first rule that fits the message says (sender, recipient, subject).
//! The message is then moved to the done folder on the server; one too
//! large, unreadable or refused by the archive goes to the failure folder,
//! beside a note giving the reason in French. A message or attachment
//! whose bytes are archived already is not deposited again, so a crash
//! between the deposit and the move never makes a second record.

use super::folders::ChannelCounts;
use super::{Keep, MailRule, MailboxChannel};
use crate::archive::{Actor, Archive, ArchiveError, Deposit, MailSession, Taken, Upload, open_mail_session};
use crate::errors::Fault;
use mail_parser::MimeHeaders as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How many messages of a mailbox are archived at once: enough for their
/// deposits to share flushes, as a watched folder's workers do.
const AT_ONCE: usize = 8;

/// A mailbox being read.
pub struct ReadMailbox {
    /// The channel as the journal names it.
    pub channel: String,
    /// What it has done.
    pub counts: Arc<ChannelCounts>,
    handle: std::thread::JoinHandle<()>,
}

impl ReadMailbox {
    /// Waits for its thread to end (after `stop` is set).
    pub fn join(self) {
        let _ = self.handle.join();
    }
}

/// Starts reading each mailbox on a thread of its own until `stop` is
/// set. Refuses to start when a depositor account is unknown or disabled.
pub fn spawn(
    archive: Arc<Archive>,
    channels: Vec<MailboxChannel>,
    stop: Arc<AtomicBool>,
) -> Result<Vec<ReadMailbox>, String> {
    let mut started = Vec::new();
    if archive.is_follower() && !channels.is_empty() {
        tracing::warn!("a replica deposits nothing: the mailboxes are left to the primary server");
        return Ok(started);
    }
    for channel in channels {
        let actor = super::depositor(&archive, "mailboxes", &channel.name, &channel.defaults.depositor)?;
        let counts = Arc::new(ChannelCounts::default());
        let reader = Reader {
            archive: Arc::clone(&archive),
            actor,
            counts: Arc::clone(&counts),
            channel: channel.clone(),
        };
        let stop = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(format!("mailbox-{}", channel.name))
            .spawn(move || reader.run(&stop))
            .map_err(|e| format!("capture: mailboxes {}: {e}", channel.name))?;
        tracing::info!(channel = %channel.name, server = %channel.address.host, folder = %channel.folder, "reading a mailbox");
        started.push(ReadMailbox {
            channel: channel.journal_name(),
            counts,
            handle,
        });
    }
    Ok(started)
}

/// What became of a message.
#[derive(Debug)]
enum Outcome {
    /// Archived (or found archived already): moved to the done folder.
    Done,
    /// Refused, with the reason: moved to the failure folder.
    Refused(String),
    /// Not taken now (the archive or the server cannot): tried again.
    Retry(String),
}

/// One mailbox.
struct Reader {
    archive: Arc<Archive>,
    actor: Actor,
    counts: Arc<ChannelCounts>,
    channel: MailboxChannel,
}

impl Reader {
    fn run(&self, stop: &AtomicBool) {
        while !stop.load(Ordering::SeqCst) {
            if let Err(e) = self.pass(stop) {
                tracing::warn!(channel = %self.channel.name, error = %e, "mailbox not read; tried again at the next poll");
            }
            let mut waited = Duration::ZERO;
            while waited < self.channel.poll && !stop.load(Ordering::SeqCst) {
                let step = Duration::from_millis(100).min(self.channel.poll - waited);
                std::thread::sleep(step);
                waited += step;
            }
        }
    }

    /// Reads every message of the folder once: a few at a time, taken one
    /// after another over the session, archived together (their deposits
    /// share the archive's flushes), then put away one after another.
    fn pass(&self, stop: &AtomicBool) -> Result<(), String> {
        let mut session = open_mail_session(&self.channel.address).map_err(|e| e.to_string())?;
        let ids = session.messages(&self.channel.folder).map_err(|e| e.to_string())?;
        for batch in ids.chunks(AT_ONCE) {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let mut taken = Vec::with_capacity(batch.len());
            for &id in batch {
                match session.take(id, self.channel.max_size).map_err(|e| e.to_string())? {
                    Taken::Message(raw) => taken.push((id, raw)),
                    Taken::TooLarge { size, header } => {
                        let reason = format!(
                            "le message pèse {size} octets, plus que les {} admis par la boîte « {} »",
                            self.channel.max_size, self.channel.name
                        );
                        let subject = mail_parser::MessageParser::default()
                            .parse(&header)
                            .and_then(|m| m.subject().map(str::to_owned));
                        self.refuse(session.as_mut(), id, subject.as_deref(), &reason)?;
                    }
                    Taken::Gone => {}
                }
            }
            let archived: Vec<(u32, Option<String>, Outcome)> = std::thread::scope(|scope| {
                let running: Vec<_> = taken
                    .iter()
                    .map(|(id, raw)| (*id, scope.spawn(move || self.archive_raw(raw))))
                    .collect();
                running
                    .into_iter()
                    .map(|(id, thread)| {
                        let (subject, outcome) = thread
                            .join()
                            .unwrap_or_else(|_| (None, Outcome::Retry("the deposit's thread stopped".into())));
                        (id, subject, outcome)
                    })
                    .collect()
            });
            for (id, subject, outcome) in archived {
                self.settle(session.as_mut(), id, subject.as_deref(), outcome)?;
            }
        }
        Ok(())
    }

    /// Archives a message read whole: its subject, and what became of it.
    fn archive_raw(&self, raw: &[u8]) -> (Option<String>, Outcome) {
        let parsed = mail_parser::MessageParser::default().parse(raw);
        let Some(message) = parsed.filter(|m| m.from().is_some() || m.subject().is_some() || m.date().is_some()) else {
            return (
                None,
                Outcome::Refused("ce n'est pas un message lisible : ni expéditeur, ni objet, ni date".into()),
            );
        };
        (
            message.subject().map(str::to_owned),
            self.archive_message(raw, &message),
        )
    }

    /// Puts a message away as what became of it says.
    fn settle(
        &self,
        session: &mut dyn MailSession,
        id: u32,
        subject: Option<&str>,
        outcome: Outcome,
    ) -> Result<(), String> {
        match outcome {
            Outcome::Done => {
                self.counts.deposited.fetch_add(1, Ordering::Relaxed);
                session
                    .put_away(id, &self.channel.done_folder)
                    .map_err(|e| e.to_string())
            }
            Outcome::Refused(reason) => self.refuse(session, id, subject, &reason),
            Outcome::Retry(reason) => {
                self.counts.retried.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(channel = %self.channel.name, %reason, "message left in place; tried again at the next poll");
                Ok(())
            }
        }
    }

    /// Moves a message to the failure folder, and a note saying why.
    fn refuse(
        &self,
        session: &mut dyn MailSession,
        id: u32,
        subject: Option<&str>,
        reason: &str,
    ) -> Result<(), String> {
        self.counts.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(channel = %self.channel.name, %reason, "message refused");
        session
            .put_away(id, &self.channel.failed_folder)
            .map_err(|e| e.to_string())?;
        let note = refusal_note(&self.channel, subject, reason);
        session
            .note(&self.channel.failed_folder, &note)
            .map_err(|e| e.to_string())
    }

    /// Deposits the message and its attachments, as the rule that fits
    /// it says.
    fn archive_message(&self, raw: &[u8], message: &mail_parser::Message<'_>) -> Outcome {
        let rule = self.channel.rule_for(&Headers::of(message));
        let defaults = Deposit {
            node: rule
                .and_then(|r| r.node.clone())
                .or_else(|| self.channel.defaults.node.clone()),
            service: rule
                .and_then(|r| r.service.clone())
                .or_else(|| self.channel.defaults.service.clone()),
            document_type: rule
                .and_then(|r| r.document_type.clone())
                .or_else(|| self.channel.defaults.document_type.clone()),
            date: message.date().and_then(|d| {
                chrono::NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
                    .map(|d| d.to_string())
            }),
            ..Deposit::default()
        };
        let keep = rule.and_then(|r| r.keep).unwrap_or(self.channel.keep);
        let attachments: Vec<(Option<String>, &[u8])> = message
            .attachments()
            .map(|part| (part.attachment_name().map(str::to_owned), part.contents()))
            .collect();
        let mut links = Vec::new();
        if keep == Keep::Message {
            let title = message
                .subject()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| "Message sans objet".to_owned());
            let deposit = Deposit {
                title: Some(title.clone()),
                ..defaults.clone()
            };
            match self.deposit(raw, Some(format!("{}.eml", file_stem(&title))), deposit) {
                Ok(reference) => links.push(("attachment_of".to_owned(), reference)),
                Err(outcome) => return outcome,
            }
        } else if attachments.is_empty() {
            return Outcome::Refused(
                "le message n'a aucune pièce jointe, et cette boîte n'archive que les pièces jointes".into(),
            );
        }
        for (n, (name, bytes)) in attachments.into_iter().enumerate() {
            // An attachment without a name (an image shown in the text)
            // is named by its place, which also titles it.
            let name = name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| format!("piece-jointe-{}", n + 1));
            let deposit = Deposit {
                links: links.clone(),
                ..defaults.clone()
            };
            if let Err(outcome) = self.deposit(bytes, Some(name), deposit) {
                return outcome;
            }
        }
        Outcome::Done
    }

    /// Deposits `bytes` unless a live record holds them already; the
    /// reference of the record that holds them.
    fn deposit(&self, bytes: &[u8], filename: Option<String>, deposit: Deposit) -> Result<String, Outcome> {
        let staged = self.archive.stage(&mut &bytes[..]).map_err(failure)?;
        if let Some(held) = self.archive.live_record_holding(&staged.sha256()).map_err(failure)? {
            self.counts.already_archived.fetch_add(1, Ordering::Relaxed);
            return Ok(held.to_string());
        }
        let upload = Upload { staged, filename };
        self.archive
            .ingest_through(&self.actor, &self.channel.journal_name(), deposit, upload)
            .map(|record| record.reference.to_string())
            .map_err(failure)
    }
}

/// A refusal (the message is at fault, or the archive's rules), or a
/// failure to try again (the archive cannot take it now).
fn failure(e: ArchiveError) -> Outcome {
    match e.code().fault() {
        Fault::Caller | Fault::Conflict => Outcome::Refused(e.to_string()),
        Fault::Archive => Outcome::Retry(e.to_string()),
    }
}

/// What the rules look at in a message, in lower case.
pub(super) struct Headers {
    /// The sender's address and name.
    pub from: String,
    /// The recipients' addresses and names.
    pub to: String,
    /// The subject.
    pub subject: String,
}

impl Headers {
    fn of(message: &mail_parser::Message<'_>) -> Self {
        let people = |address: Option<&mail_parser::Address<'_>>| {
            address
                .map(|a| {
                    a.iter()
                        .map(|p| format!("{} <{}>", p.name().unwrap_or_default(), p.address().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
                .to_lowercase()
        };
        Headers {
            from: people(message.from()),
            to: people(message.to()),
            subject: message.subject().unwrap_or_default().to_lowercase(),
        }
    }
}

impl MailRule {
    /// Whether every condition the rule sets holds.
    pub(super) fn fits(&self, headers: &Headers) -> bool {
        let holds = |wanted: &Option<String>, text: &str| wanted.as_ref().is_none_or(|w| text.contains(w.as_str()));
        holds(&self.from, &headers.from) && holds(&self.to, &headers.to) && holds(&self.subject, &headers.subject)
    }
}

/// A file name stem from a title: its letters, digits and a few marks,
/// at most 80 characters.
fn file_stem(title: &str) -> String {
    let stem: String = title
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_.,()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let stem = stem.trim().trim_matches('.').to_owned();
    if stem.is_empty() { "message".to_owned() } else { stem }
}

/// The note put beside a refused message: a message of its own, in
/// French, saying which message and why.
fn refusal_note(channel: &MailboxChannel, subject: Option<&str>, reason: &str) -> Vec<u8> {
    use base64::Engine as _;
    let subject = subject.unwrap_or("(sans objet)");
    let encoded = |text: &str| format!("=?utf-8?b?{}?=", base64::engine::general_purpose::STANDARD.encode(text));
    let body = format!(
        "Le message « {subject} » n'a pas été archivé par coffre : {reason}.\r\n\
         Il a été rangé dans le dossier « {} ». Corrigez-le et remettez-le dans « {} » pour qu'il soit repris.\r\n",
        channel.failed_folder, channel.folder
    );
    format!(
        "From: coffre <coffre@localhost>\r\n\
         To: {}\r\n\
         Subject: {}\r\n\
         Date: {}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n\
         {}\r\n",
        channel.address.user,
        encoded(&format!("[coffre] Non archivé : {subject}")),
        chrono::Utc::now().to_rfc2822(),
        base64::engine::general_purpose::STANDARD.encode(body)
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_note_is_a_message_saying_why_in_french() {
        let channel = MailboxChannel::example();
        let note = refusal_note(&channel, Some("Facture été"), "trop gros");
        let parsed = mail_parser::MessageParser::default().parse(&note).expect("a message");
        assert_eq!(parsed.subject(), Some("[coffre] Non archivé : Facture été"));
        let body = parsed.body_text(0).expect("a body");
        assert!(
            body.contains("« Facture été » n'a pas été archivé par coffre : trop gros."),
            "{body}"
        );
    }

    #[test]
    fn file_stems_keep_words_and_drop_path_marks() {
        assert_eq!(file_stem("Facture n°42 / mars"), "Facture n_42 _ mars");
        assert_eq!(file_stem("../.."), "_");
        assert_eq!(file_stem("   "), "message");
    }
}
