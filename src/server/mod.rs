//! Running the reference server: open the store, load rules, users and the
//! TLS pair, serve until SIGTERM/SIGINT, reload on SIGHUP (a bad new file is
//! refused and logged; the old one stays). The connection layer is ours, not
//! `warp::serve`: one file per mechanism below.
//!
//! - [`accept`]: the accept loop and the connection cap.
//! - [`conn`]: one connection through hyper into the warp service.
//! - [`timeouts`] and [`watched_io`]: header, idle and (with `crate::http`)
//!   body timeouts.
//! - [`tls`]: rustls with reload.
//! - [`limits`]: the open-files limit.
//! - [`signals`], [`pid_file`]: operations.

pub mod accept;
mod conn;
pub mod limits;
pub mod pid_file;
mod signals;
pub mod timeouts;
pub mod tls;
mod watched_io;

pub use timeouts::Timeouts;
pub use tls::TlsFiles;

use crate::auth::{Authenticator, Users};
use crate::http::{api, App};
use crate::journal::Journal;
use crate::rules::{RuleHandle, RuleSet};
use crate::service::CardService;
use crate::store::Store;
use accept::Connections;
use conn::ConnShared;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Why the server could not start or stop cleanly. (Errors per layer: the
/// library has its own enum; `anyhow` stays in `bin/`.)
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    // Each message carries its cause, so none is also a `source`: a printed
    // chain would say it twice.
    #[error("the rules do not check:\n{0}")]
    Rules(crate::rules::RuleErrors),
    #[error("{0}")]
    Users(crate::auth::AuthError),
    #[error("cannot create {}: {error}", path.display())]
    DataDir { path: PathBuf, error: std::io::Error },
    #[error(transparent)]
    Store(crate::store::StoreError),
    #[error("{0}")]
    Journal(crate::journal::JournalError),
    #[error("{0}")]
    Tls(tls::TlsError),
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: SocketAddr, error: std::io::Error },
    #[error("cannot write the pid file {}: {error}", path.display())]
    PidFile { path: PathBuf, error: std::io::Error },
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
}

/// Everything `cashdesk serve` needs, after flags, environment and config
/// file have been merged.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub data: PathBuf,
    pub rules: PathBuf,
    pub users: PathBuf,
    pub listen: SocketAddr,
    pub log_requests: bool,
    /// Journal entries older than this many days leave the journal.
    pub journal_retention_days: u32,
    pub body_bytes_max: usize,
    pub timeouts: Timeouts,
    /// Concurrent connections; `None`: derived from the open-files limit.
    pub max_connections: Option<usize>,
    /// How long in-flight requests may take to finish after SIGTERM.
    pub shutdown_timeout: Duration,
    pub tls: Option<TlsFiles>,
    /// `None`: `DATA/cashdesk.pid`.
    pub pid_file: Option<PathBuf>,
    /// `--store`: a sled directory or a `postgres://` URL; `None`: sled in
    /// `DATA/store`. With PostgreSQL, DATA holds only this server's journal.
    pub store: Option<String>,
    /// Pool size and timeouts of a PostgreSQL store.
    pub pg: crate::store::PgOptions,
}

impl ServeConfig {
    /// A config with every optional setting at its default.
    pub fn new(data: PathBuf, rules: PathBuf, users: PathBuf, listen: SocketAddr) -> ServeConfig {
        ServeConfig {
            data,
            rules,
            users,
            listen,
            log_requests: false,
            journal_retention_days: crate::journal::RETENTION_DAYS_DEFAULT,
            body_bytes_max: crate::http::BODY_BYTES_MAX,
            timeouts: Timeouts::default(),
            max_connections: None,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            tls: None,
            pid_file: None,
            store: None,
            pg: crate::store::PgOptions::default(),
        }
    }

    pub fn pid_file_path(&self) -> PathBuf {
        self.pid_file.clone().unwrap_or_else(|| self.data.join(pid_file::DEFAULT_NAME))
    }
}

/// Default bound on finishing in-flight requests after SIGTERM.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// The pieces of a running server, shared with signal handlers.
pub struct Server {
    pub config: ServeConfig,
    pub service: Arc<CardService>,
    pub auth: Arc<Authenticator>,
    pub journal: Arc<Journal>,
    pub tls: Option<Arc<tls::Tls>>,
}

/// Warns about users whose role the rules do not know (they would get 403).
fn check_roles(users: &Users, rules: &RuleSet) {
    for (name, role) in users.roles() {
        if rules.role(role).is_none() {
            tracing::warn!(user = %name, role = %role, "user's role is not in the rules; its calls will be refused");
        }
    }
}

impl Server {
    /// Opens the store and journal under `data`, loads rules, users and the
    /// TLS pair.
    pub fn open(config: ServeConfig) -> Result<Server, ServerError> {
        let rules = RuleSet::load_dir(&config.rules).map_err(ServerError::Rules)?;
        let users = Users::load(&config.users).map_err(ServerError::Users)?;
        check_roles(&users, &rules);
        let tls = match &config.tls {
            Some(files) => Some(Arc::new(tls::Tls::open(files.clone()).map_err(ServerError::Tls)?)),
            None => None,
        };
        std::fs::create_dir_all(&config.data)
            .map_err(|error| ServerError::DataDir { path: config.data.clone(), error })?;
        let store: Arc<dyn Store> =
            crate::store::open_store(config.store.as_deref(), &config.data, &config.pg).map_err(ServerError::Store)?;
        let retention = Duration::from_secs(u64::from(config.journal_retention_days) * 86_400);
        let journal = Journal::open_retaining(&config.data.join("journal"), config.log_requests, Some(retention))
            .map_err(ServerError::Journal)?;
        let journal = Arc::new(journal);
        let service = Arc::new(CardService::new(store, Arc::new(RuleHandle::new(rules))));
        let auth = Arc::new(Authenticator::new(users));
        Ok(Server { config, service, auth, journal, tls })
    }

    /// SIGHUP: reloads rules, users and the TLS pair; whatever does not load
    /// is refused and the old one stays.
    pub fn reload(&self) {
        let reloaded = self.service.rule_handle().reload(&self.config.rules);
        crate::metrics::rules_reload(reloaded.is_ok());
        match reloaded {
            Ok(()) => tracing::info!(dir = %self.config.rules.display(), "rules reloaded"),
            Err(e) => tracing::error!(problems = %e, "new rules refused; the old rules stay in force"),
        }
        match Users::load(&self.config.users) {
            Ok(users) => {
                check_roles(&users, &self.service.rules());
                self.auth.reload(users);
                tracing::info!(file = %self.config.users.display(), "users reloaded");
            }
            Err(e) => tracing::error!(error = %e, "new users file refused; the old users stay"),
        }
        if let Some(tls) = &self.tls {
            match tls.reload() {
                Ok(()) => tracing::info!(cert = %tls.files().cert.display(), "TLS certificate reloaded"),
                Err(e) => tracing::error!(error = %e, "new TLS certificate refused; the old one stays"),
            }
        }
    }

    /// The connection cap: the flag, or derived from the open-files limit,
    /// which is raised to its hard limit first.
    fn connection_cap(&self) -> usize {
        let open_files = match limits::raise_open_files() {
            Ok(limit) => limit,
            Err(e) => {
                tracing::warn!(error = %e, "cannot raise the open-files limit");
                None
            }
        };
        let max = self.config.max_connections.unwrap_or_else(|| limits::default_max_connections(open_files));
        match open_files {
            Some(limit) => tracing::info!(open_files = limit, max_connections = max, "limits"),
            None => tracing::info!(max_connections = max, "limits"),
        }
        max
    }

    /// Serves until SIGTERM or SIGINT. `ready` gets the bound address.
    pub async fn run(self, ready: impl FnOnce(SocketAddr)) -> Result<(), ServerError> {
        let max = self.connection_cap();
        let listen = self.config.listen;
        let listener = accept::bind(listen).map_err(|error| ServerError::Listen { addr: listen, error })?;
        let addr = listener.local_addr().map_err(|error| ServerError::Listen { addr: listen, error })?;
        let pid_path = self.config.pid_file_path();
        let pid =
            pid_file::PidFile::write(&pid_path).map_err(|error| ServerError::PidFile { path: pid_path, error })?;
        let app = Arc::new(App {
            service: self.service.clone(),
            auth: self.auth.clone(),
            journal: Some(self.journal.clone()),
            body_bytes_max: self.config.body_bytes_max,
            body_timeout: self.config.timeouts.body,
        });
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let shared = Arc::new(ConnShared {
            service: warp::service(api(app)),
            timeouts: self.config.timeouts,
            tls: self.tls.clone(),
            stop: stop_rx.clone(),
            http: conn::http1(),
        });
        let grace = self.config.shutdown_timeout;
        let server = Arc::new(self);
        let signal_tasks = signals::spawn(server.clone(), stop_tx)?;
        let conns = Connections::new(max);
        ready(addr);
        let scheme = if server.tls.is_some() { "https" } else { "http" };
        tracing::info!(%addr, scheme, pid_file = %pid.path().display(), "listening");
        accept::accept_loop(listener, conns.clone(), stop_rx, move |stream, place| {
            tokio::spawn(conn::serve_connection(shared.clone(), stream, place));
        })
        .await;
        tracing::info!(open = conns.live(), "shutting down: no new connections; finishing in-flight requests");
        if tokio::time::timeout(grace, conns.all_gone()).await.is_err() {
            tracing::warn!(
                open = conns.live(),
                grace_s = grace.as_secs_f64(),
                "shutdown timeout: closing what is still open"
            );
        }
        for t in signal_tasks {
            t.abort();
        }
        server.journal.flush();
        drop(pid);
        tracing::info!("stopped");
        Ok(())
    }
}
