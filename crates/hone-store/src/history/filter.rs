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
