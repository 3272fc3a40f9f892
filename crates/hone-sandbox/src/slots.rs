//! Execution slots: a semaphore sized to the CPU count (configurable), and for each slot its
//! own unprivileged host uid when the service runs as root, so that concurrent runs never
//! share a uid (RLIMIT_NPROC counts per uid) and never run as host root.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::SandboxError;

/// The pool of slots.
pub(crate) struct Slots {
    permits: Arc<Semaphore>,
    free: Arc<Mutex<Vec<usize>>>,
    uid_base: Option<u32>,
    count: usize,
}

/// A held slot; returns its uid to the pool when dropped.
pub(crate) struct Slot {
    /// Which slot (0-based), for per-slot resources such as cgroups.
    pub index: usize,
    /// The host uid (and gid) of the run, when the service can switch to one.
    pub uid: Option<u32>,
    free: Arc<Mutex<Vec<usize>>>,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut free) = self.free.lock() {
            free.push(self.index);
        }
    }
}

impl Slots {
    /// `count` slots; with `uid_base`, slot `i` runs as uid `uid_base + i`.
    pub(crate) fn new(count: usize, uid_base: Option<u32>) -> Self {
        let count = count.max(1);
        Self {
            permits: Arc::new(Semaphore::new(count)),
            free: Arc::new(Mutex::new((0..count).rev().collect())),
            uid_base,
            count,
        }
    }

    /// How many slots there are.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// The host uid of slot `index`, when the service can switch to one.
    pub(crate) fn uid_of(&self, index: usize) -> Option<u32> {
        self.uid_base
            .map(|base| base + u32::try_from(index).unwrap_or(0))
    }

    /// Waits for a free slot.
    pub(crate) async fn acquire(&self) -> Result<Slot, SandboxError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| SandboxError::Setup("the sandbox is shutting down".to_owned()))?;
        let index = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .ok_or_else(|| SandboxError::Setup("no free slot behind a permit".to_owned()))?;
        Ok(Slot {
            index,
            uid: self.uid_of(index),
            free: self.free.clone(),
            _permit: permit,
        })
    }
}
