//! Tenants' quotas: at most so many queued jobs, at most so many model tokens and so many
//! dollars of model calls a UTC day.
//! Submissions check them in the database (the single-job `INSERT` carries the check in its
//! own statement; a batch checks at the start of its transaction), so they hold across API
//! processes. Tokens and spend are counted per tenant and day by a trigger on `jobs`
//! (migrations 9 and 14).
//! Concurrent submissions of one tenant may overshoot the queued-jobs quota by those in
//! flight at the same moment: the check and the insert are not serialised, which would
//! cost every submission a lock.
//!
//! Most tenants have no quota, and their submissions should not pay for the check: each
//! process keeps the set of tenants that have one, read again every [`QUOTA_CACHE`] (and at
//! once after [`SqlStore::set_quotas`] in this process). A quota set elsewhere applies
//! within that time.

use macro_rules_attribute::apply;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hone_domain::{TenantId, Usd};
use hone_store::{QuotaExceeded, StoreError, TenantQuotas, TenantUsage};

use sqlx::AssertSqlSafe;

use crate::rows::get;
use crate::{SqlStore, db_err};

/// How long the set of tenants with a quota is trusted.
pub const QUOTA_CACHE: Duration = Duration::from_secs(5);

/// A set of tenant names, shared.
type Names = Arc<HashSet<String>>;

/// The tenants with a quota, and when they were read.
#[derive(Clone, Default)]
pub(crate) struct QuotaTenants(Arc<Mutex<Option<(Instant, Names)>>>);

impl QuotaTenants {
    fn fresh(&self) -> Option<Names> {
        let held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        held.as_ref()
            .filter(|(at, _)| at.elapsed() < QUOTA_CACHE)
            .map(|(_, set)| set.clone())
    }

    fn put(&self, set: HashSet<String>) -> Names {
        let set = Arc::new(set);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) =
            Some((Instant::now(), set.clone()));
        set
    }

    fn forget(&self) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }
}

/// Milliseconds in a day: `tenant_usage.day` is `updated_at / DAY_MS` (a UTC day).
pub(crate) const DAY_MS: i64 = 86_400_000;

/// The condition, over `$2` (tenant), `$14` (today) and `$15` (jobs being added), that
/// holds when the tenant may not queue more: what the single-job `INSERT` puts in its own
/// `WHERE NOT EXISTS`.
pub(crate) const OVER_QUOTA: &str = "SELECT 1 FROM tenants t WHERE t.id = $2 AND ( \
    (t.max_queued_jobs IS NOT NULL AND t.max_queued_jobs < $15 + \
        (SELECT count(*) FROM jobs q WHERE q.tenant_id = $2 AND q.status = 'queued')) \
    OR (t.max_tokens_per_day IS NOT NULL AND t.max_tokens_per_day <= COALESCE( \
        (SELECT u.tokens FROM tenant_usage u WHERE u.tenant_id = $2 AND u.day = $14), 0)) \
    OR (t.max_cost_pusd_per_day IS NOT NULL AND t.max_cost_pusd_per_day <= COALESCE( \
        (SELECT u.cost_pusd FROM tenant_usage u WHERE u.tenant_id = $2 AND u.day = $14), 0)))";

/// Whether a tenant has any quota.
const HAS_QUOTA: &str = "max_queued_jobs IS NOT NULL OR max_tokens_per_day IS NOT NULL \
    OR max_cost_pusd_per_day IS NOT NULL";

/// Today's tokens and spend of the tenant `t`, `$2` being today.
const TODAY: &str = "COALESCE((SELECT u.tokens FROM tenant_usage u \
        WHERE u.tenant_id = t.id AND u.day = $2), 0) AS tokens, \
    COALESCE((SELECT u.cost_pusd FROM tenant_usage u \
        WHERE u.tenant_id = t.id AND u.day = $2), 0) AS cost_pusd";

fn count(v: Option<i64>) -> Option<u64> {
    v.map(|n| u64::try_from(n).unwrap_or(0))
}

fn limit(v: Option<u64>) -> Option<i64> {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX))
}

fn usd(v: Option<i64>) -> Option<Usd> {
    v.map(Usd::from_picos_i64)
}

/// Which daily quota today's `tokens` and `cost` reached, if one did.
fn daily_spent(
    max_tokens: Option<u64>,
    tokens: i64,
    max_cost: Option<Usd>,
    cost: i64,
) -> Option<QuotaExceeded> {
    if let Some(max) = max_tokens
        && u64::try_from(tokens).unwrap_or(0) >= max
    {
        return Some(QuotaExceeded::TokensPerDay { limit: max });
    }
    max_cost
        .filter(|max| Usd::from_picos_i64(cost) >= *max)
        .map(|limit| QuotaExceeded::CostPerDay { limit })
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// Whether the tenant has a quota (from the set read at most [`QUOTA_CACHE`] ago).
    pub(crate) async fn has_quota(&self, tenant: &TenantId) -> Result<bool, StoreError>
    where
        for<'r> String: sqlx::Decode<'r, B> + sqlx::Type<B>,
    {
        if let Some(set) = self.quota_tenants.fresh() {
            return Ok(set.contains(tenant.as_str()));
        }
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM tenants WHERE {HAS_QUOTA}"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let set = rows
            .iter()
            .map(|row| get::<B, String>(row, "id"))
            .collect::<Result<HashSet<_>, _>>()?;
        Ok(self.quota_tenants.put(set).contains(tenant.as_str()))
    }

    /// Which quota adding `adding` queued jobs would exceed, read within `conn`.
    pub(crate) async fn over_quota(
        &self,
        conn: &mut B::Connection,
        tenant: &TenantId,
        adding: i64,
    ) -> Result<Option<QuotaExceeded>, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.max_queued_jobs, t.max_tokens_per_day, t.max_cost_pusd_per_day, \
               (SELECT count(*) FROM jobs q WHERE q.tenant_id = $1 AND q.status = 'queued' \
                  AND t.max_queued_jobs IS NOT NULL) AS queued, {TODAY} \
             FROM tenants t WHERE t.id = $1"
        )))
        .bind(tenant.as_str())
        .bind(self.today())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let queued: i64 = get::<B, _>(&row, "queued")?;
        if let Some(max) = count(get::<B, _>(&row, "max_queued_jobs")?)
            && u64::try_from(queued.saturating_add(adding)).unwrap_or(0) > max
        {
            return Ok(Some(QuotaExceeded::QueuedJobs { limit: max }));
        }
        Ok(daily_spent(
            count(get::<B, _>(&row, "max_tokens_per_day")?),
            get::<B, _>(&row, "tokens")?,
            usd(get::<B, _>(&row, "max_cost_pusd_per_day")?),
            get::<B, _>(&row, "cost_pusd")?,
        ))
    }
}

#[apply(sql)]
impl<B> SqlStore<B> {
    /// The tenant's queued-jobs quota (0 if none): what a refusal names when the usage kept
    /// moving under it.
    pub(crate) async fn queued_quota(&self, tenant: &TenantId) -> Result<u64, StoreError> {
        let usage = self.tenant_usage(Some(tenant)).await?;
        Ok(usage
            .first()
            .and_then(|u| u.quotas.max_queued_jobs)
            .unwrap_or(0))
    }

    /// Sets a tenant's quotas; `false` if there is no such tenant.
    pub(crate) async fn set_quotas(
        &self,
        tenant: &TenantId,
        quotas: TenantQuotas,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE tenants SET max_queued_jobs = $1, max_tokens_per_day = $2, \
             max_cost_pusd_per_day = $4 WHERE id = $3 RETURNING id",
        )
        .bind(limit(quotas.max_queued_jobs))
        .bind(limit(quotas.max_tokens_per_day))
        .bind(tenant.as_str())
        .bind(quotas.max_cost_usd_per_day.map(Usd::picos_i64))
        .fetch_all(&self.writer)
        .await
        .map_err(db_err)?;
        self.quota_tenants.forget();
        Ok(!done.is_empty())
    }

    /// The quotas and usage of `tenant`, or of every tenant, by name.
    pub(crate) async fn tenant_usage(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<TenantUsage>, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.id, t.max_queued_jobs, t.max_tokens_per_day, t.max_cost_pusd_per_day, \
               (SELECT count(*) FROM jobs q WHERE q.tenant_id = t.id AND q.status = 'queued') \
                  AS queued, {TODAY} \
             FROM tenants t WHERE $1 IS NULL OR t.id = $1 ORDER BY t.id"
        )))
        .bind(tenant.map(TenantId::as_str))
        .bind(self.today())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(TenantUsage {
                    tenant: TenantId(get::<B, _>(row, "id")?),
                    quotas: TenantQuotas {
                        max_queued_jobs: count(get::<B, _>(row, "max_queued_jobs")?),
                        max_tokens_per_day: count(get::<B, _>(row, "max_tokens_per_day")?),
                        max_cost_usd_per_day: usd(get::<B, _>(row, "max_cost_pusd_per_day")?),
                    },
                    queued_jobs: count(Some(get::<B, _>(row, "queued")?)).unwrap_or(0),
                    tokens_today: count(Some(get::<B, _>(row, "tokens")?)).unwrap_or(0),
                    cost_usd_today: Usd::from_picos_i64(get::<B, _>(row, "cost_pusd")?),
                })
            })
            .collect()
    }

    /// The tenant's daily token or spend quota that today's usage reached, if one did.
    pub(crate) async fn daily_quota_spent(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<QuotaExceeded>, StoreError> {
        if !self.has_quota(tenant).await? {
            return Ok(None);
        }
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT t.max_tokens_per_day, t.max_cost_pusd_per_day, {TODAY} FROM tenants t \
             WHERE t.id = $1"
        )))
        .bind(tenant.as_str())
        .bind(self.today())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        Ok(daily_spent(
            count(get::<B, _>(&row, "max_tokens_per_day")?),
            get::<B, _>(&row, "tokens")?,
            usd(get::<B, _>(&row, "max_cost_pusd_per_day")?),
            get::<B, _>(&row, "cost_pusd")?,
        ))
    }
}
