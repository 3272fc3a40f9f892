//! Announcements: queued jobs and cancels to workers, committed events to the hub.

use std::sync::Arc;
use std::time::Duration;

use hone_domain::EventType;

use crate::{EventSignal, EventsPage, ManualClock, Signal, Store};

use crate::conformance::fixtures::*;

/// Listeners hear about queued jobs and about cancels of running ones.
pub async fn signals_announce_jobs_and_cancels(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let mut signals = store.listen().await.expect("listen");
    let id = enqueue(&store, 0).await;
    assert_eq!(next_signal(&mut signals).await, Some(Signal::JobQueued));
    let lease = claim_one(&store, "w", 60_000).await;
    assert_eq!(lease.job, id);
    store.request_cancel(&tenant(), id).await.expect("cancel");
    assert_eq!(
        next_signal(&mut signals).await,
        Some(Signal::CancelRequested(id))
    );
}

async fn next_signal(signals: &mut tokio::sync::mpsc::Receiver<Signal>) -> Option<Signal> {
    tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv())
        .await
        .expect("a signal within 5 s")
}

async fn next_event(signals: &mut tokio::sync::mpsc::Receiver<EventSignal>) -> EventSignal {
    tokio::time::timeout(Duration::from_secs(5), signals.recv())
        .await
        .expect("a signal within 5 s")
        .expect("the listener is open")
}

/// Every committed event is announced with its job and seq, and reads back with its tenant.
pub async fn events_are_announced_and_read_back(store: Arc<dyn Store>, _clock: Arc<ManualClock>) {
    let mut signals = store.listen_events().await.expect("listen");
    let id = enqueue(&store, 0).await;
    assert_eq!(
        next_event(&mut signals).await,
        EventSignal::Appended { job: id, seq: 1 }
    );
    claim_one(&store, "w", 60_000).await;
    assert_eq!(
        next_event(&mut signals).await,
        EventSignal::Appended { job: id, seq: 2 }
    );
    let read = store
        .read_events(
            id,
            EventsPage {
                after: 0,
                limit: 10,
            },
        )
        .await
        .expect("read");
    assert_eq!(read.len(), 2);
    assert!(read.iter().all(|e| e.tenant == tenant()));
    assert_eq!(read[1].event.kind, EventType::JobStarted);
    assert_eq!(
        store
            .read_events(
                id,
                EventsPage {
                    after: 1,
                    limit: 10
                }
            )
            .await
            .expect("read")
            .len(),
        1
    );
}
