//! The Merkle tree over the journal, as Certificate Transparency defines it
//! (RFC 9162, section 2.1): leaves are the journal's events in seq order
//! (leaf index = seq − 1), each leaf's input the event's journal line
//! without its `\n`.
//!
//! * `MTH({})` = SHA-256 of nothing;
//! * `MTH({d})` = SHA-256(0x00 ‖ d);
//! * `MTH(D[n])` = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n])), k the largest
//!   power of two smaller than n.
//!
//! Inclusion and consistency proofs are built and checked exactly as the
//! RFC's sections 2.1.3 and 2.1.4 say, so an auditor can check them with
//! any implementation of the RFC, or with nothing but SHA-256 and
//! `schemas/seal-and-proofs.md`. Building needs the hashes of *perfect*
//! subtrees (2^level leaves starting at a multiple of 2^level), which a
//! [`TreeNodes`] supplies: a store keeps them so a proof costs O(log n)
//! reads. This module does no I/O.

use super::hash::{Sha256, Sha256Hasher};

/// The hash of a leaf: SHA-256(0x00 ‖ entry).
pub fn leaf_hash(entry: &[u8]) -> Sha256 {
    let mut hasher = Sha256Hasher::new();
    hasher.update(&[0]);
    hasher.update(entry);
    hasher.finish()
}

/// The hash of an inner node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Sha256, right: &Sha256) -> Sha256 {
    let mut hasher = Sha256Hasher::new();
    hasher.update(&[1]);
    hasher.update(left.as_bytes());
    hasher.update(right.as_bytes());
    hasher.finish()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Sha256 {
    Sha256::of(&[])
}

/// Where proofs read the hashes of perfect subtrees.
pub trait TreeNodes {
    /// Why a hash could not be read.
    type Error;
    /// How many leaves the tree has.
    fn size(&self) -> u64;
    /// The hash of the perfect subtree of 2^`level` leaves starting at leaf
    /// `index` × 2^`level` (level 0: the leaf hashes). Asked only for
    /// subtrees inside the tree.
    fn perfect(&self, level: u32, index: u64) -> Result<Sha256, Self::Error>;
}

/// A proof asked of a tree that cannot give it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError<E> {
    /// The sizes or index do not fit the tree.
    #[error("{0}")]
    OutOfRange(String),
    /// The nodes could not be read.
    #[error("reading the tree: {0:?}")]
    Nodes(E),
}

/// The largest power of two strictly smaller than `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves [start, end), reading perfect subtrees where it can.
fn range_root<T: TreeNodes + ?Sized>(nodes: &T, start: u64, end: u64) -> Result<Sha256, T::Error> {
    let size = end - start;
    if size == 0 {
        return Ok(empty_root());
    }
    if size.is_power_of_two() && start.is_multiple_of(size) {
        return nodes.perfect(size.trailing_zeros(), start / size);
    }
    let k = split(size);
    let left = range_root(nodes, start, start + k)?;
    let right = range_root(nodes, start + k, end)?;
    Ok(node_hash(&left, &right))
}

/// The root of the first `size` leaves.
pub fn root<T: TreeNodes + ?Sized>(nodes: &T, size: u64) -> Result<Sha256, ProofError<T::Error>> {
    if size > nodes.size() {
        return Err(ProofError::OutOfRange(format!(
            "the tree has {} leaves, not {size}",
            nodes.size()
        )));
    }
    range_root(nodes, 0, size).map_err(ProofError::Nodes)
}

/// The audit path of leaf `index` in the tree of the first `size` leaves
/// (RFC 9162 §2.1.3.1), from the leaf up.
pub fn inclusion_proof<T: TreeNodes + ?Sized>(
    nodes: &T,
    index: u64,
    size: u64,
) -> Result<Vec<Sha256>, ProofError<T::Error>> {
    if index >= size || size > nodes.size() {
        return Err(ProofError::OutOfRange(format!(
            "leaf {index} is not in a tree of {size} leaves (the log has {})",
            nodes.size()
        )));
    }
    let mut path = Vec::new();
    // Walk down from the root, collecting the sibling of each step, then
    // reverse: the RFC lists the path from the leaf up.
    let (mut start, mut end, mut m) = (0u64, size, index);
    while end - start > 1 {
        let k = split(end - start);
        if m < k {
            path.push(range_root(nodes, start + k, end).map_err(ProofError::Nodes)?);
            end = start + k;
        } else {
            path.push(range_root(nodes, start, start + k).map_err(ProofError::Nodes)?);
            start += k;
            m -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between the trees of the first `old` and `new`
/// leaves (RFC 9162 §2.1.4.1).
pub fn consistency_proof<T: TreeNodes + ?Sized>(
    nodes: &T,
    old: u64,
    new: u64,
) -> Result<Vec<Sha256>, ProofError<T::Error>> {
    if old == 0 || old > new || new > nodes.size() {
        return Err(ProofError::OutOfRange(format!(
            "no consistency proof from {old} to {new} leaves (the log has {})",
            nodes.size()
        )));
    }
    let mut path = Vec::new();
    let (mut start, mut end, mut m, mut whole) = (0u64, new, old, true);
    // SUBPROOF(m, D[start:end], whole), unrolled.
    loop {
        let n = end - start;
        if m == n {
            if !whole {
                path.push(range_root(nodes, start, end).map_err(ProofError::Nodes)?);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            path.push(range_root(nodes, start + k, end).map_err(ProofError::Nodes)?);
            end = start + k;
        } else {
            path.push(range_root(nodes, start, start + k).map_err(ProofError::Nodes)?);
            start += k;
            m -= k;
            whole = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): that the leaf hashed
/// `leaf` is leaf `index` of the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Sha256, index: u64, size: u64, proof: &[Sha256], root: &Sha256) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): that the tree of `new`
/// leaves whose root is `new_root` extends the tree of `old` leaves whose
/// root is `old_root`.
pub fn verify_consistency(old: u64, new: u64, old_root: &Sha256, new_root: &Sha256, proof: &[Sha256]) -> bool {
    if old == 0 || old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Sha256> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

/// Appending leaves one at a time: the perfect subtrees each new leaf
/// completes, so a store can keep them (its right edge is all it needs to
/// remember).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// For each level, the last perfect node whose right sibling is still
    /// missing (present when bit `level` of `size` is set).
    pending: Vec<Option<Sha256>>,
}

impl Frontier {
    /// An empty tree's edge.
    pub fn new() -> Self {
        Self::default()
    }

    /// The edge of a tree of `size` leaves, reading its perfect nodes.
    pub fn of<T: TreeNodes + ?Sized>(nodes: &T, size: u64) -> Result<Self, T::Error> {
        let mut pending = Vec::new();
        for level in 0..64u32 {
            if size >> level == 0 {
                break;
            }
            if (size >> level) & 1 == 1 {
                pending.push(Some(nodes.perfect(level, (size >> level) - 1)?));
            } else {
                pending.push(None);
            }
        }
        Ok(Frontier { size, pending })
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a leaf; returns every perfect node it completes as
    /// `(level, index, hash)`, the leaf itself first.
    pub fn push(&mut self, leaf: Sha256) -> Vec<(u32, u64, Sha256)> {
        let mut completed = vec![(0, self.size, leaf)];
        let mut carry = leaf;
        let mut level = 0usize;
        loop {
            if self.pending.len() <= level {
                self.pending.push(None);
            }
            match self.pending[level].take() {
                Some(left) => {
                    carry = node_hash(&left, &carry);
                    level += 1;
                    completed.push((level as u32, self.size >> level, carry));
                }
                None => {
                    self.pending[level] = Some(carry);
                    break;
                }
            }
        }
        self.size += 1;
        completed
    }

    /// The root of the leaves so far.
    pub fn root(&self) -> Sha256 {
        let mut acc: Option<Sha256> = None;
        for node in self.pending.iter().flatten() {
            acc = Some(match acc {
                None => *node,
                Some(right) => node_hash(node, &right),
            });
        }
        acc.unwrap_or_else(empty_root)
    }
}

/// A tree held in memory: every leaf hash, perfect nodes computed on
/// demand. For tests, small packages and checking a log from its leaves.
#[derive(Debug, Clone, Default)]
pub struct LeafHashes(pub Vec<Sha256>);

impl TreeNodes for LeafHashes {
    type Error = std::convert::Infallible;

    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn perfect(&self, level: u32, index: u64) -> Result<Sha256, Self::Error> {
        let width = 1u64 << level;
        let start = (index * width) as usize;
        let mut layer: Vec<Sha256> = self.0[start..start + width as usize].to_vec();
        while layer.len() > 1 {
            layer = layer.chunks(2).map(|pair| node_hash(&pair[0], &pair[1])).collect();
        }
        Ok(layer[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The RFC's definitions, word for word, over the leaves' data.
    mod reference {
        use super::super::node_hash;
        use crate::domain::hash::Sha256;

        fn k(n: usize) -> usize {
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            k
        }

        /// MTH, over the leaves' hashes.
        pub fn mth(d: &[Sha256]) -> Sha256 {
            match d.len() {
                0 => Sha256::of(&[]),
                1 => d[0],
                n => node_hash(&mth(&d[..k(n)]), &mth(&d[k(n)..])),
            }
        }

        pub fn path(m: usize, d: &[Sha256]) -> Vec<Sha256> {
            let n = d.len();
            if n <= 1 {
                return Vec::new();
            }
            let k = k(n);
            if m < k {
                let mut p = path(m, &d[..k]);
                p.push(mth(&d[k..]));
                p
            } else {
                let mut p = path(m - k, &d[k..]);
                p.push(mth(&d[..k]));
                p
            }
        }

        fn subproof(m: usize, d: &[Sha256], b: bool) -> Vec<Sha256> {
            let n = d.len();
            if m == n {
                return if b { Vec::new() } else { vec![mth(d)] };
            }
            let k = k(n);
            if m <= k {
                let mut p = subproof(m, &d[..k], b);
                p.push(mth(&d[k..]));
                p
            } else {
                let mut p = subproof(m - k, &d[k..], false);
                p.push(mth(&d[..k]));
                p
            }
        }

        pub fn proof(m: usize, d: &[Sha256]) -> Vec<Sha256> {
            subproof(m, d, true)
        }
    }

    fn entries(n: usize) -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("{{\"seq\":{}}}", i + 1).into_bytes()).collect()
    }

    fn tree(d: &[Vec<u8>]) -> LeafHashes {
        LeafHashes(d.iter().map(|e| leaf_hash(e)).collect())
    }

    /// Every perfect node computed once, as a store keeps them.
    struct Levels(Vec<Vec<Sha256>>);

    impl Levels {
        fn of(leaves: &[Sha256]) -> Self {
            let mut levels = vec![leaves.to_vec()];
            while let Some(last) = levels.last().filter(|l| l.len() > 1) {
                let up = last.chunks_exact(2).map(|p| node_hash(&p[0], &p[1])).collect();
                levels.push(up);
            }
            Levels(levels)
        }
    }

    impl TreeNodes for Levels {
        type Error = ();
        fn size(&self) -> u64 {
            self.0[0].len() as u64
        }
        fn perfect(&self, level: u32, index: u64) -> Result<Sha256, ()> {
            self.0
                .get(level as usize)
                .and_then(|l| l.get(index as usize))
                .copied()
                .ok_or(())
        }
    }

    #[test]
    fn known_roots() {
        assert_eq!(
            empty_root().hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // RFC 6962 test vector: the leaf "" hashes to SHA-256(0x00).
        assert_eq!(
            leaf_hash(b"").hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }

    /// Every tree size up to 300: the root, every leaf's inclusion proof and
    /// every consistency proof are the reference's and verify; the frontier
    /// gives the same roots while leaves are appended.
    #[test]
    fn proofs_match_the_reference_for_every_size_up_to_300() {
        let d = entries(300);
        let on_demand = tree(&d);
        let leaves = on_demand.0.clone();
        let nodes = Levels::of(&leaves);
        let mut frontier = Frontier::new();
        let mut roots = vec![empty_root()];
        for (i, entry) in d.iter().enumerate() {
            let completed = frontier.push(leaf_hash(entry));
            for (level, index, hash) in completed {
                assert_eq!(nodes.perfect(level, index).ok(), Some(hash));
            }
            let n = i + 1;
            let expected = reference::mth(&leaves[..n]);
            assert_eq!(frontier.root(), expected, "frontier root at {n}");
            assert_eq!(root(&nodes, n as u64).ok(), Some(expected), "root at {n}");
            assert_eq!(root(&on_demand, n as u64).ok(), Some(expected), "root at {n}");
            assert_eq!(Frontier::of(&nodes, n as u64).ok().map(|f| f.root()), Some(expected));
            roots.push(expected);
        }
        for n in 1..=300usize {
            for m in 0..n {
                let proof = inclusion_proof(&nodes, m as u64, n as u64).ok();
                assert_eq!(
                    proof.as_deref(),
                    Some(&reference::path(m, &leaves[..n])[..]),
                    "path {m} of {n}"
                );
                let proof = proof.unwrap_or_default();
                assert!(verify_inclusion(&leaves[m], m as u64, n as u64, &proof, &roots[n]));
            }
            for m in 1..=n {
                let proof = consistency_proof(&nodes, m as u64, n as u64).ok();
                assert_eq!(
                    proof.as_deref(),
                    Some(&reference::proof(m, &leaves[..n])[..]),
                    "proof {m}..{n}"
                );
                let proof = proof.unwrap_or_default();
                assert!(
                    verify_consistency(m as u64, n as u64, &roots[m], &roots[n], &proof),
                    "{m}..{n}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A proof checked against the wrong leaf, index, size or root, or
        /// with one hash changed, added or dropped, fails.
        #[test]
        fn tampered_inclusion_proofs_fail(n in 1u64..=300, m_seed in any::<u64>(), flip in any::<(usize, u8)>(),
                                          other_seed in any::<u64>()) {
            let d = entries(n as usize);
            let nodes = tree(&d);
            let m = m_seed % n;
            let root_n = root(&nodes, n).ok().unwrap_or(Sha256::ZERO);
            let proof = inclusion_proof(&nodes, m, n).ok().unwrap_or_default();
            let leaf = leaf_hash(&d[m as usize]);
            prop_assert!(verify_inclusion(&leaf, m, n, &proof, &root_n));
            let other = other_seed % n;
            if other != m {
                prop_assert!(!verify_inclusion(&leaf_hash(&d[other as usize]), m, n, &proof, &root_n));
                prop_assert!(!verify_inclusion(&leaf, other, n, &proof, &root_n));
            }
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let i = flip.0 % bad.len();
                let mut bytes = *bad[i].as_bytes();
                bytes[(flip.1 as usize) % 32] ^= 1 << (flip.1 % 8);
                bad[i] = Sha256::from_bytes(bytes);
                prop_assert!(!verify_inclusion(&leaf, m, n, &bad, &root_n));
                let mut short = proof.clone();
                short.pop();
                prop_assert!(!verify_inclusion(&leaf, m, n, &short, &root_n));
            }
            let mut long = proof.clone();
            long.push(leaf);
            prop_assert!(!verify_inclusion(&leaf, m, n, &long, &root_n));
        }

        /// A consistency proof fails for another old root, new root or size.
        #[test]
        fn tampered_consistency_proofs_fail(n in 2u64..=300, m_seed in any::<u64>()) {
            let d = entries(n as usize);
            let nodes = tree(&d);
            let m = 1 + m_seed % (n - 1);
            let old_root = root(&nodes, m).ok().unwrap_or(Sha256::ZERO);
            let new_root = root(&nodes, n).ok().unwrap_or(Sha256::ZERO);
            let proof = consistency_proof(&nodes, m, n).ok().unwrap_or_default();
            prop_assert!(verify_consistency(m, n, &old_root, &new_root, &proof));
            prop_assert!(!verify_consistency(m, n, &new_root, &new_root, &proof));
            prop_assert!(!verify_consistency(m, n, &old_root, &old_root, &proof));
            let forged = root(&nodes, m - 1).ok().unwrap_or(Sha256::ZERO);
            prop_assert!(!verify_consistency(m, n, &forged, &new_root, &proof));
        }
    }
}
