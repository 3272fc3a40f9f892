//! A million jobs of history, written straight into the tables as hone writes them: specs
//! the API would store, outcomes, one to three attempts each (execution with a traceback
//! when it failed, actor and often critic calls with usage, critiques), over the last 30
//! days, 10% of them another tenant's; every attempt as the engine stores it (code, actor
//! call, a whole execution, critique, and the feedback of a failed one), so the exports
//! read it back. Multi-row `INSERT`s of literal values, the same SQL
//! on both databases; the `jobs` triggers write each job's event, tags, labels and search
//! entry, as for a real submission.

use hone_domain::prompt::build_feedback;
use hone_domain::{
    Category, Critique, CritiqueIssue, Execution, ExecutionStatus, JobSpec, ModelCall, Severity,
    Traceback, Usage, Verdict,
};
use serde_json::json;

/// Jobs a statement writes.
const CHUNK: usize = 1000;
/// Distinct words tasks are drawn from.
pub const VOCABULARY: usize = 5000;
/// Models, most used first.
pub const MODELS: [&str; 4] = [
    "gpt-4.1-mini",
    "gpt-4.1",
    "claude-sonnet-4",
    "llama-3.3-70b",
];
const ERRORS: [&str; 5] = [
    "AssertionError",
    "IndexError",
    "KeyError",
    "TypeError",
    "ValueError",
];

/// A small deterministic generator (xorshift64*), so both databases get the same history.
pub struct Rng(u64);

impl Rng {
    /// Seeded.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// The `n`th word of the vocabulary.
pub fn word(n: u64) -> String {
    format!("term{n}")
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
}

/// One chunk's `INSERT INTO jobs` and `INSERT INTO attempts` statements.
pub fn chunk(rng: &mut Rng, first: usize, total: usize, now_ms: i64) -> (String, String) {
    let span_ms = 30 * 86_400_000_i64;
    let mut jobs = String::from(
        "INSERT INTO jobs (id, tenant_id, status, priority, language, spec, metadata, \
         iterations, outcome, prompt_tokens, completion_tokens, total_tokens, last_seq, \
         available_at, created_at, started_at, finished_at, updated_at) VALUES ",
    );
    let mut attempts = String::from(
        "INSERT INTO attempts (job_id, iteration, tenant_id, status, code, actor, execution, \
         critique, critic, feedback, started_at, finished_at) VALUES ",
    );
    let mut first_attempt = true;
    for i in first..(first + CHUNK).min(total) {
        let created = now_ms - span_ms + (i as i64) * span_ms / total as i64;
        let mut bytes = [0u8; 10];
        for b in &mut bytes {
            *b = rng.below(256) as u8;
        }
        let id = uuid::Builder::from_unix_timestamp_millis(created as u64, &bytes).into_uuid();
        let tenant = if i % 10 == 9 { "other" } else { "default" };
        let language = match rng.below(10) {
            0..=6 => "python",
            7 | 8 => "javascript",
            _ => "bash",
        };
        let model = match rng.below(100) {
            0..=59 => MODELS[0],
            60..=84 => MODELS[1],
            85..=94 => MODELS[2],
            _ => MODELS[3],
        };
        let tags: Vec<String> = (0..rng.below(3))
            .map(|_| format!("tag-{:02}", rng.below(50)))
            .collect();
        let task: Vec<String> = (0..8).map(|_| word(rng.below(VOCABULARY as u64))).collect();
        let team = format!("team-{}", rng.below(20));
        let spec = JobSpec::parse(&json!({
            "task": task.join(" "), "language": language, "tests": "assert True",
            "actor": {"model": model}, "tags": tags,
            "metadata": {"team": team, "run": (i % 1000).to_string()},
        }))
        .map_err(|e| format!("{e:?}"))
        .unwrap_or_else(|e| panic!("bench spec: {e}"));
        let spec = serde_json::to_string(&spec).unwrap_or_default();
        let metadata = json!({"team": team, "run": (i % 1000).to_string()}).to_string();
        let roll = rng.below(100);
        let (status, iterations, reason) = match roll {
            0 => ("queued", 0, None),
            1 => ("running", 1, None),
            2..=61 => (
                "succeeded",
                [1, 1, 1, 2, 2, 3][rng.below(6) as usize],
                Some("accepted"),
            ),
            62..=91 => (
                "failed",
                3,
                Some(["max_iterations", "no_progress", "error"][rng.below(3) as usize]),
            ),
            _ => ("cancelled", 1, Some("cancelled")),
        };
        let started = (status != "queued").then(|| created + rng.below(2000) as i64);
        let finished = reason
            .and(started)
            .map(|s| s + 1000 + rng.below(60_000) as i64);
        let outcome = reason.map(|r| {
            json!({"reason": r, "accepted_iteration": null, "code": null, "message": null})
                .to_string()
        });
        let tokens = i64::from(iterations) * 1500;
        if i > first {
            jobs.push_str(", ");
        }
        jobs.push_str(&format!(
            "({}, {}, {}, 0, {}, {}, {}, {iterations}, {}, {}, {}, {tokens}, 1, {created}, {created}, {}, {}, {})",
            quote(&id.to_string()), quote(tenant), quote(status), quote(language), quote(&spec),
            quote(&metadata), outcome.as_deref().map_or_else(|| "NULL".to_owned(), quote),
            tokens * 2 / 3, tokens / 3, opt(started), opt(finished), finished.or(started).unwrap_or(created),
        ));
        for it in 1..=iterations {
            let last = it == iterations;
            let passed = last && status == "succeeded";
            let attempt_status = if passed {
                "accepted"
            } else if status == "running" && last {
                "running"
            } else {
                "failed"
            };
            let actor = call(model, 900, 1000, 500);
            let error = ERRORS[rng.below(5) as usize];
            let execution = run(passed, error);
            let critiqued = rng.below(2) == 0;
            let severity =
                [Severity::Critical, Severity::Major, Severity::Minor][rng.below(3) as usize];
            let category =
                [Category::Correctness, Category::EdgeCase, Category::Style][rng.below(3) as usize];
            let critique = critiqued.then(|| Critique {
                verdict: Verdict::Revise,
                summary: "s".into(),
                issues: vec![CritiqueIssue {
                    severity,
                    category,
                    description: "d".into(),
                    fix: None,
                }],
                raw: None,
            });
            let feedback = (attempt_status == "failed")
                .then(|| build_feedback(&execution, critique.as_ref(), None));
            let critic = critiqued.then(|| call(MODELS[0], 400, 800, 200));
            let (actor, execution) = (text(&actor), text(&execution));
            let critique = critique.as_ref().map(text);
            let critic = critic.as_ref().map(text);
            let feedback = feedback.as_ref().map(text);
            let at = started.unwrap_or(created) + i64::from(it - 1) * 1000;
            if !first_attempt {
                attempts.push_str(", ");
            }
            first_attempt = false;
            let null = |v: Option<String>| v.as_deref().map_or_else(|| "NULL".to_owned(), quote);
            attempts.push_str(&format!(
                "({}, {it}, {}, {}, 'print(1)', {}, {}, {}, {}, {}, {at}, {})",
                quote(&id.to_string()),
                quote(tenant),
                quote(attempt_status),
                quote(&actor),
                quote(&execution),
                null(critique),
                null(critic),
                null(feedback),
                at + 900,
            ));
        }
    }
    (jobs, attempts)
}

/// `v` as JSON text.
fn text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A model call of `prompt` and `completion` tokens.
pub(crate) fn call(model: &str, latency_ms: u64, prompt: u64, completion: u64) -> ModelCall {
    ModelCall {
        provider: "openai".into(),
        model: model.into(),
        latency_ms,
        usage: Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
            ..Usage::default()
        },
    }
}

/// A run that passed, or failed raising `error`, as the sandbox reports it.
fn run(passed: bool, error: &str) -> Execution {
    Execution {
        status: if passed {
            ExecutionStatus::Passed
        } else {
            ExecutionStatus::Failed
        },
        exit_code: Some(i32::from(!passed)),
        signal: None,
        duration_ms: 40,
        cpu_time_ms: Some(30),
        peak_memory_kb: Some(9_000),
        stdout: String::new(),
        stderr: if passed {
            String::new()
        } else {
            format!(
                "Traceback (most recent call last):\n  File \"main.py\", line 3, in <module>\n{error}: m"
            )
        },
        stdout_truncated: false,
        stderr_truncated: false,
        traceback: (!passed).then(|| Traceback {
            error_type: error.into(),
            message: "m".into(),
            frames: Vec::new(),
        }),
        test_cases: Vec::new(),
        message: None,
    }
}

/// How many statements of [`CHUNK`] jobs `total` takes.
pub fn chunks(total: usize) -> usize {
    total.div_ceil(CHUNK)
}

/// The first job of chunk `k`.
pub fn first_of(k: usize) -> usize {
    k * CHUNK
}
