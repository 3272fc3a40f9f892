//! The worker side of the Postgres store: claims, heartbeats and the step writes, each one
//! transaction on the single writer connection, guarded by the lease.

use hone_domain::{
    AttemptStatus, Critique, EventType, Execution, Feedback, ModelCall, TenantId, Timestamp, Usage,
};
use hone_store::{ClaimJobs, Claimed, Lease, StoreError};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, PgPool, Row};

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
    pool: &PgPool,
    claim: ClaimJobs,
) -> Result<Vec<Claimed>, StoreError> {
    let now = Timestamp::now().as_millis();
    let mut tx = pool.begin().await.map_err(db_err)?;
    // Candidates are locked first (SKIP LOCKED cannot sit beside a window function), then
    // ranked per tenant against the tenant's running jobs.
    let sql = format!(
        "WITH cand AS ( \
            SELECT id, priority, tenant_id FROM jobs \
            WHERE (status = 'queued' AND available_at <= $5) \
               OR (status = 'running' AND lease_expires_at < $6) \
            ORDER BY priority DESC, id LIMIT $7 * 4 FOR UPDATE SKIP LOCKED), \
         ranked AS ( \
            SELECT id, priority, tenant_id, \
               ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY priority DESC, id) AS rank \
            FROM cand), \
         pick AS ( \
            SELECT id AS pick_id FROM ranked c \
            WHERE $8::bigint IS NULL OR c.rank + (SELECT COUNT(*) FROM jobs r \
               WHERE r.tenant_id = c.tenant_id AND r.status = 'running' \
               AND r.lease_expires_at >= $5) <= $8 \
            ORDER BY priority DESC, id LIMIT $7) \
         UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
            started_at = COALESCE(started_at, $3), updated_at = $4, last_seq = last_seq + 1, \
            lease_losses = lease_losses + CASE WHEN status = 'running' THEN 1 ELSE 0 END \
         FROM pick WHERE jobs.id = pick.pick_id \
         RETURNING {JOB_COLUMNS}, last_seq, tenant_id"
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(&claim.worker)
        .bind(now + ms(claim.lease_ms))
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(now)
        .bind(i64::from(claim.limit))
        .bind(claim.per_tenant.map(i64::from))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
    let mut claimed = Vec::with_capacity(found.len());
    for row in &found {
        let job = rows::job(row)?;
        let seq: i64 = row.try_get("last_seq").map_err(db_err)?;
        let tenant: String = row.try_get("tenant_id").map_err(db_err)?;
        insert_event::<sqlx::Postgres>(
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
        claimed.push(Claimed {
            job,
            lease,
            tenant: TenantId(tenant),
        });
    }
    tx.commit().await.map_err(db_err)?;
    claimed.sort_by(|a, b| {
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
    /// The attempt's columns: a `SET` list using `$10`, `$11`, ... and the condition that
    /// makes the step write once.
    set: &'static str,
    once: &'static str,
    params: Vec<Option<String>>,
}

/// One guarded step in one statement (one round trip): lock the job if this worker holds
/// its lease, write the attempt's columns if the step is not written yet, then take the
/// job's next event seq, add the usage and append the event. A failed guard writes nothing.
async fn step(pool: &PgPool, lease: &Lease, step: Step) -> Result<(), StoreError> {
    let now = Timestamp::now().as_millis();
    let sql = format!(
        "WITH guard AS (
            SELECT id FROM jobs WHERE id = $1 AND lease_owner = $2 AND status = 'running'
            FOR UPDATE),
         upd AS (
            UPDATE attempts SET {set}
            WHERE job_id = $1 AND iteration = $3 AND {once} AND EXISTS (SELECT 1 FROM guard)
            RETURNING 1),
         bump AS (
            UPDATE jobs SET last_seq = last_seq + 1, updated_at = $4,
                prompt_tokens = prompt_tokens + $5, completion_tokens = completion_tokens + $6,
                total_tokens = total_tokens + $7
            FROM upd WHERE jobs.id = $1
            RETURNING jobs.last_seq, jobs.tenant_id),
         ev AS (
            INSERT INTO events (job_id, seq, tenant_id, type, data, created_at)
            SELECT $1, last_seq, tenant_id, $8, $9::jsonb, $4 FROM bump
            RETURNING seq)
         SELECT (SELECT count(*) FROM guard) AS guarded, (SELECT count(*) FROM ev) AS written",
        set = step.set,
        once = step.once,
    );
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(lease.job.0)
        .bind(&lease.worker)
        .bind(i64::from(step.iteration))
        .bind(now)
        .bind(ms(step.usage.prompt_tokens))
        .bind(ms(step.usage.completion_tokens))
        .bind(ms(step.usage.total_tokens))
        .bind(step.kind.as_str())
        .bind(step.data.to_string());
    for p in step.params {
        query = query.bind(p);
    }
    let row = query.fetch_one(pool).await.map_err(db_err)?;
    let guarded: i64 = row.try_get("guarded").map_err(db_err)?;
    let written: i64 = row.try_get("written").map_err(db_err)?;
    match (guarded, written) {
        (0, _) => Err(StoreError::LeaseLost(lease.job)),
        (_, 0) => Err(StoreError::StepExists {
            job: lease.job,
            iteration: step.iteration,
            step: step.name,
        }),
        _ => Ok(()),
    }
}

pub(crate) async fn start_attempt(
    pool: &PgPool,
    lease: &Lease,
    iteration: u32,
) -> Result<(), StoreError> {
    // One statement, as for the other steps (see `step`).
    let now = Timestamp::now().as_millis();
    let sql = "WITH guard AS (
            SELECT id, tenant_id FROM jobs
            WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE),
         ins AS (
            INSERT INTO attempts (job_id, iteration, tenant_id, status, started_at)
            SELECT $1, $3, tenant_id, 'running', $4 FROM guard
            ON CONFLICT DO NOTHING RETURNING 1),
         bump AS (
            UPDATE jobs SET last_seq = last_seq + 1, updated_at = $4, iterations = $3
            FROM ins WHERE jobs.id = $1
            RETURNING jobs.last_seq, jobs.tenant_id),
         ev AS (
            INSERT INTO events (job_id, seq, tenant_id, type, data, created_at)
            SELECT $1, last_seq, tenant_id, 'attempt.started', $5::jsonb, $4 FROM bump
            RETURNING seq)
         SELECT (SELECT count(*) FROM guard) AS guarded, (SELECT count(*) FROM ev) AS written";
    let row = sqlx::query(sql)
        .bind(lease.job.0)
        .bind(&lease.worker)
        .bind(i64::from(iteration))
        .bind(now)
        .bind(json!({"iteration": iteration}).to_string())
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    let guarded: i64 = row.try_get("guarded").map_err(db_err)?;
    let written: i64 = row.try_get("written").map_err(db_err)?;
    match (guarded, written) {
        (0, _) => Err(StoreError::LeaseLost(lease.job)),
        (_, 0) => Err(StoreError::StepExists {
            job: lease.job,
            iteration,
            step: "attempt",
        }),
        _ => Ok(()),
    }
}

pub(crate) async fn record_actor_output(
    pool: &PgPool,
    lease: &Lease,
    iteration: u32,
    code: &str,
    call: &ModelCall,
) -> Result<(), StoreError> {
    let data = json!({"iteration": iteration, "code_bytes": code.len()});
    let params = vec![Some(code.to_owned()), Some(to_json("actor call", call)?)];
    step(
        pool,
        lease,
        Step {
            iteration,
            name: "code",
            usage: call.usage,
            kind: EventType::AttemptCode,
            data,
            set: "code = $10, actor = $11::jsonb",
            once: "code IS NULL AND status = 'running'",
            params,
        },
    )
    .await
}

pub(crate) async fn record_execution(
    pool: &PgPool,
    lease: &Lease,
    iteration: u32,
    execution: &Execution,
) -> Result<(), StoreError> {
    let data = json!({"iteration": iteration, "status": execution.status,
                      "duration_ms": execution.duration_ms});
    step(
        pool,
        lease,
        Step {
            iteration,
            name: "execution",
            usage: Usage::default(),
            kind: EventType::AttemptExecuted,
            data,
            set: "execution = $10::jsonb",
            once: "code IS NOT NULL AND execution IS NULL AND status = 'running'",
            params: vec![Some(to_json("execution", execution)?)],
        },
    )
    .await
}

pub(crate) async fn record_critique(
    pool: &PgPool,
    lease: &Lease,
    iteration: u32,
    critique: &Critique,
    call: &ModelCall,
) -> Result<(), StoreError> {
    let data = json!({"iteration": iteration, "verdict": critique.verdict});
    let params = vec![
        Some(to_json("critique", critique)?),
        Some(to_json("critic call", call)?),
    ];
    step(
        pool,
        lease,
        Step {
            iteration,
            name: "critique",
            usage: call.usage,
            kind: EventType::AttemptCritiqued,
            data,
            set: "critique = $10::jsonb, critic = $11::jsonb",
            once: "critique IS NULL AND status = 'running'",
            params,
        },
    )
    .await
}

pub(crate) async fn finish_attempt(
    pool: &PgPool,
    lease: &Lease,
    iteration: u32,
    status: AttemptStatus,
    feedback: Option<&Feedback>,
) -> Result<(), StoreError> {
    let feedback = feedback.map(|f| to_json("feedback", f)).transpose()?;
    let data = json!({"iteration": iteration, "status": status});
    step(
        pool,
        lease,
        Step {
            iteration,
            name: "decision",
            usage: Usage::default(),
            kind: EventType::AttemptFinished,
            data,
            set: "status = $10, feedback = $11::jsonb, finished_at = $4",
            once: "status = 'running'",
            params: vec![Some(status.as_str().to_owned()), feedback],
        },
    )
    .await
}
