//! E-invoice lifecycle messages (CDV) of the French e-invoicing reform:
//! UN/CEFACT CDAR D22B (`CrossDomainAcknowledgementAndResponse`) as AFNOR
//! XP Z12-012 profiles it. Each `AcknowledgementDocument` gives the status
//! of one invoice (`ReferenceReferencedDocument`): its number
//! (`IssuerAssignedID`), its date (`FormattedIssueDateTime`), its seller
//! (`IssuerTradeParty/GlobalID`, a SIREN or SIRET), the status
//! (`ProcessConditionCode`: 200 déposée … 212 encaissée) and the reasons
//! given (`SpecifiedDocumentStatus`: `ReasonCode`, `Reason`). Elements are
//! found by their local names under the CDAR namespaces, as the XSD orders
//! them; no DTD is read.

use chrono::NaiveDate;

/// The CDAR message namespace (`rsm:`).
const RSM: &str = "urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100";

/// The most statuses one message may carry.
pub const STATUSES_MAX: usize = 1_000;

/// A file that is not a lifecycle message coffre reads, and why (French).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotALifecycleMessage(pub String);

/// One invoice's status, as the message gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceStatus {
    /// The invoice's number, as its seller gave it.
    pub invoice_number: String,
    /// The invoice's date.
    pub invoice_date: Option<NaiveDate>,
    /// The seller's identifier (SIREN or SIRET).
    pub seller: Option<String>,
    /// The status code (200 … 213, 501).
    pub code: u16,
    /// The day the status was given (the acknowledgement's date, else the
    /// message's).
    pub date: Option<NaiveDate>,
    /// The reasons given: code and text.
    pub reasons: Vec<(String, String)>,
}

/// A lifecycle message read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleMessage {
    /// Its identifier (`ExchangedDocument/ID`).
    pub id: String,
    /// When it was issued.
    pub issued: Option<NaiveDate>,
    /// The statuses it gives.
    pub statuses: Vec<InvoiceStatus>,
}

/// A CDAR date-time (`DateTimeString` of format 102 `YYYYMMDD` or 204
/// `YYYYMMDDHHMMSS`, or an ISO date) as a day.
fn day_of(text: &str) -> Option<NaiveDate> {
    let digits: String = text.trim().chars().take_while(|c| c.is_ascii_digit()).collect();
    if digits.len() >= 8 {
        return NaiveDate::parse_from_str(&digits[..8], "%Y%m%d").ok();
    }
    NaiveDate::parse_from_str(text.trim().get(..10)?, "%Y-%m-%d").ok()
}

/// The first child element named `name`.
fn child<'a, 'i>(node: roxmltree::Node<'a, 'i>, name: &str) -> Option<roxmltree::Node<'a, 'i>> {
    node.children().find(|c| c.is_element() && c.tag_name().name() == name)
}

/// The trimmed text of the element at `path` (local names) under `node`.
fn text_at(node: roxmltree::Node<'_, '_>, path: &[&str]) -> Option<String> {
    let mut at = node;
    for name in path {
        at = child(at, name)?;
    }
    // A date-time's text is in its DateTimeString child.
    let holder = child(at, "DateTimeString").unwrap_or(at);
    holder
        .text()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

/// Reads a lifecycle message.
pub fn read(bytes: &[u8]) -> Result<LifecycleMessage, NotALifecycleMessage> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        NotALifecycleMessage("un message de cycle de vie est en UTF-8 : ce fichier ne l'est pas".into())
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        ..roxmltree::ParsingOptions::default()
    };
    let document = roxmltree::Document::parse_with_options(text, options)
        .map_err(|e| NotALifecycleMessage(format!("ce n'est pas du XML lisible : {e}")))?;
    let root = document.root_element();
    if root.tag_name().name() != "CrossDomainAcknowledgementAndResponse" || root.tag_name().namespace() != Some(RSM) {
        return Err(NotALifecycleMessage(format!(
            "l'élément racine est « {} » : un message de cycle de vie (CDAR) commence par CrossDomainAcknowledgementAndResponse",
            root.tag_name().name()
        )));
    }
    let exchanged = child(root, "ExchangedDocument")
        .ok_or_else(|| NotALifecycleMessage("le message n'a pas d'ExchangedDocument".into()))?;
    let id = text_at(exchanged, &["ID"])
        .ok_or_else(|| NotALifecycleMessage("le message n'a pas d'identifiant (ExchangedDocument/ID)".into()))?;
    let issued = text_at(exchanged, &["IssueDateTime"]).and_then(|t| day_of(&t));
    let mut statuses = Vec::new();
    for acknowledgement in root
        .children()
        .filter(|c| c.is_element() && c.tag_name().name() == "AcknowledgementDocument")
    {
        let on = text_at(acknowledgement, &["IssueDateTime"])
            .and_then(|t| day_of(&t))
            .or(issued);
        for referenced in acknowledgement
            .children()
            .filter(|c| c.is_element() && c.tag_name().name() == "ReferenceReferencedDocument")
        {
            let number = text_at(referenced, &["IssuerAssignedID"]).ok_or_else(|| {
                NotALifecycleMessage("un statut ne dit pas de quelle facture (IssuerAssignedID)".into())
            })?;
            let code_text = text_at(referenced, &["ProcessConditionCode"]).ok_or_else(|| {
                NotALifecycleMessage(format!(
                    "le statut de la facture {number} n'a pas de code (ProcessConditionCode)"
                ))
            })?;
            let code = code_text
                .parse::<u16>()
                .ok()
                .filter(|c| crate::domain::circuit::invoice_status_label(*c).is_some())
                .ok_or_else(|| {
                    NotALifecycleMessage(format!(
                        "« {code_text} » n'est pas un statut du cycle de vie d'une facture (200 à 213, ou 501)"
                    ))
                })?;
            let reasons = referenced
                .children()
                .filter(|c| c.is_element() && c.tag_name().name() == "SpecifiedDocumentStatus")
                .filter_map(|s| {
                    let code = text_at(s, &["ReasonCode"]).unwrap_or_default();
                    let reason = text_at(s, &["Reason"]).unwrap_or_default();
                    (!code.is_empty() || !reason.is_empty()).then_some((code, reason))
                })
                .collect();
            statuses.push(InvoiceStatus {
                invoice_number: number,
                invoice_date: text_at(referenced, &["FormattedIssueDateTime"]).and_then(|t| day_of(&t)),
                seller: text_at(referenced, &["IssuerTradeParty", "GlobalID"]),
                code,
                date: on,
                reasons,
            });
            if statuses.len() > STATUSES_MAX {
                return Err(NotALifecycleMessage(format!(
                    "le message donne plus de {STATUSES_MAX} statuts : envoyez-les en plusieurs messages"
                )));
            }
        }
    }
    if statuses.is_empty() {
        return Err(NotALifecycleMessage(
            "le message ne donne le statut d'aucune facture (AcknowledgementDocument/ReferenceReferencedDocument)"
                .into(),
        ));
    }
    Ok(LifecycleMessage { id, issued, statuses })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A lifecycle message as the XSD orders it: the buyer suspends
    /// invoice `number` of seller SIREN 732829320 for a missing order form.
    pub(crate) fn message(number: &str, code: u16, day: &str) -> String {
        let compact = day.replace('-', "");
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossDomainAcknowledgementAndResponse xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossDomainAcknowledgementAndResponse:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100" xmlns:qdt="urn:un:unece:uncefact:data:standard:QualifiedDataType:100">
  <rsm:ExchangedDocumentContext>
    <ram:BusinessProcessSpecifiedDocumentContextParameter><ram:ID>REGULATED</ram:ID></ram:BusinessProcessSpecifiedDocumentContextParameter>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn.cpro.gouv.fr:1p0:CDV:invoice</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>CDV-{number}-{code}</ram:ID>
    <ram:Name>Statut de facture</ram:Name>
    <ram:IssueDateTime><udt:DateTimeString format="204">{compact}100000</udt:DateTimeString></ram:IssueDateTime>
    <ram:SenderTradeParty><ram:GlobalID schemeID="0002">229900001</ram:GlobalID><ram:RoleCode>BY</ram:RoleCode></ram:SenderTradeParty>
    <ram:RecipientTradeParty><ram:GlobalID schemeID="0002">732829320</ram:GlobalID><ram:RoleCode>SE</ram:RoleCode></ram:RecipientTradeParty>
  </rsm:ExchangedDocument>
  <rsm:AcknowledgementDocument>
    <ram:MultipleReferencesIndicator><udt:Indicator>false</udt:Indicator></ram:MultipleReferencesIndicator>
    <ram:TypeCode>305</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="204">{compact}100000</udt:DateTimeString></ram:IssueDateTime>
    <ram:ReferenceReferencedDocument>
      <ram:IssuerAssignedID>{number}</ram:IssuerAssignedID>
      <ram:StatusCode>43</ram:StatusCode>
      <ram:TypeCode>380</ram:TypeCode>
      <ram:FormattedIssueDateTime><qdt:DateTimeString format="102">20240301</qdt:DateTimeString></ram:FormattedIssueDateTime>
      <ram:ProcessConditionCode>{code}</ram:ProcessConditionCode>
      <ram:IssuerTradeParty><ram:GlobalID schemeID="0002">732829320</ram:GlobalID><ram:RoleCode>SE</ram:RoleCode></ram:IssuerTradeParty>
      <ram:SpecifiedDocumentStatus>
        <ram:ReasonCode>NON_CONFORME</ram:ReasonCode>
        <ram:Reason>Bon de commande absent</ram:Reason>
        <ram:SequenceNumeric>1</ram:SequenceNumeric>
      </ram:SpecifiedDocumentStatus>
    </ram:ReferenceReferencedDocument>
  </rsm:AcknowledgementDocument>
</rsm:CrossDomainAcknowledgementAndResponse>
"#
        )
    }

    #[test]
    fn a_suspension_is_read_with_its_invoice_seller_day_and_reason() {
        let read = read(message("FA-2024-0042", 208, "2024-03-12").as_bytes()).expect("a message");
        assert_eq!(read.id, "CDV-FA-2024-0042-208");
        assert_eq!(read.issued, NaiveDate::from_ymd_opt(2024, 3, 12));
        assert_eq!(
            read.statuses,
            [InvoiceStatus {
                invoice_number: "FA-2024-0042".into(),
                invoice_date: NaiveDate::from_ymd_opt(2024, 3, 1),
                seller: Some("732829320".into()),
                code: 208,
                date: NaiveDate::from_ymd_opt(2024, 3, 12),
                reasons: vec![("NON_CONFORME".into(), "Bon de commande absent".into())],
            }]
        );
    }

    #[test]
    fn what_is_not_a_lifecycle_message_is_refused_in_french() {
        let unknown_status = message("FA-1", 299, "2024-03-12");
        let cases: [(&[u8], &str); 5] = [
            (b"\xff\xfe", "UTF-8"),
            (b"<a><b></a>", "XML"),
            (b"<PES_Aller/>", "CrossDomainAcknowledgementAndResponse"),
            (b"<!DOCTYPE x [<!ENTITY e \"e\">]><x/>", "XML"),
            (unknown_status.as_bytes(), "n'est pas un statut"),
        ];
        for (bytes, said) in cases {
            let e = read(bytes).expect_err("refused");
            assert!(e.0.contains(said), "{said}: {e}");
        }
    }

    proptest::proptest! {
        /// Any bytes are read or refused, never a panic.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = read(&bytes);
        }
    }
}
