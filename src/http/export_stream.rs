//! `GET /api/admin/export/{file}` (issue 13): one store snapshot, rendered
//! on a blocking thread and streamed as the response body chunk by chunk
//! through a bounded channel, so a million rows never sit in memory as one
//! body and a slow client slows only its own export (the snapshot itself
//! holds up no writer on PostgreSQL, and writers on sled only for its copy).
//!
//! The status line goes out before the export ends: an export that fails
//! part way (the store fails) ends the body without its last chunk, so the
//! client sees a broken transfer, never a short file that looks whole.

use super::{respond, Resp};
use crate::export::ExportKind;
use bytes::Bytes;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::sync::mpsc;
use tracing::Span;
use warp::http::{HeaderValue, StatusCode};
use warp::Reply;

/// Bytes per chunk sent to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks rendered ahead of the client at most.
const CHUNKS_AHEAD_MAX: usize = 16;

type Chunk = Result<Bytes, std::io::Error>;

/// The body of an export, carried in the response's extensions until the
/// response leaves [`super::api`] (extensions must be `Clone`).
#[derive(Clone)]
struct Streamed(Arc<Mutex<Option<mpsc::Receiver<Chunk>>>>);

/// Starts the export of `kind` from `store` and answers 200 with its body
/// to come.
pub(super) fn start(store: Arc<dyn crate::store::Store>, kind: ExportKind) -> Resp {
    let (tx, rx) = mpsc::channel(CHUNKS_AHEAD_MAX);
    let span = Span::current();
    tokio::task::spawn_blocking(move || {
        span.in_scope(|| {
            let mut w = ChunkWriter { tx, buf: Vec::with_capacity(CHUNK_BYTES) };
            let result = crate::export::export(store.as_ref(), kind, &mut w);
            let result =
                result.map_err(|e| e.chain().to_string()).and_then(|n| w.send().map(|_| n).map_err(|e| e.to_string()));
            match result {
                Ok(lines) => tracing::info!(export = %kind, lines, "export streamed"),
                Err(why) => {
                    tracing::error!(export = %kind, error = %why, "export failed part way");
                    let _ = w.tx.blocking_send(Err(std::io::Error::other("the export failed")));
                }
            }
        })
    });
    let mut r = respond(StatusCode::OK, "OK", Vec::new());
    let content_type = if kind == ExportKind::Receipts { "application/x-ndjson" } else { "text/csv; charset=utf-8" };
    r.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", kind.file_name())) {
        r.headers_mut().insert("content-disposition", v);
    }
    r.extensions_mut().insert(Streamed(Arc::new(Mutex::new(Some(rx)))));
    r
}

/// The response as warp sends it: an export's body streamed, any other
/// body as it is.
pub(super) fn into_reply(r: Resp) -> warp::reply::Response {
    let (mut parts, body) = r.into_parts();
    let stream = parts.extensions.remove::<Streamed>().and_then(|s| s.0.lock().ok().and_then(|mut g| g.take()));
    match stream {
        Some(rx) => {
            let (_, streamed) = warp::reply::stream(ChunkStream(rx)).into_response().into_parts();
            warp::reply::Response::from_parts(parts, streamed)
        }
        None => warp::http::Response::from_parts(parts, body).into_response(),
    }
}

/// Collects the export's output into chunks and hands each to the channel,
/// waiting while the client is [`CHUNKS_AHEAD_MAX`] chunks behind.
struct ChunkWriter {
    tx: mpsc::Sender<Chunk>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK_BYTES)));
        // Err: the response was dropped (the client went away); stop.
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl std::io::Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    /// Chunks go out when full or at the end, not on every flush.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The channel's chunks as a body stream.
struct ChunkStream(mpsc::Receiver<Chunk>);

impl futures_util::Stream for ChunkStream {
    type Item = Chunk;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Chunk>> {
        self.0.poll_recv(cx)
    }
}
