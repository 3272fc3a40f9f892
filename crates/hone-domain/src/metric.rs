//! The names of hone's Prometheus metrics, shared by every crate that records one (through
//! the `metrics` facade) and by the exporter that describes them. Names follow Prometheus's
//! conventions: `hone_` prefix, base units, `_total` for counters, `_seconds` for durations.

/// Counter: jobs accepted by `POST /v1/jobs` and `/v1/jobs/batch` (replays not counted).
pub const JOBS_SUBMITTED: &str = "hone_jobs_submitted_total";
/// Counter: jobs that ended, by `outcome` (the outcome reason).
pub const JOBS_FINISHED: &str = "hone_jobs_finished_total";
/// Histogram: one iteration (actor, run, critic), by `language`.
pub const ITERATION_SECONDS: &str = "hone_iteration_duration_seconds";
/// Histogram: one model call, by `provider`, `model`, `role` (actor, critic) and `outcome`
/// (ok, error).
pub const MODEL_CALL_SECONDS: &str = "hone_model_call_duration_seconds";
/// Counter: model tokens, by `model`, `role` and `kind` (prompt, completion).
pub const TOKENS: &str = "hone_model_tokens_total";
/// Histogram: one sandbox run, by `language` and `status` (the execution status).
pub const SANDBOX_RUN_SECONDS: &str = "hone_sandbox_run_duration_seconds";
/// Counter: jobs an infrastructure error sent back to the queue.
pub const REQUEUES: &str = "hone_job_requeues_total";
/// Counter: jobs a worker found it had lost (its lease expired or was taken over).
pub const LEASES_LOST: &str = "hone_job_leases_lost_total";
/// Counter: webhook delivery tries, by `result` (delivered, pending, failed, gone, refused).
pub const WEBHOOK_DELIVERIES: &str = "hone_webhook_deliveries_total";
/// Gauge: open server-sent-event streams.
pub const SSE_CLIENTS: &str = "hone_sse_clients";
/// Gauge: queued jobs, every tenant (read from the database).
pub const QUEUE_DEPTH: &str = "hone_queue_depth";
/// Gauge: seconds since the oldest queued job was submitted (0 when none is queued).
pub const QUEUE_OLDEST_AGE: &str = "hone_queue_oldest_age_seconds";
/// Gauge: running jobs, every worker (read from the database).
pub const JOBS_RUNNING: &str = "hone_jobs_running";
/// Gauge: webhook deliveries waiting for a try (read from the database).
pub const WEBHOOK_BACKLOG: &str = "hone_webhook_backlog";
/// Gauge: queued jobs no running worker can serve (a language's runtime or a model provider
/// that no live worker has).
pub const QUEUE_UNSERVED: &str = "hone_queue_unserved";

/// Gauge: always 1, with the running version in its `version` label.
pub const BUILD_INFO: &str = "hone_build_info";
/// Counter, `result` (`passed`, `failed`): jobs' first attempts by whether the code passed
/// its tests (with jobs finished by outcome, the repair lift).
pub const FIRST_ATTEMPTS: &str = "hone_first_attempts_total";

/// Every metric with its kind and help text, for the exporter's `# HELP` lines.
pub const ALL: [(&str, Kind, &str); 17] = [
    (JOBS_SUBMITTED, Kind::Counter, "Jobs accepted by the API."),
    (
        JOBS_FINISHED,
        Kind::Counter,
        "Jobs that ended, by outcome reason.",
    ),
    (
        ITERATION_SECONDS,
        Kind::Histogram,
        "Duration of one iteration.",
    ),
    (
        MODEL_CALL_SECONDS,
        Kind::Histogram,
        "Duration of one model call.",
    ),
    (TOKENS, Kind::Counter, "Model tokens used."),
    (
        SANDBOX_RUN_SECONDS,
        Kind::Histogram,
        "Duration of one sandbox run.",
    ),
    (
        REQUEUES,
        Kind::Counter,
        "Jobs sent back to the queue by an infrastructure error.",
    ),
    (
        LEASES_LOST,
        Kind::Counter,
        "Jobs whose worker lost its lease.",
    ),
    (
        WEBHOOK_DELIVERIES,
        Kind::Counter,
        "Webhook delivery tries, by result.",
    ),
    (SSE_CLIENTS, Kind::Gauge, "Open server-sent-event streams."),
    (QUEUE_DEPTH, Kind::Gauge, "Queued jobs, every tenant."),
    (
        QUEUE_OLDEST_AGE,
        Kind::Gauge,
        "Age of the oldest queued job, in seconds.",
    ),
    (
        JOBS_RUNNING,
        Kind::Gauge,
        "Jobs a worker holds, every worker.",
    ),
    (
        WEBHOOK_BACKLOG,
        Kind::Gauge,
        "Webhook deliveries waiting for a try.",
    ),
    (
        QUEUE_UNSERVED,
        Kind::Gauge,
        "Queued jobs no running worker can serve.",
    ),
    (BUILD_INFO, Kind::Gauge, "Always 1; the version in a label."),
    (
        FIRST_ATTEMPTS,
        Kind::Counter,
        "Jobs' first attempts, by whether the code passed its tests.",
    ),
];

/// A metric's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up.
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in buckets.
    Histogram,
}
