//! Conformance cases of [`crate::Outbox`]: the webhook outbox, its leases and the signing secrets.

mod webhooks;

pub use webhooks::*;
