//! Live updates for open pages: SSE streams that say *when* to refresh, never what changed.
//! htmx then fetches the part of the page again, so what a page shows always comes from the
//! same code as its first render.
//!
//! - `GET /live`: `event: change` at most once a second while any of the tenant's jobs
//!   has new events (the jobs list refreshes its rows);
//! - `GET /jobs/{id}/live?after=SEQ`: `event: change` as soon as the job has an event after
//!   `SEQ` (at once if it already has: the page was rendered before it), and `event: done`
//!   after its terminal event, which closes the page's stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::response::sse::{Event as Frame, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use hone_api::live::StreamPermit;
use hone_api::live::hub::Msg;
use hone_store::EventsPage;
use serde::Deserialize;
use tokio::sync::{broadcast, mpsc};

use crate::WebState;
use crate::page::{PageError, api};
use crate::session::Session;

/// The least time between two `change` frames of the tenant stream.
const LIST_PACE: Duration = Duration::from_secs(1);

/// A place for one more stream of the session's key, or the page error that says which cap
/// it would pass.
async fn permit(state: &WebState, session: &Session) -> Result<StreamPermit, PageError> {
    let opened = state
        .api
        .hub
        .open_stream(session.key.id, &session.key.tenant)
        .map_err(hone_api::problem::ApiError::TooManyStreams);
    api(opened).await
}

fn respond(rx: mpsc::Receiver<Frame>, state: &WebState, permit: StreamPermit) -> Response {
    use futures_util::StreamExt;
    let stream = futures_util::stream::unfold((rx, permit), |(mut rx, permit)| async move {
        rx.recv()
            .await
            .map(|f| (Ok::<_, Infallible>(f), (rx, permit)))
    })
    .take_until(state.api.hub.closed());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(hone_api::live::sse::HEARTBEAT))
        .into_response()
}

/// A browser drops an SSE event whose data is empty, so each frame carries a word.
fn change() -> Frame {
    Frame::default().event("change").data("change")
}

/// The tenant's stream, for the jobs list.
pub async fn tenant(
    State(state): State<WebState>,
    session: Session,
) -> Result<Response, PageError> {
    api(hone_api::auth::Caller::<hone_api::auth::Read>::for_key(
        &session.key,
    ))
    .await?;
    let permit = permit(&state, &session).await?;
    let mut sub = state.api.hub.subscribe_tenant(session.key.tenant.clone());
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        loop {
            match sub.recv().await {
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
            if tx.send(change()).await.is_err() {
                return;
            }
            tokio::time::sleep(LIST_PACE).await;
            // Whatever arrived meanwhile is covered by the refresh just asked for.
            while !matches!(
                sub.try_recv(),
                Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)
            ) {}
        }
    });
    Ok(respond(rx, &state, permit))
}

/// Where a job page's stream starts.
#[derive(Deserialize)]
pub struct After {
    /// The last event the page shows.
    #[serde(default)]
    after: u64,
}

/// One job's stream, for its page.
pub async fn job(
    State(state): State<WebState>,
    session: Session,
    Path(raw): Path<String>,
    Query(After { after }): Query<After>,
) -> Result<Response, PageError> {
    api(hone_api::auth::Caller::<hone_api::auth::Read>::for_key(
        &session.key,
    ))
    .await?;
    let tenant = session.key.tenant.clone();
    let job = crate::job::find(&state, &tenant, &raw).await?;
    let permit = permit(&state, &session).await?;
    // Subscribe before reading, so nothing committed in between is missed.
    let mut sub = state.api.hub.subscribe_job(job.id);
    let store = state.api.store.clone();
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut seen = after;
        loop {
            let page = EventsPage {
                after: seen,
                limit: 1000,
            };
            let Ok(Some(events)) = store.list_events(&tenant, job.id, page).await else {
                return;
            };
            if let Some(last) = events.last() {
                seen = last.seq;
                if tx.send(change()).await.is_err() {
                    return;
                }
                if events.iter().any(|e| e.kind.is_terminal()) {
                    let _ = tx.send(Frame::default().event("done").data("done")).await;
                    return;
                }
            }
            match sub.recv().await {
                Ok(Msg::Event(_) | Msg::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(respond(rx, &state, permit))
}
