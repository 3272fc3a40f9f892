//! A job whose tests do not compile ends at its first run, blaming the tests: reason
//! `error`, a message naming the line and the error, the attempt failed, and no second
//! model call spent on code that could never pass.

use std::sync::Arc;

use serde_json::json;

use crate::fake_model::FakeModel;
use crate::helpers::{Backend, TestApp};

#[tokio::test]
async fn tests_that_do_not_compile_end_the_job_blaming_them() {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\ndef add(a, b):\n    return a + b\n```".to_owned()
    }))
    .await;
    let app = TestApp::start(Backend::Sqlite, &model)
        .await
        .expect("sqlite app");
    let spec = json!({
        "task": "add two numbers",
        "tests": "assert add(1, 2) == 3\nassert add(2, 2) == 4 +\n",
        "critic": null,
        "max_iterations": 3,
    });
    let (id, job) = app.run_job(&spec).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["outcome"]["reason"], "error", "{job}");
    let message = job["outcome"]["message"].as_str().expect("message");
    assert!(message.contains("tests do not compile"), "{message}");
    assert!(message.contains("tests, line 2: SyntaxError"), "{message}");
    assert_eq!(job["iterations"], 1, "{job}");
    assert_eq!(model.requests.lock().expect("lock").len(), 1);
    let attempts = app.get(&format!("/v1/jobs/{id}/attempts")).await.body;
    assert_eq!(attempts["items"][0]["status"], "failed", "{attempts}");

    // The same code with tests that compile is accepted: the code was never the problem.
    let fixed = json!({
        "task": "add two numbers",
        "tests": "assert add(1, 2) == 3\nassert add(2, 2) == 4\n",
        "critic": null,
    });
    let (_, job) = app.run_job(&fixed).await;
    assert_eq!(job["status"], "succeeded", "{job}");
}
