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
//! Durability without stalling requests: [`Journal::record`] only formats the
//! line and hands it to one writer thread. The writer drains whatever is
//! waiting, appends it with one `write`, and calls `sync_data` once for the whole
//! batch (group commit), so the fsync cost is shared by every request that
//! arrived meanwhile and is never paid on the async request path.
//!
//! This module knows nothing of warp: the HTTP layer builds the entry.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Name of the journal file inside the journal directory.
pub const JOURNAL_FILE_NAME: &str = "journal.jsonl";

/// A body longer than this is cut (at a character boundary) and marked.
pub const BODY_BYTES_MAX: usize = 16 * 1024;

/// No line of the file, newline included, is longer than this.
pub const LINE_BYTES_MAX: usize = 64 * 1024;

/// The short text fields (time, user, role, method, path, key) are cut to this.
/// Even if every one of them were made of control characters (6 bytes each once
/// JSON-escaped), they fit in [`LINE_BYTES_MAX`] with room to spare, which is
/// what lets [`encode_line`] always meet the line limit by shrinking bodies.
const FIELD_BYTES_MAX: usize = 1024;

/// Entries waiting for the writer. When the disk cannot keep up, `record`
/// drops entries rather than block a request or grow memory without bound;
/// the writer reports how many were lost.
const QUEUE_ENTRIES_MAX: usize = 8192;

/// The writer stops draining after this many messages so that, under
/// sustained load, a batch still reaches the disk in bounded time.
const BATCH_ENTRIES_MAX: usize = QUEUE_ENTRIES_MAX;

/// Capacity the writer's batch buffer keeps between batches.
const BUFFER_BYTES_KEPT: usize = 1024 * 1024;

/// Replaces the value of a redacted field.
const REDACTED: &str = "***";

/// Replaces a body that is not JSON but mentions a secret field: without a
/// parse we cannot tell where the secret ends, so none of the body is kept.
const WITHHELD_BODY: &str = "*** body withheld: not JSON and names a secret field ***";

/// Field names containing one of these (case-insensitively) are redacted.
const SECRET_FIELD_PARTS: [&str; 2] = ["password", "authorization"];

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

/// One request as journaled; one line of `journal.jsonl`.
///
/// Deliberately has no place for headers: the `Authorization` header can never
/// be journaled by mistake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// RFC 3339, UTC, milliseconds; see [`format_time`].
    pub time: String,
    /// The authenticated user; empty when the request was not authenticated.
    pub user: String,
    pub role: String,
    /// The HTTP method.
    pub method: String,
    pub path: String,
    pub http_status: u16,
    /// The response `Key`, e.g. `OK`, `StatusError`.
    pub key: String,
    /// The response had `Status: false`.
    pub error: bool,
    pub request_body: Option<String>,
    pub response_body: Option<String>,
    pub duration_ms: f64,
}

impl JournalEntry {
    /// An integration error: the API said `Status: false` or HTTP said 4xx/5xx.
    /// These are journaled even when request logging is off.
    pub fn is_error(&self) -> bool {
        self.error || self.http_status >= 400
    }
}

/// The journal's time format: RFC 3339 in UTC with milliseconds,
/// e.g. `2024-05-01T12:00:00.123Z`. Fixed width, so times sort as text.
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Path of the journal file in `dir`.
pub fn journal_path(dir: &Path) -> PathBuf {
    dir.join(JOURNAL_FILE_NAME)
}

/// What the writer thread receives.
enum Message {
    /// A complete JSON line, without its newline.
    Line(String),
    /// Answer once everything received before this is on disk.
    Flush(mpsc::Sender<()>),
}

/// The open journal. Share it behind an `Arc`; `record` takes `&self`.
pub struct Journal {
    log_requests: bool,
    /// `None` only while dropping.
    sender: Option<SyncSender<Message>>,
    writer: Option<JoinHandle<()>>,
    /// Entries dropped because the queue was full, not yet reported.
    dropped: Arc<AtomicU64>,
}

impl Journal {
    /// Opens (creating if needed) `dir/journal.jsonl` for appending and starts
    /// the writer thread. With `log_requests` false only errors are journaled.
    pub fn open(dir: &Path, log_requests: bool) -> Result<Journal, JournalError> {
        std::fs::create_dir_all(dir).map_err(|error| JournalError::CreateDir { path: dir.to_path_buf(), error })?;
        let path = journal_path(dir);
        let open_error = |error| JournalError::Open { path: path.clone(), error };
        let existed = path.exists();
        // Read access too, only to look at the last byte below.
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(open_error)?;
        // A crash mid-write leaves a torn last line with no newline. Appending
        // straight after it would glue the next entry onto the fragment and
        // lose both, so the writer first ends the fragment with a newline.
        let torn = ends_without_newline(&mut file).map_err(open_error)?;
        if !existed {
            sync_dir(dir);
        }

        let (sender, receiver) = mpsc::sync_channel(QUEUE_ENTRIES_MAX);
        let dropped = Arc::new(AtomicU64::new(0));
        let writer = Writer { file, path, needs_newline: torn, dropped: Arc::clone(&dropped) };
        let writer = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(JournalError::Spawn)?;
        Ok(Journal { log_requests, sender: Some(sender), writer: Some(writer), dropped })
    }

    /// Whether every request is journaled (`--log-requests`), not only errors.
    /// The HTTP layer can skip capturing bodies when this is false.
    pub fn log_requests(&self) -> bool {
        self.log_requests
    }

    /// Queues `entry` for the disk and returns at once; it never waits for
    /// I/O. Skips non-error entries unless request logging is on, and strips
    /// bodies unless it is on. Bodies are redacted and cut to size.
    pub fn record(&self, mut entry: JournalEntry) {
        if !self.log_requests {
            if !entry.is_error() {
                return;
            }
            // SPEC §6: request bodies belong to the full mode only. The
            // response of an error is the envelope with its Key and Value,
            // which is what makes an integration error readable, so it stays.
            entry.request_body = None;
        }
        let Some(line) = encode_line(entry) else {
            return;
        };
        let Some(sender) = &self.sender else {
            return;
        };
        match sender.try_send(Message::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                // Counted here, reported by the writer once per batch, so a
                // burst of drops does not become a burst of log lines.
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {
                tracing::error!("journal writer has stopped; entry not journaled");
            }
        }
    }

    /// Blocks until everything recorded before this call is written and
    /// synced (or the write failed and was reported). For shutdown and tests;
    /// never call it on the async request path.
    pub fn flush(&self) {
        let Some(sender) = &self.sender else {
            return;
        };
        let (ack, done) = mpsc::channel();
        // Blocking send: a flush must not be dropped when the queue is full.
        if sender.send(Message::Flush(ack)).is_err() {
            return;
        }
        // An error means the writer is gone; nothing more can be written.
        let _ = done.recv();
    }
}

impl Drop for Journal {
    /// Stops the writer after it has written everything already queued.
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is left and exit.
        drop(self.sender.take());
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("journal writer panicked");
            }
        }
    }
}

/// The writer thread's state.
struct Writer {
    file: File,
    path: PathBuf,
    /// The file may end in a partial line (torn by a crash or a failed write):
    /// the next write must start with a newline.
    needs_newline: bool,
    dropped: Arc<AtomicU64>,
}

impl Writer {
    /// Group commit: wait for one message, take everything else waiting, write
    /// it all, sync once, answer the flushes; until the journal is dropped.
    fn run(mut self, receiver: Receiver<Message>) {
        let mut buffer = Vec::new();
        let mut acks = Vec::new();
        while let Ok(first) = receiver.recv() {
            let mut next = Some(first);
            let mut taken = 0;
            while let Some(message) = next {
                match message {
                    Message::Line(line) => {
                        buffer.extend_from_slice(line.as_bytes());
                        buffer.push(b'\n');
                    }
                    Message::Flush(ack) => acks.push(ack),
                }
                taken += 1;
                next = if taken < BATCH_ENTRIES_MAX { receiver.try_recv().ok() } else { None };
            }
            if !buffer.is_empty() {
                self.write(&buffer);
                buffer.clear();
                // One burst may have grown it to hundreds of MiB; do not keep that.
                buffer.shrink_to(BUFFER_BYTES_KEPT);
            }
            for ack in acks.drain(..) {
                // The flusher may have gone; nobody to tell then.
                let _ = ack.send(());
            }
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            if dropped > 0 {
                tracing::error!(
                    dropped,
                    path = %self.path.display(),
                    "journal queue was full: entries were not journaled"
                );
            }
        }
    }

    /// Appends `lines` and syncs. Failures are reported and survived: the
    /// journal must never take the server down.
    fn write(&mut self, lines: &[u8]) {
        if self.needs_newline {
            if let Err(error) = self.file.write_all(b"\n") {
                self.report("write", &error);
                return;
            }
            self.needs_newline = false;
        }
        if let Err(error) = self.file.write_all(lines) {
            // Part of the batch may have reached the file; end it before the
            // next batch so only the torn line is lost.
            self.needs_newline = true;
            self.report("write", &error);
            return;
        }
        if let Err(error) = self.file.sync_data() {
            self.report("sync", &error);
        }
    }

    fn report(&self, what: &str, error: &io::Error) {
        tracing::error!(path = %self.path.display(), %error, "journal {what} failed");
    }
}

/// Whether a non-empty file does not end with a newline (a torn last line).
fn ends_without_newline(file: &mut File) -> io::Result<bool> {
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    // Appends ignore the position (O_APPEND), so leaving it here is harmless.
    Ok(last[0] != b'\n')
}

/// Makes a newly created journal file's directory entry durable, so the file
/// survives a power loss along with its synced contents. Best effort: a
/// failure only weakens durability of the first entries, so it is reported.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::error!(path = %dir.display(), %error, "cannot sync journal directory");
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Formats `entry` as one JSON line (no newline) of at most
/// `LINE_BYTES_MAX - 1` bytes: redacts and cuts the bodies, cuts the short
/// fields, then halves the body budget until the line fits. Returns `None`
/// only if serialization fails, which it cannot for this type; that case is
/// reported rather than panicking.
fn encode_line(mut entry: JournalEntry) -> Option<String> {
    for field in [&mut entry.time, &mut entry.user, &mut entry.role, &mut entry.method, &mut entry.path, &mut entry.key]
    {
        if field.len() > FIELD_BYTES_MAX {
            *field = truncate_marked(field, FIELD_BYTES_MAX);
        }
    }
    // serde_json writes NaN and infinities as `null`, which would not read
    // back as f64 and would make the whole entry unreadable.
    if !entry.duration_ms.is_finite() {
        entry.duration_ms = 0.0;
    }
    let request = entry.request_body.take().map(|b| redact_json_body(&b));
    let response = entry.response_body.take().map(|b| redact_json_body(&b));
    let mut budget = BODY_BYTES_MAX;
    loop {
        entry.request_body = request.as_deref().map(|b| truncate_marked(b, budget));
        entry.response_body = response.as_deref().map(|b| truncate_marked(b, budget));
        let line = match serde_json::to_string(&entry) {
            Ok(line) => line,
            Err(error) => {
                tracing::error!(%error, "cannot encode journal entry");
                return None;
            }
        };
        // With the budget at zero the line fits by construction (FIELD_BYTES_MAX).
        if line.len() < LINE_BYTES_MAX || budget == 0 {
            return Some(line);
        }
        budget /= 2;
    }
}

/// `text` unchanged if it is at most `max` bytes; otherwise its first `max`
/// bytes (backing off to a character boundary) and a marker giving the size.
fn truncate_marked(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[truncated, {} bytes in all]", &text[..end], text.len())
}

/// Replaces with `***` the value of every JSON object field, at any depth,
/// whose name contains `password` or `authorization` (any case).
///
/// Returns the text unchanged when nothing was redacted (so the journal shows
/// the body exactly as sent) and when it is not JSON — except that non-JSON
/// text naming a secret field is withheld entirely: without a parse there is
/// no telling where the secret ends, and SPEC §6 says passwords never appear.
pub fn redact_json_body(body: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(mut value) => {
            if redact_value(&mut value) {
                // Cannot fail: the value was just parsed from JSON.
                serde_json::to_string(&value).unwrap_or_else(|_| WITHHELD_BODY.to_owned())
            } else {
                body.to_owned()
            }
        }
        Err(_) if names_secret(body) => WITHHELD_BODY.to_owned(),
        Err(_) => body.to_owned(),
    }
}

/// Redacts in place; says whether anything was redacted.
fn redact_value(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(fields) => {
            let mut redacted = false;
            for (name, field) in fields.iter_mut() {
                if names_secret(name) {
                    *field = serde_json::Value::String(REDACTED.to_owned());
                    redacted = true;
                } else {
                    redacted |= redact_value(field);
                }
            }
            redacted
        }
        serde_json::Value::Array(items) => {
            // No short-circuit: every item must be visited.
            items.iter_mut().fold(false, |acc, item| redact_value(item) | acc)
        }
        _ => false,
    }
}

fn names_secret(text: &str) -> bool {
    let lower = text.to_lowercase();
    SECRET_FIELD_PARTS.iter().any(|part| lower.contains(part))
}

/// `text` with control characters escaped, so logged input cannot break a
/// line or drive the terminal: `\r`, `\n`, `\t` as such, other control
/// characters (C0, DEL, C1) as `\u{..}`; likewise the Unicode line and
/// paragraph separators and the bidirectional controls, which some viewers
/// honour (a line break; text shown in another order than written).
/// Backslashes are left alone, so JSON bodies stay readable; an escape is
/// therefore only a hint, never a way to add a line.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || is_deceptive_format(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Unicode line/paragraph separators and bidirectional controls.
fn is_deceptive_format(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// One entry for people: `TIME USER(ROLE) METHOD PATH -> HTTP KEY (N ms)`,
/// then each body present on its own indented line. Every field is escaped
/// with [`escape_text`], so an entry is exactly `1 + bodies` lines.
pub fn format_entry(entry: &JournalEntry) -> String {
    let who = match (entry.user.is_empty(), entry.role.is_empty()) {
        (true, _) => "-".to_owned(),
        (false, true) => escape_text(&entry.user),
        (false, false) => format!("{}({})", escape_text(&entry.user), escape_text(&entry.role)),
    };
    let mut out = format!(
        "{} {} {} {} -> {} {} ({:.1} ms)",
        escape_text(&entry.time),
        who,
        escape_text(&entry.method),
        escape_text(&entry.path),
        entry.http_status,
        escape_text(&entry.key),
        entry.duration_ms,
    );
    for (label, body) in [("request:", &entry.request_body), ("response:", &entry.response_body)] {
        if let Some(body) = body {
            out.push_str(&format!("\n    {label:<9} {}", escape_text(body)));
        }
    }
    out
}

/// Which entries [`read_journal`] returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Only integration errors (see [`JournalEntry::is_error`]).
    pub errors_only: bool,
    /// Only entries at or after this time.
    pub since: Option<DateTime<Utc>>,
}

impl JournalFilter {
    fn accepts(&self, entry: &JournalEntry) -> bool {
        if self.errors_only && !entry.is_error() {
            return false;
        }
        match self.since {
            None => true,
            // An entry whose time does not parse cannot be shown to be recent.
            Some(since) => {
                DateTime::parse_from_rfc3339(&entry.time).is_ok_and(|time| time.with_timezone(&Utc) >= since)
            }
        }
    }
}

/// Reads `dir/journal.jsonl`, oldest first, keeping the entries `filter`
/// accepts. A last line without its newline is a write in progress or one torn
/// by a crash, and is skipped silently. Any other line that is not an entry
/// (a torn line that a restart closed off) is skipped with a warning: one bad
/// line must not hide the rest of the journal.
pub fn read_journal(dir: &Path, filter: &JournalFilter) -> Result<Vec<JournalEntry>, JournalError> {
    let path = journal_path(dir);
    let read_error = |error| JournalError::Read { path: path.clone(), error };
    let mut reader = BufReader::new(File::open(&path).map_err(read_error)?);
    let mut entries = Vec::new();
    // Bytes, not `String`: a line torn inside a UTF-8 sequence is not UTF-8.
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(read_error)? == 0 {
            break;
        }
        number += 1;
        if line.last() != Some(&b'\n') {
            break;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<JournalEntry>(&line) {
            Ok(entry) if filter.accepts(&entry) => entries.push(entry),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(path = %path.display(), line = number, %error, "skipping unreadable journal line");
            }
        }
    }
    Ok(entries)
}

/// Parses a `--since` value: an RFC 3339 time (`2024-05-01T12:00:00Z`), a
/// date (`2024-05-01`, meaning its midnight UTC), or a duration back from now:
/// a number and a unit `s`, `m`, `h` or `d` (`15m`, `2h`, `3d`).
pub fn parse_since(text: &str) -> Result<DateTime<Utc>, String> {
    parse_since_at(text, Utc::now())
}

/// [`parse_since`] with "now" given, so relative forms can be tested exactly.
fn parse_since_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let invalid = || {
        format!("`{text}` is not a time: use RFC 3339 (2024-05-01T12:00:00Z), a date (2024-05-01) or a duration (15m, 2h, 3d)")
    };
    let split = text.len().checked_sub(1).filter(|&i| text.is_char_boundary(i)).ok_or_else(invalid)?;
    let (count, unit) = text.split_at(split);
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let too_far = || format!("`{text}` reaches too far back");
    let count: i64 = count.parse().map_err(|_| too_far())?;
    let delta = match unit {
        "s" => TimeDelta::try_seconds(count),
        "m" => TimeDelta::try_minutes(count),
        "h" => TimeDelta::try_hours(count),
        "d" => TimeDelta::try_days(count),
        _ => return Err(invalid()),
    }
    .ok_or_else(too_far)?;
    now.checked_sub_signed(delta).ok_or_else(too_far)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, http_status: u16, error: bool) -> JournalEntry {
        JournalEntry {
            time: format_time(Utc::now()),
            user: "anna".into(),
            role: "cashier".into(),
            method: "GET".into(),
            path: "/api/card/Active".into(),
            http_status,
            key: key.into(),
            error,
            request_body: Some(r#"{"Number":"1234"}"#.into()),
            response_body: Some(r#"{"Status":true,"Key":"OK"}"#.into()),
            duration_ms: 1.5,
        }
    }

    fn ok_entry() -> JournalEntry {
        entry("OK", 200, false)
    }

    fn status_error() -> JournalEntry {
        entry("StatusError", 200, true)
    }

    fn read_all(dir: &Path) -> Vec<JournalEntry> {
        read_journal(dir, &JournalFilter::default()).unwrap()
    }

    fn file_text(dir: &Path) -> String {
        std::fs::read_to_string(journal_path(dir)).unwrap()
    }

    #[test]
    fn errors_are_journaled_even_without_request_logging() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), false).unwrap();
        journal.record(ok_entry());
        journal.record(status_error());
        journal.record(entry("Unauthorized", 401, false));
        journal.flush();
        let keys: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["StatusError", "Unauthorized"]);
    }

    #[test]
    fn ok_requests_are_journaled_with_request_logging() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        journal.record(ok_entry());
        journal.record(status_error());
        journal.flush();
        let entries = read_all(dir.path());
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0], ok_entry_with_time(&entries[0].time));
    }

    fn ok_entry_with_time(time: &str) -> JournalEntry {
        JournalEntry { time: time.to_owned(), ..ok_entry() }
    }

    #[test]
    fn request_bodies_are_kept_only_when_request_logging_is_on() {
        let dir = tempfile::tempdir().unwrap();
        let expected_response = status_error().response_body;
        assert!(expected_response.is_some());
        Journal::open(dir.path(), false).unwrap().record(status_error());
        let entries = read_all(dir.path());
        assert_eq!(entries[0].request_body, None);
        assert_eq!(entries[0].response_body, expected_response, "an error keeps its envelope");
    }

    #[test]
    fn flush_makes_recorded_entries_readable() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        for _ in 0..10 {
            journal.record(ok_entry());
        }
        journal.flush();
        assert_eq!(read_all(dir.path()).len(), 10);
        journal.record(status_error());
        journal.flush();
        assert_eq!(read_all(dir.path()).len(), 11);
    }

    #[test]
    fn dropping_the_journal_writes_what_was_queued() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        for _ in 0..100 {
            journal.record(ok_entry());
        }
        drop(journal);
        assert_eq!(read_all(dir.path()).len(), 100);
    }

    #[test]
    fn reopening_appends_to_the_existing_journal() {
        let dir = tempfile::tempdir().unwrap();
        Journal::open(dir.path(), true).unwrap().record(ok_entry());
        Journal::open(dir.path(), true).unwrap().record(status_error());
        assert_eq!(read_all(dir.path()).len(), 2);
    }

    #[test]
    fn crlf_in_a_body_cannot_add_a_line_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        let forged = format!("x\r\n{}\n", serde_json::to_string(&status_error()).unwrap());
        let mut e = ok_entry();
        e.request_body = Some(forged.clone());
        e.path = "/api/card/Active?Number=1\r\nX".into();
        e.user = "eve\n".into();
        journal.record(e);
        journal.flush();
        assert_eq!(file_text(dir.path()).lines().count(), 1);
        let entries = read_all(dir.path());
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].request_body.as_deref(), Some(forged.as_str()));
        assert_eq!(format_entry(&entries[0]).lines().count(), 3);
    }

    #[test]
    fn a_password_field_in_a_json_body_is_redacted() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        let mut e = ok_entry();
        e.request_body =
            Some(r#"{"Login":"anna","Password":"hunter2","Nested":[{"newPASSWORD":{"a":"s3cret"}}]}"#.into());
        e.response_body = Some(r#"{"Authorization":"Basic YW5uYTpodW50ZXIy"}"#.into());
        journal.record(e);
        journal.flush();
        let text = file_text(dir.path());
        for secret in ["hunter2", "s3cret", "YW5uYTpodW50ZXIy"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
        let entry = &read_all(dir.path())[0];
        let request: serde_json::Value = serde_json::from_str(entry.request_body.as_deref().unwrap()).unwrap();
        assert_eq!(request["Password"], "***");
        assert_eq!(request["Login"], "anna");
        assert_eq!(request["Nested"][0]["newPASSWORD"], "***");
    }

    #[test]
    fn redaction_leaves_other_bodies_exactly_as_sent() {
        let body = "{ \"Number\" : \"1234\",\n \"Name\": \"Anna\" }";
        assert_eq!(redact_json_body(body), body);
        assert_eq!(redact_json_body("not json at all"), "not json at all");
        assert_eq!(redact_json_body(""), "");
    }

    #[test]
    fn non_json_text_naming_a_password_is_withheld() {
        let redacted = redact_json_body(r#"{"Password": "hunter2", "#);
        assert!(!redacted.contains("hunter2"));
    }

    #[test]
    fn long_bodies_are_truncated_with_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        let mut e = ok_entry();
        e.request_body = Some("é".repeat(BODY_BYTES_MAX));
        journal.record(e);
        journal.flush();
        let body = read_all(dir.path()).remove(0).request_body.unwrap();
        assert!(body.ends_with(&format!("…[truncated, {} bytes in all]", 2 * BODY_BYTES_MAX)));
        assert!(body.len() < BODY_BYTES_MAX + 64);
    }

    #[test]
    fn no_line_exceeds_the_line_limit() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        let controls = "\u{1}".repeat(10 * BODY_BYTES_MAX);
        journal.record(JournalEntry {
            time: controls.clone(),
            user: controls.clone(),
            role: controls.clone(),
            method: controls.clone(),
            path: controls.clone(),
            key: controls.clone(),
            request_body: Some(controls.clone()),
            response_body: Some(controls),
            duration_ms: f64::NAN,
            ..status_error()
        });
        journal.flush();
        let text = file_text(dir.path());
        assert!(text.len() <= LINE_BYTES_MAX, "{} bytes", text.len());
        let entries = read_all(dir.path());
        assert_eq!(entries.len(), 1);
        assert!(entries[0].request_body.as_ref().unwrap().contains("truncated"));
    }

    #[test]
    fn a_torn_last_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        Journal::open(dir.path(), true).unwrap().record(ok_entry());
        let whole = serde_json::to_string(&status_error()).unwrap();
        let torn = &whole[..whole.len() / 2];
        let mut file = OpenOptions::new().append(true).open(journal_path(dir.path())).unwrap();
        file.write_all(torn.as_bytes()).unwrap();
        assert_eq!(read_all(dir.path()).len(), 1);
    }

    #[test]
    fn entries_after_a_torn_line_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        Journal::open(dir.path(), true).unwrap().record(ok_entry());
        let mut file = OpenOptions::new().append(true).open(journal_path(dir.path())).unwrap();
        file.write_all(br#"{"time":"2024-"#).unwrap();
        Journal::open(dir.path(), true).unwrap().record(status_error());
        let keys: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["OK", "StatusError"]);
    }

    #[test]
    fn filter_errors_only_keeps_integration_errors() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        journal.record(ok_entry());
        journal.record(status_error());
        journal.record(entry("InternalError", 500, false));
        journal.flush();
        let filter = JournalFilter { errors_only: true, since: None };
        let keys: Vec<_> = read_journal(dir.path(), &filter).unwrap().into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["StatusError", "InternalError"]);
    }

    #[test]
    fn filter_since_keeps_entries_at_or_after_the_time() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        for time in ["2024-05-01T09:59:59.999Z", "2024-05-01T10:00:00.000Z", "2024-05-02T08:00:00.000Z"] {
            journal.record(JournalEntry { time: time.into(), ..ok_entry() });
        }
        journal.flush();
        let filter = JournalFilter { errors_only: false, since: Some(parse_since("2024-05-01T10:00:00Z").unwrap()) };
        let times: Vec<_> = read_journal(dir.path(), &filter).unwrap().into_iter().map(|e| e.time).collect();
        assert_eq!(times, ["2024-05-01T10:00:00.000Z", "2024-05-02T08:00:00.000Z"]);
    }

    #[test]
    fn parse_since_accepts_rfc3339_dates_and_durations() {
        let now = parse_since("2024-05-10T12:00:00Z").unwrap();
        let at = |text| parse_since_at(text, now);
        assert_eq!(at("2024-05-10T14:00:00+02:00").unwrap(), now);
        assert_eq!(at("2024-05-10").unwrap(), now - TimeDelta::hours(12));
        assert_eq!(at("15m").unwrap(), now - TimeDelta::minutes(15));
        assert_eq!(at("2h").unwrap(), now - TimeDelta::hours(2));
        assert_eq!(at("3d").unwrap(), now - TimeDelta::days(3));
        assert_eq!(at("30s").unwrap(), now - TimeDelta::seconds(30));
        for bad in ["", "m", "15", "15y", "-5m", "1.5h", "2024-13-01", "yesterday", "9999999999999999999d", "é"] {
            let error = at(bad).unwrap_err();
            assert!(error.contains('`'), "{bad}: {error}");
        }
        let relative = parse_since("1h").unwrap();
        assert!(relative < Utc::now() && relative > Utc::now() - TimeDelta::hours(2));
    }

    #[test]
    fn a_thousand_records_from_eight_threads_all_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let journal = Journal::open(dir.path(), true).unwrap();
        std::thread::scope(|scope| {
            for thread in 0..8 {
                let journal = &journal;
                scope.spawn(move || {
                    for i in 0..125 {
                        journal.record(JournalEntry { path: format!("/t{thread}/{i}"), ..ok_entry() });
                    }
                });
            }
        });
        journal.flush();
        let mut paths: Vec<_> = read_all(dir.path()).into_iter().map(|e| e.path).collect();
        assert_eq!(paths.len(), 1000);
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), 1000);
    }

    #[test]
    fn escape_text_escapes_line_breaks_and_control_characters() {
        assert_eq!(escape_text("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(escape_text("\u{1b}[31m\u{7f}\u{85}"), "\\u{1b}[31m\\u{7f}\\u{85}");
        assert_eq!(escape_text("x\u{2028}y\u{202e}"), "x\\u{2028}y\\u{202e}");
        assert_eq!(escape_text("Анна \"ok\" \\n"), "Анна \"ok\" \\n");
    }

    #[test]
    fn format_entry_renders_one_line_plus_bodies() {
        let e = JournalEntry { time: "2024-05-01T10:00:00.000Z".into(), ..status_error() };
        assert_eq!(
            format_entry(&e),
            "2024-05-01T10:00:00.000Z anna(cashier) GET /api/card/Active -> 200 StatusError (1.5 ms)\n    \
             request:  {\"Number\":\"1234\"}\n    \
             response: {\"Status\":true,\"Key\":\"OK\"}"
        );
        let anonymous =
            JournalEntry { user: String::new(), role: String::new(), request_body: None, response_body: None, ..e };
        assert_eq!(
            format_entry(&anonymous),
            "2024-05-01T10:00:00.000Z - GET /api/card/Active -> 200 StatusError (1.5 ms)"
        );
    }
}
