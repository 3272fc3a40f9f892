//! Conformance cases of [`crate::Work`]: claims, leases, attempt steps, requeues, and the signals
//! that announce them.

mod attempts;
mod claims;
mod signals;

pub use attempts::*;
pub use claims::*;
pub use signals::*;
