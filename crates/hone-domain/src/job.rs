//! The job object the API returns, and how a job ended.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::cost::Usage;
use crate::ids::JobId;
use crate::spec::JobSpec;
use crate::status::JobStatus;
use crate::timestamp::Timestamp;

/// Why a job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeReason {
    /// An attempt passed the acceptance policy.
    Accepted,
    /// `max_iterations` attempts were made without acceptance.
    MaxIterations,
    /// The token or time budget ran out.
    BudgetExhausted,
    /// A client cancelled the job.
    Cancelled,
    /// An error outside the code's control ended it (a fatal provider answer, ...).
    Error,
    /// Consecutive iterations kept failing the same way.
    NoProgress,
}

impl OutcomeReason {
    /// Every reason.
    pub const ALL: [OutcomeReason; 6] = [
        Self::Accepted,
        Self::MaxIterations,
        Self::BudgetExhausted,
        Self::Cancelled,
        Self::Error,
        Self::NoProgress,
    ];

    /// Its name on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::MaxIterations => "max_iterations",
            Self::BudgetExhausted => "budget_exhausted",
            Self::Cancelled => "cancelled",
            Self::Error => "error",
            Self::NoProgress => "no_progress",
        }
    }

    /// The reason named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// How a job ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Why.
    pub reason: OutcomeReason,
    /// The accepted iteration, on success.
    pub accepted_iteration: Option<u32>,
    /// The accepted code, or a failed job's best attempt.
    pub code: Option<String>,
    /// A human-readable explanation.
    pub message: Option<String>,
}

/// A job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Its id.
    pub id: JobId,
    /// Where it is.
    pub status: JobStatus,
    /// When it was submitted.
    pub created_at: Timestamp,
    /// When a worker first claimed it.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// Iterations begun so far.
    pub iterations: u32,
    /// How it ended, once it has.
    pub outcome: Option<Outcome>,
    /// Tokens used by all its model calls.
    pub usage: Usage,
    /// The spec as stored, defaults filled in.
    pub spec: JobSpec,
    /// The client's labels (also inside `spec`; repeated here for dashboards).
    pub metadata: BTreeMap<String, String>,
    /// The client's tags (also inside `spec`; repeated here for dashboards).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The job this one re-runs (`POST /v1/jobs/{id}/retry`).
    #[serde(default)]
    pub retry_of: Option<JobId>,
    /// The newest job that re-runs this one.
    #[serde(default)]
    pub retried_as: Option<JobId>,
    /// Whether a cancel was requested and not yet carried out.
    pub cancel_requested: bool,
    /// How many times an infrastructure error sent the job back to the queue.
    pub requeues: u32,
    /// How many times a worker stopped working on the job without giving it back (crashed,
    /// killed, or cut off until its lease expired), as counted when the job was taken over.
    #[serde(default)]
    pub lease_losses: u32,
    /// For a queued job no running worker can serve: what it waits for (a language's
    /// runtime, a model provider). Filled in by the API when it answers; never stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}
