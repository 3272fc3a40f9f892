//! Hourly and daily stats rollups: folding ended jobs into them (the compactor's
//! [`hone_store::Retention::fold_stats`]) and taking pruned jobs out of them. The tables and
//! the queue of ended jobs (`stats_fold`) are migration 21's; [`crate::history::stats`]
//! reads them.
//!
//! Both run under one lock (an advisory lock on Postgres; SQLite's single writer), read the
//! ids of their batch first and name them in every statement of the batch (as literals:
//! ids the database returned, formatted by `Uuid`), so every statement reads the same
//! set however many jobs end meanwhile, and the planner sees exactly how few rows it is:
//! a subquery over the queue was planned as a scan of every attempt when the queue's
//! statistics were stale (a million jobs queued by the migration).

pub(crate) mod bins;
pub(crate) mod window;

use std::collections::BTreeMap;

use hone_domain::JobId;
use hone_store::StoreError;
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::rows::{get, job_id_col};
use crate::{Backend, SqlStore, db_err};

/// The lock folds and prunes take.
const LOCK: &str = "hone_stats_rollups";
/// The ids of a batch as an SQL list (`'…', '…'`), never empty.
fn id_list(ids: &[JobId]) -> String {
    ids.iter()
        .map(|id| format!("'{id}'"))
        .collect::<Vec<_>>()
        .join(", ")
}
/// Rows of one multi-row `INSERT` into `stats_times` (7 binds a row).
const TIMES_PER_STATEMENT: usize = 500;

/// An hour and a day in milliseconds: the widths the rollups keep.
pub(crate) const WIDTHS: [i64; 2] = [HOUR, DAY];
/// An hour, in milliseconds.
pub(crate) const HOUR: i64 = 3_600_000;
/// A UTC day, in milliseconds.
pub(crate) const DAY: i64 = 86_400_000;

/// The start of the span of width `$2` holding column `c`'s time.
fn span(c: &str) -> String {
    format!("{c} - {c} % $2")
}

/// The series: jobs `ids` by status per hour, times `$1` (1 to fold, -1 to take out).
fn series(ids: &str) -> String {
    format!(
        "INSERT INTO stats_series (tenant_id, hour, status, n, tokens) \
         SELECT j.tenant_id, j.created_at - j.created_at % 3600000, j.status, $1 * count(*), \
            $1 * CAST(COALESCE(sum(j.total_tokens), 0) AS BIGINT) \
         FROM jobs j WHERE j.id IN ({ids}) GROUP BY 1, 2, 3 \
         ON CONFLICT (tenant_id, hour, status) DO UPDATE \
         SET n = stats_series.n + excluded.n, tokens = stats_series.tokens + excluded.tokens"
    )
}

/// The statements that add jobs `ids` to the rollups of width `$2`, each figure times `$1`
/// (1 to fold, -1 to take out): jobs, tags, attempts and critique issues. Durations are
/// binned in Rust ([`times`]).
fn statements<B: Backend>(ids: &str) -> [String; 4] {
    let (jh, ah) = (span("j.created_at"), span("a.started_at"));
    let tokens = |c: &str| format!("$1 * CAST(COALESCE(sum({c}), 0) AS BIGINT)");
    let jobs = format!(
        "INSERT INTO stats_jobs (tenant_id, width, at, status, reason, iterations, model, \
            language, n, tokens, first_passed) \
         SELECT j.tenant_id, $2, {jh}, j.status, COALESCE(j.reason, ''), j.iterations, \
            COALESCE(j.model, ''), j.language, $1 * count(*), {}, \
            $1 * CAST(sum(CASE WHEN j.first_passed THEN 1 ELSE 0 END) AS BIGINT) \
         FROM jobs j WHERE j.id IN ({ids}) GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 \
         ON CONFLICT (tenant_id, width, at, status, reason, iterations, model, language) \
         DO UPDATE \
         SET n = stats_jobs.n + excluded.n, tokens = stats_jobs.tokens + excluded.tokens, \
            first_passed = stats_jobs.first_passed + excluded.first_passed",
        tokens("j.total_tokens")
    );
    let tags = format!(
        "INSERT INTO stats_tags (tenant_id, width, at, tag, status, n, tokens) \
         SELECT j.tenant_id, $2, {jh}, t.tag, j.status, $1 * count(*), {} \
         FROM jobs j JOIN job_tags t ON t.job_id = j.id WHERE j.id IN ({ids}) \
         GROUP BY 1, 2, 3, 4, 5 \
         ON CONFLICT (tenant_id, width, at, tag, status) DO UPDATE \
         SET n = stats_tags.n + excluded.n, tokens = stats_tags.tokens + excluded.tokens",
        tokens("j.total_tokens")
    );
    let attempts = format!(
        "INSERT INTO stats_attempts (tenant_id, width, at, actor_model, critic_model, \
            error_type, n, ap, ac, cp, cc) \
         SELECT a.tenant_id, $2, {ah}, COALESCE(a.actor_model, ''), COALESCE(a.critic_model, ''), \
            COALESCE(a.error_type, ''), $1 * count(*), {}, {}, {}, {} \
         FROM attempts a WHERE a.job_id IN ({ids}) AND a.started_at IS NOT NULL \
         GROUP BY 1, 2, 3, 4, 5, 6 \
         ON CONFLICT (tenant_id, width, at, actor_model, critic_model, error_type) DO UPDATE \
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
        "INSERT INTO stats_issues (tenant_id, width, at, severity, category, n) \
         SELECT a.tenant_id, $2, {ah}, COALESCE({}, ''), COALESCE({}, ''), $1 * count(*) \
         FROM attempts a, {from} \
         WHERE a.job_id IN ({ids}) AND a.started_at IS NOT NULL AND a.critique IS NOT NULL \
         GROUP BY 1, 2, 3, 4, 5 \
         ON CONFLICT (tenant_id, width, at, severity, category) DO UPDATE \
         SET n = stats_issues.n + excluded.n",
        field("severity"),
        field("category")
    );
    [jobs, tags, attempts, issues]
}

/// Adds jobs `ids` to the rollups (`sign` 1) or takes them out (-1), on `conn` inside the
/// caller's transaction.
#[apply(sql)]
async fn add_jobs<B>(conn: &mut B::Connection, ids: &str, sign: i64) -> Result<(), StoreError> {
    sqlx::query(AssertSqlSafe(series(ids)))
        .bind(sign)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    for width in WIDTHS {
        for sql in statements::<B>(ids) {
            sqlx::query(AssertSqlSafe(sql))
                .bind(sign)
                .bind(width)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
    }
    times::<B>(conn, ids, sign).await
}

/// The ids (column `id`) that `sql` selects for a batch, `$1` bound to `cut` when given.
#[apply(sql)]
async fn batch<B>(
    conn: &mut B::Connection,
    sql: String,
    cut: Option<i64>,
) -> Result<Vec<JobId>, StoreError> {
    let mut query = sqlx::query(AssertSqlSafe(sql));
    if let Some(cut) = cut {
        query = query.bind(cut);
    }
    query
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?
        .iter()
        .map(|row| job_id_col::<B>(row, "id"))
        .collect()
}

/// The duration and queue-wait histograms of jobs `ids` that started.
#[apply(sql)]
async fn times<B>(conn: &mut B::Connection, ids: &str, sign: i64) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT j.tenant_id AS t, j.created_at AS c, j.finished_at - j.started_at AS d, \
            j.started_at - j.created_at AS w \
         FROM jobs j WHERE j.id IN ({ids}) AND j.started_at IS NOT NULL"
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    // (tenant, width, start, kind, bin) -> (smallest value, count)
    type Key = (String, i64, i64, &'static str, i64);
    let mut bins = BTreeMap::<Key, (i64, i64)>::new();
    let mut add = |t: &str, created: i64, kind: &'static str, v: i64| {
        for width in WIDTHS {
            let start = created - created.rem_euclid(width);
            let key = (t.to_owned(), width, start, kind, bins::bin(v));
            let e = bins.entry(key).or_insert((v.max(0), 0));
            e.0 = e.0.min(v.max(0));
            e.1 += sign;
        }
    };
    for row in &rows {
        let (t, c) = (get::<B, String>(row, "t")?, get::<B, i64>(row, "c")?);
        if let Some(d) = get::<B, Option<i64>>(row, "d")? {
            add(&t, c, "d", d);
        }
        if let Some(w) = get::<B, Option<i64>>(row, "w")? {
            add(&t, c, "w", w);
        }
    }
    let bins: Vec<_> = bins.into_iter().collect();
    for chunk in bins.chunks(TIMES_PER_STATEMENT) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let p: Vec<String> = (1..=7).map(|k| format!("${}", i * 7 + k)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO stats_times (tenant_id, width, at, kind, bin, lo, n) VALUES {} \
             ON CONFLICT (tenant_id, width, at, kind, bin) DO UPDATE \
             SET n = stats_times.n + excluded.n, \
                lo = CASE WHEN excluded.lo < stats_times.lo THEN excluded.lo \
                     ELSE stats_times.lo END",
            values.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for ((t, width, start, kind, bin), (lo, n)) in chunk {
            query = query
                .bind(t.as_str())
                .bind(*width)
                .bind(*start)
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
        let sql = format!(
            "SELECT job_id AS id FROM stats_fold ORDER BY job_id LIMIT {}",
            limit.max(1)
        );
        let ids = batch::<B>(&mut tx, sql, None).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let list = id_list(&ids);
        add_jobs::<B>(&mut tx, &list, 1).await?;
        let sql = format!("DELETE FROM stats_fold WHERE job_id IN ({list})");
        sqlx::query(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(ids.len() as u64)
    }

    /// Deletes up to `limit` jobs that `prunable` (a condition on `jobs` over `$1`, the cut)
    /// selects, taking them out of the rollups first, in one transaction; jobs still waiting
    /// to be folded are folded first. Returns how many were deleted.
    pub(crate) async fn prune_folded(
        &self,
        prunable: &str,
        cut: i64,
        limit: u32,
    ) -> Result<u64, StoreError> {
        while self.fold_stats(5_000).await? > 0 {}
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        B::lock_key(&mut tx, LOCK).await.map_err(db_err)?;
        let sql = format!(
            "SELECT id FROM jobs WHERE {prunable} \
             AND NOT EXISTS (SELECT 1 FROM stats_fold f WHERE f.job_id = jobs.id) LIMIT {}",
            limit.max(1)
        );
        let ids = batch::<B>(&mut tx, sql, Some(cut)).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let list = id_list(&ids);
        add_jobs::<B>(&mut tx, &list, -1).await?;
        let sql = format!("DELETE FROM jobs WHERE id IN ({list}) RETURNING 1 AS gone");
        let deleted = sqlx::query(AssertSqlSafe(sql))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?
            .len() as u64;
        tx.commit().await.map_err(db_err)?;
        Ok(deleted)
    }
}
