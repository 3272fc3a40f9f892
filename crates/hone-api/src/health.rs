//! Probes and the API description: `/healthz` (the process answers), `/readyz` (the database
//! answers and is migrated; with a valid API key also which database and sandbox),
//! `/openapi.yaml`. None needs a key: probes come from orchestrators that have none.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;

/// The API description served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../../openapi.yaml");

/// Liveness: the process answers.
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness as the operations listener answers it: `ready` (200) when the store answers,
/// else `not_ready` (503).
pub async fn ready(store: &dyn hone_store::Store) -> (StatusCode, Json<Value>) {
    match store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ready"}))),
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "not_ready"})),
            )
        }
    }
}

/// Readiness: the store answers. Without a key, only `ready` or `not_ready`; with a valid key
/// (any scope), also the database and the sandbox backend, so an unconfined one is visible.
pub async fn readyz(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> (StatusCode, Json<Value>) {
    let database = match state.store.ping().await {
        Ok(()) => "ok",
        Err(e) => {
            tracing::error!(error = %e, "readiness: database unavailable");
            "unavailable"
        }
    };
    let status = if database == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let ready = if database == "ok" {
        "ready"
    } else {
        "not_ready"
    };
    let known = database == "ok"
        && headers.contains_key(header::AUTHORIZATION)
        && state
            .auth
            .authenticate(headers.get(header::AUTHORIZATION))
            .await
            .is_ok();
    if !known {
        return (status, Json(json!({"status": ready})));
    }
    let mut body = json!({
        "status": ready,
        "database": {"backend": state.store.backend(), "status": database},
        "sandbox": {"backend": state.sandbox},
    });
    if state.sandbox == "none" {
        body["sandbox"]["note"] = json!("API-only process: workers run code elsewhere");
    }
    if state.sandbox == "unconfined" {
        body["sandbox"]["warning"] =
            json!("code runs WITHOUT isolation: no namespaces, network or file-system confinement");
    }
    (status, Json(body))
}

/// The OpenAPI description of this API.
pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}
