//! The HTTP server: hyper HTTP/1.1 connections with the timeouts, the connection cap and the
//! bounded shutdown that `axum::serve` does not offer.
//!
//! - **Header timeout**: a request's head (request line and headers) must arrive whole within
//!   [`ServerConfig::header_timeout`] of the server starting to wait for it, on a new
//!   connection or after the previous response on a kept-alive one; so it also bounds how
//!   long an idle kept-alive connection stays open. Slowloris heads are cut here.
//! - **Body timeout**: a JSON body must arrive whole within the body timeout
//!   ([`crate::body`], `408`).
//! - **Idle timeout**: a connection on which no byte moves either way for
//!   [`ServerConfig::idle_timeout`] is closed: a client that stopped reading a response. SSE
//!   streams send a heartbeat every 15 s, so a live stream is never idle.
//! - **Connection cap**: at most [`ServerConfig::max_connections`] at once; beyond it the
//!   server stops accepting until one closes (new clients wait in the kernel's backlog).
//! - **Shutdown**: when `shutdown` resolves the listener closes, every connection is asked
//!   to finish its request in flight and close, and SSE streams end (the caller closes the
//!   [`crate::live::Hub`]; clients resume elsewhere with `Last-Event-ID`). Connections still
//!   open after [`ServerConfig::shutdown_grace`] are dropped, so the server returns within
//!   the grace period whatever clients do.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tower::ServiceExt;

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ServerConfig {
    /// Time allowed for a request's head; also how long an idle kept-alive connection lives.
    pub header_timeout: Duration,
    /// A connection with no byte read or written for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Time given to requests in flight at shutdown before their connections are dropped.
    pub shutdown_grace: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// The most header lines hyper parses; the router's own limit ([`crate::limits`]) is lower,
/// so requests between the two get a problem document rather than hyper's bare `431`.
const HYPER_MAX_HEADERS: usize = 256;

/// Serves `router` on `listener` until `shutdown` resolves, then drains within the grace
/// period. Accept errors (out of file descriptors, a reset before accept) are logged and
/// retried after a short pause; they never stop the server.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let (closing_tx, closing) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            () = &mut shutdown => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        while connections.try_join_next().is_some() {}
        let router = router.clone();
        let closing = closing.clone();
        connections.spawn(async move {
            connection(stream, router, config, closing).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    let open = connections.len();
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain)
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "grace period over; closing the connections still open"
        );
        connections.abort_all();
        while connections.join_next().await.is_some() {}
    } else if open > 0 {
        tracing::info!(open, "connections closed");
    }
}

/// Serves one connection until it ends, goes idle, or shutdown asks it to close.
async fn connection(
    stream: TcpStream,
    router: Router,
    config: ServerConfig,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        router.clone().oneshot(req.map(axum::body::Body::new))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout)
        .max_headers(HYPER_MAX_HEADERS)
        .serve_connection(io, service);
    tokio::pin!(conn);
    let mut tick = tokio::time::interval((config.idle_timeout / 4).max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut asked_to_close = *closing.borrow();
    if asked_to_close {
        conn.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = closing.wait_for(|c| *c), if !asked_to_close => {
                asked_to_close = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = tick.tick() => {
                if activity.idle_for() >= config.idle_timeout {
                    tracing::debug!("closing an idle connection");
                    return;
                }
            }
        }
    }
}

/// When a connection last moved a byte, as milliseconds since it opened.
#[derive(Clone)]
struct Activity {
    opened: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Activity {
    fn new() -> Self {
        Self {
            opened: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }
}

/// A TCP stream that records when bytes move.
struct Watched {
    inner: TcpStream,
    activity: Activity,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
