//! `GET /v1/jobs?status=&limit=&cursor=`: the caller's jobs, newest first, with an opaque
//! cursor.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hone_domain::{FieldError, Job, JobId, JobStatus};
use hone_store::ListJobs;
use serde::Serialize;

use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

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

fn encode_cursor(id: JobId) -> String {
    URL_SAFE_NO_PAD.encode(id.0.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<JobId> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    uuid::Uuid::from_slice(&bytes).ok().map(JobId)
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
            "cursor" => match decode_cursor(v) {
                Some(id) => params.before = Some(id),
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
        next_cursor: page.next.map(encode_cursor),
    }))
}
