//! Live progress: the process-wide [`hub::Hub`] that fans committed events out, and the
//! [`sse`] streams built on it.

pub mod hub;
pub mod sse;

pub use hub::Hub;
