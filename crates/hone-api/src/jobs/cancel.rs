//! `POST /v1/jobs/{id}/cancel`: a queued job is cancelled at once; a running one is flagged
//! and its worker stops it; a finished one is a conflict.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use hone_domain::Job;
use hone_store::CancelOutcome;

use super::{job_id, no_job};
use crate::AppState;
use crate::auth::{Caller, Write};
use crate::problem::ApiError;

/// Cancels a job; `202` with the job as it is now.
pub async fn cancel_job(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Write>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Job>), ApiError> {
    let id = job_id(&id)?;
    match state.store.request_cancel(&tenant, id).await? {
        CancelOutcome::Cancelled => {
            metrics::counter!(crate::metrics::JOBS_FINISHED, "outcome" => "cancelled").increment(1);
        }
        CancelOutcome::Requested => {}
        CancelOutcome::AlreadyFinished(status) => {
            return Err(ApiError::Conflict(format!(
                "job {id} has already finished ({})",
                status.as_str()
            )));
        }
        CancelOutcome::NotFound => return Err(no_job(id)),
    }
    let job = state
        .store
        .get_job(&tenant, id)
        .await?
        .ok_or_else(|| no_job(id))?;
    Ok((StatusCode::ACCEPTED, Json(job)))
}
