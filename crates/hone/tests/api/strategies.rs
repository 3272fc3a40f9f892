//! Strategies (issue 15): with `candidates: 3` each iteration draws three answers, runs all
//! three, and the best (most test cases passed) is the one the critic reviews and the next
//! iteration hears about; with `critic: null` no critic call is made at all.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};

use crate::fake_model::{Brain, FakeModel};
use crate::helpers::{Backend, TestApp};

/// Passes none of the three cases.
const NONE: &str = "print(0)  # none";
/// Passes two (n = 1, 2).
const TWO: &str = "n = int(input())\nprint(n * 2 if n < 3 else 0)  # two";
/// Passes one (n = 1).
const ONE: &str = "n = int(input())\nprint(2 if n == 1 else 0)  # one";
/// Passes all.
const ALL: &str = "print(int(input()) * 2)  # all";

fn fenced(code: &str) -> String {
    format!("```python\n{code}\n```")
}

/// The actor's first three answers are NONE, TWO, ONE (in the order asked), then ALL; the
/// critic asks for a revision once, then approves.
fn brain() -> Brain {
    let actor = Arc::new(AtomicUsize::new(0));
    let critic = Arc::new(AtomicUsize::new(0));
    Arc::new(move |system: &str, _user: &str| {
        if system.contains("code reviewer") {
            if critic.fetch_add(1, Ordering::SeqCst) == 0 {
                r#"{"verdict": "revise", "summary": "Wrong for 3.", "issues": [{"severity": "major", "category": "correctness", "description": "3 gives 0.", "fix": "Double every n."}]}"#.to_owned()
            } else {
                r#"{"verdict": "approve", "summary": "Doubles.", "issues": []}"#.to_owned()
            }
        } else {
            let code = match actor.fetch_add(1, Ordering::SeqCst) {
                0 => NONE,
                1 => TWO,
                2 => ONE,
                _ => ALL,
            };
            fenced(code)
        }
    })
}

fn spec(critic: Value) -> Value {
    json!({
        "task": "Read n from stdin and print 2n.",
        "test_cases": [
            {"stdin": "1\n", "expected_stdout": "2"},
            {"stdin": "2\n", "expected_stdout": "4"},
            {"stdin": "3\n", "expected_stdout": "6"}
        ],
        "candidates": 3,
        "max_iterations": 3,
        "critic": critic,
    })
}

/// The user messages of the requests whose system prompt contains `needle`.
fn asked(model: &FakeModel, needle: &str) -> Vec<String> {
    let text = |m: &Value| m["content"].as_str().unwrap_or_default().to_owned();
    model
        .requests
        .lock()
        .expect("lock")
        .iter()
        .filter_map(|body| {
            let messages = body["messages"].as_array()?;
            let system = messages.iter().find(|m| m["role"] == "system").map(text)?;
            system.contains(needle).then(|| {
                messages
                    .iter()
                    .filter(|m| m["role"] == "user")
                    .map(text)
                    .collect::<Vec<_>>()
                    .join("\n")
            })
        })
        .collect()
}

async fn three_candidates_run_and_the_best_is_reviewed(backend: Backend) {
    let model = FakeModel::start(brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let (id, job) = app
        .run_job(&spec(json!({"provider": "openai", "model": "m"})))
        .await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(job["iterations"], 2, "{job}");
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let items = attempts["items"].as_array().expect("items");

    // Iteration 1: three runs, none passing; the one passing two cases goes on.
    let first = &items[0];
    let candidates = first["candidates"].as_array().expect("candidates");
    assert_eq!(candidates.len(), 3, "{first}");
    let mut passed: Vec<usize> = candidates
        .iter()
        .map(|c| {
            c["execution"]["test_cases"]
                .as_array()
                .expect("a run")
                .iter()
                .filter(|t| t["passed"] == true)
                .count()
        })
        .collect();
    passed.sort_unstable();
    assert_eq!(passed, vec![0, 1, 2], "every candidate ran");
    let chosen: Vec<&Value> = candidates.iter().filter(|c| c["chosen"] == true).collect();
    assert_eq!(chosen.len(), 1);
    assert!(chosen[0]["code"].as_str().expect("code").contains("# two"));
    assert_eq!(
        first["code"], chosen[0]["code"],
        "the attempt's code is the chosen one"
    );
    let critic_saw = asked(&model, "code reviewer");
    assert_eq!(critic_saw.len(), 2, "one review an iteration");
    assert!(critic_saw[0].contains("# two"), "the best was reviewed");
    assert!(!critic_saw[0].contains("# one") && !critic_saw[0].contains("# none"));
    let actor_saw = asked(&model, "expert");
    assert_eq!(actor_saw.len(), 6, "three answers an iteration");
    assert!(
        actor_saw[3..].iter().all(|u| u.contains("# two")),
        "the next iteration hears about the best"
    );

    // Iteration 2: a candidate passes and is accepted.
    let second = &items[1];
    assert_eq!(second["candidates"].as_array().map(Vec::len), Some(3));
    assert_eq!(second["execution"]["status"], "passed");
    // Every call counts: six actor calls and two critic calls of 120 tokens.
    assert_eq!(job["usage"]["total_tokens"], 8 * 120, "{job}");
}

on_both!(
    three_candidates_run_and_the_best_is_reviewed_on_sqlite,
    three_candidates_run_and_the_best_is_reviewed_on_postgres,
    three_candidates_run_and_the_best_is_reviewed
);

#[tokio::test]
async fn without_a_critic_no_critic_call_is_made() {
    let model = FakeModel::start(brain()).await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let (id, job) = app.run_job(&spec(Value::Null)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    assert_eq!(asked(&model, "code reviewer").len(), 0, "no critic call");
    assert_eq!(model.requests.lock().expect("lock").len(), 6);
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    for a in attempts["items"].as_array().expect("items") {
        assert!(a["critic"].is_null() && a["critique"].is_null(), "{a}");
    }
}

/// Richer feedback: a failed assertion reaches the next prompt as its line of the tests
/// and the values it compared, not only as a traceback.
#[tokio::test]
async fn a_failed_assertion_is_fed_back_with_its_line_and_values() {
    let model = FakeModel::start(Arc::new(|_: &str, user: &str| {
        if user.contains("Failing assertion") {
            fenced("def add(a, b):\n    return a + b")
        } else {
            fenced("def add(a, b):\n    return a - b")
        }
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let job = json!({"task": "add", "tests": "assert add(1, 1) == 2\nassert add(2, 2) == 4",
                     "critic": null});
    let (id, done) = app.run_job(&job).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["iterations"], 2, "the feedback was understood");
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let feedback = &attempts["items"][0]["feedback"]["failed_assertion"];
    assert_eq!(
        feedback,
        &json!({"line": 1, "code": "assert add(1, 1) == 2", "message": "0 == 2 is false"})
    );
    let second = asked(&model, "expert");
    assert!(
        second[1].contains("Failing assertion, line 1 of the tests: `assert add(1, 1) == 2`"),
        "{}",
        second[1]
    );
    assert!(second[1].contains("It compared: 0 == 2 is false"));
}

/// A candidate whose model call fails after its retries is left out: the answers that came
/// back go on, and the calls paid for are counted.
#[tokio::test]
async fn a_failed_candidate_call_leaves_the_others_to_go_on() {
    let n = Arc::new(AtomicUsize::new(0));
    let model = FakeModel::start(Arc::new(move |_: &str, _: &str| {
        match n.fetch_add(1, Ordering::SeqCst) {
            0 | 2 => fenced(ALL),
            _ => crate::fake_model::FAIL_WITH_500.to_owned(),
        }
    }))
    .await;
    let app = TestApp::start_with(Backend::Sqlite, &model, &["--model-retries", "1"])
        .await
        .expect("sqlite app");
    let (id, job) = app.run_job(&spec(Value::Null)).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    let candidates = attempts["items"][0]["candidates"]
        .as_array()
        .expect("candidates");
    assert_eq!(candidates.len(), 2, "the failed call is left out");
    assert_eq!(
        job["usage"]["total_tokens"],
        2 * 120,
        "two answers came back"
    );
}
