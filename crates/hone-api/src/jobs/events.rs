//! `GET /v1/jobs/{id}/events`: the job's event log, as a JSON page (`?after=SEQ&limit=N`) or,
//! with `Accept: text/event-stream`, as an SSE stream resumable with `Last-Event-ID`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::http::header::ACCEPT;
use axum::response::{IntoResponse, Response};
use hone_domain::{Event, FieldError};
use serde::Serialize;

use super::{job_id, no_job};
use crate::AppState;
use crate::auth::{Caller, Read};
use crate::live::sse;
use crate::problem::ApiError;
use hone_store::EventsPage;

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

/// Whether the client asked for an SSE stream.
fn wants_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}

/// Lists a job's events after a seq, or streams them.
pub async fn list_events(
    State(state): State<AppState>,
    Caller { tenant, key, .. }: Caller<Read>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
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
    if let Some(raw) = headers.get("last-event-id") {
        match raw.to_str().ok().and_then(|v| v.trim().parse().ok()) {
            Some(seq) => after = seq,
            None => errors.push(FieldError::new(
                "Last-Event-ID",
                "must be the seq of an event (a non-negative integer)",
            )),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    if wants_stream(&headers) {
        let job = state
            .store
            .get_job(&tenant, id)
            .await?
            .ok_or_else(|| no_job(id))?;
        let permit = state.hub.open_stream(key, &tenant)?;
        let from = sse::From {
            after,
            finished: job.status.is_terminal(),
        };
        return Ok(sse::job_stream(
            state.store.clone(),
            &state.hub,
            tenant,
            id,
            from,
            permit,
        ));
    }
    let items = state
        .store
        .list_events(&tenant, id, EventsPage { after, limit })
        .await?
        .ok_or_else(|| no_job(id))?;
    let next_after = items.last().map_or(after, |e| e.seq);
    Ok(Json(EventPage { items, next_after }).into_response())
}

/// `GET /v1/events`: every event of the caller's jobs, live, as SSE.
pub async fn stream_tenant(
    State(state): State<AppState>,
    Caller { tenant, key, .. }: Caller<Read>,
) -> Result<Response, ApiError> {
    let permit = state.hub.open_stream(key, &tenant)?;
    Ok(sse::tenant_stream(&state.hub, tenant, permit))
}
