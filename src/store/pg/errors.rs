//! PostgreSQL's errors in the store's words: conflicts (re-run the
//! operation), an unreachable database, the rest. Messages never carry the
//! store URL's password: the client's errors do not name it, and ours use
//! [`super::config::redact`].

use super::super::{Source, StoreError};
use tokio_postgres::error::SqlState;
use tokio_postgres::Error;

/// Whether the database said "run it again": serialisation failure,
/// deadlock, or a unique key taken by a concurrent change.
pub(super) fn is_conflict(e: &Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    )
}

/// Whether the connection is gone (server down, restarted, network).
pub(super) fn is_connection_lost(e: &Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        // Class 08: connection exception; class 57: operator intervention
        // (shutdown, restart, cannot connect now).
        Some(c) => c.code().starts_with("08") || c.code().starts_with("57"),
        // No SQL state: an I/O or protocol error, not the server's answer.
        None => e.as_db_error().is_none() && std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// The store error for a client error in `what` (e.g. "reading card 123").
pub(super) fn map(what: &str, e: Error) -> StoreError {
    if is_conflict(&e) {
        StoreError::Conflict(Source::new(e))
    } else if is_connection_lost(&e) {
        StoreError::Unavailable(Source::new(e))
    } else {
        StoreError::engine(what, e)
    }
}

/// A pool that could not hand out a connection in time: the database is
/// unreachable (r2d2 says only "timed out"; the connect errors are logged).
pub(super) fn pool(e: r2d2::Error) -> StoreError {
    StoreError::Unavailable(Source::new(e))
}
