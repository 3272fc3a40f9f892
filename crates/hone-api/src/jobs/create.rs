//! `POST /v1/jobs`: validate the spec, store the job with its `job.queued` event, wake a
//! worker. `Idempotency-Key` (IETF httpapi draft) makes retries safe.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hone_domain::{FieldError, JobId, JobSpec};
use hone_store::{Enqueued, Idempotency, NewJob};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{Caller, Write};
use crate::body::JsonBody;
use crate::problem::ApiError;

/// The header that makes a submission idempotent.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// The request's `Idempotency-Key`, if it has a valid one.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(raw) = headers.get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::BadRequest(vec![FieldError::new(
            "Idempotency-Key",
            "must be 1 to 255 printable ASCII characters",
        )])
    };
    let key = raw.to_str().map_err(|_| bad())?.trim();
    // The draft recommends a quoted sf-string; accept it bare as well (`""` is a bare key).
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .filter(|k| !k.is_empty())
        .unwrap_or(key);
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

/// Why `role`'s provider `name` cannot be used here, if it cannot.
fn provider_error(state: &AppState, role: &str, name: &str) -> Option<FieldError> {
    let field = format!("{role}.provider");
    match state.providers.get(name) {
        Some(Ok(())) => None,
        Some(Err(why)) => Some(FieldError::new(
            field,
            format!("provider {name:?} is not configured: {why}"),
        )),
        None => {
            let known: Vec<&str> = state.providers.keys().map(String::as_str).collect();
            Some(FieldError::new(
                field,
                format!(
                    "unknown provider {name:?}; this service knows {}",
                    known.join(", ")
                ),
            ))
        }
    }
}

/// The spec's errors: those of its fields (`JobSpec::parse`) and, beside them, a provider
/// this service cannot use, so one answer names every bad field even when another field is
/// bad too. `Ok` is the valid spec, still to be checked by [`runnable`].
pub(crate) fn parse_spec(
    state: &AppState,
    body: &serde_json::Value,
) -> Result<JobSpec, Vec<FieldError>> {
    JobSpec::parse(body).map_err(|mut errors| {
        for role in ["actor", "critic"] {
            let field = format!("{role}.provider");
            if let Some(name) = body
                .get(role)
                .and_then(|m| m.get("provider"))
                .and_then(|p| p.as_str())
                && !errors.iter().any(|e| e.field == field)
            {
                errors.extend(provider_error(state, role, name));
            }
        }
        errors
    })
}

/// What a valid spec asks that this service cannot give: a provider that is unknown or not
/// configured, a language whose runtime failed its start-up check, a webhook target the
/// policy refuses (a literal address now; names when a delivery resolves them).
pub(crate) fn runnable(state: &AppState, spec: &JobSpec) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let roles = [
        ("actor", Some(&spec.actor)),
        ("critic", spec.critic.as_ref()),
    ];
    for (role, model) in roles {
        let Some(model) = model else { continue };
        errors.extend(provider_error(state, role, &model.provider));
    }
    if let Some(runtimes) = &state.runtimes
        && !runtimes
            .iter()
            .any(|r| r.language == spec.language && r.ready)
    {
        errors.push(FieldError::new(
            "language",
            format!(
                "no working {} runtime on this server (its start-up check failed; see the log)",
                spec.language.as_str()
            ),
        ));
    }
    if let Some(hook) = &spec.webhook
        && let Ok(url) = url::Url::parse(&hook.url)
        && let Err(refused) = state.webhook_policy.check_url(&url)
    {
        errors.push(FieldError::new("webhook.url", refused.to_string()));
    }
    errors
}

/// A fingerprint of a request body. serde_json's maps are sorted, so it ignores key order
/// and whitespace.
pub(crate) fn fingerprint(body: &serde_json::Value) -> String {
    format!("{:x}", Sha256::digest(body.to_string().as_bytes()))
}

/// The status and body of what an idempotent submission stored: `202` when new, `200` for
/// the first request's under the same key and body; a reused or busy key is an error.
pub(crate) fn answer<T>(enqueued: Enqueued<T>) -> Result<(StatusCode, T), ApiError> {
    match enqueued {
        Enqueued::Created(stored) => Ok((StatusCode::ACCEPTED, stored)),
        Enqueued::Existing(stored) => Ok((StatusCode::OK, stored)),
        Enqueued::KeyReused => Err(ApiError::IdempotencyKeyReused),
        Enqueued::KeyInFlight => Err(ApiError::IdempotencyKeyInFlight),
        Enqueued::OverQuota(quota) => Err(ApiError::OverQuota(quota)),
    }
}

/// Submits a job.
pub async fn create_job(
    State(state): State<AppState>,
    Caller { tenant, .. }: Caller<Write>,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<Response, ApiError> {
    let key = idempotency_key(&headers)?;
    let spec = parse_spec(&state, &body.value).map_err(ApiError::Validation)?;
    let errors = runnable(&state, &spec);
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let new = NewJob {
        id: JobId::new(),
        tenant,
        spec,
        // Only a keyed request needs its fingerprint: the body is re-serialised and hashed
        // then, not on every submission.
        idempotency: key.map(|key| Idempotency {
            key,
            fingerprint: fingerprint(&body.value),
        }),
        retry_of: None,
        trace_parent: crate::telemetry::submission_parent(&headers),
    };
    // The store signals the workers (in this process or, on Postgres, any other).
    stored(state.store.enqueue_job(new).await?)
}

/// The answer to a single submission (or a re-run): the job with its `Location`, counted
/// as submitted when it is new.
pub(crate) fn stored(enqueued: Enqueued) -> Result<Response, ApiError> {
    let (status, job) = answer(enqueued)?;
    if status == StatusCode::ACCEPTED {
        metrics::counter!(crate::metrics::JOBS_SUBMITTED).increment(1);
    }
    let location = format!("/v1/jobs/{}", job.id);
    let mut resp = (status, Json(job)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}
