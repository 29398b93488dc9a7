//! Files of pseudo-random bytes for the ingest and copies benchmarks: the
//! same sizes give the same bytes in every run.

use std::path::{Path, PathBuf};

/// A folder of files of one size.
pub struct Dataset {
    /// How the figures name it (`4KiBx10000`).
    pub name: &'static str,
    /// Where the files are.
    pub dir: PathBuf,
    /// The files, in order.
    pub files: Vec<PathBuf>,
    /// Bytes in all.
    pub bytes: u64,
}

/// Writes `count` files of `size` bytes into `root/folder` (emptied first).
pub fn make_dataset(root: &Path, folder: &str, name: &'static str, count: usize, size: usize) -> Dataset {
    let dir = root.join(folder);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dataset folder");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ size as u64;
    let mut files = Vec::with_capacity(count);
    for i in 0..count {
        let mut buf = Vec::with_capacity(size);
        while buf.len() < size {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.extend_from_slice(&state.to_le_bytes());
        }
        buf.truncate(size);
        let path = dir.join(format!("f{i:06}.bin"));
        std::fs::write(&path, &buf).expect("write dataset file");
        files.push(path);
    }
    Dataset {
        name,
        dir,
        files,
        bytes: (count * size) as u64,
    }
}
