//! The application: built from configuration, bound to its address, run until shut down.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use hone_api::{AppState, HttpLimits, ServerConfig};
use hone_engine::{Engine, EngineConfig};
use tokio::net::TcpListener;

use crate::config::file::ConfigFile;
use crate::config::{ApiSide, DeliveryArgs, EngineArgs, Settings};
use crate::models::{build_providers, provider_states};
use crate::wiring::build_sandbox;

/// How often the API writes when its keys were last used.
const KEY_USAGE_EVERY: Duration = Duration::from_secs(30);

/// A built application, bound to its port (if it serves HTTP), not yet running.
pub struct Application {
    http: Option<Http>,
    metrics: Option<crate::ops::MetricsServer>,
    retention: Option<crate::ops::Retention>,
    engine: Option<Engine>,
    dispatcher: Option<hone_webhook::Dispatcher>,
}

struct Http {
    listener: TcpListener,
    auth: Arc<hone_api::auth::Authenticator>,
    router: axum::Router,
    hub: hone_api::live::Hub,
    server: ServerConfig,
}

/// The webhook dispatcher of a worker process.
fn build_dispatcher(
    delivery: &DeliveryArgs,
    allow_private: bool,
    store: Arc<dyn hone_store::Store>,
    worker_id: String,
) -> anyhow::Result<hone_webhook::Dispatcher> {
    let config = hone_webhook::DispatcherConfig {
        worker_id,
        concurrency: delivery.webhook_concurrency,
        timeout: Duration::from_millis(delivery.webhook_timeout_ms),
        schedule: delivery.webhook_schedule.clone().unwrap_or_default(),
        policy: hone_webhook::TargetPolicy { allow_private },
        ..hone_webhook::DispatcherConfig::default()
    };
    hone_webhook::Dispatcher::new(store, config, Arc::new(hone_webhook::SystemLookup))
        .context("cannot build the webhook client")
}

fn engine_config(e: &EngineArgs, grace: Duration) -> anyhow::Result<EngineConfig> {
    let prompts = match &e.prompts_dir {
        Some(dir) => crate::wiring::load_prompts(dir)?,
        None => Default::default(),
    };
    Ok(EngineConfig {
        prompts,
        worker_id: e
            .worker_id
            .clone()
            .unwrap_or_else(|| EngineConfig::default().worker_id),
        max_jobs: e.max_jobs,
        lease: Duration::from_secs(e.lease_s),
        shutdown_grace: grace,
        max_requeues: e.max_requeues,
        max_lease_losses: e.max_lease_losses,
        max_running_per_tenant: e.max_running_per_tenant,
        requeue_delay: Duration::from_millis(e.requeue_delay_ms),
        ..EngineConfig::default()
    })
}

impl Application {
    /// Connects the store, checks the sandbox (for workers), binds the listener (for APIs).
    pub async fn build(settings: &Settings) -> anyhow::Result<Self> {
        let common = &settings.common;
        let url = &common.database.database_url;
        if url.starts_with("sqlite:") && (settings.api.is_none() || settings.worker.is_none()) {
            bail!(
                "SQLite serves one process: run `hone serve` (API and workers together). \
                 `hone api` and `hone worker` are for Postgres (HONE_DATABASE_URL=postgres://...)"
            );
        }
        let store = crate::store::connect(url).await?;
        let ops = crate::ops::Ops::build(&common.ops, store.clone()).await?;
        let grace = Duration::from_secs(common.shutdown.shutdown_grace_s);
        let file = ConfigFile::load(common.models.config_file.as_deref())?;
        let providers = provider_states(&common.models, &file);
        let redactor = Arc::new(file.exports.redactor()?);
        for (name, state) in &providers {
            match state {
                Ok(()) => tracing::info!(provider = %name, "model provider ready"),
                Err(why) => tracing::info!(provider = %name, "model provider off: {why}"),
            }
        }
        if settings.api.is_none() && providers.values().all(Result::is_err) {
            bail!(
                "this worker has no usable model provider, so it could run no job: set \
                 OPENAI_API_KEY or OPENAI_BASE_URL, ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL, \
                 HONE_REPLAY_FILE, or a provider in hone.toml (HONE_CONFIG)"
            );
        }
        if providers.values().all(Result::is_err) {
            tracing::warn!(
                "no model provider is configured: every job will be refused until one is \
                 (OPENAI_API_KEY or OPENAI_BASE_URL, ANTHROPIC_API_KEY or ANTHROPIC_BASE_URL, \
                 HONE_REPLAY_FILE, or a provider in hone.toml)"
            );
        }
        let mut sandbox_name = "none";
        let mut runtime_report = None;
        let engine = match &settings.worker {
            None => None,
            Some(side) => {
                let (sandbox, runtimes, report) = build_sandbox(&side.sandbox).await?;
                sandbox_name = sandbox.name();
                let mut config = engine_config(&side.engine, grace)?;
                config.serves = Some(hone_store::Serves {
                    languages: report
                        .iter()
                        .filter(|r| r.ready)
                        .map(|r| r.language)
                        .collect(),
                    providers: providers
                        .iter()
                        .filter(|(_, state)| state.is_ok())
                        .map(|(name, _)| name.clone())
                        .collect(),
                });
                runtime_report = Some(report.into());
                Some(Engine {
                    store: store.clone(),
                    providers: build_providers(&common.models, &file)?,
                    sandbox,
                    runtimes,
                    config,
                    running: Arc::default(),
                })
            }
        };
        let dispatcher = match (&engine, &settings.worker) {
            (Some(e), Some(side)) => Some(build_dispatcher(
                &side.delivery,
                common.targets.webhook_allow_private,
                store.clone(),
                e.config.worker_id.clone(),
            )?),
            _ => None,
        };
        let http = match &settings.api {
            None => None,
            Some(ApiSide {
                http,
                access,
                secrets,
            }) => {
                crate::access::ensure_admin_key(store.as_ref(), access, url).await?;
                let auth = Arc::new(hone_api::auth::Authenticator::new(store.clone()));
                let rate = Arc::new(hone_api::auth::RateLimits::new(
                    hone_api::auth::RateConfig {
                        reads_per_minute: access.rate_reads_per_min,
                        writes_per_minute: access.rate_writes_per_min,
                        tenant_reads_per_minute: access.tenant_reads_per_min,
                        tenant_writes_per_minute: access.tenant_writes_per_min,
                    },
                ));
                let caps = http.stream_caps().map_err(anyhow::Error::msg)?;
                let hub = hone_api::live::Hub::start(store.clone(), caps)
                    .await
                    .context("cannot listen for events")?;
                let state = AppState {
                    store,
                    auth: auth.clone(),
                    rate,
                    sandbox: sandbox_name,
                    hub: hub.clone(),
                    webhook_policy: hone_webhook::TargetPolicy {
                        allow_private: common.targets.webhook_allow_private,
                    },
                    secret_overlap: Duration::from_secs(secrets.webhook_secret_overlap_s),
                    max_secrets: secrets.webhook_max_secrets,
                    providers: Arc::new(providers),
                    runtimes: runtime_report,
                    metrics: ops.route.clone(),
                    redactor: redactor.clone(),
                    max_keys: access.max_keys_per_tenant,
                };
                let limits = HttpLimits {
                    body_bytes: http.body_limit,
                    job_body_bytes: http.job_body_limit,
                    batch_body_bytes: http.batch_body_limit,
                    body_timeout: Duration::from_secs(http.http_body_timeout_s),
                };
                let sessions = match &access.session_secret {
                    Some(secret) => hone_web::SessionKey::from_secret(secret.expose().as_bytes())
                        .map_err(|e| anyhow::anyhow!("HONE_SESSION_SECRET: {e}"))?,
                    None => hone_web::SessionKey::random()
                        .map_err(|e| anyhow::anyhow!("cannot make a session secret: {e}"))?,
                };
                let pages = hone_web::router(hone_web::WebState {
                    api: state.clone(),
                    sessions: Arc::new(sessions),
                });
                let router = hone_api::router(state, limits, pages);
                let listener = TcpListener::bind(http.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", http.listen))?;
                let server = ServerConfig {
                    header_timeout: Duration::from_secs(http.http_header_timeout_s),
                    idle_timeout: Duration::from_secs(http.http_idle_timeout_s),
                    max_connections: http.http_max_connections,
                    shutdown_grace: grace,
                };
                Some(Http {
                    listener,
                    auth,
                    router,
                    hub,
                    server,
                })
            }
        };
        Ok(Self {
            http,
            metrics: ops.server,
            retention: ops.retention,
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
        Ok(())
    }
}
