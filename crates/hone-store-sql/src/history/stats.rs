//! `GET /v1/stats` as SQL aggregates, once for both databases: job figures over the
//! tenant's jobs created in the window (`$1` tenant, `$2`..`$3` the window), attempt
//! figures over the attempts started in it. Each figure is one statement that reads an
//! index range and small columns (the `stats` migration's generated columns on attempts);
//! only percentiles and critique issues differ by backend ([`Backend::percentiles`],
//! [`Backend::critique_issues`]).

use macro_rules_attribute::apply;
use std::collections::BTreeMap;

use hone_domain::{TenantId, Timestamp};
use hone_store::{Counts, GroupBy, Percentiles, Stats, StatsQuery, StoreError, TokenUse};
use sqlx::AssertSqlSafe;

use crate::rows::get;
use crate::{SqlStore, db_err};

/// The jobs of the window.
pub(crate) const JOBS: &str = "j.tenant_id = $1 AND j.created_at >= $2 AND j.created_at < $3";
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

pub(crate) fn n(v: Option<i64>) -> u64 {
    v.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

/// `(key, count)` pairs, most first, then by key.
pub(crate) fn ranked(m: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = m.into_iter().collect();
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

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The rows of `sql` over the window (`$4`, when given, is `extra`).
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

    /// Duration and queue-wait percentiles, from one scan.
    async fn percentiles(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<(Percentiles, Percentiles), StoreError> {
        let values = format!(
            "SELECT j.finished_at - j.started_at AS d, j.started_at - j.created_at AS w \
             FROM jobs j WHERE {JOBS} AND j.started_at IS NOT NULL"
        );
        let rows = self
            .window(B::percentiles(&values), tenant, q, None)
            .await?;
        let Some(row) = rows.first() else {
            return Ok(Default::default());
        };
        let pick = |c: &str| get::<B, Option<i64>>(row, c).map(|v| v.map(|v| n(Some(v))));
        Ok((
            Percentiles {
                count: n(get::<B, Option<i64>>(row, "dn")?),
                p50: pick("d50")?,
                p95: pick("d95")?,
            },
            Percentiles {
                count: n(get::<B, Option<i64>>(row, "wn")?),
                p50: pick("w50")?,
                p95: pick("w95")?,
            },
        ))
    }

    /// The tenant's figures over the query's window: independent scans, run at once.
    pub(crate) async fn stats(
        &self,
        tenant: &TenantId,
        q: StatsQuery,
    ) -> Result<Stats, StoreError> {
        let (mut stats, (duration, wait), series, tags, (tokens, errors), (sev, cat)) = tokio::try_join!(
            self.job_figures(tenant, &q),
            self.percentiles(tenant, &q),
            self.series(tenant, &q),
            self.tag_groups(tenant, &q),
            self.tokens_and_errors(tenant, &q),
            self.critique_issues(tenant, &q),
        )?;
        stats.duration_ms = duration;
        stats.queue_wait_ms = wait;
        stats.series = series;
        stats.groups.extend(tags);
        stats.tokens = tokens;
        stats.top_errors = errors;
        stats.severities = sev;
        stats.categories = cat;
        Ok(stats)
    }

    /// One index-only scan: totals, outcomes, iterations, the repair lift and the model or
    /// language groups.
    async fn job_figures(&self, tenant: &TenantId, q: &StatsQuery) -> Result<Stats, StoreError> {
        let mut stats = Stats::default();
        let (key, by_key) = match q.group_by {
            Some(GroupBy::Model) => ("j.model", ", j.model"),
            Some(GroupBy::Language) => ("j.language", ", j.language"),
            _ => ("CAST(NULL AS TEXT)", ""),
        };
        let by_state = format!(
            "SELECT j.status AS status, j.reason AS reason, j.iterations AS iterations, \
             {key} AS k, count(*) AS n, CAST(sum(j.total_tokens) AS BIGINT) AS tokens, \
             sum(CASE WHEN j.first_passed THEN 1 ELSE 0 END) AS first_passed FROM jobs j \
             WHERE {JOBS} GROUP BY j.status, j.reason, j.iterations{by_key}"
        );
        let mut outcomes = BTreeMap::<String, u64>::new();
        let mut iterations = BTreeMap::<u32, u64>::new();
        let mut groups = BTreeMap::<String, Counts>::new();
        for row in self.window(by_state, tenant, q, None).await? {
            let status: String = get::<B, _>(&row, "status")?;
            let count = n(get::<B, Option<i64>>(&row, "n")?);
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

    /// Counts per bucket, oldest first.
    async fn series(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<Vec<(Timestamp, Counts)>, StoreError> {
        let series = format!(
            "SELECT j.created_at - (j.created_at % $4) AS b, {COUNTS} FROM jobs j \
             WHERE {JOBS} GROUP BY b ORDER BY b"
        );
        self.window(series, tenant, q, Some(q.bucket.millis()))
            .await?
            .iter()
            .map(|row| {
                let start = Timestamp::from_millis(get::<B, i64>(row, "b")?);
                Ok((start, Self::counts(row)?))
            })
            .collect()
    }

    /// Counts per tag, when grouped by tag.
    async fn tag_groups(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<Vec<(String, Counts)>, StoreError> {
        if q.group_by != Some(GroupBy::Tag) {
            return Ok(Vec::new());
        }
        let groups = format!(
            "SELECT t.tag AS k, {COUNTS} FROM jobs j JOIN job_tags t ON t.job_id = j.id \
             WHERE {JOBS} GROUP BY t.tag ORDER BY n DESC, k"
        );
        self.window(groups, tenant, q, None)
            .await?
            .iter()
            .map(|row| Ok((get::<B, String>(row, "k")?, Self::counts(row)?)))
            .collect()
    }

    /// Tokens by model and role and the ten commonest error types, from one scan.
    async fn tokens_and_errors(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<(Vec<TokenUse>, Vec<(String, u64)>), StoreError> {
        let sql = format!(
            "SELECT a.actor_model AS am, a.critic_model AS cm, a.error_type AS e, \
             count(*) AS n, \
             CAST(sum(a.actor_prompt_tokens) AS BIGINT) AS ap, \
             CAST(sum(a.actor_completion_tokens) AS BIGINT) AS ac, \
             CAST(sum(a.critic_prompt_tokens) AS BIGINT) AS cp, \
             CAST(sum(a.critic_completion_tokens) AS BIGINT) AS cc FROM attempts a \
             WHERE {ATTEMPTS} GROUP BY a.actor_model, a.critic_model, a.error_type"
        );
        let mut by_role = BTreeMap::<(String, &'static str), (u64, u64)>::new();
        let mut errors = BTreeMap::<String, u64>::new();
        for row in self.window(sql, tenant, q, None).await? {
            if let Some(e) = get::<B, Option<String>>(&row, "e")? {
                *errors.entry(e).or_default() += n(get::<B, Option<i64>>(&row, "n")?);
            }
            if let Some(actor) = get::<B, Option<String>>(&row, "am")? {
                let t = by_role.entry((actor, "actor")).or_default();
                t.0 += n(get::<B, Option<i64>>(&row, "ap")?);
                t.1 += n(get::<B, Option<i64>>(&row, "ac")?);
            }
            if let Some(critic) = get::<B, Option<String>>(&row, "cm")? {
                let t = by_role.entry((critic, "critic")).or_default();
                t.0 += n(get::<B, Option<i64>>(&row, "cp")?);
                t.1 += n(get::<B, Option<i64>>(&row, "cc")?);
            }
        }
        let mut tokens: Vec<TokenUse> = by_role
            .into_iter()
            .map(|((model, role), (p, c))| TokenUse {
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

    /// Critique issues by severity and by category, from one scan.
    async fn critique_issues(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<(Vec<(String, u64)>, Vec<(String, u64)>), StoreError> {
        let (from, field) = B::critique_issues("a.critique");
        let (severity, category) = (field("severity"), field("category"));
        let issues = format!(
            "SELECT {severity} AS s, {category} AS c, count(*) AS n FROM attempts a, {from} \
             WHERE {ATTEMPTS} AND a.critique IS NOT NULL GROUP BY {severity}, {category}"
        );
        let mut severities = BTreeMap::<String, u64>::new();
        let mut categories = BTreeMap::<String, u64>::new();
        for row in self.window(issues, tenant, q, None).await? {
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
}
