//! Rows to domain types, once for both databases. JSON columns are selected as text
//! (`CAST(col AS TEXT)`: Postgres `JSONB`, SQLite `TEXT`) and parsed here; ids go through
//! the backend's id type.

use hone_domain::{
    Attempt, AttemptStatus, Event, EventType, Job, JobId, JobStatus, Timestamp, Usage,
};
use hone_store::{StoreError, UnknownName};
use serde::de::DeserializeOwned;
use sqlx::Row;

use crate::{Backend, db_err};

/// The columns a job query selects, in the form [`job`] reads.
pub const JOB_COLUMNS: &str = "id, status, created_at, started_at, finished_at, iterations, \
    CAST(outcome AS TEXT) AS outcome, prompt_tokens, completion_tokens, total_tokens, \
    cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_pusd, CAST(spec AS TEXT) AS spec, cancel_requested, requeues, lease_losses, retry_of, retried_as";

/// The columns an attempt query selects, in the form [`attempt`] reads.
pub const ATTEMPT_COLUMNS: &str = "iteration, status, code, CAST(actor AS TEXT) AS actor, \
    CAST(execution AS TEXT) AS execution, CAST(critique AS TEXT) AS critique, \
    CAST(critic AS TEXT) AS critic, CAST(feedback AS TEXT) AS feedback, started_at, \
    finished_at, CAST(candidates AS TEXT) AS candidates, CAST(lessons AS TEXT) AS lessons";

/// [`ATTEMPT_COLUMNS`] as the exports read them: each run without its output (`stdout` and
/// `stderr` empty, no per-case results) and no candidates, so a page of attempts costs the
/// same whatever the programs printed.
pub fn brief_attempt_columns<B: Backend>() -> String {
    let execution = B::json_set(
        "execution",
        &[
            (&["stdout"], "\"\""),
            (&["stderr"], "\"\""),
            (&["test_cases"], "[]"),
        ],
    );
    format!(
        "iteration, status, code, CAST(actor AS TEXT) AS actor, \
         CAST({execution} AS TEXT) AS execution, CAST(critique AS TEXT) AS critique, \
         CAST(critic AS TEXT) AS critic, CAST(feedback AS TEXT) AS feedback, started_at, \
         finished_at, CAST(NULL AS TEXT) AS candidates, CAST(lessons AS TEXT) AS lessons"
    )
}

/// The columns an event query selects, in the form [`event`] reads.
pub const EVENT_COLUMNS: &str = "job_id, seq, type, CAST(data AS TEXT) AS data, created_at";

fn json<T: DeserializeOwned>(what: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(what, e))
}

fn opt_json<T: DeserializeOwned>(
    what: &'static str,
    text: Option<String>,
) -> Result<Option<T>, StoreError> {
    text.map(|t| json(what, &t)).transpose()
}

fn ts(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn small(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// Reads one column; a missing column or a type mismatch is a database error.
pub fn get<'r, B, T>(row: &'r B::Row, col: &str) -> Result<T, StoreError>
where
    B: Backend,
    T: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
{
    row.try_get(col).map_err(db_err)
}

/// Reads a job id column.
pub fn job_id_col<B>(row: &B::Row, col: &str) -> Result<JobId, StoreError>
where
    B: Backend,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
{
    get::<B, B::Id>(row, col).map(B::job_id)
}

/// A job, from [`JOB_COLUMNS`].
pub fn job<B>(row: &B::Row) -> Result<Job, StoreError>
where
    B: Backend,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
    for<'r> i64: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> bool: sqlx::Decode<'r, B> + sqlx::Type<B>,
{
    let status: String = get::<B, _>(row, "status")?;
    let spec: hone_domain::JobSpec = json("spec", &get::<B, String>(row, "spec")?)?;
    Ok(Job {
        id: job_id_col::<B>(row, "id")?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("job status", UnknownName(status)))?,
        created_at: Timestamp::from_millis(get::<B, _>(row, "created_at")?),
        started_at: ts(get::<B, _>(row, "started_at")?),
        finished_at: ts(get::<B, _>(row, "finished_at")?),
        iterations: small(get::<B, _>(row, "iterations")?),
        outcome: opt_json("outcome", get::<B, _>(row, "outcome")?)?,
        usage: Usage {
            prompt_tokens: count(get::<B, _>(row, "prompt_tokens")?),
            completion_tokens: count(get::<B, _>(row, "completion_tokens")?),
            total_tokens: count(get::<B, _>(row, "total_tokens")?),
            cache_read_tokens: count(get::<B, _>(row, "cache_read_tokens")?),
            cache_write_tokens: count(get::<B, _>(row, "cache_write_tokens")?),
            reasoning_tokens: count(get::<B, _>(row, "reasoning_tokens")?),
            cost_usd: hone_domain::Usd::from_picos_i64(get::<B, _>(row, "cost_pusd")?),
        },
        metadata: spec.metadata.clone(),
        tags: spec.tags.clone(),
        retry_of: get::<B, Option<B::Id>>(row, "retry_of")?.map(B::job_id),
        retried_as: get::<B, Option<B::Id>>(row, "retried_as")?.map(B::job_id),
        spec,
        cancel_requested: get::<B, _>(row, "cancel_requested")?,
        requeues: small(get::<B, _>(row, "requeues")?),
        lease_losses: small(get::<B, _>(row, "lease_losses")?),
        waiting_for: None,
    })
}

/// An attempt, from [`ATTEMPT_COLUMNS`].
pub fn attempt<B>(row: &B::Row) -> Result<Attempt, StoreError>
where
    B: Backend,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
    for<'r> i64: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
{
    let status: String = get::<B, _>(row, "status")?;
    Ok(Attempt {
        iteration: small(get::<B, _>(row, "iteration")?),
        status: AttemptStatus::parse(&status)
            .ok_or_else(|| StoreError::corrupt("attempt status", UnknownName(status)))?,
        code: get::<B, _>(row, "code")?,
        actor: opt_json("actor", get::<B, _>(row, "actor")?)?,
        execution: opt_json("execution", get::<B, _>(row, "execution")?)?,
        candidates: opt_json("candidates", get::<B, _>(row, "candidates")?)?.unwrap_or_default(),
        lessons: opt_json("lessons", get::<B, _>(row, "lessons")?)?.unwrap_or_default(),
        critique: opt_json("critique", get::<B, _>(row, "critique")?)?,
        critic: opt_json("critic", get::<B, _>(row, "critic")?)?,
        feedback: opt_json("feedback", get::<B, _>(row, "feedback")?)?,
        started_at: Timestamp::from_millis(get::<B, _>(row, "started_at")?),
        finished_at: ts(get::<B, _>(row, "finished_at")?),
    })
}

/// An event, from [`EVENT_COLUMNS`].
pub fn event<B>(row: &B::Row) -> Result<Event, StoreError>
where
    B: Backend,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
    for<'r> i64: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
{
    let kind: String = get::<B, _>(row, "type")?;
    Ok(Event {
        job_id: job_id_col::<B>(row, "job_id")?,
        seq: count(get::<B, _>(row, "seq")?),
        kind: EventType::parse(&kind)
            .ok_or_else(|| StoreError::corrupt("event type", UnknownName(kind)))?,
        data: json("event data", &get::<B, String>(row, "data")?)?,
        created_at: Timestamp::from_millis(get::<B, _>(row, "created_at")?),
    })
}
