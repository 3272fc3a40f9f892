//! Execution slots: a semaphore sized to the CPU count (configurable), and for each slot its
//! own unprivileged host uid when the service runs as root, so that concurrent runs never
//! share a uid (RLIMIT_NPROC counts per uid) and never run as host root.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::SandboxError;

/// The pool of slots.
pub(crate) struct Slots {
    permits: Arc<Semaphore>,
    uids: Arc<Mutex<Vec<u32>>>,
}

/// A held slot; returns its uid to the pool when dropped.
pub(crate) struct Slot {
    /// The host uid (and gid) of the run, when the service can switch to one.
    pub uid: Option<u32>,
    uids: Arc<Mutex<Vec<u32>>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let (Some(uid), Ok(mut free)) = (self.uid, self.uids.lock()) {
            free.push(uid);
        }
    }
}

impl Slots {
    /// `count` slots; with `uid_base`, slot `i` runs as uid `uid_base + i`.
    pub(crate) fn new(count: usize, uid_base: Option<u32>) -> Self {
        let count = count.max(1);
        let uids = uid_base
            .map(|base| (0..count as u32).map(|i| base + i).collect())
            .unwrap_or_default();
        Self {
            permits: Arc::new(Semaphore::new(count)),
            uids: Arc::new(Mutex::new(uids)),
        }
    }

    /// Waits for a free slot.
    pub(crate) async fn acquire(&self) -> Result<Slot, SandboxError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SandboxError::Setup("the sandbox is shutting down".to_owned()))?;
        let uid = self.uids.lock().ok().and_then(|mut free| free.pop());
        Ok(Slot {
            uid,
            uids: self.uids.clone(),
            _permit: permit,
        })
    }
}
