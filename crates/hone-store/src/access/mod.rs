//! The [`Access`] topic of the store, who may do what: API keys, the audit log of their
//! changes, and the tenants' quotas and usage; its parameter types are beside it.

use async_trait::async_trait;
use hone_domain::{KeyId, TenantId, Timestamp};

use crate::StoreError;

/// Who may do what: API keys, the audit log of their changes, and the tenants' quotas and usage.
#[async_trait]
pub trait Access: Send + Sync + 'static {
    /// Stores a key (and its tenant, if new), with its `key.created` audit entry.
    async fn create_key(&self, key: NewKey) -> Result<KeyInfo, StoreError>;

    /// Stores `key` only if the database holds no key at all (the first run's admin key),
    /// once however many processes try at the same time. `None` if a key exists.
    async fn create_first_key(&self, key: NewKey) -> Result<Option<KeyInfo>, StoreError>;

    /// Records when keys were last used (the API batches them: no write per request); a
    /// time earlier than the recorded one changes nothing.
    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError>;

    /// The key whose SHA-256 is `hash`, revoked and expired ones included (the caller
    /// decides, with [`KeyInfo::usable_at`]).
    async fn find_key(&self, hash: &str) -> Result<Option<KeyInfo>, StoreError>;

    /// The keys of `tenant`, or of every tenant, oldest first.
    async fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<KeyInfo>, StoreError>;

    /// Revokes key `id` (within `tenant`, when given), recording `key.revoked` by `by` when
    /// it was not revoked yet. `None` if no such key there; a key revoked before keeps its
    /// first revocation time.
    async fn revoke_key(
        &self,
        tenant: Option<&TenantId>,
        id: KeyId,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError>;

    /// Sets key `id`'s own rate budgets (the operator's), recording `key.rates_set` by `by`.
    /// `None` if no such key.
    async fn set_key_rates(
        &self,
        id: KeyId,
        rates: KeyRates,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError>;

    /// A page of the tenant's audit log, newest first.
    async fn list_audit(
        &self,
        tenant: &TenantId,
        page: AuditPage,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Sets a tenant's quotas (checked by [`crate::Intake::enqueue_job`] and
    /// [`crate::Intake::enqueue_batch`],
    /// which answer [`crate::Enqueued::OverQuota`]). `false` if no such tenant.
    async fn set_quotas(&self, tenant: &TenantId, quotas: TenantQuotas)
    -> Result<bool, StoreError>;

    /// The quotas and usage of `tenant`, or of every tenant.
    async fn tenant_usage(&self, tenant: Option<&TenantId>)
    -> Result<Vec<TenantUsage>, StoreError>;

    /// The tenant's daily token or spend quota that today's usage reached, if one did
    /// (running jobs stop then).
    async fn daily_quota_spent(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<QuotaExceeded>, StoreError>;
}

mod audit;
mod keys;
mod quotas;

pub use audit::{Actor, AuditAction, AuditEntry, AuditPage};
pub use keys::*;
pub use quotas::*;
