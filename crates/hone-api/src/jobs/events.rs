//! `GET /v1/jobs/{id}/events?after=SEQ&limit=N`: a page of the job's event log as JSON.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use hone_domain::{Event, FieldError};
use serde::Serialize;

use super::{Caller, job_id, no_job};
use crate::AppState;
use crate::problem::ApiError;

/// The largest page.
pub const MAX_LIMIT: u32 = 1000;

/// A page of events.
#[derive(Serialize)]
pub struct EventPage {
    /// Events with `seq > after`, in order.
    pub items: Vec<Event>,
    /// Pass as `after` for the next page (the last seq returned, or `after` if none).
    pub next_after: u64,
}

/// Lists a job's events after a seq.
pub async fn list_events(
    State(state): State<AppState>,
    Caller(tenant): Caller,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<EventPage>, ApiError> {
    let id = job_id(&id)?;
    let mut errors = Vec::new();
    let mut after = 0u64;
    let mut limit = MAX_LIMIT;
    for (k, v) in &query {
        match k.as_str() {
            "after" => match v.parse() {
                Ok(a) => after = a,
                Err(_) => errors.push(FieldError::new("after", "must be a non-negative integer")),
            },
            "limit" => match v.parse() {
                Ok(l) if (1..=MAX_LIMIT).contains(&l) => limit = l,
                _ => errors.push(FieldError::new(
                    "limit",
                    format!("must be 1 to {MAX_LIMIT}"),
                )),
            },
            other => errors.push(FieldError::new(other, "unknown query parameter")),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let items = state
        .store
        .list_events(&tenant, id, after, limit)
        .await?
        .ok_or_else(|| no_job(id))?;
    let next_after = items.last().map_or(after, |e| e.seq);
    Ok(Json(EventPage { items, next_after }))
}
