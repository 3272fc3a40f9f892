//! `POST /v1/jobs/cancel?FILTERS`: cancels every unfinished job of the caller's tenant that
//! the history filters take ([`super::filter`]), and says how many. Without a filter it takes
//! every unfinished job, as `GET /v1/jobs` without one lists every job.

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::FieldError;
use hone_store::JobFilter;
use serde::Serialize;

use crate::AppState;
use crate::auth::{Caller, Write};
use crate::problem::ApiError;

/// What the cancel did.
#[derive(Serialize)]
pub struct Cancelled {
    /// Queued jobs cancelled at once.
    pub cancelled: u64,
    /// Running jobs whose workers were told to stop (they end within about a second).
    pub cancel_requested: u64,
}

/// Cancels the filtered jobs.
pub async fn cancel_jobs(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Write>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Json<Cancelled>, ApiError> {
    let mut errors = Vec::new();
    let mut filter = JobFilter::default();
    for (k, v) in &query {
        if !super::filter::read(&mut filter, k, v, &mut errors) {
            errors.push(FieldError::new(k.as_str(), "unknown query parameter"));
        }
    }
    super::filter::check_repeats(&query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let done = state.store.cancel_jobs(&tenant, &filter).await?;
    metrics::counter!(crate::metrics::JOBS_FINISHED, "outcome" => "cancelled")
        .increment(done.cancelled);
    Ok(Json(Cancelled {
        cancelled: done.cancelled,
        cancel_requested: done.requested,
    }))
}
