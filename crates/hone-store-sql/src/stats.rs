//! `GET /v1/stats` as SQL aggregates, once for both databases: job figures over the
//! tenant's jobs created in the window (`$1` tenant, `$2`..`$3` the window), attempt
//! figures over the attempts started in it. Each figure is one statement that reads an
//! index range and small columns (the `stats` migration's generated columns on attempts);
//! only percentiles and critique issues differ by backend ([`Backend::percentiles`],
//! [`Backend::critique_issues`]).

use hone_domain::{TenantId, Timestamp};
use hone_store::{Counts, GroupBy, Percentiles, Stats, StatsQuery, StoreError, TokenUse};
use sqlx::AssertSqlSafe;

use crate::rows::get;
use crate::{Backend, SqlStore, db_err};

/// The jobs of the window.
const JOBS: &str = "j.tenant_id = $1 AND j.created_at >= $2 AND j.created_at < $3";
/// The attempts of the window.
const ATTEMPTS: &str = "a.tenant_id = $1 AND a.started_at >= $2 AND a.started_at < $3";
/// The counts of a group of jobs `j`, as [`counts`] reads them.
const COUNTS: &str = "count(*) AS n, \
    sum(CASE WHEN j.status = 'queued' THEN 1 ELSE 0 END) AS queued, \
    sum(CASE WHEN j.status = 'running' THEN 1 ELSE 0 END) AS running, \
    sum(CASE WHEN j.status = 'succeeded' THEN 1 ELSE 0 END) AS succeeded, \
    sum(CASE WHEN j.status = 'failed' THEN 1 ELSE 0 END) AS failed, \
    sum(CASE WHEN j.status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled, \
    CAST(sum(j.total_tokens) AS BIGINT) AS tokens";

fn n(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

impl<B> SqlStore<B>
where
    B: Backend,
    for<'c> &'c mut B::Connection: sqlx::Executor<'c, Database = B>,
    B::Arguments: sqlx::IntoArguments<B>,
    for<'q> i64: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'q> &'q str: sqlx::Encode<'q, B> + sqlx::Type<B>,
    for<'r> i64: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
    for<'a> &'a str: sqlx::ColumnIndex<B::Row>,
{
    /// The rows of `sql` over the window (`$4`, when given, is `extra`).
    async fn window(
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

    fn counts(row: &B::Row) -> Result<Counts, StoreError> {
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

    /// `(key, count)` rows of a query selecting `k` and `n`.
    fn keyed(rows: &[B::Row]) -> Result<Vec<(String, u64)>, StoreError> {
        rows.iter()
            .map(|r| Ok((get::<B, String>(r, "k")?, n(get::<B, Option<i64>>(r, "n")?))))
            .collect()
    }

    async fn percentiles(
        &self,
        values: &str,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<Percentiles, StoreError> {
        let rows = self.window(B::percentiles(values), tenant, q, None).await?;
        let Some(row) = rows.first() else {
            return Ok(Percentiles::default());
        };
        let pick = |c: &str| get::<B, Option<i64>>(row, c).map(|v| v.map(|v| n(Some(v))));
        Ok(Percentiles {
            count: n(get::<B, Option<i64>>(row, "n")?),
            p50: pick("p50")?,
            p95: pick("p95")?,
        })
    }

    /// The tenant's figures over the query's window.
    pub async fn stats(&self, tenant: &TenantId, q: StatsQuery) -> Result<Stats, StoreError> {
        let mut stats = Stats::default();
        let by_state = format!(
            "SELECT j.status AS status, j.reason AS reason, j.iterations AS iterations, \
             count(*) AS n, CAST(sum(j.total_tokens) AS BIGINT) AS tokens FROM jobs j \
             WHERE {JOBS} GROUP BY j.status, j.reason, j.iterations"
        );
        let mut outcomes = std::collections::BTreeMap::<String, u64>::new();
        let mut iterations = std::collections::BTreeMap::<u32, u64>::new();
        for row in self.window(by_state, tenant, &q, None).await? {
            let status: String = get::<B, _>(&row, "status")?;
            let count = n(get::<B, Option<i64>>(&row, "n")?);
            let t = &mut stats.totals;
            t.jobs += count;
            t.tokens += n(get::<B, Option<i64>>(&row, "tokens")?);
            match status.as_str() {
                "queued" => t.queued += count,
                "running" => t.running += count,
                "succeeded" => t.succeeded += count,
                "failed" => t.failed += count,
                _ => t.cancelled += count,
            }
            if let Some(reason) = get::<B, Option<String>>(&row, "reason")? {
                *outcomes.entry(reason).or_default() += count;
            }
            if status == "succeeded" {
                let its = u32::try_from(get::<B, i64>(&row, "iterations")?).unwrap_or(0);
                *iterations.entry(its).or_default() += count;
            }
        }
        stats.outcomes = outcomes.into_iter().collect();
        stats
            .outcomes
            .sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        stats.iterations_to_success = iterations.into_iter().collect();

        let first = format!(
            "SELECT count(*) AS n FROM jobs j JOIN attempts a \
             ON a.job_id = j.id AND a.iteration = 1 \
             WHERE {JOBS} AND j.status IN ('succeeded', 'failed') AND a.run_status = 'passed'"
        );
        stats.first_attempt_passed = match self.window(first, tenant, &q, None).await?.first() {
            Some(row) => n(get::<B, Option<i64>>(row, "n")?),
            None => 0,
        };
        stats.duration_ms = self
            .percentiles(
                &format!(
                    "SELECT j.finished_at - j.started_at AS v FROM jobs j WHERE {JOBS} \
                     AND j.finished_at IS NOT NULL AND j.started_at IS NOT NULL"
                ),
                tenant,
                &q,
            )
            .await?;
        stats.queue_wait_ms = self
            .percentiles(
                &format!(
                    "SELECT j.started_at - j.created_at AS v FROM jobs j WHERE {JOBS} \
                     AND j.started_at IS NOT NULL"
                ),
                tenant,
                &q,
            )
            .await?;
        self.attempt_stats(tenant, &q, &mut stats).await?;

        let series = format!(
            "SELECT j.created_at - (j.created_at % $4) AS b, {COUNTS} FROM jobs j \
             WHERE {JOBS} GROUP BY b ORDER BY b"
        );
        for row in self
            .window(series, tenant, &q, Some(q.bucket.millis()))
            .await?
        {
            let start = Timestamp::from_millis(get::<B, i64>(&row, "b")?);
            stats.series.push((start, Self::counts(&row)?));
        }
        if let Some(by) = q.group_by {
            let (key, from) = match by {
                GroupBy::Model => ("j.model", "jobs j"),
                GroupBy::Language => ("j.language", "jobs j"),
                GroupBy::Tag => ("t.tag", "jobs j JOIN job_tags t ON t.job_id = j.id"),
            };
            let groups = format!(
                "SELECT {key} AS k, {COUNTS} FROM {from} WHERE {JOBS} AND {key} IS NOT NULL \
                 GROUP BY {key} ORDER BY n DESC, k"
            );
            for row in self.window(groups, tenant, &q, None).await? {
                stats
                    .groups
                    .push((get::<B, String>(&row, "k")?, Self::counts(&row)?));
            }
        }
        Ok(stats)
    }

    /// Tokens by model and role, top errors, critique severities and categories.
    async fn attempt_stats(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
        stats: &mut Stats,
    ) -> Result<(), StoreError> {
        let tokens = format!(
            "SELECT model, role, CAST(sum(p) AS BIGINT) AS prompt, \
             CAST(sum(c) AS BIGINT) AS completion FROM ( \
             SELECT a.actor_model AS model, 'actor' AS role, a.actor_prompt_tokens AS p, \
             a.actor_completion_tokens AS c FROM attempts a \
             WHERE {ATTEMPTS} AND a.actor_model IS NOT NULL \
             UNION ALL SELECT a.critic_model, 'critic', a.critic_prompt_tokens, \
             a.critic_completion_tokens FROM attempts a \
             WHERE {ATTEMPTS} AND a.critic_model IS NOT NULL) t \
             GROUP BY model, role ORDER BY model, role"
        );
        for row in self.window(tokens, tenant, q, None).await? {
            let role: String = get::<B, _>(&row, "role")?;
            stats.tokens.push(TokenUse {
                model: get::<B, String>(&row, "model")?,
                role: if role == "critic" { "critic" } else { "actor" },
                prompt_tokens: n(get::<B, Option<i64>>(&row, "prompt")?),
                completion_tokens: n(get::<B, Option<i64>>(&row, "completion")?),
            });
        }
        stats.tokens.sort_by(|a, b| {
            (b.prompt_tokens + b.completion_tokens).cmp(&(a.prompt_tokens + a.completion_tokens))
        });
        let errors = format!(
            "SELECT a.error_type AS k, count(*) AS n FROM attempts a \
             WHERE {ATTEMPTS} AND a.error_type IS NOT NULL \
             GROUP BY a.error_type ORDER BY n DESC, k LIMIT 10"
        );
        stats.top_errors = Self::keyed(&self.window(errors, tenant, q, None).await?)?;
        let (from, field) = B::critique_issues("a.critique");
        for (name, out) in [
            ("severity", &mut stats.severities),
            ("category", &mut stats.categories),
        ] {
            let k = field(name);
            let sql = format!(
                "SELECT {k} AS k, count(*) AS n FROM attempts a, {from} \
                 WHERE {ATTEMPTS} AND a.critique IS NOT NULL AND {k} IS NOT NULL \
                 GROUP BY {k} ORDER BY n DESC, k"
            );
            *out = Self::keyed(&self.window(sql, tenant, q, None).await?)?;
        }
        Ok(())
    }
}
