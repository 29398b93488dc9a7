//! The SEDA 2.3 `ArchiveTransfer` manifest: written from the records of a
//! package, and read back (from coffre or any SEDA 2.x producer) for
//! import. Written from the standard's schemas (seda-2.3-main.xsd and the
//! ontology and management parts): element names and their order are the
//! schemas'; the tests validate the output against them with `xmllint`.
//!
//! Layout: one `ArchiveUnit` per plan node on the way to the records (level
//! `RecordGrp`, `FilePlanPosition` = the node's code), each record an
//! `ArchiveUnit` of level `Item` with its title, reference, id, type, dates
//! and `AppraisalRule`, pointing at a `DataObjectGroup` holding one
//! `BinaryDataObject` per version (SHA-512 `MessageDigest`, size, format,
//! file name).

use super::{PackageAppraisal, PackageObject, PackageRecord, TransferParties};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use quick_xml::escape::escape;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// The SEDA 2.3 namespace.
pub const SEDA_NS: &str = "fr:gouv:culture:archivesdefrance:seda:v2.3";

/// The plan tree the records sit in, built from their node paths.
#[derive(Default)]
struct Unit<'a> {
    title: &'a str,
    children: BTreeMap<&'a str, Unit<'a>>,
    records: Vec<&'a PackageRecord>,
}

fn text(s: &str) -> String {
    // XML 1.0 forbids most control characters even escaped.
    let clean: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    escape(clean.as_str()).into_owned()
}

/// Writes the manifest.
pub fn write_manifest(
    out: &mut dyn Write,
    parties: &TransferParties,
    records: &[PackageRecord],
    now: DateTime<Utc>,
) -> io::Result<()> {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(out, r#"<ArchiveTransfer xmlns="{SEDA_NS}">"#)?;
    if let Some(comment) = &parties.comment {
        writeln!(out, "  <Comment>{}</Comment>", text(comment))?;
    }
    writeln!(out, "  <Date>{}</Date>", now.to_rfc3339_opts(SecondsFormat::Secs, true))?;
    writeln!(
        out,
        "  <MessageIdentifier>{}</MessageIdentifier>",
        text(&parties.message_id)
    )?;
    if let Some(agreement) = &parties.archival_agreement {
        writeln!(out, "  <ArchivalAgreement>{}</ArchivalAgreement>", text(agreement))?;
    }
    out.write_all(
        b"  <CodeListVersions>\n\
          \x20   <ReplyCodeListVersion>ReplyCodeListVersion0</ReplyCodeListVersion>\n\
          \x20   <MessageDigestAlgorithmCodeListVersion>MessageDigestAlgorithmCodeListVersion0</MessageDigestAlgorithmCodeListVersion>\n\
          \x20   <MimeTypeCodeListVersion>MimeTypeCodeListVersion0</MimeTypeCodeListVersion>\n\
          \x20   <EncodingCodeListVersion>EncodingCodeListVersion0</EncodingCodeListVersion>\n\
          \x20   <FileFormatCodeListVersion>FileFormatCodeListVersion0</FileFormatCodeListVersion>\n\
          \x20   <CompressionAlgorithmCodeListVersion>CompressionAlgorithmCodeListVersion0</CompressionAlgorithmCodeListVersion>\n\
          \x20   <DataObjectVersionCodeListVersion>DataObjectVersionCodeListVersion0</DataObjectVersionCodeListVersion>\n\
          \x20   <StorageRuleCodeListVersion>StorageRuleCodeListVersion0</StorageRuleCodeListVersion>\n\
          \x20   <AppraisalRuleCodeListVersion>AppraisalRuleCodeListVersion0</AppraisalRuleCodeListVersion>\n\
          \x20   <AccessRuleCodeListVersion>AccessRuleCodeListVersion0</AccessRuleCodeListVersion>\n\
          \x20   <DisseminationRuleCodeListVersion>DisseminationRuleCodeListVersion0</DisseminationRuleCodeListVersion>\n\
          \x20   <ReuseRuleCodeListVersion>ReuseRuleCodeListVersion0</ReuseRuleCodeListVersion>\n\
          \x20   <ClassificationRuleCodeListVersion>ClassificationRuleCodeListVersion0</ClassificationRuleCodeListVersion>\n\
          \x20   <AuthorizationReasonCodeListVersion>AuthorizationReasonCodeListVersion0</AuthorizationReasonCodeListVersion>\n\
          \x20   <RelationshipCodeListVersion>RelationshipCodeListVersion0</RelationshipCodeListVersion>\n\
          \x20 </CodeListVersions>\n",
    )?;
    writeln!(out, "  <DataObjectPackage>")?;
    for (i, record) in records.iter().enumerate() {
        writeln!(out, r#"    <DataObjectGroup id="{}">"#, group_id(i))?;
        for object in &record.objects {
            write_object(out, object)?;
        }
        writeln!(out, "    </DataObjectGroup>")?;
    }
    writeln!(out, "    <DescriptiveMetadata>")?;
    let mut root = Unit::default();
    let index: BTreeMap<*const PackageRecord, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r as *const PackageRecord, i))
        .collect();
    for record in records {
        let mut unit = &mut root;
        for (code, title) in &record.node_path {
            unit = unit.children.entry(code.as_str()).or_default();
            unit.title = title;
        }
        unit.records.push(record);
    }
    let mut next_unit = 0usize;
    for (code, unit) in &root.children {
        write_unit(out, code, unit, 3, &mut next_unit, &index)?;
    }
    writeln!(out, "    </DescriptiveMetadata>")?;
    writeln!(out, "    <ManagementMetadata>")?;
    writeln!(
        out,
        "      <OriginatingAgencyIdentifier>{}</OriginatingAgencyIdentifier>",
        text(&parties.originating_agency)
    )?;
    writeln!(
        out,
        "      <SubmissionAgencyIdentifier>{}</SubmissionAgencyIdentifier>",
        text(&parties.transferring_agency)
    )?;
    writeln!(out, "    </ManagementMetadata>")?;
    writeln!(out, "  </DataObjectPackage>")?;
    writeln!(
        out,
        "  <ArchivalAgency>\n    <Identifier>{}</Identifier>\n  </ArchivalAgency>",
        text(&parties.archival_agency)
    )?;
    writeln!(
        out,
        "  <TransferringAgency>\n    <Identifier>{}</Identifier>\n  </TransferringAgency>",
        text(&parties.transferring_agency)
    )?;
    writeln!(out, "</ArchiveTransfer>")?;
    Ok(())
}

fn group_id(i: usize) -> String {
    format!("GRP-{:06}", i + 1)
}

fn write_object(out: &mut dyn Write, o: &PackageObject) -> io::Result<()> {
    writeln!(out, r#"      <BinaryDataObject id="{}">"#, text(&o.id))?;
    writeln!(
        out,
        "        <DataObjectVersion>BinaryMaster_{}</DataObjectVersion>",
        o.version
    )?;
    writeln!(
        out,
        "        <Uri>{}</Uri>",
        text(o.path.strip_prefix("data/").unwrap_or(&o.path))
    )?;
    writeln!(
        out,
        r#"        <MessageDigest algorithm="SHA-512">{}</MessageDigest>"#,
        o.sha512
    )?;
    writeln!(out, "        <Size>{}</Size>", o.size)?;
    let mime = o
        .media_type
        .split(';')
        .next()
        .unwrap_or("application/octet-stream")
        .trim();
    writeln!(
        out,
        "        <FormatIdentification>\n          <MimeType>{}</MimeType>\n        </FormatIdentification>",
        text(mime)
    )?;
    if let Some(name) = &o.filename {
        writeln!(
            out,
            "        <FileInfo>\n          <Filename>{}</Filename>\n        </FileInfo>",
            text(name)
        )?;
    }
    writeln!(out, "      </BinaryDataObject>")
}

fn write_unit(
    out: &mut dyn Write,
    code: &str,
    unit: &Unit<'_>,
    depth: usize,
    next: &mut usize,
    index: &BTreeMap<*const PackageRecord, usize>,
) -> io::Result<()> {
    let pad = "  ".repeat(depth);
    *next += 1;
    writeln!(out, r#"{pad}<ArchiveUnit id="AU-{:06}">"#, *next)?;
    writeln!(out, "{pad}  <Content>")?;
    writeln!(out, "{pad}    <DescriptionLevel>RecordGrp</DescriptionLevel>")?;
    writeln!(
        out,
        "{pad}    <Title>{}</Title>",
        text(if unit.title.is_empty() { code } else { unit.title })
    )?;
    writeln!(out, "{pad}    <FilePlanPosition>{}</FilePlanPosition>", text(code))?;
    writeln!(out, "{pad}  </Content>")?;
    for (child_code, child) in &unit.children {
        write_unit(out, child_code, child, depth + 1, next, index)?;
    }
    for record in &unit.records {
        let group = index.get(&(*record as *const PackageRecord)).copied().unwrap_or(0);
        write_record(out, record, depth + 1, next, &group_id(group))?;
    }
    writeln!(out, "{pad}</ArchiveUnit>")
}

fn write_record(out: &mut dyn Write, r: &PackageRecord, depth: usize, next: &mut usize, group: &str) -> io::Result<()> {
    let pad = "  ".repeat(depth);
    *next += 1;
    writeln!(out, r#"{pad}<ArchiveUnit id="AU-{:06}">"#, *next)?;
    if let Some(PackageAppraisal {
        rule,
        start_date,
        final_action,
    }) = &r.appraisal
    {
        writeln!(out, "{pad}  <Management>\n{pad}    <AppraisalRule>")?;
        writeln!(out, "{pad}      <Rule>{}</Rule>", text(rule))?;
        if let Some(start) = start_date {
            writeln!(out, "{pad}      <StartDate>{start}</StartDate>")?;
        }
        writeln!(out, "{pad}      <FinalAction>{}</FinalAction>", text(final_action))?;
        writeln!(out, "{pad}    </AppraisalRule>\n{pad}  </Management>")?;
    }
    writeln!(out, "{pad}  <Content>")?;
    writeln!(out, "{pad}    <DescriptionLevel>Item</DescriptionLevel>")?;
    writeln!(out, "{pad}    <Title>{}</Title>", text(&r.title))?;
    if let Some((code, _)) = r.node_path.last() {
        writeln!(out, "{pad}    <FilePlanPosition>{}</FilePlanPosition>", text(code))?;
    }
    writeln!(out, "{pad}    <SystemId>{}</SystemId>", text(&r.id))?;
    writeln!(
        out,
        "{pad}    <OriginatingAgencyArchiveUnitIdentifier>{}</OriginatingAgencyArchiveUnitIdentifier>",
        text(&r.reference)
    )?;
    if !r.fields.is_empty() {
        let described: Vec<String> = r.fields.iter().map(|(k, v)| format!("{k} : {v}")).collect();
        writeln!(
            out,
            "{pad}    <Description>{}</Description>",
            text(&described.join(" ; "))
        )?;
    }
    if let Some(kind) = &r.document_type {
        writeln!(out, "{pad}    <DocumentType>{}</DocumentType>", text(kind))?;
    }
    if let Some(service) = &r.service {
        writeln!(
            out,
            "{pad}    <OriginatingAgency>\n{pad}      <Identifier>{}</Identifier>\n{pad}    </OriginatingAgency>",
            text(service)
        )?;
    }
    writeln!(out, "{pad}    <StartDate>{}</StartDate>", r.date)?;
    writeln!(out, "{pad}    <EndDate>{}</EndDate>", r.date)?;
    writeln!(out, "{pad}  </Content>")?;
    writeln!(
        out,
        "{pad}  <DataObjectReference>\n{pad}    <DataObjectGroupReferenceId>{group}</DataObjectGroupReferenceId>\n{pad}  </DataObjectReference>"
    )?;
    writeln!(out, "{pad}</ArchiveUnit>")
}

/// A binary object as a manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestObject {
    /// Its id.
    pub id: String,
    /// Its path under `data/` (the `Uri`).
    pub uri: String,
    /// The digest algorithm (`SHA-512`, `SHA-256`).
    pub algorithm: String,
    /// The digest, hex.
    pub digest: String,
    /// Size, if given.
    pub size: Option<u64>,
    /// Media type, if given.
    pub mime: Option<String>,
    /// File name, if given.
    pub filename: Option<String>,
    /// Version label (`BinaryMaster_1`).
    pub version: Option<String>,
    /// The group it belongs to.
    pub group: Option<String>,
}

/// An item-level archive unit as a manifest describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ManifestUnit {
    /// Title.
    pub title: String,
    /// The identifiers: SystemId, then the agencies' identifiers.
    pub identifiers: Vec<String>,
    /// The node codes (FilePlanPosition) of the enclosing units, outermost first, then its own.
    pub plan_positions: Vec<String>,
    /// Start date.
    pub start_date: Option<NaiveDate>,
    /// Document type.
    pub document_type: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// The producing service (OriginatingAgency's identifier).
    pub service: Option<String>,
    /// The groups or objects it points at.
    pub objects: Vec<String>,
}

/// What import reads of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// The message's identifier.
    pub message_id: Option<String>,
    /// Binary objects by id.
    pub objects: Vec<ManifestObject>,
    /// Archive units that point at objects.
    pub units: Vec<ManifestUnit>,
}

/// The character an XML reference stands for: a character reference or
/// one of the five predefined entities (`None` for any other).
fn resolved(r: &quick_xml::events::BytesRef<'_>) -> Option<char> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Some(c),
        _ => match r.as_ref() {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            "quot" => Some('"'),
            _ => None,
        },
    }
}

/// Adds the text an event carries (text, CDATA, a reference) to `pending`;
/// `None` for a reference to an entity not declared.
fn push_text(event: &quick_xml::events::Event<'_>, pending: &mut String) -> Option<()> {
    use quick_xml::events::Event;
    match event {
        Event::Text(t) => pending.push_str(&t.xml10_content()),
        Event::CData(t) => pending.push_str(&t.xml10_content()),
        Event::GeneralRef(r) => pending.push(resolved(r)?),
        _ => {}
    }
    Some(())
}

/// What the archives service answers to a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyKind {
    /// `ArchiveTransferReply`: the transfer taken in charge (or refused).
    TransferReply,
    /// `Acknowledgement`: the transfer received.
    Acknowledgement,
}

/// What coffre reads of the archives service's answer to a transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivesReply {
    /// Which message it is.
    pub kind: ReplyKind,
    /// The answer's own identifier: the archives service's reference.
    pub message_id: String,
    /// The identifier of the transfer message it answers
    /// (`MessageRequestIdentifier`, or an acknowledgement's
    /// `MessageReceivedIdentifier`).
    pub answers: String,
    /// `ReplyCode` (`OK`, `KO`, `WARNING`…), when given.
    pub reply_code: Option<String>,
    /// When the archives took the transfer in charge (`GrantDate`), else
    /// the message's `Date`, as written.
    pub date: String,
    /// The archives service's identifier (`ArchivalAgency` or `Sender`).
    pub archival_agency: Option<String>,
}

impl ArchivesReply {
    /// Whether the answer refuses the transfer: a reply whose code is
    /// neither `OK`, `000` nor a warning.
    pub fn refuses(&self) -> bool {
        self.reply_code.as_deref().is_some_and(|code| {
            let code = code.trim().to_ascii_uppercase();
            !(code == "OK" || code == "000" || code.starts_with("WARN") || code.starts_with("OK"))
        })
    }
}

/// Reads the archives service's answer to a transfer: a SEDA 2.x
/// `ArchiveTransferReply` or `Acknowledgement`.
pub fn read_reply(xml: &[u8]) -> Result<ArchivesReply, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut pending = String::new();
    let mut kind = None;
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("XML illisible à l'octet {} : {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                if path.is_empty() {
                    kind = Some(match name.as_str() {
                        "ArchiveTransferReply" => ReplyKind::TransferReply,
                        "Acknowledgement" => ReplyKind::Acknowledgement,
                        other => {
                            return Err(format!(
                                "ce message est un {other}, pas une réponse à un transfert (ArchiveTransferReply ou Acknowledgement)"
                            ));
                        }
                    });
                }
                path.push(name);
                pending.clear();
            }
            text @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                push_text(&text, &mut pending).ok_or("le message utilise une entité qu'il ne déclare pas")?
            }
            Event::End(_) => {
                let value = std::mem::take(&mut pending).trim().to_owned();
                // Children of the root (`Date`) and of its agencies
                // (`ArchivalAgency/Identifier`), by their path.
                let key = path[1.min(path.len())..].join("/");
                path.pop();
                if !value.is_empty() {
                    fields.entry(key).or_insert(value);
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let kind = kind.ok_or("le document est vide")?;
    let field = |name: &str| fields.get(name).cloned();
    let answers = match kind {
        ReplyKind::TransferReply => field("MessageRequestIdentifier"),
        ReplyKind::Acknowledgement => field("MessageReceivedIdentifier"),
    }
    .ok_or("le message ne dit pas à quel transfert il répond")?;
    Ok(ArchivesReply {
        kind,
        message_id: field("MessageIdentifier").ok_or("le message n'a pas d'identifiant (MessageIdentifier)")?,
        answers,
        reply_code: field("ReplyCode"),
        date: field("GrantDate").or_else(|| field("Date")).unwrap_or_default(),
        archival_agency: field("ArchivalAgency/Identifier").or_else(|| field("Sender/Identifier")),
    })
}

/// Reads a SEDA 2.x `ArchiveTransfer` (any 2.x namespace): its binary
/// objects and the units that point at them.
pub fn read_manifest(xml: &[u8]) -> Result<Manifest, String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut manifest = Manifest::default();
    let mut path: Vec<String> = Vec::new();
    let mut pending = String::new();
    let mut object: Option<ManifestObject> = None;
    let mut group: Option<String> = None;
    // Units being read, outermost first, with the plan position of each.
    let mut units: Vec<(ManifestUnit, Option<String>)> = Vec::new();
    let mut saw_root = false;
    let mut buf = Vec::new();
    let attribute = |start: &quick_xml::events::BytesStart<'_>, key: &str| {
        start
            .attributes()
            .flatten()
            .find(|a| a.key.as_ref() == key)
            .map(|a| a.value.to_string())
    };
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("manifest.xml at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(start) => {
                let name = start.local_name().as_ref().to_owned();
                if path.is_empty() {
                    let ns = attribute(&start, "xmlns").unwrap_or_default();
                    if name != "ArchiveTransfer" || !ns.starts_with("fr:gouv:culture:archivesdefrance:seda:v2.") {
                        return Err(format!(
                            "manifest.xml is not a SEDA 2.x ArchiveTransfer (root {name}, namespace {ns:?})"
                        ));
                    }
                    saw_root = true;
                }
                let id = attribute(&start, "id");
                match name.as_str() {
                    "DataObjectGroup" => group = id,
                    "BinaryDataObject" => {
                        object = Some(ManifestObject {
                            id: id.unwrap_or_default(),
                            uri: String::new(),
                            algorithm: String::new(),
                            digest: String::new(),
                            size: None,
                            mime: None,
                            filename: None,
                            version: None,
                            group: group.clone(),
                        })
                    }
                    "MessageDigest" => {
                        if let Some(o) = object.as_mut() {
                            o.algorithm = attribute(&start, "algorithm").unwrap_or_default();
                        }
                    }
                    "ArchiveUnit" => units.push((ManifestUnit::default(), None)),
                    _ => {}
                }
                path.push(name);
                pending.clear();
            }
            text @ (Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)) => {
                push_text(&text, &mut pending).ok_or("manifest.xml uses an entity it does not declare")?
            }
            Event::End(_) => {
                let value = std::mem::take(&mut pending).trim().to_owned();
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                match name.as_str() {
                    "BinaryDataObject" => {
                        if let Some(o) = object.take() {
                            manifest.objects.push(o);
                        }
                    }
                    "DataObjectGroup" => group = None,
                    "MessageIdentifier" if parent == "ArchiveTransfer" => manifest.message_id = Some(value),
                    "ArchiveUnit" => {
                        if let Some((mut unit, _)) = units.pop()
                            && !unit.objects.is_empty()
                        {
                            let mut positions: Vec<String> = units.iter().filter_map(|(_, p)| p.clone()).collect();
                            positions.append(&mut unit.plan_positions);
                            unit.plan_positions = positions;
                            manifest.units.push(unit);
                        }
                    }
                    here => {
                        if let Some(o) = object.as_mut() {
                            match here {
                                "Uri" => o.uri = value,
                                "MessageDigest" => o.digest = value.to_ascii_lowercase(),
                                "Size" => o.size = value.parse().ok(),
                                "MimeType" => o.mime = Some(value),
                                "Filename" => o.filename = Some(value),
                                "DataObjectVersion" => o.version = Some(value),
                                _ => {}
                            }
                        } else if let Some((unit, position)) = units.last_mut() {
                            let in_content = parent == "Content";
                            let grandparent = path.iter().rev().nth(1).map(String::as_str).unwrap_or("");
                            if here == "Identifier" && parent == "OriginatingAgency" && grandparent == "Content" {
                                unit.service = Some(value.clone());
                            }
                            let date = |v: &str| NaiveDate::parse_from_str(v.get(..10).unwrap_or(""), "%Y-%m-%d").ok();
                            match here {
                                "Title" if in_content && unit.title.is_empty() => unit.title = value,
                                "FilePlanPosition" if in_content => {
                                    *position = Some(value.clone());
                                    unit.plan_positions.push(value);
                                }
                                "SystemId"
                                | "OriginatingAgencyArchiveUnitIdentifier"
                                | "TransferringAgencyArchiveUnitIdentifier"
                                | "ArchivalAgencyArchiveUnitIdentifier"
                                    if in_content =>
                                {
                                    unit.identifiers.push(value)
                                }
                                "StartDate" if in_content => unit.start_date = date(&value),
                                "CreatedDate" if in_content && unit.start_date.is_none() => {
                                    unit.start_date = date(&value)
                                }
                                "DocumentType" if in_content => unit.document_type = Some(value),
                                "Description" if in_content => unit.description = Some(value),
                                "DataObjectGroupReferenceId" | "DataObjectReferenceId" => unit.objects.push(value),
                                _ => {}
                            }
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_root {
        return Err("manifest.xml has no ArchiveTransfer element".into());
    }
    Ok(manifest)
}

/// The objects a unit points at (directly, or through their group).
pub fn objects_of<'a>(manifest: &'a Manifest, unit: &ManifestUnit) -> Vec<&'a ManifestObject> {
    manifest
        .objects
        .iter()
        .filter(|o| {
            unit.objects
                .iter()
                .any(|r| *r == o.id || o.group.as_deref() == Some(r.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hash::Sha256;
    use chrono::TimeZone;

    fn record(i: usize, node: &[(&str, &str)]) -> PackageRecord {
        PackageRecord {
            id: format!("id-{i}"),
            reference: format!("REF-{i}"),
            title: format!("Titre <{i}> & \u{1} contrôle"),
            node_path: node.iter().map(|(c, t)| (c.to_string(), t.to_string())).collect(),
            date: NaiveDate::from_ymd_opt(2020, 1, i as u32 + 1).unwrap_or_default(),
            service: Some("Finances".into()),
            document_type: Some("facture".into()),
            fields: BTreeMap::from([("fournisseur".to_string(), "EDF".to_string())]),
            appraisal: Some(PackageAppraisal {
                rule: "FACTURES".into(),
                start_date: NaiveDate::from_ymd_opt(2020, 1, 1),
                final_action: "Destroy".into(),
            }),
            objects: vec![PackageObject {
                id: format!("BDO-{i}"),
                path: format!("data/content/f-{i}.pdf"),
                version: 1,
                sha256: Sha256::of(b"x"),
                sha512: "ab".repeat(64),
                size: 12,
                media_type: "application/pdf".into(),
                filename: Some(format!("f-{i}.pdf")),
            }],
        }
    }

    #[test]
    fn what_is_written_reads_back() {
        let records = vec![
            record(0, &[("FIN", "Finances"), ("FIN-FAC", "Factures")]),
            record(1, &[("FIN", "Finances"), ("FIN-FAC", "Factures")]),
            record(2, &[("ADM", "Administration")]),
        ];
        let mut xml = Vec::new();
        let now = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .unwrap_or_default();
        let parties = TransferParties {
            message_id: "EXP-1".into(),
            archival_agency: "FRAD999".into(),
            transferring_agency: "commune".into(),
            originating_agency: "commune".into(),
            ..Default::default()
        };
        assert!(write_manifest(&mut xml, &parties, &records, now).is_ok());
        let manifest = read_manifest(&xml);
        assert!(manifest.is_ok(), "{manifest:?}");
        let manifest = manifest.unwrap_or_default();
        assert_eq!(manifest.objects.len(), 3);
        assert_eq!(manifest.message_id.as_deref(), Some("EXP-1"));
        assert_eq!(manifest.units.len(), 3);
        let first = &manifest
            .units
            .iter()
            .find(|u| u.identifiers.contains(&"REF-0".to_string()));
        let first = first.cloned().unwrap_or_default();
        assert_eq!(first.title, "Titre <0> &  contrôle");
        assert_eq!(first.plan_positions, vec!["FIN", "FIN-FAC", "FIN-FAC"]);
        let objects = objects_of(&manifest, &first);
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].uri, "content/f-0.pdf");
        assert_eq!(objects[0].algorithm, "SHA-512");
        assert_eq!(first.service.as_deref(), Some("Finances"));
        assert_eq!(first.document_type.as_deref(), Some("facture"));
        assert_eq!(first.start_date, NaiveDate::from_ymd_opt(2020, 1, 1));
        assert!(read_manifest(b"<foo/>").is_err());
        assert!(read_manifest(b"<ArchiveTransfer xmlns=\"urn:other\"/>").is_err());
    }
}
