//! The stream behind every export: a page of jobs at a time (their attempts in one read),
//! their records as NDJSON lines.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hone_domain::{Attempt, JobId, TenantId};
use hone_store::{JobFilter, ListJobs, Store, StoreError};
use serde_json::{Value, json};

use super::{Kind, Redactor};
use crate::AppState;
use crate::problem::ApiError;

/// Jobs read per page of the stream.
const PAGE: u32 = 100;

/// Where a stream is: the next page's cursor, the lines ready to send, and whether the
/// last page was read.
struct Cursor {
    kind: Kind,
    store: Arc<dyn Store>,
    redactor: Arc<Redactor>,
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
    /// Reads the next page of jobs, and their attempts, into `ready`.
    async fn fill(&mut self) -> Result<(), StoreError> {
        let params = ListJobs {
            filter: self.filter.clone(),
            limit: PAGE,
            before: self.before,
        };
        let page = self.store.list_jobs(&self.tenant, params).await?;
        let ids: Vec<JobId> = page.items.iter().map(|j| j.id).collect();
        let mut attempts = self.store.attempts_of_jobs(&self.tenant, &ids).await?;
        for job in &page.items {
            // Each job's attempts are together; take this job's out of the page's.
            let mine: Vec<Attempt> = take_job(&mut attempts, job.id);
            let records = self.kind.records(&self.redactor, job, &mine);
            self.ready.extend(records.iter().map(line));
        }
        self.before = page.next;
        self.done = page.next.is_none();
        Ok(())
    }
}

/// Removes and returns the attempts of `job` from a page's (grouped by job).
fn take_job(attempts: &mut Vec<(JobId, Attempt)>, job: JobId) -> Vec<Attempt> {
    let Some(start) = attempts.iter().position(|(j, _)| *j == job) else {
        return Vec::new();
    };
    let end = attempts[start..]
        .iter()
        .position(|(j, _)| *j != job)
        .map_or(attempts.len(), |n| start + n);
    attempts.drain(start..end).map(|(_, a)| a).collect()
}

/// Streams the records of every job the filter matches as `application/x-ndjson`.
pub(super) async fn respond(
    state: AppState,
    tenant: TenantId,
    filter: JobFilter,
    kind: Kind,
) -> Result<Response, ApiError> {
    let mut cursor = Cursor {
        kind,
        store: state.store.clone(),
        redactor: state.redactor.clone(),
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
