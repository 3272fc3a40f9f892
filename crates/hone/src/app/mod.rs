//! The application: built from configuration, bound to its address, run until shut down.
//! [`Application::build`] reads as the steps of starting the service: the database, the
//! operations listener, the model providers, then the worker side (`worker`) and the API
//! side (`http`) the process has.

mod http;
mod worker;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hone_engine::Engine;

use crate::config::file::ConfigFile;
use crate::config::{ModelArgs, Settings};
use crate::models::provider_states;
use http::{Beside, Http};
use worker::Worker;

/// How often the API writes when its keys were last used.
const KEY_USAGE_EVERY: Duration = Duration::from_secs(30);

/// A built application, bound to its port (if it serves HTTP), not yet running.
pub struct Application {
    http: Option<Http>,
    metrics: Option<crate::ops::MetricsServer>,
    retention: Option<crate::ops::Retention>,
    compactor: crate::ops::Compactor,
    engine: Option<Engine>,
    dispatcher: Option<hone_webhook::Dispatcher>,
}

impl Application {
    /// Connects the store, checks the sandbox (for workers), binds the listener (for APIs).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let common = &settings.common;
        one_process_for_sqlite(settings)?;
        let store = crate::store::connect(&common.database.database_url).await?;
        let ops = crate::ops::Ops::build(&common.ops, store.clone()).await?;
        let grace = Duration::from_secs(common.shutdown.shutdown_grace_s);
        let file = ConfigFile::load(common.models.config_file.as_deref())?;
        let redactor = Arc::new(file.exports.redactor()?);
        let providers = ready_providers(&common.models, &file, settings.api.is_some())?;
        let worker = match &settings.worker {
            Some(side) => {
                let store = store.clone();
                Some(Worker::build(side, common, &file, store, &providers, grace).await?)
            }
            None => None,
        };
        let http = match &settings.api {
            Some(api) => {
                let beside = Beside {
                    sandbox: worker.as_ref().map_or("none", |w| w.sandbox),
                    runtimes: worker.as_ref().map(|w| w.runtimes.clone()),
                    providers,
                    metrics: ops.route.clone(),
                    redactor,
                };
                Some(Http::build(api, common, store, beside, grace).await?)
            }
            None => None,
        };
        let (engine, dispatcher) = match worker {
            Some(w) => (Some(w.engine), Some(w.dispatcher)),
            None => (None, None),
        };
        Ok(Self {
            http,
            metrics: ops.server,
            retention: ops.retention,
            compactor: ops.compactor,
            engine,
            dispatcher,
        })
    }
    /// The metrics listener's address, when metrics have their own (`HONE_METRICS_LISTEN`).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|m| m.local_addr())
    }

    /// The bound address (the real port when configured with port 0); `None` for a worker.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.http
            .as_ref()
            .and_then(|h| h.listener.local_addr().ok())
    }

    /// Serves HTTP and/or runs the worker until `shutdown` resolves. Then SSE streams end,
    /// requests in flight and jobs get the grace period, and the rest is cut: requests
    /// dropped, jobs given back to the queue.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        tokio::spawn(async move {
            shutdown.await;
            let _ = tx.send(true);
        });
        let worker = self
            .engine
            .map(|e| tokio::spawn(e.run(stopped(rx.clone()))));
        let webhooks = self.dispatcher.map(|d| tokio::spawn(d.run(rx.clone())));
        let metrics = self
            .metrics
            .map(|m| tokio::spawn(m.run(stopped(rx.clone()))));
        let retention = self
            .retention
            .map(|r| tokio::spawn(r.run(stopped(rx.clone()))));
        let compactor = tokio::spawn(self.compactor.run(stopped(rx.clone())));
        if let Some(http) = self.http {
            tracing::info!(addr = %http.listener.local_addr()?, "listening");
            let hub = http.hub;
            let usage = tokio::spawn(http.auth.record_usage(KEY_USAGE_EVERY, stopped(rx.clone())));
            let signal = stopped(rx);
            let closing = async move {
                signal.await;
                hub.close();
            };
            hone_api::serve(http.listener, http.router, http.server, closing).await;
            usage.await.context("the key-usage recorder panicked")?;
        }
        if let Some(worker) = worker {
            worker.await.context("the worker panicked")?;
        }
        if let Some(webhooks) = webhooks {
            webhooks.await.context("the webhook dispatcher panicked")?;
        }
        if let Some(metrics) = metrics {
            metrics.await.context("the metrics listener panicked")?;
        }
        if let Some(retention) = retention {
            retention.await.context("the retention task panicked")?;
        }
        compactor.await.context("the stats compactor panicked")?;
        Ok(())
    }
}

/// SQLite serves one process: `hone api` and `hone worker` alone need Postgres.
fn one_process_for_sqlite(settings: &Settings) -> anyhow::Result<()> {
    let url = &settings.common.database.database_url;
    if url.starts_with("sqlite:") && (settings.api.is_none() || settings.worker.is_none()) {
        bail!(
            "SQLite serves one process: run `hone serve` (API and workers together). \
             `hone api` and `hone worker` are for Postgres (HONE_DATABASE_URL=postgres://...)"
        );
    }
    Ok(())
}

/// Which model providers are ready, each logged. A worker without any could run no job
/// and refuses to start; an API without any starts, warning that it refuses every job.
fn ready_providers(
    models: &ModelArgs,
    file: &ConfigFile,
    serves_api: bool,
) -> anyhow::Result<std::collections::BTreeMap<String, Result<(), String>>> {
    let providers = provider_states(models, file);
    for (name, state) in &providers {
        match state {
            Ok(()) => tracing::info!(provider = %name, "model provider ready"),
            Err(why) => tracing::info!(provider = %name, "model provider off: {why}"),
        }
    }
    let none = providers.values().all(Result::is_err);
    if none && !serves_api {
        bail!(
            "this worker has no usable model provider, so it could run no job: set \
             OPENAI_API_KEY or OPENAI_BASE_URL, ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL, \
             HONE_REPLAY_FILE, or a provider in hone.toml (HONE_CONFIG)"
        );
    }
    if none {
        tracing::warn!(
            "no model provider is configured: every job will be refused until one is \
             (OPENAI_API_KEY or OPENAI_BASE_URL, ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL, \
             HONE_REPLAY_FILE, or a provider in hone.toml)"
        );
    }
    Ok(providers)
}
