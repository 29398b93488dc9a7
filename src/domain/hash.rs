//! SHA-256 digests as a type: `sha256:<64 lowercase hex digits>` on the wire.
//!
//! The digest is computed by the `sha2` crate, which picks the SHA-NI
//! instructions at run time on x86_64 processors that have them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Digest;
use std::fmt;
use std::str::FromStr;

/// The prefix that names the algorithm in every written digest, so that a
/// later algorithm can sit beside this one in the same files.
pub const SHA256_PREFIX: &str = "sha256:";

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256([u8; 32]);

/// A digest string that is not `sha256:` followed by 64 hex digits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a sha256 digest (expected 'sha256:' and 64 hex digits): {0:?}")]
pub struct BadDigest(pub String);

impl Sha256 {
    /// The all-zero digest, used as the previous hash of the first event.
    pub const ZERO: Sha256 = Sha256([0; 32]);

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex digits, without prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits, with or without the `sha256:` prefix.
    pub fn parse(text: &str) -> Result<Self, BadDigest> {
        let digits = text.strip_prefix(SHA256_PREFIX).unwrap_or(text);
        let mut out = [0u8; 32];
        if digits.len() != 64 || hex::decode_to_slice(digits, &mut out).is_err() {
            return Err(BadDigest(text.to_owned()));
        }
        Ok(Self(out))
    }
}

/// An incremental SHA-256 computation.
#[derive(Default, Clone)]
pub struct Sha256Hasher(sha2::Sha256);

impl Sha256Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything fed.
    pub fn finish(self) -> Sha256 {
        Sha256(self.0.finalize().into())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SHA256_PREFIX}{}", self.hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Sha256 {
    type Err = BadDigest;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Sha256 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest_of_abc() {
        assert_eq!(
            Sha256::of(b"abc").to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let d = Sha256::of(b"x");
        assert_eq!(Sha256::parse(&d.to_string()), Ok(d));
        assert_eq!(Sha256::parse(&d.hex()), Ok(d));
        assert!(Sha256::parse("sha256:zz").is_err());
        assert!(Sha256::parse("").is_err());
    }

    #[test]
    fn incremental_equals_one_shot() {
        let mut h = Sha256Hasher::new();
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(h.finish(), Sha256::of(b"abc"));
    }
}
