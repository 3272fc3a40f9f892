//! `GET /v1/jobs?status=&tag=&q=…&limit=&cursor=`: the caller's jobs that pass the history
//! filters ([`super::filter`]), newest first, with an opaque cursor.

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::{FieldError, Job, JobId};
use hone_store::{JobFilter, ListJobs};
use serde::Serialize;

use crate::auth::{Caller, Read};
use crate::problem::ApiError;
use crate::{AppState, cursor};

/// A page of jobs.
#[derive(Serialize)]
pub struct JobList {
    /// Newest first.
    pub items: Vec<Job>,
    /// Pass as `cursor` for the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// Lists jobs.
pub async fn list_jobs(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Json<JobList>, ApiError> {
    let mut errors = Vec::new();
    let mut paging = cursor::Paging::default();
    let mut filter = JobFilter::default();
    for (k, v) in &query {
        if !paging.read(k, v, &mut errors) && !super::filter::read(&mut filter, k, v, &mut errors) {
            errors.push(FieldError::new(k.as_str(), "unknown query parameter"));
        }
    }
    super::filter::check_repeats(&query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let params = ListJobs {
        filter,
        limit: paging.limit,
        before: paging.before.map(JobId),
    };
    let page = state.store.list_jobs(&tenant, params).await?;
    Ok(Json(JobList {
        items: page.items,
        next_cursor: page.next.map(|id| cursor::encode(id.0)),
    }))
}
