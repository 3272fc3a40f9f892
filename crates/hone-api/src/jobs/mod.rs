//! The job endpoints, one handler per file, and what they share: path-id parsing. Each
//! handler names its caller with the scope it needs ([`crate::auth::Caller`]).

pub mod attempts;
pub mod batch;
pub mod bulk_cancel;
pub mod cancel;
pub mod create;
pub mod deliveries;
pub mod events;
pub mod filter;
pub mod get;
pub mod list;
pub mod retry;

use hone_domain::JobId;

use crate::problem::ApiError;

/// Parses a job id from the path; an id that is not a UUID names no job (404).
pub(crate) fn job_id(raw: &str) -> Result<JobId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("no job with id {raw:?}")))
}

pub(crate) fn no_job(id: JobId) -> ApiError {
    ApiError::NotFound(format!("no job with id {id}"))
}
