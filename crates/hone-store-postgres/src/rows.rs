//! Mapping Postgres rows to domain types, and the event append shared by every write.

use hone_domain::{EventType, JobId};
use hone_store::StoreError;
use serde_json::Value;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use crate::db_err;

pub(crate) use hone_store_sql::rows::JOB_COLUMNS;

/// A job row (from [`JOB_COLUMNS`]), mapped by the shared code.
pub(crate) fn job(row: &PgRow) -> Result<hone_domain::Job, StoreError> {
    hone_store_sql::rows::job::<sqlx::Postgres>(row)
}

/// Appends an event with the job's next `seq`. The caller has already bumped `last_seq` in
/// the same transaction and passes the new value.
pub(crate) async fn insert_event(
    conn: &mut PgConnection,
    job: JobId,
    tenant: &str,
    seq: i64,
    kind: EventType,
    data: Value,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (job_id, seq, tenant_id, type, data, created_at) \
         VALUES ($1, $2, $3, $4, $5::jsonb, $6)",
    )
    .bind(job.0)
    .bind(seq)
    .bind(tenant)
    .bind(kind.as_str())
    .bind(data.to_string())
    .bind(now)
    .execute(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
