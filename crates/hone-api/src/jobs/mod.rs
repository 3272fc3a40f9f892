//! The job endpoints, one handler per file, and what they share: the caller's tenant and
//! path-id parsing.

pub mod attempts;
pub mod batch;
pub mod cancel;
pub mod create;
pub mod deliveries;
pub mod events;
pub mod get;
pub mod list;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hone_domain::{JobId, TenantId};

use crate::problem::ApiError;

/// The tenant a request acts for. Until API keys exist every caller is the default tenant;
/// authentication will replace this extractor, not the handlers.
pub struct Caller(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(_parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(TenantId::default_tenant()))
    }
}

/// Parses a job id from the path; an id that is not a UUID names no job (404).
pub(crate) fn job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no job with id {raw:?}")))
}

pub(crate) fn no_job(id: JobId) -> ApiError {
    ApiError::NotFound(format!("no job with id {id}"))
}
