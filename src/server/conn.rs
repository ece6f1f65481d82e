//! One connection: the TLS handshake when the port has TLS, then HTTP/1.1
//! through hyper into the API's warp service, all under the connection
//! clock's watchdog; when the server stops, the connection finishes the
//! request under way and closes.

use super::accept::Admitted;
use super::timeouts::{watchdog, ConnClock, Timeouts};
use super::tls::{refuse_plain_http, Tls, TLS_HANDSHAKE};
use super::watched_io::WatchedIo;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// What every connection shares.
pub struct ConnShared<S> {
    /// The API as a tower service (`warp::service`).
    pub service: S,
    pub timeouts: Timeouts,
    pub tls: Option<Arc<Tls>>,
    /// Turns true when the server stops.
    pub stop: watch::Receiver<bool>,
    pub http: hyper::server::conn::http1::Builder,
}

/// hyper's HTTP/1.1 settings: hyper's defaults (431 for oversized heads),
/// with its own header timer off — the connection clock keeps time.
pub fn http1() -> hyper::server::conn::http1::Builder {
    let mut b = hyper::server::conn::http1::Builder::new();
    b.header_read_timeout(None).keep_alive(true);
    b
}

/// The API service, telling the clock when a request starts and ends.
struct Tracked<S> {
    inner: S,
    clock: Arc<ConnClock>,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: tower_service::Service<Request<Incoming>> + Clone,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        self.clock.request_started();
        // warp's service is always ready (its `poll_ready` returns Ready), so
        // `call` needs no `poll_ready` first.
        let fut = self.inner.clone().call(req);
        let clock = self.clock.clone();
        Box::pin(async move {
            let r = fut.await;
            clock.request_finished();
            r
        })
    }
}

/// Serves one admitted connection to its end, or until a timeout closes it.
pub async fn serve_connection<S, B>(shared: Arc<ConnShared<S>>, stream: TcpStream, place: Admitted)
where
    S: tower_service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _place = place;
    let _ = stream.set_nodelay(true);
    let clock = Arc::new(ConnClock::new());
    let io = WatchedIo::new(stream, clock.clone());
    let work = async {
        match &shared.tls {
            None => serve_http(&shared, io, &clock).await,
            Some(tls) => {
                let mut first = [0u8; 1];
                match io.get_ref().peek(&mut first).await {
                    Ok(1..) if first[0] == TLS_HANDSHAKE => {}
                    Ok(1..) => return refuse_plain_http(io).await,
                    _ => return,
                }
                match tls.acceptor().accept(io).await {
                    Ok(tls_stream) => serve_http(&shared, tls_stream, &clock).await,
                    Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                }
            }
        }
    };
    tokio::select! {
        () = work => {}
        phase = watchdog(&clock, &shared.timeouts) => {
            tracing::debug!(timeout = phase.timeout_name(), "connection closed on timeout");
        }
    }
}

async fn serve_http<S, B, I>(shared: &ConnShared<S>, io: I, clock: &Arc<ConnClock>)
where
    S: tower_service::Service<Request<Incoming>, Response = hyper::Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let svc = Tracked { inner: shared.service.clone(), clock: clock.clone() };
    let conn = shared.http.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(conn);
    let mut stop = shared.stop.clone();
    let ended = tokio::select! {
        r = conn.as_mut() => Some(r),
        _ = stop.wait_for(|s| *s) => None,
    };
    let result = match ended {
        Some(r) => r,
        None => {
            // Finish the request under way (if any), then close.
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
