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
    make_dataset_of(root, folder, name, &vec![size; count])
}

/// Writes one file per size in `sizes`, in order, into `root/folder`
/// (emptied first); a file's bytes depend only on its size and its place.
#[allow(dead_code)] // the copies benchmark writes files of one size only
pub fn make_dataset_of(root: &Path, folder: &str, name: &'static str, sizes: &[usize]) -> Dataset {
    let dir = root.join(folder);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dataset folder");
    let mut files = Vec::with_capacity(sizes.len());
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ sizes.first().copied().unwrap_or(0) as u64;
    for (i, &size) in sizes.iter().enumerate() {
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
        bytes: sizes.iter().map(|&s| s as u64).sum(),
    }
}
