//! The [`History`] topic of the store: reading a tenant's jobs back (one, a page, their
//! attempts and events) and aggregates over them; its parameter types are beside it.

use async_trait::async_trait;
use hone_domain::{Attempt, Event, Job, JobId, TenantId, Timestamp};

use crate::StoreError;

/// Reading a tenant's jobs back: one, a page, their attempts and events, and aggregates over them.
#[async_trait]
pub trait History: Send + Sync + 'static {
    /// One job of the tenant.
    async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError>;

    /// The tenant's jobs, newest first.
    async fn list_jobs(&self, tenant: &TenantId, query: ListJobs) -> Result<JobPage, StoreError>;

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

    /// A page of a job's events. `None` if the job does not exist.
    async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        page: EventsPage,
    ) -> Result<Option<Vec<Event>>, StoreError>;

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
}

mod filter;
mod paging;
mod repair;
mod stats;

pub use filter::JobFilter;
pub use paging::*;
pub use repair::*;
pub use stats::*;
