//! [`JobFilter`]: which jobs a history query, a bulk cancel or a stats query covers. Each
//! field narrows the set; the fields combine with AND.

use hone_domain::{JobId, JobStatus, Language, OutcomeReason, Timestamp};

/// Which of a tenant's jobs to take. The default takes all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    /// In any of these statuses (none: any status).
    pub statuses: Vec<JobStatus>,
    /// Ended for any of these reasons (none: any, finished or not).
    pub reasons: Vec<OutcomeReason>,
    /// In any of these languages.
    pub languages: Vec<Language>,
    /// Whose actor is any of these models.
    pub models: Vec<String>,
    /// Carrying every one of these tags.
    pub tags: Vec<String>,
    /// Carrying every one of these metadata entries.
    pub metadata: Vec<(String, String)>,
    /// Created at or after this time.
    pub created_after: Option<Timestamp>,
    /// Created before this time.
    pub created_before: Option<Timestamp>,
    /// Whose task matches these words (full-text search: every word, stemmed).
    pub text: Option<String>,
    /// Re-runs of this job.
    pub retry_of: Option<JobId>,
    /// That ran at least this many iterations.
    pub min_iterations: Option<u32>,
    /// That ran at most this many iterations.
    pub max_iterations: Option<u32>,
}

impl JobFilter {
    /// Only jobs in `status`.
    pub fn status(status: JobStatus) -> Self {
        Self {
            statuses: vec![status],
            ..Self::default()
        }
    }
}

/// What a bulk cancel did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkCancel {
    /// Queued jobs cancelled at once.
    pub cancelled: u64,
    /// Running jobs whose workers were told to stop.
    pub requested: u64,
}

/// The queue as the metrics exporter reads it (every tenant).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Jobs waiting for a worker.
    pub queued: u64,
    /// Jobs a worker holds.
    pub running: u64,
    /// When the oldest queued job was submitted.
    pub oldest_queued: Option<hone_domain::Timestamp>,
    /// Webhook deliveries waiting for their (next) try.
    pub webhook_backlog: u64,
}
