//! A page of a tenant's jobs, newest first: whole specs, summaries (the spec without the
//! fields whose size the client chooses, cut out by the database so they never reach this
//! process), or whole specs within a byte budget (the sizes stored with the jobs,
//! `spec_bytes`, read first, then only the jobs that fit).

use hone_domain::TenantId;
use hone_store::{JobPage, ListJobs, Specs, StoreError};
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;

use crate::history::filter::{Conditions, bind_all};
use crate::rows::{self, JOB_COLUMNS};
use crate::{Backend, SqlStore, db_err};

/// [`JOB_COLUMNS`] with the spec as a summary: `files`, `starter_code`, `tests`,
/// `test_cases` and the models' `system_prompt` emptied in SQL.
fn summary_columns<B: Backend>() -> String {
    let spec = B::json_set(
        "spec",
        &[
            (&["files"], "{}"),
            (&["starter_code"], "null"),
            (&["tests"], "null"),
            (&["test_cases"], "[]"),
            (&["actor", "system_prompt"], "null"),
            (&["critic", "system_prompt"], "null"),
        ],
    );
    JOB_COLUMNS.replace(
        "CAST(spec AS TEXT) AS spec",
        &format!("CAST({spec} AS TEXT) AS spec"),
    )
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The tenant's jobs that pass the filter, newest first, one page after the cursor.
    pub(crate) async fn list_jobs(
        &self,
        tenant: &TenantId,
        query: ListJobs,
    ) -> Result<JobPage, StoreError> {
        let limit = query.limit.max(1);
        let mut conditions = Conditions::new(2);
        conditions.filter::<B>(&query.filter);
        conditions.before(query.before);
        let (columns, limit) = match query.specs {
            Specs::Whole => (JOB_COLUMNS.to_owned(), limit),
            Specs::Summary => (summary_columns::<B>(), limit),
            Specs::WholeWithin(budget) => {
                let fit = self.jobs_within(tenant, &conditions, limit, budget).await?;
                (JOB_COLUMNS.to_owned(), fit)
            }
        };
        let sql = format!(
            "SELECT {columns} FROM jobs WHERE tenant_id = $1{} ORDER BY id DESC LIMIT {}",
            conditions.sql,
            i64::from(limit) + 1
        );
        let found = bind_all(
            sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str()),
            &conditions.params,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut items = found
            .iter()
            .map(rows::job::<B>)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|j| j.id)
        } else {
            None
        };
        Ok(JobPage { items, next })
    }

    /// How many of the page's jobs (at most `limit`, at least one) fit in `budget` bytes of
    /// specs, from their sizes alone.
    async fn jobs_within(
        &self,
        tenant: &TenantId,
        conditions: &Conditions,
        limit: u32,
        budget: usize,
    ) -> Result<u32, StoreError> {
        let sql = format!(
            "SELECT spec_bytes AS bytes FROM jobs WHERE tenant_id = $1{} \
             ORDER BY id DESC LIMIT {}",
            conditions.sql,
            i64::from(limit)
        );
        let sizes = bind_all(
            sqlx::query(AssertSqlSafe(sql)).bind(tenant.as_str()),
            &conditions.params,
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut used = 0usize;
        let mut fit = 0u32;
        for row in &sizes {
            let bytes = rows::get::<B, i64>(row, "bytes")?;
            used = used.saturating_add(usize::try_from(bytes).unwrap_or(usize::MAX));
            if fit > 0 && used > budget {
                break;
            }
            fit += 1;
        }
        Ok(fit.max(1))
    }
}
