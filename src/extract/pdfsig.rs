//! Checking the signatures of a PDF (PAdES, or the older adbe.pkcs7
//! kinds) with poppler's `pdfsig`, in a limited process, over the file as
//! deposited: for each signature, whether it still covers the bytes it
//! signed, who signed, when, with which algorithm, whether it covers the
//! whole document, and what poppler says of the certificate. Nothing is
//! ever written into the file.

use super::process::run_limited;
use crate::domain::pes::{SignatureReport, Verdict};
use std::io::Read;
use std::path::Path;

/// Seconds checking one PDF's signatures may take.
const TIME_LIMIT_SECS: u32 = 60;
/// The most pdfsig output read.
const OUTPUT_MAX: u64 = 1024 * 1024;
/// The most signatures of one PDF reported.
pub const SIGNATURES_MAX: usize = 8;

/// Whether a PDF read from `source` holds a signature dictionary (its
/// `/ByteRange`), read in pieces: only such a PDF is handed to `pdfsig`.
pub fn has_signature(source: &mut dyn Read) -> std::io::Result<bool> {
    const NEEDLE: &[u8] = b"/ByteRange";
    let mut buffer = vec![0u8; 64 * 1024];
    let mut carried = 0usize;
    loop {
        let n = source.read(&mut buffer[carried..])?;
        if n == 0 {
            return Ok(false);
        }
        let filled = carried + n;
        if buffer[..filled].windows(NEEDLE.len()).any(|w| w == NEEDLE) {
            return Ok(true);
        }
        // Keep the tail, in case the word straddles two reads.
        carried = (NEEDLE.len() - 1).min(filled);
        buffer.copy_within(filled - carried..filled, 0);
    }
}

/// The reports of the signatures of the PDF at `path`; none when it has
/// none; an error when `pdfsig` could not run or read it.
pub fn verify(path: &Path) -> Result<Vec<SignatureReport>, String> {
    let path = path.to_string_lossy();
    let output = match run_limited("pdfsig", &[path.as_ref()], &[], TIME_LIMIT_SECS, OUTPUT_MAX, None) {
        Ok(output) => output,
        // pdfsig's exit code 2: the file holds no signature.
        Err(e) if e.contains("exit code 2") => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(read_report(&String::from_utf8_lossy(&output)))
}

/// Reads pdfsig's report: one `Signature #n:` block per signature, each a
/// list of `  - Key: value` lines.
pub fn read_report(text: &str) -> Vec<SignatureReport> {
    let mut blocks: Vec<Vec<(String, String)>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("Signature #") {
            blocks.push(Vec::new());
            continue;
        }
        let Some(block) = blocks.last_mut() else { continue };
        let item = line.trim_start().strip_prefix("- ").unwrap_or("").trim();
        if item.is_empty() {
            continue;
        }
        match item.split_once(": ") {
            Some((key, value)) => block.push((key.trim().to_owned(), value.trim().to_owned())),
            None => block.push((item.to_owned(), String::new())),
        }
    }
    blocks.into_iter().take(SIGNATURES_MAX).map(|b| report_of(&b)).collect()
}

fn report_of(block: &[(String, String)]) -> SignatureReport {
    let get = |key: &str| block.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let validation = get("Signature Validation").unwrap_or("");
    let (verdict, reason) = match validation {
        "Signature is Valid." => (Verdict::Valid, None),
        "Digest Mismatch." => (
            Verdict::Invalid,
            Some(
                "le document a changé depuis la signature : l'empreinte des octets signés ne correspond plus"
                    .to_owned(),
            ),
        ),
        "Signature is Invalid." => (
            Verdict::Invalid,
            Some("la valeur de la signature ne correspond pas à ce qui est signé".to_owned()),
        ),
        "Document isn't signed or corrupted data." => (
            Verdict::Invalid,
            Some("la signature est illisible, ou ses données abîmées".to_owned()),
        ),
        "" => (
            Verdict::Unchecked,
            Some("pdfsig n'a rien dit de cette signature".to_owned()),
        ),
        other => (
            Verdict::Unchecked,
            Some(format!("la signature n'a pas pu être vérifiée ({other})")),
        ),
    };
    let whole = block.iter().any(|(k, _)| k == "Total document signed");
    let partial = block.iter().any(|(k, _)| k == "Not total document signed");
    let hash = get("Signing Hash Algorithm").unwrap_or("");
    let kind = get("Signature Type").unwrap_or("");
    let weak = hash.eq_ignore_ascii_case("SHA1") || hash.eq_ignore_ascii_case("MD5");
    let mut warnings = Vec::new();
    if weak {
        warnings.push(format!(
            "algorithme ancien ({hash}), accepté pour une signature faite quand il était admis ; sa force ne vaut plus celle d'un algorithme actuel"
        ));
    }
    if partial && !whole {
        warnings.push(
            "la signature ne couvre pas tout le fichier : des octets ont été ajoutés après elle (une autre signature, une annotation, ou une modification)"
                .to_owned(),
        );
    }
    let signer = match (
        get("Signer Certificate Common Name"),
        get("Signer full Distinguished Name"),
    ) {
        (Some(cn), Some(dn)) => Some(organisation_of(dn).map_or(cn.to_owned(), |o| format!("{cn}, {o}"))),
        (Some(cn), None) => Some(cn.to_owned()),
        (None, Some(dn)) => Some(dn.to_owned()),
        (None, None) => None,
    };
    SignatureReport {
        verdict,
        reason,
        signer,
        certificate: get("Signer full Distinguished Name").map(|dn| format!("délivré à {dn}")),
        signed_at: get("Signing Time").map(french_time),
        algorithm: match (kind.is_empty(), hash.is_empty()) {
            (false, false) => format!("{hash} ({kind})"),
            (true, false) => hash.to_owned(),
            (false, true) => kind.to_owned(),
            (true, true) => "inconnu".to_owned(),
        },
        warning: (!warnings.is_empty()).then(|| warnings.join(" ; ")),
        policy: None,
        role: None,
        certificate_named: None,
        chain: get("Certificate Validation").map(certificate_in_french),
    }
}

/// The `O=` of a distinguished name as pdfsig writes it.
fn organisation_of(dn: &str) -> Option<&str> {
    dn.split(',').map(str::trim).find_map(|part| part.strip_prefix("O="))
}

/// What poppler says of the signer's certificate, in French.
fn certificate_in_french(said: &str) -> String {
    match said {
        "Certificate is Trusted." => "le certificat vient d'une autorité de confiance".to_owned(),
        "Certificate issuer isn't Trusted." => {
            "l'autorité qui a délivré le certificat n'est pas reconnue ici".to_owned()
        }
        "Certificate issuer is unknown." => "l'autorité qui a délivré le certificat est inconnue ici".to_owned(),
        "Certificate has been Revoked." => "le certificat a été révoqué".to_owned(),
        "Certificate has Expired" | "Certificate has Expired." => "le certificat a expiré".to_owned(),
        "Certificate has not been verified." => "le certificat n'a pas été vérifié".to_owned(),
        other => format!("le certificat n'a pas pu être vérifié ({other})"),
    }
}

/// `Mar 15 2024 10:00:00` (pdfsig's) as `15/03/2024 à 10:00:00`.
fn french_time(text: &str) -> String {
    match chrono::NaiveDateTime::parse_from_str(text.trim(), "%b %d %Y %H:%M:%S") {
        Ok(t) => format!("{} à {}", t.format("%d/%m/%Y"), t.format("%H:%M:%S")),
        Err(_) => text.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "Digital Signature Info of: signed.pdf
Signature #1:
  - Signature Field Name: Signature1
  - Signer Certificate Common Name: Marie Dupont
  - Signer full Distinguished Name: C=FR,O=Commune de Test,CN=Marie Dupont
  - Signing Time: Mar 15 2024 10:00:00
  - Signing Hash Algorithm: SHA-256
  - Signature Type: adbe.pkcs7.detached
  - Signed Ranges: [0 - 558], [16944 - 17261]
  - Total document signed
  - Signature Validation: Signature is Valid.
  - Certificate Validation: Certificate issuer is unknown.
Signature #2:
  - Signer Certificate Common Name: Jean Martin
  - Signing Hash Algorithm: SHA1
  - Signature Type: ETSI.CAdES.detached
  - Not total document signed
  - Signature Validation: Digest Mismatch.
";

    #[test]
    fn pdfsigs_report_is_read_signature_by_signature() {
        let reports = read_report(VALID);
        assert_eq!(reports.len(), 2);
        let first = &reports[0];
        assert_eq!(first.verdict, Verdict::Valid);
        assert_eq!(first.signer.as_deref(), Some("Marie Dupont, Commune de Test"));
        assert_eq!(first.signed_at.as_deref(), Some("15/03/2024 à 10:00:00"));
        assert_eq!(first.algorithm, "SHA-256 (adbe.pkcs7.detached)");
        assert_eq!(first.warning, None);
        assert_eq!(
            first.chain.as_deref(),
            Some("l'autorité qui a délivré le certificat est inconnue ici")
        );
        let second = &reports[1];
        assert_eq!(second.verdict, Verdict::Invalid);
        assert!(
            second
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("a changé depuis la signature"))
        );
        let warning = second.warning.as_deref().unwrap_or_default();
        assert!(
            warning.contains("algorithme ancien (SHA1)") && warning.contains("ne couvre pas tout le fichier"),
            "{warning}"
        );
    }

    #[test]
    fn a_signature_is_looked_for_across_reads() {
        struct Dribble<'a>(&'a [u8]);
        impl Read for Dribble<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(3).min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let pdf = b"%PDF-1.7 ... << /Type /Sig /ByteRange [0 1 2 3] >> ...";
        assert!(has_signature(&mut Dribble(pdf)).expect("read"));
        assert!(!has_signature(&mut Dribble(b"%PDF-1.7 no signature here /ByteRang")).expect("read"));
        let mut big = vec![b'x'; 200_000];
        big.extend_from_slice(b"/ByteRange");
        assert!(has_signature(&mut big.as_slice()).expect("read"));
    }
}
