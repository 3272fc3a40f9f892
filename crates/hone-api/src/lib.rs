//! hone's HTTP API: the axum router over the [`Store`], with RFC 9457 problem documents for
//! every error, a body limit on every route, and a route table that `openapi.yaml` is checked
//! against.
//!
//! - [`problem`] maps every error to one problem document; [`body`] reads JSON bodies with
//!   size, time and nesting limits; [`limits`] bounds the request head;
//! - [`server`] runs hyper connections with timeouts, a connection cap and a bounded
//!   shutdown;
//! - [`jobs`] holds one handler per file; [`health`] the liveness and readiness probes;
//! - [`auth`] identifies the caller by API key, checks the route's scope and spends its
//!   rate budget; [`keys`] lets `admin` keys manage their tenant's keys, and [`audit`]
//!   read who changed keys and secrets; [`cursor`] makes the paging cursors;
//! - [`live`] fans committed events out to SSE streams; [`webhooks`] shows and rotates the
//!   tenant's webhook signing secret.

pub mod audit;
pub mod auth;
pub mod body;
pub mod cursor;
pub mod exports;
pub mod health;
pub mod jobs;
pub mod keys;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod problem;
pub mod repair;
pub mod runtimes;
pub mod server;
pub mod stats;
pub mod telemetry;
pub mod webhooks;

pub use limits::HttpLimits;
pub use server::{ServerConfig, serve};

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{MethodRouter, delete, get, post};
use hone_store::Store;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// Where jobs live (and whose signals wake the workers, in this process or others).
    pub store: Arc<dyn Store>,
    /// Checks API keys.
    pub auth: Arc<auth::Authenticator>,
    /// Each key's rate budgets.
    pub rate: Arc<auth::RateLimits>,
    /// The sandbox backend's name, reported by `/readyz` (`none` in an API-only process).
    pub sandbox: &'static str,
    /// Live events for SSE streams.
    pub hub: live::Hub,
    /// Which webhook targets jobs may name.
    pub webhook_policy: hone_webhook::TargetPolicy,
    /// How long a rotated-out webhook secret keeps signing.
    pub secret_overlap: std::time::Duration,
    /// The most webhook secrets that sign at once; a rotation beyond it retires the oldest.
    pub max_secrets: u32,
    /// Each model provider a job may name: usable, or what to configure (submissions naming
    /// an unusable or unknown one get `422`).
    pub providers: Arc<std::collections::BTreeMap<String, Result<(), String>>>,
    /// Every language's runtime as the sandbox's start-up check in this process found it;
    /// `None` in an API-only process, which cannot know its workers' runtimes.
    pub runtimes: Option<Arc<[runtimes::RuntimeInfo]>>,
    /// Where `GET /metrics` is served; `None` when metrics are off.
    pub metrics: Option<metrics::MetricsRoute>,
    /// What every training-data export leaves out.
    pub redactor: Arc<exports::Redactor>,
    /// The most usable keys a tenant may hold (`POST /v1/keys` beyond gets `409`).
    pub max_keys: u32,
}

/// Request bodies larger than this get `413` (every route but those below).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;
/// Job bodies (`POST /v1/jobs`, and a retry's changes) larger than this get `413`: room for
/// a spec whose every field is at its bound (32 files of 256 KiB, tests, starter code).
pub const DEFAULT_JOB_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// Batch request bodies (`POST /v1/jobs/batch`) larger than this get `413`.
pub const DEFAULT_BATCH_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// One served route.
pub struct Route {
    /// Its method.
    pub method: Method,
    /// Its path, in axum's `{param}` syntax (the same as OpenAPI's).
    pub path: &'static str,
    handler: MethodRouter<AppState>,
}

/// The `/v1` routes that take query parameters (each refuses the ones it does not know);
/// every other `/v1` route refuses any.
const WITH_QUERY: [(&str, &str); 10] = [
    ("GET", "/v1/jobs"),
    ("GET", "/v1/jobs/{id}/events"),
    ("POST", "/v1/jobs/cancel"),
    ("POST", "/v1/webhook-secret/rotate"),
    ("GET", "/v1/audit"),
    ("GET", "/v1/stats"),
    ("GET", "/v1/stats/repair"),
    ("GET", "/v1/exports/preferences"),
    ("GET", "/v1/exports/trajectories"),
    ("GET", "/v1/exports/critiques"),
];

fn route(method: Method, path: &'static str, handler: MethodRouter<AppState>) -> Route {
    let takes_query = WITH_QUERY
        .iter()
        .any(|(m, p)| *m == method.as_str() && *p == path);
    let handler = if takes_query || !path.starts_with("/v1/") {
        handler
    } else {
        handler.layer(axum::middleware::map_request(limits::no_query))
    };
    Route {
        method,
        path,
        handler,
    }
}

/// Every route the API serves. `openapi.yaml` must describe exactly these (a test checks).
pub fn routes() -> Vec<Route> {
    vec![
        route(Method::GET, "/healthz", get(health::healthz)),
        route(Method::GET, "/readyz", get(health::readyz)),
        route(Method::GET, "/openapi.yaml", get(health::openapi)),
        route(Method::GET, "/metrics", get(metrics::metrics)),
        route(Method::POST, "/v1/jobs", post(jobs::create::create_job)),
        route(
            Method::POST,
            "/v1/jobs/batch",
            post(jobs::batch::create_batch),
        ),
        route(Method::GET, "/v1/jobs", get(jobs::list::list_jobs)),
        route(Method::GET, "/v1/jobs/{id}", get(jobs::get::get_job)),
        route(
            Method::GET,
            "/v1/jobs/{id}/attempts",
            get(jobs::attempts::list_attempts),
        ),
        route(
            Method::GET,
            "/v1/jobs/{id}/attempts/{n}",
            get(jobs::attempts::get_attempt),
        ),
        route(
            Method::GET,
            "/v1/jobs/{id}/events",
            get(jobs::events::list_events),
        ),
        route(
            Method::GET,
            "/v1/jobs/{id}/webhook-deliveries",
            get(jobs::deliveries::list_deliveries),
        ),
        route(Method::GET, "/v1/events", get(jobs::events::stream_tenant)),
        route(Method::GET, "/v1/webhook-secret", get(webhooks::get_secret)),
        route(
            Method::POST,
            "/v1/webhook-secret/rotate",
            post(webhooks::rotate_secret),
        ),
        route(
            Method::POST,
            "/v1/jobs/{id}/cancel",
            post(jobs::cancel::cancel_job),
        ),
        route(Method::POST, "/v1/keys", post(keys::create_key)),
        route(Method::GET, "/v1/keys", get(keys::list_keys)),
        route(Method::DELETE, "/v1/keys/{id}", delete(keys::revoke_key)),
        route(Method::GET, "/v1/audit", get(audit::list_audit)),
        route(Method::GET, "/v1/runtimes", get(runtimes::list_runtimes)),
        route(Method::GET, "/v1/stats", get(stats::stats)),
        route(Method::GET, "/v1/stats/repair", get(repair::repair)),
        route(
            Method::GET,
            "/v1/exports/preferences",
            get(exports::preferences),
        ),
        route(
            Method::GET,
            "/v1/exports/trajectories",
            get(exports::trajectories),
        ),
        route(
            Method::GET,
            "/v1/exports/critiques",
            get(exports::critiques),
        ),
        route(
            Method::POST,
            "/v1/jobs/{id}/retry",
            post(jobs::retry::retry_job),
        ),
        route(
            Method::POST,
            "/v1/jobs/cancel",
            post(jobs::bulk_cancel::cancel_jobs),
        ),
    ]
}

/// The router with its middleware: request ids, tracing, the head, body size and body time
/// limits, authentication and rate limits on every `/v1` route, and problem documents for
/// every error response (including the framework's own 400, 404, 405 and 413).
///
/// `pages` (the dashboard's routes, already given their state) are served beside the API
/// with the same request ids, tracing and head limits; their HTML errors stay HTML.
pub fn router(state: AppState, limits: HttpLimits, pages: Router) -> Router {
    let mut by_path: Vec<(&'static str, MethodRouter<AppState>)> = Vec::new();
    for r in routes() {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, existing)) => {
                let merged = std::mem::take(existing).merge(r.handler);
                *existing = merged;
            }
            None => by_path.push((r.path, r.handler)),
        }
    }
    let mut router = Router::new();
    for (path, handler) in by_path {
        let body_bytes = match path {
            "/v1/jobs/batch" => limits.batch_body_bytes,
            "/v1/jobs" | "/v1/jobs/{id}/retry" => limits.job_body_bytes,
            _ => limits.body_bytes,
        };
        // The route's limit is the only one: axum's own default (2 MiB, applied by its body
        // extractors beneath this layer) is turned off.
        let mut handler = handler
            .layer::<_, std::convert::Infallible>(DefaultBodyLimit::disable())
            .layer(RequestBodyLimitLayer::new(body_bytes));
        if path.starts_with("/v1/") {
            let gate = auth::Gate {
                auth: state.auth.clone(),
                rate: state.rate.clone(),
            };
            handler = handler.layer(axum::middleware::from_fn_with_state(gate, auth::identify));
        }
        router = router.route(path, handler);
    }
    router
        .fallback(problem::not_found_route)
        .with_state(state)
        .merge(pages)
        .layer(axum::Extension(limits::BodyTimeout(limits.body_timeout)))
        .layer(axum::middleware::map_response(problem::problemize))
        .layer(axum::middleware::map_request(limits::check_head))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(telemetry::record_status),
        )
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
