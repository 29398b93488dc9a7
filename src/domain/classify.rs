//! Automatic classification: rules of the plan that propose a node for a
//! deposit that names none, and fill its fields, from what is known at
//! deposit: the file name, the media type, the extracted text (regular
//! expressions whose named groups capture field values) and a structured
//! invoice (UBL, or the CII XML of a Factur-X / ZUGFeRD PDF).
//!
//! Pure: the evidence comes in, a proposal (or the candidates) comes out.
//! The first rule whose every condition holds wins.

use super::record::NodeCode;
use chrono::NaiveDate;
use regex::Regex;
use std::collections::BTreeMap;

/// What a structured invoice says, whatever its syntax.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvoiceFacts {
    /// `UBL` or `CII`.
    pub syntax: String,
    /// The invoice number.
    pub number: Option<String>,
    /// Its issue date.
    pub issue_date: Option<NaiveDate>,
    /// The seller's name.
    pub supplier: Option<String>,
    /// The buyer's name.
    pub buyer: Option<String>,
    /// The total with taxes (grand total), as an exact decimal.
    pub total: Option<String>,
    /// The total without taxes.
    pub total_without_tax: Option<String>,
    /// ISO 4217 currency code.
    pub currency: Option<String>,
}

/// The values an invoice rule may map to fields.
pub const INVOICE_KEYS: &[&str] = &[
    "supplier",
    "buyer",
    "number",
    "date",
    "total",
    "total_without_tax",
    "currency",
];

impl InvoiceFacts {
    /// The value of one of [`INVOICE_KEYS`].
    pub fn value(&self, key: &str) -> Option<String> {
        match key {
            "supplier" => self.supplier.clone(),
            "buyer" => self.buyer.clone(),
            "number" => self.number.clone(),
            "date" => self.issue_date.map(|d| d.format("%Y-%m-%d").to_string()),
            "total" => self.total.clone(),
            "total_without_tax" => self.total_without_tax.clone(),
            "currency" => self.currency.clone(),
            _ => None,
        }
    }
}

/// One classification rule.
#[derive(Debug, Clone)]
pub struct ClassificationRule {
    /// A name for people (and the journal: the record says which rule
    /// classified it).
    pub name: String,
    /// The node it proposes.
    pub node: NodeCode,
    /// A pattern the original file name must match.
    pub filename: Option<Regex>,
    /// The media type the content must have: exact, or `type/*`.
    pub media_type: Option<String>,
    /// A pattern the extracted text must match; its named groups fill the
    /// fields of the same names.
    pub text: Option<Regex>,
    /// The content must be a structured invoice.
    pub invoice: bool,
    /// Fields filled from the invoice: field name → one of [`INVOICE_KEYS`].
    pub invoice_fields: BTreeMap<String, String>,
}

/// Rules are equal when they say the same (their patterns as written).
impl PartialEq for ClassificationRule {
    fn eq(&self, other: &Self) -> bool {
        let pattern = |r: &Option<Regex>| r.as_ref().map(|r| r.as_str().to_owned());
        self.name == other.name
            && self.node == other.node
            && pattern(&self.filename) == pattern(&other.filename)
            && self.media_type == other.media_type
            && pattern(&self.text) == pattern(&other.text)
            && self.invoice == other.invoice
            && self.invoice_fields == other.invoice_fields
    }
}

impl Eq for ClassificationRule {}

/// What is known of a deposit when it is classified.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    /// The original file name.
    pub filename: Option<&'a str>,
    /// The sniffed media type.
    pub media_type: &'a str,
    /// The extracted text, if the rules need it and it could be had.
    pub text: Option<&'a str>,
    /// The structured invoice the content is or holds, if any.
    pub invoice: Option<&'a InvoiceFacts>,
}

/// A rule's proposal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The rule's name.
    pub rule: String,
    /// The node.
    pub node: NodeCode,
    /// Fields found (text captures, invoice values).
    pub fields: BTreeMap<String, String>,
    /// The document's date, when an invoice gives it.
    pub date: Option<NaiveDate>,
}

/// How a rule fares against the evidence.
enum Fit {
    /// Every condition holds.
    Match(Proposal),
    /// Some hold, not all: its node is a candidate.
    Partial,
    /// None holds.
    Miss,
}

fn media_type_matches(pattern: &str, media_type: &str) -> bool {
    let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let pattern = pattern.trim().to_ascii_lowercase();
    match pattern.strip_suffix("/*") {
        Some(kind) => essence.split('/').next() == Some(kind),
        None => essence == pattern,
    }
}

impl ClassificationRule {
    fn fit(&self, evidence: &Evidence<'_>) -> Fit {
        let mut held = 0;
        let mut failed = 0;
        let mut count = |ok: bool| if ok { held += 1 } else { failed += 1 };
        if let Some(pattern) = &self.filename {
            count(evidence.filename.is_some_and(|f| pattern.is_match(f)));
        }
        if let Some(pattern) = &self.media_type {
            count(media_type_matches(pattern, evidence.media_type));
        }
        let captures = self
            .text
            .as_ref()
            .map(|pattern| evidence.text.and_then(|t| pattern.captures(t)));
        if let Some(found) = &captures {
            count(found.is_some());
        }
        if self.invoice {
            count(evidence.invoice.is_some());
        }
        if failed > 0 {
            return if held > 0 { Fit::Partial } else { Fit::Miss };
        }
        let mut fields = BTreeMap::new();
        if let (Some(pattern), Some(Some(found))) = (&self.text, &captures) {
            for name in pattern.capture_names().flatten() {
                if let Some(m) = found.name(name) {
                    let value = m.as_str().trim();
                    if !value.is_empty() {
                        fields.insert(name.to_owned(), value.to_owned());
                    }
                }
            }
        }
        let mut date = None;
        if let Some(invoice) = evidence.invoice.filter(|_| self.invoice) {
            for (field, key) in &self.invoice_fields {
                if let Some(value) = invoice.value(key) {
                    fields.insert(field.clone(), value);
                }
            }
            date = invoice.issue_date;
        }
        Fit::Match(Proposal {
            rule: self.name.clone(),
            node: self.node.clone(),
            fields,
            date,
        })
    }
}

/// The first rule that fits the evidence; otherwise the candidate nodes:
/// those of rules that partly fit, in rule order, without repeats.
pub fn classify(rules: &[ClassificationRule], evidence: &Evidence<'_>) -> Result<Proposal, Vec<NodeCode>> {
    let mut candidates: Vec<NodeCode> = Vec::new();
    for rule in rules {
        match rule.fit(evidence) {
            Fit::Match(proposal) => return Ok(proposal),
            Fit::Partial if !candidates.contains(&rule.node) => candidates.push(rule.node.clone()),
            Fit::Partial | Fit::Miss => {}
        }
    }
    Err(candidates)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rule(name: &str, node: &str) -> ClassificationRule {
        ClassificationRule {
            name: name.into(),
            node: NodeCode::parse(node).unwrap(),
            filename: None,
            media_type: None,
            text: None,
            invoice: false,
            invoice_fields: BTreeMap::new(),
        }
    }

    fn evidence<'a>(filename: &'a str, media_type: &'a str, text: Option<&'a str>) -> Evidence<'a> {
        Evidence {
            filename: Some(filename),
            media_type,
            text,
            invoice: None,
        }
    }

    #[test]
    fn invoices_fill_fields_and_the_date() {
        let mut r = rule("factures", "FIN-FAC");
        r.invoice = true;
        r.invoice_fields = BTreeMap::from([
            ("fournisseur".to_owned(), "supplier".to_owned()),
            ("montant_ttc".to_owned(), "total".to_owned()),
        ]);
        let invoice = InvoiceFacts {
            syntax: "CII".into(),
            supplier: Some("Papeterie Dupont".into()),
            total: Some("480.00".into()),
            issue_date: NaiveDate::from_ymd_opt(2025, 3, 14),
            ..InvoiceFacts::default()
        };
        let e = Evidence {
            invoice: Some(&invoice),
            ..evidence("f.pdf", "application/pdf", None)
        };
        let p = classify(std::slice::from_ref(&r), &e).unwrap();
        assert_eq!(p.node.as_str(), "FIN-FAC");
        assert_eq!(p.fields["fournisseur"], "Papeterie Dupont");
        assert_eq!(p.fields["montant_ttc"], "480.00");
        assert_eq!(p.date, NaiveDate::from_ymd_opt(2025, 3, 14));
        let none = evidence("f.pdf", "application/pdf", None);
        assert_eq!(classify(&[r], &none), Err(vec![]));
    }

    #[test]
    fn text_captures_fill_fields_and_partial_fits_are_candidates() {
        let mut deliberation = rule("délibérations", "ADM-DEL");
        deliberation.media_type = Some("text/*".into());
        deliberation.text = Some(Regex::new(r"(?i)délibération\s+n°\s*(?P<numero>[0-9-]+)").unwrap());
        let mut arrete = rule("arrêtés", "ADM-ARR");
        arrete.filename = Some(Regex::new(r"(?i)^arr[eê]t[eé]").unwrap());
        let rules = [deliberation, arrete];
        let p = classify(
            &rules,
            &evidence(
                "d.txt",
                "text/plain; charset=utf-8",
                Some("DÉLIBÉRATION n° 2025-12 du conseil"),
            ),
        )
        .unwrap();
        assert_eq!((p.node.as_str(), p.fields["numero"].as_str()), ("ADM-DEL", "2025-12"));
        let p = classify(&rules, &evidence("Arrêté 12.pdf", "application/pdf", None)).unwrap();
        assert_eq!(p.node.as_str(), "ADM-ARR");
        let refused = classify(&rules, &evidence("note.txt", "text/plain", Some("une note"))).unwrap_err();
        assert_eq!(refused, vec![NodeCode::parse("ADM-DEL").unwrap()]);
    }

    proptest! {
        /// A rule on the media type alone fits exactly the deposits of that
        /// type, and the first fitting rule wins whatever follows it.
        #[test]
        fn media_type_rules_fit_exactly_and_the_first_wins(
            kind in "[a-z]{1,8}", sub in "[a-z]{1,8}", other in "[a-z]{1,8}", name in "\\PC{0,40}",
        ) {
            let mut first = rule("first", "A");
            first.media_type = Some(format!("{kind}/{sub}"));
            let mut second = rule("second", "B");
            second.media_type = Some(format!("{kind}/*"));
            let rules = [first, second];
            let exact = format!("{kind}/{sub}");
            let p = classify(&rules, &evidence(&name, &exact, None)).unwrap();
            prop_assert_eq!(p.node.as_str(), "A");
            let sibling = format!("{kind}/{sub}{other}");
            let p = classify(&rules, &evidence(&name, &sibling, None)).unwrap();
            prop_assert_eq!(p.node.as_str(), "B");
            let foreign = format!("{kind}{other}/{sub}");
            prop_assert_eq!(classify(&rules, &evidence(&name, &foreign, None)), Err(vec![]));
        }
    }
}
