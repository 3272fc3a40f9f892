//! The worker side of the SQLite store: claims, heartbeats and the step writes, each one
//! transaction on the single writer connection, guarded by the lease.

use hone_domain::{
    AttemptStatus, Critique, EventType, Execution, Feedback, JobStatus, ModelCall, TenantId,
    Timestamp, Usage,
};
use hone_store::{ClaimJobs, Claimed, FinishJob, JobControl, Lease, StoreError};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Row, SqliteConnection, SqlitePool};

use crate::db_err;
use crate::rows::{self, JOB_COLUMNS};
use hone_store_sql::events::insert_event;

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_json<T: Serialize>(what: &'static str, v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::corrupt(what, e))
}

pub(crate) async fn claim_jobs(
    pool: &SqlitePool,
    claim: ClaimJobs,
) -> Result<Vec<(Claimed, i64)>, StoreError> {
    let now = Timestamp::now().as_millis();
    let mut tx = pool.begin().await.map_err(db_err)?;
    let sql = format!(
        "UPDATE jobs SET status = 'running', lease_owner = ?, lease_expires_at = ?, \
         started_at = COALESCE(started_at, ?), updated_at = ?, last_seq = last_seq + 1, \
         lease_losses = lease_losses + CASE WHEN status = 'running' THEN 1 ELSE 0 END \
         WHERE id IN (SELECT id FROM ( \
            SELECT id, priority, tenant_id, \
               ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY priority DESC, id) AS rank \
            FROM jobs \
            WHERE (status = 'queued' AND available_at <= ?) \
               OR (status = 'running' AND lease_expires_at < ?)) c \
            WHERE ? IS NULL OR c.rank + (SELECT COUNT(*) FROM jobs r \
               WHERE r.tenant_id = c.tenant_id AND r.status = 'running' \
               AND r.lease_expires_at >= ?) <= ? \
            ORDER BY priority DESC, id LIMIT ?) \
         RETURNING {JOB_COLUMNS}, last_seq, tenant_id"
    );
    let cap = claim.per_tenant.map(i64::from);
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(&claim.worker)
        .bind(now + ms(claim.lease_ms))
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(cap)
        .bind(now)
        .bind(cap)
        .bind(i64::from(claim.limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    let mut claimed = Vec::with_capacity(found.len());
    for row in &found {
        let job = rows::job(row)?;
        let seq: i64 = row.try_get("last_seq").map_err(db_err)?;
        let tenant: String = row.try_get("tenant_id").map_err(db_err)?;
        insert_event::<sqlx::Sqlite>(
            &mut tx,
            job.id,
            &tenant,
            seq,
            EventType::JobStarted,
            json!({"status": "running", "iteration": job.iterations, "worker": claim.worker}),
            now,
        )
        .await?;
        let lease = Lease {
            job: job.id,
            worker: claim.worker.clone(),
        };
        claimed.push((
            Claimed {
                job,
                lease,
                tenant: TenantId(tenant),
            },
            seq,
        ));
    }
    tx.commit().await.map_err(db_err)?;
    claimed.sort_by(|(a, _), (b, _)| {
        b.job
            .spec
            .priority
            .cmp(&a.job.spec.priority)
            .then(a.job.id.cmp(&b.job.id))
    });
    Ok(claimed)
}

pub(crate) async fn heartbeat(
    pool: &SqlitePool,
    lease: &Lease,
    lease_ms: u64,
) -> Result<JobControl, StoreError> {
    let now = Timestamp::now().as_millis();
    let cancel: Option<i64> = sqlx::query_scalar(
        "UPDATE jobs SET lease_expires_at = ? \
         WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING cancel_requested",
    )
    .bind(now + ms(lease_ms))
    .bind(lease.job.to_string())
    .bind(&lease.worker)
    .fetch_optional(pool)
    .await
    .map_err(db_err)?;
    match cancel {
        Some(c) => Ok(JobControl {
            cancel_requested: c != 0,
        }),
        None => Err(StoreError::LeaseLost(lease.job)),
    }
}

/// Checks the lease, takes the job's next event seq and adds `usage` to its totals.
/// Returns `(seq, tenant)`.
async fn bump(
    conn: &mut SqliteConnection,
    lease: &Lease,
    usage: Usage,
    now: i64,
) -> Result<(i64, String), StoreError> {
    let row = sqlx::query(
        "UPDATE jobs SET last_seq = last_seq + 1, updated_at = ?, \
         prompt_tokens = prompt_tokens + ?, completion_tokens = completion_tokens + ?, \
         total_tokens = total_tokens + ? \
         WHERE id = ? AND lease_owner = ? AND status = 'running' RETURNING last_seq, tenant_id",
    )
    .bind(now)
    .bind(ms(usage.prompt_tokens))
    .bind(ms(usage.completion_tokens))
    .bind(ms(usage.total_tokens))
    .bind(lease.job.to_string())
    .bind(&lease.worker)
    .fetch_optional(conn)
    .await
    .map_err(db_err)?
    .ok_or(StoreError::LeaseLost(lease.job))?;
    Ok((
        row.try_get("last_seq").map_err(db_err)?,
        row.try_get("tenant_id").map_err(db_err)?,
    ))
}

/// What one attempt step writes besides its own columns.
struct Step {
    iteration: u32,
    name: &'static str,
    usage: Usage,
    kind: EventType,
    data: Value,
}

/// One guarded step: bump the job, run `update` on the attempt (it must touch one row, else
/// the step exists), append the event.
async fn step(
    pool: &SqlitePool,
    lease: &Lease,
    update: sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    step: Step,
) -> Result<i64, StoreError> {
    let now = Timestamp::now().as_millis();
    let mut tx = pool.begin().await.map_err(db_err)?;
    let (seq, tenant) = bump(&mut tx, lease, step.usage, now).await?;
    let done = update.execute(&mut *tx).await.map_err(db_err)?;
    if done.rows_affected() != 1 {
        return Err(StoreError::StepExists {
            job: lease.job,
            iteration: step.iteration,
            step: step.name,
        });
    }
    insert_event::<sqlx::Sqlite>(&mut tx, lease.job, &tenant, seq, step.kind, step.data, now)
        .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(seq)
}

pub(crate) async fn start_attempt(
    pool: &SqlitePool,
    lease: &Lease,
    iteration: u32,
) -> Result<i64, StoreError> {
    let now = Timestamp::now().as_millis();
    let mut tx = pool.begin().await.map_err(db_err)?;
    let (seq, tenant) = bump(&mut tx, lease, Usage::default(), now).await?;
    sqlx::query("UPDATE jobs SET iterations = ? WHERE id = ?")
        .bind(i64::from(iteration))
        .bind(lease.job.to_string())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    let inserted = sqlx::query(
        "INSERT INTO attempts (job_id, iteration, tenant_id, status, started_at) \
         VALUES (?, ?, ?, 'running', ?) ON CONFLICT DO NOTHING",
    )
    .bind(lease.job.to_string())
    .bind(i64::from(iteration))
    .bind(&tenant)
    .bind(now)
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    if inserted.rows_affected() != 1 {
        return Err(StoreError::StepExists {
            job: lease.job,
            iteration,
            step: "attempt",
        });
    }
    let data = json!({"iteration": iteration});
    insert_event::<sqlx::Sqlite>(
        &mut tx,
        lease.job,
        &tenant,
        seq,
        EventType::AttemptStarted,
        data,
        now,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok(seq)
}

pub(crate) async fn record_actor_output(
    pool: &SqlitePool,
    lease: &Lease,
    iteration: u32,
    code: &str,
    call: &ModelCall,
) -> Result<i64, StoreError> {
    let update = sqlx::query(
        "UPDATE attempts SET code = ?, actor = ? \
         WHERE job_id = ? AND iteration = ? AND code IS NULL AND status = 'running'",
    )
    .bind(code.to_owned())
    .bind(to_json("actor call", call)?)
    .bind(lease.job.to_string())
    .bind(i64::from(iteration));
    let data = json!({"iteration": iteration, "code_bytes": code.len()});
    step(
        pool,
        lease,
        update,
        Step {
            iteration,
            name: "code",
            usage: call.usage,
            kind: EventType::AttemptCode,
            data,
        },
    )
    .await
}

pub(crate) async fn record_execution(
    pool: &SqlitePool,
    lease: &Lease,
    iteration: u32,
    execution: &Execution,
) -> Result<i64, StoreError> {
    let update = sqlx::query(
        "UPDATE attempts SET execution = ? \
         WHERE job_id = ? AND iteration = ? AND code IS NOT NULL AND execution IS NULL \
         AND status = 'running'",
    )
    .bind(to_json("execution", execution)?)
    .bind(lease.job.to_string())
    .bind(i64::from(iteration));
    let data = json!({"iteration": iteration, "status": execution.status,
                      "duration_ms": execution.duration_ms});
    let kind = EventType::AttemptExecuted;
    step(
        pool,
        lease,
        update,
        Step {
            iteration,
            name: "execution",
            usage: Usage::default(),
            kind,
            data,
        },
    )
    .await
}

pub(crate) async fn record_critique(
    pool: &SqlitePool,
    lease: &Lease,
    iteration: u32,
    critique: &Critique,
    call: &ModelCall,
) -> Result<i64, StoreError> {
    let update = sqlx::query(
        "UPDATE attempts SET critique = ?, critic = ? \
         WHERE job_id = ? AND iteration = ? AND critique IS NULL AND status = 'running'",
    )
    .bind(to_json("critique", critique)?)
    .bind(to_json("critic call", call)?)
    .bind(lease.job.to_string())
    .bind(i64::from(iteration));
    let data = json!({"iteration": iteration, "verdict": critique.verdict});
    let kind = EventType::AttemptCritiqued;
    step(
        pool,
        lease,
        update,
        Step {
            iteration,
            name: "critique",
            usage: call.usage,
            kind,
            data,
        },
    )
    .await
}

pub(crate) async fn finish_attempt(
    pool: &SqlitePool,
    lease: &Lease,
    iteration: u32,
    status: AttemptStatus,
    feedback: Option<&Feedback>,
) -> Result<i64, StoreError> {
    let feedback = feedback.map(|f| to_json("feedback", f)).transpose()?;
    let update = sqlx::query(
        "UPDATE attempts SET status = ?, feedback = ?, finished_at = ? \
         WHERE job_id = ? AND iteration = ? AND status = 'running'",
    )
    .bind(status.as_str())
    .bind(feedback)
    .bind(Timestamp::now().as_millis())
    .bind(lease.job.to_string())
    .bind(i64::from(iteration));
    let data = json!({"iteration": iteration, "status": status});
    let kind = EventType::AttemptFinished;
    step(
        pool,
        lease,
        update,
        Step {
            iteration,
            name: "decision",
            usage: Usage::default(),
            kind,
            data,
        },
    )
    .await
}

pub(crate) async fn finish_job(
    pool: &SqlitePool,
    lease: &Lease,
    finish: FinishJob,
) -> Result<i64, StoreError> {
    let kind = match finish.status {
        JobStatus::Succeeded => EventType::JobSucceeded,
        JobStatus::Cancelled => EventType::JobCancelled,
        _ => EventType::JobFailed,
    };
    let status = match kind {
        EventType::JobSucceeded => "succeeded",
        EventType::JobCancelled => "cancelled",
        _ => "failed",
    };
    let now = Timestamp::now().as_millis();
    let mut tx = pool.begin().await.map_err(db_err)?;
    let (seq, tenant) = bump(&mut tx, lease, Usage::default(), now).await?;
    sqlx::query(
        "UPDATE jobs SET status = ?, outcome = ?, finished_at = ?, lease_owner = NULL, \
         lease_expires_at = NULL, cancel_requested = 0 WHERE id = ?",
    )
    .bind(status)
    .bind(to_json("outcome", &finish.outcome)?)
    .bind(now)
    .bind(lease.job.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    sqlx::query(
        "UPDATE attempts SET status = 'cancelled', finished_at = ? \
         WHERE job_id = ? AND status = 'running'",
    )
    .bind(now)
    .bind(lease.job.to_string())
    .execute(&mut *tx)
    .await
    .map_err(db_err)?;
    let data = json!({"status": status, "reason": finish.outcome.reason,
                      "accepted_iteration": finish.outcome.accepted_iteration});
    insert_event::<sqlx::Sqlite>(&mut tx, lease.job, &tenant, seq, kind, data, now).await?;
    tx.commit().await.map_err(db_err)?;
    Ok(seq)
}

/// Sends the job back to the queue; `counted` adds one to its infrastructure-error count.
pub(crate) async fn requeue_job(
    pool: &SqlitePool,
    lease: &Lease,
    reason: &str,
    delay_ms: u64,
    counted: bool,
) -> Result<(u32, i64), StoreError> {
    let now = Timestamp::now().as_millis();
    let mut tx = pool.begin().await.map_err(db_err)?;
    let (seq, tenant) = bump(&mut tx, lease, Usage::default(), now).await?;
    let requeues: i64 = sqlx::query_scalar(
        "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, \
         available_at = ?, requeues = requeues + ? WHERE id = ? RETURNING requeues",
    )
    .bind(now + ms(delay_ms))
    .bind(i32::from(counted))
    .bind(lease.job.to_string())
    .fetch_one(&mut *tx)
    .await
    .map_err(db_err)?;
    let data = json!({"status": "queued", "reason": reason, "requeues": requeues});
    insert_event::<sqlx::Sqlite>(
        &mut tx,
        lease.job,
        &tenant,
        seq,
        EventType::JobRequeued,
        data,
        now,
    )
    .await?;
    tx.commit().await.map_err(db_err)?;
    Ok((u32::try_from(requeues).unwrap_or(u32::MAX), seq))
}
