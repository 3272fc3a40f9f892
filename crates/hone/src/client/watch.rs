//! `hone watch ID` and `hone submit --watch`: a job's progress, live, from its SSE stream.
//!
//! The stream is read from the start (or from the last event seen), so a watch shows the
//! whole story whenever it starts. A dropped connection is retried with backoff and resumed
//! with `Last-Event-ID`: the server sends every later event exactly once, and the watcher
//! also drops any event whose `seq` it has already shown. On a terminal the progress is a
//! live line (iteration n of max, the current step, elapsed time, tokens) under the event
//! log; otherwise one plain line per event. The exit status tells how the job ended:
//! [`Ended::code`].

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use backon::{BackoffBuilder, ExponentialBuilder};
use futures_util::StreamExt;
use serde_json::Value;

use super::progress::{View, summary};
use super::{Client, job_path};
use crate::config::{JobArgs, Output};

/// How a watched job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It succeeded.
    Succeeded,
    /// It failed: its budget or iterations ran out, or it made no progress.
    Failed,
    /// It was cancelled, or an error outside the code ended it.
    CancelledOrErrored,
}

impl Ended {
    /// The process exit status: 0, 1 or 2.
    pub fn code(self) -> u8 {
        match self {
            Self::Succeeded => 0,
            Self::Failed => 1,
            Self::CancelledOrErrored => 2,
        }
    }

    fn of(job: &Value) -> Option<Self> {
        match job["status"].as_str()? {
            "succeeded" => Some(Self::Succeeded),
            "failed" if job["outcome"]["reason"] == "error" => Some(Self::CancelledOrErrored),
            "failed" => Some(Self::Failed),
            "cancelled" => Some(Self::CancelledOrErrored),
            _ => None,
        }
    }
}

/// Connection failures in a row after which the watch gives up.
const MAX_RECONNECTS: usize = 30;

/// `hone watch`: follows the job until it ends. `terminal`: `out` is the process's stdout,
/// so a live line may be drawn when that is a terminal.
pub async fn watch(
    args: &JobArgs,
    terminal: bool,
    out: &mut (impl Write + Send),
) -> anyhow::Result<Ended> {
    let client = Client::new(&args.client)?;
    follow(&client, &args.id, args.format.output(), terminal, out).await
}

/// Follows job `id` until it ends, printing as `output` says; returns how it ended.
pub async fn follow(
    client: &Client,
    id: &str,
    output: Output,
    terminal: bool,
    out: &mut (impl Write + Send),
) -> anyhow::Result<Ended> {
    let path = job_path(id)?;
    let job = client.send(client.http.get(client.url(&path))).await?;
    let live = output == Output::Text && terminal && std::io::stdout().is_terminal();
    let mut view = View::new(&job, live);
    let mut last_seq = 0u64;
    let mut failures = 0usize;
    let mut backoff = delays();
    loop {
        match stream(client, &path, last_seq, &mut view, output, out).await {
            Ok(StreamEnd::Terminal) => break,
            Ok(StreamEnd::Closed(seq)) | Err(Interrupted(seq, _)) if seq > last_seq => {
                // Progress was made: start counting failures afresh.
                last_seq = seq;
                failures = 0;
                backoff = delays();
            }
            Ok(StreamEnd::Closed(_)) => {}
            Err(Broken::Refused(e)) => {
                view.finish();
                return Err(e.context(format!("cannot watch {id}")));
            }
            Err(Interrupted(_, e)) => {
                failures += 1;
                if failures >= MAX_RECONNECTS {
                    view.finish();
                    return Err(e.context(format!("gave up watching {id}")));
                }
                // One line for a run of failed tries, not one a try.
                if failures == 1 {
                    view.note(&format!(
                        "connection lost ({e:#}); reconnecting to resume after event \
                         {last_seq} (up to {MAX_RECONNECTS} tries)"
                    ));
                }
            }
        }
        tokio::time::sleep(backoff.next().unwrap_or(Duration::from_secs(5))).await;
    }
    let job = final_state(client, &path).await?;
    view.finish();
    match output {
        Output::Json => writeln!(out, "{job}")?,
        Output::Text => {
            writeln!(out, "{}", summary(&job))?;
            // The reason comes last, as `hone show` gives it.
            if job["status"] != "succeeded"
                && let Some(message) = job["outcome"]["message"].as_str()
            {
                writeln!(out, "  {message}")?;
            }
        }
    }
    Ended::of(&job).context("the job's stream ended but the job has not")
}

/// The job once its stream has ended, read again after a dropped connection (a refusal
/// other than 408, 429 or 5xx is not retried).
async fn final_state(client: &Client, path: &str) -> anyhow::Result<Value> {
    let mut delays = delays().take(MAX_RECONNECTS);
    loop {
        let sent = client
            .http
            .get(client.url(path))
            .bearer_auth(&client.key)
            .send()
            .await;
        let why = match sent {
            Ok(resp) if resp.status().is_success() => {
                let job: Value = resp.json().await.context("the job could not be read")?;
                return match Ended::of(&job) {
                    Some(_) => Ok(job),
                    None => anyhow::bail!("the job's stream ended but the job has not"),
                };
            }
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body: Value = resp.json().await.unwrap_or(Value::Null);
                let why = super::problem(status, &body);
                if !retryable(status) {
                    anyhow::bail!("{why}");
                }
                why
            }
            Err(e) => format!("cannot reach {}: {e}", client.base),
        };
        match delays.next() {
            Some(wait) => tokio::time::sleep(wait).await,
            None => anyhow::bail!("{why}"),
        }
    }
}

/// Waits between reconnections: 0.2 s doubling to 5 s.
fn delays() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .without_max_times()
        .build()
}

enum StreamEnd {
    /// The terminal event arrived.
    Terminal,
    /// The server closed the stream (shutdown) after this seq.
    Closed(u64),
}

/// Why a connection's stream stopped before the job ended.
enum Broken {
    /// It broke after this seq, for a reason a retry may cure (the network, 5xx, 408, 429).
    Interrupted(u64, anyhow::Error),
    /// The server refused the watch (a revoked key, a job that is gone): retrying cannot
    /// help.
    Refused(anyhow::Error),
}

use Broken::Interrupted;

/// Whether a refusal with this status may pass if asked again.
fn retryable(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// Reads one connection's events after `after`, showing each new one.
async fn stream(
    client: &Client,
    path: &str,
    after: u64,
    view: &mut View,
    output: Output,
    out: &mut (impl Write + Send),
) -> Result<StreamEnd, Broken> {
    let mut seen = after;
    let mut req = client
        .http
        .get(client.url(&format!("{path}/events")))
        .bearer_auth(&client.key)
        .header("accept", "text/event-stream");
    if after > 0 {
        req = req.header("last-event-id", after.to_string());
    }
    let resp = req
        .send()
        .await
        .with_context(|| format!("cannot reach {}", client.base))
        .map_err(|e| Interrupted(seen, e))?;
    if !resp.status().is_success() {
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let e = anyhow::anyhow!("{}", super::problem(status, &body));
        return Err(if retryable(status) {
            Interrupted(seen, e)
        } else {
            Broken::Refused(e)
        });
    }
    let mut events = eventsource_stream::EventStream::new(resp.bytes_stream());
    while let Some(frame) = events.next().await {
        let frame = frame
            .map_err(|e| anyhow::anyhow!("the stream broke: {e}"))
            .map_err(|e| Interrupted(seen, e))?;
        let Ok(seq) = frame.id.parse::<u64>() else {
            continue;
        };
        if seq <= seen {
            continue;
        }
        seen = seq;
        let event: Value = serde_json::from_str(&frame.data).unwrap_or(Value::Null);
        let shown = match output {
            Output::Json => writeln!(out, "{event}"),
            Output::Text => view.event(&event, out),
        };
        // A closed stdout (`| head`) is not the network: no reconnecting can cure it.
        shown
            .context("cannot write the output")
            .map_err(Broken::Refused)?;
        if frame.event == "attempt.finished" {
            // Events carry no token counts: the job has them, for the live line.
            if let Ok(job) = client.send(client.http.get(client.url(path))).await {
                view.tokens = job["usage"]["total_tokens"].as_u64().unwrap_or(0);
                view.redraw();
            }
        }
        if matches!(
            frame.event.as_str(),
            "job.succeeded" | "job.failed" | "job.cancelled"
        ) {
            return Ok(StreamEnd::Terminal);
        }
    }
    Ok(StreamEnd::Closed(seen))
}

#[cfg(test)]
mod tests {
    use super::retryable;

    #[test]
    fn only_refusals_a_retry_may_cure_are_retried() {
        for status in [408, 429, 500, 502, 503] {
            assert!(retryable(status), "{status}");
        }
        for status in [400, 401, 403, 404, 410, 422] {
            assert!(!retryable(status), "{status}");
        }
    }
}
