//! Hourly stats rollups: folding ended jobs into them (the compactor's
//! [`hone_store::Retention::fold_stats`]) and taking pruned jobs out of them. The tables and
//! the queue of ended jobs (`stats_fold`) are migration 21's; [`crate::history::stats`]
//! reads them.
//!
//! Both run under one lock (an advisory lock on Postgres; SQLite's single writer) and mark
//! the jobs of their batch in `stats_fold` (`taken`) first, so every statement of the batch
//! reads the same set, however many jobs end meanwhile.

pub(crate) mod bins;
pub(crate) mod window;

use std::collections::BTreeMap;

use hone_store::StoreError;
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::rows::get;
use crate::{Backend, SqlStore, db_err};

/// The lock folds and prunes take.
const LOCK: &str = "hone_stats_rollups";
/// The batch's jobs: those marked in the fold queue.
const TAKEN: &str = "SELECT job_id FROM stats_fold WHERE taken";
/// Rows of one multi-row `INSERT` into `stats_times` (6 binds a row).
const TIMES_PER_STATEMENT: usize = 500;

/// The hour (unix ms) of column `c`.
fn hour(c: &str) -> String {
    format!("{c} - {c} % 3600000")
}

/// The statements that add the jobs of [`TAKEN`] to the rollups, each figure times `$1`
/// (1 to fold, -1 to take out): jobs, tags, attempts and critique issues. Durations are
/// binned in Rust ([`times`]).
fn statements<B: Backend>() -> [String; 4] {
    let (jh, ah) = (hour("j.created_at"), hour("a.started_at"));
    let tokens = |c: &str| format!("$1 * CAST(COALESCE(sum({c}), 0) AS BIGINT)");
    let jobs = format!(
        "INSERT INTO stats_jobs (tenant_id, hour, status, reason, iterations, model, language, \
            n, tokens, first_passed) \
         SELECT j.tenant_id, {jh}, j.status, COALESCE(j.reason, ''), j.iterations, \
            COALESCE(j.model, ''), j.language, $1 * count(*), {}, \
            $1 * CAST(sum(CASE WHEN j.first_passed THEN 1 ELSE 0 END) AS BIGINT) \
         FROM jobs j WHERE j.id IN ({TAKEN}) GROUP BY 1, 2, 3, 4, 5, 6, 7 \
         ON CONFLICT (tenant_id, hour, status, reason, iterations, model, language) DO UPDATE \
         SET n = stats_jobs.n + excluded.n, tokens = stats_jobs.tokens + excluded.tokens, \
            first_passed = stats_jobs.first_passed + excluded.first_passed",
        tokens("j.total_tokens")
    );
    let tags = format!(
        "INSERT INTO stats_tags (tenant_id, hour, tag, status, n, tokens) \
         SELECT j.tenant_id, {jh}, t.tag, j.status, $1 * count(*), {} \
         FROM jobs j JOIN job_tags t ON t.job_id = j.id WHERE j.id IN ({TAKEN}) \
         GROUP BY 1, 2, 3, 4 \
         ON CONFLICT (tenant_id, hour, tag, status) DO UPDATE \
         SET n = stats_tags.n + excluded.n, tokens = stats_tags.tokens + excluded.tokens",
        tokens("j.total_tokens")
    );
    let attempts = format!(
        "INSERT INTO stats_attempts (tenant_id, hour, actor_model, critic_model, error_type, \
            n, ap, ac, cp, cc) \
         SELECT a.tenant_id, {ah}, COALESCE(a.actor_model, ''), COALESCE(a.critic_model, ''), \
            COALESCE(a.error_type, ''), $1 * count(*), {}, {}, {}, {} \
         FROM attempts a WHERE a.job_id IN ({TAKEN}) AND a.started_at IS NOT NULL \
         GROUP BY 1, 2, 3, 4, 5 \
         ON CONFLICT (tenant_id, hour, actor_model, critic_model, error_type) DO UPDATE \
         SET n = stats_attempts.n + excluded.n, ap = stats_attempts.ap + excluded.ap, \
            ac = stats_attempts.ac + excluded.ac, cp = stats_attempts.cp + excluded.cp, \
            cc = stats_attempts.cc + excluded.cc",
        tokens("a.actor_prompt_tokens"),
        tokens("a.actor_completion_tokens"),
        tokens("a.critic_prompt_tokens"),
        tokens("a.critic_completion_tokens")
    );
    let (from, field) = B::critique_issues("a.critique");
    let issues = format!(
        "INSERT INTO stats_issues (tenant_id, hour, severity, category, n) \
         SELECT a.tenant_id, {ah}, COALESCE({}, ''), COALESCE({}, ''), $1 * count(*) \
         FROM attempts a, {from} \
         WHERE a.job_id IN ({TAKEN}) AND a.started_at IS NOT NULL AND a.critique IS NOT NULL \
         GROUP BY 1, 2, 3, 4 \
         ON CONFLICT (tenant_id, hour, severity, category) DO UPDATE \
         SET n = stats_issues.n + excluded.n",
        field("severity"),
        field("category")
    );
    [jobs, tags, attempts, issues]
}

/// Adds the jobs of [`TAKEN`] to the rollups (`sign` 1) or takes them out (-1), on `conn`
/// inside the caller's transaction.
#[apply(sql)]
pub(crate) async fn add_taken<B>(conn: &mut B::Connection, sign: i64) -> Result<(), StoreError> {
    for sql in statements::<B>() {
        sqlx::query(AssertSqlSafe(sql))
            .bind(sign)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    times::<B>(conn, sign).await
}

/// The duration and queue-wait histograms of the jobs of [`TAKEN`] that started.
#[apply(sql)]
async fn times<B>(conn: &mut B::Connection, sign: i64) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT j.tenant_id AS t, {} AS h, j.finished_at - j.started_at AS d, \
            j.started_at - j.created_at AS w \
         FROM jobs j WHERE j.id IN ({TAKEN}) AND j.started_at IS NOT NULL",
        hour("j.created_at")
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut bins = BTreeMap::<(String, i64, &'static str, i64), (i64, i64)>::new();
    let mut add = |key: (String, i64, &'static str), v: i64| {
        let e = bins
            .entry((key.0, key.1, key.2, bins::bin(v)))
            .or_insert((v.max(0), 0));
        e.0 = e.0.min(v.max(0));
        e.1 += sign;
    };
    for row in &rows {
        let (t, h) = (get::<B, String>(row, "t")?, get::<B, i64>(row, "h")?);
        if let Some(d) = get::<B, Option<i64>>(row, "d")? {
            add((t.clone(), h, "d"), d);
        }
        if let Some(w) = get::<B, Option<i64>>(row, "w")? {
            add((t, h, "w"), w);
        }
    }
    let bins: Vec<_> = bins.into_iter().collect();
    for chunk in bins.chunks(TIMES_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p = i * 6;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    p + 1,
                    p + 2,
                    p + 3,
                    p + 4,
                    p + 5,
                    p + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO stats_times (tenant_id, hour, kind, bin, lo, n) VALUES {} \
             ON CONFLICT (tenant_id, hour, kind, bin) DO UPDATE \
             SET n = stats_times.n + excluded.n, \
                lo = CASE WHEN excluded.lo < stats_times.lo THEN excluded.lo \
                     ELSE stats_times.lo END",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((t, h, kind, bin), (lo, n)) in chunk {
            query = query
                .bind(t.as_str())
                .bind(*h)
                .bind(*kind)
                .bind(*bin)
                .bind(*lo)
                .bind(*n);
        }
        query.execute(&mut *conn).await.map_err(db_err)?;
    }
    Ok(())
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Folds up to `limit` ended jobs into the rollups in one transaction; returns how many.
    pub(crate) async fn fold_stats(&self, limit: u32) -> Result<u64, StoreError> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        B::lock_key(&mut tx, LOCK).await.map_err(db_err)?;
        let marked = sqlx::query(AssertSqlSafe(format!(
            "UPDATE stats_fold SET taken = TRUE WHERE job_id IN \
             (SELECT job_id FROM stats_fold ORDER BY job_id LIMIT {}) RETURNING 1 AS marked",
            limit.max(1)
        )))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .len() as u64;
        if marked == 0 {
            return Ok(0);
        }
        add_taken::<B>(&mut tx, 1).await?;
        sqlx::query("DELETE FROM stats_fold WHERE taken")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(marked)
    }

    /// Deletes up to `limit` jobs that `prunable` (a condition on `jobs` over `$1`, the cut)
    /// selects, taking the folded ones out of the rollups first, in one transaction; jobs
    /// still waiting to be folded are folded first. Returns how many were deleted.
    pub(crate) async fn prune_folded(
        &self,
        prunable: &str,
        cut: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        while self.fold_stats(5_000).await? > 0 {}
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        B::lock_key(&mut tx, LOCK).await.map_err(db_err)?;
        let marked = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO stats_fold (job_id, tenant_id, taken) \
             SELECT id, tenant_id, TRUE FROM jobs WHERE {prunable} \
             AND NOT EXISTS (SELECT 1 FROM stats_fold f WHERE f.job_id = jobs.id) LIMIT {} \
             RETURNING 1 AS marked",
            limit.max(1)
        )))
        .bind(cut)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .len();
        if marked == 0 {
            return Ok(0);
        }
        add_taken::<B>(&mut tx, -1).await?;
        let deleted = sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM jobs WHERE id IN ({TAKEN}) RETURNING 1 AS gone"
        )))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?
        .len() as u64;
        sqlx::query("DELETE FROM stats_fold WHERE taken")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(deleted)
    }
}
