//! The job object the API returns, and how a job ended.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::attempt::Usage;
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
    /// Whether a cancel was requested and not yet carried out.
    pub cancel_requested: bool,
    /// How many times an infrastructure error sent the job back to the queue.
    pub requeues: u32,
    /// How many times a worker stopped working on the job without giving it back (crashed,
    /// killed, or cut off until its lease expired), as counted when the job was taken over.
    #[serde(default)]
    pub lease_losses: u32,
}
