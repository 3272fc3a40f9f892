//! The tenant's webhook signing secret: `GET /v1/webhook-secret` shows the secrets that sign
//! now (made on first use), `POST /v1/webhook-secret/rotate` makes a new current secret while
//! the old one keeps signing for the overlap window, so receivers can switch without missing
//! a delivery (every delivery carries one signature per secret during the overlap). At most
//! `HONE_WEBHOOK_MAX_SECRETS` (3) sign at once: a rotation beyond it retires the oldest, so
//! the `webhook-signature` header stays small however often a tenant rotates.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::FieldError;
use hone_store::{Actor, RotateSecret, StoreError, WebhookSecret};
use hone_webhook::signing::generate_secret;
use serde::Serialize;

use crate::AppState;
use crate::auth::{Admin, Caller};
use crate::problem::ApiError;

/// The secrets that sign deliveries now.
#[derive(Serialize)]
pub struct Secrets {
    /// The current secret first, then rotated-out ones until they expire.
    pub items: Vec<WebhookSecret>,
}

fn new_secret() -> Result<String, ApiError> {
    generate_secret().map_err(|e| ApiError::Internal(StoreError::corrupt("webhook secret", e)))
}

/// Shows the tenant's signing secrets, making the first one if there is none.
pub async fn get_secret(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Admin>,
) -> Result<Json<Secrets>, ApiError> {
    let items = state.store.webhook_secrets(&tenant, &new_secret()?).await?;
    Ok(Json(Secrets { items }))
}

/// Rotates the secret. `?overlap_s=N` sets how long the old one keeps signing (default: the
/// operator's `HONE_WEBHOOK_SECRET_OVERLAP_S`; 0 retires it at once).
pub async fn rotate_secret(
    State(state): State<AppState>,
    Caller { tenant, key, .. }: Caller<Admin>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Secrets>, ApiError> {
    let mut overlap = state.secret_overlap;
    let mut errors = Vec::new();
    for (k, v) in &query {
        match (k.as_str(), v.parse::<u64>()) {
            ("overlap_s", Ok(s)) if s <= 30 * 86_400 => overlap = std::time::Duration::from_secs(s),
            ("overlap_s", _) => errors.push(FieldError::new("overlap_s", "must be 0 to 2592000")),
            (other, _) => errors.push(FieldError::new(other, "unknown query parameter")),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let overlap_ms = u64::try_from(overlap.as_millis()).unwrap_or(u64::MAX);
    let rotation = RotateSecret {
        secret: new_secret()?,
        overlap_ms,
        max_active: state.max_secrets,
        by: Actor::Key(key),
    };
    let items = state.store.rotate_webhook_secret(&tenant, rotation).await?;
    Ok(Json(Secrets { items }))
}
