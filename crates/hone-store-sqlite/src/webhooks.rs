//! Webhooks on SQLite: the tenants' signing secrets, leasing due outbox rows to a
//! dispatcher, recording each try, and listing them. The outbox rows themselves are written
//! by a trigger on `events`, in the event's transaction.

use hone_domain::{EventType, JobId, TenantId, Timestamp};
use hone_store::{DeliveryTry, DueDelivery, NextTry, StoreError, UnknownName};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::db_err;

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn get<'r, T>(row: &'r SqliteRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col).map_err(db_err)
}

fn event_type(name: String) -> Result<EventType, StoreError> {
    EventType::parse(&name).ok_or_else(|| StoreError::corrupt("event type", UnknownName(name)))
}

fn job_id(text: &str) -> Result<JobId, StoreError> {
    text.parse().map_err(|e| StoreError::corrupt("job id", e))
}

pub(crate) async fn claim(
    writer: &SqlitePool,
    worker: &str,
    limit: u32,
    lease_ms: u64,
) -> Result<Vec<DueDelivery>, StoreError> {
    let now = Timestamp::now().as_millis();
    let rows = sqlx::query(
        "UPDATE webhook_outbox SET lease_owner = ?, lease_expires_at = ? \
         WHERE id IN (SELECT id FROM webhook_outbox \
            WHERE state = 'pending' AND next_try_at <= ? \
              AND (lease_expires_at IS NULL OR lease_expires_at < ?) \
            ORDER BY next_try_at, id LIMIT ?) \
         RETURNING id, job_id, seq, tenant_id, event_type, url, tries, payload, created_at",
    )
    .bind(worker)
    .bind(now + ms(lease_ms))
    .bind(now)
    .bind(now)
    .bind(i64::from(limit))
    .fetch_all(writer)
    .await
    .map_err(db_err)?;
    let mut due = rows
        .iter()
        .map(|row| {
            Ok(DueDelivery {
                id: get(row, "id")?,
                tenant: TenantId(get(row, "tenant_id")?),
                job: job_id(&get::<String>(row, "job_id")?)?,
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

pub(crate) async fn record(writer: &SqlitePool, d: &DeliveryTry) -> Result<(), StoreError> {
    let next_at = match d.next {
        NextTry::RetryAt(at) => Some(at.as_millis()),
        _ => None,
    };
    let mut tx = writer.begin().await.map_err(db_err)?;
    let row = sqlx::query(
        "UPDATE webhook_outbox SET tries = tries + 1, state = ?, next_try_at = ?, \
         payload = COALESCE(payload, ?), lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = ? AND lease_owner = ? AND state = 'pending' \
         RETURNING tries, job_id, tenant_id",
    )
    .bind(d.next.state())
    .bind(next_at)
    .bind(&d.payload)
    .bind(d.outbox)
    .bind(&d.worker)
    .fetch_optional(&mut *tx)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::DeliveryLeaseLost(d.outbox))?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (outbox_id, try, job_id, tenant_id, attempted_at, \
         duration_ms, status_code, error, next_try_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(d.outbox)
    .bind(get::<i64>(&row, "tries")?)
    .bind(get::<String>(&row, "job_id")?)
    .bind(get::<String>(&row, "tenant_id")?)
    .bind(d.attempted_at.as_millis())
    .bind(ms(d.duration_ms))
    .bind(d.status_code.map(i64::from))
    .bind(&d.error)
    .bind(next_at)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}
