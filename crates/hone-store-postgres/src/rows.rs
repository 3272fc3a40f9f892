//! Mapping Postgres rows to domain types, and the event append shared by every write.

use hone_domain::{
    Attempt, AttemptStatus, Event, EventType, Job, JobId, JobStatus, Timestamp, Usage,
};
use hone_store::{StoreError, UnknownName};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use crate::db_err;

/// The columns every job query selects.
pub(crate) const JOB_COLUMNS: &str = "id, status, created_at, started_at, finished_at, \
    iterations::bigint AS iterations, outcome::text AS outcome, prompt_tokens, \
    completion_tokens, total_tokens, spec::text AS spec, cancel_requested, \
    requeues::bigint AS requeues, lease_losses::bigint AS lease_losses";

/// The columns every attempt query selects (JSON as text, so both backends decode alike).
pub(crate) const ATTEMPT_COLUMNS: &str = "iteration::bigint AS iteration, status, code, \
    actor::text AS actor, execution::text AS execution, critique::text AS critique, \
    critic::text AS critic, feedback::text AS feedback, started_at, finished_at";

/// The columns every event query selects.
pub(crate) const EVENT_COLUMNS: &str = "job_id, seq, type, data::text AS data, created_at";

fn get<'r, T>(row: &'r PgRow, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(col).map_err(db_err)
}

fn json<T: DeserializeOwned>(what: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

fn opt_json<T: DeserializeOwned>(row: &PgRow, col: &'static str) -> Result<Option<T>, StoreError> {
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

pub(crate) fn job_id(row: &PgRow) -> Result<JobId, StoreError> {
    get::<uuid::Uuid>(row, "id").map(JobId)
}

pub(crate) fn job(row: &PgRow) -> Result<Job, StoreError> {
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
        cancel_requested: get::<bool>(row, "cancel_requested")?,
        requeues: u32::try_from(get::<i64>(row, "requeues")?).unwrap_or(0),
        lease_losses: u32::try_from(get::<i64>(row, "lease_losses")?).unwrap_or(0),
    })
}

pub(crate) fn attempt(row: &PgRow) -> Result<Attempt, StoreError> {
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

pub(crate) fn event(row: &PgRow) -> Result<Event, StoreError> {
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

fn job_id_col(row: &PgRow, col: &str) -> Result<JobId, StoreError> {
    get::<uuid::Uuid>(row, col).map(JobId)
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
