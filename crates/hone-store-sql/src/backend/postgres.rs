//! Postgres as a [`Backend`]: native `UUID` ids, `FOR UPDATE SKIP LOCKED` claims, steps in
//! one statement, and signals across processes through `NOTIFY` / `LISTEN`
//! (`hone_jobs` when a job is queued, `hone_cancel, '<job id>'` when a running job is to be
//! cancelled, `hone_events, '<job id> <seq>'` for every event), each sent right after the
//! commit of the change by the store's [`Notifier`].

use std::sync::LazyLock;

use hone_domain::JobId;
use hone_store::{EventSignal, Signal, StoreError};
use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, PgPool, Postgres, Row};
use tokio::sync::mpsc;

use super::notifier::Notifier;
use super::{Announce, Backend};
use crate::db_err;
use crate::intake::jobs::{CANCEL_CHANNEL, JOBS_CHANNEL};
use crate::rows::JOB_COLUMNS;
use crate::work::steps::{Step, Write, bind_step, step_exists};

/// The channel of "an event was committed" (payload: `<job id> <seq>`).
const EVENTS_CHANNEL: &str = "hone_events";

// Candidates are locked first (SKIP LOCKED cannot sit beside a window function), then
// ranked per tenant against the tenant's running jobs.
static CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH cand AS ( \
            SELECT id, priority, tenant_id FROM jobs \
            WHERE ((status = 'queued' AND available_at <= $5) \
               OR (status = 'running' AND lease_expires_at < $6)) \
              AND ($9::text IS NULL OR (strpos($9, ',' || language || ',') > 0 \
                   AND strpos($10, ',' || actor_provider || ',') > 0 \
                   AND (critic_provider IS NULL \
                        OR strpos($10, ',' || critic_provider || ',') > 0))) \
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
         RETURNING {JOB_COLUMNS}, last_seq, tenant_id, trace_parent"
    )
});

impl Backend for Postgres {
    type Id = uuid::Uuid;
    const NAME: &'static str = "postgres";
    const SNAPSHOT: &'static str = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    const SKIP_LOCKED: &'static str = "FOR UPDATE SKIP LOCKED";

    type Hub = Notifier;

    fn json_set(column: &str, sets: &[(&[&str], &str)]) -> String {
        sets.iter().fold(column.to_owned(), |inner, (path, value)| {
            format!(
                "jsonb_set({inner}, '{{{}}}', '{value}'::jsonb)",
                path.join(",")
            )
        })
    }

    fn critique_issues(column: &str) -> (String, fn(&str) -> String) {
        (
            format!("jsonb_array_elements({column} -> 'issues') AS i(issue)"),
            |field| format!("(i.issue ->> '{field}')"),
        )
    }

    fn text_match(param: &str) -> String {
        format!("to_tsvector('english', spec ->> 'task') @@ plainto_tsquery('english', {param})")
    }

    fn lessons_sql() -> &'static str {
        "SELECT job_id, task, lesson FROM lessons, to_tsquery('english', $3) AS q \
         WHERE tenant_id = $1 AND language = $2 \
           AND to_tsvector('english', task || ' ' || lesson) @@ q \
         ORDER BY ts_rank(to_tsvector('english', task || ' ' || lesson), q) DESC, \
                  created_at DESC LIMIT $4"
    }

    /// The words ORed (`a | b`); each is letters and digits only, so nothing in them is
    /// read as `tsquery` syntax.
    fn lessons_query(words: &[String]) -> String {
        words.join(" | ")
    }

    fn text_query(words: &[&str]) -> String {
        words.join(" ")
    }

    fn id(job: JobId) -> Self::Id {
        job.0
    }

    fn job_id(id: Self::Id) -> JobId {
        JobId(id)
    }

    async fn lock_key<'c>(conn: &'c mut Self::Connection, key: &'c str) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(key)
            .execute(conn)
            .await
            .map(|_| ())
    }

    fn claim_sql() -> &'static str {
        &CLAIM
    }

    fn hub(pool: &PgPool) -> Notifier {
        Notifier::new(pool.clone())
    }

    async fn announce(hub: &Notifier, changes: &[Announce]) {
        let notes = changes
            .iter()
            .map(|change| match *change {
                Announce::Queued => (JOBS_CHANNEL, String::new()),
                Announce::Cancel(job) => (CANCEL_CHANNEL, job.to_string()),
                Announce::Appended(job, seq) => (EVENTS_CHANNEL, format!("{job} {seq}")),
            })
            .collect();
        hub.send(notes);
    }

    /// Listens on the job channels. After a lost connection (notifications sent meanwhile
    /// are gone) the listener is told `JobQueued` so it claims; lost cancels are caught by
    /// the lease heartbeat.
    async fn listen(pool: &PgPool, _hub: &Notifier) -> Result<mpsc::Receiver<Signal>, StoreError> {
        let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
        let channels = [JOBS_CHANNEL, CANCEL_CHANNEL];
        listener.listen_all(channels).await.map_err(db_err)?;
        let (out, rx) = mpsc::channel(256);
        tokio::spawn(async move {
            loop {
                let signal = match listener.try_recv().await {
                    Ok(Some(n)) if n.channel() == CANCEL_CHANNEL => {
                        match n.payload().parse::<JobId>() {
                            Ok(id) => Signal::CancelRequested(id),
                            Err(_) => continue,
                        }
                    }
                    Ok(Some(_)) | Ok(None) => Signal::JobQueued,
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN connection failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        Signal::JobQueued
                    }
                };
                if out.send(signal).await.is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }

    /// Listens for committed events. After a lost connection the listener is told `Resync`,
    /// so it re-reads what it follows from the tables.
    async fn listen_events(
        pool: &PgPool,
        _hub: &Notifier,
    ) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
        let mut listener = PgListener::connect_with(pool).await.map_err(db_err)?;
        listener.listen(EVENTS_CHANNEL).await.map_err(db_err)?;
        let (out, rx) = mpsc::channel(4096);
        tokio::spawn(async move {
            loop {
                let signal = match listener.try_recv().await {
                    Ok(Some(n)) => match parse_event(n.payload()) {
                        Some(s) => s,
                        None => continue,
                    },
                    Ok(None) => EventSignal::Resync,
                    Err(e) => {
                        tracing::warn!(error = %e, "LISTEN hone_events failed; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                        EventSignal::Resync
                    }
                };
                if out.send(signal).await.is_err() {
                    return;
                }
            }
        });
        Ok(rx)
    }

    /// One guarded step in one statement (one round trip): lock the job if this worker
    /// holds its lease, write the attempt if the step is not written yet, then take the
    /// job's next event seq, add the usage and append the event. A failed guard writes
    /// nothing.
    async fn write_step(pool: &PgPool, step: Step<'_>) -> Result<i64, StoreError> {
        let (write, iterations) = match &step.write {
            Write::Start => (
                "INSERT INTO attempts (job_id, iteration, tenant_id, status, started_at) \
                 SELECT $1, $3, tenant_id, 'running', $4 FROM guard \
                 ON CONFLICT DO NOTHING RETURNING 1"
                    .to_owned(),
                ", iterations = $3",
            ),
            Write::Update { set, once, .. } => (
                format!(
                    "UPDATE attempts SET {set} WHERE job_id = $1 AND iteration = $3 \
                     AND {once} AND EXISTS (SELECT 1 FROM guard) RETURNING 1"
                ),
                "",
            ),
        };
        let sql = format!(
            "WITH guard AS (
                SELECT id, tenant_id FROM jobs
                WHERE id = $1 AND lease_owner = $2 AND status = 'running' FOR UPDATE),
             attempt AS ({write}),
             bump AS (
                UPDATE jobs SET last_seq = last_seq + 1, updated_at = $4,
                    prompt_tokens = prompt_tokens + $5,
                    completion_tokens = completion_tokens + $6,
                    total_tokens = total_tokens + $7,
                    cache_read_tokens = cache_read_tokens + $10,
                    cache_write_tokens = cache_write_tokens + $11,
                    reasoning_tokens = reasoning_tokens + $12,
                    cost_pusd = cost_pusd + $13 {iterations}
                FROM attempt WHERE jobs.id = $1
                RETURNING jobs.last_seq, jobs.tenant_id),
             ev AS (
                INSERT INTO events (job_id, seq, tenant_id, type, data, created_at)
                SELECT $1, last_seq, tenant_id, $8, $9, $4 FROM bump
                RETURNING seq)
             SELECT (SELECT count(*) FROM guard) AS guarded, (SELECT max(seq) FROM ev) AS seq"
        );
        let row = bind_step(sqlx::query(AssertSqlSafe(sql)), &step)
            .fetch_one(pool)
            .await
            .map_err(db_err)?;
        let guarded: i64 = row.try_get("guarded").map_err(db_err)?;
        let seq: Option<i64> = row.try_get("seq").map_err(db_err)?;
        match (guarded, seq) {
            (0, _) => Err(StoreError::LeaseLost(step.lease.job)),
            (_, None) => Err(step_exists(&step)),
            (_, Some(seq)) => Ok(seq),
        }
    }
}

/// Parses `<job id> <seq>`.
fn parse_event(payload: &str) -> Option<EventSignal> {
    let (job, seq) = payload.split_once(' ')?;
    Some(EventSignal::Appended {
        job: job.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}
