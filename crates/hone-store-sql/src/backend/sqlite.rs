//! SQLite as a [`Backend`]: ids as text, one writer (so claims need no `SKIP LOCKED`), steps
//! as a transaction (SQLite has no data-modifying `WITH`), and signals as in-process
//! broadcasts after each commit: SQLite serves one process.

use std::sync::LazyLock;

use hone_domain::JobId;
use hone_store::{EventSignal, Signal, StoreError};
use sqlx::types::Text;
use sqlx::{AssertSqlSafe, Sqlite, SqlitePool};
use tokio::sync::{broadcast, mpsc};

use super::{Announce, Backend};
use crate::db_err;
use crate::events::insert_event;
use crate::rows::JOB_COLUMNS;
use crate::work::lifecycle::bump;
use crate::work::steps::{Step, Write, bind_step, step_exists};

static CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE jobs SET status = 'running', lease_owner = $1, lease_expires_at = $2, \
         started_at = COALESCE(started_at, $3), updated_at = $4, last_seq = last_seq + 1, \
         lease_losses = lease_losses + CASE WHEN status = 'running' THEN 1 ELSE 0 END \
         WHERE id IN (SELECT id FROM ( \
            SELECT id, priority, tenant_id, \
               ROW_NUMBER() OVER (PARTITION BY tenant_id ORDER BY priority DESC, id) AS rank \
            FROM jobs \
            WHERE ((status = 'queued' AND available_at <= $5) \
               OR (status = 'running' AND lease_expires_at < $6)) \
              AND ($9 IS NULL OR (instr($9, ',' || language || ',') > 0 \
                   AND instr($10, ',' || actor_provider || ',') > 0 \
                   AND (critic_provider IS NULL \
                        OR instr($10, ',' || critic_provider || ',') > 0)))) c \
            WHERE $8 IS NULL OR c.rank + (SELECT COUNT(*) FROM jobs r \
               WHERE r.tenant_id = c.tenant_id AND r.status = 'running' \
               AND r.lease_expires_at >= $5) <= $8 \
            ORDER BY priority DESC, id LIMIT $7) \
         RETURNING {JOB_COLUMNS}, last_seq, tenant_id, trace_parent"
    )
});

/// The in-process channels every clone of a SQLite store shares.
#[derive(Clone)]
pub struct Hub {
    signals: broadcast::Sender<Signal>,
    events: broadcast::Sender<EventSignal>,
}

impl Backend for Sqlite {
    type Id = Text<uuid::Uuid>;
    const NAME: &'static str = "sqlite";
    const SNAPSHOT: &'static str = "";
    const SKIP_LOCKED: &'static str = "";
    type Hub = Hub;

    fn json_set(column: &str, sets: &[(&[&str], &str)]) -> String {
        let pairs: Vec<String> = sets
            .iter()
            .map(|(path, value)| format!("'$.{}', json('{value}')", path.join(".")))
            .collect();
        format!("json_set({column}, {})", pairs.join(", "))
    }

    /// SQLite has no percentile aggregate: the value at the nearest rank, by `OFFSET`.
    fn critique_issues(column: &str) -> (String, fn(&str) -> String) {
        (format!("json_each({column}, '$.issues') AS i"), |field| {
            format!("json_extract(i.value, '$.{field}')")
        })
    }

    fn text_match(param: &str) -> String {
        format!(
            "id IN (SELECT s.job_id FROM jobs_fts f JOIN job_search s ON s.id = f.rowid \
             WHERE jobs_fts MATCH {param})"
        )
    }

    fn lessons_sql() -> &'static str {
        "SELECT l.job_id AS job_id, l.task AS task, l.lesson AS lesson \
         FROM lessons_fts JOIN lessons l ON l.id = lessons_fts.rowid \
         WHERE lessons_fts MATCH $3 AND l.tenant_id = $1 AND l.language = $2 \
         ORDER BY bm25(lessons_fts), l.created_at DESC LIMIT $4"
    }

    /// Each word a quoted FTS5 string, ORed.
    fn lessons_query(words: &[String]) -> String {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// Each word becomes a quoted FTS5 string, so the words are ANDed and nothing in them
    /// is read as FTS5 syntax.
    fn text_query(words: &[&str]) -> String {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn id(job: JobId) -> Self::Id {
        Text(job.0)
    }

    fn job_id(id: Self::Id) -> JobId {
        JobId(id.0)
    }

    async fn lock_key<'c>(
        _conn: &'c mut Self::Connection,
        _key: &'c str,
    ) -> Result<(), sqlx::Error> {
        Ok(())
    }

    fn claim_sql() -> &'static str {
        &CLAIM
    }

    fn hub(_pool: &SqlitePool) -> Hub {
        Hub {
            signals: broadcast::channel(1024).0,
            events: broadcast::channel(4096).0,
        }
    }

    async fn announce(hub: &Hub, changes: &[Announce]) {
        // A send fails only when nobody listens, which is fine.
        for change in changes {
            match *change {
                Announce::Queued => drop(hub.signals.send(Signal::JobQueued)),
                Announce::Cancel(job) => drop(hub.signals.send(Signal::CancelRequested(job))),
                Announce::Appended(job, seq) => {
                    let seq = u64::try_from(seq).unwrap_or(0);
                    drop(hub.events.send(EventSignal::Appended { job, seq }));
                }
            }
        }
    }

    /// A listener that falls behind is told `JobQueued` (it should claim); a lost cancel is
    /// caught by the lease heartbeat.
    async fn listen(_pool: &SqlitePool, hub: &Hub) -> Result<mpsc::Receiver<Signal>, StoreError> {
        Ok(forward(&hub.signals, Signal::JobQueued))
    }

    /// A listener that falls behind is told `Resync`.
    async fn listen_events(
        _pool: &SqlitePool,
        hub: &Hub,
    ) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
        Ok(forward(&hub.events, EventSignal::Resync))
    }

    /// One guarded step in one transaction on the single writer: bump the job under the
    /// lease, write the attempt (it must touch one row, else the step exists), append the
    /// event.
    async fn write_step(pool: &SqlitePool, step: Step<'_>) -> Result<i64, StoreError> {
        let mut tx = pool.begin().await.map_err(db_err)?;
        let (seq, tenant) = bump::<Sqlite>(&mut tx, step.lease, step.usage, step.now).await?;
        let sql = match &step.write {
            Write::Start => {
                let iterations = "UPDATE jobs SET iterations = $3 WHERE id = $1";
                bind_step(sqlx::query(iterations), &step)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                "INSERT INTO attempts (job_id, iteration, tenant_id, status, started_at) \
                 SELECT $1, $3, tenant_id, 'running', $4 FROM jobs WHERE id = $1 \
                 ON CONFLICT DO NOTHING"
                    .to_owned()
            }
            Write::Update { set, once, .. } => {
                format!("UPDATE attempts SET {set} WHERE job_id = $1 AND iteration = $3 AND {once}")
            }
        };
        let done = bind_step(sqlx::query(AssertSqlSafe(sql)), &step)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() != 1 {
            return Err(step_exists(&step));
        }
        let data = step.data.clone();
        insert_event::<Sqlite>(
            &mut tx,
            step.lease.job,
            &tenant,
            seq,
            step.kind,
            data,
            step.now,
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(seq)
    }
}

/// Forwards a broadcast subscription into an mpsc receiver, turning a lag into `lagged`.
fn forward<T: Clone + Send + 'static>(tx: &broadcast::Sender<T>, lagged: T) -> mpsc::Receiver<T> {
    let mut rx = tx.subscribe();
    let (out, listener) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            let signal = match rx.recv().await {
                Ok(s) => s,
                Err(broadcast::error::RecvError::Lagged(_)) => lagged.clone(),
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if out.send(signal).await.is_err() {
                return;
            }
        }
    });
    listener
}
