//! hone's storage boundary. What the application does with its data (`enqueue_job`,
//! `claim_jobs`, `record_execution`, ...) is named one method per operation, so the engine
//! and the API never see SQL, and grouped by topic, each a trait with its parameter types
//! beside it: [`Intake`], [`History`], [`Work`], [`Outbox`], [`Access`], [`Lessons`],
//! [`Retention`]. [`Store`] is their sum, so `Arc<dyn Store>` serves every caller; a caller
//! brings into scope the topics it uses. `hone-store-sql` implements each topic once for both
//! databases, in its module of the same name; each backend crate (`hone-store-sqlite`,
//! `hone-store-postgres`) runs the conformance suite (feature `conformance`), one module a topic,
//! against its
//! database.
//!
//! Rules every backend keeps:
//! - every state change is one transaction, guarded by the expected current state, so two
//!   workers can never both win;
//! - every change a client can observe appends an event in the same transaction;
//! - each step of an attempt is written once; a second write fails with
//!   [`StoreError::StepExists`].

mod access;
mod clock;
mod error;
mod history;
mod intake;
mod lessons;
mod outbox;
mod retention;
mod work;

#[cfg(feature = "conformance")]
pub mod conformance;

use async_trait::async_trait;

pub use access::*;
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{StoreError, UnknownName};
pub use history::*;
pub use intake::*;
pub use lessons::*;
pub use outbox::*;
pub use retention::*;
pub use work::*;

/// Everything hone persists, behind one trait so SQLite and Postgres are interchangeable:
/// the sum of the topics, each its own trait with its parameter types beside it, plus what
/// concerns the database as a whole.
#[async_trait]
pub trait Store: Intake + History + Work + Outbox + Access + Lessons + Retention {
    /// The backend's name (`sqlite`, `postgres`), for logs and readiness.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers and is migrated.
    async fn ping(&self) -> Result<(), StoreError>;
}
