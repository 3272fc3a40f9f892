//! Appending to a job's event log, inside the caller's transaction. The `events` trigger
//! writes the webhook outbox row (and on Postgres notifies the hub) in the same transaction.

use hone_domain::{EventType, JobId};
use hone_store::StoreError;
use macro_rules_attribute::apply;
use serde_json::Value;
use serde_json::value::RawValue;
use sqlx::types::Json;

use crate::db_err;

/// A value as JSON for a `JSONB` (Postgres) or `TEXT` (SQLite) column: serialised once,
/// bound through sqlx's `Json`.
pub fn json<T: serde::Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Box<RawValue>, StoreError> {
    serde_json::value::to_raw_value(value).map_err(|e| StoreError::corrupt(what, e))
}

/// Appends the event with `seq` (the caller bumped `jobs.last_seq` to it in the same
/// transaction).
#[apply(sql)]
pub async fn insert_event<B>(
    conn: &mut B::Connection,
    job: JobId,
    tenant: &str,
    seq: i64,
    kind: EventType,
    data: Value,
    now: i64,
) -> Result<(), StoreError> {
    let data = json("event data", &data)?;
    sqlx::query(
        "INSERT INTO events (job_id, seq, tenant_id, type, data, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(B::id(job))
    .bind(seq)
    .bind(tenant)
    .bind(kind.as_str())
    .bind(Json(&*data))
    .bind(now)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
