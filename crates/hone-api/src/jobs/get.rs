//! `GET /v1/jobs/{id}`: one job (a queued one no running worker serves says what it waits
//! for).

use axum::Json;
use axum::extract::{Path, State};
use hone_domain::Job;

use super::{job_id, no_job};
use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

/// Returns the job object.
pub async fn get_job(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Path(id): Path<String>,
) -> Result<Json<Job>, ApiError> {
    let id = job_id(&id)?;
    let job = state
        .store
        .get_job(&tenant, id)
        .await?
        .ok_or_else(|| no_job(id))?;
    let mut jobs = [job];
    hone_store::mark_waiting(state.store.as_ref(), &mut jobs).await?;
    let [job] = jobs;
    Ok(Json(job))
}
