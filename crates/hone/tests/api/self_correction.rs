//! The story of issue 2: the actor's first answer raises IndexError on an empty log line;
//! once the request carries that traceback it answers with fixed code; the critic says
//! revise, then approve. The job succeeds in two attempts, every step on record.

use std::sync::Arc;

use serde_json::json;

use crate::fake_model::{Brain, FakeModel};
use crate::helpers::{Backend, TestApp};

const BUGGY: &str = "Here is my solution:\n```python\ndef parse_logs(text):\n    out = []\n    for line in text.split('\\n'):\n        date, level, msg = line.split(' ', 2)[0], line.split(' ', 2)[1], line.split(' ', 2)[2]\n        out.append({'date': date, 'level': level, 'msg': msg})\n    return out\n```\n";
const FIXED: &str = "```python\ndef parse_logs(text):\n    out = []\n    for line in text.split('\\n'):\n        if not line.strip():\n            continue\n        date, level, msg = line.split(' ', 2)\n        out.append({'date': date, 'level': level, 'msg': msg})\n    return out\n```";

pub(crate) fn brain() -> Brain {
    Arc::new(|system: &str, user: &str| {
        if system.contains("code reviewer") {
            if user.contains("status: passed") {
                r#"{"verdict": "approve", "summary": "Handles empty lines.", "issues": []}"#
                    .to_owned()
            } else {
                r#"{"verdict": "revise", "summary": "Crashes on empty lines.", "issues": [{"severity": "critical", "category": "edge_case", "description": "An empty line raises IndexError.", "fix": "Skip blank lines."}]}"#.to_owned()
            }
        } else if user.contains("IndexError") {
            FIXED.to_owned()
        } else {
            BUGGY.to_owned()
        }
    })
}

pub(crate) fn spec() -> serde_json::Value {
    json!({
        "task": "Write parse_logs(text) that returns one dict (date, level, msg) per non-empty line.",
        "tests": "assert parse_logs('') == []\nassert parse_logs('2026-01-01 INFO start\\n\\n2026-01-01 WARN x y') == [{'date': '2026-01-01', 'level': 'INFO', 'msg': 'start'}, {'date': '2026-01-01', 'level': 'WARN', 'msg': 'x y'}]",
        "max_iterations": 4,
        "metadata": {"team": "billing"}
    })
}

async fn a_failing_first_answer_is_corrected_in_the_second(backend: Backend) {
    let model = FakeModel::start(brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let submitted = app.submit(&spec()).await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        submitted.headers["location"],
        format!("/v1/jobs/{id}").as_str()
    );
    assert_eq!(submitted.body["status"], "queued");

    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["iterations"], 2);
    assert_eq!(job["outcome"]["reason"], "accepted");
    assert_eq!(job["outcome"]["accepted_iteration"], 2);
    assert!(
        job["outcome"]["code"]
            .as_str()
            .expect("code")
            .contains("if not line.strip()")
    );
    assert_eq!(
        job["usage"]["total_tokens"],
        4 * 120,
        "two actor and two critic calls"
    );
    assert_eq!(job["metadata"]["team"], "billing");

    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let attempts = attempts["items"].as_array().expect("items");
    assert_eq!(attempts.len(), 2);
    let first = &attempts[0];
    assert_eq!(first["status"], "failed");
    assert_eq!(first["execution"]["status"], "failed");
    assert_eq!(first["execution"]["traceback"]["error_type"], "IndexError");
    let frames = first["execution"]["traceback"]["frames"]
        .as_array()
        .expect("frames");
    assert!(
        frames
            .iter()
            .any(|f| f["file"] == "main.py" && f["function"] == "parse_logs")
    );
    assert_eq!(first["critique"]["verdict"], "revise");
    assert_eq!(first["critique"]["issues"][0]["category"], "edge_case");
    assert_eq!(first["feedback"]["status"], "failed");
    assert!(
        first["feedback"]["traceback"]
            .as_str()
            .expect("tb")
            .contains("IndexError")
    );
    assert_eq!(first["actor"]["provider"], "openai");
    let second = &attempts[1];
    assert_eq!(second["status"], "accepted");
    assert_eq!(second["execution"]["status"], "passed");
    assert_eq!(second["critique"]["verdict"], "approve");
    let one = app.get(&format!("/v1/jobs/{id}/attempts/2")).await;
    assert_eq!(one.body["iteration"], 2);

    // The second actor request carried the traceback and the critique of the first.
    let actor_requests = model.requests_with_system("expert python programmer");
    assert_eq!(actor_requests.len(), 2);
    let second_prompt = actor_requests[1]["messages"][2]["content"]
        .as_str()
        .expect("prompt");
    assert!(second_prompt.contains("IndexError"));
    assert!(second_prompt.contains("Skip blank lines."));
    // The critic was asked for structured output.
    let critic_requests = model.requests_with_system("code reviewer");
    assert_eq!(critic_requests[0]["response_format"]["type"], "json_schema");

    let events = app.get(&format!("/v1/jobs/{id}/events")).await.body;
    let kinds: Vec<&str> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["type"].as_str().expect("type"))
        .collect();
    let attempt = [
        "attempt.started",
        "attempt.code",
        "attempt.executed",
        "attempt.critiqued",
        "attempt.finished",
    ];
    let mut expected = vec!["job.queued", "job.started"];
    expected.extend(attempt);
    expected.extend(attempt);
    expected.push("job.succeeded");
    assert_eq!(kinds, expected);
    let seqs: Vec<u64> = events["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, (1..=13).collect::<Vec<_>>());
    let page = app
        .get(&format!("/v1/jobs/{id}/events?after=11"))
        .await
        .body;
    assert_eq!(page["next_after"], 13);
}

on_both!(
    a_failing_first_answer_is_corrected_in_the_second_on_sqlite,
    a_failing_first_answer_is_corrected_in_the_second_on_postgres,
    a_failing_first_answer_is_corrected_in_the_second
);

#[tokio::test]
async fn an_actor_that_repeats_the_same_mistake_is_stopped_for_no_progress() {
    let model = FakeModel::start(Arc::new(|system: &str, _: &str| {
        if system.contains("code reviewer") {
            r#"{"verdict": "revise", "summary": "Still crashes.", "issues": []}"#.to_owned()
        } else {
            BUGGY.to_owned()
        }
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let mut job = spec();
    job["max_iterations"] = json!(6);
    let id = app.submit(&job).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["outcome"]["reason"], "no_progress", "{job}");
    assert_eq!(job["iterations"], 3);
    assert!(
        job["outcome"]["code"].as_str().is_some(),
        "the best attempt is kept"
    );
    let prompts = model.requests_with_system("expert python programmer");
    let third = prompts[2]["messages"][2]["content"]
        .as_str()
        .expect("prompt");
    assert!(third.contains("last 2 attempts failed in exactly the same way"));
}

#[tokio::test]
async fn a_job_stops_when_its_token_budget_is_spent() {
    // Every call costs 120 tokens: after one iteration (actor + critic) 240 > 200 are spent.
    let model = FakeModel::start(brain()).await;
    let app = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let mut job = spec();
    job["budget"] = json!({"max_total_tokens": 200});
    let id = app.submit(&job).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "failed");
    assert_eq!(job["outcome"]["reason"], "budget_exhausted", "{job}");
    assert_eq!(job["iterations"], 1);
    assert_eq!(job["usage"]["total_tokens"], 240);
    assert!(
        job["outcome"]["message"]
            .as_str()
            .expect("message")
            .contains("token budget")
    );
}

/// The same story with actor and critic behind the Anthropic Messages API: the system prompt
/// travels top-level, the critique comes back as a forced tool call, and the calls' tokens
/// (cached ones counted as prompt) are the job's.
#[tokio::test]
async fn the_story_runs_through_the_anthropic_provider() {
    let model = FakeModel::start(brain()).await;
    let app = TestApp::start_anthropic(&model).await;
    let mut spec = spec();
    spec["actor"] = json!({"provider": "anthropic", "model": "claude-sonnet-4-5"});
    spec["critic"] = json!({"provider": "anthropic", "model": "claude-opus-4-1"});
    let submitted = app.submit(&spec).await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().expect("id").to_owned();
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["iterations"], 2);
    // Four calls (actor, critic, actor, critic) of 90 + 10 cached prompt and 20 output tokens.
    assert_eq!(job["usage"]["prompt_tokens"], 400);
    assert_eq!(job["usage"]["completion_tokens"], 80);
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await;
    let first = &attempts.body["items"][0];
    assert_eq!(first["actor"]["provider"], "anthropic");
    assert_eq!(first["critic"]["model"], "claude-opus-4-1");
    assert_eq!(first["critique"]["verdict"], "revise");
    let requests = model.requests.lock().expect("lock").clone();
    assert_eq!(requests.len(), 4);
    for r in &requests {
        assert!(
            r["system"][0]["text"].is_string(),
            "the system prompt is top-level: {r}"
        );
        assert!(r["max_tokens"].as_u64().is_some_and(|n| n > 0));
        assert!(
            r["messages"]
                .as_array()
                .is_some_and(|m| m.iter().all(|m| m["role"] != "system"))
        );
    }
    assert!(
        requests[1]["tool_choice"]["name"].is_string(),
        "the critic's call forces the tool"
    );

    // Without a key the public endpoint is refused at submission, naming the variable.
    let plain = TestApp::start(Backend::Sqlite, &model).await.expect("app");
    let refused = plain.submit(&spec).await;
    assert_eq!(refused.status, 422);
    assert!(
        refused.body.to_string().contains("ANTHROPIC_API_KEY"),
        "{}",
        refused.body
    );
}

/// A real session recorded with `HONE_RECORD_DIR` replays as a regression test: the same
/// spec naming `replay` over the recorded transcript takes the same path to the same code.
#[tokio::test]
async fn a_recorded_session_replays_as_a_regression_test() {
    let model = FakeModel::start(brain()).await;
    let dir = tempfile::tempdir().expect("dir");
    let record = dir.path().join("recorded");
    let record_arg = record.to_str().expect("path").to_owned();
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--record-dir", &record_arg])
        .await
        .expect("app");
    let submitted = app.submit(&spec()).await;
    let id = submitted.body["id"].as_str().expect("id").to_owned();
    let live = app.wait_finished(&id).await;
    assert_eq!(live["status"], "succeeded", "{live}");
    let transcript = record.join(format!("{id}.jsonl"));
    let lines = std::fs::read_to_string(&transcript)
        .expect("recorded")
        .lines()
        .count();
    assert_eq!(lines, 4, "actor, critic, actor, critic");

    let replay_arg = transcript.to_str().expect("path").to_owned();
    let again = TestApp::start_with(Backend::Sqlite, &model, &["--replay-file", &replay_arg])
        .await
        .expect("app");
    let mut replayed = spec();
    replayed["actor"] = json!({"provider": "replay", "model": "recorded"});
    replayed["critic"] = json!({"provider": "replay", "model": "recorded"});
    let asked = model.requests.lock().expect("lock").len();
    let submitted = again.submit(&replayed).await;
    let id2 = submitted.body["id"].as_str().expect("id").to_owned();
    let job = again.wait_finished(&id2).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["iterations"], live["iterations"]);
    assert_eq!(job["outcome"]["code"], live["outcome"]["code"]);
    assert_eq!(job["usage"], live["usage"], "the recorded token counts");
    assert_eq!(
        model.requests.lock().expect("lock").len(),
        asked,
        "no provider call"
    );
}

/// `HONE_PROMPTS_DIR` gives jobs that set no system prompt the service's own, the language's
/// file before the general one; a job's own prompt still wins; a misnamed file stops the start.
#[tokio::test]
async fn the_services_prompts_fill_in_where_a_job_sets_none() {
    let model = FakeModel::start(brain()).await;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("actor.md"), "GENERAL ACTOR PROMPT").expect("write");
    std::fs::write(dir.path().join("actor.python.md"), "PYTHON ACTOR PROMPT\n").expect("write");
    std::fs::write(
        dir.path().join("critic.md"),
        "You are a code reviewer of this service. Answer JSON.",
    )
    .expect("write");
    let prompts = dir.path().to_str().expect("path").to_owned();
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--prompts-dir", &prompts])
        .await
        .expect("app");
    let id = app.submit(&spec()).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.wait_finished(&id).await["status"], "succeeded");
    assert_eq!(model.requests_with_system("PYTHON ACTOR PROMPT").len(), 2);
    assert!(
        model
            .requests_with_system("GENERAL ACTOR PROMPT")
            .is_empty()
    );
    assert_eq!(
        model
            .requests_with_system("code reviewer of this service")
            .len(),
        2
    );
    let stored = app.get(&format!("/v1/jobs/{id}")).await;
    assert!(
        stored.body["spec"]["actor"]["system_prompt"].is_null(),
        "the stored spec is as submitted"
    );

    let mut own = spec();
    own["actor"] = json!({"system_prompt": "THE JOB'S OWN PROMPT"});
    let id = app.submit(&own).await.body["id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_eq!(app.wait_finished(&id).await["status"], "succeeded");
    assert_eq!(model.requests_with_system("THE JOB'S OWN PROMPT").len(), 2);

    std::fs::write(dir.path().join("actor.cobol.md"), "x").expect("write");
    let refused = hone::wiring::load_prompts(dir.path()).expect_err("cobol is no language");
    assert!(
        refused.to_string().contains("is not a language"),
        "{refused}"
    );
}
