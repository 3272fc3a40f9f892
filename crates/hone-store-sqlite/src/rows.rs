//! Mapping SQLite rows to domain types, and the event append shared by every write.

use hone_domain::{
    Attempt, AttemptStatus, Event, EventType, Job, JobId, JobStatus, Timestamp, Usage,
};
use hone_store::{StoreError, UnknownName};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use crate::db_err;

/// The columns every job query selects.
pub(crate) const JOB_COLUMNS: &str = "id, status, created_at, started_at, finished_at, \
    iterations, outcome, prompt_tokens, completion_tokens, total_tokens, spec, cancel_requested, requeues, \
    lease_losses";

fn get<'r, T>(row: &'r SqliteRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
{
    row.try_get(col).map_err(db_err)
}

fn json<T: DeserializeOwned>(what: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

fn opt_json<T: DeserializeOwned>(
    row: &SqliteRow,
    col: &'static str,
) -> Result<Option<T>, StoreError> {
    get::<Option<String>>(row, col)?
        .map(|t| json(col, &t))
        .transpose()
}

fn ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn job_id(row: &SqliteRow) -> Result<JobId, StoreError> {
    get::<String>(row, "id")?
        .parse()
        .map_err(|e| StoreError::corrupt("job id", e))
}

pub(crate) fn job(row: &SqliteRow) -> Result<Job, StoreError> {
    let status: String = get(row, "status")?;
    let spec: hone_domain::JobSpec = json("spec", &get::<String>(row, "spec")?)?;
    Ok(Job {
        id: job_id(row)?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("job status", UnknownName(status)))?,
        created_at: Timestamp::from_millis(get(row, "created_at")?),
        started_at: ts(get(row, "started_at")?),
        finished_at: ts(get(row, "finished_at")?),
        iterations: u32::try_from(get::<i64>(row, "iterations")?).unwrap_or(0),
        outcome: opt_json(row, "outcome")?,
        usage: Usage {
            prompt_tokens: count(get(row, "prompt_tokens")?),
            completion_tokens: count(get(row, "completion_tokens")?),
            total_tokens: count(get(row, "total_tokens")?),
        },
        metadata: spec.metadata.clone(),
        spec,
        cancel_requested: get::<i64>(row, "cancel_requested")? != 0,
        requeues: u32::try_from(get::<i64>(row, "requeues")?).unwrap_or(0),
        lease_losses: u32::try_from(get::<i64>(row, "lease_losses")?).unwrap_or(0),
    })
}

pub(crate) fn attempt(row: &SqliteRow) -> Result<Attempt, StoreError> {
    let status: String = get(row, "status")?;
    Ok(Attempt {
        iteration: u32::try_from(get::<i64>(row, "iteration")?).unwrap_or(0),
        status: AttemptStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("attempt status", UnknownName(status)))?,
        code: get(row, "code")?,
        actor: opt_json(row, "actor")?,
        execution: opt_json(row, "execution")?,
        critique: opt_json(row, "critique")?,
        critic: opt_json(row, "critic")?,
        feedback: opt_json(row, "feedback")?,
        started_at: Timestamp::from_millis(get(row, "started_at")?),
        finished_at: ts(get(row, "finished_at")?),
    })
}

pub(crate) fn event(row: &SqliteRow) -> Result<Event, StoreError> {
    let kind: String = get(row, "type")?;
    Ok(Event {
        job_id: job_id_col(row, "job_id")?,
        seq: count(get(row, "seq")?),
        kind: EventType::parse(&kind)
            .ok_or_else(|| StoreError::corrupt("event type", UnknownName(kind)))?,
        data: json("event data", &get::<String>(row, "data")?)?,
        created_at: Timestamp::from_millis(get(row, "created_at")?),
    })
}

fn job_id_col(row: &SqliteRow, col: &str) -> Result<JobId, StoreError> {
    get::<String>(row, col)?
        .parse()
        .map_err(|e| StoreError::corrupt("job id", e))
}

/// Appends an event with the job's next `seq`. The caller has already bumped `last_seq` in
/// the same transaction and passes the new value.
pub(crate) async fn insert_event(
    conn: &mut SqliteConnection,
    job: JobId,
    tenant: &str,
    seq: i64,
    kind: EventType,
    data: Value,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO events (job_id, seq, tenant_id, type, data, created_at) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(job.to_string())
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
