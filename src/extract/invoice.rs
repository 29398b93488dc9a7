//! Structured invoices: the XML of a UBL invoice, of a UN/CEFACT Cross
//! Industry Invoice (CII), or the CII a Factur-X / ZUGFeRD PDF carries as
//! its embedded `factur-x.xml` (taken out by poppler's `pdfdetach`, in a
//! limited process). Gives the supplier, the number, the issue date and the
//! totals, for automatic classification.

use super::process::run_limited;
use crate::domain::classify::InvoiceFacts;
use crate::domain::plan::FieldType;
use chrono::NaiveDate;
use quick_xml::Reader;
use quick_xml::events::Event;

/// The largest invoice XML read.
const XML_MAX: u64 = 16 * 1024 * 1024;
/// Seconds `pdfdetach` may take.
const TIME_LIMIT_SECS: u32 = 30;
/// Names the Factur-X, ZUGFeRD and XRechnung profiles give the embedded XML.
const EMBEDDED_NAMES: &[&str] = &["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml"];

/// Where each value sits, as paths of local element names from the root.
struct Syntax {
    name: &'static str,
    root: &'static str,
    number: &'static [&'static str],
    date: &'static [&'static str],
    supplier: &'static [&'static str],
    buyer: &'static [&'static str],
    total: &'static [&'static str],
    total_without_tax: &'static [&'static str],
    currency: &'static [&'static str],
}

const UBL: Syntax = Syntax {
    name: "UBL",
    root: "Invoice",
    number: &["Invoice/ID"],
    date: &["Invoice/IssueDate"],
    supplier: &[
        "Invoice/AccountingSupplierParty/Party/PartyName/Name",
        "Invoice/AccountingSupplierParty/Party/PartyLegalEntity/RegistrationName",
    ],
    buyer: &[
        "Invoice/AccountingCustomerParty/Party/PartyName/Name",
        "Invoice/AccountingCustomerParty/Party/PartyLegalEntity/RegistrationName",
    ],
    total: &[
        "Invoice/LegalMonetaryTotal/TaxInclusiveAmount",
        "Invoice/LegalMonetaryTotal/PayableAmount",
    ],
    total_without_tax: &["Invoice/LegalMonetaryTotal/TaxExclusiveAmount"],
    currency: &["Invoice/DocumentCurrencyCode"],
};

const CII: Syntax = Syntax {
    name: "CII",
    root: "CrossIndustryInvoice",
    number: &["CrossIndustryInvoice/ExchangedDocument/ID"],
    date: &["CrossIndustryInvoice/ExchangedDocument/IssueDateTime/DateTimeString"],
    supplier: &[
        "CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/SellerTradeParty/Name",
    ],
    buyer: &["CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeAgreement/BuyerTradeParty/Name"],
    total: &[
        "CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/SpecifiedTradeSettlementHeaderMonetarySummation/GrandTotalAmount",
        "CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/SpecifiedTradeSettlementHeaderMonetarySummation/DuePayableAmount",
    ],
    total_without_tax: &[
        "CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/SpecifiedTradeSettlementHeaderMonetarySummation/TaxBasisTotalAmount",
    ],
    currency: &["CrossIndustryInvoice/SupplyChainTradeTransaction/ApplicableHeaderTradeSettlement/InvoiceCurrencyCode"],
};

/// Every element's text by path (the first occurrence of each path), and
/// the root's local name.
fn element_texts(xml: &[u8]) -> Option<(String, Vec<(String, String)>)> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut root = None;
    let mut found: Vec<(String, String)> = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                let name = e.local_name().as_ref().to_owned();
                root.get_or_insert_with(|| name.clone());
                path.push(name);
                text.clear();
                // Deeper than any invoice value: not an invoice worth reading.
                if path.len() > 64 {
                    return None;
                }
            }
            Ok(Event::Empty(e)) => {
                root.get_or_insert_with(|| e.local_name().as_ref().to_owned());
            }
            Ok(Event::Text(t)) => text.push_str(&t.xml10_content()),
            Ok(Event::CData(t)) => text.push_str(&t),
            Ok(Event::GeneralRef(r)) => match r.resolve_char_ref() {
                Ok(Some(c)) => text.push(c),
                _ => text.push_str(match &*r {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                }),
            },
            Ok(Event::End(_)) => {
                let joined = path.join("/");
                let value = text.trim();
                if !value.is_empty() && !found.iter().any(|(p, _)| *p == joined) {
                    found.push((joined, value.to_owned()));
                }
                text.clear();
                path.pop();
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(_) => return None,
        }
        buf.clear();
    }
    Some((root?, found))
}

/// The facts of an invoice XML (UBL or CII); `None` if it is neither.
pub fn from_xml(xml: &[u8]) -> Option<InvoiceFacts> {
    if xml.len() as u64 > XML_MAX {
        return None;
    }
    let (root, texts) = element_texts(xml)?;
    let syntax = [UBL, CII].into_iter().find(|s| s.root == root)?;
    let first = |paths: &[&str]| {
        paths
            .iter()
            .find_map(|p| texts.iter().find(|(q, _)| q == p).map(|(_, v)| v.clone()))
    };
    let amount = |paths: &[&str]| first(paths).and_then(|v| FieldType::Decimal.check(&v).ok());
    let date = first(syntax.date).and_then(|d| {
        NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(&d, "%Y%m%d"))
            .ok()
    });
    let facts = InvoiceFacts {
        syntax: syntax.name.to_owned(),
        number: first(syntax.number),
        issue_date: date,
        supplier: first(syntax.supplier),
        buyer: first(syntax.buyer),
        total: amount(syntax.total),
        total_without_tax: amount(syntax.total_without_tax),
        currency: first(syntax.currency),
    };
    // An invoice has at least its number or its total.
    (facts.number.is_some() || facts.total.is_some()).then_some(facts)
}

/// The CII XML a Factur-X / ZUGFeRD PDF embeds, if it embeds one.
pub fn embedded_xml(pdf: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("a temporary folder for pdfdetach: {e}"))?;
    std::fs::write(dir.path().join("in.pdf"), pdf).map_err(|e| format!("writing the PDF for pdfdetach: {e}"))?;
    let listing = run_limited(
        "pdfdetach",
        &["-list", "in.pdf"],
        b"",
        TIME_LIMIT_SECS,
        1024 * 1024,
        Some(dir.path()),
    )?;
    // "N embedded files", then "i: name" per file.
    let listing = String::from_utf8_lossy(&listing);
    let Some(number) = listing.lines().find_map(|line| {
        let (i, name) = line.split_once(':')?;
        let i: u32 = i.trim().parse().ok()?;
        EMBEDDED_NAMES
            .iter()
            .any(|n| n.eq_ignore_ascii_case(name.trim()))
            .then_some(i)
    }) else {
        return Ok(None);
    };
    run_limited(
        "pdfdetach",
        &["-save", &number.to_string(), "-o", "invoice.xml", "in.pdf"],
        b"",
        TIME_LIMIT_SECS,
        1024 * 1024,
        Some(dir.path()),
    )?;
    let xml = std::fs::read(dir.path().join("invoice.xml")).map_err(|e| format!("reading the embedded XML: {e}"))?;
    Ok((xml.len() as u64 <= XML_MAX).then_some(xml))
}

/// The structured invoice content of `media_type` is or holds, if any.
pub fn structured_invoice(media_type: &str, bytes: &[u8]) -> Option<InvoiceFacts> {
    let essence = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/pdf" => match embedded_xml(bytes) {
            Ok(Some(xml)) => from_xml(&xml),
            Ok(None) => None,
            Err(e) => {
                tracing::info!(error = %e, "no embedded invoice could be read");
                None
            }
        },
        "text/xml" | "application/xml" | "text/plain" => from_xml(bytes),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A UBL invoice with the given values.
    pub fn ubl(number: &str, supplier: &str, total: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>{number}</cbc:ID>
 <cbc:IssueDate>2025-03-14</cbc:IssueDate>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>{supplier}</cbc:Name></cac:PartyName></cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyName><cbc:Name>Commune de Sainte-Foy</cbc:Name></cac:PartyName></cac:Party></cac:AccountingCustomerParty>
 <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:LineExtensionAmount currencyID="EUR">1.00</cbc:LineExtensionAmount></cac:InvoiceLine>
 <cac:LegalMonetaryTotal>
  <cbc:TaxExclusiveAmount currencyID="EUR">400.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">{total}</cbc:TaxInclusiveAmount>
 </cac:LegalMonetaryTotal>
</Invoice>"#
        )
    }

    #[test]
    fn ubl_and_cii_give_the_same_facts() {
        let u = from_xml(ubl("F-2025-117", "Papeterie Dupont &amp; fils", "480.00").as_bytes()).unwrap();
        assert_eq!(u.syntax, "UBL");
        assert_eq!(u.number.as_deref(), Some("F-2025-117"));
        assert_eq!(u.supplier.as_deref(), Some("Papeterie Dupont & fils"));
        assert_eq!(u.buyer.as_deref(), Some("Commune de Sainte-Foy"));
        assert_eq!(u.total.as_deref(), Some("480.00"));
        assert_eq!(u.total_without_tax.as_deref(), Some("400.00"));
        assert_eq!(u.issue_date, NaiveDate::from_ymd_opt(2025, 3, 14));
        let cii = r#"<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>F-2025-117</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20250314</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>Papeterie Dupont &amp; fils</ram:Name></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Commune de Sainte-Foy</ram:Name></ram:BuyerTradeParty></ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>400.00</ram:TaxBasisTotalAmount>
    <ram:GrandTotalAmount>480.00</ram:GrandTotalAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"#;
        let c = from_xml(cii.as_bytes()).unwrap();
        assert_eq!(c.syntax, "CII");
        assert_eq!(
            InvoiceFacts {
                syntax: "UBL".into(),
                ..c
            },
            u
        );
        assert_eq!(from_xml(b"<html><body>facture</body></html>"), None);
        assert_eq!(from_xml(b"<Invoice><unclosed>"), None);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let _ = from_xml(&bytes);
        }

        #[test]
        fn generated_ubl_invoices_read_back(
            number in "[A-Z0-9][A-Z0-9-]{0,20}",
            supplier in "[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ0-9 ]{0,40}[A-Za-z]",
            cents in 0u64..100_000_000,
        ) {
            let total = format!("{}.{:02}", cents / 100, cents % 100);
            let facts = from_xml(ubl(&number, &supplier, &total).as_bytes()).unwrap();
            prop_assert_eq!(facts.number, Some(number));
            prop_assert_eq!(facts.supplier, Some(supplier));
            prop_assert_eq!(facts.total, Some(total));
        }
    }
}
