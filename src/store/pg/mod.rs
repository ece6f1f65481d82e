//! The PostgreSQL engine: several servers share one database.
//!
//! A [`Store::transact`] is one database transaction (the database's
//! default isolation, READ COMMITTED unless set otherwise; SERIALIZABLE
//! works too). Every read the operation makes locks what it finds
//! (`SELECT … FOR UPDATE`), so its checks run on rows no one else can
//! change before COMMIT; rows that do not exist yet are guarded by primary
//! keys and the unique mobile. On a serialisation failure, deadlock or
//! unique violation the transaction is rolled back and the operation runs
//! again (at most [`retry::TRIES_MAX`] runs, with jittered backoff), which is
//! why operations must be safe to re-run. `transact` returns after COMMIT
//! returned with `synchronous_commit = on`. Reads outside `transact` are
//! single indexed queries. docs/postgres.md has the operations side.
//!
//! Round trips: the BEGIN goes out with the operation's first read, the
//! writes with the COMMIT (`conn`'s pipelining), and a card read locked
//! brings what the writes and a later `lots()` need of it.
//!
//! - [`config`]: options, URL redaction;
//! - `conn`: a connection, its statements sent together;
//! - `pool`: connections with prepared statements;
//! - `schema`: versioned migrations;
//! - `sql`: statements and point reads;
//! - `write`: applying a batch;
//! - `search`: the searches;
//! - `scan`: listing a whole table, for copying a store;
//! - `retry`: the re-run loop's limits;
//! - `errors`: PostgreSQL's errors as [`StoreError`]s;
//! - [`testing`]: throwaway databases for tests.

pub mod config;
mod conn;
mod errors;
mod pool;
mod retry;
mod scan;
mod schema;
mod search;
mod snapshot;
mod sql;
pub mod testing;
mod write;

pub use config::{is_postgres_url, redact, PgOptions};
pub use schema::SCHEMA_VERSION;

use super::{
    CardQuery, CardRecord, CardView, ContactQuery, ContactRecord, HistoryEntry, Lot, Operation, Page, ReceiptRecord,
    Sink, SnapshotPart, Store, StoreError, StoreRead, Stored, Table,
};
use conn::{pipelined, Conn, Lead, Param};
use pool::{Manager, PgConn};
use sql::{Reads, Run};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use tokio_postgres::{Error, Row, Statement};

/// A [`Store`] on a PostgreSQL database.
pub struct PgStore {
    /// `None` only while dropping.
    pool: Option<r2d2::Pool<Manager>>,
    /// The URL without its password, for messages.
    url: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("url", &self.url).finish()
    }
}

impl PgStore {
    /// Connects to the database `url` names and brings its schema up to
    /// date. Fails when the database cannot be reached now.
    pub fn open(url: &str, options: &PgOptions) -> Result<PgStore, StoreError> {
        retry::off_async(|| {
            let config = pool::client_config(url, options)
                .map_err(|why| StoreError::engine("opening the database", std::io::Error::other(why)))?;
            let mut client = Conn::connect(&config).map_err(|e| {
                tracing::error!(database = %redact(url), error = %e, "cannot connect to the database");
                errors::map("connecting to the database", e)
            })?;
            schema::migrate(&mut client)?;
            drop(client);
            let pool = pool::build(url, config, options);
            Ok(PgStore { pool: Some(pool), url: redact(url) })
        })
    }

    /// The URL this store was opened on, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        let pool = self.pool.as_ref().ok_or(StoreError::Closed)?;
        pool.get().map_err(|e| {
            tracing::error!(database = %self.url, error = %e, "no database connection");
            errors::pool(e)
        })
    }

    /// Runs a read on a pooled connection; once more on a fresh connection
    /// when the first was found dead (a restarted database).
    fn read<T: Send>(
        &self,
        f: impl Fn(&mut Reads<'_, Conn>) -> Result<T, StoreError> + Send + Sync,
    ) -> Result<T, StoreError> {
        retry::off_async(|| {
            let mut last = None;
            for _ in 0..2 {
                let mut conn = self.conn()?;
                let PgConn { client, st, broken } = &mut *conn;
                match f(&mut Reads { client, st, lock: false }) {
                    Err(StoreError::Unavailable(s)) => {
                        broken.set(true);
                        last = Some(StoreError::Unavailable(s));
                    }
                    other => return other,
                }
            }
            Err(last.unwrap_or(StoreError::Closed))
        })
    }

    /// One run of `op` in one transaction. `Err((e, rerun))`: whether
    /// running it again may succeed.
    ///
    /// `queue`: after a conflict, the run first takes a session advisory
    /// lock (before BEGIN, so a SERIALIZABLE snapshot is taken after the
    /// wait): operations that already collided queue, on every server,
    /// instead of colliding again.
    fn run_once(&self, op: &mut Operation<'_>, queue: bool) -> Result<(), (StoreError, bool)> {
        let mut conn = self.conn().map_err(|e| (e, false))?;
        let PgConn { client, st, broken } = &mut *conn;
        if !queue {
            return Self::run_tx(client, st, broken, op);
        }
        let lock = |c: &mut Conn, sql: &str| {
            c.execute(sql, &[&RETRY_LOCK]).map(|_| ()).map_err(|e| {
                broken.set(true);
                (errors::map("queueing a conflicting change", e), false)
            })
        };
        lock(client, "SELECT pg_advisory_lock($1)")?;
        // A panic in `op` leaves the lock held: the connection is then
        // dropped (its session, and so the lock, ends).
        let guard = BrokenUnlessDone(broken);
        let result = Self::run_tx(client, st, broken, op);
        std::mem::forget(guard);
        lock(client, "SELECT pg_advisory_unlock($1)")?;
        result
    }

    fn run_tx(
        conn: &mut Conn,
        st: &sql::Statements,
        broken: &Cell<bool>,
        op: &mut Operation<'_>,
    ) -> Result<(), (StoreError, bool)> {
        let lost = |e: StoreError| {
            let lost = matches!(e, StoreError::Unavailable(_));
            if lost {
                broken.set(true);
            }
            let rerun = lost || e.is_conflict();
            (e, rerun)
        };
        let handle = TxRead {
            tx: RefCell::new(Tx { conn, broken, begun: false, ended: false }),
            st,
            locked: RefCell::default(),
        };
        let batch = match op(&handle) {
            Ok(b) => b,
            Err(e) => return Err(lost(e)),
        };
        let Some(batch) = batch else {
            // Nothing to write: the rollback (on drop) releases the locks.
            return Ok(());
        };
        let TxRead { tx, locked, .. } = handle;
        let mut tx = tx.into_inner();
        let mut stored: HashMap<String, i64> = locked.into_inner().into_iter().map(|(n, (len, _))| (n, len)).collect();
        write::lock_cards(&mut tx, st, &batch, &mut stored).map_err(lost)?;
        let writes = write::plan(st, &batch, stored).map_err(lost)?;
        let params: Vec<Vec<Param<'_>>> =
            writes.iter().map(|w| w.params.iter().map(|p| &**p as Param<'_>).collect()).collect();
        // The writes and the COMMIT go out together (with the BEGIN when
        // nothing was read). A write that fails makes the COMMIT a
        // rollback; once the COMMIT is sent, a lost connection leaves the
        // outcome unknown, so nothing is run again then.
        let begin = !tx.begun;
        tx.begun = true;
        tx.ended = true;
        let Conn { client, io } = &mut *tx.conn;
        let mut calls: Vec<conn::Call<'_>> = Vec::with_capacity(writes.len() + 2);
        if begin {
            calls.push(conn::simple(client, "BEGIN"));
        }
        for (w, p) in writes.iter().zip(&params) {
            calls.push(conn::execute(client, w.st, p));
        }
        calls.push(conn::simple(client, "COMMIT"));
        let mut results = io.run_all(calls).into_iter();
        let unsent = |e: Error, what: &str| {
            if errors::is_connection_lost(&e) {
                broken.set(true);
                (errors::map(what, e), false)
            } else {
                let e = errors::map(what, e);
                let rerun = e.is_conflict();
                (e, rerun)
            }
        };
        if begin {
            if let Some(Err(e)) = results.next() {
                return Err(unsent(e, "beginning a transaction"));
            }
        }
        for w in &writes {
            if let Some(Err(e)) = results.next() {
                return Err(unsent(e, w.what));
            }
        }
        match results.next() {
            Some(Err(e)) => Err(unsent(e, "committing")),
            _ => Ok(()),
        }
    }
}

impl Drop for PgStore {
    /// Closing a connection blocks on the client's own runtime, which may not
    /// happen on a thread that drives async tasks (a server dropped at the end
    /// of its runtime's `block_on`): the pool is dropped on a thread of its own.
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

/// The advisory lock conflicting runs queue on.
const RETRY_LOCK: i64 = 0x6361_7368_7265_7472;

/// Marks a connection broken when dropped (on a panic), so the pool closes it.
struct BrokenUnlessDone<'a>(&'a std::cell::Cell<bool>);

impl Drop for BrokenUnlessDone<'_> {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A transaction on a connection, begun lazily: its BEGIN goes out with its
/// first statement. Dropped unfinished, it is rolled back.
struct Tx<'c> {
    conn: &'c mut Conn,
    broken: &'c Cell<bool>,
    begun: bool,
    /// COMMIT (or ROLLBACK) sent.
    ended: bool,
}

impl Run for Tx<'_> {
    fn run(&mut self, lead: Lead<'_>, st: &Statement, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        let begin = !self.begun;
        self.begun = true;
        pipelined(self.conn, begin, lead, st, params)
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.begun && !self.ended && self.conn.batch_execute("ROLLBACK").is_err() {
            self.broken.set(true);
        }
    }
}

/// The operation's read handle: its reads lock what they find.
struct TxRead<'c> {
    tx: RefCell<Tx<'c>>,
    st: &'c sql::Statements,
    /// The cards read (so locked) in this transaction: history length and
    /// lots (JSON), for the writes and for `lots()`. No one else can change
    /// them before the transaction ends.
    locked: RefCell<HashMap<String, (i64, String)>>,
}

impl TxRead<'_> {
    fn with<T>(&self, f: impl FnOnce(&mut Reads<'_, Tx<'_>>) -> T) -> T {
        let mut tx = self.tx.borrow_mut();
        f(&mut Reads { client: &mut *tx, st: self.st, lock: true })
    }
}

impl StoreRead for TxRead<'_> {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        let Some((card, len, lots)) = self.with(|r| r.locked_card(number))? else { return Ok(None) };
        self.locked.borrow_mut().insert(number.to_string(), (len, lots));
        Ok(Some(card))
    }
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.with(|r| r.contact(code))
    }
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.with(|r| r.contact_by_mobile(e164))
    }
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        self.with(|r| r.contact_cards(code))
    }
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        if let Some((_, lots)) = self.locked.borrow().get(number) {
            return serde_json::from_str(lots)
                .map_err(|e| StoreError::Corrupt { key: number.to_string(), reason: e.to_string() });
        }
        self.with(|r| r.lots(number))
    }
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.with(|r| r.history(number))
    }
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        self.with(|r| r.receipt(id))
    }
}

impl StoreRead for PgStore {
    fn card(&self, number: &str) -> Result<Option<CardRecord>, StoreError> {
        self.read(|r| r.card(number))
    }
    fn contact(&self, code: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.read(|r| r.contact(code))
    }
    fn contact_by_mobile(&self, e164: &str) -> Result<Option<ContactRecord>, StoreError> {
        self.read(|r| r.contact_by_mobile(e164))
    }
    fn contact_cards(&self, code: &str) -> Result<Vec<String>, StoreError> {
        self.read(|r| r.contact_cards(code))
    }
    fn lots(&self, number: &str) -> Result<Vec<Lot>, StoreError> {
        self.read(|r| r.lots(number))
    }
    fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        self.read(|r| r.history(number))
    }
    fn receipt(&self, id: &str) -> Result<Option<ReceiptRecord>, StoreError> {
        self.read(|r| r.receipt(id))
    }
    fn card_view(&self, number: &str) -> Result<Option<CardView>, StoreError> {
        self.read(|r| r.card_view(number))
    }
}

impl Store for PgStore {
    fn transact(&self, op: &mut Operation<'_>) -> Result<(), StoreError> {
        retry::off_async(|| {
            let mut attempt = 0;
            loop {
                match self.run_once(op, attempt > 0) {
                    Ok(()) => return Ok(()),
                    Err((e, true)) if attempt + 1 < retry::TRIES_MAX => {
                        tracing::debug!(attempt, error = %e.chain(), "running the operation again");
                        retry::backoff(attempt);
                        attempt += 1;
                    }
                    Err((e @ StoreError::Unavailable(_), _)) => {
                        tracing::error!(database = %self.url, error = %e.chain(), "the database cannot be reached");
                        return Err(e);
                    }
                    Err((e, _)) => return Err(e),
                }
            }
        })
    }

    fn card_count(&self) -> Result<u64, StoreError> {
        self.read(|r| {
            let st = r.st.card_count.clone();
            let n: i64 = r.client.query_one(&st, &[]).map_err(|e| errors::map("counting cards", e))?.get(0);
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    fn find_contacts(
        &self,
        query: &ContactQuery,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Page<ContactRecord>, StoreError> {
        self.read(|r| search::contacts(r.client, r.st, query, after, limit))
    }

    fn find_cards(&self, query: &CardQuery, after: Option<&str>, limit: usize) -> Result<Page<CardRecord>, StoreError> {
        self.read(|r| search::cards(r.client, r.st, query, after, limit))
    }

    /// One read-only REPEATABLE READ transaction (see `snapshot`); not run
    /// again on a lost connection, since the sink has had part of it.
    fn snapshot(&self, part: SnapshotPart, sink: &mut Sink<'_>) -> Result<(), StoreError> {
        retry::off_async(|| {
            let mut conn = self.conn()?;
            let PgConn { client, broken, .. } = &mut *conn;
            let result = snapshot::run(client, part, sink);
            if matches!(result, Err(StoreError::Unavailable(_))) {
                broken.set(true);
            }
            result
        })
    }

    fn scan(&self, table: Table, after: Option<&str>, limit: usize) -> Result<Page<Stored>, StoreError> {
        self.read(|r| scan::scan(r.client, r.st, table, after, limit))
    }
}
