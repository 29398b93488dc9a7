//! The journal's Merkle tree in files: `merkle/level-NN`, one per level,
//! each an array of 32-byte hashes (level 0: the leaves; level l: the
//! perfect subtrees of 2^l leaves, in order). Appends are `pwrite`s at the
//! end; nothing is rewritten. At open, a partial hash is cut, each level is
//! cut to what the level below supports and completed from it, so the tree
//! is always a consistent prefix of the journal.

use super::MerkleTree;
use crate::domain::hash::Sha256;
use crate::domain::merkle::{Frontier, TreeNodes, node_hash};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

const HASH: u64 = 32;

/// The tree's files and its right edge.
pub struct FileTree {
    inner: Mutex<Inner>,
}

struct Inner {
    dir: PathBuf,
    levels: Vec<File>,
    frontier: Frontier,
}

impl Inner {
    fn level(&mut self, level: u32) -> io::Result<&File> {
        while self.levels.len() <= level as usize {
            let path = self.dir.join(format!("level-{:02}", self.levels.len()));
            let file = OpenOptions::new()
                .create(true)
                .read(true)
                .write(true)
                .truncate(false)
                .open(path)?;
            self.levels.push(file);
        }
        Ok(&self.levels[level as usize])
    }

    fn read(&self, level: u32, index: u64) -> io::Result<Sha256> {
        let file = self.levels.get(level as usize).ok_or_else(|| missing(level, index))?;
        let mut bytes = [0u8; 32];
        file.read_exact_at(&mut bytes, index * HASH)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => missing(level, index),
                _ => e,
            })?;
        Ok(Sha256::from_bytes(bytes))
    }
}

fn missing(level: u32, index: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("the Merkle tree has no node {index} at level {level}"),
    )
}

/// Reads perfect nodes while the lock is held (for `Frontier::of`).
struct Locked<'a>(&'a Inner, u64);

impl TreeNodes for Locked<'_> {
    type Error = io::Error;
    fn size(&self) -> u64 {
        self.1
    }
    fn perfect(&self, level: u32, index: u64) -> io::Result<Sha256> {
        self.0.read(level, index)
    }
}

fn entries(file: &File) -> io::Result<u64> {
    Ok(file.metadata()?.len() / HASH)
}

impl FileTree {
    /// Opens (or creates) the tree in `dir`, repairing what a crash left.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let mut inner = Inner {
            dir: dir.to_owned(),
            levels: Vec::new(),
            frontier: Frontier::new(),
        };
        let mut level = 0u32;
        while dir.join(format!("level-{level:02}")).exists() {
            inner.level(level)?;
            level += 1;
        }
        if inner.levels.is_empty() {
            inner.level(0)?;
        }
        let leaves = entries(&inner.levels[0])?;
        inner.levels[0].set_len(leaves * HASH)?;
        // Each level holds exactly the perfect subtrees the one below completes.
        let mut below = leaves;
        let mut level = 1u32;
        while below > 1 || (level as usize) < inner.levels.len() {
            let expected = below / 2;
            let have = entries(inner.level(level)?)?;
            if have > expected {
                inner.levels[level as usize].set_len(expected * HASH)?;
            }
            for index in have.min(expected)..expected {
                let left = inner.read(level - 1, 2 * index)?;
                let right = inner.read(level - 1, 2 * index + 1)?;
                inner.levels[level as usize].write_all_at(node_hash(&left, &right).as_bytes(), index * HASH)?;
            }
            below = expected;
            level += 1;
        }
        inner.frontier = Frontier::of(&Locked(&inner, leaves), leaves)?;
        Ok(FileTree {
            inner: Mutex::new(inner),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl MerkleTree for FileTree {
    fn size(&self) -> u64 {
        self.lock().frontier.size()
    }

    fn append(&self, index: u64, leaf: Sha256) -> io::Result<()> {
        let mut inner = self.lock();
        let size = inner.frontier.size();
        if index != size {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("leaf {index} appended to a Merkle tree of {size} leaves"),
            ));
        }
        // Write first, then move the edge: a failed write leaves the tree
        // as it was (a retry rewrites the same bytes at the same places).
        let mut edge = inner.frontier.clone();
        for (level, at, hash) in edge.push(leaf) {
            inner.level(level)?.write_all_at(hash.as_bytes(), at * HASH)?;
        }
        inner.frontier = edge;
        Ok(())
    }

    fn truncate(&self, size: u64) -> io::Result<()> {
        let mut inner = self.lock();
        if size >= inner.frontier.size() {
            return Ok(());
        }
        for (level, file) in inner.levels.iter().enumerate() {
            file.set_len((size >> level) * HASH)?;
        }
        inner.frontier = Frontier::of(&Locked(&inner, size), size)?;
        Ok(())
    }

    fn perfect(&self, level: u32, index: u64) -> io::Result<Sha256> {
        self.lock().read(level, index)
    }

    fn sync(&self) -> io::Result<()> {
        let inner = self.lock();
        for file in &inner.levels {
            file.sync_data()?;
        }
        File::open(&inner.dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::merkle::{self, LeafHashes, leaf_hash};

    struct At<'a>(&'a FileTree);
    impl TreeNodes for At<'_> {
        type Error = io::Error;
        fn size(&self) -> u64 {
            self.0.size()
        }
        fn perfect(&self, level: u32, index: u64) -> io::Result<Sha256> {
            self.0.perfect(level, index)
        }
    }

    fn leaves(n: u64) -> Vec<Sha256> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn roots_survive_reopen_truncation_and_torn_files() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let all = leaves(100);
        let tree = FileTree::open(dir.path())?;
        for (i, leaf) in all.iter().enumerate() {
            tree.append(i as u64, *leaf)?;
        }
        assert!(tree.append(5, all[5]).is_err());
        let expected = |n: usize| merkle::root(&LeafHashes(all[..n].to_vec()), n as u64).ok();
        assert_eq!(merkle::root(&At(&tree), 100).ok(), expected(100));
        assert_eq!(merkle::root(&At(&tree), 37).ok(), expected(37));
        drop(tree);

        // A torn write: half a leaf, and an upper level that lost its end.
        let mut bytes = fs::read(dir.path().join("level-00"))?;
        bytes.extend_from_slice(&[0xAB; 10]);
        fs::write(dir.path().join("level-00"), &bytes)?;
        let level2 = dir.path().join("level-02");
        let len = fs::metadata(&level2)?.len();
        OpenOptions::new().write(true).open(&level2)?.set_len(len - 64)?;
        let tree = FileTree::open(dir.path())?;
        assert_eq!(tree.size(), 100);
        assert_eq!(merkle::root(&At(&tree), 100).ok(), expected(100));

        tree.truncate(61)?;
        assert_eq!(tree.size(), 61);
        assert_eq!(merkle::root(&At(&tree), 61).ok(), expected(61));
        for (i, leaf) in all.iter().enumerate().skip(61) {
            tree.append(i as u64, *leaf)?;
        }
        assert_eq!(merkle::root(&At(&tree), 100).ok(), expected(100));
        tree.sync()?;
        drop(tree);
        let tree = FileTree::open(dir.path())?;
        let proof = merkle::inclusion_proof(&At(&tree), 42, 100).ok().unwrap_or_default();
        assert!(merkle::verify_inclusion(
            &all[42],
            42,
            100,
            &proof,
            &expected(100).unwrap_or(Sha256::ZERO)
        ));
        Ok(())
    }
}
