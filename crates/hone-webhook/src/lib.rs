//! hone's webhooks, per the Standard Webhooks specification.
//!
//! - [`signing`]: `whsec_` secrets and `v1,` HMAC-SHA256 signatures;
//! - [`schedule`]: when a failed delivery is tried again;
//! - [`target`]: which targets are allowed, checked where the client resolves names;
//! - [`dispatch`]: the dispatcher that drains the outbox the store fills in each event's
//!   transaction.

pub mod dispatch;
pub mod schedule;
pub mod signing;
pub mod target;

pub use dispatch::{Dispatcher, DispatcherConfig};
pub use schedule::Schedule;
pub use target::{SystemLookup, TargetPolicy};
