//! What a watch prints: one line per event (or, on a terminal, the event log under a live
//! line: iteration n of max, the current step, elapsed time, tokens), and the final summary.

use std::io::Write;
use std::time::Duration;

use serde_json::Value;

/// What the display knows of the job.
pub(super) struct View {
    max_iterations: u64,
    created: Option<time::OffsetDateTime>,
    iteration: u64,
    step: &'static str,
    pub(super) tokens: u64,
    bar: Option<indicatif::ProgressBar>,
}

impl View {
    pub(super) fn new(job: &Value, live: bool) -> Self {
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
    pub(super) fn event(&mut self, event: &Value, out: &mut impl Write) -> std::io::Result<()> {
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

    pub(super) fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("         {text}")),
            None => eprintln!("hone: {text}"),
        }
    }

    pub(super) fn redraw(&self) {
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

    pub(super) fn finish(&self) {
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
        "attempt.executed" => (
            "reviewing",
            match data["error"].as_str() {
                Some(error) => format!("tests ran: {}: {error}", s("status")),
                None => format!("tests ran: {}", s("status")),
            },
        ),
        "attempt.critiqued" => (
            "reviewing",
            match data["summary"].as_str().filter(|t| !t.is_empty()) {
                Some(summary) => format!("critic: {}: \"{summary}\"", s("verdict")),
                None => format!("critic: {}", s("verdict")),
            },
        ),
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

/// The final line: status, outcome, iterations, tokens, cost, id.
pub(super) fn summary(job: &Value) -> String {
    format!(
        "{} {} after {} iteration(s), {} tokens, ${:.6}: job {}",
        job["status"].as_str().unwrap_or("?"),
        job["outcome"]["reason"]
            .as_str()
            .map(|r| format!("({r})"))
            .unwrap_or_default(),
        job["iterations"].as_u64().unwrap_or(0),
        job["usage"]["total_tokens"].as_u64().unwrap_or(0),
        job["usage"]["cost_usd"].as_f64().unwrap_or(0.0),
        job["id"].as_str().unwrap_or("?")
    )
}
