//! NUL characters and invalid UTF-8: refused in what clients send (a `422` naming the field,
//! the same on both databases, nothing stored); shown, cleaned, in what programs print and
//! models answer; and a job whose progress the store keeps refusing ends instead of looping.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::fake_model::{Brain, FakeModel};
use crate::helpers::{Backend, TestApp};

fn base() -> Value {
    json!({
        "task": "t",
        "language": "python",
        "tests": "assert True",
        "test_cases": [{"name": "n", "stdin": "", "expected_stdout": ""}],
        "files": {"data.txt": "x"},
        "starter_code": "pass",
        "acceptance": "tests",
        "actor": {"provider": "openai", "model": "m", "system_prompt": "s"},
        "critic": {"provider": "openai", "model": "m", "system_prompt": "s"},
        "webhook": {"url": "https://example.com/hook", "events": ["job.finished"]},
        "metadata": {"team": "billing"}
    })
}

/// Every string of the spec, by the path a client sees in the error, and how to put a NUL in.
fn poisoned() -> Vec<(&'static str, Value)> {
    let nul = "a\u{0}b";
    let set = |path: &[&str], v: Value| {
        let mut spec = base();
        let mut at = &mut spec;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(n) => &mut at[n],
                Err(_) => &mut at[*key],
            };
        }
        *at = v.clone();
        spec
    };
    let mut cases = vec![
        ("task", set(&["task"], json!(nul))),
        ("language", set(&["language"], json!("python\u{0}"))),
        ("tests", set(&["tests"], json!(nul))),
        ("starter_code", set(&["starter_code"], json!(nul))),
        ("acceptance", set(&["acceptance"], json!("tests\u{0}"))),
        (
            "test_cases[0].name",
            set(&["test_cases", "0", "name"], json!(nul)),
        ),
        (
            "test_cases[0].stdin",
            set(&["test_cases", "0", "stdin"], json!(nul)),
        ),
        (
            "test_cases[0].expected_stdout",
            set(&["test_cases", "0", "expected_stdout"], json!(nul)),
        ),
        ("files.data.txt", set(&["files", "data.txt"], json!(nul))),
        ("metadata.team", set(&["metadata", "team"], json!(nul))),
        ("actor.provider", set(&["actor", "provider"], json!(nul))),
        ("actor.model", set(&["actor", "model"], json!(nul))),
        (
            "actor.system_prompt",
            set(&["actor", "system_prompt"], json!(nul)),
        ),
        ("critic.provider", set(&["critic", "provider"], json!(nul))),
        ("critic.model", set(&["critic", "model"], json!(nul))),
        (
            "critic.system_prompt",
            set(&["critic", "system_prompt"], json!(nul)),
        ),
        (
            "webhook.url",
            set(&["webhook", "url"], json!("https://example.com/\u{0}")),
        ),
        (
            "webhook.events[0]",
            set(&["webhook", "events", "0"], json!("job.finished\u{0}")),
        ),
    ];
    let mut key_in_files = base();
    key_in_files["files"] = json!({"a\u{0}b": "x"});
    cases.push(("files.a\u{0}b", key_in_files));
    let mut key_in_metadata = base();
    key_in_metadata["metadata"] = json!({"k\u{0}": "v"});
    cases.push(("metadata.k\u{0}", key_in_metadata));
    cases
}

async fn a_nul_in_any_field_is_refused_by_name(backend: Backend) {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| "print(1)".to_owned())).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    for (field, spec) in poisoned() {
        let reply = app.submit(&spec).await;
        assert_eq!(reply.status, 422, "{field}: {}", reply.body);
        assert_eq!(reply.headers["content-type"], "application/problem+json");
        let errors: Vec<&str> = reply.body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .filter_map(|e| e["field"].as_str())
            .collect();
        assert_eq!(errors, vec![field], "{}", reply.body);
    }
    let listed = app.get("/v1/jobs").await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored");
    // The same spec without the NUL is accepted: the refusals were for the NUL alone.
    assert_eq!(app.submit(&base()).await.status, 202);
}

on_both!(
    a_nul_in_any_field_is_refused_by_name_on_sqlite,
    a_nul_in_any_field_is_refused_by_name_on_postgres,
    a_nul_in_any_field_is_refused_by_name
);

/// The actor's code prints NUL and invalid UTF-8 to both streams, and carries a NUL itself;
/// the critic's answer has a raw NUL and a `\u0000` escape.
fn noisy_brain() -> Brain {
    Arc::new(|system: &str, _user: &str| {
        if system.contains("code reviewer") {
            "\u{0}{\"verdict\": \"approve\", \"summary\": \"ok\\u0000fine\", \"issues\": []}"
                .to_owned()
        } else {
            "```python\n# a NUL: \u{0}\nimport sys\nsys.stdout.buffer.write(b'out\\x00\\xff\\n')\nsys.stderr.buffer.write(b'err\\x00\\xfe\\n')\n```".to_owned()
        }
    })
}

async fn nul_and_invalid_utf8_from_programs_and_models_are_shown(backend: Backend) {
    let model = FakeModel::start(noisy_brain()).await;
    let Some(app) = TestApp::start(backend, &model).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    let submitted = app
        .submit(&json!({"task": "print things", "tests": "assert True",
                        "acceptance": "tests_and_critic"}))
        .await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().expect("id").to_owned();
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "succeeded", "{job}");
    let attempt = app.get(&format!("/v1/jobs/{id}/attempts/1")).await.body;
    let execution = &attempt["execution"];
    assert_eq!(execution["stdout"], "out\u{2400}\u{fffd}\n", "{attempt}");
    assert!(
        execution["stderr"]
            .as_str()
            .expect("stderr")
            .contains("err\u{2400}\u{fffd}"),
        "{attempt}"
    );
    assert!(
        attempt["code"]
            .as_str()
            .expect("code")
            .contains("# a NUL: \u{2400}")
    );
    assert_eq!(attempt["critique"]["summary"], "ok\u{2400}fine");
    let events = app.get(&format!("/v1/jobs/{id}/events")).await;
    assert_eq!(events.status, 200);
}

on_both!(
    nul_and_invalid_utf8_from_programs_and_models_are_shown_on_sqlite,
    nul_and_invalid_utf8_from_programs_and_models_are_shown_on_postgres,
    nul_and_invalid_utf8_from_programs_and_models_are_shown
);

/// Makes the database refuse every execution write, as a value it cannot store would.
async fn poison_execution_writes(backend: Backend, url: &str) {
    use sqlx::Connection;
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
            sqlx::raw_sql(
                "CREATE TRIGGER poison BEFORE UPDATE OF execution ON attempts
                 WHEN NEW.execution IS NOT NULL BEGIN SELECT RAISE(ABORT, 'poisoned'); END;",
            )
            .execute(&mut conn)
            .await
            .expect("trigger");
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("postgres");
            sqlx::raw_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'poisoned'; END $$;
                 CREATE TRIGGER poison BEFORE UPDATE OF execution ON attempts FOR EACH ROW
                 WHEN (NEW.execution IS NOT NULL) EXECUTE FUNCTION poison();",
            )
            .execute(&mut conn)
            .await
            .expect("trigger");
        }
    }
}

async fn a_job_whose_progress_cannot_be_stored_fails_after_bounded_tries(backend: Backend) {
    let model = FakeModel::start(Arc::new(|_: &str, _: &str| {
        "```python\nprint(1)\n```".to_owned()
    }))
    .await;
    let flags = ["--max-requeues", "2", "--requeue-delay-ms", "10"];
    let Some(app) = TestApp::start_with(backend, &model, &flags).await else {
        eprintln!("skipped: {backend:?} not configured");
        return;
    };
    poison_execution_writes(backend, &app.db_url).await;
    let submitted = app
        .submit(&json!({"task": "t", "tests": "assert True", "critic": null}))
        .await;
    assert_eq!(submitted.status, 202, "{}", submitted.body);
    let id = submitted.body["id"].as_str().expect("id").to_owned();
    let job = app.wait_finished(&id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["outcome"]["reason"], "error");
    assert_eq!(job["requeues"], 2);
    let message = job["outcome"]["message"].as_str().expect("message");
    assert!(
        message.contains("storing the job's progress failed"),
        "{message}"
    );
    assert!(
        !message.contains("poisoned"),
        "database text is not shown: {message}"
    );
}

on_both!(
    a_job_whose_progress_cannot_be_stored_fails_after_bounded_tries_on_sqlite,
    a_job_whose_progress_cannot_be_stored_fails_after_bounded_tries_on_postgres,
    a_job_whose_progress_cannot_be_stored_fails_after_bounded_tries
);
