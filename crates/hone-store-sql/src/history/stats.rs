//! `GET /v1/stats` as SQL aggregates, once for both databases: job figures over the
//! tenant's jobs created in the window, attempt figures over the attempts started in it.
//! The window's whole hours come from the hourly rollups and the rest from the rows
//! ([`crate::history::rollups::window`]); each figure is one statement over the union of
//! both, and all of them read one snapshot (a `REPEATABLE READ` transaction on Postgres, a
//! read transaction on SQLite), so a fold committing meanwhile is counted once. Only
//! critique issues differ by backend ([`Backend::critique_issues`]); percentiles come from
//! duration histograms ([`crate::history::rollups::bins`]).

use macro_rules_attribute::apply;
use std::collections::BTreeMap;

use hone_domain::{TenantId, Timestamp};
use hone_store::{Counts, GroupBy, Percentiles, Stats, StatsQuery, StoreError, TokenUse};
use sqlx::AssertSqlSafe;

use crate::history::rollups::bins::Histogram;
use crate::history::rollups::window::{self, Window, rolled};
use crate::rows::get;
use crate::{Backend, SqlStore, db_err};

/// The jobs of the window (repair figures read the rows: `$1` tenant, `$2`..`$3`).
pub(crate) const JOBS: &str = "j.tenant_id = $1 AND j.created_at >= $2 AND j.created_at < $3";
/// The counts of rows `(status, n, tokens)`, as [`counts`] reads them.
const TALLY: &str = "CAST(sum(n) AS BIGINT) AS n, \
    CAST(sum(CASE WHEN status = 'queued' THEN n ELSE 0 END) AS BIGINT) AS queued, \
    CAST(sum(CASE WHEN status = 'running' THEN n ELSE 0 END) AS BIGINT) AS running, \
    CAST(sum(CASE WHEN status = 'succeeded' THEN n ELSE 0 END) AS BIGINT) AS succeeded, \
    CAST(sum(CASE WHEN status = 'failed' THEN n ELSE 0 END) AS BIGINT) AS failed, \
    CAST(sum(CASE WHEN status = 'cancelled' THEN n ELSE 0 END) AS BIGINT) AS cancelled, \
    CAST(sum(tokens) AS BIGINT) AS tokens";

pub(crate) fn n(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// `(key, count)` pairs, most first, then by key; zero counts (rollups emptied by
/// retention) left out.
pub(crate) fn ranked(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().filter(|(_, n)| *n > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Adds `count` jobs in `status` (with their tokens) to `c`.
fn add(c: &mut Counts, status: &str, count: u64, tokens: u64) {
    c.jobs += count;
    c.tokens += tokens;
    match status {
        "queued" => c.queued += count,
        "running" => c.running += count,
        "succeeded" => c.succeeded += count,
        "failed" => c.failed += count,
        _ => c.cancelled += count,
    }
}

/// Runs `sql` over window `w` on `conn`: `$1` to `$5` as [`window`] says, then `extra`
/// from `$6` on.
#[apply(sql)]
async fn rows<B>(
    conn: &mut B::Connection,
    sql: String,
    w: &Window,
    extra: &[i64],
) -> Result<Vec<B::Row>, StoreError> {
    let mut query = sqlx::query(AssertSqlSafe(sql))
        .bind(w.tenant.as_str())
        .bind(w.since)
        .bind(w.until)
        .bind(w.h0)
        .bind(w.h1);
    for x in extra {
        query = query.bind(*x);
    }
    query.fetch_all(&mut *conn).await.map_err(db_err)
}

/// Reads the rollups ([`rolled`]): the whole days are `$6`..`$7`.
#[apply(sql)]
async fn rolled_rows<B>(
    conn: &mut B::Connection,
    sql: String,
    w: &Window,
) -> Result<Vec<B::Row>, StoreError> {
    rows::<B>(conn, sql, w, &[w.d0, w.d1]).await
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The rows of `sql` over the window, for figures read from the rows alone (`$1`
    /// tenant, `$2`..`$3` the window; `$4`, when given, is `extra`).
    pub(crate) async fn window(
        &self,
        sql: String,
        tenant: &TenantId,
        q: &StatsQuery,
        extra: Option<i64>,
    ) -> Result<Vec<B::Row>, StoreError> {
        let mut query = sqlx::query(AssertSqlSafe(sql))
            .bind(tenant.as_str())
            .bind(q.since.as_millis())
            .bind(q.until.as_millis());
        if let Some(x) = extra {
            query = query.bind(x);
        }
        query.fetch_all(&self.pool).await.map_err(db_err)
    }

    /// The tenant's figures over the query's window, from one snapshot.
    pub(crate) async fn stats(
        &self,
        tenant: &TenantId,
        q: StatsQuery,
    ) -> Result<Stats, StoreError> {
        let w = Window::new(tenant, &q);
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        if !B::SNAPSHOT.is_empty() {
            sqlx::query(B::SNAPSHOT)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        let mut stats = job_figures::<B>(&mut tx, &w, q.group_by).await?;
        (stats.duration_ms, stats.queue_wait_ms) = percentiles::<B>(&mut tx, &w).await?;
        stats.series = series::<B>(&mut tx, &w, q.bucket.millis()).await?;
        if q.group_by == Some(GroupBy::Tag) {
            stats.groups = tag_groups::<B>(&mut tx, &w).await?;
        }
        (stats.tokens, stats.top_errors) = tokens_and_errors::<B>(&mut tx, &w).await?;
        (stats.severities, stats.categories) = critique_issues::<B>(&mut tx, &w).await?;
        tx.rollback().await.map_err(db_err)?;
        Ok(stats)
    }
}

fn counts<B: Backend>(row: &B::Row) -> Result<Counts, StoreError>
where
    for<'r> i64: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
{
    Ok(Counts {
        jobs: n(get::<B, Option<i64>>(row, "n")?),
        queued: n(get::<B, Option<i64>>(row, "queued")?),
        running: n(get::<B, Option<i64>>(row, "running")?),
        succeeded: n(get::<B, Option<i64>>(row, "succeeded")?),
        failed: n(get::<B, Option<i64>>(row, "failed")?),
        cancelled: n(get::<B, Option<i64>>(row, "cancelled")?),
        tokens: n(get::<B, Option<i64>>(row, "tokens")?),
    })
}

/// Totals, outcomes, iterations, the repair lift and the model or language groups.
#[apply(sql)]
async fn job_figures<B>(
    conn: &mut B::Connection,
    w: &Window,
    group_by: Option<GroupBy>,
) -> Result<Stats, StoreError> {
    let mut stats = Stats::default();
    let (key, rolled_key) = match group_by {
        Some(GroupBy::Model) => ("j.model", "NULLIF(r.model, '')"),
        Some(GroupBy::Language) => ("j.language", "r.language"),
        _ => ("CAST(NULL AS TEXT)", "CAST(NULL AS TEXT)"),
    };
    let by_state = format!(
        "SELECT status, reason, iterations, k, CAST(sum(n) AS BIGINT) AS n, \
            CAST(sum(tokens) AS BIGINT) AS tokens, CAST(sum(fp) AS BIGINT) AS first_passed \
         FROM (SELECT j.status AS status, j.reason AS reason, j.iterations AS iterations, \
                  {key} AS k, 1 AS n, j.total_tokens AS tokens, \
                  CASE WHEN j.first_passed THEN 1 ELSE 0 END AS fp FROM {} j \
               UNION ALL SELECT r.status, NULLIF(r.reason, ''), r.iterations, {rolled_key}, \
                  r.n, r.tokens, r.first_passed FROM {} r WHERE r.n <> 0) u \
         GROUP BY status, reason, iterations, k",
        window::jobs(),
        rolled("stats_jobs")
    );
    let mut outcomes = BTreeMap::<String, u64>::new();
    let mut iterations = BTreeMap::<u32, u64>::new();
    let mut groups = BTreeMap::<String, Counts>::new();
    for row in rolled_rows::<B>(conn, by_state, w).await? {
        let status: String = get::<B, _>(&row, "status")?;
        let count = n(get::<B, Option<i64>>(&row, "n")?);
        if count == 0 {
            continue;
        }
        let tokens = n(get::<B, Option<i64>>(&row, "tokens")?);
        add(&mut stats.totals, &status, count, tokens);
        if let Some(k) = get::<B, Option<String>>(&row, "k")? {
            add(groups.entry(k).or_default(), &status, count, tokens);
        }
        if let Some(reason) = get::<B, Option<String>>(&row, "reason")? {
            *outcomes.entry(reason).or_default() += count;
        }
        if status == "succeeded" {
            let its = u32::try_from(get::<B, i64>(&row, "iterations")?).unwrap_or(0);
            *iterations.entry(its).or_default() += count;
        }
        if status == "succeeded" || status == "failed" {
            stats.first_attempt_passed += n(get::<B, Option<i64>>(&row, "first_passed")?);
        }
    }
    stats.outcomes = ranked(outcomes);
    stats.iterations_to_success = iterations.into_iter().collect();
    stats.groups = groups.into_iter().collect();
    stats
        .groups
        .sort_by(|a, b| b.1.jobs.cmp(&a.1.jobs).then(a.0.cmp(&b.0)));
    Ok(stats)
}

/// Duration and queue-wait percentiles: the rows' values and the rollups' histograms,
/// merged (rows `kind` 'v' carry a job's two values; 'd' and 'w' a histogram bin).
#[apply(sql)]
async fn percentiles<B>(
    conn: &mut B::Connection,
    w: &Window,
) -> Result<(Percentiles, Percentiles), StoreError> {
    let sql = format!(
        "SELECT 'v' AS kind, 0 AS bin, j.finished_at - j.started_at AS d, \
            j.started_at - j.created_at AS lo, 1 AS n FROM {} j WHERE j.started_at IS NOT NULL \
         UNION ALL SELECT r.kind, r.bin, NULL, r.lo, r.n FROM {} r WHERE r.n <> 0",
        window::jobs(),
        rolled("stats_times")
    );
    let (mut durations, mut waits) = (Histogram::default(), Histogram::default());
    for row in rolled_rows::<B>(conn, sql, w).await? {
        let kind: String = get::<B, _>(&row, "kind")?;
        let lo = get::<B, Option<i64>>(&row, "lo")?;
        match kind.as_str() {
            "v" => {
                if let Some(d) = get::<B, Option<i64>>(&row, "d")? {
                    durations.value(d);
                }
                if let Some(lo) = lo {
                    waits.value(lo);
                }
            }
            kind => {
                let into = if kind == "d" {
                    &mut durations
                } else {
                    &mut waits
                };
                let count = n(get::<B, Option<i64>>(&row, "n")?);
                into.add(get::<B, i64>(&row, "bin")?, lo.unwrap_or(0), count);
            }
        }
    }
    Ok((durations.percentiles(), waits.percentiles()))
}

/// Counts per bucket of `width` ms, oldest first.
#[apply(sql)]
async fn series<B>(
    conn: &mut B::Connection,
    w: &Window,
    width: i64,
) -> Result<Vec<(Timestamp, Counts)>, StoreError> {
    let sql = format!(
        "SELECT b, {TALLY} FROM ( \
            SELECT j.created_at - j.created_at % $6 AS b, j.status AS status, 1 AS n, \
               j.total_tokens AS tokens FROM {} j \
            UNION ALL SELECT r.hour - r.hour % $6, r.status, r.n, r.tokens FROM stats_series r \
               WHERE r.tenant_id = $1 AND r.hour >= $4 AND r.hour < $5 AND r.n <> 0) u \
         GROUP BY b HAVING sum(n) > 0 ORDER BY b",
        window::jobs()
    );
    rows::<B>(conn, sql, w, &[width])
        .await?
        .iter()
        .map(|row| {
            let start = Timestamp::from_millis(get::<B, i64>(row, "b")?);
            Ok((start, counts::<B>(row)?))
        })
        .collect()
}

/// Counts per tag.
#[apply(sql)]
async fn tag_groups<B>(
    conn: &mut B::Connection,
    w: &Window,
) -> Result<Vec<(String, Counts)>, StoreError> {
    let sql = format!(
        "SELECT k, {TALLY} FROM ( \
            SELECT t.tag AS k, j.status AS status, 1 AS n, j.total_tokens AS tokens \
               FROM {} j JOIN job_tags t ON t.job_id = j.id \
            UNION ALL SELECT r.tag, r.status, r.n, r.tokens FROM {} r WHERE r.n <> 0) u \
         GROUP BY k HAVING sum(n) > 0 ORDER BY n DESC, k",
        window::jobs(),
        rolled("stats_tags")
    );
    rolled_rows::<B>(conn, sql, w)
        .await?
        .iter()
        .map(|row| Ok((get::<B, String>(row, "k")?, counts::<B>(row)?)))
        .collect()
}

/// Tokens by model and role and the ten commonest error types.
#[apply(sql)]
async fn tokens_and_errors<B>(
    conn: &mut B::Connection,
    w: &Window,
) -> Result<(Vec<TokenUse>, Vec<(String, u64)>), StoreError> {
    let sql = format!(
        "SELECT am, cm, e, CAST(sum(n) AS BIGINT) AS n, CAST(sum(ap) AS BIGINT) AS ap, \
            CAST(sum(ac) AS BIGINT) AS ac, CAST(sum(cp) AS BIGINT) AS cp, \
            CAST(sum(cc) AS BIGINT) AS cc FROM ( \
            SELECT a.actor_model AS am, a.critic_model AS cm, a.error_type AS e, 1 AS n, \
               a.actor_prompt_tokens AS ap, a.actor_completion_tokens AS ac, \
               a.critic_prompt_tokens AS cp, a.critic_completion_tokens AS cc FROM {} a \
            UNION ALL SELECT NULLIF(r.actor_model, ''), NULLIF(r.critic_model, ''), \
               NULLIF(r.error_type, ''), r.n, r.ap, r.ac, r.cp, r.cc \
               FROM {} r WHERE r.n <> 0) u \
         GROUP BY am, cm, e",
        window::attempts(),
        rolled("stats_attempts")
    );
    // (model, role) -> (prompt tokens, completion tokens, attempts): a model whose attempts
    // retention took out of the rollups (count 0) is left out, one with 0 tokens is not.
    let mut by_role = BTreeMap::<(String, &'static str), (u64, u64, u64)>::new();
    let mut errors = BTreeMap::<String, u64>::new();
    for row in rolled_rows::<B>(conn, sql, w).await? {
        let count = n(get::<B, Option<i64>>(&row, "n")?);
        if let Some(e) = get::<B, Option<String>>(&row, "e")? {
            *errors.entry(e).or_default() += count;
        }
        if let Some(actor) = get::<B, Option<String>>(&row, "am")? {
            let t = by_role.entry((actor, "actor")).or_default();
            t.0 += n(get::<B, Option<i64>>(&row, "ap")?);
            t.1 += n(get::<B, Option<i64>>(&row, "ac")?);
            t.2 += count;
        }
        if let Some(critic) = get::<B, Option<String>>(&row, "cm")? {
            let t = by_role.entry((critic, "critic")).or_default();
            t.0 += n(get::<B, Option<i64>>(&row, "cp")?);
            t.1 += n(get::<B, Option<i64>>(&row, "cc")?);
            t.2 += count;
        }
    }
    let mut tokens: Vec<TokenUse> = by_role
        .into_iter()
        .filter(|(_, (_, _, calls))| *calls > 0)
        .map(|((model, role), (p, c, _))| TokenUse {
            model,
            role,
            prompt_tokens: p,
            completion_tokens: c,
        })
        .collect();
    tokens.sort_by(|a, b| {
        (b.prompt_tokens + b.completion_tokens).cmp(&(a.prompt_tokens + a.completion_tokens))
    });
    let mut errors = ranked(errors);
    errors.truncate(10);
    Ok((tokens, errors))
}

/// Critique issues by severity and by category.
#[apply(sql)]
async fn critique_issues<B>(
    conn: &mut B::Connection,
    w: &Window,
) -> Result<(Vec<(String, u64)>, Vec<(String, u64)>), StoreError> {
    let (from, field) = B::critique_issues("a.critique");
    let (severity, category) = (field("severity"), field("category"));
    let sql = format!(
        "SELECT s, c, CAST(sum(n) AS BIGINT) AS n FROM ( \
            SELECT {severity} AS s, {category} AS c, 1 AS n FROM {} a, {from} \
               WHERE a.critique IS NOT NULL \
            UNION ALL SELECT NULLIF(r.severity, ''), NULLIF(r.category, ''), r.n \
               FROM {} r WHERE r.n <> 0) u \
         GROUP BY s, c",
        window::attempts(),
        rolled("stats_issues")
    );
    let mut severities = BTreeMap::<String, u64>::new();
    let mut categories = BTreeMap::<String, u64>::new();
    for row in rolled_rows::<B>(conn, sql, w).await? {
        let count = n(get::<B, Option<i64>>(&row, "n")?);
        if let Some(s) = get::<B, Option<String>>(&row, "s")? {
            *severities.entry(s).or_default() += count;
        }
        if let Some(c) = get::<B, Option<String>>(&row, "c")? {
            *categories.entry(c).or_default() += count;
        }
    }
    Ok((ranked(severities), ranked(categories)))
}
