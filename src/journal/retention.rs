//! Retention: entries older than the retention period leave the journal.
//!
//! Why: the journal holds what requests carried (with `--log-requests`, whole
//! bodies: names, phone numbers, e-mail addresses), and a customer's right to
//! erasure (`POST /api/admin/contacts/{code}/erase`) must reach it too. The
//! journal is append-only and each server keeps its own, so an erasure
//! cannot find every copy of a value in every notation it was sent in;
//! instead nothing stays longer than the retention period, on every server.
//!
//! How: the writer thread checks at start and then every
//! [`PRUNE_CHECK_INTERVAL`]; when the oldest entry is older than the period
//! plus [`PRUNE_SLACK`], it rewrites the file without the entries older than
//! the period (to a temporary file, synced, renamed over the journal), so an
//! entry lives at most period + slack + check interval. The slack keeps the
//! rewrite to about once a day however large the file. A line that is not
//! an entry (the torn tail a crash leaves) goes too.

use super::entry::format_time;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How often the writer looks at the oldest entry.
pub const PRUNE_CHECK_INTERVAL: Duration = Duration::from_secs(3600);

/// How much older than the period the oldest entry may grow before a rewrite.
pub const PRUNE_SLACK: Duration = Duration::from_secs(24 * 3600);

/// The retention period a server uses unless told otherwise, in days.
pub const RETENTION_DAYS_DEFAULT: u32 = 30;

/// The longest retention period accepted, in days (100 years).
pub const RETENTION_DAYS_MAX: u32 = 36_500;

/// Only the field pruning needs.
#[derive(Deserialize)]
struct Timed {
    time: String,
}

/// The entry's time, if the line is an entry.
fn line_time(line: &[u8]) -> Option<String> {
    serde_json::from_slice::<Timed>(line).ok().map(|t| t.time)
}

/// What a pruning did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pruned {
    pub kept: u64,
    pub dropped: u64,
}

/// Whether the oldest line of `path` is older than `threshold` (or not an
/// entry at all). A missing or empty file needs nothing.
pub fn needs_pruning(path: &Path, threshold: DateTime<Utc>) -> io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let mut first = Vec::new();
    BufReader::new(file).read_until(b'\n', &mut first)?;
    if first.is_empty() {
        return Ok(false);
    }
    // Times are fixed-width RFC 3339 in UTC, so they compare as text.
    Ok(line_time(&first).is_none_or(|t| t < format_time(threshold)))
}

fn temporary(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".pruning");
    path.with_file_name(name)
}

/// Rewrites `path` without the lines older than `cutoff` or that are not
/// entries. Durable when it returns `Ok`: the new file is synced before it
/// replaces the old, and the directory after. On error the journal is as it was.
pub fn prune(path: &Path, cutoff: DateTime<Utc>) -> io::Result<Pruned> {
    let cutoff = format_time(cutoff);
    let tmp = temporary(path);
    let result = (|| {
        let mut reader = BufReader::new(File::open(path)?);
        let mut out = BufWriter::new(OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?);
        let mut counts = Pruned::default();
        let mut line = Vec::new();
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            let body = line.strip_suffix(b"\n").unwrap_or(&line);
            if line_time(body).is_some_and(|t| t >= cutoff) {
                out.write_all(body)?;
                out.write_all(b"\n")?;
                counts.kept += 1;
            } else if !body.is_empty() {
                counts.dropped += 1;
            }
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(counts)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    fn line(time: DateTime<Utc>, path: &str) -> String {
        format!("{{\"time\":\"{}\",\"path\":\"{path}\"}}\n", format_time(time))
    }

    #[test]
    fn old_entries_and_torn_lines_go_and_the_rest_stays_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let text = [line(at(2026, 1, 1), "/old"), line(at(2026, 3, 1), "/new1"), line(at(2026, 3, 2), "/new2")];
        std::fs::write(&path, format!("{}{}{}{{\"torn", text[0], text[1], text[2])).unwrap();
        assert!(needs_pruning(&path, at(2026, 2, 1)).unwrap());
        assert!(!needs_pruning(&path, at(2025, 12, 1)).unwrap());
        let pruned = prune(&path, at(2026, 2, 1)).unwrap();
        assert_eq!(pruned, Pruned { kept: 2, dropped: 2 });
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{}{}", text[1], text[2]));
        assert!(!temporary(&path).exists());
        assert!(!needs_pruning(&path, at(2026, 2, 1)).unwrap());
    }

    #[test]
    fn a_missing_journal_needs_no_pruning() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!needs_pruning(&dir.path().join("none.jsonl"), at(2026, 1, 1)).unwrap());
    }
}
