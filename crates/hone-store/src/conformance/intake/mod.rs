//! Conformance cases of [`crate::Intake`]: storing jobs, alone and in batches, idempotently;
//! cancelling them.

mod batches;
mod cancellation;
mod jobs;

pub use batches::*;
pub use cancellation::*;
pub use jobs::*;
