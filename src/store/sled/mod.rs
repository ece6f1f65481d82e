//! The embedded engine: sled 0.34, one file per mechanism.
//!
//! - [`layout`]: which trees hold what, under which keys;
//! - [`codec`]: records as bytes;
//! - [`intent`]: the redo intent that makes a group all-or-nothing, and its replay;
//! - [`staged`]: a group's staged writes; [`view`]: reads through them;
//! - [`stage`]: one operation's batch into ops;
//! - [`trees`]: the open database and what its errors mean;
//! - [`search`]: the admin searches, as index range scans;
//! - [`status_index`]: the card status index, in memory;
//! - [`scan`]: listing a whole table, for copying a store;
//! - this file: [`SledStore`], the [`Store`] on top, and its recovery.
//!
//! A state change runs on the group-commit leader ([`crate::store::group_commit`]):
//! the operation reads through a [`view::View`] of the group's staged writes,
//! its batch is staged, the group is written as one intent and then key by
//! key, and the caller returns once a flush that started after that ended.
//!
//! Recovery: when a group's write or a flush fails (a full disk, say), sled
//! refuses every later write until it is reopened, so the store reopens
//! itself on the next change — replaying the last intent — once the cause
//! is gone, without a restart (at most every [`REOPEN_INTERVAL`]).

mod codec;
mod intent;
mod layout;
mod scan;
mod search;
mod stage;
mod staged;
mod status_index;
mod trees;
mod view;

#[cfg(test)]
mod tests;

use super::group_commit::{Engine, FlushStats, GroupCommit};
use super::{
    CardQuery, CardRecord, CardView, ContactQuery, ContactRecord, HistoryEntry, Lot, Operation, Page, ReceiptRecord,
    Sink, SnapshotItem, SnapshotPart, Store, StoreError, StoreRead, Stored, Table,
};
use intent::INTENT_KEY;
use staged::{Staged, STAGED_OPS_MAX};
use status_index::StatusIndex;
use std::any::Any;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use trees::Trees;
use view::{CardsRead, View};

/// Reopening after a failure is tried at most this often.
pub const REOPEN_INTERVAL: Duration = Duration::from_millis(200);
/// How long a reopen waits for calls still using the failed instance.
const DRAIN_WAIT_MAX: Duration = Duration::from_secs(5);

/// The [`Store`] on sled. Cheap to share behind an `Arc`.
pub struct SledStore {
    /// `None`: a temporary store (tests), which cannot be reopened.
    dir: Option<PathBuf>,
    current: RwLock<Option<Arc<Opened>>>,
    recovery: Mutex<Recovery>,
    /// See [`SledStore::pause_between_writes_for_crash_tests`]; 0 in real use.
    pause_us: AtomicU64,
}

#[derive(Default)]
struct Recovery {
    last_attempt: Option<Instant>,
    last_error: Option<StoreError>,
}

/// One open instance of the database with its group commit.
struct Opened {
    trees: Arc<Trees>,
    /// Built by the first status search, then kept by the leader.
    status: StatusIndex,
    /// `Some` until dropped (taken first, so the flusher stops before the
    /// last intent is judged).
    commits: Option<GroupCommit<Staged>>,
}

impl Opened {
    fn open(dir: Option<&Path>) -> Result<Opened, StoreError> {
        let trees = Arc::new(Trees::open(dir)?);
        // Before anyone reads or writes: finish what a crash interrupted.
        intent::replay(&trees)?;
        let flush_trees = Arc::clone(&trees);
        let commits = GroupCommit::start("sled-flusher", Box::new(move || flush_trees.flush()))
            .map_err(|e| StoreError::engine("starting the flusher thread", e))?;
        Ok(Opened { trees, status: StatusIndex::default(), commits: Some(commits) })
    }

    fn commits(&self) -> &GroupCommit<Staged> {
        self.commits.as_ref().expect("taken only on drop")
    }
}

impl Drop for Opened {
    fn drop(&mut self) {
        let broken = self.commits.as_ref().is_some_and(GroupCommit::is_broken);
        drop(self.commits.take());
        if broken {
            // The last group may be half written: its intent must stay for
            // the next open to replay.
            return;
        }
        // Nothing can commit any more, so the last group is complete: its
        // intent need not be replayed. Then a last flush.
        if let Err(e) = self.trees.intents.remove(INTENT_KEY) {
            tracing::error!(error = %e, "removing the last intent failed");
        }
        if let Err(e) = self.trees.flush() {
            tracing::error!(error = %e.chain(), "final flush of the store failed");
        }
    }
}

/// What the group-commit leader writes with.
struct Writer<'a> {
    trees: &'a Trees,
    status: &'a StatusIndex,
    pause: Duration,
}

impl<'a> Writer<'a> {
    fn new(opened: &'a Opened, pause_us: &AtomicU64) -> Writer<'a> {
        let pause = Duration::from_micros(pause_us.load(Ordering::Relaxed));
        Writer { trees: &opened.trees, status: &opened.status, pause }
    }
}

impl Engine for Writer<'_> {
    type Group = Staged;

    fn begin(&self) -> Staged {
        Staged::default()
    }

    fn is_full(&self, group: &Staged) -> bool {
        group.len() >= STAGED_OPS_MAX
    }

    /// The intent first, then each op: see [`intent`].
    fn write(&self, group: &mut Staged) -> Result<(), StoreError> {
        if group.is_empty() {
            return Ok(());
        }
        let group = group.take();
        self.trees
            .intents
            .insert(INTENT_KEY, intent::encode(&group.ops)?)
            .map_err(|e| self.trees.error(e, "writing a commit"))?;
        self.trees.apply(&group.ops, self.pause)?;
        self.status.apply(&group.status_changes);
        Ok(())
    }
}

/// How one operation's job ended on the leader.
#[derive(Default)]
struct JobEnd {
    /// The operation's own error, or its batch's staging error.
    result: Option<Result<(), StoreError>>,
    panic: Option<Box<dyn Any + Send>>,
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`, completing any
    /// group a crash interrupted.
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        Self::start(Some(path.to_path_buf()))
    }

    /// Whether `dir` holds a sled store (its `conf` and `db` files), without
    /// opening it: a command reading a store refuses a directory that does
    /// not, instead of creating an empty store there.
    pub fn is_store_dir(dir: &Path) -> bool {
        dir.join("conf").is_file() && dir.join("db").is_file()
    }

    /// A store that lives only as long as the value, for tests.
    pub fn temporary() -> Result<SledStore, StoreError> {
        Self::start(None)
    }

    fn start(dir: Option<PathBuf>) -> Result<SledStore, StoreError> {
        let opened = Opened::open(dir.as_deref())?;
        Ok(SledStore {
            dir,
            current: RwLock::new(Some(Arc::new(opened))),
            recovery: Mutex::new(Recovery::default()),
            pause_us: AtomicU64::new(0),
        })
    }

    /// How flush rounds have served callers since the store was (re)opened.
    pub fn sync_stats(&self) -> FlushStats {
        self.instance().map(|o| o.commits().stats()).unwrap_or_default()
    }

    /// For the crash test only: sleep this long after each write a group
    /// applies, so that a kill usually lands inside a half-written group.
    #[doc(hidden)]
    pub fn pause_between_writes_for_crash_tests(&self, pause: Duration) {
        self.pause_us.store(pause.as_micros().try_into().unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    fn instance(&self) -> Option<Arc<Opened>> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The open instance for reads: the current one, even if it is failing
    /// (reads still work from memory), else a reopened one.
    fn for_reads(&self) -> Result<Arc<Opened>, StoreError> {
        if let Some(o) = self.instance() {
            return Ok(o);
        }
        self.recover()
    }

    /// The open instance for a change: a healthy one, reopened if need be.
    fn for_writes(&self) -> Result<Arc<Opened>, StoreError> {
        if let Some(o) = self.instance().filter(|o| !o.commits().needs_recovery()) {
            return Ok(o);
        }
        // No reference to the failed instance is held here: `recover` waits
        // for the last one to go.
        self.recover()
    }

    /// Reopens the store after a failure: drops the failed instance once
    /// the calls using it are through, and opens the directory again, which
    /// replays the last group's intent.
    fn recover(&self) -> Result<Arc<Opened>, StoreError> {
        let mut rec = self.recovery.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = self.instance().filter(|o| !o.commits().needs_recovery()) {
            return Ok(o); // recovered by another caller meanwhile
        }
        let Some(dir) = self.dir.as_deref() else { return Err(StoreError::Unfinished) };
        if let (Some(at), Some(e)) = (rec.last_attempt, &rec.last_error) {
            if at.elapsed() < REOPEN_INTERVAL {
                return Err(e.clone());
            }
        }
        rec.last_attempt = Some(Instant::now());
        let old = self.current.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(old) = old {
            let started = Instant::now();
            while Arc::strong_count(&old) > 1 && started.elapsed() < DRAIN_WAIT_MAX {
                std::thread::sleep(Duration::from_millis(1));
            }
            drop(old);
        }
        match Opened::open(Some(dir)) {
            Ok(opened) => {
                let opened = Arc::new(opened);
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&opened));
                rec.last_error = None;
                tracing::warn!(dir = %dir.display(), "the store was reopened after a failure and works again");
                Ok(opened)
            }
            Err(e) => {
                tracing::error!(error = %e.chain(), "reopening the store failed; retrying on the next change");
                rec.last_error = Some(e.clone());
                Err(e)
            }
        }
    }

    fn read<T>(&self, f: impl FnOnce(&View<'_>) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let opened = self.for_reads()?;
        f(&View { trees: &opened.trees, staged: None, cards_read: None })
    }
}

impl StoreRead for SledStore {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        self.read(|v| v.card(number))
    }
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.read(|v| v.contact(code))
    }
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.read(|v| v.contact_by_mobile(e164))
    }
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        self.read(|v| v.contact_cards(code))
    }
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        self.read(|v| v.lots(number))
    }
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|v| v.history(number))
    }
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        self.read(|v| v.receipt(id))
    }
    fn card_and_lots(&self, number: &str) -> Result<Option<(CardRecord, Vec<Lot>)>, StoreError> {
        self.read(|v| v.card_and_lots(number))
    }
    fn card_view(&self, number: &str) -> Result<Option<CardView>, StoreError> {
        self.read(|v| v.card_view(number))
    }
}

impl Store for SledStore {
    /// Queues `op` for the group-commit leader, which runs it against the
    /// group's staged writes and stages its batch; returns once the group
    /// is written and flushed.
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError> {
        let opened = self.for_writes()?;
        let trees: &Trees = &opened.trees;
        let mut end = JobEnd::default();
        let mut job = |staged: &mut Staged| {
            let before = staged.len();
            let read = CardsRead::default();
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                op(&View { trees, staged: Some(staged), cards_read: Some(&read) })
            }));
            let result = match ran {
                Ok(Ok(Some(batch))) => {
                    debug_assert!(batch.history_has_records(), "history comes with its card's record");
                    stage::stage_batch(trees, staged, &batch, &read)
                }
                Ok(Ok(None)) => Ok(()),
                Ok(Err(e)) => Err(e),
                Err(payload) => {
                    end.panic = Some(payload);
                    Ok(())
                }
            };
            if result.is_err() {
                // This job's part-staged ops go; the group goes on.
                staged.truncate(before);
            }
            end.result = Some(result);
        };
        let committed = opened.commits().submit(&Writer::new(&opened, &self.pause_us), &mut job);
        if let Some(payload) = end.panic {
            std::panic::resume_unwind(payload);
        }
        committed?;
        end.result.unwrap_or(Err(StoreError::Unfinished))
    }

    /// Note: sled's `len` walks the whole tree, so this is O(cards).
    fn card_count(&self) -> Result<u64, StoreError> {
        self.read(|v| Ok(v.trees.tree(layout::TreeId::Cards).len() as u64))
    }

    fn find_contacts(
        &self,
        query: &ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ContactRecord>, StoreError> {
        self.read(|v| search::contacts(v.trees, query, after, limit))
    }

    /// The first call builds the status index (one scan of the cards, on
    /// the group-commit leader, so writes wait for it once).
    fn find_cards(&self, query: &CardQuery, after: Option<&str>, limit: usize) -> Result<Page<CardRecord>, StoreError> {
        let CardQuery::Status(status) = *query;
        let opened = self.for_reads()?;
        if let Some(numbers) = opened.status.numbers(status, after, limit) {
            return search::cards(&opened.trees, numbers, limit);
        }
        let opened = self.for_writes()?;
        let mut built = Ok(());
        let mut job = |_: &mut Staged| {
            if !opened.status.is_built() {
                built = opened.status.build(&opened.trees);
            }
        };
        opened.commits().submit(&Writer::new(&opened, &self.pause_us), &mut job)?;
        built?;
        let numbers = opened.status.numbers(status, after, limit).ok_or(StoreError::Unfinished)?;
        search::cards(&opened.trees, numbers, limit)
    }

    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError> {
        self.read(|v| scan::scan(v.trees, table, after, limit))
    }

    /// sled has no snapshots: the tree's entries are copied (cheap handles
    /// to sled's buffers) by a job on the group-commit leader, so no group
    /// lands during the copy and it holds every change of the groups
    /// written before it, none of a later one. Writers wait for the copy
    /// (about a second per million cards), not for decoding or the sink.
    fn snapshot(&self, part: SnapshotPart, sink: &mut Sink<'_>) -> Result<(), StoreError> {
        let opened = self.for_writes()?;
        let trees: &Trees = &opened.trees;
        let tree = match part {
            SnapshotPart::Contacts => layout::TreeId::Contacts,
            SnapshotPart::Cards => layout::TreeId::Cards,
            SnapshotPart::Receipts => layout::TreeId::Receipts,
        };
        let mut copy: Result<Vec<(sled::IVec, sled::IVec)>, StoreError> = Ok(Vec::new());
        // Reads the trees only: the group's staged writes (of jobs before
        // this one) are not in them yet, and come after the copy.
        let mut held = Duration::ZERO;
        let mut job = |_: &mut Staged| {
            let started = Instant::now();
            copy = trees.tree(tree).iter().map(|e| e.map_err(|e| trees.error(e, "exporting"))).collect();
            held = started.elapsed();
        };
        opened.commits().submit(&Writer::new(&opened, &self.pause_us), &mut job)?;
        let entries = copy.as_ref().map_or(0, Vec::len);
        tracing::debug!(tree = tree.name(), entries, held_ms = held.as_secs_f64() * 1000.0, "snapshot copied");
        for (key, value) in copy? {
            sink(snapshot_item(tree, &key, &value)?)?;
        }
        Ok(())
    }
}

/// A copied entry of `tree` as a record.
fn snapshot_item(tree: layout::TreeId, key: &[u8], value: &[u8]) -> Result<SnapshotItem, StoreError> {
    Ok(match tree {
        layout::TreeId::Cards => {
            let number = String::from_utf8_lossy(key);
            let stored = codec::StoredCard::parse(&number, value)?;
            let lots = stored.lots()?;
            SnapshotItem::Card(stored.record, lots)
        }
        layout::TreeId::Receipts => SnapshotItem::Receipt(Box::new(codec::decode(tree, key, value)?)),
        _ => SnapshotItem::Contact(codec::decode(tree, key, value)?),
    })
}
