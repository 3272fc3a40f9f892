//! Bulk cancel: every unfinished job of a tenant that passes a [`JobFilter`]. Queued jobs end
//! at once (with their `job.cancelled` events); running ones are flagged for their workers.
//! The work goes in chunks of [`CHUNK`] jobs, each its own short transaction, so a cancel
//! of a hundred thousand jobs never holds the queue or the writer for long.

use hone_domain::{EventType, JobId, TenantId};
use hone_store::{BulkCancel, JobFilter, StoreError};
use macro_rules_attribute::apply;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, QueryBuilder};

use crate::events::json;
use crate::history::filter::{Conditions, bind_all};
use crate::rows::{get, job_id_col};
use crate::{SqlStore, db_err};

/// Jobs a transaction takes.
const CHUNK: usize = 500;

/// What a bulk cancel did, with what the store announces after each commit.
#[derive(Debug, Default)]
pub struct BulkCancelled {
    /// The counts the API reports.
    pub counts: BulkCancel,
    /// Events appended: `(job, seq)`.
    pub appended: Vec<(JobId, i64)>,
    /// Running jobs flagged.
    pub flagged: Vec<JobId>,
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Cancels every queued job of `tenant` passing `filter` and flags every running one.
    pub(crate) async fn cancel_jobs(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
    ) -> Result<BulkCancelled, StoreError> {
        let mut done = BulkCancelled::default();
        loop {
            let ended = self.cancel_queued_chunk(tenant, filter, &mut done).await?;
            if ended < CHUNK {
                break;
            }
        }
        loop {
            let flagged = self.flag_running_chunk(tenant, filter, &mut done).await?;
            if flagged < CHUNK {
                break;
            }
        }
        Ok(done)
    }

    async fn cancel_queued_chunk(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        done: &mut BulkCancelled,
    ) -> Result<usize, StoreError> {
        let now = self.now();
        let outcome = crate::intake::jobs::cancelled_outcome()?;
        let mut c = Conditions::new(4);
        c.filter::<B>(filter);
        let sql = format!(
            "UPDATE jobs SET status = 'cancelled', outcome = $2, finished_at = $3, \
             updated_at = $3, last_seq = last_seq + 1 \
             WHERE status = 'queued' AND id IN (SELECT id FROM jobs \
             WHERE tenant_id = $1 AND status = 'queued'{} LIMIT {CHUNK} {}) \
             RETURNING id, last_seq",
            c.sql,
            B::SKIP_LOCKED
        );
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let query = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(Json(&*outcome))
            .bind(now);
        let rows = bind_all(query, &c.params)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let ended = rows
            .iter()
            .map(|r| Ok((job_id_col::<B>(r, "id")?, get::<B, i64>(r, "last_seq")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        if !ended.is_empty() {
            let data = serde_json::json!({"status": "cancelled", "reason": "cancelled"});
            let data = json("event data", &data)?;
            let mut events = QueryBuilder::<B>::new(
                "INSERT INTO events (job_id, seq, tenant_id, type, data, created_at) ",
            );
            events.push_values(&ended, |mut b, (id, seq)| {
                b.push_bind(B::id(*id))
                    .push_bind(*seq)
                    .push_bind(tenant.as_str())
                    .push_bind(EventType::JobCancelled.as_str())
                    .push_bind(Json(&*data))
                    .push_bind(now);
            });
            events.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        done.counts.cancelled += ended.len() as u64;
        let n = ended.len();
        done.appended.extend(ended);
        Ok(n)
    }

    async fn flag_running_chunk(
        &self,
        tenant: &TenantId,
        filter: &JobFilter,
        done: &mut BulkCancelled,
    ) -> Result<usize, StoreError> {
        let mut c = Conditions::new(3);
        c.filter::<B>(filter);
        let sql = format!(
            "UPDATE jobs SET cancel_requested = TRUE, updated_at = $2 \
             WHERE status = 'running' AND id IN (SELECT id FROM jobs \
             WHERE tenant_id = $1 AND status = 'running' AND NOT cancel_requested{} \
             LIMIT {CHUNK}) RETURNING id",
            c.sql
        );
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let query = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(self.now());
        let rows = bind_all(query, &c.params)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let flagged = rows
            .iter()
            .map(|r| job_id_col::<B>(r, "id"))
            .collect::<Result<Vec<_>, _>>()?;
        tx.commit().await.map_err(db_err)?;
        done.counts.requested += flagged.len() as u64;
        let n = flagged.len();
        done.flagged.extend(flagged);
        Ok(n)
    }
}
