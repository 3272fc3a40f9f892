//! `GET /jobs/{id}`: one job — spec, status, the timeline of its events, each attempt (code,
//! diff, run, traceback, test cases, critique, feedback, model calls) and its webhook
//! deliveries — live while it runs; `POST /jobs/{id}/cancel` and `/retry` act on it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use hone_api::auth::{Caller, Write};
use hone_api::body::OptionalJsonBody;
use hone_domain::{Job, JobId, TenantId};
use hone_store::EventsPage;
use serde::Deserialize;

use crate::WebState;
use crate::page::{self, Layout, PageError, api};
use crate::session::{Session, check_form};
use crate::view::{self, AttemptView, EventRow, JobRow};

/// A webhook delivery try.
struct DeliveryRow {
    event: String,
    attempt: u32,
    at: String,
    result: String,
    time: String,
    next: String,
}

/// The job page (or, for htmx, its body).
#[derive(Template)]
#[template(path = "job.html")]
struct JobPage {
    title: String,
    layout: Option<Layout>,
    fragment: bool,
    job: JobRow,
    live: bool,
    last_seq: u64,
    cancel_requested: bool,
    outcome_message: String,
    /// For a queued job no running worker serves: what it waits for.
    waiting_for: String,
    write: bool,
    cancellable: bool,
    csrf: String,
    retry_of: Option<String>,
    retried_as: Option<String>,
    task: String,
    tests: String,
    language: &'static str,
    models: String,
    metadata: Vec<(String, String)>,
    events: Vec<EventRow>,
    attempts: Vec<AttemptView>,
    deliveries: Vec<DeliveryRow>,
}

/// The `404` page of a job id that names no job of the tenant (or is no id).
fn no_job(raw: &str) -> PageError {
    PageError::not_found(format!("no job with id {raw:?}"))
}

/// The job `raw` names in the tenant, or a `404` page (another tenant's job too).
pub async fn find(state: &WebState, tenant: &TenantId, raw: &str) -> Result<Job, PageError> {
    let missing = || no_job(raw);
    let id: JobId = raw.parse().map_err(|_| missing())?;
    state
        .api
        .store
        .get_job(tenant, id)
        .await?
        .ok_or_else(missing)
}

/// Shows a job.
pub async fn page(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    api(Caller::<hone_api::auth::Read>::for_key(&session.key)).await?;
    let tenant = &session.key.tenant;
    let store = &state.api.store;
    let missing = || no_job(&raw);
    let id: JobId = raw.parse().map_err(|_| missing())?;
    // The events first, then the job: a job still running when read has its later events,
    // the terminal one too, after the last seq read here, which the live stream starts from.
    let all = EventsPage {
        after: 0,
        limit: 10_000,
    };
    let events = store
        .list_events(tenant, id, all)
        .await?
        .ok_or_else(missing)?;
    let (job, attempts, deliveries) = tokio::try_join!(
        store.get_job(tenant, id),
        store.list_attempts(tenant, id),
        store.list_deliveries(tenant, id),
    )?;
    let mut jobs = [job.ok_or_else(missing)?];
    hone_store::mark_waiting(store.as_ref(), &mut jobs).await?;
    let [job] = jobs;
    let attempts = attempts.unwrap_or_default();
    let mut views = Vec::with_capacity(attempts.len());
    let mut previous: Option<&str> = None;
    for a in &attempts {
        views.push(AttemptView::of(a, previous, &job.spec));
        if let Some(code) = a.code.as_deref() {
            previous = Some(code);
        }
    }
    let layout = session.layout("jobs");
    let row = JobRow::of(&job);
    let template = JobPage {
        title: format!("Job {}", row.short),
        fragment: page::htmx(&headers),
        live: view::cancellable(job.status),
        last_seq: events.last().map_or(0, |e| e.seq),
        cancel_requested: job.cancel_requested,
        outcome_message: job
            .outcome
            .as_ref()
            .and_then(|o| o.message.clone())
            .unwrap_or_default(),
        waiting_for: job.waiting_for.clone().unwrap_or_default(),
        write: layout.write,
        cancellable: view::cancellable(job.status),
        csrf: layout.csrf.clone(),
        retry_of: job.retry_of.map(|r| r.to_string()),
        retried_as: job.retried_as.map(|r| r.to_string()),
        task: job.spec.task.clone(),
        tests: job.spec.tests.clone().unwrap_or_default(),
        language: job.spec.language.as_str(),
        models: models(&job),
        metadata: job.metadata.clone().into_iter().collect(),
        events: events
            .iter()
            .map(|e| EventRow::of(e, job.created_at))
            .collect(),
        attempts: views,
        deliveries: deliveries
            .unwrap_or_default()
            .iter()
            .map(|d| DeliveryRow {
                event: d.event_type.as_str().to_owned(),
                attempt: d.attempt,
                at: view::when(d.attempted_at),
                result: match (&d.status_code, &d.error) {
                    (Some(code), _) => format!("HTTP {code}"),
                    (None, Some(e)) => view::shorten(e, 80),
                    (None, None) => "pending".to_owned(),
                },
                time: view::millis(d.duration_ms),
                next: d.next_attempt_at.map(view::when).unwrap_or_default(),
            })
            .collect(),
        job: row,
        layout: Some(layout),
    };
    page::html(&template)
}

/// The actor's and critic's models, as words.
fn models(job: &Job) -> String {
    let actor = format!(
        "actor {} / {}",
        job.spec.actor.provider, job.spec.actor.model
    );
    match &job.spec.critic {
        Some(c) => format!("{actor}; critic {} / {}", c.provider, c.model),
        None => format!("{actor}; no critic"),
    }
}

/// A state-changing form's fields.
#[derive(Deserialize)]
pub struct ActionForm {
    /// The session's CSRF token.
    #[serde(default)]
    csrf: String,
}

/// Cancels the job, then shows it.
pub async fn cancel(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    check_form(&session, &headers, &form.csrf)?;
    let caller = api(Caller::<Write>::for_key(&session.key)).await?;
    let _ = api(hone_api::jobs::cancel::cancel_job(
        State(state.api.clone()),
        caller,
        Path(raw.clone()),
    )
    .await)
    .await?;
    Ok(Redirect::to(&format!("/jobs/{}", encode(&raw))).into_response())
}

/// Re-runs the job as it was, then shows the new job.
pub async fn retry(
    State(state): State<WebState>,
    session: Session,
    headers: HeaderMap,
    Path(raw): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, PageError> {
    check_form(&session, &headers, &form.csrf)?;
    let caller = api(Caller::<Write>::for_key(&session.key)).await?;
    let resp = api(hone_api::jobs::retry::retry_job(
        State(state.api.clone()),
        caller,
        Path(raw),
        HeaderMap::new(),
        OptionalJsonBody(None),
    )
    .await)
    .await?;
    let body = axum::body::to_bytes(resp.into_body(), 1024 * 1024)
        .await
        .map_err(|_| PageError::Problem {
            status: axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong".to_owned(),
            detail: "the job was re-run, but its answer could not be read; see the jobs list"
                .to_owned(),
            errors: Vec::new(),
        })?;
    let job: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let id = job["id"].as_str().unwrap_or_default();
    Ok(Redirect::to(&format!("/jobs/{}", encode(id))).into_response())
}

/// A path segment, percent-encoded.
fn encode(segment: &str) -> String {
    form_urlencoded::byte_serialize(segment.as_bytes()).collect()
}
