//! Running the reference server: open the store, load rules and users, serve
//! until SIGTERM/SIGINT (in-flight requests finish, the store is flushed),
//! reload rules and users on SIGHUP (a bad new file is refused and logged;
//! the old one stays).

use crate::auth::{Authenticator, Users};
use crate::http::{api, App};
use crate::journal::Journal;
use crate::rules::{RuleHandle, RuleSet};
use crate::service::CardService;
use crate::store::{SledStore, Store};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

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
    #[error("cannot listen on {addr}: {error}")]
    Listen { addr: SocketAddr, error: std::io::Error },
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
    pub body_bytes_max: usize,
}

/// The pieces of a running server, shared with signal handlers.
pub struct Server {
    pub config: ServeConfig,
    pub service: Arc<CardService>,
    pub auth: Arc<Authenticator>,
    pub journal: Arc<Journal>,
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
    /// Opens the store and journal under `data`, loads rules and users.
    pub fn open(config: ServeConfig) -> Result<Server, ServerError> {
        let rules = RuleSet::load_dir(&config.rules).map_err(ServerError::Rules)?;
        let users = Users::load(&config.users).map_err(ServerError::Users)?;
        check_roles(&users, &rules);
        std::fs::create_dir_all(&config.data)
            .map_err(|error| ServerError::DataDir { path: config.data.clone(), error })?;
        let store: Arc<dyn Store> = Arc::new(SledStore::open(&config.data.join("store")).map_err(ServerError::Store)?);
        let journal =
            Arc::new(Journal::open(&config.data.join("journal"), config.log_requests).map_err(ServerError::Journal)?);
        let service = Arc::new(CardService::new(store, Arc::new(RuleHandle::new(rules))));
        let auth = Arc::new(Authenticator::new(users));
        Ok(Server { config, service, auth, journal })
    }

    /// SIGHUP: reloads rules and users; a set that does not check is refused
    /// and the old one stays.
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
    }

    /// Serves until SIGTERM or SIGINT. `ready` gets the bound address.
    pub async fn run(self, ready: impl FnOnce(SocketAddr)) -> Result<(), ServerError> {
        let listen = self.config.listen;
        let listener =
            tokio::net::TcpListener::bind(listen).await.map_err(|error| ServerError::Listen { addr: listen, error })?;
        let addr = listener.local_addr().map_err(|error| ServerError::Listen { addr: listen, error })?;
        let app = Arc::new(App {
            service: self.service.clone(),
            auth: self.auth.clone(),
            journal: Some(self.journal.clone()),
            body_bytes_max: self.config.body_bytes_max,
        });
        let server = Arc::new(self);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        spawn_signal_handlers(server.clone(), stop_tx)?;
        ready(addr);
        tracing::info!(%addr, "listening");
        warp::serve(api(app))
            .incoming(listener)
            .graceful(async move {
                let _ = stop_rx.await;
                tracing::info!("shutting down: finishing in-flight requests");
            })
            .run()
            .await;
        // Every acknowledged change is already durable; the store flushes
        // once more when it is dropped.
        server.journal.flush();
        tracing::info!("stopped; the store is flushed");
        Ok(())
    }
}

#[cfg(unix)]
fn spawn_signal_handlers(server: Arc<Server>, stop: tokio::sync::oneshot::Sender<()>) -> Result<(), ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServerError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServerError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServerError::Signals)?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
        let _ = stop.send(());
    });
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let s = server.clone();
            // Loading rules and users reads files: off the async threads.
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn spawn_signal_handlers(_server: Arc<Server>, stop: tokio::sync::oneshot::Sender<()>) -> Result<(), ServerError> {
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(());
    });
    Ok(())
}
