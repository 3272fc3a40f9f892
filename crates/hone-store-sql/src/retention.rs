//! Retention: deleting finished jobs older than a cut, a batch at a time. A job's attempts,
//! events, webhook outbox rows and their delivery tries, tags, labels and search entry go
//! with it (foreign keys `ON DELETE CASCADE`; the SQLite full-text index by trigger).
//! Batches are small and each is its own transaction, so the engine and the API keep
//! writing in between; on Postgres, rows another transaction holds are skipped, not waited
//! for.

use async_trait::async_trait;
use hone_domain::Timestamp;
use hone_store::{Retention, StoreError};
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::{SqlStore, db_err};

/// The condition a prunable job meets, over `$1` (the cut, unix ms).
const PRUNABLE: &str = "status IN ('succeeded', 'failed', 'cancelled') AND finished_at IS NOT NULL AND finished_at < $1";

#[apply(sql)]
#[async_trait]
impl<B> Retention for SqlStore<B> {
    /// How many finished jobs ended before `cut`.
    async fn count_prunable(&self, cut: Timestamp) -> Result<u64, StoreError> {
        let sql = format!("SELECT count(*) AS n FROM jobs WHERE {PRUNABLE}");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(cut.as_millis())
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let n: i64 = crate::rows::get::<B, _>(&row, "n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Deletes up to `limit` finished jobs that ended before `cut`, with everything of
    /// theirs; returns how many. When fewer than `limit` were left, batch idempotency
    /// records made before the cut go too (the jobs they name are gone or going).
    async fn prune_batch(&self, cut: Timestamp, limit: u32) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE {PRUNABLE} \
             LIMIT {} {}) RETURNING 1 AS gone",
            limit.max(1),
            B::SKIP_LOCKED
        );
        // `fetch_all`: a row-returning autocommit statement read to its end commits at once.
        let mut tries = 0;
        let deleted = loop {
            tries += 1;
            let done = sqlx::query(AssertSqlSafe(sql.as_str()))
                .bind(cut.as_millis())
                .fetch_all(&self.writer)
                .await;
            match done {
                Err(e) if tries < 3 && crate::intake::jobs::is_stale_schema(&e) => continue,
                other => break other.map_err(db_err)?,
            }
        };
        let n = deleted.len() as u64;
        if n < u64::from(limit) {
            sqlx::query("DELETE FROM batches WHERE created_at < $1")
                .bind(cut.as_millis())
                .execute(&self.writer)
                .await
                .map_err(db_err)?;
        }
        Ok(n)
    }
}
