//! The flusher: one thread that makes committed changes durable for many
//! callers at once, over a flush callback it knows nothing about.
//!
//! A caller whose changes are committed is registered with a ticket; the
//! thread runs rounds, each covering every ticket registered before it
//! started, and ends each round by storing the outcome in exactly the slots
//! it served and unparking them. Everyone who arrives while a flush runs is
//! served by the next one, so a round grows with the load. Why one thread and
//! not a flush per caller: flushes serialise inside an engine, so throughput
//! would not grow with the number of callers (docs/storage.md).

use super::slot::{Slot, SlotState};
use crate::store::StoreError;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Instant;

/// Where the flusher thread is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// Asked to stop: finish the round in progress (and any tickets
    /// registered), then exit.
    Stopping,
    /// The thread has exited (or died): nobody will settle new tickets.
    Gone,
}

/// How rounds have gone since start, for diagnostics and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushStats {
    /// Tickets registered.
    pub tickets: u64,
    /// Rounds run (one flush each).
    pub rounds: u64,
    /// Rounds whose flush failed.
    pub failed_rounds: u64,
}

#[derive(Debug)]
pub struct FlushState {
    phase: Phase,
    /// Highest ticket handed out.
    requested: u64,
    /// Highest ticket covered by a round that has ended, well or not.
    settled: u64,
    /// The error of the latest failed round, handed to its waiters.
    last_error: Option<StoreError>,
    /// Whether the latest round failed.
    failing: bool,
    /// The thread wants to be woken when `requested` reaches this.
    wake_at: u64,
    /// Registered callers and their tickets, in ticket order.
    waiters: Vec<(u64, Arc<Slot>)>,
    stats: FlushStats,
}

/// The flush callback: makes every change committed before the call durable.
pub type FlushFn = Box<dyn FnMut() -> Result<(), StoreError> + Send>;

#[derive(Debug)]
pub struct Flusher {
    state: Mutex<FlushState>,
    /// Signals the thread: new tickets, or stop.
    work: Condvar,
}

impl Flusher {
    /// Starts the flusher thread over `flush`.
    pub fn start(name: &str, flush: FlushFn) -> Result<(Arc<Flusher>, JoinHandle<()>), std::io::Error> {
        let flusher = Arc::new(Flusher {
            state: Mutex::new(FlushState {
                phase: Phase::Running,
                requested: 0,
                settled: 0,
                last_error: None,
                failing: false,
                wake_at: 1,
                waiters: Vec::new(),
                stats: FlushStats::default(),
            }),
            work: Condvar::new(),
        });
        let f = Arc::clone(&flusher);
        let handle = std::thread::Builder::new().name(name.to_string()).spawn(move || f.run(flush))?;
        Ok((flusher, handle))
    }

    pub fn lock(&self) -> MutexGuard<'_, FlushState> {
        // A few counters and a list, left consistent at every unlock.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a caller whose changes are committed: the first round that
    /// starts after this serves it. Signals the thread only if it is idle.
    /// The caller is not woken here (unless the flusher is gone).
    pub fn register(&self, st: &mut FlushState, slot: Arc<Slot>) {
        if st.phase == Phase::Gone {
            slot.set(SlotState::Closed);
            slot.wake();
            return;
        }
        st.requested += 1;
        st.stats.tickets += 1;
        let ticket = st.requested;
        if ticket >= st.wake_at {
            st.wake_at = u64::MAX;
            self.work.notify_one();
        }
        slot.set(SlotState::WaitFlush);
        debug_assert!(st.waiters.last().is_none_or(|(t, _)| *t < ticket), "waiters out of ticket order");
        st.waiters.push((ticket, slot));
    }

    /// Parks until the caller's round has ended; its outcome.
    pub fn wait(&self, slot: &Slot) -> Result<(), StoreError> {
        loop {
            match slot.state() {
                SlotState::Flushed => return Ok(()),
                SlotState::FlushFailed => {
                    return Err(self.lock().last_error.clone().unwrap_or(StoreError::Closed));
                }
                SlotState::Closed => return Err(StoreError::Closed),
                SlotState::WaitCommit | SlotState::WaitFlush => std::thread::park(),
            }
        }
    }

    /// Makes everything committed so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        let slot = Slot::new();
        self.register(&mut self.lock(), Arc::clone(&slot));
        self.wait(&slot)
    }

    /// Whether the latest round failed (the engine may need reopening).
    pub fn failing(&self) -> bool {
        self.lock().failing
    }

    pub fn stats(&self) -> FlushStats {
        self.lock().stats
    }

    /// Asks the thread to finish what is registered and exit.
    pub fn stop(&self) {
        let mut st = self.lock();
        if st.phase == Phase::Running {
            st.phase = Phase::Stopping;
        }
        self.work.notify_all();
    }

    /// Ends a round covering every ticket up to `target`: stores the outcome
    /// in exactly its waiters' slots and returns them, to be woken once the
    /// lock is released (each unpark is a system call, and a committer
    /// registering a caller must not wait for them).
    #[must_use = "the served waiters must be woken"]
    fn settle(&self, st: &mut FlushState, target: u64, result: Result<(), StoreError>) -> Vec<Arc<Slot>> {
        debug_assert!(target > st.settled && target <= st.requested, "a round settles only new tickets");
        st.settled = target;
        st.stats.rounds += 1;
        let outcome = match result {
            Ok(()) => {
                st.failing = false;
                SlotState::Flushed
            }
            Err(e) => {
                tracing::error!(error = %e.chain(), "making the store durable failed");
                st.stats.failed_rounds += 1;
                st.failing = true;
                st.last_error = Some(e);
                SlotState::FlushFailed
            }
        };
        let served = st.waiters.partition_point(|(t, _)| *t <= target);
        st.waiters
            .drain(..served)
            .map(|(_, slot)| {
                slot.set(outcome);
                slot
            })
            .collect()
    }

    /// The thread's body.
    fn run(&self, mut flush: FlushFn) {
        // However this thread ends (even by a panic in `flush`), waiters are
        // told, so no caller waits for ever.
        struct Gone<'a>(&'a Flusher);
        impl Drop for Gone<'_> {
            fn drop(&mut self) {
                let mut st = self.0.lock();
                st.phase = Phase::Gone;
                for (_, slot) in st.waiters.drain(..) {
                    slot.set(SlotState::Closed);
                    slot.wake();
                }
            }
        }
        let _gone = Gone(self);
        let mut st = self.lock();
        loop {
            while st.requested == st.settled && st.phase == Phase::Running {
                st.wake_at = st.settled + 1;
                st = self.work.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            st.wake_at = u64::MAX;
            if st.requested == st.settled {
                return; // stopping, nothing registered
            }
            // Every ticket up to `target` was registered after its commit,
            // so this flush covers its changes.
            let target = st.requested;
            drop(st);
            let started = Instant::now();
            let result = flush();
            crate::store::group_commit::observe_flush(started.elapsed(), result.is_ok());
            st = self.lock();
            let served = self.settle(&mut st, target, result);
            drop(st);
            served.iter().for_each(|s| s.wake());
            st = self.lock();
        }
    }
}
