//! The tenants' quotas: what a submission would exceed, the quotas set, and the usage
//! beside them.

use hone_domain::TenantId;

/// The quota a submission would exceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaExceeded {
    /// The tenant has this many queued jobs already.
    QueuedJobs {
        /// The quota.
        limit: u64,
    },
    /// The tenant spent this many model tokens today (UTC).
    TokensPerDay {
        /// The quota.
        limit: u64,
    },
    /// The tenant's model calls cost this much today (UTC).
    CostPerDay {
        /// The quota.
        limit: hone_domain::Usd,
    },
}

/// A tenant's quotas; `None` is no quota.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TenantQuotas {
    /// The most queued jobs at once.
    pub max_queued_jobs: Option<u64>,
    /// The most model tokens a UTC day.
    pub max_tokens_per_day: Option<u64>,
    /// The most dollars of model calls a UTC day.
    pub max_cost_usd_per_day: Option<hone_domain::Usd>,
}

/// A tenant's quotas and what it uses now.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TenantUsage {
    /// The tenant.
    pub tenant: TenantId,
    /// Its quotas.
    pub quotas: TenantQuotas,
    /// Its queued jobs now.
    pub queued_jobs: u64,
    /// The model tokens its jobs spent today (UTC).
    pub tokens_today: u64,
    /// What its jobs' model calls cost today (UTC).
    pub cost_usd_today: hone_domain::Usd,
}
