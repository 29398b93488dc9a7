//! Reading a package zip that nobody vouches for. Every entry is checked
//! from the central directory before anything is read: names must be UTF-8,
//! relative, without `.`, `..` or empty segments, backslashes or NUL, never
//! links or devices, never twice; entries, sizes and compression ratios are
//! capped (zip bombs), encryption is refused. Reading an entry then stops
//! at its declared size, whatever the data says. Nothing is ever extracted:
//! entries are read straight from the zip by whoever needs them.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// What a package may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Entries (files and folders).
    pub max_entries: usize,
    /// Uncompressed bytes of one entry.
    pub max_entry_bytes: u64,
    /// Uncompressed bytes in all.
    pub max_total_bytes: u64,
    /// Uncompressed ÷ compressed size of an entry (beyond its first MiB).
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: 200_000,
            max_entry_bytes: 64 << 30,
            max_total_bytes: 1 << 40,
            max_ratio: 200,
        }
    }
}

/// Why a zip is refused.
#[derive(Debug, thiserror::Error)]
pub enum ZipRefused {
    /// Not a zip, or a damaged one.
    #[error("ce n'est pas un zip lisible : {0}")]
    NotAZip(String),
    /// A name that could escape or confuse a file system.
    #[error("nom d'entrée dangereux « {name} » : {why}")]
    UnsafeName {
        /// The name (lossy if not UTF-8).
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A link, device or other non-regular entry.
    #[error("l'entrée « {0} » est un lien ou un fichier spécial, qu'un paquet ne peut contenir")]
    NotAFile(String),
    /// The same name twice.
    #[error("un nom d'entrée figure deux fois{0}")]
    Duplicate(String),
    /// An encrypted entry.
    #[error("l'entrée « {0} » est chiffrée")]
    Encrypted(String),
    /// A cap was passed.
    #[error("protection contre les bombes zip : {0}")]
    TooBig(String),
    /// No `bagit.txt` at the top or in a single top folder.
    #[error("ce n'est pas un sac BagIt : pas de bagit.txt à la racine du zip ni de son dossier unique")]
    NotABag,
    /// An entry asked for is not there.
    #[error("le paquet n'a pas de {0}")]
    Missing(String),
    /// Reading failed.
    #[error("lecture de {name} : {error}")]
    Read {
        /// The entry.
        name: String,
        /// What failed.
        error: String,
    },
}

/// An entry of the bag.
#[derive(Debug, Clone, Copy)]
struct Entry {
    index: usize,
    size: u64,
}

/// A checked package zip, its paths relative to the bag's top folder.
pub struct PackageZip {
    archive: zip::ZipArchive<File>,
    files: BTreeMap<String, Entry>,
}

fn check_name(raw: &[u8]) -> Result<String, ZipRefused> {
    let lossy = || String::from_utf8_lossy(raw).into_owned();
    let name = std::str::from_utf8(raw).map_err(|_| ZipRefused::UnsafeName {
        name: lossy(),
        why: "pas en UTF-8 valide",
    })?;
    let refuse = |why| {
        Err(ZipRefused::UnsafeName {
            name: name.to_owned(),
            why,
        })
    };
    if name.is_empty() {
        return refuse("vide");
    }
    if name.contains('\0') {
        return refuse("contient NUL");
    }
    if name.contains('\\') {
        return refuse("contient une barre oblique inversée");
    }
    if name.starts_with('/') || name.as_bytes().get(1) == Some(&b':') {
        return refuse("chemin absolu");
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    for segment in trimmed.split('/') {
        match segment {
            "" => return refuse("segment de chemin vide"),
            "." | ".." => return refuse("segment `.` ou `..` (zip-slip)"),
            s if s.chars().any(char::is_control) => return refuse("caractère de contrôle"),
            _ => {}
        }
    }
    Ok(name.to_owned())
}

impl PackageZip {
    /// Opens and checks a package zip.
    pub fn open(path: &Path, limits: ZipLimits) -> Result<Self, ZipRefused> {
        let file = File::open(path).map_err(|e| ZipRefused::NotAZip(format!("{}: {e}", path.display())))?;
        let mut archive = zip::ZipArchive::new(file).map_err(|e| ZipRefused::NotAZip(e.to_string()))?;
        if archive.has_duplicate_names() {
            return Err(ZipRefused::Duplicate(String::new()));
        }
        if archive.len() > limits.max_entries {
            return Err(ZipRefused::TooBig(format!(
                "{} entrées, plus de {}",
                archive.len(),
                limits.max_entries
            )));
        }
        let mut names: BTreeMap<String, Entry> = BTreeMap::new();
        let mut total = 0u64;
        for index in 0..archive.len() {
            let entry = archive
                .by_index_raw(index)
                .map_err(|e| ZipRefused::NotAZip(e.to_string()))?;
            let name = check_name(entry.name_raw())?;
            if entry.is_symlink() || !(entry.is_file() || entry.is_dir()) {
                return Err(ZipRefused::NotAFile(name));
            }
            if let Some(mode) = entry.unix_mode() {
                let kind = mode & 0o170000;
                if kind != 0 && kind != 0o100000 && kind != 0o040000 {
                    return Err(ZipRefused::NotAFile(name));
                }
            }
            if entry.encrypted() {
                return Err(ZipRefused::Encrypted(name));
            }
            let size = entry.size();
            if size > limits.max_entry_bytes {
                return Err(ZipRefused::TooBig(format!(
                    "{name} se décompresse en {size} octets, plus de {}",
                    limits.max_entry_bytes
                )));
            }
            let compressed = entry.compressed_size().max(1);
            if size > (1 << 20) && size / compressed > limits.max_ratio {
                return Err(ZipRefused::TooBig(format!(
                    "{name} se décompresse de {compressed} en {size} octets, un rapport de plus de {}",
                    limits.max_ratio
                )));
            }
            total = total.saturating_add(size);
            if total > limits.max_total_bytes {
                return Err(ZipRefused::TooBig(format!(
                    "les entrées se décompressent en plus de {} octets",
                    limits.max_total_bytes
                )));
            }
            let key = name.strip_suffix('/').unwrap_or(&name).to_owned();
            if names.insert(key.clone(), Entry { index, size }).is_some() {
                return Err(ZipRefused::Duplicate(format!(": {name:?}")));
            }
            if entry.is_dir() {
                names.remove(&key);
                names.insert(format!("{key}/"), Entry { index, size: 0 });
            }
        }
        // The bag is the zip's top, or its single top folder.
        let root = if names.contains_key("bagit.txt") {
            String::new()
        } else {
            let tops: std::collections::BTreeSet<&str> =
                names.keys().map(|n| n.split('/').next().unwrap_or(n)).collect();
            match tops.into_iter().collect::<Vec<_>>().as_slice() {
                [top] if names.contains_key(&format!("{top}/bagit.txt")) => format!("{top}/"),
                _ => return Err(ZipRefused::NotABag),
            }
        };
        let files = names
            .into_iter()
            .filter(|(name, _)| !name.ends_with('/'))
            .filter_map(|(name, entry)| name.strip_prefix(&root).map(|rel| (rel.to_owned(), entry)))
            .collect();
        Ok(PackageZip { archive, files })
    }

    /// The files, by path relative to the bag.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Whether the bag holds `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The declared size of `path`.
    pub fn size(&self, path: &str) -> Option<u64> {
        self.files.get(path).map(|e| e.size)
    }

    /// Streams `path` to `visit`, never past its declared size.
    pub fn read(&mut self, path: &str, visit: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> Result<u64, ZipRefused> {
        let entry = *self
            .files
            .get(path)
            .ok_or_else(|| ZipRefused::Missing(path.to_owned()))?;
        let failed = |error: String| ZipRefused::Read {
            name: path.to_owned(),
            error,
        };
        let file = self.archive.by_index(entry.index).map_err(|e| failed(e.to_string()))?;
        let mut limited = file.take(entry.size + 1);
        let mut buf = vec![0u8; 256 * 1024];
        let mut read = 0u64;
        loop {
            let n = match limited.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(failed(e.to_string())),
            };
            read += n as u64;
            if read > entry.size {
                return Err(ZipRefused::TooBig(format!(
                    "{path} se décompresse au-delà des {} octets annoncés",
                    entry.size
                )));
            }
            visit(&buf[..n]).map_err(|e| failed(e.to_string()))?;
        }
        Ok(read)
    }

    /// A reader of `path` that fails past its declared size.
    pub fn reader(&mut self, path: &str) -> Result<Box<dyn Read + '_>, ZipRefused> {
        let entry = *self
            .files
            .get(path)
            .ok_or_else(|| ZipRefused::Missing(path.to_owned()))?;
        let file = self.archive.by_index(entry.index).map_err(|e| ZipRefused::Read {
            name: path.to_owned(),
            error: e.to_string(),
        })?;
        Ok(Box::new(Capped {
            inner: file.take(entry.size + 1),
            left: entry.size,
        }))
    }

    /// Reads a whole small entry (at most `cap` bytes).
    pub fn read_small(&mut self, path: &str, cap: u64) -> Result<Vec<u8>, ZipRefused> {
        let size = self.size(path).ok_or_else(|| ZipRefused::Missing(path.to_owned()))?;
        if size > cap {
            return Err(ZipRefused::TooBig(format!("{path} fait {size} octets, plus de {cap}")));
        }
        let mut out = Vec::with_capacity(size as usize);
        self.read(path, &mut |chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(out)
    }
}

/// Reads at most `left` bytes and fails if there are more.
struct Capped<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "zip bomb defence: an entry unpacks past its declared size",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unsafe_names_are_refused() {
        for bad in [
            &b"../etc/passwd"[..],
            b"/abs",
            b"a/../../b",
            b"a//b",
            b"a\\b",
            b"C:/x",
            b"./x",
            b"bad\xff",
            b"a\nb",
        ] {
            assert!(check_name(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(check_name(b"bag/data/content/2024/FIN-FAC/facture \xc3\xa9t\xc3\xa9.pdf").is_ok());
        assert!(check_name(b"bag/data/").is_ok());
    }

    proptest! {
        /// A name that passes never leaves the folder it is joined to.
        #[test]
        fn accepted_names_stay_inside(name in "[a-z./\\\\:]{1,20}") {
            if let Ok(ok) = check_name(name.as_bytes()) {
                let joined = std::path::Path::new("/base").join(&ok);
                let mut depth = 0i32;
                for c in joined.strip_prefix("/base").map(|p| p.components().collect::<Vec<_>>()).unwrap_or_default() {
                    match c {
                        std::path::Component::Normal(_) => depth += 1,
                        _ => depth = -100,
                    }
                }
                prop_assert!(depth >= 1, "{ok:?}");
            }
        }
    }
}
