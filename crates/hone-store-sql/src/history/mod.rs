//! The [`hone_store::History`] topic: reading a tenant's jobs back. Every read is scoped to
//! the caller's tenant (another tenant's job reads as absent).
//!
//! - [`reads`] one job, its attempts and events; [`listing`] a page of jobs;
//! - [`stats`] and [`repair`] aggregate a tenant's history, stats from the hourly
//!   [`rollups`] where it can; [`filter`] turns a history filter into SQL conditions (bulk
//!   cancels use it too).

pub(crate) mod filter;
pub(crate) mod listing;
pub(crate) mod reads;
pub(crate) mod repair;
pub(crate) mod rollups;
pub(crate) mod stats;

use async_trait::async_trait;
use hone_domain::{Attempt, Event, Job, JobId, TenantId, Timestamp};
use hone_store::{EventsPage, History, JobPage, ListJobs, RepairGroup, StatsQuery, StoreError};
use macro_rules_attribute::apply;

use crate::SqlStore;

#[apply(sql)]
#[async_trait]
impl<B> History for SqlStore<B> {
    async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError> {
        SqlStore::get_job(self, tenant, id).await
    }

    async fn list_jobs(&self, tenant: &TenantId, query: ListJobs) -> Result<JobPage, StoreError> {
        SqlStore::list_jobs(self, tenant, query).await
    }

    async fn list_attempts(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Attempt>>, StoreError> {
        SqlStore::list_attempts(self, tenant, id).await
    }

    async fn attempts_of_jobs(
        &self,
        tenant: &TenantId,
        ids: &[JobId],
    ) -> Result<Vec<(JobId, Attempt)>, StoreError> {
        SqlStore::attempts_of_jobs(self, tenant, ids).await
    }

    async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        page: EventsPage,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        SqlStore::list_events(self, tenant, id, page.after, page.limit).await
    }

    async fn stats(
        &self,
        tenant: &TenantId,
        query: StatsQuery,
    ) -> Result<hone_store::Stats, StoreError> {
        SqlStore::stats(self, tenant, query).await
    }

    async fn repair_stats(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<RepairGroup>, StoreError> {
        SqlStore::repair_stats(self, tenant, since, until).await
    }
}
