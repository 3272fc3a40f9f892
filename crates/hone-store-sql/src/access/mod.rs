//! The [`hone_store::Access`] topic: who may do what.
//!
//! - [`keys`] the tenants' API keys, found by hash; [`audit`] the log of their changes;
//! - [`quotas`] checks and sets the tenants' quotas (intake checks them too).

pub(crate) mod audit;
pub(crate) mod keys;
pub(crate) mod quotas;

use async_trait::async_trait;
use hone_domain::{KeyId, TenantId, Timestamp};
use hone_store::{
    Access, Actor, AuditEntry, AuditPage, KeyInfo, KeyRates, NewKey, QuotaExceeded, StoreError,
    TenantQuotas, TenantUsage,
};
use macro_rules_attribute::apply;

use crate::SqlStore;

#[apply(sql)]
#[async_trait]
impl<B> Access for SqlStore<B> {
    async fn set_quotas(
        &self,
        tenant: &TenantId,
        quotas: TenantQuotas,
    ) -> Result<bool, StoreError> {
        SqlStore::set_quotas(self, tenant, quotas).await
    }

    async fn tenant_usage(
        &self,
        tenant: Option<&TenantId>,
    ) -> Result<Vec<TenantUsage>, StoreError> {
        SqlStore::tenant_usage(self, tenant).await
    }

    async fn daily_quota_spent(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<QuotaExceeded>, StoreError> {
        SqlStore::daily_quota_spent(self, tenant).await
    }

    async fn create_key(&self, key: NewKey) -> Result<KeyInfo, StoreError> {
        SqlStore::create_key(self, key).await
    }

    async fn create_first_key(&self, key: NewKey) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::create_first_key(self, key).await
    }

    async fn touch_keys(&self, used: &[(KeyId, Timestamp)]) -> Result<(), StoreError> {
        SqlStore::touch_keys(self, used).await
    }

    async fn find_key(&self, hash: &str) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::find_key(self, hash).await
    }

    async fn list_keys(&self, tenant: Option<&TenantId>) -> Result<Vec<KeyInfo>, StoreError> {
        SqlStore::list_keys(self, tenant).await
    }

    async fn revoke_key(
        &self,
        tenant: Option<&TenantId>,
        id: KeyId,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::revoke_key(self, tenant, id, by).await
    }

    async fn set_key_rates(
        &self,
        id: KeyId,
        rates: KeyRates,
        by: Actor,
    ) -> Result<Option<KeyInfo>, StoreError> {
        SqlStore::set_key_rates(self, id, rates, by).await
    }

    async fn list_audit(
        &self,
        tenant: &TenantId,
        page: AuditPage,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        SqlStore::list_audit(self, tenant, page).await
    }
}
