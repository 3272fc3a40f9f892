//! Reading JSON request bodies: the media type checked, the body limit enforced (also for
//! streamed bodies), the whole body read within the body timeout (a body trickled a byte at
//! a time gets `408`), nesting bounded before parsing, and every failure a problem document.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde_json::Value;

use crate::limits::{BodyTimeout, HttpLimits};
use crate::problem::ApiError;

/// The deepest nesting of arrays and objects accepted in a body.
pub const MAX_DEPTH: usize = 32;

/// A parsed JSON body and its raw bytes.
pub struct JsonBody {
    /// The parsed value.
    pub value: Value,
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read(req, state).await?;
        Ok(Self {
            value: parse(&bytes)?,
        })
    }
}

/// A JSON body that may be left out: an empty body reads as `None`.
pub struct OptionalJsonBody(pub Option<Value>);

impl<S: Send + Sync> FromRequest<S> for OptionalJsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        parse(&bytes).map(|v| Self(Some(v)))
    }
}

/// The body's bytes: a JSON media type (or none), within the limit and the body timeout.
async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let declared_json = match req.headers().get(header::CONTENT_TYPE) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|ct| {
            let essence = ct
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            essence == "application/json" || essence.ends_with("+json")
        }),
    };
    if !declared_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let deadline = req
        .extensions()
        .get::<BodyTimeout>()
        .map_or(HttpLimits::default().body_timeout, |t| t.0);
    let read = Bytes::from_request(req, state);
    tokio::time::timeout(deadline, read)
        .await
        .map_err(|_| ApiError::BodyTimeout)?
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson(format!("the body could not be read: {e}"))
            }
        })
}

fn parse(bytes: &[u8]) -> Result<Value, ApiError> {
    check_depth(bytes)?;
    serde_json::from_slice(bytes).map_err(|e| ApiError::MalformedJson(format!("invalid JSON: {e}")))
}

/// Rejects bodies nested deeper than [`MAX_DEPTH`], counting brackets outside strings.
fn check_depth(bytes: &[u8]) -> Result<(), ApiError> {
    if hone_domain::jsonscan::max_depth(bytes) > MAX_DEPTH {
        return Err(ApiError::MalformedJson(format!(
            "the body is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_depth;

    #[test]
    fn nesting_is_bounded_outside_strings_only() {
        assert!(check_depth(&[b'['; 32]).is_ok());
        assert!(check_depth(&[b'['; 33]).is_err());
        assert!(check_depth(format!("{{\"a\": \"{}\"}}", "[".repeat(100)).as_bytes()).is_ok());
    }
}
