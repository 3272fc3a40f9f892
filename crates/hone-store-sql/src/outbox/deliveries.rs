//! Webhook delivery: leasing due outbox rows to dispatchers (see [`Backend::SKIP_LOCKED`]),
//! and recording each try with the outbox row's new state. The outbox rows themselves are
//! written by the `events` trigger, in the event's transaction.

use hone_domain::{EventType, JobId, TenantId, Timestamp};
use hone_store::{
    Delivery, DeliveryTry, DueDelivery, NextTry, StoreError, UnknownName, webhook_id,
};
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::rows::{self, get};
use crate::{SqlStore, db_err, ms};

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Leases up to `limit` due outbox rows (pending, due, lease free or expired) to `worker`
    /// for `lease_ms`, oldest due first.
    pub(crate) async fn claim_deliveries(
        &self,
        worker: &str,
        limit: u32,
        lease_ms: u64,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let now = self.now();
        let sql = format!(
            "UPDATE webhook_outbox SET lease_owner = $1, lease_expires_at = $2 \
             WHERE id IN (SELECT id FROM webhook_outbox \
                WHERE state = 'pending' AND next_try_at <= $3 \
                  AND (lease_expires_at IS NULL OR lease_expires_at < $3) \
                ORDER BY next_try_at, id LIMIT $4 {skip_locked}) \
             RETURNING id, job_id, seq, tenant_id, event_type, url, tries, payload, created_at",
            skip_locked = B::SKIP_LOCKED,
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(worker)
            .bind(now + ms(lease_ms))
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(&self.writer)
            .await
            .map_err(db_err)?;
        let mut due = found
            .iter()
            .map(|row| {
                let kind: String = get::<B, _>(row, "event_type")?;
                Ok(DueDelivery {
                    id: get::<B, _>(row, "id")?,
                    tenant: TenantId(get::<B, _>(row, "tenant_id")?),
                    job: B::job_id(get::<B, B::Id>(row, "job_id")?),
                    seq: u64::try_from(get::<B, i64>(row, "seq")?).unwrap_or(0),
                    kind: EventType::parse(&kind)
                        .ok_or_else(|| StoreError::corrupt("event type", UnknownName(kind)))?,
                    event_at: Timestamp::from_millis(get::<B, _>(row, "created_at")?),
                    url: get::<B, _>(row, "url")?,
                    tries: u32::try_from(get::<B, i64>(row, "tries")?).unwrap_or(0),
                    payload: get::<B, _>(row, "payload")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        due.sort_by_key(|d| d.id);
        Ok(due)
    }

    /// Records one try and the outbox row's next state, if `d.worker` still holds the row's
    /// lease; otherwise [`StoreError::DeliveryLeaseLost`] and nothing is written.
    pub(crate) async fn record_delivery(&self, d: &DeliveryTry) -> Result<(), StoreError> {
        let next_at = match d.next {
            NextTry::RetryAt(at) => Some(at.as_millis()),
            _ => None,
        };
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let row = sqlx::query(
            "UPDATE webhook_outbox SET tries = tries + 1, state = $1, next_try_at = $2, \
             payload = COALESCE(payload, $3), lease_owner = NULL, lease_expires_at = NULL \
             WHERE id = $4 AND lease_owner = $5 AND state = 'pending' \
             RETURNING tries, job_id, tenant_id",
        )
        .bind(d.next.state())
        .bind(next_at)
        .bind(d.payload.as_str())
        .bind(d.outbox)
        .bind(d.worker.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .ok_or(StoreError::DeliveryLeaseLost(d.outbox))?;
        let tenant: String = get::<B, _>(&row, "tenant_id")?;
        sqlx::query(
            "INSERT INTO webhook_deliveries (outbox_id, try, job_id, tenant_id, attempted_at, \
             duration_ms, status_code, error, next_try_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(d.outbox)
        .bind(get::<B, i64>(&row, "tries")?)
        .bind(get::<B, B::Id>(&row, "job_id")?)
        .bind(tenant.as_str())
        .bind(d.attempted_at.as_millis())
        .bind(ms(d.duration_ms))
        .bind(d.status_code.map(i64::from))
        .bind(d.error.as_deref())
        .bind(next_at)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)
    }

    /// Every webhook delivery try of the job, oldest first; `None` if the tenant has no such
    /// job.
    pub(crate) async fn list_deliveries(
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
