//! One connection: the asynchronous client (tokio-postgres) driven on the
//! calling thread by a small runtime of its own, as the synchronous
//! `postgres` crate does, but with its futures at hand so that statements
//! that do not depend on each other's answers go out together (pipelining):
//! a transaction's BEGIN travels with its first read, its writes with its
//! COMMIT, so a Block is three round trips, not seven.

use std::future::Future;
use std::pin::Pin;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, Config, Error, NoTls, Row, Statement};

/// A statement parameter.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// A statement sent ahead of another in the same flight, with its parameters.
pub(super) type Lead<'a> = Option<(&'a Statement, &'a [Param<'a>])>;

type Driver = Pin<Box<dyn Future<Output = Result<(), Error>> + Send>>;

/// The connection's I/O: its runtime and the task that reads and writes
/// the socket, polled only while a call waits on it.
pub(super) struct Io {
    runtime: tokio::runtime::Runtime,
    /// `None` once the connection ended (the client's calls then fail).
    driver: Option<Driver>,
}

impl Io {
    /// Runs `f` (which uses this connection's client) to its end.
    pub fn block_on<F: Future>(&mut self, f: F) -> F::Output {
        let driver = &mut self.driver;
        let mut f = std::pin::pin!(f);
        self.runtime.block_on(std::future::poll_fn(|cx| {
            // The call first, so its request is queued before the socket is
            // written; the driver's progress wakes it again.
            if let std::task::Poll::Ready(v) = f.as_mut().poll(cx) {
                return std::task::Poll::Ready(v);
            }
            if let Some(d) = driver.as_mut() {
                if d.as_mut().poll(cx).is_ready() {
                    *driver = None;
                    return f.as_mut().poll(cx);
                }
            }
            std::task::Poll::Pending
        }))
    }
}

/// A client with its I/O.
pub(super) struct Conn {
    pub client: Client,
    pub io: Io,
}

impl Conn {
    pub fn connect(config: &Config) -> Result<Conn, Error> {
        // As the synchronous client does: a runtime that cannot be built
        // (no file descriptors left) is not a database error.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for a database connection");
        let (client, connection) = runtime.block_on(config.connect(NoTls))?;
        Ok(Conn { client, io: Io { runtime, driver: Some(Box::pin(connection)) } })
    }

    pub fn query(&mut self, st: &Statement, params: &[Param<'_>]) -> Result<Vec<Row>, Error> {
        self.io.block_on(self.client.query(st, params))
    }

    pub fn query_one(&mut self, st: &Statement, params: &[Param<'_>]) -> Result<Row, Error> {
        self.io.block_on(self.client.query_one(st, params))
    }

    pub fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, Error> {
        self.io.block_on(self.client.execute(sql, params))
    }

    pub fn batch_execute(&mut self, sql: &str) -> Result<(), Error> {
        self.io.block_on(self.client.batch_execute(sql))
    }

    pub fn prepare(&mut self, sql: &str) -> Result<Statement, Error> {
        self.io.block_on(self.client.prepare(sql))
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed() || self.io.driver.is_none()
    }
}

/// One statement's call, boxed so that calls of different kinds go in one
/// list; rows for a query, none for the rest.
pub(super) type Call<'a> = Pin<Box<dyn Future<Output = Result<Vec<Row>, Error>> + 'a>>;

pub(super) fn query<'a>(client: &'a Client, st: &'a Statement, params: &'a [Param<'a>]) -> Call<'a> {
    Box::pin(client.query(st, params))
}

pub(super) fn execute<'a>(client: &'a Client, st: &'a Statement, params: &'a [Param<'a>]) -> Call<'a> {
    Box::pin(async move { client.execute(st, params).await.map(|_| Vec::new()) })
}

/// A statement without parameters (BEGIN, COMMIT, ROLLBACK).
pub(super) fn simple<'a>(client: &'a Client, sql: &'a str) -> Call<'a> {
    Box::pin(async move { client.batch_execute(sql).await.map(|()| Vec::new()) })
}

impl Io {
    /// Runs `calls` together: each is first polled in its order, which
    /// sends its statement, so they reach the server in that order in one
    /// write and run there one after the other; their answers come back
    /// in one go. Each statement has its own Sync: one that fails does not
    /// stop the next from running (inside a transaction the next then
    /// fails too, and a COMMIT after it rolls back).
    pub fn run_all<T>(&mut self, mut calls: Vec<Pin<Box<dyn Future<Output = T> + '_>>>) -> Vec<T> {
        let mut out: Vec<Option<T>> = calls.iter().map(|_| None).collect();
        self.block_on(std::future::poll_fn(move |cx| {
            let mut pending = false;
            for (call, o) in calls.iter_mut().zip(out.iter_mut()) {
                if o.is_none() {
                    match call.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => *o = Some(v),
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                std::task::Poll::Pending
            } else {
                std::task::Poll::Ready(out.iter_mut().filter_map(Option::take).collect())
            }
        }))
    }
}

/// The rows of `st`, sent together with a BEGIN before it (`begin`) and a
/// statement whose rows are not wanted (`lead`); the first error wins.
pub(super) fn pipelined(
    conn: &mut Conn,
    begin: bool,
    lead: Lead<'_>,
    st: &Statement,
    params: &[Param<'_>],
) -> Result<Vec<Row>, Error> {
    let Conn { client, io } = conn;
    if !begin && lead.is_none() {
        return io.block_on(client.query(st, params));
    }
    let mut calls: Vec<Call<'_>> = Vec::with_capacity(3);
    if begin {
        calls.push(simple(client, "BEGIN"));
    }
    if let Some((s, p)) = lead {
        calls.push(execute(client, s, p));
    }
    calls.push(query(client, st, params));
    let mut results = io.run_all(calls);
    let rows = results.pop().unwrap_or_else(|| Ok(Vec::new()));
    for r in results {
        r?;
    }
    rows
}
