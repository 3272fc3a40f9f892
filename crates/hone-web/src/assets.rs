//! The stylesheet and scripts, compiled into the binary and served from `/assets/NAME`.
//! Vendored files carry their version in their name and are cached for a year; hone's own
//! for five minutes.

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

use crate::page::PageError;

/// Every asset: name, content type, bytes, and whether its name pins its content.
const ASSETS: &[(&str, &str, &[u8], bool)] = &[
    (
        "hone.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/hone.css"),
        false,
    ),
    (
        "hone.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/hone.js"),
        false,
    ),
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/htmx-2.0.11.min.js"),
        true,
    ),
    (
        "htmx-ext-sse-2.2.4.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/htmx-ext-sse-2.2.4.js"),
        true,
    ),
    (
        "highlight-11.12.0.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/vendor/highlight-11.12.0.min.js"),
        true,
    ),
    (
        "highlight-github-11.12.0.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/vendor/highlight-github-11.12.0.min.css"),
        true,
    ),
];

/// Serves one asset, or a `404` page.
pub async fn serve(Path(name): Path<String>) -> Result<Response, PageError> {
    let (_, kind, bytes, pinned) = ASSETS
        .iter()
        .find(|(n, ..)| *n == name)
        .ok_or_else(|| PageError::not_found(format!("no asset {name:?}")))?;
    let cache = if *pinned {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        *bytes,
    )
        .into_response())
}
