//! Accounting flows (PES V2): a `PES_Aller` archived as received, then
//! split into linked records (each bordereau with its signature report,
//! each mandat or titre, each pièce justificative in its own file); a
//! `PES_ACQUIT` archived and linked to the flow it acknowledges, its state
//! recorded with it. Where each field sits is the mapping's
//! ([`FlowOptions::pes`]); the splitting is `extract::pes`'s.
//!
//! Every part is checked against the plan before anything is deposited,
//! so a flow the plan refuses leaves nothing behind. A part whose bytes a
//! live record holds already is not deposited again but named: the same
//! flow captured twice (a channel retrying after a crash) makes no second
//! record, and gives the same references.

use super::{Actor, Archive, ArchiveError, Deposit, Upload};
use crate::domain::pes::{PartKind, PesMapping, SignatureReport};
use crate::domain::record::{InvalidInput, Reference, comparable};
use crate::extract::{pes, xmlsig};
use std::path::PathBuf;
use std::sync::Arc;

/// The largest flow read: a flow is held in memory whole, with its text
/// and its tree (several times its size), so it is bounded well below the
/// deposits' limit; Hélios itself takes far smaller flows.
pub const FLOW_MAX: u64 = 256 * 1024 * 1024;

/// How flows are read.
#[derive(Debug, Clone)]
pub struct FlowOptions {
    /// Where each field of a PES flow sits (`mappings/pes-v2.toml`, or the
    /// operator's file).
    pub pes: Arc<PesMapping>,
    /// Authorities (a PEM file) that signers' certificates must chain to;
    /// without it, signatures are checked but not their certificates' chain.
    pub authorities: Option<PathBuf>,
}

impl Default for FlowOptions {
    fn default() -> Self {
        FlowOptions {
            pes: Arc::new(crate::policies::mappings::default_pes_mapping()),
            authorities: None,
        }
    }
}

/// One record a flow gave.
#[derive(Debug, Clone)]
pub struct CapturedPart {
    /// What it is.
    pub kind: PartKind,
    /// Its reference.
    pub reference: Reference,
    /// Its title.
    pub title: String,
    /// Whether its bytes were archived already (no new record was made).
    pub already_archived: bool,
    /// The part it belongs to (index in the list) and how.
    pub parent: Option<(usize, &'static str)>,
    /// A bordereau's signature report.
    pub signature: Option<SignatureReport>,
}

/// What an acknowledgement said, and of which flow.
#[derive(Debug, Clone)]
pub struct Acknowledged {
    /// The acknowledged flow's file name.
    pub flow_name: String,
    /// The flow's record, when it is archived here.
    pub flow: Option<Reference>,
    /// Whether everything was accepted.
    pub accepted: bool,
    /// The anomalies of what was refused: (code, label).
    pub reasons: Vec<(String, String)>,
    /// The acknowledgement's own record, once archived (the moves it makes
    /// carry it).
    pub record: Option<crate::domain::record::RecordId>,
}

/// A flow captured: its records, the flow (or acknowledgement) first.
#[derive(Debug, Clone)]
pub struct CapturedFlow {
    /// Every record, in the flow's order.
    pub parts: Vec<CapturedPart>,
    /// For an acknowledgement, what it said.
    pub acknowledged: Option<Acknowledged>,
}

impl Archive {
    /// Whether `actor` may deposit a flow of `bytes` (a PES flow or an
    /// e-invoice lifecycle message): it may deposit, and the flow fits
    /// under both the upload limit and [`FLOW_MAX`].
    pub(super) fn admit_flow(&self, actor: &Actor, bytes: &[u8]) -> Result<(), ArchiveError> {
        actor.require(crate::domain::role::Permission::Deposit, "déposer des documents")?;
        let limit = self.options.max_upload.min(FLOW_MAX);
        if bytes.len() as u64 > limit {
            return Err(ArchiveError::TooLarge { limit });
        }
        Ok(())
    }

    /// Archives a PES flow (or acknowledgement) and the records it splits
    /// into, in the name of `actor`, through `channel` when a capture
    /// channel brings it.
    pub fn capture_pes(
        &self,
        actor: &Actor,
        channel: Option<&str>,
        bytes: &[u8],
        filename: Option<String>,
    ) -> Result<CapturedFlow, ArchiveError> {
        self.admit_flow(actor, bytes)?;
        let limits = pes::Limits {
            file_max: self.options.max_upload,
        };
        let split = pes::split(bytes, filename.as_deref(), &self.options.flows.pes, limits)
            .map_err(|e| InvalidInput::new("file", format!("ce n'est pas un flux PES que coffre sait lire : {e}")))?;
        let reports = self.check_signatures(bytes, &split.parts)?;
        let acknowledged = match &split.acknowledgement {
            Some(state) => Some(Acknowledged {
                flow_name: state.flow_name.clone(),
                flow: self.flow_named(&state.flow_name)?,
                accepted: state.accepted,
                reasons: state.reasons.clone(),
                record: None,
            }),
            None => None,
        };
        let deposits: Vec<Deposit> = split
            .parts
            .iter()
            .map(|part| {
                let mapping = self.options.flows.pes.part(part.kind);
                let fields = part.fields.iter().cloned().collect();
                Deposit {
                    node: mapping.map(|m| m.node.to_string()),
                    title: Some(part.title.clone()).filter(|t| !t.trim().is_empty()),
                    date: part.date.clone(),
                    document_type: mapping.and_then(|m| m.document_type.clone()),
                    fields,
                    ..Deposit::default()
                }
            })
            .collect();
        // Everything the plan would refuse is refused before anything is
        // deposited.
        for (part, deposit) in split.parts.iter().zip(&deposits) {
            self.check_only(actor, deposit.clone(), Some(part.filename.clone()))
                .map_err(|e| in_part(part.kind, &part.title, e))?;
        }
        let mut parts: Vec<CapturedPart> = Vec::with_capacity(split.parts.len());
        for ((part, mut deposit), signature) in split.parts.into_iter().zip(deposits).zip(reports) {
            let parent = part.parent.map(|p| (p, part.link));
            if let Some((index, link)) = parent
                && let Some(of) = parts.get(index)
            {
                deposit.links.push((link.to_owned(), of.reference.to_string()));
            }
            if part.kind == PartKind::Acknowledgement
                && let Some(flow) = acknowledged.as_ref().and_then(|a| a.flow.as_ref())
            {
                deposit.links.push(("acknowledges".to_owned(), flow.to_string()));
            }
            let staged = self.stage(&mut &part.content[..])?;
            let (reference, title, already_archived) = match self.first_live_holder(&staged.sha256())? {
                Some(held) => (held.reference, held.title, true),
                None => {
                    let upload = Upload {
                        staged,
                        filename: Some(part.filename.clone()),
                    };
                    let (record, _) = self
                        .ingest_signed(
                            actor,
                            deposit,
                            upload,
                            None,
                            channel.map(str::to_owned),
                            signature.iter().cloned().collect(),
                        )
                        .map_err(|e| in_part(part.kind, &part.title, e))?;
                    (record.reference, record.title, false)
                }
            };
            parts.push(CapturedPart {
                kind: part.kind,
                reference,
                title,
                already_archived,
                parent,
                signature,
            });
        }
        let mut acknowledged = acknowledged;
        if let Some(ack) = acknowledged.as_mut() {
            if let Some(part) = parts.iter().find(|p| p.kind == PartKind::Acknowledgement) {
                ack.record = self.catalog.record_id(&part.reference)?;
            }
            self.journal_acknowledgement(actor, ack, &parts)?;
            self.follow_acknowledgement(actor, ack)?;
        }
        Ok(CapturedFlow { parts, acknowledged })
    }

    /// Journals what an acknowledgement said of its flow (`flow.acknowledged`),
    /// once: an acknowledgement captured again (already archived) says
    /// nothing new.
    fn journal_acknowledgement(
        &self,
        actor: &Actor,
        ack: &Acknowledged,
        parts: &[CapturedPart],
    ) -> Result<(), ArchiveError> {
        let Some(part) = parts
            .iter()
            .find(|p| p.kind == PartKind::Acknowledgement && !p.already_archived)
        else {
            return Ok(());
        };
        let record_id = |reference: &Reference| self.catalog.record_id(reference);
        let Some(acknowledgement) = record_id(&part.reference)? else {
            return Ok(());
        };
        let flow = match &ack.flow {
            Some(reference) => record_id(reference)?,
            None => None,
        };
        self.journal.append(
            actor.draft(crate::domain::event::EventBody::FlowAcknowledged {
                name: ack.flow_name.clone(),
                flow,
                acknowledgement,
                accepted: ack.accepted,
                reasons: ack
                    .reasons
                    .iter()
                    .map(|(code, label)| crate::domain::event::FlowAnomaly {
                        code: code.clone(),
                        label: label.clone(),
                    })
                    .collect(),
            }),
        )?;
        Ok(())
    }

    /// Moves on by themselves the records of the flow an acknowledgement
    /// answers (the flow, its bordereaux, mandats and pièces justificatives,
    /// and any record holding the same bytes: an invoice sent as a pièce),
    /// wherever their circuit's steps say an accepted (or rejected) flow
    /// leads, on the flow's day. The flow is split again from its archived
    /// bytes, so parts archived before it came (already held) are found too.
    fn follow_acknowledgement(&self, actor: &Actor, ack: &Acknowledged) -> Result<(), ArchiveError> {
        use crate::domain::circuit::Trigger;
        let Some(flow_ref) = &ack.flow else {
            return Ok(());
        };
        let Some(flow) = self
            .catalog
            .record_id(flow_ref)?
            .and_then(|id| self.catalog.record(&id).transpose())
            .transpose()?
        else {
            return Ok(());
        };
        let Some(version) = flow.versions.last() else {
            return Ok(());
        };
        let (reader, _) = self.blobs.open(&version.sha256)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::Read::take(reader, FLOW_MAX), &mut bytes)?;
        let limits = pes::Limits {
            file_max: self.options.max_upload,
        };
        let split = match pes::split(&bytes, version.filename.as_deref(), &self.options.flows.pes, limits) {
            Ok(split) => split,
            Err(e) => {
                tracing::warn!(flow = %flow_ref, error = %e, "the acknowledged flow could not be split again");
                return Ok(());
            }
        };
        let (trigger, comment) = if ack.accepted {
            (
                Trigger::PesAccepted,
                format!("flux PES « {} » accepté par le comptable", ack.flow_name),
            )
        } else {
            let reasons: Vec<String> = ack
                .reasons
                .iter()
                .map(|(code, label)| format!("{code} : {label}"))
                .collect();
            (
                Trigger::PesRejected,
                format!(
                    "flux PES « {} » rejeté par le comptable{}",
                    ack.flow_name,
                    if reasons.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", reasons.join(" ; "))
                    }
                ),
            )
        };
        let mut ids = std::collections::BTreeSet::from([flow.id]);
        for part in &split.parts {
            let sha256 = crate::domain::hash::Sha256::of(&part.content);
            ids.extend(self.live_holders(&sha256)?.into_iter().map(|r| r.id));
        }
        for id in ids {
            self.move_by_flow(actor, &id, trigger, flow.date, comment.clone(), ack.record)?;
        }
        Ok(())
    }

    /// The reports of the parts' signatures (`None` for a part without
    /// one), checked over the flow's bytes in a temporary file of the data
    /// directory.
    fn check_signatures(
        &self,
        bytes: &[u8],
        parts: &[crate::domain::pes::Part],
    ) -> Result<Vec<Option<SignatureReport>>, ArchiveError> {
        if parts.iter().all(|p| p.signature.is_none()) {
            return Ok(vec![None; parts.len()]);
        }
        // As a PDF's signatures are checked (a full disk is said as such).
        let folder = self.data_dir().scratch_folder("flow-")?;
        let path = folder.path().join("flux.xml");
        std::fs::write(&path, bytes)?;
        let authorities = self.options.flows.authorities.as_deref();
        Ok(parts
            .iter()
            .map(|p| p.signature.as_ref().map(|s| xmlsig::verify(&path, s, authorities)))
            .collect())
    }

    /// The live flow record whose file name (`nom_fichier`) is `name`.
    fn flow_named(&self, name: &str) -> Result<Option<Reference>, ArchiveError> {
        let Some(flow_node) = self.options.flows.pes.part(PartKind::Flow).map(|m| &m.node) else {
            return Ok(None);
        };
        let wanted = comparable(name);
        for id in self.catalog.records_with_field("nom_fichier", &wanted)? {
            if let Some(record) = self.catalog.record(&id)?
                && record.tombstone.is_none()
                && &record.node == flow_node
            {
                return Ok(Some(record.reference));
            }
        }
        Ok(None)
    }
}

/// An error about one part, saying which.
fn in_part(kind: PartKind, title: &str, e: ArchiveError) -> ArchiveError {
    match e {
        ArchiveError::Invalid(invalid) => InvalidInput::new(
            invalid.field.clone(),
            format!("{} « {title} » : {}", crate::french::flow_part(kind), invalid.problem),
        )
        .into(),
        other => other,
    }
}
