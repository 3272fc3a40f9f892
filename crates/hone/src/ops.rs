//! The operations side of a process: the metrics exporter (on the API's listener or its own,
//! `HONE_METRICS_LISTEN`, which also answers the probes `/healthz` and `/readyz`, so no load
//! on the API can keep them from answering), the stats compactor, and, when
//! `HONE_RETENTION_DAYS` is set, the hourly prune.

use std::sync::Arc;

use anyhow::Context;
use axum::routing::get;
use hone_api::metrics::{Exporter, MetricsRoute};
use hone_store::Store;
use tokio::net::TcpListener;

use crate::config::OpsArgs;

/// A process's own metrics listener, which answers the probes too.
pub struct MetricsServer {
    listener: TcpListener,
    exporter: Arc<Exporter>,
    store: Arc<dyn Store>,
}

/// What a process does for operations, built before it runs.
pub struct Ops {
    /// How the API serves `/metrics` (`None`: metrics off).
    pub route: Option<MetricsRoute>,
    /// The separate metrics listener, if configured.
    pub server: Option<MetricsServer>,
    /// The hourly prune, if a retention period is set.
    pub retention: Option<Retention>,
    /// The stats compactor every process runs.
    pub compactor: Compactor,
}

/// Folds ended jobs into the stats rollups every few seconds (see [`crate::prune::fold`]).
pub struct Compactor {
    store: Arc<dyn Store>,
}

impl Compactor {
    /// Folds now and every few seconds until `stop` resolves.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        crate::prune::fold(self.store, stop).await;
    }
}

/// The hourly prune of a process with `HONE_RETENTION_DAYS`.
pub struct Retention {
    store: Arc<dyn Store>,
    days: u32,
}

impl Retention {
    /// Prunes now and every hour until `stop` resolves.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        crate::prune::retention(self.store, self.days, stop).await;
    }
}

impl Ops {
    /// Installs the recorder and binds the metrics listener if one is configured.
    pub async fn build(args: &OpsArgs, store: Arc<dyn Store>) -> anyhow::Result<Self> {
        let retention = args.retention_days.map(|days| Retention {
            store: store.clone(),
            days,
        });
        let compactor = Compactor {
            store: store.clone(),
        };
        let Some(handle) = hone_api::metrics::install() else {
            tracing::warn!("another metrics recorder is installed; /metrics is off");
            return Ok(Self {
                route: None,
                server: None,
                retention,
                compactor,
            });
        };
        let exporter = Arc::new(Exporter::new(handle, store.clone()));
        let (route, server) = match args.metrics_listen {
            None => (MetricsRoute::Here(exporter), None),
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {addr}"))?;
                let server = MetricsServer {
                    listener,
                    exporter,
                    store,
                };
                (MetricsRoute::Elsewhere, Some(server))
            }
        };
        Ok(Self {
            route: Some(route),
            server,
            retention,
            compactor,
        })
    }
}

impl MetricsServer {
    /// The bound address.
    pub fn local_addr(&self) -> Option<std::net::SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves `GET /metrics`, `/healthz` and `/readyz` until `stop` resolves.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) {
        let exporter = self.exporter;
        let store = self.store;
        let router = axum::Router::new()
            .route(
                "/metrics",
                get(move || {
                    let exporter = exporter.clone();
                    async move { hone_api::metrics::serve(&exporter).await }
                }),
            )
            .route("/healthz", get(hone_api::health::healthz))
            .route(
                "/readyz",
                get(move || {
                    let store = store.clone();
                    async move { hone_api::health::ready(store.as_ref()).await }
                }),
            );
        if let Ok(addr) = self.listener.local_addr() {
            tracing::info!(%addr, "serving metrics");
        }
        if let Err(e) = axum::serve(self.listener, router)
            .with_graceful_shutdown(stop)
            .await
        {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    }
}
