//! Keeping a job's lease: a task renews it at a third of its length and raises a stop signal
//! when a client cancels the job or the lease is lost, so the job's task can drop whatever it
//! is waiting on (a model call, a sandbox run) at once.

use std::sync::Arc;
use std::time::Duration;

use hone_store::{Lease, Store, StoreError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Why a job must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Keep going.
    No,
    /// A client asked to cancel.
    Cancel,
    /// Another worker owns the job now (or it ended).
    LeaseLost,
    /// This worker is shutting down: give the job back to the queue.
    Shutdown,
}

/// The running lease keeper of one job; stops when dropped.
pub struct LeaseKeeper {
    stop: watch::Receiver<Stop>,
    task: JoinHandle<()>,
}

impl LeaseKeeper {
    /// Starts renewing `lease` every `length / 3` (at most a second apart). `tx` raises the
    /// stop signal; the engine keeps a clone to stop the job from outside (a cancel heard
    /// through the store's signals, a shutdown).
    pub fn start(
        store: Arc<dyn Store>,
        lease: Lease,
        length: Duration,
        tx: watch::Sender<Stop>,
    ) -> Self {
        let rx = tx.subscribe();
        let lease_ms = u64::try_from(length.as_millis()).unwrap_or(u64::MAX);
        // At most a second apart, so a cancel requested through the API is noticed quickly.
        let period = (length / 3).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.tick().await;
            loop {
                tick.tick().await;
                match store.heartbeat(&lease, lease_ms).await {
                    Ok(control) if control.cancel_requested => {
                        let _ = tx.send(Stop::Cancel);
                    }
                    Ok(_) => {}
                    Err(StoreError::LeaseLost(_)) => {
                        let _ = tx.send(Stop::LeaseLost);
                        return;
                    }
                    Err(e) => tracing::warn!(job = %lease.job, error = %e, "lease renewal failed"),
                }
            }
        });
        Self { stop: rx, task }
    }

    /// The current stop signal.
    pub fn stop(&self) -> Stop {
        *self.stop.borrow()
    }

    /// Resolves when a stop is raised.
    pub async fn stopped(&self) -> Stop {
        let mut rx = self.stop.clone();
        loop {
            let now = *rx.borrow_and_update();
            if now != Stop::No {
                return now;
            }
            if rx.changed().await.is_err() {
                // The keeper ended without a stop: never resolve.
                std::future::pending::<()>().await;
            }
        }
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.task.abort();
    }
}
