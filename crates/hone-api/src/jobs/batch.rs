//! `POST /v1/jobs/batch`: up to [`MAX_BATCH`] specs stored in one transaction, all or none.
//! Every invalid item is named (`items[3].tests`) and nothing is stored; otherwise the
//! answer lists the new jobs' ids in the order given. `Idempotency-Key` covers the whole
//! batch.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use hone_domain::{FieldError, JobId, JobSpec};
use hone_store::{Idempotency, NewBatch, NewJob};
use serde::Serialize;
use serde_json::Value;

use super::create::{answer, fingerprint, idempotency_key, parse_spec, runnable};
use crate::AppState;
use crate::auth::{Caller, Write};
use crate::body::JsonBody;
use crate::problem::ApiError;

/// The most specs one batch may hold.
pub const MAX_BATCH: usize = 1000;

/// The answer: the jobs' ids, in the order of `items`.
#[derive(Serialize)]
struct Batch {
    ids: Vec<JobId>,
}

/// The items of a batch body, or what is wrong with its shape.
fn items(body: &Value) -> Result<&Vec<Value>, ApiError> {
    let refuse =
        |field: &str, message: &str| ApiError::Validation(vec![FieldError::new(field, message)]);
    let Value::Object(map) = body else {
        return Err(refuse("", "the body must be a JSON object with `items`"));
    };
    if let Some(unknown) = map.keys().find(|k| *k != "items") {
        return Err(refuse(unknown, "unknown field; a batch holds only `items`"));
    }
    match map.get("items") {
        None => Err(refuse("items", "required: an array of 1 to 1000 job specs")),
        Some(Value::Array(items)) if (1..=MAX_BATCH).contains(&items.len()) => Ok(items),
        Some(Value::Array(_)) => Err(refuse("items", "must hold 1 to 1000 job specs")),
        Some(_) => Err(refuse("items", "must be an array of job specs")),
    }
}

/// Every item's spec, or every error of every item, each field named `items[i].field`.
fn specs(state: &AppState, items: &[Value]) -> Result<Vec<JobSpec>, ApiError> {
    let mut specs = Vec::with_capacity(items.len());
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let found = match parse_spec(state, item) {
            Ok(spec) => {
                let refused = runnable(state, &spec);
                specs.push(spec);
                refused
            }
            Err(invalid) => invalid,
        };
        errors.extend(found.into_iter().map(|e| FieldError {
            field: match e.field.as_str() {
                "" => format!("items[{i}]"),
                field => format!("items[{i}].{field}"),
            },
            message: e.message,
        }));
    }
    if errors.is_empty() {
        Ok(specs)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// Submits many jobs at once.
pub async fn create_batch(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Write>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let specs = specs(&state, items(&body.value)?)?;
    let trace_parent = crate::telemetry::submission_parent(&headers);
    let jobs = specs
        .into_iter()
        .map(|spec| NewJob {
            id: JobId::new(),
            tenant: tenant.clone(),
            spec,
            idempotency: None,
            retry_of: None,
            trace_parent: trace_parent.clone(),
        })
        .collect();
    let batch = NewBatch {
        tenant,
        jobs,
        idempotency: key.map(|key| Idempotency {
            key,
            fingerprint: fingerprint(&body.value),
        }),
    };
    let (status, ids) = answer(state.store.enqueue_batch(batch).await?)?;
    if status == axum::http::StatusCode::ACCEPTED {
        metrics::counter!(crate::metrics::JOBS_SUBMITTED).increment(ids.len() as u64);
    }
    Ok((status, Json(Batch { ids })).into_response())
}
