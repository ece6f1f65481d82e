//! The journal's writer: [`Journal::record`] only formats the line and hands
//! it to one writer thread, which appends and syncs whole batches.
//!
//! Durability without stalling requests: the writer drains whatever is
//! waiting, appends it with one `write`, and calls `sync_data` once for the
//! whole batch (group commit), so the fsync cost is shared by every request
//! that arrived meanwhile and is never paid on the async request path.

use super::entry::encode_line;
use super::retention::{self, PRUNE_CHECK_INTERVAL, PRUNE_SLACK};
use super::{journal_path, JournalEntry, JournalError};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Entries waiting for the writer. When the disk cannot keep up, `record`
/// drops entries rather than block a request or grow memory without bound;
/// the writer reports how many were lost.
const QUEUE_ENTRIES_MAX: usize = 8192;

/// The writer stops draining after this many messages so that, under
/// sustained load, a batch still reaches the disk in bounded time.
const BATCH_ENTRIES_MAX: usize = QUEUE_ENTRIES_MAX;

/// Capacity the writer's batch buffer keeps between batches.
const BUFFER_BYTES_KEPT: usize = 1024 * 1024;

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
    /// Entries are kept for good; see [`Journal::open_retaining`].
    pub fn open(dir: &Path, log_requests: bool) -> Result<Journal, JournalError> {
        Journal::open_retaining(dir, log_requests, None)
    }

    /// As [`Journal::open`], and entries older than `retention` leave the
    /// file (see [`super::retention`]): at once, then as they age.
    pub fn open_retaining(
        dir: &Path,
        log_requests: bool,
        retention: Option<Duration>,
    ) -> Result<Journal, JournalError> {
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
        let writer = Writer {
            file,
            path,
            needs_newline: torn,
            dropped: Arc::clone(&dropped),
            retention,
            next_check: Instant::now(),
        };
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
    /// Entries older than this leave the file; `None`: kept for good.
    retention: Option<Duration>,
    /// When the oldest entry is next looked at.
    next_check: Instant,
}

impl Writer {
    /// Group commit: wait for one message, take everything else waiting, write
    /// it all, sync once, answer the flushes; until the journal is dropped.
    /// Between batches (and at least every [`PRUNE_CHECK_INTERVAL`]) it
    /// prunes what outlived the retention period.
    fn run(mut self, receiver: Receiver<Message>) {
        let mut buffer = Vec::new();
        let mut acks = Vec::new();
        loop {
            self.prune_when_due();
            let first = match receiver.recv_timeout(self.next_check.saturating_duration_since(Instant::now())) {
                Ok(m) => m,
                Err(RecvTimeoutError::Timeout) => continue,
                Err(RecvTimeoutError::Disconnected) => break,
            };
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

    /// Prunes the file when the check is due and its oldest entry is older
    /// than the period plus the slack. Failures are reported and survived.
    fn prune_when_due(&mut self) {
        if Instant::now() < self.next_check {
            return;
        }
        self.next_check = Instant::now() + PRUNE_CHECK_INTERVAL;
        let Some(retention) = self.retention else { return };
        let now = chrono::Utc::now();
        let period = chrono::Duration::from_std(retention).unwrap_or(chrono::Duration::MAX);
        let slack = chrono::Duration::from_std(PRUNE_SLACK).unwrap_or_default();
        let threshold = period.checked_add(&slack).and_then(|d| now.checked_sub_signed(d));
        let (Some(cutoff), Some(threshold)) = (now.checked_sub_signed(period), threshold) else {
            return;
        };
        match retention::needs_pruning(&self.path, threshold) {
            Ok(false) => {}
            Ok(true) => match retention::prune(&self.path, cutoff) {
                Ok(done) => {
                    tracing::info!(kept = done.kept, dropped = done.dropped, "journal pruned to its retention period");
                    self.reopen();
                }
                Err(error) => self.report("pruning", &error),
            },
            Err(error) => self.report("pruning", &error),
        }
    }

    /// After a pruning replaced the file: append to the new one.
    fn reopen(&mut self) {
        match OpenOptions::new().read(true).append(true).create(true).open(&self.path) {
            Ok(file) => {
                self.file = file;
                self.needs_newline = false;
            }
            Err(error) => self.report("reopen", &error),
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
        match self.file.sync_data() {
            Ok(()) => tracing::debug!(bytes = lines.len(), "journal batch written and synced"),
            Err(error) => self.report("sync", &error),
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
