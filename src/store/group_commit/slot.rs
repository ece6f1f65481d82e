//! Where one caller waits, and how its wait ended.
//!
//! Whoever ends a wait stores the outcome in the slot before unparking the
//! caller's thread, so the woken caller reads it without taking any lock, and
//! a spurious wake-up is told apart by the state still being a waiting one.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::thread::Thread;

/// The states of a wait, in the order a caller goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SlotState {
    /// Its job is queued or being committed (or it was handed the lead).
    WaitCommit = 0,
    /// Committed and registered with the flusher, waiting for a round.
    WaitFlush = 1,
    /// The round that served it made everything durable.
    Flushed = 2,
    /// The round that served it failed.
    FlushFailed = 3,
    /// The flusher is gone; nobody will flush.
    Closed = 4,
}

impl SlotState {
    fn from_u8(v: u8) -> SlotState {
        match v {
            0 => SlotState::WaitCommit,
            1 => SlotState::WaitFlush,
            2 => SlotState::Flushed,
            3 => SlotState::FlushFailed,
            _ => SlotState::Closed,
        }
    }

    /// Whether the wait is over.
    pub fn is_final(self) -> bool {
        matches!(self, SlotState::Flushed | SlotState::FlushFailed | SlotState::Closed)
    }
}

/// One caller's wait.
#[derive(Debug)]
pub struct Slot {
    thread: Thread,
    state: AtomicU8,
}

impl Slot {
    /// A slot for the calling thread.
    pub fn new() -> Arc<Slot> {
        Arc::new(Slot { thread: std::thread::current(), state: AtomicU8::new(SlotState::WaitCommit as u8) })
    }

    pub fn state(&self) -> SlotState {
        SlotState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Moves the wait on. A final state is never left.
    pub fn set(&self, state: SlotState) {
        debug_assert!(!self.state().is_final(), "a finished wait was moved on to {state:?}");
        self.state.store(state as u8, Ordering::Release);
    }

    /// Unparks the waiting thread (it reads the state it was given).
    pub fn wake(&self) {
        self.thread.unpark();
    }
}
