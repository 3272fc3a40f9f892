//! `GET /v1/jobs?status=&limit=&cursor=`: the caller's jobs, newest first, with an opaque
//! cursor.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use hone_domain::{FieldError, Job, JobId, JobStatus};
use hone_store::ListJobs;
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
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<JobList>, ApiError> {
    let mut errors = Vec::new();
    let mut paging = cursor::Paging::default();
    let mut status = None;
    for (k, v) in &query {
        if paging.read(k, v, &mut errors) {
            continue;
        }
        match k.as_str() {
            "status" => match JobStatus::parse(v) {
                Some(s) => status = Some(s),
                None => errors.push(FieldError::new(
                    "status",
                    "must be queued, running, succeeded, failed or cancelled",
                )),
            },
            other => errors.push(FieldError::new(other, "unknown query parameter")),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let params = ListJobs {
        status,
        limit: paging.limit,
        before: paging.before.map(JobId),
    };
    let page = state.store.list_jobs(&tenant, params).await?;
    Ok(Json(JobList {
        items: page.items,
        next_cursor: page.next.map(|id| cursor::encode(id.0)),
    }))
}
