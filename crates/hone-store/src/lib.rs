//! hone's storage boundary. [`Store`] names what the application does with its data
//! (`enqueue_job`, `claim_jobs`, `record_execution`, ...), one method per operation, so the
//! engine and the API never see SQL. `hone-store-sql` implements it once for both
//! databases; each backend crate (`hone-store-sqlite`, `hone-store-postgres`) runs the
//! [`conformance`] suite against its database.
//!
//! Rules every backend keeps:
//! - every state change is one transaction, guarded by the expected current state, so two
//!   workers can never both win;
//! - every change a client can observe appends an event in the same transaction;
//! - each step of an attempt is written once; a second write fails with
//!   [`StoreError::StepExists`].

mod audit;
mod error;
mod filter;
mod paging;
mod params;
mod repair;
mod serving;
mod stats;
mod webhooks;

mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;
use hone_domain::{Attempt, Event, Job, JobId, KeyId, TenantId, Timestamp};

pub use audit::{Actor, AuditAction, AuditEntry, AuditPage};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{StoreError, UnknownName};
pub use filter::{BulkCancel, JobFilter, QueueStats};
pub use paging::*;
pub use params::*;
pub use repair::*;
pub use serving::*;
pub use stats::*;
pub use webhooks::*;

/// Everything hone persists, behind one trait so SQLite and Postgres are interchangeable.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The backend's name (`sqlite`, `postgres`), for logs and readiness.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers and is migrated.
    async fn ping(&self) -> Result<(), StoreError>;

    // ----- client side -------------------------------------------------------------------

    /// Stores a new job with its `job.queued` event, or finds the job of the same
    /// idempotency key.
    async fn enqueue_job(&self, job: NewJob) -> Result<Enqueued, StoreError>;

    /// Stores jobs with their `job.queued` events in one transaction, all or none, or finds
    /// the batch of the same idempotency key.
    async fn enqueue_batch(&self, batch: NewBatch) -> Result<EnqueuedBatch, StoreError>;

    /// One job of the tenant.
    async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError>;

    /// The tenant's jobs, newest first.
    async fn list_jobs(&self, tenant: &TenantId, query: ListJobs) -> Result<JobPage, StoreError>;

    /// Aggregates over the tenant's jobs created in the query's window.
    async fn stats(&self, tenant: &TenantId, query: StatsQuery) -> Result<Stats, StoreError>;

    /// The repair figures of the tenant's decided jobs created in `[since, until)`, one
    /// group per actor model and language, most jobs first.
    async fn repair_stats(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<RepairGroup>, StoreError>;

    /// How many finished jobs (every tenant) ended before `cut`.
    async fn count_prunable(&self, cut: Timestamp) -> Result<u64, StoreError>;

    /// Deletes up to `limit` finished jobs (every tenant) that ended before `cut`, with their
    /// attempts, events, webhook deliveries, tags and labels, in one short transaction;
    /// returns how many. Call it again until it returns less than `limit`.
    async fn prune_batch(&self, cut: Timestamp, limit: u32) -> Result<u64, StoreError>;

    /// The queue's depth, its oldest job and the webhook backlog, in one query.
    async fn queue_stats(&self) -> Result<QueueStats, StoreError>;

    /// Records that worker `id` is alive and serves `serves` (each worker every few
    /// seconds); rows of workers unseen for a day are dropped meanwhile.
    async fn worker_alive(&self, id: &str, serves: &Serves) -> Result<(), StoreError>;

    /// What the workers seen at or after `since` serve.
    async fn live_workers(&self, since: Timestamp) -> Result<Vec<Serves>, StoreError>;

    /// What the queued jobs need, grouped: language and providers, with their count.
    async fn queued_needs(&self) -> Result<Vec<QueuedNeed>, StoreError>;

    /// Cancels every queued job of the tenant passing `filter` and asks the workers of every
    /// running one to stop; finished jobs are left alone.
    async fn cancel_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
    ) -> Result<BulkCancel, StoreError>;

    /// Every attempt of a job, in order. `None` if the job does not exist for the tenant.
    async fn list_attempts(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Attempt>>, StoreError>;

    /// The attempts of every listed job the tenant has, in order of job then iteration, each
    /// with its job's id: the exports read a page of jobs' attempts at once. Each run comes
    /// without its output (`stdout` and `stderr` empty, no per-case results) and no attempt
    /// with its candidates, so what the programs printed costs the reader nothing. Ids of
    /// jobs the tenant does not have read nothing.
    async fn attempts_of_jobs(
        &self,
        tenant: &TenantId,
        ids: &[JobId],
    ) -> Result<Vec<(JobId, Attempt)>, StoreError>;

    /// Stores a repaired job's lesson (a second one for the same job is ignored).
    async fn add_lesson(&self, lesson: NewLesson) -> Result<(), StoreError>;

    /// The tenant's lessons of `language` most similar to `task` (full-text ranking over
    /// their tasks and texts), best first, at most `limit`.
    async fn find_lessons(
        &self,
        tenant: &TenantId,
        language: hone_domain::Language,
        task: &str,
        limit: usize,
    ) -> Result<Vec<hone_domain::lesson::Lesson>, StoreError>;

    /// A page of a job's events. `None` if the job does not exist.
    async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        page: EventsPage,
    ) -> Result<Option<Vec<Event>>, StoreError>;

    /// Cancels a queued job at once, or asks the worker of a running one to stop.
    async fn request_cancel(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<CancelOutcome, StoreError>;

    // ----- worker side -------------------------------------------------------------------

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

    /// Subscribes to the store's signals. Signals may be lost (a dropped connection, a slow
    /// listener); listeners must also poll.
    async fn listen(&self) -> Result<tokio::sync::mpsc::Receiver<Signal>, StoreError>;

    /// Gives a running job back to the queue at once, without counting it as a failure
    /// (`job.requeued`, reason given): a worker shutting down releases its leases so another
    /// worker resumes the jobs without waiting for the leases to expire.
    async fn release_job(&self, lease: &Lease, reason: &str) -> Result<(), StoreError>;

    /// Puts a running job back in the queue after an infrastructure error (`job.requeued`),
    /// runnable again after the delay. Returns how many times the job has been requeued so far.
    async fn requeue_job(&self, lease: &Lease, requeue: Requeue<'_>) -> Result<u32, StoreError>;

    // ----- live events ---------------------------------------------------------------------

    /// Subscribes to "an event was committed" signals, across processes where the backend can.
    /// Signals may be lost; after [`EventSignal::Resync`] listeners re-read.
    async fn listen_events(&self) -> Result<tokio::sync::mpsc::Receiver<EventSignal>, StoreError>;

    /// A page of any tenant's job events, with their owner: for
    /// the process-wide hub that fans events out to SSE clients (which check the tenant).
    async fn read_events(
        &self,
        job: JobId,
        page: EventsPage,
    ) -> Result<Vec<TenantEvent>, StoreError>;

    // ----- webhooks --------------------------------------------------------------------------

    /// The tenant's signing secrets that sign now: the current one first, then rotated-out
    /// ones still in their overlap window. Stores `candidate` as the current secret if the
    /// tenant has none yet.
    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
        candidate: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError>;

    /// Makes the rotation's secret the tenant's current one (recording `webhook_secret.rotated`); the old current one keeps
    /// signing for `overlap_ms` more, and beyond `max_active` signing secrets the oldest are
    /// retired at once. Returns the secrets that sign now, as [`Store::webhook_secrets`].
    async fn rotate_webhook_secret(
        &self,
        tenant: &TenantId,
        rotation: RotateSecret,
    ) -> Result<Vec<WebhookSecret>, StoreError>;

    /// Leases up to `claim.limit` due outbox rows (pending, next try due, lease free or
    /// expired) to `claim.worker` for `claim.lease_ms`, oldest due first.
    async fn claim_deliveries(
        &self,
        claim: ClaimDeliveries,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Records one try and moves the outbox row on, in one transaction, if `worker` still
    /// holds its lease (else [`StoreError::DeliveryLeaseLost`]).
    async fn record_delivery(&self, delivery: &DeliveryTry) -> Result<(), StoreError>;

    /// Every recorded try of the job's webhooks, oldest first. `None` if no such job.
    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Delivery>>, StoreError>;

    // ----- quotas ------------------------------------------------------------------------------

    /// Sets a tenant's quotas (checked by [`Store::enqueue_job`] and [`Store::enqueue_batch`],
    /// which answer [`Enqueued::OverQuota`]). `false` if no such tenant.
    async fn set_quotas(&self, tenant: &TenantId, quotas: TenantQuotas)
    -> Result<bool, StoreError>;

    /// The quotas and usage of `tenant`, or of every tenant.
    async fn tenant_usage(&self, tenant: Option<&TenantId>)
    -> Result<Vec<TenantUsage>, StoreError>;

    /// The tenant's daily token or spend quota that today's usage reached, if one did
    /// (running jobs stop then).
    async fn daily_quota_spent(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<QuotaExceeded>, StoreError>;

    // ----- API keys ---------------------------------------------------------------------------

    /// Stores a key (and its tenant, if new), with its `key.created` audit entry.
    async fn create_key(&self, key: NewKey) -> Result<KeyInfo, StoreError>;

    /// Stores `key` only if the database holds no key at all (the first run's admin key),
    /// once however many processes try at the same time. `None` if a key exists.
    async fn create_first_key(&self, key: NewKey) -> Result<Option<KeyInfo>, StoreError>;

    /// Records when keys were last used (the API batches them: no write per request); a
    /// time earlier than the recorded one changes nothing.
    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError>;

    /// The key whose SHA-256 is `hash`, revoked and expired ones included (the caller
    /// decides, with [`KeyInfo::usable_at`]).
    async fn find_key(&self, hash: &str) -> Result<Option<KeyInfo>, StoreError>;

    /// The keys of `tenant`, or of every tenant, oldest first.
    async fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<KeyInfo>, StoreError>;

    /// Revokes key `id` (within `tenant`, when given), recording `key.revoked` by `by` when
    /// it was not revoked yet. `None` if no such key there; a key revoked before keeps its
    /// first revocation time.
    async fn revoke_key(
        &self,
        tenant: Option<&TenantId>,
        id: KeyId,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError>;

    /// Sets key `id`'s own rate budgets (the operator's), recording `key.rates_set` by `by`.
    /// `None` if no such key.
    async fn set_key_rates(
        &self,
        id: KeyId,
        rates: KeyRates,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError>;

    /// A page of the tenant's audit log, newest first.
    async fn list_audit(
        &self,
        tenant: &TenantId,
        page: AuditPage,
    ) -> Result<Vec<AuditEntry>, StoreError>;
}
