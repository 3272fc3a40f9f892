//! In-process signals: SQLite has one process, so a broadcast channel carries "job queued"
//! and "cancel requested" from the writer to every listener.

use hone_store::Signal;
use tokio::sync::{broadcast, mpsc};

/// The channel every [`crate::SqliteStore`] clone shares.
pub(crate) fn channel() -> broadcast::Sender<Signal> {
    broadcast::channel(1024).0
}

/// A receiver of the store's signals. A listener that falls behind is told `JobQueued` (it
/// should claim); a lost cancel is caught by the lease heartbeat.
pub(crate) fn subscribe(tx: &broadcast::Sender<Signal>) -> mpsc::Receiver<Signal> {
    let mut rx = tx.subscribe();
    let (out, listener) = mpsc::channel(256);
    tokio::spawn(async move {
        loop {
            let signal = match rx.recv().await {
                Ok(s) => s,
                Err(broadcast::error::RecvError::Lagged(_)) => Signal::JobQueued,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if out.send(signal).await.is_err() {
                return;
            }
        }
    });
    listener
}
