//! The sled engine's card status index, kept in memory: the admin search's
//! "cards with status S" without writing an index on disk.
//!
//! An index tree cost every Block and UnBlock two more sled writes (the
//! old status key out, the new one in), about a tenth of the call. This
//! index is derived from the `cards` tree instead: built by one scan the
//! first time a search needs it, then kept current by the group-commit
//! leader, which applies each written group's status changes after the
//! group is in sled. A reopened store starts without it, so it never
//! outlives the data it was built from. docs/storage.md has the figures.

use super::codec::StoredCard;
use super::layout::TreeId;
use super::trees::Trees;
use crate::domain::Status;
use crate::store::StoreError;
use std::collections::BTreeSet;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One card's status change in a group: `old` is `None` for a new card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub number: Box<str>,
    pub old: Option<Status>,
    pub new: Status,
}

/// Card numbers by status, each set in byte order (the search's order).
type Sets = [BTreeSet<Box<str>>; Status::ALL.len()];

#[derive(Default)]
pub struct StatusIndex {
    /// `None` until the first search builds it.
    sets: Mutex<Option<Sets>>,
}

impl StatusIndex {
    fn lock(&self) -> MutexGuard<'_, Option<Sets>> {
        // Each update leaves the sets consistent, so a panic elsewhere
        // while the lock was held does not make them wrong.
        self.sets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_built(&self) -> bool {
        self.lock().is_some()
    }

    /// Builds the index from the `cards` tree. Runs as a job on the
    /// group-commit leader, so no group is written during the scan; the
    /// changes of the group being built are applied after it is written.
    pub fn build(&self, trees: &Trees) -> Result<(), StoreError> {
        let mut sets: Sets = Default::default();
        for item in trees.tree(TreeId::Cards).iter() {
            let (key, value) = item.map_err(|e| trees.error(e, "building the status index"))?;
            let number = String::from_utf8_lossy(&key);
            let status = StoredCard::parse(&number, &value)?.record.status;
            sets[status.index()].insert(number.into());
        }
        *self.lock() = Some(sets);
        Ok(())
    }

    /// Applies a written group's changes, in order; nothing until built.
    pub fn apply(&self, changes: &[StatusChange]) {
        let mut guard = self.lock();
        let Some(sets) = guard.as_mut() else { return };
        for c in changes {
            if let Some(old) = c.old {
                let was = sets[old.index()].remove(&c.number);
                debug_assert!(was, "card {} was indexed as {old:?}", c.number);
            }
            sets[c.new.index()].insert(c.number.clone());
        }
    }

    /// Up to `limit + 1` numbers with `status` after `after`, in order (one
    /// more than a page tells whether a page follows); `None` until built.
    pub fn numbers(&self, status: Status, after: Option<&str>, limit: usize) -> Option<Vec<String>> {
        let guard = self.lock();
        let set = &guard.as_ref()?[status.index()];
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        Some(
            set.range::<str, _>((start, Bound::Unbounded))
                .take(limit.saturating_add(1))
                .map(|n| n.to_string())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(number: &str, old: Option<Status>, new: Status) -> StatusChange {
        StatusChange { number: number.into(), old, new }
    }

    #[test]
    fn changes_move_numbers_between_statuses_once_built() {
        let index = StatusIndex::default();
        index.apply(&[change("1", None, Status::New)]);
        assert_eq!(index.numbers(Status::New, None, 10), None, "not built: no answer, not a wrong one");
        *index.lock() = Some(Default::default());
        index.apply(&[
            change("3", None, Status::Active),
            change("1", None, Status::Active),
            change("2", None, Status::Active),
            change("1", Some(Status::Active), Status::Blocked),
        ]);
        assert_eq!(index.numbers(Status::Active, None, 10).unwrap(), ["2", "3"]);
        assert_eq!(index.numbers(Status::Blocked, None, 10).unwrap(), ["1"]);
        assert_eq!(index.numbers(Status::Active, Some("2"), 10).unwrap(), ["3"]);
        assert_eq!(index.numbers(Status::Active, None, 0).unwrap(), ["2"], "limit + 1");
        assert!(index.numbers(Status::New, None, usize::MAX).unwrap().is_empty());
    }
}
