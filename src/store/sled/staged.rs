//! A group's staged writes: the ops of the group the leader is building,
//! not yet in sled, indexed by key so that the group's reads see them.

use super::intent::Op;
use super::layout::TreeId;
use super::status_index::StatusChange;
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
    /// Card status changes, in order, each with the length `ops` had when
    /// it was noted (so that [`Staged::truncate`] drops a failed job's).
    status_changes: Vec<(usize, StatusChange)>,
}

/// What the leader writes: the ops, then the status index's changes.
pub struct Group {
    pub ops: Vec<Op>,
    pub status_changes: Vec<StatusChange>,
}

/// A group is written once it holds this many ops, so one intent stays a
/// bounded write.
pub const STAGED_OPS_MAX: usize = 4096;

impl Staged {
    pub fn stage(&mut self, op: Op) {
        self.latest[op.tree.index()].insert(op.key.clone(), self.ops.len());
        self.ops.push(op);
    }

    /// Notes a card's status change, staged with the ops that follow.
    pub fn note_status(&mut self, change: StatusChange) {
        self.status_changes.push((self.ops.len(), change));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        debug_assert!(
            !self.ops.is_empty() || self.status_changes.is_empty(),
            "a status change comes with its card's op"
        );
        self.ops.is_empty()
    }

    /// Drops the ops staged after the first `len` (a job that failed).
    pub fn truncate(&mut self, len: usize) {
        self.status_changes.retain(|(at, _)| *at < len);
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

    /// Takes the group out, leaving it empty.
    pub fn take(&mut self) -> Group {
        self.latest.iter_mut().for_each(KeyMap::clear);
        let status_changes = self.status_changes.drain(..).map(|(_, c)| c).collect();
        Group { ops: std::mem::take(&mut self.ops), status_changes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Status;

    #[test]
    fn a_failed_jobs_status_changes_go_with_its_ops() {
        let mut staged = Staged::default();
        let noted = |n: &str| StatusChange { number: n.into(), old: None, new: Status::New };
        staged.note_status(noted("1"));
        staged.stage(Op::put(TreeId::Cards, b"1".to_vec(), vec![1]));
        let before = staged.len();
        staged.note_status(noted("2"));
        staged.stage(Op::put(TreeId::Cards, b"2".to_vec(), vec![2]));
        staged.truncate(before);
        let group = staged.take();
        assert_eq!(group.ops.len(), 1);
        assert_eq!(group.status_changes, [noted("1")]);
        assert!(staged.is_empty() && staged.take().status_changes.is_empty());
    }
}
