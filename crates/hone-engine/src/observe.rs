//! What the engine tells Prometheus (through the `metrics` facade; names in
//! [`hone_domain::metric`]): model calls, sandbox runs, iterations, and how jobs end or go
//! back to the queue.

use std::time::Duration;

use hone_domain::metric;
use hone_domain::{Language, ModelCall, OutcomeReason};

/// A model call that answered (`Ok`) or failed (`Err`), and how long it took.
pub fn model_call(
    provider: &str,
    model: &str,
    role: &'static str,
    result: Result<&ModelCall, ()>,
    took: Duration,
) {
    let outcome = if result.is_ok() { "ok" } else { "error" };
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

/// A job sent back to the queue.
pub fn requeued() {
    metrics::counter!(metric::REQUEUES).increment(1);
}

/// A job whose lease this worker found lost.
pub fn lease_lost() {
    metrics::counter!(metric::LEASES_LOST).increment(1);
}
