//! The API side of a process: the first admin key, authentication and rate budgets, the
//! live-event hub, the API and dashboard routes, and the bound listener.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hone_api::runtimes::RuntimeInfo;
use hone_api::{AppState, HttpLimits, ServerConfig};
use hone_store::Store;
use tokio::net::TcpListener;

use crate::config::{AccessArgs, ApiSide, CommonArgs};

/// An API server, bound to its port, not yet serving.
pub(super) struct Http {
    pub listener: TcpListener,
    pub auth: Arc<hone_api::auth::Authenticator>,
    pub router: axum::Router,
    pub hub: hone_api::live::Hub,
    pub server: ServerConfig,
}

/// What the API reports of the rest of the process.
pub(super) struct Beside {
    /// The sandbox's name (`none` for an API-only process).
    pub sandbox: &'static str,
    /// Which runtimes work, when this process runs jobs too.
    pub runtimes: Option<Arc<[RuntimeInfo]>>,
    /// Which model providers are ready.
    pub providers: BTreeMap<String, Result<(), String>>,
    /// How `/metrics` is served.
    pub metrics: Option<hone_api::metrics::MetricsRoute>,
    /// What exports redact.
    pub redactor: Arc<hone_api::exports::Redactor>,
}

impl Http {
    /// Makes the first admin key if the database has none, then builds the routes and
    /// binds the listener.
    pub async fn build(
        api: &ApiSide,
        common: &CommonArgs,
        store: Arc<dyn Store>,
        beside: Beside,
        grace: Duration,
    ) -> anyhow::Result<Self> {
        let ApiSide {
            http,
            access,
            secrets,
        } = api;
        let url = &common.database.database_url;
        crate::access::ensure_admin_key(store.as_ref(), access, url).await?;
        let auth = Arc::new(hone_api::auth::Authenticator::new(store.clone()));
        let caps = http.stream_caps().map_err(anyhow::Error::msg)?;
        let hub = hone_api::live::Hub::start(store.clone(), caps)
            .await
            .context("cannot listen for events")?;
        let state = AppState {
            store,
            auth: auth.clone(),
            rate: Arc::new(rate_limits(access)),
            sandbox: beside.sandbox,
            hub: hub.clone(),
            webhook_policy: hone_webhook::TargetPolicy {
                allow_private: common.targets.webhook_allow_private,
            },
            secret_overlap: Duration::from_secs(secrets.webhook_secret_overlap_s),
            max_secrets: secrets.webhook_max_secrets,
            providers: Arc::new(beside.providers),
            runtimes: beside.runtimes,
            metrics: beside.metrics,
            redactor: beside.redactor,
            max_keys: access.max_keys_per_tenant,
        };
        let limits = HttpLimits {
            body_bytes: http.body_limit,
            job_body_bytes: http.job_body_limit,
            batch_body_bytes: http.batch_body_limit,
            body_timeout: Duration::from_secs(http.http_body_timeout_s),
        };
        let pages = hone_web::router(hone_web::WebState {
            api: state.clone(),
            sessions: Arc::new(session_key(access)?),
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
        Ok(Self {
            listener,
            auth,
            router,
            hub,
            server,
        })
    }
}

/// The keys' and tenants' request budgets.
fn rate_limits(access: &AccessArgs) -> hone_api::auth::RateLimits {
    hone_api::auth::RateLimits::new(hone_api::auth::RateConfig {
        reads_per_minute: access.rate_reads_per_min,
        writes_per_minute: access.rate_writes_per_min,
        tenant_reads_per_minute: access.tenant_reads_per_min,
        tenant_writes_per_minute: access.tenant_writes_per_min,
    })
}

/// The dashboard's session key: from `HONE_SESSION_SECRET`, or random for this process.
fn session_key(access: &AccessArgs) -> anyhow::Result<hone_web::SessionKey> {
    match &access.session_secret {
        Some(secret) => hone_web::SessionKey::from_secret(secret.expose().as_bytes())
            .map_err(|e| anyhow::anyhow!("HONE_SESSION_SECRET: {e}")),
        None => hone_web::SessionKey::random()
            .map_err(|e| anyhow::anyhow!("cannot make a session secret: {e}")),
    }
}
