//! `GET /v1/jobs/{id}/attempts` and `/attempts/{n}`: the iterations, as recorded.

use axum::Json;
use axum::extract::{Path, State};
use hone_domain::Attempt;
use serde::Serialize;

use super::{job_id, no_job};
use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

/// Every attempt of a job, in order.
#[derive(Serialize)]
pub struct AttemptList {
    /// The attempts, iteration 1 first.
    pub items: Vec<Attempt>,
}

/// Lists a job's attempts.
pub async fn list_attempts(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Path(id): Path<String>,
) -> Result<Json<AttemptList>, ApiError> {
    let id = job_id(&id)?;
    let items = state
        .store
        .list_attempts(&tenant, id)
        .await?
        .ok_or_else(|| no_job(id))?;
    Ok(Json(AttemptList { items }))
}

/// One attempt by iteration number.
pub async fn get_attempt(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Path((id, n)): Path<(String, String)>,
) -> Result<Json<Attempt>, ApiError> {
    let id = job_id(&id)?;
    let missing = || ApiError::NotFound(format!("job {id} has no attempt {n:?}"));
    let iteration: u32 = n.parse().map_err(|_| missing())?;
    let attempts = state
        .store
        .list_attempts(&tenant, id)
        .await?
        .ok_or_else(|| no_job(id))?;
    attempts
        .into_iter()
        .find(|a| a.iteration == iteration)
        .map(Json)
        .ok_or_else(missing)
}
