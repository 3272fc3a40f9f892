//! The client side of the SQLite store: enqueue, read, list and cancel.

use hone_domain::{EventType, Job, JobId, JobStatus, Outcome, OutcomeReason, TenantId, Timestamp};
use hone_store::{CancelOutcome, Enqueued, NewJob, StoreError};
use serde_json::json;
use sqlx::{AssertSqlSafe, SqlitePool};

use crate::rows::{self, JOB_COLUMNS};
use crate::{SqliteStore, db_err};

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

pub(crate) async fn enqueue_job(store: &SqliteStore, job: NewJob) -> Result<Enqueued, StoreError> {
    if let Some(idem) = &job.idempotency
        && let Some(found) = find_by_key(&store.writer, &job.tenant, &idem.key).await?
    {
        return Ok(existing(found, &idem.fingerprint));
    }
    let now_ts = Timestamp::now();
    let now = now_ts.as_millis();
    let spec = serde_json::to_string(&job.spec).map_err(|e| StoreError::corrupt("spec", e))?;
    let metadata = serde_json::to_string(&job.spec.metadata)
        .map_err(|e| StoreError::corrupt("metadata", e))?;
    let (key, fingerprint) = job
        .idempotency
        .as_ref()
        .map(|i| (Some(i.key.clone()), Some(i.fingerprint.clone())))
        .unwrap_or_default();
    let mut tx = store.writer.begin().await.map_err(db_err)?;
    let inserted = sqlx::query(
        "INSERT INTO jobs (id, tenant_id, status, priority, language, spec, metadata, \
         idempotency_key, request_fingerprint, last_seq, available_at, created_at, updated_at, \
         webhook_url, webhook_events) \
         VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
    )
    .bind(job.id.to_string())
    .bind(job.tenant.as_str())
    .bind(job.spec.priority)
    .bind(job.spec.language.as_str())
    .bind(spec)
    .bind(metadata)
    .bind(key)
    .bind(fingerprint)
    .bind(now)
    .bind(now)
    .bind(now)
    .bind(job.spec.webhook.as_ref().map(|w| w.url.clone()))
    .bind(job.spec.webhook.as_ref().map(|w| w.stored_filter()))
    .execute(&mut *tx)
    .await;
    if let Err(e) = inserted {
        drop(tx);
        if is_unique_violation(&e)
            && let Some(idem) = &job.idempotency
        {
            return Ok(
                match find_by_key(&store.writer, &job.tenant, &idem.key).await? {
                    Some(found) => existing(found, &idem.fingerprint),
                    None => Enqueued::KeyInFlight,
                },
            );
        }
        return Err(db_err(e));
    }
    rows::insert_event(
        &mut tx,
        job.id,
        job.tenant.as_str(),
        1,
        EventType::JobQueued,
        json!({"status": "queued"}),
        now,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(Enqueued::Created(job.queued(now_ts)))
}

fn existing((job, fingerprint): (Job, Option<String>), wanted: &str) -> Enqueued {
    if fingerprint.as_deref() == Some(wanted) {
        Enqueued::Existing(job)
    } else {
        Enqueued::KeyReused
    }
}

async fn find_by_key(
    pool: &SqlitePool,
    tenant: &TenantId,
    key: &str,
) -> Result<Option<(Job, Option<String>)>, StoreError> {
    let sql = format!(
        "SELECT {JOB_COLUMNS}, request_fingerprint FROM jobs \
         WHERE tenant_id = ? AND idempotency_key = ?"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(tenant.as_str())
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(db_err)?;
    row.map(|r| {
        let fp: Option<String> = sqlx::Row::try_get(&r, "request_fingerprint").map_err(db_err)?;
        Ok((rows::job(&r)?, fp))
    })
    .transpose()
}

pub(crate) async fn request_cancel(
    pool: &SqlitePool,
    tenant: &TenantId,
    id: JobId,
) -> Result<(CancelOutcome, Option<i64>), StoreError> {
    let now = Timestamp::now().as_millis();
    let outcome = Outcome {
        reason: OutcomeReason::Cancelled,
        accepted_iteration: None,
        code: None,
        message: Some("cancelled before a worker started it".to_owned()),
    };
    let outcome = serde_json::to_string(&outcome).map_err(|e| StoreError::corrupt("outcome", e))?;
    let mut tx = pool.begin().await.map_err(db_err)?;
    let queued: Option<i64> = sqlx::query_scalar(
        "UPDATE jobs SET status = 'cancelled', outcome = ?, finished_at = ?, updated_at = ?, \
         last_seq = last_seq + 1 \
         WHERE tenant_id = ? AND id = ? AND status = 'queued' RETURNING last_seq",
    )
    .bind(outcome)
    .bind(now)
    .bind(now)
    .bind(tenant.as_str())
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?;
    if let Some(seq) = queued {
        rows::insert_event(
            &mut tx,
            id,
            tenant.as_str(),
            seq,
            EventType::JobCancelled,
            json!({"status": "cancelled", "reason": "cancelled"}),
            now,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        return Ok((CancelOutcome::Cancelled, Some(seq)));
    }
    let running = sqlx::query(
        "UPDATE jobs SET cancel_requested = 1, updated_at = ? \
         WHERE tenant_id = ? AND id = ? AND status = 'running'",
    )
    .bind(now)
    .bind(tenant.as_str())
    .bind(id.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    if running.rows_affected() > 0 {
        return Ok((CancelOutcome::Requested, None));
    }
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM jobs WHERE tenant_id = ? AND id = ?")
            .bind(tenant.as_str())
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .map_err(db_err)?;
    let outcome = match status.as_deref().and_then(JobStatus::parse) {
        Some(s) => CancelOutcome::AlreadyFinished(s),
        None => CancelOutcome::NotFound,
    };
    Ok((outcome, None))
}
