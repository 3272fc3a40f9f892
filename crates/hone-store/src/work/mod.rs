//! The [`Work`] topic of the store, the workers' side: claiming jobs under a lease, writing
//! each step of an attempt, ending or requeueing a job, and the queue the workers serve; its
//! parameter types are beside it.

use async_trait::async_trait;
use hone_domain::Timestamp;

use crate::StoreError;

/// The workers' side: claiming jobs under a lease, writing each step of an attempt, ending or
/// requeueing a job, and the queue the workers serve.
#[async_trait]
pub trait Work: Send + Sync + 'static {
    /// Takes up to `limit` runnable jobs (queued and due, or running with an expired lease),
    /// highest priority then oldest first, and leases them to the worker.
    async fn claim_jobs(&self, claim: ClaimJobs) -> Result<Vec<Claimed>, StoreError>;

    /// Extends the lease and reports whether a cancel was requested.
    async fn heartbeat(&self, lease: &Lease, lease_ms: u64) -> Result<JobControl, StoreError>;

    /// Opens iteration `iteration` (`attempt.started`).
    async fn start_attempt(&self, lease: &Lease, iteration: u32) -> Result<(), StoreError>;

    /// Stores the actor's code and adds its usage to the job (`attempt.code`).
    async fn record_actor_output(
        &self,
        lease: &Lease,
        output: ActorOutput<'_>,
    ) -> Result<(), StoreError>;

    /// Stores the sandbox run (`attempt.executed`).
    async fn record_execution(
        &self,
        lease: &Lease,
        run: ExecutionRecord<'_>,
    ) -> Result<(), StoreError>;

    /// Stores the critique and adds the critic's usage to the job (`attempt.critiqued`).
    async fn record_critique(
        &self,
        lease: &Lease,
        review: CritiqueRecord<'_>,
    ) -> Result<(), StoreError>;

    /// Stores the iteration's decision and its feedback (`attempt.finished`).
    async fn finish_attempt(
        &self,
        lease: &Lease,
        decision: AttemptDecision<'_>,
    ) -> Result<(), StoreError>;

    /// Ends the job (`job.succeeded`, `job.failed` or `job.cancelled`) and releases the lease.
    async fn finish_job(&self, lease: &Lease, finish: FinishJob) -> Result<(), StoreError>;

    /// Gives a running job back to the queue at once, without counting it as a failure
    /// (`job.requeued`, reason given): a worker shutting down releases its leases so another
    /// worker resumes the jobs without waiting for the leases to expire.
    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError>;

    /// Puts a running job back in the queue after an infrastructure error (`job.requeued`),
    /// runnable again after the delay. Returns how many times the job has been requeued so far.
    async fn requeue_job(&self, lease: &Lease, requeue: Requeue<'_>) -> Result<u32, StoreError>;

    /// Subscribes to the store's signals. Signals may be lost (a dropped connection, a slow
    /// listener); listeners must also poll.
    async fn listen(&self) -> Result<tokio::sync::mpsc::Receiver<Signal>, StoreError>;

    /// Records that worker `id` is alive and serves `serves` (each worker every few
    /// seconds); rows of workers unseen for a day are dropped meanwhile.
    async fn worker_alive(&self, id: &str, serves: &Serves) -> Result<(), StoreError>;

    /// What the workers seen at or after `since` serve.
    async fn live_workers(&self, since: Timestamp) -> Result<Vec<Serves>, StoreError>;

    /// What the queued jobs need, grouped: language and providers, with their count.
    async fn queued_needs(&self) -> Result<Vec<QueuedNeed>, StoreError>;

    /// The queue's depth, its oldest job and the webhook backlog, in one query.
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;
}

mod claims;
mod serving;
mod steps;

pub use claims::*;
pub use serving::*;
pub use steps::*;
