//! Webhooks on Postgres: the tenants' signing secrets, leasing due outbox rows to
//! dispatchers (`FOR UPDATE SKIP LOCKED`, so several workers never send the same row at
//! once), recording each try, and listing them. The outbox rows themselves are written by
//! the `events` trigger, in the event's transaction.

use hone_domain::{EventType, JobId, TenantId, Timestamp};
use hone_store::{DeliveryTry, DueDelivery, NextTry, StoreError, UnknownName};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::db_err;

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(db_err)
}

fn event_type(name: String) -> Result<EventType, StoreError> {
    EventType::parse(&name).ok_or_else(|| StoreError::corrupt("event type", UnknownName(name)))
}

pub(crate) async fn claim(
    pool: &PgPool,
    worker: &str,
    limit: u32,
    lease_ms: u64,
) -> Result<Vec<DueDelivery>, StoreError> {
    let now = Timestamp::now().as_millis();
    let rows = sqlx::query(
        "WITH due AS ( \
            SELECT id FROM webhook_outbox \
            WHERE state = 'pending' AND next_try_at <= $3 \
              AND (lease_expires_at IS NULL OR lease_expires_at < $3) \
            ORDER BY next_try_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) \
         UPDATE webhook_outbox o SET lease_owner = $1, lease_expires_at = $2 \
         FROM due WHERE o.id = due.id \
         RETURNING o.id, o.job_id, o.seq, o.tenant_id, o.event_type, o.url, \
            o.tries::bigint AS tries, o.payload, o.created_at",
    )
    .bind(worker)
    .bind(now + ms(lease_ms))
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(db_err)?;
    let mut due = rows
        .iter()
        .map(|row| {
            Ok(DueDelivery {
                id: get(row, "id")?,
                tenant: TenantId(get(row, "tenant_id")?),
                job: JobId(get(row, "job_id")?),
                seq: u64::try_from(get::<i64>(row, "seq")?).unwrap_or(0),
                kind: event_type(get(row, "event_type")?)?,
                event_at: Timestamp::from_millis(get(row, "created_at")?),
                url: get(row, "url")?,
                tries: u32::try_from(get::<i64>(row, "tries")?).unwrap_or(0),
                payload: get(row, "payload")?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    due.sort_by_key(|d| d.id);
    Ok(due)
}

pub(crate) async fn record(pool: &PgPool, d: &DeliveryTry) -> Result<(), StoreError> {
    let next_at = match d.next {
        NextTry::RetryAt(at) => Some(at.as_millis()),
        _ => None,
    };
    let done: Option<i64> = sqlx::query_scalar(
        "WITH upd AS ( \
            UPDATE webhook_outbox SET tries = tries + 1, state = $1, next_try_at = $2, \
               payload = COALESCE(payload, $3), lease_owner = NULL, lease_expires_at = NULL \
            WHERE id = $4 AND lease_owner = $5 AND state = 'pending' \
            RETURNING id, tries, job_id, tenant_id), \
         ins AS ( \
            INSERT INTO webhook_deliveries (outbox_id, try, job_id, tenant_id, attempted_at, \
               duration_ms, status_code, error, next_try_at) \
            SELECT id, tries, job_id, tenant_id, $6, $7, $8, $9, $2 FROM upd \
            RETURNING outbox_id) \
         SELECT outbox_id FROM ins",
    )
    .bind(d.next.state())
    .bind(next_at)
    .bind(&d.payload)
    .bind(d.outbox)
    .bind(&d.worker)
    .bind(d.attempted_at.as_millis())
    .bind(ms(d.duration_ms))
    .bind(d.status_code.map(i64::from))
    .bind(&d.error)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    done.map(|_| ())
        .ok_or(StoreError::DeliveryLeaseLost(d.outbox))
}
