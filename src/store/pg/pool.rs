//! Connections: r2d2's blocking pool over [`Conn`]s, each connection with
//! the store's statements prepared once. A connection that lost its server
//! is marked broken and replaced.

use super::config::{redact, PgOptions};
use super::conn::Conn;
use super::sql::Statements;
use std::cell::Cell;
use tokio_postgres::Error;

/// One pooled connection.
pub(super) struct PgConn {
    pub client: Conn,
    pub st: Statements,
    /// Set when an error showed the connection is gone.
    pub broken: Cell<bool>,
}

pub(super) struct Manager {
    pub config: tokio_postgres::Config,
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConn;
    type Error = Error;

    fn connect(&self) -> Result<PgConn, Error> {
        let mut client = Conn::connect(&self.config)?;
        let st = Statements::prepare(&mut client)?;
        Ok(PgConn { client, st, broken: Cell::new(false) })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), Error> {
        conn.client.batch_execute("")
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.broken.get() || conn.client.is_closed()
    }
}

/// Logs a failed connection attempt once per attempt, naming the database
/// without its password.
#[derive(Debug)]
struct LogErrors {
    url: String,
}

impl r2d2::HandleError<Error> for LogErrors {
    fn handle_error(&self, error: Error) {
        tracing::error!(database = %self.url, error = %error, "cannot connect to the database; retrying");
    }
}

/// The client configuration: the URL plus the durability and timeout
/// settings every session gets.
pub(super) fn client_config(url: &str, options: &PgOptions) -> Result<tokio_postgres::Config, String> {
    let mut config: tokio_postgres::Config =
        url.parse().map_err(|e| format!("`{}` is not a PostgreSQL URL: {e}", redact(url)))?;
    config.connect_timeout(options.connect_timeout);
    config.application_name("cashdesk");
    // The answer leaves only after COMMIT returned, and COMMIT returns once
    // the commit is durable: synchronous_commit is on whatever the server's
    // default says.
    let statement_ms = options.statement_timeout.as_millis();
    // The prepared statements keep one generic plan (point reads by key,
    // `unnest` joins on the primary key): left to choose, PostgreSQL planned
    // the `unnest` writes afresh on every run, a sixth of its CPU in a Block.
    config.options(format!(
        "-c synchronous_commit=on -c statement_timeout={statement_ms} -c plan_cache_mode=force_generic_plan"
    ));
    Ok(config)
}

pub(super) fn build(url: &str, config: tokio_postgres::Config, options: &PgOptions) -> r2d2::Pool<Manager> {
    r2d2::Pool::builder()
        .max_size(options.pool_size.max(1))
        .min_idle(Some(options.pool_size.clamp(1, 4)))
        .connection_timeout(options.connect_timeout)
        // A broken connection is found by the error of its first use and
        // that operation runs again on another, so no check on every checkout.
        .test_on_check_out(false)
        .error_handler(Box::new(LogErrors { url: redact(url) }))
        .build_unchecked(Manager { config })
}
