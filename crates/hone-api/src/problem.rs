//! RFC 9457 problem documents: the one place where errors become HTTP responses. Store
//! errors become a generic 500 whose detail never carries database text; the log has it.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hone_domain::FieldError;
use hone_domain::apikey::Scope;
use hone_store::StoreError;
use serde_json::{Value, json};

/// The media type of problem documents.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Every error the API returns.
#[derive(Debug)]
pub enum ApiError {
    /// The job spec is invalid: 422 naming every bad field.
    Validation(Vec<FieldError>),
    /// A request body other than a job spec is invalid: 422 naming every bad field.
    InvalidBody(Vec<FieldError>),
    /// The body is not JSON (or nested too deeply): 400.
    MalformedJson(String),
    /// The body is not declared as JSON: 415.
    UnsupportedMediaType,
    /// The body is over the limit: 413.
    PayloadTooLarge,
    /// A query parameter or header is invalid: 400 naming the fields.
    BadRequest(Vec<FieldError>),
    /// No such resource for the caller: 404.
    NotFound(String),
    /// The request conflicts with the resource's state: 409.
    Conflict(String),
    /// The idempotency key was used with another body: 422.
    IdempotencyKeyReused,
    /// The idempotency key's first request is still being processed: 409.
    IdempotencyKeyInFlight,
    /// The body did not arrive within the body timeout: 408.
    BodyTimeout,
    /// The request target is over `max_bytes`: 414.
    UriTooLong {
        /// The most bytes of path and query.
        max_bytes: usize,
    },
    /// The headers are over `max_headers` lines or `max_bytes` in all: 431.
    HeadersTooLarge {
        /// The most header lines.
        max_headers: usize,
        /// The most header bytes.
        max_bytes: usize,
    },
    /// No usable API key: 401 with `WWW-Authenticate: Bearer`. `presented` says whether the
    /// request carried a key at all (then the challenge adds `error="invalid_token"`).
    Unauthorized {
        /// What is wrong, without repeating the key.
        detail: &'static str,
        /// Whether a key was presented.
        presented: bool,
    },
    /// The key lacks the route's scope: 403.
    Forbidden(Scope),
    /// The tenant's quota would be exceeded: 429 naming it (`Retry-After` the next UTC day
    /// for the daily token quota).
    OverQuota(hone_store::QuotaExceeded),
    /// Opening the stream would pass a cap on open streams: 429 for the key's and the
    /// tenant's, 503 for the process's, each with `Retry-After`.
    TooManyStreams(crate::live::StreamRefusal),
    /// Our fault: 500 (the cause is logged, not shown).
    Internal(StoreError),
}

impl From<crate::live::StreamRefusal> for ApiError {
    fn from(r: crate::live::StreamRefusal) -> Self {
        Self::TooManyStreams(r)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e)
    }
}

/// A problem document (RFC 9457) of `status`, type `kind`, with `extra` members.
pub(crate) fn problem(
    status: StatusCode,
    kind: &str,
    title: &str,
    detail: String,
    extra: Value,
) -> Response {
    let mut body = json!({
        "type": kind,
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    if let (Some(obj), Value::Object(more)) = (body.as_object_mut(), extra) {
        obj.extend(more);
    }
    let mut resp = (status, Json(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    resp
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use StatusCode as S;
        match self {
            Self::Validation(errors) => problem(
                S::UNPROCESSABLE_ENTITY,
                "urn:hone:problem:invalid-job",
                "The job spec is invalid",
                format!("{} field(s) are invalid; see errors", errors.len()),
                json!({"errors": errors}),
            ),
            Self::InvalidBody(errors) => problem(
                S::UNPROCESSABLE_ENTITY,
                "urn:hone:problem:invalid-body",
                "The request body is invalid",
                format!("{} field(s) are invalid; see errors", errors.len()),
                json!({"errors": errors}),
            ),
            Self::MalformedJson(why) => problem(
                S::BAD_REQUEST,
                "urn:hone:problem:malformed-json",
                "The body is not valid JSON",
                why,
                json!({}),
            ),
            Self::UnsupportedMediaType => problem(
                S::UNSUPPORTED_MEDIA_TYPE,
                "urn:hone:problem:unsupported-media-type",
                "The body must be JSON",
                "send the body with Content-Type: application/json".to_owned(),
                json!({}),
            ),
            Self::PayloadTooLarge => payload_too_large(),
            Self::BadRequest(errors) => problem(
                S::BAD_REQUEST,
                "urn:hone:problem:bad-request",
                "The request is invalid",
                format!("{} parameter(s) are invalid; see errors", errors.len()),
                json!({"errors": errors}),
            ),
            Self::NotFound(detail) => problem(
                S::NOT_FOUND,
                "urn:hone:problem:not-found",
                "Not found",
                detail,
                json!({}),
            ),
            Self::Conflict(detail) => problem(
                S::CONFLICT,
                "urn:hone:problem:conflict",
                "Conflict",
                detail,
                json!({}),
            ),
            Self::IdempotencyKeyReused => problem(
                S::UNPROCESSABLE_ENTITY,
                "urn:hone:problem:idempotency-key-reused",
                "The idempotency key was used with another request",
                "an Idempotency-Key may only be retried with the same body".to_owned(),
                json!({"errors": [{"field": "Idempotency-Key", "message": "already used with a different body"}]}),
            ),
            Self::IdempotencyKeyInFlight => problem(
                S::CONFLICT,
                "urn:hone:problem:idempotency-key-in-flight",
                "A request with this idempotency key is in progress",
                "retry after the first request completes".to_owned(),
                json!({}),
            ),
            Self::BodyTimeout => problem(
                S::REQUEST_TIMEOUT,
                "urn:hone:problem:body-timeout",
                "The body arrived too slowly",
                "the request body did not arrive whole within the body timeout".to_owned(),
                json!({}),
            ),
            Self::UriTooLong { max_bytes } => problem(
                S::URI_TOO_LONG,
                "urn:hone:problem:uri-too-long",
                "The request target is too long",
                format!("the path and query may be at most {max_bytes} bytes"),
                json!({}),
            ),
            Self::HeadersTooLarge {
                max_headers,
                max_bytes,
            } => problem(
                S::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "urn:hone:problem:headers-too-large",
                "The request headers are too large",
                format!("at most {max_headers} header lines of {max_bytes} bytes in all"),
                json!({}),
            ),
            Self::Unauthorized { detail, presented } => {
                let mut resp = problem(
                    S::UNAUTHORIZED,
                    "urn:hone:problem:unauthorized",
                    "An API key is required",
                    detail.to_owned(),
                    json!({}),
                );
                let challenge = if presented {
                    "Bearer realm=\"hone\", error=\"invalid_token\""
                } else {
                    "Bearer realm=\"hone\""
                };
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                resp
            }
            Self::Forbidden(scope) => problem(
                S::FORBIDDEN,
                "urn:hone:problem:forbidden",
                "The key lacks the scope this route needs",
                format!("this route needs a key with the scope {}", scope.as_str()),
                json!({"scope": scope.as_str()}),
            ),
            Self::TooManyStreams(refusal) => {
                use crate::live::StreamRefusal as R;
                let (status, cap, limit) = match refusal {
                    R::Key(n) => (S::TOO_MANY_REQUESTS, "key", n),
                    R::Tenant(n) => (S::TOO_MANY_REQUESTS, "tenant", n),
                    R::Process(n) => (S::SERVICE_UNAVAILABLE, "process", n),
                };
                let mut resp = problem(
                    status,
                    "urn:hone:problem:too-many-streams",
                    "Too many live streams",
                    refusal.detail(),
                    json!({"cap": cap, "limit": limit}),
                );
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                resp
            }
            Self::OverQuota(quota) => over_quota(quota),
            Self::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                problem(
                    S::INTERNAL_SERVER_ERROR,
                    "about:blank",
                    "Internal Server Error",
                    "the server failed to handle the request; it has been logged".to_owned(),
                    json!({}),
                )
            }
        }
    }
}

fn over_quota(quota: hone_store::QuotaExceeded) -> Response {
    use hone_store::QuotaExceeded as Q;
    let (name, limit, detail) = match quota {
        Q::QueuedJobs { limit } => (
            "queued_jobs",
            json!(limit),
            format!("the tenant has {limit} queued jobs, its quota; submit when some have started"),
        ),
        Q::TokensPerDay { limit } => (
            "tokens_per_day",
            json!(limit),
            format!("the tenant's jobs spent {limit} model tokens today (UTC), its daily quota"),
        ),
        Q::CostPerDay { limit } => (
            "cost_usd_per_day",
            json!(limit),
            format!("the tenant's model calls cost {limit} today (UTC), its daily spend quota"),
        ),
    };
    let mut resp = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "urn:hone:problem:quota-exceeded",
        "A quota of the tenant is reached",
        detail,
        json!({"quota": name, "limit": limit}),
    );
    if let Q::TokensPerDay { .. } | Q::CostPerDay { .. } = quota {
        let day_ms: i64 = 86_400_000;
        let now = hone_domain::Timestamp::now().as_millis();
        let wait_s = ((day_ms - now.rem_euclid(day_ms)) / 1000).max(1);
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait_s));
    }
    resp
}

fn payload_too_large() -> Response {
    problem(
        StatusCode::PAYLOAD_TOO_LARGE,
        "urn:hone:problem:payload-too-large",
        "The body is too large",
        "the request body exceeds the configured limit".to_owned(),
        json!({}),
    )
}

/// The fallback for paths no route serves.
pub async fn not_found_route() -> ApiError {
    ApiError::NotFound("no such route".to_owned())
}

/// Turns every error response that is not already a problem document (the framework's 405,
/// the body limit's 413, extractor rejections) into one.
pub async fn problemize(resp: Response) -> Response {
    let status = resp.status();
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    // The dashboard's error pages are HTML for people, and stay so.
    let is_page = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page {
        return resp;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return payload_too_large();
    }
    let (parts, body) = resp.into_parts();
    let detail = axum::body::to_bytes(body, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let title = status.canonical_reason().unwrap_or("Error");
    let detail = match (detail.trim().is_empty(), status) {
        (false, _) => detail,
        (true, StatusCode::METHOD_NOT_ALLOWED) => {
            "this path does not accept the method; the Allow header lists those it does".to_owned()
        }
        (true, _) => title.to_owned(),
    };
    let mut out = problem(status, "about:blank", title, detail, json!({}));
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
