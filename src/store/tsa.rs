//! A time-stamping authority reached over HTTP or HTTPS (RFC 3161 §3.4):
//! the request is POSTed as `application/timestamp-query`, the answer read
//! as `application/timestamp-reply`. The token is signed by the authority,
//! so its integrity does not rest on the transport; plain `http://` is what
//! most authorities offer, `https://` what some demand. Over HTTPS the
//! server's certificate is checked against the Mozilla roots
//! (`webpki-roots`) and, when given, the operator's own CA file.

use crate::domain::timestamp::{TimestampError, request, token_of};
use std::io::Read;
use std::time::Duration;

/// The largest reply read.
const REPLY_MAX: u64 = 1 << 20;

/// Why a time-stamp could not be had.
#[derive(Debug, thiserror::Error)]
pub enum StampError {
    /// The URL is not one this adapter can reach.
    #[error("{0:?}: the time-stamping authority's URL must start with http:// or https:// (RFC 3161 over HTTP)")]
    Url(String),
    /// The CA file given for the authority's HTTPS server cannot be used.
    #[error("{path}: {reason}")]
    Ca {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No random nonce could be drawn.
    #[error("random source: {0}")]
    Random(getrandom::Error),
    /// The authority could not be reached or read.
    #[error("{url}: {reason}")]
    Transport {
        /// The authority.
        url: String,
        /// What the transport said.
        reason: String,
    },
    /// The authority's answer is not a token over the digest asked.
    #[error("{url}: {source}")]
    Reply {
        /// The authority.
        url: String,
        /// What is wrong with the reply.
        source: TimestampError,
    },
}

/// Asks a time-stamping authority to stamp a SHA-256 digest.
pub trait TimeStamper: Send + Sync {
    /// The DER time-stamp token over `digest`.
    fn stamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, StampError>;
}

/// An authority at an `http://` or `https://` URL.
pub struct HttpTimeStamper {
    url: String,
    agent: ureq::Agent,
}

impl HttpTimeStamper {
    /// The authority at `url` (checked: `http://` or `https://`), its HTTPS
    /// server trusted through the Mozilla roots and the certificates of
    /// `ca_file` (PEM) when given.
    pub fn new(url: &str, ca_file: Option<&std::path::Path>) -> Result<Self, StampError> {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            return Err(StampError::Url(url.to_owned()));
        }
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(Duration::from_secs(10))
            .timeout(Duration::from_secs(30));
        if let Some(path) = ca_file {
            let config = super::tls::client_config(Some(path)).map_err(|e| StampError::Ca {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            builder = builder.tls_config(std::sync::Arc::new(config));
        }
        Ok(HttpTimeStamper {
            url: url.to_owned(),
            agent: builder.build(),
        })
    }
}

impl TimeStamper for HttpTimeStamper {
    fn stamp(&self, digest: &[u8; 32]) -> Result<Vec<u8>, StampError> {
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(StampError::Random)?;
        let transport = |reason: String| StampError::Transport {
            url: self.url.clone(),
            reason,
        };
        let query = request(digest, &nonce);
        let reply = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/timestamp-query")
            .send_bytes(&query)
            .map_err(|e| transport(e.to_string()))?;
        let mut body = Vec::new();
        reply
            .into_reader()
            .take(REPLY_MAX)
            .read_to_end(&mut body)
            .map_err(|e| transport(e.to_string()))?;
        token_of(&body, digest, &nonce).map_err(|source| StampError::Reply {
            url: self.url.clone(),
            source,
        })
    }
}
