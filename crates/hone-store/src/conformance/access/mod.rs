//! Conformance cases of [`crate::Access`]: keys, the audit log, and quotas.

mod keys;
mod quotas;

pub use keys::*;
pub use quotas::*;
