//! `GET /v1/jobs/{id}/webhook-deliveries`: every try of the job's webhooks, oldest first.

use axum::Json;
use axum::extract::{Path, State};
use hone_store::Delivery;
use serde::Serialize;

use super::{job_id, no_job};
use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

/// The job's delivery tries.
#[derive(Serialize)]
pub struct DeliveryList {
    /// Oldest first.
    pub items: Vec<Delivery>,
}

/// Lists the tries.
pub async fn list_deliveries(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Path(id): Path<String>,
) -> Result<Json<DeliveryList>, ApiError> {
    let id = job_id(&id)?;
    let items = state
        .store
        .list_deliveries(&tenant, id)
        .await?
        .ok_or_else(|| no_job(id))?;
    Ok(Json(DeliveryList { items }))
}
