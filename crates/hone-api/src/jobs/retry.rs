//! `POST /v1/jobs/{id}/retry`: a new job from a job's stored spec, with optional changes as
//! a JSON merge patch (RFC 7396) over that spec, validated like any submission. The new job
//! names the original (`retry_of`); the original names its newest re-run (`retried_as`).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use hone_domain::{FieldError, JobId};
use hone_store::{Idempotency, NewJob, StoreError};
use serde_json::Value;

use super::create::{fingerprint, idempotency_key, parse_spec, runnable, stored};
use super::{job_id, no_job};
use crate::AppState;
use crate::auth::{Caller, Write};
use crate::body::OptionalJsonBody;
use crate::problem::ApiError;

/// Re-runs a job; `202` with the new job and its `Location`.
pub async fn retry_job(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Write>,
    Path(id): Path<String>,
    headers: HeaderMap,
    OptionalJsonBody(patch): OptionalJsonBody,
) -> Result<Response, ApiError> {
    let id = job_id(&id)?;
    let key = idempotency_key(&headers)?;
    if let Some(p) = &patch
        && !p.is_object()
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            "",
            "the body must be a JSON object: a merge patch of the job's spec",
        )]));
    }
    let original = state
        .store
        .get_job(&tenant, id)
        .await?
        .ok_or_else(|| no_job(id))?;
    let mut value = serde_json::to_value(&original.spec)
        .map_err(|e| ApiError::Internal(StoreError::corrupt("spec", e)))?;
    if let Some(p) = &patch {
        json_patch::merge(&mut value, p);
        // In a merge patch `null` removes a field, and a spec without `critic` gets the
        // default critic; `"critic": null` means what it means in a submission: no critic.
        if p.get("critic").is_some_and(Value::is_null)
            && let Some(spec) = value.as_object_mut()
        {
            spec.insert("critic".to_owned(), Value::Null);
        }
    }
    let spec = parse_spec(&state, &value).map_err(ApiError::Validation)?;
    let errors = runnable(&state, &spec);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let request = serde_json::json!({"retry_of": id, "patch": patch.unwrap_or(Value::Null)});
    let new = NewJob {
        id: JobId::new(),
        tenant,
        spec,
        idempotency: key.map(|key| Idempotency {
            key,
            fingerprint: fingerprint(&request),
        }),
        retry_of: Some(id),
        trace_parent: crate::telemetry::submission_parent(&headers),
    };
    stored(state.store.enqueue_job(new).await?)
}
