//! Signals: SIGTERM and SIGINT stop the server (once); SIGHUP reloads rules,
//! users and the TLS pair, off the async threads.

use super::{Server, ServerError};
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Installs the handlers; `stop` turns true on SIGTERM or SIGINT. The
/// returned tasks run until aborted.
#[cfg(unix)]
pub fn spawn(server: Arc<Server>, stop: watch::Sender<bool>) -> Result<Vec<JoinHandle<()>>, ServerError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServerError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServerError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServerError::Signals)?;
    let stopper = tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = int.recv() => tracing::info!("SIGINT"),
        }
        let _ = stop.send(true);
    });
    let reloader = tokio::spawn(async move {
        while hup.recv().await.is_some() {
            let s = server.clone();
            // Loading rules, users and certificates reads files.
            let _ = tokio::task::spawn_blocking(move || s.reload()).await;
        }
    });
    Ok(vec![stopper, reloader])
}

#[cfg(not(unix))]
pub fn spawn(_server: Arc<Server>, stop: watch::Sender<bool>) -> Result<Vec<JoinHandle<()>>, ServerError> {
    let stopper = tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop.send(true);
    });
    Ok(vec![stopper])
}
