//! In-process signals: SQLite has one process, so broadcast channels carry "job queued",
//! "cancel requested" and "event appended" from the writer to every listener.

use hone_store::{EventSignal, Signal};
use tokio::sync::{broadcast, mpsc};

/// The channel of job signals every [`crate::SqliteStore`] clone shares.
pub(crate) fn channel() -> broadcast::Sender<Signal> {
    broadcast::channel(1024).0
}

/// The channel of "event appended" every [`crate::SqliteStore`] clone shares.
pub(crate) fn events_channel() -> broadcast::Sender<EventSignal> {
    broadcast::channel(4096).0
}

/// A receiver of the store's job signals. A listener that falls behind is told `JobQueued`
/// (it should claim); a lost cancel is caught by the lease heartbeat.
pub(crate) fn subscribe(tx: &broadcast::Sender<Signal>) -> mpsc::Receiver<Signal> {
    forward(tx, Signal::JobQueued)
}

/// A receiver of "event appended". A listener that falls behind is told `Resync`.
pub(crate) fn subscribe_events(tx: &broadcast::Sender<EventSignal>) -> mpsc::Receiver<EventSignal> {
    forward(tx, EventSignal::Resync)
}

/// Forwards a broadcast subscription into an mpsc receiver, turning a lag into `lagged`.
fn forward<T: Clone + Send + 'static>(tx: &broadcast::Sender<T>, lagged: T) -> mpsc::Receiver<T> {
    let mut rx = tx.subscribe();
    let (out, listener) = mpsc::channel(1024);
    tokio::spawn(async move {
        loop {
            let signal = match rx.recv().await {
                Ok(s) => s,
                Err(broadcast::error::RecvError::Lagged(_)) => lagged.clone(),
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if out.send(signal).await.is_err() {
                return;
            }
        }
    });
    listener
}
