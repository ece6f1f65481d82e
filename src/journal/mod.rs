//! The integration journal: a durable, append-only log of API requests (SPEC.md §6).
//!
//! Two modes. Integration errors (a response with `Status: false`, or any HTTP
//! 4xx/5xx) are always recorded. With `--log-requests` every request is recorded,
//! together with its request and response bodies; without it, entries carry no
//! bodies, so the always-on log holds no customer data beyond the path.
//!
//! The file is `DIR/journal.jsonl`: one [`JournalEntry`] per line, as JSON. JSON
//! escapes CR and LF inside strings, so nothing a client sends can start a new
//! line and forge an entry. A line never exceeds [`LINE_BYTES_MAX`].
//!
//! Secrets: an entry has no field for headers, so the `Authorization` header
//! cannot reach the file; bodies pass through [`redact_json_body`] before they
//! are written, so a password sent in a body is replaced by `***`.
//!
//! Retention: a server drops entries older than its retention period
//! (`--journal-retention-days`, default 30), so personal data a request
//! carried, erased from the store, is gone from every server's journal
//! within that period (see `retention`).
//!
//! One file per job: `entry` (the entry and its line), `writer` (the
//! group-commit writer thread behind [`Journal::record`]), `redact` (secrets
//! out of bodies), `retention` (old entries out of the file), `read`
//! (reading and showing the journal for `cashdesk log`).
//! This module holds what they share: where the file is and what can go wrong.
//!
//! This module knows nothing of warp: the HTTP layer builds the entry.

mod entry;
mod read;
mod redact;
mod retention;
mod writer;

pub use entry::{format_time, JournalEntry, BODY_BYTES_MAX, LINE_BYTES_MAX};
pub use read::{escape_text, format_entry, parse_since, read_journal, JournalFilter};
pub use redact::redact_json_body;
pub use retention::{RETENTION_DAYS_DEFAULT, RETENTION_DAYS_MAX};
pub use writer::Journal;

use std::io;
use std::path::{Path, PathBuf};

/// Name of the journal file inside the journal directory.
pub const JOURNAL_FILE_NAME: &str = "journal.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot create journal directory `{path}`: {error}")]
    CreateDir { path: PathBuf, error: io::Error },
    #[error("cannot open journal `{path}`: {error}")]
    Open { path: PathBuf, error: io::Error },
    #[error("cannot read journal `{path}`: {error}")]
    Read { path: PathBuf, error: io::Error },
    #[error("cannot start the journal writer: {0}")]
    Spawn(io::Error),
}

/// Path of the journal file in `dir`.
pub fn journal_path(dir: &Path) -> PathBuf {
    dir.join(JOURNAL_FILE_NAME)
}

#[cfg(test)]
mod tests;
