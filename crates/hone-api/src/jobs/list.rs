//! `GET /v1/jobs?status=&tag=&q=…&limit=&cursor=&include=spec`: the caller's jobs that pass
//! the history filters ([`super::filter`]), newest first, with an opaque cursor.
//!
//! Items are summaries: each spec without the fields whose size the client chooses
//! ([`OMITTED`]), which the database leaves out, so a page of 500 costs about the same
//! whatever its jobs carry. `include=spec` asks for whole specs; the page then stops before
//! the job that would take its specs past [`SPEC_PAGE_BYTES`] (always holding at least one)
//! and `next_cursor` goes on from there. The body is written an item at a time as the client
//! reads it, never held whole beside the page.

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use hone_domain::{FieldError, Job, JobId, TenantId};
use hone_store::{JobFilter, ListJobs, Specs};
use serde_json::Value;

use crate::auth::{Caller, Read};
use crate::problem::ApiError;
use crate::{AppState, cursor};

/// The spec fields a summary leaves out (`actor.system_prompt` and `critic.system_prompt`
/// too): each may be hundreds of KiB.
pub const OMITTED: [&str; 4] = ["files", "starter_code", "tests", "test_cases"];

/// The most bytes of specs one page with `include=spec` carries (one job beyond it still
/// comes alone).
pub const SPEC_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// A page of jobs as read: summaries unless `include=spec` asked for whole specs.
pub struct JobList {
    /// Newest first.
    pub items: Vec<Job>,
    /// Pass as `cursor` for the next page; `None` on the last.
    pub next_cursor: Option<String>,
    /// Whether the items' specs are summaries (the dashboard's rows need no more).
    pub summaries: bool,
}

/// Lists jobs.
pub async fn list_jobs(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let page = read_page(&state, &tenant, &query).await?;
    Ok(respond(page))
}

/// Reads the page a query asks for (`400` naming every bad parameter).
pub async fn read_page(
    state: &AppState,
    tenant: &TenantId,
    query: &[(String, String)],
) -> Result<JobList, ApiError> {
    let mut errors = Vec::new();
    let mut paging = cursor::Paging::default();
    let mut filter = JobFilter::default();
    let mut specs = Specs::Summary;
    for (k, v) in query {
        if k == "include" {
            match v.as_str() {
                "spec" => specs = Specs::WholeWithin(SPEC_PAGE_BYTES),
                _ => errors.push(FieldError::new("include", "must be spec")),
            }
        } else if !paging.read(k, v, &mut errors)
            && !super::filter::read(&mut filter, k, v, &mut errors)
        {
            errors.push(FieldError::new(k.as_str(), "unknown query parameter"));
        }
    }
    super::filter::check_repeats(query, &mut errors);
    if query.iter().filter(|(k, _)| k == "include").count() > 1 {
        errors.push(FieldError::new("include", "must be given at most once"));
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    let params = ListJobs {
        filter,
        limit: paging.limit,
        before: paging.before.map(JobId),
        specs,
    };
    let mut page = state.store.list_jobs(tenant, params).await?;
    hone_store::mark_waiting(state.store.as_ref(), &mut page.items).await?;
    Ok(JobList {
        items: page.items,
        next_cursor: page.next.map(|id| cursor::encode(id.0)),
        summaries: specs == Specs::Summary,
    })
}

/// A summary: the job as JSON with [`OMITTED`] and the system prompts taken out of its spec.
pub fn summary(job: &Job) -> Value {
    let mut value = serde_json::to_value(job).unwrap_or(Value::Null);
    if let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut) {
        for field in OMITTED {
            spec.remove(field);
        }
        for role in ["actor", "critic"] {
            if let Some(model) = spec.get_mut(role).and_then(Value::as_object_mut) {
                model.remove("system_prompt");
            }
        }
    }
    value
}

/// `{"items": [...], "next_cursor": ...}`, each item serialised as the body is read.
fn respond(page: JobList) -> Response {
    let JobList {
        items,
        next_cursor,
        summaries,
    } = page;
    let tail = match next_cursor {
        Some(c) => format!("],\"next_cursor\":\"{c}\"}}"),
        None => "],\"next_cursor\":null}".to_owned(),
    };
    let body = futures_util::stream::once(async { Bytes::from_static(b"{\"items\":[") })
        .chain(
            futures_util::stream::iter(items.into_iter().enumerate()).map(move |(i, job)| {
                let mut out = if i == 0 { Vec::new() } else { vec![b','] };
                let written = if summaries {
                    serde_json::to_writer(&mut out, &summary(&job))
                } else {
                    serde_json::to_writer(&mut out, &job)
                };
                if let Err(e) = written {
                    tracing::error!(error = %e, job = %job.id, "cannot serialise a job");
                }
                Bytes::from(out)
            }),
        )
        .chain(futures_util::stream::once(async move { Bytes::from(tail) }))
        .map(Ok::<_, std::convert::Infallible>);
    (
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}
