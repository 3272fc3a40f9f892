//! What `GET /v1/stats` asks for and what the store answers: aggregates over one tenant's
//! jobs created in a window (and the attempts started in it), computed by the database.

use hone_domain::Timestamp;

/// The width of a time-series bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// One hour.
    Hour,
    /// One UTC day.
    Day,
}

impl Bucket {
    /// Its width in milliseconds.
    pub fn millis(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
        }
    }
}

/// What the per-group figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// The actor's model.
    Model,
    /// The code's language.
    Language,
    /// Each tag (a job with two tags counts in both groups).
    Tag,
}

/// A stats request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatsQuery {
    /// Jobs created at or after this time.
    pub since: Timestamp,
    /// Jobs created before this time.
    pub until: Timestamp,
    /// The series' bucket width.
    pub bucket: Bucket,
    /// Per-group figures, if wanted.
    pub group_by: Option<GroupBy>,
}

/// Jobs counted by how they stand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// All of them.
    pub jobs: u64,
    /// Queued.
    pub queued: u64,
    /// Running.
    pub running: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
    /// Tokens of every model call.
    pub tokens: u64,
}

/// Nearest-rank percentiles of a duration, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    /// The median.
    pub p50: Option<u64>,
    /// The 95th percentile.
    pub p95: Option<u64>,
}

/// Tokens of one model in one role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    /// The model.
    pub model: String,
    /// `actor` or `critic`.
    pub role: &'static str,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

/// The answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every job in the window.
    pub totals: Counts,
    /// Finished jobs by outcome reason, most first.
    pub outcomes: Vec<(String, u64)>,
    /// Decided jobs (succeeded or failed) whose first attempt's run passed its tests.
    pub first_attempt_passed: u64,
    /// Succeeded jobs by the iterations they took, fewest first.
    pub iterations_to_success: Vec<(u32, u64)>,
    /// From first claim to end, of finished jobs that started.
    pub duration_ms: Percentiles,
    /// From submission to first claim, of jobs that started.
    pub queue_wait_ms: Percentiles,
    /// Tokens by model and role (attempts started in the window), most first.
    pub tokens: Vec<TokenUse>,
    /// The ten most frequent traceback error types (attempts started in the window).
    pub top_errors: Vec<(String, u64)>,
    /// Critique issues by severity (attempts started in the window).
    pub severities: Vec<(String, u64)>,
    /// Critique issues by category (attempts started in the window).
    pub categories: Vec<(String, u64)>,
    /// Counts per bucket, oldest first: `(bucket start, counts)`; empty buckets left out.
    pub series: Vec<(Timestamp, Counts)>,
    /// Counts per group, most jobs first (when grouped).
    pub groups: Vec<(String, Counts)>,
}
