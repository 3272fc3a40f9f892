//! Training-data exports, streamed as NDJSON (one record a line) within the caller's tenant
//! and the history filters. `GET /v1/exports/preferences`: for every succeeded job, one
//! record per failed attempt that wrote code — the actor's prompt for the task, `rejected`
//! (that attempt's code) and `chosen` (the accepted code), with both runs' statuses, the
//! rejected attempt's critique, and the ids to trace the record back.
//! `GET /v1/exports/critiques`: every critique — the task, tests, code and run it judged —
//! labelled by whether the next attempt passed, for training and evaluating critics.
//!
//! The stream reads a page of jobs at a time, so memory stays flat however many jobs
//! match. A failure after the first line cannot change the status any more: the stream then
//! ends with a line `{"error": "..."}`.

use std::collections::VecDeque;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hone_domain::prompt::actor_messages;
use hone_domain::{Attempt, AttemptStatus, FieldError, Job, JobId, JobStatus, TenantId};
use hone_store::{JobFilter, ListJobs, Store};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

/// Jobs read per page of the stream.
const PAGE: u32 = 100;

/// How an attempt's run ended (`passed`, `failed`, ...), once it ran.
fn run_status(a: &Attempt) -> Option<&'static str> {
    a.execution.as_ref().map(|e| e.status.as_str())
}

/// The run's error as `Type: message`, when it raised one.
fn run_error(a: &Attempt) -> Option<String> {
    let t = a.execution.as_ref()?.traceback.as_ref()?;
    Some(format!("{}: {}", t.error_type, t.message))
}

/// The preference records of one job: a record per failed attempt with code, paired with
/// the accepted attempt. None for a job that did not succeed.
pub fn preference_records(job: &Job, attempts: &[Attempt]) -> Vec<Value> {
    if job.status != JobStatus::Succeeded {
        return Vec::new();
    }
    let Some(chosen) = attempts
        .iter()
        .find(|a| a.status == AttemptStatus::Accepted)
    else {
        return Vec::new();
    };
    let Some(chosen_code) = &chosen.code else {
        return Vec::new();
    };
    let prompt = actor_messages(&job.spec, None);
    attempts
        .iter()
        .filter(|a| a.status == AttemptStatus::Failed)
        .filter_map(|a| {
            let code = a.code.as_ref()?;
            Some(json!({
                "job_id": job.id,
                "language": job.spec.language,
                "model": job.spec.actor.model,
                "prompt": prompt,
                "rejected": code,
                "chosen": chosen_code,
                "rejected_iteration": a.iteration,
                "chosen_iteration": chosen.iteration,
                "rejected_status": run_status(a),
                "rejected_error": run_error(a),
                "chosen_status": run_status(chosen),
                "rejected_critique": a.critique,
                "tags": job.tags,
            }))
        })
        .collect()
}

/// The critique records of one job: one per attempt the critic reviewed, labelled with
/// whether the next attempt's run passed (`null` when there was no next attempt).
pub fn critique_records(job: &Job, attempts: &[Attempt]) -> Vec<Value> {
    attempts
        .iter()
        .enumerate()
        .filter_map(|(i, a)| {
            let critique = a.critique.as_ref()?;
            let next = attempts.get(i + 1);
            let next_passed = next.and_then(run_status).map(|s| s == "passed");
            Some(json!({
                "job_id": job.id,
                "iteration": a.iteration,
                "language": job.spec.language,
                "task": job.spec.task,
                "tests": job.spec.tests,
                "code": a.code,
                "run_status": run_status(a),
                "run_error": run_error(a),
                "critique": critique,
                "critic_model": a.critic.as_ref().map(|c| &c.model),
                "next_iteration": next.map(|n| n.iteration),
                "next_passed": next_passed,
                "tags": job.tags,
            }))
        })
        .collect()
}

/// Which export a stream writes.
#[derive(Clone, Copy)]
enum Kind {
    Preferences,
    Critiques,
}

impl Kind {
    fn records(self, job: &Job, attempts: &[Attempt]) -> Vec<Value> {
        match self {
            Self::Preferences => preference_records(job, attempts),
            Self::Critiques => critique_records(job, attempts),
        }
    }
}

/// Where a stream is: the next page's cursor, the lines ready to send, and whether the
/// last page was read.
struct Cursor {
    kind: Kind,
    store: std::sync::Arc<dyn Store>,
    tenant: TenantId,
    filter: JobFilter,
    before: Option<JobId>,
    ready: VecDeque<Bytes>,
    done: bool,
}

fn line(value: &Value) -> Bytes {
    let mut text = value.to_string();
    text.push('\n');
    Bytes::from(text)
}

impl Cursor {
    /// Reads the next page of jobs into `ready`.
    async fn fill(&mut self) -> Result<(), hone_store::StoreError> {
        let params = ListJobs {
            filter: self.filter.clone(),
            limit: PAGE,
            before: self.before,
        };
        let page = self.store.list_jobs(&self.tenant, params).await?;
        for job in &page.items {
            let attempts = self
                .store
                .list_attempts(&self.tenant, job.id)
                .await?
                .unwrap_or_default();
            self.ready
                .extend(self.kind.records(job, &attempts).iter().map(line));
        }
        self.before = page.next;
        self.done = page.next.is_none();
        Ok(())
    }
}

/// `GET /v1/exports/preferences`.
pub async fn preferences(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    export(state, tenant, &query, Kind::Preferences).await
}

/// `GET /v1/exports/critiques`.
pub async fn critiques(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    export(state, tenant, &query, Kind::Critiques).await
}

/// Reads the filters (preferences imply `status=succeeded`) and streams the records.
async fn export(
    state: AppState,
    tenant: TenantId,
    query: &[(String, String)],
    kind: Kind,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let mut filter = JobFilter::default();
    for (k, v) in query {
        if k == "status" && matches!(kind, Kind::Preferences) {
            errors.push(FieldError::new(
                "status",
                "preference records come from succeeded jobs only; leave status out",
            ));
        } else if !crate::jobs::filter::read(&mut filter, k, v, &mut errors) {
            errors.push(FieldError::new(k.as_str(), "unknown query parameter"));
        }
    }
    crate::jobs::filter::check_repeats(query, &mut errors);
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    if matches!(kind, Kind::Preferences) {
        filter.statuses = vec![JobStatus::Succeeded];
    }
    let mut cursor = Cursor {
        kind,
        store: state.store.clone(),
        tenant,
        filter,
        before: None,
        ready: VecDeque::new(),
        done: false,
    };
    // The first page is read before the answer starts, so a failing store is a plain 500.
    cursor.fill().await?;
    let stream = futures_util::stream::unfold(Some(cursor), |state| async move {
        let mut cursor = state?;
        loop {
            if let Some(next) = cursor.ready.pop_front() {
                return Some((Ok::<_, std::convert::Infallible>(next), Some(cursor)));
            }
            if cursor.done {
                return None;
            }
            if let Err(e) = cursor.fill().await {
                tracing::error!(error = %e, "an export failed mid-stream");
                let end =
                    line(&json!({"error": "the export failed; the server's log has the cause"}));
                return Some((Ok(end), None));
            }
        }
    });
    Ok((
        [(header::CONTENT_TYPE, "application/x-ndjson")],
        Body::from_stream(stream),
    )
        .into_response())
}
