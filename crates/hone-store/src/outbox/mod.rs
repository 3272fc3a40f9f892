//! The [`Outbox`] topic of the store, what leaves the service: committed events for live
//! streams, and webhook deliveries with their signing secrets; its parameter types are
//! beside it.

use async_trait::async_trait;
use hone_domain::{JobId, TenantId};

use crate::{EventsPage, StoreError};

/// What leaves the service: committed events for live streams, and webhook deliveries with their
/// signing secrets.
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Subscribes to "an event was committed" signals, across processes where the backend can.
    /// Signals may be lost; after [`EventSignal::Resync`] listeners re-read.
    async fn listen_events(&self) -> Result<tokio::sync::mpsc::Receiver<EventSignal>, StoreError>;

    /// A page of any tenant's job events, with their owner: for
    /// the process-wide hub that fans events out to SSE clients (which check the tenant).
    async fn read_events(
        &self,
        job: JobId,
        page: EventsPage,
    ) -> Result<Vec<TenantEvent>, StoreError>;

    /// The tenant's signing secrets that sign now: the current one first, then rotated-out
    /// ones still in their overlap window. Stores `candidate` as the current secret if the
    /// tenant has none yet.
    async fn webhook_secrets(
        &self,
        tenant: &TenantId,
        candidate: &str,
    ) -> Result<Vec<WebhookSecret>, StoreError>;

    /// Makes the rotation's secret the tenant's current one (recording `webhook_secret.rotated`);
    /// the old current one keeps
    /// signing for `overlap_ms` more, and beyond `max_active` signing secrets the oldest are
    /// retired at once. Returns the secrets that sign now, as [`crate::Outbox::webhook_secrets`].
    async fn rotate_webhook_secret(
        &self,
        tenant: &TenantId,
        rotation: RotateSecret,
    ) -> Result<Vec<WebhookSecret>, StoreError>;

    /// Leases up to `claim.limit` due outbox rows (pending, next try due, lease free or
    /// expired) to `claim.worker` for `claim.lease_ms`, oldest due first.
    async fn claim_deliveries(
        &self,
        claim: ClaimDeliveries,
    ) -> Result<Vec<DueDelivery>, StoreError>;

    /// Records one try and moves the outbox row on, in one transaction, if `worker` still
    /// holds its lease (else [`StoreError::DeliveryLeaseLost`]).
    async fn record_delivery(&self, delivery: &DeliveryTry) -> Result<(), StoreError>;

    /// Every recorded try of the job's webhooks, oldest first. `None` if no such job.
    async fn list_deliveries(
        &self,
        tenant: &TenantId,
        id: JobId,
    ) -> Result<Option<Vec<Delivery>>, StoreError>;
}

mod webhooks;

pub use webhooks::*;
