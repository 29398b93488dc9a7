//! TLS client configurations for the outside services coffre calls (a
//! time-stamping authority over HTTPS, a directory over LDAPS or
//! StartTLS): rustls with ring, trusting the Mozilla roots
//! (`webpki-roots`) and, when given, the operator's own CA file (PEM).

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use std::path::Path;

/// Why a CA file cannot be trusted.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CaFileError(String);

/// A client configuration trusting the Mozilla roots and every
/// certificate of the PEM file at `ca_file` when given; the error says
/// what is wrong with the file.
pub fn client_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, CaFileError> {
    let refused = |e: &dyn std::fmt::Display| CaFileError(e.to_string());
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(path) = ca_file {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).map_err(|e| refused(&e))? {
            roots.add(cert.map_err(|e| refused(&e))?).map_err(|e| refused(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(CaFileError("no certificate (PEM) in the file".into()));
        }
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| refused(&e))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
