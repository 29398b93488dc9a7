//! Reading PES V2 flows: a `PES_Aller` split into its bordereaux, pièces
//! and pièces justificatives, or a `PES_ACQUIT` and what it says, each
//! part's fields read where the mapping says (`domain::pes`).
//!
//! The flow's bytes are never rewritten: its record holds them as
//! received. A bordereau's or a pièce's record holds its element cut out
//! of the flow, in the flow's own encoding after an XML declaration naming
//! it; a pièce justificative's, its file decoded from base64 and gzip.
//! Documents with a DTD are refused (no entity is ever expanded).

use crate::domain::pes::{
    AcknowledgementState, FieldPath, Part, PartKind, PartMapping, PesMapping, SignatureFound, SplitFlow,
};
use base64::Engine as _;
use encoding_rs::Encoding;
use roxmltree::Node;
use std::io::Read as _;

/// The XML Signature namespace.
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Why a file is not a flow coffre can split, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAFlow(pub String);

/// What the flow is read under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest file a pièce justificative may decode to.
    pub file_max: u64,
}

/// The flow's text and how to cut parts out of it in its own encoding.
struct Text {
    text: String,
    /// The encoding parts are written back in (UTF-8 when the flow's
    /// cannot be written back byte for byte).
    encoding: &'static Encoding,
}

/// Decodes the flow as its XML declaration says (UTF-8 by default).
fn decode(bytes: &[u8]) -> Result<Text, NotAFlow> {
    let (bom, bom_len) = Encoding::for_bom(bytes).unwrap_or((encoding_rs::UTF_8, 0));
    let declared = declared_encoding(&bytes[bom_len..]);
    let encoding = if bom_len > 0 {
        bom
    } else {
        match declared.as_deref() {
            None => encoding_rs::UTF_8,
            Some(label) => Encoding::for_label(label.as_bytes())
                .ok_or_else(|| NotAFlow(format!("l'encodage « {label} » déclaré par le flux est inconnu")))?,
        }
    };
    let (text, malformed) = encoding.decode_without_bom_handling(&bytes[bom_len..]);
    if malformed {
        return Err(NotAFlow(format!(
            "le flux n'est pas écrit dans l'encodage {} qu'il déclare",
            encoding.name()
        )));
    }
    let encoding = if encoding.output_encoding() == encoding {
        encoding
    } else {
        encoding_rs::UTF_8
    };
    Ok(Text {
        text: text.into_owned(),
        encoding,
    })
}

/// The `encoding` of an XML declaration at the start of `bytes`.
fn declared_encoding(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(200)];
    let head = std::str::from_utf8(head)
        .ok()
        .or_else(|| std::str::from_utf8(&head[..head.iter().position(|b| *b >= 0x80)?]).ok())?;
    let declaration = head.strip_prefix("<?xml")?;
    let end = declaration.find("?>")?;
    let declaration = &declaration[..end];
    let at = declaration.find("encoding")?;
    let rest = declaration[at + "encoding".len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let value = &rest[1..];
    Some(value[..value.find(quote)?].trim().to_owned())
}

impl Text {
    /// The element `node` as it stands in the flow, after a declaration.
    fn fragment(&self, node: Node<'_, '_>) -> Vec<u8> {
        let slice = &self.text[node.range()];
        let mut out = format!("<?xml version=\"1.0\" encoding=\"{}\"?>\n", self.encoding.name()).into_bytes();
        let (bytes, _, _) = self.encoding.encode(slice);
        out.extend_from_slice(&bytes);
        out.push(b'\n');
        out
    }
}

/// Splits a PES flow (or reads an acknowledgement) as `mapping` says.
pub fn split(
    bytes: &[u8],
    filename: Option<&str>,
    mapping: &PesMapping,
    limits: Limits,
) -> Result<SplitFlow, NotAFlow> {
    let text = decode(bytes)?;
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(&text.text, options)
        .map_err(|e| NotAFlow(format!("ce n'est pas du XML lisible : {e}")))?;
    let root = document.root_element();
    match root.tag_name().name() {
        "PES_Aller" => split_outgoing(bytes, filename, &text, root, mapping, limits),
        "PES_ACQUIT" => read_acknowledgement(bytes, filename, root, mapping),
        other => Err(NotAFlow(format!(
            "l'élément racine est « {other} » : un flux PES commence par PES_Aller (flux aller) ou PES_ACQUIT (acquittement)"
        ))),
    }
}

/// The mapping of `kind` (every kind is mapped once the file is checked).
fn mapping_of(mapping: &PesMapping, kind: PartKind) -> Result<&PartMapping, NotAFlow> {
    mapping
        .part(kind)
        .ok_or_else(|| NotAFlow(format!("la correspondance PES ne dit rien de « {kind} »")))
}

/// A part of `kind` read from `node`.
fn part(
    kind: PartKind,
    mapping: &PartMapping,
    node: Node<'_, '_>,
    content: Vec<u8>,
    filename: String,
    parent: Option<(usize, &'static str)>,
) -> Part {
    let fields: Vec<(String, String)> = mapping
        .fields
        .iter()
        .filter_map(|(name, path)| value_at(node, path).map(|v| (name.clone(), v)))
        .collect();
    let date = mapping
        .date
        .as_ref()
        .and_then(|p| value_at(node, p))
        .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok());
    Part {
        kind,
        content,
        filename,
        title: mapping.title_for(&fields),
        date,
        fields,
        parent: parent.map(|(p, _)| p),
        link: parent.map_or("", |(_, l)| l),
        signature: None,
    }
}

fn split_outgoing(
    bytes: &[u8],
    filename: Option<&str>,
    text: &Text,
    root: Node<'_, '_>,
    mapping: &PesMapping,
    limits: Limits,
) -> Result<SplitFlow, NotAFlow> {
    let name = value_at(root, &path("Enveloppe/Parametres/NomFic/@V"));
    let flow_name = file_name(filename, name.as_deref(), "flux-pes", "xml");
    let mut parts = vec![part(
        PartKind::Flow,
        mapping_of(mapping, PartKind::Flow)?,
        root,
        bytes.to_vec(),
        flow_name,
        None,
    )];
    let signatures: Vec<Node<'_, '_>> = root
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "Signature" && n.tag_name().namespace() == Some(XMLDSIG))
        .collect();
    // A signature of the whole flow (the format allows one at its end).
    parts[0].signature = root
        .children()
        .find(|c| c.is_element() && c.tag_name().name() == "Signature" && c.tag_name().namespace() == Some(XMLDSIG))
        .and_then(|s| Some(signature_found(s, signatures.iter().position(|n| *n == s)? + 1)));
    // IdUnique of a pièce justificative → the pièce that names it.
    let mut referenced: Vec<(String, usize)> = Vec::new();
    // (exercice, IdPce) of a mandat or titre → the pièce.
    let mut numbered: Vec<(String, String, PartKind, usize)> = Vec::new();
    for (domain, slip_kind, piece_kind) in [
        ("PES_DepenseAller", PartKind::ExpenseSlip, PartKind::Mandate),
        ("PES_RecetteAller", PartKind::RevenueSlip, PartKind::Title),
    ] {
        let slip_mapping = mapping_of(mapping, slip_kind)?;
        let piece_mapping = mapping_of(mapping, piece_kind)?;
        for slip in children(root, domain).flat_map(|d| children(d, "Bordereau")) {
            let index = parts.len();
            let number = value_at(slip, &path("BlocBordereau/IdBord/@V")).unwrap_or_else(|| index.to_string());
            let year = value_at(slip, &path("BlocBordereau/Exer/@V")).unwrap_or_default();
            let mut slip_part = part(
                slip_kind,
                slip_mapping,
                slip,
                text.fragment(slip),
                format!("bordereau-{}-{}.xml", safe(&year), safe(&number)),
                Some((0, "part_of")),
            );
            slip_part.signature = slip
                .children()
                .find(|c| {
                    c.is_element() && c.tag_name().name() == "Signature" && c.tag_name().namespace() == Some(XMLDSIG)
                })
                .and_then(|s| Some(signature_found(s, signatures.iter().position(|n| *n == s)? + 1)));
            parts.push(slip_part);
            for piece in children(slip, "Piece") {
                let piece_index = parts.len();
                let id =
                    value_at(piece, &path("BlocPiece/InfoPce/IdPce/@V")).unwrap_or_else(|| piece_index.to_string());
                let prefix = if piece_kind == PartKind::Mandate {
                    "mandat"
                } else {
                    "titre"
                };
                parts.push(part(
                    piece_kind,
                    piece_mapping,
                    piece,
                    text.fragment(piece),
                    format!("{prefix}-{}-{}.xml", safe(&year), safe(&id)),
                    Some((index, "part_of")),
                ));
                for reference in piece.descendants().filter(|n| n.has_tag_name("PJRef")) {
                    if let Some(unique) = value_at(reference, &path("IdUnique/@V")) {
                        referenced.push((unique, piece_index));
                    }
                }
                numbered.push((year.clone(), id, piece_kind, piece_index));
            }
        }
    }
    let voucher_mapping = mapping_of(mapping, PartKind::Voucher)?;
    for (n, voucher) in children(root, "PES_PJ").flat_map(|b| children(b, "PJ")).enumerate() {
        let unique = value_at(voucher, &path("IdUnique/@V"));
        let refers = |year: Option<String>, id: Option<String>, domain: Option<String>| {
            let kind = match domain.as_deref() {
                Some("02") => PartKind::Title,
                _ => PartKind::Mandate,
            };
            numbered
                .iter()
                .find(|(y, i, k, _)| Some(i) == id.as_ref() && year.as_ref().is_none_or(|yy| yy == y) && *k == kind)
                .map(|(_, _, _, index)| *index)
        };
        let parent = unique
            .as_ref()
            .and_then(|u| referenced.iter().find(|(r, _)| r == u).map(|(_, i)| *i))
            .or_else(|| {
                refers(
                    value_at(voucher, &path("RefCompta/Exercice/@V")),
                    value_at(voucher, &path("RefCompta/Identifiant/@V")),
                    value_at(voucher, &path("RefCompta/Domaine/@V")),
                )
            });
        let content = voucher_file(voucher, limits).map_err(|why| {
            NotAFlow(format!(
                "la pièce justificative {} ne se décode pas : {why}",
                unique.as_deref().unwrap_or("sans identifiant")
            ))
        })?;
        let stated = value_at(voucher, &path("NomPJ/@V"));
        let name = file_name(
            stated.as_deref(),
            None,
            &format!("piece-justificative-{}", n + 1),
            "bin",
        );
        let link = match parent {
            Some(p) => (p, "supports"),
            None => (0, "part_of"),
        };
        let mut voucher_part = part(PartKind::Voucher, voucher_mapping, voucher, content, name, Some(link));
        if voucher_part.title.is_empty() {
            voucher_part.title = voucher_part.filename.clone();
        }
        parts.push(voucher_part);
    }
    // A part without a date of its own takes its parent's.
    for i in 0..parts.len() {
        if parts[i].date.is_none()
            && let Some(p) = parts[i].parent
        {
            parts[i].date = parts[p].date.clone();
        }
    }
    Ok(SplitFlow {
        parts,
        acknowledgement: None,
    })
}

fn read_acknowledgement(
    bytes: &[u8],
    filename: Option<&str>,
    root: Node<'_, '_>,
    mapping: &PesMapping,
) -> Result<SplitFlow, NotAFlow> {
    let flow_name = value_at(root, &path("Enveloppe/Parametres/NomFic/@V")).ok_or_else(|| {
        NotAFlow("l'acquittement ne nomme pas le flux qu'il acquitte (Enveloppe/Parametres/NomFic)".into())
    })?;
    let mut accepted = true;
    let mut reasons = Vec::new();
    for element in root.descendants().filter(|n| n.has_tag_name("ElementACQUIT")) {
        let state = value_at(element, &path("EtatAck/@V"));
        if state.as_deref() != Some("1") {
            accepted = false;
            let codes: Vec<String> = element
                .descendants()
                .filter(|n| n.has_tag_name("NumAnoAck"))
                .filter_map(|n| value_of(n, Some("V")))
                .collect();
            let labels: Vec<String> = element
                .descendants()
                .filter(|n| n.has_tag_name("LibelleAnoAck"))
                .filter_map(|n| value_of(n, Some("V")))
                .collect();
            for i in 0..codes.len().max(labels.len()).max(1) {
                let code = codes.get(i).cloned().unwrap_or_default();
                let label = labels.get(i).cloned().unwrap_or_default();
                if code.is_empty() && label.is_empty() {
                    reasons.push((
                        String::new(),
                        format!("élément refusé (état {})", state.as_deref().unwrap_or("absent")),
                    ));
                } else {
                    reasons.push((code, label));
                }
            }
        }
    }
    let name = file_name(filename, None, &format!("acquittement-{}", safe(&flow_name)), "xml");
    let mut acknowledgement = part(
        PartKind::Acknowledgement,
        mapping_of(mapping, PartKind::Acknowledgement)?,
        root,
        bytes.to_vec(),
        name,
        None,
    );
    acknowledgement
        .fields
        .push(("etat".into(), if accepted { "accepté" } else { "rejeté" }.into()));
    if !reasons.is_empty() {
        let said: Vec<String> = reasons
            .iter()
            .map(|(code, label)| match (code.is_empty(), label.is_empty()) {
                (false, false) => format!("{code} : {label}"),
                (false, true) => code.clone(),
                _ => label.clone(),
            })
            .collect();
        acknowledgement.fields.push(("motif".into(), said.join(" ; ")));
    }
    Ok(SplitFlow {
        parts: vec![acknowledgement],
        acknowledgement: Some(AcknowledgementState {
            flow_name,
            accepted,
            reasons,
        }),
    })
}

/// What a signature element says of itself: its method, certificate and
/// XAdES signed properties (whatever the XAdES namespace's version).
fn signature_found(signature: Node<'_, '_>, position: usize) -> SignatureFound {
    let first = |name: &str| {
        signature
            .descendants()
            .find(|n| n.is_element() && n.tag_name().name() == name)
    };
    let text_of = |name: &str| first(name).and_then(|n| value_of(n, None));
    let certificate = first("X509Certificate").and_then(|n| {
        let encoded: String = n
            .children()
            .filter_map(|c| c.text())
            .flat_map(|t| t.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .ok()
    });
    let policy = first("SigPolicyId").map(|p| {
        let child = |name: &str| {
            p.children()
                .find(|c| c.has_tag_name(name) || c.tag_name().name() == name)
                .and_then(|c| value_of(c, None))
                .unwrap_or_default()
        };
        (child("Identifier"), child("Description"))
    });
    let certificate_digest = first("CertDigest").and_then(|d| {
        let method = d
            .children()
            .find(|c| c.tag_name().name() == "DigestMethod")
            .and_then(|m| m.attribute("Algorithm"))?;
        let value = d
            .children()
            .find(|c| c.tag_name().name() == "DigestValue")
            .and_then(|v| value_of(v, None))?;
        Some((method.to_owned(), value.replace(' ', "")))
    });
    SignatureFound {
        id: signature.attribute("Id").map(str::to_owned),
        position,
        method: first("SignatureMethod")
            .and_then(|m| m.attribute("Algorithm"))
            .unwrap_or_default()
            .to_owned(),
        certificate,
        signed_at: text_of("SigningTime"),
        policy,
        role: text_of("ClaimedRole"),
        certificate_digest,
    }
}

/// A fixed path of the PES format itself (not the mapping's).
fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or(FieldPath {
        steps: Vec::new(),
        attribute: None,
        sum: false,
    })
}

/// The element children of `node` with this local name.
fn children<'a, 'input>(node: Node<'a, 'input>, name: &'static str) -> impl Iterator<Item = Node<'a, 'input>> {
    node.children()
        .filter(move |c| c.is_element() && c.tag_name().name() == name)
}

/// The value at `path` from `node`: the first match's, or the sum of every
/// match's for `sum(...)`; `None` when nothing holds a value.
pub fn value_at(node: Node<'_, '_>, path: &FieldPath) -> Option<String> {
    let mut current = vec![node];
    for step in &path.steps {
        let mut next = Vec::new();
        for n in current {
            if step == ".." {
                if let Some(p) = n.parent_element()
                    && !next.contains(&p)
                {
                    next.push(p);
                }
            } else {
                next.extend(n.children().filter(|c| c.is_element() && c.tag_name().name() == step));
            }
        }
        current = next;
    }
    let values = current
        .into_iter()
        .filter_map(|n| value_of(n, path.attribute.as_deref()));
    if path.sum {
        let mut total: Option<Decimal> = None;
        for v in values {
            let d = Decimal::parse(&v)?;
            total = Some(match total {
                Some(t) => t.add(d)?,
                None => d,
            });
        }
        total.map(|t| t.to_string())
    } else {
        values.into_iter().next()
    }
}

/// An element's attribute, or its text, trimmed; `None` when blank.
fn value_of(node: Node<'_, '_>, attribute: Option<&str>) -> Option<String> {
    let value = match attribute {
        Some(a) => node
            .attributes()
            .find(|at| at.name() == a)
            .map(|at| at.value().to_owned())?,
        None => node
            .children()
            .filter(|c| c.is_text())
            .filter_map(|c| c.text())
            .collect::<String>(),
    };
    let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
    (!value.is_empty()).then_some(value)
}

/// A decimal amount, exactly (PES amounts have at most a few decimals).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    units: i128,
    scale: u32,
}

impl Decimal {
    fn parse(text: &str) -> Option<Decimal> {
        let (sign, digits) = match text.strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, text.strip_prefix('+').unwrap_or(text)),
        };
        let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
        if whole.is_empty() && fraction.is_empty()
            || whole.len() > 20
            || fraction.len() > 8
            || !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let units: i128 = format!("{whole}{fraction}").parse().ok()?;
        Some(Decimal {
            units: sign * units,
            scale: fraction.len() as u32,
        })
    }

    fn add(self, other: Decimal) -> Option<Decimal> {
        let scale = self.scale.max(other.scale);
        let a = self.units.checked_mul(10i128.checked_pow(scale - self.scale)?)?;
        let b = other.units.checked_mul(10i128.checked_pow(scale - other.scale)?)?;
        Some(Decimal {
            units: a.checked_add(b)?,
            scale,
        })
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.units < 0 { "-" } else { "" };
        let digits = self.units.unsigned_abs().to_string();
        let scale = self.scale as usize;
        if scale == 0 {
            return write!(f, "{sign}{digits}");
        }
        let padded = format!("{digits:0>width$}", width = scale + 1);
        let (whole, fraction) = padded.split_at(padded.len() - scale);
        let fraction = fraction.trim_end_matches('0');
        if fraction.is_empty() {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{fraction}")
        }
    }
}

/// A pièce justificative's file: `Contenu/Fichier` decoded from base64,
/// then from gzip when it is gzipped (as the format asks), at most
/// `limits.file_max` bytes.
fn voucher_file(voucher: Node<'_, '_>, limits: Limits) -> Result<Vec<u8>, String> {
    let file = voucher
        .children()
        .filter(|c| c.has_tag_name("Contenu"))
        .flat_map(|c| c.children().filter(|f| f.has_tag_name("Fichier")))
        .next()
        .ok_or("elle n'a pas de Contenu/Fichier")?;
    let encoded: String = file
        .children()
        .filter_map(|c| c.text())
        .flat_map(|t| t.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    if encoded.is_empty() {
        return Err("son fichier est vide".into());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(encoded.as_bytes())
        .map_err(|e| format!("ce n'est pas du base64 ({e})"))?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .take(limits.file_max + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("son gzip est abîmé ({e})"))?;
    if out.len() as u64 > limits.file_max {
        return Err(format!("décompressée, elle dépasse {} octets", limits.file_max));
    }
    Ok(out)
}

/// A file name: the stated one (its last component), else `fallback.ext`.
fn file_name(stated: Option<&str>, name: Option<&str>, fallback: &str, ext: &str) -> String {
    let stated = stated
        .and_then(|s| s.rsplit(['/', '\\']).next())
        .map(str::trim)
        .filter(|s| !s.is_empty() && !s.starts_with('.'));
    match (stated, name) {
        (Some(s), _) => s.to_owned(),
        (None, Some(n)) => format!("{}.{ext}", safe(n)),
        (None, None) => format!("{fallback}.{ext}"),
    }
}

/// Letters, digits, `-` and `_` of `text`, others as `_`, at most 80.
fn safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_added_exactly() {
        let d = |s| Decimal::parse(s).expect(s);
        assert_eq!(d("0.1").add(d("0.2")).expect("sum").to_string(), "0.3");
        assert_eq!(d("39724.75").add(d("36000")).expect("sum").to_string(), "75724.75");
        assert_eq!(d("-1.50").add(d("1")).expect("sum").to_string(), "-0.5");
        assert_eq!(Decimal::parse("1,5"), None);
        assert_eq!(Decimal::parse("."), None);
    }
}
