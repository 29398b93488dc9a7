//! Journal events: what happened, in a canonical, hash-chained form.
//!
//! An event is the object `{v, seq, time, actor, kind, payload, prev_hash,
//! hash}`. Its `hash` is the SHA-256 of the *canonical encoding* (version 1)
//! of the same object without `hash`:
//!
//! * JSON with no insignificant whitespace;
//! * object keys sorted by their UTF-8 bytes, at every depth;
//! * strings escaped minimally: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`,
//!   other control characters as `\u00xx` (lowercase hex), everything else
//!   as its UTF-8 bytes;
//! * numbers are integers only (no fraction, no exponent);
//! * `time` is RFC 3339 UTC with exactly six fractional digits and `Z`.
//!
//! The line written to a journal segment is the canonical encoding of the
//! whole event (hash included) followed by `\n`. `schemas/journal-event.schema.json`
//! documents the same for auditors. This module does no I/O: reading and
//! writing segments is `store::journal`'s work.

use super::account::UserName;
use super::hash::Sha256;
use super::record::{NodeCode, RecordId, Reference};
use super::role::Role;
use chrono::{DateTime, NaiveDate, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The version of the event format and of its canonical encoding.
pub const EVENT_FORMAT: u64 = 1;

/// An event that failed to decode or to verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The line is not a JSON object with the expected fields.
    #[error("événement mal formé : {0}")]
    Malformed(String),
    /// The value holds something the canonical encoding forbids.
    #[error("encodage non canonique : {0}")]
    NotCanonical(String),
    /// The stored hash is not the hash of the content.
    #[error("empreinte altérée : l'événement porte {stored}, son contenu donne {computed}")]
    HashMismatch {
        /// The hash written in the event.
        stored: Sha256,
        /// The hash of its content.
        computed: Sha256,
    },
    /// The payload does not match its kind.
    #[error("contenu invalide pour un événement {kind} : {reason}")]
    BadPayload {
        /// The event kind.
        kind: String,
        /// What serde said.
        reason: String,
    },
}

/// What the content of a version is, as the journal records it. The original
/// file name is descriptive metadata and lives in the metadata document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionFacts {
    /// Version number, from 1.
    pub number: u32,
    /// Digest of the content blob.
    pub sha256: Sha256,
    /// Size in bytes.
    pub size: u64,
    /// Media type sniffed from the bytes.
    pub media_type: String,
}

/// What a `record.updated` event says of a record, before or after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFacetsChange {
    /// Reference.
    pub reference: Reference,
    /// Node.
    pub node: NodeCode,
    /// Date.
    pub date: NaiveDate,
    /// Producing service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Document type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_type: Option<String>,
    /// Digest of the descriptive metadata document (title, fields).
    pub metadata: Sha256,
}

impl RecordFacetsChange {
    /// A record's facets as they stand.
    pub fn of(record: &super::record::Record) -> Self {
        RecordFacetsChange {
            reference: record.reference.clone(),
            node: record.node.clone(),
            date: record.date,
            service: record.service.clone(),
            document_type: record.document_type.clone(),
            metadata: record.metadata_sha256,
        }
    }
}

/// The typed content of an event: its kind and payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "payload")]
pub enum EventBody {
    /// The archive was created.
    #[serde(rename = "archive.initialized")]
    ArchiveInitialized {
        /// Data directory format version.
        format: u32,
        /// A random identifier of this archive.
        archive_id: String,
    },
    /// An API token was issued. Only its hash is kept.
    #[serde(rename = "token.created")]
    TokenCreated {
        /// SHA-256 of the token text.
        token_sha256: Sha256,
        /// What the token may do.
        role: Role,
        /// A name for people.
        name: String,
        /// The account it belongs to, whose name the journal gives for
        /// what it does (absent on tokens issued before accounts, and on
        /// an application's).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        account: Option<UserName>,
        /// The token belongs to an application (named `name`), not to a
        /// person: what it does is journaled as `token:<name>`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        application: bool,
        /// When it stops working (absent on tokens issued before expiry).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_at: Option<DateTime<Utc>>,
    },
    /// An API token was revoked: it stops working at once.
    #[serde(rename = "token.revoked")]
    TokenRevoked {
        /// The token, by the seq of the event that created it.
        token: u64,
        /// Why, if said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A record whose node holds personal data was read (its detail or its
    /// content); once per reader, record and kind within ten minutes.
    #[serde(rename = "record.consulted")]
    RecordConsulted {
        /// The record.
        record: RecordId,
        /// Its reference when read.
        reference: Reference,
        /// `detail` or `content`.
        reading: super::trail::Reading,
        /// The version read, for content.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<u32>,
        /// The address the request came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
    },
    /// A sign-in failed, or an access was refused (403); throttled, the
    /// ones held back counted into the next.
    #[serde(rename = "access.refused")]
    AccessRefused {
        /// `sign_in` (a wrong name or password) or `forbidden` (a role
        /// that may not do what it asked).
        refusal: String,
        /// The user name typed, or the actor refused.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        /// What was asked (`GET /api/v1/audit/events`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request: Option<String>,
        /// The address the request came from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        /// Refusals of the same key held back since the last one journaled.
        #[serde(default, skip_serializing_if = "is_zero")]
        held_back: u64,
    },
    /// A person's account was opened.
    #[serde(rename = "account.created")]
    AccountCreated {
        /// The name they sign in with.
        user: UserName,
        /// The name shown to people.
        display_name: String,
        /// What they may do.
        role: Role,
        /// They sign in with their directory account.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        directory: bool,
        /// The producing service they deposit for by default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
    /// An account's role, display name, service or state changed; absent
    /// fields are unchanged.
    #[serde(rename = "account.updated")]
    AccountUpdated {
        /// The account.
        user: UserName,
        /// Its new display name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        display_name: Option<String>,
        /// Its new role.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role: Option<Role>,
        /// Disabled (true) or enabled again (false).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disabled: Option<bool>,
        /// Its new producing service (empty: none any more).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        /// Its new e-mail address for the daily summary (empty: none any
        /// more).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        email: Option<String>,
    },
    /// The collectivité's identity was set (or changed): the papers and
    /// packages made from then on name it.
    #[serde(rename = "identity.set")]
    IdentitySet {
        /// The identity, whole.
        identity: super::identity::Identity,
    },
    /// An account's password was set. The journal keeps the fact, never
    /// the password or its hash.
    #[serde(rename = "account.password_set")]
    AccountPasswordSet {
        /// The account.
        user: UserName,
    },
    /// A record was deposited with its first version.
    #[serde(rename = "record.ingested")]
    RecordIngested {
        /// New record id.
        record: RecordId,
        /// Reference given by the naming engine.
        reference: Reference,
        /// Classification node.
        node: NodeCode,
        /// The counter period (the year of the reference).
        year: i32,
        /// The counter value used in the reference.
        number: u64,
        /// The record's date.
        date: NaiveDate,
        /// Producing service.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
        /// Document type (invoice, deliberation, ...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        document_type: Option<String>,
        /// Digest of the descriptive metadata document (a blob).
        metadata: Sha256,
        /// The first version.
        version: VersionFacts,
        /// The naming counter that gave `number`: `NODE` or `NODE/YEAR`
        /// (absent in early events, which counted per node and year).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
        /// The plan version the record was classified under.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        plan_version: Option<u32>,
        /// The automatic classification rule that chose the node, when the
        /// depositor named none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        classified_by: Option<String>,
        /// Where the date came from, when the depositor gave none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dated: Option<super::record::Dating>,
        /// The capture channel it came through (`dossier:<name>`), when
        /// not the API or the command line.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        channel: Option<String>,
        /// The records it is linked to (a message's attachment to its
        /// message, a bordereau to its flow).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        links: Vec<super::record::Link>,
        /// Identifiers the record had where it came from (an imported
        /// package); they find it here too.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        aliases: Vec<Reference>,
        /// The package it was imported from (its identifier).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        imported_from: Option<String>,
        /// It waits for a person to confirm the node `classified_by` chose
        /// (a rule that read its name or its text, not structured data).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        to_verify: bool,
        /// The processing circuit it entered (its node's), at which step and
        /// from which day.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        circuit: Option<CircuitEntry>,
    },
    /// A new version was added to a record.
    #[serde(rename = "version.added")]
    VersionAdded {
        /// The record.
        record: RecordId,
        /// The new version.
        version: VersionFacts,
        /// Digest of the record's updated descriptive metadata document.
        metadata: Sha256,
    },
    /// An archivist changed a record's description or classification.
    /// Both the new and the previous values are kept.
    #[serde(rename = "record.updated")]
    RecordUpdated {
        /// The record.
        record: RecordId,
        /// Why, as the archivist wrote it.
        reason: String,
        /// The record as it is now.
        now: RecordFacetsChange,
        /// The record as it was.
        before: RecordFacetsChange,
        /// The naming counter that gave a new reference (when the plan
        /// renumbers records reclassified into the node).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
        /// The number it gave.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<u64>,
    },
    /// A record's fields were read from its text once extracted (the LAD
    /// of an invoice), each with its confidence; those read surely that it
    /// lacked were added to its description.
    #[serde(rename = "record.read")]
    RecordRead {
        /// The record.
        record: RecordId,
        /// The version whose text was read.
        version: u32,
        /// The fields read.
        fields: Vec<super::verification::ReadValue>,
        /// The fields every invoice has that were not found.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing: Vec<String>,
        /// The fields a person should verify (doubtful or missing); none:
        /// the reading needs no one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        to_verify: Vec<String>,
        /// Digest of its new descriptive metadata document, when fields
        /// were added to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metadata: Option<Sha256>,
        /// The supplier whose template (in the plan) read it, when one did.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<String>,
    },
    /// The archive made a rendition of a record's version (a scan's
    /// searchable PDF/A) and keeps it next to the version, which is never
    /// changed.
    #[serde(rename = "record.rendered")]
    RecordRendered {
        /// The record.
        record: RecordId,
        /// The version rendered.
        version: u32,
        /// Digest of the rendition's content.
        sha256: Sha256,
        /// Its size in bytes.
        size: u64,
        /// Its media type.
        media_type: String,
        /// What made it.
        made_by: String,
    },
    /// A person verified a record's description: each field as read and as
    /// kept, the node a rule chose and the node kept. The record leaves the
    /// verification queue.
    #[serde(rename = "record.verified")]
    RecordVerified {
        /// The record.
        record: RecordId,
        /// The fields checked.
        checked: Vec<super::verification::CheckedField>,
        /// The node a rule chose and the node kept, when a rule chose it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<super::verification::CheckedNode>,
        /// The supplier, as kept (for counts by supplier).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        supplier: Option<String>,
        /// What the person wrote, if anything.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// The record as it is now.
        now: RecordFacetsChange,
        /// The record as it was.
        before: RecordFacetsChange,
        /// The naming counter that gave a new reference (a node kept that
        /// renumbers).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
        /// The number it gave.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        number: Option<u64>,
    },
    /// A record moved from one step of its processing circuit to another:
    /// who (the event's actor), when (`date`, the day it took effect), why.
    #[serde(rename = "record.moved")]
    RecordMoved {
        /// The record.
        record: RecordId,
        /// The circuit's code.
        circuit: String,
        /// The step it left.
        from: String,
        /// The step it reached.
        to: String,
        /// The day the move took effect (a payment's date), on or after the
        /// day it reached `from`.
        date: NaiveDate,
        /// The step reached ends the circuit.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        closed: bool,
        /// What the person wrote.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// An archived record that goes with the move (a letter asking for a
        /// missing piece, a rejection).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<RecordId>,
        /// The facts the indicators group by, as the record said them when it
        /// moved: its service, and for a payment its supplier and amount.
        #[serde(default, skip_serializing_if = "MoveFacts::is_empty")]
        facts: MoveFacts,
    },
    /// The public accountant's acknowledgement of a PES flow (a
    /// `PES_ACQUIT`) was archived: whether it accepted the flow, and the
    /// anomalies of what it refused.
    #[serde(rename = "flow.acknowledged")]
    FlowAcknowledged {
        /// The acknowledged flow's file name, as the acknowledgement says.
        name: String,
        /// The flow's record, when it is archived here.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        flow: Option<RecordId>,
        /// The acknowledgement's record.
        acknowledgement: RecordId,
        /// Whether every element was accepted.
        accepted: bool,
        /// The anomalies given for what was refused.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        reasons: Vec<FlowAnomaly>,
    },
    /// A retention start event happened (`closing`, `contract_end`, ...)
    /// for some records: their retention periods that start with it start.
    #[serde(rename = "retention.event_recorded")]
    StartEventRecorded {
        /// The event's name, as rules name it (`event:NAME`).
        name: String,
        /// When it happened.
        date: NaiveDate,
        /// The records it applies to.
        records: Vec<RecordId>,
    },
    /// An archivist decided what becomes of a record whose rule says
    /// `review` (*tri*): keep it, or destroy it.
    #[serde(rename = "retention.reviewed")]
    RetentionReviewed {
        /// The record.
        record: RecordId,
        /// `keep` or `destroy`.
        decision: super::plan::FinalAction,
        /// Why.
        reason: String,
    },
    /// A legal hold was placed; its id is this event's seq.
    #[serde(rename = "hold.placed")]
    HoldPlaced {
        /// What it freezes.
        scope: super::hold::HoldScope,
        /// Why.
        reason: String,
        /// Who answers for it.
        owner: String,
        /// When to look at it again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        review: Option<NaiveDate>,
    },
    /// A legal hold was lifted.
    #[serde(rename = "hold.lifted")]
    HoldLifted {
        /// The hold's id.
        hold: u64,
        /// Why.
        reason: String,
    },
    /// A disposal was proposed (the *bordereau d'élimination* drawn up);
    /// its id is this event's seq.
    #[serde(rename = "disposal.proposed")]
    DisposalProposed {
        /// Records due on or before this date were considered.
        at: NaiveDate,
        /// Only this node and below, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeCode>,
        /// The records proposed.
        lines: Vec<super::disposition::DisposalLine>,
        /// Records considered and left out, with the reason.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        excluded: Vec<super::disposition::Exclusion>,
        /// The proposal's size and how many `disposal.lines` events carry
        /// the lines and exclusions beyond this event's (none when all fit
        /// here, as in events written before proposals came in parts).
        #[serde(default, skip_serializing_if = "super::disposition::Totals::is_single")]
        totals: super::disposition::Totals,
    },
    /// More lines of a proposed disposal: one part of a proposal too long
    /// for one event (a part holds at most
    /// [`super::disposition::PART_LINES`] lines and exclusions).
    #[serde(rename = "disposal.lines")]
    DisposalLines {
        /// The disposal.
        disposal: u64,
        /// This part's number, from 1 (the proposal itself is part 0).
        part: u32,
        /// Records proposed.
        lines: Vec<super::disposition::DisposalLine>,
        /// Records considered and left out, with the reason.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        excluded: Vec<super::disposition::Exclusion>,
    },
    /// A proposal that could not be completed (the server stopped while
    /// its parts were being written) was abandoned: it can be neither
    /// approved nor executed; a new one is drawn up instead.
    #[serde(rename = "disposal.abandoned")]
    DisposalAbandoned {
        /// The disposal.
        disposal: u64,
        /// Why.
        reason: String,
    },
    /// The archives authority's visa was recorded for a disposal.
    #[serde(rename = "disposal.approved")]
    DisposalApproved {
        /// The disposal.
        disposal: u64,
        /// The visa's reference.
        visa: String,
        /// Who signed it.
        signer: String,
        /// Its date.
        date: NaiveDate,
        /// Lines struck by the authority: those records are kept.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        struck: Vec<RecordId>,
    },
    /// Part of a disposal's execution: these lines' records are tombstones
    /// from now on; the blobs listed are to be erased. A long disposal is
    /// executed in parts of at most [`super::disposition::PART_LINES`]
    /// lines, closed by `disposal.executed`.
    #[serde(rename = "disposal.destroyed")]
    DisposalDestroyed {
        /// The disposal.
        disposal: u64,
        /// This part's number, from 1.
        part: u32,
        /// Each line of the part: destroyed, or skipped with the reason.
        outcomes: Vec<super::disposition::Outcome>,
        /// The blobs to erase: content no live record shares, and the
        /// destroyed records' descriptive metadata documents.
        erased: Vec<Sha256>,
    },
    /// A disposal was executed: the records destroyed are tombstones from
    /// now on; the blobs listed are to be erased. Since executions come in
    /// parts, it closes the `disposal.destroyed` events that carry the
    /// outcomes and names how many there were; before, it carried them.
    #[serde(rename = "disposal.executed")]
    DisposalExecuted {
        /// The disposal.
        disposal: u64,
        /// Each line not struck: destroyed, or skipped with the reason
        /// (empty when the parts carry them).
        #[serde(default)]
        outcomes: Vec<super::disposition::Outcome>,
        /// The blobs to erase: content no live record shares, and the
        /// destroyed records' descriptive metadata documents (empty when
        /// the parts carry them).
        #[serde(default)]
        erased: Vec<Sha256>,
        /// How many `disposal.destroyed` parts preceded it.
        #[serde(default, skip_serializing_if = "is_zero")]
        parts: u32,
    },
    /// The blobs of an executed disposal are erased, and the records are
    /// gone from the search index.
    #[serde(rename = "disposal.erased")]
    DisposalErased {
        /// The disposal.
        disposal: u64,
        /// The stores the blobs were erased from: the data directory and
        /// every copy folder (absent in events written before copies).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        stores: Vec<String>,
    },
    /// An executed disposal's certificate (its PDF) was filed as a record.
    #[serde(rename = "disposal.certified")]
    DisposalCertified {
        /// The disposal.
        disposal: u64,
        /// The record that holds the certificate.
        record: RecordId,
        /// Its reference.
        reference: Reference,
    },
    /// A transfer to the archives was proposed for records due whose final
    /// action is `keep`; its id is this event's seq.
    #[serde(rename = "transfer.proposed")]
    TransferProposed {
        /// Records due on or before this date were considered.
        at: NaiveDate,
        /// Only this node and below, if given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        node: Option<NodeCode>,
        /// The records proposed.
        lines: Vec<super::disposition::DisposalLine>,
        /// Records considered and left out, with the reason.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        excluded: Vec<super::disposition::Exclusion>,
        /// The proposal's size and how many `transfer.lines` events carry
        /// the rest, as for a disposal.
        #[serde(default, skip_serializing_if = "super::disposition::Totals::is_single")]
        totals: super::disposition::Totals,
    },
    /// More lines of a proposed transfer, as `disposal.lines`.
    #[serde(rename = "transfer.lines")]
    TransferLines {
        /// The transfer.
        transfer: u64,
        /// This part's number, from 1.
        part: u32,
        /// Records proposed.
        lines: Vec<super::disposition::DisposalLine>,
        /// Records considered and left out, with the reason.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        excluded: Vec<super::disposition::Exclusion>,
    },
    /// A transfer proposal that could not be completed was abandoned, as
    /// `disposal.abandoned`.
    #[serde(rename = "transfer.abandoned")]
    TransferAbandoned {
        /// The transfer.
        transfer: u64,
        /// Why.
        reason: String,
    },
    /// A classification plan was published: from now on deposits are
    /// checked against it and retention computed from it.
    #[serde(rename = "plan.published")]
    PlanPublished {
        /// The archive's number for this plan version, from 1.
        number: u32,
        /// The plan's own id (`communes-fr`).
        plan_id: String,
        /// The version the archivists gave it (`2026.1`).
        label: String,
        /// Digest of the plan file, as published (a blob).
        text: Sha256,
        /// Records of these nodes (gone from the plan) move to the node
        /// that replaces each: old code → new code.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        moves: BTreeMap<NodeCode, NodeCode>,
        /// Why, when the archivist had to confirm it (it shortens retention
        /// or destroys what was to be kept).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An integrity check ran to its end.
    #[serde(rename = "audit.verified")]
    AuditVerified {
        /// The last journal seq the check covered.
        through_seq: u64,
        /// Events whose hash and chain were checked.
        events_checked: u64,
        /// Blobs re-hashed.
        blobs_checked: u64,
        /// Bytes re-hashed.
        bytes_checked: u64,
        /// Failures found.
        failures: u64,
    },
    /// The archives service acknowledged a transfer: the records it took
    /// become tombstones pointing to its reference.
    #[serde(rename = "transfer.acknowledged")]
    TransferAcknowledged {
        /// The transfer.
        transfer: u64,
        /// The archives service's reference.
        reference: String,
        /// The acknowledgement's date.
        date: NaiveDate,
        /// Who signed it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signer: Option<String>,
        /// The blob holding the archives service's SEDA answer, when it
        /// was uploaded rather than typed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply: Option<Sha256>,
        /// Each line: transferred, or kept here with the reason.
        outcomes: Vec<super::disposition::Outcome>,
        /// Blobs to erase.
        erased: Vec<Sha256>,
    },
    /// An acknowledged transfer's blobs are erased and its records purged
    /// from the index.
    #[serde(rename = "transfer.erased")]
    TransferErased {
        /// The transfer.
        transfer: u64,
    },
    /// A scheduled fixity run re-hashed every blob.
    #[serde(rename = "fixity.checked")]
    FixityChecked {
        /// When the run began.
        started_at: DateTime<Utc>,
        /// Blobs re-hashed (or found missing).
        blobs_checked: u64,
        /// Bytes re-hashed.
        bytes_checked: u64,
        /// What was wrong.
        findings: Vec<super::integrity::FixityFinding>,
        /// How many times the run was interrupted (a restart) and resumed
        /// where it stopped.
        resumed: u32,
    },
    /// A blob was found damaged (its bytes hash to something else, or it
    /// is gone): its content is not served until it is repaired.
    #[serde(rename = "blob.damaged")]
    BlobDamaged {
        /// The blob.
        blob: Sha256,
        /// What is wrong.
        problem: super::integrity::DamageKind,
        /// Who found it.
        found_by: super::integrity::DamageFinder,
        /// The records that use it (references).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        used_by: Vec<String>,
    },
    /// A damaged blob was repaired: verified bytes with its digest replace
    /// what was there.
    #[serde(rename = "blob.repaired")]
    BlobRepaired {
        /// The blob.
        blob: Sha256,
        /// Where the good bytes came from: `deposit` (the same file
        /// deposited again) or the name of a copy store.
        source: String,
        /// The records that use it (references).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        used_by: Vec<String>,
    },
    /// The archive was rebuilt on this data directory from one copy
    /// folder (`coffre restore --from`): its journal up to this event is
    /// the copy's, its blobs those of the copy whose bytes hashed to
    /// their names.
    #[serde(rename = "archive.restored")]
    ArchiveRestored {
        /// The copy folder.
        from: String,
        /// Blobs taken from it.
        blobs_restored: u64,
        /// Bytes taken from it.
        bytes_restored: u64,
        /// Blobs of the copy whose bytes no longer hashed to their names,
        /// left behind.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        refused: Vec<Sha256>,
    },
    /// The catalog (a view of the journal) was found damaged at start and
    /// rebuilt from the journal before anything was served.
    #[serde(rename = "catalog.rebuilt")]
    CatalogRebuilt {
        /// What was wrong with it.
        reason: String,
        /// Where the damaged catalog was set aside, if it was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        set_aside: Option<String>,
    },
    /// A copy of a blob on a copy store was found corrupt or missing by
    /// the fixity job, and put back from the first store's good bytes.
    #[serde(rename = "copy.repaired")]
    CopyRepaired {
        /// The blob.
        blob: Sha256,
        /// The copy store.
        copy: String,
        /// What was wrong with its copy.
        problem: super::integrity::DamageKind,
    },
    /// Records were exported as a transfer package.
    #[serde(rename = "package.exported")]
    PackageExported {
        /// The package's identifier (its SEDA MessageIdentifier).
        package: String,
        /// The records in it.
        records: Vec<RecordId>,
        /// The seal its proofs lead to (its event's seq).
        seal: u64,
        /// The payload's `bytes.files`.
        payload_oxum: String,
        /// SHA-256 of its `tagmanifest-sha256.txt`, which pins every file.
        tagmanifest: Sha256,
        /// The transfer proposal it carries out, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transfer: Option<u64>,
    },
    /// The archive's seal key was created; seals name it by its public key.
    #[serde(rename = "seal.key_created")]
    SealKeyCreated {
        /// The signature algorithm: `ed25519`.
        algorithm: String,
        /// The public key, 64 hex digits.
        public_key: String,
    },
    /// The seal key was changed: the old key handed over to the new one,
    /// both signing the rotation (see `domain::seal::KeyRotation`); seals
    /// from now on name the new key.
    #[serde(rename = "seal.key_rotated")]
    SealKeyRotated {
        /// The rotation, with both signatures.
        #[serde(flatten)]
        rotation: super::seal::KeyRotation,
    },
    /// The journal's Merkle tree was sealed: see `domain::seal`.
    #[serde(rename = "journal.sealed")]
    JournalSealed {
        /// Leaves (events, seqs 1..=tree_size) the tree held.
        tree_size: u64,
        /// Its root.
        root: Sha256,
        /// When the statement was made (microseconds, UTC).
        sealed_at: DateTime<Utc>,
        /// The public key that signs, 64 hex digits.
        public_key: String,
        /// Ed25519 signature of the statement, 128 hex digits.
        signature: String,
        /// An RFC 3161 time-stamp token over the statement (DER, base64),
        /// when a time-stamping authority is configured.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        timestamp: Option<String>,
    },
}

/// Whether a count is zero (not written then).
fn is_zero<N: Default + PartialEq>(n: &N) -> bool {
    *n == N::default()
}

/// A record as an event names it: by id, or by reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordNamed {
    /// By its id.
    Id(RecordId),
    /// By its reference.
    Reference(Reference),
}

impl EventBody {
    /// The blobs the event brings into use (a version's content and
    /// metadata document, a plan's file, an archives service's answer, a
    /// logo): what must be stored before a view applies it.
    pub fn blobs_named(&self) -> Vec<Sha256> {
        use EventBody::*;
        match self {
            RecordIngested { version, metadata, .. } | VersionAdded { version, metadata, .. } => {
                vec![version.sha256, *metadata]
            }
            RecordUpdated { now, .. } | RecordVerified { now, .. } => vec![now.metadata],
            RecordRendered { sha256, .. } => vec![*sha256],
            RecordRead {
                metadata: Some(metadata),
                ..
            } => vec![*metadata],
            PlanPublished { text, .. } => vec![*text],
            TransferAcknowledged { reply: Some(reply), .. } => vec![*reply],
            IdentitySet { identity } => identity.logo.iter().map(|logo| logo.sha256).collect(),
            _ => Vec::new(),
        }
    }

    /// The blobs the event erases (an executed disposal, an acknowledged
    /// transfer).
    pub fn blobs_erased(&self) -> &[Sha256] {
        match self {
            EventBody::DisposalExecuted { erased, .. }
            | EventBody::DisposalDestroyed { erased, .. }
            | EventBody::TransferAcknowledged { erased, .. } => erased,
            _ => &[],
        }
    }

    /// Every record the event names: who may read its body must be allowed
    /// to read each of them (a disposal's proposal lists records of other
    /// services, with their due dates).
    pub fn records_named(&self) -> Vec<RecordNamed> {
        use EventBody::*;
        let ids = |ids: &[RecordId]| ids.iter().copied().map(RecordNamed::Id).collect::<Vec<_>>();
        match self {
            RecordIngested { record, .. }
            | RecordConsulted { record, .. }
            | VersionAdded { record, .. }
            | RecordUpdated { record, .. }
            | RecordRead { record, .. }
            | RecordRendered { record, .. }
            | RecordVerified { record, .. }
            | RecordMoved { record, .. }
            | FlowAcknowledged {
                acknowledgement: record,
                flow: None,
                ..
            }
            | RetentionReviewed { record, .. }
            | DisposalCertified { record, .. } => vec![RecordNamed::Id(*record)],
            HoldPlaced {
                scope: super::hold::HoldScope::Record(record),
                ..
            } => vec![RecordNamed::Id(*record)],
            FlowAcknowledged {
                acknowledgement,
                flow: Some(flow),
                ..
            } => vec![RecordNamed::Id(*flow), RecordNamed::Id(*acknowledgement)],
            StartEventRecorded { records, .. } | PackageExported { records, .. } => ids(records),
            DisposalProposed { lines, excluded, .. }
            | TransferProposed { lines, excluded, .. }
            | DisposalLines { lines, excluded, .. }
            | TransferLines { lines, excluded, .. } => lines
                .iter()
                .map(|l| RecordNamed::Id(l.record))
                .chain(excluded.iter().map(|e| RecordNamed::Reference(e.reference.clone())))
                .collect(),
            DisposalApproved { struck, .. } => ids(struck),
            DisposalExecuted { outcomes, .. }
            | DisposalDestroyed { outcomes, .. }
            | TransferAcknowledged { outcomes, .. } => outcomes.iter().map(|o| RecordNamed::Id(o.record)).collect(),
            _ => Vec::new(),
        }
    }

    /// Splits the body into its kind name and payload object.
    fn into_parts(self) -> (String, Value) {
        // Serialising these plain types cannot fail; an empty object is a
        // harmless fallback that verification would still chain.
        let mut tagged = match serde_json::to_value(self) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let kind = match tagged.remove("kind") {
            Some(Value::String(k)) => k,
            _ => String::new(),
        };
        let payload = tagged.remove("payload").unwrap_or(Value::Object(Map::new()));
        (kind, payload)
    }
}

/// Where a record entered its processing circuit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitEntry {
    /// The circuit's code.
    pub circuit: String,
    /// The step it entered at (the circuit's first).
    pub step: String,
    /// The day it entered: the day it was received (the circuit's
    /// `received` field), else the day of its deposit.
    pub date: NaiveDate,
}

/// One anomaly an acknowledgement gives for what it refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowAnomaly {
    /// Its code (`CodeAnoAcq`… as the accountant's application gives it).
    pub code: String,
    /// Its label.
    pub label: String,
}

/// What a record said of itself when it moved, for the indicators.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MoveFacts {
    /// Its producing service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Its supplier (the circuit's `supplier` field), on a payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// The amount paid (the circuit's `amount` field, a decimal), on a
    /// payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
}

impl MoveFacts {
    /// Whether it says nothing.
    pub fn is_empty(&self) -> bool {
        self.service.is_none() && self.supplier.is_none() && self.amount.is_none()
    }
}

/// An event before the journal gives it a place: who did what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDraft {
    /// Who acts: `token:<name>`, `cli:<user>` or `system`.
    pub actor: String,
    /// What happened.
    pub body: EventBody,
}

/// An event as written in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Format version.
    pub v: u64,
    /// Position in the journal, from 1, without gaps.
    pub seq: u64,
    /// When it was committed (UTC, microseconds).
    pub time: DateTime<Utc>,
    /// Who acted.
    pub actor: String,
    /// Event kind, such as `record.ingested`.
    pub kind: String,
    /// Kind-specific payload.
    pub payload: Value,
    /// Hash of the previous event ([`Sha256::ZERO`] for the first).
    pub prev_hash: Sha256,
    /// Hash of this event's canonical encoding without `hash`.
    pub hash: Sha256,
}

impl Event {
    /// Places a draft at `seq`, after the event hashed `prev_hash`.
    pub fn seal(draft: EventDraft, seq: u64, time: DateTime<Utc>, prev_hash: Sha256) -> Self {
        let (kind, payload) = draft.body.into_parts();
        let mut event = Event {
            v: EVENT_FORMAT,
            seq,
            time: time.trunc_subsecs(6),
            actor: draft.actor,
            kind,
            payload,
            prev_hash,
            hash: Sha256::ZERO,
        };
        // Payloads come from EventBody, whose fields are never floats, so
        // the canonical encoding always succeeds.
        let mut bytes = Vec::with_capacity(512);
        event.hash = match event.write_canonical_into(false, &mut bytes) {
            Ok(()) => Sha256::of(&bytes),
            Err(_) => Sha256::ZERO,
        };
        event
    }

    /// The typed body, decoded from kind and payload.
    pub fn body(&self) -> Result<EventBody, EventError> {
        let tagged = serde_json::json!({"kind": self.kind, "payload": self.payload});
        serde_json::from_value(tagged).map_err(|e| EventError::BadPayload {
            kind: self.kind.clone(),
            reason: e.to_string(),
        })
    }

    fn unsealed_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("v".into(), Value::from(self.v));
        map.insert("seq".into(), Value::from(self.seq));
        map.insert("time".into(), Value::from(format_time(&self.time)));
        map.insert("actor".into(), Value::from(self.actor.clone()));
        map.insert("kind".into(), Value::from(self.kind.clone()));
        map.insert("payload".into(), self.payload.clone());
        map.insert("prev_hash".into(), Value::from(self.prev_hash.to_string()));
        Value::Object(map)
    }

    /// The whole event as JSON (hash included).
    pub fn to_value(&self) -> Value {
        let mut value = self.unsealed_value();
        if let Value::Object(map) = &mut value {
            map.insert("hash".into(), Value::from(self.hash.to_string()));
        }
        value
    }

    /// The journal line: canonical encoding of the whole event, then `\n`.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        // See `seal`: an event built here is always canonical.
        let _ = self.write_canonical_into(true, &mut out);
        out.push(b'\n');
        out
    }

    /// The event's leaf in the journal's Merkle tree: SHA-256(0x00 ‖ its
    /// journal line without `\n`).
    pub fn leaf_hash(&self) -> Sha256 {
        let mut line = Vec::with_capacity(512);
        let _ = self.write_canonical_into(true, &mut line);
        super::merkle::leaf_hash(&line)
    }

    /// Writes the canonical encoding of the event (with its hash or
    /// without) straight from its fields: the same bytes as
    /// `write_canonical(&self.to_value())`, the keys in their byte order,
    /// without building (and copying the payload into) a JSON value.
    fn write_canonical_into(&self, with_hash: bool, out: &mut Vec<u8>) -> Result<(), EventError> {
        out.extend_from_slice(b"{\"actor\":");
        write_string(&self.actor, out);
        if with_hash {
            out.extend_from_slice(b",\"hash\":");
            write_string(&self.hash.to_string(), out);
        }
        out.extend_from_slice(b",\"kind\":");
        write_string(&self.kind, out);
        out.extend_from_slice(b",\"payload\":");
        write_canonical(&self.payload, out)?;
        out.extend_from_slice(b",\"prev_hash\":");
        write_string(&self.prev_hash.to_string(), out);
        out.extend_from_slice(b",\"seq\":");
        out.extend_from_slice(self.seq.to_string().as_bytes());
        out.extend_from_slice(b",\"time\":");
        write_string(&format_time(&self.time), out);
        out.extend_from_slice(b",\"v\":");
        out.extend_from_slice(self.v.to_string().as_bytes());
        out.push(b'}');
        Ok(())
    }

    /// Decodes a journal line (without its `\n`) and checks that its hash is
    /// the hash of its content. Chain links are the reader's to check.
    pub fn from_line(line: &[u8]) -> Result<Self, EventError> {
        let (event, computed) = Self::decode(line)?;
        if event.hash != computed {
            return Err(EventError::HashMismatch {
                stored: event.hash,
                computed,
            });
        }
        Ok(event)
    }

    /// Decodes a journal line without judging it: the event as written and
    /// the hash its content actually has. Auditing tools use this to go on
    /// past a damaged event and report every one.
    pub fn decode(line: &[u8]) -> Result<(Self, Sha256), EventError> {
        let value: Value = serde_json::from_slice(line).map_err(|e| EventError::Malformed(e.to_string()))?;
        let Value::Object(mut map) = value else {
            return Err(EventError::Malformed("not a JSON object".into()));
        };
        let stored = digest_field(&map, "hash")?;
        map.remove("hash");
        let computed = hash_of_unsealed(&Value::Object(map.clone()))?;
        let event = Event {
            v: uint_field(&map, "v")?,
            seq: uint_field(&map, "seq")?,
            time: {
                let text = str_field(&map, "time")?;
                DateTime::parse_from_rfc3339(text)
                    .map_err(|e| EventError::Malformed(format!("time: {e}")))?
                    .with_timezone(&Utc)
            },
            actor: str_field(&map, "actor")?.to_owned(),
            kind: str_field(&map, "kind")?.to_owned(),
            payload: map.get("payload").cloned().unwrap_or(Value::Null),
            prev_hash: digest_field(&map, "prev_hash")?,
            hash: stored,
        };
        if map.len() != 7 {
            return Err(EventError::Malformed("unexpected or missing fields".into()));
        }
        Ok((event, computed))
    }
}

/// Formats an event time: RFC 3339, UTC, six fractional digits, `Z`.
pub fn format_time(time: &DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn str_field<'a>(map: &'a Map<String, Value>, name: &str) -> Result<&'a str, EventError> {
    map.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| EventError::Malformed(format!("{name}: missing or not a string")))
}

fn uint_field(map: &Map<String, Value>, name: &str) -> Result<u64, EventError> {
    map.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| EventError::Malformed(format!("{name}: missing or not an unsigned integer")))
}

fn digest_field(map: &Map<String, Value>, name: &str) -> Result<Sha256, EventError> {
    Sha256::parse(str_field(map, name)?).map_err(|e| EventError::Malformed(format!("{name}: {e}")))
}

fn hash_of_unsealed(value: &Value) -> Result<Sha256, EventError> {
    let mut bytes = Vec::with_capacity(512);
    write_canonical(value, &mut bytes)?;
    Ok(Sha256::of(&bytes))
}

/// Writes the canonical encoding (version 1) of `value` into `out`.
pub fn write_canonical(value: &Value, out: &mut Vec<u8>) -> Result<(), EventError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else {
                return Err(EventError::NotCanonical(format!("number {n} is not an integer")));
            }
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                if let Some(v) = map.get(key) {
                    write_canonical(v, out)?;
                }
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    // Runs of bytes needing no escape are copied whole: every byte of a
    // multi-byte UTF-8 character is 0x80 or above, so a byte below 0x20,
    // a quote or a backslash is always a character of its own.
    let bytes = s.as_bytes();
    let mut run = 0;
    for (at, &b) in bytes.iter().enumerate() {
        let escaped: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            0x0c => b"\\f",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            b if b < 0x20 => b"",
            _ => continue,
        };
        out.extend_from_slice(bytes.get(run..at).unwrap_or_default());
        if escaped.is_empty() {
            out.extend_from_slice(format!("\\u{b:04x}").as_bytes());
        } else {
            out.extend_from_slice(escaped);
        }
        run = at + 1;
    }
    out.extend_from_slice(bytes.get(run..).unwrap_or_default());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn draft(name: &str) -> EventDraft {
        EventDraft {
            actor: "cli:test".into(),
            body: EventBody::TokenCreated {
                token_sha256: Sha256::of(name.as_bytes()),
                role: Role::Agent,
                name: name.into(),
                account: None,
                application: false,
                expires_at: None,
            },
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 123_456_789).unwrap_or_default()
    }

    #[test]
    fn canonical_encoding_sorts_keys_and_escapes() {
        let v = serde_json::json!({"b": 1, "a": "é\n\u{1}\"", "c": [true, null, -3]});
        let mut out = Vec::new();
        write_canonical(&v, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"a\":\"é\\n\\u0001\\\"\",\"b\":1,\"c\":[true,null,-3]}"
        );
        assert!(write_canonical(&serde_json::json!(1.5), &mut Vec::new()).is_err());
    }

    #[test]
    fn a_sealed_event_round_trips_through_its_line() {
        let e = Event::seal(draft("x"), 7, at(1_700_000_000), Sha256::of(b"prev"));
        let line = e.to_line();
        assert_eq!(line.last(), Some(&b'\n'));
        let back = Event::from_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.body().unwrap(), draft("x").body);
    }

    #[test]
    fn an_edited_event_fails_its_hash() {
        let e = Event::seal(draft("alice"), 1, at(0), Sha256::ZERO);
        let line = String::from_utf8(e.to_line()).unwrap().replace("alice", "alicf");
        let err = Event::from_line(line.trim_end().as_bytes()).unwrap_err();
        assert!(matches!(err, EventError::HashMismatch { .. }), "{err}");
    }

    /// The escaping as it was written first, a character at a time.
    fn write_string_by_chars(s: &str, out: &mut Vec<u8>) {
        out.push(b'"');
        for c in s.chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\u{8}' => out.extend_from_slice(b"\\b"),
                '\u{c}' => out.extend_from_slice(b"\\f"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\r' => out.extend_from_slice(b"\\r"),
                '\t' => out.extend_from_slice(b"\\t"),
                c if (c as u32) < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
                c => {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        out.push(b'"');
    }

    proptest! {
        #[test]
        fn strings_are_escaped_as_a_character_at_a_time_would(s in any::<String>(), ascii in "[\\x00-\\x7f]{0,40}") {
            for s in [s.as_str(), ascii.as_str(), "é\n\u{1}\"\\\u{1f}\u{7f}fin"] {
                let (mut fast, mut slow) = (Vec::new(), Vec::new());
                write_string(s, &mut fast);
                write_string_by_chars(s, &mut slow);
                prop_assert_eq!(fast, slow);
            }
        }

        /// The encoding written from the fields is the one of the JSON
        /// value (which decoding checks hashes against), with its hash and
        /// without.
        #[test]
        fn the_encoding_from_the_fields_is_the_values(
            name in any::<String>(),
            actor in any::<String>(),
            seq in 1u64..u64::MAX,
            secs in 0i64..4_000_000_000,
        ) {
            let mut draft = draft(&name);
            draft.actor = actor;
            let e = Event::seal(draft, seq, at(secs), Sha256::of(b"p"));
            let mut from_value = Vec::new();
            write_canonical(&e.to_value(), &mut from_value).unwrap();
            prop_assert_eq!(e.to_line(), [from_value.as_slice(), b"\n"].concat());
            prop_assert_eq!(e.hash, hash_of_unsealed(&e.unsealed_value()).unwrap());
            prop_assert_eq!(e.leaf_hash(), crate::domain::merkle::leaf_hash(&from_value));
        }

        #[test]
        fn any_name_round_trips(name in any::<String>(), seq in 1u64..u64::MAX, secs in 0i64..4_000_000_000) {
            let e = Event::seal(draft(&name), seq, at(secs), Sha256::of(b"p"));
            let line = e.to_line();
            let back = Event::from_line(&line[..line.len() - 1]).unwrap();
            prop_assert_eq!(back, e);
        }
    }
}
