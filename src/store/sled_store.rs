//! The embedded [`Store`]: sled 0.34 trees holding compact records, with group
//! commit for durability.
//!
//! Layout, one sled tree per kind of record (values are postcard behind a
//! one-byte tag; older JSON values are still read):
//!
//! | tree            | key                                   | value                 |
//! |-----------------|---------------------------------------|-----------------------|
//! | `cards`         | card number                           | [`CardRecord`], and its newest history entries (see [`CARD_WITH_TAIL_TAG`]) |
//! | `contacts`      | contact code                          | [`ContactRecord`]     |
//! | `phones`        | E.164 mobile                          | contact code (UTF-8)  |
//! | `contact_cards` | contact code                          | `Vec<String>` numbers |
//! | `lots`          | card number                           | `Vec<Lot>`            |
//! | `history`       | number ++ `0x00` ++ seq (u64, big-endian) | one [`HistoryEntry`], or a chunk of consecutive ones from `seq` on (see [`CHUNK_TAG`]) |
//! | `intents`       | intent id (u64, big-endian)           | encoded ops, see [`encode_intent`] |
//!
//! The history key puts the sequence in big-endian after a `0x00` separator so
//! that sled's byte order is the order of writing (256 after 255) and a prefix
//! scan of `number ++ 0x00` never picks up a longer number that merely starts
//! with the same digits.
//!
//! [`Store::commit`] applies a whole [`Batch`] all-or-nothing across a crash
//! with a redo intent (see [`SledStore::commit`] for the scheme and why it is
//! crash-safe), built only from plain single-key inserts and removes: no sled
//! transaction, so commits run concurrently with a flush. Commits are not
//! durable by themselves: [`Store::sync`] makes them durable, and concurrent
//! callers share one `fsync` (see [`GroupCommit`]).
//!
//! Anything read back that does not decode is reported as
//! [`StoreError::Corrupt`] naming the key; the store never panics on bad data.

use super::{Batch, CardRecord, ContactRecord, ContactWrite, HistoryEntry, Lot, Store, StoreError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{JoinHandle, Thread};

/// How many further groups a leader commits, after its own, when batches
/// queued up meanwhile. Going on saves waking one of their callers to lead
/// (a context switch during which nobody commits, on a busy 2-core box the
/// largest single cost of a commit); the bound keeps the leader's own call
/// from being held up for long (a group takes ~20 µs per job, so a few ms at most).
const LEADER_EXTRA_GROUPS_MAX: u32 = 64;

const TREE_CARDS: &str = "cards";
const TREE_CONTACTS: &str = "contacts";
const TREE_PHONES: &str = "phones";
const TREE_CONTACT_CARDS: &str = "contact_cards";
const TREE_LOTS: &str = "lots";
const TREE_HISTORY: &str = "history";
const TREE_INTENTS: &str = "intents";

/// The trees an intent's ops can touch, by the one-byte code they carry in an
/// encoded intent. The codes are part of the on-disk format: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum TreeId {
    Cards = 1,
    Contacts = 2,
    Phones = 3,
    ContactCards = 4,
    Lots = 5,
    History = 6,
}

impl TreeId {
    fn name(self) -> &'static str {
        match self {
            TreeId::Cards => TREE_CARDS,
            TreeId::Contacts => TREE_CONTACTS,
            TreeId::Phones => TREE_PHONES,
            TreeId::ContactCards => TREE_CONTACT_CARDS,
            TreeId::Lots => TREE_LOTS,
            TreeId::History => TREE_HISTORY,
        }
    }

    fn from_code(code: u8) -> Option<TreeId> {
        Some(match code {
            1 => TreeId::Cards,
            2 => TreeId::Contacts,
            3 => TreeId::Phones,
            4 => TreeId::ContactCards,
            5 => TreeId::Lots,
            6 => TreeId::History,
            _ => return None,
        })
    }
}

/// One write of a batch, decided completely at commit time: the full new
/// value of a key, or its removal. Applying it twice is the same as once,
/// which is what makes replaying an intent safe.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Op {
    tree: TreeId,
    key: Vec<u8>,
    /// `None` removes the key.
    value: Option<Vec<u8>>,
}

impl Op {
    fn put(tree: TreeId, key: impl Into<Vec<u8>>, value: Vec<u8>) -> Op {
        Op { tree, key: key.into(), value: Some(value) }
    }

    fn remove(tree: TreeId, key: impl Into<Vec<u8>>) -> Op {
        Op { tree, key: key.into(), value: None }
    }
}

/// The one key every intent is written under: each group's intent
/// overwrites the previous group's (see [`SledStore::commit`]).
const INTENT_KEY: [u8; 8] = u64::MAX.to_be_bytes();

/// First byte of every encoded intent.
const INTENT_VERSION: u8 = 1;

/// Encodes a batch's ops as one intent value:
///
/// ```text
/// version: u8 (= 1)
/// count:   u32 BE
/// count × { tree: u8, key_len: u32 BE, key, tag: u8 (0 remove, 1 put), [value_len: u32 BE, value] }
/// ```
fn encode_intent(ops: &[Op]) -> Result<Vec<u8>, StoreError> {
    fn len32(len: usize) -> Result<[u8; 4], StoreError> {
        u32::try_from(len).map(u32::to_be_bytes).map_err(|_| StoreError::Corrupt {
            key: String::from("<encoding>"),
            reason: format!("a key or value of {len} bytes does not fit an intent"),
        })
    }
    let size = 5 + ops.iter().map(|op| 10 + op.key.len() + op.value.as_ref().map_or(0, Vec::len)).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.push(INTENT_VERSION);
    out.extend_from_slice(&len32(ops.len())?);
    for op in ops {
        out.push(op.tree as u8);
        out.extend_from_slice(&len32(op.key.len())?);
        out.extend_from_slice(&op.key);
        match &op.value {
            None => out.push(0),
            Some(value) => {
                out.push(1);
                out.extend_from_slice(&len32(value.len())?);
                out.extend_from_slice(value);
            }
        }
    }
    Ok(out)
}

/// Decodes [`encode_intent`]'s output; anything malformed is `Corrupt`,
/// naming the intent by `key`.
fn decode_intent(key: &[u8], bytes: &[u8]) -> Result<Vec<Op>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt {
        key: match <[u8; 8]>::try_from(key) {
            Ok(id) => format!("{TREE_INTENTS}/{}", u64::from_be_bytes(id)),
            Err(_) => format!("{TREE_INTENTS}/{}", String::from_utf8_lossy(key)),
        },
        reason,
    };
    struct Reader<'a>(&'a [u8]);
    impl<'a> Reader<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (head, rest) = self.0.split_at(n);
            self.0 = rest;
            Some(head)
        }
        fn byte(&mut self) -> Option<u8> {
            self.take(1).map(|b| b[0])
        }
        fn len32(&mut self) -> Option<usize> {
            let b = self.take(4)?;
            usize::try_from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()
        }
        fn chunk(&mut self) -> Option<Vec<u8>> {
            let n = self.len32()?;
            self.take(n).map(<[u8]>::to_vec)
        }
    }

    let truncated = || corrupt(String::from("intent is truncated"));
    let mut r = Reader(bytes);
    match r.byte() {
        Some(INTENT_VERSION) => {}
        Some(v) => return Err(corrupt(format!("unknown intent version {v}"))),
        None => return Err(truncated()),
    }
    let count = r.len32().ok_or_else(truncated)?;
    // Each op takes at least 6 bytes: do not trust `count` for the allocation.
    let mut ops = Vec::with_capacity(count.min(bytes.len() / 6));
    for _ in 0..count {
        let code = r.byte().ok_or_else(truncated)?;
        let tree = TreeId::from_code(code).ok_or_else(|| corrupt(format!("unknown tree code {code}")))?;
        let key = r.chunk().ok_or_else(truncated)?;
        let value = match r.byte().ok_or_else(truncated)? {
            0 => None,
            1 => Some(r.chunk().ok_or_else(truncated)?),
            tag => return Err(corrupt(format!("unknown op tag {tag}"))),
        };
        ops.push(Op { tree, key, value });
    }
    if !r.0.is_empty() {
        return Err(corrupt(format!("{} bytes after the last op", r.0.len())));
    }
    Ok(ops)
}

/// The leader's staged writes: the ops of the group it is building, not yet
/// in sled (not even as an intent). Reads made *on the leader's thread*
/// while it builds the group (the group's operations and its phone index
/// decisions) see them; every other thread reads sled alone. So an
/// operation sees every earlier job of its group as if committed, and the
/// whole group still goes to sled as one intent.
struct Staged {
    /// The store it belongs to (its address), so a read of another store on
    /// this thread does not see it.
    store: usize,
    ops: Vec<Op>,
    /// Per tree (by code − 1): key → index of its latest op in `ops`.
    latest: [HashMap<Vec<u8>, usize>; 6],
}

thread_local! {
    static STAGED: std::cell::RefCell<Option<Staged>> = const { std::cell::RefCell::new(None) };
}

/// Staging is on for its lifetime on this thread (cleared even if the
/// leader unwinds).
struct Staging;

impl Staging {
    fn start(store: &SledStore) -> Staging {
        STAGED.with(|s| {
            *s.borrow_mut() = Some(Staged { store: store.addr(), ops: Vec::new(), latest: Default::default() })
        });
        Staging
    }

    /// Adds an op to the group being built.
    fn stage(&self, op: Op) {
        STAGED.with(|s| {
            if let Some(st) = s.borrow_mut().as_mut() {
                st.latest[op.tree as usize - 1].insert(op.key.clone(), st.ops.len());
                st.ops.push(op);
            }
        });
    }

    /// Drops the ops staged after the first `len`.
    fn truncate(&self, len: usize) {
        STAGED.with(|s| {
            if let Some(st) = s.borrow_mut().as_mut() {
                if st.ops.len() > len {
                    st.ops.truncate(len);
                    // Rare: rebuild the index rather than track what each
                    // dropped op had shadowed.
                    st.latest.iter_mut().for_each(HashMap::clear);
                    for (i, op) in st.ops.iter().enumerate() {
                        st.latest[op.tree as usize - 1].insert(op.key.clone(), i);
                    }
                }
            }
        });
    }

    fn staged_len(&self) -> usize {
        STAGED.with(|s| s.borrow().as_ref().map_or(0, |st| st.ops.len()))
    }

    /// Takes the staged ops out, leaving staging on and empty.
    fn take(&self) -> Vec<Op> {
        STAGED.with(|s| match s.borrow_mut().as_mut() {
            Some(st) => {
                st.latest.iter_mut().for_each(HashMap::clear);
                std::mem::take(&mut st.ops)
            }
            None => Vec::new(),
        })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        STAGED.with(|s| *s.borrow_mut() = None);
    }
}

/// A leader commits its group once it has staged this many ops, and starts
/// a new one, so one intent stays a bounded write.
const STAGED_OPS_MAX: usize = 4096;

/// A batch, encoded, waiting for a leader to commit it.
struct Pending {
    encoded: Encoded,
    /// The batch's contact writes, for the phone index ops.
    phones: Vec<PhoneChange>,
}

/// What the phone index needs to know of one contact write.
struct PhoneChange {
    code: String,
    new_mobile: Option<String>,
    old_mobile: Option<String>,
}

/// The operation of a [`Store::transact`] call, as the leader runs it.
type OpFn<'a> = dyn FnMut() -> Option<Batch> + Send + 'a;

/// A pointer to a parked caller's operation, with its lifetime erased so it
/// can sit in the shared queue.
///
/// SAFETY: the pointee lives on the stack of the caller who queued it, and
/// that caller does not return from `submit` until its ticket is done
/// (`CommitState::done`), which only happens once its job has been taken off
/// the queue and either run to its end or dropped unrun (see `Committer`'s
/// invariants). So the pointer is only dereferenced, by exactly one leader,
/// while the closure is alive and nobody else touches it. The closure is
/// `Send`, so calling it on the leader's thread is allowed.
struct OpPtr(*mut OpFn<'static>);

// SAFETY: see `OpPtr`; the pointee is `Send` and used by one thread at a time.
unsafe impl Send for OpPtr {}

/// What a caller queued.
enum Work {
    /// A ready batch ([`Store::commit`]).
    Batch(Pending),
    /// An operation that reads and decides its batch when the leader runs
    /// it ([`Store::transact`]).
    Op(OpPtr),
}

/// One queued call.
struct Job {
    ticket: u64,
    work: Work,
    slot: Arc<Slot>,
}

/// Where a caller of `commit`, `transact` or `sync` waits, and how its wait
/// ended. Whoever ends a wait stores the outcome in `state` before unparking
/// the thread, so the woken caller reads it without taking any lock, and a
/// spurious wake-up is told apart by the state still being a waiting one.
struct Slot {
    thread: Thread,
    state: AtomicU8,
    /// A panic of the caller's operation, caught on the leader's thread and
    /// resumed on the caller's.
    panic: Mutex<Option<Box<dyn std::any::Any + Send>>>,
    /// The operation's batch could not be encoded (nothing was written).
    error: Mutex<Option<StoreError>>,
}

/// Unparks callers whose outcome is already stored in their slots.
fn wake(slots: Vec<Arc<Slot>>) {
    for slot in slots {
        slot.thread.unpark();
    }
}

/// Waiting for its job to be committed (or to be handed the lead).
const WAIT_COMMIT: u8 = 0;
/// Committed; registered with the flusher, waiting for a flush round.
const WAIT_FLUSH: u8 = 1;
/// The flush round that served it succeeded.
const FLUSHED: u8 = 2;
/// The flush round that served it failed (`FlushState::last_error`).
const FLUSH_FAILED: u8 = 3;
/// The flusher is gone; nobody will flush.
const CLOSED: u8 = 4;

impl Slot {
    fn new() -> Arc<Slot> {
        Arc::new(Slot {
            thread: std::thread::current(),
            state: AtomicU8::new(WAIT_COMMIT),
            panic: Mutex::new(None),
            error: Mutex::new(None),
        })
    }

    fn take_panic(&self) -> Option<Box<dyn std::any::Any + Send>> {
        self.panic.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn take_error(&self) -> Option<StoreError> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// The committers' shared state, behind [`Committer::state`].
#[derive(Default)]
struct CommitState {
    /// Jobs waiting for a leader, in ticket order.
    queue: Vec<Job>,
    /// Highest ticket handed out.
    issued: u64,
    /// Every ticket up to this one has been committed, or has failed.
    done: u64,
    /// Some caller is committing a group right now.
    leading: bool,
    /// Set when a group failed after its intent may have been written: its
    /// batches may be half applied, and only a replay on the next `open` can
    /// complete them. A later batch applied meanwhile could be overwritten
    /// by that replay, so no further commit is accepted. Holds the first
    /// ticket that failed and the reason.
    broken: Option<(u64, String)>,
    /// Parked callers waiting for a leader: ticket, slot, and whether the
    /// caller wants durability (then a finished group hands it straight to
    /// the flusher instead of waking it), in ticket order.
    parked: Vec<(u64, Arc<Slot>, bool)>,
}

/// Serialises commits by combining them: see [`SledStore::commit`].
///
/// Invariants the `OpPtr` safety argument rests on: a job leaves the queue
/// only by a leader taking it (under the lock), and its ticket is marked
/// done (`finish`) only after the leader is through with every job it took,
/// or when the leader unwinds (its jobs are then never run).
#[derive(Default)]
struct Committer {
    state: Mutex<CommitState>,
    /// Copy of `CommitState::done`, so a woken caller whose batch is done
    /// can return without taking the lock (unless `broken` is set).
    done: AtomicU64,
    /// Set with `CommitState::broken`.
    broken: AtomicBool,
    /// Intents written since the store was opened (one per committed
    /// group); only the leader writes them.
    intents_written: AtomicU64,
}

impl Committer {
    fn lock(&self) -> MutexGuard<'_, CommitState> {
        // The state is left consistent at every unlock; a leader that
        // panics marks the store broken (see `Leading`).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks every ticket up to `last` as done and releases exactly their
    /// callers: one who wants durability is registered with the flusher
    /// without being woken (it wakes once, when its flush is done), any
    /// other is unparked. If batches are still queued and nobody leads,
    /// also unparks the first queued caller so it leads them. A
    /// `Condvar::notify_all` would wake every waiting caller, and each would
    /// re-take the mutex in turn only to find (mostly) that it must wait on.
    fn finish(&self, st: &mut CommitState, last: u64, group: &GroupCommit) {
        st.done = st.done.max(last);
        let healthy = st.broken.is_none();
        if !healthy {
            self.broken.store(true, Ordering::Release);
        }
        self.done.store(st.done, Ordering::Release);
        let done = st.done;
        let served = st.parked.partition_point(|(t, _, _)| *t <= done);
        let mut flush = None;
        for (_, slot, durable) in st.parked.drain(..served) {
            if durable && healthy {
                let fs = flush.get_or_insert_with(|| group.lock());
                group.enqueue(fs, slot);
            } else {
                slot.thread.unpark();
            }
        }
        if !st.leading && !st.queue.is_empty() {
            if let Some((_, next, _)) = st.parked.first() {
                next.thread.unpark();
            }
        }
    }
}

/// Held by the caller committing a group. If it unwinds (a panic inside
/// sled or our code), its group may be half applied: mark the store broken
/// and release the waiters, so no `commit` hangs.
struct Leading<'a> {
    committer: &'a Committer,
    group: &'a GroupCommit,
    first: u64,
    last: u64,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut st = self.committer.lock();
        st.leading = false;
        st.broken.get_or_insert_with(|| (self.first, String::from("a commit panicked")));
        self.committer.finish(&mut st, self.last, self.group);
    }
}

/// The [`Store`] on sled. Cheap to share behind an `Arc`; every method takes
/// `&self`.
pub struct SledStore {
    db: sled::Db,
    cards: sled::Tree,
    contacts: sled::Tree,
    phones: sled::Tree,
    contact_cards: sled::Tree,
    lots: sled::Tree,
    history: sled::Tree,
    intents: sled::Tree,
    /// Serialises and combines commits (see [`SledStore::commit`]); never
    /// waits for a flush.
    committer: Committer,
    /// See [`SledStore::pause_between_writes_for_crash_tests`]; 0 in real use.
    op_pause_us: AtomicU64,
    group: Arc<GroupCommit>,
    /// The flusher thread; taken on drop to join it.
    flusher: Option<JoinHandle<()>>,
}

/// How long `open` keeps retrying while sled's file lock is still held.
const OPEN_LOCK_WAIT_MS_MAX: u64 = 3_000;

/// sled's background I/O threads can hold the directory's file lock for a
/// moment after the previous `Db` in this process was dropped, and a
/// restarted server can race its predecessor's exit; both show up as "could
/// not acquire lock". Retry briefly instead of failing the open.
fn open_with_retry(config: &sled::Config) -> Result<sled::Db, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match config.open() {
            Ok(db) => return Ok(db),
            Err(sled::Error::Io(e))
                if e.to_string().contains("could not acquire lock")
                    && started.elapsed() < std::time::Duration::from_millis(OPEN_LOCK_WAIT_MS_MAX) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl SledStore {
    /// Opens (or creates) the store in directory `path`, completing any
    /// batch a crash interrupted.
    pub fn open(path: &Path) -> Result<SledStore, StoreError> {
        // No periodic background flush: every acknowledged change is flushed
        // by `sync` anyway, and sled's timer flush competed with group-commit
        // rounds for its flush lock (32 writers: 31k → 34–41k commits/s).
        Self::from_config(sled::Config::new().path(path).flush_every_ms(None))
    }

    /// A store that lives only as long as the value (sled's temporary mode),
    /// for tests.
    pub fn temporary() -> Result<SledStore, StoreError> {
        Self::from_config(sled::Config::new().temporary(true))
    }

    fn from_config(config: sled::Config) -> Result<SledStore, StoreError> {
        let db = open_with_retry(&config)?;
        let cards = db.open_tree(TREE_CARDS)?;
        let contacts = db.open_tree(TREE_CONTACTS)?;
        let phones = db.open_tree(TREE_PHONES)?;
        let contact_cards = db.open_tree(TREE_CONTACT_CARDS)?;
        let lots = db.open_tree(TREE_LOTS)?;
        let history = db.open_tree(TREE_HISTORY)?;
        let intents = db.open_tree(TREE_INTENTS)?;
        let mut store = SledStore {
            db,
            cards,
            contacts,
            phones,
            contact_cards,
            lots,
            history,
            intents,
            committer: Committer::default(),
            op_pause_us: AtomicU64::new(0),
            group: Arc::new(GroupCommit::default()),
            flusher: None,
        };
        // Before anyone can read or commit: finish what a crash interrupted.
        store.replay_intents()?;
        let flusher = {
            let group = Arc::clone(&store.group);
            let db = store.db.clone();
            std::thread::Builder::new()
                .name("sled-flusher".into())
                .spawn(move || group.run_flusher(&db))
                .map_err(|e| StoreError::Sled(sled::Error::Io(e)))?
        };
        store.flusher = Some(flusher);
        Ok(store)
    }

    /// Re-applies every intent left in the `intents` tree, in key order,
    /// removing each once applied, then flushes. See [`SledStore::commit`]
    /// for why this completes exactly the group a crash cut short. (Stores
    /// written before the intent key was fixed may hold numbered intents;
    /// they sort before [`INTENT_KEY`] and replay the same way.)
    fn replay_intents(&self) -> Result<(), StoreError> {
        let mut replayed = 0usize;
        for item in self.intents.iter() {
            let (key, value) = item?;
            if key.len() != 8 {
                return Err(StoreError::Corrupt {
                    key: format!("{TREE_INTENTS}/{}", String::from_utf8_lossy(&key)),
                    reason: format!("intent key is {} bytes, expected 8", key.len()),
                });
            }
            let ops = decode_intent(&key, &value)?;
            self.apply(&ops)?;
            self.intents.remove(&key)?;
            replayed += 1;
        }
        if replayed > 0 {
            // After a clean shutdown there is none; after a crash, the last
            // group's intent, whether or not the crash cut the group short.
            tracing::info!(intents = replayed, "re-applied the last commit group's intent");
            self.db.flush()?;
        }
        Ok(())
    }

    fn tree(&self, id: TreeId) -> &sled::Tree {
        match id {
            TreeId::Cards => &self.cards,
            TreeId::Contacts => &self.contacts,
            TreeId::Phones => &self.phones,
            TreeId::ContactCards => &self.contact_cards,
            TreeId::Lots => &self.lots,
            TreeId::History => &self.history,
        }
    }

    /// Applies ops in order with plain inserts and removes.
    fn apply(&self, ops: &[Op]) -> Result<(), StoreError> {
        let pause = self.op_pause_us.load(Ordering::Relaxed);
        for op in ops {
            let tree = self.tree(op.tree);
            match &op.value {
                Some(value) => tree.insert(op.key.as_slice(), value.as_slice())?,
                None => tree.remove(op.key.as_slice())?,
            };
            if pause > 0 {
                std::thread::sleep(std::time::Duration::from_micros(pause));
            }
        }
        Ok(())
    }

    /// For the crash test only: sleep this long after each write a commit
    /// applies, so that a kill usually lands inside a half-applied group
    /// (whose first writes other callers' flushes have already put on disk)
    /// and only the intent's replay can make it whole.
    #[doc(hidden)]
    pub fn pause_between_writes_for_crash_tests(&self, pause: std::time::Duration) {
        self.op_pause_us.store(pause.as_micros().try_into().unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

/// How [`Store::sync`] calls have been grouped since the store was opened,
/// for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStats {
    /// `sync` calls that took a ticket.
    pub syncs: u64,
    /// Flush rounds (one `db.flush()` each) that served them.
    pub rounds: u64,
}

impl SledStore {
    /// How many `sync` calls there were and how many flush rounds served
    /// them: `syncs / rounds` is the average group size.
    pub fn sync_stats(&self) -> SyncStats {
        let st = self.group.lock();
        SyncStats { syncs: st.requested, rounds: st.rounds }
    }
}

impl Drop for SledStore {
    fn drop(&mut self) {
        // Nobody can be inside `sync` now (we hold the last reference), so
        // the flusher only has to finish a round it may be in, then exit.
        self.group.shut_down();
        if let Some(handle) = self.flusher.take() {
            if handle.join().is_err() {
                tracing::error!("the sled flusher thread panicked");
            }
        }
        // Nothing can commit any more, so the last group is complete: its
        // intent need not be replayed on the next open. Then one last flush
        // so commits that were never synced still reach the disk on an
        // orderly shutdown. Drop cannot return an error: log it.
        if let Err(e) = self.intents.remove(INTENT_KEY) {
            tracing::error!(error = %e, "removing the last intent failed");
        }
        if let Err(e) = self.db.flush() {
            tracing::error!(error = %e, "final flush of the store failed");
        }
    }
}

/// History key: number ++ 0x00 ++ seq as big-endian u64.
fn history_key(number: &str, seq: u64) -> Vec<u8> {
    let mut key = history_prefix(number);
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn history_prefix(number: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(number.len() + 9);
    key.extend_from_slice(number.as_bytes());
    key.push(0);
    key
}

/// First byte of a record in the compact encoding. Records written before it
/// existed are JSON, which always starts with `{`, `[` or `"`, never 0x01.
const COMPACT_TAG: u8 = 0x01;

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    // postcard, not JSON: balance reads decode three records per request,
    // and JSON decoding was a tenth of the server's CPU under load.
    postcard::to_extend(value, vec![COMPACT_TAG]).map_err(encoding_error)
}

fn decode<T: DeserializeOwned>(tree: &str, key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    let corrupt =
        |reason: String| StoreError::Corrupt { key: format!("{tree}/{}", String::from_utf8_lossy(key)), reason };
    match bytes.split_first() {
        Some((&COMPACT_TAG, rest)) => match postcard::take_from_bytes::<T>(rest) {
            Ok((v, [])) => Ok(v),
            Ok(_) => Err(corrupt("trailing bytes after the record".into())),
            Err(e) => Err(corrupt(e.to_string())),
        },
        _ => serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string())),
    }
}

fn encoding_error(e: postcard::Error) -> StoreError {
    StoreError::Corrupt { key: String::from("<encoding>"), reason: e.to_string() }
}

/// A postcard-encoded record behind [`COMPACT_TAG`].
fn tagged(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 1);
    out.push(COMPACT_TAG);
    out.extend_from_slice(record);
    out
}

/// First byte of a card record that carries its newest history entries
/// (its *tail*): a state change then writes the card and its history entry
/// as one sled key instead of two, and the history tree grows by one chunk
/// of [`HISTORY_TAIL_MAX`] entries at a time instead of one key per entry
/// (sled splits a leaf every 16 keys, a fifth of a commit's sled work when
/// every entry was a key). Layout:
///
/// ```text
/// 0x02, record_len: u32 LE, record (postcard CardRecord),
/// then per entry, oldest first: entry_len: u32 LE, entry (postcard HistoryEntry)
/// ```
///
/// The tail holds entries `history_len − n .. history_len`; older entries
/// are in the history tree.
const CARD_WITH_TAIL_TAG: u8 = 0x02;

/// First byte of a history value holding consecutive entries (a chunk),
/// keyed by the first one's sequence number: `0x02`, then per entry
/// `entry_len: u32 LE, entry`. A value behind [`COMPACT_TAG`] (or JSON) is
/// a single entry.
const CHUNK_TAG: u8 = 0x02;

/// Entries a card's tail holds at most; the oldest this many move to the
/// history tree as one chunk when it would hold more.
const HISTORY_TAIL_MAX: usize = 8;

/// `tag`, then `record` behind its length if there is one (a card), then
/// each entry behind its length.
fn encode_entries(tag: u8, record: Option<&[u8]>, entries: &[&[u8]]) -> Vec<u8> {
    let size = 1 + 4 + record.map_or(0, <[u8]>::len) + entries.iter().map(|e| 4 + e.len()).sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.push(tag);
    if let Some(record) = record {
        out.extend_from_slice(&(record.len() as u32).to_le_bytes());
        out.extend_from_slice(record);
    }
    for entry in entries {
        out.extend_from_slice(&(entry.len() as u32).to_le_bytes());
        out.extend_from_slice(entry);
    }
    out
}

/// Splits length-prefixed entries; `None` if the bytes do not divide up.
fn split_entries(mut bytes: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
        if rest.len() < len {
            return None;
        }
        let (entry, rest) = rest.split_at(len);
        out.push(entry);
        bytes = rest;
    }
    Some(out)
}

fn corrupt_card(number: &str, reason: &str) -> StoreError {
    StoreError::Corrupt { key: format!("{TREE_CARDS}/{number}"), reason: reason.to_string() }
}

/// A [`CARD_WITH_TAIL_TAG`] value's record bytes and tail bytes.
fn split_card_value<'a>(number: &str, bytes: &'a [u8]) -> Result<(&'a [u8], &'a [u8]), StoreError> {
    let rest = &bytes[1..];
    let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(|| corrupt_card(number, "truncated record length"))?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(corrupt_card(number, "truncated record"));
    }
    Ok(rest.split_at(len))
}

fn decode_record(number: &str, record: &[u8]) -> Result<CardRecord, StoreError> {
    postcard::from_bytes(record).map_err(|e| corrupt_card(number, &e.to_string()))
}

/// Decodes a stored card value (with or without a tail), leaving the tail
/// alone: what every read of a card (a balance, say) needs.
fn decode_card(number: &str, bytes: &[u8]) -> Result<CardRecord, StoreError> {
    if bytes.first() != Some(&CARD_WITH_TAIL_TAG) {
        return decode(TREE_CARDS, number.as_bytes(), bytes);
    }
    decode_record(number, split_card_value(number, bytes)?.0)
}

/// A stored card value taken apart.
struct StoredCard<'a> {
    record: CardRecord,
    /// Sequence number of the tail's first entry (`history_len` when the
    /// tail is empty).
    tail_start: u64,
    /// The tail's entries, oldest first (empty for a value without one).
    tail: Vec<&'a [u8]>,
}

impl<'a> StoredCard<'a> {
    fn parse(number: &str, bytes: &'a [u8]) -> Result<StoredCard<'a>, StoreError> {
        let (record, tail) = if bytes.first() == Some(&CARD_WITH_TAIL_TAG) {
            let (record, tail) = split_card_value(number, bytes)?;
            let tail = split_entries(tail).ok_or_else(|| corrupt_card(number, "malformed history tail"))?;
            (decode_record(number, record)?, tail)
        } else {
            (decode(TREE_CARDS, number.as_bytes(), bytes)?, Vec::new())
        };
        let tail_start = record
            .history_len
            .checked_sub(tail.len() as u64)
            .ok_or_else(|| corrupt_card(number, "more tail entries than the history length"))?;
        Ok(StoredCard { record, tail_start, tail })
    }

    /// Ops that put the tail's entries into the history tree, one key
    /// each: the layout from before tails.
    fn tail_as_keys(&self, number: &str) -> impl Iterator<Item = Op> + '_ {
        let number = number.to_string();
        self.tail
            .iter()
            .zip(self.tail_start..)
            .map(move |(entry, seq)| Op::put(TreeId::History, history_key(&number, seq), tagged(entry)))
    }
}

/// A batch's ops, encoded before joining the commit queue. What depends on
/// the store's content when the batch is applied (the phone index ops, and
/// where a card's new history entries go) the leader decides while staging.
struct Encoded {
    /// Lots and contact records.
    head: Vec<Op>,
    /// Contact → cards lists.
    contact_cards: Vec<Op>,
    /// Card records, each with the batch's new history entries for it.
    cards: Vec<CardWrite>,
    /// History entries for cards the batch does not write.
    history: Vec<HistoryWrite>,
}

/// A card record to write, with the history entries the batch adds to it.
struct CardWrite {
    number: String,
    history_len: u64,
    /// The record, postcard-encoded, without a tag.
    record: Vec<u8>,
    /// `(seq, postcard-encoded entry)`, in the batch's order.
    entries: Vec<(u64, Vec<u8>)>,
}

/// History entries for a card whose record the batch leaves alone.
struct HistoryWrite {
    number: String,
    entries: Vec<(u64, Vec<u8>)>,
}

impl SledStore {
    fn addr(&self) -> usize {
        self as *const SledStore as usize
    }

    /// Reads `key` of `tree` and hands the value to `f`: the leader's staged
    /// write of it if this thread is building a group (see [`Staged`]), else
    /// sled's.
    fn read_with<T>(
        &self,
        tree: TreeId,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        STAGED.with(|s| {
            let s = s.borrow();
            let staged = s
                .as_ref()
                .filter(|st| st.store == self.addr())
                .and_then(|st| st.latest[tree as usize - 1].get(key).map(|&i| st.ops[i].value.as_deref()));
            match staged {
                Some(value) => f(value),
                // sled never touches `STAGED`, so the borrow may stay.
                None => f(self.tree(tree).get(key)?.as_deref()),
            }
        })
    }

    fn get<T: DeserializeOwned>(&self, tree: TreeId, key: &str) -> Result<Option<T>, StoreError> {
        self.read_with(tree, key.as_bytes(), |bytes| bytes.map(|b| decode(tree.name(), key.as_bytes(), b)).transpose())
    }

    /// Encodes every record of the batch. The order of the ops is the
    /// order a concurrent reader may see them appear in (commits are atomic
    /// across a crash, not isolated from readers): what others point to is
    /// written first, so a new card's history and lots, and a contact before
    /// the phone entry naming it, and the card record last (see
    /// [`SledStore::stage_pending`]).
    fn encode_batch(batch: &Batch) -> Result<Encoded, StoreError> {
        let mut head = Vec::with_capacity(batch.lots.len() + batch.contacts.len());
        for (number, lots) in &batch.lots {
            head.push(Op::put(TreeId::Lots, number.as_bytes(), encode(lots)?));
        }
        for w in &batch.contacts {
            head.push(Op::put(TreeId::Contacts, w.record.code.as_bytes(), encode(&w.record)?));
        }
        let mut contact_cards = Vec::with_capacity(batch.contact_cards.len());
        for (code, numbers) in &batch.contact_cards {
            contact_cards.push(Op::put(TreeId::ContactCards, code.as_bytes(), encode(numbers)?));
        }
        let mut cards = Vec::with_capacity(batch.cards.len());
        for card in &batch.cards {
            let record = postcard::to_allocvec(card).map_err(encoding_error)?;
            cards.push(CardWrite {
                number: card.number.clone(),
                history_len: card.history_len,
                record,
                entries: Vec::new(),
            });
        }
        let mut history: Vec<HistoryWrite> = Vec::new();
        for (number, seq, entry) in &batch.history {
            let bytes = postcard::to_allocvec(entry).map_err(encoding_error)?;
            // A card written twice in one batch ends as its last record, so
            // that one carries the entries.
            if let Some(card) = cards.iter_mut().rev().find(|c| &c.number == number) {
                card.entries.push((*seq, bytes));
            } else if let Some(h) = history.iter_mut().find(|h| &h.number == number) {
                h.entries.push((*seq, bytes));
            } else {
                history.push(HistoryWrite { number: number.clone(), entries: vec![(*seq, bytes)] });
            }
        }
        Ok(Encoded { head, contact_cards, cards, history })
    }

    /// Encodes a batch for the commit queue.
    fn pending(batch: &Batch) -> Result<Pending, StoreError> {
        let phones = batch
            .contacts
            .iter()
            .map(|w: &ContactWrite| PhoneChange {
                code: w.record.code.clone(),
                new_mobile: w.record.mobile.clone(),
                old_mobile: w.old_mobile.clone(),
            })
            .collect();
        Ok(Pending { encoded: Self::encode_batch(batch)?, phones })
    }

    /// Stages the phone index ops for a batch's contact writes, in their
    /// order: a contact's old mobile is unhooked only if the index still
    /// names that contact (another contact may have taken the number since),
    /// then its new mobile is pointed at it. Reads the index through the
    /// staging overlay, so it sees the group's earlier phone ops; only the
    /// leader may call it.
    fn stage_phone_ops(&self, staging: &Staging, changes: &[PhoneChange]) -> Result<(), StoreError> {
        for c in changes {
            let code = c.code.as_str();
            let new_mobile = c.new_mobile.as_deref();
            if let Some(old) = c.old_mobile.as_deref().filter(|old| Some(*old) != new_mobile) {
                let ours = self.read_with(TreeId::Phones, old.as_bytes(), |v| Ok(v == Some(code.as_bytes())))?;
                if ours {
                    staging.stage(Op::remove(TreeId::Phones, old.as_bytes()));
                }
            }
            if let Some(new) = new_mobile {
                staging.stage(Op::put(TreeId::Phones, new.as_bytes(), code.as_bytes().to_vec()));
            }
        }
        Ok(())
    }

    /// Stages one batch's ops: lots and contacts, the phone index, the
    /// contact → cards lists, history, then each card record after its own
    /// history (see [`SledStore::encode_batch`] for why in this order).
    fn stage_pending(&self, staging: &Staging, p: Pending) -> Result<(), StoreError> {
        let Encoded { head, contact_cards, cards, history } = p.encoded;
        head.into_iter().for_each(|op| staging.stage(op));
        self.stage_phone_ops(staging, &p.phones)?;
        contact_cards.into_iter().for_each(|op| staging.stage(op));
        for h in history {
            self.stage_history_alone(staging, h)?;
        }
        for card in cards {
            self.stage_card(staging, card)?;
        }
        Ok(())
    }

    /// Stages a card record and its new history entries. The card's newest
    /// entries live in its own record (see [`CARD_WITH_TAIL_TAG`]), so the
    /// usual state change — one more entry, numbered on from the stored
    /// ones — is one write of the card, plus one chunk of
    /// [`HISTORY_TAIL_MAX`] entries into the history tree every that many
    /// entries. Anything else (entries out of sequence, say) first moves
    /// the stored tail to the history tree entry by entry, then writes the
    /// new entries there one key each and the record without a tail, which
    /// is exactly the layout the store had before tails existed.
    fn stage_card(&self, staging: &Staging, card: CardWrite) -> Result<(), StoreError> {
        let CardWrite { number, history_len, record, entries } = card;
        let (value, moved) = self.read_with(TreeId::Cards, number.as_bytes(), |stored| {
            let stored = stored.map(|bytes| StoredCard::parse(&number, bytes)).transpose()?;
            let stored_len = stored.as_ref().map_or(0, |s| s.record.history_len);
            let mut moved = Vec::new();
            let in_sequence = entries.iter().zip(stored_len..).all(|((seq, _), want)| *seq == want)
                && history_len == stored_len + entries.len() as u64;
            if !in_sequence {
                moved.extend(stored.iter().flat_map(|s| s.tail_as_keys(&number)));
                for (seq, entry) in &entries {
                    moved.push(Op::put(TreeId::History, history_key(&number, *seq), tagged(entry)));
                }
                return Ok((tagged(&record), moved));
            }
            let (mut start, mut tail) = stored.map_or((0, Vec::new()), |s| (s.tail_start, s.tail));
            tail.extend(entries.iter().map(|(_, e)| e.as_slice()));
            while tail.len() > HISTORY_TAIL_MAX {
                let rest = tail.split_off(HISTORY_TAIL_MAX);
                moved.push(Op::put(
                    TreeId::History,
                    history_key(&number, start),
                    encode_entries(CHUNK_TAG, None, &tail),
                ));
                start += HISTORY_TAIL_MAX as u64;
                tail = rest;
            }
            let value = if tail.is_empty() {
                tagged(&record)
            } else {
                encode_entries(CARD_WITH_TAIL_TAG, Some(&record), &tail)
            };
            Ok((value, moved))
        })?;
        moved.into_iter().for_each(|op| staging.stage(op));
        staging.stage(Op::put(TreeId::Cards, number.into_bytes(), value));
        Ok(())
    }

    /// Stages history entries for a card the batch does not write, one key
    /// each. If the stored record carries a tail, the tail moves to the
    /// history tree first and the record is rewritten without it (the same
    /// record), so the entries stay in sequence.
    fn stage_history_alone(&self, staging: &Staging, h: HistoryWrite) -> Result<(), StoreError> {
        let HistoryWrite { number, entries } = h;
        let (moved, rewritten) = self.read_with(TreeId::Cards, number.as_bytes(), |stored| {
            match stored.filter(|b| b.first() == Some(&CARD_WITH_TAIL_TAG)) {
                Some(bytes) => {
                    let stored = StoredCard::parse(&number, bytes)?;
                    let moved: Vec<Op> = stored.tail_as_keys(&number).collect();
                    Ok((moved, Some(Op::put(TreeId::Cards, number.as_bytes(), encode(&stored.record)?))))
                }
                None => Ok((Vec::new(), None)),
            }
        })?;
        // The entries go before the rewritten record, as everywhere.
        moved.into_iter().for_each(|op| staging.stage(op));
        for (seq, entry) in &entries {
            staging.stage(Op::put(TreeId::History, history_key(&number, *seq), tagged(entry)));
        }
        rewritten.into_iter().for_each(|op| staging.stage(op));
        Ok(())
    }

    /// Commits the staged ops as one intent (steps 1–3 of
    /// [`SledStore::commit`]). Only the leader calls it.
    fn commit_staged(&self, staging: &Staging) -> Result<(), StoreError> {
        let ops = staging.take();
        if ops.is_empty() {
            return Ok(());
        }
        self.committer.intents_written.fetch_add(1, Ordering::Relaxed);
        self.intents.insert(INTENT_KEY, encode_intent(&ops)?)?;
        self.apply(&ops)?;
        Ok(())
    }

    /// The ops that would commit `batch` now, for tests.
    #[cfg(test)]
    fn plan(&self, batch: &Batch) -> Vec<Op> {
        let staging = Staging::start(self);
        self.stage_pending(&staging, Self::pending(batch).unwrap()).unwrap();
        staging.take()
    }

    /// Commits ready batches as one intent. Only the leader calls it.
    #[cfg(test)]
    fn commit_group(&self, group: Vec<Pending>) -> Result<(), StoreError> {
        let staging = Staging::start(self);
        for p in group {
            self.stage_pending(&staging, p)?;
        }
        self.commit_staged(&staging)
    }

    /// Runs the jobs a leader took, in ticket order, staging their writes
    /// (see [`Staged`]) and committing them as one intent. An operation's
    /// reads see every earlier job of the group as committed. A panic or an
    /// encoding error of an operation is handed to its caller through its
    /// slot and stages nothing. On a failure that may have left a group
    /// half applied, returns the group's first ticket and the error; the
    /// jobs after it are not run.
    fn lead(&self, jobs: Vec<Job>) -> Result<(), (u64, StoreError)> {
        let staging = Staging::start(self);
        let mut group_first = None;
        for job in jobs {
            let first = *group_first.get_or_insert(job.ticket);
            let staged_before = staging.staged_len();
            let pending = match job.work {
                Work::Batch(pending) => Ok(pending),
                Work::Op(op) => {
                    // SAFETY: see `OpPtr`: the closure's owner is waiting for
                    // this job's ticket, which is not done before we return.
                    let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| unsafe { (*op.0)() }));
                    let batch = match ran {
                        Ok(batch) => batch,
                        Err(payload) => {
                            *job.slot.panic.lock().unwrap_or_else(|p| p.into_inner()) = Some(payload);
                            None
                        }
                    };
                    let Some(batch) = batch.filter(|b| !b.is_empty()) else { continue };
                    Self::pending(&batch)
                }
            };
            // Staging only reads (a corrupt phone index entry, say, can fail
            // it) and writes nothing: a failure is this job's alone. Its
            // part-staged ops are dropped and the group goes on.
            if let Err(e) = pending.and_then(|p| self.stage_pending(&staging, p)) {
                staging.truncate(staged_before);
                *job.slot.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
            }
            if staging.staged_len() >= STAGED_OPS_MAX {
                self.commit_staged(&staging).map_err(|e| (first, e))?;
                group_first = None;
            }
        }
        match group_first {
            Some(first) => self.commit_staged(&staging).map_err(|e| (first, e)),
            None => Ok(()),
        }
    }

    /// Queues a job and waits until it is committed (and, if `durable`,
    /// until a flush round that started after that has ended), leading the
    /// queue when no commit is running. See [`SledStore::commit`].
    fn submit(&self, work: Work, slot: &Arc<Slot>, durable: bool) -> Result<(), StoreError> {
        let mut st = self.committer.lock();
        if let Some((_, reason)) = &st.broken {
            return Err(StoreError::Unfinished(reason.clone()));
        }
        st.issued += 1;
        let ticket = st.issued;
        st.queue.push(Job { ticket, work, slot: Arc::clone(slot) });
        let mut parked = false;
        loop {
            if st.done >= ticket {
                if let Some((first, reason)) = &st.broken {
                    if ticket >= *first {
                        return Err(StoreError::Unfinished(reason.clone()));
                    }
                }
                break;
            }
            if st.leading {
                if !parked {
                    st.parked.push((ticket, Arc::clone(slot), durable));
                    parked = true;
                }
                drop(st);
                std::thread::park();
                if slot.state.load(Ordering::Acquire) != WAIT_COMMIT {
                    // Committed, and handed to the flusher by `finish`.
                    return self.after_commit(slot, true);
                }
                if !durable
                    && self.committer.done.load(Ordering::Acquire) >= ticket
                    && !self.committer.broken.load(Ordering::Acquire)
                {
                    return self.after_commit(slot, false);
                }
                // Handed the lead, failed, or woken spuriously.
                st = self.committer.lock();
                continue;
            }
            // No commit is running and ours is not done, so it is still in
            // the queue: lead the whole queue.
            if parked {
                if let Some(i) = st.parked.iter().position(|(t, _, _)| *t == ticket) {
                    st.parked.remove(i);
                }
                parked = false;
            }
            let mut extra_groups = 0;
            loop {
                let jobs = std::mem::take(&mut st.queue);
                let (first, last) = (jobs[0].ticket, jobs[jobs.len() - 1].ticket);
                if st.broken.is_some() {
                    // Queued before an earlier group failed: refuse them too
                    // (their operations are never run).
                    drop(jobs);
                    self.committer.finish(&mut st, last, &self.group);
                    break;
                }
                st.leading = true;
                drop(st);
                let leading = Leading { committer: &self.committer, group: &self.group, first, last };
                let result = self.lead(jobs);
                std::mem::forget(leading);
                st = self.committer.lock();
                if let Err((at, e)) = result {
                    tracing::error!(error = %e, "commit failed half way; the store must be reopened");
                    st.broken = Some((at, e.to_string()));
                }
                let stop = st.broken.is_some() || st.queue.is_empty() || extra_groups >= LEADER_EXTRA_GROUPS_MAX;
                // Stay the leader if we go on, so `finish` hands the lead to
                // nobody.
                st.leading = !stop;
                self.committer.finish(&mut st, last, &self.group);
                if stop {
                    break;
                }
                // More jobs queued while we committed: commit them too,
                // rather than wake one of their callers to lead.
                extra_groups += 1;
            }
            // Our job was in the first group: the loop's top sees it done.
        }
        // Committed. Under the committer lock, so `finish` cannot register
        // us with the flusher a second time.
        if durable && slot.state.load(Ordering::Acquire) == WAIT_COMMIT {
            let mut fs = self.group.lock();
            self.group.enqueue(&mut fs, Arc::clone(slot));
        }
        drop(st);
        self.after_commit(slot, durable)
    }

    /// After a job is committed: waits for its flush if `durable`, then
    /// reports an encoding error of its batch, if any.
    fn after_commit(&self, slot: &Slot, durable: bool) -> Result<(), StoreError> {
        let flushed = if durable { self.group.wait(slot) } else { Ok(()) };
        if let Some(e) = slot.take_error() {
            return Err(e);
        }
        flushed
    }
}

impl Store for SledStore {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        self.read_with(TreeId::Cards, number.as_bytes(), |bytes| bytes.map(|b| decode_card(number, b)).transpose())
    }

    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.get(TreeId::Contacts, code)
    }

    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        let code = self.read_with(TreeId::Phones, e164.as_bytes(), |v| {
            v.map(|code| {
                String::from_utf8(code.to_vec())
                    .map_err(|e| StoreError::Corrupt { key: format!("{TREE_PHONES}/{e164}"), reason: e.to_string() })
            })
            .transpose()
        })?;
        let Some(code) = code else {
            return Ok(None);
        };
        let code = code.as_str();
        // A batch writes the contact before its index entry, and a crash
        // never leaves half a batch, so an entry that points nowhere means
        // the data was damaged.
        match self.contact(code)? {
            Some(contact) => Ok(Some(contact)),
            None => Err(StoreError::Corrupt {
                key: format!("{TREE_PHONES}/{e164}"),
                reason: format!("points to contact `{code}`, which does not exist"),
            }),
        }
    }

    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.get(TreeId::ContactCards, code)?.unwrap_or_default())
    }

    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        Ok(self.get(TreeId::Lots, number)?.unwrap_or_default())
    }

    /// The history tree's entries for the card, then its record's tail.
    /// The record is read first: a commit writes the chunks a tail sheds
    /// before the record without them, so every entry older than the tail
    /// read is already in the tree, and tree entries from the tail's start
    /// on (a chunk shed since) are left out as the tail has them.
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let tail = self.read_with(TreeId::Cards, number.as_bytes(), |stored| {
            let Some(bytes) = stored.filter(|b| b.first() == Some(&CARD_WITH_TAIL_TAG)) else { return Ok(None) };
            let stored = StoredCard::parse(number, bytes)?;
            let entries = stored
                .tail
                .into_iter()
                .map(|e| postcard::from_bytes(e).map_err(|e| corrupt_card(number, &format!("history tail: {e}"))))
                .collect::<Result<Vec<HistoryEntry>, _>>()?;
            Ok(Some((stored.tail_start, entries)))
        })?;
        let prefix = history_prefix(number);
        let mut entries: Vec<(sled::IVec, sled::IVec)> = Vec::new();
        for item in self.history.scan_prefix(&prefix) {
            entries.push(item?);
        }
        // On a leader building a group, its staged entries count too.
        STAGED.with(|s| {
            let s = s.borrow();
            let Some(st) = s.as_ref().filter(|st| st.store == self.addr()) else { return };
            let mut merged: std::collections::BTreeMap<Vec<u8>, Option<sled::IVec>> =
                entries.drain(..).map(|(k, v)| (k.to_vec(), Some(v))).collect();
            for (key, &i) in &st.latest[TreeId::History as usize - 1] {
                if key.starts_with(&prefix) {
                    merged.insert(key.clone(), st.ops[i].value.as_deref().map(sled::IVec::from));
                }
            }
            entries = merged.into_iter().filter_map(|(k, v)| Some((sled::IVec::from(k), v?))).collect();
        });
        // By sequence number: a single entry written after a chunk that
        // covers its number replaces that entry, as a rewrite of one key did
        // before chunks existed.
        let mut by_seq = std::collections::BTreeMap::new();
        for (key, value) in entries {
            let name = || format!("{TREE_HISTORY}/{}", String::from_utf8_lossy(&key));
            let seq = match key.get(prefix.len()..).map(<[u8; 8]>::try_from) {
                Some(Ok(seq)) => u64::from_be_bytes(seq),
                _ => {
                    return Err(StoreError::Corrupt {
                        key: name(),
                        reason: format!("key is {} bytes, expected {}", key.len(), prefix.len() + 8),
                    })
                }
            };
            if value.first() == Some(&CHUNK_TAG) {
                let chunk = split_entries(&value[1..])
                    .ok_or_else(|| StoreError::Corrupt { key: name(), reason: "malformed history chunk".into() })?;
                for (i, entry) in chunk.into_iter().enumerate() {
                    let entry = postcard::from_bytes(entry)
                        .map_err(|e| StoreError::Corrupt { key: name(), reason: e.to_string() })?;
                    by_seq.insert(seq.saturating_add(i as u64), entry);
                }
            } else {
                by_seq.insert(seq, decode(TREE_HISTORY, &key, &value)?);
            }
        }
        Ok(match tail {
            Some((start, tail)) => {
                by_seq.into_iter().filter(|(seq, _)| *seq < start).map(|(_, e)| e).chain(tail).collect()
            }
            None => by_seq.into_values().collect(),
        })
    }

    /// Commits a batch all-or-nothing across a crash with a redo intent,
    /// using only plain single-key inserts:
    ///
    /// 1. encode every write (for all trees) as an op — a full new value or
    ///    a removal, decided now, including the phone index decisions — and
    ///    insert the encoded ops as one value into the `intents` tree under
    ///    the one fixed key [`INTENT_KEY`], overwriting the previous group's;
    /// 2. apply each op with a plain insert or remove on its tree.
    ///
    /// On `open`, before anything else, the intent present (if any) is
    /// replayed: its ops re-applied, then the intent removed, and the store
    /// flushed. An orderly shutdown removes it, so there is none to replay.
    ///
    /// Why this is crash-safe: a single-key insert is atomic in sled, and
    /// sled recovers a *prefix* of its log in LSN order (recovery stops at the
    /// first torn or missing message). Groups are committed one at a time,
    /// each step logged after the previous one returned, so group N's intent
    /// is in the log before any of its ops, and after all of group N−1's ops.
    /// Hence the intent a crash leaves is that of the last group with any op
    /// in the recovered prefix (a later group's ops cannot survive without
    /// its intent), every earlier group is complete, and replay completes
    /// the last one. Ops are idempotent full-value puts and removes decided
    /// on exactly the state the replay runs on (nothing after the group
    /// survived), so replaying a group that had been applied whole is
    /// harmless, which also makes the phone index decisions safe to replay
    /// and a crash during replay harmless (the next open replays again).
    /// Overwriting instead of removing the intent after each group saves one
    /// sled write per group. If a step fails, the group may be half applied;
    /// the store then refuses every further commit
    /// ([`StoreError::Unfinished`]) so that the next open still replays that
    /// group's intent, not a later one.
    ///
    /// Serialising without convoys: callers do not queue on a mutex (each
    /// hand-over costs a wake-up, which on a busy two-core box dominated the
    /// ~25 µs a commit takes). Each caller appends its job (a batch, or a
    /// [`Store::transact`] operation) to a queue and, if no commit is
    /// running, becomes the leader: it takes the whole queue and commits it
    /// as *one* intent, running each operation against the group's staged
    /// writes (see [`Staged`]) so that it sees every earlier job. The others
    /// park until their group is done. Atomicity is then per group, which
    /// includes per batch.
    ///
    /// Wake-ups are the cost that matters, so each is spent on purpose: a
    /// finished group registers its `transact` callers with the flusher
    /// without waking them (they wake once, when durable) and unparks
    /// exactly its `commit` callers (who read the outcome from an atomic,
    /// without re-taking the mutex); a leader that finds more jobs queued
    /// goes on committing them (up to `LEADER_EXTRA_GROUPS_MAX` groups)
    /// instead of waking one of their callers to lead, and only when it stops
    /// with jobs still queued does it unpark one queued caller to lead them.
    /// Nothing here waits for a flush, and plain inserts only take sled's
    /// concurrency-control *read* side, so commits proceed while the
    /// group-commit flusher is in `fsync`.
    ///
    /// Not isolation: a reader concurrent with a commit can see some of its
    /// writes before others (see [`SledStore::encode_batch`] for the order).
    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        // Encoding needs no lock: do it before queueing.
        let pending = Self::pending(batch)?;
        self.submit(Work::Batch(pending), &Slot::new(), false)
    }

    /// Queues `op` like a batch (see [`SledStore::commit`]); the leader
    /// runs it when every job queued before it is committed, and commits
    /// what it returns before the next job. The caller then waits for the
    /// group-commit flush (see [`GroupCommit`]), parked once: a finished
    /// group registers its callers with the flusher without waking them.
    fn transact(&self, op: &mut (dyn FnMut() -> Option<Batch> + Send)) -> Result<(), StoreError> {
        let op: *mut OpFn<'_> = op;
        // SAFETY: only the lifetime is erased; see `OpPtr` for why the
        // closure outlives every use of the pointer.
        let op: *mut OpFn<'static> = unsafe { std::mem::transmute(op) };
        let slot = Slot::new();
        let result = self.submit(Work::Op(OpPtr(op)), &slot, true);
        if let Some(payload) = slot.take_panic() {
            std::panic::resume_unwind(payload);
        }
        result
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.group.sync()
    }

    /// Note: sled's `len` walks the whole tree, so this is O(cards).
    fn card_count(&self) -> usize {
        self.cards.len()
    }
}

/// Group commit: many `sync` callers, one `fsync` per round.
///
/// Why not `sled::Tree::flush_async`: in sled 0.34.7 awaiting it from several
/// tasks at once can deadlock (sled issue #1308). Why not `flush` from every
/// caller: each would pay its own `fsync`, and they serialise inside sled, so
/// throughput would not grow with the number of writers. Instead one
/// dedicated thread flushes; callers take a ticket and wait until a flush that
/// *started after* their ticket has finished. Everyone who arrives while a
/// flush is running is served by the next one, so the batch grows with load.
///
/// Why commits are not sled transactions: every sled 0.34 transaction rolls
/// the log's IO buffer (`PageCache::pin_log`), so each commit costs its own
/// buffer write, and `flush` holds sled's process-wide concurrency-control
/// read lock through the fsync while transactions need its write lock, so no
/// commit overlaps a flush (and once any transaction has run, every sled
/// operation in the process goes through that lock). With transactional
/// batches this group commit gave about 3k / 7k durable commits/s at 1 / 32
/// writers on the 2-core dev box. [`SledStore::commit`]'s intents use plain
/// inserts and removes, which overlap the flush: 3.3k–4.3k / 11.6k–20.3k in
/// two bench runs (the box's fsync latency varies a lot from run to run).
///
/// Waking: each caller is registered with a [`Slot`] in `waiters`, and a
/// round stores its outcome in exactly the slots it covers and unparks them
/// ([`GroupCommit::settle`], then [`wake`] after the lock is released); they
/// read the outcome without re-taking the mutex. A `transact` caller is
/// registered by the leader that committed its operation, without being
/// woken in between, so it parks once per call. The flusher itself is
/// signalled only when it is idle (`wake_at`), not once per ticket.
///
/// Measured (`cargo bench --bench group_commit`: 1 and 32 callers
/// alternated, five pairs, the ratio of each pair; durable calls/s):
///
/// | design                                             | service 32/1, median of pairs | store 32/1 |
/// |----------------------------------------------------|-------------------------------|------------|
/// | session 1: service mutex, then `commit` + `sync`    | 4.3× (19.9k/s at 32, criterion) | 6.0–7.4× (commit + sync) |
/// | `transact` on the leader, parked once               | 5.8× (26.1k/s, criterion)     |            |
/// | + one intent per group, fixed key, wake after unlock | 6.7–7.5× (28–52k/s)           | 7.0–7.8×   |
/// | + jemalloc in the binary and benches                 | 8.2–9.1×                      | 8.1–9.5×   |
/// | + history tails in card records (one key per change) | 9.0–9.7× (49–65k/s)           | 9.1–9.8×   |
///
/// Tried and dropped, each measured in alternating runs: holding a round
/// back to gather more tickets (session 1: rounds grew, throughput fell
/// 10–15%, because the fsync stops overlapping the next callers' commits);
/// a flusher that waits up to 100 µs for a running leader's group (no
/// gain); two flusher threads with overlapping rounds (no gain); waking a
/// round's waiters as a binary tree instead of all from the flusher (no
/// gain; worse at 128 callers); a separate waker thread, so the flusher
/// starts the next round at once (rounds got 40% shorter and smaller,
/// throughput did not move: 8.6/8.3× against 8.4/8.5× without); the leader
/// yielding the CPU before small groups (groups doubled, throughput did not
/// move); history in chunks of 4–16 entries per key, rewritten on every
/// entry (worse: the card and the chunk were still two writes, and
/// rewriting the chunk cost more than the leaf splits it saved; the tails
/// that stayed make it one write); mimalloc (slower at 32 writers).
///
/// What the time goes to at 32 callers (perf, jemalloc, before tails):
/// about a third of all CPU is sled inserts on the leader (a tenth leaf
/// splits), a quarter sled's IO threadpool (its `notify_all` wakes its 7
/// idle threads one after another for each buffer write: sled code, not
/// ours), and a tenth the flusher's unparks. With glibc the box also stayed
/// ~25% idle (vmstat), waiting on fsync latency between rounds.
#[derive(Default)]
pub(crate) struct GroupCommit {
    state: Mutex<FlushState>,
    /// Signals the flusher: new tickets or shutdown.
    work: Condvar,
}

#[derive(Default)]
struct FlushState {
    /// Highest ticket handed out.
    requested: u64,
    /// Highest ticket covered by a round that has ended, well or not.
    settled: u64,
    /// Highest ticket covered by a round whose flush succeeded.
    flushed: u64,
    /// The error of the latest failed round, handed to its waiters.
    last_error: Option<sled::Error>,
    /// Set by `Drop`: finish the current round, then exit.
    shutdown: bool,
    /// Set when the flusher thread has exited (or died): nobody will ever
    /// settle new tickets, so waiters must not wait.
    gone: bool,
    /// Flush rounds run so far, for [`SledStore::sync_stats`].
    rounds: u64,
    /// The flusher wants to be woken when `requested` reaches this.
    wake_at: u64,
    /// Registered callers and their tickets, in ticket order.
    waiters: Vec<(u64, Arc<Slot>)>,
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, FlushState> {
        // The state is a few counters that are always left consistent, so a
        // panic elsewhere while holding the lock does not make it unusable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a caller whose changes are committed: it is served by the
    /// first round that starts after this. Signals the flusher only if it
    /// is idle. The caller is not woken here (unless the flusher is gone).
    fn enqueue(&self, st: &mut FlushState, slot: Arc<Slot>) {
        if st.gone {
            slot.state.store(CLOSED, Ordering::Release);
            slot.thread.unpark();
            return;
        }
        st.requested += 1;
        let ticket = st.requested;
        if ticket >= st.wake_at {
            st.wake_at = u64::MAX;
            self.work.notify_one();
        }
        slot.state.store(WAIT_FLUSH, Ordering::Release);
        st.waiters.push((ticket, slot));
    }

    /// Parks until the caller's round has ended; its outcome.
    fn wait(&self, slot: &Slot) -> Result<(), StoreError> {
        loop {
            match slot.state.load(Ordering::Acquire) {
                FLUSHED => return Ok(()),
                FLUSH_FAILED => {
                    let st = self.lock();
                    return Err(StoreError::Sled(
                        st.last_error.clone().unwrap_or_else(|| {
                            sled::Error::ReportableBug("flush round failed without an error".into())
                        }),
                    ));
                }
                CLOSED => return Err(StoreError::Closed),
                _ => std::thread::park(),
            }
        }
    }

    fn sync(&self) -> Result<(), StoreError> {
        let slot = Slot::new();
        {
            let mut st = self.lock();
            if st.gone {
                return Err(StoreError::Closed);
            }
            self.enqueue(&mut st, Arc::clone(&slot));
        }
        self.wait(&slot)
    }

    /// Ends a round covering every ticket up to `target`: stores the outcome
    /// in exactly its waiters' slots and returns them, to be unparked
    /// ([`wake`]) once the lock is released (each unpark is a system call,
    /// and a committer registering a caller must not wait for them). Waiters
    /// of the next round stay parked, and the woken ones read their outcome
    /// without taking the lock: a `Condvar::notify_all` here would wake both
    /// rounds' waiters and make each re-take the mutex, one after another.
    #[must_use = "the served waiters must be woken"]
    fn settle(&self, st: &mut FlushState, target: u64, result: sled::Result<()>) -> Vec<Arc<Slot>> {
        st.settled = target;
        let outcome = match result {
            Ok(()) => {
                st.flushed = target;
                FLUSHED
            }
            Err(e) => {
                tracing::error!(error = %e, "flushing the store failed");
                st.last_error = Some(e);
                FLUSH_FAILED
            }
        };
        let served = st.waiters.partition_point(|(t, _)| *t <= target);
        st.waiters
            .drain(..served)
            .map(|(_, slot)| {
                slot.state.store(outcome, Ordering::Release);
                slot
            })
            .collect()
    }

    fn shut_down(&self) {
        self.lock().shutdown = true;
        self.work.notify_all();
    }

    /// The flusher thread's body.
    fn run_flusher(&self, db: &sled::Db) {
        // However this thread ends (even by a panic inside sled), waiters are
        // told, so no `sync` hangs forever.
        struct Gone<'a>(&'a GroupCommit);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                let mut st = self.0.lock();
                // Every waiter, present and future, stops waiting.
                st.gone = true;
                for (_, slot) in st.waiters.drain(..) {
                    slot.state.store(CLOSED, Ordering::Release);
                    slot.thread.unpark();
                }
            }
        }
        let _gone = Gone(self);

        let mut st = self.lock();
        loop {
            while st.requested == st.settled && !st.shutdown {
                st.wake_at = st.settled + 1;
                st = self.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            st.wake_at = u64::MAX;
            if st.requested == st.settled {
                return; // shutdown with nothing pending
            }
            // Every ticket up to `target` was registered after its commit,
            // so its changes are in sled's log and this flush covers them.
            let target = st.requested;
            drop(st);
            let result = db.flush();
            st = self.lock();
            st.rounds += 1;
            let served = self.settle(&mut st, target, result.map(drop));
            drop(st);
            wake(served);
            st = self.lock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Amount, BonusType, CardType, Category, Status};
    use crate::store::{BlockRecord, ContactWrite};
    use chrono::NaiveDate;
    use std::collections::BTreeMap;

    fn card(number: &str, history_len: u64) -> CardRecord {
        CardRecord {
            number: number.into(),
            status: Status::Blocked,
            category: Category::Virtual,
            card_type: CardType::BonusDiscount,
            contact: Some("C1".into()),
            block: Some(BlockRecord { reason: "2".into(), user: "ivan".into(), role: "director".into() }),
            history_len,
        }
    }

    fn contact(code: &str, mobile: Option<&str>) -> ContactRecord {
        let mut fields = BTreeMap::new();
        fields.insert("Loyalty".into(), "gold".into());
        ContactRecord {
            code: code.into(),
            mobile: mobile.map(Into::into),
            name: "Анна Петрова".into(),
            email: "anna@example.org".into(),
            birth_date: "1990-02-03".into(),
            gender: "F".into(),
            city: "Казань".into(),
            fields,
        }
    }

    fn entry(reason: &str) -> HistoryEntry {
        HistoryEntry {
            time: "2024-05-01T10:00:00Z".into(),
            user: "ivan".into(),
            role: "cashier".into(),
            method: "ChangeStatus".into(),
            from: Some(Status::Issued),
            to: None,
            reason: reason.into(),
        }
    }

    fn lot() -> Lot {
        Lot {
            amount: Amount::parse("12.30").unwrap(),
            bonus_type: BonusType::Status,
            active_from: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            expire: NaiveDate::from_ymd_opt(2024, 12, 31),
            frozen: true,
            receipt: Some("R-1".into()),
        }
    }

    fn write_contact(store: &SledStore, record: ContactRecord, old_mobile: Option<&str>) {
        let batch = Batch {
            contacts: vec![ContactWrite { record, old_mobile: old_mobile.map(Into::into) }],
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
    }

    #[test]
    fn records_round_trip() {
        let store = SledStore::temporary().unwrap();
        assert_eq!(store.card("1").unwrap(), None);
        assert_eq!(store.contact("C1").unwrap(), None);
        assert_eq!(store.contact_by_mobile("+79001234567").unwrap(), None);
        assert!(store.contact_cards("C1").unwrap().is_empty());
        assert!(store.lots("1").unwrap().is_empty());
        assert!(store.history("1").unwrap().is_empty());
        assert_eq!(store.card_count(), 0);

        let batch = Batch {
            cards: vec![card("1", 1)],
            contacts: vec![ContactWrite { record: contact("C1", Some("+79001234567")), old_mobile: None }],
            contact_cards: vec![("C1".into(), vec!["1".into(), "2".into()])],
            lots: vec![("1".into(), vec![lot(), lot()])],
            history: vec![("1".into(), 0, entry("first"))],
        };
        store.commit(&batch).unwrap();
        store.sync().unwrap();

        assert_eq!(store.card("1").unwrap(), Some(card("1", 1)));
        assert_eq!(store.contact("C1").unwrap(), Some(contact("C1", Some("+79001234567"))));
        assert_eq!(store.contact_by_mobile("+79001234567").unwrap(), Some(contact("C1", Some("+79001234567"))));
        assert_eq!(store.contact_cards("C1").unwrap(), vec!["1", "2"]);
        assert_eq!(store.lots("1").unwrap(), vec![lot(), lot()]);
        assert_eq!(store.history("1").unwrap(), vec![entry("first")]);
        assert_eq!(store.card_count(), 1);
    }

    #[test]
    fn reopened_store_keeps_synced_data() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            let batch = Batch {
                cards: vec![card("77", 1)],
                history: vec![("77".into(), 0, entry("kept"))],
                ..Batch::default()
            };
            store.commit(&batch).unwrap();
            store.sync().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.card("77").unwrap(), Some(card("77", 1)));
        assert_eq!(store.history("77").unwrap(), vec![entry("kept")]);
    }

    #[test]
    fn commit_makes_every_write_of_a_batch_visible() {
        let store = SledStore::temporary().unwrap();
        let batch = Batch {
            cards: vec![card("10", 2), card("11", 1)],
            contacts: vec![
                ContactWrite { record: contact("A", Some("+70000000001")), old_mobile: None },
                ContactWrite { record: contact("B", None), old_mobile: None },
            ],
            contact_cards: vec![("A".into(), vec!["10".into()]), ("B".into(), vec!["11".into()])],
            lots: vec![("10".into(), vec![lot()])],
            history: vec![("10".into(), 0, entry("a")), ("10".into(), 1, entry("b")), ("11".into(), 0, entry("c"))],
        };
        store.commit(&batch).unwrap();
        assert_eq!(store.card_count(), 2);
        assert_eq!(store.card("10").unwrap(), Some(card("10", 2)));
        assert_eq!(store.card("11").unwrap(), Some(card("11", 1)));
        assert!(store.contact("A").unwrap().is_some());
        assert!(store.contact("B").unwrap().is_some());
        assert_eq!(store.contact_by_mobile("+70000000001").unwrap().map(|c| c.code), Some("A".to_string()));
        assert_eq!(store.contact_cards("B").unwrap(), vec!["11"]);
        assert_eq!(store.lots("10").unwrap(), vec![lot()]);
        assert_eq!(store.history("10").unwrap(), vec![entry("a"), entry("b")]);
        assert_eq!(store.history("11").unwrap(), vec![entry("c")]);
        // An empty batch is a no-op, not an error.
        store.commit(&Batch::default()).unwrap();
    }

    #[test]
    fn phone_index_follows_a_changed_mobile() {
        let store = SledStore::temporary().unwrap();
        write_contact(&store, contact("C1", Some("+71111111111")), None);
        write_contact(&store, contact("C1", Some("+72222222222")), Some("+71111111111"));
        assert_eq!(store.contact_by_mobile("+71111111111").unwrap(), None);
        assert_eq!(store.contact_by_mobile("+72222222222").unwrap(), Some(contact("C1", Some("+72222222222"))));

        // Same mobile again: the entry stays.
        write_contact(&store, contact("C1", Some("+72222222222")), Some("+72222222222"));
        assert!(store.contact_by_mobile("+72222222222").unwrap().is_some());

        // Mobile cleared: the entry goes.
        write_contact(&store, contact("C1", None), Some("+72222222222"));
        assert_eq!(store.contact_by_mobile("+72222222222").unwrap(), None);
        assert_eq!(store.phones.len(), 0);
    }

    #[test]
    fn moving_a_mobile_leaves_another_contacts_entry_alone() {
        let store = SledStore::temporary().unwrap();
        write_contact(&store, contact("C1", Some("+71111111111")), None);
        // C2 takes over the number (the service made C1 give it up) ...
        write_contact(&store, contact("C2", Some("+71111111111")), None);
        // ... and a late write of C1 naming its old mobile must not unhook C2.
        write_contact(&store, contact("C1", Some("+73333333333")), Some("+71111111111"));
        assert_eq!(store.contact_by_mobile("+71111111111").unwrap().map(|c| c.code), Some("C2".to_string()));
    }

    #[test]
    fn history_is_oldest_first_across_byte_boundaries() {
        let store = SledStore::temporary().unwrap();
        // Write out of order, in several batches, around 255/256 and 65535/65536.
        let seqs = [256u64, 3, 65_536, 255, 0, 1, 65_535, 2, 257];
        for seq in seqs {
            let batch = Batch { history: vec![("5".into(), seq, entry(&seq.to_string()))], ..Batch::default() };
            store.commit(&batch).unwrap();
        }
        // A number that extends "5" must not leak into its history.
        let batch = Batch { history: vec![("55".into(), 0, entry("other card"))], ..Batch::default() };
        store.commit(&batch).unwrap();

        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        let reasons: Vec<String> = store.history("5").unwrap().into_iter().map(|e| e.reason).collect();
        let expected: Vec<String> = sorted.iter().map(u64::to_string).collect();
        assert_eq!(reasons, expected);
        assert_eq!(store.history("55").unwrap(), vec![entry("other card")]);
    }

    #[test]
    fn staged_writes_are_seen_on_the_leader_only_and_a_dropped_job_is_undone() {
        let store = Arc::new(SledStore::temporary().unwrap());
        let staging = Staging::start(&store);
        staging.stage(Op::put(TreeId::Cards, "k", b"first".to_vec()));
        let before = staging.staged_len();
        staging.stage(Op::put(TreeId::Cards, "k", b"second".to_vec()));
        let read = |store: &SledStore| store.read_with(TreeId::Cards, b"k", |v| Ok(v.map(<[u8]>::to_vec))).unwrap();
        assert_eq!(read(&store).as_deref(), Some(&b"second"[..]));
        // Another thread reads sled alone.
        let other = Arc::clone(&store);
        assert_eq!(std::thread::spawn(move || read(&other)).join().unwrap(), None);
        // A job whose staging failed is dropped, and what it shadowed shows again.
        staging.truncate(before);
        assert_eq!(read(&store).as_deref(), Some(&b"first"[..]));
        drop(staging);
        assert_eq!(read(&store), None, "nothing staged is visible once staging ends");
    }

    #[test]
    fn records_written_as_json_before_the_compact_encoding_still_read() {
        let store = SledStore::temporary().unwrap();
        let card = CardRecord {
            number: "123456".into(),
            status: Status::Blocked,
            category: Category::Virtual,
            card_type: CardType::Discount,
            contact: Some("C1".into()),
            block: Some(BlockRecord { reason: "0".into(), user: "u".into(), role: "client".into() }),
            history_len: 3,
        };
        store.cards.insert("123456", serde_json::to_vec(&card).unwrap()).unwrap();
        assert_eq!(store.card("123456").unwrap(), Some(card.clone()));
        // Written again, it is compact and reads the same.
        store.commit(&Batch { cards: vec![card.clone()], ..Default::default() }).unwrap();
        assert_eq!(store.cards.get("123456").unwrap().unwrap()[0], COMPACT_TAG);
        assert_eq!(store.card("123456").unwrap(), Some(card));
        // A compact record with bytes after it is corrupt, not silently cut.
        let mut bad = store.cards.get("123456").unwrap().unwrap().to_vec();
        bad.push(0);
        store.cards.insert("123456", bad).unwrap();
        assert!(matches!(store.card("123456"), Err(StoreError::Corrupt { .. })));
    }

    /// Commits what a state change writes: the card, now with `seq + 1`
    /// entries, and its entry `seq` (reason: the number).
    fn append(store: &SledStore, number: &str, seq: u64) {
        let batch = Batch {
            cards: vec![card(number, seq + 1)],
            history: vec![(number.into(), seq, entry(&seq.to_string()))],
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
    }

    fn reasons(store: &SledStore, number: &str) -> Vec<String> {
        store.history(number).unwrap().into_iter().map(|e| e.reason).collect()
    }

    fn upto(n: u64) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn newest_entries_ride_in_the_card_and_older_ones_move_out_in_chunks() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            for seq in 0..50 {
                append(&store, "31", seq);
                assert_eq!(reasons(&store, "31"), upto(seq + 1), "after entry {seq}");
            }
            assert_eq!(store.card("31").unwrap(), Some(card("31", 50)));
            // 48 entries in 6 chunks of 8; the last 2 in the card's tail.
            let keys: Vec<u64> = store
                .history
                .scan_prefix(history_prefix("31"))
                .map(|kv| u64::from_be_bytes(kv.unwrap().0[3..].try_into().unwrap()))
                .collect();
            assert_eq!(keys, vec![0, 8, 16, 24, 32, 40]);
            let value = store.cards.get("31").unwrap().unwrap();
            assert_eq!(value[0], CARD_WITH_TAIL_TAG);
            assert_eq!(StoredCard::parse("31", &value).unwrap().tail.len(), 2);
            store.sync().unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(reasons(&store, "31"), upto(50));
        assert_eq!(store.card("31").unwrap(), Some(card("31", 50)));
    }

    #[test]
    fn a_store_written_one_key_per_entry_reads_on_and_grows_a_tail() {
        let store = SledStore::temporary().unwrap();
        // The layout before tails: every entry its own key, a plain record.
        for seq in 0..5u64 {
            store.history.insert(history_key("32", seq), encode(&entry(&seq.to_string())).unwrap()).unwrap();
        }
        store.cards.insert("32", encode(&card("32", 5)).unwrap()).unwrap();
        assert_eq!(reasons(&store, "32"), upto(5));
        for seq in 5..30 {
            append(&store, "32", seq);
        }
        assert_eq!(reasons(&store, "32"), upto(30));
        assert_eq!(store.card("32").unwrap(), Some(card("32", 30)));
    }

    #[test]
    fn entries_out_of_sequence_or_without_their_card_move_the_tail_out_first() {
        let store = SledStore::temporary().unwrap();
        for seq in 0..3 {
            append(&store, "33", seq);
        }
        // Entry 1 written again, with the record: it replaces the old one.
        let batch =
            Batch { cards: vec![card("33", 3)], history: vec![("33".into(), 1, entry("again"))], ..Batch::default() };
        store.commit(&batch).unwrap();
        assert_eq!(reasons(&store, "33"), ["0", "again", "2"]);
        assert_eq!(store.cards.get("33").unwrap().unwrap()[0], COMPACT_TAG);
        assert_eq!(store.card("33").unwrap(), Some(card("33", 3)));

        // A tail again, then an entry without the record: the record stays
        // the same, the entries stay in sequence.
        for seq in 3..6 {
            append(&store, "33", seq);
        }
        assert_eq!(store.cards.get("33").unwrap().unwrap()[0], CARD_WITH_TAIL_TAG);
        store.commit(&Batch { history: vec![("33".into(), 6, entry("6"))], ..Batch::default() }).unwrap();
        assert_eq!(reasons(&store, "33"), ["0", "again", "2", "3", "4", "5", "6"]);
        assert_eq!(store.card("33").unwrap(), Some(card("33", 6)));
        assert_eq!(store.cards.get("33").unwrap().unwrap()[0], COMPACT_TAG);
    }

    #[test]
    fn a_reader_sees_the_history_whole_while_a_writer_appends() {
        let store = SledStore::temporary().unwrap();
        let store = &store;
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let done = &done;
            s.spawn(move || {
                for seq in 0..1000 {
                    append(store, "34", seq);
                }
                done.store(true, Ordering::Release);
            });
            let mut seen = 0;
            let mut reads = 0;
            while !done.load(Ordering::Acquire) || reads == 0 {
                let got = reasons(store, "34");
                // Always the entries 0..n, in order, none twice, none
                // missing, and never fewer than a read before.
                assert_eq!(got, upto(got.len() as u64));
                assert!(got.len() >= seen, "{} after {seen}", got.len());
                seen = got.len();
                reads += 1;
            }
        });
        assert_eq!(reasons(store, "34"), upto(1000));
    }

    #[test]
    fn a_damaged_tail_or_chunk_is_corrupt_not_a_panic() {
        let store = SledStore::temporary().unwrap();
        for seq in 0..10 {
            append(&store, "35", seq);
        }
        let good = store.cards.get("35").unwrap().unwrap().to_vec();
        // The tail's last entry cut short: the record still reads, the
        // history does not.
        store.cards.insert("35", &good[..good.len() - 1]).unwrap();
        assert_eq!(store.card("35").unwrap(), Some(card("35", 10)));
        assert!(matches!(store.history("35"), Err(StoreError::Corrupt { .. })));
        // The record's length pointing past the end.
        let mut bad = good.clone();
        bad[1..5].copy_from_slice(&u32::MAX.to_le_bytes());
        store.cards.insert("35", bad).unwrap();
        assert!(matches!(store.card("35"), Err(StoreError::Corrupt { .. })));
        assert!(matches!(store.history("35"), Err(StoreError::Corrupt { .. })));
        // A chunk cut short.
        store.cards.insert("35", good).unwrap();
        let chunk = store.history.get(history_key("35", 0)).unwrap().unwrap();
        store.history.insert(history_key("35", 0), &chunk[..chunk.len() - 2]).unwrap();
        assert!(matches!(store.history("35"), Err(StoreError::Corrupt { .. })));
    }

    #[test]
    fn corrupt_records_are_errors_not_panics() {
        let store = SledStore::temporary().unwrap();
        store.cards.insert("1", &b"{not json"[..]).unwrap();
        store.contacts.insert("C1", &b"[]"[..]).unwrap();
        store.phones.insert("+70000000000", &b"\xff\xfe"[..]).unwrap();
        store.phones.insert("+71111111111", &b"nobody"[..]).unwrap();
        store.contact_cards.insert("C1", &b"42"[..]).unwrap();
        store.lots.insert("1", &b"[{\"amount\":1}]"[..]).unwrap();
        store.history.insert(history_key("1", 0), &b""[..]).unwrap();
        store.history.insert(&b"2\x00short"[..], &b"{}"[..]).unwrap();

        let corrupt = |r: Result<(), StoreError>, what: &str| match r {
            Err(StoreError::Corrupt { key, .. }) => assert!(!key.is_empty(), "{what}"),
            other => panic!("{what}: expected Corrupt, got {other:?}"),
        };
        corrupt(store.card("1").map(drop), "card");
        corrupt(store.contact("C1").map(drop), "contact");
        corrupt(store.contact_by_mobile("+70000000000").map(drop), "phone utf8");
        corrupt(store.contact_by_mobile("+71111111111").map(drop), "dangling phone");
        corrupt(store.contact_cards("C1").map(drop), "contact cards");
        corrupt(store.lots("1").map(drop), "lots");
        corrupt(store.history("1").map(drop), "history value");
        corrupt(store.history("2").map(drop), "history key");
        // The error names the record.
        let msg = store.card("1").unwrap_err().to_string();
        assert!(msg.contains("cards/1"), "{msg}");
    }

    /// Writes `batch`'s intent as `commit` would, under intent id `id`, but
    /// applies none of its ops: a crash right after step 1.
    fn write_intent_only(store: &SledStore, id: u64, batch: &Batch) {
        let ops = store.plan(batch);
        store.intents.insert(id.to_be_bytes(), encode_intent(&ops).unwrap()).unwrap();
    }

    #[test]
    fn an_intent_without_its_ops_is_completed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let batch = Batch {
            cards: vec![card("10", 2)],
            contacts: vec![ContactWrite {
                record: contact("C1", Some("+72222222222")),
                old_mobile: Some("+71111111111".into()),
            }],
            contact_cards: vec![("C1".into(), vec!["10".into()])],
            lots: vec![("10".into(), vec![lot()])],
            history: vec![("10".into(), 0, entry("a")), ("10".into(), 1, entry("b"))],
        };
        {
            let store = SledStore::open(dir.path()).unwrap();
            write_contact(&store, contact("C1", Some("+71111111111")), None);
            write_intent_only(&store, 7, &batch);
            // Nothing of the batch is visible: only its intent was written.
            assert_eq!(store.card("10").unwrap(), None);
            assert!(store.history("10").unwrap().is_empty());
            assert_eq!(store.contact_by_mobile("+71111111111").unwrap().map(|c| c.code), Some("C1".to_string()));
            // Dropping flushes: the intent is on disk, as after a crash.
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.intents.len(), 0, "replayed intents are removed");
        assert_eq!(store.card("10").unwrap(), Some(card("10", 2)));
        assert_eq!(store.history("10").unwrap(), vec![entry("a"), entry("b")]);
        assert_eq!(store.lots("10").unwrap(), vec![lot()]);
        assert_eq!(store.contact_cards("C1").unwrap(), vec!["10"]);
        // The phone index decision made at commit time was replayed too.
        assert_eq!(store.contact_by_mobile("+71111111111").unwrap(), None);
        assert_eq!(store.contact_by_mobile("+72222222222").unwrap(), Some(contact("C1", Some("+72222222222"))));
        // New commits work as usual, each leaving its intent under the one
        // fixed key until the next overwrites it.
        store.commit(&Batch { cards: vec![card("10", 3)], ..Batch::default() }).unwrap();
        assert_eq!(store.card("10").unwrap(), Some(card("10", 3)));
        assert_eq!(store.intents.len(), 1);
        assert!(store.intents.get(INTENT_KEY).unwrap().is_some());
    }

    #[test]
    fn an_intent_left_after_its_ops_replays_harmlessly() {
        let dir = tempfile::tempdir().unwrap();
        let batch = Batch {
            cards: vec![card("20", 1)],
            contacts: vec![ContactWrite {
                record: contact("C2", Some("+73333333333")),
                old_mobile: Some("+71111111111".into()),
            }],
            history: vec![("20".into(), 0, entry("once"))],
            ..Batch::default()
        };
        {
            let store = SledStore::open(dir.path()).unwrap();
            write_contact(&store, contact("C2", Some("+71111111111")), None);
            // Crash between steps 2 and 3: the ops are applied, the intent
            // is still there.
            write_intent_only(&store, 0, &batch);
            store.apply(&store.plan(&batch)).unwrap();
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.intents.len(), 0);
        assert_eq!(store.card("20").unwrap(), Some(card("20", 1)));
        assert_eq!(store.history("20").unwrap(), vec![entry("once")]);
        assert_eq!(store.contact_by_mobile("+71111111111").unwrap(), None);
        assert_eq!(store.contact_by_mobile("+73333333333").unwrap().map(|c| c.code), Some("C2".to_string()));
        assert_eq!(store.phones.len(), 1);
    }

    #[test]
    fn a_clean_shutdown_leaves_no_intent_behind() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.commit(&Batch { cards: vec![card("40", 1)], ..Batch::default() }).unwrap();
            assert_eq!(store.intents.len(), 1, "the last group's intent stays until overwritten");
        }
        // Read the directory with sled itself: nothing for a replay to do.
        let db = sled::Config::new().path(dir.path()).open().unwrap();
        assert_eq!(db.open_tree(TREE_INTENTS).unwrap().len(), 0);
        assert!(db.open_tree(TREE_CARDS).unwrap().get("40").unwrap().is_some());
    }

    #[test]
    fn intents_replay_in_key_order() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            // Ids chosen so that byte order differs from little-endian order.
            write_intent_only(&store, 255, &Batch { cards: vec![card("30", 1)], ..Batch::default() });
            write_intent_only(&store, 256, &Batch { cards: vec![card("30", 2)], ..Batch::default() });
        }
        let store = SledStore::open(dir.path()).unwrap();
        assert_eq!(store.card("30").unwrap(), Some(card("30", 2)));
        assert_eq!(store.intents.len(), 0);
    }

    #[test]
    fn a_corrupt_intent_stops_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SledStore::open(dir.path()).unwrap();
            store.intents.insert(3u64.to_be_bytes(), &[INTENT_VERSION, 0, 0, 0, 1, 99][..]).unwrap();
        }
        match SledStore::open(dir.path()) {
            Err(StoreError::Corrupt { key, reason }) => {
                assert_eq!(key, "intents/3");
                assert!(reason.contains("tree code 99"), "{reason}");
            }
            Err(e) => panic!("expected Corrupt, got {e}"),
            Ok(_) => panic!("expected Corrupt, the store opened"),
        }
    }

    #[test]
    fn intents_round_trip_and_reject_garbage() {
        let ops = vec![
            Op::put(TreeId::Cards, &b"1"[..], b"{}".to_vec()),
            Op::remove(TreeId::Phones, &b"+7"[..]),
            Op::put(TreeId::History, Vec::new(), Vec::new()),
        ];
        let bytes = encode_intent(&ops).unwrap();
        assert_eq!(decode_intent(&[0; 8], &bytes).unwrap(), ops);
        for cut in 0..bytes.len() {
            assert!(decode_intent(&[0; 8], &bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_intent(&[0; 8], &longer).is_err());
        let mut version = bytes;
        version[0] = 2;
        assert!(decode_intent(&[0; 8], &version).is_err());
    }

    #[test]
    fn a_batch_sees_its_own_phone_writes() {
        let store = SledStore::temporary().unwrap();
        write_contact(&store, contact("C1", Some("+71111111111")), None);
        // In one batch, C2 takes C1's number, then C1 moves away naming its
        // old number: C2's fresh entry must survive, as in a transaction.
        let batch = Batch {
            contacts: vec![
                ContactWrite { record: contact("C2", Some("+71111111111")), old_mobile: None },
                ContactWrite { record: contact("C1", Some("+72222222222")), old_mobile: Some("+71111111111".into()) },
            ],
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
        assert_eq!(store.contact_by_mobile("+71111111111").unwrap().map(|c| c.code), Some("C2".to_string()));
        assert_eq!(store.contact_by_mobile("+72222222222").unwrap().map(|c| c.code), Some("C1".to_string()));
        // And a contact dropping a number it set earlier in the same batch.
        let batch = Batch {
            contacts: vec![
                ContactWrite { record: contact("C3", Some("+73333333333")), old_mobile: None },
                ContactWrite { record: contact("C3", None), old_mobile: Some("+73333333333".into()) },
            ],
            ..Batch::default()
        };
        store.commit(&batch).unwrap();
        assert_eq!(store.contact_by_mobile("+73333333333").unwrap(), None);
    }

    #[test]
    fn a_broken_writer_refuses_commits() {
        let store = SledStore::temporary().unwrap();
        store.committer.lock().broken = Some((1, "disk on fire".into()));
        match store.commit(&Batch { cards: vec![card("1", 1)], ..Batch::default() }) {
            Err(StoreError::Unfinished(reason)) => assert!(reason.contains("disk on fire")),
            other => panic!("expected Unfinished, got {other:?}"),
        }
        assert_eq!(store.card("1").unwrap(), None);
    }

    #[test]
    fn a_group_sees_its_earlier_batches_phone_writes() {
        let store = SledStore::temporary().unwrap();
        write_contact(&store, contact("C1", Some("+71111111111")), None);
        // Two batches combined into one group: C2 takes C1's number, then C1
        // moves away naming its old number; C2's entry must survive.
        let first = Batch {
            contacts: vec![ContactWrite { record: contact("C2", Some("+71111111111")), old_mobile: None }],
            ..Batch::default()
        };
        let second = Batch {
            contacts: vec![ContactWrite {
                record: contact("C1", Some("+72222222222")),
                old_mobile: Some("+71111111111".into()),
            }],
            ..Batch::default()
        };
        let group = vec![SledStore::pending(&first).unwrap(), SledStore::pending(&second).unwrap()];
        store.commit_group(group).unwrap();
        assert_eq!(store.contact_by_mobile("+71111111111").unwrap().map(|c| c.code), Some("C2".to_string()));
        assert_eq!(store.contact_by_mobile("+72222222222").unwrap().map(|c| c.code), Some("C1".to_string()));
        assert_eq!(store.intents.len(), 1, "one intent, under the fixed key");
    }

    #[test]
    fn concurrent_commits_are_combined_without_losing_any() {
        let store = SledStore::temporary().unwrap();
        let store = &store;
        std::thread::scope(|s| {
            for t in 0..16u64 {
                s.spawn(move || {
                    let number = format!("9{t}");
                    for i in 0..50u64 {
                        let batch = Batch {
                            cards: vec![card(&number, i + 1)],
                            // Each contact moves to a new number every time.
                            contacts: vec![ContactWrite {
                                record: contact(&format!("K{t}"), Some(&format!("+7000000{:04}", t * 100 + i))),
                                old_mobile: i.checked_sub(1).map(|p| format!("+7000000{:04}", t * 100 + p)),
                            }],
                            history: vec![(number.clone(), i, entry(&i.to_string()))],
                            ..Batch::default()
                        };
                        store.commit(&batch).unwrap();
                    }
                });
            }
        });
        assert_eq!(store.card_count(), 16);
        for t in 0..16u64 {
            let number = format!("9{t}");
            assert_eq!(store.card(&number).unwrap(), Some(card(&number, 50)));
            assert_eq!(store.history(&number).unwrap().len(), 50);
            let last = format!("+7000000{:04}", t * 100 + 49);
            assert_eq!(store.contact_by_mobile(&last).unwrap().map(|c| c.code), Some(format!("K{t}")));
        }
        // Each contact kept exactly its latest number.
        assert_eq!(store.phones.len(), 16);
        assert_eq!(store.intents.len(), 1, "one intent, under the fixed key");
        let st = store.committer.lock();
        assert_eq!((st.issued, st.done, st.leading), (800, 800, false));
        assert!(st.queue.is_empty() && st.broken.is_none());
    }

    fn sync_from_threads(threads: usize) {
        let store = Arc::new(SledStore::temporary().unwrap());
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for i in 0..5u64 {
                        let number = format!("{t}");
                        let batch = Batch {
                            cards: vec![card(&number, i + 1)],
                            history: vec![(number, i, entry("sync"))],
                            ..Batch::default()
                        };
                        store.commit(&batch).unwrap();
                        store.sync().unwrap();
                    }
                })
            })
            .collect();
        // A watchdog rather than a hang: a deadlock fails the test in time.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        for h in handles {
            while !h.is_finished() {
                assert!(std::time::Instant::now() < deadline, "sync from {threads} threads did not finish within 60 s");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            h.join().unwrap();
        }
        assert_eq!(store.card_count(), threads);
        let st = store.group.lock();
        assert_eq!(st.requested, threads as u64 * 5);
        assert_eq!(st.flushed, st.requested);
    }

    #[test]
    fn sync_from_32_threads_finishes() {
        sync_from_threads(32);
    }

    #[test]
    fn sync_from_128_threads_finishes() {
        sync_from_threads(128);
    }

    /// `threads` callers each run 20 read-decide-write steps on one shared
    /// counter card through `transact`: no increment may be lost (each step
    /// sees every earlier one, staged or applied), and all finish in time.
    fn transact_from_threads(threads: u64) {
        let store = Arc::new(SledStore::temporary().unwrap());
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let store = Arc::clone(&store);
                std::thread::spawn(move || {
                    for _ in 0..20 {
                        store
                            .transact(&mut || {
                                let n = store.card("counter").unwrap().map_or(0, |c| c.history_len);
                                Some(Batch {
                                    cards: vec![card("counter", n + 1)],
                                    history: vec![("counter".into(), n, entry(&n.to_string()))],
                                    ..Batch::default()
                                })
                            })
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in handles {
            join_within_60s(h);
        }
        let total = threads * 20;
        assert_eq!(store.card("counter").unwrap(), Some(card("counter", total)));
        let history = store.history("counter").unwrap();
        assert_eq!(history.len() as u64, total);
        assert!(history.iter().enumerate().all(|(i, e)| e.reason == i.to_string()), "history out of order");
        let stats = store.sync_stats();
        assert!(stats.rounds <= stats.syncs, "{stats:?}");
    }

    #[test]
    fn transact_from_32_threads_loses_no_update() {
        transact_from_threads(32);
    }

    #[test]
    fn transact_from_128_threads_finishes_and_loses_no_update() {
        transact_from_threads(128);
    }

    #[test]
    fn a_panicking_operation_panics_its_caller_writes_nothing_and_the_store_goes_on() {
        let store = SledStore::temporary().unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = store.transact(&mut || -> Option<Batch> { panic!("operation failed") });
        }));
        let payload = caught.expect_err("the caller sees the operation's panic");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"operation failed"));
        assert_eq!(store.card("1").unwrap(), None);
        // Not broken: the next change commits as usual.
        store.transact(&mut || Some(Batch { cards: vec![card("1", 1)], ..Batch::default() })).unwrap();
        assert_eq!(store.card("1").unwrap(), Some(card("1", 1)));
        // A step that writes nothing is fine too.
        store.transact(&mut || None).unwrap();
    }

    #[test]
    fn a_failed_round_is_reported_to_its_waiters() {
        // Drive the state machine by hand, as the flusher would after a
        // failed flush: the waiter gets the error instead of hanging.
        let group = Arc::new(GroupCommit::default());
        let waiter = {
            let group = Arc::clone(&group);
            std::thread::spawn(move || group.sync())
        };
        loop {
            let mut st = group.lock();
            if st.requested == 1 {
                wake(group.settle(&mut st, 1, Err(sled::Error::Io(std::io::Error::other("disk on fire")))));
                break;
            }
            drop(st);
            std::thread::yield_now();
        }
        match waiter.join().unwrap() {
            Err(StoreError::Sled(e)) => assert!(e.to_string().contains("disk on fire"), "{e}"),
            other => panic!("expected the flush error, got {other:?}"),
        }
    }

    /// Joins `handle`, failing the test instead of hanging if the thread
    /// does not finish within 60 s.
    fn join_within_60s<T>(handle: std::thread::JoinHandle<T>) -> T {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !handle.is_finished() {
            assert!(std::time::Instant::now() < deadline, "a parked caller was never woken");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        handle.join().unwrap()
    }

    #[test]
    fn a_round_wakes_its_own_waiters_only() {
        // Drive the state machine by hand: two waiters, tickets 1 and 2; a
        // round covering ticket 1 releases the first and not the second.
        let group = Arc::new(GroupCommit::default());
        let spawn_waiter = |ticket: u64| {
            let mine = Arc::clone(&group);
            let waiter = std::thread::spawn(move || mine.sync());
            while group.lock().waiters.len() < ticket as usize {
                std::thread::yield_now();
            }
            waiter
        };
        let first = spawn_waiter(1);
        let second = spawn_waiter(2);
        assert_eq!(group.lock().requested, 2);
        wake(group.settle(&mut group.lock(), 1, Ok(())));
        join_within_60s(first).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!second.is_finished(), "a waiter of the next round returned early");
        assert_eq!(group.lock().waiters.len(), 1);
        wake(group.settle(&mut group.lock(), 2, Ok(())));
        join_within_60s(second).unwrap();
        assert!(group.lock().waiters.is_empty());
    }

    #[test]
    fn a_lone_writer_gets_a_round_per_sync() {
        // One writer is never made to wait for company: each sync wakes the
        // idle flusher and gets its own round right away.
        let store = SledStore::temporary().unwrap();
        let before = store.sync_stats();
        for i in 0..200u64 {
            store.commit(&Batch { cards: vec![card("1", i + 1)], ..Batch::default() }).unwrap();
            store.sync().unwrap();
        }
        let after = store.sync_stats();
        assert_eq!(after.syncs - before.syncs, 200);
        assert_eq!(after.rounds - before.rounds, 200);
    }

    #[test]
    fn the_lead_passes_to_one_queued_caller_who_commits_the_whole_queue() {
        let store = Arc::new(SledStore::temporary().unwrap());
        // Pretend a leader is busy, so the callers queue and park.
        store.committer.lock().leading = true;
        let callers: Vec<_> = (0..3u64)
            .map(|t| {
                let mine = Arc::clone(&store);
                let handle = std::thread::spawn(move || {
                    mine.commit(&Batch { cards: vec![card(&format!("6{t}"), 1)], ..Batch::default() })
                });
                while store.committer.lock().parked.len() < t as usize + 1 {
                    std::thread::yield_now();
                }
                handle
            })
            .collect();
        let intents_before = store.committer.intents_written.load(Ordering::Relaxed);
        {
            // The pretend leader finishes an empty group.
            let mut st = store.committer.lock();
            st.leading = false;
            let done = st.done;
            store.committer.finish(&mut st, done, &store.group);
        }
        for c in callers {
            join_within_60s(c).unwrap();
        }
        let st = store.committer.lock();
        // One caller led all three batches as one group, one intent.
        assert_eq!(store.committer.intents_written.load(Ordering::Relaxed), intents_before + 1);
        assert_eq!((st.issued, st.done, st.leading), (3, 3, false));
        assert!(st.queue.is_empty());
        drop(st);
        for t in 0..3 {
            assert_eq!(store.card(&format!("6{t}")).unwrap(), Some(card(&format!("6{t}"), 1)));
        }
    }

    #[test]
    fn sync_after_the_flusher_is_gone_is_an_error_not_a_hang() {
        let group = GroupCommit::default();
        group.lock().gone = true;
        assert!(matches!(group.sync(), Err(StoreError::Closed)));
    }
}
