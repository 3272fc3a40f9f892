//! `GET /v1/stats/repair` as SQL aggregates, once for both databases, over the tenant's
//! decided jobs created in the window: one scan of the jobs' stats index for the job
//! figures, one join of failed attempts with the attempt after them for the critique
//! categories that preceded a fix.

use macro_rules_attribute::apply;
use std::collections::BTreeMap;

use hone_domain::{TenantId, Timestamp, Usd};
use hone_store::{Bucket, CategoryFixes, RepairGroup, StatsQuery, StoreError};

use crate::SqlStore;
use crate::history::stats::{JOBS, n, ranked};
use crate::rows::get;

/// 1 for a job whose first attempt was shown lessons, else 0.
const SHOWN: &str = "CASE WHEN EXISTS (SELECT 1 FROM attempts m WHERE m.tenant_id = j.tenant_id \
    AND m.job_id = j.id AND m.iteration = 1 AND m.lessons IS NOT NULL) THEN 1 ELSE 0 END";

/// Decided jobs: the loop ran its course.
const DECIDED: &str = "j.status IN ('succeeded', 'failed')";

/// Repair figures by (actor model, language).
type Groups = BTreeMap<(String, String), RepairGroup>;
/// How many decided jobs ended for each reason, by (actor model, language).
type Ends = BTreeMap<(String, String), BTreeMap<String, u64>>;

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The repair figures per actor model and language, most jobs first.
    pub(crate) async fn repair_stats(
        &self,
        tenant: &TenantId,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<RepairGroup>, StoreError> {
        let q = StatsQuery {
            since,
            until,
            bucket: Bucket::Day,
            group_by: None,
        };
        let (mut groups, mut ends) = self.repair_groups(tenant, &q).await?;
        self.category_fixes(tenant, &q, &mut groups).await?;
        let mut out: Vec<RepairGroup> = groups
            .into_iter()
            .map(|(key, mut g)| {
                g.ends = ranked(ends.remove(&key).unwrap_or_default());
                (g.model, g.language) = key;
                g.solved_at.sort_unstable();
                g.categories
                    .sort_by(|a, b| b.issues.cmp(&a.issues).then(a.category.cmp(&b.category)));
                g
            })
            .collect();
        out.sort_by_key(|g| std::cmp::Reverse(g.decided));
        Ok(out)
    }

    /// The decided jobs' figures per actor model and language, and how their jobs ended.
    async fn repair_groups(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
    ) -> Result<(Groups, Ends), StoreError> {
        // Whether a job was shown lessons is read per job, then grouped on.
        let jobs = format!(
            "SELECT j.model AS m, j.language AS l, j.status AS s, j.reason AS r, \
             j.iterations AS i, count(*) AS n, \
             sum(CASE WHEN j.first_passed THEN 1 ELSE 0 END) AS fp, \
             CAST(sum(j.total_tokens) AS BIGINT) AS t, CAST(sum(j.cost_pusd) AS BIGINT) AS c, \
             CAST(j.lm AS BIGINT) AS lm FROM (SELECT j.model, j.language, j.status, j.reason, j.iterations, \
             j.first_passed, j.total_tokens, j.cost_pusd, {SHOWN} AS lm FROM jobs j \
             WHERE {JOBS} AND {DECIDED}) j \
             GROUP BY j.model, j.language, j.status, j.reason, j.iterations, j.lm"
        );
        let mut groups = Groups::new();
        let mut ends = Ends::new();
        for row in self.window(jobs, tenant, q, None).await? {
            let key = (
                get::<B, Option<String>>(&row, "m")?.unwrap_or_default(),
                get::<B, Option<String>>(&row, "l")?.unwrap_or_default(),
            );
            let count = n(get::<B, Option<i64>>(&row, "n")?);
            let g = groups.entry(key.clone()).or_default();
            g.decided += count;
            g.first_passed += n(get::<B, Option<i64>>(&row, "fp")?);
            if let Some(reason) = get::<B, Option<String>>(&row, "r")? {
                *ends.entry(key).or_default().entry(reason).or_default() += count;
            }
            let iterations = n(get::<B, Option<i64>>(&row, "i")?);
            let won = get::<B, String>(&row, "s")? == "succeeded";
            let split = if get::<B, Option<i64>>(&row, "lm")? == Some(1) {
                &mut g.with_lessons
            } else {
                &mut g.without_lessons
            };
            split.jobs += count;
            if won {
                split.succeeded += count;
                split.iterations += iterations * count;
            }
            if won {
                g.succeeded += count;
                g.solved_iterations += iterations * count;
                g.solved_tokens += n(get::<B, Option<i64>>(&row, "t")?);
                g.solved_cost = g
                    .solved_cost
                    .saturating_add(Usd(n(get::<B, Option<i64>>(&row, "c")?)));
                let at = u32::try_from(iterations).unwrap_or(u32::MAX);
                match g.solved_at.iter_mut().find(|(i, _)| *i == at) {
                    Some((_, solved)) => *solved += count,
                    None => g.solved_at.push((at, count)),
                }
            }
        }
        Ok((groups, ends))
    }

    /// Adds to each group the critique issues of its failed attempts, per category, and how
    /// many of those the next attempt fixed.
    async fn category_fixes(
        &self,
        tenant: &TenantId,
        q: &StatsQuery,
        groups: &mut Groups,
    ) -> Result<(), StoreError> {
        let (from, field) = B::critique_issues("a.critique");
        let category = field("category");
        let fixes = format!(
            "SELECT j.model AS m, j.language AS l, {category} AS k, count(*) AS n, \
             sum(CASE WHEN b.run_status = 'passed' THEN 1 ELSE 0 END) AS fixed \
             FROM jobs j \
             JOIN attempts a ON a.tenant_id = j.tenant_id AND a.job_id = j.id \
             JOIN attempts b ON b.tenant_id = a.tenant_id AND b.job_id = a.job_id \
                            AND b.iteration = a.iteration + 1 \
             CROSS JOIN {from} \
             WHERE {JOBS} AND {DECIDED} AND a.status = 'failed' AND a.critique IS NOT NULL \
             GROUP BY j.model, j.language, {category}"
        );
        for row in self.window(fixes, tenant, q, None).await? {
            let key = (
                get::<B, Option<String>>(&row, "m")?.unwrap_or_default(),
                get::<B, Option<String>>(&row, "l")?.unwrap_or_default(),
            );
            let Some(category) = get::<B, Option<String>>(&row, "k")? else {
                continue;
            };
            groups
                .entry(key)
                .or_default()
                .categories
                .push(CategoryFixes {
                    category,
                    issues: n(get::<B, Option<i64>>(&row, "n")?),
                    fixed: n(get::<B, Option<i64>>(&row, "fixed")?),
                });
        }
        Ok(())
    }
}
