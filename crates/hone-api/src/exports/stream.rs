//! The stream behind every export: a page of jobs at a time (their attempts in one read),
//! their records as NDJSON lines or as a Parquet row group.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use hone_domain::{Attempt, JobId, TenantId};
use hone_store::{JobFilter, ListJobs, Store, StoreError};
use serde_json::{Value, json};

use super::parquet::ParquetSink;
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
    /// The Parquet file being written; `None` for NDJSON, and once its footer is out.
    parquet: Option<ParquetSink>,
    /// Whether the answer is a Parquet file (which cannot end with an error line).
    binary: bool,
}

/// Why a page could not be read or written.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Parquet(#[from] super::parquet::ParquetError),
}

fn line(value: &Value) -> Bytes {
    let mut text = value.to_string();
    text.push('\n');
    Bytes::from(text)
}

impl Cursor {
    /// Reads the next page of jobs, and their attempts, into `ready` (with a Parquet file's
    /// footer after the last page).
    async fn fill(&mut self) -> Result<(), PageError> {
        let params = ListJobs {
            filter: self.filter.clone(),
            limit: PAGE,
            before: self.before,
            ..Default::default()
        };
        let page = self.store.list_jobs(&self.tenant, params).await?;
        let ids: Vec<JobId> = page.items.iter().map(|j| j.id).collect();
        let mut attempts = self.store.attempts_of_jobs(&self.tenant, &ids).await?;
        let mut records = Vec::new();
        for job in &page.items {
            // Each job's attempts are together; take this job's out of the page's.
            let mine: Vec<Attempt> = take_job(&mut attempts, job.id);
            records.extend(self.kind.records(&self.redactor, job, &mine));
        }
        self.before = page.next;
        self.done = page.next.is_none();
        match &mut self.parquet {
            None => self.ready.extend(records.iter().map(line)),
            Some(sink) => {
                let bytes = sink.page(records)?;
                if !bytes.is_empty() {
                    self.ready.push_back(bytes);
                }
            }
        }
        if self.done
            && let Some(sink) = self.parquet.take()
        {
            self.ready.push_back(sink.finish()?);
        }
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

/// Streams the records of every job the filter matches as `application/x-ndjson`, or as
/// one Parquet file.
pub(super) async fn respond(
    state: AppState,
    tenant: TenantId,
    filter: JobFilter,
    kind: Kind,
    parquet: bool,
) -> Result<Response, ApiError> {
    let sink = parquet
        .then(|| ParquetSink::new(kind))
        .transpose()
        .map_err(|e| ApiError::Internal(StoreError::corrupt("a Parquet export", e)))?;
    let mut cursor = Cursor {
        kind,
        store: state.store.clone(),
        redactor: state.redactor.clone(),
        tenant,
        filter,
        before: None,
        ready: VecDeque::new(),
        done: false,
        parquet: sink,
        binary: parquet,
    };
    // The first page is read before the answer starts, so a failing store is a plain 500.
    if let Err(e) = cursor.fill().await {
        return Err(match e {
            PageError::Store(e) => e.into(),
            PageError::Parquet(e) => ApiError::Internal(StoreError::corrupt("a Parquet export", e)),
        });
    }
    let stream = futures_util::stream::unfold(Some(cursor), |state| async move {
        let mut cursor = state?;
        loop {
            if let Some(next) = cursor.ready.pop_front() {
                return Some((Ok::<_, std::io::Error>(next), Some(cursor)));
            }
            if cursor.done {
                return None;
            }
            if let Err(e) = cursor.fill().await {
                tracing::error!(error = %e, "an export failed mid-stream");
                if cursor.binary {
                    // A file cannot say it is incomplete: the response is cut off instead.
                    return Some((Err(std::io::Error::other("the export failed")), None));
                }
                let end =
                    line(&json!({"error": "the export failed; the server's log has the cause"}));
                return Some((Ok(end), None));
            }
        }
    });
    let body = Body::from_stream(stream);
    Ok(if parquet {
        let name = format!("attachment; filename=\"{}.parquet\"", kind.name());
        (
            [
                (
                    header::CONTENT_TYPE,
                    "application/vnd.apache.parquet".to_owned(),
                ),
                (header::CONTENT_DISPOSITION, name),
            ],
            body,
        )
            .into_response()
    } else {
        ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
    })
}
