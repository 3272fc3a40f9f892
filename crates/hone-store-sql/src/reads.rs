//! The read queries: one job, a page of jobs, a job's attempts and events, its webhook
//! delivery tries. Every client read is scoped to the caller's tenant (another tenant's job
//! reads as absent); [`SqlStore::read_events`] is the live-event hub's, which serves every
//! tenant and says whose each event is.

use hone_domain::{Attempt, Event, EventType, Job, JobId, TenantId, Timestamp};
use hone_store::{Delivery, QueueStats, StoreError, TenantEvent, UnknownName, webhook_id};
use sqlx::AssertSqlSafe;

use crate::rows::{self, ATTEMPT_COLUMNS, EVENT_COLUMNS, JOB_COLUMNS};
use crate::{Backend, SqlStore, db_err};

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    B::Arguments: sqlx::IntoArguments<B>,
    for<'q> i64: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> &'q str: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> Option<&'q str>: sqlx::Encode<'q, B>,
    for<'q> Option<B::Id>: sqlx::Encode<'q, B>,
    for<'r> i64: sqlx::Decode<'r, B>,
    for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> bool: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
{
    /// The job, if the tenant has it.
    pub async fn get_job(&self, tenant: &TenantId, id: JobId) -> Result<Option<Job>, StoreError> {
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

    /// The queue across tenants, in one statement (each part served by an index).
    pub async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT count(*) FROM jobs WHERE status = 'queued') AS queued, \
             (SELECT count(*) FROM jobs WHERE status = 'running') AS running, \
             (SELECT min(created_at) FROM jobs WHERE status = 'queued') AS oldest, \
             (SELECT count(*) FROM webhook_outbox WHERE state = 'pending') AS backlog",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        let count = |c: &str| rows::get::<B, i64>(&row, c).map(|n| u64::try_from(n).unwrap_or(0));
        Ok(QueueStats {
            queued: count("queued")?,
            running: count("running")?,
            oldest_queued: rows::get::<B, Option<i64>>(&row, "oldest")?.map(Timestamp::from_millis),
            webhook_backlog: count("backlog")?,
        })
    }

    /// Whether the tenant has the job.
    pub async fn job_exists(&self, tenant: &TenantId, id: JobId) -> Result<bool, StoreError> {
        let found = sqlx::query("SELECT 1 FROM jobs WHERE tenant_id = $1 AND id = $2")
            .bind(tenant.as_str())
            .bind(B::id(id))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(found.is_some())
    }

    /// The job's attempts in order; `None` if the tenant has no such job.
    pub async fn list_attempts(
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
    pub async fn attempts_of_jobs(
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
    pub async fn list_events(
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

    /// Up to `limit` of a job's events after `after`, each with its tenant (for the hub).
    pub async fn read_events(
        &self,
        id: JobId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<TenantEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, tenant_id FROM events WHERE job_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(B::id(id))
            .bind(i64::try_from(after).unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                Ok(TenantEvent {
                    tenant: TenantId(rows::get::<B, String>(row, "tenant_id")?),
                    event: rows::event::<B>(row)?,
                })
            })
            .collect()
    }

    /// Every webhook delivery try of the job, oldest first; `None` if the tenant has no such
    /// job.
    pub async fn list_deliveries(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Delivery>>, StoreError> {
        if !self.job_exists(tenant, id).await? {
            return Ok(None);
        }
        let found = sqlx::query(
            "SELECT d.try, d.attempted_at, d.duration_ms, d.status_code, d.error, d.next_try_at, \
                o.seq, o.event_type, o.url, o.state \
             FROM webhook_deliveries d JOIN webhook_outbox o ON o.id = d.outbox_id \
             WHERE d.tenant_id = $1 AND d.job_id = $2 \
             ORDER BY d.attempted_at, d.outbox_id, d.try",
        )
        .bind(tenant.as_str())
        .bind(B::id(id))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                let seq = u64::try_from(rows::get::<B, i64>(row, "seq")?).unwrap_or(0);
                let kind: String = rows::get::<B, _>(row, "event_type")?;
                Ok(Delivery {
                    webhook_id: webhook_id(id, seq),
                    event_seq: seq,
                    event_type: EventType::parse(&kind)
                        .ok_or_else(|| StoreError::corrupt("event type", UnknownName(kind)))?,
                    url: rows::get::<B, _>(row, "url")?,
                    attempt: u32::try_from(rows::get::<B, i64>(row, "try")?).unwrap_or(0),
                    attempted_at: Timestamp::from_millis(rows::get::<B, _>(row, "attempted_at")?),
                    duration_ms: u64::try_from(rows::get::<B, i64>(row, "duration_ms")?)
                        .unwrap_or(0),
                    status_code: rows::get::<B, Option<i64>>(row, "status_code")?
                        .and_then(|c| u16::try_from(c).ok()),
                    error: rows::get::<B, _>(row, "error")?,
                    next_attempt_at: rows::get::<B, Option<i64>>(row, "next_try_at")?
                        .map(Timestamp::from_millis),
                    state: rows::get::<B, _>(row, "state")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(Some)
    }
}
