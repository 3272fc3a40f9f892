//! Prometheus metrics: the process-wide recorder (the `metrics` facade, rendered by
//! `metrics-exporter-prometheus`), the gauges read from the database, and `GET /metrics`.
//!
//! Every crate records through the `metrics` macros; this module installs the recorder once
//! per process ([`install`]) with histogram buckets for every `…_seconds` metric. Queue depth,
//! the oldest queued job's age, running jobs and the webhook backlog come from one database
//! query, made by a scrape at most every [`REFRESH`] (concurrent scrapes share it).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hone_domain::Timestamp;
use hone_store::Store;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::Mutex;

use crate::AppState;
use crate::problem::ApiError;

/// How old the database gauges may be.
pub const REFRESH: Duration = Duration::from_secs(5);

pub use hone_domain::metric::*;

/// Histogram buckets of every `…_seconds` metric: 5 ms to 10 minutes.
const SECONDS_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on the first call. `None` if another recorder was
/// installed first (metrics are then that recorder's business).
pub fn install() -> Option<PrometheusHandle> {
    if let Some(h) = HANDLE.get() {
        return Some(h.clone());
    }
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), &SECONDS_BUCKETS)
        .ok()?;
    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    if metrics::set_global_recorder(recorder).is_err() {
        return HANDLE.get().cloned();
    }
    describe();
    let _ = HANDLE.set(handle.clone());
    Some(handle)
}

fn describe() {
    for (name, kind, help) in ALL {
        match kind {
            Kind::Counter => metrics::describe_counter!(name, help),
            Kind::Gauge => metrics::describe_gauge!(name, help),
            Kind::Histogram => metrics::describe_histogram!(name, help),
        }
    }
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Renders the metrics, refreshing the database gauges when they are older than
/// [`REFRESH`].
pub struct Exporter {
    handle: PrometheusHandle,
    store: Arc<dyn Store>,
    refreshed: Mutex<Option<Instant>>,
}

impl Exporter {
    /// An exporter over the process's recorder.
    pub fn new(handle: PrometheusHandle, store: Arc<dyn Store>) -> Self {
        Self {
            handle,
            store,
            refreshed: Mutex::new(None),
        }
    }

    /// The text exposition (format 0.0.4).
    pub async fn render(&self) -> Result<String, ApiError> {
        {
            let mut last = self.refreshed.lock().await;
            if last.is_none_or(|t| t.elapsed() >= REFRESH) {
                let q = self.store.queue_stats().await?;
                let age = q
                    .oldest_queued
                    .map_or(0.0, |t| Timestamp::now().millis_since(t) as f64 / 1000.0);
                metrics::gauge!(QUEUE_DEPTH).set(q.queued as f64);
                metrics::gauge!(QUEUE_OLDEST_AGE).set(age);
                metrics::gauge!(JOBS_RUNNING).set(q.running as f64);
                metrics::gauge!(WEBHOOK_BACKLOG).set(q.webhook_backlog as f64);
                let unserved = hone_store::unserved_jobs(self.store.as_ref()).await?;
                metrics::gauge!(QUEUE_UNSERVED).set(unserved as f64);
                *last = Some(Instant::now());
            }
        }
        self.handle.run_upkeep();
        Ok(self.handle.render())
    }
}

/// Where `GET /metrics` is served.
#[derive(Clone)]
pub enum MetricsRoute {
    /// On the API's own listener.
    Here(Arc<Exporter>),
    /// On its own listener (`HONE_METRICS_LISTEN`); the API's answers `404`.
    Elsewhere,
}

/// `GET /metrics`: Prometheus text, no key needed.
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    match &state.metrics {
        Some(MetricsRoute::Here(exporter)) => serve(exporter).await,
        _ => Err(ApiError::NotFound(
            "metrics are served on the metrics listener (HONE_METRICS_LISTEN)".to_owned(),
        )),
    }
}

/// The exposition as a response.
pub async fn serve(exporter: &Exporter) -> Result<Response, ApiError> {
    let text = exporter.render().await?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Counts an open SSE stream while it lives.
pub struct SseClient(());

impl SseClient {
    /// One more open stream.
    pub fn open() -> Self {
        metrics::gauge!(SSE_CLIENTS).increment(1.0);
        Self(())
    }
}

impl Drop for SseClient {
    fn drop(&mut self) {
        metrics::gauge!(SSE_CLIENTS).decrement(1.0);
    }
}
