//! Conformance cases of [`crate::History`]: pages, filters, retries and aggregates, each against a
//! reference computed in Rust.

mod filters;
mod stats;

pub use filters::*;
pub use stats::*;
