//! The parameter and result types of the webhook and live-event parts of [`crate::Store`]:
//! signing secrets, the outbox the dispatcher drains, the log of delivery tries, and the
//! "an event was appended" signal that feeds SSE streams.

use hone_domain::{Event, EventType, JobId, TenantId, Timestamp};
use serde::Serialize;

/// A rotation of a tenant's webhook signing secret.
#[derive(Debug, Clone)]
pub struct RotateSecret {
    /// The new current secret (`whsec_...`).
    pub secret: String,
    /// How long the old current secret keeps signing.
    pub overlap_ms: u64,
    /// The most secrets that sign at once (at least 1); the oldest beyond it are retired.
    pub max_active: u32,
    /// Who rotates it (the audit log names them).
    pub by: crate::Actor,
}

/// One of a tenant's signing secrets (`whsec_` + base64 of the key bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebhookSecret {
    /// The secret as a receiver configures it.
    pub secret: String,
    /// When it was made.
    pub created_at: Timestamp,
    /// `None` for the current secret; a rotated-out secret still signs until this time.
    pub expires_at: Option<Timestamp>,
}

/// An outbox row that is due, leased to one dispatcher.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The outbox row.
    pub id: i64,
    /// The job's owner, whose secrets sign it.
    pub tenant: TenantId,
    /// The job.
    pub job: JobId,
    /// The event's seq in the job's log.
    pub seq: u64,
    /// The event's type.
    pub kind: EventType,
    /// When the event was written.
    pub event_at: Timestamp,
    /// Where to send it.
    pub url: String,
    /// How many tries were recorded before this one.
    pub tries: u32,
    /// The body fixed at the first try, if there was one.
    pub payload: Option<String>,
}

/// What happens to an outbox row after a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextTry {
    /// 2xx: done.
    Delivered,
    /// Try again at this time.
    RetryAt(Timestamp),
    /// The schedule is spent.
    Exhausted,
    /// The receiver answered `410 Gone`: no more tries.
    Gone,
    /// The target is not allowed (a private address): no more tries.
    Refused,
}

impl NextTry {
    /// The outbox state this leaves the row in.
    pub fn state(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::RetryAt(_) => "pending",
            Self::Exhausted => "failed",
            Self::Gone => "gone",
            Self::Refused => "refused",
        }
    }
}

/// One try of a delivery, as the dispatcher reports it.
#[derive(Debug, Clone)]
pub struct DeliveryTry {
    /// The outbox row.
    pub outbox: i64,
    /// The dispatcher holding the row's lease.
    pub worker: String,
    /// The body that was sent (stored at the first try).
    pub payload: String,
    /// When the request started.
    pub attempted_at: Timestamp,
    /// How long it took.
    pub duration_ms: u64,
    /// The receiver's status code, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// What happens next.
    pub next: NextTry,
}

/// One recorded try, as `GET /v1/jobs/{id}/webhook-deliveries` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The `webhook-id` header: the same for every try of one event.
    pub webhook_id: String,
    /// The event's seq.
    pub event_seq: u64,
    /// The event's type.
    pub event_type: EventType,
    /// The URL it went to.
    pub url: String,
    /// 1 for the first try.
    pub attempt: u32,
    /// When the try started.
    pub attempted_at: Timestamp,
    /// How long it took.
    pub duration_ms: u64,
    /// The receiver's status code, if it answered.
    pub status_code: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
    /// When the next try is due, if one is.
    pub next_attempt_at: Option<Timestamp>,
    /// The delivery's state now: `pending`, `delivered`, `failed`, `gone` or `refused`.
    pub state: String,
}

/// The `webhook-id` of a job's event: stable across retries, unique per event.
pub fn webhook_id(job: JobId, seq: u64) -> String {
    format!("evt_{}_{seq}", job.0.simple())
}

/// An event with its owner, as the live-event hub reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantEvent {
    /// The job's owner.
    pub tenant: TenantId,
    /// The event.
    pub event: Event,
}

/// What the store tells live-event listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSignal {
    /// An event was committed: `seq` of job `job`.
    Appended {
        /// The job.
        job: JobId,
        /// The new event's seq.
        seq: u64,
    },
    /// Signals may have been lost (a dropped connection): listeners should re-read.
    Resync,
}

/// A dispatcher's claim on due webhook deliveries ([`crate::Outbox::claim_deliveries`]).
#[derive(Debug, Clone)]
pub struct ClaimDeliveries {
    /// The dispatcher.
    pub worker: String,
    /// The most rows to lease.
    pub limit: u32,
    /// How long the lease lasts.
    pub lease_ms: u64,
}
