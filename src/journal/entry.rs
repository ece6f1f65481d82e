//! One journal entry: what a request leaves in the journal, and the one JSON
//! line it becomes (bodies redacted and cut, the line within its limit).

use super::redact::redact_json_body;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// A body longer than this is cut (at a character boundary) and marked.
pub const BODY_BYTES_MAX: usize = 16 * 1024;

/// No line of the file, newline included, is longer than this.
pub const LINE_BYTES_MAX: usize = 64 * 1024;

/// The short text fields (time, request id, user, role, method, path, key) are cut to this.
/// Even if every one of them were made of control characters (6 bytes each once
/// JSON-escaped), they fit in [`LINE_BYTES_MAX`] with room to spare, which is
/// what lets [`encode_line`] always meet the line limit by shrinking bodies.
const FIELD_BYTES_MAX: usize = 1024;

/// One request as journaled; one line of `journal.jsonl`.
///
/// Deliberately has no place for headers: the `Authorization` header can never
/// be journaled by mistake.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// RFC 3339, UTC, milliseconds; see [`format_time`].
    pub time: String,
    /// The request's `X-Request-Id` (the caller's, or the one the server made):
    /// the same id is in the response header and on the request's log lines.
    pub request_id: String,
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

/// Formats `entry` as one JSON line (no newline) of at most
/// `LINE_BYTES_MAX - 1` bytes: redacts and cuts the bodies, cuts the short
/// fields, then halves the body budget until the line fits. Returns `None`
/// only if serialization fails, which it cannot for this type; that case is
/// reported rather than panicking.
pub(super) fn encode_line(mut entry: JournalEntry) -> Option<String> {
    for field in [
        &mut entry.time,
        &mut entry.request_id,
        &mut entry.user,
        &mut entry.role,
        &mut entry.method,
        &mut entry.path,
        &mut entry.key,
    ] {
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
