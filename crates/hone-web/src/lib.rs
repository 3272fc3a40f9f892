//! hone's dashboard: server-rendered HTML over the API's state, for people.
//!
//! Pages are askama templates compiled into the binary; the few scripts (htmx with its SSE
//! extension for live updates, highlight.js for code) are vendored under `assets/vendor`
//! and served from `/assets`, so there is no build step and nothing is fetched from
//! elsewhere. Every page reads without JavaScript; with it, lists and job pages update live.
//!
//! - [`session`] signs people in with an API key (a signed cookie) and guards forms against
//!   cross-site requests; the key's scopes and rate budgets apply as on the API;
//! - [`page`] renders templates and errors; [`view`] turns jobs and attempts into what the
//!   templates show, in the short forms of [`text`]; [`diff`] compares attempts' code;
//!   [`chart`] draws the stats as SVG;
//! - [`jobs`], [`job`], [`stats`], [`keys`] and [`signin`] are the pages; [`live`] tells
//!   open pages when to refresh; [`assets`] serves the stylesheet and scripts.

pub mod assets;
pub mod chart;
pub mod diff;
pub mod job;
pub mod jobs;
pub mod keys;
pub mod live;
pub mod page;
pub mod session;
pub mod signin;
pub mod stats;
pub mod text;
pub mod view;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::routing::{get, post};
use hone_api::AppState;
use tower_http::set_header::SetResponseHeaderLayer;

pub use session::SessionKey;

/// What the dashboard's handlers share.
#[derive(Clone)]
pub struct WebState {
    /// The API's state: store, key checks, rate budgets, live events.
    pub api: AppState,
    /// Signs and opens session cookies.
    pub sessions: Arc<SessionKey>,
}

/// The browser may run only this origin's scripts and styles, post forms only here, and
/// show the pages in no frame.
const CSP: &str = "default-src 'self'; img-src 'self' data:; script-src 'self'; \
                   style-src 'self'; connect-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes, to merge beside the API's (none overlaps a `/v1` path).
pub fn router(state: WebState) -> Router {
    let body_limit = tower_http::limit::RequestBodyLimitLayer::new(page::FORM_LIMIT);
    Router::new()
        .route("/", get(jobs::page))
        .route("/sign-in", get(signin::form).post(signin::sign_in))
        .route("/sign-out", post(signin::sign_out))
        .route("/live", get(live::tenant))
        .route("/jobs/{id}", get(job::page))
        .route("/jobs/{id}/live", get(live::job))
        .route("/jobs/{id}/cancel", post(job::cancel))
        .route("/jobs/{id}/retry", post(job::retry))
        .route("/stats", get(stats::page))
        .route("/keys", get(keys::page).post(keys::create))
        .route("/keys/{id}/revoke", post(keys::revoke))
        .route("/assets/{name}", get(assets::serve))
        .with_state(state)
        .layer(body_limit)
        .layer(axum::middleware::map_response(page::explain_too_large))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
}
