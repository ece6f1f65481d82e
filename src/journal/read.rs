//! Reading the journal for `cashdesk log`: the file back into entries (torn
//! and unreadable lines skipped), the `--errors` / `--since` filter, and each
//! entry shown to a person with nothing in it able to break a line.

use super::{journal_path, JournalEntry, JournalError};
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

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
/// then ` id=REQUEST-ID` when the entry has one, then each body present on
/// its own indented line. Every field is escaped
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
    if !entry.request_id.is_empty() {
        out.push_str(&format!(" id={}", escape_text(&entry.request_id)));
    }
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
pub(super) fn parse_since_at(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
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
    fn escape_text_escapes_line_breaks_and_control_characters() {
        assert_eq!(escape_text("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(escape_text("\u{1b}[31m\u{7f}\u{85}"), "\\u{1b}[31m\\u{7f}\\u{85}");
        assert_eq!(escape_text("x\u{2028}y\u{202e}"), "x\\u{2028}y\\u{202e}");
        assert_eq!(escape_text("Анна \"ok\" \\n"), "Анна \"ok\" \\n");
    }
}
