//! Writing a BagIt 1.0 bag into a zip, streamed: each payload file passes
//! through a hasher on its way into the zip, so the manifests are known
//! once the last file is written, and then the tag files close the bag.
//! Memory follows the number of files, never their size.
//!
//! What goes into the bag (content, metadata, events, the SEDA manifest)
//! is the exporter's business; this writer knows only BagIt and zip.

use super::bagit::{BAGIT_TXT, HashingWriter, manifest_line};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use std::io::{self, Seek, Write};

/// A payload file as the manifests list it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadFile {
    /// Its path in the bag (`data/...`).
    pub path: String,
    /// SHA-256, hex.
    pub sha256: String,
    /// SHA-512, hex.
    pub sha512: String,
    /// Size in bytes.
    pub size: u64,
}

/// What `bag-info.txt` says of the bag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BagInfo {
    /// The organisation that made the records.
    pub source_organization: String,
    /// The day the bag was made.
    pub bagging_date: NaiveDate,
    /// The package's identifier.
    pub external_identifier: String,
    /// The sending service's identifier.
    pub internal_sender_identifier: String,
}

/// How a payload file is stored in the zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// Stored as is, zip64-ready: content, which is often compressed
    /// already and may be larger than 4 GiB.
    Stored,
    /// Deflated: small text the bag itself writes.
    Deflated,
}

/// A bag being written into a zip.
pub struct BagWriter<W: Write + Seek> {
    zip: zip::ZipWriter<W>,
    root: String,
    modified: zip::DateTime,
    payload: Vec<PayloadFile>,
}

fn zip_error(e: zip::result::ZipError) -> io::Error {
    io::Error::other(format!("writing the package: {e}"))
}

impl<W: Write + Seek> BagWriter<W> {
    /// A bag whose files sit under `root/` in the zip written to `out`,
    /// every entry dated `modified`.
    pub fn new(out: W, root: &str, modified: DateTime<Utc>) -> Self {
        let modified = zip::DateTime::from_date_and_time(
            modified.year().clamp(1980, 2107) as u16,
            modified.month() as u8,
            modified.day() as u8,
            modified.hour() as u8,
            modified.minute() as u8,
            modified.second() as u8,
        )
        .unwrap_or_default();
        BagWriter {
            zip: zip::ZipWriter::new(out),
            root: root.to_owned(),
            modified,
            payload: Vec::new(),
        }
    }

    /// Writes one entry at `path` under the root; returns its digests and size.
    fn entry(
        &mut self,
        path: &str,
        storage: Storage,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<PayloadFile> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(match storage {
                Storage::Stored => zip::CompressionMethod::Stored,
                Storage::Deflated => zip::CompressionMethod::Deflated,
            })
            .large_file(storage == Storage::Stored)
            .last_modified_time(self.modified)
            .unix_permissions(0o644);
        self.zip
            .start_file(format!("{}/{path}", self.root), options)
            .map_err(zip_error)?;
        let mut hashing = HashingWriter::new(&mut self.zip);
        write(&mut hashing)?;
        let (_, sha256, sha512, size) = hashing.finish();
        Ok(PayloadFile {
            path: path.to_owned(),
            sha256,
            sha512,
            size,
        })
    }

    /// Writes a payload file (`path` starts with `data/`), streamed through
    /// `write`; returns it as the manifests will list it.
    pub fn payload(
        &mut self,
        path: &str,
        storage: Storage,
        write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    ) -> io::Result<PayloadFile> {
        let file = self.entry(path, storage, write)?;
        self.payload.push(file.clone());
        Ok(file)
    }

    /// The payload's bytes and file count (`Payload-Oxum`).
    pub fn payload_oxum(&self) -> (u64, usize) {
        (self.payload.iter().map(|p| p.size).sum(), self.payload.len())
    }

    /// Writes the tag files (`bagit.txt`, `bag-info.txt`, both manifests,
    /// the tag manifest) and closes the zip. Returns the output and the tag
    /// manifest's text, whose digest names the whole bag.
    pub fn finish(mut self, info: &BagInfo) -> io::Result<(W, String)> {
        self.payload.sort_by(|a, b| a.path.cmp(&b.path));
        let (bytes, files) = self.payload_oxum();
        let manifest256: String = self.payload.iter().map(|p| manifest_line(&p.sha256, &p.path)).collect();
        let manifest512: String = self.payload.iter().map(|p| manifest_line(&p.sha512, &p.path)).collect();
        let bag_info = format!(
            "Source-Organization: {}\nBagging-Date: {}\nPayload-Oxum: {bytes}.{files}\nExternal-Identifier: {}\nInternal-Sender-Identifier: {}\nBag-Software-Agent: coffre {}\nBag-Count: 1 of 1\n",
            info.source_organization,
            info.bagging_date,
            info.external_identifier,
            info.internal_sender_identifier,
            env!("CARGO_PKG_VERSION")
        );
        let mut tags = Vec::new();
        for (name, text) in [
            ("bagit.txt", BAGIT_TXT.to_owned()),
            ("bag-info.txt", bag_info),
            ("manifest-sha256.txt", manifest256),
            ("manifest-sha512.txt", manifest512),
        ] {
            let file = self.entry(name, Storage::Deflated, |w| w.write_all(text.as_bytes()))?;
            tags.push(file);
        }
        let tagmanifest: String = tags.iter().map(|t| manifest_line(&t.sha256, &t.path)).collect();
        self.entry("tagmanifest-sha256.txt", Storage::Deflated, |w| {
            w.write_all(tagmanifest.as_bytes())
        })?;
        let mut out = self.zip.finish().map_err(zip_error)?;
        out.flush()?;
        Ok((out, tagmanifest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn a_bag_lists_its_payload_in_both_manifests_and_its_tags_in_the_tag_manifest() {
        let time = DateTime::parse_from_rfc3339("2026-03-15T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc);
        let mut bag = BagWriter::new(io::Cursor::new(Vec::new()), "bag", time);
        let b = bag
            .payload("data/b.txt", Storage::Stored, |w| w.write_all(b"bonjour"))
            .expect("write");
        bag.payload("data/a.txt", Storage::Deflated, |w| w.write_all(b"salut"))
            .expect("write");
        assert_eq!(b.sha256, crate::domain::hash::Sha256::of(b"bonjour").hex());
        assert_eq!(bag.payload_oxum(), (12, 2));
        let info = BagInfo {
            source_organization: "Commune".into(),
            bagging_date: time.date_naive(),
            external_identifier: "x".into(),
            internal_sender_identifier: "y".into(),
        };
        let (out, tagmanifest) = bag.finish(&info).expect("finish");
        let mut zip = zip::ZipArchive::new(io::Cursor::new(out.into_inner())).expect("a zip");
        let mut read = |name: &str| {
            let mut text = String::new();
            zip.by_name(&format!("bag/{name}"))
                .expect("entry")
                .read_to_string(&mut text)
                .expect("read");
            text
        };
        let manifest = read("manifest-sha256.txt");
        assert!(manifest.starts_with(&format!(
            "{}  data/a.txt\n",
            crate::domain::hash::Sha256::of(b"salut").hex()
        )));
        assert!(manifest.ends_with(&format!("{}  data/b.txt\n", b.sha256)));
        assert!(read("bag-info.txt").contains("Payload-Oxum: 12.2\n"));
        assert_eq!(read("tagmanifest-sha256.txt"), tagmanifest);
        assert_eq!(tagmanifest.lines().count(), 4);
        assert_eq!(read("bagit.txt"), BAGIT_TXT);
    }
}
