//! Group commit: many callers' changes written as one group and made
//! durable by one flush, knowing nothing of any engine.
//!
//! - [`combiner`]: the commit queue and its leader, which runs the queued
//!   jobs against one group of staged writes and has the engine write it;
//! - [`flusher`]: one thread that runs flush rounds over a callback, each
//!   serving every caller registered before it started;
//! - [`slot`]: where one caller waits, and how its wait ended.
//!
//! A caller of [`GroupCommit::submit`] returns once its job has run, its
//! group is written, and a flush that started after that has ended. The
//! design and its measurements are in docs/storage.md.

pub mod combiner;
pub mod flusher;
pub mod slot;

#[cfg(test)]
mod tests;

pub use combiner::{Combiner, Engine};
pub use flusher::{FlushFn, FlushStats, Flusher};

use crate::store::StoreError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A commit queue with its flusher thread, stopped and joined on drop.
pub struct GroupCommit<G> {
    combiner: Combiner<G>,
    flusher: Arc<Flusher>,
    thread: Option<JoinHandle<()>>,
}

impl<G> GroupCommit<G> {
    /// Starts the flusher thread (named `name`) over `flush`.
    pub fn start(name: &str, flush: FlushFn) -> Result<GroupCommit<G>, std::io::Error> {
        let (flusher, thread) = Flusher::start(name, flush)?;
        Ok(GroupCommit { combiner: Combiner::new(Arc::clone(&flusher)), flusher, thread: Some(thread) })
    }

    /// See [`Combiner::submit`].
    pub fn submit<E, F>(&self, engine: &E, job: &mut F) -> Result<(), StoreError>
    where
        E: Engine<Group = G>,
        F: FnMut(&mut G) + Send,
    {
        self.combiner.submit(engine, job)
    }

    /// Makes everything written so far durable.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.flusher.sync()
    }

    /// A group's write failed, or the latest flush did: the engine should
    /// recover before taking more work.
    pub fn needs_recovery(&self) -> bool {
        self.combiner.is_broken() || self.flusher.failing()
    }

    /// Whether a group's write failed (it may be half written).
    pub fn is_broken(&self) -> bool {
        self.combiner.is_broken()
    }

    pub fn stats(&self) -> FlushStats {
        self.flusher.stats()
    }
}

impl<G> Drop for GroupCommit<G> {
    fn drop(&mut self) {
        // Nobody can be inside `submit` now (we are being dropped), so the
        // flusher only has to finish a round it may be in, then exit.
        self.flusher.stop();
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the flusher thread panicked");
            }
        }
    }
}

/// One group committed with `jobs` jobs.
pub(crate) fn observe_group(jobs: usize) {
    tracing::trace!(jobs, "commit group written");
    crate::metrics::group_commit_batch(jobs);
}

/// One flush round ended.
pub(crate) fn observe_flush(took: Duration, ok: bool) {
    tracing::trace!(?took, ok, "flush round");
    crate::metrics::flush_latency(took);
}
