//! The [`hone_store::Outbox`] topic: what leaves the service. Committed events for the
//! live-event hub (which serves every tenant and says whose each event is), and webhooks.
//!
//! - [`secrets`] the tenants' webhook signing secrets;
//! - [`Outbox::read_events`] is here; [`deliveries`] leases due outbox rows to dispatchers,
//!   records each try, and lists them.

pub(crate) mod deliveries;
pub(crate) mod secrets;

use async_trait::async_trait;
use hone_domain::{JobId, TenantId};
use hone_store::{
    ClaimDeliveries, Delivery, DeliveryTry, DueDelivery, EventSignal, EventsPage, Outbox,
    RotateSecret, StoreError, TenantEvent, WebhookSecret,
};
use macro_rules_attribute::apply;
use sqlx::AssertSqlSafe;
use tokio::sync::mpsc;

use crate::rows::{self, EVENT_COLUMNS};
use crate::{SqlStore, db_err};

#[apply(sql)]
#[async_trait]
impl<B> Outbox for SqlStore<B> {
    async fn listen_events(&self) -> Result<mpsc::Receiver<EventSignal>, StoreError> {
        B::listen_events(&self.pool, &self.hub).await
    }

    async fn read_events(
        &self,
        job: JobId,
        page: EventsPage,
    ) -> Result<Vec<TenantEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS}, tenant_id FROM events WHERE job_id = $1 AND seq > $2 \
             ORDER BY seq LIMIT $3"
        );
        let found = sqlx::query(AssertSqlSafe(sql))
            .bind(B::id(job))
            .bind(i64::try_from(page.after).unwrap_or(i64::MAX))
            .bind(i64::from(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        found
            .iter()
            .map(|row| {
                Ok(TenantEvent {
                    tenant: TenantId(rows::get::<B, String>(row, "tenant_id")?),
                    event: rows::event::<B>(row)?,
                })
            })
            .collect()
    }

    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
        candidate: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        SqlStore::webhook_secrets(self, tenant, candidate).await
    }

    async fn rotate_webhook_secret(
        &self,
        tenant: &TenantId,
        rotation: RotateSecret,
    ) -> Result<Vec<WebhookSecret>, StoreError> {
        SqlStore::rotate_webhook_secret(self, tenant, rotation).await
    }

    async fn claim_deliveries(
        &self,
        claim: ClaimDeliveries,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        SqlStore::claim_deliveries(self, &claim.worker, claim.limit, claim.lease_ms).await
    }

    async fn record_delivery(&self, delivery: &DeliveryTry) -> Result<(), StoreError> {
        SqlStore::record_delivery(self, delivery).await
    }

    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Delivery>>, StoreError> {
        SqlStore::list_deliveries(self, tenant, id).await
    }
}
