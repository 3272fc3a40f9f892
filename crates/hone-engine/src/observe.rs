//! What the engine tells operators: Prometheus metrics (through the `metrics` facade; names
//! in [`hone_domain::metric`]) of model calls, sandbox runs, iterations and how jobs end or
//! go back to the queue; and the spans of a job run, parented on the trace the job was
//! submitted in (its stored W3C `traceparent`), exported when the binary installed an
//! OpenTelemetry exporter.

use std::time::Duration;

use hone_domain::metric;
use hone_domain::{JobId, Language, ModelCall, OutcomeReason};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

struct TraceParent<'a>(&'a str);

impl Extractor for TraceParent<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        (key == "traceparent").then_some(self.0)
    }

    fn keys(&self) -> Vec<&str> {
        vec!["traceparent"]
    }
}

/// The span of one job run, a child of the submission's trace when there is one.
pub fn job_span(job: JobId, language: Language, trace_parent: Option<&str>) -> Span {
    let span = tracing::info_span!("job.run", job.id = %job, job.language = language.as_str());
    if let Some(tp) = trace_parent {
        let cx = opentelemetry::global::get_text_map_propagator(|p| p.extract(&TraceParent(tp)));
        if cx.span().span_context().is_valid() {
            let _ = span.set_parent(cx);
        }
    }
    span
}

/// The span of one model call, with the OpenTelemetry `gen_ai.*` attributes; the usage is
/// recorded by [`model_call`].
pub fn chat_span(provider: &str, model: &str, role: &'static str, temperature: f64) -> Span {
    tracing::info_span!(
        "chat",
        otel.name = %format!("chat {model}"),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = provider,
        gen_ai.system = provider,
        gen_ai.request.model = model,
        gen_ai.request.temperature = temperature,
        hone.role = role,
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// The span of one sandbox run; its status is recorded by [`sandbox_run`].
pub fn sandbox_span(language: Language) -> Span {
    tracing::info_span!(
        "sandbox.run",
        hone.language = language.as_str(),
        hone.run.status = tracing::field::Empty,
    )
}

/// A model call that answered (`Ok`) or failed (`Err`), and how long it took. `model` is the
/// model's label (the price table's name for it, or `other`), never a client's string.
pub fn model_call(
    provider: &str,
    model: &str,
    role: &'static str,
    result: Result<&ModelCall, ()>,
    took: Duration,
) {
    let outcome = if result.is_ok() { "ok" } else { "error" };
    let span = Span::current();
    match result {
        Ok(call) => {
            // As i64: the OpenTelemetry layer drops u64 values.
            let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
            span.record("gen_ai.usage.input_tokens", n(call.usage.prompt_tokens));
            span.record(
                "gen_ai.usage.output_tokens",
                n(call.usage.completion_tokens),
            );
        }
        Err(()) => {
            span.record("error.type", "model_error");
        }
    }
    metrics::histogram!(metric::MODEL_CALL_SECONDS, "provider" => provider.to_owned(),
        "model" => model.to_owned(), "role" => role, "outcome" => outcome)
    .record(took.as_secs_f64());
    if let Ok(call) = result {
        metrics::counter!(metric::TOKENS, "model" => model.to_owned(), "role" => role,
            "kind" => "prompt")
        .increment(call.usage.prompt_tokens);
        metrics::counter!(metric::TOKENS, "model" => model.to_owned(), "role" => role,
            "kind" => "completion")
        .increment(call.usage.completion_tokens);
    }
}

/// A sandbox run that ended with `status` (`"error"` when the sandbox itself failed).
pub fn sandbox_run(language: Language, status: &'static str, took: Duration) {
    Span::current().record("hone.run.status", status);
    metrics::histogram!(metric::SANDBOX_RUN_SECONDS, "language" => language.as_str(),
        "status" => status)
    .record(took.as_secs_f64());
}

/// An iteration that ran to its end.
pub fn iteration(language: Language, took: Duration) {
    metrics::histogram!(metric::ITERATION_SECONDS, "language" => language.as_str())
        .record(took.as_secs_f64());
}

/// A job this worker ended.
pub fn finished(reason: OutcomeReason) {
    metrics::counter!(metric::JOBS_FINISHED, "outcome" => reason.as_str()).increment(1);
}

/// A job's first attempt ran: whether its code passed the tests.
pub fn first_attempt(passed: bool) {
    let result = if passed { "passed" } else { "failed" };
    metrics::counter!(metric::FIRST_ATTEMPTS, "result" => result).increment(1);
}

/// A job sent back to the queue.
pub fn requeued() {
    metrics::counter!(metric::REQUEUES).increment(1);
}

/// A job whose lease this worker found lost.
pub fn lease_lost() {
    metrics::counter!(metric::LEASES_LOST).increment(1);
}
