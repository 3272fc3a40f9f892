//! Batch intake: many jobs in one transaction, written as multi-row `INSERT`s (two
//! statements for a thousand jobs, not one per job; the `jobs` trigger appends each one's
//! `job.queued` event), and the batch's idempotency key with the ids it stored. The tenant's
//! quotas are checked at the start of the transaction, for the whole batch.

use hone_domain::{JobId, TenantId};
use hone_store::{EnqueuedBatch, Idempotency, NewBatch, NewJob, StoreError};
use macro_rules_attribute::apply;
use serde_json::value::RawValue;
use sqlx::QueryBuilder;
use sqlx::types::Json;

use crate::events::json;
use crate::intake::jobs::{is_stale_schema, is_unique_violation};
use crate::{SqlStore, db_err};

/// Rows per `INSERT`: 12 binds a job row keeps a statement far below both databases'
/// parameter limits (SQLite 32,766, Postgres 65,535).
const ROWS_PER_INSERT: usize = 500;

/// A job's values, serialised once before the statements borrow them.
struct Row<'a> {
    job: &'a NewJob,
    spec: Box<RawValue>,
    metadata: Box<RawValue>,
    webhook_events: Option<String>,
}

fn row(job: &NewJob) -> Result<Row<'_>, StoreError> {
    Ok(Row {
        job,
        spec: json("spec", &job.spec)?,
        metadata: json("metadata", &job.spec.metadata)?,
        webhook_events: job.spec.webhook.as_ref().map(|w| w.stored_filter()),
    })
}

fn ids_of(text: &str) -> Result<Vec<JobId>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt("batch job ids", e))
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The batch stored before under `key`: its fingerprint and ids.
    async fn find_batch(
        &self,
        tenant: &TenantId,
        key: &str,
    ) -> Result<Option<(String, Vec<JobId>)>, StoreError> {
        let row = sqlx::query(
            "SELECT request_fingerprint, job_ids FROM batches \
             WHERE tenant_id = $1 AND idempotency_key = $2",
        )
        .bind(tenant.as_str())
        .bind(key)
        .fetch_optional(&self.writer)
        .await
        .map_err(db_err)?;
        row.map(|r| {
            let fingerprint: String = crate::rows::get::<B, _>(&r, "request_fingerprint")?;
            let ids: String = crate::rows::get::<B, _>(&r, "job_ids")?;
            Ok((fingerprint, ids_of(&ids)?))
        })
        .transpose()
    }

    /// What a key seen before means for this request.
    async fn existing_batch(
        &self,
        tenant: &TenantId,
        idem: &Idempotency,
    ) -> Result<EnqueuedBatch, StoreError> {
        Ok(match self.find_batch(tenant, &idem.key).await? {
            Some((fingerprint, ids)) if fingerprint == idem.fingerprint => {
                EnqueuedBatch::Existing(ids)
            }
            Some(_) => EnqueuedBatch::KeyReused,
            None => EnqueuedBatch::KeyInFlight,
        })
    }

    /// Stores every job of `batch` with its `job.queued` event (seq 1) in one transaction,
    /// and the batch's key with the ids, in order. Under a key seen before, the first
    /// batch's ids are returned instead (or the key is refused for another request).
    pub(crate) async fn enqueue_batch(&self, batch: NewBatch) -> Result<EnqueuedBatch, StoreError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.try_enqueue_batch(&batch).await {
                Err(StoreError::Database(e))
                    if tries < 3
                        && e.downcast_ref::<sqlx::Error>().is_some_and(is_stale_schema) =>
                {
                    continue;
                }
                other => return other,
            }
        }
    }

    async fn try_enqueue_batch(&self, batch: &NewBatch) -> Result<EnqueuedBatch, StoreError> {
        if let Some(idem) = &batch.idempotency
            && self.find_batch(&batch.tenant, &idem.key).await?.is_some()
        {
            return self.existing_batch(&batch.tenant, idem).await;
        }
        let now = self.now();
        let rows = batch.jobs.iter().map(row).collect::<Result<Vec<_>, _>>()?;
        let ids: Vec<JobId> = batch.jobs.iter().map(|j| j.id).collect();
        let tenant = batch.tenant.as_str();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let adding = i64::try_from(batch.jobs.len()).unwrap_or(i64::MAX);
        if self.has_quota(&batch.tenant).await?
            && let Some(quota) = self.over_quota(&mut tx, &batch.tenant, adding).await?
        {
            return Ok(EnqueuedBatch::OverQuota(quota));
        }
        if let Some(idem) = &batch.idempotency {
            let id_list =
                serde_json::to_string(&ids).map_err(|e| StoreError::corrupt("batch job ids", e))?;
            let claimed = sqlx::query(
                "INSERT INTO batches (tenant_id, idempotency_key, request_fingerprint, job_ids, \
                 created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(tenant)
            .bind(idem.key.as_str())
            .bind(idem.fingerprint.as_str())
            .bind(id_list.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await;
            if let Err(e) = claimed {
                drop(tx);
                if is_unique_violation(&e) {
                    return self.existing_batch(&batch.tenant, idem).await;
                }
                return Err(db_err(e));
            }
        }
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let mut jobs = QueryBuilder::<B>::new(
                "INSERT INTO jobs (id, tenant_id, status, priority, language, spec, metadata, \
                 last_seq, available_at, created_at, updated_at, webhook_url, webhook_events, \
                 trace_parent, spec_bytes, actor_provider, critic_provider) ",
            );
            jobs.push_values(chunk, |mut b, r| {
                b.push_bind(B::id(r.job.id))
                    .push_bind(tenant)
                    .push("'queued'")
                    .push_bind(i64::from(r.job.spec.priority))
                    .push_bind(r.job.spec.language.as_str())
                    .push_bind(Json(&*r.spec))
                    .push_bind(Json(&*r.metadata))
                    .push("1")
                    .push(now)
                    .push(now)
                    .push(now)
                    .push_bind(r.job.spec.webhook.as_ref().map(|w| w.url.as_str()))
                    .push_bind(r.webhook_events.as_deref())
                    .push_bind(r.job.trace_parent.as_deref())
                    .push_bind(i64::try_from(r.spec.get().len()).unwrap_or(i64::MAX))
                    .push_bind(r.job.spec.actor.provider.as_str())
                    .push_bind(r.job.spec.critic.as_ref().map(|c| c.provider.as_str()));
            });
            jobs.build().execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(EnqueuedBatch::Created(ids))
    }
}
