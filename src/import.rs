//! Bulk load from CSV: `cashdesk import --data DIR --rules DIR
//! contacts|cards|bonuses FILE.csv` (SPEC §7).
//!
//! The header names the same fields as the admin bodies, in any order and any
//! letter case. Every row is checked with the admin endpoints' rules and error
//! keys (through the service's bulk methods) and applied in batches of
//! [`BATCH_ROWS`] rows: one store transaction and one sync per batch. A bad
//! row, including a malformed CSV line, is reported by its line number
//! (header = line 1) and skipped; the good rows are kept.
//!
//! An empty cell is a value left out: it keeps the stored value, as a field
//! left out of an admin body does (a new contact's field stays empty, a new
//! card is plastic and bonus, a lot starts today and never expires).

use crate::service::{BonusInput, BonusRow, Caller, CardRow, CardService, ContactInput, ContactRow, Failure};
use crate::ErrorKey;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Instant;

/// Rows per store transaction (and per sync).
pub const BATCH_ROWS: usize = 1000;

/// Which file is imported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportKind {
    Contacts,
    Cards,
    Bonuses,
}

impl ImportKind {
    pub const ALL: [ImportKind; 3] = [ImportKind::Contacts, ImportKind::Cards, ImportKind::Bonuses];

    /// The command-line name: `contacts`, `cards`, `bonuses`.
    pub fn name(self) -> &'static str {
        match self {
            ImportKind::Contacts => "contacts",
            ImportKind::Cards => "cards",
            ImportKind::Bonuses => "bonuses",
        }
    }

    /// The columns a file of this kind may have, as SPEC §7 names them.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::Contacts => &["Code", "MobileNumber", "Name", "Email", "BirthDate", "Gender", "City", "Fields"],
            ImportKind::Cards => &[
                "Number",
                "CategoryCode",
                "TypeCode",
                "Status",
                "ContactCode",
                "BlockReasonCode",
                "BlockedByUser",
                "BlockedByRole",
            ],
            ImportKind::Bonuses => &["Number", "Amount", "TypeCode", "ActiveFrom", "ExpireDate", "Frozen", "ReceiptId"],
        }
    }

    /// The column whose value may appear on one line of a file only: a
    /// card number in a cards file (a card has one state; a second line
    /// would silently overwrite the first). A contacts file may name a
    /// contact again to update it (numbers can move between contacts in
    /// one file); a bonuses file names a card once per lot.
    fn unique_column(self) -> Option<usize> {
        match self {
            ImportKind::Cards => Some(0),
            ImportKind::Contacts | ImportKind::Bonuses => None,
        }
    }

    /// The columns a file of this kind must have.
    pub fn required(self) -> &'static [&'static str] {
        match self {
            ImportKind::Contacts => &["Code"],
            ImportKind::Cards => &["Number"],
            ImportKind::Bonuses => &["Number", "Amount"],
        }
    }
}

impl fmt::Display for ImportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ImportKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ImportKind, String> {
        ImportKind::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown import kind `{s}`; expected contacts, cards or bonuses"))
    }
}

/// A row that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The CSV line the row starts on; the header is line 1.
    pub line: u64,
    pub key: ErrorKey,
    pub message: String,
}

impl fmt::Display for BadRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.key, self.message)
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportReport {
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows applied.
    pub imported: u64,
    /// Rows refused, by line.
    pub bad: Vec<BadRow>,
    /// Wall-clock time of the whole import.
    pub seconds: f64,
}

impl ImportReport {
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

impl fmt::Display for ImportReport {
    /// A summary line, then one line per bad row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "imported {} of {} rows in {:.2} s ({:.0} rows/s); {} bad",
            self.imported,
            self.rows,
            self.seconds,
            self.rows_per_second(),
            self.bad.len()
        )?;
        for b in &self.bad {
            write!(f, "\n{b}")?;
        }
        Ok(())
    }
}

/// Why an import stopped (or never started). Bad rows are not errors.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the file has no header line; a {kind} file starts with: {}", kind.columns().join(","))]
    Empty { kind: ImportKind },
    #[error("the header line is not valid UTF-8")]
    HeaderEncoding,
    #[error("unknown column(s) {}{}; a {kind} file has the columns {}", columns.join(", "), column_hint(*kind, columns), kind.columns().join(","))]
    UnknownColumns { kind: ImportKind, columns: Vec<String> },
    #[error("required column(s) {} missing; a {kind} file has the columns {}", columns.join(", "), kind.columns().join(","))]
    MissingColumns { kind: ImportKind, columns: Vec<String> },
    #[error("column {column} appears more than once in the header")]
    DuplicateColumn { column: String },
    #[error("import refused: {0}")]
    Refused(Failure),
    /// The store failed; the rows before `line` were imported (`imported`
    /// of them), the batch starting at `line` and the rest were not.
    #[error("import stopped at line {line} after {imported} imported rows: {failure}")]
    Aborted { line: u64, imported: u64, failure: Failure },
}

/// ` (did you mean `X`?)` for the first unknown column close to a known one.
fn column_hint(kind: ImportKind, unknown: &[String]) -> String {
    unknown
        .iter()
        .find_map(|u| crate::domain::did_you_mean(u, kind.columns().iter().copied()))
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Imports `path` into the service's store as `caller` (who must be allowed
/// the admin operations). Shows a progress bar on stderr when `progress` is
/// set and stderr is a terminal.
pub fn import_file(
    service: &CardService,
    caller: &Caller,
    kind: ImportKind,
    path: &Path,
    progress: bool,
) -> Result<ImportReport, ImportError> {
    let io = |source| ImportError::Io { path: path.to_path_buf(), source };
    let bar = if progress && std::io::stderr().is_terminal() {
        let lines = count_lines(path).map_err(io)?;
        let bar = ProgressBar::with_draw_target(Some(lines.saturating_sub(1)), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:40}] {human_pos}/{human_len} rows  {per_sec}  eta {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(format!("import {kind}"));
        bar
    } else {
        ProgressBar::hidden()
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let result = import_reader(service, caller, kind, file, &bar);
    bar.finish_and_clear();
    result.map_err(|e| match e {
        ImportError::Io { source, .. } => io(source),
        other => other,
    })
}

/// Imports CSV text from `input`; `bar` counts rows (pass
/// `ProgressBar::hidden()` for none).
pub fn import_reader<R: Read>(
    service: &CardService,
    caller: &Caller,
    kind: ImportKind,
    input: R,
    bar: &ProgressBar,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    service.check_admin(caller).map_err(ImportError::Refused)?;
    let mut input = input;
    let io = |source| ImportError::Io { path: PathBuf::from("<input>"), source };
    let head = read_head(&mut input).map_err(io)?;
    let delimiter = sniff_delimiter(&head);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .buffer_capacity(64 * 1024)
        .from_reader(LineTracker::new(std::io::Cursor::new(head).chain(input)));
    let mut record = csv::ByteRecord::new();
    if !csv.read_byte_record(&mut record).map_err(|e| io(csv_io(e)))? {
        return Err(ImportError::Empty { kind });
    }
    let columns = Columns::from_header(kind, &record)?;
    let mut run =
        Run { bar, rows: 0, imported: 0, bad: Vec::new(), seen: HashMap::new(), unique: kind.unique_column() };
    match kind {
        ImportKind::Contacts => run.go(&mut csv, &columns, contact_row, |rows| service.import_contacts(caller, rows)),
        ImportKind::Cards => run.go(&mut csv, &columns, card_row, |rows| service.import_cards(caller, rows)),
        ImportKind::Bonuses => run.go(&mut csv, &columns, bonus_row, |rows| service.import_bonuses(caller, rows)),
    }?;
    run.bad.sort_by_key(|b| b.line);
    Ok(ImportReport { rows: run.rows, imported: run.imported, bad: run.bad, seconds: started.elapsed().as_secs_f64() })
}

/// Parses a `Frozen` cell: true/false, 1/0, yes/no (any case), empty = false.
pub fn parse_flag(name: &str, value: Option<&str>) -> Result<bool, Failure> {
    let v = value.map(str::trim).unwrap_or("");
    for (yes, no) in [("true", "false"), ("1", "0"), ("yes", "no")] {
        if v.eq_ignore_ascii_case(yes) {
            return Ok(true);
        }
        if v.is_empty() || v.eq_ignore_ascii_case(no) {
            return Ok(false);
        }
    }
    Err(Failure::new(
        ErrorKey::MalformedRequest,
        format!("{name} must be true, false, 1, 0, yes, no or empty, not {}", crate::domain::truncate_for_message(v)),
    ))
}

/// The start of the input, through the first line end (or 64 KiB).
fn read_head(input: &mut impl Read) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while head.len() < 64 * 1024 && !head.contains(&b'\n') {
        let n = match input.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    Ok(head)
}

/// Normalises line ends (CRLF, CR) to LF and remembers where each LF is,
/// so every row gets its true line number: the csv crate's own count is off
/// after blank lines and with CRLF line ends.
struct LineTracker<R> {
    inner: R,
    /// Offsets in the normalised stream of the LFs not yet passed.
    newlines: VecDeque<u64>,
    /// Bytes handed out so far.
    out: u64,
    /// The last byte read was a CR (a following LF belongs to it).
    cr: bool,
    /// LFs before the last record start asked about.
    passed: u64,
}

impl<R: Read> LineTracker<R> {
    fn new(inner: R) -> LineTracker<R> {
        LineTracker { inner, newlines: VecDeque::new(), out: 0, cr: false, passed: 0 }
    }

    /// The line (1-based) of the first character of a record whose position
    /// (as the csv reader reports it) is `start`: the reader skips blank
    /// lines, and its position is before them. Starts must not decrease.
    fn line_of(&mut self, start: u64) -> u64 {
        while self.newlines.front().is_some_and(|&n| n < start) {
            self.newlines.pop_front();
            self.passed += 1;
        }
        let mut at = start;
        while self.newlines.front() == Some(&at) {
            self.newlines.pop_front();
            self.passed += 1;
            at += 1;
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                return Ok(0);
            }
            let mut w = 0;
            for r in 0..n {
                let mut b = buf[r];
                if b == b'\n' && self.cr {
                    self.cr = false;
                    continue;
                }
                self.cr = b == b'\r';
                if self.cr {
                    b = b'\n';
                }
                if b == b'\n' {
                    self.newlines.push_back(self.out + w as u64);
                }
                buf[w] = b;
                w += 1;
            }
            self.out += w as u64;
            // Zero would mean the end: read on when the chunk was a lone LF.
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

/// The delimiter of the header line: `,` unless the line has more `;` (as
/// spreadsheets set to a Russian locale write) or tabs.
fn sniff_delimiter(head: &[u8]) -> u8 {
    let line = head.split(|&b| b == b'\n').next().unwrap_or(head);
    let count = |c: u8| line.iter().filter(|&&b| b == c).count();
    let (comma, semicolon, tab) = (count(b','), count(b';'), count(b'\t'));
    if semicolon > comma && semicolon >= tab {
        b';'
    } else if tab > comma && tab > semicolon {
        b'\t'
    } else {
        b','
    }
}

fn count_lines(path: &Path) -> std::io::Result<u64> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = buf[n - 1];
    }
    Ok(lines + u64::from(last != b'\n'))
}

fn csv_io(e: csv::Error) -> std::io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{other:?}")),
    }
}

/// Where each of the kind's columns is in the file.
struct Columns {
    kind: ImportKind,
    /// By the position in `kind.columns()`: the index in a record.
    at: Vec<Option<usize>>,
    width: usize,
}

impl Columns {
    fn from_header(kind: ImportKind, header: &csv::ByteRecord) -> Result<Columns, ImportError> {
        let names = kind.columns();
        let mut at = vec![None; names.len()];
        let mut unknown = Vec::new();
        for (i, raw) in header.iter().enumerate() {
            let raw = if i == 0 { raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw) } else { raw };
            let name = std::str::from_utf8(raw).map_err(|_| ImportError::HeaderEncoding)?.trim();
            match names.iter().position(|n| n.eq_ignore_ascii_case(name)) {
                Some(p) if at[p].is_some() => {
                    return Err(ImportError::DuplicateColumn { column: names[p].to_string() });
                }
                Some(p) => at[p] = Some(i),
                None => {
                    unknown.push(if name.is_empty() { format!("(empty, column {})", i + 1) } else { name.to_string() })
                }
            }
        }
        if !unknown.is_empty() {
            return Err(ImportError::UnknownColumns { kind, columns: unknown });
        }
        let missing: Vec<String> = kind
            .required()
            .iter()
            .filter(|r| at[names.iter().position(|n| n == *r).unwrap_or(0)].is_none())
            .map(|r| r.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ImportError::MissingColumns { kind, columns: missing });
        }
        Ok(Columns { kind, at, width: header.len() })
    }
}

impl Columns {
    /// The name of the kind's column `col`.
    fn name(&self, col: usize) -> &'static str {
        self.kind.columns()[col]
    }
}

/// One data line, its cells checked for count and encoding.
#[derive(Clone)]
struct Cells<'a> {
    columns: &'a Columns,
    values: Vec<&'a str>,
}

impl Cells<'_> {
    /// The cell of the kind's column `col`; `None` when the file has no such
    /// column or the cell is empty.
    fn get(&self, col: usize) -> Option<&str> {
        self.columns.at[col].map(|i| self.values[i]).filter(|v| !v.is_empty())
    }

    fn owned(&self, col: usize) -> Option<String> {
        self.get(col).map(str::to_string)
    }
}

fn contact_row(c: &Cells<'_>) -> Result<ContactRow, Failure> {
    Ok(ContactRow {
        code: c.owned(0).unwrap_or_default(),
        input: ContactInput {
            mobile: c.owned(1),
            name: c.owned(2),
            email: c.owned(3),
            birth_date: c.owned(4),
            gender: c.owned(5),
            city: c.owned(6),
            fields: c.get(7).map(parse_fields).transpose()?,
        },
    })
}

/// A `Fields` cell: a JSON object of strings, as the admin body's `Fields`.
fn parse_fields(cell: &str) -> Result<std::collections::BTreeMap<String, String>, Failure> {
    serde_json::from_str::<std::collections::BTreeMap<String, String>>(cell).map_err(|_| {
        Failure::new(
            ErrorKey::MalformedRequest,
            format!(
                "Fields must be a JSON object of strings, like {{\"Loyalty\":\"gold\"}}, not {}",
                crate::domain::truncate_for_message(cell)
            ),
        )
    })
}

fn card_row(c: &Cells<'_>) -> Result<CardRow, Failure> {
    Ok(CardRow {
        number: c.owned(0).unwrap_or_default(),
        category: c.owned(1),
        card_type: c.owned(2),
        status: c.owned(3),
        contact: c.owned(4),
        block_reason: c.owned(5),
        blocked_by_user: c.owned(6),
        blocked_by_role: c.owned(7),
    })
}

fn bonus_row(c: &Cells<'_>) -> Result<BonusRow, Failure> {
    Ok(BonusRow {
        number: c.owned(0).unwrap_or_default(),
        input: BonusInput {
            amount: c.owned(1),
            type_code: c.owned(2),
            active_from: c.owned(3),
            expire_date: c.owned(4),
            frozen: parse_flag("Frozen", c.get(5))?,
        },
        receipt: c.owned(6),
    })
}

/// The counters of one import.
struct Run<'a> {
    bar: &'a ProgressBar,
    rows: u64,
    imported: u64,
    bad: Vec<BadRow>,
    /// The unique column's values so far (trimmed), with their first line.
    seen: HashMap<String, u64>,
    unique: Option<usize>,
}

impl Run<'_> {
    /// Reads every data line, turns it into a row with `build`, and hands the
    /// rows to `apply` in batches of [`BATCH_ROWS`].
    fn go<T, R: Read>(
        &mut self,
        csv: &mut csv::Reader<LineTracker<R>>,
        columns: &Columns,
        build: impl Fn(&Cells<'_>) -> Result<T, Failure>,
        apply: impl Fn(Vec<(u64, T)>) -> Result<Vec<(u64, Failure)>, Failure>,
    ) -> Result<(), ImportError> {
        let mut record = csv::ByteRecord::new();
        let mut batch: Vec<(u64, T)> = Vec::with_capacity(BATCH_ROWS);
        loop {
            let more = csv
                .read_byte_record(&mut record)
                .map_err(|e| ImportError::Io { path: PathBuf::from("<input>"), source: csv_io(e) })?;
            if !more {
                break;
            }
            self.rows += 1;
            self.bar.inc(1);
            let start = record.position().map_or(0, |p| p.byte());
            let line = csv.get_mut().line_of(start);
            match cells(columns, &record).and_then(|c| self.first_time(&c, line)).and_then(|c| build(&c)) {
                Ok(row) => batch.push((line, row)),
                Err(f) => self.bad.push(BadRow { line, key: f.key, message: f.message }),
            }
            if batch.len() == BATCH_ROWS {
                self.flush(&mut batch, &apply)?;
            }
        }
        self.flush(&mut batch, &apply)
    }

    /// Refuses a line whose card number or contact code an earlier line
    /// had: the first line counts, the repeat is reported (`DuplicateLine`)
    /// rather than silently overwriting it.
    fn first_time<'a>(&mut self, c: &Cells<'a>, line: u64) -> Result<Cells<'a>, Failure> {
        let Some(col) = self.unique else { return Ok(c.clone()) };
        let Some(value) = c.get(col).map(str::trim).filter(|v| !v.is_empty()) else { return Ok(c.clone()) };
        match self.seen.get(value) {
            Some(first) => Err(Failure::new(
                ErrorKey::DuplicateLine,
                format!(
                    "{} {} is already on line {first}",
                    c.columns.name(col),
                    crate::domain::truncate_for_message(value)
                ),
            )),
            None => {
                self.seen.insert(value.to_string(), line);
                Ok(c.clone())
            }
        }
    }

    fn flush<T>(
        &mut self,
        batch: &mut Vec<(u64, T)>,
        apply: &impl Fn(Vec<(u64, T)>) -> Result<Vec<(u64, Failure)>, Failure>,
    ) -> Result<(), ImportError> {
        if batch.is_empty() {
            return Ok(());
        }
        let first_line = batch[0].0;
        let n = batch.len() as u64;
        match apply(std::mem::replace(batch, Vec::with_capacity(BATCH_ROWS))) {
            Ok(bad) => {
                self.imported += n - bad.len() as u64;
                self.bad.extend(bad.into_iter().map(|(line, f)| BadRow { line, key: f.key, message: f.message }));
                self.bar.set_message(format!("{} bad", self.bad.len()));
                Ok(())
            }
            Err(f) if f.key == ErrorKey::AccessDenied => Err(ImportError::Refused(f)),
            Err(failure) => Err(ImportError::Aborted { line: first_line, imported: self.imported, failure }),
        }
    }
}

/// The cells of a data line: as many as the header has, all UTF-8.
fn cells<'a>(columns: &'a Columns, record: &'a csv::ByteRecord) -> Result<Cells<'a>, Failure> {
    if record.len() != columns.width {
        return Err(Failure::new(
            ErrorKey::MalformedRequest,
            format!("the line has {} fields, the header has {}", record.len(), columns.width),
        ));
    }
    let mut values = Vec::with_capacity(record.len());
    for (i, raw) in record.iter().enumerate() {
        let v = std::str::from_utf8(raw).map_err(|_| {
            Failure::new(ErrorKey::MalformedRequest, format!("field {} of the line is not valid UTF-8", i + 1))
        })?;
        values.push(v);
    }
    Ok(Cells { columns, values })
}
