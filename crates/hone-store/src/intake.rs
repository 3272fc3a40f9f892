//! The [`Intake`] topic of the store: taking jobs in, one or a batch, idempotently and
//! within the tenant's quotas, and cancelling them; with its parameter types.

use async_trait::async_trait;
use hone_domain::{Job, JobId, JobSpec, JobStatus, TenantId};

use crate::{JobFilter, QuotaExceeded, StoreError};

/// Taking jobs in: one or a batch, idempotently and within the tenant's quotas, and cancelling
/// them.
#[async_trait]
pub trait Intake: Send + Sync + 'static {
    /// Stores a new job with its `job.queued` event, or finds the job of the same
    /// idempotency key.
    async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError>;

    /// Stores jobs with their `job.queued` events in one transaction, all or none, or finds
    /// the batch of the same idempotency key.
    async fn enqueue_batch(&self, batch: NewBatch) -> Result<EnqueuedBatch, StoreError>;

    /// Cancels a queued job at once, or asks the worker of a running one to stop.
    async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<CancelOutcome, StoreError>;

    /// Cancels every queued job of the tenant passing `filter` and asks the workers of every
    /// running one to stop; finished jobs are left alone.
    async fn cancel_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
    ) -> Result<BulkCancel, StoreError>;
}

/// A job to store.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Its id, chosen by the caller (UUID v7).
    pub id: JobId,
    /// Its owner.
    pub tenant: TenantId,
    /// The validated spec.
    pub spec: JobSpec,
    /// The client's `Idempotency-Key` and a fingerprint of the request body.
    pub idempotency: Option<Idempotency>,
    /// The job this one re-runs, if it is a retry.
    pub retry_of: Option<JobId>,
    /// The W3C `traceparent` of the submission, to parent the job's spans on.
    pub trace_parent: Option<String>,
}

/// An idempotency key and the fingerprint of the request it came with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The client's key (scoped to the tenant).
    pub key: String,
    /// A hash of the request body.
    pub fingerprint: String,
}

/// Jobs to store together ([`crate::Intake::enqueue_batch`]): all or none.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// Their owner.
    pub tenant: TenantId,
    /// The jobs, in the order the client listed them (their `idempotency` is not used).
    pub jobs: Vec<NewJob>,
    /// The client's `Idempotency-Key` for the whole batch and the request's fingerprint.
    pub idempotency: Option<Idempotency>,
}

/// What [`crate::Intake::enqueue_batch`] did: the ids, in order.
pub type EnqueuedBatch = Enqueued<Vec<JobId>>;

/// What [`crate::Intake::enqueue_job`] (a [`Job`]) or [`crate::Intake::enqueue_batch`]
/// ([`EnqueuedBatch`]) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued<T = Job> {
    /// Newly stored.
    Created(T),
    /// The key was used before with the same fingerprint: what the first request stored.
    Existing(T),
    /// The key was used before with another fingerprint.
    KeyReused,
    /// Another request with the key is being stored right now.
    KeyInFlight,
    /// Storing it would exceed one of the tenant's quotas; nothing was stored.
    OverQuota(QuotaExceeded),
}

/// What [`crate::Intake::request_cancel`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was queued and is now cancelled.
    Cancelled,
    /// The job is running; its worker will stop it.
    Requested,
    /// The job had already ended in this status.
    AlreadyFinished(JobStatus),
    /// No such job for the tenant.
    NotFound,
}

/// What a bulk cancel did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkCancel {
    /// Queued jobs cancelled at once.
    pub cancelled: u64,
    /// Running jobs whose workers were told to stop.
    pub requested: u64,
}

impl NewJob {
    /// Job `id` of `tenant` with `spec`: no idempotency key, not a retry, no trace.
    pub fn new(id: JobId, tenant: TenantId, spec: JobSpec) -> Self {
        Self {
            id,
            tenant,
            spec,
            idempotency: None,
            retry_of: None,
            trace_parent: None,
        }
    }

    /// The job as it is right after [`crate::Intake::enqueue_job`] stored it at `now`.
    pub fn queued(&self, now: hone_domain::Timestamp) -> Job {
        Job {
            id: self.id,
            status: JobStatus::Queued,
            created_at: now,
            started_at: None,
            finished_at: None,
            iterations: 0,
            outcome: None,
            usage: hone_domain::Usage::default(),
            metadata: self.spec.metadata.clone(),
            tags: self.spec.tags.clone(),
            retry_of: self.retry_of,
            retried_as: None,
            spec: self.spec.clone(),
            cancel_requested: false,
            requeues: 0,
            lease_losses: 0,
            waiting_for: None,
        }
    }
}
