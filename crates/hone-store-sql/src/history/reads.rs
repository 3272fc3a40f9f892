//! The read queries: one job, a page of jobs, a job's attempts and events, its webhook
//! delivery tries. Every client read is scoped to the caller's tenant (another tenant's job
//! reads as absent); [`SqlStore::read_events`] is the live-event hub's, which serves every
//! tenant and says whose each event is.

use hone_domain::{Attempt, Event, Job, JobId, TenantId};
use hone_store::StoreError;
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::rows::{self, ATTEMPT_COLUMNS, EVENT_COLUMNS, JOB_COLUMNS};
use crate::{SqlStore, db_err};

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The job, if the tenant has it.
    pub(crate) async fn get_job(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Job>, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND id = $2");
        sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(B::id(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| rows::job::<B>(&r))
            .transpose()
    }

    /// Whether the tenant has the job.
    pub(crate) async fn job_exists(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<bool, StoreError> {
        let found = sqlx::query("SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(B::id(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(found.is_some())
    }

    /// The job's attempts in order; `None` if the tenant has no such job.
    pub(crate) async fn list_attempts(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Attempt>>, StoreError> {
        if !self.job_exists(tenant, id).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {ATTEMPT_COLUMNS} FROM attempts WHERE tenant_id = $1 AND job_id = $2 \
             ORDER BY iteration"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(B::id(id))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(rows::attempt::<B>)
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// The attempts of every listed job the tenant has, in order of job then iteration, each
    /// with its job's id, their runs without output ([`rows::brief_attempt_columns`]): one
    /// query for a page of jobs (another tenant's ids read nothing).
    pub(crate) async fn attempts_of_jobs(
        &self,
        tenant: &TenantId,
        ids: &[JobId],
    ) -> Result<Vec<(JobId, Attempt)>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
        let sql = format!(
            "SELECT job_id, {} FROM attempts WHERE tenant_id = $1 \
             AND job_id IN ({}) ORDER BY job_id, iteration",
            rows::brief_attempt_columns::<B>(),
            marks.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str());
        for id in ids {
            query = query.bind(B::id(*id));
        }
        let found = query.fetch_all(&self.pool).await.map_err(db_err)?;
        found
            .iter()
            .map(|r| Ok((rows::job_id_col::<B>(r, "job_id")?, rows::attempt::<B>(r)?)))
            .collect()
    }

    /// Up to `limit` of the job's events with `seq > after`, in order; `None` if the tenant
    /// has no such job.
    pub(crate) async fn list_events(
        &self,
        tenant: &TenantId,
        id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Option<Vec<Event>>, StoreError> {
        if !self.job_exists(tenant, id).await? {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE tenant_id = $1 AND job_id = $2 \
             AND seq > $3 ORDER BY seq LIMIT $4"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(B::id(id))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(rows::event::<B>)
            .collect::<Result<_, _>>()
            .map(Some)
    }
}
