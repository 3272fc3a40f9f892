//! What templates show: jobs, attempts and events turned into strings and flags, so the
//! templates stay free of logic.

use hone_domain::attempt::{Attempt, Execution};
use hone_domain::{Event, Job, JobStatus, Severity, Timestamp};

use crate::diff::{self, DiffLine};
pub use crate::text::{millis, short_id, shorten, when};

/// A job as one row of the history.
pub struct JobRow {
    /// The job's id.
    pub id: String,
    /// Its last eight hex digits: a UUID v7 starts with its time, so jobs submitted in the
    /// same seconds share their first digits; the last are random.
    pub short: String,
    /// Its status, also the badge's class.
    pub status: &'static str,
    /// Why it ended, or empty.
    pub reason: String,
    /// Attempts made.
    pub iterations: u32,
    /// Attempts allowed.
    pub max_iterations: u32,
    /// Run time (from start to end or now), or empty before it starts.
    pub duration: String,
    /// Tokens spent.
    pub tokens: u64,
    /// What its model calls cost, `$0.001234`.
    pub cost: String,
    /// Its tags.
    pub tags: Vec<String>,
    /// The task's first line, shortened.
    pub task: String,
    /// When it was submitted, `YYYY-MM-DD HH:MM:SS` UTC.
    pub created: String,
}

impl JobRow {
    /// The row of `job`.
    pub fn of(job: &Job) -> Self {
        Self {
            id: job.id.to_string(),
            short: short_id(&job.id.to_string()),
            status: job.status.as_str(),
            reason: job
                .outcome
                .as_ref()
                .map(|o| o.reason.as_str().to_owned())
                .unwrap_or_default(),
            iterations: job.iterations,
            max_iterations: job.spec.max_iterations,
            duration: job
                .started_at
                .map(|s| {
                    let end = job.finished_at.unwrap_or_else(Timestamp::now);
                    millis(end.millis_since(s))
                })
                .unwrap_or_default(),
            tokens: job.usage.total_tokens,
            cost: job.usage.cost_usd.to_string(),
            tags: job.tags.clone(),
            task: shorten(job.spec.task.lines().next().unwrap_or(""), 100),
            created: when(job.created_at),
        }
    }
}

/// One entry of the timeline.
pub struct EventRow {
    /// Its seq.
    pub seq: u64,
    /// Seconds after the job was submitted.
    pub at: String,
    /// Its type.
    pub kind: &'static str,
    /// Its data, as `key=value` pairs.
    pub detail: String,
}

impl EventRow {
    /// The row of `event` of a job submitted at `created`.
    pub fn of(event: &Event, created: Timestamp) -> Self {
        let detail = event
            .data
            .as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| match v.as_str() {
                        Some(s) => format!("{k}={s}"),
                        None => format!("{k}={v}"),
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default();
        Self {
            seq: event.seq,
            at: format!(
                "+{:.1} s",
                event.created_at.millis_since(created) as f64 / 1000.0
            ),
            kind: event.kind.as_str(),
            detail,
        }
    }
}

/// A model call.
pub struct CallRow {
    /// `actor`, `critic`, or `actor, candidate N` (with `, chosen` for the one taken on).
    pub role: String,
    /// Provider and model.
    pub model: String,
    /// Latency.
    pub latency: String,
    /// Prompt tokens.
    pub prompt: u64,
    /// Of the prompt tokens, those read from the provider's cache.
    pub cached: u64,
    /// Completion tokens.
    pub completion: u64,
    /// What it cost.
    pub cost: String,
    /// For a candidate, how its run ended (`passed`, `failed, 2 of 3 cases`, `stopped`).
    pub run: String,
}

impl CallRow {
    fn of(role: String, c: &hone_domain::ModelCall, run: String) -> Self {
        Self {
            role,
            model: format!("{} / {}", c.provider, c.model),
            latency: millis(c.latency_ms),
            prompt: c.usage.prompt_tokens,
            cached: c.usage.cache_read_tokens,
            completion: c.usage.completion_tokens,
            cost: c.usage.cost_usd.to_string(),
            run,
        }
    }
}

/// How a candidate's run ended, in a few words.
fn candidate_run(c: &hone_domain::Candidate) -> String {
    let Some(e) = &c.execution else {
        return "stopped (another passed first)".to_owned();
    };
    let cases = &e.test_cases;
    if cases.is_empty() {
        return e.status.as_str().to_owned();
    }
    let passed = cases.iter().filter(|t| t.passed).count();
    format!("{}, {passed} of {} cases", e.status.as_str(), cases.len())
}

/// One issue the critic found.
pub struct IssueRow {
    /// `critical`, `major` or `minor`.
    pub severity: String,
    /// Its category.
    pub category: String,
    /// What is wrong.
    pub description: String,
    /// The suggested fix, or empty.
    pub fix: String,
}

/// A test case's result.
pub struct CaseRow {
    /// Its name.
    pub name: String,
    /// Whether it passed.
    pub passed: bool,
    /// Its status.
    pub status: String,
}

/// A traceback frame.
pub struct FrameRow {
    /// `file:line in function`.
    pub place: String,
    /// The line's code, or empty.
    pub code: String,
}

/// The sandbox's run of an attempt.
pub struct RunView {
    /// Its status.
    pub status: String,
    /// Exit code or signal.
    pub exit: String,
    /// Wall time.
    pub time: String,
    /// Peak memory, or empty.
    pub memory: String,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// The exception's type and message, or empty.
    pub error: String,
    /// The traceback's frames, outermost first.
    pub frames: Vec<FrameRow>,
    /// Test cases.
    pub cases: Vec<CaseRow>,
    /// The sandbox's own message (a timeout, ...), or empty.
    pub message: String,
}

impl RunView {
    fn of(e: &Execution) -> Self {
        let exit = match (e.exit_code, e.signal) {
            (Some(c), _) => format!("exit {c}"),
            (None, Some(s)) => format!("signal {s}"),
            (None, None) => String::new(),
        };
        let (error, frames) = match &e.traceback {
            Some(tb) => (
                format!("{}: {}", tb.error_type, tb.message),
                tb.frames
                    .iter()
                    .map(|f| FrameRow {
                        place: format!("{}:{} in {}", f.file, f.line, f.function),
                        code: f.code.clone().unwrap_or_default(),
                    })
                    .collect(),
            ),
            None => (String::new(), Vec::new()),
        };
        Self {
            status: e.status.as_str().to_owned(),
            exit,
            time: millis(e.duration_ms),
            memory: e
                .peak_memory_kb
                .map(|kb| format!("{:.1} MiB", kb as f64 / 1024.0))
                .unwrap_or_default(),
            stdout: e.stdout.clone(),
            stderr: e.stderr.clone(),
            error,
            frames,
            cases: e
                .test_cases
                .iter()
                .map(|c| CaseRow {
                    name: c.name.clone(),
                    passed: c.passed,
                    status: c.status.as_str().to_owned(),
                })
                .collect(),
            message: e.message.clone().unwrap_or_default(),
        }
    }
}

/// One attempt, everything about it.
pub struct AttemptView {
    /// 1, 2, 3, ...
    pub n: u32,
    /// Its status.
    pub status: String,
    /// The code, or empty before the actor answered.
    pub code: String,
    /// The diff against the previous attempt's code (empty for the first).
    pub diff: Vec<DiffLine>,
    /// The run, once made.
    pub run: Option<RunView>,
    /// The critic's verdict and summary, or empty.
    pub verdict: String,
    /// The critic's summary.
    pub summary: String,
    /// The critic's issues, most severe first.
    pub issues: Vec<IssueRow>,
    /// The feedback the next attempt's actor received, or empty.
    pub feedback: String,
    /// Model calls.
    pub calls: Vec<CallRow>,
    /// Whether any call has a run of its own (candidates): the table's Run column shows
    /// only then.
    pub call_runs: bool,
}

impl AttemptView {
    /// The view of `attempt`, whose predecessor's code was `previous`.
    pub fn of(
        attempt: &Attempt,
        previous: Option<&str>,
        spec: &hone_domain::JobSpec,
    ) -> AttemptView {
        let code = attempt.code.clone().unwrap_or_default();
        let diff = match previous {
            Some(prev) if !code.is_empty() => diff::lines(prev, &code),
            _ => Vec::new(),
        };
        let mut issues: Vec<_> = attempt
            .critique
            .iter()
            .flat_map(|c| c.issues.iter())
            .collect();
        issues.sort_by_key(|i| match i.severity {
            Severity::Critical => 0,
            Severity::Major => 1,
            Severity::Minor => 2,
        });
        let mut calls: Vec<CallRow> = Vec::new();
        if attempt.candidates.is_empty() {
            calls.extend(
                attempt
                    .actor
                    .as_ref()
                    .map(|c| CallRow::of("actor".to_owned(), c, String::new())),
            );
        }
        for (i, c) in attempt.candidates.iter().enumerate() {
            let chosen = if c.chosen { ", chosen" } else { "" };
            let role = format!("actor, candidate {}{chosen}", i + 1);
            calls.push(CallRow::of(role, &c.actor, candidate_run(c)));
        }
        calls.extend(
            attempt
                .critic
                .as_ref()
                .map(|c| CallRow::of("critic".to_owned(), c, String::new())),
        );
        let feedback = attempt
            .feedback
            .as_ref()
            .and_then(|f| {
                let messages = hone_domain::prompt::actor_messages(spec, Some((&code, f)));
                messages.last().map(|m| m.content.clone())
            })
            .unwrap_or_default();
        AttemptView {
            n: attempt.iteration,
            status: attempt.status.as_str().to_owned(),
            code,
            diff,
            run: attempt.execution.as_ref().map(RunView::of),
            verdict: attempt
                .critique
                .as_ref()
                .map(|c| wire(&c.verdict))
                .unwrap_or_default(),
            summary: attempt
                .critique
                .as_ref()
                .map(|c| c.summary.clone())
                .unwrap_or_default(),
            issues: issues
                .into_iter()
                .map(|i| IssueRow {
                    severity: wire(&i.severity),
                    category: wire(&i.category),
                    description: i.description.clone(),
                    fix: i.fix.clone().unwrap_or_default(),
                })
                .collect(),
            feedback,
            call_runs: calls.iter().any(|c| !c.run.is_empty()),
            calls,
        }
    }
}

/// A value's name on the wire (an enum's serde name).
fn wire<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// Whether a job in `status` can still be cancelled.
pub fn cancellable(status: JobStatus) -> bool {
    matches!(status, JobStatus::Queued | JobStatus::Running)
}
