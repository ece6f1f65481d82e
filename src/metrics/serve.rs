//! The Prometheus exporter: installs the recorder the families record into
//! and serves its text format at `GET /metrics` on a listener of its own
//! (`--metrics-listen`), apart from the API port and without auth.

use super::{describe, register_at_zero, FLUSH_SECONDS, GROUP_COMMIT_BATCH, REQUEST_SECONDS};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;
use warp::http::{HeaderValue, Response};
use warp::Filter;

/// Upper bounds of the latency buckets, in seconds: 100 µs (a cached
/// balance) to 2.5 s (a flush on a disk in trouble).
const SECONDS_BUCKETS: [f64; 14] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// Upper bounds of the group-commit batch-size buckets.
const BATCH_BUCKETS: [f64; 11] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0];

/// How often histograms are drained when nobody scrapes (the crate leaves
/// this to its user; a scrape drains them too).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// The Prometheus text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot listen for metrics on {addr}: {error}")]
    Listen { addr: SocketAddr, error: std::io::Error },
    #[error("cannot set up the metrics recorder: {0}")]
    Recorder(String),
}

/// A recorder with this project's histogram buckets (histograms, not the
/// crate's default summaries: buckets add up across servers, quantiles do not).
pub(super) fn recorder() -> Result<PrometheusRecorder, MetricsError> {
    let error = |e: metrics_exporter_prometheus::BuildError| MetricsError::Recorder(e.to_string());
    let mut builder = PrometheusBuilder::new();
    for name in [REQUEST_SECONDS, FLUSH_SECONDS] {
        builder = builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), &SECONDS_BUCKETS).map_err(error)?;
    }
    builder =
        builder.set_buckets_for_metric(Matcher::Full(GROUP_COMMIT_BATCH.to_owned()), &BATCH_BUCKETS).map_err(error)?;
    Ok(builder.build_recorder())
}

/// Installs the recorder as the process's global one, once; later calls get
/// the same handle (or the same error).
fn install() -> Result<PrometheusHandle, MetricsError> {
    static INSTALLED: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    let installed = INSTALLED.get_or_init(|| {
        let recorder = recorder().map_err(|e| e.to_string())?;
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
        describe();
        register_at_zero();
        Ok(handle)
    });
    installed.clone().map_err(MetricsError::Recorder)
}

/// Installs the recorder and serves `GET /metrics` on `addr` until the
/// process ends; returns the bound address (port 0 picks one). Call it from
/// inside the Tokio runtime.
pub async fn serve(addr: SocketAddr) -> Result<SocketAddr, MetricsError> {
    let handle = install()?;
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|error| MetricsError::Listen { addr, error })?;
    let bound = listener.local_addr().map_err(|error| MetricsError::Listen { addr, error })?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    let scrape = warp::path!("metrics").and(warp::get()).map(move || {
        let mut response = Response::new(handle.render());
        response.headers_mut().insert("content-type", HeaderValue::from_static(CONTENT_TYPE));
        response
    });
    tokio::spawn(warp::serve(scrape).incoming(listener).run());
    tracing::info!(addr = %bound, "metrics listening on /metrics");
    Ok(bound)
}
