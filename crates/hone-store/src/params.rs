//! The parameter and result types of [`crate::Store`]'s methods.

use hone_domain::apikey::Scope;
use hone_domain::{
    AttemptStatus, Critique, Execution, Feedback, Job, JobId, JobSpec, JobStatus, KeyId, ModelCall,
    Outcome, TenantId, Timestamp,
};

/// A repaired job's lesson to store ([`crate::Store::add_lesson`]).
#[derive(Debug, Clone)]
pub struct NewLesson {
    /// The job it came from.
    pub job: JobId,
    /// The job's tenant.
    pub tenant: TenantId,
    /// The job's language.
    pub language: hone_domain::Language,
    /// The job's task.
    pub task: String,
    /// What failed and what fixed it ([`hone_domain::lesson::lesson_of`]).
    pub text: String,
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

/// Jobs to store together ([`crate::Store::enqueue_batch`]): all or none.
#[derive(Debug, Clone)]
pub struct NewBatch {
    /// Their owner.
    pub tenant: TenantId,
    /// The jobs, in the order the client listed them (their `idempotency` is not used).
    pub jobs: Vec<NewJob>,
    /// The client's `Idempotency-Key` for the whole batch and the request's fingerprint.
    pub idempotency: Option<Idempotency>,
}

/// What [`crate::Store::enqueue_batch`] did: the ids, in order.
pub type EnqueuedBatch = Enqueued<Vec<JobId>>;

/// What [`crate::Store::enqueue_job`] (a [`Job`]) or [`crate::Store::enqueue_batch`]
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

/// The quota a submission would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    /// The tenant has this many queued jobs already.
    QueuedJobs {
        /// The quota.
        limit: u64,
    },
    /// The tenant spent this many model tokens today (UTC).
    TokensPerDay {
        /// The quota.
        limit: u64,
    },
    /// The tenant's model calls cost this much today (UTC).
    CostPerDay {
        /// The quota.
        limit: hone_domain::Usd,
    },
}

/// A tenant's quotas; `None` is no quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TenantQuotas {
    /// The most queued jobs at once.
    pub max_queued_jobs: Option<u64>,
    /// The most model tokens a UTC day.
    pub max_tokens_per_day: Option<u64>,
    /// The most dollars of model calls a UTC day.
    pub max_cost_usd_per_day: Option<hone_domain::Usd>,
}

/// A tenant's quotas and what it uses now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TenantUsage {
    /// The tenant.
    pub tenant: TenantId,
    /// Its quotas.
    pub quotas: TenantQuotas,
    /// Its queued jobs now.
    pub queued_jobs: u64,
    /// The model tokens its jobs spent today (UTC).
    pub tokens_today: u64,
    /// What its jobs' model calls cost today (UTC).
    pub cost_usd_today: hone_domain::Usd,
}

/// What [`crate::Store::request_cancel`] did.
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

/// What a worker can serve: the languages it has a working runtime for and the model
/// providers it can call. A job needing anything else is left for another worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Serves {
    /// Languages with a working runtime.
    pub languages: Vec<hone_domain::Language>,
    /// Usable model providers, by the names jobs use.
    pub providers: Vec<String>,
}

impl Serves {
    /// A list as the claim binds it: each name between commas (`,python,bash,`).
    pub fn list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
        let mut out = String::from(",");
        for n in names {
            out.push_str(n);
            out.push(',');
        }
        out
    }
}

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

/// How a job ends.
#[derive(Debug, Clone)]
pub struct FinishJob {
    /// `succeeded`, `failed` or `cancelled`.
    pub status: JobStatus,
    /// Why, and the code.
    pub outcome: Outcome,
}

impl NewJob {
    /// The job as it is right after [`crate::Store::enqueue_job`] stored it at `now`.
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

/// What a store tells its listeners, across processes where the backend can (Postgres
/// `LISTEN/NOTIFY`), within the process otherwise (SQLite).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A job was queued: workers should claim.
    JobQueued,
    /// A client asked to cancel this running job: its worker should stop it now.
    CancelRequested(JobId),
}

/// A page of a job's events: those with `seq > after`, at most `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsPage {
    /// The last seq already seen (0 for the start).
    pub after: u64,
    /// The most events to return.
    pub limit: u32,
}

/// The actor's answer for an attempt ([`crate::Store::record_actor_output`]).
#[derive(Debug, Clone, Copy)]
pub struct ActorOutput<'a> {
    /// The attempt.
    pub iteration: u32,
    /// The code extracted from the answer.
    pub code: &'a str,
    /// The model call, with its usage.
    pub call: &'a ModelCall,
    /// Every answer of the iteration when the job draws several (empty otherwise); `code`
    /// and `call` are the chosen one's, and every candidate's usage counts.
    pub candidates: &'a [hone_domain::Candidate],
    /// The jobs whose lessons the actor was shown (empty but for a `memory` job's first
    /// iteration).
    pub lessons: &'a [JobId],
}

/// The sandbox run of an attempt ([`crate::Store::record_execution`]).
#[derive(Debug, Clone, Copy)]
pub struct ExecutionRecord<'a> {
    /// The attempt.
    pub iteration: u32,
    /// The run.
    pub execution: &'a Execution,
}

/// The critic's review of an attempt ([`crate::Store::record_critique`]).
#[derive(Debug, Clone, Copy)]
pub struct CritiqueRecord<'a> {
    /// The attempt.
    pub iteration: u32,
    /// The review.
    pub critique: &'a Critique,
    /// The model call, with its usage.
    pub call: &'a ModelCall,
}

/// The decision on an attempt ([`crate::Store::finish_attempt`]).
#[derive(Debug, Clone, Copy)]
pub struct AttemptDecision<'a> {
    /// The attempt.
    pub iteration: u32,
    /// Accepted, failed or cancelled.
    pub status: AttemptStatus,
    /// What goes back to the actor, when the attempt failed.
    pub feedback: Option<&'a Feedback>,
}

/// A job sent back to the queue after an infrastructure error ([`crate::Store::requeue_job`]).
#[derive(Debug, Clone, Copy)]
pub struct Requeue<'a> {
    /// Why, as the `job.requeued` event says.
    pub reason: &'a str,
    /// How long until the job is claimable again.
    pub delay_ms: u64,
}

/// A dispatcher's claim on due webhook deliveries ([`crate::Store::claim_deliveries`]).
#[derive(Debug, Clone)]
pub struct ClaimDeliveries {
    /// The dispatcher.
    pub worker: String,
    /// The most rows to lease.
    pub limit: u32,
    /// How long the lease lasts.
    pub lease_ms: u64,
}

/// A key to store ([`crate::Store::create_key`]); the key itself is not part of it.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Its id.
    pub id: KeyId,
    /// Its tenant (created if it does not exist yet).
    pub tenant: TenantId,
    /// A label for people.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// The key's SHA-256 (`hone_domain::apikey::hash`).
    pub hash: String,
    /// What listings show of it (`hone_domain::apikey::shown_prefix`).
    pub prefix: String,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// Who made it (the audit log names them).
    pub created_by: crate::Actor,
    /// Its own rate budgets, if not the server's.
    pub rates: KeyRates,
}

/// A key's own rate budgets, in requests a minute: `None` keeps the server's default, `0`
/// turns the budget off for the key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct KeyRates {
    /// `GET` requests a minute.
    pub reads_per_min: Option<u32>,
    /// Other requests a minute.
    pub writes_per_min: Option<u32>,
}

/// A stored key, as listings and authentication see it: never the key, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// Its id.
    pub id: KeyId,
    /// Its tenant.
    pub tenant: TenantId,
    /// Its label.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Its first characters (`hone_` and six more).
    pub prefix: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
    /// When it was last used, as last recorded.
    pub last_used_at: Option<Timestamp>,
    /// Its own rate budgets, if not the server's.
    #[serde(flatten)]
    pub rates: KeyRates,
}

impl KeyInfo {
    /// Whether the key works at `now`: not revoked, not expired.
    pub fn usable_at(&self, now: Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|at| now < at)
    }
}
