//! The worker side of the SQLite store: claims, heartbeats and the step writes, each one
//! transaction on the single writer connection, guarded by the lease.

use hone_domain::{
    AttemptStatus, Critique, EventType, Execution, Feedback, ModelCall, TenantId, Timestamp, Usage,
};
use hone_store::{ClaimJobs, Claimed, Lease, StoreError};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use crate::db_err;
use crate::rows::{self, JOB_COLUMNS};
use hone_store_sql::events::insert_event;
use hone_store_sql::lifecycle::bump;

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
    let (seq, tenant) = bump::<sqlx::Sqlite>(&mut tx, lease, step.usage, now).await?;
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
    let (seq, tenant) = bump::<sqlx::Sqlite>(&mut tx, lease, Usage::default(), now).await?;
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
