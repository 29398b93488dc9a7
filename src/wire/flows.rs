//! Accounting flows: what capturing a PES flow (or its acknowledgement)
//! made, part by part, with each bordereau's signature report.

use crate::archive::flows::{Acknowledged, CapturedFlow, CapturedPart};
use crate::domain::pes::{SignatureReport, Verdict};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /flows/pes` body, `multipart/form-data`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct FlowFormDto {
    /// The flow (`PES_Aller`) or acknowledgement (`PES_ACQUIT`) as
    /// received, with its file name.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// What a flow became.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CapturedFlowDto {
    /// Every record, the flow (or the acknowledgement) first, then each
    /// bordereau followed by its pièces, then the pièces justificatives.
    pub parts: Vec<FlowPartDto>,
    /// For an acknowledgement: what it says, and of which flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged: Option<AcknowledgedDto>,
}

/// One record of a flow.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct FlowPartDto {
    /// `flux`, `bordereau_mandats`, `bordereau_titres`, `mandat`, `titre`,
    /// `piece_justificative` or `acquittement` (the mapping's tables).
    pub kind: String,
    /// The record's reference.
    pub reference: String,
    /// Its title.
    pub title: String,
    /// Its bytes were archived already: no record was made, this one holds them.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub already_archived: bool,
    /// The record it belongs to (a pièce's bordereau, a pièce
    /// justificative's pièce), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
    /// How it is linked to that record: `part_of` or `supports`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A bordereau's signature, as checked at capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureDto>,
}

/// A signature's report, also kept as the record's fields.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct SignatureDto {
    /// `valid`, `invalid` or `unchecked`.
    pub verdict: String,
    /// Why it is invalid or unchecked, in French.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who signed (the certificate's subject).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The certificate: issuer, serial number, validity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    /// When it was signed, as the signature says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// The algorithm (`RSA-SHA256`).
    pub algorithm: String,
    /// An old algorithm, accepted and flagged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The signature policy named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// The role the signer claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Whether the XAdES signing-certificate digest names the certificate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_named: Option<bool>,
    /// The chain to the configured authorities, when some are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
}

/// What an acknowledgement says.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AcknowledgedDto {
    /// The acknowledged flow's file name (`NomFic`).
    pub flow_name: String,
    /// The flow's record, when it is archived here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<String>,
    /// Whether everything was accepted.
    pub accepted: bool,
    /// What was refused, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub anomalies: Vec<AnomalyDto>,
}

/// One anomaly of an acknowledgement.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct AnomalyDto {
    /// Its code (`ERREUR_SIRET`), if given.
    pub code: String,
    /// Its label, if given.
    pub label: String,
}

impl CapturedFlowDto {
    /// The answer for a captured flow.
    pub fn new(flow: &CapturedFlow) -> Self {
        let part = |p: &CapturedPart| FlowPartDto {
            kind: p.kind.key().to_owned(),
            reference: p.reference.to_string(),
            title: p.title.clone(),
            already_archived: p.already_archived,
            within: p
                .parent
                .and_then(|(i, _)| flow.parts.get(i))
                .map(|w| w.reference.to_string()),
            link: p.parent.map(|(_, l)| l.to_owned()),
            signature: p.signature.as_ref().map(SignatureDto::new),
        };
        CapturedFlowDto {
            parts: flow.parts.iter().map(part).collect(),
            acknowledged: flow.acknowledged.as_ref().map(AcknowledgedDto::new),
        }
    }
}

impl SignatureDto {
    fn new(r: &SignatureReport) -> Self {
        SignatureDto {
            verdict: match r.verdict {
                Verdict::Valid => "valid",
                Verdict::Invalid => "invalid",
                Verdict::Unchecked => "unchecked",
            }
            .to_owned(),
            reason: r.reason.clone(),
            signer: r.signer.clone(),
            certificate: r.certificate.clone(),
            signed_at: r.signed_at.clone(),
            algorithm: r.algorithm.clone(),
            warning: r.warning.clone(),
            policy: r.policy.clone(),
            role: r.role.clone(),
            certificate_named: r.certificate_named,
            chain: r.chain.clone(),
        }
    }
}

impl AcknowledgedDto {
    fn new(a: &Acknowledged) -> Self {
        AcknowledgedDto {
            flow_name: a.flow_name.clone(),
            flow: a.flow.as_ref().map(ToString::to_string),
            accepted: a.accepted,
            anomalies: a
                .reasons
                .iter()
                .map(|(code, label)| AnomalyDto {
                    code: code.clone(),
                    label: label.clone(),
                })
                .collect(),
        }
    }
}

/// An invoice's fields read from its text, each with its confidence.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct InvoiceReadingDto {
    /// `pending` while the text is not extracted yet, else `read`.
    pub status: String,
    /// A field is missing or doubtful: a person should verify it.
    pub needs_verification: bool,
    /// The lowest confidence, from 0 to 1.
    pub confidence: f32,
    /// The fields read: `fournisseur`, `siret`, `numero_facture`,
    /// `date_facture` (`YYYY-MM-DD`), `montant_ht`, `montant_tva`,
    /// `montant_ttc` (`1200.00`), `iban`, `bon_de_commande`.
    pub fields: Vec<ReadFieldDto>,
    /// The fields every invoice has that were not found.
    pub missing: Vec<String>,
    /// The supplier whose template (in the plan) read it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
}

/// One field read.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct ReadFieldDto {
    /// Its name.
    pub name: String,
    /// Its value, normalised.
    pub value: String,
    /// From 0 to 1; below 0.8 it is doubtful.
    pub confidence: f32,
    /// Why it is doubtful, in French.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doubt: Option<String>,
}

impl InvoiceReadingDto {
    /// The answer for a reading, or for a text not extracted yet.
    pub fn new(reading: Option<&crate::domain::reading::InvoiceReading>) -> Self {
        match reading {
            None => InvoiceReadingDto {
                status: "pending".to_owned(),
                needs_verification: true,
                confidence: 0.0,
                fields: Vec::new(),
                missing: Vec::new(),
                template: None,
            },
            Some(r) => InvoiceReadingDto {
                status: "read".to_owned(),
                needs_verification: r.needs_verification(),
                confidence: r.confidence(),
                fields: r
                    .fields
                    .iter()
                    .map(|f| ReadFieldDto {
                        name: f.name.to_owned(),
                        value: f.value.clone(),
                        confidence: f.confidence,
                        doubt: f.doubt.clone(),
                    })
                    .collect(),
                missing: r.missing.iter().map(|m| (*m).to_owned()).collect(),
                template: r.template.clone(),
            },
        }
    }
}

/// One status of a lifecycle message, and what it did.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct StatusOutcomeDto {
    /// The invoice's number, as the message gives it.
    pub invoice_number: String,
    /// The status code (200 … 213, 501).
    pub code: u16,
    /// Its label (« Suspendue »).
    pub label: String,
    /// The invoices archived here it names.
    pub records: Vec<String>,
    /// Those that moved on in their circuit.
    pub moved: Vec<String>,
}

/// `POST /flows/cdv`: a lifecycle message captured.
#[derive(Serialize, Deserialize, ToSchema)]
pub struct CapturedStatusesDto {
    /// The message's record.
    pub message: String,
    /// It was archived already: nothing moved again.
    pub already_archived: bool,
    /// Each status it gives.
    pub statuses: Vec<StatusOutcomeDto>,
}

impl CapturedStatusesDto {
    /// The answer for `captured`.
    pub fn new(captured: &crate::archive::einvoices::CapturedStatuses) -> Self {
        let refs = |list: &[crate::domain::record::Reference]| list.iter().map(ToString::to_string).collect();
        CapturedStatusesDto {
            message: captured.message.to_string(),
            already_archived: captured.already_archived,
            statuses: captured
                .statuses
                .iter()
                .map(|s| StatusOutcomeDto {
                    invoice_number: s.invoice_number.clone(),
                    code: s.code,
                    label: s.label.to_owned(),
                    records: refs(&s.records),
                    moved: refs(&s.moved),
                })
                .collect(),
        }
    }
}
