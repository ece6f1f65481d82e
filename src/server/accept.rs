//! The accept loop and the connection cap: every accepted socket is either
//! admitted (counted until its task ends) or, past the cap, closed at once.
//! Accept errors never end the loop; running out of descriptors backs off
//! briefly instead of spinning on a listener that stays readable.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};

/// How long the loop sleeps after an accept error that is not one
/// connection's own (EMFILE, ENFILE, ENOBUFS, ENOMEM…).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The listen backlog: connections the kernel completes while the loop is
/// busy or out of descriptors. (std and tokio use 128, which a burst of
/// tills reconnecting after a network blip overflows into SYN retries of
/// 1 s, 3 s, 7 s…; the kernel caps it at `net.core.somaxconn`.)
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds the listener (with `SO_REUSEADDR`, so a restart need not wait for
/// the old connections' TIME_WAIT).
pub fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// The live connections, against their cap.
pub struct Connections {
    live: AtomicUsize,
    max: usize,
    refused: AtomicU64,
    gone: Notify,
}

/// A counted connection: dropping it frees its place.
pub struct Admitted(Arc<Connections>);

impl Drop for Admitted {
    fn drop(&mut self) {
        let before = self.0.live.fetch_sub(1, Ordering::AcqRel);
        debug_assert!(before > 0, "a connection left that was never counted");
        if before == 1 {
            self.0.gone.notify_waiters();
        }
    }
}

impl Connections {
    pub fn new(max: usize) -> Arc<Connections> {
        debug_assert!(max > 0);
        Arc::new(Connections { live: AtomicUsize::new(0), max, refused: AtomicU64::new(0), gone: Notify::new() })
    }

    pub fn live(&self) -> usize {
        self.live.load(Ordering::Acquire)
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections closed at once because the cap was reached.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// A place for one more connection, unless all are taken.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        let mut n = self.live.load(Ordering::Acquire);
        loop {
            if n >= self.max {
                self.refused.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            match self.live.compare_exchange_weak(n, n + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(Admitted(self.clone())),
                Err(now) => n = now,
            }
        }
    }

    /// Resolves when no connection is left.
    pub async fn all_gone(&self) {
        loop {
            let gone = self.gone.notified();
            tokio::pin!(gone);
            gone.as_mut().enable();
            if self.live() == 0 {
                return;
            }
            gone.await;
        }
    }
}

/// Errors that belong to one connection that died before it was accepted.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock)
}

/// Logs at most once a second, with how many events it stood for.
struct Throttled {
    last: Option<tokio::time::Instant>,
    count: u64,
}

impl Throttled {
    fn new() -> Throttled {
        Throttled { last: None, count: 0 }
    }

    /// Counts an event; `Some(n)` when it is time to log `n` of them.
    fn hit(&mut self) -> Option<u64> {
        self.count += 1;
        let now = tokio::time::Instant::now();
        if self.last.is_some_and(|l| now - l < Duration::from_secs(1)) {
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.count))
    }
}

/// Accepts until `stop` turns true, handing each admitted connection to
/// `serve`. Returns (and so closes the listener) when stopped.
pub async fn accept_loop(
    listener: TcpListener,
    conns: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
    serve: impl Fn(TcpStream, Admitted),
) {
    let mut full = Throttled::new();
    let mut failing = Throttled::new();
    loop {
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => return,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, _peer)) => match conns.admit() {
                Some(place) => serve(stream, place),
                None => {
                    drop(stream);
                    if let Some(n) = full.hit() {
                        tracing::warn!(
                            max = conns.max(),
                            closed = n,
                            "connection cap reached; new connections are closed at once"
                        );
                    }
                }
            },
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                if let Some(n) = failing.hit() {
                    tracing::error!(error = %e, times = n, live = conns.live(), "accept failed; backing off");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_kept_and_places_come_back() {
        let c = Connections::new(2);
        let a = c.admit().unwrap();
        let b = c.admit().unwrap();
        assert!(c.admit().is_none());
        assert_eq!((c.live(), c.refused()), (2, 1));
        drop(a);
        let _c = c.admit().unwrap();
        drop(b);
        assert_eq!(c.live(), 1);
    }

    #[tokio::test]
    async fn all_gone_waits_for_the_last_connection() {
        let c = Connections::new(4);
        let a = c.admit().unwrap();
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.all_gone().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        drop(a);
        tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap();
    }
}
