//! SSE streams: one job's event log (backlog, then live, closed after the terminal event;
//! resumable with `Last-Event-ID` or `?after=`), and every job of a tenant for dashboards.
//!
//! Each stream is fed by a task of its own through a small bounded channel: a slow client
//! only slows its own task, whose hub subscription then lags, and the task catches up from
//! the table. The engine and the other clients never wait for it.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event as Frame, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hone_domain::{Event, JobId, TenantId};
use hone_store::{EventsPage, Store};
use tokio::sync::{broadcast, mpsc};

use super::caps::StreamPermit;
use super::hub::{Hub, Msg};

/// The heartbeat comment interval, and how often a quiet stream re-reads the table in case a
/// notification was lost.
pub const HEARTBEAT: Duration = Duration::from_secs(15);
/// How many frames wait for a slow client before its task stops reading.
const CLIENT_BUFFER: usize = 64;
/// How many events one catch-up read takes.
const PAGE: u32 = 500;

/// The SSE frame of a job event: `id: SEQ` (or as given), `event: TYPE`, `data: JSON`
/// (`json` when the hub serialised it already).
pub fn frame(event: &Event, id: String, json: Option<&str>) -> Frame {
    let frame = Frame::default().id(id).event(event.kind.as_str());
    match json {
        Some(json) => frame.data(json),
        None => frame.data(serde_json::to_string(event).unwrap_or_else(|_| "{}".to_owned())),
    }
}

/// The SSE response of a stream's frames, holding its place (`permit`) until it ends; it
/// ends when the hub closes (shutdown).
pub fn respond(rx: mpsc::Receiver<Frame>, hub: &Hub, permit: StreamPermit) -> Response {
    use futures_util::StreamExt;
    let held = (crate::metrics::SseClient::open(), permit);
    let stream = futures_util::stream::unfold((rx, held), |(mut rx, held)| async move {
        rx.recv()
            .await
            .map(|f| (Ok::<_, Infallible>(f), (rx, held)))
    })
    .take_until(hub.closed());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(HEARTBEAT).text("heartbeat"))
        .into_response()
}

/// Where a job stream starts.
#[derive(Debug, Clone, Copy)]
pub struct From {
    /// Send events with `seq > after`.
    pub after: u64,
    /// The job had ended when the request came: once the backlog is sent the stream closes,
    /// even if the client already has the terminal event.
    pub finished: bool,
}

/// Streams job `id` (already checked to belong to `tenant`).
pub fn job_stream(
    store: Arc<dyn Store>,
    hub: &Hub,
    tenant: TenantId,
    id: JobId,
    from: From,
    permit: StreamPermit,
) -> Response {
    // Subscribe before reading the backlog, so nothing falls between the two.
    let live = hub.subscribe_job(id);
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    let follower = JobFollower {
        store,
        tenant,
        id,
        last: from.after,
        tx,
    };
    tokio::spawn(follower.run(live, from.finished));
    respond(rx, hub, permit)
}

/// Whether the stream goes on after a send.
enum Flow {
    More,
    Done,
}

struct JobFollower {
    store: Arc<dyn Store>,
    tenant: TenantId,
    id: JobId,
    last: u64,
    tx: mpsc::Sender<Frame>,
}

impl JobFollower {
    async fn run(mut self, mut live: broadcast::Receiver<Msg>, finished: bool) {
        if let Flow::Done = self.catch_up().await {
            return;
        }
        if finished {
            return;
        }
        let mut poll = tokio::time::interval(HEARTBEAT);
        poll.reset();
        loop {
            let flow = tokio::select! {
                () = self.tx.closed() => Flow::Done,
                msg = live.recv() => match msg {
                    Ok(Msg::Event(e)) if e.inner.event.seq <= self.last => Flow::More,
                    Ok(Msg::Event(e)) if e.inner.event.seq == self.last + 1 => {
                        self.send(&e.inner.event, Some(&e.json)).await
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => self.catch_up().await,
                    Err(broadcast::error::RecvError::Closed) => Flow::Done,
                },
                _ = poll.tick() => self.catch_up().await,
            };
            if let Flow::Done = flow {
                return;
            }
        }
    }

    async fn send(&mut self, event: &Event, json: Option<&str>) -> Flow {
        let f = frame(event, event.seq.to_string(), json);
        if self.tx.send(f).await.is_err() {
            return Flow::Done;
        }
        self.last = event.seq;
        if event.kind.is_terminal() {
            Flow::Done
        } else {
            Flow::More
        }
    }

    /// Sends everything after `last` from the table; `Done` after the terminal event, or if
    /// the client left or the store failed (the client reconnects with `Last-Event-ID`).
    async fn catch_up(&mut self) -> Flow {
        loop {
            let page = match self
                .store
                .list_events(
                    &self.tenant,
                    self.id,
                    EventsPage {
                        after: self.last,
                        limit: PAGE,
                    },
                )
                .await
            {
                Ok(Some(page)) => page,
                Ok(None) => return Flow::Done,
                Err(e) => {
                    tracing::warn!(error = %e, job = %self.id, "SSE catch-up failed");
                    return Flow::Done;
                }
            };
            let full = page.len() == PAGE as usize;
            for event in &page {
                if let Flow::Done = self.send(event, None).await {
                    return Flow::Done;
                }
            }
            if !full {
                return Flow::More;
            }
        }
    }
}

/// Streams every event of the tenant's jobs as they are committed. Frames carry
/// `id: JOB_ID/SEQ`. A client that falls too far behind gets an `event: resync` frame and
/// should re-read the jobs it shows (`GET /v1/jobs`).
pub fn tenant_stream(hub: &Hub, tenant: TenantId, permit: StreamPermit) -> Response {
    let mut live = hub.subscribe_tenant(tenant);
    let (tx, rx) = mpsc::channel(CLIENT_BUFFER);
    tokio::spawn(async move {
        loop {
            let frame = tokio::select! {
                () = tx.closed() => return,
                msg = live.recv() => match msg {
                    Ok(Msg::Event(e)) => {
                        let ev = &e.inner.event;
                        frame(ev, format!("{}/{}", ev.job_id, ev.seq), Some(&e.json))
                    }
                    Ok(Msg::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                        Frame::default().event("resync").data("{}")
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if tx.send(frame).await.is_err() {
                return;
            }
        }
    });
    respond(rx, hub, permit)
}
