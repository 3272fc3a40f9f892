//! The process-wide fan-out of committed events. One store listener (Postgres `LISTEN`, or
//! SQLite's in-process channel) feeds one pump task; for each announced `(job, seq)` the pump
//! reads the event from the table once and broadcasts it to that job's topic and its
//! tenant's topic. So 1,000 SSE clients cost one read per event, not 1,000.
//!
//! Broadcasting never waits: a subscriber that falls behind sees `Lagged` and re-reads from
//! the table, and a lost listener connection makes the pump send `Resync` to everyone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use hone_domain::{JobId, KeyId, TenantId};
use hone_store::{EventSignal, EventsPage, Store, StoreError, TenantEvent};
use tokio::sync::{broadcast, watch};

use super::caps::{StreamCaps, StreamPermit, StreamRefusal, Streams};

/// A committed event as the hub publishes it: serialised once for all its subscribers.
#[derive(Debug)]
pub struct Published {
    /// The event and its owner.
    pub inner: TenantEvent,
    /// The event as JSON, the `data:` of its SSE frames.
    pub json: String,
}

/// What a topic carries.
#[derive(Debug, Clone)]
pub enum Msg {
    /// A committed event.
    Event(Arc<Published>),
    /// Events may have been missed: re-read from the table.
    Resync,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Topic {
    Job(JobId),
    Tenant(TenantId),
}

/// How many messages a topic buffers for its slowest subscriber before it lags.
const TOPIC_CAPACITY: usize = 1024;
/// How many events one read takes.
const READ_BATCH: u32 = 256;
/// The pump forgets per-job progress past this many jobs (it then reads by the announced seq).
const MAX_TRACKED_JOBS: usize = 100_000;

/// Subscriptions to live events. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    topics: Arc<Mutex<HashMap<Topic, broadcast::Sender<Msg>>>>,
    /// Set at shutdown: every SSE stream ends, and clients resume elsewhere.
    closing: Arc<watch::Sender<bool>>,
    /// The open streams, within their caps.
    streams: Streams,
}

impl Hub {
    /// Starts listening to the store and pumping its events to subscribers, which may hold
    /// up to `caps` streams open.
    pub async fn start(store: Arc<dyn Store>, caps: StreamCaps) -> Result<Self, StoreError> {
        let signals = store.listen_events().await?;
        let hub = Self {
            topics: Arc::new(Mutex::new(HashMap::new())),
            closing: Arc::new(watch::channel(false).0),
            streams: Streams::new(caps),
        };
        tokio::spawn(pump(hub.clone(), store, signals));
        Ok(hub)
    }

    /// Ends every SSE stream, now and for streams opened later (the server is shutting down).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// Resolves once [`Hub::close`] was called.
    pub fn closed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.closing.subscribe();
        async move {
            let _ = rx.wait_for(|closed| *closed).await;
        }
    }

    /// A place for one more stream of `key` (of `tenant`), held until the permit drops;
    /// refused when a cap would be passed.
    pub fn open_stream(
        &self,
        key: KeyId,
        tenant: &TenantId,
    ) -> Result<StreamPermit, StreamRefusal> {
        self.streams.open(key, tenant)
    }

    /// Streams open now.
    pub fn open_streams(&self) -> usize {
        self.streams.open_now()
    }

    /// Live events of one job.
    pub fn subscribe_job(&self, job: JobId) -> broadcast::Receiver<Msg> {
        self.subscribe(Topic::Job(job))
    }

    /// Live events of every job of a tenant.
    pub fn subscribe_tenant(&self, tenant: TenantId) -> broadcast::Receiver<Msg> {
        self.subscribe(Topic::Tenant(tenant))
    }

    fn subscribe(&self, topic: Topic) -> broadcast::Receiver<Msg> {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        topics
            .entry(topic)
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .subscribe()
    }

    /// Whether anyone follows the job or any tenant (else the pump need not read).
    fn wanted(&self, job: JobId) -> bool {
        let topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        topics.contains_key(&Topic::Job(job))
            || topics.keys().any(|t| matches!(t, Topic::Tenant(_)))
    }

    /// Sends to a topic; drops topics nobody follows any more.
    fn publish(&self, topic: Topic, msg: Msg) {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = topics.get(&topic)
            && tx.send(msg).is_err()
        {
            topics.remove(&topic);
        }
    }

    fn resync_all(&self) {
        let mut topics = self.topics.lock().unwrap_or_else(PoisonError::into_inner);
        topics.retain(|_, tx| tx.send(Msg::Resync).is_ok());
    }
}

async fn pump(
    hub: Hub,
    store: Arc<dyn Store>,
    mut signals: tokio::sync::mpsc::Receiver<EventSignal>,
) {
    // The last seq published per job, so bursts of notifications cost one read.
    let mut published: HashMap<JobId, u64> = HashMap::new();
    loop {
        let Some(signal) = signals.recv().await else {
            // The listener ended: listen again, and tell everyone to re-read.
            tracing::warn!("event listener ended; listening again");
            tokio::time::sleep(Duration::from_secs(1)).await;
            match store.listen_events().await {
                Ok(s) => signals = s,
                Err(e) => tracing::warn!(error = %e, "cannot listen for events"),
            }
            published.clear();
            hub.resync_all();
            continue;
        };
        match signal {
            EventSignal::Resync => {
                published.clear();
                hub.resync_all();
            }
            EventSignal::Appended { job, seq } => {
                let after = published
                    .get(&job)
                    .copied()
                    .unwrap_or(seq.saturating_sub(1));
                if after >= seq || !hub.wanted(job) {
                    continue;
                }
                match store
                    .read_events(
                        job,
                        EventsPage {
                            after,
                            limit: READ_BATCH,
                        },
                    )
                    .await
                {
                    Ok(events) => {
                        for e in events {
                            let (last, terminal) = (e.event.seq, e.event.kind.is_terminal());
                            let tenant = Topic::Tenant(e.tenant.clone());
                            let json = serde_json::to_string(&e.event).unwrap_or_default();
                            let msg = Msg::Event(Arc::new(Published { inner: e, json }));
                            hub.publish(Topic::Job(job), msg.clone());
                            hub.publish(tenant, msg);
                            if terminal {
                                published.remove(&job);
                            } else {
                                if published.len() >= MAX_TRACKED_JOBS {
                                    published.clear();
                                }
                                published.insert(job, last);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, %job, "cannot read announced events");
                        hub.publish(Topic::Job(job), Msg::Resync);
                    }
                }
            }
        }
    }
}
