//! A claimed job's life outside its steps: the lease heartbeat, the end of the job, and the
//! way back to the queue (an infrastructure error, or a worker shutting down). Every write
//! is guarded by the lease: a worker that lost it writes nothing.

use hone_domain::{EventType, JobStatus, Usage};
use hone_store::{FinishJob, JobControl, Lease, StoreError};
use macro_rules_attribute::apply;
use serde_json::json;
use sqlx::types::Json;

use crate::events::{insert_event, json};
use crate::rows::get;
use crate::{SqlStore, db_err, ms};

/// Checks the lease, takes the job's next event seq and adds `usage` to its totals, inside
/// the caller's transaction. Returns `(seq, tenant)`; [`StoreError::LeaseLost`] if the
/// worker no longer holds the job.
#[apply(sql)]
pub async fn bump<B>(
    conn: &mut B::Connection,
    lease: &Lease,
    usage: Usage,
    now: i64,
) -> Result<(i64, String), StoreError> {
    let row = sqlx::query(
        "UPDATE jobs SET last_seq = last_seq + 1, updated_at = $1, \
         prompt_tokens = prompt_tokens + $2, completion_tokens = completion_tokens + $3, \
         total_tokens = total_tokens + $4, cache_read_tokens = cache_read_tokens + $7, \
         cache_write_tokens = cache_write_tokens + $8, \
         reasoning_tokens = reasoning_tokens + $9, cost_pusd = cost_pusd + $10 \
         WHERE id = $5 AND lease_owner = $6 AND status = 'running' \
         RETURNING last_seq, tenant_id",
    )
    .bind(now)
    .bind(ms(usage.prompt_tokens))
    .bind(ms(usage.completion_tokens))
    .bind(ms(usage.total_tokens))
    .bind(B::id(lease.job))
    .bind(lease.worker.as_str())
    .bind(ms(usage.cache_read_tokens))
    .bind(ms(usage.cache_write_tokens))
    .bind(ms(usage.reasoning_tokens))
    .bind(usage.cost_usd.picos_i64())
    .fetch_optional(conn)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::LeaseLost(lease.job))?;
    Ok((
        get::<B, _>(&row, "last_seq")?,
        get::<B, _>(&row, "tenant_id")?,
    ))
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Extends the lease and says whether a cancel was requested.
    pub(crate) async fn heartbeat(
        &self,
        lease: &Lease,
        lease_ms: u64,
    ) -> Result<JobControl, StoreError> {
        let now = self.now();
        let row = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND status = 'running' \
             RETURNING cancel_requested",
        )
        .bind(now + ms(lease_ms))
        .bind(B::id(lease.job))
        .bind(lease.worker.as_str())
        .fetch_optional(&self.writer)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::LeaseLost(lease.job))?;
        Ok(JobControl {
            cancel_requested: get::<B, bool>(&row, "cancel_requested")?,
        })
    }

    /// Ends the job: its status and outcome, running attempts cancelled, the terminal event.
    /// Returns the event's seq.
    pub(crate) async fn finish_job(
        &self,
        lease: &Lease,
        finish: FinishJob,
    ) -> Result<i64, StoreError> {
        let kind = match finish.status {
            JobStatus::Succeeded => EventType::JobSucceeded,
            JobStatus::Cancelled => EventType::JobCancelled,
            _ => EventType::JobFailed,
        };
        let status = match kind {
            EventType::JobSucceeded => "succeeded",
            EventType::JobCancelled => "cancelled",
            _ => "failed",
        };
        let outcome = json("outcome", &finish.outcome)?;
        let now = self.now();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let (seq, tenant) = bump::<B>(&mut tx, lease, Usage::default(), now).await?;
        sqlx::query(
            "UPDATE jobs SET status = $1, outcome = $2, finished_at = $3, lease_owner = NULL, \
             lease_expires_at = NULL, cancel_requested = FALSE WHERE id = $4",
        )
        .bind(status)
        .bind(Json(&*outcome))
        .bind(now)
        .bind(B::id(lease.job))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // An attempt still running ends with its job: cancelled with a cancelled job, failed
        // with a job that failed (an error, a spent budget), never "cancelled" by nobody.
        let attempt_status = if status == "cancelled" {
            "cancelled"
        } else {
            "failed"
        };
        sqlx::query(
            "UPDATE attempts SET status = $3, finished_at = $1 \
             WHERE job_id = $2 AND status = 'running'",
        )
        .bind(now)
        .bind(B::id(lease.job))
        .bind(attempt_status)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let data = json!({"status": status, "reason": finish.outcome.reason,
                          "accepted_iteration": finish.outcome.accepted_iteration});
        insert_event::<B>(&mut tx, lease.job, &tenant, seq, kind, data, now).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(seq)
    }

    /// Sends the job back to the queue, available after `delay_ms`; `counted` adds one to
    /// its infrastructure-error count (a worker shutting down does not count). Returns the
    /// count and the `job.requeued` event's seq.
    pub(crate) async fn requeue_job(
        &self,
        lease: &Lease,
        reason: &str,
        delay_ms: u64,
        counted: bool,
    ) -> Result<(u32, i64), StoreError> {
        let now = self.now();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let (seq, tenant) = bump::<B>(&mut tx, lease, Usage::default(), now).await?;
        let row = sqlx::query(
            "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
             available_at = $1, requeues = requeues + $2 WHERE id = $3 RETURNING requeues",
        )
        .bind(now + ms(delay_ms))
        .bind(i64::from(counted))
        .bind(B::id(lease.job))
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let requeues: i64 = get::<B, _>(&row, "requeues")?;
        let data = json!({"status": "queued", "reason": reason, "requeues": requeues});
        insert_event::<B>(
            &mut tx,
            lease.job,
            &tenant,
            seq,
            EventType::JobRequeued,
            data,
            now,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok((u32::try_from(requeues).unwrap_or(u32::MAX), seq))
    }
}
