//! W3C trace context in the API: each request's span continues the caller's trace (its
//! `traceparent` header), and a submission keeps the context the job's spans will hang under,
//! so a worker in any process, at any later time, runs the job inside the caller's trace.
//! Spans leave the process only when the binary installed an OpenTelemetry exporter
//! (`OTEL_EXPORTER_OTLP_ENDPOINT`); otherwise these are plain `tracing` spans.

use std::collections::HashMap;

use axum::http::{HeaderMap, Request, Response};
use opentelemetry::propagation::{Extractor, Injector};
use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct Carrier(HashMap<String, String>);

impl Injector for Carrier {
    fn set(&mut self, key: &str, value: String) {
        self.0.insert(key.to_owned(), value);
    }
}

/// Whether `v` is a W3C `traceparent` of version 00 with a non-zero trace and parent id.
pub fn is_traceparent(v: &str) -> bool {
    let parts: Vec<&str> = v.split('-').collect();
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    };
    let nonzero = |s: &str| s.bytes().any(|b| b != b'0');
    matches!(parts.as_slice(), [ver, trace, parent, flags]
        if *ver == "00" && hex(trace, 32) && nonzero(trace) && hex(parent, 16)
            && nonzero(parent) && hex(flags, 2))
}

/// The span of one request, a child of the caller's trace when it sent `traceparent`.
pub fn request_span<B>(req: &Request<B>) -> Span {
    let span = tracing::info_span!(
        "request",
        otel.name = %req.method(),
        otel.kind = "server",
        http.request.method = %req.method(),
        url.path = %req.uri().path(),
        http.response.status_code = tracing::field::Empty,
    );
    let parent =
        opentelemetry::global::get_text_map_propagator(|p| p.extract(&Headers(req.headers())));
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
    span
}

/// Records the answer's status on the request's span.
pub fn record_status<B>(res: &Response<B>, _latency: std::time::Duration, span: &Span) {
    span.record(
        "http.response.status_code",
        i64::from(res.status().as_u16()),
    );
}

/// The `traceparent` a submitted job's spans will hang under: the current request span's,
/// when spans are exported; else the caller's own header, when it is well-formed.
pub fn submission_parent(headers: &HeaderMap) -> Option<String> {
    let cx = Span::current().context();
    if cx.span().span_context().is_valid() {
        let mut carrier = Carrier(HashMap::new());
        opentelemetry::global::get_text_map_propagator(|p| p.inject_context(&cx, &mut carrier));
        if let Some(tp) = carrier
            .0
            .remove("traceparent")
            .filter(|t| is_traceparent(t))
        {
            return Some(tp);
        }
    }
    headers
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| is_traceparent(t))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::is_traceparent;

    #[test]
    fn traceparents_are_checked() {
        assert!(is_traceparent(
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        ));
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert!(!is_traceparent(bad), "{bad}");
        }
    }
}
