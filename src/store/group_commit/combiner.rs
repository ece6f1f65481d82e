//! The commit queue and its leader (flat combining): many callers, one of
//! them commits everybody's jobs as one group, the others park.
//!
//! Each caller appends its job to the queue and, if no group is being
//! committed, becomes the leader: it takes the whole queue, runs every job
//! against one group of staged writes (so a job sees every earlier job of
//! its group), and hands the group to the engine to write. A finished group
//! registers its callers with the flusher without waking them, so a caller
//! parks once per call; a leader that finds more jobs queued goes on with
//! them (up to [`LEADER_EXTRA_GROUPS_MAX`] groups) instead of waking one of
//! their callers to lead. Why: on a busy two-core machine a wake-up costs
//! more than the commit it hands over (docs/storage.md has the figures).
//!
//! The queue knows nothing of any engine: a job is a closure over the
//! engine's group type `G`, and the engine's [`Engine`] writes a group.

use super::flusher::Flusher;
use super::slot::{Slot, SlotState};
use crate::store::StoreError;
use std::sync::{Arc, Mutex, MutexGuard};

/// How many further groups a leader commits, after its own, when jobs queued
/// up meanwhile: this bounds how long the leader's own call is held up.
pub const LEADER_EXTRA_GROUPS_MAX: u32 = 64;

/// What the leader needs from an engine.
pub trait Engine {
    /// The writes of one group being built.
    type Group;
    /// An empty group.
    fn begin(&self) -> Self::Group;
    /// Whether the group should be written now, before more jobs join it
    /// (so one write stays bounded).
    fn is_full(&self, group: &Self::Group) -> bool;
    /// Writes the group's staged changes (not yet durable) and leaves it
    /// empty. An error may leave the group half written: the queue then
    /// refuses every further job (see [`Combiner::is_broken`]).
    fn write(&self, group: &mut Self::Group) -> Result<(), StoreError>;
}

/// A caller's job with its lifetime erased, so it can sit in the queue
/// that another caller's thread takes it from.
struct ErasedJob<G> {
    data: *mut (),
    call: unsafe fn(*mut (), &mut G),
}

/// Runs the `F` that `data` points to.
///
/// # Safety
/// `data` must come from `&mut F` in [`ErasedJob::new`], and that `F` must
/// still be alive and not used by anybody else.
unsafe fn call_job<G, F: FnMut(&mut G)>(data: *mut (), group: &mut G) {
    // SAFETY: the caller guarantees `data` is a live, unshared `&mut F`.
    let job = unsafe { &mut *data.cast::<F>() };
    job(group)
}

impl<G> ErasedJob<G> {
    fn new<F: FnMut(&mut G) + Send>(job: &mut F) -> ErasedJob<G> {
        ErasedJob { data: (job as *mut F).cast(), call: call_job::<G, F> }
    }
}

// SAFETY: the pointee is an `F: Send` (checked in `ErasedJob::new`), called
// by one thread at a time: the leader that took it off the queue.
unsafe impl<G> Send for ErasedJob<G> {}

/// One queued call.
struct Job<G> {
    ticket: u64,
    job: ErasedJob<G>,
}

/// The queue's shared state.
struct QueueState<G> {
    /// Jobs waiting for a leader, in ticket order.
    queue: Vec<Job<G>>,
    /// Highest ticket handed out.
    issued: u64,
    /// Every ticket up to this one has been committed, or has failed.
    done: u64,
    /// Some caller is committing a group right now.
    leading: bool,
    /// The first ticket of a group whose write failed: that group may be
    /// half written and only the engine's recovery can complete it, so no
    /// further job is taken.
    broken: Option<u64>,
    /// Parked callers (ticket, slot), in ticket order.
    parked: Vec<(u64, Arc<Slot>)>,
}

/// The commit queue of one engine instance.
///
/// INVARIANT (what [`ErasedJob`]'s safety rests on): a job leaves the queue
/// only by a leader taking it, under the lock; its ticket is marked done
/// ([`Combiner::finish`]) only after that leader is through with it (run,
/// or dropped unrun); and [`Combiner::submit`] does not return before its
/// ticket is done. So a job's closure outlives every call of it.
pub struct Combiner<G> {
    state: Mutex<QueueState<G>>,
    flusher: Arc<Flusher>,
}

impl<G> Combiner<G> {
    pub fn new(flusher: Arc<Flusher>) -> Combiner<G> {
        Combiner {
            state: Mutex::new(QueueState {
                queue: Vec::new(),
                issued: 0,
                done: 0,
                leading: false,
                broken: None,
                parked: Vec::new(),
            }),
            flusher,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<G>> {
        // Left consistent at every unlock; a leader that unwinds marks the
        // queue broken first (see `Leading`).
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a group's write failed: the engine must recover (reopen)
    /// before anything more can be committed.
    pub fn is_broken(&self) -> bool {
        self.lock().broken.is_some()
    }

    /// Runs `job` on the leader's thread as part of a group, then waits
    /// until the group is written and a flush that started after that has
    /// ended. `job` must not panic (an engine catches its operation's panic
    /// inside the job); a panic that escapes it breaks the queue.
    pub fn submit<E, F>(&self, engine: &E, job: &mut F) -> Result<(), StoreError>
    where
        E: Engine<Group = G>,
        F: FnMut(&mut G) + Send,
    {
        let slot = Slot::new();
        let mut st = self.lock();
        if st.broken.is_some() {
            return Err(StoreError::Unfinished);
        }
        st.issued += 1;
        let ticket = st.issued;
        st.queue.push(Job { ticket, job: ErasedJob::new(job) });
        let mut parked = false;
        loop {
            if st.done >= ticket {
                if st.broken.is_some_and(|first| ticket >= first) {
                    return Err(StoreError::Unfinished);
                }
                break;
            }
            if st.leading {
                if !parked {
                    st.parked.push((ticket, Arc::clone(&slot)));
                    parked = true;
                }
                drop(st);
                std::thread::park();
                if slot.state() != SlotState::WaitCommit {
                    // Committed, and registered with the flusher by `finish`.
                    return self.flusher.wait(&slot);
                }
                // Handed the lead, refused, or woken spuriously.
                st = self.lock();
                continue;
            }
            // Nobody leads and our ticket is not done, so our job is queued:
            // lead the whole queue.
            if parked {
                st.parked.retain(|(t, _)| *t != ticket);
                parked = false;
            }
            st = self.lead(engine, st);
        }
        // Committed. Under the lock, so `finish` cannot register us twice.
        if slot.state() == SlotState::WaitCommit {
            self.flusher.register(&mut self.flusher.lock(), Arc::clone(&slot));
        }
        drop(st);
        self.flusher.wait(&slot)
    }

    /// Commits the queue as groups until it is empty, the queue breaks, or
    /// [`LEADER_EXTRA_GROUPS_MAX`] more groups were committed.
    fn lead<'a, E: Engine<Group = G>>(
        &'a self,
        engine: &E,
        mut st: MutexGuard<'a, QueueState<G>>,
    ) -> MutexGuard<'a, QueueState<G>> {
        let mut extra_groups = 0;
        loop {
            let jobs = std::mem::take(&mut st.queue);
            debug_assert!(!jobs.is_empty(), "a leader leads a queue with jobs");
            debug_assert!(jobs.iter().all(|j| j.ticket > st.done), "a queued job is not done yet");
            let (first, last) = (jobs[0].ticket, jobs[jobs.len() - 1].ticket);
            if st.broken.is_some() {
                // Queued before an earlier group failed: refuse them, unrun.
                drop(jobs);
                self.finish(&mut st, last);
                return st;
            }
            st.leading = true;
            drop(st);
            let guard = Leading { combiner: self, first, last };
            let result = Self::commit_group(engine, jobs);
            std::mem::forget(guard);
            st = self.lock();
            if let Err(e) = result {
                tracing::error!(error = %e.chain(), "a commit failed half way; the store completes it on reopening");
                st.broken = Some(first);
            }
            let stop = st.broken.is_some() || st.queue.is_empty() || extra_groups >= LEADER_EXTRA_GROUPS_MAX;
            // Stay the leader if we go on, so `finish` hands the lead to nobody.
            st.leading = !stop;
            self.finish(&mut st, last);
            if stop {
                return st;
            }
            extra_groups += 1;
        }
    }

    /// Runs the jobs in ticket order against one group, writing it whenever
    /// the engine says it is full and once at the end.
    fn commit_group<E: Engine<Group = G>>(engine: &E, jobs: Vec<Job<G>>) -> Result<(), StoreError> {
        let mut group = engine.begin();
        let count = jobs.len();
        for job in jobs {
            // SAFETY: see `Combiner`'s invariant: the job's ticket is not
            // done, so its caller is still waiting in `submit` and the
            // closure is alive; only this leader took it.
            unsafe { (job.job.call)(job.job.data, &mut group) };
            if engine.is_full(&group) {
                engine.write(&mut group)?;
            }
        }
        super::observe_group(count);
        engine.write(&mut group)
    }

    /// Marks every ticket up to `last` done and releases exactly their
    /// callers: while the queue is healthy each is registered with the
    /// flusher without being woken (it wakes once, when durable); otherwise
    /// it is woken to see the failure. If jobs are still queued and nobody
    /// leads, wakes the first parked caller to lead them.
    fn finish(&self, st: &mut QueueState<G>, last: u64) {
        debug_assert!(last >= st.done, "tickets are finished in order");
        st.done = last;
        let healthy = st.broken.is_none();
        let served = st.parked.partition_point(|(t, _)| *t <= last);
        let mut flush = None;
        for (_, slot) in st.parked.drain(..served) {
            if healthy {
                let fs = flush.get_or_insert_with(|| self.flusher.lock());
                self.flusher.register(fs, slot);
            } else {
                slot.wake();
            }
        }
        drop(flush);
        if !st.leading && !st.queue.is_empty() {
            if let Some((_, next)) = st.parked.first() {
                next.wake();
            }
        }
    }
}

/// Held by the leader while it commits. If it unwinds (a panic in the
/// engine), its group may be half written: mark the queue broken and release
/// the waiters, so no caller waits for ever.
struct Leading<'a, G> {
    combiner: &'a Combiner<G>,
    first: u64,
    last: u64,
}

impl<G> Drop for Leading<'_, G> {
    fn drop(&mut self) {
        let mut st = self.combiner.lock();
        st.leading = false;
        st.broken.get_or_insert(self.first);
        self.combiner.finish(&mut st, self.last);
    }
}
