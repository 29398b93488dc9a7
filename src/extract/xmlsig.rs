//! Checking the XML signatures of PES bordereaux (enveloped XAdES, one per
//! bordereau), and of a whole flow when it carries one, with `xmlsec1`
//! from Debian, in a limited process, over the
//! flow's bytes as received: the references (the bordereau, the signed
//! properties) and the signature value. The signer's certificate is read
//! here (subject, issuer, validity), the XAdES signing-certificate digest
//! compared with it, and, when authorities are configured, the chain
//! checked at the signing time. Nothing is ever written into the flow.

use super::process::run_limited_ending;
use crate::domain::pes::{SignatureFound, SignatureReport, Verdict, algorithm_name};
use base64::Engine as _;
use sha2::Digest as _;
use std::path::Path;

/// Seconds one verification may take.
const TIME_LIMIT_SECS: u32 = 60;

/// The XML Signature namespace.
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// Checks the signature `found` of the flow stored at `flow` (its bytes as
/// received), against the authorities of `trusted` (a PEM file) if given.
pub fn verify(flow: &Path, found: &SignatureFound, trusted: Option<&Path>) -> SignatureReport {
    let (algorithm, weak) = algorithm_name(&found.method);
    let certificate = found.certificate.as_deref().and_then(describe_certificate);
    let mut report = SignatureReport {
        verdict: Verdict::Unchecked,
        reason: None,
        signer: certificate.as_ref().map(|c| c.subject.clone()),
        certificate: certificate.as_ref().map(|c| c.summary.clone()),
        signed_at: found.signed_at.as_deref().map(french_time),
        algorithm,
        warning: weak.then(|| {
            "algorithme ancien (SHA-1), accepté pour une signature faite quand il était admis ; \
             sa force ne vaut plus celle d'un algorithme actuel"
                .to_owned()
        }),
        policy: found
            .policy
            .as_ref()
            .map(|(id, description)| match description.is_empty() {
                true => id.clone(),
                false => format!("{description} ({id})"),
            }),
        role: found.role.clone(),
        certificate_named: match (&found.certificate, &found.certificate_digest) {
            (Some(der), Some((method, value))) => digest_of(method, der).map(|d| d == *value),
            _ => None,
        },
        chain: None,
    };
    if found.certificate.is_none() {
        report.verdict = Verdict::Invalid;
        report.reason = Some("la signature ne porte pas le certificat de son signataire (KeyInfo/X509Data)".into());
        return report;
    }
    let flow_path = flow.to_string_lossy();
    let node = format!(
        "(//*[local-name()='Signature' and namespace-uri()='{XMLDSIG}'])[{}]",
        found.position
    );
    let mut args = vec![
        "--verify",
        // The flow itself (a signature of the whole flow names its Id).
        "--id-attr:Id",
        "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller:PES_Aller",
        "--id-attr:Id",
        "Bordereau",
        "--id-attr:Id",
        "SignedProperties",
        "--enabled-key-data",
        "x509",
        "--node-xpath",
        &node,
    ];
    let mut checked = args.clone();
    checked.extend(["--insecure", flow_path.as_ref()]);
    match run_limited_ending("xmlsec1", &checked, TIME_LIMIT_SECS) {
        Ok(ended) if ended.code == 0 => report.verdict = Verdict::Valid,
        Ok(ended) => {
            report.verdict = Verdict::Invalid;
            report.reason = Some(reason(&ended.errors));
        }
        Err(e) => {
            report.reason = Some(format!("la vérification n'a pas pu se faire : {e}"));
            return report;
        }
    }
    if let Some(trusted) = trusted {
        let trusted = trusted.to_string_lossy().into_owned();
        let at = found.signed_at.as_deref().and_then(verification_time);
        args.extend(["--trusted-pem", &trusted]);
        if let Some(at) = &at {
            args.extend(["--verification-time", at]);
        }
        args.push(flow_path.as_ref());
        let when = match &at {
            Some(_) => "à la date de la signature",
            None => "aujourd'hui (la signature ne dit pas sa date)",
        };
        report.chain = Some(match run_limited_ending("xmlsec1", &args, TIME_LIMIT_SECS) {
            Ok(ended) if ended.code == 0 => {
                format!("le certificat vient d'une autorité de confiance et était valable {when}")
            }
            Ok(_) => format!("le certificat ne vient pas d'une autorité de confiance, ou n'était pas valable {when}"),
            Err(e) => format!("la chaîne de certification n'a pas pu être vérifiée : {e}"),
        });
    }
    report
}

/// Why xmlsec1 refused, in French.
fn reason(errors: &str) -> String {
    if errors.contains("data and digest do not match") {
        "ce qui est signé a changé depuis la signature : l'empreinte d'une référence ne correspond plus".into()
    } else if errors.contains("signature do not match") || errors.contains("signature verification failed") {
        "la valeur de la signature ne correspond pas à ce qui est signé".into()
    } else if errors.contains("failed to find") || errors.contains("node with id") {
        "la signature désigne un élément introuvable dans le flux".into()
    } else {
        let detail = errors
            .lines()
            .find(|l| l.starts_with("Error:"))
            .map(|l| l.trim_start_matches("Error:").trim().to_owned())
            .unwrap_or_else(|| "sans détail".into());
        format!("la signature ne se vérifie pas ({detail})")
    }
}

/// The digest a XAdES `CertDigest` names a certificate by, in base64.
fn digest_of(method: &str, der: &[u8]) -> Option<String> {
    let engine = base64::engine::general_purpose::STANDARD;
    match method.rsplit('#').next()? {
        "sha1" => Some(engine.encode(&<sha1::Sha1 as sha1::Digest>::digest(der)[..])),
        "sha256" => Some(engine.encode(sha2::Sha256::digest(der))),
        "sha384" => Some(engine.encode(sha2::Sha384::digest(der))),
        "sha512" => Some(engine.encode(sha2::Sha512::digest(der))),
        _ => None,
    }
}

/// A certificate in words.
struct Described {
    subject: String,
    summary: String,
}

/// Who a certificate names and what it is.
fn describe_certificate(der: &[u8]) -> Option<Described> {
    let (_, certificate) = x509_parser::parse_x509_certificate(der).ok()?;
    let name = |n: &x509_parser::x509::X509Name<'_>| {
        let common: Vec<String> = n
            .iter_common_name()
            .chain(n.iter_organization())
            .filter_map(|a| a.as_str().ok().map(str::to_owned))
            .collect();
        if common.is_empty() {
            n.to_string()
        } else {
            common.join(", ")
        }
    };
    let subject = name(certificate.subject());
    let validity = certificate.validity();
    let day = |t: &x509_parser::time::ASN1Time| {
        chrono::DateTime::from_timestamp(t.timestamp(), 0)
            .map(|d| d.format("%d/%m/%Y").to_string())
            .unwrap_or_default()
    };
    let summary = format!(
        "émis par {} sous le n° {}, valable du {} au {}",
        name(certificate.issuer()),
        certificate.raw_serial_as_string().replace(':', ""),
        day(&validity.not_before),
        day(&validity.not_after)
    );
    Some(Described { subject, summary })
}

/// `2015-11-25T16:15:19Z` as `25/11/2015 à 16:15:19 UTC`.
fn french_time(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text.trim()) {
        Ok(t) => {
            let utc = t.with_timezone(&chrono::Utc);
            format!("{} à {} UTC", utc.format("%d/%m/%Y"), utc.format("%H:%M:%S"))
        }
        Err(_) => text.trim().to_owned(),
    }
}

/// The signing time as xmlsec1's `--verification-time` wants it.
fn verification_time(text: &str) -> Option<String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xmlsec1s_refusals_are_said_in_french() {
        assert!(reason("func=...:data and digest do not match\nFAIL").contains("a changé depuis la signature"));
        assert!(reason("Error: failed to verify file \"x\"").contains("failed to verify file"));
    }

    #[test]
    fn times_are_french_and_verifiable() {
        assert_eq!(french_time("2015-11-25T16:15:19Z"), "25/11/2015 à 16:15:19 UTC");
        assert_eq!(
            verification_time("2015-11-25T17:15:19+01:00").as_deref(),
            Some("2015-11-25 16:15:19")
        );
        assert_eq!(french_time("hier"), "hier");
    }

    #[test]
    fn a_real_certificate_is_described() {
        // The signer's certificate of S²LOW's signed bordereau of 2015.
        let flow = include_str!("../../tests/data/pes/signature_bordereau.xml");
        let start = flow.find("<ds:X509Certificate>").expect("a certificate") + "<ds:X509Certificate>".len();
        let end = flow.find("</ds:X509Certificate>").expect("its end");
        let encoded: String = flow[start..end].chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .expect("base64");
        let described = describe_certificate(&der).expect("readable");
        assert_eq!(described.subject, "demo-u, ADULLACT");
        assert!(
            described.summary.contains("AC ADULLACT Projet g2")
                && described.summary.contains("valable du 03/11/2011 au 01/11/2016"),
            "{}",
            described.summary
        );
        assert_eq!(
            digest_of("http://www.w3.org/2000/09/xmldsig#sha1", &der).as_deref(),
            Some("Szt6ben5dLhpuRFbrXoWKkNHxps="),
            "the digest its XAdES SigningCertificate names it by"
        );
    }
}
