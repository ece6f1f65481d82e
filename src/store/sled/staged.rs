//! A group's staged writes: the ops of the group the leader is building,
//! not yet in sled, indexed by key so that the group's reads see them.

use super::intent::Op;
use super::layout::TreeId;
use std::collections::HashMap;

/// foldhash, not SipHash, which was a few percent of a Block's staging; it
/// is seeded at random per map, and a map lives for one group of at most
/// [`STAGED_OPS_MAX`] ops, so chosen keys cannot make it slow for long.
type KeyMap = HashMap<Vec<u8>, usize, foldhash::fast::RandomState>;

/// A leader builds a group in one of these; it is written as one intent.
#[derive(Default)]
pub struct Staged {
    ops: Vec<Op>,
    /// Per tree: key → index of its latest op in `ops`.
    latest: [KeyMap; TreeId::COUNT],
}

/// A group is written once it holds this many ops, so one intent stays a
/// bounded write.
pub const STAGED_OPS_MAX: usize = 4096;

impl Staged {
    pub fn stage(&mut self, op: Op) {
        self.latest[op.tree.index()].insert(op.key.clone(), self.ops.len());
        self.ops.push(op);
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Drops the ops staged after the first `len` (a job that failed).
    pub fn truncate(&mut self, len: usize) {
        if self.ops.len() <= len {
            return;
        }
        self.ops.truncate(len);
        // Rare: rebuild the index rather than track what each op shadowed.
        self.latest.iter_mut().for_each(KeyMap::clear);
        for (i, op) in self.ops.iter().enumerate() {
            self.latest[op.tree.index()].insert(op.key.clone(), i);
        }
        debug_assert!(self.latest.iter().map(KeyMap::len).sum::<usize>() <= self.ops.len());
    }

    /// The staged value of a key: `None` when the group has not written it,
    /// `Some(None)` when it removed it.
    pub fn get(&self, tree: TreeId, key: &[u8]) -> Option<Option<&[u8]>> {
        self.latest[tree.index()].get(key).map(|&i| self.ops[i].value.as_deref())
    }

    /// Every staged key of `tree` under `prefix`, with its staged value.
    pub fn with_prefix<'a>(
        &'a self,
        tree: TreeId,
        prefix: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        self.latest[tree.index()]
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .map(|(k, &i)| (k.as_slice(), self.ops[i].value.as_deref()))
    }

    /// Takes the ops out, leaving the group empty.
    pub fn take(&mut self) -> Vec<Op> {
        self.latest.iter_mut().for_each(KeyMap::clear);
        std::mem::take(&mut self.ops)
    }
}
