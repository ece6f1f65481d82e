//! `cashdesk store copy --from STORE --to STORE`: every record of one store
//! into another, empty one, whatever the two engines (moving a chain from
//! sled onto PostgreSQL, or back).
//!
//! The source is listed table by table in key order through
//! [`Store::scan`] (contacts, their card lists, cards with their lots and
//! whole history, receipts), [`COPY_BATCH`] records a page, and each page is
//! written to the target as one [`Batch`] in one transaction (on PostgreSQL a
//! few array statements, on sled one group commit), as if written into an
//! empty store: the phone index follows each contact's mobile, a card's
//! history keeps every entry's time and user. Reading the next page overlaps
//! writing the last. The source should be stopped: a store changed while it
//! is copied is copied part before, part after the change.

use crate::store::{put, Batch, Store, StoreError, Stored, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::fmt;
use std::io::IsTerminal;
use std::sync::mpsc;
use std::time::Instant;

/// Records per page read and per transaction written.
pub const COPY_BATCH: usize = 1000;

/// What a copy did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CopyReport {
    pub contacts: u64,
    /// Contacts' card lists (the card↔contact binding).
    pub bindings: u64,
    pub cards: u64,
    pub lots: u64,
    pub history: u64,
    pub receipts: u64,
    pub seconds: f64,
}

impl CopyReport {
    /// Records of every table.
    pub fn records(&self) -> u64 {
        self.contacts + self.bindings + self.cards + self.receipts
    }

    pub fn records_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.records() as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn count(&mut self, record: &Stored) {
        match record {
            Stored::Contact(_) => self.contacts += 1,
            Stored::ContactCards { .. } => self.bindings += 1,
            Stored::Card(c) => {
                self.cards += 1;
                self.lots += c.lots.len() as u64;
                self.history += c.history.len() as u64;
            }
            Stored::Receipt(_) => self.receipts += 1,
        }
    }
}

impl fmt::Display for CopyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "copied {} contacts, {} card lists of contacts, {} cards (with {} lots and {} history entries), \
             {} receipts in {:.2} s ({:.0} records/s)",
            self.contacts,
            self.bindings,
            self.cards,
            self.lots,
            self.history,
            self.receipts,
            self.seconds,
            self.records_per_second()
        )
    }
}

/// Why a copy stopped. What was written before is kept in the target, so
/// the target is then not empty: drop it and copy again.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(
        "the target store is not empty: it holds {table} (the first is `{key}`); \
         copy only into a new directory or an empty database"
    )]
    TargetNotEmpty { table: &'static str, key: String },
    #[error("reading the source store")]
    Source(#[source] StoreError),
    #[error("writing the target store")]
    Target(#[source] StoreError),
    #[error(
        "card {number} in the source store is damaged: its record counts {expected} history entries, \
         {found} were found"
    )]
    BrokenHistory { number: String, expected: u64, found: u64 },
}

/// Refuses a target that holds any record.
pub fn check_empty(to: &dyn Store) -> Result<(), CopyError> {
    for table in Table::ALL {
        let page = to.scan(table, None, 1).map_err(CopyError::Target)?;
        if let Some(first) = page.items.first() {
            return Err(CopyError::TargetNotEmpty { table: table.name(), key: first.key().to_string() });
        }
    }
    Ok(())
}

/// Copies every record of `from` into `to`, which must be empty. Shows a
/// progress bar per table on stderr when `progress` is set and stderr is a
/// terminal.
pub fn copy_store(from: &dyn Store, to: &dyn Store, progress: bool) -> Result<CopyReport, CopyError> {
    check_empty(to)?;
    let started = Instant::now();
    let mut report = CopyReport::default();
    let show = progress && std::io::stderr().is_terminal();
    for table in Table::ALL {
        let bar = if show { bar(from, table)? } else { ProgressBar::hidden() };
        let result = copy_table(from, to, table, &mut report, &bar);
        bar.finish();
        result?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn bar(from: &dyn Store, table: Table) -> Result<ProgressBar, CopyError> {
    // Only cards are counted by the trait; the other tables show a count.
    let (bar, template) = match table {
        Table::Cards => {
            let n = from.card_count().map_err(CopyError::Source)?;
            (
                ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr()),
                "{prefix:>15} [{bar:40}] {human_pos}/{human_len}  {per_sec}  eta {eta}",
            )
        }
        _ => (
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{prefix:>15} {spinner} {human_pos}  {per_sec}",
        ),
    };
    let style =
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()).progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("copy {}", table.name()));
    Ok(bar)
}

/// One table, page by page: a reader thread lists the source while this
/// thread writes the page before.
fn copy_table(
    from: &dyn Store,
    to: &dyn Store,
    table: Table,
    report: &mut CopyReport,
    bar: &ProgressBar,
) -> Result<(), CopyError> {
    std::thread::scope(|s| {
        let (pages, received) = mpsc::sync_channel::<Result<Vec<Stored>, StoreError>>(2);
        s.spawn(move || {
            let mut after: Option<String> = None;
            loop {
                let page = from.scan(table, after.as_deref(), COPY_BATCH);
                let (items, next) = match page {
                    Ok(p) => (p.items, p.next),
                    Err(e) => {
                        let _ = pages.send(Err(e));
                        return;
                    }
                };
                // The writer stopped (a write failed): stop reading.
                if pages.send(Ok(items)).is_err() || next.is_none() {
                    return;
                }
                after = next;
            }
        });
        for page in received {
            let page = page.map_err(CopyError::Source)?;
            let n = page.len() as u64;
            put(to, batch_of(page, report)?).map_err(CopyError::Target)?;
            bar.inc(n);
        }
        Ok(())
    })
}

/// The records of one page as the batch that writes them into an empty
/// store, counted in `report`.
fn batch_of(page: Vec<Stored>, report: &mut CopyReport) -> Result<Batch, CopyError> {
    let mut batch = Batch::default();
    for record in page {
        if let Stored::Card(c) = &record {
            let found = c.history.len() as u64;
            if found != c.record.history_len {
                let (number, expected) = (c.record.number.clone(), c.record.history_len);
                return Err(CopyError::BrokenHistory { number, expected, found });
            }
        }
        report.count(&record);
        record.put_into(&mut batch);
    }
    Ok(batch)
}
