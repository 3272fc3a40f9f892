//! Live progress: the process-wide [`hub::Hub`] that fans committed events out, the
//! [`sse`] streams built on it, and the [`caps`] on how many may be open.

pub mod caps;
pub mod hub;
pub mod sse;

pub use caps::{StreamCaps, StreamPermit, StreamRefusal, Streams};
pub use hub::Hub;
