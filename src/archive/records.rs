//! Deposits, versions and reads.

use super::holds::IndexFreshness;
use super::plan::PublishedPlan;
use super::{Actor, Archive, ArchiveError};
use crate::domain::classify::{Evidence, classify};
use crate::domain::dating;
use crate::domain::event::{EventBody, RecordFacetsChange, VersionFacts};
use crate::domain::hash::Sha256;
use crate::domain::media_type;
use crate::domain::naming::{self, NameBudget, NamingContext, Template};
use crate::domain::plan::{Access, Plan};
use crate::domain::record::{
    Dating, DescriptiveMetadata, InvalidInput, LINKS_MAX, Link, LinkKind, METADATA_FORMAT, NodeCode, Record, RecordId,
    Reference, Version, check_field_name, check_optional_text, check_title, comparable, parse_date,
};
use crate::domain::retention::{self, RecordFacts, Retention, RetentionStatus};
use crate::domain::role::Permission;
use crate::extract;
use crate::store::{BlobRead, StagedBlob};
use chrono::{Datelike, NaiveDate};
use std::collections::BTreeMap;
use std::io::Read;

/// The longest original file name kept, in bytes.
const FILENAME_MAX: usize = 1024;
/// The longest service name, in characters.
const SERVICE_MAX: usize = 200;
/// The longest value of a free field, in characters.
const FIELD_VALUE_MAX: usize = 10_000;
/// How many free fields a record may carry.
const FIELDS_MAX: usize = 200;

/// What a depositor says about a document, as received (unchecked).
#[derive(Debug, Clone, Default)]
pub struct Deposit {
    /// Classification node code; without one, the plan's classification
    /// rules choose it (or the deposit is refused with the candidates).
    pub node: Option<String>,
    /// Title; defaults to the file name without its extension.
    pub title: Option<String>,
    /// `YYYY-MM-DD`; defaults to today.
    pub date: Option<String>,
    /// Producing service.
    pub service: Option<String>,
    /// Document type.
    pub document_type: Option<String>,
    /// Free string fields.
    pub fields: BTreeMap<String, String>,
    /// The records it is linked to: how (`attachment_of`, `part_of`,
    /// `supports`, `acknowledges`) and the other's reference or id.
    pub links: Vec<(String, String)>,
}

/// What an archivist changes in a record (unchecked); `None` keeps a
/// value as it is.
#[derive(Debug, Clone, Default)]
pub struct RecordChanges {
    /// Why: required, journaled with the change.
    pub reason: String,
    /// A new node (reclassification).
    pub node: Option<String>,
    /// A new title.
    pub title: Option<String>,
    /// A new date, `YYYY-MM-DD`.
    pub date: Option<String>,
    /// A new producing service (blank removes it).
    pub service: Option<String>,
    /// A new document type (blank removes it).
    pub document_type: Option<String>,
    /// Fields to set (`Some`) or remove (`None`); the others stay.
    pub fields: BTreeMap<String, Option<String>>,
}

/// A record's description changed, ready to journal.
pub(super) struct DescriptionChange {
    /// The record as it will be.
    pub now: RecordFacetsChange,
    /// The record as it was.
    pub before: RecordFacetsChange,
    /// The naming counter that gave a new reference.
    pub counter: Option<String>,
    /// The number it gave.
    pub number: Option<u64>,
    /// The fields it will have.
    pub fields: BTreeMap<String, String>,
}

/// Refuses fields a signature check writes (`signature`, `signataire`…):
/// what a record says of its signatures is the archive's finding alone.
fn refuse_report_fields<'a>(names: impl Iterator<Item = &'a String>) -> Result<(), ArchiveError> {
    for name in names {
        if crate::domain::pes::is_report_field(name) {
            return Err(InvalidInput::new(
                format!("fields.{name}"),
                "ce champ est écrit par coffre quand il vérifie les signatures d'un document ; donnez-lui un autre nom",
            )
            .into());
        }
    }
    Ok(())
}

/// The longest reason for a change, in characters.
const REASON_MAX: usize = 2000;

/// Content streamed into the blob store's staging area and hashed, not yet
/// committed: dropping it leaves nothing behind.
pub struct Staged(Box<dyn StagedBlob>);

impl Staged {
    /// The digest of the content.
    pub fn sha256(&self) -> Sha256 {
        self.0.sha256()
    }

    /// Its size in bytes.
    pub fn size(&self) -> u64 {
        self.0.size()
    }

    fn blob(&self) -> &dyn StagedBlob {
        self.0.as_ref()
    }

    /// Commits the bytes with the deposit's metadata document on `stores`
    /// stores at least, or repairs a damaged blob with them: says which.
    fn commit_or_repair(
        self,
        metadata: Box<dyn StagedBlob>,
        archive: &Archive,
        actor: &Actor,
        stores: usize,
    ) -> Result<(Sha256, bool), ArchiveError> {
        let sha256 = self.0.sha256();
        let (repaired, _) = archive.queue_or_repair(self.0, metadata, actor, stores)?.wait()?;
        Ok((sha256, repaired))
    }
}

/// What the archive proposes for a file before it is deposited.
#[derive(Debug, Clone)]
pub struct Proposal {
    /// The deposit as proposed: the node chosen (or none), the fields and
    /// date read from the content, what the depositor gave kept.
    pub deposit: Deposit,
    /// The classification rule that chose the node.
    pub rule: Option<String>,
    /// When no rule recognised it: the nodes it may go to (code, title).
    pub candidates: Vec<(String, String)>,
    /// Why its text could not be read, when a rule needed it.
    pub unreadable: Option<String>,
    /// Its media type, sniffed from its bytes.
    pub media_type: String,
    /// Its digest.
    pub sha256: Sha256,
    /// Its size in bytes.
    pub size: u64,
    /// The live records the caller may read that hold the same content
    /// already (reference, title).
    pub duplicates: Vec<(Reference, String)>,
    /// The live records of the proposed node with the same values in its
    /// duplicate fields (the same supplier and invoice number).
    pub probable_duplicates: Vec<(Reference, String)>,
}

/// A deposit made.
#[derive(Debug)]
pub struct Deposited {
    /// The new record.
    pub record: Record,
    /// Whether its bytes repaired a damaged copy of the same content.
    pub repaired: bool,
    /// Whether the content was stored already (by another record, or by
    /// another file of the same batch): only then may other records hold
    /// it.
    pub held_before: bool,
}

/// Where a deposit comes from, besides its depositor.
#[derive(Default)]
struct Origin {
    /// A package's identifier and the record's identifiers there.
    provenance: Option<(String, Vec<Reference>)>,
    /// The capture channel that brought it.
    channel: Option<String>,
    /// The reports of its signatures, checked already.
    signatures: Vec<crate::domain::pes::SignatureReport>,
}

/// A deposit checked, named and its metadata document staged: its blobs
/// are to be stored and its event journaled.
struct PreparedDeposit {
    id: RecordId,
    content: Staged,
    metadata: Box<dyn StagedBlob>,
    stores: usize,
    event: EventBody,
}

/// Content staged in the blob store, and its original name.
pub struct Upload {
    /// The staged content (not yet committed).
    pub staged: Staged,
    /// The original file name, kept as a name and never used as a path.
    pub filename: Option<String>,
}

/// A deposit after checking.
struct CheckedDeposit {
    node: NodeCode,
    title: String,
    date: NaiveDate,
    service: Option<String>,
    document_type: Option<String>,
    fields: BTreeMap<String, String>,
    links: Vec<Link>,
}

/// Checks an original file name: kept verbatim, but it must be text a
/// person can read back.
pub(super) fn check_filename(filename: Option<String>) -> Result<Option<String>, InvalidInput> {
    let Some(name) = filename else { return Ok(None) };
    if name.is_empty() {
        return Ok(None);
    }
    if name.len() > FILENAME_MAX {
        return Err(InvalidInput::new(
            "filename",
            format!("plus long que {FILENAME_MAX} octets"),
        ));
    }
    if name.chars().any(crate::domain::record::unreadable) {
        return Err(InvalidInput::new(
            "filename",
            "contient des caractères de contrôle (ou qui inversent le sens du texte)",
        ));
    }
    Ok(Some(name))
}

/// How many of the records holding a content are named (a deposit's
/// `same_content`, `GET /contents/{sha256}`).
pub const HOLDERS_SHOWN: usize = 100;

fn title_from_filename(filename: Option<&str>) -> Option<String> {
    let base = filename?.rsplit(['/', '\\']).next()?;
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let stem = stem.trim();
    (!stem.is_empty()).then(|| stem.to_owned())
}

impl Archive {
    /// Streams content into the blob store's staging area, up to the
    /// configured size limit. Nothing is visible until a deposit commits it.
    pub fn stage(&self, source: &mut dyn Read) -> Result<Staged, ArchiveError> {
        Ok(Staged(self.blobs.stage(source, self.options.max_upload)?))
    }

    fn check_deposit(
        &self,
        actor: &Actor,
        plan: &Plan,
        deposit: Deposit,
        filename: Option<&str>,
    ) -> Result<CheckedDeposit, ArchiveError> {
        let node = NodeCode::parse(deposit.node.as_deref().unwrap_or_default())?;
        let Some(plan_node) = plan.node(&node) else {
            return Err(InvalidInput::new("node", format!("{node} n'est pas un nœud du plan de classement")).into());
        };
        if plan.rule_for(&node).is_none() {
            let children: Vec<&str> = plan
                .nodes
                .iter()
                .filter(|n| n.parent.as_ref() == Some(&node))
                .map(|n| n.code.as_str())
                .collect();
            return Err(InvalidInput::new(
                "node",
                format!(
                    "{node} ({}) n'a pas de règle de conservation et ne reçoit donc pas de documents ; déposez sous l'un de ceux-ci : {}",
                    plan_node.title,
                    children.join(", ")
                ),
            )
            .into());
        }
        if !plan.allows(&node, actor.role.as_str(), Access::Deposit) {
            return Err(ArchiveError::NodeForbidden {
                role: actor.role,
                node: node.to_string(),
                action: "déposer dans",
            });
        }
        let title = match deposit.title.filter(|t| !t.trim().is_empty()) {
            Some(t) => check_title(&t)?,
            None => title_from_filename(filename)
                .ok_or_else(|| InvalidInput::new("title", "absent, et aucun nom de fichier d'où le tirer"))
                .and_then(|t| check_title(&t))?,
        };
        let today = self.clock.now().date_naive();
        let date = match deposit.date {
            Some(d) => parse_date("date", &d)?,
            None => today,
        };
        if date > today {
            return Err(InvalidInput::new(
                "date",
                format!(
                    "le {} est à venir : la date d'un document est celle où il a été établi, au plus tard aujourd'hui ({})",
                    crate::french::date(date),
                    crate::french::date(today)
                ),
            )
            .into());
        }
        // Unless the deposit names one, the depositor's own service (a
        // directory grant's).
        let service = match check_optional_text("service", deposit.service, SERVICE_MAX)? {
            Some(service) => Some(service),
            None => match &actor.account {
                Some(user) => self.catalog.account(user)?.and_then(|a| a.service),
                None => None,
            },
        };
        let types: &[String] = plan
            .lineage(&node)
            .into_iter()
            .map(|n| n.document_types.as_slice())
            .find(|t| !t.is_empty())
            .unwrap_or(&[]);
        // A listed type is matched whatever its case, and kept as the plan
        // spells it.
        let document_type = match check_optional_text("type", deposit.document_type, SERVICE_MAX)? {
            Some(t) if !types.is_empty() => match types.iter().find(|k| k.to_lowercase() == t.to_lowercase()) {
                Some(known) => Some(known.clone()),
                None => {
                    return Err(InvalidInput::new(
                        "type",
                        format!(
                            "« {t} » n'est pas un type de document de {node}, qui reçoit : {}",
                            types.join(", ")
                        ),
                    )
                    .into());
                }
            },
            None if types.len() == 1 => Some(types[0].clone()),
            other => other,
        };
        if deposit.fields.len() > FIELDS_MAX {
            return Err(InvalidInput::new("fields", format!("{FIELDS_MAX} champs au plus")).into());
        }
        let mut fields = BTreeMap::new();
        for (name, value) in deposit.fields {
            check_field_name(&name)?;
            if value.chars().count() > FIELD_VALUE_MAX {
                return Err(InvalidInput::new(
                    format!("fields.{name}"),
                    format!("plus long que {FIELD_VALUE_MAX} caractères"),
                )
                .into());
            }
            if !value.trim().is_empty() {
                fields.insert(name, value);
            }
        }
        for def in plan.fields_for(&node) {
            match fields.get(&def.name) {
                Some(value) => {
                    let canonical = def
                        .kind
                        .check(value)
                        .map_err(|problem| InvalidInput::new(format!("fields.{}", def.name), problem))?;
                    fields.insert(def.name.clone(), canonical);
                }
                None if def.required => {
                    return Err(
                        InvalidInput::new(format!("fields.{}", def.name), format!("exigé par le nœud {node}")).into(),
                    );
                }
                None => {}
            }
        }
        let links = self.check_links(actor, deposit.links)?;
        Ok(CheckedDeposit {
            node,
            title,
            date,
            service,
            document_type,
            fields,
            links,
        })
    }

    /// The links a deposit asks for: each of a known kind, to a record the
    /// depositor may read and that is still held; at most [`LINKS_MAX`],
    /// each once.
    fn check_links(&self, actor: &Actor, asked: Vec<(String, String)>) -> Result<Vec<Link>, ArchiveError> {
        if asked.len() > LINKS_MAX {
            return Err(InvalidInput::new(
                "links",
                format!("{} liens demandés ; un dépôt en fait {LINKS_MAX} au plus", asked.len()),
            )
            .into());
        }
        let mut links: Vec<Link> = Vec::with_capacity(asked.len());
        for (kind, key) in asked {
            let Some(kind) = LinkKind::parse(kind.trim()) else {
                return Err(InvalidInput::new(
                    "links",
                    format!(
                        "« {} » n'est pas une sorte de lien ; les sortes sont attachment_of (pièce jointe de), \
                         part_of (partie de), supports (justificatif de) et acknowledges (accusé de réception de)",
                        crate::french::excerpt(&kind, 40)
                    ),
                )
                .into());
            };
            let key = key.trim();
            let unknown = || {
                InvalidInput::new(
                    "links",
                    format!(
                        "le document « {} » à lier n'existe pas, ou vous ne pouvez pas le consulter",
                        crate::french::excerpt(key, 80)
                    ),
                )
            };
            if key.is_empty() || key.len() > 200 {
                return Err(unknown().into());
            }
            let other = match self.record(actor, key) {
                Ok(other) => other,
                Err(ArchiveError::RecordNotFound(_)) => return Err(unknown().into()),
                Err(e) => return Err(e),
            };
            if other.tombstone.is_some() {
                return Err(InvalidInput::new(
                    "links",
                    format!(
                        "le document {} n'est plus conservé ici : on ne peut plus s'y lier",
                        other.reference
                    ),
                )
                .into());
            }
            let link = Link { kind, record: other.id };
            if !links.contains(&link) {
                links.push(link);
            }
        }
        Ok(links)
    }

    /// Stores a metadata document on `stores` stores at least and returns
    /// its digest.
    pub(super) fn store_metadata(&self, doc: &DescriptiveMetadata, stores: usize) -> Result<Sha256, ArchiveError> {
        Ok(self.stage_metadata(doc)?.commit_on(stores)?)
    }

    /// Stages a metadata document, to be committed with its content.
    fn stage_metadata(&self, doc: &DescriptiveMetadata) -> Result<Box<dyn StagedBlob>, ArchiveError> {
        let bytes = doc.to_bytes();
        Ok(self.blobs.stage(&mut bytes.as_slice(), u64::MAX)?)
    }

    /// How many stores must hold the contents of `node`'s records before a
    /// deposit is acknowledged: the plan's `copies` for it, else every
    /// store configured.
    pub(super) fn stores_for(&self, plan: &crate::domain::plan::Plan, node: &crate::domain::record::NodeCode) -> usize {
        plan.copies_required(node)
            .map_or_else(|| self.blobs.copy_names().len() + 1, usize::from)
    }

    /// The next number of a naming counter; never one handed out before.
    fn next_number(&self, scope: &str) -> Result<u64, ArchiveError> {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let journaled = self.catalog.counter(scope)?;
        let slot = counters.entry(scope.to_owned()).or_insert(0);
        *slot = (*slot).max(journaled) + 1;
        Ok(*slot)
    }

    /// A new record's reference from its node's template, and the counter
    /// (scope and number) it used. A number whose reference is taken (the
    /// template changed between plan versions) is passed over.
    fn name_record(
        &self,
        plan: &Plan,
        checked: &CheckedDeposit,
        ext: &str,
    ) -> Result<(Reference, String, u64), ArchiveError> {
        let default = Template::parse(naming::DEFAULT_REFERENCE)
            .map_err(|e| ArchiveError::Internal(format!("the default reference template: {e}")))?;
        let template = plan.reference_template(&checked.node).unwrap_or(&default);
        let yearly = template
            .placeholders()
            .any(|p| p.name == "seq" && p.period.as_deref() == Some("year"));
        let scope = if yearly {
            format!("{}/{}", checked.node, checked.date.year())
        } else {
            checked.node.to_string()
        };
        loop {
            let number = self.next_number(&scope)?;
            let ctx = NamingContext {
                node: checked.node.as_str(),
                seq: number,
                date: checked.date,
                reference: None,
                title: &checked.title,
                ext,
                service: checked.service.as_deref(),
                document_type: checked.document_type.as_deref(),
                fields: &checked.fields,
            };
            let text = template
                .render_reference(&ctx)
                .map_err(|e| InvalidInput::new(format!("fields.{}", e.placeholder), e.problem))?;
            let reference = Reference::from_naming(text);
            if self.catalog.record_id(&reference)?.is_none() {
                return Ok((reference, scope, number));
            }
        }
    }

    /// Archives a document: the content and its metadata document become
    /// durable blobs, then the `record.ingested` event is journaled. Returns
    /// the record once both are on disk and the catalog shows it.
    #[tracing::instrument(skip_all, fields(actor = %actor.name))]
    pub fn ingest(&self, actor: &Actor, deposit: Deposit, upload: Upload) -> Result<Record, ArchiveError> {
        let deposited = self.ingest_from(actor, deposit, upload, None, None);
        if deposited.is_err() {
            self.count_ingest_error();
        }
        deposited.map(|(record, _)| record)
    }

    /// Deposits as [`ingest`](Self::ingest) does, for a capture channel
    /// (`dossier:<name>`), journaled with the record.
    pub fn ingest_through(
        &self,
        actor: &Actor,
        channel: &str,
        deposit: Deposit,
        upload: Upload,
    ) -> Result<Record, ArchiveError> {
        let deposited = self.ingest_from(actor, deposit, upload, None, Some(channel.to_owned()));
        if deposited.is_err() {
            self.count_ingest_error();
        }
        deposited.map(|(record, _)| record)
    }

    /// The reference of a live record that holds this content, if any
    /// does, whoever may read it: what a capture channel asks before
    /// depositing, so that nothing goes in twice.
    pub fn live_record_holding(&self, sha256: &Sha256) -> Result<Option<Reference>, ArchiveError> {
        Ok(self.first_live_holder(sha256)?.map(|r| r.reference))
    }

    /// The oldest live record that holds this content, if any.
    pub(super) fn first_live_holder(&self, sha256: &Sha256) -> Result<Option<Record>, ArchiveError> {
        Ok(self.live_holders_kept(sha256, 1, |_| Ok(true))?.into_iter().next())
    }

    /// The live records whose versions hold this content, in id order.
    pub(super) fn live_holders(&self, sha256: &Sha256) -> Result<Vec<Record>, ArchiveError> {
        self.live_holders_kept(sha256, usize::MAX, |_| Ok(true))
    }

    /// The first `limit` live records, in id order, whose versions hold
    /// this content and that `keep` accepts; reading no record past them.
    fn live_holders_kept(
        &self,
        sha256: &Sha256,
        limit: usize,
        mut keep: impl FnMut(&Record) -> Result<bool, ArchiveError>,
    ) -> Result<Vec<Record>, ArchiveError> {
        if !self.blobs.contains(sha256)? {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        for id in self.catalog.records_holding(sha256)? {
            if found.len() >= limit {
                break;
            }
            if let Some(record) = self.catalog.record(&id)?
                && record.tombstone.is_none()
                && record.holds_content(sha256)
                && keep(&record)?
            {
                found.push(record);
            }
        }
        Ok(found)
    }

    /// What the archive proposes for a staged file before it is deposited,
    /// for the depositor to confirm or correct: the node the plan's
    /// classification rules choose when `given` names none (with the
    /// fields and date they read, what was given winning), or the nodes it
    /// may go to; and the records the caller may read that already hold
    /// the same content.
    pub fn propose(&self, actor: &Actor, upload: &Upload, given: Deposit) -> Result<Proposal, ArchiveError> {
        actor.require(Permission::Deposit, "déposer des documents")?;
        let filename = check_filename(upload.filename.clone())?;
        let plan = self.plan_in_force()?;
        let media_type = media_type::sniff(upload.staged.blob().head());
        let mut deposit = given;
        let mut proposal = Proposal {
            rule: None,
            candidates: Vec::new(),
            unreadable: None,
            media_type: media_type.clone(),
            sha256: upload.staged.sha256(),
            size: upload.staged.size(),
            duplicates: self.records_holding(actor, &upload.staged.sha256())?,
            probable_duplicates: Vec::new(),
            deposit: Deposit::default(),
        };
        if deposit.node.is_none() {
            let classified = self.classify_deposit(
                actor,
                &plan.plan,
                &mut deposit,
                upload.staged.blob(),
                filename.as_deref(),
                &media_type,
            );
            match classified {
                Ok(rule) => proposal.rule = Some(rule),
                Err(ArchiveError::Unclassified { candidates, unreadable }) => {
                    proposal.candidates = candidates;
                    proposal.unreadable = unreadable;
                }
                Err(e) => return Err(e),
            }
        }
        // Records it would probably duplicate (the same supplier and
        // invoice number), in a node the caller may read.
        if let Some(node) = deposit.node.as_deref().and_then(|n| NodeCode::parse(n).ok())
            && plan.plan.allows(&node, actor.role.as_str(), Access::Read)
        {
            proposal.probable_duplicates = self.records_like(&plan.plan, &node, &deposit.fields, None)?;
        }
        // The date the text says, for the depositor to confirm.
        if deposit.date.is_none()
            && let (date, Dating::Text { .. }) = self.date_of_content(upload.staged.blob(), &media_type)?
        {
            deposit.date = Some(date.to_string());
        }
        proposal.deposit = deposit;
        Ok(proposal)
    }

    /// The live records the caller may read that hold this content
    /// already: (reference, title). Whether a file is archived already,
    /// without sending it.
    pub fn holders(&self, actor: &Actor, sha256: &Sha256) -> Result<Vec<(Reference, String)>, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter des documents")?;
        self.records_holding(actor, sha256)
    }

    /// The live records the caller may read whose versions hold this
    /// content, the first [`HOLDERS_SHOWN`] in the order of their ids
    /// (of their deposit, to the millisecond): (reference, title). A content held many times over
    /// (a form, the same terms attached to every invoice) is named by a
    /// few of its records, without each deposit of it reading them all.
    pub fn records_holding(&self, actor: &Actor, sha256: &Sha256) -> Result<Vec<(Reference, String)>, ArchiveError> {
        Ok(self
            .live_holders_kept(sha256, HOLDERS_SHOWN, |record| self.may_read(actor, record))?
            .into_iter()
            .map(|record| (record.reference, record.title))
            .collect())
    }

    /// Checks a deposit against the plan in force without making it.
    pub fn check_only(&self, actor: &Actor, deposit: Deposit, filename: Option<String>) -> Result<(), ArchiveError> {
        refuse_report_fields(deposit.fields.keys())?;
        self.check_as_given(actor, deposit, filename)
    }

    /// As [`check_only`](Self::check_only), for a record whose fields come
    /// from a package (its signature reports included, as the archive that
    /// made the package found them).
    pub(super) fn check_as_given(
        &self,
        actor: &Actor,
        deposit: Deposit,
        filename: Option<String>,
    ) -> Result<(), ArchiveError> {
        actor.require(Permission::Deposit, "déposer des documents")?;
        let filename = check_filename(filename)?;
        let plan = self.plan_in_force()?;
        self.check_deposit(actor, &plan.plan, deposit, filename.as_deref())?;
        Ok(())
    }

    /// Deposits a record that comes from a package: `provenance` is the
    /// package's identifier and the record's identifiers there, which stay
    /// aliases of the new record.
    pub(super) fn ingest_from(
        &self,
        actor: &Actor,
        deposit: Deposit,
        upload: Upload,
        provenance: Option<(String, Vec<Reference>)>,
        channel: Option<String>,
    ) -> Result<(Record, bool), ArchiveError> {
        self.ingest_signed(actor, deposit, upload, provenance, channel, Vec::new())
    }

    /// Deposits as [`ingest_from`](Self::ingest_from) does, with the
    /// reports of signatures checked already (a PES bordereau's); a PDF's
    /// are checked here. The reports become the record's signature fields,
    /// which a depositor may not give (a package's records keep theirs).
    pub(super) fn ingest_signed(
        &self,
        actor: &Actor,
        deposit: Deposit,
        upload: Upload,
        provenance: Option<(String, Vec<Reference>)>,
        channel: Option<String>,
        signatures: Vec<crate::domain::pes::SignatureReport>,
    ) -> Result<(Record, bool), ArchiveError> {
        actor.require(Permission::Deposit, "déposer des documents")?;
        // The plan stays as it is until the record is journaled under it.
        let plan_slot = self.plan.read().unwrap_or_else(|p| p.into_inner());
        let plan = plan_slot
            .clone()
            .ok_or_else(|| ArchiveError::Internal("no classification plan has been published".into()))?;
        let origin = Origin {
            provenance,
            channel,
            signatures,
        };
        let prepared = self.prepare_deposit(actor, &plan, deposit, upload, origin);
        let deposited = self.store_and_journal(actor, vec![prepared]).pop();
        drop(plan_slot);
        let deposited = deposited.ok_or_else(|| ArchiveError::Internal("a deposit went missing".into()))??;
        Ok((deposited.record, deposited.repaired))
    }

    /// Deposits many files at once, as [`ingest`](Self::ingest) would one
    /// by one (for a capture `channel` when given), in the order given:
    /// their blobs share one group commit and their events one journal
    /// commit and one catalog batch. Each file gets its own outcome; one
    /// refused does not hold back the others.
    pub fn ingest_all(
        &self,
        actor: &Actor,
        items: Vec<(Deposit, Upload)>,
        channel: Option<&str>,
    ) -> Vec<Result<Deposited, ArchiveError>> {
        let deposited = self.ingest_all_unchecked(actor, items, channel);
        for outcome in &deposited {
            if outcome.is_err() {
                self.count_ingest_error();
            }
        }
        deposited
    }

    /// [`ingest_all`](Self::ingest_all) of the items that are ready, each
    /// other keeping its own failure (a file that could not be read or
    /// staged): the outcomes in the order of `items`, the archive's
    /// refusals told as `failure` says.
    pub fn ingest_ready<E>(
        &self,
        actor: &Actor,
        items: Vec<Result<(Deposit, Upload), E>>,
        channel: Option<&str>,
        failure: impl Fn(ArchiveError) -> E,
    ) -> Vec<Result<Deposited, E>> {
        let mut outcomes = Vec::with_capacity(items.len());
        let mut ready = Vec::new();
        for item in items {
            match item {
                Ok(item) => {
                    ready.push(item);
                    outcomes.push(None);
                }
                Err(e) => outcomes.push(Some(Err(e))),
            }
        }
        let mut deposited = self.ingest_all(actor, ready, channel).into_iter();
        outcomes
            .into_iter()
            .map(|outcome| {
                outcome.unwrap_or_else(|| {
                    deposited
                        .next()
                        .unwrap_or_else(|| Err(ArchiveError::Internal("a deposit went missing".into())))
                        .map_err(&failure)
                })
            })
            .collect()
    }

    fn ingest_all_unchecked(
        &self,
        actor: &Actor,
        items: Vec<(Deposit, Upload)>,
        channel: Option<&str>,
    ) -> Vec<Result<Deposited, ArchiveError>> {
        // The plan stays as it is until the records are journaled under it.
        let plan_slot = self.plan.read().unwrap_or_else(|p| p.into_inner());
        let prepared = items
            .into_iter()
            .map(|(deposit, upload)| {
                actor.require(Permission::Deposit, "déposer des documents")?;
                let plan = plan_slot
                    .as_ref()
                    .ok_or_else(|| ArchiveError::Internal("no classification plan has been published".into()))?;
                let origin = Origin {
                    channel: channel.map(str::to_owned),
                    ..Origin::default()
                };
                self.prepare_deposit(actor, plan, deposit, upload, origin)
            })
            .collect();
        let deposited = self.store_and_journal(actor, prepared);
        drop(plan_slot);
        deposited
    }

    /// Everything of a deposit before its blobs are stored: the checks,
    /// the classification and dating it may need, its name, and its
    /// metadata document staged.
    fn prepare_deposit(
        &self,
        actor: &Actor,
        plan: &PublishedPlan,
        deposit: Deposit,
        upload: Upload,
        origin: Origin,
    ) -> Result<PreparedDeposit, ArchiveError> {
        let Origin {
            provenance,
            channel,
            signatures,
        } = origin;
        if provenance.is_none() {
            refuse_report_fields(deposit.fields.keys())?;
        }
        let filename = check_filename(upload.filename)?;
        let media_type = media_type::sniff(upload.staged.blob().head());
        let mut deposit = deposit;
        let date_given = deposit.date.is_some();
        let classified_by = if deposit.node.is_none() {
            Some(self.classify_deposit(
                actor,
                &plan.plan,
                &mut deposit,
                upload.staged.blob(),
                filename.as_deref(),
                &media_type,
            )?)
        } else {
            None
        };
        // A node chosen from the name or the text, not from structured
        // data, waits for a person to confirm it.
        let to_verify = classified_by
            .as_ref()
            .is_some_and(|rule| plan.plan.classify.iter().any(|r| &r.name == rule && !r.invoice));
        let dated = if date_given {
            None
        } else if deposit.date.is_some() {
            Some(Dating::Invoice)
        } else {
            let (date, dating) = self.date_of_content(upload.staged.blob(), &media_type)?;
            deposit.date = Some(date.to_string());
            Some(dating)
        };
        let mut checked = self.check_deposit(actor, &plan.plan, deposit, filename.as_deref())?;
        let signatures = if signatures.is_empty() && media_type == "application/pdf" {
            self.pdf_signatures(upload.staged.blob())?
        } else {
            signatures
        };
        checked.fields.extend(crate::domain::pes::report_fields(&signatures));
        let ext = naming::safe_extension(filename.as_deref(), &media_type);
        let (reference, counter, number) = self.name_record(&plan.plan, &checked, &ext)?;
        let size = upload.staged.size();
        let stores = self.stores_for(&plan.plan, &checked.node);
        let id = RecordId::new_at(self.clock.now());
        // A deposit (not a package's record, archived long ago) enters its
        // node's circuit, from the day it was received.
        let circuit = match provenance {
            None => circuit_entry(
                &plan.plan,
                &checked.node,
                &checked.fields,
                self.clock.now().date_naive(),
            ),
            Some(_) => None,
        };
        let doc = DescriptiveMetadata {
            v: METADATA_FORMAT,
            record: id,
            title: checked.title,
            fields: checked.fields,
            filenames: vec![filename],
        };
        let metadata = self.stage_metadata(&doc)?;
        let aliases: Vec<Reference> = provenance
            .as_ref()
            .map(|(_, aliases)| aliases.iter().filter(|a| **a != reference).cloned().collect())
            .unwrap_or_default();
        let event = EventBody::RecordIngested {
            record: id,
            reference,
            node: checked.node,
            year: checked.date.year(),
            number,
            date: checked.date,
            service: checked.service,
            document_type: checked.document_type,
            metadata: metadata.sha256(),
            version: VersionFacts {
                number: 1,
                sha256: upload.staged.sha256(),
                size,
                media_type,
            },
            counter: Some(counter),
            plan_version: Some(plan.entry.number),
            classified_by,
            dated,
            channel,
            links: checked.links,
            aliases,
            imported_from: provenance.map(|(package, _)| package),
            to_verify,
            circuit,
        };
        Ok(PreparedDeposit {
            id,
            content: upload.staged,
            metadata,
            stores,
            event,
        })
    }

    /// Stores the blobs of prepared deposits (all in one group commit,
    /// but for one that repairs a damaged blob, which goes alone), then
    /// journals their events together; each outcome in the order given.
    /// Nothing is journaled before its blobs are durable.
    fn store_and_journal(
        &self,
        actor: &Actor,
        prepared: Vec<Result<PreparedDeposit, ArchiveError>>,
    ) -> Vec<Result<Deposited, ArchiveError>> {
        // The blobs: queued together, then waited on together.
        let mut seen = std::collections::HashSet::new();
        let queued: Vec<_> = prepared
            .into_iter()
            .map(|prepared| {
                let prepared = prepared?;
                let sha256 = prepared.content.sha256();
                let first_in_batch = seen.insert(sha256);
                let stored = self.queue_or_repair(prepared.content.0, prepared.metadata, actor, prepared.stores)?;
                Ok((prepared.id, prepared.event, stored, first_in_batch))
            })
            .collect();
        let stored: Vec<_> = queued
            .into_iter()
            .map(|queued: Result<_, ArchiveError>| {
                let (id, event, stored, first_in_batch) = queued?;
                let (repaired, held_before) = stored.wait()?;
                Ok::<_, ArchiveError>((id, event, repaired, held_before || !first_in_batch))
            })
            .collect();
        // The events: appended together, so that they share one commit.
        let mut drafts = Vec::new();
        let mut waiting: Vec<Result<(RecordId, bool, bool), ArchiveError>> = Vec::new();
        for outcome in stored {
            match outcome {
                Ok((id, event, repaired, held_before)) => {
                    drafts.push(actor.draft(event));
                    waiting.push(Ok((id, repaired, held_before)));
                }
                Err(e) => waiting.push(Err(e)),
            }
        }
        let mut appended = self.journal.append_all(drafts).into_iter();
        waiting
            .into_iter()
            .map(|outcome| {
                let (id, repaired, held_before) = outcome?;
                appended
                    .next()
                    .ok_or_else(|| ArchiveError::Internal("the journal answered fewer events than asked".into()))??;
                let record = self
                    .catalog
                    .record(&id)?
                    .ok_or_else(|| ArchiveError::Internal(format!("record {id} journaled but not in the catalog")))?;
                Ok(Deposited {
                    record,
                    repaired,
                    held_before,
                })
            })
            .collect()
    }

    /// The reports of a PDF's signatures (none for a PDF without any),
    /// checked by `pdfsig` over a copy of the staged bytes in a temporary
    /// folder of the data directory. A PDF pdfsig cannot read gets one
    /// report saying its signature could not be checked.
    fn pdf_signatures(
        &self,
        staged: &dyn StagedBlob,
    ) -> Result<Vec<crate::domain::pes::SignatureReport>, ArchiveError> {
        if !extract::pdfsig::has_signature(&mut staged.reader()?)? {
            return Ok(Vec::new());
        }
        let folder = self.data_dir().scratch_folder("pdfsig-")?;
        let path = folder.path().join("document.pdf");
        let mut file = std::fs::File::create(&path)?;
        std::io::copy(&mut staged.reader()?, &mut file)?;
        drop(file);
        Ok(extract::pdfsig::verify(&path).unwrap_or_else(|why| {
            vec![crate::domain::pes::SignatureReport::unchecked(format!(
                "pdfsig n'a pas pu lire le PDF : {why}"
            ))]
        }))
    }

    /// The date of a deposit that gives none: the document's own, read
    /// from its text, or else the day of the deposit, said as such. The
    /// text is what the document holds as text: a scan is not read by OCR
    /// here, which would hold the deposit's acknowledgement for seconds
    /// (its date is then the deposit's, to be confirmed).
    fn date_of_content(&self, staged: &dyn StagedBlob, media_type: &str) -> Result<(NaiveDate, Dating), ArchiveError> {
        let today = self.clock.now().date_naive();
        let mut bytes = Vec::new();
        staged.reader()?.take(extract::TEXT_INPUT_MAX).read_to_end(&mut bytes)?;
        let without_ocr = extract::ExtractOptions { ocr: false };
        let extraction = extract::extract(media_type, &mut bytes.as_slice(), without_ocr);
        Ok(match dating::date_in_text(&extraction.text, today) {
            Some(read) => (read.date, Dating::Text { excerpt: read.excerpt }),
            None => (today, Dating::DepositDay),
        })
    }

    /// Chooses the node of a deposit that names none with the plan's
    /// classification rules, and fills the fields and the date they find
    /// (what the depositor gave wins). Reads the staged content only when a
    /// rule needs its text or its invoice. Returns the rule's name.
    fn classify_deposit(
        &self,
        actor: &Actor,
        plan: &Plan,
        deposit: &mut Deposit,
        staged: &dyn StagedBlob,
        filename: Option<&str>,
        media_type: &str,
    ) -> Result<String, ArchiveError> {
        let wants_text = plan.classify.iter().any(|r| r.text.is_some());
        let wants_invoice = plan.classify.iter().any(|r| r.invoice);
        let mut bytes = Vec::new();
        if wants_text || wants_invoice {
            staged.reader()?.take(extract::TEXT_INPUT_MAX).read_to_end(&mut bytes)?;
        }
        let invoice = if wants_invoice {
            extract::invoice::structured_invoice(media_type, &bytes)
        } else {
            None
        };
        let extraction = wants_text.then(|| extract::extract(media_type, &mut bytes.as_slice(), self.options.extract));
        let text = extraction.as_ref().map(|e| e.text.clone());
        let unreadable = extraction.and_then(|e| e.error);
        let evidence = Evidence {
            filename,
            media_type,
            text: text.as_deref(),
            invoice: invoice.as_ref(),
        };
        match classify(&plan.classify, &evidence) {
            Ok(proposal) => {
                let fields = plan.fields_for(&proposal.node);
                for (name, value) in proposal.fields {
                    // A value the field's type refuses is left out, not fatal.
                    let fits = fields
                        .iter()
                        .find(|f| f.name == name)
                        .is_none_or(|f| f.kind.check(&value).is_ok());
                    if fits {
                        deposit.fields.entry(name).or_insert(value);
                    }
                }
                if deposit.date.is_none() {
                    deposit.date = proposal.date.map(|d| d.format("%Y-%m-%d").to_string());
                }
                deposit.node = Some(proposal.node.to_string());
                tracing::info!(rule = %proposal.rule, node = %proposal.node, "deposit classified automatically");
                Ok(proposal.rule)
            }
            Err(partial) => {
                let role = actor.role.as_str();
                let open = |code: &NodeCode| plan.rule_for(code).is_some() && plan.allows(code, role, Access::Deposit);
                let mut codes: Vec<NodeCode> = partial.into_iter().filter(|c| open(c)).collect();
                if codes.is_empty() {
                    codes = plan.nodes.iter().map(|n| n.code.clone()).filter(|c| open(c)).collect();
                }
                Err(ArchiveError::Unclassified {
                    candidates: codes
                        .iter()
                        .filter_map(|c| plan.node(c).map(|n| (c.to_string(), n.title.clone())))
                        .collect(),
                    unreadable,
                })
            }
        }
    }

    /// Changes a record's description or classification, checked against
    /// the plan in force like a deposit, and journaled with the reason and
    /// the previous values. A record moved into a node that renumbers gets
    /// a new reference; the old one stays an alias. Nothing changed: the
    /// record is returned as it is and nothing is journaled.
    #[tracing::instrument(skip_all, fields(actor = %actor.name, record = key))]
    pub fn update(&self, actor: &Actor, key: &str, changes: RecordChanges) -> Result<Record, ArchiveError> {
        actor.require(Permission::ManageRecords, "modifier des documents")?;
        let reason = changes.reason.trim().to_owned();
        let unreadable = |c: char| crate::domain::record::unreadable(c) && c != '\n';
        if reason.is_empty() || reason.chars().count() > REASON_MAX || reason.chars().any(unreadable) {
            return Err(InvalidInput::new(
                "reason",
                format!(
                    "dites pourquoi le document change, en 1 à {REASON_MAX} caractères, sans caractère de contrôle"
                ),
            )
            .into());
        }
        let found = self.record(actor, key)?;
        let _guard = self.lock_record(&found.id);
        let record = self.record(actor, key)?;
        refuse_if_destroyed(&record)?;
        self.refuse_if_held(&record)?;
        let plan_slot = self.plan.read().unwrap_or_else(|p| p.into_inner());
        let plan = plan_slot
            .clone()
            .ok_or_else(|| ArchiveError::Internal("no classification plan has been published".into()))?;
        let Some(change) = self.describe_anew(actor, &plan.plan, &record, changes)? else {
            return Ok(record);
        };
        self.journal.append(actor.draft(EventBody::RecordUpdated {
            record: record.id,
            reason,
            now: change.now,
            before: change.before,
            counter: change.counter,
            number: change.number,
        }))?;
        drop(plan_slot);
        self.catalog
            .record(&record.id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {} vanished from the catalog", record.id)))
    }

    /// A record's new facets and description, checked against `plan` like
    /// a deposit, its new description stored (a new reference when it
    /// moves into a node that renumbers); `None` when nothing changes. The
    /// caller holds the record's lock and the plan, and journals.
    pub(super) fn describe_anew(
        &self,
        actor: &Actor,
        plan: &Plan,
        record: &Record,
        changes: RecordChanges,
    ) -> Result<Option<DescriptionChange>, ArchiveError> {
        refuse_report_fields(changes.fields.keys())?;
        let mut fields = record.fields.clone();
        for (name, value) in changes.fields {
            match value {
                Some(v) => fields.insert(name, v),
                None => fields.remove(&name),
            };
        }
        let moving = changes
            .node
            .as_deref()
            .is_some_and(|n| n.trim() != record.node.as_str());
        // A type the old node defaulted may not fit the new one.
        let document_type = match changes.document_type {
            Some(t) => Some(t),
            None if moving => None,
            None => record.document_type.clone(),
        };
        let deposit = Deposit {
            node: Some(changes.node.unwrap_or_else(|| record.node.to_string())),
            title: Some(changes.title.unwrap_or_else(|| record.title.clone())),
            date: Some(changes.date.unwrap_or_else(|| record.date.to_string())),
            service: changes.service.or_else(|| record.service.clone()),
            document_type,
            fields,
            links: Vec::new(),
        };
        let checked = self.check_deposit(actor, plan, deposit, None)?;
        let renumber =
            checked.node != record.node && plan.node(&checked.node).is_some_and(|n| n.renumber_on_reclassify);
        let (reference, counter, number) = if renumber {
            let ext = record
                .versions
                .last()
                .map(|v| naming::safe_extension(v.filename.as_deref(), &v.media_type))
                .unwrap_or_default();
            let (reference, scope, number) = self.name_record(plan, &checked, &ext)?;
            (reference, Some(scope), Some(number))
        } else {
            (record.reference.clone(), None, None)
        };
        let doc = DescriptiveMetadata {
            v: METADATA_FORMAT,
            record: record.id,
            title: checked.title,
            fields: checked.fields,
            filenames: record.versions.iter().map(|v| v.filename.clone()).collect(),
        };
        let metadata = self.store_metadata(&doc, self.stores_for(plan, &checked.node))?;
        let fields = doc.fields;
        let before = RecordFacetsChange::of(record);
        let now = RecordFacetsChange {
            reference,
            node: checked.node,
            date: checked.date,
            service: checked.service,
            document_type: checked.document_type,
            metadata,
        };
        if now == before {
            return Ok(None);
        }
        Ok(Some(DescriptionChange {
            now,
            before,
            counter,
            number,
            fields,
        }))
    }

    /// Holds a record's lock as a change to it would, for the tests of
    /// what waits on it.
    #[cfg(test)]
    pub(crate) fn hold_record(&self, id: &RecordId) -> std::sync::MutexGuard<'_, ()> {
        self.lock_record(id)
    }

    /// Serialises changes to one record.
    pub(super) fn lock_record(&self, id: &RecordId) -> std::sync::MutexGuard<'_, ()> {
        let stripe = id
            .to_string()
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
        self.record_locks[stripe % self.record_locks.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Adds a version to a record.
    #[tracing::instrument(skip_all, fields(actor = %actor.name, record = key))]
    pub fn add_version(&self, actor: &Actor, key: &str, upload: Upload) -> Result<Record, ArchiveError> {
        self.add_version_reporting(actor, key, upload).map(|(record, _)| record)
    }

    /// Adds a version as [`add_version`](Self::add_version) does, and says
    /// whether the bytes repaired a damaged copy of the same content.
    pub fn add_version_reporting(
        &self,
        actor: &Actor,
        key: &str,
        upload: Upload,
    ) -> Result<(Record, bool), ArchiveError> {
        actor.require(Permission::Deposit, "ajouter des versions")?;
        let filename = check_filename(upload.filename)?;
        let found = self.record(actor, key)?;
        let _guard = self.lock_record(&found.id);
        // Re-read under the lock: another version may have just landed.
        let record = self.record(actor, key)?;
        refuse_if_destroyed(&record)?;
        // A version is a deposit: the plan's depositors only.
        if !self
            .plan_in_force()?
            .plan
            .allows(&record.node, actor.role.as_str(), Access::Deposit)
        {
            return Err(ArchiveError::NodeForbidden {
                role: actor.role,
                node: record.node.to_string(),
                action: "déposer dans",
            });
        }
        let media_type = media_type::sniff(upload.staged.blob().head());
        let size = upload.staged.size();
        let stores = self.stores_for(&self.plan_in_force()?.plan, &record.node);
        let number = record.versions.len() as u32 + 1;
        let mut filenames: Vec<Option<String>> = record.versions.iter().map(|v| v.filename.clone()).collect();
        filenames.push(filename);
        let doc = DescriptiveMetadata {
            v: METADATA_FORMAT,
            record: record.id,
            title: record.title.clone(),
            fields: record.fields.clone(),
            filenames,
        };
        let staged_metadata = self.stage_metadata(&doc)?;
        let metadata = staged_metadata.sha256();
        let (sha256, repaired) = upload.staged.commit_or_repair(staged_metadata, self, actor, stores)?;
        self.journal.append(actor.draft(EventBody::VersionAdded {
            record: record.id,
            version: VersionFacts {
                number,
                sha256,
                size,
                media_type,
            },
            metadata,
        }))?;
        let record = self
            .catalog
            .record(&record.id)?
            .ok_or_else(|| ArchiveError::Internal(format!("record {} vanished from the catalog", record.id)))?;
        Ok((record, repaired))
    }

    /// A record by reference, alias or id. A record the plan does not let
    /// the caller read is answered as not found, so that its reference
    /// discloses nothing either.
    pub fn record(&self, actor: &Actor, key: &str) -> Result<Record, ArchiveError> {
        actor.require(Permission::ReadRecords, "consulter des documents")?;
        let key = key.trim();
        let by_id = match RecordId::parse(key) {
            Some(id) => self.catalog.record(&id)?,
            None => None,
        };
        // An id from elsewhere (an imported record's alias) is found by
        // the references index.
        let found = match by_id {
            Some(record) => Some(record),
            None => match self.catalog.record_id(&Reference::from_naming(key.to_owned()))? {
                Some(id) => self.catalog.record(&id)?,
                None => None,
            },
        };
        match found {
            Some(record) if self.may_read(actor, &record)? => Ok(record),
            _ => Err(ArchiveError::RecordNotFound(key.to_owned())),
        }
    }

    /// Whether the plan in force lets the actor read the record's node.
    pub(super) fn may_read(&self, actor: &Actor, record: &Record) -> Result<bool, ArchiveError> {
        let plan = self.plan_in_force()?;
        Ok(plan.plan.allows(&record.node, actor.role.as_str(), Access::Read))
    }

    /// What the plan in force says of a record (its retention, the path of
    /// its node, and the name each version is served under), and the
    /// records linked to it that the actor may read.
    pub fn details(&self, actor: &Actor, record: &Record) -> Result<RecordDetails, ArchiveError> {
        let mut details = self.describe(record)?;
        details.links = self.links_of(actor, record)?;
        details.circuit = self.circuit_view(actor, record)?;
        Ok(details)
    }

    /// The records a record is linked to and those linked to it, that the
    /// actor may read: the first [`LINKED_SHOWN`] of those linked to it.
    fn links_of(&self, actor: &Actor, record: &Record) -> Result<Links, ArchiveError> {
        let mut links = Links::default();
        for link in &record.links {
            if let Some(other) = self.catalog.record(&link.record)?
                && self.may_read(actor, &other)?
            {
                links.shown.push(LinkedRecord::of(link.kind, false, &other));
            }
        }
        for (id, kind) in self.catalog.linked_to(&record.id)? {
            if let Some(other) = self.catalog.record(&id)?
                && self.may_read(actor, &other)?
            {
                links.linked_here += 1;
                if links.linked_here <= LINKED_SHOWN {
                    links.shown.push(LinkedRecord::of(kind, true, &other));
                }
            }
        }
        Ok(links)
    }

    /// What the plan in force says of a record: its retention, the path of
    /// its node, and the name each version is served under.
    pub(super) fn describe(&self, record: &Record) -> Result<RecordDetails, ArchiveError> {
        let plan = self.plan_in_force()?;
        let retention = retention::compute(&plan.plan, RecordFacts::of(record));
        let today = self.clock.now().date_naive();
        let holds = self
            .holds_on(&[(record.id, record.node.clone())], IndexFreshness::AsIndexed)?
            .remove(&record.id)
            .unwrap_or_default();
        Ok(RecordDetails {
            links: Links::default(),
            circuit: None,
            probable_duplicates: self.probable_duplicates(&plan.plan, record)?,
            damaged: self.damaged_versions(record),
            holds,
            status: retention.as_ref().map(|r| r.status(today)),
            retention,
            node_path: plan.plan.path(&record.node),
            canonical_paths: record
                .versions
                .iter()
                .map(|v| canonical_path(&plan.plan, record, v))
                .collect(),
        })
    }

    /// The live records of the same node that have the same values as
    /// `record` in every one of the node's duplicate fields (the same
    /// supplier and invoice number): (reference, title), oldest first. Of
    /// the same node, so whoever reads the one may read the others.
    fn probable_duplicates(&self, plan: &Plan, record: &Record) -> Result<Vec<(Reference, String)>, ArchiveError> {
        self.records_like(plan, &record.node, &record.fields, Some(record.id))
    }

    /// The live records of `node` (but `except`) whose values in the
    /// node's duplicate fields are those of `fields`: (reference, title).
    fn records_like(
        &self,
        plan: &Plan,
        node: &NodeCode,
        fields: &BTreeMap<String, String>,
        except: Option<RecordId>,
    ) -> Result<Vec<(Reference, String)>, ArchiveError> {
        let names = plan.duplicate_fields_for(node);
        let mut values = Vec::with_capacity(names.len());
        for name in names {
            match fields.get(name).map(|v| comparable(v)) {
                Some(value) if !value.is_empty() => values.push((name, value)),
                // A value missing: nothing to compare.
                _ => return Ok(Vec::new()),
            }
        }
        let Some((first, value)) = values.first() else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for id in self.catalog.records_with_field(first, value)? {
            if Some(id) == except {
                continue;
            }
            let Some(other) = self.catalog.record(&id)? else {
                continue;
            };
            let same = &other.node == node
                && other.tombstone.is_none()
                && values
                    .iter()
                    .all(|(name, value)| other.fields.get(*name).is_some_and(|v| comparable(v) == *value));
            if same {
                found.push((other.reference, other.title));
            }
        }
        Ok(found)
    }

    /// How many records the catalog holds, tombstones included: the sum of
    /// its counts by node, read without reading a record.
    pub fn record_count(&self) -> Result<u64, ArchiveError> {
        Ok(self.catalog.records_by_node()?.values().sum())
    }

    /// Opens a version's content (the latest when `version` is `None`).
    pub fn content(
        &self,
        actor: &Actor,
        key: &str,
        version: Option<u32>,
    ) -> Result<(Record, Version, Box<dyn BlobRead>, u64), ArchiveError> {
        let record = self.record(actor, key)?;
        refuse_if_destroyed(&record)?;
        let found = record
            .version(version)
            .cloned()
            .ok_or_else(|| ArchiveError::VersionNotFound {
                reference: record.reference.to_string(),
                version: version.unwrap_or(0),
            })?;
        // Known damaged: served again only once a copy has put it back.
        if let Some(problem) = self.damage_of(&found.sha256)
            && !self.repair_from_copy(&found.sha256)
        {
            return Err(ArchiveError::ContentDamaged {
                reference: record.reference.to_string(),
                version: found.number,
                problem,
            });
        }
        let opened = match self.blobs.open(&found.sha256) {
            Err(crate::store::BlobError::NotFound(_)) => {
                self.note_damage(
                    &found.sha256,
                    crate::domain::integrity::DamageKind::Missing,
                    crate::domain::integrity::DamageFinder::Read,
                );
                // A copy may have put it back.
                self.blobs.open(&found.sha256)
            }
            other => other,
        };
        let (reader, size) = match opened {
            Ok(opened) => opened,
            Err(crate::store::BlobError::NotFound(_)) => {
                return Err(ArchiveError::ContentDamaged {
                    reference: record.reference.to_string(),
                    version: found.number,
                    problem: "il est introuvable dans le stockage".into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        Ok((record, found, reader, size))
    }

    /// Opens a version's content as [`content`](Self::content) does, to be
    /// served: checked against its digest as it is read (a mismatch cuts
    /// the reading short and marks the content damaged). For a range
    /// (`partial`), which reads only part of it, the whole is checked
    /// first (unless a reading did lately): a damaged content then
    /// answers `content_damaged`. The size is the recorded one.
    pub fn content_to_serve(
        self: &std::sync::Arc<Self>,
        actor: &Actor,
        key: &str,
        version: Option<u32>,
        partial: bool,
    ) -> Result<(Record, Version, Box<dyn BlobRead>, u64), ArchiveError> {
        let (record, found, reader, _) = self.content(actor, key, version)?;
        let mut checked = self.checked_content(found.sha256, found.size, reader);
        if partial && checked.check_whole().is_err() {
            return Err(ArchiveError::ContentDamaged {
                reference: record.reference.to_string(),
                version: found.number,
                problem: self
                    .damage_of(&found.sha256)
                    .unwrap_or_else(|| "sa lecture a échoué".into()),
            });
        }
        let size = found.size;
        Ok((record, found, Box::new(checked), size))
    }

    /// The versions of a record whose content the fixity job found damaged
    /// or missing, with what it found: (version, problem).
    pub fn damaged_versions(&self, record: &Record) -> Vec<(u32, String)> {
        record
            .versions
            .iter()
            .filter_map(|v| self.damage_of(&v.sha256).map(|p| (v.number, p)))
            .collect()
    }

    /// Refuses: records leave only through a disposal.
    pub fn delete(&self, actor: &Actor, key: &str) -> Result<(), ArchiveError> {
        self.record(actor, key)?;
        Err(ArchiveError::DeleteForbidden)
    }
}

/// Refuses to touch what only a tombstone remains of.
pub(super) fn refuse_if_destroyed(record: &Record) -> Result<(), ArchiveError> {
    match &record.tombstone {
        Some(t) => Err(ArchiveError::RecordDestroyed {
            reference: record.reference.to_string(),
            disposal: t.disposal,
        }),
        None => Ok(()),
    }
}

/// What the plan in force says of a record.
#[derive(Debug, Clone)]
pub struct RecordDetails {
    /// Its retention (none if no rule applies).
    pub retention: Option<Retention>,
    /// Where it stands today.
    pub status: Option<RetentionStatus>,
    /// The active legal holds that freeze it.
    pub holds: Vec<u64>,
    /// Its node's path in the plan, root first.
    pub node_path: Vec<NodeCode>,
    /// Each version's canonical path (from the node's file name template),
    /// oldest first; its last segment is the name the content is served
    /// under.
    pub canonical_paths: Vec<String>,
    /// The versions whose content is known damaged, with what was found.
    pub damaged: Vec<(u32, String)>,
    /// The live records of its node with its values in the node's
    /// duplicate fields (reference, title), oldest first.
    pub probable_duplicates: Vec<(Reference, String)>,
    /// The records it is linked to, and those linked to it, that the
    /// reader may read.
    pub links: Links,
    /// Where it stands in its processing circuit, and the moves the reader
    /// may make there.
    pub circuit: Option<super::circuits::CircuitView>,
}

/// How many of the records linked to one are shown with it (a PES flow
/// may have thousands of pièces; a search by link finds them all).
pub const LINKED_SHOWN: usize = 500;

/// The records linked to and from a record, as its reader may see them.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Those it is linked to, then the first [`LINKED_SHOWN`] linked to it.
    pub shown: Vec<LinkedRecord>,
    /// How many linked to it the reader may read, shown or not.
    pub linked_here: usize,
}

/// A record linked to another, as the other's reader is told it.
#[derive(Debug, Clone)]
pub struct LinkedRecord {
    /// How they stand.
    pub kind: LinkKind,
    /// The link was made by this record (else by the one read).
    pub from_the_other: bool,
    /// Its reference.
    pub reference: Reference,
    /// Its title.
    pub title: String,
}

impl LinkedRecord {
    fn of(kind: LinkKind, from_the_other: bool, other: &Record) -> Self {
        LinkedRecord {
            kind,
            from_the_other,
            reference: other.reference.clone(),
            title: other.title.clone(),
        }
    }
}

/// The canonical path of a record version: the node's file name template
/// filled in, or `<reference>.<ext>` without one (or if it cannot be
/// filled, such as a date field left empty).
pub fn canonical_path(plan: &Plan, record: &Record, version: &Version) -> String {
    let ext = naming::safe_extension(version.filename.as_deref(), &version.media_type);
    let plain = || format!("{}.{ext}", naming::safe_segment(record.reference.as_str(), 200));
    let Some(template) = plan.filename_template(&record.node) else {
        return plain();
    };
    let ctx = NamingContext {
        node: record.node.as_str(),
        seq: record.number,
        date: record.date,
        reference: Some(record.reference.as_str()),
        title: &record.title,
        ext: &ext,
        service: record.service.as_deref(),
        document_type: record.document_type.as_deref(),
        fields: &record.fields,
    };
    template
        .render_path(&ctx, NameBudget::default())
        .unwrap_or_else(|_| plain())
}

/// The last segment of a canonical path: the file name.
pub fn file_name_of(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Where a record deposited in `node` enters the plan's circuit for it, if
/// any: its first step, from the day its `received` field gives (never
/// after `today`), else from `today`.
fn circuit_entry(
    plan: &crate::domain::plan::Plan,
    node: &NodeCode,
    fields: &BTreeMap<String, String>,
    today: chrono::NaiveDate,
) -> Option<crate::domain::event::CircuitEntry> {
    let circuit = plan.circuit_for(node)?;
    let start = circuit.start()?;
    let received = circuit
        .received
        .as_ref()
        .and_then(|name| fields.get(name))
        .and_then(|value| chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .map_or(today, |day| day.min(today));
    Some(crate::domain::event::CircuitEntry {
        circuit: circuit.code.clone(),
        step: start.code.clone(),
        date: received,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::DataDir;
    use crate::domain::clock::SystemClock;
    use proptest::prelude::*;
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use crate::archive::tests_support::options;

    fn open(path: &std::path::Path) -> Archive {
        // The catalog waits for fjall's lock of the archive just closed
        // (see `catalog_fjall::open_when_released`); say why if it fails.
        Archive::open(&DataDir::new(path), options(), Arc::new(SystemClock))
            .unwrap_or_else(|e| panic!("reopening {}: {e:?}", path.display()))
    }

    /// Deposits `n` records from each of `threads` threads, on nodes and
    /// years picked by `picks`; returns their references.
    fn deposit_concurrently(archive: &Archive, threads: usize, picks: &[(usize, i32)]) -> Vec<String> {
        const NODES: [&str; 3] = ["FIN-FAC", "FIN-MAN", "ADM-DEL"];
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        picks
                            .iter()
                            .enumerate()
                            .map(|(i, (node, year))| {
                                let deposit = Deposit {
                                    node: Some(NODES[*node].into()),
                                    date: Some(format!("{}-06-01", 2024 + year)),
                                    title: Some(format!("t{t}-{i}")),
                                    ..Deposit::default()
                                };
                                let bytes = format!("{t} {i}");
                                let upload = Upload {
                                    staged: archive.stage(&mut bytes.as_bytes()).unwrap(),
                                    filename: None,
                                };
                                archive
                                    .ingest(&Actor::system(), deposit, upload)
                                    .unwrap()
                                    .reference
                                    .to_string()
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn files_deposited_together_share_one_group_commit_and_one_journal_commit() {
        let (_tmp, _dir, archive) = crate::archive::tests_support::on_disk(options());
        let actor = Actor::system();
        let upload = |text: &str| Upload {
            staged: archive.stage(&mut text.as_bytes()).unwrap(),
            filename: Some(format!("{text}.txt")),
        };
        let to = |node: &str| Deposit {
            node: Some(node.into()),
            date: Some("2024-03-15".into()),
            ..Deposit::default()
        };
        let first = archive.ingest(&actor, to("FIN-MAN"), upload("déjà là")).unwrap();
        let (blobs, journal) = archive.flush_counters();
        let mut items = vec![
            (to("FIN-MAN"), upload("déjà là")),
            (to("FIN-MAN"), upload("nouveau")),
            (to("FIN-MAN"), upload("nouveau")),
            (to("NULLE-PART"), upload("refusé")),
        ];
        items.extend((0..20).map(|i| (to("FIN-MAN"), upload(&format!("La règle n° {i}")))));
        let deposited = archive.ingest_all(&actor, items, None);
        let (blobs_after, journal_after) = archive.flush_counters();
        assert_eq!(journal_after - journal, 1, "one journal commit for the batch");
        assert_eq!(
            blobs_after - blobs,
            2,
            "one group commit: two flushes for every blob of the batch"
        );

        assert_eq!(deposited.len(), 24);
        assert!(
            matches!(&deposited[3], Err(ArchiveError::Invalid(e)) if e.to_string().contains("NULLE-PART")),
            "{:?}",
            deposited[3]
        );
        let made: Vec<&Deposited> = deposited.iter().filter_map(|d| d.as_ref().ok()).collect();
        assert_eq!(made.len(), 23);
        // Held before: the content of a record deposited earlier, and the
        // second of two files alike in the batch; not the new ones.
        let held: Vec<bool> = made.iter().map(|d| d.held_before).collect();
        assert_eq!(&held[..3], &[true, false, true]);
        assert!(held[3..].iter().all(|h| !h));
        // Named in the order given, after the record before; each in the
        // catalog, its content readable.
        let numbers: Vec<String> = made.iter().map(|d| d.record.reference.to_string()).collect();
        assert_eq!(
            numbers[0], "FIN-MAN-2024-000002",
            "{numbers:?} after {}",
            first.reference
        );
        assert_eq!(numbers[22], "FIN-MAN-2024-000024", "{numbers:?}");
        for d in &made {
            let shown = archive.record(&actor, &d.record.reference.to_string()).unwrap();
            assert_eq!(shown.id, d.record.id);
            assert!(!d.repaired);
        }
        let holders = archive.holders(&actor, &made[1].record.versions[0].sha256).unwrap();
        assert_eq!(holders.len(), 2, "{holders:?}");
        // Events one by one after a restart would make the same catalog.
        let head = archive.journal.head().0;
        assert_eq!(head, archive.catalog.last_applied().unwrap());
    }

    #[test]
    fn a_content_held_many_times_is_named_by_its_oldest_records_only() {
        let (_tmp, _dir, archive) = crate::archive::tests_support::on_disk(options());
        let actor = Actor::system();
        let items = (0..HOLDERS_SHOWN + 5)
            .map(|i| {
                let deposit = Deposit {
                    node: Some("FIN-MAN".into()),
                    date: Some("2024-03-15".into()),
                    title: Some(format!("Conditions générales n° {i}")),
                    ..Deposit::default()
                };
                let upload = Upload {
                    staged: archive.stage(&mut &b"Conditions generales de vente"[..]).unwrap(),
                    filename: None,
                };
                (deposit, upload)
            })
            .collect();
        let made: Vec<Deposited> = archive
            .ingest_all(&actor, items, None)
            .into_iter()
            .map(Result::unwrap)
            .collect();
        let sha256 = made[0].record.versions[0].sha256;
        let named = archive.holders(&actor, &sha256).unwrap();
        // In the order of their ids: of their deposit, to the millisecond.
        let mut by_id: Vec<&Record> = made.iter().map(|d| &d.record).collect();
        by_id.sort_by_key(|r| r.id);
        let oldest: Vec<(Reference, String)> = by_id[..HOLDERS_SHOWN]
            .iter()
            .map(|r| (r.reference.clone(), r.title.clone()))
            .collect();
        assert_eq!(named, oldest);
        // Whoever may read it: the first one, for the capture channels.
        assert_eq!(
            archive.live_record_holding(&sha256).unwrap(),
            Some(by_id[0].reference.clone())
        );
        assert_eq!(archive.live_holders(&sha256).unwrap().len(), HOLDERS_SHOWN + 5);
    }

    /// One archive on in-memory stores, shared by the cases of a property
    /// test (opening one per case would cost more than the cases).
    fn archive_in_memory() -> &'static Archive {
        static ARCHIVE: std::sync::OnceLock<(tempfile::TempDir, Archive)> = std::sync::OnceLock::new();
        let (_, archive) = ARCHIVE.get_or_init(|| {
            let tmp = tempfile::tempdir().expect("a temporary folder");
            let data_dir = DataDir::new(tmp.path().join("data"));
            data_dir.create().expect("create");
            let stores = crate::archive::Stores::in_memory(&options()).expect("stores");
            let archive = Archive::open_on(&data_dir, stores, options(), Arc::new(SystemClock)).expect("open");
            archive
                .publish_plan(
                    &Actor::system(),
                    crate::policies::DEFAULT_PLAN,
                    &crate::archive::Publish::default(),
                )
                .expect("publish");
            (tmp, archive)
        });
        archive
    }

    /// Bytes as a depositor may send them: anything, and French text whose
    /// accents fall anywhere (a text starting `La règle` once panicked).
    fn deposited_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            "(La|Le|Un|Une|L'|Délibération|<html|%PDF-|From: |<\\?xml) ?[a-zàâçéèêëîïôûùüÿœA-Z0-9 .,;:'’«»\n-]{0,200}"
                .prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever bytes a depositor sends, under whatever file name, with
        /// a node or for automatic classification: the deposit is archived
        /// or refused for a reason the caller can mend (4xx), never a 5xx
        /// or a panic.
        #[test]
        fn any_bytes_deposited_are_archived_or_refused_as_the_callers_fault(
            bytes in deposited_bytes(),
            filename in proptest::option::of("\\PC{0,40}"),
            classify in any::<bool>(),
        ) {
            let archive = archive_in_memory();
            let deposit = Deposit {
                node: (!classify).then(|| "FIN-FAC".to_owned()),
                date: Some("2024-03-15".into()),
                ..Deposit::default()
            };
            let upload = Upload {
                staged: archive.stage(&mut bytes.as_slice()).expect("stage"),
                filename,
            };
            if let Err(e) = archive.ingest(&Actor::system(), deposit, upload) {
                let status = e.code().http_status();
                prop_assert!((400..500).contains(&status), "{status}: {e}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(8))]

        /// Per-node and per-year counters never give a number twice: across
        /// threads depositing at once, and across a reopening that lost the
        /// in-process counters (and, sometimes, the whole catalog): the
        /// journal decides.
        #[test]
        fn counters_never_repeat(
            picks in proptest::collection::vec((0usize..3, 0i32..2), 1..8),
            threads in 1usize..4,
            lose_catalog in any::<bool>(),
        ) {
            let tmp = tempfile::tempdir().unwrap();
            let path = tmp.path().join("data");
            Archive::init(&DataDir::new(&path), options(), Arc::new(SystemClock), crate::policies::DEFAULT_PLAN)
                .unwrap();
            let mut all = {
                let archive = open(&path);
                deposit_concurrently(&archive, threads, &picks)
            };
            let archive = if lose_catalog {
                Archive::rebuild(&DataDir::new(&path), options(), Arc::new(SystemClock)).unwrap()
            } else {
                open(&path)
            };
            all.extend(deposit_concurrently(&archive, threads, &picks));
            let unique: BTreeSet<&String> = all.iter().collect();
            prop_assert_eq!(unique.len(), all.len(), "a reference was given twice: {:?}", all);
            prop_assert_eq!(all.len(), 2 * threads * picks.len());
        }
    }
}
