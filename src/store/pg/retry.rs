//! The retry loop of `transact`: how many runs an operation gets and how
//! long to wait between them.

use rand::Rng;
use std::time::Duration;

/// Runs of one operation before a conflict is given back as
/// [`crate::store::StoreError::Conflict`].
pub(super) const TRIES_MAX: u32 = 10;

/// Waits before run `attempt + 1` (attempt counts from 0): a random time up
/// to 2 ms × 2^attempt, at most 100 ms, so colliding servers spread out.
pub(super) fn backoff(attempt: u32) {
    let ceiling_us = (2_000u64 << attempt.min(6)).min(100_000);
    let us = rand::thread_rng().gen_range(ceiling_us / 4..=ceiling_us);
    std::thread::sleep(Duration::from_micros(us));
}

/// Runs `f` where blocking is allowed: on a multi-threaded runtime's worker
/// through `block_in_place` (the balance reads are answered on the async
/// threads), on a thread of its own under a single-threaded runtime, and
/// as it is elsewhere. The synchronous client runs its own small runtime,
/// which may not be entered from inside another.
pub(super) fn off_async<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => f(),
    }
}
