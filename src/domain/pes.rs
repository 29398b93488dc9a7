//! Accounting flows (PES V2, the XML a collectivité sends its public
//! accountant through Hélios): what a flow is split into, and the mapping
//! that says where each field of each part sits in the XML. The mapping is
//! configuration, written by archivists like the plan
//! (`mappings/pes-v2.toml`); reading the XML is `extract::pes`'s.
//!
//! A flow (`PES_Aller`) gives one record for itself, as received, then one
//! per bordereau (of mandats or of titres), one per pièce (mandat or
//! titre) and one per pièce justificative of its `PES_PJ` block, each
//! linked to what holds it. An acknowledgement (`PES_ACQUIT`) gives one
//! record linked to the flow it acknowledges.

use super::record::{InvalidInput, NodeCode, check_field_name};
use std::fmt;

/// The parts of flows that become records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PartKind {
    /// The flow itself (`PES_Aller`), as received.
    Flow,
    /// A bordereau of mandats (`PES_DepenseAller/Bordereau`).
    ExpenseSlip,
    /// A bordereau of titres (`PES_RecetteAller/Bordereau`).
    RevenueSlip,
    /// A mandat (`Piece` of a bordereau of mandats).
    Mandate,
    /// A titre de recettes (`Piece` of a bordereau of titres).
    Title,
    /// A pièce justificative (`PES_PJ/PJ`), decoded into its own file.
    Voucher,
    /// An acknowledgement (`PES_ACQUIT`).
    Acknowledgement,
}

impl PartKind {
    /// Every kind, in the order a flow is split.
    pub const ALL: [PartKind; 7] = [
        PartKind::Flow,
        PartKind::ExpenseSlip,
        PartKind::RevenueSlip,
        PartKind::Mandate,
        PartKind::Title,
        PartKind::Voucher,
        PartKind::Acknowledgement,
    ];

    /// Its table in the mapping file, and its name in the API.
    pub fn key(self) -> &'static str {
        match self {
            PartKind::Flow => "flux",
            PartKind::ExpenseSlip => "bordereau_mandats",
            PartKind::RevenueSlip => "bordereau_titres",
            PartKind::Mandate => "mandat",
            PartKind::Title => "titre",
            PartKind::Voucher => "piece_justificative",
            PartKind::Acknowledgement => "acquittement",
        }
    }

    /// The kind whose table is `key`.
    pub fn from_key(key: &str) -> Option<PartKind> {
        PartKind::ALL.into_iter().find(|k| k.key() == key)
    }

    /// What the element a path starts from is, in words.
    pub fn element(self) -> &'static str {
        match self {
            PartKind::Flow => "PES_Aller",
            PartKind::ExpenseSlip | PartKind::RevenueSlip => "Bordereau",
            PartKind::Mandate | PartKind::Title => "Piece",
            PartKind::Voucher => "PJ",
            PartKind::Acknowledgement => "PES_ACQUIT",
        }
    }
}

impl fmt::Display for PartKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Where a value sits, from the element of its part: element names
/// separated by `/` (`..` for the parent), ending with `@Attribute` for an
/// attribute (PES puts values in `V`) or with an element whose text is the
/// value. `sum(...)` adds the decimal values of every match (the lines of
/// a pièce).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    /// Element steps: a local name, or `..`.
    pub steps: Vec<String>,
    /// The attribute read on the last element, if not its text.
    pub attribute: Option<String>,
    /// Whether every match is added up.
    pub sum: bool,
}

/// The most steps a path may have.
const STEPS_MAX: usize = 16;

impl FieldPath {
    /// Reads a path as written in the mapping file.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let text = text.trim();
        let (inner, sum) = match text.strip_prefix("sum(").and_then(|t| t.strip_suffix(')')) {
            Some(inner) => (inner.trim(), true),
            None => (text, false),
        };
        if inner.is_empty() {
            return Err("un chemin vide ; écrivez par exemple « BlocBordereau/Exer/@V »".into());
        }
        let mut steps = Vec::new();
        let mut attribute = None;
        let parts: Vec<&str> = inner.split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            if let Some(name) = part.strip_prefix('@') {
                if !last {
                    return Err(format!(
                        "« @{name} » doit finir le chemin : un attribut n'a pas d'enfants"
                    ));
                }
                check_name(name)?;
                attribute = Some(name.to_owned());
            } else if *part == ".." {
                steps.push("..".to_owned());
            } else {
                check_name(part)?;
                steps.push((*part).to_owned());
            }
        }
        if steps.len() > STEPS_MAX {
            return Err(format!("{STEPS_MAX} étapes au plus"));
        }
        if steps.last().is_some_and(|s| s == "..") && attribute.is_none() {
            return Err("un chemin finit par un élément ou un attribut, pas par « .. »".into());
        }
        Ok(FieldPath { steps, attribute, sum })
    }
}

/// Checks an XML local name as a path step: letters, digits, `_`, `-`, `.`.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "« {name} » n'est pas un nom d'élément ou d'attribut (lettres, chiffres, « _ », « - », « . »)"
        ))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self.steps.clone();
        if let Some(a) = &self.attribute {
            parts.push(format!("@{a}"));
        }
        if self.sum {
            write!(f, "sum({})", parts.join("/"))
        } else {
            f.write_str(&parts.join("/"))
        }
    }
}

/// How one kind of part becomes a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartMapping {
    /// The plan node its records go to.
    pub node: NodeCode,
    /// Their document type, if the node lists types.
    pub document_type: Option<String>,
    /// Their title: text with `{field}` put in.
    pub title: String,
    /// Where their date sits (`YYYY-MM-DD`); the flow's date otherwise.
    pub date: Option<FieldPath>,
    /// Each field and where it sits.
    pub fields: Vec<(String, FieldPath)>,
}

impl PartMapping {
    /// The title for these field values: each `{name}` replaced by the
    /// value (left empty when the field has none), spaces tidied.
    pub fn title_for(&self, values: &[(String, String)]) -> String {
        let mut out = String::new();
        let mut rest = self.title.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    if let Some((_, v)) = values.iter().find(|(n, _)| n == name) {
                        out.push_str(v);
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        let tidy = out.split_whitespace().collect::<Vec<_>>().join(" ");
        tidy.trim_matches(|c: char| c == '-' || c == '–' || c.is_whitespace())
            .to_owned()
    }
}

/// The whole mapping: one [`PartMapping`] per kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PesMapping {
    /// Its identifier and version, as the file says.
    pub id: String,
    /// Each kind's mapping, in [`PartKind::ALL`] order.
    pub parts: Vec<(PartKind, PartMapping)>,
}

impl PesMapping {
    /// The mapping of one kind.
    pub fn part(&self, kind: PartKind) -> Option<&PartMapping> {
        self.parts.iter().find(|(k, _)| *k == kind).map(|(_, m)| m)
    }
}

/// One part mapping as written, before checking.
#[derive(Debug, Clone, Default)]
pub struct RawPartMapping {
    /// Node code.
    pub node: String,
    /// Document type.
    pub document_type: Option<String>,
    /// Title template.
    pub title: String,
    /// Date path.
    pub date: Option<String>,
    /// Field name → path, in the file's order.
    pub fields: Vec<(String, String)>,
}

/// A problem in a mapping: where (`mandat.fields.objet`) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingProblem {
    /// The key path.
    pub path: String,
    /// What is wrong, in French.
    pub message: String,
}

/// Checks one kind's mapping as written; every problem is returned.
pub fn check_part(kind: PartKind, raw: RawPartMapping) -> Result<PartMapping, Vec<MappingProblem>> {
    let key = kind.key();
    let mut problems = Vec::new();
    let problem = |path: String, message: String| MappingProblem { path, message };
    let node = NodeCode::parse(&raw.node).map_err(|e: InvalidInput| problem(format!("{key}.node"), e.problem));
    let date = match raw.date.as_deref().map(FieldPath::parse).transpose() {
        Ok(d) => d,
        Err(e) => {
            problems.push(problem(format!("{key}.date"), e));
            None
        }
    };
    let mut fields = Vec::new();
    for (name, path) in raw.fields {
        if let Err(e) = check_field_name(&name) {
            problems.push(problem(format!("{key}.fields.{name}"), e.problem));
            continue;
        }
        match FieldPath::parse(&path) {
            Ok(p) => fields.push((name, p)),
            Err(e) => problems.push(problem(format!("{key}.fields.{name}"), e)),
        }
    }
    if raw.title.trim().is_empty() {
        problems.push(problem(
            format!("{key}.title"),
            "un titre est exigé (par exemple « Mandat n° {numero_piece} »)".into(),
        ));
    }
    let mut open = raw.title.as_str();
    while let Some(i) = open.find('{') {
        let after = &open[i + 1..];
        let Some(close) = after.find('}') else {
            problems.push(problem(
                format!("{key}.title"),
                "une accolade « { » n'est pas refermée".into(),
            ));
            break;
        };
        let name = &after[..close];
        if !fields.iter().any(|(n, _)| n == name) {
            problems.push(problem(
                format!("{key}.title"),
                format!("« {{{name}}} » ne nomme aucun champ de « {key}.fields »"),
            ));
        }
        open = &after[close + 1..];
    }
    let node = match node {
        Ok(n) => Some(n),
        Err(p) => {
            problems.push(p);
            None
        }
    };
    match node {
        Some(node) if problems.is_empty() => Ok(PartMapping {
            node,
            document_type: raw.document_type.filter(|t| !t.trim().is_empty()),
            title: raw.title,
            date,
            fields,
        }),
        _ => Err(problems),
    }
}

/// One part of a flow as read: what becomes one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its kind.
    pub kind: PartKind,
    /// Its content: the flow's bytes as received, a bordereau's or a
    /// pièce's element as it stands in the flow (in the flow's encoding,
    /// after an XML declaration naming it), a pièce justificative's file
    /// decoded from base64 and gzip.
    pub content: Vec<u8>,
    /// Its file name.
    pub filename: String,
    /// Its title, from the mapping.
    pub title: String,
    /// Its date, `YYYY-MM-DD`, if read.
    pub date: Option<String>,
    /// Its fields, as the mapping says.
    pub fields: Vec<(String, String)>,
    /// The part it belongs to (an index into the flow's parts): a pièce's
    /// bordereau, a bordereau's flow, a pièce justificative's pièce.
    pub parent: Option<usize>,
    /// How it is linked to its parent.
    pub link: &'static str,
    /// A bordereau's signature, as found (checked later).
    pub signature: Option<SignatureFound>,
}

/// A bordereau's signature as found in the flow, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureFound {
    /// The signature element's `Id`, if it has one.
    pub id: Option<String>,
    /// Its place among the flow's XML signatures, in document order (from 1).
    pub position: usize,
    /// Its `SignatureMethod` (an algorithm URI).
    pub method: String,
    /// The signing certificate (DER), from `KeyInfo/X509Data`.
    pub certificate: Option<Vec<u8>>,
    /// XAdES `SigningTime`, as written.
    pub signed_at: Option<String>,
    /// XAdES signature policy: its identifier and description.
    pub policy: Option<(String, String)>,
    /// XAdES claimed role.
    pub role: Option<String>,
    /// XAdES `SigningCertificate`: digest algorithm URI and base64 value.
    pub certificate_digest: Option<(String, String)>,
}

/// Whether a signature held when it was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every reference and the signature value check out.
    Valid,
    /// Something signed was changed, or the value does not match.
    Invalid,
    /// It could not be checked (the verifier is missing or failed).
    Unchecked,
}

/// What checking a signature found: kept as the record's fields, sealed
/// with its deposit. The archived bytes are never changed by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureReport {
    /// The verdict on the signature itself.
    pub verdict: Verdict,
    /// Why it is invalid or unchecked, in French.
    pub reason: Option<String>,
    /// Who signed: the certificate's subject.
    pub signer: Option<String>,
    /// The certificate: issuer, serial number, validity.
    pub certificate: Option<String>,
    /// When, as the signature says (`15/11/2015 à 16:15:19 UTC`).
    pub signed_at: Option<String>,
    /// The algorithm, in short (`RSA-SHA1`).
    pub algorithm: String,
    /// A warning: an old algorithm, accepted for a signature of its time.
    pub warning: Option<String>,
    /// The signature policy named.
    pub policy: Option<String>,
    /// The role the signer claimed.
    pub role: Option<String>,
    /// Whether the XAdES signing-certificate digest names this certificate.
    pub certificate_named: Option<bool>,
    /// Whether the certificate chains to an authority trusted here, and
    /// at which date; `None` when no authority is configured.
    pub chain: Option<String>,
}

impl SignatureReport {
    /// A signature that could not be checked, and why.
    pub fn unchecked(reason: String) -> Self {
        SignatureReport {
            verdict: Verdict::Unchecked,
            reason: Some(reason),
            signer: None,
            certificate: None,
            signed_at: None,
            algorithm: "inconnu".to_owned(),
            warning: None,
            policy: None,
            role: None,
            certificate_named: None,
            chain: None,
        }
    }

    /// The report as record fields (`signature`, `signataire`, …).
    pub fn fields(&self) -> Vec<(String, String)> {
        let mut out = vec![(
            "signature".to_owned(),
            match self.verdict {
                Verdict::Valid => "valide",
                Verdict::Invalid => "invalide",
                Verdict::Unchecked => "non vérifiée",
            }
            .to_owned(),
        )];
        let mut put = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                out.push((name.to_owned(), v.clone()));
            }
        };
        put("signature_motif", &self.reason);
        put("signataire", &self.signer);
        put("signature_certificat", &self.certificate);
        put("signature_date", &self.signed_at);
        put("signature_alerte", &self.warning);
        put("signature_politique", &self.policy);
        put("signature_role", &self.role);
        put("signature_chaine", &self.chain);
        out.push(("signature_algorithme".to_owned(), self.algorithm.clone()));
        if let Some(named) = self.certificate_named {
            out.push((
                "signature_certificat_xades".to_owned(),
                if named {
                    "le certificat est bien celui que la signature désigne"
                } else {
                    "le certificat n'est pas celui que la signature désigne"
                }
                .to_owned(),
            ));
        }
        out
    }
}

/// Whether a field name is one the archive writes itself from a signature
/// check (`signature`, `signataire`, `signature_*`, with a `_2` for a
/// second signature): no depositor and no change may set it, so that what
/// a record says of its signatures is always the archive's own finding.
pub fn is_report_field(name: &str) -> bool {
    name == "signature" || name.starts_with("signature_") || name.starts_with("signataire")
}

/// The fields of several reports: the first's as [`SignatureReport::fields`]
/// names them, the next ones' with `_2`, `_3`… after each name.
pub fn report_fields(reports: &[SignatureReport]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        for (name, value) in report.fields() {
            let name = if i == 0 { name } else { format!("{name}_{}", i + 1) };
            out.push((name, value));
        }
    }
    out
}

/// A signature algorithm URI in short, and whether it is an old one
/// (SHA-1, MD5), accepted for signatures of their time and flagged.
pub fn algorithm_name(uri: &str) -> (String, bool) {
    let name = uri.rsplit(['#', '/']).next().unwrap_or(uri);
    let short = name.to_ascii_uppercase();
    let weak = short.contains("SHA1") || short.contains("MD5");
    let short = match short.as_str() {
        "RSA-SHA1" | "RSA-SHA256" | "RSA-SHA384" | "RSA-SHA512" | "ECDSA-SHA256" | "ECDSA-SHA384" => short,
        "" => "inconnu".to_owned(),
        other => other.to_owned(),
    };
    (short, weak)
}

/// What an acknowledgement says of the flow it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcknowledgementState {
    /// The acknowledged flow's file name (`NomFic`).
    pub flow_name: String,
    /// Whether every element was accepted.
    pub accepted: bool,
    /// The anomalies given for what was refused: (code, label).
    pub reasons: Vec<(String, String)>,
}

/// A flow split into parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFlow {
    /// The parts, the flow (or the acknowledgement) first.
    pub parts: Vec<Part>,
    /// For an acknowledgement, what it says.
    pub acknowledgement: Option<AcknowledgementState>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_steps_parents_attributes_and_sums() {
        let p = FieldPath::parse("BlocBordereau/Exer/@V").expect("a path");
        assert_eq!(p.steps, ["BlocBordereau", "Exer"]);
        assert_eq!(p.attribute.as_deref(), Some("V"));
        assert!(!p.sum);
        let s = FieldPath::parse("sum(LigneDePiece/BlocLignePiece/InfoLignePce/MtHT/@V)").expect("a sum");
        assert!(s.sum);
        assert_eq!(s.to_string(), "sum(LigneDePiece/BlocLignePiece/InfoLignePce/MtHT/@V)");
        let up = FieldPath::parse("../BlocBordereau/IdBord/@V").expect("a parent");
        assert_eq!(up.steps[0], "..");
        assert!(FieldPath::parse("Contenu/Fichier").is_ok());
    }

    #[test]
    fn bad_paths_say_how_to_write_them() {
        for (bad, said) in [
            ("", "vide"),
            ("@V/Exer", "finir le chemin"),
            ("Bloc Bordereau/@V", "n'est pas un nom"),
            ("Exer/..", "pas par « .. »"),
            ("sum()", "vide"),
        ] {
            let e = FieldPath::parse(bad).expect_err(bad);
            assert!(e.contains(said), "{bad}: {e}");
        }
    }

    #[test]
    fn a_part_mapping_names_only_its_own_fields_in_its_title() {
        let raw = RawPartMapping {
            node: "FIN-MAN".into(),
            document_type: Some("mandat".into()),
            title: "Mandat n° {numero_piece} – {objet}".into(),
            date: None,
            fields: vec![
                ("numero_piece".into(), "BlocPiece/InfoPce/IdPce/@V".into()),
                ("objet".into(), "BlocPiece/InfoPce/Obj/@V".into()),
            ],
        };
        let mapping = check_part(PartKind::Mandate, raw.clone()).expect("a mapping");
        assert_eq!(
            mapping.title_for(&[
                ("numero_piece".into(), "153".into()),
                ("objet".into(), "FORFAIT".into())
            ]),
            "Mandat n° 153 – FORFAIT"
        );
        assert_eq!(
            mapping.title_for(&[("numero_piece".into(), "153".into())]),
            "Mandat n° 153"
        );
        let wrong = RawPartMapping {
            title: "Mandat {numero}".into(),
            fields: vec![("numéro pièce".into(), "@V".into())],
            node: "fin man".into(),
            ..raw
        };
        let problems = check_part(PartKind::Mandate, wrong).expect_err("three problems");
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert!(paths.contains(&"mandat.node"), "{problems:?}");
        assert!(paths.contains(&"mandat.fields.numéro pièce"), "{problems:?}");
        assert!(paths.contains(&"mandat.title"), "{problems:?}");
    }

    #[test]
    fn report_fields_are_reserved_and_numbered_after_the_first() {
        let report = SignatureReport {
            verdict: Verdict::Valid,
            reason: None,
            signer: Some("A".into()),
            certificate: None,
            signed_at: None,
            algorithm: "RSA-SHA256".into(),
            warning: None,
            policy: None,
            role: None,
            certificate_named: None,
            chain: None,
        };
        let fields = report_fields(&[report.clone(), report]);
        let names: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "signature",
                "signataire",
                "signature_algorithme",
                "signature_2",
                "signataire_2",
                "signature_algorithme_2"
            ]
        );
        assert!(fields.iter().all(|(n, _)| is_report_field(n)));
        for free in ["fournisseur", "signatures", "signe_par", "montant"] {
            assert!(!is_report_field(free), "{free}");
        }
    }

    #[test]
    fn algorithms_are_named_short_and_old_ones_flagged() {
        assert_eq!(
            algorithm_name("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
            ("RSA-SHA1".to_owned(), true)
        );
        assert_eq!(
            algorithm_name("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
            ("RSA-SHA256".to_owned(), false)
        );
    }

    #[test]
    fn a_report_becomes_french_fields() {
        let report = SignatureReport {
            verdict: Verdict::Invalid,
            reason: Some("le bordereau a changé depuis sa signature".into()),
            signer: Some("Marie Dupont".into()),
            certificate: None,
            signed_at: None,
            algorithm: "RSA-SHA1".into(),
            warning: Some("algorithme ancien".into()),
            policy: None,
            role: None,
            certificate_named: Some(false),
            chain: None,
        };
        let fields = report.fields();
        assert_eq!(fields[0], ("signature".into(), "invalide".into()));
        assert!(fields.contains(&(
            "signature_motif".into(),
            "le bordereau a changé depuis sa signature".into()
        )));
        assert!(fields.contains(&("signature_algorithme".into(), "RSA-SHA1".into())));
        assert!(
            fields
                .iter()
                .any(|(n, v)| n == "signature_certificat_xades" && v.contains("n'est pas"))
        );
    }

    #[test]
    fn kinds_are_named_by_their_table() {
        for kind in PartKind::ALL {
            assert_eq!(PartKind::from_key(kind.key()), Some(kind));
        }
        assert_eq!(PartKind::from_key("bordereau"), None);
    }
}
