//! BagIt 1.0 (RFC 8493): the tag files' text, manifest lines and their
//! path encoding, and a writer that hashes what passes through it.

use sha2::Digest;
use std::io::{self, Write};

/// The bag declaration.
pub const BAGIT_TXT: &str = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";

/// Encodes a path for a manifest line (RFC 8493 §2.1.3): `%`, CR and LF
/// are percent-encoded.
pub fn encode_path(path: &str) -> String {
    path.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Decodes a manifest line's path.
pub fn decode_path(path: &str) -> String {
    path.replace("%0D", "\r")
        .replace("%0d", "\r")
        .replace("%0A", "\n")
        .replace("%0a", "\n")
        .replace("%25", "%")
}

/// One manifest line: digest, two spaces, encoded path.
pub fn manifest_line(digest_hex: &str, path: &str) -> String {
    format!("{digest_hex}  {}\n", encode_path(path))
}

/// Parses a manifest's lines into (digest, path); says which line is bad.
pub fn parse_manifest(text: &str, name: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((digest, path)) = line.split_once([' ', '\t']) else {
            return Err(format!("{name} line {}: not \"digest path\"", n + 1));
        };
        let path = path.trim_start_matches([' ', '\t']);
        if digest.is_empty() || !digest.chars().all(|c| c.is_ascii_hexdigit()) || path.is_empty() {
            return Err(format!("{name} line {}: not \"digest path\"", n + 1));
        }
        out.push((digest.to_ascii_lowercase(), decode_path(path)));
    }
    Ok(out)
}

/// Parses `bag-info.txt`'s `Label: value` lines (continuation lines start
/// with white space).
pub fn parse_bag_info(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((label, value)) = line.split_once(':') {
            out.push((label.trim().to_owned(), value.trim().to_owned()));
        }
    }
    out
}

/// Writes through to `inner`, hashing with SHA-256 and SHA-512 and counting
/// bytes on the way.
pub struct HashingWriter<W> {
    inner: W,
    sha256: sha2::Sha256,
    sha512: sha2::Sha512,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            sha256: sha2::Sha256::new(),
            sha512: sha2::Sha512::new(),
            bytes: 0,
        }
    }

    /// The inner writer back, with the SHA-256 and SHA-512 (hex) and size.
    pub fn finish(self) -> (W, String, String, u64) {
        (
            self.inner,
            hex::encode(self.sha256.finalize()),
            hex::encode(self.sha512.finalize()),
            self.bytes,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sha256.update(&buf[..n]);
        self.sha512.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn manifest_paths_round_trip(path in "data/[a-zA-Z0-9 %\r\n/éà_.-]{1,40}", digest in "[0-9a-f]{64}") {
            let line = manifest_line(&digest, &path);
            prop_assert_eq!(line.matches('\n').count(), 1);
            let parsed = parse_manifest(&line, "manifest-sha256.txt");
            prop_assert_eq!(parsed, Ok(vec![(digest, path)]));
        }
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse_manifest("abc\n", "m").is_err());
        assert!(parse_manifest("zz  data/x\n", "m").is_err());
        let info = parse_bag_info("Payload-Oxum: 12.3\nSource-Organization: Commune\n  de Trifouillis\n");
        assert_eq!(info[0], ("Payload-Oxum".to_string(), "12.3".to_string()));
        assert_eq!(info[1].1, "Commune de Trifouillis");
    }
}
