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

/// The default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest page size.
pub const MAX_LIMIT: u32 = 500;

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
    let mut params = ListJobs {
        limit: DEFAULT_LIMIT,
        ..Default::default()
    };
    for (k, v) in &query {
        match k.as_str() {
            "status" => match JobStatus::parse(v) {
                Some(s) => params.status = Some(s),
                None => errors.push(FieldError::new(
                    "status",
                    "must be queued, running, succeeded, failed or cancelled",
                )),
            },
            "limit" => match v.parse() {
                Ok(l) if (1..=MAX_LIMIT).contains(&l) => params.limit = l,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("must be 1 to {MAX_LIMIT}"),
                )),
            },
            "cursor" => match cursor::decode(v) {
                Some(id) => params.before = Some(JobId(id)),
                None => errors.push(FieldError::new(
                    "cursor",
                    "is not a cursor this API returned",
                )),
            },
            other => errors.push(FieldError::new(other, "unknown query parameter")),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let page = state.store.list_jobs(&tenant, params).await?;
    Ok(Json(JobList {
        items: page.items,
        next_cursor: page.next.map(|id| cursor::encode(id.0)),
    }))
}
