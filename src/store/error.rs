//! The store's one error type, the same for every engine.
//!
//! An engine's own error (sled's, PostgreSQL's, the operating system's) is
//! kept as the `source`; the message says what happened in words a person
//! running the server can act on ("the disk is full", "another cashdesk is
//! running on DIR"), and never repeats the source's text, so a printed
//! chain (`message: source`) says each thing once.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// An engine's error, shared so a [`StoreError`] can be handed to every
/// caller a failed flush served.
#[derive(Clone)]
pub struct Source(Arc<dyn Error + Send + Sync>);

impl Source {
    pub fn new(e: impl Error + Send + Sync + 'static) -> Source {
        Source(Arc::new(e))
    }
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Source {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// Writing failed for want of space. Acknowledged changes are kept; the
    /// store works again once space is freed.
    #[error("the disk holding the store is full; free space and the store resumes by itself")]
    DiskFull(#[source] Source),
    /// Another process holds the store's lock.
    #[error("another cashdesk is running on {}; stop it or use another data directory", dir.display())]
    Locked {
        dir: PathBuf,
        #[source]
        source: Source,
    },
    /// The database cannot be reached (PostgreSQL down, network gone).
    #[error("the database cannot be reached; requests fail until it is back")]
    Unavailable(#[source] Source),
    /// A concurrent change conflicted with this one. Engines that can
    /// (PostgreSQL) run the operation again; this leaves `transact` only once
    /// the retries are spent.
    #[error("the change conflicted with concurrent changes too many times")]
    Conflict(#[source] Source),
    /// Any other failure of the engine or of the file system.
    #[error("the store failed: {what}")]
    Engine {
        what: String,
        #[source]
        source: Source,
    },
    /// A record read back does not decode: the data was damaged.
    #[error("stored record `{key}` is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    /// A commit failed half way: the engine refuses changes until it has
    /// completed that commit (it reopens itself to replay it).
    #[error("an earlier commit failed half way and is being completed; retry shortly")]
    Unfinished,
    #[error("the store is closed")]
    Closed,
}

impl StoreError {
    pub fn engine(what: impl Into<String>, e: impl Error + Send + Sync + 'static) -> StoreError {
        StoreError::Engine { what: what.into(), source: Source::new(e) }
    }

    /// Whether running the operation again may succeed (a conflict).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict(_))
    }

    /// The message and every cause, `: `-separated, for one log line.
    pub fn chain(&self) -> String {
        let mut out = self.to_string();
        let mut next = self.source();
        while let Some(e) = next {
            out.push_str(": ");
            out.push_str(&e.to_string());
            next = e.source();
        }
        out
    }
}
