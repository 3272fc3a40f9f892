//! Limits on what a request may be: the head's size (`414`, `431`), the body's size (`413`)
//! and the time its body may take to arrive (`408`). Each refusal is a problem document;
//! only heads beyond hyper's own bounds (256 header lines, about 400 KiB, a 64 KiB target)
//! get hyper's bare status and a closed connection.

use std::time::Duration;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};

use crate::problem::ApiError;

/// The longest request target (path and query), in bytes: longer ones get `414`.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header lines a request may have: more get `431`.
pub const MAX_HEADERS: usize = 100;
/// The most bytes all header names and values may take together: more get `431`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Per-request limits that come from configuration.
#[derive(Debug, Clone, Copy)]
pub struct HttpLimits {
    /// Request bodies larger than this get `413`.
    pub body_bytes: usize,
    /// Job bodies (`POST /v1/jobs`, `POST /v1/jobs/{id}/retry`) larger than this get `413`.
    pub job_body_bytes: usize,
    /// Batch request bodies (`POST /v1/jobs/batch`) larger than this get `413`.
    pub batch_body_bytes: usize,
    /// A body must arrive whole within this, or the request gets `408`.
    pub body_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            body_bytes: crate::DEFAULT_BODY_LIMIT,
            job_body_bytes: crate::DEFAULT_JOB_BODY_LIMIT,
            batch_body_bytes: crate::DEFAULT_BATCH_BODY_LIMIT,
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// The body timeout, as the body extractor finds it in the request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Refuses any query parameter, for the routes that take none: `400` naming each one, as the
/// routes with parameters name the ones they do not know.
pub async fn no_query(req: Request) -> Result<Request, Response> {
    let Some(query) = req.uri().query().filter(|q| !q.is_empty()) else {
        return Ok(req);
    };
    let errors = form_urlencoded::parse(query.as_bytes())
        .map(|(k, _)| hone_domain::FieldError::new(k.as_ref(), "unknown query parameter"))
        .collect();
    Err(ApiError::BadRequest(errors).into_response())
}

/// Refuses requests whose target or headers are over the limits, before any handler runs.
pub async fn check_head(req: Request) -> Result<Request, Response> {
    let target = req.uri().path_and_query().map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::UriTooLong {
            max_bytes: MAX_URI_BYTES,
        }
        .into_response());
    }
    let headers = req.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge {
            max_headers: MAX_HEADERS,
            max_bytes: MAX_HEADER_BYTES,
        }
        .into_response());
    }
    Ok(req)
}
