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
            Err(Interrupted(_, e)) => {
                failures += 1;
                if failures >= MAX_RECONNECTS {
                    view.finish();
                    return Err(e.context(format!("gave up watching {id}")));
                }
                view.note(&format!(
                    "connection lost ({e:#}); resuming after event {last_seq}"
                ));
            }
        }
        tokio::time::sleep(backoff.next().unwrap_or(Duration::from_secs(5))).await;
    }
    let job = final_state(client, &path).await?;
    view.finish();
    match output {
        Output::Json => writeln!(out, "{job}")?,
        Output::Text => writeln!(out, "{}", summary(&job))?,
    }
    Ended::of(&job).context("the job's stream ended but the job has not")
}

/// The job once its stream has ended, read again after a dropped connection.
async fn final_state(client: &Client, path: &str) -> anyhow::Result<Value> {
    let mut delays = delays().take(MAX_RECONNECTS);
    loop {
        match client.send(client.http.get(client.url(path))).await {
            Ok(job) if Ended::of(&job).is_some() => return Ok(job),
            Ok(_) => anyhow::bail!("the job's stream ended but the job has not"),
            Err(e) => match delays.next() {
                Some(wait) => tokio::time::sleep(wait).await,
                None => return Err(e),
            },
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

/// A stream that broke after this seq.
struct Interrupted(u64, anyhow::Error);

/// Reads one connection's events after `after`, showing each new one.
async fn stream(
    client: &Client,
    path: &str,
    after: u64,
    view: &mut View,
    output: Output,
    out: &mut (impl Write + Send),
) -> Result<StreamEnd, Interrupted> {
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
        return Err(Interrupted(seen, e));
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
        shown
            .context("cannot write the output")
            .map_err(|e| Interrupted(seen, e))?;
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

/// What the display knows of the job.
struct View {
    max_iterations: u64,
    created: Option<time::OffsetDateTime>,
    iteration: u64,
    step: &'static str,
    tokens: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl View {
    fn new(job: &Value, live: bool) -> Self {
        let created = job["created_at"].as_str().and_then(parse_time);
        let bar = live.then(|| {
            let since = created
                .map(|c| (time::OffsetDateTime::now_utc() - c).unsigned_abs())
                .unwrap_or_default();
            let style = indicatif::ProgressStyle::with_template("{spinner} {msg} · {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
            let bar = indicatif::ProgressBar::new_spinner()
                .with_style(style)
                .with_elapsed(since);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        let view = Self {
            max_iterations: job["spec"]["max_iterations"].as_u64().unwrap_or(0),
            created,
            iteration: job["iterations"].as_u64().unwrap_or(0),
            step: "queued",
            tokens: job["usage"]["total_tokens"].as_u64().unwrap_or(0),
            bar,
        };
        view.redraw();
        view
    }

    /// Shows one event: a line above the live line (or alone), and the live line redrawn.
    fn event(&mut self, event: &Value, out: &mut impl Write) -> std::io::Result<()> {
        let data = &event["data"];
        let iteration = data["iteration"].as_u64().filter(|n| *n > 0);
        if let Some(n) = iteration {
            self.iteration = n;
        }
        let kind = event["type"].as_str().unwrap_or("?");
        let (step, detail) = describe(kind, data);
        self.step = step;
        let at = event["created_at"]
            .as_str()
            .and_then(parse_time)
            .zip(self.created)
            .map(|(at, created)| (at - created).as_seconds_f64())
            .unwrap_or(0.0);
        let line = if iteration.is_some() {
            format!(
                "{at:>7.1}s  iteration {}/{}  {detail}",
                self.iteration, self.max_iterations
            )
        } else {
            format!("{at:>7.1}s  {detail}")
        };
        match &self.bar {
            Some(bar) => bar.println(line),
            None => writeln!(out, "{line}")?,
        }
        self.redraw();
        Ok(())
    }

    fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("         {text}")),
            None => eprintln!("hone: {text}"),
        }
    }

    fn redraw(&self) {
        if let Some(bar) = &self.bar {
            let tokens = if self.tokens > 0 {
                format!(" · {} tokens", self.tokens)
            } else {
                String::new()
            };
            bar.set_message(format!(
                "iteration {}/{} · {}{tokens}",
                self.iteration, self.max_iterations, self.step
            ));
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The step an event leaves the job in, and the event as words.
fn describe(kind: &str, data: &Value) -> (&'static str, String) {
    let s = |k: &str| data[k].as_str().unwrap_or("?").to_owned();
    match kind {
        "job.queued" => ("queued", "queued".to_owned()),
        "job.started" => ("starting", format!("started on {}", s("worker"))),
        "job.requeued" => ("queued", format!("requeued ({})", s("reason"))),
        "attempt.started" => ("writing code", "the actor writes code".to_owned()),
        "attempt.code" => (
            "running tests",
            format!(
                "code ready ({} bytes)",
                data["code_bytes"].as_u64().unwrap_or(0)
            ),
        ),
        "attempt.executed" => ("reviewing", format!("tests ran: {}", s("status"))),
        "attempt.critiqued" => ("reviewing", format!("critic: {}", s("verdict"))),
        "attempt.finished" => ("next attempt", format!("attempt {}", s("status"))),
        "job.succeeded" | "job.failed" | "job.cancelled" => {
            ("done", format!("{} ({})", s("status"), s("reason")))
        }
        other => ("running", other.to_owned()),
    }
}

fn parse_time(s: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The final line: status, outcome, iterations, tokens, id.
fn summary(job: &Value) -> String {
    format!(
        "{} {} after {} iteration(s), {} tokens: job {}",
        job["status"].as_str().unwrap_or("?"),
        job["outcome"]["reason"]
            .as_str()
            .map(|r| format!("({r})"))
            .unwrap_or_default(),
        job["iterations"].as_u64().unwrap_or(0),
        job["usage"]["total_tokens"].as_u64().unwrap_or(0),
        job["id"].as_str().unwrap_or("?")
    )
}
