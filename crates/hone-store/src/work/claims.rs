//! Claiming and holding jobs: the worker's request, the lease every worker-side write names,
//! what a heartbeat answers, the store's signals, and a job sent back to the queue.

use hone_domain::{Job, JobId, TenantId};

use crate::Serves;

/// A worker's request for work.
#[derive(Debug, Clone, Default)]
pub struct ClaimJobs {
    /// The worker's id, written into the lease.
    pub worker: String,
    /// How many jobs at most.
    pub limit: u32,
    /// How long the lease lasts unless renewed.
    pub lease_ms: u64,
    /// At most this many running jobs per tenant (counting those already running), so one
    /// tenant cannot starve the rest; `None`: no cap. Exact for one worker; concurrent claims
    /// by several workers may overshoot by their batch sizes.
    pub per_tenant: Option<u32>,
    /// Only jobs this worker can serve (language and providers); `None`: any job.
    pub serves: Option<Serves>,
}

/// The right to write a job's steps: every worker-side write names it and fails with
/// [`crate::StoreError::LeaseLost`] once it is no longer held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The job.
    pub job: JobId,
    /// The worker that holds it.
    pub worker: String,
}

/// A job handed to a worker.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The job as it is now (status `running`).
    pub job: Job,
    /// Its owner, for the reads the worker makes.
    pub tenant: TenantId,
    /// The lease to write with.
    pub lease: Lease,
    /// The W3C `traceparent` the job was submitted with.
    pub trace_parent: Option<String>,
}

/// What a heartbeat tells the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobControl {
    /// A client asked to cancel the job.
    pub cancel_requested: bool,
}

/// What a store tells its listeners, across processes where the backend can (Postgres
/// `LISTEN/NOTIFY`), within the process otherwise (SQLite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A job was queued: workers should claim.
    JobQueued,
    /// A client asked to cancel this running job: its worker should stop it now.
    CancelRequested(JobId),
}

/// A job sent back to the queue after an infrastructure error ([`crate::Work::requeue_job`]).
#[derive(Debug, Clone, Copy)]
pub struct Requeue<'a> {
    /// Why, as the `job.requeued` event says.
    pub reason: &'a str,
    /// How long until the job is claimable again.
    pub delay_ms: u64,
}
