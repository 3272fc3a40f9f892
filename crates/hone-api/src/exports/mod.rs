//! Training-data exports, streamed as NDJSON (one record a line) within the caller's tenant
//! and the history filters:
//! - `GET /v1/exports/preferences`: for every succeeded job, one record per failed attempt
//!   that wrote code — the actor's prompt for the task, `rejected` (that attempt's code) and
//!   `chosen` (the accepted code), with both runs' statuses, the rejected attempt's critique,
//!   and the ids to trace the record back.
//! - `GET /v1/exports/trajectories`: every accepted job as one chat transcript in the chat
//!   fine-tuning format (`{"messages": [...]}`), `with_metadata=true` adding where it came from.
//! - `GET /v1/exports/critiques`: every critique — the task, tests, code and run it judged —
//!   labelled by whether the next attempt passed, for training and evaluating critics.
//!
//! Every record is redacted ([`redact`]) before it is written. `format=parquet` writes the
//! same records as one Parquet file instead ([`parquet`]). The stream reads a page of
//! jobs at a time, so memory stays flat however many jobs match. A failure after the first
//! line cannot change the status any more: the stream then ends with a line
//! `{"error": "..."}`.

mod parquet;
mod records;
pub mod redact;
mod stream;

use axum::extract::{Query, State};
use axum::response::Response;
use hone_domain::{Attempt, FieldError, Job, JobStatus, TenantId};
use hone_store::JobFilter;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::{Caller, Read};
use crate::problem::ApiError;

pub use redact::Redactor;

/// Which export a stream writes.
#[derive(Clone, Copy)]
enum Kind {
    Preferences,
    Trajectories { metadata: bool },
    Critiques,
}

impl Kind {
    /// The export's name, as in its path.
    fn name(self) -> &'static str {
        match self {
            Self::Preferences => "preferences",
            Self::Trajectories { .. } => "trajectories",
            Self::Critiques => "critiques",
        }
    }

    /// The job's records, redacted, each naming the rules that matched in it.
    fn records(self, redactor: &Redactor, job: &Job, attempts: &[Attempt]) -> Vec<Value> {
        let mut records = match self {
            Self::Preferences => records::preferences(job, attempts),
            Self::Trajectories { metadata } => records::trajectories(job, attempts, metadata),
            Self::Critiques => records::critiques(job, attempts),
        };
        let url = job.spec.webhook.as_ref().map(|w| w.url.as_str());
        for record in &mut records {
            let hit = redactor.redact(record, url);
            // A bare trajectory has no place for it: only the format's own `messages`; the
            // `[REDACTED:<rule>]` markers in its text still say what was taken out.
            let place = match self {
                Self::Trajectories { .. } => record.get_mut("metadata"),
                _ => Some(record),
            };
            if let Some(Value::Object(place)) = place {
                place.insert("redacted".into(), json!(hit));
            }
        }
        records
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

/// `GET /v1/exports/trajectories`.
pub async fn trajectories(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let kind = Kind::Trajectories { metadata: false };
    export(state, tenant, &query, kind).await
}

/// `GET /v1/exports/critiques`.
pub async fn critiques(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Read>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    export(state, tenant, &query, Kind::Critiques).await
}

/// Reads the filters and the export's own parameters (preferences and trajectories imply
/// `status=succeeded`), then streams the records.
async fn export(
    state: AppState,
    tenant: TenantId,
    query: &[(String, String)],
    mut kind: Kind,
) -> Result<Response, ApiError> {
    let mut errors = Vec::new();
    let mut filter = JobFilter::default();
    let accepted_only = !matches!(kind, Kind::Critiques);
    let mut parquet = false;
    for (k, v) in query {
        match (k.as_str(), &mut kind) {
            ("format", _) => match v.as_str() {
                "ndjson" => parquet = false,
                "parquet" => parquet = true,
                _ => errors.push(FieldError::new("format", "must be ndjson or parquet")),
            },
            ("status", _) if accepted_only => errors.push(FieldError::new(
                "status",
                "these records come from succeeded jobs only; leave status out",
            )),
            ("with_metadata", Kind::Trajectories { metadata }) => match v.as_str() {
                "true" => *metadata = true,
                "false" => *metadata = false,
                _ => errors.push(FieldError::new("with_metadata", "must be true or false")),
            },
            _ => {
                if !crate::jobs::filter::read(&mut filter, k, v, &mut errors) {
                    errors.push(FieldError::new(k.as_str(), "unknown query parameter"));
                }
            }
        }
    }
    crate::jobs::filter::check_repeats(query, &mut errors);
    for key in ["format", "with_metadata"] {
        if query.iter().filter(|(k, _)| k == key).count() > 1 {
            errors.push(FieldError::new(key, "given more than once"));
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::BadRequest(errors));
    }
    if accepted_only {
        filter.statuses = vec![JobStatus::Succeeded];
    }
    stream::respond(state, tenant, filter, kind, parquet).await
}
